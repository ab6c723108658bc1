/* SPDX-License-Identifier: MIT */
/*
 * test_heap_index.c - the free index's replace (src/heap/index.h) through
 * the heap's one carve and one release path, for all three policies: a
 * split, a merge left, a merge right, a merge of both, a realloc that
 * shrinks next to a free block or grows into one (the tail written inside
 * it), and an aligned allocation's gap, each with a size that keeps its
 * TLSF class and one that changes it. After every step hk_heap_validate
 * must pass (it checks classes, the first-fit address order and the
 * best-fit size order), every free block must be indexed exactly where the
 * policy says: TLSF keeps a block that stays in its class at its place on
 * the list (a block behind another of its class stays second), and one
 * that changes class is pushed at the head of its new list.
 */
#include "heap/index.h" /* white box: the class table and the lists */
#include "heap_test_util.h"

#define IHEAP 16384u
_Static_assert(IHEAP <= HK_TEST_ARENA_SIZE, "the index tests' heap must fit the test arena");

static hk_block_t *blk(const void *p)
{
    return block_from_payload(p);
}

/* A block of exactly `bs` bytes (a multiple of the granule). */
static void *alloc_bs(hk_heap_t *h, size_t bs)
{
    void *p = hk_heap_alloc(h, bs - HK_W - HK_DBG_EXTRA);
    HK_CHECK(p != NULL && block_size(blk(p)) == bs);
    return p && block_size(blk(p)) == bs ? p : NULL; /* the callers require it */
}

/* A free that reaches the block layer: the stats call flushes the front. */
static void put(hk_heap_t *h, void *p)
{
    hk_heap_free(h, p);
    (void)stats_of(h);
}

/* Where b is indexed: its rank on its list (its TLSF class in *at), or -1. */
static int rank_of(const hk_heap_t *h, const hk_block_t *b, unsigned *at)
{
    if (h->fit == HK_FIT_TLSF) {
        for (unsigned i = HK_TLSF_BIAS; i < tlsf_nclasses(h); i++) {
            int r = 0;
            for (const hk_block_t *x = tlsf_head(h, i); x; x = x->next_free, r++)
                if (x == b) {
                    *at = i;
                    return r;
                }
        }
        return -1;
    }
    int r = 0;
    *at = 0;
    for (const hk_block_t *x = h->list; x; x = x->next_free, r++)
        if (x == b)
            return r;
    return -1;
}

/* b is a free block of `size` bytes, indexed where the policy puts it:
 * TLSF, class of its size at rank `tlsf_rank`; the lists, at the rank its
 * order gives among all free blocks (counted by a walk of the region). */
static void check_placed(const hk_heap_t *h, const hk_block_t *b, size_t size, int tlsf_rank)
{
    unsigned at = 0;
    int r = rank_of(h, b, &at);
    HK_CHECK(block_is_free(b));
    HK_CHECK_EQ(block_size(b), size);
    if (h->fit == HK_FIT_TLSF) {
        HK_CHECK_EQ(at, tlsf_index(h, size));
        HK_CHECK_EQ(r, tlsf_rank);
        return;
    }
    int want = 0;
    for (const hk_block_t *x = h->list; x; x = x->next_free)
        if (x != b && (h->fit == HK_FIT_FIRST ? x < b
                                              : block_size(x) < size ||
                                                    (block_size(x) == size && x < b)))
            want++;
    HK_CHECK_EQ(r, want);
}

/* The TLSF class of `size` in a heap like the test's (the list policies
 * get the same sizes, so every policy sees the same layouts). It makes its
 * heap where the test's will be: call it before the test's heap is made
 * (fresh). */
static unsigned cls(size_t size)
{
    size_t sz;
    hk_heap_config_t c = test_cfg(HK_FIT_TLSF);
    hk_heap_t *ref = hk_heap_init(hk_test_arena(&sz), IHEAP, &c);
    HK_CHECK(ref != NULL);
    return ref ? tlsf_index(ref, size) : 0;
}

/* A size at or above `from` whose class differs (change) or not (keep)
 * from the class of the size `grow` bytes larger. */
static size_t pick(size_t from, size_t grow, bool change)
{
    for (size_t s = from; s < from + 4096; s += HK_G)
        if ((cls(s) != cls(s + grow)) == change)
            return s;
    HK_CHECK(0);
    return from;
}

static hk_heap_t *fresh(hk_fit_t fit)
{
    size_t sz;
    hk_heap_config_t c = test_cfg(fit);
    hk_heap_t *h = hk_heap_init(hk_test_arena(&sz), IHEAP, &c);
    HK_CHECK(h != NULL);
    return h;
}

/* [g][P][u][g][Q][g]: P and Q free and alike (TLSF: Q pushed last, P second
 * on their list); freeing u grows P to the right. */
static void merge_left(hk_fit_t fit, bool change)
{
    size_t us = block_size_for(1), ps = pick(1024, us, change);
    hk_heap_t *h = fresh(fit);
    HK_REQUIRE(h != NULL);
    void *g0 = alloc_bs(h, 64), *p = alloc_bs(h, ps), *u = alloc_bs(h, us);
    void *g1 = alloc_bs(h, 64), *q = alloc_bs(h, ps), *g2 = alloc_bs(h, 64);
    HK_REQUIRE(g0 && p && u && g1 && q && g2);
    put(h, p);
    put(h, q);
    check_placed(h, blk(p), ps, 1);
    size_t nfree = stats_of(h).free_blocks;
    put(h, u);
    HK_CHECK_EQ(hk_heap_validate(h), 0);
    check_placed(h, blk(p), ps + us, change ? 0 : 1);
    check_placed(h, blk(q), ps, 0);
    HK_CHECK_EQ(stats_of(h).free_blocks, nfree);
    (void)g0, (void)g1, (void)g2;
}

/* [g][u][N][g][M][g]: N and M free and alike (N second); freeing u makes
 * it take N's place, N's header now inside it. */
static void merge_right(hk_fit_t fit, bool change)
{
    size_t us = block_size_for(1), ns = pick(1024, us, change);
    hk_heap_t *h = fresh(fit);
    HK_REQUIRE(h != NULL);
    void *g0 = alloc_bs(h, 64), *u = alloc_bs(h, us), *n = alloc_bs(h, ns);
    void *g1 = alloc_bs(h, 64), *m = alloc_bs(h, ns), *g2 = alloc_bs(h, 64);
    HK_REQUIRE(g0 && u && n && g1 && m && g2);
    put(h, n);
    put(h, m);
    check_placed(h, blk(n), ns, 1);
    size_t nfree = stats_of(h).free_blocks;
    put(h, u);
    HK_CHECK_EQ(hk_heap_validate(h), 0);
    check_placed(h, blk(u), us + ns, change ? 0 : 1);
    check_placed(h, blk(m), ns, 0);
    HK_CHECK(rank_of(h, blk(n), &(unsigned){ 0 }) < 0); /* merged away */
    HK_CHECK_EQ(stats_of(h).free_blocks, nfree);
    (void)g0, (void)g1, (void)g2;
}

/* [g][P][u][N][g][Q][g]: freeing u joins all three in P; N leaves. */
static void merge_both(hk_fit_t fit, bool change)
{
    size_t us = block_size_for(1), ns = 64, ps = pick(1024, us + ns, change);
    hk_heap_t *h = fresh(fit);
    HK_REQUIRE(h != NULL);
    void *g0 = alloc_bs(h, 64), *p = alloc_bs(h, ps), *u = alloc_bs(h, us);
    void *n = alloc_bs(h, ns), *g1 = alloc_bs(h, 64), *q = alloc_bs(h, ps);
    void *g2 = alloc_bs(h, 64);
    HK_REQUIRE(g0 && p && u && n && g1 && q && g2);
    put(h, p);
    put(h, q);
    put(h, n);
    size_t nfree = stats_of(h).free_blocks;
    put(h, u);
    HK_CHECK_EQ(hk_heap_validate(h), 0);
    check_placed(h, blk(p), ps + us + ns, change ? 0 : 1);
    HK_CHECK_EQ(stats_of(h).free_blocks, nfree - 1);
    (void)g0, (void)g1, (void)g2;
}

/* [g][F][g]: F free, first by address and alone in its class
 * below the rest; an allocation smaller than F's class splits F, whose
 * tail takes its place. */
static void split(hk_fit_t fit, bool change)
{
    size_t need = 128, fs = pick(1024 + need, 0, false);
    /* keep: the tail stays in F's class; change: it drops below */
    while ((cls(fs - need) != cls(fs)) != change)
        fs += HK_G;
    hk_heap_t *h = fresh(fit);
    HK_REQUIRE(h != NULL);
    void *g0 = alloc_bs(h, 64), *f = alloc_bs(h, fs), *g1 = alloc_bs(h, 64);
    HK_REQUIRE(g0 && f && g1);
    put(h, f);
    size_t nfree = stats_of(h).free_blocks;
    void *x = alloc_bs(h, need);
    HK_REQUIRE(x == f); /* every policy takes F: first, smallest, lowest class */
    HK_CHECK_EQ(hk_heap_validate(h), 0);
    check_placed(h, block_at((uintptr_t)blk(f) + need), fs - need, 0);
    HK_CHECK_EQ(stats_of(h).free_blocks, nfree);
    (void)g0, (void)g1;
}

/* [g][u][N][g][M][g], N second behind M: realloc u smaller gives a tail
 * that merges N and takes its place; realloc u larger by one granule grows
 * into N and writes the tail's header inside N's links. */
static void resize(hk_fit_t fit, bool change, bool grow)
{
    size_t us = 512, d = grow ? HK_G : 2 * HK_MIN_BLOCK;
    size_t ns = grow ? pick(1024 + d, 0, false) : pick(1024, d, change);
    if (grow) /* N shrinks by d: the class of ns - d against ns */
        while ((cls(ns - d) != cls(ns)) != change)
            ns += HK_G;
    hk_heap_t *h = fresh(fit);
    HK_REQUIRE(h != NULL);
    void *g0 = alloc_bs(h, 64), *u = alloc_bs(h, us), *n = alloc_bs(h, ns);
    void *g1 = alloc_bs(h, 64), *m = alloc_bs(h, ns), *g2 = alloc_bs(h, 64);
    HK_REQUIRE(g0 && u && n && g1 && m && g2);
    pat_fill(u, 7, us - HK_W - HK_DBG_EXTRA);
    put(h, n);
    put(h, m);
    check_placed(h, blk(n), ns, 1);
    size_t nfree = stats_of(h).free_blocks;
    size_t nus = grow ? us + d : us - d;
    void *v = hk_heap_realloc(h, u, nus - HK_W - HK_DBG_EXTRA);
    HK_CHECK(v == u); /* in place */
    HK_CHECK_EQ(block_size(blk(u)), nus);
    HK_CHECK(pat_ok(u, 7, (grow ? us : nus) - HK_W - HK_DBG_EXTRA));
    HK_CHECK_EQ(hk_heap_validate(h), 0);
    size_t ts = grow ? ns - d : ns + d;
    check_placed(h, block_at((uintptr_t)blk(u) + nus), ts, change ? 0 : 1);
    check_placed(h, blk(m), ns, 0);
    HK_CHECK_EQ(stats_of(h).free_blocks, nfree);
    (void)g0, (void)g1, (void)g2;
}

/* [g][P][u][N][g]: realloc u to exactly P + u moves it down into P
 * (HK_HEAP_RESIZE_LEFT) and ends where N starts: N stays as it was. Grown
 * a granule more, the tail merges into N and takes its place. */
static void grow_left(hk_fit_t fit, bool exact)
{
    size_t us = 256, ps = 512, ns = 128; /* N too small to grow into alone */
    hk_heap_t *h = fresh(fit);
    HK_REQUIRE(h != NULL);
    void *g0 = alloc_bs(h, 64), *p = alloc_bs(h, ps), *u = alloc_bs(h, us);
    void *n = alloc_bs(h, ns), *g1 = alloc_bs(h, 64);
    HK_REQUIRE(g0 && p && u && n && g1);
    pat_fill(u, 9, us - HK_W - HK_DBG_EXTRA);
    put(h, p);
    put(h, n);
    size_t grown = exact ? ps + us : ps + us + HK_G;
    void *v = hk_heap_realloc(h, u, grown - HK_W - HK_DBG_EXTRA);
    HK_REQUIRE(v != NULL);
    HK_CHECK(pat_ok(v, 9, us - HK_W - HK_DBG_EXTRA));
    HK_CHECK_EQ(hk_heap_validate(h), 0);
#if HK_HEAP_RESIZE_LEFT
    HK_CHECK(v == p);
    HK_CHECK_EQ(block_size(blk(v)), grown);
    if (exact)
        check_placed(h, blk(n), ns, 0);
    else
        check_placed(h, block_at((uintptr_t)blk(p) + grown), ns - HK_G, 0);
#endif
    hk_heap_free(h, v);
    HK_CHECK_EQ(hk_heap_validate(h), 0);
    (void)g0, (void)g1;
}

/* An aligned allocation from a free block at a misaligned place: the gap
 * below the payload stays a free block in the block's place. */
static void aligned_gap(hk_fit_t fit)
{
    hk_heap_t *h = fresh(fit);
    HK_REQUIRE(h != NULL);
    void *g0 = alloc_bs(h, 64), *f = alloc_bs(h, 2048), *g1 = alloc_bs(h, 64);
    HK_REQUIRE(g0 && f && g1);
    put(h, f);
    size_t nfree = stats_of(h).free_blocks;
    void *x = hk_heap_aligned_alloc(h, 512, 200);
    HK_REQUIRE(x != NULL);
    HK_CHECK(((uintptr_t)x & 511) == 0);
    HK_CHECK_EQ(hk_heap_validate(h), 0);
    if ((uintptr_t)x > (uintptr_t)f) { /* the gap: F's start, still free */
        size_t gap = (uintptr_t)blk(x) - (uintptr_t)blk(f);
        const hk_block_t *t = block_next(blk(x)); /* the tail, inserted after */
        check_placed(h, blk(f), gap,
                     block_is_free(t) && h->fit == HK_FIT_TLSF &&
                         tlsf_index(h, block_size(t)) == tlsf_index(h, gap));
        HK_CHECK(stats_of(h).free_blocks >= nfree);
    }
    hk_heap_free(h, x);
    HK_CHECK_EQ(hk_heap_validate(h), 0);
    (void)g0, (void)g1;
}

/* Top placement (config.h HK_HEAP_TOP_CUT): [g][F......] with the default
 * placement, a small block is cut from F's top and F keeps its start and
 * its rank; a block above the limit, first fit, and a heap configured with
 * bottom_cut all cut from the bottom. Freed, the small block merges back. */
static void top_cut(hk_fit_t fit, bool bottom)
{
    hk_heap_config_t c = { .fit = fit, .bottom_cut = bottom };
    size_t sz;
    hk_heap_t *h = hk_heap_init(hk_test_arena(&sz), IHEAP, &c);
    HK_REQUIRE(h != NULL);
    void *g = alloc_bs(h, 256);
    HK_REQUIRE(g != NULL);
    hk_block_t *f = block_next(blk(g));
    HK_REQUIRE(block_is_free(f));
    size_t fsize = block_size(f);
    bool top = HK_HEAP_TOP_CUT != 0 && fit != HK_FIT_FIRST && !bottom;
    for (size_t bs = block_size_for(1); bs <= 128 + HK_DBG_EXTRA; bs += HK_G) {
        void *p = alloc_bs(h, bs);
        HK_REQUIRE(p != NULL);
        if (top && bs <= HK_HEAP_TOP_CUT) {
            /* with the front on for this size, its empty LIFO is refilled:
             * HK_QUICK_REFILL blocks are cut at once, p the lowest */
            size_t run = bs;
#if HK_QUICK_CLASSES
            if (bs <= h->quick_max)
                run = bs * HK_QUICK_REFILL;
#endif
            HK_CHECK(block_is_free(f)); /* F stays, shrunk, where it was */
            HK_CHECK_EQ(block_size(f), fsize - run);
            HK_CHECK((uintptr_t)blk(p) == (uintptr_t)f + fsize - run);
            check_placed(h, f, fsize - run, 0);
            for (size_t k = bs; k < run; k += bs) /* the rest wait in the front */
                HK_CHECK(block_is_parked_of(block_at((uintptr_t)blk(p) + k), bs));
        } else {
            HK_CHECK(blk(p) == f); /* cut from F's start: the tail is free */
            HK_CHECK(block_is_free(block_next(blk(p))));
        }
        HK_CHECK_EQ(hk_heap_validate(h), 0);
        put(h, p);
        HK_CHECK(block_is_free(f));
        HK_CHECK_EQ(block_size(f), fsize); /* merged back whole */
        HK_CHECK_EQ(stats_of(h).free_blocks, 1u);
    }
    HK_CHECK_EQ(hk_heap_validate(h), 0);
}

/* TLSF taking a block from a class above the request's: [g0][A][g1][B][g2]
 * [rest], A and B free in one class, B first on its list (freed last). With
 * HK_TLSF_LOW_SCAN (config.h) the lower-addressed A is taken, else B. */
static void test_low_scan(void)
{
    hk_heap_config_t c = test_cfg(HK_FIT_TLSF);
    size_t sz;
    hk_heap_t *h = hk_heap_init(hk_test_arena(&sz), IHEAP, &c);
    HK_REQUIRE(h != NULL);
    size_t bs = 2048; /* above every front size: freed into the index */
    void *g0 = alloc_bs(h, 64), *a = alloc_bs(h, bs), *g1 = alloc_bs(h, 64);
    void *b = alloc_bs(h, bs), *g2 = alloc_bs(h, 64);
    HK_REQUIRE(g0 && a && g1 && b && g2);
    put(h, a);
    put(h, b);
    unsigned at_a, at_b;
    HK_CHECK_EQ(rank_of(h, blk(b), &at_b), 0);
    HK_CHECK_EQ(rank_of(h, blk(a), &at_a), 1);
    HK_CHECK_EQ(at_a, at_b);
    HK_REQUIRE(tlsf_index(h, block_size_for(100)) < at_a);
    void *p = hk_heap_alloc(h, 100);
    HK_CHECK(p == (HK_TLSF_LOW_SCAN ? a : b));
    HK_CHECK_EQ(hk_heap_validate(h), 0);
    hk_heap_free(h, p);
    hk_heap_free(h, g0);
    hk_heap_free(h, g1);
    hk_heap_free(h, g2);
    HK_CHECK_EQ(stats_of(h).free_blocks, 1u);
    HK_CHECK_EQ(hk_heap_validate(h), 0);
}

static void test_top_placement(void)
{
    for (unsigned i = 0; i < TEST_NFITS; i++) {
        top_cut(test_fits[i], false);
        top_cut(test_fits[i], true);
    }
}

static void test_replace_all(void)
{
    for (unsigned i = 0; i < TEST_NFITS; i++) {
        hk_fit_t fit = test_fits[i];
        for (int change = 0; change < 2; change++) {
            merge_left(fit, change);
            merge_right(fit, change);
            merge_both(fit, change);
            split(fit, change);
            resize(fit, change, false);
            resize(fit, change, true);
            grow_left(fit, change);
        }
        aligned_gap(fit);
    }
}

HK_SUITE(heap_index)
{
    HK_RUN(test_replace_all);
    HK_RUN(test_top_placement);
    HK_RUN(test_low_scan);
}
