/* release_check.c — what `mlxc check` proves about a release beyond its
 * statements' forms (docs/language.md "What the checker proves"): the live
 * metrics a rule may read (live.* figures every window has, and the feedback
 * metrics of the candidate's task), the columns drift() may read (those the
 * candidate's model reads), warnings where a step's or a check's request
 * count cannot let a rule decide (the rule of three) or lets drift() noise
 * roll back, and the notes `check` prints: the least time to full rollout
 * and the worst-case time to roll back, computed by release_bounds, which
 * `mlxc release ... simulate` checks its runs against. Ownership: nothing
 * is kept; messages go out through diag_*. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "mlxc.h"

#define NELEM(a) ((int)(sizeof(a) / sizeof((a)[0])))

/* Figures every window has (rt_live_metric), then the feedback metrics by task. */
static const char *const live_window[] = {"requests", "error_rate", "p50", "p99", "labelled"};
static const char *const fb_binary[] = {"loss", "accuracy", "precision", "recall", "f1", "auc",
                                        "log_loss"};
static const char *const fb_multi[] = {"loss", "accuracy", "log_loss", "precision", "recall", "f1"};
static const char *const fb_reg[] = {"loss", "mse", "rmse", "mae", "r2"};
static const char *const task_words[] = {"regression", "binary", "multiclass"};

static int find(const char *w, const char *const *v, int n) {
  for (int i = 0; i < n; i++)
    if (!strcmp(w, v[i])) return i;
  return -1;
}

static const char *const *task_metrics(int task, int *n) {
  switch (task) {
  case RT_TASK_BINARY: *n = NELEM(fb_binary); return fb_binary;
  case RT_TASK_MULTICLASS: *n = NELEM(fb_multi); return fb_multi;
  default: *n = NELEM(fb_reg); return fb_reg;
  }
}

/* live.M: the figures of every window, else the feedback metrics of the
 * candidate's task; "not a metric of a TASK candidate" for another task's. */
bool release_live_metric(Span at, const char *path, const char *m, int task, bool *duration) {
  *duration = !strcmp(m, "p50") || !strcmp(m, "p99");
  if (find(m, live_window, NELEM(live_window)) >= 0) return true;
  int n;
  const char *const *tm = task_metrics(task, &n);
  if (task >= 0 && find(m, tm, n) >= 0) return true;
  if (task < 0) {   /* a candidate model file: any task's metric */
    for (int t = 0; t < 3; t++) {
      tm = task_metrics(t, &n);
      if (find(m, tm, n) >= 0) return true;
    }
  }
  bool other = false;
  for (int t = 0; t < 3 && !other; t++) {
    tm = task_metrics(t, &n);
    other = find(m, tm, n) >= 0;
  }
  if (other) {
    diag_error(at, "'%s' is not a metric of a %s candidate", path, task_words[task]);
    tm = task_metrics(task, &n);
    char list[256] = "";
    for (int i = 0; i < n; i++)
      snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", i ? " " : "", tm[i]);
    diag_note(at, "live traffic gives 'requests error_rate p50 p99 labelled', and with feedback "
                  "'%s'", list);
    return false;
  }
  diag_error(at, "unknown live metric '%s'", path);
  const char *cands[NELEM(live_window) + 16];
  int k = 0;
  for (int i = 0; i < NELEM(live_window); i++) cands[k++] = live_window[i];
  tm = task_metrics(task < 0 ? RT_TASK_BINARY : task, &n);
  for (int i = 0; i < n; i++) cands[k++] = tm[i];
  const char *best = diag_suggest(m, cands, k);
  if (best) diag_note(at, "did you mean '%s'?", best);
  return false;
}

/* Whether the candidate's model reads column col (rt_data.c's roles: a
 * feature's column or one its expression reads, or with `feature *` every
 * column that is neither dropped nor the label). */
static bool reads_column(const RtDataSpec *s, const char *col) {
  for (int i = 0; i < s->n_feats; i++) {
    const RtFeature *f = &s->feats[i];
    const char *name = f->column ? f->column : f->name;
    if (name && !strcmp(name, col)) return true;
    for (int k = 0; k < f->n_prog; k++)
      if (f->prog[k].op == RT_XOP_COL && f->prog[k].column && !strcmp(f->prog[k].column, col))
        return true;
  }
  if (s->label && !strcmp(s->label, col)) return false;
  for (int i = 0; i < s->n_drop; i++)
    if (!strcmp(s->drop[i], col)) return false;
  return s->star;
}

/* drift(col) of a column the model does not read would never have a value. */
bool release_drift_column(Span at, const RtDataSpec *s, const char *col) {
  if (!s || reads_column(s, col)) return true;
  bool label = s->label && !strcmp(s->label, col);
  bool dropped = false;
  for (int i = 0; i < s->n_drop; i++) dropped |= !strcmp(s->drop[i], col);
  diag_error(at, "drift('%s') has no value: the candidate's model does not read '%s'%s", col, col,
             label ? " (it is the label)" : dropped ? " (it is dropped)" : "");
  diag_note(at, "drift() compares the columns a model reads with their training distribution");
  return false;
}

/* ---- durations ----------------------------------------------------------------- */


/* ---- rules: the rule of three -------------------------------------------------- */

/* The least counts a conclusive check guarantees where a comparison is read:
 * candidate requests, and labelled requests. */
typedef struct Least {
  double requests, labelled;
} Least;

/* The window figure x reads when it is a candidate live.M (not baseline). */
static const char *live_of(const RtGateExpr *x) {
  return x && x->op == RT_GX_METRIC && x->split == 4 && !x->baseline ? x->metric : NULL;
}

/* `live.requests > K` style guards in a conjunction raise the least counts. */
static void guard(const RtRuleCond *c, Least *l) {
  if (!c) return;
  if (c->op == RT_RC_AND) {
    guard(c->a, l);
    guard(c->b, l);
    return;
  }
  if (c->op != RT_RC_CMP) return;
  const RtGateExpr *m = c->lhs, *k = c->rhs;
  RtGateCmp op = c->cmp;
  if (!live_of(m)) {   /* K < live.requests: flip */
    m = c->rhs, k = c->lhs;
    op = op == RT_GC_LT ? RT_GC_GT : op == RT_GC_LE ? RT_GC_GE : op == RT_GC_GT ? RT_GC_LT
       : op == RT_GC_GE ? RT_GC_LE : op;
  }
  const char *w = live_of(m);
  if (!w || k->op != RT_GX_NUM) return;
  double v = op == RT_GC_GT ? floor(k->num) + 1 : op == RT_GC_GE || op == RT_GC_EQ ? ceil(k->num) : -1;
  if (!strcmp(w, "requests") && v > l->requests) l->requests = v;
  if (!strcmp(w, "labelled") && v > l->labelled) l->labelled = v;
}

/* A comparison of live.error_rate (or live.accuracy) with a constant: warned
 * when the least count l cannot tell the threshold's error rate p from 0,
 * n < ceil(3/p) (the rule of three). */
static void rate_warn(const RtRuleCond *c, Ast *e, Least l, const char *rule) {
  const RtGateExpr *m = c->lhs, *k = c->rhs;
  Ast *ms = e->kids[0];
  if (!live_of(m)) m = c->rhs, k = c->lhs, ms = e->kids[1];
  const char *w = live_of(m);
  if (!w || k->op != RT_GX_NUM) return;
  bool err = !strcmp(w, "error_rate"), acc = !strcmp(w, "accuracy");
  if (!err && !acc) return;
  double p = err ? k->num : 1 - k->num;   /* the rate of errors the threshold names */
  if (!(p > 0 && p < 1)) return;
  double need = ceil(3 / p - 1e-9), have = err ? l.requests : l.labelled;
  if (have >= need) return;
  char hv[48];
  if (have < 1) snprintf(hv, sizeof hv, "no %s request", err ? "candidate" : "labelled");
  else snprintf(hv, sizeof hv, "%.15g %s request%s", have, err ? "candidate" : "labelled",
                have == 1 ? "" : "s");
  diag_warning(ms->span, "%s: a conclusive check may count %s, too few to tell an %s of %g "
                         "from %s (it takes %.15g)", rule, hv, err ? "error rate" : "accuracy",
               err ? p : 1 - p, err ? "0" : "1", need);
  diag_note(ms->span, "the rule of three: with no error in n requests the error rate is below 3/n "
                      "at 95%%; 3/%g = %.15g", p, need);
  if (err) diag_note(ms->span, "say 'min %.15g requests' in 'check', or guard the rule with "
                               "'live.requests >= %.15g and ...'", need, need);
  else diag_note(ms->span, "guard the rule with 'live.labelled >= %.15g and ...'", need);
}

/* A rollback rule reading drift(COL) > t (a constant t below 0.69) when a
 * conclusive check may count fewer than 51 candidate requests: a decile bin
 * no request of the window falls in adds (0.1 - 1e-4) ln(0.1 / 1e-4) = 0.69
 * to the PSI by itself, and with n requests some bin of ten is empty, with
 * no drift at all, with probability about 1 - (1 - 0.9^n)^10 (5% at 51).
 * `mlxc release ... simulate` showed healthy candidates rolled back so. */
static int walk_neg;   /* inside a `not`: comparisons read the other way */
static void drift_warn(const RtRuleCond *c, Ast *e, Least l, const char *rule) {
  if (strcmp(rule, "rollback when") || walk_neg) return;
  const RtGateExpr *d = c->lhs, *k = c->rhs;
  Ast *ds = e->kids[0];
  bool up = c->cmp == RT_GC_GT || c->cmp == RT_GC_GE;
  if (!(d->op == RT_GX_METRIC && d->split == 5)) {
    d = c->rhs, k = c->lhs, ds = e->kids[1];
    up = c->cmp == RT_GC_LT || c->cmp == RT_GC_LE;
  }
  if (!(d->op == RT_GX_METRIC && d->split == 5) || k->op != RT_GX_NUM || !up) return;
  double empty = (0.1 - RT_PSI_EPS) * log(0.1 / RT_PSI_EPS), n = l.requests;
  double need = ceil(log(0.05 / 10) / log(0.9));
  if (!(k->num < empty) || n >= need) return;
  double p = 1 - pow(1 - pow(0.9, n), 10);
  char hv[48];
  snprintf(hv, sizeof hv, "%.15g candidate request%s", n, n == 1 ? "" : "s");
  diag_warning(ds->span, "%s: a conclusive check may count %s, too few for drift() against %g: "
                         "a decile bin no request falls in adds %.2f to the PSI, and some bin of "
                         "ten is empty in about %.0f%% of such windows without any drift (it "
                         "takes %.15g for 5%%)", rule, hv, k->num, empty, p * 100, need);
  diag_note(ds->span, "say 'min %.15g requests' in 'check', or guard the rule with "
                      "'live.requests >= %.15g and ...'", need, need);
}

/* Walks a rule's AST beside the condition sema built from it (rule_cond
 * mirrors and / or / not / comparisons one for one). */
static void rule_walk(const RtRuleCond *c, Ast *e, Least l, const char *rule) {
  if (!c || !e) return;
  switch (c->op) {
  case RT_RC_AND:
    guard(c, &l);
    /* fall through */
  case RT_RC_OR:
    if (e->kind == AST_BINARY && e->nkids == 2) {
      rule_walk(c->a, e->kids[0], l, rule);
      rule_walk(c->b, e->kids[1], l, rule);
    }
    break;
  case RT_RC_NOT:
    if (e->kind == AST_UNARY && e->nkids == 1) {
      walk_neg = !walk_neg;
      rule_walk(c->a, e->kids[0], l, rule);
      walk_neg = !walk_neg;
    }
    break;
  case RT_RC_CMP:
    if (e->kind == AST_BINARY && e->nkids == 2) {
      rate_warn(c, e, l, rule);
      drift_warn(c, e, l, rule);
    }
    break;
  default: break;
  }
}

/* The `when` condition of a rule statement. */
static Ast *when_cond(Ast *st) {
  if (!st->nkids || !st->kids[0]->nkids) return NULL;
  Ast *w = st->kids[0]->kids[0];
  return w->kind == AST_MOD && w->nkids ? w->kids[0] : NULL;
}

static bool is_stmt(const Ast *st, const char *w) {
  return st->kind == AST_STMT && st->name && !strcmp(st->name, w);
}

static Span name_span(const Ast *n) { return n->name_span.hi > n->name_span.lo ? n->name_span : n->span; }

/* ---- the bounds: one computation for the notes and the simulator ------------- */

/* The least time and candidate requests step i can take, checks W apart
 * from the step's beginning (docs/language.md "What the checker proves"):
 * a step the rules end lasts whole windows, since it advances only at a
 * check: `for D` ceil(D / W) windows (at least one), `for N requests` and
 * condition-less steps one; manual steps and the bare last 100% step
 * (entering it is promotion) none. */
static void step_least(const RtRelease *r, int i, double W, double M, double *t, double *q) {
  const RtReleaseStep *p = &r->steps[i];
  bool last = i == r->n_steps - 1;
  *t = W, *q = M > 1 ? M : 1;
  if (p->kind == RT_STEP_MANUAL || (p->kind == RT_STEP_OPEN && last && i > 0)) {
    *t = 0, *q = 0;
  } else if (p->kind == RT_STEP_DURATION) {
    double k = ceil(p->amount / W - 1e-9);
    *t = (k > 1 ? k : 1) * W;
  } else if (p->kind == RT_STEP_REQUESTS && p->amount > *q) {
    *q = p->amount;
  }
}

void release_bounds(const RtRelease *r, RtReleaseBounds *b) {
  memset(b, 0, sizeof *b);
  double W = r->check_us > 0 ? r->check_us : 30e6, M = (double)r->min_requests;
  b->check_us = W;
  b->timeout_us = r->timeout_us > 0 ? r->timeout_us : 0;
  for (int i = 0; i < r->n_steps; i++) {
    double t, q;
    step_least(r, i, W, M, &t, &q);
    b->least_us += t, b->least_requests += q;
    b->manual += r->steps[i].kind == RT_STEP_MANUAL;
  }
  b->rollback_rule = -1;
  for (int k = 0; k < r->n_rollback; k++)
    if (b->rollback_rule < 0 || r->rollback[k].for_checks > r->rollback[b->rollback_rule].for_checks)
      b->rollback_rule = k;
  if (b->rollback_rule >= 0) {
    int n = r->rollback[b->rollback_rule].for_checks;
    b->rollback_us = (n > 0 ? n : 1) * W;
  }
}

/* Whether a condition reads a feedback metric (live.auc, live.accuracy,
 * ...: a value only once labels come back through POST /feedback). */
static bool reads_feedback(const RtRuleCond *c) {
  if (!c) return false;
  if (c->op == RT_RC_CMP) {
    const RtGateExpr *x[2] = {c->lhs, c->rhs};
    for (int i = 0; i < 2; i++) {
      const char *m = x[i] && x[i]->op == RT_GX_METRIC && x[i]->split == 4 ? x[i]->metric : NULL;
      if (m && strcmp(m, "requests") && strcmp(m, "error_rate") && strcmp(m, "p50") &&
          strcmp(m, "p99") && strcmp(m, "labelled"))
        return true;
    }
    return false;
  }
  return reads_feedback(c->a) || reads_feedback(c->b);
}

/* What the declared policies do to the bounds: `inconclusive rollback|advance
 * for N checks` acts N x W after the traffic falls short; `missing rollback`
 * with a rule on feedback metrics rolls back unless labels come back. */
static void policy_notes(const RtRelease *r, Ast *blk, double W, double M) {
  Ast *inc = NULL, *mis = NULL;
  for (int i = 0; i < blk->nkids; i++) {
    if (is_stmt(blk->kids[i], "inconclusive")) inc = blk->kids[i];
    if (is_stmt(blk->kids[i], "missing")) mis = blk->kids[i];
  }
  char w[64], t[64], few[96];
  rt_dur_text(W, w, sizeof w);
  if (M > 1) snprintf(few, sizeof few, "fewer than %.15g candidate requests", M);
  else snprintf(few, sizeof few, "no candidate request");
  if (inc && r->inconclusive != RT_INC_HOLD && r->inconclusive_checks > 0) {
    rt_dur_text(r->inconclusive_checks * W, t, sizeof t);
    if (r->inconclusive == RT_INC_ROLLBACK)
      rt_note(span_loc(inc->span), "a step in which every window has %s rolls back after %d "
                                   "checks of %s = %s", few, r->inconclusive_checks, w, t);
    else
      rt_note(span_loc(inc->span), "a step in which every window has %s advances %s (%d checks "
                                   "of %s) after its condition is met, without the promote rule",
              few, t, r->inconclusive_checks, w);
    if (r->inconclusive == RT_INC_ADVANCE && M <= 1)
      diag_warning(inc->span, "without 'min N requests' in 'check' only a window with no "
                              "candidate request is inconclusive: 'inconclusive advance' moves "
                              "on when the candidate gets no traffic at all");
  }
  if (mis && r->missing_rollback)
    for (int k = 0; k < r->n_rollback; k++)
      if (reads_feedback(r->rollback[k].cond)) {
        int n = r->rollback[k].for_checks > 0 ? r->rollback[k].for_checks : 1;
        rt_dur_text(n * W, t, sizeof t);
        rt_note(r->rollback[k].loc, "with 'missing rollback' this rule holds while no labels "
                                    "come back (POST /feedback): it rolls back %s after a "
                                    "conclusive check without them", t);
      }
}

/* ---- the whole release ---------------------------------------------------------- */

bool release_check_report = false;

/* The warnings, then the two notes (docs/language.md "What the checker
 * proves" states each formula). */
void release_check(const RtRelease *r, Ast *blk, bool notes) {
  if (!r || !blk || !notes || !release_check_report) return;
  double W = r->check_us > 0 ? r->check_us : 30e6;
  double M = (double)r->min_requests;
  Ast *min_at = NULL, *timeout = NULL;
  Ast *steps[256];
  int ns = 0, nrb = 0;
  for (int i = 0; i < blk->nkids; i++) {
    Ast *st = blk->kids[i];
    if (is_stmt(st, "check")) {
      for (int j = 0; st->nkids && j < st->kids[0]->nkids; j++) {
        Ast *m = st->kids[0]->kids[j];
        if (m->kind == AST_MOD && m->name && !strcmp(m->name, "min")) min_at = m;
      }
    }
    if (is_stmt(st, "timeout")) timeout = st;
    if (is_stmt(st, "step") && ns < 256) steps[ns++] = st;
  }
  /* steps whose request count ends before a check can be conclusive */
  for (int i = 0; i < r->n_steps && i < ns; i++) {
    const RtReleaseStep *p = &r->steps[i];
    if (p->kind != RT_STEP_REQUESTS || p->amount >= M) continue;
    Ast *st = steps[i];
    Ast *cnt = st->nkids && st->kids[0]->nkids > 1 && st->kids[0]->kids[1]->nkids
                   ? st->kids[0]->kids[1]->kids[0] : st;
    diag_warning(cnt->span, "step %d ends after %.15g candidate requests, fewer than the %.15g a "
                            "check needs to be conclusive: the step cannot end before a check "
                            "of %.15g", i + 1, p->amount, M, M);
    if (min_at) diag_note(min_at->span, "the check's minimum is here");
  }
  /* rules reading an error rate or an accuracy with too few requests */
  Least base = {M > 1 ? M : 1, 0};
  for (int i = 0; i < blk->nkids; i++) {
    Ast *st = blk->kids[i];
    if (is_stmt(st, "promote")) rule_walk(r->promote.cond, when_cond(st), base, "promote when");
    if (is_stmt(st, "rollback") && nrb < r->n_rollback)
      rule_walk(r->rollback[nrb++].cond, when_cond(st), base, "rollback when");
  }
  /* the least time to 100% (release_bounds; per step, what ends it) */
  RtReleaseBounds bd;
  release_bounds(r, &bd);
  double total = bd.least_us, reqs = bd.least_requests;
  int manual = bd.manual;
  char list[1024] = "", d[64];
  for (int i = 0; i < r->n_steps; i++) {
    double t, q;
    step_least(r, i, W, M, &t, &q);
    if (r->steps[i].kind == RT_STEP_MANUAL) snprintf(d, sizeof d, "manual");
    else rt_dur_text(t, d, sizeof d);
    size_t l = strlen(list);
    snprintf(list + l, sizeof list - l, "%s%s", i ? " + " : "", d);
  }
  char tot[64];
  rt_dur_text(total, tot, sizeof tot);
  char man[64] = "";
  if (manual) snprintf(man, sizeof man, ", plus %d manual promotion%s", manual, manual == 1 ? "" : "s");
  rt_diag(RT_NOTE, span_loc(name_span(blk)),
          "release '%s' takes at least %s and %.15g candidate request%s to reach 100%% "
          "(steps: %s)%s", r->name, tot, reqs, reqs == 1 ? "" : "s", list, man);
  /* the worst case to roll back: the slowest rule's N checks of W */
  int slow = bd.rollback_rule;
  char to[64] = "";
  if (r->timeout_us > 0) rt_dur_text(r->timeout_us, to, sizeof to);
  if (slow >= 0) {
    const RtReleaseRule *rr = &r->rollback[slow];
    int n = rr->for_checks > 0 ? rr->for_checks : 1;
    char w[64], worst[64];
    rt_dur_text(W, w, sizeof w);
    rt_dur_text(bd.rollback_us, worst, sizeof worst);
    RtLoc at = rr->loc;
    char mins[64] = "";
    if (M > 1) snprintf(mins, sizeof mins, " of at least %.15g candidate requests", M);
    rt_note(at, "it rolls back within %s once a rollback condition holds on every check%s "
                "(the slowest rule, '%s', needs %d check%s of %s)", worst, mins, rr->text, n,
            n == 1 ? "" : "s", w);
  } else if (timeout) {
    rt_note(span_loc(timeout->span), "it has no rollback rule: only the timeout rolls it back, "
                                     "%s after a step's condition is met without the promote "
                                     "rule true", to);
  } else {
    rt_note(span_loc(name_span(blk)), "it has no rollback rule and no timeout: it rolls back "
                                      "only by 'mlxc release ... rollback'");
  }
  if (slow >= 0 && timeout)
    rt_note(span_loc(timeout->span), "while the promote rule is not true, the timeout rolls it "
                                     "back %s after a step's condition is met", to);
  policy_notes(r, blk, W, M);
}
