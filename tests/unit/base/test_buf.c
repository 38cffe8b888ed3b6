/* test_buf.c — the capped buffer: growth, cap, printf, numbers, JSON strings, steal. */
#include "base/buf.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
	CHECK_EQ_INT(b.err, SG_ETOOBIG);
	sg_buf_release(&b);
}

static void test_a_failed_append_fails_every_later_one_until_a_reset(void)
{
	struct sg_buf b;

	sg_buf_init(&b, 8);
	CHECK_EQ_INT(sg_buf_puts(&b, "1234"), 0);
	CHECK_EQ_INT(sg_buf_puts(&b, "56789"), SG_ETOOBIG); /* does not fit */
	/* Each of these would fit, but the text would lack "56789": none is taken. */
	CHECK_EQ_INT(sg_buf_putc(&b, '5'), SG_ETOOBIG);
	CHECK_EQ_INT(sg_buf_printf(&b, "%d", 5), SG_ETOOBIG);
	CHECK_EQ_INT(sg_buf_put_int(&b, 5), SG_ETOOBIG);
	CHECK_EQ_INT(sg_buf_put_fixed(&b, 0.5, 1), SG_ETOOBIG);
	CHECK_EQ_INT(sg_buf_json_str(&b, "5"), SG_ETOOBIG);
	CHECK_STR(b.data, "1234");
	CHECK_EQ_INT(b.err, SG_ETOOBIG);
	sg_buf_reset(&b);
	CHECK_EQ_INT(b.err, 0);
	CHECK_EQ_INT(sg_buf_puts(&b, "ok"), 0);
	CHECK_STR(b.data, "ok");
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
	/* The failure is kept, though this would fit: see buf.h. */
	CHECK_EQ_INT(sg_buf_printf(&b, "%d", 12345), SG_ETOOBIG);
	CHECK_STR(b.data, "0123456789");
	sg_buf_release(&b);
}

/* Compares sg_buf_put_fixed with snprintf for v at every decimals count. */
static int fixed_matches(double v, unsigned decimals)
{
	struct sg_buf b;
	char want[400];
	int ok;

	sg_buf_init(&b, 0);
	snprintf(want, sizeof want, "%.*f", (int)decimals, v);
	ok = sg_buf_put_fixed(&b, v, decimals) == 0 && b.data && strcmp(b.data, want) == 0;
	if (!ok)
		fprintf(stderr, "  put_fixed(%.17g, %u): got \"%s\", printf gives \"%s\"\n", v,
			decimals, b.data ? b.data : "(null)", want);
	sg_buf_release(&b);
	return ok;
}

static void test_fixed_is_printf_bit_for_bit(void)
{
	static const double edge[] = { 0.0, -0.0, 0.5, 1.5, 2.5, -2.5, 0.05, 0.15, 0.25, 0.35,
				       1e-9, -1e-9, 0.049999999999999996, 120.62850005,
				       31.32370005, -120.6285, 999999.95, 1099511627775.5,
				       1099511627776.0, 1e300, -1e300, 4.35, 1.0000000499999999 };
	uint64_t s = 88172645463325252ull;
	int bad = 0;

	for (size_t i = 0; i < sizeof edge / sizeof edge[0]; i++)
		for (unsigned d = 0; d <= 12; d++)
			bad += !fixed_matches(edge[i], d);
	bad += !fixed_matches(INFINITY, 7) + !fixed_matches(-INFINITY, 1) + !fixed_matches(NAN, 3);
	for (int i = 0; i < 300000 && bad < 10; i++) {
		double v;
		s ^= s << 13;
		s ^= s >> 7;
		s ^= s << 17;
		switch (i % 4) {
		case 0: /* coordinates, as the API writes them */
			v = (double)(s % 3600000000000ull) / 1e10 - 180.0;
			break;
		case 1: /* decimal ties and near-ties at the last digit */
			v = ((double)(s % 100000000ull) + 0.5) / 1e7;
			break;
		case 2: /* distances in metres */
			v = (double)(s % 1000000000ull) / 997.0;
			break;
		default: { /* any bit pattern */
			memcpy(&v, &s, sizeof v);
			break;
		}
		}
		bad += !fixed_matches(v, (unsigned)(s >> 60) % 10);
		bad += !fixed_matches(v, 7);
		bad += !fixed_matches(v, 1);
	}
	CHECK_EQ_INT(bad, 0);
}

static void test_put_int_covers_the_range(void)
{
	static const long long v[] = { 0, 7, -7, 10, 1234567890123LL, -9223372036854775807LL - 1,
				       9223372036854775807LL };
	struct sg_buf b;
	char want[32];

	for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
		sg_buf_init(&b, 0);
		snprintf(want, sizeof want, "%lld", v[i]);
		CHECK_EQ_INT(sg_buf_put_int(&b, v[i]), 0);
		CHECK_STR(b.data, want);
		sg_buf_release(&b);
	}
}

int main(void)
{
	TEST_RUN(test_append_grows_and_stays_nul_terminated);
	TEST_RUN(test_append_past_cap_fails_and_changes_nothing);
	TEST_RUN(test_a_failed_append_fails_every_later_one_until_a_reset);
	TEST_RUN(test_json_string_escapes_quotes_controls_and_keeps_utf8);
	TEST_RUN(test_steal_hands_over_and_reinitialises);
	TEST_RUN(test_printf_at_every_fill_level_matches_snprintf);
	TEST_RUN(test_printf_past_cap_fails_and_changes_nothing);
	TEST_RUN(test_fixed_is_printf_bit_for_bit);
	TEST_RUN(test_put_int_covers_the_range);
	return test_summary("base/buf");
}
