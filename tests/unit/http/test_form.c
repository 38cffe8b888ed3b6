/*
 * test_form.c — the x-www-form-urlencoded parser: decoding, repeated and
 * empty fields, every limit crossed, and each malformed input refused with
 * the field named.
 */
#include "http/form.h"

#include <stdlib.h>
#include <string.h>

#include "test.h"
#include "base/err.h"

static int parse(const char *body, struct form *f, struct form_error *e)
{
	form_init(f);
	memset(e, 0, sizeof *e);
	return form_parse(body, strlen(body), f, e);
}

static void test_plus_and_percent_escapes_decode_in_names_and_values(void)
{
	struct form f;
	struct form_error e;

	CHECK_EQ_INT(parse("description=%E8%B7%AF%E7%81%AF+%E5%9D%8F%E4%BA%86&attribute%5Bx%5D=a%2Bb%26c%3D",
			   &f, &e), SG_OK);
	CHECK_EQ_INT(f.n, 2);
	CHECK_STR(form_get(&f, "description"), "路灯 坏了");
	CHECK_STR(form_get(&f, "attribute[x]"), "a+b&c=");
	CHECK_STR(f.fields[1].name, "attribute[x]");
	form_release(&f);
	CHECK(f.fields == NULL && f.n == 0);
}

static void test_repeated_names_are_kept_in_order(void)
{
	struct form f;
	struct form_error e;

	CHECK_EQ_INT(parse("a=1&b=2&a=3", &f, &e), SG_OK);
	CHECK_EQ_INT(form_count(&f, "a"), 2);
	CHECK_EQ_INT(form_count(&f, "b"), 1);
	CHECK_EQ_INT(form_count(&f, "c"), 0);
	CHECK_STR(form_get(&f, "a"), "1");
	CHECK_STR(f.fields[2].value, "3");
	CHECK(form_get(&f, "c") == NULL);
	form_release(&f);
}

static void test_empty_values_and_empty_pairs(void)
{
	struct form f;
	struct form_error e;

	CHECK_EQ_INT(parse("&a=&&b&c==x&", &f, &e), SG_OK);
	CHECK_EQ_INT(f.n, 3);
	CHECK_STR(form_get(&f, "a"), "");
	CHECK_EQ_INT(f.fields[0].value_len, 0);
	CHECK_STR(form_get(&f, "b"), "");
	CHECK_STR(form_get(&f, "c"), "=x"); /* only the first '=' splits */
	form_release(&f);
	CHECK_EQ_INT(parse("", &f, &e), SG_OK);
	CHECK_EQ_INT(f.n, 0);
	form_release(&f);
}

static void test_body_need_not_be_nul_terminated(void)
{
	const char body[] = "a=12XXXX";
	struct form f;

	form_init(&f);
	CHECK_EQ_INT(form_parse(body, 4, &f, NULL), SG_OK);
	CHECK_STR(form_get(&f, "a"), "12");
	form_release(&f);
	/* An escape cut off by the length is cut off, whatever follows in memory. */
	CHECK_EQ_INT(form_parse("a=%4142", 4, &f, NULL), SG_EINVAL);
	CHECK_EQ_INT(f.n, 0);
}

static void test_invalid_percent_escape_names_the_field(void)
{
	static const char *const bad[] = { "lat=31&phone=%", "lat=31&phone=1%2", "lat=31&phone=%zz1",
					   "lat=31&phone=%4g" };
	struct form f;
	struct form_error e;

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		CHECK_EQ_INT(parse(bad[i], &f, &e), SG_EINVAL);
		CHECK_STR(e.field, "phone");
		CHECK(strstr(e.message, "escape") != NULL);
		CHECK(f.fields == NULL && f.n == 0);
	}
	/* A bad escape in the name itself names the raw name. */
	CHECK_EQ_INT(parse("ph%one=1", &f, &e), SG_EINVAL);
	CHECK_STR(e.field, "ph%one");
}

static void test_invalid_utf8_is_refused(void)
{
	static const char *const bad[] = {
		"description=%FF",          /* not a lead byte */
		"description=%E8%B7",       /* truncated sequence */
		"description=%C0%AF",       /* overlong '/' */
		"description=%ED%A0%80",    /* a UTF-16 surrogate */
		"description=%F4%90%80%80", /* above U+10FFFF */
		"description=ok%80",        /* stray continuation byte */
	};
	struct form f;
	struct form_error e;

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		CHECK_EQ_INT(parse(bad[i], &f, &e), SG_EINVAL);
		CHECK_STR(e.field, "description");
		CHECK(strstr(e.message, "UTF-8") != NULL);
	}
	/* The largest code point and a 4-byte emoji pass. */
	CHECK_EQ_INT(parse("description=%F4%8F%BF%BF%F0%9F%9A%A8", &f, &e), SG_OK);
	CHECK_EQ_INT(f.fields[0].value_len, 8);
	form_release(&f);
}

static void test_nul_byte_and_empty_name_are_refused(void)
{
	struct form f;
	struct form_error e;

	CHECK_EQ_INT(parse("first_name=a%00b", &f, &e), SG_EINVAL);
	CHECK_STR(e.field, "first_name");
	CHECK_EQ_INT(parse("a=1&=2", &f, &e), SG_EINVAL);
	CHECK_STR(e.field, "body");
}

static void test_field_count_limit(void)
{
	struct form f;
	struct form_error e;
	char *body = malloc(FORM_MAX_FIELDS * 8 + 16);
	size_t len = 0;

	for (int i = 0; i < FORM_MAX_FIELDS; i++)
		len += (size_t)snprintf(body + len, 16, "%sk%d=v", i ? "&" : "", i);
	CHECK_EQ_INT(parse(body, &f, &e), SG_OK);
	CHECK_EQ_INT(f.n, FORM_MAX_FIELDS);
	form_release(&f);
	snprintf(body + len, 16, "&one=more");
	CHECK_EQ_INT(parse(body, &f, &e), SG_ETOOBIG);
	CHECK_STR(e.field, "body");
	CHECK(f.n == 0);
	free(body);
}

static void test_value_and_name_length_limits(void)
{
	struct form f;
	struct form_error e;
	size_t cap = 32 + 3 * (FORM_MAX_VALUE + 1);
	char *body = malloc(cap);
	size_t len;

	/* Exactly the limit, written as escapes (3 raw bytes per decoded byte). */
	len = (size_t)snprintf(body, cap, "description=");
	for (int i = 0; i < FORM_MAX_VALUE; i++)
		len += (size_t)snprintf(body + len, cap - len, "%%41");
	CHECK_EQ_INT(parse(body, &f, &e), SG_OK);
	CHECK_EQ_INT(f.fields[0].value_len, FORM_MAX_VALUE);
	form_release(&f);
	snprintf(body + len, cap - len, "B");
	CHECK_EQ_INT(parse(body, &f, &e), SG_ETOOBIG);
	CHECK_STR(e.field, "description");

	memset(body, 'n', FORM_MAX_NAME + 1);
	snprintf(body + FORM_MAX_NAME + 1, cap - FORM_MAX_NAME - 1, "=1");
	CHECK_EQ_INT(parse(body, &f, &e), SG_ETOOBIG);
	CHECK_EQ_INT(strlen(e.field), FORM_MAX_NAME);
	body[1] = '=';
	body[2] = '\0';
	CHECK_EQ_INT(parse(body, &f, &e), SG_OK);
	form_release(&f);
	free(body);
}

int main(void)
{
	TEST_RUN(test_plus_and_percent_escapes_decode_in_names_and_values);
	TEST_RUN(test_repeated_names_are_kept_in_order);
	TEST_RUN(test_empty_values_and_empty_pairs);
	TEST_RUN(test_body_need_not_be_nul_terminated);
	TEST_RUN(test_invalid_percent_escape_names_the_field);
	TEST_RUN(test_invalid_utf8_is_refused);
	TEST_RUN(test_nul_byte_and_empty_name_are_refused);
	TEST_RUN(test_field_count_limit);
	TEST_RUN(test_value_and_name_length_limits);
	return test_summary("http/form");
}
