/* llvm_emit.c — the back end's code generator: turns a KernelSet into LLVM IR
 * through the LLVM C API, one internal function per fused kernel (a loop nest
 * over the tile's rows) and the entry points of runtime/mlxrt.h (mlx_step,
 * mlx_predict, mlx_grad) calling them in order. The IR stays target-neutral
 * and unoptimized for --dump=llvm; llvm_optimize adds the host target and runs
 * default<O3>; llvm_dump_asm prints the machine code. jit.c runs it. */
#include <stdlib.h>
#include <string.h>

#include <llvm-c/Analysis.h>
#include <llvm-c/Core.h>
#include <llvm-c/DebugInfo.h>   /* LLVMTemporaryMDNode: self-referencing loop metadata */
#include <llvm-c/Orc.h>
#include <llvm-c/Target.h>
#include <llvm-c/TargetMachine.h>
#include <llvm-c/Transforms/PassBuilder.h>

#include "mlxc.h"

struct LlvmUnit {
  LLVMOrcThreadSafeContextRef tsc; /* owns ctx; handed to the JIT with mod */
  LLVMContextRef ctx;              /* the context mod lives in */
  LLVMModuleRef mod;               /* owned until jit_compile takes it */
  LLVMTargetMachineRef tm;         /* made by llvm_optimize, reused for asm */
  char *cpu;                       /* NULL: the host */
  bool optimized;                  /* default<O3> ran */
};

/* Emission state for one module; b is positioned inside the function being
 * built, allocas go to its entry block (mem2reg makes them registers). */
typedef struct Emit {
  LLVMContextRef c;
  LLVMModuleRef m;
  LLVMBuilderRef b;
  LLVMTypeRef T, i64, i32, i1, ptr, f32, f64, vd; /* T: the element type */
  DType dt;
  LLVMValueRef fn;          /* function being built */
  LLVMBasicBlockRef entry;  /* its alloca block */
  LLVMValueRef exp_fn;      /* mlx_exp: polynomial exp, inlined by O3 */
  LLVMValueRef log1p_fn;    /* mlx_log1p: polynomial log1p, inlined by O3 */
  LLVMFastMathFlags fmf;    /* on reductions and arithmetic in kernels */
  const Plan *p;
  const KernelSet *ks;
  int vbits;                /* vector width of the blocked matmuls: 512 or 256 */
  int nv_max;               /* vectors per register block's row: 4 (512) or 2 (256) */
  char vbits_str[8];        /* vbits as the prefer-vector-width attribute wants it */
} Emit;

/* ---- small builders ------------------------------------------------------ */

static LLVMValueRef fc(Emit *e, double v) { return LLVMConstReal(e->T, v); }
static LLVMValueRef ic(Emit *e, int64_t v) { return LLVMConstInt(e->i64, (unsigned long long)v, 1); }

/* Fast-math flags make reductions reassociable, so the vectorizer can split
 * a sum into vector lanes; no nnan/ninf, so overflow stays defined. */
static LLVMValueRef fm(Emit *e, LLVMValueRef v) {
  if (LLVMIsAInstruction(v) && LLVMCanValueUseFastMathFlags(v)) LLVMSetFastMathFlags(v, e->fmf);
  return v;
}
static LLVMValueRef fadd(Emit *e, LLVMValueRef a, LLVMValueRef b) { return fm(e, LLVMBuildFAdd(e->b, a, b, "")); }
static LLVMValueRef fsub(Emit *e, LLVMValueRef a, LLVMValueRef b) { return fm(e, LLVMBuildFSub(e->b, a, b, "")); }
static LLVMValueRef fmul(Emit *e, LLVMValueRef a, LLVMValueRef b) { return fm(e, LLVMBuildFMul(e->b, a, b, "")); }
static LLVMValueRef fdiv(Emit *e, LLVMValueRef a, LLVMValueRef b) { return fm(e, LLVMBuildFDiv(e->b, a, b, "")); }
static LLVMValueRef iadd(Emit *e, LLVMValueRef a, LLVMValueRef b) { return LLVMBuildNSWAdd(e->b, a, b, ""); }
static LLVMValueRef imul(Emit *e, LLVMValueRef a, LLVMValueRef b) { return LLVMBuildNSWMul(e->b, a, b, ""); }

static LLVMValueRef gep(Emit *e, LLVMValueRef base, LLVMValueRef idx) {
  return LLVMBuildInBoundsGEP2(e->b, e->T, base, &idx, 1, "");
}
static LLVMValueRef ld(Emit *e, LLVMValueRef base, LLVMValueRef idx) {
  return LLVMBuildLoad2(e->b, e->T, gep(e, base, idx), "");
}
static void st(Emit *e, LLVMValueRef v, LLVMValueRef base, LLVMValueRef idx) {
  LLVMBuildStore(e->b, v, gep(e, base, idx));
}

/* A scalar variable of type ty in the entry block, initialised to init at the
 * current point. */
static LLVMValueRef var(Emit *e, LLVMTypeRef ty, LLVMValueRef init, const char *name) {
  LLVMBuilderRef ab = LLVMCreateBuilderInContext(e->c);
  LLVMPositionBuilderAtEnd(ab, e->entry);
  LLVMValueRef v = LLVMBuildAlloca(ab, ty, name);
  LLVMDisposeBuilder(ab);
  if (init) LLVMBuildStore(e->b, init, v);
  return v;
}
static LLVMValueRef get(Emit *e, LLVMValueRef v) { return LLVMBuildLoad2(e->b, e->T, v, ""); }
static void set(Emit *e, LLVMValueRef var, LLVMValueRef v) { LLVMBuildStore(e->b, v, var); }

/* A call to an overloaded intrinsic on the element type (llvm.sqrt,
 * llvm.maxnum ...); these lower to vector instructions, unlike libm calls. */
static LLVMValueRef intr(Emit *e, const char *name, LLVMTypeRef ty, LLVMValueRef *args, int n) {
  unsigned id = LLVMLookupIntrinsicID(name, strlen(name));
  LLVMValueRef f = LLVMGetIntrinsicDeclaration(e->m, id, &ty, 1);
  LLVMTypeRef ft = LLVMIntrinsicGetType(e->c, id, &ty, 1);
  return fm(e, LLVMBuildCall2(e->b, ft, f, args, (unsigned)n, ""));
}
static LLVMValueRef fmax_(Emit *e, LLVMValueRef a, LLVMValueRef b) {
  return intr(e, "llvm.maxnum", e->T, (LLVMValueRef[]){a, b}, 2);
}
static LLVMValueRef fmin_(Emit *e, LLVMValueRef a, LLVMValueRef b) {
  return intr(e, "llvm.minnum", e->T, (LLVMValueRef[]){a, b}, 2);
}
static LLVMValueRef fabs_(Emit *e, LLVMValueRef a) { return intr(e, "llvm.fabs", e->T, &a, 1); }
static LLVMValueRef fsqrt(Emit *e, LLVMValueRef a) { return intr(e, "llvm.sqrt", e->T, &a, 1); }
static LLVMValueRef flog(Emit *e, LLVMValueRef a) { return intr(e, "llvm.log", e->T, &a, 1); }
static LLVMValueRef fexp(Emit *e, LLVMValueRef x) {
  return LLVMBuildCall2(e->b, LLVMGlobalGetValueType(e->exp_fn), e->exp_fn, &x, 1, "");
}

/* log1p(x) for x in [0, 1] (the bce loss's log1p(exp(-|z|))): mlx_log1p. */
static LLVMValueRef flog1p(Emit *e, LLVMValueRef x) {
  return LLVMBuildCall2(e->b, LLVMGlobalGetValueType(e->log1p_fn), e->log1p_fn, &x, 1, "");
}

/* ---- vectors ------------------------------------------------------------- */

/* The register-blocked matmuls work on explicit vectors of VL elements (512
 * bits: 16 floats, 8 doubles), so their accumulators stay in registers
 * whatever the vectorizer decides; loads and stores need only element
 * alignment. */
static int vlanes(const Emit *e) { return e->vbits / (e->dt == DT_F32 ? 32 : 64); }
static LLVMTypeRef vtype(Emit *e) { return LLVMVectorType(e->T, (unsigned)vlanes(e)); }
static LLVMValueRef vload(Emit *e, LLVMValueRef base, LLVMValueRef idx) {
  LLVMValueRef v = LLVMBuildLoad2(e->b, vtype(e), gep(e, base, idx), "");
  LLVMSetAlignment(v, e->dt == DT_F32 ? 4 : 8);
  return v;
}
static void vstore(Emit *e, LLVMValueRef v, LLVMValueRef base, LLVMValueRef idx) {
  LLVMSetAlignment(LLVMBuildStore(e->b, v, gep(e, base, idx)), e->dt == DT_F32 ? 4 : 8);
}
static LLVMValueRef vsplat(Emit *e, LLVMValueRef s) {
  LLVMTypeRef vt = vtype(e);
  LLVMValueRef one = LLVMBuildInsertElement(e->b, LLVMGetPoison(vt), s,
                                            LLVMConstInt(e->i32, 0, 0), "");
  LLVMTypeRef mt = LLVMVectorType(e->i32, (unsigned)vlanes(e));
  return LLVMBuildShuffleVector(e->b, one, LLVMGetPoison(vt), LLVMConstNull(mt), "splat");
}
static LLVMValueRef vget(Emit *e, LLVMValueRef v) { return LLVMBuildLoad2(e->b, vtype(e), v, ""); }

/* ---- loops --------------------------------------------------------------- */

typedef struct Loop {
  LLVMBasicBlockRef head, body, exit;
  LLVMValueRef iv;   /* the induction variable, i64 */
  LLVMValueRef step;
  bool rowwise;      /* loop_rowwise: every row runs the same code */
} Loop;

/* for (iv = lo; iv < hi; iv += step): positions the builder in the body. */
static LLVMValueRef loop_open(Emit *e, Loop *L, LLVMValueRef lo, LLVMValueRef hi, int64_t step,
                              const char *name) {
  char nm[64];
  LLVMBasicBlockRef pre = LLVMGetInsertBlock(e->b);
  snprintf(nm, sizeof nm, "%s.head", name);
  L->head = LLVMAppendBasicBlockInContext(e->c, e->fn, nm);
  snprintf(nm, sizeof nm, "%s.body", name);
  L->body = LLVMAppendBasicBlockInContext(e->c, e->fn, nm);
  snprintf(nm, sizeof nm, "%s.exit", name);
  L->exit = LLVMAppendBasicBlockInContext(e->c, e->fn, nm);
  L->step = ic(e, step);
  L->rowwise = false;
  LLVMBuildBr(e->b, L->head);
  LLVMPositionBuilderAtEnd(e->b, L->head);
  L->iv = LLVMBuildPhi(e->b, e->i64, name);
  LLVMAddIncoming(L->iv, &lo, &pre, 1);
  LLVMValueRef cond = LLVMBuildICmp(e->b, LLVMIntSLT, L->iv, hi, "");
  LLVMBuildCondBr(e->b, cond, L->body, L->exit);
  LLVMPositionBuilderAtEnd(e->b, L->body);
  return L->iv;
}

/* Marks a loop over rows whose body must stay one piece of code for every
 * row: no vectorizing, interleaving or unrolling of it. With fast-math
 * reassociation, a row loop vectorized across rows reduces a vector body's
 * rows in another order than its scalar remainder's, so a row's prediction
 * would depend on how many rows came with it (tests/predict_rows.c). */
static void loop_rowwise(Loop *L) { L->rowwise = true; }

static LLVMMetadataRef md_flag(Emit *e, const char *name, LLVMValueRef v) {
  LLVMMetadataRef ops[2] = {LLVMMDStringInContext2(e->c, name, strlen(name)),
                            v ? LLVMValueAsMetadata(v) : NULL};
  return LLVMMDNodeInContext2(e->c, ops, v ? 2 : 1);
}

static void loop_close(Emit *e, Loop *L) {
  LLVMBasicBlockRef latch = LLVMGetInsertBlock(e->b);
  LLVMValueRef next = iadd(e, L->iv, L->step);
  LLVMValueRef br = LLVMBuildBr(e->b, L->head);
  if (L->rowwise) {   /* !llvm.loop !{self, vectorize off, interleave 1, unroll off} */
    LLVMTypeRef i1 = LLVMInt1TypeInContext(e->c), i32 = LLVMInt32TypeInContext(e->c);
    LLVMMetadataRef self = LLVMTemporaryMDNode(e->c, NULL, 0);
    LLVMMetadataRef ops[4] = {self, md_flag(e, "llvm.loop.vectorize.enable", LLVMConstInt(i1, 0, 0)),
                              md_flag(e, "llvm.loop.interleave.count", LLVMConstInt(i32, 1, 0)),
                              md_flag(e, "llvm.loop.unroll.disable", NULL)};
    LLVMMetadataRef loop = LLVMMDNodeInContext2(e->c, ops, 4);
    LLVMMetadataReplaceAllUsesWith(self, loop);
    LLVMSetMetadata(br, LLVMGetMDKindIDInContext(e->c, "llvm.loop", 9),
                    LLVMMetadataAsValue(e->c, loop));
  }
  LLVMAddIncoming(L->iv, &next, &latch, 1);
  LLVMPositionBuilderAtEnd(e->b, L->exit);
}

/* The row of the input matrix the tile's row r reads: rows[r] (mlx_step_rows
 * reads the shuffled rows where they lie instead of copying them; the other
 * entries pass 0, 1, ... from identity_rows). A kernel that does not read
 * the input matrix has no row list (rows NULL) and reads row r. */
static LLVMValueRef row_of(Emit *e, LLVMValueRef rows, LLVMValueRef r) {
  if (!rows) return r;
  return LLVMBuildLoad2(e->b, e->i64, LLVMBuildInBoundsGEP2(e->b, e->i64, rows, &r, 1, ""), "row");
}

/* Asks for the cache lines of input row rows[r + ahead] of k
 * elements, when that row is in the tile: the shuffled rows are far apart in
 * memory, so their latencies must overlap. Into L2 (prefetcht1), whose
 * queue holds more misses in flight than L1's: measured on a million-row
 * logistic regression, 39 ms an epoch with prefetcht0 16 rows ahead, 34 with
 * prefetcht1 32 ahead (64 ahead, or into L3, no better). */
static void prefetch_row(Emit *e, LLVMValueRef in, LLVMValueRef rows, LLVMValueRef r, int ahead,
                         LLVMValueRef n, int k) {
  LLVMValueRef ra = iadd(e, r, ic(e, ahead));
  LLVMBasicBlockRef go = LLVMAppendBasicBlockInContext(e->c, e->fn, "pf");
  LLVMBasicBlockRef done = LLVMAppendBasicBlockInContext(e->c, e->fn, "pf.done");
  LLVMBuildCondBr(e->b, LLVMBuildICmp(e->b, LLVMIntSLT, ra, n, ""), go, done);
  LLVMPositionBuilderAtEnd(e->b, go);
  LLVMValueRef row = gep(e, in, imul(e, row_of(e, rows, ra), ic(e, k)));
  unsigned id = LLVMLookupIntrinsicID("llvm.prefetch", 13);
  LLVMTypeRef pt = e->ptr;
  LLVMValueRef f = LLVMGetIntrinsicDeclaration(e->m, id, &pt, 1);
  LLVMTypeRef ft = LLVMIntrinsicGetType(e->c, id, &pt, 1);
  int per_line = 64 / (e->dt == DT_F32 ? 4 : 8);
  for (int o = 0; o < k; o += per_line) {
    LLVMValueRef args[4] = {gep(e, row, ic(e, o)), LLVMConstInt(e->i32, 0, 0),
                            LLVMConstInt(e->i32, 2, 0), LLVMConstInt(e->i32, 1, 0)};
    LLVMBuildCall2(e->b, ft, f, args, 4, "");
  }
  LLVMBuildBr(e->b, done);
  LLVMPositionBuilderAtEnd(e->b, done);
}

/* Rows ahead of the one being read whose input is requested early. */
enum { PREFETCH_AHEAD = 32 };

/* min(r, n - 1): a block's row past the tile's end repeats the last row. */
static LLVMValueRef last_row(Emit *e, LLVMValueRef r, LLVMValueRef n) {
  LLVMValueRef lastr = LLVMBuildNSWSub(e->b, n, ic(e, 1), "");
  return LLVMBuildSelect(e->b, LLVMBuildICmp(e->b, LLVMIntSLT, r, n, ""), r, lastr, "");
}

/* ---- functions ----------------------------------------------------------- */

static void add_fn_attr(Emit *e, LLVMValueRef f, const char *k, const char *v) {
  LLVMAddAttributeAtIndex(f, LLVMAttributeFunctionIndex,
                          LLVMCreateStringAttribute(e->c, k, (unsigned)strlen(k), v, (unsigned)strlen(v)));
}
static void add_enum_attr(Emit *e, LLVMValueRef f, unsigned idx, const char *k) {
  unsigned kind = LLVMGetEnumAttributeKindForName(k, strlen(k));
  LLVMAddAttributeAtIndex(f, idx, LLVMCreateEnumAttribute(e->c, kind, 0));
}

/* Starts a function: entry block for allocas, then "start" where code goes.
 * Pointer parameters are noalias (the buffers and the tensors carved from
 * them never overlap), which lets the vectorizer skip runtime checks. */
static void name_params(LLVMValueRef f, const char *const *names) {
  for (unsigned i = 0; names[i]; i++) LLVMSetValueName2(LLVMGetParam(f, i), names[i], strlen(names[i]));
}

static LLVMValueRef fn_begin(Emit *e, const char *name, LLVMTypeRef ret, LLVMTypeRef *params,
                             int n, bool internal) {
  LLVMTypeRef ft = LLVMFunctionType(ret, params, (unsigned)n, 0);
  LLVMValueRef f = LLVMAddFunction(e->m, name, ft);
  if (internal) LLVMSetLinkage(f, LLVMInternalLinkage);
  add_enum_attr(e, f, LLVMAttributeFunctionIndex, "nounwind");
  add_fn_attr(e, f, "prefer-vector-width", e->vbits_str);
  for (int i = 0; i < n; i++)
    if (params[i] == e->ptr) add_enum_attr(e, f, (unsigned)i + 1, "noalias");
  e->fn = f;
  e->entry = LLVMAppendBasicBlockInContext(e->c, f, "entry");
  LLVMBasicBlockRef start = LLVMAppendBasicBlockInContext(e->c, f, "start");
  LLVMPositionBuilderAtEnd(e->b, start);
  return f;
}

/* Closes the alloca block with a branch to "start". */
static void fn_end(Emit *e) {
  LLVMBuilderRef ab = LLVMCreateBuilderInContext(e->c);
  LLVMPositionBuilderAtEnd(ab, e->entry);
  LLVMBuildBr(ab, LLVMGetNextBasicBlock(e->entry));
  LLVMDisposeBuilder(ab);
}

/* ---- math ---------------------------------------------------------------- */

/* The math helpers (mlx_exp, mlx_log1p) are small always-inline functions
 * built while another function may be under construction: MathFn keeps that
 * one's place. No fast-math flags inside: reassociating their argument
 * reductions loses bits. */
typedef struct MathFn {
  LLVMValueRef fn;
  LLVMBasicBlockRef bb;
  LLVMFastMathFlags fmf;
} MathFn;

static LLVMValueRef math_fn_begin(Emit *e, const char *name, MathFn *saved) {
  *saved = (MathFn){e->fn, LLVMGetInsertBlock(e->b), e->fmf};
  e->fmf = LLVMFastMathNone;
  LLVMValueRef f = fn_begin(e, name, e->T, &e->T, 1, true);
  add_enum_attr(e, f, LLVMAttributeFunctionIndex, "alwaysinline");
  LLVMSetValueName2(LLVMGetParam(f, 0), "x", 1);
  return f;
}

static void math_fn_end(Emit *e, const MathFn *saved) {
  fn_end(e);
  e->fn = saved->fn;
  e->fmf = saved->fmf;
  if (saved->bb) LLVMPositionBuilderAtEnd(e->b, saved->bb);
}

/* exp(x) as a polynomial in IR, so loops over exp vectorize (llvm.exp stays a
 * scalar libm call): x = k ln2 + r with |r| <= ln2/2, e^r by its Taylor
 * series (degree 7 for f32, 13 for f64, both under one ulp of truncation),
 * 2^k built in the exponent bits. x is clamped so 2^k stays a normal number
 * (the Cody-Waite split is why MathFn turns fast-math off). */
static void emit_exp_fn(Emit *e) {
  MathFn saved;
  LLVMValueRef f = math_fn_begin(e, "mlx_exp", &saved);
  bool s = e->dt == DT_F32;
  LLVMValueRef x0 = LLVMGetParam(f, 0), x = x0;
  x = fmin_(e, x, fc(e, s ? 88.0 : 709.0));
  x = fmax_(e, x, fc(e, s ? -87.0 : -708.0));
  LLVMValueRef kx = fmul(e, x, fc(e, 1.4426950408889634));
  LLVMValueRef k = intr(e, "llvm.rint", e->T, &kx, 1);
  double hi = s ? 0.693145751953125 : 6.93147180369123816490e-01;
  double lo = s ? 1.428606765330187045e-06 : 1.90821492927058770002e-10;
  LLVMValueRef r = fsub(e, x, fmul(e, k, fc(e, hi)));
  r = fsub(e, r, fmul(e, k, fc(e, lo)));
  int deg = s ? 7 : 13;
  double coef[14];
  coef[0] = 1;
  for (int i = 1; i <= deg; i++) coef[i] = coef[i - 1] / i;
  LLVMValueRef poly = fc(e, coef[deg]);
  for (int i = deg - 1; i >= 0; i--) poly = fadd(e, fmul(e, poly, r), fc(e, coef[i]));
  LLVMTypeRef it = s ? e->i32 : e->i64;
  LLVMValueRef ki = LLVMBuildFPToSI(e->b, k, it, "");
  ki = LLVMBuildAdd(e->b, ki, LLVMConstInt(it, s ? 127 : 1023, 0), "");
  ki = LLVMBuildShl(e->b, ki, LLVMConstInt(it, s ? 23 : 52, 0), "");
  LLVMValueRef scale = LLVMBuildBitCast(e->b, ki, e->T, "");
  /* minnum/maxnum drop a NaN: put it back so divergence stays visible. */
  LLVMValueRef nan = LLVMBuildFCmp(e->b, LLVMRealUNO, x0, x0, "");
  LLVMBuildRet(e->b, LLVMBuildSelect(e->b, nan, x0, fmul(e, poly, scale), ""));
  math_fn_end(e, &saved);
  e->exp_fn = f;
}

/* log1p(x) as a polynomial in IR, so the bce loss loop vectorizes (libm's
 * log1pf is a scalar call, a quarter of a logistic regression epoch):
 * w = 1 + x = 2^k m with m in [sqrt(1/2), sqrt(2)), log m = 2 atanh s with
 * s = (m - 1) / (m + 1), |s| < 0.172, by its odd series (to s^11 for f32,
 * s^21 for f64, truncation under half an ulp); then the rounding of 1 + x
 * is put back: log1p x = log w + (x - (w - 1)) / w. Meant for x >= 0 (the
 * loss's domain), exact at 0; a NaN stays NaN. */
static void emit_log1p_fn(Emit *e) {
  MathFn saved;
  LLVMValueRef f = math_fn_begin(e, "mlx_log1p", &saved);
  bool s32 = e->dt == DT_F32;
  LLVMTypeRef it = s32 ? e->i32 : e->i64;
  LLVMValueRef x = LLVMGetParam(f, 0);
  LLVMValueRef w = fadd(e, fc(e, 1), x);
  LLVMValueRef bits = LLVMBuildBitCast(e->b, w, it, "");
  int mant = s32 ? 23 : 52;
  unsigned long long bias = s32 ? 127 : 1023;
  unsigned long long mmask = (1ull << mant) - 1;
  LLVMValueRef ex = LLVMBuildSub(e->b, LLVMBuildLShr(e->b, bits, LLVMConstInt(it, (unsigned)mant, 0), ""),
                                 LLVMConstInt(it, bias, 0), "");
  LLVMValueRef mb = LLVMBuildOr(e->b, LLVMBuildAnd(e->b, bits, LLVMConstInt(it, mmask, 0), ""),
                                LLVMConstInt(it, bias << mant, 0), "");
  LLVMValueRef m = LLVMBuildBitCast(e->b, mb, e->T, "m");   /* [1, 2) */
  LLVMValueRef big = LLVMBuildFCmp(e->b, LLVMRealOGT, m, fc(e, 1.4142135623730951), "");
  m = LLVMBuildSelect(e->b, big, fmul(e, m, fc(e, 0.5)), m, "");
  ex = LLVMBuildSelect(e->b, big, LLVMBuildAdd(e->b, ex, LLVMConstInt(it, 1, 0), ""), ex, "");
  LLVMValueRef t = fdiv(e, fsub(e, m, fc(e, 1)), fadd(e, m, fc(e, 1)));
  LLVMValueRef t2 = fmul(e, t, t);
  int terms = s32 ? 6 : 11;   /* 1/1, 1/3, ..., 1/(2 terms - 1) */
  LLVMValueRef poly = fc(e, 1.0 / (2 * terms - 1));
  for (int i = terms - 2; i >= 0; i--) poly = fadd(e, fmul(e, poly, t2), fc(e, 1.0 / (2 * i + 1)));
  LLVMValueRef logm = fmul(e, fmul(e, fc(e, 2), t), poly);
  LLVMValueRef kf = LLVMBuildSIToFP(e->b, ex, e->T, "");
  LLVMValueRef logw = fadd(e, fmul(e, kf, fc(e, 0.6931471805599453)), logm);
  LLVMValueRef corr = fdiv(e, fsub(e, x, fsub(e, w, fc(e, 1))), w);
  LLVMBuildRet(e->b, fadd(e, logw, corr));
  math_fn_end(e, &saved);
  e->log1p_fn = f;
}

/* f(z) for an elementwise activation (softmax is done per row by callers). */
static LLVMValueRef act_val(Emit *e, RtAct act, LLVMValueRef z) {
  switch (act) {
  case RT_ACT_RELU:   /* z < 0 ? 0 : z, which keeps a NaN (maxnum would not) */
    return LLVMBuildSelect(e->b, LLVMBuildFCmp(e->b, LLVMRealOLT, z, fc(e, 0), ""), fc(e, 0), z, "");
  case RT_ACT_SIGMOID:
    return fdiv(e, fc(e, 1), fadd(e, fc(e, 1), fexp(e, LLVMBuildFNeg(e->b, z, ""))));
  case RT_ACT_TANH: {
    /* tanh z = sign(z) (1 - e) / (1 + e), e = exp(-2|z|): never overflows. */
    LLVMValueRef a = fabs_(e, z);
    LLVMValueRef ex = fexp(e, fmul(e, a, fc(e, -2)));
    LLVMValueRef t = fdiv(e, fsub(e, fc(e, 1), ex), fadd(e, fc(e, 1), ex));
    return intr(e, "llvm.copysign", e->T, (LLVMValueRef[]){t, z}, 2);
  }
  default: return z;
  }
}

/* f'(z) written in terms of the activation's output a = f(z). */
static LLVMValueRef act_deriv(Emit *e, RtAct act, LLVMValueRef a) {
  switch (act) {
  case RT_ACT_RELU:
    return LLVMBuildSelect(e->b, LLVMBuildFCmp(e->b, LLVMRealOGT, a, fc(e, 0), ""), fc(e, 1),
                           fc(e, 0), "");
  case RT_ACT_SIGMOID: return fmul(e, a, fsub(e, fc(e, 1), a));
  case RT_ACT_TANH: return fsub(e, fc(e, 1), fmul(e, a, a));
  default: return fc(e, 1);
  }
}

/* Softmax of row[0..u) in place: subtract the max, exponentiate, normalise. */
static void emit_softmax_row(Emit *e, LLVMValueRef row, int u) {
  Loop L;
  LLVMValueRef mx = var(e, e->T, fc(e, -__builtin_inf()), "max");
  LLVMValueRef j = loop_open(e, &L, ic(e, 0), ic(e, u), 1, "sm.max");
  set(e, mx, fmax_(e, get(e, mx), ld(e, row, j)));
  loop_close(e, &L);
  LLVMValueRef m = get(e, mx);
  LLVMValueRef sum = var(e, e->T, fc(e, 0), "sum");
  j = loop_open(e, &L, ic(e, 0), ic(e, u), 1, "sm.exp");
  LLVMValueRef ex = fexp(e, fsub(e, ld(e, row, j), m));
  st(e, ex, row, j);
  set(e, sum, fadd(e, get(e, sum), ex));
  loop_close(e, &L);
  LLVMValueRef inv = fdiv(e, fc(e, 1), get(e, sum));
  j = loop_open(e, &L, ic(e, 0), ic(e, u), 1, "sm.norm");
  st(e, fmul(e, ld(e, row, j), inv), row, j);
  loop_close(e, &L);
}

/* ---- kernels ------------------------------------------------------------- */

static const PlanOp *kop(const Emit *e, const Kernel *k, int i) {
  return &e->p->ops[k->ops[i]];
}
static const PlanOp *kfind(const Emit *e, const Kernel *k, PlanOpKind kind) {
  for (int i = 0; i < k->nops; i++)
    if (kop(e, k, i)->kind == kind) return kop(e, k, i);
  return NULL;
}

/* Dropout masks, recomputed wherever needed from a counter-based hash, so no
 * mask memory exists and runs are bit-reproducible: the splitmix64 finalizer
 * mix(z); per kernel call s = mix(seed ^ mix(step * 256 + layer)); element
 * (r, j) of a tile with U units is kept when mix(s + (r*U + j + 1) * golden)
 * >> 40 >= P * 2^24, and scaled by 1 / (1 - P). tests/dropout_check.c has the
 * same function in C. */
static LLVMValueRef u64c(Emit *e, uint64_t v) { return LLVMConstInt(e->i64, v, 0); }
static LLVMValueRef mix64(Emit *e, LLVMValueRef z) {
  LLVMBuilderRef b = e->b;
  z = LLVMBuildXor(b, z, LLVMBuildLShr(b, z, u64c(e, 30), ""), "");
  z = LLVMBuildMul(b, z, u64c(e, 0xbf58476d1ce4e5b9ull), "");
  z = LLVMBuildXor(b, z, LLVMBuildLShr(b, z, u64c(e, 27), ""), "");
  z = LLVMBuildMul(b, z, u64c(e, 0x94d049bb133111ebull), "");
  return LLVMBuildXor(b, z, LLVMBuildLShr(b, z, u64c(e, 31), ""), "");
}
static LLVMValueRef drop_stream(Emit *e, LLVMValueRef seed, LLVMValueRef step, int layer) {
  LLVMValueRef c = LLVMBuildAdd(e->b, LLVMBuildMul(e->b, step, u64c(e, 256), ""),
                                u64c(e, (uint64_t)layer), "");
  return mix64(e, LLVMBuildXor(e->b, seed, mix64(e, c), ""));
}
/* mask(idx) / (1 - P): 0 or the scale, in the element type. */
static LLVMValueRef drop_mask(Emit *e, LLVMValueRef s, LLVMValueRef idx, double rate) {
  LLVMValueRef i1 = LLVMBuildAdd(e->b, idx, u64c(e, 1), "");
  LLVMValueRef step = LLVMBuildMul(e->b, i1, u64c(e, 0x9e3779b97f4a7c15ull), "");
  LLVMValueRef h = mix64(e, LLVMBuildAdd(e->b, s, step, ""));
  uint64_t thr = (uint64_t)(rate * 16777216.0);
  LLVMValueRef keep = LLVMBuildICmp(e->b, LLVMIntUGE, LLVMBuildLShr(e->b, h, u64c(e, 40), ""),
                                    u64c(e, thr), "keep");
  return LLVMBuildSelect(e->b, keep, fc(e, 1.0 / (1.0 - rate)), fc(e, 0), "mask");
}

/* Register blocks: MR rows by up to NV_MAX vectors of columns in the forward
 * and weight-gradient matmuls, MR rows by MK inputs in the input-gradient
 * one: 16 accumulators, half the 32 vector registers of AVX-512, the rest for
 * the operands. */
enum { MR = 4, MK = 4, NV_MAX = 4 };

/* Vectors per column block of a layer of u units (u a multiple of VL): the
 * largest count up to NV_MAX that divides u / VL. */
static int col_vectors(const Emit *e, int u) {
  int nv = u / vlanes(e);
  for (int d = e->nv_max; d > 1; d--)
    if (nv % d == 0) return d;
  return 1;
}

/* One forward register block: input rows irow[0..mr) times columns
 * [j0, j0 + nv VL) of W plus the bias, into orow[i]; relu in registers when
 * asked. Each output element sums bias, then k = 0, 1, ... in order. */
static void fwd_block(Emit *e, LLVMValueRef *irow, LLVMValueRef *orow, int mr, LLVMValueRef w,
                      LLVMValueRef b, int K, int U, LLVMValueRef j0, int nv, bool relu) {
  int VL = vlanes(e);
  LLVMValueRef acc[MR][NV_MAX];
  for (int v = 0; v < nv; v++) {
    LLVMValueRef init = b ? vload(e, b, iadd(e, j0, ic(e, v * VL))) : LLVMConstNull(vtype(e));
    for (int i = 0; i < mr; i++) acc[i][v] = var(e, vtype(e), init, "acc");
  }
  Loop KL;
  LLVMValueRef k = loop_open(e, &KL, ic(e, 0), ic(e, K), 1, "k");
  LLVMValueRef wrow = gep(e, w, iadd(e, imul(e, k, ic(e, U)), j0));
  LLVMValueRef wv[NV_MAX];
  for (int v = 0; v < nv; v++) wv[v] = vload(e, wrow, ic(e, v * VL));
  for (int i = 0; i < mr; i++) {
    LLVMValueRef a = vsplat(e, ld(e, irow[i], k));
    for (int v = 0; v < nv; v++) set(e, acc[i][v], fadd(e, vget(e, acc[i][v]), fmul(e, a, wv[v])));
  }
  loop_close(e, &KL);
  LLVMValueRef zero = LLVMConstNull(vtype(e));
  for (int i = 0; i < mr; i++)
    for (int v = 0; v < nv; v++) {
      LLVMValueRef x = vget(e, acc[i][v]);
      if (relu)   /* x < 0 ? 0 : x, keeping a NaN like act_val */
        x = LLVMBuildSelect(e->b, LLVMBuildFCmp(e->b, LLVMRealOLT, x, zero, ""), zero, x, "");
      vstore(e, x, orow[i], iadd(e, j0, ic(e, v * VL)));
    }
}

/* dense_fwd(in, W, b, out, n[, dout, seed, step], rows):
 * out[r,:] = act(b + in[r,:] @ W). Three forms of the matmul:
 * - units a multiple of VL: register blocks of MR rows by nv vectors, the
 *   k loop innermost (16 fused multiply-adds per 4 loads and 4 broadcasts);
 * - one unit: a dot product per row along the input (reassociable, so it
 *   vectorizes along k);
 * - otherwise an axpy per row along W's rows.
 * Activations other than relu-in-registers, softmax and dropout follow in a
 * pass over the tile's rows (still in cache). A layer reading the input
 * matrix reads row rows[r] when given (see row_of). */
static void emit_dense_fwd(Emit *e, const Kernel *k) {
  const PlanOp *mm = kfind(e, k, OP_PLAN_MATMUL);
  const PlanOp *ba = kfind(e, k, OP_PLAN_BIAS_ADD);
  const PlanOp *ac = kfind(e, k, OP_PLAN_ACT);
  const PlanOp *dp = kfind(e, k, OP_PLAN_DROPOUT);
  const Tensor *W = &e->p->t[mm->in[1]];
  int K = W->rows, U = W->cols, VL = vlanes(e);
  /* with dropout: (..., n, dout, seed, step); out keeps the activation */
  LLVMTypeRef ps[] = {e->ptr, e->ptr, e->ptr, e->ptr, e->i64, e->ptr, e->i64, e->i64, e->ptr};
  int np = dp ? 9 : 6;
  LLVMValueRef f = fn_begin(e, k->name, e->vd, ps, np, true);
  if (dp)
    name_params(f, (const char *const[]){"in", "w", "b", "out", "n", "dout", "seed", "step", "rows", NULL});
  else
    name_params(f, (const char *const[]){"in", "w", "b", "out", "n", "rows", NULL});
  LLVMValueRef in = LLVMGetParam(f, 0), w = LLVMGetParam(f, 1), b = LLVMGetParam(f, 2),
               out = LLVMGetParam(f, 3), n = LLVMGetParam(f, 4);
  LLVMValueRef rows = e->p->t[mm->in[0]].buf == BUF_X ? LLVMGetParam(f, (unsigned)np - 1) : NULL;
  LLVMValueRef ds = dp && k->train ? drop_stream(e, LLVMGetParam(f, 6), LLVMGetParam(f, 7), dp->sub)
                                   : NULL;
  RtAct act = ac ? (RtAct)ac->sub : RT_ACT_IDENTITY;
  bool blocked = U % VL == 0;
  bool relu_in = blocked && act == RT_ACT_RELU;
  Loop R, J, KL;
  if (blocked) {
    int nv = col_vectors(e, U);
    /* blocks of MR rows; the last block's rows past n repeat row n - 1,
     * which writes the same values again: no tail loop to compile */
    LLVMValueRef r = loop_open(e, &R, ic(e, 0), n, MR, "row.block");
    loop_rowwise(&R);
    LLVMValueRef irow[MR], orow[MR];
    for (int i = 0; i < MR; i++) {
      LLVMValueRef ri = last_row(e, iadd(e, r, ic(e, i)), n);
      if (rows) prefetch_row(e, in, rows, ri, PREFETCH_AHEAD, n, K);
      irow[i] = gep(e, in, imul(e, row_of(e, rows, ri), ic(e, K)));
      orow[i] = gep(e, out, imul(e, ri, ic(e, U)));
    }
    Loop C;   /* column blocks: a loop, not unrolled, to keep the code small */
    LLVMValueRef j0 = loop_open(e, &C, ic(e, 0), ic(e, U), nv * VL, "cols");
    fwd_block(e, irow, orow, MR, w, ba ? b : NULL, K, U, j0, nv, relu_in);
    loop_close(e, &C);
    loop_close(e, &R);
  } else {
    LLVMValueRef r = loop_open(e, &R, ic(e, 0), n, 1, "row");
    loop_rowwise(&R);
    LLVMValueRef orow = gep(e, out, imul(e, r, ic(e, U)));
    LLVMValueRef irow = gep(e, in, imul(e, row_of(e, rows, r), ic(e, K)));
    if (rows) prefetch_row(e, in, rows, r, PREFETCH_AHEAD, n, K);
    if (U == 1) {
      LLVMValueRef s = var(e, e->T, ba ? ld(e, b, ic(e, 0)) : fc(e, 0), "dot");
      LLVMValueRef kk = loop_open(e, &KL, ic(e, 0), ic(e, K), 1, "k");
      set(e, s, fadd(e, get(e, s), fmul(e, ld(e, irow, kk), ld(e, w, kk))));
      loop_close(e, &KL);
      st(e, get(e, s), orow, ic(e, 0));
    } else {
      LLVMValueRef j = loop_open(e, &J, ic(e, 0), ic(e, U), 1, "init");
      st(e, ba ? ld(e, b, j) : fc(e, 0), orow, j);
      loop_close(e, &J);
      LLVMValueRef kk = loop_open(e, &KL, ic(e, 0), ic(e, K), 1, "k");
      LLVMValueRef a = ld(e, irow, kk);
      LLVMValueRef wrow = gep(e, w, imul(e, kk, ic(e, U)));
      j = loop_open(e, &J, ic(e, 0), ic(e, U), 1, "axpy");
      st(e, fadd(e, ld(e, orow, j), fmul(e, a, ld(e, wrow, j))), orow, j);
      loop_close(e, &J);
      loop_close(e, &KL);
    }
    loop_close(e, &R);
  }
  bool post_act = act == RT_ACT_SOFTMAX || (act != RT_ACT_IDENTITY && !relu_in);
  if (post_act || dp) {
    LLVMValueRef r = loop_open(e, &R, ic(e, 0), n, 1, "post");
    loop_rowwise(&R);
    LLVMValueRef orow = gep(e, out, imul(e, r, ic(e, U)));
    if (act == RT_ACT_SOFTMAX) {
      emit_softmax_row(e, orow, U);
    } else if (post_act) {
      LLVMValueRef j = loop_open(e, &J, ic(e, 0), ic(e, U), 1, "act");
      st(e, act_val(e, act, ld(e, orow, j)), orow, j);
      loop_close(e, &J);
    }
    if (dp) {
      LLVMValueRef drow = gep(e, LLVMGetParam(f, 5), imul(e, r, ic(e, U)));
      LLVMValueRef j = loop_open(e, &J, ic(e, 0), ic(e, U), 1, "drop");
      LLVMValueRef v = ld(e, orow, j);
      if (ds) {
        double rate = e->p->model->dropout[dp->sub];
        v = fmul(e, v, drop_mask(e, ds, iadd(e, imul(e, r, ic(e, U)), j), rate));
      }
      st(e, v, drow, j);
      loop_close(e, &J);
    }
    loop_close(e, &R);
  }
  LLVMBuildRetVoid(e->b);
  fn_end(e);
}

/* loss(z, y, dz, n[, cw], rows, nmean) -> summed loss; dz = d(mean loss)/dz, times the
 * activation's derivative when one sits between the logits and the loss.
 * bce and cross_entropy read logits and are stable for any magnitude. */
static bool loss_weighted(const Emit *e) {
  const RtTrainCfg *c = e->p->cfg;
  RtLoss l = e->p->model->loss;
  return c && (c->n_class_w > 0 || c->class_w_balanced) && (l == RT_LOSS_BCE || l == RT_LOSS_CE);
}
/* cw[ci] as the element type; cw holds f32 */
static LLVMValueRef class_weight(Emit *e, LLVMValueRef cw, LLVMValueRef ci) {
  LLVMValueRef at = LLVMBuildInBoundsGEP2(e->b, e->f32, cw, &ci, 1, "");
  LLVMValueRef x = LLVMBuildLoad2(e->b, e->f32, at, "w");
  return e->dt == DT_F32 ? x : LLVMBuildFPExt(e->b, x, e->T, "");
}

static void emit_loss(Emit *e, const Kernel *k) {
  const PlanOp *lo = kfind(e, k, OP_PLAN_LOSS);
  const PlanOp *lg = kfind(e, k, OP_PLAN_LOSS_GRAD);
  const PlanOp *ag = kfind(e, k, OP_PLAN_ACT_GRAD);
  int U = e->p->t[lo->in[0]].cols;
  RtLoss loss = (RtLoss)lo->sub;
  /* class_weights: (..., n, cw), cw[class] (f32) times the row's loss and gradient */
  bool weighted = loss_weighted(e);
  /* the labels are read at row_of(rows, r), like the input */
  /* nmean: the rows the mean is over (a thread's part of a step has fewer) */
  LLVMTypeRef ps[] = {e->ptr, e->ptr, e->ptr, e->i64, e->ptr, e->ptr, e->i64};
  ps[weighted ? 6 : 5] = e->i64;
  LLVMValueRef f = fn_begin(e, k->name, e->T, ps, weighted ? 7 : 6, true);
  if (weighted)
    name_params(f, (const char *const[]){"z", "y", "dz", "n", "cw", "rows", "nmean", NULL});
  else
    name_params(f, (const char *const[]){"z", "y", "dz", "n", "rows", "nmean", NULL});
  LLVMValueRef z = LLVMGetParam(f, 0), y = LLVMGetParam(f, 1), dz = LLVMGetParam(f, 2),
               n = LLVMGetParam(f, 3), rows = LLVMGetParam(f, weighted ? 5 : 4),
               nmean = LLVMGetParam(f, weighted ? 6 : 5);
  LLVMValueRef inv_n = fdiv(e, fc(e, 1), LLVMBuildSIToFP(e->b, nmean, e->T, ""));
  LLVMValueRef total = var(e, e->T, fc(e, 0), "total");
  Loop R, J;
  LLVMValueRef r = loop_open(e, &R, ic(e, 0), n, 1, "row");
  LLVMValueRef yv = ld(e, y, row_of(e, rows, r));
  LLVMValueRef zrow = gep(e, z, imul(e, r, ic(e, U)));
  LLVMValueRef drow = gep(e, dz, imul(e, r, ic(e, U)));
  LLVMValueRef l = NULL, g = NULL;  /* per-row loss; gradient for U == 1 */
  if (loss == RT_LOSS_CE) {
    /* Saturating: a label that is no class index matches no class, and the
     * conversion is never poison. */
    LLVMTypeRef tys[2] = {e->i64, e->T};
    unsigned sat = LLVMLookupIntrinsicID("llvm.fptosi.sat", 15);
    LLVMValueRef satf = LLVMGetIntrinsicDeclaration(e->m, sat, tys, 2);
    LLVMValueRef cls = LLVMBuildCall2(e->b, LLVMIntrinsicGetType(e->c, sat, tys, 2), satf, &yv, 1, "cls");
    LLVMValueRef mx = var(e, e->T, fc(e, -__builtin_inf()), "max");
    LLVMValueRef j = loop_open(e, &J, ic(e, 0), ic(e, U), 1, "ce.max");
    set(e, mx, fmax_(e, get(e, mx), ld(e, zrow, j)));
    loop_close(e, &J);
    LLVMValueRef m = get(e, mx);
    LLVMValueRef sum = var(e, e->T, fc(e, 0), "sum");
    LLVMValueRef zy = var(e, e->T, fc(e, 0), "zy");
    j = loop_open(e, &J, ic(e, 0), ic(e, U), 1, "ce.sum");
    LLVMValueRef zj = ld(e, zrow, j);
    set(e, sum, fadd(e, get(e, sum), fexp(e, fsub(e, zj, m))));
    LLVMValueRef hit = LLVMBuildICmp(e->b, LLVMIntEQ, j, cls, "");
    set(e, zy, fadd(e, get(e, zy), LLVMBuildSelect(e->b, hit, zj, fc(e, 0), "")));
    loop_close(e, &J);
    LLVMValueRef lse = fadd(e, m, flog(e, get(e, sum)));
    l = fsub(e, lse, get(e, zy));
    LLVMValueRef wr = NULL;
    if (weighted) {
      /* a label outside 0..U-1 (no class) weighs as class 0 or U-1 */
      LLVMValueRef ci = LLVMBuildSelect(e->b, LLVMBuildICmp(e->b, LLVMIntSLT, cls, ic(e, 0), ""),
                                        ic(e, 0), cls, "");
      ci = LLVMBuildSelect(e->b, LLVMBuildICmp(e->b, LLVMIntSGT, ci, ic(e, U - 1), ""),
                           ic(e, U - 1), ci, "");
      wr = class_weight(e, LLVMGetParam(f, 4), ci);
      l = fmul(e, l, wr);
    }
    if (lg) {
      j = loop_open(e, &J, ic(e, 0), ic(e, U), 1, "ce.grad");
      LLVMValueRef pj = fexp(e, fsub(e, ld(e, zrow, j), lse));
      LLVMValueRef hit2 = LLVMBuildICmp(e->b, LLVMIntEQ, j, cls, "");
      LLVMValueRef oh = LLVMBuildSelect(e->b, hit2, fc(e, 1), fc(e, 0), "");
      LLVMValueRef gj = fmul(e, fsub(e, pj, oh), inv_n);
      st(e, wr ? fmul(e, gj, wr) : gj, drow, j);
      loop_close(e, &J);
    }
  } else {
    LLVMValueRef zv = ld(e, zrow, ic(e, 0));
    if (loss == RT_LOSS_BCE) {
      /* max(z,0) - z y + log1p(exp(-|z|)); gradient sigmoid(z) - y. */
      LLVMValueRef ez = fexp(e, LLVMBuildFNeg(e->b, fabs_(e, zv), ""));
      l = fadd(e, fsub(e, fmax_(e, zv, fc(e, 0)), fmul(e, zv, yv)), flog1p(e, ez));
      g = fsub(e, act_val(e, RT_ACT_SIGMOID, zv), yv);
    } else if (loss == RT_LOSS_MAE) {
      LLVMValueRef d = fsub(e, zv, yv);
      l = fabs_(e, d);
      LLVMValueRef pos = LLVMBuildFCmp(e->b, LLVMRealOGT, d, fc(e, 0), "");
      LLVMValueRef neg = LLVMBuildFCmp(e->b, LLVMRealOLT, d, fc(e, 0), "");
      g = LLVMBuildSelect(e->b, pos, fc(e, 1), LLVMBuildSelect(e->b, neg, fc(e, -1), fc(e, 0), ""), "");
    } else {
      LLVMValueRef d = fsub(e, zv, yv);
      l = fmul(e, d, d);
      g = fmul(e, d, fc(e, 2));
    }
    if (weighted) {
      LLVMValueRef pos = LLVMBuildFCmp(e->b, LLVMRealOGT, yv, fc(e, 0.5), "");
      LLVMValueRef wr = class_weight(e, LLVMGetParam(f, 4),
                                     LLVMBuildSelect(e->b, pos, ic(e, 1), ic(e, 0), ""));
      l = fmul(e, l, wr);
      g = fmul(e, g, wr);
    }
    if (lg) {
      g = fmul(e, g, inv_n);
      if (ag) g = fmul(e, g, act_deriv(e, (RtAct)ag->sub, zv));
      st(e, g, drow, ic(e, 0));
    }
  }
  set(e, total, fadd(e, get(e, total), l));
  loop_close(e, &R);
  LLVMBuildRet(e->b, get(e, total));
  fn_end(e);
}

/* dense_bwd_x(dz, W, a, dzp, n[, seed, step], wt):
 * dzp[r,k] = f'(a[r,k]) * sum_j dz[r,j] W[k,j]. With inputs a multiple of
 * VL, W is first transposed into the scratch wt (U x K, a few thousand
 * elements) so the product is the forward's register-blocked matmul
 * dz @ wt, vectorized along k with no reductions across lanes; the dropout
 * mask and the derivative of the layer below follow in a pass over the
 * tile's rows. Otherwise one reassociable dot per element. The input
 * gradient never reaches memory without the derivative applied. */
static void emit_dense_bwd_x(Emit *e, const Kernel *k) {
  const PlanOp *nt = kfind(e, k, OP_PLAN_MATMUL_NT);
  const PlanOp *ag = kfind(e, k, OP_PLAN_ACT_GRAD);
  const PlanOp *dg = kfind(e, k, OP_PLAN_DROPOUT_GRAD);
  const Tensor *W = &e->p->t[nt->in[1]];
  int K = W->rows, U = W->cols, VL = vlanes(e);
  /* with dropout: (..., n, seed, step); the mask multiplies the upstream gradient */
  LLVMTypeRef ps[] = {e->ptr, e->ptr, e->ptr, e->ptr, e->i64, e->i64, e->i64, e->ptr};
  int np = dg ? 8 : 6;
  if (!dg) ps[5] = e->ptr;
  LLVMValueRef f = fn_begin(e, k->name, e->vd, ps, np, true);
  if (dg)
    name_params(f, (const char *const[]){"dz", "w", "a", "dzp", "n", "seed", "step", "wt", NULL});
  else
    name_params(f, (const char *const[]){"dz", "w", "a", "dzp", "n", "wt", NULL});
  LLVMValueRef dz = LLVMGetParam(f, 0), w = LLVMGetParam(f, 1), a = LLVMGetParam(f, 2),
               dzp = LLVMGetParam(f, 3), n = LLVMGetParam(f, 4),
               wt = LLVMGetParam(f, (unsigned)np - 1);
  LLVMValueRef ds = dg && k->train ? drop_stream(e, LLVMGetParam(f, 5), LLVMGetParam(f, 6), dg->sub)
                                   : NULL;
  double rate = dg ? e->p->model->dropout[dg->sub] : 0;
  RtAct act = ag ? (RtAct)ag->sub : RT_ACT_IDENTITY;
  bool deriv = act != RT_ACT_SOFTMAX && act != RT_ACT_IDENTITY;
  Loop R, KL, J;
  if (K % VL == 0) {
    LLVMValueRef kk = loop_open(e, &KL, ic(e, 0), ic(e, K), 1, "wt.k");
    LLVMValueRef j = loop_open(e, &J, ic(e, 0), ic(e, U), 1, "wt.j");
    st(e, ld(e, w, iadd(e, imul(e, kk, ic(e, U)), j)), wt, iadd(e, imul(e, j, ic(e, K)), kk));
    loop_close(e, &J);
    loop_close(e, &KL);
    int nv = col_vectors(e, K);
    LLVMValueRef r = loop_open(e, &R, ic(e, 0), n, MR, "row.block");   /* as in dense_fwd */
    LLVMValueRef drow[MR], orow[MR];
    for (int i = 0; i < MR; i++) {
      LLVMValueRef ri = last_row(e, iadd(e, r, ic(e, i)), n);
      drow[i] = gep(e, dz, imul(e, ri, ic(e, U)));
      orow[i] = gep(e, dzp, imul(e, ri, ic(e, K)));
    }
    Loop C;
    LLVMValueRef j0 = loop_open(e, &C, ic(e, 0), ic(e, K), nv * VL, "cols");
    fwd_block(e, drow, orow, MR, wt, NULL, U, K, j0, nv, false);
    loop_close(e, &C);
    loop_close(e, &R);
    if (ds || deriv) {
      LLVMValueRef r = loop_open(e, &R, ic(e, 0), n, 1, "post");
      kk = loop_open(e, &KL, ic(e, 0), ic(e, K), 1, "k");
      LLVMValueRef at = iadd(e, imul(e, r, ic(e, K)), kk);
      LLVMValueRef v = ld(e, dzp, at);
      if (ds) v = fmul(e, v, drop_mask(e, ds, at, rate));
      if (deriv) v = fmul(e, v, act_deriv(e, act, ld(e, a, at)));
      st(e, v, dzp, at);
      loop_close(e, &KL);
      loop_close(e, &R);
    }
  } else {
    LLVMValueRef r = loop_open(e, &R, ic(e, 0), n, 1, "row");
    LLVMValueRef drow = gep(e, dz, imul(e, r, ic(e, U)));
    LLVMValueRef arow = gep(e, a, imul(e, r, ic(e, K)));
    LLVMValueRef orow = gep(e, dzp, imul(e, r, ic(e, K)));
    LLVMValueRef kk = loop_open(e, &KL, ic(e, 0), ic(e, K), 1, "k");
    LLVMValueRef wrow = gep(e, w, imul(e, kk, ic(e, U)));
    LLVMValueRef s = var(e, e->T, NULL, "dot");
    set(e, s, fc(e, 0));
    LLVMValueRef j = loop_open(e, &J, ic(e, 0), ic(e, U), 1, "dot");
    set(e, s, fadd(e, get(e, s), fmul(e, ld(e, drow, j), ld(e, wrow, j))));
    loop_close(e, &J);
    LLVMValueRef v = get(e, s);
    if (ds) v = fmul(e, v, drop_mask(e, ds, iadd(e, imul(e, r, ic(e, K)), kk), rate));
    if (deriv) v = fmul(e, v, act_deriv(e, act, ld(e, arow, kk)));
    st(e, v, orow, kk);
    loop_close(e, &KL);
    loop_close(e, &R);
  }
  if (act == RT_ACT_SOFTMAX) {
    /* Softmax's Jacobian couples the row: dz = a * (da - <da, a>). */
    LLVMValueRef r = loop_open(e, &R, ic(e, 0), n, 1, "sm.row");
    LLVMValueRef arow = gep(e, a, imul(e, r, ic(e, K)));
    LLVMValueRef orow = gep(e, dzp, imul(e, r, ic(e, K)));
    LLVMValueRef d = var(e, e->T, fc(e, 0), "sdot");
    LLVMValueRef kk = loop_open(e, &KL, ic(e, 0), ic(e, K), 1, "sm.dot");
    set(e, d, fadd(e, get(e, d), fmul(e, ld(e, orow, kk), ld(e, arow, kk))));
    loop_close(e, &KL);
    LLVMValueRef dv = get(e, d);
    kk = loop_open(e, &KL, ic(e, 0), ic(e, K), 1, "sm.grad");
    st(e, fmul(e, ld(e, arow, kk), fsub(e, ld(e, orow, kk), dv)), orow, kk);
    loop_close(e, &KL);
    loop_close(e, &R);
  }
  LLVMBuildRetVoid(e->b);
  fn_end(e);
}

/* Hyperparameters as the element type, loaded once per kernel call: the
 * first seven fields of MlxHyper always, the later ones when the train uses
 * them (the rest stay NULL). */
typedef struct Hyper {
  LLVMValueRef lr, mom, b1, b2, eps, bc1, bc2, pad, wd, rho, l1, l2, clip, one_b1, one_b2,
      one_rho;
  LLVMValueRef l1w, l2w;     /* the penalties of the weights being stepped (NULL: none) */
  LLVMValueRef step_size;   /* adam: lr / bc1 */
  LLVMValueRef inv_sqrt_bc2; /* adam: 1 / sqrt(bc2) */
} Hyper;

static Hyper load_hyper(Emit *e, LLVMValueRef h) {
  const RtTrainCfg *cfg = e->p->cfg;
  bool use[13] = {1, 1, 1, 1, 1, 1, 1, 0, cfg->opt == RT_OPT_ADAMW, cfg->opt == RT_OPT_RMSPROP,
                  cfg->l1 != 0, cfg->l2 != 0, cfg->clip != RT_CLIP_NONE};
  LLVMValueRef v[13] = {0};
  for (int i = 0; i < 13; i++) {
    if (!use[i]) continue;
    LLVMValueRef idx = LLVMConstInt(e->i64, (unsigned)i, 0);
    LLVMValueRef x = LLVMBuildLoad2(e->b, e->f32, LLVMBuildInBoundsGEP2(e->b, e->f32, h, &idx, 1, ""), "");
    v[i] = e->dt == DT_F32 ? x : LLVMBuildFPExt(e->b, x, e->T, "");
  }
  Hyper H = {v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8], v[9], v[10], v[11], v[12],
             NULL, NULL, NULL, NULL, NULL, NULL, NULL};
  H.l1w = H.l1;   /* the train's; layer_penalties may replace them */
  H.l2w = H.l2;
  H.one_b1 = fsub(e, fc(e, 1), H.b1);
  H.one_b2 = fsub(e, fc(e, 1), H.b2);
  if (H.rho) H.one_rho = fsub(e, fc(e, 1), H.rho);
  /* adam's per-step scalars once per call, so each weight costs one square
   * root and one division (PyTorch's form: sqrt(v) / sqrt(bc2) + eps) */
  H.step_size = fdiv(e, H.lr, H.bc1);
  H.inv_sqrt_bc2 = fdiv(e, fc(e, 1), fsqrt(e, H.bc2));
  return H;
}

/* Layer l's own `l1`/`l2` replace the train's for its weights: constants
 * of the model (a zero one removes the penalty). */
static void layer_penalties(Emit *e, Hyper *H, int l) {
  const RtModelDesc *m = e->p->model;
  if (l < 0 || l >= m->n_layers) return;
  if (m->layer_reg[l] & 1) H->l1w = m->layer_l1[l] != 0 ? fc(e, m->layer_l1[l]) : NULL;
  if (m->layer_reg[l] & 2) H->l2w = m->layer_l2[l] != 0 ? fc(e, m->layer_l2[l]) : NULL;
}

/* The layer whose weights start at params offset off, or -1. */
static int layer_of_weights(const Emit *e, int64_t off) {
  int64_t wo[RT_MAX_LAYERS], bo[RT_MAX_LAYERS];
  rt_param_layout(e->p->model, wo, bo);
  for (int l = 0; l < e->p->model->n_layers; l++)
    if (wo[l] == off) return l;
  return -1;
}

/* The gradient a weight (not a bias) is stepped with under l1/l2:
 * g + l1 sign(w) + l2 w. Only the penalties asked for are emitted. */
static LLVMValueRef reg_grad(Emit *e, const Hyper *H, LLVMValueRef wv, LLVMValueRef g) {
  if (H->l1w) {
    LLVMValueRef pos = LLVMBuildFCmp(e->b, LLVMRealOGT, wv, fc(e, 0), "");
    LLVMValueRef neg = LLVMBuildFCmp(e->b, LLVMRealOLT, wv, fc(e, 0), "");
    LLVMValueRef sg = LLVMBuildSelect(e->b, pos, fc(e, 1),
                                      LLVMBuildSelect(e->b, neg, fc(e, -1), fc(e, 0), ""), "");
    g = fadd(e, g, fmul(e, H->l1w, sg));
  }
  if (H->l2w) g = fadd(e, g, fmul(e, H->l2w, wv));
  return g;
}

/* One parameter's optimizer step from its gradient g, in place (PyTorch's
 * formulas). With reg, l1/l2 (weights only) are added to g and clip value
 * clamps it first; the clip norm path has done both already.
 * sgd      v = momentum v + g;  w -= lr v  (nesterov: w -= lr (g + momentum v))
 * adam     m = b1 m + (1-b1) g;  v = b2 v + (1-b2) g^2;
 *          w -= (lr / bc1) m / (sqrt(v) / sqrt(bc2) + eps)
 * adamw    w *= 1 - lr weight_decay (weights only), then adam
 * adagrad  s += g^2;  w -= lr g / (sqrt(s) + eps)
 * rmsprop  s = rho s + (1-rho) g^2;  b = momentum b + g / (sqrt(s) + eps);  w -= lr b */
static void emit_update(Emit *e, RtOpt opt, const Hyper *H, LLVMValueRef w, LLVMValueRef s1,
                        LLVMValueRef s2, LLVMValueRef idx, LLVMValueRef g, bool weight,
                        bool reg) {
  const RtTrainCfg *cfg = e->p->cfg;
  LLVMValueRef wv = ld(e, w, idx);
  if (reg) {
    if (weight) g = reg_grad(e, H, wv, g);
    if (cfg->clip == RT_CLIP_VALUE)
      g = fmax_(e, fmin_(e, g, H->clip), LLVMBuildFNeg(e->b, H->clip, ""));
  }
  switch (opt) {
  case RT_OPT_ADAM:
  case RT_OPT_ADAMW: {
    if (opt == RT_OPT_ADAMW && weight)
      wv = fmul(e, wv, fsub(e, fc(e, 1), fmul(e, H->lr, H->wd)));
    LLVMValueRef m = fadd(e, fmul(e, H->b1, ld(e, s1, idx)), fmul(e, H->one_b1, g));
    LLVMValueRef v = fadd(e, fmul(e, H->b2, ld(e, s2, idx)), fmul(e, H->one_b2, fmul(e, g, g)));
    st(e, m, s1, idx);
    st(e, v, s2, idx);
    LLVMValueRef den = fadd(e, fmul(e, fsqrt(e, v), H->inv_sqrt_bc2), H->eps);
    st(e, fsub(e, wv, fdiv(e, fmul(e, H->step_size, m), den)), w, idx);
    break;
  }
  case RT_OPT_ADAGRAD: {
    LLVMValueRef sq = fadd(e, ld(e, s1, idx), fmul(e, g, g));
    st(e, sq, s1, idx);
    LLVMValueRef den = fadd(e, fsqrt(e, sq), H->eps);
    st(e, fsub(e, wv, fdiv(e, fmul(e, H->lr, g), den)), w, idx);
    break;
  }
  case RT_OPT_RMSPROP: {
    LLVMValueRef sq = fadd(e, fmul(e, H->rho, ld(e, s1, idx)), fmul(e, H->one_rho, fmul(e, g, g)));
    st(e, sq, s1, idx);
    LLVMValueRef den = fadd(e, fsqrt(e, sq), H->eps);
    LLVMValueRef bv = fadd(e, fmul(e, H->mom, ld(e, s2, idx)), fdiv(e, g, den));
    st(e, bv, s2, idx);
    st(e, fsub(e, wv, fmul(e, H->lr, bv)), w, idx);
    break;
  }
  default: {
    LLVMValueRef v = fadd(e, fmul(e, H->mom, ld(e, s1, idx)), g);
    st(e, v, s1, idx);
    LLVMValueRef d = cfg->nesterov ? fadd(e, g, fmul(e, H->mom, v)) : v;
    st(e, fsub(e, wv, fmul(e, H->lr, d)), w, idx);
    break;
  }
  }
}

/* One weight-gradient register block over the tile's rows [r0, r1): adds
 * sum_r a[r,k] dz[r,j] for inputs k0 .. k0+mk and columns [j0, j0 + nv VL)
 * onto G (K x U, row-major), row after row; on the first chunk (first) the
 * sums start from 0 instead of G. Chunks of rows keep dz's rows in L1
 * while every input block reads them, and each element still sums the rows
 * in order, so chunking changes no bit. */
static void bwdw_block(Emit *e, LLVMValueRef k0, int mk, LLVMValueRef j0, int nv, LLVMValueRef r0,
                       LLVMValueRef r1, LLVMValueRef first, LLVMValueRef a, LLVMValueRef rows,
                       LLVMValueRef dz, LLVMValueRef G, int K, int U) {
  int VL = vlanes(e);
  LLVMValueRef acc[MK][NV_MAX], off[MK];
  LLVMValueRef zero = LLVMConstNull(vtype(e));
  for (int q = 0; q < mk; q++) {
    off[q] = iadd(e, imul(e, iadd(e, k0, ic(e, q)), ic(e, U)), j0);
    for (int v = 0; v < nv; v++) {
      LLVMValueRef g = vload(e, G, iadd(e, off[q], ic(e, v * VL)));
      acc[q][v] = var(e, vtype(e), LLVMBuildSelect(e->b, first, zero, g, ""), "acc");
    }
  }
  Loop R;
  LLVMValueRef r = loop_open(e, &R, r0, r1, 1, "row");
  LLVMValueRef arow = gep(e, a, imul(e, row_of(e, rows, r), ic(e, K)));
  LLVMValueRef drow = gep(e, dz, iadd(e, imul(e, r, ic(e, U)), j0));
  LLVMValueRef dv[NV_MAX];
  for (int v = 0; v < nv; v++) dv[v] = vload(e, drow, ic(e, v * VL));
  for (int q = 0; q < mk; q++) {
    LLVMValueRef av = vsplat(e, ld(e, arow, iadd(e, k0, ic(e, q))));
    for (int v = 0; v < nv; v++) set(e, acc[q][v], fadd(e, vget(e, acc[q][v]), fmul(e, av, dv[v])));
  }
  loop_close(e, &R);
  for (int q = 0; q < mk; q++)
    for (int v = 0; v < nv; v++) vstore(e, vget(e, acc[q][v]), G, iadd(e, off[q], ic(e, v * VL)));
}

/* dense_bwd_w(a, dz, W, b, sW1, sW2, sb1, sb2, gW, gb, n, hyper, rows).
 * The weight gradient sum_r a[r,k] dz[r,j] over the tile, each element
 * summed over the rows in order, in one of three forms:
 * - units a multiple of VL: register blocks of MK inputs by nv vectors,
 *   the row loop innermost;
 * - one unit: the whole column accumulates along the inputs row by row
 *   (an axpy over each contiguous input row);
 * - otherwise a row of the gradient at a time (axpy over dz's rows).
 * Then the optimizer updates those weights at once (step: the gradient never
 * exists in full; g is the scratch row) or the sums are the gradient (gW).
 * The bias is the same with a = 1. A layer reading the input matrix reads
 * row rows[r] when given. */
static void emit_dense_bwd_w(Emit *e, const Kernel *k) {
  const PlanOp *tn = kfind(e, k, OP_PLAN_MATMUL_TN);
  const Plan *p = e->p;
  const Tensor *W = &p->t[p->t[tn->out].param];
  int K = W->rows, U = W->cols;
  RtOpt opt = p->cfg->opt;
  LLVMTypeRef ps[] = {e->ptr, e->ptr, e->ptr, e->ptr, e->ptr, e->ptr, e->ptr,
                      e->ptr, e->ptr, e->ptr, e->i64, e->ptr, e->ptr};
  LLVMValueRef f = fn_begin(e, k->name, e->vd, ps, 13, true);
  name_params(f, (const char *const[]){"a", "dz", "w", "b", "sw1", "sw2", "sb1", "sb2", "gw", "gb",
                                       "n", "hyper", "rows", NULL});
  LLVMValueRef a = LLVMGetParam(f, 0), dz = LLVMGetParam(f, 1), w = LLVMGetParam(f, 2),
               b = LLVMGetParam(f, 3), sw1 = LLVMGetParam(f, 4), sw2 = LLVMGetParam(f, 5),
               sb1 = LLVMGetParam(f, 6), sb2 = LLVMGetParam(f, 7), gw = LLVMGetParam(f, 8),
               gb = LLVMGetParam(f, 9), n = LLVMGetParam(f, 10), h = LLVMGetParam(f, 11);
  LLVMValueRef rows = p->t[tn->in[0]].buf == BUF_X ? LLVMGetParam(f, 12) : NULL;
  Hyper H = {0};
  if (k->update) {
    H = load_hyper(e, h);
    layer_penalties(e, &H, layer_of_weights(e, W->off));
  }
  Loop KL, R, J;
  if (U % vlanes(e) == 0) {
    /* G: the whole weight gradient (the scratch, stepped below; or gW) */
    LLVMValueRef G = gw;
    int nv = col_vectors(e, U), kfull = K - K % MK;
    int rc_rows = 4096 / U > 8 ? 4096 / U : 8;   /* a chunk of dz: 16 KiB of floats */
    LLVMValueRef nz = LLVMBuildSelect(e->b, LLVMBuildICmp(e->b, LLVMIntSGT, n, ic(e, 0), ""), n,
                                      ic(e, 1), "");   /* one chunk even for no rows: G = 0 */
    Loop RC, C;
    LLVMValueRef r0 = loop_open(e, &RC, ic(e, 0), nz, rc_rows, "chunk");
    LLVMValueRef end = iadd(e, r0, ic(e, rc_rows));
    LLVMValueRef r1 = LLVMBuildSelect(e->b, LLVMBuildICmp(e->b, LLVMIntSLT, end, n, ""), end, n, "");
    r1 = LLVMBuildSelect(e->b, LLVMBuildICmp(e->b, LLVMIntSLT, r1, r0, ""), r0, r1, "");
    LLVMValueRef first = LLVMBuildICmp(e->b, LLVMIntEQ, r0, ic(e, 0), "first");
    LLVMValueRef j0 = loop_open(e, &C, ic(e, 0), ic(e, U), nv * vlanes(e), "cols");
    if (kfull > 0) {
      LLVMValueRef k0 = loop_open(e, &KL, ic(e, 0), ic(e, kfull), MK, "k.block");
      bwdw_block(e, k0, MK, j0, nv, r0, r1, first, a, rows, dz, G, K, U);
      loop_close(e, &KL);
    }
    if (kfull < K) {
      LLVMValueRef k0 = loop_open(e, &KL, ic(e, kfull), ic(e, K), 1, "k.tail");
      bwdw_block(e, k0, 1, j0, nv, r0, r1, first, a, rows, dz, G, K, U);
      loop_close(e, &KL);
    }
    loop_close(e, &C);
    loop_close(e, &RC);
    if (k->update) {
      LLVMValueRef i = loop_open(e, &J, ic(e, 0), ic(e, (int64_t)K * U), 1, "upd");
      emit_update(e, opt, &H, w, sw1, plan_opt_slots(opt) == 2 ? sw2 : sw1, i, ld(e, G, i), true,
                  true);
      loop_close(e, &J);
    }
  } else if (U == 1) {
    /* g[k] = sum_r a[r,k] dz[r]: gw is the scratch (update) or the column */
    LLVMValueRef kk = loop_open(e, &KL, ic(e, 0), ic(e, K), 1, "zero");
    st(e, fc(e, 0), gw, kk);
    loop_close(e, &KL);
    LLVMValueRef r = loop_open(e, &R, ic(e, 0), n, 1, "row");
    LLVMValueRef arow = gep(e, a, imul(e, row_of(e, rows, r), ic(e, K)));
    LLVMValueRef d = ld(e, dz, r);
    kk = loop_open(e, &KL, ic(e, 0), ic(e, K), 1, "axpy");
    st(e, fadd(e, ld(e, gw, kk), fmul(e, ld(e, arow, kk), d)), gw, kk);
    loop_close(e, &KL);
    loop_close(e, &R);
    if (k->update) {
      kk = loop_open(e, &KL, ic(e, 0), ic(e, K), 1, "upd");
      emit_update(e, opt, &H, w, sw1, plan_opt_slots(opt) == 2 ? sw2 : sw1, kk, ld(e, gw, kk),
                  true, true);
      loop_close(e, &KL);
    }
  } else {
    LLVMValueRef kk = loop_open(e, &KL, ic(e, 0), ic(e, K), 1, "k");
    LLVMValueRef off = imul(e, kk, ic(e, U));
    LLVMValueRef g = k->update ? gw : gep(e, gw, off);
    LLVMValueRef j = loop_open(e, &J, ic(e, 0), ic(e, U), 1, "zero");
    st(e, fc(e, 0), g, j);
    loop_close(e, &J);
    LLVMValueRef r = loop_open(e, &R, ic(e, 0), n, 1, "row");
    LLVMValueRef av = ld(e, a, iadd(e, imul(e, row_of(e, rows, r), ic(e, K)), kk));
    LLVMValueRef drow = gep(e, dz, imul(e, r, ic(e, U)));
    j = loop_open(e, &J, ic(e, 0), ic(e, U), 1, "axpy");
    st(e, fadd(e, ld(e, g, j), fmul(e, av, ld(e, drow, j))), g, j);
    loop_close(e, &J);
    loop_close(e, &R);
    if (k->update) {
      LLVMValueRef wrow = gep(e, w, off), s1 = gep(e, sw1, off);
      LLVMValueRef s2 = plan_opt_slots(opt) == 2 ? gep(e, sw2, off) : s1;
      j = loop_open(e, &J, ic(e, 0), ic(e, U), 1, "upd");
      emit_update(e, opt, &H, wrow, s1, s2, j, ld(e, g, j), true, true);
      loop_close(e, &J);
    }
    loop_close(e, &KL);
  }
  /* bias */
  LLVMValueRef gbb = k->update ? gw : gb;
  LLVMValueRef j = loop_open(e, &J, ic(e, 0), ic(e, U), 1, "bzero");
  st(e, fc(e, 0), gbb, j);
  loop_close(e, &J);
  LLVMValueRef r = loop_open(e, &R, ic(e, 0), n, 1, "brow");
  LLVMValueRef drow = gep(e, dz, imul(e, r, ic(e, U)));
  j = loop_open(e, &J, ic(e, 0), ic(e, U), 1, "bsum");
  st(e, fadd(e, ld(e, gbb, j), ld(e, drow, j)), gbb, j);
  loop_close(e, &J);
  loop_close(e, &R);
  if (k->update) {
    j = loop_open(e, &J, ic(e, 0), ic(e, U), 1, "bupd");
    emit_update(e, opt, &H, b, sb1, plan_opt_slots(opt) == 2 ? sb2 : sb1, j, ld(e, gbb, j),
                false, true);
    loop_close(e, &J);
  }
  LLVMBuildRetVoid(e->b);
  fn_end(e);
}

/* ---- entry points -------------------------------------------------------- */

/* Base pointers an entry hands to its kernels. */
typedef struct Bases {
  LLVMValueRef params, state, work, x, y, grad, out;
  LLVMValueRef rows;  /* the tile's row numbers in x and y (identity_rows but in mlx_step_rows) */
  LLVMValueRef nmean; /* the rows the loss is a mean over (NULL: the tile's n) */
  bool predict;       /* the model output goes to out */
} Bases;

static LLVMValueRef tptr(Emit *e, const Bases *B, int t) {
  LLVMValueRef null = LLVMConstNull(e->ptr);
  if (t < 0) return null;
  const Tensor *T = &e->p->t[t];
  if (B->predict && t == e->p->pred) return B->out;
  LLVMValueRef base = NULL;
  switch (T->buf) {
  case BUF_X: base = B->x; break;
  case BUF_Y: base = B->y; break;
  case BUF_PARAM: base = B->params; break;
  case BUF_STATE: base = B->state; break;
  case BUF_WORK: base = B->work; break;
  case BUF_GRAD: base = B->grad; break;
  case BUF_OUT: base = B->out; break;
  default: base = NULL; break;
  }
  if (!base) return null;
  return T->off ? gep(e, base, ic(e, T->off)) : base;
}

/* The dropout seed and step a kernel is called with: from the step's hyper,
 * the train seed and step 0 in the grad entry, zeros where masks are off. */
static void drop_args(Emit *e, const Kernel *k, LLVMValueRef hyper, LLVMValueRef *args, int *na) {
  LLVMValueRef seed = ic(e, 0), step = ic(e, 0);
  if (k->train && hyper) {
    LLVMValueRef o1 = ic(e, (int64_t)offsetof(MlxHyper, seed));
    LLVMValueRef o2 = ic(e, (int64_t)offsetof(MlxHyper, step));
    LLVMTypeRef i8 = LLVMInt8TypeInContext(e->c);
    seed = LLVMBuildLoad2(e->b, e->i64, LLVMBuildInBoundsGEP2(e->b, i8, hyper, &o1, 1, ""), "seed");
    step = LLVMBuildLoad2(e->b, e->i64, LLVMBuildInBoundsGEP2(e->b, i8, hyper, &o2, 1, ""), "step");
  } else if (k->train) {
    seed = u64c(e, e->p->cfg->seed);
  }
  args[(*na)++] = seed;
  args[(*na)++] = step;
}

/* A constant f32 table of ones, one per output unit: the class weights of
 * the gradient entry (a gradient check sees the unweighted loss). */
static LLVMValueRef ones_table(Emit *e) {
  LLVMValueRef g = LLVMGetNamedGlobal(e->m, "mlx_class_w_ones");
  if (g) return g;
  int U = e->p->model->layers[e->p->model->n_layers - 1].units;
  if (U < 2) U = 2;
  LLVMValueRef *v = malloc(sizeof(LLVMValueRef) * (size_t)U);
  for (int i = 0; i < U; i++) v[i] = LLVMConstReal(e->f32, 1.0);
  LLVMTypeRef ty = LLVMArrayType2(e->f32, (uint64_t)U);
  g = LLVMAddGlobal(e->m, ty, "mlx_class_w_ones");
  LLVMSetInitializer(g, LLVMConstArray2(e->f32, v, (uint64_t)U));
  LLVMSetGlobalConstant(g, 1);
  LLVMSetLinkage(g, LLVMPrivateLinkage);
  free(v);
  return g;
}

/* Calls kernel k with the pointers its ops name; returns what it returns. */
static LLVMValueRef call_kernel(Emit *e, const Bases *B, const Kernel *k, LLVMValueRef n,
                                LLVMValueRef hyper) {
  LLVMValueRef f = LLVMGetNamedFunction(e->m, k->name);
  LLVMValueRef args[16];
  int na = 0;
  const Plan *p = e->p;
  LLVMValueRef null = LLVMConstNull(e->ptr);
  switch (k->kind) {
  case K_DENSE_FWD: {
    const PlanOp *mm = kfind(e, k, OP_PLAN_MATMUL), *ba = kfind(e, k, OP_PLAN_BIAS_ADD);
    const PlanOp *last = kop(e, k, k->nops - 1);
    args[na++] = tptr(e, B, mm->in[0]);
    args[na++] = tptr(e, B, mm->in[1]);
    args[na++] = ba ? tptr(e, B, ba->in[1]) : null;
    if (last->kind == OP_PLAN_DROPOUT) {
      args[na++] = tptr(e, B, last->in[0]);
      args[na++] = n;
      args[na++] = tptr(e, B, last->out);
      drop_args(e, k, hyper, args, &na);
      goto call;
    }
    args[na++] = tptr(e, B, last->out);
    args[na++] = n;
    goto call;
  }
  case K_LOSS: {
    const PlanOp *lo = kfind(e, k, OP_PLAN_LOSS), *last = kop(e, k, k->nops - 1);
    args[na++] = tptr(e, B, lo->in[0]);
    args[na++] = tptr(e, B, lo->in[1]);
    args[na++] = last != lo ? tptr(e, B, last->out) : null;
    if (loss_weighted(e)) {
      /* the step reads the table from hyper; elsewhere every class weighs 1 */
      args[na++] = n;
      LLVMValueRef cw = ones_table(e);
      if (hyper) {
        LLVMValueRef o = ic(e, (int64_t)offsetof(MlxHyper, class_w));
        LLVMTypeRef i8 = LLVMInt8TypeInContext(e->c);
        cw = LLVMBuildLoad2(e->b, e->ptr, LLVMBuildInBoundsGEP2(e->b, i8, hyper, &o, 1, ""), "cw");
      }
      args[na++] = cw;
      goto call;
    }
    args[na++] = n;
    goto call;
  }
  case K_DENSE_BWD_X: {
    const PlanOp *nt = kfind(e, k, OP_PLAN_MATMUL_NT), *ag = kfind(e, k, OP_PLAN_ACT_GRAD);
    const PlanOp *last = kop(e, k, k->nops - 1);
    args[na++] = tptr(e, B, nt->in[0]);
    args[na++] = tptr(e, B, nt->in[1]);
    args[na++] = ag ? tptr(e, B, ag->in[1]) : null;
    args[na++] = tptr(e, B, last->out);
    args[na++] = n;
    if (kfind(e, k, OP_PLAN_DROPOUT_GRAD)) drop_args(e, k, hyper, args, &na);
    args[na++] = gep(e, B->work, ic(e, e->ks->scratch));   /* wt */
    return LLVMBuildCall2(e->b, LLVMGlobalGetValueType(f), f, args, (unsigned)na, "");
  }
  case K_DENSE_BWD_W: {
    const PlanOp *tn = kfind(e, k, OP_PLAN_MATMUL_TN), *cs = kfind(e, k, OP_PLAN_COLSUM);
    int w = p->t[tn->out].param, b = p->t[cs->out].param;
    LLVMValueRef s[4] = {null, null, null, null};
    for (int i = 0; i < k->nops; i++) {
      const PlanOp *u = kop(e, k, i);
      if (u->kind != OP_PLAN_UPDATE) continue;
      int base = u->in[0] == w ? 0 : 2;
      s[base] = tptr(e, B, u->in[2]);
      if (plan_opt_slots(p->cfg->opt) == 2) s[base + 1] = tptr(e, B, u->in[3]);
    }
    args[na++] = tptr(e, B, tn->in[0]);
    args[na++] = tptr(e, B, tn->in[1]);
    args[na++] = k->update ? tptr(e, B, w) : null;
    args[na++] = k->update ? tptr(e, B, b) : null;
    for (int i = 0; i < 4; i++) args[na++] = s[i];
    if (k->update) {
      args[na++] = gep(e, B->work, ic(e, e->ks->scratch));
      args[na++] = null;
    } else {
      args[na++] = tptr(e, B, tn->out);
      args[na++] = tptr(e, B, cs->out);
    }
    args[na++] = n;
    args[na++] = hyper ? hyper : null;
    goto call;
  }
  default:
    break;
  }
  args[na++] = n;
  return LLVMBuildCall2(e->b, LLVMGlobalGetValueType(f), f, args, (unsigned)na, "");
call:
  /* the kernels that may read the input matrix or the labels take the row list last */
  args[na++] = B->rows ? B->rows : null;
  if (k->kind == K_LOSS) args[na++] = B->nmean ? B->nmean : n;
  return LLVMBuildCall2(e->b, LLVMGlobalGetValueType(f), f, args, (unsigned)na, "");
}

/* min(max(n, 0), batch): the kernels never touch rows past the tile. */
static LLVMValueRef clamp_rows(Emit *e, LLVMValueRef n) {
  LLVMValueRef B = ic(e, e->p->batch);
  LLVMValueRef lo = LLVMBuildSelect(e->b, LLVMBuildICmp(e->b, LLVMIntSLT, n, ic(e, 0), ""),
                                    ic(e, 0), n, "");
  return LLVMBuildSelect(e->b, LLVMBuildICmp(e->b, LLVMIntSGT, lo, B, ""), B, lo, "n");
}

/* Runs a kernel list; returns the loss kernel's result (or 0). */
static LLVMValueRef run_list(Emit *e, const Bases *B, Kernel **ks, int n, LLVMValueRef rows,
                             LLVMValueRef hyper) {
  LLVMValueRef loss = fc(e, 0);
  for (int i = 0; i < n; i++) {
    LLVMValueRef v = call_kernel(e, B, ks[i], rows, hyper);
    if (ks[i]->kind == K_LOSS) loss = v;
  }
  return loss;
}

/* The unfused update: the gradient kernels have written the whole gradient
 * to grad (clip norm, or a step split between threads). With clip norm: add
 * the l1/l2 penalties to the weights' part, take the global L2 norm, scale by
 * min(1, bound / (norm + 1e-6)) as PyTorch's clip_grad_norm_ does, then step
 * every parameter. Otherwise one pass: penalties, clip value, step. Costs
 * the fusion: one more pass over the parameters. */
static void emit_full_update(Emit *e, LLVMValueRef params, LLVMValueRef state,
                             LLVMValueRef grad, LLVMValueRef hyper) {
  const Plan *p = e->p;
  const RtModelDesc *m = p->model;
  RtOpt opt = p->cfg->opt;
  bool norm = p->cfg->clip == RT_CLIP_NORM;
  int64_t wo[RT_MAX_LAYERS], bo[RT_MAX_LAYERS];
  rt_param_layout(m, wo, bo);
  Hyper H = load_hyper(e, hyper);
  LLVMValueRef ss = var(e, e->T, fc(e, 0), "sumsq");
  Loop J;
  for (int pass = norm ? 0 : 1; pass < 2; pass++) {
    LLVMValueRef scale = NULL;
    if (pass == 1 && norm) {
      LLVMValueRef nv = fsqrt(e, get(e, ss));
      LLVMValueRef coef = fdiv(e, H.clip, fadd(e, nv, fc(e, 1e-6)));
      scale = LLVMBuildSelect(e->b, LLVMBuildFCmp(e->b, LLVMRealOLT, coef, fc(e, 1), ""), coef,
                              fc(e, 1), "scale");
    }
    int in = m->n_in;
    for (int l = 0; l < m->n_layers; l++) {
      int u = m->layers[l].units;
      Hyper HL = H;
      layer_penalties(e, &HL, l);
      for (int part = 0; part < 2; part++) {
        bool weight = part == 0;
        int64_t off = weight ? wo[l] : bo[l], len = weight ? (int64_t)in * u : u;
        LLVMValueRef g = gep(e, grad, ic(e, off)), w = gep(e, params, ic(e, off));
        LLVMValueRef j = loop_open(e, &J, ic(e, 0), ic(e, len), 1, pass ? "cupd" : "cnorm");
        if (pass == 0) {
          LLVMValueRef gv = ld(e, g, j);
          if (weight) gv = reg_grad(e, &HL, ld(e, w, j), gv);
          st(e, gv, g, j);
          set(e, ss, fadd(e, get(e, ss), fmul(e, gv, gv)));
        } else {
          LLVMValueRef s1 = gep(e, state, ic(e, off));
          LLVMValueRef s2 = plan_opt_slots(opt) == 2 ? gep(e, state, ic(e, p->n_params + off)) : s1;
          LLVMValueRef gv = ld(e, g, j);
          if (norm) gv = fmul(e, gv, scale);
          emit_update(e, opt, &HL, w, s1, s2, j, gv, weight, !norm);
        }
        loop_close(e, &J);
      }
      in = u;
    }
  }
}

/* The row list 0, 1, ..., batch - 1 in a stack array of the entry being
 * built, for the entries that read their rows in order. */
static LLVMValueRef identity_rows(Emit *e) {
  int64_t batch = e->p->batch > 0 ? e->p->batch : 1;
  LLVMBuilderRef ab = LLVMCreateBuilderInContext(e->c);
  LLVMPositionBuilderAtEnd(ab, e->entry);
  LLVMValueRef a = LLVMBuildAlloca(ab, LLVMArrayType2(e->i64, (uint64_t)batch), "rows");
  LLVMDisposeBuilder(ab);
  Loop L;
  LLVMValueRef i = loop_open(e, &L, ic(e, 0), ic(e, batch), 1, "rows.fill");
  LLVMBuildStore(e->b, i, LLVMBuildInBoundsGEP2(e->b, e->i64, a, &i, 1, ""));
  loop_close(e, &L);
  return a;
}

/* float mlx_step_rows(params, state, work, x, y, rows, n, hyper): one step
 * on rows rows[0..n) of the whole matrices x and y, read in place; rows past
 * the tile are ignored; n <= 0 is no step at all (returns 0, parameters
 * untouched). float mlx_step(params, state, work, x, y, n, hyper) calls it
 * with the rows 0..n-1, so both run the same code. */
static void emit_step(Emit *e) {
  LLVMTypeRef ps[] = {e->ptr, e->ptr, e->ptr, e->ptr, e->ptr, e->ptr, e->i64, e->ptr};
  LLVMValueRef f = fn_begin(e, "mlx_step_rows", e->f32, ps, 8, false);
  name_params(f, (const char *const[]){"params", "state", "work", "x", "y", "rows", "nrows",
                                       "hyper", NULL});
  Bases B = {.params = LLVMGetParam(f, 0), .state = LLVMGetParam(f, 1),
             .work = LLVMGetParam(f, 2), .x = LLVMGetParam(f, 3), .y = LLVMGetParam(f, 4),
             .rows = LLVMGetParam(f, 5)};
  LLVMValueRef hyper = LLVMGetParam(f, 7);
  LLVMValueRef n = clamp_rows(e, LLVMGetParam(f, 6));
  LLVMBasicBlockRef run = LLVMAppendBasicBlockInContext(e->c, f, "run");
  LLVMBasicBlockRef none = LLVMAppendBasicBlockInContext(e->c, f, "none");
  LLVMBuildCondBr(e->b, LLVMBuildICmp(e->b, LLVMIntSGT, n, ic(e, 0), ""), run, none);
  LLVMPositionBuilderAtEnd(e->b, none);
  LLVMBuildRet(e->b, LLVMConstReal(e->f32, 0));
  LLVMPositionBuilderAtEnd(e->b, run);
  if (e->ks->grad_off >= 0) B.grad = gep(e, B.work, ic(e, e->ks->grad_off));
  LLVMValueRef loss = run_list(e, &B, e->ks->step, e->ks->nstep, n, hyper);
  if (e->ks->grad_off >= 0) emit_full_update(e, B.params, B.state, B.grad, hyper);
  if (e->dt != DT_F32) loss = LLVMBuildFPTrunc(e->b, loss, e->f32, "");
  LLVMBuildRet(e->b, loss);
  fn_end(e);
  add_enum_attr(e, f, LLVMAttributeFunctionIndex, "noinline");
  LLVMValueRef rows_fn = f;
  LLVMTypeRef ps2[] = {e->ptr, e->ptr, e->ptr, e->ptr, e->ptr, e->i64, e->ptr};
  f = fn_begin(e, "mlx_step", e->f32, ps2, 7, false);
  name_params(f, (const char *const[]){"params", "state", "work", "x", "y", "nrows", "hyper", NULL});
  LLVMValueRef args[8] = {LLVMGetParam(f, 0), LLVMGetParam(f, 1), LLVMGetParam(f, 2),
                          LLVMGetParam(f, 3), LLVMGetParam(f, 4), identity_rows(e),
                          LLVMGetParam(f, 5), LLVMGetParam(f, 6)};
  LLVMBuildRet(e->b, LLVMBuildCall2(e->b, LLVMGlobalGetValueType(rows_fn), rows_fn, args, 8, ""));
  fn_end(e);
}

/* float mlx_grad_rows(params, work, x, y, rows, n, nmean, hyper): a thread's
 * part of an unfused step: the gradient kernels over rows rows[0..n) into
 * work + grad_off, the mean over nmean rows; no update. void
 * mlx_update(params, state, grad, hyper): the update from the summed
 * gradient. Emitted when the step is unfused. */
static void emit_parts(Emit *e) {
  LLVMTypeRef ps[] = {e->ptr, e->ptr, e->ptr, e->ptr, e->ptr, e->i64, e->i64, e->ptr};
  LLVMValueRef f = fn_begin(e, "mlx_grad_rows", e->f32, ps, 8, false);
  name_params(f, (const char *const[]){"params", "work", "x", "y", "rows", "nrows", "nmean",
                                       "hyper", NULL});
  Bases B = {.params = LLVMGetParam(f, 0), .work = LLVMGetParam(f, 1), .x = LLVMGetParam(f, 2),
             .y = LLVMGetParam(f, 3), .rows = LLVMGetParam(f, 4), .nmean = LLVMGetParam(f, 6)};
  B.grad = gep(e, B.work, ic(e, e->ks->grad_off));
  LLVMValueRef n = clamp_rows(e, LLVMGetParam(f, 5));
  LLVMValueRef loss = run_list(e, &B, e->ks->step, e->ks->nstep, n, LLVMGetParam(f, 7));
  if (e->dt != DT_F32) loss = LLVMBuildFPTrunc(e->b, loss, e->f32, "");
  LLVMBuildRet(e->b, loss);
  fn_end(e);
  LLVMTypeRef pu[] = {e->ptr, e->ptr, e->ptr, e->ptr};
  f = fn_begin(e, "mlx_update", e->vd, pu, 4, false);
  name_params(f, (const char *const[]){"params", "state", "grad", "hyper", NULL});
  emit_full_update(e, LLVMGetParam(f, 0), LLVMGetParam(f, 1), LLVMGetParam(f, 2),
                   LLVMGetParam(f, 3));
  LLVMBuildRetVoid(e->b);
  fn_end(e);
}

/* void mlx_predict(params, work, x, n, out): walks any n in batch tiles. */
static void emit_predict(Emit *e) {
  LLVMTypeRef ps[] = {e->ptr, e->ptr, e->ptr, e->i64, e->ptr};
  LLVMValueRef f = fn_begin(e, "mlx_predict", e->vd, ps, 5, false);
  name_params(f, (const char *const[]){"params", "work", "x", "n", "out", NULL});
  const Plan *p = e->p;
  int nin = p->model->n_in, nout = p->model->layers[p->model->n_layers - 1].units;
  LLVMValueRef n = LLVMGetParam(f, 3);
  LLVMValueRef ids = identity_rows(e);
  Loop T;
  LLVMValueRef t = loop_open(e, &T, ic(e, 0), n, p->batch, "tile");
  LLVMValueRef left = LLVMBuildNSWSub(e->b, n, t, "");
  LLVMValueRef rows = LLVMBuildSelect(e->b, LLVMBuildICmp(e->b, LLVMIntSLT, left, ic(e, p->batch), ""),
                                      left, ic(e, p->batch), "rows");
  Bases B = {.params = LLVMGetParam(f, 0), .work = LLVMGetParam(f, 1),
             .x = gep(e, LLVMGetParam(f, 2), imul(e, t, ic(e, nin))),
             .out = gep(e, LLVMGetParam(f, 4), imul(e, t, ic(e, nout))), .rows = ids,
             .predict = true};
  run_list(e, &B, e->ks->predict, e->ks->npredict, rows, NULL);
  loop_close(e, &T);
  LLVMBuildRetVoid(e->b);
  fn_end(e);
}

/* double mlx_grad(params, grad, work, x, y, n): gradient of the mean loss. */
static void emit_grad(Emit *e) {
  LLVMTypeRef ps[] = {e->ptr, e->ptr, e->ptr, e->ptr, e->ptr, e->i64};
  LLVMValueRef f = fn_begin(e, "mlx_grad", e->f64, ps, 6, false);
  name_params(f, (const char *const[]){"params", "grad", "work", "x", "y", "nrows", NULL});
  Bases B = {.params = LLVMGetParam(f, 0), .grad = LLVMGetParam(f, 1),
             .work = LLVMGetParam(f, 2), .x = LLVMGetParam(f, 3), .y = LLVMGetParam(f, 4)};
  B.rows = identity_rows(e);
  LLVMValueRef n = clamp_rows(e, LLVMGetParam(f, 5));
  LLVMValueRef loss = run_list(e, &B, e->ks->grad, e->ks->ngrad, n, NULL);
  if (e->dt == DT_F32) loss = LLVMBuildFPExt(e->b, loss, e->f64, "");
  LLVMBuildRet(e->b, loss);
  fn_end(e);
}

/* Emits each distinct kernel once, in first-use order across the lists. */
static void emit_kernels(Emit *e, Kernel **ks, int n) {
  for (int i = 0; i < n; i++) {
    if (LLVMGetNamedFunction(e->m, ks[i]->name)) continue;
    switch (ks[i]->kind) {
    case K_DENSE_FWD: emit_dense_fwd(e, ks[i]); break;
    case K_LOSS: emit_loss(e, ks[i]); break;
    case K_DENSE_BWD_X: emit_dense_bwd_x(e, ks[i]); break;
    case K_DENSE_BWD_W: emit_dense_bwd_w(e, ks[i]); break;
    default: break;
    }
    /* each kernel is optimized and compiled once, not again inside every
     * entry that calls it: a call per tile costs nothing next to its loops */
    LLVMValueRef kf = LLVMGetNamedFunction(e->m, ks[i]->name);
    if (kf) add_enum_attr(e, kf, LLVMAttributeFunctionIndex, "noinline");
  }
}

/* The vector width the kernels are written for, chosen when they are
 * compiled: 512 bits (16 floats) where the host has AVX-512, 256 (8 floats,
 * AVX2) elsewhere and for a named CPU other than an AVX-512 one; MLXC_VECTOR_BITS=256|512 overrides
 * (the tests pin it, and run both). A 256-bit block keeps 2 vectors a row:
 * 8 accumulators of AVX2's 16 registers. */
static void vector_width(Emit *e, const char *cpu) {
  const char *env = getenv("MLXC_VECTOR_BITS");
  if (env && (!strcmp(env, "256") || !strcmp(env, "512"))) {
    e->vbits = atoi(env);
  } else if (cpu) {   /* a named CPU: 512 only for an AVX-512 one (aot.c's x86-64-v4 set) */
    e->vbits = !strcmp(cpu, "x86-64-v4") || strstr(cpu, "avx512") ? 512 : 256;
  } else {
    char *feat = LLVMGetHostCPUFeatures();
    e->vbits = feat && strstr(feat, "+avx512f") ? 512 : 256;
    LLVMDisposeMessage(feat);
  }
  e->nv_max = e->vbits == 512 ? NV_MAX : 2;
  snprintf(e->vbits_str, sizeof e->vbits_str, "%d", e->vbits);
}

/* Whether LLVM's host feature string turns on every feature of list. */
static bool host_has(const char *feat, const char *const *list) {
  for (; *list; list++) {
    size_t n = strlen(*list);
    const char *p = feat;
    while ((p = strstr(p, *list)) && p[n] && p[n] != ',') p += n;
    if (!p) return false;
  }
  return true;
}

/* The host as the portable x86-64 level the kernels of `mlxc build` are
 * compiled for (aot.c), so the JIT and a built executable run the same
 * machine code, bit for bit: "x86-64-v4" for 512-bit kernels on AVX-512,
 * "x86-64-v3" for 256-bit ones on AVX2+FMA (malloc'd), else NULL (the
 * host's own name and features). The CPUs' cost models differ, and with
 * reassociation allowed the vectorizer's choices change a sum's order. */
static char *host_level(int vbits) {
  static const char *const v3[] = {"+avx2", "+fma", "+bmi", "+bmi2", "+f16c", "+lzcnt", "+movbe",
                                   NULL};
  static const char *const v4[] = {"+avx512f", "+avx512bw", "+avx512cd", "+avx512dq",
                                   "+avx512vl", NULL};
  char *feat = LLVMGetHostCPUFeatures();
  const char *level = !feat || !host_has(feat, v3) ? NULL
                      : vbits == 512 ? (host_has(feat, v4) ? "x86-64-v4" : NULL) : "x86-64-v3";
  LLVMDisposeMessage(feat);
  return level ? strdup(level) : NULL;
}

LlvmUnit *llvm_emit(KernelSet *ks, const char *cpu) {
  if (!ks) return NULL;
  LlvmUnit *u = calloc(1, sizeof *u);
  if (!u) return NULL;
  /* The unit owns a thread-safe context so the JIT can take the module
   * without copying it; the plain context inside is borrowed from it. */
  u->tsc = LLVMOrcCreateNewThreadSafeContext();
  u->ctx = LLVMOrcThreadSafeContextGetContext(u->tsc);
  u->cpu = cpu && strcmp(cpu, "native") && strcmp(cpu, "host") ? strdup(cpu) : NULL;
  const Plan *p = ks->plan;
  const char *name = p->model->name ? p->model->name : "model";
  u->mod = LLVMModuleCreateWithNameInContext(name, u->ctx);   /* owned by the unit */
  Emit e = {.c = u->ctx, .m = u->mod, .dt = p->dt, .p = p, .ks = ks};
  vector_width(&e, u->cpu);
  if (!u->cpu) u->cpu = host_level(e.vbits);
  e.b = LLVMCreateBuilderInContext(e.c);
  e.f32 = LLVMFloatTypeInContext(e.c);
  e.f64 = LLVMDoubleTypeInContext(e.c);
  e.T = p->dt == DT_F32 ? e.f32 : e.f64;
  e.i64 = LLVMInt64TypeInContext(e.c);
  e.i32 = LLVMInt32TypeInContext(e.c);
  e.i1 = LLVMInt1TypeInContext(e.c);
  e.ptr = LLVMPointerTypeInContext(e.c, 0);
  e.vd = LLVMVoidTypeInContext(e.c);
  e.fmf = LLVMFastMathAllowReassoc | LLVMFastMathAllowContract | LLVMFastMathNoSignedZeros |
          LLVMFastMathAllowReciprocal;
  emit_exp_fn(&e);
  emit_log1p_fn(&e);
  emit_kernels(&e, ks->predict, ks->npredict);
  emit_predict(&e);
  if (p->model->xfeats) xform_emit(e.c, e.m, p->model->xfeats, p->model->n_xfeats);
  if (p->dt == DT_F32) {
    emit_kernels(&e, ks->step, ks->nstep);
    emit_step(&e);
    if (ks->grad_off >= 0) emit_parts(&e);
  }
  if (ks->with_grad) {
    emit_kernels(&e, ks->grad, ks->ngrad);
    emit_grad(&e);
  }
  LLVMDisposeBuilder(e.b);
  char *msg = NULL;
  if (LLVMVerifyModule(u->mod, LLVMReturnStatusAction, &msg)) {
    rt_diag(RT_ERROR, rt_loc_file(name), "internal: generated IR does not verify: %s", msg);
    LLVMDisposeMessage(msg);
    llvm_unit_free(u);
    return NULL;
  }
  LLVMDisposeMessage(msg);
  return u;
}

void llvm_dump_ir(FILE *out, LlvmUnit *u) {
  if (!u) return;
  char *s = LLVMPrintModuleToString(u->mod);
  fputs(s, out);
  LLVMDisposeMessage(s);
}

static void llvm_report(LlvmUnit *u, const char *what, char *msg) {
  rt_diag(RT_ERROR, rt_loc_file(u && u->mod ? LLVMGetModuleIdentifier(u->mod, &(size_t){0}) : "llvm"),
          "%s: %s", what, msg ? msg : "unknown error");
  if (msg) LLVMDisposeMessage(msg);
}

/* The native target is registered once per process (jit.c, under pthread_once). */
static void llvm_init_native(void) { jit_init(); }

/* A target machine for the unit's CPU (the host's name and features when
 * none was asked for), tagged onto the module and every function so the
 * vectorizer sees the real vector width. */
int llvm_optimize(LlvmUnit *u) {
  if (!u || !u->mod) return -1;
  if (u->optimized) return 0;
  llvm_init_native();
  char *triple = LLVMGetDefaultTargetTriple();
  LLVMTargetRef target;
  char *err = NULL;
  if (LLVMGetTargetFromTriple(triple, &target, &err)) {
    llvm_report(u, "no target for this host", err);
    LLVMDisposeMessage(triple);
    return -1;
  }
  char *cpu = u->cpu ? strdup(u->cpu) : LLVMGetHostCPUName();
  char *feat = u->cpu ? strdup("") : LLVMGetHostCPUFeatures();
  if (!u->tm)
    u->tm = LLVMCreateTargetMachine(target, triple, cpu, feat, LLVMCodeGenLevelAggressive,
                                    LLVMRelocPIC, LLVMCodeModelDefault);
  LLVMSetTarget(u->mod, triple);
  LLVMTargetDataRef dl = LLVMCreateTargetDataLayout(u->tm);   /* ours */
  LLVMSetModuleDataLayout(u->mod, dl);                         /* copied into the module */
  LLVMDisposeTargetData(dl);
  for (LLVMValueRef f = LLVMGetFirstFunction(u->mod); f; f = LLVMGetNextFunction(f)) {
    if (LLVMIsDeclaration(f)) continue;
    const char *kv[2][2] = {{"target-cpu", cpu}, {"target-features", feat}};
    for (int i = 0; i < 2; i++)   /* a named CPU's features are its own: "" pins them */
      if (kv[i][1][0] || u->cpu)
        LLVMAddAttributeAtIndex(f, LLVMAttributeFunctionIndex,
                                LLVMCreateStringAttribute(u->ctx, kv[i][0], (unsigned)strlen(kv[i][0]),
                                                          kv[i][1], (unsigned)strlen(kv[i][1])));
  }
  if (u->cpu) free(cpu); else LLVMDisposeMessage(cpu);
  if (u->cpu) free(feat); else LLVMDisposeMessage(feat);
  LLVMDisposeMessage(triple);
  LLVMPassBuilderOptionsRef opts = LLVMCreatePassBuilderOptions();
  LLVMPassBuilderOptionsSetLoopVectorization(opts, 1);
  LLVMPassBuilderOptionsSetSLPVectorization(opts, 1);
  LLVMPassBuilderOptionsSetLoopInterleaving(opts, 1);
  LLVMPassBuilderOptionsSetLoopUnrolling(opts, 1);
  LLVMErrorRef e = LLVMRunPasses(u->mod, "default<O3>", u->tm, opts);
  LLVMDisposePassBuilderOptions(opts);
  if (e) {
    llvm_report(u, "optimization failed", LLVMGetErrorMessage(e));
    return -1;
  }
  u->optimized = true;
  return 0;
}

/* Machine code as assembly text (AT&T), after optimization. */
int llvm_dump_asm(FILE *out, LlvmUnit *u) {
  if (!u) return -1;
  if (llvm_optimize(u)) return -1;
  LLVMMemoryBufferRef buf = NULL;   /* ours once emitted */
  char *err = NULL;
  if (LLVMTargetMachineEmitToMemoryBuffer(u->tm, u->mod, LLVMAssemblyFile, &err, &buf)) {
    llvm_report(u, "assembly output failed", err);
    return -1;
  }
  fwrite(LLVMGetBufferStart(buf), 1, LLVMGetBufferSize(buf), out);
  LLVMDisposeMemoryBuffer(buf);
  return 0;
}

void llvm_unit_free(LlvmUnit *u) {
  if (!u) return;
  if (u->mod) LLVMDisposeModule(u->mod);   /* before the context it lives in */
  if (u->tsc) LLVMOrcDisposeThreadSafeContext(u->tsc);
  if (u->tm) LLVMDisposeTargetMachine(u->tm);
  free(u->cpu);
  free(u);
}

const char *llvm_unit_cpu(const LlvmUnit *u) { return u ? u->cpu : NULL; }

/* For jit.c: hands over the module and its context (the unit forgets them),
 * freeing the rest of the unit. */
void llvm_unit_release(LlvmUnit *u, void **mod, void **tsc) {
  *mod = u->mod;
  *tsc = u->tsc;
  u->mod = NULL;
  u->tsc = NULL;
  llvm_unit_free(u);
}
