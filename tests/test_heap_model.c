/* SPDX-License-Identifier: MIT */
/*
 * test_heap_model.c - the randomized model test: for every policy, a long
 * fixed-seed run of alloc / calloc / aligned / realloc / free with small,
 * power-law and large sizes, against a model of what must be live.
 *
 * Every block is filled with a pattern derived from its id and checked before
 * free and after realloc; usable sizes and alignment are checked on every
 * allocation; the statistics are compared with the model after every
 * operation; a failed allocation must be one the statistics said could not
 * succeed (largest_free smaller than the request); the heap is validated
 * after every operation in the debug build (HK_TEST_VALIDATE_ALL) and every
 * few hundred otherwise. At the end everything is freed and each region must
 * be one free block again.
 */
#include "heap/block.h"
#include "heap_test_util.h"

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
    unsigned char *p;
    size_t n;
    uint32_t id;
} slot_t;

static slot_t slots[SLOTS];

static size_t pick_size(hk_rng_t *r, size_t arena)
{
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

static int model_run(hk_fit_t fit, uint64_t seed, unsigned ops)
{
    size_t sz;
    unsigned char *mem = hk_test_arena(&sz);
    hk_heap_config_t c = test_cfg(fit);
    hk_heap_t *h = hk_heap_init(mem, sz, &c);
    if (!h)
        return 0;
    hk_rng_t r;
    hk_rng_seed(&r, seed);
    hk_test_memset(slots, 0, sizeof slots);
    size_t live = 0, requested = 0;
    uint32_t next_id = 1;
    unsigned long fails = hk_test_failures;
    unsigned nulls = 0;

    for (unsigned op = 0; op < ops && hk_test_failures - fails < 5; op++) {
        slot_t *s = &slots[hk_rng_below(&r, SLOTS)];
        unsigned k = (unsigned)hk_rng_below(&r, 100);
        if (!s->p) {
            size_t n = pick_size(&r, sz);
            unsigned char *p;
            size_t align = HK_ALIGN;
            if (k < 70) {
                p = hk_heap_alloc(h, n);
                if (!p) {
                    hk_stats_t st = stats_of(h);
                    HK_CHECK(st.largest_free < n); /* failed only if it had to */
                } else if (op % 16 == 0) {
                    /* it fitted, so it was within what stats promise now+n */
                    HK_CHECK(stats_of(h).used_blocks == live + 1);
                }
            } else if (k < 80) {
                size_t m = 1 + (size_t)hk_rng_below(&r, 8);
                n = n / m;
                p = hk_heap_calloc(h, m, n);
                n *= m;
                if (p) {
                    int zero = 1;
                    for (size_t i = 0; i < n; i++)
                        zero &= p[i] == 0;
                    HK_CHECK(zero);
                }
            } else if (k < 90) {
                align = (size_t)1 << hk_rng_below(&r, 13);
                p = hk_heap_aligned_alloc(h, align, n);
            } else {
                p = hk_heap_realloc(h, NULL, n);
            }
            if (p) {
                HK_CHECK_EQ((uintptr_t)p % (align > HK_ALIGN ? align : HK_ALIGN), 0);
                HK_CHECK_EQ(hk_heap_usable_size(h, p), n);
                s->p = p;
                s->n = n;
                s->id = next_id++;
                pat_fill(p, s->id, n);
                live++;
                requested += n;
            } else {
                nulls++;
            }
        } else if (k < 55) {
            HK_CHECK(pat_ok(s->p, s->id, s->n));
            hk_heap_free(h, s->p);
            live--;
            requested -= s->n;
            s->p = NULL;
        } else {
            size_t n = k < 85 ? pick_size(&r, sz) : s->n + (size_t)hk_rng_below(&r, 64);
            unsigned char *q = hk_heap_realloc(h, s->p, n);
            if (n == 0) {
                HK_CHECK(q == NULL); /* realloc(p, 0) frees */
                live--;
                requested -= s->n;
                s->p = NULL;
            } else if (!q) {
                HK_CHECK(pat_ok(s->p, s->id, s->n)); /* untouched on failure */
                HK_CHECK_EQ(hk_heap_usable_size(h, s->p), s->n);
                nulls++;
            } else {
                size_t keep = n < s->n ? n : s->n;
                HK_CHECK(pat_ok(q, s->id, keep));
                HK_CHECK_EQ((uintptr_t)q % HK_ALIGN, 0);
                HK_CHECK_EQ(hk_heap_usable_size(h, q), n);
                requested = requested - s->n + n;
                s->p = q;
                s->n = n;
                pat_fill(q, s->id, n);
            }
        }
        if (op % VALIDATE_EVERY == 0)
            HK_CHECK_EQ(hk_heap_validate(h), 0);
        if (op % 64 == 0) {
            hk_stats_t st = stats_of(h);
            HK_CHECK_EQ(st.used_blocks, live);
            HK_CHECK_EQ(st.requested, requested);
            HK_CHECK_EQ(st.used + st.free, st.total);
            HK_CHECK(st.peak_used >= st.used && st.min_ever_free <= st.free);
        }
    }
    HK_CHECK(nulls < ops / 4); /* the mix is meant to fit mostly */
    for (unsigned i = 0; i < SLOTS; i++) {
        if (slots[i].p) {
            HK_CHECK(pat_ok(slots[i].p, slots[i].id, slots[i].n));
            hk_heap_free(h, slots[i].p);
        }
    }
    hk_stats_t st = stats_of(h);
    HK_CHECK_EQ(st.used, 0);
    HK_CHECK_EQ(st.requested, 0);
    HK_CHECK_EQ(st.free_blocks, 1);
    HK_CHECK_EQ(hk_heap_validate(h), 0);
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
