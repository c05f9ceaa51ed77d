/* rt_data.c — from a checked dataset description and its CSV to the train,
 * val and test matrices the kernels read. Resolves columns (drop, label,
 * explicit features, `feature *`), reads the file once through rt_csv, splits
 * with the seeded PRNG; cleaning, statistics (fitted on train only) and
 * every feature program run in rt_xform.c, for every spec (one path).
 * rt_data_apply does the same with frozen statistics for `predict`/`eval`. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rt.h"

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* A CSV location kept past the record it came from (its text copied). */
typedef struct Saved {
  bool set;     /* something was saved */
  RtLoc loc;
  char *text;   /* owned copy of loc.text */
  char *cell;   /* the offending cell, shortened */
} Saved;

static void saved_set(Saved *s, RtLoc loc, const char *cell) {
  s->set = true;
  s->loc = loc;
  s->text = rt_xstrdup(loc.text);
  s->loc.text = s->text;
  size_t n = strlen(cell);
  if (n > 60) n = 60;
  s->cell = rt_xmalloc(n + 4);
  memcpy(s->cell, cell, n);
  if (strlen(cell) > 60) strcpy(s->cell + n, "...");
}

static void saved_free(Saved *s) {
  free(s->text);
  free(s->cell);
}

/* "" is always missing; so is any of the spec's `na` strings. */
static bool is_missing(const RtDataSpec *spec, const char *s, size_t n) {
  if (n == 0) return true;
  for (int i = 0; i < spec->n_na; i++)
    if (spec->na[i] && strlen(spec->na[i]) == n && !memcmp(spec->na[i], s, n)) return true;
  return false;
}

static int find_col(RtCsv *c, const char *name) {
  for (int i = 0; i < rt_csv_ncols(c); i++)
    if (!strcmp(rt_csv_name(c, i), name)) return i;
  return -1;
}

/* A location at the CSV header line, for notes. */
static RtLoc header_loc(const char *path) {
  RtLoc l = rt_loc_file(path);
  l.line = 1;
  l.col = 1;
  return l;
}

/* ---- label classes ---------------------------------------------------------- */

/* Distinct label spellings seen so far, interned through an open-addressing
 * hash table; ids are in order of first appearance until classes_sort. */
typedef struct Classes {
  char **names;      /* by id */
  int n, cap;
  int *slot;         /* hash table of ids, -1 empty */
  size_t nslot;
} Classes;

#define MAX_CLASSES 65536

static int classes_intern(Classes *k, const char *s, size_t len) {
  if (2 * (size_t)(k->n + 1) > k->nslot) {
    size_t ns = k->nslot ? k->nslot * 2 : 64;
    int *sl = rt_xmalloc(sizeof(int) * ns);
    for (size_t i = 0; i < ns; i++) sl[i] = -1;
    for (int id = 0; id < k->n; id++) {
      size_t h = (size_t)rt_fnv1a(k->names[id], strlen(k->names[id]), RT_FNV_INIT) & (ns - 1);
      while (sl[h] >= 0) h = (h + 1) & (ns - 1);
      sl[h] = id;
    }
    free(k->slot);
    k->slot = sl;
    k->nslot = ns;
  }
  size_t h = (size_t)rt_fnv1a(s, len, RT_FNV_INIT) & (k->nslot - 1);
  for (; k->slot[h] >= 0; h = (h + 1) & (k->nslot - 1)) {
    const char *t = k->names[k->slot[h]];
    if (strlen(t) == len && !memcmp(t, s, len)) return k->slot[h];
  }
  if (k->n == MAX_CLASSES) return -1;
  if (k->n == k->cap) {
    k->cap = k->cap ? k->cap * 2 : 16;
    k->names = rt_xrealloc(k->names, sizeof(char *) * (size_t)k->cap);
  }
  k->names[k->n] = memcpy(rt_xmalloc(len + 1), s, len);
  k->slot[h] = k->n;
  return k->n++;
}

typedef struct ClassKey {
  const char *name;
  double v;     /* numeric value when every class is a number */
  int id;       /* id before sorting */
} ClassKey;

static int cmp_bytes(const void *a, const void *b) {
  return strcmp(((const ClassKey *)a)->name, ((const ClassKey *)b)->name);
}

static int cmp_num(const void *a, const void *b) {
  const ClassKey *x = a, *y = b;
  if (x->v < y->v) return -1;
  if (x->v > y->v) return 1;
  return strcmp(x->name, y->name);   /* "1" and "1.0": still a fixed order */
}

/* Sorts the classes (numerically when all are numbers, else by bytes) and
 * returns remap[old id] = class index. */
static int *classes_sort(Classes *k) {
  ClassKey *keys = rt_xmalloc(sizeof *keys * (size_t)(k->n + 1));
  bool numeric = true;
  for (int i = 0; i < k->n; i++) {
    float f = 0;
    keys[i] = (ClassKey){k->names[i], 0, i};
    if (numeric && rt_parse_float(k->names[i], strlen(k->names[i]), &f)) {
      double d = strtod(k->names[i], NULL);
      keys[i].v = d;
    } else {
      numeric = false;
    }
  }
  qsort(keys, (size_t)k->n, sizeof *keys, numeric ? cmp_num : cmp_bytes);
  int *remap = rt_xmalloc(sizeof(int) * (size_t)(k->n + 1));
  char **sorted = rt_xmalloc(sizeof(char *) * (size_t)(k->n + 1));
  for (int i = 0; i < k->n; i++) {
    remap[keys[i].id] = i;
    sorted[i] = k->names[keys[i].id];
  }
  free(k->names);
  k->names = sorted;
  k->cap = k->n;
  free(keys);
  return remap;
}

/* ---- column resolution --------------------------------------------------- */

typedef enum { COL_UNUSED, COL_DROP, COL_LABEL, COL_FEAT, COL_STAR } ColRole;

/* What the single pass keeps per column a feature may read. */
typedef struct Col {
  ColRole role;
  bool numeric;      /* every non-missing cell so far parsed */
  Saved bad;         /* first cell that is not a number */
  Saved missing;     /* first missing cell */
  int64_t bad_row, missing_row;   /* record index of each (for ordering) */
  int feat;          /* an explicit feature reading it, or -1 */
  RtColType type;    /* declared by `column NAME: TYPE`, or AUTO */
  int seen;          /* cells seen: 1 numbers, 2 booleans (read as 1/0) */
  Saved boolcell;    /* first boolean cell (a column mixing kinds is an error) */
  bool text;         /* read only as categories by onehot (rt_xform.c) */
} Col;

/* Gives every header column its role, reporting spec names the header lacks
 * and columns claimed twice over (a feature of a dropped or label column). */
static bool resolve(const RtDataSpec *spec, RtCsv *c, Col *cols, int *label_col) {
  bool ok = true;
  const char *path = spec->csv_path;
  *label_col = -1;
  for (int i = 0; i < spec->n_drop; i++) {
    int j = find_col(c, spec->drop[i]);
    if (j < 0) {
      rt_diag(RT_ERROR, spec->drop_loc ? spec->drop_loc[i] : spec->source_loc,
              "column '%s' is not in the header of '%s'", spec->drop[i], path);
      rt_note(header_loc(path), "the header is here");
      ok = false;
    } else {
      cols[j].role = COL_DROP;
    }
  }
  if (spec->label) {
    int j = find_col(c, spec->label);
    if (j < 0) {
      rt_diag(RT_ERROR, spec->label_loc, "label column '%s' is not in the header of '%s'",
              spec->label, path);
      rt_note(header_loc(path), "the header is here");
      ok = false;
    } else if (cols[j].role == COL_DROP) {
      rt_diag(RT_ERROR, spec->label_loc, "the label column '%s' is also dropped", spec->label);
      ok = false;
    } else {
      cols[j].role = COL_LABEL;
      *label_col = j;
    }
  }
  for (int i = 0; i < spec->n_feats; i++) {
    const RtFeature *f = &spec->feats[i];
    const char *name = f->column ? f->column : f->name;
    int j = name ? find_col(c, name) : -1;
    if (j < 0) {
      rt_diag(RT_ERROR, f->loc, "column '%s' is not in the header of '%s'",
              name ? name : "?", path);
      rt_note(header_loc(path), "the header is here");
      ok = false;
    } else if (cols[j].role == COL_DROP) {
      rt_diag(RT_ERROR, f->loc, "feature '%s' reads column '%s', which is dropped",
              f->name ? f->name : name, name);
      ok = false;
    } else if (cols[j].role == COL_LABEL) {
      rt_diag(RT_ERROR, f->loc, "feature '%s' reads the label column '%s'",
              f->name ? f->name : name, name);
      rt_note(spec->label_loc, "the label is declared here");
      ok = false;
    } else {
      cols[j].role = COL_FEAT;
      if (cols[j].feat < 0) cols[j].feat = i;
    }
    for (int k = 0; k < f->n_prog; k++) {   /* every other column its program reads */
      int j2 = f->prog[k].op == RT_XOP_COL ? find_col(c, f->prog[k].column) : -1;
      if (j2 == j) continue;   /* the column above, reported there */
      if (j2 >= 0 && (cols[j2].role == COL_UNUSED || cols[j2].role == COL_FEAT)) {
        cols[j2].role = COL_FEAT;
        if (cols[j2].feat < 0) cols[j2].feat = i;
      } else if (j2 >= 0) {
        rt_diag(RT_ERROR, f->loc, "feature '%s' reads column '%s', which is %s", f->name,
                f->prog[k].column, cols[j2].role == COL_DROP ? "dropped" : "the label");
        ok = false;
      }
    }
  }
  if (spec->star)
    for (int j = 0; j < rt_csv_ncols(c); j++)
      if (cols[j].role == COL_UNUSED) cols[j].role = COL_STAR;
  return ok;
}

/* Reports a used column's first problem: a missing cell or a cell that is
 * not a number, whichever comes first; notes cite the statement using it. */
static bool check_col(const RtDataSpec *spec, RtCsv *c, Col *col, int j) {
  const char *name = rt_csv_name(c, j);
  RtLoc use = col->role == COL_STAR ? spec->star_loc : spec->feats[col->feat].loc;
  bool show_missing = col->missing.set && !rt_xform_rule(spec, name) &&
                      (!col->bad.set || col->missing_row < col->bad_row);
  if (show_missing) {
    rt_diag(RT_ERROR, col->missing.loc, "missing value in column '%s'", name);
    rt_note(use, "column '%s' is used here, and no `missing` rule covers it", name);
    return false;
  }
  if (col->text) return true;   /* categories: onehot reads any text */
  if (col->type == RT_COL_CATEGORY) {
    rt_diag(RT_ERROR, use, "column '%s' is declared 'category'; a category is not a number feature",
            name);
    for (int i = 0; i < spec->n_col_types; i++)
      if (!strcmp(spec->col_names[i], name) && spec->col_loc)
        rt_note(spec->col_loc[i], "declared here");
    return false;
  }
  if (!col->bad.set && col->seen == 3 && col->type == RT_COL_AUTO) {
    rt_diag(RT_ERROR, col->boolcell.loc, "column '%s' mixes numbers and booleans: found '%s'",
            name, col->boolcell.cell);
    rt_note(use, "declare 'column %s: bool' to read 1/0 as booleans too", name);
    return false;
  }
  if (col->bad.set) {
    if (col->role == COL_STAR) {
      rt_diag(RT_ERROR, col->bad.loc, "column '%s' is not numeric: found '%s'", name,
              col->bad.cell);
      rt_note(use, "'feature *' takes every column not dropped or used; drop '%s' or give it a feature",
              name);
    } else {
      rt_diag(RT_ERROR, col->bad.loc, "expected a number in column '%s', found '%s'", name,
              col->bad.cell);
      rt_note(use, "column '%s' is read as a number here", name);
    }
    return false;
  }
  return true;
}

/* The label's meaning when the spec maps spellings to classes: map values
 * must be the class indices 0..K-1 (K = 2 for binary). Fills names. */
static bool map_classes(const RtDataSpec *spec, RtTask task, char ***names, int *k) {
  int max = -1;
  for (int i = 0; i < spec->n_label_map; i++) {
    double v = spec->label_vals[i];
    if (!(v >= 0 && v < MAX_CLASSES && v == floor(v))) {
      rt_diag(RT_ERROR, spec->label_loc,
              "label map value %g for '%s' is not a class index (0, 1, ...)", v,
              spec->label_keys[i]);
      return false;
    }
    if ((int)v > max) max = (int)v;
  }
  int n = max + 1;
  if (task == RT_TASK_BINARY && n != 2) {
    rt_diag(RT_ERROR, spec->label_loc,
            "a binary label map must use the classes 0 and 1, found %d class%s", n,
            n == 1 ? "" : "es");
    return false;
  }
  char **nm = rt_xmalloc(sizeof(char *) * (size_t)(n + 1));
  for (int i = 0; i < spec->n_label_map; i++) {
    int v = (int)spec->label_vals[i];
    if (!nm[v]) nm[v] = rt_xstrdup(spec->label_keys[i]);
  }
  for (int v = 0; v < n; v++)
    if (!nm[v]) {
      rt_diag(RT_ERROR, spec->label_loc, "no label value maps to class %d", v);
      for (int i = 0; i < n; i++) free(nm[i]);
      free(nm);
      return false;
    }
  *names = nm;
  *k = n;
  return true;
}

/* Reports a label cell; the note cites the `label` statement. */
static void label_error(const RtDataSpec *spec, RtLoc at, const char *fmt, const char *a,
                        const char *b) {
  rt_diag(RT_ERROR, at, fmt, a, b);
  rt_note(spec->label_loc, "the label is declared here");
}

/* Shows at most 60 bytes of a cell in a message. */
static const char *short_cell(const char *s, char buf[72]) {
  size_t n = strlen(s);
  if (n <= 60) return s;
  memcpy(buf, s, 60);
  strcpy(buf + 60, "...");
  return buf;
}

/* The CSV's own errors (ragged rows, bad bytes) also cite the `source` line. */
static void source_note(const RtDataSpec *spec) {
  if (spec->source_loc.file)
    rt_note(spec->source_loc, "while reading the dataset '%s'", spec->name ? spec->name : "?");
}

/* ---- loading ------------------------------------------------------------- */

static void free_names(char **v, int n) {
  for (int i = 0; v && i < n; i++) free(v[i]);
  free(v);
}

void rt_data_free(RtData *d) {
  if (!d) return;
  if (d->xblock || d->yblock) {   /* the splits point into these */
    free(d->xblock);
    free(d->yblock);
    free(d->rec);
  } else {
    for (int s = 0; s < 3; s++) {
      free(d->split[s].x);
      free(d->split[s].y);
    }
  }
  free_names(d->feat_names, d->n_feats);
  free_names(d->class_names, d->n_classes);
  rt_xform_data_free(d);
  for (int i = 0; d->feats && i < d->n_feats; i++) {
    free(d->feats[i].name);
    free(d->feats[i].column);
  }
  free(d->feats);
  free(d);
}

/* The single pass, then classes, split, statistics and matrices. Column
 * problems are collected during the pass and reported at the end, once it is
 * known which columns `feature *` really uses; the CSV's own errors and label
 * errors stop the pass at once. */
RtData *rt_data_load(RtDataSpec *spec, RtTask task) {
  double t0 = now_s();
  RtCsvOpts copts = {.delim = spec->csv_delim, .quote = spec->csv_quote,
                     .no_header = spec->csv_no_header, .keep_ragged = spec->bad_row_skip};
  RtCsv *c = rt_csv_open_opts(spec->csv_path, &copts);
  if (!c) {
    source_note(spec);
    return NULL;
  }
  int ncols = rt_csv_ncols(c);
  Col *cols = rt_xmalloc(sizeof(Col) * (size_t)ncols);
  for (int j = 0; j < ncols; j++) cols[j].feat = -1, cols[j].numeric = true;
  int label_col = -1;
  RtData *d = NULL;
  float *y = NULL;
  int *yid = NULL;
  Classes cls = {0};
  char **map_names = NULL;
  int n_map = 0;
  int64_t n = 0, cap = 0;
  RtXload *xl = NULL;      /* cleaning and transforms (rt_xform.c), when the spec has them */
  uint64_t *keyh = NULL;   /* `split ... by COLUMN`: rt_split_key of each row */
  int key_col = spec->split_by ? find_col(c, spec->split_by) : -1;
  bool ok = resolve(spec, c, cols, &label_col);
  RtBadRows badrows = {0};
  RtColType *types = rt_coltypes(spec, c);   /* `column NAME: TYPE` (rt_coltype.c) */
  if (!types) ok = false;
  for (int j = 0; types && j < ncols; j++) cols[j].type = types[j];
  if (spec->split_by && key_col < 0) {
    rt_diag(RT_ERROR, spec->split_loc, "column '%s' is not in the header of '%s'",
            spec->split_by, spec->csv_path);
    ok = false;
  }
  if (ok && !spec->label) {
    rt_diag(RT_ERROR, spec->source_loc, "the dataset '%s' has no label",
            spec->name ? spec->name : "?");
    ok = false;
  }
  if (ok && task != RT_TASK_REGRESSION && spec->n_label_map > 0)
    ok = map_classes(spec, task, &map_names, &n_map);
  if (!ok) goto fail;
  {   /* cleaning and transforms run in rt_xform.c for every spec */
    unsigned char *use = rt_xmalloc((size_t)ncols + 1);
    for (int j = 0; j < ncols; j++)
      use[j] = cols[j].role == COL_FEAT ? 1 : cols[j].role == COL_STAR ? 2
               : cols[j].role == COL_LABEL ? 3 : 0;
    xl = rt_xload_new(spec, c, use);
    free(use);
    if (!xl) goto fail;
    for (int j = 0; j < ncols; j++) cols[j].text = rt_xload_text(xl, j);
  }

  int r;
  char sbuf[72];
  while ((r = rt_csv_next(c)) > 0) {
    bool fatal;
    if (!rt_row_ok(c, spec, types, label_col, task == RT_TASK_REGRESSION, &badrows, &fatal)) {
      if (fatal) goto fail;
      continue;   /* on_bad_row skip */
    }
    int keep = xl ? rt_xload_row(xl, c, n) : 1;
    if (keep < 0) goto fail;
    if (keep == 0) continue;   /* a duplicate, or a `drop_row` rule */
    if (n == cap) {
      cap = cap ? cap * 2 : 1024;
      y = rt_xrealloc(y, sizeof(float) * (size_t)cap);
      if (task != RT_TASK_REGRESSION && !n_map) yid = rt_xrealloc(yid, sizeof(int) * (size_t)cap);
      if (key_col >= 0) keyh = rt_xrealloc(keyh, sizeof(uint64_t) * (size_t)cap);
    }
    if (key_col >= 0) {
      size_t klen;
      const char *ks = rt_csv_field(c, key_col, &klen);
      keyh[n] = rt_split_key(spec, ks, klen);
    }
    for (int j = 0; j < ncols; j++) {
      Col *col = &cols[j];
      if (col->role != COL_FEAT && col->role != COL_STAR) continue;
      size_t len;
      const char *s = rt_csv_field(c, j, &len);
      float v = NAN;
      if (is_missing(spec, s, len)) {
        if (!col->missing.set) saved_set(&col->missing, rt_csv_loc(c, j), s), col->missing_row = n;
      } else if (col->text) {
        /* a category: rt_xload_row read it */
      } else if (rt_xload_number(xl, j)) {
        col->seen |= 1;   /* a plain decimal: rt_xload_row parsed it */
      } else if (rt_parse_float(s, len, &v)) {
        col->seen |= 1;   /* rt_xload_row keeps the value (as a double) */
      } else if (col->type != RT_COL_CATEGORY && rt_parse_bool(s, len, &v)) {
        col->seen |= 2;   /* true/false, yes/no: a 1/0 feature */
        if (!col->boolcell.set) saved_set(&col->boolcell, rt_csv_loc(c, j), s);
      } else {
        v = NAN;
        if (col->numeric) {
          col->numeric = false;
          saved_set(&col->bad, rt_csv_loc(c, j), s);
          col->bad_row = n;
        }
      }
    }
    size_t len;
    const char *s = rt_csv_field(c, label_col, &len);
    if (is_missing(spec, s, len)) {
      rt_diag(RT_ERROR, rt_csv_loc(c, label_col), "missing value in label column '%s'",
              spec->label);
      rt_note(spec->label_loc, "the label is declared here");
      goto fail;
    }
    if (task == RT_TASK_REGRESSION) {
      if (!rt_parse_float(s, len, &y[n])) {
        label_error(spec, rt_csv_loc(c, label_col),
                    "expected a number in label column '%s', found '%s'", spec->label,
                    short_cell(s, sbuf));
        goto fail;
      }
    } else if (n_map) {
      int k = 0;
      while (k < spec->n_label_map && strcmp(spec->label_keys[k], s)) k++;
      if (k == spec->n_label_map) {
        label_error(spec, rt_csv_loc(c, label_col), "label value '%s' is not in the map of '%s'",
                    short_cell(s, sbuf), spec->label);
        goto fail;
      }
      y[n] = (float)spec->label_vals[k];
    } else {
      yid[n] = classes_intern(&cls, s, len);
      if (yid[n] < 0) {
        rt_diag(RT_ERROR, rt_csv_loc(c, label_col),
                "label column '%s' has more than %d distinct values", spec->label, MAX_CLASSES);
        rt_note(spec->label_loc, "a classification label needs a few classes");
        goto fail;
      }
    }
    n++;
  }
  if (r < 0) {
    source_note(spec);
    goto fail;
  }

  /* column problems, in header order */
  for (int j = 0; j < ncols; j++) {
    Col *col = &cols[j];
    if (col->role == COL_FEAT || col->role == COL_STAR)
      if (!check_col(spec, c, col, j)) ok = false;
  }
  if (!ok) goto fail;
  if (n == 0 && badrows.n > 0) {   /* on_bad_row skip refused every row */
    rt_badrows_report(&badrows, spec->csv_path, rt_csv_records(c), spec->source_loc);
    rt_diag(RT_ERROR, rt_loc_file(spec->csv_path), "no data rows: every row was skipped as bad");
    goto fail;
  }
  if (n == 0) {
    rt_diag(RT_ERROR, rt_loc_file(spec->csv_path), "no data rows: the file has only a header");
    rt_note(spec->source_loc, "read here");
    goto fail;
  }

  d = rt_xmalloc(sizeof *d);
  d->task = task;
  /* classes */
  if (task != RT_TASK_REGRESSION) {
    if (n_map) {
      d->class_names = map_names;
      d->n_classes = n_map;
      map_names = NULL;
    } else {
      int *remap = classes_sort(&cls);
      for (int64_t i = 0; i < n; i++) y[i] = (float)remap[yid[i]];
      free(remap);
      d->class_names = cls.names;
      d->n_classes = cls.n;
      cls.names = NULL;
      bool bad = task == RT_TASK_BINARY ? d->n_classes != 2 : d->n_classes < 2;
      if (bad) {
        rt_diag(RT_ERROR, spec->label_loc,
                "%s needs %s classes, but label column '%s' has %d", 
                task == RT_TASK_BINARY ? "binary classification" : "classification",
                task == RT_TASK_BINARY ? "exactly 2" : "at least 2", spec->label, d->n_classes);
        char list[256] = "";
        size_t at = 0;
        for (int i = 0; i < d->n_classes && i < 5 && at < sizeof list; i++)
          at += (size_t)snprintf(list + at, sizeof list - at, "%s'%s'", i ? ", " : "",
                                 d->class_names[i]);
        if (d->n_classes > 5 && at < sizeof list) snprintf(list + at, sizeof list - at, ", ...");
        if (d->n_classes > 0)
          rt_note(rt_loc_file(spec->csv_path), "its values are %s", list);
        goto fail;
      }
    }
  }

  /* features: explicit ones in spec order, then `*` columns in header order */
  int nf = spec->n_feats;
  for (int j = 0; j < ncols; j++) nf += cols[j].role == COL_STAR;
  if (nf == 0) {
    rt_diag(RT_ERROR, spec->star ? spec->star_loc : spec->source_loc,
            "the dataset '%s' has no features: every column of '%s' is dropped or the label",
            spec->name ? spec->name : "?", spec->csv_path);
    goto fail;
  }
  d->n_feats = nf;
  d->feats = rt_xmalloc(sizeof(RtFeature) * (size_t)(nf + 1));
  d->feat_names = rt_xmalloc(sizeof(char *) * (size_t)(nf + 1));
  int fi = 0;
  for (int i = 0; i < spec->n_feats; i++, fi++) {
    const RtFeature *f = &spec->feats[i];
    const char *cname = f->column ? f->column : f->name;
    d->feats[fi] = *f;
    d->feats[fi].prog = NULL, d->feats[fi].n_prog = 0, d->feats[fi].cat = NULL;
    d->feats[fi].name = rt_xstrdup(f->name ? f->name : cname);
    d->feats[fi].column = rt_xstrdup(cname);
  }
  for (int j = 0; j < ncols; j++)
    if (cols[j].role == COL_STAR) {
      d->feats[fi] = (RtFeature){.name = rt_xstrdup(rt_csv_name(c, j)),
                                 .column = rt_xstrdup(rt_csv_name(c, j)),
                                 .xform = spec->star_xform, .loc = spec->star_loc};
      fi++;
    }
  for (int i = 0; i < nf; i++) d->feat_names[i] = rt_xstrdup(d->feats[i].name);

  /* split (rt_split.c): row indices ordered train, val, test */
  free(yid);   /* only y from here on: what is not needed goes before the matrix */
  yid = NULL;
  int64_t *idx = rt_xmalloc(sizeof(int64_t) * (size_t)n);
  int64_t cnt[3];
  if (rt_split_rows(spec, n, y, d->n_classes, keyh, idx, cnt)) {
    free(idx);
    goto fail;
  }
  free(keyh);
  keyh = NULL;
  if (cnt[0] == 0) {
    rt_diag(RT_ERROR, spec->split_loc.line ? spec->split_loc : spec->source_loc,
            "the train split is empty: %lld row%s in '%s'", (long long)n, n == 1 ? "" : "s",
            spec->csv_path);
    free(idx);
    goto fail;
  }
  d->rows_read = rt_csv_records(c);
  rt_hash_hex(rt_csv_hash(c), d->data_hash);
  rt_csv_close(c);   /* the reader's buffers go before the matrix is made */
  c = NULL;
  /* fills, statistics, onehot and programs (rt_xform.c): every input is a
   * program evaluated in double, so train, predict and eval agree exactly */
  ok = rt_xload_finish(xl, spec, d, idx, cnt, y) == 0;   /* takes idx and y */
  y = NULL;
  if (!ok) goto fail;
  d->rows_bad = badrows.n;
  if (!spec->cv_fold)   /* a cv fold's load reads the same rows again: reported once */
    rt_badrows_report(&badrows, spec->csv_path, d->rows_read, spec->source_loc);
  goto done;

fail:
  rt_data_free(d);
  d = NULL;
done:
  for (int j = 0; j < ncols; j++) {
    saved_free(&cols[j].bad);
    saved_free(&cols[j].missing);
    saved_free(&cols[j].boolcell);
  }
  free(types);
  rt_xload_free(xl);
  rt_badrows_free(&badrows);
  free(cols);
  free(y);
  free(yid);
  free(keyh);
  free_names(cls.names, cls.n);
  free(cls.slot);
  free_names(map_names, n_map);
  rt_csv_close(c);
  if (d) d->load_s = now_s() - t0;
  return d;
}

/* ---- frozen preprocessing -------------------------------------------------- */

static char **dup_names(char *const *v, int n) {
  if (!v || n <= 0) return NULL;
  char **o = rt_xmalloc(sizeof(char *) * (size_t)n);
  for (int i = 0; i < n; i++) o[i] = rt_xstrdup(v[i]);
  return o;
}

RtDataSpec *rt_data_freeze(const RtDataSpec *spec, const RtData *d) {
  RtDataSpec *f = rt_xmalloc(sizeof *f);
  f->name = rt_xstrdup(spec->name);
  f->csv_path = rt_xstrdup(spec->csv_path);
  f->csv_delim = spec->csv_delim;   /* predict reads files shaped like the training file */
  f->csv_quote = spec->csv_quote;
  f->csv_no_header = spec->csv_no_header;
  f->na = dup_names(spec->na, spec->n_na);
  f->n_na = f->na ? spec->n_na : 0;
  f->drop = dup_names(spec->drop, spec->n_drop);
  f->n_drop = f->drop ? spec->n_drop : 0;
  const RtFeature *src = d ? d->feats : spec->feats;
  int nf = d ? d->n_feats : spec->n_feats;
  f->feats = rt_xmalloc(sizeof(RtFeature) * (size_t)(nf + 1));
  f->n_feats = nf;
  for (int i = 0; i < nf; i++) {
    f->feats[i] = (RtFeature){.name = rt_xstrdup(src[i].name), .column = rt_xstrdup(src[i].column),
                              .xform = src[i].xform, .mean = src[i].mean, .std = src[i].std};
  }
  f->star = false;
  f->label = rt_xstrdup(spec->label);
  if (spec->n_label_map > 0) {
    f->label_keys = dup_names(spec->label_keys, spec->n_label_map);
    f->label_vals = rt_xmalloc(sizeof(double) * (size_t)spec->n_label_map);
    memcpy(f->label_vals, spec->label_vals, sizeof(double) * (size_t)spec->n_label_map);
    f->n_label_map = spec->n_label_map;
  }
  memcpy(f->split, spec->split, sizeof f->split);
  f->split_seed = spec->split_seed;
  rt_xform_freeze(f, spec, d);
  return f;
}

void rt_data_spec_free(RtDataSpec *s) {
  if (!s) return;
  free(s->name);
  free(s->csv_path);
  free_names(s->na, s->n_na);
  free_names(s->drop, s->n_drop);
  free(s->drop_loc);
  rt_xform_spec_free(s);
  for (int i = 0; s->feats && i < s->n_feats; i++) {
    free(s->feats[i].name);
    free(s->feats[i].column);
  }
  free(s->feats);
  free(s->label);
  free_names(s->label_keys, s->n_label_map);
  free(s->label_vals);
  free(s);
}

void rt_split_free(RtSplit *s) {
  free(s->x);
  free(s->y);
  s->x = s->y = NULL;
  s->n = 0;
}

/* The label cell of the current record read as a model with frozen's label
 * (and classes) expects it, into *y. False after reporting it at its cell. */
bool rt_data_label(RtCsv *c, int label_col, const RtDataSpec *frozen, RtTask task,
                   char *const *classes, int n_classes, float *y) {
  char sbuf[72];
  size_t len;
  const char *s = rt_csv_field(c, label_col, &len);
  int k = -1;
  if (task == RT_TASK_REGRESSION) {
    if (rt_parse_float(s, len, y)) k = 0;
  } else if (frozen->n_label_map > 0) {
    for (int m = 0; m < frozen->n_label_map && k < 0; m++)
      if (!strcmp(frozen->label_keys[m], s)) k = (int)frozen->label_vals[m];
  } else {
    for (int m = 0; m < n_classes && k < 0; m++)
      if (!strcmp(classes[m], s)) k = m;
  }
  if (k < 0) {
    rt_diag(RT_ERROR, rt_csv_loc(c, label_col),
            task == RT_TASK_REGRESSION ? "expected a number in label column '%s', found '%s'"
                                       : "label column '%s' has '%s', not one of the model's classes",
            frozen->label, short_cell(s, sbuf));
    return false;
  }
  if (task != RT_TASK_REGRESSION) *y = (float)k;
  return true;
}

/* Streams a CSV through the frozen cleaning and programs: rt_xform_apply,
 * the same code training ran (there is no other path). */
int rt_data_apply(const RtDataSpec *frozen, const char *csv_path, RtTask task,
                  char *const *classes, int n_classes, bool with_label, RtSplit *out) {
  return rt_xform_apply(frozen, csv_path, task, classes, n_classes, with_label, out);
}
