/*
 * test_index.c — the area index against brute force (geo_mpoly_contains,
 * lowest id first) on synthetic layers: a grid of squares, a jittered
 * quadrilateral tiling with sloped shared edges, the same cells grouped into
 * multipolygon areas, concave stars with holes that overlap, a polygon with
 * holes filled by other areas, and a pile of overlapping squares with more
 * candidates than one record group holds. Also: points exactly on shared
 * edges and vertices and the rule that owns them, outside points, layer
 * independence, a polygon smaller than the grid allows, the empty index and
 * refused input.
 */
#include "geo/index.h"

#include <stdint.h>
#include <stdlib.h>

#include "base/err.h"
#include "test.h"

static uint64_t rng = 0x2545f4914f6cdd1dull;

static uint64_t rng_next(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static double rng_unit(void)
{
	return (double)(rng_next() >> 11) / 9007199254740992.0;
}

/* A set of areas owning their geometries. */
struct areas {
	struct geo_index_input in[4096];
	struct geo_mpoly g[4096];
	size_t n;
};

static struct geo_mpoly *areas_add(struct areas *a, int64_t id, unsigned layer)
{
	struct geo_mpoly *m = &a->g[a->n];
	geo_mpoly_init(m);
	a->in[a->n] = (struct geo_index_input){id, layer, m};
	a->n++;
	return m;
}

static void areas_release(struct areas *a)
{
	for (size_t i = 0; i < a->n; i++)
		geo_mpoly_release(&a->g[i]);
	a->n = 0;
}

static void add_ring(struct geo_mpoly *m, const struct geo_point *p, size_t n)
{
	CHECK_EQ_INT(geo_mpoly_begin_ring(m), SG_OK);
	for (size_t i = 0; i < n; i++)
		CHECK_EQ_INT(geo_mpoly_add_point(m, p[i].lon, p[i].lat), SG_OK);
}

/* Brute force: the lowest id of each layer whose geometry contains p. */
static void brute_locate(const struct areas *a, struct geo_point p,
			 int64_t ids[GEO_INDEX_MAX_LAYERS])
{
	memset(ids, 0, GEO_INDEX_MAX_LAYERS * sizeof *ids);
	for (size_t i = 0; i < a->n; i++) {
		unsigned l = a->in[i].layer;
		if ((ids[l] == 0 || a->in[i].id < ids[l]) && geo_mpoly_contains(a->in[i].geom, p))
			ids[l] = a->in[i].id;
	}
}

/* How many areas of layer l contain p. */
static int count_containing(const struct areas *a, unsigned l, struct geo_point p)
{
	int n = 0;
	for (size_t i = 0; i < a->n; i++)
		n += a->in[i].layer == l && geo_mpoly_contains(a->in[i].geom, p);
	return n;
}

/* Locates p in idx and compares every layer with brute force; counts mismatches. */
static int mismatches(const struct geo_index *idx, const struct areas *a, struct geo_point p)
{
	int64_t got[GEO_INDEX_MAX_LAYERS], want[GEO_INDEX_MAX_LAYERS];
	unsigned hits = geo_index_locate(idx, p, got), want_hits = 0;
	brute_locate(a, p, want);
	int bad = 0;
	for (unsigned l = 0; l < GEO_INDEX_MAX_LAYERS; l++) {
		want_hits += want[l] != 0;
		if (got[l] != want[l]) {
			if (bad == 0)
				fprintf(stderr,
					"  mismatch at (%.17g, %.17g) layer %u: index %lld, brute "
					"%lld\n",
					p.lon, p.lat, l, (long long)got[l], (long long)want[l]);
			bad++;
		}
	}
	return bad + (hits != want_hits);
}

/* ---- synthetic layers ---- */

#define X0 120.0
#define Y0 31.0

/* A layer of an n x n grid of squares over [X0, X0+1] x [Y0, Y0+1], ids from base. */
static void add_square_grid(struct areas *a, unsigned layer, int n, int64_t base)
{
	for (int r = 0; r < n; r++) {
		for (int c = 0; c < n; c++) {
			struct geo_mpoly *m = areas_add(a, base + r * n + c, layer);
			/* Same arithmetic for shared corners: bit-identical vertices. */
			double xa = X0 + (double)c / n, xb = X0 + (double)(c + 1) / n;
			double ya = Y0 + (double)r / n, yb = Y0 + (double)(r + 1) / n;
			struct geo_point p[] = {{xa, ya}, {xb, ya}, {xb, yb}, {xa, yb}};
			CHECK_EQ_INT(geo_mpoly_begin_polygon(m), SG_OK);
			add_ring(m, p, 4);
			CHECK_EQ_INT(geo_mpoly_finish(m), SG_OK);
		}
	}
}

/* Vertices of an (n+1)^2 lattice over the unit square, jittered inside, edges fixed. */
static struct geo_point lattice[41][41];

static void make_lattice(int n)
{
	for (int r = 0; r <= n; r++) {
		for (int c = 0; c <= n; c++) {
			double jx = (c == 0 || c == n) ? 0 : (rng_unit() - 0.5) * 0.7 / n;
			double jy = (r == 0 || r == n) ? 0 : (rng_unit() - 0.5) * 0.7 / n;
			lattice[r][c] =
			    (struct geo_point){X0 + (double)c / n + jx, Y0 + (double)r / n + jy};
		}
	}
}

/* One jittered quad of the lattice as a polygon of m (optionally clockwise). */
static void add_quad(struct geo_mpoly *m, int r, int c, bool cw)
{
	struct geo_point p[4] = {lattice[r][c], lattice[r][c + 1], lattice[r + 1][c + 1],
				 lattice[r + 1][c]};
	CHECK_EQ_INT(geo_mpoly_begin_polygon(m), SG_OK);
	if (cw) {
		struct geo_point q[4] = {p[0], p[3], p[2], p[1]};
		add_ring(m, q, 4);
	} else {
		add_ring(m, p, 4);
	}
}

/* A layer of the lattice's quads, one area each, windings mixed. */
static void add_quad_tiling(struct areas *a, unsigned layer, int n, int64_t base)
{
	for (int r = 0; r < n; r++) {
		for (int c = 0; c < n; c++) {
			struct geo_mpoly *m = areas_add(a, base + r * n + c, layer);
			add_quad(m, r, c, (r + c) % 3 == 0);
			CHECK_EQ_INT(geo_mpoly_finish(m), SG_OK);
		}
	}
}

/*
 * A layer of k areas, each the multipolygon of the lattice quads assigned to
 * it at random: disconnected parts, and neighbouring quads of one area whose
 * shared edge appears twice in the same area.
 */
static void add_grouped_tiling(struct areas *a, unsigned layer, int n, int k, int64_t base)
{
	static int owner[40][40];
	for (int r = 0; r < n; r++)
		for (int c = 0; c < n; c++)
			owner[r][c] = (int)(rng_next() % (uint64_t)k);
	for (int i = 0; i < k; i++) {
		struct geo_mpoly *m = areas_add(a, base + i, layer);
		for (int r = 0; r < n; r++)
			for (int c = 0; c < n; c++)
				if (owner[r][c] == i)
					add_quad(m, r, c, false);
		CHECK_EQ_INT(geo_mpoly_finish(m), SG_OK);
	}
}

/* A star with `arms` points (concave), centred at c, radii r1 > r2. */
static void star_ring(struct geo_point *p, int arms, struct geo_point c, double r1, double r2,
		      double rot)
{
	for (int i = 0; i < 2 * arms; i++) {
		double ang = rot + M_PI * i / arms, r = i % 2 ? r2 : r1;
		p[i] = (struct geo_point){c.lon + r * cos(ang), c.lat + r * sin(ang)};
	}
}

/* Overlapping concave stars, some with a star-shaped hole, some with a second part. */
static void add_stars(struct areas *a, unsigned layer, int count, int64_t base)
{
	for (int i = 0; i < count; i++) {
		/* Ids descend while positions go up, so "lowest id wins" is not "first added". */
		struct geo_mpoly *m = areas_add(a, base + count - i, layer);
		struct geo_point c = {X0 + 0.1 + 0.8 * rng_unit(), Y0 + 0.1 + 0.8 * rng_unit()};
		double r1 = 0.05 + 0.15 * rng_unit();
		int arms = 3 + (int)(rng_next() % 9);
		struct geo_point p[40];
		star_ring(p, arms, c, r1, r1 * 0.4, rng_unit());
		CHECK_EQ_INT(geo_mpoly_begin_polygon(m), SG_OK);
		add_ring(m, p, (size_t)(2 * arms));
		if (i % 3 == 0) {
			star_ring(p, 5, c, r1 * 0.3, r1 * 0.15, rng_unit());
			add_ring(m, p, 10);
		}
		if (i % 4 == 1) {
			struct geo_point c2 = {c.lon + 2.2 * r1, c.lat - 0.5 * r1};
			star_ring(p, 4, c2, r1 * 0.5, r1 * 0.3, 0.3);
			CHECK_EQ_INT(geo_mpoly_begin_polygon(m), SG_OK);
			add_ring(m, p, 8);
		}
		CHECK_EQ_INT(geo_mpoly_finish(m), SG_OK);
	}
}

/*
 * A square with three triangular holes, and three areas filling the holes
 * exactly (their rings are the holes' rings reversed): a tiling with holes.
 */
static void add_holes_and_fillers(struct areas *a, unsigned layer, int64_t base)
{
	struct geo_point hole[3][3];
	for (int h = 0; h < 3; h++) {
		double cx = X0 + 0.25 + 0.25 * h, cy = Y0 + 0.3 + 0.2 * h;
		hole[h][0] = (struct geo_point){cx - 0.1, cy - 0.07};
		hole[h][1] = (struct geo_point){cx + 0.13, cy - 0.03};
		hole[h][2] = (struct geo_point){cx + 0.01, cy + 0.11};
	}
	struct geo_mpoly *m = areas_add(a, base, layer);
	struct geo_point sq[] = {{X0 + 0.05, Y0 + 0.05},
				 {X0 + 0.95, Y0 + 0.05},
				 {X0 + 0.95, Y0 + 0.95},
				 {X0 + 0.05, Y0 + 0.95}};
	CHECK_EQ_INT(geo_mpoly_begin_polygon(m), SG_OK);
	add_ring(m, sq, 4);
	for (int h = 0; h < 3; h++)
		add_ring(m, hole[h], 3);
	CHECK_EQ_INT(geo_mpoly_finish(m), SG_OK);
	for (int h = 0; h < 3; h++) {
		struct geo_mpoly *f = areas_add(a, base + 1 + h, layer);
		struct geo_point rev[3] = {hole[h][2], hole[h][1], hole[h][0]};
		CHECK_EQ_INT(geo_mpoly_begin_polygon(f), SG_OK);
		add_ring(f, rev, 3);
		CHECK_EQ_INT(geo_mpoly_finish(f), SG_OK);
	}
}

/* Random points in and a little around the unit square of the layers. */
static struct geo_point random_point(void)
{
	return (struct geo_point){X0 - 0.05 + 1.1 * rng_unit(), Y0 - 0.05 + 1.1 * rng_unit()};
}

/* Every vertex, and points along every edge, of every area. */
static int check_boundary_points(const struct geo_index *idx, const struct areas *a, int per_edge)
{
	int bad = 0;
	for (size_t i = 0; i < a->n; i++) {
		const struct geo_mpoly *m = a->in[i].geom;
		for (uint32_t k = 0; k + 1 < m->npts; k++) {
			struct geo_point p = m->pts[k], q = m->pts[k + 1];
			bad += mismatches(idx, a, p) != 0;
			for (int t = 0; t < per_edge; t++) {
				double u = rng_unit();
				struct geo_point x = {p.lon + u * (q.lon - p.lon),
						      p.lat + u * (q.lat - p.lat)};
				bad += mismatches(idx, a, x) != 0;
			}
		}
	}
	return bad;
}

/* ---- tests ---- */

static void test_locate_matches_brute_force_on_mixed_layers(void)
{
	static struct areas a;
	struct geo_index *idx = NULL;
	rng = 12345;
	make_lattice(12);
	add_square_grid(&a, 0, 10, 1000);
	add_quad_tiling(&a, 1, 12, 2000);
	add_grouped_tiling(&a, 2, 12, 9, 3000);
	add_stars(&a, 3, 40, 4000);
	add_holes_and_fillers(&a, 5, 5000);
	/* Layers 0-3 and 5, then 0-5: a gap in the layers and none take
	 * different paths when the answer is written. */
	for (int pass = 0; pass < 2; pass++) {
		if (pass == 1)
			for (size_t i = 0; i < a.n; i++)
				if (a.in[i].layer == 5)
					a.in[i].layer = 4;
		CHECK_EQ_INT(geo_index_build(a.in, a.n, &idx), SG_OK);
		if (!idx)
			return;
		int bad = 0;
		for (int i = 0; i < 100000; i++)
			bad += mismatches(idx, &a, random_point()) != 0;
		CHECK_EQ_INT(bad, 0);
		/* Boundaries too: the index applies contains's half-open rule exactly. */
		CHECK_EQ_INT(check_boundary_points(idx, &a, 3), 0);
		CHECK(geo_index_memory(idx) > 0);
		geo_index_free(idx);
		idx = NULL;
	}
	areas_release(&a);
}

static void test_locate_point_on_shared_edge_resolves_once(void)
{
	static struct areas a;
	struct geo_index *idx = NULL;
	rng = 777;
	make_lattice(12);
	add_square_grid(&a, 0, 10, 1000);
	add_quad_tiling(&a, 1, 12, 2000);
	add_grouped_tiling(&a, 2, 12, 5, 3000);
	CHECK_EQ_INT(geo_index_build(a.in, a.n, &idx), SG_OK);
	if (!idx)
		return;
	int not_once = 0, disagree = 0, tested = 0;
	/* The lattice's vertices (shared by up to four quads) and points along its
	 * sloped edges (on them to within rounding; exact predicates make "exactly
	 * one" hold either way), and points exactly on the square grid's lines. */
	for (int r = 0; r <= 12; r++) {
		for (int c = 0; c <= 12; c++) {
			for (int dir = 0; dir < 3; dir++) {
				struct geo_point p = lattice[r][c], q;
				if (dir == 1 && c < 12)
					q = lattice[r][c + 1];
				else if (dir == 2 && r < 12)
					q = lattice[r + 1][c];
				else
					q = p;
				double u = dir ? rng_unit() : 0;
				struct geo_point x = {p.lon + u * (q.lon - p.lon),
						      p.lat + u * (q.lat - p.lat)};
				/* The union's own north and east borders belong to no area. */
				if (x.lon >= X0 + 1 || x.lat >= Y0 + 1)
					continue;
				for (unsigned l = 1; l <= 2; l++)
					not_once += count_containing(&a, l, x) != 1;
				disagree += mismatches(idx, &a, x) != 0;
				tested++;
			}
		}
	}
	for (int r = 1; r < 10; r++) {
		for (int c = 0; c < 10; c++) {
			/* The grid's own arithmetic, so these lie exactly on its lines. */
			double y = Y0 + (double)r / 10, x = X0 + (c + rng_unit()) / 10;
			struct geo_point on_row = {x, y},
					 on_col = {X0 + (double)r / 10, Y0 + (c + rng_unit()) / 10};
			not_once += count_containing(&a, 0, on_row) != 1;
			not_once += count_containing(&a, 0, on_col) != 1;
			disagree += mismatches(idx, &a, on_row) != 0;
			disagree += mismatches(idx, &a, on_col) != 0;
			/* Grid corners: four squares meet; exactly the north-east one. */
			struct geo_point corner = {X0 + (double)c / 10, y};
			int64_t got[GEO_INDEX_MAX_LAYERS];
			geo_index_locate(idx, corner, got);
			if (c > 0)
				CHECK_EQ_INT(got[0], 1000 + r * 10 + c);
		}
	}
	CHECK(tested > 300);
	CHECK_EQ_INT(not_once, 0);
	CHECK_EQ_INT(disagree, 0);
	geo_index_free(idx);
	areas_release(&a);
}

/*
 * index.h's statement of the rule: a boundary point belongs to the areas
 * containing p + (e, e^2) for small e. With e = 1e-7 (e^2 = 1e-14 is still
 * far above a double's resolution at 31 degrees) no edge of these tilings
 * passes between p and the nudged point except through p itself, so the
 * nudged point is an ordinary interior point whose owner brute force knows.
 */
static void test_locate_boundary_point_belongs_to_area_north_east_of_it(void)
{
	static struct areas a;
	struct geo_index *idx = NULL;
	rng = 4242;
	make_lattice(12);
	add_square_grid(&a, 0, 10, 1000);
	add_quad_tiling(&a, 1, 12, 2000);
	CHECK_EQ_INT(geo_index_build(a.in, a.n, &idx), SG_OK);
	if (!idx)
		return;
	int differ = 0, tested = 0;
	for (size_t i = 0; i < a.n; i++) {
		const struct geo_mpoly *m = a.in[i].geom;
		for (uint32_t k = 0; k + 1 < m->npts; k++) {
			struct geo_point v = m->pts[k], w = m->pts[k + 1];
			struct geo_point on[2] = {
			    v, {v.lon + 0.5 * (w.lon - v.lon), v.lat + 0.5 * (w.lat - v.lat)}};
			/* Exactly on the boundary: vertices, and midpoints of axis-parallel
			 * edges (a sloped edge's computed midpoint rounds off its line). */
			bool axis = v.lon == w.lon || v.lat == w.lat;
			for (int j = 0; j < (axis ? 2 : 1); j++) {
				struct geo_point nudged = {on[j].lon + 1e-7, on[j].lat + 1e-14};
				int64_t got[GEO_INDEX_MAX_LAYERS], want[GEO_INDEX_MAX_LAYERS];
				geo_index_locate(idx, on[j], got);
				brute_locate(&a, nudged, want);
				differ += got[0] != want[0] || got[1] != want[1];
				tested++;
			}
		}
	}
	CHECK(tested > 1000);
	CHECK_EQ_INT(differ, 0);
	/* The claim, spelled out at two corners of the square grid's (0,0) square:
	 * its south-west corner is its own, its north-east corner is the next one's. */
	int64_t ids[GEO_INDEX_MAX_LAYERS];
	geo_index_locate(idx, (struct geo_point){X0, Y0}, ids);
	CHECK_EQ_INT(ids[0], 1000);
	geo_index_locate(idx, (struct geo_point){X0 + 0.1, Y0 + 0.1}, ids);
	CHECK_EQ_INT(ids[0], 1011);
	geo_index_free(idx);
	areas_release(&a);
}

static void test_locate_outside_every_area_returns_zeros(void)
{
	static struct areas a;
	struct geo_index *idx = NULL;
	add_square_grid(&a, 4, 3, 1);
	CHECK_EQ_INT(geo_index_build(a.in, a.n, &idx), SG_OK);
	if (!idx)
		return;
	int64_t ids[GEO_INDEX_MAX_LAYERS];
	struct geo_point outside[] = {{X0 - 0.5, Y0 + 0.5},
				      {X0 + 1.5, Y0 + 0.5},
				      {X0 + 0.5, Y0 - 1e-12},
				      {X0 + 0.5, Y0 + 1},
				      {X0 + 1, Y0 + 0.5},
				      {NAN, Y0},
				      {X0, NAN},
				      {INFINITY, Y0},
				      {-200, 95}};
	for (size_t i = 0; i < sizeof outside / sizeof outside[0]; i++) {
		for (unsigned l = 0; l < GEO_INDEX_MAX_LAYERS; l++)
			ids[l] = -1;
		CHECK_EQ_INT(geo_index_locate(idx, outside[i], ids), 0);
		for (unsigned l = 0; l < GEO_INDEX_MAX_LAYERS; l++)
			CHECK_EQ_INT(ids[l], 0);
	}
	CHECK_EQ_INT(geo_index_locate(idx, (struct geo_point){X0 + 0.5, Y0 + 0.5}, ids), 1);
	CHECK_EQ_INT(ids[4], 5);
	CHECK_EQ_INT(ids[0], 0);
	geo_index_free(idx);
	areas_release(&a);
}

static void test_layers_are_independent(void)
{
	static struct areas both, alone;
	struct geo_index *i_both = NULL, *i_alone = NULL;
	rng = 99;
	make_lattice(12);
	add_quad_tiling(&alone, 9, 12, 100);
	add_quad_tiling(&both, 9, 12, 100);
	add_stars(&both, 2, 30, 500);
	add_square_grid(&both, 15, 7, 900);
	CHECK_EQ_INT(geo_index_build(alone.in, alone.n, &i_alone), SG_OK);
	CHECK_EQ_INT(geo_index_build(both.in, both.n, &i_both), SG_OK);
	if (!i_alone || !i_both)
		return;
	int differ = 0, hits15 = 0;
	for (int i = 0; i < 50000; i++) {
		struct geo_point p = random_point();
		int64_t a[GEO_INDEX_MAX_LAYERS], b[GEO_INDEX_MAX_LAYERS];
		geo_index_locate(i_alone, p, a);
		geo_index_locate(i_both, p, b);
		differ += a[9] != b[9];
		hits15 += b[15] != 0;
		for (unsigned l = 0; l < GEO_INDEX_MAX_LAYERS; l++)
			if (l != 9)
				differ += a[l] != 0;
	}
	CHECK_EQ_INT(differ, 0);
	CHECK(hits15 > 30000); /* the last layer slot works */
	geo_index_free(i_alone);
	geo_index_free(i_both);
	areas_release(&both);
	areas_release(&alone);
}

static void test_overlapping_areas_lowest_id_wins_beyond_one_group(void)
{
	/* 70 squares shifted by a hair each: every cell near their corners has
	 * 70 candidates with edges, more than a record group's 16. */
	static struct areas a;
	struct geo_index *idx = NULL;
	for (int i = 0; i < 70; i++) {
		struct geo_mpoly *m = areas_add(&a, 1000 - 7 * i, 6);
		double d = i * 1e-6;
		struct geo_point p[] = {{X0 + d, Y0 + d},
					{X0 + 0.01 + d, Y0 + d},
					{X0 + 0.01 + d, Y0 + 0.01 + d},
					{X0 + d, Y0 + 0.01 + d}};
		CHECK_EQ_INT(geo_mpoly_begin_polygon(m), SG_OK);
		add_ring(m, p, 4);
		CHECK_EQ_INT(geo_mpoly_finish(m), SG_OK);
	}
	/* A duplicate of one square with a lower id: it must win wherever that one would. */
	struct geo_mpoly *dup = areas_add(&a, 3, 6);
	CHECK_EQ_INT(geo_mpoly_copy(dup, &a.g[50]), SG_OK);
	CHECK_EQ_INT(geo_index_build(a.in, a.n, &idx), SG_OK);
	if (!idx)
		return;
	int bad = 0;
	for (int i = 0; i < 100000; i++) {
		/* Concentrated around the corner where all the edges bunch up. */
		struct geo_point p = {X0 - 1e-5 + 1e-4 * rng_unit(), Y0 - 1e-5 + 1e-4 * rng_unit()};
		if (i % 2)
			p = (struct geo_point){X0 - 0.001 + 0.012 * rng_unit(),
					       Y0 - 0.001 + 0.012 * rng_unit()};
		bad += mismatches(idx, &a, p) != 0;
	}
	CHECK_EQ_INT(bad, 0);
	int64_t ids[GEO_INDEX_MAX_LAYERS];
	geo_index_locate(idx, (struct geo_point){X0 + 0.005, Y0 + 0.005}, ids);
	CHECK_EQ_INT(ids[6], 3);
	geo_index_free(idx);
	areas_release(&a);
}

static void test_tiny_polygon_far_from_origin(void)
{
	/* A 1e-9 degree triangle at Suzhou: the grid must not get finer than rounding allows. */
	static struct areas a;
	struct geo_index *idx = NULL;
	struct geo_mpoly *m = areas_add(&a, 42, 0);
	struct geo_point p[] = {
	    {120.6285, 31.3237}, {120.6285 + 1e-9, 31.3237}, {120.6285, 31.3237 + 1e-9}};
	CHECK_EQ_INT(geo_mpoly_begin_polygon(m), SG_OK);
	add_ring(m, p, 3);
	CHECK_EQ_INT(geo_mpoly_finish(m), SG_OK);
	CHECK_EQ_INT(geo_index_build(a.in, a.n, &idx), SG_OK);
	if (!idx)
		return;
	int bad = 0;
	for (int i = 0; i < 20000; i++) {
		struct geo_point q = {120.6285 - 2e-10 + 1.4e-9 * rng_unit(),
				      31.3237 - 2e-10 + 1.4e-9 * rng_unit()};
		bad += mismatches(idx, &a, q) != 0;
	}
	CHECK_EQ_INT(bad, 0);
	int64_t ids[GEO_INDEX_MAX_LAYERS];
	CHECK_EQ_INT(
	    geo_index_locate(idx, (struct geo_point){120.6285 + 2e-10, 31.3237 + 2e-10}, ids), 1);
	CHECK_EQ_INT(ids[0], 42);
	geo_index_free(idx);
	areas_release(&a);
}

static void test_empty_index_answers_nothing(void)
{
	struct geo_index *idx = NULL;
	int64_t ids[GEO_INDEX_MAX_LAYERS];
	CHECK_EQ_INT(geo_index_build(NULL, 0, &idx), SG_OK);
	if (!idx)
		return;
	CHECK_EQ_INT(geo_index_locate(idx, (struct geo_point){120.6, 31.3}, ids), 0);
	for (unsigned l = 0; l < GEO_INDEX_MAX_LAYERS; l++)
		CHECK_EQ_INT(ids[l], 0);
	CHECK(geo_index_memory(idx) > 0);
	geo_index_free(idx);
	geo_index_free(NULL);
	CHECK_EQ_INT(geo_index_memory(NULL), 0);

	/* Areas whose geometry is empty: an index with layers but no edges. */
	struct geo_mpoly e;
	geo_mpoly_init(&e);
	struct geo_index_input in = {7, 3, &e};
	CHECK_EQ_INT(geo_index_build(&in, 1, &idx), SG_OK);
	if (!idx)
		return;
	CHECK_EQ_INT(geo_index_locate(idx, (struct geo_point){0, 0}, ids), 0);
	geo_index_free(idx);
}

static void test_build_refuses_bad_input_and_leaves_out_alone(void)
{
	struct geo_mpoly sq;
	geo_mpoly_init(&sq);
	CHECK_EQ_INT(geo_mpoly_begin_polygon(&sq), SG_OK);
	struct geo_point p[] = {{0, 0}, {1, 0}, {1, 1}};
	add_ring(&sq, p, 3);
	CHECK_EQ_INT(geo_mpoly_finish(&sq), SG_OK);
	struct geo_index *sentinel = (struct geo_index *)&sq, *idx = sentinel;
	struct geo_index_input bad[] = {
	    {0, 0, &sq}, {-5, 0, &sq}, {1, GEO_INDEX_MAX_LAYERS, &sq}, {1, 0, NULL}};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		CHECK_EQ_INT(geo_index_build(&bad[i], 1, &idx), SG_EINVAL);
		CHECK(idx == sentinel);
	}
	CHECK_EQ_INT(geo_index_build(NULL, 3, &idx), SG_EINVAL);
	/* A ring left open by hand (the builder always closes them). */
	sq.pts[3].lon = 0.5;
	struct geo_index_input open = {1, 0, &sq};
	CHECK_EQ_INT(geo_index_build(&open, 1, &idx), SG_EINVAL);
	CHECK(idx == sentinel);
	geo_mpoly_release(&sq);
}

int main(void)
{
	TEST_RUN(test_locate_matches_brute_force_on_mixed_layers);
	TEST_RUN(test_locate_point_on_shared_edge_resolves_once);
	TEST_RUN(test_locate_boundary_point_belongs_to_area_north_east_of_it);
	TEST_RUN(test_locate_outside_every_area_returns_zeros);
	TEST_RUN(test_layers_are_independent);
	TEST_RUN(test_overlapping_areas_lowest_id_wins_beyond_one_group);
	TEST_RUN(test_tiny_polygon_far_from_origin);
	TEST_RUN(test_empty_index_answers_nothing);
	TEST_RUN(test_build_refuses_bad_input_and_leaves_out_alone);
	return test_summary("geo/index");
}
