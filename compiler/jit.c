/* jit.c — the last back-end stage for `mlxc run`: hands the optimized module
 * to an ORC LLJIT (host target, process symbols so libm's logf/log1pf
 * resolve) and looks up the mlxrt.h entry points. Every LLVMErrorRef is
 * checked and reported; ownership transfers are commented where they happen. */
#include <stdlib.h>
#include <string.h>

#include <llvm-c/Core.h>
#include <llvm-c/Error.h>
#include <llvm-c/LLJIT.h>
#include <llvm-c/Orc.h>
#include <llvm-c/Target.h>

#include "mlxc.h"

struct Jit {
  LLVMOrcLLJITRef jit;   /* owns the compiled code and the module */
};

/* Reports err (consuming it) as an error about `what`; returns true when
 * there was one. */
static bool jit_failed(LLVMErrorRef err, const char *what) {
  if (!err) return false;
  char *msg = LLVMGetErrorMessage(err);   /* consumes err */
  rt_diag(RT_ERROR, rt_loc_file("jit"), "%s: %s", what, msg);
  LLVMDisposeErrorMessage(msg);
  return true;
}

static bool jit_lookup(Jit *j, const char *name, void **out) {
  LLVMOrcExecutorAddress addr = 0;
  char what[96];
  snprintf(what, sizeof what, "cannot find '%s' in the compiled kernels", name);
  if (jit_failed(LLVMOrcLLJITLookup(j->jit, &addr, name), what)) return false;
  *out = (void *)(uintptr_t)addr;
  return true;
}

Jit *jit_compile(LlvmUnit *u, const KernelSet *ks, MlxKernels *out) {
  if (!u || !ks) {
    llvm_unit_free(u);
    return NULL;
  }
  if (llvm_optimize(u)) {
    llvm_unit_free(u);
    return NULL;
  }
  memset(out, 0, sizeof *out);
  LLVMInitializeNativeTarget();
  LLVMInitializeNativeAsmPrinter();
  void *mod_v, *tsc_v;
  llvm_unit_release(u, &mod_v, &tsc_v);   /* we own the module and context now */
  LLVMModuleRef mod = mod_v;
  LLVMOrcThreadSafeContextRef tsc = tsc_v;
  /* The module moves into a ThreadSafeModule, which shares the context; our
   * reference to the context is dropped right after. */
  LLVMOrcThreadSafeModuleRef tsm = LLVMOrcCreateNewThreadSafeModule(mod, tsc);
  LLVMOrcDisposeThreadSafeContext(tsc);

  LLVMOrcJITTargetMachineBuilderRef jtmb = NULL;
  if (jit_failed(LLVMOrcJITTargetMachineBuilderDetectHost(&jtmb), "cannot target this host")) {
    LLVMOrcDisposeThreadSafeModule(tsm);
    return NULL;
  }
  LLVMOrcLLJITBuilderRef builder = LLVMOrcCreateLLJITBuilder();
  LLVMOrcLLJITBuilderSetJITTargetMachineBuilder(builder, jtmb);   /* jtmb → builder */
  Jit *j = calloc(1, sizeof *j);
  if (!j) {
    LLVMOrcDisposeLLJITBuilder(builder);
    LLVMOrcDisposeThreadSafeModule(tsm);
    return NULL;
  }
  /* builder → LLJIT, even when creation fails. */
  if (jit_failed(LLVMOrcCreateLLJIT(&j->jit, builder), "cannot create the JIT")) {
    LLVMOrcDisposeThreadSafeModule(tsm);
    free(j);
    return NULL;
  }
  LLVMOrcJITDylibRef jd = LLVMOrcLLJITGetMainJITDylib(j->jit);
  LLVMOrcDefinitionGeneratorRef gen = NULL;
  if (jit_failed(LLVMOrcCreateDynamicLibrarySearchGeneratorForProcess(
                     &gen, LLVMOrcLLJITGetGlobalPrefix(j->jit), NULL, NULL),
                 "cannot search the process for symbols")) {
    LLVMOrcDisposeThreadSafeModule(tsm);
    jit_free(j);
    return NULL;
  }
  LLVMOrcJITDylibAddGenerator(jd, gen);                        /* gen → jd */
  if (jit_failed(LLVMOrcLLJITAddLLVMIRModule(j->jit, jd, tsm),  /* tsm → LLJIT */
                 "cannot add the kernels to the JIT")) {
    jit_free(j);
    return NULL;
  }
  void *fp = NULL;
  /* Lookups compile the module; the step entry exists only for f32. */
  if (!jit_lookup(j, "mlx_predict", &fp)) goto fail;
  out->predict = (MlxPredictFn)fp;
  if (ks->plan->dt == DT_F32) {
    if (!jit_lookup(j, "mlx_step", &fp)) goto fail;
    out->step = (MlxStepFn)fp;
    if (!jit_lookup(j, "mlx_step_rows", &fp)) goto fail;
    out->step_rows = (MlxStepRowsFn)fp;
    if (ks->grad_off >= 0) {   /* unfused: the parts a threaded step runs */
      if (!jit_lookup(j, "mlx_grad_rows", &fp)) goto fail;
      out->grad_rows = (MlxGradRowsFn)fp;
      if (!jit_lookup(j, "mlx_update", &fp)) goto fail;
      out->update = (MlxUpdateFn)fp;
    }
  }
  if (ks->with_grad) {
    if (!jit_lookup(j, "mlx_grad", &fp)) goto fail;
    out->grad = (MlxGradFn)fp;
  }
  out->n_params = ks->plan->n_params;
  out->n_state = ks->plan->n_state;
  out->n_work = ks->n_work;
  out->grad_off = ks->grad_off;
  out->batch = ks->plan->batch;
  return j;
fail:
  jit_free(j);
  memset(out, 0, sizeof *out);
  return NULL;
}

void jit_free(Jit *j) {
  if (!j) return;
  if (j->jit) jit_failed(LLVMOrcDisposeLLJIT(j->jit), "cannot release the JIT");
  free(j);
}
