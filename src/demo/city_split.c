/*
 * city_split.c — how the demo city draws a layer: the PRNG, seed points
 * inside a parent area, and their Voronoi cells clipped to it, so that the
 * children tile the parent exactly (see city.c for why the grid makes
 * neighbours agree to the bit). Also the urban cores seeds cluster around.
 *
 * Not the layers themselves (city_districts.c, city_gov.c, city_police.c)
 * nor what they are named; only the geometry and the randomness. Exports
 * (city_internal.h) demo__rng_init, demo__rng_range, demo__county_core,
 * demo__split_area and the scratch arrays.
 */
#include "demo/city_internal.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/log.h"

/* How often a layer is redrawn with fresh points before giving up. */
#define DEMO_MAX_REDRAWS 8

/* ---------------------------------------------------------------- PRNG */

/*
 * xoshiro256** seeded through splitmix64: small, fast, and the same on every
 * platform, which rand() is not.
 */
static uint64_t splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15u);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
	return z ^ (z >> 31);
}

/* A generator for (seed, stream, parent, attempt); distinct tuples give unrelated sequences. */
void demo__rng_init(struct demo__rng *r, uint64_t seed, enum demo__stream stream, uint64_t parent,
		    unsigned attempt)
{
	uint64_t x = seed;

	x = splitmix64(&x) ^ ((uint64_t)stream << 56) ^ ((uint64_t)attempt << 48) ^ parent;
	for (int i = 0; i < 4; i++)
		r->s[i] = splitmix64(&x);
}

static inline uint64_t rotl64(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

static uint64_t rng_next(struct demo__rng *r)
{
	uint64_t *s = r->s;
	uint64_t result = rotl64(s[1] * 5, 7) * 9, t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl64(s[3], 45);
	return result;
}

/* Uniform in [0, 1). */
static double rng_unit(struct demo__rng *r)
{
	return (double)(rng_next(r) >> 11) * 0x1.0p-53;
}

/* Uniform in [lo, hi]; the modulo bias is irrelevant for ranges this small. */
unsigned demo__rng_range(struct demo__rng *r, unsigned lo, unsigned hi)
{
	return lo + (unsigned)(rng_next(r) % (uint64_t)(hi - lo + 1));
}

/* Standard normal (Box–Muller, one of the pair). */
static double rng_gauss(struct demo__rng *r)
{
	double u = 1.0 - rng_unit(r), v = rng_unit(r);

	return sqrt(-2.0 * log(u)) * cos(2.0 * M_PI * v);
}

/* ------------------------------------------------------- seeds, Voronoi */

/* A county's core from the table; spread grows with its number of 社区 (0.5 km² each). */
bool demo__county_core(const struct demo__build *b, const struct demo__division *county,
		       struct demo__core *out)
{
	const struct demo__county_info *ci = demo__county_lookup(county->code);
	size_t shequ = 0;
	double sigma_km;

	if (!ci)
		return false;
	for (size_t t = 0; t < county->nchildren; t++) {
		const struct demo__division *tw = &b->div.v[county->first_child + (long)t];
		for (size_t v = 0; v < tw->nchildren; v++)
			shequ += demo__village_is_shequ(&b->div.v[tw->first_child + (long)v]);
	}
	sigma_km = sqrt(0.5 * (double)shequ / (2.0 * M_PI));
	if (sigma_km < 1.5)
		sigma_km = 1.5;
	out->lon = ci->core_lon;
	out->lat = ci->core_lat;
	out->sigma_lat = sigma_km / 111.2;
	out->sigma_lon = sigma_km / (111.2 * cos(ci->core_lat * M_PI / 180.0));
	return true;
}

/*
 * Draws n distinct seed points inside parent. Point i comes from the core's
 * Gaussian with probability p_core[i] (when core and p_core are given), else
 * uniformly from the bounding box; points outside the parent are redrawn.
 * Points keep a minimum spacing (0.4 of the mean spacing, in degrees) so the
 * cells come out even-sized and no two seeds coincide; a crowded parent
 * relaxes it after a run of rejections.
 */
static int sample_seeds(const struct geo_mpoly *parent, double area_deg2, size_t n,
			struct demo__rng *r, const struct demo__core *core, const double *p_core,
			struct geo_point *seeds)
{
	struct geo_bbox bb = geo_mpoly_bbox(parent);
	double min_d2 = 0.16 * area_deg2 / (double)n;

	for (size_t i = 0; i < n; i++) {
		unsigned tries = 0;
		for (;;) {
			struct geo_point p;
			bool ok;

			if (++tries % 200 == 0)
				min_d2 *= 0.25;
			if (tries > 20000)
				return SG_EINTERNAL;
			if (core && p_core && rng_unit(r) < p_core[i]) {
				p.lon = core->lon + core->sigma_lon * rng_gauss(r);
				p.lat = core->lat + core->sigma_lat * rng_gauss(r);
			} else {
				p.lon = bb.min_lon + (bb.max_lon - bb.min_lon) * rng_unit(r);
				p.lat = bb.min_lat + (bb.max_lat - bb.min_lat) * rng_unit(r);
			}
			ok = geo_mpoly_contains(parent, p);
			for (size_t j = 0; ok && j < i; j++) {
				double dx = p.lon - seeds[j].lon, dy = p.lat - seeds[j].lat;
				ok = dx * dx + dy * dy >= min_d2;
			}
			if (ok) {
				seeds[i] = p;
				break;
			}
		}
	}
	return SG_OK;
}

/* North to south, then west to east: how unnamed children are numbered. */
static int cmp_north_first(const void *a, const void *b)
{
	const struct geo_point *p = a, *q = b;

	if (p->lat != q->lat)
		return p->lat > q->lat ? -1 : 1;
	if (p->lon != q->lon)
		return p->lon < q->lon ? -1 : 1;
	return 0;
}

/* A point strictly inside a convex ring: the mean of its vertices (the closing one excluded). */
static int convex_inner_point(struct demo__build *b, const GEOSGeometry *cell,
			      struct geo_point *out)
{
	const GEOSGeometry *ring = GEOSGetExteriorRing_r(b->ctx, cell);
	const GEOSCoordSequence *seq = ring ? GEOSGeom_getCoordSeq_r(b->ctx, ring) : NULL;
	unsigned n = 0;
	double sx = 0, sy = 0;

	if (!seq || !GEOSCoordSeq_getSize_r(b->ctx, seq, &n) || n < 4)
		return SG_EINTERNAL;
	for (unsigned i = 0; i + 1 < n; i++) {
		double x, y;
		if (!GEOSCoordSeq_getXY_r(b->ctx, seq, i, &x, &y))
			return SG_EINTERNAL;
		sx += x;
		sy += y;
	}
	out->lon = sx / (n - 1);
	out->lat = sy / (n - 1);
	return SG_OK;
}

/*
 * Cuts parent into n pieces, the Voronoi cells of seeds (all inside parent)
 * clipped to it on the grid; cells[i] (initialised, empty) receives seed i's
 * piece. GEOS (3.11) returns the cells in its own order, so each is matched
 * back to its seed: every point of a cell is nearer its own seed than any
 * other, and the mean of a convex cell's vertices is such a point. The
 * envelope given to GEOS is far larger than the parent, so no cell is cut
 * short inside it. Sets *redraw (and returns SG_OK) when the seeds did not
 * give n non-empty pieces, which fresh seeds cure.
 */
static int voronoi_split(struct demo__build *b, const GEOSGeometry *parent,
			 const struct geo_point *seeds, size_t n, struct geo_mpoly *cells,
			 bool *redraw)
{
	GEOSGeometry **pts = NULL, *mp = NULL, *env = NULL, *diagram = NULL;
	bool *taken = NULL;
	double x0, y0, x1, y1, pad;
	size_t made = 0;
	int rc = SG_OK;

	*redraw = false;
	if (n == 1)
		return geo_mpoly_from_geos(b->ctx, parent, &cells[0]);
	pts = calloc(n, sizeof *pts);
	taken = calloc(n, sizeof *taken);
	if (!pts || !taken) {
		rc = SG_ENOMEM;
		goto out;
	}
	for (made = 0; made < n; made++) {
		pts[made] = GEOSGeom_createPointFromXY_r(b->ctx, seeds[made].lon, seeds[made].lat);
		if (!pts[made]) {
			rc = demo__geos_failed(b, "point");
			goto out;
		}
	}
	/* Takes the points, also on failure. */
	mp = GEOSGeom_createCollection_r(b->ctx, GEOS_MULTIPOINT, pts, (unsigned)n);
	made = 0;
	if (!mp || !GEOSGeom_getXMin_r(b->ctx, parent, &x0) ||
	    !GEOSGeom_getYMin_r(b->ctx, parent, &y0) || !GEOSGeom_getXMax_r(b->ctx, parent, &x1) ||
	    !GEOSGeom_getYMax_r(b->ctx, parent, &y1)) {
		rc = demo__geos_failed(b, "voronoi_input");
		goto out;
	}
	pad = fmax(x1 - x0, y1 - y0) + 0.01;
	env = GEOSGeom_createRectangle_r(b->ctx, x0 - pad, y0 - pad, x1 + pad, y1 + pad);
	diagram = env ? GEOSVoronoiDiagram_r(b->ctx, mp, env, 0.0, 0) : NULL;
	if (!diagram) {
		rc = demo__geos_failed(b, "voronoi");
		goto out;
	}
	if ((size_t)GEOSGetNumGeometries_r(b->ctx, diagram) != n) {
		*redraw = true; /* seeds GEOS considered equal */
		goto out;
	}
	for (size_t j = 0; j < n; j++) {
		const GEOSGeometry *cell = GEOSGetGeometryN_r(b->ctx, diagram, (int)j);
		GEOSGeometry *piece, *dense;
		struct geo_point c;
		double best = INFINITY;
		size_t owner = n;

		rc = cell ? convex_inner_point(b, cell, &c) : SG_EINTERNAL;
		if (rc != SG_OK)
			goto out;
		for (size_t i = 0; i < n; i++) {
			double dx = c.lon - seeds[i].lon, dy = c.lat - seeds[i].lat;
			if (dx * dx + dy * dy < best) {
				best = dx * dx + dy * dy;
				owner = i;
			}
		}
		if (taken[owner]) {
			*redraw = true;
			goto out;
		}
		taken[owner] = true;
		dense = demo__densified_polygon(b, cell);
		piece = dense ? GEOSIntersectionPrec_r(b->ctx, dense, parent, DEMO_GRID_DEG) : NULL;
		if (dense)
			GEOSGeom_destroy_r(b->ctx, dense);
		if (!piece) {
			rc = demo__geos_failed(b, "clip");
			goto out;
		}
		rc = geo_mpoly_from_geos(b->ctx, piece, &cells[owner]);
		GEOSGeom_destroy_r(b->ctx, piece);
		if (rc == SG_EINVAL || (rc == SG_OK && cells[owner].npolys == 0)) {
			*redraw = true; /* a seed on the very edge: its piece rounded away */
			rc = SG_OK;
			goto out;
		}
		if (rc != SG_OK)
			goto out;
	}
out:
	for (size_t i = 0; i < made; i++)
		GEOSGeom_destroy_r(b->ctx, pts[i]);
	free(pts);
	free(taken);
	if (mp)
		GEOSGeom_destroy_r(b->ctx, mp);
	if (env)
		GEOSGeom_destroy_r(b->ctx, env);
	if (diagram)
		GEOSGeom_destroy_r(b->ctx, diagram);
	if (rc != SG_OK || *redraw)
		for (size_t i = 0; i < n; i++) {
			geo_mpoly_release(&cells[i]);
			geo_mpoly_init(&cells[i]);
		}
	return rc;
}

/*
 * Splits the area at parent_idx into n pieces with seeds drawn from stream
 * (see sample_seeds for core and p_core), redrawing when a draw fails.
 * Fills seeds[] and cells[] (n each, cells initialised and empty). When
 * sorted, the seeds are put in north-to-south order first.
 */
int demo__split_area(struct demo__build *b, long parent_idx, size_t n, enum demo__stream stream,
		     const struct demo__core *core, const double *p_core, bool sorted,
		     struct geo_point *seeds, struct geo_mpoly *cells)
{
	const struct geo_mpoly *pm = &b->out->v[parent_idx].geom;
	GEOSGeometry *parent = geo_mpoly_to_geos(b->ctx, pm);
	double area_deg2 = 0;
	int rc = SG_OK;

	if (!parent || !GEOSArea_r(b->ctx, parent, &area_deg2)) {
		rc = demo__geos_failed(b, "parent");
		goto out;
	}
	for (unsigned attempt = 0;; attempt++) {
		struct demo__rng r;
		bool redraw = false;

		if (attempt == DEMO_MAX_REDRAWS) {
			SG_LOG(SG_LOG_ERROR, "msg=\"demo city: cannot split area\" name=\"%s\"",
			       b->out->v[parent_idx].name);
			rc = SG_EINTERNAL;
			break;
		}
		demo__rng_init(&r, b->seed, stream, (uint64_t)(parent_idx - (long)b->base),
			       attempt);
		rc = sample_seeds(pm, area_deg2, n, &r, core, p_core, seeds);
		if (rc != SG_OK) {
			SG_LOG(SG_LOG_ERROR, "msg=\"demo city: no room for seeds\" name=\"%s\" n=%zu",
			       b->out->v[parent_idx].name, n);
			break;
		}
		if (sorted)
			qsort(seeds, n, sizeof *seeds, cmp_north_first);
		rc = voronoi_split(b, parent, seeds, n, cells, &redraw);
		if (rc != SG_OK || !redraw)
			break;
	}
out:
	if (parent)
		GEOSGeom_destroy_r(b->ctx, parent);
	return rc;
}

/* ------------------------------------------------------------- scratch */

int demo__scratch_reserve(struct demo__scratch *s, size_t n)
{
	if (n > s->alloc) {
		struct geo_point *seeds = realloc(s->seeds, n * sizeof *seeds);
		if (seeds)
			s->seeds = seeds;
		struct geo_mpoly *cells = realloc(s->cells, n * sizeof *cells);
		if (cells)
			s->cells = cells;
		double *p = realloc(s->p_core, n * sizeof *p);
		if (p)
			s->p_core = p;
		if (!seeds || !cells || !p)
			return SG_ENOMEM;
		for (size_t i = s->alloc; i < n; i++)
			geo_mpoly_init(&s->cells[i]);
		s->alloc = n;
	}
	return SG_OK;
}

void demo__scratch_release(struct demo__scratch *s)
{
	for (size_t i = 0; i < s->alloc; i++)
		geo_mpoly_release(&s->cells[i]);
	free(s->seeds);
	free(s->cells);
	free(s->p_core);
	memset(s, 0, sizeof *s);
}
