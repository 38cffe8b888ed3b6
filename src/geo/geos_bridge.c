/*
 * geos_bridge.c — GEOS contexts that keep their last error, and conversion of
 * multipolygons to and from GEOS geometries.
 *
 * Not a wrapper around GEOS operations: callers use the reentrant GEOS API
 * directly on the geometries made here. Exports geo_geos_context_new,
 * geo_geos_context_free, geo_geos_last_error, geo_mpoly_to_geos and
 * geo_mpoly_from_geos.
 */
#include "geo/geos_bridge.h"

#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"

/* GEOS reads a ring straight out of the point array as x,y pairs. */
_Static_assert(sizeof(struct geo_point) == 2 * sizeof(double), "geo_point must be two doubles");
_Static_assert(offsetof(struct geo_point, lat) == sizeof(double), "geo_point must be lon, lat");

/* Longer GEOS messages (they quote coordinates) are cut here. */
#define GEOS_ERRMSG_MAX 512

/*
 * Where a context's last error goes. GEOS hands the pointer back to the error
 * handler as userdata, but offers no hook when a context is finished, so the
 * buffers live in a registry keyed by context: geo_geos_context_free unlinks
 * and frees its buffer, and a context finished with plain GEOS_finish_r leaves
 * its buffer registered (still reachable, so not a leak) for the next context
 * created at the same address to reuse. The registry holds one entry per live
 * context, plus at most a few stale ones.
 */
struct geos_errbuf {
	struct geos_errbuf *next;
	GEOSContextHandle_t ctx;
	char msg[GEOS_ERRMSG_MAX];
};

static pthread_mutex_t errbuf_lock = PTHREAD_MUTEX_INITIALIZER;
static struct geos_errbuf *errbuf_head;

/* The registry entry of ctx, or NULL. Called with errbuf_lock held. */
static struct geos_errbuf *errbuf_find(GEOSContextHandle_t ctx)
{
	struct geos_errbuf *e;

	for (e = errbuf_head; e; e = e->next)
		if (e->ctx == ctx)
			return e;
	return NULL;
}

/* GEOS error handler: keeps the message, cut to the buffer, in userdata. */
static void on_geos_error(const char *message, void *userdata)
{
	struct geos_errbuf *e = userdata;
	size_t n = message ? strlen(message) : 0;

	if (n >= sizeof e->msg)
		n = sizeof e->msg - 1;
	if (n)
		memcpy(e->msg, message, n);
	e->msg[n] = '\0';
}

/* GEOS notices (e.g. "Self-intersection at ...") are validity chatter that callers ask for explicitly. */
static void on_geos_notice(const char *message, void *userdata)
{
	(void)message;
	(void)userdata;
}

GEOSContextHandle_t geo_geos_context_new(void)
{
	GEOSContextHandle_t ctx = GEOS_init_r();
	struct geos_errbuf *e;

	if (!ctx)
		return NULL;
	pthread_mutex_lock(&errbuf_lock);
	e = errbuf_find(ctx);
	if (!e) {
		e = calloc(1, sizeof *e);
		if (e) {
			e->ctx = ctx;
			e->next = errbuf_head;
			errbuf_head = e;
		}
	}
	if (e)
		e->msg[0] = '\0';
	pthread_mutex_unlock(&errbuf_lock);
	if (!e) {
		GEOS_finish_r(ctx);
		return NULL;
	}
	GEOSContext_setNoticeMessageHandler_r(ctx, on_geos_notice, NULL);
	GEOSContext_setErrorMessageHandler_r(ctx, on_geos_error, e);
	return ctx;
}

void geo_geos_context_free(GEOSContextHandle_t ctx)
{
	struct geos_errbuf **pp, *e = NULL;

	if (!ctx)
		return;
	pthread_mutex_lock(&errbuf_lock);
	for (pp = &errbuf_head; *pp; pp = &(*pp)->next) {
		if ((*pp)->ctx == ctx) {
			e = *pp;
			*pp = e->next;
			break;
		}
	}
	pthread_mutex_unlock(&errbuf_lock);
	GEOS_finish_r(ctx);
	free(e);
}

/* Records that an allocation of ours failed, as GEOS records its std::bad_alloc. */
static void note_out_of_memory(GEOSContextHandle_t ctx)
{
	struct geos_errbuf *e;

	pthread_mutex_lock(&errbuf_lock);
	if ((e = errbuf_find(ctx)))
		snprintf(e->msg, sizeof e->msg, "std::bad_alloc (out of memory)");
	pthread_mutex_unlock(&errbuf_lock);
}

const char *geo_geos_last_error(GEOSContextHandle_t ctx)
{
	struct geos_errbuf *e;

	pthread_mutex_lock(&errbuf_lock);
	e = errbuf_find(ctx);
	pthread_mutex_unlock(&errbuf_lock);
	/* Only the thread using ctx writes e->msg, and that is the caller. */
	return e ? e->msg : "";
}

/* Ring r of m as a GEOS LinearRing; NULL on failure. */
static GEOSGeometry *ring_to_geos(GEOSContextHandle_t ctx, const struct geo_mpoly *m, uint32_t r)
{
	GEOSCoordSequence *seq;

	seq = GEOSCoordSeq_copyFromBuffer_r(ctx, (const double *)&m->pts[m->ring_off[r]],
					    geo_mpoly_ring_len(m, r), 0, 0);
	if (!seq)
		return NULL;
	/* Takes seq, also when it fails. */
	return GEOSGeom_createLinearRing_r(ctx, seq);
}

/* Polygon p of m as a GEOS Polygon; NULL on failure. */
static GEOSGeometry *polygon_to_geos(GEOSContextHandle_t ctx, const struct geo_mpoly *m, uint32_t p)
{
	uint32_t r0 = m->poly_off[p], r1 = m->poly_off[p + 1];
	unsigned nholes = r1 - r0 - 1;
	GEOSGeometry *shell = NULL, **holes = NULL, *poly = NULL;
	unsigned made = 0;

	shell = ring_to_geos(ctx, m, r0);
	if (!shell)
		goto out;
	if (nholes) {
		holes = calloc(nholes, sizeof *holes);
		if (!holes) {
			note_out_of_memory(ctx);
			goto out;
		}
		for (made = 0; made < nholes; made++) {
			holes[made] = ring_to_geos(ctx, m, r0 + 1 + made);
			if (!holes[made])
				goto out;
		}
	}
	/*
	 * GEOS takes the shell and the holes (not the array), also when it
	 * fails (GEOS ticket 1111), so nothing is left to free but the array.
	 */
	poly = GEOSGeom_createPolygon_r(ctx, shell, holes, nholes);
	shell = NULL;
	made = 0;
out:
	if (shell)
		GEOSGeom_destroy_r(ctx, shell);
	for (unsigned i = 0; i < made; i++)
		GEOSGeom_destroy_r(ctx, holes[i]);
	free(holes);
	return poly;
}

GEOSGeometry *geo_mpoly_to_geos(GEOSContextHandle_t ctx, const struct geo_mpoly *m)
{
	GEOSGeometry **polys = NULL, *g = NULL;
	uint32_t made = 0;

	if (m->npolys == 0)
		return GEOSGeom_createEmptyCollection_r(ctx, GEOS_MULTIPOLYGON);
	polys = calloc(m->npolys, sizeof *polys);
	if (!polys) {
		note_out_of_memory(ctx);
		return NULL;
	}
	for (made = 0; made < m->npolys; made++) {
		polys[made] = polygon_to_geos(ctx, m, made);
		if (!polys[made])
			goto out;
	}
	if (m->npolys == 1) {
		g = polys[0];
	} else {
		/* Takes the polygons (not the array), also when it fails. */
		g = GEOSGeom_createCollection_r(ctx, GEOS_MULTIPOLYGON, polys, m->npolys);
	}
	made = 0;
out:
	for (uint32_t i = 0; i < made; i++)
		GEOSGeom_destroy_r(ctx, polys[i]);
	free(polys);
	return g;
}

/* Adds every polygon of src to dst through the builder (dst not finished). */
static int append_mpoly(struct geo_mpoly *dst, const struct geo_mpoly *src)
{
	int rc = SG_OK;

	for (uint32_t p = 0; rc == SG_OK && p < src->npolys; p++) {
		rc = geo_mpoly_begin_polygon(dst);
		for (uint32_t r = src->poly_off[p]; rc == SG_OK && r < src->poly_off[p + 1]; r++) {
			rc = geo_mpoly_begin_ring(dst);
			for (uint32_t i = src->ring_off[r]; rc == SG_OK && i < src->ring_off[r + 1]; i++)
				rc = geo_mpoly_add_point(dst, src->pts[i].lon, src->pts[i].lat);
		}
	}
	return rc;
}

/* Adds one GEOS ring to dst as the next ring of the open polygon. */
static int append_geos_ring(GEOSContextHandle_t ctx, const GEOSGeometry *ring, struct geo_mpoly *dst)
{
	const GEOSCoordSequence *seq = GEOSGeom_getCoordSeq_r(ctx, ring);
	unsigned n = 0;
	int rc;

	if (!seq || !GEOSCoordSeq_getSize_r(ctx, seq, &n))
		return SG_EINTERNAL;
	rc = geo_mpoly_begin_ring(dst);
	for (unsigned i = 0; rc == SG_OK && i < n; i++) {
		double x, y;
		if (!GEOSCoordSeq_getXY_r(ctx, seq, i, &x, &y))
			return SG_EINTERNAL;
		rc = geo_mpoly_add_point(dst, x, y);
	}
	return rc;
}

/*
 * Adds the polygonal parts of g to dst, descending into collections (which
 * may nest), and counts them in *found. Points and lines are skipped; so are
 * empty polygons, which have no ring to add.
 */
static int append_geos(GEOSContextHandle_t ctx, const GEOSGeometry *g, struct geo_mpoly *dst,
		       size_t *found)
{
	int type = GEOSGeomTypeId_r(ctx, g), rc = SG_OK, n;

	switch (type) {
	case GEOS_POLYGON: {
		const GEOSGeometry *shell;

		if (GEOSisEmpty_r(ctx, g) == 1)
			return SG_OK;
		shell = GEOSGetExteriorRing_r(ctx, g);
		n = GEOSGetNumInteriorRings_r(ctx, g);
		if (!shell || n < 0)
			return SG_EINTERNAL;
		rc = geo_mpoly_begin_polygon(dst);
		if (rc == SG_OK)
			rc = append_geos_ring(ctx, shell, dst);
		for (int i = 0; rc == SG_OK && i < n; i++) {
			const GEOSGeometry *hole = GEOSGetInteriorRingN_r(ctx, g, i);
			rc = hole ? append_geos_ring(ctx, hole, dst) : SG_EINTERNAL;
		}
		if (rc == SG_OK)
			(*found)++;
		return rc;
	}
	case GEOS_MULTIPOLYGON:
	case GEOS_GEOMETRYCOLLECTION:
		n = GEOSGetNumGeometries_r(ctx, g);
		if (n < 0)
			return SG_EINTERNAL;
		for (int i = 0; rc == SG_OK && i < n; i++) {
			const GEOSGeometry *part = GEOSGetGeometryN_r(ctx, g, i);
			rc = part ? append_geos(ctx, part, dst, found) : SG_EINTERNAL;
		}
		return rc;
	default:
		return SG_OK;
	}
}

/*
 * Builds the result in a fresh multipolygon (out's polygons first, then g's)
 * and moves it into out only when everything succeeded, so out is untouched
 * on failure.
 */
int geo_mpoly_from_geos(GEOSContextHandle_t ctx, const GEOSGeometry *g, struct geo_mpoly *out)
{
	struct geo_mpoly tmp;
	size_t found = 0;
	int rc;

	geo_mpoly_init(&tmp);
	rc = append_mpoly(&tmp, out);
	if (rc == SG_OK)
		rc = append_geos(ctx, g, &tmp, &found);
	if (rc == SG_OK && found == 0 && GEOSisEmpty_r(ctx, g) != 1)
		rc = SG_EINVAL;
	if (rc == SG_OK && tmp.npolys > 0)
		rc = geo_mpoly_finish(&tmp);
	if (rc != SG_OK) {
		geo_mpoly_release(&tmp);
		return rc;
	}
	geo_mpoly_release(out);
	*out = tmp;
	return SG_OK;
}
