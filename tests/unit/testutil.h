/* Tiny assertion macros for standalone unit-test programs: each failed check prints
 * "FAIL file:line expr", each test function run prints "ok name" or "FAIL name", and
 * TU_EXIT() returns non-zero if anything failed. TU_SKIP exits 77 (the automake skip code)
 * unless a check already failed. */
#ifndef CABIN_TESTUTIL_H
#define CABIN_TESTUTIL_H

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int tu_failures __attribute__((unused));

#define TU_CHECK(expr)                                                                \
	do {                                                                          \
		if (!(expr)) {                                                        \
			tu_failures++;                                                \
			fprintf(stderr, "FAIL %s:%d %s\n", __FILE__, __LINE__, #expr); \
		}                                                                     \
	} while (0)

#define TU_EQ_INT(a, b)                                                                    \
	do {                                                                               \
		long long tu_a_ = (long long)(a), tu_b_ = (long long)(b);                  \
		if (tu_a_ != tu_b_) {                                                      \
			tu_failures++;                                                     \
			fprintf(stderr, "FAIL %s:%d %s == %s (%lld != %lld)\n", __FILE__,  \
				__LINE__, #a, #b, tu_a_, tu_b_);                           \
		}                                                                          \
	} while (0)

#define TU_EQ_STR(a, b)                                                                  \
	do {                                                                             \
		const char *tu_a_ = (a), *tu_b_ = (b);                                   \
		if (!tu_a_ || !tu_b_ || strcmp(tu_a_, tu_b_) != 0) {                     \
			tu_failures++;                                                   \
			fprintf(stderr, "FAIL %s:%d %s == %s (\"%s\" != \"%s\")\n",      \
				__FILE__, __LINE__, #a, #b, tu_a_ ? tu_a_ : "(null)",    \
				tu_b_ ? tu_b_ : "(null)");                               \
		}                                                                        \
	} while (0)

/* Runs one test function (void fn(void)) and reports it by name. */
#define TU_RUN(fn)                                                           \
	do {                                                                 \
		int tu_before_ = tu_failures;                                \
		fn();                                                        \
		printf("%s %s\n", tu_failures == tu_before_ ? "ok" : "FAIL", #fn); \
		fflush(stdout);                                              \
	} while (0)

/* Skips the rest of the program; checks that already failed still fail it. */
#define TU_SKIP(...)                                  \
	do {                                          \
		printf("SKIP ");                      \
		printf(__VA_ARGS__);                  \
		printf("\n");                         \
		exit(tu_failures ? 1 : 77);           \
	} while (0)

#define TU_EXIT() (tu_failures ? (fprintf(stderr, "%d check(s) failed\n", tu_failures), 1) : 0)

#endif
