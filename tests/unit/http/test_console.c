/*
 * test_console.c — the embedded console's table (every file has a type and
 * an ETag, the page is at /), ETag matching, gzip negotiation, and the
 * query parsers the map's area requests use.
 */
#include "http/console.h"

#include "base/err.h"
#include "http/query.h"
#include "test.h"

static void test_every_asset_has_a_type_an_etag_and_bytes(void)
{
	CHECK(console_nassets > 5);
	for (size_t i = 0; i < console_nassets; i++) {
		const struct console_asset *a = &console_assets[i];
		CHECK(a->path[0] == '/' && a->content_type && a->content_type[0]);
		CHECK(strlen(a->etag) == 18 && a->etag[0] == '"' && a->etag[17] == '"');
		CHECK(*a->len > 0);
		CHECK(strstr(a->path, "..") == NULL);
		CHECK(console_asset_find(a->path) == a);
	}
	CHECK(console_asset_find("/") != NULL);
	CHECK_STR(console_asset_find("/")->content_type, "text/html; charset=utf-8");
	CHECK(console_asset_find("/assets/app.js") != NULL);
	CHECK(console_asset_find("/assets/../Makefile") == NULL);
	CHECK(console_asset_find("") == NULL);
}

static void test_etag_matching_follows_if_none_match_lists(void)
{
	const char *tag = "\"0123456789abcdef\"";

	CHECK(console_etag_matches(tag, tag));
	CHECK(console_etag_matches("\"x\", \"0123456789abcdef\"", tag));
	CHECK(console_etag_matches("W/\"0123456789abcdef\"", tag));
	CHECK(console_etag_matches("*", tag));
	CHECK(!console_etag_matches(NULL, tag));
	CHECK(!console_etag_matches("", tag));
	CHECK(!console_etag_matches("\"0123456789abcde\"", tag));
}

static void test_gzip_is_used_unless_refused(void)
{
	CHECK(console_accepts_gzip("gzip"));
	CHECK(console_accepts_gzip("gzip, deflate, br"));
	CHECK(console_accepts_gzip("deflate, gzip;q=0.5"));
	CHECK(!console_accepts_gzip("gzip;q=0"));
	CHECK(!console_accepts_gzip("gzip; q=0.000, br"));
	CHECK(!console_accepts_gzip("br"));
	CHECK(!console_accepts_gzip(NULL));
}

static void test_bbox_parses_four_ordered_decimals(void)
{
	struct geo_bbox b = { 0, 0, 0, 0 };

	CHECK_EQ_INT(query_bbox_parse("120.6,31.3,120.64,31.33", &b), SG_OK);
	CHECK_NEAR(b.min_lon, 120.6, 1e-12);
	CHECK_NEAR(b.max_lat, 31.33, 1e-12);
	CHECK_EQ_INT(query_bbox_parse("1,2,3", &b), SG_EINVAL);
	CHECK_EQ_INT(query_bbox_parse("1,2,3,4,", &b), SG_EINVAL);
	CHECK_EQ_INT(query_bbox_parse("1,2,3,4,5", &b), SG_EINVAL);
	CHECK_EQ_INT(query_bbox_parse("1, 2,3,4", &b), SG_EINVAL);
	CHECK_EQ_INT(query_bbox_parse("a,b,c,d", &b), SG_EINVAL);
	CHECK_EQ_INT(query_bbox_parse(",,,", &b), SG_EINVAL);
	CHECK_EQ_INT(query_bbox_parse("nan,1,2,3", &b), SG_EINVAL);
	CHECK_EQ_INT(query_bbox_parse("1e999,1,2,3", &b), SG_EINVAL);
	CHECK_EQ_INT(query_bbox_parse(NULL, &b), SG_EINVAL);
	CHECK_EQ_INT(query_bbox_parse("3,1,2,4", &b), SG_ETOOBIG);
	CHECK_EQ_INT(query_bbox_parse("1,2,3,91", &b), SG_ETOOBIG);
	CHECK_EQ_INT(query_bbox_parse("-181,2,3,4", &b), SG_ETOOBIG);
	CHECK_NEAR(b.min_lon, 120.6, 1e-12); /* untouched by the failures */
}

static void test_decimal_parse_keeps_bounds(void)
{
	double d = -1;

	CHECK_EQ_INT(query_decimal_parse("20", 0, 1000, &d), SG_OK);
	CHECK_NEAR(d, 20, 0);
	CHECK_EQ_INT(query_decimal_parse("0.5", 0, 1000, &d), SG_OK);
	CHECK_EQ_INT(query_decimal_parse("1000.1", 0, 1000, &d), SG_EINVAL);
	CHECK_EQ_INT(query_decimal_parse("-1", 0, 1000, &d), SG_EINVAL);
	CHECK_EQ_INT(query_decimal_parse("", 0, 1000, &d), SG_EINVAL);
	CHECK_EQ_INT(query_decimal_parse("5m", 0, 1000, &d), SG_EINVAL);
	CHECK_EQ_INT(query_decimal_parse("inf", 0, 1000, &d), SG_EINVAL);
	CHECK_NEAR(d, 0.5, 0);
}

int main(void)
{
	TEST_RUN(test_every_asset_has_a_type_an_etag_and_bytes);
	TEST_RUN(test_etag_matching_follows_if_none_match_lists);
	TEST_RUN(test_gzip_is_used_unless_refused);
	TEST_RUN(test_bbox_parses_four_ordered_decimals);
	TEST_RUN(test_decimal_parse_keeps_bounds);
	return test_summary("http/console");
}
