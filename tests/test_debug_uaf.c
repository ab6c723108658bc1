/* SPDX-License-Identifier: MIT */
/*
 * test_debug_uaf.c - a write into a block after it was freed is caught at
 * HK_DEBUG >= 1: by validate (HK_ECORRUPT at the written byte), and when
 * the heap hands that memory out again (reported, then handed out anyway:
 * the heap's own structure was not touched). Also: new memory carries the
 * alloc pattern, so reading it uninitialised shows 0xCD bytes.
 */
#include "test_debug_util.h"

#if HK_DEBUG >= 1
static void write_after_free(hk_fit_t fit)
{
    dfix_t f = dfix(fit);
    HK_REQUIRE(f.h != NULL);
    HK_CHECK_EQ(hk_heap_validate(f.h), 0);
    f.b[40] = 0x5a; /* the program still holds b */
    HK_CHECK_EQ(hk_heap_validate(f.h), HK_ECORRUPT);
    HK_CHECK_EQ(hk_test_errors.last_code, HK_ECORRUPT);
    HK_CHECK(hk_test_errors.last_ptr == f.b + 40);
    hk_test_capture_errors();
    unsigned char *again = hk_heap_alloc(f.h, 64); /* b's memory comes back */
    HK_CHECK(again == f.b);
    HK_CHECK_EQ(hk_test_errors.count, 1);
    HK_CHECK_EQ(hk_test_errors.last_code, HK_ECORRUPT);
    HK_CHECK(hk_test_errors.last_ptr == f.b + 40);
    unsigned cd = 0;
    for (unsigned i = 0; i < 64; i++)
        cd += again[i] == HK_DEBUG_ALLOC_BYTE;
    HK_CHECK_EQ(cd, 64);
    HK_CHECK_EQ(hk_heap_validate(f.h), 0);
    hk_heap_free(f.h, again);
    /* after a merge: c freed next to b, then written */
    hk_heap_free(f.h, f.c);
    f.c[10] = 1;
    hk_test_capture_errors();
    HK_CHECK_EQ(hk_heap_validate(f.h), HK_ECORRUPT);
    HK_CHECK(hk_test_errors.last_ptr == f.c + 10);
    f.c[10] = HK_DEBUG_FREE_BYTE;
    still_usable(&f, 1);
}

/* A write after free into the first bytes of a block that merged into a
 * free neighbour, when the next allocations split the merged block at the
 * same place: the split would write the tail's header and links over the
 * written bytes; it checks them first. */
static void write_after_free_then_split(hk_fit_t fit)
{
    size_t sz;
    unsigned char *mem = hk_test_arena(&sz);
    hk_heap_config_t c = test_cfg(fit);
    hk_heap_t *h = hk_heap_init(mem, DHEAP, &c);
    HK_REQUIRE(h != NULL);
    unsigned char *a = hk_heap_alloc(h, 100);
    unsigned char *b = hk_heap_alloc(h, 40);
    unsigned char *g = hk_heap_alloc(h, 16);
    HK_REQUIRE(a && b && g);
    hk_heap_free(h, a);
    hk_heap_free(h, b); /* merges into a's free block */
    hk_test_capture_errors();
    for (unsigned i = 0; i < 16; i++)
        b[i] = 0x41;
    unsigned char *x = hk_heap_alloc(h, 100);
    unsigned char *y = hk_heap_alloc(h, 40);
    HK_CHECK(x == a && y == b); /* the same split, at the same place */
    HK_CHECK(hk_test_errors.count >= 1);
    HK_CHECK_EQ(hk_test_errors.last_code, HK_ECORRUPT);
    HK_CHECK(hk_test_errors.last_ptr >= (const void *)(b - HK_W) &&
             hk_test_errors.last_ptr < (const void *)(b + 16));
    HK_CHECK_EQ(hk_heap_validate(h), 0);
    hk_heap_free(h, x);
    hk_heap_free(h, y);
    hk_heap_free(h, g);
    HK_CHECK_EQ(hk_heap_validate(h), 0);
}
#endif

static void test_write_after_free(void)
{
#if HK_DEBUG >= 1
    PER_POLICY(write_after_free);
    PER_POLICY(write_after_free_then_split);
#else
    hk_test_skip("free poisoning needs HK_DEBUG >= 1");
#endif
}

HK_SUITE(debug_uaf)
{
    HK_RUN(test_write_after_free);
}
