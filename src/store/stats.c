/*
 * stats.c — the statistics counters: moved inside the transaction of the
 * change that causes them (so they never disagree with the cases), read by
 * day range with GROUP BY over a small, pre-aggregated table.
 */
#include "store/store_internal.h"

#include <stdio.h>
#include <string.h>

#include "base/err.h"

/* The levels a case is counted at: its grid, station, district and city. */
static const enum area_kind counted_levels[] = { AREA_GOV_GRID, AREA_STATION, AREA_DISTRICT,
						 AREA_CITY };

int64_t store_stats_day(int64_t unix_s)
{
	/* Local days in China Standard Time (UTC+8, no daylight saving). */
	int64_t t = unix_s + 8 * 3600;
	return t >= 0 ? t / 86400 : -((-t + 86399) / 86400);
}

int store__stats_case_count(sqlite3 *db, const struct case_row *c, int police, int delta)
{
	sqlite3_stmt *st = NULL;
	int rc = store__prepare(db, "INSERT INTO stats_cases VALUES(?,?,?,?,?,?) "
				    "ON CONFLICT DO UPDATE SET n = n + excluded.n",
				&st);

	for (size_t k = 0; !rc && k < sizeof counted_levels / sizeof counted_levels[0]; k++) {
		int64_t area = c->area_ids[counted_levels[k]];
		if (!area)
			continue;
		sqlite3_reset(st);
		sqlite3_bind_int64(st, 1, area);
		sqlite3_bind_int64(st, 2, store_stats_day(c->created_at));
		sqlite3_bind_text(st, 3, c->category, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 4, c->source, -1, SQLITE_STATIC);
		sqlite3_bind_int(st, 5, police);
		sqlite3_bind_int(st, 6, delta);
		rc = store__rc(sqlite3_step(st));
	}
	sqlite3_finalize(st);
	return rc;
}

int store__stats_case_resolved(sqlite3 *db, const struct case_row *c, int64_t at)
{
	sqlite3_stmt *st = NULL;
	int rc = store__prepare(db, "INSERT INTO stats_resolved VALUES(?,?,?,1,?) "
				    "ON CONFLICT DO UPDATE SET n = n + 1, seconds = seconds + excluded.seconds",
				&st);

	for (size_t k = 0; !rc && k < sizeof counted_levels / sizeof counted_levels[0]; k++) {
		int64_t area = c->area_ids[counted_levels[k]];
		if (!area)
			continue;
		sqlite3_reset(st);
		sqlite3_bind_int64(st, 1, area);
		sqlite3_bind_int64(st, 2, store_stats_day(at));
		sqlite3_bind_text(st, 3, c->category, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 4, at > c->created_at ? at - c->created_at : 0);
		rc = store__rc(sqlite3_step(st));
	}
	sqlite3_finalize(st);
	return rc;
}

int store_stats_cases(struct store *s, int64_t area_id, int64_t from_day, int64_t to_day,
		      enum store_stats_group group, store_stats_fn fn, void *ctx)
{
	static const char *const cols[] = { "category", "source", "police", "''" };
	char sql[256];
	sqlite3 *db;
	sqlite3_stmt *st = NULL;
	int rc;

	if ((unsigned)group > STORE_STATS_TOTAL)
		return SG_EINVAL;
	snprintf(sql, sizeof sql,
		 "SELECT %s, sum(n) FROM stats_cases WHERE area_id=? AND day BETWEEN ? AND ? "
		 "GROUP BY 1",
		 cols[group]);
	db = store__read_begin(s);
	rc = store__prepare(db, sql, &st);
	if (!rc) {
		sqlite3_bind_int64(st, 1, area_id);
		sqlite3_bind_int64(st, 2, from_day);
		sqlite3_bind_int64(st, 3, to_day);
		while (sqlite3_step(st) == SQLITE_ROW) {
			const unsigned char *key = sqlite3_column_text(st, 0);
			fn(ctx, key ? (const char *)key : "", sqlite3_column_int64(st, 1));
		}
	}
	sqlite3_finalize(st);
	store__read_end(s, db);
	return rc;
}

int store_stats_resolution(struct store *s, int64_t area_id, int64_t from_day, int64_t to_day,
			   int64_t *n, int64_t *seconds)
{
	sqlite3 *db = store__read_begin(s);
	sqlite3_stmt *st = NULL;
	int rc = store__prepare(db, "SELECT coalesce(sum(n),0), coalesce(sum(seconds),0) FROM "
				    "stats_resolved WHERE area_id=? AND day BETWEEN ? AND ?",
				&st);

	if (!rc) {
		sqlite3_bind_int64(st, 1, area_id);
		sqlite3_bind_int64(st, 2, from_day);
		sqlite3_bind_int64(st, 3, to_day);
		if (sqlite3_step(st) == SQLITE_ROW) {
			*n = sqlite3_column_int64(st, 0);
			*seconds = sqlite3_column_int64(st, 1);
		} else {
			rc = SG_EIO;
		}
	}
	sqlite3_finalize(st);
	store__read_end(s, db);
	return rc;
}
