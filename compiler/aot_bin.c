/* aot_bin.c — the command line of an executable `mlxc build` made: the
 * object's `main` hands its AotImage (kernels per CPU level, the spec's
 * text, the embedded model) to aot_bin_main, which runs train, predict,
 * eval, serve (a model, or a release of the spec: serve --release) and
 * info with the runtime alone. BIN links the front end (grammar and sema,
 * no LLVM) to check the embedded spec again for `train` and `serve
 * --release`: the dataset, train configuration and release come out of the
 * same checker as for `mlxc run` and `mlxc serve`, so nothing about them is
 * serialized twice. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "mlxc.h"

enum { BIN_OK = 0, BIN_SPEC = 1, BIN_USAGE = 2, BIN_DATA = 4, BIN_INTERNAL = 5, BIN_ENV = 6 };

int64_t aot_desc_hash(const RtModelDesc *m) {
  int64_t v[4 + 2 * RT_MAX_LAYERS] = {m->n_in, m->n_layers, m->loss, m->task};
  int n = 4;
  for (int i = 0; i < m->n_layers && i < RT_MAX_LAYERS; i++) {
    v[n++] = m->layers[i].units;
    v[n++] = m->layers[i].act;
  }
  return (int64_t)rt_fnv1a(v, sizeof(int64_t) * (size_t)n, RT_FNV_INIT);
}

static const char *prog = "BIN";

static const char usage_fmt[] =
    "usage: %s COMMAND [ARGS]\n"
    "\n"
    "a standalone mlxc executable for train '%s' of %s (made by 'mlxc build')\n"
    "\n"
    "commands:\n"
    "  train DATA.csv [--out DIR]     train on DATA.csv (the spec's columns), check\n"
    "      [--baseline M.mlxm]        the train's gates, write DIR/%s.mlxm and\n"
    "                                 DIR/%s.metrics.json (DIR: out)\n"
    "  predict [--model M] [CSV|-]    one prediction per row (stdin if - or none);\n"
    "      [--json]                   --json: JSON lines, as mlxc predict --json\n"
    "  eval [--model M] DATA.csv      metrics of the model on labelled rows, as JSON\n"
    "  serve [--model M] [--port P] [--bind A] [--port-file F] [--threads N]\n"
    "                                 HTTP POST /predict, GET /health, GET /metrics\n"
    "                                 until SIGTERM (port 8080, 0: any free one,\n"
    "                                 written to F; bind 127.0.0.1)\n"
    "  serve --release NAME [--store S] [--out DIR] [--admin-token-file F] [--port P] ...\n"
    "      [--data CSV]               serve the embedded spec's release NAME as\n"
    "                                 'mlxc serve FILE --release NAME' does; its relative\n"
    "                                 paths and its journal (default NAME.release.db)\n"
    "                                 are beside this executable, as beside the spec;\n"
    "                                 --data: a CSV whose header stands for the\n"
    "                                 datasets' sources when the spec is checked\n"
    "  info                           spec hash, schema, classes, the embedded model's\n"
    "                                 metrics, the CPU levels compiled and the one used\n"
    "\n"
    "predict, eval and serve use the embedded model unless --model names one%s.\n"
    "MLXC_VECTOR_BITS=256|512 picks the 256-bit or 512-bit kernels.\n"
    "exit: 0 ok, 1 spec error, 2 usage, 3 gate failed, 4 bad data or model file,\n"
    "      5 internal error, 6 environment\n";

static void usage(FILE *f, const AotImage *img) {
  fprintf(f, usage_fmt, prog, img->train, img->spec_name, img->train, img->train,
          img->model ? "" : "\n(this binary has no embedded model)");
}

static int usage_error(const AotImage *img, const char *fmt, const char *arg) {
  (void)img;
  fprintf(stderr, "%s: error: ", prog);
  fprintf(stderr, fmt, arg);
  fprintf(stderr, "\n(run '%s --help' for usage)\n", prog);
  return BIN_USAGE;
}

/* ---- kernel sets ----------------------------------------------------------- */

/* Whether this CPU runs a set compiled for level (0: the build host). The
 * levels' defining features, by names gcc and clang both know (every CPU
 * with AVX2, FMA and BMI2 also has the rest of x86-64-v3: F16C, LZCNT, MOVBE). */
static bool cpu_has(int64_t level) {
  __builtin_cpu_init();
  bool v3 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
            __builtin_cpu_supports("bmi") && __builtin_cpu_supports("bmi2");
  if (level == 4)
    return v3 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl") &&
           __builtin_cpu_supports("avx512cd");
  if (level == 3) return v3;
  return true;
}

/* The set this run uses: MLXC_VECTOR_BITS=256|512 names a width (other
 * values are ignored, as the JIT ignores them), else the highest level this
 * CPU has. -1 after reporting. */
static int pick_set(const AotImage *img) {
  const char *env = getenv("MLXC_VECTOR_BITS");
  if (env && strcmp(env, "256") && strcmp(env, "512")) env = NULL;
  int best = -1;
  for (int s = 0; s < img->nsets; s++) {
    const int64_t *u = img->ints + (size_t)s * 2 * AOT_INTS;
    if (!cpu_has(u[6])) continue;
    if (env && atoll(env) != u[5]) continue;
    if (best < 0 || u[6] > img->ints[(size_t)best * 2 * AOT_INTS + 6]) best = s;
  }
  if (best < 0) {
    if (env)
      fprintf(stderr, "%s: error: MLXC_VECTOR_BITS=%s: no kernels of that width for this CPU\n",
              prog, env);
    else
      fprintf(stderr, "%s: error: this CPU lacks what the kernels need (%s%s)\n", prog,
              img->cpus[0], img->nsets > 1 ? ": AVX2 and FMA at least" : "");
    return -1;
  }
  return best;
}

/* Unit u (0: train, 1: predict) of set s as MlxKernels. */
static MlxKernels kernels(const AotImage *img, int s, int u) {
  void *const *f = img->fns + ((size_t)s * 2 + (size_t)u) * AOT_FNS;
  const int64_t *v = img->ints + ((size_t)s * 2 + (size_t)u) * AOT_INTS;
  MlxKernels k = {0};
  k.step = (MlxStepFn)f[0];
  k.predict = (MlxPredictFn)f[1];
  k.step_rows = (MlxStepRowsFn)f[2];
  k.grad_rows = (MlxGradRowsFn)f[3];
  k.update = (MlxUpdateFn)f[4];
  k.xform = (MlxXformFn)f[5];
  k.n_params = v[0];
  k.n_state = v[1];
  k.n_work = v[2];
  k.batch = v[3];
  k.grad_off = v[4];
  return k;
}

/* ---- models ----------------------------------------------------------------- */

/* --model M, or the embedded one (*embedded set); NULL after reporting. */
static RtModel *load_model(const AotImage *img, const char *path, bool *embedded) {
  *embedded = !path;
  if (!path && !img->model) {
    fprintf(stderr, "%s: error: no model: this binary was built without --model; name one "
            "with --model M.mlxm\n(run '%s --help' for usage)\n", prog, prog);
    return NULL;
  }
  static char name[512];
  snprintf(name, sizeof name, "%s:embedded model", prog);
  return path ? rt_model_load(path) : rt_model_load_mem(img->model, (size_t)img->model_len, name);
}

/* A model fits the kernels when it has their shape (inputs, layers, loss,
 * task); false after reporting. */
static bool model_fits(const AotImage *img, const RtModel *m, const MlxKernels *k) {
  if (aot_desc_hash(&m->desc) == img->desc_hash && m->n_params == k->n_params) return true;
  rt_diag(RT_ERROR, rt_loc_file(m->path ? m->path : "model"),
          "this model does not fit %s: it has %d inputs and %lld parameters, the binary's "
          "kernels were compiled for train '%s' with %lld inputs and %lld parameters",
          prog, m->desc.n_in, (long long)m->n_params, img->train, (long long)img->n_in,
          (long long)k->n_params);
  return false;
}

/* A gate's baseline model (rt_gate.c) through BIN's own predict kernels:
 * BIN compiles nothing, so a baseline must have the compiled model's shape. */
typedef struct BinCompile {
  const AotImage *img;
  int set;
} BinCompile;

static void *bin_compile(void *ctx, const RtModelDesc *m, const RtTrainCfg *cfg, MlxKernels *k) {
  const BinCompile *bc = ctx;
  (void)cfg;
  if (aot_desc_hash(m) != bc->img->desc_hash) {
    rt_diag(RT_ERROR, rt_loc_file(prog), "the baseline model has another shape than train '%s' "
            "(inputs, layers, loss or task); %s has kernels for that one only",
            bc->img->train, prog);
    return NULL;
  }
  *k = kernels(bc->img, bc->set, 1);
  k->xform = NULL;   /* its own statistics: the interpreter */
  return (void *)bc;
}
static void bin_release(void *h) { (void)h; }

/* ---- commands ---------------------------------------------------------------- */


static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* BIN train DATA.csv [--out DIR]: the embedded spec checked again with its
 * source reading DATA.csv, then `mlxc run`'s training (rt_run_train) with
 * the compiled train kernels; the transforms run in the interpreter (new
 * statistics; bit-identical to mlx_xform). */
static int bin_train(const AotImage *img, int set, const char *csv, const char *out,
                     const char *baseline) {
  Arena a = {0};
  int code = BIN_OK;
  RtData *d = NULL;
  sema_csv_override = csv;
  char *text = arena_strndup(&a, img->spec, (size_t)img->spec_len);
  uint32_t file = src_add(img->spec_name, text, (size_t)img->spec_len);
  Ast *ast = parse_source(&a, file);
  if (diag_error_count()) {
    code = BIN_SPEC;
    goto done;
  }
  bool data_error = false;
  Program *p = sema_check(&a, ast, SEMA_RUN, &data_error);
  if (!p) {
    code = data_error && !diag_error_count() ? BIN_DATA : BIN_SPEC;
    goto done;
  }
  SemaTrain *t = NULL;
  for (int i = 0; i < p->ntrains && !t; i++)
    if (!strcmp(p->trains[i].cfg->name, img->train)) t = &p->trains[i];
  if (!t) {
    rt_diag(RT_ERROR, rt_loc_file(img->spec_name), "internal: no train block named '%s'",
            img->train);
    code = BIN_INTERNAL;
    goto done;
  }
  double t_load = now_s();
  d = rt_data_load(t->data, t->model->task);   /* inputs by the interpreter: no mlx_xform */
  if (!d) {
    code = BIN_DATA;
    goto done;
  }
  t_load = now_s() - t_load;
  if (d->n_feats != img->n_in || d->n_classes != img->n_classes) {
    rt_diag(RT_ERROR, rt_loc_file(csv), "this data gives %d inputs and %d classes; %s was "
            "compiled for %lld inputs and %lld classes (build it again from this data)",
            d->n_feats, d->n_classes, prog, (long long)img->n_in, (long long)img->n_classes);
    code = BIN_DATA;
    goto done;
  }
  t->model->n_in = d->n_feats;
  t->model->xfeats = NULL, t->model->n_xfeats = 0;
  t->cfg->threads = (int)img->threads;
  MlxKernels k = kernels(img, set, 0);
  k.xform = NULL;   /* new statistics: the interpreter */
  if (aot_desc_hash(t->model) != img->desc_hash) {
    rt_diag(RT_ERROR, rt_loc_file(img->spec_name), "internal: the spec's model differs from "
            "the compiled one");
    code = BIN_INTERNAL;
    goto done;
  }
  if (!rt_make_dir(out)) {
    code = BIN_ENV;
    goto done;
  }
  BinCompile bc = {img, set};
  RtRunInfo info = {.spec_hash = p->spec_hash, .load_s = t_load, .out_dir = out,
                    .kind = "train", .baseline = baseline, .compile = bin_compile,
                    .release = bin_release, .compile_ctx = &bc};
  code = rt_run_train(t->cfg, t->model, t->data, &k, d, &info);
done:
  rt_data_free(d);
  rt_diag_flush();
  arena_free(&a);
  return code;
}

/* The model predict, eval and serve use (--model M, else the embedded one)
 * with set's predict kernels into *k; mlx_xform only for the embedded model
 * it was compiled from. NULL with *code set when it cannot be used. */
static RtModel *use_model(const AotImage *img, int set, const char *model, MlxKernels *k,
                          int *code) {
  bool embedded;
  RtModel *m = load_model(img, model, &embedded);
  *code = model || img->model ? BIN_DATA : BIN_USAGE;
  if (!m) return NULL;
  *k = kernels(img, set, 1);
  if (!embedded) k->xform = NULL;
  if (model_fits(img, m, k)) return m;
  rt_model_free(m);
  *code = BIN_DATA;
  return NULL;
}

/* Ends a command run on a model from use_model; returns code. */
static int unuse_model(RtModel *m, int code) {
  rt_model_free(m);
  rt_diag_flush();
  return code;
}

/* BIN predict [--model M] [CSV|-] [--json]: `mlxc predict` with the compiled predict
 * kernels. */
static int bin_predict(const AotImage *img, int set, const char *model, const char *csv,
                       bool json) {
  MlxKernels k;
  int code;
  RtModel *m = use_model(img, set, model, &k, &code);
  if (m) code = rt_predict_out(m, &k, csv, stdout, json) ? BIN_DATA : BIN_OK;
  return unuse_model(m, code);
}

/* BIN eval [--model M] DATA.csv: the metrics of the model on labelled rows,
 * one JSON object, as `mlxc eval` prints them. */
static int bin_eval(const AotImage *img, int set, const char *model, const char *csv) {
  MlxKernels k;
  int code;
  RtModel *m = use_model(img, set, model, &k, &code);
  RtMetrics r;
  if (m && !rt_eval_csv(m, &k, csv, &r)) {
    char *s = rt_eval_json(m, &r);   /* mlxc eval's output */
    if (s) {
      printf("%s\n", s);
      free(s);
      code = BIN_OK;
    } else {
      code = BIN_INTERNAL;
    }
  }
  return unuse_model(m, code);
}

/* BIN info: the build facts, the embedded model's metrics, and the kernel
 * set this CPU runs, as one JSON object. */
static int bin_info(const AotImage *img, int set) {
  json_error_t err;
  json_t *j = json_loads(img->info, 0, &err);
  if (!j) j = json_object();
  if (img->model) {
    bool embedded;
    RtModel *m = load_model(img, NULL, &embedded);
    if (!m) {
      json_decref(j);
      return BIN_DATA;
    }
    json_t *mj = m->metrics_json ? json_loads(m->metrics_json, 0, &err) : NULL;
    json_t *emb = json_object();
    json_object_set_new(emb, "spec_hash", json_string(m->spec_hash));
    json_object_set_new(emb, "bytes", json_integer(img->model_len));
    if (mj && json_object_get(mj, "splits"))
      json_object_set(emb, "splits", json_object_get(mj, "splits"));
    json_decref(mj);
    json_object_set_new(j, "embedded_model", emb);
    rt_model_free(m);
  } else {
    json_object_set_new(j, "embedded_model", json_null());
  }
  const int64_t *u = img->ints + (size_t)set * 2 * AOT_INTS;
  json_t *sel = json_object();
  json_object_set_new(sel, "cpu", json_string(img->cpus[set]));
  json_object_set_new(sel, "vector_bits", json_integer(u[5]));
  json_object_set_new(j, "selected", sel);
  char *s = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(10));
  json_decref(j);
  if (!s) return BIN_INTERNAL;
  printf("%s\n", s);
  free(s);
  return BIN_OK;
}

/* BIN serve [--model M] [--port P] [--bind A]: rt_serve (rt_serve.c). */
static int bin_serve(const AotImage *img, int set, const char *model, const RtServeOpts *o) {
  MlxKernels k;
  int code;
  RtModel *m = use_model(img, set, model, &k, &code);
  if (m) code = rt_serve(m, &k, o);
  return unuse_model(m, code);
}

/* ---- serve --release ------------------------------------------------------------ */

/* The directory BIN is in (its executable, links followed; "." when the
 * system does not say): it stands for the spec's directory. malloc'd. */
static char *bin_dir(const char *argv0) {
  char buf[4096];
  ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0 || n >= (ssize_t)sizeof buf - 1) {   /* no /proc: argv[0] as run */
    n = argv0 && strchr(argv0, '/') ? (ssize_t)strlen(argv0) : 0;
    if (n >= (ssize_t)sizeof buf) n = 0;
    memcpy(buf, argv0 ? argv0 : "", (size_t)n);
  }
  buf[n] = 0;
  char *slash = strrchr(buf, '/');
  if (!slash) return strdup(".");
  if (slash == buf) slash++;   /* "/BIN": the root */
  *slash = 0;
  return strdup(buf);
}

/* A release arm's model with BIN's predict kernels, or NULL after
 * reporting (*code set): BIN has kernels for train TRAIN's model only. */
static RtModel *arm_model(const AotImage *img, int set, const RtRelease *rel, const char *arm,
                          const char *path, MlxKernels *k, int *code) {
  RtModel *m = rt_model_load(path);
  if (!m) {
    *code = BIN_DATA;
    return NULL;
  }
  *k = kernels(img, set, 1);
  k->xform = NULL;   /* its own statistics: the interpreter */
  if (aot_desc_hash(&m->desc) == img->desc_hash && m->n_params == k->n_params) return m;
  rt_diag(RT_ERROR, rel->loc, "release '%s' cannot be served by %s: its %s '%s' has another "
          "shape (%d inputs, %lld parameters) than train '%s', the only model %s has kernels "
          "for (%lld inputs, %lld parameters)", rel->name, prog, arm, path, m->desc.n_in,
          (long long)m->n_params, img->train, prog, (long long)img->n_in,
          (long long)k->n_params);
  rt_note(rel->loc, "serve it with the compiler: mlxc serve %s --release %s", img->spec_name,
          rel->name);
  rt_model_free(m);
  *code = BIN_DATA;
  return NULL;
}

/* BIN serve --release NAME [--store P] [--out DIR] [--admin-token-file F] [--data CSV]:
 * `mlxc serve FILE --release NAME` on the embedded spec, checked again as
 * if it stood beside BIN (its relative paths and the default store
 * NAME.release.db resolve against BIN's directory), both arms through
 * BIN's predict kernels. */
static int bin_serve_release(const AotImage *img, int set, const char *argv0, const char *name,
                             const char *store, const char *out, const char *token_file,
                             const char *data, const RtServeOpts *so) {
  if (store && !*store) return usage_error(img, "%s needs a file path or a postgresql:// URI",
                                           "--store");
  Arena a = {0};
  int code = BIN_OK;
  RtModel *cand = NULL, *base = NULL;
  char *cpath = NULL, *token = NULL;
  char *dir = bin_dir(argv0);
  const char *base_name = strrchr(img->spec_name, '/');
  base_name = base_name ? base_name + 1 : img->spec_name;
  char *spec_path = arena_printf(&a, "%s/%s", dir, base_name);
  free(dir);
  char *text = arena_strndup(&a, img->spec, (size_t)img->spec_len);
  uint32_t file = src_add(spec_path, text, (size_t)img->spec_len);
  Ast *ast = parse_source(&a, file);
  if (diag_error_count()) {
    code = BIN_SPEC;
    goto done;
  }
  /* the name first, from the syntax: a usage error needs no data */
  char names[256] = "";
  int nrel = 0;
  bool found = false;
  for (int i = 0; i < ast->nkids; i++) {
    const Ast *d = ast->kids[i];
    if (d->kind != AST_RELEASE || !d->name) continue;
    found |= !strcmp(d->name, name);
    snprintf(names + strlen(names), sizeof names - strlen(names), "%s%s", nrel++ ? ", " : "",
             d->name);
  }
  if (!found) {
    fprintf(stderr, "%s: error: no release block named '%s' (%s%s)\n(run '%s --help' for "
            "usage)\n", prog, name, nrel ? "releases: " : "the embedded spec declares none",
            names, prog);
    code = BIN_USAGE;
    goto done;
  }
  bool data_error = false;
  sema_csv_override = data;   /* --data: its header stands for every dataset's source */
  Program *p = sema_check(&a, ast, SEMA_CHECK, &data_error);
  if (!p) {
    code = data_error && !diag_error_count() ? BIN_DATA : BIN_SPEC;
    goto done;
  }
  RtRelease *rel = NULL;
  for (int i = 0; i < p->nreleases && !rel; i++)
    if (!strcmp(p->releases[i]->name, name)) rel = p->releases[i];
  if (!rel) {
    rt_diag(RT_ERROR, rt_loc_file(spec_path), "internal: release '%s' was not checked", name);
    code = BIN_INTERNAL;
    goto done;
  }
  if (!rel->baseline) {
    rt_diag(RT_ERROR, rel->loc, "release '%s' cannot be served: it names no baseline "
            "(baseline \"PATH.mlxm\"), the model that answers the rest of the traffic", rel->name);
    code = BIN_USAGE;
    goto done;
  }
  token = rt_serve_admin_token(prog, token_file, &code);
  if (code) goto done;
  MlxKernels kc, kb;
  cpath = rt_release_candidate_path(rel, out);
  if (!(cand = arm_model(img, set, rel, "candidate", cpath, &kc, &code))) goto done;
  if (!(base = arm_model(img, set, rel, "baseline", rel->baseline, &kb, &code))) goto done;
  rt_diag_flush();
  code = rt_serve_release(rel, p->spec_hash, store, token, cand, &kc, base, &kb, so);
done:
  rt_model_free(cand);
  rt_model_free(base);
  free(cpath);
  free(token);
  rt_diag_flush();
  arena_free(&a);
  return code;
}

int aot_bin_main(int argc, char **argv, const AotImage *img) {
  const char *slash = argc > 0 && argv[0] ? strrchr(argv[0], '/') : NULL;
  prog = argc > 0 && argv[0] ? (slash ? slash + 1 : argv[0]) : "BIN";
  if (img->version != AOT_IMAGE_VERSION) {
    fprintf(stderr, "%s: error: internal: image version %lld, runtime %d\n", prog,
            (long long)img->version, AOT_IMAGE_VERSION);
    return BIN_INTERNAL;
  }
  const char *cmd = NULL, *model = NULL, *out = NULL, *baseline = NULL;
  const char *release = NULL, *store = NULL, *token_file = NULL, *data = NULL;   /* --release */
  const char *pos[3];
  int npos = 0;
  RtServeOpts so = {.port = 8080};
  bool serve_opt = false;   /* --port, --bind, --port-file or --threads */
  bool json = false;        /* predict --json */
  for (int i = 1; i < argc; i++) {
    const char *s = argv[i];
    if (!strcmp(s, "--help") || !strcmp(s, "-h")) {
      usage(stdout, img);
      return BIN_OK;
    } else if (!strcmp(s, "--model") || !strcmp(s, "--out") || !strcmp(s, "-o") ||
               !strcmp(s, "--bind") || !strcmp(s, "--port") || !strcmp(s, "--port-file") ||
               !strcmp(s, "--threads") || !strcmp(s, "--baseline") || !strcmp(s, "--release") ||
               !strcmp(s, "--store") || !strcmp(s, "--admin-token-file") || !strcmp(s, "--data")) {
      if (++i == argc) return usage_error(img, "%s needs a value", s);
      serve_opt |= !strcmp(s, "--bind") || !strcmp(s, "--port") || !strcmp(s, "--port-file") ||
                   !strcmp(s, "--threads");
      if (!strcmp(s, "--model")) model = argv[i];
      else if (!strcmp(s, "--release")) release = argv[i];
      else if (!strcmp(s, "--store")) store = argv[i];
      else if (!strcmp(s, "--admin-token-file")) token_file = argv[i];
      else if (!strcmp(s, "--data")) data = argv[i];
      else if (!strcmp(s, "--baseline")) baseline = argv[i];
      else if (!strcmp(s, "--bind")) so.bind = argv[i];
      else if (!strcmp(s, "--port-file")) so.port_file = argv[i];
      else if (!strcmp(s, "--threads")) {
        char *end = NULL;
        long v = strtol(argv[i], &end, 10);
        if (!*argv[i] || *end || v < 1 || v > 1024)
          return usage_error(img, "--threads needs a number from 1 to 1024, found '%s'", argv[i]);
        so.threads = (int)v;
      } else if (!strcmp(s, "--port")) {
        char *end = NULL;
        long v = strtol(argv[i], &end, 10);
        if (!*argv[i] || *end || v < 0 || v > 65535)
          return usage_error(img, "--port needs a number from 0 to 65535, found '%s'", argv[i]);
        so.port = (int)v;
      } else out = argv[i];
    } else if (!strcmp(s, "--diag=json")) {
      rt_diag_json = true;
    } else if (!strcmp(s, "--json")) {
      json = true;
    } else if (s[0] == '-' && s[1] == '-') {
      return usage_error(img, "unknown option '%s'", s);
    } else if (!cmd) {
      cmd = s;
    } else if (npos < 3) {
      pos[npos++] = s;
    } else {
      return usage_error(img, "unexpected argument '%s'", s);
    }
  }
  if (!cmd) {
    usage(stderr, img);
    return BIN_USAGE;
  }
  bool is_train = !strcmp(cmd, "train"), is_predict = !strcmp(cmd, "predict"),
       is_eval = !strcmp(cmd, "eval"), is_serve = !strcmp(cmd, "serve"),
       is_info = !strcmp(cmd, "info");
  if (!is_train && !is_predict && !is_eval && !is_serve && !is_info)
    return usage_error(img, "unknown command '%s' (train predict eval serve info)", cmd);
  int max_pos = is_train || is_eval || is_predict ? 1 : 0;
  if (npos > max_pos) return usage_error(img, "unexpected argument '%s'", pos[max_pos]);
  if ((is_train || is_eval) && npos < 1)
    return usage_error(img, "%s needs a CSV file", cmd);
  if (model && (is_train || is_info))
    return usage_error(img, "--model applies to predict, eval and serve, not %s", cmd);
  if (serve_opt && !is_serve)
    return usage_error(img, "%s applies to serve only", "--port, --bind, --port-file or --threads");
  int set = pick_set(img);
  if (set < 0) return BIN_ENV;
  if (json && !is_predict) return usage_error(img, "%s applies to predict only", "--json");
  if (release && !is_serve) return usage_error(img, "%s applies to serve only", "--release");
  if ((store || token_file || data) && !release)
    return usage_error(img, "%s applies to serve --release only",
                       store ? "--store" : token_file ? "--admin-token-file" : "--data");
  if (release && model)
    return usage_error(img, "%s: serve --release serves the release's candidate and baseline",
                       "--model");
  if (release && !*release) return usage_error(img, "%s needs a release name", "--release");
  if (baseline && !is_train) return usage_error(img, "%s applies to train only", "--baseline");
  if (out && !is_train && !release)
    return usage_error(img, "%s applies to train and serve --release only", "--out");
  if (is_train) return bin_train(img, set, pos[0], out ? out : "out", baseline);
  if (is_predict) return bin_predict(img, set, model, npos ? pos[0] : "-", json);
  if (is_eval) return bin_eval(img, set, model, pos[0]);
  if (is_serve && release)
    return bin_serve_release(img, set, argv[0], release, store, out, token_file, data, &so);
  if (is_serve) return bin_serve(img, set, model, &so);
  return bin_info(img, set);
}
