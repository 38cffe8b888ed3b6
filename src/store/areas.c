/* areas.c — the store's areas and fusion tables. */
#include "store/store_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/buf.h"
#include "base/err.h"

struct areas_insert_ctx {
	struct area_set *set;
};

static int areas_insert_cmd(sqlite3 *db, void *arg)
{
	struct areas_insert_ctx *c = arg;
	sqlite3_stmt *st = NULL;
	struct sg_buf wkb;
	int64_t now = (int64_t)time(NULL);
	int rc;

	sg_buf_init(&wkb, 0);
	rc = store__prepare(db,
			    "INSERT INTO areas(kind,parent_id,code,name,geom,min_lon,min_lat,max_lon,"
			    "max_lat,area_m2,created_at) VALUES(?,?,?,?,?,?,?,?,?,?,?)",
			    &st);
	if (rc)
		goto out;
	for (size_t i = 0; i < c->set->n; i++) {
		struct area *a = &c->set->v[i];
		if (a->parent_idx >= 0) {
			if ((size_t)a->parent_idx >= i) {
				rc = SG_EINVAL; /* parents must come first */
				goto out;
			}
			a->parent_id = c->set->v[a->parent_idx].id;
		}
		sg_buf_reset(&wkb);
		if ((rc = geo_mpoly_to_wkb(&a->geom, &wkb)))
			goto out;
		sqlite3_reset(st);
		sqlite3_bind_text(st, 1, area_kind_name(a->kind), -1, SQLITE_STATIC);
		if (a->parent_id > 0)
			sqlite3_bind_int64(st, 2, a->parent_id);
		else
			sqlite3_bind_null(st, 2);
		if (a->code[0])
			sqlite3_bind_text(st, 3, a->code, -1, SQLITE_STATIC);
		else
			sqlite3_bind_null(st, 3);
		sqlite3_bind_text(st, 4, a->name, -1, SQLITE_STATIC);
		sqlite3_bind_blob(st, 5, wkb.data, (int)wkb.len, SQLITE_STATIC);
		sqlite3_bind_double(st, 6, a->bbox.min_lon);
		sqlite3_bind_double(st, 7, a->bbox.min_lat);
		sqlite3_bind_double(st, 8, a->bbox.max_lon);
		sqlite3_bind_double(st, 9, a->bbox.max_lat);
		sqlite3_bind_double(st, 10, a->area_m2);
		sqlite3_bind_int64(st, 11, now);
		if ((rc = store__rc(sqlite3_step(st))))
			goto out;
		a->id = sqlite3_last_insert_rowid(db);
	}
out:
	sqlite3_finalize(st);
	sg_buf_release(&wkb);
	if (rc) {
		for (size_t i = 0; i < c->set->n; i++)
			c->set->v[i].id = 0;
	}
	return rc;
}

int store_areas_insert(struct store *s, struct area_set *set)
{
	struct areas_insert_ctx c = { set };
	return store__submit(s, areas_insert_cmd, &c);
}

int store_areas_count(struct store *s, size_t *out)
{
	return store__count(s, "SELECT count(*) FROM areas", out);
}

int store_areas_load(struct store *s, struct area_set *out)
{
	sqlite3 *db = store__read_begin(s);
	sqlite3_stmt *st = NULL;
	int rc = store__prepare(db,
				"SELECT id,kind,parent_id,code,name,geom FROM areas ORDER BY id", &st);

	while (!rc) {
		struct geo_mpoly g;
		struct area *a;
		enum area_kind kind;
		const char *code;
		int step = sqlite3_step(st);

		if (step == SQLITE_DONE)
			break;
		if (step != SQLITE_ROW) {
			rc = store__rc(step);
			break;
		}
		if (area_kind_parse((const char *)sqlite3_column_text(st, 1), &kind)) {
			rc = SG_EINVAL;
			break;
		}
		geo_mpoly_init(&g);
		rc = geo_mpoly_from_wkb(sqlite3_column_blob(st, 5), (size_t)sqlite3_column_bytes(st, 5),
					&g);
		code = (const char *)sqlite3_column_text(st, 3);
		if (!rc)
			rc = area_set_push(out, kind, code ? code : "",
					   (const char *)sqlite3_column_text(st, 4), -1,
					   sqlite3_column_int64(st, 2), &g, &a);
		geo_mpoly_release(&g);
		if (!rc)
			a->id = sqlite3_column_int64(st, 0);
	}
	sqlite3_finalize(st);
	store__read_end(s, db);
	return rc;
}

static int find_area(struct store *s, const char *code, int64_t id, int64_t *out_id,
		     enum area_kind *kind)
{
	sqlite3 *db = store__read_begin(s);
	sqlite3_stmt *st = NULL;
	int rc = store__prepare(db,
				code ? "SELECT id,kind FROM areas WHERE code=?"
				     : "SELECT id,kind FROM areas WHERE id=?",
				&st);

	if (!rc) {
		if (code)
			sqlite3_bind_text(st, 1, code, -1, SQLITE_STATIC);
		else
			sqlite3_bind_int64(st, 1, id);
		if (sqlite3_step(st) == SQLITE_ROW) {
			if (out_id)
				*out_id = sqlite3_column_int64(st, 0);
			if (kind)
				rc = area_kind_parse((const char *)sqlite3_column_text(st, 1), kind);
		} else {
			rc = SG_ENOTFOUND;
		}
	}
	sqlite3_finalize(st);
	store__read_end(s, db);
	return rc;
}

int store_area_find_code(struct store *s, const char *code, int64_t *id, enum area_kind *kind)
{
	return find_area(s, code, 0, id, kind);
}

int store_area_find_id(struct store *s, int64_t id, enum area_kind *kind)
{
	return find_area(s, NULL, id, NULL, kind);
}

struct rename_ctx {
	int64_t id;
	const char *name;
	const char *actor;
};

static int rename_cmd(sqlite3 *db, void *arg)
{
	struct rename_ctx *c = arg;
	sqlite3_stmt *st = NULL;
	int rc = store__prepare(db, "UPDATE areas SET name=? WHERE id=?", &st);

	if (!rc) {
		sqlite3_bind_text(st, 1, c->name, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, c->id);
		rc = store__rc(sqlite3_step(st));
		if (!rc && sqlite3_changes(db) == 0)
			rc = SG_ENOTFOUND;
	}
	sqlite3_finalize(st);
	if (!rc && c->actor) {
		char subject[32];
		snprintf(subject, sizeof subject, "area:%lld", (long long)c->id);
		rc = store__audit_append_tx(db, c->actor, "area.rename", subject, c->name);
	}
	return rc;
}

int store_area_rename(struct store *s, int64_t id, const char *name, const char *actor)
{
	struct rename_ctx c = { id, name, actor };
	return store__submit(s, rename_cmd, &c);
}

int store_area_name(struct store *s, int64_t id, char **name)
{
	sqlite3 *db = store__read_begin(s);
	sqlite3_stmt *st = NULL;
	int rc = store__prepare(db, "SELECT name FROM areas WHERE id=?", &st);

	if (!rc) {
		sqlite3_bind_int64(st, 1, id);
		if (sqlite3_step(st) == SQLITE_ROW) {
			char *n = strdup((const char *)sqlite3_column_text(st, 0));
			if (n)
				*name = n;
			else
				rc = SG_ENOMEM;
		} else {
			rc = SG_ENOTFOUND;
		}
	}
	sqlite3_finalize(st);
	store__read_end(s, db);
	return rc;
}

struct fusion_ctx {
	const struct fusion_row *rows;
	size_t n;
};

static void bind_id_or_null(sqlite3_stmt *st, int col, int64_t id)
{
	if (id > 0)
		sqlite3_bind_int64(st, col, id);
	else
		sqlite3_bind_null(st, col);
}

static int fusion_replace_cmd(sqlite3 *db, void *arg)
{
	struct fusion_ctx *c = arg;
	sqlite3_stmt *st = NULL;
	int rc;

	if ((rc = store__rc(sqlite3_exec(db, "DELETE FROM fusion", NULL, NULL, NULL))))
		return rc;
	rc = store__prepare(db, "INSERT INTO fusion VALUES(?,?,?,?,?,?)", &st);
	for (size_t i = 0; !rc && i < c->n; i++) {
		const struct fusion_row *r = &c->rows[i];
		sqlite3_reset(st);
		sqlite3_bind_int64(st, 1, r->gov_grid_id);
		bind_id_or_null(st, 2, r->police_grid_id);
		sqlite3_bind_double(st, 3, r->ratio);
		bind_id_or_null(st, 4, r->second_police_grid_id);
		sqlite3_bind_double(st, 5, r->second_ratio);
		sqlite3_bind_int(st, 6, r->split);
		rc = store__rc(sqlite3_step(st));
	}
	sqlite3_finalize(st);
	return rc;
}

int store_fusion_replace(struct store *s, const struct fusion_row *rows, size_t n)
{
	struct fusion_ctx c = { rows, n };
	return store__submit(s, fusion_replace_cmd, &c);
}

int store_fusion_load(struct store *s, struct fusion_row **rows, size_t *n)
{
	sqlite3 *db = store__read_begin(s);
	sqlite3_stmt *st = NULL;
	struct fusion_row *v = NULL;
	size_t len = 0, alloc = 0;
	int rc = store__prepare(db, "SELECT * FROM fusion ORDER BY gov_grid_id", &st);

	while (!rc) {
		int step = sqlite3_step(st);
		if (step == SQLITE_DONE)
			break;
		if (step != SQLITE_ROW) {
			rc = store__rc(step);
			break;
		}
		if (len == alloc) {
			size_t na = alloc ? alloc * 2 : 1024;
			struct fusion_row *nv = realloc(v, na * sizeof *nv);
			if (!nv) {
				rc = SG_ENOMEM;
				break;
			}
			v = nv;
			alloc = na;
		}
		v[len].gov_grid_id = sqlite3_column_int64(st, 0);
		v[len].police_grid_id = sqlite3_column_int64(st, 1);
		v[len].ratio = sqlite3_column_double(st, 2);
		v[len].second_police_grid_id = sqlite3_column_int64(st, 3);
		v[len].second_ratio = sqlite3_column_double(st, 4);
		v[len].split = sqlite3_column_int(st, 5);
		len++;
	}
	sqlite3_finalize(st);
	store__read_end(s, db);
	if (rc) {
		free(v);
		return rc;
	}
	*rows = v;
	*n = len;
	return SG_OK;
}
