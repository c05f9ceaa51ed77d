/* rt_xform.c — cleaning and transforms between the CSV and the matrices:
 * `drop duplicates`, `missing` rules, onehot and feature programs (postfix
 * RtXop code that sema compiles from `feature` expressions). rt_data_load
 * calls the rt_xload_* hooks during and after its single pass; predict and
 * eval come through rt_data_apply_xf. Both fill and evaluate with the same
 * functions (eval_prog, onehot_code), the second time with the statistics
 * frozen in the .mlxm, so train and predict agree exactly.
 * Every input is a program (rt_xform_programs converts an old plain
 * feature). The interpreter here fits the statistics and is the reference;
 * the values the model reads come from the same programs compiled with
 * LLVM (xform_emit.c, MlxKernels.xform) when the kernels have them. A load
 * keeps each used cell as a 4-byte code in one matrix (the row store,
 * below) and writes the inputs over it: with spec->fit_only (`mlxc run`)
 * it only fits the statistics and rt_data_xform computes the inputs with
 * the compiled transforms; otherwise the interpreter does at once.
 * rt_data_apply_xf computes the predict/eval ones. */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "rt.h"
#include "rt_out.h"

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

#define MAX_CATS 65536     /* distinct categories a onehot column may have */
#define TEXT_KEEP 200      /* bytes of a CSV line kept for a later diagnostic */

static const char *const miss_words[] = {"none", "drop_row", "mean", "median", "mode",
                                         "ffill", "a value"};

/* ---- small helpers --------------------------------------------------------- */

static bool is_missing(const RtDataSpec *spec, const char *s, size_t n) {
  if (n == 0) return true;
  for (int i = 0; i < spec->n_na; i++)
    if (spec->na[i] && strlen(spec->na[i]) == n && !memcmp(spec->na[i], s, n)) return true;
  return false;
}

static int find_col(RtCsv *c, const char *name) {
  for (int i = 0; name && i < rt_csv_ncols(c); i++)
    if (!strcmp(rt_csv_name(c, i), name)) return i;
  return -1;
}

/* Clinger's fast path: [-]digits[.digits] with at most 15 significant digits
 * is an exact integer divided by an exact power of ten, so one correctly
 * rounded division gives strtod's answer. fast_parts gives the sign, the
 * digits as an integer and the decimals; false for anything else. */
static bool fast_parts(const char *s, size_t len, bool *neg, uint64_t *mant, int *decimals) {
  size_t i = 0;
  *neg = false;
  if (i < len && (s[i] == '-' || s[i] == '+')) *neg = s[i++] == '-';
  uint64_t m = 0;
  int digits = 0, frac = 0;
  bool dot = false, any = false;
  for (; i < len; i++) {
    char ch = s[i];
    if (ch >= '0' && ch <= '9') {
      any = true;
      if (m == 0 && ch == '0' && !dot) continue;   /* leading zeros */
      if (++digits > 15) return false;
      m = m * 10 + (uint64_t)(ch - '0');
      frac += dot;
    } else if (ch == '.' && !dot) {
      dot = true;
    } else {
      return false;
    }
  }
  if (!any) return false;
  *mant = m;
  *decimals = frac;
  return true;
}

static bool fast_double(const char *s, size_t len, double *out) {
  static const double p10[] = {1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8,
                               1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15};
  bool neg;
  uint64_t m;
  int frac;
  if (!fast_parts(s, len, &neg, &m, &frac)) return false;
  double v = (double)m / p10[frac];
  *out = neg ? -v : v;
  return true;
}

/* A number cell as a double, a boolean as 1/0 (the checks are rt_data.c's:
 * this only reads the value); NaN for anything else. */
static double cell_num(const char *s, size_t len) {
  float f;
  double d;
  if (fast_double(s, len, &d)) return d;
  if (rt_parse_float(s, len, &f)) return strtod(s, NULL);
  if (rt_parse_bool(s, len, &f)) return f;
  return NAN;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

/* The k-th smallest of v[0..n) (no NaN), reordering v. */
static double select_kth(double *v, int64_t n, int64_t k) {
  rt_select_kth(v, 0, n - 1, k);
  return v[k];
}

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

bool rt_xform_active(const RtDataSpec *spec) {
  if (spec->drop_dups || spec->n_missing > 0 || spec->star_prog) return true;
  for (int i = 0; i < spec->n_feats; i++)
    if (spec->feats[i].prog || spec->feats[i].onehot != RT_OH_NONE) return true;
  return false;
}

const RtMissing *rt_xform_rule(const RtDataSpec *spec, const char *name) {
  const RtMissing *star = NULL;
  for (int i = 0; i < spec->n_missing; i++) {
    const RtMissing *m = &spec->missing[i];
    if (!m->column) star = m;
    else if (name && !strcmp(m->column, name)) return m;
  }
  return star;
}

/* ---- categories ------------------------------------------------------------ */

/* The distinct spellings of one column, interned through an open-addressing
 * table; ids in order of first appearance, each with where it first was. */
typedef struct Cats {
  char **names;      /* by id */
  RtLoc *first;      /* first cell (text copied, shortened) or line 0 */
  int n, cap;
  int *slot;         /* ids, -1 empty */
  size_t nslot;
} Cats;

static int cats_find(const Cats *k, const char *s, size_t len, size_t *hp) {
  if (!k->nslot) return -1;
  size_t h = (size_t)rt_fnv1a(s, len, RT_FNV_INIT) & (k->nslot - 1);
  for (; k->slot[h] >= 0; h = (h + 1) & (k->nslot - 1)) {
    const char *t = k->names[k->slot[h]];
    if (strlen(t) == len && !memcmp(t, s, len)) return k->slot[h];
  }
  if (hp) *hp = h;
  return -1;
}

/* The id of s, adding it (first seen at `at`); -1 past MAX_CATS. */
static int cats_intern(Cats *k, const char *s, size_t len, const RtLoc *at) {
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
  size_t h = 0;
  int id = cats_find(k, s, len, &h);
  if (id >= 0) return id;
  if (k->n == MAX_CATS) return -1;
  if (k->n == k->cap) {
    k->cap = k->cap ? k->cap * 2 : 16;
    k->names = rt_xrealloc(k->names, sizeof(char *) * (size_t)k->cap);
    k->first = rt_xrealloc(k->first, sizeof(RtLoc) * (size_t)k->cap);
  }
  char *nm = rt_xmalloc(len + 1);
  memcpy(nm, s, len);
  k->names[k->n] = nm;
  RtLoc l = {0};
  if (at) {
    l = *at;
    if (l.text) {
      size_t tn = strlen(l.text);
      if (tn > TEXT_KEEP) tn = TEXT_KEEP;
      char *t = rt_xmalloc(tn + 1);
      memcpy(t, l.text, tn);
      l.text = t;
    }
  }
  k->first[k->n] = l;
  k->slot[h] = k->n;
  return k->n++;
}

static void cats_free(Cats *k) {
  for (int i = 0; i < k->n; i++) {
    free(k->names[i]);
    free((char *)k->first[i].text);
  }
  free(k->names);
  free(k->first);
  free(k->slot);
}

/* ---- programs ---------------------------------------------------------------- */

/* Items an op pops (it always pushes one). */
static int op_pops(const RtXop *o) {
  switch (o->op) {
  case RT_XOP_COL: case RT_XOP_NUM: return 0;
  case RT_XOP_EXTERN: return rt_extern_nargs(o->sig);
  case RT_XOP_ADD: case RT_XOP_SUB: case RT_XOP_MUL: case RT_XOP_DIV:
  case RT_XOP_MIN: case RT_XOP_MAX: return 2;
  default: return 1;
  }
}

/* Number of edges <= v (numpy.digitize with right=False). */
static double bucket(const double *e, int n, double v) {
  int lo = 0, hi = n;
  while (lo < hi) {
    int mid = (lo + hi) / 2;
    if (e[mid] <= v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/* Runs prog over n rows, column values from colv[k] for each COL op k. With
 * fit (the train rows), STANDARDIZE and MINMAX first fit their statistics
 * on those rows of their input and write them into the op; without, they use
 * the frozen ones. The result, the top of the stack (of a prefix of a
 * program: what its next op reads), goes to out[n]. */
static void eval_prog(RtXop *prog, int np, double *const *colv, int64_t n, const int64_t *fit,
                      int64_t nfit, double *out) {
  double **st = rt_xmalloc(sizeof(double *) * (size_t)(np + 1));
  int sp = 0;
  for (int k = 0; k < np; k++) {
    RtXop *o = &prog[k];
    int pops = op_pops(o);
    if (o->op == RT_XOP_EXTERN) {   /* rt_extern.c: one libffi cif for all the rows */
      if (!st[sp - pops]) st[sp - pops] = rt_xmalloc(sizeof(double) * (size_t)(n + 1));
      double *x = st[sp - pops], args[16];
      RtExtCall *ec = rt_extern_prep(o->lib, o->sym, o->sig);
      for (int64_t i = 0; i < n; i++) {
        for (int a = 0; a < pops; a++) args[a] = st[sp - pops + a][i];
        x[i] = rt_extern_row(ec, args);
      }
      rt_extern_done(ec);
      sp -= pops - 1;
      continue;
    }
    if (pops == 0) {
      if (!st[sp]) st[sp] = rt_xmalloc(sizeof(double) * (size_t)(n + 1));
      double *t = st[sp++];
      if (o->op == RT_XOP_COL) memcpy(t, colv[k], sizeof(double) * (size_t)n);
      else for (int64_t i = 0; i < n; i++) t[i] = o->a;
      continue;
    }
    double *x = st[sp - pops], *y = pops == 2 ? st[sp - 1] : NULL;
    if (fit && (o->op == RT_XOP_STANDARDIZE || o->op == RT_XOP_MINMAX)) {
      double a = 0, b = 0;
      if (o->op == RT_XOP_STANDARDIZE) {
        double sum = 0, ss = 0;
        for (int64_t i = 0; i < nfit; i++) sum += x[fit[i]];
        a = nfit ? sum / (double)nfit : 0;
        for (int64_t i = 0; i < nfit; i++) ss += (x[fit[i]] - a) * (x[fit[i]] - a);
        b = nfit ? sqrt(ss / (double)nfit) : 1;
      } else {
        a = INFINITY, b = -INFINITY;
        for (int64_t i = 0; i < nfit; i++) {
          double v = x[fit[i]];
          if (v < a || isnan(v)) a = v;
          if (v > b || isnan(v)) b = v;
        }
      }
      o->a = a;
      o->b = b;
    }
    double sd = o->b > 0 && isfinite(o->b) ? o->b : 1;       /* a constant column maps to 0 */
    double range = o->b - o->a != 0 && isfinite(o->b - o->a) ? o->b - o->a : 1;
    for (int64_t i = 0; i < n; i++) {
      double v = x[i], r;
      switch (o->op) {
      case RT_XOP_ADD: r = v + y[i]; break;
      case RT_XOP_SUB: r = v - y[i]; break;
      case RT_XOP_MUL: r = v * y[i]; break;
      case RT_XOP_DIV: r = v / y[i]; break;
      case RT_XOP_MIN: r = v < y[i] ? v : y[i]; break;
      case RT_XOP_MAX: r = v > y[i] ? v : y[i]; break;
      case RT_XOP_NEG: r = -v; break;
      case RT_XOP_ABS: r = fabs(v); break;
      case RT_XOP_EXP: r = exp(v); break;
      case RT_XOP_LOG: r = log(v); break;
      case RT_XOP_SQRT: r = sqrt(v); break;
      case RT_XOP_LOG1P: r = log1p(v); break;
      case RT_XOP_STANDARDIZE: r = (v - o->a) / sd; break;
      case RT_XOP_MINMAX: r = (v - o->a) / range; break;
      case RT_XOP_CLIP: r = v < o->a ? o->a : v > o->b ? o->b : v; break;
      case RT_XOP_BUCKETIZE: r = bucket(o->edges, o->n_edges, v); break;
      default: r = v; break;
      }
      x[i] = r;
    }
    sp -= pops - 1;
  }
  memcpy(out, st[sp - 1], sizeof(double) * (size_t)n);   /* the top: a prefix too */
  for (int k = 0; k < np; k++) free(st[k]);
  free(st);
}

/* A legacy feature (no program) as one: its column, then standardize. */
static RtXop *legacy_prog(const RtFeature *f, int *np) {
  bool std = f->xform == RT_XF_STANDARDIZE;
  RtXop *p = rt_xmalloc(sizeof(RtXop) * 2);
  p[0] = (RtXop){.op = RT_XOP_COL, .column = rt_xstrdup(f->column)};
  p[1] = (RtXop){.op = RT_XOP_STANDARDIZE, .a = f->mean, .b = f->std};
  *np = std ? 2 : 1;
  return p;
}

void rt_xform_programs(RtDataSpec *s) {
  for (int i = 0; s && s->feats && i < s->n_feats; i++) {
    RtFeature *f = &s->feats[i];
    if (f->onehot == RT_OH_NONE && !f->prog && f->column) f->prog = legacy_prog(f, &f->n_prog);
  }
}

/* A deep copy; COL ops without a column read `star` instead. */
static RtXop *prog_copy(const RtXop *p, int np, const char *star) {
  RtXop *q = rt_xmalloc(sizeof(RtXop) * (size_t)(np + 1));
  for (int k = 0; k < np; k++) {
    q[k] = p[k];
    q[k].column = rt_xstrdup(p[k].column ? p[k].column : p[k].op == RT_XOP_COL ? star : NULL);
    q[k].lib = rt_xstrdup(p[k].lib);
    q[k].sym = rt_xstrdup(p[k].sym);
    q[k].sig = rt_xstrdup(p[k].sig);
    if (p[k].n_edges > 0) {
      q[k].edges = rt_xmalloc(sizeof(double) * (size_t)p[k].n_edges);
      memcpy(q[k].edges, p[k].edges, sizeof(double) * (size_t)p[k].n_edges);
    } else {
      q[k].edges = NULL;
      q[k].n_edges = 0;
    }
  }
  return q;
}

static void prog_free(RtXop *p, int np) {
  for (int k = 0; p && k < np; k++) {
    free(p[k].column);
    free(p[k].edges);
    free(p[k].lib);
    free(p[k].sym);
    free(p[k].sig);
  }
  free(p);
}

/* ---- onehot ------------------------------------------------------------------ */

/* The code of category s in a group's sorted categories: its index, or n_cats
 * when unseen. */
static int onehot_code(const RtFeature *g, const char *s) {
  int lo = 0, hi = g->n_cats;
  while (lo < hi) {
    int mid = (lo + hi) / 2;
    int c = strcmp(g[mid].cat, s);
    if (c == 0) return mid;
    if (c < 0) lo = mid + 1;
    else hi = mid;
  }
  return g->n_cats;
}

/* Input i's value for a row whose group code is code. */
static float onehot_value(const RtFeature *f, int code) {
  if (code == f->n_cats) return f->cat == NULL && f->onehot == RT_OH_OTHER ? 1.0f : 0.0f;
  return f->cat && code == f->cat_index ? 1.0f : 0.0f;
}

/* ---- missing values ------------------------------------------------------------ */

/* One column's cells as this module reads them. */
typedef struct XCol {
  int use;              /* 0 unused, 1 explicit feature, 2 `feature *`, 3 label */
  bool num, cat;        /* read as a number / as categories (onehot) */
  const RtMissing *rule;/* the rule covering it, or NULL */
  Cats cats;
  bool has_prev;        /* ffill: a value seen above */
  double prev;          /* ffill: the number above (a wide column) */
  int prev_id;
  bool fast;            /* the current row's cell is a plain decimal (fast_double) */
  int slot, cslot;      /* rt_data_load: its number / category code in a row, or -1 */
  int32_t prev_code;    /* ffill: the code above (a column that is not wide) */
} XCol;

/* ---- the row store (rt_data_load) ---------------------------------------------- */

/* While a file loads, each kept row's used cells are 4-byte codes. A number
 * cell [-]digits[.digits] whose digits make at most 27 bits and at most 15
 * decimals is m * 16 + decimals, read back as (double)m / 10^decimals: one
 * correctly rounded division of exact values, the very double strtod gives
 * the cell (fast_double). Any other number that some such code reproduces
 * bit for bit gets it too ("1e3", "2.50000000000"); a column with a cell
 * none reproduces ("1e-30", 17 digits) keeps every row as a double instead
 * (a wide column, 8 more bytes a row). A category cell is its id. Rows go
 * to 1 MiB chunks while reading, then into one matrix, a chunk at a time,
 * each chunk unmapped once copied; the matrix is permuted in place into
 * split order, fills and statistics are fitted over its first (train)
 * rows, and the inputs are written over the codes, a few thousand rows at
 * a time. So the cells are held once, in 4 bytes each, beside the labels,
 * each row's CSV line and record, and, during the permutation, the split's
 * row order: about 1.25 times the float32 matrix of a numeric file. */

#define CODE_MISSING INT32_MIN        /* a missing cell: its column's fill */
#define CODE_NEGZERO (INT32_MIN + 1)  /* -0 */
#define CODE_MAX_M ((1 << 27) - 1)    /* largest |m| of a code */
#define CHUNK_BYTES ((size_t)1 << 20) /* a chunk of the row store */

static const double pow10_tab[16] = {1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8,
                                     1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15};

static inline double code_value(int32_t c, double fill) {
  if (c <= CODE_NEGZERO) return c == CODE_MISSING ? fill : -0.0;
  return (double)(c >> 4) / pow10_tab[c & 15];
}

/* The code that reads back as exactly d, if there is one. */
static bool code_of_double(double d, int32_t *out) {
  if (d == 0) {
    *out = signbit(d) ? CODE_NEGZERO : 0;
    return true;
  }
  for (int f = 0; f < 16; f++) {
    double t = d * pow10_tab[f];
    if (!(fabs(t) < CODE_MAX_M + 0.5)) return false;
    int32_t m = (int32_t)lrint(t);
    if (m == 0) continue;
    int32_t c = m * 16 + f;
    if (code_value(c, 0) == d) {
      *out = c;
      return true;
    }
  }
  return false;
}

static void out_of_memory(void) {
  fprintf(stderr, "mlxc: error: out of memory\n");
  exit(5);
}

/* A large block that is not zeroed (pages count only once written), on
 * 2 MiB pages where the kernel gives them (the matrices are read in random
 * row order every epoch); free() releases it. */
static void *block_alloc(size_t n) {
  if (n < ((size_t)8 << 20)) return rt_xmalloc(n);
  void *p = NULL;
  if (posix_memalign(&p, (size_t)2 << 20, n) != 0) out_of_memory();
#ifdef MADV_HUGEPAGE
  madvise(p, n, MADV_HUGEPAGE);
#endif
  return p;
}

struct RtXload {
  const RtDataSpec *spec;
  const char *path;
  int ncols;
  char **names;          /* header names */
  XCol *col;
  int64_t cap;           /* rows the duplicate arrays hold */
  int64_t dropped;
  /* drop duplicates: kept rows' keys, a table of row indices by key hash */
  unsigned char *keys;   /* each kept row's used cells: (u32 length, bytes)... */
  size_t klen, kcap;
  size_t *koff, *kn;     /* per kept row: offset and length of its key */
  uint64_t *khash;
  int64_t *kslot;        /* row index + 1, 0 empty */
  size_t nkslot;
  unsigned char *kbuf;   /* the current row's key */
  size_t kbuf_cap;
  /* the row store: a row is its record (i64), line (i32), a code per slot */
  int nslot;
  size_t rec_size;
  int64_t rpc;           /* rows a chunk */
  unsigned char **chunk;
  int64_t nchunk, chunk_cap;
  int64_t nrows;         /* rows stored */
  double **wide;         /* per slot: every row's value, NaN where missing; or NULL */
  int64_t wcap;          /* rows the wide arrays hold */
};

static unsigned char *row_at(const RtXload *x, int64_t r) {
  return x->chunk[r / x->rpc] + (size_t)(r % x->rpc) * x->rec_size;
}

static int32_t *row_codes(unsigned char *row) { return (int32_t *)(void *)(row + 12); }

/* Does any explicit onehot / program / legacy feature read column name? */
static void col_uses(const RtDataSpec *spec, const char *name, bool *num, bool *cat) {
  for (int i = 0; i < spec->n_feats; i++) {
    const RtFeature *f = &spec->feats[i];
    if (f->onehot != RT_OH_NONE) {
      if (f->column && !strcmp(f->column, name)) *cat = true;
    } else if (f->prog) {
      for (int k = 0; k < f->n_prog; k++)
        if (f->prog[k].op == RT_XOP_COL && f->prog[k].column && !strcmp(f->prog[k].column, name))
          *num = true;
    } else if (f->column && !strcmp(f->column, name)) {
      *num = true;
    }
  }
}

RtXload *rt_xload_new(const RtDataSpec *spec, RtCsv *c, const unsigned char *use) {
  RtXload *x = rt_xmalloc(sizeof *x);
  x->spec = spec;
  x->path = spec->csv_path;
  x->ncols = rt_csv_ncols(c);
  x->col = rt_xmalloc(sizeof(XCol) * (size_t)(x->ncols + 1));
  x->names = rt_xmalloc(sizeof(char *) * (size_t)(x->ncols + 1));
  for (int j = 0; j < x->ncols; j++) x->names[j] = rt_xstrdup(rt_csv_name(c, j));
  bool ok = true;
  for (int j = 0; j < x->ncols; j++) {
    XCol *col = &x->col[j];
    const char *name = rt_csv_name(c, j);
    col->slot = col->cslot = -1;
    col->use = use[j];
    if (!col->use) continue;
    col->rule = rt_xform_rule(spec, name);
    if (col->use == 2) col->num = true;
    else if (col->use == 1) col_uses(spec, name, &col->num, &col->cat);
    if (col->num) col->slot = x->nslot++;
    if (col->cat) col->cslot = x->nslot++;
    const RtMissing *m = col->rule;
    if (!m) continue;
    if (col->use == 3) {
      if (m->kind != RT_MISS_DROP_ROW) col->rule = NULL;
      if (m->kind != RT_MISS_DROP_ROW && m->column) {
        rt_diag(RT_ERROR, m->loc, "missing labels can only be dropped ('drop_row'), found '%s'",
                miss_words[m->kind]);
        rt_note(spec->label_loc, "'%s' is the label", name);
        ok = false;
      }
      continue;
    }
    if (col->cat && !col->num && (m->kind == RT_MISS_MEAN || m->kind == RT_MISS_MEDIAN)) {
      rt_diag(RT_ERROR, m->loc, "'%s' needs a numeric column, but '%s' holds categories (onehot)",
              miss_words[m->kind], name);
      if (!m->column) rt_note(m->loc, "give '%s' its own rule, such as 'missing %s = mode'", name, name);
      ok = false;
    }
    if (col->num && m->kind == RT_MISS_VALUE && m->is_str) {
      rt_diag(RT_ERROR, m->loc, "expected a number to fill missing cells of numeric column '%s', found \"%s\"",
              name, m->str ? m->str : "");
      ok = false;
    }
  }
  if (!ok) {
    rt_xload_free(x);
    return NULL;
  }
  x->rec_size = (12 + 4 * (size_t)x->nslot + 7) & ~(size_t)7;
  x->rpc = (int64_t)(CHUNK_BYTES / x->rec_size);   /* wide rows: 64 a chunk, few mappings */
  if (x->rpc < 64) x->rpc = 64;
  x->wide = rt_xmalloc(sizeof(double *) * (size_t)(x->nslot + 1));
  return x;
}

bool rt_xload_number(const RtXload *x, int j) {
  return j >= 0 && j < x->ncols && x->col[j].num && x->col[j].fast;
}

bool rt_xload_text(const RtXload *x, int j) {
  return j >= 0 && j < x->ncols && x->col[j].cat && !x->col[j].num;
}

int64_t rt_xload_dropped(const RtXload *x) { return x->dropped; }

/* The current record's used cells as one key; true when an earlier kept row
 * had the very same bytes. */
static bool dup_seen(RtXload *x, RtCsv *c, uint64_t *hash, size_t *keylen) {
  size_t len = 0;
  for (int j = 0; j < x->ncols; j++) {
    if (!x->col[j].use) continue;
    size_t n;
    const char *s = rt_csv_field(c, j, &n);
    if (len + 4 + n > x->kbuf_cap) {
      x->kbuf_cap = (len + 4 + n) * 2 + 64;
      x->kbuf = rt_xrealloc(x->kbuf, x->kbuf_cap);
    }
    uint32_t n32 = (uint32_t)n;
    memcpy(x->kbuf + len, &n32, 4);
    memcpy(x->kbuf + len + 4, s, n);
    len += 4 + n;
  }
  uint64_t h = rt_fnv1a(x->kbuf, len, RT_FNV_INIT);
  *hash = h;
  *keylen = len;
  if (!x->nkslot) return false;
  for (size_t k = (size_t)h & (x->nkslot - 1); x->kslot[k]; k = (k + 1) & (x->nkslot - 1)) {
    int64_t r = x->kslot[k] - 1;
    if (x->khash[r] == h && x->kn[r] == len && !memcmp(x->keys + x->koff[r], x->kbuf, len))
      return true;
  }
  return false;
}

/* Remembers the current key as kept row n. */
static void dup_add(RtXload *x, int64_t n, uint64_t h, size_t len) {
  if (x->klen + len > x->kcap) {
    x->kcap = (x->klen + len) * 2 + 4096;
    x->keys = rt_xrealloc(x->keys, x->kcap);
  }
  memcpy(x->keys + x->klen, x->kbuf, len);
  x->koff[n] = x->klen;
  x->kn[n] = len;
  x->khash[n] = h;
  x->klen += len;
  if (2 * (size_t)(n + 1) > x->nkslot) {
    size_t ns = x->nkslot ? x->nkslot * 2 : 1024;
    int64_t *sl = rt_xmalloc(sizeof(int64_t) * ns);
    for (int64_t r = 0; r < n; r++) {
      size_t k = (size_t)x->khash[r] & (ns - 1);
      while (sl[k]) k = (k + 1) & (ns - 1);
      sl[k] = r + 1;
    }
    free(x->kslot);
    x->kslot = sl;
    x->nkslot = ns;
  }
  size_t k = (size_t)h & (x->nkslot - 1);
  while (x->kslot[k]) k = (k + 1) & (x->nkslot - 1);
  x->kslot[k] = n + 1;
}

/* Room for row n: its chunk, the duplicate arrays and the wide columns. */
static void grow_rows(RtXload *x, int64_t n) {
  if (n / x->rpc >= x->nchunk) {
    if (x->nchunk == x->chunk_cap) {
      x->chunk_cap = x->chunk_cap ? x->chunk_cap * 2 : 16;
      x->chunk = rt_xrealloc(x->chunk, sizeof(unsigned char *) * (size_t)x->chunk_cap);
    }
    void *p = mmap(NULL, (size_t)x->rpc * x->rec_size, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) out_of_memory();
    x->chunk[x->nchunk++] = p;
  }
  if (n >= x->wcap) {
    x->wcap = x->wcap ? x->wcap * 2 : 1024;
    for (int s = 0; s < x->nslot; s++)
      if (x->wide[s]) x->wide[s] = rt_xrealloc(x->wide[s], sizeof(double) * (size_t)x->wcap);
  }
  if (n < x->cap) return;
  x->cap = x->cap ? x->cap * 2 : 1024;
  size_t cap = (size_t)x->cap;
  if (x->spec->drop_dups) {
    x->koff = rt_xrealloc(x->koff, sizeof(size_t) * cap);
    x->kn = rt_xrealloc(x->kn, sizeof(size_t) * cap);
    x->khash = rt_xrealloc(x->khash, sizeof(uint64_t) * cap);
  }
}

/* Turns col's slot into a wide column from row n on: rows above decoded. */
static void make_wide(RtXload *x, XCol *col, int64_t n) {
  int s = col->slot;
  double *w = rt_xmalloc(sizeof(double) * (size_t)x->wcap);
  for (int64_t r = 0; r < n; r++) w[r] = code_value(row_codes(row_at(x, r))[s], NAN);
  x->wide[s] = w;
  if (col->has_prev) col->prev = code_value(col->prev_code, NAN);
}

/* Stores a number cell of row n: its code, or its value in a wide column. */
static void put_num(RtXload *x, XCol *col, int32_t *codes, int64_t n, bool have_code,
                    int32_t code, double v) {
  int s = col->slot;
  if (!x->wide[s] && !have_code) make_wide(x, col, n);
  if (x->wide[s]) {
    if (have_code) v = code_value(code, NAN);
    x->wide[s][n] = col->prev = v;
    codes[s] = 0;
  } else {
    codes[s] = col->prev_code = code;
  }
}

int rt_xload_row(RtXload *x, RtCsv *c, int64_t n) {
  const RtDataSpec *spec = x->spec;
  uint64_t h = 0;
  size_t keylen = 0;   /* dup_seen leaves the row's key in kbuf */
  if (spec->drop_dups && dup_seen(x, c, &h, &keylen)) {
    x->dropped++;
    return 0;
  }
  for (int j = 0; j < x->ncols; j++) {
    XCol *col = &x->col[j];
    if (!col->use || !col->rule || col->rule->kind != RT_MISS_DROP_ROW) continue;
    size_t len;
    const char *s = rt_csv_field(c, j, &len);
    if (is_missing(spec, s, len)) {
      x->dropped++;
      return 0;
    }
  }
  grow_rows(x, n);
  unsigned char *row = row_at(x, n);
  int32_t *codes = row_codes(row);
  for (int j = 0; j < x->ncols; j++) {
    XCol *col = &x->col[j];
    if (!col->num && !col->cat) continue;
    col->fast = false;
    size_t len;
    const char *s = rt_csv_field(c, j, &len);
    if (is_missing(spec, s, len)) {
      if (col->rule && col->rule->kind == RT_MISS_FFILL) {
        if (!col->has_prev) {
          rt_diag(RT_ERROR, rt_csv_loc(c, j),
                  "missing value in column '%s' with no value above it to carry forward",
                  rt_csv_name(c, j));
          rt_note(col->rule->loc, "'ffill' fills a missing cell from the row above");
          return -1;
        }
        if (col->num) put_num(x, col, codes, n, !x->wide[col->slot], col->prev_code, col->prev);
        if (col->cat) codes[col->cslot] = col->prev_id;
        continue;
      }
      if (col->num && x->wide[col->slot]) x->wide[col->slot][n] = NAN, codes[col->slot] = 0;
      else if (col->num) codes[col->slot] = CODE_MISSING;
      if (col->cat) codes[col->cslot] = -1;
      continue;
    }
    if (col->num) {   /* one parse: rt_data.c's check reuses it (rt_xload_number) */
      bool neg = false;
      uint64_t m = 0;
      int frac = 0;
      col->fast = fast_parts(s, len, &neg, &m, &frac);
      if (col->fast && m <= CODE_MAX_M) {
        int32_t code = m == 0 && neg ? CODE_NEGZERO : (neg ? -(int32_t)m : (int32_t)m) * 16 + frac;
        put_num(x, col, codes, n, true, code, 0);
      } else {
        double v = col->fast ? (neg ? -((double)m / pow10_tab[frac]) : (double)m / pow10_tab[frac])
                             : cell_num(s, len);
        int32_t code = CODE_MISSING;   /* not a number: rt_data.c reports it */
        bool have = isnan(v) || code_of_double(v, &code);
        put_num(x, col, codes, n, have, code, v);
      }
    }
    if (col->cat) {
      RtLoc at = rt_csv_loc(c, j);
      int id = cats_intern(&col->cats, s, len, &at);
      if (id < 0) {
        rt_diag(RT_ERROR, at, "column '%s' has more than %d categories", rt_csv_name(c, j),
                MAX_CATS);
        return -1;
      }
      col->prev_id = codes[col->cslot] = id;
    }
    col->has_prev = true;
  }
  int64_t rec = rt_csv_records(c) - 1, line = rt_csv_line(c);
  int32_t line32 = line > INT32_MAX ? INT32_MAX : (int32_t)line;
  memcpy(row, &rec, 8);
  memcpy(row + 8, &line32, 4);
  if (n + 1 > x->nrows) x->nrows = n + 1;
  if (spec->drop_dups) dup_add(x, n, h, keylen);
  return 1;
}

void rt_xload_free(RtXload *x) {
  if (!x) return;
  for (int j = 0; j < x->ncols; j++) {
    cats_free(&x->col[j].cats);
    free(x->names[j]);
  }
  for (int64_t k = 0; k < x->nchunk; k++)
    if (x->chunk[k]) munmap(x->chunk[k], (size_t)x->rpc * x->rec_size);
  for (int s = 0; x->wide && s < x->nslot; s++) free(x->wide[s]);
  free(x->wide);
  free(x->chunk);
  free(x->names);
  free(x->col);
  free(x->keys);
  free(x->koff);
  free(x->kn);
  free(x->khash);
  free(x->kslot);
  free(x->kbuf);
  free(x);
}

/* A location on a row's CSV line (no column: the value is computed). */
static RtLoc row_loc(const char *path, int64_t line) {
  RtLoc l = rt_loc_file(path);
  l.line = (int)line;
  l.col = 1;
  return l;
}

/* The fill of a mean/median/mode/value rule from the train rows' values
 * (v[0..k), the non-missing numbers in train order; cnt: per category id,
 * its train rows), written into m; false after reporting when train has no
 * value to use. */
static bool fit_fill(XCol *col, RtMissing *m, const char *name, double *v, int64_t k,
                     const int64_t *cnt, int *cat_fill) {
  *cat_fill = -1;
  if (m->kind == RT_MISS_VALUE) {
    if (col->cat) {
      char buf[64];
      const char *s = m->is_str ? m->str : buf;
      if (!m->is_str) snprintf(buf, sizeof buf, "%.17g", m->num);
      if (!m->str) m->str = rt_xstrdup(s);
      *cat_fill = cats_intern(&col->cats, s, strlen(s), NULL);
    }
    return true;
  }
  if (m->kind != RT_MISS_MEAN && m->kind != RT_MISS_MEDIAN && m->kind != RT_MISS_MODE) return true;
  if (col->num) {
    if (k == 0) {
      rt_diag(RT_ERROR, m->loc, "column '%s' has no values in the train split to take the %s of",
              name, miss_words[m->kind]);
      return false;
    }
    if (m->kind == RT_MISS_MEAN) {
      double s = 0;
      for (int64_t i = 0; i < k; i++) s += v[i];
      m->num = s / (double)k;
    } else if (m->kind == RT_MISS_MEDIAN) {
      double hi = select_kth(v, k, k / 2);
      m->num = k % 2 ? hi : (select_kth(v, k / 2, k / 2 - 1) + hi) / 2;
    } else {
      qsort(v, (size_t)k, sizeof(double), cmp_double);
      {   /* the most frequent value; the smallest on a tie */
        int64_t best = 0, run = 0;
        for (int64_t i = 0; i < k; i++) {
          run = i > 0 && v[i] == v[i - 1] ? run + 1 : 1;
          if (run > best) best = run, m->num = v[i];
        }
      }
    }
  }
  if (col->cat) {   /* mode over categories; the smallest by bytes on a tie */
    int best = -1;
    for (int id = 0; id < col->cats.n; id++)
      if (cnt[id] > 0 && (best < 0 || cnt[id] > cnt[best] ||
                          (cnt[id] == cnt[best] && strcmp(col->cats.names[id], col->cats.names[best]) < 0)))
        best = id;
    if (best < 0) {
      rt_diag(RT_ERROR, m->loc, "column '%s' has no values in the train split to take the mode of",
              name);
      return false;
    }
    free(m->str);
    m->str = rt_xstrdup(col->cats.names[best]);
    *cat_fill = best;
  }
  return true;
}

/* Appends inputs to a growing array. */
typedef struct Inputs {
  RtFeature *f;
  int n, cap;
} Inputs;

static RtFeature *inputs_add(Inputs *in) {
  if (in->n == in->cap) {
    in->cap = in->cap ? in->cap * 2 : 16;
    in->f = rt_xrealloc(in->f, sizeof(RtFeature) * (size_t)in->cap);
  }
  memset(&in->f[in->n], 0, sizeof(RtFeature));
  return &in->f[in->n++];
}

/* What the inputs are computed from, in RtData.xraw from rt_xload_finish
 * until they replace it: the codes in d->xblock (n rows of nslot, split
 * order), how to read each slot, and where each input's columns are. */
struct RtXraw {
  int64_t n, cnt[3];
  int nslot;
  double **wide;      /* per slot: a wide column's values (split order), or NULL */
  double *fill;       /* per slot: a missing number's fill (NaN: none) */
  int *cat_fill;      /* per slot: a missing category's id (-1: none) */
  int32_t *line;      /* CSV line of each row */
  const char *path;   /* the CSV (the spec's string) */
  int n_in;
  int **op_slot;      /* per program input: the slot each COL op reads (-1 other ops) */
  int **code_of;      /* per onehot group start: a category id's code (NULL elsewhere) */
  int *gslot;         /* per onehot group start: its category slot */
  bool predict;       /* rt_data_apply_xf's rows: errors without the spec's notes */
};
typedef struct RtXraw RtXraw;

static void xraw_free(RtXraw *w) {
  if (!w) return;
  for (int s = 0; w->wide && s < w->nslot; s++) free(w->wide[s]);
  for (int i = 0; i < w->n_in; i++) {
    if (w->op_slot) free(w->op_slot[i]);
    if (w->code_of) free(w->code_of[i]);
  }
  free(w->wide);
  free(w->fill);
  free(w->cat_fill);
  free(w->line);
  free(w->op_slot);
  free(w->code_of);
  free(w->gslot);
  free(w);
}

static void feats_free(RtFeature *f, int n) {
  for (int i = 0; f && i < n; i++) {
    free(f[i].name);
    free(f[i].column);
    free(f[i].cat);
    prog_free(f[i].prog, f[i].n_prog);
  }
  free(f);
}

void rt_xform_data_free(RtData *d) {
  xraw_free(d->xraw);
  d->xraw = NULL;
  rt_live_dist_free(d->dist, d->n_dist);
  d->dist = NULL;
  d->n_dist = 0;
  for (int i = 0; d->feats && i < d->n_feats; i++) {
    free(d->feats[i].cat);
    prog_free(d->feats[i].prog, d->feats[i].n_prog);
    d->feats[i].cat = NULL;
    d->feats[i].prog = NULL;
  }
  for (int i = 0; i < d->n_fills; i++) {
    free(d->fills[i].column);
    free(d->fills[i].str);
  }
  free(d->fills);
  d->fills = NULL;
  d->n_fills = 0;
}

/* The codes of row r (split order). */
static int32_t *raw_row(const RtData *d, int64_t r) {
  return (int32_t *)(void *)d->xblock + r * (int64_t)d->xraw->nslot;
}

/* A category cell's id after its fill. */
static int cat_id(const RtXraw *w, int s, int32_t id) { return id >= 0 ? id : w->cat_fill[s]; }

/* Rows [r0, r0 + m) of the slots marked in need, decoded into dec[slot]. */
static void decode_rows(const RtData *d, const bool *need, int64_t r0, int64_t m, double **dec) {
  const RtXraw *w = d->xraw;
  for (int s = 0; s < w->nslot; s++) {
    if (!need[s]) continue;
    double *o = dec[s], f = w->fill[s];
    if (w->wide[s]) {
      const double *v = w->wide[s] + r0;
      for (int64_t q = 0; q < m; q++) o[q] = isnan(v[q]) ? f : v[q];
    } else {
      const int32_t *c = raw_row(d, r0) + s;
      int64_t st = w->nslot;
      for (int64_t q = 0; q < m; q++) o[q] = code_value(c[q * st], f);
    }
  }
}

/* Copies the rows of the store into one matrix of codes and the line and
 * record arrays, a chunk at a time (each unmapped once copied), then puts
 * row idx[r] at r for every r, in place, following each cycle of the
 * permutation once: the codes, labels y, lines, records and wide columns
 * all move together. */
static void rows_take(RtXload *x, RtData *d, RtXraw *w, const int64_t *idx, int64_t n,
                      size_t room) {
  int ns = x->nslot;
  size_t rb = sizeof(int32_t) * (size_t)ns;
  int32_t *m = block_alloc((rb > room ? rb : room) * (size_t)n + 4);
  int32_t *line = block_alloc(sizeof(int32_t) * (size_t)n + 4);
  int64_t *rec = idx ? block_alloc(sizeof(int64_t) * (size_t)n + 8) : NULL;
  for (int64_t k = 0; k < x->nchunk; k++) {
    int64_t r0 = k * x->rpc, r1 = r0 + x->rpc < n ? r0 + x->rpc : n;
    for (int64_t r = r0; r < r1; r++) {
      unsigned char *row = row_at(x, r);
      if (rec) memcpy(&rec[r], row, 8);
      memcpy(&line[r], row + 8, 4);
      memcpy(m + r * ns, row + 12, rb);
    }
    munmap(x->chunk[k], (size_t)x->rpc * x->rec_size);
    x->chunk[k] = NULL;
  }
  w->wide = x->wide;   /* rows n.. of a wide column are never read */
  x->wide = NULL;
  d->xblock = (float *)(void *)m;
  d->rec = rec;
  w->line = line;
  if (!idx) return;   /* predict: the rows stay in file order */
  int nw = 0;
  int *wl = rt_xmalloc(sizeof(int) * (size_t)(ns + 1));
  for (int s = 0; s < ns; s++)
    if (w->wide[s]) wl[nw++] = s;
  double *tw = rt_xmalloc(sizeof(double) * (size_t)(nw + 1));
  int32_t *trow = rt_xmalloc(rb + 4);
  uint64_t *done = rt_xmalloc(sizeof(uint64_t) * (size_t)(n / 64 + 1));
  float *y = d->yblock;
  for (int64_t r0 = 0; r0 < n; r0++) {
    if (done[r0 >> 6] >> (r0 & 63) & 1) continue;
    done[r0 >> 6] |= 1ull << (r0 & 63);
    if (idx[r0] == r0) continue;
    memcpy(trow, m + r0 * ns, rb);
    float ty = y[r0];
    int32_t tl = line[r0];
    int64_t tr = rec[r0];
    for (int k = 0; k < nw; k++) tw[k] = w->wide[wl[k]][r0];
    int64_t j = r0;
    for (;;) {
      int64_t k = idx[j];
      if (k == r0) break;
      done[k >> 6] |= 1ull << (k & 63);
      memcpy(m + j * ns, m + k * ns, rb);
      y[j] = y[k];
      line[j] = line[k];
      rec[j] = rec[k];
      for (int q = 0; q < nw; q++) w->wide[wl[q]][j] = w->wide[wl[q]][k];
      j = k;
    }
    memcpy(m + j * ns, trow, rb);
    y[j] = ty;
    line[j] = tl;
    rec[j] = tr;
    for (int q = 0; q < nw; q++) w->wide[wl[q]][j] = tw[q];
  }
  free(done);
  free(trow);
  free(tw);
  free(wl);
}

/* One onehot group's inputs: the categories train rows hold, sorted by
 * bytes (+ "other"); code_of gets each category id's code. Rows with a
 * category train never saw are an error under unseen = error (the first
 * in the file is reported). */
static bool onehot_fit(Inputs *in, const RtFeature *f, XCol *col, const RtData *d, int s,
                       int64_t nfit, int **code_out, const RtDataSpec *spec) {
  const RtXraw *w = d->xraw;
  char *seen = rt_xmalloc((size_t)col->cats.n + 1);
  for (int64_t r = 0; r < nfit; r++) {
    int id = cat_id(w, s, raw_row(d, r)[s]);
    if (id >= 0) seen[id] = 1;
  }
  char **names = rt_xmalloc(sizeof(char *) * (size_t)(col->cats.n + 1));
  int k = 0;
  for (int id = 0; id < col->cats.n; id++)
    if (seen[id]) names[k++] = col->cats.names[id];
  qsort(names, (size_t)k, sizeof(char *), cmp_str);
  int first = in->n;
  for (int i = 0; i < k + (f->onehot == RT_OH_OTHER); i++) {
    RtFeature *o = inputs_add(in);
    const char *cat = i < k ? names[i] : NULL;
    size_t len = strlen(f->column) + (cat ? strlen(cat) : 7) + 2;
    o->name = rt_xmalloc(len);
    snprintf(o->name, len, "%s=%s", f->column, cat ? cat : "<other>");
    o->column = rt_xstrdup(f->column);
    o->onehot = f->onehot;
    o->cat = rt_xstrdup(cat);
    o->cat_index = i;
    o->n_cats = k;
    o->loc = f->loc;
  }
  free(names);
  /* each category id's code in the group */
  int *code_of = rt_xmalloc(sizeof(int) * (size_t)(col->cats.n + 1));
  for (int id = 0; id < col->cats.n; id++)
    code_of[id] = onehot_code(&in->f[first], col->cats.names[id]);
  *code_out = code_of;
  bool ok = true;
  if (f->onehot == RT_OH_ERROR) {
    int64_t best = -1;
    int best_id = -1;
    for (int64_t r = 0; r < w->n; r++) {
      int id = cat_id(w, s, raw_row(d, r)[s]);
      if (id >= 0 && code_of[id] == k && (best < 0 || d->rec[r] < best)) best = d->rec[r], best_id = id;
    }
    if (best_id >= 0) {
      int id = best_id;
      RtLoc at = col->cats.first[id];
      if (!at.file && col->rule) {   /* no cell has it: the `missing` rule's fill */
        rt_diag(RT_ERROR, col->rule->loc,
                "the fill '%s' of column '%s' is not a category of the train split",
                col->cats.names[id], f->column);
        rt_note(rt_loc_file(spec->csv_path), "only val or test rows had missing '%s' cells",
                f->column);
      } else {
        if (!at.file) at = rt_loc_file(spec->csv_path);
        rt_diag(RT_ERROR, at, "category '%s' of column '%s' is not in the train split",
                col->cats.names[id], f->column);
      }
      rt_note(f->loc, "onehot(%s, unseen = error) refuses categories train did not have; "
              "'unseen = zero' or 'unseen = other' accept them", f->column);
      ok = false;
    }
  }
  free(seen);
  return ok;
}

/* Rows a piece of the row loops takes: at most about 1M values of width. */
static int64_t piece_rows(int width) {
  int64_t m = width > 0 ? (1 << 20) / width : 4096;
  return m < 1 ? 1 : m > 4096 ? 4096 : m;
}

/* Fits every STANDARDIZE and MINMAX of the inputs' programs on the train
 * rows [0, nfit), in train order, as eval_prog's fit does (the same sums in
 * the same order, so the same statistics bit for bit): a pass over the
 * rows per step of fitting, all inputs at once — a standardize's mean,
 * then its sum of squares, a minmax's bounds — each step seeing its input
 * through the program before it, with the statistics fitted so far. */
static void fit_stats(RtData *d, RtFeature *in, int nf, int64_t nfit) {
  RtXraw *w = d->xraw;
  int *pos = rt_xmalloc(sizeof(int) * (size_t)(nf + 1));     /* the op being fitted */
  int *phase = rt_xmalloc(sizeof(int) * (size_t)(nf + 1));   /* standardize: 0 mean, 1 ss */
  double *acc = rt_xmalloc(sizeof(double) * (size_t)(nf + 1));
  double *acc2 = rt_xmalloc(sizeof(double) * (size_t)(nf + 1));
  double *mean = rt_xmalloc(sizeof(double) * (size_t)(nf + 1));
  bool *need = rt_xmalloc(sizeof(bool) * (size_t)(w->nslot + 1));
  int64_t pm = piece_rows(w->nslot);
  double **dec = rt_xmalloc(sizeof(double *) * (size_t)(w->nslot + 1));
  double *tmp = rt_xmalloc(sizeof(double) * (size_t)(pm + 1));
  int colv_cap = 8;
  double **colv = rt_xmalloc(sizeof(double *) * (size_t)colv_cap);
  for (;;) {
    bool any = false;
    memset(need, 0, sizeof(bool) * (size_t)w->nslot);
    for (int i = 0; i < nf; i++) {
      RtFeature *f = &in[i];
      if (f->onehot != RT_OH_NONE) continue;
      while (pos[i] < f->n_prog && f->prog[pos[i]].op != RT_XOP_STANDARDIZE &&
             f->prog[pos[i]].op != RT_XOP_MINMAX)
        pos[i]++;
      if (pos[i] >= f->n_prog) continue;
      any = true;
      acc[i] = f->prog[pos[i]].op == RT_XOP_MINMAX ? INFINITY : 0;
      acc2[i] = -INFINITY;
      for (int k = 0; k < pos[i]; k++)
        if (w->op_slot[i][k] >= 0) need[w->op_slot[i][k]] = true;
    }
    if (!any) break;
    for (int s = 0; s < w->nslot; s++)
      if (need[s] && !dec[s]) dec[s] = rt_xmalloc(sizeof(double) * (size_t)(pm + 1));
    for (int64_t r0 = 0; r0 < nfit; r0 += pm) {
      int64_t m = nfit - r0 < pm ? nfit - r0 : pm;
      decode_rows(d, need, r0, m, dec);
      for (int i = 0; i < nf; i++) {
        RtFeature *f = &in[i];
        if (f->onehot != RT_OH_NONE || pos[i] >= f->n_prog) continue;
        int kp = pos[i];
        if (kp > colv_cap) {
          colv_cap = kp;
          colv = rt_xrealloc(colv, sizeof(double *) * (size_t)colv_cap);
        }
        for (int k = 0; k < kp; k++) colv[k] = w->op_slot[i][k] >= 0 ? dec[w->op_slot[i][k]] : NULL;
        eval_prog(f->prog, kp, colv, m, NULL, 0, tmp);
        double a = acc[i], b = acc2[i];
        if (f->prog[kp].op == RT_XOP_MINMAX) {
          for (int64_t q = 0; q < m; q++) {
            double v = tmp[q];
            if (v < a || isnan(v)) a = v;
            if (v > b || isnan(v)) b = v;
          }
        } else if (phase[i] == 0) {
          for (int64_t q = 0; q < m; q++) a += tmp[q];
        } else {
          double mu = mean[i];
          for (int64_t q = 0; q < m; q++) a += (tmp[q] - mu) * (tmp[q] - mu);
        }
        acc[i] = a, acc2[i] = b;
      }
    }
    for (int i = 0; i < nf; i++) {
      RtFeature *f = &in[i];
      if (f->onehot != RT_OH_NONE || pos[i] >= f->n_prog) continue;
      RtXop *o = &f->prog[pos[i]];
      if (o->op == RT_XOP_MINMAX) {
        o->a = acc[i], o->b = acc2[i];
        pos[i]++;
      } else if (phase[i] == 0) {
        mean[i] = nfit ? acc[i] / (double)nfit : 0;
        phase[i] = 1;
      } else {
        o->a = mean[i];
        o->b = nfit ? sqrt(acc[i] / (double)nfit) : 1;
        phase[i] = 0;
        pos[i]++;
      }
    }
  }
  for (int s = 0; s < w->nslot; s++) free(dec[s]);
  free(dec);
  free(tmp);
  free(colv);
  free(need);
  free(pos);
  free(phase);
  free(acc);
  free(acc2);
  free(mean);
}

/* Sets each split's n, x, y and rec inside d's blocks (train, val, test). */
static void set_splits(RtData *d, const int64_t cnt[3]) {
  int64_t at = 0;
  for (int s = 0; s < 3; s++) {
    d->split[s].n = cnt[s];
    d->split[s].x = d->xblock + at * d->n_feats;
    d->split[s].y = d->yblock ? d->yblock + at : NULL;
    d->split[s].rec = d->rec ? d->rec + at : NULL;
    at += cnt[s];
  }
}

static int name_col(const RtXload *x, const char *name) {
  for (int j = 0; name && j < x->ncols; j++)
    if (!strcmp(x->names[j], name)) return j;
  return -1;
}

static int xraw_inputs(RtData *d, MlxXformFn xf);

/* Each used raw column's distribution over the train rows [0, ntrain) into
 * d->dist (rt_live.c: drift). A number column: cut points from the deciles
 * of at most RT_DIST_SAMPLE evenly spaced train rows, then the cells of at
 * most RT_DIST_COUNT evenly spaced train rows (every row below that)
 * counted in their bins; a category column: its train counts the same way.
 * Missing cells are left out. Number columns go RT_DIST_BLOCK at a time,
 * each block in one pass over the rows, so a wide file is read about once.
 * Reads the codes, so it runs before the inputs are written over them. */
#define RT_DIST_BLOCK 16
static double raw_num(const RtData *d, int s, int64_t r) {
  const RtXraw *w = d->xraw;
  return w->wide[s] ? w->wide[s][r] : code_value(raw_row(d, r)[s], NAN);
}

static void fit_dist(const RtXload *x, RtData *d, int64_t ntrain) {
  d->dist = rt_xmalloc(sizeof(RtTrainDist) * (size_t)(x->ncols + 1));
  d->n_dist = 0;
  int64_t ns = ntrain < RT_DIST_SAMPLE ? ntrain : RT_DIST_SAMPLE;
  int64_t nc = ntrain < RT_DIST_COUNT ? ntrain : RT_DIST_COUNT;
  double *v = rt_xmalloc(sizeof(double) * (size_t)(ns + 1) * RT_DIST_BLOCK);
  int blk[RT_DIST_BLOCK], slot[RT_DIST_BLOCK], nb = 0;   /* a block: dist index, slot */
  for (int j = 0; j <= x->ncols; j++) {
    const XCol *col = j < x->ncols ? &x->col[j] : NULL;
    if (col && !col->num && col->cat) {   /* categories */
      RtTrainDist *t = &d->dist[d->n_dist++];
      memset(t, 0, sizeof *t);
      int64_t *cnt = rt_xmalloc(sizeof(int64_t) * (size_t)(col->cats.n + 1));
      for (int64_t i = 0; i < nc; i++) {
        int id = raw_row(d, i * ntrain / nc)[col->cslot];
        if (id >= 0) cnt[id]++;
      }
      rt_dist_set_cats(t, x->names[j], col->cats.names, cnt, col->cats.n);
      free(cnt);
      continue;
    }
    if (col && col->num) {
      RtTrainDist *t = &d->dist[d->n_dist];
      memset(t, 0, sizeof *t);
      t->column = rt_xstrdup(x->names[j]);
      slot[nb] = col->slot;
      blk[nb++] = d->n_dist++;
    }
    if (nb < RT_DIST_BLOCK && (col || nb == 0)) continue;
    /* a block of number columns: cut points from the sample, then counts */
    int64_t k[RT_DIST_BLOCK] = {0};
    for (int64_t i = 0; i < ns; i++) {
      int64_t r = i * ntrain / ns;
      for (int q = 0; q < nb; q++) {
        double a = raw_num(d, slot[q], r);
        if (!isnan(a)) v[(size_t)q * (size_t)ns + (size_t)k[q]++] = a;
      }
    }
    for (int q = 0; q < nb; q++) {
      RtTrainDist *t = &d->dist[blk[q]];
      double cuts[RT_DIST_BINS - 1];
      int nct = rt_dist_cuts(v + (size_t)q * (size_t)ns, k[q], cuts);
      t->n_bins = nct + 1;
      t->cuts = rt_xmalloc(sizeof(double) * (size_t)(nct + 1));
      memcpy(t->cuts, cuts, sizeof(double) * (size_t)nct);
      t->count = rt_xmalloc(sizeof(int64_t) * (size_t)(nct + 1));
    }
    for (int64_t i = 0; i < nc; i++) {
      int64_t r = i * ntrain / nc;
      for (int q = 0; q < nb; q++) {
        double a = raw_num(d, slot[q], r);
        if (isnan(a)) continue;
        RtTrainDist *t = &d->dist[blk[q]];
        t->count[rt_dist_bin(t, a)]++;
        t->n++;
      }
    }
    nb = 0;
  }
  free(v);
}

int rt_xload_finish(RtXload *x, const RtDataSpec *spec, RtData *d, int64_t *idx,
                    const int64_t cnt[3], float *y) {
  int64_t n = cnt[0] + cnt[1] + cnt[2];
  Inputs in = {0};
  bool ok = true;

  rt_xform_data_free(d);
  RtXraw *w = rt_xmalloc(sizeof *w);
  d->xraw = w;
  d->yblock = y;
  w->n = n;
  memcpy(w->cnt, cnt, sizeof w->cnt);
  w->nslot = x->nslot;
  w->path = x->path;
  w->fill = rt_xmalloc(sizeof(double) * (size_t)(x->nslot + 1));
  w->cat_fill = rt_xmalloc(sizeof(int) * (size_t)(x->nslot + 1));
  for (int s = 0; s < x->nslot; s++) w->fill[s] = NAN, w->cat_fill[s] = -1;
  if (n != x->nrows) {
    rt_diag(RT_ERROR, rt_loc_file(x->path), "internal: %lld rows split, %lld stored",
            (long long)n, (long long)x->nrows);
    free(idx);
    return -1;
  }
  /* the duplicate keys are done with: they go before the matrix is made */
  free(x->keys), free(x->koff), free(x->kn), free(x->khash), free(x->kslot), free(x->kbuf);
  x->keys = x->kbuf = NULL, x->koff = x->kn = NULL, x->khash = NULL, x->kslot = NULL;
  rows_take(x, d, w, idx, n, 0);
  free(idx);

  /* missing cells: fills fitted on train, frozen per used column */
  d->fills = rt_xmalloc(sizeof(RtMissing) * (size_t)(x->ncols + 1));
  for (int j = 0; j < x->ncols && ok; j++) {
    XCol *col = &x->col[j];
    if (!col->rule || (!col->num && !col->cat)) continue;
    RtMissing *m = &d->fills[d->n_fills++];
    *m = *col->rule;
    m->column = rt_xstrdup(x->names[j]);
    m->str = rt_xstrdup(col->rule->str);
    bool stat = m->kind == RT_MISS_MEAN || m->kind == RT_MISS_MEDIAN || m->kind == RT_MISS_MODE;
    double *v = NULL;
    int64_t k = 0, *ccnt = NULL;
    if (stat && col->num) {   /* the train rows' numbers, in train order */
      int s = col->slot;
      v = rt_xmalloc(sizeof(double) * (size_t)(cnt[0] + 1));
      for (int64_t r = 0; r < cnt[0]; r++) {
        double t = w->wide[s] ? w->wide[s][r] : code_value(raw_row(d, r)[s], NAN);
        if (!isnan(t)) v[k++] = t;
      }
    }
    if (stat && col->cat) {
      ccnt = rt_xmalloc(sizeof(int64_t) * (size_t)(col->cats.n + 1));
      for (int64_t r = 0; r < cnt[0]; r++) {
        int id = raw_row(d, r)[col->cslot];
        if (id >= 0) ccnt[id]++;
      }
    }
    int cat_fill = -1;
    ok = fit_fill(col, m, x->names[j], v, k, ccnt, &cat_fill);
    free(v);
    free(ccnt);
    if (ok && m->kind != RT_MISS_FFILL && m->kind != RT_MISS_DROP_ROW) {
      if (col->num) w->fill[col->slot] = m->num;
      if (col->cat) w->cat_fill[col->cslot] = cat_fill;
    }
  }

  if (ok) fit_dist(x, d, cnt[0]);   /* drift's reference (rt_live.c) */

  /* inputs: explicit features in spec order, then `*` columns in header order */
  int gcap = 0;
  int **gcode = NULL, *gsl = NULL;   /* per input: a onehot group start's code table */
  for (int i = 0; i < spec->n_feats && ok; i++) {
    const RtFeature *f = &spec->feats[i];
    if (f->onehot != RT_OH_NONE) {
      int j = name_col(x, f->column);
      if (j < 0 || !x->col[j].cat) continue;   /* resolve() reported it */
      int start = in.n, *code_of = NULL;
      /* a cv fold fits its categories on the whole pool: the same inputs */
      ok = onehot_fit(&in, f, &x->col[j], d, x->col[j].cslot,
                      spec->cv_fold ? cnt[0] + cnt[1] : cnt[0], &code_of, spec);
      if (in.n > gcap) {
        int nc = in.n * 2 + 16;
        gcode = rt_xrealloc(gcode, sizeof(int *) * (size_t)nc);
        gsl = rt_xrealloc(gsl, sizeof(int) * (size_t)nc);
        memset(gcode + gcap, 0, sizeof(int *) * (size_t)(nc - gcap));
        gcap = nc;
      }
      if (in.n > start) {
        gcode[start] = code_of;
        gsl[start] = x->col[j].cslot;
      } else {
        free(code_of);
      }
      if (ok && in.n == start) {
        rt_diag(RT_ERROR, f->loc, "column '%s' has no categories in the train split", f->column);
        ok = false;
      }
      continue;
    }
    RtFeature *o = inputs_add(&in);
    o->name = rt_xstrdup(f->name ? f->name : f->column);
    o->column = rt_xstrdup(f->column);
    o->xform = f->xform;
    o->loc = f->loc;
    if (f->prog) {
      o->prog = prog_copy(f->prog, f->n_prog, NULL);
      o->n_prog = f->n_prog;
    } else {
      o->prog = legacy_prog(f, &o->n_prog);
    }
  }
  for (int j = 0; j < x->ncols && ok; j++) {
    if (x->col[j].use != 2) continue;
    RtFeature *o = inputs_add(&in);
    o->name = rt_xstrdup(x->names[j]);
    o->column = rt_xstrdup(x->names[j]);
    o->loc = spec->star_loc;
    if (spec->star_prog) {
      o->prog = prog_copy(spec->star_prog, spec->n_star_prog, x->names[j]);
      o->n_prog = spec->n_star_prog;
    } else {
      o->xform = spec->star_xform;
      o->prog = legacy_prog(o, &o->n_prog);
    }
  }
  int nf = in.n;
  if (ok && nf > (1 << 24)) {
    rt_diag(RT_ERROR, spec->source_loc, "the dataset '%s' makes %d inputs, more than %d",
            spec->name ? spec->name : "?", nf, 1 << 24);
    ok = false;
  }
  if (ok && nf == 0) {
    rt_diag(RT_ERROR, spec->source_loc, "the dataset '%s' has no features",
            spec->name ? spec->name : "?");
    ok = false;
  }
  /* where each input reads: a slot per COL op, a code table per onehot group */
  w->n_in = ok ? nf : 0;
  w->op_slot = rt_xmalloc(sizeof(int *) * (size_t)(nf + 1));
  w->code_of = rt_xmalloc(sizeof(int *) * (size_t)(nf + 1));
  w->gslot = rt_xmalloc(sizeof(int) * (size_t)(nf + 1));
  for (int i = 0; i < nf && ok; i++) {
    RtFeature *f = &in.f[i];
    if (f->onehot != RT_OH_NONE) {
      if (i < gcap && gcode[i]) {
        w->code_of[i] = gcode[i];
        w->gslot[i] = gsl[i];
        gcode[i] = NULL;
      }
      continue;
    }
    w->op_slot[i] = rt_xmalloc(sizeof(int) * (size_t)(f->n_prog + 1));
    for (int k = 0; k < f->n_prog; k++) {
      int j = f->prog[k].op == RT_XOP_COL ? name_col(x, f->prog[k].column) : -1;
      w->op_slot[i][k] = j >= 0 ? x->col[j].slot : -1;
      if (f->prog[k].op == RT_XOP_COL && w->op_slot[i][k] < 0 && ok) {
        rt_diag(RT_ERROR, f->loc, "internal: column '%s' was not read",
                f->prog[k].column ? f->prog[k].column : "?");
        ok = false;
      }
    }
  }
  for (int i = 0; gcode && i < gcap; i++) free(gcode[i]);
  free(gcode);
  free(gsl);
  if (!ok) goto out;

  /* statistics, on the train rows */
  fit_stats(d, in.f, nf, cnt[0]);
  for (int i = 0; i < nf; i++) {
    RtFeature *f = &in.f[i];
    if (f->onehot != RT_OH_NONE) continue;
    if (!f->prog[0].column || f->n_prog != 2 || f->prog[1].op != RT_XOP_STANDARDIZE) {
      f->mean = 0, f->std = 1;
    } else {
      f->mean = f->prog[1].a, f->std = f->prog[1].b > 0 && isfinite(f->prog[1].b) ? f->prog[1].b : 1;
    }
  }

  /* d's inputs become these */
  feats_free(d->feats, d->n_feats);
  for (int i = 0; d->feat_names && i < d->n_feats; i++) free(d->feat_names[i]);
  free(d->feat_names);
  d->feats = in.f;
  d->n_feats = nf;
  d->feat_names = rt_xmalloc(sizeof(char *) * (size_t)(nf + 1));
  for (int i = 0; i < nf; i++) d->feat_names[i] = rt_xstrdup(in.f[i].name);
  in.f = NULL;
  in.n = 0;
  d->rows_dropped += x->dropped;
  if (nf > w->nslot)   /* the inputs take more room than the codes: written from the end */
    d->xblock = rt_xrealloc(d->xblock, sizeof(float) * (size_t)n * (size_t)nf + 4);
  set_splits(d, cnt);
  d->x_pending = true;
  /* the interpreter computes the inputs now, unless rt_data_xform will */
  if (!spec->fit_only && xraw_inputs(d, NULL)) ok = false;
out:
  feats_free(in.f, in.n);
  return ok ? 0 : -1;
}

/* One input's value at one row (n = 1 through eval_prog), for a message
 * about a value the compiled transforms found not finite. colv: per op. */
static double value_at(RtXop *prog, int np, double *const *cols_of_op, int64_t row) {
  double **one = rt_xmalloc(sizeof(double *) * (size_t)(np + 1));
  for (int k = 0; k < np; k++) one[k] = cols_of_op[k] ? cols_of_op[k] + row : NULL;
  double v;
  eval_prog(prog, np, one, 1, NULL, 0, &v);
  free(one);
  return v;
}

/* Computes every input of every row from d->xraw's codes and writes it over
 * them in d->xblock, a piece of rows at a time (from the first row when the
 * inputs take no more room than the codes, else from the last), with xf
 * (the compiled transforms) or, NULL, the interpreter; then frees xraw. The
 * first value that is not a finite float is reported: the first input,
 * then with xf the row first in the file, with the interpreter the first in
 * split order (as each did before). 0, or -1 after reporting. */
static int xraw_inputs(RtData *d, MlxXformFn xf) {
  RtXraw *w = d->xraw;
  int nf = d->n_feats, ns = w->nslot;
  int64_t n = w->n;
  bool ok = nf == w->n_in;
  int ncv = 0;
  for (int i = 0; ok && i < nf; i++) {
    const RtFeature *f = &d->feats[i];
    if (f->onehot != RT_OH_NONE ? f->cat_index == 0 && !w->code_of[i] : !f->prog || !w->op_slot[i])
      ok = false;
    for (int k = 0; ok && f->onehot == RT_OH_NONE && k < f->n_prog; k++)
      ncv += f->prog[k].op == RT_XOP_COL;
  }
  if (!ok) {
    rt_diag(RT_ERROR, rt_loc_file(w->path), "internal: the compiled transforms do not match the data");
    return -1;
  }
  int64_t pm = piece_rows(nf > ns ? nf : ns);
  bool *need = rt_xmalloc(sizeof(bool) * (size_t)(ns + 1));
  for (int i = 0; i < nf; i++)
    for (int k = 0; d->feats[i].onehot == RT_OH_NONE && k < d->feats[i].n_prog; k++)
      if (w->op_slot[i][k] >= 0) need[w->op_slot[i][k]] = true;
  double **dec = rt_xmalloc(sizeof(double *) * (size_t)(ns + 1));
  for (int s = 0; s < ns; s++)
    if (need[s]) dec[s] = rt_xmalloc(sizeof(double) * (size_t)(pm + 1));
  int32_t **gc = rt_xmalloc(sizeof(int32_t *) * (size_t)(nf + 1));
  for (int i = 0; i < nf; i++)
    if (w->code_of[i]) gc[i] = rt_xmalloc(sizeof(int32_t) * (size_t)(pm + 1));
  const double **cc = rt_xmalloc(sizeof(double *) * (size_t)(ncv + 1));
  ncv = 0;
  for (int i = 0; i < nf; i++)
    for (int k = 0; d->feats[i].onehot == RT_OH_NONE && k < d->feats[i].n_prog; k++)
      if (d->feats[i].prog[k].op == RT_XOP_COL) cc[ncv++] = dec[w->op_slot[i][k]];
  float *buf = rt_xmalloc(sizeof(float) * (size_t)pm * (size_t)(nf > 0 ? nf : 1));
  double *val = rt_xmalloc(sizeof(double) * (size_t)(pm + 1));
  int colv_cap = 8;
  double **colv = rt_xmalloc(sizeof(double *) * (size_t)colv_cap);
  int bad_i = nf;
  int64_t bad_key = -1, bad_row = -1;   /* key: the row (interpreter) or its record (xf) */
  double bad_v = 0;
  bool back = nf > ns;
  int64_t npiece = (n + pm - 1) / pm;
  double t0 = now_s();
  for (int64_t p = 0; p < npiece; p++) {
    int64_t r0 = (back ? npiece - 1 - p : p) * pm;
    int64_t m = n - r0 < pm ? n - r0 : pm;
    decode_rows(d, need, r0, m, dec);
    for (int i = 0; i < nf; i++) {
      if (!w->code_of[i]) continue;
      int s = w->gslot[i], unseen = d->feats[i].n_cats;
      const int32_t *c = raw_row(d, r0) + s;
      for (int64_t q = 0; q < m; q++) {
        int id = cat_id(w, s, c[q * ns]);
        gc[i][q] = id >= 0 ? w->code_of[i][id] : unseen;
      }
    }
    if (xf) {
      int64_t key = xf(cc, (const int32_t *const *)gc, m, buf);
      int i = key >= 0 ? (int)(key / m) : nf;
      if (i <= bad_i && i < nf) {   /* the row first in the file among the chunk's bad ones */
        int64_t q0 = key % m, best = q0;
        for (int64_t q = 0; q < m && d->rec; q++)
          if (!isfinite(buf[q * nf + i]) && d->rec[r0 + q] < d->rec[r0 + best]) best = q;
        int64_t rk = d->rec ? d->rec[r0 + best] : r0 + best;   /* rows in file order */
        if (i < bad_i || rk < bad_key) {
          const RtFeature *f = &d->feats[i];
          if (f->n_prog > colv_cap) {
            colv_cap = f->n_prog;
            colv = rt_xrealloc(colv, sizeof(double *) * (size_t)colv_cap);
          }
          for (int k = 0; k < f->n_prog; k++) colv[k] = w->op_slot[i][k] >= 0 ? dec[w->op_slot[i][k]] : NULL;
          bad_i = i, bad_key = rk, bad_row = r0 + best;
          bad_v = value_at(f->prog, f->n_prog, colv, best);
        }
      }
    } else {
      for (int i = 0; i < nf; i++) {
        const RtFeature *f = &d->feats[i];
        if (f->onehot != RT_OH_NONE) {
          const int32_t *codes = gc[i - f->cat_index];
          for (int64_t q = 0; q < m; q++) val[q] = onehot_value(f, codes[q]);
        } else {
          if (f->n_prog > colv_cap) {
            colv_cap = f->n_prog;
            colv = rt_xrealloc(colv, sizeof(double *) * (size_t)colv_cap);
          }
          for (int k = 0; k < f->n_prog; k++) colv[k] = w->op_slot[i][k] >= 0 ? dec[w->op_slot[i][k]] : NULL;
          eval_prog(f->prog, f->n_prog, colv, m, NULL, 0, val);
        }
        for (int64_t q = 0; q < m; q++) {
          double v = val[q];
          if (!(fabs(v) <= FLT_MAX) && (i < bad_i || (i == bad_i && r0 + q < bad_key)))
            bad_i = i, bad_key = bad_row = r0 + q, bad_v = v;
          buf[q * nf + i] = (float)v;
        }
      }
    }
    memcpy(d->xblock + r0 * nf, buf, sizeof(float) * (size_t)(m * nf));
  }
  if (rt_verbose && xf)
    fprintf(stderr, "mlxc: %-14s %8.1f ms  (%lld rows, mlx_xform)\n", "transforms",
            (now_s() - t0) * 1e3, (long long)n);
  if (bad_i < nf) {
    const RtFeature *f = &d->feats[bad_i];
    rt_diag(RT_ERROR, row_loc(w->path, w->line[bad_row]),
            "feature '%s' is %g in this row: not a finite 32-bit number", f->name,
            isnan(bad_v) ? NAN : bad_v);
    if (!w->predict) rt_note(f->loc, "computed here");
    ok = false;
  }
  for (int s = 0; s < ns; s++) free(dec[s]);
  for (int i = 0; i < nf; i++) free(gc[i]);
  free(dec);
  free(gc);
  free(need);
  free(cc);
  free(buf);
  free(val);
  free(colv);
  if (nf < ns && n > 0)   /* the codes' room past the inputs goes back */
    d->xblock = rt_xrealloc(d->xblock, sizeof(float) * (size_t)n * (size_t)nf + 4);
  set_splits(d, w->cnt);
  xraw_free(w);
  d->xraw = NULL;
  d->x_pending = false;
  return ok ? 0 : -1;
}

int rt_data_xform(RtData *d, MlxXformFn xf) {
  RtXraw *w = d->xraw;
  if (d->x_pending && (!w || !xf)) {
    rt_diag(RT_ERROR, rt_loc_file(w ? w->path : "?"), "internal: the inputs were not computed");
    return -1;
  }
  if (!w || !xf) return 0;
  return xraw_inputs(d, xf);
}

/* ---- predict and eval ------------------------------------------------------------- */

/* Shows at most 60 bytes of a cell in a message. */
static const char *short_cell(const char *s, char buf[72]) {
  size_t n = strlen(s);
  if (n <= 60) return s;
  memcpy(buf, s, 60);
  strcpy(buf + 60, "...");
  return buf;
}

/* Reads csv through the frozen rules and inputs: each needed cell is
 * checked, filled by its frozen rule when missing, categories turned into
 * onehot codes as they are read (an unseen one is an error at its cell under
 * unseen = error), all kept as rt_data_load keeps them (4-byte codes in the
 * row store); then every input is computed with the frozen statistics and
 * written over the codes (xraw_inputs, rows in file order). */
int rt_xform_apply(const RtDataSpec *frozen, const char *csv_path, RtTask task,
                   char *const *classes, int n_classes, bool with_label, RtSplit *out) {
  return rt_data_apply_xf(frozen, csv_path, task, classes, n_classes, with_label, NULL, out);
}

int rt_data_apply_xf(const RtDataSpec *frozen, const char *csv_path, RtTask task,
                     char *const *classes, int n_classes, bool with_label, MlxXformFn xf,
                     RtSplit *out) {
  memset(out, 0, sizeof *out);
  for (int i = 0; xf && i < frozen->n_feats; i++)   /* compiled from programs only */
    if (frozen->feats[i].onehot == RT_OH_NONE && !frozen->feats[i].prog) xf = NULL;
  RtCsvOpts opts = {frozen->csv_delim, frozen->csv_quote, frozen->csv_no_header, false};
  RtCsv *c = rt_csv_open_opts(csv_path, &opts);
  const char *path = strcmp(csv_path, "-") ? csv_path : "<stdin>";
  if (!c) return -1;
  int nf = frozen->n_feats, ncols = rt_csv_ncols(c);
  const RtFeature *fe = frozen->feats;
  /* the row store of rt_data_load: a number column's cells as codes, a
   * onehot group's code per row (no duplicates dropped here) */
  RtDataSpec fs = *frozen;
  fs.drop_dups = false;
  RtXload *x = rt_xmalloc(sizeof *x);
  x->spec = &fs;
  x->path = path;
  x->ncols = ncols;
  XCol *cols = x->col = rt_xmalloc(sizeof(XCol) * (size_t)(ncols + 1));
  x->names = rt_xmalloc(sizeof(char *) * (size_t)(ncols + 1));   /* unused: all NULL */
  int **ops = rt_xmalloc(sizeof(int *) * (size_t)(nf + 1));   /* per program input: its slots */
  for (int j = 0; j < ncols; j++) cols[j].slot = cols[j].cslot = -1;
  int *gcol = rt_xmalloc(sizeof(int) * (size_t)(nf + 1));   /* onehot group start: its column */
  int *gslot = rt_xmalloc(sizeof(int) * (size_t)(nf + 1));  /* and its slot */
  int *gprev = rt_xmalloc(sizeof(int) * (size_t)(nf + 1));  /* ffill: its code above */
  RtFeature *tf = rt_xmalloc(sizeof(RtFeature) * (size_t)(nf + 1));   /* fe, programs for all */
  bool ok = true;
  /* plain features (a model file can mix them in) run as programs too */
  RtXop **lprog = rt_xmalloc(sizeof(RtXop *) * (size_t)(nf + 1));
  int *ln = rt_xmalloc(sizeof(int) * (size_t)(nf + 1));
  for (int i = 0; i < nf; i++) {
    tf[i] = fe[i];
    if (fe[i].onehot == RT_OH_NONE && !fe[i].prog) {
      lprog[i] = legacy_prog(&fe[i], &ln[i]);
      tf[i].prog = lprog[i], tf[i].n_prog = ln[i];
    }
  }
  for (int i = 0; i < nf; i++) {
    gcol[i] = gslot[i] = -1;
    const RtFeature *f = &tf[i];
    if (f->onehot != RT_OH_NONE) {
      int j = find_col(c, f->column);
      if (j >= 0) cols[j].cat = true;
      if (j < 0 && f->cat_index == 0) {
        rt_diag(RT_ERROR, rt_loc_file(path), "missing column '%s': the model's feature '%s' reads it",
                f->column, f->name);
        ok = false;
      }
      if (f->cat_index == 0 && j >= 0) gcol[i] = j, gslot[i] = x->nslot++;
      continue;
    }
    ops[i] = rt_xmalloc(sizeof(int) * (size_t)(f->n_prog + 1));
    for (int k = 0; k < f->n_prog; k++) {
      ops[i][k] = -1;
      if (f->prog[k].op != RT_XOP_COL) continue;
      int j = find_col(c, f->prog[k].column);
      if (j >= 0) {
        if (!cols[j].num) cols[j].slot = x->nslot++;
        cols[j].num = true;
        ops[i][k] = cols[j].slot;
        continue;
      }
      rt_diag(RT_ERROR, rt_loc_file(path), "missing column '%s': the model's feature '%s' reads it",
              f->prog[k].column, f->name);
      ok = false;
    }
  }
  for (int j = 0; j < ncols; j++)
    if (cols[j].num || cols[j].cat) cols[j].rule = rt_xform_rule(frozen, rt_csv_name(c, j));
  int label_col = -1;
  if (with_label) {
    label_col = frozen->label ? find_col(c, frozen->label) : -1;
    if (label_col < 0) {
      rt_diag(RT_ERROR, rt_loc_file(path), "missing label column '%s'",
              frozen->label ? frozen->label : "?");
      ok = false;
    }
  }
  x->rec_size = (12 + 4 * (size_t)x->nslot + 7) & ~(size_t)7;
  x->rpc = (int64_t)(CHUNK_BYTES / x->rec_size);
  if (x->rpc < 64) x->rpc = 64;
  x->wide = rt_xmalloc(sizeof(double *) * (size_t)(x->nslot + 1));
  int64_t n = 0, ycap = 0;
  char sbuf[72];
  int r = 0;
  while (ok && (r = rt_csv_next(c)) > 0) {
    if (with_label && n == ycap) {
      ycap = ycap ? ycap * 2 : 1024;
      out->y = rt_xrealloc(out->y, sizeof(float) * (size_t)ycap);
    }
    grow_rows(x, n);
    unsigned char *row = row_at(x, n);
    int32_t *codes = row_codes(row);
    for (int j = 0; j < ncols && ok; j++) {
      XCol *col = &cols[j];
      if (!col->num && !col->cat) continue;
      size_t len;
      const char *s = rt_csv_field(c, j, &len);
      const RtMissing *m = col->rule;
      const char *cat = s;
      if (is_missing(frozen, s, len)) {
        if (!m || m->kind == RT_MISS_DROP_ROW || (m->kind == RT_MISS_FFILL && !col->has_prev)) {
          rt_diag(RT_ERROR, rt_csv_loc(c, j), "missing value in column '%s'", rt_csv_name(c, j));
          if (m && m->kind == RT_MISS_DROP_ROW)
            rt_note(rt_loc_file(path), "training dropped such rows ('drop_row'); a prediction needs a value");
          else if (m)
            rt_note(rt_loc_file(path), "'ffill' needs a row above with a value");
          ok = false;
          break;
        }
        if (m->kind == RT_MISS_FFILL) {
          if (col->num) put_num(x, col, codes, n, !x->wide[col->slot], col->prev_code, col->prev);
          cat = NULL;   /* the codes of the row above */
        } else {
          if (col->num) put_num(x, col, codes, n, true, CODE_MISSING, NAN);   /* reads m->num */
          cat = m->str ? m->str : "";
        }
      } else if (col->num) {
        bool neg = false;
        uint64_t mant = 0;
        int frac = 0;
        if (fast_parts(s, len, &neg, &mant, &frac) && mant <= CODE_MAX_M) {
          int32_t code = mant == 0 && neg ? CODE_NEGZERO
                                          : (neg ? -(int32_t)mant : (int32_t)mant) * 16 + frac;
          put_num(x, col, codes, n, true, code, 0);
        } else {
          double v = cell_num(s, len);
          if (isnan(v)) {
            rt_diag(RT_ERROR, rt_csv_loc(c, j), "expected a number in column '%s', found '%s'",
                    rt_csv_name(c, j), short_cell(s, sbuf));
            ok = false;
            break;
          }
          int32_t code = 0;
          bool have = code_of_double(v, &code);
          put_num(x, col, codes, n, have, code, v);
        }
      }
      col->has_prev = true;
      for (int i = 0; col->cat && i < nf; i++) {
        if (gcol[i] != j) continue;
        int code = cat ? onehot_code(&fe[i], cat) : gprev[i];
        if (code == fe[i].n_cats && fe[i].onehot == RT_OH_ERROR) {
          rt_diag(RT_ERROR, rt_csv_loc(c, j), "category '%s' of column '%s' is not one the model was trained on",
                  short_cell(cat, sbuf), rt_csv_name(c, j));
          rt_note(rt_loc_file(path), "the feature says onehot(%s, unseen = error)", fe[i].column);
          ok = false;
          break;
        }
        codes[gslot[i]] = gprev[i] = code;
      }
    }
    if (ok && with_label)
      ok = rt_data_label(c, label_col, frozen, task, classes, n_classes, &out->y[n]);
    if (ok) {
      int64_t line = rt_csv_line(c);
      int32_t line32 = line > INT32_MAX ? INT32_MAX : (int32_t)line;
      memcpy(row, &n, 8);
      memcpy(row + 8, &line32, 4);
      x->nrows = ++n;
    }
  }
  if (r < 0) ok = false;
  rt_csv_close(c);   /* the reader's buffers go before the matrix is made */
  if (ok) {   /* the inputs over the codes: xraw_inputs, as a load's */
    RtData td = {0};
    RtXraw *w = rt_xmalloc(sizeof *w);
    td.xraw = w;
    td.n_feats = nf;
    td.feats = tf;
    td.yblock = out->y;
    w->n = n;
    w->cnt[0] = n;
    w->nslot = x->nslot;
    w->path = path;
    w->predict = true;
    w->fill = rt_xmalloc(sizeof(double) * (size_t)(x->nslot + 1));
    w->cat_fill = rt_xmalloc(sizeof(int) * (size_t)(x->nslot + 1));
    for (int s = 0; s < x->nslot; s++) w->fill[s] = NAN, w->cat_fill[s] = -1;
    for (int j = 0; j < ncols; j++)
      if (cols[j].num && cols[j].rule) w->fill[cols[j].slot] = cols[j].rule->num;
    rows_take(x, &td, w, NULL, n, sizeof(float) * (size_t)nf);
    w->n_in = nf;
    w->op_slot = ops;
    ops = NULL;
    w->code_of = rt_xmalloc(sizeof(int *) * (size_t)(nf + 1));
    w->gslot = rt_xmalloc(sizeof(int) * (size_t)(nf + 1));
    for (int i = 0; i < nf; i++) {
      const RtFeature *f = &tf[i];
      if (f->onehot != RT_OH_NONE) {
        if (gslot[i] < 0) continue;
        w->gslot[i] = gslot[i];
        w->code_of[i] = rt_xmalloc(sizeof(int) * (size_t)(f->n_cats + 1));
        for (int k = 0; k <= f->n_cats; k++) w->code_of[i][k] = k;   /* the codes as read */
        continue;
      }
    }
    ok = xraw_inputs(&td, xf) == 0;
    xraw_free(td.xraw);   /* left only when it refused the inputs */
    out->x = td.xblock;
    out->n = n;
  }
  for (int i = 0; ops && i < nf; i++) free(ops[i]);
  free(ops);
  rt_xload_free(x);
  for (int i = 0; i < nf; i++)
    if (lprog[i]) prog_free(lprog[i], 2);
  free(lprog);
  free(ln);
  free(tf);
  free(gcol);
  free(gslot);
  free(gprev);
  if (!ok) {
    rt_split_free(out);
    return -1;
  }
  return 0;
}

/* ---- frozen form ---------------------------------------------------------------- */

static RtMissing *rules_copy(const RtMissing *m, int n) {
  if (n <= 0) return NULL;
  RtMissing *o = rt_xmalloc(sizeof(RtMissing) * (size_t)n);
  for (int i = 0; i < n; i++) {
    o[i] = m[i];
    o[i].column = rt_xstrdup(m[i].column);
    o[i].str = rt_xstrdup(m[i].str);
    o[i].loc = (RtLoc){0};
  }
  return o;
}

void rt_xform_freeze(RtDataSpec *dst, const RtDataSpec *src, const RtData *d) {
  const RtFeature *sf = d ? d->feats : src->feats;
  for (int i = 0; sf && i < dst->n_feats; i++) {
    RtFeature *f = &dst->feats[i];
    f->onehot = sf[i].onehot;
    f->cat = rt_xstrdup(sf[i].cat);
    f->cat_index = sf[i].cat_index;
    f->n_cats = sf[i].n_cats;
    if (sf[i].prog) {
      f->prog = prog_copy(sf[i].prog, sf[i].n_prog, sf[i].column);
      f->n_prog = sf[i].n_prog;
    }
  }
  dst->drop_dups = src->drop_dups;
  dst->dist = rt_live_dist_copy(d ? d->dist : src->dist, d ? d->n_dist : src->n_dist);
  dst->n_dist = dst->dist ? (d ? d->n_dist : src->n_dist) : 0;
  if (d && d->fills) {
    dst->missing = rules_copy(d->fills, d->n_fills);
    dst->n_missing = d->n_fills;
  } else if (!d) {
    dst->missing = rules_copy(src->missing, src->n_missing);
    dst->n_missing = dst->missing ? src->n_missing : 0;
  }
}

void rt_xform_spec_free(RtDataSpec *s) {
  for (int i = 0; s->feats && i < s->n_feats; i++) {
    free(s->feats[i].cat);
    prog_free(s->feats[i].prog, s->feats[i].n_prog);
    s->feats[i].cat = NULL;
    s->feats[i].prog = NULL;
  }
  for (int i = 0; s->missing && i < s->n_missing; i++) {
    free(s->missing[i].column);
    free(s->missing[i].str);
  }
  free(s->missing);
  s->missing = NULL;
  s->n_missing = 0;
  rt_live_dist_free(s->dist, s->n_dist);
  s->dist = NULL;
  s->n_dist = 0;
}

/* The blob: little-endian, strings as u32 length + bytes (0xffffffff none).
 *   u32 n_feats, then per input: u8 onehot, str cat, u32 cat_index, u32 n_cats,
 *     u32 n_prog, per op: u8 op, str column, f64 a, f64 b, u32 n_edges, f64 edges...,
 *       then for an EXTERN op (model minor 4): str lib, str sym, str sig
 *   u8 drop_dups, u32 n_missing, per rule: str column, u8 kind, u8 is_str,
 *     f64 num, str str */

unsigned char *rt_xform_encode(const RtDataSpec *s, size_t *len) {
  Out o = {0};
  out_u32(&o, (uint32_t)(s->feats ? s->n_feats : 0));
  for (int i = 0; s->feats && i < s->n_feats; i++) {
    const RtFeature *f = &s->feats[i];
    out_u8(&o, f->onehot);
    out_str(&o, f->cat);
    out_u32(&o, (uint32_t)f->cat_index);
    out_u32(&o, (uint32_t)f->n_cats);
    out_u32(&o, (uint32_t)(f->prog ? f->n_prog : 0));
    for (int k = 0; f->prog && k < f->n_prog; k++) {
      const RtXop *p = &f->prog[k];
      out_u8(&o, p->op);
      out_str(&o, p->column);
      out_f64(&o, p->a);
      out_f64(&o, p->b);
      out_u32(&o, (uint32_t)(p->edges ? p->n_edges : 0));
      for (int e = 0; p->edges && e < p->n_edges; e++) out_f64(&o, p->edges[e]);
      if (p->op == RT_XOP_EXTERN) {   /* model minor 4 */
        out_str(&o, p->lib);
        out_str(&o, p->sym);
        out_str(&o, p->sig);
      }
    }
  }
  out_u8(&o, s->drop_dups);
  out_u32(&o, (uint32_t)(s->missing ? s->n_missing : 0));
  for (int i = 0; s->missing && i < s->n_missing; i++) {
    const RtMissing *m = &s->missing[i];
    out_str(&o, m->column);
    out_u8(&o, m->kind);
    out_u8(&o, m->is_str);
    out_f64(&o, m->num);
    out_str(&o, m->str);
  }
  *len = o.len;
  if (!o.p) o.p = rt_xmalloc(1);
  return o.p;
}

/* Everything eval_prog and onehot_code assume: programs leave exactly one
 * value without underflow, COL ops name a column, edges increase, clip
 * bounds are ordered; onehot groups are whole and sorted. */
static const char *check_inputs(const RtDataSpec *s) {
  for (int i = 0; i < s->n_feats; i++) {
    const RtFeature *f = &s->feats[i];
    if (f->onehot != RT_OH_NONE) {
      if (f->n_cats > s->n_feats) return "onehot group";
      int width = f->n_cats + (f->onehot == RT_OH_OTHER);
      if (f->prog || f->n_cats < 1 || f->cat_index < 0 || f->cat_index >= width ||
          i - f->cat_index < 0 || i - f->cat_index + width > s->n_feats)
        return "onehot group";
      const RtFeature *g = &s->feats[i - f->cat_index];
      for (int k = 0; k < width; k++) {
        const RtFeature *h = &g[k];
        if (h->onehot != f->onehot || h->n_cats != f->n_cats || h->cat_index != k ||
            (k < f->n_cats) != (h->cat != NULL) || !h->column || strcmp(h->column, f->column))
          return "onehot group";
        if (k > 0 && k < f->n_cats && strcmp(g[k - 1].cat, h->cat) >= 0) return "onehot categories";
      }
      continue;
    }
    if (f->cat) return "feature program";
    if (!f->prog) continue;   /* a plain `xform` of `column` */
    if (f->n_prog < 1) return "feature program";
    int depth = 0;
    for (int k = 0; k < f->n_prog; k++) {
      const RtXop *p = &f->prog[k];
      int pops = op_pops(p);
      if (depth < pops) return "feature program";
      if (p->op == RT_XOP_EXTERN &&
          (!rt_extern_sig_ok(p->sig) || !p->lib || !*p->lib || !p->sym || !*p->sym))
        return "extern call";
      depth += 1 - pops;
      if (p->op == RT_XOP_COL && !p->column) return "feature program";
      if (p->op == RT_XOP_BUCKETIZE) {
        if (p->n_edges < 1) return "bucket edges";
        for (int e = 1; e < p->n_edges; e++)
          if (!(p->edges[e - 1] < p->edges[e])) return "bucket edges";
      }
    }
    if (depth != 1) return "feature program";
  }
  return NULL;
}

const char *rt_xform_decode(RtDataSpec *s, const unsigned char *p, size_t len) {
  In r = {p, len, 0, NULL};
  uint32_t nf = in_u32(&r, "transforms");
  if (!r.bad && (int64_t)nf != (int64_t)(s->feats ? s->n_feats : 0)) return "transforms";
  for (uint32_t i = 0; i < nf && !r.bad; i++) {
    RtFeature *f = &s->feats[i];
    f->onehot = (RtOnehot)in_u8(&r, "onehot", RT_OH_OTHER);
    f->cat = in_str(&r, "onehot category");
    f->cat_index = (int)in_u32(&r, "onehot group");
    f->n_cats = (int)in_u32(&r, "onehot group");
    if (!r.bad && (f->cat_index < 0 || f->n_cats < 0)) r.bad = "onehot group";
    uint32_t np = in_count(&r, 1 + 4 + 16 + 4, "feature program");
    if (np == 0 || r.bad) continue;
    f->prog = rt_xmalloc(sizeof(RtXop) * np);
    f->n_prog = (int)np;
    for (uint32_t k = 0; k < np && !r.bad; k++) {
      RtXop *o = &f->prog[k];
      o->op = (RtXopKind)in_u8(&r, "feature program", RT_XOP_LAST);
      o->column = in_str(&r, "feature program");
      o->a = in_f64(&r, "feature program");
      o->b = in_f64(&r, "feature program");
      uint32_t ne = in_count(&r, 8, "bucket edges");
      if (ne && !r.bad) {
        o->edges = rt_xmalloc(sizeof(double) * ne);
        o->n_edges = (int)ne;
        for (uint32_t e = 0; e < ne; e++) o->edges[e] = in_f64(&r, "bucket edges");
      }
      if (o->op == RT_XOP_EXTERN && !r.bad) {
        o->lib = in_str(&r, "extern call");
        o->sym = in_str(&r, "extern call");
        o->sig = in_str(&r, "extern call");
      }
    }
  }
  s->drop_dups = in_u8(&r, "cleaning", 1);
  uint32_t nm = in_count(&r, 4 + 1 + 1 + 8 + 4, "missing rules");
  if (nm && !r.bad) {
    s->missing = rt_xmalloc(sizeof(RtMissing) * nm);
    s->n_missing = (int)nm;
  }
  for (uint32_t i = 0; i < nm && !r.bad; i++) {
    RtMissing *m = &s->missing[i];
    m->column = in_str(&r, "missing rules");
    m->kind = (RtMissKind)in_u8(&r, "missing rules", RT_MISS_VALUE);
    m->is_str = in_u8(&r, "missing rules", 1);
    m->num = in_f64(&r, "missing rules");
    m->str = in_str(&r, "missing rules");
    if (!r.bad && !m->column) r.bad = "missing rules";
  }
  if (!r.bad && r.at != r.len) r.bad = "transforms length";
  if (!r.bad) r.bad = check_inputs(s);
  return r.bad;
}

/* ---- one request's rows (rt_serve_req.c) -------------------------------------- */

/* `mlxc serve` reads JSON rows, not a CSV, and runs them through these same
 * functions with the frozen statistics, so a served row gets the inputs
 * `mlxc predict` computes for it. */
void rt_xform_eval(const RtXop *prog, int np, double *const *colv, int64_t n, double *out) {
  eval_prog((RtXop *)prog, np, colv, n, NULL, 0, out);   /* no fit: prog is only read */
}
int rt_xform_onehot_code(const RtFeature *group, const char *s) { return onehot_code(group, s); }
float rt_xform_onehot_value(const RtFeature *f, int code) { return onehot_value(f, code); }
bool rt_xform_is_missing(const RtDataSpec *spec, const char *s, size_t n) {
  return is_missing(spec, s, n);
}
