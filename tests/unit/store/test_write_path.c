/*
 * test_write_path.c — the store's fast write path gives the answers of the
 * slow one: the join index joins exactly the case the SQL scan over the
 * window picked (ties, moves, resolved cases and a clock going back
 * included), per-batch counters equal one upsert per case (a command that
 * rolls back takes its counts with it), and the monthly roll-up plus the
 * days at either end sum to the daily counters for any range.
 */
#include "store/store.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/err.h"
#include "geo/coord.h"
#include "store/store_internal.h"
#include "test.h"

static char dir[] = P_tmpdir "/safegrid-wpath-XXXXXX";

static uint64_t rnd_state = 0x9e3779b97f4a7c15ULL;

static uint64_t rnd(void)
{
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 7;
	rnd_state ^= rnd_state << 17;
	return rnd_state;
}

static void test_month_of_day_matches_sqlite(void)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	int bad = 0, bad_first = 0;

	CHECK_EQ_INT(sqlite3_open(":memory:", &db), SQLITE_OK);
	CHECK_EQ_INT(sqlite3_prepare_v2(db,
					"SELECT CAST(strftime('%Y', ?1 * 86400, 'unixepoch') AS "
					"INTEGER) * 12 + CAST(strftime('%m', ?1 * 86400, "
					"'unixepoch') AS INTEGER) - 1",
					-1, &st, NULL),
		     SQLITE_OK);
	for (int64_t d = -3000; d < 40000; d++) {
		int64_t m = store__stats_month(d);
		sqlite3_reset(st);
		sqlite3_bind_int64(st, 1, d);
		if (sqlite3_step(st) != SQLITE_ROW || sqlite3_column_int64(st, 0) != m)
			bad++;
		if (!(store__stats_month_first_day(m) <= d && d < store__stats_month_first_day(m + 1)))
			bad_first++;
	}
	CHECK_EQ_INT(bad, 0);
	CHECK_EQ_INT(bad_first, 0);
	CHECK_EQ_INT(store__stats_month(store_stats_day(1735660800)), 2025 * 12); /* 2025-01-01 UTC+8 */
	sqlite3_finalize(st);
	sqlite3_close(db);
}

static bool joinable_unless_resolved(const char *type, const char *status, void *ctx)
{
	return strcmp(status, "resolved") != 0 && strcmp(type, "incident") == 0;
}

/* The join as the store answered it before the index: a scan of the window in SQL. */
static int64_t expected_join(struct store *s, const struct case_row *c, int64_t since, double dist)
{
	double dlat = dist / 111000.0, dlon = dlat / fmax(cos(c->lat * M_PI / 180.0), 0.1);
	double best = dist;
	int64_t found = 0;
	sqlite3 *db = store__read_begin(s);
	sqlite3_stmt *st = NULL;

	sqlite3_prepare_v2(db, "SELECT id,type,status,lon,lat FROM cases WHERE category=? AND "
			       "created_at>=? AND lon BETWEEN ? AND ? AND lat BETWEEN ? AND ? "
			       "ORDER BY category, created_at, lon, lat, status, type, id",
			   -1, &st, NULL);
	sqlite3_bind_text(st, 1, c->category, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, since);
	sqlite3_bind_double(st, 3, c->lon - dlon);
	sqlite3_bind_double(st, 4, c->lon + dlon);
	sqlite3_bind_double(st, 5, c->lat - dlat);
	sqlite3_bind_double(st, 6, c->lat + dlat);
	while (sqlite3_step(st) == SQLITE_ROW) {
		struct geo_point a = { c->lon, c->lat };
		struct geo_point b = { sqlite3_column_double(st, 3), sqlite3_column_double(st, 4) };
		double d = geo_distance_m(a, b);
		if (d <= best && joinable_unless_resolved((const char *)sqlite3_column_text(st, 1),
							  (const char *)sqlite3_column_text(st, 2),
							  NULL)) {
			best = d;
			found = sqlite3_column_int64(st, 0);
		}
	}
	sqlite3_finalize(st);
	store__read_end(s, db);
	return found;
}

static void test_join_index_joins_what_the_scan_joined(void)
{
	static const char *const cats[] = { "theft", "noise", "fire" };
	char path[256];
	struct store *s = NULL;
	int64_t now = 1790000000, ids[4000];
	size_t nids = 0;
	int wrong = 0, joins = 0, opens = 0;

	snprintf(path, sizeof path, "%s/join.db", dir);
	CHECK_EQ_INT(store_open(path, &s), 0);
	for (int i = 0; i < 3000; i++) {
		struct case_row c, moved;
		struct report_row r;
		struct store_case_open op;
		int64_t want;

		/* Time moves on, sometimes a lot, and once goes back (a clock set back). */
		now += (int64_t)(rnd() % 3);
		if (i % 700 == 699)
			now += 2000;
		if (i == 1500)
			now -= 4000;
		memset(&c, 0, sizeof c);
		memset(&r, 0, sizeof r);
		snprintf(c.category, sizeof c.category, "%s", cats[rnd() % 3]);
		snprintf(c.type, sizeof c.type, "%s", rnd() % 8 ? "incident" : "referral");
		snprintf(c.status, sizeof c.status, "new");
		snprintf(c.department, sizeof c.department, "station");
		snprintf(c.source, sizeof c.source, "110");
		/* A coarse lattice: equal points and equal distances happen. */
		c.lon = 120.60 + (double)(rnd() % 40) * 0.0005;
		c.lat = 31.30 + (double)(rnd() % 40) * 0.0005;
		c.created_at = now;
		c.deadline_at = now + 900;
		c.priority = 2;
		r.text = (char *)"report";
		snprintf(r.source, sizeof r.source, "110");
		snprintf(r.category, sizeof r.category, "%s", c.category);
		r.lon = c.lon;
		r.lat = c.lat;
		r.reported_at = r.received_at = now;
		want = expected_join(s, &c, now - 1800, 200);
		memset(&op, 0, sizeof op);
		op.c = &c;
		op.r = &r;
		op.join_distance_m = 200;
		op.join_window_s = 1800;
		op.joinable = joinable_unless_resolved;
		op.actor = "tester";
		if (store_case_open(s, &op) != 0) {
			wrong++;
			continue;
		}
		if (op.joined ? c.id != want : want != 0)
			wrong++;
		joins += op.joined;
		opens += !op.joined;
		if (!op.joined && nids < 4000)
			ids[nids++] = c.id;
		/* Now and then resolve or move an earlier case. */
		if (nids && rnd() % 10 == 0) {
			struct store_case_change ch;
			struct case_row cur, out;
			int64_t id = ids[rnd() % nids];
			if (store_case_get(s, id, &cur) != 0)
				continue;
			memset(&ch, 0, sizeof ch);
			ch.id = id;
			ch.expected_version = cur.version;
			ch.set_police = -1;
			ch.set_escalation_level = -1;
			ch.at = now;
			ch.actor = "tester";
			ch.out = &out;
			if (rnd() % 2) {
				ch.to_status = "resolved";
			} else {
				moved = cur;
				moved.lon = 120.60 + (double)(rnd() % 40) * 0.0005;
				moved.lat = 31.30 + (double)(rnd() % 40) * 0.0005;
				ch.set_location = &moved;
			}
			CHECK_EQ_INT(store_case_change(s, &ch), 0);
		}
	}
	CHECK_EQ_INT(wrong, 0);
	CHECK(joins > 300);
	CHECK(opens > 300);
	store_close(s);
}

/*
 * Areas for the counters: a grid, station, district and city per case, drawn
 * from the calling thread's own r (the shared rnd() is not for threads).
 */
static void counted_case(struct case_row *c, int64_t created_at, const char *category,
			 const char *source, unsigned r)
{
	memset(c, 0, sizeof *c);
	c->area_ids[AREA_CITY] = 1;
	c->area_ids[AREA_DISTRICT] = 2 + (int64_t)(r % 2);
	c->area_ids[AREA_STATION] = 10 + (int64_t)((r >> 1) % 4);
	c->area_ids[AREA_GOV_GRID] = 100 + (int64_t)((r >> 3) % 20);
	c->created_at = created_at;
	snprintf(c->category, sizeof c->category, "%s", category);
	snprintf(c->source, sizeof c->source, "%s", source);
}

struct count_job {
	struct case_row c;
	int police, fail;
};

/* Counts a case, then fails if asked: its counts must vanish with it. */
static int count_cmd(sqlite3 *db, void *arg)
{
	struct count_job *j = arg;
	int rc = store__stats_case_count(db, &j->c, j->police, 1);
	return rc ? rc : (j->fail ? SG_EINVAL : SG_OK);
}

struct counter_thread {
	struct store *s;
	int64_t base;
	int64_t counted;
	unsigned seed;
};

static void *count_many(void *arg)
{
	static const char *const cats[] = { "theft", "noise", "fire", "fraud" };
	static const char *const srcs[] = { "110", "12345" };
	struct counter_thread *t = arg;

	for (int i = 0; i < 400; i++) {
		struct count_job j;
		t->seed = t->seed * 1103515245u + 12345u;
		/* Over about five months around a year's end. */
		counted_case(&j.c, t->base + (int64_t)(t->seed % (150u * 86400u)),
			     cats[(t->seed >> 8) % 4], srcs[(t->seed >> 12) % 2], t->seed >> 24);
		j.police = (int)((t->seed >> 16) % 2);
		j.fail = (t->seed >> 20) % 5 == 0;
		if (store__submit(t->s, count_cmd, &j) == 0)
			t->counted++;
	}
	return NULL;
}

static int64_t sql_sum(struct store *s, const char *sql, int64_t a, int64_t b, int64_t c)
{
	sqlite3 *db = store__read_begin(s);
	sqlite3_stmt *st = NULL;
	int64_t v = -1;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK) {
		sqlite3_bind_int64(st, 1, a);
		sqlite3_bind_int64(st, 2, b);
		sqlite3_bind_int64(st, 3, c);
		if (sqlite3_step(st) == SQLITE_ROW)
			v = sqlite3_column_int64(st, 0);
	}
	sqlite3_finalize(st);
	store__read_end(s, db);
	return v;
}

static void sum_fn(void *ctx, const char *key, int64_t n)
{
	*(int64_t *)ctx += n;
}

struct cat_sums {
	char key[8][16];
	int64_t n[8];
	int count;
};

static void cat_fn(void *ctx, const char *key, int64_t n)
{
	struct cat_sums *c = ctx;
	if (c->count < 8) {
		snprintf(c->key[c->count], sizeof c->key[0], "%s", key);
		c->n[c->count++] = n;
	}
}

/*
 * The groups by category agree with GROUP BY over the days. Rows of zero
 * exist (a failed command's counters are flushed with the batch), and a
 * group summing to zero is not reported.
 */
static int categories_agree(struct store *s, int64_t area, int64_t a, int64_t b)
{
	struct cat_sums got = { 0 };
	sqlite3 *db;
	sqlite3_stmt *st = NULL;
	int rows = 0, ok = 1;

	if (store_stats_cases(s, area, a, b, STORE_STATS_CATEGORY, cat_fn, &got))
		return 0;
	db = store__read_begin(s);
	sqlite3_prepare_v2(db, "SELECT category, sum(n) FROM stats_cases WHERE area_id=? AND day "
			       "BETWEEN ? AND ? GROUP BY 1 HAVING sum(n) != 0",
			   -1, &st, NULL);
	sqlite3_bind_int64(st, 1, area);
	sqlite3_bind_int64(st, 2, a);
	sqlite3_bind_int64(st, 3, b);
	while (sqlite3_step(st) == SQLITE_ROW) {
		int found = 0;
		rows++;
		for (int i = 0; i < got.count; i++) {
			if (strcmp(got.key[i], (const char *)sqlite3_column_text(st, 0)) == 0)
				found = got.n[i] == sqlite3_column_int64(st, 1);
		}
		ok &= found;
	}
	sqlite3_finalize(st);
	store__read_end(s, db);
	return ok && rows == got.count;
}

static void test_batched_counters_and_roll_up_agree_with_the_days(void)
{
	char path[256];
	struct store *s = NULL;
	struct counter_thread t[4];
	pthread_t tid[4];
	int64_t counted = 0, base = 1764000000; /* late November 2025 */
	int64_t d0 = store_stats_day(base), bad = 0;

	snprintf(path, sizeof path, "%s/counts.db", dir);
	CHECK_EQ_INT(store_open(path, &s), 0);
	for (int i = 0; i < 4; i++) {
		t[i].s = s;
		t[i].base = base;
		t[i].counted = 0;
		t[i].seed = 17u + (unsigned)i * 7919u;
		pthread_create(&tid[i], NULL, count_many, &t[i]);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(tid[i], NULL);
		counted += t[i].counted;
	}
	CHECK(counted > 1000 && counted < 1600); /* about a fifth failed */
	/* Each case once per level: the city row counts every case that stayed. */
	CHECK_EQ_INT(sql_sum(s, "SELECT sum(n) FROM stats_cases WHERE area_id=?1 AND ?2=?3", 1, 0, 0),
		     counted);
	CHECK_EQ_INT(sql_sum(s, "SELECT sum(n) FROM stats_cases_month WHERE area_id=?1 AND ?2=?3", 1,
			     0, 0),
		     counted);
	/* Rows of zero are there, so the groups below meet them. */
	CHECK(sql_sum(s, "SELECT count(*) FROM stats_cases WHERE n=0 AND ?1=?2 AND ?2=?3", 0, 0, 0) >
	      0);
	/* Any range: months and end days together give the sum over the days. */
	for (int k = 0; k < 300; k++) {
		int64_t a = d0 - 5 + (int64_t)(rnd() % 170), b = a + (int64_t)(rnd() % 120);
		int64_t area = k % 3 == 0 ? 1 : k % 3 == 1 ? 2 : 10 + (int64_t)(rnd() % 4);
		int64_t got = 0;
		int64_t want = sql_sum(s, "SELECT coalesce(sum(n),0) FROM stats_cases WHERE area_id=?1 "
					  "AND day BETWEEN ?2 AND ?3",
				       area, a, b);
		if (store_stats_cases(s, area, a, b, STORE_STATS_TOTAL, sum_fn, &got) || got != want ||
		    !categories_agree(s, area, a, b))
			bad++;
	}
	CHECK_EQ_INT(bad, 0);
	store_close(s);
}

int main(void)
{
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	TEST_RUN(test_month_of_day_matches_sqlite);
	TEST_RUN(test_join_index_joins_what_the_scan_joined);
	TEST_RUN(test_batched_counters_and_roll_up_agree_with_the_days);
	{
		char cmd[300];
		snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
		if (system(cmd) != 0)
			fprintf(stderr, "could not remove %s\n", dir);
	}
	return test_summary("store/write_path");
}
