/*
 * test_simplify.c — Douglas–Peucker for display: points within the
 * tolerance go, corners stay, small rings and holes survive whole, and bad
 * tolerances are refused.
 */
#include "geo/simplify.h"

#include <math.h>

#include "base/err.h"
#include "test.h"

#define DEG_PER_M (1.0 / 110574.0)

/*
 * A square of side 0.01° near Suzhou whose edges carry a point every
 * 0.0001°, each pushed off the line by wiggle metres (alternating sides).
 */
static void make_noisy_square(struct geo_mpoly *m, double wiggle_m, bool with_hole)
{
	const double x0 = 120.60, y0 = 31.30, side = 0.01;
	const int steps = 100;

	geo_mpoly_init(m);
	CHECK_EQ_INT(geo_mpoly_begin_polygon(m), SG_OK);
	CHECK_EQ_INT(geo_mpoly_begin_ring(m), SG_OK);
	for (int e = 0; e < 4; e++) {
		for (int i = 0; i < steps; i++) {
			double t = side * i / steps;
			double off = (i % 2 ? 1 : -1) * wiggle_m * DEG_PER_M * (i ? 1 : 0);
			double x = e == 0 ? x0 + t : e == 1 ? x0 + side : e == 2 ? x0 + side - t : x0;
			double y = e == 0 ? y0 : e == 1 ? y0 + t : e == 2 ? y0 + side : y0 + side - t;
			if (e % 2 == 0)
				y += off;
			else
				x += off;
			CHECK_EQ_INT(geo_mpoly_add_point(m, x, y), SG_OK);
		}
	}
	if (with_hole) {
		CHECK_EQ_INT(geo_mpoly_begin_ring(m), SG_OK);
		CHECK_EQ_INT(geo_mpoly_add_point(m, x0 + 0.004, y0 + 0.004), SG_OK);
		CHECK_EQ_INT(geo_mpoly_add_point(m, x0 + 0.004, y0 + 0.005), SG_OK);
		CHECK_EQ_INT(geo_mpoly_add_point(m, x0 + 0.005, y0 + 0.005), SG_OK);
		CHECK_EQ_INT(geo_mpoly_add_point(m, x0 + 0.005, y0 + 0.004), SG_OK);
	}
	CHECK_EQ_INT(geo_mpoly_finish(m), SG_OK);
}

static void test_points_within_tolerance_go_and_corners_stay(void)
{
	struct geo_mpoly src, dst;

	make_noisy_square(&src, 0.5, false);
	geo_mpoly_init(&dst);
	CHECK_EQ_INT(src.npts, 401);
	CHECK_EQ_INT(geo_mpoly_simplify(&src, 2.0, &dst), SG_OK);
	CHECK_EQ_INT(dst.npolys, 1);
	CHECK_EQ_INT(dst.nrings, 1);
	CHECK_EQ_INT(dst.npts, 5); /* four corners and the closing point */
	CHECK_NEAR(geo_mpoly_area_m2(&dst), geo_mpoly_area_m2(&src), geo_mpoly_area_m2(&src) * 0.01);
	/* A tolerance below the wiggle keeps (almost) every point. */
	CHECK_EQ_INT(geo_mpoly_simplify(&src, 0.1, &dst), SG_OK);
	CHECK(dst.npts > 390);
	geo_mpoly_release(&src);
	geo_mpoly_release(&dst);
}

static void test_zero_tolerance_copies(void)
{
	struct geo_mpoly src, dst;

	make_noisy_square(&src, 0.5, true);
	geo_mpoly_init(&dst);
	CHECK_EQ_INT(geo_mpoly_simplify(&src, 0, &dst), SG_OK);
	CHECK_EQ_INT(dst.npts, src.npts);
	CHECK_EQ_INT(dst.nrings, 2);
	geo_mpoly_release(&src);
	geo_mpoly_release(&dst);
}

static void test_a_ring_smaller_than_the_tolerance_is_kept_whole(void)
{
	struct geo_mpoly src, dst;

	make_noisy_square(&src, 0.5, true);
	geo_mpoly_init(&dst);
	/* 2 km: the square would collapse; both rings must stay drawable. */
	CHECK_EQ_INT(geo_mpoly_simplify(&src, 2000, &dst), SG_OK);
	CHECK_EQ_INT(dst.nrings, 2);
	for (uint32_t r = 0; r < dst.nrings; r++)
		CHECK(geo_mpoly_ring_len(&dst, r) >= 4);
	CHECK_EQ_INT(geo_mpoly_ring_len(&dst, 1), 5);
	geo_mpoly_release(&src);
	geo_mpoly_release(&dst);
}

static void test_bad_tolerance_is_refused(void)
{
	struct geo_mpoly src, dst;

	make_noisy_square(&src, 0, false);
	geo_mpoly_init(&dst);
	CHECK_EQ_INT(geo_mpoly_simplify(&src, -1, &dst), SG_EINVAL);
	CHECK_EQ_INT(geo_mpoly_simplify(&src, NAN, &dst), SG_EINVAL);
	CHECK_EQ_INT(geo_mpoly_simplify(&src, INFINITY, &dst), SG_EINVAL);
	CHECK_EQ_INT(dst.npts, 0);
	geo_mpoly_release(&src);
	geo_mpoly_release(&dst);
}

int main(void)
{
	TEST_RUN(test_points_within_tolerance_go_and_corners_stay);
	TEST_RUN(test_zero_tolerance_copies);
	TEST_RUN(test_a_ring_smaller_than_the_tolerance_is_kept_whole);
	TEST_RUN(test_bad_tolerance_is_refused);
	return test_summary("geo/simplify");
}
