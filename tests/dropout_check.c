/* dropout_check.c — dropout in the back end, against a C reference of the
 * mask hash (the function documented in compiler/llvm_emit.c):
 *  1. gradient check: nets with dropout compiled in f64 with the gradient
 *     entry applying the masks (Plan.grad_dropout: train seed, step 0); the
 *     loss equals a forward pass here that applies the same masks, and the
 *     gradient agrees with central finite differences of that loss;
 *  2. without grad_dropout the gradient entry has no dropout at all;
 *  3. the f32 step keeps exactly the units the reference hash keeps, scales
 *     them by 1/(1-P), and keeps a fraction within 2% of 1-P over many units;
 *     another step number or seed gives another mask;
 *  4. predict has no dropout: bit-equal to the same net without dropout.
 * One line per check; exits 1 on any failure. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "compiler/mlxc.h"

#include "ref_model.h"

typedef struct Case {
  const char *name;
  int n_layers;
  RtLayer layers[4];
  RtLoss loss;
  float drop[4];
} Case;

static int grad_case(const Case *c, bool masked) {
  RtModelDesc m = {.name = (char *)c->name, .n_in = 5, .n_layers = c->n_layers, .loss = c->loss};
  memcpy(m.layers, c->layers, sizeof(RtLayer) * (size_t)c->n_layers);
  memcpy(m.dropout, c->drop, sizeof c->drop);
  RtTrainCfg cfg = {.name = "gc", .opt = RT_OPT_ADAM, .batch = 9, .seed = 1234567};
  Arena a = {0};
  MlxKernels k;
  Plan *p = plan_build(&a, &m, &cfg, DT_F64);
  if (p) p->grad_dropout = masked;
  grad_build(&a, p);
  KernelSet *ks = fuse_build(&a, p, true);
  Jit *j = ks ? jit_compile(llvm_emit(ks, NULL), ks, &k) : NULL;
  char name[96];
  snprintf(name, sizeof name, "%s%s", c->name, masked ? " (masked)" : " (off)");
  if (!j || !k.grad) {
    rt_diag_flush();
    printf("%-40s FAIL (did not compile)\n", name);
    arena_free(&a);
    return 1;
  }
  int n = 7, np = (int)k.n_params, nin = m.n_in;
  int classes = m.layers[m.n_layers - 1].units;
  double *prm = malloc(sizeof(double) * (size_t)np), *g = malloc(sizeof(double) * (size_t)np);
  double *scratch = malloc(sizeof(double) * (size_t)np);
  double *work = malloc(sizeof(double) * (size_t)k.n_work);
  double x[7 * 5], y[7], gap = 0;
  for (int i = 0; i < n * nin; i++) x[i] = urand() * 4 - 2;
  for (int r = 0; r < n; r++)
    y[r] = c->loss == RT_LOSS_CE ? (double)(int)(urand() * classes)
         : c->loss == RT_LOSS_BCE ? (double)(urand() < 0.5) : urand() * 2 - 1;
  for (int tries = 0; tries < 100; tries++) {
    for (int i = 0; i < np; i++) prm[i] = urand() * 1.6 - 0.8;
    ref_loss(&m, prm, x, y, n, masked, cfg.seed, &gap);
    if (gap > 1e-3) break;
  }
  double loss = k.grad(prm, g, work, x, y, n);
  double want = ref_loss(&m, prm, x, y, n, masked, cfg.seed, &gap);
  int bad = 0;
  if (fabs(loss - want) > 1e-9 * fmax(1, fabs(want))) {
    printf("%-40s FAIL loss %.15g, reference %.15g\n", name, loss, want);
    bad = 1;
  }
  /* the other reference must differ when masks are live (they do something) */
  double other = ref_loss(&m, prm, x, y, n, !masked, cfg.seed, &gap);
  if (masked && fabs(other - want) < 1e-9) {
    printf("%-40s FAIL the masks changed nothing\n", name);
    bad = 1;
  }
  double worst = ref_fd_check(k.grad, prm, scratch, work, x, y, n, np, g, name, 40, &bad);
  if (!bad) printf("%-40s ok  (%d params, worst relative error %.1e)\n", name, np, worst);
  jit_free(j);
  free(prm), free(g), free(scratch), free(work);
  arena_free(&a);
  return bad;
}

static int tensor_named(const Plan *p, const char *name) {
  for (int t = 0; t < p->nt; t++)
    if (!strcmp(p->t[t].name, name)) return t;
  return -1;
}

/* The f32 step's masks against the reference, and predict without dropout. */
static int step_case(void) {
  enum { NIN = 3, U = 256, B = 64 };
  const float rate = 0.3f;
  RtModelDesc m = {.name = "mask", .n_in = NIN, .n_layers = 2, .loss = RT_LOSS_MSE};
  m.layers[0] = (RtLayer){U, RT_ACT_IDENTITY};
  m.layers[1] = (RtLayer){1, RT_ACT_IDENTITY};
  m.dropout[0] = rate;
  RtModelDesc m0 = m;
  m0.dropout[0] = 0;
  RtTrainCfg cfg = {.name = "mask", .opt = RT_OPT_SGD, .batch = B, .seed = 42};
  Arena a = {0};
  MlxKernels k, k0;
  Plan *p = plan_build(&a, &m, &cfg, DT_F32);
  KernelSet *ks = fuse_build(&a, p, false);
  Jit *j = ks ? jit_compile(llvm_emit(ks, NULL), ks, &k) : NULL;
  Plan *p0 = plan_build(&a, &m0, &cfg, DT_F32);
  KernelSet *ks0 = fuse_build(&a, p0, false);
  Jit *j0 = ks0 ? jit_compile(llvm_emit(ks0, NULL), ks0, &k0) : NULL;
  if (!j || !j0) {
    rt_diag_flush();
    printf("%-40s FAIL (did not compile)\n", "step masks");
    return 1;
  }
  int ta = tensor_named(p, "a0") >= 0 ? tensor_named(p, "a0") : tensor_named(p, "z0");
  int td = tensor_named(p, "dr0");
  int bad = 0;
  if (ta < 0 || td < 0 || p->t[ta].buf != BUF_WORK || p->t[td].buf != BUF_WORK) {
    printf("%-40s FAIL activation or dropout output not in work\n", "step masks");
    return 1;
  }
  int64_t np = k.n_params;
  float *prm = malloc(sizeof(float) * (size_t)np), *st = calloc((size_t)np, sizeof(float));
  float *work = malloc(sizeof(float) * (size_t)k.n_work);
  float *work0 = malloc(sizeof(float) * (size_t)k0.n_work);
  float x[B * NIN], y[B];
  for (int64_t i = 0; i < np; i++) prm[i] = (float)(urand() * 2 - 1);
  for (int i = 0; i < B * NIN; i++) x[i] = (float)(urand() * 2 - 1);
  for (int i = 0; i < B; i++) y[i] = (float)urand();
  long kept = 0, total = 0, mism = 0;
  uint64_t seeds[2] = {42, 43};
  unsigned char first[B * U];
  long same_as_first = 0, compared = 0;
  for (int si = 0; si < 2; si++)
    for (int64_t step = 0; step < 4; step++) {
      MlxHyper h = {.lr = 0, .seed = seeds[si], .step = step};
      k.step(prm, st, work, x, y, B, &h);
      const float *av = work + p->t[ta].off, *dv = work + p->t[td].off;
      uint64_t s = drop_stream(seeds[si], step, 0);
      for (int r = 0; r < B; r++)
        for (int u = 0; u < U; u++) {
          int64_t idx = (int64_t)r * U + u;
          float want = (float)((double)av[idx] * drop_mask(s, idx, rate));
          float scale = (float)(1.0 / (1.0 - (double)rate));
          float want2 = drop_mask(s, idx, rate) != 0 ? av[idx] * scale : 0.0f;
          if (dv[idx] != want && dv[idx] != want2) mism++;
          bool keep = drop_mask(s, idx, rate) != 0;
          kept += keep;
          total++;
          if (si == 0 && step == 0) first[idx] = keep;
          else {
            same_as_first += first[idx] == keep;
            compared++;
          }
        }
    }
  double frac = (double)kept / (double)total;
  if (mism) {
    printf("%-40s FAIL %ld of %ld units differ from the reference mask\n", "step masks", mism,
           total);
    bad = 1;
  } else {
    printf("%-40s ok  (%ld units, all equal to the reference)\n", "step masks", total);
  }
  if (fabs(frac - (1 - rate)) > 0.02) {
    printf("%-40s FAIL kept %.4f, expected %.2f\n", "kept fraction", frac, 1 - rate);
    bad = 1;
  } else {
    printf("%-40s ok  (kept %.3f, 1-P = %.2f)\n", "kept fraction", frac, 1 - rate);
  }
  /* independent masks agree on about p^2 + (1-p)^2 = 0.58 of the units */
  double agree = (double)same_as_first / (double)compared;
  if (fabs(agree - 0.58) > 0.03) {
    printf("%-40s FAIL other steps and seeds agree on %.3f of units\n", "masks vary", agree);
    bad = 1;
  } else {
    printf("%-40s ok  (agree on %.3f, independent: 0.58)\n", "masks vary by step and seed", agree);
  }
  float out[B], out0[B];
  k.predict(prm, work, x, B, out);
  k0.predict(prm, work0, x, B, out0);
  if (memcmp(out, out0, sizeof out)) {
    printf("%-40s FAIL predict differs from the net without dropout\n", "predict");
    bad = 1;
  } else {
    printf("%-40s ok  (bit-equal to the net without dropout)\n", "predict has no dropout");
  }
  jit_free(j);
  jit_free(j0);
  free(prm), free(st), free(work), free(work0);
  arena_free(&a);
  return bad;
}

int main(void) {
  int fails = 0;
  Case cs[] = {
      {"relu .5 + mse", 2, {{6, RT_ACT_RELU}, {1, RT_ACT_IDENTITY}}, RT_LOSS_MSE, {0.5f, 0, 0, 0}},
      {"tanh .3 + bce", 2, {{6, RT_ACT_TANH}, {1, RT_ACT_SIGMOID}}, RT_LOSS_BCE, {0.3f, 0, 0, 0}},
      {"sigmoid .2 + ce", 2, {{6, RT_ACT_SIGMOID}, {3, RT_ACT_SOFTMAX}}, RT_LOSS_CE,
       {0.2f, 0, 0, 0}},
      {"identity .4 + mse", 2, {{6, RT_ACT_IDENTITY}, {1, RT_ACT_IDENTITY}}, RT_LOSS_MSE,
       {0.4f, 0, 0, 0}},
      {"softmax hidden .25 + mse", 2, {{5, RT_ACT_SOFTMAX}, {1, RT_ACT_IDENTITY}}, RT_LOSS_MSE,
       {0.25f, 0, 0, 0}},
      {"tanh .3, relu .5, sigmoid + ce", 4,
       {{6, RT_ACT_TANH}, {7, RT_ACT_RELU}, {4, RT_ACT_SIGMOID}, {3, RT_ACT_SOFTMAX}}, RT_LOSS_CE,
       {0.3f, 0.5f, 0, 0}},
  };
  for (size_t i = 0; i < sizeof cs / sizeof cs[0]; i++) {
    fails += grad_case(&cs[i], true);
    fails += grad_case(&cs[i], false);
  }
  fails += step_case();
  printf("%d failed\n", fails);
  return fails ? 1 : 0;
}
