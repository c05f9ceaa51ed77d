/* runtime_csv.c — tests of the runtime's data edge: the CSV reader (RFC 4180
 * quoting, CRLF, BOM, embedded newlines, every bad-input error with its row
 * and column), number parsing, metrics on hand-computed cases, and the .mlxm
 * model file (round trip bit-identical; truncated, bit-flipped, foreign and
 * newer files refused without crashing). Run from the repository root. */
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runtime/rt.h"

#include "check.h"

static char tmpdir[256];

/* ---- helpers ----------------------------------------------------------------- */

static char captured[1 << 16];
static int saved_fd = -1;
static FILE *cap_file;

/* Diagnostics go to stderr; tests read them back through a temporary file. */
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

static char *tmp_path(const char *name) {
  static char bufs[8][512];
  static int k;
  char *b = bufs[k++ % 8];
  snprintf(b, 512, "%s/%s", tmpdir, name);
  return b;
}

static void write_file(const char *path, const void *p, size_t n) {
  FILE *f = fopen(path, "wb");
  if (!f) {
    perror(path);
    exit(2);
  }
  fwrite(p, 1, n, f);
  fclose(f);
}

static char *write_tmp(const char *name, const char *text) {
  char *p = tmp_path(name);
  write_file(p, text, strlen(text));
  return p;
}

static unsigned char *read_all(const char *path, size_t *n) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  fseek(f, 0, SEEK_END);
  long sz = ftell(f);
  rewind(f);
  unsigned char *b = malloc((size_t)sz + 1);
  *n = fread(b, 1, (size_t)sz, f);
  fclose(f);
  return b;
}

/* Opens text as a CSV expecting failure; returns the diagnostics. */
static const char *csv_error(const char *name, const char *text) {
  char *p = write_tmp(name, text);
  capture_begin();
  RtCsv *c = rt_csv_open(p);
  int r = 1;
  while (c && (r = rt_csv_next(c)) > 0) {
  }
  const char *out = capture_end();
  CHECK(!c || r < 0, "%s: expected an error", name);
  rt_csv_close(c);
  return out;
}

/* The expected diagnostic is "TMP/name:LINE:COL: error: MSG". */
static void expect_error(const char *name, const char *text, int line, int col, const char *msg) {
  const char *out = csv_error(name, text);
  char want[1024];
  if (line)
    snprintf(want, sizeof want, "%s:%d:%d: error: %s", tmp_path(name), line, col, msg);
  else
    snprintf(want, sizeof want, "%s: error: %s", tmp_path(name), msg);
  CHECK(strstr(out, want), "%s: want '%s' in:\n%s", name, want, out);
}

/* ---- CSV ------------------------------------------------------------------ */

static void test_csv_fixture(void) {
  capture_begin();
  RtCsv *c = rt_csv_open("tests/data/quoted.csv");
  const char *err = capture_end();
  CHECK(c, "quoted.csv did not open: %s", err);
  if (!c) return;
  CHECK(rt_csv_ncols(c) == 3, "ncols %d", rt_csv_ncols(c));
  CHECK(!strcmp(rt_csv_name(c, 0), "name"), "BOM not skipped: '%s'", rt_csv_name(c, 0));
  CHECK(!strcmp(rt_csv_name(c, 1), "note, with comma"), "'%s'", rt_csv_name(c, 1));
  CHECK(!strcmp(rt_csv_name(c, 2), "value"), "CRLF kept: '%s'", rt_csv_name(c, 2));
  CHECK(rt_csv_next(c) == 1, "row 1");
  CHECK(!strcmp(rt_csv_field(c, 1, NULL), "he said \"hi\""), "'%s'", rt_csv_field(c, 1, NULL));
  CHECK(!strcmp(rt_csv_field(c, 2, NULL), "1.5"), "'%s'", rt_csv_field(c, 2, NULL));
  CHECK(rt_csv_next(c) == 1, "row 2");
  CHECK(!strcmp(rt_csv_field(c, 0, NULL), "beta"), "'%s'", rt_csv_field(c, 0, NULL));
  CHECK(!strcmp(rt_csv_field(c, 1, NULL), "two\nlines"), "'%s'", rt_csv_field(c, 1, NULL));
  RtLoc l = rt_csv_loc(c, 2);
  CHECK(l.line == 4 && l.col == 8, "field after embedded newline at %d:%d", l.line, l.col);
  CHECK(rt_csv_next(c) == 1, "row 3 after a blank line");
  size_t n;
  CHECK(!strcmp(rt_csv_field(c, 0, &n), "gamma") && n == 5, "'%s'", rt_csv_field(c, 0, NULL));
  CHECK(!strcmp(rt_csv_field(c, 1, &n), "") && n == 0, "empty field");
  CHECK(!strcmp(rt_csv_field(c, 2, NULL), "3e2"), "no final newline");
  l = rt_csv_loc(c, 0);
  CHECK(l.line == 6 && l.col == 1, "gamma at %d:%d", l.line, l.col);
  CHECK(rt_csv_next(c) == 0, "end");
  CHECK(rt_csv_records(c) == 3, "records %lld", (long long)rt_csv_records(c));
  size_t fn;
  unsigned char *bytes = read_all("tests/data/quoted.csv", &fn);
  CHECK(rt_csv_hash(c) == rt_fnv1a(bytes, fn, RT_FNV_INIT), "hash of the file bytes");
  free(bytes);
  rt_csv_close(c);

  char **names;
  int nn;
  CHECK(rt_csv_header("tests/data/binary.csv", &names, &nn) == 0 && nn == 5, "header");
  for (int i = 0; i < nn; i++) free(names[i]);
  free(names);
}

static void test_csv_small(void) {
  /* trailing comma, quoted empty, quote inside a bare field, CR inside quotes */
  char *p = write_tmp("small.csv", "a,b,c\n1,,\n\"\",x\"y,\"r\rs\"\n");
  RtCsv *c = rt_csv_open(p);
  CHECK(c, "small.csv");
  if (!c) return;
  CHECK(rt_csv_next(c) == 1 && !strcmp(rt_csv_field(c, 2, NULL), ""), "trailing comma");
  CHECK(rt_csv_next(c) == 1, "row 2");
  CHECK(!strcmp(rt_csv_field(c, 0, NULL), ""), "quoted empty");
  CHECK(!strcmp(rt_csv_field(c, 1, NULL), "x\"y"), "bare quote kept: '%s'",
        rt_csv_field(c, 1, NULL));
  CHECK(!strcmp(rt_csv_field(c, 2, NULL), "r\rs"), "CR in quotes");
  CHECK(rt_csv_next(c) == 0, "end");
  rt_csv_close(c);

  /* header only */
  p = write_tmp("hdr.csv", "only\n");
  c = rt_csv_open(p);
  CHECK(c && rt_csv_ncols(c) == 1 && rt_csv_next(c) == 0, "header only");
  rt_csv_close(c);
}

/* Large enough to cross many read blocks, with quoted newlines landing on
 * block boundaries somewhere. */
static void test_csv_large(void) {
  char *p = tmp_path("large.csv");
  FILE *f = fopen(p, "wb");
  fprintf(f, "i,text,v\r\n");
  int rows = 120000;
  for (int i = 0; i < rows; i++) {
    if (i % 3 == 0) fprintf(f, "%d,\"multi\nline \"\"%d\"\", with comma\",%d.5\r\n", i, i, i);
    else fprintf(f, "%d,plain%d,%d.5\r\n", i, i, i);
  }
  fclose(f);
  RtCsv *c = rt_csv_open(p);
  CHECK(c, "large.csv");
  if (!c) return;
  int i = 0, bad = 0;
  int64_t line = 2;
  while (rt_csv_next(c) == 1) {
    char want[96];
    float v;
    if (atoi(rt_csv_field(c, 0, NULL)) != i) bad++;
    if (i % 3 == 0) snprintf(want, sizeof want, "multi\nline \"%d\", with comma", i);
    else snprintf(want, sizeof want, "plain%d", i);
    if (strcmp(rt_csv_field(c, 1, NULL), want)) bad++;
    size_t n;
    const char *s = rt_csv_field(c, 2, &n);
    if (!rt_parse_float(s, n, &v) || v != (float)(i + 0.5)) bad++;
    if (rt_csv_loc(c, 0).line != line) bad++;
    line += i % 3 == 0 ? 2 : 1;
    i++;
  }
  CHECK(i == rows && bad == 0, "read %d rows, %d bad", i, bad);
  size_t fn;
  unsigned char *bytes = read_all(p, &fn);
  CHECK(rt_csv_hash(c) == rt_fnv1a(bytes, fn, RT_FNV_INIT), "hash");
  free(bytes);
  rt_csv_close(c);
}

static void test_csv_errors(void) {
  expect_error("few.csv", "a,b,c\n1,2\n", 2, 4, "expected 3 fields, found 2");
  expect_error("many.csv", "a,b\n1,2\n3,4,5\n", 3, 5, "expected 2 fields, found 3");
  expect_error("empty.csv", "", 0, 0, "empty file: expected a header row");
  expect_error("blank.csv", "\n\r\n\n", 0, 0, "empty file: expected a header row");
  expect_error("dup.csv", "a,b,a\n1,2,3\n", 1, 5, "duplicate column name 'a'");
  const char *out = captured;
  CHECK(strstr(out, ":1:1: note: first named here"), "dup note:\n%s", out);
  expect_error("utf8.csv", "a,b\n1,\xff\n", 2, 3, "invalid UTF-8 byte 0xff in data");
  expect_error("overlong.csv", "a,b\n1,x\xc0\xaf\n", 2, 4, "invalid UTF-8 byte 0xc0 in data");
  expect_error("surrogate.csv", "a\n\xed\xa0\x80\n", 2, 1, "invalid UTF-8 byte 0xed in data");
  expect_error("cut.csv", "a\nx\xe2\x82", 2, 2, "invalid UTF-8 byte 0xe2 in data");
  char nul[] = "a,b\n1,2\n3,\0\n";
  write_file(tmp_path("nul.csv"), nul, sizeof nul - 1);
  capture_begin();
  RtCsv *c = rt_csv_open(tmp_path("nul.csv"));
  while (c && rt_csv_next(c) > 0) {
  }
  out = capture_end();
  rt_csv_close(c);
  CHECK(strstr(out, "nul.csv:3:3: error: invalid NUL byte 0x00 in data"), "%s", out);
  expect_error("unterm.csv", "a,b\n1,\"abc\n2,3\n", 2, 3,
               "unterminated quoted field: no closing '\"' before the end of the file");
  expect_error("after.csv", "a\n\"x\"y\n", 2, 4,
               "expected ',' or end of line after a closing quote, found 'y'");
  capture_begin();
  c = rt_csv_open(tmp_path("does-not-exist.csv"));
  out = capture_end();
  CHECK(!c && strstr(out, "does-not-exist.csv: error: cannot open data: No such file or directory"),
        "%s", out);
  capture_begin();
  c = rt_csv_open(tmpdir);
  out = capture_end();
  CHECK(!c && strstr(out, "error: cannot read data: Is a directory"), "%s", out);
  /* the row is shown under the error with a caret at the column */
  out = csv_error("caret.csv", "a,b,c\n10,20\n");
  CHECK(strstr(out, "\n10,20\n     ^\n"), "caret:\n%s", out);
}

static void test_parse_float(void) {
  static const struct { const char *s; bool ok; float v; } cases[] = {
      {"1", true, 1},       {"-2.5", true, -2.5f}, {" 3 ", true, 3},    {"1e3", true, 1000},
      {"1.5E-2", true, 0.015f}, {".5", true, 0.5f}, {"5.", true, 5},    {"+7", true, 7},
      {"0.1", true, 0.1f},  {"-0", true, -0.0f},   {"", false, 0},      {" ", false, 0},
      {"abc", false, 0},    {"1e", false, 0},      {"nan", false, 0},   {"inf", false, 0},
      {"0x10", false, 0},   {"1,5", false, 0},     {"1e999", false, 0}, {"1e39", false, 0},
      {".", false, 0},      {"-", false, 0},       {"1.2.3", false, 0}, {"12345678901234567890123", true, 1.2345679e22f},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    float v = -99;
    bool ok = rt_parse_float(cases[i].s, strlen(cases[i].s), &v);
    CHECK(ok == cases[i].ok && (!ok || v == cases[i].v), "'%s' -> %d %g", cases[i].s, ok, v);
  }
  /* the fast path agrees with strtod on random decimals */
  RtRand r;
  rt_rand_seed(&r, 5);
  int bad = 0;
  for (int i = 0; i < 200000; i++) {
    char s[64];
    int digits = 1 + (int)rt_rand_below(&r, 17);
    int frac = (int)rt_rand_below(&r, (uint64_t)digits + 1);
    int len = 0;
    if (rt_rand_below(&r, 2)) s[len++] = '-';
    for (int d = 0; d < digits; d++) {
      if (d == digits - frac) s[len++] = '.';
      s[len++] = (char)('0' + rt_rand_below(&r, 10));
    }
    if (frac == digits) { /* ".123" */
    }
    if (rt_rand_below(&r, 4) == 0) len += sprintf(s + len, "e%d", (int)rt_rand_below(&r, 40) - 20);
    s[len] = 0;
    float v;
    float want = (float)strtod(s, NULL);
    if (!rt_parse_float(s, (size_t)len, &v) || memcmp(&v, &want, 4)) {
      if (bad++ < 5) printf("parse '%s': %.9g, strtod %.9g\n", s, v, want);
    }
  }
  CHECK(bad == 0, "%d fast-path mismatches", bad);
}

/* Mutated fixtures (bytes flipped, inserted, cut) must each end in rows or
 * one diagnostic, never a crash: a cheap fuzz run inside the suite (the
 * sanitizer build makes it strict). */
static void test_csv_fuzz(void) {
  size_t n;
  unsigned char *seed = read_all("tests/data/quoted.csv", &n);
  size_t n2;
  unsigned char *seed2 = read_all("tests/data/binary.csv", &n2);
  if (!seed || !seed2) {
    CHECK(0, "fixtures missing");
    return;
  }
  static const char alphabet[] = "\",\r\n\"a1 \xef\xbb\xbf\xff\xc3\xa9";
  RtRand r;
  rt_rand_seed(&r, 3);
  unsigned char *buf = malloc(n2 + 64);
  int rows = 0, errors = 0;
  for (int it = 0; it < 3000; it++) {
    const unsigned char *src = it % 2 ? seed : seed2;
    size_t len = it % 2 ? n : (size_t)rt_rand_below(&r, 600) + 1;
    if (len > n2) len = n2;
    memcpy(buf, src, len);
    int edits = 1 + (int)rt_rand_below(&r, 4);
    for (int e = 0; e < edits; e++) {
      size_t at = (size_t)rt_rand_below(&r, len);
      unsigned char ch = (unsigned char)alphabet[rt_rand_below(&r, sizeof alphabet - 1)];
      switch (rt_rand_below(&r, 3)) {
      case 0: buf[at] = ch; break;
      case 1: memmove(buf + at + 1, buf + at, len - at), buf[at] = ch, len++; break;
      default: len = at; break;
      }
    }
    char *p = tmp_path("fuzz.csv");
    write_file(p, buf, len);
    capture_begin();
    RtCsv *c = rt_csv_open(p);
    int res = c ? 1 : -1;
    while (c && (res = rt_csv_next(c)) > 0) {
      for (int i = 0; i < rt_csv_ncols(c); i++) {
        size_t fl;
        const char *f = rt_csv_field(c, i, &fl);
        if (strlen(f) != fl) res = -2;
      }
      rows++;
    }
    const char *o = capture_end();
    if (res == -2) CHECK(0, "field with a NUL inside at iteration %d", it);
    if (res < 0) errors++;
    if (res == -1) CHECK(strstr(o, "error: ") && !strstr(o + 1, "\n/tmp"), "%d: %s", it, o);
    rt_csv_close(c);
  }
  CHECK(rows > 1000 && errors > 100, "fuzz: %d rows, %d errors", rows, errors);
  free(buf);
  free(seed);
  free(seed2);
}

/* ---- metrics ------------------------------------------------------------- */

static bool near(double a, double b) { return fabs(a - b) <= 1e-9 * (1 + fabs(b)); }

static void test_metrics(void) {
  float out[] = {1, 2, 3}, y[] = {1, 1, 1};
  RtMetrics m = rt_metrics(RT_TASK_REGRESSION, 0, out, y, 3);
  CHECK(near(m.mse, 5.0 / 3) && near(m.mae, 1) && near(m.loss, 5.0 / 3) && isnan(m.accuracy),
        "regression %g %g %g", m.loss, m.mse, m.mae);
  float p[] = {0.9f, 0.2f, 0.6f, 0.4f}, yb[] = {1, 0, 0, 1};
  m = rt_metrics(RT_TASK_BINARY, 2, p, yb, 4);
  double bce = -(log((double)0.9f) + log(1 - (double)0.2f) + log(1 - (double)0.6f) +
                 log((double)0.4f)) / 4;
  CHECK(near(m.accuracy, 0.5) && near(m.loss, bce) && isnan(m.mse), "binary %g %g", m.loss,
        m.accuracy);
  float pe[] = {0.5f}, ye[] = {1};
  m = rt_metrics(RT_TASK_BINARY, 2, pe, ye, 1);
  CHECK(near(m.accuracy, 1) && near(m.loss, log(2)), "p = 0.5 is positive");
  float pc[] = {0, 1}, yc[] = {1, 0};
  m = rt_metrics(RT_TASK_BINARY, 2, pc, yc, 2);
  CHECK(near(m.loss, -log(1e-7)) && m.accuracy == 0, "clipped %g", m.loss);
  float pm[] = {0.7f, 0.2f, 0.1f, 0.1f, 0.3f, 0.6f}, ym[] = {0, 1};
  m = rt_metrics(RT_TASK_MULTICLASS, 3, pm, ym, 2);
  CHECK(near(m.loss, -(log((double)0.7f) + log((double)0.3f)) / 2) && near(m.accuracy, 0.5),
        "multiclass %g %g", m.loss, m.accuracy);
  float pz[] = {0, 0, 0};
  float yz[] = {2};
  m = rt_metrics(RT_TASK_MULTICLASS, 3, pz, yz, 1);
  CHECK(near(m.loss, -log(1e-7)) && m.accuracy == 0, "ties go to the first class");
  m = rt_metrics(RT_TASK_BINARY, 2, NULL, NULL, 0);
  CHECK(m.n == 0 && isnan(m.loss) && isnan(m.accuracy), "empty split");
}

/* ---- model file ------------------------------------------------------------ */

static RtModel *sample_model(void) {
  static char *na[] = {"NA", "?"}, *drop[] = {"id"}, *keys[] = {"N", "Y"};
  static double vals[] = {0, 1};
  static RtFeature feats[3] = {
      {.name = "x1", .column = "x1", .xform = RT_XF_STANDARDIZE, .mean = 0.25, .std = 2.5},
      {.name = "x2", .column = "x2", .xform = RT_XF_STANDARDIZE, .mean = -1, .std = 1e-3},
      {.name = "loan amount", .column = "loan amount", .xform = RT_XF_NONE, .mean = 0, .std = 1}};
  RtDataSpec spec = {.name = "loans", .csv_path = "data/loans.csv", .na = na, .n_na = 2,
                     .drop = drop, .n_drop = 1, .feats = feats, .n_feats = 3, .label = "y",
                     .label_keys = keys, .label_vals = vals, .n_label_map = 2,
                     .split = {0.7, 0.15, 0.15}, .split_seed = 42};
  RtModelDesc d = {.name = "scorer", .n_in = 3, .n_layers = 2,
                   .layers = {{4, RT_ACT_RELU}, {1, RT_ACT_SIGMOID}}, .loss = RT_LOSS_BCE,
                   .task = RT_TASK_BINARY};
  int64_t np = rt_param_layout(&d, NULL, NULL);
  float *params = malloc(sizeof(float) * (size_t)np);
  RtRand r;
  rt_rand_seed(&r, 9);
  for (int64_t i = 0; i < np; i++) params[i] = (float)(rt_rand_double(&r) * 2 - 1);
  params[0] = -0.0f;
  params[1] = 1e-40f;   /* a subnormal survives bit for bit */
  char *classes[] = {"N", "Y"};
  RtModel *m = rt_model_new(&d, &spec, 2, classes, params, np, "0123456789abcdef",
                            "{\"name\": \"scorer_v2\"}");
  rt_xform_programs(m ? m->data : NULL);   /* as rt_model_load leaves plain features */
  free(params);
  return m;
}

static void test_model_roundtrip(void) {
  RtModel *m = sample_model();
  char *p1 = tmp_path("m1.mlxm"), *p2 = tmp_path("m2.mlxm");
  CHECK(rt_model_save(p1, m) == 0, "save");
  capture_begin();
  RtModel *l = rt_model_load(p1);
  const char *err = capture_end();
  CHECK(l, "load: %s", err);
  if (!l) {
    rt_model_free(m);
    return;
  }
  CHECK(l->n_params == m->n_params &&
            !memcmp(l->params, m->params, sizeof(float) * (size_t)m->n_params),
        "params bit-identical");
  CHECK(!strcmp(l->desc.name, "scorer") && l->desc.n_in == 3 && l->desc.n_layers == 2 &&
            l->desc.layers[0].units == 4 && l->desc.layers[0].act == RT_ACT_RELU &&
            l->desc.layers[1].act == RT_ACT_SIGMOID && l->desc.loss == RT_LOSS_BCE &&
            l->desc.task == RT_TASK_BINARY,
        "model description");
  RtDataSpec *s = l->data;
  CHECK(s && s->n_feats == 3 && !strcmp(s->feats[2].column, "loan amount") &&
            s->feats[1].std == 1e-3 && s->feats[0].mean == 0.25 &&
            s->feats[2].xform == RT_XF_NONE && s->n_na == 2 && !strcmp(s->na[1], "?") &&
            s->n_drop == 1 && !strcmp(s->label, "y") && s->n_label_map == 2 &&
            !strcmp(s->label_keys[1], "Y") && s->label_vals[1] == 1 && s->split_seed == 42 &&
            s->split[1] == 0.15,
        "data spec");
  CHECK(s && s->feats[0].n_prog == 2 && s->feats[0].prog[1].op == RT_XOP_STANDARDIZE &&
            s->feats[0].prog[1].a == 0.25 && s->feats[1].prog[1].b == 1e-3 &&
            s->feats[2].n_prog == 1 && !strcmp(s->feats[2].prog[0].column, "loan amount"),
        "programs");
  CHECK(l->n_classes == 2 && !strcmp(l->class_names[1], "Y"), "classes");
  CHECK(!strcmp(l->spec_hash, "0123456789abcdef"), "spec hash");
  CHECK(l->metrics_json && !strcmp(l->metrics_json, "{\"name\": \"scorer_v2\"}"), "metrics");
  CHECK(l->path && !strcmp(l->path, p1), "path");
  CHECK(rt_model_save(p2, l) == 0, "save again");
  size_t n1, n2;
  unsigned char *b1 = read_all(p1, &n1), *b2 = read_all(p2, &n2);
  CHECK(n1 == n2 && !memcmp(b1, b2, n1), "save, load, save gives the same bytes");
  CHECK(access(tmp_path("m1.mlxm.tmp"), F_OK) != 0, "no .tmp left behind");
  free(b2);

  /* every proper prefix is refused, naming the file */
  int silent = 0;
  char *pt = tmp_path("trunc.mlxm");
  for (size_t k = 0; k < n1; k++) {
    write_file(pt, b1, k);
    capture_begin();
    RtModel *t = rt_model_load(pt);
    const char *o = capture_end();
    if (t || !strstr(o, "trunc.mlxm: error: ")) silent++;
    rt_model_free(t);
  }
  CHECK(silent == 0, "%d truncations not refused", silent);
  write_file(pt, b1, 20);
  capture_begin();
  rt_model_load(pt);
  err = capture_end();
  CHECK(strstr(err, "error: truncated model file: 20 bytes"), "%s", err);
  write_file(pt, b1, n1 - 1);
  capture_begin();
  rt_model_load(pt);
  err = capture_end();
  CHECK(strstr(err, "error: truncated model file: the payload is"), "%s", err);

  /* every single bit flip is refused */
  int accepted = 0;
  char *pf = tmp_path("flip.mlxm");
  unsigned char *b = malloc(n1);
  for (size_t k = 0; k < n1; k++)
    for (int bit = 0; bit < 8; bit++) {
      memcpy(b, b1, n1);
      b[k] ^= (unsigned char)(1 << bit);
      write_file(pf, b, n1);
      capture_begin();
      RtModel *t = rt_model_load(pf);
      capture_end();
      if (t) accepted++;
      rt_model_free(t);
    }
  CHECK(accepted == 0, "%d bit flips accepted", accepted);
  memcpy(b, b1, n1);
  b[n1 - 3] ^= 0x10;
  write_file(pf, b, n1);
  capture_begin();
  rt_model_load(pf);
  err = capture_end();
  CHECK(strstr(err, "flip.mlxm: error: corrupted model file: checksum mismatch"), "%s", err);

  /* a newer major version is refused by name */
  memcpy(b, b1, n1);
  b[8] = 2;
  b[10] = 3;
  write_file(pf, b, n1);
  capture_begin();
  rt_model_load(pf);
  err = capture_end();
  CHECK(strstr(err, "error: model file version 2.3 is newer than this mlxc (supports 1.x)"),
        "%s", err);

  /* trailing garbage */
  unsigned char *big = malloc(n1 + 4);
  memcpy(big, b1, n1);
  memcpy(big + n1, "junk", 4);
  write_file(pf, big, n1 + 4);
  capture_begin();
  RtModel *t = rt_model_load(pf);
  err = capture_end();
  CHECK(!t && strstr(err, "corrupted model file: 4 unexpected bytes after the payload"), "%s",
        err);
  free(big);
  free(b);
  free(b1);
  rt_model_free(l);
  rt_model_free(m);
}

static void test_model_foreign(void) {
  const char *foreign[] = {"tests/data/binary.csv", "tests/runtime_csv.c"};
  for (int i = 0; i < 2; i++) {
    capture_begin();
    RtModel *t = rt_model_load(foreign[i]);
    const char *err = capture_end();
    CHECK(!t && strstr(err, "error: not an mlxc model file (bad magic)"), "%s", err);
  }
  capture_begin();
  RtModel *t = rt_model_load(tmp_path("none.mlxm"));
  const char *err = capture_end();
  CHECK(!t && strstr(err, "none.mlxm: error: cannot open model: No such file or directory"),
        "%s", err);
  capture_begin();
  t = rt_model_load(tmpdir);
  err = capture_end();
  CHECK(!t && strstr(err, "error: cannot read model: not a regular file"), "%s", err);
  /* random bytes after a valid magic: refused, never a crash */
  RtRand r;
  rt_rand_seed(&r, 11);
  unsigned char buf[600];
  int accepted = 0;
  for (int k = 0; k < 300; k++) {
    size_t n = 8 + (size_t)rt_rand_below(&r, sizeof buf - 8);
    memcpy(buf, "MLXM\0\r\n\x1a", 8);
    for (size_t i = 8; i < n; i++) buf[i] = (unsigned char)rt_rand_next(&r);
    buf[8] = 1, buf[9] = 0;
    write_file(tmp_path("rand.mlxm"), buf, n);
    capture_begin();
    t = rt_model_load(tmp_path("rand.mlxm"));
    capture_end();
    accepted += t != NULL;
    rt_model_free(t);
  }
  CHECK(accepted == 0, "%d random files accepted", accepted);
}

int main(void) {
  snprintf(tmpdir, sizeof tmpdir, "/tmp/runtime_csv.XXXXXX");
  if (!mkdtemp(tmpdir)) {
    perror("mkdtemp");
    return 2;
  }
  test_csv_fixture();
  test_csv_small();
  test_csv_large();
  test_csv_errors();
  test_parse_float();
  test_csv_fuzz();
  test_metrics();
  test_model_roundtrip();
  test_model_foreign();
  char cmd[300];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
  if (system(cmd)) {
  }
  printf("runtime_csv: %d checks, %d failed\n", checks, failures);
  return failures != 0;
}
