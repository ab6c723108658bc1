/* SPDX-License-Identifier: MIT */
/*
 * test_heap_lean.c - the heap's code size options (include/heapkit/config.h):
 * HK_HEAP_REGIONS, HK_HEAP_GROW, HK_MESSAGES. Each test asserts what the
 * option compiled into this build promises, so the default build checks the
 * full heap and the lean build (HK_HEAP_MINIMAL, scripts/stages/15-heap-lean.sh)
 * checks that the options really change behaviour as documented.
 * HK_HEAP_REPAIR and HK_HEAP_RESIZE_LEFT are covered where their cases are
 * (test_heap_damage.c, test_heap_realloc.c).
 */
#include "heap_test_util.h"

#define LHEAP 4096u

static int str_eq(const char *a, const char *b)
{
    if (!a || !b)
        return 0;
    while (*a && *a == *b)
        a++, b++;
    return *a == *b;
}

static size_t str_len(const char *s)
{
    size_t n = 0;
    while (s && s[n])
        n++;
    return n;
}

/* One region only: a second one is refused with HK_ENOTSUP, through the
 * error hook, and the heap is unchanged and still works. */
static void test_add_region(void)
{
    size_t sz;
    unsigned char *mem = hk_test_arena(&sz);
    hk_heap_t *h = hk_heap_init(mem, LHEAP, NULL);
    HK_REQUIRE(h != NULL);
    hk_stats_t before = stats_of(h);
    hk_test_capture_errors();
    int rc = hk_heap_add_region(h, mem + 2 * LHEAP, LHEAP);
    hk_stats_t after = stats_of(h);
#if HK_HEAP_REGIONS
    HK_CHECK_EQ(rc, HK_OK);
    HK_CHECK_EQ(hk_test_errors.count, 0);
    HK_CHECK(after.total > before.total);
#else
    HK_CHECK_EQ(rc, HK_ENOTSUP);
    HK_CHECK_EQ(hk_test_errors.count, 1);
    HK_CHECK_EQ(hk_test_errors.last_code, HK_ENOTSUP);
    HK_CHECK_EQ(after.total, before.total);
    HK_CHECK_EQ(after.free_blocks, before.free_blocks);
#endif
    void *p = hk_heap_alloc(h, 100);
    HK_CHECK(p != NULL);
    hk_heap_free(h, p);
    HK_CHECK_EQ(hk_heap_validate(h), 0);
}

static unsigned grow_calls;
static unsigned char *grow_mem;

static void *grow_once(void *ctx, size_t min_bytes, size_t *got)
{
    (void)ctx;
    grow_calls++;
    if (grow_calls > 1 || min_bytes > 2 * LHEAP)
        return NULL;
    *got = 2 * LHEAP;
    return grow_mem;
}

/* The growth hook: called when memory runs out, or (compiled out) a
 * configuration that sets one is refused. */
static void test_grow_hook(void)
{
    size_t sz;
    unsigned char *mem = hk_test_arena(&sz);
    grow_mem = mem + 4 * LHEAP;
    grow_calls = 0;
    /* a class table for a few regions, not the whole address space */
    hk_heap_config_t c = { .fit = HK_FIT_TLSF, .grow = grow_once, .class_span = 8 * LHEAP };
    hk_test_capture_errors();
    hk_heap_t *h = hk_heap_init(mem, LHEAP, &c);
#if HK_HEAP_GROW
    HK_REQUIRE(h != NULL);
    void *p = hk_heap_alloc(h, 3 * LHEAP / 2); /* more than the first region */
    HK_CHECK(p != NULL);
    HK_CHECK_EQ(grow_calls, 1);
    hk_heap_free(h, p);
    HK_CHECK_EQ(hk_heap_validate(h), 0);
#else
    HK_CHECK(h == NULL);
    HK_CHECK_EQ(hk_test_errors.count, 1);
    HK_CHECK_EQ(hk_test_errors.last_code, HK_EINVAL);
    HK_CHECK_EQ(grow_calls, 0);
    c.grow = NULL; /* the same memory without the hook is fine */
    h = hk_heap_init(mem, LHEAP, &c);
    HK_REQUIRE(h != NULL);
    HK_CHECK(hk_heap_alloc(h, 3 * LHEAP / 2) == NULL); /* no more memory, no hook */
    HK_CHECK_EQ(grow_calls, 0);
#endif
}

/* Reasons: a sentence naming the likely cause, or a short fixed one; the
 * code and the pointer are the same either way. */
static void test_reasons(void)
{
    size_t sz;
    unsigned char *mem = hk_test_arena(&sz);
    hk_heap_t *h = hk_heap_init(mem, LHEAP, NULL);
    HK_REQUIRE(h != NULL);
    unsigned char *p = hk_heap_alloc(h, 64);
    void *q = hk_heap_alloc(h, 64); /* keeps p from merging away */
    HK_REQUIRE(p && q);

    hk_test_capture_errors();
    hk_heap_free(h, p + 4); /* misaligned: not a block */
    HK_CHECK(hk_test_errors.count >= 1);
    HK_CHECK_EQ(hk_test_errors.last_code, HK_EBADPTR);
    HK_CHECK(hk_test_errors.last_ptr == p + 4);
    HK_CHECK(HK_MESSAGES ? str_len(hk_test_errors.last_reason) > 20
                         : str_eq(hk_test_errors.last_reason, "bad pointer"));

    hk_heap_free(h, p);
    hk_test_capture_errors();
    hk_heap_free(h, p); /* double free */
    HK_CHECK(hk_test_errors.count >= 1);
    HK_CHECK_EQ(hk_test_errors.last_code, HK_EDOUBLEFREE);
    HK_CHECK(hk_test_errors.last_ptr == p);
    HK_CHECK(HK_MESSAGES ? str_len(hk_test_errors.last_reason) > 20
                         : str_eq(hk_test_errors.last_reason, "double free"));

    static uint64_t junk[16];
    hk_test_capture_errors();
    HK_CHECK(hk_heap_alloc((hk_heap_t *)(void *)junk, 16) == NULL); /* not a heap */
    HK_CHECK(hk_test_errors.count >= 1);
    HK_CHECK_EQ(hk_test_errors.last_code, HK_EINVAL);
#if !HK_MESSAGES
    HK_CHECK(str_eq(hk_test_errors.last_reason, "not a heap"));
#endif
    hk_heap_free(h, q);
    HK_CHECK_EQ(hk_heap_validate(h), 0);
}

HK_SUITE(heap_lean)
{
    HK_RUN(test_add_region);
    HK_RUN(test_grow_hook);
    HK_RUN(test_reasons);
}
