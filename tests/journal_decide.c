/* journal_decide.c — the release state machine driven by synthetic check
 * windows through a real journal by rt_release_tick: each window's rules
 * evaluated (rt_release_check), journaled as an observation, the journal
 * replayed and rt_release_decide's event appended. A healthy candidate advances step by
 * step and waits at the manual step; errors roll back after `for 3 checks`
 * (inconclusive windows neither count nor break the run); drift rolls back
 * at once; a missing metric never promotes and the timeout rolls back. The
 * declared policies: `inconclusive rollback|advance for N checks` act on N
 * inconclusive checks in a row in a step, `missing rollback` makes a rule
 * undefined for missing data hold. The decisions are then re-derived from
 * every prefix of each journal (the journal replays to the same decisions). */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "compiler/mlxc.h"

static const char spec[] =
    "release r {\n"
    "  candidate \"x.mlxm\"\n"
    "  check every 30s min 100 requests\n"
    "  step 1% for 500 requests\n"
    "  step 5% for 10m\n"
    "  step 50% manual\n"
    "  step 100%\n"
    "  promote when live.error_rate <= 0.01 and live.p99 < 5ms\n"
    "  rollback when live.error_rate > 0.05 for 3 checks\n"
    "  rollback when drift(*) > 0.25\n"
    "  timeout 1h\n"
    "}\n"
    "release q {\n"
    "  candidate \"x.mlxm\"\n"
    "  check every 30s min 100 requests\n"
    "  step 10% for 10m\n"
    "  step 100%\n"
    "  promote when live.error_rate <= 0.01\n"
    "  rollback when live.p99 > 5ms\n"
    "  inconclusive rollback for 4 checks\n"
    "  missing rollback\n"
    "}\n"
    "release v {\n"
    "  candidate \"x.mlxm\"\n"
    "  check every 30s min 100 requests\n"
    "  step 10% for 2m\n"
    "  step 50% for 2m\n"
    "  step 100%\n"
    "  promote when live.error_rate <= 0.01\n"
    "  inconclusive advance for 3 checks\n"
    "}\n";

/* One window's figures. */
typedef struct Win {
  int64_t requests;
  double error_rate, p99_us, drift;
} Win;

static double metric(void *ctx, const RtGateExpr *m) {
  const Win *w = ctx;
  if (m->split == 5) return w->drift;
  if (m->split != 4 || m->baseline) return NAN;
  if (!strcmp(m->metric, "error_rate")) return w->error_rate;
  if (!strcmp(m->metric, "p99")) return w->p99_us;
  if (!strcmp(m->metric, "requests")) return (double)w->requests;
  return NAN;
}

static const RtRelease *rel;
static char dir[] = "/tmp/mlxc_decide_XXXXXX";

#define T0 1700000000000000LL
#define WIN 30000000LL

/* Runs windows from gen(i) until a final state or max windows; returns the
 * state and the window of the last transition in *at. */
static RtReleaseState run(const char *name, Win (*gen)(int), int max, int *at, int *n_dec) {
  char db[96];
  snprintf(db, sizeof db, "%s/%s.db", dir, name);
  int code;
  RtJournal *j = rt_journal_open(db, "r", "h", true, &code);
  CHECK(j != NULL, "%s: open", name);
  if (!j) exit(1);
  rt_journal_append(j, RT_EV_STARTED, T0, "test", NULL, "{\"spec_hash\":\"h\"}");
  RtReleaseState s = {0};
  *at = -1;
  *n_dec = 0;
  for (int i = 1; i <= max; i++) {
    int64_t now = T0 + i * WIN;
    Win w = gen(i);
    int k = rt_release_tick(j, rel, -1, w.requests, metric, &w, NULL, now, &s);
    CHECK(k >= 0, "%s: tick %d", name, i);
    if (k != RT_EV__COUNT) {
      *at = i;
      ++*n_dec;
    }
    if (s.phase != RT_RS_STEP) break;
  }
  /* every decision follows from the prefix before it, and no other point decides */
  RtEvent *ev;
  int64_t n;
  rt_journal_read(j, &ev, &n);
  for (int64_t i = 0; i < n; i++) {
    if (ev[i].kind != RT_EV_OBSERVATION) continue;
    RtReleaseState p = rt_release_replay(rel, ev, i + 1);
    int step;
    char why[256];
    RtEventKind k = rt_release_decide(rel, &p, ev[i].time_us, &step, why);
    RtEventKind next = i + 1 < n && ev[i + 1].kind != RT_EV_OBSERVATION ? ev[i + 1].kind
                                                                         : RT_EV__COUNT;
    CHECK(k == next, "%s: event %lld: the prefix decides %d, the journal has %d", name,
          (long long)ev[i].seq, (int)k, (int)next);
  }
  RtReleaseState again = rt_release_replay(rel, ev, n);
  CHECK(again.phase == s.phase && again.step == s.step && again.seq == s.seq, "%s: replay", name);
  rt_events_free(ev, n);
  rt_journal_close(j);
  return s;
}

static Win healthy(int i) { (void)i; return (Win){200, 0.001, 1000, 0.01}; }
static Win errors(int i) { (void)i; return (Win){200, 0.10, 1000, 0.01}; }
/* bad windows alternate with windows too small to decide */
static Win errors_sparse(int i) { return (Win){i % 2 ? 200 : 50, 0.10, 1000, 0.01}; }
/* a bad window, a good one, then bad ones: the run restarts */
static Win errors_broken(int i) { return (Win){200, i == 2 ? 0.0 : 0.10, 1000, 0.01}; }
static Win drifting(int i) { return (Win){200, 0.001, 1000, i >= 2 ? 0.30 : 0.01}; }
static Win no_latency(int i) { (void)i; return (Win){200, 0.001, NAN, 0.01}; }
static Win sparse(int i) { (void)i; return (Win){50, 0.0, 1000, 0.01}; }
/* three windows too small, then one that decides */
static Win gappy(int i) { return (Win){i % 4 ? 50 : 200, 0.0, 1000, 0.01}; }

int main(void) {
  Arena a = {0};
  uint32_t file = src_add("decide.mlx", spec, sizeof spec - 1);
  Ast *ast = parse_source(&a, file);
  bool data_error = false;
  Program *p = sema_check(&a, ast, SEMA_CHECK, &data_error);
  CHECK(p && p->nreleases == 3, "the spec checks");
  if (!p || p->nreleases != 3) return 1;
  rel = p->releases[0];
  CHECK(mkdtemp(dir) != NULL, "mkdtemp");

  int at, nd;
  /* healthy: 3 windows reach 500 requests (step 2 at window 3); 10 minutes
   * = 20 windows later step 3 (manual), where it waits */
  RtReleaseState s = run("healthy", healthy, 200, &at, &nd);
  CHECK(s.phase == RT_RS_STEP && s.step == 2 && s.percent == 50 && nd == 2 && at == 23,
        "healthy: waits at the manual step (phase %d step %d, %d decisions, last at %d)",
        s.phase, s.step, nd, at);
  /* errors: rolled back on the third conclusive check */
  s = run("errors", errors, 200, &at, &nd);
  CHECK(s.phase == RT_RS_ROLLED_BACK && at == 3 && strstr(s.reason, "for 3 checks") == NULL &&
            strstr(s.reason, "true on 3 conclusive checks"), "errors: window %d, %s", at, s.reason);
  s = run("errors_sparse", errors_sparse, 200, &at, &nd);
  CHECK(s.phase == RT_RS_ROLLED_BACK && at == 5, "inconclusive windows: rolled back at %d", at);
  s = run("errors_broken", errors_broken, 200, &at, &nd);
  CHECK(s.phase == RT_RS_ROLLED_BACK && at == 5, "a good window restarts the run: %d", at);
  s = run("drift", drifting, 200, &at, &nd);
  CHECK(s.phase == RT_RS_ROLLED_BACK && at == 2 && strstr(s.reason, "drift(*) > 0.25"),
        "drift: window %d, %s", at, s.reason);
  /* p99 missing: promote undefined, never advances; step 1 ends at window 3
   * (90 s), the 1 h timeout runs out at 3690 s = window 123 */
  s = run("no_latency", no_latency, 400, &at, &nd);
  CHECK(s.phase == RT_RS_ROLLED_BACK && at == 123 && s.step == 0 && strstr(s.reason, "timeout"),
        "missing data: rolled back at window %d step %d: %s", at, s.step, s.reason);

  /* a window served in step 1 but checked after another process moved the
   * release to step 2 is journaled as step 1's: it does not count in step 2 */
  {
    char db[96];
    snprintf(db, sizeof db, "%s/late.db", dir);
    int code;
    RtJournal *j = rt_journal_open(db, "r", "h", true, &code);
    CHECK(j != NULL, "late: open");
    if (!j) return 1;
    rt_journal_append(j, RT_EV_STARTED, T0, "test", NULL, "{\"spec_hash\":\"h\"}");
    rt_journal_append(j, RT_EV_STEP_ADVANCED, T0 + WIN, "other", NULL, "{\"step\":1}");
    Win w = healthy(1);
    RtReleaseState st;
    CHECK(rt_release_tick(j, rel, 0, w.requests, metric, &w, NULL, T0 + 2 * WIN, &st) >= 0 &&
              st.step == 1 && st.step_requests == 0, "late window: not counted in step 2 (%lld)",
          (long long)st.step_requests);
    CHECK(rt_release_tick(j, rel, 1, w.requests, metric, &w, NULL, T0 + 3 * WIN, &st) >= 0 &&
              st.step_requests == 200, "a window of step 2 counts (%lld)", (long long)st.step_requests);
    rt_journal_close(j);
  }

  /* declared policies (release q: inconclusive rollback for 4, missing rollback) */
  rel = p->releases[1];
  CHECK(rel->inconclusive == RT_INC_ROLLBACK && rel->inconclusive_checks == 4 &&
            rel->missing_rollback, "release q's policies");
  s = run("q_sparse", sparse, 100, &at, &nd);
  CHECK(s.phase == RT_RS_ROLLED_BACK && at == 4 && strstr(s.reason, "inconclusive rollback"),
        "inconclusive rollback: window %d, %s", at, s.reason);
  s = run("q_gappy", gappy, 100, &at, &nd);   /* runs of 3 < 4; 10m = window 20 */
  CHECK(s.phase == RT_RS_PROMOTED && at == 20 && nd == 1, "a conclusive check ends the run: "
        "phase %d at %d", s.phase, at);
  s = run("q_missing", no_latency, 100, &at, &nd);
  CHECK(s.phase == RT_RS_ROLLED_BACK && at == 1 && strstr(s.reason, "live.p99 > 5ms"),
        "missing rollback: window %d, %s", at, s.reason);
  /* release v: inconclusive advance for 3; each 2m step is met at its 4th window */
  rel = p->releases[2];
  s = run("v_sparse", sparse, 100, &at, &nd);
  CHECK(s.phase == RT_RS_PROMOTED && at == 8 && nd == 2, "inconclusive advance: phase %d, %d "
        "decisions, last at %d", s.phase, nd, at);
  rel = p->releases[0];

  /* three-valued logic */
  Win w = {200, NAN, 1000, 0.01};
  RtRuleCond undef = {.op = RT_RC_CMP, .cmp = RT_GC_LT,
                      .lhs = &(RtGateExpr){.op = RT_GX_METRIC, .split = 4, .metric = "error_rate"},
                      .rhs = &(RtGateExpr){.op = RT_GX_NUM, .num = 1}};
  RtRuleCond t = {.op = RT_RC_CONST, .value = true}, f = {.op = RT_RC_CONST, .value = false};
  RtRuleCond not_u = {.op = RT_RC_NOT, .a = &undef};
  RtRuleCond or_tu = {.op = RT_RC_OR, .a = &undef, .b = &t};
  RtRuleCond or_fu = {.op = RT_RC_OR, .a = &f, .b = &undef};
  RtRuleCond and_fu = {.op = RT_RC_AND, .a = &undef, .b = &f};
  RtRuleCond and_tu = {.op = RT_RC_AND, .a = &t, .b = &undef};
  CHECK(rt_rule_eval(&undef, metric, &w) == -1 && rt_rule_eval(&not_u, metric, &w) == -1 &&
            rt_rule_eval(&or_tu, metric, &w) == 1 && rt_rule_eval(&or_fu, metric, &w) == -1 &&
            rt_rule_eval(&and_fu, metric, &w) == 0 && rt_rule_eval(&and_tu, metric, &w) == -1,
        "three-valued and / or / not");

  char cmd[96];
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  CHECK(system(cmd) == 0, "cleanup");
  arena_free(&a);
  printf("journal_decide: %d checks, %d failed\n", checks, failures);
  return failures != 0;
}
