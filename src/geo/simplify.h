/*
 * simplify.h — Douglas–Peucker simplification of multipolygons for display.
 *
 * The console draws thousands of grids at city zoom, where a vertex every
 * metre is wasted bytes: each ring is thinned to the points that stray more
 * than a tolerance (metres, on a local equirectangular projection) from the
 * line between the points kept. Not topology-preserving: shared edges of
 * neighbours are thinned alike (same points, same tolerance) but slivers may
 * open at the tolerance's scale. For drawing only, never for locating.
 */
#ifndef SAFEGRID_GEO_SIMPLIFY_H
#define SAFEGRID_GEO_SIMPLIFY_H

#include "geo/polygon.h"

/*
 * Writes a simplified copy of src into dst (initialised; its old contents
 * are released). A ring that would fall below 4 points is kept whole, so
 * every polygon keeps its rings. tolerance_m must be finite and >= 0 (0
 * copies): SG_EINVAL otherwise. SG_ENOMEM leaves dst empty.
 */
int geo_mpoly_simplify(const struct geo_mpoly *src, double tolerance_m, struct geo_mpoly *dst);

#endif
