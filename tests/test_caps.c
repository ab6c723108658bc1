/* SPDX-License-Identifier: MIT */
/*
 * test_caps.c - the ESP-IDF-style capability API (heapkit/caps.h) over a
 * chain of two heaps in two kinds of memory:
 *   "internal"  HK_MALLOC_CAP_INTERNAL | DMA | 8BIT | 32BIT | DEFAULT, priority 1
 *   "external"  HK_MALLOC_CAP_SPIRAM | 8BIT | 32BIT | DEFAULT, priority 0
 * A port with several memories says where they are (hk_port_memory: on
 * Xtensa LX106 a block of dataram0 and one of sysram0, checked to lie
 * there); elsewhere both are parts of the test arena. Checks that requests
 * land in memory with the capabilities asked for, fall back by priority,
 * fail (with the callback) when no heap has the caps, and that the figures
 * by capability, the minimum-free monitor, the integrity checks and the
 * printed summary agree with the heaps' own statistics.
 */
#include "heapkit/caps.h"
#include "hk_test.h"

/* Optional port hook (ports/xtensa/main.c); weak, so other images need none. */
void *hk_port_memory(unsigned i, size_t *size, const char **name) __attribute__((weak));

#define CAP_INT (HK_MALLOC_CAP_INTERNAL | HK_MALLOC_CAP_DMA | HK_MALLOC_CAP_8BIT | \
                 HK_MALLOC_CAP_32BIT | HK_MALLOC_CAP_DEFAULT)
#define CAP_EXT (HK_MALLOC_CAP_SPIRAM | HK_MALLOC_CAP_8BIT | HK_MALLOC_CAP_32BIT | \
                 HK_MALLOC_CAP_DEFAULT)

typedef struct {
    unsigned char *base;
    size_t size;
    const char *name;
} mem_t;

static hk_chain_t chain;
static mem_t mem[2]; /* 0 internal, 1 external */

/* output captured from the caps layer's putc */
static char out[2048];
static size_t out_len;

static void capture(void *ctx, char c)
{
    (void)ctx;
    if (out_len + 1 < sizeof out)
        out[out_len++] = c;
    out[out_len] = '\0';
}

static const char *find(const char *hay, const char *needle)
{
    for (; *hay; hay++) {
        size_t i = 0;
        while (needle[i] && hay[i] == needle[i])
            i++;
        if (!needle[i])
            return hay;
    }
    return NULL;
}

static unsigned count(const char *hay, const char *needle)
{
    unsigned n = 0;
    for (const char *p = find(hay, needle); p; p = find(p + 1, needle))
        n++;
    return n;
}

static void dec(char *buf, size_t v) /* v in decimal, for searching the output */
{
    char t[24];
    size_t n = 0;
    do {
        t[n++] = (char)('0' + v % 10u);
        v /= 10u;
    } while (v);
    while (n)
        *buf++ = t[--n];
    *buf = '\0';
}

/* failed-allocation callback record */
static unsigned failed_calls;
static size_t failed_size;
static uint32_t failed_caps;
static const char *failed_fn;

static void on_failed(size_t size, uint32_t c, const char *fn)
{
    failed_calls++;
    failed_size = size;
    failed_caps = c;
    failed_fn = fn;
}

static int in(const mem_t *m, const void *p)
{
    return (const unsigned char *)p >= m->base && (const unsigned char *)p < m->base + m->size;
}

static int setup(void)
{
    size_t arena_size;
    unsigned char *arena = hk_test_arena(&arena_size);
    mem[0].size = arena_size / 4 < 16384u ? arena_size / 4 : 16384u;
    mem[0].base = arena;
    mem[0].name = "arena, first quarter";
    mem[1].size = arena_size / 2 < 262144u ? arena_size / 2 : 262144u;
    mem[1].base = arena + arena_size / 2;
    mem[1].name = "arena, second half";
    if (hk_port_memory) {
        for (unsigned i = 0; i < 2; i++) {
            size_t sz = 0;
            const char *name = NULL;
            void *b = hk_port_memory(i, &sz, &name);
            if (b) {
                mem[i].base = b;
                mem[i].size = sz;
                mem[i].name = name;
                for (size_t k = 0; k < sz; k += 61u) /* not zeroed: calloc must zero */
                    mem[i].base[k] = (unsigned char)(k | 1u);
            }
        }
    }
    hk_test_capture_errors();
    out_len = 0;
    out[0] = '\0';
    failed_calls = 0;
    if (hk_chain_init(&chain, NULL) != 0)
        return 0;
    /* added in the other order: the chain sorts them, internal first */
    if (hk_chain_add_region(&chain, mem[1].base, mem[1].size, CAP_EXT, 0, NULL) != 0 ||
        hk_chain_add_region(&chain, mem[0].base, mem[0].size, CAP_INT, 1, NULL) != 0 ||
        hk_chain_owner(&chain, mem[0].base + mem[0].size - 1) != 0 ||
        hk_chain_owner(&chain, mem[1].base + mem[1].size - 1) != 1)
        return 0;
    return hk_caps_init(&chain, capture, NULL) == 0 &&
           hk_caps_register_failed_alloc_callback(on_failed) == 0;
}

static void test_memories(void)
{
    HK_REQUIRE(setup());
    hk_test_printf("  caps heaps: internal %zu bytes in %s at %p, external %zu bytes in %s at %p\n",
                   mem[0].size, mem[0].name, (void *)mem[0].base, mem[1].size, mem[1].name,
                   (void *)mem[1].base);
#if defined(__XTENSA__)
    /* LX106 on QEMU's sim board: dataram0 0x3ffc0000-0x3fffffff, sysram0 from 0x60000000 */
    HK_CHECK(hk_port_memory != NULL);
    HK_CHECK((uintptr_t)mem[0].base >= 0x3ffc0000u &&
             (uintptr_t)mem[0].base + mem[0].size <= 0x40000000u);
    HK_CHECK((uintptr_t)mem[1].base >= 0x60000000u &&
             (uintptr_t)mem[1].base + mem[1].size <= 0x68000000u);
#endif
    HK_CHECK_EQ(hk_chain_caps(&chain, 0), CAP_INT);
    HK_CHECK_EQ(hk_chain_caps(&chain, 1), CAP_EXT);
}

static void test_malloc_by_caps(void)
{
    HK_REQUIRE(setup());
    void *i = hk_caps_malloc(100, HK_MALLOC_CAP_INTERNAL);
    void *e = hk_caps_malloc(100, HK_MALLOC_CAP_SPIRAM);
    void *d = hk_caps_malloc(100, HK_MALLOC_CAP_DEFAULT);
    void *dma = hk_caps_malloc(100, HK_MALLOC_CAP_DMA | HK_MALLOC_CAP_8BIT);
    void *any = hk_caps_malloc(100, 0);
    HK_CHECK(in(&mem[0], i));
    HK_CHECK(in(&mem[1], e));
    HK_CHECK(in(&mem[0], d)); /* the higher priority first */
    HK_CHECK(in(&mem[0], dma));
    HK_CHECK(in(&mem[0], any));
    HK_CHECK_EQ((uintptr_t)e % HK_ALIGN, 0);
    HK_CHECK_EQ(failed_calls, 0);
    /* no heap is both DMA-capable and external */
    HK_CHECK(hk_caps_malloc(100, HK_MALLOC_CAP_DMA | HK_MALLOC_CAP_SPIRAM) == NULL);
    HK_CHECK_EQ(failed_calls, 1);
    HK_CHECK_EQ(failed_size, 100);
    HK_CHECK_EQ(failed_caps, HK_MALLOC_CAP_DMA | HK_MALLOC_CAP_SPIRAM);
    HK_CHECK(failed_fn != NULL && find(failed_fn, "hk_caps_malloc") == failed_fn);
    /* size 0: NULL, as in ESP-IDF, and not a failure */
    HK_CHECK(hk_caps_malloc(0, HK_MALLOC_CAP_DEFAULT) == NULL);
    HK_CHECK_EQ(failed_calls, 1);
    HK_CHECK(hk_caps_get_allocated_size(e) >= 100u);
    hk_caps_free(i);
    hk_caps_free(e);
    hk_caps_free(d);
    hk_caps_free(dma);
    hk_caps_aligned_free(any);
    hk_caps_free(NULL);
    HK_CHECK_EQ(hk_test_errors.count, 0);
    /* a pointer in no heap is reported */
    static unsigned char elsewhere[16];
    hk_caps_free(elsewhere);
    HK_CHECK_EQ(hk_test_errors.count, 1);
    HK_CHECK_EQ(hk_test_errors.last_code, HK_EBADPTR);
    HK_CHECK(hk_caps_check_integrity_all(true));
}

static void test_fallback(void)
{
    HK_REQUIRE(setup());
    size_t int_free = hk_caps_get_free_size(HK_MALLOC_CAP_INTERNAL);
    void *ptrs[64];
    unsigned n = 0, in_int = 0, in_ext = 0;
    size_t chunk = mem[0].size / 8u;
    /* DEFAULT requests fill the internal heap, then fall back to external */
    while (n < 20u) {
        void *p = hk_caps_malloc(chunk, HK_MALLOC_CAP_DEFAULT);
        HK_REQUIRE(p != NULL);
        ptrs[n++] = p;
        in_int += in(&mem[0], p) ? 1u : 0u;
        in_ext += in(&mem[1], p) ? 1u : 0u;
    }
    HK_CHECK_EQ(in_int + in_ext, n);
    HK_CHECK(in_int >= 5u && in_int <= 8u);
    HK_CHECK(in_ext >= 12u);
    HK_CHECK(in(&mem[1], ptrs[n - 1]));
    /* now only external memory can serve: internal requests fail */
    HK_CHECK(hk_caps_get_largest_free_block(HK_MALLOC_CAP_INTERNAL) < chunk);
    HK_CHECK(hk_caps_malloc(chunk, HK_MALLOC_CAP_INTERNAL) == NULL);
    HK_CHECK_EQ(failed_calls, 1);
    /* preferences: DMA and external is nowhere; then default works */
    void *pref = hk_caps_malloc_prefer(64, 2, (uint32_t)(HK_MALLOC_CAP_DMA | HK_MALLOC_CAP_SPIRAM),
                                       (uint32_t)HK_MALLOC_CAP_DEFAULT);
    HK_CHECK(pref != NULL);
    HK_CHECK_EQ(failed_calls, 1);
    HK_CHECK(hk_caps_malloc_prefer(chunk, 1, (uint32_t)HK_MALLOC_CAP_INTERNAL) == NULL);
    HK_CHECK_EQ(failed_calls, 2);
    HK_CHECK(find(failed_fn, "prefer") != NULL);
    hk_caps_free(pref);
    while (n)
        hk_caps_free(ptrs[--n]);
    HK_CHECK_EQ(hk_caps_get_free_size(HK_MALLOC_CAP_INTERNAL), int_free);
    HK_CHECK(hk_caps_check_integrity_all(true));
    HK_CHECK_EQ(hk_test_errors.count, 0);
}

static void test_calloc_realloc_aligned(void)
{
    HK_REQUIRE(setup());
    unsigned char *z = hk_caps_calloc(10, 30, HK_MALLOC_CAP_SPIRAM);
    HK_REQUIRE(z != NULL);
    HK_CHECK(in(&mem[1], z));
    unsigned nonzero = 0;
    for (unsigned k = 0; k < 300; k++)
        nonzero += z[k] != 0;
    HK_CHECK_EQ(nonzero, 0);
    HK_CHECK(hk_caps_calloc(SIZE_MAX / 2u, 3, HK_MALLOC_CAP_DEFAULT) == NULL); /* overflows */
    HK_CHECK(hk_caps_calloc(0, 3, HK_MALLOC_CAP_DEFAULT) == NULL);
    /* realloc into memory of other caps moves it, keeping the contents */
    unsigned char *p = hk_caps_malloc(200, HK_MALLOC_CAP_INTERNAL);
    HK_REQUIRE(p != NULL);
    for (unsigned k = 0; k < 200; k++)
        p[k] = (unsigned char)(k * 7u + 3u);
    unsigned char *q = hk_caps_realloc(p, 400, HK_MALLOC_CAP_SPIRAM);
    HK_REQUIRE(q != NULL);
    HK_CHECK(in(&mem[1], q));
    unsigned bad = 0;
    for (unsigned k = 0; k < 200; k++)
        bad += q[k] != (unsigned char)(k * 7u + 3u);
    HK_CHECK_EQ(bad, 0);
    HK_CHECK(hk_caps_get_allocated_size(q) >= 400u);
    /* within its own caps it stays in its heap */
    unsigned char *r = hk_caps_realloc(q, 1000, HK_MALLOC_CAP_8BIT);
    HK_REQUIRE(r != NULL);
    HK_CHECK(in(&mem[1], r));
    HK_CHECK_EQ(r[199], (unsigned char)(199u * 7u + 3u));
    /* impossible caps: NULL, the block untouched */
    HK_CHECK(hk_caps_realloc(r, 100, HK_MALLOC_CAP_DMA | HK_MALLOC_CAP_SPIRAM) == NULL);
    HK_CHECK_EQ(failed_calls, 1);
    HK_CHECK_EQ(r[0], 3u);
    void *n = hk_caps_realloc(NULL, 50, HK_MALLOC_CAP_DMA);
    HK_CHECK(in(&mem[0], n));
    HK_CHECK(hk_caps_realloc(n, 0, HK_MALLOC_CAP_DMA) == NULL); /* frees */
    void *a = hk_caps_aligned_alloc(256, 100, HK_MALLOC_CAP_SPIRAM);
    HK_REQUIRE(a != NULL);
    HK_CHECK_EQ((uintptr_t)a & 255u, 0);
    HK_CHECK(in(&mem[1], a));
    unsigned errs = hk_test_errors.count;
    HK_CHECK(hk_caps_aligned_alloc(24, 100, HK_MALLOC_CAP_SPIRAM) == NULL); /* not a power of 2 */
    HK_CHECK_EQ(hk_test_errors.count, errs + 1u);
    HK_CHECK_EQ(hk_test_errors.last_code, HK_EINVAL);
    HK_CHECK_EQ(failed_calls, 1); /* misuse, not a failed allocation */
    hk_caps_aligned_free(a);
    hk_caps_free(r);
    hk_caps_free(z);
    HK_CHECK(hk_caps_check_integrity_all(true));
    HK_CHECK_EQ(hk_test_errors.count, errs + 1u); /* the alignment only */
}

static void test_figures(void)
{
    HK_REQUIRE(setup());
    hk_stats_t si, se;
    hk_chain_heap_stats(&chain, 0, &si);
    hk_chain_heap_stats(&chain, 1, &se);
    HK_CHECK_EQ(hk_caps_get_total_size(HK_MALLOC_CAP_INTERNAL), si.total);
    HK_CHECK_EQ(hk_caps_get_total_size(HK_MALLOC_CAP_SPIRAM), se.total);
    HK_CHECK_EQ(hk_caps_get_total_size(HK_MALLOC_CAP_8BIT), si.total + se.total);
    HK_CHECK_EQ(hk_caps_get_total_size(0), si.total + se.total);
    HK_CHECK_EQ(hk_caps_get_total_size(HK_MALLOC_CAP_EXEC), 0); /* no such heap */
    HK_CHECK_EQ(hk_caps_get_free_size(HK_MALLOC_CAP_DEFAULT), si.free + se.free);
    HK_CHECK_EQ(hk_caps_get_largest_free_block(HK_MALLOC_CAP_DEFAULT), se.largest_free);
    /* the largest free block is exact */
    size_t big = hk_caps_get_largest_free_block(HK_MALLOC_CAP_SPIRAM);
    HK_CHECK(hk_caps_malloc(big + 1u, HK_MALLOC_CAP_SPIRAM) == NULL);
    void *p = hk_caps_malloc(big, HK_MALLOC_CAP_SPIRAM);
    HK_CHECK(p != NULL);
    HK_CHECK_EQ(hk_caps_get_largest_free_block(HK_MALLOC_CAP_SPIRAM), 0);
    hk_caps_free(p);
    void *q = hk_caps_malloc(1000, HK_MALLOC_CAP_INTERNAL);
    HK_REQUIRE(q != NULL);
    hk_caps_info_t info;
    hk_caps_get_info(&info, HK_MALLOC_CAP_INTERNAL);
    hk_chain_heap_stats(&chain, 0, &si);
    HK_CHECK_EQ(info.total_free_bytes, si.free);
    HK_CHECK_EQ(info.total_allocated_bytes, si.used);
    HK_CHECK(info.total_allocated_bytes >= 1000u);
    HK_CHECK_EQ(info.largest_free_block, si.largest_free);
    HK_CHECK_EQ(info.allocated_blocks, 1);
    HK_CHECK_EQ(info.total_blocks, si.free_blocks + 1u);
    HK_CHECK_EQ(info.minimum_free_bytes, si.min_ever_free);
    HK_CHECK_EQ(hk_caps_get_free_size(HK_MALLOC_CAP_INTERNAL), si.free);
    hk_caps_free(q);
}

static void test_minimum_free(void)
{
    HK_REQUIRE(setup());
    uint32_t c = HK_MALLOC_CAP_INTERNAL;
    size_t start = hk_caps_get_free_size(c);
    HK_CHECK_EQ(hk_caps_get_minimum_free_size(c), start);
    void *big = hk_caps_malloc(4000, c);
    HK_REQUIRE(big != NULL);
    size_t low = hk_caps_get_free_size(c);
    HK_CHECK(low + 4000u <= start);
    hk_caps_free(big);
    HK_CHECK_EQ(hk_caps_get_free_size(c), start);
    HK_CHECK_EQ(hk_caps_get_minimum_free_size(c), low); /* the mark stays down */
    /* a local window: the minimum restarts from the current free size */
    HK_CHECK_EQ(hk_caps_monitor_local_minimum_free_size_stop(), HK_EBUSY);
    HK_CHECK_EQ(hk_caps_monitor_local_minimum_free_size_start(), 0);
    HK_CHECK_EQ(hk_caps_monitor_local_minimum_free_size_start(), HK_EBUSY);
    HK_CHECK_EQ(hk_caps_get_minimum_free_size(c), start);
    void *small = hk_caps_malloc(500, c);
    HK_REQUIRE(small != NULL);
    size_t local = hk_caps_get_free_size(c);
    hk_caps_free(small);
    HK_CHECK_EQ(hk_caps_get_minimum_free_size(c), local);
    HK_CHECK(local > low);
    /* stop: the global low-water mark again, from before the window */
    HK_CHECK_EQ(hk_caps_monitor_local_minimum_free_size_stop(), 0);
    HK_CHECK_EQ(hk_caps_get_minimum_free_size(c), low);
    /* a second window that goes lower than ever moves the global mark */
    HK_CHECK_EQ(hk_caps_monitor_local_minimum_free_size_start(), 0);
    void *bigger = hk_caps_malloc(6000, c);
    HK_REQUIRE(bigger != NULL);
    size_t lower = hk_caps_get_free_size(c);
    hk_caps_free(bigger);
    HK_CHECK_EQ(hk_caps_monitor_local_minimum_free_size_stop(), 0);
    HK_CHECK(lower < low);
    HK_CHECK_EQ(hk_caps_get_minimum_free_size(c), lower);
    /* the sum over heaps: external's own mark is untouched (its full size) */
    HK_CHECK_EQ(hk_caps_get_minimum_free_size(0),
                lower + hk_caps_get_free_size(HK_MALLOC_CAP_SPIRAM));
}

static void test_integrity(void)
{
    HK_REQUIRE(setup());
    unsigned char *a = hk_caps_malloc(100, HK_MALLOC_CAP_SPIRAM);
    unsigned char *b = hk_caps_malloc(100, HK_MALLOC_CAP_SPIRAM);
    unsigned char *c = hk_caps_malloc(100, HK_MALLOC_CAP_INTERNAL);
    HK_REQUIRE(a && b && c);
    HK_CHECK(hk_caps_check_integrity_all(true));
    HK_CHECK(hk_caps_check_integrity(HK_MALLOC_CAP_SPIRAM, true));
    HK_CHECK(hk_caps_check_integrity_addr((intptr_t)b, true));
    HK_CHECK_EQ(out_len, 0); /* nothing to say */
    /* a's header (the word before it) grows by a granule: an overflow from
     * the block below would do that */
    size_t *hdr = (size_t *)(void *)a - 1;
    *hdr ^= (size_t)HK_ALIGN;
    HK_CHECK(!hk_caps_check_integrity(HK_MALLOC_CAP_SPIRAM, true));
    HK_CHECK_EQ(hk_test_errors.last_code, HK_ECORRUPT);
    HK_CHECK(find(out, "CORRUPT HEAP: heap 1") != NULL);
    HK_CHECK(hk_caps_check_integrity(HK_MALLOC_CAP_INTERNAL, true)); /* the other heap is fine */
    HK_CHECK(!hk_caps_check_integrity_addr((intptr_t)b, false));
    HK_CHECK(hk_caps_check_integrity_addr((intptr_t)c, false));
    out_len = 0;
    out[0] = '\0';
    HK_CHECK(!hk_caps_check_integrity_all(true));
    HK_CHECK_EQ(count(out, "CORRUPT HEAP"), 1);
    HK_CHECK(!hk_caps_check_integrity_addr((intptr_t)&chain, true)); /* in no heap */
    HK_CHECK(find(out, "in no heap") != NULL);
    *hdr ^= (size_t)HK_ALIGN; /* repaired */
    HK_CHECK(hk_caps_check_integrity_all(false));
    hk_caps_free(a);
    hk_caps_free(b);
    hk_caps_free(c);
    HK_CHECK(hk_caps_check_integrity_all(false));
}

static void test_print_heap_info(void)
{
    HK_REQUIRE(setup());
    void *p = hk_caps_malloc(300, HK_MALLOC_CAP_SPIRAM);
    HK_REQUIRE(p != NULL);
    hk_caps_print_heap_info(HK_MALLOC_CAP_SPIRAM);
    HK_CHECK(find(out, "heap summary for caps") == out);
    HK_CHECK_EQ(count(out, "  heap "), 1);
    HK_CHECK(find(out, "heap 1 at") != NULL);
    char num[32], want[64];
    dec(num, hk_caps_get_free_size(HK_MALLOC_CAP_SPIRAM));
    want[0] = '\0';
    /* " free N " appears in the heap's line and in the totals */
    size_t k = 0;
    for (const char *s = " free "; *s;)
        want[k++] = *s++;
    for (const char *s = num; *s;)
        want[k++] = *s++;
    want[k++] = ' ';
    want[k] = '\0';
    HK_CHECK_EQ(count(out, want), 2);
    HK_CHECK(find(out, "alloc_blocks 1 ") != NULL);
    HK_CHECK(find(out, "totals over 1 heaps") != NULL);
    out_len = 0;
    out[0] = '\0';
    hk_caps_print_heap_info(0); /* every heap */
    HK_CHECK_EQ(count(out, "  heap "), 2);
    HK_CHECK(find(out, "totals over 2 heaps") != NULL);
    hk_test_printf("%s", out);
    hk_caps_free(p);
}

static void test_misuse(void)
{
    hk_test_capture_errors();
    HK_CHECK_EQ(hk_caps_init(NULL, NULL, NULL), HK_EINVAL);
    HK_CHECK_EQ(hk_test_errors.last_code, HK_EINVAL);
    HK_REQUIRE(setup());
    hk_caps_get_info(NULL, 0); /* does nothing */
    static unsigned char foreign[32];
    HK_CHECK_EQ(hk_caps_get_allocated_size(foreign + 8), 0);
    HK_CHECK_EQ(hk_test_errors.last_code, HK_EBADPTR);
    HK_CHECK(hk_caps_realloc(foreign + 8, 10, 0) == NULL);
    HK_CHECK_EQ(hk_test_errors.last_code, HK_EBADPTR);
    HK_CHECK_EQ(failed_calls, 0); /* misuse, not a failed allocation */
    HK_CHECK(hk_caps_check_integrity_all(false));
}

HK_SUITE(caps)
{
    HK_RUN(test_memories);
    HK_RUN(test_malloc_by_caps);
    HK_RUN(test_fallback);
    HK_RUN(test_calloc_realloc_aligned);
    HK_RUN(test_figures);
    HK_RUN(test_minimum_free);
    HK_RUN(test_integrity);
    HK_RUN(test_print_heap_info);
    HK_RUN(test_misuse);
}
