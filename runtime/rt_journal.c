/* rt_journal.c — a release's journal: an append-only table of events in
 * SQLite (WAL), the only state a rollout has (rt_release_replay turns it
 * into the current state). Writers serialize with BEGIN IMMEDIATE under a
 * busy timeout; a trigger refuses UPDATE and DELETE; the release name and
 * spec hash are fixed when the file is made. Ownership: the RtJournal and
 * the events rt_journal_read returns are malloc'd here (close / free). */
#include <errno.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <jansson.h>

#include "rt.h"
#include "rt_journal_pg.h"

#define BUSY_MS 60000   /* how long a writer waits for another to commit */

const char *const rt_event_names[RT_EV__COUNT] = {
    "started", "step_advanced", "observation", "promoted", "rolled_back", "aborted"};

struct RtJournal {
  sqlite3 *db;
  char *path;
  bool in_tx;           /* inside rt_journal_begin */
  RtPgJournal *pg;      /* a postgresql:// store: every call goes there */
  /* rt_journal_state's cache: the state of release crel after event cstate.seq */
  const RtRelease *crel;
  RtReleaseState cstate;
};

bool rt_store_is_pg(const char *store) {
  return store && (!strncmp(store, "postgresql://", 13) || !strncmp(store, "postgres://", 11));
}

char *rt_store_shown(const char *store) {
  size_t n = strlen(store);
  char *s = rt_xmalloc(n + 4);
  strcpy(s, store);
  if (!rt_store_is_pg(store)) return s;
  /* scheme://user:PASSWORD@host...: the password becomes *** */
  const char *auth = strstr(store, "://") + 3;
  size_t alen = strcspn(auth, "/?#");
  const char *at = memchr(auth, '@', alen), *colon = memchr(auth, ':', alen);
  if (at && colon && colon < at) {
    size_t pre = (size_t)(colon + 1 - store);
    snprintf(s + pre, n + 4 - pre, "***%s", at);
  }
  return s;
}

void rt_journal_foreign(const char *shown, const char *name, const char *hash,
                        const char *rel_name, const char *spec_hash) {
  rt_diag(RT_ERROR, rt_loc_file(shown),
          "this journal belongs to release '%s' of the spec with hash %s, not to release "
          "'%s' of this spec (hash %s)",
          name, hash ? hash : "(not started)", rel_name, spec_hash);
  rt_note(rt_loc_file(shown), "the spec hash is recorded when a release starts; a changed "
                              "spec is a new rollout: give it another store (--store PATH)");
}

static const char schema[] =
    "CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);"
    "CREATE TABLE IF NOT EXISTS events("
    "  seq INTEGER PRIMARY KEY,"         /* 1, 2, 3 ...: the next is max + 1 */
    "  time_us INTEGER NOT NULL,"
    "  kind TEXT NOT NULL,"
    "  who TEXT, why TEXT,"
    "  detail TEXT NOT NULL DEFAULT '{}');"
    "CREATE TRIGGER IF NOT EXISTS events_no_update BEFORE UPDATE ON events"
    "  BEGIN SELECT RAISE(ABORT, 'the journal is append-only'); END;"
    "CREATE TRIGGER IF NOT EXISTS events_no_delete BEFORE DELETE ON events"
    "  BEGIN SELECT RAISE(ABORT, 'the journal is append-only'); END;";

int64_t rt_release_now_us(void) {
  const char *fixed = getenv("MLXC_RELEASE_CLOCK");
  if (fixed && *fixed) {
    char *end;
    long long v = strtoll(fixed, &end, 10);
    if (!*end) return v;
  }
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void db_error(RtJournal *j, const char *what) {
  rt_diag(RT_ERROR, rt_loc_file(j->path), "%s: %s", what, sqlite3_errmsg(j->db));
}

/* One statement with no result rows; false after reporting. */
static bool exec(RtJournal *j, const char *sql, const char *what) {
  char *err = NULL;
  if (sqlite3_exec(j->db, sql, NULL, NULL, &err) == SQLITE_OK) return true;
  rt_diag(RT_ERROR, rt_loc_file(j->path), "%s: %s", what, err ? err : sqlite3_errmsg(j->db));
  sqlite3_free(err);
  return false;
}

/* meta's value for key, malloc'd, or NULL. */
static char *meta_get(RtJournal *j, const char *key) {
  sqlite3_stmt *st;
  char *v = NULL;
  if (sqlite3_prepare_v2(j->db, "SELECT value FROM meta WHERE key = ?", -1, &st, NULL)) return NULL;
  sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
  if (sqlite3_step(st) == SQLITE_ROW) {
    const char *t = (const char *)sqlite3_column_text(st, 0);
    v = rt_xmalloc(strlen(t ? t : "") + 1);
    strcpy(v, t ? t : "");
  }
  sqlite3_finalize(st);
  return v;
}

static bool meta_put(RtJournal *j, const char *key, const char *value) {
  sqlite3_stmt *st;
  if (sqlite3_prepare_v2(j->db, "INSERT OR IGNORE INTO meta(key, value) VALUES(?, ?)", -1, &st,
                         NULL))
    return false;
  sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 2, value, -1, SQLITE_STATIC);
  bool ok = sqlite3_step(st) == SQLITE_DONE;
  sqlite3_finalize(st);
  return ok;
}

/* The spec hash the release's `started` event recorded, malloc'd, or NULL. */
static char *started_hash(RtJournal *j) {
  sqlite3_stmt *st;
  char *v = NULL;
  if (sqlite3_prepare_v2(j->db, "SELECT detail FROM events WHERE kind = 'started' "
                                "ORDER BY seq LIMIT 1", -1, &st, NULL))
    return NULL;
  if (sqlite3_step(st) == SQLITE_ROW) {
    const char *d = (const char *)sqlite3_column_text(st, 0);
    if (d) v = rt_event_spec_hash(d);
  }
  sqlite3_finalize(st);
  return v;
}

/* How many of the journal's tables the file has (0, 1, 2), *all the
 * tables it has; -1 after reporting a file that is not a database. */
static int count_tables(RtJournal *j, int *all) {
  sqlite3_stmt *st;
  int n = -1;
  if (sqlite3_prepare_v2(j->db, "SELECT count(*), count(CASE WHEN name IN ('events', 'meta') "
                                "THEN 1 END) FROM sqlite_master WHERE type = 'table'", -1, &st,
                         NULL) == SQLITE_OK &&
      sqlite3_step(st) == SQLITE_ROW)
    *all = sqlite3_column_int(st, 0), n = sqlite3_column_int(st, 1);
  else
    db_error(j, "cannot open the release store");
  sqlite3_finalize(st);
  return n;
}

RtJournal *rt_journal_open(const char *path, const char *rel_name, const char *spec_hash,
                           bool create, int *code) {
  *code = 0;
  if (rt_store_is_pg(path)) {
    char *shown = rt_store_shown(path);
    RtPgJournal *pg = rt_pg_open(path, shown, rel_name, spec_hash, create, code);
    if (!pg) {
      free(shown);
      return NULL;
    }
    RtJournal *j = rt_xmalloc(sizeof *j);
    memset(j, 0, sizeof *j);
    j->pg = pg;
    j->path = shown;
    return j;
  }
  struct stat sb;
  if (!create && stat(path, &sb) != 0) return NULL;   /* nothing journaled yet */
  RtJournal *j = rt_xmalloc(sizeof *j);
  memset(j, 0, sizeof *j);
  j->path = rt_xmalloc(strlen(path) + 1);
  strcpy(j->path, path);
  int flags = SQLITE_OPEN_READWRITE | (create ? SQLITE_OPEN_CREATE : 0) | SQLITE_OPEN_FULLMUTEX;
  if (sqlite3_open_v2(path, &j->db, flags, NULL) != SQLITE_OK) {
    rt_diag(RT_ERROR, rt_loc_file(path), "cannot open the release store: %s",
            j->db ? sqlite3_errmsg(j->db) : strerror(errno));
    *code = 6;
    rt_journal_close(j);
    return NULL;
  }
  sqlite3_busy_timeout(j->db, BUSY_MS);
  sqlite3_extended_result_codes(j->db, 1);
  /* synchronous FULL: a decision reported committed survives a power cut too */
  if (!exec(j, "PRAGMA synchronous=FULL", "cannot open the release store")) {
    int e = sqlite3_errcode(j->db) & 0xff;
    *code = e == SQLITE_NOTADB || e == SQLITE_CORRUPT ? 4 : 6;
    rt_journal_close(j);
    return NULL;
  }
  int all = 0, ntab = count_tables(j, &all);
  if (ntab < 0) {   /* not a database at all, or unreadable */
    int e = sqlite3_errcode(j->db) & 0xff;
    *code = e == SQLITE_NOTADB || e == SQLITE_CORRUPT ? 4 : 6;
    rt_journal_close(j);
    return NULL;
  }
  if (ntab == 0 && all > 0) {   /* somebody else's database: leave it alone */
    rt_diag(RT_ERROR, rt_loc_file(path), "not a release store: a database with other tables");
    *code = 4;
    rt_journal_close(j);
    return NULL;
  }
  if (!create && ntab == 0) {   /* an empty file: nothing journaled yet */
    rt_journal_close(j);
    return NULL;
  }
  /* create: WAL (readers such as status and serve never wait for the writer,
   * a persistent mode), then the schema and the owner once, under the write
   * lock; otherwise a read transaction, so that status takes no lock */
  if (create && !exec(j, "PRAGMA journal_mode=WAL", "cannot open the release store")) {
    *code = 6;
    rt_journal_close(j);
    return NULL;
  }
  if (!exec(j, create ? "BEGIN IMMEDIATE" : "BEGIN", "cannot lock the release store")) {
    *code = 6;
    rt_journal_close(j);
    return NULL;
  }
  if ((create && !exec(j, schema, "not a release store")) ||
      !exec(j, "SELECT seq, time_us, kind, who, why, detail FROM events LIMIT 0;"
               "SELECT key, value FROM meta LIMIT 0", "not a release store")) {
    exec(j, "ROLLBACK", "rollback");
    *code = 4;
    rt_journal_close(j);
    return NULL;
  }
  char *name = meta_get(j, "release"), *hash = started_hash(j);
  if (create && !name && (!meta_put(j, "release", rel_name) || !meta_put(j, "format", "1"))) {
    db_error(j, "cannot write the release store");
    exec(j, "ROLLBACK", "rollback");
    *code = 6;
  } else if ((name && strcmp(name, rel_name)) || (hash && strcmp(hash, spec_hash))) {
    rt_journal_foreign(path, name ? name : rel_name, hash, rel_name, spec_hash);
    exec(j, "ROLLBACK", "rollback");
    *code = 4;
  } else if (!exec(j, "COMMIT", "cannot write the release store")) {
    *code = 6;
  }
  free(name);
  free(hash);
  if (*code) {
    rt_journal_close(j);
    return NULL;
  }
  return j;
}

void rt_journal_close(RtJournal *j) {
  if (!j) return;
  if (j->pg) rt_pg_close(j->pg);
  if (j->in_tx) rt_journal_rollback(j);
  if (j->db) sqlite3_close(j->db);
  free(j->path);
  free(j);
}

int rt_journal_begin(RtJournal *j) {
  if (j->pg) return rt_pg_begin(j->pg);
  if (!exec(j, "BEGIN IMMEDIATE", "cannot lock the release store")) return -1;
  j->in_tx = true;
  return 0;
}

int rt_journal_commit(RtJournal *j) {
  if (j->pg) {
    if (!rt_pg_commit(j->pg)) return 0;
    j->crel = NULL;   /* the cache may hold what was not committed */
    return -1;
  }
  j->in_tx = false;
  if (exec(j, "COMMIT", "cannot commit to the release store")) return 0;
  sqlite3_exec(j->db, "ROLLBACK", NULL, NULL, NULL);
  j->crel = NULL;
  return -1;
}

void rt_journal_rollback(RtJournal *j) {
  j->crel = NULL;
  if (j->pg) {
    rt_pg_rollback(j->pg);
    return;
  }
  j->in_tx = false;
  sqlite3_exec(j->db, "ROLLBACK", NULL, NULL, NULL);
}

static char *dup_text(const char *t) {
  if (!t) return NULL;
  char *s = rt_xmalloc(strlen(t) + 1);
  strcpy(s, t);
  return s;
}

/* The numbers replay needs, from an event's detail. */
static void parse_detail(RtEvent *e) {
  json_t *o = json_loads(e->detail, 0, NULL);
  if (!o) return;
  json_t *v = json_object_get(o, "step");
  if (json_is_integer(v))   /* replay ignores steps out of range; keep them out of it */
    e->step = json_integer_value(v) < -1 || json_integer_value(v) > 1000000
                  ? 1000000 : (int)json_integer_value(v);
  v = json_object_get(o, "requests");
  if (json_is_integer(v)) e->requests = json_integer_value(v);
  v = json_object_get(o, "conclusive");
  if (json_is_boolean(v)) e->conclusive = json_is_true(v);
  v = json_object_get(o, "promote");
  if (json_is_boolean(v)) e->promote = json_is_true(v);
  v = json_object_get(o, "rollback");
  for (size_t i = 0; json_is_array(v) && i < json_array_size(v) && i < RT_MAX_ROLLBACK; i++)
    if (json_is_true(json_array_get(v, i))) e->rollback |= 1u << i;
  json_decref(o);
}

void rt_event_init(RtEvent *e, int64_t seq, int64_t time_us, const char *kind, const char *who,
                   const char *why, const char *detail) {
  memset(e, 0, sizeof *e);
  e->step = e->conclusive = e->promote = -1;   /* not said in detail */
  e->seq = seq;
  e->time_us = time_us;
  e->kind = RT_EV__COUNT;   /* unknown kinds (a newer mlxc): replay skips them */
  for (int i = 0; kind && i < RT_EV__COUNT; i++)
    if (!strcmp(kind, rt_event_names[i])) e->kind = (RtEventKind)i;
  if (e->kind == RT_EV__COUNT) e->other_kind = dup_text(kind ? kind : "");
  e->who = dup_text(who);
  e->why = dup_text(why);
  e->detail = dup_text(detail ? detail : "{}");
  parse_detail(e);
}

char *rt_event_spec_hash(const char *detail) {
  json_t *o = json_loads(detail, 0, NULL);
  json_t *h = json_object_get(o, "spec_hash");
  char *v = json_is_string(h) ? dup_text(json_string_value(h)) : NULL;
  json_decref(o);
  return v;
}

/* The events after seq `after`, in seq order. */
static int read_after(RtJournal *j, int64_t after, RtEvent **out, int64_t *n) {
  if (j->pg) return rt_pg_read(j->pg, after, out, n);
  *out = NULL;
  *n = 0;
  sqlite3_stmt *st;
  if (sqlite3_prepare_v2(j->db, "SELECT seq, time_us, kind, who, why, detail FROM events "
                                "WHERE seq > ? ORDER BY seq", -1, &st, NULL)) {
    db_error(j, "cannot read the release store");
    return -1;
  }
  sqlite3_bind_int64(st, 1, after);
  int64_t cap = 64;
  RtEvent *ev = rt_xmalloc(sizeof *ev * (size_t)cap);
  int rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    if (*n == cap) ev = rt_xrealloc(ev, sizeof *ev * (size_t)(cap *= 2));
    rt_event_init(&ev[(*n)++], sqlite3_column_int64(st, 0), sqlite3_column_int64(st, 1),
                  (const char *)sqlite3_column_text(st, 2),
                  (const char *)sqlite3_column_text(st, 3),
                  (const char *)sqlite3_column_text(st, 4),
                  (const char *)sqlite3_column_text(st, 5));
  }
  sqlite3_finalize(st);
  if (rc != SQLITE_DONE) {
    db_error(j, "cannot read the release store");
    rt_events_free(ev, *n);
    *out = NULL;
    *n = 0;
    return -1;
  }
  *out = ev;
  return 0;
}

int rt_journal_read(RtJournal *j, RtEvent **out, int64_t *n) {
  return read_after(j, 0, out, n);
}

int rt_journal_state(RtJournal *j, const RtRelease *rel, RtReleaseState *s) {
  if (j->crel != rel) {
    memset(&j->cstate, 0, sizeof j->cstate);
    j->crel = NULL;
  }
  RtEvent *ev;
  int64_t n;
  if (read_after(j, j->cstate.seq, &ev, &n)) return -1;
  /* seq is gapless: anything else (a store replaced under us) replays from the start */
  if (n > 0 && ev[0].seq != j->cstate.seq + 1) {
    rt_events_free(ev, n);
    memset(&j->cstate, 0, sizeof j->cstate);
    if (read_after(j, 0, &ev, &n)) return -1;
  }
  rt_release_apply(rel, &j->cstate, ev, n);
  rt_events_free(ev, n);
  j->crel = rel;
  *s = j->cstate;
  return 0;
}

void rt_events_free(RtEvent *ev, int64_t n) {
  for (int64_t i = 0; ev && i < n; i++) {
    free((char *)ev[i].who);
    free((char *)ev[i].why);
    free((char *)ev[i].detail);
    free((char *)ev[i].other_kind);
  }
  free(ev);
}

int64_t rt_journal_append(RtJournal *j, RtEventKind kind, int64_t time_us, const char *who,
                          const char *why, const char *detail) {
  if (j->pg) return rt_pg_append(j->pg, kind, time_us, who, why, detail);
  bool own = !j->in_tx;
  if (own && rt_journal_begin(j)) return -1;
  sqlite3_stmt *st;
  int64_t seq = -1;
  if (sqlite3_prepare_v2(j->db, "INSERT INTO events(seq, time_us, kind, who, why, detail) "
                                "VALUES((SELECT COALESCE(MAX(seq), 0) + 1 FROM events), "
                                "?, ?, ?, ?, ?) RETURNING seq", -1, &st, NULL)) {
    db_error(j, "cannot write the release store");
  } else {
    sqlite3_bind_int64(st, 1, time_us);
    sqlite3_bind_text(st, 2, rt_event_names[kind], -1, SQLITE_STATIC);
    if (who) sqlite3_bind_text(st, 3, who, -1, SQLITE_STATIC);
    if (why) sqlite3_bind_text(st, 4, why, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 5, detail ? detail : "{}", -1, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_ROW) seq = sqlite3_column_int64(st, 0);
    else db_error(j, "cannot write the release store");
    sqlite3_finalize(st);
  }
  if (own) {
    if (seq < 0) rt_journal_rollback(j);
    else if (rt_journal_commit(j)) seq = -1;
  }
  return seq;
}
