/*
 * test_fusion.c — 双网融合 on squares with known overlaps, then on the demo
 * city (timed; the number of split grids is printed).
 */
#include "geo/fusion.h"

#include <stdlib.h>
#include <time.h>

#include "base/err.h"
#include "demo/city.h"
#include "test.h"

/*
 * A rectangle [x0, x1] × [y0, y1] in units of a lattice anchored in Suzhou.
 * The step (1/128°, about 800 m) and origin are binary fractions, so halves
 * and quarters of a cell are exact and a tie is a true tie.
 */
static void lattice_rect(struct geo_mpoly *m, double x0, double y0, double x1, double y1)
{
	const double ox = 120.5, oy = 31.25, s = 1.0 / 128;

	geo_mpoly_begin_polygon(m);
	geo_mpoly_begin_ring(m);
	geo_mpoly_add_point(m, ox + x0 * s, oy + y0 * s);
	geo_mpoly_add_point(m, ox + x1 * s, oy + y0 * s);
	geo_mpoly_add_point(m, ox + x1 * s, oy + y1 * s);
	geo_mpoly_add_point(m, ox + x0 * s, oy + y1 * s);
	geo_mpoly_add_point(m, ox + x0 * s, oy + y0 * s);
}

static void rect(struct geo_mpoly *m, double x0, double y0, double x1, double y1)
{
	geo_mpoly_init(m);
	lattice_rect(m, x0, y0, x1, y1);
	geo_mpoly_finish(m);
}

/* Two police grids side by side: 11 = [0,1]×[0,1], 12 = [1,2]×[0,1]. */
static struct geo_mpoly pa, pb;
static struct fusion_input police[2];

static void setup_police(void)
{
	rect(&pa, 0, 0, 1, 1);
	rect(&pb, 1, 0, 2, 1);
	police[0] = (struct fusion_input){ 11, &pa };
	police[1] = (struct fusion_input){ 12, &pb };
}

/* Runs fusion for one governance geometry against police[] in the given order. */
static int fuse_one(const struct fusion_input *pol, size_t npol, const struct geo_mpoly *g,
		    struct fusion_row *row)
{
	struct fusion_input gov = { 77, g };
	struct fusion_row *rows = NULL;
	int rc = fusion_compute(pol, npol, &gov, 1, &rows);

	if (rc == SG_OK) {
		*row = rows[0];
		free(rows);
	}
	return rc;
}

static void test_grid_inside_one_police_grid_maps_whole_and_is_not_split(void)
{
	struct geo_mpoly g;
	struct fusion_row r;

	rect(&g, 0.1, 0.1, 0.4, 0.4);
	CHECK_EQ_INT(fuse_one(police, 2, &g, &r), SG_OK);
	CHECK_EQ_INT(r.gov_grid_id, 77);
	CHECK_EQ_INT(r.police_grid_id, 11);
	CHECK_NEAR(r.ratio, 1.0, 1e-12);
	CHECK_EQ_INT(r.second_police_grid_id, 0);
	CHECK_NEAR(r.second_ratio, 0.0, 0);
	CHECK(!r.split);
	geo_mpoly_release(&g);
}

static void test_grid_half_in_each_is_split_and_the_tie_goes_to_the_earlier(void)
{
	struct fusion_input swapped[2] = { police[1], police[0] };
	struct geo_mpoly g;
	struct fusion_row r;

	rect(&g, 0.5, 0.25, 1.5, 0.75);
	CHECK_EQ_INT(fuse_one(police, 2, &g, &r), SG_OK);
	CHECK_NEAR(r.ratio, 0.5, 1e-9);
	CHECK_NEAR(r.second_ratio, 0.5, 1e-9);
	CHECK_EQ_INT(r.police_grid_id, 11);
	CHECK_EQ_INT(r.second_police_grid_id, 12);
	CHECK(r.split);
	CHECK_EQ_INT(fuse_one(swapped, 2, &g, &r), SG_OK);
	CHECK_EQ_INT(r.police_grid_id, 12);
	CHECK_EQ_INT(r.second_police_grid_id, 11);
	geo_mpoly_release(&g);
}

static void test_uneven_overlap_picks_the_larger_share(void)
{
	struct geo_mpoly g;
	struct fusion_row r;

	/* 0.2 of its 1.1 width in 11, 0.9 in 12. */
	rect(&g, 0.8, 0, 1.9, 1);
	CHECK_EQ_INT(fuse_one(police, 2, &g, &r), SG_OK);
	CHECK_EQ_INT(r.police_grid_id, 12);
	CHECK_NEAR(r.ratio, 0.9 / 1.1, 1e-9);
	CHECK_EQ_INT(r.second_police_grid_id, 11);
	CHECK_NEAR(r.second_ratio, 0.2 / 1.1, 1e-9);
	CHECK(r.split);
	geo_mpoly_release(&g);
}

/* A runner-up at or under FUSION_SPLIT_RATIO is reported but does not make the grid split. */
static void test_small_runner_up_is_kept_but_not_split(void)
{
	struct geo_mpoly g;
	struct fusion_row r;

	rect(&g, 0, 0, 1.05, 1);
	CHECK_EQ_INT(fuse_one(police, 2, &g, &r), SG_OK);
	CHECK_EQ_INT(r.police_grid_id, 11);
	CHECK_NEAR(r.ratio, 1.0 / 1.05, 1e-9);
	CHECK_EQ_INT(r.second_police_grid_id, 12);
	CHECK_NEAR(r.second_ratio, 0.05 / 1.05, 1e-9);
	CHECK(!r.split);
	geo_mpoly_release(&g);
}

/* Slivers left by rounding along a shared boundary are not a runner-up. */
static void test_rounding_sliver_is_not_a_runner_up(void)
{
	struct geo_mpoly g;
	struct fusion_row r;

	rect(&g, 0, 0, 1.0 + 1.0 / 1048576, 1); /* pokes 1e-6 of a cell (0.8 mm) into 12 */
	CHECK_EQ_INT(fuse_one(police, 2, &g, &r), SG_OK);
	CHECK_EQ_INT(r.police_grid_id, 11);
	CHECK_EQ_INT(r.second_police_grid_id, 0);
	CHECK_NEAR(r.second_ratio, 0.0, 0);
	geo_mpoly_release(&g);
}

static void test_touching_or_distant_grid_has_no_police_grid(void)
{
	struct geo_mpoly touching, far;
	struct fusion_row r;

	rect(&touching, 1, 1, 2, 2); /* shares an edge with 12, a corner with 11 */
	rect(&far, 5, 5, 6, 6);
	CHECK_EQ_INT(fuse_one(police, 2, &touching, &r), SG_OK);
	CHECK_EQ_INT(r.police_grid_id, 0);
	CHECK_NEAR(r.ratio, 0.0, 0);
	CHECK(!r.split);
	CHECK_EQ_INT(fuse_one(police, 2, &far, &r), SG_OK);
	CHECK_EQ_INT(r.police_grid_id, 0);
	CHECK_EQ_INT(fuse_one(police, 0, &far, &r), SG_OK);
	CHECK_EQ_INT(r.police_grid_id, 0);
	geo_mpoly_release(&touching);
	geo_mpoly_release(&far);
}

/* A two-part governance grid: each part's overlap counts toward its police grid. */
static void test_multipolygon_grid_sums_its_parts(void)
{
	struct geo_mpoly g;
	struct fusion_row r;

	geo_mpoly_init(&g);
	lattice_rect(&g, 0.1, 0.1, 0.3, 0.3); /* 0.04 in 11 */
	lattice_rect(&g, 1.1, 0.1, 1.4, 0.4); /* 0.09 in 12 */
	geo_mpoly_finish(&g);
	CHECK_EQ_INT(fuse_one(police, 2, &g, &r), SG_OK);
	CHECK_EQ_INT(r.police_grid_id, 12);
	CHECK_NEAR(r.ratio, 0.09 / 0.13, 1e-9);
	CHECK_NEAR(r.second_ratio, 0.04 / 0.13, 1e-9);
	geo_mpoly_release(&g);
}

/* Rows come back in the order given, one per governance grid, ids carried over. */
static void test_rows_follow_input_order(void)
{
	struct geo_mpoly g[3];
	struct fusion_input gov[3];
	struct fusion_row *rows = NULL;

	rect(&g[0], 1.2, 0.2, 1.3, 0.3);
	rect(&g[1], 0.2, 0.2, 0.3, 0.3);
	rect(&g[2], 7, 7, 8, 8);
	for (int i = 0; i < 3; i++)
		gov[i] = (struct fusion_input){ 100 + i, &g[i] };
	CHECK_EQ_INT(fusion_compute(police, 2, gov, 3, &rows), SG_OK);
	CHECK(rows != NULL);
	if (rows) {
		CHECK_EQ_INT(rows[0].gov_grid_id, 100);
		CHECK_EQ_INT(rows[0].police_grid_id, 12);
		CHECK_EQ_INT(rows[1].gov_grid_id, 101);
		CHECK_EQ_INT(rows[1].police_grid_id, 11);
		CHECK_EQ_INT(rows[2].gov_grid_id, 102);
		CHECK_EQ_INT(rows[2].police_grid_id, 0);
	}
	free(rows);
	for (int i = 0; i < 3; i++)
		geo_mpoly_release(&g[i]);
}

/*
 * The demo city: its police grids tile the city and every governance grid
 * lies inside it, so every grid finds a police grid and the shares of the
 * best two never exceed the whole.
 */
static void test_demo_city_every_gov_grid_finds_its_police_grid(void)
{
	struct area_set city;
	struct fusion_input *pol = NULL, *gov = NULL;
	struct fusion_row *rows = NULL;
	size_t npol = 0, ngov = 0, split = 0, bad = 0, whole = 0;
	struct timespec t0, t1;
	double secs;

	area_set_init(&city);
	CHECK_EQ_INT(demo_city_build(1, &city, NULL, NULL), SG_OK);
	pol = calloc(city.n, sizeof *pol);
	gov = calloc(city.n, sizeof *gov);
	CHECK(pol && gov);
	if (!pol || !gov)
		goto out;
	for (size_t i = 0; i < city.n; i++) {
		if (city.v[i].kind == AREA_POLICE_GRID)
			pol[npol++] = (struct fusion_input){ (int64_t)i + 1, &city.v[i].geom };
		else if (city.v[i].kind == AREA_GOV_GRID)
			gov[ngov++] = (struct fusion_input){ (int64_t)i + 1, &city.v[i].geom };
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	CHECK_EQ_INT(fusion_compute(pol, npol, gov, ngov, &rows), SG_OK);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	secs = (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
	CHECK(rows != NULL);
	if (!rows)
		goto out;
	for (size_t j = 0; j < ngov; j++) {
		const struct fusion_row *r = &rows[j];
		const struct area *pg;

		bad += r->gov_grid_id != gov[j].id || r->police_grid_id <= 0 || !(r->ratio > 0) ||
		       r->ratio > 1.0 || r->second_ratio > r->ratio ||
		       r->ratio + r->second_ratio > 1.0 + 1e-6 ||
		       r->split != (r->second_ratio > FUSION_SPLIT_RATIO) ||
		       (r->second_police_grid_id == 0) != (r->second_ratio == 0);
		if (r->police_grid_id <= 0)
			continue;
		pg = &city.v[r->police_grid_id - 1];
		bad += pg->kind != AREA_POLICE_GRID;
		split += r->split != 0;
		whole += r->ratio == 1.0;
	}
	CHECK_EQ_INT(bad, 0);
	/* Independent layers: some grids fall whole in one police grid, some are split. */
	CHECK(whole > 0 && split > 0 && split < ngov);
	printf("geo/fusion: demo city, %zu governance grids over %zu police grids in %.2f s: "
	       "%zu split (runner-up > %.0f%%), %zu wholly inside one police grid\n",
	       ngov, npol, secs, split, FUSION_SPLIT_RATIO * 100, whole);
	CHECK(secs < 20.0);
out:
	free(rows);
	free(pol);
	free(gov);
	area_set_release(&city);
}

int main(void)
{
	setup_police();
	TEST_RUN(test_grid_inside_one_police_grid_maps_whole_and_is_not_split);
	TEST_RUN(test_grid_half_in_each_is_split_and_the_tie_goes_to_the_earlier);
	TEST_RUN(test_uneven_overlap_picks_the_larger_share);
	TEST_RUN(test_small_runner_up_is_kept_but_not_split);
	TEST_RUN(test_rounding_sliver_is_not_a_runner_up);
	TEST_RUN(test_touching_or_distant_grid_has_no_police_grid);
	TEST_RUN(test_multipolygon_grid_sums_its_parts);
	TEST_RUN(test_rows_follow_input_order);
	TEST_RUN(test_demo_city_every_gov_grid_finds_its_police_grid);
	geo_mpoly_release(&pa);
	geo_mpoly_release(&pb);
	return test_summary("geo/fusion");
}
