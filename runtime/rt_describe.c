/* rt_describe.c — `mlxc data`: one pass over a dataset's CSV describing every
 * column (its role in the spec, inferred type, count, missing, distinct,
 * number statistics with a 10-bin histogram, or the top categories), as a
 * text report or one JSON document. Runs after the dataset has loaded. */
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "rt.h"

#define HIST_BINS 10
#define TOP_N 5

/* Distinct spellings of one column with their counts (open addressing). */
typedef struct Tally {
  char **keys;
  int64_t *counts;
  size_t n, cap;      /* cap: slots, a power of two */
} Tally;

static void tally_add(Tally *t, const char *s, size_t len) {
  if (2 * (t->n + 1) > t->cap) {
    size_t nc = t->cap ? t->cap * 2 : 64;
    char **k = rt_xmalloc(sizeof(char *) * nc);
    int64_t *c = rt_xmalloc(sizeof(int64_t) * nc);
    for (size_t i = 0; i < t->cap; i++) {
      if (!t->keys[i]) continue;
      size_t h = (size_t)rt_fnv1a(t->keys[i], strlen(t->keys[i]), RT_FNV_INIT) & (nc - 1);
      while (k[h]) h = (h + 1) & (nc - 1);
      k[h] = t->keys[i];
      c[h] = t->counts[i];
    }
    free(t->keys);
    free(t->counts);
    t->keys = k;
    t->counts = c;
    t->cap = nc;
  }
  size_t h = (size_t)rt_fnv1a(s, len, RT_FNV_INIT) & (t->cap - 1);
  for (; t->keys[h]; h = (h + 1) & (t->cap - 1))
    if (strlen(t->keys[h]) == len && !memcmp(t->keys[h], s, len)) {
      t->counts[h]++;
      return;
    }
  t->keys[h] = memcpy(rt_xmalloc(len + 1), s, len);
  t->counts[h] = 1;
  t->n++;
}

static void tally_free(Tally *t) {
  for (size_t i = 0; i < t->cap; i++) free(t->keys[i]);
  free(t->keys);
  free(t->counts);
}

/* What the pass keeps per column. */
typedef struct DCol {
  const char *name;
  const char *role;   /* feature label dropped key unused */
  int64_t count, missing;
  bool numeric;       /* every present cell parsed as a number */
  double *vals;       /* present cells as numbers (while numeric) */
  Tally tally;        /* present cells as text */
} DCol;

/* "" is always missing; so is any of the spec's `na` strings. */
static bool missing_cell(const RtDataSpec *spec, const char *s, size_t n) {
  if (n == 0) return true;
  for (int i = 0; i < spec->n_na; i++)
    if (spec->na[i] && strlen(spec->na[i]) == n && !memcmp(spec->na[i], s, n)) return true;
  return false;
}

static bool in_list(char *const *v, int n, const char *s) {
  for (int i = 0; i < n; i++)
    if (v[i] && !strcmp(v[i], s)) return true;
  return false;
}

/* The column's part in the spec: the label, dropped, read by a feature
 * (explicitly or through `feature *`), the split key, or unused. */
static const char *role_of(const RtDataSpec *spec, const char *name) {
  if (spec->label && !strcmp(spec->label, name)) return "label";
  if (in_list(spec->drop, spec->n_drop, name))
    return spec->split_by && !strcmp(spec->split_by, name) ? "key" : "dropped";
  for (int i = 0; i < spec->n_feats; i++) {
    const char *col = spec->feats[i].column ? spec->feats[i].column : spec->feats[i].name;
    if (col && !strcmp(col, name)) return "feature";
  }
  if (spec->split_by && !strcmp(spec->split_by, name)) return "key";
  return spec->star ? "feature" : "unused";
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

/* numpy's default quantile: linear between the two nearest ranks. */
static double quantile(const double *v, int64_t n, double q) {
  double at = q * (double)(n - 1);
  int64_t lo = (int64_t)floor(at);
  int64_t hi = lo + 1 < n ? lo + 1 : lo;
  return v[lo] + (v[hi] - v[lo]) * (at - (double)lo);
}

/* Number statistics of a column (vals sorted in place). */
typedef struct NumStats {
  double mean, std, min, q1, median, q3, max;   /* std: population */
  int64_t hist[HIST_BINS];   /* equal-width bins over [min, max] */
  int64_t distinct;
} NumStats;

static NumStats num_stats(double *v, int64_t n) {
  NumStats s = {0};
  qsort(v, (size_t)n, sizeof *v, cmp_double);
  double sum = 0;
  for (int64_t i = 0; i < n; i++) sum += v[i];
  s.mean = sum / (double)n;
  double ss = 0;
  for (int64_t i = 0; i < n; i++) ss += (v[i] - s.mean) * (v[i] - s.mean);
  s.std = sqrt(ss / (double)n);
  s.min = v[0];
  s.max = v[n - 1];
  s.q1 = quantile(v, n, 0.25);
  s.median = quantile(v, n, 0.5);
  s.q3 = quantile(v, n, 0.75);
  double w = (s.max - s.min) / HIST_BINS;
  for (int64_t i = 0; i < n; i++) {
    int b = w > 0 ? (int)((v[i] - s.min) / w) : 0;
    if (b >= HIST_BINS) b = HIST_BINS - 1;
    if (b < 0) b = 0;
    s.hist[b]++;
    s.distinct += i == 0 || v[i] != v[i - 1];
  }
  return s;
}

/* The TOP_N most frequent spellings (ties: by bytes), as slot indices. */
static int top_values(const Tally *t, size_t *top) {
  int k = 0;
  for (size_t i = 0; i < t->cap; i++) {
    if (!t->keys[i]) continue;
    int at = k < TOP_N ? k++ : TOP_N;
    while (at > 0) {
      size_t p = top[at - 1];
      bool before = t->counts[i] > t->counts[p] ||
                    (t->counts[i] == t->counts[p] && strcmp(t->keys[i], t->keys[p]) < 0);
      if (!before) break;
      if (at < TOP_N) top[at] = p;
      at--;
    }
    if (at < TOP_N) top[at] = i;
  }
  return k;
}

/* A histogram as eight block heights, one character a bin; empty bins blank. */
static void spark(const int64_t *h, char *out) {
  static const char *const bars[8] = {"▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"};
  int64_t most = 0;
  for (int b = 0; b < HIST_BINS; b++)
    if (h[b] > most) most = h[b];
  out[0] = 0;
  for (int b = 0; b < HIST_BINS; b++)
    strcat(out, h[b] == 0 ? " " : bars[most > 0 ? (h[b] * 7) / most : 0]);
}

static json_t *num(double v) { return isfinite(v) ? json_real(v) : json_null(); }

/* Reads every record; NULL-free cols on success. Returns rows read or -1. */
static int64_t read_all(const RtDataSpec *spec, RtCsv *c, DCol *cols, int ncols) {
  int64_t n = 0, cap = 0;
  int r;
  while ((r = rt_csv_next(c)) > 0) {
    if (n == cap) {
      cap = cap ? cap * 2 : 1024;
      for (int j = 0; j < ncols; j++)
        if (cols[j].numeric) cols[j].vals = rt_xrealloc(cols[j].vals, sizeof(double) * (size_t)cap);
    }
    for (int j = 0; j < ncols; j++) {
      DCol *col = &cols[j];
      size_t len;
      const char *s = rt_csv_field(c, j, &len);
      if (missing_cell(spec, s, len)) {
        col->missing++;
        continue;
      }
      float f;
      if (col->numeric && rt_parse_float(s, len, &f)) {
        col->vals[col->count] = strtod(s, NULL);
      } else if (col->numeric) {
        col->numeric = false;
        free(col->vals);
        col->vals = NULL;
      }
      col->count++;
      tally_add(&col->tally, s, len);
    }
    n++;
  }
  return r < 0 ? -1 : n;
}

int rt_describe(const RtDataSpec *spec, const RtData *d, bool as_json, FILE *out) {
  /* read the file as the dataset does: its delimiter, quote and header */
  RtCsvOpts copts = {.delim = spec->csv_delim, .quote = spec->csv_quote,
                     .no_header = spec->csv_no_header, .keep_ragged = spec->bad_row_skip};
  RtCsv *c = rt_csv_open_opts(spec->csv_path, &copts);
  if (!c) return -1;
  int ncols = rt_csv_ncols(c);
  DCol *cols = rt_xmalloc(sizeof(DCol) * (size_t)(ncols + 1));
  for (int j = 0; j < ncols; j++) {
    cols[j].name = rt_csv_name(c, j);
    cols[j].role = role_of(spec, cols[j].name);
    cols[j].numeric = true;
  }
  int64_t n = read_all(spec, c, cols, ncols);
  if (n < 0) {
    if (spec->source_loc.file)
      rt_note(spec->source_loc, "while reading the dataset '%s'", spec->name ? spec->name : "?");
    for (int j = 0; j < ncols; j++) {
      free(cols[j].vals);
      tally_free(&cols[j].tally);
    }
    free(cols);
    rt_csv_close(c);
    return -1;
  }

  static const char *const split_names[3] = {"train", "val", "test"};
  json_t *doc = json_object(), *jcols = json_array();
  json_object_set_new(doc, "dataset", json_string(spec->name ? spec->name : ""));
  json_object_set_new(doc, "file", json_string(spec->csv_path));
  json_t *rows = json_object();
  json_object_set_new(rows, "read", json_integer(n));
  json_object_set_new(rows, "dropped", d ? json_integer(d->rows_dropped) : json_null());
  json_object_set_new(rows, "bad", d ? json_integer(d->rows_bad) : json_null());
  json_object_set_new(doc, "rows", rows);
  if (!as_json) {
    fprintf(out, "dataset %s: %s\n", spec->name ? spec->name : "?", spec->csv_path);
    fprintf(out, "rows: %lld read", (long long)n);
    if (d) fprintf(out, ", %lld dropped, %lld bad", (long long)d->rows_dropped, (long long)d->rows_bad);
    fputc('\n', out);
  }
  if (d) {   /* "splits": {SPLIT: {"rows", "class_rows": [per class]}}, as in metrics.json */
    json_t *sp = json_object(), *cl = json_array();
    if (!as_json) fprintf(out, "splits:");
    for (int s = 0; s < 3; s++) {
      json_t *so = json_object();
      json_object_set_new(so, "rows", json_integer(d->split[s].n));
      if (!as_json) fprintf(out, " %s %lld", split_names[s], (long long)d->split[s].n);
      if (d->n_classes > 0) {
        int64_t *cc = rt_xmalloc(sizeof(int64_t) * (size_t)d->n_classes);
        rt_split_class_counts(&d->split[s], d->n_classes, cc);
        json_t *ca = json_array();
        for (int k = 0; k < d->n_classes; k++) {
          json_array_append_new(ca, json_integer(cc[k]));
          if (!as_json) fprintf(out, "%s%s %lld", k ? ", " : " (", d->class_names[k], (long long)cc[k]);
        }
        if (!as_json) fputc(')', out);
        json_object_set_new(so, "class_rows", ca);
        free(cc);
      }
      json_object_set_new(sp, split_names[s], so);
    }
    if (!as_json) fprintf(out, "%s\n", spec->cv_folds > 0 ? " (train+val pooled for cv)" : "");
    for (int k = 0; k < d->n_classes; k++) json_array_append_new(cl, json_string(d->class_names[k]));
    if (d->n_classes > 0) json_object_set_new(doc, "classes", cl);
    else json_decref(cl);
    json_object_set_new(doc, "splits", sp);
  }

  for (int j = 0; j < ncols; j++) {
    DCol *col = &cols[j];
    const char *type = col->count == 0 ? "empty" : col->numeric ? "number" : "category";
    json_t *o = json_object();
    json_object_set_new(o, "name", json_string(col->name));
    json_object_set_new(o, "role", json_string(col->role));
    json_object_set_new(o, "type", json_string(type));
    json_object_set_new(o, "count", json_integer(col->count));
    json_object_set_new(o, "missing", json_integer(col->missing));
    if (!as_json)
      fprintf(out, "\ncolumn %s: %s, %s\n  count %lld  missing %lld", col->name, type, col->role,
              (long long)col->count, (long long)col->missing);
    if (col->count > 0 && col->numeric) {
      NumStats s = num_stats(col->vals, col->count);
      json_object_set_new(o, "distinct", json_integer(s.distinct));
      const char *keys[7] = {"mean", "std", "min", "q1", "median", "q3", "max"};
      double vals[7] = {s.mean, s.std, s.min, s.q1, s.median, s.q3, s.max};
      for (int i = 0; i < 7; i++) json_object_set_new(o, keys[i], num(vals[i]));
      json_t *h = json_array();
      for (int b = 0; b < HIST_BINS; b++) json_array_append_new(h, json_integer(s.hist[b]));
      json_object_set_new(o, "histogram", h);
      if (!as_json) {
        fprintf(out, "  distinct %lld\n ", (long long)s.distinct);
        for (int i = 0; i < 7; i++) fprintf(out, " %s %.6g", keys[i], vals[i]);
        char bar[HIST_BINS * 4 + 1];
        spark(s.hist, bar);
        fprintf(out, "\n  histogram %.6g |%s| %.6g\n", s.min, bar, s.max);
      }
    } else {
      json_object_set_new(o, "distinct", json_integer((json_int_t)col->tally.n));
      size_t top[TOP_N];
      int k = top_values(&col->tally, top);
      json_t *tv = json_array();
      if (!as_json) fprintf(out, "  distinct %zu\n", col->tally.n);
      if (!as_json && k > 0) fprintf(out, "  top");
      for (int i = 0; i < k; i++) {
        json_t *e = json_object();
        json_object_set_new(e, "value", json_string(col->tally.keys[top[i]]));
        json_object_set_new(e, "count", json_integer(col->tally.counts[top[i]]));
        json_array_append_new(tv, e);
        if (!as_json)
          fprintf(out, "%s '%s' %lld", i ? "," : "", col->tally.keys[top[i]],
                  (long long)col->tally.counts[top[i]]);
      }
      if (!as_json && k > 0) fputc('\n', out);
      json_object_set_new(o, "top", tv);
    }
    json_array_append_new(jcols, o);
  }
  json_object_set_new(doc, "columns", jcols);
  if (as_json) {
    char *text = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(10));
    if (text) fprintf(out, "%s\n", text);
    free(text);
  }
  fflush(out);
  json_decref(doc);
  for (int j = 0; j < ncols; j++) {
    free(cols[j].vals);
    tally_free(&cols[j].tally);
  }
  free(cols);
  rt_csv_close(c);
  return 0;
}
