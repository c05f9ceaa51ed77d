/* rt_search.c — `mlxc run` of a search block: the trials (the whole grid, or
 * random(N) combinations drawn from the grid with the train's seed), one
 * after another on the same loaded data, each compiled by main.c's callback
 * and trained by rt_train; then the table sorted by the pick,
 * OUT/NAME.search.json, and the winner re-trained by rt_run_train (training
 * is deterministic, so it reproduces the trial) to write OUT/NAME.mlxm and
 * OUT/NAME.metrics.json. */
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "rt.h"

#define RT_SEARCH_MAX_TRIALS 10000

/* The val metrics each task defines, as metrics.json lists them. */
static const char *const task_metrics[3][9] = {
    {"loss", "mse", "rmse", "mae", "r2"},
    {"loss", "accuracy", "precision", "recall", "f1", "auc", "log_loss"},
    {"loss", "accuracy", "precision", "recall", "f1", "log_loss", "precision_weighted",
     "recall_weighted", "f1_weighted"}};
static const int task_nmetrics[3] = {5, 7, 9};

static json_t *num(double v) { return isfinite(v) ? json_real(v) : json_null(); }

typedef struct Trial {
  int *choice;        /* value index per vary */
  RtMetrics split[2]; /* train and val metrics after training */
  double pick;        /* the picked metric (NaN: missing) */
  int id;             /* 1-based, in run order */
} Trial;

/* Number of grid combinations, saturating at cap + 1. */
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

/* The trials to run; *n gets their number. random(N) with N at least the
 * grid runs the grid; otherwise N distinct combinations drawn with seed: the
 * first N of a shuffled grid when it is small, else draws without repeats. */
static Trial *make_trials(const RtSearch *s, uint64_t seed, int *n) {
  int64_t g = grid_size(s);
  bool grid = s->random_n <= 0 || s->random_n >= g;
  *n = grid ? (int)g : s->random_n;
  Trial *t = rt_xmalloc(sizeof(Trial) * (size_t)*n);
  RtRand r;
  rt_rand_seed(&r, seed ^ 0x5ea5c4ull);
  int64_t small = grid ? 0 : grid_count(s, 1000000), *perm = NULL;
  if (small > 0 && small <= 1000000) {
    perm = rt_xmalloc(sizeof(int64_t) * (size_t)small);
    for (int64_t i = 0; i < small; i++) perm[i] = i;
    rt_rand_shuffle(&r, perm, small);
  }
  for (int i = 0; i < *n; i++) {
    t[i].choice = rt_xmalloc(sizeof(int) * (size_t)(s->n_vary + 1));
    t[i].id = i + 1;
    t[i].pick = NAN;
    if (grid || perm) {
      grid_choice(s, perm ? perm[i] : i, t[i].choice);
      continue;
    }
    for (;;) {
      for (int v = 0; v < s->n_vary; v++)
        t[i].choice[v] = (int)rt_rand_below(&r, (uint64_t)s->vary[v].n);
      bool dup = false;
      for (int j = 0; j < i && !dup; j++) dup = same_choice(t[i].choice, t[j].choice, s->n_vary);
      if (!dup) break;
    }
  }
  free(perm);
  return t;
}

/* The base cfg with a trial's values (model parameters aside). */
static void apply(const RtSearch *s, const int *choice, RtTrainCfg *cfg) {
  for (int i = 0; i < s->n_vary; i++) {
    const RtVary *v = &s->vary[i];
    double x = v->num[choice[i]];
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

/* Index of the trial's model: mixed radix over the model.PARAM varies. */
static int model_index(const RtSearch *s, const int *choice) {
  int k = 0;
  for (int i = 0; i < s->n_vary; i++)
    if (s->vary[i].kind == RT_VARY_MODEL) k = k * s->vary[i].n + choice[i];
  return k;
}

static void print_values(FILE *f, const RtSearch *s, const int *choice) {
  for (int i = 0; i < s->n_vary; i++)
    fprintf(f, isnan(s->vary[i].num[choice[i]]) ? "%s%s = \"%s\"" : "%s%s = %s", i ? ", " : "",
            s->vary[i].path, s->vary[i].text[choice[i]]);
}

static json_t *values_obj(const RtSearch *s, const int *choice) {
  json_t *o = json_object();
  for (int i = 0; i < s->n_vary; i++) {
    const RtVary *v = &s->vary[i];
    double x = v->num[choice[i]];
    json_t *j = isnan(x) ? json_string(v->text[choice[i]])
                : v->is_bool ? json_boolean(x != 0)
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

/* "val.auc": the split and metric pick reads. */
static const char *pick_name(const RtSearch *s) {
  static char buf[128];
  snprintf(buf, sizeof buf, "%s.%s", s->pick_split ? "val" : "train", s->pick_metric);
  return buf;
}

static char *out_path(const char *dir, const char *name, const char *ext) {
  size_t n = strlen(dir) + strlen(name) + strlen(ext) + 3;
  char *p = rt_xmalloc(n);
  snprintf(p, n, "%s/%s%s", *dir ? dir : ".", name, ext);
  return p;
}

/* OUT/NAME.search.json: every trial's values and val metrics, the winner. */
static int write_json(const RtSearch *s, RtTask task, const Trial *t, int n, const Trial *win,
                      const char *dir) {
  json_t *root = json_object();
  json_object_set_new(root, "search", json_string(s->name));
  json_object_set_new(root, "train", json_string(s->train));
  json_object_set_new(root, "strategy", json_string(s->random_n > 0 ? "random" : "grid"));
  json_t *pick = json_object();
  char metric[128];
  snprintf(metric, sizeof metric, "%s", pick_name(s));
  json_object_set_new(pick, "metric", json_string(metric));
  json_object_set_new(pick, "direction", json_string(s->pick_max ? "max" : "min"));
  json_object_set_new(root, "pick", pick);
  json_t *arr = json_array();
  for (int i = 0; i < n; i++) {   /* in run order */
    const Trial *x = NULL;
    for (int j = 0; j < n && !x; j++)
      if (t[j].id == i + 1) x = &t[j];
    json_t *o = json_object();
    json_object_set_new(o, "trial", json_integer(x->id));
    json_object_set_new(o, "values", values_obj(s, x->choice));
    for (int sp = 0; sp < 2; sp++) {
      json_t *m = json_object();
      for (int k = 0; k < task_nmetrics[task]; k++)
        json_object_set_new(m, task_metrics[task][k],
                            num(rt_metric_get(&x->split[sp], task_metrics[task][k])));
      json_object_set_new(o, sp ? "val" : "train", m);
    }
    json_array_append_new(arr, o);
  }
  json_object_set_new(root, "trials", arr);
  json_t *w = json_object();
  json_object_set_new(w, "trial", json_integer(win->id));
  json_object_set_new(w, "values", values_obj(s, win->choice));
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

int rt_run_search(const RtSearch *s, const RtTrainCfg *base, RtModelDesc *const *models,
                  const RtDataSpec *spec, RtData *d, RtCompileFn compile,
                  RtReleaseFn release, void *ctx, const RtRunInfo *info) {
  const char *dir = info && info->out_dir ? info->out_dir : "out";
  if (grid_size(s) > RT_SEARCH_MAX_TRIALS && s->random_n <= 0) {
    rt_diag(RT_ERROR, s->loc, "search '%s' has more than %d combinations; use 'strategy random(N)'",
            s->name, RT_SEARCH_MAX_TRIALS);
    return 1;
  }
  int n;
  Trial *t = make_trials(s, base->seed, &n);
  RtTask task = models[0]->task;
  int code = 0;
  printf("search %s: %d trial%s of train %s, pick %s %s\n", s->name, n, n == 1 ? "" : "s",
         s->train, s->pick_max ? "max" : "min", pick_name(s));
  fflush(stdout);
  for (int i = 0; i < n && !code; i++) {
    RtTrainCfg cfg = *base;
    apply(s, t[i].choice, &cfg);
    const RtModelDesc *m = models[model_index(s, t[i].choice)];
    printf("trial %d/%d: ", i + 1, n);
    print_values(stdout, s, t[i].choice);
    printf("\n");
    fflush(stdout);
    MlxKernels k;
    void *h = compile(ctx, m, &cfg, &k);
    if (!h) {
      code = 5;
      break;
    }
    float *params = rt_xmalloc(sizeof(float) * (size_t)(k.n_params > 0 ? k.n_params : 1));
    RtTrainResult *res = rt_xmalloc(sizeof *res);
    if (rt_train(&cfg, m, &k, d, params, res)) {
      code = 5;
    } else {
      t[i].split[0] = res->split[0];
      t[i].split[1] = res->split[1];
      t[i].pick = rt_metric_get(&t[i].split[s->pick_split], s->pick_metric);
      if (isnan(t[i].pick)) printf("trial %d/%d: %s -\n", i + 1, n, pick_name(s));
      else printf("trial %d/%d: %s %.6g\n", i + 1, n, pick_name(s), t[i].pick);
      fflush(stdout);
    }
    free(res);
    free(params);
    release(h);
  }
  if (code) goto done;
  sort_s = s;
  qsort(t, (size_t)n, sizeof *t, by_pick);
  if (isnan(t[0].pick)) {
    rt_diag(RT_ERROR, s->loc, "search '%s': no trial has %s", s->name, pick_name(s));
    rt_note(s->loc, "does the dataset split off %s rows?", s->pick_split ? "val" : "train");
    code = 4;
    goto done;
  }
  printf("\nsearch %s, best first:\n", s->name);
  int w = (int)strlen(pick_name(s));
  if (w < 10) w = 10;
  printf("  rank  trial  %-*s  values\n", w, pick_name(s));
  for (int i = 0; i < n; i++) {
    if (isnan(t[i].pick)) printf("  %4d  %5d  %-*s  ", i + 1, t[i].id, w, "-");
    else printf("  %4d  %5d  %-*.6g  ", i + 1, t[i].id, w, t[i].pick);
    print_values(stdout, s, t[i].choice);
    printf("\n");
  }
  printf("winner: trial %d (", t[0].id);
  print_values(stdout, s, t[0].choice);
  printf("), %s %.6g; re-training it as %s\n", pick_name(s), t[0].pick, s->name);
  fflush(stdout);
  code = write_json(s, task, t, n, &t[0], dir);
  if (code) goto done;
  {
    RtTrainCfg cfg = *base;
    apply(s, t[0].choice, &cfg);
    cfg.name = rt_xstrdup(s->name);
    const RtModelDesc *m = models[model_index(s, t[0].choice)];
    MlxKernels k;
    void *h = compile(ctx, m, &cfg, &k);
    if (!h) code = 5;
    else code = rt_run_train(&cfg, m, spec, &k, d, info);
    if (h) release(h);
    free(cfg.name);
  }
done:
  for (int i = 0; i < n; i++) free(t[i].choice);
  free(t);
  return code;
}
