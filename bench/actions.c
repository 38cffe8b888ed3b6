/*
 * actions.c — benchmark: versioned writes after intake through the real
 * server, each client on a thing of its own so that no request conflicts.
 * Each answer comes after its transaction is durable (fsync, group commit).
 *
 *   build/bench/actions --demo DEMO.db [--bin build/safegrid] [--port 18083]
 *                       [--mode transitions|units] [--clients 32] [--seconds 10]
 *                       [--threads 4]
 *
 * transitions: each client opens one case (a report) and then moves it back
 *   and forth, new -> dispatched -> new ..., with POST
 *   /api/v1/cases/{id}/transitions, sending the version the last answer gave.
 * units: each client takes one available unit and steps it off duty and on
 *   duty again with POST /api/v1/units/{id}/status.
 *
 * DEMO.db is built on first use (bench_http.h) and reused after; the server
 * runs on a copy with --threads HTTP workers. Prints requests/s, p50, p99
 * and the largest latency, and the commit batch sizes from /metrics.
 */
#include <jansson.h>
#include <pthread.h>

#include "bench_http.h"

#define MAX_SAMPLES 400000

struct worker {
	int port;
	const char *token;
	int units;        /* the mode: unit steps, else case transitions */
	int64_t id;       /* the case or unit */
	int64_t version;  /* the case's, as last answered */
	double until;
	double *lat;
	size_t n, cap, errors;
};

/* The integer member name of a JSON body (a top-level or a nested "case" one), or -1. */
static int64_t json_int(const char *body, size_t len, const char *outer, const char *name)
{
	json_t *root = json_loadb(body, len, 0, NULL), *o, *v;
	int64_t out = -1;

	if (!root)
		return -1;
	o = outer ? json_object_get(root, outer) : root;
	v = o ? json_object_get(o, name) : NULL;
	if (json_is_integer(v))
		out = json_integer_value(v);
	json_decref(root);
	return out;
}

static void *run(void *arg)
{
	struct worker *w = arg;
	struct bench_conn c;
	char path[128], body[256];
	int flip = 0;

	if (bench_connect(&c, w->port))
		return NULL;
	if (w->units)
		snprintf(path, sizeof path, "/api/v1/units/%lld/status", (long long)w->id);
	else
		snprintf(path, sizeof path, "/api/v1/cases/%lld/transitions", (long long)w->id);
	while (bench_now() < w->until && w->n < w->cap) {
		int len;
		double t0;
		if (w->units)
			len = snprintf(body, sizeof body, "{\"action\":\"%s\"}",
				       flip ? "on_duty" : "off_duty");
		else
			len = snprintf(body, sizeof body, "{\"to\":\"%s\",\"version\":%lld}",
				       flip ? "new" : "dispatched", (long long)w->version);
		t0 = bench_now();
		if (bench_request(&c, "POST", path, w->token, "application/json", body, (size_t)len)) {
			w->errors++;
			break;
		}
		if (c.status != 200) {
			if (w->errors++ == 0)
				fprintf(stderr, "status %d: %.*s\n", c.status, (int)c.body_len, c.body);
			break; /* the thing's state is unknown now: this client stops */
		}
		w->lat[w->n++] = bench_now() - t0;
		if (!w->units)
			w->version = json_int(c.body, c.body_len, NULL, "version");
		flip = !flip;
	}
	bench_close(&c);
	return NULL;
}

static void print_batches(int port)
{
	struct bench_conn c;

	if (bench_connect(&c, port))
		return;
	if (!bench_request(&c, "GET", "/metrics", NULL, NULL, NULL, 0) && c.body) {
		double s = bench_metric(c.body, "safegrid_store_commit_batch_size_sum");
		double n = bench_metric(c.body, "safegrid_store_commit_batch_size_count");
		if (n >= 0 && s >= 0)
			printf("  store commits: %.0f, mean batch %.1f commands\n", n, n > 0 ? s / n : 0);
	}
	bench_close(&c);
}

/* Gives each worker its own case (a report apart from the others) or available unit. */
static int prepare(int port, const char *token, int units, struct worker *w, int clients)
{
	struct bench_conn c;
	char body[512];
	int rc = -1;

	if (bench_connect(&c, port))
		return -1;
	if (units) {
		json_t *root, *list, *u;
		size_t i;
		snprintf(body, sizeof body, "/api/v1/units?status=available&limit=%d", clients);
		if (bench_request(&c, "GET", body, token, NULL, NULL, 0) || c.status != 200)
			goto out;
		if (!(root = json_loadb(c.body, c.body_len, 0, NULL)))
			goto out;
		list = json_object_get(root, "units");
		json_array_foreach(list, i, u) {
			if ((int)i < clients)
				w[i].id = json_integer_value(json_object_get(u, "id"));
		}
		rc = (int)json_array_size(list) >= clients ? 0 : -1;
		json_decref(root);
		goto out;
	}
	for (int i = 0; i < clients; i++) {
		/* Inside the city, about 500 m apart: no report joins another's case. */
		int len = snprintf(body, sizeof body,
				   "{\"source\":\"110\",\"text\":\"有人在店门口打架 %d\",\"lon\":%.4f,"
				   "\"lat\":%.4f}",
				   i, 120.56 + 0.005 * (i % 8), 31.27 + 0.006 * (i / 8));
		if (bench_request(&c, "POST", "/api/v1/reports", token, "application/json", body,
				  (size_t)len) ||
		    c.status != 201) {
			fprintf(stderr, "report %d: status %d %.*s\n", i, c.status, (int)c.body_len,
				c.body ? c.body : "");
			goto out;
		}
		w[i].id = json_int(c.body, c.body_len, "case", "id");
		w[i].version = json_int(c.body, c.body_len, "case", "version");
	}
	rc = 0;
out:
	bench_close(&c);
	return rc;
}

int main(int argc, char **argv)
{
	const char *demo = bench_opt(argc, argv, "--demo", NULL);
	const char *bin = bench_opt(argc, argv, "--bin", "build/safegrid");
	const char *mode = bench_opt(argc, argv, "--mode", "transitions");
	int port = (int)strtol(bench_opt(argc, argv, "--port", "18083"), NULL, 10);
	int clients = (int)strtol(bench_opt(argc, argv, "--clients", "32"), NULL, 10);
	double seconds = strtod(bench_opt(argc, argv, "--seconds", "10"), NULL);
	const char *threads = bench_opt(argc, argv, "--threads", "4");
	const char *extra[] = { "--threads", threads, NULL };
	int units = strcmp(mode, "units") == 0;
	char db[512] = "", log[512] = "", token[256];
	struct worker *w = NULL;
	pthread_t *tid = NULL;
	double *all = NULL, t0, elapsed;
	size_t total = 0, errors = 0;
	pid_t pid = -1;
	int rc = 1;

	if (!demo || clients < 1 || clients > 1024 || !(seconds > 0) ||
	    (!units && strcmp(mode, "transitions") != 0)) {
		fprintf(stderr, "usage: %s --demo DEMO.db [--bin build/safegrid] [--port N] "
				"[--mode transitions|units] [--clients N] [--seconds S] [--threads N]\n",
			argv[0]);
		return 2;
	}
	w = calloc((size_t)clients, sizeof *w);
	tid = calloc((size_t)clients, sizeof *tid);
	if (!w || !tid)
		goto out;
	pid = bench_server_on_copy(demo, "actions", bin, port, extra, "commander", db, sizeof db, log,
				   sizeof log, token, sizeof token);
	if (pid < 0)
		goto out;
	if (prepare(port, token, units, w, clients)) {
		fprintf(stderr, "cannot give each client a %s of its own\n", units ? "unit" : "case");
		goto out;
	}
	t0 = bench_now();
	for (int i = 0; i < clients; i++) {
		w[i].port = port;
		w[i].token = token;
		w[i].units = units;
		w[i].until = t0 + seconds;
		w[i].cap = MAX_SAMPLES / (size_t)clients * 4;
		w[i].lat = malloc(w[i].cap * sizeof(double));
		if (!w[i].lat)
			w[i].cap = 0;
		pthread_create(&tid[i], NULL, run, &w[i]);
	}
	for (int i = 0; i < clients; i++) {
		pthread_join(tid[i], NULL);
		total += w[i].n;
		errors += w[i].errors;
	}
	elapsed = bench_now() - t0;
	if (!(all = malloc((total + 1) * sizeof *all)))
		goto out;
	total = 0;
	for (int i = 0; i < clients; i++) {
		memcpy(all + total, w[i].lat, w[i].n * sizeof *all);
		total += w[i].n;
	}
	qsort(all, total, sizeof *all, bench_cmp_double);
	printf("actions: %d keep-alive clients, %s for %.1f s, server --threads %s\n", clients,
	       units ? "POST /api/v1/units/{id}/status (off_duty/on_duty)"
		     : "POST /api/v1/cases/{id}/transitions (new/dispatched)",
	       elapsed, threads);
	if (total) {
		printf("  %zu acknowledged (%zu errors): %.0f requests/s\n", total, errors,
		       (double)total / elapsed);
		printf("  latency p50 %.2f ms, p90 %.2f ms, p99 %.2f ms, max %.2f ms\n",
		       all[total / 2] * 1e3, all[total * 9 / 10] * 1e3, all[total * 99 / 100] * 1e3,
		       all[total - 1] * 1e3);
	}
	print_batches(port);
	rc = total && !errors ? 0 : 1;
out:
	bench_stop_server(pid);
	for (int i = 0; w && i < clients; i++)
		free(w[i].lat);
	free(w);
	free(tid);
	free(all);
	bench_remove_db(db);
	return rc;
}
