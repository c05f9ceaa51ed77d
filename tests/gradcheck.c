/* gradcheck.c — checks the back end's reverse-mode gradients: for every
 * hidden activation and every loss, a small net compiled in f64 with a
 * gradient entry must agree with central finite differences of its own loss,
 * and its loss must agree with a forward pass written here in C.
 * One line per case; exits 1 on any failure. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "compiler/mlxc.h"

static uint64_t rng = 88172645463325252ull;
static double urand(void) {   /* xorshift64, uniform [0, 1) */
  rng ^= rng << 13;
  rng ^= rng >> 7;
  rng ^= rng << 17;
  return (double)(rng >> 11) / 9007199254740992.0;
}

static double ref_act(RtAct a, double z) {
  switch (a) {
  case RT_ACT_RELU: return z > 0 ? z : 0;
  case RT_ACT_SIGMOID: return 1 / (1 + exp(-z));
  case RT_ACT_TANH: return tanh(z);
  default: return z;
  }
}

/* Summed loss over n rows by the textbook formulas; *min_gap gets the
 * smallest |pre-activation| of relu units and |z - y| for mae (kinks). */
static double ref_loss(const RtModelDesc *m, const double *p, const double *x, const double *y,
                       int n, double *min_gap) {
  int64_t wo[RT_MAX_LAYERS], bo[RT_MAX_LAYERS];
  rt_param_layout(m, wo, bo);
  double total = 0;
  *min_gap = 1e9;
  for (int r = 0; r < n; r++) {
    double cur[64], nxt[64];
    int in = m->n_in;
    for (int k = 0; k < in; k++) cur[k] = x[r * in + k];
    for (int l = 0; l < m->n_layers; l++) {
      int u = m->layers[l].units;
      for (int j = 0; j < u; j++) {
        double z = p[bo[l] + j];
        for (int k = 0; k < in; k++) z += cur[k] * p[wo[l] + k * u + j];
        nxt[j] = z;
      }
      bool last = l == m->n_layers - 1;
      RtAct a = m->layers[l].act;
      if (a == RT_ACT_SOFTMAX) {
        if (!last) {
          double mx = -1e300, s = 0;
          for (int j = 0; j < u; j++) mx = fmax(mx, nxt[j]);
          for (int j = 0; j < u; j++) s += exp(nxt[j] - mx);
          for (int j = 0; j < u; j++) nxt[j] = exp(nxt[j] - mx) / s;
        }
      } else if (!(last && m->loss == RT_LOSS_BCE)) {
        for (int j = 0; j < u; j++) {
          if (a == RT_ACT_RELU && fabs(nxt[j]) < *min_gap) *min_gap = fabs(nxt[j]);
          nxt[j] = ref_act(a, nxt[j]);
        }
      }
      memcpy(cur, nxt, sizeof(double) * (size_t)u);
      in = u;
    }
    double z = cur[0], t = y[r];
    switch (m->loss) {
    case RT_LOSS_MSE: total += (z - t) * (z - t); break;
    case RT_LOSS_MAE:
      total += fabs(z - t);
      if (fabs(z - t) < *min_gap) *min_gap = fabs(z - t);
      break;
    case RT_LOSS_BCE: total += fmax(z, 0) - z * t + log1p(exp(-fabs(z))); break;
    case RT_LOSS_CE: {
      double mx = -1e300, s = 0;
      for (int j = 0; j < in; j++) mx = fmax(mx, cur[j]);
      for (int j = 0; j < in; j++) s += exp(cur[j] - mx);
      total += mx + log(s) - cur[(int)t];
      break;
    }
    }
  }
  return total;
}

typedef struct Case {
  const char *name;
  int n_layers;
  RtLayer layers[4];
  RtLoss loss;
} Case;

static int run_case(const Case *c) {
  RtModelDesc m = {.name = (char *)c->name, .n_in = 5, .n_layers = c->n_layers, .loss = c->loss};
  memcpy(m.layers, c->layers, sizeof(RtLayer) * (size_t)c->n_layers);
  RtTrainCfg cfg = {.name = "gc", .opt = RT_OPT_ADAM, .batch = 9};
  Arena a = {0};
  MlxKernels k;
  Plan *p = plan_build(&a, &m, &cfg, DT_F64);
  grad_build(&a, p);
  KernelSet *ks = fuse_build(&a, p, true);
  Jit *j = jit_compile(llvm_emit(ks, NULL), ks, &k);
  if (!j || !k.grad) {
    rt_diag_flush();
    printf("%-28s FAIL (did not compile)\n", c->name);
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
  /* Redraw parameters until no relu input or mae residual sits on a kink. */
  for (int tries = 0; tries < 100; tries++) {
    for (int i = 0; i < np; i++) prm[i] = urand() * 1.6 - 0.8;
    ref_loss(&m, prm, x, y, n, &gap);
    if (gap > 1e-3) break;
  }
  if (gap <= 1e-3) printf("%-28s (no kink-free parameters found; kinks may disturb)\n", c->name);
  double loss = k.grad(prm, g, work, x, y, n);
  double want = ref_loss(&m, prm, x, y, n, &gap);
  int bad = 0;
  double worst = 0;
  if (fabs(loss - want) > 1e-9 * fmax(1, fabs(want))) {
    printf("%-28s FAIL loss %.15g, reference %.15g\n", c->name, loss, want);
    bad = 1;
  }
  const double h = 1e-5;
  for (int i = 0; i < np; i++) {
    double keep = prm[i];
    prm[i] = keep + h;
    double lp = k.grad(prm, scratch, work, x, y, n) / n;
    prm[i] = keep - h;
    double lm = k.grad(prm, scratch, work, x, y, n) / n;
    prm[i] = keep;
    double fd = (lp - lm) / (2 * h);
    double err = fabs(fd - g[i]) / fmax(fabs(fd) + fabs(g[i]), 1e-4);
    if (err > worst) worst = err;
    if (err > 1e-6) {
      if (!bad) printf("%-28s FAIL param %d: grad %.12g, finite difference %.12g\n", c->name, i, g[i], fd);
      bad = 1;
    }
  }
  if (!bad) printf("%-28s ok  (%d params, worst relative error %.1e)\n", c->name, np, worst);
  jit_free(j);
  free(prm), free(g), free(scratch), free(work);
  arena_free(&a);
  return bad;
}

int main(void) {
  const RtAct hidden[] = {RT_ACT_IDENTITY, RT_ACT_RELU, RT_ACT_SIGMOID, RT_ACT_TANH};
  const char *hname[] = {"identity", "relu", "sigmoid", "tanh"};
  const RtLoss losses[] = {RT_LOSS_MSE, RT_LOSS_MAE, RT_LOSS_BCE, RT_LOSS_CE};
  const char *lname[] = {"mse", "mae", "bce", "cross_entropy"};
  int fails = 0;
  char names[32][64];
  int nc = 0;
  for (int a = 0; a < 4; a++)
    for (int l = 0; l < 4; l++) {
      Case c = {.n_layers = 2, .loss = losses[l]};
      snprintf(names[nc], sizeof names[nc], "%s + %s", hname[a], lname[l]);
      c.name = names[nc++];
      c.layers[0] = (RtLayer){4, hidden[a]};
      c.layers[1] = losses[l] == RT_LOSS_CE ? (RtLayer){3, RT_ACT_SOFTMAX}
                  : losses[l] == RT_LOSS_BCE ? (RtLayer){1, RT_ACT_SIGMOID}
                                             : (RtLayer){1, RT_ACT_IDENTITY};
      fails += run_case(&c);
    }
  Case deep = {"tanh, relu, sigmoid + ce", 4,
               {{6, RT_ACT_TANH}, {5, RT_ACT_RELU}, {3, RT_ACT_SIGMOID}, {3, RT_ACT_SOFTMAX}},
               RT_LOSS_CE};
  fails += run_case(&deep);
  Case hsm = {"softmax hidden + mse", 2, {{4, RT_ACT_SOFTMAX}, {1, RT_ACT_IDENTITY}}, RT_LOSS_MSE};
  fails += run_case(&hsm);
  Case sig_out = {"tanh + sigmoid out + mse", 2, {{4, RT_ACT_TANH}, {1, RT_ACT_SIGMOID}}, RT_LOSS_MSE};
  fails += run_case(&sig_out);
  Case wide = {"relu 37 + ce 5", 2, {{37, RT_ACT_RELU}, {5, RT_ACT_SOFTMAX}}, RT_LOSS_CE};
  fails += run_case(&wide);
  Case lin = {"no hidden layer + bce", 1, {{1, RT_ACT_SIGMOID}}, RT_LOSS_BCE};
  fails += run_case(&lin);
  Case lin2 = {"no hidden layer + mse", 1, {{1, RT_ACT_IDENTITY}}, RT_LOSS_MSE};
  fails += run_case(&lin2);
  printf("%d failed\n", fails);
  return fails ? 1 : 0;
}
