/* rt.h — the runtime's one internal header: diagnostics, the checked
 * descriptions the compiler hands over (data, model, training), loaded data,
 * training, metrics and the .mlxm model file.
 * Ownership: each Rt* object returned by an rt_*_new/load owns every pointer
 * inside it and is released by the matching rt_*_free; descriptions built by
 * the compiler (RtDataSpec, RtModelDesc, RtTrainCfg) live in its arena. */
#ifndef RT_H
#define RT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "mlxrt.h"

/* ---- diagnostics (shared by the compiler and the runtime) ---------------- */

/* A place to point at: a spec statement or a CSV cell. line/col are 1-based,
 * columns in bytes; line 0 means "no position" (the whole file). */
typedef struct RtLoc {
  const char *file;     /* path as the user gave it */
  int line, col;        /* start */
  int end_line, end_col;/* end, exclusive column; 0 when unknown */
  const char *text;     /* the source line (no newline) for the caret, or NULL */
} RtLoc;

typedef enum { RT_ERROR, RT_WARNING, RT_NOTE } RtSeverity;

extern bool rt_diag_json;     /* --diag=json: one object a line */
extern bool rt_diag_werror;   /* --Werror: warnings count as errors */
extern bool rt_verbose;       /* --verbose: phase and epoch timings on stderr */

/* Start a diagnostic; it is printed when the next one starts or on flush, so
 * notes added with rt_note land inside it (text) or in "notes" (json). */
void rt_diag(RtSeverity sev, RtLoc loc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void rt_note(RtLoc loc, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void rt_diag_flush(void);
int rt_diag_errors(void);     /* errors so far (warnings too under --Werror) */
RtLoc rt_loc_file(const char *file);   /* a location naming only a file */

/* ---- checked descriptions (built by sema, stored in the .mlxm) ----------- */

typedef enum { RT_TASK_REGRESSION, RT_TASK_BINARY, RT_TASK_MULTICLASS } RtTask;
typedef enum { RT_XF_NONE, RT_XF_STANDARDIZE } RtXform;

/* One step of a feature's postfix program (rt_xform.c): sema compiles a
 * `feature` expression (transforms, arithmetic, builtins, inlined `fn`
 * bodies) into these; the runtime fits the statistics of STANDARDIZE and
 * MINMAX on the train split and freezes them into the .mlxm. */
typedef enum {
  RT_XOP_COL, RT_XOP_NUM, RT_XOP_ADD, RT_XOP_SUB, RT_XOP_MUL, RT_XOP_DIV, RT_XOP_NEG,
  RT_XOP_MIN, RT_XOP_MAX, RT_XOP_ABS, RT_XOP_EXP, RT_XOP_LOG, RT_XOP_SQRT, RT_XOP_LOG1P,
  RT_XOP_STANDARDIZE, RT_XOP_MINMAX, RT_XOP_CLIP, RT_XOP_BUCKETIZE,
  RT_XOP_EXTERN      /* an `extern fn` call: pops strlen(sig) - 1, pushes its result */
} RtXopKind;
#define RT_XOP_LAST RT_XOP_EXTERN

typedef struct RtXop {
  RtXopKind op;
  char *column;       /* COL: CSV column read (NULL: the `feature *` column) */
  double a, b;        /* NUM: a; STANDARDIZE: mean, std; MINMAX: min, max; CLIP: lo, hi */
  double *edges;      /* BUCKETIZE: increasing edges (result: count of edges <= x) */
  int n_edges;
  /* EXTERN (rt_extern.c): the library (as dlopen takes it), the function and
   * its C types, one letter per argument then the result's: i i32, l i64,
   * f f32, d f64 ("idf": (i32, f64) -> f32) */
  char *lib, *sym, *sig;
} RtXop;

/* onehot's `unseen =` mode; RT_OH_NONE: not a onehot input. */
typedef enum { RT_OH_NONE, RT_OH_ERROR, RT_OH_ZERO, RT_OH_OTHER } RtOnehot;

/* A `missing` rule: how a missing cell of a column is filled. */
typedef enum {
  RT_MISS_NONE, RT_MISS_DROP_ROW, RT_MISS_MEAN, RT_MISS_MEDIAN, RT_MISS_MODE, RT_MISS_FFILL,
  RT_MISS_VALUE
} RtMissKind;

typedef struct RtMissing {
  char *column;       /* NULL: the `missing * = ...` default */
  RtMissKind kind;
  bool is_str;        /* the fill is the string str (a category column, or VALUE "text") */
  double num;         /* VALUE as a number, or the fill fitted on train (frozen) */
  char *str;          /* VALUE as text, or the fitted mode of a category column */
  RtLoc loc;          /* the rule in the spec */
} RtMissing;

/* One model input: a CSV column through a transform. */
typedef struct RtFeature {
  char *name;        /* feature name (the column it reads, for now) */
  char *column;      /* CSV header it reads */
  RtXform xform;     /* transform applied */
  double mean, std;  /* frozen statistics, fitted on the train split */
  RtLoc loc;         /* the `feature` statement, or the `feature *` line */
  RtXop *prog;       /* the expression as a postfix program (sema always gives one); NULL
                        only in a hand-built spec or an old .mlxm: `xform` of `column`,
                        run as the program rt_xform_programs makes of it */
  int n_prog;
  RtOnehot onehot;   /* onehot(column, unseen = ...): one input per category */
  char *cat;         /* onehot input: its category; NULL for the "other" input */
  int cat_index;     /* position in its onehot group (the group starts at i - cat_index) */
  int n_cats;        /* categories of the group (inputs: n_cats, +1 with "other") */
} RtFeature;

/* A `column NAME: TYPE` declaration; AUTO infers number, bool or category. */
typedef enum { RT_COL_AUTO, RT_COL_NUMBER, RT_COL_CATEGORY, RT_COL_BOOL } RtColType;

typedef struct RtDataSpec {
  char *name;              /* dataset block name */
  char *csv_path;          /* resolved against the spec's directory */
  RtLoc source_loc;        /* the `source` statement */
  char **na; int n_na;     /* strings read as missing ("" always is) */
  char **drop; int n_drop; /* `drop column` names */
  RtLoc *drop_loc;
  RtFeature *feats; int n_feats;   /* explicit `feature` lines, in order */
  bool star;               /* `feature * = ...` present */
  RtXform star_xform;      /* its transform */
  RtLoc star_loc;
  char *label;             /* label column */
  RtLoc label_loc;
  char **label_keys; double *label_vals; int n_label_map; /* explicit map or 0 */
  double split[3];         /* train, val, test fractions summing to 1 */
  uint64_t split_seed;
  RtLoc split_loc;
  bool split_stratify;     /* `stratify`: every class keeps its share in each split */
  char *split_by;          /* `by COLUMN`: the split follows a hash of this cell, or NULL */
  int cv_folds;            /* `cv N`: N-fold cross-validation over train+val; 0 without */
  /* csv(...) options; zero means the default (',' '"' header = true) */
  char csv_delim, csv_quote;
  bool csv_no_header;      /* header = false: columns are named col1..colN */
  char **col_names; RtColType *col_types; RtLoc *col_loc; int n_col_types; /* `column N: T` */
  bool bad_row_skip;       /* `on_bad_row skip` (default fail) */
  bool drop_dups;          /* `drop duplicates`: exact duplicates over the used columns */
  RtLoc dups_loc;
  RtMissing *missing; int n_missing; /* `missing` rules in order; frozen: one per column */
  RtXop *star_prog; int n_star_prog; /* `feature * = EXPR` when not plain standardize(*) */
  bool fit_only;           /* rt_data_load fits the statistics without evaluating the
                              inputs: the caller runs rt_data_xform (`mlxc run` train) */
  RtLoc cv_loc;            /* the `cv N` statement */
  int cv_fold;             /* rt_cv's load of fold F (1..N): the pool's rows at positions
                              i with i % N == F - 1 are val, the rest train, so fills and
                              statistics are fitted on the fold's train rows (onehot
                              categories on the whole pool: the inputs stay the same);
                              0: not a fold */
  struct RtTrainDist *dist; int n_dist; /* frozen: each raw input column's training
                              distribution (rt_live.c), owned; NULL: none (before minor 3) */
} RtDataSpec;

typedef enum { RT_ACT_IDENTITY, RT_ACT_RELU, RT_ACT_SIGMOID, RT_ACT_TANH, RT_ACT_SOFTMAX } RtAct;
typedef enum { RT_LOSS_MSE, RT_LOSS_BCE, RT_LOSS_CE, RT_LOSS_MAE } RtLoss;
typedef enum { RT_OPT_SGD, RT_OPT_ADAM, RT_OPT_ADAMW, RT_OPT_ADAGRAD, RT_OPT_RMSPROP } RtOpt;
/* train's `clip`: none, `clip value X` (elementwise clamp), `clip norm X` (global). */
typedef enum { RT_CLIP_NONE, RT_CLIP_VALUE, RT_CLIP_NORM } RtClip;

#define RT_MAX_LAYERS 32

typedef struct RtLayer {
  int units;   /* outputs of this dense layer */
  RtAct act;   /* activation after it */
} RtLayer;

/* The model as the back end sees it: n_in inputs through dense layers. */
typedef struct RtModelDesc {
  char *name;                     /* model block name */
  int n_in;                       /* input features (fixed from the data schema) */
  int n_layers;
  RtLayer layers[RT_MAX_LAYERS];
  RtLoss loss;
  RtTask task;
  RtLoc layer_loc[RT_MAX_LAYERS]; /* each `dense` statement (filled by sema; not stored) */
  float dropout[RT_MAX_LAYERS];   /* inverted dropout rate after each layer, 0: none
                                     (training step only; not stored) */
  /* The inputs whose frozen programs become mlx_xform (xform_emit.c): set
   * after the statistics are fitted (a loaded model: its own); NULL: none */
  const RtFeature *xfeats; int n_xfeats;
  /* A layer's own `l1`/`l2` (model statements after its dense), replacing
   * the train's for that layer's weights (training step only; not stored) */
  float layer_l1[RT_MAX_LAYERS], layer_l2[RT_MAX_LAYERS];
  unsigned char layer_reg[RT_MAX_LAYERS];   /* bit 1: layer_l1 set, bit 2: layer_l2 set */
} RtModelDesc;

/* train's `schedule` (rt_sched.c). */
typedef enum { RT_SCHED_CONSTANT, RT_SCHED_STEP, RT_SCHED_EXPONENTIAL, RT_SCHED_LINEAR,
               RT_SCHED_COSINE, RT_SCHED_PLATEAU } RtSchedKind;

typedef struct RtTrainCfg {
  char *name;        /* train block name: names the outputs */
  RtOpt opt;
  float lr, momentum, beta1, beta2, eps;
  int epochs;
  int batch;
  uint64_t seed;     /* weight init and shuffling */
  bool nesterov;     /* sgd(nesterov = true) */
  float weight_decay; /* adamw: decoupled decay of the weights (not biases) */
  float rho;         /* rmsprop: square-average decay (PyTorch's alpha) */
  float l1, l2;      /* penalties added to weight (not bias) gradients */
  RtClip clip;       /* gradient clipping kind */
  float clip_bound;  /* its bound */
  /* `schedule` (rt_sched.c): lr per step; all zero means constant, no warmup */
  RtSchedKind sched;
  double sched_every;        /* step: the period, in epochs or steps */
  bool sched_every_steps;    /* step: `every` counts steps (else epochs) */
  double sched_gamma;        /* step, exponential: the factor */
  double sched_end;          /* linear, cosine: the final lr */
  double warmup;             /* linear warmup from 0 (0: none), epochs or steps */
  bool warmup_steps;         /* warmup counts steps (else epochs) */
  const char *plateau_metric;/* reduce_on_plateau: val metric name */
  double plateau_factor;
  int plateau_patience;
  /* `early_stop val.METRIC patience N [min_delta X]` (NULL metric: none) */
  const char *es_metric;
  int es_patience;
  double es_min_delta;
  RtLoc es_loc;              /* the early_stop statement */
  /* `class_weights CLASS = W, ...` or `class_weights balanced` (rt_classw.c):
   * each row's loss and gradient times its class's weight (bce, cross_entropy) */
  int n_class_w;             /* named classes (0: none or balanced) */
  char **class_w_names;      /* label spellings as written */
  float *class_w_vals;       /* their weights; unnamed classes weigh 1 */
  bool class_w_balanced;     /* n_train / (classes * rows of the class) */
  RtLoc class_w_loc;         /* the class_weights statement */
  /* rt_train's epoch lines go here (a search trial's buffer); NULL: stdout,
   * with the live line when it is a terminal */
  FILE *log;
  /* Threads one training step runs on (rt_train.c). Above 1 the step's rows
   * are split between threads, each gradient part summed in thread order,
   * then one update: the kernels are compiled unfused (like clip norm). */
  int threads;
  /* The `gate NAME` lines of the train, checked after training (rt_gate.c) */
  const struct RtGate *gates; int n_gates;
} RtTrainCfg;

/* Offsets of layer l's weights W[in x out] (row-major) and bias b[out] in the
 * flat parameter vector; returns the total. One formula for compiler and runtime. */
int64_t rt_param_layout(const RtModelDesc *m, int64_t *w_off, int64_t *b_off);

/* ---- memory (rt_mem.c) ---------------------------------------------------- */

/* malloc (zeroed), realloc and strdup that exit 5 when memory runs out. */
void *rt_xmalloc(size_t n);
void *rt_xrealloc(void *p, size_t n);
char *rt_xstrdup(const char *s);   /* NULL stays NULL */

/* ---- randomness and hashing (rt_rand.c) --------------------------------- */

/* xoshiro256** seeded through splitmix64: the one generator behind every
 * shuffle and initialisation, so a spec's seed reproduces a run exactly. */
typedef struct RtRand {
  uint64_t s[4];   /* generator state, never all zero */
} RtRand;

void rt_rand_seed(RtRand *r, uint64_t seed);
uint64_t rt_rand_next(RtRand *r);
double rt_rand_double(RtRand *r);                 /* uniform in [0, 1) */
uint64_t rt_rand_below(RtRand *r, uint64_t n);    /* uniform in [0, n), unbiased */
void rt_rand_shuffle(RtRand *r, int64_t *idx, int64_t n);

#define RT_FNV_INIT 0xcbf29ce484222325ull
uint64_t rt_fnv1a(const void *p, size_t n, uint64_t h);   /* continue hash h */
/* murmur3's 64-bit finalizer: FNV-1a's high bits barely move when short keys
 * differ in their last bytes, and its low bits depend only on each byte's low
 * bits; mixed, every output bit depends on every input bit. */
uint64_t rt_mix64(uint64_t h);
/* Puts the k-th smallest of v[lo..hi] at v[k], smaller ones before it and
 * larger ones after (Hoare's selection; no NaN in v). rt_live.c. */
void rt_select_kth(double *v, int64_t lo, int64_t hi, int64_t k);
void rt_hash_hex(uint64_t h, char out[17]);               /* 16 hex digits + NUL */

/* ---- CSV (rt_csv.c) -------------------------------------------------------- */

/* Reads just the header of a CSV (for `mlxc check`). Returns 0, or -1 after
 * reporting the error. *names is malloc'd, each name too. */
int rt_csv_header(const char *path, char ***names, int *n);

/* A streaming RFC 4180 reader: header row required, quoted fields, CRLF, BOM,
 * blank lines skipped. Reads in large blocks; only one record is unpacked at
 * a time. Path "-" reads stdin. Errors are reported with row and column. */
typedef struct RtCsv RtCsv;

/* Reads the header; NULL after reporting. path must outlive the diagnostics
 * (they point at it until flushed). */
RtCsv *rt_csv_open(const char *path);
/* The csv(...) options; zero fields mean ',', '"' and a header row. */
typedef struct RtCsvOpts {
  char delim, quote;
  bool no_header;   /* the first row is data; columns are named col1..colN */
  bool keep_ragged; /* rt_csv_next returns a record of the wrong width (see
                       rt_csv_nfields) instead of reporting it */
} RtCsvOpts;
RtCsv *rt_csv_open_opts(const char *path, const RtCsvOpts *o);   /* o may be NULL */
int rt_csv_header_opts(const char *path, const RtCsvOpts *o, char ***names, int *n);
int rt_csv_nfields(const RtCsv *c);   /* fields in the current record */

/* Rows refused under `on_bad_row skip`: a count and the first three reasons
 * (locations and text copied, so they outlive the record). */
typedef struct RtBadRows {
  int64_t n;      /* rows skipped */
  int kept;       /* reasons kept (the first three) */
  RtLoc loc[3];   /* where each is; text owned */
  char *msg[3];   /* what it is, owned */
} RtBadRows;
void rt_badrows_add(RtBadRows *b, RtLoc at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* The closing warning naming how many of rows were skipped and why; notes
 * cite where. Nothing when none were. */
void rt_badrows_report(const RtBadRows *b, const char *path, int64_t rows, RtLoc stmt);
void rt_badrows_free(RtBadRows *b);

/* ---- column types and bad rows (rt_coltype.c) ------------------------------ */

/* Each header column's declared type (AUTO where none), malloc'd; NULL after
 * reporting a declared column the header lacks. */
RtColType *rt_coltypes(const RtDataSpec *spec, RtCsv *c);
/* Whether the current record may be kept: as wide as the header (records of
 * another width come only with keep_ragged), declared number and bool cells
 * parse, and under skip so does a numeric label (label_num). A bad row under
 * `on_bad_row skip` goes to bad; otherwise it is reported and *fatal set. */
bool rt_row_ok(RtCsv *c, const RtDataSpec *spec, const RtColType *types, int label_col,
               bool label_num, RtBadRows *bad, bool *fatal);
int rt_csv_ncols(const RtCsv *c);
const char *rt_csv_name(const RtCsv *c, int i);   /* header name i */
int rt_csv_next(RtCsv *c);                   /* 1 a record, 0 at the end, -1 after reporting */
/* Field i of the current record, unquoted and NUL-terminated. */
const char *rt_csv_field(const RtCsv *c, int i, size_t *len);
/* Where field i of the current record (or the header, before the first
 * rt_csv_next) starts, with the record's first line as text; i == ncols
 * points just past the end of the record. Valid until the next rt_csv_next. */
RtLoc rt_csv_loc(RtCsv *c, int i);
int64_t rt_csv_records(const RtCsv *c);      /* data records read so far */
int64_t rt_csv_line(const RtCsv *c);         /* file line where the current record starts */
/* FNV-1a 64 of the bytes read so far; meant for after the last record (a
 * file of 8 MiB or more is hashed whole on a second thread, joined here). */
uint64_t rt_csv_hash(const RtCsv *c);
void rt_csv_close(RtCsv *c);

/* A whole decimal number ([+-]digits[.digits][e[+-]digits], spaces around
 * allowed) that fits a float; false for anything else (nan, inf, hex, ''). */
bool rt_parse_float(const char *s, size_t n, float *out);
/* A boolean cell: true/false, yes/no (any letter case, spaces around
 * allowed) as 1 or 0; false for anything else. */
bool rt_parse_bool(const char *s, size_t n, float *out);
/* The type a column's non-missing cells share: NUMBER when every one parses
 * as a number, else BOOL when every one is a boolean, else CATEGORY. Feed
 * cells one at a time to rt_col_infer starting from AUTO. */
RtColType rt_col_infer(RtColType sofar, const char *s, size_t n);

/* ---- data (rt_data.c) ------------------------------------------------------ */

/* One split's matrix: x is n x n_feats row-major, y is n labels. */
typedef struct RtSplit {
  int64_t n;
  float *x;
  float *y;
  /* rt_data_load's splits: each row's 0-based CSV data record (RtData.rec,
   * not owned here); NULL elsewhere */
  const int64_t *rec;
} RtSplit;

typedef struct RtData {
  RtSplit split[3];         /* train, val, test */
  int n_feats;
  char **feat_names;        /* n_feats */
  int n_classes;            /* 0 for regression */
  char **class_names;       /* n_classes, label spellings in class-index order */
  int64_t rows_read, rows_dropped;
  char data_hash[17];       /* hex FNV-1a 64 of the file bytes */
  RtFeature *feats;         /* n_feats resolved inputs (explicit ones, then `*` in
                               header order) with statistics fitted on train;
                               names owned, locs point into the spec */
  int64_t rows_bad;         /* rows refused (0 until `missing` rules exist) */
  RtTask task;              /* how the label was read */
  double load_s;            /* wall time of rt_data_load */
  RtMissing *fills; int n_fills; /* `missing` rules per used column with their fitted
                                    fills (rt_xload_finish), owned; frozen into the .mlxm */
  struct RtXraw *xraw;      /* a fit_only load's cells (codes in xblock), until
                               rt_data_xform computes the inputs over them (rt_xform.c) */
  bool x_pending;           /* split[].x allocated but not filled (spec->fit_only): only
                               rt_data_xform fills them */
  /* rt_data_load's rows (rt_xform.c): split[s].x, .y and .rec point into
   * these, train rows first, then val, then test; owned. NULL: each split
   * owns its x and y (RtData built by hand) */
  float *xblock, *yblock;
  int64_t *rec;             /* per row: its 0-based data record in the CSV (rows
                               dropped or refused keep their numbers) */
  struct RtTrainDist *dist; int n_dist; /* each raw input column's distribution over the
                               train rows (rt_xload_finish), owned; frozen into the .mlxm */
} RtData;

/* Load, clean, fit statistics on train (written back into spec->feats /
 * returned features), transform, split. task decides how the label is read.
 * Returns NULL after reporting (exit 4). */
RtData *rt_data_load(RtDataSpec *spec, RtTask task);
void rt_data_free(RtData *d);

/* A malloc'd deep copy of spec with feats replaced by d's resolved features
 * and their frozen statistics (star off, locations dropped): what the .mlxm
 * stores. Released by rt_data_spec_free. */
RtDataSpec *rt_data_freeze(const RtDataSpec *spec, const RtData *d);
void rt_data_spec_free(RtDataSpec *s);

/* Reads csv_path ("-": stdin) by column name through the frozen transforms
 * (extra columns ignored; a missing needed one is an error naming it) into
 * out->x (n x frozen->n_feats). With with_label, out->y gets the label read as
 * task says (classes: the model's class names); otherwise out->y is NULL.
 * Returns 0, or -1 after reporting (exit 4). Free with rt_split_free. */
int rt_data_apply(const RtDataSpec *frozen, const char *csv_path, RtTask task,
                  char *const *classes, int n_classes, bool with_label, RtSplit *out);
/* rt_data_apply with the inputs computed by xf (the model's compiled
 * transforms, MlxKernels.xform) instead of the interpreter; xf NULL: the same. */
int rt_data_apply_xf(const RtDataSpec *frozen, const char *csv_path, RtTask task,
                     char *const *classes, int n_classes, bool with_label, MlxXformFn xf,
                     RtSplit *out);
/* Computes d's three matrices with xf (compiled from d->feats) from the
 * cells a spec->fit_only load kept, then frees those. 0 (nothing to do when
 * they are gone, as after any other load, or xf is NULL), or -1 after
 * reporting (exit 4). */
int rt_data_xform(RtData *d, MlxXformFn xf);
void rt_split_free(RtSplit *s);
/* The current record's label cell as a frozen model reads it (predict/eval),
 * into *y; false after reporting. Shared by both apply paths. */
bool rt_data_label(RtCsv *c, int label_col, const RtDataSpec *frozen, RtTask task,
                   char *const *classes, int n_classes, float *y);

/* ---- splits (rt_split.c) ---------------------------------------------------- */

/* The key hash of one `by` cell: FNV-1a 64 of the split seed, then the
 * cell's bytes. Mixed (murmur3's finalizer), its top 53 bits as a fraction
 * in [0, 1) pick the split. */
uint64_t rt_split_key(const RtDataSpec *spec, const char *cell, size_t len);

/* Orders rows 0..n-1 into idx: cnt[0] train rows, then cnt[1] val, then
 * cnt[2] test. Random (shuffled with the split seed), `stratify` (per class,
 * y holding class indices < n_classes) or `by` (keyh: one rt_split_key per
 * row). With `cv`, train and val are pooled as train (cnt[1] = 0).
 * Returns 0, or -1 after reporting. */
int rt_split_rows(const RtDataSpec *spec, int64_t n, const float *y, int n_classes,
                  const uint64_t *keyh, int64_t *idx, int64_t cnt[3]);

/* Rows of each class in s (y holds class indices); counts has n_classes. */
void rt_split_class_counts(const RtSplit *s, int n_classes, int64_t *counts);

/* ---- transforms and cleaning (rt_xform.c) ----------------------------------- */

/* True when spec uses `drop duplicates`, `missing` rules, onehot or feature
 * programs. rt_data_load and rt_data_apply hand every spec to the functions
 * below (there is no other path); this only describes a spec. */
bool rt_xform_active(const RtDataSpec *spec);
/* The rule covering column name (its own, else `missing *`), or NULL. */
const RtMissing *rt_xform_rule(const RtDataSpec *spec, const char *name);

/* Cleaning state of one rt_data_load. use[j] per header column: 0 unused,
 * 1 read by an explicit feature, 2 a `feature *` column, 3 the label. */
typedef struct RtXload RtXload;
RtXload *rt_xload_new(const RtDataSpec *spec, RtCsv *c, const unsigned char *use);
/* The current record's cell j, read as a number, was a plain decimal
 * ([+-]digits[.digits], at most 15 digits): a number that fits a float, so
 * rt_data_load's check need not parse it again. */
bool rt_xload_number(const RtXload *x, int j);
/* Column j is read only as categories (onehot): no number check. */
bool rt_xload_text(const RtXload *x, int j);
/* Sees each record first: 1 keep it as row n, 0 dropped (duplicate or
 * `drop_row`), -1 after reporting (exit 4). */
int rt_xload_row(RtXload *x, RtCsv *c, int64_t n);
int64_t rt_xload_dropped(const RtXload *x);
/* After the split (idx: shuffled rows, cnt: rows per split, y: labels by
 * row, both malloc'd and taken over): puts the rows in split order, fills
 * missing cells, fits statistics and onehot categories on the train rows,
 * evaluates every input (unless spec->fit_only) and replaces d->feats,
 * d->feat_names, d->n_feats and d->split[*]. 0, or -1 after reporting. */
int rt_xload_finish(RtXload *x, const RtDataSpec *spec, RtData *d, int64_t *idx,
                    const int64_t cnt[3], float *y);
void rt_xload_free(RtXload *x);
/* rt_data_free's part: the programs and categories of d->feats, d->fills. */
void rt_xform_data_free(RtData *d);

/* rt_data_apply for a frozen spec with rt_xform_active: the same filling and
 * evaluation code, with the frozen statistics. */
int rt_xform_apply(const RtDataSpec *frozen, const char *csv_path, RtTask task,
                   char *const *classes, int n_classes, bool with_label, RtSplit *out);
/* rt_data_freeze's part: deep copies of programs, onehot fields and rules
 * (with d: the fitted ones rt_xload_finish left in d and spec). */
void rt_xform_freeze(RtDataSpec *dst, const RtDataSpec *src, const RtData *d);
void rt_xform_spec_free(RtDataSpec *s);   /* what rt_xform_freeze added */
/* Gives every plain feature of s (no program, not onehot: a minor 0 .mlxm or
 * a hand-built spec) the equivalent program: COLUMN, then standardize with
 * its mean and std when xform says so. */
void rt_xform_programs(RtDataSpec *s);
/* The .mlxm payload part of minor version 1 (malloc'd bytes), and its
 * reader: NULL, or the name of the field that is bad. */
unsigned char *rt_xform_encode(const RtDataSpec *s, size_t *len);
const char *rt_xform_decode(RtDataSpec *s, const unsigned char *p, size_t len);

/* ---- metrics (rt_metrics.c) ------------------------------------------------ */

/* Metrics of one split. Fields a task does not define are NaN (null in JSON);
 * an empty split has every field NaN. */
typedef struct RtMetrics {
  double loss;
  double accuracy;   /* classification */
  double mse, mae;   /* regression */
  int64_t n;         /* rows measured */
  /* the rest of DESIGN §2.2, as scikit-learn computes them (rt_metrics.c) */
  double rmse, r2;                         /* regression */
  double precision, recall, f1, log_loss;  /* classes: binary of class 1, multiclass macro */
  double auc;                              /* binary */
  double precision_w, recall_w, f1_w;      /* multiclass, weighted by support */
} RtMetrics;

/* A metric of m by its §2.2 name (NaN when m lacks it or the name is unknown). */
double rt_metric_get(const RtMetrics *m, const char *name);
/* True for metrics where higher is better (accuracy, auc, f1, r2, ...). */
bool rt_metric_higher(const char *name);
/* Confusion matrix of n rows, k x k row-major, row = true class, column =
 * predicted (k = 2 for binary); conf must hold k*k counts. */
void rt_confusion(RtTask task, int k, const float *out, const float *y, int64_t n,
                  int64_t *conf);

/* The metric names of each task (index RtTask), in metrics.json's order, and
 * how many; the task's name ("regression", "binary", "multiclass"). */
extern const char *const rt_task_metrics[3][9];
extern const int rt_task_nmetrics[3];
const char *rt_task_name(RtTask t);

/* Metrics of predictions out (n x n_out as MlxPredictFn writes) against y. */
RtMetrics rt_metrics(RtTask task, int n_classes, const float *out, const float *y, int64_t n);

/* ---- training (rt_train.c) --------------------------------------------------- */

typedef struct RtModel {
  RtModelDesc desc;
  RtDataSpec *data;     /* preprocessing with frozen statistics */
  int n_classes; char **class_names;
  int64_t n_params;
  float *params;
  char spec_hash[17];
  char *metrics_json;   /* metrics as written beside it, embedded in the .mlxm */
  char *path;           /* file it was loaded from (locations in errors), or NULL */
} RtModel;

#define RT_MAX_CONF 64       /* confusion matrices up to this many classes */
#define RT_MAX_EPOCHS 1024   /* history kept; later epochs train but are not recorded */

typedef struct RtTrainResult {
  RtMetrics split[3];
  double epoch_s[RT_MAX_EPOCHS]; int n_epochs;
  double train_loss[RT_MAX_EPOCHS];
  double val_loss[RT_MAX_EPOCHS];
  RtMetrics val[RT_MAX_EPOCHS];  /* full validation metrics per epoch */
  int best_epoch;                /* 1-based epoch of the lowest val loss (last if no val) */
  int cv_folds;                  /* `cv N`: folds run before the final model (0: none) */
  RtMetrics cv_mean, cv_std;     /* each val metric's mean and population std over folds */
  int stopped_epoch;             /* early_stop: the epoch it stopped after (0: ran them all) */
  int conf_k;                    /* classes in confusion (0: none, regression or too many) */
  int64_t confusion[3][RT_MAX_CONF * RT_MAX_CONF];   /* per split, see rt_confusion */
  double epoch_lr[RT_MAX_EPOCHS];  /* the lr of each epoch's first step */
  /* rt_gate.c: one-row predict latency on the test split, and the gates */
  bool predict_measured;         /* predict_us holds p50, p90, p99 (test rows existed) */
  double predict_us[3];
  struct RtGateResult *gate_res; int n_gate_res;   /* one per clause, owned */
} RtTrainResult;

/* Learning rate per step (rt_sched.c): the schedule of cfg with its warmup,
 * and reduce_on_plateau's factor, fed the val metrics after each epoch. */
typedef struct RtSched {
  const RtTrainCfg *cfg;
  int64_t warm;      /* warmup steps */
  int64_t every;     /* step: period in steps */
  int64_t spe;       /* steps per epoch */
  int64_t total;     /* epochs * spe */
  double scale;      /* reduce_on_plateau's product of factors */
  double best;       /* reduce_on_plateau: best metric so far (NaN: none yet) */
  int bad;           /* reduce_on_plateau: epochs since it improved */
} RtSched;

void rt_sched_init(RtSched *s, const RtTrainCfg *cfg, int64_t steps_per_epoch);
double rt_sched_lr(const RtSched *s, int64_t t);   /* t: 0-based step */
/* After each epoch: reduce_on_plateau reads val (n == 0: nothing to read). */
void rt_sched_epoch_end(RtSched *s, const RtMetrics *val);

/* ---- threads (rt_pool.c) ----------------------------------------------------- */

/* n - 1 worker threads; rt_pool_run(p, fn, ctx) calls fn(ctx, part) for
 * part 0..n-1 (part 0 on the caller) and returns when all have returned. If
 * fewer threads could be started, rt_pool_size says how many parts a job has. */
typedef struct RtPool RtPool;
RtPool *rt_pool_new(int n);
int rt_pool_size(const RtPool *p);
void rt_pool_run(RtPool *p, void (*fn)(void *ctx, int part), void *ctx);
void rt_pool_free(RtPool *p);

/* The threads a train's step runs on: `threads` (from --threads) when the
 * step has enough work to split (batch x parameters at least a million),
 * else 1. A pure function of the model, the batch and `threads`. */
int rt_step_threads(const RtModelDesc *m, int batch, int threads);

/* Train cfg on d with kernels k; params initialised from cfg->seed. Prints
 * progress on stdout. Returns 0, or -1 after reporting. */
int rt_train(const RtTrainCfg *cfg, const RtModelDesc *m, const MlxKernels *k,
             RtData *d, float *params, RtTrainResult *res);

/* What `mlxc run` knows beyond the descriptions. */
typedef struct RtRunInfo {
  const char *spec_hash;   /* hex FNV-1a of the spec */
  double compile_ms;       /* plan .. jit */
  double load_s;           /* rt_data_load wall time */
  const char *out_dir;     /* where NAME.mlxm and NAME.metrics.json go */
  int threads;             /* `--threads N`: search trials run at once (< 1: one) */
  struct RtHtml *html;     /* --report: the page collecting each block (NULL: none) */
  const char *kind;        /* the block run: "train" (NULL too) or "search" */
  const char *const *gates; int n_gates;   /* the gates the train block names */
  /* rt_gate.c: `--baseline M.mlxm` (replaces every gate's `baseline`; NULL:
   * none), and how to compile a baseline model's kernels (NULL: baselines
   * cannot be evaluated) */
  const char *baseline;
  void *(*compile)(void *ctx, const RtModelDesc *m, const RtTrainCfg *cfg, MlxKernels *k);
  void (*release)(void *handle);
  void *compile_ctx;
} RtRunInfo;

/* train → metrics table → OUT/NAME.metrics.json → OUT/NAME.mlxm. Returns an
 * exit code: 0, 4 (data), 5 (internal) or 6 (outputs not writable). */
int rt_run_train(const RtTrainCfg *cfg, const RtModelDesc *m, const RtDataSpec *spec,
                 const MlxKernels *k, RtData *d, const RtRunInfo *info);

/* `cv N` (rt_split.c): d's train split (train+val pooled) cut into
 * spec->cv_folds folds, pooled row i in fold i mod N; each fold trains cfg
 * from the same seed on the others and is measured on itself. Fills
 * res->cv_*. Returns 0, or -1 after reporting (exit 4). */
int rt_cv(const RtTrainCfg *cfg, const RtModelDesc *m, const MlxKernels *k, const RtData *d,
          const RtDataSpec *spec, RtTrainResult *res);

/* ---- describe (rt_describe.c) ----------------------------------------------- */

/* mlxc data: every column of spec's CSV (rows read, per column type, count,
 * missing, distinct, number statistics and histogram or top categories) as
 * text or one JSON document on out. d, when given, supplies rows dropped and
 * split sizes. Returns 0, or -1 after reporting (exit 4). */
int rt_describe(const RtDataSpec *spec, const RtData *d, bool json, FILE *out);

/* mlxc predict: rows of csv ("-": stdin) through m's frozen preprocessing and
 * k->predict, written to out as CSV (prediction, then probabilities). Returns
 * 0, or -1 after reporting (exit 4). */
int rt_predict_csv(const RtModel *m, const MlxKernels *k, const char *csv, FILE *out);
/* rt_predict_csv, or with json one JSON object a line as /predict answers a
 * row ({"class", "probabilities"} or {"value"}), every number exact. */
int rt_predict_out(const RtModel *m, const MlxKernels *k, const char *csv, FILE *out, bool json);
/* The shortest decimal that reads back as the same float (up to 9 digits);
 * "null" when f is not finite. */
void rt_float_text(float f, char out[32]);

/* mlxc eval: metrics of m on a labelled csv ("-": stdin) into *out. Returns
 * 0, or -1 after reporting (exit 4). */
int rt_eval_csv(const RtModel *m, const MlxKernels *k, const char *csv, RtMetrics *out);

/* ---- report (rt_report.c) -------------------------------------------------- */

/* NAME.metrics.json text (DESIGN.md §4 shape), malloc'd; NULL only when out
 * of memory. */
char *rt_report_json(const RtTrainCfg *cfg, const RtModelDesc *m, const RtData *d,
                     const RtTrainResult *res, const char *spec_hash, double compile_ms,
                     double load_s);
/* The metrics table, one row per split. */
void rt_report_print(FILE *f, RtTask task, const RtData *d, const RtTrainResult *res);
/* Writes path.tmp, then renames it over path. Returns 0, or -1 after reporting. */
int rt_write_atomic(const char *path, const void *buf, size_t n);
/* The whole file, malloc'd and NUL-terminated, its length in *len; NULL with
 * errno set (rt_file.c). */
char *rt_read_file(const char *path, size_t *len);
/* mkdir -p; false after reporting "cannot create output directory". */
bool rt_make_dir(const char *dir);

/* ---- model file (rt_model.c) ----------------------------------------------- */

#define RT_MODEL_MAJOR 1
#define RT_MODEL_MINOR 4   /* 1: transforms and cleaning (rt_xform_encode); 2: CSV shape;
                              3: training distributions (rt_live_dist_encode);
                              4: features' extern calls (RT_XOP_EXTERN: lib, sym, sig) */

/* An owned model: deep copies of everything given (frozen may be NULL only
 * in tests). NULL when out of memory. */
RtModel *rt_model_new(const RtModelDesc *desc, const RtDataSpec *frozen, int n_classes,
                      char *const *class_names, const float *params, int64_t n_params,
                      const char *spec_hash, const char *metrics_json);
int rt_model_save(const char *path, const RtModel *m);   /* 0, or -1 after reporting */
RtModel *rt_model_load(const char *path);   /* NULL after reporting (exit 4) */
/* The same from size bytes in memory (an embedded model); path names it in
 * diagnostics. The bytes are only read and may be freed afterwards. */
RtModel *rt_model_load_mem(const void *buf, size_t size, const char *path);
void rt_model_free(RtModel *m);             /* NULL is fine */

/* ---- search (rt_search.c) --------------------------------------------------- */

/* What a `vary PATH in [values]` line sets. */
typedef enum { RT_VARY_EPOCHS, RT_VARY_BATCH, RT_VARY_SEED, RT_VARY_L1, RT_VARY_L2,
               RT_VARY_OPT, RT_VARY_MODEL } RtVaryKind;

typedef enum { RT_RANGE_NONE, RT_RANGE_UNIFORM, RT_RANGE_LOG, RT_RANGE_INT } RtRange;

typedef struct RtVary {
  const char *path;    /* as written: "optimizer.lr", "model.hidden", "epochs" */
  RtVaryKind kind;
  const char *arg;     /* RT_VARY_OPT: the optimizer argument; RT_VARY_MODEL: the parameter */
  int n;               /* values to try */
  double *num;         /* the values (a bool is 0 or 1) */
  const char **text;   /* the values as written (a string: its bytes, and num is NaN) */
  bool is_bool;
  /* A range instead of a list (num and text unused): uniform(lo, hi) or
   * loguniform(lo, hi) draws a number per trial; range(lo, hi) is the whole
   * numbers lo..hi, n of them (value i is lo + i) */
  RtRange range;
  double lo, hi;
} RtVary;

/* A search block: trials of its train with the varied settings. */
typedef struct RtSearch {
  const char *name;
  const char *train;       /* the base train's name */
  RtVary *vary; int n_vary;
  int random_n;            /* random(N): N trials drawn from the grid; 0: the whole grid */
  bool pick_max;           /* pick max (else min) */
  const char *pick_metric; /* a metric name */
  RtLoc loc;               /* the search's name */
  int pick_split;          /* the split pick reads: 0 train, 1 val */
  int budget_trials;       /* `budget N trials`: at most N trials (0: no cap) */
  double budget_s;         /* `budget DURATION`: no new trial after this wall time (0: none) */
  bool model_per_trial;    /* a uniform/loguniform model.PARAM: models[i] is trial i+1's */
} RtSearch;

/* Compiles model m under cfg into *k; returns a handle for release (NULL
 * after reporting). main.c supplies these; the runtime does not compile. */
typedef void *(*RtCompileFn)(void *ctx, const RtModelDesc *m, const RtTrainCfg *cfg,
                             MlxKernels *k);
typedef void (*RtReleaseFn)(void *handle);

/* Runs every trial of s one after another on the loaded d: base cfg with the
 * varied values, models[i] the model of the i-th combination of the
 * model.PARAM varies (mixed radix, the first such vary slowest). Prints one
 * line per trial and a table sorted by the pick, writes OUT/NAME.search.json
 * (each trial's values and train and val metrics, the winner),
 * then re-trains the winner with rt_run_train as OUT/NAME.mlxm and
 * OUT/NAME.metrics.json. Returns an exit code like rt_run_train. */
int rt_run_search(const RtSearch *s, const RtTrainCfg *base, RtModelDesc *const *models,
                  const RtDataSpec *spec, RtData *d, RtCompileFn compile,
                  RtReleaseFn release, void *ctx, const RtRunInfo *info);

/* The trials rt_run_search will run with this seed (the base train's), in
 * order: returns their number and sets *choice and *val (malloc'd, n x
 * n_vary: each vary's value index, 0 for a uniform/loguniform range, and its
 * value). For sema, which builds a model per trial when a drawn range varies
 * a model parameter. */
int rt_search_trials(const RtSearch *s, uint64_t seed, int **choice, double **val);

/* ---- class weights (rt_classw.c) ------------------------------------------ */

/* The weight of each of d's classes (malloc'd, n_classes), or NULL when cfg
 * has no class_weights; a named class the data lacks is reported at the
 * statement, sets *err and returns NULL. */
float *rt_class_weights(const RtTrainCfg *cfg, const RtData *d, bool *err);

/* ---- HTML report (rt_html.c) ------------------------------------------------ */

/* `mlxc run --report FILE.html`: one self-contained page (inline CSS and SVG)
 * with a section per block run. rt_html_open checks now that path can be
 * written (NULL after reporting: exit 6); rt_run_train adds each block with
 * rt_html_add (which predicts the eval split for the ROC with k and params);
 * rt_html_write writes the page atomically (0, or -1 after reporting). */
typedef struct RtHtml RtHtml;
RtHtml *rt_html_open(const char *path, const char *spec, const char *spec_hash);
int rt_html_add(RtHtml *h, const RtTrainCfg *cfg, const RtModelDesc *m, const MlxKernels *k,
                const float *params, const RtData *d, const RtTrainResult *res,
                const RtRunInfo *info);
int rt_html_write(RtHtml *h);
void rt_html_free(RtHtml *h);   /* NULL is fine */

/* ROC curve of binary scores (y >= 0.5 positive): one point per distinct
 * score from (0,0) to (1,1), points on a line with their neighbours dropped;
 * beyond max_pts, the ends and then, greedily, the corner farthest from the
 * chord of its piece, until max_pts (fpr/tpr hold max_pts).
 * *area: the trapezoid area of the whole curve, equal to rt_metrics' auc
 * (NaN with one class). Returns the points written (0 with one class). */
int rt_roc(const float *score, const float *y, int64_t n, int max_pts, double *fpr,
           double *tpr, double *area);

/* ---- gates (rt_gate.c) ------------------------------------------------------ */

/* A gate line's side as sema hands it over: a folded number, a metric, or
 * arithmetic over them (`baseline.test.auc - 0.01`). Durations are in
 * microseconds on both sides. Built in the compiler's arena. */
typedef enum { RT_GX_NUM, RT_GX_METRIC, RT_GX_ADD, RT_GX_SUB, RT_GX_MUL, RT_GX_DIV, RT_GX_NEG,
               RT_GX_MIN, RT_GX_MAX, RT_GX_ABS, RT_GX_EXP, RT_GX_LOG, RT_GX_SQRT,
               RT_GX_LOG1P } RtGxOp;

typedef struct RtGateExpr {
  RtGxOp op;
  double num;                 /* NUM: the value */
  bool baseline;              /* METRIC: read from the baseline model */
  int split;                  /* METRIC: 0 train, 1 val, 2 test, 3 predict latency */
  const char *metric;         /* METRIC: the metric name, or p50 / p90 / p99 */
  struct RtGateExpr **args; int n_args;   /* operands of the other ops */
} RtGateExpr;

typedef enum { RT_GC_LT, RT_GC_LE, RT_GC_GT, RT_GC_GE, RT_GC_EQ, RT_GC_NE } RtGateCmp;

/* One comparison line: value (lhs) OP threshold (rhs). */
typedef struct RtGateLine {
  RtGateExpr *lhs, *rhs;
  RtGateCmp cmp;
  bool duration;              /* both sides are durations (microseconds) */
  bool reads_baseline;        /* some side reads baseline.* */
  const char *text;           /* the line's source text */
  RtLoc loc;                  /* the line in the gate block */
} RtGateLine;

/* A gate as one train uses it. */
typedef struct RtGate {
  const char *name;
  RtLoc use_loc;              /* the train's `gate NAME` line */
  const char *baseline;       /* `baseline "PATH"` resolved against the spec's directory,
                                 or NULL */
  RtLoc baseline_loc;         /* the baseline line */
  int first_run;              /* 0: not said, 1: pass, 2: fail */
  RtGateLine *lines; int n_lines;
} RtGate;

/* What a clause gave: value and threshold (NaN when undefined), and
 * passed 1, failed 0, or skipped -1 (no baseline under `first_run pass`). */
typedef struct RtGateResult {
  const char *gate;           /* the gate's name (borrowed from cfg) */
  const char *expr;           /* the clause's text (borrowed) */
  double value, threshold;
  bool duration;              /* microseconds */
  int passed;
} RtGateResult;

/* One-row predict latency on split s: each of up to 1000 rows predicted
 * alone through k->predict after a warm-up, timed with clock_gettime;
 * us[0..2] get p50, p90, p99 in microseconds. False when s has no rows. */
bool rt_predict_latency(const MlxKernels *k, const RtModelDesc *m, const float *params,
                        const RtSplit *s, double us[3]);

/* After training: measures the latency into res, then evaluates every gate
 * of cfg (baselines re-evaluated on d's split rows through their own frozen
 * preprocessing) into res->gate_res and prints a line per clause with a
 * diagnostic per failure. Returns 0 (all passed or skipped), 3 (a clause
 * failed), or 4 (a baseline could not be read or evaluated; reported). */
int rt_gate_check(const RtTrainCfg *cfg, const RtModelDesc *m, const RtDataSpec *spec,
                  const MlxKernels *k, const float *params, const RtData *d,
                  RtTrainResult *res, const RtRunInfo *info);
void rt_gate_results_free(RtTrainResult *res);
/* Before training: 4 after reporting a gate whose baseline file does not
 * exist and that has no `first_run` line; else 0. */
int rt_gate_precheck(const RtTrainCfg *cfg, const RtRunInfo *info);

/* mlxc eval's output (rt_report.c): the task's metrics as metrics.json's
 * splits hold them (same names, order and precision) and "rows", one JSON
 * object on one line, malloc'd; NULL when out of memory. */
char *rt_eval_json(const RtModel *m, const RtMetrics *mt);

/* ---- serving (rt_serve.c: HTTP; rt_serve_req.c: requests) ------------------- */

/* rt_xform.c's row functions for serving: eval_prog with frozen statistics,
 * a onehot group's code of a category and an input's value for it, and
 * whether a cell is missing (empty or one of the spec's `na` strings). */
void rt_xform_eval(const RtXop *prog, int np, double *const *colv, int64_t n, double *out);
int rt_xform_onehot_code(const RtFeature *group, const char *s);
float rt_xform_onehot_value(const RtFeature *f, int code);
bool rt_xform_is_missing(const RtDataSpec *spec, const char *s, size_t n);

/* `mlxc serve` (and BIN serve): bind default "127.0.0.1", port default 8080
 * (0: any free port), threads 0: the CPUs, max_body 0: 1 MiB; port_file,
 * when set, gets the bound port once listening. */
typedef struct RtServeOpts {
  const char *bind;
  int port;
  int threads;
  size_t max_body;
  const char *port_file;
  const struct RtServeHooks *hooks;   /* serving a release (rt_serve_release.c), or NULL */
} RtServeOpts;

/* Serves m with its kernels (k->xform may be NULL: the interpreter) until
 * SIGTERM or SIGINT, then drains the requests in flight. Returns the exit
 * code: 0 after draining, 6 when it cannot listen, 5 internal. */
int rt_serve(const RtModel *m, const MlxKernels *k, const RtServeOpts *o);

/* The request decoder, usable without a socket (tests, fuzzing): a model
 * prepared once, per-thread scratch, and one POST /predict body turned into
 * the response. Ownership: rt_serve_model_new copies nothing from m and k,
 * which must outlive it; the reply's body and pred live in the work. */
typedef struct RtServeModel RtServeModel;
typedef struct RtServeWork RtServeWork;
typedef struct RtServeReply {
  int status;          /* HTTP status: 200, or 400 with an error body */
  const char *body;    /* JSON, NUL-terminated, owned by the work */
  size_t len;
  int64_t n_rows;      /* rows predicted (status 200) */
  const float *pred;   /* n_rows x n_out model outputs (status 200) */
  int n_out;
} RtServeReply;
RtServeModel *rt_serve_model_new(const RtModel *m, const MlxKernels *k);
void rt_serve_model_free(RtServeModel *s);
RtServeWork *rt_serve_work_new(const RtServeModel *s);
void rt_serve_work_free(RtServeWork *w);
/* Decodes body (len bytes, need not be NUL-terminated), predicts, and
 * writes the reply; req_id goes into the body as "request_id". */
void rt_serve_predict(const RtServeModel *s, RtServeWork *w, const char *body, size_t len,
                      const char *req_id, RtServeReply *r);
/* Bytes of the well-formed UTF-8 sequence starting at s (lead byte >= 0x80:
 * 2 to 4), or 0 when it is not one. */
int rt_utf8_len(const unsigned char *s);
/* A number as a category's text or a bucket key: the shortest spelling that
 * reads back as the same double ("3" for 3 and 3.0, "2.5"). */
void rt_num_text(double d, char t[40]);

/* ---- releases (rt_release.c: description, replay, commands; rt_journal.c) --- */

/* A release rule's condition as sema hands it over: comparisons of two
 * RtGateExpr sides (split 4: live.METRIC, with `baseline` for
 * baseline.live.METRIC; split 5: drift, metric the column or "*"), joined by
 * and / or / not. Built in the compiler's arena. */
typedef enum { RT_RC_CONST, RT_RC_CMP, RT_RC_AND, RT_RC_OR, RT_RC_NOT } RtRuleOp;
typedef struct RtRuleCond {
  RtRuleOp op;
  bool value;                 /* CONST: the folded condition */
  RtGateCmp cmp;              /* CMP: lhs OP rhs */
  RtGateExpr *lhs, *rhs;      /* CMP */
  bool duration;              /* CMP: both sides durations (microseconds) */
  struct RtRuleCond *a, *b;   /* AND, OR: both; NOT: a */
} RtRuleCond;

/* `promote when COND` or `rollback when COND [for N checks]`. */
typedef struct RtReleaseRule {
  RtRuleCond *cond;
  int for_checks;             /* rollback: consecutive checks it must hold (1 when not said) */
  const char *text;           /* the condition as written */
  RtLoc loc;                  /* the rule's line */
} RtReleaseRule;

/* `step P% [for N requests | for DURATION | manual]`. */
typedef enum { RT_STEP_OPEN, RT_STEP_REQUESTS, RT_STEP_DURATION, RT_STEP_MANUAL } RtStepKind;
typedef struct RtReleaseStep {
  double percent;             /* the candidate's share of traffic, (0, 100] */
  RtStepKind kind;            /* OPEN: nothing said (the last step, 100%) */
  double amount;              /* REQUESTS: candidate requests; DURATION: microseconds */
  RtLoc loc;
} RtReleaseStep;

typedef enum { RT_INC_HOLD, RT_INC_ROLLBACK, RT_INC_ADVANCE } RtInconclusive;

/* A checked release block, what `mlxc release` and serving read. Paths are
 * resolved against the spec's directory; durations are microseconds. */
typedef struct RtRelease {
  const char *name;
  RtLoc loc;                  /* the block's name */
  const char *spec_path;      /* the spec file as given */
  const char *candidate_train;/* `candidate NAME`: the train block, else NULL */
  const char *candidate_path; /* `candidate "P.mlxm"` resolved, else NULL (OUT/NAME.mlxm) */
  RtLoc candidate_loc;
  const char *baseline;       /* `baseline "PATH"` resolved, or NULL */
  const RtGate *gate;         /* `gate NAME`, or NULL */
  const char *bucket_field;   /* `bucket by request.FIELD`: FIELD, or NULL (the request id) */
  const char *salt;           /* `salt "S"`, "" when not said */
  double check_us;            /* `check every`: 0 when not said */
  int64_t min_requests;       /* `check ... min N requests`: 0 when not said */
  RtReleaseStep *steps; int n_steps;   /* at least one; the last is 100% */
  RtReleaseRule promote;      /* `promote when` (required) */
  RtReleaseRule *rollback; int n_rollback;
  double timeout_us;          /* `timeout`: 0 when not said */
  /* `inconclusive hold | rollback for N checks | advance for N checks`: what
   * N inconclusive checks in a row within a step do (HOLD: nothing) */
  RtInconclusive inconclusive;
  int inconclusive_checks;    /* N (0 for HOLD) */
  /* `missing hold | rollback`: a rollback rule undefined for missing data on
   * a conclusive check does not hold (HOLD) or holds (ROLLBACK) */
  bool missing_rollback;
} RtRelease;

/* The journal (rt_journal.c): an append-only SQLite table of events. */
typedef enum { RT_EV_STARTED, RT_EV_STEP_ADVANCED, RT_EV_OBSERVATION, RT_EV_PROMOTED,
               RT_EV_ROLLED_BACK, RT_EV_ABORTED, RT_EV__COUNT } RtEventKind;
extern const char *const rt_event_names[RT_EV__COUNT];

/* One journaled event. who is NULL for what the rules decided (serving), the
 * user for a manual command; detail is a JSON object. step: the step entered
 * (STARTED 0, STEP_ADVANCED its index); requests: the candidate requests an
 * OBSERVATION window counted (from detail). Strings owned by the event list. */
typedef struct RtEvent {
  int64_t seq;                /* 1, 2, 3 ... with no gap */
  int64_t time_us;            /* Unix time, microseconds */
  RtEventKind kind;
  const char *who, *why;      /* manual commands: who ran it and why (may be NULL) */
  const char *detail;         /* JSON object text */
  int step;
  int64_t requests;
  /* OBSERVATION: the rule outcomes journaled with the window (rt_release_check),
   * so replay needs no metrics: conclusive 1/0 (-1: not said), promote 1 true,
   * 0 false, -1 undefined or not said; rollback bit k: rule k was true */
  int conclusive;
  int promote;
  uint32_t rollback;
  const char *other_kind;     /* kind RT_EV__COUNT: the kind as written (a newer mlxc's) */
} RtEvent;

typedef struct RtJournal RtJournal;
/* Opens (create: creating it, with its directory's permission) the journal
 * at path for release rel_name of a spec with hash spec_hash: WAL, a busy
 * timeout, the schema. A journal of another release or spec is refused
 * (exit 4, naming both). Returns NULL after reporting; *code gets the exit
 * (4 foreign or corrupt, 6 cannot open or create). Without create, a
 * missing file gives NULL with *code 0 (nothing journaled yet). */
RtJournal *rt_journal_open(const char *path, const char *rel_name, const char *spec_hash,
                           bool create, int *code);
void rt_journal_close(RtJournal *j);
/* BEGIN IMMEDIATE: concurrent writers serialize here (busy timeout). The
 * events read inside a transaction are the ones the append follows. */
int rt_journal_begin(RtJournal *j);
int rt_journal_commit(RtJournal *j);
void rt_journal_rollback(RtJournal *j);
/* Every event in seq order into *ev (malloc'd; rt_events_free). 0, or -1
 * after reporting. */
int rt_journal_read(RtJournal *j, RtEvent **ev, int64_t *n);
void rt_events_free(RtEvent *ev, int64_t n);
/* Appends one event at the next seq (inside a transaction, or alone in one
 * of its own); detail NULL is "{}". Returns its seq, or -1 after reporting. */
int64_t rt_journal_append(RtJournal *j, RtEventKind kind, int64_t time_us, const char *who,
                          const char *why, const char *detail);
/* Whether --store names a PostgreSQL store (postgresql:// or postgres://,
 * a libpq connection URI) rather than an SQLite file. */
bool rt_store_is_pg(const char *store);
/* The store as messages and status name it: a URI's password becomes ***.
 * malloc'd. */
char *rt_store_shown(const char *store);
/* The time events are stamped with: now, or $MLXC_RELEASE_CLOCK (Unix
 * microseconds, for tests). */
int64_t rt_release_now_us(void);

#define RT_MAX_ROLLBACK 32          /* rollback lines a release may have */

/* The state of a release: a pure function of its journal. */
typedef enum { RT_RS_NOT_STARTED, RT_RS_STEP, RT_RS_PROMOTED, RT_RS_ROLLED_BACK,
               RT_RS_ABORTED } RtReleasePhase;
typedef struct RtReleaseState {
  RtReleasePhase phase;
  int step;                   /* STEP: index into steps (the step reached, for the others) */
  double percent;             /* the candidate's share of traffic now */
  int64_t since_us;           /* STEP: when the step began; else when the state began */
  int64_t started_us;         /* when the release started (0: not started) */
  int64_t step_requests;      /* candidate requests observed in this step */
  int64_t observations;       /* observation windows in this step */
  int64_t seq;                /* the last event applied (0: none) */
  int64_t last_seq;           /* the seq of the event that set the phase */
  char reason[256];           /* why the last transition happened */
  /* from this step's conclusive observations (rt_release_decide reads them) */
  int streak[RT_MAX_ROLLBACK];  /* consecutive conclusive checks each rollback rule held */
  int64_t met_us;             /* for N requests: when the step's count was reached (0: not yet) */
  int last_promote;           /* the last conclusive check's promote outcome (1, 0, -1) */
  int64_t last_check_us;      /* its time (0: none in this step) */
  int inconclusive_run;       /* inconclusive checks in a row in this step */
} RtReleaseState;
RtReleaseState rt_release_replay(const RtRelease *rel, const RtEvent *ev, int64_t n);
/* A duration of us microseconds as a spec spells it, largest units first:
 * "1h2m30s", "1m5s", "250ms" ("0s" for 0; whole microseconds). */
void rt_dur_text(double us, char *out, size_t cap);
/* Replay is a fold: *s (the state after the events before ev) after ev[0..n). */
void rt_release_apply(const RtRelease *rel, RtReleaseState *s, const RtEvent *ev, int64_t n);
/* The release's state from journal j: the state cached at the last call
 * with the events appended since folded in (rt_release_apply), so a server
 * polling a long journal reads only what is new. Inside a transaction it
 * includes the transaction's own appends; a rollback or a failed commit
 * drops the cache. 0, or -1 after reporting. */
int rt_journal_state(RtJournal *j, const RtRelease *rel, RtReleaseState *s);
/* The event a manual promote, rollback or abort appends in state s (a step
 * running): its kind, and its JSON detail into *detail (malloc'd). `mlxc
 * release` and serve's admin endpoints write the same events. */
RtEventKind rt_release_manual_event(const RtRelease *rel, const RtReleaseState *s,
                                    const char *cmd, char **detail);

/* A metric's value for an expression (NaN when undefined). */
typedef double (*RtMetricFn)(void *ctx, const RtGateExpr *metric);
/* A gate or rule side's value, metrics read through metric (NaN where it
 * is NULL or a metric is undefined); NaN propagates. Gates use it too. */
double rt_gx_eval(const RtGateExpr *x, RtMetricFn metric, void *ctx);

/* A rule's condition on one window: metric gives each METRIC's value (split
 * 4 live, 5 drift; durations in microseconds), NaN when the window has
 * none. Three-valued: a comparison with a NaN side is undefined, `not` of
 * undefined is undefined, `and` is false if a side is false, `or` true if
 * a side is true. Returns 1 true, 0 false, -1 undefined. */
int rt_rule_eval(const RtRuleCond *c, RtMetricFn metric, void *ctx);
/* A check at the end of a window in which the candidate served `requests`:
 * conclusive when requests >= min_requests (and > 0); then every rule is
 * evaluated. The observation event's detail (malloc'd JSON object): step,
 * requests, conclusive, promote, rollback[], and `extra`'s members (a JSON
 * object text such as rt_live_json's, or NULL) under "live". */
char *rt_release_check(const RtRelease *rel, const RtReleaseState *s, int64_t requests,
                       RtMetricFn metric, void *ctx, const char *extra);
/* What the rules decide for state s at time now (after replaying the journal,
 * the latest observation included): RT_EV__COUNT for nothing, else the event
 * to append (STEP_ADVANCED with *step, PROMOTED, ROLLED_BACK), its reason
 * in why (a line). Pure: the same state and time give the same decision. */
RtEventKind rt_release_decide(const RtRelease *rel, const RtReleaseState *s, int64_t now_us,
                              int *step, char why[256]);

/* One check, as serving's timer (or a simulator) runs it: under the write
 * lock, replay; when the release is running, journal the window's
 * observation (rt_release_check) and what rt_release_decide then says
 * (who NULL, why the reason). window_step: the step the window's traffic
 * was served in (-1: the current one); when another process moved the
 * release on meanwhile, the observation says that step, so replay does not
 * count it in the new one. *s gets the state after. Returns the event
 * decided (RT_EV__COUNT: none, or not running), or -1 after reporting. */
int rt_release_tick(RtJournal *j, const RtRelease *rel, int window_step, int64_t requests,
                    RtMetricFn metric, void *ctx, const char *extra, int64_t now_us,
                    RtReleaseState *s);

/* mlxc release FILE NAME COMMAND: cmd one of status start promote rollback
 * abort history. store: --store (NULL: beside the spec, DIR/NAME.release.db);
 * out_dir: where `candidate NAME` finds OUT/NAME.mlxm. Returns the exit code
 * (0; 2 usage; 3 refused; 4 foreign journal, bad candidate; 6 store). */
typedef struct RtReleaseOpts {
  const char *cmd;
  const char *store;
  const char *out_dir;
  const char *who;            /* --who (NULL: $USER) */
  const char *why;            /* --why (NULL: none) */
  bool json;                  /* status: one JSON object */
  const char *spec_hash;
} RtReleaseOpts;
int rt_release_cmd(const RtRelease *rel, const RtReleaseOpts *o);
/* The store a release uses: o->store, or DIR/NAME.release.db beside the
 * spec. malloc'd. */
char *rt_release_store_path(const RtRelease *rel, const char *store);
/* The candidate's model file: `candidate "P.mlxm"`, or OUT/NAME.mlxm
 * (out_dir NULL: "out"). malloc'd. */
char *rt_release_candidate_path(const RtRelease *rel, const char *out_dir);

/* ---- live release statistics (rt_live.c) ------------------------------------ */

/* Sticky buckets: FNV-1a 64 over the salt's bytes, one 0x00 byte, then the
 * key's bytes; murmur3's 64-bit finalizer; mod 10000 (bias below 1e-15).
 * Every process and machine gives a key the same bucket. */
#define RT_BUCKETS 10000
int rt_bucket(const char *key, size_t len, const char *salt);   /* salt NULL: "" */
/* A bucket goes to the candidate at weight w (percent) when bucket < w * 100:
 * once it does, it stays there at every larger weight. */
bool rt_bucket_candidate(int bucket, double weight_pct);

/* One raw input column's training distribution, fitted on the train rows
 * (rt_xform.c) and frozen in the .mlxm (minor 3). Missing cells are not
 * counted. Numbers: up to 9 cut points, the deciles of the train cells
 * (value at index floor(n*q/10) of the sorted cells of at most
 * RT_DIST_SAMPLE evenly spaced train rows; equal ones merged), a cell's bin
 * being how many cuts are <= it. Categories: the train categories sorted
 * by bytes, then "other". Counted over at most RT_DIST_COUNT evenly spaced
 * train rows (all of them below that). */
#define RT_DIST_BINS 10
#define RT_DIST_SAMPLE 16384
#define RT_DIST_COUNT 65536
typedef struct RtTrainDist {
  char *column;      /* the CSV header */
  bool cat;          /* categories (read by onehot) rather than numbers */
  int n_bins;        /* numbers: cuts + 1 (1..10); categories: names + 1 ("other" last) */
  double *cuts;      /* numbers: n_bins - 1 increasing cut points */
  char **cats;       /* categories: n_bins - 1 names, strictly increasing by strcmp */
  int64_t *count;    /* n_bins: train cells per bin */
  int64_t n;         /* train cells counted */
} RtTrainDist;
/* Writes v's deciles (distinct, increasing) to cuts, reordering v; how many. */
int rt_dist_cuts(double *v, int64_t n, double cuts[RT_DIST_BINS - 1]);
int rt_dist_bin(const RtTrainDist *t, double x);   /* a number's bin */
/* A category distribution from per-id counts (ids with count 0 left out). */
void rt_dist_set_cats(RtTrainDist *t, const char *column, char *const *names,
                      const int64_t *count, int n);
RtTrainDist *rt_live_dist_copy(const RtTrainDist *t, int n);   /* NULL when n == 0 */
void rt_live_dist_free(RtTrainDist *t, int n);
/* The .mlxm minor 3 part (malloc'd), and its reader (NULL, or what is bad). */
unsigned char *rt_live_dist_encode(const RtDataSpec *s, size_t *len);
const char *rt_live_dist_decode(RtDataSpec *s, const unsigned char *p, size_t len);

/* PSI = sum over bins of (a - e) * ln(a / e), a and e the actual and
 * expected shares, each at least RT_PSI_EPS; NaN when either has no count. */
#define RT_PSI_EPS 1e-4
double rt_psi(const int64_t *actual, const int64_t *expected, int k);

/* One arm's observation window. Thread-safe: one mutex per window, held
 * for O(columns + rows) work per request (a few hundred ns uncontended).
 * Memory: fixed counts (a 35 KiB latency histogram, bins per column), plus
 * per window 4 bytes a predicted row of a regression (the prediction
 * shift's deciles) and the outputs and label of each labelled request.
 * Feedback predictions outlive rt_live_reset: the last RT_LIVE_PENDING
 * one-row requests are kept (older ids are forgotten). */
#define RT_LIVE_PENDING 65536
typedef struct RtLiveWindow RtLiveWindow;
typedef enum { RT_LIVE_OK, RT_LIVE_INVALID, RT_LIVE_FAILED } RtLiveOutcome;
typedef enum { RT_FB_OK, RT_FB_UNKNOWN, RT_FB_DUPLICATE, RT_FB_BAD_LABEL } RtLiveFeedback;
/* A raw cell: text (str, len; a category must come as text) or, with str
 * NULL, the number num (NaN: missing). Empty and `na` strings are missing. */
typedef struct RtLiveCell {
  double num;
  const char *str;
  size_t len;
} RtLiveCell;
typedef struct RtLiveObs {
  RtLiveOutcome outcome;
  double latency_us;        /* request latency (ok requests feed p50/p99) */
  int64_t n_rows;           /* rows predicted */
  const float *out;         /* n_rows x outputs, as MlxPredictFn writes them */
  const RtLiveCell *cells;  /* n_rows x rt_live_ncols raw cells, or NULL */
  const char *request_id;   /* kept for feedback when n_rows == 1, or NULL */
} RtLiveObs;
typedef struct RtLiveStats {
  int64_t requests, ok, invalid, failed;
  int64_t rows;             /* rows predicted by ok requests */
  int64_t labelled;         /* feedback labels received in the window */
  double error_rate;        /* (invalid + failed) / requests; NaN with none */
  double p50_us, p99_us;    /* ok requests' latency (nearest rank); NaN with none */
  RtMetrics metrics;        /* rt_metrics over the labelled predictions */
} RtLiveStats;
RtLiveWindow *rt_live_new(const RtModel *m);   /* m must outlive it */
void rt_live_free(RtLiveWindow *w);            /* NULL is fine */
void rt_live_reset(RtLiveWindow *w);           /* a new window; pending ids kept */
int rt_live_ncols(const RtLiveWindow *w);      /* columns with a distribution (0: none) */
int rt_live_col(const RtLiveWindow *w, const char *name);   /* -1: none */
const RtTrainDist *rt_live_col_dist(const RtLiveWindow *w, int c);
void rt_live_add(RtLiveWindow *w, const RtLiveObs *o);
RtLiveFeedback rt_live_feedback(RtLiveWindow *w, const char *request_id, const char *label);
void rt_live_stats(RtLiveWindow *w, RtLiveStats *s);
/* drift(col): PSI of column c's live cells against its train bins; NaN
 * ("unavailable") with no distribution or no live cell. drift(*): the
 * largest, *col its column (-1 when none is available). */
double rt_live_drift(RtLiveWindow *w, int c);
double rt_live_drift_max(RtLiveWindow *w, int *col);
/* PSI of a's predictions against ref's: over the classes, or for a
 * regression over 10 bins at the deciles of ref's values. NaN when either
 * window has none. */
double rt_live_pred_psi(RtLiveWindow *a, RtLiveWindow *ref);
/* requests, error_rate, p50, p99, labelled, or an rt_metrics name. */
double rt_live_metric(RtLiveWindow *w, const char *name);
/* A release rule's metric (split 4 live.M, 5 drift(COL) or drift(*)) of the
 * candidate's window, or the baseline's for baseline.live.M; NaN when
 * undefined. Serving and the simulator read rules through it. */
double rt_live_rule_metric(RtLiveWindow *cand, RtLiveWindow *base, const RtGateExpr *x);
/* A check's figures as an observation journals them under "live":
 * {"candidate": rt_live_json(cand, base), "baseline": rt_live_json(base)}.
 * malloc'd. */
char *rt_live_check_json(RtLiveWindow *cand, RtLiveWindow *base);
/* Ends w's window: what it counted moves into `into` (a window of the same
 * model that no other thread uses; its own counts are replaced) and w
 * starts empty, in one step under w's lock, so no request falls between
 * two windows. False (nothing done) for another model's window or w itself. */
bool rt_live_take(RtLiveWindow *w, RtLiveWindow *into);
/* The window's figures as one JSON object (malloc'd): requests ok invalid
 * failed rows error_rate p50_us p99_us drift{COL: psi} drift_max{column,
 * value} prediction_shift (against ref; null without) labelled metrics{the
 * task's rt_task_metrics}; unavailable figures are null. */
char *rt_live_json(RtLiveWindow *w, RtLiveWindow *ref);

/* ---- serving a release (rt_serve_release.c) ---------------------------------- */

/* What rt_serve asks of a release server instead of its own model: predict
 * answers a POST /predict (r's body owned by the hook's thread state until
 * the thread's next call); metrics gives text appended to /metrics
 * (malloc'd). rt_serve's m then only names the model and its classes. */
typedef struct RtServeHooks {
  void (*predict)(void *ctx, const char *body, size_t len, const char *req_id, double t0_s,
                  RtServeReply *r);
  char *(*metrics)(void *ctx);
  void *ctx;
  /* other POST endpoints: owns says whether url is one (then JSON bodies up
   * to the limit, 405 for other methods); route answers it: the HTTP
   * status, *out a malloc'd JSON body; auth the Authorization header */
  bool (*owns)(void *ctx, const char *url);
  int (*route)(void *ctx, const char *url, const char *auth, const char *body, size_t len,
               const char *req_id, char **out);
  const char *endpoints;   /* what a 404 lists, or NULL: /predict /health /metrics */
} RtServeHooks;
/* A request field the decoder accepts and ignores (the release's bucket
 * key; name must outlive s; one at most beyond the model's own). */
void rt_serve_model_ignore(RtServeModel *s, const char *name);
/* mlxc serve FILE --release NAME: routes each /predict by its bucket to
 * the candidate (cand, kc) or the baseline (base, kb), records both arms'
 * windows, and every check interval journals the check in the store
 * (rt_release_tick); the serving percent follows the journal's state.
 * POST /feedback labels a request; POST /release/promote|rollback|abort
 * need `Authorization: Bearer admin_token` (NULL: those answer 403).
 * Returns the exit code (0 after draining; 4 foreign journal or arms that
 * disagree; 6 store or socket). */
int rt_serve_release(const RtRelease *rel, const char *spec_hash, const char *store,
                     const char *admin_token, const RtModel *cand, const MlxKernels *kc,
                     const RtModel *base, const MlxKernels *kb, const RtServeOpts *o);

/* ---- serving: shared pieces (rt_serve.c, rt_serve_req.c, rt_serve_release.c) ---- */

#include <signal.h>
/* Blocks SIGTERM and SIGINT (a server takes them with sigwait) and SIGPIPE
 * in the calling thread, so every thread it starts afterwards inherits the
 * mask; *old gets the mask before. */
void rt_serve_block_signals(sigset_t *old);
/* rt_serve_predict on a body already parsed: root as json_loadb gives it
 * with JSON_REJECT_DUPLICATES | JSON_DECODE_INT_AS_REAL (NULL: jerr says
 * why it is not JSON). root stays the caller's. */
struct json_t;
struct json_error_t;
void rt_serve_predict_json(const RtServeModel *s, RtServeWork *w, struct json_t *root,
                           const struct json_error_t *jerr, const char *req_id, RtServeReply *r);
/* A release server's admin token: the first line of file (when not NULL),
 * else $MLXC_ADMIN_TOKEN, else NULL (the admin endpoints answer 403).
 * malloc'd; *code 0, or 6 (unreadable file) / 2 (empty file) after
 * reporting with prog's name. */
char *rt_serve_admin_token(const char *prog, const char *file, int *code);
/* A check of a window in which neither arm saw a request: under the write
 * lock, replay and journal what rt_release_decide says at now_us (the
 * timeout; nothing else changes without data); no observation, unless the
 * release has an `inconclusive rollback|advance` policy, which counts idle
 * windows (then a short inconclusive one). Returns as rt_release_tick. */
int rt_release_tick_idle(RtJournal *j, const RtRelease *rel, int64_t now_us, RtReleaseState *s);

/* ---- the release traffic simulator (rt_simulate.c) ------------------------- */

/* What `mlxc check` proves about a release's timing (compiler/release_check.c
 * computes it; main.c hands it to the simulator): durations in microseconds. */
typedef struct RtReleaseBounds {
  double check_us;            /* W: `check every`, 30 s when not said */
  double least_us;            /* least time to 100% (manual steps count 0) */
  double least_requests;      /* least candidate requests to 100% */
  int manual;                 /* manual steps (promotions a person makes) */
  double rollback_us;         /* N x W of the slowest rollback rule (0: no rule) */
  int rollback_rule;          /* that rule's index (-1: none) */
  double timeout_us;          /* `timeout` (0: none) */
} RtReleaseBounds;

/* mlxc release FILE NAME simulate [options]: synthetic traffic on a
 * virtual clock through the release's real machinery (rt_live windows,
 * rt_release_tick on a journal). */
typedef enum { RT_SIM_ANY, RT_SIM_PROMOTED, RT_SIM_ROLLED_BACK, RT_SIM_UNDECIDED } RtSimExpect;
typedef struct RtSimOpts {
  int64_t users;              /* --users N: bucket keys (default 1000) */
  double rps;                 /* --rps R: requests per virtual second (default 50) */
  double for_us;              /* --for D: the virtual time cap (0: default) */
  double errors;              /* --errors P%: share of candidate requests that fail, 0..1 */
  const char *drift;          /* --drift COLUMN: shifted out of its training range, or NULL */
  double latency_us;          /* --latency D: the candidate's latency (< 0: the baseline's) */
  double regress_us;          /* --regress-after D: when the regression begins */
  uint64_t seed;              /* --seed N */
  RtSimExpect expect;         /* --expect promoted|rolled_back|undecided */
  bool manual_auto;           /* --manual auto: manual steps promoted at once */
  const char *store;          /* --store PATH (NULL: a temporary file, removed after) */
  bool json;                  /* --json: one JSON object */
  const char *spec_hash;
  RtReleaseBounds bounds;     /* the checker's figures */
} RtSimOpts;
/* Whether name (as "--rps") is a simulator option; every one takes a value. */
bool rt_sim_option(const char *name);
/* Reads n/2 (name, value) pairs into *o (defaults first). 0, or 2 after a
 * usage message on stderr. */
int rt_sim_parse(const char *const *args, int n, RtSimOpts *o);
/* Runs the simulation: cand (its kernels kc) and base (kb; the candidate
 * again when the release names no baseline). Returns the exit code: 0, 2
 * usage (an unknown --drift column, a --store in use), 3 the outcome is not
 * --expect's or breaks the checker's bound (or the gate failed, as start),
 * 4 bad model, 6 store. */
int rt_release_simulate(const RtRelease *rel, const RtModel *cand, const MlxKernels *kc,
                        const RtModel *base, const MlxKernels *kb, const RtSimOpts *o);

/* ---- extern fn calls (rt_extern.c) ------------------------------------------- */

/* --allow-extern: consts, the REPL and features may call `extern fn`s, and
 * a model file whose features call them loads. */
extern bool rt_allow_extern;
/* Calls sym of library lib with n numbers as C types types[i] (i32 i64 f32
 * f64), returning ret into *out (compile time: consts, the REPL). 0; else
 * err says why: -1 the call cannot be described, -2 an argument does not
 * fit its type, -3 no such library, -4 no such function. */
int ext_call(const char *lib, const char *sym, int n, const char *const *types,
             const double *args, const char *ret, double *out, char *err, size_t errn);
/* The address of lib's sym, the library opened once and both cached for the
 * process's lifetime (thread-safe); NULL with err saying why ("cannot load
 * library ..." / "library ... has no function ..."). Does not look at
 * rt_allow_extern: callers do. */
void *rt_extern_resolve(const char *lib, const char *sym, char *err, size_t errn);
/* Whether sig is an EXTERN op's signature: 1 to 17 letters of "ilfd". */
bool rt_extern_sig_ok(const char *sig);
/* One EXTERN op's libffi call for an interpreter's run over its rows: NULL
 * without rt_allow_extern or when the function cannot be resolved (every
 * row then gives NaN). */
typedef struct RtExtCall RtExtCall;
RtExtCall *rt_extern_prep(const char *lib, const char *sym, const char *sig);
/* One row: args[strlen(sig) - 1] converted to their C types (f32 rounded,
 * i32/i64 truncated toward zero; NaN or out of range: NaN without calling),
 * the result as a double. */
double rt_extern_row(RtExtCall *x, const double *args);
void rt_extern_done(RtExtCall *x);
/* The number of arguments an EXTERN op pops (0 for a bad signature). */
int rt_extern_nargs(const char *sig);
/* A loaded model's extern calls (rt_model_load_mem): without
 * rt_allow_extern the first is refused ("FILE: feature 'F' calls extern fn
 * 'SYM' from 'LIB': refused without --allow-extern") before any dlopen;
 * with it each is resolved. false after reporting at `at`. */
bool rt_extern_load_check(const RtDataSpec *s, RtLoc at);

#endif
