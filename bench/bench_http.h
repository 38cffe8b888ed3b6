/*
 * bench_http.h — what the HTTP benchmarks share: starting the real server on
 * a copy of a prepared demo store, a blocking keep-alive HTTP/1.1 client
 * (enough for our own server: Content-Length bodies only), logging in, and
 * clocks. Header-only (static inline) so each bench stays one file.
 */
#ifndef SAFEGRID_BENCH_BENCH_HTTP_H
#define SAFEGRID_BENCH_BENCH_HTTP_H

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "demo/history.h"
#include "store/store.h"

static inline double bench_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

struct bench_conn {
	int fd;
	char *buf; /* the last response: headers and body */
	size_t len, cap;
	int status;
	const char *body; /* into buf */
	size_t body_len;
};

static inline int bench_connect(struct bench_conn *c, int port)
{
	struct sockaddr_in a;
	int one = 1;

	memset(c, 0, sizeof *c);
	c->fd = socket(AF_INET, SOCK_STREAM, 0);
	if (c->fd < 0)
		return -1;
	memset(&a, 0, sizeof a);
	a.sin_family = AF_INET;
	a.sin_port = htons((uint16_t)port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	if (connect(c->fd, (struct sockaddr *)&a, sizeof a) != 0) {
		close(c->fd);
		c->fd = -1;
		return -1;
	}
	return 0;
}

static inline void bench_close(struct bench_conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	free(c->buf);
	memset(c, 0, sizeof *c);
	c->fd = -1;
}

static inline int bench_write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/*
 * Sends one request (body may be NULL) and reads the whole response into c.
 * Returns 0 with c->status set, -1 on a broken connection.
 */
static inline int bench_request(struct bench_conn *c, const char *method, const char *path,
				const char *token, const char *ctype, const char *body,
				size_t body_len)
{
	char head[1024];
	int hl = snprintf(head, sizeof head,
			  "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: keep-alive\r\n"
			  "%s%s%s%s%s%sContent-Length: %zu\r\n\r\n",
			  method, path, token ? "Authorization: Bearer " : "", token ? token : "",
			  token ? "\r\n" : "", ctype ? "Content-Type: " : "", ctype ? ctype : "",
			  ctype ? "\r\n" : "", body ? body_len : 0);
	size_t need = 0, hdr_end = 0;

	if (hl <= 0 || (size_t)hl >= sizeof head || bench_write_all(c->fd, head, (size_t)hl) ||
	    (body && bench_write_all(c->fd, body, body_len)))
		return -1;
	c->len = 0;
	for (;;) {
		ssize_t r;
		if (c->cap - c->len < 65536) {
			size_t nc = c->cap ? c->cap * 2 : 131072;
			char *nb = realloc(c->buf, nc + 1);
			if (!nb)
				return -1;
			c->buf = nb;
			c->cap = nc;
		}
		r = read(c->fd, c->buf + c->len, c->cap - c->len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		c->len += (size_t)r;
		c->buf[c->len] = '\0';
		if (!hdr_end) {
			char *e = strstr(c->buf, "\r\n\r\n");
			const char *cl;
			if (!e)
				continue;
			hdr_end = (size_t)(e - c->buf) + 4;
			c->status = (int)strtol(c->buf + 9, NULL, 10); /* "HTTP/1.1 200" */
			cl = strcasestr(c->buf, "\r\nContent-Length:");
			need = hdr_end + (cl && cl < e ? strtoul(cl + 17, NULL, 10) : 0);
		}
		if (hdr_end && c->len >= need)
			break;
	}
	c->body = c->buf + hdr_end;
	c->body_len = need - hdr_end;
	return 0;
}

/* Logs in as name/password; writes the token into token (cap bytes). */
static inline int bench_login(int port, const char *name, const char *password, char *token,
			      size_t cap)
{
	struct bench_conn c;
	char body[256];
	const char *t, *e;
	int n = snprintf(body, sizeof body, "{\"name\":\"%s\",\"password\":\"%s\"}", name, password);
	int rc = -1;

	if (bench_connect(&c, port))
		return -1;
	if (!bench_request(&c, "POST", "/api/v1/login", NULL, "application/json", body,
			   (size_t)n) &&
	    c.status == 200 && (t = strstr(c.body, "\"token\":\"")) && (e = strchr(t + 9, '"')) &&
	    (size_t)(e - t - 9) < cap) {
		memcpy(token, t + 9, (size_t)(e - t - 9));
		token[e - t - 9] = '\0';
		rc = 0;
	}
	bench_close(&c);
	return rc;
}

/* Copies a file (the prepared demo store), for a server that will write to it. */
static inline int bench_copy(const char *from, const char *to)
{
	FILE *in = fopen(from, "rb"), *out = in ? fopen(to, "wb") : NULL;
	static char buf[1 << 20];
	size_t n;
	int rc = 0;

	if (!in || !out) {
		if (in)
			fclose(in);
		return -1;
	}
	while ((n = fread(buf, 1, sizeof buf, in)) > 0) {
		if (fwrite(buf, 1, n, out) != n) {
			rc = -1;
			break;
		}
	}
	fclose(in);
	/*
	 * On disk before the server starts, as a real store is: otherwise the
	 * server's first checkpoint (its first fsync of the database) also
	 * writes out the whole copy, and the first commits wait behind it.
	 */
	if (fflush(out) || fsync(fileno(out)))
		rc = -1;
	if (fclose(out))
		rc = -1;
	return rc;
}

/*
 * Starts `bin serve --db db --listen 127.0.0.1:port` plus extra arguments
 * (NULL-terminated) and waits until /healthz answers (up to 60 s). Returns the
 * pid, or -1. The server's log goes to log_path.
 */
static inline pid_t bench_start_server(const char *bin, const char *db, int port,
				       const char *log_path, const char *const *extra)
{
	char listen[32];
	const char *argv[32];
	int n = 0;
	pid_t pid;

	snprintf(listen, sizeof listen, "127.0.0.1:%d", port);
	argv[n++] = bin;
	argv[n++] = "serve";
	argv[n++] = "--db";
	argv[n++] = db;
	argv[n++] = "--listen";
	argv[n++] = listen;
	for (; extra && *extra && n < 30; extra++)
		argv[n++] = *extra;
	argv[n] = NULL;
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		FILE *l = freopen(log_path, "w", stderr);
		(void)l;
		if (!freopen("/dev/null", "w", stdout))
			_exit(127);
		execv(bin, (char *const *)argv);
		_exit(127);
	}
	for (int i = 0; i < 600; i++) {
		struct bench_conn c;
		int status;
		if (waitpid(pid, &status, WNOHANG) == pid)
			return -1;
		if (!bench_connect(&c, port)) {
			int ok = !bench_request(&c, "GET", "/healthz", NULL, NULL, NULL, 0) &&
				 c.status == 200;
			bench_close(&c);
			if (ok)
				return pid;
		}
		usleep(100000);
	}
	kill(pid, SIGTERM);
	waitpid(pid, NULL, 0);
	return -1;
}

/* Removes a store file with its WAL and shared-memory files. */
static inline void bench_remove_db(const char *db)
{
	static const char *const suffixes[] = { "", "-wal", "-shm" };
	char path[1024];

	if (!*db)
		return; /* never made */
	for (size_t i = 0; i < 3; i++) {
		snprintf(path, sizeof path, "%s%s", db, suffixes[i]);
		unlink(path);
	}
}

static inline void bench_stop_server(pid_t pid)
{
	if (pid > 0) {
		kill(pid, SIGTERM);
		waitpid(pid, NULL, 0);
	}
}

/*
 * Makes sure path holds a demo store with its history: when the file does
 * not exist yet, builds the demo city and accounts (as `safegrid demo` does)
 * and loads three years of history up to now (about a minute); an existing
 * file is taken as it is.
 */
static inline int bench_prepare_demo(const char *path)
{
	struct store *s = NULL;
	struct area_set set;
	struct stat st;
	size_t n = 0;
	double t0 = bench_now();
	int rc;

	if (stat(path, &st) == 0)
		return 0;
	fprintf(stderr, "building the demo store with its history in %s (once)\n", path);
	if ((rc = store_open(path, &s)))
		return rc;
	area_set_init(&set);
	if (!(rc = cli_demo_fill(s, 1, false)) && !(rc = store_areas_load(s, &set)))
		rc = demo_history_load(s, &set, 1, (int64_t)time(NULL), &n);
	area_set_release(&set);
	store_close(s);
	if (rc) {
		bench_remove_db(path);
		return rc;
	}
	fprintf(stderr, "demo store ready: %zu historical cases, %.1f s\n", n, bench_now() - t0);
	return 0;
}

/*
 * The server a benchmark measures: on a copy of the demo store (made first if
 * need be), DEMO.bench-NAME.db, logging to DEMO.bench-NAME.log (db and log
 * receive the paths), with a token of the demo account user in token. Returns
 * the server's pid; -1 after saying on stderr what failed (a server started
 * is stopped again).
 */
static inline pid_t bench_server_on_copy(const char *demo, const char *name, const char *bin,
					 int port, const char *const *extra, const char *user,
					 char *db, size_t dbcap, char *log, size_t logcap,
					 char *token, size_t tokcap)
{
	pid_t pid;

	if (bench_prepare_demo(demo)) {
		fprintf(stderr, "cannot prepare the demo store %s\n", demo);
		return -1;
	}
	snprintf(db, dbcap, "%s.bench-%s.db", demo, name);
	snprintf(log, logcap, "%s.bench-%s.log", demo, name);
	if (bench_copy(demo, db)) {
		fprintf(stderr, "cannot copy %s\n", demo);
		return -1;
	}
	pid = bench_start_server(bin, db, port, log, extra);
	if (pid < 0) {
		fprintf(stderr, "server did not start (log: %s)\n", log);
		return -1;
	}
	if (bench_login(port, user, "safegrid-demo", token, tokcap)) {
		fprintf(stderr, "login failed\n");
		bench_stop_server(pid);
		return -1;
	}
	return pid;
}

/* The value of option name in argv, or def. */
static inline const char *bench_opt(int argc, char **argv, const char *name, const char *def)
{
	for (int i = 1; i + 1 < argc; i++) {
		if (strcmp(argv[i], name) == 0)
			return argv[i + 1];
	}
	return def;
}

/* The value of the /metrics line that starts with name (followed by a space), or -1. */
static inline double bench_metric(const char *body, const char *name)
{
	const char *p = body;
	size_t n = strlen(name);

	while ((p = strstr(p, name))) {
		if ((p == body || p[-1] == '\n') && p[n] == ' ')
			return strtod(p + n + 1, NULL);
		p += n;
	}
	return -1;
}

static inline int bench_cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

#endif
