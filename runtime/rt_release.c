/* rt_release.c — a release's state and `mlxc release FILE NAME COMMAND`:
 * rt_release_replay folds the journal (rt_journal.c) into the current state
 * (nothing else is kept anywhere); start checks the candidate's offline gate
 * results; start, promote, rollback and abort read the journal, decide and
 * append inside one BEGIN IMMEDIATE transaction, so concurrent commands
 * serialize and each sees the others' events. Ownership: everything here is
 * freed before returning; RtRelease lives in the compiler's arena. */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <jansson.h>

#include "rt.h"

enum { EXIT_OK = 0, EXIT_USAGE = 2, EXIT_REFUSED = 3, EXIT_DATA = 4, EXIT_ENV = 6 };

static const char *const phase_names[] = {"not_started", "step", "promoted", "rolled_back",
                                          "aborted"};

void rt_dur_text(double us, char *out, size_t cap) {
  static const struct { const char *u; double us; } units[] = {
      {"d", 86400e6}, {"h", 3600e6}, {"m", 60e6}, {"s", 1e6}, {"ms", 1e3}, {"us", 1}};
  double left = floor(us + 0.5);
  out[0] = 0;
  for (size_t i = 0; i < sizeof units / sizeof *units; i++) {
    double q = floor(left / units[i].us);
    if (q < 1) continue;
    left -= q * units[i].us;
    size_t l = strlen(out);
    snprintf(out + l, cap - l, "%.15g%s", q, units[i].u);
  }
  if (!out[0]) snprintf(out, cap, "0s");
}

/* ---- replay ----------------------------------------------------------------- */

static void set_reason(RtReleaseState *s, const RtEvent *e, const char *what) {
  if (e->who && e->why && *e->why)
    snprintf(s->reason, sizeof s->reason, "%s by %s: %s", what, e->who, e->why);
  else if (e->who)
    snprintf(s->reason, sizeof s->reason, "%s by %s", what, e->who);
  else
    snprintf(s->reason, sizeof s->reason, "%s by the rules: %s", what,
             e->why && *e->why ? e->why : e->detail);
}

/* The state after events ev[0..n) (seq order). A pure function: the same
 * events give the same state. An event that does not apply to the state it
 * meets (a second `started`, a step that does not move forward, anything after
 * an end) changes nothing: the commands never write one, and replay must
 * accept any journal. */
RtReleaseState rt_release_replay(const RtRelease *rel, const RtEvent *ev, int64_t n) {
  RtReleaseState s;
  memset(&s, 0, sizeof s);
  rt_release_apply(rel, &s, ev, n);
  return s;
}

void rt_release_apply(const RtRelease *rel, RtReleaseState *st, const RtEvent *ev, int64_t n) {
  RtReleaseState s = *st;
  int last = rel->n_steps - 1;
  for (int64_t i = 0; i < n; i++) {
    const RtEvent *e = &ev[i];
    s.seq = e->seq;
    bool live = s.phase == RT_RS_STEP;
    switch (e->kind) {
    case RT_EV_STARTED:
      if (s.phase != RT_RS_NOT_STARTED || rel->n_steps < 1) break;
      s.phase = RT_RS_STEP;
      s.step = 0;
      s.percent = rel->steps[0].percent;
      s.since_us = s.started_us = e->time_us;
      s.last_seq = e->seq;
      s.last_promote = -1;
      set_reason(&s, e, "started");
      break;
    case RT_EV_STEP_ADVANCED:
      if (!live || e->step <= s.step || e->step > last) break;
      s.step = e->step;
      s.percent = rel->steps[e->step].percent;
      s.since_us = e->time_us;
      s.step_requests = s.observations = 0;
      s.met_us = s.last_check_us = 0;   /* rollback streaks run on across steps */
      s.last_promote = -1;
      s.inconclusive_run = 0;
      s.last_seq = e->seq;
      set_reason(&s, e, "advanced");
      break;
    case RT_EV_OBSERVATION:   /* a window of another step (it straddled a change) is not counted */
      if (!live || (e->step >= 0 && e->step != s.step)) break;
      if (e->requests > 0) s.step_requests += e->requests;
      s.observations++;
      if (!s.met_us && rel->steps[s.step].kind == RT_STEP_REQUESTS &&
          (double)s.step_requests >= rel->steps[s.step].amount)
        s.met_us = e->time_us;
      if (e->conclusive == 0 && s.inconclusive_run < INT_MAX) s.inconclusive_run++;
      if (e->conclusive == 1) {
        s.inconclusive_run = 0;
        for (int k = 0; k < rel->n_rollback && k < RT_MAX_ROLLBACK; k++)
          s.streak[k] = (e->rollback >> k) & 1 ? s.streak[k] + 1 : 0;
        s.last_promote = e->promote;
        s.last_check_us = e->time_us;
      }
      break;
    case RT_EV_PROMOTED:
    case RT_EV_ROLLED_BACK:
    case RT_EV_ABORTED:
      if (!live) break;
      s.phase = e->kind == RT_EV_PROMOTED ? RT_RS_PROMOTED
              : e->kind == RT_EV_ROLLED_BACK ? RT_RS_ROLLED_BACK : RT_RS_ABORTED;
      if (e->kind == RT_EV_PROMOTED) s.step = last;
      s.percent = e->kind == RT_EV_PROMOTED ? 100 : 0;
      s.since_us = e->time_us;
      s.last_seq = e->seq;
      set_reason(&s, e, e->kind == RT_EV_PROMOTED ? "promoted"
                        : e->kind == RT_EV_ROLLED_BACK ? "rolled back" : "aborted");
      break;
    default: break;
    }
  }
  *st = s;
}

/* ---- rules -------------------------------------------------------------------- */

double rt_gx_eval(const RtGateExpr *x, RtMetricFn metric, void *ctx) {
  if (x->op == RT_GX_NUM) return x->num;
  if (x->op == RT_GX_METRIC) return metric ? metric(ctx, x) : NAN;
  double a = x->n_args > 0 ? rt_gx_eval(x->args[0], metric, ctx) : NAN;
  double b = x->n_args > 1 ? rt_gx_eval(x->args[1], metric, ctx) : NAN;
  switch (x->op) {
  case RT_GX_ADD: return a + b;
  case RT_GX_SUB: return a - b;
  case RT_GX_MUL: return a * b;
  case RT_GX_DIV: return a / b;
  case RT_GX_NEG: return -a;
  case RT_GX_MIN:
  case RT_GX_MAX: {
    double r = a;
    for (int i = 1; i < x->n_args; i++) {
      double v = rt_gx_eval(x->args[i], metric, ctx);
      if (isnan(v) || isnan(r)) r = NAN;
      else r = x->op == RT_GX_MIN ? fmin(r, v) : fmax(r, v);
    }
    return r;
  }
  case RT_GX_ABS: return fabs(a);
  case RT_GX_EXP: return exp(a);
  case RT_GX_LOG: return log(a);
  case RT_GX_SQRT: return sqrt(a);
  case RT_GX_LOG1P: return log1p(a);
  default: return NAN;
  }
}

int rt_rule_eval(const RtRuleCond *c, RtMetricFn metric, void *ctx) {
  if (!c) return -1;
  switch (c->op) {
  case RT_RC_CONST: return c->value;
  case RT_RC_NOT: {
    int a = rt_rule_eval(c->a, metric, ctx);
    return a < 0 ? -1 : !a;
  }
  case RT_RC_AND:
  case RT_RC_OR: {
    int a = rt_rule_eval(c->a, metric, ctx), b = rt_rule_eval(c->b, metric, ctx);
    int dominant = c->op == RT_RC_OR;   /* or: a true side decides; and: a false one */
    if (a == dominant || b == dominant) return dominant;
    return a < 0 || b < 0 ? -1 : !dominant;
  }
  case RT_RC_CMP: {
    double l = rt_gx_eval(c->lhs, metric, ctx), r = rt_gx_eval(c->rhs, metric, ctx);
    if (isnan(l) || isnan(r)) return -1;
    switch (c->cmp) {
    case RT_GC_LT: return l < r;
    case RT_GC_LE: return l <= r;
    case RT_GC_GT: return l > r;
    case RT_GC_GE: return l >= r;
    case RT_GC_EQ: return l == r;
    default: return l != r;
    }
  }
  }
  return -1;
}

char *rt_release_check(const RtRelease *rel, const RtReleaseState *s, int64_t requests,
                       RtMetricFn metric, void *ctx, const char *extra) {
  json_t *o = json_object();
  bool conclusive = requests > 0 && requests >= rel->min_requests;
  json_object_set_new(o, "step", json_integer(s->step));
  json_object_set_new(o, "requests", json_integer(requests));
  json_object_set_new(o, "conclusive", json_boolean(conclusive));
  json_t *rb = json_array();
  if (conclusive) {
    int p = rt_rule_eval(rel->promote.cond, metric, ctx);
    json_object_set_new(o, "promote", p < 0 ? json_null() : json_boolean(p));
    for (int k = 0; k < rel->n_rollback && k < RT_MAX_ROLLBACK; k++) {
      int v = rt_rule_eval(rel->rollback[k].cond, metric, ctx);   /* -1: missing data */
      json_array_append_new(rb, json_boolean(v == 1 || (v < 0 && rel->missing_rollback)));
    }
  } else {
    json_object_set_new(o, "promote", json_null());
  }
  json_object_set_new(o, "rollback", rb);
  json_t *live = extra ? json_loads(extra, 0, NULL) : NULL;
  if (live) json_object_set_new(o, "live", live);
  char *t = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(10));
  json_decref(o);
  return t;
}

RtEventKind rt_release_decide(const RtRelease *rel, const RtReleaseState *s, int64_t now_us,
                              int *step, char why[256]) {
  why[0] = 0;
  *step = s->step;
  if (s->phase != RT_RS_STEP || s->step < 0 || s->step >= rel->n_steps) return RT_EV__COUNT;
  for (int k = 0; k < rel->n_rollback && k < RT_MAX_ROLLBACK; k++)
    if (s->streak[k] >= (rel->rollback[k].for_checks > 0 ? rel->rollback[k].for_checks : 1)) {
      snprintf(why, 256, "rollback when %s: true on %d conclusive check%s", rel->rollback[k].text,
               s->streak[k], s->streak[k] == 1 ? "" : "s");
      return RT_EV_ROLLED_BACK;
    }
  const RtReleaseStep *p = &rel->steps[s->step];
  int last = rel->n_steps - 1;
  int64_t met = 0;   /* when the step's own condition was met (0: not yet) */
  switch (p->kind) {
  case RT_STEP_REQUESTS: met = s->met_us; break;
  case RT_STEP_DURATION: {
    int64_t t = s->since_us + (int64_t)p->amount;
    met = now_us >= t ? t : 0;
    break;
  }
  case RT_STEP_MANUAL: break;
  default: met = s->since_us; break;
  }
  bool stuck = rel->inconclusive != RT_INC_HOLD && rel->inconclusive_checks > 0 &&
               s->inconclusive_run >= rel->inconclusive_checks;
  if (stuck && rel->inconclusive == RT_INC_ROLLBACK) {
    snprintf(why, 256, "inconclusive rollback: %d inconclusive checks in a row in step %d",
             s->inconclusive_run, s->step + 1);
    return RT_EV_ROLLED_BACK;
  }
  if (!met) return RT_EV__COUNT;
  bool advance = stuck && rel->inconclusive == RT_INC_ADVANCE;
  if ((s->last_promote == 1 && s->last_check_us >= met) || advance) {
    bool done = s->step == last || (s->step + 1 == last && rel->steps[last].kind == RT_STEP_OPEN);
    *step = done ? last : s->step + 1;
    if (s->last_promote == 1 && s->last_check_us >= met)
      snprintf(why, 256, "promote when %s: true after step %d", rel->promote.text, s->step + 1);
    else
      snprintf(why, 256, "inconclusive advance: %d inconclusive checks in a row after step %d",
               s->inconclusive_run, s->step + 1);
    return done ? RT_EV_PROMOTED : RT_EV_STEP_ADVANCED;
  }
  if (rel->timeout_us > 0 && (double)(now_us - met) >= rel->timeout_us) {
    snprintf(why, 256, "promote when %s: not true within the timeout (%g s) after step %d ended",
             rel->promote.text, rel->timeout_us / 1e6, s->step + 1);
    return RT_EV_ROLLED_BACK;
  }
  return RT_EV__COUNT;
}

/* The journal's state, read inside the caller's transaction. */
static int replay_now(RtJournal *j, const RtRelease *rel, RtReleaseState *s) {
  return rt_journal_state(j, rel, s);
}

/* rt_release_tick, and rt_release_tick_idle (observe false: no observation). */
static int tick(RtJournal *j, const RtRelease *rel, bool observe, int window_step,
                int64_t requests, RtMetricFn metric, void *ctx, const char *extra,
                int64_t now_us, RtReleaseState *s) {
  /* an idle window counts toward `inconclusive ... for N checks`: journal it */
  if (rel->inconclusive != RT_INC_HOLD) observe = true;
  if (rt_journal_begin(j)) return -1;
  int kind = RT_EV__COUNT;
  if (replay_now(j, rel, s)) goto fail;
  if (s->phase != RT_RS_STEP) {
    rt_journal_rollback(j);
    return RT_EV__COUNT;
  }
  if (now_us < s->since_us) now_us = s->since_us;
  if (observe) {
    RtReleaseState ws = *s;   /* the step the window's traffic belongs to */
    if (window_step >= 0 && window_step < s->step) ws.step = window_step;
    char *d = rt_release_check(rel, &ws, requests, metric, ctx, extra);
    int64_t seq = d ? rt_journal_append(j, RT_EV_OBSERVATION, now_us, NULL, NULL, d) : -1;
    free(d);
    if (seq < 0 || replay_now(j, rel, s)) goto fail;
  }
  int step;
  char why[256];
  kind = rt_release_decide(rel, s, now_us, &step, why);
  if (kind != RT_EV__COUNT) {
    char det[96];
    snprintf(det, sizeof det, "{\"step\":%d,\"percent\":%.17g}", step,
             kind == RT_EV_ROLLED_BACK ? 0.0 : rel->steps[step].percent);
    if (rt_journal_append(j, (RtEventKind)kind, now_us, NULL, why, det) < 0) goto fail;
  }
  if (!observe && kind == RT_EV__COUNT) {   /* nothing to write: no empty transaction */
    rt_journal_rollback(j);
    return kind;
  }
  if (rt_journal_commit(j)) return -1;
  if (kind != RT_EV__COUNT && replay_now(j, rel, s)) return -1;
  return kind;
fail:
  rt_journal_rollback(j);
  return -1;
}

int rt_release_tick(RtJournal *j, const RtRelease *rel, int window_step, int64_t requests,
                    RtMetricFn metric, void *ctx, const char *extra, int64_t now_us,
                    RtReleaseState *s) {
  return tick(j, rel, true, window_step, requests, metric, ctx, extra, now_us, s);
}

int rt_release_tick_idle(RtJournal *j, const RtRelease *rel, int64_t now_us, RtReleaseState *s) {
  return tick(j, rel, false, -1, 0, NULL, NULL, NULL, now_us, s);
}

/* ---- output ----------------------------------------------------------------- */

char *rt_release_store_path(const RtRelease *rel, const char *store) {
  if (store) {
    char *p = rt_xmalloc(strlen(store) + 1);
    strcpy(p, store);
    return p;
  }
  const char *sp = rel->spec_path ? rel->spec_path : "";
  const char *slash = strrchr(sp, '/');
  size_t dl = slash ? (size_t)(slash - sp) + 1 : 0;
  size_t len = dl + strlen(rel->name) + sizeof ".release.db";
  char *p = rt_xmalloc(len);
  snprintf(p, len, "%.*s%s.release.db", (int)dl, sp, rel->name);
  return p;
}

/* "2026-11-24 19:50:01 UTC" (micro: with .000000). */
static void fmt_time(int64_t us, bool micro, char out[48]) {
  time_t t = (time_t)(us / 1000000);
  struct tm tm;
  if (!gmtime_r(&t, &tm)) {
    snprintf(out, 48, "?");
    return;
  }
  char b[32];
  strftime(b, sizeof b, "%Y-%m-%d %H:%M:%S", &tm);
  if (micro) snprintf(out, 48, "%s.%06lld UTC", b, (long long)(us % 1000000));
  else snprintf(out, 48, "%s UTC", b);
}

/* How a step ends, for status: "after 500 candidate requests". */
static void step_end(const RtReleaseStep *p, bool last, char out[96]) {
  switch (p->kind) {
  case RT_STEP_REQUESTS: snprintf(out, 96, "after %.0f candidate requests", p->amount); break;
  case RT_STEP_DURATION: snprintf(out, 96, "after %g s", p->amount / 1e6); break;
  case RT_STEP_MANUAL: snprintf(out, 96, "on 'mlxc release ... promote'"); break;
  default: snprintf(out, 96, last ? "when promoted" : "when the promote rule holds"); break;
  }
}

static void print_status(const RtRelease *rel, const RtReleaseState *s, const char *where,
                         bool json) {
  char *store = rt_store_shown(where);   /* never a password */
  char since[48], started[48];
  fmt_time(s->since_us, false, since);
  fmt_time(s->started_us, false, started);
  if (json) {
    json_t *o = json_object();
    json_object_set_new(o, "release", json_string(rel->name));
    json_object_set_new(o, "state", json_string(phase_names[s->phase]));
    json_object_set_new(o, "step", s->phase == RT_RS_NOT_STARTED ? json_null()
                                                                 : json_integer(s->step + 1));
    json_object_set_new(o, "steps", json_integer(rel->n_steps));
    json_object_set_new(o, "percent", json_real(s->percent));
    json_object_set_new(o, "since_us", s->phase ? json_integer(s->since_us) : json_null());
    json_object_set_new(o, "started_us", s->phase ? json_integer(s->started_us) : json_null());
    json_object_set_new(o, "step_requests", json_integer(s->step_requests));
    json_object_set_new(o, "observations", json_integer(s->observations));
    json_object_set_new(o, "seq", json_integer(s->seq));
    json_object_set_new(o, "reason", s->phase ? json_string(s->reason) : json_null());
    json_object_set_new(o, "store", json_string(store));
    char *t = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(10));
    if (t) puts(t);
    free(t);
    json_decref(o);
    free(store);
    return;
  }
  switch (s->phase) {
  case RT_RS_NOT_STARTED:
    printf("release %s: not started\n", rel->name);
    break;
  case RT_RS_STEP: {
    const RtReleaseStep *p = &rel->steps[s->step];
    char end[96];
    step_end(p, s->step == rel->n_steps - 1, end);
    printf("release %s: step %d of %d, %g%% of traffic to the candidate, since %s\n", rel->name,
           s->step + 1, rel->n_steps, s->percent, since);
    printf("  this step: %lld candidate requests in %lld observations; it ends %s\n",
           (long long)s->step_requests, (long long)s->observations, end);
    if (s->last_check_us) {   /* where the rules stand after the last conclusive check */
      printf("  last conclusive check: promote when %s: %s\n", rel->promote.text,
             s->last_promote == 1 ? "true" : s->last_promote == 0 ? "false" : "undefined");
      for (int k = 0; k < rel->n_rollback && k < RT_MAX_ROLLBACK; k++)
        if (s->streak[k])
          printf("  rollback when %s: true on %d of %d checks\n", rel->rollback[k].text,
                 s->streak[k], rel->rollback[k].for_checks);
    }
    printf("  started %s; %s\n", started, s->reason);
    break;
  }
  default:
    printf("release %s: %s at %s (%g%% of traffic to the candidate)\n", rel->name,
           s->phase == RT_RS_PROMOTED ? "promoted" : s->phase == RT_RS_ROLLED_BACK
                                                         ? "rolled back" : "aborted",
           since, s->percent);
    printf("  started %s; %s\n", started, s->reason);
    break;
  }
  printf("  store: %s (%lld events)\n", store, (long long)s->seq);
  free(store);
}

static void print_history(const RtEvent *ev, int64_t n, bool json) {
  for (int64_t i = 0; i < n; i++) {
    const RtEvent *e = &ev[i];
    const char *kind = e->kind < RT_EV__COUNT ? rt_event_names[e->kind]
                     : e->other_kind ? e->other_kind : "?";
    if (json) {
      json_t *o = json_object();
      json_object_set_new(o, "seq", json_integer(e->seq));
      json_object_set_new(o, "time_us", json_integer(e->time_us));
      json_object_set_new(o, "kind", json_string(kind));
      json_object_set_new(o, "who", e->who ? json_string(e->who) : json_null());
      json_object_set_new(o, "why", e->why ? json_string(e->why) : json_null());
      json_t *d = json_loads(e->detail, 0, NULL);
      json_object_set_new(o, "detail", d ? d : json_string(e->detail));
      char *t = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
      if (t) puts(t);
      free(t);
      json_decref(o);
      continue;
    }
    char t[48];
    fmt_time(e->time_us, true, t);
    printf("%lld  %s  %s", (long long)e->seq, t, kind);
    if (e->who) printf("  by %s", e->who);
    if (e->why && *e->why) printf("  why \"%s\"", e->why);
    printf("  %s\n", e->detail);
  }
}

/* ---- start: the candidate's offline gate -------------------------------------- */

char *rt_release_candidate_path(const RtRelease *rel, const char *out_dir) {
  if (rel->candidate_path) return rt_release_store_path(rel, rel->candidate_path);
  const char *d = out_dir ? out_dir : "out";
  size_t len = strlen(d) + strlen(rel->candidate_train ? rel->candidate_train : "") + 8;
  char *p = rt_xmalloc(len);
  snprintf(p, len, "%s/%s.mlxm", d, rel->candidate_train ? rel->candidate_train : "");
  return p;
}

/* Checks that the candidate's embedded gate results of rel's gate all passed
 * (or were skipped). Returns 0, 3 (refused, reported) or 4 (no model). *nres
 * gets the clauses found. */
static int gate_passed(const RtRelease *rel, const char *cand, int *nres) {
  *nres = 0;
  struct stat sb;
  if (stat(cand, &sb) != 0) {
    rt_diag(RT_ERROR, rel->candidate_loc, "candidate model '%s' does not exist", cand);
    if (rel->candidate_train)
      rt_note(rel->candidate_loc, "train it first: mlxc run %s %s", rel->spec_path,
              rel->candidate_train);
    return EXIT_DATA;
  }
  RtModel *m = rt_model_load(cand);
  if (!m) return EXIT_DATA;
  if (!rel->gate) {
    rt_model_free(m);
    return EXIT_OK;
  }
  json_t *o = m->metrics_json ? json_loads(m->metrics_json, 0, NULL) : NULL;
  json_t *gates = json_object_get(o, "gates");
  int failed = 0;
  for (size_t i = 0; json_is_array(gates) && i < json_array_size(gates); i++) {
    json_t *g = json_array_get(gates, i);
    const char *name = json_string_value(json_object_get(g, "name"));
    if (!name || strcmp(name, rel->gate->name)) continue;
    (*nres)++;
    if (!json_is_false(json_object_get(g, "passed"))) continue;
    const char *expr = json_string_value(json_object_get(g, "expr"));
    RtLoc at = rel->gate->use_loc;
    for (int k = 0; expr && k < rel->gate->n_lines; k++)
      if (!strcmp(rel->gate->lines[k].text, expr)) at = rel->gate->lines[k].loc;
    json_t *v = json_object_get(g, "value");
    if (json_is_number(v))
      rt_diag(RT_ERROR, at, "release '%s' cannot start: the candidate failed gate '%s': %s (%.4g)",
              rel->name, name, expr ? expr : "?", json_number_value(v));
    else
      rt_diag(RT_ERROR, at, "release '%s' cannot start: the candidate failed gate '%s': %s",
              rel->name, name, expr ? expr : "?");
    rt_note(rel->gate->use_loc, "the release names gate '%s' here; the result is the one "
                                "recorded in '%s'", name, cand);
    failed++;
  }
  int code = EXIT_OK;
  if (!failed && !*nres) {
    rt_diag(RT_ERROR, rel->gate->use_loc,
            "release '%s' cannot start: the candidate '%s' has no results of gate '%s'",
            rel->name, cand, rel->gate->name);
    rt_note(rel->candidate_loc, "the gate is checked when the candidate trains: give its train "
                                "a 'gate %s' line and run it again", rel->gate->name);
    code = EXIT_REFUSED;
  } else if (failed) {
    code = EXIT_REFUSED;
  }
  json_decref(o);
  rt_model_free(m);
  return code;
}

/* ---- commands ------------------------------------------------------------------ */

static const char *state_words(const RtReleaseState *s) {
  switch (s->phase) {
  case RT_RS_NOT_STARTED: return "it has not started";
  case RT_RS_PROMOTED: return "it was promoted";
  case RT_RS_ROLLED_BACK: return "it was rolled back";
  case RT_RS_ABORTED: return "it was aborted";
  default: return "it is running";
  }
}

/* A command the state does not allow: exit 3 at the release. */
static int refuse(const RtRelease *rel, const RtReleaseState *s, const char *cmd) {
  cmd = !strcmp(cmd, "promote") ? "be promoted" : !strcmp(cmd, "rollback") ? "be rolled back"
      : !strcmp(cmd, "abort") ? "be aborted" : cmd;
  if (s->phase == RT_RS_STEP)
    rt_diag(RT_ERROR, rel->loc, "release '%s' cannot %s: it is running (step %d of %d, since "
            "event %lld)", rel->name, cmd, s->step + 1, rel->n_steps, (long long)s->last_seq);
  else if (s->phase == RT_RS_NOT_STARTED)
    rt_diag(RT_ERROR, rel->loc, "release '%s' cannot %s: %s", rel->name, cmd, state_words(s));
  else
    rt_diag(RT_ERROR, rel->loc, "release '%s' cannot %s: %s (event %lld)", rel->name, cmd,
            state_words(s), (long long)s->last_seq);
  if (s->phase != RT_RS_STEP && s->phase != RT_RS_NOT_STARTED)
    rt_note(rel->loc, "a finished rollout stays finished; a new one needs a new store "
                      "(--store PATH)");
  else if (s->phase == RT_RS_NOT_STARTED)
    rt_note(rel->loc, "start it with: mlxc release %s %s start", rel->spec_path, rel->name);
  return EXIT_REFUSED;
}

static char *detail_text(json_t *o) {
  char *t = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
  json_decref(o);
  return t;
}

RtEventKind rt_release_manual_event(const RtRelease *rel, const RtReleaseState *s,
                                    const char *cmd, char **detail) {
  json_t *d = json_object();
  RtEventKind kind;
  if (!strcmp(cmd, "promote")) {
    int next = s->step + 1, last = rel->n_steps - 1;
    /* the last step, or entering a last 100% step that holds nothing: done */
    bool done = s->step == last || (next == last && rel->steps[last].kind == RT_STEP_OPEN);
    kind = done ? RT_EV_PROMOTED : RT_EV_STEP_ADVANCED;
    json_object_set_new(d, "step", json_integer(done ? last : next));
    json_object_set_new(d, "percent", json_real(rel->steps[done ? last : next].percent));
    json_object_set_new(d, "from_step", json_integer(s->step));
  } else {
    kind = !strcmp(cmd, "rollback") ? RT_EV_ROLLED_BACK : RT_EV_ABORTED;
    json_object_set_new(d, "step", json_integer(s->step));
    json_object_set_new(d, "percent", json_real(0));
    json_object_set_new(d, "from_percent", json_real(s->percent));
  }
  *detail = detail_text(d);
  return kind;
}

/* start, promote, rollback, abort: under the write lock, replay, decide,
 * append. */
static int mutate(const RtRelease *rel, const RtReleaseOpts *o, const char *store) {
  bool start = !strcmp(o->cmd, "start");
  int code = 0;
  RtJournal *j = rt_journal_open(store, rel->name, o->spec_hash, start, &code);
  if (!j) {
    if (code) return code;
    RtReleaseState none;
    memset(&none, 0, sizeof none);
    return refuse(rel, &none, o->cmd);   /* no store: nothing started */
  }
  const char *who = o->who && *o->who ? o->who : getenv("USER");
  if (!who || !*who) who = "unknown";
  char *cand = NULL, *detail = NULL;
  RtReleaseState s;
  if (rt_journal_begin(j) || rt_journal_state(j, rel, &s)) {
    code = EXIT_ENV;
    goto done;
  }
  int64_t now = rt_release_now_us();
  if (now < s.since_us) now = s.since_us;   /* a clock set back: time never runs backwards here */
  RtEventKind kind;
  json_t *d = json_object();
  if (start) {
    if (s.phase != RT_RS_NOT_STARTED) {
      json_decref(d);
      code = refuse(rel, &s, "start");
      goto done;
    }
    cand = rt_release_candidate_path(rel, o->out_dir);
    int nres;
    if ((code = gate_passed(rel, cand, &nres))) {
      json_decref(d);
      goto done;
    }
    kind = RT_EV_STARTED;
    json_object_set_new(d, "step", json_integer(0));
    json_object_set_new(d, "percent", json_real(rel->steps[0].percent));
    json_object_set_new(d, "spec_hash", json_string(o->spec_hash));
    json_object_set_new(d, "candidate", json_string(cand));
    json_object_set_new(d, "baseline", rel->baseline ? json_string(rel->baseline) : json_null());
    json_object_set_new(d, "gate", rel->gate ? json_string(rel->gate->name) : json_null());
    json_object_set_new(d, "gate_clauses", json_integer(nres));
  } else if (s.phase != RT_RS_STEP) {
    json_decref(d);
    code = refuse(rel, &s, o->cmd);
    goto done;
  } else {
    json_decref(d);
    d = NULL;
    kind = rt_release_manual_event(rel, &s, o->cmd, &detail);
  }
  if (d) detail = detail_text(d);
  int64_t seq = rt_journal_append(j, kind, now, who, o->why, detail);
  if (seq < 0 || rt_journal_commit(j)) {
    code = EXIT_ENV;
    goto done;
  }
  /* the state the command left, from the journal as it now stands */
  if (rt_journal_state(j, rel, &s)) {
    code = EXIT_ENV;
    goto done;
  }
  print_status(rel, &s, store, o->json);
done:
  free(cand);
  free(detail);
  rt_journal_close(j);
  return code;
}

int rt_release_cmd(const RtRelease *rel, const RtReleaseOpts *o) {
  static const char *const cmds[] = {"status", "start", "promote", "rollback", "abort", "history"};
  bool known = false;
  for (size_t i = 0; i < sizeof cmds / sizeof *cmds; i++) known |= !strcmp(o->cmd, cmds[i]);
  if (!known) {
    fprintf(stderr, "mlxc: error: unknown release command '%s' (status start promote rollback "
                    "abort history simulate)\n(run 'mlxc --help' for usage)\n", o->cmd);
    return EXIT_USAGE;
  }
  if (o->store && !*o->store) {
    fprintf(stderr, "mlxc: error: --store needs a file path or a postgresql:// URI\n(run "
                    "'mlxc --help' for usage)\n");
    return EXIT_USAGE;
  }
  char *store = rt_release_store_path(rel, o->store);
  int code = EXIT_OK;
  if (strcmp(o->cmd, "status") && strcmp(o->cmd, "history")) {
    code = mutate(rel, o, store);
    free(store);
    return code;
  }
  RtJournal *j = rt_journal_open(store, rel->name, o->spec_hash, false, &code);
  RtEvent *ev = NULL;
  int64_t n = 0;
  if (j && rt_journal_read(j, &ev, &n)) code = EXIT_ENV;
  if (!code) {
    if (!strcmp(o->cmd, "history")) {
      print_history(ev, n, o->json);
    } else {
      RtReleaseState s = rt_release_replay(rel, ev, n);
      print_status(rel, &s, store, o->json);
    }
  }
  rt_events_free(ev, n);
  rt_journal_close(j);
  free(store);
  return code;
}
