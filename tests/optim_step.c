/* optim_step.c — checks the fused optimizer updates the runtime trains with:
 * for sgd (momentum, nesterov), adam, adamw, adagrad and rmsprop, with and
 * without l1/l2 penalties and clip value / clip norm, five steps of the JIT's
 * step entry against the same update computed here in C (double) from the
 * gradient entry, PyTorch's formulas. Also that clip norm leaves the fused
 * path (the step runs the gradient kernels) and that a penalty touches the
 * weights only. Exits 1 on failure. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "compiler/mlxc.h"

static uint64_t rng = 0x2545F4914F6CDD1Dull;
static double urand(void) {
  rng ^= rng << 13;
  rng ^= rng >> 7;
  rng ^= rng << 17;
  return (double)(rng >> 11) / 9007199254740992.0;
}

#include "check.h"

#include "jit_util.h"

static bool close_to(double a, double b, double tol) {
  return fabs(a - b) <= tol * fmax(1, fmax(fabs(a), fabs(b)));
}

static double sgn(double v) { return v > 0 ? 1 : v < 0 ? -1 : 0; }

/* The reference step on parameters pr (kept as float, as the kernels keep
 * them) with state s1, s2 in double, from the gradient g of the mean loss;
 * pen1/pen2: each parameter's l1/l2 (0 for biases). Returns the clip norm
 * scale (1 when not clipping). */
static double ref_step(const RtTrainCfg *cfg, const MlxHyper *h, const bool *is_w,
                       const double *pen1, const double *pen2, int np, float *pr, double *s1,
                       double *s2, const float *g) {
  double *gg = malloc(sizeof(double) * (size_t)np), ss = 0;
  for (int i = 0; i < np; i++) {
    double v = g[i];
    if (is_w[i]) v += pen1[i] * sgn(pr[i]) + pen2[i] * (double)pr[i];
    if (cfg->clip == RT_CLIP_VALUE) v = fmin(fmax(v, -h->clip), h->clip);
    gg[i] = v;
    ss += v * v;
  }
  double scale = 1;
  if (cfg->clip == RT_CLIP_NORM) {
    double coef = h->clip / (sqrt(ss) + 1e-6);
    if (coef < 1) scale = coef;
  }
  for (int i = 0; i < np; i++) {
    double gi = gg[i] * scale, w = pr[i];
    switch (cfg->opt) {
    case RT_OPT_ADAM:
    case RT_OPT_ADAMW:
      if (cfg->opt == RT_OPT_ADAMW && is_w[i]) w *= 1 - (double)h->lr * h->weight_decay;
      s1[i] = h->beta1 * s1[i] + (1 - (double)h->beta1) * gi;
      s2[i] = h->beta2 * s2[i] + (1 - (double)h->beta2) * gi * gi;
      w -= h->lr * (s1[i] / h->bc1) / (sqrt(s2[i] / h->bc2) + h->eps);
      break;
    case RT_OPT_ADAGRAD:
      s1[i] += gi * gi;
      w -= h->lr * gi / (sqrt(s1[i]) + h->eps);
      break;
    case RT_OPT_RMSPROP:
      s1[i] = h->rho * s1[i] + (1 - (double)h->rho) * gi * gi;
      s2[i] = h->momentum * s2[i] + gi / (sqrt(s1[i]) + h->eps);
      w -= h->lr * s2[i];
      break;
    default:
      s1[i] = h->momentum * s1[i] + gi;
      w -= h->lr * (cfg->nesterov ? gi + h->momentum * s1[i] : s1[i]);
      break;
    }
    pr[i] = (float)w;
  }
  free(gg);
  return scale;
}

/* The hidden layers of the network check() steps: 7 and 9 units take the
 * kernels' general loops, 16 and 32 their register-blocked ones. */
static RtLayer hidden[2] = {{7, RT_ACT_TANH}, {9, RT_ACT_RELU}};

/* Per-layer `l1`/`l2` the next check() compiles into its model (the model
 * statements after a dense): reg bit 1 sets l1, bit 2 l2. */
static struct {
  unsigned char reg[3];
  float l1[3], l2[3];
} layer_pen;

/* Five steps of step() against ref_step, on a 5-h1-h2-3 softmax network. */
/* Parts the next check() splits each step into (cfg.threads): above 1 the
 * kernels are unfused and a step is grad_rows on each part's rows, the
 * parts' gradients summed in order, then update. */
static int split_parts = 1;

/* One step as rt_train runs it with `parts` threads (here one after another). */
static float split_step(const MlxKernels *k, float *params, float *state, float *work,
                        const float *x, const float *y, int n, const MlxHyper *h, int parts) {
  int64_t rows[8];
  for (int r = 0; r < n; r++) rows[r] = r;
  float *pw = malloc(sizeof(float) * (size_t)k->n_work * (size_t)parts);
  float loss = 0;
  for (int t = 0; t < parts; t++) {
    int lo = n * t / parts, hi = n * (t + 1) / parts;
    loss += k->grad_rows(params, pw + (size_t)t * (size_t)k->n_work, x, y, rows + lo, hi - lo, n, h);
  }
  float *g0 = pw + k->grad_off;
  for (int t = 1; t < parts; t++)
    for (int64_t i = 0; i < k->n_params; i++) g0[i] += pw[(size_t)t * (size_t)k->n_work + (size_t)k->grad_off + (size_t)i];
  k->update(params, state, g0, h);
  memcpy(work, pw, sizeof(float) * (size_t)k->n_work);
  free(pw);
  return loss;
}

static void check(const char *name, RtTrainCfg cfg) {
  RtModelDesc m = {.name = "net", .n_in = 5, .n_layers = 3, .loss = RT_LOSS_CE,
                   .layers = {hidden[0], hidden[1], {3, RT_ACT_SOFTMAX}}};
  memcpy(m.layer_reg, layer_pen.reg, sizeof layer_pen.reg);
  memcpy(m.layer_l1, layer_pen.l1, sizeof layer_pen.l1);
  memcpy(m.layer_l2, layer_pen.l2, sizeof layer_pen.l2);
  cfg.name = "t";
  cfg.batch = 8;
  cfg.threads = split_parts;
  Compiled c;
  if (!compile(&c, &m, &cfg, true)) {
    CHECK(0, "%s: did not compile", name);
    return;
  }
  MlxKernels *k = &c.k;
  int np = (int)k->n_params, n = 7;
  int slots = plan_opt_slots(cfg.opt);
  CHECK(k->n_state == slots * k->n_params, "%s: n_state %lld", name, (long long)k->n_state);
  /* clip norm or parts: the step runs unfused gradient kernels, no update kernel */
  bool fused = false;
  for (int i = 0; i < c.ks->nstep; i++) fused |= c.ks->step[i]->update;
  CHECK(fused == (cfg.clip != RT_CLIP_NORM && cfg.threads <= 1), "%s: step kernels %s fused", name,
        fused ? "are" : "are not");
  int64_t wo[RT_MAX_LAYERS], bo[RT_MAX_LAYERS];
  rt_param_layout(&m, wo, bo);
  bool *is_w = calloc((size_t)np, 1);
  double *pen1 = calloc((size_t)np, sizeof(double)), *pen2 = calloc((size_t)np, sizeof(double));
  int in = m.n_in;
  for (int l = 0; l < m.n_layers; l++) {
    for (int64_t i = 0; i < (int64_t)in * m.layers[l].units; i++) {
      is_w[wo[l] + i] = true;
      pen1[wo[l] + i] = m.layer_reg[l] & 1 ? m.layer_l1[l] : cfg.l1;
      pen2[wo[l] + i] = m.layer_reg[l] & 2 ? m.layer_l2[l] : cfg.l2;
    }
    in = m.layers[l].units;
  }
  float *ps = malloc(sizeof(float) * (size_t)np), *pr = malloc(sizeof(float) * (size_t)np);
  float *ss = calloc((size_t)k->n_state, sizeof(float));
  double *s1 = calloc((size_t)np, sizeof(double)), *s2 = calloc((size_t)np, sizeof(double));
  float *g = malloc(sizeof(float) * (size_t)np), *work = malloc(sizeof(float) * (size_t)k->n_work);
  float x[8 * 5], y[8];
  for (int i = 0; i < np; i++) ps[i] = pr[i] = (float)(urand() - 0.5);
  for (int i = 0; i < 8 * 5; i++) x[i] = (float)(urand() * 4 - 2);
  for (int r = 0; r < 8; r++) y[r] = (float)(int)(urand() * 3);
  /* step_rows on rows perm of x must equal step on those rows gathered */
  int64_t perm[8];
  float xp[8 * 5], yp[8];
  float *pq = malloc(sizeof(float) * (size_t)np), *sq = calloc((size_t)k->n_state, sizeof(float));
  memcpy(pq, ps, sizeof(float) * (size_t)np);
  for (int r = 0; r < 8; r++) {
    perm[r] = (r * 3 + 1) % 8;
    memcpy(xp + r * 5, x + perm[r] * 5, sizeof(float) * 5);
    yp[r] = y[perm[r]];
  }
  float *ws = malloc(sizeof(float) * (size_t)k->n_work);
  for (int t = 1; t <= 3; t++) {
    MlxHyper h = {.lr = cfg.lr, .momentum = cfg.momentum, .beta1 = cfg.beta1,
                  .beta2 = cfg.beta2, .eps = cfg.eps, .bc1 = 1 - powf(cfg.beta1, (float)t),
                  .bc2 = 1 - powf(cfg.beta2, (float)t), .weight_decay = cfg.weight_decay,
                  .rho = cfg.rho, .l1 = cfg.l1, .l2 = cfg.l2, .clip = cfg.clip_bound};
    float l1 = k->step(ps, ss, work, xp, yp, n, &h);
    float l2 = k->step_rows(pq, sq, ws, x, y, perm, n, &h);
    CHECK(l1 == l2, "%s: step_rows loss %g, step on the gathered rows %g", name, l2, l1);
  }
  int differ = 0;   /* == rather than memcmp: a zero's sign is not a difference */
  for (int i = 0; i < np; i++) differ += ps[i] != pq[i];
  CHECK(!differ, "%s: step_rows and step on the gathered rows differ in %d parameters", name,
        differ);
  for (int i = 0; i < np; i++) ps[i] = pr[i];
  memset(ss, 0, sizeof(float) * (size_t)k->n_state);
  free(pq), free(sq), free(ws);
  double worst = 0, moved = 0;
  for (int t = 1; t <= 5; t++) {
    MlxHyper h = {.lr = cfg.lr, .momentum = cfg.momentum, .beta1 = cfg.beta1,
                  .beta2 = cfg.beta2, .eps = cfg.eps, .bc1 = 1 - powf(cfg.beta1, (float)t),
                  .bc2 = 1 - powf(cfg.beta2, (float)t), .weight_decay = cfg.weight_decay,
                  .rho = cfg.rho, .l1 = cfg.l1, .l2 = cfg.l2, .clip = cfg.clip_bound};
    double gl = k->grad(pr, g, work, x, y, n);
    float sl = split_parts > 1 ? split_step(k, ps, ss, work, x, y, n, &h, split_parts)
                               : k->step(ps, ss, work, x, y, n, &h);
    CHECK(close_to(gl, sl, 1e-5), "%s: step %d loss %g, grad entry %g", name, t, sl, gl);
    float before = pr[0];
    double scale = ref_step(&cfg, &h, is_w, pen1, pen2, np, pr, s1, s2, g);
    if (strstr(name, "(scales)")) CHECK(scale < 0.5, "%s: norm scale %g", name, scale);
    if (strstr(name, "(no scaling)")) CHECK(scale == 1, "%s: norm scale %g", name, scale);
    moved += fabs(pr[0] - before);
    for (int i = 0; i < np; i++) worst = fmax(worst, fabs(ps[i] - pr[i]));
  }
  CHECK(moved > 0, "%s: the reference never moved", name);
  CHECK(worst < 2e-5, "%s: parameters differ from the reference update by %g", name, worst);
  printf("step %-34s ok  (5-%d-%d-3, %d params, 5 steps, max |difference| %.1e)\n", name,
         hidden[0].units, hidden[1].units, np, worst);
  free(ps), free(pr), free(ss), free(s1), free(s2), free(g), free(work), free(is_w);
  free(pen1), free(pen2);
  release(&c);
}

/* With zero gradient scale (lr = 0 aside from decay) a penalty moves weights
 * and never biases: adamw's decay and sgd's l2 on a model at rest. */
static void check_bias_untouched(const char *name, RtTrainCfg cfg) {
  RtModelDesc m = {.name = "net", .n_in = 3, .n_layers = 1, .loss = RT_LOSS_MSE,
                   .layers = {{1, RT_ACT_IDENTITY}}};
  cfg.name = "t";
  cfg.batch = 4;
  Compiled c;
  if (!compile(&c, &m, &cfg, true)) {
    CHECK(0, "%s: did not compile", name);
    return;
  }
  /* y = w.x + b exactly: zero data gradient */
  float p[4] = {0.5f, -0.25f, 2.0f, 0.75f}, st[8] = {0}, work[64];
  float x[4 * 3], y[4];
  for (int r = 0; r < 4; r++) {
    y[r] = p[3];
    for (int j = 0; j < 3; j++) {
      x[r * 3 + j] = (float)(urand() * 2 - 1);
      y[r] += p[j] * x[r * 3 + j];
    }
  }
  MlxHyper h = {.lr = cfg.lr, .momentum = cfg.momentum, .beta1 = 0.9f, .beta2 = 0.999f,
                .eps = 1e-8f, .bc1 = 0.1f, .bc2 = 0.001f, .weight_decay = cfg.weight_decay,
                .l1 = cfg.l1, .l2 = cfg.l2, .clip = cfg.clip_bound};
  CHECK(c.k.n_work <= 64, "%s: work %lld", name, (long long)c.k.n_work);
  c.k.step(p, st, work, x, y, 4, &h);
  CHECK(p[3] == 0.75f, "%s: the bias moved to %g", name, p[3]);
  CHECK(fabsf(p[2]) < 2.0f, "%s: the weight did not shrink (%g)", name, p[2]);
  printf("penalty %-31s ok  (weight 2 -> %.6f, bias stays %.2f)\n", name, p[2], p[3]);
  release(&c);
}

/* Every check, at the vector width MLXC_VECTOR_BITS says. */
static void run_all(void) {
  RtTrainCfg sgd = {.opt = RT_OPT_SGD, .lr = 0.05f};
  RtTrainCfg adam = {.opt = RT_OPT_ADAM, .lr = 0.01f, .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-8f};
  RtTrainCfg adamw = adam;
  adamw.opt = RT_OPT_ADAMW;
  adamw.weight_decay = 0.1f;
  RtTrainCfg adagrad = {.opt = RT_OPT_ADAGRAD, .lr = 0.05f, .eps = 1e-10f};
  RtTrainCfg rms = {.opt = RT_OPT_RMSPROP, .lr = 0.01f, .rho = 0.99f, .eps = 1e-8f};
  RtTrainCfg v;

  for (int net = 0; net < 2; net++) {
    hidden[0] = net ? (RtLayer){16, RT_ACT_TANH} : (RtLayer){7, RT_ACT_TANH};
    hidden[1] = net ? (RtLayer){32, RT_ACT_RELU} : (RtLayer){9, RT_ACT_RELU};
    check("sgd", sgd);
    v = sgd, v.momentum = 0.9f, check("sgd momentum", v);
    v = sgd, v.momentum = 0.9f, v.nesterov = true, check("sgd nesterov", v);
    v = sgd, v.l1 = 0.01f, v.l2 = 0.02f, check("sgd l1 l2", v);
    v = sgd, v.momentum = 0.9f, v.clip = RT_CLIP_VALUE, v.clip_bound = 0.05f;
    check("sgd momentum clip value", v);
    v = sgd, v.momentum = 0.9f, v.clip = RT_CLIP_NORM, v.clip_bound = 0.1f;
    check("sgd momentum clip norm (scales)", v);
    check("adam", adam);
    v = adam, v.clip = RT_CLIP_VALUE, v.clip_bound = 0.05f, check("adam clip value", v);
    v = adam, v.clip = RT_CLIP_NORM, v.clip_bound = 100.0f, check("adam clip norm (no scaling)", v);
    check("adamw", adamw);
    v = adamw, v.l2 = 0.01f, v.clip = RT_CLIP_NORM, v.clip_bound = 0.3f;
    check("adamw l2 clip norm", v);
    check("adagrad", adagrad);
    v = adagrad, v.l1 = 0.001f, v.clip = RT_CLIP_VALUE, v.clip_bound = 0.02f;
    check("adagrad l1 clip value", v);
    check("rmsprop", rms);
    v = rms, v.momentum = 0.9f, v.l1 = 0.01f, check("rmsprop momentum l1", v);
  }
  v = rms, v.momentum = 0.5f, v.l2 = 0.05f, v.clip = RT_CLIP_NORM, v.clip_bound = 0.2f;
  check("rmsprop momentum l2 clip norm", v);

  /* a step split by rows into parts (threads), summed, then one update */
  split_parts = 3;
  check("sgd momentum, 3 parts", (RtTrainCfg){.opt = RT_OPT_SGD, .lr = 0.05f, .momentum = 0.9f});
  v = adam, v.l2 = 0.01f, v.clip = RT_CLIP_VALUE, v.clip_bound = 0.05f;
  check("adam l2 clip value, 3 parts", v);
  v = rms, v.clip = RT_CLIP_NORM, v.clip_bound = 0.2f, check("rmsprop clip norm, 3 parts", v);
  split_parts = 1;

  /* a layer's own penalty replaces the train's for its weights */
  layer_pen.reg[1] = 2, layer_pen.l2[1] = 0.3f;
  check("sgd layer-2 l2 only", sgd);
  layer_pen.reg[0] = 1, layer_pen.l1[0] = 0;
  layer_pen.reg[2] = 1, layer_pen.l1[2] = 0.05f;
  v = adam, v.l1 = 0.01f, v.l2 = 0.02f, check("adam l1 l2, per-layer l1 l2", v);
  v = sgd, v.momentum = 0.9f, v.l1 = 0.01f, v.clip = RT_CLIP_NORM, v.clip_bound = 0.1f;
  check("sgd per-layer l1 l2 clip norm", v);
  memset(&layer_pen, 0, sizeof layer_pen);

  v = adamw, v.lr = 0.1f, v.weight_decay = 0.5f, check_bias_untouched("adamw decay", v);
  v = sgd, v.l2 = 0.5f, check_bias_untouched("sgd l2", v);
  v = sgd, v.l1 = 0.5f, v.clip = RT_CLIP_NORM, v.clip_bound = 1.0f;
  check_bias_untouched("sgd l1 clip norm", v);
}

/* Both widths of the blocked kernels (llvm_emit.c vector_width). */
int main(void) {
  const char *widths[] = {"512", "256"};
  for (int w = 0; w < 2; w++) {
    setenv("MLXC_VECTOR_BITS", widths[w], 1);
    printf("-- %s-bit vectors\n", widths[w]);
    run_all();
  }
  printf("%d failed\n", failures);
  return failures ? 1 : 0;
}
