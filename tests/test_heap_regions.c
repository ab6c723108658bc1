/* SPDX-License-Identifier: MIT */
/*
 * test_heap_regions.c - several regions in any order, overlap and size
 * errors, pointer checks across regions, the growth hook, and blocks larger
 * than the class table covers.
 */
#include "heap/block.h"
#include "heap_test_util.h"

static void test_regions(hk_fit_t fit)
{
    size_t sz;
    unsigned char *mem = hk_test_arena(&sz);
    size_t part = sz / 8;
    hk_heap_config_t c = test_cfg(fit);
    /* the first region in the middle, others below and above, not contiguous */
    hk_heap_t *h = hk_heap_init(mem + 3 * part, part, &c);
    HK_REQUIRE(h != NULL);
    hk_test_capture_errors();
    HK_CHECK_EQ(hk_heap_add_region(h, mem + 6 * part + 3, part - 3), 0); /* unaligned */
    HK_CHECK_EQ(hk_heap_add_region(h, mem, part), 0);
    HK_CHECK_EQ(hk_heap_add_region(h, mem + 3 * part + 100, 50), HK_EOVERLAP);
    HK_CHECK_EQ(hk_heap_add_region(h, mem + part / 2, part), HK_EOVERLAP);
    HK_CHECK_EQ(hk_heap_add_region(h, mem + 2 * part, 8), HK_EINVAL);
    HK_CHECK_EQ(hk_heap_add_region(h, NULL, part), HK_EINVAL);
    HK_CHECK_EQ(hk_heap_add_region(NULL, mem + 2 * part, part), HK_EINVAL);
    HK_CHECK_EQ(hk_heap_add_region(h, (void *)(UINTPTR_MAX - 64), 4096), HK_EINVAL);
    HK_CHECK_EQ(hk_test_errors.count, 6);
    hk_stats_t s = stats_of(h);
    HK_CHECK_EQ(s.free_blocks, 3);
    HK_CHECK_EQ(hk_heap_validate(h), 0);
    /* fill all three regions */
    static void *p[4096];
    unsigned n = 0;
    while (n < 4096 && (p[n] = hk_heap_alloc(h, part / 64)) != NULL)
        pat_fill(p[n], n, part / 64), n++;
    HK_CHECK(n >= 24);
    unsigned in[3] = { 0, 0, 0 };
    for (unsigned i = 0; i < n; i++) {
        uintptr_t a = (uintptr_t)p[i];
        in[0] += a >= (uintptr_t)mem && a < (uintptr_t)(mem + part);
        in[1] += a >= (uintptr_t)(mem + 3 * part) && a < (uintptr_t)(mem + 4 * part);
        in[2] += a >= (uintptr_t)(mem + 6 * part) && a < (uintptr_t)(mem + 7 * part);
    }
    HK_CHECK(in[0] > 0 && in[1] > 0 && in[2] > 0);
    HK_CHECK_EQ(in[0] + in[1] + in[2], n);
    /* a pointer into the gap between regions is foreign */
    unsigned before = hk_test_errors.count;
    hk_heap_free(h, mem + 5 * part);
    HK_CHECK_EQ(hk_test_errors.count, before + 1);
    HK_CHECK_EQ(hk_test_errors.last_code, HK_EBADPTR);
    int ok = 1;
    for (unsigned i = 0; i < n; i++)
        ok &= pat_ok(p[i], i, part / 64);
    HK_CHECK(ok);
    for (unsigned i = 0; i < n; i++)
        hk_heap_free(h, p[i]);
    s = stats_of(h);
    HK_CHECK_EQ(s.free_blocks, 3); /* each region one free block again */
    HK_CHECK_EQ(s.used, 0);
    HK_CHECK_EQ(heap_shape(h).blocks, 3);
    HK_CHECK_EQ(hk_heap_validate(h), 0);
}

typedef struct {
    unsigned char *next, *end;
    unsigned calls, given;
    size_t last_min, chunk;
} grower_t;

static void *grow_cb(void *ctx, size_t min_bytes, size_t *got)
{
    grower_t *g = ctx;
    g->calls++;
    g->last_min = min_bytes;
    size_t chunk = min_bytes < g->chunk ? g->chunk : min_bytes;
    g->next += 64; /* leave a gap: regions are not contiguous */
    if (g->next > g->end || (size_t)(g->end - g->next) < chunk)
        return NULL;
    void *m = g->next;
    g->next += chunk;
    g->given++;
    *got = chunk;
    return m;
}

static void test_grow(hk_fit_t fit)
{
    size_t sz;
    unsigned char *mem = hk_test_arena(&sz);
    size_t first = sz / 8, big_n = sz / 6;
    grower_t g = { mem + first, mem + sz, 0, 0, 0, sz / 16 };
    hk_heap_config_t c = test_cfg(fit);
    c.grow = grow_cb;
    c.grow_ctx = &g;
    c.class_span = sz; /* keeps the class table small on small boards */
    hk_heap_t *h = hk_heap_init(mem, first, &c);
    HK_REQUIRE(h != NULL);
    void *big = hk_heap_alloc(h, big_n); /* bigger than the first region */
    HK_CHECK(big != NULL);
    HK_CHECK_EQ(g.calls, 1);
    HK_CHECK(g.last_min >= big_n);
    if (big)
        hk_test_memset(big, 1, big_n);
    static void *p[2048];
    unsigned n = 0;
    while (n < 2048 && (p[n] = hk_heap_alloc(h, sz / 64)) != NULL)
        n++;
    HK_CHECK(g.calls > 2);
    HK_CHECK(n > 8);
    HK_CHECK_EQ(hk_heap_validate(h), 0);
    for (unsigned i = 0; i < n; i++)
        hk_heap_free(h, p[i]);
    hk_heap_free(h, big);
    hk_stats_t s = stats_of(h);
    HK_CHECK_EQ(s.used, 0);
    HK_CHECK_EQ(s.free_blocks, (size_t)g.given + 1); /* one block per region */
    HK_CHECK_EQ(heap_shape(h).blocks, s.free_blocks);
    HK_CHECK_EQ(hk_heap_validate(h), 0);
}

/* A TLSF heap whose class table covers only 8 KiB, given a 256 KiB region:
 * the oversize blocks share the top class and still work. */
static void test_class_span(void)
{
    size_t sz;
    unsigned char *mem = hk_test_arena(&sz);
    if (sz < 300000) {
        hk_test_skip("needs a 300 KB arena");
        return;
    }
    hk_heap_config_t c = test_cfg(HK_FIT_TLSF);
    c.class_span = 8192;
    hk_heap_t *h = hk_heap_init(mem, 4096, &c);
    HK_REQUIRE(h != NULL);
    hk_heap_config_t wide = c;
    wide.class_span = (size_t)1 << 30;
    HK_CHECK(hk_heap_overhead(4096, &c) < hk_heap_overhead(4096, &wide));
    HK_CHECK_EQ(hk_heap_add_region(h, mem + 8192, 262144), 0);
    void *a = hk_heap_alloc(h, 100000), *b = hk_heap_alloc(h, 50000), *d = hk_heap_alloc(h, 20000);
    HK_CHECK(a && b && d);
    hk_heap_free(h, a);
    hk_heap_free(h, d);
    HK_CHECK_EQ(hk_heap_validate(h), 0);
    hk_stats_t s = stats_of(h);
    HK_CHECK(s.largest_free >= 100000);
    void *e = hk_heap_alloc(h, s.largest_free);
    HK_CHECK(e != NULL);
    HK_CHECK(hk_heap_alloc(h, s.largest_free) == NULL || stats_of(h).free_blocks > 0);
    hk_heap_free(h, e);
    hk_heap_free(h, b);
    HK_CHECK_EQ(stats_of(h).free_blocks, 2);
    HK_CHECK_EQ(hk_heap_validate(h), 0);
}

static void test_regions_all(void)
{
    for (unsigned i = 0; i < TEST_NFITS; i++) {
        test_regions(test_fits[i]);
        test_grow(test_fits[i]);
    }
}

HK_SUITE(heap_regions)
{
    HK_RUN(test_regions_all);
    HK_RUN(test_class_span);
}
