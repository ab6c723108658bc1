/* SPDX-License-Identifier: MIT */
/*
 * test_tiered.c - hk_tiered: routing by size and by address, spill and
 * fallback, realloc, misuse, corruption and a randomized model test.
 */
#include "heapkit/heap.h"
#include "heapkit/tiered.h"
#include "hk_stress.h"
#include "hk_test.h"
#include "tiered/tiered_impl.h"

static const hk_tiered_class_t classes5[] = {
    { 16, 8 }, { 32, 8 }, { 64, 4 }, { 128, 4 }, { 256, 2 },
};

/* Carves the test arena: the first part for the tiered allocator, the rest
 * for the fallback heap (NULL when heap_bytes is 0). */
static hk_tiered_t *make(const hk_tiered_config_t *base, size_t heap_bytes, hk_heap_t **heap_out)
{
    size_t asz;
    unsigned char *mem = hk_test_arena(&asz);
    hk_tiered_config_t cfg = *base;
    size_t need = hk_tiered_mem_size(&cfg);
    HK_CHECK(need > 0);
    if (need == 0 || need + heap_bytes + 64 > asz)
        return NULL;
    hk_heap_t *h = NULL;
    if (heap_bytes) {
        h = hk_heap_init(mem + ((need + 63) & ~(size_t)63), heap_bytes, NULL);
        HK_CHECK(h != NULL);
    }
    cfg.fallback = h;
    if (heap_out)
        *heap_out = h;
    return hk_tiered_init(mem, need, &cfg);
}

static void test_routing(void)
{
    hk_test_capture_errors();
    hk_tiered_config_t cfg = { classes5, 5, NULL, NULL, 0, false };
    hk_heap_t *h;
    hk_tiered_t *t = make(&cfg, 16384, &h);
    HK_REQUIRE(t != NULL);
    HK_CHECK_EQ(hk_tiered_class_count(t), 5);
    static const size_t sizes[] = { 0, 1, 15, 16, 17, 32, 33, 64, 65, 100, 128, 129, 255, 256 };
    static const size_t expect[] = { 16, 16, 16, 16, 32, 32, 64, 64, 128, 128, 128, 256, 256, 256 };
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        unsigned char *p = hk_tiered_alloc(t, sizes[i]);
        HK_REQUIRE(p != NULL);
        HK_CHECK(hk_tiered_owns(t, p));
        HK_CHECK_EQ(hk_tiered_usable_size(t, p), expect[i]);
        size_t a = expect[i] < HK_ALIGN ? expect[i] : HK_ALIGN;
        HK_CHECK(((uintptr_t)p & (a - 1)) == 0);
        hk_test_memset(p, 0x5a, sizes[i]);
        hk_tiered_free(t, p);
    }
    unsigned char *big = hk_tiered_alloc(t, 257);
    HK_REQUIRE(big != NULL);
    HK_CHECK(!hk_tiered_owns(t, big));
    HK_CHECK(hk_tiered_usable_size(t, big) >= 257);
    hk_tiered_free(t, big);
    HK_CHECK_EQ(hk_tiered_validate(t), HK_OK);
    hk_stats_t s;
    hk_tiered_get_stats(t, &s);
    HK_CHECK_EQ(s.allocs, 15);
    HK_CHECK_EQ(s.frees, 15);
    HK_CHECK_EQ(s.used_blocks, 0);
    hk_tiered_class_stats(t, 0, &s);
    HK_CHECK_EQ(s.allocs, 4);
    HK_CHECK(s.free_blocks >= 8);
    HK_CHECK_EQ(hk_test_errors.count, 0);
}

static void test_odd_classes(void)
{
    hk_test_capture_errors();
    static const hk_tiered_class_t odd[] = { { 12, 10 }, { 24, 10 }, { 40, 5 }, { 100, 3 } };
    hk_tiered_config_t cfg = { odd, 4, NULL, NULL, 64, false };
    hk_tiered_t *t = make(&cfg, 0, NULL);
    HK_REQUIRE(t != NULL);
    for (size_t s = 0; s <= 100; s++) {
        unsigned char *p = hk_tiered_alloc(t, s);
        HK_REQUIRE(p != NULL);
        size_t u = hk_tiered_usable_size(t, p);
        size_t want = s <= 12 ? 12 : s <= 24 ? 24 : s <= 40 ? 40 : 100;
        HK_CHECK_EQ(u, want);
        hk_tiered_free(t, p);
    }
    HK_CHECK(hk_tiered_alloc(t, 101) == NULL); /* no fallback */
    hk_stats_t s;
    hk_tiered_get_stats(t, &s);
    HK_CHECK_EQ(s.failed_allocs, 1);
    /* every class got at least what it asked for */
    for (size_t i = 0; i < 4; i++) {
        hk_tiered_class_stats(t, i, &s);
        HK_CHECK(s.free_blocks >= odd[i].count);
    }
    HK_CHECK_EQ(hk_tiered_validate(t), HK_OK);
    HK_CHECK_EQ(hk_test_errors.count, 0);
}

static void test_spill_and_fallback(void)
{
    hk_test_capture_errors();
    static const hk_tiered_class_t two[] = { { 16, 4 }, { 32, 4 } };
    hk_tiered_config_t cfg = { two, 2, NULL, NULL, 64, true };
    hk_heap_t *h;
    hk_tiered_t *t = make(&cfg, 8192, &h);
    HK_REQUIRE(t != NULL);
    void *p[20];
    size_t n16 = 0, n32 = 0, nheap = 0;
    for (int i = 0; i < 20; i++) {
        p[i] = hk_tiered_alloc(t, 10);
        HK_REQUIRE(p[i] != NULL);
        size_t u = hk_tiered_usable_size(t, p[i]);
        if (!hk_tiered_owns(t, p[i]))
            nheap++;
        else if (u == 16)
            n16++;
        else if (u == 32)
            n32++;
    }
    /* 64-byte pages: exactly 4 blocks of 16 (one page) and 4 of 32 (two) */
    HK_CHECK_EQ(n16, 4);
    HK_CHECK_EQ(n32, 4);
    HK_CHECK_EQ(nheap, 12);
    hk_stats_t hs;
    hk_heap_get_stats(h, &hs);
    HK_CHECK_EQ(hs.used_blocks, 12);
    HK_CHECK_EQ(hk_tiered_validate(t), HK_OK);
    for (int i = 0; i < 20; i++)
        hk_tiered_free(t, p[i]);
    hk_heap_get_stats(h, &hs);
    HK_CHECK_EQ(hs.used_blocks, 0);
    HK_CHECK_EQ(hk_tiered_validate(t), HK_OK);
    HK_CHECK_EQ(hk_test_errors.count, 0);
}

static void test_realloc_calloc(void)
{
    hk_test_capture_errors();
    hk_tiered_config_t cfg = { classes5, 5, NULL, NULL, 0, false };
    hk_tiered_t *t = make(&cfg, 16384, NULL);
    HK_REQUIRE(t != NULL);
    unsigned char *p = hk_tiered_realloc(t, NULL, 10);
    HK_REQUIRE(p != NULL);
    for (int i = 0; i < 10; i++)
        p[i] = (unsigned char)i;
    hk_stats_t c0, c1;
    hk_tiered_get_stats(t, &c0);
    HK_CHECK_EQ(c0.allocs, 1); /* realloc(NULL, n) is an alloc */
    HK_CHECK(hk_tiered_realloc(t, p, 16) == p); /* fits the block: counts nothing */
    hk_tiered_get_stats(t, &c1);
    HK_CHECK_EQ(c1.allocs, 1);
    HK_CHECK_EQ(c1.frees, 0);
    unsigned char *q = hk_tiered_realloc(t, p, 100);
    HK_REQUIRE(q != NULL && q != p);
    hk_tiered_get_stats(t, &c1);
    HK_CHECK_EQ(c1.allocs, 2); /* moved between classes: one of each */
    HK_CHECK_EQ(c1.frees, 1);
    HK_CHECK_EQ(hk_tiered_usable_size(t, q), 128);
    for (int i = 0; i < 10; i++)
        HK_CHECK_EQ(q[i], i);
    unsigned char *r = hk_tiered_realloc(t, q, 1000); /* to the heap */
    HK_REQUIRE(r != NULL && !hk_tiered_owns(t, r));
    for (int i = 0; i < 10; i++)
        HK_CHECK_EQ(r[i], i);
    /* heap to heap, past a neighbour: the heap moves it, which counts one
     * alloc and one free like every moving realloc */
    void *nb = hk_tiered_alloc(t, 600);
    HK_REQUIRE(nb != NULL && !hk_tiered_owns(t, nb));
    hk_stats_t s0, s1;
    hk_tiered_get_stats(t, &s0);
    unsigned char *r2 = hk_tiered_realloc(t, r, 2000);
    HK_REQUIRE(r2 != NULL);
    HK_CHECK(r2 != r);
    hk_tiered_get_stats(t, &s1);
    HK_CHECK_EQ(s1.allocs - s0.allocs, 1);
    HK_CHECK_EQ(s1.frees - s0.frees, 1);
    HK_CHECK(hk_tiered_realloc(t, r2, 1u << 20) == NULL); /* the heap cannot: a failure */
    hk_tiered_get_stats(t, &s0);
    HK_CHECK_EQ(s0.failed_allocs - s1.failed_allocs, 1);
    HK_CHECK_EQ(s0.allocs, s1.allocs);
    hk_tiered_free(t, nb);
    unsigned char *r3 = hk_tiered_realloc(t, r2, 20); /* back to a class */
    HK_REQUIRE(r3 != NULL && hk_tiered_owns(t, r3));
    for (int i = 0; i < 10; i++)
        HK_CHECK_EQ(r3[i], i);
    HK_CHECK(hk_tiered_realloc(t, r3, 0) == NULL);
    unsigned char *z = hk_tiered_calloc(t, 7, 9);
    HK_REQUIRE(z != NULL);
    int zero = 1;
    for (int i = 0; i < 63; i++)
        zero &= z[i] == 0;
    HK_CHECK(zero);
    hk_tiered_free(t, z);
    /* class 0 full: a 0-byte request goes to the heap, where its block has
     * usable size 0 -- a live block all the same, which realloc grows */
    void *zs[64];
    size_t nz = 0;
    unsigned char *hz = NULL;
    while (nz < 64 && !hz) {
        void *b = hk_tiered_alloc(t, 0);
        HK_REQUIRE(b != NULL);
        if (hk_tiered_owns(t, b))
            zs[nz++] = b;
        else
            hz = b;
    }
    HK_REQUIRE(hz != NULL);
    HK_CHECK_EQ(hk_tiered_usable_size(t, hz), hk_test_reported(0));
    unsigned char *hz2 = hk_tiered_realloc(t, hz, 40);
    HK_CHECK(hz2 != NULL);
    hk_tiered_free(t, hz2 ? hz2 : hz);
    while (nz)
        hk_tiered_free(t, zs[--nz]);
    HK_CHECK(hk_tiered_calloc(t, SIZE_MAX / 2, 3) == NULL);
    hk_stats_t s;
    hk_tiered_get_stats(t, &s);
    HK_CHECK_EQ(s.failed_allocs, 2);
    HK_CHECK_EQ(s.used_blocks, 0);
    HK_CHECK_EQ(s.allocs, s.frees);
    HK_CHECK_EQ(hk_tiered_validate(t), HK_OK);
    HK_CHECK_EQ(hk_test_errors.count, 0);
}

static void test_lock_hooks(void)
{
    hk_test_capture_errors();
    hk_test_lock_probe_t probe;
    hk_lock_t lk = hk_test_lock_probe(&probe);
    hk_tiered_config_t cfg = { classes5, 5, NULL, &lk, 0, false };
    hk_tiered_t *t = make(&cfg, 4096, NULL);
    HK_REQUIRE(t != NULL);
    void *a = hk_tiered_alloc(t, 20), *b = hk_tiered_alloc(t, 2000);
    hk_tiered_free(t, a);
    hk_tiered_free(t, b);
    HK_CHECK_EQ(hk_tiered_validate(t), HK_OK);
    HK_CHECK_EQ(probe.locks, 5);
    HK_CHECK_EQ(probe.depth, 0);
    HK_CHECK_EQ(probe.bad_saved, 0u);
}

/* ---- misuse ------------------------------------------------------------ */
static void test_bad_config(void)
{
    hk_test_capture_errors();
    static _Alignas(16) unsigned char mem[4096];
    hk_tiered_class_t bad[3] = { { 16, 4 }, { 16, 4 }, { 32, 4 } };
    hk_tiered_config_t cfg = { bad, 3, NULL, NULL, 0, false };
    HK_CHECK_EQ(hk_tiered_mem_size(&cfg), 0);
    HK_CHECK(hk_tiered_init(mem, sizeof mem, &cfg) == NULL); /* not ascending */
    bad[1].size = 24;
    bad[1].count = 0;
    HK_CHECK(hk_tiered_init(mem, sizeof mem, &cfg) == NULL); /* count 0 */
    bad[1].count = 4;
    bad[0].size = sizeof(void *) - 1;
    HK_CHECK(hk_tiered_init(mem, sizeof mem, &cfg) == NULL); /* below a pointer */
    bad[0].size = 16;
    bad[2].size = HK_TIERED_MAX_CLASS_SIZE + 8;
    HK_CHECK(hk_tiered_init(mem, sizeof mem, &cfg) == NULL); /* too big */
    bad[2].size = 32;
    cfg.page = 100;
    HK_CHECK(hk_tiered_init(mem, sizeof mem, &cfg) == NULL); /* page not pow2 */
    cfg.page = 0;
    cfg.nclasses = 0;
    HK_CHECK(hk_tiered_init(mem, sizeof mem, &cfg) == NULL);
    cfg.nclasses = HK_TIERED_MAX_CLASSES + 1;
    HK_CHECK(hk_tiered_init(mem, sizeof mem, &cfg) == NULL);
    cfg.nclasses = 3;
    HK_CHECK(hk_tiered_init(NULL, sizeof mem, &cfg) == NULL);
    HK_CHECK(hk_tiered_init(mem, sizeof mem, NULL) == NULL);
    HK_CHECK_EQ(hk_test_errors.count, 9);
    HK_CHECK_EQ(hk_test_errors.last_code, HK_EINVAL);
    bad[2].count = SIZE_MAX / 8;
    HK_CHECK_EQ(hk_tiered_mem_size(&cfg), 0);
    HK_CHECK(hk_tiered_init(mem, sizeof mem, &cfg) == NULL);
    HK_CHECK_EQ(hk_test_errors.last_code, HK_ERANGE);
    bad[2].count = 4;
    size_t need = hk_tiered_mem_size(&cfg);
    HK_CHECK(need > 0 && need < sizeof mem);
    HK_CHECK(hk_tiered_init(mem, need - 1, &cfg) == NULL);
    HK_CHECK_EQ(hk_test_errors.last_code, HK_ENOMEM);
    HK_CHECK(hk_tiered_init(mem + 1, need, &cfg) == NULL); /* alignment slack */
    HK_CHECK(hk_tiered_init(mem + 1, need + HK_ALIGN - 1, &cfg) != NULL);
    HK_CHECK(hk_tiered_init(mem, need, &cfg) != NULL);
    HK_CHECK_EQ(hk_test_errors.count, 12);
    HK_CHECK(hk_tiered_alloc(NULL, 1) == NULL);
    HK_CHECK_EQ(hk_test_errors.count, 13);
}

static void test_bad_free(void)
{
    hk_test_capture_errors();
    static unsigned char other[64];
    hk_tiered_config_t cfg = { classes5, 5, NULL, NULL, 0, false };
    hk_tiered_t *t = make(&cfg, 0, NULL);
    HK_REQUIRE(t != NULL);
    unsigned char *a = hk_tiered_alloc(t, 30), *b = hk_tiered_alloc(t, 30);
    HK_REQUIRE(a && b);
    hk_tiered_free(t, NULL);
    HK_CHECK_EQ(hk_test_errors.count, 0);
    hk_tiered_free(t, other); /* no fallback: foreign */
    HK_CHECK_EQ(hk_test_errors.last_code, HK_EBADPTR);
    hk_tiered_free(t, a + 4); /* interior */
    HK_CHECK_EQ(hk_test_errors.last_code, HK_EBADPTR);
    HK_CHECK_EQ(hk_tiered_usable_size(t, a + 4), 0);
    HK_CHECK_EQ(hk_test_errors.last_code, HK_EBADPTR);
    hk_tiered_free(t, b);
    hk_tiered_free(t, b); /* double */
    HK_CHECK_EQ(hk_test_errors.last_code, HK_EDOUBLEFREE);
    HK_CHECK_EQ(hk_test_errors.count, 4);
    hk_tiered_free(t, a);
    unsigned char *c = hk_tiered_alloc(t, 30);
    hk_tiered_free(t, b); /* double, and b is not the most recently freed */
    HK_CHECK_EQ(hk_test_errors.last_code, HK_EDOUBLEFREE);
    HK_CHECK_EQ(hk_test_errors.count, 5);
    HK_CHECK(c == a);
    unsigned char *d = hk_tiered_alloc(t, 30), *e = hk_tiered_alloc(t, 30);
    HK_CHECK(d == b && e != b); /* b was listed once */
    hk_tiered_free(t, d);
    hk_tiered_free(t, e);
    hk_stats_t s;
    hk_tiered_get_stats(t, &s);
    HK_CHECK_EQ(s.frees, 4);
    HK_CHECK_EQ(s.used_blocks, 1);
    HK_CHECK_EQ(hk_tiered_validate(t), HK_OK);
}

static void test_validate_catches_corruption(void)
{
    hk_test_capture_errors();
    hk_tiered_config_t cfg = { classes5, 5, NULL, NULL, 0, false };
    hk_tiered_t *t = make(&cfg, 4096, NULL);
    HK_REQUIRE(t != NULL);
    unsigned char *a = hk_tiered_alloc(t, 64);
    HK_REQUIRE(a && hk_tiered_alloc(t, 64));
    hk_tiered_free(t, a);
    HK_CHECK_EQ(hk_tiered_validate(t), HK_OK);
    t->owner[0] ^= 1;
    HK_CHECK_EQ(hk_tiered_validate(t), HK_ECORRUPT);
    t->owner[0] ^= 1;
    t->route[3] = 4;
    HK_CHECK_EQ(hk_tiered_validate(t), HK_ECORRUPT);
    t->route[3] = 2; /* 48 -> class 2 (64) */
    HK_CHECK_EQ(hk_tiered_validate(t), HK_OK);
    t->max_small = 512;
    HK_CHECK_EQ(hk_tiered_validate(t), HK_ECORRUPT);
    t->max_small = 256;
    /* use after free: a's pool link pointing into the middle of a block */
    void *bad = a + 8;
    __builtin_memcpy(a, &bad, sizeof bad);
    HK_CHECK_EQ(hk_tiered_validate(t), HK_ECORRUPT);
    __builtin_memset(a, 0, sizeof bad);
    HK_CHECK_EQ(hk_tiered_validate(t), HK_OK);
    /* a damaged owner byte on free */
    uint8_t own1 = t->owner[1];
    t->owner[1] = 200;
    unsigned n = hk_test_errors.count;
    hk_tiered_free(t, t->lo + 256 + 16);
    HK_CHECK_EQ(hk_test_errors.count, n + 1);
    HK_CHECK_EQ(hk_test_errors.last_code, HK_ECORRUPT);
    t->owner[1] = own1;
    HK_CHECK_EQ(hk_tiered_validate(t), HK_OK);
    /* a bad handle (NULL, or memory init never made an allocator of) is
     * HK_EINVAL; damage inside a real one stays HK_ECORRUPT */
    HK_CHECK_EQ(hk_tiered_validate(NULL), HK_EINVAL);
    static _Alignas(16) unsigned char junk[sizeof(struct hk_tiered) + 8 * sizeof(hk_pool_t)];
    hk_test_memset(junk, 0, sizeof junk);
    HK_CHECK_EQ(hk_tiered_validate((hk_tiered_t *)(void *)junk), HK_EINVAL);
    HK_CHECK_EQ(hk_test_errors.last_code, HK_EINVAL);
    HK_CHECK_EQ(hk_test_errors.count, n + 3);
}

/* ---- randomized model (the stress rig, harness/hk_stress.h) ---------- */
#define SLOTS 256

static void *m_alloc(hk_stress_t *s, size_t *n)
{
    return hk_tiered_alloc(s->ctx, *n);
}

static void m_free(hk_stress_t *s, hk_stress_obj_t *o)
{
    hk_tiered_free(s->ctx, o->p);
}

static void *m_realloc(hk_stress_t *s, void *p, size_t n)
{
    return hk_tiered_realloc(s->ctx, p, n);
}

static void *m_calloc(hk_stress_t *s, size_t m, size_t n)
{
    return hk_tiered_calloc(s->ctx, m, n);
}

static size_t m_usable(hk_stress_t *s, const void *p)
{
    return hk_tiered_usable_size(s->ctx, p);
}

static int m_validate(hk_stress_t *s)
{
    return hk_tiered_validate(s->ctx);
}

static void m_stats(hk_stress_t *s, hk_stats_t *out)
{
    hk_tiered_get_stats(s->ctx, out);
}

static const hk_stress_ops_t tiered_ops = {
    .alloc = m_alloc, .free = m_free, .realloc = m_realloc, .calloc = m_calloc,
    .usable = m_usable, .validate = m_validate, .stats = m_stats,
};

static void model_run(const hk_tiered_config_t *base, size_t heap_bytes, size_t maxsz, uint64_t seed)
{
    hk_heap_t *h;
    hk_tiered_t *t = make(base, heap_bytes, &h);
    HK_REQUIRE(t != NULL);
    hk_stats_t st;
    hk_tiered_get_stats(t, &st); /* every class has free blocks: the smallest is one */
    HK_CHECK_EQ(st.smallest_free, base->classes[0].size);
    /* fill and drain waves; a quarter of the sizes small (0..32) */
    hk_stress_config_t cfg = {
        .name = "tiered", .seed = seed, .ops = 20000ul / HK_TEST_SCALE_DIV, .max_live = SLOTS,
        .phase_len = 1000, .nphases = 2, .phase_pct = { 65, 35 },
        .realloc_pct = 20, .calloc_pct = 10, .realloc_new_pct = 5,
        .small_pct = 25, .small_max = 32, .size_max = maxsz, .align = sizeof(void *),
        .validate_every = 101, .stats_every = 101,
        .flags = HK_STRESS_BLOCKS | HK_STRESS_COUNTS,
    };
    hk_stress_t s;
    hk_stress_init(&s, &tiered_ops, &cfg, t);
    hk_stress_run(&s);
    hk_tiered_get_stats(t, &st);
    HK_CHECK_EQ(st.allocs, s.allocs);
    HK_CHECK_EQ(st.frees, s.frees);
    HK_CHECK_EQ(st.failed_allocs, s.failed);
    HK_CHECK_EQ(st.used_blocks, s.live);
    HK_CHECK_EQ(st.used + st.free, st.total);
    HK_CHECK(s.failed > 0);
    hk_stress_drain(&s);
    hk_tiered_get_stats(t, &st);
    HK_CHECK_EQ(st.used_blocks, 0);
    HK_CHECK_EQ(hk_tiered_validate(t), HK_OK);
    HK_CHECK_EQ(hk_test_errors.count, 0);
}

static void test_model(void)
{
    hk_test_capture_errors();
    static const hk_tiered_class_t many[] = {
        { 16, 40 }, { 32, 30 }, { 48, 20 }, { 64, 20 }, { 128, 10 }, { 256, 6 },
    };
    hk_tiered_config_t cfg = { many, 6, NULL, NULL, 0, false };
    model_run(&cfg, 8192, 400, 21);
    cfg.spill = true;
    cfg.page = 128;
    model_run(&cfg, 6144, 600, 22);
    model_run(&cfg, 0, 256, 23); /* no fallback: classes only */
}

HK_SUITE(tiered)
{
    HK_RUN(test_routing);
    HK_RUN(test_odd_classes);
    HK_RUN(test_spill_and_fallback);
    HK_RUN(test_realloc_calloc);
    HK_RUN(test_lock_hooks);
    HK_RUN(test_bad_config);
    HK_RUN(test_bad_free);
    HK_RUN(test_validate_catches_corruption);
    HK_RUN(test_model);
}
