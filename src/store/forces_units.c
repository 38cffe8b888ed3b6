/*
 * forces_units.c — units in the store: adding, reading and listing them with
 * their members, and their positions (the latest on the unit, the track
 * beside it, the purge of old track). Not their moves through dispatches
 * (forces_dispatch.c) nor the people in them (forces_registry.c).
 */
#include "store/forces.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/err.h"
#include "store/forces_internal.h"
#include "store/store_internal.h"

/* ---- units ------------------------------------------------------------------ */

#define UNIT_COLS                                                                      \
	"id,type,callsign,org_id,area_id,status,lon,lat,pos_at,coalesce(case_id,0),"   \
	"created_at,updated_at,version"

static void read_unit(sqlite3_stmt *st, struct store_unit *u)
{
	int v = 0;

	memset(u, 0, sizeof *u);
	u->id = sqlite3_column_int64(st, 0);
	if (unit_type_parse((const char *)sqlite3_column_text(st, 1), (enum unit_type *)&v))
		v = 0;
	u->type = (enum unit_type)v;
	store__forces_copy_text(u->callsign, sizeof u->callsign, st, 2);
	u->org_id = sqlite3_column_int64(st, 3);
	u->area_id = sqlite3_column_int64(st, 4);
	if (force_unit_status_parse((const char *)sqlite3_column_text(st, 5), &u->status))
		u->status = 0;
	u->has_pos = sqlite3_column_type(st, 8) != SQLITE_NULL;
	u->lon = sqlite3_column_double(st, 6);
	u->lat = sqlite3_column_double(st, 7);
	u->pos_at = sqlite3_column_int64(st, 8);
	u->case_id = sqlite3_column_int64(st, 9);
	u->created_at = sqlite3_column_int64(st, 10);
	u->updated_at = sqlite3_column_int64(st, 11);
	u->version = sqlite3_column_int64(st, 12);
}

struct units_add_ctx {
	struct store_unit *v;
	size_t n;
	const char *actor;
};

static int units_add_cmd(sqlite3 *db, void *arg)
{
	struct units_add_ctx *c = arg;
	sqlite3_stmt *ins = NULL, *org = NULL, *area = NULL, *mem = NULL;
	int64_t now = (int64_t)time(NULL);
	int rc;

	if ((rc = store__prepare(db,
				 "INSERT INTO units(type,callsign,org_id,area_id,status,lon,lat,pos_at,"
				 "case_id,created_at,updated_at,version) VALUES(?,?,?,?,?,?,?,?,NULL,?,?,1)",
				 &ins)) ||
	    (rc = store__prepare(db, "SELECT 1 FROM orgs WHERE id=?", &org)) ||
	    (rc = store__prepare(db, "SELECT 1 FROM areas WHERE id=?", &area)) ||
	    (rc = store__prepare(db, "UPDATE people SET unit_id=? WHERE id=?", &mem)))
		goto out;
	for (size_t i = 0; !rc && i < c->n; i++) {
		struct store_unit *u = &c->v[i];
		if ((rc = store__forces_exists(org, u->org_id)) ||
		    (rc = store__forces_exists(area, u->area_id)))
			break;
		sqlite3_reset(ins);
		sqlite3_bind_text(ins, 1, unit_type_name(u->type), -1, SQLITE_STATIC);
		sqlite3_bind_text(ins, 2, u->callsign, -1, SQLITE_STATIC);
		sqlite3_bind_int64(ins, 3, u->org_id);
		sqlite3_bind_int64(ins, 4, u->area_id);
		sqlite3_bind_text(ins, 5, force_unit_status_name(u->status), -1, SQLITE_STATIC);
		if (u->has_pos) {
			sqlite3_bind_double(ins, 6, u->lon);
			sqlite3_bind_double(ins, 7, u->lat);
			sqlite3_bind_int64(ins, 8, u->pos_at);
		} else {
			sqlite3_bind_null(ins, 6);
			sqlite3_bind_null(ins, 7);
			sqlite3_bind_null(ins, 8);
		}
		sqlite3_bind_int64(ins, 9, u->created_at ? u->created_at : now);
		sqlite3_bind_int64(ins, 10, u->created_at ? u->created_at : now);
		if ((rc = store__rc(sqlite3_step(ins))))
			break;
		u->id = sqlite3_last_insert_rowid(db);
		u->version = 1;
		for (size_t m = 0; !rc && m < u->nmembers; m++) {
			sqlite3_reset(mem);
			sqlite3_bind_int64(mem, 1, u->id);
			sqlite3_bind_int64(mem, 2, u->members[m]);
			rc = store__rc(sqlite3_step(mem));
			if (!rc && sqlite3_changes(db) == 0)
				rc = SG_ENOTFOUND;
		}
		if (!rc && c->actor) {
			char subject[40];
			snprintf(subject, sizeof subject, "unit:%lld", (long long)u->id);
			rc = store__audit_append_tx(db, c->actor, "unit.create", subject, u->callsign);
		}
	}
out:
	sqlite3_finalize(ins);
	sqlite3_finalize(org);
	sqlite3_finalize(area);
	sqlite3_finalize(mem);
	return rc;
}

int store_units_add(struct store *s, struct store_unit *v, size_t n, const char *actor)
{
	struct units_add_ctx c = { v, n, actor };
	return store__submit(s, units_add_cmd, &c);
}

int store__unit_get_db(sqlite3 *db, int64_t id, struct store_unit *out, bool members)
{
	sqlite3_stmt *st = NULL;
	int rc = store__forces_row_by_id(db, "SELECT " UNIT_COLS " FROM units WHERE id=?", id, &st);

	if (!rc)
		read_unit(st, out);
	sqlite3_finalize(st);
	if (rc || !members)
		return rc;
	if ((rc = store__prepare(db, "SELECT id FROM people WHERE unit_id=? ORDER BY id", &st)))
		return rc;
	sqlite3_bind_int64(st, 1, id);
	while (sqlite3_step(st) == SQLITE_ROW && out->nmembers < STORE_UNIT_MEMBERS_MAX)
		out->members[out->nmembers++] = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return SG_OK;
}

int store_unit_get(struct store *s, int64_t id, struct store_unit *out)
{
	sqlite3 *db = store__read_begin(s);
	int rc = store__unit_get_db(db, id, out, true);

	store__read_end(s, db);
	return rc;
}

struct unit_walk {
	store_unit_fn fn;
	void *ctx;
	struct store_unit u;
};

static int unit_row(void *ctx, sqlite3_stmt *st)
{
	struct unit_walk *uw = ctx;

	read_unit(st, &uw->u);
	return uw->fn(uw->ctx, &uw->u);
}

int store_units_list(struct store *s, const struct store_force_filter *f, size_t limit,
		     store_unit_fn fn, void *ctx)
{
	struct unit_walk uw;
	struct store__forces_walk w = { "units", UNIT_COLS, f, limit, 0, unit_row, &uw };

	sqlite3 *db = store__read_begin(s);
	int rc;

	uw.fn = fn;
	uw.ctx = ctx;
	rc = store__forces_walk(db, &w,
				f->type >= 0 ? unit_type_name((enum unit_type)f->type) : NULL,
				f->status >= 0 ? force_unit_status_name(f->status) : NULL);
	store__read_end(s, db);
	return rc;
}

int store_units_all(struct store *s, store_unit_fn fn, void *ctx)
{
	sqlite3 *db = store__read_begin(s);
	sqlite3_stmt *st = NULL;
	struct store_unit u;
	int rc = store__prepare(db, "SELECT " UNIT_COLS " FROM units ORDER BY id", &st);

	while (!rc && sqlite3_step(st) == SQLITE_ROW) {
		read_unit(st, &u);
		if (fn(ctx, &u))
			break;
	}
	sqlite3_finalize(st);
	store__read_end(s, db);
	return rc;
}

struct positions_ctx {
	const struct store_position *v;
	size_t n;
	int64_t received_at;
	size_t bad;
};

static int positions_cmd(sqlite3 *db, void *arg)
{
	struct positions_ctx *c = arg;
	sqlite3_stmt *track = NULL, *latest = NULL;
	int rc;

	if ((rc = store__prepare(db, "INSERT OR IGNORE INTO unit_positions VALUES(?,?,?,?)",
				 &track)) ||
	    (rc = store__prepare(db,
				 "UPDATE units SET prev_lon=lon, prev_lat=lat, lon=?2, lat=?3, pos_at=?4, "
				 "moved_at=?5 WHERE id=?1 AND (pos_at IS NULL OR pos_at < ?4)",
				 &latest)))
		goto out;
	for (size_t i = 0; !rc && i < c->n; i++) {
		const struct store_position *p = &c->v[i];
		sqlite3_reset(latest);
		sqlite3_bind_int64(latest, 1, p->unit_id);
		sqlite3_bind_double(latest, 2, p->lon);
		sqlite3_bind_double(latest, 3, p->lat);
		sqlite3_bind_int64(latest, 4, p->at);
		sqlite3_bind_int64(latest, 5, c->received_at);
		if ((rc = store__rc(sqlite3_step(latest))))
			break;
		if (sqlite3_changes(db) == 0) {
			/* Older than the latest, or no such unit: only the second is an error. */
			sqlite3_stmt *chk = NULL;
			if ((rc = store__prepare(db, "SELECT 1 FROM units WHERE id=?", &chk)))
				break;
			rc = store__forces_exists(chk, p->unit_id);
			sqlite3_finalize(chk);
			if (rc) {
				c->bad = i;
				break;
			}
		}
		sqlite3_reset(track);
		sqlite3_bind_int64(track, 1, p->unit_id);
		sqlite3_bind_int64(track, 2, p->at);
		sqlite3_bind_double(track, 3, p->lon);
		sqlite3_bind_double(track, 4, p->lat);
		rc = store__rc(sqlite3_step(track));
	}
out:
	sqlite3_finalize(track);
	sqlite3_finalize(latest);
	return rc;
}

int store_positions_add(struct store *s, const struct store_position *v, size_t n,
			int64_t received_at, size_t *bad)
{
	struct positions_ctx c = { v, n, received_at, SIZE_MAX };
	int rc = n ? store__submit(s, positions_cmd, &c) : SG_OK;

	if (bad)
		*bad = c.bad;
	return rc;
}

/* An asynchronous store_positions_add: the command's context outlives the caller's frame. */
struct positions_async {
	struct positions_ctx c;
	size_t *bad;
	store_done_fn done;
	void *arg;
};

static void positions_async_done(void *arg, int rc)
{
	struct positions_async *a = arg;
	store_done_fn done = a->done;
	void *done_arg = a->arg;

	if (a->bad)
		*a->bad = a->c.bad;
	free(a);
	done(done_arg, rc);
}

int store_positions_add_async(struct store *s, const struct store_position *v, size_t n,
			      int64_t received_at, size_t *bad, store_done_fn done, void *arg)
{
	struct positions_async *a;
	int rc;

	if (!n)
		return SG_EINVAL;
	if (!(a = calloc(1, sizeof *a)))
		return SG_ENOMEM;
	a->c = (struct positions_ctx){ v, n, received_at, SIZE_MAX };
	a->bad = bad;
	a->done = done;
	a->arg = arg;
	if ((rc = store__submit_async(s, positions_cmd, &a->c, positions_async_done, a)))
		free(a);
	return rc;
}

struct purge_ctx {
	int64_t before;
	size_t max, deleted;
};

static int purge_cmd(sqlite3 *db, void *arg)
{
	struct purge_ctx *c = arg;
	sqlite3_stmt *st = NULL;
	/* In slices (the oldest first) so that one purge never holds the writer long. */
	int rc = store__prepare(db,
				"DELETE FROM unit_positions WHERE (unit_id, at) IN (SELECT unit_id, "
				"at FROM unit_positions WHERE at < ? ORDER BY at LIMIT ?)",
				&st);

	if (rc)
		return rc;
	sqlite3_bind_int64(st, 1, c->before);
	sqlite3_bind_int64(st, 2, (int64_t)c->max);
	rc = store__rc(sqlite3_step(st));
	c->deleted = rc ? 0 : (size_t)sqlite3_changes(db);
	sqlite3_finalize(st);
	return rc;
}

int store_positions_purge(struct store *s, int64_t before_ms, size_t max, size_t *deleted)
{
	struct purge_ctx c = { before_ms, max, 0 };
	int rc = store__submit(s, purge_cmd, &c);

	if (deleted)
		*deleted = c.deleted;
	return rc;
}

int store_unit_track(struct store *s, int64_t unit_id, int64_t from_ms, int64_t to_ms,
		     struct store_position *out, size_t cap, size_t *n)
{
	sqlite3 *db = store__read_begin(s);
	sqlite3_stmt *st = NULL;
	int rc = store__prepare(db,
				"SELECT at,lon,lat FROM unit_positions WHERE unit_id=? AND at>=? AND "
				"at<? ORDER BY at LIMIT ?",
				&st);

	*n = 0;
	if (!rc) {
		sqlite3_bind_int64(st, 1, unit_id);
		sqlite3_bind_int64(st, 2, from_ms);
		sqlite3_bind_int64(st, 3, to_ms);
		sqlite3_bind_int64(st, 4, (int64_t)cap);
		while (sqlite3_step(st) == SQLITE_ROW) {
			out[*n].unit_id = unit_id;
			out[*n].at = sqlite3_column_int64(st, 0);
			out[*n].lon = sqlite3_column_double(st, 1);
			out[*n].lat = sqlite3_column_double(st, 2);
			(*n)++;
		}
	}
	sqlite3_finalize(st);
	store__read_end(s, db);
	return rc;
}
