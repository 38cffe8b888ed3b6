/*
 * store_internal.h — what the store's own files share: running a command on
 * the core thread and borrowing a read connection. Not for use outside
 * src/store/.
 */
#ifndef SAFEGRID_STORE_STORE_INTERNAL_H
#define SAFEGRID_STORE_STORE_INTERNAL_H

#include <sqlite3.h>

#include "store/store.h"

/*
 * A write command: runs on the core thread inside the batch transaction (in
 * its own savepoint) and returns 0 or an SG_E* code; a non-zero code rolls
 * back just this command.
 */
typedef int (*store_cmd_fn)(sqlite3 *db, void *ctx);

/*
 * Queues fn for the next batch and waits until that batch is durable.
 * Returns fn's code, or SG_EIO if the batch failed to commit (then nothing of
 * fn remains), or SG_ECLOSED while closing.
 */
int store__submit(struct store *s, store_cmd_fn fn, void *ctx);
/*
 * Queues fn and returns at once: done(arg, rc) runs later on the core
 * thread, after fn's batch is durable (or failed, as above); ctx must stay
 * valid until then. Returns 0, or SG_ENOMEM / SG_ECLOSED (then done never
 * runs).
 */
int store__submit_async(struct store *s, store_cmd_fn fn, void *ctx, store_done_fn done,
			void *arg);

/* Borrows a read-only connection; give it back with store__read_end. */
sqlite3 *store__read_begin(struct store *s);
void store__read_end(struct store *s, sqlite3 *db);

/* Runs a one-number query (e.g. SELECT count(*) …) on a read connection. */
int store__count(struct store *s, const char *sql, size_t *out);

/* Maps a SQLite result code onto SG_E*. */
int store__rc(int sqlite_rc);

/* Prepares sql on db; logs and returns SG_EINTERNAL on failure. */
int store__prepare(sqlite3 *db, const char *sql, sqlite3_stmt **st);

/*
 * Statements kept prepared on the core connection: store__stmt returns the
 * cached statement for sql (looked up by the string's address, so pass a
 * literal or a static string), store__stmt_done resets it for the next use.
 * On any other connection (or nested use of the same sql) they are a plain
 * prepare and finalize. Every store__stmt needs its store__stmt_done.
 */
int store__stmt(sqlite3 *db, const char *sql, sqlite3_stmt **st);
void store__stmt_done(sqlite3_stmt *st);

/* The core thread's own state, when db is the core connection and we run on it; else NULL. */
struct store__core;
struct store__core *store__core_of(sqlite3 *db);
struct store__join **store__core_join(struct store__core *c);
struct store__stats_pending **store__core_pending(struct store__core *c);

/*
 * The join index (store/joinidx.c): the recent cases in memory on the core
 * thread, in a grid of ~200 m cells per category, for the duplicate-join
 * lookup. It answers candidates only; the caller checks each against the
 * store, so an entry left by a rolled-back insert or a moved case is harmless.
 */
struct store__join;
/* Notes a case stored at (lon, lat) (opened, split out or moved). */
void store__join_note(sqlite3 *db, int64_t id, const char *category, int64_t created_at,
		      double lon, double lat);
struct store__join_hit {
	int64_t id, created_at;
	double lon, lat;
};
/*
 * Every case of category created at or after since whose point lies in the
 * box, loading from the store what memory does not cover. *hits is owned by
 * the index (valid until its next call); SG_ENOTSUP off the core thread.
 */
int store__join_find(sqlite3 *db, const char *category, int64_t since, double lon0, double lon1,
		     double lat0, double lat1, const struct store__join_hit **hits, size_t *n);
/* Forgets everything (cases were written behind the index's back); reloaded on demand. */
void store__join_invalidate(sqlite3 *db);
void store__join_free(struct store__join *j);

/*
 * Case counters aggregated per commit batch (store/counters.c): a command adds
 * its deltas, the core merges them into stats_cases and its monthly roll-up
 * once per batch, just before COMMIT. mark/undo drop the deltas of a command
 * that rolled back (undo to 0: all of them).
 */
size_t store__stats_pending_mark(sqlite3 *db);
void store__stats_pending_undo(sqlite3 *db, size_t mark);
int store__stats_pending_flush(sqlite3 *db);
void store__stats_pending_free(struct store__stats_pending *p);

/* Whether counters at this level have the monthly roll-up (all but governance grids'). */
bool store__stats_rolled_up(enum area_kind level);

/* The local month of a local day (store_stats_day), as year * 12 + month - 1. */
int64_t store__stats_month(int64_t day);
/* The first local day of such a month. */
int64_t store__stats_month_first_day(int64_t month);

/* Audit append inside an already running command (used by composite writes). */
int store__audit_append_tx(sqlite3 *db, const char *actor, const char *action,
			   const char *subject, const char *detail);

/* Statistics moved inside a running command (store/counters.c). */
int store__stats_case_count(sqlite3 *db, const struct case_row *c, int police, int delta);
int store__stats_case_resolved(sqlite3 *db, const struct case_row *c, int64_t at);

/*
 * An open case, as SQL: one still to be handled (not resolved, closed or
 * cancelled; the console's and Open311's sense). The partial indexes of
 * open cases (migrations.c) are defined by this very text, and a query that
 * means to use one must say it alike for SQLite to see that it may.
 */
#define STORE__CASE_OPEN_SQL "status NOT IN ('resolved','closed','cancelled')"

/* The migrations, in order; migration i has version i + 1. */
extern const char *const store__migrations[];
extern const int store__migration_count;

#endif
