/* SPDX-License-Identifier: MIT */
/*
 * test_chain.c - hk_chain: priority order, capabilities, fallback, routing
 * of free by address, statistics, misuse, corruption and a randomized model.
 */
#include "heapkit/chain.h"
#include "heapkit/heap.h"
#include "hk_stress.h"
#include "hk_test.h"

#define SRAM_CAPS (HK_CAP_FAST | HK_CAP_INTERNAL | HK_CAP_DMA)
#define DMAX_CAPS (HK_CAP_DMA | HK_CAP_EXTERNAL)
#define EXT_CAPS (HK_CAP_EXTERNAL)

/* Three regions cut from the test arena: a small fast SRAM (priority 10), a
 * DMA-capable external bank (5) and a plain external bank (1), added in a
 * scrambled order. Sizes scale with the arena (which may be 32 KiB). */
static void make_soc(hk_chain_t *c, size_t *unit_out)
{
    size_t asz;
    unsigned char *mem = hk_test_arena(&asz);
    size_t unit = asz / 8 < 8192 ? asz / 8 : 8192;
    /* blocks in allocation order: the realloc test puts a neighbour in the way */
    static const hk_heap_config_t bottom = { .bottom_cut = true };
    HK_CHECK_EQ(hk_chain_init(c, NULL), HK_OK);
    HK_CHECK_EQ(hk_chain_add_region(c, mem + 4 * unit, 4 * unit, EXT_CAPS, 1, &bottom), 0);
    HK_CHECK_EQ(hk_chain_add_region(c, mem, unit, SRAM_CAPS, 10, &bottom), 0);
    HK_CHECK_EQ(hk_chain_add_region(c, mem + unit, 2 * unit, DMAX_CAPS, 5, &bottom), 1);
    *unit_out = unit;
}

static void test_priority_and_fallback(void)
{
    hk_test_capture_errors();
    hk_chain_t c;
    size_t unit;
    make_soc(&c, &unit);
    HK_REQUIRE(hk_chain_count(&c) == 3);
    HK_CHECK_EQ(hk_chain_caps(&c, 0), SRAM_CAPS);
    HK_CHECK_EQ(hk_chain_caps(&c, 1), DMAX_CAPS);
    HK_CHECK_EQ(hk_chain_caps(&c, 2), EXT_CAPS);
    /* any memory: the fast SRAM first */
    void *a = hk_chain_alloc(&c, 100, 0, 0);
    HK_CHECK_EQ(hk_chain_owner(&c, a), 0);
    /* external only */
    void *b = hk_chain_alloc(&c, 100, HK_CAP_EXTERNAL, 0);
    HK_CHECK_EQ(hk_chain_owner(&c, b), 1);
    void *x = hk_chain_alloc(&c, 100, HK_CAP_EXTERNAL, 0);
    HK_CHECK_EQ(hk_chain_owner(&c, x), 1);
    /* a min_priority below every heap changes nothing */
    void *d = hk_chain_alloc(&c, 100, HK_CAP_EXTERNAL, -5);
    HK_CHECK_EQ(hk_chain_owner(&c, d), 1);
    void *e = hk_chain_alloc(&c, 100, 0, 11); /* nothing that high */
    HK_CHECK(e == NULL);
    /* fill the SRAM: DMA requests fall back to the DMA bank */
    void *big = hk_chain_alloc(&c, unit, HK_CAP_DMA, 0); /* too big for SRAM */
    HK_REQUIRE(big != NULL);
    HK_CHECK_EQ(hk_chain_owner(&c, big), 1);
    void *f = hk_chain_alloc(&c, unit, HK_CAP_FAST, 0); /* no fallback for FAST */
    HK_CHECK(f == NULL);
    hk_stats_t s;
    hk_chain_get_stats(&c, 0, &s);
    HK_CHECK_EQ(s.allocs, 5);
    HK_CHECK_EQ(s.failed_allocs, 2);
    HK_CHECK_EQ(s.used_blocks, 5);
    HK_CHECK_EQ(hk_chain_fallbacks(&c), 1); /* the public figure */
    HK_CHECK_EQ(hk_chain_fallbacks(NULL), 0);
    hk_chain_get_stats(&c, HK_CAP_EXTERNAL, &s);
    HK_CHECK_EQ(s.used_blocks, 4);
    HK_CHECK_EQ(s.allocs, 4);
    hk_stats_t h0;
    hk_chain_heap_stats(&c, 0, &h0);
    HK_CHECK_EQ(h0.used_blocks, 1);
    hk_chain_get_stats(&c, HK_CAP_FAST, &s);
    HK_CHECK_EQ(s.total, h0.total);
    HK_CHECK_EQ(hk_chain_validate(&c), HK_OK);
    hk_chain_free(&c, a);
    hk_chain_free(&c, b);
    hk_chain_free(&c, x);
    hk_chain_free(&c, d);
    hk_chain_free(&c, big);
    hk_chain_get_stats(&c, 0, &s);
    HK_CHECK_EQ(s.used_blocks, 0);
    HK_CHECK_EQ(s.frees, 5);
    HK_CHECK_EQ(hk_chain_validate(&c), HK_OK);
    HK_CHECK_EQ(hk_test_errors.count, 0);
}

static void test_fill_and_fall_back(void)
{
    hk_test_capture_errors();
    hk_chain_t c;
    size_t unit;
    make_soc(&c, &unit);
    size_t per_heap[3] = { 0, 0, 0 };
    void *p[1024];
    size_t n = 0;
    int last = -1;
    bool ordered = true;
    while (n < 1024 && (p[n] = hk_chain_alloc(&c, unit / 16, 0, 0)) != NULL) {
        int o = hk_chain_owner(&c, p[n]);
        HK_REQUIRE(o >= 0);
        ordered &= o >= last; /* never goes back to a higher heap */
        last = o;
        per_heap[o]++;
        n++;
    }
    HK_CHECK(ordered);
    HK_CHECK(per_heap[0] > 0 && per_heap[1] > 0 && per_heap[2] > 0);
    HK_CHECK(per_heap[1] >= per_heap[0]); /* twice the size */
    HK_CHECK_EQ(hk_chain_fallbacks(&c), per_heap[1] + per_heap[2]);
    HK_CHECK_EQ(hk_chain_validate(&c), HK_OK);
    while (n)
        hk_chain_free(&c, p[--n]);
    HK_CHECK_EQ(hk_chain_validate(&c), HK_OK);
    HK_CHECK_EQ(hk_test_errors.count, 0);
}

static void test_realloc_and_aligned(void)
{
    hk_test_capture_errors();
    hk_chain_t c;
    size_t unit;
    make_soc(&c, &unit);
    unsigned char *p = hk_chain_realloc(&c, NULL, 40, 0, 0);
    HK_REQUIRE(p != NULL);
    HK_CHECK_EQ(hk_chain_owner(&c, p), 0);
    for (int i = 0; i < 40; i++)
        p[i] = (unsigned char)(i + 1);
    /* needs external memory now: moves and keeps the content */
    unsigned char *q = hk_chain_realloc(&c, p, 60, HK_CAP_EXTERNAL, 0);
    HK_REQUIRE(q != NULL);
    HK_CHECK_EQ(hk_chain_owner(&c, q), 1);
    int same = 1;
    for (int i = 0; i < 40; i++)
        same &= q[i] == (unsigned char)(i + 1);
    HK_CHECK(same);
    /* grows in its own heap, moving past a neighbour: one alloc, one free */
    void *nb = hk_chain_alloc(&c, 16, HK_CAP_EXTERNAL, 0);
    HK_REQUIRE(nb != NULL && hk_chain_owner(&c, nb) == 1);
    hk_stats_t s0, s1;
    hk_chain_get_stats(&c, 0, &s0);
    unsigned char *r = hk_chain_realloc(&c, q, 200, HK_CAP_EXTERNAL, 0);
    HK_REQUIRE(r != NULL);
    HK_CHECK_EQ(hk_chain_owner(&c, r), 1);
    HK_CHECK(r[0] == 1 && r[39] == 40);
    hk_chain_get_stats(&c, 0, &s1);
    HK_CHECK(r != q); /* the neighbour is in the way */
    HK_CHECK_EQ(s1.allocs - s0.allocs, 1);
    HK_CHECK_EQ(s1.frees - s0.frees, 1);
    /* in place: neither */
    unsigned char *r2 = hk_chain_realloc(&c, r, 100, HK_CAP_EXTERNAL, 0);
    HK_CHECK(r2 == r);
    hk_chain_get_stats(&c, 0, &s0);
    HK_CHECK_EQ(s0.allocs, s1.allocs);
    HK_CHECK_EQ(s0.frees, s1.frees);
    hk_chain_free(&c, nb);
    HK_CHECK(hk_chain_realloc(&c, r, 0, 0, 0) == NULL);
    /* a 0-byte block (usable size 0) is a live block: it grows */
    unsigned char *z = hk_chain_alloc(&c, 0, 0, 0);
    HK_REQUIRE(z != NULL);
    unsigned char *z2 = hk_chain_realloc(&c, z, 32, 0, 0);
    HK_CHECK(z2 != NULL);
    hk_chain_free(&c, z2 ? z2 : z);
    unsigned char *al = hk_chain_aligned_alloc(&c, 256, 10, HK_CAP_DMA, 0);
    HK_REQUIRE(al != NULL);
    HK_CHECK(((uintptr_t)al & 255u) == 0);
    HK_CHECK(hk_chain_aligned_alloc(&c, 24, 10, 0, 0) == NULL);
    hk_chain_free(&c, al);
    hk_stats_t s;
    hk_chain_get_stats(&c, 0, &s);
    HK_CHECK_EQ(s.used_blocks, 0);
    HK_CHECK_EQ(hk_chain_validate(&c), HK_OK);
    HK_CHECK_EQ(hk_test_errors.count, 0);
}

static void test_lock_hooks(void)
{
    hk_test_capture_errors();
    static _Alignas(16) unsigned char mem[4096];
    hk_test_lock_probe_t probe;
    hk_lock_t lk = hk_test_lock_probe(&probe);
    hk_chain_t c;
    HK_REQUIRE(hk_chain_init(&c, &lk) == HK_OK);
    HK_REQUIRE(hk_chain_add_region(&c, mem, sizeof mem, 0, 0, NULL) == 0);
    void *p = hk_chain_alloc(&c, 10, 0, 0);
    hk_chain_free(&c, p);
    HK_CHECK_EQ(hk_chain_validate(&c), HK_OK);
    HK_CHECK_EQ(probe.locks, 4);
    HK_CHECK_EQ(probe.depth, 0);
    HK_CHECK_EQ(probe.bad_saved, 0u);
}

/* ---- misuse and corruption -------------------------------------------- */
static void *grow_never(void *ctx, size_t min_bytes, size_t *got)
{
    (void)ctx;
    (void)min_bytes;
    *got = 0;
    return NULL;
}

static void test_bad_add(void)
{
    hk_test_capture_errors();
    static unsigned char tiny[8];
    size_t asz;
    unsigned char *arena = hk_test_arena(&asz);
    size_t rsz = asz / (HK_CHAIN_MAX_HEAPS + 1) < 2048 ? asz / (HK_CHAIN_MAX_HEAPS + 1) : 2048;
    rsz &= ~(size_t)63;
    unsigned char *mem[HK_CHAIN_MAX_HEAPS + 1];
    for (size_t i = 0; i <= HK_CHAIN_MAX_HEAPS; i++)
        mem[i] = arena + i * rsz;
    hk_chain_t c;
    HK_CHECK_EQ(hk_chain_init(NULL, NULL), HK_EINVAL);
    HK_REQUIRE(hk_chain_init(&c, NULL) == HK_OK);
    HK_CHECK_EQ(hk_chain_add_region(NULL, mem[0], rsz, 0, 0, NULL), HK_EINVAL);
    HK_CHECK_EQ(hk_chain_add_region(&c, NULL, rsz, 0, 0, NULL), HK_EINVAL);
    hk_heap_config_t grow = { .fit = HK_FIT_TLSF, .grow = grow_never };
    HK_CHECK_EQ(hk_chain_add_region(&c, mem[0], rsz, 0, 0, &grow), HK_EINVAL);
    HK_CHECK_EQ(hk_chain_add_region(&c, tiny, sizeof tiny, 0, 0, NULL), HK_EINVAL);
    HK_CHECK_EQ(hk_chain_add_region(&c, mem[0], SIZE_MAX, 0, 0, NULL), HK_EINVAL);
    unsigned n = hk_test_errors.count;
    HK_CHECK_EQ(n, 6);
    HK_CHECK_EQ(hk_chain_add_region(&c, mem[0], rsz, 0, 0, NULL), 0);
    HK_CHECK_EQ(hk_chain_add_region(&c, mem[0] + rsz / 2, rsz, 0, 0, NULL), HK_EOVERLAP);
    HK_CHECK_EQ(hk_test_errors.last_code, HK_EOVERLAP);
    for (size_t i = 1; i < HK_CHAIN_MAX_HEAPS; i++)
        HK_CHECK_EQ(hk_chain_add_region(&c, mem[i], rsz, 0, -(int)i, NULL), (int)i);
    HK_CHECK_EQ(hk_chain_add_region(&c, mem[HK_CHAIN_MAX_HEAPS], rsz, 0, 0, NULL), HK_ERANGE);
    HK_CHECK_EQ(hk_test_errors.count, n + 2);
    HK_CHECK(hk_chain_alloc(NULL, 1, 0, 0) == NULL);
    HK_CHECK_EQ(hk_chain_validate(&c), HK_OK);
}

static void test_bad_free(void)
{
    hk_test_capture_errors();
    static unsigned char other[64];
    hk_chain_t c;
    size_t unit;
    make_soc(&c, &unit);
    void *a = hk_chain_alloc(&c, 64, 0, 0);
    HK_REQUIRE(a != NULL);
    hk_chain_free(&c, NULL);
    HK_CHECK_EQ(hk_test_errors.count, 0);
    hk_chain_free(&c, other);
    HK_CHECK_EQ(hk_test_errors.last_code, HK_EBADPTR);
    HK_CHECK(hk_chain_realloc(&c, other, 10, 0, 0) == NULL);
    HK_CHECK_EQ(hk_test_errors.last_code, HK_EBADPTR);
    hk_chain_free(&c, a);
    hk_chain_free(&c, a); /* the heap reports it */
    HK_CHECK_EQ(hk_test_errors.last_code, HK_EDOUBLEFREE);
    HK_CHECK_EQ(hk_test_errors.count, 3);
    hk_stats_t s;
    hk_chain_get_stats(&c, 0, &s);
    HK_CHECK_EQ(s.frees, 1);
    HK_CHECK_EQ(hk_chain_validate(&c), HK_OK);
}

static void test_validate_catches_corruption(void)
{
    hk_test_capture_errors();
    hk_chain_t c;
    size_t unit;
    make_soc(&c, &unit);
    HK_CHECK_EQ(hk_chain_validate(&c), HK_OK);
    c.e[1].priority = 50; /* out of order */
    HK_CHECK_EQ(hk_chain_validate(&c), HK_ECORRUPT);
    c.e[1].priority = 5;
    uintptr_t hi = c.e[0].hi;
    c.e[0].hi = c.e[1].lo + 16; /* overlapping ranges */
    HK_CHECK_EQ(hk_chain_validate(&c), HK_ECORRUPT);
    c.e[0].hi = hi;
    hk_heap_t *h = c.e[2].heap;
    c.e[2].heap = c.e[0].heap; /* heap outside its region */
    HK_CHECK_EQ(hk_chain_validate(&c), HK_ECORRUPT);
    c.e[2].heap = h;
    c.n = HK_CHAIN_MAX_HEAPS + 1;
    HK_CHECK_EQ(hk_chain_validate(&c), HK_ECORRUPT);
    c.n = 3;
    HK_CHECK_EQ(hk_chain_validate(&c), HK_OK);
    /* damage inside one heap: an overflow over the next block's header */
    unsigned char *p = hk_chain_alloc(&c, 64, HK_CAP_EXTERNAL, -10);
    unsigned char *q = hk_chain_alloc(&c, 64, HK_CAP_EXTERNAL, -10);
    HK_REQUIRE(p && q);
    unsigned char saved[2 * sizeof(size_t)];
    __builtin_memcpy(saved, q - sizeof saved, sizeof saved);
    hk_test_memset(q - sizeof saved, 0xee, sizeof saved);
    HK_CHECK_EQ(hk_chain_validate(&c), HK_ECORRUPT);
    __builtin_memcpy(q - sizeof saved, saved, sizeof saved);
    HK_CHECK_EQ(hk_chain_validate(&c), HK_OK);
}

/* ---- randomized model (the stress rig, harness/hk_stress.h) ---------- */
#define SLOTS 300

/* Each request asks for random capabilities and a minimum priority (the
 * EXEC requests never fit); whatever is returned must come from a heap that
 * has them. */
static const uint32_t want[] = { 0, HK_CAP_DMA, HK_CAP_EXTERNAL, HK_CAP_FAST, HK_CAP_INTERNAL,
                                 HK_CAP_DMA | HK_CAP_EXTERNAL, HK_CAP_EXEC };

typedef struct {
    uint32_t caps;
    int minp;
} chain_req_t;

static chain_req_t pick_req(hk_stress_t *s)
{
    chain_req_t q;
    q.caps = want[hk_rng_below(&s->rng, sizeof want / sizeof want[0])];
    q.minp = (int)hk_rng_below(&s->rng, 12) - 1;
    return q;
}

static void *placed(hk_stress_t *s, void *p, chain_req_t q)
{
    hk_chain_t *c = s->ctx;
    if (p) {
        int o = hk_chain_owner(c, p);
        HK_CHECK(o >= 0);
        if (o >= 0) {
            HK_CHECK((hk_chain_caps(c, (size_t)o) & q.caps) == q.caps);
            HK_CHECK(c->e[o].priority >= q.minp);
        }
    }
    return p;
}

static void *m_alloc(hk_stress_t *s, size_t *n)
{
    chain_req_t q = pick_req(s);
    return placed(s, hk_chain_alloc(s->ctx, *n, q.caps, q.minp), q);
}

static void *m_aligned(hk_stress_t *s, size_t align, size_t n)
{
    chain_req_t q = pick_req(s);
    return placed(s, hk_chain_aligned_alloc(s->ctx, align, n, q.caps, q.minp), q);
}

static void *m_realloc(hk_stress_t *s, void *p, size_t n)
{
    chain_req_t q = pick_req(s);
    return placed(s, hk_chain_realloc(s->ctx, p, n, q.caps, q.minp), q);
}

static void m_free(hk_stress_t *s, hk_stress_obj_t *o)
{
    hk_chain_free(s->ctx, o->p);
}

static size_t m_usable(hk_stress_t *s, const void *p)
{
    int o = hk_chain_owner(s->ctx, p);
    return o < 0 ? 0 : hk_heap_usable_size(hk_chain_heap(s->ctx, (size_t)o), p);
}

static int m_validate(hk_stress_t *s)
{
    return hk_chain_validate(s->ctx);
}

static void m_stats(hk_stress_t *s, hk_stats_t *out)
{
    hk_chain_get_stats(s->ctx, 0, out);
}

static const hk_stress_ops_t chain_ops = {
    .alloc = m_alloc, .free = m_free, .realloc = m_realloc, .aligned = m_aligned,
    .usable = m_usable, .validate = m_validate, .stats = m_stats,
};

static void test_model(void)
{
    hk_test_capture_errors();
    hk_chain_t c;
    size_t unit;
    make_soc(&c, &unit);
    hk_stress_config_t cfg = {
        .name = "chain", .seed = 41, .ops = 15000ul / HK_TEST_SCALE_DIV, .max_live = SLOTS,
        .phase_len = 800, .nphases = 2, .phase_pct = { 70, 30 },
        .realloc_pct = 20, .aligned_pct = 10, .realloc_new_pct = 5, .align_log2_max = 7,
        .size_max = unit / 8 - 1, .align = HK_ALIGN, .validate_every = 97, .stats_every = 97,
        .flags = HK_STRESS_BLOCKS | HK_STRESS_COUNTS,
    };
    hk_stress_t s;
    hk_stress_init(&s, &chain_ops, &cfg, &c);
    hk_stress_run(&s);
    hk_stats_t st;
    hk_chain_get_stats(&c, 0, &st);
    HK_CHECK_EQ(st.allocs, s.allocs);
    HK_CHECK_EQ(st.failed_allocs, s.failed);
    HK_CHECK_EQ(st.frees, s.frees);
    HK_CHECK_EQ(st.used_blocks, s.live);
    HK_CHECK(s.failed > 0); /* the EXEC requests never fit */
    hk_stress_drain(&s);
    hk_chain_get_stats(&c, 0, &st);
    HK_CHECK_EQ(st.used_blocks, 0);
    /* empty again: each heap is one free block, the smallest is the SRAM */
    hk_stats_t sram;
    hk_chain_heap_stats(&c, 0, &sram);
    HK_CHECK(sram.smallest_free > 0);
    HK_CHECK_EQ(st.smallest_free, sram.smallest_free);
    HK_CHECK_EQ(hk_chain_validate(&c), HK_OK);
    HK_CHECK_EQ(hk_test_errors.count, 0);
}

HK_SUITE(chain)
{
    HK_RUN(test_priority_and_fallback);
    HK_RUN(test_fill_and_fall_back);
    HK_RUN(test_realloc_and_aligned);
    HK_RUN(test_lock_hooks);
    HK_RUN(test_bad_add);
    HK_RUN(test_bad_free);
    HK_RUN(test_validate_catches_corruption);
    HK_RUN(test_model);
}
