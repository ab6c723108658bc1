/* SPDX-License-Identifier: MIT */
/*
 * hk_test.h - heapkit's test harness. Needs no C library: output goes through
 * hk_test_putc(), which each platform provides (stdout on a host, semihosting
 * or a UART on a board), so the same suites run on every target.
 *
 * A test file defines suites:
 *     HK_SUITE(heap_basic) { HK_RUN(test_alloc_free); HK_RUN(test_zero); }
 * and checks with HK_CHECK(cond) / HK_CHECK_EQ(a, b). The build scans test
 * files for HK_SUITE(...) lines and generates the suite table, so adding a
 * suite needs no edit anywhere else. The run ends with "N passed, N failed"
 * (counting checks) and the exit status is non-zero on any failure.
 */
#ifndef HK_TEST_H
#define HK_TEST_H

#include <stddef.h>
#include <stdint.h>

/* Platform hooks. */
void hk_test_putc(char c);

/* Output. %s %c %d %u %x %p with l/ll/z size prefixes. */
void hk_test_printf(const char *fmt, ...);

/* Check counters. */
extern unsigned long hk_test_checks, hk_test_failures;
void hk_test_fail(const char *file, int line, const char *expr);
void hk_test_fail_eq(const char *file, int line, const char *expr,
                     unsigned long long a, unsigned long long b);

#define HK_CHECK(c) do { hk_test_checks++; \
    if (!(c)) hk_test_fail(__FILE__, __LINE__, #c); } while (0)
#define HK_CHECK_EQ(a, b) do { hk_test_checks++; \
    unsigned long long hk_a_ = (unsigned long long)(a), hk_b_ = (unsigned long long)(b); \
    if (hk_a_ != hk_b_) hk_test_fail_eq(__FILE__, __LINE__, #a " == " #b, hk_a_, hk_b_); } while (0)
/* Stop the current test function on failure (use where going on would crash). */
#define HK_REQUIRE(c) do { hk_test_checks++; \
    if (!(c)) { hk_test_fail(__FILE__, __LINE__, #c); return; } } while (0)

#define HK_SUITE(name) void hk_suite_##name(void); void hk_suite_##name(void)
#define HK_RUN(fn) hk_test_run(#fn, fn)
void hk_test_run(const char *name, void (*fn)(void));

/* Runs fn(ctx) with its failed checks neither printed nor counted as
 * failures of the run, and returns how many checks failed inside: for the
 * tests of test tools (a rig must notice a broken allocator). */
unsigned long hk_test_count_failures(void (*fn)(void *ctx), void *ctx);
/* Non-zero while hk_test_count_failures runs: tools print nothing then. */
extern int hk_test_quiet;

/* Marks the current test as skipped on this platform, with the reason. */
void hk_test_skip(const char *why);

/* Deterministic PRNG (xoshiro-style), seeded per test so failures reproduce
 * on every target. */
typedef struct { uint64_t s[2]; } hk_rng_t;
void hk_rng_seed(hk_rng_t *r, uint64_t seed);
uint64_t hk_rng_next(hk_rng_t *r);
/* Uniform in [0, n); n > 0. */
uint64_t hk_rng_below(hk_rng_t *r, uint64_t n);

/* A shared scratch arena for tests, HK_TEST_ARENA_SIZE bytes, aligned to 64,
 * filled with pseudo-random bytes on every call (so nothing relies on zeroed
 * memory). Returns its base; *size gets its size. */
void *hk_test_arena(size_t *size);

/* Scale for randomized tests: 1 on hosts, smaller on boards (set by the
 * target's build with -DHK_TEST_SCALE_DIV=N). Use as ops / hk_test_div(). */
#ifndef HK_TEST_SCALE_DIV
#define HK_TEST_SCALE_DIV 1
#endif
#ifndef HK_TEST_ARENA_SIZE
#define HK_TEST_ARENA_SIZE (4u * 1024u * 1024u)
#endif

/* Freestanding helpers (no libc on some targets). */
void hk_test_memset(void *p, int v, size_t n);
int hk_test_memcmp(const void *a, const void *b, size_t n);

/* Records every error-hook call so tests can assert on codes. */
typedef struct {
    unsigned count;
    int last_code;
    const void *last_ptr;
    const char *last_reason;
} hk_test_errors_t;
extern hk_test_errors_t hk_test_errors;
/* Installs the recording hook and clears the record. */
void hk_test_capture_errors(void);

/* A lock probe for tests of the lock hooks: counts lock calls, tracks the
 * nesting depth (which must never exceed 1: no allocator locks twice), and
 * checks that every unlock gets back the state its lock returned (each lock
 * returns a fresh token; a mismatch counts in bad_saved). */
typedef struct {
    int depth, max_depth;
    unsigned locks;
    unsigned bad_saved;
    uintptr_t token[4];
} hk_test_lock_probe_t;
/* Clears *p and returns hooks that record into it. */
#include "heapkit/types.h"
hk_lock_t hk_test_lock_probe(hk_test_lock_probe_t *p);

/* The size a heap reports (hk_heap_usable_size, stats.requested, the walk,
 * the free event) for a block it handed out for n bytes and cut to size:
 * n itself with HK_HEAP_EXACT; else the block's usable bytes, n plus the
 * rounding to the granule (level 0: no debug trailer). */
static inline size_t hk_test_reported(size_t n)
{
#if HK_HEAP_EXACT
    return n;
#else
    size_t w = sizeof(size_t), g = HK_ALIGN, min = (4 * w + g - 1) & ~(g - 1);
    size_t b = (n + w + g - 1) & ~(g - 1);
    return (b < min ? min : b) - w;
#endif
}

/* Runs the named suite, or all when name is NULL. Returns failures. */
int hk_test_main(const char *suite);

#endif /* HK_TEST_H */
