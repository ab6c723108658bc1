/* SPDX-License-Identifier: MIT */
/*
 * test_heap_model.c - the randomized model test: for every policy, a long
 * fixed-seed run of alloc / calloc / aligned / realloc / free with small,
 * power-law and large sizes, through the stress rig (harness/hk_stress.h).
 *
 * Every block is filled with a pattern derived from its id and checked before
 * free and realloc and after realloc; usable sizes (exact) and alignment are
 * checked on every allocation; the statistics are compared with the rig's
 * shadow every 16 operations (live blocks, requested bytes, used + free =
 * total, the marks); a failed allocation must be one
 * the statistics said could not succeed (largest_free smaller than the
 * request); the heap is validated after every operation in the debug build
 * (HK_TEST_VALIDATE_ALL) and every few hundred otherwise. At the end
 * everything is freed and each region must be one free block again.
 */
#include "heap_test_util.h"
#include "hk_stress.h"

#ifndef HK_MODEL_OPS
#define HK_MODEL_OPS (1000000u / HK_TEST_SCALE_DIV)
#endif
#ifdef HK_TEST_VALIDATE_ALL
#define VALIDATE_EVERY 1u
#else
#define VALIDATE_EVERY 331u
#endif
#define SLOTS 384u

typedef struct {
    hk_heap_t *h;
    size_t arena;
} heap_ctx_t;

static hk_heap_t *heap_of(hk_stress_t *s)
{
    return ((heap_ctx_t *)s->ctx)->h;
}

static void *m_alloc(hk_stress_t *s, size_t *n)
{
    return hk_heap_alloc(heap_of(s), *n);
}

static void m_free(hk_stress_t *s, hk_stress_obj_t *o)
{
    hk_heap_free(heap_of(s), o->p);
}

static void *m_realloc(hk_stress_t *s, void *p, size_t n)
{
    return hk_heap_realloc(heap_of(s), p, n);
}

static void *m_calloc(hk_stress_t *s, size_t m, size_t n)
{
    return hk_heap_calloc(heap_of(s), m, n);
}

static void *m_aligned(hk_stress_t *s, size_t align, size_t n)
{
    return hk_heap_aligned_alloc(heap_of(s), align, n);
}

static size_t m_usable(hk_stress_t *s, const void *p)
{
    return hk_heap_usable_size(heap_of(s), p);
}

static int m_validate(hk_stress_t *s)
{
    return hk_heap_validate(heap_of(s));
}

static void m_stats(hk_stress_t *s, hk_stats_t *out)
{
    hk_heap_get_stats(heap_of(s), out);
}

/* small, power-law and (rarely) large sizes */
static size_t m_pick_size(hk_stress_t *s)
{
    size_t arena = ((heap_ctx_t *)s->ctx)->arena;
    hk_rng_t *r = &s->rng;
    unsigned k = (unsigned)hk_rng_below(r, 100);
    if (k < 55)
        return (size_t)hk_rng_below(r, 129);
    if (k < 88) { /* power law: 2^e + a fraction */
        size_t e = (size_t)1 << hk_rng_below(r, 12);
        return e + (size_t)hk_rng_below(r, e);
    }
    if (k < 98)
        return (size_t)hk_rng_below(r, arena / 256 + 1);
    return (size_t)hk_rng_below(r, arena / 24 + 1);
}

static const hk_stress_ops_t heap_ops = {
    .alloc = m_alloc, .free = m_free, .realloc = m_realloc, .calloc = m_calloc,
    .aligned = m_aligned, .usable = m_usable, .validate = m_validate, .stats = m_stats,
    .pick_size = m_pick_size,
};

static int model_run(hk_fit_t fit, uint64_t seed, unsigned long ops)
{
    size_t sz;
    unsigned char *mem = hk_test_arena(&sz);
    hk_heap_config_t c = test_cfg(fit);
    c.bottom_cut = false; /* the default placement: no layout is named here */
    heap_ctx_t ctx = { hk_heap_init(mem, sz, &c), sz };
    if (!ctx.h)
        return 0;
    hk_stress_config_t cfg = {
        .name = "heap_model", .seed = seed, .ops = ops, .max_live = SLOTS,
        .realloc_pct = 45, .calloc_pct = 10, .aligned_pct = 10, .realloc_new_pct = 10,
        .align_log2_max = 12, .align = HK_ALIGN,
        .validate_every = VALIDATE_EVERY, .stats_every = 16,
        /* without HK_HEAP_EXACT a block reports its usable bytes: at most a
         * granule of rounding and a tail too small to split past the request */
        .usable_slop = HK_ALIGN + 2 * 4 * sizeof(size_t),
        .flags = (HK_HEAP_EXACT ? HK_STRESS_USABLE_EXACT : HK_STRESS_USABLE_SUM) |
                 HK_STRESS_BLOCKS | HK_STRESS_REQUESTED | HK_STRESS_EMPTY_ZERO |
                 HK_STRESS_FAIL_NO_ROOM,
    };
    hk_stress_t s;
    hk_stress_init(&s, &heap_ops, &cfg, &ctx);
    hk_stress_run(&s);
    HK_CHECK(s.nulls < ops / 4); /* the mix is meant to fit mostly */
    hk_stress_drain(&s);
    hk_stats_t st = stats_of(ctx.h);
    HK_CHECK_EQ(st.used, 0);
    HK_CHECK_EQ(st.requested, 0);
    HK_CHECK_EQ(st.free_blocks, 1);
    HK_CHECK_EQ(hk_heap_validate(ctx.h), 0);
    return 1;
}

static void test_model_tlsf(void)
{
    HK_CHECK(model_run(HK_FIT_TLSF, 1, HK_MODEL_OPS));
}

static void test_model_first(void)
{
    HK_CHECK(model_run(HK_FIT_FIRST, 2, HK_MODEL_OPS));
}

static void test_model_best(void)
{
    HK_CHECK(model_run(HK_FIT_BEST, 3, HK_MODEL_OPS));
}

HK_SUITE(heap_model)
{
    HK_RUN(test_model_tlsf);
    HK_RUN(test_model_first);
    HK_RUN(test_model_best);
}
