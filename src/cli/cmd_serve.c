/*
 * cmd_serve.c — `safegrid serve`: open the store, build the in-memory
 * catalog, serve HTTP until SIGTERM/SIGINT, then shut down gracefully.
 *
 * Shutdown order matters: the HTTP server stops first and waits for the
 * requests in flight (each waits for its commit), then the store commits
 * whatever is still queued and closes.
 */
#include "cli/cli.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/auth.h"
#include "base/err.h"
#include "base/log.h"
#include "http/api.h"

/*
 * The server's numeric settings: one table with defaults and bounds. A value
 * that is not a whole number or out of bounds stops start-up, naming it.
 */
struct serve_setting {
	const char *flag;
	unsigned long long def, min, max;
	const char *help;
};

enum { SET_THREADS, SET_MAX_BODY, SET_TOKEN_TTL, SET_SEED, SET_COUNT };

static const struct serve_setting settings[SET_COUNT] = {
	[SET_THREADS] = { "--threads", 4, 1, 256, "HTTP worker threads" },
	[SET_MAX_BODY] = { "--max-body", 1 << 20, 1024, 1ULL << 30, "largest request body, bytes" },
	[SET_TOKEN_TTL] = { "--token-ttl", 12 * 3600, 60, 30 * 86400, "token lifetime, seconds" },
	[SET_SEED] = { "--seed", 1, 0, UINT64_MAX, "demo city seed (with --demo)" },
};

static int read_settings(int argc, char **argv, unsigned long long out[SET_COUNT])
{
	for (int i = 0; i < SET_COUNT; i++) {
		const char *v = cli_opt(argc, argv, settings[i].flag);
		char *end;
		out[i] = settings[i].def;
		if (!v)
			continue;
		errno = 0;
		out[i] = strtoull(v, &end, 10);
		if (!*v || *end || errno || v[0] == '-' || out[i] < settings[i].min ||
		    out[i] > settings[i].max) {
			fprintf(stderr, "safegrid: %s (%s) must be a whole number from %llu to %llu\n",
				settings[i].flag, settings[i].help, settings[i].min, settings[i].max);
			return 2;
		}
	}
	return 0;
}

static int parse_listen(const char *s, char *host, size_t hostlen, uint16_t *port)
{
	const char *colon = strrchr(s, ':');
	char *end;
	long p;

	if (!colon || (size_t)(colon - s) >= hostlen || colon == s)
		return SG_EINVAL;
	memcpy(host, s, (size_t)(colon - s));
	host[colon - s] = '\0';
	p = strtol(colon + 1, &end, 10);
	if (*end || p < 0 || p > 65535 || end == colon + 1)
		return SG_EINVAL;
	*port = (uint16_t)p;
	return SG_OK;
}

static int load_catalog(struct store *s, struct catalog **out)
{
	struct area_set set;
	struct fusion_row *rows = NULL;
	size_t nrows = 0;
	int rc;

	area_set_init(&set);
	rc = store_areas_load(s, &set);
	if (!rc)
		rc = store_fusion_load(s, &rows, &nrows);
	if (!rc)
		rc = catalog_build(&set, rows, nrows, out);
	free(rows);
	area_set_release(&set);
	return rc;
}

int cli_serve(int argc, char **argv)
{
	static const char *const with_value[] = { "--db", "--listen", "--threads", "--max-body",
						  "--token-ttl", "--seed", NULL };
	static const char *const flags[] = { "--demo", NULL };
	const char *db = cli_opt(argc, argv, "--db");
	const char *listen = cli_opt(argc, argv, "--listen");
	unsigned long long set[SET_COUNT];
	struct http_server_config cfg;
	struct store *store = NULL;
	struct catalog *cat = NULL;
	struct app app;
	char host[64] = "127.0.0.1";
	uint16_t port = 8080;
	sigset_t sigs;
	int sig, rc, code = 1, app_ready = 0;

	if ((rc = cli_check_opts(argc, argv, with_value, flags)) ||
	    (rc = read_settings(argc, argv, set)))
		return rc;
	if (!db) {
		fprintf(stderr, "usage: safegrid serve --db FILE [--listen HOST:PORT] [--demo] "
				"[--threads N] [--max-body BYTES] [--token-ttl SECONDS] [--seed N]\n");
		return 2;
	}
	if (listen && parse_listen(listen, host, sizeof host, &port)) {
		fprintf(stderr, "safegrid: --listen must be HOST:PORT (e.g. 127.0.0.1:8080)\n");
		return 2;
	}
	/* Signals are taken by sigwait below; block them before any thread starts. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (auth_init() || (rc = store_open(db, &store))) {
		fprintf(stderr, "safegrid: cannot open the store %s\n", db);
		return 1;
	}
	if (cli_flag(argc, argv, "--demo")) {
		rc = cli_demo_fill(store, set[SET_SEED]);
		if (rc && rc != SG_ECONFLICT) {
			fprintf(stderr, "safegrid: building the demo city failed: %s\n",
				sg_err_name(rc));
			goto out;
		}
	}
	if ((rc = load_catalog(store, &cat))) {
		fprintf(stderr, "safegrid: loading the areas failed: %s\n", sg_err_name(rc));
		goto out;
	}
	api_app_init(&app, store, cat);
	app.token_ttl_s = (int64_t)set[SET_TOKEN_TTL];
	app_ready = 1;
	memset(&cfg, 0, sizeof cfg);
	cfg.host = host;
	cfg.port = port;
	cfg.threads = (unsigned)set[SET_THREADS];
	cfg.max_body = (size_t)set[SET_MAX_BODY];
	cfg.routes = api_routes;
	cfg.nroutes = api_nroutes;
	cfg.authenticate = api_authenticate;
	cfg.release_session = api_session_release;
	cfg.app = &app;
	if ((rc = http_server_start(&cfg, &app.server))) {
		fprintf(stderr, "safegrid: cannot listen on %s:%u\n", host, port);
		goto out;
	}
	printf("safegrid serving %u areas at http://%s:%u/  (store %s)\n", cat->n, host,
	       http_server_port(app.server), db);
	if (cli_flag(argc, argv, "--demo"))
		cli_demo_print_accounts();
	fflush(stdout);
	SG_LOG(SG_LOG_INFO, "msg=listening host=%s port=%u", host, http_server_port(app.server));

	sigwait(&sigs, &sig);
	SG_LOG(SG_LOG_INFO, "msg=\"shutting down\" signal=%d", sig);
	http_server_stop(app.server);
	code = 0;
out:
	if (app_ready)
		api_app_release(&app);
	store_close(store);
	catalog_free(cat);
	return code;
}
