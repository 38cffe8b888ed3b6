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

/* Borrows a read-only connection; give it back with store__read_end. */
sqlite3 *store__read_begin(struct store *s);
void store__read_end(struct store *s, sqlite3 *db);

/* Runs a one-number query (e.g. SELECT count(*) …) on a read connection. */
int store__count(struct store *s, const char *sql, size_t *out);

/* Maps a SQLite result code onto SG_E*. */
int store__rc(int sqlite_rc);

/* Prepares sql on db; logs and returns SG_EINTERNAL on failure. */
int store__prepare(sqlite3 *db, const char *sql, sqlite3_stmt **st);

/* Audit append inside an already running command (used by composite writes). */
int store__audit_append_tx(sqlite3 *db, const char *actor, const char *action,
			   const char *subject, const char *detail);

/* Statistics moved inside a running command (store/stats.c). */
int store__stats_case_count(sqlite3 *db, const struct case_row *c, int police, int delta);
int store__stats_case_resolved(sqlite3 *db, const struct case_row *c, int64_t at);

/* The migrations, in order; migration i has version i + 1. */
extern const char *const store__migrations[];
extern const int store__migration_count;

#endif
