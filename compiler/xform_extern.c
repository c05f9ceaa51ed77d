/* xform_extern.c — a feature's `extern fn` call (RT_XOP_EXTERN) in the
 * compiled transforms: the IR calls a function declared by a name that
 * encodes the library and the symbol ("mlxext:LIB:SYM"), never an address
 * (the kernel cache keys objects on the IR text, and addresses move with
 * ASLR); jit.c defines each such name as an absolute symbol at the address
 * rt_extern_resolve gives, before the object is linked.
 *
 * Per row, the interpreter's conversions (rt_extern.c rt_extern_row), no
 * fast-math: f64 as is, f32 by fptrunc (rounding), i32/i64 by fptosi
 * (truncation) when the value is in range, else no call and NaN; the result
 * back to double by fpext or sitofp. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <llvm-c/Core.h>
#include <llvm-c/LLJIT.h>
#include <llvm-c/Orc.h>

#include "mlxc.h"

char *xform_extern_name(const RtXop *o) {
  size_t n = strlen(o->lib) + strlen(o->sym) + 16;
  char *s = malloc(n);
  if (s) snprintf(s, n, "mlxext:%s:%s", o->lib, o->sym);
  return s;
}

static LLVMTypeRef letter_type(LLVMContextRef c, char l) {
  return l == 'i' ? LLVMInt32TypeInContext(c) : l == 'l' ? LLVMInt64TypeInContext(c)
         : l == 'f' ? LLVMFloatTypeInContext(c) : LLVMDoubleTypeInContext(c);
}

void *xform_emit_extern(void *ctx, void *mod, void *builder, const RtXop *o, void **argv) {
  LLVMContextRef c = ctx;
  LLVMModuleRef m = mod;
  LLVMBuilderRef b = builder;
  LLVMValueRef *args = (LLVMValueRef *)argv;
  LLVMTypeRef f64 = LLVMDoubleTypeInContext(c);
  int n = rt_extern_nargs(o->sig);
  if (!rt_extern_sig_ok(o->sig) || !o->lib || !o->sym) return LLVMGetUndef(f64);
  LLVMTypeRef at[16];
  for (int i = 0; i < n; i++) at[i] = letter_type(c, o->sig[i]);
  LLVMTypeRef rt = letter_type(c, o->sig[n]);
  LLVMTypeRef ft = LLVMFunctionType(rt, at, (unsigned)n, false);
  char *name = xform_extern_name(o);
  LLVMValueRef fn = name ? LLVMGetNamedFunction(m, name) : NULL;
  if (!fn && name) fn = LLVMAddFunction(m, name, ft);
  free(name);
  if (!fn) return LLVMGetUndef(f64);

  /* whether every integer argument fits its type (ordered compares: NaN fails) */
  LLVMValueRef ok = NULL;
  for (int i = 0; i < n; i++) {
    char l = o->sig[i];
    if (l != 'i' && l != 'l') continue;
    LLVMValueRef lo = l == 'i' ? LLVMBuildFCmp(b, LLVMRealOGT, args[i],
                                               LLVMConstReal(f64, -2147483649.0), "")
                               : LLVMBuildFCmp(b, LLVMRealOGE, args[i],
                                               LLVMConstReal(f64, -9223372036854775808.0), "");
    LLVMValueRef hi = LLVMBuildFCmp(b, LLVMRealOLT, args[i],
                                    LLVMConstReal(f64, l == 'i' ? 2147483648.0
                                                                : 9223372036854775808.0), "");
    LLVMValueRef both = LLVMBuildAnd(b, lo, hi, "");
    ok = ok ? LLVMBuildAnd(b, ok, both, "") : both;
  }
  LLVMBasicBlockRef pre = LLVMGetInsertBlock(b), call_bb = NULL, join = NULL;
  if (ok) {
    LLVMValueRef fnv = LLVMGetBasicBlockParent(pre);
    call_bb = LLVMAppendBasicBlockInContext(c, fnv, "ext_call");
    join = LLVMAppendBasicBlockInContext(c, fnv, "ext_join");
    LLVMBuildCondBr(b, ok, call_bb, join);
    LLVMPositionBuilderAtEnd(b, call_bb);
  }
  LLVMValueRef cv[16];
  for (int i = 0; i < n; i++) {
    switch (o->sig[i]) {
    case 'i':
    case 'l': cv[i] = LLVMBuildFPToSI(b, args[i], at[i], ""); break;
    case 'f': cv[i] = LLVMBuildFPTrunc(b, args[i], at[i], ""); break;
    default: cv[i] = args[i]; break;
    }
  }
  LLVMValueRef r = LLVMBuildCall2(b, ft, fn, cv, (unsigned)n, "");
  switch (o->sig[n]) {
  case 'i':
  case 'l': r = LLVMBuildSIToFP(b, r, f64, ""); break;
  case 'f': r = LLVMBuildFPExt(b, r, f64, ""); break;
  default: break;
  }
  if (!ok) return r;
  LLVMBasicBlockRef done = LLVMGetInsertBlock(b);
  LLVMBuildBr(b, join);
  LLVMPositionBuilderAtEnd(b, join);
  LLVMValueRef phi = LLVMBuildPhi(b, f64, "ext");
  LLVMValueRef in[2] = {LLVMConstReal(f64, NAN), r};
  LLVMBasicBlockRef from[2] = {pre, done};
  LLVMAddIncoming(phi, in, from, 2);
  return phi;
}

bool xform_extern_define(void *jit, void *jd, const RtFeature *in, int n, bool quiet) {
  LLVMOrcLLJITRef j = jit;
  int cap = 0, cnt = 0;
  for (int i = 0; in && i < n; i++)
    for (int k = 0; in[i].prog && k < in[i].n_prog; k++) cap += in[i].prog[k].op == RT_XOP_EXTERN;
  if (!cap) return true;
  if (!rt_allow_extern) {   /* rt_model_load and sema refuse such features first */
    if (!quiet) rt_diag(RT_ERROR, rt_loc_file("jit"), "extern calls refused without --allow-extern");
    return false;
  }
  char **names = calloc((size_t)cap, sizeof *names);
  LLVMOrcCSymbolMapPair *pairs = calloc((size_t)cap, sizeof *pairs);
  bool ok = names && pairs;
  LLVMOrcExecutionSessionRef es = LLVMOrcLLJITGetExecutionSession(j);
  char prefix = LLVMOrcLLJITGetGlobalPrefix(j);
  for (int i = 0; ok && i < n; i++)
    for (int k = 0; ok && in[i].prog && k < in[i].n_prog; k++) {
      const RtXop *o = &in[i].prog[k];
      if (o->op != RT_XOP_EXTERN) continue;
      char *name = xform_extern_name(o);
      if (!name) {
        ok = false;
        break;
      }
      bool dup = false;
      for (int q = 0; q < cnt && !dup; q++) dup = !strcmp(names[q], name);
      if (dup) {
        free(name);
        continue;
      }
      char err[512];
      void *addr = rt_extern_resolve(o->lib, o->sym, err, sizeof err);
      if (!addr) {
        if (!quiet) rt_diag(RT_ERROR, in[i].loc.file ? in[i].loc : rt_loc_file("jit"), "%s", err);
        free(name);
        ok = false;
        break;
      }
      size_t len = strlen(name) + 2;
      char *mangled = malloc(len);
      if (!mangled) {
        free(name);
        ok = false;
        break;
      }
      if (prefix) snprintf(mangled, len, "%c%s", prefix, name);
      else snprintf(mangled, len, "%s", name);
      names[cnt] = name;
      pairs[cnt].Name = LLVMOrcExecutionSessionIntern(es, mangled);   /* retained: → pairs */
      pairs[cnt].Sym.Address = (LLVMOrcExecutorAddress)(uintptr_t)addr;
      pairs[cnt].Sym.Flags.GenericFlags =
          LLVMJITSymbolGenericFlagsExported | LLVMJITSymbolGenericFlagsCallable;
      pairs[cnt].Sym.Flags.TargetFlags = 0;
      cnt++;
      free(mangled);
    }
  if (ok && cnt) {
    /* the names' references → mu; mu → the dylib unless defining fails */
    LLVMOrcMaterializationUnitRef mu = LLVMOrcAbsoluteSymbols(pairs, (size_t)cnt);
    LLVMErrorRef err = LLVMOrcJITDylibDefine((LLVMOrcJITDylibRef)jd, mu);
    if (err) {
      char *msg = LLVMGetErrorMessage(err);   /* consumes err */
      if (!quiet) rt_diag(RT_ERROR, rt_loc_file("jit"), "cannot define the extern calls: %s", msg);
      LLVMDisposeErrorMessage(msg);
      LLVMOrcDisposeMaterializationUnit(mu);
      ok = false;
    }
    cnt = 0;   /* owned by mu now */
  }
  for (int q = 0; q < cnt; q++) LLVMOrcReleaseSymbolStringPoolEntry(pairs[q].Name);
  for (int q = 0; names && q < cap; q++) free(names[q]);
  free(names);
  free(pairs);
  return ok;
}
