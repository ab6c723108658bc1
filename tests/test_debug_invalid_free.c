/* SPDX-License-Identifier: MIT */
/*
 * test_debug_invalid_free.c - pointers that never came from this heap
 * (outside every region, the control block, misaligned, a second heap's
 * block) are reported as HK_EBADPTR and change nothing. Every level.
 */
#include "test_debug_util.h"

static void invalid_free(hk_fit_t fit)
{
    dfix_t f = dfix(fit);
    HK_REQUIRE(f.h != NULL);
    static uint64_t elsewhere[8];
    void *bad[4];
    bad[0] = &elsewhere[2];       /* a static */
    bad[1] = f.mem + DHEAP + 64;  /* past the heap */
    bad[2] = f.h;                 /* the control block */
    bad[3] = f.a + 3;             /* misaligned */
    for (unsigned i = 0; i < 4; i++) {
        hk_test_capture_errors();
        hk_heap_free(f.h, bad[i]);
        HK_CHECK_EQ(hk_test_errors.count, 1);
        HK_CHECK_EQ(hk_test_errors.last_code, HK_EBADPTR);
        HK_CHECK(hk_test_errors.last_ptr == bad[i]);
        HK_CHECK_EQ(hk_heap_usable_size(f.h, bad[i]), 0);
    }
    /* a block of another heap */
    hk_heap_t *h2 = hk_heap_init(f.mem + DHEAP + 128, DHEAP, NULL);
    HK_REQUIRE(h2 != NULL);
    void *q = hk_heap_alloc(h2, 40);
    hk_test_capture_errors();
    hk_heap_free(f.h, q);
    HK_CHECK_EQ(hk_test_errors.count, 1);
    HK_CHECK_EQ(hk_test_errors.last_code, HK_EBADPTR);
    hk_heap_free(h2, q);
    HK_CHECK_EQ(hk_test_errors.count, 1);
    HK_CHECK_EQ(hk_heap_validate(h2), 0);
    still_usable(&f, 1);
}

static void test_invalid_free(void)
{
    PER_POLICY(invalid_free);
}

HK_SUITE(debug_invalid_free)
{
    HK_RUN(test_invalid_free);
}
