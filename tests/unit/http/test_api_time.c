/* test_api_time.c — API timestamps: the hand-written civil date against gmtime. */
#include "http/api.h"

#include <stdint.h>
#include <string.h>
#include <time.h>

#include "test.h"

static int same_as_gmtime(int64_t t)
{
	char got[32], want[32];
	time_t tt = (time_t)t;
	struct tm tm;

	api_format_time(t, got);
	gmtime_r(&tt, &tm);
	strftime(want, sizeof want, "%Y-%m-%dT%H:%M:%SZ", &tm);
	if (strcmp(got, want) != 0)
		fprintf(stderr, "  api_format_time(%lld): %s, gmtime gives %s\n", (long long)t, got,
			want);
	return strcmp(got, want) == 0;
}

static void test_time_matches_gmtime_everywhere(void)
{
	static const int64_t edge[] = { 0, -1, 59, 60, 86399, 86400, -86400, -86401,
					951782400 /* 2000-02-29 */, 951868799, 4107542400 /* 2100-03-01 */,
					1795895683, 253402300799 /* 9999-12-31T23:59:59 */,
					-62167219200 /* 0000-01-01 */, -30610224000 /* 1000-01-01 */ };
	uint64_t s = 0x9e3779b97f4a7c15ull;
	int bad = 0;

	for (size_t i = 0; i < sizeof edge / sizeof edge[0]; i++)
		bad += !same_as_gmtime(edge[i]);
	for (int i = 0; i < 200000 && bad < 10; i++) {
		s ^= s << 13;
		s ^= s >> 7;
		s ^= s << 17;
		/* 1900 to 2300: every leap rule, both signs of the epoch. */
		bad += !same_as_gmtime((int64_t)(s % 12622780800ull) - 2208988800LL);
	}
	CHECK_EQ_INT(bad, 0);
}

int main(void)
{
	TEST_RUN(test_time_matches_gmtime_everywhere);
	return test_summary("http/api_time");
}
