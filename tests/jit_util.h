/* jit_util.h — compiles a model description straight through the back end
 * (plan → grad → fuse → llvm → jit) for the C drivers that call the kernels
 * themselves (backend_step.c, optim_step.c). */
#ifndef TESTS_JIT_UTIL_H
#define TESTS_JIT_UTIL_H

#include <stdlib.h>
#include <string.h>

#include "compiler/mlxc.h"

typedef struct Compiled {
  Arena a;        /* the compilation's arena */
  Jit *jit;       /* owns the code the kernels point into */
  MlxKernels k;   /* entry points and sizes */
  KernelSet *ks;  /* what was fused, for checks on the kernel layout */
} Compiled;

/* with_grad also emits the non-updating gradient entry. False after the back
 * end reported an error. */
static inline bool compile(Compiled *c, const RtModelDesc *m, const RtTrainCfg *cfg,
                           bool with_grad) {
  memset(c, 0, sizeof *c);
  Plan *p = plan_build(&c->a, m, cfg, DT_F32);
  grad_build(&c->a, p);
  c->ks = fuse_build(&c->a, p, with_grad);
  c->jit = jit_compile(llvm_emit(c->ks, NULL), c->ks, &c->k);
  rt_diag_flush();
  return c->jit != NULL;
}

/* Reads, parses and checks (as `run` does) the spec at path into a's
 * arena; NULL after reporting. */
static inline Program *check_spec(Arena *a, const char *path) {
  size_t len;
  char *text = rt_read_file(path, &len);
  if (!text) return NULL;
  uint32_t file = src_add(path, arena_strndup(a, text, len), len);
  free(text);
  bool data_error = false;
  Program *p = sema_check(a, parse_source(a, file), SEMA_RUN, &data_error);
  rt_diag_flush();
  return p;
}

/* A model of train t over d (its inputs set from d's features) with random
 * weights in [-0.5, 0.5) from seed, so outputs vary from row to row, and d's
 * preprocessing frozen as `run` freezes it. NULL when out of memory. */
static inline RtModel *random_model(SemaTrain *t, const RtData *d, uint64_t seed) {
  t->model->n_in = d->n_feats;
  t->model->xfeats = d->feats, t->model->n_xfeats = d->n_feats;
  int64_t np = rt_param_layout(t->model, NULL, NULL);
  float *params = malloc(sizeof(float) * (size_t)(np + 1));
  RtRand rng;
  rt_rand_seed(&rng, seed);
  for (int64_t i = 0; i < np; i++) params[i] = (float)(rt_rand_double(&rng) - 0.5);
  RtDataSpec *frozen = rt_data_freeze(t->data, d);
  RtModel *m = rt_model_new(t->model, frozen, d->n_classes, d->class_names, params, np, "0", "{}");
  rt_data_spec_free(frozen);
  free(params);
  return m;
}

static inline void release(Compiled *c) {
  jit_free(c->jit);
  arena_free(&c->a);
}

#endif
