/*
 * geos_bridge.h — moving multipolygons between this project and GEOS.
 *
 * GEOS (its reentrant C API) does what a well-kept geometry library does
 * well: validity with a reason, make-valid, intersections, Voronoi. Every
 * function takes the caller's GEOSContextHandle_t; one context per thread.
 */
#ifndef SAFEGRID_GEO_GEOS_BRIDGE_H
#define SAFEGRID_GEO_GEOS_BRIDGE_H

#ifndef GEOS_USE_ONLY_R_API
#define GEOS_USE_ONLY_R_API
#endif
#include <geos_c.h>

#include "geo/polygon.h"

/*
 * A context whose notices are discarded and whose last error is kept (see
 * geo_geos_last_error); NULL if out of memory. Caller frees with
 * geo_geos_context_free (plain GEOS_finish_r also works: the error buffer then
 * stays registered and is reused by a later context).
 */
GEOSContextHandle_t geo_geos_context_new(void);
/* Finishes a context made by geo_geos_context_new and frees its error buffer. NULL does nothing. */
void geo_geos_context_free(GEOSContextHandle_t ctx);
/* The last error message GEOS reported on ctx ("" if none). Borrowed until the next call on ctx. */
const char *geo_geos_last_error(GEOSContextHandle_t ctx);

/*
 * A new GEOS MultiPolygon (or Polygon when m has one polygon); caller frees
 * with GEOSGeom_destroy_r. NULL on failure, with the reason as ctx's last
 * error ("std::bad_alloc ..." when memory ran out, ours or GEOS's).
 */
GEOSGeometry *geo_mpoly_to_geos(GEOSContextHandle_t ctx, const struct geo_mpoly *m);

/*
 * Appends the polygonal parts of g (Polygon, MultiPolygon, or the polygons of
 * a GeometryCollection; points and lines are dropped) to an initialised out.
 * Empty input gives an empty out. SG_EINVAL if g has no polygonal part at all
 * and is not empty.
 */
int geo_mpoly_from_geos(GEOSContextHandle_t ctx, const GEOSGeometry *g, struct geo_mpoly *out);

#endif
