/*
 * history.c — bulk loading of closed historical cases (the demo's years of
 * history): one store command that inserts the cases with one prepared
 * statement and keeps the statistics counters in step by aggregating them in
 * memory and merging the aggregates, instead of an upsert per case and level.
 *
 * Not for live traffic: the command holds the core thread for the whole load.
 */
#include "store/store_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/err.h"
#include "base/log.h"

/* The levels a case is counted at, as store/stats.c counts them. */
static const enum area_kind counted_levels[] = { AREA_GOV_GRID, AREA_STATION, AREA_DISTRICT,
						 AREA_CITY };
#define NLEVELS (sizeof counted_levels / sizeof counted_levels[0])

#define CHUNK 4096
/* Aggregates held before merging into the tables; input ordered by day rarely fills it. */
#define AGG_CAP ((size_t)1 << 21)

/*
 * Packed keys: area id (24 bits) | day (20 bits) | category rank (8) |
 * source rank (3) | police (1). Ranks follow strcmp order so that sorted keys
 * reach the WITHOUT ROWID tables in primary-key order.
 */
#define AREA_BITS 24
#define DAY_BITS 20

struct agg_slot {
	uint64_t key; /* 0: empty (area ids are > 0) */
	int64_t n, seconds;
};

struct agg {
	struct agg_slot *v;
	size_t cap, used;
};

struct load_ctx {
	struct store_history_load *load;
	uint8_t cat_rank[256], src_rank[256];
	uint8_t cat_of_rank[256], src_of_rank[256];
	struct agg cases, resolved;             /* by day */
	struct agg cases_month, resolved_month; /* the roll-ups: the month in the day's bits */
	sqlite3_stmt *ins_case, *ins_stats, *ins_resolved, *ins_stats_month, *ins_resolved_month;
	size_t stats_rows;
};

static uint64_t mix(uint64_t k)
{
	k ^= k >> 33;
	k *= 0xff51afd7ed558ccdULL;
	k ^= k >> 33;
	return k;
}

static int agg_init(struct agg *a)
{
	a->cap = (size_t)1 << 16;
	a->used = 0;
	a->v = calloc(a->cap, sizeof *a->v);
	return a->v ? SG_OK : SG_ENOMEM;
}

/* Doubles the table (kept at most half full, up to twice AGG_CAP slots). */
static int agg_grow(struct agg *a)
{
	size_t cap = a->cap * 2;
	struct agg_slot *v = calloc(cap, sizeof *v);

	if (!v)
		return SG_ENOMEM;
	for (size_t i = 0; i < a->cap; i++) {
		size_t j;
		if (!a->v[i].key)
			continue;
		j = (size_t)mix(a->v[i].key) & (cap - 1);
		while (v[j].key)
			j = (j + 1) & (cap - 1);
		v[j] = a->v[i];
	}
	free(a->v);
	a->v = v;
	a->cap = cap;
	return SG_OK;
}

static struct agg_slot *agg_slot(struct agg *a, uint64_t key)
{
	size_t i = (size_t)mix(key) & (a->cap - 1);

	while (a->v[i].key && a->v[i].key != key)
		i = (i + 1) & (a->cap - 1);
	if (!a->v[i].key) {
		a->v[i].key = key;
		a->used++;
	}
	return &a->v[i];
}

static int cmp_slot(const void *x, const void *y)
{
	uint64_t a = ((const struct agg_slot *)x)->key, b = ((const struct agg_slot *)y)->key;
	return a < b ? -1 : a > b;
}

static int64_t key_area(uint64_t k)
{
	return (int64_t)(k >> (64 - AREA_BITS));
}

static int64_t key_day(uint64_t k)
{
	return (int64_t)((k >> (64 - AREA_BITS - DAY_BITS)) & ((1u << DAY_BITS) - 1));
}

/* The same key with the local month (store__stats_month) in place of the day. */
static uint64_t month_key(uint64_t day_key)
{
	const uint64_t day_mask = ((uint64_t)1 << DAY_BITS) - 1;
	uint64_t month = (uint64_t)store__stats_month(key_day(day_key)) & day_mask;
	return (day_key & ~(day_mask << (64 - AREA_BITS - DAY_BITS))) |
	       month << (64 - AREA_BITS - DAY_BITS);
}

/*
 * Merges the aggregates into their tables (adding to rows already there, so
 * a flush in the middle of the load or counters from live cases stay right)
 * and empties the table.
 */
static int agg_flush(struct load_ctx *lc, struct agg *a, bool resolved)
{
	const struct store_history_tables *t = lc->load->tables;
	bool month = a == &lc->cases_month || a == &lc->resolved_month;
	sqlite3_stmt *st = resolved ? (month ? lc->ins_resolved_month : lc->ins_resolved)
				    : (month ? lc->ins_stats_month : lc->ins_stats);
	size_t m = 0;
	int rc = SG_OK;

	for (size_t i = 0; i < a->cap; i++) {
		if (a->v[i].key)
			a->v[m++] = a->v[i];
	}
	qsort(a->v, m, sizeof *a->v, cmp_slot);
	for (size_t i = 0; !rc && i < m; i++) {
		uint64_t k = a->v[i].key;
		unsigned cat = lc->cat_of_rank[(k >> 4) & 0xff];
		sqlite3_reset(st);
		sqlite3_bind_int64(st, 1, key_area(k));
		sqlite3_bind_int64(st, 2, key_day(k));
		sqlite3_bind_text(st, 3, t->categories[cat], -1, SQLITE_STATIC);
		if (resolved) {
			sqlite3_bind_int64(st, 4, a->v[i].n);
			sqlite3_bind_int64(st, 5, a->v[i].seconds);
		} else {
			sqlite3_bind_text(st, 4, t->sources[lc->src_of_rank[(k >> 1) & 7]], -1,
					  SQLITE_STATIC);
			sqlite3_bind_int(st, 5, (int)(k & 1));
			sqlite3_bind_int64(st, 6, a->v[i].n);
		}
		rc = store__rc(sqlite3_step(st));
	}
	lc->stats_rows += m;
	memset(a->v, 0, a->cap * sizeof *a->v);
	a->used = 0;
	return rc;
}

/* Keeps a table under half full: grows it, or past AGG_CAP entries merges it into the store. */
static int agg_check(struct load_ctx *lc, struct agg *a, bool resolved)
{
	if (a->used < a->cap / 2)
		return SG_OK;
	if (a->used < AGG_CAP)
		return agg_grow(a);
	return agg_flush(lc, a, resolved);
}

/* Ranks of the table's strings in strcmp order (tables are tiny: insertion counting). */
static void rank_table(const char *const *v, size_t n, uint8_t *rank, uint8_t *of_rank)
{
	for (size_t i = 0; i < n; i++) {
		size_t r = 0;
		for (size_t j = 0; j < n; j++)
			r += strcmp(v[j], v[i]) < 0 || (strcmp(v[j], v[i]) == 0 && j < i);
		rank[i] = (uint8_t)r;
		of_rank[r] = (uint8_t)i;
	}
}

static int check_case(const struct store_history_tables *t, const struct store_history_case *c)
{
	if (c->category >= t->ncategories || c->type >= t->ntypes ||
	    c->department >= t->ndepartments || c->status >= t->nstatuses ||
	    c->source >= t->nsources || c->police > 1)
		return SG_EINVAL;
	for (size_t k = 0; k < NLEVELS; k++) {
		int64_t area = c->area_ids[counted_levels[k]];
		if (area < 0 || area >= ((int64_t)1 << AREA_BITS))
			return SG_EINVAL;
	}
	if (store_stats_day(c->created_at) < 0 ||
	    store_stats_day(c->created_at) >= (1 << DAY_BITS) ||
	    (c->resolved_at && (store_stats_day(c->resolved_at) < 0 ||
				store_stats_day(c->resolved_at) >= (1 << DAY_BITS))))
		return SG_EINVAL;
	return SG_OK;
}

static int insert_case(struct load_ctx *lc, const struct store_history_case *c)
{
	const struct store_history_tables *t = lc->load->tables;
	sqlite3_stmt *st = lc->ins_case;
	int rc;

	sqlite3_reset(st);
	sqlite3_bind_text(st, 1, t->types[c->type], -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, t->categories[c->category], -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 3, c->police);
	sqlite3_bind_text(st, 4, t->departments[c->department], -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, t->statuses[c->status], -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 6, c->priority);
	sqlite3_bind_double(st, 7, c->lon);
	sqlite3_bind_double(st, 8, c->lat);
	for (int k = 0; k < AREA_KIND_COUNT; k++) {
		if (c->area_ids[k])
			sqlite3_bind_int64(st, 9 + k, c->area_ids[k]);
		else
			sqlite3_bind_null(st, 9 + k);
	}
	sqlite3_bind_text(st, 16, t->sources[c->source], -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 17, c->created_at);
	sqlite3_bind_int64(st, 18, c->updated_at);
	sqlite3_bind_int64(st, 19, c->deadline_at);
	sqlite3_bind_int64(st, 20, c->version);
	if ((rc = store__rc(sqlite3_step(st))))
		return rc;

	for (size_t k = 0; k < NLEVELS; k++) {
		uint64_t area = (uint64_t)c->area_ids[counted_levels[k]];
		uint64_t base;
		struct agg_slot *slot;
		if (!area)
			continue;
		base = area << (64 - AREA_BITS) |
		       (uint64_t)store_stats_day(c->created_at) << (64 - AREA_BITS - DAY_BITS) |
		       (uint64_t)lc->cat_rank[c->category] << 4;
		slot = agg_slot(&lc->cases, base | (uint64_t)lc->src_rank[c->source] << 1 | c->police);
		slot->n++;
		/* Grids have no monthly roll-up (store/stats.c). */
		if (counted_levels[k] != AREA_GOV_GRID) {
			slot = agg_slot(&lc->cases_month, month_key(base) |
							      (uint64_t)lc->src_rank[c->source] << 1 |
							      c->police);
			slot->n++;
		}
		if (!c->resolved_at)
			continue;
		base = area << (64 - AREA_BITS) |
		       (uint64_t)store_stats_day(c->resolved_at) << (64 - AREA_BITS - DAY_BITS) |
		       (uint64_t)lc->cat_rank[c->category] << 4;
		slot = agg_slot(&lc->resolved, base);
		slot->n++;
		slot->seconds += c->resolved_at > c->created_at ? c->resolved_at - c->created_at : 0;
		if (counted_levels[k] != AREA_GOV_GRID) {
			slot = agg_slot(&lc->resolved_month, month_key(base));
			slot->n++;
			slot->seconds +=
				c->resolved_at > c->created_at ? c->resolved_at - c->created_at : 0;
		}
	}
	if ((rc = agg_check(lc, &lc->cases, false)) || (rc = agg_check(lc, &lc->resolved, true)) ||
	    (rc = agg_check(lc, &lc->cases_month, false)))
		return rc;
	return agg_check(lc, &lc->resolved_month, true);
}

/* The CREATE statements of the cases' secondary indexes, NUL-separated, caller frees. */
static int drop_indexes(sqlite3 *db, char **sqls, size_t *len)
{
	sqlite3_stmt *st = NULL;
	char *buf = NULL, drop[160];
	size_t n = 0;
	int rc = store__prepare(db, "SELECT name, sql FROM sqlite_master WHERE type='index' AND "
				    "tbl_name='cases' AND sql IS NOT NULL",
				&st);

	while (!rc && sqlite3_step(st) == SQLITE_ROW) {
		const char *sql = (const char *)sqlite3_column_text(st, 1);
		size_t l = strlen(sql) + 1;
		char *nb = realloc(buf, n + l);
		if (!nb) {
			rc = SG_ENOMEM;
			break;
		}
		buf = nb;
		memcpy(buf + n, sql, l);
		n += l;
	}
	sqlite3_finalize(st);
	/* Dropped after the scan: sqlite_master must not change under a running SELECT. */
	for (size_t off = 0; !rc && off < n; off += strlen(buf + off) + 1) {
		const char *name = strstr(buf + off, "INDEX ");
		int nl = 0;
		if (!name)
			continue;
		name += 6;
		while (name[nl] && name[nl] != ' ' && name[nl] != '(')
			nl++;
		snprintf(drop, sizeof drop, "DROP INDEX %.*s", nl, name);
		rc = store__rc(sqlite3_exec(db, drop, NULL, NULL, NULL));
	}
	if (rc) {
		free(buf);
		return rc;
	}
	*sqls = buf;
	*len = n;
	return SG_OK;
}

static int create_indexes(sqlite3 *db, const char *sqls, size_t len)
{
	int rc = SG_OK;

	for (size_t off = 0; !rc && off < len; off += strlen(sqls + off) + 1)
		rc = store__rc(sqlite3_exec(db, sqls + off, NULL, NULL, NULL));
	return rc;
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int load_cmd(sqlite3 *db, void *arg)
{
	struct load_ctx *lc = arg;
	struct store_history_load *load = lc->load;
	struct store_history_case *chunk = malloc(CHUNK * sizeof *chunk);
	sqlite3_stmt *st = NULL;
	char *index_sql = NULL, pragma[64];
	int64_t cache = -2000; /* SQLite's default, should the query fail */
	size_t index_len = 0, n;
	double t0 = now_s(), t1 = 0, t2 = 0;
	int rc;

	if (!chunk)
		return SG_ENOMEM;
	/* A larger page cache for the load keeps the growing tables in memory; restored after. */
	if (sqlite3_prepare_v2(db, "PRAGMA cache_size", -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		cache = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_exec(db, "PRAGMA cache_size=-524288", NULL, NULL, NULL);
	if (load->rebuild_indexes && (rc = drop_indexes(db, &index_sql, &index_len)))
		goto out;
	if ((rc = store__prepare(db, "INSERT INTO cases(type,category,police,department,status,"
				     "priority,lon,lat,city_id,district_id,station_id,police_grid_id,"
				     "street_id,community_id,gov_grid_id,source,created_at,updated_at,"
				     "deadline_at,version,reports,escalation_level) "
				     "VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,1,0)",
				 &lc->ins_case)) ||
	    (rc = store__prepare(db, "INSERT INTO stats_cases VALUES(?,?,?,?,?,?) "
				     "ON CONFLICT DO UPDATE SET n = n + excluded.n",
				 &lc->ins_stats)) ||
	    (rc = store__prepare(db, "INSERT INTO stats_resolved VALUES(?,?,?,?,?) "
				     "ON CONFLICT DO UPDATE SET n = n + excluded.n, "
				     "seconds = seconds + excluded.seconds",
				 &lc->ins_resolved)) ||
	    (rc = store__prepare(db, "INSERT INTO stats_cases_month VALUES(?,?,?,?,?,?) "
				     "ON CONFLICT DO UPDATE SET n = n + excluded.n",
				 &lc->ins_stats_month)) ||
	    (rc = store__prepare(db, "INSERT INTO stats_resolved_month VALUES(?,?,?,?,?) "
				     "ON CONFLICT DO UPDATE SET n = n + excluded.n, "
				     "seconds = seconds + excluded.seconds",
				 &lc->ins_resolved_month)))
		goto out;
	/* Cases written here bypass the join index: it reloads from the store when next asked. */
	store__join_invalidate(db);
	for (;;) {
		n = 0;
		if ((rc = load->next(load->ctx, chunk, CHUNK, &n)))
			goto out;
		if (n == 0)
			break;
		for (size_t i = 0; i < n && i < CHUNK; i++) {
			if ((rc = check_case(load->tables, &chunk[i])) ||
			    (rc = insert_case(lc, &chunk[i])))
				goto out;
			load->cases++;
		}
	}
	t1 = now_s();
	if ((rc = agg_flush(lc, &lc->cases, false)) || (rc = agg_flush(lc, &lc->resolved, true)) ||
	    (rc = agg_flush(lc, &lc->cases_month, false)) ||
	    (rc = agg_flush(lc, &lc->resolved_month, true)))
		goto out;
	t2 = now_s();
	if (index_sql)
		rc = create_indexes(db, index_sql, index_len);
	SG_LOG(SG_LOG_INFO, "msg=\"history load phases\" cases_s=%.1f stats_s=%.1f indexes_s=%.1f",
	       t1 - t0, t2 - t1, now_s() - t2);
out:
	sqlite3_finalize(lc->ins_case);
	sqlite3_finalize(lc->ins_stats);
	sqlite3_finalize(lc->ins_resolved);
	sqlite3_finalize(lc->ins_stats_month);
	sqlite3_finalize(lc->ins_resolved_month);
	snprintf(pragma, sizeof pragma, "PRAGMA cache_size=%lld", (long long)cache);
	sqlite3_exec(db, pragma, NULL, NULL, NULL);
	free(index_sql);
	free(chunk);
	return rc;
}

int store_history_load(struct store *s, struct store_history_load *load)
{
	const struct store_history_tables *t = load->tables;
	struct load_ctx *lc;
	double t0;
	int rc;

	if (!t || !load->next || !t->ncategories || t->ncategories > 256 || !t->ntypes ||
	    t->ntypes > 256 || !t->ndepartments || t->ndepartments > 256 || !t->nstatuses ||
	    t->nstatuses > 256 || !t->nsources || t->nsources > 8)
		return SG_EINVAL;
	lc = calloc(1, sizeof *lc);
	if (!lc)
		return SG_ENOMEM;
	lc->load = load;
	load->cases = 0;
	load->stats_rows = 0;
	rank_table(t->categories, t->ncategories, lc->cat_rank, lc->cat_of_rank);
	rank_table(t->sources, t->nsources, lc->src_rank, lc->src_of_rank);
	if ((rc = agg_init(&lc->cases)) || (rc = agg_init(&lc->resolved)) ||
	    (rc = agg_init(&lc->cases_month)) || (rc = agg_init(&lc->resolved_month)))
		goto out;
	t0 = now_s();
	rc = store__submit(s, load_cmd, lc);
	if (!rc)
		load->stats_rows = lc->stats_rows;
	else
		load->cases = 0;
	SG_LOG(SG_LOG_INFO, "msg=\"history loaded\" cases=%zu stats_rows=%zu rc=%d seconds=%.1f",
	       load->cases, load->stats_rows, rc, now_s() - t0);
out:
	free(lc->cases.v);
	free(lc->resolved.v);
	free(lc->cases_month.v);
	free(lc->resolved_month.v);
	free(lc);
	return rc;
}
