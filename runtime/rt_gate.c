/* rt_gate.c — offline release gates, checked by rt_run_train after training:
 * the one-row predict latency of the test split (predict.p50|p90|p99), the
 * baseline model re-evaluated on this run's split rows through its own frozen
 * preprocessing (baseline.*), each gate line evaluated (RtGate, built by
 * sema), a line per clause on stdout and a diagnostic per failed clause.
 * Ownership: res->gate_res is malloc'd here (rt_gate_results_free); the
 * RtGate descriptions live in the compiler's arena. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "rt.h"

#define LAT_ROWS 1000     /* test rows timed at most */
#define LAT_WARM 100      /* rows predicted once before timing */

static const char *const split_names[4] = {"train", "val", "test", "predict"};
static const char *const cmp_spelling[6] = {"<", "<=", ">", ">=", "==", "!="};

static double now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int by_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* Nearest-rank percentile p (0..100) of n sorted values. */
static double percentile(const double *v, int n, double p) {
  int r = (int)ceil(p / 100.0 * n);
  if (r < 1) r = 1;
  if (r > n) r = n;
  return v[r - 1];
}

bool rt_predict_latency(const MlxKernels *k, const RtModelDesc *m, const float *params,
                        const RtSplit *s, double us[3]) {
  us[0] = us[1] = us[2] = NAN;
  if (!s || s->n <= 0 || !k->predict) return false;
  int n_in = m->n_in, n_out = m->layers[m->n_layers - 1].units;
  int n = s->n < LAT_ROWS ? (int)s->n : LAT_ROWS;
  float *work = rt_xmalloc(sizeof(float) * (size_t)(k->n_work > 0 ? k->n_work : 1));
  float *out = rt_xmalloc(sizeof(float) * (size_t)(n_out > 0 ? n_out : 1));
  double *t = rt_xmalloc(sizeof(double) * (size_t)n);
  for (int i = 0; i < LAT_WARM; i++)   /* caches, branch predictors, page faults */
    k->predict(params, work, s->x + (int64_t)(i % n) * n_in, 1, out);
  for (int i = 0; i < n; i++) {
    double t0 = now_ns();
    k->predict(params, work, s->x + (int64_t)i * n_in, 1, out);
    t[i] = (now_ns() - t0) / 1e3;
  }
  qsort(t, (size_t)n, sizeof *t, by_double);
  us[0] = percentile(t, n, 50);
  us[1] = percentile(t, n, 90);
  us[2] = percentile(t, n, 99);
  free(t);
  free(out);
  free(work);
  return true;
}

/* ---- this run's split rows -------------------------------------------------- */

/* The CSV record (0-based, data records only) of every row of each split of
 * d, in split order, for an RtData without RtSplit.rec: the loader's split
 * (rt_split_rows) replayed on the file's labels and `by` keys, which finds
 * them only when the dataset keeps every record. rec[s] malloc'd. Returns
 * 0, or -1 after reporting. */
static int split_records(const RtDataSpec *spec, const RtData *d, int64_t *rec[3],
                         int64_t cnt[3]) {
  RtCsvOpts o = {.delim = spec->csv_delim, .quote = spec->csv_quote,
                 .no_header = spec->csv_no_header};
  RtCsv *c = rt_csv_open_opts(spec->csv_path, &o);
  if (!c) return -1;
  int label = -1, key = -1;
  for (int j = 0; j < rt_csv_ncols(c); j++) {
    if (spec->label && !strcmp(rt_csv_name(c, j), spec->label)) label = j;
    if (spec->split_by && !strcmp(rt_csv_name(c, j), spec->split_by)) key = j;
  }
  int64_t n = 0, cap = 0;
  float *y = NULL;
  uint64_t *keyh = NULL;
  int r = 0;
  bool ok = label >= 0;
  if (!ok)
    rt_diag(RT_ERROR, spec->label_loc, "internal error: label column '%s' not found again",
            spec->label ? spec->label : "?");
  while (ok && (r = rt_csv_next(c)) > 0) {
    if (n == cap) {
      cap = cap ? cap * 2 : 1024;
      y = rt_xrealloc(y, sizeof(float) * (size_t)cap);
      if (key >= 0) keyh = rt_xrealloc(keyh, sizeof(uint64_t) * (size_t)cap);
    }
    size_t len;
    const char *s = rt_csv_field(c, label, &len);
    float v = 0;
    if (d->task == RT_TASK_REGRESSION) {
      rt_parse_float(s, len, &v);
    } else if (spec->n_label_map > 0) {
      for (int k = 0; k < spec->n_label_map; k++)
        if (!strcmp(spec->label_keys[k], s)) v = (float)spec->label_vals[k];
    } else {
      for (int k = 0; k < d->n_classes; k++)
        if (!strcmp(d->class_names[k], s)) v = (float)k;
    }
    y[n] = v;
    if (key >= 0) {
      s = rt_csv_field(c, key, &len);
      keyh[n] = rt_split_key(spec, s, len);
    }
    n++;
  }
  if (r < 0) ok = false;
  rt_csv_close(c);
  int64_t want = d->split[0].n + d->split[1].n + d->split[2].n;
  if (ok && n != want) {
    rt_diag(RT_ERROR, rt_loc_file(spec->csv_path),
            "a baseline comparison on a dataset that drops rows is not supported here: "
            "%lld records, training kept %lld",
            (long long)n, (long long)want);
    ok = false;
  }
  int64_t *idx = ok ? rt_xmalloc(sizeof(int64_t) * (size_t)(n + 1)) : NULL;
  if (ok && rt_split_rows(spec, n, y, d->n_classes, keyh, idx, cnt)) ok = false;
  for (int s = 0; ok && s < 3; s++)
    if (cnt[s] != d->split[s].n) {
      rt_diag(RT_ERROR, rt_loc_file(spec->csv_path),
              "internal error: the baseline comparison's %s split has %lld rows, training's %lld",
              split_names[s], (long long)cnt[s], (long long)d->split[s].n);
      ok = false;
    }
  if (ok) {
    int64_t at = 0;
    for (int s = 0; s < 3; s++) {
      rec[s] = rt_xmalloc(sizeof(int64_t) * (size_t)(cnt[s] + 1));
      memcpy(rec[s], idx + at, sizeof(int64_t) * (size_t)cnt[s]);
      at += cnt[s];
    }
  }
  free(idx);
  free(y);
  free(keyh);
  return ok ? 0 : -1;
}

/* A CSV field as the baseline's reader reads it back: quoted when it holds
 * the delimiter, the quote or a line break, or is empty (a lone empty field
 * would be a blank line). */
static void put_field(FILE *f, const char *s, size_t n, char delim, char quote) {
  bool q = n == 0;
  for (size_t i = 0; i < n && !q; i++)
    q = s[i] == delim || s[i] == quote || s[i] == '\n' || s[i] == '\r';
  if (!q) {
    fwrite(s, 1, n, f);
    return;
  }
  fputc(quote, f);
  for (size_t i = 0; i < n; i++) {
    if (s[i] == quote) fputc(quote, f);
    fputc(s[i], f);
  }
  fputc(quote, f);
}

/* Records sel[0..n) (sorted, distinct, 0-based data records) of spec's CSV
 * copied into a new temporary CSV in the format the baseline's frozen spec
 * bs reads (delimiter, quote, header). Returns its malloc'd path, or NULL
 * after reporting. */
static char *subset_csv(const RtDataSpec *spec, const RtDataSpec *bs, const int64_t *sel,
                        int64_t n) {
  RtCsvOpts o = {.delim = spec->csv_delim, .quote = spec->csv_quote,
                 .no_header = spec->csv_no_header, .keep_ragged = spec->bad_row_skip};
  RtCsv *c = rt_csv_open_opts(spec->csv_path, &o);
  if (!c) return NULL;
  const char *dir = getenv("TMPDIR");
  size_t plen = strlen(dir && *dir ? dir : "/tmp") + 32;
  char *path = rt_xmalloc(plen);
  snprintf(path, plen, "%s/mlxc-baseline-XXXXXX", dir && *dir ? dir : "/tmp");
  int fd = mkstemp(path);
  FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
  if (!f) {
    rt_diag(RT_ERROR, rt_loc_file(path), "cannot write a temporary file: %s", strerror(errno));
    rt_csv_close(c);
    free(path);
    return NULL;
  }
  char delim = bs->csv_delim ? bs->csv_delim : ',', quote = bs->csv_quote ? bs->csv_quote : '"';
  int nc = rt_csv_ncols(c);
  if (!bs->csv_no_header) {
    for (int j = 0; j < nc; j++) {
      const char *h = rt_csv_name(c, j);
      if (j) fputc(delim, f);
      put_field(f, h, strlen(h), delim, quote);
    }
    fputc('\n', f);
  }
  int64_t r = 0, k = 0;
  int got = 0;
  while (k < n && (got = rt_csv_next(c)) > 0) {
    if (r++ != sel[k]) continue;
    k++;
    for (int j = 0; j < nc; j++) {
      size_t len;
      const char *v = rt_csv_field(c, j, &len);
      if (j) fputc(delim, f);
      put_field(f, v, len, delim, quote);
    }
    fputc('\n', f);
  }
  rt_csv_close(c);
  bool bad = fclose(f) != 0 || got < 0 || k < n;
  if (bad) {
    if (got >= 0) rt_diag(RT_ERROR, rt_loc_file(path), "cannot write a temporary file");
    unlink(path);
    free(path);
    return NULL;
  }
  return path;
}

static int by_i64(const void *a, const void *b) {
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return (x > y) - (x < y);
}

/* ---- the baseline model ----------------------------------------------------- */

/* A baseline as the gates read it: its metrics on this run's splits and its
 * one-row latency on this run's test rows. */
typedef struct Baseline {
  const char *path;
  bool missing;           /* no such file (first_run decides) */
  bool loaded;            /* metrics below are valid */
  RtTask task;
  RtMetrics split[3];
  double lat_us[3];
  bool lat_ok;
} Baseline;

/* Loads path, compiles it, predicts this run's split rows through its own
 * frozen preprocessing. Returns 0 (b->missing when there is no such file),
 * or -1 after reporting (exit 4). */
static int baseline_eval(Baseline *b, const RtGate *g, const RtDataSpec *spec, const RtData *d,
                         RtTask task, const RtRunInfo *info) {
  struct stat st;
  if (stat(b->path, &st) != 0 && errno == ENOENT) {
    b->missing = true;
    return 0;
  }
  if (!info || !info->compile) {
    rt_diag(RT_ERROR, g->baseline_loc, "comparing with baseline '%s' is not supported yet here: "
            "this program cannot compile a model", b->path);
    return -1;
  }
  RtModel *bm = rt_model_load(b->path);
  if (!bm) {
    rt_note(g->baseline_loc, "gate '%s' compares with this baseline", g->name);
    return -1;
  }
  int code = -1;
  RtSplit all = {0};
  int64_t *rec[3] = {0}, cnt[3], *sel = NULL;
  const int64_t *rs[3];
  char *tmp = NULL;
  float *x = NULL, *y = NULL, *pred = NULL, *work = NULL;
  void *h = NULL;
  RtTrainCfg cfg = {.name = bm->desc.name, .batch = 256, .opt = RT_OPT_SGD};
  MlxKernels bk;
  if (!(h = info->compile(info->compile_ctx, &bm->desc, &cfg, &bk))) goto done;
  if (bm->desc.task != task) {
    rt_diag(RT_ERROR, info->baseline ? rt_loc_file(b->path) : g->baseline_loc,
            "baseline model '%s' is a %s model; this train is %s", b->path,
            rt_task_name(bm->desc.task), rt_task_name(task));
    rt_note(g->use_loc, "gate '%s' compares with it", g->name);
    goto done;
  }
  if (bk.n_params != bm->n_params) {
    rt_diag(RT_ERROR, rt_loc_file(b->path),
            "internal error: kernels expect %lld parameters, the model has %lld",
            (long long)bk.n_params, (long long)bm->n_params);
    goto done;
  }
  /* this run's split rows as CSV records: the loader's (RtSplit.rec), or
   * its split replayed when it kept none */
  bool have = true;
  for (int s = 0; s < 3; s++) have &= d->split[s].rec != NULL || d->split[s].n == 0;
  if (!have && split_records(spec, d, rec, cnt)) goto done;
  int64_t total = 0, maxr = -1;
  for (int s = 0; s < 3; s++) {
    if (have) cnt[s] = d->split[s].n;
    rs[s] = have ? d->split[s].rec : rec[s];
    total += cnt[s];
    for (int64_t i = 0; i < cnt[s]; i++) maxr = rs[s][i] > maxr ? rs[s][i] : maxr;
  }
  const char *csv = spec->csv_path;
  if (maxr + 1 != total) {   /* rows were dropped: the kept records, in file order */
    sel = rt_xmalloc(sizeof(int64_t) * (size_t)(total + 1));
    int64_t at = 0;
    for (int s = 0; s < 3; s++) {
      memcpy(sel + at, rs[s], sizeof(int64_t) * (size_t)cnt[s]);
      at += cnt[s];
    }
    qsort(sel, (size_t)total, sizeof *sel, by_i64);
    if (!(tmp = subset_csv(spec, bm->data, sel, total))) goto done;
    csv = tmp;
  }
  int ar = rt_data_apply_xf(bm->data, csv, bm->desc.task, bm->class_names, bm->n_classes, true,
                            bk.xform, &all);
  if (!ar && all.n < (sel ? total : maxr + 1)) {
    rt_diag(RT_ERROR, rt_loc_file(spec->csv_path), "internal error: the baseline read %lld rows",
            (long long)all.n);
    ar = -1;
  }
  if (ar) {
    if (tmp) rt_note(rt_loc_file(spec->csv_path), "(the rows of this run's splits, copied "
                     "from this file to '%s')", tmp);
    rt_note(g->baseline_loc, "the baseline '%s' of gate '%s' reads this run's data", b->path,
            g->name);
    goto done;
  }
  b->task = bm->desc.task;
  int nf = bm->data->n_feats, n_out = bm->desc.layers[bm->desc.n_layers - 1].units;
  work = rt_xmalloc(sizeof(float) * (size_t)(bk.n_work > 0 ? bk.n_work : 1));
  for (int s = 0; s < 3; s++) {
    int64_t n = cnt[s];
    x = rt_xmalloc(sizeof(float) * (size_t)(n * nf + 1));
    y = rt_xmalloc(sizeof(float) * (size_t)(n + 1));
    pred = rt_xmalloc(sizeof(float) * (size_t)(n * n_out + 1));
    for (int64_t i = 0; i < n; i++) {
      int64_t r = rs[s][i];
      if (sel) r = (int64_t *)bsearch(&rs[s][i], sel, (size_t)total, sizeof *sel, by_i64) - sel;
      memcpy(x + i * nf, all.x + r * nf, sizeof(float) * (size_t)nf);
      y[i] = all.y[r];
    }
    if (n > 0) bk.predict(bm->params, work, x, n, pred);
    b->split[s] = rt_metrics(bm->desc.task, bm->n_classes, pred, y, n);
    if (bm->desc.loss == RT_LOSS_MAE) b->split[s].loss = b->split[s].mae;
    if (s == 2) {
      RtSplit ts = {.n = n, .x = x, .y = y};
      RtModelDesc md = bm->desc;
      md.n_in = nf;
      b->lat_ok = rt_predict_latency(&bk, &md, bm->params, &ts, b->lat_us);
    }
    free(x);
    free(y);
    free(pred);
    x = y = pred = NULL;
  }
  b->loaded = true;
  code = 0;
done:
  free(work);
  for (int s = 0; s < 3; s++) free(rec[s]);
  free(sel);
  if (tmp) unlink(tmp);
  free(tmp);
  rt_split_free(&all);
  if (h) info->release(h);
  rt_model_free(bm);
  return code;
}

/* ---- evaluation ------------------------------------------------------------- */

typedef struct Env {
  const RtTrainResult *res;
  const Baseline *b;
} Env;

static double metric_of(const Env *e, const RtGateExpr *x) {
  if (x->split == 3) {
    int i = !strcmp(x->metric, "p50") ? 0 : !strcmp(x->metric, "p90") ? 1 : 2;
    if (x->baseline) return e->b && e->b->lat_ok ? e->b->lat_us[i] : NAN;
    return e->res->predict_measured ? e->res->predict_us[i] : NAN;
  }
  if (x->split < 0 || x->split > 2) return NAN;
  if (x->baseline) return e->b && e->b->loaded ? rt_metric_get(&e->b->split[x->split], x->metric)
                                               : NAN;
  return rt_metric_get(&e->res->split[x->split], x->metric);
}

static double gate_metric(void *env, const RtGateExpr *x) { return metric_of(env, x); }

static double eval(const Env *e, const RtGateExpr *x) {
  return rt_gx_eval(x, gate_metric, (void *)e);
}

/* NaN compares false: an undefined metric (auc of one class) fails its line. */
static bool compare(RtGateCmp c, double a, double b) {
  switch (c) {
  case RT_GC_LT: return a < b;
  case RT_GC_LE: return a <= b;
  case RT_GC_GT: return a > b;
  case RT_GC_GE: return a >= b;
  case RT_GC_EQ: return a == b;
  default: return a != b && !isnan(a) && !isnan(b);
  }
}

/* A value as the clause lines print it: durations with a unit. */
static void fmt_value(char *buf, size_t n, double v, bool dur) {
  if (isnan(v)) snprintf(buf, n, "undefined");
  else if (!dur) snprintf(buf, n, "%.4g", v);
  else if (fabs(v) < 1e3) snprintf(buf, n, "%.3gus", v);
  else if (fabs(v) < 1e6) snprintf(buf, n, "%.3gms", v / 1e3);
  else snprintf(buf, n, "%.3gs", v / 1e6);
}

/* Whether any line of g reads the baseline. */
static bool reads_baseline(const RtGate *g) {
  for (int i = 0; i < g->n_lines; i++)
    if (g->lines[i].reads_baseline) return true;
  return false;
}

/* A threshold written as the plain number it is ('>= 0.9'): the failure
 * message then shows the value alone. */
static bool literal_rhs(const RtGateLine *l, double threshold) {
  if (l->rhs->op != RT_GX_NUM || l->duration) return false;
  const char *t = strstr(l->text, cmp_spelling[l->cmp]);
  if (!t) return false;
  t += strlen(cmp_spelling[l->cmp]);
  char *end;
  double v = strtod(t, &end);
  while (*end == ' ') end++;
  return end != t && !*end && v == threshold;
}

/* A gate that reads a baseline that does not exist, without `first_run`
 * (or named by --baseline, which must exist): an error naming the path,
 * with a note at the train. */
static bool baseline_absent(const RtGate *g, const char *path, const RtRunInfo *info) {
  struct stat st;
  bool cli = info && info->baseline;
  if (!path || (g->first_run != 0 && !cli) || !reads_baseline(g) || stat(path, &st) == 0 ||
      errno != ENOENT)
    return false;
  rt_diag(RT_ERROR, info && info->baseline ? rt_loc_file(path) : g->baseline_loc,
          "baseline model '%s' does not exist", path);
  if (cli) rt_note(g->use_loc, "gate '%s' compares with it (--baseline)", g->name);
  else rt_note(g->use_loc, "gate '%s' compares with it; 'first_run pass' (or fail) in the gate "
               "says what a first run without a baseline means", g->name);
  return true;
}

int rt_gate_precheck(const RtTrainCfg *cfg, const RtRunInfo *info) {
  int bad = 0;
  for (int g = 0; g < cfg->n_gates; g++) {
    const RtGate *gt = &cfg->gates[g];
    bad += baseline_absent(gt, info && info->baseline ? info->baseline : gt->baseline, info);
  }
  rt_diag_flush();
  return bad ? 4 : 0;
}

int rt_gate_check(const RtTrainCfg *cfg, const RtModelDesc *m, const RtDataSpec *spec,
                  const MlxKernels *k, const float *params, const RtData *d,
                  RtTrainResult *res, const RtRunInfo *info) {
  res->predict_measured = rt_predict_latency(k, m, params, &d->split[2], res->predict_us);
  int total = 0;
  for (int g = 0; g < cfg->n_gates; g++) total += cfg->gates[g].n_lines;
  if (total == 0) return 0;
  res->gate_res = rt_xmalloc(sizeof(RtGateResult) * (size_t)total);
  int code = 0;
  for (int gi = 0; gi < cfg->n_gates; gi++) {
    const RtGate *g = &cfg->gates[gi];
    Baseline b = {.path = info && info->baseline ? info->baseline : g->baseline};
    bool need_b = reads_baseline(g);
    if (need_b && b.path && baseline_eval(&b, g, spec, d, m->task, info)) return 4;
    if (need_b && b.missing && baseline_absent(g, b.path, info)) return 4;
    Env env = {res, &b};
    int failed = 0;
    for (int i = 0; i < g->n_lines; i++) {
      const RtGateLine *l = &g->lines[i];
      RtGateResult *r = &res->gate_res[res->n_gate_res++];
      r->gate = g->name;
      r->expr = l->text;
      r->duration = l->duration;
      bool no_base = l->reads_baseline && b.missing;
      r->value = eval(&env, l->lhs);
      r->threshold = eval(&env, l->rhs);
      if (no_base && g->first_run == 1) r->passed = -1;
      else if (no_base) r->passed = 0;
      else r->passed = compare(l->cmp, r->value, r->threshold);
      char vb[32], tb[32];
      fmt_value(vb, sizeof vb, r->value, r->duration);
      fmt_value(tb, sizeof tb, r->threshold, r->duration);
      bool const_rhs = literal_rhs(l, r->threshold);
      const char *word = r->passed > 0 ? "passed" : r->passed == 0 ? "FAILED" : "skipped";
      printf("gate %s: %-7s %s", g->name, word, l->text);
      if (no_base)
        printf("  (no baseline '%s'; first_run %s)\n", b.path, g->first_run == 1 ? "pass" : "fail");
      else if (const_rhs) printf("  (%s)\n", vb);
      else printf("  (%s; threshold %s)\n", vb, tb);
      failed += r->passed == 0;
    }
    fflush(stdout);
    /* then a diagnostic per failed clause, at its line in the gate */
    for (int i = 0; i < g->n_lines; i++) {
      const RtGateLine *l = &g->lines[i];
      const RtGateResult *r = &res->gate_res[res->n_gate_res - g->n_lines + i];
      if (r->passed != 0) continue;
      bool no_base = l->reads_baseline && b.missing;
      bool const_rhs = literal_rhs(l, r->threshold);
      char vb[32], tb[32];
      fmt_value(vb, sizeof vb, r->value, r->duration);
      fmt_value(tb, sizeof tb, r->threshold, r->duration);
      if (no_base)
        rt_diag(RT_ERROR, l->loc, "gate '%s' failed: %s (no baseline '%s', and the gate says "
                "'first_run fail')", g->name, l->text, b.path);
      else if (const_rhs)
        rt_diag(RT_ERROR, l->loc, "gate '%s' failed: %s (%s)", g->name, l->text, vb);
      else
        rt_diag(RT_ERROR, l->loc, "gate '%s' failed: %s (%s, threshold %s)", g->name, l->text,
                vb, tb);
      rt_note(g->use_loc, "the train names gate '%s' here", g->name);
    }
    rt_diag_flush();
    if (failed) code = 3;
  }
  return code;
}

void rt_gate_results_free(RtTrainResult *res) {
  free(res->gate_res);
  res->gate_res = NULL;
  res->n_gate_res = 0;
}
