/* runtime_train.c — tests of data preparation and the training loop without
 * the compiler: rt_data_load on the fixtures in tests/data (column roles,
 * classes, seeded splits, train-only statistics, every data error with its
 * location), rt_data_apply, and rt_train / rt_run_train / rt_predict_csv
 * driven by hand-written one-layer kernels standing in for the JIT's.
 * Run from the repository root. */
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runtime/rt.h"

#include "check.h"

static char tmpdir[256];

static char captured[1 << 16];
static int saved_fd = -1;
static FILE *cap_file;

static void capture_begin(void) {
  fflush(stderr);
  cap_file = tmpfile();
  saved_fd = dup(2);
  dup2(fileno(cap_file), 2);
}

static const char *capture_end(void) {
  rt_diag_flush();
  fflush(stderr);
  dup2(saved_fd, 2);
  close(saved_fd);
  rewind(cap_file);
  size_t n = fread(captured, 1, sizeof captured - 1, cap_file);
  captured[n] = 0;
  fclose(cap_file);
  return captured;
}

/* Runs f with stdout going to a file; returns what it printed. */
static char printed[1 << 16];
static FILE *out_file;
static int out_saved;
static void stdout_begin(void) {
  fflush(stdout);
  out_file = tmpfile();
  out_saved = dup(1);
  dup2(fileno(out_file), 1);
}
static const char *stdout_end(void) {
  fflush(stdout);
  dup2(out_saved, 1);
  close(out_saved);
  rewind(out_file);
  size_t n = fread(printed, 1, sizeof printed - 1, out_file);
  printed[n] = 0;
  fclose(out_file);
  return printed;
}

static char *tmp_path(const char *name) {
  static char bufs[8][512];
  static int k;
  char *b = bufs[k++ % 8];
  snprintf(b, 512, "%s/%s", tmpdir, name);
  return b;
}

static char *write_tmp(const char *name, const char *text) {
  char *p = tmp_path(name);
  FILE *f = fopen(p, "wb");
  fputs(text, f);
  fclose(f);
  return p;
}

/* A spec location: "spec.mlx:LINE:3" with a made-up source line. */
static RtLoc spec_loc(int line, const char *text) {
  RtLoc l = {.file = "spec.mlx", .line = line, .col = 3, .text = text};
  return l;
}

/* dataset { source csv(path); feature * = standardize(*); label y ...;
 * split train 70%, val 15%, test 15% seed SEED } plus what each test adds. */
static RtDataSpec base_spec(const char *path, const char *label) {
  RtDataSpec s = {.name = "d", .csv_path = (char *)path,
                  .source_loc = spec_loc(2, "  source csv(...)"), .star = true,
                  .star_xform = RT_XF_STANDARDIZE,
                  .star_loc = spec_loc(3, "  feature * = standardize(*)"),
                  .label = (char *)label, .label_loc = spec_loc(4, "  label ..."),
                  .split = {0.7, 0.15, 0.15}, .split_seed = 1,
                  .split_loc = spec_loc(5, "  split ...")};
  return s;
}

static char *drop_binary[] = {"id", "note"};
static RtLoc drop_locs[2];

static RtDataSpec binary_spec(void) {
  RtDataSpec s = base_spec("tests/data/binary.csv", "y");
  drop_locs[0] = drop_locs[1] = spec_loc(6, "  drop column id, note");
  s.drop = drop_binary;
  s.n_drop = 2;
  s.drop_loc = drop_locs;
  return s;
}

static RtData *load_quiet(RtDataSpec *s, RtTask task, const char **err) {
  capture_begin();
  RtData *d = rt_data_load(s, task);
  *err = capture_end();
  return d;
}

/* ---- data ------------------------------------------------------------------- */

static void test_data_binary(void) {
  RtDataSpec s = binary_spec();
  static char *keys[] = {"N", "Y"};
  static double vals[] = {0, 1};
  s.label_keys = keys, s.label_vals = vals, s.n_label_map = 2;
  const char *err;
  RtData *d = load_quiet(&s, RT_TASK_BINARY, &err);
  CHECK(d, "binary.csv: %s", err);
  if (!d) return;
  CHECK(d->n_feats == 2 && !strcmp(d->feat_names[0], "x1") && !strcmp(d->feat_names[1], "x2"),
        "features %d", d->n_feats);
  CHECK(d->split[0].n == 140 && d->split[1].n == 30 && d->split[2].n == 30, "split %lld %lld %lld",
        (long long)d->split[0].n, (long long)d->split[1].n, (long long)d->split[2].n);
  CHECK(d->n_classes == 2 && !strcmp(d->class_names[0], "N") && !strcmp(d->class_names[1], "Y"),
        "classes");
  CHECK(d->rows_read == 200 && strlen(d->data_hash) == 16, "rows %lld", (long long)d->rows_read);
  /* standardised on train: mean 0, std 1 there */
  for (int f = 0; f < 2; f++) {
    double sum = 0, ss = 0;
    RtSplit *tr = &d->split[0];
    for (int64_t i = 0; i < tr->n; i++) sum += tr->x[i * 2 + f];
    double mean = sum / (double)tr->n;
    for (int64_t i = 0; i < tr->n; i++) ss += pow(tr->x[i * 2 + f] - mean, 2);
    CHECK(fabs(mean) < 1e-5 && fabs(sqrt(ss / (double)tr->n) - 1) < 1e-4, "feature %d: %g %g", f,
          mean, sqrt(ss / (double)tr->n));
    CHECK(d->feats[f].std > 0 && d->feats[f].xform == RT_XF_STANDARDIZE, "stats kept");
  }
  int ones = 0;
  for (int sp = 0; sp < 3; sp++)
    for (int64_t i = 0; i < d->split[sp].n; i++) ones += d->split[sp].y[i] == 1;
  CHECK(ones > 50 && ones < 150, "labels mapped: %d positives", ones);

  /* same seed, same matrices; another seed, another split */
  RtData *d2 = load_quiet(&s, RT_TASK_BINARY, &err);
  CHECK(d2 && !memcmp(d->split[1].x, d2->split[1].x, sizeof(float) * 60), "deterministic");
  s.split_seed = 2;
  RtData *d3 = load_quiet(&s, RT_TASK_BINARY, &err);
  CHECK(d3 && memcmp(d->split[1].x, d3->split[1].x, sizeof(float) * 60), "seed changes split");
  rt_data_free(d2);
  rt_data_free(d3);

  /* frozen preprocessing reads by name and applies train statistics */
  RtDataSpec *fr = rt_data_freeze(&s, d);
  RtSplit a;
  capture_begin();
  int rc = rt_data_apply(fr, "tests/data/binary.csv", RT_TASK_BINARY, d->class_names, 2, true, &a);
  err = capture_end();
  CHECK(rc == 0 && a.n == 200, "apply: %s", err);
  if (rc == 0) {
    CHECK(fabsf(a.x[0] - (float)((2.5764f - fr->feats[0].mean) / fr->feats[0].std)) < 1e-5f,
          "row 0 x1 %g", a.x[0]);
    CHECK(a.y[0] == 1 && a.y[1] == 0, "labels by class name");
    rt_split_free(&a);
  }
  char *p = write_tmp("nox2.csv", "x1,id\n1,2\n");
  capture_begin();
  rc = rt_data_apply(fr, p, RT_TASK_BINARY, d->class_names, 2, false, &a);
  err = capture_end();
  CHECK(rc != 0 && strstr(err, "error: missing column 'x2': the model's feature 'x2' reads it"),
        "%s", err);
  p = write_tmp("extra.csv", "zz,x2,x1\nq,1,2\n");
  capture_begin();
  rc = rt_data_apply(fr, p, RT_TASK_BINARY, d->class_names, 2, false, &a);
  err = capture_end();
  CHECK(rc == 0 && a.n == 1 && !a.y, "extra columns ignored: %s", err);
  rt_split_free(&a);
  p = write_tmp("bad.csv", "x1,x2\n1,oops\n");
  capture_begin();
  rc = rt_data_apply(fr, p, RT_TASK_BINARY, d->class_names, 2, false, &a);
  err = capture_end();
  CHECK(rc != 0 && strstr(err, "bad.csv:2:3: error: expected a number in column 'x2', found 'oops'"),
        "%s", err);
  rt_data_spec_free(fr);
  rt_data_free(d);
}

static void test_data_classes(void) {
  const char *err;
  /* no map: the distinct values, sorted by bytes */
  RtDataSpec s = binary_spec();
  RtData *d = load_quiet(&s, RT_TASK_BINARY, &err);
  CHECK(d && d->n_classes == 2 && !strcmp(d->class_names[1], "Y"), "classes from data: %s", err);
  rt_data_free(d);
  /* numeric labels sort numerically */
  char *p = write_tmp("num.csv", "a,y\n1,10\n2,2\n3,1\n4,2\n5,10\n6,1\n");
  s = base_spec(p, "y");
  d = load_quiet(&s, RT_TASK_MULTICLASS, &err);
  CHECK(d && d->n_classes == 3 && !strcmp(d->class_names[0], "1") &&
            !strcmp(d->class_names[1], "2") && !strcmp(d->class_names[2], "10"),
        "numeric sort: %s", err);
  rt_data_free(d);
  s = base_spec("tests/data/multiclass.csv", "species");
  d = load_quiet(&s, RT_TASK_MULTICLASS, &err);
  CHECK(d && d->n_classes == 3 && !strcmp(d->class_names[2], "virginica"), "iris-like: %s", err);
  rt_data_free(d);
  d = load_quiet(&s, RT_TASK_BINARY, &err);
  CHECK(!d && strstr(err, "spec.mlx:4:3: error: binary classification needs exactly 2 classes, "
                          "but label column 'species' has 3"),
        "%s", err);
  /* regression label must be numbers */
  s = binary_spec();
  d = load_quiet(&s, RT_TASK_REGRESSION, &err);
  CHECK(!d && strstr(err, "binary.csv:2:32: error: expected a number in label column 'y', found 'Y'") &&
            strstr(err, "spec.mlx:4:3: note: the label is declared here"),
        "%s", err);
  /* a value outside the map */
  static char *keys[] = {"N", "Yes"};
  static double vals[] = {0, 1};
  s.label_keys = keys, s.label_vals = vals, s.n_label_map = 2;
  d = load_quiet(&s, RT_TASK_BINARY, &err);
  CHECK(!d && strstr(err, "binary.csv:2:32: error: label value 'Y' is not in the map of 'y'"),
        "%s", err);
}

static void test_data_errors(void) {
  const char *err;
  /* a text column left to `feature *` */
  RtDataSpec s = binary_spec();
  s.n_drop = 1;
  RtData *d = load_quiet(&s, RT_TASK_BINARY, &err);
  CHECK(!d && strstr(err, "binary.csv:2:20: error: column 'note' is not numeric: found 'row 0, ok'") &&
            strstr(err, "spec.mlx:3:3: note: 'feature *' takes every column not dropped or used"),
        "%s", err);
  /* an explicit feature of a missing column */
  static RtFeature f[1];
  f[0] = (RtFeature){.name = "x9", .column = "x9", .xform = RT_XF_STANDARDIZE,
                     .loc = spec_loc(7, "  feature x9 = standardize(x9)")};
  s = binary_spec();
  s.feats = f, s.n_feats = 1;
  d = load_quiet(&s, RT_TASK_BINARY, &err);
  CHECK(!d && strstr(err, "spec.mlx:7:3: error: column 'x9' is not in the header of "
                          "'tests/data/binary.csv'"),
        "%s", err);
  /* an explicit feature of a text column */
  f[0].name = f[0].column = "note";
  s.n_drop = 1;
  s.star = false;
  d = load_quiet(&s, RT_TASK_BINARY, &err);
  CHECK(!d && strstr(err, "binary.csv:2:20: error: expected a number in column 'note', found 'row 0, ok'") &&
            strstr(err, "spec.mlx:7:3: note: column 'note' is read as a number here"),
        "%s", err);
  /* a missing cell, with and without an `na` string */
  char *p = write_tmp("miss.csv", "a,b,y\n1,2,0\n3,,1\n4,5,1\n");
  s = base_spec(p, "y");
  d = load_quiet(&s, RT_TASK_BINARY, &err);
  CHECK(!d && strstr(err, "miss.csv:3:3: error: missing value in column 'b'") &&
            strstr(err, "note: column 'b' is used here, and no `missing` rule covers it"),
        "%s", err);
  p = write_tmp("na.csv", "a,b,y\n1,2,0\n3,NA,1\n4,5,1\n");
  static char *na[] = {"NA"};
  s = base_spec(p, "y");
  s.na = na, s.n_na = 1;
  d = load_quiet(&s, RT_TASK_BINARY, &err);
  CHECK(!d && strstr(err, "na.csv:3:3: error: missing value in column 'b'"), "%s", err);
  p = write_tmp("nolabel.csv", "a,y\n1,0\n2,\n");
  s = base_spec(p, "y");
  d = load_quiet(&s, RT_TASK_BINARY, &err);
  CHECK(!d && strstr(err, "nolabel.csv:3:3: error: missing value in label column 'y'"), "%s", err);
  /* a missing label column, header only, CSV errors pass through */
  s = base_spec("tests/data/binary.csv", "target");
  d = load_quiet(&s, RT_TASK_BINARY, &err);
  CHECK(!d && strstr(err, "spec.mlx:4:3: error: label column 'target' is not in the header"),
        "%s", err);
  p = write_tmp("hdr.csv", "a,y\n");
  s = base_spec(p, "y");
  d = load_quiet(&s, RT_TASK_BINARY, &err);
  CHECK(!d && strstr(err, "hdr.csv: error: no data rows: the file has only a header"), "%s", err);
  p = write_tmp("ragged.csv", "a,y\n1,0\n2\n");
  s = base_spec(p, "y");
  d = load_quiet(&s, RT_TASK_BINARY, &err);
  CHECK(!d && strstr(err, "ragged.csv:3:2: error: expected 2 fields, found 1"), "%s", err);
  s = base_spec(tmp_path("absent.csv"), "y");
  d = load_quiet(&s, RT_TASK_BINARY, &err);
  CHECK(!d && strstr(err, "absent.csv: error: cannot open data: No such file or directory"), "%s",
        err);
  p = write_tmp("nofeat.csv", "id,y\n1,0\n2,1\n");
  static char *drop_id[] = {"id"};
  s = base_spec(p, "y");
  s.drop = drop_id, s.n_drop = 1;
  d = load_quiet(&s, RT_TASK_BINARY, &err);
  CHECK(!d && strstr(err, "spec.mlx:3:3: error: the dataset 'd' has no features"), "%s", err);
  /* a constant column keeps std 1 */
  p = write_tmp("const.csv", "a,c,y\n1,5,0\n2,5,1\n3,5,0\n4,5,1\n");
  s = base_spec(p, "y");
  s.split[0] = 1, s.split[1] = 0, s.split[2] = 0;
  d = load_quiet(&s, RT_TASK_BINARY, &err);
  CHECK(d && d->feats[1].std == 1 && d->split[0].x[1] == 0 && d->split[0].n == 4, "constant: %s",
        err);
  rt_data_free(d);
}

/* ---- stand-in kernels ------------------------------------------------------- */

/* One dense layer [in x out] + bias, with the activation and loss of g_act:
 * sigmoid+bce, softmax+ce, identity+mse. Gradient of the batch mean loss,
 * plain SGD. Enough to check the loop, not the compiler. */
static int g_in, g_out;
static RtAct g_act;

static void forward(const float *params, const float *x, float *z) {
  const float *w = params, *b = params + g_in * g_out;
  for (int j = 0; j < g_out; j++) {
    double s = b[j];
    for (int i = 0; i < g_in; i++) s += x[i] * w[i * g_out + j];
    z[j] = (float)s;
  }
  if (g_act == RT_ACT_SIGMOID) z[0] = 1 / (1 + expf(-z[0]));
  if (g_act == RT_ACT_SOFTMAX) {
    float m = z[0], sum = 0;
    for (int j = 1; j < g_out; j++) m = z[j] > m ? z[j] : m;
    for (int j = 0; j < g_out; j++) sum += z[j] = expf(z[j] - m);
    for (int j = 0; j < g_out; j++) z[j] /= sum;
  }
}

static float step(float *params, float *state, float *work, const float *x, const float *y,
                  int64_t n, const MlxHyper *h) {
  (void)state;
  float *grad = work;   /* n_params */
  int np = g_in * g_out + g_out;
  memset(grad, 0, sizeof(float) * (size_t)np);
  double loss = 0;
  float z[16];
  for (int64_t r = 0; r < n; r++) {
    const float *xr = x + r * g_in;
    forward(params, xr, z);
    for (int j = 0; j < g_out; j++) {
      double t = g_act == RT_ACT_SOFTMAX ? (j == (int)y[r]) : y[r];
      double dz = z[j] - t;
      if (g_act == RT_ACT_IDENTITY) loss += dz * dz, dz *= 2;
      else if (g_act == RT_ACT_SIGMOID) loss -= t ? log(z[j] + 1e-12) : log(1 - z[j] + 1e-12);
      else if (t) loss -= log(z[j] + 1e-12);
      for (int i = 0; i < g_in; i++) grad[i * g_out + j] += (float)(dz * xr[i]);
      grad[g_in * g_out + j] += (float)dz;
    }
  }
  for (int i = 0; i < np; i++) params[i] -= h->lr * grad[i] / (float)n;
  return (float)loss;
}

static void predict(const float *params, float *work, const float *x, int64_t n, float *out) {
  (void)work;
  for (int64_t r = 0; r < n; r++) forward(params, x + r * g_in, out + r * g_out);
}

static MlxKernels kernels_for(const RtModelDesc *m, int batch) {
  g_in = m->n_in;
  g_out = m->layers[0].units;
  g_act = m->layers[0].act;
  int64_t np = rt_param_layout(m, NULL, NULL);
  MlxKernels k = {.step = step, .predict = predict, .n_params = np, .n_state = 0,
                  .n_work = np, .batch = batch};
  return k;
}

/* ---- training ---------------------------------------------------------------- */

static void test_train_binary(void) {
  RtDataSpec s = binary_spec();
  const char *err;
  RtData *d = load_quiet(&s, RT_TASK_BINARY, &err);
  CHECK(d, "%s", err);
  if (!d) return;
  RtModelDesc m = {.name = "logit", .n_in = d->n_feats, .n_layers = 1,
                   .layers = {{1, RT_ACT_SIGMOID}}, .loss = RT_LOSS_BCE, .task = RT_TASK_BINARY};
  RtTrainCfg cfg = {.name = "logit_v1", .opt = RT_OPT_SGD, .lr = 0.5f, .epochs = 30, .batch = 16,
                    .seed = 7, .beta1 = 0.9f, .beta2 = 0.999f};
  MlxKernels k = kernels_for(&m, 16);
  float *p1 = calloc((size_t)k.n_params, sizeof(float));
  float *p2 = calloc((size_t)k.n_params, sizeof(float));
  RtTrainResult *r1 = calloc(1, sizeof *r1), *r2 = calloc(1, sizeof *r2);
  stdout_begin();
  int rc = rt_train(&cfg, &m, &k, d, p1, r1);
  const char *out = stdout_end();
  CHECK(rc == 0, "train");
  CHECK(strstr(out, "epoch 1/30  loss ") && strstr(out, "epoch 30/30  loss ") &&
            strstr(out, "val acc ") && !strchr(out, '\r'),
        "plain progress lines:\n%s", out);
  CHECK(r1->n_epochs == 30 && r1->train_loss[29] < r1->train_loss[0], "loss %g -> %g",
        r1->train_loss[0], r1->train_loss[29]);
  CHECK(r1->split[1].accuracy > 0.85 && r1->split[2].accuracy > 0.8, "val acc %g test acc %g",
        r1->split[1].accuracy, r1->split[2].accuracy);
  CHECK(r1->best_epoch >= 1 && r1->best_epoch <= 30 && r1->val[0].n == 30, "best %d",
        r1->best_epoch);
  stdout_begin();
  rt_train(&cfg, &m, &k, d, p2, r2);
  stdout_end();
  CHECK(!memcmp(p1, p2, sizeof(float) * (size_t)k.n_params) &&
            r1->train_loss[29] == r2->train_loss[29],
        "same seed, same weights");
  cfg.seed = 8;
  stdout_begin();
  rt_train(&cfg, &m, &k, d, p2, r2);
  stdout_end();
  CHECK(memcmp(p1, p2, sizeof(float) * (size_t)k.n_params), "another seed, other weights");
  cfg.seed = 7;

  /* the whole run: table, metrics JSON, model file, then predict from it */
  RtRunInfo info = {.spec_hash = "00000000deadbeef", .compile_ms = 12.5, .load_s = 0.01,
                    .out_dir = tmpdir};
  capture_begin();
  stdout_begin();
  rc = rt_run_train(&cfg, &m, &s, &k, d, &info);
  out = stdout_end();
  err = capture_end();
  CHECK(rc == 0, "run: %s", err);
  CHECK(strstr(out, "split      rows       loss   accuracy  precision     recall         f1        auc\n"
                       "train       140 ") &&
            strstr(out, "wrote "),
        "table:\n%s", out);
  json_error_t je;
  json_t *j = json_load_file(tmp_path("logit_v1.metrics.json"), 0, &je);
  CHECK(j, "metrics json: %s", je.text);
  if (j) {
    CHECK(!strcmp(json_string_value(json_object_get(j, "task")), "binary") &&
              json_array_size(json_object_get(j, "classes")) == 2 &&
              json_integer_value(json_object_get(j, "seed")) == 7 &&
              !strcmp(json_string_value(json_object_get(j, "device")), "cpu") &&
              json_integer_value(json_object_get(json_object_get(j, "rows"), "read")) == 200 &&
              json_is_real(json_object_get(
                  json_object_get(json_object_get(j, "splits"), "test"), "accuracy")) &&
              json_array_size(json_object_get(j, "history")) == 30 &&
              json_array_size(json_object_get(json_object_get(j, "timing"), "epoch_s")) == 30 &&
              !strcmp(json_string_value(json_object_get(j, "data_hash")), d->data_hash),
          "metrics json shape");
    json_decref(j);
  }
  capture_begin();
  RtModel *mm = rt_model_load(tmp_path("logit_v1.mlxm"));
  err = capture_end();
  CHECK(mm, "model: %s", err);
  if (mm) {
    CHECK(!memcmp(mm->params, p1, sizeof(float) * (size_t)k.n_params), "saved weights");
    CHECK(mm->data->n_feats == 2 && mm->data->feats[0].std == d->feats[0].std, "frozen stats");
    stdout_begin();
    rc = rt_predict_csv(mm, &k, "tests/data/binary.csv", stdout);
    out = stdout_end();
    int lines = 0;
    for (const char *q = out; *q; q++) lines += *q == '\n';
    CHECK(rc == 0 && lines == 201 && !strncmp(out, "prediction,p_Y\nY,0.", 17),
          "predict %d lines:\n%.200s", lines, out);
    rt_model_free(mm);
  }
  /* an output directory that cannot be written: exit 6 */
  info.out_dir = "/proc/nonexistent-dir";
  capture_begin();
  stdout_begin();
  rc = rt_run_train(&cfg, &m, &s, &k, d, &info);
  stdout_end();
  err = capture_end();
  CHECK(rc == 6 && strstr(err, "error: cannot write: "), "rc %d: %s", rc, err);
  free(p1);
  free(p2);
  free(r1);
  free(r2);
  rt_data_free(d);
}

static void test_train_other_tasks(void) {
  const char *err;
  RtDataSpec s = base_spec("tests/data/regression.csv", "target");
  RtData *d = load_quiet(&s, RT_TASK_REGRESSION, &err);
  CHECK(d && d->n_feats == 3 && d->n_classes == 0, "regression data: %s", err);
  if (d) {
    RtModelDesc m = {.name = "lin", .n_in = 3, .n_layers = 1, .layers = {{1, RT_ACT_IDENTITY}},
                     .loss = RT_LOSS_MSE, .task = RT_TASK_REGRESSION};
    RtTrainCfg cfg = {.name = "lin", .lr = 0.05f, .epochs = 40, .batch = 8, .seed = 1};
    MlxKernels k = kernels_for(&m, 8);
    float *p = calloc((size_t)k.n_params, sizeof(float));
    RtTrainResult *r = calloc(1, sizeof *r);
    stdout_begin();
    rt_train(&cfg, &m, &k, d, p, r);
    const char *out = stdout_end();
    CHECK(r->split[2].mse < 0.05 && r->split[2].mae < 0.2 && isnan(r->split[2].accuracy) &&
              strstr(out, "val mae "),
          "regression test mse %g", r->split[2].mse);
    free(p);
    free(r);
    rt_data_free(d);
  }
  s = base_spec("tests/data/multiclass.csv", "species");
  d = load_quiet(&s, RT_TASK_MULTICLASS, &err);
  if (d) {
    RtModelDesc m = {.name = "soft", .n_in = 2, .n_layers = 1, .layers = {{3, RT_ACT_SOFTMAX}},
                     .loss = RT_LOSS_CE, .task = RT_TASK_MULTICLASS};
    RtTrainCfg cfg = {.name = "soft", .lr = 0.5f, .epochs = 30, .batch = 10, .seed = 1};
    MlxKernels k = kernels_for(&m, 10);
    RtRunInfo info = {.spec_hash = "1", .out_dir = tmpdir};
    stdout_begin();
    int rc = rt_run_train(&cfg, &m, &s, &k, d, &info);
    stdout_end();
    CHECK(rc == 0, "multiclass run");
    capture_begin();
    RtModel *mm = rt_model_load(tmp_path("soft.mlxm"));
    err = capture_end();
    CHECK(mm && mm->n_classes == 3, "%s", err);
    if (mm) {
      RtSplit a;
      capture_begin();
      rc = rt_data_apply(mm->data, "tests/data/multiclass.csv", RT_TASK_MULTICLASS,
                         mm->class_names, 3, true, &a);
      err = capture_end();
      CHECK(rc == 0 && a.n == 150, "%s", err);
      if (rc == 0) {
        float *pred = malloc(sizeof(float) * 450);
        k.predict(mm->params, NULL, a.x, a.n, pred);
        RtMetrics mt = rt_metrics(RT_TASK_MULTICLASS, 3, pred, a.y, a.n);
        CHECK(mt.accuracy > 0.9, "multiclass accuracy %g", mt.accuracy);
        free(pred);
        rt_split_free(&a);
      }
      stdout_begin();
      rt_predict_csv(mm, &k, "tests/data/multiclass.csv", stdout);
      const char *out = stdout_end();
      CHECK(!strncmp(out, "prediction,p_setosa,p_versicolor,p_virginica\nsetosa,", 52), "%.120s",
            out);
      rt_model_free(mm);
    }
    rt_data_free(d);
  }
}

int main(void) {
  snprintf(tmpdir, sizeof tmpdir, "/tmp/runtime_train.XXXXXX");
  if (!mkdtemp(tmpdir)) {
    perror("mkdtemp");
    return 2;
  }
  test_data_binary();
  test_data_classes();
  test_data_errors();
  test_train_binary();
  test_train_other_tasks();
  char cmd[300];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
  if (system(cmd)) {
  }
  printf("runtime_train: %d checks, %d failed\n", checks, failures);
  return failures != 0;
}
