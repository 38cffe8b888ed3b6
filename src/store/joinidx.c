/*
 * joinidx.c — the join index: recent cases in memory on the core thread, in
 * a grid of cells of about 200 m per category, so that looking for an open
 * case of the same category near a new report is a few cell probes instead
 * of a scan of the category's cases of the join window in SQLite (which grew
 * with every report of the window: O(n²) for a bulk batch).
 *
 * What it promises: for a category it has loaded, it holds every case of
 * that category created at or after the category's covered_since (loaded from
 * the store on first use, then kept up by store__join_note as cases are
 * opened, split out or moved). A query that reaches before covered_since
 * reloads the category from the store. It may hold more: entries of inserts
 * that rolled back, or the old point of a moved case. The caller therefore
 * checks every candidate against the store row, so the answer is exactly the
 * one of the SQL it replaces.
 *
 * Only the core thread touches it (it hangs off the core's own state); no
 * locks.
 */
#include "store/store_internal.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"

/* Cell size in degrees: 0.002° is 222 m of latitude, 190 m of longitude at Suzhou. */
#define CELL_DEG 0.002
#define MAX_CATEGORIES 127
/* Loads reach this much before the first query's since, so a later query rarely reloads. */
#define LOAD_MARGIN_S 3600
/* Entries older than the latest query's since minus this are dropped at a sweep. */
#define KEEP_MARGIN_S 3600
#define SWEEP_EVERY 8192
/* A box wider than this many cells is answered by walking every bucket instead. */
#define MAX_BOX_CELLS 4096

struct entry {
	int64_t id, created_at;
	double lon, lat;
};

struct bucket {
	uint64_t key; /* 0: empty slot */
	struct entry *v;
	uint32_t n, cap;
};

struct category {
	char id[CASE_ID_MAX];
	int loaded;
	int64_t covered_since; /* every case of the category created since is held */
	int64_t last_since;    /* the latest query's since, for the sweep */
};

struct store__join {
	struct category cats[MAX_CATEGORIES];
	size_t ncats;
	struct bucket *b;
	size_t cap, used; /* slots, slots holding a key */
	size_t notes;     /* since the last sweep */
	struct store__join_hit *hits;
	size_t nhits, hits_cap;
};

static uint64_t mix(uint64_t k)
{
	k ^= k >> 33;
	k *= 0xff51afd7ed558ccdULL;
	k ^= k >> 33;
	return k;
}

/* Callers pass finite degrees only (|deg| <= 360: the cell fits its 28 bits). */
static int64_t cell_of(double deg)
{
	return (int64_t)floor(deg / CELL_DEG);
}

static bool finite_deg(double deg)
{
	return deg >= -360.0 && deg <= 360.0; /* false for NaN too */
}

/* A set top bit (never 0), category index (7 bits), cell x (28 bits), cell y (28 bits). */
static uint64_t key_of(size_t cat, int64_t cx, int64_t cy)
{
	return (uint64_t)cat << 56 | ((uint64_t)(cx + (1 << 27)) & 0xfffffff) << 28 |
	       ((uint64_t)(cy + (1 << 27)) & 0xfffffff) | (uint64_t)1 << 63;
}

static struct store__join *join_get(sqlite3 *db)
{
	struct store__core *c = store__core_of(db);
	struct store__join **jp;

	if (!c)
		return NULL;
	jp = store__core_join(c);
	if (!*jp)
		*jp = calloc(1, sizeof **jp);
	return *jp;
}

static struct category *category_find(struct store__join *j, const char *id, int add)
{
	for (size_t i = 0; i < j->ncats; i++) {
		if (strcmp(j->cats[i].id, id) == 0)
			return &j->cats[i];
	}
	if (!add || j->ncats == MAX_CATEGORIES || strlen(id) >= CASE_ID_MAX)
		return NULL;
	memset(&j->cats[j->ncats], 0, sizeof j->cats[0]);
	strcpy(j->cats[j->ncats].id, id);
	return &j->cats[j->ncats++];
}

static struct bucket *bucket_find(const struct store__join *j, uint64_t key)
{
	size_t i;

	if (!j->cap)
		return NULL;
	i = (size_t)mix(key) & (j->cap - 1);
	while (j->b[i].key) {
		if (j->b[i].key == key)
			return &j->b[i];
		i = (i + 1) & (j->cap - 1);
	}
	return NULL;
}

/* Rebuilds the table at cap slots, leaving out empty buckets. */
static int table_rebuild(struct store__join *j, size_t cap)
{
	struct bucket *nb = calloc(cap, sizeof *nb);

	if (!nb)
		return SG_ENOMEM;
	j->used = 0;
	for (size_t i = 0; i < j->cap; i++) {
		size_t k;
		if (!j->b[i].key)
			continue;
		if (!j->b[i].n) {
			free(j->b[i].v);
			continue;
		}
		k = (size_t)mix(j->b[i].key) & (cap - 1);
		while (nb[k].key)
			k = (k + 1) & (cap - 1);
		nb[k] = j->b[i];
		j->used++;
	}
	free(j->b);
	j->b = nb;
	j->cap = cap;
	return SG_OK;
}

static struct bucket *bucket_add(struct store__join *j, uint64_t key)
{
	struct bucket *b = bucket_find(j, key);
	size_t i;

	if (b)
		return b;
	if ((j->used + 1) * 2 > j->cap && table_rebuild(j, j->cap ? j->cap * 2 : 1024))
		return NULL;
	i = (size_t)mix(key) & (j->cap - 1);
	while (j->b[i].key)
		i = (i + 1) & (j->cap - 1);
	j->b[i].key = key;
	j->used++;
	return &j->b[i];
}

static int entry_add(struct store__join *j, size_t cat, const struct entry *e)
{
	struct bucket *b = bucket_add(j, key_of(cat, cell_of(e->lon), cell_of(e->lat)));

	if (!b)
		return SG_ENOMEM;
	if (b->n == b->cap) {
		uint32_t nc = b->cap ? b->cap * 2 : 4;
		struct entry *nv = realloc(b->v, nc * sizeof *nv);
		if (!nv)
			return SG_ENOMEM;
		b->v = nv;
		b->cap = nc;
	}
	b->v[b->n++] = *e;
	return SG_OK;
}

/* Drops every entry older than its category's covered_since, or every entry of only. */
static void sweep(struct store__join *j, const struct category *only)
{
	size_t empty = 0;

	for (size_t i = 0; i < j->cap; i++) {
		struct bucket *b = &j->b[i];
		const struct category *c;
		uint32_t m = 0;
		if (!b->key)
			continue;
		c = &j->cats[(b->key >> 56) & 0x7f];
		if (only && c != only) {
			empty += b->n == 0;
			continue;
		}
		for (uint32_t k = 0; k < b->n; k++) {
			if (!only && b->v[k].created_at >= c->covered_since)
				b->v[m++] = b->v[k];
		}
		b->n = m;
		empty += m == 0;
	}
	if (empty * 2 > j->used) {
		size_t cap = j->cap;
		while (cap > 1024 && (j->used - empty) * 8 < cap)
			cap /= 2;
		table_rebuild(j, cap); /* on failure the old table stays, empty buckets and all */
	}
}

/* Loads a category's cases created since from the store (the covering index cases_join). */
static int category_load(sqlite3 *db, struct store__join *j, struct category *c, int64_t since)
{
	sqlite3_stmt *st = NULL;
	int rc, step;

	if (j->used)
		sweep(j, c); /* empties the category's buckets: no duplicates after the load */
	c->loaded = 0;
	if ((rc = store__stmt(db, "SELECT id,created_at,lon,lat FROM cases WHERE category=? AND "
				  "created_at>=?",
			      &st)))
		return rc;
	sqlite3_bind_text(st, 1, c->id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, since);
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		struct entry e = { sqlite3_column_int64(st, 0), sqlite3_column_int64(st, 1),
				   sqlite3_column_double(st, 2), sqlite3_column_double(st, 3) };
		if (!finite_deg(e.lon) || !finite_deg(e.lat)) {
			rc = SG_EINTERNAL; /* the caller then scans in SQL */
			break;
		}
		if ((rc = entry_add(j, (size_t)(c - j->cats), &e)))
			break;
	}
	if (!rc && step != SQLITE_DONE)
		rc = store__rc(step) ? store__rc(step) : SG_EIO;
	store__stmt_done(st);
	if (rc)
		return rc;
	c->loaded = 1;
	c->covered_since = since;
	return SG_OK;
}

void store__join_note(sqlite3 *db, int64_t id, const char *category, int64_t created_at,
		      double lon, double lat)
{
	struct store__join *j = join_get(db);
	struct category *c;
	struct entry e = { id, created_at, lon, lat };

	if (!j || !(c = category_find(j, category, 0)) || !c->loaded ||
	    created_at < c->covered_since)
		return; /* not held: a load from the store will find it */
	if (!finite_deg(lon) || !finite_deg(lat)) {
		c->loaded = 0; /* cannot be placed in a cell: the next query reloads */
		return;
	}
	if (entry_add(j, (size_t)(c - j->cats), &e)) {
		c->loaded = 0; /* out of memory: the next query reloads */
		return;
	}
	if (++j->notes >= SWEEP_EVERY) {
		j->notes = 0;
		for (size_t i = 0; i < j->ncats; i++) {
			struct category *k = &j->cats[i];
			if (k->loaded && k->last_since - KEEP_MARGIN_S > k->covered_since)
				k->covered_since = k->last_since - KEEP_MARGIN_S;
		}
		sweep(j, NULL);
	}
}

static int hit_add(struct store__join *j, const struct entry *e)
{
	if (j->nhits == j->hits_cap) {
		size_t nc = j->hits_cap ? j->hits_cap * 2 : 64;
		struct store__join_hit *nv = realloc(j->hits, nc * sizeof *nv);
		if (!nv)
			return SG_ENOMEM;
		j->hits = nv;
		j->hits_cap = nc;
	}
	j->hits[j->nhits].id = e->id;
	j->hits[j->nhits].created_at = e->created_at;
	j->hits[j->nhits].lon = e->lon;
	j->hits[j->nhits].lat = e->lat;
	j->nhits++;
	return SG_OK;
}

static int bucket_hits(struct store__join *j, const struct bucket *b, int64_t since, double lon0,
		       double lon1, double lat0, double lat1)
{
	for (uint32_t k = 0; k < b->n; k++) {
		const struct entry *e = &b->v[k];
		int rc;
		if (e->created_at >= since && e->lon >= lon0 && e->lon <= lon1 && e->lat >= lat0 &&
		    e->lat <= lat1 && (rc = hit_add(j, e)))
			return rc;
	}
	return SG_OK;
}

int store__join_find(sqlite3 *db, const char *category, int64_t since, double lon0, double lon1,
		     double lat0, double lat1, const struct store__join_hit **hits, size_t *n)
{
	struct store__join *j = join_get(db);
	struct category *c;
	int64_t cx0, cx1, cy0, cy1;
	size_t cat;
	int rc;

	if (!j)
		return SG_EINTERNAL;
	if (!(c = category_find(j, category, 1)))
		return SG_ETOOBIG;
	if ((!c->loaded || since < c->covered_since) &&
	    (rc = category_load(db, j, c, since - LOAD_MARGIN_S)))
		return rc;
	if (since > c->last_since)
		c->last_since = since;
	cat = (size_t)(c - j->cats);
	j->nhits = 0;
	*hits = j->hits;
	*n = 0;
	if (!finite_deg(lon0) || !finite_deg(lon1) || !finite_deg(lat0) || !finite_deg(lat1))
		return SG_EINTERNAL; /* the caller scans in SQL */
	cx0 = cell_of(lon0);
	cx1 = cell_of(lon1);
	cy0 = cell_of(lat0);
	cy1 = cell_of(lat1);
	if (cx1 < cx0 || cy1 < cy0) {
		/* An empty box: nothing lies in it. */
	} else if ((cx1 - cx0 + 1) * (cy1 - cy0 + 1) > MAX_BOX_CELLS) {
		for (size_t i = 0; i < j->cap; i++) {
			if (j->b[i].key && ((j->b[i].key >> 56) & 0x7f) == cat &&
			    (rc = bucket_hits(j, &j->b[i], since, lon0, lon1, lat0, lat1)))
				return rc;
		}
	} else {
		for (int64_t x = cx0; x <= cx1; x++) {
			for (int64_t y = cy0; y <= cy1; y++) {
				const struct bucket *b = bucket_find(j, key_of(cat, x, y));
				if (b && (rc = bucket_hits(j, b, since, lon0, lon1, lat0, lat1)))
					return rc;
			}
		}
	}
	*hits = j->hits;
	*n = j->nhits;
	return SG_OK;
}

void store__join_invalidate(sqlite3 *db)
{
	struct store__core *c = store__core_of(db);

	if (c) {
		store__join_free(*store__core_join(c));
		*store__core_join(c) = NULL;
	}
}

void store__join_free(struct store__join *j)
{
	if (!j)
		return;
	for (size_t i = 0; i < j->cap; i++)
		free(j->b[i].v);
	free(j->b);
	free(j->hits);
	free(j);
}
