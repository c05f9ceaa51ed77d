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

/* One model input: a CSV column through a transform. */
typedef struct RtFeature {
  char *name;        /* feature name (the column it reads, for now) */
  char *column;      /* CSV header it reads */
  RtXform xform;     /* transform applied */
  double mean, std;  /* frozen statistics, fitted on the train split */
  RtLoc loc;         /* the `feature` statement, or the `feature *` line */
} RtFeature;

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
} RtDataSpec;

typedef enum { RT_ACT_IDENTITY, RT_ACT_RELU, RT_ACT_SIGMOID, RT_ACT_TANH, RT_ACT_SOFTMAX } RtAct;
typedef enum { RT_LOSS_MSE, RT_LOSS_BCE, RT_LOSS_CE, RT_LOSS_MAE } RtLoss;
typedef enum { RT_OPT_SGD, RT_OPT_ADAM } RtOpt;

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
} RtModelDesc;

typedef struct RtTrainCfg {
  char *name;        /* train block name: names the outputs */
  RtOpt opt;
  float lr, momentum, beta1, beta2, eps;
  int epochs;
  int batch;
  uint64_t seed;     /* weight init and shuffling */
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
uint64_t rt_csv_hash(const RtCsv *c);        /* FNV-1a 64 of the bytes read so far */
void rt_csv_close(RtCsv *c);

/* A whole decimal number ([+-]digits[.digits][e[+-]digits], spaces around
 * allowed) that fits a float; false for anything else (nan, inf, hex, ''). */
bool rt_parse_float(const char *s, size_t n, float *out);

/* ---- data (rt_data.c) ------------------------------------------------------ */

/* One split's matrix: x is n x n_feats row-major, y is n labels. */
typedef struct RtSplit {
  int64_t n;
  float *x;
  float *y;
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
void rt_split_free(RtSplit *s);

/* ---- metrics (rt_metrics.c) ------------------------------------------------ */

/* Metrics of one split. Fields a task does not define are NaN (null in JSON);
 * an empty split has every field NaN. */
typedef struct RtMetrics {
  double loss;
  double accuracy;   /* classification */
  double mse, mae;   /* regression */
  int64_t n;         /* rows measured */
} RtMetrics;

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

#define RT_MAX_EPOCHS 1024   /* history kept; later epochs train but are not recorded */

typedef struct RtTrainResult {
  RtMetrics split[3];
  double epoch_s[RT_MAX_EPOCHS]; int n_epochs;
  double train_loss[RT_MAX_EPOCHS];
  double val_loss[RT_MAX_EPOCHS];
  RtMetrics val[RT_MAX_EPOCHS];  /* full validation metrics per epoch */
  int best_epoch;                /* 1-based epoch of the lowest val loss (last if no val) */
} RtTrainResult;

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
} RtRunInfo;

/* train → metrics table → OUT/NAME.metrics.json → OUT/NAME.mlxm. Returns an
 * exit code: 0, 4 (data), 5 (internal) or 6 (outputs not writable). */
int rt_run_train(const RtTrainCfg *cfg, const RtModelDesc *m, const RtDataSpec *spec,
                 const MlxKernels *k, RtData *d, const RtRunInfo *info);

/* mlxc predict: rows of csv ("-": stdin) through m's frozen preprocessing and
 * k->predict, written to out as CSV (prediction, then probabilities). Returns
 * 0, or -1 after reporting (exit 4). */
int rt_predict_csv(const RtModel *m, const MlxKernels *k, const char *csv, FILE *out);

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

/* ---- model file (rt_model.c) ----------------------------------------------- */

#define RT_MODEL_MAJOR 1
#define RT_MODEL_MINOR 0

/* An owned model: deep copies of everything given (frozen may be NULL only
 * in tests). NULL when out of memory. */
RtModel *rt_model_new(const RtModelDesc *desc, const RtDataSpec *frozen, int n_classes,
                      char *const *class_names, const float *params, int64_t n_params,
                      const char *spec_hash, const char *metrics_json);
int rt_model_save(const char *path, const RtModel *m);   /* 0, or -1 after reporting */
RtModel *rt_model_load(const char *path);   /* NULL after reporting (exit 4) */
void rt_model_free(RtModel *m);             /* NULL is fine */

#endif
