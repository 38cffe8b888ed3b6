/*
 * ingest.c — benchmark: bulk ingest through POST /api/v1/events of the real
 * server (NDJSON batches of report lines over several keep-alive
 * connections, about 10 s), against the storage limit: the same rows
 * written straight into SQLite (cases + reports + history + statistics
 * upserts, as the server writes them) in transactions of the same size, in a
 * separate file with the same schema and pragmas (WAL, synchronous=FULL).
 *
 *   build/bench/ingest --demo DEMO.db [--bin build/safegrid] [--port 18081]
 *                      [--clients 4] [--batch 5000] [--seconds 10]
 *                      [--raw-store empty|demo]
 *
 * DEMO.db is built on first use (the demo city, its accounts and three years
 * of history up to now, about a minute; bench_http.h) and reused after.
 * The server runs on a copy of DEMO.db. Prints events/s end to end, the raw
 * insert rate and their ratio.
 */
#include <dirent.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdatomic.h>

#include "bench_http.h"
#include "store/store_internal.h"

#define NBODIES 64

static const char *const texts[] = {
	"有人在店门口打架，已经打起来了", "我的电动车被偷了", "小区楼下有人吵闹噪音很大",
	"路灯坏了一整晚没亮",             "十字路口发生交通事故，两车相撞", "接到电话说是公检法，让我转账",
	"下水道堵了污水漫到路上",         "楼道里有人抽烟着火了",
};
#define NTEXTS (sizeof texts / sizeof texts[0])

static uint64_t next_rand(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* A point inside 姑苏区 (so inside the city), spread enough that few reports join a case. */
static void point(uint64_t *s, double *lon, double *lat)
{
	*lon = 120.56 + (double)(next_rand(s) % 100000) * 1e-6;
	*lat = 31.27 + (double)(next_rand(s) % 70000) * 1e-6;
}

struct body {
	char *data;
	size_t len;
};

static struct body bodies[NBODIES];
static atomic_uint next_body;

struct worker {
	int port;
	const char *token;
	double until;
	size_t events, requests, errors;
};

static void *run(void *arg)
{
	struct worker *w = arg;
	struct bench_conn c;

	if (bench_connect(&c, w->port))
		return NULL;
	while (bench_now() < w->until) {
		struct body *b = &bodies[atomic_fetch_add(&next_body, 1) % NBODIES];
		const char *acc;
		if (bench_request(&c, "POST", "/api/v1/events", w->token, "application/x-ndjson",
				  b->data, b->len) ||
		    c.status != 200 || !(acc = strstr(c.body, "\"accepted\":"))) {
			if (w->errors++ == 0)
				fprintf(stderr, "status %d: %.200s\n", c.status, c.body ? c.body : "");
			bench_close(&c);
			if (bench_connect(&c, w->port))
				break;
			continue;
		}
		w->events += strtoul(acc + 11, NULL, 10);
		w->requests++;
	}
	bench_close(&c);
	return NULL;
}

static int make_bodies(size_t batch)
{
	uint64_t s = 0x243f6a8885a308d3ULL;

	for (size_t i = 0; i < NBODIES; i++) {
		size_t cap = batch * 160 + 64, len = 0;
		char *d = malloc(cap);
		if (!d)
			return -1;
		for (size_t k = 0; k < batch; k++) {
			double lon, lat;
			point(&s, &lon, &lat);
			len += (size_t)snprintf(d + len, cap - len,
						"{\"kind\":\"report\",\"source\":\"110\",\"text\":\"%s\","
						"\"lon\":%.6f,\"lat\":%.6f}\n",
						texts[next_rand(&s) % NTEXTS], lon, lat);
		}
		bodies[i].data = d;
		bodies[i].len = len;
	}
	return 0;
}

/* Area tuples of real demo cases, for the raw insert. */
struct places {
	int64_t ids[1000][AREA_KIND_COUNT];
	size_t n;
};

static int load_places(const char *demo, struct places *p)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;

	p->n = 0;
	if (sqlite3_open_v2(demo, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db, "SELECT city_id,district_id,station_id,police_grid_id,street_id,"
				   "community_id,gov_grid_id FROM cases LIMIT 1000",
			       -1, &st, NULL) != SQLITE_OK) {
		sqlite3_close(db);
		return -1;
	}
	while (p->n < 1000 && sqlite3_step(st) == SQLITE_ROW) {
		for (int k = 0; k < AREA_KIND_COUNT; k++)
			p->ids[p->n][k] = sqlite3_column_int64(st, k);
		p->n++;
	}
	sqlite3_finalize(st);
	sqlite3_close(db);
	return p->n ? 0 : -1;
}

/* A counter the raw insert aggregates over its transaction, as the server's core does. */
struct raw_count {
	int64_t area;
	size_t cat;
	int64_t n;
	int grid; /* a governance grid's: no monthly roll-up, as the store keeps it */
};

/* Adds one to a counter of the transaction; idx is an open-addressing index (entry + 1). */
static void raw_count_add(struct raw_count *v, size_t *n, uint32_t *idx, size_t cap, int64_t area,
			  size_t cat, int grid)
{
	size_t k = (size_t)(((uint64_t)area * 0x9e3779b97f4a7c15ULL ^ cat) >> 20) & (cap - 1);

	for (; idx[k]; k = (k + 1) & (cap - 1)) {
		struct raw_count *e = &v[idx[k] - 1];
		if (e->area == area && e->cat == cat) {
			e->n++;
			return;
		}
	}
	v[*n].area = area;
	v[*n].cat = cat;
	v[*n].n = 1;
	v[*n].grid = grid;
	idx[k] = (uint32_t)++*n;
}

static int raw_count_cmp(const void *x, const void *y)
{
	const struct raw_count *a = x, *b = y;
	if (a->area != b->area)
		return a->area < b->area ? -1 : 1;
	return (a->cat > b->cat) - (a->cat < b->cat);
}

/* CPU seconds (user + system) of /proc/<pid>/stat or /proc/<pid>/task/<tid>/stat; -1 if unreadable. */
static double proc_cpu(const char *stat_path)
{
	char buf[1024], *p;
	unsigned long long ut = 0, st = 0;
	FILE *f = fopen(stat_path, "r");
	size_t n;

	if (!f)
		return -1;
	n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* After the command name in parentheses: state is field 3, utime 14, stime 15. */
	if (!(p = strrchr(buf, ')')) ||
	    sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
		return -1;
	return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

/* The stat path of the server's thread named name (its store core), or "" if none. */
static void thread_stat_path(pid_t pid, const char *name, char *out, size_t cap)
{
	char dir[64], path[600], comm[64];
	struct dirent *e;
	DIR *d;

	out[0] = '\0';
	snprintf(dir, sizeof dir, "/proc/%d/task", (int)pid);
	if (!(d = opendir(dir)))
		return;
	while ((e = readdir(d))) {
		FILE *f;
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof path, "%s/%s/comm", dir, e->d_name);
		if (!(f = fopen(path, "r")))
			continue;
		if (fgets(comm, sizeof comm, f) && strncmp(comm, name, strlen(name)) == 0 &&
		    (comm[strlen(name)] == '\n' || comm[strlen(name)] == '\0'))
			snprintf(out, cap, "%s/%s/stat", dir, e->d_name);
		fclose(f);
	}
	closedir(d);
}

static double thread_cpu_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int exec(sqlite3 *db, const char *sql)
{
	char *err = NULL;
	if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK) {
		fprintf(stderr, "sqlite: %s\n", err ? err : "?");
		sqlite3_free(err);
		return -1;
	}
	return 0;
}

/*
 * The storage limit: per row what store_case_open writes for a new case —
 * the case, its report, its history line — and its four counters (grid,
 * station, district, city) by day and, all but the grid's, by month,
 * aggregated over the transaction and upserted once per distinct counter just
 * before COMMIT, exactly as the server's core does per batch; prepared
 * statements, batch rows per transaction, for about seconds.
 */
static double raw_rate(const char *path, const char *copy_of, const struct places *pl, size_t batch,
		       double seconds, size_t *rows_out, double *cpu_out)
{
	static const enum area_kind levels[] = { AREA_GOV_GRID, AREA_STATION, AREA_DISTRICT,
						 AREA_CITY };
	sqlite3 *db = NULL;
	sqlite3_stmt *c = NULL, *r = NULL, *h = NULL, *s = NULL, *sm = NULL;
	uint64_t rnd = 0x13198a2e03707344ULL;
	size_t rows = 0, ncounts = 0;
	struct raw_count *counts = calloc(batch * 4, sizeof *counts);
	size_t idx_cap = 1;
	uint32_t *idx;
	double t0, t = -1;

	while (idx_cap < batch * 8)
		idx_cap *= 2;
	idx = calloc(idx_cap, sizeof *idx);
	bench_remove_db(path);
	if (!idx || (copy_of && bench_copy(copy_of, path)) || sqlite3_open(path, &db) != SQLITE_OK ||
	    exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;"
		     "PRAGMA cache_size=-131072;"))
		goto out;
	for (int i = 0; !copy_of && i < store__migration_count; i++) {
		if (exec(db, store__migrations[i]))
			goto out;
	}
	/* Foreign keys name areas: give the tuples' areas rows, as the demo store has. */
	exec(db, "PRAGMA foreign_keys=OFF;");
	if (sqlite3_prepare_v2(db, "INSERT INTO cases(type,category,police,department,status,"
				   "priority,lon,lat,city_id,district_id,station_id,police_grid_id,"
				   "street_id,community_id,gov_grid_id,source,created_at,updated_at,"
				   "deadline_at,version,reports,escalation_level) "
				   "VALUES('incident',?,1,'station','new',2,?,?,?,?,?,?,?,?,?,'110',?,?,?,"
				   "1,1,0)",
			       -1, &c, NULL) ||
	    sqlite3_prepare_v2(db, "INSERT INTO reports(case_id,source,text,lon,lat,reported_at,"
				   "received_at,caller_name,caller_phone,category) "
				   "VALUES(?,'110',?,?,?,?,?,NULL,NULL,?)",
			       -1, &r, NULL) ||
	    sqlite3_prepare_v2(db, "INSERT INTO case_history(case_id,at,actor,from_status,"
				   "to_status,note) VALUES(?,?,'commander',NULL,'new',?)",
			       -1, &h, NULL) ||
	    sqlite3_prepare_v2(db, "INSERT INTO stats_cases VALUES(?,?,?,'110',1,?) "
				   "ON CONFLICT DO UPDATE SET n = n + excluded.n",
			       -1, &s, NULL) ||
	    sqlite3_prepare_v2(db, "INSERT INTO stats_cases_month VALUES(?,?,?,'110',1,?) "
				   "ON CONFLICT DO UPDATE SET n = n + excluded.n",
			       -1, &sm, NULL) ||
	    !counts) {
		fprintf(stderr, "prepare: %s\n", sqlite3_errmsg(db));
		goto out;
	}
	t0 = bench_now();
	*cpu_out = thread_cpu_now();
	while (bench_now() - t0 < seconds) {
		static const char *const cats[] = { "violence", "theft", "noise",
						    "municipal_facilities", "traffic_accident",
						    "fraud", "water", "fire" };
		int64_t now = (int64_t)time(NULL);
		int64_t day = store_stats_day(now);
		if (exec(db, "BEGIN IMMEDIATE"))
			goto out;
		ncounts = 0;
		memset(idx, 0, idx_cap * sizeof *idx);
		for (size_t i = 0; i < batch; i++) {
			const int64_t *ids = pl->ids[next_rand(&rnd) % pl->n];
			size_t k = next_rand(&rnd) % NTEXTS;
			double lon, lat;
			int64_t id;
			char note[96];
			point(&rnd, &lon, &lat);
			sqlite3_reset(c);
			sqlite3_bind_text(c, 1, cats[k], -1, SQLITE_STATIC);
			sqlite3_bind_double(c, 2, lon);
			sqlite3_bind_double(c, 3, lat);
			for (int a = 0; a < AREA_KIND_COUNT; a++)
				sqlite3_bind_int64(c, 4 + a, ids[a]);
			sqlite3_bind_int64(c, 11, now);
			sqlite3_bind_int64(c, 12, now);
			sqlite3_bind_int64(c, 13, now + 900);
			if (sqlite3_step(c) != SQLITE_DONE)
				goto out;
			id = sqlite3_last_insert_rowid(db);
			sqlite3_reset(r);
			sqlite3_bind_int64(r, 1, id);
			sqlite3_bind_text(r, 2, texts[k], -1, SQLITE_STATIC);
			sqlite3_bind_double(r, 3, lon);
			sqlite3_bind_double(r, 4, lat);
			sqlite3_bind_int64(r, 5, now);
			sqlite3_bind_int64(r, 6, now);
			sqlite3_bind_text(r, 7, cats[k], -1, SQLITE_STATIC);
			if (sqlite3_step(r) != SQLITE_DONE)
				goto out;
			snprintf(note, sizeof note, "opened from report %lld (110)",
				 (long long)sqlite3_last_insert_rowid(db));
			sqlite3_reset(h);
			sqlite3_bind_int64(h, 1, id);
			sqlite3_bind_int64(h, 2, now);
			sqlite3_bind_text(h, 3, note, -1, SQLITE_TRANSIENT);
			if (sqlite3_step(h) != SQLITE_DONE)
				goto out;
			for (size_t l = 0; l < 4; l++)
				raw_count_add(counts, &ncounts, idx, idx_cap, ids[levels[l]], k,
					      levels[l] == AREA_GOV_GRID);
		}
		/* In key order, as the server flushes them. */
		qsort(counts, ncounts, sizeof *counts, raw_count_cmp);
		for (size_t i = 0; i < ncounts; i++) {
			for (int m = 0; m < (counts[i].grid ? 1 : 2); m++) {
				sqlite3_stmt *u = m ? sm : s;
				sqlite3_reset(u);
				sqlite3_bind_int64(u, 1, counts[i].area);
				sqlite3_bind_int64(u, 2, m ? store__stats_month(day) : day);
				sqlite3_bind_text(u, 3, cats[counts[i].cat], -1, SQLITE_STATIC);
				sqlite3_bind_int64(u, 4, counts[i].n);
				if (sqlite3_step(u) != SQLITE_DONE)
					goto out;
			}
		}
		if (exec(db, "COMMIT"))
			goto out;
		rows += batch;
	}
	t = bench_now() - t0;
	*cpu_out = thread_cpu_now() - *cpu_out;
	*rows_out = rows;
out:
	if (t < 0)
		fprintf(stderr, "raw insert failed: %s\n", sqlite3_errmsg(db));
	sqlite3_finalize(c);
	sqlite3_finalize(r);
	sqlite3_finalize(h);
	sqlite3_finalize(s);
	sqlite3_finalize(sm);
	sqlite3_close(db);
	free(counts);
	free(idx);
	bench_remove_db(path);
	return t;
}

int main(int argc, char **argv)
{
	const char *demo = bench_opt(argc, argv, "--demo", NULL);
	const char *bin = bench_opt(argc, argv, "--bin", "build/safegrid");
	int port = (int)strtol(bench_opt(argc, argv, "--port", "18081"), NULL, 10);
	int clients = (int)strtol(bench_opt(argc, argv, "--clients", "4"), NULL, 10);
	long batch = strtol(bench_opt(argc, argv, "--batch", "5000"), NULL, 10);
	double seconds = strtod(bench_opt(argc, argv, "--seconds", "10"), NULL);
	/* "demo": the raw rows go into a copy of the demo store (its size) instead of an empty file. */
	int raw_on_demo = strcmp(bench_opt(argc, argv, "--raw-store", "empty"), "demo") == 0;
	char db[512] = "", raw[512] = "", log[512] = "", token[256];
	static struct places places;
	struct worker w[64];
	pthread_t tid[64];
	size_t events = 0, requests = 0, errors = 0, raw_rows = 0;
	double t0, elapsed, raw_t, http_rate, raw_per_s, raw_cpu = 0;
	double cpu0 = -1, cpu1 = -1, core0 = -1, core1 = -1;
	char proc_stat[64], core_stat[700];
	pid_t pid = -1;
	int rc = 1;

	if (!demo || clients < 1 || clients > 64 || batch < 1 || batch > 50000 || !(seconds > 0)) {
		fprintf(stderr, "usage: %s --demo DEMO.db [--bin build/safegrid] [--port N] "
				"[--clients 1..64] [--batch N] [--seconds S] [--raw-store empty|demo]\n",
			argv[0]);
		return 2;
	}
	pid = bench_server_on_copy(demo, "ingest", bin, port, NULL, "commander", db, sizeof db, log,
				   sizeof log, token, sizeof token);
	if (pid < 0)
		goto out;
	snprintf(raw, sizeof raw, "%s.bench-raw.db", demo);
	if (load_places(demo, &places) || make_bodies((size_t)batch)) {
		fprintf(stderr, "cannot prepare from %s\n", demo);
		goto out;
	}
	snprintf(proc_stat, sizeof proc_stat, "/proc/%d/stat", (int)pid);
	thread_stat_path(pid, "sg-core", core_stat, sizeof core_stat);
	cpu0 = proc_cpu(proc_stat);
	core0 = core_stat[0] ? proc_cpu(core_stat) : -1;
	t0 = bench_now();
	for (int i = 0; i < clients; i++) {
		memset(&w[i], 0, sizeof w[i]);
		w[i].port = port;
		w[i].token = token;
		w[i].until = t0 + seconds;
		pthread_create(&tid[i], NULL, run, &w[i]);
	}
	for (int i = 0; i < clients; i++) {
		pthread_join(tid[i], NULL);
		events += w[i].events;
		requests += w[i].requests;
		errors += w[i].errors;
	}
	elapsed = bench_now() - t0;
	cpu1 = proc_cpu(proc_stat);
	core1 = core_stat[0] ? proc_cpu(core_stat) : -1;
	bench_stop_server(pid);
	pid = -1;
	http_rate = (double)events / elapsed;
	printf("ingest: POST /api/v1/events, %d keep-alive clients, %ld report lines per request, "
	       "%.1f s\n",
	       clients, batch, elapsed);
	printf("  %zu events accepted in %zu requests (%zu errors): %.0f events/s end to end\n",
	       events, requests, errors, http_rate);
	/* CPU per event: steadier than rates on a shared machine. */
	if (events && cpu0 >= 0 && cpu1 >= 0)
		printf("  server CPU %.1f s = %.1f us per event (store core thread %.1f us per event; "
		       "%.0f%% busy)\n",
		       cpu1 - cpu0, (cpu1 - cpu0) * 1e6 / (double)events,
		       core0 >= 0 && core1 >= 0 ? (core1 - core0) * 1e6 / (double)events : -1.0,
		       core0 >= 0 && core1 >= 0 ? (core1 - core0) * 100 / elapsed : -1.0);
	raw_t = raw_rate(raw, raw_on_demo ? demo : NULL, &places, (size_t)batch, seconds / 2,
			 &raw_rows, &raw_cpu);
	if (raw_t > 0) {
		raw_per_s = (double)raw_rows / raw_t;
		printf("  raw SQLite, same rows (case, report, history; day and month counters "
		       "aggregated per transaction), %ld per transaction, WAL, synchronous=FULL, "
		       "%s: %zu rows in %.1f s = %.0f rows/s\n",
		       batch, raw_on_demo ? "into a copy of the demo store" : "into an empty store",
		       raw_rows, raw_t, raw_per_s);
		printf("  raw CPU %.1f s = %.1f us per row (%.0f%% of the wall time)\n", raw_cpu,
		       raw_cpu * 1e6 / (double)raw_rows, raw_cpu * 100 / raw_t);
		printf("  ratio end to end / raw: %.2f\n", http_rate / raw_per_s);
	}
	rc = 0;
out:
	bench_stop_server(pid);
	for (size_t i = 0; i < NBODIES; i++)
		free(bodies[i].data);
	bench_remove_db(db);
	return rc;
}
