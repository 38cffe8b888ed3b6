/*
 * fusion.c — 双网融合: for each governance grid, the police grids it overlaps
 * most, by intersection area (GEOS).
 *
 * The police grids go into an STR-tree and are prepared once; each
 * governance grid asks the tree for the police grids whose envelopes meet
 * its own, drops those the prepared geometry says it does not intersect,
 * takes a police grid that contains it whole as a share of 1 without an
 * overlay, and intersects the rest. Areas are planar, in degrees²: only
 * their ratio is kept, and over a grid a few kilometres across the
 * difference from a geodesic ratio is far below anything that matters.
 *
 * Exports fusion_compute. Uses its own GEOS context, so it is safe to call
 * from any thread.
 */
#include "geo/fusion.h"

#include <stdint.h>
#include <stdlib.h>

#include "base/err.h"
#include "base/log.h"
#include "geo/geos_bridge.h"

/*
 * Overlaps under this share of a governance grid are ignored: where both
 * layers follow the same outer boundary (a district's), independently
 * computed vertices leave slivers of around 1e-9 of a grid that are rounding,
 * not geography.
 */
#define FUSION_MIN_SHARE 1e-6

/* Grid for the fallback overlay when the floating one fails on nearly degenerate input. */
#define FUSION_FALLBACK_GRID_DEG 1e-10

/* What one STR-tree query collects: indices of candidate police grids. */
struct candidates {
	size_t *v;
	size_t n, alloc;
	int failed;
};

static void collect_candidate(void *item, void *userdata)
{
	struct candidates *c = userdata;

	if (c->n == c->alloc) {
		size_t na = c->alloc ? c->alloc * 2 : 16;
		size_t *v = realloc(c->v, na * sizeof *v);
		if (!v) {
			c->failed = 1;
			return;
		}
		c->v = v;
		c->alloc = na;
	}
	c->v[c->n++] = *(const size_t *)item;
}

static int cmp_size(const void *a, const void *b)
{
	size_t x = *(const size_t *)a, y = *(const size_t *)b;

	return x < y ? -1 : x > y;
}

/* Area of the intersection of a and b in degrees²; a floating overlay first, a gridded one if that fails. */
static int overlap_area(GEOSContextHandle_t ctx, const GEOSGeometry *a, const GEOSGeometry *b,
			double *out)
{
	GEOSGeometry *x = GEOSIntersection_r(ctx, a, b);
	int ok;

	if (!x)
		x = GEOSIntersectionPrec_r(ctx, a, b, FUSION_FALLBACK_GRID_DEG);
	if (!x) {
		SG_LOG(SG_LOG_ERROR, "msg=\"fusion: intersection failed\" err=\"%s\"",
		       geo_geos_last_error(ctx));
		return SG_EINTERNAL;
	}
	ok = GEOSArea_r(ctx, x, out);
	GEOSGeom_destroy_r(ctx, x);
	return ok ? SG_OK : SG_EINTERNAL;
}

/*
 * Fills row for one governance grid g (area g_area > 0) from the candidate
 * police grids, visited in input order so that of two equal overlaps the
 * earlier police grid wins, whatever order the tree returned them in.
 */
static int rank_candidates(GEOSContextHandle_t ctx, const GEOSGeometry *g, double g_area,
			   struct candidates *cand, GEOSGeometry *const *pg,
			   const GEOSPreparedGeometry *const *prep, const struct fusion_input *police,
			   struct fusion_row *row)
{
	double best = 0, second = 0;
	size_t best_i = SIZE_MAX, second_i = SIZE_MAX;
	int rc = SG_OK;

	if (cand->n > 1)
		qsort(cand->v, cand->n, sizeof *cand->v, cmp_size);
	for (size_t k = 0; rc == SG_OK && k < cand->n; k++) {
		size_t i = cand->v[k];
		double a = 0;
		char hit = GEOSPreparedIntersects_r(ctx, prep[i], g);

		if (hit == 2)
			return SG_EINTERNAL;
		if (!hit)
			continue;
		hit = GEOSPreparedContains_r(ctx, prep[i], g);
		if (hit == 2)
			return SG_EINTERNAL;
		if (hit)
			a = g_area;
		else
			rc = overlap_area(ctx, pg[i], g, &a);
		if (rc != SG_OK || a <= FUSION_MIN_SHARE * g_area)
			continue;
		if (a > best) {
			second = best;
			second_i = best_i;
			best = a;
			best_i = i;
		} else if (a > second) {
			second = a;
			second_i = i;
		}
	}
	if (rc != SG_OK)
		return rc;
	if (best_i != SIZE_MAX) {
		row->police_grid_id = police[best_i].id;
		row->ratio = best / g_area > 1.0 ? 1.0 : best / g_area;
	}
	if (second_i != SIZE_MAX) {
		row->second_police_grid_id = police[second_i].id;
		row->second_ratio = second / g_area > 1.0 ? 1.0 : second / g_area;
	}
	row->split = row->second_ratio > FUSION_SPLIT_RATIO;
	return SG_OK;
}

int fusion_compute(const struct fusion_input *police, size_t npolice,
		   const struct fusion_input *gov, size_t ngov, struct fusion_row **rows)
{
	GEOSContextHandle_t ctx = geo_geos_context_new();
	GEOSGeometry **pg = NULL;
	const GEOSPreparedGeometry **prep = NULL;
	GEOSSTRtree *tree = NULL;
	size_t *ids = NULL;
	struct fusion_row *out = NULL;
	struct candidates cand = { 0 };
	int rc = SG_OK;

	if (!ctx)
		return SG_ENOMEM;
	pg = calloc(npolice ? npolice : 1, sizeof *pg);
	prep = calloc(npolice ? npolice : 1, sizeof *prep);
	ids = calloc(npolice ? npolice : 1, sizeof *ids);
	out = calloc(ngov ? ngov : 1, sizeof *out);
	tree = GEOSSTRtree_create_r(ctx, 10);
	if (!pg || !prep || !ids || !out || !tree) {
		rc = SG_ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < npolice; i++) {
		ids[i] = i;
		if (police[i].geom->npolys == 0)
			continue; /* overlaps nothing */
		pg[i] = geo_mpoly_to_geos(ctx, police[i].geom);
		prep[i] = pg[i] ? GEOSPrepare_r(ctx, pg[i]) : NULL;
		if (!prep[i]) {
			rc = SG_EINTERNAL;
			goto out;
		}
		/* The tree keeps pointers to both until it is destroyed. */
		GEOSSTRtree_insert_r(ctx, tree, pg[i], &ids[i]);
	}
	for (size_t j = 0; j < ngov; j++) {
		struct fusion_row *row = &out[j];
		GEOSGeometry *g;
		double g_area = 0;

		row->gov_grid_id = gov[j].id;
		if (gov[j].geom->npolys == 0)
			continue;
		g = geo_mpoly_to_geos(ctx, gov[j].geom);
		if (!g || !GEOSArea_r(ctx, g, &g_area)) {
			if (g)
				GEOSGeom_destroy_r(ctx, g);
			rc = SG_EINTERNAL;
			goto out;
		}
		cand.n = 0;
		if (g_area > 0)
			GEOSSTRtree_query_r(ctx, tree, g, collect_candidate, &cand);
		if (cand.failed)
			rc = SG_ENOMEM;
		else if (g_area > 0)
			rc = rank_candidates(ctx, g, g_area, &cand, pg, prep, police, row);
		GEOSGeom_destroy_r(ctx, g);
		if (rc != SG_OK)
			goto out;
	}
	*rows = out;
	out = NULL;
out:
	if (tree)
		GEOSSTRtree_destroy_r(ctx, tree);
	for (size_t i = 0; prep && i < npolice; i++)
		if (prep[i])
			GEOSPreparedGeom_destroy_r(ctx, prep[i]);
	for (size_t i = 0; pg && i < npolice; i++)
		if (pg[i])
			GEOSGeom_destroy_r(ctx, pg[i]);
	free(prep);
	free(pg);
	free(ids);
	free(out);
	free(cand.v);
	geo_geos_context_free(ctx);
	return rc;
}
