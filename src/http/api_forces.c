/*
 * api_forces.c — what the forces' handlers share: who may see and change
 * them, the areas a caller names, the clock, and the filters and paging of
 * the people and units lists. The handlers are in api_orgs.c,
 * api_people.c, api_units.c and api_nearest.c.
 *
 * Scope: an organisation is visible when one of its scope areas is, a
 * person or unit when the area they serve is; anything else answers 404 like
 * something that does not exist.
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

_Static_assert(UNIT_STATUS_COUNT == FORCE_UNIT_STATUS_COUNT,
	       "the store names unit statuses in the index's order");
_Static_assert(UNIT_TYPE_COUNT <= 32, "unit types are bits of a query's type mask");

#define LIST_LIMIT_DEFAULT 50
#define LIST_LIMIT_MAX 500

bool api_role_sees_personal_data(enum auth_role r)
{
	return r == AUTH_ROLE_ADMIN || r == AUTH_ROLE_COMMANDER || r == AUTH_ROLE_STATION_OFFICER;
}

/* Who may change the registry: admins everywhere, commanders and station officers in scope. */
bool api_forces__role_manages(enum auth_role r)
{
	return r == AUTH_ROLE_ADMIN || r == AUTH_ROLE_COMMANDER || r == AUTH_ROLE_STATION_OFFICER;
}

/* The server clock in milliseconds (the test clock's offset included). */
int64_t api_forces__now_ms(struct app *app)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ((int64_t)ts.tv_sec + atomic_load(&app->clock_offset_s)) * 1000 + ts.tv_nsec / 1000000;
}

uint32_t api_forces__area_idx(struct app *app, int64_t id)
{
	return id ? catalog_find(app->catalog, id) : CATALOG_NONE;
}

bool api_forces__area_visible(struct app *app, const struct api_session *s, int64_t id)
{
	uint32_t i = api_forces__area_idx(app, id);
	return i != CATALOG_NONE && catalog_visible(&s->scope, i);
}

/* An area named by id or code, visible to the caller; CATALOG_NONE otherwise. */
uint32_t api_forces__visible_area_named(struct app *app, const struct api_session *s, const char *v)
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
uint32_t api_forces__visible_area_json(struct app *app, const struct api_session *s,
				       const json_t *v)
{
	char tmp[32];

	if (json_is_integer(v) && json_integer_value(v) > 0) {
		snprintf(tmp, sizeof tmp, "%lld", (long long)json_integer_value(v));
		return api_forces__visible_area_named(app, s, tmp);
	}
	if (json_is_string(v))
		return api_forces__visible_area_named(app, s, json_string_value(v));
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

int api_forces__id_param(struct http_req *req, struct http_resp *resp, int64_t *id)
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


/* ---- shared by the forces' files (api_forces_internal.h) ---- */

/* A text member of a body (see api_forces_internal.h). */
int api_forces__text(const json_t *body, const char *name, size_t max, bool required, char *out,
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

/* Reads the filters shared by the people and units lists. Non-zero: resp holds the error. */
int api_forces__list_filter(struct app *app, struct http_req *req, struct http_resp *resp,
			    bool units, struct store_force_filter *f, int64_t **areas,
			    size_t *limit)
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
	if (area && (within = api_forces__visible_area_named(app, s, area)) == CATALOG_NONE) {
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

/* The end of a people or units page (see api_forces_internal.h). */
void api_forces__page_end(struct sg_buf *b, size_t n, size_t limit, int64_t last_area,
			  int64_t last_id)
{
	/* A full page may have more after it; the next page says so by being empty. */
	if (n == limit)
		sg_buf_printf(b, "],\"next_cursor\":\"%lld.%lld\"", (long long)last_area,
			      (long long)last_id);
	else
		sg_buf_puts(b, "],\"next_cursor\":null");
}
