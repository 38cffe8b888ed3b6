/*
 * geojson.c — reading RFC 7946 Polygon and MultiPolygon geometry objects.
 *
 * Checks structure only: the type member, the nesting of the coordinates
 * arrays, each position being [lon, lat] or [lon, lat, alt] of finite
 * numbers within range, rings closed with at least 4 positions, and the size
 * caps below. Whether the rings cross or the holes lie inside is topology and
 * left to GEOS (import/areas_import.c). Exports geo_geojson_read_polygonal.
 */
#include "geo/geojson.h"

#include <math.h>
#include <stddef.h>
#include <string.h>

#include "base/err.h"

/*
 * Caps on one geometry. A district boundary with a 1 m resolution has some
 * tens of thousands of points; these leave ample room and bound the memory a
 * hostile document can make one geometry take (16 MB of points).
 */
#define GEOJSON_MAX_POINTS 1000000u
#define GEOJSON_MAX_RINGS 10000u

/*
 * Checks one position and returns its longitude and latitude. The optional
 * third member (altitude) must be a number too, but is dropped: the project
 * works in two dimensions.
 */
static int read_position(const json_t *pos, double *lon, double *lat, const char **why)
{
	size_t n;
	double v[3];

	if (!json_is_array(pos)) {
		*why = "position must be [lon, lat]";
		return SG_EINVAL;
	}
	n = json_array_size(pos);
	if (n < 2 || n > 3) {
		*why = "position must be [lon, lat]";
		return SG_EINVAL;
	}
	for (size_t i = 0; i < n; i++) {
		const json_t *c = json_array_get(pos, i);
		if (!json_is_number(c)) {
			*why = "position must be [lon, lat] of numbers";
			return SG_EINVAL;
		}
		v[i] = json_number_value(c);
		if (!isfinite(v[i])) {
			*why = "coordinate is not a finite number";
			return SG_EINVAL;
		}
	}
	if (v[0] < -180.0 || v[0] > 180.0) {
		*why = "longitude out of range [-180, 180]";
		return SG_EINVAL;
	}
	if (v[1] < -90.0 || v[1] > 90.0) {
		*why = "latitude out of range [-90, 90]";
		return SG_EINVAL;
	}
	*lon = v[0];
	*lat = v[1];
	return SG_OK;
}

/*
 * Checks the shape of one polygon's coordinates (an array of rings, each an
 * array of positions) and adds its ring and point counts to the running
 * totals, so that the caps are enforced before anything is allocated.
 */
static int check_polygon_shape(const json_t *rings, size_t *nrings, size_t *npts, const char **why)
{
	size_t n;

	if (!json_is_array(rings)) {
		*why = "polygon coordinates must be an array of rings";
		return SG_EINVAL;
	}
	n = json_array_size(rings);
	if (n == 0) {
		*why = "polygon has no rings";
		return SG_EINVAL;
	}
	for (size_t r = 0; r < n; r++) {
		const json_t *ring = json_array_get(rings, r);
		if (!json_is_array(ring)) {
			*why = "ring must be an array of positions";
			return SG_EINVAL;
		}
		if (json_array_size(ring) < 4) {
			*why = "ring must have at least 4 positions";
			return SG_EINVAL;
		}
		*npts += json_array_size(ring);
		if (*npts > GEOJSON_MAX_POINTS) {
			*why = "geometry has more than 1000000 points";
			return SG_ETOOBIG;
		}
	}
	*nrings += n;
	if (*nrings > GEOJSON_MAX_RINGS) {
		*why = "geometry has more than 10000 rings";
		return SG_ETOOBIG;
	}
	return SG_OK;
}

/* Appends one ring whose length check_polygon_shape has accepted. */
static int add_ring(struct geo_mpoly *m, const json_t *ring, const char **why)
{
	size_t n = json_array_size(ring);
	double lon0 = 0, lat0 = 0, lon = 0, lat = 0;
	int rc;

	rc = geo_mpoly_begin_ring(m);
	for (size_t i = 0; rc == SG_OK && i < n; i++) {
		rc = read_position(json_array_get(ring, i), &lon, &lat, why);
		if (rc != SG_OK)
			return rc;
		if (i == 0) {
			lon0 = lon;
			lat0 = lat;
		}
		rc = geo_mpoly_add_point(m, lon, lat);
	}
	if (rc != SG_OK) {
		*why = rc == SG_ENOMEM ? "out of memory" : "could not build ring";
		return rc;
	}
	if (lon != lon0 || lat != lat0) {
		/* RFC 7946 §3.1.6: the first and last positions are identical. */
		*why = "ring is not closed";
		return SG_EINVAL;
	}
	return SG_OK;
}

/* Appends one polygon whose shape check_polygon_shape has accepted. */
static int add_polygon(struct geo_mpoly *m, const json_t *rings, const char **why)
{
	int rc = geo_mpoly_begin_polygon(m);

	if (rc != SG_OK) {
		*why = rc == SG_ENOMEM ? "out of memory" : "could not build polygon";
		return rc;
	}
	for (size_t r = 0; rc == SG_OK && r < json_array_size(rings); r++)
		rc = add_ring(m, json_array_get(rings, r), why);
	return rc;
}

int geo_geojson_read_polygonal(const json_t *geometry, struct geo_mpoly *out, const char **why)
{
	const json_t *type, *coords;
	const char *t;
	size_t nrings = 0, npts = 0, npolys;
	int multi, rc = SG_OK;

	if (!json_is_object(geometry)) {
		*why = "geometry must be an object";
		return SG_EINVAL;
	}
	type = json_object_get(geometry, "type");
	if (!json_is_string(type)) {
		*why = "geometry type must be a string";
		return SG_EINVAL;
	}
	t = json_string_value(type);
	if (strcmp(t, "Polygon") == 0) {
		multi = 0;
	} else if (strcmp(t, "MultiPolygon") == 0) {
		multi = 1;
	} else {
		*why = "geometry type must be Polygon or MultiPolygon";
		return SG_EINVAL;
	}
	coords = json_object_get(geometry, "coordinates");
	if (!json_is_array(coords)) {
		*why = "geometry coordinates must be an array";
		return SG_EINVAL;
	}

	/*
	 * A Polygon's coordinates are one polygon's rings; a MultiPolygon's are
	 * polygons. An empty MultiPolygon is valid GeoJSON and reads as an empty
	 * out: whether empty is acceptable is the caller's decision.
	 */
	npolys = multi ? json_array_size(coords) : 1;
	for (size_t p = 0; p < npolys; p++) {
		rc = check_polygon_shape(multi ? json_array_get(coords, p) : coords, &nrings, &npts,
					 why);
		if (rc != SG_OK)
			return rc;
	}
	for (size_t p = 0; rc == SG_OK && p < npolys; p++)
		rc = add_polygon(out, multi ? json_array_get(coords, p) : coords, why);
	if (rc == SG_OK && npolys > 0) {
		rc = geo_mpoly_finish(out);
		if (rc != SG_OK)
			*why = rc == SG_ENOMEM ? "out of memory" : "ring must have at least 4 positions";
	}
	if (rc != SG_OK) {
		geo_mpoly_release(out);
		geo_mpoly_init(out);
	}
	return rc;
}
