/* rt_serve_req.c — one POST /predict body to its response, with no socket:
 * JSON rows by raw column name → each cell checked, and filled by the
 * model's frozen `missing` rules → the inputs (MlxKernels.xform, or
 * rt_xform.c's interpreter when there is none) → MlxKernels.predict → JSON.
 * The cells, fills, onehot codes and inputs are computed as rt_data_apply_xf
 * computes them for `mlxc predict`, so both give the same bits. rt_serve.c
 * calls this on its pool threads, each with its own RtServeWork;
 * tests/serve_decode.c and tests/fuzz/fuzz_request.c call it directly. */
#include <float.h>
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "rt.h"

/* One raw column a request must (or may) give. */
typedef struct SCol {
  const char *name;       /* the CSV header the model reads */
  bool num, cat;          /* read as a number (a program's COL) / as categories (onehot) */
  const RtMissing *rule;  /* its frozen `missing` rule, or NULL */
  int *groups; int ngroups; /* onehot groups reading it: their first input's index */
} SCol;

struct RtServeModel {
  const RtModel *m;
  const MlxKernels *k;
  MlxXformFn xf;          /* k->xform, NULL when some input has no program */
  int nf, n_out;          /* inputs, outputs of the last layer */
  SCol *col; int ncols;
  int *slot; int nslot;   /* open addressing by name: col index, -2 ignored name, -1 empty */
  const char **slot_name; /* the name in each slot */
  RtXop **prog; int *n_prog; /* per input: its program (NULL for onehot) */
  RtXop **own;            /* programs built here for plain (legacy) features */
  int **opcol;            /* per input, per op: the column a COL op reads, else -1 */
  int ncv;                /* COL ops over all inputs: xf's column pointers */
};

struct RtServeWork {
  int64_t cap;            /* rows the per-row arrays hold */
  int ncols, nf;          /* the model's, for freeing */
  double **v;             /* per column: the value per row (num columns; else NULL) */
  int32_t **codes;        /* per input: onehot code per row (group starts; else NULL) */
  const json_t **cell;    /* per column: the current row's value (NULL: absent) */
  float *x, *out;         /* inputs n x nf, outputs n x n_out */
  float *kwork;           /* the predict kernel's scratch */
  const double **cv;      /* xf's column pointers */
  double **colv;          /* the interpreter's per-op columns */
  double *val;            /* the interpreter's values of one input */
  char *buf; size_t len, bcap;   /* the response */
};

/* ---- text out ---------------------------------------------------------------- */

static void put(RtServeWork *w, const char *s, size_t n) {
  if (w->len + n + 1 > w->bcap) {
    size_t c = w->bcap ? w->bcap : 4096;
    while (w->len + n + 1 > c) c *= 2;
    w->buf = rt_xrealloc(w->buf, c);
    w->bcap = c;
  }
  memcpy(w->buf + w->len, s, n);
  w->len += n;
  w->buf[w->len] = 0;
}

static void puts_(RtServeWork *w, const char *s) { put(w, s, strlen(s)); }

int rt_utf8_len(const unsigned char *s) {
  int n = s[0] >= 0xf0 && s[0] <= 0xf4 ? 4 : s[0] >= 0xe0 ? 3 : s[0] >= 0xc2 && s[0] < 0xe0 ? 2 : 0;
  if (s[0] > 0xf4) return 0;
  for (int i = 1; i < n; i++)
    if ((s[i] & 0xc0) != 0x80) return 0;
  if (n == 3 && ((s[0] == 0xe0 && s[1] < 0xa0) || (s[0] == 0xed && s[1] >= 0xa0))) return 0;
  if (n == 4 && ((s[0] == 0xf0 && s[1] < 0x90) || (s[0] == 0xf4 && s[1] >= 0x90))) return 0;
  return n;
}

/* s as a JSON string: quotes, backslashes and control bytes escaped, a
 * byte that is not well-formed UTF-8 (a message quoting bad input) as
 * U+FFFD, so the reply is always valid JSON. */
static void put_str(RtServeWork *w, const char *s) {
  put(w, "\"", 1);
  const char *run = s;
  while (*s) {
    unsigned char ch = (unsigned char)*s;
    int n = ch >= 0x80 ? rt_utf8_len((const unsigned char *)s) : 1;
    if (n > 1 || (ch >= 0x20 && ch < 0x7f && ch != '"' && ch != '\\')) {
      s += n;
      continue;
    }
    put(w, run, (size_t)(s - run));
    char esc[8];
    if (ch == '"' || ch == '\\') snprintf(esc, sizeof esc, "\\%c", ch);
    else if (ch < 0x80) snprintf(esc, sizeof esc, "\\u%04x", ch);
    else strcpy(esc, "\\ufffd");
    puts_(w, esc);
    run = ++s;
  }
  put(w, run, (size_t)(s - run));
  put(w, "\"", 1);
}

/* The shortest decimal that reads back as the same float; null when it is
 * not finite (JSON has no NaN). */
static void put_float(RtServeWork *w, float f) {
  char t[32];
  rt_float_text(f, t);
  puts_(w, t);
}

/* At most 60 bytes of s for a message, cut on a UTF-8 boundary. */
static const char *short_text(const char *s, char buf[72]) {
  size_t n = strlen(s);
  if (n <= 60) return s;
  n = 60;
  while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80) n--;
  memcpy(buf, s, n);
  strcpy(buf + n, "...");
  return buf;
}

/* After column j, the other fields the row lacks that no rule fills, for the
 * message about j: " (also missing: 'a', 'b' and 3 more)", or "". */
static void others_missing(const RtServeModel *s, const RtServeWork *w, int j, char *out,
                           size_t n) {
  int shown = 0, more = 0;
  size_t at = 0;
  out[0] = 0;
  for (int k = j + 1; k < s->ncols; k++) {
    const RtMissing *m = s->col[k].rule;
    if (w->cell[k] || (m && m->kind != RT_MISS_NONE)) continue;
    if (shown == 4 || strlen(s->col[k].name) > 40) {
      more++;
      continue;
    }
    int wrote = snprintf(out + at, n - at, "%s'%s'", shown ? ", " : " (also missing: ",
                         s->col[k].name);
    if (wrote < 0 || (size_t)wrote >= n - at) break;
    at += (size_t)wrote;
    shown++;
  }
  if (!shown) {   /* none, or the first did not fit: nothing half-written */
    out[0] = 0;
    return;
  }
  if (more) snprintf(out + at, n - at, " and %d more)", more);
  else snprintf(out + at, n - at, ")");
}

/* The error reply: {"request_id", "error", "field"?, "row"?}; row < 0 for
 * a single-object request (it has no row number), else the message starts
 * with "row N: ". */
static void fail(RtServeWork *w, RtServeReply *r, const char *req_id, const char *field,
                 int64_t row, const char *fmt, ...) __attribute__((format(printf, 6, 7)));
static void fail(RtServeWork *w, RtServeReply *r, const char *req_id, const char *field,
                 int64_t row, const char *fmt, ...) {
  char msg[512];
  int at = row >= 0 ? snprintf(msg, sizeof msg, "row %lld: ", (long long)row) : 0;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg + at, sizeof msg - (size_t)at, fmt, ap);
  va_end(ap);
  w->len = 0;
  puts_(w, "{\"request_id\":");
  put_str(w, req_id ? req_id : "");
  puts_(w, ",\"error\":");
  put_str(w, msg);
  if (field) {
    puts_(w, ",\"field\":");
    put_str(w, field);
  }
  if (row >= 0) {
    char t[32];
    snprintf(t, sizeof t, ",\"row\":%lld", (long long)row);
    puts_(w, t);
  }
  puts_(w, "}");
  r->status = 400;
  r->body = w->buf;
  r->len = w->len;
  r->n_rows = 0;
  r->pred = NULL;
}

/* ---- the prepared model -------------------------------------------------------- */

static uint32_t name_hash(const char *s) { return (uint32_t)rt_fnv1a(s, strlen(s), RT_FNV_INIT); }

/* The slot of name: where it is, or the empty slot it would take. */
static int slot_of(const RtServeModel *s, const char *name) {
  int h = (int)(name_hash(name) & (uint32_t)(s->nslot - 1));
  while (s->slot[h] != -1 && strcmp(s->slot_name[h], name)) h = (h + 1) & (s->nslot - 1);
  return h;
}

/* The column called name, adding it (num/cat say how it is read). */
static int col_add(RtServeModel *s, const char *name, bool num, bool cat) {
  int h = slot_of(s, name);
  int j = s->slot[h];
  if (j == -1) {
    j = s->ncols++;
    s->col[j] = (SCol){.name = name, .rule = rt_xform_rule(s->m->data, name)};
    s->slot[h] = j;
    s->slot_name[h] = name;
  }
  if (j >= 0) {
    s->col[j].num |= num;
    s->col[j].cat |= cat;
  }
  return j;
}

/* The label and `drop column` names: a raw CSV row has them, so a request
 * may too; they are ignored. */
static void ignore_add(RtServeModel *s, const char *name) {
  if (!name) return;
  int h = slot_of(s, name);
  if (s->slot[h] != -1) return;
  s->slot[h] = -2;
  s->slot_name[h] = name;
}

void rt_serve_model_ignore(RtServeModel *s, const char *name) { ignore_add(s, name); }

RtServeModel *rt_serve_model_new(const RtModel *m, const MlxKernels *k) {
  const RtDataSpec *spec = m->data;
  if (!spec || !k || !k->predict || m->desc.n_layers < 1) return NULL;
  RtServeModel *s = rt_xmalloc(sizeof *s);
  s->m = m;
  s->k = k;
  s->xf = k->xform;
  int nf = s->nf = spec->n_feats;
  s->n_out = m->desc.layers[m->desc.n_layers - 1].units;
  int maxcols = 2 + spec->n_drop;   /* label, drops, then the columns inputs read */
  for (int i = 0; i < nf; i++) maxcols += spec->feats[i].prog ? spec->feats[i].n_prog : 1;
  s->nslot = 16;
  while (s->nslot < 2 * maxcols) s->nslot *= 2;
  s->slot = rt_xmalloc(sizeof(int) * (size_t)s->nslot);
  s->slot_name = rt_xmalloc(sizeof(char *) * (size_t)s->nslot);
  for (int h = 0; h < s->nslot; h++) s->slot[h] = -1;
  s->col = rt_xmalloc(sizeof(SCol) * (size_t)maxcols);
  s->prog = rt_xmalloc(sizeof(RtXop *) * (size_t)(nf + 1));
  s->n_prog = rt_xmalloc(sizeof(int) * (size_t)(nf + 1));
  s->own = rt_xmalloc(sizeof(RtXop *) * (size_t)(nf + 1));
  s->opcol = rt_xmalloc(sizeof(int *) * (size_t)(nf + 1));
  int *gcol = rt_xmalloc(sizeof(int) * (size_t)(nf + 1));
  for (int i = 0; i < nf; i++) {
    const RtFeature *f = &spec->feats[i];
    gcol[i] = -1;
    if (f->onehot != RT_OH_NONE) {
      if (f->cat_index == 0 && f->column) gcol[i] = col_add(s, f->column, false, true);
      continue;
    }
    if (f->prog) {
      s->prog[i] = f->prog;
      s->n_prog[i] = f->n_prog;
    } else {   /* a plain feature (minor 0 file): its column, then standardize */
      s->xf = NULL;   /* compiled from programs only, as rt_data_apply_xf says */
      RtXop *p = s->own[i] = rt_xmalloc(sizeof(RtXop) * 2);
      p[0] = (RtXop){.op = RT_XOP_COL, .column = f->column};
      p[1] = (RtXop){.op = RT_XOP_STANDARDIZE, .a = f->mean, .b = f->std};
      s->prog[i] = p;
      s->n_prog[i] = f->xform == RT_XF_STANDARDIZE ? 2 : 1;
    }
    s->opcol[i] = rt_xmalloc(sizeof(int) * (size_t)(s->n_prog[i] + 1));
    for (int q = 0; q < s->n_prog[i]; q++) {
      const RtXop *o = &s->prog[i][q];
      s->opcol[i][q] = o->op == RT_XOP_COL && o->column ? col_add(s, o->column, true, false) : -1;
      s->ncv += o->op == RT_XOP_COL;
    }
  }
  for (int i = 0; i < nf; i++) {   /* each column's onehot groups */
    if (gcol[i] < 0) continue;
    SCol *c = &s->col[gcol[i]];
    c->groups = rt_xrealloc(c->groups, sizeof(int) * (size_t)(c->ngroups + 1));
    c->groups[c->ngroups++] = i;
  }
  free(gcol);
  ignore_add(s, spec->label);
  for (int i = 0; i < spec->n_drop; i++) ignore_add(s, spec->drop[i]);
  return s;
}

void rt_serve_model_free(RtServeModel *s) {
  if (!s) return;
  for (int j = 0; j < s->ncols; j++) free(s->col[j].groups);
  for (int i = 0; i < s->nf; i++) {
    free(s->own[i]);
    free(s->opcol[i]);
  }
  free(s->col);
  free(s->slot);
  free(s->slot_name);
  free(s->prog);
  free(s->n_prog);
  free(s->own);
  free(s->opcol);
  free(s);
}

RtServeWork *rt_serve_work_new(const RtServeModel *s) {
  RtServeWork *w = rt_xmalloc(sizeof *w);
  w->ncols = s->ncols;
  w->nf = s->nf;
  w->v = rt_xmalloc(sizeof(double *) * (size_t)(s->ncols + 1));
  w->codes = rt_xmalloc(sizeof(int32_t *) * (size_t)(s->nf + 1));
  w->cell = rt_xmalloc(sizeof(json_t *) * (size_t)(s->ncols + 1));
  w->cv = rt_xmalloc(sizeof(double *) * (size_t)(s->ncv + 1));
  int maxp = 1;
  for (int i = 0; i < s->nf; i++)
    if (s->n_prog[i] > maxp) maxp = s->n_prog[i];
  w->colv = rt_xmalloc(sizeof(double *) * (size_t)(maxp + 1));
  int64_t nw = s->k->n_work > 0 ? s->k->n_work : 1;
  w->kwork = rt_xmalloc(sizeof(float) * (size_t)nw);
  return w;
}

void rt_serve_work_free(RtServeWork *w) {
  if (!w) return;
  free(w->buf);
  free(w->cell);
  free(w->cv);
  free(w->colv);
  free(w->kwork);
  free(w->x);
  free(w->out);
  free(w->val);
  for (int j = 0; j < w->ncols; j++) free(w->v[j]);
  for (int i = 0; i < w->nf; i++) free(w->codes[i]);
  free(w->v);
  free(w->codes);
  free(w);
}

/* Room for n rows. */
static void work_grow(const RtServeModel *s, RtServeWork *w, int64_t n) {
  if (n <= w->cap) return;
  int64_t c = w->cap ? w->cap : 16;
  while (c < n) c *= 2;
  size_t rows = (size_t)c;
  for (int j = 0; j < s->ncols; j++) {
    if (s->col[j].num) w->v[j] = rt_xrealloc(w->v[j], sizeof(double) * rows);
    for (int g = 0; g < s->col[j].ngroups; g++) {
      int i = s->col[j].groups[g];
      w->codes[i] = rt_xrealloc(w->codes[i], sizeof(int32_t) * rows);
    }
  }
  w->x = rt_xrealloc(w->x, sizeof(float) * (rows * (size_t)(s->nf > 0 ? s->nf : 1)));
  w->out = rt_xrealloc(w->out, sizeof(float) * (rows * (size_t)(s->n_out > 0 ? s->n_out : 1)));
  w->val = rt_xrealloc(w->val, sizeof(double) * rows);
  w->cap = c;
}

/* ---- decoding ------------------------------------------------------------------ */

static const char *json_kind(const json_t *v) {
  switch (json_typeof(v)) {
  case JSON_OBJECT: return "an object";
  case JSON_ARRAY: return "an array";
  case JSON_STRING: return "a string";
  case JSON_INTEGER: case JSON_REAL: return "a number";
  case JSON_TRUE: case JSON_FALSE: return "a boolean";
  default: return "null";
  }
}

/* A number as a category's text: the shortest spelling that reads back as
 * the same double ("3" for 3 and 3.0, "2.5"). */
void rt_num_text(double d, char t[40]) {
  if (d == floor(d) && fabs(d) < 1e15) {
    snprintf(t, 40, "%.0f", d);
    if (!strcmp(t, "-0")) strcpy(t, "0");
    return;
  }
  for (int p = 15; p <= 17; p++) {
    snprintf(t, 40, "%.*g", p, d);
    if (strtod(t, NULL) == d) return;
  }
}

void rt_serve_predict(const RtServeModel *s, RtServeWork *w, const char *body, size_t len,
                      const char *req_id, RtServeReply *r) {
  json_error_t jerr;
  json_t *root = json_loadb(body, len, JSON_REJECT_DUPLICATES | JSON_DECODE_INT_AS_REAL, &jerr);
  rt_serve_predict_json(s, w, root, &jerr, req_id, r);
  json_decref(root);
}

/* The decoder proper, on a parsed body (root NULL: jerr says why it is not
 * JSON); the release server parses once for routing and this. */
void rt_serve_predict_json(const RtServeModel *s, RtServeWork *w, json_t *root,
                           const json_error_t *jerr, const char *req_id, RtServeReply *r) {
  memset(r, 0, sizeof *r);
  const RtDataSpec *spec = s->m->data;
  const RtFeature *fe = spec->feats;
  if (!root) {
    char sb[72];
    fail(w, r, req_id, NULL, -1, "malformed JSON at line %d, column %d: %s", jerr->line,
         jerr->column, short_text(jerr->text, sb));
    return;
  }
  bool single = json_is_object(root);
  if (!single && !json_is_array(root)) {
    fail(w, r, req_id, NULL, -1, "expected an object or an array of objects, found %s",
         json_kind(root));
    return;
  }
  int64_t n = single ? 1 : (int64_t)json_array_size(root);
  work_grow(s, w, n);
  double **vcol = w->v;      /* per column */
  int32_t **gcode = w->codes; /* per input */
  char sb[72], nt[40];
  for (int64_t row = 0; row < n; row++) {
    int64_t rn = single ? -1 : row;   /* the row in messages */
    json_t *obj = single ? root : json_array_get(root, (size_t)row);
    if (!json_is_object(obj)) {
      fail(w, r, req_id, NULL, rn, "expected an object, found %s", json_kind(obj));
      return;
    }
    for (int j = 0; j < s->ncols; j++) w->cell[j] = NULL;
    const char *key;
    json_t *val;
    json_object_foreach(obj, key, val) {
      int j = s->slot[slot_of(s, key)];
      if (j == -1) {
        fail(w, r, req_id, key, rn, "unknown field '%s': the model reads no such column",
             short_text(key, sb));
        return;
      }
      if (j >= 0) w->cell[j] = val;
    }
    for (int j = 0; j < s->ncols; j++) {
      const SCol *c = &s->col[j];
      const json_t *v = w->cell[j];
      double num = NAN;
      const char *cat = NULL;   /* the category text; NULL with ffill: the row above's codes */
      bool missing = !v || json_is_null(v);
      if (!missing && json_is_string(v))
        missing = rt_xform_is_missing(spec, json_string_value(v), json_string_length(v));
      if (missing) {
        const RtMissing *m = c->rule;
        const char *what = !v ? "missing field" : json_is_null(v) ? "null field" : "no value in field";
        if (!m || m->kind == RT_MISS_NONE) {
          char also[200] = "";
          if (!v) others_missing(s, w, j, also, sizeof also);
          fail(w, r, req_id, c->name, rn, "%s '%s': the model has no 'missing' rule for it%s",
               what, c->name, also);
        } else if (m->kind == RT_MISS_DROP_ROW) {
          fail(w, r, req_id, c->name, rn,
               "%s '%s': training dropped such rows ('drop_row'); a prediction needs a value",
               what, c->name);
        } else if (m->kind == RT_MISS_FFILL && row == 0) {
          fail(w, r, req_id, c->name, rn,
               "%s '%s': 'ffill' needs a row above with a value", what,
               c->name);
        } else {
          if (m->kind == RT_MISS_FFILL) {
            num = c->num ? vcol[j][row - 1] : NAN;
          } else {
            num = m->num;
            cat = m->str ? m->str : "";
          }
          goto have;
        }
        return;
      }
      if (json_is_number(v)) {
        num = json_number_value(v);
        if (c->num && !(fabs(num) <= FLT_MAX)) {
          fail(w, r, req_id, c->name, rn, "field '%s': %g does not fit a 32-bit float", c->name,
               num);
          return;
        }
        if (c->cat) {
          rt_num_text(num, nt);
          cat = nt;
        }
      } else if (json_is_boolean(v) && !c->cat) {
        num = json_is_true(v);
      } else if (json_is_string(v) && c->cat) {
        cat = json_string_value(v);
        if (c->num) {   /* read both ways: the number the CSV cell would give */
          float f;
          size_t sl = json_string_length(v);
          if (rt_parse_float(cat, sl, &f)) num = strtod(cat, NULL);
          else if (rt_parse_bool(cat, sl, &f)) num = f;
          else {
            fail(w, r, req_id, c->name, rn, "field '%s': expected a number, found '%s'", c->name,
                 short_text(cat, sb));
            return;
          }
        }
      } else {
        fail(w, r, req_id, c->name, rn, "field '%s': expected %s, found %s", c->name,
             c->cat ? "a string" : "a number", json_kind(v));
        return;
      }
    have:
      if (c->num) vcol[j][row] = num;
      for (int g = 0; g < c->ngroups; g++) {
        int i = c->groups[g];
        int code = cat ? rt_xform_onehot_code(&fe[i], cat) : gcode[i][row - 1];
        if (code == fe[i].n_cats && fe[i].onehot == RT_OH_ERROR) {
          fail(w, r, req_id, c->name, rn,
               "field '%s': category '%s' is not one the model was trained on", c->name,
               short_text(cat, sb));
          return;
        }
        gcode[i][row] = code;
      }
    }
  }
  /* the inputs, as rt_data_apply_xf computes them */
  int nf = s->nf;
  if (n > 0 && s->xf) {
    int q = 0;
    for (int i = 0; i < nf; i++)
      for (int k = 0; fe[i].onehot == RT_OH_NONE && k < s->n_prog[i]; k++)
        if (s->prog[i][k].op == RT_XOP_COL) w->cv[q++] = vcol[s->opcol[i][k]];
    int64_t key = s->xf(w->cv, (const int32_t *const *)gcode, n, w->x);
    if (key >= 0) {
      int i = (int)(key / n);
      int64_t row = key % n;
      fail(w, r, req_id, NULL, single ? -1 : row,
           "feature '%s' is not a finite 32-bit number for this row", fe[i].name);
      return;
    }
  } else {
    for (int i = 0; i < nf && n > 0; i++) {
      const RtFeature *f = &fe[i];
      if (f->onehot != RT_OH_NONE) {
        const int32_t *codes = gcode[i - f->cat_index];
        for (int64_t q = 0; q < n; q++) w->val[q] = rt_xform_onehot_value(f, codes[q]);
      } else {
        for (int k = 0; k < s->n_prog[i]; k++)
          w->colv[k] = s->opcol[i][k] >= 0 ? vcol[s->opcol[i][k]] : NULL;
        rt_xform_eval(s->prog[i], s->n_prog[i], w->colv, n, w->val);
      }
      for (int64_t q = 0; q < n; q++) {
        if (!(fabs(w->val[q]) <= FLT_MAX)) {
          fail(w, r, req_id, NULL, single ? -1 : q,
               "feature '%s' is not a finite 32-bit number for this row", f->name);
          return;
        }
        w->x[q * nf + i] = (float)w->val[q];
      }
    }
  }
  if (n > 0) s->k->predict(s->m->params, w->kwork, w->x, n, w->out);
  /* the response */
  const RtModel *m = s->m;
  RtTask task = m->desc.task;
  w->len = 0;
  puts_(w, "{\"request_id\":");
  put_str(w, req_id ? req_id : "");
  puts_(w, single ? "," : ",\"predictions\":[");
  for (int64_t q = 0; q < n; q++) {
    const float *p = w->out + q * s->n_out;
    if (!single) puts_(w, q ? ",{" : "{");
    if (task == RT_TASK_REGRESSION) {
      puts_(w, "\"value\":");
      put_float(w, p[0]);
    } else {
      int best = 0;
      if (task == RT_TASK_BINARY) best = p[0] >= 0.5f;
      else
        for (int c = 1; c < s->n_out; c++)
          if (p[c] > p[best]) best = c;
      puts_(w, "\"class\":");
      put_str(w, best < m->n_classes ? m->class_names[best] : "");
      puts_(w, ",\"probabilities\":{");
      for (int c = 0; c < m->n_classes; c++) {
        if (c) puts_(w, ",");
        put_str(w, m->class_names[c]);
        puts_(w, ":");
        if (task == RT_TASK_BINARY) put_float(w, c == 1 ? p[0] : 1.0f - p[0]);
        else put_float(w, c < s->n_out ? p[c] : NAN);
      }
      puts_(w, "}");
    }
    if (!single) puts_(w, "}");
  }
  puts_(w, single ? "}" : "]}");
  r->status = 200;
  r->body = w->buf;
  r->len = w->len;
  r->n_rows = n;
  r->pred = w->out;
  r->n_out = s->n_out;
}
