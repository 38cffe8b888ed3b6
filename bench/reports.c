/*
 * reports.c — benchmark: single reports through POST /api/v1/reports of the
 * real server, 64 concurrent keep-alive clients for about 10 s. Each answer
 * comes after the report's transaction is durable (fsync, group commit), so
 * this measures intake latency as a caller sees it.
 *
 *   build/bench/reports --demo DEMO.db [--bin build/safegrid] [--port 18082]
 *                       [--clients 64] [--seconds 10] [--threads 64]
 *
 * DEMO.db is built on first use (the demo city, its accounts and three years
 * of history up to now, about a minute; bench_http.h) and reused after.
 * The server runs on a copy of DEMO.db with --threads (HTTP workers; a
 * report waiting for its commit suspends its connection, holding none). Prints requests/s, p50, p99 and the largest
 * latency, and the commit batch sizes the server reported in /metrics.
 */
#include <pthread.h>

#include "bench_http.h"

#define MAX_SAMPLES 400000

/* A few report texts of different categories, so that reports rarely join one case. */
static const char *const texts[] = {
	"有人在店门口打架，已经打起来了", "我的电动车被偷了", "小区楼下有人吵闹噪音很大",
	"路灯坏了一整晚没亮",             "十字路口发生交通事故，两车相撞", "接到电话说是公检法，让我转账",
	"下水道堵了污水漫到路上",         "楼道里有人抽烟着火了",
};

struct worker {
	int port;
	const char *token;
	double until;
	uint64_t seed;
	double *lat, *at; /* latency, and when the request started (s after the start) */
	double t0;
	size_t n, cap, errors;
};

static uint64_t next_rand(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static void *run(void *arg)
{
	struct worker *w = arg;
	struct bench_conn c;
	char body[512];

	if (bench_connect(&c, w->port))
		return NULL;
	while (bench_now() < w->until && w->n < w->cap) {
		/* Inside 姑苏区's old town, so every point is in the city. */
		double lon = 120.585 + (double)(next_rand(&w->seed) % 60000) * 1e-6;
		double lat = 31.295 + (double)(next_rand(&w->seed) % 30000) * 1e-6;
		int len = snprintf(body, sizeof body,
				   "{\"source\":\"110\",\"text\":\"%s\",\"lon\":%.6f,\"lat\":%.6f}",
				   texts[next_rand(&w->seed) % (sizeof texts / sizeof texts[0])], lon,
				   lat);
		double t0 = bench_now();
		if (bench_request(&c, "POST", "/api/v1/reports", w->token, "application/json", body,
				  (size_t)len)) {
			w->errors++;
			bench_close(&c);
			if (bench_connect(&c, w->port))
				break;
			continue;
		}
		if (c.status != 200 && c.status != 201) {
			if (w->errors++ == 0)
				fprintf(stderr, "status %d: %.*s\n", c.status, (int)c.body_len, c.body);
			continue;
		}
		w->at[w->n] = t0 - w->t0;
		w->lat[w->n++] = bench_now() - t0;
	}
	bench_close(&c);
	return NULL;
}

/* The server's own view: commit batch sizes and how long the COMMITs (WAL write, fsync) took. */
static void print_batches(int port)
{
	struct bench_conn c;

	if (bench_connect(&c, port))
		return;
	if (!bench_request(&c, "GET", "/metrics", NULL, NULL, NULL, 0) && c.body) {
		double s = bench_metric(c.body, "safegrid_store_commit_batch_size_sum");
		double n = bench_metric(c.body, "safegrid_store_commit_batch_size_count");
		double cs = bench_metric(c.body, "safegrid_store_commit_seconds_sum");
		double cn = bench_metric(c.body, "safegrid_store_commit_seconds_count");
		double le4 = bench_metric(c.body, "safegrid_store_commit_seconds_bucket{le=\"0.004\"}");
		double le16 = bench_metric(c.body, "safegrid_store_commit_seconds_bucket{le=\"0.016\"}");
		double le128 = bench_metric(c.body, "safegrid_store_commit_seconds_bucket{le=\"0.128\"}");
		if (n >= 0 && s >= 0)
			printf("  store commits: %.0f, mean batch %.1f commands\n", n,
			       n > 0 ? s / n : 0);
		if (cn > 0 && le4 >= 0 && le16 >= 0 && le128 >= 0)
			printf("  COMMIT (WAL write + fsync) mean %.2f ms; over 4 ms: %.1f%%, over 16 ms: "
			       "%.1f%%, over 128 ms: %.0f commits\n",
			       cs * 1e3 / cn, 100 * (cn - le4) / cn, 100 * (cn - le16) / cn, cn - le128);
	}
	bench_close(&c);
}

int main(int argc, char **argv)
{
	const char *demo = bench_opt(argc, argv, "--demo", NULL);
	const char *bin = bench_opt(argc, argv, "--bin", "build/safegrid");
	int port = (int)strtol(bench_opt(argc, argv, "--port", "18082"), NULL, 10);
	int clients = (int)strtol(bench_opt(argc, argv, "--clients", "64"), NULL, 10);
	double seconds = strtod(bench_opt(argc, argv, "--seconds", "10"), NULL);
	const char *threads = bench_opt(argc, argv, "--threads", "64");
	const char *extra[] = { "--threads", threads, NULL };
	char db[512] = "", log[512] = "", token[256];
	struct worker *w = NULL;
	pthread_t *tid = NULL;
	double *all = NULL, *steady = NULL, t0, elapsed, first_max = 0;
	size_t total = 0, errors = 0, nsteady = 0;
	pid_t pid = -1;
	int rc = 1;

	if (!demo || clients < 1 || clients > 1024 || !(seconds > 0)) {
		fprintf(stderr, "usage: %s --demo DEMO.db [--bin build/safegrid] [--port N] "
				"[--clients N] [--seconds S] [--threads N]\n",
			argv[0]);
		return 2;
	}
	w = calloc((size_t)clients, sizeof *w);
	tid = calloc((size_t)clients, sizeof *tid);
	if (!w || !tid)
		goto out;
	pid = bench_server_on_copy(demo, "reports", bin, port, extra, "commander", db, sizeof db, log,
				   sizeof log, token, sizeof token);
	if (pid < 0)
		goto out;
	t0 = bench_now();
	for (int i = 0; i < clients; i++) {
		w[i].port = port;
		w[i].token = token;
		w[i].until = t0 + seconds;
		w[i].seed = 0x9e3779b97f4a7c15ULL * (uint64_t)(i + 1);
		w[i].cap = MAX_SAMPLES / (size_t)clients * 4;
		w[i].t0 = t0;
		w[i].lat = malloc(w[i].cap * sizeof(double));
		w[i].at = malloc(w[i].cap * sizeof(double));
		if (!w[i].lat || !w[i].at)
			w[i].cap = 0;
		pthread_create(&tid[i], NULL, run, &w[i]);
	}
	for (int i = 0; i < clients; i++) {
		pthread_join(tid[i], NULL);
		total += w[i].n;
		errors += w[i].errors;
	}
	elapsed = bench_now() - t0;
	all = malloc((total + 1) * sizeof *all);
	steady = malloc((total + 1) * sizeof *steady);
	if (!all || !steady)
		goto out;
	total = 0;
	for (int i = 0; i < clients; i++) {
		memcpy(all + total, w[i].lat, w[i].n * sizeof *all);
		total += w[i].n;
		/* The first second apart: cold caches, 64 connections opening at once. */
		for (size_t k = 0; k < w[i].n; k++) {
			if (w[i].at[k] >= 1.0)
				steady[nsteady++] = w[i].lat[k];
			else if (w[i].lat[k] > first_max)
				first_max = w[i].lat[k];
		}
	}
	qsort(all, total, sizeof *all, bench_cmp_double);
	qsort(steady, nsteady, sizeof *steady, bench_cmp_double);
	printf("reports: %d keep-alive clients, POST /api/v1/reports for %.1f s, server --threads %s\n",
	       clients, elapsed, threads);
	if (total) {
		printf("  %zu reports acknowledged (%zu errors): %.0f requests/s\n", total, errors,
		       (double)total / elapsed);
		printf("  latency p50 %.2f ms, p90 %.2f ms, p99 %.2f ms, max %.2f ms\n",
		       all[total / 2] * 1e3, all[total * 9 / 10] * 1e3, all[total * 99 / 100] * 1e3,
		       all[total - 1] * 1e3);
	}
	if (nsteady)
		printf("  after the first second: %zu reports, p50 %.2f ms, p99 %.2f ms, max %.2f ms "
		       "(first second's max %.2f ms)\n",
		       nsteady, steady[nsteady / 2] * 1e3, steady[nsteady * 99 / 100] * 1e3,
		       steady[nsteady - 1] * 1e3, first_max * 1e3);
	print_batches(port);
	rc = total ? 0 : 1;
out:
	bench_stop_server(pid);
	for (int i = 0; w && i < clients; i++) {
		free(w[i].lat);
		free(w[i].at);
	}
	free(steady);
	free(w);
	free(tid);
	free(all);
	bench_remove_db(db);
	return rc;
}
