/* SPDX-License-Identifier: MIT */
/*
 * test_debug_double_free.c - freeing a block twice is reported as
 * HK_EDOUBLEFREE and changes nothing, whether the freed block is still a
 * block of its own or has merged with a neighbour (at HK_DEBUG >= 1 its
 * header is then the free pattern). Every level.
 */
#include "test_debug_util.h"

static void double_free(hk_fit_t fit)
{
    dfix_t f = dfix(fit);
    HK_REQUIRE(f.h != NULL);
    hk_heap_free(f.h, f.b); /* b is a free block of its own */
    HK_CHECK_EQ(hk_test_errors.count, 1);
    HK_CHECK_EQ(hk_test_errors.last_code, HK_EDOUBLEFREE);
    HK_CHECK(hk_test_errors.last_ptr == f.b);
    still_usable(&f, 1);

    hk_heap_free(f.h, f.c); /* c merges with b (and with the rest) */
    hk_test_capture_errors();
    hk_heap_free(f.h, f.c);
    HK_CHECK_EQ(hk_test_errors.count, 1);
    HK_CHECK_EQ(hk_test_errors.last_code, HK_EDOUBLEFREE);
    HK_CHECK(hk_heap_realloc(f.h, f.c, 10) == NULL); /* realloc refuses it too */
    HK_CHECK_EQ(hk_test_errors.count, 2);
    HK_CHECK_EQ(hk_test_errors.last_code, HK_EDOUBLEFREE);
    still_usable(&f, 1);
}

static void test_double_free(void)
{
    PER_POLICY(double_free);
}

HK_SUITE(debug_double_free)
{
    HK_RUN(test_double_free);
}
