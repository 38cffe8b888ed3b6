/*
 * counters.c — moving the statistics counters inside a running command:
 * cases opened per local day × area (the case's grid, station, district and
 * city) × category × source × police flag, resolutions with their time, and
 * the monthly roll-up of both (store/stats.c reads them).
 *
 * On the core thread a case's counters go to the batch's aggregate and reach
 * the tables once per commit, in key order (a batch of reports in one
 * district touches its district and city counters once, not once per
 * report); a command that rolls back takes its deltas out again.
 */
#include "store/store_internal.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"

/* The levels a case is counted at: its grid, station, district and city. */
static const enum area_kind counted_levels[] = { AREA_GOV_GRID, AREA_STATION, AREA_DISTRICT,
						 AREA_CITY };

/*
 * Governance grids have no monthly roll-up: a grid sees a case every few
 * days, so its daily rows over a year are already few, and grids are most
 * of the counters (the roll-up would add a row per grid and month and an
 * upsert per grid to every commit).
 */
bool store__stats_rolled_up(enum area_kind level)
{
	return level != AREA_GOV_GRID;
}

/*
 * Adds n to one counter and, unless it is a grid's, to its month in the
 * roll-up that the statistics read for whole months (stats_cases_month),
 * both in the running transaction.
 */
static int count_upsert(sqlite3 *db, int64_t area, int64_t day, const char *category,
			const char *source, int police, int64_t n, bool roll_up)
{
	static const char day_sql[] = "INSERT INTO stats_cases VALUES(?,?,?,?,?,?) "
				      "ON CONFLICT DO UPDATE SET n = n + excluded.n";
	static const char month_sql[] = "INSERT INTO stats_cases_month VALUES(?,?,?,?,?,?) "
					"ON CONFLICT DO UPDATE SET n = n + excluded.n";
	const char *sqls[2] = { day_sql, month_sql };
	int rc = SG_OK;

	for (int t = 0; !rc && t < (roll_up ? 2 : 1); t++) {
		sqlite3_stmt *st = NULL;
		if ((rc = store__stmt(db, sqls[t], &st)))
			break;
		sqlite3_bind_int64(st, 1, area);
		sqlite3_bind_int64(st, 2, t ? store__stats_month(day) : day);
		sqlite3_bind_text(st, 3, category, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 4, source, -1, SQLITE_STATIC);
		sqlite3_bind_int(st, 5, police);
		sqlite3_bind_int64(st, 6, n);
		rc = store__rc(sqlite3_step(st));
		store__stmt_done(st);
	}
	return rc;
}

/*
 * The batch's pending counter deltas: one entry per distinct counter (dense,
 * in first-touch order), an open-addressing index over them, and a log of
 * every delta so that a command that rolls back takes its own out again.
 */
struct pending_entry {
	int64_t area, day, n;
	int police;
	bool roll_up;
	char category[CASE_ID_MAX];
	char source[16];
};

struct pending_delta {
	uint32_t entry;
	int32_t delta;
};

struct store__stats_pending {
	struct pending_entry *e;
	size_t ne, cap_e;
	uint32_t *idx; /* entry + 1; 0 empty */
	size_t cap_idx;
	struct pending_delta *log;
	size_t nlog, cap_log;
};

static uint64_t pending_hash(int64_t area, int64_t day, const char *category, const char *source,
			     int police)
{
	uint64_t h = 1469598103934665603ULL ^ (uint64_t)area * 0x9e3779b97f4a7c15ULL;
	h ^= (uint64_t)day * 0xc2b2ae3d27d4eb4fULL + (uint64_t)police;
	for (const char *p = category; *p; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211ULL;
	for (const char *p = source; *p; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211ULL;
	return h ^ (h >> 29);
}

static struct store__stats_pending *pending_get(sqlite3 *db)
{
	struct store__core *c = store__core_of(db);
	struct store__stats_pending **pp;

	if (!c)
		return NULL;
	pp = store__core_pending(c);
	if (!*pp)
		*pp = calloc(1, sizeof **pp);
	return *pp;
}

static int pending_reindex(struct store__stats_pending *p, size_t cap)
{
	uint32_t *idx = calloc(cap, sizeof *idx);

	if (!idx)
		return SG_ENOMEM;
	for (size_t i = 0; i < p->ne; i++) {
		const struct pending_entry *e = &p->e[i];
		size_t k = (size_t)pending_hash(e->area, e->day, e->category, e->source, e->police) &
			   (cap - 1);
		while (idx[k])
			k = (k + 1) & (cap - 1);
		idx[k] = (uint32_t)i + 1;
	}
	free(p->idx);
	p->idx = idx;
	p->cap_idx = cap;
	return SG_OK;
}

static int pending_add(struct store__stats_pending *p, int64_t area, int64_t day,
		       const char *category, const char *source, int police, int delta,
		       bool roll_up)
{
	size_t k;
	uint32_t ent = 0;

	if (strlen(category) >= CASE_ID_MAX || strlen(source) >= sizeof p->e[0].source)
		return SG_EINVAL;
	if ((p->ne + 1) * 2 > p->cap_idx && pending_reindex(p, p->cap_idx ? p->cap_idx * 2 : 256))
		return SG_ENOMEM;
	k = (size_t)pending_hash(area, day, category, source, police) & (p->cap_idx - 1);
	for (; p->idx[k]; k = (k + 1) & (p->cap_idx - 1)) {
		const struct pending_entry *e = &p->e[p->idx[k] - 1];
		if (e->area == area && e->day == day && e->police == police &&
		    strcmp(e->category, category) == 0 && strcmp(e->source, source) == 0) {
			ent = p->idx[k];
			break;
		}
	}
	if (p->nlog == p->cap_log) {
		size_t nc = p->cap_log ? p->cap_log * 2 : 256;
		struct pending_delta *nl = realloc(p->log, nc * sizeof *nl);
		if (!nl)
			return SG_ENOMEM;
		p->log = nl;
		p->cap_log = nc;
	}
	if (!ent) {
		struct pending_entry *e;
		if (p->ne == p->cap_e) {
			size_t nc = p->cap_e ? p->cap_e * 2 : 128;
			struct pending_entry *ne = realloc(p->e, nc * sizeof *ne);
			if (!ne)
				return SG_ENOMEM;
			p->e = ne;
			p->cap_e = nc;
		}
		e = &p->e[p->ne++];
		e->area = area;
		e->day = day;
		e->police = police;
		e->roll_up = roll_up;
		e->n = 0;
		strcpy(e->category, category);
		strcpy(e->source, source);
		ent = (uint32_t)p->ne;
		p->idx[k] = ent;
	}
	p->e[ent - 1].n += delta;
	p->log[p->nlog].entry = ent - 1;
	p->log[p->nlog].delta = delta;
	p->nlog++;
	return SG_OK;
}

size_t store__stats_pending_mark(sqlite3 *db)
{
	struct store__core *c = store__core_of(db);
	struct store__stats_pending *p = c ? *store__core_pending(c) : NULL;
	return p ? p->nlog : 0;
}

void store__stats_pending_undo(sqlite3 *db, size_t mark)
{
	struct store__core *c = store__core_of(db);
	struct store__stats_pending *p = c ? *store__core_pending(c) : NULL;

	if (!p)
		return;
	while (p->nlog > mark) {
		p->nlog--;
		p->e[p->log[p->nlog].entry].n -= p->log[p->nlog].delta;
	}
}

static int cmp_entry(const void *x, const void *y)
{
	const struct pending_entry *a = x, *b = y;
	int t;

	if (a->area != b->area)
		return a->area < b->area ? -1 : 1;
	if (a->day != b->day)
		return a->day < b->day ? -1 : 1;
	if ((t = strcmp(a->category, b->category)) != 0)
		return t;
	if ((t = strcmp(a->source, b->source)) != 0)
		return t;
	return (a->police > b->police) - (a->police < b->police);
}

int store__stats_pending_flush(sqlite3 *db)
{
	struct store__core *c = store__core_of(db);
	struct store__stats_pending *p = c ? *store__core_pending(c) : NULL;
	int rc = SG_OK;

	if (!p || !p->ne)
		return SG_OK;
	/* In primary-key order: neighbouring counters share their B-tree pages. */
	qsort(p->e, p->ne, sizeof *p->e, cmp_entry);
	/* Zero sums too: the row exists afterwards, as it would have without aggregation. */
	for (size_t i = 0; !rc && i < p->ne; i++) {
		const struct pending_entry *e = &p->e[i];
		rc = count_upsert(db, e->area, e->day, e->category, e->source, e->police, e->n,
				  e->roll_up);
	}
	p->ne = 0;
	p->nlog = 0;
	memset(p->idx, 0, p->cap_idx * sizeof *p->idx);
	return rc;
}

void store__stats_pending_free(struct store__stats_pending *p)
{
	if (!p)
		return;
	free(p->e);
	free(p->idx);
	free(p->log);
	free(p);
}

int store__stats_case_count(sqlite3 *db, const struct case_row *c, int police, int delta)
{
	struct store__stats_pending *p = pending_get(db);
	int64_t day = store_stats_day(c->created_at);
	int rc = SG_OK;

	for (size_t k = 0; !rc && k < sizeof counted_levels / sizeof counted_levels[0]; k++) {
		int64_t area = c->area_ids[counted_levels[k]];
		bool roll_up = store__stats_rolled_up(counted_levels[k]);
		if (!area)
			continue;
		/* Aggregated per batch on the core; written at once anywhere else. */
		if (!p || pending_add(p, area, day, c->category, c->source, police, delta, roll_up))
			rc = count_upsert(db, area, day, c->category, c->source, police, delta,
					  roll_up);
	}
	return rc;
}

int store__stats_case_resolved(sqlite3 *db, const struct case_row *c, int64_t at)
{
	static const char day_sql[] = "INSERT INTO stats_resolved VALUES(?,?,?,1,?) "
				      "ON CONFLICT DO UPDATE SET n = n + 1, "
				      "seconds = seconds + excluded.seconds";
	static const char month_sql[] = "INSERT INTO stats_resolved_month VALUES(?,?,?,1,?) "
					"ON CONFLICT DO UPDATE SET n = n + 1, "
					"seconds = seconds + excluded.seconds";
	const char *sqls[2] = { day_sql, month_sql };
	int64_t day = store_stats_day(at);
	int rc = SG_OK;

	for (size_t k = 0; !rc && k < sizeof counted_levels / sizeof counted_levels[0]; k++) {
		int64_t area = c->area_ids[counted_levels[k]];
		if (!area)
			continue;
		for (int t = 0; !rc && t < (store__stats_rolled_up(counted_levels[k]) ? 2 : 1); t++) {
			sqlite3_stmt *st = NULL;
			if ((rc = store__stmt(db, sqls[t], &st)))
				break;
			sqlite3_bind_int64(st, 1, area);
			sqlite3_bind_int64(st, 2, t ? store__stats_month(day) : day);
			sqlite3_bind_text(st, 3, c->category, -1, SQLITE_STATIC);
			sqlite3_bind_int64(st, 4, at > c->created_at ? at - c->created_at : 0);
			rc = store__rc(sqlite3_step(st));
			store__stmt_done(st);
		}
	}
	return rc;
}
