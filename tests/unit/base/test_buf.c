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

/* printf formats into the free space when it fits, and again after growing when not. */
static void test_printf_at_every_fill_level_matches_snprintf(void)
{
	int bad = 0;

	for (size_t pre = 0; pre < 140; pre++) {
		for (int w = 0; w < 90; w += 7) {
			struct sg_buf b;
			char want[512];
			sg_buf_init(&b, 0);
			for (size_t i = 0; i < pre; i++)
				sg_buf_putc(&b, (char)('a' + i % 26));
			snprintf(want, sizeof want, "%s%*d|%.3f", b.data ? b.data : "", w, (int)pre, 1.5);
			if (sg_buf_printf(&b, "%*d|%.3f", w, (int)pre, 1.5) != 0 ||
			    strcmp(b.data, want) != 0 || b.len != strlen(want))
				bad++;
			sg_buf_release(&b);
		}
	}
	CHECK_EQ_INT(bad, 0);
}

static void test_printf_past_cap_fails_and_changes_nothing(void)
{
	struct sg_buf b;

	sg_buf_init(&b, 16);
	CHECK_EQ_INT(sg_buf_puts(&b, "0123456789"), 0);
	CHECK(sg_buf_printf(&b, "%s", "abcdefgh") != 0);
	CHECK_STR(b.data, "0123456789");
	CHECK_EQ_INT(b.len, 10);
	CHECK_EQ_INT(sg_buf_printf(&b, "%d", 12345), 0);
	CHECK_STR(b.data, "012345678912345");
	sg_buf_release(&b);
}

int main(void)
{
	TEST_RUN(test_append_grows_and_stays_nul_terminated);
	TEST_RUN(test_append_past_cap_fails_and_changes_nothing);
	TEST_RUN(test_json_string_escapes_quotes_controls_and_keeps_utf8);
	TEST_RUN(test_steal_hands_over_and_reinitialises);
	TEST_RUN(test_printf_at_every_fill_level_matches_snprintf);
	TEST_RUN(test_printf_past_cap_fails_and_changes_nothing);
	return test_summary("base/buf");
}
