/*
 * forces_internal.h — what the store's forces files share: forces.c (column
 * and bind helpers, the existence check, the reader by id, the walk of
 * people and unit lists), forces_registry.c, forces_units.c (the unit
 * reader that dispatch steps build on) and forces_dispatch.c. Not for use
 * outside src/store/; the API is store/forces.h.
 */
#ifndef SAFEGRID_STORE_FORCES_INTERNAL_H
#define SAFEGRID_STORE_FORCES_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sqlite3.h>

#include "store/forces.h"

/* Copies text column col of st into dst (cap bytes, cut short if longer); NULL reads as "". */
void store__forces_copy_text(char *dst, size_t cap, sqlite3_stmt *st, int col);

/* Binds s (borrowed, SQLITE_STATIC) to parameter i; NULL or "" binds NULL. */
void store__forces_bind_text_or_null(sqlite3_stmt *st, int i, const char *s);

/* One-row existence check inside a command or a read: 0, SG_ENOTFOUND, or an error. */
int store__forces_exists(sqlite3_stmt *st, int64_t id);

/*
 * The readers by id: prepares sql (one row's columns "... WHERE id=?") and
 * steps to the row of id, which *st then holds. 0, SG_ENOTFOUND, or an
 * error. The caller finalizes *st in every case (NULL when the prepare
 * failed).
 */
int store__forces_row_by_id(sqlite3 *db, const char *sql, int64_t id, sqlite3_stmt **st);

/*
 * The shared walk of people and units lists. Without an area list it is
 * one range read over (area_id, id) from the cursor; with one it is a seek
 * per area, in area order, starting at the cursor's area. Filters that are
 * not part of the index are checked on the rows the walk meets.
 */
struct store__forces_walk {
	const char *table, *cols;
	const struct store_force_filter *f;
	size_t limit, emitted;
	int (*row)(void *ctx, sqlite3_stmt *st);
	void *ctx;
};

/*
 * Runs the walk on db (a borrowed read connection): row is called for each
 * row met, until it returns non-zero or limit rows have been emitted.
 * type_name and status_name (NULL: any) are the filter's type and status as
 * stored. 0 or an error.
 */
int store__forces_walk(sqlite3 *db, struct store__forces_walk *w, const char *type_name,
		       const char *status_name);

/*
 * Reads unit id on db (a read connection or inside a command) into out,
 * with its members if members is set. 0, SG_ENOTFOUND, or an error.
 */
int store__unit_get_db(sqlite3 *db, int64_t id, struct store_unit *out, bool members);

#endif
