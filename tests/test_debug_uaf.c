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
#endif

static void test_write_after_free(void)
{
#if HK_DEBUG >= 1
    PER_POLICY(write_after_free);
#else
    hk_test_skip("free poisoning needs HK_DEBUG >= 1");
#endif
}

HK_SUITE(debug_uaf)
{
    HK_RUN(test_write_after_free);
}
