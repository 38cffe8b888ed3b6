/*
 * forces_dispatch.c — dispatches in the store: sending units to a case,
 * the unit state machine and the dispatch steps it drives (each with its
 * line on the case's history), escalating unanswered dispatches, and the
 * response times they add up to. Not the units' own rows or positions
 * (forces_units.c), nor the case's other writes (cases.c).
 */
#include "store/forces.h"

#include <stdio.h>
#include <string.h>

#include "base/err.h"
#include "store/forces_internal.h"
#include "store/store_internal.h"

/* ---- dispatches --------------------------------------------------------------- */

#define DISPATCH_COLS                                                                      \
	"id,case_id,unit_id,status,first,priority,coalesce(station_id,0),"                 \
	"coalesce(district_id,0),case_created_at,dispatched_at,coalesce(acknowledged_at,0),"\
	"coalesce(arrived_at,0),coalesce(cleared_at,0),coalesce(cancelled_at,0),escalated,"  \
	"actor,coalesce(reason,'')"

static void read_dispatch(sqlite3_stmt *st, struct store_dispatch *d)
{
	memset(d, 0, sizeof *d);
	d->id = sqlite3_column_int64(st, 0);
	d->case_id = sqlite3_column_int64(st, 1);
	d->unit_id = sqlite3_column_int64(st, 2);
	store__forces_copy_text(d->status, sizeof d->status, st, 3);
	d->first = sqlite3_column_int(st, 4) != 0;
	d->priority = sqlite3_column_int(st, 5);
	d->station_id = sqlite3_column_int64(st, 6);
	d->district_id = sqlite3_column_int64(st, 7);
	d->case_created_at = sqlite3_column_int64(st, 8);
	d->dispatched_at = sqlite3_column_int64(st, 9);
	d->acknowledged_at = sqlite3_column_int64(st, 10);
	d->arrived_at = sqlite3_column_int64(st, 11);
	d->cleared_at = sqlite3_column_int64(st, 12);
	d->cancelled_at = sqlite3_column_int64(st, 13);
	d->escalated = sqlite3_column_int(st, 14) != 0;
	store__forces_copy_text(d->actor, sizeof d->actor, st, 15);
	store__forces_copy_text(d->reason, sizeof d->reason, st, 16);
}

static int dispatch_get_db(sqlite3 *db, int64_t id, struct store_dispatch *out)
{
	sqlite3_stmt *st = NULL;
	int rc = store__forces_row_by_id(db, "SELECT " DISPATCH_COLS " FROM dispatches WHERE id=?",
					 id, &st);

	if (!rc)
		read_dispatch(st, out);
	sqlite3_finalize(st);
	return rc;
}

/* The open dispatch of a unit (assigned, acknowledged or on_scene), or SG_ENOTFOUND. */
static int open_dispatch_of_unit(sqlite3 *db, int64_t unit_id, struct store_dispatch *out)
{
	sqlite3_stmt *st = NULL;
	int rc = store__prepare(db,
				"SELECT " DISPATCH_COLS " FROM dispatches WHERE unit_id=? AND status IN "
				"('assigned','acknowledged','on_scene') ORDER BY id DESC LIMIT 1",
				&st);

	if (rc)
		return rc;
	sqlite3_bind_int64(st, 1, unit_id);
	if (sqlite3_step(st) == SQLITE_ROW)
		read_dispatch(st, out);
	else
		rc = SG_ENOTFOUND;
	sqlite3_finalize(st);
	return rc;
}

/*
 * Writes a line on a case's history and raises its version, stepping its
 * status if it is in step->from. The case's own module owns these tables;
 * this is the one place forces write to them, always inside the command of
 * the dispatch step that causes the line.
 */
static int case_line(sqlite3 *db, int64_t case_id, int64_t expected_version,
		     const struct store_case_step *step, int level, int64_t at, const char *actor,
		     const char *note)
{
	sqlite3_stmt *st = NULL;
	char from[64] = "", to[64] = "";
	int64_t version = 0;
	int cur_level = 0, rc;

	if ((rc = store__prepare(db, "SELECT status, version, escalation_level FROM cases WHERE id=?",
				 &st)))
		return rc;
	sqlite3_bind_int64(st, 1, case_id);
	if (sqlite3_step(st) != SQLITE_ROW) {
		sqlite3_finalize(st);
		return SG_ENOTFOUND;
	}
	store__forces_copy_text(from, sizeof from, st, 0);
	version = sqlite3_column_int64(st, 1);
	cur_level = sqlite3_column_int(st, 2);
	sqlite3_finalize(st);
	if (expected_version && version != expected_version)
		return SG_ECONFLICT;
	snprintf(to, sizeof to, "%s", from);
	if (step && step->from && step->to && strcmp(from, step->from) == 0)
		snprintf(to, sizeof to, "%s", step->to);
	if (level < cur_level)
		level = cur_level;
	if ((rc = store__prepare(db,
				 "UPDATE cases SET status=?, version=version+1, updated_at=?, "
				 "escalation_level=? WHERE id=?",
				 &st)))
		return rc;
	sqlite3_bind_text(st, 1, to, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, at);
	sqlite3_bind_int(st, 3, level);
	sqlite3_bind_int64(st, 4, case_id);
	rc = store__rc(sqlite3_step(st));
	sqlite3_finalize(st);
	if (rc)
		return rc;
	if ((rc = store__prepare(db,
				 "INSERT INTO case_history(case_id,at,actor,from_status,to_status,note) "
				 "VALUES(?,?,?,?,?,?)",
				 &st)))
		return rc;
	sqlite3_bind_int64(st, 1, case_id);
	sqlite3_bind_int64(st, 2, at);
	sqlite3_bind_text(st, 3, actor, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, from, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, to, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, note, -1, SQLITE_STATIC);
	rc = store__rc(sqlite3_step(st));
	sqlite3_finalize(st);
	return rc;
}

static int unit_set(sqlite3 *db, int64_t unit_id, int status, int64_t case_id, int64_t at)
{
	sqlite3_stmt *st = NULL;
	int rc = store__prepare(db,
				"UPDATE units SET status=?, case_id=?, updated_at=?, version=version+1 "
				"WHERE id=?",
				&st);

	if (rc)
		return rc;
	sqlite3_bind_text(st, 1, force_unit_status_name(status), -1, SQLITE_STATIC);
	if (case_id)
		sqlite3_bind_int64(st, 2, case_id);
	else
		sqlite3_bind_null(st, 2);
	sqlite3_bind_int64(st, 3, at);
	sqlite3_bind_int64(st, 4, unit_id);
	rc = store__rc(sqlite3_step(st));
	sqlite3_finalize(st);
	return rc;
}

/* Unit statuses, as enum unit_status orders them (model/force.h). */
enum { U_OFF_DUTY, U_AVAILABLE, U_DISPATCHED, U_ON_SCENE, U_BUSY };

static int dispatch_create_cmd(sqlite3 *db, void *arg)
{
	struct store_dispatch_create *c = arg;
	sqlite3_stmt *st = NULL, *ins = NULL;
	struct store_unit u;
	int64_t station = 0, district = 0, created = 0, prior = 0;
	int priority = 0, rc;
	bool first;
	char note[512];
	size_t w = 0;

	c->busy_unit = 0;
	if (c->cancel_id) {
		struct store_dispatch d;
		if ((rc = dispatch_get_db(db, c->cancel_id, &d)))
			return rc;
		if (d.case_id != c->case_id || (strcmp(d.status, "assigned") && strcmp(d.status, "acknowledged") &&
						strcmp(d.status, "on_scene")))
			return SG_ENOTFOUND;
		if ((rc = store__prepare(db,
					 "UPDATE dispatches SET status='cancelled', cancelled_at=? WHERE id=?",
					 &st)))
			return rc;
		sqlite3_bind_int64(st, 1, c->at);
		sqlite3_bind_int64(st, 2, c->cancel_id);
		rc = store__rc(sqlite3_step(st));
		sqlite3_finalize(st);
		st = NULL;
		if (rc || (rc = unit_set(db, d.unit_id, U_AVAILABLE, 0, c->at)))
			return rc;
		w += (size_t)snprintf(note + w, sizeof note - w, "reassigned from unit %lld; ",
				      (long long)d.unit_id);
	}
	if ((rc = store__prepare(db,
				 "SELECT station_id, district_id, created_at, priority, "
				 "(SELECT count(*) FROM dispatches WHERE case_id=?1) FROM cases WHERE id=?1",
				 &st)))
		return rc;
	sqlite3_bind_int64(st, 1, c->case_id);
	if (sqlite3_step(st) != SQLITE_ROW) {
		sqlite3_finalize(st);
		return SG_ENOTFOUND;
	}
	station = sqlite3_column_int64(st, 0);
	district = sqlite3_column_int64(st, 1);
	created = sqlite3_column_int64(st, 2);
	priority = sqlite3_column_int(st, 3);
	prior = sqlite3_column_int64(st, 4);
	sqlite3_finalize(st);
	st = NULL;
	first = prior == 0;
	if ((rc = store__prepare(db,
				 "INSERT INTO dispatches(case_id,unit_id,status,first,priority,station_id,"
				 "district_id,case_created_at,dispatched_at,actor,reason) "
				 "VALUES(?,?,'assigned',?,?,?,?,?,?,?,?)",
				 &ins)))
		return rc;
	for (size_t i = 0; !rc && i < c->n; i++) {
		if ((rc = store__unit_get_db(db, c->unit_ids[i], &u, false)))
			break;
		if (u.status != U_AVAILABLE) {
			c->busy_unit = u.id;
			rc = SG_ECONFLICT;
			break;
		}
		sqlite3_reset(ins);
		sqlite3_bind_int64(ins, 1, c->case_id);
		sqlite3_bind_int64(ins, 2, u.id);
		sqlite3_bind_int(ins, 3, first && i == 0);
		sqlite3_bind_int(ins, 4, priority);
		if (station)
			sqlite3_bind_int64(ins, 5, station);
		else
			sqlite3_bind_null(ins, 5);
		if (district)
			sqlite3_bind_int64(ins, 6, district);
		else
			sqlite3_bind_null(ins, 6);
		sqlite3_bind_int64(ins, 7, created);
		sqlite3_bind_int64(ins, 8, c->at);
		sqlite3_bind_text(ins, 9, c->actor, -1, SQLITE_STATIC);
		store__forces_bind_text_or_null(ins, 10, c->reasons ? c->reasons[i] : NULL);
		if ((rc = store__rc(sqlite3_step(ins))))
			break;
		if ((rc = dispatch_get_db(db, sqlite3_last_insert_rowid(db), &c->out[i])) ||
		    (rc = unit_set(db, u.id, U_DISPATCHED, c->case_id, c->at)))
			break;
		if (w < sizeof note)
			w += (size_t)snprintf(note + w, sizeof note - w, "%sdispatched %s (%s)%s%s",
					      i ? ", " : "", u.callsign, unit_type_name(u.type),
					      c->reasons && c->reasons[i] ? ": " : "",
					      c->reasons && c->reasons[i] ? c->reasons[i] : "");
	}
	sqlite3_finalize(ins);
	if (rc)
		return rc;
	rc = case_line(db, c->case_id, c->expected_case_version, &c->step, 0, c->at, c->actor, note);
	if (rc == SG_ECONFLICT)
		c->busy_unit = 0;
	return rc;
}

int store_dispatch_create(struct store *s, struct store_dispatch_create *c)
{
	if (c->n == 0 || c->n > 32)
		return SG_EINVAL;
	return store__submit(s, dispatch_create_cmd, c);
}

int store_dispatch_create_async(struct store *s, struct store_dispatch_create *c,
				store_done_fn done, void *arg)
{
	if (c->n == 0 || c->n > 32)
		return SG_EINVAL;
	return store__submit_async(s, dispatch_create_cmd, c, done, arg);
}

static const char *const action_names[STORE_UNIT_ACTION_COUNT] = {
	"acknowledge", "arrive", "clear", "on_duty", "off_duty", "busy", "free",
};

const char *store_unit_action_name(enum store_unit_action a)
{
	return (unsigned)a < STORE_UNIT_ACTION_COUNT ? action_names[a] : "unknown";
}

int store_unit_action_parse(const char *s, enum store_unit_action *out)
{
	for (int i = 0; s && i < STORE_UNIT_ACTION_COUNT; i++) {
		if (strcmp(s, action_names[i]) == 0) {
			*out = (enum store_unit_action)i;
			return SG_OK;
		}
	}
	return SG_EINVAL;
}

/*
 * The unit state machine: which status an action needs and leads to.
 * -1 in need means "dispatched or on_scene" (clear).
 */
static const struct {
	int need, to;
} unit_moves[STORE_UNIT_ACTION_COUNT] = {
	[STORE_UNIT_ACKNOWLEDGE] = { U_DISPATCHED, U_DISPATCHED },
	[STORE_UNIT_ARRIVE] = { U_DISPATCHED, U_ON_SCENE },
	[STORE_UNIT_CLEAR] = { -1, U_AVAILABLE },
	[STORE_UNIT_ON_DUTY] = { U_OFF_DUTY, U_AVAILABLE },
	[STORE_UNIT_OFF_DUTY] = { U_AVAILABLE, U_OFF_DUTY },
	[STORE_UNIT_BUSY] = { U_AVAILABLE, U_BUSY },
	[STORE_UNIT_FREE] = { U_BUSY, U_AVAILABLE },
};

static int unit_apply_cmd(sqlite3 *db, void *arg)
{
	struct store_unit_step *s = arg;
	struct store_dispatch *d = s->dispatch;
	sqlite3_stmt *st = NULL;
	const char *dstatus = NULL, *col = NULL;
	char note[300];
	int need, rc;

	memset(d, 0, sizeof *d);
	s->case_changed = false;
	if ((rc = store__unit_get_db(db, s->unit_id, s->out, false)))
		return rc;
	need = unit_moves[s->action].need;
	if (need >= 0 ? s->out->status != need
		      : s->out->status != U_DISPATCHED && s->out->status != U_ON_SCENE)
		return SG_ECONFLICT;
	switch (s->action) {
	case STORE_UNIT_ACKNOWLEDGE:
		dstatus = "acknowledged";
		col = "acknowledged_at";
		break;
	case STORE_UNIT_ARRIVE:
		dstatus = "on_scene";
		col = "arrived_at";
		break;
	case STORE_UNIT_CLEAR:
		dstatus = "cleared";
		col = "cleared_at";
		break;
	default:
		break;
	}
	if (dstatus) {
		rc = open_dispatch_of_unit(db, s->unit_id, d);
		if (rc == SG_ENOTFOUND) {
			/* A dispatched unit without an open dispatch: repair by clearing it only. */
			memset(d, 0, sizeof *d);
			rc = s->action == STORE_UNIT_CLEAR ? SG_OK : SG_ECONFLICT;
		}
		if (rc)
			return rc;
		/* Acknowledging twice is a conflict, as is arriving before acknowledging is not. */
		if (d->id && s->action == STORE_UNIT_ACKNOWLEDGE && strcmp(d->status, "assigned") != 0)
			return SG_ECONFLICT;
	}
	if (d->id) {
		char sql[160];
		/* An arrival also acknowledges a dispatch nobody acknowledged. */
		snprintf(sql, sizeof sql,
			 "UPDATE dispatches SET status=?, %s=?%s WHERE id=?", col,
			 s->action == STORE_UNIT_ARRIVE ? ", acknowledged_at=coalesce(acknowledged_at, ?2)"
							: "");
		if ((rc = store__prepare(db, sql, &st)))
			return rc;
		sqlite3_bind_text(st, 1, dstatus, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, s->at);
		sqlite3_bind_int64(st, 3, d->id);
		rc = store__rc(sqlite3_step(st));
		sqlite3_finalize(st);
		if (rc || (rc = dispatch_get_db(db, d->id, d)))
			return rc;
		snprintf(note, sizeof note, "unit %s: %s%s%s", s->out->callsign,
			 store_unit_action_name(s->action), s->note ? ": " : "", s->note ? s->note : "");
		if ((rc = case_line(db, d->case_id, 0, &s->step, 0, s->at, s->actor, note)))
			return rc;
		s->case_changed = true;
	}
	if ((rc = unit_set(db, s->unit_id, unit_moves[s->action].to,
			   unit_moves[s->action].to == U_AVAILABLE ? 0 : s->out->case_id, s->at)))
		return rc;
	return store__unit_get_db(db, s->unit_id, s->out, false);
}

int store_unit_apply_async(struct store *s, struct store_unit_step *st, store_done_fn done,
			   void *arg)
{
	if ((unsigned)st->action >= STORE_UNIT_ACTION_COUNT)
		return SG_EINVAL;
	return store__submit_async(s, unit_apply_cmd, st, done, arg);
}

int store_unit_apply(struct store *s, struct store_unit_step *st)
{
	int rc;

	if ((unsigned)st->action >= STORE_UNIT_ACTION_COUNT)
		return SG_EINVAL;
	rc = store__submit(s, unit_apply_cmd, st);
	if (rc == SG_ECONFLICT) {
		int rc2 = store_unit_get(s, st->unit_id, st->out);
		if (rc2)
			return rc2;
	}
	return rc;
}

int store_case_dispatches(struct store *s, int64_t case_id, struct store_dispatch *out, size_t cap,
			  size_t *n)
{
	sqlite3 *db = store__read_begin(s);
	sqlite3_stmt *st = NULL;
	int rc = store__prepare(db,
				"SELECT " DISPATCH_COLS " FROM dispatches WHERE case_id=? ORDER BY id LIMIT ?",
				&st);

	*n = 0;
	if (!rc) {
		sqlite3_bind_int64(st, 1, case_id);
		sqlite3_bind_int64(st, 2, (int64_t)cap);
		while (sqlite3_step(st) == SQLITE_ROW)
			read_dispatch(st, &out[(*n)++]);
	}
	sqlite3_finalize(st);
	store__read_end(s, db);
	return rc;
}

int store_dispatch_get(struct store *s, int64_t id, struct store_dispatch *out)
{
	sqlite3 *db = store__read_begin(s);
	int rc = dispatch_get_db(db, id, out);

	store__read_end(s, db);
	return rc;
}

int store_dispatches_unanswered(struct store *s, int64_t before, int64_t *ids, size_t cap,
				size_t *n)
{
	sqlite3 *db = store__read_begin(s);
	sqlite3_stmt *st = NULL;
	int rc = store__prepare(db,
				"SELECT id FROM dispatches WHERE status='assigned' AND dispatched_at < ? "
				"AND escalated=0 ORDER BY dispatched_at LIMIT ?",
				&st);

	*n = 0;
	if (!rc) {
		sqlite3_bind_int64(st, 1, before);
		sqlite3_bind_int64(st, 2, (int64_t)cap);
		while (sqlite3_step(st) == SQLITE_ROW)
			ids[(*n)++] = sqlite3_column_int64(st, 0);
	}
	sqlite3_finalize(st);
	store__read_end(s, db);
	return rc;
}

struct escalate_ctx {
	int64_t id;
	int level;
	int64_t at;
	const char *note;
	int64_t case_id;
};

static int escalate_cmd(sqlite3 *db, void *arg)
{
	struct escalate_ctx *c = arg;
	sqlite3_stmt *st = NULL;
	int rc = store__prepare(db,
				"UPDATE dispatches SET escalated=1 WHERE id=? AND status='assigned' AND "
				"escalated=0 RETURNING case_id",
				&st);

	if (rc)
		return rc;
	sqlite3_bind_int64(st, 1, c->id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		c->case_id = sqlite3_column_int64(st, 0);
		rc = SG_OK;
	} else {
		rc = rc == SQLITE_DONE ? SG_ECONFLICT : store__rc(rc);
	}
	sqlite3_finalize(st);
	if (rc)
		return rc;
	return case_line(db, c->case_id, 0, NULL, c->level, c->at, "system", c->note);
}

int store_dispatch_escalate(struct store *s, int64_t id, int level, int64_t at, const char *note,
			    int64_t *case_id)
{
	struct escalate_ctx c = { id, level, at, note, 0 };
	int rc = store__submit(s, escalate_cmd, &c);

	if (!rc && case_id)
		*case_id = c.case_id;
	return rc;
}

int store_response_stats(struct store *s, bool by_district, int64_t in_district, int64_t from,
			 int64_t to, const int64_t target_s[5], store_response_fn fn, void *ctx)
{
	sqlite3 *db = store__read_begin(s);
	sqlite3_stmt *st = NULL;
	char sql[1024];
	int rc;

	/*
	 * One row per case (its first dispatch), with the case's first arrival
	 * by any unit: reassigning a unit does not reset the clock.
	 */
	snprintf(sql, sizeof sql,
		 "SELECT g, count(*), sum(d_s), count(a_s), coalesce(sum(a_s),0), "
		 "sum(a_s IS NOT NULL AND a_s <= CASE priority WHEN 1 THEN ?4 WHEN 2 THEN ?5 "
		 "WHEN 3 THEN ?6 ELSE ?7 END) FROM (SELECT %s AS g, priority, "
		 "dispatched_at - case_created_at AS d_s, "
		 "(SELECT min(arrived_at) FROM dispatches x WHERE x.case_id = d.case_id) "
		 "- case_created_at AS a_s FROM dispatches d WHERE first=1 AND dispatched_at >= ?1 "
		 "AND dispatched_at < ?2 AND (?3 = 0 OR district_id = ?3)) GROUP BY g ORDER BY g",
		 by_district ? "coalesce(district_id,0)" : "coalesce(station_id,0)");
	rc = store__prepare(db, sql, &st);
	if (!rc) {
		struct store_response_row r;
		sqlite3_bind_int64(st, 1, from);
		sqlite3_bind_int64(st, 2, to);
		sqlite3_bind_int64(st, 3, in_district);
		for (int p = 1; p <= 4; p++)
			sqlite3_bind_int64(st, 3 + p, target_s[p]);
		while (sqlite3_step(st) == SQLITE_ROW) {
			r.area_id = sqlite3_column_int64(st, 0);
			r.cases = sqlite3_column_int64(st, 1);
			r.dispatch_s = sqlite3_column_int64(st, 2);
			r.arrived = sqlite3_column_int64(st, 3);
			r.arrive_s = sqlite3_column_int64(st, 4);
			r.within_target = sqlite3_column_int64(st, 5);
			fn(ctx, &r);
		}
	}
	sqlite3_finalize(st);
	store__read_end(s, db);
	return rc;
}
