/* rt_search.c — `mlxc run` of a search block: the trials (the whole grid, or
 * random(N) combinations drawn with the train's seed, ranges drawn per
 * trial), at most `budget N trials` of them and none started after `budget
 * DURATION`, run by `--threads N` workers on the same loaded data (read
 * only), each compiled by main.c's callback and trained by rt_train into its
 * own output buffer, printed in trial order; then the table sorted by the
 * pick, OUT/NAME.search.json, and the winner re-trained by rt_run_train
 * (training is deterministic, so it reproduces the trial) to write
 * OUT/NAME.mlxm and OUT/NAME.metrics.json. Output and results are the same
 * whatever the number of threads (a time budget aside). */
#include <jansson.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rt.h"

#define RT_SEARCH_MAX_TRIALS 10000


static json_t *num(double v) { return isfinite(v) ? json_real(v) : json_null(); }

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

typedef struct Trial {
  int *choice;        /* value index per vary (0 for a uniform/loguniform range) */
  double *val;        /* the value per vary (a string's is NaN) */
  RtMetrics split[2]; /* train and val metrics after training */
  double pick;        /* the picked metric (NaN: missing) */
  int id;             /* 1-based, in run order */
  char *out;          /* what the trial printed, until it is printed */
  size_t out_len;
  bool done;
} Trial;

static bool drawn(const RtVary *v) {
  return v->range == RT_RANGE_UNIFORM || v->range == RT_RANGE_LOG;
}

/* Number of grid combinations (a drawn range counts 1), saturating at cap + 1. */
static int64_t grid_count(const RtSearch *s, int64_t cap) {
  int64_t n = 1;
  for (int i = 0; i < s->n_vary; i++) {
    n *= s->vary[i].n;
    if (n > cap) return cap + 1;
  }
  return n;
}
static int64_t grid_size(const RtSearch *s) { return grid_count(s, RT_SEARCH_MAX_TRIALS); }

/* Combination g of the grid: the first vary slowest. */
static void grid_choice(const RtSearch *s, int64_t g, int *choice) {
  for (int i = s->n_vary - 1; i >= 0; i--) {
    choice[i] = (int)(g % s->vary[i].n);
    g /= s->vary[i].n;
  }
}

static bool same_choice(const int *a, const int *b, int n) {
  return !memcmp(a, b, sizeof(int) * (size_t)n);
}

/* x rounded to 6 significant digits (what the trial line prints, so the
 * printed value is the one used), kept within [lo, hi]. */
static double round6(double x, double lo, double hi) {
  char buf[32];
  snprintf(buf, sizeof buf, "%.6g", x);
  double r = strtod(buf, NULL);
  return r < lo ? lo : r > hi ? hi : r;
}

/* One draw of a uniform or loguniform range. */
static double draw(const RtVary *v, RtRand *r) {
  double u = rt_rand_double(r);
  double x = v->range == RT_RANGE_LOG ? exp(log(v->lo) + (log(v->hi) - log(v->lo)) * u)
                                      : v->lo + (v->hi - v->lo) * u;
  return round6(x, v->lo, v->hi);
}

/* The trials to run; *n gets their number. Without a drawn range: random(N)
 * with N at least the grid runs the grid; otherwise N distinct combinations
 * drawn with seed: the first N of a shuffled grid when it is small, else
 * draws without repeats. With one, each trial draws every vary in order (a
 * list or range(LO, HI) an index, uniform/loguniform a number). `budget N
 * trials` keeps the first N. */
static Trial *make_trials(const RtSearch *s, uint64_t seed, int *n) {
  bool draws = false;
  for (int v = 0; v < s->n_vary; v++) draws |= drawn(&s->vary[v]);
  int64_t g = grid_size(s);
  bool grid = !draws && (s->random_n <= 0 || s->random_n >= g);
  *n = grid ? (int)g : s->random_n;
  if (s->budget_trials > 0 && s->budget_trials < *n) *n = s->budget_trials;
  Trial *t = rt_xmalloc(sizeof(Trial) * (size_t)*n);
  memset(t, 0, sizeof(Trial) * (size_t)*n);
  RtRand r;
  rt_rand_seed(&r, seed ^ 0x5ea5c4ull);
  int64_t small = grid || draws ? 0 : grid_count(s, 1000000), *perm = NULL;
  if (small > 0 && small <= 1000000) {
    perm = rt_xmalloc(sizeof(int64_t) * (size_t)small);
    for (int64_t i = 0; i < small; i++) perm[i] = i;
    rt_rand_shuffle(&r, perm, small);
  }
  for (int i = 0; i < *n; i++) {
    t[i].choice = rt_xmalloc(sizeof(int) * (size_t)(s->n_vary + 1));
    t[i].val = rt_xmalloc(sizeof(double) * (size_t)(s->n_vary + 1));
    t[i].id = i + 1;
    t[i].pick = NAN;
    if (grid || perm) {
      grid_choice(s, perm ? perm[i] : i, t[i].choice);
    } else {
      for (;;) {
        for (int v = 0; v < s->n_vary; v++) {
          const RtVary *x = &s->vary[v];
          t[i].choice[v] = drawn(x) ? 0 : (int)rt_rand_below(&r, (uint64_t)x->n);
          if (drawn(x)) t[i].val[v] = draw(x, &r);
        }
        bool dup = false;   /* drawn numbers practically never repeat */
        for (int j = 0; j < i && !dup && !draws; j++)
          dup = same_choice(t[i].choice, t[j].choice, s->n_vary);
        if (!dup) break;
      }
    }
    for (int v = 0; v < s->n_vary; v++) {
      const RtVary *x = &s->vary[v];
      if (x->range == RT_RANGE_INT) t[i].val[v] = x->lo + t[i].choice[v];
      else if (!drawn(x)) t[i].val[v] = x->num[t[i].choice[v]];
    }
  }
  free(perm);
  return t;
}

int rt_search_trials(const RtSearch *s, uint64_t seed, int **choice, double **val) {
  int n;
  Trial *t = make_trials(s, seed, &n);
  size_t nv = (size_t)(s->n_vary > 0 ? s->n_vary : 1);
  *choice = rt_xmalloc(sizeof(int) * (size_t)n * nv);
  *val = rt_xmalloc(sizeof(double) * (size_t)n * nv);
  for (int i = 0; i < n; i++) {
    memcpy(*choice + (size_t)i * nv, t[i].choice, sizeof(int) * (size_t)s->n_vary);
    memcpy(*val + (size_t)i * nv, t[i].val, sizeof(double) * (size_t)s->n_vary);
    free(t[i].choice);
    free(t[i].val);
  }
  free(t);
  return n;
}

/* The base cfg with a trial's values (model parameters aside). */
static void apply(const RtSearch *s, const double *val, RtTrainCfg *cfg) {
  for (int i = 0; i < s->n_vary; i++) {
    const RtVary *v = &s->vary[i];
    double x = val[i];
    switch (v->kind) {
    case RT_VARY_EPOCHS: cfg->epochs = (int)x; break;
    case RT_VARY_BATCH: cfg->batch = (int)x; break;
    case RT_VARY_SEED: cfg->seed = (uint64_t)x; break;
    case RT_VARY_L1: cfg->l1 = (float)x; break;
    case RT_VARY_L2: cfg->l2 = (float)x; break;
    case RT_VARY_MODEL: break;
    case RT_VARY_OPT:
      if (!strcmp(v->arg, "lr")) cfg->lr = (float)x;
      else if (!strcmp(v->arg, "momentum")) cfg->momentum = (float)x;
      else if (!strcmp(v->arg, "beta1")) cfg->beta1 = (float)x;
      else if (!strcmp(v->arg, "beta2")) cfg->beta2 = (float)x;
      else if (!strcmp(v->arg, "eps")) cfg->eps = (float)x;
      else if (!strcmp(v->arg, "weight_decay")) cfg->weight_decay = (float)x;
      else if (!strcmp(v->arg, "rho")) cfg->rho = (float)x;
      else if (!strcmp(v->arg, "nesterov")) cfg->nesterov = x != 0;
      break;
    }
  }
}

/* Index of the trial's model: its own (model_per_trial), else mixed radix
 * over the model.PARAM varies. */
static int model_index(const RtSearch *s, const Trial *t) {
  if (s->model_per_trial) return t->id - 1;
  const int *choice = t->choice;
  int k = 0;
  for (int i = 0; i < s->n_vary; i++)
    if (s->vary[i].kind == RT_VARY_MODEL) k = k * s->vary[i].n + choice[i];
  return k;
}

static void print_values(FILE *f, const RtSearch *s, const Trial *t) {
  for (int i = 0; i < s->n_vary; i++) {
    const RtVary *v = &s->vary[i];
    const char *sep = i ? ", " : "";
    if (v->range == RT_RANGE_INT) fprintf(f, "%s%s = %.0f", sep, v->path, t->val[i]);
    else if (v->range) fprintf(f, "%s%s = %.6g", sep, v->path, t->val[i]);
    else
      fprintf(f, isnan(v->num[t->choice[i]]) ? "%s%s = \"%s\"" : "%s%s = %s", sep, v->path,
              v->text[t->choice[i]]);
  }
}

static json_t *values_obj(const RtSearch *s, const Trial *t) {
  json_t *o = json_object();
  for (int i = 0; i < s->n_vary; i++) {
    const RtVary *v = &s->vary[i];
    double x = t->val[i];
    json_t *j = v->range == RT_RANGE_INT ? json_integer((json_int_t)x)
                : v->range            ? json_real(x)
                : isnan(x)            ? json_string(v->text[t->choice[i]])
                : v->is_bool          ? json_boolean(x != 0)
                : x == floor(x) && fabs(x) < 9e15 ? json_integer((json_int_t)x)
                                                  : json_real(x);
    json_object_set_new(o, v->path, j);
  }
  return o;
}

/* Better first; a missing pick last; ties in run order. */
static const RtSearch *sort_s;
static int by_pick(const void *pa, const void *pb) {
  const Trial *a = pa, *b = pb;
  bool na = isnan(a->pick), nb = isnan(b->pick);
  if (na != nb) return na ? 1 : -1;
  if (!na && a->pick != b->pick) {
    bool a_better = sort_s->pick_max ? a->pick > b->pick : a->pick < b->pick;
    return a_better ? -1 : 1;
  }
  return a->id - b->id;
}

static char *out_path(const char *dir, const char *name, const char *ext) {
  size_t n = strlen(dir) + strlen(name) + strlen(ext) + 3;
  char *p = rt_xmalloc(n);
  snprintf(p, n, "%s/%s%s", *dir ? dir : ".", name, ext);
  return p;
}

/* OUT/NAME.search.json: every trial's values and val metrics, the winner. */
static int write_json(const RtSearch *s, RtTask task, const Trial *t, int n, const Trial *win,
                      const char *metric, bool out_of_time, const char *dir) {
  json_t *root = json_object();
  json_object_set_new(root, "search", json_string(s->name));
  json_object_set_new(root, "train", json_string(s->train));
  json_object_set_new(root, "strategy", json_string(s->random_n > 0 ? "random" : "grid"));
  json_t *pick = json_object();
  json_object_set_new(pick, "metric", json_string(metric));
  json_object_set_new(pick, "direction", json_string(s->pick_max ? "max" : "min"));
  json_object_set_new(root, "pick", pick);
  if (s->budget_trials > 0 || s->budget_s > 0) {
    json_t *b = json_object();
    json_object_set_new(b, "trials", s->budget_trials > 0 ? json_integer(s->budget_trials)
                                                          : json_null());
    json_object_set_new(b, "seconds", s->budget_s > 0 ? json_real(s->budget_s) : json_null());
    json_object_set_new(b, "stopped", json_boolean(out_of_time));
    json_object_set_new(root, "budget", b);
  }
  json_t *arr = json_array();
  for (int i = 0; i < n; i++) {   /* in run order */
    const Trial *x = NULL;
    for (int j = 0; j < n && !x; j++)
      if (t[j].id == i + 1) x = &t[j];
    json_t *o = json_object();
    json_object_set_new(o, "trial", json_integer(x->id));
    json_object_set_new(o, "values", values_obj(s, x));
    for (int sp = 0; sp < 2; sp++) {
      json_t *m = json_object();
      for (int k = 0; k < rt_task_nmetrics[task]; k++)
        json_object_set_new(m, rt_task_metrics[task][k],
                            num(rt_metric_get(&x->split[sp], rt_task_metrics[task][k])));
      json_object_set_new(o, sp ? "val" : "train", m);
    }
    json_array_append_new(arr, o);
  }
  json_object_set_new(root, "trials", arr);
  json_t *w = json_object();
  json_object_set_new(w, "trial", json_integer(win->id));
  json_object_set_new(w, "values", values_obj(s, win));
  json_object_set_new(w, metric, num(win->pick));
  json_object_set_new(root, "winner", w);
  char *text = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(10));
  json_decref(root);
  if (!text) return 5;
  size_t len = strlen(text);
  char *buf = rt_xmalloc(len + 2);
  memcpy(buf, text, len);
  buf[len] = '\n';
  free(text);
  char *path = out_path(dir, s->name, ".search.json");
  int code = rt_write_atomic(path, buf, len + 1) ? 6 : 0;
  if (!code) printf("wrote %s\n", path);
  free(path);
  free(buf);
  return code;
}

/* What the workers share; mu guards next, printed, code, out_of_time and
 * each trial's done/out. */
typedef struct Runner {
  const RtSearch *s;
  const RtTrainCfg *base;
  RtModelDesc *const *models;
  RtData *d;   /* read only from here on */
  RtCompileFn compile;
  RtReleaseFn release;
  void *ctx;
  Trial *t;
  int n;
  const char *metric;   /* "val.auc" */
  double t0;            /* when the first trial started */
  pthread_mutex_t mu;
  int next;             /* the next trial to start */
  int printed;          /* trials whose output is on stdout */
  int code;             /* the first failure's exit code */
  bool out_of_time;     /* `budget DURATION` stopped new trials */
} Runner;

/* Compiles and trains trial i, writing its lines to its own buffer. */
static int run_trial(Runner *R, int i) {
  const RtSearch *s = R->s;
  Trial *x = &R->t[i];
  FILE *f = open_memstream(&x->out, &x->out_len);
  if (!f) return 5;
  RtTrainCfg cfg = *R->base;
  apply(s, x->val, &cfg);
  cfg.log = f;
  const RtModelDesc *m = R->models[model_index(s, x)];
  fprintf(f, "trial %d/%d: ", i + 1, R->n);
  print_values(f, s, x);
  fprintf(f, "\n");
  int code = 0;
  MlxKernels k;
  void *h = R->compile(R->ctx, m, &cfg, &k);
  if (!h) {
    fclose(f);
    return 5;
  }
  float *params = rt_xmalloc(sizeof(float) * (size_t)(k.n_params > 0 ? k.n_params : 1));
  RtTrainResult *res = rt_xmalloc(sizeof *res);
  if (rt_train(&cfg, m, &k, R->d, params, res)) {
    code = 5;
  } else {
    x->split[0] = res->split[0];
    x->split[1] = res->split[1];
    x->pick = rt_metric_get(&x->split[s->pick_split], s->pick_metric);
    if (isnan(x->pick)) fprintf(f, "trial %d/%d: %s -\n", i + 1, R->n, R->metric);
    else fprintf(f, "trial %d/%d: %s %.6g\n", i + 1, R->n, R->metric, x->pick);
  }
  free(res);
  free(params);
  R->release(h);
  fclose(f);
  return code;
}

/* Takes trials in order until none is left, one failed or the time budget
 * is spent; prints every finished trial whose predecessors are printed. */
static void *worker(void *arg) {
  Runner *R = arg;
  pthread_mutex_lock(&R->mu);
  for (;;) {
    if (R->code || R->next >= R->n) break;
    if (R->s->budget_s > 0 && R->next > 0 && now_s() - R->t0 >= R->s->budget_s) {
      R->out_of_time = true;
      break;
    }
    int i = R->next++;
    pthread_mutex_unlock(&R->mu);
    int code = run_trial(R, i);
    pthread_mutex_lock(&R->mu);
    R->t[i].done = true;
    if (code && !R->code) R->code = code;
    while (R->printed < R->next && R->t[R->printed].done) {
      Trial *x = &R->t[R->printed++];
      if (x->out) fwrite(x->out, 1, x->out_len, stdout);
      free(x->out);
      x->out = NULL;
    }
    fflush(stdout);
  }
  pthread_mutex_unlock(&R->mu);
  return NULL;
}

/* Runs R's trials on up to `threads` threads (the caller's among them);
 * returns how many ran. */
static int run_trials(Runner *R, int threads) {
  if (threads > R->n) threads = R->n;
  if (threads < 1) threads = 1;
  pthread_t *th = rt_xmalloc(sizeof(pthread_t) * (size_t)threads);
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, (size_t)16 << 20);   /* LLVM recurses */
  int started = 0;
  for (int i = 1; i < threads; i++) {
    if (pthread_create(&th[i], &attr, worker, R)) break;   /* fewer threads, same results */
    started = i;
  }
  pthread_attr_destroy(&attr);
  worker(R);
  for (int i = 1; i <= started; i++) pthread_join(th[i], NULL);
  free(th);
  return R->next;
}

int rt_run_search(const RtSearch *s, const RtTrainCfg *base, RtModelDesc *const *models,
                  const RtDataSpec *spec, RtData *d, RtCompileFn compile,
                  RtReleaseFn release, void *ctx, const RtRunInfo *info) {
  const char *dir = info && info->out_dir ? info->out_dir : "out";
  if (grid_size(s) > RT_SEARCH_MAX_TRIALS && s->random_n <= 0) {
    rt_diag(RT_ERROR, s->loc, "search '%s' has more than %d combinations; use 'strategy random(N)'",
            s->name, RT_SEARCH_MAX_TRIALS);
    return 1;
  }
  char metric[128];
  snprintf(metric, sizeof metric, "%s.%s", s->pick_split ? "val" : "train", s->pick_metric);
  int n;
  Trial *t = make_trials(s, base->seed, &n);
  RtTask task = models[0]->task;
  printf("search %s: %d trial%s of train %s, pick %s %s\n", s->name, n, n == 1 ? "" : "s",
         s->train, s->pick_max ? "max" : "min", metric);
  fflush(stdout);
  Runner R = {.s = s, .base = base, .models = models, .d = d, .compile = compile,
              .release = release, .ctx = ctx, .t = t, .n = n, .metric = metric,
              .t0 = now_s()};
  pthread_mutex_init(&R.mu, NULL);
  int ran = run_trials(&R, info ? info->threads : 1);
  pthread_mutex_destroy(&R.mu);
  int code = R.code;
  for (int i = 0; i < n; i++) free(t[i].out);
  if (code) goto done;
  if (R.out_of_time) {
    double b = s->budget_s;
    char when[48];
    if (b >= 3600 && fmod(b, 3600) == 0) snprintf(when, sizeof when, "%gh", b / 3600);
    else if (b >= 60 && fmod(b, 60) == 0) snprintf(when, sizeof when, "%gm", b / 60);
    else if (b >= 1) snprintf(when, sizeof when, "%gs", b);
    else if (b >= 1e-3) snprintf(when, sizeof when, "%gms", b * 1e3);
    else snprintf(when, sizeof when, "%gus", b * 1e6);
    printf("budget: the time budget (%s) ran out; %d of %d trials ran\n", when, ran, n);
    fflush(stdout);
  }
  sort_s = s;
  qsort(t, (size_t)ran, sizeof *t, by_pick);
  if (isnan(t[0].pick)) {
    rt_diag(RT_ERROR, s->loc, "search '%s': no trial has %s", s->name, metric);
    rt_note(s->loc, "does the dataset split off %s rows?", s->pick_split ? "val" : "train");
    code = 4;
    goto done;
  }
  printf("\nsearch %s, best first:\n", s->name);
  int w = (int)strlen(metric);
  if (w < 10) w = 10;
  printf("  rank  trial  %-*s  values\n", w, metric);
  for (int i = 0; i < ran; i++) {
    if (isnan(t[i].pick)) printf("  %4d  %5d  %-*s  ", i + 1, t[i].id, w, "-");
    else printf("  %4d  %5d  %-*.6g  ", i + 1, t[i].id, w, t[i].pick);
    print_values(stdout, s, &t[i]);
    printf("\n");
  }
  printf("winner: trial %d (", t[0].id);
  print_values(stdout, s, &t[0]);
  printf("), %s %.6g; re-training it as %s\n", metric, t[0].pick, s->name);
  fflush(stdout);
  code = write_json(s, task, t, ran, &t[0], metric, R.out_of_time, dir);
  if (code) goto done;
  {
    RtTrainCfg cfg = *base;
    apply(s, t[0].val, &cfg);
    cfg.name = rt_xstrdup(s->name);
    const RtModelDesc *m = models[model_index(s, &t[0])];
    MlxKernels k;
    void *h = compile(ctx, m, &cfg, &k);
    if (!h) code = 5;
    else code = rt_run_train(&cfg, m, spec, &k, d, info);
    if (h) release(h);
    free(cfg.name);
  }
done:
  for (int i = 0; i < n; i++) {
    free(t[i].choice);
    free(t[i].val);
  }
  free(t);
  return code;
}
