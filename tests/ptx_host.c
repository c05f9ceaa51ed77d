/* ptx_host.c — the GPU predict kernel (ptx_emit.c, `--dump=ptx`) computes
 * what the CPU predict computes, checked without a GPU: ptx_host_module
 * builds the same module for the host, mlx_predict_gpu reading its thread
 * index and thread count from two more arguments instead of the PTX special
 * registers; it is JIT-compiled and run thread by thread over the rows of
 * each example's data, with random weights, for several thread counts; every
 * output must have the bits of the CPU path's mlx_predict (what `mlxc
 * predict` runs). The vector blocks are pinned to 256 bits, the width the
 * GPU module is emitted with. Run from the repository root. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <llvm-c/Core.h>
#include <llvm-c/LLJIT.h>
#include <llvm-c/Orc.h>

#include "check.h"
#include "jit_util.h"

typedef void (*GpuHostFn)(const float *params, float *work, const float *x, int64_t n,
                          float *out, int64_t thread, int64_t threads);

static const char *const specs[] = {"examples/credit.mlx", "examples/housing.mlx",
                                    "examples/sensors.mlx"};

static int64_t compared, identical;   /* by the kernels compiled one by one */
static int64_t compared_in, identical_in; /* by the inlined module, as on the GPU */
static double worst_in;                   /* its largest |difference| / max(1, |CPU value|) */

/* JIT-compiles module mod (with its context tsc; both taken) and returns
 * mlx_predict_gpu, *jit keeping its code. NULL after a message. */
static GpuHostFn host_jit(void *mod, void *tsc, LLVMOrcLLJITRef *jit) {
  LLVMErrorRef e = LLVMOrcCreateLLJIT(jit, NULL);
  if (e) {
    char *m = LLVMGetErrorMessage(e);
    printf("LLJIT: %s\n", m);
    LLVMDisposeErrorMessage(m);
    LLVMDisposeModule(mod);
    LLVMOrcDisposeThreadSafeContext(tsc);
    *jit = NULL;
    return NULL;
  }
  LLVMOrcThreadSafeModuleRef tsm = LLVMOrcCreateNewThreadSafeModule(mod, tsc);   /* takes mod */
  LLVMOrcDisposeThreadSafeContext(tsc);   /* the module holds its own reference */
  e = LLVMOrcLLJITAddLLVMIRModule(*jit, LLVMOrcLLJITGetMainJITDylib(*jit), tsm);   /* takes tsm */
  LLVMOrcExecutorAddress addr = 0;
  if (!e) e = LLVMOrcLLJITLookup(*jit, &addr, "mlx_predict_gpu");
  if (e) {
    char *m = LLVMGetErrorMessage(e);
    printf("LLJIT: %s\n", m);
    LLVMDisposeErrorMessage(m);
    return NULL;
  }
  return (GpuHostFn)(uintptr_t)addr;
}

/* Runs the host build of the GPU module (inlined or not) over x's n rows
 * with several thread counts and compares its outputs with ref, the CPU's,
 * using out. */
static void check_gpu(const char *spec, SemaTrain *t, bool inl, const float *params,
                      const float *x, int64_t n, const float *ref, float *out) {
  int64_t nv = n * t->model->layers[t->model->n_layers - 1].units;
  Arena a = {0};
  void *mod = NULL, *tsc = NULL;
  int64_t wpt = -1;
  int code = ptx_host_module(&a, t->model, t->cfg, inl, &mod, &tsc, &wpt);
  rt_diag_flush();
  CHECK(code == 0 && wpt >= 0, "%s %s: ptx_host_module gave %d", spec, t->cfg->name, code);
  LLVMOrcLLJITRef jit = NULL;
  GpuHostFn fn = code == 0 ? host_jit(mod, tsc, &jit) : NULL;
  CHECK(fn != NULL, "%s %s: no mlx_predict_gpu", spec, t->cfg->name);
  /* threads: one, a few, two warps, more than the rows */
  static const int64_t counts[] = {1, 3, 64, 5000};
  for (size_t k = 0; fn && k < sizeof counts / sizeof *counts; k++) {
    int64_t T = counts[k];
    float *gw = calloc((size_t)(T * wpt + 1), sizeof(float));
    memset(out, 0xff, sizeof(float) * (size_t)nv);   /* NaNs: unwritten rows show */
    for (int64_t th = 0; th < T; th++) fn(params, gw, x, n, out, th, T);
    int64_t same = 0;
    double worst = 0;
    for (int64_t i = 0; i < nv; i++) {
      same += !memcmp(&out[i], &ref[i], sizeof(float));
      double dv = fabs((double)out[i] - ref[i]) / fmax(1, fabs(ref[i]));
      worst = dv > worst || dv != dv ? dv : worst;   /* a NaN sticks */
    }
    if (!inl) {
      compared += nv, identical += same;
      CHECK(same == nv, "%s %s, %lld threads: %lld of %lld outputs bit-identical", spec,
            t->cfg->name, (long long)T, (long long)same, (long long)nv);
    } else {
      compared_in += nv, identical_in += same;
      worst_in = worst > worst_in || worst != worst ? worst : worst_in;
      CHECK(worst <= 1e-5, "%s %s, %lld threads, inlined: off by %g", spec, t->cfg->name,
            (long long)T, worst);
    }
    free(gw);
  }
  if (jit) LLVMOrcDisposeLLJIT(jit);
  arena_free(&a);
}

static void run_train(const char *spec, SemaTrain *t) {
  RtData *d = rt_data_load(t->data, t->model->task);
  rt_diag_flush();
  CHECK(d != NULL, "%s: the data does not load", spec);
  if (!d) return;
  int nf = d->n_feats;
  t->model->n_in = nf;
  int nout = t->model->layers[t->model->n_layers - 1].units;
  int64_t np = rt_param_layout(t->model, NULL, NULL);
  float *params = malloc(sizeof(float) * (size_t)(np + 1));
  RtRand rng;
  rt_rand_seed(&rng, 7);
  for (int64_t i = 0; i < np; i++) params[i] = (float)(rt_rand_double(&rng) - 0.5);
  /* every split's rows, one matrix */
  int64_t n = 0;
  for (int s = 0; s < 3; s++) n += d->split[s].n;
  float *x = malloc(sizeof(float) * (size_t)(n * nf + 1));
  int64_t at = 0;
  for (int s = 0; s < 3; s++) {
    memcpy(x + at, d->split[s].x, sizeof(float) * (size_t)(d->split[s].n * nf));
    at += d->split[s].n * nf;
  }
  /* the CPU path */
  Compiled c;
  bool ok = compile(&c, t->model, t->cfg, false);
  CHECK(ok, "%s %s: the CPU kernels do not compile", spec, t->cfg->name);
  float *ref = malloc(sizeof(float) * (size_t)(n * nout + 1));
  float *work = malloc(sizeof(float) * (size_t)(c.k.n_work + 1));
  if (ok) c.k.predict(params, work, x, n, ref);
  free(work);
  if (ok) release(&c);
  /* the GPU module, for the host: each kernel one function, then inlined */
  float *out = malloc(sizeof(float) * (size_t)(n * nout + 1));
  for (int inl = 0; ok && inl < 2; inl++) check_gpu(spec, t, inl, params, x, n, ref, out);
  free(out);
  free(ref);
  free(x);
  free(params);
  rt_data_free(d);
}

int main(void) {
  setenv("MLXC_VECTOR_BITS", "256", 1);
  setenv("MLXC_CACHE", "off", 1);
  for (size_t i = 0; i < sizeof specs / sizeof *specs; i++) {
    Arena a = {0};
    Program *p = check_spec(&a, specs[i]);
    CHECK(p && p->ntrains >= 1, "%s does not check", specs[i]);
    for (int k = 0; p && k < p->ntrains; k++) run_train(specs[i], &p->trains[k]);
    arena_free(&a);
  }
  printf("ptx_host: %lld of %lld outputs bit-identical (kernels one by one); inlined as on "
         "the GPU: %lld of %lld, at most %.3g off; %d checks, %d failed\n",
         (long long)identical, (long long)compared, (long long)identical_in,
         (long long)compared_in, worst_in, checks, failures);
  return failures != 0;
}
