/*
 * test.h — the unit-test harness: checks that count, and one summary line.
 *
 * A test file defines static void test_<what_it_proves>(void) functions,
 * calls them with TEST_RUN from main, and returns test_summary("<suite>"),
 * which prints "<suite>: N passed, N failed" (the line make test sums).
 * A check failing prints file:line and the expression and counts one failure;
 * the test goes on, so one run shows every broken check.
 */
#ifndef SAFEGRID_TESTS_TEST_H
#define SAFEGRID_TESTS_TEST_H

#include <math.h>
#include <stdio.h>
#include <string.h>

static int test_passed, test_failed;
static const char *test_current;

#define CHECK(cond)                                                                       \
	do {                                                                              \
		if (cond) {                                                               \
			test_passed++;                                                    \
		} else {                                                                  \
			test_failed++;                                                    \
			fprintf(stderr, "FAIL %s:%d %s: %s\n", __FILE__, __LINE__,        \
				test_current, #cond);                                     \
		}                                                                         \
	} while (0)

#define CHECK_EQ_INT(a, b)                                                                \
	do {                                                                              \
		long long va_ = (long long)(a), vb_ = (long long)(b);                     \
		if (va_ == vb_) {                                                         \
			test_passed++;                                                    \
		} else {                                                                  \
			test_failed++;                                                    \
			fprintf(stderr, "FAIL %s:%d %s: %s == %s (%lld != %lld)\n",       \
				__FILE__, __LINE__, test_current, #a, #b, va_, vb_);      \
		}                                                                         \
	} while (0)

#define CHECK_NEAR(a, b, eps)                                                             \
	do {                                                                              \
		double va_ = (a), vb_ = (b);                                              \
		if (fabs(va_ - vb_) <= (eps)) {                                           \
			test_passed++;                                                    \
		} else {                                                                  \
			test_failed++;                                                    \
			fprintf(stderr, "FAIL %s:%d %s: %s ~ %s (%.12g vs %.12g)\n",      \
				__FILE__, __LINE__, test_current, #a, #b, va_, vb_);      \
		}                                                                         \
	} while (0)

#define CHECK_STR(a, b)                                                                   \
	do {                                                                              \
		const char *sa_ = (a), *sb_ = (b);                                        \
		if (sa_ && sb_ && strcmp(sa_, sb_) == 0) {                                \
			test_passed++;                                                    \
		} else {                                                                  \
			test_failed++;                                                    \
			fprintf(stderr, "FAIL %s:%d %s: %s == %s (\"%s\" vs \"%s\")\n",   \
				__FILE__, __LINE__, test_current, #a, #b,                 \
				sa_ ? sa_ : "(null)", sb_ ? sb_ : "(null)");              \
		}                                                                         \
	} while (0)

#define TEST_RUN(fn)                  \
	do {                          \
		test_current = #fn;   \
		fn();                 \
	} while (0)

static inline int test_summary(const char *suite)
{
	printf("%s: %d passed, %d failed\n", suite, test_passed, test_failed);
	return test_failed ? 1 : 0;
}

#endif
