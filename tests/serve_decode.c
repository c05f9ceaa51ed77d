/* serve_decode.c — `mlxc serve`'s request decoder (rt_serve_req.c) against
 * `mlxc predict`'s path (rt_data_apply_xf, then the predict kernel), with no
 * socket: for each spec the model goes through a .mlxm and back, every row
 * of a CSV is sent as one JSON array (numbers as numbers, missing cells as
 * null, categories as strings), and each output must have the same bits as
 * predict's, with the compiled transforms and with the interpreter alike;
 * the first row alone as an object too. Then every prefix of the body and
 * bodies with bytes changed must be answered 200 or 400, never crash (the
 * sanitizer build runs this too). Run from the repository root. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "jit_util.h"

typedef struct Case {
  const char *spec;      /* the spec; its first train block */
  const char *csv;       /* rows to predict */
} Case;

static const Case cases[] = {
    {"tests/xform/messy.mlx", "tests/xform/new.csv"},
    {"tests/xform/ops.mlx", "tests/xform/values.csv"},
    {"tests/xform/values.mlx", "tests/xform/values.csv"},
    {"examples/credit.mlx", "examples/data/credit.csv"},
    {"examples/housing.mlx", "examples/data/housing.csv"},
    {"examples/sensors.mlx", "examples/data/sensors.csv"},
};

/* A growing string. */
typedef struct Str {
  char *p;
  size_t len, cap;
} Str;

static void sput(Str *s, const char *t, size_t n) {
  if (s->len + n + 1 > s->cap) {
    s->cap = (s->cap + n + 1) * 2;
    s->p = realloc(s->p, s->cap);
  }
  memcpy(s->p + s->len, t, n);
  s->len += n;
  s->p[s->len] = 0;
}
static void sputs(Str *s, const char *t) { sput(s, t, strlen(t)); }

static void sput_json_str(Str *s, const char *t, size_t n) {
  sputs(s, "\"");
  for (size_t i = 0; i < n; i++) {
    char e[8];
    unsigned char ch = (unsigned char)t[i];
    if (ch == '"' || ch == '\\') snprintf(e, sizeof e, "\\%c", ch);
    else if (ch < 0x20) snprintf(e, sizeof e, "\\u%04x", ch);
    else e[0] = (char)ch, e[1] = 0;
    sputs(s, e);
  }
  sputs(s, "\"");
}

/* Is column name read by a onehot input of spec? */
static bool is_cat(const RtDataSpec *spec, const char *name) {
  for (int i = 0; i < spec->n_feats; i++)
    if (spec->feats[i].onehot != RT_OH_NONE && !strcmp(spec->feats[i].column, name)) return true;
  return false;
}

/* csv's rows as a JSON array of objects; *first gets the first row alone. */
static char *csv_json(const RtDataSpec *spec, const char *csv, char **first) {
  RtCsvOpts o = {spec->csv_delim, spec->csv_quote, spec->csv_no_header, false};
  RtCsv *c = rt_csv_open_opts(csv, &o);
  if (!c) return NULL;
  Str s = {0}, one = {0};
  sputs(&s, "[");
  int64_t row = 0;
  while (rt_csv_next(c) > 0) {
    size_t start = s.len;
    sputs(&s, row ? ",{" : "{");
    for (int j = 0; j < rt_csv_ncols(c); j++) {
      size_t len;
      const char *v = rt_csv_field(c, j, &len);
      const char *name = rt_csv_name(c, j);
      if (j) sputs(&s, ",");
      sput_json_str(&s, name, strlen(name));
      sputs(&s, ":");
      float f;
      char num[40];
      if (rt_xform_is_missing(spec, v, len)) {
        sputs(&s, "null");
      } else if (!is_cat(spec, name) && rt_parse_float(v, len, &f)) {
        snprintf(num, sizeof num, "%.17g", strtod(v, NULL));   /* the CSV's own double */
        sputs(&s, num);
      } else if (!is_cat(spec, name) && rt_parse_bool(v, len, &f)) {
        sputs(&s, f != 0 ? "true" : "false");
      } else {
        sput_json_str(&s, v, len);
      }
    }
    sputs(&s, "}");
    if (row == 0) sput(&one, s.p + start, s.len - start);
    row++;
  }
  sputs(&s, "]");
  rt_csv_close(c);
  *first = one.p;
  return s.p;
}

static int64_t total, equal;   /* outputs compared, bit-identical */

/* The served outputs of body against ref (n x n_out). */
static void compare(const char *what, const RtServeModel *sm, RtServeWork *w, const char *body,
                    const float *ref, int64_t n, int n_out) {
  RtServeReply r;
  rt_serve_predict(sm, w, body, strlen(body), "t", &r);
  CHECK(r.status == 200, "%s: status %d: %.300s", what, r.status, r.body);
  if (r.status != 200) return;
  CHECK(r.n_rows == n && r.n_out == n_out, "%s: %lld rows of %d, expected %lld of %d", what,
        (long long)r.n_rows, r.n_out, (long long)n, n_out);
  if (r.n_rows != n) return;
  int64_t k = 0;
  for (int64_t i = 0; i < n * n_out; i++) k += !memcmp(&r.pred[i], &ref[i], sizeof(float));
  total += n * n_out, equal += k;
  CHECK(k == n * n_out, "%s: %lld of %lld outputs bit-identical", what, (long long)k,
        (long long)(n * n_out));
}

/* Broken bodies: every prefix (a stride of them for long ones) and a
 * changed byte at a stride of places; each must get 200 or 400. */
static void robustness(const char *what, const RtServeModel *sm, RtServeWork *w,
                       const char *body) {
  size_t n = strlen(body);
  size_t step = n / 300 + 1;
  char *b = malloc(n + 1);
  int bad = 0;
  RtServeReply r;
  for (size_t cut = 0; cut < n; cut += step) {
    rt_serve_predict(sm, w, body, cut, "t", &r);
    bad += r.status != 200 && r.status != 400;
  }
  static const char flips[] = "\"{}[],:0-.e\\nutfx\x01\xff ";
  for (size_t at = 0; at < n; at += step) {
    memcpy(b, body, n + 1);
    b[at] = flips[at % (sizeof flips - 1)];
    rt_serve_predict(sm, w, b, n, "t", &r);
    bad += r.status != 200 && r.status != 400;
    CHECK(r.body && r.len == strlen(r.body), "%s: reply length", what);
  }
  CHECK(bad == 0, "%s: %d broken bodies got neither 200 nor 400", what, bad);
  free(b);
}

static void run_case(const Case *cs, const char *dir) {
  Arena a = {0};
  Program *p = check_spec(&a, cs->spec);
  CHECK(p && p->ntrains >= 1, "%s does not check", cs->spec);
  if (!p || p->ntrains < 1) return;
  SemaTrain *t = &p->trains[0];
  RtData *d = rt_data_load(t->data, t->model->task);
  rt_diag_flush();
  CHECK(d != NULL, "%s: the data does not load", cs->spec);
  if (!d) return;
  RtModel *m = random_model(t, d, 11);
  char path[600];
  snprintf(path, sizeof path, "%s/m.mlxm", dir);
  CHECK(m && rt_model_save(path, m) == 0, "%s: save", cs->spec);
  RtModel *back = rt_model_load(path);
  rt_diag_flush();
  Compiled c;
  if (back && compile(&c, &back->desc, t->cfg, false)) {
    int n_out = back->desc.layers[back->desc.n_layers - 1].units;
    RtSplit sc, si;
    int rc = rt_data_apply_xf(back->data, cs->csv, back->desc.task, back->class_names,
                              back->n_classes, false, c.k.xform, &sc);
    int ri = rt_data_apply(back->data, cs->csv, back->desc.task, back->class_names,
                           back->n_classes, false, &si);
    rt_diag_flush();
    CHECK(rc == 0 && ri == 0 && sc.n > 0, "%s: predict path", cs->spec);
    char *first = NULL;
    char *body = csv_json(back->data, cs->csv, &first);
    rt_diag_flush();
    CHECK(body && first, "%s: the CSV as JSON", cs->spec);
    if (rc == 0 && ri == 0 && body && first) {
      float *work = malloc(sizeof(float) * (size_t)(c.k.n_work + 1));
      float *ref = malloc(sizeof(float) * (size_t)(sc.n * n_out + 1));
      float *refi = malloc(sizeof(float) * (size_t)(si.n * n_out + 1));
      c.k.predict(back->params, work, sc.x, sc.n, ref);
      c.k.predict(back->params, work, si.x, si.n, refi);
      char what[300];
      /* the compiled transforms, as `mlxc serve` runs them */
      RtServeModel *sm = rt_serve_model_new(back, &c.k);
      RtServeWork *w = rt_serve_work_new(sm);
      snprintf(what, sizeof what, "%s (mlx_xform)", cs->spec);
      compare(what, sm, w, body, ref, sc.n, n_out);
      /* one row alone: what predict gave it among all the rows */
      compare(what, sm, w, first, ref, 1, n_out);
      robustness(what, sm, w, body);
      rt_serve_work_free(w);
      rt_serve_model_free(sm);
      /* the interpreter, as a binary without compiled transforms runs them */
      MlxKernels ki = c.k;
      ki.xform = NULL;
      sm = rt_serve_model_new(back, &ki);
      w = rt_serve_work_new(sm);
      snprintf(what, sizeof what, "%s (interpreter)", cs->spec);
      compare(what, sm, w, body, refi, si.n, n_out);
      rt_serve_work_free(w);
      rt_serve_model_free(sm);
      free(work);
      free(ref);
      free(refi);
    }
    if (rc == 0) rt_split_free(&sc);
    if (ri == 0) rt_split_free(&si);
    free(body);
    free(first);
    release(&c);
  }
  unlink(path);
  rt_model_free(back);
  rt_model_free(m);
  rt_data_free(d);
  arena_free(&a);
}

int main(void) {
  char dir[] = "/tmp/serve_decode.XXXXXX";
  CHECK(mkdtemp(dir) != NULL, "mkdtemp");
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) run_case(&cases[i], dir);
  rmdir(dir);
  printf("serve_decode: %lld of %lld outputs bit-identical\n", (long long)equal, (long long)total);
  printf("serve_decode: %d checks, %d failed\n", checks, failures);
  return failures != 0;
}
