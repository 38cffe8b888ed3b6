/*
 * api_areas.c — areas (list, one, children, rename) and locate.
 *
 * Every answer is limited to the caller's scope: an area outside it is
 * answered exactly like an area that does not exist (404).
 */
#include "http/api.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/err.h"
#include "geo/coord.h"
#include "geo/simplify.h"
#include "http/query.h"

#define AREAS_LIMIT_DEFAULT 100
#define AREAS_LIMIT_MAX 1000
#define AREA_NAME_MAX 200
/* Bytes of a search text: a name or a code, never a sentence. */
#define AREA_QUERY_MAX 64
#define SIMPLIFY_MAX_M 1000.0
/* Decimals of simplified (display) geometry: 1e-6 degree is about 0.1 m. */
#define SIMPLIFIED_DIGITS 6

static struct api_session *session_of(struct http_req *req)
{
	return req->session;
}

/* The visible area named by an {id} path segment, or an error answer. */
static int visible_area_param(struct app *app, struct http_req *req, struct http_resp *resp,
			      uint32_t *out)
{
	int64_t id;
	uint32_t idx;

	if (api_parse_id(req->params[0], &id)) {
		http_error(resp, 400, "invalid", "id must be a positive integer", "id");
		return 1;
	}
	idx = catalog_find(app->catalog, id);
	if (idx == CATALOG_NONE || !catalog_visible(&session_of(req)->scope, idx)) {
		http_error(resp, 404, "not_found", "no such area", "id");
		return 1;
	}
	*out = idx;
	return 0;
}

/*
 * Resolves ?parent= to a visible area: a division code first (codes are
 * digits too, e.g. 320508), else an id.
 */
static int parent_param(struct app *app, struct http_req *req, struct http_resp *resp,
			const char *v, uint32_t *out)
{
	int64_t id;
	uint32_t idx = catalog_find_code(app->catalog, v);

	if (idx == CATALOG_NONE && api_parse_id(v, &id) == 0)
		idx = catalog_find(app->catalog, id);
	if (idx == CATALOG_NONE || !catalog_visible(&session_of(req)->scope, idx)) {
		http_error(resp, 404, "not_found", "no such parent area", "parent");
		return 1;
	}
	*out = idx;
	return 0;
}

/*
 * One GeoJSON Feature. A governance grid also carries its fusion
 * (fused_police: the police grid's id, fusion_ratio, split) so a map can
 * colour it by police grid without a request per grid. simplify_m > 0 writes
 * the geometry thinned to that tolerance (geo/simplify.h) with fewer decimals.
 */
static int write_feature(struct app *app, struct sg_buf *b, uint32_t idx, double simplify_m)
{
	const struct catalog_area *a = &app->catalog->areas[idx];
	char name[512];
	int rc = SG_OK;

	catalog_name(app->catalog, idx, name, sizeof name);
	sg_buf_printf(b, "{\"type\":\"Feature\",\"id\":%lld,\"properties\":{\"kind\":\"%s\",\"code\":",
		      (long long)a->id, area_kind_name(a->kind));
	if (a->code[0])
		sg_buf_json_str(b, a->code);
	else
		sg_buf_puts(b, "null");
	sg_buf_puts(b, ",\"name\":");
	sg_buf_json_str(b, name);
	if (a->parent != CATALOG_NONE)
		sg_buf_printf(b, ",\"parent\":%lld", (long long)app->catalog->areas[a->parent].id);
	else
		sg_buf_puts(b, ",\"parent\":null");
	if (a->kind == AREA_GOV_GRID && a->fused_police != CATALOG_NONE)
		sg_buf_printf(b, ",\"fused_police\":%lld,\"fusion_ratio\":%.4f,\"split\":%s",
			      (long long)app->catalog->areas[a->fused_police].id, a->fused_ratio,
			      a->split ? "true" : "false");
	sg_buf_puts(b, "},\"geometry\":");
	if (simplify_m > 0) {
		struct geo_mpoly thin;
		geo_mpoly_init(&thin);
		rc = geo_mpoly_simplify(&a->geom, simplify_m, &thin);
		if (rc == SG_OK)
			rc = geo_mpoly_to_geojson(&thin, SIMPLIFIED_DIGITS, b);
		geo_mpoly_release(&thin);
	} else {
		rc = geo_mpoly_to_geojson(&a->geom, API_GEOJSON_DIGITS, b);
	}
	sg_buf_putc(b, '}');
	return rc;
}

static bool bbox_overlaps(const struct geo_bbox *a, const struct geo_bbox *b)
{
	return a->min_lon <= b->max_lon && b->min_lon <= a->max_lon && a->min_lat <= b->max_lat &&
	       b->min_lat <= a->max_lat;
}

/*
 * Whether an area answers a search: its code starts with q (ignoring ASCII
 * case: "320508-ps04" finds 320508-PS04) or its name holds q. Names are
 * compared as bytes, which is exact for UTF-8: one character's bytes never
 * match inside another's.
 */
static bool area_matches(struct catalog *cat, uint32_t i, const char *q, size_t qlen)
{
	char name[512];

	if (cat->areas[i].code[0] && strncasecmp(cat->areas[i].code, q, qlen) == 0)
		return true;
	catalog_name(cat, i, name, sizeof name);
	return strstr(name, q) != NULL;
}

/*
 * The shared list: areas of an optional kind under an optional parent, in id
 * order, visible to the caller, optionally only those answering a search (q).
 * JSON pages by cursor (the last id seen); GeoJSON gives every match at once.
 */
static int list_areas(struct app *app, struct http_req *req, struct http_resp *resp,
		      uint32_t parent)
{
	const struct catalog_scope *scope = &session_of(req)->scope;
	struct catalog *cat = app->catalog;
	const char *kind_s = http_query(req, "kind"), *cursor_s = http_query(req, "cursor");
	const char *limit_s = http_query(req, "limit"), *format = http_query(req, "format");
	const char *bbox_s = http_query(req, "bbox"), *simplify_s = http_query(req, "simplify");
	const char *q = http_query(req, "q");
	size_t qlen = q ? strlen(q) : 0;
	enum area_kind kind = AREA_CITY;
	struct geo_bbox box;
	double simplify_m = 0;
	int has_kind = 0, geojson = 0, has_box = 0;
	int64_t cursor = 0, limit = AREAS_LIMIT_DEFAULT;
	uint32_t total, emitted = 0, last = CATALOG_NONE;
	struct sg_buf *b = &resp->body;

	if (kind_s) {
		if (area_kind_parse(kind_s, &kind))
			return http_error(resp, 400, "invalid",
					  "kind must be one of city, district, station, police_grid, "
					  "street, community, gov_grid",
					  "kind");
		has_kind = 1;
	}
	if (cursor_s && api_parse_id(cursor_s, &cursor))
		return http_error(resp, 400, "invalid", "cursor is not one this server gave",
				  "cursor");
	if (limit_s && (api_parse_id(limit_s, &limit) || limit > AREAS_LIMIT_MAX))
		return http_error(resp, 400, "invalid", "limit must be an integer from 1 to 1000",
				  "limit");
	if (format) {
		if (strcmp(format, "geojson") == 0)
			geojson = 1;
		else if (strcmp(format, "json") != 0)
			return http_error(resp, 400, "invalid", "format must be json or geojson",
					  "format");
	}
	if (bbox_s) {
		int rc = query_bbox_parse(bbox_s, &box);
		if (rc == SG_ETOOBIG)
			return http_error(resp, 400, "out_of_range",
					  "bbox must lie within -180..180, -90..90 with min <= max",
					  "bbox");
		if (rc)
			return http_error(resp, 400, "invalid",
					  "bbox must be min_lon,min_lat,max_lon,max_lat", "bbox");
		has_box = 1;
	}
	if (simplify_s) {
		if (!geojson)
			return http_error(resp, 400, "invalid", "simplify needs format=geojson",
					  "simplify");
		if (query_decimal_parse(simplify_s, 0, SIMPLIFY_MAX_M, &simplify_m))
			return http_error(resp, 400, "invalid",
					  "simplify must be a number of metres from 0 to 1000", "simplify");
	}
	if (q && (qlen == 0 || qlen > AREA_QUERY_MAX))
		return http_error(resp, 400, "invalid",
				  "q must be 1 to 64 bytes of a name or the start of a code", "q");
	total = parent == CATALOG_NONE ? cat->n : cat->areas[parent].nchildren;
	sg_buf_puts(b, geojson ? "{\"type\":\"FeatureCollection\",\"features\":[" : "{\"areas\":[");
	for (uint32_t k = 0; k < total; k++) {
		uint32_t i = parent == CATALOG_NONE ? k
						    : cat->child_idx[cat->areas[parent].first_child + k];
		const struct catalog_area *a = &cat->areas[i];
		if ((has_kind && a->kind != kind) || !catalog_visible(scope, i) ||
		    (has_box && !bbox_overlaps(&a->bbox, &box)))
			continue;
		if (!geojson && a->id <= cursor)
			continue;
		if (q && !area_matches(cat, i, q, qlen))
			continue;
		if (!geojson && emitted == (uint32_t)limit) {
			sg_buf_printf(b, "],\"next_cursor\":\"%lld\"}",
				      (long long)cat->areas[last].id);
			http_json(resp, 200);
			return SG_OK;
		}
		if (emitted++)
			sg_buf_putc(b, ',');
		if (geojson) {
			int rc = write_feature(app, b, i, simplify_m);
			if (rc)
				return rc;
		} else
			api_write_area(app, b, i);
		last = i;
	}
	sg_buf_puts(b, geojson ? "]}" : "],\"next_cursor\":null}");
	if (geojson)
		resp->content_type = "application/geo+json; charset=utf-8";
	else
		http_json(resp, 200);
	resp->status = 200;
	return SG_OK;
}

int api_areas_list(void *appv, struct http_req *req, struct http_resp *resp)
{
	struct app *app = appv;
	const char *parent_s = http_query(req, "parent");
	uint32_t parent = CATALOG_NONE;

	if (parent_s && parent_param(app, req, resp, parent_s, &parent))
		return SG_OK;
	return list_areas(app, req, resp, parent);
}

int api_area_children(void *appv, struct http_req *req, struct http_resp *resp)
{
	struct app *app = appv;
	uint32_t idx;

	if (visible_area_param(app, req, resp, &idx))
		return SG_OK;
	return list_areas(app, req, resp, idx);
}

int api_area_get(void *appv, struct http_req *req, struct http_resp *resp)
{
	struct app *app = appv;
	const struct catalog_area *a;
	struct sg_buf *b = &resp->body;
	uint32_t idx;

	if (visible_area_param(app, req, resp, &idx))
		return SG_OK;
	a = &app->catalog->areas[idx];
	api_write_area(app, b, idx);
	b->len--; /* reopen the object to add fusion and geometry */
	b->data[b->len] = '\0';
	if (a->kind == AREA_GOV_GRID && a->fused_police != CATALOG_NONE) {
		sg_buf_puts(b, ",\"fusion\":{\"police_grid\":");
		api_write_area_ref(app, b, a->fused_police);
		sg_buf_printf(b, ",\"ratio\":%.4f,\"split\":%s}", a->fused_ratio,
			      a->split ? "true" : "false");
	}
	sg_buf_puts(b, ",\"geometry\":");
	geo_mpoly_to_geojson(&a->geom, API_GEOJSON_DIGITS, b);
	sg_buf_putc(b, '}');
	http_json(resp, 200);
	return SG_OK;
}

int api_area_patch(void *appv, struct http_req *req, struct http_resp *resp)
{
	static const char *const allowed[] = { "name", NULL };
	struct app *app = appv;
	struct api_session *s = session_of(req);
	json_t *body = NULL, *jname;
	uint32_t idx;
	int rc = SG_OK;

	if (visible_area_param(app, req, resp, &idx))
		return SG_OK;
	if (s->role != AUTH_ROLE_ADMIN)
		return http_error(resp, 403, "forbidden", "only an admin may change areas", NULL);
	if (api_body_object(req, resp, &body) || api_only_fields(body, allowed, resp))
		goto out;
	jname = json_object_get(body, "name");
	if (!json_is_string(jname) || json_string_length(jname) == 0 ||
	    json_string_length(jname) > AREA_NAME_MAX ||
	    strlen(json_string_value(jname)) != json_string_length(jname)) {
		http_error(resp, 400, "invalid", "name must be a non-empty string of at most 200 bytes",
			   "name");
		goto out;
	}
	rc = store_area_rename(app->store, app->catalog->areas[idx].id, json_string_value(jname),
			       s->name);
	if (rc == SG_OK)
		rc = catalog_rename(app->catalog, idx, json_string_value(jname));
	if (rc == SG_OK) {
		api_write_area(app, &resp->body, idx);
		http_json(resp, 200);
	}
out:
	json_decref(body);
	return rc;
}

/* Parses a coordinate argument: a finite decimal number within [lo, hi]. */
static int coord_param(struct http_req *req, struct http_resp *resp, const char *name,
		       double lo, double hi, double *out)
{
	const char *v = http_query(req, name);
	char *end;
	double d;
	char msg[96];

	if (!v || !*v) {
		snprintf(msg, sizeof msg, "%s is required", name);
		http_error(resp, 400, "invalid", msg, name);
		return 1;
	}
	errno = 0;
	d = strtod(v, &end);
	if (*end || errno || !isfinite(d) || strspn(v, "+-.0123456789eE") != strlen(v)) {
		snprintf(msg, sizeof msg, "%s must be a decimal number", name);
		http_error(resp, 400, "invalid", msg, name);
		return 1;
	}
	if (d < lo || d > hi) {
		snprintf(msg, sizeof msg, "%s must lie between %g and %g", name, lo, hi);
		http_error(resp, 400, "out_of_range", msg, name);
		return 1;
	}
	*out = d;
	return 0;
}

/* Answer order: the finest area first, governance layer then police layer. */
static const enum area_kind locate_order[AREA_KIND_COUNT] = {
	AREA_GOV_GRID, AREA_COMMUNITY, AREA_STREET, AREA_POLICE_GRID,
	AREA_STATION,  AREA_DISTRICT,  AREA_CITY,
};

int api_locate(void *appv, struct http_req *req, struct http_resp *resp)
{
	struct app *app = appv;
	const struct catalog_scope *scope = &session_of(req)->scope;
	const char *crs_s = http_query(req, "crs");
	enum geo_crs crs = GEO_CRS_WGS84;
	struct geo_point p;
	uint32_t found[AREA_KIND_COUNT];
	int first = 1;

	if (coord_param(req, resp, "lon", -180, 180, &p.lon) ||
	    coord_param(req, resp, "lat", -90, 90, &p.lat))
		return SG_OK;
	if (crs_s && geo_crs_parse(crs_s, &crs))
		return http_error(resp, 400, "invalid", "crs must be wgs84, gcj02 or bd09", "crs");
	p = geo_crs_convert(crs, GEO_CRS_WGS84, p);
	catalog_locate(app->catalog, p, found);
	sg_buf_printf(&resp->body, "{\"point\":{\"lon\":%.9f,\"lat\":%.9f},\"areas\":[", p.lon,
		      p.lat);
	for (unsigned k = 0; k < AREA_KIND_COUNT; k++) {
		uint32_t idx = found[locate_order[k]];
		if (idx == CATALOG_NONE || !catalog_visible(scope, idx))
			continue;
		if (!first)
			sg_buf_putc(&resp->body, ',');
		first = 0;
		api_write_area_ref(app, &resp->body, idx);
	}
	sg_buf_puts(&resp->body, "]}");
	http_json(resp, 200);
	return SG_OK;
}
