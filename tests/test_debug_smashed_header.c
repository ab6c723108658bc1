/* SPDX-License-Identifier: MIT */
/*
 * test_debug_smashed_header.c - a used block's header overwritten by a
 * stray write. Every level: an absurd size is refused on free (HK_EBADPTR)
 * and seen by validate. HK_DEBUG >= 1: every single-bit change of the size
 * and flag bits the check word covers is refused on free, realloc and
 * usable_size (HK_ECORRUPT at the block) and seen by validate; the heap
 * does not follow the damaged header, so its neighbours and the rest of the
 * heap are untouched and keep working; repaired, the block frees normally.
 */
#include "test_debug_util.h"

static void absurd_size(hk_fit_t fit)
{
    dfix_t f = dfix(fit);
    HK_REQUIRE(f.h != NULL);
    size_t *hdr = (size_t *)(void *)(f.c - HK_W);
    size_t saved = *hdr;
    *hdr = (size_t)0x7fffff00u;
    hk_heap_free(f.h, f.c);
    HK_CHECK_EQ(hk_test_errors.count, 1);
    HK_CHECK_EQ(hk_test_errors.last_code, HK_EBADPTR);
    HK_CHECK_EQ(hk_heap_validate(f.h), HK_ECORRUPT);
    *hdr = saved;
    still_usable(&f, 1);
}

#if HK_DEBUG >= 1
static void every_bit(hk_fit_t fit)
{
    dfix_t f = dfix(fit);
    HK_REQUIRE(f.h != NULL);
    size_t *hdr = (size_t *)(void *)(f.c - HK_W);
    unsigned missed = 0, tried = 0;
    for (unsigned bit = 0; bit < 8 * sizeof(size_t); bit++) {
        if (bit == 1)
            continue; /* PREV_FREE: the neighbours' tags check it, below */
        size_t saved = *hdr;
        *hdr ^= (size_t)1 << bit;
        hk_test_capture_errors();
        hk_heap_free(f.h, f.c);
        tried++;
        missed += hk_test_errors.count != 1;
        HK_CHECK(hk_test_errors.count == 1);
        HK_CHECK(hk_test_errors.last_code == HK_ECORRUPT ||
                 hk_test_errors.last_code == HK_EBADPTR ||
                 hk_test_errors.last_code == HK_EDOUBLEFREE);
        HK_CHECK_EQ(hk_heap_usable_size(f.h, f.c), 0);
        HK_CHECK(hk_heap_realloc(f.h, f.c, 100) == NULL);
        HK_CHECK_EQ(hk_heap_validate(f.h), HK_ECORRUPT);
        *hdr = saved;
    }
    HK_CHECK_EQ(missed, 0);
    HK_CHECK(tried > 30);
    /* PREV_FREE set on a block whose left neighbour is used */
    size_t *ahdr = (size_t *)(void *)(f.a - HK_W);
    *ahdr |= 2;
    hk_test_capture_errors();
    hk_heap_free(f.h, f.a);
    HK_CHECK_EQ(hk_test_errors.count, 1);
    *ahdr &= ~(size_t)2;
    HK_CHECK(pat_ok(f.c, 3, 64));
    HK_CHECK_EQ(hk_heap_validate(f.h), 0);
    hk_test_capture_errors();
    hk_heap_free(f.h, f.c);
    HK_CHECK_EQ(hk_test_errors.count, 0);
    still_usable(&f, 1);
}

/* The trailer's site fields are covered too: a changed line number is a
 * changed block. */
static void trailer_fields(hk_fit_t fit)
{
    dfix_t f = dfix(fit);
    HK_REQUIRE(f.h != NULL);
    for (unsigned off = 4; off < 20 + sizeof(void *); off++) {
        unsigned char *t = f.c + 64 + off;
        *t ^= 0x10;
        hk_test_capture_errors();
        hk_heap_free(f.h, f.c);
        HK_CHECK_EQ(hk_test_errors.count, 1);
        HK_CHECK_EQ(hk_test_errors.last_code, HK_ECORRUPT);
        *t ^= 0x10;
    }
    still_usable(&f, 1);
}
#endif

static void test_smashed_header(void)
{
    PER_POLICY(absurd_size);
#if HK_DEBUG >= 1
    PER_POLICY(every_bit);
    PER_POLICY(trailer_fields);
#endif
}

HK_SUITE(debug_smashed_header)
{
    HK_RUN(test_smashed_header);
}
