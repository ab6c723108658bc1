/* SPDX-License-Identifier: MIT */
/*
 * test_slab.c - hk_slab: growth and shrinking on a heap, lookup by mask,
 * misuse, corruption and a randomized model test.
 */
#include "heapkit/heap.h"
#include "heapkit/slab.h"
#include "hk_stress.h"
#include "hk_test.h"

/* A heap over (at most) `bytes` of the test arena. */
static hk_heap_t *arena_heap(size_t bytes)
{
    size_t asz;
    void *mem = hk_test_arena(&asz);
    return hk_heap_init(mem, bytes < asz ? bytes : asz, NULL);
}

static size_t heap_used_blocks(hk_heap_t *h)
{
    hk_stats_t s;
    hk_heap_get_stats(h, &s);
    return s.used_blocks;
}

static void test_grow_and_shrink(void)
{
    hk_test_capture_errors();
    hk_heap_t *h = arena_heap(32768);
    HK_REQUIRE(h != NULL);
    hk_slab_config_t cfg = { 40, 8, 512, 1, NULL };
    hk_slab_cache_t c;
    HK_REQUIRE(hk_slab_init(&c, h, &cfg) == HK_OK);
    size_t per = hk_slab_per_slab(&c);
    HK_CHECK(per >= 8 && per <= 512 / 40);
    HK_CHECK_EQ(hk_slab_obj_size(&c), 40);
    HK_CHECK_EQ(heap_used_blocks(h), 0); /* nothing until the first alloc */
    void *o[64];
    size_t n = 2 * per + 1;
    HK_REQUIRE(n <= 64);
    for (size_t i = 0; i < n; i++) {
        o[i] = hk_slab_alloc(&c);
        HK_REQUIRE(o[i] != NULL);
        HK_CHECK(((uintptr_t)o[i] & 7u) == 0);
        hk_test_memset(o[i], (int)i, 40);
    }
    HK_CHECK_EQ(heap_used_blocks(h), 3);
    /* the first per objects share one 512-aligned slab */
    uintptr_t s0 = (uintptr_t)o[0] & ~(uintptr_t)511u;
    for (size_t i = 0; i < per; i++)
        HK_CHECK_EQ((uintptr_t)o[i] & ~(uintptr_t)511u, s0);
    HK_CHECK(((uintptr_t)o[per] & ~(uintptr_t)511u) != s0);
    hk_stats_t s;
    hk_slab_get_stats(&c, &s);
    HK_CHECK_EQ(s.total, 3 * 512);
    HK_CHECK_EQ(s.used_blocks, n);
    HK_CHECK_EQ(s.free_blocks, 3 * per - n);
    HK_CHECK_EQ(s.requested, n * 40);
    HK_CHECK_EQ(s.used + s.free, s.total);
    HK_CHECK_EQ(s.free, (3 * per - n) * c.stride);
    HK_CHECK_EQ(s.peak_used, s.used); /* the peak so far, in the unit of used */
    size_t peak = s.used;
    HK_CHECK_EQ(hk_slab_validate(&c), HK_OK);
    /* contents intact */
    for (size_t i = 0; i < n; i++) {
        const unsigned char *b = o[i];
        HK_CHECK(b[0] == (unsigned char)i && b[39] == (unsigned char)i);
    }
    /* empty the first two slabs: one kept (max_empty 1), one given back */
    for (size_t i = 0; i < 2 * per; i++)
        hk_slab_free(&c, o[i]);
    HK_CHECK_EQ(heap_used_blocks(h), 2);
    HK_CHECK_EQ(hk_slab_validate(&c), HK_OK);
    /* the kept empty slab is reused before the heap is asked */
    void *x = hk_slab_alloc(&c);
    HK_CHECK(x != NULL);
    HK_CHECK_EQ(heap_used_blocks(h), 2);
    hk_slab_free(&c, x);
    HK_CHECK_EQ(hk_slab_shrink(&c), 1);
    HK_CHECK_EQ(heap_used_blocks(h), 1);
    HK_CHECK_EQ(hk_slab_destroy(&c), HK_EBUSY);
    HK_CHECK_EQ(hk_test_errors.last_code, HK_EBUSY);
    hk_slab_free(&c, o[n - 1]);
    HK_CHECK_EQ(hk_slab_destroy(&c), HK_OK);
    HK_CHECK_EQ(heap_used_blocks(h), 0);
    HK_CHECK_EQ(hk_heap_validate(h), HK_OK);
    hk_slab_get_stats(&c, &s);
    HK_CHECK_EQ(s.total, 0);
    HK_CHECK_EQ(s.used, 0);
    HK_CHECK_EQ(s.peak_used, peak);
    HK_CHECK_EQ(hk_test_errors.count, 1);
}

static void test_defaults_and_exhaustion(void)
{
    hk_test_capture_errors();
    size_t hsize = 8192;
    hk_heap_t *h = arena_heap(hsize);
    HK_REQUIRE(h != NULL);
    hk_slab_config_t cfg = { 200, 0, 0, 0, NULL };
    hk_slab_cache_t c;
    HK_REQUIRE(hk_slab_init(&c, h, &cfg) == HK_OK);
    HK_CHECK(hk_slab_per_slab(&c) >= 8);
    size_t n = 0;
    void *last = NULL;
    while ((last = hk_slab_alloc(&c)) != NULL) {
        HK_CHECK(((uintptr_t)last & 7u) == 0); /* 200 = 8 * 25 */
        n++;
        HK_REQUIRE(n < 1000);
    }
    HK_CHECK(n >= hk_slab_per_slab(&c));
    hk_stats_t s;
    hk_slab_get_stats(&c, &s);
    HK_CHECK_EQ(s.failed_allocs, 1);
    HK_CHECK_EQ(s.used_blocks, n);
    HK_CHECK_EQ(hk_slab_validate(&c), HK_OK);
    HK_CHECK_EQ(hk_test_errors.count, 0);
}

static void test_lock_hooks(void)
{
    hk_test_capture_errors();
    hk_heap_t *h = arena_heap(8192);
    HK_REQUIRE(h != NULL);
    hk_test_lock_probe_t probe;
    hk_lock_t lk = hk_test_lock_probe(&probe);
    hk_slab_config_t cfg = { 32, 0, 0, 0, &lk };
    hk_slab_cache_t c;
    HK_REQUIRE(hk_slab_init(&c, h, &cfg) == HK_OK);
    void *a = hk_slab_alloc(&c);
    hk_slab_free(&c, a);
    HK_CHECK_EQ(hk_slab_validate(&c), HK_OK);
    HK_CHECK_EQ(probe.locks, 3);
    HK_CHECK_EQ(probe.depth, 0);
    HK_CHECK_EQ(probe.bad_saved, 0u);
}

/* peak_used is the highest `used`, in the same unit: one object on a 48-byte
 * cache over a 64 KiB heap used to report used 128, peak_used 48. */
static void test_peak_is_highest_used(void)
{
    hk_test_capture_errors();
    hk_heap_t *h = arena_heap(65536);
    HK_REQUIRE(h != NULL);
    hk_slab_config_t cfg = { 48, 0, 0, 0, NULL };
    hk_slab_cache_t c;
    HK_REQUIRE(hk_slab_init(&c, h, &cfg) == HK_OK);
    hk_stats_t s;
    hk_slab_get_stats(&c, &s);
    HK_CHECK_EQ(s.total, 0);
    HK_CHECK_EQ(s.peak_used, 0);
    void *a = hk_slab_alloc(&c);
    HK_REQUIRE(a != NULL);
    hk_slab_get_stats(&c, &s);
    HK_CHECK_EQ(s.total, c.slab_size);
    HK_CHECK_EQ(s.used, c.slab_size - (c.per_slab - 1) * c.stride);
    HK_CHECK(s.used > 48); /* the slab header counts as used */
    HK_CHECK_EQ(s.peak_used, s.used);
    HK_CHECK_EQ(s.min_ever_free, 0); /* free was 0 before the first slab */
    size_t peak = s.used;
    void *b = hk_slab_alloc(&c);
    HK_REQUIRE(b != NULL);
    hk_slab_free(&c, b);
    hk_slab_free(&c, a); /* the slab is given back (max_empty 0) */
    hk_slab_get_stats(&c, &s);
    HK_CHECK_EQ(s.total, 0);
    HK_CHECK_EQ(s.used, 0);
    HK_CHECK_EQ(s.peak_used, peak + c.stride);
    HK_CHECK_EQ(s.min_ever_free, 0);
    hk_slab_reset_marks(&c); /* restart from now: nothing in use */
    hk_slab_get_stats(&c, &s);
    HK_CHECK_EQ(s.peak_used, 0);
    a = hk_slab_alloc(&c);
    HK_REQUIRE(a != NULL);
    hk_slab_get_stats(&c, &s);
    HK_CHECK_EQ(s.peak_used, peak);
    hk_slab_free(&c, a);
    HK_CHECK_EQ(hk_slab_validate(&c), HK_OK);
    HK_CHECK_EQ(hk_test_errors.count, 0);
}

/* ---- misuse and corruption -------------------------------------------- */
static void test_bad_init(void)
{
    hk_test_capture_errors();
    hk_heap_t *h = arena_heap(8192);
    HK_REQUIRE(h != NULL);
    hk_slab_cache_t c;
    hk_slab_config_t cfg = { 32, 0, 0, 0, NULL };
    HK_CHECK_EQ(hk_slab_init(NULL, h, &cfg), HK_EINVAL);
    HK_CHECK_EQ(hk_slab_init(&c, NULL, &cfg), HK_EINVAL);
    HK_CHECK_EQ(hk_slab_init(&c, h, NULL), HK_EINVAL);
    cfg.obj_size = 2;
    HK_CHECK_EQ(hk_slab_init(&c, h, &cfg), HK_EINVAL);
    cfg.obj_size = 32;
    cfg.align = 24;
    HK_CHECK_EQ(hk_slab_init(&c, h, &cfg), HK_EINVAL);
    cfg.align = 0;
    cfg.slab_size = 1000;
    HK_CHECK_EQ(hk_slab_init(&c, h, &cfg), HK_EINVAL);
    cfg.slab_size = 32; /* the header leaves no room */
    HK_CHECK_EQ(hk_slab_init(&c, h, &cfg), HK_EINVAL);
    cfg.slab_size = 0;
    cfg.obj_size = SIZE_MAX / 2;
    HK_CHECK_EQ(hk_slab_init(&c, h, &cfg), HK_ERANGE);
    HK_CHECK_EQ(hk_test_errors.count, 8);
    HK_CHECK(hk_slab_alloc(NULL) == NULL);
    HK_CHECK_EQ(hk_slab_destroy(NULL), HK_EINVAL);
    HK_CHECK_EQ(hk_test_errors.count, 10);
    /* validate: a NULL or never initialised cache is a bad handle */
    hk_slab_cache_t z;
    hk_test_memset(&z, 0, sizeof z);
    HK_CHECK_EQ(hk_slab_validate(NULL), HK_EINVAL);
    HK_CHECK_EQ(hk_slab_validate(&z), HK_EINVAL);
    HK_CHECK_EQ(hk_test_errors.last_code, HK_EINVAL);
    HK_CHECK_EQ(hk_test_errors.count, 12);
}

static void test_bad_free(void)
{
    hk_test_capture_errors();
    hk_heap_t *h = arena_heap(16384);
    HK_REQUIRE(h != NULL);
    hk_slab_config_t cfg = { 48, 16, 1024, 4, NULL };
    hk_slab_cache_t c, d;
    HK_REQUIRE(hk_slab_init(&c, h, &cfg) == HK_OK);
    HK_REQUIRE(hk_slab_init(&d, h, &cfg) == HK_OK);
    unsigned char *a = hk_slab_alloc(&c), *b = hk_slab_alloc(&c), *e = hk_slab_alloc(&d);
    unsigned char *plain = hk_heap_alloc(h, 2000); /* spans a 1024 boundary */
    HK_REQUIRE(a && b && e && plain);
    hk_slab_free(&c, NULL);
    HK_CHECK_EQ(hk_test_errors.count, 0);
    hk_slab_free(&c, e); /* another cache's object */
    HK_CHECK_EQ(hk_test_errors.last_code, HK_EBADPTR);
    unsigned char *in_plain = (unsigned char *)(((uintptr_t)plain + 1023u) & ~(uintptr_t)1023u) + 64;
    hk_test_memset(plain, 0, 2000);
    hk_slab_free(&c, in_plain); /* foreign */
    HK_CHECK_EQ(hk_test_errors.last_code, HK_EBADPTR);
    hk_slab_free(&c, a + 8); /* interior */
    HK_CHECK_EQ(hk_test_errors.last_code, HK_EBADPTR);
    hk_slab_free(&c, b + 48 * 3); /* never handed out */
    HK_CHECK_EQ(hk_test_errors.last_code, HK_EBADPTR);
    hk_slab_free(&c, a);
    hk_slab_free(&c, a);
    HK_CHECK_EQ(hk_test_errors.last_code, HK_EDOUBLEFREE);
    HK_CHECK_EQ(hk_test_errors.count, 5);
    hk_stats_t s;
    hk_slab_get_stats(&c, &s);
    HK_CHECK_EQ(s.used_blocks, 1);
    HK_CHECK_EQ(s.frees, 1);
    HK_CHECK_EQ(hk_slab_validate(&c), HK_OK);
    HK_CHECK_EQ(hk_slab_validate(&d), HK_OK);
    /* a slab given back: its objects no longer check out */
    hk_slab_free(&c, b);
    HK_CHECK_EQ(hk_slab_shrink(&c), 1);
    hk_slab_free(&c, b);
    HK_CHECK_EQ(hk_test_errors.last_code, HK_EBADPTR);
    HK_CHECK_EQ(hk_test_errors.count, 6);
    hk_heap_free(h, plain);
}

static void test_validate_catches_corruption(void)
{
    hk_test_capture_errors();
    hk_heap_t *h = arena_heap(16384);
    HK_REQUIRE(h != NULL);
    hk_slab_config_t cfg = { 32, 0, 512, 4, NULL };
    hk_slab_cache_t c;
    HK_REQUIRE(hk_slab_init(&c, h, &cfg) == HK_OK);
    unsigned char *a = hk_slab_alloc(&c), *b = hk_slab_alloc(&c);
    HK_REQUIRE(a && b && hk_slab_alloc(&c));
    hk_slab_free(&c, a);
    HK_CHECK_EQ(hk_slab_validate(&c), HK_OK);
    uintptr_t *hdr = (uintptr_t *)(void *)((uintptr_t)a & ~(uintptr_t)511u);
    hdr[0] ^= 1u; /* the check word */
    HK_CHECK_EQ(hk_slab_validate(&c), HK_ECORRUPT);
    unsigned n = hk_test_errors.count;
    hk_slab_free(&c, b); /* rejected: header does not check out */
    HK_CHECK_EQ(hk_test_errors.count, n + 1);
    hdr[0] ^= 1u;
    HK_CHECK_EQ(hk_slab_validate(&c), HK_OK);
    /* use after free: a's link into the middle of b */
    void *bad = b + 3;
    __builtin_memcpy(a, &bad, sizeof bad);
    HK_CHECK_EQ(hk_slab_validate(&c), HK_ECORRUPT);
    /* and outside the slab: alloc refuses to follow it */
    static unsigned char elsewhere[16];
    bad = elsewhere;
    __builtin_memcpy(a, &bad, sizeof bad);
    n = hk_test_errors.count;
    HK_CHECK(hk_slab_alloc(&c) == NULL);
    HK_CHECK_EQ(hk_test_errors.count, n + 1);
    HK_CHECK_EQ(hk_test_errors.last_code, HK_ECORRUPT);
    __builtin_memset(a, 0, sizeof bad);
    HK_CHECK_EQ(hk_slab_validate(&c), HK_OK);
    /* counters */
    c.used++;
    HK_CHECK_EQ(hk_slab_validate(&c), HK_ECORRUPT);
    c.used--;
    c.nslabs++;
    HK_CHECK_EQ(hk_slab_validate(&c), HK_ECORRUPT);
    c.nslabs--;
    c.stride = 8;
    HK_CHECK_EQ(hk_slab_validate(&c), HK_ECORRUPT);
    c.stride = 32;
    HK_CHECK_EQ(hk_slab_validate(&c), HK_OK);
}

/* ---- randomized model (the stress rig, harness/hk_stress.h) ---------- */
#define SLOTS 400

typedef struct {
    hk_slab_cache_t c;
    size_t max_empty;
} slab_ctx_t;

static void *m_alloc(hk_stress_t *s, size_t *n)
{
    slab_ctx_t *x = s->ctx;
    *n = x->c.obj_size;
    return hk_slab_alloc(&x->c);
}

static void m_free(hk_stress_t *s, hk_stress_obj_t *o)
{
    hk_slab_free(&((slab_ctx_t *)s->ctx)->c, o->p);
}

static int m_validate(hk_stress_t *s)
{
    return hk_slab_validate(&((slab_ctx_t *)s->ctx)->c);
}

static void m_stats(hk_stress_t *s, hk_stats_t *out)
{
    hk_slab_get_stats(&((slab_ctx_t *)s->ctx)->c, out);
}

/* with every validation: no slab lost (only max_empty empty ones kept) */
static void m_check(hk_stress_t *s)
{
    slab_ctx_t *x = s->ctx;
    hk_stats_t st;
    hk_slab_get_stats(&x->c, &st);
    HK_CHECK(st.total / x->c.slab_size <= s->live + x->max_empty);
}

static const hk_stress_ops_t slab_ops = {
    .alloc = m_alloc, .free = m_free, .validate = m_validate, .stats = m_stats,
    .check = m_check,
};

static void model_run(size_t obj, size_t slab_size, size_t max_empty, size_t heap_bytes, uint64_t seed)
{
    hk_heap_t *h = arena_heap(heap_bytes);
    HK_REQUIRE(h != NULL);
    hk_slab_config_t scfg = { obj, 0, slab_size, max_empty, NULL };
    static slab_ctx_t x;
    x.max_empty = max_empty;
    HK_REQUIRE(hk_slab_init(&x.c, h, &scfg) == HK_OK);
    hk_slab_cache_t *c = &x.c;
    /* fill and drain waves; the statistics after every operation (so the
     * peak is exactly the highest `used` seen) */
    hk_stress_config_t cfg = {
        .name = "slab", .seed = seed, .ops = 20000ul / HK_TEST_SCALE_DIV, .max_live = SLOTS,
        .phase_len = 900, .nphases = 2, .phase_pct = { 70, 30 },
        .size_min = obj, .size_max = obj, .validate_every = 89, .stats_every = 1,
        .flags = HK_STRESS_BLOCKS | HK_STRESS_COUNTS | HK_STRESS_PEAK_EXACT,
    };
    hk_stress_t s;
    hk_stress_init(&s, &slab_ops, &cfg, &x);
    hk_stress_run(&s);
    hk_stats_t st;
    hk_slab_get_stats(c, &st);
    HK_CHECK_EQ(st.allocs, s.allocs);
    HK_CHECK_EQ(st.frees, s.frees);
    HK_CHECK_EQ(st.failed_allocs, s.failed);
    HK_CHECK_EQ(st.peak_used, s.max_used);
    HK_CHECK(st.peak_used >= s.peak_live * c->stride);
    hk_stress_drain(&s);
    HK_CHECK_EQ(hk_slab_validate(c), HK_OK);
    hk_slab_get_stats(c, &st);
    HK_CHECK(st.total <= max_empty * c->slab_size); /* the rest given back */
    HK_CHECK_EQ(hk_slab_destroy(c), HK_OK);
    HK_CHECK_EQ(heap_used_blocks(h), 0);
    HK_CHECK_EQ(hk_heap_validate(h), HK_OK);
    HK_CHECK_EQ(hk_test_errors.count, 0);
}

static void test_model(void)
{
    hk_test_capture_errors();
    model_run(24, 256, 0, 65536, 31);
    model_run(64, 1024, 2, 20000, 32); /* heap runs out: failures */
    model_run(sizeof(void *), 0, 1, 32768, 33);
    model_run(100, 2048, 3, 16384, 34);
}

HK_SUITE(slab)
{
    HK_RUN(test_grow_and_shrink);
    HK_RUN(test_defaults_and_exhaustion);
    HK_RUN(test_lock_hooks);
    HK_RUN(test_peak_is_highest_used);
    HK_RUN(test_bad_init);
    HK_RUN(test_bad_free);
    HK_RUN(test_validate_catches_corruption);
    HK_RUN(test_model);
}
