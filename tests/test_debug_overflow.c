/* SPDX-License-Identifier: MIT */
/*
 * test_debug_overflow.c - writing one byte past the requested size (an
 * off-by-one, the most common overflow) is caught at HK_DEBUG >= 1: by the
 * canary on free, on realloc and by validate, reported as HK_ECORRUPT with
 * the block's allocation site. The call is refused (one rule for every damage
 * found on a block being freed or resized, see heapkit/debug.h): the block
 * stays allocated with its bytes, and the heap usable. At level 0 the byte
 * lands in slack nobody checks (skipped).
 */
#include "test_debug_util.h"

#if HK_DEBUG >= 1
static void overflow_by_one(hk_fit_t fit)
{
    dfix_t f = dfix(fit);
    HK_REQUIRE(f.h != NULL);
    for (size_t n = 1; n <= 130; n += 43) {
        unsigned char *p = HK_ALLOC_TAG(f.h, n, 77);
        HK_REQUIRE(p != NULL);
        pat_fill(p, 9, n);
        unsigned char keep = p[n];
        p[n] = 0; /* a string's terminator one past the end */
        hk_test_capture_errors();
        HK_CHECK_EQ(hk_heap_validate(f.h), HK_ECORRUPT);
        HK_CHECK_EQ(hk_test_errors.count, 1);
        hk_heap_free(f.h, p); /* refused: p stays allocated */
        HK_CHECK_EQ(hk_test_errors.count, 2);
        HK_CHECK_EQ(hk_test_errors.last_code, HK_ECORRUPT);
        HK_CHECK(hk_test_errors.last_ptr == p);
        HK_CHECK(pat_ok(p, 9, n));
        HK_CHECK(hk_heap_realloc(f.h, p, n + 100) == NULL); /* refused too */
        HK_CHECK_EQ(hk_test_errors.count, 3);
        HK_CHECK_EQ(hk_heap_usable_size(f.h, p), hk_test_reported(n)); /* still a live block */
        p[n] = keep; /* repaired: accepted */
        HK_CHECK_EQ(hk_heap_validate(f.h), 0);
        hk_heap_free(f.h, p);
        HK_CHECK_EQ(hk_test_errors.count, 3);
        HK_CHECK_EQ(hk_heap_validate(f.h), 0);
    }
    still_usable(&f, 1);
}

/* The site reaches the hook while it runs. */
static const char *seen_file;
static unsigned seen_line;
static uint32_t seen_tag;
static void site_hook(int code, const void *ptr, const char *reason, void *ctx)
{
    (void)code, (void)ptr, (void)reason, (void)ctx;
    const hk_alloc_info_t *s = hk_debug_error_site();
    seen_file = s ? s->file : NULL;
    seen_line = s ? s->line : 0;
    seen_tag = s ? s->tag : 0;
}

static void overflow_names_site(hk_fit_t fit)
{
    dfix_t f = dfix(fit);
    HK_REQUIRE(f.h != NULL);
    unsigned line = __LINE__ + 1;
    unsigned char *p = HK_ALLOC_TAG(f.h, 33, 5);
    HK_REQUIRE(p != NULL);
    p[33] ^= 0x40;
    hk_set_error_hook(site_hook, NULL);
    seen_file = NULL;
    HK_CHECK(hk_heap_realloc(f.h, p, 20) == NULL); /* reported and refused */
    p[33] ^= 0x40;
    p = hk_heap_realloc(f.h, p, 20);
    HK_CHECK(seen_file != NULL && hk_test_memcmp(seen_file, __FILE__, 10) == 0);
    HK_CHECK_EQ(seen_line, line);
    HK_CHECK_EQ(seen_tag, 5);
    HK_CHECK(hk_debug_error_site() == NULL); /* only while the hook runs */
    hk_test_capture_errors();
    HK_CHECK(p != NULL);
    hk_heap_free(f.h, p);
    HK_CHECK_EQ(hk_test_errors.count, 0); /* the new trailer is whole */
    still_usable(&f, 1);
}
#endif

static void test_overflow_by_one(void)
{
#if HK_DEBUG >= 1
    PER_POLICY(overflow_by_one);
    PER_POLICY(overflow_names_site);
#else
    hk_test_skip("canaries need HK_DEBUG >= 1");
#endif
}

HK_SUITE(debug_overflow)
{
    HK_RUN(test_overflow_by_one);
}
