/* mlxrt.h — the C ABI between generated kernels and the runtime.
 * Generated code reaches the runtime through this header alone; the JIT and
 * (later) AOT objects export the functions typed here.
 * Ownership: every buffer passed to a generated function is owned by the caller. */
#ifndef MLXRT_H
#define MLXRT_H

#include <stdint.h>

/* Hyperparameters read by the fused optimizer update on each step. The runtime
 * fills them per step, so schedules never force a recompile. */
typedef struct MlxHyper {
  float lr;        /* learning rate for this step */
  float momentum;  /* sgd momentum (0: plain sgd) */
  float beta1;     /* adam first-moment decay */
  float beta2;     /* adam second-moment decay */
  float eps;       /* adam epsilon */
  float bc1;       /* adam bias correction 1 - beta1^t */
  float bc2;       /* adam bias correction 1 - beta2^t */
  float pad;       /* keeps the struct 32 bytes */
  float weight_decay; /* adamw decoupled weight decay */
  float rho;       /* rmsprop square-average decay */
  float l1;        /* l1 penalty: + l1 sign(w) on weight gradients */
  float l2;        /* l2 penalty: + l2 w on weight gradients */
  float clip;      /* clip value: bound of the elementwise clamp; clip norm: max norm */
  uint64_t seed;   /* train seed: dropout masks hash (seed, step, row, unit) */
  int64_t step;    /* global step number from 0 (dropout masks) */
  const float *class_w; /* weight per class index, when the train has class_weights */
} MlxHyper;

/* One training step on rows x[0..n) (n <= batch), labels y[0..n) (class index
 * as float, or the target value). Updates params and opt_state in place.
 * work is scratch of n_work elements. Returns the summed (not mean) loss. */
typedef float (*MlxStepFn)(float *params, float *opt_state, float *work,
                           const float *x, const float *y, int64_t n,
                           const MlxHyper *h);

/* The same step on rows rows[0..n) of the whole input matrix x and label
 * vector y, read where they lie (the shuffled batch is never copied); rows
 * must not be NULL. */
typedef float (*MlxStepRowsFn)(float *params, float *opt_state, float *work,
                               const float *x, const float *y, const int64_t *rows,
                               int64_t n, const MlxHyper *h);

/* One thread's part of a step split by rows (kernels compiled for threads >
 * 1): the gradient of (summed loss over rows[0..n)) / n_mean into work +
 * grad_off (MlxKernels), dropout masks from h; returns the summed loss. */
typedef float (*MlxGradRowsFn)(const float *params, float *work, const float *x, const float *y,
                               const int64_t *rows, int64_t n, int64_t n_mean,
                               const MlxHyper *h);

/* The optimizer update from the whole step's gradient grad (n_params
 * elements): penalties, clipping, then each parameter's step. */
typedef void (*MlxUpdateFn)(float *params, float *opt_state, float *grad, const MlxHyper *h);

/* Forward pass only: out[n * n_out] gets probabilities (sigmoid/softmax) or
 * values. Any n: the kernel walks the rows in batch-sized tiles itself. */
typedef void (*MlxPredictFn)(const float *params, float *work,
                             const float *x, int64_t n, float *out);

/* Gradient of the mean loss over rows [0, n) into grad (n_params elements),
 * no update. Returns the summed loss. Element type is float or double as the
 * kernels were compiled (double only for gradient checks). */
typedef double (*MlxGradFn)(const void *params, void *grad, void *work,
                            const void *x, const void *y, int64_t n);

/* The feature transforms, compiled from the frozen programs (xform_emit.c).
 * For each row r in [0, n), input i is computed in double from cols[k][r]
 * (one column per COL op, numbered over the inputs' programs in order) or,
 * for a onehot input, from its group's codes codes[i - cat_index][r], and
 * stored as float in out[r * n_in + i]. Returns -1, or the first value that
 * is not a finite float as i * n + r (the smallest i, then r); out is
 * written either way. */
typedef int64_t (*MlxXformFn)(const double *const *cols, const int32_t *const *codes,
                              int64_t n, float *out);

/* What a compiled model gives the runtime, from the JIT or an AOT object. */
typedef struct MlxKernels {
  MlxStepFn step;       /* fused forward + loss + backward + update */
  MlxPredictFn predict; /* forward only */
  MlxGradFn grad;       /* present only when compiled for a gradient check */
  int64_t n_params;     /* weights and biases, see rt_param_layout */
  int64_t n_state;      /* optimizer state elements (0, n_params or 2*n_params) */
  int64_t n_work;       /* scratch elements for one batch-sized tile */
  int64_t batch;        /* tile size the kernels were compiled for */
  MlxStepRowsFn step_rows; /* step on listed rows in place (NULL: gather, then step) */
  MlxGradRowsFn grad_rows; /* a thread's part of an unfused step (NULL: fused kernels) */
  MlxUpdateFn update;      /* the update after the parts' gradients are summed */
  int64_t grad_off;        /* where in work grad_rows leaves its gradient (-1: none) */
  MlxXformFn xform;     /* the model's transforms; NULL when compiled without them */
} MlxKernels;

#endif
