/* journal_crash.c — a release journal survives kill -9 at random moments.
 * Each round runs, against one journal, a child appending observation
 * events as fast as it can (one to three per transaction) and an
 * `mlxc release ... promote|status` command, then SIGKILLs both after a
 * random delay. After every round the journal must open, pass
 * `PRAGMA integrity_check`, have seq 1..n with no gap, and extend the
 * journal seen after the round before (nothing committed lost or changed);
 * at the end each round's replayed state must equal the replay of the
 * final journal's prefix of that length, and `mlxc release status` works.
 * Then four promotes at once must add exactly four steps (they serialize).
 * Needs $MLXC (the test runner sets it) and examples/data/credit.csv.
 * With $MLXC_CRASH_STORE (a postgresql:// URI of an empty database;
 * tests/release/pg_replicas.sh) the same rounds run against PostgreSQL:
 * the kills then land in client transactions the server must roll back,
 * and the integrity check is the server's. */
#include <fcntl.h>
#include <libpq-fe.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "runtime/rt.h"

#define ROUNDS 64
#define STEPS 100

static char dir[256], db[1024], mlxc[1024], hash[32];
static bool pg;   /* db is a PostgreSQL URI */
static RtReleaseStep steps[STEPS];
static RtRelease rel = {.name = "crash", .steps = steps, .n_steps = STEPS};

static void fail(const char *what) {
  fprintf(stderr, "journal_crash: FAIL: %s\n", what);
  exit(1);
}

/* FNV-1a over every field of ev[0..n). */
static unsigned long long events_hash(const RtEvent *ev, int64_t n) {
  unsigned long long h = 0xcbf29ce484222325ull;
  for (int64_t i = 0; i < n; i++) {
    char b[64];
    snprintf(b, sizeof b, "%lld|%lld|%d|", (long long)ev[i].seq, (long long)ev[i].time_us,
             (int)ev[i].kind);
    const char *parts[] = {b, ev[i].who ? ev[i].who : "-", ev[i].why ? ev[i].why : "-",
                           ev[i].detail};
    for (int p = 0; p < 4; p++)
      for (const char *s = parts[p]; *s; s++) h = (h ^ (unsigned char)*s) * 0x100000001b3ull;
  }
  return h;
}

static bool same_state(const RtReleaseState *a, const RtReleaseState *b) {
  return a->phase == b->phase && a->step == b->step && a->percent == b->percent &&
         a->since_us == b->since_us && a->started_us == b->started_us &&
         a->step_requests == b->step_requests && a->observations == b->observations &&
         a->seq == b->seq && a->last_seq == b->last_seq && !strcmp(a->reason, b->reason);
}

static void integrity(void) {
  if (pg) return;
  sqlite3 *h;
  if (sqlite3_open_v2(db, &h, SQLITE_OPEN_READWRITE, NULL)) fail("cannot open the journal");
  sqlite3_busy_timeout(h, 60000);
  sqlite3_stmt *st;
  if (sqlite3_prepare_v2(h, "PRAGMA integrity_check", -1, &st, NULL) ||
      sqlite3_step(st) != SQLITE_ROW ||
      strcmp((const char *)sqlite3_column_text(st, 0), "ok"))
    fail("integrity_check is not ok");
  sqlite3_finalize(st);
  sqlite3_close(h);
}

/* Appends observation windows until killed. */
static void appender(unsigned seed) {
  int code;
  RtJournal *j = rt_journal_open(db, "crash", hash, false, &code);
  if (!j) _exit(2);
  for (unsigned k = seed;; k = k * 1103515245u + 12345u) {
    int n = 1 + (int)((k >> 16) % 3);
    if (rt_journal_begin(j)) _exit(3);
    for (int i = 0; i < n; i++) {
      char d[96];
      snprintf(d, sizeof d, "{\"arm\":\"candidate\",\"requests\":%u,\"errors\":0}", 1 + (k >> 8) % 50);
      if (rt_journal_append(j, RT_EV_OBSERVATION, rt_release_now_us(), NULL, NULL, d) < 0) _exit(4);
    }
    if (rt_journal_commit(j)) _exit(5);
    usleep(300);   /* room for the commands to take the write lock */
  }
}

static pid_t command(const char *cmd, const char *who) {
  pid_t p = fork();
  if (p == 0) {
    int fd = open("/dev/null", 1);
    if (fd >= 0) dup2(fd, 1), dup2(fd, 2);
    if (chdir(dir)) _exit(126);   /* `candidate cand` is out/cand.mlxm from here */
    execl(mlxc, mlxc, "release", "crash.mlx", "crash", cmd, "--who", who, "--why", "crash test",
          "--store", db, (char *)NULL);
    _exit(127);
  }
  return p;
}

static void read_all(RtEvent **ev, int64_t *n) {
  int code;
  RtJournal *j = rt_journal_open(db, "crash", hash, false, &code);
  if (!j) fail("the journal does not open after a kill");
  if (rt_journal_read(j, ev, n)) fail("the journal cannot be read after a kill");
  rt_journal_close(j);
  for (int64_t i = 0; i < *n; i++)
    if ((*ev)[i].seq != i + 1) fail("seq has a gap");
}

int main(void) {
  const char *m = getenv("MLXC");
  if (!m) m = "build/mlxc";
  if (m[0] == '/') snprintf(mlxc, sizeof mlxc, "%s", m);
  else if (!getcwd(mlxc, 512)) fail("getcwd");
  else snprintf(mlxc + strlen(mlxc), sizeof mlxc - strlen(mlxc), "/%s", m);
  snprintf(dir, sizeof dir, "%s/mlxc_crash_XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
  if (!mkdtemp(dir)) fail("mkdtemp");
  char cmd[2048];
  snprintf(cmd, sizeof cmd, "MLXC='%s' sh tests/release/setup.inc '%s' > '%s/setup.log' 2>&1",
           mlxc, dir, dir);
  if (system(cmd)) fail("tests/release/setup.inc failed");
  /* a release of 100 steps, 1% to 99% manual, then 100% */
  char path[400];
  snprintf(path, sizeof path, "%s/crash.mlx", dir);
  FILE *f = fopen(path, "w");
  if (!f) fail("cannot write crash.mlx");
  fprintf(f, "import \"train.mlx\"\n\nrelease crash {\n  candidate cand\n  gate ship\n");
  for (int i = 0; i < STEPS; i++) {
    steps[i].percent = i + 1;
    steps[i].kind = i < STEPS - 1 ? RT_STEP_MANUAL : RT_STEP_OPEN;
    fprintf(f, "  step %d%%%s\n", i + 1, i < STEPS - 1 ? " manual" : "");
  }
  fprintf(f, "  promote when live.error_rate < 0.01\n}\n");
  fclose(f);
  const char *url = getenv("MLXC_CRASH_STORE");
  pg = url && *url;
  if (pg) snprintf(db, sizeof db, "%s", url);
  else snprintf(db, sizeof db, "%s/crash.release.db", dir);
  int st;
  pid_t p = command("start", "setup");
  if (waitpid(p, &st, 0) != p || !WIFEXITED(st) || WEXITSTATUS(st)) fail("start failed");
  if (pg) {
    PGconn *c = PQconnectdb(db);
    PGresult *q = PQexec(c, "SELECT detail::json->>'spec_hash' FROM mlxc_release_events "
                            "WHERE release = 'crash' AND seq = 1");
    if (PQresultStatus(q) != PGRES_TUPLES_OK || PQntuples(q) != 1) fail("no started event");
    snprintf(hash, sizeof hash, "%s", PQgetvalue(q, 0, 0));
    PQclear(q);
    PQfinish(c);
  } else {
    sqlite3 *h;
    sqlite3_stmt *q;
    if (sqlite3_open(db, &h) || sqlite3_prepare_v2(h, "SELECT json_extract(detail, '$.spec_hash') "
                                                      "FROM events WHERE seq = 1", -1, &q, NULL) ||
        sqlite3_step(q) != SQLITE_ROW)
      fail("no started event");
    snprintf(hash, sizeof hash, "%s", (const char *)sqlite3_column_text(q, 0));
    sqlite3_finalize(q);
    sqlite3_close(h);
  }

  int64_t snap_n[ROUNDS];
  unsigned long long snap_h[ROUNDS];
  RtReleaseState snap_s[ROUNDS];
  int64_t prev_n = 1;
  unsigned long long prev_h = 0;
  int kills = 0;
  unsigned rnd = 12345;
  for (int r = 0; r < ROUNDS; r++) {
    pid_t a = fork();
    if (a == 0) appender((unsigned)r * 7919u + 1);
    pid_t c = command(r % 4 == 3 ? "status" : "promote", "crasher");
    rnd = rnd * 1103515245u + 12345u;
    usleep(2000 + (rnd >> 8) % 40000);   /* a random moment, 2-42 ms in */
    kill(a, SIGKILL);
    kill(c, SIGKILL);
    for (int w = 0; w < 2; w++) {
      pid_t q2 = waitpid(w ? c : a, &st, 0);
      if (q2 > 0 && WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL) kills++;
      else if (q2 == a) fail("the appender stopped by itself");
    }
    integrity();
    RtEvent *ev;
    int64_t n;
    read_all(&ev, &n);
    if (n < prev_n || events_hash(ev, prev_n) != prev_h) {
      if (r > 0) fail("a kill lost or changed committed events");
    }
    snap_n[r] = n;
    snap_h[r] = events_hash(ev, n);
    snap_s[r] = rt_release_replay(&rel, ev, n);
    prev_n = n;
    prev_h = snap_h[r];
    rt_events_free(ev, n);
  }
  if (kills < 50) fail("fewer than 50 processes were killed while running");

  RtEvent *ev;
  int64_t n;
  read_all(&ev, &n);
  for (int r = 0; r < ROUNDS; r++) {
    if (events_hash(ev, snap_n[r]) != snap_h[r]) fail("a round's journal is not a prefix of the final one");
    RtReleaseState s = rt_release_replay(&rel, ev, snap_n[r]);
    if (!same_state(&s, &snap_s[r])) fail("replay of a prefix differs from the state after its round");
  }
  RtReleaseState before = rt_release_replay(&rel, ev, n);
  rt_events_free(ev, n);
  printf("journal_crash%s: %d rounds, %d processes killed, %lld events, step %d, %lld candidate "
         "requests\n", pg ? " (PostgreSQL)" : "", ROUNDS, kills, (long long)n, before.step + 1,
         (long long)before.step_requests);

  /* status works; four promotes at once add four steps */
  p = command("status", "end");
  if (waitpid(p, &st, 0) != p || !WIFEXITED(st) || WEXITSTATUS(st)) fail("status failed after the kills");
  if (before.phase != RT_RS_STEP || before.step > STEPS - 6) fail("the release is not running mid-way");
  pid_t four[4];
  for (int i = 0; i < 4; i++) four[i] = command("promote", "parallel");
  for (int i = 0; i < 4; i++)
    if (waitpid(four[i], &st, 0) != four[i] || !WIFEXITED(st) || WEXITSTATUS(st))
      fail("a concurrent promote failed");
  read_all(&ev, &n);
  RtReleaseState after = rt_release_replay(&rel, ev, n);
  rt_events_free(ev, n);
  if (after.step != before.step + 4) fail("four concurrent promotes did not advance exactly four steps");
  integrity();
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  if (system(cmd)) fail("cleanup");
  return 0;
}
