/*
 * test_polygon.c — the multipolygon builder, copy, bbox, area, containment
 * with its boundary rule, the exact orientation predicate, WKB both ways
 * (including malformed and truncated input) and the GeoJSON writer.
 */
#include "geo/polygon.h"

#include <stdint.h>
#include <stdlib.h>

#include "base/err.h"
#include "test.h"

/* Appends one closed axis-aligned rectangle ring, counter-clockwise unless cw. */
static int add_rect_ring(struct geo_mpoly *m, double x0, double y0, double x1, double y1, bool cw)
{
	int rc = geo_mpoly_begin_ring(m);
	if (!cw) {
		rc = rc ? rc : geo_mpoly_add_point(m, x0, y0);
		rc = rc ? rc : geo_mpoly_add_point(m, x1, y0);
		rc = rc ? rc : geo_mpoly_add_point(m, x1, y1);
		rc = rc ? rc : geo_mpoly_add_point(m, x0, y1);
	} else {
		rc = rc ? rc : geo_mpoly_add_point(m, x0, y0);
		rc = rc ? rc : geo_mpoly_add_point(m, x0, y1);
		rc = rc ? rc : geo_mpoly_add_point(m, x1, y1);
		rc = rc ? rc : geo_mpoly_add_point(m, x1, y0);
	}
	return rc;
}

/* A single rectangle polygon, finished. */
static void make_rect(struct geo_mpoly *m, double x0, double y0, double x1, double y1)
{
	geo_mpoly_init(m);
	CHECK_EQ_INT(geo_mpoly_begin_polygon(m), SG_OK);
	CHECK_EQ_INT(add_rect_ring(m, x0, y0, x1, y1, false), SG_OK);
	CHECK_EQ_INT(geo_mpoly_finish(m), SG_OK);
}

/* Square [0,10]^2 with hole [4,6]^2, plus a second square [20,30]x[0,10]. */
static void make_two_with_hole(struct geo_mpoly *m)
{
	geo_mpoly_init(m);
	CHECK_EQ_INT(geo_mpoly_begin_polygon(m), SG_OK);
	CHECK_EQ_INT(add_rect_ring(m, 0, 0, 10, 10, false), SG_OK);
	CHECK_EQ_INT(add_rect_ring(m, 4, 4, 6, 6, true), SG_OK);
	CHECK_EQ_INT(geo_mpoly_begin_polygon(m), SG_OK);
	CHECK_EQ_INT(add_rect_ring(m, 20, 0, 30, 10, false), SG_OK);
	CHECK_EQ_INT(geo_mpoly_finish(m), SG_OK);
}

static bool same_mpoly(const struct geo_mpoly *a, const struct geo_mpoly *b)
{
	if (a->npts != b->npts || a->nrings != b->nrings || a->npolys != b->npolys)
		return false;
	if (a->npolys == 0)
		return true;
	return memcmp(a->pts, b->pts, a->npts * sizeof *a->pts) == 0 &&
	       memcmp(a->ring_off, b->ring_off, (a->nrings + 1) * sizeof *a->ring_off) == 0 &&
	       memcmp(a->poly_off, b->poly_off, (a->npolys + 1) * sizeof *a->poly_off) == 0;
}

static void test_builder_closes_rings_and_records_offsets(void)
{
	struct geo_mpoly m;
	make_two_with_hole(&m);
	CHECK_EQ_INT(m.npolys, 2);
	CHECK_EQ_INT(m.nrings, 3);
	CHECK_EQ_INT(m.npts, 15); /* three rings of 4 points, each closed with a 5th */
	CHECK_EQ_INT(m.poly_off[0], 0);
	CHECK_EQ_INT(m.poly_off[1], 2);
	CHECK_EQ_INT(m.poly_off[2], 3);
	for (uint32_t r = 0; r < m.nrings; r++) {
		CHECK_EQ_INT(geo_mpoly_ring_len(&m, r), 5);
		struct geo_point a = m.pts[m.ring_off[r]], b = m.pts[m.ring_off[r + 1] - 1];
		CHECK(a.lon == b.lon && a.lat == b.lat);
	}
	/* finish is idempotent on a closed multipolygon. */
	CHECK_EQ_INT(geo_mpoly_finish(&m), SG_OK);
	CHECK_EQ_INT(m.npts, 15);
	geo_mpoly_release(&m);
	CHECK(m.pts == NULL && m.npts == 0 && m.npolys == 0);
	geo_mpoly_release(&m); /* releasing twice is harmless */
}

static void test_builder_keeps_an_already_closed_ring_as_is(void)
{
	struct geo_mpoly m;
	geo_mpoly_init(&m);
	CHECK_EQ_INT(geo_mpoly_begin_polygon(&m), SG_OK);
	CHECK_EQ_INT(geo_mpoly_begin_ring(&m), SG_OK);
	double xy[][2] = {{0, 0}, {1, 0}, {1, 1}, {0, 0}};
	for (int i = 0; i < 4; i++)
		CHECK_EQ_INT(geo_mpoly_add_point(&m, xy[i][0], xy[i][1]), SG_OK);
	CHECK_EQ_INT(geo_mpoly_finish(&m), SG_OK);
	CHECK_EQ_INT(m.npts, 4);
	geo_mpoly_release(&m);
}

static void test_builder_refuses_misuse_and_short_rings(void)
{
	struct geo_mpoly m;
	geo_mpoly_init(&m);
	CHECK_EQ_INT(geo_mpoly_add_point(&m, 1, 2), SG_EINVAL); /* no polygon yet */
	CHECK_EQ_INT(geo_mpoly_begin_ring(&m), SG_EINVAL);
	CHECK_EQ_INT(geo_mpoly_begin_polygon(&m), SG_OK);
	CHECK_EQ_INT(geo_mpoly_add_point(&m, 1, 2), SG_EINVAL); /* no ring yet */
	CHECK_EQ_INT(geo_mpoly_begin_ring(&m), SG_OK);
	CHECK_EQ_INT(geo_mpoly_add_point(&m, NAN, 2), SG_EINVAL);
	CHECK_EQ_INT(geo_mpoly_add_point(&m, 1, INFINITY), SG_EINVAL);
	CHECK_EQ_INT(geo_mpoly_add_point(&m, 0, 0), SG_OK);
	CHECK_EQ_INT(geo_mpoly_add_point(&m, 1, 0), SG_OK);
	/* Two distinct points close to three: fewer than four. */
	CHECK_EQ_INT(geo_mpoly_finish(&m), SG_EINVAL);
	geo_mpoly_release(&m);

	geo_mpoly_init(&m);
	CHECK_EQ_INT(geo_mpoly_begin_polygon(&m), SG_OK);
	CHECK_EQ_INT(geo_mpoly_finish(&m), SG_EINVAL); /* polygon without exterior */
	geo_mpoly_release(&m);

	geo_mpoly_init(&m);
	CHECK_EQ_INT(geo_mpoly_begin_polygon(&m), SG_OK);
	CHECK_EQ_INT(geo_mpoly_begin_ring(&m), SG_OK);
	CHECK_EQ_INT(geo_mpoly_begin_ring(&m), SG_OK); /* the first ring stays empty */
	CHECK_EQ_INT(add_rect_ring(&m, 0, 0, 1, 1, false), SG_OK);
	CHECK_EQ_INT(geo_mpoly_finish(&m), SG_EINVAL);
	geo_mpoly_release(&m);

	/* An empty multipolygon is fine. */
	geo_mpoly_init(&m);
	CHECK_EQ_INT(geo_mpoly_finish(&m), SG_OK);
	geo_mpoly_release(&m);
}

static void test_copy_is_deep_and_replaces_destination(void)
{
	struct geo_mpoly a, b, e;
	make_two_with_hole(&a);
	make_rect(&b, 5, 5, 6, 6);
	CHECK_EQ_INT(geo_mpoly_copy(&b, &a), SG_OK);
	CHECK(same_mpoly(&a, &b));
	CHECK(a.pts != b.pts);
	a.pts[0].lon = 99;
	CHECK(b.pts[0].lon == 0);
	/* The copy can still be built on. */
	CHECK_EQ_INT(geo_mpoly_begin_polygon(&b), SG_OK);
	CHECK_EQ_INT(add_rect_ring(&b, 40, 0, 41, 1, false), SG_OK);
	CHECK_EQ_INT(geo_mpoly_finish(&b), SG_OK);
	CHECK_EQ_INT(b.npolys, 3);
	/* Copying an empty multipolygon empties the destination. */
	geo_mpoly_init(&e);
	CHECK_EQ_INT(geo_mpoly_copy(&b, &e), SG_OK);
	CHECK_EQ_INT(b.npolys, 0);
	CHECK_EQ_INT(b.npts, 0);
	CHECK_EQ_INT(geo_mpoly_copy(&a, &a), SG_OK);
	CHECK_EQ_INT(a.npolys, 2);
	geo_mpoly_release(&a);
	geo_mpoly_release(&b);
}

static void test_bbox_spans_all_points_and_empty_is_inverted(void)
{
	struct geo_mpoly m;
	make_two_with_hole(&m);
	struct geo_bbox b = geo_mpoly_bbox(&m);
	CHECK(b.min_lon == 0 && b.min_lat == 0 && b.max_lon == 30 && b.max_lat == 10);
	geo_mpoly_release(&m);
	struct geo_bbox e = geo_mpoly_bbox(&m);
	CHECK(e.min_lon > e.max_lon && e.min_lat > e.max_lat);
}

/*
 * The reference: the area of a small latitude/longitude cell on the WGS-84
 * ellipsoid is M N cos(lat) dlat dlon, with M the meridional and N the
 * prime-vertical radius of curvature at the cell's middle latitude. An
 * independent formula from the one under test.
 */
static double cell_area_reference(double lat_mid_deg, double dlat_deg, double dlon_deg)
{
	double a = 6378137.0, e2 = 0.0066943799901413165;
	double phi = lat_mid_deg * M_PI / 180.0, s = sin(phi);
	double w = 1.0 - e2 * s * s;
	double n = a / sqrt(w), mrad = a * (1.0 - e2) / (w * sqrt(w));
	return mrad * n * cos(phi) * (dlat_deg * M_PI / 180.0) * (dlon_deg * M_PI / 180.0);
}

static void test_area_of_small_square_at_31n_matches_ellipsoid(void)
{
	struct geo_mpoly m;
	make_rect(&m, 120.60, 31.00, 120.61, 31.01);
	double got = geo_mpoly_area_m2(&m);
	double want = cell_area_reference(31.005, 0.01, 0.01);
	/* About 1.01 km^2; the brief asks for 0.1%, the method gives far better. */
	CHECK(fabs(got - want) / want < 1e-5);
	CHECK(fabs(got - want) / want < 1e-3);
	geo_mpoly_release(&m);
}

static void test_area_subtracts_holes_and_ignores_winding(void)
{
	struct geo_mpoly outer, hole, both, cw;
	make_rect(&outer, 120.0, 31.0, 120.02, 31.02);
	make_rect(&hole, 120.005, 31.005, 120.015, 31.015);
	geo_mpoly_init(&both);
	CHECK_EQ_INT(geo_mpoly_begin_polygon(&both), SG_OK);
	CHECK_EQ_INT(add_rect_ring(&both, 120.0, 31.0, 120.02, 31.02, false), SG_OK);
	CHECK_EQ_INT(add_rect_ring(&both, 120.005, 31.005, 120.015, 31.015, false), SG_OK);
	CHECK_EQ_INT(geo_mpoly_finish(&both), SG_OK);
	double ao = geo_mpoly_area_m2(&outer), ah = geo_mpoly_area_m2(&hole);
	CHECK_NEAR(geo_mpoly_area_m2(&both), ao - ah, 1e-6 * ao);
	CHECK(ah > 0.2 * ao && ah < 0.3 * ao);

	geo_mpoly_init(&cw);
	CHECK_EQ_INT(geo_mpoly_begin_polygon(&cw), SG_OK);
	CHECK_EQ_INT(add_rect_ring(&cw, 120.0, 31.0, 120.02, 31.02, true), SG_OK);
	CHECK_EQ_INT(geo_mpoly_finish(&cw), SG_OK);
	CHECK_NEAR(geo_mpoly_area_m2(&cw), ao, 1e-9 * ao);

	struct geo_mpoly two;
	make_two_with_hole(&two);
	CHECK(geo_mpoly_area_m2(&two) > 0);
	geo_mpoly_release(&two);
	geo_mpoly_release(&outer);
	geo_mpoly_release(&hole);
	geo_mpoly_release(&both);
	geo_mpoly_release(&cw);
	CHECK(geo_mpoly_area_m2(&cw) == 0.0);
}

static void test_area_of_an_octant_is_an_eighth_of_the_ellipsoid(void)
{
	/* Equator and two meridians are geodesics: the octant is exactly 1/8. */
	struct geo_mpoly m;
	geo_mpoly_init(&m);
	CHECK_EQ_INT(geo_mpoly_begin_polygon(&m), SG_OK);
	CHECK_EQ_INT(geo_mpoly_begin_ring(&m), SG_OK);
	CHECK_EQ_INT(geo_mpoly_add_point(&m, 0, 0), SG_OK);
	CHECK_EQ_INT(geo_mpoly_add_point(&m, 90, 0), SG_OK);
	CHECK_EQ_INT(geo_mpoly_add_point(&m, 0, 90), SG_OK);
	CHECK_EQ_INT(geo_mpoly_finish(&m), SG_OK);
	/* The ellipsoid's surface area in closed form: 2 pi a^2 (1 + (1 - e2) atanh(e) / e). */
	double a = 6378137.0, e2 = 0.0066943799901413165, e = sqrt(e2);
	double ellipsoid_m2 = 2 * M_PI * a * a * (1 + (1 - e2) * atanh(e) / e);
	CHECK(fabs(geo_mpoly_area_m2(&m) - ellipsoid_m2 / 8) / (ellipsoid_m2 / 8) < 1e-9);
	geo_mpoly_release(&m);
}

static void test_contains_interior_hole_and_second_polygon(void)
{
	struct geo_mpoly m;
	make_two_with_hole(&m);
	CHECK(geo_mpoly_contains(&m, (struct geo_point){1, 1}));
	CHECK(geo_mpoly_contains(&m, (struct geo_point){9.5, 3}));
	CHECK(!geo_mpoly_contains(&m, (struct geo_point){5, 5})); /* in the hole */
	CHECK(geo_mpoly_contains(&m, (struct geo_point){25, 5})); /* second polygon */
	CHECK(!geo_mpoly_contains(&m, (struct geo_point){15, 5}));
	CHECK(!geo_mpoly_contains(&m, (struct geo_point){-1, 5}));
	CHECK(!geo_mpoly_contains(&m, (struct geo_point){5, 11}));
	CHECK(!geo_mpoly_contains(&m, (struct geo_point){NAN, 5}));
	geo_mpoly_release(&m);
	CHECK(!geo_mpoly_contains(&m, (struct geo_point){1, 1})); /* empty */
}

static void test_contains_boundary_is_half_open_west_and_south_inclusive(void)
{
	struct geo_mpoly m;
	make_rect(&m, 0, 0, 10, 10);
	CHECK(geo_mpoly_contains(&m, (struct geo_point){0, 5}));   /* west edge: in */
	CHECK(!geo_mpoly_contains(&m, (struct geo_point){10, 5})); /* east edge: out */
	CHECK(geo_mpoly_contains(&m, (struct geo_point){5, 0}));   /* south edge: in */
	CHECK(!geo_mpoly_contains(&m, (struct geo_point){5, 10})); /* north edge: out */
	CHECK(geo_mpoly_contains(&m, (struct geo_point){0, 0}));   /* south-west corner only */
	CHECK(!geo_mpoly_contains(&m, (struct geo_point){10, 0}));
	CHECK(!geo_mpoly_contains(&m, (struct geo_point){0, 10}));
	CHECK(!geo_mpoly_contains(&m, (struct geo_point){10, 10}));
	geo_mpoly_release(&m);
}

static uint64_t rng = 88172645463325252ull;

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

/*
 * Two triangles sharing a sloped diagonal, with the same two vertices: every
 * point on or next to the diagonal, however it rounds, must be in exactly one
 * of them (inside the square), because the side test is exact.
 */
static void test_contains_point_on_shared_sloped_edge_is_in_exactly_one(void)
{
	struct geo_mpoly lower, upper;
	struct geo_point a = {120.3141592653589, 31.2718281828459},
			 b = {120.7777777777777, 31.9123456789012};
	struct geo_point c = {b.lon, a.lat}, d = {a.lon, b.lat};
	geo_mpoly_init(&lower);
	geo_mpoly_init(&upper);
	CHECK_EQ_INT(geo_mpoly_begin_polygon(&lower), SG_OK);
	CHECK_EQ_INT(geo_mpoly_begin_ring(&lower), SG_OK);
	geo_mpoly_add_point(&lower, a.lon, a.lat);
	geo_mpoly_add_point(&lower, c.lon, c.lat);
	geo_mpoly_add_point(&lower, b.lon, b.lat);
	CHECK_EQ_INT(geo_mpoly_finish(&lower), SG_OK);
	CHECK_EQ_INT(geo_mpoly_begin_polygon(&upper), SG_OK);
	CHECK_EQ_INT(geo_mpoly_begin_ring(&upper), SG_OK);
	geo_mpoly_add_point(&upper, b.lon, b.lat); /* opposite direction along the diagonal */
	geo_mpoly_add_point(&upper, d.lon, d.lat);
	geo_mpoly_add_point(&upper, a.lon, a.lat);
	CHECK_EQ_INT(geo_mpoly_finish(&upper), SG_OK);
	int bad = 0;
	for (int i = 0; i < 20000; i++) {
		double t = rng_unit();
		struct geo_point p = {a.lon + t * (b.lon - a.lon), a.lat + t * (b.lat - a.lat)};
		if (i % 4 == 1)
			p.lon = nextafter(p.lon, 0);
		if (i % 4 == 2)
			p.lat = nextafter(p.lat, 100);
		if (p.lat >= b.lat || p.lon >= b.lon)
			continue; /* the square's own north/east edges belong to neither */
		int n = geo_mpoly_contains(&lower, p) + geo_mpoly_contains(&upper, p);
		bad += n != 1;
	}
	CHECK_EQ_INT(bad, 0);
	/* The shared vertex a (south-west corner of the square) belongs to one. */
	CHECK_EQ_INT(geo_mpoly_contains(&lower, a) + geo_mpoly_contains(&upper, a), 1);
	geo_mpoly_release(&lower);
	geo_mpoly_release(&upper);
}

/*
 * Exactness of geo_orient2d_sign: coordinates that are multiples of 2^-40
 * make the determinant an exact integer in __int128, the reference. The
 * points are nearly collinear, where rounded arithmetic gets signs wrong.
 */
static void test_orient2d_sign_is_exact_on_nearly_collinear_points(void)
{
	const double unit = 0x1p-40;
	int wrong = 0, zero = 0, naive_wrong = 0;
	for (int i = 0; i < 100000; i++) {
		/* b = a + 1000 d and c = a + k d: collinear, then nudged by -1..1 units. */
		int64_t ax = (int64_t)(rng_next() >> 24), ay = (int64_t)(rng_next() >> 24);
		int64_t dx = (int64_t)(rng_next() % (1 << 21)) - (1 << 20);
		int64_t dy = (int64_t)(rng_next() % (1 << 21)) - (1 << 20);
		int64_t k = (int64_t)(rng_next() % 1000);
		int64_t bx = ax + 1000 * dx, by = ay + 1000 * dy;
		int64_t cx = ax + k * dx + (int64_t)(rng_next() % 3) - 1;
		int64_t cy = ay + k * dy + (int64_t)(rng_next() % 3) - 1;
		__int128 det = (__int128)(ax - cx) * (by - cy) - (__int128)(ay - cy) * (bx - cx);
		int want = det > 0 ? 1 : det < 0 ? -1 : 0;
		struct geo_point a = {(double)ax * unit + 100.0, (double)ay * unit + 30.0};
		struct geo_point b = {(double)bx * unit + 100.0, (double)by * unit + 30.0};
		struct geo_point c = {(double)cx * unit + 100.0, (double)cy * unit + 30.0};
		/* Exact: |values| < 2^42 units of 2^-40, plus 100, fit a double's 53 bits. */
		wrong += geo_orient2d_sign(a, b, c) != want;
		zero += want == 0;
		double naive =
		    (a.lon - c.lon) * (b.lat - c.lat) - (a.lat - c.lat) * (b.lon - c.lon);
		naive_wrong += (naive > 0 ? 1 : naive < 0 ? -1 : 0) != want;
	}
	CHECK_EQ_INT(wrong, 0);
	CHECK(zero > 0); /* exact collinearity was exercised */

	/*
	 * Kettner et al.'s classroom example ("Classroom examples of robustness
	 * problems in geometric computations"): p on a 256 x 256 grid of
	 * neighbouring doubles near (0.5, 0.5), q = (12, 12), r = (24, 24). The
	 * differences round, plain doubles get many signs wrong; the reference
	 * is exact in units of 2^-53.
	 */
	struct geo_point q = {12, 12}, r = {24, 24};
	for (int i = 0; i < 256; i++) {
		for (int j = 0; j < 256; j++) {
			struct geo_point p = {0.5 + i * 0x1p-53, 0.5 + j * 0x1p-53};
			__int128 px = (int64_t)ldexp(p.lon, 53), py = (int64_t)ldexp(p.lat, 53);
			__int128 qx = (int64_t)ldexp(q.lon, 53), qy = (int64_t)ldexp(q.lat, 53);
			__int128 rx = (int64_t)ldexp(r.lon, 53), ry = (int64_t)ldexp(r.lat, 53);
			__int128 det = (qx - px) * (ry - py) - (qy - py) * (rx - px);
			int want = det > 0 ? 1 : det < 0 ? -1 : 0;
			wrong += geo_orient2d_sign(q, r, p) != want;
			double naive =
			    (q.lon - p.lon) * (r.lat - p.lat) - (q.lat - p.lat) * (r.lon - p.lon);
			naive_wrong += (naive > 0 ? 1 : naive < 0 ? -1 : 0) != want;
		}
	}
	CHECK_EQ_INT(wrong, 0);
	CHECK(naive_wrong > 1000); /* the cases are hard: plain doubles fail many */
	CHECK_EQ_INT(geo_orient2d_sign((struct geo_point){0, 0}, (struct geo_point){1, 0},
				       (struct geo_point){0, 1}),
		     1);
	CHECK_EQ_INT(geo_orient2d_sign((struct geo_point){0, 0}, (struct geo_point){1, 0},
				       (struct geo_point){0, -1}),
		     -1);
	CHECK_EQ_INT(geo_orient2d_sign((struct geo_point){0, 0}, (struct geo_point){1, 1},
				       (struct geo_point){3, 3}),
		     0);
}

/* ---- WKB ---- */

static void test_wkb_round_trip_is_identical(void)
{
	struct geo_mpoly m, back, one;
	struct sg_buf b;
	make_two_with_hole(&m);
	sg_buf_init(&b, 0);
	CHECK_EQ_INT(geo_mpoly_to_wkb(&m, &b), SG_OK);
	/* 9 header + 2 * 9 polygon headers + 3 ring counts * 4 + 15 points * 16 */
	CHECK_EQ_INT(b.len, 9 + 18 + 12 + 240);
	CHECK_EQ_INT((unsigned char)b.data[0], 1);
	CHECK_EQ_INT((unsigned char)b.data[1], 6);
	CHECK_EQ_INT((unsigned char)b.data[5], 2);
	geo_mpoly_init(&back);
	CHECK_EQ_INT(geo_mpoly_from_wkb(b.data, b.len, &back), SG_OK);
	CHECK(same_mpoly(&m, &back));

	/* A single polygon is still written as a MultiPolygon. */
	make_rect(&one, 120.1, 31.2, 120.3, 31.4);
	sg_buf_reset(&b);
	CHECK_EQ_INT(geo_mpoly_to_wkb(&one, &b), SG_OK);
	CHECK_EQ_INT((unsigned char)b.data[1], 6);
	/* Decoding into a non-empty multipolygon replaces it. */
	CHECK_EQ_INT(geo_mpoly_from_wkb(b.data, b.len, &back), SG_OK);
	CHECK(same_mpoly(&one, &back));

	/* The empty multipolygon round-trips too. */
	struct geo_mpoly e;
	geo_mpoly_init(&e);
	sg_buf_reset(&b);
	CHECK_EQ_INT(geo_mpoly_to_wkb(&e, &b), SG_OK);
	CHECK_EQ_INT(b.len, 9);
	CHECK_EQ_INT(geo_mpoly_from_wkb(b.data, b.len, &back), SG_OK);
	CHECK_EQ_INT(back.npolys, 0);

	sg_buf_release(&b);
	geo_mpoly_release(&m);
	geo_mpoly_release(&one);
	geo_mpoly_release(&back);
}

/* A hand-written WKB writer for either byte order, for input the encoder never makes. */
struct wkb_w {
	unsigned char b[1024];
	size_t n;
	bool big;
};

static void w_u8(struct wkb_w *w, unsigned v)
{
	w->b[w->n++] = (unsigned char)v;
}

static void w_u32(struct wkb_w *w, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		w->b[w->n++] = (unsigned char)(v >> (w->big ? 24 - 8 * i : 8 * i));
}

static void w_f64(struct wkb_w *w, double d)
{
	uint64_t v;
	memcpy(&v, &d, 8);
	for (int i = 0; i < 8; i++)
		w->b[w->n++] = (unsigned char)(v >> (w->big ? 56 - 8 * i : 8 * i));
}

/* A Polygon (type 3) triangle ring, in the writer's byte order. */
static void w_triangle_polygon(struct wkb_w *w)
{
	w_u8(w, w->big ? 0 : 1);
	w_u32(w, 3);
	w_u32(w, 1);
	w_u32(w, 4);
	double xy[] = {120, 31, 121, 31, 120.5, 32, 120, 31};
	for (int i = 0; i < 8; i++)
		w_f64(w, xy[i]);
}

static void test_wkb_decodes_polygon_in_both_byte_orders(void)
{
	struct geo_mpoly m;
	geo_mpoly_init(&m);
	for (int big = 0; big < 2; big++) {
		struct wkb_w w = {.big = big};
		w_triangle_polygon(&w);
		CHECK_EQ_INT(geo_mpoly_from_wkb(w.b, w.n, &m), SG_OK);
		CHECK_EQ_INT(m.npolys, 1);
		CHECK_EQ_INT(m.npts, 4);
		CHECK(m.pts[2].lon == 120.5 && m.pts[2].lat == 32);
	}
	/* A big-endian MultiPolygon whose member is little-endian: each carries its own order. */
	struct wkb_w w = {.big = true};
	w_u8(&w, 0);
	w_u32(&w, 6);
	w_u32(&w, 2);
	w_triangle_polygon(&w);
	w.big = false;
	w_triangle_polygon(&w);
	CHECK_EQ_INT(geo_mpoly_from_wkb(w.b, w.n, &m), SG_OK);
	CHECK_EQ_INT(m.npolys, 2);
	CHECK_EQ_INT(m.npts, 8);
	geo_mpoly_release(&m);
}

/* Decodes bytes expecting SG_EINVAL and an emptied output. */
static void check_wkb_refused(const void *p, size_t n)
{
	struct geo_mpoly m;
	make_rect(&m, 0, 0, 1, 1);
	CHECK_EQ_INT(geo_mpoly_from_wkb(p, n, &m), SG_EINVAL);
	CHECK_EQ_INT(m.npolys, 0);
	CHECK_EQ_INT(m.npts, 0);
	geo_mpoly_release(&m);
}

static void test_wkb_refuses_every_truncation(void)
{
	struct geo_mpoly m;
	struct sg_buf b;
	make_two_with_hole(&m);
	sg_buf_init(&b, 0);
	CHECK_EQ_INT(geo_mpoly_to_wkb(&m, &b), SG_OK);
	for (size_t n = 0; n < b.len; n++) {
		/* A fresh heap copy of exactly n bytes, so ASan sees any overread. */
		unsigned char *p = malloc(n ? n : 1);
		memcpy(p, b.data, n);
		check_wkb_refused(p, n);
		free(p);
	}
	check_wkb_refused(NULL, 0);
	sg_buf_release(&b);
	geo_mpoly_release(&m);
}

static void test_wkb_refuses_malformed_input(void)
{
	struct wkb_w w;

	/* Byte order mark neither 0 nor 1. */
	w = (struct wkb_w){0};
	w_triangle_polygon(&w);
	w.b[0] = 2;
	check_wkb_refused(w.b, w.n);

	/* Point, collection, Polygon Z (1003) and EWKB-with-SRID types. */
	uint32_t types[] = {1, 7, 1003, 0x20000003u, 0x80000003u};
	for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
		w = (struct wkb_w){0};
		w_triangle_polygon(&w);
		memcpy(w.b + 1, &(uint32_t){0}, 4);
		for (int k = 0; k < 4; k++)
			w.b[1 + k] = (unsigned char)(types[i] >> (8 * k));
		check_wkb_refused(w.b, w.n);
	}

	/* Ring and point counts far beyond the bytes present. */
	w = (struct wkb_w){0};
	w_u8(&w, 1);
	w_u32(&w, 3);
	w_u32(&w, 0xffffffffu);
	check_wkb_refused(w.b, w.n);
	w = (struct wkb_w){0};
	w_u8(&w, 1);
	w_u32(&w, 3);
	w_u32(&w, 1);
	w_u32(&w, 0x10000000u);
	w_f64(&w, 1);
	w_f64(&w, 2);
	check_wkb_refused(w.b, w.n);
	w = (struct wkb_w){0};
	w_u8(&w, 1);
	w_u32(&w, 6);
	w_u32(&w, 0x7fffffffu);
	check_wkb_refused(w.b, w.n);

	/* Three points: too few for a ring. */
	w = (struct wkb_w){0};
	w_u8(&w, 1);
	w_u32(&w, 3);
	w_u32(&w, 1);
	w_u32(&w, 3);
	double tri[] = {0, 0, 1, 0, 0, 0};
	for (int i = 0; i < 6; i++)
		w_f64(&w, tri[i]);
	check_wkb_refused(w.b, w.n);

	/* A ring that does not close. */
	w = (struct wkb_w){0};
	w_triangle_polygon(&w);
	memset(w.b + w.n - 8, 0, 8); /* last latitude 31 -> 0 */
	check_wkb_refused(w.b, w.n);

	/* NaN coordinate. */
	w = (struct wkb_w){0};
	w_triangle_polygon(&w);
	double nan = NAN;
	memcpy(w.b + 13 + 16, &nan, 8);
	check_wkb_refused(w.b, w.n);

	/* Trailing garbage after a complete geometry. */
	w = (struct wkb_w){0};
	w_triangle_polygon(&w);
	w_u8(&w, 0);
	check_wkb_refused(w.b, w.n);

	/* A MultiPolygon whose member is not a Polygon. */
	w = (struct wkb_w){0};
	w_u8(&w, 1);
	w_u32(&w, 6);
	w_u32(&w, 1);
	w_u8(&w, 1);
	w_u32(&w, 6);
	w_u32(&w, 0);
	check_wkb_refused(w.b, w.n);

	/* Random corruption never crashes and never half-fills the output. */
	struct geo_mpoly m, got;
	struct sg_buf b;
	make_two_with_hole(&m);
	sg_buf_init(&b, 0);
	geo_mpoly_to_wkb(&m, &b);
	geo_mpoly_init(&got);
	for (int i = 0; i < 20000; i++) {
		unsigned char *p = malloc(b.len);
		memcpy(p, b.data, b.len);
		for (int k = 0; k < 3; k++)
			p[rng_next() % b.len] = (unsigned char)rng_next();
		int rc = geo_mpoly_from_wkb(p, b.len, &got);
		CHECK(rc == SG_OK || (rc == SG_EINVAL && got.npolys == 0 && got.npts == 0));
		free(p);
	}
	geo_mpoly_release(&got);
	geo_mpoly_release(&m);
	sg_buf_release(&b);
}

/* ---- GeoJSON ---- */

static void test_geojson_single_polygon_ccw_exterior_cw_hole(void)
{
	struct geo_mpoly m;
	struct sg_buf b;
	geo_mpoly_init(&m);
	CHECK_EQ_INT(geo_mpoly_begin_polygon(&m), SG_OK);
	/* Exterior given clockwise, hole given counter-clockwise: both must flip. */
	CHECK_EQ_INT(add_rect_ring(&m, 0, 0, 4, 4, true), SG_OK);
	CHECK_EQ_INT(add_rect_ring(&m, 1, 1, 2, 2, false), SG_OK);
	CHECK_EQ_INT(geo_mpoly_finish(&m), SG_OK);
	sg_buf_init(&b, 0);
	CHECK_EQ_INT(geo_mpoly_to_geojson(&m, 1, &b), SG_OK);
	CHECK_STR(b.data, "{\"type\":\"Polygon\",\"coordinates\":["
			  "[[0.0,0.0],[4.0,0.0],[4.0,4.0],[0.0,4.0],[0.0,0.0]],"
			  "[[1.0,1.0],[1.0,2.0],[2.0,2.0],[2.0,1.0],[1.0,1.0]]]}");
	sg_buf_release(&b);
	geo_mpoly_release(&m);
}

static void test_geojson_multipolygon_keeps_correct_winding(void)
{
	struct geo_mpoly m;
	struct sg_buf b;
	geo_mpoly_init(&m);
	CHECK_EQ_INT(geo_mpoly_begin_polygon(&m), SG_OK);
	CHECK_EQ_INT(add_rect_ring(&m, 0, 0, 1, 1, false), SG_OK);
	CHECK_EQ_INT(geo_mpoly_begin_polygon(&m), SG_OK);
	CHECK_EQ_INT(add_rect_ring(&m, 2, 0, 3, 1, false), SG_OK);
	CHECK_EQ_INT(geo_mpoly_finish(&m), SG_OK);
	sg_buf_init(&b, 0);
	CHECK_EQ_INT(geo_mpoly_to_geojson(&m, 0, &b), SG_OK);
	CHECK_STR(b.data, "{\"type\":\"MultiPolygon\",\"coordinates\":["
			  "[[[0,0],[1,0],[1,1],[0,1],[0,0]]],"
			  "[[[2,0],[3,0],[3,1],[2,1],[2,0]]]]}");
	sg_buf_release(&b);
	geo_mpoly_release(&m);

	geo_mpoly_init(&m);
	sg_buf_init(&b, 0);
	CHECK_EQ_INT(geo_mpoly_to_geojson(&m, 7, &b), SG_OK);
	CHECK_STR(b.data, "{\"type\":\"MultiPolygon\",\"coordinates\":[]}");
	sg_buf_release(&b);
}

static void test_geojson_fixed_decimals_without_negative_zero_or_exponent(void)
{
	struct geo_mpoly m;
	struct sg_buf b;
	geo_mpoly_init(&m);
	CHECK_EQ_INT(geo_mpoly_begin_polygon(&m), SG_OK);
	CHECK_EQ_INT(geo_mpoly_begin_ring(&m), SG_OK);
	geo_mpoly_add_point(&m, -0.00000001, -0.0);
	geo_mpoly_add_point(&m, 0.0000001, 0);
	geo_mpoly_add_point(&m, 120.62850004, 31.3237);
	CHECK_EQ_INT(geo_mpoly_finish(&m), SG_OK);
	sg_buf_init(&b, 0);
	CHECK_EQ_INT(geo_mpoly_to_geojson(&m, 7, &b), SG_OK);
	CHECK(strstr(b.data, "-0") == NULL);
	const char *coords = strstr(b.data, "\"coordinates\":");
	CHECK(coords && strpbrk(coords + 14, "eE") == NULL);
	CHECK(strstr(b.data, "[0.0000000,0.0000000]") != NULL);
	CHECK(strstr(b.data, "[0.0000001,0.0000000]") != NULL);
	CHECK(strstr(b.data, "[120.6285000,31.3237000]") != NULL);

	/* Out-of-range digits append nothing. */
	sg_buf_reset(&b);
	CHECK_EQ_INT(geo_mpoly_to_geojson(&m, -1, &b), SG_EINVAL);
	CHECK_EQ_INT(geo_mpoly_to_geojson(&m, 16, &b), SG_EINVAL);
	CHECK_EQ_INT(b.len, 0);
	/* Real negative values keep their sign. */
	m.pts[1].lon = -12.5;
	CHECK_EQ_INT(geo_mpoly_to_geojson(&m, 2, &b), SG_OK);
	CHECK(strstr(b.data, "-12.50") != NULL);
	sg_buf_release(&b);
	geo_mpoly_release(&m);
}

int main(void)
{
	TEST_RUN(test_builder_closes_rings_and_records_offsets);
	TEST_RUN(test_builder_keeps_an_already_closed_ring_as_is);
	TEST_RUN(test_builder_refuses_misuse_and_short_rings);
	TEST_RUN(test_copy_is_deep_and_replaces_destination);
	TEST_RUN(test_bbox_spans_all_points_and_empty_is_inverted);
	TEST_RUN(test_area_of_small_square_at_31n_matches_ellipsoid);
	TEST_RUN(test_area_subtracts_holes_and_ignores_winding);
	TEST_RUN(test_area_of_an_octant_is_an_eighth_of_the_ellipsoid);
	TEST_RUN(test_contains_interior_hole_and_second_polygon);
	TEST_RUN(test_contains_boundary_is_half_open_west_and_south_inclusive);
	TEST_RUN(test_contains_point_on_shared_sloped_edge_is_in_exactly_one);
	TEST_RUN(test_orient2d_sign_is_exact_on_nearly_collinear_points);
	TEST_RUN(test_wkb_round_trip_is_identical);
	TEST_RUN(test_wkb_decodes_polygon_in_both_byte_orders);
	TEST_RUN(test_wkb_refuses_every_truncation);
	TEST_RUN(test_wkb_refuses_malformed_input);
	TEST_RUN(test_geojson_single_polygon_ccw_exterior_cw_hole);
	TEST_RUN(test_geojson_multipolygon_keeps_correct_winding);
	TEST_RUN(test_geojson_fixed_decimals_without_negative_zero_or_exponent);
	return test_summary("geo/polygon");
}
