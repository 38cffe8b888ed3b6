/*
 * server.c — libmicrohttpd glue: bodies, routing, authentication hook,
 * answers and metrics.
 */
#include "http/server.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/err.h"
#include "base/log.h"

/* Latency buckets (seconds) for the histogram in /metrics. */
static const double latency_bounds[] = { 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
					 0.05,   0.1,   0.25,   0.5,   1.0,  5.0 };
#define NBOUNDS (sizeof latency_bounds / sizeof latency_bounds[0])

static const int known_status[] = { 200, 201, 204, 400, 401, 403, 404, 405, 409, 413, 500, 503 };
#define NSTATUS (sizeof known_status / sizeof known_status[0])

struct route_metrics {
	_Atomic uint64_t by_status[NSTATUS + 1]; /* last: any other status */
	_Atomic uint64_t buckets[NBOUNDS + 1];
	_Atomic uint64_t sum_us;
	_Atomic uint64_t count;
};

struct http_server {
	struct http_server_config cfg;
	struct MHD_Daemon *mhd;
	uint16_t port;
	struct route_metrics *metrics; /* nroutes + 1 (the last: unmatched) */
	_Atomic int waiting; /* deferred requests not yet done */
};

/*
 * A deferred request. lock orders the worker's "not done yet: suspend"
 * against the finisher's "done: resume", as in sse.c:
 *   worker:   lock -> done? unlock, answer now
 *             : suspended = true, MHD_suspend_connection -> unlock
 *   finisher: lock -> done = true; suspended? suspended = false,
 *             MHD_resume_connection -> unlock
 * Two references, the request's and the finisher's: the state may hold what
 * the other thread still uses, so it goes only when both are over.
 */
struct http_defer {
	pthread_mutex_t lock;
	struct http_server *server;
	struct MHD_Connection *conn;
	bool suspended;
	bool done;
	int refs;
	void *state;
	void (*free_state)(void *);
	void *session;
};

/* Per-request state while a body arrives, and while its answer is deferred. */
struct http_pending {
	struct http_server *server;
	struct sg_buf body;
	int too_big;
	struct timespec started;
	struct http_defer *defer;
};

static double elapsed_s(const struct timespec *t0)
{
	struct timespec t1;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) + (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

const char *http_query(const struct http_req *req, const char *name)
{
	return MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, name);
}

const char *http_header(const struct http_req *req, const char *name)
{
	return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

void http_json(struct http_resp *resp, int status)
{
	resp->status = status;
	resp->content_type = "application/json; charset=utf-8";
}

int http_error(struct http_resp *resp, int status, const char *code, const char *message,
	       const char *field)
{
	sg_buf_reset(&resp->body);
	sg_buf_puts(&resp->body, "{\"error\":{\"code\":");
	sg_buf_json_str(&resp->body, code);
	sg_buf_puts(&resp->body, ",\"message\":");
	sg_buf_json_str(&resp->body, message);
	if (field) {
		sg_buf_puts(&resp->body, ",\"field\":");
		sg_buf_json_str(&resp->body, field);
	}
	sg_buf_puts(&resp->body, "}}");
	http_json(resp, status);
	return SG_OK;
}

int http_add_header(struct http_resp *resp, const char *name, const char *value)
{
	char *v;

	if (resp->nheaders == HTTP_MAX_HEADERS)
		return SG_ETOOBIG;
	if (!(v = strdup(value)))
		return SG_ENOMEM;
	resp->hname[resp->nheaders] = name;
	resp->hvalue[resp->nheaders++] = v;
	return SG_OK;
}

/*
 * Matches path against a pattern segment by segment; {name} segments match
 * any non-empty segment and are collected into req->params.
 */
static int route_match(const char *pattern, const char *path, struct http_req *req,
		       char *scratch, size_t scratch_len)
{
	const char *p = pattern, *u = path;
	size_t used = 0;

	req->nparams = 0;
	while (*p && *u) {
		if (*p == '{') {
			const char *end = strchr(u, '/');
			size_t n = end ? (size_t)(end - u) : strlen(u);
			if (n == 0 || req->nparams == HTTP_MAX_PARAMS || used + n + 1 > scratch_len)
				return 0;
			memcpy(scratch + used, u, n);
			scratch[used + n] = '\0';
			req->params[req->nparams++] = scratch + used;
			used += n + 1;
			u += n;
			p = strchr(p, '}');
			if (!p)
				return 0;
			p++;
		} else if (*p == *u) {
			p++;
			u++;
		} else {
			return 0;
		}
	}
	return *p == '\0' && *u == '\0';
}

static void record(struct http_server *s, size_t route, int status, double secs)
{
	struct route_metrics *m = &s->metrics[route];
	size_t k = NSTATUS, b = 0;

	for (size_t i = 0; i < NSTATUS; i++) {
		if (known_status[i] == status) {
			k = i;
			break;
		}
	}
	while (b < NBOUNDS && secs > latency_bounds[b])
		b++;
	atomic_fetch_add(&m->by_status[k], 1);
	atomic_fetch_add(&m->buckets[b], 1);
	atomic_fetch_add(&m->sum_us, (uint64_t)(secs * 1e6));
	atomic_fetch_add(&m->count, 1);
}

static enum MHD_Result send_resp(struct MHD_Connection *conn, struct http_resp *r)
{
	size_t len;
	char *body = sg_buf_steal(&r->body, &len);
	struct MHD_Response *mr =
		MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
	enum MHD_Result ret;

	if (!mr) {
		free(body);
		return MHD_NO;
	}
	MHD_add_response_header(mr, "Content-Type",
				r->content_type ? r->content_type : "application/json");
	MHD_add_response_header(mr, "Cache-Control", "no-store");
	for (unsigned i = 0; i < r->nheaders; i++)
		MHD_add_response_header(mr, r->hname[i], r->hvalue[i]);
	ret = MHD_queue_response(conn, (unsigned)r->status, mr);
	MHD_destroy_response(mr);
	return ret;
}

static void resp_release(struct http_resp *r)
{
	sg_buf_release(&r->body);
	for (unsigned i = 0; i < r->nheaders; i++)
		free(r->hvalue[i]);
}

static void defer_unref(struct http_defer *d)
{
	struct http_server *s = d->server;
	int left;

	pthread_mutex_lock(&d->lock);
	left = --d->refs;
	pthread_mutex_unlock(&d->lock);
	if (left)
		return;
	if (d->free_state)
		d->free_state(d->state);
	if (d->session && s->cfg.release_session)
		s->cfg.release_session(s->cfg.app, d->session);
	pthread_mutex_destroy(&d->lock);
	free(d);
}

struct http_defer *http_defer(struct http_req *req, void *state, void (*free_state)(void *))
{
	struct http_pending *p = req->pending;
	struct http_defer *d;

	if (!p || !state || p->defer || req->deferred)
		return NULL;
	if (!(d = calloc(1, sizeof *d)))
		return NULL;
	pthread_mutex_init(&d->lock, NULL);
	d->server = p->server;
	d->conn = req->conn;
	d->refs = 2;
	d->state = state;
	d->free_state = free_state;
	p->defer = d;
	atomic_fetch_add(&p->server->waiting, 1);
	return d;
}

void http_defer_done(struct http_defer *d)
{
	struct http_server *s = d->server;

	pthread_mutex_lock(&d->lock);
	d->done = true;
	if (d->suspended) {
		d->suspended = false;
		MHD_resume_connection(d->conn);
	}
	pthread_mutex_unlock(&d->lock);
	atomic_fetch_sub(&s->waiting, 1);
	defer_unref(d);
}

/* The handler has just deferred its answer (and not failed). */
static bool deferring(const struct http_req *req, const struct http_resp *resp)
{
	return req->pending && req->pending->defer && !req->deferred && resp->status == 0;
}

static void dispatch(struct http_server *s, struct http_req *req, struct http_resp *resp,
		     size_t *route_out)
{
	char scratch[512];
	int path_matched = 0, hrc;

	*route_out = s->cfg.nroutes;
	for (size_t i = 0; i < s->cfg.nroutes; i++) {
		const struct http_route *rt = &s->cfg.routes[i];
		if (!route_match(rt->pattern, req->path, req, scratch, sizeof scratch))
			continue;
		path_matched = 1;
		if (strcmp(rt->method, req->method) != 0)
			continue;
		*route_out = i;
		/* A deferred request's second call has its session (the deferral owns it). */
		if (!req->deferred && !(rt->flags & HTTP_ROUTE_PUBLIC) && s->cfg.authenticate &&
		    s->cfg.authenticate(s->cfg.app, req, resp) != 0)
			return;
		hrc = rt->handler(s->cfg.app, req, resp);
		if (!hrc && deferring(req, resp)) {
			req->pending->defer->session = req->session;
			req->session = NULL;
			return;
		}
		if (hrc != 0 || resp->status == 0)
			http_error(resp, 500, "internal", "internal error", NULL);
		if (req->deferred) {
			req->session = NULL;
			return;
		}
		if (req->pending && req->pending->defer) {
			/* Deferred, then failed: the deferral keeps the session until it is done. */
			req->pending->defer->session = req->session;
			req->session = NULL;
			return;
		}
		if (req->session && s->cfg.release_session)
			s->cfg.release_session(s->cfg.app, req->session);
		req->session = NULL;
		return;
	}
	if (path_matched)
		http_error(resp, 405, "method_not_allowed", "method not allowed on this resource",
			   NULL);
	else
		http_error(resp, 404, "not_found", "no such resource", NULL);
}

/* The body cap for a request: larger for the bulk-ingest routes. */
static size_t body_cap(struct http_server *s, const char *url, const char *method)
{
	struct http_req probe;
	char scratch[512];

	memset(&probe, 0, sizeof probe);
	for (size_t i = 0; i < s->cfg.nroutes; i++) {
		const struct http_route *rt = &s->cfg.routes[i];
		if ((rt->flags & HTTP_ROUTE_BULK) && strcmp(rt->method, method) == 0 &&
		    route_match(rt->pattern, url, &probe, scratch, sizeof scratch))
			return s->cfg.max_bulk_body > s->cfg.max_body ? s->cfg.max_bulk_body
								       : s->cfg.max_body;
	}
	return s->cfg.max_body;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
				  const char *method, const char *version, const char *upload,
				  size_t *upload_size, void **con_cls)
{
	struct http_server *s = cls;
	struct http_pending *p = *con_cls;
	struct http_req req;
	struct http_resp resp;
	size_t route;
	enum MHD_Result ret;

	if (!p) {
		p = calloc(1, sizeof *p);
		if (!p)
			return MHD_NO;
		p->server = s;
		sg_buf_init(&p->body, body_cap(s, url, method));
		clock_gettime(CLOCK_MONOTONIC, &p->started);
		*con_cls = p;
		return MHD_YES;
	}
	if (*upload_size) {
		if (!p->too_big && sg_buf_append(&p->body, upload, *upload_size) != 0)
			p->too_big = 1;
		*upload_size = 0;
		return MHD_YES;
	}

again:
	memset(&req, 0, sizeof req);
	memset(&resp, 0, sizeof resp);
	sg_buf_init(&resp.body, 0);
	req.conn = conn;
	req.method = method;
	req.path = url;
	req.body = p->body.data ? p->body.data : "";
	req.body_len = p->body.len;
	req.pending = p;
	if (p->defer) {
		req.deferred = p->defer->state;
		req.session = p->defer->session;
	}
	if (p->too_big) {
		char msg[96];
		snprintf(msg, sizeof msg, "request body exceeds the limit of %zu bytes",
			 p->body.cap);
		http_error(&resp, 413, "too_large", msg, "body");
		route = s->cfg.nroutes;
	} else {
		dispatch(s, &req, &resp, &route);
	}
	if (deferring(&req, &resp)) {
		struct http_defer *d = p->defer;

		resp_release(&resp);
		pthread_mutex_lock(&d->lock);
		if (!d->done) {
			/* Resumed by http_defer_done; libmicrohttpd then calls us again. */
			d->suspended = true;
			MHD_suspend_connection(conn);
			pthread_mutex_unlock(&d->lock);
			return MHD_YES;
		}
		pthread_mutex_unlock(&d->lock);
		goto again; /* done already: answer now */
	}
	/* An answer that could not be written whole is not sent in part. */
	if (!resp.queued && resp.body.err)
		http_error(&resp, 500, "internal", "the answer could not be written", NULL);
	record(s, route, resp.status, elapsed_s(&p->started));
	ret = resp.queued ? MHD_YES : send_resp(conn, &resp);
	resp_release(&resp);
	return ret;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct http_pending *p = *con_cls;

	if (p) {
		if (p->defer)
			defer_unref(p->defer);
		sg_buf_release(&p->body);
		free(p);
		*con_cls = NULL;
	}
}

int http_server_start(const struct http_server_config *cfg, struct http_server **out)
{
	struct http_server *s = calloc(1, sizeof *s);
	struct sockaddr_in addr;
	const union MHD_DaemonInfo *info;

	if (!s)
		return SG_ENOMEM;
	s->cfg = *cfg;
	s->metrics = calloc(cfg->nroutes + 1, sizeof *s->metrics);
	if (!s->metrics) {
		free(s);
		return SG_ENOMEM;
	}
	memset(&addr, 0, sizeof addr);
	addr.sin_family = AF_INET;
	addr.sin_port = htons(cfg->port);
	if (inet_pton(AF_INET, cfg->host, &addr.sin_addr) != 1) {
		SG_LOG(SG_LOG_ERROR, "msg=\"bad listen address\" host=\"%s\"", cfg->host);
		free(s->metrics);
		free(s);
		return SG_EINVAL;
	}
	/*
	 * Suspend/resume lets idle event streams wait without holding a worker
	 * (http/sse.h). Turbo reads and writes a keep-alive socket before asking
	 * epoll whether it is ready, which is usually so: fewer system calls per
	 * request, the largest share of a small answer's cost.
	 */
	s->mhd = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL |
					  MHD_USE_TURBO | MHD_USE_ERROR_LOG |
					  MHD_ALLOW_SUSPEND_RESUME,
				  cfg->port, NULL, NULL, on_request, s,
				  MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
				  MHD_OPTION_THREAD_POOL_SIZE, (unsigned)(cfg->threads ? cfg->threads : 4),
				  MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
				  MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)60,
				  MHD_OPTION_CONNECTION_LIMIT, (unsigned)4096,
				  MHD_OPTION_LISTENING_ADDRESS_REUSE, (unsigned)1,
				  MHD_OPTION_END);
	if (!s->mhd) {
		SG_LOG(SG_LOG_ERROR, "msg=\"cannot listen\" host=\"%s\" port=%u", cfg->host,
		       cfg->port);
		free(s->metrics);
		free(s);
		return SG_EIO;
	}
	info = MHD_get_daemon_info(s->mhd, MHD_DAEMON_INFO_BIND_PORT);
	s->port = info ? info->port : cfg->port;
	*out = s;
	return SG_OK;
}

uint16_t http_server_port(const struct http_server *s)
{
	return s->port;
}

void http_server_stop(struct http_server *s)
{
	struct timespec tick = { 0, 1000000 };

	if (!s)
		return;
	/*
	 * libmicrohttpd may not stop with connections suspended: let the
	 * deferred requests finish (their commits take milliseconds).
	 */
	while (atomic_load(&s->waiting) > 0)
		nanosleep(&tick, NULL);
	MHD_stop_daemon(s->mhd);
	free(s->metrics);
	free(s);
}

int http_server_metrics(struct http_server *s, struct sg_buf *out)
{
	int rc = 0;

	rc |= sg_buf_puts(out, "# HELP safegrid_http_requests_total HTTP requests by route and status.\n"
			       "# TYPE safegrid_http_requests_total counter\n");
	for (size_t r = 0; r <= s->cfg.nroutes; r++) {
		const char *method = r < s->cfg.nroutes ? s->cfg.routes[r].method : "any";
		const char *route = r < s->cfg.nroutes ? s->cfg.routes[r].pattern : "unmatched";
		for (size_t k = 0; k <= NSTATUS; k++) {
			uint64_t v = atomic_load(&s->metrics[r].by_status[k]);
			if (!v)
				continue;
			if (k < NSTATUS)
				rc |= sg_buf_printf(out,
						    "safegrid_http_requests_total{method=\"%s\",route=\"%s\",status=\"%d\"} %llu\n",
						    method, route, known_status[k], (unsigned long long)v);
			else
				rc |= sg_buf_printf(out,
						    "safegrid_http_requests_total{method=\"%s\",route=\"%s\",status=\"other\"} %llu\n",
						    method, route, (unsigned long long)v);
		}
	}
	rc |= sg_buf_puts(out, "# HELP safegrid_http_request_seconds Request latency by route.\n"
			       "# TYPE safegrid_http_request_seconds histogram\n");
	for (size_t r = 0; r <= s->cfg.nroutes; r++) {
		const char *method = r < s->cfg.nroutes ? s->cfg.routes[r].method : "any";
		const char *route = r < s->cfg.nroutes ? s->cfg.routes[r].pattern : "unmatched";
		uint64_t cum = 0, count = atomic_load(&s->metrics[r].count);
		if (!count)
			continue;
		for (size_t b = 0; b < NBOUNDS; b++) {
			cum += atomic_load(&s->metrics[r].buckets[b]);
			rc |= sg_buf_printf(out,
					    "safegrid_http_request_seconds_bucket{method=\"%s\",route=\"%s\",le=\"%g\"} %llu\n",
					    method, route, latency_bounds[b], (unsigned long long)cum);
		}
		rc |= sg_buf_printf(out,
				    "safegrid_http_request_seconds_bucket{method=\"%s\",route=\"%s\",le=\"+Inf\"} %llu\n"
				    "safegrid_http_request_seconds_sum{method=\"%s\",route=\"%s\"} %.6f\n"
				    "safegrid_http_request_seconds_count{method=\"%s\",route=\"%s\"} %llu\n",
				    method, route, (unsigned long long)count, method, route,
				    (double)atomic_load(&s->metrics[r].sum_us) / 1e6, method, route,
				    (unsigned long long)count);
	}
	return rc ? SG_ENOMEM : SG_OK;
}
