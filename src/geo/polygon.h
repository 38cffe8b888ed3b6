/*
 * polygon.h — multipolygons in WGS-84 longitude/latitude, stored flat.
 *
 * One representation for every area: a multipolygon whose points live in one
 * array, whose rings are ranges of that array and whose polygons are ranges of
 * rings (the first ring of a polygon is its exterior, the rest are holes).
 * Rings are stored closed (first point == last point). Winding is not
 * significant; containment uses the even-odd rule.
 *
 * This module does pure computation: no GEOS, no I/O. The bridge to GEOS is
 * geo/geos_bridge.h, GeoJSON text is geo/geojson.h.
 */
#ifndef SAFEGRID_GEO_POLYGON_H
#define SAFEGRID_GEO_POLYGON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "geo/coord.h"

struct geo_bbox {
	double min_lon, min_lat, max_lon, max_lat;
};

struct geo_mpoly {
	struct geo_point *pts; /* npts points, owned */
	uint32_t npts, pts_alloc;
	uint32_t *ring_off;    /* nrings + 1 offsets into pts, owned */
	uint32_t nrings, rings_alloc;
	uint32_t *poly_off;    /* npolys + 1 offsets into rings, owned */
	uint32_t npolys, polys_alloc;
};

void geo_mpoly_init(struct geo_mpoly *m);
void geo_mpoly_release(struct geo_mpoly *m);
/* Deep copy; dst must be initialised (its old contents are released). */
int geo_mpoly_copy(struct geo_mpoly *dst, const struct geo_mpoly *src);

/*
 * Building: begin a polygon, begin its exterior ring, add points, begin the
 * next ring (a hole) or the next polygon, and finish with geo_mpoly_finish,
 * which closes any open ring and checks every polygon has a ring and every
 * ring at least 4 points (SG_EINVAL otherwise). A ring is closed (its first
 * point repeated) when the next ring or polygon begins, unless it already
 * is. A point before any ring, or a non-finite coordinate, is SG_EINVAL;
 * SG_ENOMEM or SG_ETOOBIG (over 2^32 - 1 points or rings) may come from any
 * step. After a failure the multipolygon holds what was built so far: the
 * caller releases it.
 */
int geo_mpoly_begin_polygon(struct geo_mpoly *m);
int geo_mpoly_begin_ring(struct geo_mpoly *m);
int geo_mpoly_add_point(struct geo_mpoly *m, double lon, double lat);
int geo_mpoly_finish(struct geo_mpoly *m);

static inline uint32_t geo_mpoly_ring_len(const struct geo_mpoly *m, uint32_t r)
{
	return m->ring_off[r + 1] - m->ring_off[r];
}

/*
 * The smallest box holding every point. An empty multipolygon gives an
 * inverted box (min = +inf, max = -inf) that contains nothing and leaves any
 * box it is merged into unchanged.
 */
struct geo_bbox geo_mpoly_bbox(const struct geo_mpoly *m);
/*
 * Area in square metres, holes subtracted: each ring's latitudes are mapped
 * to authalic latitudes of the WGS-84 ellipsoid and the ring's spherical
 * excess is taken on the authalic sphere (radius 6371007.18 m), which has the
 * ellipsoid's area. The only approximation left is that edges are great
 * circles on that sphere instead of geodesics on the ellipsoid: well under
 * 1e-6 relative for city-sized areas. Assumes valid polygons (holes inside
 * their exterior, polygons disjoint) and none crossing the antimeridian.
 */
double geo_mpoly_area_m2(const struct geo_mpoly *m);
/*
 * Point-in-multipolygon by the even-odd rule over every ring of every
 * polygon, with the half-open boundary rule: p is inside when a ray from p
 * towards +longitude crosses an odd number of edges, where edge (a, b)
 * counts when min(a.lat, b.lat) <= p.lat < max(a.lat, b.lat) (horizontal
 * edges never count) and p lies strictly to the west of the edge's line.
 * So a point on an edge belongs to the area on the edge's +longitude side,
 * or +latitude side for a horizontal edge; see geo/index.h. The side test is
 * exact (geo_orient2d_sign), so the rule holds to the last bit.
 */
bool geo_mpoly_contains(const struct geo_mpoly *m, struct geo_point p);

/*
 * The sign (-1, 0, +1) of the determinant | a-c  b-c |, i.e. +1 when a, b, c
 * turn counter-clockwise (c to the left of a->b), computed exactly whatever
 * the rounding (a floating-point filter, exact expansion arithmetic when the
 * filter cannot decide). The one side test behind geo_mpoly_contains and
 * geo_index_locate, so the two agree on every point.
 */
int geo_orient2d_sign(struct geo_point a, struct geo_point b, struct geo_point c);

/*
 * OGC WKB (little endian, MultiPolygon, 2D). Encoding appends to out, always
 * a MultiPolygon (an empty one for an empty m); a failed append (SG_ETOOBIG,
 * SG_ENOMEM) may leave part of the encoding in out.
 *
 * Decoding reads bytes from storage and trusts none of them: Polygon or
 * MultiPolygon, either byte order (each geometry has its own), 2D only (Z,
 * M and EWKB SRID types are refused). Every count is checked against the
 * bytes left before anything is allocated; rings must be closed with 4+
 * finite points; trailing bytes are refused; an empty polygon adds nothing.
 * Fills an initialised out (its old contents released) on success; on
 * SG_EINVAL (or SG_ENOMEM) out is left empty.
 */
int geo_mpoly_to_wkb(const struct geo_mpoly *m, struct sg_buf *out);
int geo_mpoly_from_wkb(const void *data, size_t len, struct geo_mpoly *out);

/*
 * Appends an RFC 7946 geometry object ({"type":"MultiPolygon",...} or
 * "Polygon" when there is one polygon), exterior rings counter-clockwise and
 * holes clockwise as the RFC recommends (rings are written reversed where
 * needed), coordinates with exactly `digits` decimals (7 gives about 1 cm),
 * never in exponent notation and never as -0. digits must be 0..15 and
 * every coordinate finite: SG_EINVAL otherwise, with nothing appended. A
 * failed append may leave part of the object in out.
 */
int geo_mpoly_to_geojson(const struct geo_mpoly *m, int digits, struct sg_buf *out);

#endif
