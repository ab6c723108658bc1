/* SPDX-License-Identifier: MIT */
/*
 * test_debug_util.h - what the misuse tests (tests/test_debug_*.c) share: a
 * small heap with three used blocks and a free one between them, per policy,
 * and the checks every misuse test ends with (one report, the right code,
 * the heap still usable).
 */
#ifndef TEST_DEBUG_UTIL_H
#define TEST_DEBUG_UTIL_H

#include "heap/block.h" /* white box: HK_W, block layout */
#include "heapkit/debug.h"
#include "heap_test_util.h"

#define DHEAP 8192u

typedef heap_fixture_t dfix_t; /* a, c used; b freed (64 bytes each) */

static inline dfix_t dfix(hk_fit_t fit)
{
    dfix_t f = heap_fixture(fit, DHEAP);
    hk_test_capture_errors();
    return f;
}

/* The heap still works: a few blocks come and go, the old ones kept their
 * bytes, and (when `clean`) the whole heap validates. */
static inline void still_usable(const dfix_t *f, int clean)
{
    void *p[6];
    for (unsigned i = 0; i < 6; i++) {
        p[i] = hk_heap_alloc(f->h, 24 + 40 * i);
        HK_CHECK(p[i] != NULL);
        if (p[i])
            pat_fill(p[i], 10 + i, 24 + 40 * i);
    }
    for (unsigned i = 0; i < 6; i++) {
        HK_CHECK(p[i] == NULL || pat_ok(p[i], 10 + i, 24 + 40 * i));
        hk_heap_free(f->h, p[i]);
    }
    HK_CHECK(pat_ok(f->a, 1, 64));
    if (clean)
        HK_CHECK_EQ(hk_heap_validate(f->h), 0);
}

#define PER_POLICY(fn)                                \
    do {                                              \
        for (unsigned i_ = 0; i_ < TEST_NFITS; i_++)  \
            fn(test_fits[i_]);                        \
    } while (0)

#endif
