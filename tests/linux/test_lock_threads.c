/* SPDX-License-Identifier: MIT */
/*
 * test_lock_threads.c - the lock hooks under real threads: four threads share
 * one pool, ring, slab cache, chain, tiered allocator, stack pool and page
 * allocator, each configured with a pthread mutex as its hk_lock_t. Every
 * thread fills what it gets with its own pattern and checks it before giving
 * it back, so a block handed to two threads at once shows; at the end the
 * allocator validates and its counters add up. Hosted only; built once more
 * with ThreadSanitizer by scripts/stages/35-tsan.sh, which then also proves
 * that every shared field is touched under the lock.
 *
 * The checks run in the main thread after the join: the harness's check
 * counters are not thread-safe, so workers only count their own failures.
 */
#include <pthread.h>
#include <stdint.h>
#include <string.h>

#include "hk_test.h"
#include "heapkit/chain.h"
#include "heapkit/heap.h"
#include "heapkit/pages.h"
#include "heapkit/pool.h"
#include "heapkit/ring.h"
#include "heapkit/slab.h"
#include "heapkit/stack.h"
#include "heapkit/tiered.h"

#define NTHREADS 4
#define HELD 16 /* blocks a thread holds at most */
#ifndef HK_THREAD_OPS
#define HK_THREAD_OPS 20000u
#endif

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;

static uintptr_t mu_lock(void *ctx)
{
    pthread_mutex_lock(ctx);
    return 0x5a;
}

static void mu_unlock(void *ctx, uintptr_t saved)
{
    if (saved == 0x5a)
        pthread_mutex_unlock(ctx);
}

static const hk_lock_t lock = { mu_lock, mu_unlock, &mu };

/* One component under test: take a block of about `size` bytes, give it
 * back, and how many bytes of it the thread may write. */
typedef struct {
    void *(*take)(void *ctx, size_t size, size_t *usable);
    void (*give)(void *ctx, void *p, size_t size);
    void *ctx;
    size_t max_size;
} rig_t;

typedef struct {
    const rig_t *rig;
    unsigned id;
    unsigned long taken, given, bad;
} worker_t;

static void fill(unsigned char *p, size_t n, unsigned char v)
{
    memset(p, v, n);
}

static bool intact(const unsigned char *p, size_t n, unsigned char v)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != v)
            return false;
    return true;
}

static void *work(void *arg)
{
    worker_t *w = arg;
    const rig_t *r = w->rig;
    struct { unsigned char *p; size_t size, n; unsigned char v; } held[HELD];
    unsigned nheld = 0;
    hk_rng_t rng;
    hk_rng_seed(&rng, 0x7417u + w->id);
    for (unsigned op = 0; op < HK_THREAD_OPS; op++) {
        if (nheld < HELD && (nheld == 0 || hk_rng_below(&rng, 100) < 55)) {
            size_t size = 1u + (size_t)hk_rng_below(&rng, r->max_size);
            size_t n = 0;
            unsigned char *p = r->take(r->ctx, size, &n);
            if (!p)
                continue;
            unsigned char v = (unsigned char)(w->id * 64u + (op & 63u));
            fill(p, n, v);
            held[nheld].p = p;
            held[nheld].size = size;
            held[nheld].n = n;
            held[nheld].v = v;
            nheld++;
            w->taken++;
        } else {
            unsigned i = (unsigned)hk_rng_below(&rng, nheld);
            if (!intact(held[i].p, held[i].n, held[i].v))
                w->bad++; /* another thread wrote into it */
            r->give(r->ctx, held[i].p, held[i].size);
            held[i] = held[--nheld];
            w->given++;
        }
    }
    while (nheld) {
        nheld--;
        if (!intact(held[nheld].p, held[nheld].n, held[nheld].v))
            w->bad++;
        r->give(r->ctx, held[nheld].p, held[nheld].size);
        w->given++;
    }
    return NULL;
}

/* Runs the workers; returns the successful takes, checks the rest. */
static unsigned long run(const rig_t *r)
{
    pthread_t th[NTHREADS];
    worker_t w[NTHREADS];
    for (unsigned i = 0; i < NTHREADS; i++) {
        w[i] = (worker_t){ r, i, 0, 0, 0 };
        HK_CHECK_EQ(pthread_create(&th[i], NULL, work, &w[i]), 0);
    }
    unsigned long taken = 0, bad = 0, unbalanced = 0;
    for (unsigned i = 0; i < NTHREADS; i++) {
        pthread_join(th[i], NULL);
        taken += w[i].taken;
        bad += w[i].bad;
        unbalanced += w[i].taken != w[i].given;
    }
    HK_CHECK_EQ(bad, 0);
    HK_CHECK_EQ(unbalanced, 0);
    HK_CHECK(taken > 0);
    return taken;
}

/* ---- the components ------------------------------------------------------ */

static void *pool_take(void *ctx, size_t size, size_t *n)
{
    (void)size;
    *n = 48;
    return hk_pool_alloc(ctx);
}

static void pool_give(void *ctx, void *p, size_t size)
{
    (void)size;
    hk_pool_free(ctx, p);
}

static void test_pool_threads(void)
{
    hk_test_capture_errors();
    size_t asz;
    void *mem = hk_test_arena(&asz);
    static uint32_t bm[HK_POOL_BITMAP_WORDS(64)];
    hk_pool_config_t pc = { &lock, bm, HK_POOL_BITMAP_WORDS(64) };
    hk_pool_t pool;
    HK_REQUIRE(hk_pool_init(&pool, mem, 64 * 48, 48, 0, &pc) == HK_OK);
    rig_t r = { pool_take, pool_give, &pool, 48 };
    unsigned long taken = run(&r);
    hk_stats_t s;
    hk_pool_get_stats(&pool, &s);
    HK_CHECK_EQ(s.allocs, taken);
    HK_CHECK_EQ(s.frees, taken);
    HK_CHECK_EQ(s.used_blocks, 0);
    HK_CHECK_EQ(hk_pool_validate(&pool), HK_OK);
    HK_CHECK_EQ(hk_test_errors.count, 0);
}

static void *ring_take(void *ctx, size_t size, size_t *n)
{
    *n = size;
    return hk_ring_alloc(ctx, size);
}

static void ring_give(void *ctx, void *p, size_t size)
{
    (void)size;
    hk_ring_free(ctx, p);
}

static void test_ring_threads(void)
{
    hk_test_capture_errors();
    size_t asz;
    void *mem = hk_test_arena(&asz);
    hk_ring_t ring;
    HK_REQUIRE(hk_ring_init(&ring, mem, 16384, 0, &lock) == HK_OK);
    rig_t r = { ring_take, ring_give, &ring, 200 };
    unsigned long taken = run(&r);
    hk_stats_t s;
    hk_ring_get_stats(&ring, &s);
    HK_CHECK_EQ(s.allocs, taken);
    HK_CHECK_EQ(s.frees, taken);
    HK_CHECK_EQ(s.used, 0);
    HK_CHECK_EQ(hk_ring_validate(&ring), HK_OK);
    HK_CHECK_EQ(hk_test_errors.count, 0);
}

static void *slab_take(void *ctx, size_t size, size_t *n)
{
    (void)size;
    *n = 40;
    return hk_slab_alloc(ctx);
}

static void slab_give(void *ctx, void *p, size_t size)
{
    (void)size;
    hk_slab_free(ctx, p);
}

static void test_slab_threads(void)
{
    hk_test_capture_errors();
    size_t asz;
    void *mem = hk_test_arena(&asz);
    hk_heap_t *h = hk_heap_init(mem, 65536, NULL); /* used only under the cache's lock */
    HK_REQUIRE(h != NULL);
    hk_slab_config_t cfg = { 40, 0, 512, 1, &lock };
    hk_slab_cache_t c;
    HK_REQUIRE(hk_slab_init(&c, h, &cfg) == HK_OK);
    rig_t r = { slab_take, slab_give, &c, 40 };
    unsigned long taken = run(&r);
    hk_stats_t s;
    hk_slab_get_stats(&c, &s);
    HK_CHECK_EQ(s.allocs, taken);
    HK_CHECK_EQ(s.used_blocks, 0);
    HK_CHECK(s.peak_used >= s.used);
    HK_CHECK_EQ(hk_slab_validate(&c), HK_OK);
    HK_CHECK_EQ(hk_slab_destroy(&c), HK_OK);
    HK_CHECK_EQ(hk_test_errors.count, 0);
}

static void *chain_take(void *ctx, size_t size, size_t *n)
{
    *n = size;
    return hk_chain_alloc(ctx, size, 0, 0);
}

static void chain_give(void *ctx, void *p, size_t size)
{
    (void)size;
    hk_chain_free(ctx, p);
}

static void test_chain_threads(void)
{
    hk_test_capture_errors();
    size_t asz;
    unsigned char *mem = hk_test_arena(&asz);
    hk_chain_t c;
    HK_REQUIRE(hk_chain_init(&c, &lock) == HK_OK);
    HK_REQUIRE(hk_chain_add_region(&c, mem, 4096, HK_CAP_FAST, 10, NULL) >= 0);
    HK_REQUIRE(hk_chain_add_region(&c, mem + 8192, 32768, 0, 1, NULL) >= 0);
    rig_t r = { chain_take, chain_give, &c, 300 };
    unsigned long taken = run(&r);
    hk_stats_t s;
    hk_chain_get_stats(&c, 0, &s);
    HK_CHECK_EQ(s.allocs, taken);
    HK_CHECK_EQ(s.frees, taken);
    HK_CHECK_EQ(s.used_blocks, 0);
    HK_CHECK(hk_chain_fallbacks(&c) > 0); /* 4 KiB of fast memory runs out */
    HK_CHECK_EQ(hk_chain_validate(&c), HK_OK);
    HK_CHECK_EQ(hk_test_errors.count, 0);
}

static void *tiered_take(void *ctx, size_t size, size_t *n)
{
    *n = size;
    return hk_tiered_alloc(ctx, size);
}

static void tiered_give(void *ctx, void *p, size_t size)
{
    (void)size;
    hk_tiered_free(ctx, p);
}

static void test_tiered_threads(void)
{
    hk_test_capture_errors();
    size_t asz;
    unsigned char *mem = hk_test_arena(&asz);
    static const hk_tiered_class_t cls[] = { { 16, 16 }, { 64, 16 }, { 256, 8 } };
    hk_heap_t *h = hk_heap_init(mem + 65536, 65536, NULL);
    HK_REQUIRE(h != NULL);
    hk_tiered_config_t cfg = { cls, 3, h, &lock, 0, true };
    size_t need = hk_tiered_mem_size(&cfg);
    HK_REQUIRE(need > 0 && need < 65536);
    hk_tiered_t *t = hk_tiered_init(mem, need, &cfg);
    HK_REQUIRE(t != NULL);
    rig_t r = { tiered_take, tiered_give, t, 600 };
    unsigned long taken = run(&r);
    hk_stats_t s;
    hk_tiered_get_stats(t, &s);
    HK_CHECK_EQ(s.allocs, taken);
    HK_CHECK_EQ(s.frees, taken);
    HK_CHECK_EQ(hk_tiered_validate(t), HK_OK);
    HK_CHECK_EQ(hk_test_errors.count, 0);
}

static void *stack_take(void *ctx, size_t size, size_t *n)
{
    (void)size;
    *n = 64; /* the low end of the stack: high water stays small */
    return hk_stack_acquire(ctx);
}

static void stack_give(void *ctx, void *p, size_t size)
{
    (void)size;
    hk_stack_release(ctx, p);
}

static void test_stack_threads(void)
{
    hk_test_capture_errors();
    size_t asz;
    unsigned char *mem = hk_test_arena(&asz);
    hk_stack_config_t cfg = { 512, 32, 0, 0, &lock };
    hk_stack_pool_t sp;
    HK_REQUIRE(hk_stack_pool_init(&sp, mem, 40 * 1024, &cfg) == HK_OK);
    rig_t r = { stack_take, stack_give, &sp, 1 };
    unsigned long taken = run(&r);
    hk_stats_t s;
    hk_stack_get_stats(&sp, &s);
    HK_CHECK_EQ(s.allocs, taken);
    HK_CHECK_EQ(s.used_blocks, 0);
    HK_CHECK_EQ(hk_stack_overflows(&sp), 0);
    HK_CHECK_EQ(hk_stack_validate(&sp), HK_OK);
    HK_CHECK_EQ(hk_test_errors.count, 0);
}

/* Pages: the frames are only numbers here, so a thread "writes" its pattern
 * into a shadow byte per frame kept beside the allocator. */
static unsigned char shadow[1024];
static hk_pages_t *pages;

static void *pages_take(void *ctx, size_t size, size_t *n)
{
    (void)ctx;
    size_t frames = 1u + size % 5u;
    hk_paddr_t a = hk_pages_alloc_run(pages, frames);
    if (a == HK_PADDR_NONE)
        return NULL;
    *n = frames;
    return shadow + (a >> 12);
}

static void pages_give(void *ctx, void *p, size_t size)
{
    (void)ctx;
    hk_pages_free_run(pages, (hk_paddr_t)((unsigned char *)p - shadow) << 12, 1u + size % 5u);
}

static void test_pages_threads(void)
{
    hk_test_capture_errors();
    size_t asz;
    unsigned char *mem = hk_test_arena(&asz);
    hk_mem_range_t map[] = { { 0, sizeof shadow * 4096u, HK_MEM_USABLE } };
    hk_pages_config_t pc = { 0 };
    pc.map = map;
    pc.map_len = 1;
    pc.meta = mem;
    pc.meta_size = asz;
    pc.lock = &lock;
    pages = hk_pages_init(&pc);
    HK_REQUIRE(pages != NULL);
    rig_t r = { pages_take, pages_give, NULL, 64 };
    unsigned long taken = run(&r);
    hk_stats_t s;
    hk_pages_get_stats(pages, &s);
    HK_CHECK_EQ(s.allocs, taken);
    HK_CHECK_EQ(s.frees, taken);
    HK_CHECK_EQ(hk_pages_free_frames(pages), sizeof shadow);
    HK_CHECK_EQ(hk_pages_validate(pages), 0);
    HK_CHECK_EQ(hk_test_errors.count, 0);
}

HK_SUITE(lock_threads)
{
    HK_RUN(test_pool_threads);
    HK_RUN(test_ring_threads);
    HK_RUN(test_slab_threads);
    HK_RUN(test_chain_threads);
    HK_RUN(test_tiered_threads);
    HK_RUN(test_stack_threads);
    HK_RUN(test_pages_threads);
}
