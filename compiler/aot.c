/* aot.c — `mlxc build`: the back end's other exit. The train block's kernels
 * (and predict's, as `mlxc predict` compiles them) go through plan → grad →
 * fuse → llvm → default<O3> once per CPU level, are renamed apart, linked
 * into one module with the embedded spec, model and build facts (the
 * AotImage of mlxc.h) and a `main`, emitted as ONE object file and linked by
 * the system's C compiler driver with the runtime archive (libmlxrt.a, next
 * to mlxc) into a standalone executable that needs no LLVM (aot_bin.c). */
#include <errno.h>
#include <limits.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <llvm-c/BitReader.h>
#include <llvm-c/BitWriter.h>
#include <llvm-c/Core.h>
#include <llvm-c/Linker.h>
#include <llvm-c/Orc.h>
#include <llvm-c/Target.h>
#include <llvm-c/TargetMachine.h>

#include "mlxc.h"

extern char **environ;

/* The sanitizer flags mlxc was built with and the libraries the runtime
 * needs, from the Makefile (an ASan runtime archive needs ASan to link). */
#ifndef AOT_LINK
#define AOT_LINK "-lm -lpthread"
#endif

enum { AOT_OK = 0, AOT_SPEC = 1, AOT_USAGE = 2, AOT_DATA = 4, AOT_INTERNAL = 5, AOT_ENV = 6 };

/* One CPU level: `generic` builds x86-64-v3 (AVX2, FMA; 256-bit kernels)
 * and x86-64-v4 (AVX-512; 512-bit kernels), `native` the host alone. */
typedef struct AotSet {
  const char *cpu;   /* LLVM CPU name, NULL: the JIT's choice for the host (llvm_emit.c) */
} AotSet;

static bool verbose;
static double t_phase;

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void phase(const char *name) {
  double t = now_s();
  if (verbose) fprintf(stderr, "mlxc: %-14s %8.1f ms\n", name, (t - t_phase) * 1e3);
  t_phase = t;
}

/* The vector width llvm_emit chooses for a set (llvm_emit.c vector_width):
 * BIN picks a set by it under MLXC_VECTOR_BITS. */
static int set_bits(const AotSet *s) {
  if (s->cpu) return !strcmp(s->cpu, "x86-64-v4") ? 512 : 256;
  const char *env = getenv("MLXC_VECTOR_BITS");
  if (env && (!strcmp(env, "256") || !strcmp(env, "512"))) return atoi(env);
  char *feat = LLVMGetHostCPUFeatures();
  int bits = feat && strstr(feat, "+avx512f") ? 512 : 256;
  LLVMDisposeMessage(feat);
  return bits;
}

/* The last layer must give what the task needs (as main.c's check_outputs). */
static bool outputs_fit(const SemaTrain *t, int n_classes) {
  const RtModelDesc *m = t->model;
  int want = m->task == RT_TASK_MULTICLASS ? n_classes : 1;
  if (m->layers[m->n_layers - 1].units == want) return true;
  rt_diag(RT_ERROR, m->layer_loc[m->n_layers - 1], "the last layer has %d units; this task needs %d",
          m->layers[m->n_layers - 1].units, want);
  return false;
}

/* The same layers, loss and task: the model given with --model comes from
 * this train block's model. */
static bool same_model(const RtModelDesc *a, const RtModelDesc *b) {
  if (a->n_in != b->n_in || a->n_layers != b->n_layers || a->loss != b->loss || a->task != b->task)
    return false;
  for (int i = 0; i < a->n_layers; i++)
    if (a->layers[i].units != b->layers[i].units || a->layers[i].act != b->layers[i].act)
      return false;
  return true;
}

/* What one compiled unit gives BIN: its optimized module's entry points
 * (renamed apart) and sizes. */
typedef struct Unit {
  char prefix[32];       /* "mlxb.sS.uU." before every symbol of the unit */
  char cpu[64];          /* the CPU it was compiled for (llvm_unit_cpu, else the host's) */
  int64_t ints[AOT_INTS];
  bool has_xform, has_parts;
} Unit;

/* plan → grad → fuse → llvm → O3 for one model and cfg on one CPU level;
 * the optimized module's definitions are renamed (prefix; they stay
 * external until every unit is linked, or the linker would drop them) and
 * moved into *dst (created from the first unit) through bitcode: each unit
 * has its own context. Returns false after reporting. */
static bool compile_unit(Arena *a, const RtModelDesc *m, const RtTrainCfg *cfg, const AotSet *set,
                         Unit *un, LLVMContextRef ctx, LLVMModuleRef *dst) {
  Plan *plan = plan_build(a, m, cfg, DT_F32);
  if (!plan) return false;
  grad_build(a, plan);
  KernelSet *ks = fuse_build(a, plan, false);
  LlvmUnit *u = llvm_emit(ks, set->cpu);
  if (!u || llvm_optimize(u)) {
    llvm_unit_free(u);
    return false;
  }
  un->ints[0] = plan->n_params;
  un->ints[1] = plan->n_state;
  un->ints[2] = ks->n_work;
  un->ints[3] = plan->batch;
  un->ints[4] = ks->grad_off;
  const char *cpu = llvm_unit_cpu(u);
  char *host = cpu ? NULL : LLVMGetHostCPUName();
  snprintf(un->cpu, sizeof un->cpu, "%s", cpu ? cpu : host);
  if (host) LLVMDisposeMessage(host);
  un->ints[5] = set_bits(set);
  /* --cpu native compiles for the JIT's choice: a portable level where the host has one */
  un->ints[6] = !strcmp(un->cpu, "x86-64-v4") ? 4 : !strcmp(un->cpu, "x86-64-v3") ? 3 : 0;
  un->has_xform = m->xfeats != NULL;
  un->has_parts = ks->grad_off >= 0;
  void *mod_v, *tsc_v;
  llvm_unit_release(u, &mod_v, &tsc_v);   /* the module and its context are ours now */
  LLVMModuleRef mod = mod_v;
  for (LLVMValueRef f = LLVMGetFirstFunction(mod); f; f = LLVMGetNextFunction(f)) {
    if (LLVMIsDeclaration(f)) continue;
    size_t n;
    const char *name = LLVMGetValueName2(f, &n);
    const char *buf = arena_printf(a, "%s%.*s", un->prefix, (int)n, name);
    LLVMSetValueName2(f, buf, strlen(buf));
  }
  for (LLVMValueRef g = LLVMGetFirstGlobal(mod); g; g = LLVMGetNextGlobal(g)) {
    if (LLVMIsDeclaration(g)) continue;
    size_t n;
    const char *name = LLVMGetValueName2(g, &n);
    const char *buf = arena_printf(a, "%s%.*s", un->prefix, (int)n, name);
    LLVMSetValueName2(g, buf, strlen(buf));
  }
  LLVMMemoryBufferRef bc = LLVMWriteBitcodeToMemoryBuffer(mod);   /* ours */
  LLVMDisposeModule(mod);   /* before the context it lives in */
  LLVMOrcDisposeThreadSafeContext(tsc_v);
  LLVMModuleRef m2 = NULL;
  bool ok = bc && !LLVMParseBitcodeInContext2(ctx, bc, &m2);   /* bc stays ours */
  if (bc) LLVMDisposeMemoryBuffer(bc);
  if (!ok) {
    rt_diag(RT_ERROR, rt_loc_file("mlxc build"), "internal: cannot read back the kernels' bitcode");
    return false;
  }
  if (!*dst) {
    *dst = m2;
  } else if (LLVMLinkModules2(*dst, m2)) {   /* m2 is destroyed either way */
    rt_diag(RT_ERROR, rt_loc_file("mlxc build"), "internal: cannot link the kernel sets");
    return false;
  }
  return true;
}

/* A private constant byte array holding p[0..n) and a NUL. */
static LLVMValueRef blob(LLVMModuleRef mod, LLVMContextRef ctx, const char *name, const void *p,
                         size_t n) {
  LLVMValueRef init = LLVMConstStringInContext(ctx, p ? p : "", (unsigned)n, 0);
  LLVMValueRef g = LLVMAddGlobal(mod, LLVMTypeOf(init), name);
  LLVMSetInitializer(g, init);
  LLVMSetGlobalConstant(g, 1);
  LLVMSetLinkage(g, LLVMPrivateLinkage);
  LLVMSetUnnamedAddress(g, LLVMGlobalUnnamedAddr);
  return g;
}

/* A private constant array of elt values. */
static LLVMValueRef array(LLVMModuleRef mod, LLVMTypeRef elt, const char *name, LLVMValueRef *v,
                          unsigned n) {
  LLVMValueRef init = LLVMConstArray2(elt, v, n);
  LLVMValueRef g = LLVMAddGlobal(mod, LLVMTypeOf(init), name);
  LLVMSetInitializer(g, init);
  LLVMSetGlobalConstant(g, 1);
  LLVMSetLinkage(g, LLVMPrivateLinkage);
  return g;
}

/* What the build knew, as JSON for `BIN info`: the spec, the train, the
 * schema (inputs with the column each reads and its kind), the classes,
 * and the CPU levels compiled. */
static char *build_facts(const AotOpts *o, const Program *p, const SemaTrain *t,
                         const RtFeature *feats, int n_feats, char *const *classes, int n_classes,
                         const char *label, const Unit *units, int nsets) {
  json_t *j = json_object();
  const char *base = strrchr(o->spec, '/');
  json_object_set_new(j, "spec", json_string(base ? base + 1 : o->spec));
  json_object_set_new(j, "spec_hash", json_string(p->spec_hash));
  json_object_set_new(j, "train", json_string(t->cfg->name));
  json_object_set_new(j, "model", json_string(t->model->name ? t->model->name : ""));
  json_object_set_new(j, "task", json_string(rt_task_name(t->model->task)));
  json_t *cl = json_array();
  for (int i = 0; i < n_classes; i++) json_array_append_new(cl, json_string(classes[i]));
  json_object_set_new(j, "classes", cl);
  json_object_set_new(j, "label", json_string(label ? label : ""));
  json_t *in = json_array();
  for (int i = 0; i < n_feats; i++) {
    json_t *f = json_object();
    json_object_set_new(f, "name", json_string(feats[i].name ? feats[i].name : ""));
    json_object_set_new(f, "column", json_string(feats[i].column ? feats[i].column : ""));
    json_object_set_new(f, "type", json_string(feats[i].onehot != RT_OH_NONE ? "category"
                                                                              : "number"));
    json_array_append_new(in, f);
  }
  json_object_set_new(j, "inputs", in);
  json_object_set_new(j, "cpu", json_string(o->cpu));
  char *host = LLVMGetHostCPUName();
  json_object_set_new(j, "built_on", json_string(host));
  LLVMDisposeMessage(host);
  json_t *ss = json_array();
  for (int i = 0; i < nsets; i++) {
    json_t *s = json_object();
    json_object_set_new(s, "cpu", json_string(units[2 * i].cpu));
    json_object_set_new(s, "vector_bits", json_integer(units[2 * i].ints[5]));
    json_array_append_new(ss, s);
  }
  json_object_set_new(j, "sets", ss);
  char *s = json_dumps(j, JSON_COMPACT);
  json_decref(j);
  return s;
}

/* libmlxrt.a: $MLXC_RUNTIME, else next to the mlxc binary, else in
 * ../lib/mlxc (make install). malloc'd, NULL when none exists. */
static char *find_runtime(void) {
  const char *env = getenv("MLXC_RUNTIME");
  if (env && *env) return access(env, R_OK) ? NULL : strdup(env);
  char exe[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (n <= 0) return NULL;
  exe[n] = 0;
  char *slash = strrchr(exe, '/');
  if (slash) *slash = 0;
  const char *tails[] = {"/libmlxrt.a", "/../lib/mlxc/libmlxrt.a"};
  for (int i = 0; i < 2; i++) {
    size_t len = strlen(exe) + strlen(tails[i]) + 1;
    char *p = malloc(len);
    if (!p) return NULL;
    snprintf(p, len, "%s%s", exe, tails[i]);
    if (!access(p, R_OK)) return p;
    free(p);
  }
  return NULL;
}

/* mkdir -p of path's directory (like run's --out); false after reporting. */
static bool make_parent(const char *path) {
  char buf[4096];
  if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf) return true;   /* cc says */
  char *slash = strrchr(buf, '/');
  if (!slash || slash == buf) return true;
  *slash = 0;
  for (char *p = buf + 1; *p; p++) {
    if (*p != '/') continue;
    *p = 0;
    mkdir(buf, 0777);
    *p = '/';
  }
  if (mkdir(buf, 0777) && errno != EEXIST) {
    rt_diag(RT_ERROR, rt_loc_file(path), "cannot create the executable's directory: %s",
            strerror(errno));
    return false;
  }
  return true;
}

/* cc [AOT_LINK's sanitizer flags] -o out obj lib [AOT_LINK's libraries];
 * the driver's own messages go to stderr. Returns an exit code. */
static int link_bin(const char *obj, const char *lib, const char *out) {
  const char *cc = getenv("MLXC_CC");
  if (!cc || !*cc) cc = "cc";
  char *flags = strdup(AOT_LINK);
  const char *argv[64];
  int n = 0;
  argv[n++] = cc;
  argv[n++] = "-o";
  argv[n++] = out;
  argv[n++] = obj;
  argv[n++] = lib;
  for (char *s = strtok(flags, " "); s && n < 62; s = strtok(NULL, " ")) argv[n++] = s;
  argv[n] = NULL;
  if (verbose) {
    fprintf(stderr, "mlxc: link:");
    for (int i = 0; i < n; i++) fprintf(stderr, " %s", argv[i]);
    fputc('\n', stderr);
  }
  pid_t pid;
  int rc = posix_spawnp(&pid, cc, NULL, NULL, (char *const *)argv, environ);
  free(flags);
  if (rc) {
    rt_diag(RT_ERROR, rt_loc_file(out), "cannot run the C compiler driver '%s': %s (mlxc build "
            "links with it; set MLXC_CC to another)", cc, strerror(rc));
    return AOT_ENV;
  }
  int st;
  while (waitpid(pid, &st, 0) < 0)
    if (errno != EINTR) {
      rt_diag(RT_ERROR, rt_loc_file(out), "cannot wait for '%s': %s", cc, strerror(errno));
      return AOT_ENV;
    }
  if (!WIFEXITED(st) || WEXITSTATUS(st)) {
    rt_diag(RT_ERROR, rt_loc_file(out), "'%s' failed to link the executable", cc);
    return AOT_ENV;
  }
  return AOT_OK;
}

/* Emits the merged module as an object for the generic x86-64 baseline (each
 * kernel carries its own target-cpu), or the host for --cpu native. */
static bool emit_object(LLVMModuleRef mod, bool native, const char *path) {
  char *triple = LLVMGetDefaultTargetTriple();
  LLVMTargetRef target;
  char *err = NULL;
  bool ok = false;
  if (LLVMGetTargetFromTriple(triple, &target, &err)) {
    rt_diag(RT_ERROR, rt_loc_file("mlxc build"), "no target for this host: %s", err);
  } else {
    char *cpu = native ? LLVMGetHostCPUName() : NULL;
    char *feat = native ? LLVMGetHostCPUFeatures() : NULL;
    /* the JIT's code generation settings (jit.c JIT_CODEGEN): O2, PIC, small */
    LLVMTargetMachineRef tm =
        LLVMCreateTargetMachine(target, triple, native ? cpu : "x86-64", native ? feat : "",
                                LLVMCodeGenLevelDefault, LLVMRelocPIC, LLVMCodeModelSmall);
    if (LLVMTargetMachineEmitToFile(tm, mod, (char *)path, LLVMObjectFile, &err))
      rt_diag(RT_ERROR, rt_loc_file("mlxc build"), "code generation failed: %s", err);
    else
      ok = true;
    LLVMDisposeTargetMachine(tm);
    if (cpu) LLVMDisposeMessage(cpu);
    if (feat) LLVMDisposeMessage(feat);
  }
  LLVMDisposeMessage(err);
  LLVMDisposeMessage(triple);
  return ok;
}

/* Adds `mlxb_image` (the AotImage) and `main` calling aot_bin_main. */
static void add_image(LLVMModuleRef mod, LLVMContextRef ctx, const Unit *units, int nsets,
                      const char *spec, size_t spec_len, const char *spec_name,
                      const char *train, const void *model, size_t model_len, const char *info,
                      int64_t n_in, int64_t n_classes, int64_t threads, int64_t desc_hash) {
  LLVMTypeRef ptr = LLVMPointerTypeInContext(ctx, 0), i64 = LLVMInt64TypeInContext(ctx),
              i32 = LLVMInt32TypeInContext(ctx);
  static const char *const fn_names[AOT_FNS] = {"mlx_step", "mlx_predict", "mlx_step_rows",
                                                "mlx_grad_rows", "mlx_update", "mlx_xform",
                                                NULL, NULL};
  int nu = nsets * 2;
  LLVMValueRef *fv = calloc((size_t)nu * AOT_FNS, sizeof *fv);
  LLVMValueRef *iv = calloc((size_t)nu * AOT_INTS, sizeof *iv);
  for (int u = 0; u < nu; u++) {
    for (int i = 0; i < AOT_FNS; i++) {
      LLVMValueRef f = NULL;
      if (fn_names[i]) {
        char buf[128];
        snprintf(buf, sizeof buf, "%.31s%.32s", units[u].prefix, fn_names[i]);
        f = LLVMGetNamedFunction(mod, buf);
      }
      fv[u * AOT_FNS + i] = f ? f : LLVMConstNull(ptr);
    }
    for (int i = 0; i < AOT_INTS; i++)
      iv[u * AOT_INTS + i] = LLVMConstInt(i64, (unsigned long long)units[u].ints[i], 1);
  }
  LLVMValueRef cv[4];
  for (int s = 0; s < nsets; s++)
    cv[s] = blob(mod, ctx, "mlxb.cpu", units[2 * s].cpu, strlen(units[2 * s].cpu));
  LLVMValueRef fields[] = {
      LLVMConstInt(i64, AOT_IMAGE_VERSION, 0),
      LLVMConstInt(i64, (unsigned long long)nsets, 0),
      array(mod, ptr, "mlxb.fns", fv, (unsigned)(nu * AOT_FNS)),
      array(mod, i64, "mlxb.ints", iv, (unsigned)(nu * AOT_INTS)),
      array(mod, ptr, "mlxb.cpus", cv, (unsigned)nsets),
      blob(mod, ctx, "mlxb.spec", spec, spec_len),
      LLVMConstInt(i64, spec_len, 0),
      blob(mod, ctx, "mlxb.spec_name", spec_name, strlen(spec_name)),
      blob(mod, ctx, "mlxb.train", train, strlen(train)),
      model ? blob(mod, ctx, "mlxb.model", model, model_len) : LLVMConstNull(ptr),
      LLVMConstInt(i64, model_len, 0),
      blob(mod, ctx, "mlxb.info", info, strlen(info)),
      LLVMConstInt(i64, (unsigned long long)n_in, 1),
      LLVMConstInt(i64, (unsigned long long)n_classes, 1),
      LLVMConstInt(i64, (unsigned long long)threads, 1),
      LLVMConstInt(i64, (unsigned long long)desc_hash, 1),
  };
  free(fv);
  free(iv);
  unsigned nf = sizeof fields / sizeof *fields;
  _Static_assert(sizeof(AotImage) == 16 * 8, "AotImage: every field 8 bytes, 16 fields");
  /* every unit's definitions are reached through the image alone now */
  for (LLVMValueRef f = LLVMGetFirstFunction(mod); f; f = LLVMGetNextFunction(f))
    if (!LLVMIsDeclaration(f) && !strncmp(LLVMGetValueName2(f, &(size_t){0}), "mlxb.", 5))
      LLVMSetLinkage(f, LLVMInternalLinkage);
  for (LLVMValueRef g = LLVMGetFirstGlobal(mod); g; g = LLVMGetNextGlobal(g))
    if (!LLVMIsDeclaration(g) && !strncmp(LLVMGetValueName2(g, &(size_t){0}), "mlxb.s", 6))
      LLVMSetLinkage(g, LLVMInternalLinkage);
  LLVMValueRef init = LLVMConstStructInContext(ctx, fields, nf, 0);
  LLVMValueRef img = LLVMAddGlobal(mod, LLVMTypeOf(init), "mlxb_image");
  LLVMSetInitializer(img, init);
  LLVMSetGlobalConstant(img, 1);
  LLVMSetLinkage(img, LLVMInternalLinkage);
  /* int main(int argc, char **argv) { return aot_bin_main(argc, argv, &mlxb_image); } */
  LLVMTypeRef main_ty = LLVMFunctionType(i32, (LLVMTypeRef[]){i32, ptr}, 2, 0);
  LLVMTypeRef bm_ty = LLVMFunctionType(i32, (LLVMTypeRef[]){i32, ptr, ptr}, 3, 0);
  LLVMValueRef mainf = LLVMAddFunction(mod, "main", main_ty);
  LLVMValueRef bm = LLVMAddFunction(mod, "aot_bin_main", bm_ty);
  LLVMBuilderRef b = LLVMCreateBuilderInContext(ctx);
  LLVMPositionBuilderAtEnd(b, LLVMAppendBasicBlockInContext(ctx, mainf, "entry"));
  LLVMValueRef args[] = {LLVMGetParam(mainf, 0), LLVMGetParam(mainf, 1), img};
  LLVMBuildRet(b, LLVMBuildCall2(b, bm_ty, bm, args, 3, ""));
  LLVMDisposeBuilder(b);
}

int aot_build(const AotOpts *o) {
  verbose = o->verbose;
  t_phase = now_s();
  jit_init();
  bool native = !strcmp(o->cpu, "native");
  static const AotSet generic_sets[] = {{"x86-64-v3"}, {"x86-64-v4"}};
  static const AotSet native_sets[] = {{NULL}};
  const AotSet *sets = native ? native_sets : generic_sets;
  int nsets = native ? 1 : 2;
  Arena a = {0};
  int code = AOT_OK;
  char *text = NULL, *info = NULL, *lib = NULL, *model_bytes = NULL;
  char dir[4096] = "", obj[4200] = "";
  bool have_dir = false;
  RtModel *m = NULL;
  LLVMContextRef ctx = NULL;
  LLVMModuleRef mod = NULL;
  /* read → parse → sema, keeping the bytes: BIN checks them again */
  size_t len = 0, model_len = 0;
  if (!(text = rt_read_file(o->spec, &len))) {
    rt_diag(RT_ERROR, rt_loc_file(o->spec), "cannot open spec: %s", strerror(errno));
    code = AOT_SPEC;
    goto done;
  }
  uint32_t file = src_add(o->spec, arena_strndup(&a, text, len), len);
  Ast *ast = parse_source(&a, file);
  phase("parse");
  if (diag_error_count()) {
    code = AOT_SPEC;
    goto done;
  }
  for (int i = 0; i < ast->nkids; i++) {
    Ast *im = ast->kids[i];
    if (im->kind == AST_IMPORT && im->str && strncmp(im->str, "std/", 4)) {
      diag_error(im->span, "'import' of a spec file is not supported yet by 'mlxc build' (the "
                 "executable embeds one file; 'std/...' modules are fine)");
      code = AOT_SPEC;
      goto done;
    }
  }
  bool data_error = false;
  sema_build_externs = true;   /* a feature's extern call: refused at the call */
  Program *p = sema_check(&a, ast, SEMA_RUN, &data_error);
  sema_build_externs = false;
  phase("check");
  if (!p) {
    code = data_error && !diag_error_count() ? AOT_DATA : AOT_SPEC;
    goto done;
  }
  kcache_spec_hash = p->spec_hash;
  SemaTrain *t = NULL;
  for (int i = 0; i < p->ntrains && !t; i++)
    if (!strcmp(p->trains[i].cfg->name, o->train)) t = &p->trains[i];
  if (!t) {
    rt_diag(RT_ERROR, rt_loc_file(o->spec), "no train block named '%s'", o->train);
    code = AOT_USAGE;
    goto done;
  }
  if (t->data->cv_folds > 0) {
    rt_diag(RT_ERROR, t->data->cv_loc, "'cv' is not supported yet by 'mlxc build'");
    code = AOT_SPEC;
    goto done;
  }
  /* the data's shape: from the model when one is given, else loaded */
  int n_in, n_classes;
  char **classes;
  const RtFeature *feats;
  int n_feats;
  const char *label;
  RtData *d = NULL;
  if (o->model) {
    if (!(model_bytes = rt_read_file(o->model, &model_len))) {
      rt_diag(RT_ERROR, rt_loc_file(o->model), "cannot open model: %s", strerror(errno));
      code = AOT_DATA;
      goto done;
    }
    if (!(m = rt_model_load_mem(model_bytes, model_len, o->model))) {
      code = AOT_DATA;
      goto done;
    }
    n_in = m->desc.n_in, n_classes = m->n_classes, classes = m->class_names;
    feats = m->data ? m->data->feats : NULL, n_feats = m->data ? m->data->n_feats : 0;
    label = m->data ? m->data->label : NULL;
  } else {
    t->data->fit_only = true;
    d = rt_data_load(t->data, t->model->task);
    t->data->fit_only = false;
    phase("load data");
    if (!d) {
      code = AOT_DATA;
      goto done;
    }
    n_in = d->n_feats, n_classes = d->n_classes, classes = d->class_names;
    feats = d->feats, n_feats = d->n_feats, label = t->data->label;
  }
  t->model->n_in = n_in;
  t->model->xfeats = NULL, t->model->n_xfeats = 0;   /* BIN train fits its own statistics */
  if (!outputs_fit(t, n_classes)) {
    code = AOT_SPEC;
    goto build_done;
  }
  if (m && !same_model(&m->desc, t->model)) {
    rt_diag(RT_ERROR, rt_loc_file(o->model), "this model does not come from train '%s': its "
            "layers, loss or task differ from those of the spec's model '%s'", o->train,
            t->model->name ? t->model->name : "?");
    code = AOT_DATA;
    goto build_done;
  }
  if (m && strcmp(m->spec_hash, p->spec_hash))
    rt_diag(RT_WARNING, rt_loc_file(o->model), "the model was trained from another version of "
            "the spec (hash %s, this one %s)", m->spec_hash, p->spec_hash);
  t->cfg->threads = rt_step_threads(t->model, t->cfg->batch, 0);
  /* the kernels: per set the train block's, then predict's as `mlxc
   * predict` compiles them (its batch and optimizer, the model's transforms) */
  Unit units[4];
  memset(units, 0, sizeof units);
  ctx = LLVMContextCreate();
  /* a generic set's width is its CPU's, whatever MLXC_VECTOR_BITS says now */
  char *env = getenv("MLXC_VECTOR_BITS") ? strdup(getenv("MLXC_VECTOR_BITS")) : NULL;
  if (!native) unsetenv("MLXC_VECTOR_BITS");
  RtTrainCfg pcfg = {.name = m ? m->desc.name : t->cfg->name, .batch = 256, .opt = RT_OPT_SGD};
  bool ok = true;
  for (int s = 0; s < nsets && ok; s++)
    for (int k = 0; k < 2 && ok; k++) {
      Unit *un = &units[s * 2 + k];
      snprintf(un->prefix, sizeof un->prefix, "mlxb.s%d.u%d.", s, k);
      ok = compile_unit(&a, k == 0 || !m ? t->model : &m->desc, k == 0 ? t->cfg : &pcfg,
                        &sets[s], un, ctx, &mod);
    }
  if (env) setenv("MLXC_VECTOR_BITS", env, 1);
  free(env);
  phase("compile");
  if (!ok) {
    code = AOT_INTERNAL;
    goto build_done;
  }
  if (units[1].ints[0] != units[0].ints[0]) {
    rt_diag(RT_ERROR, rt_loc_file(o->model ? o->model : o->spec),
            "internal: the predict kernels take %lld parameters, the train kernels %lld",
            (long long)units[1].ints[0], (long long)units[0].ints[0]);
    code = AOT_INTERNAL;
    goto build_done;
  }
  info = build_facts(o, p, t, feats, n_feats, classes, n_classes, label, units, nsets);
  const char *base = strrchr(o->spec, '/');
  add_image(mod, ctx, units, nsets, text, len, base ? base + 1 : o->spec, o->train,
            model_bytes, model_len, info, n_in, n_classes, t->cfg->threads,
            aot_desc_hash(t->model));
  /* one object in a private temporary directory, then cc */
  const char *tmp = getenv("TMPDIR");
  snprintf(dir, sizeof dir, "%s/mlxc-build-XXXXXX", tmp && *tmp == '/' ? tmp : "/tmp");
  if (!mkdtemp(dir)) {
    rt_diag(RT_ERROR, rt_loc_file(dir), "cannot make a temporary directory: %s", strerror(errno));
    code = AOT_ENV;
    goto build_done;
  }
  have_dir = true;
  snprintf(obj, sizeof obj, "%s/kernels.o", dir);
  if (!emit_object(mod, native, obj)) {
    code = AOT_INTERNAL;
    goto build_done;
  }
  phase("object");
  if (!(lib = find_runtime())) {
    rt_diag(RT_ERROR, rt_loc_file("libmlxrt.a"), "cannot find the runtime archive next to mlxc "
            "(or set MLXC_RUNTIME)");
    code = AOT_ENV;
    goto build_done;
  }
  code = make_parent(o->out) ? link_bin(obj, lib, o->out) : AOT_ENV;
  phase("link");
build_done:
  rt_data_free(d);
done:
  if (obj[0]) unlink(obj);
  if (have_dir) rmdir(dir);
  if (mod) LLVMDisposeModule(mod);
  if (ctx) LLVMContextDispose(ctx);
  rt_model_free(m);
  free(model_bytes);
  free(lib);
  free(info);
  free(text);
  rt_diag_flush();
  arena_free(&a);
  return code;
}
