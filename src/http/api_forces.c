/*
 * api_forces.c — the forces (力量): organisations, people and units, their
 * live positions (PUT and the "unit_position" NDJSON event kind) and the
 * nearest available units.
 *
 * Scope: an organisation is visible when one of its scope areas is, a
 * person or unit when the area they serve is; anything else answers 404 like
 * something that does not exist. People's phone and ID numbers are masked in
 * every list; a single person's record is unmasked for the roles that need
 * it, and that read is audited before it is answered.
 */
#include "http/api.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/err.h"
#include "base/log.h"
#include "geo/coord.h"

_Static_assert(UNIT_STATUS_COUNT == FORCE_UNIT_STATUS_COUNT,
	       "the store names unit statuses in the index's order");
_Static_assert(UNIT_TYPE_COUNT <= 32, "unit types are bits of a query's type mask");

#define LIST_LIMIT_DEFAULT 50
#define LIST_LIMIT_MAX 500
#define POSITION_FUTURE_MS 60000 /* a clock this far ahead is refused */

bool api_role_sees_personal_data(enum auth_role r)
{
	return r == AUTH_ROLE_ADMIN || r == AUTH_ROLE_COMMANDER || r == AUTH_ROLE_STATION_OFFICER;
}

/* Who may change the registry: admins everywhere, commanders and station officers in scope. */
static bool role_manages_forces(enum auth_role r)
{
	return r == AUTH_ROLE_ADMIN || r == AUTH_ROLE_COMMANDER || r == AUTH_ROLE_STATION_OFFICER;
}

/* The server clock in milliseconds (the test clock's offset included). */
static int64_t now_ms(struct app *app)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ((int64_t)ts.tv_sec + atomic_load(&app->clock_offset_s)) * 1000 + ts.tv_nsec / 1000000;
}

static uint32_t area_idx(struct app *app, int64_t id)
{
	return id ? catalog_find(app->catalog, id) : CATALOG_NONE;
}

static bool area_visible(struct app *app, const struct api_session *s, int64_t id)
{
	uint32_t i = area_idx(app, id);
	return i != CATALOG_NONE && catalog_visible(&s->scope, i);
}

/* An area named by id or code, visible to the caller; CATALOG_NONE otherwise. */
static uint32_t visible_area_named(struct app *app, const struct api_session *s, const char *v)
{
	int64_t id;
	uint32_t i = CATALOG_NONE;

	if (api_parse_id(v, &id) == 0)
		i = catalog_find(app->catalog, id);
	if (i == CATALOG_NONE)
		i = catalog_find_code(app->catalog, v);
	return i != CATALOG_NONE && catalog_visible(&s->scope, i) ? i : CATALOG_NONE;
}

/* An area given in a JSON body as an id or a code. */
static uint32_t visible_area_json(struct app *app, const struct api_session *s, const json_t *v)
{
	char tmp[32];

	if (json_is_integer(v) && json_integer_value(v) > 0) {
		snprintf(tmp, sizeof tmp, "%lld", (long long)json_integer_value(v));
		return visible_area_named(app, s, tmp);
	}
	if (json_is_string(v))
		return visible_area_named(app, s, json_string_value(v));
	return CATALOG_NONE;
}

uint32_t api_station_of(struct app *app, uint32_t idx)
{
	const struct catalog *c = app->catalog;
	struct geo_point p;
	uint32_t found[AREA_KIND_COUNT];

	if (idx == CATALOG_NONE)
		return CATALOG_NONE;
	switch (c->areas[idx].kind) {
	case AREA_STATION:
		return idx;
	case AREA_POLICE_GRID:
		return c->areas[idx].parent;
	case AREA_GOV_GRID:
		if (c->areas[idx].fused_police != CATALOG_NONE)
			return c->areas[c->areas[idx].fused_police].parent;
		break;
	case AREA_CITY:
	case AREA_DISTRICT:
		return CATALOG_NONE;
	default:
		break;
	}
	/* Streets and communities: the station at the middle of the area. */
	p.lon = (c->areas[idx].bbox.min_lon + c->areas[idx].bbox.max_lon) / 2;
	p.lat = (c->areas[idx].bbox.min_lat + c->areas[idx].bbox.max_lat) / 2;
	catalog_locate(c, p, found);
	return found[AREA_STATION];
}

static int id_param(struct http_req *req, struct http_resp *resp, int64_t *id)
{
	if (api_parse_id(req->params[0], id)) {
		http_error(resp, 400, "invalid", "id must be a positive integer", "id");
		return 1;
	}
	return 0;
}

static int limit_param(struct http_req *req, struct http_resp *resp, size_t *limit)
{
	const char *v = http_query(req, "limit");
	int64_t n = LIST_LIMIT_DEFAULT;

	if (v && (api_parse_id(v, &n) || n > LIST_LIMIT_MAX)) {
		http_error(resp, 400, "invalid", "limit must be an integer from 1 to 500", "limit");
		return 1;
	}
	*limit = (size_t)n;
	return 0;
}

/* The cursor "AREA.ID" of (area_id, id) ordered lists. */
static int cursor_param(struct http_req *req, struct http_resp *resp, int64_t *area, int64_t *id)
{
	const char *v = http_query(req, "cursor"), *dot;
	char a[24];

	*area = *id = 0;
	if (!v)
		return 0;
	dot = strchr(v, '.');
	if (!dot || (size_t)(dot - v) >= sizeof a)
		goto bad;
	memcpy(a, v, (size_t)(dot - v));
	a[dot - v] = '\0';
	if (api_parse_id(a, area) || api_parse_id(dot + 1, id))
		goto bad;
	return 0;
bad:
	http_error(resp, 400, "invalid", "cursor is not one this server gave", "cursor");
	return 1;
}

/*
 * "bbox=minlon,minlat,maxlon,maxlat" (WGS-84 degrees, min <= max) into f.
 * Absent: no box. 1 after answering 400 naming bbox.
 */
static int bbox_param(struct http_req *req, struct http_resp *resp, struct store_force_filter *f)
{
	const char *v = http_query(req, "bbox");
	double x[4];

	if (!v)
		return 0;
	for (int i = 0; i < 4; i++) {
		char *end;
		x[i] = strtod(v, &end);
		if (end == v || !isfinite(x[i]) || *end != (i < 3 ? ',' : '\0'))
			goto bad;
		v = end + (i < 3);
	}
	if (x[0] < -180 || x[2] > 180 || x[1] < -90 || x[3] > 90 || x[0] > x[2] || x[1] > x[3])
		goto bad;
	f->bbox = true;
	f->min_lon = x[0];
	f->min_lat = x[1];
	f->max_lon = x[2];
	f->max_lat = x[3];
	return 0;
bad:
	http_error(resp, 400, "invalid",
		   "bbox must be minlon,minlat,maxlon,maxlat in degrees, each min at most its max",
		   "bbox");
	return 1;
}

/* "since=RFC 3339 time" into f (Unix seconds). 1 after answering 400 naming since. */
static int since_param(struct http_req *req, struct http_resp *resp, struct store_force_filter *f)
{
	const char *v = http_query(req, "since");
	int64_t t;

	if (!v)
		return 0;
	if (api_parse_time(v, &t) || t <= 0) {
		http_error(resp, 400, "invalid", "since must be an RFC 3339 time after 1970", "since");
		return 1;
	}
	f->since = t;
	return 0;
}

/*
 * The ascending ids of the areas a list may look in: those visible to the
 * caller and, with an area filter, inside it. NULL with *n 0 means every
 * area (an unrestricted caller with no filter). Caller frees.
 */
static int list_areas(struct app *app, const struct api_session *s, uint32_t within,
		      int64_t **out, size_t *n)
{
	struct catalog_scope sub;
	int64_t *v;
	size_t k = 0;
	int rc;

	*out = NULL;
	*n = 0;
	if (s->scope.all && within == CATALOG_NONE)
		return SG_OK;
	memset(&sub, 0, sizeof sub);
	if (within != CATALOG_NONE &&
	    (rc = catalog_scope_build(app->catalog, &app->catalog->areas[within].id, 1, &sub)))
		return rc;
	if (!(v = malloc((app->catalog->n + 1) * sizeof *v))) {
		catalog_scope_release(&sub);
		return SG_ENOMEM;
	}
	for (uint32_t i = 0; i < app->catalog->n; i++) {
		if (!catalog_visible(&s->scope, i))
			continue;
		if (within != CATALOG_NONE && !catalog_visible(&sub, i))
			continue;
		v[k++] = app->catalog->areas[i].id; /* the catalog is ordered by id */
	}
	catalog_scope_release(&sub);
	*out = v;
	*n = k;
	return SG_OK;
}

/* ---- organisations --------------------------------------------------------- */

static bool org_visible(struct app *app, const struct api_session *s, const struct store_org *o)
{
	if (s->scope.all)
		return true;
	for (size_t i = 0; i < o->nareas; i++) {
		if (area_visible(app, s, o->area_ids[i]))
			return true;
	}
	return false;
}

static void write_org(struct app *app, const struct api_session *s, struct sg_buf *b,
		      const struct store_org *o)
{
	char t1[32], t2[32];
	bool first = true;

	sg_buf_printf(b, "{\"id\":%lld,\"kind\":\"%s\",\"parent_id\":", (long long)o->id,
		      org_kind_name(o->kind));
	if (o->parent_id)
		sg_buf_printf(b, "%lld", (long long)o->parent_id);
	else
		sg_buf_puts(b, "null");
	sg_buf_puts(b, ",\"code\":");
	if (o->code[0])
		sg_buf_json_str(b, o->code);
	else
		sg_buf_puts(b, "null");
	sg_buf_puts(b, ",\"name\":");
	sg_buf_json_str(b, o->name);
	sg_buf_puts(b, ",\"phone\":");
	if (o->phone[0])
		sg_buf_json_str(b, o->phone);
	else
		sg_buf_puts(b, "null");
	sg_buf_printf(b, ",\"police\":%s,\"areas\":[", org_kind_police(o->kind) ? "true" : "false");
	for (size_t i = 0; i < o->nareas; i++) {
		uint32_t idx = area_idx(app, o->area_ids[i]);
		if (idx == CATALOG_NONE || !catalog_visible(&s->scope, idx))
			continue;
		if (!first)
			sg_buf_putc(b, ',');
		first = false;
		api_write_area_ref(app, b, idx);
	}
	api_format_time(o->created_at, t1);
	api_format_time(o->updated_at, t2);
	sg_buf_printf(b, "],\"created_at\":\"%s\",\"updated_at\":\"%s\",\"version\":%lld}", t1, t2,
		      (long long)o->version);
}

struct orgs_ctx {
	struct app *app;
	const struct api_session *s;
	int kind;          /* -1: any */
	int64_t parent;    /* 0: any */
	uint32_t area;     /* CATALOG_NONE: any; else orgs with a scope area inside it */
	struct catalog_scope sub;
	struct sg_buf *b;
	size_t n;
};

static int org_row(void *ctxv, const struct store_org *o)
{
	struct orgs_ctx *c = ctxv;

	if (!org_visible(c->app, c->s, o))
		return 0;
	if (c->kind >= 0 && (int)o->kind != c->kind)
		return 0;
	if (c->parent && o->parent_id != c->parent)
		return 0;
	if (c->area != CATALOG_NONE) {
		bool in = false;
		for (size_t i = 0; i < o->nareas && !in; i++) {
			uint32_t idx = area_idx(c->app, o->area_ids[i]);
			in = idx != CATALOG_NONE && catalog_visible(&c->sub, idx);
		}
		if (!in)
			return 0;
	}
	if (c->n++)
		sg_buf_putc(c->b, ',');
	write_org(c->app, c->s, c->b, o);
	return 0;
}

int api_orgs_list(void *appv, struct http_req *req, struct http_resp *resp)
{
	struct app *app = appv;
	struct api_session *s = req->session;
	const char *kind = http_query(req, "kind"), *parent = http_query(req, "parent");
	const char *area = http_query(req, "area");
	struct orgs_ctx c;
	enum org_kind k;
	int rc;

	memset(&c, 0, sizeof c);
	c.app = app;
	c.s = s;
	c.kind = -1;
	c.area = CATALOG_NONE;
	c.b = &resp->body;
	if (kind) {
		if (org_kind_parse(kind, &k))
			return http_error(resp, 400, "invalid", "kind is not an organisation kind", "kind");
		c.kind = (int)k;
	}
	if (parent && api_parse_id(parent, &c.parent))
		return http_error(resp, 400, "invalid", "parent must be an organisation id", "parent");
	if (area) {
		if ((c.area = visible_area_named(app, s, area)) == CATALOG_NONE)
			return http_error(resp, 404, "not_found", "no such area", "area");
		if ((rc = catalog_scope_build(app->catalog, &app->catalog->areas[c.area].id, 1, &c.sub)))
			return rc;
	}
	sg_buf_puts(&resp->body, "{\"orgs\":[");
	rc = store_orgs_list(app->store, org_row, &c);
	catalog_scope_release(&c.sub);
	if (rc)
		return rc;
	sg_buf_printf(&resp->body, "],\"count\":%zu}", c.n);
	http_json(resp, 200);
	return SG_OK;
}

/* The visible organisation named by {id}, or an error answer. */
static int visible_org(struct app *app, struct http_req *req, struct http_resp *resp,
		       struct store_org *o)
{
	int64_t id;
	int rc;

	if (id_param(req, resp, &id))
		return 1;
	rc = store_org_get(app->store, id, o);
	if (rc == SG_ENOTFOUND || (!rc && !org_visible(app, req->session, o))) {
		http_error(resp, 404, "not_found", "no such organisation", "id");
		return 1;
	}
	if (rc) {
		http_error(resp, 500, "internal", "reading the organisation failed", NULL);
		return 1;
	}
	return 0;
}

int api_org_get(void *appv, struct http_req *req, struct http_resp *resp)
{
	struct app *app = appv;
	struct store_org *o = malloc(sizeof *o);

	if (!o)
		return SG_ENOMEM;
	if (!visible_org(app, req, resp, o)) {
		write_org(app, req->session, &resp->body, o);
		http_json(resp, 200);
	}
	free(o);
	return SG_OK;
}

/* Reads "areas": an array of visible area ids or codes, into o. */
static int org_areas_json(struct app *app, const struct api_session *s, const json_t *v,
			  struct store_org *o, struct http_resp *resp)
{
	size_t i;
	json_t *x;

	if (!json_is_array(v) || json_array_size(v) == 0 || json_array_size(v) > STORE_ORG_AREAS_MAX) {
		http_error(resp, 400, "invalid", "areas must be an array of 1 to 64 area ids or codes",
			   "areas");
		return 1;
	}
	o->nareas = 0;
	json_array_foreach(v, i, x) {
		uint32_t idx = visible_area_json(app, s, x);
		if (idx == CATALOG_NONE) {
			http_error(resp, 400, "invalid", "every area must be an area in your jurisdiction",
				   "areas");
			return 1;
		}
		o->area_ids[o->nareas++] = app->catalog->areas[idx].id;
	}
	return 0;
}

static int org_text(const json_t *body, const char *name, size_t max, bool required, char *out,
		    size_t cap, struct http_resp *resp)
{
	const json_t *v = json_object_get(body, name);
	char msg[96];

	if (!v && !required)
		return 0;
	if (!json_is_string(v) || json_string_length(v) == 0 || json_string_length(v) > max ||
	    strlen(json_string_value(v)) != json_string_length(v)) {
		snprintf(msg, sizeof msg, "%s must be a string of 1 to %zu bytes", name, max);
		http_error(resp, 400, "invalid", msg, name);
		return 1;
	}
	snprintf(out, cap, "%s", json_string_value(v));
	return 0;
}

int api_orgs_create(void *appv, struct http_req *req, struct http_resp *resp)
{
	static const char *const allowed[] = { "kind", "parent_id", "code", "name", "phone", "areas", NULL };
	struct app *app = appv;
	struct api_session *s = req->session;
	struct store_org *o = calloc(1, sizeof *o), parent;
	json_t *body = NULL, *v;
	int rc = SG_OK;

	if (!o)
		return SG_ENOMEM;
	if (s->role != AUTH_ROLE_ADMIN && s->role != AUTH_ROLE_COMMANDER) {
		http_error(resp, 403, "forbidden", "only an admin or a commander adds organisations", NULL);
		goto out;
	}
	if (api_body_object(req, resp, &body) || api_only_fields(body, allowed, resp))
		goto out;
	v = json_object_get(body, "kind");
	if (!json_is_string(v) || org_kind_parse(json_string_value(v), &o->kind)) {
		http_error(resp, 400, "invalid", "kind must be an organisation kind", "kind");
		goto out;
	}
	if (org_text(body, "name", STORE_FORCE_NAME_MAX, true, o->name, sizeof o->name, resp) ||
	    org_text(body, "code", AREA_CODE_MAX - 1, false, o->code, sizeof o->code, resp) ||
	    org_text(body, "phone", FORCE_PHONE_MAX, false, o->phone, sizeof o->phone, resp))
		goto out;
	if (o->phone[0] && !force_phone_valid(o->phone)) {
		http_error(resp, 400, "invalid", "phone must be a telephone number", "phone");
		goto out;
	}
	v = json_object_get(body, "parent_id");
	if (v && !json_is_null(v)) {
		if (!json_is_integer(v) || json_integer_value(v) <= 0 ||
		    store_org_get(app->store, json_integer_value(v), &parent) ||
		    !org_visible(app, s, &parent)) {
			http_error(resp, 400, "invalid", "parent_id must be an organisation you see",
				   "parent_id");
			goto out;
		}
		o->parent_id = parent.id;
	}
	if (org_areas_json(app, s, json_object_get(body, "areas"), o, resp))
		goto out;
	o->created_at = api_now(app);
	rc = store_orgs_add(app->store, o, 1, s->name);
	if (rc == SG_ECONFLICT) {
		rc = SG_OK;
		http_error(resp, 409, "conflict", "an organisation already has this code", "code");
		goto out;
	}
	if (rc)
		goto out;
	write_org(app, s, &resp->body, o);
	http_json(resp, 201);
out:
	json_decref(body);
	free(o);
	return rc;
}

int api_org_patch(void *appv, struct http_req *req, struct http_resp *resp)
{
	static const char *const allowed[] = { "version", "name", "phone", "parent_id", "areas", NULL };
	struct app *app = appv;
	struct api_session *s = req->session;
	struct store_org *o = malloc(sizeof *o), *after = malloc(sizeof *after), *areas = NULL;
	struct store_org_patch p;
	char name[STORE_FORCE_NAME_MAX + 1] = "", phone[FORCE_PHONE_MAX + 1] = "";
	json_t *body = NULL, *v;
	int rc = SG_OK;

	if (!o || !after) {
		rc = SG_ENOMEM;
		goto out;
	}
	if (visible_org(app, req, resp, o))
		goto out;
	if (s->role != AUTH_ROLE_ADMIN && s->role != AUTH_ROLE_COMMANDER) {
		http_error(resp, 403, "forbidden", "only an admin or a commander changes organisations",
			   NULL);
		goto out;
	}
	if (api_body_object(req, resp, &body) || api_only_fields(body, allowed, resp))
		goto out;
	memset(&p, 0, sizeof p);
	p.id = o->id;
	p.parent_id = -1;
	v = json_object_get(body, "version");
	if (!json_is_integer(v) || json_integer_value(v) < 1) {
		http_error(resp, 400, "invalid", "version must be the version you read", "version");
		goto out;
	}
	p.expected_version = json_integer_value(v);
	if (org_text(body, "name", STORE_FORCE_NAME_MAX, false, name, sizeof name, resp))
		goto out;
	if (name[0])
		p.name = name;
	v = json_object_get(body, "phone");
	if (json_is_null(v)) {
		p.phone = "";
	} else if (v) {
		if (org_text(body, "phone", FORCE_PHONE_MAX, true, phone, sizeof phone, resp))
			goto out;
		if (!force_phone_valid(phone)) {
			http_error(resp, 400, "invalid", "phone must be a telephone number", "phone");
			goto out;
		}
		p.phone = phone;
	}
	v = json_object_get(body, "parent_id");
	if (json_is_null(v)) {
		p.parent_id = 0;
	} else if (v) {
		struct store_org parent;
		if (!json_is_integer(v) || json_integer_value(v) <= 0 ||
		    store_org_get(app->store, json_integer_value(v), &parent) ||
		    !org_visible(app, s, &parent)) {
			http_error(resp, 400, "invalid", "parent_id must be an organisation you see",
				   "parent_id");
			goto out;
		}
		p.parent_id = parent.id;
	}
	v = json_object_get(body, "areas");
	if (v) {
		if (!(areas = calloc(1, sizeof *areas))) {
			rc = SG_ENOMEM;
			goto out;
		}
		if (org_areas_json(app, s, v, areas, resp))
			goto out;
		p.area_ids = areas->area_ids;
		p.nareas = areas->nareas;
		p.set_areas = true;
	}
	p.at = api_now(app);
	p.actor = s->name;
	p.out = after;
	rc = store_org_patch(app->store, &p);
	if (rc == SG_ECONFLICT) {
		rc = SG_OK;
		sg_buf_printf(&resp->body,
			      "{\"error\":{\"code\":\"conflict\",\"message\":\"the organisation changed "
			      "since you read it\",\"field\":\"version\",\"current_version\":%lld}}",
			      (long long)after->version);
		http_json(resp, 409);
		goto out;
	}
	if (rc == SG_EINVAL) {
		rc = SG_OK;
		http_error(resp, 400, "invalid", "parent_id would make the organisation its own ancestor",
			   "parent_id");
		goto out;
	}
	if (rc)
		goto out;
	write_org(app, s, &resp->body, after);
	http_json(resp, 200);
out:
	json_decref(body);
	free(o);
	free(after);
	free(areas);
	return rc;
}

/* ---- people ---------------------------------------------------------------- */

static void write_person(struct app *app, const struct api_session *s, struct sg_buf *b,
			 const struct store_person *p, bool full)
{
	uint32_t idx = area_idx(app, p->area_id);
	char masked[FORCE_PHONE_MAX + FORCE_ID_NUMBER_LEN + 2], t[32];

	sg_buf_printf(b, "{\"id\":%lld,\"type\":\"%s\",\"type_zh\":\"%s\",\"org_id\":%lld,\"area\":",
		      (long long)p->id, person_type_name(p->type), person_type_name_zh(p->type),
		      (long long)p->org_id);
	if (idx != CATALOG_NONE)
		api_write_area_ref(app, b, idx);
	else
		sg_buf_puts(b, "null");
	sg_buf_puts(b, ",\"unit_id\":");
	if (p->unit_id)
		sg_buf_printf(b, "%lld", (long long)p->unit_id);
	else
		sg_buf_puts(b, "null");
	sg_buf_puts(b, ",\"name\":");
	sg_buf_json_str(b, p->name);
	sg_buf_puts(b, ",\"phone\":");
	if (!p->phone[0]) {
		sg_buf_puts(b, "null");
	} else if (full) {
		sg_buf_json_str(b, p->phone);
	} else {
		case_mask_phone(p->phone, masked);
		sg_buf_json_str(b, masked);
	}
	sg_buf_puts(b, ",\"id_number\":");
	if (!p->id_number[0]) {
		sg_buf_puts(b, "null");
	} else if (full) {
		sg_buf_json_str(b, p->id_number);
	} else {
		force_mask_id_number(p->id_number, masked);
		sg_buf_json_str(b, masked);
	}
	sg_buf_printf(b, ",\"masked\":%s,\"grids\":[", full ? "false" : "true");
	for (size_t i = 0, n = 0; i < p->ngrids; i++) {
		if (!area_visible(app, s, p->grids[i]))
			continue;
		sg_buf_printf(b, "%s%lld", n++ ? "," : "", (long long)p->grids[i]);
	}
	api_format_time(p->created_at, t);
	sg_buf_printf(b, "],\"created_at\":\"%s\"}", t);
}

struct people_ctx {
	struct app *app;
	const struct api_session *s;
	struct sg_buf *b;
	size_t n;
	int64_t last_area, last_id;
};

static int person_row(void *ctxv, const struct store_person *p)
{
	struct people_ctx *c = ctxv;

	if (c->n++)
		sg_buf_putc(c->b, ',');
	write_person(c->app, c->s, c->b, p, false);
	c->last_area = p->area_id;
	c->last_id = p->id;
	return 0;
}

/* Reads the filters shared by the people and units lists. Non-zero: resp holds the error. */
static int force_filter(struct app *app, struct http_req *req, struct http_resp *resp, bool units,
			struct store_force_filter *f, int64_t **areas, size_t *limit)
{
	struct api_session *s = req->session;
	const char *type = http_query(req, "type"), *org = http_query(req, "org");
	const char *area = http_query(req, "area"), *status = http_query(req, "status");
	uint32_t within = CATALOG_NONE;
	int rc;

	memset(f, 0, sizeof *f);
	f->type = -1;
	f->status = -1;
	*areas = NULL;
	if (type) {
		int t;
		if (units ? unit_type_parse(type, (enum unit_type *)&t)
			  : person_type_parse(type, (enum person_type *)&t)) {
			http_error(resp, 400, "invalid",
				   units ? "type is not a unit type" : "type is not a person type", "type");
			return 1;
		}
		f->type = t;
	}
	if (status) {
		if (!units || force_unit_status_parse(status, &f->status)) {
			http_error(resp, 400, "invalid",
				   units ? "status is not a unit status" : "unknown parameter status",
				   "status");
			return 1;
		}
	}
	if (!units && (http_query(req, "bbox") || http_query(req, "since"))) {
		const char *which = http_query(req, "bbox") ? "bbox" : "since";
		http_error(resp, 400, "invalid", "people have no position: no bbox or since", which);
		return 1;
	}
	if (units && (bbox_param(req, resp, f) || since_param(req, resp, f)))
		return 1;
	if (org && api_parse_id(org, &f->org_id)) {
		http_error(resp, 400, "invalid", "org must be an organisation id", "org");
		return 1;
	}
	if (area && (within = visible_area_named(app, s, area)) == CATALOG_NONE) {
		http_error(resp, 404, "not_found", "no such area", "area");
		return 1;
	}
	if (limit_param(req, resp, limit) || cursor_param(req, resp, &f->after_area, &f->after_id))
		return 1;
	if ((rc = list_areas(app, s, within, areas, &f->nareas))) {
		http_error(resp, 500, "internal", sg_err_name(rc), NULL);
		return 1;
	}
	f->areas = *areas;
	if (!f->areas && (!s->scope.all || within != CATALOG_NONE)) {
		/* A caller who sees nothing: an empty list, never everything. */
		static const int64_t none = 0;
		f->areas = &none;
		f->nareas = 0;
	}
	return 0;
}

int api_people_list(void *appv, struct http_req *req, struct http_resp *resp)
{
	struct app *app = appv;
	struct store_force_filter f;
	struct people_ctx c;
	int64_t *areas = NULL;
	size_t limit;
	int rc;

	if (force_filter(app, req, resp, false, &f, &areas, &limit))
		return SG_OK;
	memset(&c, 0, sizeof c);
	c.app = app;
	c.s = req->session;
	c.b = &resp->body;
	sg_buf_puts(&resp->body, "{\"people\":[");
	rc = store_people_list(app->store, &f, limit, person_row, &c);
	free(areas);
	if (rc)
		return rc;
	/* A full page may have more after it; the next page says so by being empty. */
	if (c.n == limit)
		sg_buf_printf(&resp->body, "],\"next_cursor\":\"%lld.%lld\"}", (long long)c.last_area,
			      (long long)c.last_id);
	else
		sg_buf_puts(&resp->body, "],\"next_cursor\":null}");
	http_json(resp, 200);
	return SG_OK;
}

int api_person_get(void *appv, struct http_req *req, struct http_resp *resp)
{
	struct app *app = appv;
	struct api_session *s = req->session;
	struct store_person p;
	bool full = api_role_sees_personal_data(s->role);
	int64_t id;
	int rc;

	if (id_param(req, resp, &id))
		return SG_OK;
	rc = store_person_get(app->store, id, &p);
	if (rc == SG_ENOTFOUND || (!rc && !area_visible(app, s, p.area_id)))
		return http_error(resp, 404, "not_found", "no such person", "id");
	if (rc)
		return rc;
	if (full && (p.phone[0] || p.id_number[0])) {
		/* An unmasked read of personal data is audited before it is answered. */
		char subject[40];
		snprintf(subject, sizeof subject, "person:%lld", (long long)p.id);
		if ((rc = store_audit_append(app->store, s->name, "personal_data.read", subject,
					     "phone/id_number")))
			return rc;
	}
	write_person(app, s, &resp->body, &p, full);
	http_json(resp, 200);
	return SG_OK;
}

/*
 * Checks a person object (POST /api/v1/people) into p. Returns 0, or fills
 * resp and returns non-zero. The organisation must be one the caller sees.
 */
static int person_from_json(struct app *app, const struct api_session *s, json_t *body,
			    struct store_person *p, struct http_resp *resp)
{
	static const char *const allowed[] = { "type", "org_id", "area", "name", "phone", "id_number",
					       "grids", NULL };
	struct store_org org;
	uint32_t idx;
	json_t *v;

	memset(p, 0, sizeof *p);
	if (api_only_fields(body, allowed, resp))
		return 1;
	v = json_object_get(body, "type");
	if (!json_is_string(v) || person_type_parse(json_string_value(v), &p->type))
		return http_error(resp, 400, "invalid", "type must be a person type", "type"), 1;
	v = json_object_get(body, "org_id");
	if (!json_is_integer(v) || json_integer_value(v) <= 0 ||
	    store_org_get(app->store, json_integer_value(v), &org) || !org_visible(app, s, &org))
		return http_error(resp, 400, "invalid", "org_id must be an organisation you see",
				  "org_id"),
		       1;
	p->org_id = org.id;
	if ((idx = visible_area_json(app, s, json_object_get(body, "area"))) == CATALOG_NONE)
		return http_error(resp, 400, "invalid", "area must be an area in your jurisdiction",
				  "area"),
		       1;
	p->area_id = app->catalog->areas[idx].id;
	if (org_text(body, "name", STORE_FORCE_NAME_MAX, true, p->name, sizeof p->name, resp))
		return 1;
	v = json_object_get(body, "phone");
	if (v && (!json_is_string(v) || !force_phone_valid(json_string_value(v))))
		return http_error(resp, 400, "invalid", "phone must be a telephone number", "phone"), 1;
	if (v)
		snprintf(p->phone, sizeof p->phone, "%s", json_string_value(v));
	v = json_object_get(body, "id_number");
	if (v && (!json_is_string(v) || !force_id_number_valid(json_string_value(v))))
		return http_error(resp, 400, "invalid",
				  "id_number must be an 18-character citizen ID number with a valid "
				  "check character",
				  "id_number"),
		       1;
	if (v)
		snprintf(p->id_number, sizeof p->id_number, "%s", json_string_value(v));
	v = json_object_get(body, "grids");
	if (v) {
		size_t i;
		json_t *g;
		if (!json_is_array(v) || json_array_size(v) > STORE_PERSON_GRIDS_MAX)
			return http_error(resp, 400, "invalid",
					  "grids must be an array of at most 8 grid ids", "grids"),
			       1;
		json_array_foreach(v, i, g) {
			uint32_t gi = visible_area_json(app, s, g);
			if (gi == CATALOG_NONE || (app->catalog->areas[gi].kind != AREA_GOV_GRID &&
						   app->catalog->areas[gi].kind != AREA_POLICE_GRID))
				return http_error(resp, 400, "invalid",
						  "every grid must be a governance or police grid in "
						  "your jurisdiction",
						  "grids"),
				       1;
			p->grids[p->ngrids++] = app->catalog->areas[gi].id;
		}
	}
	return 0;
}

int api_people_create(void *appv, struct http_req *req, struct http_resp *resp)
{
	struct app *app = appv;
	struct api_session *s = req->session;
	struct store_person p;
	json_t *body = NULL;
	int rc = SG_OK;

	if (!role_manages_forces(s->role))
		return http_error(resp, 403, "forbidden", "this role may not add people", NULL);
	if (api_body_object(req, resp, &body) || person_from_json(app, s, body, &p, resp))
		goto out;
	p.created_at = api_now(app);
	rc = store_person_add(app->store, &p, s->name);
	if (rc == SG_ECONFLICT) {
		rc = SG_OK;
		http_error(resp, 409, "conflict", "a person with this ID number is already registered",
			   "id_number");
		goto out;
	}
	if (rc)
		goto out;
	write_person(app, s, &resp->body, &p, api_role_sees_personal_data(s->role));
	http_json(resp, 201);
out:
	json_decref(body);
	return rc;
}

/* ---- units ------------------------------------------------------------------ */

void api_write_unit(struct app *app, struct sg_buf *b, const struct store_unit *u)
{
	uint32_t idx = area_idx(app, u->area_id);
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
	uint32_t idx = area_idx(app, u->area_id);
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
	r->home_area = area_idx(app, u->area_id);
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

	if (force_filter(app, req, resp, true, &f, &areas, &limit))
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
	if (c.n == limit)
		sg_buf_printf(&resp->body, "],\"next_cursor\":\"%lld.%lld\"", (long long)c.last_area,
			      (long long)c.last_id);
	else
		sg_buf_puts(&resp->body, "],\"next_cursor\":null");
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

	if (id_param(req, resp, &id))
		return 1;
	rc = store_unit_get(app->store, id, u);
	if (rc == SG_ENOTFOUND || (!rc && !area_visible(app, req->session, u->area_id))) {
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

	if (!role_manages_forces(s->role))
		return http_error(resp, 403, "forbidden", "this role may not add units", NULL);
	if (api_body_object(req, resp, &body) || api_only_fields(body, allowed, resp))
		goto out;
	memset(&u, 0, sizeof u);
	v = json_object_get(body, "type");
	if (!json_is_string(v) || unit_type_parse(json_string_value(v), &u.type)) {
		http_error(resp, 400, "invalid", "type must be a unit type", "type");
		goto out;
	}
	if (org_text(body, "callsign", STORE_CALLSIGN_MAX, true, u.callsign, sizeof u.callsign, resp))
		goto out;
	v = json_object_get(body, "org_id");
	if (!json_is_integer(v) || json_integer_value(v) <= 0 ||
	    store_org_get(app->store, json_integer_value(v), &org) || !org_visible(app, s, &org)) {
		http_error(resp, 400, "invalid", "org_id must be an organisation you see", "org_id");
		goto out;
	}
	u.org_id = org.id;
	if ((idx = visible_area_json(app, s, json_object_get(body, "area"))) == CATALOG_NONE) {
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
			    !area_visible(app, s, p.area_id)) {
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
		u.pos_at = now_ms(app);
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
	int64_t now = now_ms(app), at = now;
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
	if (id_param(req, resp, &id))
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
	if ((rc = store_positions_add_async(app->store, &w->pos, 1, NULL, position_committed, w)))
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

	return store_positions_add_async(app->store, b->v, b->n, NULL, done, arg);
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

/* ---- nearest ------------------------------------------------------------------- */

struct suggestion {
	struct unit_hit hit;
	double eta_s;
	const char *reason;
	uint32_t station;
};

static int cmp_eta(const void *a, const void *b)
{
	const struct suggestion *x = a, *y = b;

	if (x->eta_s != y->eta_s)
		return x->eta_s < y->eta_s ? -1 : 1;
	if (x->hit.distance_m != y->hit.distance_m)
		return x->hit.distance_m < y->hit.distance_m ? -1 : 1;
	return x->hit.unit.id < y->hit.unit.id ? -1 : x->hit.unit.id > y->hit.unit.id;
}

/* Parses a comma-separated list of names into a bit mask with parse(). */
static int mask_param(const char *v, int (*parse)(const char *, int *), uint32_t *mask)
{
	char item[48];

	*mask = 0;
	while (*v) {
		size_t n = strcspn(v, ",");
		int bit;
		if (n == 0 || n >= sizeof item)
			return SG_EINVAL;
		memcpy(item, v, n);
		item[n] = '\0';
		if (parse(item, &bit))
			return SG_EINVAL;
		*mask |= 1u << bit;
		v += n;
		if (*v == ',' && !*++v)
			return SG_EINVAL;
	}
	return SG_OK;
}

static int parse_unit_type(const char *s, int *out)
{
	enum unit_type t;
	int rc = unit_type_parse(s, &t);
	if (!rc)
		*out = (int)t;
	return rc;
}

static int parse_double(const char *s, double lo, double hi, double *out)
{
	char *end;
	double v;

	if (!s || !*s)
		return SG_EINVAL;
	v = strtod(s, &end);
	if (*end || !isfinite(v) || v < lo || v > hi)
		return SG_EINVAL;
	*out = v;
	return SG_OK;
}

/*
 * The k nearest units by estimated time of arrival: the index gives the
 * nearest by distance (a few more than k, so that a fast unit slightly
 * farther away can still come first), they are ranked by ETA, and each says
 * why it is suggested.
 */
int api_units_nearest(void *appv, struct http_req *req, struct http_resp *resp)
{
	struct app *app = appv;
	struct api_session *s = req->session;
	const char *crs_s = http_query(req, "crs"), *type_s = http_query(req, "type");
	const char *status_s = http_query(req, "status"), *k_s = http_query(req, "k");
	const char *within_s = http_query(req, "within_m"), *case_s = http_query(req, "case_id");
	struct unit_hit hits[UNIT_QUERY_MAX_K];
	struct suggestion sug[UNIT_QUERY_MAX_K];
	struct unit_shortfall why;
	struct unit_query q;
	struct geo_point p;
	enum geo_crs crs = GEO_CRS_WGS84;
	uint32_t found[AREA_KIND_COUNT];
	unsigned n = 0, k = 5, ask;
	double d;
	int rc;

	memset(&q, 0, sizeof q);
	if (case_s) {
		struct case_row c;
		int64_t cid;
		bool vis = false;
		if (api_parse_id(case_s, &cid))
			return http_error(resp, 400, "invalid", "case_id must be a case id", "case_id");
		rc = store_case_get(app->store, cid, &c);
		for (int kk = 0; !rc && kk < AREA_KIND_COUNT && !vis; kk++)
			vis = s->scope.all || area_visible(app, s, c.area_ids[kk]);
		if (rc || !vis)
			return http_error(resp, 404, "not_found", "no such case", "case_id");
		p.lon = c.lon;
		p.lat = c.lat;
	} else {
		if (parse_double(http_query(req, "lon"), -180, 180, &p.lon))
			return http_error(resp, 400, "invalid", "lon must be a number from -180 to 180",
					  "lon");
		if (parse_double(http_query(req, "lat"), -90, 90, &p.lat))
			return http_error(resp, 400, "invalid", "lat must be a number from -90 to 90",
					  "lat");
		if (crs_s && geo_crs_parse(crs_s, &crs))
			return http_error(resp, 400, "invalid", "crs must be wgs84, gcj02 or bd09", "crs");
		p = geo_crs_convert(crs, GEO_CRS_WGS84, p);
	}
	if (k_s) {
		int64_t v;
		if (api_parse_id(k_s, &v) || v > UNIT_QUERY_MAX_K)
			return http_error(resp, 400, "invalid", "k must be an integer from 1 to 100", "k");
		k = (unsigned)v;
	}
	if (within_s) {
		if (parse_double(within_s, 1, 500000, &d))
			return http_error(resp, 400, "invalid", "within_m must be metres from 1 to 500000",
					  "within_m");
		q.within_m = d;
	}
	if (type_s && mask_param(type_s, parse_unit_type, &q.type_mask))
		return http_error(resp, 400, "invalid", "type must be unit types separated by commas",
				  "type");
	if (!status_s)
		q.status_mask = 1u << UNIT_AVAILABLE;
	else if (strcmp(status_s, "any") != 0 &&
		 mask_param(status_s, force_unit_status_parse, &q.status_mask))
		return http_error(resp, 400, "invalid",
				  "status must be unit statuses separated by commas, or any", "status");
	ask = k * 2 + 8;
	if (ask > UNIT_QUERY_MAX_K)
		ask = UNIT_QUERY_MAX_K;
	q.lon = p.lon;
	q.lat = p.lat;
	q.k = ask;
	q.min_pos_at = now_ms(app) - app->policy->max_position_age_s * 1000;
	q.scope = s->scope.all ? NULL : &s->scope;
	memset(&why, 0, sizeof why);
	/*
	 * The shortfall costs a pass over every unit whenever fewer than ask
	 * match, so it is asked for only when fewer than k came back (asking
	 * again: the answer may have moved in between, and the second is used).
	 */
	if ((rc = unit_index_nearest(app->units, &q, hits, &n, NULL)) ||
	    (n < k && (rc = unit_index_nearest(app->units, &q, hits, &n, &why))))
		return http_error(resp, 400, "invalid", "the query is out of range", NULL);

	/*
	 * Rank by ETA first: it needs no point location, so only the k that are
	 * answered are located (and a unit's own position only when its home
	 * area does not already decide the reason).
	 */
	for (unsigned i = 0; i < n; i++) {
		sug[i].hit = hits[i];
		sug[i].eta_s = dispatch_policy_eta_s(app->policy, (enum unit_type)hits[i].unit.type,
						     hits[i].distance_m);
	}
	qsort(sug, n, sizeof sug[0], cmp_eta);
	if (n)
		catalog_locate(app->catalog, p, found); /* where the point is, for the reasons */
	for (unsigned i = 0; i < n && i < k; i++) {
		uint32_t where[AREA_KIND_COUNT], home = sug[i].hit.unit.home_area;
		struct suggestion *x = &sug[i];
		x->station = api_station_of(app, home);
		/*
		 * Where the unit belongs comes first: its own grid, else another
		 * station's unit; then where it is: inside the point's police grid.
		 */
		if (home != CATALOG_NONE && (home == found[AREA_POLICE_GRID] || home == found[AREA_GOV_GRID]))
			x->reason = "in_case_grid";
		else if (found[AREA_STATION] != CATALOG_NONE && x->station != CATALOG_NONE &&
			 x->station != found[AREA_STATION])
			x->reason = "neighbouring_station";
		else if (found[AREA_POLICE_GRID] != CATALOG_NONE &&
			 (catalog_locate(app->catalog,
					 (struct geo_point){ x->hit.unit.lon, x->hit.unit.lat }, where),
			  where[AREA_POLICE_GRID] == found[AREA_POLICE_GRID]))
			x->reason = "in_case_grid";
		else
			x->reason = "nearest_by_eta";
	}

	/* Numbers by hand: printf's %f was the largest cost of this answer. */
	sg_buf_puts(&resp->body, "{\"query\":{\"lon\":");
	sg_buf_put_fixed(&resp->body, p.lon, 7);
	sg_buf_puts(&resp->body, ",\"lat\":");
	sg_buf_put_fixed(&resp->body, p.lat, 7);
	sg_buf_puts(&resp->body, ",\"k\":");
	sg_buf_put_int(&resp->body, k);
	sg_buf_puts(&resp->body, ",\"within_m\":");
	if (q.within_m > 0)
		sg_buf_put_fixed(&resp->body, q.within_m, 1);
	else
		sg_buf_puts(&resp->body, "null");
	sg_buf_puts(&resp->body, ",\"max_position_age_s\":");
	sg_buf_put_int(&resp->body, (long long)app->policy->max_position_age_s);
	sg_buf_puts(&resp->body, "},\"units\":[");
	for (unsigned i = 0; i < n && i < k; i++) {
		const struct unit_rec *r = &sug[i].hit.unit;
		char at[32];
		api_format_time(r->pos_at / 1000, at);
		sg_buf_puts(&resp->body, i ? ",{\"unit\":{\"id\":" : "{\"unit\":{\"id\":");
		sg_buf_put_int(&resp->body, (long long)r->id);
		sg_buf_puts(&resp->body, ",\"callsign\":");
		sg_buf_json_str(&resp->body, r->callsign);
		sg_buf_puts(&resp->body, ",\"type\":\"");
		sg_buf_puts(&resp->body, unit_type_name((enum unit_type)r->type));
		sg_buf_puts(&resp->body, "\",\"status\":\"");
		sg_buf_puts(&resp->body, force_unit_status_name(r->status));
		sg_buf_puts(&resp->body, "\",\"version\":");
		sg_buf_put_int(&resp->body, (long long)r->version);
		sg_buf_puts(&resp->body, ",\"area\":");
		if (r->home_area != CATALOG_NONE)
			api_write_area_ref(app, &resp->body, r->home_area);
		else
			sg_buf_puts(&resp->body, "null");
		sg_buf_puts(&resp->body, ",\"position\":{\"lon\":");
		sg_buf_put_fixed(&resp->body, r->lon, 7);
		sg_buf_puts(&resp->body, ",\"lat\":");
		sg_buf_put_fixed(&resp->body, r->lat, 7);
		sg_buf_puts(&resp->body, ",\"at\":\"");
		sg_buf_puts(&resp->body, at);
		sg_buf_puts(&resp->body, "\",\"at_ms\":");
		sg_buf_put_int(&resp->body, (long long)r->pos_at);
		sg_buf_puts(&resp->body, "}},\"distance_m\":");
		sg_buf_put_fixed(&resp->body, sug[i].hit.distance_m, 1);
		sg_buf_puts(&resp->body, ",\"eta_s\":");
		sg_buf_put_fixed(&resp->body, ceil(sug[i].eta_s), 0);
		sg_buf_puts(&resp->body, ",\"reason\":\"");
		sg_buf_puts(&resp->body, sug[i].reason);
		sg_buf_puts(&resp->body, "\",\"station\":");
		if (sug[i].station != CATALOG_NONE && catalog_visible(&s->scope, sug[i].station))
			api_write_area_ref(app, &resp->body, sug[i].station);
		else
			sg_buf_puts(&resp->body, "null");
		sg_buf_putc(&resp->body, '}');
	}
	sg_buf_puts(&resp->body, "],\"unit_shortfall\":");
	if (n >= k) {
		sg_buf_puts(&resp->body, "null");
	} else {
		bool any = false;
		sg_buf_printf(&resp->body,
			      "{\"missing\":%u,\"wrong_status\":%u,\"position_too_old\":%u,"
			      "\"no_position\":%u,\"outside_radius\":%u,\"reasons\":[",
			      k - n, why.wrong_status, why.position_too_old, why.no_position,
			      why.outside_radius);
		if (why.wrong_status) {
			sg_buf_puts(&resp->body, "\"none_available\"");
			any = true;
		}
		if (why.outside_radius) {
			sg_buf_printf(&resp->body, "%s\"outside_radius\"", any ? "," : "");
			any = true;
		}
		if (why.position_too_old) {
			sg_buf_printf(&resp->body, "%s\"positions_too_old\"", any ? "," : "");
			any = true;
		}
		if (why.no_position) {
			sg_buf_printf(&resp->body, "%s\"no_position\"", any ? "," : "");
			any = true;
		}
		if (!any)
			sg_buf_puts(&resp->body, "\"no_matching_units\"");
		sg_buf_puts(&resp->body, "]}");
	}
	sg_buf_printf(&resp->body,
		      ",\"eta\":\"an estimate: straight-line distance x %.2f / the unit type's speed\"}",
		      app->policy->detour_factor);
	http_json(resp, 200);
	return SG_OK;
}
