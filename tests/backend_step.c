/* backend_step.c — checks the f32 kernels the runtime trains with: the fused
 * step (forward, loss, backward, optimizer update) against an update computed
 * here in C from the gradient entry, for sgd, sgd with momentum and adam;
 * predict over many tiles against a forward pass in C; and that a few
 * hundred steps fit a linearly separable toy problem. Exits 1 on failure. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "compiler/mlxc.h"

static uint64_t rng = 0x9E3779B97F4A7C15ull;
static double urand(void) {
  rng ^= rng << 13;
  rng ^= rng >> 7;
  rng ^= rng << 17;
  return (double)(rng >> 11) / 9007199254740992.0;
}

#include "check.h"

#include "jit_util.h"

/* Forward pass of one row in double, as predict reports it. */
static void ref_forward(const RtModelDesc *m, const float *p, const float *x, double *out) {
  int64_t wo[RT_MAX_LAYERS], bo[RT_MAX_LAYERS];
  rt_param_layout(m, wo, bo);
  double cur[256], nxt[256];
  int in = m->n_in;
  for (int k = 0; k < in; k++) cur[k] = x[k];
  for (int l = 0; l < m->n_layers; l++) {
    int u = m->layers[l].units;
    for (int j = 0; j < u; j++) {
      double z = p[bo[l] + j];
      for (int k = 0; k < in; k++) z += cur[k] * p[wo[l] + k * u + j];
      nxt[j] = z;
    }
    switch (m->layers[l].act) {
    case RT_ACT_RELU: for (int j = 0; j < u; j++) nxt[j] = nxt[j] > 0 ? nxt[j] : 0; break;
    case RT_ACT_SIGMOID: for (int j = 0; j < u; j++) nxt[j] = 1 / (1 + exp(-nxt[j])); break;
    case RT_ACT_TANH: for (int j = 0; j < u; j++) nxt[j] = tanh(nxt[j]); break;
    case RT_ACT_SOFTMAX: {
      double mx = -1e300, s = 0;
      for (int j = 0; j < u; j++) mx = fmax(mx, nxt[j]);
      for (int j = 0; j < u; j++) s += exp(nxt[j] - mx);
      for (int j = 0; j < u; j++) nxt[j] = exp(nxt[j] - mx) / s;
      break;
    }
    default: break;
    }
    memcpy(cur, nxt, sizeof(double) * (size_t)u);
    in = u;
  }
  memcpy(out, cur, sizeof(double) * (size_t)in);
}

static bool close_to(double a, double b, double tol) {
  return fabs(a - b) <= tol * fmax(1, fmax(fabs(a), fabs(b)));
}

/* Three steps of step() against the same update computed in C from grad(). */
static void check_step(const char *name, RtOpt opt, float momentum) {
  RtModelDesc m = {.name = "net", .n_in = 5, .n_layers = 3, .loss = RT_LOSS_CE,
                   .layers = {{7, RT_ACT_TANH}, {19, RT_ACT_RELU}, {3, RT_ACT_SOFTMAX}}};
  RtTrainCfg cfg = {.name = "t", .opt = opt, .batch = 8, .lr = 0.05f, .momentum = momentum,
                    .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-8f};
  Compiled c;
  if (!compile(&c, &m, &cfg, true)) {
    CHECK(0, "%s: did not compile", name);
    return;
  }
  MlxKernels *k = &c.k;
  int np = (int)k->n_params, n = 6;
  CHECK(k->n_state == (opt == RT_OPT_ADAM ? 2 : 1) * k->n_params, "%s: n_state %lld", name,
        (long long)k->n_state);
  float *ps = malloc(sizeof(float) * (size_t)np), *pr = malloc(sizeof(float) * (size_t)np);
  float *ss = calloc((size_t)k->n_state, sizeof(float));
  double *s1 = calloc((size_t)np, sizeof(double)), *s2 = calloc((size_t)np, sizeof(double));
  float *g = malloc(sizeof(float) * (size_t)np), *work = malloc(sizeof(float) * (size_t)k->n_work);
  float x[8 * 5], y[8];
  for (int i = 0; i < np; i++) ps[i] = pr[i] = (float)(urand() - 0.5);
  for (int i = 0; i < 8 * 5; i++) x[i] = (float)(urand() * 2 - 1);
  for (int r = 0; r < 8; r++) y[r] = (float)(int)(urand() * 3);
  double worst = 0;
  for (int t = 1; t <= 3; t++) {
    MlxHyper h = {.lr = cfg.lr, .momentum = momentum, .beta1 = cfg.beta1, .beta2 = cfg.beta2,
                  .eps = cfg.eps, .bc1 = 1 - powf(cfg.beta1, (float)t),
                  .bc2 = 1 - powf(cfg.beta2, (float)t)};
    double gl = k->grad(pr, g, work, x, y, n);
    float sl = k->step(ps, ss, work, x, y, n, &h);
    CHECK(close_to(gl, sl, 1e-5), "%s: step %d loss %g, grad entry %g", name, t, sl, gl);
    for (int i = 0; i < np; i++) {
      if (opt == RT_OPT_ADAM) {
        s1[i] = h.beta1 * s1[i] + (1 - h.beta1) * g[i];
        s2[i] = h.beta2 * s2[i] + (1 - h.beta2) * (double)g[i] * g[i];
        pr[i] = (float)(pr[i] - h.lr * (s1[i] / h.bc1) / (sqrt(s2[i] / h.bc2) + h.eps));
      } else {
        s1[i] = momentum * s1[i] + g[i];
        pr[i] = (float)(pr[i] - h.lr * s1[i]);
      }
    }
    for (int i = 0; i < np; i++) {
      double d = fabs(ps[i] - pr[i]);
      if (d > worst) worst = d;
    }
  }
  CHECK(worst < 1e-5, "%s: parameters differ from the reference update by %g", name, worst);
  printf("step %-14s ok  (%d params, 3 steps, max |difference| %.1e)\n", name, np, worst);
  free(ps), free(pr), free(ss), free(s1), free(s2), free(g), free(work);
  release(&c);
}

/* predict on 2 full tiles and a partial one equals the C forward pass. */
static void check_predict(RtLoss loss, RtAct last, int units) {
  RtModelDesc m = {.name = "net", .n_in = 5, .n_layers = 2, .loss = loss,
                   .layers = {{11, RT_ACT_SIGMOID}, {units, last}}};
  RtTrainCfg cfg = {.name = "t", .opt = RT_OPT_SGD, .batch = 8};
  Compiled c;
  if (!compile(&c, &m, &cfg, false)) {
    CHECK(0, "predict: did not compile");
    return;
  }
  int n = 19, np = (int)c.k.n_params;
  float *p = malloc(sizeof(float) * (size_t)np), *work = malloc(sizeof(float) * (size_t)c.k.n_work);
  float x[19 * 5], out[19 * 8], one[8];
  for (int i = 0; i < np; i++) p[i] = (float)(urand() * 2 - 1);
  for (int i = 0; i < n * 5; i++) x[i] = (float)(urand() * 4 - 2);
  c.k.predict(p, work, x, n, out);
  double worst = 0;
  for (int r = 0; r < n; r++) {
    double want[8];
    ref_forward(&m, p, x + r * 5, want);
    c.k.predict(p, work, x + r * 5, 1, one);
    for (int j = 0; j < units; j++) {
      worst = fmax(worst, fabs(out[r * units + j] - want[j]));
      /* Tiles may take a vector path a single row does not: equal to rounding. */
      CHECK(fabs(out[r * units + j] - one[j]) < 1e-6, "predict: row %d: %g with n=%d, %g with n=1",
            r, out[r * units + j], n, one[j]);
    }
  }
  CHECK(worst < 1e-5, "predict %s: differs from the C forward pass by %g", plan_loss_name[loss], worst);
  printf("predict %-12s ok  (%d rows in tiles of 8, max |difference| %.1e)\n", plan_loss_name[loss], n, worst);
  c.k.predict(p, work, x, 0, out);   /* no rows: nothing happens */
  free(p), free(work);
  release(&c);
}

/* Two Gaussian blobs either side of a line; a few hundred adam steps drive
 * the mean bce loss near zero. */
static void check_train(void) {
  RtModelDesc m = {.name = "toy", .n_in = 2, .n_layers = 2, .loss = RT_LOSS_BCE,
                   .layers = {{8, RT_ACT_RELU}, {1, RT_ACT_SIGMOID}}};
  RtTrainCfg cfg = {.name = "t", .opt = RT_OPT_ADAM, .batch = 16};
  Compiled c;
  if (!compile(&c, &m, &cfg, false)) {
    CHECK(0, "train: did not compile");
    return;
  }
  enum { N = 64 };
  float x[N * 2], y[N];
  for (int r = 0; r < N; r++) {
    y[r] = (float)(r & 1);
    x[r * 2] = (float)(urand() - 0.5 + (y[r] ? 1.5 : -1.5));
    x[r * 2 + 1] = (float)(urand() * 2 - 1);
  }
  int np = (int)c.k.n_params;
  float *p = malloc(sizeof(float) * (size_t)np), *work = malloc(sizeof(float) * (size_t)c.k.n_work);
  float *st = calloc((size_t)c.k.n_state, sizeof(float));
  for (int i = 0; i < np; i++) p[i] = (float)((urand() - 0.5) * 0.5);
  double first = 0, last = 0;
  for (int t = 1; t <= 300; t++) {
    MlxHyper h = {.lr = 0.02f, .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-8f,
                  .bc1 = 1 - powf(0.9f, (float)t), .bc2 = 1 - powf(0.999f, (float)t)};
    int off = ((t - 1) % (N / 16)) * 16;
    double l = c.k.step(p, st, work, x + off * 2, y + off, 16, &h) / 16;
    if (t <= 4) first += l / 4;
    if (t > 296) last += l / 4;
  }
  float out[N];
  c.k.predict(p, work, x, N, out);
  int right = 0;
  for (int r = 0; r < N; r++) right += (out[r] > 0.5f) == (y[r] > 0.5f);
  CHECK(last < 0.1 * first && right == N, "train: loss %.4f -> %.4f, %d/%d right", first, last,
        right, N);
  printf("train toy bce          ok  (mean loss %.4f -> %.4f, %d/%d right)\n", first, last, right, N);
  free(p), free(work), free(st);
  release(&c);
}

int main(void) {
  check_step("sgd", RT_OPT_SGD, 0);
  check_step("sgd momentum", RT_OPT_SGD, 0.9f);
  check_step("adam", RT_OPT_ADAM, 0);
  check_predict(RT_LOSS_CE, RT_ACT_SOFTMAX, 4);
  check_predict(RT_LOSS_BCE, RT_ACT_SIGMOID, 1);
  check_predict(RT_LOSS_MSE, RT_ACT_IDENTITY, 1);
  check_train();
  printf("%d failed\n", failures);
  return failures ? 1 : 0;
}
