/*
 * api_units.c — units (GET/POST /api/v1/units, GET /api/v1/units/{id}),
 * their live positions (PUT /api/v1/units/{id}/position and the
 * "unit_position" NDJSON event kind), and keeping the unit index current
 * with them. Not here: the nearest units (api_nearest.c), status steps and
 * dispatch (api_dispatch.c).
 */
#include "http/api_forces_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/err.h"
#include "base/log.h"
#include "geo/coord.h"

#define POSITION_FUTURE_MS 60000 /* a clock this far ahead is refused */

void api_write_unit(struct app *app, struct sg_buf *b, const struct store_unit *u)
{
	uint32_t idx = api_forces__area_idx(app, u->area_id);
	char t[32];

	sg_buf_printf(b, "{\"id\":%lld,\"type\":\"%s\",\"callsign\":", (long long)u->id,
		      unit_type_name(u->type));
	sg_buf_json_str(b, u->callsign);
	sg_buf_printf(b, ",\"org_id\":%lld,\"area\":", (long long)u->org_id);
	if (idx != CATALOG_NONE)
		api_write_area_ref(app, b, idx);
	else
		sg_buf_puts(b, "null");
	sg_buf_printf(b, ",\"status\":\"%s\",\"position\":", force_unit_status_name(u->status));
	if (u->has_pos) {
		char at[32];
		api_format_time(u->pos_at / 1000, at);
		sg_buf_printf(b, "{\"lon\":%.7f,\"lat\":%.7f,\"at\":\"%s\",\"at_ms\":%lld}", u->lon,
			      u->lat, at, (long long)u->pos_at);
	} else {
		sg_buf_puts(b, "null");
	}
	sg_buf_puts(b, ",\"case_id\":");
	if (u->case_id)
		sg_buf_printf(b, "%lld", (long long)u->case_id);
	else
		sg_buf_puts(b, "null");
	api_format_time(u->updated_at, t);
	sg_buf_printf(b, ",\"updated_at\":\"%s\",\"version\":%lld}", t, (long long)u->version);
}

void api_publish_unit(struct app *app, const struct store_unit *u)
{
	uint32_t idx = api_forces__area_idx(app, u->area_id);
	struct sg_buf b;

	if (!app->feed || idx == CATALOG_NONE)
		return;
	sg_buf_init(&b, 0);
	api_write_unit(app, &b, u);
	if (feed_publish(app->feed, FEED_UNIT_UPDATED, &idx, 1, b.data, NULL) != 0)
		SG_LOG(SG_LOG_WARN, "msg=\"feed publish failed\" unit=%lld", (long long)u->id);
	sg_buf_release(&b);
}

static void unit_rec_of(struct app *app, const struct store_unit *u, struct unit_rec *r)
{
	memset(r, 0, sizeof *r);
	r->id = u->id;
	r->type = (uint16_t)u->type;
	r->status = (uint8_t)u->status;
	r->home_area = api_forces__area_idx(app, u->area_id);
	r->has_pos = u->has_pos;
	r->lon = u->lon;
	r->lat = u->lat;
	r->pos_at = u->pos_at;
	r->version = u->version;
	snprintf(r->callsign, sizeof r->callsign, "%s", u->callsign);
}

struct load_ctx {
	struct app *app;
	int rc;
};

static int load_one(void *ctxv, const struct store_unit *u)
{
	struct load_ctx *c = ctxv;
	struct unit_rec r;

	unit_rec_of(c->app, u, &r);
	c->rc = unit_index_put(c->app->units, &r);
	return c->rc;
}

int api_units_load(struct app *app)
{
	struct load_ctx c = { app, 0 };
	int rc = store_units_all(app->store, load_one, &c);

	return rc ? rc : c.rc;
}

struct units_ctx {
	struct app *app;
	struct sg_buf *b;
	size_t n;
	int64_t last_area, last_id;
};

static int unit_row(void *ctxv, const struct store_unit *u)
{
	struct units_ctx *c = ctxv;

	if (c->n++)
		sg_buf_putc(c->b, ',');
	api_write_unit(c->app, c->b, u);
	c->last_area = u->area_id;
	c->last_id = u->id;
	return 0;
}

#define AS_OF_MARGIN_S 5

int api_units_list(void *appv, struct http_req *req, struct http_resp *resp)
{
	struct app *app = appv;
	struct store_force_filter f;
	struct units_ctx c;
	char as_of[32];
	int64_t *areas = NULL;
	size_t limit;
	int rc;

	if (api_forces__list_filter(app, req, resp, true, &f, &areas, &limit))
		return SG_OK;
	/*
	 * A write takes its time before it commits, so one in flight while this
	 * list is read may carry a time a little before the read: as_of, the
	 * since for the next poll, leaves AS_OF_MARGIN_S for such writes (a unit
	 * may come twice, none is missed).
	 */
	api_format_time(api_now(app) - AS_OF_MARGIN_S, as_of);
	memset(&c, 0, sizeof c);
	c.app = app;
	c.b = &resp->body;
	sg_buf_puts(&resp->body, "{\"units\":[");
	rc = store_units_list(app->store, &f, limit, unit_row, &c);
	free(areas);
	if (rc)
		return rc;
	api_forces__page_end(&resp->body, c.n, limit, c.last_area, c.last_id);
	sg_buf_printf(&resp->body, ",\"as_of\":\"%s\"}", as_of);
	http_json(resp, 200);
	return SG_OK;
}

/* The visible unit named by {id}, or an error answer. */
static int visible_unit(struct app *app, struct http_req *req, struct http_resp *resp,
			struct store_unit *u)
{
	int64_t id;
	int rc;

	if (api_forces__id_param(req, resp, &id))
		return 1;
	rc = store_unit_get(app->store, id, u);
	if (rc == SG_ENOTFOUND ||
	    (!rc && !api_forces__area_visible(app, req->session, u->area_id))) {
		http_error(resp, 404, "not_found", "no such unit", "id");
		return 1;
	}
	if (rc) {
		http_error(resp, 500, "internal", "reading the unit failed", NULL);
		return 1;
	}
	return 0;
}

int api_unit_get(void *appv, struct http_req *req, struct http_resp *resp)
{
	struct app *app = appv;
	struct store_unit u;

	if (visible_unit(app, req, resp, &u))
		return SG_OK;
	api_write_unit(app, &resp->body, &u);
	resp->body.len--;
	resp->body.data[resp->body.len] = '\0';
	sg_buf_puts(&resp->body, ",\"members\":[");
	/* A member that cannot be read is left out; the separator follows what was written. */
	for (size_t i = 0, written = 0; i < u.nmembers; i++) {
		struct store_person p;
		if (store_person_get(app->store, u.members[i], &p))
			continue;
		sg_buf_printf(&resp->body, "%s{\"id\":%lld,\"type\":\"%s\",\"name\":",
			      written++ ? "," : "", (long long)p.id, person_type_name(p.type));
		sg_buf_json_str(&resp->body, p.name);
		sg_buf_putc(&resp->body, '}');
	}
	sg_buf_puts(&resp->body, "]}");
	http_json(resp, 200);
	return SG_OK;
}

/* Reads lon, lat and crs of obj as a WGS-84 point; refuses naming the member. */
static int point_json(const json_t *obj, struct geo_point *out, struct intake_error *e)
{
	const json_t *v = json_object_get(obj, "lon");
	enum geo_crs crs = GEO_CRS_WGS84;
	struct geo_point p;

	e->status = 400;
	e->code = "invalid";
	if (!json_is_number(v) || !isfinite(json_number_value(v)) || fabs(json_number_value(v)) > 180) {
		snprintf(e->message, sizeof e->message, "lon must be a number from -180 to 180");
		snprintf(e->field, sizeof e->field, "lon");
		return 1;
	}
	p.lon = json_number_value(v);
	v = json_object_get(obj, "lat");
	if (!json_is_number(v) || !isfinite(json_number_value(v)) || fabs(json_number_value(v)) > 90) {
		snprintf(e->message, sizeof e->message, "lat must be a number from -90 to 90");
		snprintf(e->field, sizeof e->field, "lat");
		return 1;
	}
	p.lat = json_number_value(v);
	v = json_object_get(obj, "crs");
	if (v && (!json_is_string(v) || geo_crs_parse(json_string_value(v), &crs))) {
		snprintf(e->message, sizeof e->message, "crs must be wgs84, gcj02 or bd09");
		snprintf(e->field, sizeof e->field, "crs");
		return 1;
	}
	*out = geo_crs_convert(crs, GEO_CRS_WGS84, p);
	return 0;
}

static int refuse(struct intake_error *e, int status, const char *code, const char *msg,
		  const char *field)
{
	e->status = status;
	e->code = code;
	snprintf(e->message, sizeof e->message, "%s", msg);
	snprintf(e->field, sizeof e->field, "%s", field ? field : "");
	return 1;
}

int api_units_create(void *appv, struct http_req *req, struct http_resp *resp)
{
	static const char *const allowed[] = { "type", "callsign", "org_id", "area", "members",
					       "status", "lon", "lat", "crs", NULL };
	struct app *app = appv;
	struct api_session *s = req->session;
	struct store_unit u;
	struct store_org org;
	struct unit_rec rec;
	struct intake_error e;
	json_t *body = NULL, *v;
	uint32_t idx;
	int rc = SG_OK;

	if (!api_forces__role_manages(s->role))
		return http_error(resp, 403, "forbidden", "this role may not add units", NULL);
	if (api_body_object(req, resp, &body) || api_only_fields(body, allowed, resp))
		goto out;
	memset(&u, 0, sizeof u);
	v = json_object_get(body, "type");
	if (!json_is_string(v) || unit_type_parse(json_string_value(v), &u.type)) {
		http_error(resp, 400, "invalid", "type must be a unit type", "type");
		goto out;
	}
	if (api_forces__text(body, "callsign", STORE_CALLSIGN_MAX, true, u.callsign,
			     sizeof u.callsign, resp))
		goto out;
	v = json_object_get(body, "org_id");
	if (!json_is_integer(v) || json_integer_value(v) <= 0 ||
	    store_org_get(app->store, json_integer_value(v), &org) ||
	    !api_forces__org_visible(app, s, &org)) {
		http_error(resp, 400, "invalid", "org_id must be an organisation you see", "org_id");
		goto out;
	}
	u.org_id = org.id;
	if ((idx = api_forces__visible_area_json(app, s, json_object_get(body, "area"))) ==
	    CATALOG_NONE) {
		http_error(resp, 400, "invalid", "area must be an area in your jurisdiction", "area");
		goto out;
	}
	u.area_id = app->catalog->areas[idx].id;
	u.status = UNIT_AVAILABLE;
	v = json_object_get(body, "status");
	if (v && (!json_is_string(v) || force_unit_status_parse(json_string_value(v), &u.status) ||
		  (u.status != UNIT_AVAILABLE && u.status != UNIT_OFF_DUTY))) {
		http_error(resp, 400, "invalid", "status must be available or off_duty", "status");
		goto out;
	}
	v = json_object_get(body, "members");
	if (v) {
		size_t i;
		json_t *m;
		if (!json_is_array(v) || json_array_size(v) > STORE_UNIT_MEMBERS_MAX) {
			http_error(resp, 400, "invalid", "members must be an array of at most 16 person ids",
				   "members");
			goto out;
		}
		json_array_foreach(v, i, m) {
			struct store_person p;
			if (!json_is_integer(m) || json_integer_value(m) <= 0 ||
			    store_person_get(app->store, json_integer_value(m), &p) ||
			    !api_forces__area_visible(app, s, p.area_id)) {
				http_error(resp, 400, "invalid", "every member must be a person you see",
					   "members");
				goto out;
			}
			u.members[u.nmembers++] = p.id;
		}
	}
	if (json_object_get(body, "lon") || json_object_get(body, "lat")) {
		struct geo_point p;
		if (point_json(body, &p, &e)) {
			http_error(resp, 400, e.code, e.message, e.field);
			goto out;
		}
		u.has_pos = true;
		u.lon = p.lon;
		u.lat = p.lat;
		u.pos_at = api_forces__now_ms(app);
	}
	u.created_at = u.updated_at = api_now(app);
	if ((rc = store_units_add(app->store, &u, 1, s->name)))
		goto out;
	unit_rec_of(app, &u, &rec);
	if ((rc = unit_index_put(app->units, &rec)))
		goto out;
	api_write_unit(app, &resp->body, &u);
	http_json(resp, 201);
out:
	json_decref(body);
	return rc;
}

/*
 * Checks one position report: the unit (id, or obj's "unit_id" when id is
 * 0) must be one the caller sees; "at" is an RFC 3339 time or Unix
 * milliseconds, at most a minute ahead of the server's clock and not older
 * than the track retention. Looks the unit up in the index only, so that
 * thousands of positions a second cost no store read.
 */
static int position_from_json(struct app *app, const struct api_session *s, json_t *obj,
			      int64_t id, struct store_position *out, struct intake_error *e)
{
	struct unit_rec rec;
	struct geo_point p;
	int64_t now = api_forces__now_ms(app), at = now;
	json_t *v;

	if (!id) {
		v = json_object_get(obj, "unit_id");
		if (!json_is_integer(v) || json_integer_value(v) <= 0)
			return refuse(e, 400, "invalid", "unit_id must be a unit id", "unit_id");
		id = json_integer_value(v);
	}
	if (unit_index_get(app->units, id, &rec) ||
	    (!s->scope.all && (rec.home_area == CATALOG_NONE ||
			       !catalog_visible(&s->scope, rec.home_area))))
		return refuse(e, 404, "not_found", "no such unit", "unit_id");
	if (point_json(obj, &p, e))
		return 1;
	v = json_object_get(obj, "at");
	if (v) {
		int64_t t;
		if (json_is_integer(v))
			at = json_integer_value(v);
		else if (json_is_string(v) && api_parse_time(json_string_value(v), &t) == 0)
			at = t * 1000;
		else
			return refuse(e, 400, "invalid",
				      "at must be an RFC 3339 time or Unix milliseconds", "at");
		if (at > now + POSITION_FUTURE_MS)
			return refuse(e, 400, "invalid", "at must not be in the future", "at");
		if (at < now - app->policy->track_retention_s * 1000)
			return refuse(e, 400, "invalid", "at is older than the track retention", "at");
	}
	out->unit_id = id;
	out->lon = p.lon;
	out->lat = p.lat;
	out->at = at;
	return 0;
}

/*
 * A position waiting for its commit (PUT /api/v1/units/{id}/position): as
 * POST /api/v1/reports, the first call queues it and defers the answer, the
 * second answers once the batch is durable.
 */
struct position_wait {
	struct store_position pos;
	struct http_defer *d;
	int rc; /* the commit's: set by position_committed */
};

static void position_committed(void *arg, int rc)
{
	struct position_wait *w = arg;

	w->rc = rc;
	http_defer_done(w->d);
}

static int position_answer(struct app *app, struct position_wait *w, struct http_resp *resp)
{
	const struct store_position *pos = &w->pos;
	struct unit_rec rec;
	char at[32];

	if (w->rc)
		return w->rc;
	unit_index_move(app->units, pos->unit_id, pos->lon, pos->lat, pos->at);
	unit_index_get(app->units, pos->unit_id, &rec);
	api_format_time(pos->at / 1000, at);
	sg_buf_printf(&resp->body,
		      "{\"unit_id\":%lld,\"lon\":%.7f,\"lat\":%.7f,\"at\":\"%s\",\"at_ms\":%lld,"
		      "\"latest\":%s}",
		      (long long)pos->unit_id, pos->lon, pos->lat, at, (long long)pos->at,
		      rec.has_pos && rec.pos_at == pos->at ? "true" : "false");
	http_json(resp, 200);
	return SG_OK;
}

int api_unit_position(void *appv, struct http_req *req, struct http_resp *resp)
{
	static const char *const allowed[] = { "lon", "lat", "crs", "at", NULL };
	struct app *app = appv;
	struct api_session *s = req->session;
	struct position_wait *w = NULL;
	struct intake_error e;
	json_t *body = NULL;
	int64_t id;
	int rc = SG_OK;

	if (req->deferred)
		return position_answer(app, req->deferred, resp);
	if (api_forces__id_param(req, resp, &id))
		return SG_OK;
	if (s->role == AUTH_ROLE_ANALYST)
		return http_error(resp, 403, "forbidden", "this role may not report positions", NULL);
	if (api_body_object(req, resp, &body) || api_only_fields(body, allowed, resp))
		goto out;
	if (!(w = calloc(1, sizeof *w))) {
		rc = SG_ENOMEM;
		goto out;
	}
	if (position_from_json(app, s, body, id, &w->pos, &e)) {
		http_error(resp, e.status, e.code, e.message, e.status == 404 ? "id" : e.field);
		goto out;
	}
	if (!(w->d = http_defer(req, w, free))) {
		rc = SG_ENOMEM;
		goto out;
	}
	/* From here the deferral owns w. */
	if ((rc = store_positions_add_async(app->store, &w->pos, 1, api_now(app), NULL,
					     position_committed, w)))
		position_committed(w, rc); /* nothing queued: the second call answers the error */
	w = NULL;
	rc = SG_OK;
out:
	free(w);
	json_decref(body);
	return rc;
}

/* ---- the "unit_position" NDJSON event kind ---------------------------------------- */

struct position_batch {
	struct store_position *v;
	size_t n, alloc;
};

static int position_parse(struct app *app, struct api_session *s, json_t *obj, void **batchp,
			  struct intake_error *e)
{
	static const char *const allowed[] = { "kind", "unit_id", "lon", "lat", "crs", "at", NULL };
	struct position_batch *b = *batchp;
	struct store_position p;
	const char *key;
	json_t *v;

	json_object_foreach(obj, key, v) {
		bool ok = false;
		for (const char *const *a = allowed; *a; a++)
			ok |= strcmp(*a, key) == 0;
		if (!ok) {
			char msg[160];
			snprintf(msg, sizeof msg, "unknown field \"%.100s\"", key);
			return refuse(e, 400, "invalid", msg, key);
		}
	}
	if (s->role == AUTH_ROLE_ANALYST)
		return refuse(e, 403, "forbidden", "this role may not report positions", NULL);
	if (position_from_json(app, s, obj, 0, &p, e))
		return 1;
	if (!b) {
		if (!(b = calloc(1, sizeof *b)))
			return refuse(e, 500, "internal", "out of memory", NULL);
		*batchp = b;
	}
	if (b->n == b->alloc) {
		size_t na = b->alloc ? b->alloc * 2 : 256;
		struct store_position *nv = realloc(b->v, na * sizeof *nv);
		if (!nv)
			return refuse(e, 500, "internal", "out of memory", NULL);
		b->v = nv;
		b->alloc = na;
	}
	b->v[b->n++] = p;
	return 0;
}

static int position_submit(struct app *app, void *batchp, store_done_fn done, void *arg)
{
	struct position_batch *b = batchp;

	return store_positions_add_async(app->store, b->v, b->n, api_now(app), NULL, done, arg);
}

/* The batch is durable: the units move in the index. */
static void position_after(struct app *app, void *batchp, size_t *stored)
{
	struct position_batch *b = batchp;

	for (size_t i = 0; i < b->n; i++)
		unit_index_move(app->units, b->v[i].unit_id, b->v[i].lon, b->v[i].lat, b->v[i].at);
	*stored = b->n;
}

static void position_release(void *batchp)
{
	struct position_batch *b = batchp;

	if (b) {
		free(b->v);
		free(b);
	}
}

const struct api_event_kind api_event_kinds[] = {
	{ "unit_position", position_parse, position_submit, position_after, position_release },
};
const size_t api_nevent_kinds = sizeof api_event_kinds / sizeof api_event_kinds[0];
_Static_assert(sizeof api_event_kinds / sizeof api_event_kinds[0] <= API_EVENT_KINDS_MAX,
	       "raise API_EVENT_KINDS_MAX");
