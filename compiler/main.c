/* main.c — the mlxc command line. Each command reads as the pipeline in a
 * straight line: read → parse → sema → (data) → plan → grad → fuse → llvm →
 * jit → train/predict → report. Exit codes follow DESIGN.md §4. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "mlxc.h"

enum { EXIT_OK = 0, EXIT_SPEC = 1, EXIT_USAGE = 2, EXIT_GATE = 3, EXIT_DATA = 4,
       EXIT_INTERNAL = 5, EXIT_ENV = 6 };

#define MLXC_VERSION "0.1.0"

static const char usage_text[] =
    "usage: mlxc COMMAND [ARGS]\n"
    "\n"
    "commands:\n"
    "  check FILE...                  parse and check specs (reads CSV headers); for\n"
    "                                 each release, notes its least time to 100% and\n"
    "                                 worst case to roll back\n"
    "  run FILE [NAME...] [--out DIR] train every train block (or those named),\n"
    "                                 evaluate, check gates (exit 3 when one\n"
    "                                 fails), write DIR/NAME.mlxm and\n"
    "                                 DIR/NAME.metrics.json (DIR defaults to out);\n"
    "                                 then every search block: its trials,\n"
    "                                 DIR/NAME.search.json and the winner\n"
    "      [--report FILE.html]       also one self-contained page: curves per\n"
    "                                 epoch, ROC, confusion, metrics, gates\n"
    "      [--baseline M.mlxm]        the model every gate's baseline.* reads\n"
    "  predict MODEL.mlxm [CSV|-]     one prediction per row of CSV (stdin if -)\n"
    "      [--json]                   as JSON lines ({class, probabilities} or {value})\n"
    "  serve MODEL.mlxm               HTTP: POST /predict, GET /health, GET /metrics\n"
    "      [--port P] [--bind ADDR]   until SIGTERM/SIGINT (drains, exits 0); port\n"
    "      [--port-file F]            8080 (0: any free one, written to F), bind\n"
    "                                 127.0.0.1, --threads workers (default: the CPUs)\n"
    "  serve FILE --release NAME      serve a release: each request's bucket picks the\n"
    "      [--store F.db] [--out DIR] candidate or the baseline; checks every interval\n"
    "      [--admin-token-file F]     are journaled and advance, promote or roll back;\n"
    "                                 POST /feedback, POST /release/promote|rollback|\n"
    "                                 abort (bearer token: F or $MLXC_ADMIN_TOKEN)\n"
    "  eval MODEL.mlxm CSV|-          metrics of the model on a labelled CSV, as\n"
    "                                 one JSON object\n"
    "  build FILE TRAIN -o BIN        a standalone executable BIN for train block\n"
    "      [--model M.mlxm]           TRAIN (train, predict, eval, serve, serve\n"
    "      [--cpu generic|native]     --release NAME, info; no LLVM needed to run\n"
    "                                 it), embedding model M;\n"
    "                                 generic (default): AVX2+FMA and AVX-512\n"
    "                                 kernels picked at run time; native: this CPU's.\n"
    "                                 Links with the C compiler driver 'cc'\n"
    "  release FILE NAME COMMAND      a release's rollout state, journaled in SQLite:\n"
    "                                 status, history (--json), start (the candidate's\n"
    "                                 gate must have passed), promote (the next step),\n"
    "                                 rollback, abort; refused: exit 3\n"
    "      [--store F.db|URI]         the journal (default: NAME.release.db beside FILE),\n"
    "                                 or postgresql://USER@HOST/DB for replicas\n"
    "      [--who W] [--why TEXT]     who runs a command (default $USER) and why\n"
    "      [--out DIR]                where 'candidate TRAIN' finds DIR/TRAIN.mlxm\n"
    "  release FILE NAME simulate     synthetic traffic through the release's rules on a\n"
    "                                 virtual clock (no sleeping), in a temporary journal;\n"
    "                                 prints the timeline and checks the outcome against\n"
    "                                 the bounds 'check' notes (exit 3 when broken)\n"
    "      [--rps R] [--users N]      requests per virtual second (50), users' keys (1000)\n"
    "      [--for D] [--seed N]       virtual time cap (2h, or the least time + 1h)\n"
    "      [--errors P%] [--drift COL] [--latency D] [--regress-after D]\n"
    "                                 a regression: candidate requests failing, COL out of\n"
    "                                 its training range, the candidate's latency (2ms)\n"
    "      [--manual auto|stop]       promote manual steps at once, or stop there\n"
    "      [--expect promoted|rolled_back|undecided] [--store F.db] [--json]\n"
    "  repl [FILE] [--out DIR]        explore: declarations, expressions (consts,\n"
    "                                 fns, NAME.test.auc), :load :show :train :eval\n"
    "                                 :predict :dump :time :help :quit (libedit on a\n"
    "                                 terminal, ~/.mlxc_history; plain from a pipe)\n"
    "  data FILE [NAME] [--json]      describe dataset NAME (default: the first):\n"
    "                                 rows, splits, and per column type, count,\n"
    "                                 missing, distinct, statistics or top values\n"
    "  fmt FILE... | fmt -            lay specs out canonically (comments kept, meaning\n"
    "                                 checked unchanged), rewritten in place; - reads\n"
    "                                 stdin and prints\n"
    "      [--check] [--stdout]       list the files that would change (exit 1), or\n"
    "                                 print instead of rewriting\n"
    "  --dump=STAGE FILE [NAME]       show a stage: tokens ast plan llvm asm ptx\n"
    "                                 (ptx: the predict kernel for an NVIDIA GPU,\n"
    "                                 MLXC_PTX_ARCH=sm_NN, default sm_90; nothing\n"
    "                                 runs on a GPU yet)\n"
    "\n"
    "options:\n"
    "  --diag=json                    diagnostics as one JSON object a line\n"
    "  --Werror                       treat warnings as errors\n"
    "  --verbose                      print the time of each phase\n"
    "  --no-cache                     run, predict: compile the kernels anew, without\n"
    "                                 the kernel cache (also MLXC_CACHE=off)\n"
    "  --allow-extern                 let consts, features and the REPL call 'extern\n"
    "                                 fn's, and load a model whose features do (run\n"
    "                                 and its searches, check predict eval serve\n"
    "                                 release repl; native code: only for specs you\n"
    "                                 trust; 'build' refuses such features)\n"
    "  --threads N                    run: search trials at once (default: the CPUs);\n"
    "                                 a large training step split N ways (default 1)\n"
    "  --help, --version\n"
    "  --keywords                     (tooling) the compiler's keyword tables, one\n"
    "                                 'TABLE word...' line each (editors/gen.sh)\n"
    "\n"
    "exit: 0 ok, 1 spec error, 2 usage, 3 gate failed or release command refused,\n"
    "      4 bad data or model file, 5 internal error, 6 environment\n";

/* Options shared by every command. */
typedef struct Opts {
  const char *cmd;         /* check run predict dump */
  const char *dump;        /* --dump=STAGE */
  const char *out_dir;     /* --out */
  const char *report;      /* --report FILE.html: the run's page (rt_html.c) */
  const char *baseline;    /* --baseline M.mlxm: every gate's baseline model (rt_gate.c) */
  bool json;               /* --json: `data` prints one JSON document, `predict` JSON lines */
  bool verbose;            /* --verbose: phase timings on stderr */
  int threads;             /* --threads N: search trials at once (0: the online CPUs), and
                              the threads a large training step is split across (0: 1) */
  const char **args;       /* positional arguments after the command */
  int nargs;
  int port;                /* serve --port P (-1: 8080; 0: any free port) */
  const char *bind;        /* serve --bind ADDR (default 127.0.0.1) */
  const char *port_file;   /* serve --port-file F: the port bound, once listening */
  const char *model;       /* build --model M.mlxm: the model BIN embeds */
  const char *cpu;         /* build --cpu generic|native */
  bool out_given;          /* -o/--out was given (build's BIN has no default) */
  const char *store;       /* release --store PATH: the journal (rt_release.c) */
  const char *who, *why;   /* release --who W --why TEXT: journaled with a manual command */
  const char *release;     /* serve FILE --release NAME: serve a release (rt_serve_release.c) */
  const char *admin_token_file;  /* serve --release --admin-token-file F: the admin token */
  const char **sim; int nsim;    /* release ... simulate: its options, name and value pairs
                                    (rt_simulate.c reads them) */
  bool fmt_check, fmt_stdout;    /* fmt --check / --stdout (fmt.c) */
} Opts;

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static bool verbose;
static _Thread_local double phase_t0;   /* search trials compile on several threads */

/* --verbose: the time of the phase that just ended. */
static void phase(const char *name) {
  double t = now_s();
  if (verbose) fprintf(stderr, "mlxc: %-14s %8.1f ms\n", name, (t - phase_t0) * 1e3);
  phase_t0 = t;
}

static int usage_error(const char *fmt, const char *arg) {
  fprintf(stderr, "mlxc: error: ");
  fprintf(stderr, fmt, arg);
  fprintf(stderr, "\n(run 'mlxc --help' for usage)\n");
  return EXIT_USAGE;
}

/* Reads a whole spec file into the arena (NUL-terminated) and registers it. */
static bool read_source(Arena *a, const char *path, uint32_t *file) {
  size_t len;
  char *buf = rt_read_file(path, &len);
  if (!buf) {
    if (errno == EIO || errno == ENOMEM) rt_diag(RT_ERROR, rt_loc_file(path), "cannot read spec");
    else rt_diag(RT_ERROR, rt_loc_file(path), "cannot open spec: %s", strerror(errno));
    return false;
  }
  char *text = arena_strndup(a, buf, len);
  free(buf);
  *file = src_add(path, text, len);
  return true;
}

/* read → parse → sema. Returns NULL after reporting; *code says why. */
static Program *front_end(Arena *a, const char *path, SemaMode mode, int *code) {
  uint32_t file;
  phase_t0 = now_s();
  if (!read_source(a, path, &file)) {
    *code = EXIT_SPEC;
    return NULL;
  }
  Ast *ast = parse_source(a, file);
  phase("parse");
  if (diag_error_count()) {
    *code = EXIT_SPEC;
    return NULL;
  }
  bool data_error = false;
  Program *p = sema_check(a, ast, mode, &data_error);
  phase("check");
  /* Spec errors outrank a CSV that could not be read while checking. */
  if (!p) *code = data_error && !diag_error_count() ? EXIT_DATA : EXIT_SPEC;
  return p;
}

/* The last dense layer must produce what the task needs, known only now that
 * the data says how many classes there are. */
static bool check_outputs(const SemaTrain *t, const RtData *d) {
  const RtModelDesc *m = t->model;
  const RtLayer *last = &m->layers[m->n_layers - 1];
  int want = m->task == RT_TASK_MULTICLASS ? d->n_classes : 1;
  if (last->units == want) return true;
  RtLoc at = m->layer_loc[m->n_layers - 1];
  if (m->task == RT_TASK_MULTICLASS)
    rt_diag(RT_ERROR, at, "the last layer has %d units but the label '%s' has %d classes",
            last->units, t->data->label, d->n_classes);
  else
    rt_diag(RT_ERROR, at, "the last layer has %d units; this task needs 1", last->units);
  rt_note(t->data->label_loc, "the label is declared here");
  return false;
}

/* plan → grad → fuse → llvm → jit for one model. */
static Jit *compile_model(Arena *a, const RtModelDesc *m, const RtTrainCfg *cfg,
                          MlxKernels *k) {
  Plan *plan = plan_build(a, m, cfg, DT_F32);
  phase("plan");
  if (!plan) return NULL;
  grad_build(a, plan);
  phase("grad");
  KernelSet *ks = fuse_build(a, plan, false);
  phase("fuse");
  LlvmUnit *u = llvm_emit(ks, NULL);
  phase("llvm emit");
  Jit *j = jit_compile(u, ks, k);
  phase("jit");
  return j;
}

static SemaTrain *find_train(Program *p, const char *name) {
  for (int i = 0; i < p->ntrains; i++)
    if (!name || !strcmp(p->trains[i].cfg->name, name)) return &p->trains[i];
  return NULL;
}

static SemaSearch *find_search(Program *p, const char *name) {
  for (int i = 0; i < p->nsearches; i++)
    if (!strcmp(p->searches[i].desc->name, name)) return &p->searches[i];
  return NULL;
}

/* rt_run_search compiles each trial through these, from several threads:
 * each compilation has its own arena, freed once the kernels exist (they
 * keep nothing in it). */
static void *search_compile(void *ctx, const RtModelDesc *m, const RtTrainCfg *cfg,
                            MlxKernels *k) {
  (void)ctx;
  Arena a = {0};
  phase_t0 = now_s();
  Jit *j = compile_model(&a, m, cfg, k);
  arena_free(&a);
  return j;
}
static void search_release(void *j) { jit_free(j); }

/* rt_make_dir for the directory part of a file path (nothing without one). */
static bool make_parent_dir(const char *file) {
  char buf[4096];
  snprintf(buf, sizeof buf, "%s", file);
  char *slash = strrchr(buf, '/');
  if (!slash || slash == buf) return true;
  *slash = 0;
  return rt_make_dir(buf);
}

/* The gates a train block names (`gate NAME` lines), for --report. */
static const char **train_gates(Arena *a, const Ast *node, int *n) {
  *n = 0;
  const char **g = arena_alloc(a, sizeof(char *) * (size_t)(node ? node->nkids + 1 : 1));
  for (int i = 0; node && i < node->nkids; i++) {
    const Ast *st = node->kids[i];
    if (st->kind == AST_STMT && st->name && !strcmp(st->name, "gate") && st->nkids > 0 &&
        st->kids[0]->nkids > 0 && (st->kids[0]->kids[0]->kind == AST_NAME ||
                                   st->kids[0]->kids[0]->kind == AST_CALL))   /* gate G(ARGS) */
      g[(*n)++] = st->kids[0]->kids[0]->name;
  }
  return g;
}

/* Whether `mlxc run FILE [NAME...]` runs the block called name: all of
 * them when no NAME is given. */
static bool run_selects(const Opts *o, const char *name) {
  bool selected = o->nargs == 1;
  for (int j = 1; j < o->nargs; j++) selected |= !strcmp(o->args[j], name);
  return selected;
}

/* One train block as `mlxc run` trains it: load, compile, train, evaluate,
 * gates, DIR/NAME.mlxm and metrics (rt_run_train). Returns its exit code
 * (EXIT_GATE when a gate failed, its files written). */
static int train_block(Arena *a, Program *p, SemaTrain *t, const Opts *o, RtHtml *html) {
  double t_load = now_s();
  t->data->fit_only = true;   /* rt_run_train's rt_data_xform computes the inputs */
  RtData *d = rt_data_load(t->data, t->model->task);
  t->data->fit_only = false;
  phase("load data");
  if (!d) return EXIT_DATA;
  t_load = now_s() - t_load;
  t->model->n_in = d->n_feats;
  t->model->xfeats = d->feats, t->model->n_xfeats = d->n_feats;   /* mlx_xform */
  if (!check_outputs(t, d)) {
    rt_data_free(d);
    return EXIT_SPEC;
  }
  /* --threads N splits a large step's rows between N threads (compiled
   * unfused); without it one thread runs the fused step: a step split
   * between threads waits for each at every batch, which on CPUs that are
   * shared with other work costs more than it gains (bench/README.md) */
  t->cfg->threads = rt_step_threads(t->model, t->cfg->batch, o->threads);
  double t_compile = now_s();
  MlxKernels k;
  Jit *j = compile_model(a, t->model, t->cfg, &k);
  if (!j) {
    rt_data_free(d);
    return EXIT_INTERNAL;
  }
  t_compile = now_s() - t_compile;
  RtRunInfo info = {.spec_hash = p->spec_hash, .compile_ms = t_compile * 1e3,
                    .load_s = t_load, .out_dir = o->out_dir, .html = html, .kind = "train",
                    .baseline = o->baseline, .compile = search_compile,
                    .release = search_release};
  info.gates = train_gates(a, t->node, &info.n_gates);
  int code = rt_run_train(t->cfg, t->model, t->data, &k, d, &info);
  phase("train");
  jit_free(j);
  rt_data_free(d);
  return code;
}

/* mlxc run: train each selected train block, evaluate, save, report. */
static int cmd_run(const Opts *o) {
  if (o->nargs < 1) return usage_error("%s", "run needs a spec file");
  Arena a = {0};
  int code = EXIT_OK;
  bool gate_failed = false;   /* some block's gate failed (exit 3 once all have run) */
  RtHtml *html = NULL;   /* --report */
  const char *path = o->args[0];
  Program *p = front_end(&a, path, SEMA_RUN, &code);
  if (!p) goto done;
  kcache_spec_hash = p->spec_hash;
  if (p->ntrains == 0 && p->nsearches == 0) {
    rt_diag(RT_ERROR, rt_loc_file(path), "nothing to run: the spec has no train block");
    code = EXIT_SPEC;
    goto done;
  }
  for (int i = 1; i < o->nargs; i++)
    if (!find_train(p, o->args[i]) && !find_search(p, o->args[i])) {
      rt_diag(RT_ERROR, rt_loc_file(path), "no train or search block named '%s'", o->args[i]);
      code = EXIT_USAGE;
      goto done;
    }
  /* --report: its directory is made like --out's; an unwritable page fails
   * now, not after the training */
  if (o->report && !make_parent_dir(o->report)) {
    code = EXIT_ENV;
    goto done;
  }
  if (o->report && !(html = rt_html_open(o->report, path, p->spec_hash))) {
    code = EXIT_ENV;
    goto done;
  }
  if (!rt_make_dir(o->out_dir)) {   /* exit 6 when it cannot be made */
    code = EXIT_ENV;
    goto done;
  }
  for (int i = 0; i < p->ntrains; i++) {
    SemaTrain *t = &p->trains[i];
    if (!run_selects(o, t->cfg->name)) continue;
    code = train_block(&a, p, t, o, html);
    if (code == EXIT_GATE) gate_failed = true, code = EXIT_OK;   /* the other blocks still run */
    if (code) goto done;
  }
  /* search blocks: the data loaded once, every trial compiled and trained on it */
  for (int i = 0; i < p->nsearches; i++) {
    SemaSearch *s = &p->searches[i];
    if (!run_selects(o, s->desc->name)) continue;
    double t_load = now_s();
    RtData *d = rt_data_load(s->data, s->models[0]->task);
    phase("load data");
    if (!d) {
      code = EXIT_DATA;
      goto done;
    }
    bool ok = true;
    for (int m = 0; m < s->nmodels && ok; m++) {
      s->models[m]->n_in = d->n_feats;
      s->models[m]->xfeats = d->feats, s->models[m]->n_xfeats = d->n_feats;
      SemaTrain st = {.node = s->node, .data = s->data, .model = s->models[m]};
      ok = check_outputs(&st, d);
    }
    if (!ok) {
      rt_data_free(d);
      code = EXIT_SPEC;
      goto done;
    }
    s->train->cfg->threads = 1;   /* trials run side by side, each on one thread */
    RtRunInfo info = {.spec_hash = p->spec_hash, .load_s = now_s() - t_load,
                      .out_dir = o->out_dir,
                      .threads = o->threads ? o->threads : (int)sysconf(_SC_NPROCESSORS_ONLN),
                      .html = html, .kind = "search", .baseline = o->baseline,
                      .compile = search_compile, .release = search_release};
    info.gates = train_gates(&a, s->train->node, &info.n_gates);
    if (rt_gate_precheck(s->train->cfg, &info)) {   /* a missing baseline: before the trials */
      rt_data_free(d);
      code = EXIT_DATA;
      goto done;
    }
    code = rt_run_search(s->desc, s->train->cfg, s->models, s->data, d, search_compile,
                         search_release, &a, &info);
    phase("search");
    rt_data_free(d);
    if (code == EXIT_GATE) gate_failed = true, code = EXIT_OK;
    if (code) goto done;
  }
  if (gate_failed) code = EXIT_GATE;   /* a gate failed: its files are written, exit 3 */
done:
  if (html && (code == EXIT_OK || code == EXIT_GATE) && rt_html_write(html)) code = EXIT_ENV;
  rt_html_free(html);
  rt_diag_flush();
  arena_free(&a);
  return code;
}

/* mlxc data FILE [NAME] [--json]: load dataset NAME (the first if none) as
 * its first train block reads it, then describe every column. */
static int describe_dataset(Program *p, RtDataSpec *spec, bool json) {
  RtData *d = NULL;
  /* the label is read as the first train using the dataset reads it */
  for (int i = 0; i < p->ntrains && !d; i++)
    if (!strcmp(p->trains[i].data->name, spec->name) &&
        !(d = rt_data_load(p->trains[i].data, p->trains[i].model->task)))
      return EXIT_DATA;
  phase("load data");
  int code = rt_describe(spec, d, json, stdout) ? EXIT_DATA : EXIT_OK;
  rt_data_free(d);
  return code;
}

static int cmd_data(const Opts *o) {
  if (o->nargs < 1) return usage_error("%s", "data needs a spec file");
  Arena a = {0};
  int code = EXIT_OK;
  const char *path = o->args[0];
  Program *p = front_end(&a, path, SEMA_RUN, &code);
  if (!p) goto done;
  RtDataSpec *spec = NULL;
  for (int i = 0; i < p->ndatasets && !spec; i++)
    if (o->nargs < 2 || !strcmp(p->datasets[i]->name, o->args[1])) spec = p->datasets[i];
  if (!spec) {
    if (o->nargs < 2) rt_diag(RT_ERROR, rt_loc_file(path), "the spec has no dataset block");
    else rt_diag(RT_ERROR, rt_loc_file(path), "no dataset named '%s'", o->args[1]);
    code = o->nargs < 2 ? EXIT_SPEC : EXIT_USAGE;
    goto done;
  }
  code = describe_dataset(p, spec, o->json);
done:
  rt_diag_flush();
  arena_free(&a);
  return code;
}

/* mlxc check FILE...: every file is checked; the worst exit wins. */
static int cmd_check(const Opts *o) {
  if (o->nargs < 1) return usage_error("%s", "check needs at least one spec file");
  int worst = EXIT_OK;
  release_check_report = true;   /* a release's warnings and notes (release_check.c) */
  for (int i = 0; i < o->nargs; i++) {
    Arena a = {0};
    int code = EXIT_OK;
    diag_reset();   /* each file gets its own error limit */
    if (!front_end(&a, o->args[i], SEMA_CHECK, &code) && code > worst) worst = code;
    rt_diag_flush();
    arena_free(&a);
  }
  return worst;
}

/* A trained model and its kernels, as predict, eval and serve use them. */
typedef struct Loaded {
  Arena a;
  RtModel *m;
  MlxKernels k;
  Jit *j;
} Loaded;

/* Loads path and compiles its kernels (predict's batch of 256, as `mlxc
 * build` compiles them too). 0, or the exit code after reporting. */
static int load_model(Loaded *l, const char *path) {
  memset(l, 0, sizeof *l);
  phase_t0 = now_s();
  if (!(l->m = rt_model_load(path))) return EXIT_DATA;
  kcache_spec_hash = l->m->spec_hash;
  RtTrainCfg cfg = {.name = l->m->desc.name, .batch = 256, .opt = RT_OPT_SGD};
  if (!(l->j = compile_model(&l->a, &l->m->desc, &cfg, &l->k))) return EXIT_INTERNAL;
  return EXIT_OK;
}

/* Ends a command run on a loaded model; returns code. */
static int unload_model(Loaded *l, int code) {
  jit_free(l->j);
  rt_model_free(l->m);
  rt_diag_flush();
  arena_free(&l->a);
  return code;
}

/* mlxc predict MODEL.mlxm [CSV|-] [--json]: load, re-JIT, one prediction per row. */
static int cmd_predict(const Opts *o) {
  if (o->nargs < 1) return usage_error("%s", "predict needs a model file");
  const char *csv = o->nargs > 1 ? o->args[1] : "-";
  Loaded l;
  int code = load_model(&l, o->args[0]);
  if (!code) code = rt_predict_out(l.m, &l.k, csv, stdout, o->json) ? EXIT_DATA : EXIT_OK;
  return unload_model(&l, code);
}

/* mlxc eval MODEL.mlxm CSV: load, re-JIT, metrics of the labelled rows as
 * one JSON object (the model's task's metrics, and rows). */
static int cmd_eval(const Opts *o) {
  if (o->nargs != 2)
    return usage_error("%s", "eval needs a model file and a labelled CSV (or - for stdin)");
  Loaded l;
  int code = load_model(&l, o->args[0]);
  RtMetrics mt;
  if (code) {
  } else if (rt_eval_csv(l.m, &l.k, o->args[1], &mt)) {
    code = EXIT_DATA;
  } else {
    char *s = rt_eval_json(l.m, &mt);
    if (s) puts(s);
    else code = EXIT_INTERNAL;
    free(s);
    fflush(stdout);
  }
  return unload_model(&l, code);
}

/* mlxc serve FILE --release NAME [--store P] [--out DIR]: check the spec,
 * load the release's candidate and baseline with their kernels, serve both
 * arms (rt_serve_release.c). */
static int serve_release(const Opts *o) {
  if (o->nargs != 1) return usage_error("%s", "serve --release needs one spec file (FILE.mlx)");
  size_t n = strlen(o->args[0]);
  if (n < 4 || strcmp(o->args[0] + n - 4, ".mlx"))
    return usage_error("serve --release takes the spec file (FILE.mlx) that declares the "
                       "release, not '%s'", o->args[0]);
  if (o->store && !*o->store)
    return usage_error("%s", "--store needs a file path or a postgresql:// URI");
  Arena a = {0};
  int code = EXIT_OK;
  Program *p = front_end(&a, o->args[0], SEMA_CHECK, &code);
  RtRelease *rel = NULL;
  for (int i = 0; p && i < p->nreleases && !rel; i++)
    if (!strcmp(p->releases[i]->name, o->release)) rel = p->releases[i];
  if (p && !rel) {
    rt_diag(RT_ERROR, rt_loc_file(o->args[0]), "no release block named '%s'", o->release);
    code = EXIT_USAGE;
  } else if (rel && !rel->baseline) {
    rt_diag(RT_ERROR, rel->loc, "release '%s' cannot be served: it names no baseline "
            "(baseline \"PATH.mlxm\"), the model that answers the rest of the traffic", rel->name);
    code = EXIT_USAGE;
  }
  if (code || !p) {
    rt_diag_flush();
    arena_free(&a);
    return code ? code : EXIT_INTERNAL;
  }
  /* the admin endpoints' token: --admin-token-file F (its first line), else
   * $MLXC_ADMIN_TOKEN; none: the endpoints answer 403 */
  char *token = rt_serve_admin_token("mlxc", o->admin_token_file, &code);
  if (code) {
    arena_free(&a);
    return code;
  }
  char *cand = rt_release_candidate_path(rel, o->out_dir);
  Loaded lc, lb;
  code = load_model(&lc, cand);
  memset(&lb, 0, sizeof lb);
  if (!code) code = load_model(&lb, rel->baseline);
  if (!code) {
    rt_diag_flush();
    RtServeOpts so = {.bind = o->bind, .port = o->port < 0 ? 8080 : o->port,
                      .threads = o->threads, .port_file = o->port_file};
    code = rt_serve_release(rel, p->spec_hash, o->store, token, lc.m, &lc.k, lb.m, &lb.k, &so);
  }
  free(token);
  free(cand);
  unload_model(&lb, code);
  unload_model(&lc, code);
  arena_free(&a);
  return code;
}

/* mlxc serve MODEL.mlxm [--port P] [--bind ADDR] [--threads N]: load,
 * re-JIT like predict, then HTTP until SIGTERM/SIGINT (rt_serve.c). */
static int cmd_serve(const Opts *o) {
  if (o->release) return serve_release(o);
  if (o->nargs != 1) return usage_error("%s", "serve needs one model file (MODEL.mlxm)");
  size_t n = strlen(o->args[0]);
  if (n >= 4 && !strcmp(o->args[0] + n - 4, ".mlx"))
    return usage_error("serve takes a trained model (.mlxm), not the spec '%s'; to serve a "
                       "spec's release: serve FILE --release NAME", o->args[0]);
  Loaded l;
  int code = load_model(&l, o->args[0]);
  if (!code) {
    rt_diag_flush();
    RtServeOpts so = {.bind = o->bind, .port = o->port < 0 ? 8080 : o->port,
                      .threads = o->threads, .port_file = o->port_file};
    code = rt_serve(l.m, &l.k, &so);
  }
  return unload_model(&l, code);
}

/* mlxc build FILE TRAIN -o BIN [--model M] [--cpu generic|native]: the
 * train block's kernels into a standalone executable (aot.c). */
static int cmd_build(const Opts *o) {
  if (o->nargs != 2) return usage_error("%s", "build needs a spec file and a train block name");
  if (!o->out_given) return usage_error("%s", "build needs -o BIN, the executable to write");
  AotOpts ao = {.spec = o->args[0], .train = o->args[1], .out = o->out_dir, .model = o->model,
                .cpu = o->cpu ? o->cpu : "generic", .verbose = o->verbose};
  return aot_build(&ao);
}

/* mlxc release FILE NAME simulate [options]: the release's candidate and
 * baseline (none: the candidate again) loaded with their kernels as serve
 * loads them, the checker's bounds (release_check.c), then synthetic traffic
 * on a virtual clock (rt_simulate.c). */
static int sim_release(const Opts *o, const RtRelease *rel, RtSimOpts *so) {
  release_bounds(rel, &so->bounds);
  char *cand = rt_release_candidate_path(rel, o->out_dir);
  Loaded lc, lb;
  memset(&lb, 0, sizeof lb);
  int code = load_model(&lc, cand);
  if (!code && rel->baseline) code = load_model(&lb, rel->baseline);
  if (!code) {
    rt_diag_flush();
    const RtModel *bm = rel->baseline ? lb.m : lc.m;
    code = rt_release_simulate(rel, lc.m, &lc.k, bm, rel->baseline ? &lb.k : &lc.k, so);
  }
  free(cand);
  if (rel->baseline) unload_model(&lb, code);
  unload_model(&lc, code);
  return code;
}

/* mlxc release FILE NAME COMMAND [--store P] [--who W] [--why T] [--json]:
 * check the spec, find the release, run the command on its journal
 * (rt_release.c). */
static int cmd_release(const Opts *o) {
  if (o->nargs != 3)
    return usage_error("%s", "release needs a spec file, a release name and a command "
                             "(status start promote rollback abort history simulate)");
  bool sim = !strcmp(o->args[2], "simulate");
  RtSimOpts so;
  if (sim && (o->who || o->why))
    return usage_error("%s does not apply to 'simulate' (it journals as 'simulator')",
                       o->who ? "--who" : "--why");
  if (sim && rt_sim_parse(o->sim, o->nsim, &so)) return EXIT_USAGE;
  Arena a = {0};
  int code = EXIT_OK;
  Program *p = front_end(&a, o->args[0], SEMA_CHECK, &code);
  if (p) {
    RtRelease *rel = NULL;
    for (int i = 0; i < p->nreleases && !rel; i++)
      if (!strcmp(p->releases[i]->name, o->args[1])) rel = p->releases[i];
    if (!rel) {
      rt_diag(RT_ERROR, rt_loc_file(o->args[0]), "no release block named '%s'", o->args[1]);
      code = EXIT_USAGE;
    } else {
      rt_diag_flush();
      if (sim) {
        so.store = o->store, so.json = o->json, so.spec_hash = p->spec_hash;
        code = sim_release(o, rel, &so);
        rt_diag_flush();
        arena_free(&a);
        return code;
      }
      RtReleaseOpts ro = {.cmd = o->args[2], .store = o->store, .out_dir = o->out_dir,
                          .who = o->who, .why = o->why, .json = o->json,
                          .spec_hash = p->spec_hash};
      code = rt_release_cmd(rel, &ro);
    }
  }
  rt_diag_flush();
  arena_free(&a);
  return code;
}

/* Prints stage plan, llvm, asm or ptx of train block t to out (the data's
 * header and labels give the input and output widths). Returns the exit code. */
static int dump_train(Arena *a, SemaTrain *t, const char *stage, FILE *out) {
  RtData *d = rt_data_load(t->data, t->model->task);
  if (!d) return EXIT_DATA;
  t->model->n_in = d->n_feats;
  bool ok = check_outputs(t, d);
  rt_data_free(d);
  if (!ok) return EXIT_SPEC;
  Plan *plan = plan_build(a, t->model, t->cfg, DT_F32);
  if (!plan) return EXIT_SPEC;
  grad_build(a, plan);
  KernelSet *ks = fuse_build(a, plan, false);
  if (!strcmp(stage, "plan")) {
    plan_dump(out, plan);
    fuse_dump(out, ks);
    return EXIT_OK;
  }
  if (!strcmp(stage, "ptx")) return ptx_dump(out, a, t->model, t->cfg, ptx_arch());
  int code = EXIT_OK;
  LlvmUnit *u = llvm_emit(ks, NULL);
  if (!strcmp(stage, "llvm")) {
    llvm_dump_ir(out, u);
  } else {
    llvm_optimize(u);
    if (llvm_dump_asm(out, u)) code = EXIT_INTERNAL;
  }
  llvm_unit_free(u);
  return code;
}

/* mlxc --dump=STAGE FILE [NAME]: print one stage's product. */
static int cmd_dump(const Opts *o) {
  if (o->nargs < 1) return usage_error("%s", "--dump needs a spec file");
  const char *stage = o->dump;
  Arena a = {0};
  int code = EXIT_OK;
  uint32_t file;
  if (!read_source(&a, o->args[0], &file)) {
    code = EXIT_SPEC;
    goto done;
  }
  if (!strcmp(stage, "tokens")) {
    lex_dump(stdout, file);
    code = diag_error_count() ? EXIT_SPEC : EXIT_OK;
    goto done;
  }
  Ast *ast = parse_source(&a, file);
  if (!strcmp(stage, "ast")) {
    ast_dump(stdout, ast);
    code = diag_error_count() ? EXIT_SPEC : EXIT_OK;
    goto done;
  }
  if (diag_error_count()) {
    code = EXIT_SPEC;
    goto done;
  }
  bool data_error = false;
  Program *p = sema_check(&a, ast, SEMA_RUN, &data_error);
  if (!p) {
    code = data_error ? EXIT_DATA : EXIT_SPEC;
    goto done;
  }
  SemaTrain *t = find_train(p, o->nargs > 1 ? o->args[1] : NULL);
  if (!t) {
    rt_diag(RT_ERROR, rt_loc_file(o->args[0]), o->nargs > 1 ? "no train block named '%s'"
                                                            : "no train block to dump%s",
            o->nargs > 1 ? o->args[1] : "");
    code = EXIT_SPEC;
    goto done;
  }
  code = dump_train(&a, t, stage, stdout);
done:
  rt_diag_flush();
  arena_free(&a);
  return code;
}

/* ---- mlxc repl [FILE]: the host functions repl.c runs its commands with ---- */

static const Opts *repl_opts;

static int repl_train(Arena *a, Program *p, SemaTrain *t) {
  if (!rt_make_dir(repl_opts->out_dir)) return EXIT_ENV;
  kcache_spec_hash = p->spec_hash;
  return train_block(a, p, t, repl_opts, NULL);
}

static int repl_describe(Program *p, RtDataSpec *spec) { return describe_dataset(p, spec, false); }

/* A model's layers and parameter count, its input width from its train's data. */
static int repl_layers(Program *p, SemaTrain *t) {
  (void)p;
  RtData *d = rt_data_load(t->data, t->model->task);
  if (!d) return EXIT_DATA;
  RtModelDesc *m = t->model;
  m->n_in = d->n_feats;
  bool ok = check_outputs(t, d);
  rt_data_free(d);
  if (!ok) return EXIT_SPEC;
  static const char *const losses[] = {"mse", "bce", "cross_entropy", "mae"};
  printf("model %s: %d inputs (data %s), loss %s\n", m->name, m->n_in, t->data->name,
         (unsigned)m->loss < 4 ? losses[m->loss] : "?");
  long long total = 0;
  int in = m->n_in;
  for (int i = 0; i < m->n_layers; i++) {
    long long n = (long long)(in + 1) * m->layers[i].units;
    printf("  dense %d %s: %d x %d + %d = %lld parameters\n", m->layers[i].units,
           plan_act_name[m->layers[i].act], in, m->layers[i].units, m->layers[i].units, n);
    total += n;
    in = m->layers[i].units;
  }
  printf("  %lld parameters\n", total);
  return EXIT_OK;
}

static void *repl_load(const char *path, RtModel **m, MlxKernels **k) {
  Loaded *l = rt_xmalloc(sizeof *l);
  if (load_model(l, path)) {
    unload_model(l, 0);
    free(l);
    return NULL;
  }
  *m = l->m;
  *k = &l->k;
  return l;
}

static void repl_unload(void *h) {
  unload_model(h, 0);
  free(h);
}

static int cmd_repl(const Opts *o) {
  if (o->nargs > 1) return usage_error("%s", "repl takes at most one spec file");
  repl_opts = o;
  ReplHost h = {.train = repl_train, .describe = repl_describe, .layers = repl_layers,
                .dump = dump_train, .load = repl_load, .unload = repl_unload};
  ReplOpts ro = {.file = o->nargs ? o->args[0] : NULL, .out_dir = o->out_dir,
                 .version = MLXC_VERSION};
  return repl_main(&ro, &h);
}

static const char *const dump_stages[] = {"tokens", "ast", "plan", "llvm", "asm", "ptx"};

int main(int argc, char **argv) {
  Opts o = {.out_dir = "out", .port = -1};
  const char *argv_pos[argc];   /* positional arguments, in order */
  const char *argv_sim[argc];   /* release ... simulate's options */
  o.args = argv_pos;
  o.sim = argv_sim;
  for (int i = 1; i < argc; i++) {
    const char *s = argv[i];
    if (!strcmp(s, "--help") || !strcmp(s, "-h")) {
      fputs(usage_text, stdout);
      return EXIT_OK;
    } else if (!strcmp(s, "--version")) {
      printf("mlxc %s (LLVM 19)\n", MLXC_VERSION);
      return EXIT_OK;
    } else if (!strcmp(s, "--keywords")) {
      return keywords_print(stdout);   /* tooling: editors/gen.sh */
    } else if (!strcmp(s, "--check") || !strcmp(s, "--stdout")) {
      *(s[2] == 'c' ? &o.fmt_check : &o.fmt_stdout) = true;
    } else if (!strncmp(s, "--dump=", 7)) {
      o.dump = s + 7;
      int n = (int)(sizeof dump_stages / sizeof *dump_stages);
      bool known = false;
      for (int j = 0; j < n; j++) known |= !strcmp(o.dump, dump_stages[j]);
      if (!known) return usage_error("unknown stage '%s' (tokens ast plan llvm asm ptx)", o.dump);
      if (!strcmp(o.dump, "ptx") && !ptx_arch_ok(ptx_arch()))
        return usage_error("MLXC_PTX_ARCH '%s' is not a known GPU architecture (sm_50 sm_52 "
                           "sm_53 sm_60 sm_61 sm_62 sm_70 sm_72 sm_75 sm_80 sm_86 sm_87 sm_89 "
                           "sm_90)", ptx_arch());
    } else if (!strcmp(s, "--diag=json")) {
      rt_diag_json = true;
    } else if (!strncmp(s, "--diag=", 7)) {
      return usage_error("unknown diagnostic format '%s' (json)", s + 7);
    } else if (!strcmp(s, "--Werror")) {
      rt_diag_werror = true;
    } else if (!strcmp(s, "--no-cache")) {
      kcache_disabled = true;
    } else if (!strcmp(s, "--verbose")) {
      verbose = o.verbose = rt_verbose = true;
    } else if (!strcmp(s, "--allow-extern")) {
      rt_allow_extern = true;
    } else if (!strcmp(s, "--json")) {
      o.json = true;
    } else if (!strcmp(s, "--threads")) {
      char *end = NULL;
      long v = ++i < argc ? strtol(argv[i], &end, 10) : 0;
      if (i == argc || !end || *end || end == argv[i] || v < 1 || v > 1024)
        return usage_error("%s needs a number of threads from 1 to 1024", s);
      o.threads = (int)v;
    } else if (!strcmp(s, "--port")) {
      char *end = NULL;
      long v = ++i < argc ? strtol(argv[i], &end, 10) : -1;
      if (i == argc || !end || *end || end == argv[i] || v < 0 || v > 65535)
        return usage_error("%s needs a port number from 0 to 65535", s);
      o.port = (int)v;
    } else if (!strcmp(s, "--bind")) {
      if (++i == argc || !*argv[i]) return usage_error("%s needs an address", s);
      o.bind = argv[i];
    } else if (!strcmp(s, "--port-file")) {
      if (++i == argc) return usage_error("%s needs a file name", s);
      o.port_file = argv[i];
    } else if (!strcmp(s, "--baseline")) {
      if (++i == argc) return usage_error("%s needs a model file", s);
      o.baseline = argv[i];
    } else if (!strcmp(s, "--report")) {
      if (++i == argc) return usage_error("%s needs a file name", s);
      o.report = argv[i];
    } else if (!strcmp(s, "--out") || !strcmp(s, "-o")) {
      if (++i == argc) return usage_error("%s needs a directory", s);
      o.out_dir = argv[i];
      o.out_given = true;
    } else if (!strcmp(s, "--store") || !strcmp(s, "--who") || !strcmp(s, "--why")) {
      if (++i == argc) return usage_error("%s needs a value", s);
      *(s[2] == 's' ? &o.store : s[4] == 'o' ? &o.who : &o.why) = argv[i];
    } else if (!strcmp(s, "--admin-token-file")) {
      if (++i == argc || !*argv[i]) return usage_error("%s needs a file name", s);
      o.admin_token_file = argv[i];
    } else if (!strcmp(s, "--release")) {
      if (++i == argc || !*argv[i]) return usage_error("%s needs a release name", s);
      o.release = argv[i];
    } else if (rt_sim_option(s)) {   /* release ... simulate's options (rt_simulate.c) */
      if (++i == argc) return usage_error("%s needs a value", s);
      o.sim[o.nsim++] = s;
      o.sim[o.nsim++] = argv[i];
    } else if (!strcmp(s, "--model")) {
      if (++i == argc) return usage_error("%s needs a model file", s);
      o.model = argv[i];
    } else if (!strcmp(s, "--cpu")) {
      if (++i == argc || (strcmp(argv[i], "generic") && strcmp(argv[i], "native")))
        return usage_error("%s needs 'generic' or 'native'", s);
      o.cpu = argv[i];
    } else if (s[0] == '-' && s[1] == '-') {
      return usage_error("unknown option '%s'", s);
    } else {
      o.args[o.nargs++] = s;
    }
  }
  /* The first positional is the command, except under --dump. */
  if (!o.dump && o.nargs) {
    o.cmd = o.args[0];
    o.args++;
    o.nargs--;
  }
  if (o.report && (o.dump || !o.cmd || strcmp(o.cmd, "run")))
    return usage_error("%s applies to 'run' only", "--report");
  if (o.baseline && (o.dump || !o.cmd || strcmp(o.cmd, "run")))
    return usage_error("%s applies to 'run' only", "--baseline");
  if ((o.port >= 0 || o.bind || o.port_file) && (o.dump || !o.cmd || strcmp(o.cmd, "serve")))
    return usage_error("%s applies to 'serve' only",
                       o.port >= 0 ? "--port" : o.bind ? "--bind" : "--port-file");
  if (o.json && (o.dump || !o.cmd || (strcmp(o.cmd, "data") && strcmp(o.cmd, "predict") &&
                                      strcmp(o.cmd, "release"))))
    return usage_error("%s applies to 'data', 'predict' and 'release' only", "--json");
  if ((o.who || o.why) && (o.dump || !o.cmd || strcmp(o.cmd, "release")))
    return usage_error("%s applies to 'release' only", o.who ? "--who" : "--why");
  if (o.store && (o.dump || !o.cmd || (strcmp(o.cmd, "release") && strcmp(o.cmd, "serve"))))
    return usage_error("%s applies to 'release' and 'serve --release' only", "--store");
  if ((o.release || o.store) && o.cmd && !strcmp(o.cmd, "serve") && !o.release)
    return usage_error("%s applies to 'serve --release' only", "--store");
  if (o.release && (o.dump || !o.cmd || strcmp(o.cmd, "serve")))
    return usage_error("%s applies to 'serve' only", "--release");
  if (o.admin_token_file && !o.release)
    return usage_error("%s applies to 'serve --release' only", "--admin-token-file");
  if (o.nsim && (o.dump || !o.cmd || strcmp(o.cmd, "release") || o.nargs != 3 ||
                 strcmp(o.args[2], "simulate")))
    return usage_error("%s applies to 'release FILE NAME simulate' only", o.sim[0]);
  if ((o.model || o.cpu) && (o.dump || !o.cmd || strcmp(o.cmd, "build")))
    return usage_error("%s applies to 'build' only", o.model ? "--model" : "--cpu");
  if ((o.fmt_check || o.fmt_stdout) && (o.dump || !o.cmd || strcmp(o.cmd, "fmt")))
    return usage_error("%s applies to 'fmt' only", o.fmt_check ? "--check" : "--stdout");
  int code;
  if (o.dump) {
    code = cmd_dump(&o);
  } else if (!o.cmd) {
    fputs(usage_text, stderr);
    code = EXIT_USAGE;
  } else if (!strcmp(o.cmd, "check")) {
    code = cmd_check(&o);
  } else if (!strcmp(o.cmd, "run")) {
    code = cmd_run(&o);
  } else if (!strcmp(o.cmd, "predict")) {
    code = cmd_predict(&o);
  } else if (!strcmp(o.cmd, "serve")) {
    code = cmd_serve(&o);
  } else if (!strcmp(o.cmd, "eval")) {
    code = cmd_eval(&o);
  } else if (!strcmp(o.cmd, "data")) {
    code = cmd_data(&o);
  } else if (!strcmp(o.cmd, "build")) {
    code = cmd_build(&o);
  } else if (!strcmp(o.cmd, "release")) {
    code = cmd_release(&o);
  } else if (!strcmp(o.cmd, "repl")) {
    code = cmd_repl(&o);
  } else if (!strcmp(o.cmd, "fmt")) {
    code = fmt_files(o.args, o.nargs, o.fmt_check, o.fmt_stdout);
  } else {
    code = usage_error("unknown command '%s' (check run predict eval serve data build release repl fmt --dump)", o.cmd);
  }
  return code;
}
