/* SPDX-License-Identifier: MIT */
/*
 * test_stack.c - hk_stack: painting, high water, guards, misuse, corruption
 * and a randomized model test.
 */
#include "heapkit/stack.h"
#include "hk_stress.h"
#include "hk_test.h"

/* Simulates a thread that used `depth` bytes below the top. */
static void use_stack(hk_stack_pool_t *sp, void *stack, size_t depth, unsigned char v)
{
    unsigned char *top = hk_stack_top(sp, stack);
    hk_test_memset(top - depth, v, depth);
}

static void test_paint_and_high_water(void)
{
    hk_test_capture_errors();
    size_t asz;
    unsigned char *mem = hk_test_arena(&asz);
    hk_stack_config_t cfg = { 1000, 64, 16, 0, NULL };
    hk_stack_pool_t sp;
    size_t bytes = 4 * 1072 + 64;
    HK_REQUIRE(hk_stack_pool_init(&sp, mem, bytes, &cfg) == HK_OK);
    HK_CHECK_EQ(hk_stack_size(&sp), 1000);
    hk_stats_t s;
    hk_stack_get_stats(&sp, &s);
    HK_CHECK_EQ(s.free_blocks, 4); /* stride = 1064 rounded to 16 = 1072 */
    unsigned char second_before = mem[1072 + 100];
    unsigned char *st = hk_stack_acquire(&sp);
    HK_REQUIRE(st != NULL);
    HK_CHECK(st == mem + 64);
    HK_CHECK(((uintptr_t)st & 7u) == 0);
    HK_CHECK(hk_stack_top(&sp, st) == st + 1000);
    HK_CHECK_EQ(mem[1072 + 100], second_before); /* lazy: stack 2 untouched */
    /* painted: words hold the default pattern, the guard its complement */
    uint32_t w;
    __builtin_memcpy(&w, st + 500, 4);
    HK_CHECK_EQ(w, HK_STACK_DEFAULT_PAINT);
    __builtin_memcpy(&w, st - 4, 4);
    HK_CHECK_EQ(w, ~HK_STACK_DEFAULT_PAINT);
    HK_CHECK_EQ(hk_stack_high_water(&sp, st), 0);
    use_stack(&sp, st, 100, 0);
    HK_CHECK_EQ(hk_stack_high_water(&sp, st), 100);
    use_stack(&sp, st, 301, 0x11);
    HK_CHECK_EQ(hk_stack_high_water(&sp, st), 304); /* word granularity */
    use_stack(&sp, st, 50, 0x22); /* shallower use does not lower the mark */
    HK_CHECK_EQ(hk_stack_high_water(&sp, st), 304);
    HK_CHECK_EQ(hk_stack_check(&sp, st), HK_OK);
    use_stack(&sp, st, 1000, 0x33);
    HK_CHECK_EQ(hk_stack_high_water(&sp, st), 1000);
    HK_CHECK_EQ(hk_stack_check(&sp, st), HK_OK); /* full but no overflow */
    hk_stack_release(&sp, st);
    HK_CHECK_EQ(hk_stack_deepest(&sp), 1000);
    /* re-acquired: painted afresh */
    unsigned char *st2 = hk_stack_acquire(&sp);
    HK_CHECK(st2 == st);
    HK_CHECK_EQ(hk_stack_high_water(&sp, st2), 0);
    HK_CHECK_EQ(hk_stack_validate(&sp), HK_OK);
    HK_CHECK_EQ(hk_test_errors.count, 0);
}

static void test_exhaust_and_stats(void)
{
    hk_test_capture_errors();
    static _Alignas(64) unsigned char mem[3 * 512 + 16];
    hk_stack_config_t cfg = { 480, 32, 64, 0x12345678u, NULL };
    hk_stack_pool_t sp;
    HK_REQUIRE(hk_stack_pool_init(&sp, mem, sizeof mem, &cfg) == HK_OK);
    void *s[4];
    for (int i = 0; i < 3; i++) {
        s[i] = hk_stack_acquire(&sp);
        HK_REQUIRE(s[i] != NULL);
        HK_CHECK((((uintptr_t)s[i] - 32u) & 63u) == 0); /* guard starts aligned */
    }
    HK_CHECK((s[3] = hk_stack_acquire(&sp)) == NULL);
    hk_stats_t st;
    hk_stack_get_stats(&sp, &st);
    HK_CHECK_EQ(st.used_blocks, 3);
    HK_CHECK_EQ(st.failed_allocs, 1);
    HK_CHECK_EQ(st.total, 3 * 512);
    /* sizes count blocks: 480 + 32 guard, aligned to 64 = 512 */
    HK_CHECK_EQ(hk_stack_block_size(&sp), 512);
    HK_CHECK_EQ(st.used, 3 * hk_stack_block_size(&sp));
    HK_CHECK_EQ(hk_stack_block_size(NULL), 0);
    hk_stack_release(&sp, s[1]);
    hk_stack_get_stats(&sp, &st);
    HK_CHECK_EQ(st.used_blocks, 2);
    HK_CHECK_EQ(st.peak_used, 3 * 512);
    uint32_t w;
    __builtin_memcpy(&w, s[0], 4);
    HK_CHECK_EQ(w, 0x12345678u);
    HK_CHECK_EQ(hk_stack_validate(&sp), HK_OK);
    HK_CHECK_EQ(hk_test_errors.count, 0);
}

static void test_overflow_detected(void)
{
    hk_test_capture_errors();
    static _Alignas(16) unsigned char mem[2048];
    hk_stack_config_t cfg = { 256, 32, 16, 0, NULL };
    hk_stack_pool_t sp;
    HK_REQUIRE(hk_stack_pool_init(&sp, mem, sizeof mem, &cfg) == HK_OK);
    unsigned char *a = hk_stack_acquire(&sp), *b = hk_stack_acquire(&sp);
    HK_REQUIRE(a && b);
    HK_CHECK_EQ(hk_stack_validate(&sp), HK_OK);
    /* b's thread runs 8 bytes past the bottom of its stack */
    use_stack(&sp, b, 256 + 8, 0);
    HK_CHECK_EQ(hk_stack_check(&sp, a), HK_OK);
    HK_CHECK_EQ(hk_stack_overflows(&sp), 0);
    HK_CHECK_EQ(hk_stack_check(&sp, b), HK_ECORRUPT);
    HK_CHECK_EQ(hk_stack_overflows(&sp), 1);
    HK_CHECK_EQ(hk_test_errors.last_code, HK_ECORRUPT);
    HK_CHECK(hk_test_errors.last_ptr == b);
    HK_CHECK_EQ(hk_stack_validate(&sp), HK_ECORRUPT);
    unsigned n = hk_test_errors.count;
    HK_CHECK_EQ(hk_stack_overflows(&sp), 1); /* validate reports, does not count */
    hk_stack_release(&sp, b); /* reported, and released */
    HK_CHECK_EQ(hk_test_errors.count, n + 1);
    HK_CHECK_EQ(hk_stack_overflows(&sp), 2);
    HK_CHECK_EQ(hk_stack_overflows(NULL), 0);
    HK_CHECK_EQ(hk_stack_validate(&sp), HK_OK);
    hk_stats_t st;
    hk_stack_get_stats(&sp, &st);
    HK_CHECK_EQ(st.used_blocks, 1);
    HK_CHECK_EQ(hk_stack_deepest(&sp), 256);
}

static void test_no_guard(void)
{
    hk_test_capture_errors();
    static _Alignas(16) unsigned char mem[1024];
    hk_stack_config_t cfg = { 100, 0, 0, 0, NULL }; /* 104 bytes, stride 112 */
    hk_stack_pool_t sp;
    HK_REQUIRE(hk_stack_pool_init(&sp, mem, sizeof mem, &cfg) == HK_OK);
    HK_CHECK_EQ(hk_stack_size(&sp), 104);
    HK_CHECK_EQ(hk_stack_block_size(&sp), 112); /* alignment padding counts */
    hk_stats_t st;
    hk_stack_get_stats(&sp, &st);
    HK_CHECK_EQ(st.total, hk_pool_count(&sp.pool) * 112u);
    unsigned char *a = hk_stack_acquire(&sp);
    HK_REQUIRE(a == mem);
    HK_CHECK_EQ(hk_stack_check(&sp, a), HK_OK);
    use_stack(&sp, a, 104, 1);
    HK_CHECK_EQ(hk_stack_check(&sp, a), HK_OK);
    hk_stack_release(&sp, a);
    HK_CHECK_EQ(hk_test_errors.count, 0);
}

static void test_lock_hooks(void)
{
    hk_test_capture_errors();
    static _Alignas(16) unsigned char mem[1024];
    hk_test_lock_probe_t probe;
    hk_lock_t lk = hk_test_lock_probe(&probe);
    hk_stack_config_t cfg = { 128, 16, 0, 0, &lk };
    hk_stack_pool_t sp;
    HK_REQUIRE(hk_stack_pool_init(&sp, mem, sizeof mem, &cfg) == HK_OK);
    void *a = hk_stack_acquire(&sp);
    HK_CHECK_EQ(hk_stack_high_water(&sp, a), 0);
    HK_CHECK_EQ(hk_stack_check(&sp, a), HK_OK);
    hk_stack_release(&sp, a);
    HK_CHECK_EQ(hk_stack_validate(&sp), HK_OK);
    HK_CHECK_EQ(probe.locks, 5);
    HK_CHECK_EQ(probe.depth, 0);
    HK_CHECK_EQ(probe.bad_saved, 0u);
}

/* ---- misuse and corruption -------------------------------------------- */
static void test_bad_init(void)
{
    hk_test_capture_errors();
    static _Alignas(16) unsigned char mem[1024];
    hk_stack_pool_t sp;
    hk_stack_config_t cfg = { 128, 16, 0, 0, NULL };
    HK_CHECK_EQ(hk_stack_pool_init(NULL, mem, sizeof mem, &cfg), HK_EINVAL);
    HK_CHECK_EQ(hk_stack_pool_init(&sp, NULL, sizeof mem, &cfg), HK_EINVAL);
    HK_CHECK_EQ(hk_stack_pool_init(&sp, mem, sizeof mem, NULL), HK_EINVAL);
    cfg.stack_size = 0;
    HK_CHECK_EQ(hk_stack_pool_init(&sp, mem, sizeof mem, &cfg), HK_EINVAL);
    cfg.stack_size = 2048; /* more than the memory */
    HK_CHECK_EQ(hk_stack_pool_init(&sp, mem, sizeof mem, &cfg), HK_EINVAL);
    cfg.stack_size = SIZE_MAX - 3;
    HK_CHECK_EQ(hk_stack_pool_init(&sp, mem, sizeof mem, &cfg), HK_ERANGE);
    cfg.stack_size = 128;
    cfg.guard = SIZE_MAX;
    HK_CHECK_EQ(hk_stack_pool_init(&sp, mem, sizeof mem, &cfg), HK_ERANGE);
    cfg.guard = 0;
    cfg.align = 48;
    HK_CHECK_EQ(hk_stack_pool_init(&sp, mem, sizeof mem, &cfg), HK_EINVAL);
    HK_CHECK_EQ(hk_stack_pool_init(&sp, mem, 8, &cfg), HK_EINVAL);
    HK_CHECK_EQ(hk_test_errors.count, 9);
    /* validate: NULL or never initialised is a bad handle (HK_EINVAL) */
    hk_test_memset(&sp, 0, sizeof sp);
    HK_CHECK_EQ(hk_stack_validate(NULL), HK_EINVAL);
    HK_CHECK_EQ(hk_stack_validate(&sp), HK_EINVAL);
    HK_CHECK_EQ(hk_test_errors.last_code, HK_EINVAL);
    HK_CHECK_EQ(hk_test_errors.count, 11);
}

static void test_bad_release(void)
{
    hk_test_capture_errors();
    static _Alignas(16) unsigned char mem[2048];
    static unsigned char other[64];
    hk_stack_config_t cfg = { 240, 16, 0, 0, NULL };
    hk_stack_pool_t sp;
    HK_REQUIRE(hk_stack_pool_init(&sp, mem, sizeof mem, &cfg) == HK_OK);
    unsigned char *a = hk_stack_acquire(&sp), *b = hk_stack_acquire(&sp);
    HK_REQUIRE(a && b);
    hk_stack_release(&sp, NULL);
    HK_CHECK_EQ(hk_test_errors.count, 0);
    hk_stack_release(&sp, other + 16);
    HK_CHECK_EQ(hk_test_errors.last_code, HK_EBADPTR);
    hk_stack_release(&sp, a + 8);
    HK_CHECK_EQ(hk_test_errors.last_code, HK_EBADPTR);
    hk_stack_release(&sp, b + 256); /* where a third stack would be */
    HK_CHECK_EQ(hk_test_errors.last_code, HK_EBADPTR);
    hk_stack_release(&sp, a);
    hk_stack_release(&sp, a);
    HK_CHECK_EQ(hk_test_errors.last_code, HK_EDOUBLEFREE);
    HK_CHECK_EQ(hk_stack_high_water(&sp, a), 0);
    HK_CHECK_EQ(hk_test_errors.last_code, HK_EBADPTR);
    HK_CHECK_EQ(hk_stack_check(&sp, a), HK_EBADPTR);
    HK_CHECK_EQ(hk_test_errors.count, 6);
    HK_CHECK(hk_stack_acquire(NULL) == NULL);
    HK_CHECK_EQ(hk_test_errors.count, 7);
    HK_CHECK_EQ(hk_stack_validate(&sp), HK_OK);
}

static void test_validate_catches_corruption(void)
{
    hk_test_capture_errors();
    static _Alignas(16) unsigned char mem[2048];
    hk_stack_config_t cfg = { 240, 16, 0, 0, NULL };
    hk_stack_pool_t sp;
    HK_REQUIRE(hk_stack_pool_init(&sp, mem, sizeof mem, &cfg) == HK_OK);
    unsigned char *a = hk_stack_acquire(&sp);
    HK_REQUIRE(a && hk_stack_acquire(&sp));
    hk_stack_release(&sp, a);
    HK_CHECK_EQ(hk_stack_validate(&sp), HK_OK);
    /* a released stack's pool link overwritten (use after release) */
    void *bad = mem + 3;
    __builtin_memcpy(a - 16, &bad, sizeof bad);
    HK_CHECK_EQ(hk_stack_validate(&sp), HK_ECORRUPT);
    __builtin_memset(a - 16, 0, sizeof bad);
    HK_CHECK_EQ(hk_stack_validate(&sp), HK_OK);
    sp.guard_paint ^= 1u;
    HK_CHECK_EQ(hk_stack_validate(&sp), HK_ECORRUPT);
    sp.guard_paint ^= 1u;
    sp.stack_size += 64;
    HK_CHECK_EQ(hk_stack_validate(&sp), HK_ECORRUPT);
    sp.stack_size -= 64;
    HK_CHECK_EQ(hk_stack_validate(&sp), HK_OK);
}

/* ---- randomized model (the stress rig, harness/hk_stress.h) ---------- */
#define MAXSTACKS 64

/* The objects are stacks: acquire, "run" (touch: use a random depth) and
 * release, a third of the operations each. The rig's shadow covers no bytes
 * (a thread's stack contents are its own); aux is the deepest use so far. */
typedef struct {
    hk_stack_pool_t sp;
    size_t deepest;
} stack_ctx_t;

static void *m_alloc(hk_stress_t *s, size_t *n)
{
    stack_ctx_t *x = s->ctx;
    void *st = hk_stack_acquire(&x->sp);
    *n = 0;
    if (st)
        HK_CHECK_EQ(hk_stack_high_water(&x->sp, st), 0);
    return st;
}

static void m_touch(hk_stress_t *s, hk_stress_obj_t *o)
{
    stack_ctx_t *x = s->ctx;
    size_t d = (size_t)hk_rng_below(&s->rng, 513);
    use_stack(&x->sp, o->p, d, 0);
    if (d > o->aux)
        o->aux = (uint32_t)d;
    size_t expect = (o->aux + 3u) & ~(size_t)3u;
    HK_CHECK_EQ(hk_stack_high_water(&x->sp, o->p), expect);
    if (expect > x->deepest)
        x->deepest = expect;
}

static void m_free(hk_stress_t *s, hk_stress_obj_t *o)
{
    stack_ctx_t *x = s->ctx;
    HK_CHECK_EQ(hk_stack_check(&x->sp, o->p), HK_OK);
    hk_stack_release(&x->sp, o->p);
}

static int m_validate(hk_stress_t *s)
{
    return hk_stack_validate(&((stack_ctx_t *)s->ctx)->sp);
}

static void m_stats(hk_stress_t *s, hk_stats_t *out)
{
    hk_stack_get_stats(&((stack_ctx_t *)s->ctx)->sp, out);
}

static const hk_stress_ops_t stack_ops = {
    .alloc = m_alloc, .free = m_free, .touch = m_touch, .validate = m_validate,
    .stats = m_stats,
};

static void test_model(void)
{
    hk_test_capture_errors();
    size_t asz;
    unsigned char *mem = hk_test_arena(&asz);
    hk_stack_config_t scfg = { 512, 32, 32, 0, NULL };
    static stack_ctx_t x;
    size_t bytes = asz / 2 < 40 * 544 ? asz / 2 : 40 * 544;
    HK_REQUIRE(hk_stack_pool_init(&x.sp, mem, bytes, &scfg) == HK_OK);
    x.deepest = 0;
    hk_stats_t st;
    hk_stack_get_stats(&x.sp, &st);
    size_t cap = st.free_blocks;
    HK_REQUIRE(cap >= 4 && cap <= MAXSTACKS);
    /* acquire a third of the time (and when all are out it must fail) */
    hk_stress_config_t cfg = {
        .name = "stack", .seed = 77, .ops = 4000ul / HK_TEST_SCALE_DIV, .max_live = (unsigned)cap,
        .phase_len = 1, .nphases = 1, .phase_pct = { 33 }, .touch_pct = 50, .align = 8,
        .used_unit = hk_stack_block_size(&x.sp), .validate_every = 37, .stats_every = 37,
        .flags = HK_STRESS_FULL_AT_MAX | HK_STRESS_BLOCKS | HK_STRESS_COUNTS,
    };
    hk_stress_t s;
    hk_stress_init(&s, &stack_ops, &cfg, &x);
    hk_stress_run(&s);
    HK_CHECK_EQ(hk_stack_deepest(&x.sp), x.deepest);
    hk_stack_get_stats(&x.sp, &st);
    HK_CHECK_EQ(st.used_blocks, s.live);
    hk_stress_drain(&s);
    HK_CHECK_EQ(hk_stack_validate(&x.sp), HK_OK);
    HK_CHECK_EQ(hk_test_errors.count, 0);
}

HK_SUITE(stack)
{
    HK_RUN(test_paint_and_high_water);
    HK_RUN(test_exhaust_and_stats);
    HK_RUN(test_overflow_detected);
    HK_RUN(test_no_guard);
    HK_RUN(test_lock_hooks);
    HK_RUN(test_bad_init);
    HK_RUN(test_bad_release);
    HK_RUN(test_validate_catches_corruption);
    HK_RUN(test_model);
}
