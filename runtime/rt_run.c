/* rt_run.c — the runtime's two whole jobs as main.c calls them: `mlxc run`
 * after the kernels exist (train → table → metrics JSON → model file) and
 * `mlxc predict` after a model is loaded and re-compiled (CSV in, CSV out). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "rt.h"

/* DIR/NAME.EXT, malloc'd. */
static char *out_path(const char *dir, const char *name, const char *ext) {
  size_t n = strlen(dir) + strlen(name) + strlen(ext) + 3;
  char *p = malloc(n);
  if (p) snprintf(p, n, "%s/%s%s", dir && *dir ? dir : ".", name, ext);
  return p;
}

int rt_run_train(const RtTrainCfg *cfg, const RtModelDesc *m, const RtDataSpec *spec,
                 const MlxKernels *k, RtData *d, const RtRunInfo *info) {
  int code = 0;
  const char *name = cfg->name ? cfg->name : "model";
  const char *dir = info && info->out_dir ? info->out_dir : "out";
  float *params = calloc((size_t)(k->n_params > 0 ? k->n_params : 1), sizeof(float));
  RtTrainResult *res = calloc(1, sizeof *res);
  char *json = NULL, *jpath = out_path(dir, name, ".metrics.json");
  char *mpath = out_path(dir, name, ".mlxm");
  RtDataSpec *frozen = NULL;
  RtModel *model = NULL;
  if (!params || !res || !jpath || !mpath) {
    fprintf(stderr, "mlxc: error: out of memory\n");
    code = 5;
    goto done;
  }
  if (rt_gate_precheck(cfg, info)) {   /* a gate's missing baseline: before training */
    code = 4;
    goto done;
  }
  bool cw_err;   /* a class_weights class the data lacks is a spec error */
  free(rt_class_weights(cfg, d, &cw_err));
  if (cw_err) {
    code = 1;
    goto done;
  }
  /* the inputs again through the compiled transforms (xform_emit.c), which
   * replace the interpreter's: train, predict and eval run the same code */
  if (rt_data_xform(d, k->xform)) {
    code = 4;
    goto done;
  }
  /* `cv N`: the folds first, then the final model on train+val (rt_split.c) */
  RtTrainResult *cvr = spec && spec->cv_folds > 0 ? rt_xmalloc(sizeof *cvr) : NULL;
  if (cvr && rt_cv(cfg, m, k, d, spec, cvr)) {
    free(cvr);
    code = 4;
    goto done;
  }
  if (cvr) printf("final model: train+val, %lld rows\n", (long long)d->split[0].n);
  if (rt_train(cfg, m, k, d, params, res)) {
    free(cvr);
    code = 5;
    goto done;
  }
  if (cvr) {
    res->cv_folds = cvr->cv_folds;
    res->cv_mean = cvr->cv_mean;
    res->cv_std = cvr->cv_std;
    free(cvr);
  }
  rt_report_print(stdout, m->task, d, res);
  /* latency and gates (rt_gate.c): a failed gate still writes both files, then exits 3 */
  int gate_code = rt_gate_check(cfg, m, spec, k, params, d, res, info);
  if (gate_code == 4) {
    code = 4;
    goto done;
  }
  if (info && info->html) rt_html_add(info->html, cfg, m, k, params, d, res, info);   /* --report */
  json = rt_report_json(cfg, m, d, res, info ? info->spec_hash : NULL,
                        info ? info->compile_ms : 0, info ? info->load_s : d->load_s);
  if (!json) {
    code = 5;
    goto done;
  }
  size_t jn = strlen(json);
  /* the JSON file ends with a newline like any text file */
  char *jtext = malloc(jn + 2);
  if (!jtext) {
    code = 5;
    goto done;
  }
  memcpy(jtext, json, jn);
  jtext[jn] = '\n';
  int wr = rt_write_atomic(jpath, jtext, jn + 1);
  free(jtext);
  if (wr) {
    code = 6;
    goto done;
  }
  frozen = rt_data_freeze(spec, d);
  model = rt_model_new(m, frozen, d->n_classes, d->class_names, params, k->n_params,
                       info ? info->spec_hash : NULL, json);
  if (!model) {
    code = 5;
    goto done;
  }
  if (rt_model_save(mpath, model)) {
    code = 6;
    goto done;
  }
  printf("wrote %s and %s\n", mpath, jpath);
  fflush(stdout);
  code = gate_code;
done:
  rt_diag_flush();   /* pending diagnostics point at jpath/mpath */
  rt_model_free(model);
  rt_data_spec_free(frozen);
  free(json);
  free(jpath);
  free(mpath);
  if (res) rt_gate_results_free(res);
  free(res);
  free(params);
  return code;
}

/* A CSV field, quoted when it holds a delimiter, quote or line break. */
static void csv_put(FILE *f, const char *s) {
  if (!strpbrk(s, ",\"\r\n")) {
    fputs(s, f);
    return;
  }
  fputc('"', f);
  for (; *s; s++) {
    if (*s == '"') fputc('"', f);
    fputc(*s, f);
  }
  fputc('"', f);
}

/* Reads csv through m's frozen preprocessing (with the label for eval) and
 * runs k->predict over every row: *pred gets n x units of the last layer
 * (malloc'd). Returns 0, or -1 after reporting. */
static int predict_file(const RtModel *m, const MlxKernels *k, const char *csv,
                        bool with_label, RtSplit *s, float **pred) {
  if (rt_data_apply_xf(m->data, csv, m->desc.task, m->class_names, m->n_classes, with_label,
                       k->xform, s))
    return -1;
  if (k->n_params != m->n_params) {
    rt_diag(RT_ERROR, rt_loc_file(m->path ? m->path : "model"),
            "internal error: kernels expect %lld parameters, the model has %lld",
            (long long)k->n_params, (long long)m->n_params);
    rt_split_free(s);
    return -1;
  }
  int n_out = m->desc.layers[m->desc.n_layers - 1].units;
  *pred = rt_xmalloc(sizeof(float) * (size_t)(s->n * n_out + 1));
  float *work = rt_xmalloc(sizeof(float) * (size_t)(k->n_work > 0 ? k->n_work : 1));
  if (s->n > 0) k->predict(m->params, work, s->x, s->n, *pred);
  free(work);
  return 0;
}

void rt_float_text(float f, char out[32]) {
  if (!isfinite(f)) {
    strcpy(out, "null");
    return;
  }
  for (int p = 6; p <= 9; p++) {
    snprintf(out, 32, "%.*g", p, (double)f);
    if (strtof(out, NULL) == f) break;
  }
}

/* A string as a JSON string literal, malloc'd. */
static char *json_quote(const char *s) {
  json_t *j = json_string(s);
  char *q = j ? json_dumps(j, JSON_ENCODE_ANY) : NULL;
  json_decref(j);
  return q ? q : rt_xstrdup("\"\"");
}

/* One JSON object a line, as /predict answers each row (rt_serve_req.c). */
static void predict_jsonl(const RtModel *m, const float *pred, int64_t n, int n_out, FILE *out) {
  RtTask task = m->desc.task;
  char **q = rt_xmalloc(sizeof(char *) * (size_t)(m->n_classes + 1));
  for (int c = 0; c < m->n_classes; c++) q[c] = json_quote(m->class_names[c]);
  char t[32];
  for (int64_t i = 0; i < n; i++) {
    const float *p = pred + i * n_out;
    if (task == RT_TASK_REGRESSION) {
      rt_float_text(p[0], t);
      fprintf(out, "{\"value\":%s}\n", t);
      continue;
    }
    int best = 0;
    if (task == RT_TASK_BINARY) best = p[0] >= 0.5f;
    else
      for (int c = 1; c < n_out; c++)
        if (p[c] > p[best]) best = c;
    fprintf(out, "{\"class\":%s,\"probabilities\":{", q[best]);
    for (int c = 0; c < m->n_classes; c++) {
      rt_float_text(task == RT_TASK_BINARY ? (c == 1 ? p[0] : 1.0f - p[0]) : p[c], t);
      fprintf(out, "%s%s:%s", c ? "," : "", q[c], t);
    }
    fputs("}}\n", out);
  }
  for (int c = 0; c < m->n_classes; c++) free(q[c]);
  free(q);
}

int rt_predict_csv(const RtModel *m, const MlxKernels *k, const char *csv, FILE *out) {
  return rt_predict_out(m, k, csv, out, false);
}

/* CSV: the header names the prediction and one probability column per class
 * (binary: only the positive class, index 1). Values print with 7
 * significant digits, about what a float holds. */
int rt_predict_out(const RtModel *m, const MlxKernels *k, const char *csv, FILE *out, bool json) {
  RtSplit s;
  float *pred;
  if (predict_file(m, k, csv, false, &s, &pred)) return -1;
  int n_out = m->desc.layers[m->desc.n_layers - 1].units;
  RtTask task = m->desc.task;
  if (json) {
    predict_jsonl(m, pred, s.n, n_out, out);
    fflush(out);
    free(pred);
    rt_split_free(&s);
    return 0;
  }
  fputs("prediction", out);
  int first = task == RT_TASK_BINARY ? 1 : 0;
  for (int c = first; task != RT_TASK_REGRESSION && c < m->n_classes; c++) {
    size_t n = strlen(m->class_names[c]) + 3;
    char *h = rt_xmalloc(n);
    snprintf(h, n, "p_%s", m->class_names[c]);
    fputc(',', out);
    csv_put(out, h);
    free(h);
  }
  fputc('\n', out);
  for (int64_t i = 0; i < s.n; i++) {
    const float *p = pred + i * n_out;
    if (task == RT_TASK_REGRESSION) {
      fprintf(out, "%.7g\n", p[0]);
    } else if (task == RT_TASK_BINARY) {
      csv_put(out, m->class_names[p[0] >= 0.5f]);
      fprintf(out, ",%.7g\n", p[0]);
    } else {
      int best = 0;
      for (int c = 1; c < n_out; c++)
        if (p[c] > p[best]) best = c;
      csv_put(out, m->class_names[best]);
      for (int c = 0; c < n_out; c++) fprintf(out, ",%.7g", p[c]);
      fputc('\n', out);
    }
  }
  fflush(out);
  free(pred);
  rt_split_free(&s);
  return 0;
}

int rt_eval_csv(const RtModel *m, const MlxKernels *k, const char *csv, RtMetrics *out) {
  RtSplit s;
  float *pred;
  if (predict_file(m, k, csv, true, &s, &pred)) return -1;
  *out = rt_metrics(m->desc.task, m->n_classes, pred, s.y, s.n);
  if (m->desc.loss == RT_LOSS_MAE) out->loss = out->mae;
  free(pred);
  rt_split_free(&s);
  return 0;
}
