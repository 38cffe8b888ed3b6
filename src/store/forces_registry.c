/*
 * forces_registry.c — the registry of forces in the store: organisations
 * (with their scope areas) and people (with their grids), added, loaded in
 * bulk, changed, read and listed (see store/forces.h). Not units, tracks or
 * dispatches (forces_units.c, forces_dispatch.c); the list walk it uses is
 * shared, in forces.c.
 */
#include "store/forces.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/err.h"
#include "store/forces_internal.h"
#include "store/store_internal.h"

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
		if ((rc = store__forces_exists(area, ids[i])))
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
		rc = store__forces_exists(st, o->parent_id);
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
	store__forces_bind_text_or_null(st, 3, o->code);
	sqlite3_bind_text(st, 4, o->name, -1, SQLITE_STATIC);
	store__forces_bind_text_or_null(st, 5, o->phone);
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
	store__forces_copy_text(o->code, sizeof o->code, st, 3);
	store__forces_copy_text(o->name, sizeof o->name, st, 4);
	store__forces_copy_text(o->phone, sizeof o->phone, st, 5);
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
	int rc = store__forces_row_by_id(db, "SELECT " ORG_COLS " FROM orgs WHERE id=?", id, &st);

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

	if ((rc = store__forces_exists(p->org, v->org_id)) ||
	    (rc = store__forces_exists(p->area, v->area_id)))
		return rc;
	for (size_t g = 0; g < v->ngrids; g++) {
		if ((rc = store__forces_exists(p->area, v->grids[g])))
			return rc;
	}
	sqlite3_reset(p->ins);
	sqlite3_bind_text(p->ins, 1, person_type_name(v->type), -1, SQLITE_STATIC);
	sqlite3_bind_int64(p->ins, 2, v->org_id);
	sqlite3_bind_int64(p->ins, 3, v->area_id);
	sqlite3_bind_text(p->ins, 4, v->name, -1, SQLITE_STATIC);
	store__forces_bind_text_or_null(p->ins, 5, v->phone);
	store__forces_bind_text_or_null(p->ins, 6, v->id_number);
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
	store__forces_copy_text(p->name, sizeof p->name, st, 5);
	store__forces_copy_text(p->phone, sizeof p->phone, st, 6);
	store__forces_copy_text(p->id_number, sizeof p->id_number, st, 7);
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
	int rc = store__forces_row_by_id(db, "SELECT " PERSON_COLS " FROM people WHERE id=?",
					 id, &st);

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
	struct store__forces_walk w = { "people", PERSON_COLS, f, limit, 0, person_row, &pw };
	sqlite3 *db = store__read_begin(s);
	int rc;

	/* The grids are read beside the walk, on the same connection. */
	memset(&pw, 0, sizeof pw);
	pw.fn = fn;
	pw.ctx = ctx;
	rc = store__prepare(db, "SELECT area_id FROM person_grids WHERE person_id=? ORDER BY area_id",
			    &pw.grids);
	if (!rc)
		rc = store__forces_walk(
			db, &w, f->type >= 0 ? person_type_name((enum person_type)f->type) : NULL,
			NULL);
	sqlite3_finalize(pw.grids);
	store__read_end(s, db);
	return rc;
}

int store_people_count(struct store *s, size_t *out)
{
	return store__count(s, "SELECT count(*) FROM people", out);
}
