/*
 * geojson.h — reading RFC 7946 geometry objects.
 *
 * Only polygonal geometry is read (Polygon, MultiPolygon); writing lives in
 * geo/polygon.h (geo_mpoly_to_geojson). Structure is checked here (types,
 * arrays of numbers, ranges, closed rings of 4+ positions); topological validity is
 * GEOS's job (import/areas_import.h).
 */
#ifndef SAFEGRID_GEO_GEOJSON_H
#define SAFEGRID_GEO_GEOJSON_H

#include <jansson.h>

#include "geo/polygon.h"

/*
 * Reads a Polygon or MultiPolygon geometry object into an initialised out.
 * On failure returns SG_EINVAL (bad structure), SG_ETOOBIG (more than
 * 1,000,000 points or 10,000 rings) or SG_ENOMEM, sets *why to a static
 * English reason (never NULL) and leaves out empty. A ring that is not closed is refused (RFC 7946
 * §3.1.6); longitudes must lie in [-180,180] and latitudes in [-90,90].
 */
int geo_geojson_read_polygonal(const json_t *geometry, struct geo_mpoly *out, const char **why);

#endif
