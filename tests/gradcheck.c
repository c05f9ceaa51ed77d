/* gradcheck.c — checks the back end's reverse-mode gradients: for every
 * hidden activation and every loss, a small net compiled in f64 with a
 * gradient entry must agree with central finite differences of its own loss,
 * and its loss must agree with a forward pass written here in C.
 * One line per case; exits 1 on any failure. */
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
} Case;

/* The next run_case's batch rows (at most MAX_ROWS) and parameter range
 * [-range, range]: 7 rows and 0.8 unless a case sets them. */
#define MAX_ROWS 24
static int case_rows = 7;
static double case_range = 0.8;

static int run_case(const Case *c) {
  RtModelDesc m = {.name = (char *)c->name, .n_in = 5, .n_layers = c->n_layers, .loss = c->loss};
  memcpy(m.layers, c->layers, sizeof(RtLayer) * (size_t)c->n_layers);
  RtTrainCfg cfg = {.name = "gc", .opt = RT_OPT_ADAM, .batch = MAX_ROWS};
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
  int n = case_rows, np = (int)k.n_params, nin = m.n_in;
  double range = case_range;
  int classes = m.layers[m.n_layers - 1].units;
  double *prm = malloc(sizeof(double) * (size_t)np), *g = malloc(sizeof(double) * (size_t)np);
  double *scratch = malloc(sizeof(double) * (size_t)np);
  double *work = malloc(sizeof(double) * (size_t)k.n_work);
  double x[MAX_ROWS * 5], y[MAX_ROWS], gap = 0;
  for (int i = 0; i < n * nin; i++) x[i] = urand() * 4 - 2;
  for (int r = 0; r < n; r++)
    y[r] = c->loss == RT_LOSS_CE ? (double)(int)(urand() * classes)
         : c->loss == RT_LOSS_BCE ? (double)(urand() < 0.5) : urand() * 2 - 1;
  /* Redraw parameters until no relu input or mae residual sits on a kink. */
  for (int tries = 0; tries < 100; tries++) {
    for (int i = 0; i < np; i++) prm[i] = (urand() * 2 - 1) * range;
    ref_loss(&m, prm, x, y, n, false, 0, &gap);
    if (gap > 1e-3) break;
  }
  if (gap <= 1e-3) printf("%-28s (no kink-free parameters found; kinks may disturb)\n", c->name);
  double loss = k.grad(prm, g, work, x, y, n);
  double want = ref_loss(&m, prm, x, y, n, false, 0, &gap);
  int bad = 0;
  if (fabs(loss - want) > 1e-9 * fmax(1, fabs(want))) {
    printf("%-28s FAIL loss %.15g, reference %.15g\n", c->name, loss, want);
    bad = 1;
  }
  double worst = ref_fd_check(k.grad, prm, scratch, work, x, y, n, np, g, c->name, 28, &bad);
  if (!bad) printf("%-28s ok  (%d params, worst relative error %.1e)\n", c->name, np, worst);
  jit_free(j);
  free(prm), free(g), free(scratch), free(work);
  arena_free(&a);
  return bad;
}

/* Every case, at the vector width MLXC_VECTOR_BITS says. */
static int run_all(void) {
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
  /* widths that are multiples of the 8-double vector: the register-blocked
   * kernels, with 7 rows (one block of 4 and a tail of 3) */
  Case blk = {"relu 16, tanh 8 + bce", 3,
              {{16, RT_ACT_RELU}, {8, RT_ACT_TANH}, {1, RT_ACT_SIGMOID}}, RT_LOSS_BCE};
  fails += run_case(&blk);
  Case blk3 = {"relu 24, softmax 16 + ce", 2, {{24, RT_ACT_RELU}, {16, RT_ACT_SOFTMAX}}, RT_LOSS_CE};
  fails += run_case(&blk3);
  Case blk5 = {"sigmoid 40, softmax 8 + mse", 3,
               {{40, RT_ACT_SIGMOID}, {8, RT_ACT_SOFTMAX}, {1, RT_ACT_IDENTITY}}, RT_LOSS_MSE};
  fails += run_case(&blk5);
  /* 512 units: dense_bwd_w sums the 20 rows in chunks of 8, 8 and 4 */
  Case chunk = {"tanh 512 + mse, 20 rows", 2, {{512, RT_ACT_TANH}, {1, RT_ACT_IDENTITY}},
                RT_LOSS_MSE};
  case_rows = 20, case_range = 0.1;
  fails += run_case(&chunk);
  case_rows = 7, case_range = 0.8;
  Case lin = {"no hidden layer + bce", 1, {{1, RT_ACT_SIGMOID}}, RT_LOSS_BCE};
  fails += run_case(&lin);
  Case lin2 = {"no hidden layer + mse", 1, {{1, RT_ACT_IDENTITY}}, RT_LOSS_MSE};
  fails += run_case(&lin2);
  return fails;
}

/* Both widths of the blocked kernels (llvm_emit.c vector_width): 512-bit
 * code runs anywhere LLVM can split it, so both are checked on any host. */
int main(void) {
  int fails = 0;
  const char *widths[] = {"512", "256"};
  for (int w = 0; w < 2; w++) {
    setenv("MLXC_VECTOR_BITS", widths[w], 1);
    printf("-- %s-bit vectors\n", widths[w]);
    fails += run_all();
  }
  printf("%d failed\n", fails);
  return fails ? 1 : 0;
}
