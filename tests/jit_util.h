/* jit_util.h — compiles a model description straight through the back end
 * (plan → grad → fuse → llvm → jit) for the C drivers that call the kernels
 * themselves (backend_step.c, optim_step.c). */
#ifndef TESTS_JIT_UTIL_H
#define TESTS_JIT_UTIL_H

#include <stdio.h>
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
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  char *text = NULL;
  size_t len = 0, cap = 0, got;
  do {
    if (len + 4096 > cap) text = realloc(text, cap = (cap + 4096) * 2);
    got = fread(text + len, 1, cap - len, f);
    len += got;
  } while (got > 0);
  fclose(f);
  uint32_t file = src_add(path, arena_strndup(a, text, len), len);
  free(text);
  bool data_error = false;
  Program *p = sema_check(a, parse_source(a, file), SEMA_RUN, &data_error);
  rt_diag_flush();
  return p;
}

static inline void release(Compiled *c) {
  jit_free(c->jit);
  arena_free(&c->a);
}

#endif
