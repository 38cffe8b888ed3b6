/*
 * server.h — the HTTP server: libmicrohttpd, a route table, bodies with a
 * cap, one JSON error shape, and per-route metrics.
 *
 * Handlers run on libmicrohttpd's worker threads with the whole request body
 * in memory. Every error answer has the shape
 *   {"error":{"code":"...","message":"...","field":"..."}}
 * and is produced with http_error.
 */
#ifndef SAFEGRID_HTTP_SERVER_H
#define SAFEGRID_HTTP_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"

struct MHD_Connection;
struct http_server;
struct http_pending;
struct http_defer;

#define HTTP_MAX_PARAMS 4

struct http_req {
	struct MHD_Connection *conn;
	const char *method;
	const char *path;
	const char *body;       /* NUL-terminated copy of the body (may be "") */
	size_t body_len;
	const char *params[HTTP_MAX_PARAMS]; /* {name} segments of the route, in order */
	unsigned nparams;
	void *session;          /* set by the server's authenticate hook */
	void *deferred;         /* the handler's second call: its state (see http_defer) */
	struct http_pending *pending; /* the server's */
};

#define HTTP_MAX_HEADERS 4

struct http_resp {
	int status;
	const char *content_type; /* static string */
	struct sg_buf body;
	const char *hname[HTTP_MAX_HEADERS];
	char *hvalue[HTTP_MAX_HEADERS]; /* owned */
	unsigned nheaders;
	/* The handler queued its own libmicrohttpd response (a stream) and set status: send nothing. */
	bool queued;
};

/* A handler fills resp and returns 0; a non-zero return becomes a 500. */
typedef int (*http_handler_fn)(void *app, struct http_req *req, struct http_resp *resp);

enum http_route_flags {
	HTTP_ROUTE_PUBLIC = 1 << 0, /* no token needed */
	HTTP_ROUTE_BULK = 1 << 1,   /* bodies up to max_bulk_body (batch ingest) */
};

struct http_route {
	const char *method;
	const char *pattern; /* "/api/v1/areas/{id}/children" */
	http_handler_fn handler;
	unsigned flags;
};

/*
 * Called before every non-public route: returns 0 and sets req->session, or
 * fills resp with the error (401) and returns non-zero.
 */
typedef int (*http_auth_fn)(void *app, struct http_req *req, struct http_resp *resp);
/* Releases what the authenticate hook put in req->session. */
typedef void (*http_session_release_fn)(void *app, void *session);

struct http_server_config {
	const char *host;      /* "127.0.0.1" */
	uint16_t port;         /* 0: any free port (see http_server_port) */
	unsigned threads;
	size_t max_body;       /* bytes; larger bodies get 413 */
	size_t max_bulk_body;  /* the same for HTTP_ROUTE_BULK routes */
	const struct http_route *routes;
	size_t nroutes;
	http_auth_fn authenticate;
	http_session_release_fn release_session;
	void *app;
};

/* Starts listening. *out set on success; caller stops with http_server_stop. */
int http_server_start(const struct http_server_config *cfg, struct http_server **out);
/* The bound port (useful with port 0). */
uint16_t http_server_port(const struct http_server *s);
/*
 * Waits for the deferred requests (http_defer) to be done, then stops
 * accepting connections and waits for the requests in flight to finish
 * (including their commits). NULL does nothing.
 */
void http_server_stop(struct http_server *s);

/* Appends the server's Prometheus metrics (requests, latencies) to out. */
int http_server_metrics(struct http_server *s, struct sg_buf *out);

/* A query-string argument, or NULL. Borrowed for the request's lifetime. */
const char *http_query(const struct http_req *req, const char *name);
/* A request header, or NULL. */
const char *http_header(const struct http_req *req, const char *name);

/* Fills resp with the JSON error shape. field may be NULL. Returns 0. */
int http_error(struct http_resp *resp, int status, const char *code, const char *message,
	       const char *field);
/* Sets status and JSON content type; the handler has written resp->body. */
void http_json(struct http_resp *resp, int status);
/* Adds a response header (value copied). */
int http_add_header(struct http_resp *resp, const char *name, const char *value);

/*
 * Answering after work on another thread (a store commit) without holding a
 * worker: libmicrohttpd's workers serve their connections one at a time, so
 * a handler that sleeps stalls every connection of its worker.
 *
 * A handler hands its work on, calls http_defer(req, state, free_state) and
 * returns 0 leaving resp empty; the server suspends the connection. The
 * other thread calls http_defer_done(d) exactly once when the work is over
 * (it may be before the handler returns); the server then resumes the
 * connection and calls the same handler again, with req->deferred == state
 * and the same session, and that call answers. state (and the session) are
 * freed once both the request and http_defer_done are over. Returns NULL if
 * out of memory, if state is NULL or if the request was deferred already
 * (nothing changed then).
 */
struct http_defer *http_defer(struct http_req *req, void *state, void (*free_state)(void *));
/* The deferred work is over: the handler will be called again. Any thread. */
void http_defer_done(struct http_defer *d);

#endif
