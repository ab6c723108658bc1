/* SPDX-License-Identifier: MIT */
/*
 * test_debug_underflow.c - writing below a block's start damages its
 * header. A write that makes the size absurd is refused at every level
 * (HK_EBADPTR: "header overwritten?"); at HK_DEBUG >= 1 a write that keeps
 * the header plausible is refused too, by the check word (HK_ECORRUPT).
 * The block is not freed (its header cannot be trusted), nothing else
 * changes, and once the header is repaired the block frees normally.
 */
#include "test_debug_util.h"

static void underflow(hk_fit_t fit)
{
    dfix_t f = dfix(fit);
    HK_REQUIRE(f.h != NULL);
    unsigned char saved[4];
    for (unsigned i = 0; i < 4; i++)
        saved[i] = (f.c - 4)[i];
    hk_test_memset(f.c - 4, '@', 4); /* four bytes written just below c */
    hk_heap_free(f.h, f.c);
    HK_CHECK_EQ(hk_test_errors.count, 1);
    HK_CHECK_EQ(hk_test_errors.last_code, HK_EBADPTR);
    HK_CHECK(pat_ok(f.c, 3, 64));
    HK_CHECK_EQ(hk_heap_validate(f.h), HK_ECORRUPT);
    still_usable(&f, 0);
    for (unsigned i = 0; i < 4; i++)
        (f.c - 4)[i] = saved[i];
    HK_CHECK_EQ(hk_heap_validate(f.h), 0);

#if HK_DEBUG >= 1
    /* plausible: the size one granule larger */
    size_t *hdr = (size_t *)(void *)(f.a - HK_W);
    *hdr += HK_ALIGN;
    hk_test_capture_errors();
    hk_heap_free(f.h, f.a);
    HK_CHECK_EQ(hk_test_errors.count, 1);
    HK_CHECK(hk_test_errors.last_code == HK_ECORRUPT || hk_test_errors.last_code == HK_EBADPTR);
    HK_CHECK(pat_ok(f.a, 1, 64));
    *hdr -= HK_ALIGN;
    /* plausible: the slack flag dropped */
    *hdr &= ~(size_t)4;
    hk_test_capture_errors();
    hk_heap_free(f.h, f.a);
    HK_CHECK_EQ(hk_test_errors.count, 1);
    HK_CHECK_EQ(hk_test_errors.last_code, HK_ECORRUPT);
    *hdr |= 4;
#endif
    hk_test_capture_errors();
    hk_heap_free(f.h, f.c);
    HK_CHECK_EQ(hk_test_errors.count, 0);
    still_usable(&f, 1);
}

static void test_underflow(void)
{
    PER_POLICY(underflow);
}

HK_SUITE(debug_underflow)
{
    HK_RUN(test_underflow);
}
