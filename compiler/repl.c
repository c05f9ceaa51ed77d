/* repl.c — `mlxc repl [FILE]`: declarations, expressions and commands read
 * a block at a time (a block ends where its braces balance). The session is
 * an ordered list of top-level declarations, each kept as the text it was
 * written in; a declaration typed again under the same name replaces the
 * old one. Every change re-parses and re-checks the whole session (the same
 * front end as `mlxc check`), so the session is always a valid spec; a change
 * that does not check is refused with its diagnostics and the session stays
 * as it was. An expression is checked as `const _ = EXPR` against the
 * session and its folded value printed; paths `NAME.SPLIT.METRIC` (and
 * NAME.predict.p50/p90/p99) read the metrics of train blocks trained in the
 * session. Commands (`:train`, `:predict`, ...) go through main.c's host
 * functions, so they do exactly what `mlxc run` and `mlxc serve` do.
 * Line editing, history and completion come from libedit on a terminal;
 * from a pipe lines are read plainly and no prompt is printed. */
#include <editline/readline.h>
#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "mlxc.h"

/* One top-level declaration of the session: its text padded with newlines
 * so that its first line keeps its line number in src (diagnostics point
 * into the file or the input it came from). */
typedef struct Entry {
  char *name;           /* the declared name; an import's path */
  char *src;            /* the file it came from, or "(input N)" */
  char *text;           /* "\n" * (line - 1) + the declaration */
} Entry;

/* A train block trained in this session: its model, loaded for :predict,
 * and its metrics for expressions. */
typedef struct Trained {
  char *name;
  void *handle;         /* host->load's */
  RtModel *m;
  MlxKernels *k;
  RtServeModel *sm;
  RtServeWork *w;
  json_t *metrics;      /* DIR/NAME.metrics.json */
} Trained;

typedef struct Repl {
  const ReplHost *h;
  const ReplOpts *o;
  Entry *e; int n, cap;
  Trained *t; int nt;
  char *dir;            /* relative paths of typed declarations resolve here */
  int inputs;           /* blocks read so far (names "(input N)") */
  bool tty, timing;
  int errors;           /* commands that failed (the exit status from a pipe) */
} Repl;

static Repl *g_repl;    /* for completion and sema_path_value */

static char *xstrdup(const char *s) {
  char *d = rt_xmalloc(strlen(s) + 1);
  strcpy(d, s);
  return d;
}

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* ---- reading blocks ---------------------------------------------------- */

/* How much a line changes the bracket depth, skipping strings and comments. */
static int depth_change(const char *s, bool *in_str) {
  int d = 0;
  for (; *s; s++) {
    if (*in_str) {
      if (*s == '\\' && s[1]) s++;
      else if (*s == '"') *in_str = false;
    } else if (*s == '"') {
      *in_str = true;
    } else if (*s == '#') {
      break;
    } else if (*s == '{' || *s == '(' || *s == '[') {
      d++;
    } else if (*s == '}' || *s == ')' || *s == ']') {
      d--;
    }
  }
  return d;
}

static char *read_one(Repl *r, const char *prompt) {
  if (r->tty) return readline(prompt);
  char *line = NULL;
  size_t cap = 0;
  ssize_t n = getline(&line, &cap, stdin);
  if (n < 0) {
    free(line);
    return NULL;
  }
  if (n > 0 && line[n - 1] == '\n') line[n - 1] = 0;
  return line;
}

/* The next block: lines until the brackets balance (a string never spans
 * lines). NULL at the end of input. */
static char *read_block(Repl *r) {
  size_t len = 0, cap = 256;
  char *buf = rt_xmalloc(cap);
  buf[0] = 0;
  int depth = 0;
  for (;;) {
    char *line = read_one(r, len ? "....> " : "mlx> ");
    if (!line) {
      if (len) break;   /* an unfinished block at the end: check what there is */
      free(buf);
      return NULL;
    }
    bool in_str = false;
    depth += depth_change(line, &in_str);
    size_t n = strlen(line);
    while (len + n + 2 > cap) buf = rt_xrealloc(buf, cap *= 2);
    memcpy(buf + len, line, n);
    len += n;
    buf[len++] = '\n';
    buf[len] = 0;
    free(line);
    if (depth <= 0) break;
  }
  if (r->tty) {
    char *h = xstrdup(buf);
    if (len && h[len - 1] == '\n') h[len - 1] = 0;
    if (*h) add_history(h);
    free(h);
  }
  return buf;
}

/* ---- the session ------------------------------------------------------- */

static int entry_find(Repl *r, const char *name) {
  for (int i = 0; i < r->n; i++)
    if (!strcmp(r->e[i].name, name)) return i;
  return -1;
}

static void entries_free(Entry *e, int n) {
  for (int i = 0; i < n; i++) {
    free(e[i].name);
    free(e[i].src);
    free(e[i].text);
  }
  free(e);
}

static Entry *entries_copy(const Repl *r) {
  Entry *c = rt_xmalloc(sizeof *c * (size_t)(r->n + 1));
  for (int i = 0; i < r->n; i++)
    c[i] = (Entry){xstrdup(r->e[i].name), xstrdup(r->e[i].src), xstrdup(r->e[i].text)};
  return c;
}

/* Adds or replaces (by name) a declaration. */
static void entry_put(Repl *r, const char *name, const char *src, char *text) {
  int i = entry_find(r, name);
  if (i >= 0) {
    free(r->e[i].src);
    free(r->e[i].text);
    r->e[i].src = xstrdup(src);
    r->e[i].text = text;
    return;
  }
  if (r->n == r->cap) r->e = rt_xrealloc(r->e, sizeof *r->e * (size_t)(r->cap = r->cap ? 2 * r->cap : 16));
  r->e[r->n++] = (Entry){xstrdup(name), xstrdup(src), text};
}

/* Declaration i of file f (text of len bytes) as an entry's text: from the
 * start of its line to the start of the next declaration's line (a node's
 * span may cover only its head), padded with newlines to keep its line. */
static char *decl_text(const Ast *f, int i, const char *text, size_t len) {
  size_t lo = f->kids[i]->span.lo < len ? f->kids[i]->span.lo : len;
  size_t hi = i + 1 < f->nkids && f->kids[i + 1]->span.lo < len ? f->kids[i + 1]->span.lo : len;
  while (lo > 0 && text[lo - 1] != '\n') lo--;   /* from the line's start: columns stay */
  while (hi > lo && text[hi - 1] != '\n' && i + 1 < f->nkids) hi--;
  RtLoc at = span_loc(f->kids[i]->span);
  size_t pad = at.line > 1 ? (size_t)at.line - 1 : 0;
  char *t = rt_xmalloc(pad + hi - lo + 2);
  memset(t, '\n', pad);
  memcpy(t + pad, text + lo, hi - lo);
  t[pad + hi - lo] = 0;
  return t;
}

/* The name a top-level node declares (an import: its path). */
static const char *decl_name(const Ast *d) {
  if (d->kind == AST_IMPORT) return d->str;
  return d->name;
}

/* Parses the whole session (each entry its own source, named as it came)
 * into one file node and checks it. NULL after reporting. The source of
 * the root is the session's text, so the spec hash is the session's. */
static Program *session_check(Repl *r, Arena *a, SemaMode mode, const char *extra) {
  size_t total = 1;
  for (int i = 0; i < r->n; i++) total += strlen(r->e[i].text) + 1;
  if (extra) total += strlen(extra) + 1;
  char *all = arena_alloc(a, total);
  size_t off = 0;
  for (int i = 0; i < r->n; i++) off += (size_t)sprintf(all + off, "%s\n", r->e[i].text);
  if (extra) off += (size_t)sprintf(all + off, "%s\n", extra);
  char *root_path = arena_printf(a, "%s/(session)", r->dir);
  uint32_t root = src_add(root_path, all, off);
  Ast *file = ast_new(a, AST_FILE, (Span){.file = root});
  int errs = diag_error_count();
  for (int i = 0; i <= r->n; i++) {
    const char *text = i < r->n ? r->e[i].text : extra;
    if (!text) break;
    uint32_t id = src_add(i < r->n ? r->e[i].src : "(input)", arena_strdup(a, text), strlen(text));
    Ast *f = parse_source(a, id);
    for (int k = 0; f && k < f->nkids; k++) ast_add(a, file, f->kids[k]);
  }
  if (diag_error_count() != errs) return NULL;
  bool data_error = false;
  return sema_check(a, file, mode, &data_error);
}

/* ---- trained targets --------------------------------------------------- */

static Trained *trained_find(Repl *r, const char *name) {
  for (int i = 0; i < r->nt; i++)
    if (!strcmp(r->t[i].name, name)) return &r->t[i];
  return NULL;
}

static void trained_drop(Repl *r, Trained *t) {
  if (t->w) rt_serve_work_free(t->w);
  if (t->sm) rt_serve_model_free(t->sm);
  if (t->handle) r->h->unload(t->handle);
  json_decref(t->metrics);
  free(t->name);
  *t = r->t[--r->nt];
}

/* NAME.SPLIT.METRIC (1, a number) and NAME.predict.pNN (2, a duration) of
 * a trained target; -1 for a train block not trained; 0 for any other path. */
static int path_value(const char *const *names, int n, double *out) {
  Repl *r = g_repl;
  Trained *t = r && n == 3 ? trained_find(r, names[0]) : NULL;
  if (!t && r && n == 3 && entry_find(r, names[0]) >= 0) {
    const char *txt = r->e[entry_find(r, names[0])].text;
    txt += strspn(txt, "\n \t");
    if (!strncmp(txt, "train", 5) && (txt[5] == ' ' || txt[5] == '\t')) return -1;
  }
  if (!t || !t->metrics) return 0;
  json_t *v = NULL;
  if (!strcmp(names[1], "predict")) {
    char key[16];
    snprintf(key, sizeof key, "%.8s_us", names[2]);
    v = json_object_get(json_object_get(t->metrics, "predict"), key);
    if (!json_is_number(v)) return 0;
    *out = json_number_value(v) / 1e6;   /* seconds, as a duration is held */
    return 2;
  }
  v = json_object_get(json_object_get(json_object_get(t->metrics, "splits"), names[1]), names[2]);
  if (!json_is_number(v)) return 0;
  *out = json_number_value(v);
  return 1;
}

/* ---- commands ----------------------------------------------------------- */

static const char help_text[] =
    "Type a declaration (dataset, model, gate, train, search, release, schedule,\n"
    "rollout, const, fn, extern, import): it joins the session, or replaces the one\n"
    "of the same name. Type an\n"
    "expression to evaluate it (consts, fn calls, NAME.test.auc of a trained train).\n"
    "A block goes on until its braces balance.\n"
    "  :load FILE              the session becomes FILE's declarations\n"
    "  :show NAME              a dataset (rows, columns), a model (layers,\n"
    "                          parameters), a train (settings), a const\n"
    "  :list                   the session's declarations\n"
    "  :train NAME             train block NAME as `mlxc run` does (files in --out)\n"
    "  :eval NAME [CSV]        the trained block's metrics per split, or on a\n"
    "                          labelled CSV (as mlxc eval)\n"
    "  :predict NAME {f: v, ...}  one prediction from the trained block;\n"
    "  :predict NAME FILE.csv  one a row (JSON lines, as mlxc predict --json)\n"
    "  :dump plan|llvm|asm|ptx NAME  what the compiler makes of train block NAME\n"
    "  :time                   toggle timings\n"
    "  :help                   this text\n"
    "  :quit                   leave (also end of input)\n";

/* A const's value, printed. */
static void print_const(const Program *p, const char *name) {
  for (int i = 0; i < p->nconsts; i++)
    if (!strcmp(p->consts[i].name, name)) {
      printf("%s\n", p->consts[i].text);
      return;
    }
}

/* A release: its arms, steps and the checker's bounds (release_bounds). */
static void show_release(const RtRelease *rel) {
  RtReleaseBounds b;
  release_bounds(rel, &b);
  char w[64], least[64], back[64];
  rt_dur_text(b.check_us, w, sizeof w);
  rt_dur_text(b.least_us, least, sizeof least);
  printf("release %s: candidate %s, baseline %s, check every %s", rel->name,
         rel->candidate_train ? rel->candidate_train : rel->candidate_path,
         rel->baseline ? rel->baseline : "(none)", w);
  if (rel->min_requests) printf(" min %lld requests", (long long)rel->min_requests);
  printf("\n  steps:");
  for (int i = 0; i < rel->n_steps; i++) {
    const RtReleaseStep *st = &rel->steps[i];
    char d[64] = "";
    if (st->kind == RT_STEP_DURATION) rt_dur_text(st->amount, d, sizeof d);
    printf("%s %g%%", i ? "," : "", st->percent);
    if (st->kind == RT_STEP_REQUESTS) printf(" for %.15g requests", st->amount);
    else if (st->kind == RT_STEP_DURATION) printf(" for %s", d);
    else if (st->kind == RT_STEP_MANUAL) printf(" manual");
  }
  printf("\n  promote when %s\n", rel->promote.text);
  for (int k = 0; k < rel->n_rollback; k++)
    printf("  rollback when %s for %d check%s\n", rel->rollback[k].text,
           rel->rollback[k].for_checks, rel->rollback[k].for_checks == 1 ? "" : "s");
  printf("  at least %s and %.15g candidate requests to 100%%", least, b.least_requests);
  if (b.manual) printf(", plus %d manual promotion%s", b.manual, b.manual == 1 ? "" : "s");
  if (b.rollback_rule >= 0) {
    rt_dur_text(b.rollback_us, back, sizeof back);
    printf("; rolls back within %s once a rule holds", back);
  }
  printf("\n");
}

/* Whether train block `train` of the session takes in the schedule `name`
 * (`schedule name` / `schedule name(...)`). */
static bool takes_in(const Program *p, const char *train, const char *name) {
  for (int i = 0; i < p->file->nkids; i++) {
    const Ast *d = p->file->kids[i];
    if (d->kind != AST_TRAIN || !d->name || strcmp(d->name, train)) continue;
    for (int j = 0; j < d->nkids; j++) {
      const Ast *st = d->kids[j];
      if (st->kind != AST_STMT || !st->name || strcmp(st->name, "schedule") || !st->nkids ||
          !st->kids[0]->nkids)
        continue;
      const Ast *x = st->kids[0]->kids[0];
      if ((x->kind == AST_NAME || x->kind == AST_CALL) && x->name && !strcmp(x->name, name))
        return true;
    }
  }
  return false;
}

static int cmd_show(Repl *r, const char *name) {
  Arena a = {0};
  int code = 0;
  Program *p = session_check(r, &a, SEMA_RUN, NULL);
  if (!p) {
    code = 1;
    goto done;
  }
  for (int i = 0; i < p->nconsts; i++)
    if (!strcmp(p->consts[i].name, name)) {
      printf("const %s = %s (%s)\n", name, p->consts[i].text, p->consts[i].type);
      goto done;
    }
  for (int i = 0; i < p->nreleases; i++)
    if (!strcmp(p->releases[i]->name, name)) {
      show_release(p->releases[i]);
      goto done;
    }
  for (int i = 0; i < p->ndatasets; i++)
    if (!strcmp(p->datasets[i]->name, name)) {
      code = r->h->describe(p, p->datasets[i]);
      goto done;
    }
  for (int i = 0; i < p->ntrains; i++) {
    SemaTrain *t = &p->trains[i];
    const RtTrainCfg *c = t->cfg;
    if (!strcmp(c->name, name)) {
      printf("train %s: model %s, data %s, %d epochs, batch %d, seed %llu\n", name,
             t->model->name, t->data->name, c->epochs, c->batch, (unsigned long long)c->seed);
      printf("  optimizer %s, lr %g", plan_opt_name[c->opt], c->lr);
      if (c->l1 > 0) printf(", l1 %g", c->l1);
      if (c->l2 > 0) printf(", l2 %g", c->l2);
      if (c->es_metric) printf(", early_stop val.%s patience %d", c->es_metric, c->es_patience);
      static const char *const sched[] = {"constant", "step", "exponential", "linear", "cosine",
                                          "reduce_on_plateau"};
      if (c->sched != RT_SCHED_CONSTANT || c->warmup > 0)
        printf(", schedule %s", sched[c->sched]);
      if (c->warmup > 0) printf(" warmup %g %s", c->warmup, c->warmup_steps ? "steps" : "epochs");
      if (c->clip != RT_CLIP_NONE) printf(", clip %s %g", c->clip == RT_CLIP_NORM ? "norm" : "value", c->clip_bound);
      printf("\n");
      Trained *tr = trained_find(r, name);
      printf("  %s\n", tr ? "trained in this session (:eval, :predict)" : "not trained yet (:train)");
      goto done;
    }
    if (!strcmp(t->model->name, name)) {   /* a model: shapes through its first train */
      code = r->h->layers(p, t);
      goto done;
    }
  }
  if (entry_find(r, name) >= 0) {
    printf("%s", r->e[entry_find(r, name)].text + strspn(r->e[entry_find(r, name)].text, "\n"));
    goto done;
  }
  for (int i = 0; i < p->file->nkids; i++) {   /* an imported declaration: its source */
    const Ast *d = p->file->kids[i];
    if (!d->name || strcmp(d->name, name)) continue;
    size_t len;
    const char *text = src_text(d->span.file, &len);
    size_t lo = d->span.lo, hi = lo;
    while (lo > 0 && text[lo - 1] != '\n') lo--;   /* from the start of its line */
    int depth = 0;   /* to the line where its brackets balance */
    bool in_str = false;
    while (hi < len) {
      size_t e = hi;
      while (e < len && text[e] != '\n') e++;
      char *line = strndup(text + hi, e - hi);
      depth += line ? depth_change(line, &in_str) : 0;
      free(line);
      hi = e < len ? e + 1 : e;
      if (depth <= 0) break;
    }
    RtLoc at = span_loc(d->span);
    printf("# %s:%d\n%.*s", at.file, at.line, (int)(hi - lo), text + lo);
    goto done;
  }
  rt_diag(RT_ERROR, rt_loc_file("(repl)"), "nothing named '%s' in the session", name);
  code = 1;
done:
  rt_diag_flush();
  arena_free(&a);
  return code;
}

/* The session checked as `run` checks it, and its train block name; NULL
 * after reporting. */
static SemaTrain *session_train(Repl *r, Arena *a, const char *name, Program **pp) {
  Program *p = *pp = session_check(r, a, SEMA_RUN, NULL);
  for (int i = 0; p && i < p->ntrains; i++)
    if (!strcmp(p->trains[i].cfg->name, name)) return &p->trains[i];
  if (!p) return NULL;
  rt_diag(RT_ERROR, rt_loc_file("(repl)"), "no train block named '%s'", name);
  for (int i = 0; i < p->file->nkids; i++) {   /* one in an imported file is not run */
    const Ast *d = p->file->kids[i];
    if (d->kind == AST_TRAIN && d->name && !strcmp(d->name, name))
      rt_note(span_loc(d->span), "'%s' is declared in an imported file, whose trains are not "
                                 "run (as by mlxc run): :load %s", name, src_path(d->span.file));
  }
  return NULL;
}

static int cmd_train(Repl *r, const char *name) {
  Arena a = {0};
  int code = 0;
  Program *p;
  SemaTrain *t = session_train(r, &a, name, &p);
  if (!t) {
    code = 1;
    goto done;
  }
  Trained *old = trained_find(r, name);
  if (old) trained_drop(r, old);
  code = r->h->train(&a, p, t);
  if (code && code != 3) goto done;   /* 3: a gate failed, the model is written */
  char *path = arena_printf(&a, "%s/%s.mlxm", r->o->out_dir, name);
  Trained tr = {.name = xstrdup(name)};
  tr.handle = r->h->load(path, &tr.m, &tr.k);
  if (!tr.handle) {
    free(tr.name);
    code = 4;
    goto done;
  }
  tr.sm = rt_serve_model_new(tr.m, tr.k);
  tr.w = rt_serve_work_new(tr.sm);
  char *mpath = arena_printf(&a, "%s/%s.metrics.json", r->o->out_dir, name);
  tr.metrics = json_load_file(mpath, 0, NULL);
  r->t = rt_xrealloc(r->t, sizeof *r->t * (size_t)(r->nt + 1));
  r->t[r->nt++] = tr;
done:
  rt_diag_flush();
  arena_free(&a);
  return code;
}

/* A train block trained in this session, or NULL after saying it is not. */
static Trained *trained_or_error(Repl *r, const char *name) {
  Trained *t = trained_find(r, name);
  if (!t) {
    rt_diag(RT_ERROR, rt_loc_file("(repl)"), "'%s' is not trained in this session (:train %s)",
            name, name);
    rt_diag_flush();
  }
  return t;
}

/* :eval NAME [CSV]: the trained block's metrics per split, or on a
 * labelled CSV as `mlxc eval` gives them (one JSON object). */
static int cmd_eval(Repl *r, const char *args) {
  char name[256];
  size_t nl = strcspn(args, " \t");
  snprintf(name, sizeof name, "%.*s", (int)(nl < sizeof name ? nl : sizeof name - 1), args);
  const char *csv = args + nl + strspn(args + nl, " \t");
  Trained *t = trained_or_error(r, name);
  if (!t) return 1;
  if (*csv) {
    RtMetrics mt;
    if (rt_eval_csv(t->m, t->k, csv, &mt)) {
      rt_diag_flush();
      return 4;
    }
    char *j = rt_eval_json(t->m, &mt);
    if (j) puts(j);
    free(j);
    return j ? 0 : 5;
  }
  json_t *splits = json_object_get(t->metrics, "splits");
  const char *split;
  json_t *m;
  json_object_foreach(splits, split, m) {
    printf("%-6s", split);
    const char *k;
    json_t *v;
    json_object_foreach(m, k, v)
      if (json_is_real(v) || (json_is_integer(v) && !strcmp(k, "rows")))
        printf(" %s %.6g", k, json_number_value(v));
    printf("\n");
  }
  return 0;
}

/* {name: value, ...} as written in the REPL into JSON: bare keys quoted. */
static char *map_json(const char *s) {
  size_t n = strlen(s), o = 0;
  char *j = rt_xmalloc(3 * n + 3);
  bool in_str = false;
  for (size_t i = 0; i < n; i++) {
    char c = s[i];
    if (in_str) {
      j[o++] = c;
      if (c == '\\' && i + 1 < n) j[o++] = s[++i];
      else if (c == '"') in_str = false;
      continue;
    }
    if (c == '"') {
      in_str = true;
      j[o++] = c;
    } else if ((c == '_' || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')) &&
               (o == 0 || strchr("{, \t\n", j[o - 1]))) {
      size_t k = i;
      while (k < n && (s[k] == '_' || (s[k] >= '0' && s[k] <= '9') || (s[k] >= 'A' && s[k] <= 'Z') ||
                       (s[k] >= 'a' && s[k] <= 'z')))
        k++;
      size_t e = k;
      while (e < n && (s[e] == ' ' || s[e] == '\t')) e++;
      bool key = e < n && s[e] == ':';
      if (key) j[o++] = '"';
      memcpy(j + o, s + i, k - i);
      o += k - i;
      if (key) j[o++] = '"';
      i = k - 1;
    } else {
      j[o++] = c;
    }
  }
  j[o] = 0;
  return j;
}

static int cmd_predict(Repl *r, const char *args) {
  char name[256];
  size_t nl = strcspn(args, " \t{");
  if (!nl || nl >= sizeof name) {
    fprintf(stderr, "mlxc: error: usage: :predict NAME {field: value, ...}\n");
    return 1;
  }
  memcpy(name, args, nl);
  name[nl] = 0;
  const char *row = args + nl + strspn(args + nl, " \t");
  Trained *t = trained_or_error(r, name);
  if (!t) return 1;
  if (*row && *row != '{') {   /* a CSV file: one JSON line a row, as mlxc predict --json */
    int code = rt_predict_out(t->m, t->k, row, stdout, true) ? 4 : 0;
    rt_diag_flush();
    return code;
  }
  if (*row != '{') {
    fprintf(stderr, "mlxc: error: usage: :predict %s {field: value, ...} | FILE.csv\n", name);
    return 1;
  }
  char *body = map_json(row);
  RtServeReply rep;
  rt_serve_predict(t->sm, t->w, body, strlen(body), "repl", &rep);
  free(body);
  /* the answer without the request id a server adds */
  json_t *o = json_loads(rep.body, 0, NULL);
  json_object_del(o, "request_id");
  char *txt = o ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(7)) : NULL;
  json_t *why = json_object_get(o, "error");
  if (rep.status == 200) printf("%s\n", txt ? txt : rep.body);
  else fprintf(stderr, "mlxc: error: %s\n", json_is_string(why) ? json_string_value(why) : rep.body);
  free(txt);
  json_decref(o);
  return rep.status == 200 ? 0 : 1;
}

static int cmd_dump(Repl *r, const char *args) {
  char stage[16], name[256];
  if (sscanf(args, "%15s %255s", stage, name) != 2 ||
      (strcmp(stage, "plan") && strcmp(stage, "llvm") && strcmp(stage, "asm") &&
       strcmp(stage, "ptx"))) {
    fprintf(stderr, "mlxc: error: usage: :dump plan|llvm|asm|ptx NAME\n");
    return 1;
  }
  Arena a = {0};
  Program *p;
  SemaTrain *t = session_train(r, &a, name, &p);
  int code = t ? r->h->dump(&a, t, stage, stdout) : 1;
  rt_diag_flush();
  arena_free(&a);
  return code;
}

/* :load FILE: the session becomes the file's declarations; typed ones then
 * resolve relative paths from the file's directory. */
static int cmd_load(Repl *r, const char *path) {
  size_t len;
  char *text = rt_read_file(path, &len);
  if (!text) {
    rt_diag(RT_ERROR, rt_loc_file(path), "cannot open spec: %s", strerror(errno));
    rt_diag_flush();
    return 1;
  }
  Arena a = {0};
  uint32_t id = src_add(path, arena_strndup(&a, text, len), len);
  Ast *f = parse_source(&a, id);
  int code = 0;
  if (diag_error_count() || !f) {
    code = 1;
  } else {
    Entry *saved = r->e;
    int sn = r->n, sc = r->cap;
    char *sdir = r->dir;
    r->e = NULL, r->n = r->cap = 0;
    char real[PATH_MAX];
    r->dir = xstrdup(realpath(path, real) ? real : path);
    char *slash = strrchr(r->dir, '/');
    if (slash) *slash = 0;
    else strcpy(r->dir, ".");
    for (int i = 0; i < f->nkids; i++)
      entry_put(r, decl_name(f->kids[i]) ? decl_name(f->kids[i]) : "?", path,
                decl_text(f, i, text, len));
    Arena b = {0};
    if (!session_check(r, &b, SEMA_CHECK, NULL)) {
      entries_free(r->e, r->n);
      free(r->dir);
      r->e = saved, r->n = sn, r->cap = sc, r->dir = sdir;
      code = 1;
    } else {
      entries_free(saved, sn);
      free(sdir);
      printf("loaded %s: %d declarations\n", path, r->n);
    }
    arena_free(&b);
  }
  rt_diag_flush();
  arena_free(&a);
  free(text);
  return code;
}

/* Declarations typed in: each joins the session (or replaces its name's);
 * all of them or none, if the session does not check with them. */
static int add_decls(Repl *r, const char *block, const char *src) {
  Arena a = {0};
  uint32_t id = src_add(src, arena_strdup(&a, block), strlen(block));
  Ast *f = parse_source(&a, id);
  int code = 0;
  if (diag_error_count() || !f) {
    code = 1;
    goto done;
  }
  Entry *saved = entries_copy(r);
  int sn = r->n;
  size_t len = strlen(block);
  for (int i = 0; i < f->nkids; i++) {
    const Ast *d = f->kids[i];
    entry_put(r, decl_name(d) ? decl_name(d) : "?", src, decl_text(f, i, block, len));
  }
  Arena b = {0};
  Program *p = session_check(r, &b, SEMA_CHECK, NULL);
  if (!p) {
    entries_free(r->e, r->n);
    r->e = saved;
    r->n = r->cap = sn;
    code = 1;
  } else {
    entries_free(saved, sn);
    /* a train trained here is forgotten when it, its model, its dataset or the
     * schedule it takes in changes */
    for (int i = 0; i < f->nkids; i++) {
      const char *nm = decl_name(f->kids[i]);
      for (int k = 0; nm && k < p->ntrains; k++) {
        SemaTrain *t = &p->trains[k];
        Trained *old = trained_find(r, t->cfg->name);
        if (old && (!strcmp(nm, t->cfg->name) || !strcmp(nm, t->model->name) ||
                    !strcmp(nm, t->data->name) || takes_in(p, t->cfg->name, nm))) {
          printf("(%s is no longer trained: %s changed)\n", t->cfg->name, nm);
          trained_drop(r, old);
        }
      }
    }
  }
  arena_free(&b);
done:
  rt_diag_flush();
  arena_free(&a);
  return code;
}

/* An expression: checked as `const _ = EXPR` with the session; its value. */
static int eval_expr(Repl *r, const char *block) {
  Arena a = {0};
  size_t n = strlen(block);
  while (n && (block[n - 1] == '\n' || block[n - 1] == ' ')) n--;
  char *src = arena_printf(&a, "const _ = %.*s\n", (int)n, block);
  int i = entry_find(r, "_");   /* a declared `_` gives way to the expression */
  Entry keep = {0};
  if (i >= 0) {
    keep = r->e[i];
    r->e[i] = r->e[--r->n];
  }
  Program *p = session_check(r, &a, SEMA_CHECK, src);
  if (i >= 0) r->e[r->n++] = keep;
  if (p) print_const(p, "_");
  rt_diag_flush();
  arena_free(&a);
  return p ? 0 : 1;
}

/* Whether a block begins with a declaration word (the lexer's table). */
static bool is_decl(const char *s) {
  s += strspn(s, " \t\n");
  size_t w = strcspn(s, " \t\n{(\"");
  const char *k;
  for (size_t i = 0; (k = lex_keyword(0, i)); i++)
    if (strlen(k) == w && !strncmp(s, k, w)) return true;
  return false;
}

/* The commands that take an argument. */
static const struct {
  const char *name;
  int (*run)(Repl *r, const char *arg);
} arg_cmds[] = {{"load", cmd_load}, {"show", cmd_show}, {"train", cmd_train},
                {"eval", cmd_eval}, {"predict", cmd_predict}, {"dump", cmd_dump}};
#define N_ARG_CMDS (int)(sizeof arg_cmds / sizeof *arg_cmds)

/* One block; false to leave. */
static bool handle(Repl *r, char *block) {
  char *s = block + strspn(block, " \t\n");
  size_t n = strlen(s);
  while (n && strchr(" \t\n", s[n - 1])) s[--n] = 0;
  if (!*s || *s == '#') return true;
  diag_reset();
  double t0 = now_s();
  int code = 0;
  if (*s == ':') {
    char *cmd = s + 1;
    size_t cl = strcspn(cmd, " \t\n");
    char *arg = cmd + cl + strspn(cmd + cl, " \t\n");
    char c = cmd[cl];
    cmd[cl] = 0;
    if (!strcmp(cmd, "quit") || !strcmp(cmd, "q") || !strcmp(cmd, "exit")) return false;
    if (!strcmp(cmd, "help") || !strcmp(cmd, "h")) {
      fputs(help_text, stdout);
    } else if (!strcmp(cmd, "time")) {
      r->timing = !r->timing;
      printf("timing %s\n", r->timing ? "on" : "off");
    } else if (!strcmp(cmd, "list")) {
      for (int i = 0; i < r->n; i++) {
        const char *t = r->e[i].text + strspn(r->e[i].text, "\n");
        printf("%-20s %.*s\n", r->e[i].name, (int)strcspn(t, "\n"), t);
      }
    } else {
      int k = 0;
      while (k < N_ARG_CMDS && strcmp(cmd, arg_cmds[k].name)) k++;
      if (k < N_ARG_CMDS && !*arg) {
        fprintf(stderr, "mlxc: error: :%s needs an argument (:help)\n", cmd);
        code = 1;
      } else if (k < N_ARG_CMDS) {
        code = arg_cmds[k].run(r, arg);
      } else {
        const char *cmds[N_ARG_CMDS + 4] = {"list", "time", "help", "quit"};
        for (int i = 0; i < N_ARG_CMDS; i++) cmds[4 + i] = arg_cmds[i].name;
        const char *near = diag_suggest(cmd, cmds, N_ARG_CMDS + 4);
        fprintf(stderr, "mlxc: error: unknown command ':%s'%s%s%s (:help)\n", cmd,
                near ? "; did you mean ':" : "", near ? near : "", near ? "'?" : "");
        code = 1;
      }
    }
    (void)c;
  } else {
    char src[32];
    snprintf(src, sizeof src, "(input %d)", ++r->inputs);
    code = is_decl(s) ? add_decls(r, s, src) : eval_expr(r, s);
  }
  fflush(stdout);
  if (code && code != 3) r->errors++;
  if (r->timing) fprintf(stderr, "(%.3f s)\n", now_s() - t0);
  return true;
}

/* ---- completion --------------------------------------------------------- */

/* The i-th word completion offers (NULL past the end): the commands, the
 * lexer's keywords, every word table of the checker (statements, layers,
 * losses, metrics, ...), dump stages, std modules, the session's names. */
static const char *complete_word(Repl *r, int i) {
  static const char *const cmds[] = {":load", ":show", ":list", ":train", ":eval", ":predict",
                                     ":dump", ":time", ":help", ":quit", "plan", "llvm", "asm",
                                     "ptx"};
  int n = (int)(sizeof cmds / sizeof *cmds);
  if (i < n) return cmds[i];
  i -= n;
  for (n = 0; stdlib_name(n); n++) {
  }
  if (i < n) return stdlib_name(i);
  i -= n;
  for (int set = 0; set < 2; set++) {
    const char *k = lex_keyword(set, (size_t)i);
    if (k) return k;
    for (n = 0; lex_keyword(set, (size_t)n); n++) {
    }
    i -= n;
  }
  for (int t = 0; t < sema_nwords; t++) {
    if (i < sema_words[t].n) return sema_words[t].words[i];
    i -= sema_words[t].n;
  }
  return i < r->n ? r->e[i].name : NULL;
}

static char *complete_next(const char *text, int state) {
  static int i;
  static size_t len;
  if (!state) i = 0, len = strlen(text);
  const char *w;
  while ((w = complete_word(g_repl, i++))) {
    if (strncmp(w, text, len)) continue;
    bool seen = false;   /* a word in two tables is offered once */
    for (int k = 0; k < i - 1 && !seen; k++) seen = !strcmp(complete_word(g_repl, k), w);
    if (!seen) return xstrdup(w);
  }
  return NULL;
}

static char **complete(const char *text, int start, int end) {
  (void)start;
  (void)end;
  return rl_completion_matches(text, complete_next);
}

/* ---- entry ---------------------------------------------------------------- */

int repl_main(const ReplOpts *o, const ReplHost *h) {
  Repl r = {.h = h, .o = o, .tty = isatty(0) && isatty(1)};
  g_repl = &r;
  sema_path_value = path_value;
  char cwd[PATH_MAX];
  r.dir = xstrdup(getcwd(cwd, sizeof cwd) ? cwd : ".");
  char *hist = NULL;
  if (r.tty) {
    const char *home = getenv("HOME");
    const char *hf = getenv("MLXC_HISTORY");
    if (hf && *hf) hist = xstrdup(hf);
    else if (home && *home) {
      hist = rt_xmalloc(strlen(home) + 32);
      sprintf(hist, "%s/.mlxc_history", home);
    }
    rl_readline_name = "mlxc";
    rl_attempted_completion_function = complete;
    using_history();
    stifle_history(1000);
    if (hist) read_history(hist);
    printf("mlxc %s REPL: declarations, expressions, :help for commands, :quit to leave\n",
           o->version);
  }
  diag_reset();
  /* One JIT for the session: each compilation links into it under a resource
   * tracker of its own, removed when what it compiled is replaced or freed. */
  Jit *session = jit_session_new();
  jit_session_use(session);
  if (o->file && cmd_load(&r, o->file)) r.errors++;
  char *block;
  bool go = true;
  while (go && (block = read_block(&r))) {
    go = handle(&r, block);
    free(block);
  }
  if (r.tty && hist) {
    write_history(hist);
    history_truncate_file(hist, 1000);
  }
  if (r.tty && go) printf("\n");
  free(hist);
  while (r.nt) trained_drop(&r, &r.t[0]);
  jit_session_use(NULL);
  jit_free(session);
  free(r.t);
  entries_free(r.e, r.n);
  free(r.dir);
  sema_path_value = NULL;
  g_repl = NULL;
  return r.tty || !r.errors ? 0 : 1;
}
