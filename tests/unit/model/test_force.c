/* test_force.c — names of forces, citizen ID numbers, masks. */
#include "model/force.h"

#include "base/err.h"
#include "test.h"

static void test_id_number_check_character_follows_gb11643(void)
{
	/* The standard's own example: 11010519491231002X. */
	CHECK(force_id_number_valid("11010519491231002X"));
	CHECK(!force_id_number_valid("110105194912310021"));
	CHECK(force_id_number_valid("320508199001011232"));
	CHECK(!force_id_number_valid("320508199001011233"));
	CHECK(force_id_number_check("32050819900101123") == '2');
}

static void test_id_number_refuses_bad_shapes_and_dates(void)
{
	CHECK(!force_id_number_valid(""));
	CHECK(!force_id_number_valid("32050819900101123"));   /* 17 */
	CHECK(!force_id_number_valid("3205081990010112320")); /* 19 */
	CHECK(!force_id_number_valid("32050819901301123X"));  /* month 13 */
	CHECK(!force_id_number_valid("3205081990a101123X"));
}

static void test_masks_keep_area_and_last_four(void)
{
	char out[FORCE_ID_NUMBER_LEN + 1];

	force_mask_id_number("320508199001011232", out);
	CHECK_STR(out, "320508********1232");
	force_mask_id_number("12345", out);
	CHECK_STR(out, "***45");
	force_mask_id_number("", out);
	CHECK_STR(out, "");
}

static void test_phone_rules(void)
{
	CHECK(force_phone_valid("13812345678"));
	CHECK(force_phone_valid("+86 512-6522 1234"));
	CHECK(!force_phone_valid("12"));
	CHECK(!force_phone_valid("call 110"));
	CHECK(!force_phone_valid("1234567890123456789012345"));
}

static void test_names_round_trip(void)
{
	for (int i = 0; i < ORG_KIND_COUNT; i++) {
		enum org_kind k;
		CHECK(org_kind_parse(org_kind_name((enum org_kind)i), &k) == 0 && (int)k == i);
	}
	for (int i = 0; i < PERSON_TYPE_COUNT; i++) {
		enum person_type t;
		CHECK(person_type_parse(person_type_name((enum person_type)i), &t) == 0 && (int)t == i);
	}
	for (int i = 0; i < UNIT_TYPE_COUNT; i++) {
		enum unit_type t;
		CHECK(unit_type_parse(unit_type_name((enum unit_type)i), &t) == 0 && (int)t == i);
	}
	for (int i = 0; i < FORCE_UNIT_STATUS_COUNT; i++) {
		int s;
		CHECK(force_unit_status_parse(force_unit_status_name(i), &s) == 0 && s == i);
	}
	CHECK_EQ_INT(person_type_parse("wizard", &(enum person_type){ 0 }), SG_EINVAL);
	CHECK_STR(person_type_name_zh(PERSON_GRID_WORKER), "网格员");
	CHECK(org_kind_police(ORG_STATION) && !org_kind_police(ORG_COURT));
	CHECK_STR(unit_type_name(UNIT_TYPE_COUNT), "unknown");
}

int main(void)
{
	TEST_RUN(test_id_number_check_character_follows_gb11643);
	TEST_RUN(test_id_number_refuses_bad_shapes_and_dates);
	TEST_RUN(test_masks_keep_area_and_last_four);
	TEST_RUN(test_phone_rules);
	TEST_RUN(test_names_round_trip);
	return test_summary("model/force");
}
