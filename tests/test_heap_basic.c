/* SPDX-License-Identifier: MIT */
/*
 * test_heap_basic.c - the heap's contract, case by case, for every policy:
 * init errors, alignment, alloc(0), overflow, split and the three coalesce
 * cases, out of memory and recovery, exact largest_free, the classic
 * fragmentation scenario.
 */
#include "heap/block.h" /* white box: HK_W, HK_MIN_BLOCK, block_size_for */
#include "heap_test_util.h"

#ifndef HK_DBG_EXTRA
#define HK_DBG_EXTRA 0 /* bytes the debug layer adds to each block (debug.h) */
#endif

#define SMALL_HEAP 8192u

static hk_heap_t *small_heap(hk_fit_t fit, size_t bytes)
{
    size_t sz;
    unsigned char *mem = hk_test_arena(&sz);
    hk_heap_config_t c = test_cfg(fit);
    return hk_heap_init(mem, bytes < sz ? bytes : sz, &c);
}

static void test_init_errors(void)
{
    size_t sz;
    unsigned char *mem = hk_test_arena(&sz);
    hk_test_capture_errors();
    HK_CHECK(hk_heap_init(NULL, 4096, NULL) == NULL);
    HK_CHECK_EQ(hk_test_errors.last_code, HK_EINVAL);
    HK_CHECK(hk_heap_init(mem, 0, NULL) == NULL);
    HK_CHECK(hk_heap_init(mem, hk_heap_min_size() - 1, NULL) == NULL);
    HK_CHECK(hk_heap_init(mem, hk_heap_min_size(), NULL) != NULL);
    /* an unaligned start needs up to HK_ALIGN - 1 more */
    HK_CHECK(hk_heap_init(mem + 1, hk_heap_min_size() + HK_ALIGN - 1, NULL) != NULL);
    /* wrapping range */
    HK_CHECK(hk_heap_init((void *)(UINTPTR_MAX - 100), 4096, NULL) == NULL);
    hk_heap_config_t bad = test_cfg((hk_fit_t)7);
    HK_CHECK(hk_heap_init(mem, 4096, &bad) == NULL);
    hk_lock_t half = { NULL, NULL, NULL };
    half.lock = (hk_lock_fn)(uintptr_t)1; /* lock without unlock */
    hk_heap_config_t c = test_cfg(HK_FIT_TLSF);
    c.lock = &half;
    HK_CHECK(hk_heap_init(mem, 4096, &c) == NULL);
    /* a call on a non-heap is reported, not followed */
    mem = hk_test_arena(&sz); /* fresh random bytes: no heap there now */
    unsigned count = hk_test_errors.count;
    HK_CHECK(hk_heap_alloc(NULL, 10) == NULL);
    HK_CHECK(hk_heap_alloc((hk_heap_t *)(void *)mem, 10) == NULL);
    HK_CHECK(hk_test_errors.count == count + 2);
}

static void test_min_size_and_overhead(void)
{
    size_t sz;
    unsigned char *mem = hk_test_arena(&sz);
    hk_heap_t *h = hk_heap_init(mem, hk_heap_min_size(), NULL);
    HK_REQUIRE(h != NULL);
    hk_stats_t s = stats_of(h);
    HK_CHECK(s.free >= block_size_for(0) && s.free < block_size_for(0) + HK_ALIGN + HK_W);
    HK_CHECK_EQ(s.largest_free, s.free - HK_W - HK_DBG_EXTRA); /* 0 at HK_DEBUG 0 */
    void *p = hk_heap_alloc(h, s.largest_free);
    HK_CHECK(p != NULL);
    HK_CHECK(hk_heap_alloc(h, 0) == NULL);
    HK_CHECK_EQ(hk_heap_validate(h), 0);
    /* the class table is sized from the region: a small heap has a small one */
    HK_CHECK(hk_heap_overhead(8192, NULL) < hk_heap_overhead((size_t)1 << 20, NULL));
    HK_CHECK(hk_heap_overhead(8192, NULL) <= (sizeof(void *) == 4 ? 1024u : 2048u));
}

static void test_alignment_and_zero(hk_fit_t fit)
{
    hk_heap_t *h = small_heap(fit, SMALL_HEAP);
    HK_REQUIRE(h != NULL);
    void *z1 = hk_heap_alloc(h, 0), *z2 = hk_heap_alloc(h, 0);
    HK_CHECK(z1 && z2 && z1 != z2);
    HK_CHECK_EQ(hk_heap_usable_size(h, z1), hk_test_reported(0));
    for (size_t n = 1; n < 200; n += 13) {
        void *p = hk_heap_alloc(h, n);
        HK_REQUIRE(p != NULL);
        HK_CHECK_EQ((uintptr_t)p % HK_ALIGN, 0);
        HK_CHECK_EQ(hk_heap_usable_size(h, p), hk_test_reported(n));
        hk_test_memset(p, 0xee, n);
    }
    HK_CHECK_EQ(hk_heap_validate(h), 0);
    hk_heap_free(h, z1);
    hk_heap_free(h, z2);
    hk_heap_free(h, NULL); /* nothing */
    HK_CHECK_EQ(hk_heap_validate(h), 0);
}

static void test_overflow(hk_fit_t fit)
{
    hk_heap_t *h = small_heap(fit, SMALL_HEAP);
    HK_REQUIRE(h != NULL);
    hk_stats_t before = stats_of(h);
    HK_CHECK(hk_heap_alloc(h, SIZE_MAX) == NULL);
    HK_CHECK(hk_heap_alloc(h, SIZE_MAX - HK_W) == NULL);
    HK_CHECK(hk_heap_alloc(h, SIZE_MAX / 2 + 1) == NULL);
    HK_CHECK(hk_heap_calloc(h, SIZE_MAX / 2, 3) == NULL);
    HK_CHECK(hk_heap_calloc(h, (size_t)1 << (sizeof(size_t) * 4), (size_t)1 << (sizeof(size_t) * 4)) == NULL);
    HK_CHECK(hk_heap_aligned_alloc(h, 64, SIZE_MAX - 10) == NULL);
    HK_CHECK(hk_heap_aligned_alloc(h, (size_t)1 << (sizeof(size_t) * 8 - 1), 16) == NULL);
    HK_CHECK(hk_heap_aligned_alloc(h, 48, 16) == NULL); /* not a power of two */
    void *p = hk_heap_alloc(h, 10);
    HK_CHECK(hk_heap_realloc(h, p, SIZE_MAX) == NULL);
    /* either side of the largest request: the plain path and the full one */
    HK_CHECK(hk_heap_realloc(h, p, HK_MAX_REQUEST) == NULL);
    HK_CHECK(hk_heap_realloc(h, p, HK_MAX_REQUEST + 1) == NULL);
    HK_CHECK_EQ(hk_heap_usable_size(h, p), hk_test_reported(10)); /* untouched */
    HK_CHECK_EQ(hk_heap_validate(h), 0);
    hk_heap_free(h, p);
    hk_stats_t after = stats_of(h);
    HK_CHECK_EQ(after.failed_allocs, before.failed_allocs + 11);
    HK_CHECK_EQ(after.used, 0);
    HK_CHECK_EQ(hk_heap_validate(h), 0);
}

static void test_calloc_zeroes(hk_fit_t fit)
{
    hk_heap_t *h = small_heap(fit, SMALL_HEAP);
    HK_REQUIRE(h != NULL);
    unsigned char *p = hk_heap_alloc(h, 300);
    HK_REQUIRE(p != NULL);
    hk_test_memset(p, 0xab, 300);
    hk_heap_free(h, p);
    unsigned char *q = hk_heap_calloc(h, 30, 10);
    HK_REQUIRE(q != NULL);
    int zero = 1;
    for (int i = 0; i < 300; i++)
        zero &= q[i] == 0;
    HK_CHECK(zero);
    HK_CHECK_EQ(hk_heap_usable_size(h, q), hk_test_reported(300));
    HK_CHECK(hk_heap_calloc(h, 0, 10) != NULL);
}

/* Split and the three coalesce cases, observed through the walk. */
static void test_split_and_coalesce(hk_fit_t fit)
{
    hk_heap_t *h = small_heap(fit, SMALL_HEAP);
    HK_REQUIRE(h != NULL);
    shape_t s = heap_shape(h);
    HK_CHECK_EQ(s.blocks, 1);
    void *a = hk_heap_alloc(h, 100), *b = hk_heap_alloc(h, 100), *c = hk_heap_alloc(h, 100),
         *d = hk_heap_alloc(h, 100);
    HK_REQUIRE(a && b && c && d);
    s = heap_shape(h);
    HK_CHECK_EQ(s.used, 4);
    HK_CHECK_EQ(s.free, 1); /* the split tail */
    /* every policy places the first blocks in address order from an empty heap */
    HK_CHECK((uintptr_t)a < (uintptr_t)b && (uintptr_t)b < (uintptr_t)c);
    HK_CHECK_EQ((uintptr_t)b - (uintptr_t)a, block_size_for(100));
    hk_heap_free(h, b); /* no free neighbour */
    s = heap_shape(h);
    HK_CHECK_EQ(s.free, 2);
    HK_CHECK_EQ(s.blocks, 5);
    hk_heap_free(h, a); /* merges with the right neighbour (b) */
    s = heap_shape(h);
    HK_CHECK_EQ(s.free, 2);
    HK_CHECK_EQ(s.blocks, 4);
    HK_CHECK_EQ(hk_heap_validate(h), 0);
    hk_heap_free(h, d); /* merges with the free tail on its right */
    s = heap_shape(h);
    HK_CHECK_EQ(s.blocks, 3);
    hk_heap_free(h, c); /* merges both ways: one block again */
    s = heap_shape(h);
    HK_CHECK_EQ(s.blocks, 1);
    HK_CHECK_EQ(s.free, 1);
    hk_stats_t st = stats_of(h);
    HK_CHECK_EQ(st.free_blocks, 1);
    HK_CHECK_EQ(st.used, 0);
    HK_CHECK_EQ(hk_heap_validate(h), 0);
}

static void test_oom_and_recovery(hk_fit_t fit)
{
    hk_heap_t *h = small_heap(fit, SMALL_HEAP);
    HK_REQUIRE(h != NULL);
    void *p[512];
    unsigned n = 0;
    while (n < 512 && (p[n] = hk_heap_alloc(h, 40)) != NULL)
        pat_fill(p[n], n, 40), n++;
    HK_CHECK(n > 50 && n < 512);
    hk_stats_t s = stats_of(h);
    HK_CHECK(s.largest_free < 40);
    HK_CHECK(s.failed_allocs >= 1);
    HK_CHECK(hk_heap_alloc(h, 40) == NULL);
    HK_CHECK_EQ(hk_heap_validate(h), 0);
    int ok = 1;
    for (unsigned i = 0; i < n; i++)
        ok &= pat_ok(p[i], i, 40);
    HK_CHECK(ok);
    for (unsigned i = 0; i < n; i++)
        hk_heap_free(h, p[i]);
    s = stats_of(h);
    HK_CHECK_EQ(s.free_blocks, 1);
    HK_CHECK_EQ(s.used_blocks, 0);
    HK_CHECK_EQ(s.requested, 0);
    HK_CHECK(hk_heap_alloc(h, s.largest_free) != NULL);
    HK_CHECK_EQ(hk_heap_validate(h), 0);
}

/* largest_free is exact: that much succeeds, one byte more fails. */
static void test_largest_free_exact(hk_fit_t fit)
{
    hk_rng_t r;
    hk_rng_seed(&r, 77 + (uint64_t)fit);
    for (int round = 0; round < 40; round++) {
        hk_heap_t *h = small_heap(fit, SMALL_HEAP);
        HK_REQUIRE(h != NULL);
        void *p[64];
        int n = 0;
        for (; n < 64; n++)
            if (!(p[n] = hk_heap_alloc(h, (size_t)hk_rng_below(&r, 300))))
                break;
        for (int i = 0; i < n; i++)
            if (hk_rng_below(&r, 2))
                hk_heap_free(h, p[i]);
        hk_stats_t s = stats_of(h);
        if (s.largest_free < s.free) {
            void *q = hk_heap_alloc(h, s.largest_free + 1);
            HK_CHECK(q == NULL);
        }
        HK_CHECK(hk_heap_alloc(h, s.largest_free) != NULL);
        HK_CHECK_EQ(hk_heap_validate(h), 0);
    }
}

/* The classic: many small blocks, free every other one, then the rest; the
 * heap must be one block again and almost all of it allocatable. */
static void test_fragmentation_scenario(hk_fit_t fit)
{
    size_t sz;
    unsigned char *mem = hk_test_arena(&sz);
    size_t bytes = sz < 262144 ? sz : 262144;
    hk_heap_config_t c = test_cfg(fit);
    hk_heap_t *h = hk_heap_init(mem, bytes, &c);
    HK_REQUIRE(h != NULL);
    hk_stats_t s0 = stats_of(h);
    static void *p[8192];
    unsigned n = 0;
    while (n < 8192 && (p[n] = hk_heap_alloc(h, 8 + (n % 5) * 8)) != NULL)
        n++;
    HK_CHECK(n > 100);
    for (unsigned i = 0; i < n; i += 2)
        hk_heap_free(h, p[i]);
    hk_stats_t mid = stats_of(h);
    HK_CHECK(mid.largest_free < mid.free / 4); /* badly fragmented now */
    HK_CHECK(hk_stats_frag_permille(&mid) > 500);
    HK_CHECK_EQ(hk_heap_validate(h), 0);
    for (unsigned i = 1; i < n; i += 2)
        hk_heap_free(h, p[i]);
    hk_stats_t s = stats_of(h);
    HK_CHECK_EQ(s.free_blocks, 1);
    HK_CHECK_EQ(s.largest_free, s0.largest_free);
    HK_CHECK_EQ(hk_stats_frag_permille(&s), 0);
    void *big = hk_heap_alloc(h, s0.largest_free);
    HK_CHECK(big != NULL);
    HK_CHECK(s0.largest_free + 64 + hk_heap_overhead(bytes, &c) >= bytes);
    HK_CHECK_EQ(hk_heap_validate(h), 0);
}

static void test_stats_counters(hk_fit_t fit)
{
    hk_heap_t *h = small_heap(fit, SMALL_HEAP);
    HK_REQUIRE(h != NULL);
    hk_stats_t s0 = stats_of(h);
    HK_CHECK_EQ(s0.total, s0.free);
    HK_CHECK_EQ(s0.min_ever_free, s0.free);
    void *a = hk_heap_alloc(h, 1000), *b = hk_heap_alloc(h, 10);
    hk_stats_t s1 = stats_of(h);
    HK_CHECK_EQ(s1.allocs, 2);
    HK_CHECK_EQ(s1.requested, hk_test_reported(1000) + hk_test_reported(10));
    HK_CHECK_EQ(s1.used, block_size_for(1000) + block_size_for(10));
    HK_CHECK_EQ(s1.used + s1.free, s1.total);
    HK_CHECK_EQ(s1.peak_used, s1.used);
    hk_heap_free(h, a);
    hk_stats_t s2 = stats_of(h);
    HK_CHECK_EQ(s2.frees, 1);
    HK_CHECK_EQ(s2.requested, hk_test_reported(10));
    HK_CHECK_EQ(s2.peak_used, s1.used);          /* monotonic */
    HK_CHECK_EQ(s2.min_ever_free, s1.free);      /* monotonic */
    HK_CHECK_EQ(s2.used_blocks, 1);
    hk_heap_free(h, b);
    HK_CHECK_EQ(stats_of(h).used, 0);
}

static void test_lock_hooks(void)
{
    size_t sz;
    unsigned char *mem = hk_test_arena(&sz);
    hk_test_lock_probe_t probe;
    hk_lock_t l = hk_test_lock_probe(&probe);
    hk_heap_config_t c = test_cfg(HK_FIT_TLSF);
    c.lock = &l;
    hk_heap_t *h = hk_heap_init(mem, SMALL_HEAP, &c);
    HK_REQUIRE(h != NULL);
    probe.locks = 0;
    void *p = hk_heap_alloc(h, 10);
    p = hk_heap_realloc(h, p, 100);
    void *q = hk_heap_aligned_alloc(h, 256, 10);
    void *z = hk_heap_calloc(h, 2, 2);
    (void)hk_heap_usable_size(h, p);
    hk_stats_t s = stats_of(h);
    (void)s;
    HK_CHECK_EQ(hk_heap_validate(h), 0);
    hk_heap_free(h, p);
    hk_heap_free(h, q);
    hk_heap_free(h, z);
    HK_CHECK_EQ(probe.locks, 10);
    HK_CHECK_EQ(probe.depth, 0);
    HK_CHECK_EQ(probe.max_depth, 1);
    HK_CHECK_EQ(probe.bad_saved, 0u);
}

/* The largest slack a block can carry: a minimum request served from a free
 * block one granule short of two minimum blocks (the tail is too small to
 * split off). The validator must accept it on every layout. */
static void test_max_slack(hk_fit_t fit)
{
    hk_heap_t *h = small_heap(fit, SMALL_HEAP);
    HK_REQUIRE(h != NULL);
    size_t frag = block_size_for(0) + HK_MIN_BLOCK - HK_ALIGN; /* 2 * HK_MIN_BLOCK - HK_ALIGN at HK_DEBUG 0 */
    void *a = hk_heap_alloc(h, frag - HK_W - HK_DBG_EXTRA);
    void *g = hk_heap_alloc(h, 16);
    HK_REQUIRE(a && g);
    hk_heap_free(h, a);
    (void)stats_of(h); /* a parked in the small-object front goes back to the blocks */
    void *z = hk_heap_alloc(h, 0);
    HK_CHECK(z == a);
    HK_CHECK_EQ(hk_heap_usable_size(h, z), HK_HEAP_EXACT ? 0 : frag - HK_W); /* the tail stayed */
    HK_CHECK_EQ(stats_of(h).used, frag + block_size_for(16));
    HK_CHECK_EQ(hk_heap_validate(h), 0);
    hk_heap_free(h, z);
    hk_heap_free(h, g);
    HK_CHECK_EQ(hk_heap_validate(h), 0);
}

static void per_policy(void (*fn)(hk_fit_t))
{
    for (unsigned i = 0; i < TEST_NFITS; i++)
        fn(test_fits[i]);
}

/* smallest_free: the usable size of the smallest free block; the marks
 * reset to the current levels. */
static void test_smallest_free_and_marks(hk_fit_t fit)
{
    hk_heap_t *h = small_heap(fit, SMALL_HEAP);
    HK_REQUIRE(h != NULL);
    hk_stats_t s0 = stats_of(h);
    HK_CHECK_EQ(s0.free_blocks, 1);
    HK_CHECK_EQ(s0.smallest_free, s0.largest_free);
    void *a = hk_heap_alloc(h, 100), *b = hk_heap_alloc(h, 40), *c = hk_heap_alloc(h, 300);
    void *d = hk_heap_alloc(h, 16);
    HK_REQUIRE(a && b && c && d);
    hk_heap_free(h, b); /* a hole of one 40-byte block between a and c */
    hk_stats_t s1 = stats_of(h);
    HK_CHECK_EQ(s1.free_blocks, 2);
    HK_CHECK(s1.smallest_free >= 40 && s1.smallest_free < 40 + 2 * HK_MIN_BLOCK);
    HK_CHECK(s1.smallest_free < s1.largest_free);
    /* the hole satisfies exactly smallest_free bytes */
    void *e = hk_heap_alloc(h, s1.smallest_free);
    HK_CHECK(e == b);
    hk_heap_free(h, e);
    hk_heap_free(h, a);
    hk_heap_free(h, c);
    hk_stats_t s2 = stats_of(h);
    HK_CHECK(s2.peak_used > s2.used);
    HK_CHECK(s2.min_ever_free < s2.free);
    hk_heap_reset_marks(h);
    hk_stats_t s3 = stats_of(h);
    HK_CHECK_EQ(s3.peak_used, s3.used);
    HK_CHECK_EQ(s3.min_ever_free, s3.free);
    HK_CHECK_EQ(hk_heap_validate(h), 0);
    hk_heap_free(h, d);
    HK_CHECK_EQ(hk_heap_validate(h), 0);
    HK_CHECK_EQ(stats_of(h).smallest_free, stats_of(h).largest_free);
}

typedef struct {
    unsigned n;
    hk_event_t ev[8];
} ev_log_t;

static void log_event(void *ctx, const hk_event_t *ev)
{
    ev_log_t *l = ctx;
    if (l->n < 8)
        l->ev[l->n] = *ev;
    l->n++;
}

/* The event hook sees every call with the right kind, pointers and sizes. */
static void test_event_hook(hk_fit_t fit)
{
    hk_heap_t *h = small_heap(fit, SMALL_HEAP);
    HK_REQUIRE(h != NULL);
    ev_log_t log = { 0, { { 0, NULL, NULL, 0, 0 } } };
    HK_CHECK_EQ(hk_heap_set_event_hook(NULL, log_event, &log), HK_EINVAL);
#if HK_EVENTS
    HK_REQUIRE(hk_heap_set_event_hook(h, log_event, &log) == 0);
    void *a = hk_heap_alloc(h, 24);
    void *b = hk_heap_realloc(h, a, 200);
    void *c = hk_heap_aligned_alloc(h, 64, 8);
    void *f = hk_heap_alloc(h, SIZE_MAX / 2);
    hk_heap_free(h, b);
    HK_CHECK(f == NULL);
    HK_REQUIRE(log.n == 5);
    HK_CHECK(log.ev[0].kind == HK_EVENT_ALLOC && log.ev[0].ptr == a && log.ev[0].size == 24);
    HK_CHECK(log.ev[1].kind == HK_EVENT_REALLOC && log.ev[1].ptr == b && log.ev[1].old_ptr == a &&
             log.ev[1].size == 200);
    HK_CHECK(log.ev[2].kind == HK_EVENT_ALLOC && log.ev[2].ptr == c && log.ev[2].align == 64);
    HK_CHECK(log.ev[3].kind == HK_EVENT_FAIL && log.ev[3].ptr == NULL);
    HK_CHECK(log.ev[4].kind == HK_EVENT_FREE && log.ev[4].ptr == b &&
             log.ev[4].size == hk_test_reported(200));
    HK_REQUIRE(hk_heap_set_event_hook(h, NULL, NULL) == 0);
    hk_heap_free(h, c);
    HK_CHECK_EQ(log.n, 5);
#else
    HK_CHECK_EQ(hk_heap_set_event_hook(h, log_event, &log), HK_ENOTSUP);
#endif
    HK_CHECK_EQ(hk_heap_validate(h), 0);
}

static void test_all_policies(void)
{
    per_policy(test_alignment_and_zero);
    per_policy(test_overflow);
    per_policy(test_calloc_zeroes);
    per_policy(test_split_and_coalesce);
    per_policy(test_oom_and_recovery);
    per_policy(test_largest_free_exact);
    per_policy(test_fragmentation_scenario);
    per_policy(test_stats_counters);
    per_policy(test_max_slack);
    per_policy(test_smallest_free_and_marks);
    per_policy(test_event_hook); /* at every debug level */
}

HK_SUITE(heap_basic)
{
    HK_RUN(test_init_errors);
    HK_RUN(test_min_size_and_overhead);
    HK_RUN(test_all_policies);
    HK_RUN(test_lock_hooks);
}
