/*
 * test_geojson.c — tests for geo/geojson.c: reading Polygon and MultiPolygon
 * geometry objects, each structural error with its reason, and the caps.
 */
#include <jansson.h>
#include <string.h>

#include "base/err.h"
#include "geo/geojson.h"
#include "test.h"

/* Parses text (which must be valid JSON) and reads it; the reason goes to *why. */
static int read_text(const char *text, struct geo_mpoly *m, const char **why)
{
	json_error_t jerr;
	json_t *g = json_loads(text, 0, &jerr);
	int rc;

	if (!g) {
		fprintf(stderr, "bad test JSON: %s\n", jerr.text);
		return 99;
	}
	rc = geo_geojson_read_polygonal(g, m, why);
	json_decref(g);
	return rc;
}

/* Reads text that must fail; returns the code and checks out is left empty. */
static int read_fails(const char *text, const char **why)
{
	struct geo_mpoly m;
	int rc;

	geo_mpoly_init(&m);
	*why = NULL;
	rc = read_text(text, &m, why);
	CHECK(rc != SG_OK);
	CHECK(*why != NULL);
	CHECK_EQ_INT(m.npolys, 0);
	CHECK_EQ_INT(m.nrings, 0);
	CHECK_EQ_INT(m.npts, 0);
	geo_mpoly_release(&m);
	return rc;
}

#define SQUARE "[[120.0,31.0],[121.0,31.0],[121.0,32.0],[120.0,32.0],[120.0,31.0]]"
#define HOLE "[[120.2,31.2],[120.2,31.4],[120.4,31.4],[120.4,31.2],[120.2,31.2]]"

static void test_polygon_with_hole_reads_exterior_then_hole(void)
{
	struct geo_mpoly m;
	const char *why = NULL;

	geo_mpoly_init(&m);
	CHECK_EQ_INT(read_text("{\"type\":\"Polygon\",\"coordinates\":[" SQUARE "," HOLE "]}", &m,
			       &why),
		     SG_OK);
	CHECK_EQ_INT(m.npolys, 1);
	CHECK_EQ_INT(m.nrings, 2);
	CHECK_EQ_INT(m.poly_off[0], 0);
	CHECK_EQ_INT(m.poly_off[1], 2);
	CHECK_EQ_INT(geo_mpoly_ring_len(&m, 0), 5);
	CHECK_EQ_INT(geo_mpoly_ring_len(&m, 1), 5);
	CHECK_NEAR(m.pts[m.ring_off[0] + 1].lon, 121.0, 0);
	CHECK_NEAR(m.pts[m.ring_off[0] + 2].lat, 32.0, 0);
	CHECK_NEAR(m.pts[m.ring_off[1]].lon, 120.2, 0);
	CHECK_NEAR(m.pts[m.ring_off[1] + 1].lat, 31.4, 0);
	/* Stored closed. */
	CHECK_NEAR(m.pts[m.ring_off[1] + 4].lon, 120.2, 0);
	CHECK_NEAR(m.pts[m.ring_off[1] + 4].lat, 31.2, 0);
	geo_mpoly_release(&m);
}

static void test_multipolygon_reads_each_polygon_with_its_rings(void)
{
	struct geo_mpoly m;
	const char *why = NULL;

	geo_mpoly_init(&m);
	CHECK_EQ_INT(read_text("{\"type\":\"MultiPolygon\",\"coordinates\":[[" SQUARE "," HOLE "],"
			       "[[[122,30],[123,30],[123,31],[122,30]]]]}",
			       &m, &why),
		     SG_OK);
	CHECK_EQ_INT(m.npolys, 2);
	CHECK_EQ_INT(m.nrings, 3);
	CHECK_EQ_INT(m.poly_off[1], 2);
	CHECK_EQ_INT(m.poly_off[2], 3);
	CHECK_EQ_INT(geo_mpoly_ring_len(&m, 2), 4);
	CHECK_NEAR(m.pts[m.ring_off[2] + 1].lon, 123.0, 0);
	CHECK_NEAR(m.pts[m.ring_off[2] + 2].lat, 31.0, 0);
	geo_mpoly_release(&m);
}

static void test_altitude_is_accepted_and_dropped(void)
{
	struct geo_mpoly m;
	const char *why = NULL;

	geo_mpoly_init(&m);
	CHECK_EQ_INT(read_text("{\"type\":\"Polygon\",\"coordinates\":"
			       "[[[120,31,5],[121,31,6.5],[121,32,0],[120,31,5]]]}",
			       &m, &why),
		     SG_OK);
	CHECK_EQ_INT(m.npts, 4);
	CHECK_NEAR(m.pts[1].lon, 121.0, 0);
	CHECK_NEAR(m.pts[1].lat, 31.0, 0);
	geo_mpoly_release(&m);
}

static void test_range_limits_themselves_are_accepted(void)
{
	struct geo_mpoly m;
	const char *why = NULL;

	geo_mpoly_init(&m);
	CHECK_EQ_INT(read_text("{\"type\":\"Polygon\",\"coordinates\":"
			       "[[[-180,-90],[180,-90],[180,90],[-180,-90]]]}",
			       &m, &why),
		     SG_OK);
	CHECK_EQ_INT(m.npts, 4);
	geo_mpoly_release(&m);
}

static void test_empty_multipolygon_reads_as_empty(void)
{
	struct geo_mpoly m;
	const char *why = NULL;

	geo_mpoly_init(&m);
	CHECK_EQ_INT(read_text("{\"type\":\"MultiPolygon\",\"coordinates\":[]}", &m, &why), SG_OK);
	CHECK_EQ_INT(m.npolys, 0);
	geo_mpoly_release(&m);
}

static void test_geometry_that_is_not_an_object_is_refused(void)
{
	const char *why;

	CHECK_EQ_INT(read_fails("[1,2]", &why), SG_EINVAL);
	CHECK_STR(why, "geometry must be an object");
}

static void test_missing_or_non_string_type_is_refused(void)
{
	const char *why;

	CHECK_EQ_INT(read_fails("{\"coordinates\":[" SQUARE "]}", &why), SG_EINVAL);
	CHECK_STR(why, "geometry type must be a string");
	CHECK_EQ_INT(read_fails("{\"type\":7,\"coordinates\":[" SQUARE "]}", &why), SG_EINVAL);
	CHECK_STR(why, "geometry type must be a string");
}

static void test_non_polygonal_type_is_refused(void)
{
	const char *why;

	CHECK_EQ_INT(read_fails("{\"type\":\"Point\",\"coordinates\":[120,31]}", &why), SG_EINVAL);
	CHECK_STR(why, "geometry type must be Polygon or MultiPolygon");
	/* Type names are case-sensitive (RFC 7946 §1.4). */
	CHECK_EQ_INT(read_fails("{\"type\":\"polygon\",\"coordinates\":[" SQUARE "]}", &why),
		     SG_EINVAL);
	CHECK_STR(why, "geometry type must be Polygon or MultiPolygon");
}

static void test_missing_or_non_array_coordinates_are_refused(void)
{
	const char *why;

	CHECK_EQ_INT(read_fails("{\"type\":\"Polygon\"}", &why), SG_EINVAL);
	CHECK_STR(why, "geometry coordinates must be an array");
	CHECK_EQ_INT(read_fails("{\"type\":\"Polygon\",\"coordinates\":{}}", &why), SG_EINVAL);
	CHECK_STR(why, "geometry coordinates must be an array");
}

static void test_polygon_without_rings_is_refused(void)
{
	const char *why;

	CHECK_EQ_INT(read_fails("{\"type\":\"Polygon\",\"coordinates\":[]}", &why), SG_EINVAL);
	CHECK_STR(why, "polygon has no rings");
	CHECK_EQ_INT(read_fails("{\"type\":\"MultiPolygon\",\"coordinates\":[[]]}", &why),
		     SG_EINVAL);
	CHECK_STR(why, "polygon has no rings");
}

static void test_multipolygon_member_that_is_not_an_array_is_refused(void)
{
	const char *why;

	CHECK_EQ_INT(read_fails("{\"type\":\"MultiPolygon\",\"coordinates\":[[" SQUARE "],5]}", &why),
		     SG_EINVAL);
	CHECK_STR(why, "polygon coordinates must be an array of rings");
}

static void test_ring_that_is_not_an_array_is_refused(void)
{
	const char *why;

	CHECK_EQ_INT(read_fails("{\"type\":\"Polygon\",\"coordinates\":[" SQUARE ",\"x\"]}", &why),
		     SG_EINVAL);
	CHECK_STR(why, "ring must be an array of positions");
}

static void test_ring_of_three_positions_is_refused(void)
{
	const char *why;

	CHECK_EQ_INT(read_fails("{\"type\":\"Polygon\",\"coordinates\":[[[120,31],[121,31],[120,31]]]}",
				&why),
		     SG_EINVAL);
	CHECK_STR(why, "ring must have at least 4 positions");
}

static void test_ring_that_is_not_closed_is_refused(void)
{
	const char *why;

	CHECK_EQ_INT(read_fails("{\"type\":\"Polygon\",\"coordinates\":"
				"[[[120,31],[121,31],[121,32],[120,32]]]}",
				&why),
		     SG_EINVAL);
	CHECK_STR(why, "ring is not closed");
	/* The first polygon was good; out must still come back empty. */
	CHECK_EQ_INT(read_fails("{\"type\":\"MultiPolygon\",\"coordinates\":[[" SQUARE "],"
				"[[[120,31],[121,31],[121,32],[120,31.000001]]]]}",
				&why),
		     SG_EINVAL);
	CHECK_STR(why, "ring is not closed");
}

static void test_position_of_wrong_arity_is_refused(void)
{
	const char *why;

	CHECK_EQ_INT(read_fails("{\"type\":\"Polygon\",\"coordinates\":"
				"[[[120,31],[121],[121,32],[120,31]]]}",
				&why),
		     SG_EINVAL);
	CHECK_STR(why, "position must be [lon, lat]");
	CHECK_EQ_INT(read_fails("{\"type\":\"Polygon\",\"coordinates\":"
				"[[[120,31],[121,31,0,0],[121,32],[120,31]]]}",
				&why),
		     SG_EINVAL);
	CHECK_STR(why, "position must be [lon, lat]");
	CHECK_EQ_INT(read_fails("{\"type\":\"Polygon\",\"coordinates\":"
				"[[[120,31],121,[121,32],[120,31]]]}",
				&why),
		     SG_EINVAL);
	CHECK_STR(why, "position must be [lon, lat]");
}

static void test_position_with_non_number_is_refused(void)
{
	const char *why;

	CHECK_EQ_INT(read_fails("{\"type\":\"Polygon\",\"coordinates\":"
				"[[[120,31],[\"121\",31],[121,32],[120,31]]]}",
				&why),
		     SG_EINVAL);
	CHECK_STR(why, "position must be [lon, lat] of numbers");
	CHECK_EQ_INT(read_fails("{\"type\":\"Polygon\",\"coordinates\":"
				"[[[120,31],[121,31,null],[121,32],[120,31]]]}",
				&why),
		     SG_EINVAL);
	CHECK_STR(why, "position must be [lon, lat] of numbers");
}

static void test_coordinates_out_of_range_are_refused(void)
{
	const char *why;

	CHECK_EQ_INT(read_fails("{\"type\":\"Polygon\",\"coordinates\":"
				"[[[120,31],[180.0000001,31],[121,32],[120,31]]]}",
				&why),
		     SG_EINVAL);
	CHECK_STR(why, "longitude out of range [-180, 180]");
	/* Swapped axes ([lat, lon]) are the usual cause. */
	CHECK_EQ_INT(read_fails("{\"type\":\"Polygon\",\"coordinates\":"
				"[[[31,120],[31,121],[32,121],[31,120]]]}",
				&why),
		     SG_EINVAL);
	CHECK_STR(why, "latitude out of range [-90, 90]");
}

/* A geometry object whose rings are all the same json_t, shared by reference. */
static json_t *shared_polygon(size_t nrings, size_t ring_len)
{
	json_t *pos = json_pack("[f,f]", 120.0, 31.0);
	json_t *ring = json_array(), *rings = json_array();

	for (size_t i = 0; i < ring_len; i++)
		json_array_append(ring, pos);
	for (size_t r = 0; r < nrings; r++)
		json_array_append(rings, ring);
	json_decref(pos);
	json_decref(ring);
	return json_pack("{s:s,s:o}", "type", "Polygon", "coordinates", rings);
}

static void test_more_than_10000_rings_is_too_big(void)
{
	struct geo_mpoly m;
	const char *why = NULL;
	json_t *g;

	geo_mpoly_init(&m);
	g = shared_polygon(10001, 4);
	CHECK_EQ_INT(geo_geojson_read_polygonal(g, &m, &why), SG_ETOOBIG);
	CHECK_STR(why, "geometry has more than 10000 rings");
	CHECK_EQ_INT(m.npolys, 0);
	json_decref(g);

	/* 10000 rings is within the cap (the rings are degenerate: GEOS's problem, not ours). */
	g = shared_polygon(10000, 4);
	CHECK_EQ_INT(geo_geojson_read_polygonal(g, &m, &why), SG_OK);
	CHECK_EQ_INT(m.nrings, 10000);
	json_decref(g);
	geo_mpoly_release(&m);
}

static void test_more_than_a_million_points_is_too_big(void)
{
	struct geo_mpoly m;
	const char *why = NULL;
	json_t *g;

	geo_mpoly_init(&m);
	g = shared_polygon(1, 1000001);
	CHECK_EQ_INT(geo_geojson_read_polygonal(g, &m, &why), SG_ETOOBIG);
	CHECK_STR(why, "geometry has more than 1000000 points");
	CHECK_EQ_INT(m.npts, 0);
	json_decref(g);

	g = shared_polygon(1, 1000000);
	CHECK_EQ_INT(geo_geojson_read_polygonal(g, &m, &why), SG_OK);
	CHECK_EQ_INT(m.npts, 1000000);
	json_decref(g);
	geo_mpoly_release(&m);
}

int main(void)
{
	TEST_RUN(test_polygon_with_hole_reads_exterior_then_hole);
	TEST_RUN(test_multipolygon_reads_each_polygon_with_its_rings);
	TEST_RUN(test_altitude_is_accepted_and_dropped);
	TEST_RUN(test_range_limits_themselves_are_accepted);
	TEST_RUN(test_empty_multipolygon_reads_as_empty);
	TEST_RUN(test_geometry_that_is_not_an_object_is_refused);
	TEST_RUN(test_missing_or_non_string_type_is_refused);
	TEST_RUN(test_non_polygonal_type_is_refused);
	TEST_RUN(test_missing_or_non_array_coordinates_are_refused);
	TEST_RUN(test_polygon_without_rings_is_refused);
	TEST_RUN(test_multipolygon_member_that_is_not_an_array_is_refused);
	TEST_RUN(test_ring_that_is_not_an_array_is_refused);
	TEST_RUN(test_ring_of_three_positions_is_refused);
	TEST_RUN(test_ring_that_is_not_closed_is_refused);
	TEST_RUN(test_position_of_wrong_arity_is_refused);
	TEST_RUN(test_position_with_non_number_is_refused);
	TEST_RUN(test_coordinates_out_of_range_are_refused);
	TEST_RUN(test_more_than_10000_rings_is_too_big);
	TEST_RUN(test_more_than_a_million_points_is_too_big);
	return test_summary("geo/geojson");
}
