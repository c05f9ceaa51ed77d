/* sema.c — the checker, between parse and plan. It resolves imports, folds
 * consts, knows every statement of every block (arguments, options, units,
 * types), reads CSV headers to check column names, and turns each train block
 * into the runtime's descriptions (RtDataSpec, RtModelDesc, RtTrainCfg).
 * SEMA_RUN also refuses, at its location, what `mlxc run` cannot execute yet. */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mlxc.h"

const char *sema_csv_override;
bool sema_build_externs;
int (*sema_path_value)(const char *const *names, int n, double *out);

/* Defaults a train block gets for what it does not say (RtTrainCfg):
 *
 *   setting            default     setting            default
 *   sgd lr             0.01        adam lr            1e-3
 *   sgd momentum       0           adam beta1         0.9
 *   epochs             10          adam beta2         0.999
 *   batch              32          adam eps           1e-8
 *   seed               0           split seed         0
 *   optimizer          sgd         adamw              adam's, weight_decay 0.01
 *   sgd nesterov       false       adagrad lr, eps    0.01, 1e-10
 *   l1, l2             0           rmsprop lr, rho    0.01, 0.99
 *   clip               none        rmsprop eps, mom   1e-8, 0
 */
#define DEF_SGD_LR 0.01
#define DEF_ADAM_LR 1e-3
#define DEF_BETA1 0.9
#define DEF_BETA2 0.999
#define DEF_EPS 1e-8
#define DEF_ADAMW_WD 1e-2
#define DEF_ADAGRAD_EPS 1e-10
#define DEF_RHO 0.99
#define DEF_EPOCHS 10
#define DEF_BATCH 32

#define NELEM(a) ((int)(sizeof(a) / sizeof *(a)))

/* ---- values and types --------------------------------------------------- */

/* The kinds of value a spec can spell; numbers carry no unit, the others do. */
typedef enum { TY_ERR, TY_NUM, TY_DUR, TY_PCT, TY_BOOL, TY_STR, TY_COUNT, TY_LIST, TY_MAP } Ty;

static const char *const ty_article[] = {
    "an invalid value", "a number", "a duration", "a percent", "a bool",
    "a string", "a count", "a list", "a map"};

/* A checked expression: its type and, when folded at compile time, its value. */
typedef struct Val {
  Ty ty;
  bool known;       /* num/str hold the folded value */
  bool is_int;      /* an integer (folded, or an int parameter) */
  double num;       /* NUM, DUR (seconds), PCT (percent), COUNT, BOOL (0/1) */
  const char *str;  /* STR bytes; COUNT: the unit word */
  Ast *src;         /* where the value was written (literal, argument, default) */
  bool from_arg;    /* came from a train's named model argument */
} Val;

static const Val val_err = {0};

/* ---- declarations and per-block results --------------------------------- */

typedef struct DataInfo DataInfo;
typedef struct ModelInfo ModelInfo;
typedef struct GateInfo GateInfo;
typedef struct TrainInfo TrainInfo;

/* A top-level name: a block, a const, a fn or an extern, from any file. */
typedef struct Decl {
  Ast *node;         /* the declaration */
  const char *name;
  Val val;           /* const: the folded value */
  int state;         /* const: 0 not folded, 1 folding (a cycle), 2 done */
  void *info;        /* DataInfo, ModelInfo, GateInfo or TrainInfo once checked */
  bool root;         /* declared in the root file (not imported) */
  int fn_state;      /* fn: 0 not checked, 1 checked with errors, 2 checked clean */
  bool folding;      /* fn: a call of it is being folded (fns calling each other) */
} Decl;

/* A dataset as trains see it. */
struct DataInfo {
  bool ok;            /* checked without errors: usable by trains */
  RtDataSpec *spec;   /* what the runtime loads */
  char **header;      /* CSV header names, NULL when unreadable */
  int nheader;
  int n_map_classes;  /* distinct values in a label map (0: none) */
  Ast *label_stmt;    /* the `label` statement */
  bool has_split;
  Ast *split_stmt;    /* the `split` statement */
  Span *feat_span;    /* each spec->feats[i]'s `feature` statement */
};

/* A model block after checking its statements with unbound parameters. */
struct ModelInfo {
  bool ok;            /* usable by trains */
  bool has_loss;
  RtLoss loss;
  bool mae;           /* `loss mae` (regression; not in RtLoss yet) */
  RtTask task;
  Ast *loss_stmt;
  Val *defs;          /* folded parameter defaults (TY_ERR: none) */
};

/* A metric path read by a gate line, checked per task once trains use it. */
typedef struct MetricUse {
  Ast *node;          /* the PATH */
  const char *metric; /* the metric word */
  const char *where;  /* "train", "val", "test" */
  unsigned reported;  /* tasks already reported (1 << RtTask): once per task */
} MetricUse;

struct GateInfo {
  bool ok;
  PtrVec uses;        /* MetricUse* of split metrics */
  Ast *live_use;      /* first `live.` path, if any */
  bool live_reported; /* a train's use of it was reported */
  bool has_baseline;
  RtGate *rt;         /* the gate as the runtime checks it (lines, baseline, first_run) */
};

struct TrainInfo {
  bool ok;            /* a SemaTrain could be built */
  bool task_known;
  RtTask task;
  Decl *model, *data;
  Ast *model_stmt;
  const char *opt;    /* optimizer word */
  Ast *opt_call;      /* its CALL or NAME */
  Ast *last_dense;    /* the model's last `dense` statement */
  SemaTrain st;
  Val *binds;         /* the model's arguments (for a search's model.PARAM) */
};

/* A file taken in by import, keyed by its real path (or "std/NAME"). */
typedef struct FileRec {
  const char *key;
  Ast *site;          /* the import that first brought it in (NULL: root) */
  bool active;        /* on the import stack now */
  uint32_t file;      /* its source */
} FileRec;

/* A `schedule` or `rollout` template's statements as one use checks them:
 * its parameters bound to the use's arguments over the defaults (or to
 * the defaults alone, when the declaration itself is checked). */
typedef struct Tmpl {
  Decl *d;            /* the template */
  Val *binds;         /* per parameter */
  Ast *use;           /* the `schedule NAME(...)` / `rollout NAME(...)` item, or NULL */
} Tmpl;

/* The template info of a checked `schedule`/`rollout` declaration. */
typedef struct TmplInfo {
  bool ok;            /* checked without errors with its defaults: usable */
  Tmpl defs;          /* bound to the defaults */
} TmplInfo;

/* The checker's state for one compilation. */
typedef struct Ctx {
  Arena *a;
  SemaMode mode;
  bool *data_error;
  PtrVec decls;       /* Decl*, every file, in import order */
  PtrVec files;       /* FileRec* */
  PtrVec stack;       /* FileRec* being imported now, root first */
  bool instantiating; /* building a model for a train: report argument values only */
  uint32_t root_file; /* the root spec: std/ modules' relative paths resolve from it */
  Tmpl *tmpl;         /* a template's statement is being checked: its parameters are names */
} Ctx;

/* How names in an expression resolve. */
typedef enum {
  SC_CONST,    /* consts only (const initializers, statement arguments) */
  SC_PARAMS,   /* consts and the block's parameters */
  SC_FN,       /* a fn body: parameters, consts, builtins and other fns */
  SC_GATE,     /* a gate line: metric paths */
  SC_RELEASE   /* a release rule: live metrics, drift() */
} ScopeKind;

typedef struct Scope {
  ScopeKind kind;
  Ast **params; int nparams;  /* of the model, gate or fn */
  Val *binds;                 /* per parameter (TY_ERR: unbound), or NULL */
  Decl *self;                 /* the fn being checked: no recursion */
  GateInfo *gate;             /* SC_GATE: metric uses are recorded here */
  bool has_baseline;          /* a `baseline` line makes baseline.* readable */
  DataInfo *data;             /* SC_RELEASE: columns for drift() */
  int cand_task;              /* SC_RELEASE: the candidate's RtTask + 1 (0: unknown) */
} Scope;

/* ---- small helpers ------------------------------------------------------- */

static bool span_ok(Span s) { return s.hi > s.lo; }

/* The name's span when the parser gave one, else the node's. */
static Span nsp(const Ast *n) { return span_ok(n->name_span) ? n->name_span : n->span; }

/* Source text of a span, on one line and shortened, for quoting in messages. */
static char *span_text(Ctx *c, Span s) {
  size_t len;
  const char *t = src_text(s.file, &len);
  if (s.lo > len) return "";
  size_t hi = s.hi > len ? len : s.hi;
  size_t n = hi - s.lo;
  const char *nl = memchr(t + s.lo, '\n', n);
  if (nl) n = (size_t)(nl - (t + s.lo));
  if (n > 60) return arena_printf(c->a, "%.57s...", t + s.lo);
  return arena_strndup(c->a, t + s.lo, n);
}

static char *node_text(Ctx *c, const Ast *n) { return span_text(c, n->span); }

static bool is_word(const Ast *n, const char *w) {
  return n && n->kind == AST_NAME && n->name && !strcmp(n->name, w);
}

static bool is_mod(const Ast *n, const char *w) {
  return n && n->kind == AST_MOD && n->name && !strcmp(n->name, w) && n->nkids;
}

static int word_index(const char *w, const char *const *list, int n) {
  for (int i = 0; w && i < n; i++)
    if (!strcmp(w, list[i])) return i;
  return -1;
}

/* A `did you mean` note at s, when one of cands is close to word. */
static void suggest(Span s, const char *word, const char *const *cands, int n) {
  const char *best = word ? diag_suggest(word, cands, n) : NULL;
  if (best) diag_note(s, "did you mean '%s'?", best);
}

/* "unknown WHAT 'word'" with a did-you-mean note over cands. */
static void unknown(Span s, const char *what, const char *word, const char *const *cands,
                    int n) {
  diag_error(s, "unknown %s '%s'", what, word ? word : "?");
  suggest(s, word, cands, n);
}

/* True when n or anything under it is a parse-error node: such statements
 * were already reported by the parser and are skipped without cascades. */
static bool has_error(const Ast *n) {
  if (!n) return false;
  if (n->kind == AST_ERROR) return true;
  for (int i = 0; i < n->nkids; i++)
    if (has_error(n->kids[i])) return true;
  for (int i = 0; i < n->nparams; i++)
    if (has_error(n->params[i])) return true;
  return false;
}

/* SEMA_RUN refuses what `mlxc run` cannot execute yet. Returns true when refused. */
static bool refuse(Ctx *c, Span s, const char *what) {
  if (c->mode != SEMA_RUN) return false;
  diag_error(s, "'%s' is not supported yet", what);
  return true;
}

static RtLoc loc_of(Ctx *c, Span s) {
  RtLoc l = span_loc(s);
  if (l.text) l.text = arena_strdup(c->a, l.text);
  return l;
}

static char *dir_of(Ctx *c, const char *path) {
  const char *slash = strrchr(path, '/');
  return slash ? arena_strndup(c->a, path, (size_t)(slash - path)) : "";
}

/* A path written in a spec, relative to the spec file that wrote it. */
static char *resolve_path(Ctx *c, uint32_t file, const char *p) {
  if (p[0] == '/') return arena_strdup(c->a, p);
  if (!strncmp(src_path(file), "std/", 4)) file = c->root_file;   /* a std/ module's default */
  const char *d = dir_of(c, src_path(file));
  return *d ? arena_printf(c->a, "%s/%s", d, p) : arena_strdup(c->a, p);
}

/* The items of a statement's clause k; *n is 0 when there is no such clause. */
static Ast **clause(const Ast *st, int k, int *n) {
  *n = 0;
  if (k >= st->nkids || !st->kids[k]) return NULL;
  *n = st->kids[k]->nkids;
  return st->kids[k]->kids;
}

/* Where to point when something is missing at the end of a statement. */
static Span end_span(const Ast *st) {
  Span s = st->span;
  s.lo = s.hi > s.lo ? s.hi - 1 : s.lo;
  return s;
}

/* Statements that take one clause: a second one (a comma) is an error. */
static bool one_clause(Ctx *c, Ast *st) {
  if (st->nkids <= 1) return true;
  Ast *k = st->kids[1];
  diag_error(k->nkids ? k->kids[0]->span : k->span, "unexpected '%s' after '%s'",
             k->nkids ? node_text(c, k->kids[0]) : ",", st->name);
  return false;
}

/* Items past what a statement takes. */
static bool no_more(Ctx *c, Ast *st, Ast **it, int n, int used) {
  if (n <= used) return true;
  diag_error(it[used]->span, "unexpected '%s' in '%s'", node_text(c, it[used]), st->name);
  return false;
}

/* Expects at least `want` items; reports what is missing at the end. */
static bool need(Ctx *c, Ast *st, int n, int want, const char *what) {
  (void)c;
  if (n >= want) return true;
  diag_error(end_span(st), "expected %s after '%s', found the end of the line", what,
             st->name);
  return false;
}

/* ---- declarations -------------------------------------------------------- */

static Decl *decl_find(Ctx *c, const char *name) {
  for (int i = 0; name && i < c->decls.len; i++) {
    Decl *d = c->decls.items[i];
    if (!strcmp(d->name, name)) return d;
  }
  return NULL;
}

static const char *kind_word(AstKind k) {
  switch (k) {
  case AST_CONST: return "const";
  case AST_DATASET: return "dataset";
  case AST_MODEL: return "model";
  case AST_GATE: return "gate";
  case AST_TRAIN: return "train";
  case AST_SEARCH: return "search";
  case AST_RELEASE: return "release";
  case AST_SCHEDULE: return "schedule";
  case AST_ROLLOUT: return "rollout";
  case AST_FN: return "fn";
  case AST_EXTERN: return "extern fn";
  default: return "declaration";
  }
}

/* Names of every declaration of kind k (AST__COUNT: any), for suggestions. */
static const char **decl_names(Ctx *c, AstKind k, int *n) {
  const char **v = arena_alloc(c->a, sizeof(char *) * (size_t)(c->decls.len + 1));
  *n = 0;
  for (int i = 0; i < c->decls.len; i++) {
    Decl *d = c->decls.items[i];
    if (k == AST__COUNT || d->node->kind == k) v[(*n)++] = d->name;
  }
  return v;
}

/* Finds a declaration of kind k named by node n (a NAME or a CALL's callee);
 * reports unknown names and names of another kind. */
static Decl *lookup_kind(Ctx *c, Ast *n, AstKind k) {
  const char *name = n->name;
  Decl *d = decl_find(c, name);
  if (!d) {
    int nn;
    const char **names = decl_names(c, k, &nn);
    diag_error(nsp(n), "unknown %s '%s'", kind_word(k), name ? name : "?");
    suggest(nsp(n), name, names, nn);
    return NULL;
  }
  if (d->node->kind != k) {
    diag_error(nsp(n), "expected a %s, found %s '%s'", kind_word(k), kind_word(d->node->kind),
               name);
    diag_note(nsp(d->node), "'%s' is declared here", name);
    return NULL;
  }
  return d;
}

/* Adds a declaration; one namespace for every kind, across imported files. */
static void decl_add(Ctx *c, Ast *n, bool root) {
  if (!n->name) return;
  Decl *old = decl_find(c, n->name);
  if (old) {
    diag_error(nsp(n), "duplicate name '%s'", n->name);
    diag_note(nsp(old->node), "'%s' is first declared here as a %s", n->name,
              kind_word(old->node->kind));
    return;
  }
  Decl *d = arena_alloc(c->a, sizeof *d);
  d->node = n;
  d->name = n->name;
  d->root = root;
  ptrvec_push(c->a, &c->decls, d);
}

static void load_file(Ctx *c, Ast *file, bool root);

/* Reads a whole file into the arena; NULL with errno set on failure. */
static char *read_all(Ctx *c, const char *path, size_t *len) {
  char *buf = rt_read_file(path, len);
  if (!buf) return NULL;
  char *t = arena_strndup(c->a, buf, *len);
  free(buf);
  return t;
}

/* import "std/NAME" | import "rel/path.mlx": each file is taken in once; a
 * file that is being imported further up the stack is a cycle. */
static void import_one(Ctx *c, Ast *imp) {
  const char *p = imp->str;
  if (!p || !*p) {
    diag_error(imp->span, "expected a module path, found '%s'", node_text(c, imp));
    return;
  }
  bool std = !strncmp(p, "std/", 4);
  const char *path = std ? p : resolve_path(c, imp->span.file, p);
  const char *key = path;
  char real[PATH_MAX];
  if (!std && realpath(path, real)) key = arena_strdup(c->a, real);
  for (int i = 0; i < c->files.len; i++) {
    FileRec *r = c->files.items[i];
    if (strcmp(r->key, key)) continue;
    if (!r->active) return;   /* already in: a diamond, not a cycle */
    diag_error(imp->span, "import cycle: '%s' imports itself", p);
    bool after = false;
    for (int j = 0; j < c->stack.len; j++) {
      FileRec *s = c->stack.items[j];
      if (s == r) after = true;
      if (after && s->site) diag_note(s->site->span, "'%s' is imported here", s->site->str);
    }
    return;
  }
  size_t len = 0;
  const char *text;
  if (std) {
    text = stdlib_find(p, &len);
    if (!text) {
      const char *mods[64];
      int nm = 0;
      while (nm < 64 && (mods[nm] = stdlib_name(nm))) nm++;
      diag_error(imp->span, "unknown module '%s'", p);
      suggest(imp->span, p, mods, nm);
      return;
    }
  } else {
    size_t n = strlen(path);
    if (n < 4 || strcmp(path + n - 4, ".mlx")) {
      diag_error(imp->span, "expected a path ending in '.mlx' or 'std/NAME', found '%s'", p);
      return;
    }
    text = read_all(c, path, &len);
    if (!text) {
      diag_error(imp->span, "cannot read '%s': %s", path, strerror(errno));
      return;
    }
  }
  FileRec *r = arena_alloc(c->a, sizeof *r);
  r->key = key;
  r->site = imp;
  r->active = true;
  ptrvec_push(c->a, &c->files, r);
  ptrvec_push(c->a, &c->stack, r);
  uint32_t id = src_add(std ? p : path, text, len);
  r->file = id;
  Ast *file = parse_source(c->a, id);
  if (file) load_file(c, file, false);
  c->stack.len--;
  r->active = false;
}

/* Declarations of one file in order; imports are taken in where they stand. */
static void load_file(Ctx *c, Ast *file, bool root) {
  for (int i = 0; i < file->nkids; i++) {
    Ast *n = file->kids[i];
    if (!n || n->kind == AST_ERROR) continue;
    if (n->kind == AST_IMPORT) import_one(c, n);
    else decl_add(c, n, root);
  }
}

/* ---- expressions --------------------------------------------------------- */

static Val ex_eval(Ctx *c, Scope *s, Ast *e);
static void const_fold(Ctx *c, Decl *d);

static void check_fn(Ctx *c, Decl *d);
static void check_fn_body(Ctx *c, Decl *d);
static Val extern_fold(Ctx *c, Scope *s, Ast *e, Decl *d);
static bool tmpl_param(Ctx *c, const char *name);

static const char *const builtins[] = {"min", "max", "abs", "exp", "log", "sqrt", "log1p"};
static const char *const count_units[] = {"epoch", "epochs", "step", "steps", "request",
                                          "requests", "check", "checks"};
static const char *const type_names[] = {"int", "float", "bool", "str", "duration", "percent",
                                         "count"};

static const char *const metrics_binary[] = {"loss", "accuracy", "precision", "recall",
                                             "f1", "auc", "log_loss"};
static const char *const metrics_multi[] = {"loss", "accuracy", "log_loss", "precision",
                                            "recall", "f1"};
static const char *const metrics_reg[] = {"loss", "mse", "rmse", "mae", "r2"};
static const char *const metrics_all[] = {"loss", "accuracy", "precision", "recall", "f1",
                                          "auc", "log_loss", "mse", "rmse", "mae", "r2"};
static const char *const splits[] = {"train", "val", "test"};
static const char *const latencies[] = {"p50", "p90", "p99"};
static const char *const live_metrics[] = {"requests", "error_rate", "p50", "p99"};
static const char *const task_names[] = {"regression", "binary", "multiclass"};

static bool metric_of_task(const char *m, RtTask t) {
  switch (t) {
  case RT_TASK_BINARY: return word_index(m, metrics_binary, NELEM(metrics_binary)) >= 0;
  case RT_TASK_MULTICLASS: return word_index(m, metrics_multi, NELEM(metrics_multi)) >= 0;
  default: return word_index(m, metrics_reg, NELEM(metrics_reg)) >= 0;
  }
}

/* Lower is better for these; the rest are maximized. */
static bool metric_minimized(const char *m) {
  return !strcmp(m, "loss") || !strcmp(m, "log_loss") || !strcmp(m, "mse") ||
         !strcmp(m, "rmse") || !strcmp(m, "mae");
}

/* A parameter's declared type as a Val (unknown value). */
static Val param_type(Ctx *c, Ast *p) {
  (void)c;
  Val v = {0};
  const char *t = p->str;
  if (!t) return v;
  int k = word_index(t, type_names, NELEM(type_names));
  static const Ty tys[] = {TY_NUM, TY_NUM, TY_BOOL, TY_STR, TY_DUR, TY_PCT, TY_COUNT};
  if (k < 0) return v;
  v.ty = tys[k];
  v.is_int = k == 0;
  return v;
}

/* "a duration '10m'": what was found, for "expected X, found Y". */
static char *found(Ctx *c, Val v, Ast *at) {
  Ast *src = v.src ? v.src : at;
  char *t = node_text(c, src);
  if (src->kind == AST_NAME && v.known && v.ty == TY_NUM)
    return arena_printf(c->a, "%s '%s' (= %g)", ty_article[v.ty], t, v.num);
  return arena_printf(c->a, "%s '%s'", ty_article[v.ty], t);
}

/* Reports a bad value at where it was written; when it came through a model
 * parameter, a note points at the use. While instantiating a model for a
 * train only values from the train's own arguments are reported (the rest
 * were reported when the model itself was checked). */
static bool val_error(Ctx *c, Ast *use, Val v, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static bool val_error(Ctx *c, Ast *use, Val v, const char *fmt, ...) {
  if (c->instantiating && !v.from_arg) return false;
  char msg[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  Ast *at = v.src ? v.src : use;
  diag_error(at->span, "%s", msg);
  if (at != use && at->span.lo != use->span.lo)
    diag_note(use->span, "the value is used here");
  return false;
}

/* A NAME in an expression: a parameter, a const, true/false. */
static Val ex_name(Ctx *c, Scope *s, Ast *e) {
  const char *n = e->name;
  Ast *tb = c->tmpl && s->kind != SC_FN && s->kind != SC_GATE ? c->tmpl->d->node : NULL;
  for (int i = 0; tb && i < tb->nparams; i++)   /* a template's parameter */
    if (tb->params[i]->name && !strcmp(tb->params[i]->name, n) && c->tmpl->binds[i].ty != TY_ERR)
      return c->tmpl->binds[i];
  if (s->kind != SC_CONST)
    for (int i = 0; i < s->nparams; i++) {
      if (!s->params[i]->name || strcmp(s->params[i]->name, n)) continue;
      if (s->binds && s->binds[i].ty != TY_ERR) return s->binds[i];
      Val v = param_type(c, s->params[i]);
      v.src = e;
      return v;
    }
  Decl *d = decl_find(c, n);
  if (d && d->node->kind == AST_CONST) {
    if (d->node->span.file == e->span.file && d->node->span.lo > e->span.lo) {
      diag_error(e->span, "'%s' is used before its definition", n);
      diag_note(nsp(d->node), "'%s' is defined here", n);
      return val_err;
    }
    const_fold(c, d);
    if (d->val.ty == TY_ERR) return val_err;
    Val v = d->val;
    v.src = e;
    v.from_arg = false;
    return v;
  }
  if (!strcmp(n, "true") || !strcmp(n, "false")) {
    Val v = {.ty = TY_BOOL, .known = true, .num = n[0] == 't', .src = e};
    return v;
  }
  if (d) {
    diag_error(e->span, "expected a value, found %s '%s'", kind_word(d->node->kind), n);
    return val_err;
  }
  /* Unknown: suggest over consts and parameters. */
  int nc;
  const char **cands = decl_names(c, AST_CONST, &nc);
  const char **all = arena_alloc(c->a, sizeof(char *) * (size_t)(nc + s->nparams + 1));
  memcpy(all, cands, sizeof(char *) * (size_t)nc);
  for (int i = 0; s->kind != SC_CONST && i < s->nparams; i++) all[nc++] = s->params[i]->name;
  if (s->kind == SC_GATE || s->kind == SC_RELEASE) {
    const char *m[] = {"train", "val", "test", "predict", "baseline", "live"};
    if (word_index(n, m, NELEM(m)) >= 0) {
      diag_error(e->span, "expected a metric like '%s.METRIC', found '%s'", n, n);
      return val_err;
    }
  }
  unknown(e->span, "name", n, all, nc);
  return val_err;
}

/* A split metric `SPLIT.METRIC` (parts from k on); records it for the per-task check. */
/* A metric path's word: a gate's `str` parameter stands for its value
 * (`test.metric` with `metric: str = "auc"` reads test.auc). */
static const char *path_word(const Scope *s, const char *w) {
  for (int i = 0; s->kind == SC_GATE && s->binds && i < s->nparams; i++)
    if (s->params[i]->name && !strcmp(s->params[i]->name, w) && s->binds[i].ty == TY_STR &&
        s->binds[i].known && s->binds[i].str)
      return s->binds[i].str;
  return w;
}

static Val ex_split_metric(Ctx *c, Scope *s, Ast *e, int k) {
  Ast **p = e->kids;
  if (e->nkids != k + 2) {
    diag_error(e->span, "expected '%s.METRIC', found '%s'", p[k]->name, node_text(c, e));
    return val_err;
  }
  const char *m = path_word(s, p[k + 1]->name);
  if (word_index(m, metrics_all, NELEM(metrics_all)) < 0) {
    unknown(p[k + 1]->span, "metric", m, metrics_all, NELEM(metrics_all));
    return val_err;
  }
  if (s->gate) {
    MetricUse *u = arena_alloc(c->a, sizeof *u);
    u->node = e;
    u->metric = m;
    u->where = p[k]->name;
    ptrvec_push(c->a, &s->gate->uses, u);
  }
  return (Val){.ty = TY_NUM, .src = e};
}

/* A metric path in a gate line or a release rule. */
static Val ex_path(Ctx *c, Scope *s, Ast *e) {
  if (sema_path_value && s->kind == SC_CONST && e->nkids <= 8) {   /* the REPL's metrics */
    const char *names[8];
    bool all = true;
    for (int i = 0; i < e->nkids; i++) {
      all &= e->kids[i] && e->kids[i]->kind == AST_NAME;
      names[i] = all ? e->kids[i]->name : NULL;
    }
    double v;
    int k = all ? sema_path_value(names, e->nkids, &v) : 0;
    if (k < 0) {
      diag_error(e->span, "'%s' has no metrics yet: train it first (:train %s)", names[0], names[0]);
      return val_err;
    }
    if (k) return (Val){.ty = k == 2 ? TY_DUR : TY_NUM, .known = true, .num = v, .src = e};
  }
  if (s->kind != SC_GATE && s->kind != SC_RELEASE) {
    diag_error(e->span, "expected a value, found the path '%s'", node_text(c, e));
    return val_err;
  }
  Ast **p = e->kids;
  int n = e->nkids;
  for (int i = 0; i < n; i++)
    if (!p[i] || p[i]->kind != AST_NAME) return val_err;
  int k = 0;
  if (!strcmp(p[0]->name, "baseline")) {
    if (!s->has_baseline) {
      diag_error(e->span, "'%s' reads a baseline, but there is no 'baseline' line",
                 node_text(c, e));
      return val_err;
    }
    k = 1;
    if (n < 2) return val_err;
  }
  const char *w = p[k]->name;
  if (s->kind == SC_RELEASE && (word_index(w, splits, NELEM(splits)) >= 0 || !strcmp(w, "predict"))) {
    diag_error(e->span, "'%s' is not measured on live traffic; a release rule reads live.*, "
               "baseline.live.* and drift()", node_text(c, e));
    diag_note(e->span, "offline metrics belong in the release's 'gate', checked before step 1");
    return val_err;
  }
  if (word_index(w, splits, NELEM(splits)) >= 0) return ex_split_metric(c, s, e, k);
  if (!strcmp(w, "predict")) {
    if (n != k + 2 || word_index(p[k + 1]->name, latencies, NELEM(latencies)) < 0) {
      Ast *at = n > k + 1 ? p[k + 1] : e;
      diag_error(at->span, "expected 'predict.p50', 'predict.p90' or 'predict.p99', found '%s'",
                 node_text(c, e));
      if (n > k + 1) suggest(at->span, p[k + 1]->name, latencies, NELEM(latencies));
      return val_err;
    }
    return (Val){.ty = TY_DUR, .src = e};
  }
  if (!strcmp(w, "live")) {
    if (s->kind == SC_GATE && s->gate && !s->gate->live_use) s->gate->live_use = e;
    bool lat = false;   /* releases: every live metric that exists (release_check.c) */
    if (s->kind == SC_RELEASE && n == k + 2) {
      if (!release_live_metric(p[k + 1]->span, node_text(c, e), p[k + 1]->name, s->cand_task - 1, &lat))
        return val_err;
    } else if (n != k + 2 || word_index(p[k + 1]->name, live_metrics, NELEM(live_metrics)) < 0) {
      Ast *at = n > k + 1 ? p[k + 1] : e;
      diag_error(at->span, "unknown live metric '%s'", node_text(c, e));
      if (n > k + 1) suggest(at->span, p[k + 1]->name, live_metrics, NELEM(live_metrics));
      return val_err;
    } else {
      lat = p[k + 1]->name[0] == 'p';
    }
    return (Val){.ty = lat ? TY_DUR : TY_NUM, .src = e};
  }
  const char *heads[] = {"train", "val", "test", "predict", "baseline", "live"};
  unknown(p[k]->span, "metric prefix", w, heads, NELEM(heads));
  return val_err;
}

static bool fold_math(const char *f, double *x, int n, double *out) {
  if (!strcmp(f, "min") || !strcmp(f, "max")) {
    double r = x[0];
    for (int i = 1; i < n; i++) r = f[1] == 'i' ? fmin(r, x[i]) : fmax(r, x[i]);
    *out = r;
  } else if (!strcmp(f, "abs")) *out = fabs(x[0]);
  else if (!strcmp(f, "exp")) *out = exp(x[0]);
  else if (!strcmp(f, "log")) *out = log(x[0]);
  else if (!strcmp(f, "sqrt")) *out = sqrt(x[0]);
  else *out = log1p(x[0]);
  return isfinite(*out);
}

/* Whether call e gives fn or extern d as many arguments as it has
 * parameters; false after reporting. */
static bool arity_ok(Ast *e, Decl *d) {
  Ast *f = d->node;
  if (e->nkids == f->nparams) return true;
  diag_error(e->span, "'%s' takes %d argument%s, found %d", d->name, f->nparams,
             f->nparams == 1 ? "" : "s", e->nkids);
  diag_note(nsp(f), "'%s' is declared here", d->name);
  return false;
}

/* A call of fn d from a const (or from a fn being folded): the arguments
 * checked against the parameters' types and, when all are known, the body
 * evaluated with them bound, so `const x = f(2)` folds. */
static Val fn_fold(Ctx *c, Scope *s, Ast *e, Decl *d) {
  Ast *f = d->node;
  if (!arity_ok(e, d)) return val_err;
  Val *binds = arena_alloc(c->a, sizeof(Val) * (size_t)(f->nparams + 1));
  bool bad = false, known = true;
  for (int i = 0; i < e->nkids; i++) {
    Val v = ex_eval(c, s, e->kids[i]);
    if (v.ty == TY_ERR) {
      bad = true;
      continue;
    }
    Val want_t = param_type(c, f->params[i]);
    if (want_t.ty != TY_ERR && v.ty != want_t.ty) {
      diag_error(e->kids[i]->span, "expected %s for '%s' of '%s', found %s", ty_article[want_t.ty],
                 f->params[i]->name ? f->params[i]->name : "?", d->name, found(c, v, e->kids[i]));
      bad = true;
      continue;
    }
    known &= v.known;
    binds[i] = v;
  }
  if (bad) return val_err;
  check_fn(c, d);
  if (d->fn_state != 2) return val_err;   /* its own errors are reported at the fn */
  Ast ret = {.str = f->str};
  Val r = param_type(c, &ret);
  r.src = e;
  if (!known || !f->nkids) return r;
  if (d->folding) {
    diag_error(e->span, "'%s' calls itself through other fns; fn may not recurse", d->name);
    return val_err;
  }
  Scope fs = {.kind = SC_FN, .params = f->params, .nparams = f->nparams, .binds = binds, .self = d};
  d->folding = true;
  Val v = ex_eval(c, &fs, f->kids[0]);
  d->folding = false;
  if (v.ty == TY_ERR) return val_err;
  v.src = e;
  v.from_arg = false;
  return v;
}

/* The library extern fn f names, as dlopen takes it: one with a '/'
 * relative to the spec that declares it (made absolute, so a model file
 * records where it is), a bare name left to the loader's search. */
static char *extern_lib(Ctx *c, Ast *f) {
  const char *lib = f->kids[0]->str;
  if (!strchr(lib, '/')) return arena_strdup(c->a, lib);
  while (lib[0] == '.' && lib[1] == '/') lib += 2;
  char *p = resolve_path(c, f->kids[0]->span.file, lib);
  const char *slash = strrchr(p, '/');   /* none: "./x.so" next to a spec in the cwd */
  char *dir = !slash ? "." : slash == p ? "/" : arena_strndup(c->a, p, (size_t)(slash - p));
  const char *base = slash ? slash + 1 : p;
  char *real = realpath(dir, NULL);   /* the directory, when it exists, as the loader opens it */
  if (real) p = arena_printf(c->a, "%s/%s", strcmp(real, "/") ? real : "", base);
  free(real);
  char cwd[4096];
  if (p[0] != '/' && getcwd(cwd, sizeof cwd)) p = arena_printf(c->a, "%s/%s", cwd, p);
  return p;
}

/* --allow-extern refused: the error at the call e of extern fn d. */
static void extern_refused(Ast *e, Decl *d) {
  diag_error(e->span, "calling extern fn '%s' runs native code from '%s': refused without "
             "--allow-extern", d->name, d->node->kids[0]->str);
  diag_note(nsp(d->node), "an untrusted spec must not run native code; pass --allow-extern only "
                          "for specs you trust");
}

/* A feature's call e of extern fn d as an EXTERN op (rt.h): its library,
 * function and C types, the function resolved now (rt_extern.c) so a
 * missing one is an error here; false after reporting (or when
 * check_extern reports the declaration). */
static bool extern_op(Ctx *c, Ast *e, Decl *d, RtXop *op) {
  Ast *f = d->node;
  static const char *const ctypes[] = {"i32", "i64", "f32", "f64"};
  static const char letters[] = "ilfd";
  if (!f->nkids || !f->kids[0]->str || !*f->kids[0]->str || !f->str) return false;
  int ret = word_index(f->str, ctypes, 4);
  if (ret < 0) return false;
  if (f->nparams > 16) {
    diag_error(e->span, "at most 16 arguments cross to C, found %d", f->nparams);
    return false;
  }
  char *sig = arena_alloc(c->a, (size_t)f->nparams + 2);
  for (int i = 0; i < f->nparams; i++) {
    int t = f->params[i]->str ? word_index(f->params[i]->str, ctypes, 4) : -1;
    if (t < 0) return false;
    sig[i] = letters[t];
  }
  sig[f->nparams] = letters[ret];
  sig[f->nparams + 1] = 0;
  if (sema_build_externs) {
    diag_error(e->span, "an executable made by 'mlxc build' cannot call extern fn '%s' yet",
               d->name);
    return false;
  }
  if (!rt_allow_extern) {
    extern_refused(e, d);
    return false;
  }
  char *lib = extern_lib(c, f), err[512];
  if (!rt_extern_resolve(lib, d->name, err, sizeof err)) {
    diag_error(f->kids[0]->span, "%s", err);
    diag_note(e->span, "called here");
    return false;
  }
  *op = (RtXop){.op = RT_XOP_EXTERN, .lib = lib, .sym = arena_strdup(c->a, d->name), .sig = sig};
  return true;
}

/* A call of extern fn d with known arguments, folded by calling it
 * (rt_extern.c, libffi) — only with --allow-extern: a spec must not run
 * native code unless its user says so. */
static Val extern_fold(Ctx *c, Scope *s, Ast *e, Decl *d) {
  Ast *f = d->node;
  if (!arity_ok(e, d)) return val_err;
  double args[16];
  const char *types[16];
  bool known = true, bad = false;
  static const char *const ctypes[] = {"i32", "i64", "f32", "f64"};
  for (int i = 0; i < e->nkids; i++) {
    Val v = ex_eval(c, s, e->kids[i]);
    if (v.ty == TY_ERR) {
      bad = true;
      continue;
    }
    if (v.ty != TY_NUM) {
      diag_error(e->kids[i]->span, "expected a number for '%s' of '%s', found %s",
                 f->params[i]->name ? f->params[i]->name : "?", d->name, found(c, v, e->kids[i]));
      bad = true;
      continue;
    }
    known &= v.known;
    if (i < 16) args[i] = v.num, types[i] = f->params[i]->str;
    bad |= !f->params[i]->str || word_index(f->params[i]->str, ctypes, 4) < 0;   /* check_extern says */
  }
  if (bad || !f->str || word_index(f->str, ctypes, 4) < 0 || !f->nkids || !f->kids[0]->str)
    return val_err;
  Val r = {.ty = TY_NUM, .src = e, .is_int = f->str[0] == 'i'};
  if (!known) return r;
  if (!rt_allow_extern) {
    extern_refused(e, d);
    return val_err;
  }
  const char *lib = extern_lib(c, f);
  char err[512];
  int rc = ext_call(lib, d->name, e->nkids, types, args, f->str, &r.num, err, sizeof err);
  if (rc) {
    diag_error(rc <= -3 ? f->kids[0]->span : e->span, "%s", err);
    if (rc <= -3) diag_note(e->span, "called here");
    return val_err;
  }
  if (!isfinite(r.num)) {
    diag_error(e->span, "extern fn '%s' returned %g, not a finite number", d->name, r.num);
    return val_err;
  }
  r.known = true;
  return r;
}

/* Calls: builtins fold when their arguments do; fns are checked by arity and
 * type; drift(COL) reads a release's candidate column. */
static Val ex_call(Ctx *c, Scope *s, Ast *e) {
  const char *f = e->name;
  int nb = NELEM(builtins);
  if (s->kind == SC_RELEASE && !strcmp(f, "drift")) {
    if (e->nkids != 1 || (e->kids[0]->kind != AST_NAME && e->kids[0]->kind != AST_STAR)) {
      diag_error(e->span, "expected 'drift(COLUMN)' or 'drift(*)', found '%s'", node_text(c, e));
      return val_err;
    }
    Ast *col = e->kids[0];
    DataInfo *d = s->data;
    if (col->kind == AST_NAME && d && d->header &&
        word_index(col->name, (const char *const *)d->header, d->nheader) < 0) {
      diag_error(col->span, "unknown column '%s' in '%s'", col->name, d->spec->csv_path);
      suggest(col->span, col->name, (const char *const *)d->header, d->nheader);
      return val_err;
    }
    if (col->kind == AST_NAME && d && d->header && !release_drift_column(col->span, d->spec, col->name))
      return val_err;
    return (Val){.ty = TY_NUM, .src = e};
  }
  int bi = word_index(f, builtins, nb);
  if (bi >= 0) {
    bool minmax = bi < 2;
    if ((minmax && e->nkids < 2) || (!minmax && e->nkids != 1)) {
      diag_error(e->span, "'%s' takes %s, found %d", f, minmax ? "two or more arguments" : "one argument",
                 e->nkids);
      return val_err;
    }
    double x[64];
    bool known = true, bad = false;
    Ty ty = TY_NUM;
    for (int i = 0; i < e->nkids; i++) {
      Ast *k = e->kids[i];
      if (k->kind == AST_ARG || k->kind == AST_STAR) {
        diag_error(k->span, "unexpected '%s' in a call to '%s'", node_text(c, k), f);
        bad = true;
        continue;
      }
      Val v = ex_eval(c, s, k);
      if (v.ty == TY_ERR) { bad = true; continue; }
      if (i == 0 && minmax && (v.ty == TY_DUR || v.ty == TY_PCT)) ty = v.ty;
      if (v.ty != ty) {
        diag_error(k->span, "expected %s, found %s", ty_article[ty], found(c, v, k));
        bad = true;
        continue;
      }
      known &= v.known;
      if (i < 64) x[i] = v.num;
    }
    if (bad) return val_err;
    Val r = {.ty = ty, .src = e};
    if (known && e->nkids <= 64) {
      if (!fold_math(f, x, e->nkids, &r.num)) {
        diag_error(e->span, "'%s' is not a finite number", node_text(c, e));
        return val_err;
      }
      r.known = true;
      r.is_int = r.num == floor(r.num);
    }
    return r;
  }
  Decl *d = decl_find(c, f);
  if (s->kind == SC_CONST && d && d->node->kind == AST_FN) return fn_fold(c, s, e, d);
  if ((s->kind == SC_CONST || (s->kind == SC_FN && s->binds)) && d && d->node->kind == AST_EXTERN)
    return extern_fold(c, s, e, d);
  if (s->kind == SC_FN && s->binds && d && d->node->kind == AST_FN) return fn_fold(c, s, e, d);
  if (s->kind == SC_FN && d && (d->node->kind == AST_FN || d->node->kind == AST_EXTERN)) {
    if (d == s->self) {
      diag_error(nsp(e), "'%s' calls itself; fn may not recurse", f);
      return val_err;
    }
    if (!arity_ok(e, d)) return val_err;
    bool bad = false;
    for (int i = 0; i < e->nkids; i++) {
      Val v = ex_eval(c, s, e->kids[i]);
      if (v.ty != TY_ERR && v.ty != TY_NUM) {
        diag_error(e->kids[i]->span, "expected a number, found %s", found(c, v, e->kids[i]));
        bad = true;
      }
      bad |= v.ty == TY_ERR;
    }
    return bad ? val_err : (Val){.ty = TY_NUM, .src = e};
  }
  int n;
  const char **names = decl_names(c, AST_FN, &n);
  const char **all = arena_alloc(c->a, sizeof(char *) * (size_t)(n + nb + 1));
  memcpy(all, builtins, sizeof(char *) * (size_t)nb);
  if (s->kind == SC_FN) {
    int m = 0;
    for (int i = 0; i < n; i++)
      if (!s->self || strcmp(names[i], s->self->name)) all[nb + m++] = names[i];
    n = m;
  } else {
    n = 0;
  }
  if (s->kind == SC_RELEASE) all[nb + n++] = "drift";
  unknown(nsp(e), "function", f, all, nb + n);
  return val_err;
}

static bool is_cmp(AstOp op) { return op >= OP_LT && op <= OP_NE; }

/* Binary operators: units must agree ('10m' + '5%' is an error); * and /
 * scale a unit by a number; comparisons give a bool. */
static Val ex_binary(Ctx *c, Scope *s, Ast *e) {
  if (e->nkids != 2) return val_err;
  Val l = ex_eval(c, s, e->kids[0]);
  Val r = ex_eval(c, s, e->kids[1]);
  if (l.ty == TY_ERR || r.ty == TY_ERR) return val_err;
  AstOp op = e->op;
  const char *sp = ast_op_spelling[op];
  Val v = {.src = e};
  if (op == OP_AND || op == OP_OR) {
    Val *bad = l.ty != TY_BOOL ? &l : r.ty != TY_BOOL ? &r : NULL;
    if (bad) {
      Ast *at = bad == &l ? e->kids[0] : e->kids[1];
      diag_error(at->span, "expected a bool around '%s', found %s", sp, found(c, *bad, at));
      return val_err;
    }
    v.ty = TY_BOOL;
    v.known = l.known && r.known;
    v.num = op == OP_AND ? (l.num && r.num) : (l.num || r.num);
    return v;
  }
  if (is_cmp(op)) {
    bool same = l.ty == r.ty && (l.ty != TY_COUNT || !l.known || !r.known ||
                                 l.str[0] == r.str[0]);
    if (!same) {
      diag_error(e->kids[1]->span, "expected %s to compare with '%s', found %s",
                 ty_article[l.ty], node_text(c, e->kids[0]), found(c, r, e->kids[1]));
      return val_err;
    }
    if (l.ty == TY_LIST || l.ty == TY_MAP || ((l.ty == TY_BOOL || l.ty == TY_STR) &&
                                              op != OP_EQ && op != OP_NE)) {
      diag_error(e->span, "cannot order %s with '%s'", ty_article[l.ty], sp);
      return val_err;
    }
    v.ty = TY_BOOL;
    if (l.known && r.known && l.ty != TY_STR) {
      double a = l.num, b = r.num;
      v.known = true;
      v.num = op == OP_LT ? a < b : op == OP_LE ? a <= b : op == OP_GT ? a > b
            : op == OP_GE ? a >= b : op == OP_EQ ? a == b : a != b;
    }
    return v;
  }
  bool unit_l = l.ty == TY_DUR || l.ty == TY_PCT || l.ty == TY_COUNT;
  bool unit_r = r.ty == TY_DUR || r.ty == TY_PCT || r.ty == TY_COUNT;
  if ((!unit_l && l.ty != TY_NUM) || (!unit_r && r.ty != TY_NUM)) {
    bool left = !unit_l && l.ty != TY_NUM;
    Ast *at = left ? e->kids[0] : e->kids[1];
    diag_error(at->span, "expected a number around '%s', found %s", sp, found(c, left ? l : r, at));
    return val_err;
  }
  switch (op) {
  case OP_ADD:
  case OP_SUB:
    if (l.ty != r.ty) {
      diag_error(e->kids[1]->span, "expected %s, found %s", ty_article[l.ty],
                 found(c, r, e->kids[1]));
      return val_err;
    }
    v.ty = l.ty;
    v.str = l.str;
    v.num = op == OP_ADD ? l.num + r.num : l.num - r.num;
    break;
  case OP_MUL:
    if (unit_l && unit_r) {
      diag_error(e->span, "cannot multiply %s by %s", ty_article[l.ty], ty_article[r.ty]);
      return val_err;
    }
    v.ty = unit_l ? l.ty : r.ty;
    v.str = unit_l ? l.str : r.str;
    v.num = l.num * r.num;
    break;
  default: /* OP_DIV */
    if (unit_r && l.ty != r.ty) {
      diag_error(e->kids[1]->span, "cannot divide %s by %s", ty_article[l.ty],
                 found(c, r, e->kids[1]));
      return val_err;
    }
    v.ty = unit_r ? TY_NUM : l.ty;
    v.str = l.str;
    if (r.known && r.num == 0) {
      diag_error(e->kids[1]->span, "division by zero");
      return val_err;
    }
    v.num = r.known ? l.num / r.num : 0;
    break;
  }
  v.known = l.known && r.known;
  v.is_int = v.known && v.num == floor(v.num);
  return v;
}

/* Types an expression (and folds it when its parts are known). */
static Val ex_eval(Ctx *c, Scope *s, Ast *e) {
  if (!e) return val_err;
  Val v = {.src = e, .known = true};
  switch (e->kind) {
  case AST_NUM:
    if (!isfinite(e->num)) {
      diag_error(e->span, "number out of range '%s'", node_text(c, e));
      return val_err;
    }
    v.ty = TY_NUM;
    v.num = e->num;
    v.is_int = e->num == floor(e->num);
    return v;
  case AST_DUR: v.ty = TY_DUR; v.num = e->num; return v;
  case AST_PCT: v.ty = TY_PCT; v.num = e->num; return v;
  case AST_STR: v.ty = TY_STR; v.str = e->str ? e->str : ""; return v;
  case AST_COUNT:
    if (word_index(e->name, count_units, NELEM(count_units)) < 0) {
      unknown(nsp(e), "count unit", e->name, count_units, NELEM(count_units));
      return val_err;
    }
    v.ty = TY_COUNT;
    v.num = e->num;
    v.str = e->name;
    v.is_int = e->num == floor(e->num);
    return v;
  case AST_NAME: return ex_name(c, s, e);
  case AST_PATH: return ex_path(c, s, e);
  case AST_CALL: return ex_call(c, s, e);
  case AST_UNARY: {
    Val x = ex_eval(c, s, e->nkids ? e->kids[0] : NULL);
    if (x.ty == TY_ERR) return x;
    if (e->op == OP_NOT) {
      if (x.ty != TY_BOOL) {
        diag_error(e->kids[0]->span, "expected a bool after 'not', found %s", found(c, x, e->kids[0]));
        return val_err;
      }
      x.num = !x.num;
    } else {
      if (x.ty != TY_NUM && x.ty != TY_DUR && x.ty != TY_PCT) {
        diag_error(e->kids[0]->span, "expected a number after '-', found %s", found(c, x, e->kids[0]));
        return val_err;
      }
      x.num = -x.num;
    }
    x.src = e;
    return x;
  }
  case AST_BINARY: return ex_binary(c, s, e);
  case AST_LIST:
  case AST_MAP:
    for (int i = 0; i < e->nkids; i++)
      if (e->kids[i]->kind != AST_PAIR) ex_eval(c, s, e->kids[i]);
    v.ty = e->kind == AST_LIST ? TY_LIST : TY_MAP;
    return v;
  case AST_STAR:
    diag_error(e->span, "'*' stands for columns only in 'feature *' and 'missing *'");
    return val_err;
  case AST_ERROR: return val_err;
  default:
    diag_error(e->span, "expected a value, found '%s'", node_text(c, e));
    return val_err;
  }
}

/* const NAME = expr: folded once; a const that reaches itself is a cycle. */
static void const_fold(Ctx *c, Decl *d) {
  if (d->state == 2) return;
  if (d->state == 1) {
    diag_error(nsp(d->node), "const '%s' refers to itself", d->name);
    d->val = val_err;
    d->state = 2;
    return;
  }
  d->state = 1;
  Scope s = {.kind = SC_CONST};
  Ast *e = d->node->nkids ? d->node->kids[0] : NULL;
  Tmpl *tm = c->tmpl;   /* a template's parameters are not the const's names */
  c->tmpl = NULL;
  Val v = has_error(e) ? val_err : ex_eval(c, &s, e);
  c->tmpl = tm;
  if (v.ty != TY_ERR && (!v.known || v.ty == TY_LIST || v.ty == TY_MAP)) {
    diag_error(e->span, "expected a number, duration, percent, count, string or bool, found '%s'",
               node_text(c, e));
    v = val_err;
  }
  d->val = v;
  d->state = 2;
}

/* ---- typed arguments ----------------------------------------------------- */

/* A folded value of type ty (its src set for messages); false after reporting. */
static bool want(Ctx *c, Scope *s, Ast *e, Ty ty, Val *out) {
  Val v = ex_eval(c, s, e);
  *out = v;
  if (v.ty == TY_ERR) return false;
  if (v.ty != ty) {
    val_error(c, e, v, "expected %s, found %s", ty_article[ty], found(c, v, e));
    return false;
  }
  return true;
}

/* A known number satisfying lo/hi bounds (incl: whether the bound is allowed). */
static bool want_num(Ctx *c, Scope *s, Ast *e, const char *what, double lo, bool lo_incl,
                     double hi, bool hi_incl, bool integer, double *out) {
  Val v;
  if (!want(c, s, e, TY_NUM, &v)) return false;
  if (!v.known) {
    if (integer && !v.is_int)
      return val_error(c, e, v, "expected an int for %s, found %s", what, found(c, v, e));
    return true;   /* a parameter: checked where the model is used */
  }
  if (integer && !v.is_int)
    return val_error(c, e, v, "expected an integer for %s, found %s", what, found(c, v, e));
  bool ok = (lo_incl ? v.num >= lo : v.num > lo) && (hi_incl ? v.num <= hi : v.num < hi);
  if (!ok) {
    char range[96];
    if (isinf(hi)) snprintf(range, sizeof range, "%s %.15g", lo_incl ? ">=" : ">", lo);
    else snprintf(range, sizeof range, "in %c%.15g, %.15g%c", lo_incl ? '[' : '(', lo, hi,
                  hi_incl ? ']' : ')');
    return val_error(c, e, v, "expected %s %s, found '%s'", what, range, node_text(c, v.src ? v.src : e));
  }
  *out = v.num;
  return true;
}

/* A count `N unit` at items[*i] (a COUNT node, or a number followed by the
 * unit word); advances *i past it. units: the accepted words. */
static bool want_count(Ctx *c, Ast *st, Ast *num, Ast **it, int n, int *i,
                       const char *const *units, int nunits, double *out) {
  Scope s = {.kind = SC_CONST};
  const char *unit = NULL;
  Span us = num->span;
  double x;
  if (num->kind == AST_COUNT) {
    unit = num->name;
    x = num->num;
    us = nsp(num);
  } else {
    Decl *cd = num->kind == AST_NAME ? decl_find(c, num->name) : NULL;
    if (num->kind == AST_NAME && !(cd && cd->node->kind == AST_CONST) && !tmpl_param(c, num->name)) {
      diag_error(num->span, "expected a count like '10 %s', found '%s'", units[nunits - 1],
                 node_text(c, num));
      return false;
    }
    Val v = ex_eval(c, &s, num);
    if (v.ty == TY_ERR) return false;
    if (v.ty == TY_COUNT) {
      unit = v.str;
      x = v.num;
    } else if (v.ty != TY_NUM) {
      diag_error(num->span, "expected a count like '10 %s', found %s", units[nunits - 1],
                 found(c, v, num));
      return false;
    } else {
      x = v.num;
      if (*i < n && it[*i]->kind == AST_NAME) {
        unit = it[*i]->name;
        us = it[*i]->span;
        (*i)++;
      }
    }
  }
  if (!unit) {
    diag_error(num->span, "expected a count like '%s %s', found the number '%s'",
               node_text(c, num), units[nunits - 1], node_text(c, num));
    (void)st;
    return false;
  }
  if (word_index(unit, units, nunits) < 0) {
    /* the plural words, "epochs or steps" */
    char want_s[96] = "";
    for (int k = 1; k < nunits; k += 2)
      snprintf(want_s + strlen(want_s), sizeof want_s - strlen(want_s), "%s%s",
               k > 1 ? " or " : "", units[k]);
    diag_error(us, "expected a count of %s, found '%s'", want_s, unit);
    suggest(us, unit, units, nunits);
    return false;
  }
  if (x != floor(x) || x < 1) {
    diag_error(num->span, "expected a whole count >= 1, found '%s'", node_text(c, num));
    return false;
  }
  *out = x;
  return true;
}

/* Whether name is a parameter of the template being checked. */
static bool tmpl_param(Ctx *c, const char *name) {
  Ast *t = c->tmpl ? c->tmpl->d->node : NULL;
  for (int i = 0; t && i < t->nparams; i++)
    if (t->params[i]->name && !strcmp(t->params[i]->name, name)) return true;
  return false;
}

/* A NAME item chosen from a list of words. */
static int want_word(Ctx *c, Ast *e, const char *what, const char *const *words, int n) {
  if (!e || e->kind != AST_NAME) {
    if (e) diag_error(e->span, "expected %s, found '%s'", what, node_text(c, e));
    return -1;
  }
  int k = word_index(e->name, words, n);
  if (k < 0) unknown(e->span, what, e->name, words, n);
  return k;
}

/* Named arguments of a call, checked against the allowed names; positional
 * ones are an error. Fills vals[i] with the ARG node for names[i]. */
static bool named_args(Ctx *c, Ast *call, const char *what, const char *const *names, int n,
                       Ast **vals) {
  bool ok = true;
  for (int i = 0; i < n; i++) vals[i] = NULL;
  for (int i = 0; call && call->kind == AST_CALL && i < call->nkids; i++) {
    Ast *a = call->kids[i];
    if (a->kind != AST_ARG) {
      diag_error(a->span, "%s arguments are named, found '%s'", what, node_text(c, a));
      if (n) diag_note(a->span, "write '%s = %s'", names[0], node_text(c, a));
      ok = false;
      continue;
    }
    int k = word_index(a->name, names, n);
    if (k < 0) {
      diag_error(nsp(a), "unknown argument '%s' for %s", a->name, what);
      suggest(nsp(a), a->name, names, n);
      ok = false;
      continue;
    }
    if (vals[k]) {
      diag_error(nsp(a), "duplicate argument '%s'", a->name);
      diag_note(nsp(vals[k]), "'%s' is first given here", a->name);
      ok = false;
      continue;
    }
    vals[k] = a;
  }
  return ok;
}

/* Statement words of a block: the index of st's word, or -1 after reporting. */
static int stmt_word(Ctx *c, Ast *st, const char *block, const char *const *words, int n) {
  (void)c;
  int k = word_index(st->name, words, n);
  if (k < 0) {
    diag_error(nsp(st), "unknown statement '%s' in a %s block", st->name ? st->name : "?", block);
    suggest(nsp(st), st->name, words, n);
  }
  return k;
}

/* A statement allowed once per block: the second one is an error citing the first. */
static bool once(Ast **seen, int k, Ast *st) {
  if (seen[k]) {
    diag_error(nsp(st), "duplicate '%s'", st->name);
    diag_note(nsp(seen[k]), "the first '%s' is here", st->name);
    return false;
  }
  seen[k] = st;
  return true;
}

/* ---- dataset ------------------------------------------------------------- */

static const char *const data_stmts[] = {"source", "drop", "missing", "feature", "label",
                                         "positive", "column", "on_bad_row", "split", "cv"};
enum { DS_SOURCE, DS_DROP, DS_MISSING, DS_FEATURE, DS_LABEL, DS_POSITIVE, DS_COLUMN,
       DS_BADROW, DS_SPLIT, DS_CV };

static const char *const transforms[] = {"standardize", "minmax", "log1p", "clip",
                                         "bucketize", "onehot"};
static const char *const missing_rules[] = {"median", "mean", "mode", "drop_row", "ffill"};
static const char *const column_types[] = {"int", "float", "str", "category", "bool", "number"};
static const RtColType column_rt[] = {RT_COL_NUMBER, RT_COL_NUMBER, RT_COL_CATEGORY,
                                      RT_COL_CATEGORY, RT_COL_BOOL, RT_COL_NUMBER};

/* After an unknown column: a header read as one column that holds another
 * separator suggests the wrong delimiter. */
static void delim_hint(DataInfo *di, Span at) {
  static const char *const seps[][3] = {{";", "';'", ";"}, {"\t", "a tab", "\\t"},
                                        {"|", "'|'", "|"}, {",", "','", ","}};
  char cur = di->spec->csv_delim ? di->spec->csv_delim : ',';
  if (di->nheader != 1) return;
  for (size_t i = 0; i < NELEM(seps); i++)
    if (seps[i][0][0] != cur && strchr(di->header[0], seps[i][0][0])) {
      diag_note(at, "the header of '%s' reads as one column holding %s; for that delimiter "
                "write csv(..., delimiter = \"%s\")", di->spec->csv_path, seps[i][1], seps[i][2]);
      return;
    }
}

/* A column named by the spec must be in the CSV header (when it was read). */
static bool col_check(Ctx *c, DataInfo *di, Ast *n) {
  if (!n || n->kind != AST_NAME) {
    if (n) diag_error(n->span, "expected a column name, found '%s'", node_text(c, n));
    return false;
  }
  if (!di->header) return true;
  if (word_index(n->name, (const char *const *)di->header, di->nheader) >= 0) return true;
  diag_error(n->span, "unknown column '%s' in '%s'", n->name, di->spec->csv_path);
  suggest(n->span, n->name, (const char *const *)di->header, di->nheader);
  delim_hint(di, n->span);
  return false;
}

/* column NAME: TYPE — appended to the spec's declared types (the name was
 * checked against the header; a second declaration of one column wins). */
static void ds_coltype(Ctx *c, RtDataSpec *sp, Ast *pair, RtColType ty) {
  int n = sp->n_col_types;
  char **names = arena_alloc(c->a, sizeof(char *) * (size_t)(n + 1));
  RtColType *tys = arena_alloc(c->a, sizeof(RtColType) * (size_t)(n + 1));
  RtLoc *locs = arena_alloc(c->a, sizeof(RtLoc) * (size_t)(n + 1));
  if (n) {
    memcpy(names, sp->col_names, sizeof(char *) * (size_t)n);
    memcpy(tys, sp->col_types, sizeof(RtColType) * (size_t)n);
    memcpy(locs, sp->col_loc, sizeof(RtLoc) * (size_t)n);
  }
  names[n] = arena_strdup(c->a, pair->kids[0]->name);
  tys[n] = ty;
  locs[n] = loc_of(c, pair->span);
  sp->col_names = names;
  sp->col_types = tys;
  sp->col_loc = locs;
  sp->n_col_types = n + 1;
}

/* source csv(PATH[, na = [..], delimiter = ",", quote = "\"", header = true]): resolves the
 * path against the spec's directory and reads the CSV header. */
static void ds_source(Ctx *c, DataInfo *di, Ast *st) {
  RtDataSpec *sp = di->spec;
  int n;
  Ast **it = clause(st, 0, &n);
  if (!one_clause(c, st) || !need(c, st, n, 1, "a source like 'csv(\"data.csv\")'")) return;
  no_more(c, st, it, n, 1);
  Ast *call = it[0];
  const char *srcs[] = {"csv"};
  if (call->kind != AST_CALL && call->kind != AST_NAME) {
    diag_error(call->span, "expected a source like 'csv(\"data.csv\")', found '%s'",
               node_text(c, call));
    return;
  }
  if (strcmp(call->name, "csv")) {
    unknown(nsp(call), "source", call->name, srcs, 1);
    return;
  }
  Ast *path = NULL;
  for (int i = 0; call->kind == AST_CALL && i < call->nkids; i++) {
    Ast *a = call->kids[i];
    if (a->kind != AST_ARG) {
      if (i == 0 && a->kind == AST_STR) path = a;
      else diag_error(a->span, "expected a named argument (na, delimiter, quote, header), found '%s'",
                      node_text(c, a));
      continue;
    }
    const char *opts[] = {"na", "delimiter", "header", "quote"};
    int k = word_index(a->name, opts, NELEM(opts));
    Ast *v = a->nkids ? a->kids[0] : NULL;
    if (k < 0) {
      diag_error(nsp(a), "unknown option '%s' for 'csv'", a->name);
      suggest(nsp(a), a->name, opts, NELEM(opts));
    } else if (k == 0) {
      if (!v || v->kind != AST_LIST) {
        diag_error(v ? v->span : a->span, "expected a list of strings like [\"\", \"NA\"], found '%s'",
                   v ? node_text(c, v) : "");
        continue;
      }
      sp->na = arena_alloc(c->a, sizeof(char *) * (size_t)(v->nkids + 1));
      for (int j = 0; j < v->nkids; j++) {
        Scope s = {.kind = SC_CONST};
        Val x;
        if (want(c, &s, v->kids[j], TY_STR, &x)) sp->na[sp->n_na++] = arena_strdup(c->a, x.str);
      }
    } else if (k == 1 || k == 3) {   /* delimiter, quote: one byte, not a line end */
      Scope s = {.kind = SC_CONST};
      Val x;
      if (v && want(c, &s, v, TY_STR, &x)) {
        if (strlen(x.str) != 1 || x.str[0] == '\n' || x.str[0] == '\r')
          diag_error(v->span, "expected a one-byte %s (not a line end), found '%s'",
                     k == 1 ? "delimiter" : "quote", node_text(c, v));
        else if (k == 1) sp->csv_delim = x.str[0];
        else sp->csv_quote = x.str[0];
      }
    } else {
      Scope s = {.kind = SC_CONST};
      Val x;
      if (v && want(c, &s, v, TY_BOOL, &x)) sp->csv_no_header = !x.num;
    }
  }
  if (!path) {
    diag_error(call->span, "expected a path as the first argument: 'csv(\"data.csv\")'");
    return;
  }
  sp->csv_path = resolve_path(c, path->span.file, path->str ? path->str : "");
  if (sema_csv_override)   /* a standalone binary's `train DATA.csv` (aot_bin.c) */
    sp->csv_path = arena_strdup(c->a, sema_csv_override);
  sp->source_loc = loc_of(c, st->span);
  if ((sp->csv_delim ? sp->csv_delim : ',') == (sp->csv_quote ? sp->csv_quote : '"')) {
    diag_error(call->span, "the delimiter and the quote must differ");
    return;
  }
  char **names = NULL;
  int nn = 0;
  RtCsvOpts o = {.delim = sp->csv_delim, .quote = sp->csv_quote, .no_header = sp->csv_no_header};
  if (rt_csv_header_opts(sp->csv_path, &o, &names, &nn) != 0) {
    diag_note(st->span, "read by dataset '%s' here", sp->name);
    *c->data_error = true;
    return;
  }
  di->header = arena_alloc(c->a, sizeof(char *) * (size_t)(nn + 1));
  for (int i = 0; i < nn; i++) {
    di->header[i] = arena_strdup(c->a, names[i]);
    free(names[i]);
  }
  free(names);
  di->nheader = nn;
}

/* drop duplicates | drop column NAME[, NAME]. */
static void ds_drop(Ctx *c, DataInfo *di, Ast *st) {
  RtDataSpec *sp = di->spec;
  int n;
  Ast **it = clause(st, 0, &n);
  const char *what[] = {"duplicates", "column"};
  if (!need(c, st, n, 1, "'duplicates' or 'column NAME'")) return;
  int k = want_word(c, it[0], "'drop' target", what, 2);
  if (k < 0) return;
  if (k == 0) {
    sp->drop_dups = true;   /* rt_xform.c drops them while reading */
    sp->dups_loc = loc_of(c, st->span);
    if (one_clause(c, st)) no_more(c, st, it, n, 1);
    return;
  }
  if (!need(c, st, n, 2, "a column name")) return;
  /* grow the arrays, keeping what earlier `drop column` lines added */
  char **names = arena_alloc(c->a, sizeof(char *) * (size_t)(sp->n_drop + st->nkids));
  RtLoc *locs = arena_alloc(c->a, sizeof(RtLoc) * (size_t)(sp->n_drop + st->nkids));
  if (sp->n_drop) {
    memcpy(names, sp->drop, sizeof(char *) * (size_t)sp->n_drop);
    memcpy(locs, sp->drop_loc, sizeof(RtLoc) * (size_t)sp->n_drop);
  }
  sp->drop = names;
  sp->drop_loc = locs;
  for (int cl = 0; cl < st->nkids; cl++) {
    int m;
    Ast **ci = clause(st, cl, &m);
    int first = cl == 0 ? 1 : 0;
    if (m <= first) continue;
    no_more(c, st, ci, m, first + 1);
    Ast *col = ci[first];
    if (!col_check(c, di, col)) continue;
    sp->drop[sp->n_drop] = arena_strdup(c->a, col->name);
    locs[sp->n_drop] = loc_of(c, col->span);
    sp->n_drop++;
  }
}

/* missing COL = RULE|CONST, * = RULE. */
static void ds_missing(Ctx *c, DataInfo *di, Ast *st) {
  for (int cl = 0; cl < st->nkids; cl++) {
    int n;
    Ast **it = clause(st, cl, &n);
    if (n != 1 || it[0]->kind != AST_ASSIGN || it[0]->nkids != 2) {
      diag_error(n ? it[0]->span : st->span, "expected 'COLUMN = RULE', found '%s'",
                 n ? node_text(c, it[0]) : "");
      continue;
    }
    Ast *t = it[0]->kids[0], *v = it[0]->kids[1];
    if (t->kind != AST_STAR && !col_check(c, di, t)) continue;
    RtMissing m = {.column = t->kind == AST_STAR ? NULL : arena_strdup(c->a, t->name),
                   .loc = loc_of(c, it[0]->span)};
    /* rt_xform.c runs them; a second rule for one column is an error */
    for (int i = 0; i < di->spec->n_missing; i++) {
      const char *o = di->spec->missing[i].column;
      if ((!o && !m.column) || (o && m.column && !strcmp(o, m.column))) {
        diag_error(t->span, "a second 'missing' rule for '%s'", m.column ? m.column : "*");
        goto next;
      }
    }
    int k = v->kind == AST_NAME ? word_index(v->name, missing_rules, NELEM(missing_rules)) : -1;
    if (k >= 0) {
      static const RtMissKind kinds[] = {RT_MISS_MEDIAN, RT_MISS_MEAN, RT_MISS_MODE,
                                         RT_MISS_DROP_ROW, RT_MISS_FFILL};
      m.kind = kinds[k];
    } else if (v->kind == AST_NAME && !decl_find(c, v->name)) {
      unknown(v->span, "missing-value rule", v->name, missing_rules, NELEM(missing_rules));
      continue;
    } else {
      Scope s = {.kind = SC_CONST};
      Val x = ex_eval(c, &s, v);
      if (x.ty != TY_ERR && x.ty != TY_NUM && x.ty != TY_STR && x.ty != TY_BOOL) {
        diag_error(v->span, "expected a rule (median mean mode drop_row ffill) or a value, found %s",
                   found(c, x, v));
        continue;
      }
      if (x.ty == TY_ERR) continue;
      m.kind = RT_MISS_VALUE;
      m.is_str = x.ty == TY_STR;
      if (m.is_str) m.str = arena_strdup(c->a, x.str ? x.str : "");
      else m.num = x.num;
    }
    RtMissing *nm = arena_alloc(c->a, sizeof(RtMissing) * (size_t)(di->spec->n_missing + 1));
    if (di->spec->n_missing)
      memcpy(nm, di->spec->missing, sizeof(RtMissing) * (size_t)di->spec->n_missing);
    nm[di->spec->n_missing++] = m;
    di->spec->missing = nm;
  next:;
  }
}

/* A feature expression: columns through transforms, math and fns. outer:
 * onehot may only stand outermost; star: a `feature *` line (counts '*'). */
static bool feat_expr(Ctx *c, DataInfo *di, Ast *e, bool outer, bool star, int *nstar) {
  switch (e->kind) {
  case AST_NAME: {
    Decl *d = decl_find(c, e->name);
    if (d && d->node->kind == AST_CONST &&
        !(di->header && word_index(e->name, (const char *const *)di->header, di->nheader) >= 0)) {
      Scope s = {.kind = SC_CONST};
      Val v = ex_eval(c, &s, e);
      if (v.ty != TY_ERR && v.ty != TY_NUM) {
        diag_error(e->span, "expected a number, found %s", found(c, v, e));
        return false;
      }
      return v.ty != TY_ERR;
    }
    return col_check(c, di, e);
  }
  case AST_NUM: return true;
  case AST_STAR:
    if (!star) {
      diag_error(e->span, "'*' stands for each remaining column only in 'feature * = ...'");
      return false;
    }
    (*nstar)++;
    return true;
  case AST_UNARY:
    if (e->op != OP_NEG || !e->nkids) break;
    return feat_expr(c, di, e->kids[0], false, star, nstar);
  case AST_BINARY:
    if (e->op < OP_ADD || e->nkids != 2) break;
    return feat_expr(c, di, e->kids[0], false, star, nstar) &
           feat_expr(c, di, e->kids[1], false, star, nstar);
  case AST_CALL: {
    const char *f = e->name;
    int t = word_index(f, transforms, NELEM(transforms));
    Ast *pos[8];
    int np = 0;
    bool ok = true;
    for (int i = 0; i < e->nkids; i++)
      if (e->kids[i]->kind != AST_ARG && np < 8) pos[np++] = e->kids[i];
    if (t == 5) { /* onehot(col, unseen = error|zero|other) */
      if (!outer) {
        diag_error(nsp(e), "'onehot' makes several columns; it must be the outermost transform");
        return false;
      }
      Ast *unseen = NULL;
      const char *names[] = {"unseen"};
      Ast *vals[1];
      for (int i = 0; i < e->nkids; i++)
        if (e->kids[i]->kind == AST_ARG) {
          Ast one = *e;
          one.kids = &e->kids[i];
          one.nkids = 1;
          if (!named_args(c, &one, "'onehot'", names, 1, vals)) ok = false;
          else unseen = vals[0];
        }
      if (np != 1) {
        diag_error(e->span, "expected 'onehot(COLUMN[, unseen = error|zero|other])', found '%s'",
                   node_text(c, e));
        return false;
      }
      if (pos[0]->kind == AST_STAR && star) (*nstar)++;
      else ok &= col_check(c, di, pos[0]);
      if (unseen) {
        const char *modes[] = {"error", "zero", "other"};
        ok &= want_word(c, unseen->nkids ? unseen->kids[0] : unseen, "'unseen' mode", modes, 3) >= 0;
      }
      return ok;
    }
    if (t == 3 || t == 4) { /* clip(x, lo, hi) | bucketize(x, [edges]) */
      int want_n = t == 3 ? 3 : 2;
      if (np != want_n || np != e->nkids) {
        diag_error(e->span, "expected '%s', found '%s'",
                   t == 3 ? "clip(x, LO, HI)" : "bucketize(x, [EDGES])", node_text(c, e));
        return false;
      }
      ok = feat_expr(c, di, pos[0], false, star, nstar);
      Scope s = {.kind = SC_CONST};
      if (t == 3) {
        Val lo, hi;
        if (want(c, &s, pos[1], TY_NUM, &lo) && want(c, &s, pos[2], TY_NUM, &hi) &&
            lo.num >= hi.num) {
          diag_error(pos[2]->span, "expected a bound above %g, found '%s'", lo.num,
                     node_text(c, pos[2]));
          ok = false;
        }
        return ok;
      }
      if (pos[1]->kind != AST_LIST || pos[1]->nkids == 0) {
        diag_error(pos[1]->span, "expected a list of bucket edges, found '%s'", node_text(c, pos[1]));
        return false;
      }
      double prev = -INFINITY;
      for (int i = 0; i < pos[1]->nkids; i++) {
        Val x;
        if (!want(c, &s, pos[1]->kids[i], TY_NUM, &x)) return false;
        if (x.num <= prev) {
          diag_error(pos[1]->kids[i]->span, "expected edges in increasing order, found '%s' after %g",
                     node_text(c, pos[1]->kids[i]), prev);
          return false;
        }
        prev = x.num;
      }
      return ok;
    }
    int b = word_index(f, builtins, NELEM(builtins));
    Decl *d = decl_find(c, f);
    bool is_fn = d && (d->node->kind == AST_FN || d->node->kind == AST_EXTERN);
    if (t >= 0 || b >= 0 || is_fn) {
      int arity = t >= 0 || (b >= 2) ? 1 : is_fn ? d->node->nparams : -1;
      if ((arity >= 0 && e->nkids != arity) || (arity < 0 && e->nkids < 2)) {
        diag_error(e->span, "'%s' takes %s argument%s, found %d", f,
                   arity < 0 ? "two or more" : arity == 1 ? "one" : "these", arity == 1 ? "" : "s",
                   e->nkids);
        if (is_fn) diag_note(nsp(d->node), "'%s' is declared here", f);
        return false;
      }
      for (int i = 0; i < e->nkids; i++) {
        if (e->kids[i]->kind == AST_ARG) {
          diag_error(e->kids[i]->span, "unexpected named argument in '%s'", f);
          ok = false;
          continue;
        }
        ok &= feat_expr(c, di, e->kids[i], false, star, nstar);
      }
      return ok;
    }
    int nf;
    const char **fns = decl_names(c, AST_FN, &nf);
    const char **all = arena_alloc(c->a, sizeof(char *) * (size_t)(nf + 16));
    int na = 0;
    for (int i = 0; i < NELEM(transforms); i++) all[na++] = transforms[i];
    for (int i = 0; i < NELEM(builtins); i++) all[na++] = builtins[i];
    for (int i = 0; i < nf; i++) all[na++] = fns[i];
    unknown(nsp(e), "transform", f, all, na);
    return false;
  }
  case AST_ERROR: return false;
  default: break;
  }
  diag_error(e->span, "expected a column, a number or a transform, found '%s'", node_text(c, e));
  return false;
}

/* ---- feature programs (run by rt_xform.c) ---- */

/* A called fn's parameters bound to the call's arguments: its body is
 * inlined, each parameter compiling to its argument under `up`. */
typedef struct XBind {
  Ast *fn;                 /* the fn declaration */
  Ast **args;              /* the call's arguments, one per parameter */
  const struct XBind *up;  /* bindings the arguments are compiled under */
} XBind;

/* A postfix program growing in the arena. */
typedef struct XProg {
  RtXop *ops;
  int n, cap;
} XProg;

static void xp_push(Ctx *c, XProg *p, RtXop op) {
  if (p->n == p->cap) {
    int nc = p->cap ? p->cap * 2 : 8;
    RtXop *o = arena_alloc(c->a, sizeof(RtXop) * (size_t)nc);
    if (p->n) memcpy(o, p->ops, sizeof(RtXop) * (size_t)p->n);
    p->ops = o;
    p->cap = nc;
  }
  p->ops[p->n++] = op;
}

/* A folded number argument (clip bounds, bucket edges); feat_expr checked it. */
static double xp_num(Ctx *c, Ast *e) {
  Scope s = {.kind = SC_CONST};
  Val v = ex_eval(c, &s, e);
  return v.num;
}

/* expr -> postfix ops: columns, numbers, consts, + - * / and unary -,
 * standardize minmax log1p clip bucketize, the builtins, and fn calls
 * (inlined). Anything else is refused in RUN; false after reporting. */
static bool xp_emit(Ctx *c, DataInfo *di, XProg *p, Ast *e, const XBind *b, int depth) {
  if (depth > 32) {
    diag_error(e->span, "fn calls nest more than 32 deep in a feature");
    return false;
  }
  switch (e->kind) {
  case AST_NUM: xp_push(c, p, (RtXop){.op = RT_XOP_NUM, .a = e->num}); return true;
  case AST_STAR: xp_push(c, p, (RtXop){.op = RT_XOP_COL}); return true;
  case AST_NAME: {
    for (int i = 0; b && i < b->fn->nparams; i++)
      if (!strcmp(b->fn->params[i]->name, e->name))
        return xp_emit(c, di, p, b->args[i], b->up, depth + 1);
    Decl *d = decl_find(c, e->name);
    bool is_col = di->header &&
                  word_index(e->name, (const char *const *)di->header, di->nheader) >= 0;
    if (d && d->node->kind == AST_CONST && !is_col) {
      xp_push(c, p, (RtXop){.op = RT_XOP_NUM, .a = xp_num(c, e)});
      return true;
    }
    xp_push(c, p, (RtXop){.op = RT_XOP_COL, .column = arena_strdup(c->a, e->name)});
    return true;
  }
  case AST_UNARY:
    if (e->op != OP_NEG || e->nkids != 1) break;
    if (!xp_emit(c, di, p, e->kids[0], b, depth)) return false;
    xp_push(c, p, (RtXop){.op = RT_XOP_NEG});
    return true;
  case AST_BINARY: {
    RtXopKind k = e->op == OP_ADD ? RT_XOP_ADD : e->op == OP_SUB ? RT_XOP_SUB
                  : e->op == OP_MUL ? RT_XOP_MUL : e->op == OP_DIV ? RT_XOP_DIV : RT_XOP_COL;
    if (k == RT_XOP_COL || e->nkids != 2) break;
    if (!xp_emit(c, di, p, e->kids[0], b, depth) || !xp_emit(c, di, p, e->kids[1], b, depth))
      return false;
    xp_push(c, p, (RtXop){.op = k});
    return true;
  }
  case AST_CALL: {
    static const char *const one[] = {"standardize", "minmax", "log1p", "abs", "exp", "log", "sqrt"};
    static const RtXopKind one_op[] = {RT_XOP_STANDARDIZE, RT_XOP_MINMAX, RT_XOP_LOG1P,
                                       RT_XOP_ABS, RT_XOP_EXP, RT_XOP_LOG, RT_XOP_SQRT};
    int k = word_index(e->name, one, NELEM(one));
    if (k >= 0 && e->nkids == 1) {
      if (!xp_emit(c, di, p, e->kids[0], b, depth)) return false;
      xp_push(c, p, (RtXop){.op = one_op[k]});
      return true;
    }
    if ((!strcmp(e->name, "min") || !strcmp(e->name, "max")) && e->nkids >= 2) {
      RtXopKind op = e->name[1] == 'i' ? RT_XOP_MIN : RT_XOP_MAX;
      for (int i = 0; i < e->nkids; i++) {
        if (!xp_emit(c, di, p, e->kids[i], b, depth)) return false;
        if (i > 0) xp_push(c, p, (RtXop){.op = op});
      }
      return true;
    }
    if (!strcmp(e->name, "clip") && e->nkids == 3) {
      if (!xp_emit(c, di, p, e->kids[0], b, depth)) return false;
      xp_push(c, p, (RtXop){.op = RT_XOP_CLIP, .a = xp_num(c, e->kids[1]), .b = xp_num(c, e->kids[2])});
      return true;
    }
    if (!strcmp(e->name, "bucketize") && e->nkids == 2 && e->kids[1]->kind == AST_LIST) {
      if (!xp_emit(c, di, p, e->kids[0], b, depth)) return false;
      Ast *l = e->kids[1];
      RtXop op = {.op = RT_XOP_BUCKETIZE, .n_edges = l->nkids};
      op.edges = arena_alloc(c->a, sizeof(double) * (size_t)(l->nkids + 1));
      for (int i = 0; i < l->nkids; i++) op.edges[i] = xp_num(c, l->kids[i]);
      xp_push(c, p, op);
      return true;
    }
    Decl *d = decl_find(c, e->name);
    if (d && d->node->kind == AST_FN && d->node->nkids && e->nkids == d->node->nparams) {
      XBind nb = {d->node, e->kids, b};
      return xp_emit(c, di, p, d->node->kids[0], &nb, depth + 1);
    }
    if (d && d->node->kind == AST_EXTERN && e->nkids == d->node->nparams) {
      RtXop op;   /* the arguments, then the call (rt_extern.c, xform_extern.c) */
      if (!extern_op(c, e, d, &op)) return false;
      for (int i = 0; i < e->nkids; i++)
        if (!xp_emit(c, di, p, e->kids[i], b, depth)) return false;
      xp_push(c, p, op);
      return true;
    }
    break;
  }
  default: break;
  }
  refuse(c, e->span, node_text(c, e));
  return false;
}

/* A feature as the runtime runs it: onehot(COLUMN, unseen = ...) or a
 * postfix program; `feature * = EXPR` keeps its program for each column
 * it covers. */
static void ds_feature_prog(Ctx *c, DataInfo *di, Ast *st, Ast *t, Ast *v, bool star) {
  RtDataSpec *sp = di->spec;
  RtFeature f = {.loc = loc_of(c, st->span)};
  if (v->kind == AST_CALL && !strcmp(v->name, "onehot")) {
    if (star) {
      refuse(c, v->span, "onehot(*)");
      return;
    }
    f.onehot = RT_OH_ERROR;
    for (int i = 0; i < v->nkids; i++) {
      Ast *a = v->kids[i];
      if (a->kind == AST_NAME) f.column = arena_strdup(c->a, a->name);
      else if (a->kind == AST_ARG && a->nkids && a->kids[0]->kind == AST_NAME)
        f.onehot = !strcmp(a->kids[0]->name, "zero") ? RT_OH_ZERO
                   : !strcmp(a->kids[0]->name, "other") ? RT_OH_OTHER : RT_OH_ERROR;
    }
  } else {
    XProg p = {0};
    if (!xp_emit(c, di, &p, v, NULL, 0)) return;
    if (star) {
      sp->star = true;
      sp->star_xform = RT_XF_NONE;
      sp->star_prog = p.ops;
      sp->n_star_prog = p.n;
      sp->star_loc = f.loc;
      return;
    }
    for (int k = 0; k < p.n && !f.column; k++)
      if (p.ops[k].op == RT_XOP_COL) f.column = p.ops[k].column;
    if (!f.column) {
      refuse(c, v->span, "a feature that reads no column");
      return;
    }
    f.prog = p.ops;
    f.n_prog = p.n;
  }
  f.name = arena_strdup(c->a, t->name);
  RtFeature *nf = arena_alloc(c->a, sizeof(RtFeature) * (size_t)(sp->n_feats + 1));
  Span *ns = arena_alloc(c->a, sizeof(Span) * (size_t)(sp->n_feats + 1));
  if (sp->n_feats) {
    memcpy(nf, sp->feats, sizeof(RtFeature) * (size_t)sp->n_feats);
    memcpy(ns, di->feat_span, sizeof(Span) * (size_t)sp->n_feats);
  }
  ns[sp->n_feats] = st->span;
  nf[sp->n_feats++] = f;
  sp->feats = nf;
  di->feat_span = ns;
}

/* feature NAME = EXPR | feature * = TRANSFORM(*): checked, then compiled
 * by ds_feature_prog (onehot or a postfix program). */
static void ds_feature(Ctx *c, DataInfo *di, Ast *st, PtrVec *feats) {
  int n;
  Ast **it = clause(st, 0, &n);
  if (!one_clause(c, st)) return;
  if (n != 1 || it[0]->kind != AST_ASSIGN || it[0]->nkids != 2) {
    diag_error(n ? it[0]->span : st->span, "expected 'feature NAME = TRANSFORM(COLUMN)', found '%s'",
               node_text(c, n ? it[0] : st));
    return;
  }
  Ast *t = it[0]->kids[0], *v = it[0]->kids[1];
  bool star = t->kind == AST_STAR;
  if (!star && t->kind != AST_NAME) {
    diag_error(t->span, "expected a feature name or '*', found '%s'", node_text(c, t));
    return;
  }
  /* one feature per name; one `feature *` */
  for (int i = 0; i < feats->len; i++) {
    Ast *o = feats->items[i];
    Ast *ot = o->kids[0]->kids[0]->kids[0];
    if ((star && ot->kind == AST_STAR) ||
        (!star && ot->kind == AST_NAME && !strcmp(ot->name, t->name))) {
      diag_error(t->span, "duplicate feature '%s'", star ? "*" : t->name);
      diag_note(ot->span, "first defined here");
      return;
    }
  }
  ptrvec_push(c->a, feats, st);
  int nstar = 0;
  if (!feat_expr(c, di, v, true, star, &nstar)) return;
  if (star && nstar == 0) {
    diag_error(v->span, "expected '*' as the column of a 'feature *' line, found '%s'",
               node_text(c, v));
    return;
  }
  /* every feature is a program (rt_xform.c), standardize(COLUMN) included,
   * so training, predict and eval run one preprocessing path */
  ds_feature_prog(c, di, st, t, v, star);
}

/* label NAME | label NAME = { "key": CLASS, ... }. */
static void ds_label(Ctx *c, DataInfo *di, Ast *st) {
  RtDataSpec *sp = di->spec;
  int n;
  Ast **it = clause(st, 0, &n);
  if (!one_clause(c, st) || !need(c, st, n, 1, "a column name")) return;
  no_more(c, st, it, n, 1);
  Ast *col = it[0], *map = NULL;
  if (col->kind == AST_ASSIGN && col->nkids == 2) {
    map = col->kids[1];
    col = col->kids[0];
    if (map->kind != AST_MAP) {
      diag_error(map->span, "expected a map like { \"N\": 0, \"Y\": 1 }, found '%s'",
                 node_text(c, map));
      return;
    }
  }
  if (!col_check(c, di, col)) return;
  sp->label = arena_strdup(c->a, col->name);
  sp->label_loc = loc_of(c, st->span);
  di->label_stmt = st;
  if (!map) return;
  int m = map->nkids;
  if (m == 0) {
    diag_error(map->span, "expected at least two classes in the label map, found none");
    return;
  }
  sp->label_keys = arena_alloc(c->a, sizeof(char *) * (size_t)m);
  sp->label_vals = arena_alloc(c->a, sizeof(double) * (size_t)m);
  bool used[256] = {0};
  int maxv = -1;
  Scope s = {.kind = SC_CONST};
  for (int i = 0; i < m; i++) {
    Ast *p = map->kids[i];
    if (p->kind != AST_PAIR || p->nkids != 2) continue;
    Val k, v;
    if (!want(c, &s, p->kids[0], TY_STR, &k) || !want(c, &s, p->kids[1], TY_NUM, &v)) continue;
    for (int j = 0; j < sp->n_label_map; j++)
      if (!strcmp(sp->label_keys[j], k.str)) {
        diag_error(p->kids[0]->span, "duplicate label key '%s'", k.str);
        diag_note(map->kids[j]->span, "first mapped here");
        goto next;
      }
    if (!v.is_int || v.num < 0 || v.num >= m || v.num > 255) {
      diag_error(p->kids[1]->span, "expected a class index from 0 to %d, found '%s'", m - 1,
                 node_text(c, p->kids[1]));
      continue;
    }
    used[(int)v.num] = true;
    if ((int)v.num > maxv) maxv = (int)v.num;
    sp->label_keys[sp->n_label_map] = arena_strdup(c->a, k.str);
    sp->label_vals[sp->n_label_map++] = v.num;
  next:;
  }
  for (int i = 0; i <= maxv; i++)
    if (!used[i]) {
      diag_error(map->span, "class %d has no key in the label map (classes are 0 to %d)", i, maxv);
      return;
    }
  di->n_map_classes = maxv + 1;
  if (maxv == 0) diag_error(map->span, "expected at least two classes in the label map, found one");
}

/* split train P%, val P%, test P% [seed N] [stratify] [by COL]. */
static void ds_split(Ctx *c, DataInfo *di, Ast *st) {
  RtDataSpec *sp = di->spec;
  double sum = 0;
  bool ok = true;
  Scope s = {.kind = SC_CONST};
  int ncl = st->nkids;
  for (int cl = 0; cl < 3; cl++) {
    int n;
    Ast **it = clause(st, cl, &n);
    if (cl >= ncl || n == 0) {
      diag_error(end_span(st), "expected '%s P%%' in 'split', found the end of the line", splits[cl]);
      return;
    }
    if (!is_word(it[0], splits[cl])) {
      diag_error(it[0]->span, "expected '%s', found '%s'", splits[cl], node_text(c, it[0]));
      return;
    }
    if (n < 2) {
      diag_error(it[0]->span, "expected a percent after '%s'", splits[cl]);
      return;
    }
    Val p;
    if (!want(c, &s, it[1], TY_PCT, &p)) { ok = false; continue; }
    if (p.num <= 0) {
      diag_error(it[1]->span, "expected a percent > 0%% for '%s', found '%s'", splits[cl],
                 node_text(c, it[1]));
      ok = false;
    }
    sp->split[cl] = p.num / 100.0;
    sum += p.num;
    for (int i = 2; i < n; i++) {
      Ast *x = it[i];
      if (x->kind == AST_MOD && x->name && !strcmp(x->name, "seed") && x->nkids) {
        double seed;
        if (want_num(c, &s, x->kids[0], "a seed", 0, true, INFINITY, false, true, &seed)) {
          if (seed > 9e18) diag_error(x->kids[0]->span, "the seed is too large, found '%s'",
                                      node_text(c, x->kids[0]));
          else sp->split_seed = (uint64_t)seed;
        }
      } else if (is_word(x, "stratify")) {
        sp->split_stratify = true;
        if (sp->split_by) diag_error(x->span, "'stratify' and 'by' cannot be combined");
      } else if (x->kind == AST_MOD && x->name && !strcmp(x->name, "by") && x->nkids) {
        if (col_check(c, di, x->kids[0])) sp->split_by = arena_strdup(c->a, x->kids[0]->name);
        if (sp->split_stratify) diag_error(x->span, "'stratify' and 'by' cannot be combined");
      } else {
        const char *opts[] = {"seed", "stratify", "by"};
        diag_error(x->span, "unexpected '%s' in 'split'", node_text(c, x));
        if (x->kind == AST_NAME) suggest(x->span, x->name, opts, 3);
      }
    }
  }
  if (ncl > 3) {
    int n;
    Ast **it = clause(st, 3, &n);
    diag_error(n ? it[0]->span : st->span, "unexpected '%s' after 'test' in 'split'",
               n ? node_text(c, it[0]) : ",");
    return;
  }
  if (ok && fabs(sum - 100) > 1e-9) {
    diag_error(st->span, "split percentages sum to %g%%, expected 100%%", sum);
    return;
  }
  sp->split_loc = loc_of(c, st->span);
  di->has_split = ok;
  di->split_stmt = st;
}

/* A dataset block: the source first (its header checks every column named),
 * then each statement in order. */
static void check_dataset(Ctx *c, Decl *d) {
  Ast *blk = d->node;
  DataInfo *di = arena_alloc(c->a, sizeof *di);
  d->info = di;
  di->spec = arena_alloc(c->a, sizeof(RtDataSpec));
  di->spec->name = arena_strdup(c->a, d->name);
  int errs = diag_error_count();
  bool data_err0 = *c->data_error;
  Ast *seen[NELEM(data_stmts)] = {0};
  for (int i = 0; i < blk->nkids; i++) {
    Ast *st = blk->kids[i];
    if (st->kind == AST_STMT && st->name && !strcmp(st->name, "source") && !has_error(st)) {
      if (once(seen, DS_SOURCE, st)) ds_source(c, di, st);
    }
  }
  if (!seen[DS_SOURCE]) diag_error(nsp(blk), "dataset '%s' has no 'source' line", d->name);
  PtrVec feats = {0};
  for (int i = 0; i < blk->nkids; i++) {
    Ast *st = blk->kids[i];
    if (has_error(st)) continue;
    if (st->kind != AST_STMT) {
      diag_error(st->span, "expected a dataset statement, found '%s'", node_text(c, st));
      continue;
    }
    int k = stmt_word(c, st, "dataset", data_stmts, NELEM(data_stmts));
    switch (k) {
    case DS_SOURCE: break;
    case DS_DROP: ds_drop(c, di, st); break;
    case DS_MISSING:
      ds_missing(c, di, st);
      break;
    case DS_FEATURE: ds_feature(c, di, st, &feats); break;
    case DS_LABEL:
      if (once(seen, k, st)) ds_label(c, di, st);
      break;
    case DS_POSITIVE: {
      if (!once(seen, k, st) || refuse(c, nsp(st), "positive")) break;
      int n;
      Ast **it = clause(st, 0, &n);
      Scope s = {.kind = SC_CONST};
      Val v;
      if (one_clause(c, st) && need(c, st, n, 1, "a class like \"Y\"") &&
          no_more(c, st, it, n, 1))
        want(c, &s, it[0], TY_STR, &v);
      break;
    }
    case DS_COLUMN:
      for (int cl = 0; cl < st->nkids; cl++) {
        int n;
        Ast **it = clause(st, cl, &n);
        if (n != 1 || it[0]->kind != AST_PAIR || it[0]->nkids != 2) {
          diag_error(n ? it[0]->span : st->span, "expected 'column NAME: TYPE', found '%s'",
                     n ? node_text(c, it[0]) : "");
          continue;
        }
        bool named = col_check(c, di, it[0]->kids[0]);
        int ty = want_word(c, it[0]->kids[1], "column type", column_types, NELEM(column_types));
        if (named && ty >= 0) ds_coltype(c, di->spec, it[0], column_rt[ty]);
      }
      break;
    case DS_BADROW: {
      if (!once(seen, k, st)) break;
      int n;
      Ast **it = clause(st, 0, &n);
      const char *modes[] = {"skip", "fail"};
      if (one_clause(c, st) && need(c, st, n, 1, "'skip' or 'fail'") && no_more(c, st, it, n, 1))
        di->spec->bad_row_skip = want_word(c, it[0], "'on_bad_row' mode", modes, 2) == 0;
      break;
    }
    case DS_SPLIT:
      if (once(seen, k, st)) ds_split(c, di, st);
      break;
    case DS_CV: {
      if (!once(seen, k, st)) break;
      int n;
      Ast **it = clause(st, 0, &n);
      Scope s = {.kind = SC_CONST};
      double x = 0;
      if (one_clause(c, st) && need(c, st, n, 1, "a number of folds") && no_more(c, st, it, n, 1) &&
          want_num(c, &s, it[0], "the number of folds", 2, true, 1000, true, true, &x)) {
        di->spec->cv_folds = (int)x;
        di->spec->cv_loc = loc_of(c, st->span);
      }
      break;
    }
    default: break;
    }
  }
  if (!seen[DS_LABEL]) diag_error(nsp(blk), "dataset '%s' has no 'label' line", d->name);
  if (!seen[DS_SPLIT]) diag_error(nsp(blk), "dataset '%s' has no 'split' line", d->name);
  /* The label is the target: it may not also be dropped or be a feature. */
  RtDataSpec *sp = di->spec;
  for (int i = 0; sp->label && i < sp->n_drop; i++)
    if (!strcmp(sp->drop[i], sp->label)) {
      diag_error(di->label_stmt->span, "the label '%s' is also dropped", sp->label);
      diag_note(nsp(blk), "in dataset '%s'", d->name);
    }
  /* A feature reads neither a dropped column nor the label (each column
   * once, whatever the statement order). */
  for (int i = 0; i < sp->n_feats; i++) {
    const RtFeature *f = &sp->feats[i];
    int nops = f->prog ? f->n_prog : 1;
    for (int k = 0; k < nops; k++) {
      const char *col = f->prog ? (f->prog[k].op == RT_XOP_COL ? f->prog[k].column : NULL)
                                : f->column;
      bool seen_before = false;
      for (int q = 0; col && f->prog && q < k; q++)
        seen_before |= f->prog[q].op == RT_XOP_COL && !strcmp(f->prog[q].column, col);
      if (!col || seen_before) continue;
      if (sp->label && !strcmp(col, sp->label)) {
        diag_error(di->feat_span[i], "feature '%s' reads the label column '%s'", f->name, col);
        if (di->label_stmt) diag_note(di->label_stmt->span, "the label is declared here");
      }
      for (int q = 0; q < sp->n_drop; q++)
        if (!strcmp(col, sp->drop[q])) {
          diag_error(di->feat_span[i], "feature '%s' reads column '%s', which is dropped", f->name,
                     col);
          rt_note(sp->drop_loc[q], "dropped here");
          break;
        }
    }
  }
  di->ok = diag_error_count() == errs && *c->data_error == data_err0;
}

/* ---- parameters, fn, extern ---------------------------------------------- */

/* Parameters `name: type = default` of a model, gate or fn: known types,
 * distinct names, defaults of the declared type (folded into defs). */
static void check_params(Ctx *c, Ast *blk, Val *defs, bool need_default) {
  for (int i = 0; i < blk->nparams; i++) {
    Ast *p = blk->params[i];
    if (has_error(p)) continue;
    for (int j = 0; j < i; j++)
      if (p->name && blk->params[j]->name && !strcmp(p->name, blk->params[j]->name)) {
        diag_error(nsp(p), "duplicate parameter '%s'", p->name);
        diag_note(nsp(blk->params[j]), "first declared here");
      }
    if (!p->str) {
      diag_error(nsp(p), "parameter '%s' needs a type: '%s: int'", p->name, p->name);
      continue;
    }
    if (word_index(p->str, type_names, NELEM(type_names)) < 0) {
      unknown(p->span, "type", p->str, type_names, NELEM(type_names));
      continue;
    }
    Ast *dv = p->nkids ? p->kids[0] : NULL;
    if (!dv) {
      if (need_default) diag_error(nsp(p), "parameter '%s' needs a default", p->name);
      continue;
    }
    Val t = param_type(c, p);
    Scope s = {.kind = SC_CONST};
    Val v = ex_eval(c, &s, dv);
    if (v.ty == TY_ERR) continue;
    if (v.ty != t.ty || (t.is_int && !v.is_int)) {
      diag_error(dv->span, "expected %s for '%s: %s', found %s", t.is_int ? "an int" : ty_article[t.ty],
                 p->name, p->str, found(c, v, dv));
      continue;
    }
    v.is_int = t.is_int || v.is_int;
    if (defs) defs[i] = v;
  }
}

/* fn NAME(params) -> TYPE = EXPR: the body may read its parameters, consts,
 * builtins and other fns. */
static void check_fn(Ctx *c, Decl *d) {
  if (d->fn_state) return;   /* checked already (a const folded a call of it) */
  int errs = diag_error_count();
  check_fn_body(c, d);
  d->fn_state = diag_error_count() == errs ? 2 : 1;
}

/* A fn or extern named like a builtin or a transform: a call would reach the
 * builtin, never it. False after reporting. */
static bool not_builtin(Decl *d) {
  if (word_index(d->name, builtins, NELEM(builtins)) < 0 &&
      word_index(d->name, transforms, NELEM(transforms)) < 0)
    return true;
  diag_error(nsp(d->node), "'%s' is a builtin function: a call of it never reaches this %s; "
             "name it otherwise", d->name, kind_word(d->node->kind));
  return false;
}

static void check_fn_body(Ctx *c, Decl *d) {
  Ast *f = d->node;
  if (!not_builtin(d)) return;
  check_params(c, f, NULL, false);
  for (int i = 0; i < f->nparams; i++)
    if (f->params[i]->nkids)
      diag_error(f->params[i]->kids[0]->span, "fn parameters take no default");
  if (!f->str || word_index(f->str, type_names, NELEM(type_names)) < 0) {
    diag_error(nsp(f), "expected a return type (%s) for fn '%s', found '%s'",
               "int float bool str duration percent", d->name, f->str ? f->str : "none");
    return;
  }
  if (!f->nkids || has_error(f->kids[0])) return;
  Scope s = {.kind = SC_FN, .params = f->params, .nparams = f->nparams, .self = d};
  Val v = ex_eval(c, &s, f->kids[0]);
  Ast ret = {.str = f->str};
  Val t = param_type(c, &ret);
  if (v.ty != TY_ERR && v.ty != t.ty)
    diag_error(f->kids[0]->span, "expected %s for the result of '%s', found %s", ty_article[t.ty],
               d->name, found(c, v, f->kids[0]));
}

/* extern fn NAME(params) -> CTYPE from "lib": C ABI types only. */
static void check_extern(Ctx *c, Decl *d) {
  (void)c;
  Ast *f = d->node;
  not_builtin(d);
  const char *ctypes[] = {"i32", "i64", "f32", "f64"};
  for (int i = 0; i < f->nparams; i++) {
    Ast *p = f->params[i];
    if (!p->str || word_index(p->str, ctypes, 4) < 0) {
      diag_error(p->span, "expected a C type (i32 i64 f32 f64) for '%s', found '%s'",
                 p->name ? p->name : "?", p->str ? p->str : "none");
      suggest(p->span, p->str, ctypes, 4);
    }
  }
  if (!f->str || word_index(f->str, ctypes, 4) < 0) {
    diag_error(nsp(f), "expected a C return type (i32 i64 f32 f64) for '%s', found '%s'",
               d->name, f->str ? f->str : "none");
  }
  if (!f->nkids || f->kids[0]->kind != AST_STR || !f->kids[0]->str || !*f->kids[0]->str)
    diag_error(f->span, "expected 'from \"LIBRARY\"' for extern fn '%s'", d->name);
}

/* ---- model --------------------------------------------------------------- */

static const char *const model_stmts[] = {"dense", "dropout", "loss", "l1", "l2"};
static const char *const acts[] = {"identity", "relu", "sigmoid", "tanh", "softmax"};
static const RtAct act_codes[] = {RT_ACT_IDENTITY, RT_ACT_RELU, RT_ACT_SIGMOID, RT_ACT_TANH,
                                  RT_ACT_SOFTMAX};
static const char *const losses[] = {"mse", "mae", "bce", "cross_entropy"};

/* The last dense layer as the loss sees it. */
typedef struct LastDense {
  Ast *st;        /* the `dense` statement */
  Val units;      /* its units (known or not) */
  int act;        /* index in acts, or -1 for a fn */
} LastDense;

/* The endings a loss accepts: sigmoid+bce on one unit, softmax+cross_entropy
 * on two or more, identity on one unit for mse/mae. */
static void check_ending(Ctx *c, LastDense *ld, Ast *loss_st, int loss) {
  static const int want_act[] = {0, 0, 2, 4};
  const char *need[] = {"dense 1 identity", "dense 1 identity", "dense 1 sigmoid",
                        "dense N softmax"};
  bool units_ok = !ld->units.known || (loss == 3 ? ld->units.num >= 2 : ld->units.num == 1);
  if (ld->act == want_act[loss] && units_ok) return;
  if (ld->act == want_act[loss]) {
    val_error(c, ld->st, ld->units, "loss '%s' needs a last layer '%s', found %g units",
              losses[loss], need[loss], ld->units.num);
    return;
  }
  if (c->instantiating) return;
  diag_error(ld->st->span, "loss '%s' needs a last layer '%s', found '%s'", losses[loss],
             need[loss], node_text(c, ld->st));
  diag_note(loss_st->span, "the loss is here");
}

/* Walks a model's statements with its parameters bound to binds (NULL:
 * unbound) and fills desc. Checking the block reports everything; a train's
 * instantiation (c->instantiating) reports only what its arguments cause. */
static void model_walk(Ctx *c, Decl *d, Val *binds, RtModelDesc *desc, ModelInfo *mi,
                       LastDense *ld) {
  Ast *blk = d->node;
  Scope s = {.kind = SC_PARAMS, .params = blk->params, .nparams = blk->nparams, .binds = binds};
  bool quiet = c->instantiating;
  Ast *loss_st = NULL;
  int loss = -1;
  bool saw_dense = false;
  Ast *drop_st = NULL;   /* the last dropout, refused in run mode after the last layer */
  int drop_at = 0;       /* the layer count when it was seen */
  desc->name = arena_strdup(c->a, d->name);
  ld->st = NULL;
  for (int i = 0; i < blk->nkids; i++) {
    Ast *st = blk->kids[i];
    if (has_error(st)) continue;
    if (st->kind != AST_STMT) {
      if (!quiet) diag_error(st->span, "expected a model statement, found '%s'", node_text(c, st));
      continue;
    }
    int k = quiet ? word_index(st->name, model_stmts, NELEM(model_stmts))
                  : stmt_word(c, st, "model", model_stmts, NELEM(model_stmts));
    if (k < 0) continue;
    if (loss_st && !quiet) {
      diag_error(nsp(st), "expected the end of model '%s' after 'loss', found '%s'", d->name,
                 st->name);
      diag_note(loss_st->span, "'loss' must be the last statement");
      continue;
    }
    int n;
    Ast **it = clause(st, 0, &n);
    if (!quiet && !one_clause(c, st)) continue;
    if (k == 0) { /* dense UNITS [ACT] */
      saw_dense = true;
      if (!quiet && n >= 1 && it[0]->kind == AST_NAME &&
          word_index(it[0]->name, acts, NELEM(acts)) >= 0) {
        diag_error(it[0]->span, "expected a number of units before the activation, found '%s'",
                   it[0]->name);
        mi->ok = false;
        continue;
      }
      if (!quiet && !need(c, st, n, 1, "a number of units")) continue;
      if (n < 1) continue;
      if (!quiet) no_more(c, st, it, n, 2);
      Val u = ex_eval(c, &s, it[0]);
      if (u.ty == TY_ERR) continue;
      double units = 0;
      bool ok = true;
      if (u.ty != TY_NUM) ok = val_error(c, it[0], u, "expected a number of units, found %s", found(c, u, it[0]));
      else if (!u.is_int || (u.known && (u.num < 1 || u.num > 1e6)))
        ok = val_error(c, it[0], u, "expected a positive integer number of units, found '%s'",
                       node_text(c, u.src ? u.src : it[0]));
      else if (u.known) units = u.num;
      int a = 0;
      if (n >= 2) {
        Ast *an = it[1];
        a = an->kind == AST_NAME ? word_index(an->name, acts, NELEM(acts)) : -2;
        Decl *fd = an->kind == AST_NAME ? decl_find(c, an->name) : NULL;
        if (a < 0 && fd && fd->node->kind == AST_FN) {
          a = -1;
          if (!quiet && fd->node->nparams != 1)
            diag_error(an->span, "fn '%s' takes %d arguments; an activation takes one", an->name,
                       fd->node->nparams);
          else if (!quiet) refuse(c, an->span, an->name);
        } else if (a < 0) {
          if (!quiet) {
            if (an->kind != AST_NAME) {
              diag_error(an->span, "expected an activation, found '%s'", node_text(c, an));
            } else {
              int nf;
              const char **fns = decl_names(c, AST_FN, &nf);
              const char **all = arena_alloc(c->a, sizeof(char *) * (size_t)(nf + 8));
              memcpy(all, acts, sizeof acts);
              memcpy(all + NELEM(acts), fns, sizeof(char *) * (size_t)nf);
              unknown(an->span, "activation", an->name, all, NELEM(acts) + nf);
            }
          }
          ok = false;
        }
      }
      if (!ok) { mi->ok = false; continue; }
      if (desc->n_layers == RT_MAX_LAYERS) {
        if (!quiet) diag_error(st->span, "more than %d dense layers", RT_MAX_LAYERS);
        mi->ok = false;
        continue;
      }
      RtLayer *l = &desc->layers[desc->n_layers];
      l->units = (int)units;
      l->act = a >= 0 ? act_codes[a] : RT_ACT_IDENTITY;
      desc->layer_loc[desc->n_layers++] = loc_of(c, st->span);
      ld->st = st;
      ld->units = u;
      ld->act = a;
    } else if (k == 1) { /* dropout P: applies to the dense layer before it */
      if (!quiet && !need(c, st, n, 1, "a rate")) continue;
      if (n < 1) continue;
      if (!quiet) no_more(c, st, it, n, 1);
      double p = 0;
      if (!want_num(c, &s, it[0], "a dropout rate", 0, true, 1, false, false, &p)) mi->ok = false;
      else if (!saw_dense) {
        if (!quiet) diag_error(nsp(st), "'dropout' must follow a 'dense' layer");
        mi->ok = false;
      } else if (drop_st && drop_at == desc->n_layers) {
        if (!quiet) {
          diag_error(nsp(st), "a second 'dropout' after the same 'dense' layer");
          diag_note(nsp(drop_st), "the first is here");
        }
        mi->ok = false;
      } else if (desc->n_layers > 0) {
        desc->dropout[desc->n_layers - 1] = (float)p;
        drop_st = st;
        drop_at = desc->n_layers;
      }
    } else if (k == 3 || k == 4) { /* l1 X | l2 X: the dense layer before it */
      if (!quiet && !need(c, st, n, 1, "a penalty")) continue;
      if (n < 1) continue;
      if (!quiet) no_more(c, st, it, n, 1);
      double x = 0;
      unsigned char bit = k == 3 ? 1 : 2;
      if (!want_num(c, &s, it[0], arena_printf(c->a, "'%s'", st->name), 0, true, INFINITY, false,
                    false, &x)) {
        mi->ok = false;
      } else if (!saw_dense) {
        if (!quiet) diag_error(nsp(st), "'%s' must follow a 'dense' layer", st->name);
        mi->ok = false;
      } else if (desc->n_layers == 0) {
        mi->ok = false;   /* the dense before it was in error */
      } else if (desc->layer_reg[desc->n_layers - 1] & bit) {
        if (!quiet) diag_error(nsp(st), "a second '%s' after the same 'dense' layer", st->name);
        mi->ok = false;
      } else {
        desc->layer_reg[desc->n_layers - 1] |= bit;
        *(k == 3 ? &desc->layer_l1[desc->n_layers - 1] : &desc->layer_l2[desc->n_layers - 1]) =
            (float)x;
      }
    } else { /* loss NAME */
      loss_st = st;
      if (quiet) {
        loss = n ? word_index(it[0]->name, losses, NELEM(losses)) : -1;
        continue;
      }
      if (!need(c, st, n, 1, "a loss (mse mae bce cross_entropy)")) continue;
      no_more(c, st, it, n, 1);
      loss = want_word(c, it[0], "loss", losses, NELEM(losses));
      if (loss == 1) refuse(c, it[0]->span, "loss mae");
    }
  }
  if (!quiet && !saw_dense) diag_error(nsp(blk), "model '%s' has no 'dense' layer", d->name);
  if (!quiet && drop_st && desc->n_layers > 0 && desc->dropout[desc->n_layers - 1] > 0 &&
      refuse(c, nsp(drop_st), "dropout after the last dense layer"))
    mi->ok = false;
  if (!quiet && !loss_st) diag_error(nsp(blk), "model '%s' has no 'loss' line", d->name);
  if (loss < 0) {
    mi->ok = false;
    return;
  }
  mi->has_loss = true;
  mi->loss_stmt = loss_st;
  mi->mae = loss == 1;
  mi->loss = loss == 2 ? RT_LOSS_BCE : loss == 3 ? RT_LOSS_CE : RT_LOSS_MSE;
  mi->task = loss == 2 ? RT_TASK_BINARY : loss == 3 ? RT_TASK_MULTICLASS : RT_TASK_REGRESSION;
  desc->loss = mi->loss;
  desc->task = mi->task;
  if (ld->st) check_ending(c, ld, loss_st, loss);
}

/* model NAME(params) { ... }: checked once with unbound parameters (defaults
 * are checked against their types); trains instantiate it with arguments. */
static void check_model(Ctx *c, Decl *d) {
  ModelInfo *mi = arena_alloc(c->a, sizeof *mi);
  d->info = mi;
  int errs = diag_error_count();
  mi->defs = arena_alloc(c->a, sizeof(Val) * (size_t)(d->node->nparams + 1));
  check_params(c, d->node, mi->defs, false);
  RtModelDesc desc = {0};
  LastDense ld;
  mi->ok = true;
  model_walk(c, d, NULL, &desc, mi, &ld);
  mi->ok = mi->ok && diag_error_count() == errs;
}

/* ---- gate ---------------------------------------------------------------- */

static const char *const gate_stmts[] = {"baseline", "first_run"};

/* A checked gate-line side as the runtime evaluates it (RtGateExpr): what
 * folds becomes a number (a duration in microseconds), metric paths stay
 * metrics, arithmetic and builtins stay operations. s records no metric
 * uses (s->gate is NULL); e was checked without errors. */
static RtGateExpr *gate_expr(Ctx *c, Scope *s, Ast *e, bool *reads_baseline) {
  RtGateExpr *x = arena_alloc(c->a, sizeof *x);
  Val v = ex_eval(c, s, e);
  if (v.known) {
    x->op = RT_GX_NUM;
    x->num = v.ty == TY_DUR ? v.num * 1e6 : v.num;
    return x;
  }
  if (e->kind == AST_PATH) {
    Ast **p = e->kids;
    int k = !strcmp(p[0]->name, "baseline");
    x->op = RT_GX_METRIC;
    x->baseline = k;
    *reads_baseline |= k;
    int sp = word_index(p[k]->name, splits, NELEM(splits));
    x->split = sp >= 0 ? sp : !strcmp(p[k]->name, "predict") ? 3 : 4;   /* 4: live (releases) */
    x->metric = arena_strdup(c->a, path_word(s, p[k + 1]->name));
    return x;
  }
  int n = 0;
  Ast **kids = e->kids;
  if (e->kind == AST_BINARY) {
    x->op = e->op == OP_ADD ? RT_GX_ADD : e->op == OP_SUB ? RT_GX_SUB
          : e->op == OP_MUL ? RT_GX_MUL : RT_GX_DIV;
    n = 2;
  } else if (e->kind == AST_UNARY) {
    x->op = RT_GX_NEG;
    n = 1;
  } else if (e->kind == AST_CALL && !strcmp(e->name, "drift") && e->nkids == 1) {
    x->op = RT_GX_METRIC;   /* a release's drift(COL): split 5, metric the column or "*" */
    x->split = 5;
    x->metric = e->kids[0]->kind == AST_NAME ? arena_strdup(c->a, e->kids[0]->name) : "*";
    return x;
  } else if (e->kind == AST_CALL) {
    static const RtGxOp ops[] = {RT_GX_MIN, RT_GX_MAX, RT_GX_ABS, RT_GX_EXP, RT_GX_LOG,
                                 RT_GX_SQRT, RT_GX_LOG1P};
    int bi = word_index(e->name, builtins, NELEM(builtins));
    x->op = ops[bi < 0 ? 0 : bi];
    n = e->nkids;
  } else {   /* nothing else survives checking unfolded */
    x->op = RT_GX_NUM;
    x->num = NAN;
    return x;
  }
  x->args = arena_alloc(c->a, sizeof(RtGateExpr *) * (size_t)(n + 1));
  x->n_args = n;
  for (int i = 0; i < n; i++) x->args[i] = gate_expr(c, s, kids[i], reads_baseline);
  return x;
}

/* An expression as written, for messages and status lines (node_text
 * shortens long ones): its first line, with the parentheses an outer
 * node's span leaves out put back (`not (a or b)` ends at b). */
static char *written_text(Ctx *c, Span sp) {
  size_t len;
  const char *t = src_text(sp.file, &len);
  size_t lo = sp.lo < len ? sp.lo : len, hi = sp.hi < len ? sp.hi : len;
  const char *nl = hi > lo ? memchr(t + lo, '\n', hi - lo) : NULL;
  if (nl) hi = (size_t)(nl - t);
  int depth = 0;
  for (size_t i = lo; i < hi; i++) depth += t[i] == '(' ? 1 : t[i] == ')' ? -1 : 0;
  for (size_t i = hi; depth > 0 && i < len && t[i] != '\n';) {   /* closing ones after it */
    while (i < len && (t[i] == ' ' || t[i] == '\t')) i++;
    if (i >= len || t[i] != ')') break;
    hi = ++i;
    depth--;
  }
  for (size_t i = lo; depth < 0 && i > 0 && t[i - 1] != '\n';) {   /* opening ones before it */
    while (i > 0 && (t[i - 1] == ' ' || t[i - 1] == '\t')) i--;
    if (i == 0 || t[i - 1] != '(') break;
    lo = --i;
    depth++;
  }
  return arena_strndup(c->a, t + lo, hi - lo);
}

/* A checked comparison line into its RtGateLine. */
static const char *val_text(Arena *a, Val v);

/* Whether expression e reads the name n (a path's words too: a gate's `str`
 * parameter stands for a metric's name there). */
static bool reads_name(const Ast *e, const char *n) {
  if (!e) return false;
  if (e->kind == AST_NAME && e->name && !strcmp(e->name, n)) return true;
  for (int i = 0; i < e->nkids; i++)
    if (reads_name(e->kids[i], n)) return true;
  return false;
}

/* A gate line's or rule's text as written, followed by the values of the
 * parameters it reads: "test.metric >= bar [metric = "auc", bar = 0.9]". */
static char *params_text(Ctx *c, Ast *e, Ast **params, int np, const Val *binds) {
  char *t = written_text(c, e->span);
  int n = 0;
  for (int i = 0; binds && i < np; i++)
    if (params[i]->name && binds[i].ty != TY_ERR && binds[i].known && reads_name(e, params[i]->name))
      t = arena_printf(c->a, "%s%s%s = %s", t, n++ ? ", " : " [", params[i]->name,
                       val_text(c->a, binds[i]));
  return n ? arena_printf(c->a, "%s]", t) : t;
}

/* A rule's text; in a template, with the values of the parameters it reads. */
static const char *rule_text(Ctx *c, Ast *e) {
  Ast *tb = c->tmpl ? c->tmpl->d->node : NULL;
  return params_text(c, e, tb ? tb->params : NULL, tb ? tb->nparams : 0,
                     c->tmpl ? c->tmpl->binds : NULL);
}

static void gate_line(Ctx *c, Scope *s, Ast *e, RtGate *g) {
  Scope ns = *s;
  ns.gate = NULL;
  RtGateLine *l = &g->lines[g->n_lines++];
  l->loc = loc_of(c, e->span);
  l->text = params_text(c, e, s->params, s->nparams, s->binds);
  l->cmp = (RtGateCmp)(e->op - OP_LT);
  Val lv = ex_eval(c, &ns, e->kids[0]);
  l->duration = lv.ty == TY_DUR;
  l->lhs = gate_expr(c, &ns, e->kids[0], &l->reads_baseline);
  l->rhs = gate_expr(c, &ns, e->kids[1], &l->reads_baseline);
}

/* gate NAME { baseline "path"  first_run pass|fail  SPLIT.METRIC OP EXPR ... }:
 * each line is a bool; metrics are checked per task once trains use the gate. */
static GateInfo *gate_check(Ctx *c, Decl *d, Val *binds, bool first);

static void check_gate(Ctx *c, Decl *d) {
  Ast *blk = d->node;
  Val *defs = arena_alloc(c->a, sizeof(Val) * (size_t)(blk->nparams + 1));
  check_params(c, blk, defs, true);
  d->info = gate_check(c, d, defs, true);
}

/* The arguments of a use `WORD NAME(ARG, name = ARG, ...)` of gate or
 * template g bound over its defaults, each of its parameter's type and
 * known; NULL after reporting. */
static Val *bind_args(Ctx *c, Decl *g, Ast *call) {
  Ast *blk = g->node;
  const char *kw = kind_word(blk->kind);
  Val *binds = arena_alloc(c->a, sizeof(Val) * (size_t)(blk->nparams + 1));
  int errs = diag_error_count();
  Tmpl *tm = c->tmpl;   /* the arguments are the user's names, not a template's */
  c->tmpl = NULL;
  check_params(c, blk, binds, true);
  if (diag_error_count() != errs) goto fail;
  Scope cs = {.kind = SC_CONST};
  bool named = false;
  for (int i = 0; i < call->nkids; i++) {
    Ast *a = call->kids[i];
    int k = i;
    Ast *v = a;
    if (a->kind == AST_ARG) {
      named = true;
      v = a->nkids ? a->kids[0] : a;
      k = -1;
      for (int j = 0; j < blk->nparams; j++)
        if (blk->params[j]->name && a->name && !strcmp(blk->params[j]->name, a->name)) k = j;
      if (k < 0) {
        diag_error(a->span, "%s '%s' has no parameter '%s'", kw, g->name, a->name ? a->name : "?");
        diag_note(nsp(blk), "%s '%s' is declared here", kw, g->name);
        goto fail;
      }
    } else if (named) {
      diag_error(a->span, "a positional argument after a named one");
      goto fail;
    } else if (k >= blk->nparams) {
      diag_error(a->span, "%s '%s' takes %d argument%s, found %d", kw, g->name, blk->nparams,
                 blk->nparams == 1 ? "" : "s", call->nkids);
      diag_note(nsp(blk), "%s '%s' is declared here", kw, g->name);
      goto fail;
    }
    Val x = ex_eval(c, &cs, v);
    if (x.ty == TY_ERR) goto fail;
    if (x.ty != binds[k].ty || !x.known) {
      diag_error(v->span, "expected %s for '%s' of %s '%s', found %s", ty_article[binds[k].ty],
                 blk->params[k]->name, kw, g->name, found(c, x, v));
      goto fail;
    }
    binds[k] = x;
  }
  c->tmpl = tm;
  return binds;
fail:
  c->tmpl = tm;
  return NULL;
}

/* A use `gate NAME(ARGS)`: the gate's lines checked again with its
 * arguments (a GateInfo of this use). NULL after reporting. */
static GateInfo *gate_with_args(Ctx *c, Decl *g, Ast *call) {
  Val *binds = bind_args(c, g, call);
  if (!binds) return NULL;
  int errs = diag_error_count();
  GateInfo *gi = gate_check(c, g, binds, false);
  if (diag_error_count() != errs) {
    diag_note(call->span, "with the arguments given here");
    return NULL;
  }
  return gi;
}

/* The gate's lines checked with its parameters bound to binds (first: the
 * declaration's own check, with its defaults). */
static GateInfo *gate_check(Ctx *c, Decl *d, Val *binds, bool first) {
  Ast *blk = d->node;
  GateInfo *gi = arena_alloc(c->a, sizeof *gi);
  int errs = diag_error_count();
  Val *defs = binds;
  Ast *seen[2] = {0};
  for (int i = 0; i < blk->nkids; i++) {
    Ast *st = blk->kids[i];
    if (st->kind == AST_STMT && st->name && !strcmp(st->name, "baseline")) gi->has_baseline = true;
  }
  Scope s = {.kind = SC_GATE, .params = blk->params, .nparams = blk->nparams, .binds = defs,
             .gate = gi, .has_baseline = gi->has_baseline};
  RtGate *rg = gi->rt = arena_alloc(c->a, sizeof *rg);
  rg->name = arena_strdup(c->a, d->name);
  rg->lines = arena_alloc(c->a, sizeof(RtGateLine) * (size_t)(blk->nkids + 1));
  int nchecks = 0;
  for (int i = 0; i < blk->nkids; i++) {
    Ast *st = blk->kids[i];
    if (has_error(st)) continue;
    if (st->kind == AST_CHECK) {
      nchecks++;
      Ast *e = st->nkids ? st->kids[0] : NULL;
      if (!e) continue;
      if (e->kind != AST_BINARY || !is_cmp(e->op)) {
        diag_error(e->span, "expected a comparison like 'test.auc >= 0.8', found '%s'",
                   node_text(c, e));
        continue;
      }
      int before = diag_error_count();
      if (ex_eval(c, &s, e).ty != TY_ERR && diag_error_count() == before)
        gate_line(c, &s, e, rg);
      continue;
    }
    if (st->kind != AST_STMT) {
      diag_error(st->span, "expected a gate line, found '%s'", node_text(c, st));
      continue;
    }
    int k = stmt_word(c, st, "gate", gate_stmts, NELEM(gate_stmts));
    if (k < 0 || !once(seen, k, st)) continue;
    int n;
    Ast **it = clause(st, 0, &n);
    if (!one_clause(c, st)) continue;
    if (k == 0) {   /* a path, or a str parameter */
      Scope ps = {.kind = SC_PARAMS, .params = blk->params, .nparams = blk->nparams, .binds = defs};
      Val v;
      if (need(c, st, n, 1, "a model path like \"models/v1.mlxm\"") && no_more(c, st, it, n, 1) &&
          want(c, &ps, it[0], TY_STR, &v) && v.known) {
        rg->baseline = resolve_path(c, it[0]->span.file, v.str);
        rg->baseline_loc = loc_of(c, st->span);
      }
    } else {
      const char *modes[] = {"pass", "fail"};
      if (need(c, st, n, 1, "'pass' or 'fail'") && no_more(c, st, it, n, 1))
        rg->first_run = 1 + want_word(c, it[0], "'first_run' mode", modes, 2);
      if (!gi->has_baseline)
        diag_warning(nsp(st), "'first_run' has no effect without a 'baseline' line");
    }
  }
  if (!nchecks && first) diag_warning(nsp(blk), "gate '%s' checks nothing", d->name);
  gi->ok = diag_error_count() == errs;
  return gi;
}

/* A gate used by a train (or a release's candidate) of a known task: every
 * split metric it reads must exist for that task. */
static void gate_use(Ctx *c, Decl *g, GateInfo *gi, Ast *use, const char *user, RtTask task,
                     bool release) {
  (void)c;
  if (!gi) return;
  for (int i = 0; i < gi->uses.len; i++) {
    MetricUse *u = gi->uses.items[i];
    if (metric_of_task(u->metric, task) || (u->reported & (1u << task))) continue;
    u->reported |= 1u << task;
    diag_error(u->node->span, "metric '%s' is not defined for a %s model", u->metric,
               task_names[task]);
    diag_note(use->span, "gate '%s' is used by %s here", g->name, user);
  }
  if (!release && gi->live_use && !gi->live_reported) {
    gi->live_reported = true;
    diag_error(gi->live_use->span, "'%s' is a release metric; a train's gate cannot read it",
               node_text(c, gi->live_use));
    diag_note(use->span, "gate '%s' is used by %s here", g->name, user);
  }
}

/* A `gate NAME` or `gate NAME(ARGS)` line's gate: *g its declaration, the
 * GateInfo the use checks (the declaration's, or one with the arguments
 * bound). NULL after reporting. */
static GateInfo *gate_ref(Ctx *c, Ast *x, Decl **g) {
  *g = NULL;
  if (x->kind == AST_CALL) {
    Decl *d = decl_find(c, x->name);
    if (!d || d->node->kind != AST_GATE) {
      Ast n = {.kind = AST_NAME, .name = x->name, .span = nsp(x)};
      lookup_kind(c, &n, AST_GATE);   /* the same message as for a bare name */
      return NULL;
    }
    *g = d;
    GateInfo *gi = d->info;
    return gi && gi->ok ? gate_with_args(c, d, x) : NULL;
  }
  if (x->kind != AST_NAME) {
    diag_error(x->span, "expected a gate name, found '%s'", node_text(c, x));
    return NULL;
  }
  *g = lookup_kind(c, x, AST_GATE);
  return *g ? (*g)->info : NULL;
}

/* ---- train --------------------------------------------------------------- */

static const char *const train_stmts[] = {"model", "data", "optimizer", "schedule", "epochs",
                                          "batch", "l1", "l2", "clip", "early_stop", "seed",
                                          "gate", "class_weights"};
enum { TR_MODEL, TR_DATA, TR_OPT, TR_SCHED, TR_EPOCHS, TR_BATCH, TR_L1, TR_L2, TR_CLIP,
       TR_EARLY, TR_SEED, TR_GATE, TR_CLASSW };
static void tr_class_weights(Ctx *c, TrainInfo *ti, Ast *st, RtTrainCfg *cfg,
                             const RtModelDesc *desc);

static const char *const optimizers[] = {"sgd", "adam", "adamw", "adagrad", "rmsprop"};
/* Named arguments of each optimizer, in the order of optimizers[]. */
static const char *const opt_args[][5] = {
    {"lr", "momentum", "nesterov"},
    {"lr", "beta1", "beta2", "eps"},
    {"lr", "beta1", "beta2", "eps", "weight_decay"},
    {"lr", "eps"},
    {"lr", "rho", "eps", "momentum"}};
static const int opt_nargs[] = {3, 4, 5, 2, 4};
static const char *const schedules[] = {"constant", "step", "exponential", "linear", "cosine",
                                        "reduce_on_plateau"};

/* ---- templates: schedule and rollout ------------------------------------ */

/* A block's statements as checked: a template use (`schedule NAME(...)` in
 * a train naming a declared schedule, `rollout NAME(...)` in a release)
 * is replaced by the template's statements bound to its arguments, except
 * those of a word the block states itself: the block's own win. */
typedef struct Body {
  Ast *blk;     /* a copy of the block with these statements as its kids */
  Tmpl **tm;    /* per statement: its template binding, NULL for the block's own */
  bool broken;  /* a use could not be spliced in (reported): what is missing may be in it */
} Body;

/* The template statement st uses (`WORD NAME` or `WORD NAME(...)` naming a
 * declaration of kind tk), its item in *item; NULL when it uses none. */
static Decl *tmpl_use(Ctx *c, Ast *st, const char *word, AstKind tk, Ast **item) {
  if (has_error(st) || st->kind != AST_STMT || !st->name || strcmp(st->name, word) || !st->nkids ||
      !st->kids[0]->nkids)
    return NULL;
  Ast *x = st->kids[0]->kids[0];
  if (x->kind != AST_NAME && x->kind != AST_CALL) return NULL;
  Decl *d = decl_find(c, x->name);
  if (!d || d->node->kind != tk) return NULL;
  *item = x;
  return d;
}

/* A template's own statements, bound to its defaults: how its declaration
 * is checked. */
static Body body_tmpl(Ctx *c, Ast *blk, Tmpl *defs) {
  Body b = {arena_alloc(c->a, sizeof(Ast)), arena_alloc(c->a, sizeof(Tmpl *) * (size_t)(blk->nkids + 1)),
            false};
  *b.blk = *blk;
  for (int i = 0; i < blk->nkids; i++) b.tm[i] = defs;
  return b;
}

/* The statements of train or release blk with the template it uses (one at
 * most) spliced in where the use is. */
static Body body_of(Ctx *c, Ast *blk, const char *word, AstKind tk) {
  Ast *use = NULL, *item = NULL;
  Decl *t = NULL;
  bool stated = false;   /* a `WORD` line: in a release, one naming no rollout is reported */
  bool *second = arena_alloc(c->a, sizeof(bool) * (size_t)(blk->nkids + 1));   /* reported */
  for (int i = 0; i < blk->nkids; i++) {
    Ast *x, *st = blk->kids[i];
    stated |= st->kind == AST_STMT && st->name && !strcmp(st->name, word);
    Decl *d = tmpl_use(c, st, word, tk, &x);
    if (!d) continue;
    if (use) {
      diag_error(nsp(st), "a %s uses one %s, found a second", kind_word(blk->kind), kind_word(tk));
      diag_note(nsp(use), "the first is here");
      second[i] = true;
      continue;
    }
    use = st, item = x, t = d;
  }
  Tmpl *tm = NULL;
  int cap = blk->nkids;
  if (t) {
    int n;
    Ast **it = clause(use, 0, &n);
    TmplInfo *ti = t->info;
    if (one_clause(c, use) && no_more(c, use, it, n, 1) && ti && ti->ok) {
      Val *binds = item->kind == AST_CALL ? bind_args(c, t, item) : ti->defs.binds;
      if (binds) {
        tm = arena_alloc(c->a, sizeof *tm);
        *tm = (Tmpl){t, binds, item};
        cap += t->node->nkids;
      }
    }
  }
  Body b = {arena_alloc(c->a, sizeof(Ast)), arena_alloc(c->a, sizeof(Tmpl *) * (size_t)(cap + 1)),
            (t && !tm) || (!t && stated && tk == AST_ROLLOUT)};
  *b.blk = *blk;
  b.blk->kids = arena_alloc(c->a, sizeof(Ast *) * (size_t)(cap + 1));
  int n = 0;
  for (int i = 0; i < blk->nkids; i++) {
    Ast *st = blk->kids[i];
    if (st != use) {
      if (!second[i]) b.blk->kids[n++] = st;
      continue;
    }
    for (int j = 0; tm && j < t->node->nkids; j++) {
      Ast *ts = t->node->kids[j];
      bool own = ts->kind != AST_STMT || !ts->name;   /* errors: reported at the template */
      for (int k = 0; !own && k < blk->nkids; k++) {
        Ast *o = blk->kids[k];
        own = o != use && o->kind == AST_STMT && o->name && !strcmp(o->name, ts->name);
      }
      if (own) continue;
      b.tm[n] = tm;
      b.blk->kids[n++] = ts;
    }
  }
  b.blk->nkids = n;
  return b;
}

/* After a template's statement was checked with a use's arguments: errors
 * it gave (since `before`) name the use. */
static void tmpl_note(Tmpl *tm, int before) {
  if (tm && tm->use && diag_error_count() != before)
    diag_note(tm->use->span, "from %s '%s' used here", kind_word(tm->d->node->kind), tm->d->name);
}

static void check_train(Ctx *c, Decl *d, PtrVec *gate_uses);
static void check_release(Ctx *c, Decl *d);

/* schedule NAME(params) { ... } / rollout NAME(params) { ... }: every
 * parameter has a default; the statements are checked with those, as a
 * train's or a release's (the words a template may hold only). */
static void check_template(Ctx *c, Decl *d) {
  Ast *blk = d->node;
  TmplInfo *ti = arena_alloc(c->a, sizeof *ti);
  d->info = ti;
  int errs = diag_error_count();
  Val *defs = arena_alloc(c->a, sizeof(Val) * (size_t)(blk->nparams + 1));
  check_params(c, blk, defs, true);
  if (blk->kind == AST_SCHEDULE && word_index(d->name, schedules, NELEM(schedules)) >= 0)
    diag_error(nsp(blk), "'%s' is a learning-rate schedule of the language; name this schedule "
               "otherwise", d->name);
  if (diag_error_count() != errs) return;
  ti->defs = (Tmpl){d, defs, NULL};
  if (blk->kind == AST_SCHEDULE) check_train(c, d, NULL);
  else check_release(c, d);
  ti->ok = diag_error_count() == errs;
}

/* The names an optimizer accepts (for `vary optimizer.X`). */
static int opt_index(const char *name) {
  int k = word_index(name, optimizers, NELEM(optimizers));
  return k < 0 ? 0 : k;
}

/* Checks one optimizer argument's value by its name; stores it in cfg. */
static void opt_value(Ctx *c, const char *name, Ast *v, RtTrainCfg *cfg) {
  Scope s = {.kind = SC_CONST};
  double x = 0;
  if (!strcmp(name, "lr")) {
    if (want_num(c, &s, v, "'lr'", 0, false, INFINITY, false, false, &x)) cfg->lr = (float)x;
  } else if (!strcmp(name, "momentum") || !strcmp(name, "beta1") || !strcmp(name, "beta2") ||
             !strcmp(name, "rho")) {
    const char *what = arena_printf(c->a, "'%s'", name);
    if (!want_num(c, &s, v, what, 0, true, 1, false, false, &x)) return;
    if (name[0] == 'm') cfg->momentum = (float)x;
    else if (!strcmp(name, "beta1")) cfg->beta1 = (float)x;
    else if (!strcmp(name, "beta2")) cfg->beta2 = (float)x;
    else cfg->rho = (float)x;
  } else if (!strcmp(name, "eps")) {
    if (want_num(c, &s, v, "'eps'", 0, false, INFINITY, false, false, &x)) cfg->eps = (float)x;
  } else if (!strcmp(name, "weight_decay")) {
    if (want_num(c, &s, v, "'weight_decay'", 0, true, INFINITY, false, false, &x))
      cfg->weight_decay = (float)x;
  } else {
    Val b;
    if (want(c, &s, v, TY_BOOL, &b) && b.known) cfg->nesterov = b.num != 0;
  }
}

/* optimizer sgd(lr, momentum, nesterov) | adam(lr, beta1, beta2, eps) | ... */
static void tr_optimizer(Ctx *c, TrainInfo *ti, Ast *st, RtTrainCfg *cfg) {
  int n;
  Ast **it = clause(st, 0, &n);
  if (!one_clause(c, st) || !need(c, st, n, 1, "an optimizer like 'adam(lr = 1e-3)'")) return;
  no_more(c, st, it, n, 1);
  Ast *call = it[0];
  if (call->kind != AST_CALL && call->kind != AST_NAME) {
    diag_error(call->span, "expected an optimizer like 'adam(lr = 1e-3)', found '%s'",
               node_text(c, call));
    return;
  }
  int k = word_index(call->name, optimizers, NELEM(optimizers));
  if (k < 0) {
    unknown(nsp(call), "optimizer", call->name, optimizers, NELEM(optimizers));
    return;
  }
  ti->opt = optimizers[k];
  ti->opt_call = call;
  cfg->opt = (RtOpt)k;   /* optimizers[] is in RtOpt order */
  cfg->momentum = 0;
  cfg->nesterov = false;
  if (k == 1 || k == 2) {
    cfg->lr = (float)DEF_ADAM_LR;
    cfg->beta1 = (float)DEF_BETA1;
    cfg->beta2 = (float)DEF_BETA2;
    cfg->eps = (float)DEF_EPS;
    cfg->weight_decay = k == 2 ? (float)DEF_ADAMW_WD : 0;
  } else {
    cfg->lr = (float)DEF_SGD_LR;
    cfg->eps = (float)(k == 3 ? DEF_ADAGRAD_EPS : DEF_EPS);
    cfg->rho = (float)DEF_RHO;
  }
  Ast *vals[5];
  const char *what = arena_printf(c->a, "'%s'", call->name);
  named_args(c, call, what, opt_args[k], opt_nargs[k], vals);
  for (int i = 0; i < opt_nargs[k]; i++) {
    if (!vals[i] || !vals[i]->nkids) continue;
    opt_value(c, opt_args[k][i], vals[i]->kids[0], cfg);
  }
}

/* The unit of a count checked by want_count: true for step(s). */
static bool count_in_steps(Ctx *c, Ast *v) {
  if (v->kind == AST_COUNT) return v->name && v->name[0] == 's';
  Scope s = {.kind = SC_CONST};
  Val x = ex_eval(c, &s, v);
  return x.ty == TY_COUNT && x.str && x.str[0] == 's';
}

/* A metric path SPLIT.METRIC that `what` reads after each epoch: a metric of
 * the task, never test.*; `run` reads val only. Returns the metric or NULL. */
static const char *epoch_metric(Ctx *c, TrainInfo *ti, Ast *p, const char *what) {
  if (p->kind != AST_PATH || p->nkids != 2 || p->kids[0]->kind != AST_NAME ||
      p->kids[1]->kind != AST_NAME) {
    diag_error(p->span, "expected a metric like 'val.loss', found '%s'", node_text(c, p));
    return NULL;
  }
  const char *sp = p->kids[0]->name, *m = p->kids[1]->name;
  if (!strcmp(sp, "test")) {
    diag_error(p->span, "'%s' may not read test metrics, found '%s'", what, node_text(c, p));
    diag_note(p->span, "use 'val.%s'", m);
  } else if (word_index(sp, splits, NELEM(splits)) < 0) {
    unknown(p->kids[0]->span, "split", sp, splits, NELEM(splits));
  } else if (word_index(m, metrics_all, NELEM(metrics_all)) < 0) {
    unknown(p->kids[1]->span, "metric", m, metrics_all, NELEM(metrics_all));
  } else if (ti->task_known && !metric_of_task(m, ti->task)) {
    diag_error(p->kids[1]->span, "metric '%s' is not defined for a %s model", m,
               task_names[ti->task]);
  } else if (!strcmp(sp, "val") ||
             !refuse(c, p->span, arena_printf(c->a, "%s on %s metrics", what, sp))) {
    return m;
  }
  return NULL;
}

/* schedule constant | step(every = N epochs|steps, gamma = X) | exponential(gamma = X)
 * | linear(end = X) | cosine(end = X) | reduce_on_plateau(metric = val.M, factor = X,
 * patience = N); each also takes warmup = N epochs|steps. Fills cfg (rt_sched.c). */
static void tr_schedule(Ctx *c, TrainInfo *ti, Ast *st, RtTrainCfg *cfg) {
  int n;
  Ast **it = clause(st, 0, &n);
  if (!one_clause(c, st) || !need(c, st, n, 1, "a schedule like 'cosine(warmup = 1 epoch)'")) return;
  no_more(c, st, it, n, 1);
  Ast *call = it[0];
  if (call->kind != AST_CALL && call->kind != AST_NAME) {
    diag_error(call->span, "expected a schedule, found '%s'", node_text(c, call));
    return;
  }
  int k = word_index(call->name, schedules, NELEM(schedules));
  Decl *other = k < 0 ? decl_find(c, call->name) : NULL;
  if (other && other->node->kind == AST_SCHEDULE) {
    diag_error(nsp(call), "a schedule cannot use another schedule ('%s')", call->name);
    return;
  }
  if (other) {   /* a declaration of another kind */
    diag_error(nsp(call), "expected a schedule, found %s '%s'", kind_word(other->node->kind),
               call->name);
    diag_note(nsp(other->node), "'%s' is declared here", call->name);
    return;
  }
  if (k < 0) {   /* suggest over the lr schedules and the declared schedules */
    int nd;
    const char **decl = decl_names(c, AST_SCHEDULE, &nd);
    const char **all = arena_alloc(c->a, sizeof(char *) * (size_t)(NELEM(schedules) + nd + 1));
    memcpy(all, schedules, sizeof schedules);
    memcpy(all + NELEM(schedules), decl, sizeof(char *) * (size_t)nd);
    unknown(nsp(call), "schedule", call->name, all, NELEM(schedules) + nd);
    return;
  }
  static const char *const args[][4] = {{"warmup"},
                                        {"every", "gamma", "warmup"},
                                        {"gamma", "warmup"},
                                        {"end", "warmup"},
                                        {"end", "warmup"},
                                        {"metric", "factor", "patience", "warmup"}};
  static const int nargs[] = {1, 3, 2, 2, 2, 4};
  static const RtSchedKind kinds[] = {RT_SCHED_CONSTANT, RT_SCHED_STEP, RT_SCHED_EXPONENTIAL,
                                      RT_SCHED_LINEAR, RT_SCHED_COSINE, RT_SCHED_PLATEAU};
  cfg->sched = kinds[k];
  cfg->sched_every = 1;     /* step: once an epoch unless `every` says */
  cfg->sched_gamma = 0.1;   /* PyTorch's defaults: StepLR gamma, ReduceLROnPlateau */
  cfg->plateau_metric = "loss";
  cfg->plateau_factor = 0.1;
  cfg->plateau_patience = 10;
  Ast *vals[4];
  const char *what = arena_printf(c->a, "'%s'", call->name);
  named_args(c, call, what, args[k], nargs[k], vals);
  if (k == 2 && !vals[0])
    diag_error(call->span, "missing argument 'gamma' for 'exponential', like 'gamma = 0.95'");
  static const char *const units[] = {"epoch", "epochs", "step", "steps"};
  Scope s = {.kind = SC_CONST};
  for (int i = 0; i < nargs[k]; i++) {
    if (!vals[i] || !vals[i]->nkids) continue;
    Ast *v = vals[i]->kids[0];
    const char *a = args[k][i];
    double x;
    int j = 0;
    if (!strcmp(a, "gamma")) {
      if (want_num(c, &s, v, "'gamma'", 0, false, 1, true, false, &x)) cfg->sched_gamma = x;
    } else if (!strcmp(a, "end")) {
      if (want_num(c, &s, v, "'end'", 0, true, INFINITY, false, false, &x)) cfg->sched_end = x;
    } else if (!strcmp(a, "factor")) {
      if (want_num(c, &s, v, "'factor'", 0, false, 1, false, false, &x)) cfg->plateau_factor = x;
    } else if (!strcmp(a, "patience")) {
      if (want_num(c, &s, v, "'patience'", 0, true, 1e8, true, true, &x))
        cfg->plateau_patience = (int)x;
    } else if (!strcmp(a, "metric")) {
      const char *m = epoch_metric(c, ti, v, "reduce_on_plateau");
      if (m) cfg->plateau_metric = m;
    } else if (want_count(c, st, v, NULL, 0, &j, units, NELEM(units), &x)) {
      if (x > 1e8) {
        diag_error(v->span, "'%s' is too large, found '%s'", a, node_text(c, v));
      } else if (!strcmp(a, "every")) {
        cfg->sched_every = x;
        cfg->sched_every_steps = count_in_steps(c, v);
      } else {
        cfg->warmup = x;
        cfg->warmup_steps = count_in_steps(c, v);
      }
    }
  }
}

/* early_stop val.METRIC patience N [min_delta X]: metric of the task, never test.* */
static void tr_early_stop(Ctx *c, TrainInfo *ti, Ast *st, RtTrainCfg *cfg) {
  int n;
  Ast **it = clause(st, 0, &n);
  if (!one_clause(c, st) || !need(c, st, n, 1, "a metric like 'val.loss'")) return;
  const char *m = epoch_metric(c, ti, it[0], "early_stop");
  Scope s = {.kind = SC_CONST};
  bool patience = false;
  for (int i = 1; i < n; i++) {
    Ast *x = it[i];
    double v;
    if (x->kind == AST_MOD && x->name && !strcmp(x->name, "patience") && x->nkids) {
      patience = true;
      if (want_num(c, &s, x->kids[0], "'patience'", 1, true, INFINITY, false, true, &v))
        cfg->es_patience = v > 1e8 ? 100000000 : (int)v;
    } else if (is_word(x, "min_delta") && i + 1 < n) {
      if (want_num(c, &s, it[++i], "'min_delta'", 0, true, INFINITY, false, false, &v))
        cfg->es_min_delta = v;
    } else {
      const char *opts[] = {"patience", "min_delta"};
      diag_error(x->span, "unexpected '%s' in 'early_stop'", node_text(c, x));
      if (x->kind == AST_NAME) suggest(x->span, x->name, opts, 2);
      return;
    }
  }
  if (!patience) diag_error(end_span(st), "expected 'patience N' in 'early_stop'");
  cfg->es_metric = m;
  cfg->es_loc = loc_of(c, st->span);
}

/* model NAME(arg = value, ...): arguments named and typed by the model's
 * parameters; defaults fill the rest. Builds the model for this train. */
static RtModelDesc *tr_model(Ctx *c, TrainInfo *ti, Ast *st) {
  int n;
  Ast **it = clause(st, 0, &n);
  if (!one_clause(c, st) || !need(c, st, n, 1, "a model name")) return NULL;
  no_more(c, st, it, n, 1);
  Ast *call = it[0];
  if (call->kind != AST_CALL && call->kind != AST_NAME) {
    diag_error(call->span, "expected a model like 'scorer(hidden = 64)', found '%s'",
               node_text(c, call));
    return NULL;
  }
  Decl *md = lookup_kind(c, call, AST_MODEL);
  if (!md) return NULL;
  ti->model = md;
  ModelInfo *mi = md->info;
  if (!mi) return NULL;
  Ast *blk = md->node;
  int np = blk->nparams;
  const char **pn = arena_alloc(c->a, sizeof(char *) * (size_t)(np + 1));
  for (int i = 0; i < np; i++) pn[i] = blk->params[i]->name;
  Ast **vals = arena_alloc(c->a, sizeof(Ast *) * (size_t)(np + 1));
  const char *what = arena_printf(c->a, "model '%s'", md->name);
  bool ok = named_args(c, call, what, pn, np, vals);
  Val *binds = arena_alloc(c->a, sizeof(Val) * (size_t)(np + 1));
  for (int i = 0; i < np; i++) {
    Ast *p = blk->params[i];
    if (!vals[i]) {
      binds[i] = mi->defs[i];
      if (!p->nkids) {
        diag_error(call->span, "missing argument '%s' for model '%s'", p->name, md->name);
        diag_note(nsp(p), "'%s' has no default", p->name);
        ok = false;
      }
      continue;
    }
    Ast *v = vals[i]->nkids ? vals[i]->kids[0] : NULL;
    Scope s = {.kind = SC_CONST};
    Val x = ex_eval(c, &s, v);
    if (x.ty == TY_ERR) { ok = false; continue; }
    Val t = param_type(c, p);
    if (t.ty != TY_ERR && (x.ty != t.ty || (t.is_int && !x.is_int))) {
      diag_error(v->span, "expected %s for '%s', found %s", t.is_int ? "an int" : ty_article[t.ty],
                 p->name, found(c, x, v));
      diag_note(nsp(p), "'%s: %s' is declared here", p->name, p->str);
      ok = false;
      continue;
    }
    x.src = v;
    x.from_arg = true;
    binds[i] = x;
  }
  if (!ok || !mi->ok) return NULL;
  ti->binds = binds;
  RtModelDesc *desc = arena_alloc(c->a, sizeof *desc);
  ModelInfo tmp = {.ok = true};
  LastDense ld;
  c->instantiating = true;
  int errs = diag_error_count();
  model_walk(c, md, binds, desc, &tmp, &ld);
  c->instantiating = false;
  if (diag_error_count() != errs || !tmp.ok) return NULL;
  ti->task = tmp.task;
  ti->task_known = tmp.has_loss;
  ti->last_dense = ld.st;
  return desc;
}

/* The model's task against the dataset's label map, when both are known. */
static void tr_cross(Ctx *c, TrainInfo *ti, Ast *data_st, RtModelDesc *desc) {
  (void)c;
  DataInfo *di = ti->data->info;
  int k = di->n_map_classes;
  ModelInfo *mi = ti->model->info;
  if (ti->task_known && ti->task == RT_TASK_REGRESSION && di->spec->split_stratify &&
      di->split_stmt) {
    diag_error(data_st->span, "dataset '%s' splits with 'stratify', but model '%s' does regression",
               ti->data->name, ti->model->name);
    diag_note(di->split_stmt->span, "'stratify' needs classes; it is here");
    diag_note(mi->loss_stmt->span, "the loss decides the task");
  }
  if (!k || !ti->task_known) return;
  if (ti->task == RT_TASK_REGRESSION) {
    diag_error(data_st->span, "dataset '%s' maps its label to classes, but model '%s' does regression",
               ti->data->name, ti->model->name);
    diag_note(di->label_stmt->span, "the label map is here");
    diag_note(mi->loss_stmt->span, "the loss decides the task");
  } else if (ti->task == RT_TASK_BINARY && k != 2) {
    diag_error(data_st->span, "loss 'bce' needs two classes, but dataset '%s' maps its label to %d",
               ti->data->name, k);
    diag_note(di->label_stmt->span, "the label map is here");
  } else if (ti->task == RT_TASK_MULTICLASS && ti->last_dense &&
             desc->layers[desc->n_layers - 1].units != k) {
    diag_error(ti->last_dense->span, "the last layer has %d units but the label '%s' has %d classes",
               desc->layers[desc->n_layers - 1].units, di->spec->label, k);
    diag_note(di->label_stmt->span, "the label map is here");
    diag_note(data_st->span, "dataset '%s' is used here", ti->data->name);
  }
}

/* A gate use waiting for the train's task (checked after every train). */
typedef struct GateUse {
  Decl *gate;
  GateInfo *gi;       /* the gate as this use checks it (its arguments bound) */
  Ast *st;
  TrainInfo *ti;
  const char *user;
} GateUse;

/* The statements a `schedule` template may hold. */
static const char *const schedule_stmts[] = {"optimizer", "schedule", "epochs", "batch", "l1",
                                             "l2", "clip", "early_stop"};

/* train NAME { ... }: model and data are required; sizes and rates positive.
 * Also a `schedule` template's declaration (d an AST_SCHEDULE): its
 * statements alone, with its defaults. */
static void check_train(Ctx *c, Decl *d, PtrVec *gate_uses) {
  Ast *blk0 = d->node;
  bool tmpl = blk0->kind == AST_SCHEDULE;
  TrainInfo *ti = arena_alloc(c->a, sizeof *ti);
  if (!tmpl) d->info = ti;
  int errs = diag_error_count();
  Body b = tmpl ? body_tmpl(c, blk0, &((TmplInfo *)d->info)->defs)
                : body_of(c, blk0, "schedule", AST_SCHEDULE);
  Ast *blk = b.blk;
  Tmpl *early_tm = NULL, *sched_tm = NULL;
  RtTrainCfg *cfg = arena_alloc(c->a, sizeof *cfg);
  cfg->name = arena_strdup(c->a, d->name);
  cfg->opt = RT_OPT_SGD;
  cfg->lr = (float)DEF_SGD_LR;
  cfg->epochs = DEF_EPOCHS;
  cfg->batch = DEF_BATCH;
  Ast *seen[NELEM(train_stmts)] = {0};
  RtModelDesc *desc = NULL;
  Ast *early = NULL, *sched = NULL;
  Scope s = {.kind = SC_CONST};
  for (int i = 0; i < blk->nkids; i++) {
    Ast *st = blk->kids[i];
    c->tmpl = b.tm[i];
    int before = diag_error_count();
    if (has_error(st)) goto next;
    if (st->kind != AST_STMT) {
      diag_error(st->span, "expected a %s statement, found '%s'", tmpl ? "schedule" : "train",
                 node_text(c, st));
      goto next;
    }
    int k = tmpl ? stmt_word(c, st, "schedule", schedule_stmts, NELEM(schedule_stmts)) : 0;
    if (k >= 0) k = stmt_word(c, st, "train", train_stmts, NELEM(train_stmts));
    if (k < 0 || !once(seen, k, st)) goto next;
    int n;
    Ast **it = clause(st, 0, &n);
    double x;
    switch (k) {
    case TR_MODEL: desc = tr_model(c, ti, st); break;
    case TR_DATA:
      if (one_clause(c, st) && need(c, st, n, 1, "a dataset name") && no_more(c, st, it, n, 1)) {
        if (it[0]->kind != AST_NAME)
          diag_error(it[0]->span, "expected a dataset name, found '%s'", node_text(c, it[0]));
        else ti->data = lookup_kind(c, it[0], AST_DATASET);
      }
      break;
    case TR_OPT: tr_optimizer(c, ti, st, cfg); break;
    case TR_SCHED:
      sched = st;
      sched_tm = c->tmpl;
      break;
    case TR_EPOCHS:
    case TR_BATCH:
    case TR_SEED:
      if (!one_clause(c, st) || !need(c, st, n, 1, "a number") || !no_more(c, st, it, n, 1)) break;
      if (k == TR_SEED) {
        if (want_num(c, &s, it[0], "a seed", 0, true, INFINITY, false, true, &x)) {
          if (x > 9e18) diag_error(it[0]->span, "the seed is too large, found '%s'", node_text(c, it[0]));
          else cfg->seed = (uint64_t)x;
        }
      } else if (want_num(c, &s, it[0], k == TR_EPOCHS ? "'epochs'" : "'batch'", 1, true,
                          k == TR_EPOCHS ? INFINITY : 1048576, true, true, &x)) {
        if (x > 1e8) {
          diag_error(it[0]->span, "'%s' is too large, found '%s'", st->name, node_text(c, it[0]));
          break;
        }
        if (k == TR_EPOCHS) cfg->epochs = (int)x;
        else cfg->batch = (int)x;
      }
      break;
    case TR_L1:
    case TR_L2:
      if (one_clause(c, st) && need(c, st, n, 1, "a penalty") && no_more(c, st, it, n, 1) &&
          want_num(c, &s, it[0], arena_printf(c->a, "'%s'", st->name), 0, true, INFINITY, false,
                   false, &x))
        *(k == TR_L1 ? &cfg->l1 : &cfg->l2) = (float)x;
      break;
    case TR_CLIP: {
      const char *kinds[] = {"norm", "value"};
      int ck = -1;
      if (one_clause(c, st) && need(c, st, n, 2, "'norm X' or 'value X'") && no_more(c, st, it, n, 2) &&
          (ck = want_word(c, it[0], "clip kind", kinds, 2)) >= 0 &&
          want_num(c, &s, it[1], "the clip bound", 0, false, INFINITY, false, false, &x)) {
        cfg->clip = ck == 0 ? RT_CLIP_NORM : RT_CLIP_VALUE;
        cfg->clip_bound = (float)x;
      }
      break;
    }
    case TR_EARLY:
      early = st;
      early_tm = c->tmpl;
      break;
    case TR_GATE:
      if (one_clause(c, st) && need(c, st, n, 1, "a gate name") && no_more(c, st, it, n, 1)) {
        Decl *g = NULL;
        GateInfo *gi = gate_ref(c, it[0], &g);
        if (gi && gi->rt) {   /* the runtime's copy, with this use's location */
          RtGate *rg = arena_alloc(c->a, sizeof *rg);
          *rg = *gi->rt;
          rg->use_loc = loc_of(c, st->span);
          cfg->gates = rg;
          cfg->n_gates = 1;
        }
        if (g && gi) {
          GateUse *u = arena_alloc(c->a, sizeof *u);
          *u = (GateUse){g, gi, st, ti, arena_printf(c->a, "train '%s'", d->name)};
          ptrvec_push(c->a, gate_uses, u);
        }
      }
      break;
    }
  next:
    tmpl_note(b.tm[i], before);
    c->tmpl = NULL;
  }
  if (!tmpl && !seen[TR_MODEL]) diag_error(nsp(blk), "train '%s' has no 'model' line", d->name);
  if (!tmpl && !seen[TR_DATA]) diag_error(nsp(blk), "train '%s' has no 'data' line", d->name);
  int before = diag_error_count();
  if (early) {
    c->tmpl = early_tm;
    tr_early_stop(c, ti, early, cfg);
    tmpl_note(early_tm, before);
  }
  before = diag_error_count();
  if (sched) {
    c->tmpl = sched_tm;
    tr_schedule(c, ti, sched, cfg);
    tmpl_note(sched_tm, before);
  }
  c->tmpl = NULL;
  if (tmpl) return;
  if (seen[TR_CLASSW]) tr_class_weights(c, ti, seen[TR_CLASSW], cfg, desc);
  DataInfo *di = ti->data ? ti->data->info : NULL;
  if (desc && di && di->ok) tr_cross(c, ti, seen[TR_DATA], desc);
  if (diag_error_count() != errs || !desc || !di || !di->ok) return;
  ti->ok = true;
  SemaTrain *t = &ti->st;
  t->node = blk;
  t->model = desc;
  t->cfg = cfg;
  /* each train gets its own copy: the runtime writes fitted statistics into it */
  t->data = arena_alloc(c->a, sizeof(RtDataSpec));
  *t->data = *di->spec;
  if (di->spec->n_feats) {
    t->data->feats = arena_alloc(c->a, sizeof(RtFeature) * (size_t)di->spec->n_feats);
    memcpy(t->data->feats, di->spec->feats, sizeof(RtFeature) * (size_t)di->spec->n_feats);
  }
}

/* class_weights balanced | class_weights CLASS = W, ...: CLASS a label
 * spelling (backquoted when not a name), W > 0. Needs bce or cross_entropy;
 * with a label map the names must be its keys (else the runtime checks them
 * against the classes the data has). */
static void tr_class_weights(Ctx *c, TrainInfo *ti, Ast *st, RtTrainCfg *cfg,
                             const RtModelDesc *desc) {
  cfg->class_w_loc = loc_of(c, st->span);
  if (desc && desc->loss != RT_LOSS_BCE && desc->loss != RT_LOSS_CE) {
    diag_error(nsp(st), "'class_weights' needs a classification loss (bce or cross_entropy)");
    return;
  }
  const RtDataSpec *sp = ti->data && ti->data->info && ((DataInfo *)ti->data->info)->ok
                             ? ((DataInfo *)ti->data->info)->spec : NULL;
  int nc = st->nkids;
  int n;
  Ast **it = clause(st, 0, &n);
  if (!need(c, st, n, 1, "'balanced' or 'CLASS = WEIGHT, ...'")) return;
  if (nc == 1 && it[0]->kind == AST_NAME && !strcmp(it[0]->name, "balanced")) {
    if (no_more(c, st, it, n, 1)) cfg->class_w_balanced = true;
    return;
  }
  cfg->class_w_names = arena_alloc(c->a, sizeof(char *) * (size_t)(nc + 1));
  cfg->class_w_vals = arena_alloc(c->a, sizeof(float) * (size_t)(nc + 1));
  Scope s = {.kind = SC_CONST};
  for (int i = 0; i < nc; i++) {
    it = clause(st, i, &n);
    if (n > 1 && !no_more(c, st, it, n, 1)) return;
    if (n < 1 || it[0]->kind != AST_ASSIGN || it[0]->nkids != 2 ||
        it[0]->kids[0]->kind != AST_NAME) {
      diag_error(n ? it[0]->span : nsp(st),
                 "expected 'balanced' or 'CLASS = WEIGHT, ...', found '%s'",
                 n ? node_text(c, it[0]) : "nothing");
      return;
    }
    const char *name = it[0]->kids[0]->name;
    double w;
    if (!want_num(c, &s, it[0]->kids[1], "a class weight", 0, false, 1e9, true, false, &w))
      continue;
    bool dup = false, known = !sp || sp->n_label_map == 0;
    for (int j = 0; j < cfg->n_class_w; j++) dup |= !strcmp(cfg->class_w_names[j], name);
    for (int j = 0; sp && j < sp->n_label_map; j++) known |= !strcmp(sp->label_keys[j], name);
    if (dup) {
      diag_error(it[0]->kids[0]->span, "class '%s' is weighted twice", name);
      continue;
    }
    if (!known) {
      diag_error(it[0]->kids[0]->span, "class '%s' is not a key of the label map of '%s'", name,
                 sp->label ? sp->label : "?");
      continue;
    }
    cfg->class_w_names[cfg->n_class_w] = arena_strdup(c->a, name);
    cfg->class_w_vals[cfg->n_class_w++] = (float)w;
  }
}

/* ---- search -------------------------------------------------------------- */

static const char *const search_stmts[] = {"train", "vary", "strategy", "pick", "budget"};
static const char *const train_fields[] = {"epochs", "batch", "seed", "l1", "l2"};
static const char *const range_fns[] = {"uniform", "loguniform", "range"};

/* vary PATH in uniform|loguniform|range(LO, HI): both bounds are values of the
 * setting (ty, integer, lo, lo_incl as se_vary found them), LO < HI,
 * loguniform's LO > 0; range draws whole numbers, the others any number. */
static void se_range(Ctx *c, Ast *call, RtVary *out, Ty ty, bool integer, double lo,
                     bool lo_incl, const char *what) {
  int k = word_index(call->name, range_fns, NELEM(range_fns));
  if (call->nkids != 2 || call->kids[0]->kind == AST_ARG || call->kids[1]->kind == AST_ARG) {
    diag_error(call->span, "expected '%s(LO, HI)', found '%s'", call->name, node_text(c, call));
    return;
  }
  if (ty == TY_BOOL || ty == TY_STR) {
    diag_error(call->span, "a range draws numbers; '%s' takes %s", what,
               ty == TY_BOOL ? "a bool" : "a string");
    diag_note(call->span, "list the values to try: 'in [V, ...]'");
    return;
  }
  if (integer && k != 2) {
    diag_error(call->span, "'%s' takes whole numbers; use 'range(LO, HI)', found '%s'", what,
               node_text(c, call));
    return;
  }
  if (!integer && k == 2 && ty == TY_NUM) {
    diag_error(call->span, "'range' draws whole numbers and '%s' takes any number; use "
               "'uniform(LO, HI)' or 'loguniform(LO, HI)'", what);
    return;
  }
  Scope s = {.kind = SC_CONST};
  double b[2] = {NAN, NAN};
  for (int i = 0; i < 2; i++) {
    if (!want_num(c, &s, call->kids[i], what, lo, lo_incl, INFINITY, false, k == 2, &b[i]))
      return;
    if (isnan(b[i])) {
      diag_error(call->kids[i]->span, "expected a constant bound, found '%s'",
                 node_text(c, call->kids[i]));
      return;
    }
  }
  if (k == 1 && b[0] <= 0) {
    diag_error(call->kids[0]->span, "'loguniform' needs LO > 0, found '%s'",
               node_text(c, call->kids[0]));
    return;
  }
  if (!(b[0] < b[1])) {
    diag_error(call->span, "expected LO < HI, found '%s'", node_text(c, call));
    return;
  }
  if (k == 2 && b[1] - b[0] >= 1e9) {
    diag_error(call->span, "'range' may span at most 1000000000 values, found '%s'",
               node_text(c, call));
    return;
  }
  out->range = (RtRange)(RT_RANGE_UNIFORM + k);
  out->lo = b[0];
  out->hi = b[1];
  out->n = k == 2 ? (int)(b[1] - b[0]) + 1 : 1;
}

/* vary PATH in [v, ...]: PATH is optimizer.ARG, model.PARAM or a train field;
 * every value must be what that setting takes. */
static void se_vary(Ctx *c, TrainInfo *ti, Ast *st, PtrVec *paths, RtVary *out, Ast **vlist) {
  int n;
  Ast **it = clause(st, 0, &n);
  if (!one_clause(c, st) || !need(c, st, n, 2, "'PATH in [VALUES]'")) return;
  no_more(c, st, it, n, 2);
  Ast *p = it[0], *in = it[1];
  Ast *list = in->kind == AST_MOD && in->name && !strcmp(in->name, "in") && in->nkids
                  ? in->kids[0] : NULL;
  bool is_range = list && list->kind == AST_CALL && list->name &&
                  word_index(list->name, range_fns, NELEM(range_fns)) >= 0;
  if (!list || (list->kind != AST_LIST && !is_range)) {
    diag_error(in->span, "expected 'in [VALUES]' or 'in uniform|loguniform|range(LO, HI)', "
               "found '%s'", node_text(c, in));
    return;
  }
  char *key = node_text(c, p);
  for (int i = 0; i < paths->len; i++) {
    Ast *o = paths->items[i];
    if (!strcmp(node_text(c, o), key)) {
      diag_error(p->span, "'%s' is already varied", key);
      diag_note(o->span, "first varied here");
      return;
    }
  }
  ptrvec_push(c->a, paths, p);
  if (!is_range && list->nkids == 0) {
    diag_error(list->span, "expected at least one value to try, found '[]'");
    return;
  }
  Ty ty = TY_NUM;
  bool integer = false;
  double lo = 0;
  bool lo_incl = true;
  const char *what = key;
  if (p->kind == AST_NAME) {
    int k = word_index(p->name, train_fields, NELEM(train_fields));
    if (k < 0) {
      const char *heads[] = {"optimizer", "model", "epochs", "batch", "seed", "l1", "l2"};
      unknown(p->span, "setting", p->name, heads, NELEM(heads));
      return;
    }
    integer = k < 3;
    lo = k < 2 ? 1 : 0;
    out->kind = (RtVaryKind)(RT_VARY_EPOCHS + k);
  } else if (p->kind == AST_PATH && p->nkids == 2 && p->kids[0]->kind == AST_NAME &&
             p->kids[1]->kind == AST_NAME) {
    const char *h = p->kids[0]->name, *x = p->kids[1]->name;
    if (!strcmp(h, "optimizer")) {
      int k = opt_index(ti ? ti->opt : "sgd");
      if (word_index(x, opt_args[k], opt_nargs[k]) < 0) {
        diag_error(p->kids[1]->span, "unknown argument '%s' for optimizer '%s'", x, optimizers[k]);
        suggest(p->kids[1]->span, x, opt_args[k], opt_nargs[k]);
        return;
      }
      if (!strcmp(x, "nesterov")) ty = TY_BOOL;
      lo_incl = strcmp(x, "lr") && strcmp(x, "eps");
      out->kind = RT_VARY_OPT;
      out->arg = x;
    } else if (!strcmp(h, "model")) {
      if (!ti || !ti->model) return;
      Ast *blk = ti->model->node;
      Ast *par = NULL;
      const char **pn = arena_alloc(c->a, sizeof(char *) * (size_t)(blk->nparams + 1));
      for (int i = 0; i < blk->nparams; i++) {
        pn[i] = blk->params[i]->name;
        if (!strcmp(pn[i], x)) par = blk->params[i];
      }
      if (!par) {
        diag_error(p->kids[1]->span, "model '%s' has no parameter '%s'", ti->model->name, x);
        suggest(p->kids[1]->span, x, pn, blk->nparams);
        return;
      }
      Val t = param_type(c, par);
      ty = t.ty;
      integer = t.is_int;
      lo = -INFINITY;
      out->kind = RT_VARY_MODEL;
      out->arg = x;
    } else {
      const char *heads[] = {"optimizer", "model"};
      unknown(p->kids[0]->span, "setting", h, heads, 2);
      return;
    }
  } else {
    diag_error(p->span, "expected 'optimizer.ARG', 'model.PARAM' or a train setting, found '%s'",
               key);
    return;
  }
  Scope s = {.kind = SC_CONST};
  out->path = key;
  out->is_bool = ty == TY_BOOL;
  if (is_range) {
    se_range(c, list, out, ty, integer, lo, lo_incl, what);
    *vlist = list;
    return;
  }
  out->num = arena_alloc(c->a, sizeof(double) * (size_t)list->nkids);
  out->text = arena_alloc(c->a, sizeof(char *) * (size_t)list->nkids);
  *vlist = list;
  bool ok = true;
  for (int i = 0; i < list->nkids; i++) {
    double x = 0;
    Val v = {0};
    if (ty == TY_NUM)
      ok &= want_num(c, &s, list->kids[i], what, lo, lo_incl, INFINITY, false, integer, &x);
    else if (ty == TY_ERR)   /* an untyped model parameter: the model checks it */
      ok &= (v = ex_eval(c, &s, list->kids[i])).ty != TY_ERR, x = v.num;
    else if ((ok &= want(c, &s, list->kids[i], ty, &v)) && v.known)
      x = ty == TY_STR ? NAN : v.num;   /* a string is written as its text */
    else
      ok = false;
    out->num[i] = x;
    out->text[i] = isnan(x) && v.str ? v.str : node_text(c, list->kids[i]);
  }
  if (ok) out->n = list->nkids;
}

/* What `run` needs of a checked search: the base train, a copy of its data,
 * and the model built for every combination of the model.PARAM varies (the
 * first such vary slowest, as rt_search.c indexes them). */
static void search_build(Ctx *c, Decl *d, RtSearch *sd, TrainInfo *ti, Ast **vlists) {
  SemaSearch *ss = arena_alloc(c->a, sizeof *ss);
  Ast *blk = ti->model->node;
  int np = blk->nparams, nm = 1;
  double combos = 1;
  for (int i = 0; i < sd->n_vary; i++) {
    if (sd->vary[i].n < 1) return;   /* reported where the values are */
    combos *= sd->vary[i].n;
  }
  if (combos > 10000 && sd->random_n == 0) {
    diag_error(nsp(d->node), "search '%s' has %.0f combinations, more than a grid may try (10000)",
               d->name, combos);
    diag_note(nsp(d->node), "use 'strategy random(N)' to try N of them");
    return;
  }
  /* a drawn model parameter: a model per trial, from the draws run will make */
  bool per_trial = false;
  for (int i = 0; i < sd->n_vary; i++)
    per_trial |= sd->vary[i].kind == RT_VARY_MODEL &&
                 (sd->vary[i].range == RT_RANGE_UNIFORM || sd->vary[i].range == RT_RANGE_LOG);
  int *tch = NULL;
  double *tval = NULL;
  size_t nv = (size_t)(sd->n_vary > 0 ? sd->n_vary : 1);
  if (per_trial) {
    nm = rt_search_trials(sd, ti->st.cfg->seed, &tch, &tval);
    if (nm > 1000) {
      diag_error(nsp(d->node), "search '%s' tries more than 1000 models", d->name);
      diag_note(nsp(d->node), "a uniform or loguniform model parameter builds a model per "
                "trial: at most 1000 trials");
      free(tch);
      free(tval);
      return;
    }
    sd->model_per_trial = true;
  }
  for (int i = 0; i < sd->n_vary && !per_trial; i++)
    if (sd->vary[i].kind == RT_VARY_MODEL && (nm *= sd->vary[i].n) > 1000) {
      diag_error(nsp(d->node), "search '%s' tries more than 1000 models", d->name);
      diag_note(vlists[i]->span, "the model parameters varied multiply up to here");
      return;
    }
  sd->train = ti->st.cfg->name;
  ss->node = d->node;
  ss->desc = sd;
  ss->train = &ti->st;
  ss->data = arena_alloc(c->a, sizeof(RtDataSpec));
  *ss->data = *ti->st.data;
  if (ti->st.data->n_feats) {
    size_t n = sizeof(RtFeature) * (size_t)ti->st.data->n_feats;
    ss->data->feats = arena_alloc(c->a, n);
    memcpy(ss->data->feats, ti->st.data->feats, n);
  }
  ss->models = arena_alloc(c->a, sizeof(RtModelDesc *) * (size_t)nm);
  Val *binds = arena_alloc(c->a, sizeof(Val) * (size_t)(np + 1));
  Scope s = {.kind = SC_CONST};
  for (int g = 0; g < nm; g++) {
    if (ti->binds) memcpy(binds, ti->binds, sizeof(Val) * (size_t)np);
    for (int i = sd->n_vary - 1, r = g; i >= 0; i--) {
      RtVary *v = &sd->vary[i];
      if (v->kind != RT_VARY_MODEL) continue;
      int ch = per_trial ? tch[(size_t)g * nv + (size_t)i] : r % v->n;
      double xv = per_trial ? tval[(size_t)g * nv + (size_t)i] : v->lo + (double)ch;
      Ast *e = v->range ? vlists[i] : vlists[i]->kids[ch];
      Val x = v->range ? (Val){.ty = TY_NUM, .known = true,
                               .is_int = v->range == RT_RANGE_INT, .num = xv}
                       : ex_eval(c, &s, e);
      if (!per_trial) r /= v->n;
      for (int p = 0; p < np; p++)
        if (!strcmp(blk->params[p]->name, v->arg)) {
          binds[p] = x;
          binds[p].src = e;
          binds[p].from_arg = true;
        }
    }
    RtModelDesc *desc = arena_alloc(c->a, sizeof *desc);
    ModelInfo tmp = {.ok = true};
    LastDense ld;
    int errs = diag_error_count();
    c->instantiating = true;
    model_walk(c, ti->model, binds, desc, &tmp, &ld);
    c->instantiating = false;
    if (diag_error_count() != errs || !tmp.ok) break;   /* reported at the value */
    ss->models[ss->nmodels++] = desc;
  }
  free(tch);
  free(tval);
  if (ss->nmodels == nm) d->info = ss;
}

/* budget N trials | budget DURATION: each kind once (budget[0], budget[1]). */
static void se_budget(Ctx *c, Ast *st, Ast **budget, RtSearch *sd) {
  static const char *const units[] = {"trial", "trials"};
  Scope s = {.kind = SC_CONST};
  int n;
  Ast **it = clause(st, 0, &n);
  if (!one_clause(c, st) || !need(c, st, n, 1, "'N trials' or a duration like '10m'")) return;
  Val v = it[0]->kind == AST_DUR ? ex_eval(c, &s, it[0]) : (Val){0};
  int kind = v.ty == TY_DUR;
  if (budget[kind]) {
    diag_error(nsp(st), "duplicate 'budget %s'", kind ? "DURATION" : "N trials");
    diag_note(nsp(budget[kind]), "the first is here");
    return;
  }
  budget[kind] = st;
  if (kind) {
    if (!no_more(c, st, it, n, 1)) return;
    if (v.num <= 0)
      diag_error(it[0]->span, "expected a duration > 0, found '%s'", node_text(c, it[0]));
    else
      sd->budget_s = v.num;
    return;
  }
  int i = 1;
  double x;
  if (!want_count(c, st, it[0], it, n, &i, units, NELEM(units), &x) || !no_more(c, st, it, n, i))
    return;
  if (x > 10000) diag_error(it[0]->span, "at most 10000 trials, found '%s'", node_text(c, it[0]));
  else sd->budget_trials = (int)x;
}

/* search NAME { train T  vary ...  strategy grid|random(N)  pick max|min val.M } */
static void check_search(Ctx *c, Decl *d) {
  Ast *blk = d->node;
  Ast *seen[NELEM(search_stmts)] = {0};
  TrainInfo *ti = NULL;
  PtrVec paths = {0};
  Scope s = {.kind = SC_CONST};
  int errs = diag_error_count();
  RtSearch *sd = arena_alloc(c->a, sizeof *sd);
  sd->name = arena_strdup(c->a, d->name);
  sd->loc = loc_of(c, nsp(blk));
  sd->vary = arena_alloc(c->a, sizeof(RtVary) * (size_t)(blk->nkids + 1));
  Ast **vlists = arena_alloc(c->a, sizeof(Ast *) * (size_t)(blk->nkids + 1));
  bool random = false;           /* a `strategy random(...)` line, even a wrong one */
  Ast *budget[2] = {NULL, NULL};   /* `budget N trials`, `budget DURATION` */
  for (int pass = 0; pass < 2; pass++)
    for (int i = 0; i < blk->nkids; i++) {
      Ast *st = blk->kids[i];
      if (has_error(st)) continue;
      bool is_train = st->kind == AST_STMT && st->name && !strcmp(st->name, "train");
      if (is_train != (pass == 0)) continue;   /* the train first: the rest refer to it */
      if (st->kind != AST_STMT) {
        diag_error(st->span, "expected a search statement, found '%s'", node_text(c, st));
        continue;
      }
      int k = stmt_word(c, st, "search", search_stmts, NELEM(search_stmts));
      if (k < 0 || (k != 1 && k != 4 && !once(seen, k, st))) continue;
      if (k == 1 || k == 4) seen[k] = st;
      int n;
      Ast **it = clause(st, 0, &n);
      if (k == 0) {
        if (one_clause(c, st) && need(c, st, n, 1, "a train name") && no_more(c, st, it, n, 1)) {
          Decl *t = it[0]->kind == AST_NAME ? lookup_kind(c, it[0], AST_TRAIN) : NULL;
          if (it[0]->kind != AST_NAME)
            diag_error(it[0]->span, "expected a train name, found '%s'", node_text(c, it[0]));
          if (t) ti = t->info;
          if (c->mode == SEMA_RUN && ti && ti->data && ti->data->info &&
              ((DataInfo *)ti->data->info)->spec->cv_folds)
            diag_error(it[0]->span, "a search over train '%s', whose dataset uses 'cv', is not "
                       "supported yet", it[0]->name);
        }
      } else if (k == 1) {
        se_vary(c, ti, st, &paths, &sd->vary[sd->n_vary], &vlists[sd->n_vary]);
        sd->n_vary++;
      } else if (k == 2) {
        const char *strats[] = {"grid", "random"};
        if (!one_clause(c, st) || !need(c, st, n, 1, "'grid' or 'random(N)'") || !no_more(c, st, it, n, 1))
          continue;
        Ast *x = it[0];
        if (x->kind == AST_CALL && !strcmp(x->name, "random")) {
          random = true;
          double v;
          if (x->nkids != 1 || x->kids[0]->kind == AST_ARG)
            diag_error(x->span, "expected 'random(N)', found '%s'", node_text(c, x));
          else if (want_num(c, &s, x->kids[0], "the number of trials", 1, true, INFINITY, false,
                            true, &v)) {
            if (v > 10000)
              diag_error(x->kids[0]->span, "at most 10000 trials, found '%s'",
                         node_text(c, x->kids[0]));
            sd->random_n = (int)fmin(v, 10000);
          }
        } else if (is_word(x, "random")) {
          diag_error(x->span, "expected 'random(N)' with a number of trials, found 'random'");
        } else {
          want_word(c, x, "strategy", strats, 2);
        }
      } else if (k == 4) {
        se_budget(c, st, budget, sd);
      } else {
        const char *dirs[] = {"max", "min"};
        /* `min` is a modifier word: `pick min val.loss` arrives as MOD(min, PATH) */
        bool mod_min = n == 1 && is_mod(it[0], "min");
        if (!one_clause(c, st) || (!mod_min && !need(c, st, n, 2, "'max|min val.METRIC'")) ||
            !no_more(c, st, it, n, mod_min ? 1 : 2))
          continue;
        Ast *dir = it[0], *p = mod_min ? it[0]->kids[0] : it[1];
        int dk = mod_min ? 1 : want_word(c, dir, "direction", dirs, 2);
        sd->pick_max = dk == 0;
        if (p->kind != AST_PATH || p->nkids != 2 || p->kids[0]->kind != AST_NAME ||
            p->kids[1]->kind != AST_NAME) {
          diag_error(p->span, "expected a metric like 'val.auc', found '%s'", node_text(c, p));
          continue;
        }
        const char *sp = p->kids[0]->name, *m = p->kids[1]->name;
        sd->pick_metric = m;
        sd->pick_split = !strcmp(sp, "train") ? 0 : 1;
        if (!strcmp(sp, "test")) {
          diag_error(p->span, "'pick' may not read test metrics, found '%s'", node_text(c, p));
          diag_note(p->span, "choosing on the test split leaks it; use 'val.%s'", m);
        } else if (word_index(sp, splits, NELEM(splits)) < 0) {
          unknown(p->kids[0]->span, "split", sp, splits, NELEM(splits));
        } else if (word_index(m, metrics_all, NELEM(metrics_all)) < 0) {
          unknown(p->kids[1]->span, "metric", m, metrics_all, NELEM(metrics_all));
        } else if (ti && ti->task_known && !metric_of_task(m, ti->task)) {
          diag_error(p->kids[1]->span, "metric '%s' is not defined for a %s model", m,
                     task_names[ti->task]);
        } else if (dk >= 0 && (dk == 0) == metric_minimized(m)) {
          diag_warning(dir->span, "'%s' is better when %s; 'pick %s' chooses the worst run", m,
                       dk == 0 ? "lower" : "higher", dirs[dk]);
        }
      }
    }
  if (!seen[0]) diag_error(nsp(blk), "search '%s' has no 'train' line", d->name);
  if (!seen[1]) diag_error(nsp(blk), "search '%s' has no 'vary' line", d->name);
  if (!seen[3]) diag_error(nsp(blk), "search '%s' has no 'pick' line", d->name);
  for (int i = 0; i < sd->n_vary; i++)
    if (sd->vary[i].range && !random) {
      diag_error(vlists[i]->span, "a range needs 'strategy random(N)'");
      diag_note(vlists[i]->span, "a grid tries listed values: 'in [V, ...]'");
    }
  if (diag_error_count() == errs && ti && ti->ok) search_build(c, d, sd, ti, vlists);
}

/* A checked count as an integer, clamped to [0, max] (a float beyond the
 * integer range would be undefined to convert). */
static int64_t count_of(double v, int64_t max) {
  if (!(v > 0)) return 0;
  return v >= (double)max ? max : (int64_t)v;
}

/* ---- release ------------------------------------------------------------- */

static const char *const release_stmts[] = {"candidate", "baseline", "gate", "bucket", "check",
                                            "step", "promote", "rollback", "timeout",
                                            "inconclusive", "missing", "rollout"};
enum { RL_CAND, RL_BASE, RL_GATE, RL_BUCKET, RL_CHECK, RL_STEP, RL_PROMOTE, RL_ROLLBACK,
       RL_TIMEOUT, RL_INCONCLUSIVE, RL_MISSING, RL_ROLLOUT };
/* The statements a `rollout` template may hold. */
static const char *const rollout_stmts[] = {"check", "step", "promote", "rollback", "timeout",
                                            "inconclusive", "missing"};


/* A `when EXPR` rule: a bool over live metrics, baseline.live.*, drift(COL). */
static void rl_rule(Ctx *c, Scope *s, Ast *when) {
  Val v = ex_eval(c, s, when->kids[0]);
  if (v.ty != TY_ERR && v.ty != TY_BOOL)
    diag_error(when->kids[0]->span, "expected a condition, found %s", found(c, v, when->kids[0]));
}

/* step P% [for N requests | for DUR | manual]: weights rise to 100%. */
static void rl_step(Ctx *c, Ast *st, Ast **prev, double *prev_pct) {
  int n;
  Ast **it = clause(st, 0, &n);
  Scope s = {.kind = SC_CONST};
  if (!one_clause(c, st) || !need(c, st, n, 1, "a traffic share like '5%'")) return;
  Val p;
  if (!want(c, &s, it[0], TY_PCT, &p)) return;
  if (p.num <= 0 || p.num > 100) {
    diag_error(it[0]->span, "expected a share in (0%%, 100%%], found '%s'", node_text(c, it[0]));
    return;
  }
  if (*prev && p.num <= *prev_pct) {
    diag_error(it[0]->span, "expected a step above %g%%, found '%s'", *prev_pct, node_text(c, it[0]));
    diag_note((*prev)->span, "the previous step is here");
  }
  int i = 1;
  if (i < n) {
    Ast *x = it[i++];
    if (is_word(x, "manual")) {
    } else if (is_mod(x, "for")) {
      Ast *v = x->kids[0];
      Val dv = v->kind == AST_DUR || v->kind == AST_NAME ? ex_eval(c, &s, v) : (Val){0};
      if (v->kind == AST_NAME && dv.ty == TY_ERR) return;   /* reported */
      if (dv.ty == TY_DUR) {
        if (dv.num <= 0) diag_error(v->span, "expected a duration > 0, found '%s'", node_text(c, v));
      } else {
        static const char *const units[] = {"request", "requests"};
        double cnt;
        want_count(c, st, v, it, n, &i, units, 2, &cnt);
      }
    } else {
      diag_error(x->span, "expected 'for N requests', 'for DURATION' or 'manual', found '%s'",
                 node_text(c, x));
      return;
    }
  }
  no_more(c, st, it, n, i);
  *prev = st;
  *prev_pct = p.num;
}

/* A checked rule condition into its RtRuleCond: and / or / not stay
 * nodes, comparisons keep their sides as gate expressions, what folds is a
 * constant. */
static RtRuleCond *rule_cond(Ctx *c, Scope *s, Ast *e) {
  RtRuleCond *r = arena_alloc(c->a, sizeof *r);
  bool rb = false;
  if (e->kind == AST_BINARY && (e->op == OP_AND || e->op == OP_OR)) {
    r->op = e->op == OP_AND ? RT_RC_AND : RT_RC_OR;
    r->a = rule_cond(c, s, e->kids[0]);
    r->b = rule_cond(c, s, e->kids[1]);
  } else if (e->kind == AST_UNARY && e->op == OP_NOT) {
    r->op = RT_RC_NOT;
    r->a = rule_cond(c, s, e->kids[0]);
  } else if (e->kind == AST_BINARY && is_cmp(e->op)) {
    r->op = RT_RC_CMP;
    r->cmp = (RtGateCmp)(e->op - OP_LT);
    r->duration = ex_eval(c, s, e->kids[0]).ty == TY_DUR;
    r->lhs = gate_expr(c, s, e->kids[0], &rb);
    r->rhs = gate_expr(c, s, e->kids[1], &rb);
  } else {
    Val v = ex_eval(c, s, e);
    r->op = RT_RC_CONST;
    r->value = v.known && v.num != 0;
  }
  return r;
}

/* A `when` rule's line into its RtReleaseRule. */
static void rule_build(Ctx *c, Scope *s, Ast *st, Ast *when, RtReleaseRule *r) {
  Ast *e = when->kids[0];
  r->cond = rule_cond(c, s, e);
  r->for_checks = 1;
  r->text = rule_text(c, e);
  r->loc = loc_of(c, st->span);
}

/* A release block checked without errors into the runtime's RtRelease;
 * b: its statements (body_of). */
static RtRelease *release_build(Ctx *c, Decl *d, Scope *rs, Body b) {
  Ast *blk = b.blk;
  Scope s = {.kind = SC_CONST};
  RtRelease *r = arena_alloc(c->a, sizeof *r);
  r->name = arena_strdup(c->a, d->name);
  r->loc = loc_of(c, nsp(blk));
  r->spec_path = arena_strdup(c->a, src_path(blk->span.file));
  r->salt = "";
  r->steps = arena_alloc(c->a, sizeof(RtReleaseStep) * (size_t)(blk->nkids + 1));
  r->rollback = arena_alloc(c->a, sizeof(RtReleaseRule) * (size_t)(blk->nkids + 1));
  for (int i = 0; i < blk->nkids; i++) {
    Ast *st = blk->kids[i];
    int k = word_index(st->name, release_stmts, NELEM(release_stmts));
    int n;
    Ast **it = clause(st, 0, &n);
    const char *str;
    c->tmpl = b.tm[i];
    switch (k) {
    case RL_CAND:
      r->candidate_loc = loc_of(c, st->span);
      if (it[0]->kind == AST_NAME) r->candidate_train = arena_strdup(c->a, it[0]->name);
      else if ((str = ex_eval(c, &s, it[0]).str)) r->candidate_path = resolve_path(c, it[0]->span.file, str);
      break;
    case RL_BASE:
      if ((str = ex_eval(c, &s, it[0]).str)) r->baseline = resolve_path(c, it[0]->span.file, str);
      break;
    case RL_GATE: {   /* checked without errors: this gives no diagnostic */
      Decl *g;
      GateInfo *gi = gate_ref(c, it[0], &g);
      if (gi && gi->rt) {
        RtGate *rg = arena_alloc(c->a, sizeof *rg);
        *rg = *gi->rt;
        rg->use_loc = loc_of(c, st->span);
        r->gate = rg;
      }
      break;
    }
    case RL_BUCKET:
      for (int j = 0; j < n; j++)
        if (is_mod(it[j], "by")) r->bucket_field = arena_strdup(c->a, it[j]->kids[0]->kids[1]->name);
        else if (is_mod(it[j], "salt") && (str = ex_eval(c, &s, it[j]->kids[0]).str))
          r->salt = arena_strdup(c->a, str);
      break;
    case RL_CHECK:
      for (int j = 0; j < n; j++)
        if (is_mod(it[j], "every")) r->check_us = ex_eval(c, &s, it[j]->kids[0]).num * 1e6;
        else if (is_mod(it[j], "min")) r->min_requests = count_of(ex_eval(c, &s, it[j]->kids[0]).num, INT64_MAX / 2);
      break;
    case RL_STEP: {
      RtReleaseStep *p = &r->steps[r->n_steps++];
      p->percent = ex_eval(c, &s, it[0]).num;
      p->loc = loc_of(c, st->span);
      if (n > 1 && is_word(it[1], "manual")) {
        p->kind = RT_STEP_MANUAL;
      } else if (n > 1 && is_mod(it[1], "for")) {
        Val v = ex_eval(c, &s, it[1]->kids[0]);
        p->kind = v.ty == TY_DUR ? RT_STEP_DURATION : RT_STEP_REQUESTS;
        p->amount = v.ty == TY_DUR ? v.num * 1e6 : v.num;
      }
      break;
    }
    case RL_PROMOTE: rule_build(c, rs, st, it[0], &r->promote); break;
    case RL_ROLLBACK: {
      RtReleaseRule *rr = &r->rollback[r->n_rollback++];
      rule_build(c, rs, st, it[0], rr);
      if (n > 1 && is_mod(it[1], "for")) rr->for_checks = (int)count_of(ex_eval(c, &s, it[1]->kids[0]).num, INT_MAX);
      break;
    }
    case RL_TIMEOUT: r->timeout_us = ex_eval(c, &s, it[0]).num * 1e6; break;
    case RL_INCONCLUSIVE:
      r->inconclusive = is_word(it[0], "rollback") ? RT_INC_ROLLBACK
                      : is_word(it[0], "advance") ? RT_INC_ADVANCE : RT_INC_HOLD;
      if (r->inconclusive != RT_INC_HOLD)
        r->inconclusive_checks = (int)count_of(ex_eval(c, &s, it[1]->kids[0]).num, INT_MAX);
      break;
    case RL_MISSING: r->missing_rollback = is_word(it[0], "rollback"); break;
    default: break;
    }
  }
  c->tmpl = NULL;
  return r;
}

/* release NAME { candidate ... step ... promote when ... }: a rollout that
 * can reach 100%. Also a `rollout` template's declaration (d an
 * AST_ROLLOUT): its statements alone, with its defaults. */
static void check_release(Ctx *c, Decl *d) {
  Ast *blk = d->node;
  bool tmpl = blk->kind == AST_ROLLOUT;
  int errs = diag_error_count();
  Body b = tmpl ? body_tmpl(c, blk, &((TmplInfo *)d->info)->defs)
                : body_of(c, blk, "rollout", AST_ROLLOUT);
  Ast *seen[NELEM(release_stmts)] = {0};
  TrainInfo *cand = NULL;
  bool has_baseline = false;
  for (int i = 0; i < blk->nkids; i++) {
    Ast *st = blk->kids[i];
    if (st->kind == AST_STMT && st->name && !strcmp(st->name, "baseline")) has_baseline = true;
    if (st->kind == AST_STMT && st->name && !strcmp(st->name, "candidate") && st->nkids &&
        st->kids[0]->nkids && st->kids[0]->kids[0]->kind == AST_NAME) {
      Decl *t = decl_find(c, st->kids[0]->kids[0]->name);
      if (t && t->node->kind == AST_TRAIN) cand = t->info;
    }
  }
  Scope rs = {.kind = SC_RELEASE, .has_baseline = has_baseline || tmpl,
              .data = cand && cand->data ? cand->data->info : NULL,
              .cand_task = cand && cand->task_known ? (int)cand->task + 1 : 0};
  Scope s = {.kind = SC_CONST};
  Ast *prev_step = NULL;
  double prev_pct = 0;
  int n_rollback = 0;
  blk = b.blk;
  for (int i = 0; i < blk->nkids; i++) {
    Ast *st = blk->kids[i];
    c->tmpl = b.tm[i];
    int before = diag_error_count();
    if (has_error(st)) goto next;
    if (st->kind != AST_STMT) {
      diag_error(st->span, "expected a %s statement, found '%s'", tmpl ? "rollout" : "release",
                 node_text(c, st));
      goto next;
    }
    int k = tmpl ? stmt_word(c, st, "rollout", rollout_stmts, NELEM(rollout_stmts)) : 0;
    if (k >= 0) k = stmt_word(c, st, "release", release_stmts, NELEM(release_stmts));
    if (k < 0) goto next;
    if (k != RL_STEP && k != RL_ROLLBACK && !once(seen, k, st)) goto next;
    seen[k] = st;
    int n;
    Ast **it = clause(st, 0, &n);
    if (!one_clause(c, st)) goto next;
    Val v;
    double x;
    switch (k) {
    case RL_ROLLOUT:   /* a use body_of did not splice in: not a rollout, or in one */
      if (need(c, st, n, 1, "a rollout name") && no_more(c, st, it, n, 1)) {
        Ast nm = {.kind = AST_NAME, .name = it[0]->name, .span = nsp(it[0])};
        if (it[0]->kind != AST_NAME && it[0]->kind != AST_CALL)
          diag_error(it[0]->span, "expected a rollout name, found '%s'", node_text(c, it[0]));
        else if (lookup_kind(c, &nm, AST_ROLLOUT))
          diag_error(nsp(st), "a rollout cannot use another rollout ('%s')", it[0]->name);
      }
      break;
    case RL_CAND:
      if (!need(c, st, n, 1, "a train name or a \"model.mlxm\" path") || !no_more(c, st, it, n, 1)) break;
      if (it[0]->kind == AST_NAME) {
        lookup_kind(c, it[0], AST_TRAIN);
      } else if (want(c, &s, it[0], TY_STR, &v)) {
        size_t l = strlen(v.str);
        if (l < 6 || strcmp(v.str + l - 5, ".mlxm"))
          diag_error(it[0]->span, "expected a path ending in '.mlxm', found '%s'", node_text(c, it[0]));
      }
      break;
    case RL_BASE:
      if (need(c, st, n, 1, "a model path like \"models/v1.mlxm\"") && no_more(c, st, it, n, 1))
        want(c, &s, it[0], TY_STR, &v);
      break;
    case RL_GATE:
      if (need(c, st, n, 1, "a gate name") && no_more(c, st, it, n, 1)) {
        Decl *g;
        GateInfo *gi = gate_ref(c, it[0], &g);
        if (gi && cand && cand->task_known)
          gate_use(c, g, gi, st, arena_printf(c->a, "release '%s'", d->name), cand->task, true);
      }
      break;
    case RL_BUCKET: {
      bool by = false;
      for (int j = 0; j < n; j++) {
        Ast *m = it[j];
        if (is_mod(m, "by")) {
          Ast *p = m->kids[0];
          by = true;
          if (p->kind != AST_PATH || p->nkids != 2 || !is_word(p->kids[0], "request"))
            diag_error(p->span, "expected 'request.FIELD', found '%s'", node_text(c, p));
        } else if (is_mod(m, "salt")) {
          want(c, &s, m->kids[0], TY_STR, &v);
        } else {
          diag_error(m->span, "expected 'by request.FIELD' or 'salt \"...\"', found '%s'",
                     node_text(c, m));
        }
      }
      if (!by) diag_error(end_span(st), "expected 'by request.FIELD' in 'bucket'");
      break;
    }
    case RL_CHECK: {
      bool every = false;
      for (int j = 0; j < n;) {
        Ast *m = it[j++];
        if (is_mod(m, "every")) {
          every = true;
          if (want(c, &s, m->kids[0], TY_DUR, &v) && v.num <= 0)
            diag_error(m->kids[0]->span, "expected a duration > 0, found '%s'", node_text(c, m->kids[0]));
        } else if (is_mod(m, "min")) {
          static const char *const units[] = {"request", "requests"};
          want_count(c, st, m->kids[0], it, n, &j, units, 2, &x);
        } else {
          diag_error(m->span, "expected 'every DURATION' or 'min N requests', found '%s'",
                     node_text(c, m));
          break;
        }
      }
      if (!every) diag_error(end_span(st), "expected 'every DURATION' in 'check'");
      break;
    }
    case RL_STEP: rl_step(c, st, &prev_step, &prev_pct); break;
    case RL_PROMOTE:
    case RL_ROLLBACK:
      if (!need(c, st, n, 1, "'when CONDITION'")) break;
      if (!is_mod(it[0], "when")) {
        diag_error(it[0]->span, "expected 'when CONDITION', found '%s'", node_text(c, it[0]));
        break;
      }
      rl_rule(c, &rs, it[0]);
      if (k == RL_ROLLBACK && ++n_rollback == RT_MAX_ROLLBACK + 1)
        diag_error(st->span, "a release has at most %d 'rollback' lines", RT_MAX_ROLLBACK);
      if (k == RL_ROLLBACK && n > 1 && is_mod(it[1], "for")) {
        static const char *const units[] = {"check", "checks"};
        int j = 2;
        if (want_count(c, st, it[1]->kids[0], it, n, &j, units, 2, &x)) no_more(c, st, it, n, j);
      } else {
        no_more(c, st, it, n, 1);
      }
      break;
    case RL_TIMEOUT:
      if (need(c, st, n, 1, "a duration like '1h'") && no_more(c, st, it, n, 1) &&
          want(c, &s, it[0], TY_DUR, &v) && v.num <= 0)
        diag_error(it[0]->span, "expected a duration > 0, found '%s'", node_text(c, it[0]));
      break;
    case RL_INCONCLUSIVE: {   /* hold | rollback for N checks | advance for N checks */
      if (!need(c, st, n, 1, "'hold', 'rollback for N checks' or 'advance for N checks'")) break;
      if (!is_word(it[0], "hold") && !is_word(it[0], "rollback") && !is_word(it[0], "advance")) {
        diag_error(it[0]->span, "expected 'hold', 'rollback' or 'advance', found '%s'",
                   node_text(c, it[0]));
        break;
      }
      if (is_word(it[0], "hold")) {
        no_more(c, st, it, n, 1);
        break;
      }
      if (n < 2 || !is_mod(it[1], "for")) {
        diag_error(n < 2 ? end_span(st) : it[1]->span, "expected 'for N checks' after '%s'",
                   it[0]->name);
        break;
      }
      static const char *const units[] = {"check", "checks"};
      int j = 2;
      if (want_count(c, st, it[1]->kids[0], it, n, &j, units, 2, &x)) no_more(c, st, it, n, j);
      break;
    }
    case RL_MISSING:
      if (need(c, st, n, 1, "'hold' or 'rollback'") && no_more(c, st, it, n, 1) &&
          !is_word(it[0], "hold") && !is_word(it[0], "rollback"))
        diag_error(it[0]->span, "expected 'hold' or 'rollback', found '%s'", node_text(c, it[0]));
      break;
    }
  next:
    tmpl_note(b.tm[i], before);
    c->tmpl = NULL;
  }
  if (tmpl) {   /* a template: its steps, if any, must reach 100% */
    if (prev_step && prev_pct != 100) {
      diag_error(prev_step->span, "the last step must be 100%%, found %g%%", prev_pct);
      diag_note(nsp(blk), "rollout '%s' never reaches full traffic", d->name);
    }
    return;
  }
  if (!seen[RL_CAND]) diag_error(nsp(blk), "release '%s' has no 'candidate' line", d->name);
  if (b.broken) return;   /* its steps and rules may be in the template */
  if (!prev_step && !seen[RL_STEP]) diag_error(nsp(blk), "release '%s' has no 'step' line", d->name);
  else if (prev_step && prev_pct != 100) {
    diag_error(prev_step->span, "the last step must be 100%%, found %g%%", prev_pct);
    diag_note(nsp(blk), "release '%s' never reaches full traffic", d->name);
  }
  if (!seen[RL_PROMOTE]) diag_error(nsp(blk), "release '%s' has no 'promote when' line", d->name);
  if (diag_error_count() == errs) {
    d->info = release_build(c, d, &rs, b);
    release_check(d->info, blk, c->mode == SEMA_CHECK);   /* warnings; check's notes */
  }
}

/* ---- entry --------------------------------------------------------------- */

/* FNV-1a 64 of the spec, as 16 hex digits: the root source, then each file
 * it imports (std modules too) in the order they were taken in, each file's
 * text followed by a NUL; a spec without imports hashes its text alone (as
 * before imports counted). A changed import is a changed spec: a release
 * journal started with the old one refuses the new (a std rollout plan that
 * another mlxc version ships differently included). */
static void spec_hash(Ctx *c, char out[17]) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (int f = 0; f < c->files.len; f++) {   /* the root, then each import as taken in */
    FileRec *r = c->files.items[f];
    size_t len;
    const char *t = src_text(r->file, &len);
    for (size_t i = 0; i <= len; i++) {   /* the text and a NUL */
      if (i == len && f == 0 && c->files.len == 1) break;   /* no imports: the text alone */
      h ^= i < len ? (unsigned char)t[i] : 0;
      h *= 0x100000001b3ull;
    }
  }
  snprintf(out, 17, "%016llx", (unsigned long long)h);
}

/* A folded value as a spec would spell it: 0.5, 1.5s, 250ms, 5%, 3 epochs,
 * true, "text". */
static const char *val_text(Arena *a, Val v) {
  switch (v.ty) {
  case TY_BOOL: return v.num != 0 ? "true" : "false";
  case TY_STR: return arena_printf(a, "\"%s\"", v.str ? v.str : "");
  case TY_PCT: return arena_printf(a, "%.17g%%", v.num);
  case TY_COUNT: return arena_printf(a, "%.17g %s", v.num, v.str ? v.str : "");
  case TY_DUR: {
    double x = v.num;
    const char *u = "s";
    if (x != 0 && fabs(x) < 1e-3) x *= 1e6, u = "us";
    else if (x != 0 && fabs(x) < 1) x *= 1e3, u = "ms";
    char t[40];
    snprintf(t, sizeof t, "%.15g", x);   /* 1e-3 * 1e3 reads 1, not 0.99999... */
    return arena_printf(a, "%s%s", t, u);
  }
  default: {
    char t[40];
    if (v.num == floor(v.num) && fabs(v.num) < 1e15)   /* whole numbers in full: 3000000000 */
      return arena_printf(a, "%.0f", v.num);
    snprintf(t, sizeof t, "%.17g", v.num);
    for (int prec = 1; prec <= 17; prec++) {   /* the shortest text that reads back */
      char u[40];
      snprintf(u, sizeof u, "%.*g", prec, v.num);
      if (strtod(u, NULL) == v.num) {
        snprintf(t, sizeof t, "%s", u);
        break;
      }
    }
    return arena_strdup(a, t);
  }
  }
}

/* Checks in dependency order: consts, fns, datasets, models, gates, trains
 * (which settle each gate's task), searches, releases. */
Program *sema_check(Arena *a, Ast *file, SemaMode mode, bool *data_error) {
  bool no_data_error = false;
  if (!data_error) data_error = &no_data_error;
  Ctx c = {.a = a, .mode = mode, .data_error = data_error};
  int errs = diag_error_count();
  if (!file) return NULL;
  c.root_file = file->span.file;
  FileRec *root = arena_alloc(a, sizeof *root);
  char real[PATH_MAX];
  const char *path = src_path(file->span.file);
  root->key = realpath(path, real) ? arena_strdup(a, real) : path;
  root->file = file->span.file;
  root->active = true;
  ptrvec_push(a, &c.files, root);
  ptrvec_push(a, &c.stack, root);
  load_file(&c, file, true);
  c.stack.len = 0;

  static const AstKind order[] = {AST_CONST, AST_FN, AST_EXTERN, AST_DATASET, AST_MODEL,
                                  AST_GATE, AST_SCHEDULE, AST_TRAIN, AST_SEARCH, AST_ROLLOUT,
                                  AST_RELEASE};
  PtrVec gate_uses = {0};
  for (int o = 0; o < NELEM(order); o++) {
    for (int i = 0; i < c.decls.len; i++) {
      Decl *d = c.decls.items[i];
      if (d->node->kind != order[o]) continue;
      switch (order[o]) {
      case AST_CONST: const_fold(&c, d); break;
      case AST_FN: check_fn(&c, d); break;
      case AST_EXTERN: check_extern(&c, d); break;
      case AST_DATASET: check_dataset(&c, d); break;
      case AST_MODEL: check_model(&c, d); break;
      case AST_GATE: check_gate(&c, d); break;
      case AST_TRAIN: check_train(&c, d, &gate_uses); break;
      case AST_SEARCH: check_search(&c, d); break;
      /* checked alike by `run`, which trains no release (`mlxc release` runs it) */
      case AST_RELEASE: check_release(&c, d); break;
      case AST_SCHEDULE:
      case AST_ROLLOUT: check_template(&c, d); break;
      default: break;
      }
    }
    if (order[o] == AST_TRAIN)
      for (int i = 0; i < gate_uses.len; i++) {
        GateUse *u = gate_uses.items[i];
        if (u->ti->task_known) gate_use(&c, u->gate, u->gi, u->st, u->user, u->ti->task, false);
      }
  }

  Program *p = arena_alloc(a, sizeof *p);
  p->file = ast_new(a, AST_FILE, file->span);
  int nt = 0;
  for (int i = 0; i < c.decls.len; i++) {
    Decl *d = c.decls.items[i];
    ast_add(a, p->file, d->node);
    nt += d->root && d->node->kind == AST_TRAIN;
  }
  p->trains = arena_alloc(a, sizeof(SemaTrain) * (size_t)(nt + 1));
  for (int i = 0; i < c.decls.len; i++) {
    Decl *d = c.decls.items[i];
    TrainInfo *ti = d->info;
    if (d->root && d->node->kind == AST_TRAIN && ti && ti->ok) p->trains[p->ntrains++] = ti->st;
  }
  p->datasets = arena_alloc(a, sizeof(RtDataSpec *) * (size_t)(c.decls.len + 1));
  for (int i = 0; i < c.decls.len; i++) {
    Decl *d = c.decls.items[i];
    DataInfo *di = d->info;
    if (d->root && d->node->kind == AST_DATASET && di && di->ok)
      p->datasets[p->ndatasets++] = di->spec;
  }
  p->searches = arena_alloc(a, sizeof(SemaSearch) * (size_t)(c.decls.len + 1));
  for (int i = 0; i < c.decls.len; i++) {
    Decl *d = c.decls.items[i];
    if (d->root && d->node->kind == AST_SEARCH && d->info)
      p->searches[p->nsearches++] = *(SemaSearch *)d->info;
  }
  p->releases = arena_alloc(a, sizeof(RtRelease *) * (size_t)(c.decls.len + 1));
  for (int i = 0; i < c.decls.len; i++) {
    Decl *d = c.decls.items[i];
    if (d->root && d->node->kind == AST_RELEASE && d->info) p->releases[p->nreleases++] = d->info;
  }
  p->consts = arena_alloc(a, sizeof(SemaConst) * (size_t)(c.decls.len + 1));
  for (int i = 0; i < c.decls.len; i++) {
    Decl *d = c.decls.items[i];
    if (d->node->kind != AST_CONST || d->val.ty == TY_ERR || !d->val.known) continue;
    SemaConst *k = &p->consts[p->nconsts++];
    k->name = d->name;
    k->text = val_text(a, d->val);
    k->type = ty_article[d->val.ty] + 2;   /* "a number" -> "number" */
    k->num = d->val.num;
  }
  spec_hash(&c, p->spec_hash);
  if (diag_error_count() != errs || *data_error) return NULL;
  return p;
}

/* The word tables above by name, for `mlxc --keywords` (keywords.c) and the
 * editor files generated from it (editors/gen.sh). */
#define SEMA_WORDS(t) {#t, t, NELEM(t)}
const SemaWords sema_words[] = {
    SEMA_WORDS(data_stmts), SEMA_WORDS(model_stmts), SEMA_WORDS(train_stmts),
    SEMA_WORDS(gate_stmts), SEMA_WORDS(search_stmts), SEMA_WORDS(release_stmts),
    SEMA_WORDS(builtins), SEMA_WORDS(type_names), SEMA_WORDS(column_types),
    SEMA_WORDS(count_units), SEMA_WORDS(transforms), SEMA_WORDS(missing_rules),
    SEMA_WORDS(acts), SEMA_WORDS(losses), SEMA_WORDS(optimizers), SEMA_WORDS(schedules),
    SEMA_WORDS(range_fns), SEMA_WORDS(train_fields), SEMA_WORDS(metrics_all),
    SEMA_WORDS(splits), SEMA_WORDS(latencies), SEMA_WORDS(live_metrics),
    SEMA_WORDS(task_names)};
const int sema_nwords = NELEM(sema_words);
