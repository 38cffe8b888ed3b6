/*
 * test_areas_import.c — tests for import/areas_import.c: a FeatureCollection
 * of areas becomes an ordered area_set, or fails as a whole with the feature,
 * the field and the reason.
 */
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/err.h"
#include "import/areas_import.h"
#include "test.h"

/* Polygons in and around Suzhou; each nested inside the one before. */
#define CITY_SQ "[[[120.0,31.0],[121.0,31.0],[121.0,32.0],[120.0,32.0],[120.0,31.0]]]"
#define DIST_SQ "[[[120.5,31.2],[120.7,31.2],[120.7,31.4],[120.5,31.4],[120.5,31.2]]]"
#define STREET_SQ "[[[120.55,31.25],[120.6,31.25],[120.6,31.3],[120.55,31.3],[120.55,31.25]]]"
/* A ring that crosses itself at (120.55, 31.25). */
#define BOWTIE "[[[120.5,31.2],[120.6,31.3],[120.6,31.2],[120.5,31.3],[120.5,31.2]]]"

/* One feature; props is the inside of the properties object. */
#define FEATURE(props, coords)                                                               \
	"{\"type\":\"Feature\",\"properties\":{" props "},"                                  \
	"\"geometry\":{\"type\":\"Polygon\",\"coordinates\":" coords "}}"
#define COLLECTION(features) "{\"type\":\"FeatureCollection\",\"features\":[" features "]}"

#define CITY_F FEATURE("\"kind\":\"city\",\"name\":\"苏州市\",\"code\":\"320500\"", CITY_SQ)
#define DIST_F                                                                                \
	FEATURE("\"kind\":\"district\",\"name\":\"姑苏区\",\"code\":\"320508\","                \
		"\"parent_code\":\"320500\"",                                                \
		DIST_SQ)

/* A store holding one city (id 7, code "320500") and one district (id 8, code "320508"). */
struct fake_store {
	int calls;
	int fail_with;         /* if non-zero, every lookup returns it */
	char last_code[32];
	int64_t last_id;
};

static int fake_resolve(void *ctx, const char *code, int64_t id, int64_t *out_id,
			enum area_kind *out_kind)
{
	struct fake_store *s = ctx;

	s->calls++;
	snprintf(s->last_code, sizeof s->last_code, "%s", code ? code : "(null)");
	s->last_id = id;
	if (s->fail_with)
		return s->fail_with;
	if ((code && strcmp(code, "320500") == 0) || (!code && id == 7)) {
		*out_id = 7;
		*out_kind = AREA_CITY;
		return SG_OK;
	}
	if ((code && strcmp(code, "320508") == 0) || (!code && id == 8)) {
		*out_id = 8;
		*out_kind = AREA_DISTRICT;
		return SG_OK;
	}
	return SG_ENOTFOUND;
}

/* Runs the import of text with the fake store; out and report must be initialised. */
static int import_text(const char *text, unsigned flags, struct fake_store *store,
		       struct area_set *out, struct areas_import_report *report,
		       struct areas_import_error *err)
{
	struct areas_import_opts opts = {
		.flags = flags, .resolve = fake_resolve, .resolve_ctx = store,
	};

	memset(err, 0, sizeof *err);
	return areas_import_parse(text, strlen(text), &opts, out, report, err);
}

/* Imports text expecting failure; checks nothing was produced. */
static int import_fails(const char *text, unsigned flags, struct areas_import_error *err)
{
	struct fake_store store = { 0 };
	struct area_set out;
	struct areas_import_report report;
	int rc;

	area_set_init(&out);
	areas_import_report_init(&report);
	rc = import_text(text, flags, &store, &out, &report, err);
	CHECK(rc != SG_OK);
	CHECK_EQ_INT(out.n, 0);
	CHECK(out.v == NULL);
	CHECK_EQ_INT(report.features, 0);
	CHECK(report.feature_of == NULL);
	area_set_release(&out);
	areas_import_report_release(&report);
	return rc;
}

static void test_city_district_street_out_of_order_come_out_parents_first(void)
{
	const char *text = COLLECTION(
		FEATURE("\"kind\":\"street\",\"name\":\"平江街道\",\"code\":\"320508001\","
			"\"parent_code\":\"320508\"",
			STREET_SQ) "," DIST_F "," CITY_F);
	struct fake_store store = { 0 };
	struct area_set out;
	struct areas_import_report report;
	struct areas_import_error err;

	area_set_init(&out);
	areas_import_report_init(&report);
	CHECK_EQ_INT(import_text(text, 0, &store, &out, &report, &err), SG_OK);
	CHECK_EQ_INT(out.n, 3);
	CHECK_EQ_INT(report.features, 3);
	CHECK_EQ_INT(report.repaired, 0);
	/* Codes found in the file never reach the store. */
	CHECK_EQ_INT(store.calls, 0);
	if (out.n == 3) {
		CHECK_EQ_INT(out.v[0].kind, AREA_CITY);
		CHECK_STR(out.v[0].code, "320500");
		CHECK_STR(out.v[0].name, "苏州市");
		CHECK_EQ_INT(out.v[0].parent_idx, -1);
		CHECK_EQ_INT(out.v[0].parent_id, 0);
		CHECK_EQ_INT(out.v[1].kind, AREA_DISTRICT);
		CHECK_STR(out.v[1].code, "320508");
		CHECK_EQ_INT(out.v[1].parent_idx, 0);
		CHECK_EQ_INT(out.v[2].kind, AREA_STREET);
		CHECK_STR(out.v[2].code, "320508001");
		CHECK_EQ_INT(out.v[2].parent_idx, 1);
		CHECK_EQ_INT(out.v[2].parent_id, 0);
		CHECK_EQ_INT(out.v[2].geom.npolys, 1);
		CHECK(out.v[2].area_m2 > 0);
		CHECK(out.v[0].area_m2 > out.v[1].area_m2);
		CHECK_EQ_INT(report.feature_of[0], 2);
		CHECK_EQ_INT(report.feature_of[1], 1);
		CHECK_EQ_INT(report.feature_of[2], 0);
	}
	area_set_release(&out);
	areas_import_report_release(&report);
}

static void test_features_at_one_depth_keep_file_order(void)
{
	const char *text = COLLECTION(
		FEATURE("\"kind\":\"district\",\"name\":\"A\",\"parent_code\":\"C\"", DIST_SQ) ","
		FEATURE("\"kind\":\"city\",\"name\":\"City\",\"code\":\"C\"", CITY_SQ) ","
		FEATURE("\"kind\":\"district\",\"name\":\"B\",\"parent_code\":\"C\"", DIST_SQ) ","
		FEATURE("\"kind\":\"district\",\"name\":\"D\",\"parent\":7", DIST_SQ));
	struct fake_store store = { 0 };
	struct area_set out;
	struct areas_import_error err;

	area_set_init(&out);
	CHECK_EQ_INT(import_text(text, 0, &store, &out, NULL, &err), SG_OK);
	CHECK_EQ_INT(out.n, 4);
	if (out.n == 4) {
		/* D's parent is stored, so D is a root, like the city; then A and B. */
		CHECK_STR(out.v[0].name, "City");
		CHECK_STR(out.v[1].name, "D");
		CHECK_STR(out.v[2].name, "A");
		CHECK_STR(out.v[3].name, "B");
		CHECK_EQ_INT(out.v[1].parent_id, 7);
		CHECK_EQ_INT(out.v[2].parent_idx, 0);
		CHECK_EQ_INT(out.v[3].parent_idx, 0);
		CHECK_STR(out.v[2].code, "");
	}
	area_set_release(&out);
}

static void test_parent_code_not_in_file_resolves_through_the_store(void)
{
	const char *text = COLLECTION(FEATURE(
		"\"kind\":\"station\",\"name\":\"平江派出所\",\"parent_code\":\"320508\"", STREET_SQ));
	struct fake_store store = { 0 };
	struct area_set out;
	struct areas_import_error err;

	area_set_init(&out);
	CHECK_EQ_INT(import_text(text, 0, &store, &out, NULL, &err), SG_OK);
	CHECK_EQ_INT(store.calls, 1);
	CHECK_STR(store.last_code, "320508");
	CHECK_EQ_INT(store.last_id, 0);
	CHECK_EQ_INT(out.n, 1);
	if (out.n == 1) {
		CHECK_EQ_INT(out.v[0].parent_id, 8);
		CHECK_EQ_INT(out.v[0].parent_idx, -1);
	}
	area_set_release(&out);
}

static void test_parent_id_resolves_through_the_store(void)
{
	const char *text =
		COLLECTION(FEATURE("\"kind\":\"district\",\"name\":\"吴中区\",\"parent\":7", DIST_SQ));
	struct fake_store store = { 0 };
	struct area_set out;
	struct areas_import_error err;

	area_set_init(&out);
	CHECK_EQ_INT(import_text(text, 0, &store, &out, NULL, &err), SG_OK);
	CHECK_EQ_INT(store.calls, 1);
	CHECK_STR(store.last_code, "(null)");
	CHECK_EQ_INT(store.last_id, 7);
	CHECK_EQ_INT(out.n, 1);
	if (out.n == 1)
		CHECK_EQ_INT(out.v[0].parent_id, 7);
	area_set_release(&out);
}

static void test_store_failure_fails_the_import_with_its_code(void)
{
	const char *text = COLLECTION(DIST_F);
	struct fake_store store = { .fail_with = SG_EIO };
	struct area_set out;
	struct areas_import_error err;

	area_set_init(&out);
	CHECK_EQ_INT(import_text(text, 0, &store, &out, NULL, &err), SG_EIO);
	CHECK_EQ_INT(err.feature, 0);
	CHECK_STR(err.field, "features[0].properties.parent_code");
	CHECK_EQ_INT(out.n, 0);
	area_set_release(&out);
}

static void test_missing_kind_is_refused_naming_the_field(void)
{
	struct areas_import_error err;

	CHECK_EQ_INT(import_fails(COLLECTION(CITY_F "," FEATURE("\"name\":\"x\",\"parent\":7",
								 DIST_SQ)),
				  0, &err),
		     SG_EINVAL);
	CHECK_EQ_INT(err.feature, 1);
	CHECK_STR(err.field, "features[1].properties.kind");
	CHECK_STR(err.message, "kind is required");
}

static void test_unknown_kind_is_refused(void)
{
	struct areas_import_error err;

	CHECK_EQ_INT(import_fails(COLLECTION(FEATURE("\"kind\":\"province\",\"name\":\"江苏省\"",
						     CITY_SQ)),
				  0, &err),
		     SG_EINVAL);
	CHECK_EQ_INT(err.feature, 0);
	CHECK_STR(err.field, "features[0].properties.kind");
	CHECK(strstr(err.message, "police_grid") != NULL);
	CHECK_EQ_INT(import_fails(COLLECTION(FEATURE("\"kind\":3,\"name\":\"x\"", CITY_SQ)), 0,
				  &err),
		     SG_EINVAL);
	CHECK_STR(err.field, "features[0].properties.kind");
}

static void test_missing_or_empty_name_is_refused(void)
{
	struct areas_import_error err;

	CHECK_EQ_INT(import_fails(COLLECTION(FEATURE("\"kind\":\"city\"", CITY_SQ)), 0, &err),
		     SG_EINVAL);
	CHECK_STR(err.field, "features[0].properties.name");
	CHECK_STR(err.message, "name is required");
	CHECK_EQ_INT(import_fails(COLLECTION(FEATURE("\"kind\":\"city\",\"name\":\"\"", CITY_SQ)), 0,
				  &err),
		     SG_EINVAL);
	CHECK_STR(err.field, "features[0].properties.name");
	CHECK_STR(err.message, "name must be a non-empty string");
}

/* A one-city collection whose name is `len` bytes of 'n'. */
static char *city_named(size_t len)
{
	struct sg_buf b;
	char *name = malloc(len + 1);

	memset(name, 'n', len);
	name[len] = '\0';
	sg_buf_init(&b, 0);
	sg_buf_printf(&b, COLLECTION(FEATURE("\"kind\":\"city\",\"name\":\"%s\"", CITY_SQ)), name);
	free(name);
	return sg_buf_steal(&b, NULL);
}

static void test_name_of_200_bytes_is_accepted_and_201_refused(void)
{
	struct fake_store store = { 0 };
	struct area_set out;
	struct areas_import_error err;
	char *ok = city_named(200), *bad = city_named(201);

	area_set_init(&out);
	CHECK_EQ_INT(import_text(ok, 0, &store, &out, NULL, &err), SG_OK);
	CHECK_EQ_INT(out.n, 1);
	if (out.n == 1)
		CHECK_EQ_INT(strlen(out.v[0].name), 200);
	area_set_release(&out);
	CHECK_EQ_INT(import_fails(bad, 0, &err), SG_EINVAL);
	CHECK_STR(err.field, "features[0].properties.name");
	CHECK_STR(err.message, "name is longer than 200 bytes");
	free(ok);
	free(bad);
}

static void test_malformed_codes_are_refused(void)
{
	struct areas_import_error err;

	CHECK_EQ_INT(import_fails(COLLECTION(FEATURE("\"kind\":\"city\",\"name\":\"c\","
						     "\"code\":\"32 05\"",
						     CITY_SQ)),
				  0, &err),
		     SG_EINVAL);
	CHECK_STR(err.field, "features[0].properties.code");
	/* 24 bytes: one too many for AREA_CODE_MAX. */
	CHECK_EQ_INT(import_fails(COLLECTION(FEATURE("\"kind\":\"city\",\"name\":\"c\","
						     "\"code\":\"abcdefghijklmnopqrstuvwx\"",
						     CITY_SQ)),
				  0, &err),
		     SG_EINVAL);
	CHECK_STR(err.field, "features[0].properties.code");
	CHECK_EQ_INT(import_fails(COLLECTION(FEATURE("\"kind\":\"district\",\"name\":\"d\","
						     "\"parent_code\":\"\"",
						     DIST_SQ)),
				  0, &err),
		     SG_EINVAL);
	CHECK_STR(err.field, "features[0].properties.parent_code");
}

static void test_code_of_23_bytes_is_kept(void)
{
	const char *text = COLLECTION(FEATURE(
		"\"kind\":\"city\",\"name\":\"c\",\"code\":\"abcdefghijklmnopqrstu-_\"", CITY_SQ));
	struct fake_store store = { 0 };
	struct area_set out;
	struct areas_import_error err;

	area_set_init(&out);
	CHECK_EQ_INT(import_text(text, 0, &store, &out, NULL, &err), SG_OK);
	if (out.n == 1)
		CHECK_STR(out.v[0].code, "abcdefghijklmnopqrstu-_");
	area_set_release(&out);
}

static void test_duplicate_code_is_refused_at_its_repeat(void)
{
	struct areas_import_error err;

	CHECK_EQ_INT(import_fails(COLLECTION(CITY_F "," DIST_F "," FEATURE(
					     "\"kind\":\"district\",\"name\":\"again\","
					     "\"code\":\"320508\",\"parent_code\":\"320500\"",
					     DIST_SQ)),
				  0, &err),
		     SG_EINVAL);
	CHECK_EQ_INT(err.feature, 2);
	CHECK_STR(err.field, "features[2].properties.code");
	CHECK(strstr(err.message, "duplicate code \"320508\"") != NULL);
	CHECK(strstr(err.message, "features[1]") != NULL);
}

static void test_unknown_parent_is_refused(void)
{
	struct areas_import_error err;

	CHECK_EQ_INT(import_fails(COLLECTION(CITY_F "," FEATURE("\"kind\":\"district\",\"name\":\"d\","
								"\"parent_code\":\"320599\"",
								DIST_SQ)),
				  0, &err),
		     SG_EINVAL);
	CHECK_EQ_INT(err.feature, 1);
	CHECK_STR(err.field, "features[1].properties.parent_code");
	CHECK(strstr(err.message, "unknown parent_code \"320599\"") != NULL);
	CHECK_EQ_INT(import_fails(COLLECTION(FEATURE("\"kind\":\"district\",\"name\":\"d\","
						     "\"parent\":99",
						     DIST_SQ)),
				  0, &err),
		     SG_EINVAL);
	CHECK_STR(err.field, "features[0].properties.parent");
	CHECK(strstr(err.message, "unknown parent 99") != NULL);
}

static void test_parent_of_the_wrong_kind_is_refused(void)
{
	struct areas_import_error err;

	/* A street belongs to a district, not directly to the city. */
	CHECK_EQ_INT(import_fails(COLLECTION(CITY_F "," FEATURE("\"kind\":\"street\",\"name\":\"s\","
								"\"parent_code\":\"320500\"",
								STREET_SQ)),
				  0, &err),
		     SG_EINVAL);
	CHECK_EQ_INT(err.feature, 1);
	CHECK_STR(err.field, "features[1].properties.parent_code");
	CHECK_STR(err.message, "the parent of a street must be a district, not a city");
	/* The same through the store: a gov_grid under the stored district. */
	CHECK_EQ_INT(import_fails(COLLECTION(FEATURE("\"kind\":\"gov_grid\",\"name\":\"g\","
						     "\"parent\":8",
						     STREET_SQ)),
				  0, &err),
		     SG_EINVAL);
	CHECK_STR(err.field, "features[0].properties.parent");
	CHECK_STR(err.message, "the parent of a gov_grid must be a community, not a district");
}

static void test_parent_rules_for_cities_and_others(void)
{
	struct areas_import_error err;

	CHECK_EQ_INT(import_fails(COLLECTION(FEATURE("\"kind\":\"city\",\"name\":\"c\",\"parent\":7",
						     CITY_SQ)),
				  0, &err),
		     SG_EINVAL);
	CHECK_STR(err.field, "features[0].properties.parent");
	CHECK_STR(err.message, "a city has no parent");
	CHECK_EQ_INT(import_fails(COLLECTION(FEATURE("\"kind\":\"community\",\"name\":\"c\"",
						     STREET_SQ)),
				  0, &err),
		     SG_EINVAL);
	CHECK_STR(err.field, "features[0].properties.parent_code");
	CHECK_STR(err.message, "a community needs a parent (parent_code or parent)");
	CHECK_EQ_INT(import_fails(COLLECTION(FEATURE("\"kind\":\"district\",\"name\":\"d\","
						     "\"parent\":7,\"parent_code\":\"320500\"",
						     DIST_SQ)),
				  0, &err),
		     SG_EINVAL);
	CHECK_STR(err.field, "features[0].properties.parent");
}

static void test_parent_cycles_are_refused(void)
{
	struct areas_import_error err;

	CHECK_EQ_INT(import_fails(COLLECTION(CITY_F ","
					     FEATURE("\"kind\":\"district\",\"name\":\"a\","
						     "\"code\":\"A\",\"parent_code\":\"B\"",
						     DIST_SQ) ","
					     FEATURE("\"kind\":\"district\",\"name\":\"b\","
						     "\"code\":\"B\",\"parent_code\":\"A\"",
						     DIST_SQ)),
				  0, &err),
		     SG_EINVAL);
	CHECK_EQ_INT(err.feature, 1);
	CHECK_STR(err.field, "features[1].properties.parent_code");
	CHECK(strstr(err.message, "cycle") != NULL);
	/* Its own parent is the shortest cycle. */
	CHECK_EQ_INT(import_fails(COLLECTION(FEATURE("\"kind\":\"district\",\"name\":\"a\","
						     "\"code\":\"A\",\"parent_code\":\"A\"",
						     DIST_SQ)),
				  0, &err),
		     SG_EINVAL);
	CHECK_EQ_INT(err.feature, 0);
	CHECK(strstr(err.message, "cycle") != NULL);
}

static void test_self_intersecting_polygon_is_refused_with_geos_reason(void)
{
	struct areas_import_error err;

	CHECK_EQ_INT(import_fails(COLLECTION(CITY_F "," FEATURE("\"kind\":\"district\",\"name\":\"d\","
								"\"parent_code\":\"320500\"",
								BOWTIE)),
				  0, &err),
		     SG_EINVAL);
	CHECK_EQ_INT(err.feature, 1);
	CHECK_STR(err.field, "features[1].geometry");
	CHECK(strstr(err.message, "Self-intersection") != NULL);
}

static void test_self_intersecting_polygon_is_repaired_and_reported_with_make_valid(void)
{
	const char *text =
		COLLECTION(CITY_F "," FEATURE("\"kind\":\"district\",\"name\":\"d\","
					      "\"parent_code\":\"320500\"",
					      BOWTIE));
	struct fake_store store = { 0 };
	struct area_set out;
	struct areas_import_report report;
	struct areas_import_error err;

	area_set_init(&out);
	areas_import_report_init(&report);
	CHECK_EQ_INT(import_text(text, AREAS_IMPORT_MAKE_VALID, &store, &out, &report, &err), SG_OK);
	CHECK_EQ_INT(out.n, 2);
	CHECK_EQ_INT(report.repaired, 1);
	if (report.repaired == 1) {
		CHECK_EQ_INT(report.repairs[0].feature, 1);
		CHECK(strstr(report.repairs[0].reason, "Self-intersection") != NULL);
	}
	if (out.n == 2) {
		/* The bow-tie's two triangles, each 0.05 x 0.1 / 2 degrees². */
		CHECK_EQ_INT(out.v[1].geom.npolys, 2);
		CHECK(out.v[1].area_m2 > 0);
		CHECK_EQ_INT(out.v[0].geom.npolys, 1);
	}
	area_set_release(&out);
	areas_import_report_release(&report);
}

static void test_polygon_without_area_cannot_be_repaired(void)
{
	struct areas_import_error err;

	/* The ring goes out and back along one line: MakeValid leaves only a line. */
	CHECK_EQ_INT(import_fails(COLLECTION(FEATURE("\"kind\":\"city\",\"name\":\"flat\"",
						     "[[[120,31],[121,31],[120,31],[120,31]]]")),
				  AREAS_IMPORT_MAKE_VALID, &err),
		     SG_EINVAL);
	CHECK_EQ_INT(err.feature, 0);
	CHECK_STR(err.field, "features[0].geometry");
	CHECK(strstr(err.message, "no area is left once repaired") != NULL);
}

static void test_hole_outside_its_shell_is_refused(void)
{
	struct areas_import_error err;

	CHECK_EQ_INT(import_fails(COLLECTION(FEATURE(
					     "\"kind\":\"city\",\"name\":\"c\"",
					     "[[[120,31],[120.1,31],[120.1,31.1],[120,31.1],[120,31]],"
					     "[[121,31],[121.1,31],[121.1,31.1],[121,31.1],[121,31]]]")),
				  0, &err),
		     SG_EINVAL);
	CHECK_STR(err.field, "features[0].geometry");
	CHECK(strstr(err.message, "Hole lies outside shell") != NULL);
}

static void test_nothing_is_produced_when_the_last_feature_fails(void)
{
	struct areas_import_error err;

	/* Two good features, then one bad: import_fails checks out and the report stay empty. */
	CHECK_EQ_INT(import_fails(COLLECTION(CITY_F "," DIST_F "," FEATURE(
					     "\"kind\":\"street\",\"name\":\"s\","
					     "\"parent_code\":\"nowhere\"",
					     STREET_SQ)),
				  AREAS_IMPORT_MAKE_VALID, &err),
		     SG_EINVAL);
	CHECK_EQ_INT(err.feature, 2);
}

static void test_syntax_error_reports_line_and_column(void)
{
	struct areas_import_error err;

	CHECK_EQ_INT(import_fails("{\n  \"type\": \"FeatureCollection\",\n  \"features\": [,]\n}", 0,
				  &err),
		     SG_EINVAL);
	CHECK_EQ_INT(err.feature, -1);
	CHECK_EQ_INT(err.line, 3);
	CHECK_EQ_INT(err.column, 16);
	CHECK(strstr(err.message, "line 3, column 16") != NULL);
	CHECK_STR(err.field, "");
}

static void test_duplicate_member_is_a_syntax_error(void)
{
	struct areas_import_error err;

	CHECK_EQ_INT(import_fails("{\"type\":\"FeatureCollection\",\n\"features\":[],\"features\":[]}",
				  0, &err),
		     SG_EINVAL);
	CHECK_EQ_INT(err.line, 2);
	CHECK(strstr(err.message, "duplicate") != NULL);
}

static void test_document_that_is_not_a_feature_collection_is_refused(void)
{
	struct areas_import_error err;

	CHECK_EQ_INT(import_fails(FEATURE("\"kind\":\"city\",\"name\":\"c\"", CITY_SQ), 0, &err),
		     SG_EINVAL);
	CHECK_EQ_INT(err.feature, -1);
	CHECK_STR(err.field, "type");
	CHECK_EQ_INT(import_fails("[" CITY_F "]", 0, &err), SG_EINVAL);
	CHECK_STR(err.field, "");
	CHECK_EQ_INT(import_fails("{\"type\":\"FeatureCollection\",\"features\":{}}", 0, &err),
		     SG_EINVAL);
	CHECK_STR(err.field, "features");
	CHECK_EQ_INT(import_fails(COLLECTION(CITY_F ",[]"), 0, &err), SG_EINVAL);
	CHECK_STR(err.field, "features[1]");
	CHECK_EQ_INT(import_fails(COLLECTION("{\"type\":\"Feature\",\"properties\":null,"
					     "\"geometry\":{\"type\":\"Polygon\",\"coordinates\":" CITY_SQ "}}"),
				  0, &err),
		     SG_EINVAL);
	CHECK_STR(err.field, "features[0].properties");
}

static void test_non_polygonal_geometry_is_refused_naming_the_field(void)
{
	struct areas_import_error err;

	CHECK_EQ_INT(import_fails(COLLECTION("{\"type\":\"Feature\",\"properties\":{\"kind\":\"city\","
					     "\"name\":\"c\"},\"geometry\":{\"type\":\"Point\","
					     "\"coordinates\":[120.6,31.3]}}"),
				  0, &err),
		     SG_EINVAL);
	CHECK_EQ_INT(err.feature, 0);
	CHECK_STR(err.field, "features[0].geometry.type");
	CHECK_EQ_INT(import_fails(COLLECTION("{\"type\":\"Feature\",\"properties\":{\"kind\":\"city\","
					     "\"name\":\"c\"},\"geometry\":null}"),
				  0, &err),
		     SG_EINVAL);
	CHECK_STR(err.field, "features[0].geometry");
}

static void test_geometry_structure_error_carries_the_reader_reason(void)
{
	struct areas_import_error err;

	CHECK_EQ_INT(import_fails(COLLECTION(FEATURE("\"kind\":\"city\",\"name\":\"c\"",
						     "[[[120,31],[121,31],[121,32],[120,32]]]")),
				  0, &err),
		     SG_EINVAL);
	CHECK_STR(err.field, "features[0].geometry.coordinates");
	CHECK_STR(err.message, "ring is not closed");
}

static void test_empty_geometry_is_refused(void)
{
	struct areas_import_error err;

	CHECK_EQ_INT(import_fails(COLLECTION("{\"type\":\"Feature\",\"properties\":{\"kind\":\"city\","
					     "\"name\":\"c\"},\"geometry\":{\"type\":\"MultiPolygon\","
					     "\"coordinates\":[]}}"),
				  AREAS_IMPORT_MAKE_VALID, &err),
		     SG_EINVAL);
	CHECK_STR(err.field, "features[0].geometry.coordinates");
	CHECK_STR(err.message, "geometry is empty");
}

static void test_output_must_start_empty(void)
{
	struct fake_store store = { 0 };
	struct area_set out;
	struct areas_import_error err;
	const char *text = COLLECTION(CITY_F);

	area_set_init(&out);
	CHECK_EQ_INT(import_text(text, 0, &store, &out, NULL, &err), SG_OK);
	CHECK_EQ_INT(import_text(text, 0, &store, &out, NULL, &err), SG_EINVAL);
	CHECK_EQ_INT(out.n, 1);
	area_set_release(&out);
}

struct progress_log {
	int calls;
	size_t last_done, last_total;
	int went_backwards;
};

static void record_progress(void *ctx, size_t done, size_t total)
{
	struct progress_log *log = ctx;

	if (done < log->last_done)
		log->went_backwards = 1;
	log->calls++;
	log->last_done = done;
	log->last_total = total;
}

static void test_progress_is_reported_about_every_percent(void)
{
	struct sg_buf b;
	struct progress_log log = { 0 };
	struct area_set out;
	struct areas_import_error err;
	struct areas_import_opts opts = { .progress = record_progress, .progress_ctx = &log };

	sg_buf_init(&b, 0);
	sg_buf_puts(&b, "{\"type\":\"FeatureCollection\",\"features\":[");
	for (int i = 0; i < 250; i++)
		sg_buf_printf(&b, "%s" FEATURE("\"kind\":\"city\",\"name\":\"c%d\"", CITY_SQ),
			      i ? "," : "", i);
	sg_buf_puts(&b, "]}");
	area_set_init(&out);
	CHECK_EQ_INT(areas_import_parse(b.data, b.len, &opts, &out, NULL, &err), SG_OK);
	CHECK_EQ_INT(out.n, 250);
	/* Every 2 features (1% of 250), the last call being the total. */
	CHECK_EQ_INT(log.calls, 125);
	CHECK_EQ_INT(log.last_done, 250);
	CHECK_EQ_INT(log.last_total, 250);
	CHECK(!log.went_backwards);
	area_set_release(&out);
	sg_buf_release(&b);
}

static void test_more_features_than_the_cap_is_too_big(void)
{
	struct sg_buf b;
	struct areas_import_error err;

	sg_buf_init(&b, 0);
	sg_buf_puts(&b, "{\"type\":\"FeatureCollection\",\"features\":[");
	for (int i = 0; i <= AREAS_IMPORT_MAX_FEATURES; i++)
		sg_buf_puts(&b, i ? ",{}" : "{}");
	sg_buf_puts(&b, "]}");
	CHECK_EQ_INT(import_fails(b.data, 0, &err), SG_ETOOBIG);
	CHECK_STR(err.field, "features");
	sg_buf_release(&b);
}

static void test_empty_collection_imports_nothing(void)
{
	struct fake_store store = { 0 };
	struct area_set out;
	struct areas_import_report report;
	struct areas_import_error err;

	area_set_init(&out);
	areas_import_report_init(&report);
	CHECK_EQ_INT(import_text("{\"type\":\"FeatureCollection\",\"features\":[]}", 0, &store,
				 &out, &report, &err),
		     SG_OK);
	CHECK_EQ_INT(out.n, 0);
	CHECK_EQ_INT(report.features, 0);
	area_set_release(&out);
	areas_import_report_release(&report);
}

int main(void)
{
	TEST_RUN(test_city_district_street_out_of_order_come_out_parents_first);
	TEST_RUN(test_features_at_one_depth_keep_file_order);
	TEST_RUN(test_parent_code_not_in_file_resolves_through_the_store);
	TEST_RUN(test_parent_id_resolves_through_the_store);
	TEST_RUN(test_store_failure_fails_the_import_with_its_code);
	TEST_RUN(test_missing_kind_is_refused_naming_the_field);
	TEST_RUN(test_unknown_kind_is_refused);
	TEST_RUN(test_missing_or_empty_name_is_refused);
	TEST_RUN(test_name_of_200_bytes_is_accepted_and_201_refused);
	TEST_RUN(test_malformed_codes_are_refused);
	TEST_RUN(test_code_of_23_bytes_is_kept);
	TEST_RUN(test_duplicate_code_is_refused_at_its_repeat);
	TEST_RUN(test_unknown_parent_is_refused);
	TEST_RUN(test_parent_of_the_wrong_kind_is_refused);
	TEST_RUN(test_parent_rules_for_cities_and_others);
	TEST_RUN(test_parent_cycles_are_refused);
	TEST_RUN(test_self_intersecting_polygon_is_refused_with_geos_reason);
	TEST_RUN(test_self_intersecting_polygon_is_repaired_and_reported_with_make_valid);
	TEST_RUN(test_polygon_without_area_cannot_be_repaired);
	TEST_RUN(test_hole_outside_its_shell_is_refused);
	TEST_RUN(test_nothing_is_produced_when_the_last_feature_fails);
	TEST_RUN(test_syntax_error_reports_line_and_column);
	TEST_RUN(test_duplicate_member_is_a_syntax_error);
	TEST_RUN(test_document_that_is_not_a_feature_collection_is_refused);
	TEST_RUN(test_non_polygonal_geometry_is_refused_naming_the_field);
	TEST_RUN(test_geometry_structure_error_carries_the_reader_reason);
	TEST_RUN(test_empty_geometry_is_refused);
	TEST_RUN(test_output_must_start_empty);
	TEST_RUN(test_progress_is_reported_about_every_percent);
	TEST_RUN(test_more_features_than_the_cap_is_too_big);
	TEST_RUN(test_empty_collection_imports_nothing);
	return test_summary("import/areas_import");
}
