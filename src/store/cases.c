/*
 * cases.c — the store's cases, reports and case history.
 *
 * Opening a case from a report, joining a report to an existing case, and
 * every change of a case are single commands on the core thread, so each is
 * one atomic step with its history line. Changes carry the version the
 * caller read; a different version in the store is a conflict (optimistic
 * concurrency), reported with the current version.
 */
#include "store/store_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "geo/coord.h"

#define CASE_COLS                                                                          \
	"id,type,category,police,department,status,priority,lon,lat,city_id,district_id,"  \
	"station_id,police_grid_id,street_id,community_id,gov_grid_id,source,created_at,"  \
	"updated_at,deadline_at,version,reports,escalation_level"

/* Copies a column's text, cut to cap - 1 bytes (a copy per column read: no printf). */
static void copy_text(char *dst, size_t cap, const unsigned char *src)
{
	size_t n = src ? strnlen((const char *)src, cap - 1) : 0;

	memcpy(dst, src ? (const char *)src : "", n);
	dst[n] = '\0';
}

static void read_case(sqlite3_stmt *st, struct case_row *c)
{
	memset(c, 0, sizeof *c);
	c->id = sqlite3_column_int64(st, 0);
	copy_text(c->type, sizeof c->type, sqlite3_column_text(st, 1));
	copy_text(c->category, sizeof c->category, sqlite3_column_text(st, 2));
	c->police = sqlite3_column_int(st, 3) != 0;
	copy_text(c->department, sizeof c->department, sqlite3_column_text(st, 4));
	copy_text(c->status, sizeof c->status, sqlite3_column_text(st, 5));
	c->priority = sqlite3_column_int(st, 6);
	c->lon = sqlite3_column_double(st, 7);
	c->lat = sqlite3_column_double(st, 8);
	for (int k = 0; k < AREA_KIND_COUNT; k++)
		c->area_ids[k] = sqlite3_column_int64(st, 9 + k);
	copy_text(c->source, sizeof c->source, sqlite3_column_text(st, 16));
	c->created_at = sqlite3_column_int64(st, 17);
	c->updated_at = sqlite3_column_int64(st, 18);
	c->deadline_at = sqlite3_column_int64(st, 19);
	c->version = sqlite3_column_int64(st, 20);
	c->reports = sqlite3_column_int64(st, 21);
	c->escalation_level = sqlite3_column_int(st, 22);
}

static int case_by_id(sqlite3 *db, int64_t id, struct case_row *out)
{
	sqlite3_stmt *st = NULL;
	int rc = store__stmt(db, "SELECT " CASE_COLS " FROM cases WHERE id=?", &st);

	if (rc)
		return rc;
	sqlite3_bind_int64(st, 1, id);
	if (sqlite3_step(st) == SQLITE_ROW)
		read_case(st, out);
	else
		rc = SG_ENOTFOUND;
	store__stmt_done(st);
	return rc;
}

static int history_add(sqlite3 *db, int64_t case_id, int64_t at, const char *actor,
		       const char *from, const char *to, const char *note)
{
	sqlite3_stmt *st = NULL;
	int rc = store__stmt(db, "INSERT INTO case_history(case_id,at,actor,from_status,"
				 "to_status,note) VALUES(?,?,?,?,?,?)",
			     &st);
	if (rc)
		return rc;
	sqlite3_bind_int64(st, 1, case_id);
	sqlite3_bind_int64(st, 2, at);
	sqlite3_bind_text(st, 3, actor, -1, SQLITE_STATIC);
	if (from)
		sqlite3_bind_text(st, 4, from, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, to, -1, SQLITE_STATIC);
	if (note)
		sqlite3_bind_text(st, 6, note, -1, SQLITE_STATIC);
	rc = store__rc(sqlite3_step(st));
	store__stmt_done(st);
	return rc;
}

static void bind_opt_text(sqlite3_stmt *st, int col, const char *s)
{
	if (s && *s)
		sqlite3_bind_text(st, col, s, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, col);
}

static int report_insert(sqlite3 *db, struct report_row *r)
{
	sqlite3_stmt *st = NULL;
	int rc = store__stmt(db, "INSERT INTO reports(case_id,source,text,lon,lat,reported_at,"
				 "received_at,caller_name,caller_phone,category) "
				 "VALUES(?,?,?,?,?,?,?,?,?,?)",
			     &st);
	if (rc)
		return rc;
	sqlite3_bind_int64(st, 1, r->case_id);
	sqlite3_bind_text(st, 2, r->source, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, r->text, -1, SQLITE_STATIC);
	sqlite3_bind_double(st, 4, r->lon);
	sqlite3_bind_double(st, 5, r->lat);
	sqlite3_bind_int64(st, 6, r->reported_at);
	sqlite3_bind_int64(st, 7, r->received_at);
	bind_opt_text(st, 8, r->caller_name);
	bind_opt_text(st, 9, r->caller_phone);
	sqlite3_bind_text(st, 10, r->category, -1, SQLITE_STATIC);
	rc = store__rc(sqlite3_step(st));
	store__stmt_done(st);
	if (!rc)
		r->id = sqlite3_last_insert_rowid(db);
	return rc;
}

/*
 * Whether candidate b (in the order of the covering index cases_join,
 * category, created_at, lon, lat, status, type, then id) comes after a: the
 * SQL scan kept the last of the nearest, so ties go to the later one.
 */
struct join_cand {
	int64_t id, created_at;
	double lon, lat, d;
	char type[CASE_ID_MAX], status[CASE_ID_MAX];
};

/* The order on what the index holds: created_at, lon, lat (-1, 0, 1 for b before, same, after). */
static int cand_order_point(const struct join_cand *a, const struct join_cand *b)
{
	if (b->created_at != a->created_at)
		return b->created_at > a->created_at ? 1 : -1;
	if (b->lon != a->lon)
		return b->lon > a->lon ? 1 : -1;
	if (b->lat != a->lat)
		return b->lat > a->lat ? 1 : -1;
	return 0;
}

static bool cand_after(const struct join_cand *a, const struct join_cand *b)
{
	int t = cand_order_point(a, b);

	if (t)
		return t > 0;
	if ((t = strcmp(b->status, a->status)) != 0)
		return t > 0;
	if ((t = strcmp(b->type, a->type)) != 0)
		return t > 0;
	return b->id > a->id;
}

/*
 * The join lookup from the core's join index: the candidates in memory
 * within the window and box, each checked against its row in the store (it
 * must still be there with the same category, time and point, and be
 * joinable), the nearest kept, ties as the SQL scan broke them. Returns
 * SG_EINTERNAL when there is no index here (the caller then scans).
 */
static int cmp_cand_d(const void *x, const void *y)
{
	const struct join_cand *a = x, *b = y;
	return (a->d > b->d) - (a->d < b->d);
}

static int find_joinable_indexed(sqlite3 *db, struct store_case_open *op, double dlon,
				 double dlat, int64_t *found)
{
	const struct case_row *c = op->c;
	const struct store__join_hit *hits;
	struct join_cand best = { 0 }, local[32], *v = local;
	sqlite3_stmt *st = NULL;
	size_t n = 0, m = 0;
	int rc = store__join_find(db, c->category, op->r->received_at - op->join_window_s,
				  c->lon - dlon, c->lon + dlon, c->lat - dlat, c->lat + dlat, &hits,
				  &n);

	if (rc)
		return rc;
	if (n > sizeof local / sizeof local[0] && !(v = malloc(n * sizeof *v)))
		return SG_ENOMEM;
	for (size_t i = 0; i < n; i++) {
		struct geo_point a = { c->lon, c->lat }, b = { hits[i].lon, hits[i].lat };
		struct join_cand k = { hits[i].id, hits[i].created_at, hits[i].lon, hits[i].lat,
				       geo_distance_m(a, b), "", "" };
		if (k.d <= op->join_distance_m)
			v[m++] = k;
	}
	/* Nearest first: the first joinable one wins, unless another lies exactly as far. */
	qsort(v, m, sizeof *v, cmp_cand_d);
	for (size_t i = 0; i < m; i++) {
		struct join_cand *k = &v[i];
		const unsigned char *cat;
		if (*found && (k->d > best.d || cand_order_point(&best, k) < 0))
			continue; /* cannot win whatever its type and status */
		if (!st && (rc = store__stmt(db, "SELECT category,created_at,lon,lat,type,status "
						 "FROM cases WHERE id=?",
					     &st)))
			break;
		sqlite3_reset(st);
		sqlite3_bind_int64(st, 1, k->id);
		if (sqlite3_step(st) != SQLITE_ROW)
			continue; /* an insert that rolled back */
		cat = sqlite3_column_text(st, 0);
		if (!cat || strcmp((const char *)cat, c->category) != 0 ||
		    sqlite3_column_int64(st, 1) != k->created_at ||
		    sqlite3_column_double(st, 2) != k->lon || sqlite3_column_double(st, 3) != k->lat)
			continue; /* another row under a reused id, or the old point of a move */
		copy_text(k->type, sizeof k->type, sqlite3_column_text(st, 4));
		copy_text(k->status, sizeof k->status, sqlite3_column_text(st, 5));
		if (*found && !cand_after(&best, k))
			continue;
		if (!op->joinable(k->type, k->status, op->joinable_ctx))
			continue;
		best = *k;
		*found = k->id;
	}
	store__stmt_done(st);
	if (v != local)
		free(v);
	return rc;
}

/* The open case of the same category nearest to the report, within the window and distance. */
static int find_joinable(sqlite3 *db, struct store_case_open *op, int64_t *found)
{
	const struct case_row *c = op->c;
	double dlat = op->join_distance_m / 111000.0;
	double dlon = dlat / fmax(cos(c->lat * M_PI / 180.0), 0.1);
	double best = op->join_distance_m;
	sqlite3_stmt *st = NULL;
	int rc;

	*found = 0;
	rc = find_joinable_indexed(db, op, dlon, dlat, found);
	if (rc != SG_EINTERNAL && rc != SG_ETOOBIG)
		return rc;
	*found = 0;
	rc = store__prepare(db, "SELECT id,type,status,lon,lat FROM cases WHERE category=? AND "
				"created_at>=? AND lon BETWEEN ? AND ? AND lat BETWEEN ? AND ?",
			    &st);
	if (rc)
		return rc;
	sqlite3_bind_text(st, 1, c->category, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, op->r->received_at - op->join_window_s);
	sqlite3_bind_double(st, 3, c->lon - dlon);
	sqlite3_bind_double(st, 4, c->lon + dlon);
	sqlite3_bind_double(st, 5, c->lat - dlat);
	sqlite3_bind_double(st, 6, c->lat + dlat);
	while (sqlite3_step(st) == SQLITE_ROW) {
		struct geo_point a = { c->lon, c->lat };
		struct geo_point b = { sqlite3_column_double(st, 3), sqlite3_column_double(st, 4) };
		double d = geo_distance_m(a, b);
		if (d <= best && op->joinable((const char *)sqlite3_column_text(st, 1),
					      (const char *)sqlite3_column_text(st, 2), op->joinable_ctx)) {
			best = d;
			*found = sqlite3_column_int64(st, 0);
		}
	}
	sqlite3_finalize(st);
	return SG_OK;
}

/* Inserts a new case with one report (c->id, version, reports, updated_at set). */
static int insert_case(sqlite3 *db, struct case_row *c)
{
	sqlite3_stmt *st = NULL;
	int rc;

	rc = store__stmt(db, "INSERT INTO cases(type,category,police,department,status,priority,"
			     "lon,lat,city_id,district_id,station_id,police_grid_id,street_id,"
			     "community_id,gov_grid_id,source,created_at,updated_at,deadline_at,"
			     "version,reports,escalation_level) "
			     "VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,1,1,?)",
			 &st);
	if (rc)
		return rc;
	sqlite3_bind_text(st, 1, c->type, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, c->category, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 3, c->police);
	sqlite3_bind_text(st, 4, c->department, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, c->status, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 6, c->priority);
	sqlite3_bind_double(st, 7, c->lon);
	sqlite3_bind_double(st, 8, c->lat);
	for (int k = 0; k < AREA_KIND_COUNT; k++) {
		if (c->area_ids[k])
			sqlite3_bind_int64(st, 9 + k, c->area_ids[k]);
		else
			sqlite3_bind_null(st, 9 + k);
	}
	sqlite3_bind_text(st, 16, c->source, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 17, c->created_at);
	sqlite3_bind_int64(st, 18, c->created_at);
	sqlite3_bind_int64(st, 19, c->deadline_at);
	sqlite3_bind_int(st, 20, c->escalation_level);
	rc = store__rc(sqlite3_step(st));
	store__stmt_done(st);
	if (rc)
		return rc;
	c->id = sqlite3_last_insert_rowid(db);
	store__join_note(db, c->id, c->category, c->created_at, c->lon, c->lat);
	c->version = 1;
	c->reports = 1;
	c->updated_at = c->created_at;
	return SG_OK;
}

static int case_open_cmd(sqlite3 *db, void *arg)
{
	struct store_case_open *op = arg;
	struct case_row *c = op->c;
	sqlite3_stmt *st = NULL;
	int64_t join = 0;
	char note[96];
	int rc;

	op->joined = false;
	if (op->join_distance_m > 0 && op->joinable &&
	    (rc = find_joinable(db, op, &join)))
		return rc;
	if (join) {
		/* The case as it is after the change, in the same statement. */
		rc = store__stmt(db, "UPDATE cases SET reports=reports+1, version=version+1, "
				     "updated_at=? WHERE id=? RETURNING " CASE_COLS,
				 &st);
		if (rc)
			return rc;
		sqlite3_bind_int64(st, 1, op->r->received_at);
		sqlite3_bind_int64(st, 2, join);
		rc = sqlite3_step(st);
		if (rc == SQLITE_ROW)
			read_case(st, c);
		rc = rc == SQLITE_ROW ? SG_OK : rc == SQLITE_DONE ? SG_ENOTFOUND : store__rc(rc);
		store__stmt_done(st);
		if (rc)
			return rc;
		op->r->case_id = join;
		if ((rc = report_insert(db, op->r)))
			return rc;
		snprintf(note, sizeof note, "report %lld (%s) joined", (long long)op->r->id,
			 op->r->source);
		op->joined = true;
		return history_add(db, join, op->r->received_at, op->actor, c->status, c->status,
				   note);
	}
	if ((rc = insert_case(db, c)))
		return rc;
	op->r->case_id = c->id;
	if ((rc = report_insert(db, op->r)))
		return rc;
	if ((rc = store__stats_case_count(db, c, c->police, 1)))
		return rc;
	snprintf(note, sizeof note, "opened from report %lld (%s)", (long long)op->r->id,
		 op->r->source);
	return history_add(db, c->id, c->created_at, op->actor, NULL, c->status, note);
}

int store_case_open(struct store *s, struct store_case_open *op)
{
	return store__submit(s, case_open_cmd, op);
}

int store_case_open_async(struct store *s, struct store_case_open *op, store_done_fn done,
			  void *arg)
{
	return store__submit_async(s, case_open_cmd, op, done, arg);
}

struct open_many {
	struct store_case_open **ops;
	size_t n;
	store_done_fn done; /* the asynchronous form's */
	void *done_arg;
};

static int open_many_cmd(sqlite3 *db, void *arg)
{
	struct open_many *m = arg;
	int rc = SG_OK;

	/* In order, so that a later line can join a case an earlier one opened. */
	for (size_t i = 0; !rc && i < m->n; i++)
		rc = case_open_cmd(db, m->ops[i]);
	return rc;
}

int store_case_open_many(struct store *s, struct store_case_open **ops, size_t n)
{
	struct open_many m = { ops, n, NULL, NULL };
	return store__submit(s, open_many_cmd, &m);
}

/* On the syncer thread: the command's own state goes before the caller hears. */
static void open_many_done(void *arg, int rc)
{
	struct open_many *m = arg;
	store_done_fn done = m->done;
	void *done_arg = m->done_arg;

	free(m);
	done(done_arg, rc);
}

int store_case_open_many_async(struct store *s, struct store_case_open **ops, size_t n,
			       store_done_fn done, void *arg)
{
	struct open_many *m = malloc(sizeof *m);
	int rc;

	if (!m)
		return SG_ENOMEM;
	*m = (struct open_many){ ops, n, done, arg };
	if ((rc = store__submit_async(s, open_many_cmd, m, open_many_done, m)))
		free(m);
	return rc;
}

int store_case_get(struct store *s, int64_t id, struct case_row *out)
{
	sqlite3 *db = store__read_begin(s);
	int rc = case_by_id(db, id, out);
	store__read_end(s, db);
	return rc;
}

/* Sets a case's point and areas (the counters are moved by the caller). */
static int move_case(sqlite3 *db, int64_t id, const struct case_row *loc)
{
	sqlite3_stmt *st = NULL;
	int rc = store__prepare(db, "UPDATE cases SET lon=?, lat=?, city_id=?, district_id=?, "
				    "station_id=?, police_grid_id=?, street_id=?, community_id=?, "
				    "gov_grid_id=? WHERE id=?",
				&st);

	if (rc)
		return rc;
	sqlite3_bind_double(st, 1, loc->lon);
	sqlite3_bind_double(st, 2, loc->lat);
	for (int k = 0; k < AREA_KIND_COUNT; k++) {
		if (loc->area_ids[k])
			sqlite3_bind_int64(st, 3 + k, loc->area_ids[k]);
		else
			sqlite3_bind_null(st, 3 + k);
	}
	sqlite3_bind_int64(st, 10, id);
	rc = store__rc(sqlite3_step(st));
	sqlite3_finalize(st);
	return rc;
}

/* After a move: the join index learns the case's new point. */
static void note_moved(sqlite3 *db, int64_t id)
{
	struct case_row c;

	if (case_by_id(db, id, &c) == SG_OK)
		store__join_note(db, c.id, c.category, c.created_at, c.lon, c.lat);
}

static int change_cmd(sqlite3 *db, void *arg)
{
	struct store_case_change *ch = arg;
	struct case_row cur;
	sqlite3_stmt *st = NULL;
	int rc = case_by_id(db, ch->id, &cur);

	if (rc)
		return rc;
	if (cur.version != ch->expected_version) {
		*ch->out = cur;
		return SG_ECONFLICT;
	}
	rc = store__prepare(db, "UPDATE cases SET status=?, type=?, department=?, police=?, "
				"deadline_at=?, updated_at=?, escalation_level=?, version=version+1 "
				"WHERE id=?",
			    &st);
	if (rc)
		return rc;
	sqlite3_bind_text(st, 1, ch->to_status ? ch->to_status : cur.status, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, ch->set_type ? ch->set_type : cur.type, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, ch->set_department ? ch->set_department : cur.department, -1,
			  SQLITE_STATIC);
	sqlite3_bind_int(st, 4, ch->set_police >= 0 ? ch->set_police : cur.police);
	sqlite3_bind_int64(st, 5, ch->set_deadline ? ch->set_deadline : cur.deadline_at);
	sqlite3_bind_int64(st, 6, ch->at);
	sqlite3_bind_int(st, 7, ch->set_escalation_level >= 0 ? ch->set_escalation_level
							       : cur.escalation_level);
	sqlite3_bind_int64(st, 8, ch->id);
	rc = store__rc(sqlite3_step(st));
	sqlite3_finalize(st);
	if (!rc && ch->set_location && !(rc = move_case(db, ch->id, ch->set_location)))
		note_moved(db, ch->id);
	/*
	 * Diversion moves the case between police and non-police in the counters,
	 * and a move between areas; the counters follow.
	 */
	if (!rc && (ch->set_location || (ch->set_police >= 0 && (ch->set_police != 0) != cur.police))) {
		struct case_row next = cur;
		int police = ch->set_police >= 0 ? ch->set_police != 0 : cur.police;
		if (ch->set_location)
			memcpy(next.area_ids, ch->set_location->area_ids, sizeof next.area_ids);
		rc = store__stats_case_count(db, &cur, cur.police, -1);
		if (!rc)
			rc = store__stats_case_count(db, &next, police, 1);
	}
	if (!rc && ch->to_status && strcmp(ch->to_status, "resolved") == 0 &&
	    strcmp(cur.status, "resolved") != 0)
		rc = store__stats_case_resolved(db, &cur, ch->at);
	if (!rc)
		rc = history_add(db, ch->id, ch->at, ch->actor, cur.status,
				 ch->to_status ? ch->to_status : cur.status, ch->note);
	if (!rc)
		rc = case_by_id(db, ch->id, ch->out);
	return rc;
}

int store_case_change(struct store *s, struct store_case_change *ch)
{
	return store__submit(s, change_cmd, ch);
}

int store_case_change_async(struct store *s, struct store_case_change *ch, store_done_fn done,
			    void *arg)
{
	return store__submit_async(s, change_cmd, ch, done, arg);
}

/* The filters other than the areas, as SQL after a WHERE clause, and their binding. */
static void filter_sql(const struct store_case_filter *f, char *buf, size_t cap)
{
	snprintf(buf, cap, "%s%s%s%s%s", f->status ? " AND status=?" : "", f->type ? " AND type=?" : "",
		 f->category ? " AND category=?" : "", f->since ? " AND created_at>=?" : "",
		 f->open > 0   ? " AND " STORE__CASE_OPEN_SQL
		 : f->open < 0 ? " AND NOT (" STORE__CASE_OPEN_SQL ")"
			       : "");
}

static void filter_bind(const struct store_case_filter *f, sqlite3_stmt *st, int col)
{
	if (f->status)
		sqlite3_bind_text(st, col++, f->status, -1, SQLITE_STATIC);
	if (f->type)
		sqlite3_bind_text(st, col++, f->type, -1, SQLITE_STATIC);
	if (f->category)
		sqlite3_bind_text(st, col++, f->category, -1, SQLITE_STATIC);
	if (f->since)
		sqlite3_bind_int64(st, col++, f->since);
}

/* Every case, newest first: the primary key read backwards. */
static int list_all(sqlite3 *db, const struct store_case_filter *f, store_case_fn fn, void *ctx)
{
	char sql[768], where[256];
	sqlite3_stmt *st = NULL;
	int rc;

	filter_sql(f, where, sizeof where);
	snprintf(sql, sizeof sql, "SELECT " CASE_COLS " FROM cases WHERE id < ?%s ORDER BY id DESC",
		 where);
	rc = store__prepare(db, sql, &st);
	if (!rc) {
		sqlite3_bind_int64(st, 1, f->before_id ? f->before_id : INT64_MAX);
		filter_bind(f, st, 2);
		while (sqlite3_step(st) == SQLITE_ROW) {
			struct case_row c;
			read_case(st, &c);
			if (fn(ctx, &c))
				break;
		}
	}
	sqlite3_finalize(st);
	return rc;
}

/*
 * A scoped list merges streams of case ids, newest first: one per area (the
 * index range of its level's column) and one of the strays. A stream reads
 * its range in batches that start small (most streams of a scope give a few
 * cases to a page, or only cases another stream gave already) and double.
 */
#define STREAM_BATCH_FIRST 8
#define STREAM_BATCH_MAX 512
#define STREAM_STRAYS AREA_KIND_COUNT

static const char *const stream_sql[AREA_KIND_COUNT + 1] = {
	"SELECT id FROM cases WHERE city_id=? AND id<? ORDER BY id DESC LIMIT ?",
	"SELECT id FROM cases WHERE district_id=? AND id<? ORDER BY id DESC LIMIT ?",
	"SELECT id FROM cases WHERE station_id=? AND id<? ORDER BY id DESC LIMIT ?",
	"SELECT id FROM cases WHERE police_grid_id=? AND id<? ORDER BY id DESC LIMIT ?",
	"SELECT id FROM cases WHERE street_id=? AND id<? ORDER BY id DESC LIMIT ?",
	"SELECT id FROM cases WHERE community_id=? AND id<? ORDER BY id DESC LIMIT ?",
	"SELECT id FROM cases WHERE gov_grid_id=? AND id<? ORDER BY id DESC LIMIT ?",
	/* No area: ?1 is bound and unused, so that every stream binds alike. */
	"SELECT case_id FROM case_strays WHERE case_id<?2 ORDER BY case_id DESC LIMIT ?3",
};

struct id_stream {
	int kind;        /* area kind, or STREAM_STRAYS */
	int64_t area;
	int64_t *ids;    /* the batch read, newest first */
	size_t n, pos, batch;
	int64_t below;   /* the next batch starts below this id */
	bool done;       /* the range is read to its end */
};

struct merge {
	sqlite3 *db;
	sqlite3_stmt *st[AREA_KIND_COUNT + 1]; /* prepared on first use */
	struct id_stream *v;
	size_t n;
};

/* Reads a stream's next batch. */
static int stream_fill(struct merge *m, struct id_stream *s)
{
	sqlite3_stmt *st;
	int64_t *ids;
	int rc;

	if (!m->st[s->kind] && (rc = store__prepare(m->db, stream_sql[s->kind], &m->st[s->kind])))
		return rc;
	st = m->st[s->kind];
	s->batch = s->batch ? (s->batch * 2 < STREAM_BATCH_MAX ? s->batch * 2 : STREAM_BATCH_MAX)
			    : STREAM_BATCH_FIRST;
	if (!(ids = realloc(s->ids, s->batch * sizeof *ids)))
		return SG_ENOMEM;
	s->ids = ids;
	s->n = s->pos = 0;
	sqlite3_reset(st);
	sqlite3_bind_int64(st, 1, s->area);
	sqlite3_bind_int64(st, 2, s->below);
	sqlite3_bind_int64(st, 3, (int64_t)s->batch);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		s->ids[s->n++] = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return store__rc(rc);
	s->done = s->n < s->batch;
	if (s->n)
		s->below = s->ids[s->n - 1];
	return SG_OK;
}

/* The stream's newest id not yet taken into *id, 0 once it is read out. */
static int stream_head(struct merge *m, struct id_stream *s, int64_t *id)
{
	int rc;

	if (s->pos == s->n && !s->done && (rc = stream_fill(m, s)))
		return rc;
	*id = s->pos < s->n ? s->ids[s->pos] : 0;
	return SG_OK;
}

/*
 * The merge takes the newest head of all streams each round, advances every
 * stream showing it (a case in several of the areas comes once), and reads
 * the case itself only then, with the other filters: the rows read are the
 * cases handed out plus those the filters or the caller turn down.
 */
static int list_areas(sqlite3 *db, const struct store_case_filter *f, store_case_fn fn, void *ctx)
{
	struct merge m = { db, { NULL }, NULL, 0 };
	sqlite3_stmt *row = NULL;
	char sql[768], where[256];
	int64_t below = f->before_id ? f->before_id : INT64_MAX;
	int rc;

	if (!(m.v = calloc(f->nareas + 1, sizeof *m.v)))
		return SG_ENOMEM;
	for (size_t i = 0; i < f->nareas; i++) {
		if ((unsigned)f->areas[i].kind >= AREA_KIND_COUNT) {
			rc = SG_EINVAL;
			goto out;
		}
		m.v[m.n++] = (struct id_stream){ .kind = (int)f->areas[i].kind, .area = f->areas[i].id,
						 .below = below };
	}
	if (f->strays)
		m.v[m.n++] = (struct id_stream){ .kind = STREAM_STRAYS, .below = below };
	filter_sql(f, where, sizeof where);
	snprintf(sql, sizeof sql, "SELECT " CASE_COLS " FROM cases WHERE id=?%s", where);
	if ((rc = store__prepare(db, sql, &row)))
		goto out;
	for (;;) {
		int64_t top = 0, h;
		for (size_t i = 0; i < m.n; i++) {
			if ((rc = stream_head(&m, &m.v[i], &h)))
				goto out;
			if (h > top)
				top = h;
		}
		if (!top)
			break;
		for (size_t i = 0; i < m.n; i++) {
			struct id_stream *s = &m.v[i];
			if (s->pos < s->n && s->ids[s->pos] == top)
				s->pos++;
		}
		sqlite3_reset(row);
		sqlite3_bind_int64(row, 1, top);
		filter_bind(f, row, 2);
		rc = sqlite3_step(row);
		if (rc == SQLITE_ROW) {
			struct case_row c;
			read_case(row, &c);
			rc = SG_OK;
			if (fn(ctx, &c))
				break;
		} else if (rc == SQLITE_DONE) {
			rc = SG_OK;
		} else {
			rc = store__rc(rc);
			goto out;
		}
	}
out:
	sqlite3_finalize(row);
	for (size_t i = 0; i <= AREA_KIND_COUNT; i++)
		sqlite3_finalize(m.st[i]);
	for (size_t i = 0; i < m.n; i++)
		free(m.v[i].ids);
	free(m.v);
	return rc;
}

static int area_cmp(const void *a, const void *b)
{
	const struct store_case_area *x = a, *y = b;

	if (x->kind != y->kind)
		return x->kind < y->kind ? -1 : 1;
	return x->id < y->id ? -1 : x->id > y->id;
}

/* Whether one of a case's areas (ids by level, 0 for none) is in areas (sorted by area_cmp). */
static bool in_areas(const int64_t ids[AREA_KIND_COUNT], const struct store_case_area *areas,
		     size_t n)
{
	for (int k = 0; k < AREA_KIND_COUNT; k++) {
		struct store_case_area key = { (enum area_kind)k, ids[k] };
		if (ids[k] && bsearch(&key, areas, n, sizeof *areas, area_cmp))
			return true;
	}
	return false;
}

static int id_cmp(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

/* The open strays below an id, sorted (caller frees *out): a handful, read once per list. */
static int open_strays(sqlite3 *db, int64_t below, int64_t **out, size_t *n)
{
	sqlite3_stmt *st = NULL;
	int64_t *v = NULL;
	size_t len = 0, cap = 0;
	int rc = store__prepare(db,
				"SELECT s.case_id FROM case_strays s JOIN cases c ON c.id = s.case_id "
				"WHERE s.case_id < ? AND c." STORE__CASE_OPEN_SQL " ORDER BY s.case_id",
				&st);

	if (rc)
		return rc;
	sqlite3_bind_int64(st, 1, below);
	for (;;) {
		int step = sqlite3_step(st);
		if (step != SQLITE_ROW) {
			rc = step == SQLITE_DONE ? SG_OK : store__rc(step);
			break;
		}
		if (len == cap) {
			size_t nc = cap ? cap * 2 : 16;
			int64_t *nv = realloc(v, nc * sizeof *nv);
			if (!nv) {
				rc = SG_ENOMEM;
				break;
			}
			v = nv;
			cap = nc;
		}
		v[len++] = sqlite3_column_int64(st, 0);
	}
	sqlite3_finalize(st);
	if (rc) {
		free(v);
		return rc;
	}
	*out = v;
	*n = len;
	return SG_OK;
}

/*
 * Open cases, newest first, through their partial index (cases_open): the
 * closed history is never read. A scoped list picks its cases from the
 * index's entries (which carry the areas; a case in none of them may still
 * be a stray) instead of reading an index range per area, and reads the row
 * of a case it takes, with the other filters: open cases are few, and one
 * index for them keeps the cost of every report down.
 */
static int list_open(sqlite3 *db, const struct store_case_filter *f, store_case_fn fn, void *ctx)
{
	char sql[768], where[256];
	sqlite3_stmt *ids = NULL, *row = NULL;
	struct store_case_area *areas = NULL;
	int64_t *strays = NULL, below = f->before_id ? f->before_id : INT64_MAX;
	size_t nstrays = 0;
	int rc;

	if (f->nareas) {
		if (!(areas = malloc(f->nareas * sizeof *areas)))
			return SG_ENOMEM;
		memcpy(areas, f->areas, f->nareas * sizeof *areas);
		qsort(areas, f->nareas, sizeof *areas, area_cmp);
	}
	filter_sql(f, where, sizeof where);
	if (!f->nareas && !f->strays) {
		/* Unscoped: every open case is taken, so one statement reads them whole. */
		snprintf(sql, sizeof sql,
			 "SELECT " CASE_COLS " FROM cases INDEXED BY cases_open WHERE id<?%s "
			 "ORDER BY id DESC",
			 where);
		if ((rc = store__prepare(db, sql, &row)))
			goto out;
		sqlite3_bind_int64(row, 1, below);
		filter_bind(f, row, 2);
		while ((rc = sqlite3_step(row)) == SQLITE_ROW) {
			struct case_row c;
			read_case(row, &c);
			if (fn(ctx, &c))
				break;
		}
		rc = rc == SQLITE_ROW || rc == SQLITE_DONE ? SG_OK : store__rc(rc);
		goto out;
	}
	snprintf(sql, sizeof sql, "SELECT " CASE_COLS " FROM cases WHERE id=?%s", where);
	if ((rc = store__prepare(db,
				 "SELECT id,city_id,district_id,station_id,police_grid_id,street_id,"
				 "community_id,gov_grid_id FROM cases INDEXED BY cases_open WHERE id<? "
				 "AND " STORE__CASE_OPEN_SQL " ORDER BY id DESC",
				 &ids)) ||
	    (rc = store__prepare(db, sql, &row)) ||
	    (f->strays && (rc = open_strays(db, below, &strays, &nstrays))))
		goto out;
	sqlite3_bind_int64(ids, 1, below);
	while ((rc = sqlite3_step(ids)) == SQLITE_ROW) {
		int64_t id = sqlite3_column_int64(ids, 0), level[AREA_KIND_COUNT];
		bool take;
		for (int k = 0; k < AREA_KIND_COUNT; k++)
			level[k] = sqlite3_column_int64(ids, 1 + k);
		take = in_areas(level, areas, f->nareas) ||
		       (nstrays && bsearch(&id, strays, nstrays, sizeof *strays, id_cmp));
		if (!take)
			continue;
		sqlite3_reset(row);
		sqlite3_bind_int64(row, 1, id);
		filter_bind(f, row, 2);
		if ((rc = sqlite3_step(row)) == SQLITE_ROW) {
			struct case_row c;
			read_case(row, &c);
			if (fn(ctx, &c))
				break;
		} else if (rc != SQLITE_DONE) {
			break;
		}
	}
	rc = rc == SQLITE_ROW || rc == SQLITE_DONE ? SG_OK : store__rc(rc);
out:
	sqlite3_finalize(ids);
	sqlite3_finalize(row);
	free(strays);
	free(areas);
	return rc;
}

int store_case_list(struct store *s, const struct store_case_filter *f, store_case_fn fn,
		    void *ctx)
{
	sqlite3 *db;
	int rc;

	if (f->nareas > STORE_CASE_AREAS_MAX || (f->nareas && !f->areas))
		return SG_EINVAL;
	db = store__read_begin(s);
	if (f->open > 0) {
		rc = list_open(db, f, fn, ctx);
	} else if (f->nareas == 0 && !f->strays) {
		rc = list_all(db, f, fn, ctx);
	} else if ((rc = store__rc(sqlite3_exec(db, "BEGIN", NULL, NULL, NULL))) == SG_OK) {
		/* One snapshot for every stream, so a case moved meanwhile is not seen twice. */
		rc = list_areas(db, f, fn, ctx);
		sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
	}
	store__read_end(s, db);
	return rc;
}

#define REPORT_COLS                                                                         \
	"id,case_id,source,text,lon,lat,reported_at,received_at,caller_name,caller_phone,category"

/* Reads a row of REPORT_COLS into *r; r->text is strdup'ed (NULL: out of memory). */
static int read_report(sqlite3_stmt *st, struct report_row *r)
{
	memset(r, 0, sizeof *r);
	r->id = sqlite3_column_int64(st, 0);
	r->case_id = sqlite3_column_int64(st, 1);
	copy_text(r->source, sizeof r->source, sqlite3_column_text(st, 2));
	if (!(r->text = strdup((const char *)sqlite3_column_text(st, 3))))
		return SG_ENOMEM;
	r->lon = sqlite3_column_double(st, 4);
	r->lat = sqlite3_column_double(st, 5);
	r->reported_at = sqlite3_column_int64(st, 6);
	r->received_at = sqlite3_column_int64(st, 7);
	copy_text(r->caller_name, sizeof r->caller_name, sqlite3_column_text(st, 8));
	copy_text(r->caller_phone, sizeof r->caller_phone, sqlite3_column_text(st, 9));
	copy_text(r->category, sizeof r->category, sqlite3_column_text(st, 10));
	return SG_OK;
}

int store_case_reports(struct store *s, int64_t case_id, struct report_row **out, size_t *n)
{
	sqlite3 *db = store__read_begin(s);
	sqlite3_stmt *st = NULL;
	struct report_row *v = NULL;
	size_t len = 0, alloc = 0;
	int rc = store__prepare(db, "SELECT " REPORT_COLS " FROM reports WHERE case_id=? ORDER BY id",
				&st);

	if (!rc)
		sqlite3_bind_int64(st, 1, case_id);
	while (!rc && sqlite3_step(st) == SQLITE_ROW) {
		if (len == alloc) {
			size_t na = alloc ? alloc * 2 : 4;
			struct report_row *nv = realloc(v, na * sizeof *nv);
			if (!nv) {
				rc = SG_ENOMEM;
				break;
			}
			v = nv;
			alloc = na;
		}
		if (!(rc = read_report(st, &v[len])))
			len++;
	}
	sqlite3_finalize(st);
	store__read_end(s, db);
	if (rc) {
		store_reports_free(v, len);
		return rc;
	}
	*out = v;
	*n = len;
	return SG_OK;
}

int store_caller_reports(struct store *s, const char *key, int64_t since, size_t max,
			 store_caller_fn fn, void *ctx)
{
	sqlite3 *db = store__read_begin(s);
	sqlite3_stmt *st = NULL;
	size_t seen = 0;
	int rc;

	/* One snapshot: a case changed meanwhile is read as it was with its report. */
	if ((rc = store__rc(sqlite3_exec(db, "BEGIN", NULL, NULL, NULL)))) {
		store__read_end(s, db);
		return rc;
	}
	rc = store__prepare(db, "SELECT " REPORT_COLS " FROM reports INDEXED BY reports_caller"
				" WHERE caller_key=? AND received_at>=?"
				" ORDER BY received_at DESC, id DESC",
			    &st);
	if (!rc) {
		sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, since);
	}
	while (!rc && seen < max) {
		struct report_row r;
		struct case_row c;
		int step = sqlite3_step(st);
		if (step != SQLITE_ROW) {
			rc = step == SQLITE_DONE ? SG_OK : store__rc(step);
			break;
		}
		seen++;
		if ((rc = read_report(st, &r)))
			break;
		if (!(rc = case_by_id(db, r.case_id, &c)))
			rc = fn(ctx, &r, &c);
		free(r.text);
	}
	sqlite3_finalize(st);
	sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
	store__read_end(s, db);
	return rc;
}

void store_reports_free(struct report_row *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i].text);
	free(v);
}

int store_case_history(struct store *s, int64_t case_id, struct case_event **out, size_t *n)
{
	sqlite3 *db = store__read_begin(s);
	sqlite3_stmt *st = NULL;
	struct case_event *v = NULL;
	size_t len = 0, alloc = 0;
	int rc = store__prepare(db, "SELECT at,actor,from_status,to_status,note FROM case_history "
				    "WHERE case_id=? ORDER BY id",
				&st);

	if (!rc)
		sqlite3_bind_int64(st, 1, case_id);
	while (!rc && sqlite3_step(st) == SQLITE_ROW) {
		struct case_event *e;
		const unsigned char *note = sqlite3_column_text(st, 4);
		if (len == alloc) {
			size_t na = alloc ? alloc * 2 : 8;
			struct case_event *nv = realloc(v, na * sizeof *nv);
			if (!nv) {
				rc = SG_ENOMEM;
				break;
			}
			v = nv;
			alloc = na;
		}
		e = &v[len++];
		memset(e, 0, sizeof *e);
		e->at = sqlite3_column_int64(st, 0);
		copy_text(e->actor, sizeof e->actor, sqlite3_column_text(st, 1));
		copy_text(e->from, sizeof e->from, sqlite3_column_text(st, 2));
		copy_text(e->to, sizeof e->to, sqlite3_column_text(st, 3));
		if (note && !(e->note = strdup((const char *)note)))
			rc = SG_ENOMEM;
	}
	sqlite3_finalize(st);
	store__read_end(s, db);
	if (rc) {
		store_case_history_free(v, len);
		return rc;
	}
	*out = v;
	*n = len;
	return SG_OK;
}

void store_case_history_free(struct case_event *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i].note);
	free(v);
}

int store_cases_overdue(struct store *s, int64_t now, const char *const *statuses, size_t nstatuses,
			int max_level, int64_t *ids, size_t cap, size_t *n)
{
	char sql[640];
	size_t len, found = 0;
	sqlite3 *db;
	sqlite3_stmt *st = NULL;
	int rc;

	if (nstatuses == 0 || nstatuses > 32)
		return SG_EINVAL;
	len = (size_t)snprintf(sql, sizeof sql, "SELECT id FROM cases WHERE deadline_at < ? AND "
						"escalation_level < ? AND status IN (?");
	for (size_t i = 1; i < nstatuses; i++)
		len += (size_t)snprintf(sql + len, sizeof sql - len, ",?");
	snprintf(sql + len, sizeof sql - len, ") ORDER BY deadline_at LIMIT ?");
	db = store__read_begin(s);
	rc = store__prepare(db, sql, &st);
	if (!rc) {
		sqlite3_bind_int64(st, 1, now);
		sqlite3_bind_int(st, 2, max_level);
		for (size_t i = 0; i < nstatuses; i++)
			sqlite3_bind_text(st, 3 + (int)i, statuses[i], -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 3 + (int)nstatuses, (int64_t)cap);
		while (found < cap && sqlite3_step(st) == SQLITE_ROW)
			ids[found++] = sqlite3_column_int64(st, 0);
		*n = found;
	}
	sqlite3_finalize(st);
	store__read_end(s, db);
	return rc;
}

static int split_cmd(sqlite3 *db, void *arg)
{
	struct store_case_split *sp = arg;
	struct case_row cur;
	sqlite3_stmt *st = NULL;
	char note[128];
	int rc = case_by_id(db, sp->case_id, &cur);

	if (rc)
		return rc;
	if (cur.version != sp->expected_version) {
		*sp->out_old = cur;
		return SG_ECONFLICT;
	}
	if (cur.reports < 2)
		return SG_EINVAL; /* a case's only report cannot leave it */
	if ((rc = store__prepare(db, "SELECT count(*) FROM reports WHERE id=? AND case_id=?", &st)))
		return rc;
	sqlite3_bind_int64(st, 1, sp->report_id);
	sqlite3_bind_int64(st, 2, sp->case_id);
	rc = sqlite3_step(st) == SQLITE_ROW && sqlite3_column_int(st, 0) == 1 ? SG_OK : SG_ENOTFOUND;
	sqlite3_finalize(st);
	if (rc)
		return rc;
	if ((rc = insert_case(db, sp->new_case)))
		return rc;
	if ((rc = store__prepare(db, "UPDATE reports SET case_id=? WHERE id=?", &st)))
		return rc;
	sqlite3_bind_int64(st, 1, sp->new_case->id);
	sqlite3_bind_int64(st, 2, sp->report_id);
	rc = store__rc(sqlite3_step(st));
	sqlite3_finalize(st);
	if (rc || (rc = store__prepare(db, "UPDATE cases SET reports=reports-1, version=version+1, "
					   "updated_at=? WHERE id=?",
				       &st)))
		return rc;
	sqlite3_bind_int64(st, 1, sp->at);
	sqlite3_bind_int64(st, 2, sp->case_id);
	rc = store__rc(sqlite3_step(st));
	sqlite3_finalize(st);
	if (rc || (rc = store__stats_case_count(db, sp->new_case, sp->new_case->police, 1)))
		return rc;
	snprintf(note, sizeof note, "report %lld split out to case %lld", (long long)sp->report_id,
		 (long long)sp->new_case->id);
	if ((rc = history_add(db, sp->case_id, sp->at, sp->actor, cur.status, cur.status, note)))
		return rc;
	snprintf(note, sizeof note, "opened from report %lld, split out of case %lld",
		 (long long)sp->report_id, (long long)sp->case_id);
	if ((rc = history_add(db, sp->new_case->id, sp->at, sp->actor, NULL,
			      sp->new_case->status, note)))
		return rc;
	return case_by_id(db, sp->case_id, sp->out_old);
}

int store_case_split(struct store *s, struct store_case_split *sp)
{
	return store__submit(s, split_cmd, sp);
}

int store_case_split_async(struct store *s, struct store_case_split *sp, store_done_fn done,
			   void *arg)
{
	return store__submit_async(s, split_cmd, sp, done, arg);
}
