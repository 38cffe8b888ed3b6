/*
 * api_events.c — bulk ingest (POST /api/v1/events): NDJSON lines of reports
 * and of the other event kinds (api_event_kinds, api_units.c), each line
 * checked on its own, the valid ones stored in one transaction per kind and
 * answered once durable. Each report goes through the same intake as POST
 * /api/v1/reports (api_intake_read, api_cases.c); this file is the batching,
 * the chained commits and the answer, not the reading of a report.
 */
#include "http/api.h"

#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/json.h"
#include "base/lines.h"

#define EVENTS_MAX_LINES 50000

static void write_rejection(struct sg_buf *b, int *first, long line, const char *code,
			    const char *message, const char *field)
{
	sg_buf_printf(b, "%s{\"line\":%ld,\"error\":{\"code\":", *first ? "" : ",", line);
	sg_buf_json_str(b, code);
	sg_buf_puts(b, ",\"message\":");
	sg_buf_json_str(b, message);
	if (field && *field) {
		sg_buf_puts(b, ",\"field\":");
		sg_buf_json_str(b, field);
	}
	sg_buf_puts(b, "}}");
	*first = 0;
}

/*
 * A bulk request waiting for its commits (POST /api/v1/events): the reports
 * in one transaction, then each event kind's batch in one, in that order and
 * each only if the one before it is durable; the commits are chained from
 * the store's core thread, the connection is suspended meanwhile, and the
 * handler's second call answers.
 */
struct events_wait {
	struct app *app;
	struct api_intake *ins; /* ins[i].r.text borrows from objs[i] */
	struct store_case_open **ops;
	json_t **objs;
	size_t n, alloc;
	void *batches[API_EVENT_KINDS_MAX];
	struct sg_buf rej; /* the "rejected" entries, written at once */
	struct http_defer *d;
	long cur;          /* the batch in flight: -1 the reports, else its kind */
	size_t next;       /* the next kind to queue */
	bool reports_ok;   /* durable, so published on answering */
	bool kind_ok[API_EVENT_KINDS_MAX];
	int rc;            /* the first failed commit's */
};

static void events_wait_free(void *arg)
{
	struct events_wait *w = arg;

	for (size_t k = 0; k < api_nevent_kinds; k++) {
		if (w->batches[k])
			api_event_kinds[k].release(w->batches[k]);
	}
	for (size_t i = 0; i < w->n; i++)
		json_decref(w->objs[i]);
	free(w->objs);
	free(w->ins);
	free(w->ops);
	sg_buf_release(&w->rej);
	free(w);
}

static void events_committed(void *arg, int rc);

/* Queues the next kind's batch or, when none is left (or one failed), hands the answer back. */
static void events_next(struct events_wait *w)
{
	size_t k;
	int rc;

	while (w->next < api_nevent_kinds && !w->batches[w->next])
		w->next++;
	if (w->next == api_nevent_kinds) {
		http_defer_done(w->d);
		return;
	}
	k = w->next++;
	w->cur = (long)k;
	if ((rc = api_event_kinds[k].submit(w->app, w->batches[k], events_committed, w))) {
		w->rc = rc;
		http_defer_done(w->d);
	}
}

/* On the store's syncer thread: the batch in flight is durable (or failed). */
static void events_committed(void *arg, int rc)
{
	struct events_wait *w = arg;

	if (rc) {
		w->rc = rc;
		http_defer_done(w->d);
		return;
	}
	if (w->cur < 0)
		w->reports_ok = true;
	else
		w->kind_ok[w->cur] = true;
	events_next(w);
}

static int events_answer(struct app *app, struct events_wait *w, struct http_resp *resp)
{
	size_t stored = 0;

	/* What is durable is published even when a later batch failed. */
	for (size_t i = 0; w->reports_ok && i < w->n; i++)
		(w->ins[i].op.joined ? api_case_updated : api_case_created)(app, &w->ins[i].c);
	for (size_t k = 0; k < api_nevent_kinds; k++) {
		size_t got = 0;
		if (w->kind_ok[k])
			api_event_kinds[k].after(app, w->batches[k], &got);
		stored += got;
	}
	if (w->rc)
		return w->rc;
	sg_buf_printf(&resp->body, "{\"accepted\":%zu,\"rejected\":[%s]}", w->n + stored,
		      w->rej.data ? w->rej.data : "");
	http_json(resp, 200);
	return SG_OK;
}

/*
 * Bulk ingest: one event per line (NDJSON) for systems that send thousands a
 * second. Every line is checked on its own; a malformed line is listed in
 * "rejected" with its number (from 1) and never stops the others; the valid
 * lines are stored together in one transaction, and the answer comes once
 * they are durable. Event kinds: "report" (the members of POST
 * /api/v1/reports) and those of api_event_kinds (api_units.c), each
 * stored as one batch after the reports. The worker is not held while the
 * batches commit (see struct events_wait).
 */
int api_events_ingest(void *appv, struct http_req *req, struct http_resp *resp)
{
	struct app *app = appv;
	struct api_session *s = req->session;
	const char *ctype = http_header(req, "Content-Type");
	const char *p = req->body, *end = req->body + req->body_len;
	struct events_wait *w = NULL;
	bool any = false;
	long line = 0;
	int first = 1, rc = SG_OK;

	if (req->deferred)
		return events_answer(app, req->deferred, resp);
	if (!api_role_may_write_cases(s->role))
		return http_error(resp, 403, "forbidden", "this role may not ingest events", NULL);
	if (!ctype || (strncmp(ctype, "application/x-ndjson", 20) != 0 &&
		       strncmp(ctype, "application/ndjson", 18) != 0))
		return http_error(resp, 415, "unsupported_media_type",
				  "send application/x-ndjson: one JSON event per line", "Content-Type");
	if (!(w = calloc(1, sizeof *w)))
		return SG_ENOMEM;
	w->app = app;
	w->cur = -1;
	sg_buf_init(&w->rej, 0);
	for (;;) {
		size_t len;
		const char *text = sg_next_line(&p, end, &len);
		struct classify_result cls;
		struct intake_error e;
		json_error_t jerr;
		json_t *obj, *kind;
		int jrc;

		if (!text)
			break;
		line++;
		if (line > EVENTS_MAX_LINES) {
			http_error(resp, 413, "too_large", "at most 50000 lines per request", "body");
			goto out;
		}
		if (len == 0)
			continue;
		obj = sg_json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr, &jrc);
		if (jrc == SG_ENOMEM) {
			/* A line lost to memory is no bad line: the whole request fails, to be retried. */
			http_error(resp, 503, "unavailable", "out of memory reading the events", NULL);
			goto out;
		}
		if (!obj) {
			char msg[200];
			snprintf(msg, sizeof msg, "invalid JSON at column %d: %.120s", jerr.column,
				 jerr.text);
			write_rejection(&w->rej, &first, line, "invalid_json", msg, "line");
			continue;
		}
		kind = json_object_get(obj, "kind");
		if (json_is_object(obj) && json_is_string(kind) &&
		    strcmp(json_string_value(kind), "report") != 0) {
			/* Another kind: its own parser checks the line and adds it to its batch. */
			size_t k = 0;
			while (k < api_nevent_kinds &&
			       strcmp(api_event_kinds[k].name, json_string_value(kind)) != 0)
				k++;
			if (k == api_nevent_kinds)
				write_rejection(&w->rej, &first, line, "invalid",
						"kind must be report or unit_position", "kind");
			else if (api_event_kinds[k].parse(app, s, obj, &w->batches[k], &e))
				write_rejection(&w->rej, &first, line, e.code, e.message, e.field);
			json_decref(obj);
			continue;
		}
		if (!json_is_object(obj) || !json_is_string(kind)) {
			write_rejection(&w->rej, &first, line, "invalid",
					"each line must be an object with a \"kind\"", "kind");
			json_decref(obj);
			continue;
		}
		if (w->n == w->alloc) {
			size_t na = w->alloc ? w->alloc * 2 : 64;
			struct api_intake *ni = realloc(w->ins, na * sizeof *ni);
			json_t **no;
			if (!ni) {
				json_decref(obj);
				rc = SG_ENOMEM;
				goto out;
			}
			w->ins = ni;
			if (!(no = realloc(w->objs, na * sizeof *no))) {
				json_decref(obj);
				rc = SG_ENOMEM;
				goto out;
			}
			w->objs = no;
			w->alloc = na;
		}
		if (api_intake_read(app, s, obj, "kind", &w->ins[w->n], &cls, &e)) {
			write_rejection(&w->rej, &first, line, e.code, e.message, e.field);
			json_decref(obj);
			continue;
		}
		w->objs[w->n++] = obj;
	}
	for (size_t k = 0; k < api_nevent_kinds; k++)
		any |= w->batches[k] != NULL;
	if (!w->n && !any) {
		/* Nothing to store: the answer needs no commit. */
		rc = events_answer(app, w, resp);
		goto out;
	}
	if (w->n) {
		if (!(w->ops = malloc(w->n * sizeof *w->ops))) {
			rc = SG_ENOMEM;
			goto out;
		}
		/* The intake array no longer moves: point each op at its own case and report. */
		for (size_t i = 0; i < w->n; i++) {
			w->ins[i].op.c = &w->ins[i].c;
			w->ins[i].op.r = &w->ins[i].r;
			w->ops[i] = &w->ins[i].op;
		}
	}
	if (!(w->d = http_defer(req, w, events_wait_free))) {
		rc = SG_ENOMEM;
		goto out;
	}
	/* From here the deferral owns w (and the session the ops' actor borrows). */
	if (!w->n)
		events_next(w);
	else if ((rc = store_case_open_many_async(app->store, w->ops, w->n, events_committed, w)))
		events_committed(w, rc); /* nothing queued: the second call answers the error */
	return SG_OK;
out:
	events_wait_free(w);
	return rc;
}
