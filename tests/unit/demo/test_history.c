/*
 * test_history.c — the demo history: the same seed gives the same cases,
 * the loaded counters agree with the cases (checked by SQL over the cases
 * table), and the shape asked of it shows: the police share, a falling
 * trend (theft faster), a weekly and a daily rhythm. Runs on a small
 * synthetic city of rectangles, so it takes well under a second.
 */
#include "demo/history.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/err.h"
#include "store/store_internal.h"
#include "test.h"

static char dir[] = P_tmpdir "/safegrid-history-XXXXXX";

/* 2025-01-01 00:00 UTC: 08:00 local, so the last day is partial. */
#define END 1735689600

static void rect(struct geo_mpoly *m, double x0, double y0, double x1, double y1)
{
	geo_mpoly_init(m);
	geo_mpoly_begin_polygon(m);
	geo_mpoly_begin_ring(m);
	geo_mpoly_add_point(m, x0, y0);
	geo_mpoly_add_point(m, x1, y0);
	geo_mpoly_add_point(m, x1, y1);
	geo_mpoly_add_point(m, x0, y1);
	geo_mpoly_add_point(m, x0, y0);
	geo_mpoly_finish(m);
}

static long push(struct area_set *set, enum area_kind kind, const char *code, long parent,
		 double x0, double y0, double x1, double y1)
{
	struct geo_mpoly m;
	rect(&m, x0, y0, x1, y1);
	CHECK_EQ_INT(area_set_push(set, kind, code, code, parent, 0, &m, NULL), 0);
	geo_mpoly_release(&m);
	return (long)set->n - 1;
}

/*
 * A city of two districts (one urban), each with one station, police grid,
 * street and community and two governance grids; ids assigned 1.. in order
 * as the store would.
 */
static void mini_city(struct area_set *set)
{
	static const char *const codes[2][3] = { { "320508", "320508001", "320508001001" },
						  { "320581", "320581001", "320581001001" } };
	long city;

	area_set_init(set);
	city = push(set, AREA_CITY, "320500", -1, 120.5, 31.2, 120.7, 31.3);
	for (int d = 0; d < 2; d++) {
		double x0 = 120.5 + 0.1 * d, x1 = x0 + 0.1;
		long dist = push(set, AREA_DISTRICT, codes[d][0], city, x0, 31.2, x1, 31.3);
		long st = push(set, AREA_STATION, "", dist, x0, 31.2, x1, 31.3);
		long street = push(set, AREA_STREET, codes[d][1], dist, x0, 31.2, x1, 31.3);
		long comm = push(set, AREA_COMMUNITY, codes[d][2], street, x0, 31.2, x1, 31.3);
		push(set, AREA_POLICE_GRID, "", st, x0, 31.2, x1, 31.3);
		push(set, AREA_GOV_GRID, "", comm, x0, 31.2, x1, 31.25);
		push(set, AREA_GOV_GRID, "", comm, x0, 31.25, x1, 31.3);
	}
	for (size_t i = 0; i < set->n; i++)
		set->v[i].id = (int64_t)i + 1;
}

/* Every case of a generator, in order; caller frees. */
static struct store_history_case *generate_all(const struct area_set *set,
					       const struct demo_history_params *p, size_t *n)
{
	struct demo_history *h = NULL;
	struct store_history_case *all = NULL;
	size_t len = 0, got;

	CHECK_EQ_INT(demo_history_new(set, NULL, p, &h), 0);
	if (!h)
		return NULL;
	for (;;) {
		struct store_history_case *nv = realloc(all, (len + 1000) * sizeof *nv);
		if (!nv)
			break;
		all = nv;
		/* An odd chunk size, so that chunking cannot hide behind day boundaries. */
		CHECK_EQ_INT(demo_history_next(h, all + len, 997, &got), 0);
		if (got == 0)
			break;
		len += got;
	}
	demo_history_free(h);
	*n = len;
	return all;
}

static void params(struct demo_history_params *p, uint64_t seed, int days, double per_day)
{
	demo_history_params_default(p, seed, END);
	p->days = days;
	p->per_day = per_day;
}

static void test_same_seed_gives_same_cases_and_another_seed_differs(void)
{
	struct area_set set;
	struct demo_history_params p;
	size_t n1 = 0, n2 = 0, n3 = 0;
	struct store_history_case *a, *b, *c;

	mini_city(&set);
	params(&p, 7, 10, 300);
	a = generate_all(&set, &p, &n1);
	b = generate_all(&set, &p, &n2);
	p.seed = 8;
	c = generate_all(&set, &p, &n3);
	CHECK(n1 > 2000 && n1 < 4000);
	CHECK_EQ_INT(n1, n2);
	CHECK(a && b && memcmp(a, b, n1 * sizeof *a) == 0);
	CHECK(n3 != n1 || memcmp(a, c, n1 * sizeof *a) != 0);
	/* Every case lies in the span, ordered by time, resolved no earlier than opened, before END. */
	for (size_t i = 0; a && i < n1; i++) {
		CHECK(a[i].created_at < END && a[i].created_at >= END - 10 * 86400 - 86400);
		CHECK(i == 0 || a[i - 1].created_at <= a[i].created_at);
		CHECK(a[i].resolved_at >= a[i].created_at && a[i].resolved_at < END);
		CHECK(a[i].area_ids[AREA_GOV_GRID] > 0 && a[i].area_ids[AREA_CITY] == 1);
		if (test_failed)
			break;
	}
	free(a);
	free(b);
	free(c);
	area_set_release(&set);
}

static int64_t query_int(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st = NULL;
	int64_t v = -1;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	else
		fprintf(stderr, "query failed: %s: %s\n", sql, sqlite3_errmsg(db));
	sqlite3_finalize(st);
	return v;
}

/* Rows of stats_cases at one level that the cases, grouped the same way, do not give; and back. */
static int64_t stats_mismatches(sqlite3 *db, const char *level_col)
{
	char sql[1024];
	snprintf(sql, sizeof sql,
		 "WITH c AS (SELECT %s AS area_id, (created_at + 28800) / 86400 AS day, category,"
		 " source, police, count(*) AS n FROM cases WHERE %s IS NOT NULL GROUP BY 1,2,3,4,5),"
		 " s AS (SELECT area_id, day, category, source, police, n FROM stats_cases"
		 " WHERE area_id IN (SELECT %s FROM cases))"
		 " SELECT (SELECT count(*) FROM (SELECT * FROM c EXCEPT SELECT * FROM s))"
		 " + (SELECT count(*) FROM (SELECT * FROM s EXCEPT SELECT * FROM c))",
		 level_col, level_col, level_col);
	return query_int(db, sql);
}

/*
 * The generator's cases, with every 50th case of the first district's
 * station moved to the other district's station: areas that do not nest, as
 * a point on a boundary drawn apart by two layers gives. Ids as mini_city
 * numbers them (station 3 of district 2, station 10 of district 9).
 */
static int next_with_strays(void *ctx, struct store_history_case *out, size_t cap, size_t *n)
{
	static size_t seen;
	int rc = demo_history_next(ctx, out, cap, n);

	for (size_t i = 0; !rc && i < *n; i++) {
		if (out[i].area_ids[AREA_STATION] == 3 && seen++ % 50 == 0)
			out[i].area_ids[AREA_STATION] = 10;
	}
	return rc;
}

/* Loads a small history into a new store at path; agg_entries as in store_history_load. */
static void load_and_check_counters(const char *name, size_t agg_entries)
{
	struct area_set set;
	struct demo_history_params p;
	struct demo_history *h = NULL;
	struct store_history_load load;
	struct store *s = NULL;
	sqlite3 *db = NULL;
	char path[256];
	int64_t total;

	mini_city(&set);
	snprintf(path, sizeof path, "%s/%s", dir, name);
	CHECK_EQ_INT(store_open(path, &s), 0);
	CHECK_EQ_INT(store_areas_insert(s, &set), 0);
	params(&p, 3, 10, 300);
	CHECK_EQ_INT(demo_history_new(&set, NULL, &p, &h), 0);
	memset(&load, 0, sizeof load);
	load.tables = demo_history_tables(h);
	load.next = next_with_strays;
	load.ctx = h;
	load.rebuild_indexes = true;
	load.agg_entries = agg_entries;
	CHECK_EQ_INT(store_history_load(s, &load), 0);
	CHECK(load.cases > 2000);
	demo_history_free(h);
	store_close(s);

	CHECK_EQ_INT(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	total = query_int(db, "SELECT count(*) FROM cases");
	CHECK_EQ_INT(total, (int64_t)load.cases);
	CHECK_EQ_INT(stats_mismatches(db, "gov_grid_id"), 0);
	CHECK_EQ_INT(stats_mismatches(db, "station_id"), 0);
	CHECK_EQ_INT(stats_mismatches(db, "district_id"), 0);
	CHECK_EQ_INT(stats_mismatches(db, "city_id"), 0);
	/* Each level counts every case once. */
	CHECK_EQ_INT(query_int(db, "SELECT sum(n) FROM stats_cases WHERE area_id = 1"), total);
	/* Every historical case was resolved: once per level in stats_resolved. */
	CHECK_EQ_INT(query_int(db, "SELECT sum(n) FROM stats_resolved WHERE area_id = 1"), total);
	CHECK_EQ_INT(query_int(db, "SELECT sum(n) FROM stats_resolved"), 4 * total);
	CHECK(query_int(db, "SELECT min(seconds) FROM stats_resolved") >= 0);
	/*
	 * The secondary indexes were built again (three, and four for scoped
	 * lists), and the partial one of open cases, kept through the load,
	 * holds what a scan finds.
	 */
	CHECK_EQ_INT(query_int(db, "SELECT count(*) FROM sqlite_master WHERE type='index' AND "
				   "tbl_name='cases' AND sql IS NOT NULL"),
		     8);
	CHECK_EQ_INT(query_int(db, "SELECT count(*) FROM sqlite_master WHERE type='index' AND "
				   "tbl_name='cases' AND sql LIKE '% WHERE %'"),
		     1);
	CHECK_EQ_INT(query_int(db, "SELECT count(*) FROM cases INDEXED BY cases_open WHERE "
				   "status NOT IN ('resolved','closed','cancelled')"),
		     query_int(db, "SELECT count(*) FROM cases NOT INDEXED WHERE "
				   "status NOT IN ('resolved','closed','cancelled')"));
	/* The triggers keeping case_strays are back, and the load recorded what they would have. */
	CHECK(query_int(db, "SELECT count(*) FROM case_strays") > 10);
	CHECK_EQ_INT(query_int(db, "SELECT count(*) FROM sqlite_master WHERE type='trigger' AND "
				   "tbl_name='cases'"),
		     2);
	CHECK_EQ_INT(query_int(db, "SELECT count(*) FROM cases c WHERE (c.id IN (SELECT case_id "
				   "FROM case_strays)) != (c.station_id IS NOT (SELECT parent_id FROM "
				   "areas WHERE id = c.police_grid_id) OR c.district_id IS NOT (SELECT "
				   "parent_id FROM areas WHERE id = c.station_id) OR c.community_id IS NOT "
				   "(SELECT parent_id FROM areas WHERE id = c.gov_grid_id) OR c.street_id "
				   "IS NOT (SELECT parent_id FROM areas WHERE id = c.community_id) OR "
				   "c.district_id IS NOT (SELECT parent_id FROM areas WHERE id = "
				   "c.street_id))"),
		     0);
	CHECK_EQ_INT(query_int(db, "SELECT count(*) FROM cases WHERE status NOT IN ('closed',"
				   "'resolved') OR type NOT IN ('incident','referral') OR "
				   "source NOT IN ('110','12345','app','walk_in')"),
		     0);
	/* Police matters are incidents at the station or a police department; the rest referrals. */
	CHECK_EQ_INT(query_int(db, "SELECT count(*) FROM cases WHERE (police = 1) != "
				   "(type = 'incident')"),
		     0);
	CHECK(query_int(db, "SELECT count(*) FROM cases WHERE department = 'station'") > 0);
	CHECK(query_int(db, "SELECT count(*) FROM cases WHERE department = 'traffic_police'") > 0);
	CHECK_EQ_INT(query_int(db, "PRAGMA integrity_check") >= 0, 1);
	sqlite3_close(db);
	area_set_release(&set);
}

static void test_loaded_counters_equal_the_cases_grouped_alike(void)
{
	load_and_check_counters("load.db", 0);
}

/*
 * With room for only 64 keys per table the aggregates are sorted into many
 * runs, merged at the end: the counters come out the same.
 */
static void test_counters_spilled_into_many_runs_still_equal_the_cases(void)
{
	load_and_check_counters("spill.db", 64);
}

struct bad_source {
	int calls;
};

/* One good chunk, then a case whose category index is past the table. */
static int next_then_bad(void *ctx, struct store_history_case *out, size_t cap, size_t *n)
{
	struct bad_source *b = ctx;
	(void)cap;
	memset(out, 0, sizeof *out);
	out->created_at = END - 3600;
	out->area_ids[AREA_CITY] = 1;
	out->priority = 1;
	out->category = b->calls == 0 ? 0 : 200;
	*n = b->calls++ < 2 ? 1 : 0;
	return SG_OK;
}

static void test_a_bad_case_loads_nothing(void)
{
	static const char *const one[] = { "x" };
	struct store_history_tables t = { one, 1, one, 1, one, 1, one, 1, one, 1 };
	struct bad_source b = { 0 };
	struct store_history_load load;
	struct store *s = NULL;
	size_t n = 99;
	char path[256];

	snprintf(path, sizeof path, "%s/bad.db", dir);
	CHECK_EQ_INT(store_open(path, &s), 0);
	memset(&load, 0, sizeof load);
	load.tables = &t;
	load.next = next_then_bad;
	load.ctx = &b;
	CHECK_EQ_INT(store_history_load(s, &load), SG_EINVAL);
	CHECK_EQ_INT(load.cases, 0);
	CHECK_EQ_INT(store__count(s, "SELECT count(*) FROM cases", &n), 0);
	CHECK_EQ_INT(n, 0);
	store_close(s);
}

/* Per category and period sums over a three-year history (no store needed). */
static void test_three_years_fall_and_have_weekly_and_daily_rhythm(void)
{
	struct area_set set;
	struct demo_history_params p;
	struct store_history_case *a;
	struct demo_history *h = NULL;
	size_t n = 0, theft = SIZE_MAX, office = SIZE_MAX, violence = SIZE_MAX;
	int64_t first = 0, last = 0, theft_first = 0, theft_last = 0, police = 0;
	int64_t office_weekday = 0, office_weekend = 0, v_night = 0, v_morning = 0;
	const struct store_history_tables *t;
	int64_t start_day;

	mini_city(&set);
	params(&p, 11, 1096, 200);
	CHECK_EQ_INT(demo_history_new(&set, NULL, &p, &h), 0);
	t = demo_history_tables(h);
	for (size_t i = 0; i < t->ncategories; i++) {
		if (strcmp(t->categories[i], "theft") == 0)
			theft = i;
		else if (strcmp(t->categories[i], "municipal_facilities") == 0)
			office = i;
		else if (strcmp(t->categories[i], "violence") == 0)
			violence = i;
	}
	demo_history_free(h);
	CHECK(theft != SIZE_MAX && office != SIZE_MAX && violence != SIZE_MAX);
	a = generate_all(&set, &p, &n);
	CHECK(n > 180000 && n < 260000);
	start_day = store_stats_day(END) - 1095;
	for (size_t i = 0; a && i < n; i++) {
		int64_t day = store_stats_day(a[i].created_at);
		int dow = (int)((day + 3) % 7); /* 0 = Monday */
		int hour = (int)(((a[i].created_at + 8 * 3600) % 86400) / 3600);
		bool y1 = day < start_day + 365, y3 = day > start_day + 730;
		first += y1;
		last += y3;
		police += a[i].police;
		if (a[i].category == theft) {
			theft_first += y1;
			theft_last += y3;
		}
		if (a[i].category == office) {
			if (dow < 5)
				office_weekday++;
			else
				office_weekend++;
		}
		if (a[i].category == violence) {
			v_night += hour >= 21 || hour < 2;
			v_morning += hour >= 4 && hour < 9;
		}
	}
	/* About 60 % police. */
	CHECK_NEAR((double)police / (double)n, 0.6, 0.01);
	/* Falling about 6 % a year (two years between the first and the last), theft faster. */
	CHECK(last < first);
	CHECK_NEAR((double)last / (double)first, 0.94 * 0.94, 0.03);
	CHECK((double)theft_last / (double)theft_first < (double)last / (double)first - 0.05);
	/* Offices: a weekday carries clearly more than a weekend day. */
	CHECK((double)office_weekday / 5.0 > 1.4 * (double)office_weekend / 2.0);
	/* Fights peak at night: 5 night hours hold more than 5 morning hours, by far. */
	CHECK(v_night > 2 * v_morning);
	free(a);
	area_set_release(&set);
}

int main(void)
{
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	TEST_RUN(test_same_seed_gives_same_cases_and_another_seed_differs);
	TEST_RUN(test_loaded_counters_equal_the_cases_grouped_alike);
	TEST_RUN(test_counters_spilled_into_many_runs_still_equal_the_cases);
	TEST_RUN(test_a_bad_case_loads_nothing);
	TEST_RUN(test_three_years_fall_and_have_weekly_and_daily_rhythm);
	for (size_t i = 0; i < 3; i++) {
		static const char *const names[] = { "load.db", "spill.db", "bad.db" };
		static const char *const suffixes[] = { "", "-wal", "-shm" };
		for (size_t k = 0; k < 3; k++) {
			char path[256];
			snprintf(path, sizeof path, "%s/%s%s", dir, names[i], suffixes[k]);
			unlink(path);
		}
	}
	rmdir(dir);
	return test_summary("demo/history");
}
