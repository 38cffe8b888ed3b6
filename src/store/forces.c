/*
 * forces.c — organisations, people, units, position tracks and dispatches
 * in the store (see store/forces.h).
 *
 * Lists of people and units walk the (area_id, id) indexes: a caller's
 * visible areas become one index seek each, in area order, so a station's
 * page costs the same whether the registry holds thousands or millions.
 */
#include "store/forces.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/err.h"
#include "store/store_internal.h"

static void copy_text(char *dst, size_t cap, sqlite3_stmt *st, int col)
{
	const unsigned char *t = sqlite3_column_text(st, col);
	snprintf(dst, cap, "%s", t ? (const char *)t : "");
}

static void bind_text_or_null(sqlite3_stmt *st, int i, const char *s)
{
	if (s && *s)
		sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, i);
}

/* One-row existence check inside a command or a read: 0, SG_ENOTFOUND, or an error. */
static int exists(sqlite3_stmt *st, int64_t id)
{
	int rc;

	sqlite3_reset(st);
	sqlite3_bind_int64(st, 1, id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		return SG_OK;
	return rc == SQLITE_DONE ? SG_ENOTFOUND : store__rc(rc);
}

/*
 * The readers by id: prepares sql (one row's columns "... WHERE id=?") and
 * steps to the row of id, which *st then holds. 0, SG_ENOTFOUND, or an
 * error. The caller finalizes *st in every case (NULL when the prepare
 * failed).
 */
static int row_by_id(sqlite3 *db, const char *sql, int64_t id, sqlite3_stmt **st)
{
	int rc = store__prepare(db, sql, st);

	return rc ? rc : exists(*st, id);
}

/* ---- organisations --------------------------------------------------------- */

static int org_areas_write(sqlite3 *db, int64_t org_id, const int64_t *ids, size_t n)
{
	sqlite3_stmt *st = NULL, *area = NULL;
	int rc;

	if ((rc = store__prepare(db, "DELETE FROM org_areas WHERE org_id=?", &st)))
		return rc;
	sqlite3_bind_int64(st, 1, org_id);
	rc = store__rc(sqlite3_step(st));
	sqlite3_finalize(st);
	st = NULL;
	if (rc || (rc = store__prepare(db, "INSERT OR IGNORE INTO org_areas VALUES(?,?)", &st)) ||
	    (rc = store__prepare(db, "SELECT 1 FROM areas WHERE id=?", &area)))
		goto out;
	for (size_t i = 0; !rc && i < n; i++) {
		if ((rc = exists(area, ids[i])))
			break;
		sqlite3_reset(st);
		sqlite3_bind_int64(st, 1, org_id);
		sqlite3_bind_int64(st, 2, ids[i]);
		rc = store__rc(sqlite3_step(st));
	}
out:
	sqlite3_finalize(st);
	sqlite3_finalize(area);
	return rc;
}

struct org_add_ctx {
	struct store_org *v;
	size_t n;
	const char *actor;
};

static int org_add_one(sqlite3 *db, struct store_org *o, const char *actor)
{
	sqlite3_stmt *st = NULL;
	char subject[40];
	int rc;

	if (o->parent_id) {
		if ((rc = store__prepare(db, "SELECT 1 FROM orgs WHERE id=?", &st)))
			return rc;
		rc = exists(st, o->parent_id);
		sqlite3_finalize(st);
		st = NULL;
		if (rc)
			return rc;
	}
	if ((rc = store__prepare(db,
				 "INSERT INTO orgs(kind,parent_id,code,name,phone,created_at,"
				 "updated_at,version) VALUES(?,?,?,?,?,?,?,1)",
				 &st)))
		return rc;
	sqlite3_bind_text(st, 1, org_kind_name(o->kind), -1, SQLITE_STATIC);
	if (o->parent_id)
		sqlite3_bind_int64(st, 2, o->parent_id);
	else
		sqlite3_bind_null(st, 2);
	bind_text_or_null(st, 3, o->code);
	sqlite3_bind_text(st, 4, o->name, -1, SQLITE_STATIC);
	bind_text_or_null(st, 5, o->phone);
	sqlite3_bind_int64(st, 6, o->created_at);
	sqlite3_bind_int64(st, 7, o->created_at);
	rc = store__rc(sqlite3_step(st));
	sqlite3_finalize(st);
	if (rc)
		return rc;
	o->id = sqlite3_last_insert_rowid(db);
	if ((rc = org_areas_write(db, o->id, o->area_ids, o->nareas)))
		return rc;
	snprintf(subject, sizeof subject, "org:%lld", (long long)o->id);
	return actor ? store__audit_append_tx(db, actor, "org.create", subject, o->name) : 0;
}

static int orgs_add_cmd(sqlite3 *db, void *arg)
{
	struct org_add_ctx *c = arg;
	int rc = SG_OK;

	for (size_t i = 0; !rc && i < c->n; i++)
		rc = org_add_one(db, &c->v[i], c->actor);
	return rc;
}

int store_orgs_add(struct store *s, struct store_org *v, size_t n, const char *actor)
{
	struct org_add_ctx c = { v, n, actor };
	int64_t now = (int64_t)time(NULL);
	int rc;

	for (size_t i = 0; i < n; i++) {
		if (!v[i].created_at)
			v[i].created_at = now;
	}
	rc = store__submit(s, orgs_add_cmd, &c);
	for (size_t i = 0; !rc && i < n; i++) {
		v[i].updated_at = v[i].created_at;
		v[i].version = 1;
	}
	return rc;
}

#define ORG_COLS "id,kind,parent_id,code,name,phone,created_at,updated_at,version"

static void read_org(sqlite3_stmt *st, struct store_org *o)
{
	memset(o, 0, sizeof *o);
	o->id = sqlite3_column_int64(st, 0);
	org_kind_parse((const char *)sqlite3_column_text(st, 1), &o->kind);
	o->parent_id = sqlite3_column_int64(st, 2);
	copy_text(o->code, sizeof o->code, st, 3);
	copy_text(o->name, sizeof o->name, st, 4);
	copy_text(o->phone, sizeof o->phone, st, 5);
	o->created_at = sqlite3_column_int64(st, 6);
	o->updated_at = sqlite3_column_int64(st, 7);
	o->version = sqlite3_column_int64(st, 8);
}

static int read_org_areas(sqlite3 *db, struct store_org *o)
{
	sqlite3_stmt *st = NULL;
	int rc = store__prepare(db, "SELECT area_id FROM org_areas WHERE org_id=? ORDER BY area_id",
				&st);

	if (rc)
		return rc;
	sqlite3_bind_int64(st, 1, o->id);
	o->nareas = 0;
	while (sqlite3_step(st) == SQLITE_ROW && o->nareas < STORE_ORG_AREAS_MAX)
		o->area_ids[o->nareas++] = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return SG_OK;
}

static int org_get_db(sqlite3 *db, int64_t id, struct store_org *out)
{
	sqlite3_stmt *st = NULL;
	int rc = row_by_id(db, "SELECT " ORG_COLS " FROM orgs WHERE id=?", id, &st);

	if (!rc)
		read_org(st, out);
	sqlite3_finalize(st);
	return rc ? rc : read_org_areas(db, out);
}

int store_org_get(struct store *s, int64_t id, struct store_org *out)
{
	sqlite3 *db = store__read_begin(s);
	int rc = org_get_db(db, id, out);

	store__read_end(s, db);
	return rc;
}

static int org_patch_cmd(sqlite3 *db, void *arg)
{
	struct store_org_patch *p = arg;
	sqlite3_stmt *st = NULL;
	char subject[40];
	int rc;

	if ((rc = org_get_db(db, p->id, p->out)))
		return rc;
	if (p->out->version != p->expected_version)
		return SG_ECONFLICT;
	if (p->parent_id > 0) {
		/* Walk up from the new parent: meeting this org would close a cycle. */
		int64_t cur = p->parent_id;
		int hops = 0;
		if ((rc = store__prepare(db, "SELECT parent_id FROM orgs WHERE id=?", &st)))
			return rc;
		while (cur && hops++ < 64) {
			if (cur == p->id) {
				rc = SG_EINVAL;
				break;
			}
			sqlite3_reset(st);
			sqlite3_bind_int64(st, 1, cur);
			if (sqlite3_step(st) != SQLITE_ROW) {
				rc = cur == p->parent_id ? SG_ENOTFOUND : SG_OK;
				break;
			}
			cur = sqlite3_column_int64(st, 0);
		}
		sqlite3_finalize(st);
		st = NULL;
		if (rc)
			return rc;
	}
	if ((rc = store__prepare(db,
				 "UPDATE orgs SET name=coalesce(?,name),"
				 " phone=CASE WHEN ?2 IS NULL THEN phone WHEN ?2='' THEN NULL ELSE ?2 END,"
				 " parent_id=CASE WHEN ?3 < 0 THEN parent_id WHEN ?3 = 0 THEN NULL ELSE ?3 END,"
				 " updated_at=?4, version=version+1 WHERE id=?5",
				 &st)))
		return rc;
	if (p->name)
		sqlite3_bind_text(st, 1, p->name, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, 1);
	if (p->phone)
		sqlite3_bind_text(st, 2, p->phone, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, 2);
	sqlite3_bind_int64(st, 3, p->parent_id);
	sqlite3_bind_int64(st, 4, p->at);
	sqlite3_bind_int64(st, 5, p->id);
	rc = store__rc(sqlite3_step(st));
	sqlite3_finalize(st);
	if (!rc && p->set_areas)
		rc = org_areas_write(db, p->id, p->area_ids, p->nareas);
	if (!rc)
		rc = org_get_db(db, p->id, p->out);
	snprintf(subject, sizeof subject, "org:%lld", (long long)p->id);
	if (!rc && p->actor)
		rc = store__audit_append_tx(db, p->actor, "org.update", subject, p->out->name);
	return rc;
}

int store_org_patch(struct store *s, struct store_org_patch *p)
{
	int rc = store__submit(s, org_patch_cmd, p);

	if (rc == SG_ECONFLICT) {
		/* The command rolled back: read the stored one for the answer. */
		int rc2 = store_org_get(s, p->id, p->out);
		if (rc2)
			return rc2;
	}
	return rc;
}

int store_orgs_list(struct store *s, store_org_fn fn, void *ctx)
{
	sqlite3 *db = store__read_begin(s);
	sqlite3_stmt *st = NULL, *ar = NULL;
	struct store_org *o = malloc(sizeof *o);
	int rc = o ? SG_OK : SG_ENOMEM;

	if (!rc)
		rc = store__prepare(db, "SELECT " ORG_COLS " FROM orgs ORDER BY id", &st);
	if (!rc)
		rc = store__prepare(db,
				    "SELECT area_id FROM org_areas WHERE org_id=? ORDER BY area_id", &ar);
	while (!rc && sqlite3_step(st) == SQLITE_ROW) {
		read_org(st, o);
		sqlite3_reset(ar);
		sqlite3_bind_int64(ar, 1, o->id);
		while (sqlite3_step(ar) == SQLITE_ROW && o->nareas < STORE_ORG_AREAS_MAX)
			o->area_ids[o->nareas++] = sqlite3_column_int64(ar, 0);
		if (fn(ctx, o))
			break;
	}
	sqlite3_finalize(st);
	sqlite3_finalize(ar);
	store__read_end(s, db);
	free(o);
	return rc;
}

int store_orgs_count(struct store *s, size_t *out)
{
	return store__count(s, "SELECT count(*) FROM orgs", out);
}

/* ---- people ---------------------------------------------------------------- */

#define PEOPLE_CHUNK 4096

/* Prepared statements of a people insert, kept for a whole load. */
struct people_ins {
	sqlite3_stmt *ins, *grid, *org, *area;
};

static void people_ins_release(struct people_ins *p)
{
	sqlite3_finalize(p->ins);
	sqlite3_finalize(p->grid);
	sqlite3_finalize(p->org);
	sqlite3_finalize(p->area);
}

static int people_ins_prepare(sqlite3 *db, struct people_ins *p)
{
	int rc;

	memset(p, 0, sizeof *p);
	if ((rc = store__prepare(db,
				 "INSERT INTO people(type,org_id,area_id,name,phone,id_number,unit_id,"
				 "created_at) VALUES(?,?,?,?,?,?,NULL,?)",
				 &p->ins)) ||
	    (rc = store__prepare(db, "INSERT OR IGNORE INTO person_grids VALUES(?,?)", &p->grid)) ||
	    (rc = store__prepare(db, "SELECT 1 FROM orgs WHERE id=?", &p->org)) ||
	    (rc = store__prepare(db, "SELECT 1 FROM areas WHERE id=?", &p->area)))
		people_ins_release(p);
	return rc;
}

/*
 * Inserts one person with the statements of p. Organisations and areas are
 * checked through their primary keys: a few microseconds each, which keeps a
 * million-row import in the tens of seconds.
 */
static int person_insert(sqlite3 *db, struct people_ins *p, struct store_person *v)
{
	int rc;

	if ((rc = exists(p->org, v->org_id)) || (rc = exists(p->area, v->area_id)))
		return rc;
	for (size_t g = 0; g < v->ngrids; g++) {
		if ((rc = exists(p->area, v->grids[g])))
			return rc;
	}
	sqlite3_reset(p->ins);
	sqlite3_bind_text(p->ins, 1, person_type_name(v->type), -1, SQLITE_STATIC);
	sqlite3_bind_int64(p->ins, 2, v->org_id);
	sqlite3_bind_int64(p->ins, 3, v->area_id);
	sqlite3_bind_text(p->ins, 4, v->name, -1, SQLITE_STATIC);
	bind_text_or_null(p->ins, 5, v->phone);
	bind_text_or_null(p->ins, 6, v->id_number);
	sqlite3_bind_int64(p->ins, 7, v->created_at);
	if ((rc = store__rc(sqlite3_step(p->ins))))
		return rc;
	v->id = sqlite3_last_insert_rowid(db);
	for (size_t g = 0; !rc && g < v->ngrids; g++) {
		sqlite3_reset(p->grid);
		sqlite3_bind_int64(p->grid, 1, v->id);
		sqlite3_bind_int64(p->grid, 2, v->grids[g]);
		rc = store__rc(sqlite3_step(p->grid));
	}
	return rc;
}

static int people_load_cmd(sqlite3 *db, void *arg)
{
	struct store_people_load *l = arg;
	struct store_person *chunk = malloc(PEOPLE_CHUNK * sizeof *chunk);
	struct people_ins p;
	size_t n = 0;
	char detail[64];
	int rc = chunk ? SG_OK : SG_ENOMEM;

	l->added = 0;
	l->failed_at = SIZE_MAX;
	if (rc || (rc = people_ins_prepare(db, &p))) {
		free(chunk);
		return rc;
	}
	int64_t now = (int64_t)time(NULL);
	while (!(rc = l->next(l->ctx, chunk, PEOPLE_CHUNK, &n)) && n) {
		for (size_t i = 0; i < n; i++) {
			if (!chunk[i].created_at)
				chunk[i].created_at = now;
			if ((rc = person_insert(db, &p, &chunk[i]))) {
				l->failed_at = l->added;
				goto out;
			}
			l->added++;
		}
		if (l->added_cb)
			l->added_cb(l->ctx, chunk, n);
	}
	snprintf(detail, sizeof detail, "%zu people", l->added);
	if (!rc && l->actor)
		rc = store__audit_append_tx(db, l->actor, "people.import", "people", detail);
out:
	people_ins_release(&p);
	free(chunk);
	return rc;
}

int store_people_load(struct store *s, struct store_people_load *load)
{
	int rc = store__submit(s, people_load_cmd, load);

	if (rc)
		load->added = 0;
	return rc;
}

struct person_add_ctx {
	struct store_person *p;
	const char *actor;
};

static int person_add_cmd(sqlite3 *db, void *arg)
{
	struct person_add_ctx *c = arg;
	struct people_ins p;
	char subject[40];
	int rc = people_ins_prepare(db, &p);

	if (rc)
		return rc;
	if (!c->p->created_at)
		c->p->created_at = (int64_t)time(NULL);
	rc = person_insert(db, &p, c->p);
	people_ins_release(&p);
	snprintf(subject, sizeof subject, "person:%lld", (long long)c->p->id);
	if (!rc && c->actor)
		rc = store__audit_append_tx(db, c->actor, "person.create", subject,
					    person_type_name(c->p->type));
	return rc;
}

int store_person_add(struct store *s, struct store_person *p, const char *actor)
{
	struct person_add_ctx c = { p, actor };
	return store__submit(s, person_add_cmd, &c);
}

#define PERSON_COLS "id,type,org_id,area_id,coalesce(unit_id,0),name,phone,id_number,created_at"

static void read_person(sqlite3_stmt *st, struct store_person *p)
{
	int t = 0;

	memset(p, 0, sizeof *p);
	p->id = sqlite3_column_int64(st, 0);
	if (person_type_parse((const char *)sqlite3_column_text(st, 1), (enum person_type *)&t))
		t = 0;
	p->type = (enum person_type)t;
	p->org_id = sqlite3_column_int64(st, 2);
	p->area_id = sqlite3_column_int64(st, 3);
	p->unit_id = sqlite3_column_int64(st, 4);
	copy_text(p->name, sizeof p->name, st, 5);
	copy_text(p->phone, sizeof p->phone, st, 6);
	copy_text(p->id_number, sizeof p->id_number, st, 7);
	p->created_at = sqlite3_column_int64(st, 8);
}

static void read_grids(sqlite3_stmt *g, struct store_person *p)
{
	sqlite3_reset(g);
	sqlite3_bind_int64(g, 1, p->id);
	p->ngrids = 0;
	while (sqlite3_step(g) == SQLITE_ROW && p->ngrids < STORE_PERSON_GRIDS_MAX)
		p->grids[p->ngrids++] = sqlite3_column_int64(g, 0);
}

int store_person_get(struct store *s, int64_t id, struct store_person *out)
{
	sqlite3 *db = store__read_begin(s);
	sqlite3_stmt *st = NULL, *g = NULL;
	int rc = row_by_id(db, "SELECT " PERSON_COLS " FROM people WHERE id=?", id, &st);

	if (!rc)
		rc = store__prepare(db, "SELECT area_id FROM person_grids WHERE person_id=? ORDER BY area_id",
				    &g);
	if (!rc) {
		read_person(st, out);
		read_grids(g, out);
	}
	sqlite3_finalize(st);
	sqlite3_finalize(g);
	store__read_end(s, db);
	return rc;
}

/*
 * The shared walk of people and units lists. Without an area list it is
 * one range read over (area_id, id) from the cursor; with one it is a seek
 * per area, in area order, starting at the cursor's area. Filters that are
 * not part of the index are checked on the rows the walk meets.
 */
struct walk {
	const char *table, *cols;
	const struct store_force_filter *f;
	size_t limit, emitted;
	int (*row)(void *ctx, sqlite3_stmt *st);
	void *ctx;
};

static int walk_sql(struct walk *w, bool one_area, char *sql, size_t cap)
{
	const struct store_force_filter *f = w->f;
	int n = snprintf(sql, cap, "SELECT %s FROM %s WHERE %s%s%s%s%s%s ORDER BY area_id, id LIMIT ?5",
			 w->cols, w->table,
			 one_area ? "area_id = ?1 AND id > ?2" : "(area_id, id) > (?1, ?2)",
			 f->type >= 0 ? " AND type = ?3" : "", f->org_id ? " AND org_id = ?4" : "",
			 f->status >= 0 ? " AND status = ?6" : "",
			 f->bbox ? " AND lon BETWEEN ?7 AND ?8 AND lat BETWEEN ?9 AND ?10" : "",
			 f->since > 0 ? " AND (updated_at >= ?11 OR pos_at >= ?11 * 1000)" : "");
	return n > 0 && (size_t)n < cap ? SG_OK : SG_EINTERNAL;
}

static int walk_run(sqlite3_stmt *st, struct walk *w, int64_t area, int64_t after_id,
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

/* Runs the walk on db (a borrowed read connection). */
static int walk(sqlite3 *db, struct walk *w, const char *type_name, const char *status_name)
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

struct person_walk {
	sqlite3_stmt *grids;
	store_person_fn fn;
	void *ctx;
	struct store_person p;
};

static int person_row(void *ctx, sqlite3_stmt *st)
{
	struct person_walk *pw = ctx;

	read_person(st, &pw->p);
	read_grids(pw->grids, &pw->p);
	return pw->fn(pw->ctx, &pw->p);
}

int store_people_list(struct store *s, const struct store_force_filter *f, size_t limit,
		      store_person_fn fn, void *ctx)
{
	struct person_walk pw;
	struct walk w = { "people", PERSON_COLS, f, limit, 0, person_row, &pw };
	sqlite3 *db = store__read_begin(s);
	int rc;

	/* The grids are read beside the walk, on the same connection. */
	memset(&pw, 0, sizeof pw);
	pw.fn = fn;
	pw.ctx = ctx;
	rc = store__prepare(db, "SELECT area_id FROM person_grids WHERE person_id=? ORDER BY area_id",
			    &pw.grids);
	if (!rc)
		rc = walk(db, &w, f->type >= 0 ? person_type_name((enum person_type)f->type) : NULL,
			  NULL);
	sqlite3_finalize(pw.grids);
	store__read_end(s, db);
	return rc;
}

int store_people_count(struct store *s, size_t *out)
{
	return store__count(s, "SELECT count(*) FROM people", out);
}

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
	copy_text(u->callsign, sizeof u->callsign, st, 2);
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
		if ((rc = exists(org, u->org_id)) || (rc = exists(area, u->area_id)))
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

static int unit_get_db(sqlite3 *db, int64_t id, struct store_unit *out, bool members)
{
	sqlite3_stmt *st = NULL;
	int rc = row_by_id(db, "SELECT " UNIT_COLS " FROM units WHERE id=?", id, &st);

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
	int rc = unit_get_db(db, id, out, true);

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
	struct walk w = { "units", UNIT_COLS, f, limit, 0, unit_row, &uw };

	sqlite3 *db = store__read_begin(s);
	int rc;

	uw.fn = fn;
	uw.ctx = ctx;
	rc = walk(db, &w, f->type >= 0 ? unit_type_name((enum unit_type)f->type) : NULL,
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
				 "UPDATE units SET lon=?2, lat=?3, pos_at=?4 WHERE id=?1 AND "
				 "(pos_at IS NULL OR pos_at < ?4)",
				 &latest)))
		goto out;
	for (size_t i = 0; !rc && i < c->n; i++) {
		const struct store_position *p = &c->v[i];
		sqlite3_reset(latest);
		sqlite3_bind_int64(latest, 1, p->unit_id);
		sqlite3_bind_double(latest, 2, p->lon);
		sqlite3_bind_double(latest, 3, p->lat);
		sqlite3_bind_int64(latest, 4, p->at);
		if ((rc = store__rc(sqlite3_step(latest))))
			break;
		if (sqlite3_changes(db) == 0) {
			/* Older than the latest, or no such unit: only the second is an error. */
			sqlite3_stmt *chk = NULL;
			if ((rc = store__prepare(db, "SELECT 1 FROM units WHERE id=?", &chk)))
				break;
			rc = exists(chk, p->unit_id);
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

int store_positions_add(struct store *s, const struct store_position *v, size_t n, size_t *bad)
{
	struct positions_ctx c = { v, n, SIZE_MAX };
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
			      size_t *bad, store_done_fn done, void *arg)
{
	struct positions_async *a;
	int rc;

	if (!n)
		return SG_EINVAL;
	if (!(a = calloc(1, sizeof *a)))
		return SG_ENOMEM;
	a->c = (struct positions_ctx){ v, n, SIZE_MAX };
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
	copy_text(d->status, sizeof d->status, st, 3);
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
	copy_text(d->actor, sizeof d->actor, st, 15);
	copy_text(d->reason, sizeof d->reason, st, 16);
}

static int dispatch_get_db(sqlite3 *db, int64_t id, struct store_dispatch *out)
{
	sqlite3_stmt *st = NULL;
	int rc = row_by_id(db, "SELECT " DISPATCH_COLS " FROM dispatches WHERE id=?", id, &st);

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
	copy_text(from, sizeof from, st, 0);
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
		if ((rc = unit_get_db(db, c->unit_ids[i], &u, false)))
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
		bind_text_or_null(ins, 10, c->reasons ? c->reasons[i] : NULL);
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
	if ((rc = unit_get_db(db, s->unit_id, s->out, false)))
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
	return unit_get_db(db, s->unit_id, s->out, false);
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
