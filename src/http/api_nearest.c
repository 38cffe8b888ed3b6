/*
 * api_nearest.c — GET /api/v1/units/nearest: the k nearest matching units in
 * the caller's scope from the unit index, ranked by estimated time of
 * arrival, each with the reason it is suggested, and why fewer than k came.
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
			vis = s->scope.all || api_forces__area_visible(app, s, c.area_ids[kk]);
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
	q.min_pos_at = api_forces__now_ms(app) - app->policy->max_position_age_s * 1000;
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
		struct unit_rec full;
		char at[32];
		/*
		 * The scan leaves out callsign and version; only the answered
		 * units are read whole (with their status of that moment, which
		 * goes with the version).
		 */
		if (unit_index_get(app->units, r->id, &full))
			full = *r;
		api_format_time(r->pos_at / 1000, at);
		sg_buf_puts(&resp->body, i ? ",{\"unit\":{\"id\":" : "{\"unit\":{\"id\":");
		sg_buf_put_int(&resp->body, (long long)r->id);
		sg_buf_puts(&resp->body, ",\"callsign\":");
		sg_buf_json_str(&resp->body, full.callsign);
		sg_buf_puts(&resp->body, ",\"type\":\"");
		sg_buf_puts(&resp->body, unit_type_name((enum unit_type)r->type));
		sg_buf_puts(&resp->body, "\",\"status\":\"");
		sg_buf_puts(&resp->body, force_unit_status_name(full.status));
		sg_buf_puts(&resp->body, "\",\"version\":");
		sg_buf_put_int(&resp->body, (long long)full.version);
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
