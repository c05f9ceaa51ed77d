/* ptx_emit.c — `mlxc --dump=ptx`: the predict kernel as PTX for NVIDIA GPUs.
 * Emits the train's f32 forward pass for tiles of one row (llvm_emit on a
 * batch-1 plan), keeps mlx_predict and what it calls, and wraps it in a
 * kernel mlx_predict_gpu whose threads each compute whole rows; the NVPTX
 * target machine optimizes it (O3) and prints PTX. Nothing launches it yet:
 * run and predict stay on the CPU. tests/ptx_host.c builds the same module
 * for the host to check it computes what the CPU predict computes. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <llvm-c/Analysis.h>
#include <llvm-c/Core.h>
#include <llvm-c/Orc.h>
#include <llvm-c/Target.h>
#include <llvm-c/TargetMachine.h>
#include <llvm-c/Transforms/PassBuilder.h>

#include "mlxc.h"

/* Exit codes (DESIGN.md §4) as main.c names them. */
enum { EXIT_SPEC = 1, EXIT_USAGE = 2, EXIT_INTERNAL = 5, EXIT_ENV = 6 };

#define PTX_TRIPLE "nvptx64-nvidia-cuda"
#define PTX_FEATURES "+ptx80"   /* PTX ISA 8.0: every sm_50 .. sm_90 target */

/* The architectures LLVM 19's NVPTX back end knows from sm_50 on (CUDA 13's
 * ptxas dropped the older ones and sm_50 .. sm_72 too; LLVM still emits them). */
static const char *const ptx_arches[] = {"sm_50", "sm_52", "sm_53", "sm_60", "sm_61", "sm_62",
                                         "sm_70", "sm_72", "sm_75", "sm_80", "sm_86", "sm_87",
                                         "sm_89", "sm_90", NULL};

const char *ptx_arch(void) {
  const char *s = getenv("MLXC_PTX_ARCH");
  return s && *s ? s : "sm_90";
}

bool ptx_arch_ok(const char *arch) {
  for (const char *const *p = ptx_arches; *p; p++)
    if (!strcmp(arch, *p)) return true;
  return false;
}

static pthread_once_t ptx_once = PTHREAD_ONCE_INIT;
static void ptx_init_target(void) {
  LLVMInitializeNVPTXTargetInfo();
  LLVMInitializeNVPTXTarget();
  LLVMInitializeNVPTXTargetMC();
  LLVMInitializeNVPTXAsmPrinter();
}

/* Work elements one thread needs: the largest end of a work tensor the
 * predict kernels of the batch-1 plan touch (the prediction itself goes to
 * out). The step's tensors and scratch are not counted. */
static int64_t predict_work(const KernelSet *ks) {
  const Plan *p = ks->plan;
  int64_t w = 0;
  for (int i = 0; i < ks->npredict; i++) {
    const Kernel *k = ks->predict[i];
    for (int j = 0; j < k->nops; j++) {
      const PlanOp *op = &p->ops[k->ops[j]];
      int ts[5] = {op->out, -1, -1, -1, -1};
      for (int q = 0; q < op->nin && q < 4; q++) ts[q + 1] = op->in[q];
      for (int q = 0; q < 5; q++) {
        if (ts[q] < 0 || ts[q] == p->pred) continue;
        const Tensor *t = &p->t[ts[q]];
        int64_t end = t->off + (int64_t)t->rows * t->cols;
        if (t->buf == BUF_WORK && end > w) w = end;
      }
    }
  }
  return w;
}

static void remove_fn_attr(LLVMValueRef f, const char *k) {
  LLVMRemoveStringAttributeAtIndex(f, LLVMAttributeFunctionIndex, k, (unsigned)strlen(k));
}

/* Deletes the calls to llvm.prefetch (the first layer's hints for the CPU's
 * shuffled rows: no meaning on the GPU, and NVPTX need not select them). */
static void drop_prefetch(LLVMModuleRef m) {
  for (LLVMValueRef f = LLVMGetFirstFunction(m); f; f = LLVMGetNextFunction(f)) {
    size_t len;
    const char *name = LLVMGetValueName2(f, &len);
    if (!LLVMIsDeclaration(f) || strncmp(name, "llvm.prefetch", 13)) continue;
    LLVMValueRef use;
    while ((use = LLVMGetFirstUse(f) ? LLVMGetUser(LLVMGetFirstUse(f)) : NULL))
      LLVMInstructionEraseFromParent(use);
  }
}

/* Keeps mlx_predict and what it reaches: deletes every other function
 * nothing calls, until none is left (the step, the gradient entries, the
 * transforms and their libm declarations). */
static void keep_predict(LLVMModuleRef m) {
  bool changed = true;
  while (changed) {
    changed = false;
    LLVMValueRef f = LLVMGetFirstFunction(m);
    while (f) {
      LLVMValueRef next = LLVMGetNextFunction(f);
      size_t len;
      const char *name = LLVMGetValueName2(f, &len);
      if (strcmp(name, "mlx_predict") && !LLVMGetFirstUse(f)) {
        LLVMDeleteFunction(f);
        changed = true;
      }
      f = next;
    }
  }
}

/* A 32-bit special register (llvm.nvvm.read.ptx.sreg.NAME) as i64. */
static LLVMValueRef sreg(LLVMModuleRef m, LLVMBuilderRef b, LLVMContextRef c, const char *name) {
  char full[64];
  snprintf(full, sizeof full, "llvm.nvvm.read.ptx.sreg.%s", name);
  LLVMTypeRef i32 = LLVMInt32TypeInContext(c);
  LLVMTypeRef ft = LLVMFunctionType(i32, NULL, 0, 0);
  LLVMValueRef f = LLVMGetNamedFunction(m, full);
  if (!f) f = LLVMAddFunction(m, full, ft);
  LLVMValueRef v = LLVMBuildCall2(b, ft, f, NULL, 0, name);
  return LLVMBuildZExt(b, v, LLVMInt64TypeInContext(c), "");
}

/* void mlx_predict_gpu(params, work, x, n, out): thread t of T (t =
 * blockIdx.x blockDim.x + threadIdx.x, T = gridDim.x blockDim.x) computes
 * rows t, t + T, ... < n, each by mlx_predict on that row alone, in its work
 * slot work + t W. host: t and T are two more i64 parameters instead (the
 * same loop, for tests/ptx_host.c). Also the constant
 * mlx_predict_gpu_shape = {inputs, outputs, W} for a launcher. */
static void emit_gpu_entry(LLVMModuleRef m, LLVMContextRef c, int64_t nin, int64_t nout,
                           int64_t wpt, bool host) {
  LLVMTypeRef ptr = LLVMPointerTypeInContext(c, 0), i64 = LLVMInt64TypeInContext(c);
  LLVMTypeRef f32 = LLVMFloatTypeInContext(c);
  LLVMTypeRef ps[] = {ptr, ptr, ptr, i64, ptr, i64, i64};
  LLVMValueRef f = LLVMAddFunction(m, "mlx_predict_gpu",
                                   LLVMFunctionType(LLVMVoidTypeInContext(c), ps, host ? 7 : 5, 0));
  static const char *const names[] = {"params", "work", "x", "n", "out", "thread", "threads"};
  for (unsigned i = 0; i < (host ? 7u : 5u); i++)
    LLVMSetValueName2(LLVMGetParam(f, i), names[i], strlen(names[i]));
  if (!host) LLVMSetFunctionCallConv(f, LLVMPTXKernelCallConv);
  unsigned nounwind = LLVMGetEnumAttributeKindForName("nounwind", 8);
  LLVMAddAttributeAtIndex(f, LLVMAttributeFunctionIndex, LLVMCreateEnumAttribute(c, nounwind, 0));
  LLVMBuilderRef b = LLVMCreateBuilderInContext(c);
  LLVMBasicBlockRef entry = LLVMAppendBasicBlockInContext(c, f, "entry");
  LLVMBasicBlockRef head = LLVMAppendBasicBlockInContext(c, f, "row.head");
  LLVMBasicBlockRef body = LLVMAppendBasicBlockInContext(c, f, "row.body");
  LLVMBasicBlockRef done = LLVMAppendBasicBlockInContext(c, f, "done");
  LLVMPositionBuilderAtEnd(b, entry);
  LLVMValueRef t, nt;
  if (host) {
    t = LLVMGetParam(f, 5);
    nt = LLVMGetParam(f, 6);
  } else {
    LLVMValueRef ntid = sreg(m, b, c, "ntid.x");
    t = LLVMBuildAdd(b, LLVMBuildMul(b, sreg(m, b, c, "ctaid.x"), ntid, ""), sreg(m, b, c, "tid.x"),
                     "thread");
    nt = LLVMBuildMul(b, sreg(m, b, c, "nctaid.x"), ntid, "threads");
  }
  LLVMValueRef off = LLVMBuildMul(b, t, LLVMConstInt(i64, (unsigned long long)wpt, 0), "");
  LLVMValueRef slot = LLVMBuildGEP2(b, f32, LLVMGetParam(f, 1), &off, 1, "slot");
  LLVMBuildBr(b, head);
  LLVMPositionBuilderAtEnd(b, head);
  LLVMValueRef row = LLVMBuildPhi(b, i64, "row");
  LLVMBuildCondBr(b, LLVMBuildICmp(b, LLVMIntSLT, row, LLVMGetParam(f, 3), ""), body, done);
  LLVMPositionBuilderAtEnd(b, body);
  LLVMValueRef xo = LLVMBuildMul(b, row, LLVMConstInt(i64, (unsigned long long)nin, 0), "");
  LLVMValueRef oo = LLVMBuildMul(b, row, LLVMConstInt(i64, (unsigned long long)nout, 0), "");
  LLVMValueRef pf = LLVMGetNamedFunction(m, "mlx_predict");
  LLVMValueRef args[5] = {LLVMGetParam(f, 0), slot,
                          LLVMBuildInBoundsGEP2(b, f32, LLVMGetParam(f, 2), &xo, 1, "xrow"),
                          LLVMConstInt(i64, 1, 0),
                          LLVMBuildInBoundsGEP2(b, f32, LLVMGetParam(f, 4), &oo, 1, "outrow")};
  LLVMBuildCall2(b, LLVMGlobalGetValueType(pf), pf, args, 5, "");
  LLVMValueRef next = LLVMBuildAdd(b, row, nt, "");
  LLVMBuildBr(b, head);
  LLVMAddIncoming(row, &t, &entry, 1);
  LLVMAddIncoming(row, &next, &body, 1);
  LLVMPositionBuilderAtEnd(b, done);
  LLVMBuildRetVoid(b);
  LLVMDisposeBuilder(b);
  LLVMSetLinkage(pf, LLVMInternalLinkage);   /* inlined into the kernel */

  LLVMValueRef shape[3] = {LLVMConstInt(i64, (unsigned long long)nin, 0),
                           LLVMConstInt(i64, (unsigned long long)nout, 0),
                           LLVMConstInt(i64, (unsigned long long)wpt, 0)};
  LLVMValueRef g = LLVMAddGlobal(m, LLVMArrayType2(i64, 3), "mlx_predict_gpu_shape");
  LLVMSetInitializer(g, LLVMConstArray2(i64, shape, 3));
  LLVMSetGlobalConstant(g, 1);
}

/* Whether every function the optimized module still declares is one the
 * NVPTX back end lowers; else reports the first (LLVM would abort instead). */
static bool gpu_calls_ok(LLVMModuleRef m, const char *model) {
  static const char *const ok[] = {"llvm.nvvm.", "llvm.fabs.", "llvm.sqrt.", "llvm.maxnum.",
                                   "llvm.minnum.", "llvm.rint.", "llvm.copysign.", "llvm.fma.",
                                   "llvm.fmuladd.", "llvm.smax.", "llvm.smin.", "llvm.umax.",
                                   "llvm.umin.", "llvm.abs.", "llvm.lifetime.", "llvm.assume",
                                   "llvm.memcpy.", "llvm.memset.", "llvm.memmove.",
                                   "llvm.vector.reduce.", "llvm.experimental.noalias.scope.decl",
                                   NULL};
  for (LLVMValueRef f = LLVMGetFirstFunction(m); f; f = LLVMGetNextFunction(f)) {
    if (!LLVMIsDeclaration(f) || !LLVMGetFirstUse(f)) continue;
    size_t len;
    const char *name = LLVMGetValueName2(f, &len);
    bool fine = false;
    for (const char *const *p = ok; *p && !fine; p++) fine = !strncmp(name, *p, strlen(*p));
    if (!fine) {
      rt_diag(RT_ERROR, rt_loc_file(model),
              "the GPU kernel would call '%s', which is not supported on the GPU yet", name);
      return false;
    }
  }
  return true;
}

/* Builds the GPU module of train cfg's model m into (*mod, *tsc), owned by
 * the caller (dispose the module, then the context): for NVPTX (tm, which
 * becomes the caller's) or, host, for this machine with the CPU path's
 * target machine and attributes; optimized (O3). inlined: the kernels lose
 * their noinline and melt into the row loop (the GPU's form); else each
 * stays one function, compiled as the CPU path compiles it. Returns 0, or
 * an exit code after reporting. */
static int gpu_module(Arena *a, const RtModelDesc *m, const RtTrainCfg *cfg, bool host,
                      bool inlined, const char *arch, LLVMModuleRef *mod,
                      LLVMOrcThreadSafeContextRef *tsc, LLVMTargetMachineRef *tm, int64_t *wpt) {
  RtTrainCfg one = *cfg;
  one.batch = 1;   /* tiles of one row: a thread's work slot holds one row */
  Plan *plan = plan_build(a, m, &one, DT_F32);
  if (!plan) return EXIT_SPEC;
  grad_build(a, plan);
  KernelSet *ks = fuse_build(a, plan, false);
  /* "generic": 256-bit blocks whatever the host, so the PTX is the same on
   * every machine (MLXC_VECTOR_BITS still overrides); host: the CPU's own */
  LlvmUnit *u = llvm_emit(ks, host ? NULL : "generic");
  if (!u) return EXIT_INTERNAL;
  char *cpu = llvm_unit_cpu(u) ? strdup(llvm_unit_cpu(u)) : NULL;
  void *vm, *vt;
  llvm_unit_release(u, &vm, &vt);   /* the module and its context are ours now */
  *mod = vm;
  *tsc = vt;
  LLVMModuleRef md = *mod;
  LLVMContextRef c = LLVMGetModuleContext(md);
  const char *name = m->name ? m->name : "model";
  int nout = m->layers[m->n_layers - 1].units;
  *wpt = predict_work(ks);

  drop_prefetch(md);
  keep_predict(md);
  for (LLVMValueRef f = LLVMGetFirstFunction(md); f; f = LLVMGetNextFunction(f)) {
    if (LLVMIsDeclaration(f)) continue;
    /* one row a call: let the optimizer inline the kernels into the loop */
    if (inlined)
      LLVMRemoveEnumAttributeAtIndex(f, LLVMAttributeFunctionIndex,
                                     LLVMGetEnumAttributeKindForName("noinline", 8));
    if (!host) remove_fn_attr(f, "prefer-vector-width");
  }
  emit_gpu_entry(md, c, m->n_in, nout, *wpt, host);

  char *err = NULL;
  LLVMTargetRef target;
  char *triple = host ? LLVMGetDefaultTargetTriple() : strdup(PTX_TRIPLE);
  char *tcpu = host ? (cpu ? strdup(cpu) : LLVMGetHostCPUName()) : strdup(arch);
  char *feat = host ? (cpu ? strdup("") : LLVMGetHostCPUFeatures()) : strdup(PTX_FEATURES);
  int code = 0;
  if (host) jit_init(); else pthread_once(&ptx_once, ptx_init_target);
  if (LLVMGetTargetFromTriple(triple, &target, &err)) {
    rt_diag(RT_ERROR, rt_loc_file(name), "no target for %s: %s", triple, err ? err : "?");
    LLVMDisposeMessage(err);
    code = EXIT_ENV;
    goto out;
  }
  *tm = LLVMCreateTargetMachine(target, triple, tcpu, feat, LLVMCodeGenLevelAggressive,
                                host ? LLVMRelocPIC : LLVMRelocDefault, LLVMCodeModelDefault);
  LLVMSetTarget(md, triple);
  LLVMTargetDataRef dl = LLVMCreateTargetDataLayout(*tm);
  LLVMSetModuleDataLayout(md, dl);
  LLVMDisposeTargetData(dl);
  if (host) {   /* as llvm_optimize tags the CPU path's functions */
    for (LLVMValueRef f = LLVMGetFirstFunction(md); f; f = LLVMGetNextFunction(f)) {
      if (LLVMIsDeclaration(f)) continue;
      const char *kv[2][2] = {{"target-cpu", tcpu}, {"target-features", feat}};
      for (int i = 0; i < 2; i++)
        if (kv[i][1][0] || cpu)
          LLVMAddAttributeAtIndex(f, LLVMAttributeFunctionIndex,
                                  LLVMCreateStringAttribute(c, kv[i][0], (unsigned)strlen(kv[i][0]),
                                                            kv[i][1], (unsigned)strlen(kv[i][1])));
    }
  }
  if (LLVMVerifyModule(md, LLVMReturnStatusAction, &err)) {
    rt_diag(RT_ERROR, rt_loc_file(name), "internal: the GPU module does not verify: %s", err);
    LLVMDisposeMessage(err);
    code = EXIT_INTERNAL;
    goto out;
  }
  LLVMDisposeMessage(err);
  LLVMPassBuilderOptionsRef opts = LLVMCreatePassBuilderOptions();
  LLVMPassBuilderOptionsSetLoopVectorization(opts, 1);
  LLVMPassBuilderOptionsSetSLPVectorization(opts, 1);
  LLVMPassBuilderOptionsSetLoopInterleaving(opts, 1);
  LLVMPassBuilderOptionsSetLoopUnrolling(opts, 1);
  LLVMErrorRef e = LLVMRunPasses(md, "default<O3>", *tm, opts);
  LLVMDisposePassBuilderOptions(opts);
  if (e) {
    char *msg = LLVMGetErrorMessage(e);
    rt_diag(RT_ERROR, rt_loc_file(name), "internal: optimizing the GPU module failed: %s", msg);
    LLVMDisposeErrorMessage(msg);
    code = EXIT_INTERNAL;
    goto out;
  }
  if (!host && !gpu_calls_ok(md, name)) code = EXIT_SPEC;
out:
  free(cpu);
  if (host) {
    LLVMDisposeMessage(triple);
    if (cpu) free(tcpu), free(feat);
    else LLVMDisposeMessage(tcpu), LLVMDisposeMessage(feat);
  } else {
    free(triple), free(tcpu), free(feat);
  }
  return code;
}

static void gpu_free(LLVMModuleRef mod, LLVMOrcThreadSafeContextRef tsc, LLVMTargetMachineRef tm) {
  if (mod) LLVMDisposeModule(mod);   /* before the context it lives in */
  if (tsc) LLVMOrcDisposeThreadSafeContext(tsc);
  if (tm) LLVMDisposeTargetMachine(tm);
}

int ptx_dump(FILE *out, Arena *a, const RtModelDesc *m, const RtTrainCfg *cfg, const char *arch) {
  LLVMModuleRef mod = NULL;
  LLVMOrcThreadSafeContextRef tsc = NULL;
  LLVMTargetMachineRef tm = NULL;
  int64_t wpt;
  if (!ptx_arch_ok(arch)) {   /* main.c checks first: LLVM would only warn */
    rt_diag(RT_ERROR, rt_loc_file(m->name ? m->name : "model"), "unknown GPU architecture '%s'",
            arch);
    return EXIT_USAGE;
  }
  int code = gpu_module(a, m, cfg, false, true, arch, &mod, &tsc, &tm, &wpt);
  if (!code) {
    LLVMMemoryBufferRef buf = NULL;   /* ours once emitted */
    char *err = NULL;
    if (LLVMTargetMachineEmitToMemoryBuffer(tm, mod, LLVMAssemblyFile, &err, &buf)) {
      rt_diag(RT_ERROR, rt_loc_file(m->name ? m->name : "model"), "internal: PTX output failed: %s",
              err ? err : "?");
      LLVMDisposeMessage(err);
      code = EXIT_INTERNAL;
    } else {
      fwrite(LLVMGetBufferStart(buf), 1, LLVMGetBufferSize(buf), out);
      LLVMDisposeMemoryBuffer(buf);
    }
  }
  gpu_free(mod, tsc, tm);
  return code;
}

int ptx_host_module(Arena *a, const RtModelDesc *m, const RtTrainCfg *cfg, bool inlined,
                    void **mod, void **tsc, int64_t *wpt) {
  LLVMModuleRef md = NULL;
  LLVMOrcThreadSafeContextRef ts = NULL;
  LLVMTargetMachineRef tm = NULL;
  int code = gpu_module(a, m, cfg, true, inlined, NULL, &md, &ts, &tm, wpt);
  if (tm) LLVMDisposeTargetMachine(tm);
  if (code) {
    gpu_free(md, ts, NULL);
    return code;
  }
  *mod = md;
  *tsc = ts;
  return 0;
}
