/* SPDX-License-Identifier: MIT */
/*
 * test_debug_interior_free.c - a pointer into the middle of a live block
 * (aligned, so it passes the cheap alignment test) is reported as
 * HK_EBADPTR, and neither the block nor the heap changes. Every level.
 */
#include "test_debug_util.h"

static void interior_free(hk_fit_t fit)
{
    dfix_t f = dfix(fit);
    HK_REQUIRE(f.h != NULL);
    unsigned char *big = hk_heap_alloc(f.h, 512);
    HK_REQUIRE(big != NULL);
    pat_fill(big, 7, 512);
    for (size_t off = HK_ALIGN; off < 512; off += 3 * HK_ALIGN) {
        hk_test_capture_errors();
        hk_heap_free(f.h, big + off);
        HK_CHECK_EQ(hk_test_errors.count, 1);
        HK_CHECK_EQ(hk_test_errors.last_code, HK_EBADPTR);
        HK_CHECK(hk_heap_realloc(f.h, big + off, 8) == NULL);
        HK_CHECK_EQ(hk_test_errors.count, 2);
    }
    HK_CHECK(pat_ok(big, 7, 512));
    HK_CHECK_EQ(hk_heap_usable_size(f.h, big), hk_test_reported(512));
    HK_CHECK_EQ(hk_heap_validate(f.h), 0);
    hk_heap_free(f.h, big);
    still_usable(&f, 1);
}

static void test_interior_free(void)
{
    PER_POLICY(interior_free);
}

HK_SUITE(debug_interior_free)
{
    HK_RUN(test_interior_free);
}
