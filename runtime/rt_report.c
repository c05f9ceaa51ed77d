/* rt_report.c — what a run tells the user and the machines after training:
 * the metrics table on stdout and NAME.metrics.json (DESIGN.md §4), written
 * atomically. The same JSON text is embedded in the .mlxm. */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rt.h"

static const char *const split_names[3] = {"train", "val", "test"};


/* A number, or null for NaN/inf (JSON has neither). */
static json_t *num(double v) { return isfinite(v) ? json_real(v) : json_null(); }

/* The table on stdout shows the first table_n[task] of rt_task_metrics
 * (log_loss repeats a classifier's loss, the weighted averages stay in the
 * JSON). */
static const int table_n[3] = {5, 6, 5};

static json_t *metrics_obj(RtTask task, const RtMetrics *m) {
  json_t *o = json_object();
  for (int i = 0; i < rt_task_nmetrics[task]; i++)
    json_object_set_new(o, rt_task_metrics[task][i],
                        num(rt_metric_get(m, rt_task_metrics[task][i])));
  return o;
}

char *rt_report_json(const RtTrainCfg *cfg, const RtModelDesc *m, const RtData *d,
                     const RtTrainResult *res, const char *spec_hash, double compile_ms,
                     double load_s) {
  json_t *o = json_object();
  json_object_set_new(o, "name", json_string(cfg->name ? cfg->name : ""));
  json_object_set_new(o, "task", json_string(rt_task_name(m->task)));
  json_t *cl = json_array();
  for (int i = 0; i < d->n_classes; i++)
    json_array_append_new(cl, json_stringn(d->class_names[i], strlen(d->class_names[i])));
  json_object_set_new(o, "classes", cl);
  json_object_set_new(o, "spec_hash", json_string(spec_hash ? spec_hash : ""));
  json_object_set_new(o, "data_hash", json_string(d->data_hash));
  json_object_set_new(o, "seed", json_integer((json_int_t)cfg->seed));
  json_object_set_new(o, "threads", json_integer(cfg->threads > 1 ? cfg->threads : 1));
  json_object_set_new(o, "device", json_string("cpu"));
  json_t *rows = json_object();
  json_object_set_new(rows, "read", json_integer(d->rows_read));
  json_object_set_new(rows, "dropped", json_integer(d->rows_dropped));
  json_object_set_new(rows, "bad", json_integer(d->rows_bad));
  json_object_set_new(o, "rows", rows);
  json_t *splits = json_object();
  for (int s = 0; s < 3; s++) {
    json_t *so = metrics_obj(m->task, &res->split[s]);
    json_object_set_new(so, "rows", json_integer(d->split[s].n));
    if (d->n_classes > 0) {   /* rows of each class, in class order */
      int64_t *cc = rt_xmalloc(sizeof(int64_t) * (size_t)d->n_classes);
      rt_split_class_counts(&d->split[s], d->n_classes, cc);
      json_t *ca = json_array();
      for (int k = 0; k < d->n_classes; k++) json_array_append_new(ca, json_integer(cc[k]));
      json_object_set_new(so, "class_rows", ca);
      free(cc);
    }
    if (res->conf_k > 0) {   /* confusion[true][predicted] */
      json_t *cm = json_array();
      for (int i = 0; i < res->conf_k; i++) {
        json_t *row = json_array();
        for (int j = 0; j < res->conf_k; j++)
          json_array_append_new(row, json_integer(res->confusion[s][i * res->conf_k + j]));
        json_array_append_new(cm, row);
      }
      json_object_set_new(so, "confusion", cm);
    }
    json_object_set_new(splits, split_names[s], so);
  }
  json_object_set_new(o, "splits", splits);
  if (res->cv_folds > 0) {   /* "cv": {"folds", "val": {METRIC: {"mean", "std"}}} */
    json_t *cv = json_object(), *cm = metrics_obj(m->task, &res->cv_mean);
    json_t *cs = metrics_obj(m->task, &res->cv_std), *cval = json_object();
    const char *key;
    json_t *val;
    json_object_foreach(cm, key, val) {
      json_t *pair = json_object();
      json_object_set(pair, "mean", val);
      json_object_set(pair, "std", json_object_get(cs, key));
      json_object_set_new(cval, key, pair);
    }
    json_decref(cm);
    json_decref(cs);
    json_object_set_new(cv, "folds", json_integer(res->cv_folds));
    json_object_set_new(cv, "val", cval);
    json_object_set_new(o, "cv", cv);
  }
  json_object_set_new(o, "best_epoch", json_integer(res->best_epoch));
  json_object_set_new(o, "stopped_epoch",
                      res->stopped_epoch > 0 ? json_integer(res->stopped_epoch) : json_null());
  json_t *hist = json_array();
  json_t *eps = json_array();
  for (int e = 0; e < res->n_epochs; e++) {
    json_t *h = json_object();
    json_object_set_new(h, "epoch", json_integer(e + 1));
    json_object_set_new(h, "lr", num(res->epoch_lr[e]));
    json_object_set_new(h, "train_loss", num(res->train_loss[e]));
    json_object_set_new(h, "val", metrics_obj(m->task, &res->val[e]));
    json_array_append_new(hist, h);
    json_array_append_new(eps, num(res->epoch_s[e]));
  }
  json_object_set_new(o, "history", hist);
  if (res->predict_measured) {   /* one-row latency on the test split (rt_gate.c) */
    json_t *pr = json_object();
    json_object_set_new(pr, "p50_us", num(res->predict_us[0]));
    json_object_set_new(pr, "p90_us", num(res->predict_us[1]));
    json_object_set_new(pr, "p99_us", num(res->predict_us[2]));
    json_object_set_new(o, "predict", pr);
  } else {
    json_object_set_new(o, "predict", json_null());
  }
  json_t *gates = json_array();   /* each gate clause: durations in microseconds */
  for (int i = 0; i < res->n_gate_res; i++) {
    const RtGateResult *r = &res->gate_res[i];
    json_t *g = json_object();
    json_object_set_new(g, "name", json_string(r->gate));
    json_object_set_new(g, "expr", json_string(r->expr));
    json_object_set_new(g, "value", num(r->value));
    json_object_set_new(g, "threshold", num(r->threshold));
    if (r->duration) json_object_set_new(g, "unit", json_string("us"));
    json_object_set_new(g, "passed", r->passed < 0 ? json_string("skipped")
                                                   : json_boolean(r->passed > 0));
    json_array_append_new(gates, g);
  }
  json_object_set_new(o, "gates", gates);
  json_t *tm = json_object();
  json_object_set_new(tm, "compile_ms", num(compile_ms));
  json_object_set_new(tm, "load_s", num(load_s));
  json_object_set_new(tm, "epoch_s", eps);
  json_object_set_new(o, "timing", tm);
  char *s = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(10));
  json_decref(o);
  return s;
}

char *rt_eval_json(const RtModel *m, const RtMetrics *mt) {
  json_t *o = metrics_obj(m->desc.task, mt);
  json_object_set_new(o, "rows", json_integer(mt->n));
  char *s = json_dumps(o, JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(10));
  json_decref(o);
  return s;
}

/* One row per split; empty splits (and undefined values) show '-'. */
void rt_report_print(FILE *f, RtTask task, const RtData *d, const RtTrainResult *res) {
  int nm = table_n[task];
  const char *const *names = rt_task_metrics[task];
  fprintf(f, "%-6s %8s", "split", "rows");
  for (int i = 0; i < nm; i++) fprintf(f, " %10s", names[i]);
  fputc('\n', f);
  for (int s = 0; s < 3; s++) {
    fprintf(f, "%-6s %8lld", split_names[s], (long long)d->split[s].n);
    for (int i = 0; i < nm; i++) {
      double v = rt_metric_get(&res->split[s], names[i]);
      if (isfinite(v)) fprintf(f, " %10.4f", v);
      else fprintf(f, " %10s", "-");
    }
    fputc('\n', f);
  }
  if (res->cv_folds > 0) {   /* mean ± std of each val metric over the folds */
    fprintf(f, "cv val (%d folds):", res->cv_folds);
    for (int i = 0; i < nm; i++)
      fprintf(f, "  %s %.4f ± %.4f", names[i], rt_metric_get(&res->cv_mean, names[i]),
              rt_metric_get(&res->cv_std, names[i]));
    fputc('\n', f);
  }
  fflush(f);
}

/* Writes everything to path.tmp, syncs it, renames it over path: a reader
 * sees the old file or the whole new one, never half of it. */
int rt_write_atomic(const char *path, const void *buf, size_t n) {
  size_t plen = strlen(path);
  char *tmp = malloc(plen + 5);
  if (!tmp) return -1;
  memcpy(tmp, path, plen);
  memcpy(tmp + plen, ".tmp", 5);
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    rt_diag(RT_ERROR, rt_loc_file(path), "cannot write: %s", strerror(errno));
    free(tmp);
    return -1;
  }
  const char *p = buf;
  size_t left = n;
  while (left > 0) {
    ssize_t w = write(fd, p, left);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) {
      rt_diag(RT_ERROR, rt_loc_file(path), "cannot write: %s",
              w < 0 ? strerror(errno) : "short write");
      close(fd);
      unlink(tmp);
      free(tmp);
      return -1;
    }
    p += w;
    left -= (size_t)w;
  }
  if (fsync(fd) != 0 && errno != EINVAL && errno != EROFS) {
    rt_diag(RT_ERROR, rt_loc_file(path), "cannot write: %s", strerror(errno));
    close(fd);
    unlink(tmp);
    free(tmp);
    return -1;
  }
  close(fd);
  if (rename(tmp, path) != 0) {
    rt_diag(RT_ERROR, rt_loc_file(path), "cannot write: %s", strerror(errno));
    unlink(tmp);
    free(tmp);
    return -1;
  }
  free(tmp);
  return 0;
}
