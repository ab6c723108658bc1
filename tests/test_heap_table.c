/* SPDX-License-Identifier: MIT */
/*
 * test_heap_table.c - the TLSF class table each heap sizes for itself: the
 * control structure's bound (a 32 KiB heap on a 32-bit MCU build fits in
 * 256 bytes), the second-level index chosen per heap size, and that the
 * chosen classes serve every block size: a monotone mapping inside the
 * table, and heaps full of free blocks of every size that validate and
 * hand each size back.
 */
#include "heap/index.h" /* white box: tlsf_index, tlsf_sli, the table's shape */
#include "heap_test_util.h"

/* The bound the control structure is held to: the heap object and the
 * class table of a 32 KiB heap, 32-bit target, HK_ALIGN 8, the default
 * options of such a build (no front, no debug layer). */
static void test_control_bound(void)
{
    size_t o32 = hk_heap_overhead(32768, NULL);
    HK_CHECK(o32 > 0);
#if HK_DEBUG == 0 && HK_QUICK_CLASSES == 0 && HK_TLSF_SLI <= 4 && HK_TLSF_SLI_MIN == 1
    if (sizeof(void *) == 4 && HK_ALIGN == 8)
        HK_CHECK(o32 <= 256u);
#endif
    /* never more than 1/32 of the heap from 64 KiB on, in any build */
    for (size_t s = 65536; s <= ((size_t)1 << 22); s <<= 1)
        HK_CHECK(hk_heap_overhead(s, NULL) <= s / 32);
    /* it grows with the heap, and a heap takes exactly what it says */
    size_t prev = 0;
    for (size_t s = 4096; s <= ((size_t)1 << 21); s += s / 4) {
        size_t o = hk_heap_overhead(s, NULL);
        HK_CHECK(o >= prev);
        prev = o;
    }
    size_t sz;
    unsigned char *mem = hk_test_arena(&sz);
    hk_heap_t *h = hk_heap_init(mem, 32768, NULL);
    HK_REQUIRE(h != NULL);
    hk_stats_t st = stats_of(h);
    HK_CHECK(st.total + o32 <= 32768);
    HK_CHECK(st.total + o32 + 2 * HK_ALIGN + sizeof(size_t) >= 32768);
}

/* The second-level index grows with the heap, within its bounds, and the
 * table's shape agrees with it. */
static void test_sli_per_size(void)
{
    size_t sz;
    unsigned char *mem = hk_test_arena(&sz);
    unsigned prev = 0;
    for (size_t s = 4096; s <= sz && s <= ((size_t)1 << 22); s <<= 1) {
        hk_heap_t *h = hk_heap_init(mem, s, NULL);
        HK_REQUIRE(h != NULL);
        unsigned sli = tlsf_sli(h);
        HK_CHECK(sli >= HK_TLSF_SLI_LO && sli <= HK_TLSF_SLI);
        HK_CHECK(sli >= prev);
        prev = sli;
        HK_CHECK_EQ(tlsf_nclasses(h), (unsigned)h->fl_count << sli);
        /* a minimum block is an exact class, and the first head */
        HK_CHECK_EQ(tlsf_index(h, HK_MIN_BLOCK), HK_TLSF_BIAS);
#if HK_TLSF_SLI_VAR
        /* one more per doubling: 1 up to 32 KiB, 2 for 64 KiB, ... */
        unsigned want = 1;
        for (size_t t = 65536; t <= s; t <<= 1)
            want++;
        if (want < HK_TLSF_SLI_LO)
            want = HK_TLSF_SLI_LO;
        if (want > HK_TLSF_SLI)
            want = HK_TLSF_SLI;
        HK_CHECK_EQ(sli, want);
#else
        HK_CHECK_EQ(sli, (unsigned)HK_TLSF_SLI);
#endif
    }
}

/* Every block size maps inside the table, never below a minimum block,
 * monotonically, with classes that are exact below 2^(sli + log2 G) and
 * at most 1/2^sli of their size wide above. */
static void check_mapping(const hk_heap_t *h, size_t top)
{
    unsigned prev = HK_TLSF_BIAS, sli = tlsf_sli(h);
    size_t start = HK_MIN_BLOCK; /* smallest size of the current class */
    for (size_t s = HK_MIN_BLOCK; s <= top; s += HK_ALIGN) {
        unsigned i = tlsf_index(h, s);
        HK_CHECK(i >= HK_TLSF_BIAS && i < tlsf_nclasses(h));
        HK_CHECK(i >= prev);
        HK_CHECK(i <= prev + 1); /* no class skipped */
        HK_CHECK_EQ(tlsf_idx_of(h, tlsf_fl_of(h, i), tlsf_sl_of(h, i)), i);
        if (i != prev)
            start = s;
        if (i != tlsf_nclasses(h) - 1u && s >= ((size_t)HK_ALIGN << sli))
            HK_CHECK(s - start < (start >> sli) + HK_ALIGN);
        else if (s < ((size_t)HK_ALIGN << sli))
            HK_CHECK_EQ(i, (unsigned)(s / HK_ALIGN));
        prev = i;
        if (s > 65536)
            s += s / 512 & ~(size_t)(HK_ALIGN - 1); /* sample the large sizes */
    }
}

/* A heap of `bytes` filled with blocks of every size class, every other one
 * freed: validate checks each free block is on its class's list and the
 * bitmaps agree; then each freed size is asked for again and found. */
static void fill_and_serve(size_t bytes)
{
    size_t sz;
    unsigned char *mem = hk_test_arena(&sz);
    HK_REQUIRE(bytes <= sz);
    hk_heap_t *h = hk_heap_init(mem, bytes, NULL);
    HK_REQUIRE(h != NULL);
    check_mapping(h, bytes);
    enum { N = 512 };
    static void *p[N];
    static size_t n_of[N];
    size_t k = 0, n = 1, total = 0;
    /* sizes from 1 byte up, growing by about 1/8 so every class is met,
     * over half the heap: the rest stays one free block */
    while (k < N && total < bytes / 2) {
        p[k] = hk_heap_alloc(h, n);
        if (!p[k])
            break;
        n_of[k++] = n;
        total += n;
        n += n / 8 + 1;
        if (n > bytes / 16)
            n = 1;
    }
    HK_CHECK(k > 20);
    for (size_t i = 0; i < k; i += 2)
        hk_heap_free(h, p[i]);
    HK_CHECK_EQ(hk_heap_validate(h), 0);
    for (size_t i = 0; i < k; i += 2) {
        p[i] = hk_heap_alloc(h, n_of[i]);
        HK_CHECK(p[i] != NULL); /* its own hole is still there */
    }
    HK_CHECK_EQ(hk_heap_validate(h), 0);
    for (size_t i = 0; i < k; i++)
        hk_heap_free(h, p[i]);
    HK_CHECK_EQ(hk_heap_validate(h), 0);
    hk_stats_t st = stats_of(h);
    HK_CHECK_EQ(st.free_blocks, 1u);
    HK_CHECK(hk_heap_alloc(h, st.largest_free) != NULL);
}

static void test_every_class_serves(void)
{
    static const size_t sizes[] = { 4096, 8192, 16384, 32768, 40000, 65536, 131072, 262144, 1u << 20 };
    size_t sz;
    (void)hk_test_arena(&sz);
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        if (sizes[i] > sz) {
            hk_test_skip("the larger heaps need a larger test arena");
            break;
        }
        fill_and_serve(sizes[i]);
    }
}

/* A table derived from the region stops at half of it: the blocks above
 * share the top class, at most two of them, and are still found. */
static void test_top_class(void)
{
    size_t sz;
    unsigned char *mem = hk_test_arena(&sz);
    static const hk_heap_config_t bottom = { .bottom_cut = true }; /* b above a */
    hk_heap_t *h = hk_heap_init(mem, 32768, &bottom);
    HK_REQUIRE(h != NULL);
    HK_CHECK_EQ(tlsf_index(h, 32768 - 8 * HK_ALIGN), tlsf_nclasses(h) - 1u);
    void *a = hk_heap_alloc(h, 12400), *b = hk_heap_alloc(h, 64);
    HK_REQUIRE(a && b);
    hk_heap_free(h, a); /* two large free blocks: 12400 and the tail */
    HK_CHECK_EQ(hk_heap_validate(h), 0);
    hk_stats_t s0 = stats_of(h);
    HK_CHECK_EQ(s0.free_blocks, 2u);
    void *d = hk_heap_alloc(h, s0.largest_free);
    HK_CHECK(d != NULL);
    void *e = hk_heap_alloc(h, 12400);
    HK_CHECK(e != NULL);
    HK_CHECK_EQ(stats_of(h).free_blocks, 0u);
    HK_CHECK_EQ(hk_heap_validate(h), 0);
}

HK_SUITE(heap_table)
{
    HK_RUN(test_control_bound);
    HK_RUN(test_sli_per_size);
    HK_RUN(test_every_class_serves);
    HK_RUN(test_top_class);
}
