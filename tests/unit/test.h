/*
 * test.h: the unit test harness.  Each tests/unit/test_<module>.c defines test functions and a main() that
 * runs them with TEST_RUN; a failing CHECK prints file:line and the expression and marks the test failed.
 */
#ifndef ANCHORID_TEST_H
#define ANCHORID_TEST_H

#include <stdio.h>
#include <string.h>

static int test_failures;
static int test_checks;

#define CHECK(expr)                                                                    \
	do {                                                                           \
		test_checks++;                                                         \
		if (!(expr)) {                                                         \
			fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #expr); \
			test_failures++;                                               \
		}                                                                      \
	} while (0)

#define CHECK_STR(a, b)                                                                \
	do {                                                                           \
		const char *a_ = (a), *b_ = (b);                                       \
		test_checks++;                                                         \
		if (a_ == NULL || b_ == NULL || strcmp(a_, b_) != 0) {                 \
			fprintf(stderr, "%s:%d: CHECK_STR failed: %s == \"%s\", expected \"%s\"\n", \
			    __FILE__, __LINE__, #a, a_ ? a_ : "(null)", b_ ? b_ : "(null)"); \
			test_failures++;                                               \
		}                                                                      \
	} while (0)

#define TEST_RUN(fn)                                                                   \
	do {                                                                           \
		int before_ = test_failures;                                           \
		fn();                                                                  \
		printf("%s %s\n", test_failures == before_ ? "ok  " : "FAIL", #fn);    \
	} while (0)

#define TEST_EXIT()                                                                    \
	(printf("%d checks, %d failures\n", test_checks, test_failures), test_failures ? 1 : 0)

#endif
