/*
 * city.c — builds the demo city: Suzhou's real districts and division codes,
 * with synthetic boundaries below the district level (docs/DEMO.md).
 *
 * The inputs are the two embedded files (demo/city_internal.h). The 9
 * district polygons are repaired with GEOS (several rings touch themselves),
 * put on a grid of 1e-10°, and noded together with the meridian that cuts
 * 苏州工业园区 out of 姑苏区's polygon; the faces of that linework are handed
 * back to their counties (the few gaps between districts to a neighbour), so
 * the 10 counties share every boundary vertex and the city is their union.
 * Every finer layer is drawn the same way: seed points inside the parent,
 * their Voronoi cells, each densified and clipped to the parent by a GEOS
 * intersection on the same grid. The cells tile the parent, and rounding
 * every computed vertex to one grid gives neighbours bit-identical shared
 * vertices, which the index's boundary rule (geo/index.h) relies on to put a
 * point on a shared edge in exactly one area.
 *
 * Determinism: one PRNG (xoshiro256**) per layer and parent, seeded from the
 * caller's seed with splitmix64, so a seed always yields the same city and a
 * change in one layer does not reshuffle the others; GEOS gives equal output
 * for equal input (tests/unit/demo/test_city.c checks both).
 *
 * This file is the top-level build: it plans the city (the counties, every
 * community's number of governance grids) and runs the layers in order. It
 * is not where any layer is drawn: the counties are in city_districts.c, the
 * streets, communities and governance grids in city_gov.c, the stations and
 * police grids in city_police.c; what they share (the divisions and names,
 * seeds and Voronoi cells, GEOS helpers) is in city_divisions.c,
 * city_split.c and city_geom.c, declared in city_internal.h.
 *
 * Exports demo_city_build only. Safe to run in several threads at once: it
 * uses its own GEOS context and no global state.
 */
#include "demo/city.h"

#include <stdbool.h>

#include "base/err.h"
#include "demo/city_internal.h"
#include "geo/geos_bridge.h"

/* Governance grids per community: uniform in [lo, hi] by kind of community. */
#define DEMO_GRIDS_SHEQU_LO 5 /* 社区居委会: urban, dense */
#define DEMO_GRIDS_SHEQU_HI 9
#define DEMO_GRIDS_CUN_LO 2   /* 村委会: rural */
#define DEMO_GRIDS_CUN_HI 4
#define DEMO_GRIDS_OTHER_LO 1 /* 类似居委会/村委会 */
#define DEMO_GRIDS_OTHER_HI 3

/* Reports progress about this often (in areas). */
#define DEMO_PROGRESS_STEP 500

void demo__report(struct demo__build *b, bool force)
{
	size_t done = b->out->n - b->base;

	if (b->progress && (force || done >= b->reported + DEMO_PROGRESS_STEP)) {
		b->progress(b->progress_ctx, done, b->expected);
		b->reported = done;
	}
}

/* ---------------------------------------------------------------- entry */

/*
 * Finds the counties in the divisions and draws every village's number of
 * governance grids up front, so the total is known for progress reports.
 */
static int plan(struct demo__build *b)
{
	const struct demo__division *root = &b->div.v[0];
	struct demo__rng r;
	size_t ngrids = 0, ntownships = 0, nvillages = 0;

	/* Every county gets at least two stations (demo__build_police). */
	if (root->nchildren == 0 || root->nchildren * 2 > DEMO_STATIONS)
		return SG_EINTERNAL;
	b->county_first = root->first_child;
	b->ncounties = root->nchildren;
	demo__rng_init(&r, b->seed, DEMO_STREAM_GRID_COUNTS, 0, 0);
	for (size_t i = 0; i < b->div.n; i++) {
		struct demo__division *d = &b->div.v[i];
		if (d->level == DEMO_DIV_TOWNSHIP)
			ntownships++;
		if (d->level != DEMO_DIV_VILLAGE)
			continue;
		nvillages++;
		if (demo__village_is_shequ(d))
			d->ngrids = demo__rng_range(&r, DEMO_GRIDS_SHEQU_LO, DEMO_GRIDS_SHEQU_HI);
		else if (demo__village_is_cun(d))
			d->ngrids = demo__rng_range(&r, DEMO_GRIDS_CUN_LO, DEMO_GRIDS_CUN_HI);
		else
			d->ngrids = demo__rng_range(&r, DEMO_GRIDS_OTHER_LO, DEMO_GRIDS_OTHER_HI);
		ngrids += d->ngrids;
	}
	/* Every township and village must have children to be split into. */
	for (size_t i = 0; i < b->div.n; i++)
		if (b->div.v[i].level != DEMO_DIV_VILLAGE && b->div.v[i].nchildren == 0)
			return SG_EINTERNAL;
	b->expected = 1 + b->ncounties + ntownships + nvillages + ngrids + DEMO_STATIONS +
		      DEMO_POLICE_GRIDS;
	return SG_OK;
}

int demo_city_build(uint64_t seed, struct area_set *out, demo_progress_fn progress, void *ctx)
{
	struct demo__build b = { 0 };
	struct demo__scratch s = { 0 };
	int rc;

	b.out = out;
	b.base = out->n;
	b.seed = seed;
	b.progress = progress;
	b.progress_ctx = ctx;
	b.ctx = geo_geos_context_new();
	if (!b.ctx)
		return SG_ENOMEM;
	rc = demo__divisions_parse(&b.div);
	if (rc == SG_OK)
		rc = plan(&b);
	if (rc == SG_OK)
		rc = demo__build_districts(&b);
	if (rc == SG_OK)
		rc = demo__build_streets(&b, &s);
	if (rc == SG_OK)
		rc = demo__build_communities(&b, &s);
	if (rc == SG_OK)
		rc = demo__build_gov_grids(&b, &s);
	if (rc == SG_OK)
		rc = demo__build_police(&b, &s);
	if (rc == SG_OK)
		demo__report(&b, true);
	demo__scratch_release(&s);
	demo__divisions_release(&b.div);
	geo_geos_context_free(b.ctx);
	return rc;
}
