/* ref_model.h — the C reference the back-end drivers (gradcheck.c,
 * dropout_check.c) compare generated kernels with: the summed loss of a dense
 * net by the textbook formulas, with dropout's mask hash (the function
 * documented in compiler/llvm_emit.c) when masked, and a test RNG. */
#ifndef TESTS_REF_MODEL_H
#define TESTS_REF_MODEL_H

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "compiler/mlxc.h"

static uint64_t rng = 88172645463325252ull;
static inline double urand(void) {   /* xorshift64, uniform [0, 1) */
  rng ^= rng << 13;
  rng ^= rng >> 7;
  rng ^= rng << 17;
  return (double)(rng >> 11) / 9007199254740992.0;
}

static inline uint64_t mix64(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}
static inline uint64_t drop_stream(uint64_t seed, int64_t step, int layer) {
  return mix64(seed ^ mix64((uint64_t)step * 256 + (uint64_t)layer));
}
/* 0 or 1/(1-rate) for element idx (row * units + unit) of the tile */
static inline double drop_mask(uint64_t s, int64_t idx, double rate) {
  uint64_t h = mix64(s + ((uint64_t)idx + 1) * 0x9e3779b97f4a7c15ull);
  return (h >> 40) >= (uint64_t)(rate * 16777216.0) ? 1.0 / (1.0 - rate) : 0.0;
}

static inline double ref_act(RtAct a, double z) {
  switch (a) {
  case RT_ACT_RELU: return z > 0 ? z : 0;
  case RT_ACT_SIGMOID: return 1 / (1 + exp(-z));
  case RT_ACT_TANH: return tanh(z);
  default: return z;
  }
}

/* Layers up to this wide (inputs and units). */
#define REF_MAX_WIDTH 1024

/* Summed loss over n rows with the masks of (seed, step 0) when masked. */
static inline double ref_loss(const RtModelDesc *m, const double *p, const double *x, const double *y,
                       int n, bool masked, uint64_t seed, double *min_gap) {
  int64_t wo[RT_MAX_LAYERS], bo[RT_MAX_LAYERS];
  rt_param_layout(m, wo, bo);
  double total = 0;
  *min_gap = 1e9;
  for (int r = 0; r < n; r++) {
    double cur[REF_MAX_WIDTH] = {0}, nxt[REF_MAX_WIDTH];
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
      double rate = m->dropout[l];
      if (masked && rate > 0 && !last) {
        uint64_t s = drop_stream(seed, 0, l);
        for (int j = 0; j < u; j++) nxt[j] *= drop_mask(s, (int64_t)r * u + j, rate);
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

/* The compiled gradient g of the mean loss against central differences of
 * grad's own loss, each parameter moved by 1e-5 in turn (relative error,
 * floor 1e-4). Returns the worst error; the first parameter off by more than
 * 1e-6 is printed under name (padded to width) and sets *bad, unless *bad
 * was set already. */
static inline double ref_fd_check(MlxGradFn grad, double *prm, double *scratch, double *work,
                                  const double *x, const double *y, int n, int np,
                                  const double *g, const char *name, int width, int *bad) {
  const double h = 1e-5;
  double worst = 0;
  for (int i = 0; i < np; i++) {
    double keep = prm[i];
    prm[i] = keep + h;
    double lp = grad(prm, scratch, work, x, y, n) / n;
    prm[i] = keep - h;
    double lm = grad(prm, scratch, work, x, y, n) / n;
    prm[i] = keep;
    double fd = (lp - lm) / (2 * h);
    double err = fabs(fd - g[i]) / fmax(fabs(fd) + fabs(g[i]), 1e-4);
    if (err > worst) worst = err;
    if (err > 1e-6) {
      if (!*bad)
        printf("%-*s FAIL param %d: grad %.12g, finite difference %.12g\n", width, name, i, g[i],
               fd);
      *bad = 1;
    }
  }
  return worst;
}

#endif
