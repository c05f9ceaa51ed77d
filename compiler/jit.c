/* jit.c — the last back-end stage for `mlxc run`: turns the module into a
 * native object (default<O3>, then the host's code generator) and links it
 * into an ORC LLJIT (process symbols so libm's logf/log1pf resolve), then
 * looks up the mlxrt.h entry points. The object goes through the kernel
 * cache (kcache.c): keyed by the unoptimized IR and the target, a re-run
 * loads it and skips optimization and code generation. Every LLVMErrorRef
 * is checked and reported; ownership transfers are commented where they
 * happen. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <llvm-c/Core.h>
#include <llvm-c/Error.h>
#include <llvm-c/LLJIT.h>
#include <llvm-c/Orc.h>
#include <llvm-c/Target.h>
#include <llvm-c/TargetMachine.h>

#include "mlxc.h"

/* How objects are generated, part of the cache key: the settings LLJIT's
 * own IR compiler uses on x86-64 ELF (codegen -O2, PIC, small code model),
 * so cached and uncached runs execute the same machine code. */
#define JIT_CODEGEN "codegen O2 pic small"

struct Jit {
  LLVMOrcLLJITRef jit;   /* owns the linked code (a session's: borrowed) */
  bool quiet;            /* linking a cache entry: a failure is a miss, not an error */
  LLVMOrcJITDylibRef jd; /* where the kernels are linked and looked up */
  Jit *session;          /* the REPL session this one lives in, or NULL */
  LLVMOrcResourceTrackerRef rt;   /* in a session: what the kernels' object is tracked by */
  char name[32];                  /* in a session: jd's name */
};

/* The session jit_compile links into (jit_session_use), or NULL. */
static Jit *g_session;
static pthread_mutex_t g_session_mu = PTHREAD_MUTEX_INITIALIZER;

/* Reports err (consuming it) as an error about `what` (when quiet, only as a
 * --verbose note); returns true when there was one. */
static bool jit_failed_q(LLVMErrorRef err, const char *what, bool quiet) {
  if (!err) return false;
  char *msg = LLVMGetErrorMessage(err);   /* consumes err */
  if (!quiet) rt_diag(RT_ERROR, rt_loc_file("jit"), "%s: %s", what, msg);
  else if (rt_verbose) fprintf(stderr, "mlxc: kernel cache: %s: %s\n", what, msg);
  LLVMDisposeErrorMessage(msg);
  return true;
}

static bool jit_failed(LLVMErrorRef err, const char *what) {
  return jit_failed_q(err, what, false);
}

/* The session's reporter for link errors (LLVM's default prints them). */
static void jit_report(void *ctx, LLVMErrorRef err) {
  jit_failed_q(err, "cannot link the kernels", ((Jit *)ctx)->quiet);
}

/* A lookup's result, from the session's callback. */
typedef struct Found {
  bool done;
  LLVMErrorRef err;
  LLVMOrcExecutorAddress addr;
} Found;

static void found(LLVMErrorRef err, LLVMOrcCSymbolMapPairs res, size_t n, void *ctx) {
  Found *f = ctx;
  f->done = true;
  f->err = err;
  if (!err && n >= 1) f->addr = res[0].Sym.Address;
}

/* name in j's JITDylib: LLJIT's lookup for its main one, the execution
 * session's for a session's own (linked in place: the result is there when
 * the call returns). */
static LLVMErrorRef lookup_in(Jit *j, const char *name, LLVMOrcExecutorAddress *addr) {
  if (!j->session) return LLVMOrcLLJITLookup(j->jit, addr, name);
  LLVMOrcExecutionSessionRef es = LLVMOrcLLJITGetExecutionSession(j->jit);
  char mangled[128];
  char prefix = LLVMOrcLLJITGetGlobalPrefix(j->jit);
  snprintf(mangled, sizeof mangled, "%s%s", prefix ? (char[]){prefix, 0} : "", name);
  LLVMOrcCJITDylibSearchOrderElement order[1] = {{j->jd, LLVMOrcJITDylibLookupFlagsMatchAllSymbols}};
  LLVMOrcCLookupSetElement want[1] = {
      {LLVMOrcExecutionSessionIntern(es, mangled), LLVMOrcSymbolLookupFlagsRequiredSymbol}};
  Found f = {0};
  LLVMOrcExecutionSessionLookup(es, LLVMOrcLookupKindStatic, order, 1, want, 1, found, &f);
  if (f.err || !f.done) {
    if (f.err) return f.err;
    return LLVMCreateStringError("the lookup did not finish");
  }
  *addr = f.addr;
  return NULL;
}

static bool jit_lookup(Jit *j, const char *name, void **out) {
  LLVMOrcExecutorAddress addr = 0;
  char what[96];
  snprintf(what, sizeof what, "cannot find '%s' in the compiled kernels", name);
  if (jit_failed_q(lookup_in(j, name, &addr), what, j->quiet)) return false;
  *out = (void *)(uintptr_t)addr;
  return true;
}

/* LLVM's target registry is process-wide: registered once, before any
 * thread compiles (search trials compile on several threads). */
static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static void init_llvm(void) {
  LLVMInitializeNativeTarget();
  LLVMInitializeNativeAsmPrinter();
  LLVMInitializeNativeAsmParser();
}
void jit_init(void) { pthread_once(&init_once, init_llvm); }

static double jit_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* The host as LLVM names it; every field is LLVM's (LLVMDisposeMessage). */
typedef struct Host {
  char *triple, *cpu, *features;
} Host;

static Host host_detect(void) {
  return (Host){LLVMGetDefaultTargetTriple(), LLVMGetHostCPUName(), LLVMGetHostCPUFeatures()};
}

static void host_free(Host *h) {
  LLVMDisposeMessage(h->triple);
  LLVMDisposeMessage(h->cpu);
  LLVMDisposeMessage(h->features);
}

/* The cache key of the unit as emitted (before optimization). */
static bool unit_key(LlvmUnit *u, const Host *h, KcacheKey *k) {
  char *ir = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&ir, &len);
  if (!f) return false;
  llvm_dump_ir(f, u);
  if (fclose(f) || !ir) {
    free(ir);
    return false;
  }
  const char *target[] = {h->triple, h->cpu, h->features, JIT_CODEGEN};
  kcache_key(k, ir, len, target, 4);
  free(ir);
  return true;
}

/* A new LLJIT for the host that resolves the process's symbols. */
static Jit *jit_new(bool quiet) {
  LLVMOrcJITTargetMachineBuilderRef jtmb = NULL;
  if (jit_failed_q(LLVMOrcJITTargetMachineBuilderDetectHost(&jtmb), "cannot target this host",
                   quiet))
    return NULL;
  LLVMOrcLLJITBuilderRef builder = LLVMOrcCreateLLJITBuilder();
  LLVMOrcLLJITBuilderSetJITTargetMachineBuilder(builder, jtmb);   /* jtmb → builder */
  Jit *j = calloc(1, sizeof *j);
  if (!j) {
    LLVMOrcDisposeLLJITBuilder(builder);
    return NULL;
  }
  j->quiet = quiet;
  /* builder → LLJIT, even when creation fails. */
  if (jit_failed_q(LLVMOrcCreateLLJIT(&j->jit, builder), "cannot create the JIT", quiet)) {
    free(j);
    return NULL;
  }
  LLVMOrcExecutionSessionSetErrorReporter(LLVMOrcLLJITGetExecutionSession(j->jit), jit_report, j);
  LLVMOrcDefinitionGeneratorRef gen = NULL;
  if (jit_failed_q(LLVMOrcCreateDynamicLibrarySearchGeneratorForProcess(
                       &gen, LLVMOrcLLJITGetGlobalPrefix(j->jit), NULL, NULL),
                   "cannot search the process for symbols", quiet)) {
    jit_free(j);
    return NULL;
  }
  j->jd = LLVMOrcLLJITGetMainJITDylib(j->jit);
  LLVMOrcJITDylibAddGenerator(j->jd, gen);   /* gen → dylib */
  return j;
}

Jit *jit_session_new(void) {
  jit_init();
  return jit_new(false);
}

void jit_session_use(Jit *s) {
  pthread_mutex_lock(&g_session_mu);
  g_session = s;
  pthread_mutex_unlock(&g_session_mu);
}

/* A Jit in the session s: a JITDylib of its own (process symbols resolved as
 * in jit_new) and a resource tracker for its object; NULL after reporting. */
static Jit *jit_in_session(Jit *s, bool quiet) {
  static unsigned serial;
  pthread_mutex_lock(&g_session_mu);
  unsigned k = ++serial;
  pthread_mutex_unlock(&g_session_mu);
  char name[32];
  snprintf(name, sizeof name, "kernels.%u", k);
  LLVMOrcExecutionSessionRef es = LLVMOrcLLJITGetExecutionSession(s->jit);
  LLVMOrcJITDylibRef jd = NULL;
  if (jit_failed_q(LLVMOrcExecutionSessionCreateJITDylib(es, &jd, name),
                   "cannot add a JITDylib to the session", quiet))
    return NULL;
  LLVMOrcDefinitionGeneratorRef gen = NULL;
  if (jit_failed_q(LLVMOrcCreateDynamicLibrarySearchGeneratorForProcess(
                       &gen, LLVMOrcLLJITGetGlobalPrefix(s->jit), NULL, NULL),
                   "cannot search the process for symbols", quiet))
    return NULL;
  LLVMOrcJITDylibAddGenerator(jd, gen);   /* gen → dylib */
  Jit *j = calloc(1, sizeof *j);
  if (!j) return NULL;
  *j = (Jit){.jit = s->jit, .quiet = quiet, .jd = jd, .session = s,
             .rt = LLVMOrcJITDylibCreateResourceTracker(jd)};
  snprintf(j->name, sizeof j->name, "%s", name);
  if (rt_verbose) fprintf(stderr, "mlxc: jit: %s added to the session\n", name);
  return j;
}

/* A Jit for one compilation: in the session when one is in use. */
static Jit *jit_make(bool quiet) {
  pthread_mutex_lock(&g_session_mu);
  Jit *s = g_session;
  pthread_mutex_unlock(&g_session_mu);
  return s ? jit_in_session(s, quiet) : jit_new(quiet);
}

/* Links the object (copied) into j and fills *out; false after reporting
 * (a --verbose note when j is quiet). */
static bool jit_link(Jit *j, const void *obj, size_t len, const char *name, const KernelSet *ks,
                     MlxKernels *out) {
  /* a feature's extern calls: names the object refers to (xform_extern.c) */
  if (ks->plan->model->xfeats &&
      !xform_extern_define(j->jit, j->jd, ks->plan->model->xfeats, ks->plan->model->n_xfeats,
                           j->quiet))
    return false;
  LLVMMemoryBufferRef buf = LLVMCreateMemoryBufferWithMemoryRangeCopy(obj, len, name);
  /* buf → LLJIT, even when adding fails; in a session, tracked by j->rt. */
  LLVMErrorRef added = j->rt ? LLVMOrcLLJITAddObjectFileWithRT(j->jit, j->rt, buf)
                             : LLVMOrcLLJITAddObjectFile(j->jit, j->jd, buf);
  if (jit_failed_q(added, "cannot add the kernels to the JIT", j->quiet)) return false;
  void *fp = NULL;
  /* Lookups link the object; the step entry exists only for f32. */
  if (!jit_lookup(j, "mlx_predict", &fp)) return false;
  out->predict = (MlxPredictFn)fp;
  if (ks->plan->model->xfeats) {   /* the transforms (xform_emit.c) */
    if (!jit_lookup(j, "mlx_xform", &fp)) return false;
    out->xform = (MlxXformFn)fp;
  }
  if (ks->plan->dt == DT_F32) {
    if (!jit_lookup(j, "mlx_step", &fp)) return false;
    out->step = (MlxStepFn)fp;
    if (!jit_lookup(j, "mlx_step_rows", &fp)) return false;
    out->step_rows = (MlxStepRowsFn)fp;
    if (ks->grad_off >= 0) {   /* unfused: the parts a threaded step runs */
      if (!jit_lookup(j, "mlx_grad_rows", &fp)) return false;
      out->grad_rows = (MlxGradRowsFn)fp;
      if (!jit_lookup(j, "mlx_update", &fp)) return false;
      out->update = (MlxUpdateFn)fp;
    }
  }
  if (ks->with_grad) {
    if (!jit_lookup(j, "mlx_grad", &fp)) return false;
    out->grad = (MlxGradFn)fp;
  }
  out->n_params = ks->plan->n_params;
  out->n_state = ks->plan->n_state;
  out->n_work = ks->n_work;
  out->grad_off = ks->grad_off;
  out->batch = ks->plan->batch;
  return true;
}

/* Optimizes the unit (taking it) and generates the host's object code;
 * NULL after reporting. Code generation mutates the module, which is
 * dropped right after. */
static LLVMMemoryBufferRef jit_codegen(LlvmUnit *u, const Host *h, double *t_opt) {
  double t0 = jit_now();
  if (llvm_optimize(u)) {
    llvm_unit_free(u);
    return NULL;
  }
  *t_opt = jit_now() - t0;
  void *mod_v, *tsc_v;
  llvm_unit_release(u, &mod_v, &tsc_v);   /* we own the module and context now */
  LLVMModuleRef mod = mod_v;
  LLVMTargetRef target;
  LLVMMemoryBufferRef obj = NULL;   /* ours once emitted */
  char *err = NULL;
  if (LLVMGetTargetFromTriple(h->triple, &target, &err)) {
    rt_diag(RT_ERROR, rt_loc_file("jit"), "no target for this host: %s", err);
  } else {
    LLVMTargetMachineRef tm = LLVMCreateTargetMachine(target, h->triple, h->cpu, h->features,
                                                      LLVMCodeGenLevelDefault, LLVMRelocPIC,
                                                      LLVMCodeModelSmall);
    if (LLVMTargetMachineEmitToMemoryBuffer(tm, mod, LLVMObjectFile, &err, &obj)) {
      rt_diag(RT_ERROR, rt_loc_file("jit"), "code generation failed: %s", err);
      obj = NULL;
    }
    LLVMDisposeTargetMachine(tm);
  }
  LLVMDisposeMessage(err);
  LLVMDisposeModule(mod);   /* before the context it lives in */
  LLVMOrcDisposeThreadSafeContext(tsc_v);
  return obj;
}

Jit *jit_compile(LlvmUnit *u, const KernelSet *ks, MlxKernels *out) {
  jit_init();
  if (!u || !ks) {
    llvm_unit_free(u);
    return NULL;
  }
  memset(out, 0, sizeof *out);
  double t0 = jit_now();
  Host h = host_detect();
  char *dir = kcache_dir();
  KcacheKey key = {.hex = "nokey"};
  if (dir && !unit_key(u, &h, &key)) {
    free(dir);
    dir = NULL;
  }
  Jit *j = NULL;
  if (dir) {
    size_t len = 0;
    const char *why = NULL;
    void *obj = kcache_load(dir, &key, &len, &why);
    if (obj) {
      if ((j = jit_make(true)) && !jit_link(j, obj, len, key.hex, ks, out)) {
        jit_free(j);
        j = NULL;
      }
      free(obj);
      if (!j) {
        memset(out, 0, sizeof *out);
        why = "the JIT rejected it";
      }
    }
    if (j) {
      j->quiet = false;   /* linked: any later error is a real one */
      if (rt_verbose)
        fprintf(stderr, "mlxc: kernel cache: hit %s (%.1f ms)\n", key.hex, (jit_now() - t0) * 1e3);
      llvm_unit_free(u);
      host_free(&h);
      free(dir);
      return j;
    }
    if (why && rt_verbose)
      fprintf(stderr, "mlxc: kernel cache: ignoring %s/%s.o: %s\n", dir, key.hex, why);
  }
  double t_opt = 0, t1 = jit_now();
  LLVMMemoryBufferRef obj = jit_codegen(u, &h, &t_opt);   /* takes u */
  double t_gen = jit_now() - t1 - t_opt;
  if (obj) {
    const char *bytes = LLVMGetBufferStart(obj);
    size_t len = LLVMGetBufferSize(obj);
    t1 = jit_now();
    if ((j = jit_make(false)) && !jit_link(j, bytes, len, dir ? key.hex : "kernels", ks, out)) {
      jit_free(j);
      j = NULL;
      memset(out, 0, sizeof *out);
    }
    double t_link = jit_now() - t1;
    if (j && rt_verbose)
      fprintf(stderr, "mlxc: kernel cache: %s%s (optimize %.1f ms, codegen %.1f ms, link %.1f ms)\n",
              dir ? "miss " : "off", dir ? key.hex : "", t_opt * 1e3, t_gen * 1e3, t_link * 1e3);
    /* Stored only once it linked: the cache never holds what failed here. */
    const char *why = NULL;
    if (j && dir && kcache_store(dir, &key, bytes, len, &why) && rt_verbose)
      fprintf(stderr, "mlxc: kernel cache: cannot store %s/%s.o: %s (not cached)\n", dir, key.hex,
              why);
    LLVMDisposeMemoryBuffer(obj);
  }
  host_free(&h);
  free(dir);
  return j;
}

void jit_free(Jit *j) {
  if (!j) return;
  if (j->session) {   /* the kernels leave the session's JIT: their tracker, then the rest */
    jit_failed(LLVMOrcResourceTrackerRemove(j->rt), "cannot remove the kernels from the JIT");
    LLVMOrcReleaseResourceTracker(j->rt);
    jit_failed(LLVMOrcJITDylibClear(j->jd), "cannot empty the kernels' JITDylib");
    if (rt_verbose) fprintf(stderr, "mlxc: jit: %s removed from the session\n", j->name);
  } else if (j->jit) {
    jit_failed(LLVMOrcDisposeLLJIT(j->jit), "cannot release the JIT");
  }
  free(j);
}
