/*
 * locate.c — benchmark of point location: geo_index_locate against GEOS
 * (an STRtree over prepared polygons) on the demo city.
 *
 * Builds the demo city (seed 1), the area index over all its areas (layer =
 * kind), and a million points uniform in the city's bounding box (fixed
 * seed). Times single-threaded lookups through the index (best of 3), then
 * the first GEOS_POINTS of the same points through GEOS answering the same
 * question for every layer (best of 3), and checks the two agree point by
 * point. Prints the figures docs/PERFORMANCE.md quotes. Times are the
 * thread's CPU time.
 *
 *   make bench && build/bench/locate
 */
#define GEOS_USE_ONLY_R_API
#include <geos_c.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/err.h"
#include "demo/city.h"
#include "geo/geos_bridge.h"
#include "geo/index.h"
#include "geo/polygon.h"
#include "model/area.h"

#define NPOINTS		   1000000
#define GEOS_POINTS	   100000
#define RUNS		   3
#define SHOW_DISAGREEMENTS 10

/*
 * Seconds of this thread's CPU time. The machine the figures come from is
 * shared; wall-clock time would count the moments another job holds the
 * core. CPU time counts what the code costs (caches are shared all the
 * same, so a busy neighbour still slows it down).
 */
static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* splitmix64: a fixed, portable stream of points. */
static uint64_t rng_state = 20240601;

static double rng_unit(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	z ^= z >> 31;
	return (double)(z >> 11) / 9007199254740992.0;
}

/* GEOS side: every area prepared, one STRtree over all of them. */
struct geos_side {
	GEOSContextHandle_t ctx;
	GEOSGeometry **geoms;
	const GEOSPreparedGeometry **prep;
	GEOSSTRtree *tree;
	size_t n;
};

/* The candidates a tree query returns, kept to be tested after it. */
struct geos_query {
	size_t *items;
	size_t nitems;
};

static void collect(void *item, void *userdata)
{
	struct geos_query *q = userdata;
	q->items[q->nitems++] = (size_t)((uintptr_t)item - 1);
}

static int geos_side_init(struct geos_side *g, const struct area_set *set)
{
	memset(g, 0, sizeof *g);
	g->ctx = geo_geos_context_new();
	g->n = set->n;
	g->geoms = calloc(set->n, sizeof *g->geoms);
	g->prep = calloc(set->n, sizeof *g->prep);
	if (!g->ctx || !g->geoms || !g->prep)
		return SG_ENOMEM;
	g->tree = GEOSSTRtree_create_r(g->ctx, 10);
	if (!g->tree)
		return SG_EINTERNAL;
	for (size_t i = 0; i < set->n; i++) {
		g->geoms[i] = geo_mpoly_to_geos(g->ctx, &set->v[i].geom);
		if (!g->geoms[i])
			return SG_EINTERNAL;
		g->prep[i] = GEOSPrepare_r(g->ctx, g->geoms[i]);
		if (!g->prep[i])
			return SG_EINTERNAL;
		/* Items are indices + 1 so none is NULL. */
		GEOSSTRtree_insert_r(g->ctx, g->tree, g->geoms[i], (void *)(uintptr_t)(i + 1));
	}
	return SG_OK;
}

static void geos_side_release(struct geos_side *g)
{
	if (!g->ctx)
		return;
	if (g->tree)
		GEOSSTRtree_destroy_r(g->ctx, g->tree);
	for (size_t i = 0; i < g->n; i++) {
		if (g->prep && g->prep[i])
			GEOSPreparedGeom_destroy_r(g->ctx, g->prep[i]);
		if (g->geoms && g->geoms[i])
			GEOSGeom_destroy_r(g->ctx, g->geoms[i]);
	}
	free(g->prep);
	free(g->geoms);
	geo_geos_context_free(g->ctx);
}

/*
 * One point through GEOS: an STRtree query with a point geometry, then a
 * prepared contains test per candidate; per layer the lowest id wins, as in
 * the index. Returns the number of layers with a hit.
 */
static unsigned geos_locate(struct geos_side *g, const struct area_set *set, struct geo_point p,
			    size_t *items, int64_t ids[GEO_INDEX_MAX_LAYERS])
{
	GEOSGeometry *pt = GEOSGeom_createPointFromXY_r(g->ctx, p.lon, p.lat);
	struct geos_query q = {items, 0};
	unsigned hits = 0;

	memset(ids, 0, GEO_INDEX_MAX_LAYERS * sizeof *ids);
	if (!pt)
		return 0;
	GEOSSTRtree_query_r(g->ctx, g->tree, pt, collect, &q);
	for (size_t k = 0; k < q.nitems; k++) {
		size_t i = items[k];
		unsigned layer = (unsigned)set->v[i].kind;
		int64_t id = (int64_t)i + 1;
		if (ids[layer] != 0 && ids[layer] < id)
			continue;
		if (GEOSPreparedContains_r(g->ctx, g->prep[i], pt) == 1) {
			hits += ids[layer] == 0;
			ids[layer] = id;
		}
	}
	GEOSGeom_destroy_r(g->ctx, pt);
	return hits;
}

int main(void)
{
	struct area_set set;
	struct geo_index *idx = NULL;
	struct geo_index_input *in = NULL;
	struct geo_point *pts = NULL, *inside = NULL;
	size_t *items = NULL;
	struct geos_side gs;
	int rc, status = 1;
	double t;

	memset(&gs, 0, sizeof gs);
	area_set_init(&set);
	t = now_s();
	rc = demo_city_build(1, &set, NULL, NULL);
	if (rc) {
		fprintf(stderr, "demo_city_build: %s\n", sg_err_name(rc));
		goto out;
	}
	printf("demo city: %zu areas built in %.0f ms\n", set.n, (now_s() - t) * 1e3);

	size_t per_kind[AREA_KIND_COUNT] = {0};
	struct geo_bbox bb = {1e300, 1e300, -1e300, -1e300};
	size_t nverts = 0;
	in = calloc(set.n, sizeof *in);
	if (!in)
		goto out;
	for (size_t i = 0; i < set.n; i++) {
		const struct area *a = &set.v[i];
		in[i] = (struct geo_index_input){(int64_t)i + 1, (unsigned)a->kind, &a->geom};
		per_kind[a->kind]++;
		nverts += a->geom.npts;
		bb.min_lon = a->bbox.min_lon < bb.min_lon ? a->bbox.min_lon : bb.min_lon;
		bb.min_lat = a->bbox.min_lat < bb.min_lat ? a->bbox.min_lat : bb.min_lat;
		bb.max_lon = a->bbox.max_lon > bb.max_lon ? a->bbox.max_lon : bb.max_lon;
		bb.max_lat = a->bbox.max_lat > bb.max_lat ? a->bbox.max_lat : bb.max_lat;
	}
	printf("areas:");
	for (int k = 0; k < AREA_KIND_COUNT; k++)
		printf(" %s=%zu", area_kind_name((enum area_kind)k), per_kind[k]);
	printf(" (total %zu, %zu vertices)\n", set.n, nverts);
	printf("bbox: %.4f,%.4f .. %.4f,%.4f\n", bb.min_lon, bb.min_lat, bb.max_lon, bb.max_lat);

	double best_build = 1e300;
	for (int r = 0; r < RUNS; r++) {
		geo_index_free(idx);
		idx = NULL;
		t = now_s();
		rc = geo_index_build(in, set.n, &idx);
		t = now_s() - t;
		if (rc) {
			fprintf(stderr, "geo_index_build: %s\n", sg_err_name(rc));
			goto out;
		}
		if (t < best_build)
			best_build = t;
	}
	printf("index build: %.0f ms (best of %d)\n", best_build * 1e3, RUNS);
	printf("index memory: %.1f MiB\n", (double)geo_index_memory(idx) / (1024.0 * 1024.0));

	pts = malloc(NPOINTS * sizeof *pts);
	inside = malloc(NPOINTS * sizeof *inside);
	items = malloc(set.n * sizeof *items);
	if (!pts || !inside || !items)
		goto out;
	for (size_t i = 0; i < NPOINTS; i++) {
		pts[i].lon = bb.min_lon + (bb.max_lon - bb.min_lon) * rng_unit();
		pts[i].lat = bb.min_lat + (bb.max_lat - bb.min_lat) * rng_unit();
	}

	/* Ours: best of RUNS over all the points. */
	double best = 1e300;
	uint64_t sum = 0, hits = 0, in_city = 0;
	for (int r = 0; r < RUNS; r++) {
		int64_t ids[GEO_INDEX_MAX_LAYERS];
		uint64_t h = 0, c = 0;
		t = now_s();
		for (size_t i = 0; i < NPOINTS; i++) {
			h += geo_index_locate(idx, pts[i], ids);
			c += ids[AREA_CITY] != 0;
			sum += (uint64_t)ids[AREA_GOV_GRID];
		}
		t = now_s() - t;
		if (t < best)
			best = t;
		hits = h;
		in_city = c;
	}
	double ours_rate = NPOINTS / best;
	printf("points: %d uniform in the bbox (seed fixed), %.1f%% inside the city, %.2f layers "
	       "hit per point\n",
	       NPOINTS, 100.0 * (double)in_city / NPOINTS, (double)hits / NPOINTS);
	printf(
	    "ours: %.2f M lookups/s (best of %d, %.0f ns per lookup, all layers; checksum %" PRIu64
	    ")\n",
	    ours_rate / 1e6, RUNS, best * 1e9 / NPOINTS, sum);

	/* The same, for the points inside the city only: where incidents are. */
	size_t nin = 0;
	for (size_t i = 0; i < NPOINTS; i++) {
		int64_t ids[GEO_INDEX_MAX_LAYERS];
		geo_index_locate(idx, pts[i], ids);
		if (ids[AREA_CITY])
			inside[nin++] = pts[i];
	}
	double best_in = 1e300;
	for (int r = 0; r < RUNS; r++) {
		int64_t ids[GEO_INDEX_MAX_LAYERS];
		t = now_s();
		for (size_t i = 0; i < nin; i++) {
			geo_index_locate(idx, inside[i], ids);
			sum += (uint64_t)ids[AREA_GOV_GRID];
		}
		t = now_s() - t;
		if (t < best_in)
			best_in = t;
	}
	printf("ours, inside the city only: %.2f M lookups/s (%zu points, %.0f ns per lookup)\n",
	       (double)nin / best_in / 1e6, nin, best_in * 1e9 / (double)nin);

	/* GEOS: the first GEOS_POINTS points, best of RUNS. */
	rc = geos_side_init(&gs, &set);
	if (rc) {
		fprintf(stderr, "GEOS setup failed: %s\n", sg_err_name(rc));
		goto out;
	}
	double best_geos = 1e300;
	for (int r = 0; r < RUNS; r++) {
		int64_t ids[GEO_INDEX_MAX_LAYERS];
		t = now_s();
		for (size_t i = 0; i < GEOS_POINTS; i++)
			geos_locate(&gs, &set, pts[i], items, ids);
		t = now_s() - t;
		if (t < best_geos)
			best_geos = t;
	}
	double geos_rate = GEOS_POINTS / best_geos;
	printf("GEOS: %.3f M lookups/s (STRtree + prepared contains, best of %d over %d points)\n",
	       geos_rate / 1e6, RUNS, GEOS_POINTS);
	printf("ratio: %.1fx\n", ours_rate / geos_rate);

	/* Agreement, point by point and layer by layer. */
	size_t disagree = 0;
	for (size_t i = 0; i < GEOS_POINTS; i++) {
		int64_t a[GEO_INDEX_MAX_LAYERS], g[GEO_INDEX_MAX_LAYERS];
		geo_index_locate(idx, pts[i], a);
		geos_locate(&gs, &set, pts[i], items, g);
		for (unsigned l = 0; l < GEO_INDEX_MAX_LAYERS; l++) {
			if (a[l] == g[l])
				continue;
			if (disagree++ < SHOW_DISAGREEMENTS)
				printf("  disagree at (%.15g, %.15g) layer %s: ours %" PRId64
				       ", GEOS %" PRId64 "\n",
				       pts[i].lon, pts[i].lat,
				       l < AREA_KIND_COUNT ? area_kind_name((enum area_kind)l)
							   : "?",
				       a[l], g[l]);
		}
	}
	printf("disagreements with GEOS: %zu (of %d points x all layers)\n", disagree, GEOS_POINTS);
	status = 0;
out:
	geos_side_release(&gs);
	geo_index_free(idx);
	free(in);
	free(pts);
	free(inside);
	free(items);
	area_set_release(&set);
	return status;
}
