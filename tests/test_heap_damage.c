/* SPDX-License-Identifier: MIT */
/*
 * test_heap_damage.c - damage the heap's own metadata the way buggy callers
 * do, at every debug level and on every policy, and check that the heap
 * never follows it: the damage is reported through the error hook with its
 * likely cause, the heap stays usable, and hk_heap_validate tells the truth
 * (passes once the heap has repaired what it could, reports what it could
 * not).
 */
#include "heap/block.h"
#include "heap_test_util.h"

#define DHEAP 4096u

/* What validate says once the heap met damage in its free index: with
 * HK_HEAP_REPAIR 1 the index was rebuilt (0); with 0 the damage was refused
 * (never followed), the blocks behind it stay out of the index, and
 * validate keeps reporting it. HK_MESSAGES 0 gives a short reason. */
#define AFTER_DAMAGE (HK_HEAP_REPAIR ? 0 : HK_ECORRUPT)
#define WHY(long_word) (HK_MESSAGES ? (long_word) : "heap damaged")

/* Does the reason mention `word`? (no C library on the bare-metal targets) */
static int mentions(const char *s, const char *word)
{
    for (; s && *s; s++) {
        size_t i = 0;
        while (word[i] && s[i] == word[i])
            i++;
        if (!word[i])
            return 1;
    }
    return 0;
}

/* The end of the used block behind p: its right neighbour's header. */
static unsigned char *block_end(const void *p)
{
    const hk_block_t *b = block_from_payload(p);
    return (unsigned char *)(uintptr_t)b + block_size(b);
}

/* Allocates and frees a mix of sizes: the heap must keep working. */
static void churn(hk_heap_t *h)
{
    void *p[12];
    for (unsigned r = 0; r < 3; r++) {
        for (unsigned i = 0; i < 12; i++) {
            p[i] = hk_heap_alloc(h, 8 + 24 * i);
            if (p[i])
                hk_test_memset(p[i], (int)i, 8 + 24 * i);
        }
        for (unsigned i = 0; i < 12; i += 2)
            hk_heap_free(h, p[i]);
        for (unsigned i = 1; i < 12; i += 2)
            hk_heap_free(h, p[i]);
    }
}

/* An overflow of 12 bytes from a used block into its free right neighbour
 * (header and the start of its first link), then a free of the used block:
 * the merge must not believe the damaged size. The free is refused (the
 * block stays allocated with its contents), the damage is reported, and
 * validate keeps reporting it. */
static void test_overflow_into_free_neighbour(hk_fit_t fit)
{
    static const unsigned char fills[] = { 0x41, 0xA5, 0x7F };
    for (unsigned k = 0; k < sizeof fills; k++) {
        heap_fixture_t f = heap_fixture(fit, DHEAP);
        HK_REQUIRE(f.h != NULL);
        unsigned char *end = block_end(f.a);
        HK_REQUIRE(end == f.b - HK_W); /* a's right neighbour is the free b */
        hk_test_capture_errors();
        hk_test_memset(end, fills[k], 12);
        hk_heap_free(f.h, f.a);
        HK_CHECK(hk_test_errors.count >= 1);
        HK_CHECK(hk_test_errors.last_code == HK_ECORRUPT || hk_test_errors.last_code == HK_EBADPTR);
        HK_CHECK(pat_ok(f.a, 1, 64)); /* not freed: nothing was written over it */
        HK_CHECK(hk_heap_usable_size(f.h, f.a) == 0 || hk_heap_usable_size(f.h, f.a) == 64);
        HK_CHECK_EQ(hk_heap_validate(f.h), HK_ECORRUPT);
        churn(f.h); /* still usable: no fault, no wild write */
        HK_CHECK(pat_ok(f.a, 1, 64) && pat_ok(f.c, 3, 64));
        hk_heap_free(f.h, f.c);
        HK_CHECK(pat_ok(f.a, 1, 64));
    }
}

/* The reason names the cause when the damaged header still reads "free". */
static void test_overflow_reason(hk_fit_t fit)
{
    heap_fixture_t f = heap_fixture(fit, DHEAP);
    HK_REQUIRE(f.h != NULL);
    hk_test_memset(block_end(f.a), 0x41, 12);
    hk_test_capture_errors();
    hk_heap_free(f.h, f.a);
    HK_REQUIRE(hk_test_errors.count >= 1);
    HK_CHECK_EQ(hk_test_errors.last_code, HK_ECORRUPT);
    HK_CHECK(hk_test_errors.last_reason != NULL &&
             mentions(hk_test_errors.last_reason, WHY("overflow")));
}

/* A write after free over a free block's first two words (its list links),
 * then allocations: the unlink must not follow them. The damage is
 * reported, the index is rebuilt from the blocks, and the heap is whole
 * again: validate passes and every later allocation works. */
static void test_write_after_free_over_links(hk_fit_t fit)
{
    static const unsigned char fills[] = { 0x41, 0x00, 0xFF };
    for (unsigned k = 0; k < sizeof fills; k++) {
        heap_fixture_t f = heap_fixture(fit, DHEAP);
        HK_REQUIRE(f.h != NULL);
        /* a second free block in b's class, so that b has neighbours on its list */
        void *d = hk_heap_alloc(f.h, 64);
        void *e = hk_heap_alloc(f.h, 64);
        HK_REQUIRE(d && e);
        hk_heap_free(f.h, d);
        hk_test_capture_errors();
        hk_test_memset(f.b, fills[k], 2 * sizeof(void *)); /* b is free: write after free */
        void *x = hk_heap_alloc(f.h, 64);
        void *y = hk_heap_alloc(f.h, 64);
#if HK_HEAP_REPAIR
        HK_CHECK(x != NULL && y != NULL && x != y);
#else /* refused: a list policy's one list is cut at b, so y may fail */
        HK_CHECK(x != NULL && x != y);
        HK_CHECK(y != NULL || fit != HK_FIT_TLSF);
#endif
        if (fills[k] == 0x00 && fit == HK_FIT_TLSF) {
            /* two NULL links are a valid head-of-list: nothing to see */
        } else {
            HK_CHECK(hk_test_errors.count >= 1);
            HK_CHECK_EQ(hk_test_errors.last_code, HK_ECORRUPT);
        }
        /* TLSF took the damaged block itself off its list: nothing lost */
        HK_CHECK_EQ(hk_heap_validate(f.h), fit == HK_FIT_TLSF ? 0 : AFTER_DAMAGE);
        HK_CHECK(pat_ok(f.a, 1, 64) && pat_ok(f.c, 3, 64));
        churn(f.h);
        hk_heap_free(f.h, x);
        hk_heap_free(f.h, y);
        hk_heap_free(f.h, e);
        HK_CHECK_EQ(hk_heap_validate(f.h), 0);
    }
}

/* The reason names the likely cause. */
static void test_link_reason(hk_fit_t fit)
{
    heap_fixture_t f = heap_fixture(fit, DHEAP);
    HK_REQUIRE(f.h != NULL);
    hk_test_memset(f.b, 0x41, 2 * sizeof(void *));
    hk_test_capture_errors();
    void *x = hk_heap_alloc(f.h, 64);
    HK_CHECK(x != NULL);
    HK_REQUIRE(hk_test_errors.count >= 1);
    HK_CHECK(hk_test_errors.last_reason != NULL &&
             mentions(hk_test_errors.last_reason, WHY("write after free")));
    HK_CHECK_EQ(hk_heap_validate(f.h), fit == HK_FIT_TLSF ? 0 : AFTER_DAMAGE);
}

/* A damaged link met while freeing a neighbour (the merge unlinks it). */
static void test_damaged_links_on_merge(hk_fit_t fit)
{
    heap_fixture_t f = heap_fixture(fit, DHEAP);
    HK_REQUIRE(f.h != NULL);
    hk_test_memset(f.b, 0x41, 2 * sizeof(void *));
    hk_test_capture_errors();
    hk_heap_free(f.h, f.a); /* merges with the free b (TLSF: once the front is flushed) */
    (void)stats_of(f.h);
    HK_CHECK(hk_test_errors.count >= 1);
    /* b was alone on its TLSF list; a list policy's list is cut at b */
    HK_CHECK_EQ(hk_heap_validate(f.h), fit == HK_FIT_TLSF ? 0 : AFTER_DAMAGE);
    hk_heap_free(f.h, f.c);
    HK_CHECK_EQ(hk_heap_validate(f.h), 0);
    hk_stats_t s = stats_of(f.h);
    HK_CHECK_EQ(s.free_blocks, 1); /* all merged back into one */
}

/* Statistics over a free list whose links were overwritten: the walk for
 * smallest_free stops at a link that is not a free block of this heap
 * instead of reading through it. */
static void test_stats_over_damaged_links(hk_fit_t fit)
{
    heap_fixture_t f = heap_fixture(fit, DHEAP);
    HK_REQUIRE(f.h != NULL);
    hk_test_memset(f.b, 0x41, 2 * sizeof(void *)); /* wild links */
    hk_test_capture_errors();
    hk_stats_t s = stats_of(f.h);
    HK_CHECK(s.smallest_free > 0 && s.smallest_free <= s.largest_free);
}

/* A bad handle is a bad argument (HK_EINVAL), not damaged state. */
static void test_validate_bad_handle(void)
{
    static uint64_t junk[16];
    hk_test_capture_errors();
    HK_CHECK_EQ(hk_heap_validate(NULL), HK_EINVAL);
    HK_CHECK_EQ(hk_heap_validate((const hk_heap_t *)(void *)junk), HK_EINVAL);
    HK_CHECK_EQ(hk_test_errors.count, 2);
    HK_CHECK_EQ(hk_test_errors.last_code, HK_EINVAL);
}

static void per_policy(void (*fn)(hk_fit_t))
{
    for (unsigned i = 0; i < TEST_NFITS; i++)
        fn(test_fits[i]);
}

static void test_damage_all(void)
{
    per_policy(test_overflow_into_free_neighbour);
    per_policy(test_overflow_reason);
    per_policy(test_write_after_free_over_links);
    per_policy(test_link_reason);
    per_policy(test_damaged_links_on_merge);
    per_policy(test_stats_over_damaged_links);
    test_validate_bad_handle();
}

HK_SUITE(heap_damage)
{
    HK_RUN(test_damage_all);
}
