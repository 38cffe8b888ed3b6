/*
 * test_coord.c — GCJ-02 / BD-09 conversions against gcoord's values, round
 * trips over Suzhou, the out-of-China identity, CRS names and distance.
 */
#include "geo/coord.h"

#include <stdint.h>

#include "base/err.h"
#include "test.h"

/*
 * Reference values produced by gcoord 1.0.7 (npm), transform() with the
 * CRS pairs named in the columns. Each input is used four ways: as WGS-84
 * (-> GCJ-02), and as GCJ-02 (-> WGS-84, -> BD-09) and as BD-09 (-> GCJ-02).
 */
struct ref_row {
	struct geo_point in, wgs_to_gcj, gcj_to_wgs, gcj_to_bd, bd_to_gcj;
};

/* One row per point: clang-format would put one number per line. */
/* clang-format off */
static const struct ref_row ref_rows[] = {
	{ {120.6285, 31.3237}, {120.632687651441, 31.321540827960}, {120.624316784477, 31.325863114657}, {120.634996353949, 31.329729360961}, {120.622040539709, 31.317553419627} },
	{ {120.5853, 31.299}, {120.589477430904, 31.296815341935}, {120.581118081693, 31.301181107419}, {120.591715321250, 31.305255309293}, {120.578860862164, 31.292844121395} },
	{ {120.9536, 31.3866}, {120.957841127140, 31.384505762544}, {120.949369749527, 31.388702609609}, {120.960004519656, 31.392940975377}, {120.947174078873, 31.380316985300} },
	{ {120.6386, 31.1609}, {120.642788150235, 31.158681553726}, {120.634417800680, 31.163123289141}, {120.645123478890, 31.166738038274}, {120.632103364674, 31.154943230246} },
	{ {120.2608, 31.2938}, {120.265355496758, 31.291792226363}, {120.256242700254, 31.295808510658}, {120.267237531439, 31.299962211770}, {120.254387986014, 31.287540728153} },
	{ {121.1036, 31.4589}, {121.108236779623, 31.457137306603}, {121.098963220377, 31.460662693397}, {121.110085141763, 31.465023683645}, {121.097146893600, 31.452669711134} },
	{ {120.7525, 31.6532}, {120.756895649714, 31.651263768975}, {120.748104350286, 31.655136231025}, {120.758993319267, 31.659147715614}, {120.746038878436, 31.647129702744} },
	{ {120.565, 31.875}, {120.569254716803, 31.872871247548}, {120.560736118945, 31.877122663266}, {120.571511077155, 31.880902771741}, {120.558454625705, 31.869207175721} },
	{ {119.95, 30.75}, {119.954612080212, 30.747556498931}, {119.945394155016, 30.752451361758}, {119.956599263978, 30.755693327140}, {119.943390886447, 30.744349082086} },
	{ {121.39, 32.05}, {121.394720270110, 32.048187886638}, {121.385282985723, 32.051815436994}, {121.396592936618, 32.055687172169}, {121.383401456717, 32.044356991245} },
};
/* clang-format on */

#define NREF (sizeof(ref_rows) / sizeof(ref_rows[0]))

/* Tolerances in metres read better than in degrees (1 cm is about 9e-8 degrees here). */
static double dist_m(struct geo_point a, struct geo_point b)
{
	return geo_distance_m(a, b);
}

static void test_wgs_to_gcj_matches_gcoord(void)
{
	for (size_t i = 0; i < NREF; i++) {
		struct geo_point g = geo_wgs84_to_gcj02(ref_rows[i].in);
		/* The same closed formula: equal to the 12 printed decimals. */
		CHECK_NEAR(g.lon, ref_rows[i].wgs_to_gcj.lon, 1e-11);
		CHECK_NEAR(g.lat, ref_rows[i].wgs_to_gcj.lat, 1e-11);
	}
}

static void test_gcj_to_bd_matches_gcoord(void)
{
	for (size_t i = 0; i < NREF; i++) {
		struct geo_point b = geo_gcj02_to_bd09(ref_rows[i].in);
		CHECK_NEAR(b.lon, ref_rows[i].gcj_to_bd.lon, 1e-11);
		CHECK_NEAR(b.lat, ref_rows[i].gcj_to_bd.lat, 1e-11);
	}
}

/*
 * gcoord stops its GCJ-02 inverse at 1e-6 degrees and uses the one-step BD-09
 * inverse; ours iterate further, so they agree with gcoord to its own
 * precision (well under a metre) and are closer to the true inverse.
 */
static void test_inverses_agree_with_gcoord_to_its_precision(void)
{
	for (size_t i = 0; i < NREF; i++) {
		struct geo_point w = geo_gcj02_to_wgs84(ref_rows[i].in);
		CHECK(dist_m(w, ref_rows[i].gcj_to_wgs) < 0.25);
		struct geo_point g = geo_bd09_to_gcj02(ref_rows[i].in);
		CHECK(dist_m(g, ref_rows[i].bd_to_gcj) < 0.25);
		/* And ours really is the better inverse: forward reproduces the input. */
		CHECK(dist_m(geo_wgs84_to_gcj02(w), ref_rows[i].in) <=
		      dist_m(geo_wgs84_to_gcj02(ref_rows[i].gcj_to_wgs), ref_rows[i].in) + 1e-6);
		CHECK(dist_m(geo_gcj02_to_bd09(g), ref_rows[i].in) < 0.001);
	}
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static double rng_unit(void)
{
	/* xorshift64*: deterministic, good enough to spread points. */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return (double)((rng_state * 0x2545f4914f6cdd1dull) >> 11) / 9007199254740992.0;
}

static void test_wgs_gcj_round_trip_under_1cm_over_suzhou(void)
{
	double worst = 0.0, worst_bd = 0.0;
	for (int i = 0; i < 10000; i++) {
		struct geo_point p = {119.9 + 1.5 * rng_unit(), 30.7 + 1.4 * rng_unit()};
		struct geo_point back = geo_gcj02_to_wgs84(geo_wgs84_to_gcj02(p));
		double d = dist_m(p, back);
		if (d > worst)
			worst = d;
		struct geo_point g = geo_wgs84_to_gcj02(p);
		struct geo_point bd_back = geo_bd09_to_gcj02(geo_gcj02_to_bd09(g));
		d = dist_m(g, bd_back);
		if (d > worst_bd)
			worst_bd = d;
	}
	CHECK(worst < 0.01);
	CHECK(worst_bd < 0.01);
}

static void test_bd_round_trip_both_ways_under_1cm(void)
{
	for (size_t i = 0; i < NREF; i++) {
		struct geo_point p = ref_rows[i].in;
		CHECK(dist_m(geo_gcj02_to_bd09(geo_bd09_to_gcj02(p)), p) < 0.01);
		CHECK(dist_m(geo_bd09_to_gcj02(geo_gcj02_to_bd09(p)), p) < 0.01);
		struct geo_point w = geo_crs_convert(
		    GEO_CRS_BD09, GEO_CRS_WGS84, geo_crs_convert(GEO_CRS_WGS84, GEO_CRS_BD09, p));
		CHECK(dist_m(w, p) < 0.01);
	}
}

static void test_crs_convert_composes_the_pairwise_transforms(void)
{
	struct geo_point p = ref_rows[0].in;
	struct geo_point a = geo_crs_convert(GEO_CRS_WGS84, GEO_CRS_BD09, p);
	struct geo_point b = geo_gcj02_to_bd09(geo_wgs84_to_gcj02(p));
	CHECK(a.lon == b.lon && a.lat == b.lat);
	struct geo_point c = geo_crs_convert(GEO_CRS_GCJ02, GEO_CRS_GCJ02, p);
	CHECK(c.lon == p.lon && c.lat == p.lat);
	struct geo_point d = geo_crs_convert(GEO_CRS_GCJ02, GEO_CRS_WGS84, p);
	CHECK_NEAR(d.lon, ref_rows[0].gcj_to_wgs.lon, 2e-6);
	CHECK_NEAR(d.lat, ref_rows[0].gcj_to_wgs.lat, 2e-6);
}

static void test_out_of_china_points_are_not_shifted(void)
{
	static const struct geo_point outside[] = {
	    {139.6917, 35.6895}, /* Tokyo */
	    {2.3522, 48.8566},	 /* Paris */
	    {120.0, 0.5},	 /* south of the rectangle */
	    {137.9, 40.0},	 /* east of it */
	    {72.0, 30.0},	 /* west of it */
	    {100.0, 56.0},	 /* north of it */
	};
	for (size_t i = 0; i < sizeof(outside) / sizeof(outside[0]); i++) {
		struct geo_point p = outside[i];
		CHECK(geo_out_of_china(p));
		struct geo_point g = geo_wgs84_to_gcj02(p);
		CHECK(g.lon == p.lon && g.lat == p.lat);
		struct geo_point w = geo_gcj02_to_wgs84(p);
		CHECK(w.lon == p.lon && w.lat == p.lat);
	}
	CHECK(!geo_out_of_china(ref_rows[0].in));
	/* The rectangle's edges count as inside, as the providers test it. */
	CHECK(!geo_out_of_china((struct geo_point){72.004, 0.8293}));
	CHECK(!geo_out_of_china((struct geo_point){137.8347, 55.8271}));
}

static void test_crs_parse_accepts_names_in_any_case_and_refuses_others(void)
{
	enum geo_crs c = GEO_CRS_BD09;
	CHECK_EQ_INT(geo_crs_parse("wgs84", &c), SG_OK);
	CHECK_EQ_INT(c, GEO_CRS_WGS84);
	CHECK_EQ_INT(geo_crs_parse("GCJ02", &c), SG_OK);
	CHECK_EQ_INT(c, GEO_CRS_GCJ02);
	CHECK_EQ_INT(geo_crs_parse("Bd09", &c), SG_OK);
	CHECK_EQ_INT(c, GEO_CRS_BD09);

	static const char *const bad[] = {"",	       "wgs",	 "wgs84 ", "gcj-02",
					  "epsg:4326", "bd09mc", "bd0"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		c = GEO_CRS_GCJ02;
		CHECK_EQ_INT(geo_crs_parse(bad[i], &c), SG_EINVAL);
		CHECK_EQ_INT(c, GEO_CRS_GCJ02); /* untouched on failure */
	}
	CHECK_EQ_INT(geo_crs_parse(NULL, &c), SG_EINVAL);

	CHECK_STR(geo_crs_name(GEO_CRS_WGS84), "wgs84");
	CHECK_STR(geo_crs_name(GEO_CRS_GCJ02), "gcj02");
	CHECK_STR(geo_crs_name(GEO_CRS_BD09), "bd09");
	CHECK_STR(geo_crs_name((enum geo_crs)42), "unknown");
}

static void test_distance_is_haversine_on_the_mean_radius(void)
{
	/* One degree of arc on a 6371008.8 m sphere. */
	double one_deg = 6371008.8 * M_PI / 180.0;
	CHECK_NEAR(geo_distance_m((struct geo_point){120, 31}, (struct geo_point){120, 32}),
		   one_deg, 1e-6);
	CHECK_NEAR(geo_distance_m((struct geo_point){0, 0}, (struct geo_point){1, 0}), one_deg,
		   1e-6);
	/* Along a parallel at 60 degrees a short hop is half as long. */
	CHECK_NEAR(geo_distance_m((struct geo_point){0, 60}, (struct geo_point){0.001, 60}),
		   one_deg * 0.0005, 1e-3);
	CHECK_NEAR(geo_distance_m(ref_rows[0].in, ref_rows[0].in), 0.0, 0.0);
	/* Antipodes: half the circumference, no NaN from rounding. */
	CHECK_NEAR(geo_distance_m((struct geo_point){0, 0}, (struct geo_point){180, 0}),
		   6371008.8 * M_PI, 1e-6);
}

int main(void)
{
	TEST_RUN(test_wgs_to_gcj_matches_gcoord);
	TEST_RUN(test_gcj_to_bd_matches_gcoord);
	TEST_RUN(test_inverses_agree_with_gcoord_to_its_precision);
	TEST_RUN(test_wgs_gcj_round_trip_under_1cm_over_suzhou);
	TEST_RUN(test_bd_round_trip_both_ways_under_1cm);
	TEST_RUN(test_crs_convert_composes_the_pairwise_transforms);
	TEST_RUN(test_out_of_china_points_are_not_shifted);
	TEST_RUN(test_crs_parse_accepts_names_in_any_case_and_refuses_others);
	TEST_RUN(test_distance_is_haversine_on_the_mean_radius);
	return test_summary("geo/coord");
}
