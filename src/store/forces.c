/*
 * forces.c — what the store's forces files have in common: reading and
 * binding text columns, the existence check by primary key, the reader by
 * id, and the walk of people and unit lists (see forces_internal.h). Not the
 * rows of any table: organisations and people are in forces_registry.c,
 * units and tracks in forces_units.c, dispatches in forces_dispatch.c.
 *
 * Lists of people and units walk the (area_id, id) indexes: a caller's
 * visible areas become one index seek each, in area order, so a station's
 * page costs the same whether the registry holds thousands or millions.
 */
#include "store/forces.h"

#include <stdio.h>

#include "base/err.h"
#include "store/forces_internal.h"
#include "store/store_internal.h"

void store__forces_copy_text(char *dst, size_t cap, sqlite3_stmt *st, int col)
{
	const unsigned char *t = sqlite3_column_text(st, col);
	snprintf(dst, cap, "%s", t ? (const char *)t : "");
}

void store__forces_bind_text_or_null(sqlite3_stmt *st, int i, const char *s)
{
	if (s && *s)
		sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, i);
}

int store__forces_exists(sqlite3_stmt *st, int64_t id)
{
	int rc;

	sqlite3_reset(st);
	sqlite3_bind_int64(st, 1, id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		return SG_OK;
	return rc == SQLITE_DONE ? SG_ENOTFOUND : store__rc(rc);
}

int store__forces_row_by_id(sqlite3 *db, const char *sql, int64_t id, sqlite3_stmt **st)
{
	int rc = store__prepare(db, sql, st);

	return rc ? rc : store__forces_exists(*st, id);
}

/*
 * The box condition. Asked with since, it also takes a unit whose move since
 * took it out of the box (its position before that move was inside), so
 * that a poller of a box learns to drop it.
 */
static const char *box_sql(const struct store_force_filter *f)
{
	if (!f->bbox)
		return "";
	if (f->since <= 0)
		return " AND lon BETWEEN ?7 AND ?8 AND lat BETWEEN ?9 AND ?10";
	return " AND ((lon BETWEEN ?7 AND ?8 AND lat BETWEEN ?9 AND ?10) OR (moved_at >= ?11 AND"
	       " prev_lon BETWEEN ?7 AND ?8 AND prev_lat BETWEEN ?9 AND ?10))";
}

static int walk_sql(struct store__forces_walk *w, bool one_area, char *sql, size_t cap)
{
	const struct store_force_filter *f = w->f;
	int n = snprintf(sql, cap, "SELECT %s FROM %s WHERE %s%s%s%s%s%s ORDER BY area_id, id LIMIT ?5",
			 w->cols, w->table,
			 one_area ? "area_id = ?1 AND id > ?2" : "(area_id, id) > (?1, ?2)",
			 f->type >= 0 ? " AND type = ?3" : "", f->org_id ? " AND org_id = ?4" : "",
			 f->status >= 0 ? " AND status = ?6" : "",
			 box_sql(f),
			 f->since > 0 ? " AND (updated_at >= ?11 OR moved_at >= ?11)" : "");
	return n > 0 && (size_t)n < cap ? SG_OK : SG_EINTERNAL;
}

static int walk_run(sqlite3_stmt *st, struct store__forces_walk *w, int64_t area, int64_t after_id,
		    const char *type_name, const char *status_name)
{
	int rc;

	sqlite3_reset(st);
	sqlite3_bind_int64(st, 1, area);
	sqlite3_bind_int64(st, 2, after_id);
	if (type_name)
		sqlite3_bind_text(st, 3, type_name, -1, SQLITE_STATIC);
	if (w->f->org_id)
		sqlite3_bind_int64(st, 4, w->f->org_id);
	sqlite3_bind_int64(st, 5, (int64_t)(w->limit - w->emitted));
	if (status_name)
		sqlite3_bind_text(st, 6, status_name, -1, SQLITE_STATIC);
	if (w->f->bbox) {
		sqlite3_bind_double(st, 7, w->f->min_lon);
		sqlite3_bind_double(st, 8, w->f->max_lon);
		sqlite3_bind_double(st, 9, w->f->min_lat);
		sqlite3_bind_double(st, 10, w->f->max_lat);
	}
	if (w->f->since > 0)
		sqlite3_bind_int64(st, 11, w->f->since);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (w->row(w->ctx, st))
			return 1;
		if (++w->emitted == w->limit)
			return 1;
	}
	return rc == SQLITE_DONE ? 0 : store__rc(rc);
}

int store__forces_walk(sqlite3 *db, struct store__forces_walk *w, const char *type_name,
		       const char *status_name)
{
	const struct store_force_filter *f = w->f;
	sqlite3_stmt *st = NULL;
	char sql[512];
	int rc;

	w->emitted = 0;
	if (w->limit == 0)
		goto done;
	if ((rc = walk_sql(w, f->areas != NULL, sql, sizeof sql)) ||
	    (rc = store__prepare(db, sql, &st)))
		goto out;
	if (!f->areas) {
		rc = walk_run(st, w, f->after_area, f->after_id, type_name, status_name);
	} else {
		rc = 0;
		for (size_t i = 0; !rc && i < f->nareas; i++) {
			if (f->areas[i] < f->after_area)
				continue;
			rc = walk_run(st, w, f->areas[i], f->areas[i] == f->after_area ? f->after_id : 0,
				      type_name, status_name);
		}
	}
	if (rc > 0)
		rc = 0;
	goto out;
done:
	rc = 0;
out:
	sqlite3_finalize(st);
	return rc;
}
