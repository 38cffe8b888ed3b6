/*
 * city_geom.c — the GEOS helpers the demo city's layers share: logging a
 * failed call, keeping the polygonal parts of a result, measuring in m²,
 * pushing a geometry as an area, densifying edges, collecting and uniting on
 * the grid (DEMO_GRID_DEG).
 *
 * Not a layer and no randomness: what is drawn, and where, is decided in
 * city_split.c and the layer files. Exports (city_internal.h) the demo__
 * functions below; densified_ring is its own.
 */
#include "demo/city_internal.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>

#include "base/err.h"
#include "base/log.h"

/* Longest edge of a drawn area, in degrees (about 100 m); see densified_ring. */
#define DEMO_DENSIFY_DEG 0.001

/* Logs a failed GEOS call and returns the code for it. */
int demo__geos_failed(struct demo__build *b, const char *what)
{
	SG_LOG(SG_LOG_ERROR, "msg=\"demo city: GEOS failed\" op=%s err=\"%s\"", what,
	       geo_geos_last_error(b->ctx));
	return SG_EINTERNAL;
}

/*
 * Replaces *g (which it frees) by its polygonal parts as a fresh GEOS
 * geometry: the form every layer is stored in. *g is NULL on failure.
 */
int demo__keep_polygonal(struct demo__build *b, GEOSGeometry **g)
{
	struct geo_mpoly m;
	int rc;

	geo_mpoly_init(&m);
	rc = geo_mpoly_from_geos(b->ctx, *g, &m);
	GEOSGeom_destroy_r(b->ctx, *g);
	*g = NULL;
	if (rc == SG_OK) {
		*g = geo_mpoly_to_geos(b->ctx, &m);
		if (!*g)
			rc = demo__geos_failed(b, "to_geos");
	}
	geo_mpoly_release(&m);
	return rc;
}

/* Area in m² of a GEOS geometry's polygonal parts (the project's measure, not GEOS's degrees²). */
int demo__geos_area_m2(struct demo__build *b, const GEOSGeometry *g, double *out)
{
	struct geo_mpoly m;
	int rc;

	geo_mpoly_init(&m);
	rc = geo_mpoly_from_geos(b->ctx, g, &m);
	if (rc == SG_OK)
		*out = geo_mpoly_area_m2(&m);
	geo_mpoly_release(&m);
	return rc;
}

/* Converts g to a multipolygon and appends it as a new area (takes nothing; g stays the caller's). */
int demo__push_geos(struct demo__build *b, enum area_kind kind, const char *code, const char *name,
		    long parent_idx, const GEOSGeometry *g)
{
	struct geo_mpoly m;
	int rc;

	geo_mpoly_init(&m);
	rc = geo_mpoly_from_geos(b->ctx, g, &m);
	if (rc == SG_OK)
		rc = area_set_push(b->out, kind, code, name, parent_idx, 0, &m, NULL);
	geo_mpoly_release(&m);
	return rc;
}

/*
 * A copy of ring with points inserted so that no edge is longer than
 * DEMO_DENSIFY_DEG: a new LinearRing, NULL on failure.
 *
 * Why: geo_mpoly_area_m2 takes edges as great circles, while containment
 * (and GEOS) takes them as straight in longitude/latitude. Where a child's
 * boundary meets its parent's edge, that edge is split at a point on the
 * straight line, and the children's areas no longer add up to the parent's;
 * the mismatch grows with the cube of the edge length (0.1% of a community
 * for the kilometre-long edges of a bare Voronoi cell, 2e-7 at 100 m).
 * Each edge is cut from its lexicographically smaller end with the same
 * arithmetic, so the two areas sharing an edge get bit-identical points.
 */
static GEOSGeometry *densified_ring(struct demo__build *b, const GEOSGeometry *ring)
{
	const GEOSCoordSequence *in = GEOSGeom_getCoordSeq_r(b->ctx, ring);
	struct geo_point *pts = NULL, *out = NULL;
	GEOSCoordSequence *seq;
	GEOSGeometry *g = NULL;
	unsigned n = 0;
	size_t total = 1, k = 0;

	if (!in || !GEOSCoordSeq_getSize_r(b->ctx, in, &n) || n < 4)
		return NULL;
	pts = malloc(n * sizeof *pts);
	if (!pts)
		return NULL;
	for (unsigned i = 0; i < n; i++)
		if (!GEOSCoordSeq_getXY_r(b->ctx, in, i, &pts[i].lon, &pts[i].lat))
			goto out;
	for (unsigned i = 0; i + 1 < n; i++)
		total += (size_t)ceil(hypot(pts[i + 1].lon - pts[i].lon, pts[i + 1].lat - pts[i].lat) /
				      DEMO_DENSIFY_DEG);
	out = malloc(total * sizeof *out);
	if (!out)
		goto out;
	for (unsigned i = 0; i + 1 < n; i++) {
		struct geo_point a = pts[i], c = pts[i + 1];
		bool fwd = a.lon < c.lon || (a.lon == c.lon && a.lat < c.lat);
		struct geo_point p = fwd ? a : c, q = fwd ? c : a;
		size_t steps = (size_t)ceil(hypot(c.lon - a.lon, c.lat - a.lat) / DEMO_DENSIFY_DEG);

		out[k++] = a;
		for (size_t j = 1; j < steps; j++) {
			double t = (double)(fwd ? j : steps - j) / (double)steps;
			out[k++] = (struct geo_point){ p.lon + (q.lon - p.lon) * t,
						       p.lat + (q.lat - p.lat) * t };
		}
	}
	out[k++] = pts[n - 1];
	seq = GEOSCoordSeq_copyFromBuffer_r(b->ctx, (const double *)out, (unsigned)k, 0, 0);
	if (seq)
		g = GEOSGeom_createLinearRing_r(b->ctx, seq);
out:
	free(pts);
	free(out);
	return g;
}

/* One polygon with every ring densified (densified_ring); NULL on failure. */
GEOSGeometry *demo__densified_polygon(struct demo__build *b, const GEOSGeometry *poly)
{
	int nholes = GEOSGetNumInteriorRings_r(b->ctx, poly);
	const GEOSGeometry *ext = GEOSGetExteriorRing_r(b->ctx, poly);
	GEOSGeometry *shell = NULL, **holes = NULL, *g = NULL;
	int made = 0;

	if (nholes < 0 || !ext)
		return NULL;
	holes = calloc(nholes ? (size_t)nholes : 1, sizeof *holes);
	shell = holes ? densified_ring(b, ext) : NULL;
	if (!shell)
		goto out;
	for (made = 0; made < nholes; made++) {
		const GEOSGeometry *h = GEOSGetInteriorRingN_r(b->ctx, poly, made);
		holes[made] = h ? densified_ring(b, h) : NULL;
		if (!holes[made])
			goto out;
	}
	/* Takes the rings, also on failure. */
	g = GEOSGeom_createPolygon_r(b->ctx, shell, holes, (unsigned)nholes);
	shell = NULL;
	made = 0;
out:
	if (shell)
		GEOSGeom_destroy_r(b->ctx, shell);
	for (int i = 0; i < made; i++)
		GEOSGeom_destroy_r(b->ctx, holes[i]);
	free(holes);
	return g;
}

/* Replaces the polygonal *g (which it frees) by its densified copy. */
int demo__densify(struct demo__build *b, GEOSGeometry **g)
{
	int n = GEOSGetNumGeometries_r(b->ctx, *g), made = 0, rc = SG_OK;
	GEOSGeometry **parts, *col;

	if (n < 0)
		return demo__geos_failed(b, "densify");
	parts = calloc(n ? (size_t)n : 1, sizeof *parts);
	if (!parts)
		return SG_ENOMEM;
	for (made = 0; made < n; made++) {
		parts[made] = demo__densified_polygon(b, GEOSGetGeometryN_r(b->ctx, *g, made));
		if (!parts[made]) {
			rc = demo__geos_failed(b, "densify");
			goto out;
		}
	}
	/* Takes the parts, also on failure. */
	col = GEOSGeom_createCollection_r(b->ctx, GEOS_MULTIPOLYGON, parts, (unsigned)n);
	made = 0;
	if (!col) {
		rc = demo__geos_failed(b, "densify");
		goto out;
	}
	GEOSGeom_destroy_r(b->ctx, *g);
	*g = col;
out:
	for (int i = 0; i < made; i++)
		GEOSGeom_destroy_r(b->ctx, parts[i]);
	free(parts);
	return rc;
}

/* A new collection of the given type holding clones of g[0..n) (borrowed); NULL on failure. */
GEOSGeometry *demo__collect(struct demo__build *b, int type, GEOSGeometry *const *g, size_t n)
{
	GEOSGeometry **copies = calloc(n ? n : 1, sizeof *copies), *col = NULL;
	size_t made;

	if (!copies)
		return NULL;
	for (made = 0; made < n; made++) {
		copies[made] = GEOSGeom_clone_r(b->ctx, g[made]);
		if (!copies[made])
			goto out;
	}
	/* Takes the copies, also on failure. */
	col = GEOSGeom_createCollection_r(b->ctx, type, copies, (unsigned)n);
	made = 0;
out:
	for (size_t i = 0; i < made; i++)
		GEOSGeom_destroy_r(b->ctx, copies[i]);
	free(copies);
	return col;
}

/* The union of n geometries (borrowed), on the grid. */
GEOSGeometry *demo__union_of(struct demo__build *b, GEOSGeometry *const *g, size_t n)
{
	GEOSGeometry *col = demo__collect(b, GEOS_GEOMETRYCOLLECTION, g, n), *u;

	if (!col)
		return NULL;
	u = GEOSUnaryUnionPrec_r(b->ctx, col, DEMO_GRID_DEG);
	GEOSGeom_destroy_r(b->ctx, col);
	return u;
}
