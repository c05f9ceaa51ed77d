/* xform_emit.c — the feature transforms as LLVM IR: `mlx_xform` (mlxrt.h
 * MlxXformFn) computes every model input from its frozen postfix program
 * (RtXop, rt.h) or onehot group, row by row, into the float matrix the
 * kernels read. The programs' stack is resolved at compile time into SSA
 * values; statistics, clip bounds and bucket edges become constants.
 *
 * Bit-identical to rt_xform.c's interpreter (eval_prog, onehot_value), which
 * stays the reference: the same double operations in the same order, no
 * fast-math flags (so nothing is reassociated or contracted), min/max/clip
 * as the same compare-and-select, exp/log/log1p through the same libm
 * functions, sqrt and fabs as IEEE operations, bucketize as the count of
 * edges <= x (what the interpreter's binary search returns for increasing
 * edges, NaN included). tests/xform_jit.c checks it on the fixtures and
 * examples. */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <llvm-c/Core.h>

#include "mlxc.h"

typedef struct XEmit {
  LLVMContextRef c;
  LLVMModuleRef m;
  LLVMBuilderRef b;
  LLVMTypeRef f64, f32, i64, i32, ptr;
} XEmit;

static LLVMValueRef cf64(XEmit *x, double v) { return LLVMConstReal(x->f64, v); }
static LLVMValueRef ci64(XEmit *x, int64_t v) {
  return LLVMConstInt(x->i64, (unsigned long long)v, true);
}

/* A call of the one-argument double intrinsic `name` (llvm.fabs, llvm.sqrt). */
static LLVMValueRef intrinsic1(XEmit *x, const char *name, LLVMValueRef v) {
  unsigned id = LLVMLookupIntrinsicID(name, strlen(name));
  LLVMTypeRef t[1] = {x->f64};
  LLVMValueRef f = LLVMGetIntrinsicDeclaration(x->m, id, t, 1);
  LLVMTypeRef ft = LLVMIntrinsicGetType(x->c, id, t, 1);
  return LLVMBuildCall2(x->b, ft, f, &v, 1, "");
}

/* A call of libm's double `name` (exp, log, log1p): the interpreter's own. */
static LLVMValueRef libm1(XEmit *x, const char *name, LLVMValueRef v) {
  LLVMTypeRef ft = LLVMFunctionType(x->f64, &x->f64, 1, false);
  LLVMValueRef f = LLVMGetNamedFunction(x->m, name);
  if (!f) f = LLVMAddFunction(x->m, name, ft);
  return LLVMBuildCall2(x->b, ft, f, &v, 1, "");
}

/* a < b ? a : b and a > b ? a : b, as eval_prog writes them. */
static LLVMValueRef sel_lt(XEmit *x, LLVMValueRef a, LLVMValueRef b) {
  return LLVMBuildSelect(x->b, LLVMBuildFCmp(x->b, LLVMRealOLT, a, b, ""), a, b, "");
}
static LLVMValueRef sel_gt(XEmit *x, LLVMValueRef a, LLVMValueRef b) {
  return LLVMBuildSelect(x->b, LLVMBuildFCmp(x->b, LLVMRealOGT, a, b, ""), a, b, "");
}

/* Pops of each op (the same table as rt_xform.c's op_pops). */
static int pops(const RtXop *o) {
  switch (o->op) {
  case RT_XOP_COL: case RT_XOP_NUM: return 0;
  case RT_XOP_EXTERN: return rt_extern_nargs(o->sig);
  case RT_XOP_ADD: case RT_XOP_SUB: case RT_XOP_MUL: case RT_XOP_DIV:
  case RT_XOP_MIN: case RT_XOP_MAX: return 2;
  default: return 1;
  }
}

/* One program at row `row`; colp: the column pointers of its COL ops, in
 * order. sa, sd: per STANDARDIZE/MINMAX op in order, the statistic and
 * divisor as values (a run's table), or NULL: the op's own, as constants.
 * NULL for a malformed program (rt_xform_decode refuses those). */
static LLVMValueRef emit_prog(XEmit *x, const RtXop *prog, int np, LLVMValueRef *colp,
                              LLVMValueRef row, LLVMValueRef *sa, LLVMValueRef *sd_) {
  LLVMValueRef *st = calloc((size_t)np + 1, sizeof *st);
  int sp = 0, col = 0, stat = 0;
  LLVMValueRef res = NULL;
  if (!st) return NULL;
  for (int k = 0; k < np; k++) {
    const RtXop *o = &prog[k];
    int p = pops(o);
    if (sp < p) goto out;
    if (o->op == RT_XOP_EXTERN) {   /* xform_extern.c */
      st[sp - p] = xform_emit_extern(x->c, x->m, x->b, o, (void **)&st[sp - p]);
      sp -= p - 1;
      continue;
    }
    if (p == 0) {
      if (o->op == RT_XOP_COL) {
        LLVMValueRef at = LLVMBuildGEP2(x->b, x->f64, colp[col++], &row, 1, "");
        st[sp++] = LLVMBuildLoad2(x->b, x->f64, at, "");
      } else {
        st[sp++] = cf64(x, o->a);
      }
      continue;
    }
    LLVMValueRef v = st[sp - p], y = p == 2 ? st[sp - 1] : NULL, r = v;
    /* the interpreter's guards, folded here: a constant column maps to 0 */
    double sd = o->b > 0 && isfinite(o->b) ? o->b : 1;
    double range = o->b - o->a != 0 && isfinite(o->b - o->a) ? o->b - o->a : 1;
    switch (o->op) {
    case RT_XOP_ADD: r = LLVMBuildFAdd(x->b, v, y, ""); break;
    case RT_XOP_SUB: r = LLVMBuildFSub(x->b, v, y, ""); break;
    case RT_XOP_MUL: r = LLVMBuildFMul(x->b, v, y, ""); break;
    case RT_XOP_DIV: r = LLVMBuildFDiv(x->b, v, y, ""); break;
    case RT_XOP_MIN: r = sel_lt(x, v, y); break;
    case RT_XOP_MAX: r = sel_gt(x, v, y); break;
    case RT_XOP_NEG: r = LLVMBuildFNeg(x->b, v, ""); break;
    case RT_XOP_ABS: r = intrinsic1(x, "llvm.fabs", v); break;
    case RT_XOP_EXP: r = libm1(x, "exp", v); break;
    case RT_XOP_LOG: r = libm1(x, "log", v); break;
    case RT_XOP_SQRT: r = intrinsic1(x, "llvm.sqrt", v); break;
    case RT_XOP_LOG1P: r = libm1(x, "log1p", v); break;
    case RT_XOP_STANDARDIZE:
    case RT_XOP_MINMAX: {
      LLVMValueRef a = sa ? sa[stat] : cf64(x, o->a);
      LLVMValueRef dv = sd_ ? sd_[stat] : cf64(x, o->op == RT_XOP_STANDARDIZE ? sd : range);
      stat++;
      r = LLVMBuildFDiv(x->b, LLVMBuildFSub(x->b, v, a, ""), dv, "");
      break;
    }
    case RT_XOP_CLIP: {   /* v < lo ? lo : v > hi ? hi : v */
      LLVMValueRef lo = cf64(x, o->a), hi = cf64(x, o->b);
      LLVMValueRef upper = LLVMBuildSelect(x->b, LLVMBuildFCmp(x->b, LLVMRealOGT, v, hi, ""),
                                           hi, v, "");
      r = LLVMBuildSelect(x->b, LLVMBuildFCmp(x->b, LLVMRealOLT, v, lo, ""), lo, upper, "");
      break;
    }
    case RT_XOP_BUCKETIZE: {   /* edges <= v, counted */
      LLVMValueRef cnt = LLVMConstInt(x->i32, 0, false);
      for (int e = 0; e < o->n_edges; e++) {
        LLVMValueRef le = LLVMBuildFCmp(x->b, LLVMRealOLE, cf64(x, o->edges[e]), v, "");
        cnt = LLVMBuildAdd(x->b, cnt, LLVMBuildZExt(x->b, le, x->i32, ""), "");
      }
      r = LLVMBuildSIToFP(x->b, cnt, x->f64, "");
      break;
    }
    default: break;
    }
    sp -= p - 1;
    st[sp - 1] = r;
  }
  if (sp == 1) res = st[0];
out:
  free(st);
  return res;
}

/* Programs that differ only in the columns they read and their fitted
 * statistics (the inputs of `feature *`): one loop runs them all. */
static bool same_shape(const RtFeature *a, const RtFeature *b) {
  if (a->onehot != RT_OH_NONE || b->onehot != RT_OH_NONE || !a->prog || !b->prog ||
      a->n_prog != b->n_prog)
    return false;
  for (int k = 0; k < a->n_prog; k++) {
    const RtXop *p = &a->prog[k], *q = &b->prog[k];
    if (p->op != q->op) return false;
    if (p->op == RT_XOP_EXTERN && (strcmp(p->lib, q->lib) || strcmp(p->sym, q->sym) ||
                                   strcmp(p->sig, q->sig)))
      return false;
    if ((p->op == RT_XOP_NUM || p->op == RT_XOP_CLIP) &&
        (memcmp(&p->a, &q->a, sizeof p->a) || memcmp(&p->b, &q->b, sizeof p->b)))
      return false;
    if (p->op == RT_XOP_BUCKETIZE &&
        (p->n_edges != q->n_edges ||
         (p->n_edges && memcmp(p->edges, q->edges, sizeof(double) * (size_t)p->n_edges))))
      return false;
  }
  return true;
}

/* Inputs in[i..i+len) in a loop over j for row `row`: COL k of input i+j
 * reads cols[col0 + j * ncp + k]; the statistics come from a constant
 * table. Stores out[base + i + j] and returns the bad key after them. */
static LLVMValueRef emit_run(XEmit *x, LLVMValueRef fn, const RtFeature *in, int i, int len,
                             int col0, LLVMValueRef cols, LLVMValueRef row, LLVMValueRef base,
                             LLVMValueRef nrows, LLVMValueRef out, LLVMValueRef cur) {
  const RtFeature *f = &in[i];
  int ncp = 0, nst = 0;
  for (int k = 0; k < f->n_prog; k++) {
    ncp += f->prog[k].op == RT_XOP_COL;
    nst += f->prog[k].op == RT_XOP_STANDARDIZE || f->prog[k].op == RT_XOP_MINMAX;
  }
  LLVMValueRef table = NULL;
  LLVMTypeRef tty = NULL;
  if (nst > 0) {   /* per input, per statistic: a, then the divisor the interpreter uses */
    size_t nv = (size_t)len * (size_t)nst * 2;
    LLVMValueRef *vals = calloc(nv, sizeof *vals);
    for (int j = 0; j < len; j++) {
      int s = 0;
      for (int k = 0; k < in[i + j].n_prog; k++) {
        const RtXop *o = &in[i + j].prog[k];
        if (o->op != RT_XOP_STANDARDIZE && o->op != RT_XOP_MINMAX) continue;
        double sd = o->b > 0 && isfinite(o->b) ? o->b : 1;
        double range = o->b - o->a != 0 && isfinite(o->b - o->a) ? o->b - o->a : 1;
        size_t at = ((size_t)j * (size_t)nst + (size_t)s++) * 2;
        vals[at] = cf64(x, o->a);
        vals[at + 1] = cf64(x, o->op == RT_XOP_STANDARDIZE ? sd : range);
      }
    }
    tty = LLVMArrayType2(x->f64, nv);
    table = LLVMAddGlobal(x->m, tty, "mlx_xform_stats");
    LLVMSetInitializer(table, LLVMConstArray2(x->f64, vals, nv));
    LLVMSetGlobalConstant(table, true);
    LLVMSetLinkage(table, LLVMPrivateLinkage);
    free(vals);
  }
  LLVMBasicBlockRef pre = LLVMGetInsertBlock(x->b);
  LLVMBasicBlockRef loop = LLVMAppendBasicBlockInContext(x->c, fn, "run");
  LLVMBasicBlockRef after = LLVMAppendBasicBlockInContext(x->c, fn, "run_end");
  LLVMBuildBr(x->b, loop);
  LLVMPositionBuilderAtEnd(x->b, loop);
  LLVMValueRef j = LLVMBuildPhi(x->b, x->i64, "j");
  LLVMValueRef bad = LLVMBuildPhi(x->b, x->i64, "bad_j");
  LLVMValueRef *colp = calloc((size_t)ncp + 1, sizeof *colp);
  LLVMValueRef *sa = calloc((size_t)nst + 1, sizeof *sa), *sdv = calloc((size_t)nst + 1, sizeof *sdv);
  for (int k = 0; k < ncp; k++) {
    LLVMValueRef at = LLVMBuildAdd(x->b, LLVMBuildMul(x->b, j, ci64(x, ncp), ""),
                                   ci64(x, col0 + k), "");
    colp[k] = LLVMBuildLoad2(x->b, x->ptr, LLVMBuildGEP2(x->b, x->ptr, cols, &at, 1, ""), "col");
  }
  for (int s = 0; s < nst; s++) {
    LLVMValueRef at = LLVMBuildAdd(x->b, LLVMBuildMul(x->b, j, ci64(x, 2 * nst), ""),
                                   ci64(x, 2 * s), "");
    LLVMValueRef at1 = LLVMBuildAdd(x->b, at, ci64(x, 1), "");
    sa[s] = LLVMBuildLoad2(x->b, x->f64, LLVMBuildGEP2(x->b, x->f64, table, &at, 1, ""), "");
    sdv[s] = LLVMBuildLoad2(x->b, x->f64, LLVMBuildGEP2(x->b, x->f64, table, &at1, 1, ""), "");
  }
  LLVMValueRef v = emit_prog(x, f->prog, f->n_prog, colp, row, sa, sdv);
  if (!v) v = LLVMGetUndef(x->f64);   /* not reached: decode checks programs */
  LLVMValueRef input = LLVMBuildAdd(x->b, j, ci64(x, i), "");
  LLVMValueRef idx = LLVMBuildAdd(x->b, base, input, "");
  LLVMBuildStore(x->b, LLVMBuildFPTrunc(x->b, v, x->f32, ""),
                 LLVMBuildGEP2(x->b, x->f32, out, &idx, 1, ""));
  LLVMValueRef ok = LLVMBuildFCmp(x->b, LLVMRealOLE, intrinsic1(x, "llvm.fabs", v),
                                  cf64(x, FLT_MAX), "");
  LLVMValueRef key = LLVMBuildAdd(x->b, LLVMBuildMul(x->b, input, nrows, ""), row, "");
  LLVMValueRef take = LLVMBuildAnd(x->b, LLVMBuildNot(x->b, ok, ""),
                                   LLVMBuildICmp(x->b, LLVMIntSLT, key, bad, ""), "");
  LLVMValueRef bad1 = LLVMBuildSelect(x->b, take, key, bad, "");
  LLVMValueRef j1 = LLVMBuildAdd(x->b, j, ci64(x, 1), "");
  LLVMBasicBlockRef latch = LLVMGetInsertBlock(x->b);   /* an extern call adds blocks */
  LLVMBuildCondBr(x->b, LLVMBuildICmp(x->b, LLVMIntSLT, j1, ci64(x, len), ""), loop, after);
  LLVMValueRef j_in[2] = {ci64(x, 0), j1}, b_in[2] = {cur, bad1};
  LLVMBasicBlockRef from[2] = {pre, latch};
  LLVMAddIncoming(j, j_in, from, 2);
  LLVMAddIncoming(bad, b_in, from, 2);
  LLVMPositionBuilderAtEnd(x->b, after);
  free(colp);
  free(sa);
  free(sdv);
  return bad1;
}

/* A onehot group's category inputs in[i..i+len) in a loop: input i+j is
 * 1 when the row's code is j (onehot_value). */
static void emit_onehot_run(XEmit *x, LLVMValueRef fn, int i, int len, LLVMValueRef code,
                            LLVMValueRef base, LLVMValueRef out) {
  LLVMBasicBlockRef pre = LLVMGetInsertBlock(x->b);
  LLVMBasicBlockRef loop = LLVMAppendBasicBlockInContext(x->c, fn, "onehot");
  LLVMBasicBlockRef after = LLVMAppendBasicBlockInContext(x->c, fn, "onehot_end");
  LLVMBuildBr(x->b, loop);
  LLVMPositionBuilderAtEnd(x->b, loop);
  LLVMValueRef j = LLVMBuildPhi(x->b, x->i32, "c");
  LLVMValueRef v = LLVMBuildSelect(x->b, LLVMBuildICmp(x->b, LLVMIntEQ, code, j, ""),
                                   LLVMConstReal(x->f32, 1), LLVMConstReal(x->f32, 0), "");
  LLVMValueRef idx = LLVMBuildAdd(x->b, base,
                                  LLVMBuildAdd(x->b, LLVMBuildSExt(x->b, j, x->i64, ""),
                                               ci64(x, i), ""), "");
  LLVMBuildStore(x->b, v, LLVMBuildGEP2(x->b, x->f32, out, &idx, 1, ""));
  LLVMValueRef j1 = LLVMBuildAdd(x->b, j, LLVMConstInt(x->i32, 1, false), "");
  LLVMBuildCondBr(x->b, LLVMBuildICmp(x->b, LLVMIntSLT, j1,
                                      LLVMConstInt(x->i32, (unsigned long long)len, false), ""),
                  loop, after);
  LLVMValueRef j_in[2] = {LLVMConstInt(x->i32, 0, false), j1};
  LLVMBasicBlockRef from[2] = {pre, loop};
  LLVMAddIncoming(j, j_in, from, 2);
  LLVMPositionBuilderAtEnd(x->b, after);
}

/* Runs below this length stay straight-line code. */
#define RUN_MIN 4

void xform_emit(void *ctx, void *mod, const RtFeature *in, int n) {
  XEmit x = {.c = ctx, .m = mod};
  x.f64 = LLVMDoubleTypeInContext(x.c);
  x.f32 = LLVMFloatTypeInContext(x.c);
  x.i64 = LLVMInt64TypeInContext(x.c);
  x.i32 = LLVMInt32TypeInContext(x.c);
  x.ptr = LLVMPointerTypeInContext(x.c, 0);
  LLVMTypeRef params[4] = {x.ptr, x.ptr, x.i64, x.ptr};
  LLVMTypeRef ft = LLVMFunctionType(x.i64, params, 4, false);
  LLVMValueRef fn = LLVMAddFunction(x.m, "mlx_xform", ft);
  LLVMValueRef cols = LLVMGetParam(fn, 0), codes = LLVMGetParam(fn, 1);
  LLVMValueRef nrows = LLVMGetParam(fn, 2), out = LLVMGetParam(fn, 3);
  x.b = LLVMCreateBuilderInContext(x.c);
  LLVMBasicBlockRef entry = LLVMAppendBasicBlockInContext(x.c, fn, "entry");
  LLVMBasicBlockRef head = LLVMAppendBasicBlockInContext(x.c, fn, "row");
  LLVMBasicBlockRef done = LLVMAppendBasicBlockInContext(x.c, fn, "done");

  /* runs: run[i] > 0 where a loop over run[i] same-shape inputs starts */
  int *run = calloc((size_t)n + 1, sizeof *run), *col0 = calloc((size_t)n + 1, sizeof *col0);
  int ncol = 0;
  for (int i = 0; i < n; i++) {
    col0[i] = ncol;
    if (in[i].onehot == RT_OH_NONE)
      for (int k = 0; k < in[i].n_prog; k++) ncol += in[i].prog[k].op == RT_XOP_COL;
  }
  for (int i = 0; i < n;) {
    int len = 1;
    while (i + len < n && same_shape(&in[i], &in[i + len])) len++;
    if (len >= RUN_MIN) run[i] = len;
    i += len;
  }

  /* entry: the column pointers of inputs outside runs and the code
   * pointers, loaded once */
  LLVMPositionBuilderAtEnd(x.b, entry);
  LLVMValueRef *colp = calloc((size_t)ncol + 1, sizeof *colp);
  LLVMValueRef *codep = calloc((size_t)n + 1, sizeof *codep);
  for (int i = 0; i < n; i++) {
    if (run[i]) {
      i += run[i] - 1;
      continue;
    }
    for (int k = col0[i]; k < (i + 1 < n ? col0[i + 1] : ncol); k++) {
      LLVMValueRef at = LLVMBuildGEP2(x.b, x.ptr, cols, &(LLVMValueRef){ci64(&x, k)}, 1, "");
      colp[k] = LLVMBuildLoad2(x.b, x.ptr, at, "col");
    }
  }
  for (int i = 0; i < n; i++)
    if (in[i].onehot != RT_OH_NONE && in[i].cat_index == 0) {
      LLVMValueRef at = LLVMBuildGEP2(x.b, x.ptr, codes, &(LLVMValueRef){ci64(&x, i)}, 1, "");
      codep[i] = LLVMBuildLoad2(x.b, x.ptr, at, "codes");
    }
  LLVMValueRef none = ci64(&x, INT64_MAX);
  LLVMBuildCondBr(x.b, LLVMBuildICmp(x.b, LLVMIntSGT, nrows, ci64(&x, 0), ""), head, done);

  /* row r, and the first bad key so far */
  LLVMPositionBuilderAtEnd(x.b, head);
  LLVMValueRef r = LLVMBuildPhi(x.b, x.i64, "r");
  LLVMValueRef bad = LLVMBuildPhi(x.b, x.i64, "bad");
  LLVMValueRef row = r;

  LLVMValueRef base = LLVMBuildMul(x.b, r, ci64(&x, n), "");
  LLVMValueRef cur = bad;
  for (int i = 0; i < n; i++) {
    const RtFeature *f = &in[i];
    LLVMValueRef v;
    bool check = true;
    if (run[i]) {
      cur = emit_run(&x, fn, in, i, run[i], col0[i], cols, row, base, nrows, out, cur);
      i += run[i] - 1;
      continue;
    }
    if (f->onehot != RT_OH_NONE && f->cat && f->cat_index == 0 && f->n_cats >= RUN_MIN &&
        codep[i]) {   /* the group's category inputs in a loop */
      LLVMValueRef code =
          LLVMBuildLoad2(x.b, x.i32, LLVMBuildGEP2(x.b, x.i32, codep[i], &row, 1, ""), "");
      emit_onehot_run(&x, fn, i, f->n_cats, code, base, out);
      i += f->n_cats - 1;
      continue;
    }
    if (f->onehot != RT_OH_NONE) {   /* onehot_value of the group's code */
      int g = i - f->cat_index;
      LLVMValueRef code = NULL;
      if (g >= 0 && g < n && codep[g])
        code = LLVMBuildLoad2(x.b, x.i32, LLVMBuildGEP2(x.b, x.i32, codep[g], &row, 1, ""), "");
      int want = f->cat ? f->cat_index : f->onehot == RT_OH_OTHER ? f->n_cats : -1;
      if (!code || want < 0) {
        v = cf64(&x, 0);
      } else {
        LLVMValueRef eq = LLVMBuildICmp(x.b, LLVMIntEQ, code,
                                        LLVMConstInt(x.i32, (unsigned long long)want, true), "");
        v = LLVMBuildSelect(x.b, eq, cf64(&x, 1), cf64(&x, 0), "");
      }
      check = false;
    } else {
      v = emit_prog(&x, f->prog, f->n_prog, colp + col0[i], row, NULL, NULL);
      if (!v) v = LLVMGetUndef(x.f64);   /* not reached: decode checks programs */
    }
    LLVMValueRef idx = LLVMBuildAdd(x.b, base, ci64(&x, i), "");
    LLVMBuildStore(x.b, LLVMBuildFPTrunc(x.b, v, x.f32, ""),
                   LLVMBuildGEP2(x.b, x.f32, out, &idx, 1, ""));
    if (!check) continue;
    /* not (|v| <= FLT_MAX): NaN, infinite or past a float */
    LLVMValueRef ok = LLVMBuildFCmp(x.b, LLVMRealOLE, intrinsic1(&x, "llvm.fabs", v),
                                    cf64(&x, FLT_MAX), "");
    LLVMValueRef key = LLVMBuildAdd(x.b, LLVMBuildMul(x.b, ci64(&x, i), nrows, ""), r, "");
    LLVMValueRef lower = LLVMBuildICmp(x.b, LLVMIntSLT, key, cur, "");
    LLVMValueRef take = LLVMBuildAnd(x.b, LLVMBuildNot(x.b, ok, ""), lower, "");
    cur = LLVMBuildSelect(x.b, take, key, cur, "");
  }
  LLVMValueRef r1 = LLVMBuildAdd(x.b, r, ci64(&x, 1), "");
  LLVMBasicBlockRef latch = LLVMGetInsertBlock(x.b);
  LLVMBuildCondBr(x.b, LLVMBuildICmp(x.b, LLVMIntSLT, r1, nrows, ""), head, done);
  LLVMValueRef r_in[2] = {ci64(&x, 0), r1}, bad_in[2] = {none, cur};
  LLVMBasicBlockRef from[2] = {entry, latch};
  LLVMAddIncoming(r, r_in, from, 2);
  LLVMAddIncoming(bad, bad_in, from, 2);

  /* done: -1, or the first bad key */
  LLVMPositionBuilderAtEnd(x.b, done);
  LLVMValueRef last = LLVMBuildPhi(x.b, x.i64, "first");
  LLVMValueRef l_in[2] = {none, cur};
  LLVMAddIncoming(last, l_in, from, 2);
  LLVMValueRef found = LLVMBuildICmp(x.b, LLVMIntNE, last, none, "");
  LLVMBuildRet(x.b, LLVMBuildSelect(x.b, found, last, ci64(&x, -1), ""));
  LLVMDisposeBuilder(x.b);
  free(colp);
  free(codep);
  free(run);
  free(col0);
}
