/* SPDX-License-Identifier: MIT */
/*
 * test_debug_smashed_links.c - a freed block's free-list links overwritten
 * (a use after free that hits the first words, or an overflow from below).
 * At HK_DEBUG >= 1 the heap checks a link before following or writing
 * through it: the damage is reported (HK_ECORRUPT, at the block holding
 * the link), the free index is rebuilt from the blocks themselves, and the
 * heap validates and keeps working. A link cut to NULL is invisible to
 * any single step; validate finds it, and so does the first allocation that
 * fails for want of the blocks it hides (which then succeeds). At level 0
 * the heap would follow the links (skipped).
 */
#include "test_debug_util.h"

#if HK_DEBUG >= 1
static void smash(hk_fit_t fit, unsigned which, uintptr_t value, int alloc_first)
{
    dfix_t f = dfix(fit);
    HK_REQUIRE(f.h != NULL);
    hk_block_t *fb = (hk_block_t *)(void *)(f.b - HK_W);
    if (which == 0)
        fb->next_free = (hk_block_t *)value;
    else
        fb->prev_free = (hk_block_t *)value;
    HK_CHECK_EQ(hk_heap_validate(f.h), HK_ECORRUPT);
    hk_test_capture_errors();
    if (value == 0) {
        /* A cut list looks like a normal end of list: no single step can
         * tell. The allocation that needs the hidden blocks finds it. */
        unsigned char *p = hk_heap_alloc(f.h, 2048);
        HK_CHECK(p != NULL);
        hk_heap_free(f.h, p);
    } else if (alloc_first) {
        unsigned char *p = hk_heap_alloc(f.h, 64); /* takes b, unlinks it */
        HK_CHECK(p != NULL);
        hk_heap_free(f.h, p);
    } else {
        hk_heap_free(f.h, f.c); /* merges with b: unlinks it */
        f.c = NULL;
    }
    HK_CHECK(hk_test_errors.count >= 1);
    HK_CHECK_EQ(hk_test_errors.last_code, HK_ECORRUPT);
    HK_CHECK_EQ(hk_heap_validate(f.h), 0); /* the index was rebuilt */
    still_usable(&f, 1);
    hk_heap_free(f.h, f.c);
    hk_heap_free(f.h, f.a);
    hk_stats_t s = stats_of(f.h);
    HK_CHECK_EQ(s.used, 0);
    HK_CHECK_EQ(s.free_blocks, 1);
}

static void smashed_links(hk_fit_t fit)
{
    size_t sz;
    unsigned char *arena = hk_test_arena(&sz);
    uintptr_t values[4];
    values[0] = (uintptr_t)0x1234567u;               /* wild */
    values[1] = (uintptr_t)(arena + 40);             /* misaligned, in bounds */
    values[2] = (uintptr_t)(arena + DHEAP / 2 - HK_W); /* on the grid, not a free block */
    values[3] = 0;                                   /* cut */
    for (unsigned which = 0; which < 2; which++)
        for (unsigned v = 0; v < 4; v++)
            for (int alloc_first = 0; alloc_first < 2; alloc_first++) {
                if (v == 3 && (which == 1 || fit == HK_FIT_TLSF))
                    continue; /* b heads its list (and is alone in its TLSF
                               * class): NULL is already the true link */
                smash(fit, which, values[v], alloc_first);
            }
}
#endif

static void test_smashed_links(void)
{
#if HK_DEBUG >= 1
    PER_POLICY(smashed_links);
#else
    hk_test_skip("link checks need HK_DEBUG >= 1");
#endif
}

HK_SUITE(debug_smashed_links)
{
    HK_RUN(test_smashed_links);
}
