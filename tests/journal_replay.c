/* journal_replay.c — the release description sema hands the runtime
 * (RtRelease: steps, rules as expressions over live.* and drift(), paths,
 * bucket, check, timeout) and rt_release_replay on hand-made journals: each
 * transition, observations counted per step, events that do not apply
 * ignored, and the state of every prefix the same as the state reached
 * event by event. Also the journal file: append-only (UPDATE and DELETE
 * refused), seq without gaps, another release refused. */
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "compiler/mlxc.h"

static const char spec[] =
    "dataset d {\n"
    "  source csv(\"../examples/data/credit.csv\")\n"
    "  drop column id\n"
    "  feature * = standardize(*)\n"
    "  label defaulted = { \"N\": 0, \"Y\": 1 }\n"
    "  split train 70%, val 15%, test 15%\n"
    "}\n"
    "model m {\n  dense 1 sigmoid\n  loss bce\n}\n"
    "gate g {\n  test.auc >= 0.6\n}\n"
    "train t {\n  model m\n  data d\n  gate g\n}\n"
    "release r {\n"
    "  candidate t\n"
    "  baseline \"models/v1.mlxm\"\n"
    "  gate g\n"
    "  bucket by request.user_id salt \"s-1\"\n"
    "  check every 30s min 200 requests\n"
    "  step 1% for 500 requests\n"
    "  step 5% for 10m\n"
    "  step 50% manual\n"
    "  step 100%\n"
    "  promote when live.error_rate <= baseline.live.error_rate + 0.005 and live.p99 < 5ms\n"
    "  rollback when live.error_rate > 0.05\n"
    "  rollback when not (drift(amount) <= 0.25) or drift(*) > 1 for 3 checks\n"
    "  timeout 1h\n"
    "}\n"
    "release s {\n  candidate \"c/x.mlxm\"\n  step 100%\n  promote when true\n}\n";

static RtEvent ev(int64_t seq, RtEventKind k, int64_t t, const char *who, int step,
                  int64_t req) {
  return (RtEvent){.seq = seq, .time_us = t, .kind = k, .who = who, .detail = "{}",
                   .step = step, .requests = req};
}

int main(void) {
  Arena a = {0};
  const char *path = "tests/journal_replay_spec.mlx";   /* never read: the text is here */
  uint32_t file = src_add(path, spec, sizeof spec - 1);
  Ast *ast = parse_source(&a, file);
  bool data_error = false;
  Program *p = sema_check(&a, ast, SEMA_CHECK, &data_error);
  CHECK(p && p->nreleases == 2, "the spec checks and has two releases");
  if (!p || p->nreleases != 2) return 1;
  const RtRelease *r = p->releases[0];
  CHECK(!strcmp(r->name, "r") && r->candidate_train && !strcmp(r->candidate_train, "t") &&
            !r->candidate_path, "candidate t");
  CHECK(r->baseline && !strcmp(r->baseline, "tests/models/v1.mlxm"), "baseline resolved: %s",
        r->baseline ? r->baseline : "(null)");
  CHECK(r->gate && !strcmp(r->gate->name, "g") && r->gate->n_lines == 1, "gate g");
  CHECK(r->bucket_field && !strcmp(r->bucket_field, "user_id") && !strcmp(r->salt, "s-1"),
        "bucket");
  CHECK(r->check_us == 30e6 && r->min_requests == 200, "check %g %lld", r->check_us,
        (long long)r->min_requests);
  CHECK(r->n_steps == 4, "four steps");
  CHECK(r->steps[0].percent == 1 && r->steps[0].kind == RT_STEP_REQUESTS &&
            r->steps[0].amount == 500, "step 1");
  CHECK(r->steps[1].percent == 5 && r->steps[1].kind == RT_STEP_DURATION &&
            r->steps[1].amount == 600e6, "step 2");
  CHECK(r->steps[2].percent == 50 && r->steps[2].kind == RT_STEP_MANUAL, "step 3");
  CHECK(r->steps[3].percent == 100 && r->steps[3].kind == RT_STEP_OPEN, "step 4");
  CHECK(r->timeout_us == 3600e6, "timeout");
  const RtRuleCond *c = r->promote.cond;
  CHECK(c && c->op == RT_RC_AND && c->a->op == RT_RC_CMP && c->a->cmp == RT_GC_LE &&
            c->a->lhs->op == RT_GX_METRIC && c->a->lhs->split == 4 &&
            !strcmp(c->a->lhs->metric, "error_rate") && !c->a->lhs->baseline &&
            c->a->rhs->op == RT_GX_ADD && c->a->rhs->args[0]->baseline &&
            c->a->rhs->args[1]->op == RT_GX_NUM && c->a->rhs->args[1]->num == 0.005,
        "promote's first comparison");
  CHECK(c && c->b->op == RT_RC_CMP && c->b->duration && c->b->rhs->op == RT_GX_NUM &&
            c->b->rhs->num == 5000, "live.p99 < 5ms in microseconds");
  CHECK(r->n_rollback == 2 && r->rollback[0].for_checks == 1 && r->rollback[1].for_checks == 3,
        "rollback rules");
  c = r->rollback[1].cond;
  CHECK(c->op == RT_RC_OR && c->a->op == RT_RC_NOT && c->a->a->op == RT_RC_CMP &&
            c->a->a->lhs->split == 5 && !strcmp(c->a->a->lhs->metric, "amount") &&
            c->b->lhs->split == 5 && !strcmp(c->b->lhs->metric, "*"), "drift rule");
  CHECK(!strcmp(r->rollback[0].text, "live.error_rate > 0.05"), "rule text: %s",
        r->rollback[0].text);
  const RtRelease *s = p->releases[1];
  CHECK(s->candidate_path && !strcmp(s->candidate_path, "tests/c/x.mlxm") && !s->gate &&
            !s->bucket_field && s->promote.cond->op == RT_RC_CONST && s->promote.cond->value,
        "release s");

  /* replay */
  RtEvent e[] = {
      ev(1, RT_EV_OBSERVATION, 10, NULL, -1, 99),      /* before start: ignored */
      ev(2, RT_EV_STARTED, 100, "ann", 0, 0),
      ev(3, RT_EV_OBSERVATION, 130, NULL, -1, 200),
      ev(4, RT_EV_OBSERVATION, 160, NULL, 0, 250),
      ev(5, RT_EV_STARTED, 170, "bob", 0, 0),          /* a second start: ignored */
      ev(6, RT_EV_STEP_ADVANCED, 200, NULL, 1, 0),
      ev(7, RT_EV_OBSERVATION, 230, NULL, 0, 40),      /* a window of step 1: not counted */
      ev(8, RT_EV_OBSERVATION, 260, NULL, 1, 60),
      ev(9, RT_EV_STEP_ADVANCED, 270, NULL, 1, 0),     /* not forward: ignored */
      ev(10, RT_EV_STEP_ADVANCED, 300, "cy", 2, 0),
      ev(11, RT_EV_ROLLED_BACK, 400, NULL, 2, 0),
      ev(12, RT_EV_PROMOTED, 500, "dee", 3, 0),        /* after an end: ignored */
  };
  int n = (int)(sizeof e / sizeof *e);
  RtReleaseState st = rt_release_replay(r, e, 0);
  CHECK(st.phase == RT_RS_NOT_STARTED && st.seq == 0, "empty journal");
  st = rt_release_replay(r, e, 2);
  CHECK(st.phase == RT_RS_STEP && st.step == 0 && st.percent == 1 && st.since_us == 100 &&
            st.step_requests == 0 && !strcmp(st.reason, "started by ann"), "started: %s",
        st.reason);
  st = rt_release_replay(r, e, 5);
  CHECK(st.step_requests == 450 && st.observations == 2 && st.started_us == 100 &&
            st.last_seq == 2, "observations of step 1, second start ignored");
  st = rt_release_replay(r, e, 9);
  CHECK(st.step == 1 && st.percent == 5 && st.since_us == 200 && st.step_requests == 60 &&
            st.observations == 1, "step 2: only its own windows count");
  st = rt_release_replay(r, e, 10);
  CHECK(st.step == 2 && st.percent == 50 && !strcmp(st.reason, "advanced by cy"), "step 3");
  st = rt_release_replay(r, e, n);
  CHECK(st.phase == RT_RS_ROLLED_BACK && st.percent == 0 && st.last_seq == 11 && st.seq == 12 &&
            st.step == 2 && !strncmp(st.reason, "rolled back by the rules", 24),
        "rolled back, the later promote ignored: %s", st.reason);
  /* replay is a function of the events alone */
  RtReleaseState again = rt_release_replay(r, e, n);
  CHECK(!memcmp(&st, &again, sizeof st), "replay is deterministic");
  /* replay is a fold: any split point gives the same state */
  for (int k = 0; k <= n; k++) {
    RtReleaseState part = rt_release_replay(r, e, k);
    rt_release_apply(r, &part, e + k, n - k);
    CHECK(!memcmp(&part, &st, sizeof st), "replay split at %d", k);
  }

  /* the file */
  char dir[] = "/tmp/mlxc_replay_XXXXXX";
  CHECK(mkdtemp(dir) != NULL, "mkdtemp");
  char db[64];
  snprintf(db, sizeof db, "%s/r.release.db", dir);
  int code;
  RtJournal *j = rt_journal_open(db, "r", "abc", false, &code);
  CHECK(!j && code == 0, "no file, no create: nothing journaled");
  j = rt_journal_open(db, "r", "abc", true, &code);
  CHECK(j != NULL, "create");
  if (!j) return 1;
  CHECK(rt_journal_append(j, RT_EV_STARTED, 5, "ann", "why", "{\"spec_hash\":\"abc\"}") == 1,
        "seq 1");
  CHECK(rt_journal_begin(j) == 0, "begin");
  CHECK(rt_journal_append(j, RT_EV_OBSERVATION, 6, NULL, NULL, "{\"requests\":7}") == 2, "seq 2");
  rt_journal_rollback(j);   /* never committed: seq 2 is given again */
  CHECK(rt_journal_append(j, RT_EV_OBSERVATION, 7, NULL, NULL, "{\"requests\":8,\"step\":0}") == 2,
        "seq 2 after a rollback");
  RtEvent *got;
  int64_t ng;
  CHECK(rt_journal_read(j, &got, &ng) == 0 && ng == 2 && got[1].requests == 8 &&
            got[1].step == 0 && got[0].step == -1 && !strcmp(got[0].who, "ann") &&
            !got[1].who, "read back");
  rt_events_free(got, ng);
  /* rt_journal_state folds in only what is new; a rollback forgets the
   * transaction's appends */
  RtReleaseState js;
  CHECK(rt_journal_state(j, r, &js) == 0 && js.seq == 2 && js.step_requests == 8, "state");
  CHECK(rt_journal_begin(j) == 0 &&
            rt_journal_append(j, RT_EV_OBSERVATION, 8, NULL, NULL, "{\"requests\":5}") == 3 &&
            rt_journal_state(j, r, &js) == 0 && js.seq == 3 && js.step_requests == 13,
        "state inside a transaction");
  rt_journal_rollback(j);
  CHECK(rt_journal_state(j, r, &js) == 0 && js.seq == 2 && js.step_requests == 8,
        "state after a rollback");
  CHECK(rt_journal_append(j, RT_EV_OBSERVATION, 9, NULL, NULL, "{\"requests\":1}") == 3 &&
            rt_journal_state(j, r, &js) == 0 && js.seq == 3 && js.step_requests == 9,
        "state after an append");
  CHECK(rt_journal_read(j, &got, &ng) == 0, "read");
  RtReleaseState full = rt_release_replay(r, got, ng);
  CHECK(!memcmp(&full, &js, sizeof js), "incremental state = full replay");
  rt_events_free(got, ng);
  rt_journal_close(j);
  sqlite3 *h;
  CHECK(sqlite3_open(db, &h) == SQLITE_OK, "sqlite3_open");
  CHECK(sqlite3_exec(h, "UPDATE events SET kind = 'promoted'", NULL, NULL, NULL) != SQLITE_OK,
        "UPDATE refused");
  CHECK(sqlite3_exec(h, "DELETE FROM events", NULL, NULL, NULL) != SQLITE_OK, "DELETE refused");
  sqlite3_close(h);
  fprintf(stderr, "(four errors expected below)\n");
  CHECK(!rt_journal_open(db, "other", "abc", false, &code) && code == 4, "another release");
  CHECK(!rt_journal_open(db, "r", "def", false, &code) && code == 4, "another spec");
  snprintf(db, sizeof db, "%s/foreign.db", dir);   /* an SQLite file of something else */
  CHECK(sqlite3_open(db, &h) == SQLITE_OK &&
            sqlite3_exec(h, "CREATE TABLE events(x)", NULL, NULL, NULL) == SQLITE_OK, "foreign");
  sqlite3_close(h);
  CHECK(!rt_journal_open(db, "r", "abc", true, &code) && code == 4, "a foreign database");
  snprintf(db, sizeof db, "%s/other.db", dir);   /* somebody else's tables: left alone */
  CHECK(sqlite3_open(db, &h) == SQLITE_OK &&
            sqlite3_exec(h, "CREATE TABLE t(x)", NULL, NULL, NULL) == SQLITE_OK, "other");
  sqlite3_close(h);
  CHECK(!rt_journal_open(db, "r", "abc", true, &code) && code == 4, "another database");
  CHECK(sqlite3_open(db, &h) == SQLITE_OK &&
            sqlite3_exec(h, "SELECT * FROM meta", NULL, NULL, NULL) != SQLITE_OK,
        "nothing added to it");
  sqlite3_close(h);
  rt_diag_flush();
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  CHECK(system(cmd) == 0, "cleanup");
  arena_free(&a);
  printf("journal_replay: %d checks, %d failed\n", checks, failures);
  return failures != 0;
}
