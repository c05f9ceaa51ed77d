/* rt_journal_pg.c — a release's journal in PostgreSQL (libpq), for serve
 * replicas that share one rollout. The same append-only journal as the
 * SQLite store: every release of every spec in one pair of tables keyed by
 * the release name, a trigger refusing UPDATE and DELETE, seq gapless per
 * release. Writers take a transaction-scoped advisory lock on the release's
 * name before they read and append (rt_pg_begin), so two replicas' checks
 * serialize and a step advances once: the second replica's replay already
 * holds the first one's decision. A connection lost between calls is
 * re-established on the next call; one lost inside a transaction rolls it
 * back on the server. Ownership: the RtPgJournal is malloc'd here. */
#include <libpq-fe.h>
#include <stdlib.h>
#include <string.h>

#include "rt_journal_pg.h"

struct RtPgJournal {
  PGconn *c;
  char *rel;            /* the release's name: its rows and its lock */
  char *shown;          /* the url as messages name it */
  bool in_tx;
};

/* Tables and the append-only trigger, made once under a global advisory
 * lock (two replicas starting together must not race CREATE). */
static const char schema[] =
    "CREATE TABLE IF NOT EXISTS mlxc_release_meta("
    "  release TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL,"
    "  PRIMARY KEY(release, key));"
    "CREATE TABLE IF NOT EXISTS mlxc_release_events("
    "  release TEXT NOT NULL,"
    "  seq BIGINT NOT NULL,"           /* 1, 2, 3 ... per release: the next is max + 1 */
    "  time_us BIGINT NOT NULL,"
    "  kind TEXT NOT NULL,"
    "  who TEXT, why TEXT,"
    "  detail TEXT NOT NULL DEFAULT '{}',"
    "  PRIMARY KEY(release, seq));"
    "CREATE OR REPLACE FUNCTION mlxc_release_append_only() RETURNS trigger"
    "  LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'the journal is append-only'; END $$;"
    "CREATE OR REPLACE TRIGGER mlxc_release_events_append_only"
    "  BEFORE UPDATE OR DELETE OR TRUNCATE ON mlxc_release_events"
    "  FOR EACH STATEMENT EXECUTE FUNCTION mlxc_release_append_only();";

#define SCHEMA_LOCK "7301460011"   /* the advisory lock key schema creation holds */

static void pg_error(RtPgJournal *j, const char *what, const PGresult *r) {
  const char *m = r ? PQresultErrorMessage(r) : "";
  if (!m || !*m) m = PQerrorMessage(j->c);
  size_t n = strlen(m);
  while (n && (m[n - 1] == '\n' || m[n - 1] == ' ')) n--;
  rt_diag(RT_ERROR, rt_loc_file(j->shown), "%s: %.*s", what, (int)n, m);
}

/* A statement with parameters; the result when its status is want, else
 * NULL after reporting. */
static PGresult *run(RtPgJournal *j, const char *sql, int n, const char *const *params,
                     ExecStatusType want, const char *what) {
  PGresult *r = PQexecParams(j->c, sql, n, NULL, params, NULL, NULL, 0);
  if (r && PQresultStatus(r) == want) return r;
  pg_error(j, what, r);
  PQclear(r);
  return NULL;
}

/* A statement (or several) without parameters; false after reporting. */
static bool cmd(RtPgJournal *j, const char *sql, const char *what) {
  PGresult *r = PQexec(j->c, sql);
  bool ok = r && (PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK);
  if (!ok) pg_error(j, what, r);
  PQclear(r);
  return ok;
}

/* Reconnects a connection that broke between calls (a restarted server). */
static bool connected(RtPgJournal *j) {
  if (PQstatus(j->c) == CONNECTION_OK) return true;
  PQreset(j->c);
  if (PQstatus(j->c) == CONNECTION_OK) return true;
  pg_error(j, "cannot reach the release store", NULL);
  return false;
}

static void quiet(void *arg, const char *message) {   /* NOTICEs such as "already exists" */
  (void)arg;
  (void)message;
}

/* Under the lock: one text value of the first row (malloc'd), or NULL. */
static char *one_text(RtPgJournal *j, const char *sql, const char *what, bool *failed) {
  const char *p[1] = {j->rel};
  PGresult *r = run(j, sql, 1, p, PGRES_TUPLES_OK, what);
  char *v = NULL;
  if (!r) *failed = true;
  else if (PQntuples(r) > 0 && !PQgetisnull(r, 0, 0)) {
    const char *t = PQgetvalue(r, 0, 0);
    v = rt_xmalloc(strlen(t) + 1);
    strcpy(v, t);
  }
  PQclear(r);
  return v;
}

/* Whether the tables exist (1, 0; -1 after reporting). */
static int have_tables(RtPgJournal *j) {
  PGresult *r = run(j, "SELECT to_regclass('mlxc_release_events') IS NOT NULL AND "
                       "to_regclass('mlxc_release_meta') IS NOT NULL", 0, NULL, PGRES_TUPLES_OK,
                    "cannot read the release store");
  if (!r) return -1;
  int v = PQntuples(r) == 1 && !strcmp(PQgetvalue(r, 0, 0), "t");
  PQclear(r);
  return v;
}

RtPgJournal *rt_pg_open(const char *url, const char *shown, const char *rel_name,
                        const char *spec_hash, bool create, int *code) {
  *code = 0;
  RtPgJournal *j = rt_xmalloc(sizeof *j);
  memset(j, 0, sizeof *j);
  j->rel = rt_xmalloc(strlen(rel_name) + 1);
  strcpy(j->rel, rel_name);
  j->shown = rt_xmalloc(strlen(shown) + 1);
  strcpy(j->shown, shown);
  /* the url's own settings win over these defaults (they come after) */
  const char *keys[] = {"connect_timeout", "application_name", "dbname", NULL};
  const char *vals[] = {"10", "mlxc", url, NULL};
  j->c = PQconnectdbParams(keys, vals, 1);
  if (!j->c || PQstatus(j->c) != CONNECTION_OK) {
    if (j->c) pg_error(j, "cannot connect to the release store", NULL);
    else rt_diag(RT_ERROR, rt_loc_file(shown), "cannot connect to the release store: out of memory");
    *code = 6;
    rt_pg_close(j);
    return NULL;
  }
  PQsetNoticeProcessor(j->c, quiet, NULL);
  /* writers wait for each other as long as SQLite's busy timeout */
  if (!cmd(j, "SET lock_timeout = '60s'", "cannot open the release store")) {
    *code = 6;
    rt_pg_close(j);
    return NULL;
  }
  int have = have_tables(j);
  if (have < 0 || (!have && !create)) {   /* no tables: nothing journaled yet */
    *code = have < 0 ? 6 : 0;
    rt_pg_close(j);
    return NULL;
  }
  bool failed = false;
  if (!have) {
    if (!cmd(j, "BEGIN", "cannot lock the release store") ||
        !cmd(j, "SELECT pg_advisory_xact_lock(" SCHEMA_LOCK ")", "cannot lock the release store") ||
        !cmd(j, schema, "cannot create the release store's tables") ||
        !cmd(j, "COMMIT", "cannot create the release store's tables")) {
      PQclear(PQexec(j->c, "ROLLBACK"));
      *code = 6;
      rt_pg_close(j);
      return NULL;
    }
  }
  if (rt_pg_begin(j)) {
    *code = 6;
    rt_pg_close(j);
    return NULL;
  }
  char *format = one_text(j, "SELECT value FROM mlxc_release_meta WHERE release = $1 AND "
                             "key = 'format'", "not a release store", &failed);
  char *detail = one_text(j, "SELECT detail FROM mlxc_release_events WHERE release = $1 AND "
                             "kind = 'started' ORDER BY seq LIMIT 1", "not a release store",
                          &failed);
  char *hash = detail ? rt_event_spec_hash(detail) : NULL;
  if (failed) {
    *code = 4;
  } else if (!format && !create) {   /* the tables, but nothing of this release */
    *code = -1;
  } else if (hash && strcmp(hash, spec_hash)) {
    rt_journal_foreign(shown, rel_name, hash, rel_name, spec_hash);
    *code = 4;
  } else if (!format) {
    const char *p[1] = {j->rel};
    PGresult *r = run(j, "INSERT INTO mlxc_release_meta(release, key, value) VALUES($1, 'format', "
                         "'1') ON CONFLICT DO NOTHING", 1, p, PGRES_COMMAND_OK,
                      "cannot write the release store");
    if (!r) *code = 6;
    PQclear(r);
  }
  free(format);
  free(detail);
  free(hash);
  if (*code) {
    rt_pg_rollback(j);
    if (*code < 0) *code = 0;
    rt_pg_close(j);
    return NULL;
  }
  if (rt_pg_commit(j)) {
    *code = 6;
    rt_pg_close(j);
    return NULL;
  }
  return j;
}

void rt_pg_close(RtPgJournal *j) {
  if (!j) return;
  if (j->in_tx) rt_pg_rollback(j);
  PQfinish(j->c);
  free(j->rel);
  free(j->shown);
  free(j);
}

int rt_pg_begin(RtPgJournal *j) {
  if (!connected(j) || !cmd(j, "BEGIN", "cannot lock the release store")) return -1;
  const char *p[1] = {j->rel};
  PGresult *r = run(j, "SELECT pg_advisory_xact_lock(hashtextextended('mlxc release ' || $1, 0))",
                    1, p, PGRES_TUPLES_OK, "cannot lock the release store");
  if (!r) {
    PQclear(PQexec(j->c, "ROLLBACK"));
    return -1;
  }
  PQclear(r);
  j->in_tx = true;
  return 0;
}

int rt_pg_commit(RtPgJournal *j) {
  j->in_tx = false;
  PGresult *r = PQexec(j->c, "COMMIT");
  /* COMMIT of a failed transaction answers ROLLBACK, not an error */
  bool ok = r && PQresultStatus(r) == PGRES_COMMAND_OK && !strcmp(PQcmdStatus(r), "COMMIT");
  if (!ok) {
    if (r && PQresultStatus(r) == PGRES_COMMAND_OK)
      rt_diag(RT_ERROR, rt_loc_file(j->shown), "cannot commit to the release store: the "
                                               "transaction was rolled back");
    else pg_error(j, "cannot commit to the release store", r);
  }
  PQclear(r);
  return ok ? 0 : -1;
}

void rt_pg_rollback(RtPgJournal *j) {
  j->in_tx = false;
  PQclear(PQexec(j->c, "ROLLBACK"));
}

static int64_t num(const PGresult *r, int row, int col) {
  return strtoll(PQgetvalue(r, row, col), NULL, 10);
}

static const char *text(const PGresult *r, int row, int col) {
  return PQgetisnull(r, row, col) ? NULL : PQgetvalue(r, row, col);
}

int rt_pg_read(RtPgJournal *j, int64_t after, RtEvent **out, int64_t *n) {
  *out = NULL;
  *n = 0;
  if (!j->in_tx && !connected(j)) return -1;
  char a[24];
  snprintf(a, sizeof a, "%lld", (long long)after);
  const char *p[2] = {j->rel, a};
  PGresult *r = run(j, "SELECT seq, time_us, kind, who, why, detail FROM mlxc_release_events "
                       "WHERE release = $1 AND seq > $2 ORDER BY seq", 2, p, PGRES_TUPLES_OK,
                    "cannot read the release store");
  if (!r) return -1;
  int rows = PQntuples(r);
  RtEvent *ev = rt_xmalloc(sizeof *ev * (size_t)(rows ? rows : 1));
  for (int i = 0; i < rows; i++)
    rt_event_init(&ev[i], num(r, i, 0), num(r, i, 1), text(r, i, 2), text(r, i, 3),
                  text(r, i, 4), text(r, i, 5));
  PQclear(r);
  *out = ev;
  *n = rows;
  return 0;
}

int64_t rt_pg_append(RtPgJournal *j, RtEventKind kind, int64_t time_us, const char *who,
                     const char *why, const char *detail) {
  bool own = !j->in_tx;
  if (own && rt_pg_begin(j)) return -1;
  char t[24];
  snprintf(t, sizeof t, "%lld", (long long)time_us);
  const char *p[6] = {j->rel, t, rt_event_names[kind], who, why, detail ? detail : "{}"};
  PGresult *r = run(j, "INSERT INTO mlxc_release_events(release, seq, time_us, kind, who, why, "
                       "detail) SELECT $1, COALESCE(MAX(seq), 0) + 1, $2, $3, $4, $5, $6 "
                       "FROM mlxc_release_events WHERE release = $1 RETURNING seq",
                    6, p, PGRES_TUPLES_OK, "cannot write the release store");
  int64_t seq = r && PQntuples(r) == 1 ? num(r, 0, 0) : -1;
  PQclear(r);
  if (own) {
    if (seq < 0) rt_pg_rollback(j);
    else if (rt_pg_commit(j)) seq = -1;
  }
  return seq;
}
