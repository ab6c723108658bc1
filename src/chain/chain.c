/* SPDX-License-Identifier: MIT */
/*
 * chain.c - an ordered list of heaps with capabilities and priorities.
 *
 * How it works
 * ------------
 * Microcontrollers and SoCs have several kinds of RAM: tightly coupled SRAM
 * that is fast but small, DMA-capable SRAM, external SDRAM or PSRAM that is
 * big but slow, retention RAM. ESP-IDF's heap_caps_malloc popularised the
 * interface: each region is tagged with what it can do, and a request names
 * what it needs; the allocator tries the matching regions in a preference
 * order and falls back down the list.
 *
 * Here each region is an hk_heap. The entries are kept sorted by priority
 * (highest first; an insertion sort on add, stable, so equal priorities keep
 * their order of addition), which makes alloc a single pass:
 *
 *     for each entry in order:
 *         if entry.caps has all of caps and entry.priority >= min_priority:
 *             p = hk_heap_alloc(entry.heap, size); if p: return p
 *
 * and every allocation that did not come from the first eligible heap is
 * counted as a fallback, the figure that tells an integrator a fast region
 * is too small. Free needs the owner: each entry remembers the region it was
 * made over ([lo, hi)); regions are disjoint (checked on add), so at most one
 * range holds p. A grow hook is refused because memory it brings in would
 * lie outside every range.
 */
#include "common/hk_internal.h"
#include "common/hk_stats.h"
#include "heapkit/chain.h"

static uintptr_t chain_lock(const hk_chain_t *c)
{
    return hk__lock(&c->lock);
}

static void chain_unlock(const hk_chain_t *c, uintptr_t lk_saved)
{
    hk__unlock(&c->lock, lk_saved);
}

static bool entry_fits(const hk_chain_entry_t *e, uint32_t caps, int min_priority)
{
    return (e->caps & caps) == caps && e->priority >= min_priority;
}

static int owner_locked(const hk_chain_t *c, const void *p)
{
    uintptr_t a = (uintptr_t)p;
    for (size_t i = 0; i < c->n; i++)
        if (a >= c->e[i].lo && a < c->e[i].hi)
            return (int)i;
    return -1;
}

int hk_chain_init(hk_chain_t *chain, const hk_lock_t *lock)
{
    if (!chain) {
        hk__report(HK_EINVAL, NULL, "chain init: NULL chain");
        return HK_EINVAL;
    }
    hk__memset(chain, 0, sizeof *chain);
    if (lock)
        chain->lock = *lock;
    return HK_OK;
}

int hk_chain_add_region(hk_chain_t *chain, void *mem, size_t bytes, uint32_t caps, int priority,
                        const hk_heap_config_t *cfg)
{
    if (!chain || !mem || (cfg && cfg->grow)) {
        hk__report(HK_EINVAL, mem, "chain add: NULL chain or memory, or a grow hook");
        return HK_EINVAL;
    }
    uintptr_t lo = (uintptr_t)mem, hi = lo + bytes;
    if (hi < lo) {
        hk__report(HK_EINVAL, mem, "chain add: region wraps around the address space");
        return HK_EINVAL;
    }
    uintptr_t lk_saved = chain_lock(chain);
    int rc;
    if (chain->n == HK_CHAIN_MAX_HEAPS) {
        hk__report(HK_ERANGE, mem, "chain add: HK_CHAIN_MAX_HEAPS heaps already");
        rc = HK_ERANGE;
        goto out;
    }
    for (size_t i = 0; i < chain->n; i++) {
        if (lo < chain->e[i].hi && chain->e[i].lo < hi) {
            hk__report(HK_EOVERLAP, mem, "chain add: region overlaps a heap of the chain");
            rc = HK_EOVERLAP;
            goto out;
        }
    }
    hk_heap_t *h = hk_heap_init(mem, bytes, cfg);
    if (!h) {
        rc = HK_EINVAL; /* reported by the heap */
        goto out;
    }
    size_t at = chain->n;
    while (at > 0 && chain->e[at - 1].priority < priority) {
        chain->e[at] = chain->e[at - 1];
        at--;
    }
    hk_chain_entry_t *e = &chain->e[at];
    e->heap = h;
    e->lo = lo;
    e->hi = hi;
    e->caps = caps;
    e->priority = priority;
    e->served = 0;
    chain->n++;
    rc = (int)at;
out:
    chain_unlock(chain, lk_saved);
    return rc;
}

static void *alloc_locked(hk_chain_t *c, size_t align, size_t size, uint32_t caps, int min_priority)
{
    bool first = true;
    for (size_t i = 0; i < c->n; i++) {
        hk_chain_entry_t *e = &c->e[i];
        if (!entry_fits(e, caps, min_priority))
            continue;
        void *p = align ? hk_heap_aligned_alloc(e->heap, align, size) : hk_heap_alloc(e->heap, size);
        if (p) {
            e->served++;
            c->allocs++;
            c->fallbacks += !first;
            return p;
        }
        first = false;
    }
    c->failed++;
    return NULL;
}

void *hk_chain_alloc(hk_chain_t *chain, size_t size, uint32_t caps, int min_priority)
{
    if (!chain) {
        hk__report(HK_EINVAL, NULL, "chain alloc: NULL chain");
        return NULL;
    }
    uintptr_t lk_saved = chain_lock(chain);
    void *p = alloc_locked(chain, 0, size, caps, min_priority);
    chain_unlock(chain, lk_saved);
    return p;
}

void *hk_chain_aligned_alloc(hk_chain_t *chain, size_t align, size_t size, uint32_t caps,
                             int min_priority)
{
    if (!chain) {
        hk__report(HK_EINVAL, NULL, "chain alloc: NULL chain");
        return NULL;
    }
    if (!hk__is_pow2(align)) {
        uintptr_t lk_saved = chain_lock(chain);
        chain->failed++;
        chain_unlock(chain, lk_saved);
        return NULL;
    }
    uintptr_t lk_saved = chain_lock(chain);
    void *p = alloc_locked(chain, align, size, caps, min_priority);
    chain_unlock(chain, lk_saved);
    return p;
}

static void free_locked(hk_chain_t *c, void *p)
{
    int i = owner_locked(c, p);
    if (i < 0) {
        hk__report(HK_EBADPTR, p, "chain free: pointer in no heap of the chain");
        return;
    }
    uint64_t errs = hk_error_count();
    hk_heap_free(c->e[i].heap, p);
    c->frees += hk_error_count() == errs;
}

void hk_chain_free(hk_chain_t *chain, void *p)
{
    if (!p)
        return;
    if (!chain) {
        hk__report(HK_EINVAL, p, "chain free: NULL chain");
        return;
    }
    uintptr_t lk_saved = chain_lock(chain);
    free_locked(chain, p);
    chain_unlock(chain, lk_saved);
}

void *hk_chain_realloc(hk_chain_t *chain, void *p, size_t size, uint32_t caps, int min_priority)
{
    if (!p)
        return hk_chain_alloc(chain, size, caps, min_priority);
    if (!chain) {
        hk__report(HK_EINVAL, p, "chain realloc: NULL chain");
        return NULL;
    }
    if (size == 0) {
        hk_chain_free(chain, p);
        return NULL;
    }
    uintptr_t lk_saved = chain_lock(chain);
    void *q = NULL;
    int i = owner_locked(chain, p);
    if (i < 0) {
        hk__report(HK_EBADPTR, p, "chain realloc: pointer in no heap of the chain");
        goto out;
    }
    hk_chain_entry_t *e = &chain->e[i];
    uint64_t errs = hk_error_count();
    size_t old = hk_heap_usable_size(e->heap, p);
    if (old == 0 && hk_error_count() != errs)
        goto out; /* not a live block: reported by the heap (0 alone is a 0-byte block) */
    if (entry_fits(e, caps, min_priority) && (q = hk_heap_realloc(e->heap, p, size)) != NULL) {
        if (q != p) { /* moved inside its heap: one allocation and one free */
            e->served++;
            chain->allocs++;
            chain->frees++;
        }
        goto out;
    }
    q = alloc_locked(chain, 0, size, caps, min_priority);
    if (q) {
        hk__memcpy(q, p, old < size ? old : size);
        free_locked(chain, p);
    }
out:
    chain_unlock(chain, lk_saved);
    return q;
}

int hk_chain_owner(hk_chain_t *chain, const void *p)
{
    if (!chain)
        return -1;
    uintptr_t lk_saved = chain_lock(chain);
    int i = owner_locked(chain, p);
    chain_unlock(chain, lk_saved);
    return i;
}

size_t hk_chain_count(const hk_chain_t *chain)
{
    return chain ? chain->n : 0;
}

uint64_t hk_chain_fallbacks(const hk_chain_t *chain)
{
    if (!chain)
        return 0;
    uintptr_t lk_saved = chain_lock(chain);
    uint64_t n = chain->fallbacks; /* 64 bits: two loads on 32-bit targets */
    chain_unlock(chain, lk_saved);
    return n;
}

hk_heap_t *hk_chain_heap(const hk_chain_t *chain, size_t i)
{
    return chain && i < chain->n ? chain->e[i].heap : NULL;
}

uint32_t hk_chain_caps(const hk_chain_t *chain, size_t i)
{
    return chain && i < chain->n ? chain->e[i].caps : 0;
}

void hk_chain_heap_stats(hk_chain_t *chain, size_t i, hk_stats_t *out)
{
    if (!out)
        return;
    hk__memset(out, 0, sizeof *out);
    if (!chain)
        return;
    uintptr_t lk_saved = chain_lock(chain);
    if (i < chain->n)
        hk_heap_get_stats(chain->e[i].heap, out);
    chain_unlock(chain, lk_saved);
}

void hk_chain_get_stats(hk_chain_t *chain, uint32_t caps, hk_stats_t *out)
{
    if (!out)
        return;
    hk__memset(out, 0, sizeof *out);
    if (!chain)
        return;
    uintptr_t lk_saved = chain_lock(chain);
    uint64_t served = 0;
    for (size_t i = 0; i < chain->n; i++) {
        if ((chain->e[i].caps & caps) != caps)
            continue;
        hk_stats_t s;
        hk_heap_get_stats(chain->e[i].heap, &s);
        hk__stats_add(out, &s);
        served += chain->e[i].served;
    }
    if (caps == 0) {
        out->allocs = chain->allocs;
        out->frees = chain->frees;
        out->failed_allocs = chain->failed;
    } else {
        out->allocs = served;
    }
    chain_unlock(chain, lk_saved);
}

int hk_chain_validate(hk_chain_t *chain)
{
    if (!chain) {
        hk__report(HK_EINVAL, NULL, "chain validate: NULL chain");
        return HK_EINVAL;
    }
    uintptr_t lk_saved = chain_lock(chain);
    const char *why = NULL;
    const void *where = chain;
    if (chain->n > HK_CHAIN_MAX_HEAPS)
        why = "chain: heap count damaged";
    for (size_t i = 0; !why && i < chain->n; i++) {
        const hk_chain_entry_t *e = &chain->e[i];
        where = e;
        if (!e->heap || e->lo >= e->hi || (uintptr_t)e->heap < e->lo || (uintptr_t)e->heap >= e->hi)
            why = "chain: entry's heap outside its region";
        else if (i && chain->e[i - 1].priority < e->priority)
            why = "chain: heaps out of priority order";
        for (size_t j = 0; !why && j < i; j++)
            if (e->lo < chain->e[j].hi && chain->e[j].lo < e->hi)
                why = "chain: regions overlap";
    }
    int rc = HK_OK;
    if (why) {
        hk__report(HK_ECORRUPT, where, why);
        rc = HK_ECORRUPT;
    }
    for (size_t i = 0; rc == HK_OK && i < chain->n; i++)
        if (hk_heap_validate(chain->e[i].heap) != HK_OK)
            rc = HK_ECORRUPT;
    chain_unlock(chain, lk_saved);
    return rc;
}
