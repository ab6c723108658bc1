/* SPDX-License-Identifier: MIT */
/*
 * test_pool.c - hk_pool: unit, misuse, corruption and randomized model tests.
 */
#include "heapkit/pool.h"
#include "hk_stress.h"
#include "hk_test.h"

/* ---- helpers ------------------------------------------------------------ */
static void fill(void *p, size_t n, unsigned char v)
{
    hk_test_memset(p, v, n);
}

static int all_equal(const void *p, size_t n, unsigned char v)
{
    const unsigned char *c = p;
    for (size_t i = 0; i < n; i++)
        if (c[i] != v)
            return 0;
    return 1;
}

/* ---- unit ------------------------------------------------------------- */
static void test_init_geometry(void)
{
    hk_test_capture_errors();
    static unsigned char buf[200];
    hk_pool_t p;
    /* 20-byte blocks, align 8: stride 24; buffer start +4 is misaligned. */
    HK_REQUIRE(hk_pool_init(&p, buf + 4, 100, 20, 8, NULL) == HK_OK);
    HK_CHECK_EQ(hk_pool_stride(&p), 24);
    HK_CHECK_EQ(hk_pool_block_size(&p), 20);
    HK_CHECK_EQ(hk_pool_count(&p), 96 / 24);
    void *b[4];
    for (int i = 0; i < 4; i++) {
        b[i] = hk_pool_alloc(&p);
        HK_REQUIRE(b[i] != NULL);
        HK_CHECK(((uintptr_t)b[i] & 7u) == 0);
        HK_CHECK((unsigned char *)b[i] >= buf + 4 && (unsigned char *)b[i] + 20 <= buf + 104);
    }
    HK_CHECK(hk_pool_alloc(&p) == NULL);
    /* Consecutive blocks exactly one stride apart, no header. */
    HK_CHECK_EQ((uintptr_t)b[1] - (uintptr_t)b[0], 24);
    hk_stats_t s;
    hk_pool_get_stats(&p, &s);
    HK_CHECK_EQ(s.used_blocks, 4);
    HK_CHECK_EQ(s.free_blocks, 0);
    HK_CHECK_EQ(s.failed_allocs, 1);
    HK_CHECK_EQ(s.total, 96);
    HK_CHECK_EQ(s.requested, 80);
    HK_CHECK_EQ(s.largest_free, 0);
    HK_CHECK_EQ(hk_pool_validate(&p), HK_OK);
    hk_pool_free(&p, b[2]);
    hk_pool_free(&p, b[0]);
    /* LIFO reuse */
    HK_CHECK(hk_pool_alloc(&p) == b[0]);
    HK_CHECK(hk_pool_alloc(&p) == b[2]);
    hk_pool_get_stats(&p, &s);
    HK_CHECK_EQ(s.peak_used, 96);
    HK_CHECK_EQ(s.min_ever_free, 0);
    HK_CHECK_EQ(s.allocs, 6);
    HK_CHECK_EQ(s.frees, 2);
    /* the marks restart from the current use */
    hk_pool_free(&p, b[2]);
    hk_pool_reset_marks(&p);
    hk_pool_get_stats(&p, &s);
    HK_CHECK_EQ(s.peak_used, s.used);
    HK_CHECK_EQ(s.min_ever_free, s.free);
    HK_CHECK(s.peak_used < 96);
    HK_CHECK_EQ(hk_pool_validate(&p), HK_OK);
    HK_CHECK_EQ(hk_test_errors.count, 0);
}

static void test_blocks_do_not_overlap(void)
{
    hk_test_capture_errors();
    size_t asz;
    unsigned char *mem = hk_test_arena(&asz);
    hk_pool_t p;
    size_t bytes = asz / 8 < 4096 ? asz / 8 : 4096;
    HK_REQUIRE(hk_pool_init(&p, mem, bytes, 40, 16, NULL) == HK_OK);
    size_t n = hk_pool_count(&p);
    HK_CHECK_EQ(n, bytes / 48);
    void *first = NULL;
    for (size_t i = 0; i < n; i++) {
        unsigned char *b = hk_pool_alloc(&p);
        HK_REQUIRE(b != NULL);
        HK_CHECK(((uintptr_t)b & 15u) == 0);
        fill(b, 40, (unsigned char)i);
        if (!first)
            first = b;
    }
    /* every block still holds its own tag: nothing overlapped */
    for (size_t i = 0; i < n; i++)
        HK_CHECK(all_equal((unsigned char *)first + i * 48, 40, (unsigned char)i));
    HK_CHECK_EQ(hk_pool_validate(&p), HK_OK);
}

HK_POOL_DEFINE(test_static_pool, 12, 5, 4);
HK_POOL_DEFINE_STATIC(test_static_pool2, 64, 3, 64);

static void test_static_define(void)
{
    hk_test_capture_errors();
    HK_CHECK_EQ(hk_pool_count(&test_static_pool), 5);
    HK_CHECK_EQ(hk_pool_stride(&test_static_pool), sizeof(void *) == 8 ? 16 : 12);
    HK_CHECK_EQ(hk_pool_validate(&test_static_pool), HK_OK);
    void *a[6];
    for (int i = 0; i < 5; i++)
        HK_CHECK((a[i] = hk_pool_alloc(&test_static_pool)) != NULL);
    HK_CHECK((a[5] = hk_pool_alloc(&test_static_pool)) == NULL);
    for (int i = 0; i < 5; i++)
        hk_pool_free(&test_static_pool, a[i]);
    HK_CHECK_EQ(hk_pool_validate(&test_static_pool), HK_OK);
    void *b = hk_pool_alloc(&test_static_pool2);
    HK_CHECK(b != NULL && ((uintptr_t)b & 63u) == 0);
    hk_pool_free(&test_static_pool2, b);
    HK_CHECK_EQ(hk_test_errors.count, 0);
}

static void test_lock_hooks(void)
{
    hk_test_capture_errors();
    static unsigned char buf[256];
    hk_test_lock_probe_t probe;
    hk_lock_t lk = hk_test_lock_probe(&probe);
    hk_pool_config_t cfg = { &lk, NULL, 0 };
    hk_pool_t p;
    HK_REQUIRE(hk_pool_init(&p, buf, sizeof buf, 32, 8, &cfg) == HK_OK);
    void *a = hk_pool_alloc(&p);
    hk_pool_free(&p, a);
    hk_stats_t s;
    hk_pool_get_stats(&p, &s);
    HK_CHECK_EQ(hk_pool_validate(&p), HK_OK);
    HK_CHECK_EQ(probe.locks, 4);
    HK_CHECK_EQ(probe.depth, 0);
    HK_CHECK_EQ(probe.max_depth, 1);
    HK_CHECK_EQ(probe.bad_saved, 0u);
}

/* ---- misuse ---------------------------------------------------------- */
static void test_bad_init(void)
{
    hk_test_capture_errors();
    static unsigned char buf[64];
    static uint32_t bm[1];
    hk_pool_t p;
    HK_CHECK_EQ(hk_pool_init(NULL, buf, 64, 8, 8, NULL), HK_EINVAL);
    HK_CHECK_EQ(hk_pool_init(&p, NULL, 64, 8, 8, NULL), HK_EINVAL);
    HK_CHECK_EQ(hk_pool_init(&p, buf, 64, sizeof(void *) - 1, 8, NULL), HK_EINVAL);
    HK_CHECK_EQ(hk_pool_init(&p, buf, 64, 8, 12, NULL), HK_EINVAL);
    HK_CHECK_EQ(hk_pool_init(&p, buf, 7, 8, 8, NULL), HK_EINVAL);
    HK_CHECK_EQ(hk_pool_init(&p, buf, 7, 8, 0, NULL), HK_EINVAL);
    HK_CHECK_EQ(hk_pool_init(&p, buf, 0, 8, 8, NULL), HK_EINVAL);
    HK_CHECK_EQ(hk_pool_init(&p, buf, 64, 65, 8, NULL), HK_EINVAL);
    HK_CHECK_EQ(hk_pool_init(&p, buf, 64, SIZE_MAX - 2, 8, NULL), HK_ERANGE);
    HK_CHECK_EQ(hk_pool_init(&p, buf, SIZE_MAX, SIZE_MAX / 2, 8, NULL), HK_EINVAL);
    /* 64 bytes of 8-byte blocks = 8 blocks > 1 word? no: needs 1 word; 0 words given */
    hk_pool_config_t cfg = { NULL, bm, 0 };
    HK_CHECK_EQ(hk_pool_init(&p, buf, 64, 8, 8, &cfg), HK_EINVAL);
    HK_CHECK_EQ(hk_test_errors.count, 11);
    HK_CHECK_EQ(hk_test_errors.last_code, HK_EINVAL);
    cfg.bitmap_words = 1;
    HK_CHECK_EQ(hk_pool_init(&p, buf, 64, 8, 8, &cfg), HK_OK);
    HK_CHECK(hk_pool_alloc(NULL) == NULL);
    hk_pool_free(NULL, NULL); /* nothing */
    HK_CHECK_EQ(hk_test_errors.count, 12);
    /* validate: NULL or never initialised is a bad handle (HK_EINVAL) */
    hk_pool_t z;
    hk_test_memset(&z, 0, sizeof z);
    HK_CHECK_EQ(hk_pool_validate(NULL), HK_EINVAL);
    HK_CHECK_EQ(hk_pool_validate(&z), HK_EINVAL);
    HK_CHECK_EQ(hk_test_errors.last_code, HK_EINVAL);
    HK_CHECK_EQ(hk_test_errors.count, 14);
}

/* align 0 means the default alignment, as everywhere in heapkit: the largest
 * power of two dividing the block size, capped at HK_ALIGN, at least a
 * pointer. */
HK_POOL_DEFINE_STATIC(test_default_align_pool, 48, 3, 0);

static void test_default_align(void)
{
    hk_test_capture_errors();
    static _Alignas(64) unsigned char buf[512];
    static const size_t sizes[] = { 8, 12, 16, 24, 40, 48, 64, 100, 128 };
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        size_t bs = sizes[i];
        if (bs < sizeof(void *))
            continue;
        size_t low = bs & (~bs + 1u), want = low < HK_ALIGN ? low : HK_ALIGN;
        if (want < sizeof(void *))
            want = sizeof(void *);
        HK_CHECK_EQ(HK_POOL_DEFAULT_ALIGN(bs), want);
        hk_pool_t p;
        HK_REQUIRE(hk_pool_init(&p, buf + 1, sizeof buf - 1, bs, 0, NULL) == HK_OK);
        HK_CHECK_EQ(hk_pool_stride(&p), (bs + sizeof(void *) - 1) & ~(sizeof(void *) - 1));
        unsigned char *a = hk_pool_alloc(&p), *b = hk_pool_alloc(&p);
        HK_REQUIRE(a && b);
        HK_CHECK_EQ((uintptr_t)a % want, 0);
        HK_CHECK_EQ((uintptr_t)b % want, 0);
        HK_CHECK_EQ(hk_pool_validate(&p), HK_OK);
        /* the same pool as with the default alignment given explicitly */
        hk_pool_t q;
        HK_REQUIRE(hk_pool_init(&q, buf + 1, sizeof buf - 1, bs, want, NULL) == HK_OK);
        HK_CHECK_EQ(hk_pool_count(&q), hk_pool_count(&p));
        HK_CHECK(hk_pool_alloc(&q) == (void *)a);
    }
    void *s = hk_pool_alloc(&test_default_align_pool);
    HK_REQUIRE(s != NULL);
    hk_stats_t st;
    hk_pool_get_stats(&test_default_align_pool, &st);
    HK_CHECK_EQ(st.total, 3 * 48);
    HK_CHECK_EQ(st.used, 48);
    HK_CHECK_EQ(st.peak_used, 48);
    HK_CHECK_EQ(st.min_ever_free, 2 * 48);
    HK_CHECK_EQ((uintptr_t)s % HK_POOL_DEFAULT_ALIGN(48), 0);
    HK_CHECK_EQ(hk_pool_stride(&test_default_align_pool), 48);
    hk_pool_free(&test_default_align_pool, s);
    HK_CHECK_EQ(hk_pool_validate(&test_default_align_pool), HK_OK);
    HK_CHECK_EQ(hk_test_errors.count, 0);
}

static void test_bad_free(void)
{
    hk_test_capture_errors();
    static unsigned char buf[256];
    static unsigned char other[64];
    hk_pool_t p;
    HK_REQUIRE(hk_pool_init(&p, buf, sizeof buf, 32, 16, NULL) == HK_OK);
    unsigned char *a = hk_pool_alloc(&p);
    unsigned char *b = hk_pool_alloc(&p);
    HK_REQUIRE(a && b);
    hk_pool_free(&p, NULL);
    HK_CHECK_EQ(hk_test_errors.count, 0);
    hk_pool_free(&p, other + 16);
    HK_CHECK_EQ(hk_test_errors.last_code, HK_EBADPTR);
    hk_pool_free(&p, a + 8);
    HK_CHECK_EQ(hk_test_errors.last_code, HK_EBADPTR);
    hk_pool_free(&p, b + 64); /* on a boundary but never handed out */
    HK_CHECK_EQ(hk_test_errors.last_code, HK_EBADPTR);
    hk_pool_free(&p, a);
    hk_pool_free(&p, a);
    HK_CHECK_EQ(hk_test_errors.last_code, HK_EDOUBLEFREE);
    HK_CHECK(hk_test_errors.last_ptr == a);
    HK_CHECK_EQ(hk_test_errors.count, 4);
    HK_CHECK_EQ(hk_pool_validate(&p), HK_OK);
    hk_stats_t s;
    hk_pool_get_stats(&p, &s);
    HK_CHECK_EQ(s.used_blocks, 1);
    HK_CHECK_EQ(s.frees, 1);
}

static void test_bitmap_double_free(void)
{
    hk_test_capture_errors();
    static unsigned char buf[512];
    static uint32_t bm[HK_POOL_BITMAP_WORDS(512 / 16)];
    hk_pool_config_t cfg = { NULL, bm, sizeof bm / sizeof bm[0] };
    hk_pool_t p;
    HK_REQUIRE(hk_pool_init(&p, buf, sizeof buf, 16, 16, &cfg) == HK_OK);
    void *a = hk_pool_alloc(&p), *b = hk_pool_alloc(&p), *c = hk_pool_alloc(&p);
    HK_REQUIRE(a && b && c);
    hk_pool_free(&p, a);
    hk_pool_free(&p, b);
    hk_pool_free(&p, a); /* not the list head: only the bitmap catches it */
    HK_CHECK_EQ(hk_test_errors.count, 1);
    HK_CHECK_EQ(hk_test_errors.last_code, HK_EDOUBLEFREE);
    HK_CHECK_EQ(hk_pool_validate(&p), HK_OK);
    HK_CHECK(hk_pool_alloc(&p) == b);
    HK_CHECK(hk_pool_alloc(&p) == a);
    HK_CHECK(hk_pool_alloc(&p) != a); /* a was not listed twice */
    HK_CHECK_EQ(hk_pool_validate(&p), HK_OK);
}

/* ---- corruption -------------------------------------------------------- */
static void test_validate_catches_corruption(void)
{
    hk_test_capture_errors();
    static unsigned char buf[512];
    static uint32_t bm[HK_POOL_BITMAP_WORDS(512 / 32)];
    hk_pool_t p;
    HK_REQUIRE(hk_pool_init(&p, buf, sizeof buf, 32, 8, NULL) == HK_OK);
    unsigned char *a = hk_pool_alloc(&p), *b = hk_pool_alloc(&p);
    HK_REQUIRE(a && b && hk_pool_alloc(&p));
    hk_pool_free(&p, a);
    hk_pool_free(&p, b);
    HK_CHECK_EQ(hk_pool_validate(&p), HK_OK);
    /* use after free: overwrite b's link with a pointer into the middle */
    void *bad = buf + 5;
    __builtin_memcpy(b, &bad, sizeof bad);
    HK_CHECK_EQ(hk_pool_validate(&p), HK_ECORRUPT);
    HK_CHECK_EQ(hk_test_errors.last_code, HK_ECORRUPT);
    HK_CHECK(hk_test_errors.last_ptr == bad);
    /* alloc checks the link of the head it hands out: outside the pool */
    static unsigned char elsewhere[16];
    bad = elsewhere;
    __builtin_memcpy(b, &bad, sizeof bad);
    unsigned before = hk_test_errors.count;
    HK_CHECK(hk_pool_alloc(&p) == NULL);
    HK_CHECK_EQ(hk_test_errors.count, before + 1);
    HK_CHECK_EQ(hk_test_errors.last_code, HK_ECORRUPT);

    /* a cycle: a's link pointing at itself */
    hk_pool_config_t cfg = { NULL, bm, sizeof bm / sizeof bm[0] };
    HK_REQUIRE(hk_pool_init(&p, buf, sizeof buf, 32, 8, &cfg) == HK_OK);
    a = hk_pool_alloc(&p);
    b = hk_pool_alloc(&p);
    hk_pool_free(&p, a);
    HK_CHECK_EQ(hk_pool_validate(&p), HK_OK);
    void *self = a;
    __builtin_memcpy(a, &self, sizeof self);
    HK_CHECK_EQ(hk_pool_validate(&p), HK_ECORRUPT);
    __builtin_memset(a, 0, sizeof(void *));
    HK_CHECK_EQ(hk_pool_validate(&p), HK_OK);
    /* damaged counters and bitmap */
    p.usage.used += p.stride;
    HK_CHECK_EQ(hk_pool_validate(&p), HK_ECORRUPT);
    p.usage.used -= p.stride;
    p.usage.peak = 0; /* a peak below the use */
    HK_CHECK_EQ(hk_pool_validate(&p), HK_ECORRUPT);
    hk_pool_reset_marks(&p);
    HK_CHECK_EQ(hk_pool_validate(&p), HK_OK);
    bm[0] ^= 1u << 5;
    HK_CHECK_EQ(hk_pool_validate(&p), HK_ECORRUPT);
    bm[0] ^= 1u << 5;
    p.bump += 3;
    HK_CHECK_EQ(hk_pool_validate(&p), HK_ECORRUPT);
    p.bump -= 3;
    p.count++;
    HK_CHECK_EQ(hk_pool_validate(&p), HK_ECORRUPT);
    p.count--;
    HK_CHECK_EQ(hk_pool_validate(&p), HK_OK);
}

/* ---- randomized model (the stress rig, harness/hk_stress.h) ---------- */
#define MODEL_SLOTS 512

static hk_pool_t *pool_of(hk_stress_t *s)
{
    return s->ctx;
}

static void *m_alloc(hk_stress_t *s, size_t *n)
{
    hk_pool_t *p = pool_of(s);
    unsigned char *b = hk_pool_alloc(p);
    *n = p->block_size;
    if (b)
        HK_CHECK(hk_pool_owns(p, b));
    return b;
}

static void m_free(hk_stress_t *s, hk_stress_obj_t *o)
{
    hk_pool_free(pool_of(s), o->p);
}

static int m_validate(hk_stress_t *s)
{
    return hk_pool_validate(pool_of(s));
}

static void m_stats(hk_stress_t *s, hk_stats_t *out)
{
    hk_pool_get_stats(pool_of(s), out);
}

static const hk_stress_ops_t pool_ops = {
    .alloc = m_alloc, .free = m_free, .validate = m_validate, .stats = m_stats,
};

static void model_run(size_t block, size_t align, bool bitmap, uint64_t seed)
{
    static uint32_t bm[HK_POOL_BITMAP_WORDS(MODEL_SLOTS)];
    size_t asz;
    unsigned char *mem = hk_test_arena(&asz);
    hk_pool_t p;
    size_t stride = (block + align - 1) & ~(align - 1);
    size_t bytes = stride * (300 / HK_TEST_SCALE_DIV + 10) + 3; /* the waves reach full */
    if (bytes > asz - 1)
        bytes = asz - 1;
    hk_pool_config_t pcfg = { NULL, bm, sizeof bm / sizeof bm[0] };
    HK_REQUIRE(hk_pool_init(&p, mem + 1, bytes, block, align, bitmap ? &pcfg : NULL) == HK_OK);
    size_t cap = hk_pool_count(&p);
    HK_REQUIRE(cap <= MODEL_SLOTS && cap <= HK_STRESS_MAX_LIVE);
    /* bias toward filling, then toward draining, in waves; at capacity an
     * allocation is still tried and must fail */
    hk_stress_config_t cfg = {
        .name = "pool", .seed = seed, .ops = 20000ul / HK_TEST_SCALE_DIV,
        .max_live = (unsigned)cap, .phase_len = 700, .nphases = 2, .phase_pct = { 70, 30 },
        .size_min = block, .size_max = block, .align = align, .used_unit = stride,
        .validate_every = 97, .stats_every = 97,
        .flags = HK_STRESS_FULL_AT_MAX | HK_STRESS_BLOCKS | HK_STRESS_COUNTS |
                 HK_STRESS_EMPTY_ZERO,
    };
    hk_stress_t s;
    hk_stress_init(&s, &pool_ops, &cfg, &p);
    hk_stress_run(&s);
    hk_stats_t st;
    hk_pool_get_stats(&p, &st);
    HK_CHECK_EQ(st.used_blocks, s.live);
    HK_CHECK_EQ(st.free_blocks, cap - s.live);
    HK_CHECK_EQ(st.smallest_free, s.live < cap ? stride : 0); /* one block size */
    HK_CHECK_EQ(st.peak_used, s.peak_live * stride);
    HK_CHECK_EQ(st.allocs, s.allocs);
    HK_CHECK_EQ(st.frees, s.frees);
    HK_CHECK_EQ(st.failed_allocs, s.failed);
    HK_CHECK(s.failed > 0); /* the waves did reach full */
    hk_stress_drain(&s);
    HK_CHECK_EQ(hk_pool_validate(&p), HK_OK);
    HK_CHECK_EQ(hk_test_errors.count, 0);
}

static void test_model(void)
{
    hk_test_capture_errors();
    model_run(sizeof(void *), 1, false, 1);
    model_run(24, 8, true, 2);
    model_run(100, 32, false, 3);
    model_run(64, 64, true, 4);
}

HK_SUITE(pool)
{
    HK_RUN(test_init_geometry);
    HK_RUN(test_blocks_do_not_overlap);
    HK_RUN(test_static_define);
    HK_RUN(test_lock_hooks);
    HK_RUN(test_bad_init);
    HK_RUN(test_default_align);
    HK_RUN(test_bad_free);
    HK_RUN(test_bitmap_double_free);
    HK_RUN(test_validate_catches_corruption);
    HK_RUN(test_model);
}
