/* test_buf.c — the capped buffer: growth, cap, JSON strings, steal. */
#include "base/buf.h"

#include <stdlib.h>

#include "base/err.h"
#include "test.h"

static void test_append_grows_and_stays_nul_terminated(void)
{
	struct sg_buf b;
	int rc = 0;

	sg_buf_init(&b, 0);
	for (int i = 0; i < 1000; i++)
		rc |= sg_buf_printf(&b, "%d,", i % 10);
	CHECK_EQ_INT(rc, 0);
	CHECK_EQ_INT(b.len, 2000);
	CHECK_EQ_INT(b.data[b.len], '\0');
	CHECK_EQ_INT(strncmp(b.data, "0,1,2,", 6), 0);
	sg_buf_reset(&b);
	CHECK_EQ_INT(b.len, 0);
	CHECK_STR(b.data, "");
	sg_buf_release(&b);
}

static void test_append_past_cap_fails_and_changes_nothing(void)
{
	struct sg_buf b;

	sg_buf_init(&b, 8);
	CHECK_EQ_INT(sg_buf_puts(&b, "12345678"), 0);
	CHECK_EQ_INT(sg_buf_putc(&b, '9'), SG_ETOOBIG);
	CHECK_EQ_INT(sg_buf_printf(&b, "%s", "x"), SG_ETOOBIG);
	CHECK_EQ_INT(b.len, 8);
	CHECK_STR(b.data, "12345678");
	sg_buf_release(&b);
}

static void test_json_string_escapes_quotes_controls_and_keeps_utf8(void)
{
	struct sg_buf b;

	sg_buf_init(&b, 0);
	CHECK_EQ_INT(sg_buf_json_str(&b, "姑苏\"区\"\\\n\x01"), 0);
	CHECK_STR(b.data, "\"姑苏\\\"区\\\"\\\\\\n\\u0001\"");
	sg_buf_release(&b);
}

static void test_steal_hands_over_and_reinitialises(void)
{
	struct sg_buf b;
	size_t len = 99;
	char *p;

	sg_buf_init(&b, 0);
	p = sg_buf_steal(&b, &len);
	CHECK(p != NULL);
	CHECK_EQ_INT(len, 0);
	free(p);
	sg_buf_puts(&b, "abc");
	p = sg_buf_steal(&b, &len);
	CHECK_STR(p, "abc");
	CHECK_EQ_INT(len, 3);
	CHECK(b.data == NULL && b.len == 0);
	free(p);
}

int main(void)
{
	TEST_RUN(test_append_grows_and_stays_nul_terminated);
	TEST_RUN(test_append_past_cap_fails_and_changes_nothing);
	TEST_RUN(test_json_string_escapes_quotes_controls_and_keeps_utf8);
	TEST_RUN(test_steal_hands_over_and_reinitialises);
	return test_summary("base/buf");
}
