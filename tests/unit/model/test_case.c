/* test_case.c — masking of callers' phone numbers and names; the key a number is matched by. */
#include "model/case.h"

#include "test.h"

static void test_phone_keeps_first_three_and_last_four(void)
{
	char out[REPORT_PHONE_MAX + 1];

	case_mask_phone("13812345678", out);
	CHECK_STR(out, "138****5678");
	case_mask_phone("051265001234", out);
	CHECK_STR(out, "051*****1234");
	case_mask_phone("1234567", out);
	CHECK_STR(out, "1234567"); /* seven digits: nothing left to hide between */
	case_mask_phone("110", out);
	CHECK_STR(out, "*10");
	case_mask_phone("12", out);
	CHECK_STR(out, "**");
	case_mask_phone("", out);
	CHECK_STR(out, "");
}

static void test_name_keeps_the_first_character(void)
{
	char out[64];

	case_mask_name("张三", out, sizeof out);
	CHECK_STR(out, "张*");
	case_mask_name("欧阳娜娜", out, sizeof out);
	CHECK_STR(out, "欧***");
	case_mask_name("Li", out, sizeof out);
	CHECK_STR(out, "L*");
	case_mask_name("王", out, sizeof out);
	CHECK_STR(out, "王*");
	case_mask_name("", out, sizeof out);
	CHECK_STR(out, "");
	case_mask_name("张三", out, 3); /* too small for the first character: only asterisks */
	CHECK_STR(out, "*");
}

static void test_phone_key_is_the_digits_without_the_country_prefix(void)
{
	static const char *const same[] = { "13812345678", "138-1234-5678", "138 1234 5678",
					     "+8613812345678", "+86 138 1234 5678", "008613812345678" };
	char out[REPORT_PHONE_MAX + 1];

	for (size_t i = 0; i < sizeof same / sizeof same[0]; i++) {
		case_phone_key(same[i], out);
		CHECK_STR(out, "13812345678");
	}
	case_phone_key("0512-6500 1234", out);
	CHECK_STR(out, "051265001234"); /* a landline keeps its area code */
	case_phone_key("+86 512 6500 1234", out);
	CHECK_STR(out, "8651265001234"); /* not a mobile: the prefix stays, no guess */
	case_phone_key("110", out);
	CHECK_STR(out, "110");
	case_phone_key("861", out);
	CHECK_STR(out, "861");
	case_phone_key("", out);
	CHECK_STR(out, "");
}

int main(void)
{
	TEST_RUN(test_phone_keeps_first_three_and_last_four);
	TEST_RUN(test_name_keeps_the_first_character);
	TEST_RUN(test_phone_key_is_the_digits_without_the_country_prefix);
	return test_summary("model/case");
}
