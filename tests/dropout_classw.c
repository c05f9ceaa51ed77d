/* dropout_classw.c — class_weights in the loss kernel against a C reference:
 * one f32 step of plain sgd with lr 1 on a single dense layer (bce with a
 * sigmoid, cross_entropy with a softmax) returns the weighted summed loss
 * sum_r w[y_r] loss_r, and moves the parameters by the gradient of the
 * weighted mean (1/n) sum_r w[y_r] loss_r. A table of ones gives exactly the
 * unweighted kernels' step (to rounding). One line per check; exits 1 on any failure. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "compiler/mlxc.h"

static uint64_t rng = 88172645463325252ull;
static double urand(void) {
  rng ^= rng << 13;
  rng ^= rng >> 7;
  rng ^= rng << 17;
  return (double)(rng >> 11) / 9007199254740992.0;
}

enum { NIN = 4, N = 23, B = 32 };

static Jit *build(Arena *a, RtModelDesc *m, RtTrainCfg *cfg, MlxKernels *k) {
  Plan *p = plan_build(a, m, cfg, DT_F32);
  grad_build(a, p);
  KernelSet *ks = fuse_build(a, p, false);
  Jit *j = ks ? jit_compile(llvm_emit(ks, NULL), ks, k) : NULL;
  if (!j) rt_diag_flush();
  return j;
}

static int run_case(RtLoss loss, int K) {
  const char *name = loss == RT_LOSS_BCE ? "bce" : "cross_entropy";
  int U = loss == RT_LOSS_BCE ? 1 : K;
  RtModelDesc m = {.name = "cw", .n_in = NIN, .n_layers = 1, .loss = loss};
  m.layers[0] = (RtLayer){U, loss == RT_LOSS_BCE ? RT_ACT_SIGMOID : RT_ACT_SOFTMAX};
  char *names[1] = {"x"};
  float vals[1] = {1};
  RtTrainCfg cfg = {.name = "cw", .opt = RT_OPT_SGD, .batch = B, .n_class_w = 1,
                    .class_w_names = names, .class_w_vals = vals};
  RtTrainCfg plain = cfg;
  plain.n_class_w = 0;
  Arena a = {0};
  MlxKernels k, k0;
  Jit *j = build(&a, &m, &cfg, &k), *j0 = build(&a, &m, &plain, &k0);
  if (!j || !j0) {
    printf("%-32s FAIL (did not compile)\n", name);
    return 1;
  }
  int64_t np = k.n_params;   /* W[NIN x U] then b[U] */
  float *p0 = malloc(sizeof(float) * (size_t)np), *p1 = malloc(sizeof(float) * (size_t)np);
  float *p2 = malloc(sizeof(float) * (size_t)np);
  float *st = calloc((size_t)np, sizeof(float));
  float *work = malloc(sizeof(float) * (size_t)k.n_work);
  float x[N * NIN], y[N], cw[8];
  for (int64_t i = 0; i < np; i++) p0[i] = (float)(urand() - 0.5);
  for (int i = 0; i < N * NIN; i++) x[i] = (float)(urand() * 4 - 2);
  for (int r = 0; r < N; r++) y[r] = (float)(int)(urand() * K);
  for (int c = 0; c < K; c++) cw[c] = (float)(0.25 + 3 * urand());
  /* reference: weighted loss and gradient in double */
  double want = 0, *g = calloc((size_t)np, sizeof(double));
  for (int r = 0; r < N; r++) {
    double z[8], d[8];
    for (int u = 0; u < U; u++) {
      z[u] = p0[NIN * U + u];
      for (int i = 0; i < NIN; i++) z[u] += (double)x[r * NIN + i] * p0[i * U + u];
    }
    int cls = (int)y[r];
    double w = cw[cls];
    if (loss == RT_LOSS_BCE) {
      want += w * (fmax(z[0], 0) - z[0] * cls + log1p(exp(-fabs(z[0]))));
      d[0] = w * (1 / (1 + exp(-z[0])) - cls) / N;
    } else {
      double mx = -1e300, s = 0;
      for (int u = 0; u < U; u++) mx = fmax(mx, z[u]);
      for (int u = 0; u < U; u++) s += exp(z[u] - mx);
      want += w * (mx + log(s) - z[cls]);
      for (int u = 0; u < U; u++) d[u] = w * (exp(z[u] - mx) / s - (u == cls)) / N;
    }
    for (int u = 0; u < U; u++) {
      for (int i = 0; i < NIN; i++) g[i * U + u] += (double)x[r * NIN + i] * d[u];
      g[NIN * U + u] += d[u];
    }
  }
  int bad = 0;
  memcpy(p1, p0, sizeof(float) * (size_t)np);
  MlxHyper h = {.lr = 1, .class_w = cw};
  double got = k.step(p1, st, work, x, y, N, &h);
  if (fabs(got - want) > 1e-4 * fmax(1, fabs(want))) {
    printf("%-32s FAIL loss %.7g, reference %.7g\n", name, got, want);
    bad = 1;
  }
  double worst = 0;
  for (int64_t i = 0; i < np; i++) {
    double step = (double)p0[i] - (double)p1[i];
    double err = fabs(step - g[i]) / fmax(fabs(g[i]), 1e-2);
    if (err > worst) worst = err;
  }
  if (worst > 1e-4) {
    printf("%-32s FAIL gradient off by %.2e (relative)\n", name, worst);
    bad = 1;
  }
  if (!bad)
    printf("%-32s ok  (loss %.6g, gradient within %.1e)\n", name, got, worst);
  /* a table of ones: the unweighted step */
  float ones[8] = {1, 1, 1, 1, 1, 1, 1, 1};
  memcpy(p1, p0, sizeof(float) * (size_t)np);
  memcpy(p2, p0, sizeof(float) * (size_t)np);
  memset(st, 0, sizeof(float) * (size_t)np);
  MlxHyper h1 = {.lr = 1, .class_w = ones}, h0 = {.lr = 1};
  float l1 = k.step(p1, st, work, x, y, N, &h1);
  memset(st, 0, sizeof(float) * (size_t)np);
  float *work0 = malloc(sizeof(float) * (size_t)k0.n_work);
  float l0 = k0.step(p2, st, work0, x, y, N, &h0);
  char nm[64];
  snprintf(nm, sizeof nm, "%s, weights 1", name);
  /* fast-math may reassociate the multiply by 1: equal to rounding */
  double diff = fabs((double)l1 - l0) / fmax(1, fabs(l0));
  for (int64_t i = 0; i < np; i++) diff = fmax(diff, fabs((double)p1[i] - p2[i]));
  if (diff > 1e-6) {
    printf("%-32s FAIL differs from the unweighted step by %.2e\n", nm, diff);
    bad = 1;
  } else {
    printf("%-32s ok  (the unweighted step, within %.0e)\n", nm, 1e-6);
  }
  jit_free(j);
  jit_free(j0);
  free(p0), free(p1), free(p2), free(st), free(work), free(work0), free(g);
  arena_free(&a);
  return bad;
}

int main(void) {
  int fails = run_case(RT_LOSS_BCE, 2) + run_case(RT_LOSS_CE, 4);
  printf("%d failed\n", fails);
  return fails ? 1 : 0;
}
