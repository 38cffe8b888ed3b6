/*
 * test_geos_bridge.c — GEOS contexts keep their own last error; multipolygons
 * go to GEOS and back unchanged; only polygonal parts come back.
 */
#include "geo/geos_bridge.h"

#include <stdlib.h>

#include "base/err.h"
#include "test.h"

/* Adds an axis-aligned square ring (closed, counter-clockwise) to the open polygon of m. */
static void add_square_ring(struct geo_mpoly *m, double x0, double y0, double x1, double y1)
{
	CHECK_EQ_INT(geo_mpoly_begin_ring(m), SG_OK);
	geo_mpoly_add_point(m, x0, y0);
	geo_mpoly_add_point(m, x1, y0);
	geo_mpoly_add_point(m, x1, y1);
	geo_mpoly_add_point(m, x0, y1);
	geo_mpoly_add_point(m, x0, y0);
}

/* Two polygons near Suzhou: a square with a square hole, and a lone square. */
static void make_two_polygons(struct geo_mpoly *m)
{
	geo_mpoly_init(m);
	geo_mpoly_begin_polygon(m);
	add_square_ring(m, 120.0, 31.0, 120.4, 31.4);
	add_square_ring(m, 120.1, 31.1, 120.2, 31.2);
	geo_mpoly_begin_polygon(m);
	add_square_ring(m, 121.0, 31.0, 121.1, 31.1);
	CHECK_EQ_INT(geo_mpoly_finish(m), SG_OK);
}

static GEOSGeometry *from_wkt(GEOSContextHandle_t ctx, const char *wkt)
{
	GEOSWKTReader *r = GEOSWKTReader_create_r(ctx);
	GEOSGeometry *g = GEOSWKTReader_read_r(ctx, r, wkt);

	GEOSWKTReader_destroy_r(ctx, r);
	return g;
}

static int same_mpoly(const struct geo_mpoly *a, const struct geo_mpoly *b)
{
	return a->npts == b->npts && a->nrings == b->nrings && a->npolys == b->npolys &&
	       memcmp(a->pts, b->pts, a->npts * sizeof *a->pts) == 0 &&
	       memcmp(a->ring_off, b->ring_off, (a->nrings + 1) * sizeof *a->ring_off) == 0 &&
	       memcmp(a->poly_off, b->poly_off, (a->npolys + 1) * sizeof *a->poly_off) == 0;
}

static void test_last_error_is_kept_per_context(void)
{
	GEOSContextHandle_t a = geo_geos_context_new(), b = geo_geos_context_new();
	GEOSGeometry *bad;

	CHECK(a != NULL && b != NULL);
	CHECK_STR(geo_geos_last_error(a), "");
	/* A LinearRing that is not closed is refused: GEOS reports through the handler. */
	bad = from_wkt(a, "LINEARRING (0 0, 1 0, 1 1, 0 1)");
	CHECK(bad == NULL);
	CHECK(strlen(geo_geos_last_error(a)) > 0);
	CHECK(strstr(geo_geos_last_error(a), "LinearRing") != NULL);
	CHECK_STR(geo_geos_last_error(b), "");

	bad = from_wkt(b, "POLYGON ((0 0, 1 0");
	CHECK(bad == NULL);
	CHECK(strstr(geo_geos_last_error(b), "ParseException") != NULL);
	CHECK(strstr(geo_geos_last_error(a), "LinearRing") != NULL);
	geo_geos_context_free(a);
	geo_geos_context_free(b);
	geo_geos_context_free(NULL);
}

/* A context finished with plain GEOS_finish_r leaves nothing that confuses the next one. */
static void test_contexts_finished_with_geos_finish_do_not_leak_errors(void)
{
	for (int i = 0; i < 50; i++) {
		GEOSContextHandle_t ctx = geo_geos_context_new();
		CHECK(ctx != NULL);
		if (!ctx)
			return;
		CHECK_STR(geo_geos_last_error(ctx), "");
		CHECK(from_wkt(ctx, "POINT (1") == NULL);
		CHECK(strlen(geo_geos_last_error(ctx)) > 0);
		if (i % 2)
			GEOS_finish_r(ctx);
		else
			geo_geos_context_free(ctx);
	}
}

static void test_round_trip_keeps_every_coordinate(void)
{
	GEOSContextHandle_t ctx = geo_geos_context_new();
	struct geo_mpoly m, back;
	GEOSGeometry *g;
	double area = 0;

	make_two_polygons(&m);
	geo_mpoly_init(&back);
	g = geo_mpoly_to_geos(ctx, &m);
	CHECK(g != NULL);
	CHECK_EQ_INT(GEOSGeomTypeId_r(ctx, g), GEOS_MULTIPOLYGON);
	CHECK_EQ_INT(GEOSGetNumGeometries_r(ctx, g), 2);
	CHECK_EQ_INT(GEOSGetNumInteriorRings_r(ctx, GEOSGetGeometryN_r(ctx, g, 0)), 1);
	CHECK_EQ_INT(GEOSisValid_r(ctx, g), 1);
	CHECK(GEOSArea_r(ctx, g, &area));
	CHECK_NEAR(area, 0.16 - 0.01 + 0.01, 1e-12);
	CHECK_EQ_INT(geo_mpoly_from_geos(ctx, g, &back), SG_OK);
	CHECK(same_mpoly(&m, &back));
	GEOSGeom_destroy_r(ctx, g);
	geo_mpoly_release(&m);
	geo_mpoly_release(&back);
	geo_geos_context_free(ctx);
}

static void test_one_polygon_becomes_a_geos_polygon(void)
{
	GEOSContextHandle_t ctx = geo_geos_context_new();
	struct geo_mpoly m;
	GEOSGeometry *g;

	geo_mpoly_init(&m);
	geo_mpoly_begin_polygon(&m);
	add_square_ring(&m, 0, 0, 1, 1);
	geo_mpoly_finish(&m);
	g = geo_mpoly_to_geos(ctx, &m);
	CHECK(g != NULL && GEOSGeomTypeId_r(ctx, g) == GEOS_POLYGON);
	if (g)
		GEOSGeom_destroy_r(ctx, g);
	geo_mpoly_release(&m);
	geo_geos_context_free(ctx);
}

static void test_empty_goes_both_ways(void)
{
	GEOSContextHandle_t ctx = geo_geos_context_new();
	struct geo_mpoly m, back;
	GEOSGeometry *g, *e;

	geo_mpoly_init(&m);
	geo_mpoly_init(&back);
	g = geo_mpoly_to_geos(ctx, &m);
	CHECK(g != NULL && GEOSisEmpty_r(ctx, g) == 1 && GEOSGeomTypeId_r(ctx, g) == GEOS_MULTIPOLYGON);
	e = from_wkt(ctx, "GEOMETRYCOLLECTION EMPTY");
	CHECK_EQ_INT(geo_mpoly_from_geos(ctx, e, &back), SG_OK);
	CHECK_EQ_INT(back.npolys, 0);
	CHECK_EQ_INT(geo_mpoly_from_geos(ctx, g, &back), SG_OK);
	CHECK_EQ_INT(back.npolys, 0);
	GEOSGeom_destroy_r(ctx, g);
	GEOSGeom_destroy_r(ctx, e);
	geo_geos_context_free(ctx);
}

/* What an intersection returns: polygons mixed with lines and points, collections nested. */
static void test_only_polygonal_parts_come_back(void)
{
	GEOSContextHandle_t ctx = geo_geos_context_new();
	struct geo_mpoly back;
	GEOSGeometry *g = from_wkt(
		ctx, "GEOMETRYCOLLECTION (POINT (5 5), LINESTRING (0 0, 9 9), "
		     "POLYGON ((0 0, 2 0, 2 2, 0 2, 0 0), (0.5 0.5, 1 0.5, 1 1, 0.5 0.5)), "
		     "GEOMETRYCOLLECTION (MULTIPOLYGON (((3 0, 4 0, 4 1, 3 0))), POLYGON EMPTY))");

	geo_mpoly_init(&back);
	CHECK(g != NULL);
	CHECK_EQ_INT(geo_mpoly_from_geos(ctx, g, &back), SG_OK);
	CHECK_EQ_INT(back.npolys, 2);
	CHECK_EQ_INT(back.nrings, 3);
	CHECK_EQ_INT(back.npts, 5 + 4 + 4);
	CHECK_NEAR(back.pts[back.ring_off[2]].lon, 3.0, 0);
	GEOSGeom_destroy_r(ctx, g);
	geo_mpoly_release(&back);
	geo_geos_context_free(ctx);
}

static void test_non_polygonal_input_is_refused_and_out_untouched(void)
{
	GEOSContextHandle_t ctx = geo_geos_context_new();
	struct geo_mpoly m, before;
	GEOSGeometry *line = from_wkt(ctx, "MULTILINESTRING ((0 0, 1 1), (2 2, 3 3))");

	make_two_polygons(&m);
	geo_mpoly_init(&before);
	geo_mpoly_copy(&before, &m);
	CHECK_EQ_INT(geo_mpoly_from_geos(ctx, line, &m), SG_EINVAL);
	CHECK(same_mpoly(&m, &before));
	GEOSGeom_destroy_r(ctx, line);
	geo_mpoly_release(&m);
	geo_mpoly_release(&before);
	geo_geos_context_free(ctx);
}

static void test_from_geos_appends_to_what_out_holds(void)
{
	GEOSContextHandle_t ctx = geo_geos_context_new();
	struct geo_mpoly m;
	GEOSGeometry *sq = from_wkt(ctx, "POLYGON ((5 5, 6 5, 6 6, 5 6, 5 5))");

	make_two_polygons(&m);
	CHECK_EQ_INT(geo_mpoly_from_geos(ctx, sq, &m), SG_OK);
	CHECK_EQ_INT(m.npolys, 3);
	CHECK_EQ_INT(m.nrings, 4);
	CHECK_NEAR(m.pts[m.ring_off[3]].lon, 5.0, 0);
	CHECK_NEAR(m.pts[0].lon, 120.0, 0);
	GEOSGeom_destroy_r(ctx, sq);
	geo_mpoly_release(&m);
	geo_geos_context_free(ctx);
}

/* The reason the bridge exists: GEOS overlays on our polygons, read back. */
static void test_intersection_result_reads_back(void)
{
	GEOSContextHandle_t ctx = geo_geos_context_new();
	struct geo_mpoly a, b, out;
	GEOSGeometry *ga, *gb, *x;

	make_two_polygons(&a);
	geo_mpoly_init(&b);
	geo_mpoly_begin_polygon(&b);
	add_square_ring(&b, 120.3, 31.3, 121.05, 31.35);
	geo_mpoly_finish(&b);
	geo_mpoly_init(&out);
	ga = geo_mpoly_to_geos(ctx, &a);
	gb = geo_mpoly_to_geos(ctx, &b);
	x = GEOSIntersection_r(ctx, ga, gb);
	CHECK(x != NULL);
	CHECK_EQ_INT(geo_mpoly_from_geos(ctx, x, &out), SG_OK);
	CHECK_EQ_INT(out.npolys, 1); /* the lone square lies south of b */
	CHECK(geo_mpoly_contains(&out, (struct geo_point){ 120.35, 31.32 }));
	CHECK(!geo_mpoly_contains(&out, (struct geo_point){ 120.25, 31.32 }));
	GEOSGeom_destroy_r(ctx, ga);
	GEOSGeom_destroy_r(ctx, gb);
	GEOSGeom_destroy_r(ctx, x);
	geo_mpoly_release(&a);
	geo_mpoly_release(&b);
	geo_mpoly_release(&out);
	geo_geos_context_free(ctx);
}

int main(void)
{
	TEST_RUN(test_last_error_is_kept_per_context);
	TEST_RUN(test_contexts_finished_with_geos_finish_do_not_leak_errors);
	TEST_RUN(test_round_trip_keeps_every_coordinate);
	TEST_RUN(test_one_polygon_becomes_a_geos_polygon);
	TEST_RUN(test_empty_goes_both_ways);
	TEST_RUN(test_only_polygonal_parts_come_back);
	TEST_RUN(test_non_polygonal_input_is_refused_and_out_untouched);
	TEST_RUN(test_from_geos_appends_to_what_out_holds);
	TEST_RUN(test_intersection_result_reads_back);
	return test_summary("geo/geos_bridge");
}
