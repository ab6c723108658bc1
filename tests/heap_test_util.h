/* SPDX-License-Identifier: MIT */
/*
 * heap_test_util.h - helpers the heap's test files share: the policies to
 * loop over, pattern fill/check, and heap shape queries through the public
 * walk.
 */
#ifndef HEAP_TEST_UTIL_H
#define HEAP_TEST_UTIL_H

#include "heapkit/heap.h"
#include "hk_test.h"

static const hk_fit_t test_fits[] = { HK_FIT_TLSF, HK_FIT_FIRST, HK_FIT_BEST };
#define TEST_NFITS (sizeof test_fits / sizeof test_fits[0])

/* A heap of policy `fit` whose blocks lie in allocation order (no top
 * placement), so a test can name the layout it builds. */
static inline hk_heap_config_t test_cfg(hk_fit_t fit)
{
    hk_heap_config_t c = { .fit = fit, .bottom_cut = true };
    return c;
}

/* Byte i of block `id`: a pattern that differs between blocks and offsets. */
static inline unsigned char pat(uint32_t id, size_t i)
{
    return (unsigned char)((id * 2654435761u) >> 24 ^ (uint32_t)(i * 7u + 1u));
}

static inline void pat_fill(void *p, uint32_t id, size_t n)
{
    unsigned char *c = p;
    for (size_t i = 0; i < n; i++)
        c[i] = pat(id, i);
}

static inline int pat_ok(const void *p, uint32_t id, size_t n)
{
    const unsigned char *c = p;
    for (size_t i = 0; i < n; i++)
        if (c[i] != pat(id, i))
            return 0;
    return 1;
}

typedef struct {
    size_t blocks, used, free, largest_free_block;
} shape_t;

static inline void shape_cb(void *ptr, size_t size, bool used, void *ctx)
{
    shape_t *s = ctx;
    (void)ptr;
    s->blocks++;
    if (used) {
        s->used++;
    } else {
        s->free++;
        if (size > s->largest_free_block)
            s->largest_free_block = size;
    }
}

static inline shape_t heap_shape(const hk_heap_t *h)
{
    shape_t s = { 0, 0, 0, 0 };
    hk_heap_walk(h, shape_cb, &s);
    return s;
}

static inline hk_stats_t stats_of(const hk_heap_t *h)
{
    hk_stats_t s;
    hk_heap_get_stats(h, &s);
    return s;
}

/* The fixture of the misuse tests: a heap of `bytes` bytes on the test arena
 * holding three 64-byte blocks filled with patterns 1, 2, 3, of which the
 * middle one (b) is freed: a free block between two used ones. */
typedef struct {
    hk_heap_t *h;
    unsigned char *mem;
    unsigned char *a, *b, *c;
} heap_fixture_t;

static inline heap_fixture_t heap_fixture(hk_fit_t fit, size_t bytes)
{
    heap_fixture_t f;
    size_t sz;
    f.mem = hk_test_arena(&sz);
    hk_heap_config_t c = test_cfg(fit);
    f.h = hk_heap_init(f.mem, bytes, &c);
    f.a = hk_heap_alloc(f.h, 64);
    f.b = hk_heap_alloc(f.h, 64);
    f.c = hk_heap_alloc(f.h, 64);
    pat_fill(f.a, 1, 64);
    pat_fill(f.b, 2, 64);
    pat_fill(f.c, 3, 64);
    hk_heap_free(f.h, f.b);
    hk_stats_t st; /* the small-object front parks b; the stats call returns */
    hk_heap_get_stats(f.h, &st); /* it to the block layer: a real free block */
    return f;
}

#endif
