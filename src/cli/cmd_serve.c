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
#include <time.h>

#include "auth/auth.h"
#include "base/err.h"
#include "base/log.h"
#include "http/api.h"
#include "pipeline/escalator.h"
#include "rules/defaults.h"

/*
 * The server's numeric settings: one table with defaults and bounds. A value
 * that is not a whole number or out of bounds stops start-up, naming it.
 */
struct serve_setting {
	const char *flag;
	unsigned long long def, min, max;
	const char *help;
};

enum { SET_THREADS, SET_MAX_BODY, SET_MAX_BULK, SET_TOKEN_TTL, SET_SEED, SET_ESCALATE_MS,
       SET_SIMULATE, SET_COUNT };

static const struct serve_setting settings[SET_COUNT] = {
	[SET_THREADS] = { "--threads", 4, 1, 256, "HTTP worker threads" },
	[SET_MAX_BODY] = { "--max-body", 1 << 20, 1024, 1ULL << 30, "largest request body, bytes" },
	[SET_MAX_BULK] = { "--max-bulk-body", 64 << 20, 1024, 1ULL << 31,
			   "largest NDJSON batch body, bytes" },
	[SET_TOKEN_TTL] = { "--token-ttl", 12 * 3600, 60, 30 * 86400, "token lifetime, seconds" },
	[SET_SEED] = { "--seed", 1, 0, UINT64_MAX, "demo city seed (with --demo)" },
	[SET_ESCALATE_MS] = { "--escalate-every", 1000, 10, 60000,
			      "how often the deadline timer looks, milliseconds" },
	[SET_SIMULATE] = { "--simulate", 0, 0, 10000,
			   "simulated reports per minute on average (with --demo; 0: no simulation)" },
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

/* Reads a whole file into a caller-freed, NUL-terminated buffer. */
static int slurp(const char *path, char **out, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	long n;

	if (!f)
		return SG_EIO;
	if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 || n > (8L << 20)) {
		fclose(f);
		return SG_ETOOBIG;
	}
	rewind(f);
	buf = malloc((size_t)n + 1);
	if (!buf || fread(buf, 1, (size_t)n, f) != (size_t)n) {
		free(buf);
		fclose(f);
		return SG_EIO;
	}
	fclose(f);
	buf[n] = '\0';
	*out = buf;
	*len = (size_t)n;
	return SG_OK;
}

/*
 * Loads the classification rules and the case state machine: the embedded
 * defaults, or the files given with --classify and --cases. A bad file stops
 * start-up with the member at fault.
 */
static int load_rules(struct store *store, const char *classify_path, const char *cases_path,
		      struct classify_config **classify, struct casefsm **fsm)
{
	struct classify_error cerr;
	struct casefsm_error ferr;
	char *text = NULL;
	size_t len = 0;
	int rc;

	/* --classify FILE, else the rules an admin stored, else the shipped ones. */
	if (classify_path && (rc = slurp(classify_path, &text, &len))) {
		fprintf(stderr, "safegrid: cannot read %s\n", classify_path);
		return rc;
	}
	if (!classify_path && store_setting_get(store, "classify.json", &text) == 0)
		len = strlen(text);
	rc = classify_config_load(text ? text : rules__classify_json,
				  text ? len : rules__classify_json_len, classify, &cerr);
	free(text);
	text = NULL;
	if (rc) {
		fprintf(stderr, "safegrid: classification rules: %s: %s\n",
			cerr.path[0] ? cerr.path : "(document)", cerr.message);
		return rc;
	}
	if (cases_path && (rc = slurp(cases_path, &text, &len))) {
		fprintf(stderr, "safegrid: cannot read %s\n", cases_path);
		return rc;
	}
	rc = casefsm_load(text ? text : rules__cases_json, text ? len : rules__cases_json_len, fsm,
			  &ferr);
	free(text);
	if (rc)
		fprintf(stderr, "safegrid: case types: %s: %s\n",
			ferr.path[0] ? ferr.path : "(document)", ferr.message);
	return rc;
}

/* The dispatch policy: --dispatch FILE, else the shipped one. A bad file stops start-up. */
static int load_policy(const char *path, struct dispatch_policy **out)
{
	struct policy_error err;
	char *text = NULL;
	size_t len = 0;
	int rc;

	if (path && (rc = slurp(path, &text, &len))) {
		fprintf(stderr, "safegrid: cannot read %s\n", path);
		return rc;
	}
	memset(&err, 0, sizeof err);
	rc = dispatch_policy_load(text ? text : rules__dispatch_json,
				  text ? len : rules__dispatch_json_len, out, &err);
	free(text);
	if (rc)
		fprintf(stderr, "safegrid: dispatch policy: %s: %s\n",
			err.path[0] ? err.path : "(document)", err.message);
	return rc;
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
	static const char *const with_value[] = { "--db",	 "--listen",   "--threads",
						  "--max-body", "--token-ttl", "--seed",
						  "--classify", "--cases",     "--escalate-every",
						  "--max-bulk-body", "--dispatch", "--simulate", NULL };
	static const char *const flags[] = { "--demo", "--no-history", "--test-clock", NULL };
	const char *db = cli_opt(argc, argv, "--db");
	const char *listen = cli_opt(argc, argv, "--listen");
	unsigned long long set[SET_COUNT];
	struct http_server_config cfg;
	struct store *store = NULL;
	struct catalog *cat = NULL;
	struct classify_config *classify = NULL;
	struct casefsm *fsm = NULL;
	struct feed *feed = NULL;
	struct feed_config fcfg;
	struct escalator_config ecfg;
	struct escalator *escalator = NULL;
	struct dispatch_policy *policy = NULL;
	struct cli_simulator *sim = NULL;
	struct unit_index *units = NULL;
	struct timespec ts;
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
	if (set[SET_SIMULATE] && !cli_flag(argc, argv, "--demo")) {
		fprintf(stderr, "safegrid: --simulate runs the demo city: add --demo\n");
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

	/* The feed's ticker thread starts here, after the signals were blocked. */
	feed_config_default(&fcfg);
	clock_gettime(CLOCK_REALTIME, &ts);
	if (feed_new(&fcfg, &feed) ||
	    feed_restore(feed, NULL, 0, (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000)) {
		fprintf(stderr, "safegrid: cannot start the event feed\n");
		goto out;
	}
	if (auth_init() || (rc = store_open(db, &store))) {
		fprintf(stderr, "safegrid: cannot open the store %s\n", db);
		goto out;
	}
	if (load_rules(store, cli_opt(argc, argv, "--classify"), cli_opt(argc, argv, "--cases"),
		       &classify, &fsm))
		goto out;
	if (cli_flag(argc, argv, "--demo")) {
		rc = cli_demo_fill(store, set[SET_SEED], !cli_flag(argc, argv, "--no-history"));
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
	if (load_policy(cli_opt(argc, argv, "--dispatch"), &policy))
		goto out;
	if (unit_index_new(&units)) {
		fprintf(stderr, "safegrid: out of memory\n");
		goto out;
	}
	api_app_init(&app, store, cat);
	app.units = units;
	app.policy = policy;
	if ((rc = api_units_load(&app))) {
		fprintf(stderr, "safegrid: loading the units failed: %s\n", sg_err_name(rc));
		api_app_release(&app);
		goto out;
	}
	app.token_ttl_s = (int64_t)set[SET_TOKEN_TTL];
	app.classify = classify;
	classify = NULL; /* the app owns it now (and frees it in api_app_release) */
	app.fsm = fsm;
	app.feed = feed;
	app.test_clock = cli_flag(argc, argv, "--test-clock");
	memset(&ecfg, 0, sizeof ecfg);
	ecfg.store = store;
	ecfg.fsm = fsm;
	ecfg.period_ms = (unsigned)set[SET_ESCALATE_MS];
	ecfg.now = api_clock;
	ecfg.escalated = api_case_escalated;
	ecfg.tick = api_dispatch_tick;
	ecfg.ctx = &app;
	if (escalator_start(&ecfg, &escalator)) {
		fprintf(stderr, "safegrid: cannot start the deadline timer\n");
		goto out;
	}
	app_ready = 1;
	memset(&cfg, 0, sizeof cfg);
	cfg.host = host;
	cfg.port = port;
	cfg.threads = (unsigned)set[SET_THREADS];
	cfg.max_body = (size_t)set[SET_MAX_BODY];
	cfg.max_bulk_body = (size_t)set[SET_MAX_BULK];
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
	if (set[SET_SIMULATE]) {
		if ((rc = cli_simulator_start(&app, (double)set[SET_SIMULATE], set[SET_SEED], &sim)))
			fprintf(stderr, "safegrid: the simulator did not start: %s\n", sg_err_name(rc));
		else
			printf("simulating %llu reports a minute\n", set[SET_SIMULATE]);
	}
	fflush(stdout);
	SG_LOG(SG_LOG_INFO, "msg=listening host=%s port=%u", host, http_server_port(app.server));

	sigwait(&sigs, &sig);
	SG_LOG(SG_LOG_INFO, "msg=\"shutting down\" signal=%d", sig);
	/*
	 * The simulator and the timer stop first (they publish), then the streams end (libmicrohttpd
	 * refuses to stop with suspended connections), then HTTP waits for the
	 * requests in flight; the store closes last.
	 */
	cli_simulator_stop(sim);
	sim = NULL;
	escalator_stop(escalator);
	escalator = NULL;
	feed_close(feed);
	http_server_stop(app.server);
	code = 0;
out:
	escalator_stop(escalator);
	if (app_ready)
		api_app_release(&app);
	store_close(store);
	catalog_free(cat);
	unit_index_free(units);
	free(policy);
	feed_free(feed);
	casefsm_free(fsm);
	classify_config_free(classify);
	return code;
}
