/* rt_coltype.c — declared column types (`column NAME: TYPE`) and bad rows
 * (`on_bad_row skip|fail`) for rt_data.c: which cells a row must hold to be
 * kept, and the closing count of the rows skipped. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rt.h"

static const char *const type_names[] = {"auto", "number", "category", "bool"};

RtColType *rt_coltypes(const RtDataSpec *spec, RtCsv *c) {
  int ncols = rt_csv_ncols(c);
  RtColType *t = rt_xmalloc(sizeof(RtColType) * (size_t)(ncols + 1));
  bool ok = true;
  for (int i = 0; i < spec->n_col_types; i++) {
    int j = 0;
    while (j < ncols && strcmp(rt_csv_name(c, j), spec->col_names[i])) j++;
    if (j == ncols) {
      rt_diag(RT_ERROR, spec->col_loc ? spec->col_loc[i] : spec->source_loc,
              "column '%s' is not in the header of '%s'", spec->col_names[i], spec->csv_path);
      ok = false;
      continue;
    }
    t[j] = spec->col_types[i];
  }
  if (!ok) {
    free(t);
    return NULL;
  }
  return t;
}

/* "" is always missing; so is any of the spec's `na` strings. */
static bool cell_missing(const RtDataSpec *spec, const char *s, size_t n) {
  if (n == 0) return true;
  for (int i = 0; i < spec->n_na; i++)
    if (spec->na[i] && strlen(spec->na[i]) == n && !memcmp(spec->na[i], s, n)) return true;
  return false;
}

/* A cell shortened for a message: at most 40 bytes, then "...". */
static const char *cell_short(const char *s, char buf[48]) {
  size_t n = strlen(s);
  if (n <= 40) return s;
  memcpy(buf, s, 40);
  strcpy(buf + 40, "...");
  return buf;
}

static RtLoc decl_loc(const RtDataSpec *spec, const char *name) {
  for (int i = spec->n_col_types - 1; i >= 0; i--)
    if (!strcmp(spec->col_names[i], name) && spec->col_loc) return spec->col_loc[i];
  return spec->source_loc;
}

bool rt_row_ok(RtCsv *c, const RtDataSpec *spec, const RtColType *types, int label_col,
               bool label_num, RtBadRows *bad, bool *fatal) {
  *fatal = false;
  int ncols = rt_csv_ncols(c), nf = rt_csv_nfields(c);
  bool skip = spec->bad_row_skip;
  if (nf != ncols) {   /* only with keep_ragged, i.e. under skip */
    rt_badrows_add(bad, rt_csv_loc(c, nf > ncols ? ncols : nf), "expected %d field%s, found %d",
                   ncols, ncols == 1 ? "" : "s", nf);
    return false;
  }
  for (int j = 0; j < ncols; j++) {
    RtColType t = types ? types[j] : RT_COL_AUTO;
    bool num = t == RT_COL_NUMBER || (j == label_col && label_num && skip);
    if (!num && t != RT_COL_BOOL) continue;
    size_t len;
    const char *s = rt_csv_field(c, j, &len);
    if (cell_missing(spec, s, len)) continue;
    float v;
    if (num ? rt_parse_float(s, len, &v)
            : rt_parse_bool(s, len, &v) || (rt_parse_float(s, len, &v) && (v == 0 || v == 1)))
      continue;
    char buf[48];
    const char *what = num ? "a number" : "a boolean (true/false, yes/no, 1/0)";
    const char *name = rt_csv_name(c, j);
    if (skip) {
      rt_badrows_add(bad, rt_csv_loc(c, j), "expected %s in column '%s', found '%s'", what, name,
                     cell_short(s, buf));
      return false;
    }
    rt_diag(RT_ERROR, rt_csv_loc(c, j), "expected %s in column '%s', found '%s'", what, name,
            cell_short(s, buf));
    if (t != RT_COL_AUTO)
      rt_note(decl_loc(spec, name), "column '%s' is declared '%s' here", name, type_names[t]);
    else
      rt_note(spec->label_loc, "the label of a regression is a number");
    rt_note(spec->source_loc, "'on_bad_row skip' would skip such rows");
    *fatal = true;
    return false;
  }
  return true;
}

/* ---- bad rows (`on_bad_row skip`) ------------------------------------------ */

void rt_badrows_add(RtBadRows *b, RtLoc at, const char *fmt, ...) {
  b->n++;
  if (b->kept == 3) return;
  char msg[256];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  at.text = rt_xstrdup(at.text);
  b->loc[b->kept] = at;
  b->msg[b->kept++] = rt_xstrdup(msg);
}

void rt_badrows_report(const RtBadRows *b, const char *path, int64_t rows, RtLoc stmt) {
  if (b->n == 0) return;
  rt_diag(RT_WARNING, stmt, "skipped %lld bad row%s of %lld in '%s'", (long long)b->n,
          b->n == 1 ? "" : "s", (long long)rows, path);
  for (int i = 0; i < b->kept; i++) rt_note(b->loc[i], "%s", b->msg[i]);
  if (b->n > b->kept)
    rt_note(rt_loc_file(path), "and %lld more", (long long)(b->n - b->kept));
}

void rt_badrows_free(RtBadRows *b) {
  for (int i = 0; i < b->kept; i++) {
    free((char *)b->loc[i].text);
    free(b->msg[i]);
  }
  b->kept = 0;
}
