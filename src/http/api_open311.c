/*
 * api_open311.c — Open311 GeoReport v2 for the 12345 hotline's partners:
 * the category taxonomy as services, service requests filed as 12345
 * reports (through the same pipeline as POST /api/v1/reports), and the
 * cases they open read back as service requests. JSON only (no .xml), no
 * discovery document, no service definitions (every service has
 * metadata false).
 *
 * Partner documentation (GeoReport v2 as served by safegrid):
 *
 *   Authentication. Like every API call: a Bearer token from POST
 *   /api/v1/login (each partner gets an account). api_key is not used: it
 *   is accepted in a POST and ignored, and it never authenticates.
 *   jurisdiction_id is accepted and ignored (one jurisdiction).
 *
 *   GET /open311/v2/services.json — one service per category:
 *   service_code (category id), service_name (Chinese name), description
 *   (English name), metadata false, type "realtime", keywords
 *   ("<id>,police|non-police,<English name>"), group (the Chinese name of
 *   the department the category goes to city-wide; police categories: the
 *   station owning the place).
 *
 *   POST /open311/v2/requests.json — Content-Type
 *   application/x-www-form-urlencoded (UTF-8; at most 64 fields, 8 KB per
 *   value). Fields: service_code (required, a service_code from
 *   services.json: the operator-given category), lat and long (required,
 *   WGS-84 decimal degrees; extension: crs=gcj02|bd09 for Chinese map
 *   coordinates), description (required: the report's text),
 *   address_string (appended to the text as "地址：…"), last_name and
 *   first_name (the caller's name, stored as last_name+first_name, at most
 *   64 bytes), phone (the caller's number, stored; masked for roles that
 *   do not see personal data), email, device_id, account_id, media_url and
 *   attribute[...] (accepted, not stored), api_key and jurisdiction_id
 *   (ignored). address_id is refused (lat and long are required). Any
 *   other field, or a field other than attribute[...] given twice, is a
 *   400 naming it. The request becomes a report with source "12345"; it
 *   opens a case (201) or joins an open case of the same category nearby
 *   (200), and the answer is
 *     [{"service_request_id":"<case id>","service_notice":"…","account_id":null}]
 *   so several requests about one matter share a service_request_id.
 *
 *   GET /open311/v2/requests.json — the caller's cases (only those in the
 *   caller's jurisdiction), newest first. service_request_id=1,2,3
 *   (at most 1000; overrides every other parameter; unknown or unseen ids
 *   are left out), service_code=a,b, start_date and end_date (ISO 8601 with
 *   a time zone: 2026-11-28T09:30:00Z or …+08:00; on the case's creation),
 *   status=open|closed|open,closed. Without dates: the last 90 days; at
 *   most 1000 requests.
 *
 *   GET /open311/v2/requests/{id}.json — an array with that one request.
 *
 *   A service request: service_request_id (string), status ("closed" when
 *   the case is resolved or in a terminal state of its type, else "open"),
 *   status_notes (the case's state: sent, acknowledged, in_progress, …),
 *   service_name, service_code, description (the first report's text),
 *   agency_responsible (the department's Chinese name, or the station's
 *   name for police cases), service_notice (null), requested_datetime,
 *   updated_datetime, expected_datetime (the case's deadline), all UTC
 *   ISO 8601 with "Z"; address, address_id, zipcode, media_url (null);
 *   lat, long (WGS-84).
 *
 *   Errors: deviation from GeoReport v2, which answers an array of
 *   {"code","description"}: safegrid answers its one error shape
 *   {"error":{"code","message","field"}} with the HTTP status; a 400 names
 *   the form field at fault (service_code, lat, long, description, phone,
 *   last_name, …), and nothing is stored. 401 without a valid token, 403
 *   for a role that may not file reports (analyst), 404 for an unknown
 *   request or one outside the caller's jurisdiction, 413 for a form over
 *   its limits, 415 for a body that is not form-encoded.
 */
#include "http/api.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "base/err.h"
#include "http/form.h"

#define O311_LIMIT 1000                    /* requests per answer (the spec's default) */
#define O311_DEFAULT_SPAN (90 * 86400)     /* seconds before end_date (or now) */
#define O311_MAX_CODES 64

/* ---- shared pieces ------------------------------------------------------ */

static bool o311_case_visible(struct app *app, const struct catalog_scope *scope,
			      const struct case_row *c)
{
	if (scope->all)
		return true;
	for (int k = 0; k < AREA_KIND_COUNT; k++) {
		uint32_t i = c->area_ids[k] ? catalog_find(app->catalog, c->area_ids[k]) : CATALOG_NONE;
		if (i != CATALOG_NONE && catalog_visible(scope, i))
			return true;
	}
	return false;
}

static bool category_by_id(struct app *app, const char *id, struct classify_category_info *out)
{
	size_t n = classify_category_count(app->classify);

	for (size_t i = 0; i < n; i++) {
		if (classify_category_get(app->classify, i, out) == 0 && strcmp(out->id, id) == 0)
			return true;
	}
	return false;
}

/* "open" or "closed", as GeoReport has only those two. */
static const char *o311_status(struct app *app, const struct case_row *c)
{
	int type = casefsm_type(app->fsm, c->type);

	if (strcmp(c->status, "resolved") == 0 || (type >= 0 && casefsm_terminal(app->fsm, type, c->status)))
		return "closed";
	return "open";
}

/*
 * Who handles the case, in words a partner can pass on: the station's name
 * for police cases (when the caller may see the station), else the
 * department's Chinese name (its id when it has none).
 */
static void agency(struct app *app, const struct catalog_scope *scope, const struct case_row *c,
		   char *out, size_t cap)
{
	const char *dept = classify_department_name(app->classify, c->department);
	uint32_t st = c->area_ids[AREA_STATION] ? catalog_find(app->catalog, c->area_ids[AREA_STATION])
						: CATALOG_NONE;

	if (c->police && st != CATALOG_NONE && (scope->all || catalog_visible(scope, st))) {
		catalog_name(app->catalog, st, out, cap);
		return;
	}
	snprintf(out, cap, "%s", dept ? dept : c->department);
}

/* Writes one service request object. text is the first report's text (may be NULL). */
static void write_request(struct app *app, const struct catalog_scope *scope, struct sg_buf *b,
			  const struct case_row *c, const char *text)
{
	struct classify_category_info info;
	char t1[32], t2[32], t3[32], org[512];

	api_format_time(c->created_at, t1);
	api_format_time(c->updated_at, t2);
	api_format_time(c->deadline_at, t3);
	agency(app, scope, c, org, sizeof org);
	sg_buf_printf(b, "{\"service_request_id\":\"%lld\",\"status\":\"%s\",\"status_notes\":",
		      (long long)c->id, o311_status(app, c));
	sg_buf_json_str(b, c->status);
	sg_buf_puts(b, ",\"service_name\":");
	if (category_by_id(app, c->category, &info))
		sg_buf_json_str(b, info.name_zh);
	else
		sg_buf_json_str(b, c->category);
	sg_buf_puts(b, ",\"service_code\":");
	sg_buf_json_str(b, c->category);
	sg_buf_puts(b, ",\"description\":");
	if (text)
		sg_buf_json_str(b, text);
	else
		sg_buf_puts(b, "null");
	sg_buf_puts(b, ",\"agency_responsible\":");
	sg_buf_json_str(b, org);
	sg_buf_printf(b,
		      ",\"service_notice\":null,\"requested_datetime\":\"%s\","
		      "\"updated_datetime\":\"%s\",\"expected_datetime\":\"%s\",\"address\":null,"
		      "\"address_id\":null,\"zipcode\":null,\"lat\":%.7f,\"long\":%.7f,"
		      "\"media_url\":null}",
		      t1, t2, t3, c->lat, c->lon);
}

/* Writes a case as a request, reading its first report for the description. */
static int write_case_request(struct app *app, const struct catalog_scope *scope,
			      struct sg_buf *b, const struct case_row *c)
{
	struct report_row *reports = NULL;
	size_t n = 0;
	int rc = store_case_reports(app->store, c->id, &reports, &n);

	if (rc)
		return rc;
	write_request(app, scope, b, c, n ? reports[0].text : NULL);
	store_reports_free(reports, n);
	return SG_OK;
}

/* ---- GET /open311/v2/services.json ---------------------------------------- */

int api_open311_services(void *appv, struct http_req *req, struct http_resp *resp)
{
	struct app *app = appv;
	size_t n = classify_category_count(app->classify);
	int first = 1;

	(void)req;
	sg_buf_putc(&resp->body, '[');
	for (size_t i = 0; i < n; i++) {
		struct classify_category_info info;
		const char *dept = CLASSIFY_STATION, *group;
		if (classify_category_get(app->classify, i, &info))
			continue;
		if (!info.police)
			classify_route(app->classify, info.id, NULL, &dept);
		group = classify_department_name(app->classify, dept);
		sg_buf_puts(&resp->body, first ? "{\"service_code\":" : ",{\"service_code\":");
		first = 0;
		sg_buf_json_str(&resp->body, info.id);
		sg_buf_puts(&resp->body, ",\"service_name\":");
		sg_buf_json_str(&resp->body, info.name_zh);
		sg_buf_puts(&resp->body, ",\"description\":");
		sg_buf_json_str(&resp->body, info.name_en);
		sg_buf_puts(&resp->body, ",\"metadata\":false,\"type\":\"realtime\",\"keywords\":");
		{
			char kw[256];
			snprintf(kw, sizeof kw, "%s,%s,%s", info.id, info.police ? "police" : "non-police",
				 info.name_en);
			sg_buf_json_str(&resp->body, kw);
		}
		sg_buf_puts(&resp->body, ",\"group\":");
		sg_buf_json_str(&resp->body, group ? group : dept);
		sg_buf_putc(&resp->body, '}');
	}
	sg_buf_putc(&resp->body, ']');
	http_json(resp, 200);
	return SG_OK;
}

/* ---- POST /open311/v2/requests.json --------------------------------------- */

static const char *const post_fields[] = {
	"service_code", "lat",	     "long",	    "description", "address_string",
	"first_name",	"last_name", "phone",	    "email",	   "device_id",
	"account_id",	"media_url", "api_key",	    "jurisdiction_id", "crs",
	NULL,
};

static bool is_attribute(const char *name)
{
	size_t n = strlen(name);
	return n > 11 && strncmp(name, "attribute[", 10) == 0 && name[n - 1] == ']';
}

/* Refuses unknown, unsupported and repeated fields (400 naming it). Non-zero after answering. */
static int check_fields(const struct form *f, struct http_resp *resp)
{
	for (size_t i = 0; i < f->n; i++) {
		const char *name = f->fields[i].name;
		bool known = false;
		char msg[192];

		if (is_attribute(name))
			continue;
		if (strcmp(name, "address_id") == 0) {
			http_error(resp, 400, "invalid", "address_id is not supported: send lat and long",
				   name);
			return 1;
		}
		for (const char *const *k = post_fields; *k && !known; k++)
			known = strcmp(*k, name) == 0;
		if (!known) {
			snprintf(msg, sizeof msg, "unknown field \"%.100s\"", name);
			http_error(resp, 400, "invalid", msg, name);
			return 1;
		}
		if (form_count(f, name) > 1) {
			snprintf(msg, sizeof msg, "%.100s is given more than once", name);
			http_error(resp, 400, "invalid", msg, name);
			return 1;
		}
	}
	return 0;
}

/* A decimal number making up the whole string. */
static int parse_number(const char *s, double *out)
{
	char *end;
	double v;

	if (!s || !*s || strspn(s, "0123456789+-.eE") != strlen(s))
		return SG_EINVAL;
	v = strtod(s, &end);
	if (*end || !isfinite(v))
		return SG_EINVAL;
	*out = v;
	return SG_OK;
}

/* The form field that an intake error about a report member comes from. */
static const char *form_field_of(const char *member)
{
	static const char *const map[][2] = {
		{ "text", "description" }, { "lon", "long" },	       { "lat", "lat" },
		{ "category", "service_code" }, { "caller.phone", "phone" }, { "caller.name", "last_name" },
		{ "crs", "crs" },
	};

	for (size_t i = 0; i < sizeof map / sizeof map[0]; i++) {
		if (strcmp(map[i][0], member) == 0)
			return map[i][1];
	}
	return member[0] ? member : NULL;
}

/*
 * Builds the report object of POST /api/v1/reports from a checked form.
 * Returns 0 with *out (caller decrefs), or non-zero after answering resp.
 */
static int form_report(struct app *app, const struct form *f, struct http_resp *resp,
		       json_t **out)
{
	struct classify_category_info info;
	const char *code = form_get(f, "service_code"), *desc = form_get(f, "description");
	const char *addr = form_get(f, "address_string"), *first = form_get(f, "first_name");
	const char *last = form_get(f, "last_name"), *phone = form_get(f, "phone");
	const char *crs = form_get(f, "crs");
	struct sg_buf text, name;
	double lat, lon;
	json_t *obj = NULL, *caller = NULL;
	int rc = 1;

	sg_buf_init(&text, 0);
	sg_buf_init(&name, 0);
	if (!code || !*code || !category_by_id(app, code, &info)) {
		http_error(resp, 400, "invalid",
			   "service_code is required and must be a service_code of services.json",
			   "service_code");
		goto out;
	}
	if (parse_number(form_get(f, "lat"), &lat) || fabs(lat) > 90) {
		http_error(resp, 400, "invalid", "lat is required: decimal degrees from -90 to 90", "lat");
		goto out;
	}
	if (parse_number(form_get(f, "long"), &lon) || fabs(lon) > 180) {
		http_error(resp, 400, "invalid", "long is required: decimal degrees from -180 to 180",
			   "long");
		goto out;
	}
	if (!desc || strspn(desc, " \t\r\n") == strlen(desc)) {
		http_error(resp, 400, "invalid", "description is required: the report's text",
			   "description");
		goto out;
	}
	if (strlen(desc) > REPORT_TEXT_MAX) {
		http_error(resp, 400, "invalid", "description must be at most 4000 bytes", "description");
		goto out;
	}
	sg_buf_puts(&text, desc);
	if (addr && *addr) {
		sg_buf_puts(&text, "\n地址：");
		sg_buf_puts(&text, addr);
	}
	if (!text.data || text.len > REPORT_TEXT_MAX) {
		http_error(resp, 400, "invalid",
			   "description and address_string together must be at most 4000 bytes",
			   "address_string");
		goto out;
	}
	/* Chinese order: family name first. */
	if (last)
		sg_buf_puts(&name, last);
	if (first)
		sg_buf_puts(&name, first);
	if (name.len > REPORT_NAME_MAX) {
		http_error(resp, 400, "invalid", "last_name and first_name together must be at most 64 bytes",
			   last && strlen(last) > REPORT_NAME_MAX / 2 ? "last_name" : "first_name");
		goto out;
	}
	obj = json_pack("{s:s, s:s, s:f, s:f, s:s}", "source", "12345", "text", text.data, "lon", lon,
			"lat", lat, "category", info.id);
	if (!obj) {
		rc = -1;
		goto out;
	}
	if (crs && json_object_set_new(obj, "crs", json_string(crs))) {
		rc = -1;
		goto out;
	}
	if (name.len || (phone && *phone)) {
		if (!(caller = json_object()) || json_object_set_new(obj, "caller", caller)) {
			rc = -1;
			goto out;
		}
		if (name.len && json_object_set_new(caller, "name", json_string(name.data))) {
			rc = -1;
			goto out;
		}
		if (phone && *phone && json_object_set_new(caller, "phone", json_string(phone))) {
			rc = -1;
			goto out;
		}
	}
	*out = obj;
	obj = NULL;
	rc = 0;
out:
	if (rc < 0)
		http_error(resp, 500, "internal", "out of memory", NULL);
	json_decref(obj);
	sg_buf_release(&text);
	sg_buf_release(&name);
	return rc;
}

/*
 * A request waiting for its commit: as POST /api/v1/reports, the first call
 * checks and queues it and defers the answer, the second answers once the
 * batch is durable, so the worker serves other connections meanwhile.
 */
struct request_wait {
	json_t *obj; /* the report the form became; the job borrows its text */
	struct api_intake_job *job;
	struct http_defer *d;
	int rc; /* the commit's: set by request_committed */
};

static void request_wait_free(void *arg)
{
	struct request_wait *w = arg;

	api_intake_job_free(w->job);
	json_decref(w->obj);
	free(w);
}

/* On the store's syncer thread: the request's batch is durable (or failed). */
static void request_committed(void *arg, int rc)
{
	struct request_wait *w = arg;

	w->rc = rc;
	http_defer_done(w->d);
}

static int request_answer(struct app *app, struct api_session *s, struct request_wait *w,
			  struct http_resp *resp)
{
	struct case_row c;
	int64_t report_id;
	bool joined;
	char org[512], notice[640];
	int rc = api_intake_finish(app, w->job, w->rc, &c, &report_id, &joined);

	if (rc)
		return http_error(resp, 500, "internal", sg_err_name(rc), NULL);
	agency(app, &s->scope, &c, org, sizeof org);
	sg_buf_printf(&resp->body, "[{\"service_request_id\":\"%lld\",\"service_notice\":",
		      (long long)c.id);
	snprintf(notice, sizeof notice, "%s，由%s办理",
		 joined ? "已并入附近同类在办工单" : "已受理", org);
	sg_buf_json_str(&resp->body, notice);
	sg_buf_puts(&resp->body, ",\"account_id\":null}]");
	http_json(resp, joined ? 200 : 201);
	return SG_OK;
}

int api_open311_requests_create(void *appv, struct http_req *req, struct http_resp *resp)
{
	static const char ctype_form[] = "application/x-www-form-urlencoded";
	struct app *app = appv;
	struct api_session *s = req->session;
	const char *ctype = http_header(req, "Content-Type");
	struct form f;
	struct form_error fe;
	struct intake_error e;
	struct request_wait *w = NULL;
	json_t *obj = NULL;
	int rc = SG_OK;

	if (req->deferred)
		return request_answer(app, s, req->deferred, resp);
	form_init(&f);
	if (!ctype || strncasecmp(ctype, ctype_form, sizeof ctype_form - 1) != 0 ||
	    (ctype[sizeof ctype_form - 1] != '\0' && ctype[sizeof ctype_form - 1] != ';')) {
		http_error(resp, 415, "unsupported_media_type",
			   "send application/x-www-form-urlencoded (Open311 GeoReport v2)", "Content-Type");
		goto out;
	}
	rc = form_parse(req->body, req->body_len, &f, &fe);
	if (rc == SG_EINVAL || rc == SG_ETOOBIG) {
		http_error(resp, rc == SG_ETOOBIG ? 413 : 400, rc == SG_ETOOBIG ? "too_large" : "invalid",
			   fe.message, fe.field);
		rc = SG_OK;
		goto out;
	}
	if (rc)
		goto out;
	if (check_fields(&f, resp) || form_report(app, &f, resp, &obj))
		goto out;
	if (!(w = calloc(1, sizeof *w))) {
		rc = SG_ENOMEM;
		goto out;
	}
	if (api_intake_prepare(app, s, obj, &w->job, &e)) {
		http_error(resp, e.status, e.code, e.message, form_field_of(e.field));
		goto out;
	}
	w->obj = obj;
	obj = NULL;
	if (!(w->d = http_defer(req, w, request_wait_free))) {
		rc = SG_ENOMEM;
		goto out;
	}
	/* From here the deferral owns w (the session, the report's actor, with it). */
	if ((rc = api_intake_submit(app, w->job, request_committed, w)))
		request_committed(w, rc); /* nothing queued: the second call answers the error */
	w = NULL;
	rc = SG_OK;
out:
	if (w)
		request_wait_free(w);
	json_decref(obj);
	form_release(&f);
	return rc;
}

/* ---- GET /open311/v2/requests.json ---------------------------------------- */

struct o311_filter {
	struct app *app;
	const struct catalog_scope *scope;
	const char *codes[O311_MAX_CODES];
	size_t ncodes;
	bool want_open, want_closed;
	int64_t end;             /* created_at <= end; 0: any */
	struct case_row *rows;   /* collected, at most O311_LIMIT */
	size_t n;
};

static int collect(void *ctxv, const struct case_row *c)
{
	struct o311_filter *ctx = ctxv;
	bool closed;

	if (ctx->end && c->created_at > ctx->end)
		return 0;
	if (!o311_case_visible(ctx->app, ctx->scope, c))
		return 0;
	if (ctx->ncodes) {
		bool hit = false;
		for (size_t i = 0; i < ctx->ncodes && !hit; i++)
			hit = strcmp(ctx->codes[i], c->category) == 0;
		if (!hit)
			return 0;
	}
	closed = strcmp(o311_status(ctx->app, c), "closed") == 0;
	if ((closed && !ctx->want_closed) || (!closed && !ctx->want_open))
		return 0;
	ctx->rows[ctx->n++] = *c;
	return ctx->n == O311_LIMIT;
}

/*
 * Splits a comma-separated list in place (buf is a copy the caller owns)
 * into at most cap non-empty items. Returns the count, or -1 when an item
 * is empty or there are more than cap.
 */
static long split_list(char *buf, const char **items, size_t cap)
{
	size_t n = 0;
	char *p = buf;

	for (;;) {
		char *comma = strchr(p, ',');
		if (comma)
			*comma = '\0';
		if (!*p || n == cap)
			return -1;
		items[n++] = p;
		if (!comma)
			return (long)n;
		p = comma + 1;
	}
}

/* The requests named by service_request_id=1,2,3 that the caller may see. */
static int list_by_ids(struct app *app, struct api_session *s, const char *ids_s,
		       struct http_resp *resp)
{
	const char **items = NULL;
	char *copy = strdup(ids_s);
	long n;
	int first = 1, rc = SG_OK;

	items = malloc(O311_LIMIT * sizeof *items);
	if (!copy || !items) {
		rc = SG_ENOMEM;
		goto out;
	}
	n = split_list(copy, items, O311_LIMIT);
	for (long i = 0; i < n; i++) {
		int64_t id;
		if (api_parse_id(items[i], &id)) {
			n = -1;
			break;
		}
	}
	if (n < 0) {
		http_error(resp, 400, "invalid",
			   "service_request_id must be up to 1000 request ids, comma-separated",
			   "service_request_id");
		goto out;
	}
	sg_buf_putc(&resp->body, '[');
	for (long i = 0; i < n; i++) {
		struct case_row c;
		int64_t id = 0;
		api_parse_id(items[i], &id);
		rc = store_case_get(app->store, id, &c);
		if (rc == SG_ENOTFOUND || (rc == 0 && !o311_case_visible(app, &s->scope, &c))) {
			rc = SG_OK;
			continue;
		}
		if (rc)
			goto out;
		if (!first)
			sg_buf_putc(&resp->body, ',');
		first = 0;
		if ((rc = write_case_request(app, &s->scope, &resp->body, &c)))
			goto out;
	}
	sg_buf_putc(&resp->body, ']');
	http_json(resp, 200);
out:
	free(copy);
	free(items);
	return rc;
}

int api_open311_requests_list(void *appv, struct http_req *req, struct http_resp *resp)
{
	struct app *app = appv;
	struct api_session *s = req->session;
	const char *ids_s = http_query(req, "service_request_id");
	const char *codes_s = http_query(req, "service_code"), *status_s = http_query(req, "status");
	const char *start_s = http_query(req, "start_date"), *end_s = http_query(req, "end_date");
	struct store_case_filter sf;
	struct o311_filter ctx;
	struct store_case_area *areas = NULL;
	char *codes_copy = NULL, *status_copy = NULL;
	int64_t start = 0, end = 0;
	int rc = SG_OK;

	if (ids_s)
		return list_by_ids(app, s, ids_s, resp);
	memset(&ctx, 0, sizeof ctx);
	memset(&sf, 0, sizeof sf);
	ctx.app = app;
	ctx.scope = &s->scope;
	ctx.want_open = ctx.want_closed = true;
	if (codes_s) {
		long n;
		struct classify_category_info info;
		if (!(codes_copy = strdup(codes_s))) {
			rc = SG_ENOMEM;
			goto out;
		}
		n = split_list(codes_copy, ctx.codes, O311_MAX_CODES);
		for (long i = 0; i < n; i++) {
			if (!category_by_id(app, ctx.codes[i], &info))
				n = -1;
		}
		if (n < 0) {
			http_error(resp, 400, "invalid",
				   "service_code must be service_codes of services.json, comma-separated",
				   "service_code");
			goto out;
		}
		ctx.ncodes = (size_t)n;
	}
	if (status_s) {
		const char *items[2];
		long n;
		if (!(status_copy = strdup(status_s))) {
			rc = SG_ENOMEM;
			goto out;
		}
		n = split_list(status_copy, items, 2);
		ctx.want_open = ctx.want_closed = false;
		for (long i = 0; i < n; i++) {
			if (strcmp(items[i], "open") == 0)
				ctx.want_open = true;
			else if (strcmp(items[i], "closed") == 0)
				ctx.want_closed = true;
			else
				n = -1;
		}
		if (n < 0) {
			http_error(resp, 400, "invalid", "status must be open, closed or open,closed",
				   "status");
			goto out;
		}
	}
	if (start_s && api_parse_time(start_s, &start)) {
		http_error(resp, 400, "invalid", "start_date must be an ISO 8601 time with a time zone",
			   "start_date");
		goto out;
	}
	if (end_s && api_parse_time(end_s, &end)) {
		http_error(resp, 400, "invalid", "end_date must be an ISO 8601 time with a time zone",
			   "end_date");
		goto out;
	}
	if (start_s && end_s && end < start) {
		http_error(resp, 400, "invalid", "end_date is before start_date", "end_date");
		goto out;
	}
	if (!start_s)
		start = (end_s ? end : api_now(app)) - O311_DEFAULT_SPAN;
	/* The store's filter takes created_at >= since; 0 there means "any". */
	sf.since = start > 0 ? start : 1;
	/* One code can be left to the store's index; several are filtered here. */
	if (ctx.ncodes == 1)
		sf.category = ctx.codes[0];
	ctx.end = end_s ? end : 0;
	if (!(ctx.rows = malloc(O311_LIMIT * sizeof *ctx.rows))) {
		rc = SG_ENOMEM;
		goto out;
	}
	/* Only the scope's areas are read; collect still checks each case. */
	if ((rc = api_case_where(app, s, CATALOG_NONE, &sf, &areas)) ||
	    (rc = store_case_list(app->store, &sf, collect, &ctx)))
		goto out;
	/* Reports are read after the listing so that no read is nested in another. */
	sg_buf_putc(&resp->body, '[');
	for (size_t i = 0; i < ctx.n; i++) {
		if (i)
			sg_buf_putc(&resp->body, ',');
		if ((rc = write_case_request(app, &s->scope, &resp->body, &ctx.rows[i])))
			goto out;
	}
	sg_buf_putc(&resp->body, ']');
	http_json(resp, 200);
out:
	free(areas);
	free(ctx.rows);
	free(codes_copy);
	free(status_copy);
	return rc;
}

/* ---- GET /open311/v2/requests/{id}.json ----------------------------------- */

int api_open311_request_get(void *appv, struct http_req *req, struct http_resp *resp)
{
	struct app *app = appv;
	struct api_session *s = req->session;
	const char *seg = req->params[0];
	size_t n = strlen(seg);
	char id_s[32];
	struct case_row c;
	int64_t id;
	int rc;

	/* The router's {id} takes the whole segment, extension included. */
	if (n <= 5 || n - 5 >= sizeof id_s || strcmp(seg + n - 5, ".json") != 0)
		return http_error(resp, 404, "not_found",
				  "no such service request (ask for /open311/v2/requests/<id>.json)", "id");
	memcpy(id_s, seg, n - 5);
	id_s[n - 5] = '\0';
	if (api_parse_id(id_s, &id))
		return http_error(resp, 400, "invalid", "id must be a positive integer", "id");
	rc = store_case_get(app->store, id, &c);
	if (rc == SG_ENOTFOUND || (rc == 0 && !o311_case_visible(app, &s->scope, &c)))
		return http_error(resp, 404, "not_found", "no such service request", "id");
	if (rc)
		return rc;
	sg_buf_putc(&resp->body, '[');
	if ((rc = write_case_request(app, &s->scope, &resp->body, &c)))
		return rc;
	sg_buf_putc(&resp->body, ']');
	http_json(resp, 200);
	return SG_OK;
}
