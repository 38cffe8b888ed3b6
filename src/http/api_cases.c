/*
 * api_cases.c — reports (110 / 12345 / app / walk-in) and the cases they
 * open: intake, list, detail with history, and the live stream of case
 * events. What changes a case afterwards (transitions, diversion, moving,
 * splitting) is in api_case_actions.c; the bulk NDJSON ingest, built on the
 * same intake, in api_events.c.
 *
 * A report is located, classified and routed in the request that carries
 * it: police matters become incidents owned by the station of the place,
 * non-police matters become referrals to the department the routing table
 * names. A case is visible to a caller when any of its areas is.
 */
#include "http/api.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/err.h"
#include "base/log.h"
#include "geo/coord.h"
#include "http/sse.h"

#define CASES_LIMIT_DEFAULT 50
#define CASES_LIMIT_MAX 500
#define NOTE_MAX 1000

static const char *const report_sources[] = { "110", "12345", "app", "walk_in", NULL };

static bool role_may_write_cases(enum auth_role r)
{
	return r != AUTH_ROLE_ANALYST;
}

/* Catalog indexes of a case's areas (those known), for scope checks and the feed. */
static size_t case_area_idx(struct app *app, const struct case_row *c, uint32_t *idx)
{
	size_t n = 0;

	for (int k = 0; k < AREA_KIND_COUNT; k++) {
		uint32_t i = c->area_ids[k] ? catalog_find(app->catalog, c->area_ids[k]) : CATALOG_NONE;
		if (i != CATALOG_NONE)
			idx[n++] = i;
	}
	return n;
}

static bool case_visible(struct app *app, const struct catalog_scope *scope,
			 const struct case_row *c)
{
	uint32_t idx[AREA_KIND_COUNT];
	size_t n = case_area_idx(app, c, idx);

	if (scope->all)
		return true;
	for (size_t i = 0; i < n; i++) {
		if (catalog_visible(scope, idx[i]))
			return true;
	}
	return false;
}

static const struct classify_category_info *category_info(struct app *app, const char *id,
							  struct classify_category_info *tmp)
{
	size_t n = classify_category_count(app->classify);

	for (size_t i = 0; i < n; i++) {
		if (classify_category_get(app->classify, i, tmp) == 0 && strcmp(tmp->id, id) == 0)
			return tmp;
	}
	return NULL;
}

/* Answer order of a case's areas: finest first, as in locate. */
static const enum area_kind case_area_order[AREA_KIND_COUNT] = {
	AREA_GOV_GRID, AREA_COMMUNITY, AREA_STREET, AREA_POLICE_GRID,
	AREA_STATION,  AREA_DISTRICT,  AREA_CITY,
};

/* Writes a case as JSON: what any viewer in scope may see (no personal data). */
static void write_case(struct app *app, const struct catalog_scope *scope, struct sg_buf *b,
		       const struct case_row *c)
{
	struct classify_category_info info;
	const char *dept_zh = classify_department_name(app->classify, c->department);
	char t1[32], t2[32], t3[32], next[512];
	int type = casefsm_type(app->fsm, c->type);
	int first = 1;

	api_format_time(c->created_at, t1);
	api_format_time(c->updated_at, t2);
	api_format_time(c->deadline_at, t3);
	/* Written piece by piece, not by printf: every report's answer and event comes here. */
	sg_buf_puts(b, "{\"id\":");
	sg_buf_put_int(b, (long long)c->id);
	sg_buf_puts(b, ",\"type\":");
	sg_buf_json_str(b, c->type);
	sg_buf_puts(b, ",\"category\":");
	sg_buf_json_str(b, c->category);
	if (category_info(app, c->category, &info)) {
		sg_buf_puts(b, ",\"category_zh\":");
		sg_buf_json_str(b, info.name_zh);
	}
	sg_buf_puts(b, c->police ? ",\"police\":true,\"department\":"
			       : ",\"police\":false,\"department\":");
	sg_buf_json_str(b, c->department);
	if (dept_zh) {
		sg_buf_puts(b, ",\"department_zh\":");
		sg_buf_json_str(b, dept_zh);
	}
	sg_buf_puts(b, ",\"status\":");
	sg_buf_json_str(b, c->status);
	sg_buf_puts(b, ",\"priority\":");
	sg_buf_put_int(b, c->priority);
	sg_buf_puts(b, ",\"lon\":");
	sg_buf_put_fixed(b, c->lon, 7);
	sg_buf_puts(b, ",\"lat\":");
	sg_buf_put_fixed(b, c->lat, 7);
	sg_buf_puts(b, ",\"source\":");
	sg_buf_json_str(b, c->source);
	sg_buf_puts(b, ",\"org\":");
	{
		/* The owner: the station of the place for police cases, else the department. */
		uint32_t st = c->area_ids[AREA_STATION] ? catalog_find(app->catalog, c->area_ids[AREA_STATION])
							: CATALOG_NONE;
		if (c->police && st != CATALOG_NONE && (scope == NULL || catalog_visible(scope, st)))
			api_write_area_ref(app, b, st);
		else if (c->police && st != CATALOG_NONE)
			sg_buf_printf(b, "{\"id\":%lld,\"kind\":\"station\"}",
				      (long long)c->area_ids[AREA_STATION]);
		else {
			sg_buf_puts(b, "{\"kind\":\"department\",\"id\":");
			sg_buf_json_str(b, c->department);
			if (dept_zh) {
				sg_buf_puts(b, ",\"name\":");
				sg_buf_json_str(b, dept_zh);
			}
			sg_buf_putc(b, '}');
		}
	}
	sg_buf_puts(b, ",\"areas\":[");
	for (int k = 0; k < AREA_KIND_COUNT; k++) {
		int64_t id = c->area_ids[case_area_order[k]];
		uint32_t i = id ? catalog_find(app->catalog, id) : CATALOG_NONE;
		if (i == CATALOG_NONE || (scope && !catalog_visible(scope, i)))
			continue;
		if (!first)
			sg_buf_putc(b, ',');
		first = 0;
		api_write_area_ref(app, b, i);
	}
	if (type >= 0)
		casefsm_next_json(app->fsm, type, c->status, next, sizeof next);
	else
		snprintf(next, sizeof next, "[]");
	sg_buf_puts(b, "],\"created_at\":\"");
	sg_buf_puts(b, t1);
	sg_buf_puts(b, "\",\"updated_at\":\"");
	sg_buf_puts(b, t2);
	sg_buf_puts(b, "\",\"deadline_at\":\"");
	sg_buf_puts(b, t3);
	sg_buf_puts(b, "\",\"version\":");
	sg_buf_put_int(b, (long long)c->version);
	sg_buf_puts(b, ",\"reports\":");
	sg_buf_put_int(b, (long long)c->reports);
	sg_buf_puts(b, ",\"escalation\":\"");
	sg_buf_puts(b, area_kind_name(casefsm_escalation_kind(app->fsm, c->escalation_level)));
	sg_buf_puts(b, "\",\"next\":");
	sg_buf_puts(b, next);
	sg_buf_putc(b, '}');
}

/* Publishes a case event on the live stream: json is c as write_case writes it unscoped. */
static void publish_json(struct app *app, enum feed_kind kind, const struct case_row *c,
			 const char *json)
{
	uint32_t idx[AREA_KIND_COUNT];
	size_t n = case_area_idx(app, c, idx);
	uint64_t id;

	if (feed_publish(app->feed, kind, idx, n, json, &id) != 0)
		SG_LOG(SG_LOG_WARN, "msg=\"feed publish failed\" case=%lld", (long long)c->id);
}

/* Publishes a case event on the live stream (no personal data in it). */
static void publish(struct app *app, enum feed_kind kind, const struct case_row *c)
{
	struct sg_buf b;

	if (!app->feed)
		return;
	sg_buf_init(&b, 0);
	write_case(app, NULL, &b, c);
	publish_json(app, kind, c, b.data);
	sg_buf_release(&b);
}

void api_case_escalated(void *appv, const struct case_row *c)
{
	publish(appv, FEED_CASE_ESCALATED, c);
}

void api_case_updated(struct app *app, const struct case_row *c)
{
	publish(app, FEED_CASE_UPDATED, c);
}

static void write_caller(struct sg_buf *b, const char *name, const char *phone, bool full)
{
	char masked[REPORT_PHONE_MAX + REPORT_NAME_MAX + 2];

	sg_buf_puts(b, "{\"name\":");
	if (!name[0]) {
		sg_buf_puts(b, "null");
	} else if (full) {
		sg_buf_json_str(b, name);
	} else {
		case_mask_name(name, masked, sizeof masked);
		sg_buf_json_str(b, masked);
	}
	sg_buf_puts(b, ",\"phone\":");
	if (!phone[0]) {
		sg_buf_puts(b, "null");
	} else if (full) {
		sg_buf_json_str(b, phone);
	} else {
		case_mask_phone(phone, masked);
		sg_buf_json_str(b, masked);
	}
	sg_buf_puts(b, full ? ",\"masked\":false}" : ",\"masked\":true}");
}

static void write_report(struct sg_buf *b, const struct report_row *r, bool full)
{
	char t1[32], t2[32];

	api_format_time(r->reported_at, t1);
	api_format_time(r->received_at, t2);
	sg_buf_puts(b, "{\"id\":");
	sg_buf_put_int(b, (long long)r->id);
	sg_buf_puts(b, ",\"case_id\":");
	sg_buf_put_int(b, (long long)r->case_id);
	sg_buf_puts(b, ",\"source\":");
	sg_buf_json_str(b, r->source);
	sg_buf_puts(b, ",\"text\":");
	sg_buf_json_str(b, r->text);
	sg_buf_puts(b, ",\"lon\":");
	sg_buf_put_fixed(b, r->lon, 7);
	sg_buf_puts(b, ",\"lat\":");
	sg_buf_put_fixed(b, r->lat, 7);
	sg_buf_puts(b, ",\"category\":");
	sg_buf_json_str(b, r->category);
	sg_buf_puts(b, ",\"reported_at\":\"");
	sg_buf_puts(b, t1);
	sg_buf_puts(b, "\",\"received_at\":\"");
	sg_buf_puts(b, t2);
	sg_buf_puts(b, "\",\"caller\":");
	write_caller(b, r->caller_name, r->caller_phone, full);
	sg_buf_putc(b, '}');
}

static bool valid_phone(const char *s)
{
	size_t n = strlen(s), digits = 0;

	if (n < 3 || n > REPORT_PHONE_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (s[i] >= '0' && s[i] <= '9')
			digits++;
		else if (!(s[i] == '+' && i == 0) && s[i] != '-' && s[i] != ' ')
			return false;
	}
	return digits >= 3;
}

static bool in_list(const char *s, const char *const *list)
{
	for (; *list; list++) {
		if (strcmp(s, *list) == 0)
			return true;
	}
	return false;
}

static bool joinable(const char *type, const char *status, void *ctx)
{
	struct app *app = ctx;
	int t = casefsm_type(app->fsm, type);
	return t >= 0 && !casefsm_terminal(app->fsm, t, status) && strcmp(status, "resolved") != 0;
}

/*
 * The division code routing is decided by: the finest of the place's
 * community, street and district that carries a national division code
 * (12, 9 or 6 digits; operators' own codes are not division codes), or NULL
 * for city-wide routing.
 */
static const char *routing_code(struct app *app, const uint32_t found[AREA_KIND_COUNT])
{
	static const enum area_kind kinds[] = { AREA_COMMUNITY, AREA_STREET, AREA_DISTRICT };

	for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
		const char *code;
		size_t n;
		if (found[kinds[k]] == CATALOG_NONE)
			continue;
		code = app->catalog->areas[found[kinds[k]]].code;
		n = strlen(code);
		if ((n == 6 || n == 9 || n == 12) && strspn(code, "0123456789") == n)
			return code;
	}
	return NULL;
}

/* Fills the case's type, department, status, deadline from police flag and category. */
static int route_case(struct app *app, struct case_row *c, const char *route_code,
		      int64_t now)
{
	const char *dept = CLASSIFY_STATION;
	int type;

	if (!c->police && classify_route(app->classify, c->category, route_code, &dept) != 0)
		return SG_EINVAL;
	snprintf(c->department, sizeof c->department, "%s", dept);
	snprintf(c->type, sizeof c->type, "%s", c->police ? "incident" : "referral");
	type = casefsm_type(app->fsm, c->type);
	if (type < 0)
		return SG_EINVAL;
	snprintf(c->status, sizeof c->status, "%s", casefsm_initial(app->fsm, type));
	c->deadline_at = now + casefsm_deadline(app->fsm, type, c->priority);
	c->escalation_level = casefsm_start_level(app->fsm, c->police ? AREA_STATION : AREA_GOV_GRID);
	return SG_OK;
}

static int refuse(struct intake_error *e, int status, const char *code, const char *message,
		  const char *field)
{
	e->status = status;
	e->code = code;
	snprintf(e->message, sizeof e->message, "%s", message);
	snprintf(e->field, sizeof e->field, "%s", field ? field : "");
	return 1;
}

static int only_members(const json_t *obj, const char *const *allowed, struct intake_error *e)
{
	const char *key;
	json_t *v;

	json_object_foreach((json_t *)obj, key, v) {
		if (!in_list(key, allowed)) {
			char msg[160];
			snprintf(msg, sizeof msg, "unknown field \"%.100s\"", key);
			return refuse(e, 400, "invalid", msg, key);
		}
	}
	return 0;
}

/*
 * Reads the members lon, lat and (optional) crs of obj into a WGS-84 point,
 * or refuses naming the member at fault.
 */
static int read_point(const json_t *obj, struct geo_point *out, struct intake_error *e)
{
	const json_t *v = json_object_get(obj, "lon");
	enum geo_crs crs = GEO_CRS_WGS84;
	struct geo_point p;

	if (!json_is_number(v) || !isfinite(json_number_value(v)) || fabs(json_number_value(v)) > 180)
		return refuse(e, 400, "invalid", "lon must be a number from -180 to 180", "lon");
	p.lon = json_number_value(v);
	v = json_object_get(obj, "lat");
	if (!json_is_number(v) || !isfinite(json_number_value(v)) || fabs(json_number_value(v)) > 90)
		return refuse(e, 400, "invalid", "lat must be a number from -90 to 90", "lat");
	p.lat = json_number_value(v);
	v = json_object_get(obj, "crs");
	if (v && (!json_is_string(v) || geo_crs_parse(json_string_value(v), &crs)))
		return refuse(e, 400, "invalid", "crs must be wgs84, gcj02 or bd09", "crs");
	*out = geo_crs_convert(crs, GEO_CRS_WGS84, p);
	return 0;
}

/*
 * Locates a WGS-84 point for a case: sets c's point and area ids and found[]
 * (catalog indexes). Refuses a point outside the city or outside the
 * caller's jurisdiction, naming "lon".
 */
static int locate_case(struct app *app, struct api_session *s, struct geo_point p,
		       struct case_row *c, uint32_t found[AREA_KIND_COUNT], struct intake_error *e)
{
	bool visible = s->scope.all;

	catalog_locate(app->catalog, p, found);
	if (found[AREA_CITY] == CATALOG_NONE)
		return refuse(e, 400, "outside_city", "the location is outside the city's areas", "lon");
	for (int k = 0; k < AREA_KIND_COUNT && !visible; k++)
		visible = found[k] != CATALOG_NONE && catalog_visible(&s->scope, found[k]);
	if (!visible)
		return refuse(e, 400, "outside_scope", "the location is outside your jurisdiction", "lon");
	for (int k = 0; k < AREA_KIND_COUNT; k++)
		c->area_ids[k] = found[k] != CATALOG_NONE ? app->catalog->areas[found[k]].id : 0;
	c->lon = p.lon;
	c->lat = p.lat;
	return 0;
}

/*
 * Ingest, locate and match for one report object (the pipeline's first three
 * steps): validates every member, locates the point, classifies the text (or
 * takes the operator's category) and routes the case. Returns 0 with *in
 * ready for store_case_open (and *cls holding the classifier's answer), or
 * non-zero with *e saying why. obj must outlive *in (the text is borrowed).
 * skip names one extra member to accept (NDJSON's "kind"), or NULL.
 */
static int intake_prepare(struct app *app, struct api_session *s, json_t *obj, const char *skip,
			  struct api_intake *in, struct classify_result *cls, struct intake_error *e)
{
	static const char *const allowed[] = { "source", "text",	"lon",	    "lat", "crs",
					       "caller", "reported_at", "category", "kind", NULL };
	static const char *const caller_allowed[] = { "name", "phone", NULL };
	struct classify_category_info info;
	struct case_row *c = &in->c;
	struct report_row *r = &in->r;
	json_t *v, *caller;
	struct geo_point p;
	uint32_t found[AREA_KIND_COUNT];
	const char *route_code;
	int64_t now = api_now(app);

	memset(in, 0, sizeof *in);
	if (only_members(obj, allowed, e))
		return 1;
	if (!skip && json_object_get(obj, "kind"))
		return refuse(e, 400, "invalid", "unknown field \"kind\"", "kind");
	v = json_object_get(obj, "source");
	if (!json_is_string(v) || !in_list(json_string_value(v), report_sources))
		return refuse(e, 400, "invalid", "source must be 110, 12345, app or walk_in", "source");
	snprintf(r->source, sizeof r->source, "%s", json_string_value(v));
	v = json_object_get(obj, "text");
	if (!json_is_string(v) || json_string_length(v) == 0 ||
	    json_string_length(v) > REPORT_TEXT_MAX ||
	    strlen(json_string_value(v)) != json_string_length(v))
		return refuse(e, 400, "invalid", "text must be a non-empty string of at most 4000 bytes",
			      "text");
	r->text = (char *)json_string_value(v);
	if (read_point(obj, &p, e))
		return 1;
	r->received_at = now;
	r->reported_at = now;
	v = json_object_get(obj, "reported_at");
	if (v && (!json_is_string(v) || api_parse_time(json_string_value(v), &r->reported_at) ||
		  r->reported_at > now + 300))
		return refuse(e, 400, "invalid",
			      "reported_at must be an RFC 3339 time, not in the future", "reported_at");
	caller = json_object_get(obj, "caller");
	if (caller) {
		if (!json_is_object(caller))
			return refuse(e, 400, "invalid", "caller must be an object", "caller");
		if (only_members(caller, caller_allowed, e))
			return 1;
		v = json_object_get(caller, "name");
		if (v && (!json_is_string(v) || json_string_length(v) > REPORT_NAME_MAX))
			return refuse(e, 400, "invalid",
				      "caller.name must be a string of at most 64 bytes", "caller.name");
		if (v)
			snprintf(r->caller_name, sizeof r->caller_name, "%s", json_string_value(v));
		v = json_object_get(caller, "phone");
		if (v && (!json_is_string(v) || !valid_phone(json_string_value(v))))
			return refuse(e, 400, "invalid", "caller.phone must be a telephone number",
				      "caller.phone");
		if (v)
			snprintf(r->caller_phone, sizeof r->caller_phone, "%s", json_string_value(v));
	}

	/* locate */
	if (locate_case(app, s, p, c, found, e))
		return 1;
	route_code = routing_code(app, found);

	/* match: classify (or take the operator's category) */
	if (classify_text_in(app->classify, r->text, strlen(r->text), route_code, cls))
		return refuse(e, 400, "invalid", "text cannot be classified", "text");
	v = json_object_get(obj, "category");
	if (v) {
		if (!json_is_string(v) || !category_info(app, json_string_value(v), &info))
			return refuse(e, 400, "invalid", "category is not a configured category",
				      "category");
		snprintf(c->category, sizeof c->category, "%s", info.id);
		c->police = info.police;
		c->priority = info.priority;
	} else {
		snprintf(c->category, sizeof c->category, "%s", cls->category);
		c->police = cls->police;
		c->priority = cls->priority;
	}
	snprintf(r->category, sizeof r->category, "%s", c->category);

	/* act: route; the caller stores (open or join) */
	c->lon = r->lon = p.lon;
	c->lat = r->lat = p.lat;
	snprintf(c->source, sizeof c->source, "%s", r->source);
	c->created_at = now;
	if (route_case(app, c, route_code, now))
		return refuse(e, 500, "internal", "routing failed", NULL);
	in->op.c = c;
	in->op.r = r;
	in->op.join_distance_m = app->join_distance_m;
	in->op.join_window_s = app->join_window_s;
	in->op.joinable = joinable;
	in->op.joinable_ctx = app;
	in->op.actor = s->name;
	return 0;
}

int api_intake_check(struct app *app, struct api_session *s, json_t *obj, const char *skip,
		     struct case_row *out_case, struct classify_result *cls,
		     struct intake_error *e)
{
	struct api_intake *in = malloc(sizeof *in);

	if (!in)
		return refuse(e, 500, "internal", "out of memory", NULL);
	if (intake_prepare(app, s, obj, skip, in, cls, e)) {
		free(in);
		return 1;
	}
	*out_case = in->c;
	free(in);
	return 0;
}

int api_intake_report(struct app *app, struct api_session *s, json_t *obj,
		      struct case_row *out_case, int64_t *report_id, bool *joined,
		      struct intake_error *e)
{
	struct classify_result cls;
	struct api_intake *in = malloc(sizeof *in);
	int rc;

	if (!in)
		return refuse(e, 500, "internal", "out of memory", NULL);
	if (!role_may_write_cases(s->role)) {
		free(in);
		return refuse(e, 403, "forbidden", "this role may not file reports", NULL);
	}
	if (intake_prepare(app, s, obj, NULL, in, &cls, e)) {
		free(in);
		return 1;
	}
	if ((rc = store_case_open(app->store, &in->op))) {
		free(in);
		return refuse(e, 500, "internal", sg_err_name(rc), NULL);
	}
	publish(app, in->op.joined ? FEED_CASE_UPDATED : FEED_CASE_CREATED, &in->c);
	*out_case = in->c;
	*report_id = in->r.id;
	*joined = in->op.joined;
	free(in);
	return 0;
}

struct api_intake_job {
	struct api_intake in; /* in.r.text borrows from the caller's object */
};

int api_intake_prepare(struct app *app, struct api_session *s, json_t *obj,
		       struct api_intake_job **out, struct intake_error *e)
{
	struct classify_result cls;
	struct api_intake_job *job;

	*out = NULL;
	if (!role_may_write_cases(s->role))
		return refuse(e, 403, "forbidden", "this role may not file reports", NULL);
	if (!(job = malloc(sizeof *job)))
		return refuse(e, 500, "internal", "out of memory", NULL);
	if (intake_prepare(app, s, obj, NULL, &job->in, &cls, e)) {
		free(job);
		return 1;
	}
	*out = job;
	return 0;
}

int api_intake_submit(struct app *app, struct api_intake_job *job, store_done_fn done,
		      void *arg)
{
	return store_case_open_async(app->store, &job->in.op, done, arg);
}

int api_intake_finish(struct app *app, struct api_intake_job *job, int rc,
		      struct case_row *out_case, int64_t *report_id, bool *joined)
{
	if (rc)
		return rc;
	publish(app, job->in.op.joined ? FEED_CASE_UPDATED : FEED_CASE_CREATED, &job->in.c);
	*out_case = job->in.c;
	*report_id = job->in.r.id;
	*joined = job->in.op.joined;
	return SG_OK;
}

void api_intake_job_free(struct api_intake_job *job)
{
	free(job);
}

/*
 * A report waiting for its commit (POST /api/v1/reports): the handler's
 * first call queues it and defers the answer, the second (after the batch
 * is durable) answers. The connection is suspended meanwhile, so its
 * worker serves other connections.
 */
struct report_wait {
	struct api_intake in; /* in.r.text borrows from body */
	struct classify_result cls;
	json_t *body;
	struct http_defer *d;
	int rc; /* the commit's: set by report_committed */
};

static void report_wait_free(void *arg)
{
	struct report_wait *w = arg;

	json_decref(w->body);
	free(w);
}

/* On the store's syncer thread: the report's batch is durable (or failed). */
static void report_committed(void *arg, int rc)
{
	struct report_wait *w = arg;

	w->rc = rc;
	http_defer_done(w->d);
}

static int report_answer(struct app *app, struct api_session *s, struct report_wait *w,
			 struct http_resp *resp)
{
	struct api_intake *in = &w->in;
	const struct classify_result *cls = &w->cls;
	struct sg_buf cj; /* the case as the stream carries it: unscoped */

	if (w->rc)
		return w->rc;
	sg_buf_init(&cj, 0);
	write_case(app, NULL, &cj, &in->c);
	if (app->feed)
		publish_json(app, in->op.joined ? FEED_CASE_UPDATED : FEED_CASE_CREATED, &in->c,
			     cj.data);

	sg_buf_puts(&resp->body, "{\"report\":");
	write_report(&resp->body, &in->r, api_role_sees_personal_data(s->role));
	sg_buf_puts(&resp->body, in->op.joined ? ",\"joined\":true" : ",\"joined\":false");
	sg_buf_puts(&resp->body, ",\"classification\":{\"category\":");
	sg_buf_json_str(&resp->body, cls->category);
	sg_buf_puts(&resp->body, cls->police ? ",\"police\":true,\"score\":"
					     : ",\"police\":false,\"score\":");
	sg_buf_put_int(&resp->body, cls->score);
	sg_buf_puts(&resp->body, ",\"terms\":[");
	for (size_t i = 0; i < cls->nmatches; i++) {
		if (i)
			sg_buf_putc(&resp->body, ',');
		sg_buf_json_str(&resp->body, cls->matches[i].term);
	}
	sg_buf_puts(&resp->body, "]},\"case\":");
	/* A caller who sees every area gets the very bytes of the event; others their view. */
	if (s->scope.all && cj.data)
		sg_buf_append(&resp->body, cj.data, cj.len);
	else
		write_case(app, &s->scope, &resp->body, &in->c);
	sg_buf_release(&cj);
	sg_buf_putc(&resp->body, '}');
	http_json(resp, in->op.joined ? 200 : 201);
	return SG_OK;
}

int api_reports_create(void *appv, struct http_req *req, struct http_resp *resp)
{
	struct app *app = appv;
	struct api_session *s = req->session;
	struct intake_error e;
	struct report_wait *w = NULL;
	json_t *body = NULL;
	int rc = SG_OK;

	if (req->deferred)
		return report_answer(app, s, req->deferred, resp);
	if (!role_may_write_cases(s->role))
		return http_error(resp, 403, "forbidden", "this role may not file reports", NULL);
	if (api_body_object(req, resp, &body))
		goto out;
	if (!(w = calloc(1, sizeof *w))) {
		rc = SG_ENOMEM;
		goto out;
	}
	if (intake_prepare(app, s, body, NULL, &w->in, &w->cls, &e)) {
		http_error(resp, e.status, e.code, e.message, e.field[0] ? e.field : NULL);
		goto out;
	}
	w->body = body;
	body = NULL;
	if (!(w->d = http_defer(req, w, report_wait_free))) {
		rc = SG_ENOMEM;
		goto out;
	}
	/* From here the deferral owns w (the session, in.op.actor, with it). */
	if ((rc = store_case_open_async(app->store, &w->in.op, report_committed, w)))
		report_committed(w, rc); /* nothing queued: the second call answers the error */
	return SG_OK;
out:
	if (w)
		report_wait_free(w);
	json_decref(body);
	return rc;
}

/*
 * The intake desk's preview (POST /api/v1/reports/check): the same body as a
 * report, checked and decided exactly as POST /api/v1/reports would, storing
 * nothing; plus the open cases near the place that the report may duplicate
 * (within CHECK_NEAR_M, opened in the last CHECK_WINDOW_S, visible to the
 * caller), nearest first, and which of them it would join if filed now.
 */
#define CHECK_NEAR_M 500.0
#define CHECK_WINDOW_S (24 * 3600)
#define CHECK_NEAR_MAX 10
#define CHECK_SCAN_MAX 20000 /* cases read at most: a busy day, bounded */

struct near_case {
	struct case_row c;
	double dist_m;
};

struct near_ctx {
	struct app *app;
	const struct catalog_scope *scope;
	struct geo_point p;
	struct near_case best[CHECK_NEAR_MAX];
	size_t n, scanned;
};

static int near_one(void *ctxv, const struct case_row *c)
{
	struct near_ctx *ctx = ctxv;
	double d;
	size_t at;

	if (++ctx->scanned > CHECK_SCAN_MAX)
		return 1;
	if (!joinable(c->type, c->status, ctx->app) || !case_visible(ctx->app, ctx->scope, c))
		return 0;
	d = geo_distance_m(ctx->p, (struct geo_point){ c->lon, c->lat });
	if (d > CHECK_NEAR_M)
		return 0;
	/* Insertion into the sorted best list, dropping the farthest when full. */
	at = ctx->n < CHECK_NEAR_MAX ? ctx->n++ : CHECK_NEAR_MAX;
	if (at == CHECK_NEAR_MAX) {
		if (d >= ctx->best[CHECK_NEAR_MAX - 1].dist_m)
			return 0;
		at = CHECK_NEAR_MAX - 1;
	}
	while (at > 0 && ctx->best[at - 1].dist_m > d) {
		ctx->best[at] = ctx->best[at - 1];
		at--;
	}
	ctx->best[at].c = *c;
	ctx->best[at].dist_m = d;
	return 0;
}

int api_reports_check(void *appv, struct http_req *req, struct http_resp *resp)
{
	struct app *app = appv;
	struct api_session *s = req->session;
	struct intake_error e;
	struct api_intake *in = NULL;
	struct classify_result cls;
	struct near_ctx *near = NULL;
	struct store_case_filter f;
	json_t *body = NULL;
	int64_t now = api_now(app), join = 0;
	int rc = SG_OK;

	if (!role_may_write_cases(s->role))
		return http_error(resp, 403, "forbidden", "this role may not file reports", NULL);
	if (api_body_object(req, resp, &body))
		goto out;
	in = malloc(sizeof *in);
	near = calloc(1, sizeof *near);
	if (!in || !near) {
		rc = SG_ENOMEM;
		goto out;
	}
	if (intake_prepare(app, s, body, NULL, in, &cls, &e)) {
		http_error(resp, e.status, e.code, e.message, e.field[0] ? e.field : NULL);
		goto out;
	}
	near->app = app;
	near->scope = &s->scope;
	near->p = (struct geo_point){ in->c.lon, in->c.lat };
	memset(&f, 0, sizeof f);
	f.since = now - CHECK_WINDOW_S;
	/* Only open cases may be joined: read through their index, never the closed history. */
	f.open = 1;
	if ((rc = store_case_list(app->store, &f, near_one, near)))
		goto out;
	/* The one store_case_open would join: the nearest of the category within the rules. */
	for (size_t i = 0; i < near->n && !join; i++) {
		const struct case_row *c = &near->best[i].c;
		if (strcmp(c->category, in->c.category) == 0 && near->best[i].dist_m <= app->join_distance_m &&
		    c->created_at >= in->r.reported_at - app->join_window_s)
			join = c->id;
	}

	sg_buf_puts(&resp->body, "{\"classification\":{\"category\":");
	sg_buf_json_str(&resp->body, cls.category);
	sg_buf_printf(&resp->body, ",\"police\":%s,\"score\":%d,\"terms\":[",
		      cls.police ? "true" : "false", cls.score);
	for (size_t i = 0; i < cls.nmatches; i++) {
		if (i)
			sg_buf_putc(&resp->body, ',');
		sg_buf_json_str(&resp->body, cls.matches[i].term);
	}
	sg_buf_puts(&resp->body, "]},\"case\":");
	write_case(app, &s->scope, &resp->body, &in->c);
	if (join)
		sg_buf_printf(&resp->body, ",\"would_join\":%lld,\"nearby\":[", (long long)join);
	else
		sg_buf_puts(&resp->body, ",\"would_join\":null,\"nearby\":[");
	for (size_t i = 0; i < near->n; i++) {
		if (i)
			sg_buf_putc(&resp->body, ',');
		sg_buf_printf(&resp->body, "{\"distance_m\":%.0f,\"case\":", near->best[i].dist_m);
		write_case(app, &s->scope, &resp->body, &near->best[i].c);
		sg_buf_putc(&resp->body, '}');
	}
	sg_buf_puts(&resp->body, "]}");
	http_json(resp, 200);
out:
	free(near);
	free(in);
	json_decref(body);
	return rc;
}

/* The visible case named by the {id} segment, or an error answer. */
static int visible_case(struct app *app, struct http_req *req, struct http_resp *resp,
			struct case_row *c)
{
	struct api_session *s = req->session;
	int64_t id;
	int rc;

	if (api_parse_id(req->params[0], &id)) {
		http_error(resp, 400, "invalid", "id must be a positive integer", "id");
		return 1;
	}
	rc = store_case_get(app->store, id, c);
	if (rc == SG_ENOTFOUND || (rc == 0 && !case_visible(app, &s->scope, c))) {
		http_error(resp, 404, "not_found", "no such case", "id");
		return 1;
	}
	if (rc) {
		http_error(resp, 500, "internal", "reading the case failed", NULL);
		return 1;
	}
	return 0;
}

int api_case_get(void *appv, struct http_req *req, struct http_resp *resp)
{
	struct app *app = appv;
	struct api_session *s = req->session;
	struct report_row *reports = NULL;
	struct case_event *hist = NULL;
	size_t nrep = 0, nhist = 0;
	bool full = api_role_sees_personal_data(s->role), any_pii = false;
	struct case_row c;
	int rc;

	if (visible_case(app, req, resp, &c))
		return SG_OK;
	if ((rc = store_case_reports(app->store, c.id, &reports, &nrep)) ||
	    (rc = store_case_history(app->store, c.id, &hist, &nhist)))
		goto out;
	for (size_t i = 0; i < nrep; i++)
		any_pii |= reports[i].caller_name[0] || reports[i].caller_phone[0];
	if (full && any_pii) {
		/* An unmasked read of callers' personal data is audited before it is answered. */
		char subject[32];
		snprintf(subject, sizeof subject, "case:%lld", (long long)c.id);
		if ((rc = store_audit_append(app->store, s->name, "personal_data.read", subject,
					     "caller name/phone")))
			goto out;
	}
	write_case(app, &s->scope, &resp->body, &c);
	resp->body.len--;
	resp->body.data[resp->body.len] = '\0';
	sg_buf_puts(&resp->body, ",\"reports_list\":[");
	for (size_t i = 0; i < nrep; i++) {
		if (i)
			sg_buf_putc(&resp->body, ',');
		write_report(&resp->body, &reports[i], full);
	}
	sg_buf_puts(&resp->body, "],\"history\":[");
	for (size_t i = 0; i < nhist; i++) {
		char at[32];
		api_format_time(hist[i].at, at);
		sg_buf_printf(&resp->body, "%s{\"at\":\"%s\",\"actor\":", i ? "," : "", at);
		sg_buf_json_str(&resp->body, hist[i].actor);
		sg_buf_puts(&resp->body, ",\"from\":");
		if (hist[i].from[0])
			sg_buf_json_str(&resp->body, hist[i].from);
		else
			sg_buf_puts(&resp->body, "null");
		sg_buf_puts(&resp->body, ",\"to\":");
		sg_buf_json_str(&resp->body, hist[i].to);
		sg_buf_puts(&resp->body, ",\"note\":");
		if (hist[i].note)
			sg_buf_json_str(&resp->body, hist[i].note);
		else
			sg_buf_puts(&resp->body, "null");
		sg_buf_putc(&resp->body, '}');
	}
	sg_buf_puts(&resp->body, "]}");
	http_json(resp, 200);
out:
	store_reports_free(reports, nrep);
	store_case_history_free(hist, nhist);
	return rc;
}

/* ---- repeat callers ---- */

#define CALLER_DAYS_DEFAULT 30
#define CALLER_DAYS_MAX 366
#define CALLER_LIMIT_DEFAULT 20
#define CALLER_LIMIT_MAX 100
/* Reports read at most for one lookup: a number that called thousands of times is cut short. */
#define CALLER_SCAN_MAX 2000
#define CALLER_STOP 1 /* caller_report's "enough": not an error */

struct caller_list {
	struct app *app;
	const struct catalog_scope *scope;
	struct sg_buf *b;
	size_t read, n, limit;
	bool more;
};

/* store_caller_fn: writes a visible report with its case, up to the limit. */
static int caller_report(void *ctx, const struct report_row *r, const struct case_row *c)
{
	struct caller_list *l = ctx;

	l->read++;
	if (!case_visible(l->app, l->scope, c))
		return SG_OK;
	if (l->n == l->limit) {
		l->more = true;
		return CALLER_STOP;
	}
	if (l->n++)
		sg_buf_putc(l->b, ',');
	write_report(l->b, r, true);
	l->b->len--; /* reopen the report object for its case */
	sg_buf_puts(l->b, ",\"case\":");
	write_case(l->app, l->scope, l->b, c);
	sg_buf_putc(l->b, '}');
	return SG_OK;
}

/* An optional integer member in [1, max], default def; 400 naming it otherwise. */
static int caller_int(const json_t *body, const char *name, json_int_t def, json_int_t max,
		      json_int_t *out, struct http_resp *resp)
{
	const json_t *v = json_object_get(body, name);
	char msg[64];

	*out = def;
	if (!v)
		return 0;
	if (json_is_integer(v) && json_integer_value(v) >= 1 && json_integer_value(v) <= max) {
		*out = json_integer_value(v);
		return 0;
	}
	snprintf(msg, sizeof msg, "%s must be an integer from 1 to %lld", name, (long long)max);
	http_error(resp, 400, "invalid", msg, name);
	return 1;
}

/*
 * 重复来电: the reports made from a number in the last days, newest first,
 * each with its case, within the caller's jurisdiction. The number travels in
 * the body, never in a URL that proxies and histories keep. Only a role that
 * reads callers in full may ask, and every lookup is audited before it is
 * answered, found or not: that a number called at all is personal data.
 */
int api_callers_reports(void *appv, struct http_req *req, struct http_resp *resp)
{
	static const char *const allowed[] = { "phone", "days", "limit", NULL };
	struct app *app = appv;
	struct api_session *s = req->session;
	char key[REPORT_PHONE_MAX + 1], subject[48], since_s[32];
	struct caller_list l = { .app = app, .scope = &s->scope, .b = &resp->body };
	json_int_t days, limit;
	const json_t *phone;
	json_t *body = NULL;
	int64_t since;
	int rc = SG_OK;

	if (!api_role_sees_personal_data(s->role))
		return http_error(resp, 403, "forbidden", "this role may not look up callers", NULL);
	if (api_body_object(req, resp, &body))
		return SG_OK;
	if (api_only_fields(body, allowed, resp))
		goto out;
	phone = json_object_get(body, "phone");
	if (!json_is_string(phone) || !valid_phone(json_string_value(phone))) {
		http_error(resp, 400, "invalid", "phone must be a telephone number", "phone");
		goto out;
	}
	if (caller_int(body, "days", CALLER_DAYS_DEFAULT, CALLER_DAYS_MAX, &days, resp) ||
	    caller_int(body, "limit", CALLER_LIMIT_DEFAULT, CALLER_LIMIT_MAX, &limit, resp))
		goto out;
	case_phone_key(json_string_value(phone), key);
	snprintf(subject, sizeof subject, "caller:%s", key);
	if ((rc = store_audit_append(app->store, s->name, "personal_data.search", subject,
				     "reports by caller phone")))
		goto out;
	since = api_now(app) - (int64_t)days * 86400;
	api_format_time(since, since_s);
	l.limit = (size_t)limit;
	sg_buf_puts(&resp->body, "{\"phone\":");
	sg_buf_json_str(&resp->body, key);
	sg_buf_printf(&resp->body, ",\"days\":%lld,\"since\":\"%s\",\"reports\":[", (long long)days,
		      since_s);
	rc = store_caller_reports(app->store, key, since, CALLER_SCAN_MAX, caller_report, &l);
	if (rc == CALLER_STOP)
		rc = SG_OK;
	if (rc)
		goto out;
	sg_buf_printf(&resp->body, "],\"more\":%s}", l.more || l.read == CALLER_SCAN_MAX ? "true" : "false");
	http_json(resp, 200);
out:
	json_decref(body);
	return rc;
}

static bool is_scope_area(const struct api_session *s, int64_t id)
{
	for (size_t i = 0; i < s->nscope; i++) {
		if (s->scope_ids[i] == id)
			return true;
	}
	return false;
}

/*
 * Where a scope's cases lie, for the store: a case is visible when one of its
 * areas is (case_visible). An area inside a scope area needs no range of its
 * own: a case in it is in the scope area too, or else it is a stray (its
 * areas do not nest as the tree does), which the store lists apart. So the
 * ranges are the scope areas and the visible areas no scope area contains —
 * the governance grids fused to a visible police grid across its edge.
 */
int api_case_where(struct app *app, const struct api_session *s, uint32_t area,
		   struct store_case_filter *f, struct store_case_area **areas)
{
	const struct catalog *cat = app->catalog;
	struct store_case_area *v = NULL;
	size_t n = 0, cap = 0;
	bool below = false;

	*areas = NULL;
	f->areas = NULL;
	f->nareas = 0;
	f->strays = false;
	if (area == CATALOG_NONE && s->scope.all)
		return SG_OK;
	if (area != CATALOG_NONE) {
		/* The area is visible, so every case in it is: its one range is exact. */
		if (!(v = malloc(sizeof *v)))
			return SG_ENOMEM;
		v[0] = (struct store_case_area){ cat->areas[area].kind, cat->areas[area].id };
		f->areas = *areas = v;
		f->nareas = 1;
		return SG_OK;
	}
	for (uint32_t i = 0; i < cat->n; i++) {
		bool inside = false;
		if (!catalog_visible(&s->scope, i))
			continue;
		for (uint32_t p = cat->areas[i].parent; p != CATALOG_NONE && !inside;
		     p = cat->areas[p].parent)
			inside = is_scope_area(s, cat->areas[p].id);
		if (inside) {
			below = true;
			continue;
		}
		if (n == STORE_CASE_AREAS_MAX) {
			/* Too many ranges to merge: the whole table, checked case by case. */
			free(v);
			return SG_OK;
		}
		if (n == cap) {
			size_t nc = cap ? cap * 2 : 16;
			struct store_case_area *nv = realloc(v, nc * sizeof *nv);
			if (!nv) {
				free(v);
				return SG_ENOMEM;
			}
			v = nv;
			cap = nc;
		}
		v[n++] = (struct store_case_area){ cat->areas[i].kind, cat->areas[i].id };
	}
	f->areas = *areas = v;
	f->nareas = n;
	/* Nothing visible at all: the strays alone, which the caller turns down. */
	f->strays = below || n == 0;
	return SG_OK;
}

struct list_ctx {
	struct app *app;
	const struct catalog_scope *scope;
	uint32_t area;     /* CATALOG_NONE: any */
	int64_t limit;
	int64_t emitted;
	int64_t last_id;
	bool more;
	struct sg_buf *b;
};

static bool case_in_area(struct app *app, const struct case_row *c, uint32_t area)
{
	const struct catalog_area *a = &app->catalog->areas[area];
	return c->area_ids[a->kind] == a->id;
}

static int list_one(void *ctxv, const struct case_row *c)
{
	struct list_ctx *ctx = ctxv;

	if (!case_visible(ctx->app, ctx->scope, c))
		return 0;
	if (ctx->area != CATALOG_NONE && !case_in_area(ctx->app, c, ctx->area))
		return 0;
	if (ctx->emitted == ctx->limit) {
		ctx->more = true;
		return 1;
	}
	if (ctx->emitted++)
		sg_buf_putc(ctx->b, ',');
	write_case(ctx->app, ctx->scope, ctx->b, c);
	ctx->last_id = c->id;
	return 0;
}

int api_cases_list(void *appv, struct http_req *req, struct http_resp *resp)
{
	struct app *app = appv;
	struct api_session *s = req->session;
	struct store_case_filter f;
	struct store_case_area *areas = NULL;
	struct list_ctx ctx;
	const char *limit_s = http_query(req, "limit"), *cursor_s = http_query(req, "cursor");
	const char *area_s = http_query(req, "area"), *since_s = http_query(req, "since");
	const char *open_s = http_query(req, "open");
	int64_t v;
	int rc;

	memset(&f, 0, sizeof f);
	memset(&ctx, 0, sizeof ctx);
	ctx.app = app;
	ctx.scope = &s->scope;
	ctx.area = CATALOG_NONE;
	ctx.limit = CASES_LIMIT_DEFAULT;
	ctx.b = &resp->body;
	f.status = http_query(req, "status");
	f.type = http_query(req, "type");
	f.category = http_query(req, "category");
	if (f.type && casefsm_type(app->fsm, f.type) < 0)
		return http_error(resp, 400, "invalid", "type is not a configured case type", "type");
	if (f.category && !category_info(app, f.category, &(struct classify_category_info){ 0 }))
		return http_error(resp, 400, "invalid", "category is not a configured category",
				  "category");
	if (f.status && (strlen(f.status) == 0 || strlen(f.status) >= CASE_ID_MAX))
		return http_error(resp, 400, "invalid", "status is not a case state", "status");
	if (open_s) {
		if (strcmp(open_s, "true") == 0)
			f.open = 1;
		else if (strcmp(open_s, "false") == 0)
			f.open = -1;
		else
			return http_error(resp, 400, "invalid", "open must be true or false", "open");
	}
	if (limit_s && (api_parse_id(limit_s, &ctx.limit) || ctx.limit > CASES_LIMIT_MAX))
		return http_error(resp, 400, "invalid", "limit must be an integer from 1 to 500",
				  "limit");
	if (cursor_s && api_parse_id(cursor_s, &f.before_id))
		return http_error(resp, 400, "invalid", "cursor is not one this server gave", "cursor");
	if (since_s && api_parse_time(since_s, &f.since))
		return http_error(resp, 400, "invalid", "since must be an RFC 3339 time", "since");
	if (area_s) {
		uint32_t i = catalog_find_code(app->catalog, area_s);
		if (i == CATALOG_NONE && api_parse_id(area_s, &v) == 0)
			i = catalog_find(app->catalog, v);
		if (i == CATALOG_NONE || !catalog_visible(&s->scope, i))
			return http_error(resp, 404, "not_found", "no such area", "area");
		ctx.area = i;
	}
	if ((rc = api_case_where(app, s, ctx.area, &f, &areas)))
		return rc;
	sg_buf_puts(&resp->body, "{\"cases\":[");
	rc = store_case_list(app->store, &f, list_one, &ctx);
	free(areas);
	if (rc)
		return rc;
	if (ctx.more)
		sg_buf_printf(&resp->body, "],\"next_cursor\":\"%lld\"}", (long long)ctx.last_id);
	else
		sg_buf_puts(&resp->body, "],\"next_cursor\":null}");
	http_json(resp, 200);
	return SG_OK;
}

int api_categories(void *appv, struct http_req *req, struct http_resp *resp)
{
	struct app *app = appv;
	size_t n = classify_category_count(app->classify);

	sg_buf_puts(&resp->body, "{\"categories\":[");
	for (size_t i = 0; i < n; i++) {
		struct classify_category_info info;
		if (classify_category_get(app->classify, i, &info))
			continue;
		sg_buf_puts(&resp->body, i ? ",{\"id\":" : "{\"id\":");
		sg_buf_json_str(&resp->body, info.id);
		sg_buf_puts(&resp->body, ",\"name_zh\":");
		sg_buf_json_str(&resp->body, info.name_zh);
		sg_buf_puts(&resp->body, ",\"name_en\":");
		sg_buf_json_str(&resp->body, info.name_en);
		sg_buf_printf(&resp->body, ",\"police\":%s,\"priority\":%d}",
			      info.police ? "true" : "false", info.priority);
	}
	/* The departments a case may be diverted to (POST .../divert), besides "station". */
	sg_buf_puts(&resp->body, "],\"departments\":[");
	n = classify_department_count(app->classify);
	for (size_t i = 0; i < n; i++) {
		struct classify_department_info d;
		if (classify_department_get(app->classify, i, &d))
			continue;
		sg_buf_puts(&resp->body, i ? ",{\"id\":" : "{\"id\":");
		sg_buf_json_str(&resp->body, d.id);
		sg_buf_puts(&resp->body, ",\"name_zh\":");
		sg_buf_json_str(&resp->body, d.name_zh);
		sg_buf_puts(&resp->body, ",\"name_en\":");
		if (d.name_en)
			sg_buf_json_str(&resp->body, d.name_en);
		else
			sg_buf_puts(&resp->body, "null");
		sg_buf_puts(&resp->body, ",\"kind\":");
		sg_buf_json_str(&resp->body, d.kind);
		sg_buf_putc(&resp->body, '}');
	}
	sg_buf_puts(&resp->body, "]}");
	http_json(resp, 200);
	return SG_OK;
}

static bool stream_visible(void *ctx, const uint32_t *idx, size_t n)
{
	const struct api_session *s = ctx;

	if (s->scope.all)
		return true;
	for (size_t i = 0; i < n; i++) {
		if (catalog_visible(&s->scope, idx[i]))
			return true;
	}
	return false;
}

static void stream_release(void *ctx)
{
	api_session_release(NULL, ctx);
}

int api_stream(void *appv, struct http_req *req, struct http_resp *resp)
{
	struct app *app = appv;
	struct api_session *s = req->session;
	struct sse_config cfg;
	int rc;

	memset(&cfg, 0, sizeof cfg);
	if (sse_last_event_id(req->conn, &cfg.since_id) != 0)
		return http_error(resp, 400, "invalid", "Last-Event-ID must be an event id",
				  "Last-Event-ID");
	cfg.feed = app->feed;
	cfg.filter = stream_visible;
	cfg.filter_ctx = s;
	cfg.release = stream_release;
	cfg.retry_ms = 3000;
	cfg.expires_at = s->expires_at;
	atomic_fetch_add(&s->refs, 1); /* the stream keeps the session's scope */
	if ((rc = sse_respond(req->conn, &cfg))) {
		atomic_fetch_sub(&s->refs, 1);
		if (rc == SG_ECLOSED || rc == SG_ETOOBIG)
			return http_error(resp, 503, "unavailable", "the event stream is not available",
					  NULL);
		return rc;
	}
	resp->status = 200;
	resp->queued = true;
	return SG_OK;
}
/* ---- for the bulk ingest (api_events.c) ---- */

int api_intake_read(struct app *app, struct api_session *s, json_t *obj, const char *skip,
		    struct api_intake *in, struct classify_result *cls, struct intake_error *e)
{
	return intake_prepare(app, s, obj, skip, in, cls, e);
}

/* ---- for the case actions (api_case_actions.c) ---- */

bool api_role_may_write_cases(enum auth_role r)
{
	return role_may_write_cases(r);
}

int api_case_visible_get(struct app *app, struct http_req *req, struct http_resp *resp,
			 struct case_row *c)
{
	return visible_case(app, req, resp, c);
}

void api_write_case(struct app *app, const struct catalog_scope *scope, struct sg_buf *b,
		    const struct case_row *c)
{
	write_case(app, scope, b, c);
}

void api_case_created(struct app *app, const struct case_row *c)
{
	publish(app, FEED_CASE_CREATED, c);
}

int api_case_locate(struct app *app, struct api_session *s, const json_t *obj,
		    struct case_row *out, const char **route_code, struct intake_error *e)
{
	uint32_t found[AREA_KIND_COUNT];
	struct geo_point p;

	if (read_point(obj, &p, e) || locate_case(app, s, p, out, found, e))
		return 1;
	*route_code = routing_code(app, found);
	return 0;
}

int api_case_for_report(struct app *app, struct api_session *s, const struct report_row *r,
			int64_t at, struct case_row *out, struct intake_error *e)
{
	struct classify_category_info info;
	uint32_t found[AREA_KIND_COUNT];

	/* The new case: the report's own place, category and routing. */
	memset(out, 0, sizeof *out);
	if (locate_case(app, s, (struct geo_point){ r->lon, r->lat }, out, found, e))
		return 1;
	if (!category_info(app, r->category, &info))
		return refuse(e, 409, "invalid", "the report's category is no longer configured",
			      "report_id");
	snprintf(out->category, sizeof out->category, "%s", info.id);
	out->police = info.police;
	out->priority = info.priority;
	snprintf(out->source, sizeof out->source, "%s", r->source);
	out->created_at = at;
	if (route_case(app, out, routing_code(app, found), out->created_at))
		return refuse(e, 500, "internal", "routing the report failed", NULL);
	return 0;
}
