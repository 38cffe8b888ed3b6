/*
 * stats.c — reading the statistics counters, and the local calendar they
 * are kept in. The counters are moved inside the transaction of the change
 * that causes them (store/counters.c), so they never disagree with the cases.
 *
 * Reads: a day range is read as whole months from the roll-up plus the days
 * at either end (or a partial month's roll-up minus its days outside the
 * range, when that is fewer rows), summed per group in C: a year is about 12
 * months and a few days of rows instead of 365 days.
 */
#include "store/store_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"


int64_t store_stats_day(int64_t unix_s)
{
	/* Local days in China Standard Time (UTC+8, no daylight saving). */
	int64_t t = unix_s + 8 * 3600;
	return t >= 0 ? t / 86400 : -((-t + 86399) / 86400);
}

int64_t store__stats_month(int64_t day)
{
	/* Civil date of a day count (H. Hinnant's algorithm), proleptic Gregorian. */
	int64_t z = day + 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	int64_t doe = z - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t mp = (5 * doy + 2) / 153;
	int64_t m = mp < 10 ? mp + 3 : mp - 9;
	int64_t y = yoe + era * 400 + (m <= 2);
	return y * 12 + m - 1;
}

int64_t store__stats_month_first_day(int64_t month)
{
	int64_t y = (month >= 0 ? month : month - 11) / 12, m = month - y * 12 + 1;
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

/*
 * A day range as parts to read: whole months from the monthly roll-up, and
 * for a month the range covers only in part, either its days in the range,
 * or — when that is fewer rows — the month's roll-up minus its days outside
 * the range (a month row holds the sum of its days, kept in the same
 * statements).
 */
struct range_part {
	int months;   /* 1: a, b are months (stats_*_month), 0: days */
	int64_t a, b; /* inclusive; a > b: empty */
	int sign;     /* +1 added, -1 taken away */
};

#define PARTS_MAX 8
/* A month's roll-up rows cost about as much to read as this many days' rows. */
#define MONTH_ROW_DAYS 2

static void part_add(struct range_part *p, size_t *n, int months, int64_t a, int64_t b, int sign)
{
	if (a <= b && *n < PARTS_MAX)
		p[(*n)++] = (struct range_part){ months, a, b, sign };
}

/* The days [x, y] of month m (which they only partly cover), cheapest way. */
static void partial_month(struct range_part *p, size_t *n, int64_t m, int64_t x, int64_t y)
{
	int64_t f = store__stats_month_first_day(m), l = store__stats_month_first_day(m + 1) - 1;

	if (y - x + 1 <= MONTH_ROW_DAYS + (x - f) + (l - y)) {
		part_add(p, n, 0, x, y, 1);
		return;
	}
	part_add(p, n, 1, m, m, 1);
	part_add(p, n, 0, f, x - 1, -1);
	part_add(p, n, 0, y + 1, l, -1);
}

/* Whether an area's counters have the monthly roll-up (all but governance grids'). */
static int area_rolled_up(sqlite3 *db, int64_t area_id, bool *out)
{
	sqlite3_stmt *st = NULL;
	int rc = store__prepare(db, "SELECT kind FROM areas WHERE id=?", &st);
	enum area_kind kind;

	if (rc)
		return rc;
	sqlite3_bind_int64(st, 1, area_id);
	*out = !(sqlite3_step(st) == SQLITE_ROW &&
		 area_kind_parse((const char *)sqlite3_column_text(st, 0), &kind) == 0 &&
		 !store__stats_rolled_up(kind));
	sqlite3_finalize(st);
	return SG_OK;
}

static size_t split_range(int64_t from, int64_t to, bool roll_up, struct range_part *p)
{
	int64_t m0 = store__stats_month(from), m1 = store__stats_month(to);
	size_t n = 0;

	if (from > to)
		return 0;
	if (!roll_up) {
		part_add(p, &n, 0, from, to, 1);
		return n;
	}
	if (m0 == m1) {
		if (from == store__stats_month_first_day(m0) &&
		    to == store__stats_month_first_day(m0 + 1) - 1)
			part_add(p, &n, 1, m0, m0, 1);
		else
			partial_month(p, &n, m0, from, to);
		return n;
	}
	if (from == store__stats_month_first_day(m0))
		part_add(p, &n, 1, m0, m0, 1);
	else
		partial_month(p, &n, m0, from, store__stats_month_first_day(m0 + 1) - 1);
	part_add(p, &n, 1, m0 + 1, m1 - 1, 1);
	if (to == store__stats_month_first_day(m1 + 1) - 1)
		part_add(p, &n, 1, m1, m1, 1);
	else
		partial_month(p, &n, m1, store__stats_month_first_day(m1), to);
	return n;
}

#define GROUPS_MAX 512

/* Sums per group key, in C: a GROUP BY would sort every row read. */
struct group_sum {
	struct {
		char key[CASE_ID_MAX];
		int64_t n;
		int used;
	} slot[GROUPS_MAX];
	uint16_t order[GROUPS_MAX];
	size_t n;
};

static void group_add(struct group_sum *g, const char *key, int64_t n, int sign)
{
	uint64_t h = 1469598103934665603ULL;
	size_t k;

	for (const char *p = key; *p; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211ULL;
	for (k = (size_t)(h ^ (h >> 32)) & (GROUPS_MAX - 1); g->slot[k].used;
	     k = (k + 1) & (GROUPS_MAX - 1)) {
		if (strcmp(g->slot[k].key, key) == 0) {
			g->slot[k].n += sign * n;
			return;
		}
	}
	if (g->n + 1 >= GROUPS_MAX / 2 || strlen(key) >= CASE_ID_MAX)
		return; /* more groups than any grouping has */
	g->slot[k].used = 1;
	strcpy(g->slot[k].key, key);
	g->slot[k].n = sign * n;
	g->order[g->n++] = (uint16_t)k;
}

static int read_sums(sqlite3 *db, const char *sql, int64_t area_id, const struct range_part *p,
		     struct group_sum *g)
{
	sqlite3_stmt *st = NULL;
	int rc, step;

	if ((rc = store__prepare(db, sql, &st)))
		return rc;
	sqlite3_bind_int64(st, 1, area_id);
	sqlite3_bind_int64(st, 2, p->a);
	sqlite3_bind_int64(st, 3, p->b);
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		const unsigned char *key = sqlite3_column_text(st, 0);
		group_add(g, key ? (const char *)key : "", sqlite3_column_int64(st, 1), p->sign);
	}
	if (step != SQLITE_DONE)
		rc = store__rc(step) ? store__rc(step) : SG_EIO;
	sqlite3_finalize(st);
	return rc;
}

int store_stats_cases(struct store *s, int64_t area_id, int64_t from_day, int64_t to_day,
		      enum store_stats_group group, store_stats_fn fn, void *ctx)
{
	static const char *const cols[] = { "category", "source", "police", "''" };
	char days_sql[160], months_sql[160];
	struct range_part parts[PARTS_MAX];
	struct group_sum *g;
	size_t nparts = 0;
	bool roll_up = true;
	sqlite3 *db;
	int rc;

	if ((unsigned)group > STORE_STATS_TOTAL)
		return SG_EINVAL;
	if (!(g = calloc(1, sizeof *g)))
		return SG_ENOMEM;
	snprintf(days_sql, sizeof days_sql,
		 "SELECT %s, n FROM stats_cases WHERE area_id=? AND day BETWEEN ? AND ?",
		 cols[group]);
	snprintf(months_sql, sizeof months_sql,
		 "SELECT %s, n FROM stats_cases_month WHERE area_id=? AND month BETWEEN ? AND ?",
		 cols[group]);
	db = store__read_begin(s);
	/* One read transaction, so that every part sees the same commit. */
	rc = store__rc(sqlite3_exec(db, "BEGIN", NULL, NULL, NULL));
	if (!rc && !(rc = area_rolled_up(db, area_id, &roll_up)))
		nparts = split_range(from_day, to_day, roll_up, parts);
	for (size_t i = 0; !rc && i < nparts; i++)
		rc = read_sums(db, parts[i].months ? months_sql : days_sql, area_id, &parts[i], g);
	sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
	store__read_end(s, db);
	/*
	 * Only groups with a count: counter rows of zero exist (a case counted
	 * and then taken back), and a month's roll-up minus its days outside the
	 * range cannot tell a zero row from none, so neither is reported.
	 */
	for (size_t i = 0; !rc && i < g->n; i++) {
		size_t k = g->order[i];
		if (g->slot[k].n)
			fn(ctx, g->slot[k].key, g->slot[k].n);
	}
	free(g);
	return rc;
}

static int read_resolved(sqlite3 *db, const char *sql, int64_t area_id,
			 const struct range_part *p, int64_t *n, int64_t *seconds)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if ((rc = store__prepare(db, sql, &st)))
		return rc;
	sqlite3_bind_int64(st, 1, area_id);
	sqlite3_bind_int64(st, 2, p->a);
	sqlite3_bind_int64(st, 3, p->b);
	if (sqlite3_step(st) == SQLITE_ROW) {
		*n += p->sign * sqlite3_column_int64(st, 0);
		*seconds += p->sign * sqlite3_column_int64(st, 1);
	} else {
		rc = SG_EIO;
	}
	sqlite3_finalize(st);
	return rc;
}

int store_stats_resolution(struct store *s, int64_t area_id, int64_t from_day, int64_t to_day,
			   int64_t *n, int64_t *seconds)
{
	static const char days_sql[] = "SELECT coalesce(sum(n),0), coalesce(sum(seconds),0) FROM "
				       "stats_resolved WHERE area_id=? AND day BETWEEN ? AND ?";
	static const char months_sql[] = "SELECT coalesce(sum(n),0), coalesce(sum(seconds),0) FROM "
					 "stats_resolved_month WHERE area_id=? AND month BETWEEN ? "
					 "AND ?";
	struct range_part parts[PARTS_MAX];
	size_t nparts = 0;
	bool roll_up = true;
	sqlite3 *db;
	int rc;

	*n = *seconds = 0;
	db = store__read_begin(s);
	rc = store__rc(sqlite3_exec(db, "BEGIN", NULL, NULL, NULL));
	if (!rc && !(rc = area_rolled_up(db, area_id, &roll_up)))
		nparts = split_range(from_day, to_day, roll_up, parts);
	for (size_t i = 0; !rc && i < nparts; i++)
		rc = read_resolved(db, parts[i].months ? months_sql : days_sql, area_id, &parts[i], n,
				   seconds);
	sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
	store__read_end(s, db);
	return rc;
}
