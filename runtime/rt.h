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
typedef enum { RT_LOSS_MSE, RT_LOSS_BCE, RT_LOSS_CE } RtLoss;
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

/* ---- CSV and data --------------------------------------------------------- */

/* Reads just the header of a CSV (for `mlxc check`). Returns 0, or -1 after
 * reporting the error. *names is malloc'd, each name too. */
int rt_csv_header(const char *path, char ***names, int *n);

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
} RtData;

/* Load, clean, fit statistics on train (written back into spec->feats /
 * returned features), transform, split. task decides how the label is read.
 * Returns NULL after reporting (exit 4). */
RtData *rt_data_load(RtDataSpec *spec, RtTask task);
void rt_data_free(RtData *d);

/* ---- metrics -------------------------------------------------------------- */

typedef struct RtMetrics {
  double loss;
  double accuracy;   /* classification */
  double mse, mae;   /* regression */
} RtMetrics;

/* Metrics of predictions out (n x n_out as MlxPredictFn writes) against y. */
RtMetrics rt_metrics(RtTask task, int n_classes, const float *out, const float *y, int64_t n);

/* ---- training ------------------------------------------------------------- */

typedef struct RtModel {
  RtModelDesc desc;
  RtDataSpec *data;     /* preprocessing with frozen statistics */
  int n_classes; char **class_names;
  int64_t n_params;
  float *params;
  char spec_hash[17];
  char *metrics_json;   /* metrics as written beside it, embedded in the .mlxm */
} RtModel;

typedef struct RtTrainResult {
  RtMetrics split[3];
  double epoch_s[1024]; int n_epochs;
  double train_loss[1024];
  double val_loss[1024];
} RtTrainResult;

/* Train cfg on d with kernels k; params initialised from cfg->seed. */
int rt_train(const RtTrainCfg *cfg, const RtModelDesc *m, const MlxKernels *k,
             RtData *d, float *params, RtTrainResult *res);

/* ---- model file ----------------------------------------------------------- */

int rt_model_save(const char *path, const RtModel *m);
RtModel *rt_model_load(const char *path);   /* NULL after reporting (exit 4) */
void rt_model_free(RtModel *m);

#endif
