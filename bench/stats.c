/*
 * stats.c — benchmark: a year-on-year statistic by category for one
 * district over the demo's three-year history, through GET /api/v1/stats of
 * the real server (time per request, many repetitions), against the same
 * answer computed by GROUP BY over the cases table in SQLite directly.
 *
 *   build/bench/stats --demo DEMO.db [--bin build/safegrid] [--port 18083]
 *
 * DEMO.db is built on first use (the demo city, its accounts and three years
 * of history up to now, about a minute; bench_http.h) and reused after.
 * The server runs on a copy of DEMO.db. Prints the request times (mean, p50,
 * p99), the direct query's time and the ratio, and checks the two agree.
 */
#include <sqlite3.h>

#include "bench_http.h"

#define REPS 300
#define DISTRICT "320508" /* 姑苏区 */

struct counts {
	char key[64][48];
	long long n[64], prev[64];
	int len;
};

static int slot(struct counts *c, const char *key)
{
	for (int i = 0; i < c->len; i++) {
		if (strcmp(c->key[i], key) == 0)
			return i;
	}
	if (c->len == 64)
		return -1;
	snprintf(c->key[c->len], sizeof c->key[0], "%s", key);
	c->n[c->len] = c->prev[c->len] = 0;
	return c->len++;
}

/* Local day (UTC+8) boundaries as Unix seconds for "YYYY-MM-DD" days since 1970. */
static long long day_start(long long day)
{
	return day * 86400 - 8 * 3600;
}

static void fmt_day(long long day, char *out, size_t cap)
{
	time_t t = (time_t)(day * 86400);
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(out, cap, "%Y-%m-%d", &tm);
}

/* The same statistic straight from the cases: this period and the one a year before. */
static double direct(sqlite3 *db, long long from, long long to, long long pfrom, long long pto,
		     struct counts *out)
{
	const char *sql = "SELECT category, sum(created_at >= ?1 AND created_at < ?2), "
			  "sum(created_at >= ?3 AND created_at < ?4) FROM cases "
			  "WHERE district_id = (SELECT id FROM areas WHERE code = '" DISTRICT "') "
			  "AND ((created_at >= ?1 AND created_at < ?2) OR "
			  "(created_at >= ?3 AND created_at < ?4)) GROUP BY category";
	sqlite3_stmt *st = NULL;
	double t0 = bench_now();

	memset(out, 0, sizeof *out);
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
		fprintf(stderr, "prepare: %s\n", sqlite3_errmsg(db));
		return -1;
	}
	sqlite3_bind_int64(st, 1, day_start(from));
	sqlite3_bind_int64(st, 2, day_start(to + 1));
	sqlite3_bind_int64(st, 3, day_start(pfrom));
	sqlite3_bind_int64(st, 4, day_start(pto + 1));
	while (sqlite3_step(st) == SQLITE_ROW) {
		int i = slot(out, (const char *)sqlite3_column_text(st, 0));
		if (i >= 0) {
			out->n[i] = sqlite3_column_int64(st, 1);
			out->prev[i] = sqlite3_column_int64(st, 2);
		}
	}
	sqlite3_finalize(st);
	return bench_now() - t0;
}

/* Pulls {"key":..,"value":..,"previous":..} groups out of the API's answer. */
static void parse_groups(const char *body, struct counts *out)
{
	const char *p = strstr(body, "\"groups\":[");

	memset(out, 0, sizeof *out);
	while (p && (p = strstr(p, "{\"key\":\""))) {
		char key[48];
		const char *e = strchr(p + 8, '"'), *v, *pv;
		int i;
		if (!e || (size_t)(e - p - 8) >= sizeof key)
			break;
		memcpy(key, p + 8, (size_t)(e - p - 8));
		key[e - p - 8] = '\0';
		v = strstr(e, "\"value\":");
		pv = strstr(e, "\"previous\":");
		if (!v || !pv)
			break;
		if ((i = slot(out, key)) >= 0) {
			out->n[i] = strtoll(v + 8, NULL, 10);
			out->prev[i] = strtoll(pv + 11, NULL, 10);
		}
		p = e;
	}
}

static int same(const struct counts *a, const struct counts *b)
{
	int diffs = 0;
	for (int i = 0; i < a->len; i++) {
		int found = 0;
		for (int j = 0; j < b->len; j++) {
			if (strcmp(a->key[i], b->key[j]) == 0) {
				found = 1;
				diffs += a->n[i] != b->n[j] || a->prev[i] != b->prev[j];
			}
		}
		diffs += !found && (a->n[i] || a->prev[i]);
	}
	return diffs;
}

int main(int argc, char **argv)
{
	const char *demo = bench_opt(argc, argv, "--demo", NULL);
	const char *bin = bench_opt(argc, argv, "--bin", "build/safegrid");
	int port = (int)strtol(bench_opt(argc, argv, "--port", "18083"), NULL, 10);
	char db[512], log[512], path[512], token[256], from_s[16], to_s[16];
	static double lat[REPS];
	struct counts api, sql;
	struct bench_conn c;
	sqlite3 *rdb = NULL;
	long long today, from, to, pfrom, pto, total = 0;
	double t0, sum = 0, best_direct = 1e9;
	pid_t pid;
	int rc = 1;

	if (!demo) {
		fprintf(stderr, "usage: %s --demo DEMO.db [--bin build/safegrid] [--port N]\n",
			argv[0]);
		return 2;
	}
	if (bench_prepare_demo(demo)) {
		fprintf(stderr, "cannot prepare the demo store %s\n", demo);
		return 1;
	}
	snprintf(db, sizeof db, "%s.bench-stats.db", demo);
	snprintf(log, sizeof log, "%s.bench-stats.log", demo);
	if (bench_copy(demo, db)) {
		fprintf(stderr, "cannot copy %s\n", demo);
		return 1;
	}
	/* The last full year before today, against the year before it. */
	today = ((long long)time(NULL) + 8 * 3600) / 86400;
	to = today - 1;
	from = to - 364;
	pto = to - 365;
	pfrom = from - 365;
	fmt_day(from, from_s, sizeof from_s);
	fmt_day(to, to_s, sizeof to_s);
	pid = bench_start_server(bin, db, port, log, NULL);
	if (pid < 0) {
		fprintf(stderr, "server did not start (log: %s)\n", log);
		goto out;
	}
	if (bench_login(port, "analyst", "safegrid-demo", token, sizeof token) ||
	    bench_connect(&c, port)) {
		fprintf(stderr, "login failed\n");
		goto out_server;
	}
	snprintf(path, sizeof path,
		 "/api/v1/stats?measure=cases&group=category&area=" DISTRICT
		 "&from=%s&to=%s&compare=yoy",
		 from_s, to_s);
	for (int i = 0; i < REPS; i++) {
		t0 = bench_now();
		if (bench_request(&c, "GET", path, token, NULL, NULL, 0) || c.status != 200) {
			fprintf(stderr, "request failed: %d %.*s\n", c.status, (int)c.body_len,
				c.body ? c.body : "");
			bench_close(&c);
			goto out_server;
		}
		lat[i] = bench_now() - t0;
		sum += lat[i];
	}
	parse_groups(c.body, &api);
	bench_close(&c);
	qsort(lat, REPS, sizeof lat[0], bench_cmp_double);

	if (sqlite3_open_v2(db, &rdb, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
		fprintf(stderr, "cannot open %s read-only\n", db);
		goto out_server;
	}
	for (int i = 0; i < 3; i++) {
		double t = direct(rdb, from, to, pfrom, pto, &sql);
		if (t >= 0 && t < best_direct)
			best_direct = t;
	}
	for (int i = 0; i < sql.len; i++)
		total += sql.n[i];
	printf("stats: GET /api/v1/stats group=category area=%s %s..%s compare=yoy\n", DISTRICT,
	       from_s, to_s);
	printf("  cases in the district, this period: %lld in %d categories\n", total, sql.len);
	printf("  API: %d requests, mean %.3f ms, p50 %.3f ms, p99 %.3f ms, max %.3f ms\n", REPS,
	       sum / REPS * 1e3, lat[REPS / 2] * 1e3, lat[REPS * 99 / 100] * 1e3,
	       lat[REPS - 1] * 1e3);
	printf("  direct GROUP BY over cases (read-only connection, best of 3): %.1f ms\n",
	       best_direct * 1e3);
	printf("  ratio (direct / API mean): %.0fx\n", best_direct / (sum / REPS));
	printf("  answers differ in %d categories\n", same(&sql, &api) + same(&api, &sql));
	rc = 0;
	sqlite3_close(rdb);
out_server:
	bench_stop_server(pid);
out:
	bench_remove_db(db);
	return rc;
}
