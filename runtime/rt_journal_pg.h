/* rt_journal_pg.h — the journal's PostgreSQL store, behind rt_journal.c's
 * API (private to the two files). Several serve replicas and commands on
 * several machines share one rollout through it: writers serialize on a
 * transaction-scoped advisory lock per release, exactly as SQLite writers
 * do on BEGIN IMMEDIATE. */
#ifndef MLXC_RT_JOURNAL_PG_H
#define MLXC_RT_JOURNAL_PG_H

#include "rt.h"

typedef struct RtPgJournal RtPgJournal;

/* Opens the store at url (postgresql://... or postgres://...) for release
 * rel_name, as rt_journal_open does for a file: create makes the tables
 * when they are missing; without create, a store with nothing journaled
 * for the release gives NULL with *code 0. shown is the url as messages
 * name it (no password). */
RtPgJournal *rt_pg_open(const char *url, const char *shown, const char *rel_name,
                        const char *spec_hash, bool create, int *code);
void rt_pg_close(RtPgJournal *j);
int rt_pg_begin(RtPgJournal *j);
int rt_pg_commit(RtPgJournal *j);
void rt_pg_rollback(RtPgJournal *j);
/* The release's events after seq `after`, in seq order. */
int rt_pg_read(RtPgJournal *j, int64_t after, RtEvent **ev, int64_t *n);
int64_t rt_pg_append(RtPgJournal *j, RtEventKind kind, int64_t time_us, const char *who,
                     const char *why, const char *detail);

/* Both stores: one event from its columns (strings copied; kind as
 * written; detail NULL is "{}"), with the numbers replay reads from detail. */
void rt_event_init(RtEvent *e, int64_t seq, int64_t time_us, const char *kind, const char *who,
                   const char *why, const char *detail);
/* Reports a journal that belongs to another release or spec (exit 4). */
void rt_journal_foreign(const char *shown, const char *name, const char *hash,
                        const char *rel_name, const char *spec_hash);
/* The spec hash a `started` event's detail records, malloc'd, or NULL. */
char *rt_event_spec_hash(const char *detail);

#endif
