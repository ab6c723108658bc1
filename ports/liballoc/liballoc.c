/* SPDX-License-Identifier: MIT */
/*
 * liballoc.c - kmalloc and friends over heapkit, fed by liballoc's hooks
 * (contract in liballoc.h).
 *
 * Two kinds of block:
 *   heap blocks   from one hk_heap whose regions are page runs from
 *                 liballoc_alloc (the first on the first call, more through
 *                 the heap's growth hook); each run starts with a run_t
 *                 link so kmalloc_release can give them all back;
 *   big blocks    a page run of their own, [big_t header | payload], on a
 *                 doubly linked list; kfree returns the run to
 *                 liballoc_free at once.
 * kfree tells them apart by the header: a big block's payload starts
 * BIG_HDR bytes into a page-aligned run and its header carries a magic and
 * is on the list (checked, so a heap block that happens to sit at the same
 * page offset is never mistaken for one). O(big blocks) for that check;
 * a kernel has few of them.
 */
#include "liballoc.h"

#include "heapkit/heap.h"
#include "common/hk_internal.h"

#define PS ((size_t)HK_LIBALLOC_PAGE_SIZE)
#define BIG_MAGIC 0x6c696262u /* "libb" */

typedef struct big {
    uint32_t magic;
    size_t pages;
    size_t size;
    struct big *next, *prev;
} big_t;

#define BIG_HDR hk__align_up(sizeof(big_t), HK_ALIGN)

typedef struct run {
    struct run *next;
    size_t pages;
} run_t;

#define RUN_HDR hk__align_up(sizeof(run_t), HK_ALIGN)

static hk_heap_t *heap;
static run_t *runs;
static big_t *bigs;
static size_t big_bytes, big_peak;

/* A page run for the heap: linked, and the memory after the link. */
static void *run_new(size_t pages, size_t *got)
{
    run_t *r = liballoc_alloc(pages);
    if (!r)
        return NULL;
    r->pages = pages;
    r->next = runs;
    runs = r;
    *got = pages * PS - RUN_HDR;
    return (char *)r + RUN_HDR;
}

static void *grow(void *ctx, size_t min_bytes, size_t *got)
{
    (void)ctx;
    size_t pages = min_bytes / PS + 2u;
    if (pages < HK_LIBALLOC_GROW_PAGES)
        pages = HK_LIBALLOC_GROW_PAGES;
    return run_new(pages, got);
}

static bool heap_ready(void)
{
    if (heap)
        return true;
    size_t bytes;
    void *first = run_new(HK_LIBALLOC_FIRST_PAGES, &bytes);
    if (!first)
        return false;
    hk_heap_config_t c = {0};
    c.grow = grow;
    heap = hk_heap_init(first, bytes, &c);
    if (!heap) {
        runs = NULL;
        liballoc_free((char *)first - RUN_HDR, HK_LIBALLOC_FIRST_PAGES);
    }
    return heap != NULL;
}

static big_t *big_of(void *p)
{
    uintptr_t a = (uintptr_t)p;
    if (a < BIG_HDR || ((a - BIG_HDR) & (PS - 1u)))
        return NULL;
    big_t *b = (big_t *)(a - BIG_HDR);
    for (big_t *q = bigs; q; q = q->next)
        if (q == b)
            return b->magic == BIG_MAGIC ? b : NULL;
    return NULL;
}

static void *big_alloc(size_t size)
{
    if (size > SIZE_MAX - BIG_HDR - PS)
        return NULL;
    size_t pages = (size + BIG_HDR + PS - 1u) / PS;
    big_t *b = liballoc_alloc(pages);
    if (!b)
        return NULL;
    b->magic = BIG_MAGIC;
    b->pages = pages;
    b->size = size;
    b->prev = NULL;
    b->next = bigs;
    if (bigs)
        bigs->prev = b;
    bigs = b;
    big_bytes += pages * PS;
    if (big_bytes > big_peak)
        big_peak = big_bytes;
    return (char *)b + BIG_HDR;
}

static void big_free(big_t *b)
{
    if (b->prev)
        b->prev->next = b->next;
    else
        bigs = b->next;
    if (b->next)
        b->next->prev = b->prev;
    b->magic = 0;
    big_bytes -= b->pages * PS;
    liballoc_free(b, b->pages);
}

static void *alloc_locked(size_t size)
{
    if (size == 0)
        return NULL;
    if (size >= HK_LIBALLOC_BIG_PAGES * PS)
        return big_alloc(size);
    return heap_ready() ? hk_heap_alloc(heap, size) : NULL;
}

static void free_locked(void *p)
{
    big_t *b = big_of(p);
    if (b)
        big_free(b);
    else if (heap)
        hk_heap_free(heap, p); /* a foreign pointer is reported there */
    else
        hk__report(HK_EBADPTR, p, "liballoc: free before any allocation");
}

void *HK_LIBALLOC_PREFIX(malloc)(size_t size)
{
    liballoc_lock();
    void *p = alloc_locked(size);
    liballoc_unlock();
    return p;
}

void HK_LIBALLOC_PREFIX(free)(void *p)
{
    if (!p)
        return;
    liballoc_lock();
    free_locked(p);
    liballoc_unlock();
}

void *HK_LIBALLOC_PREFIX(calloc)(size_t n, size_t size)
{
    if (size && n > SIZE_MAX / size)
        return NULL;
    void *p = HK_LIBALLOC_PREFIX(malloc)(n * size);
    if (p)
        hk__memset(p, 0, n * size);
    return p;
}

void *HK_LIBALLOC_PREFIX(realloc)(void *p, size_t size)
{
    if (!p)
        return HK_LIBALLOC_PREFIX(malloc)(size);
    if (!size) {
        HK_LIBALLOC_PREFIX(free)(p);
        return NULL;
    }
    liballoc_lock();
    big_t *b = big_of(p);
    void *q = NULL;
    if (!b && size < HK_LIBALLOC_BIG_PAGES * PS && heap) {
        q = hk_heap_realloc(heap, p, size); /* in place when it can */
    } else {
        size_t old = b ? b->size : (heap ? hk_heap_usable_size(heap, p) : 0);
        if (b && size <= b->pages * PS - BIG_HDR) {
            b->size = size;
            q = p;
        } else if (old && (q = alloc_locked(size)) != NULL) {
            hk__memcpy(q, p, old < size ? old : size);
            free_locked(p);
        }
    }
    liballoc_unlock();
    return q;
}

void HK_LIBALLOC_PREFIX(malloc_stats)(hk_stats_t *out)
{
    if (!out)
        return;
    liballoc_lock();
    hk__memset(out, 0, sizeof *out);
    if (heap)
        hk_heap_get_stats(heap, out);
    out->used += big_bytes;
    out->peak_used += big_peak;
    liballoc_unlock();
}

int HK_LIBALLOC_PREFIX(malloc_validate)(void)
{
    liballoc_lock();
    int rc = heap ? hk_heap_validate(heap) : 0;
    size_t sum = 0;
    for (big_t *b = bigs; !rc && b; b = b->next) {
        if (b->magic != BIG_MAGIC || (b->next && b->next->prev != b) || b->size > b->pages * PS - BIG_HDR)
            rc = HK_ECORRUPT;
        sum += b->pages * PS;
    }
    if (!rc && sum != big_bytes)
        rc = HK_ECORRUPT;
    liballoc_unlock();
    if (rc == HK_ECORRUPT)
        hk__report(rc, bigs, "liballoc: big-block list damaged");
    return rc;
}

void HK_LIBALLOC_PREFIX(malloc_release)(void)
{
    liballoc_lock();
    while (bigs)
        big_free(bigs);
    while (runs) {
        run_t *r = runs;
        runs = r->next;
        liballoc_free(r, r->pages);
    }
    heap = NULL;
    big_peak = 0;
    liballoc_unlock();
}
