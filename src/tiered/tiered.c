/* SPDX-License-Identifier: MIT */
/*
 * tiered.c - size classes in front of a heap.
 *
 * How it works
 * ------------
 * Most allocations in embedded code are small and of a handful of sizes
 * (messages, list nodes, buffers descriptors). A pool per size class serves
 * them in O(1) with no header and no fragmentation; the few large or odd
 * requests go to a general heap. This is the segregated-fit front end of
 * every modern allocator (Wilson et al., "Dynamic Storage Allocation: A
 * Survey and Critical Review", 1995, section 3.6; mimalloc's and jemalloc's
 * small size classes), with static class sizes chosen by the integrator.
 *
 * Memory layout (one caller region):
 *
 *   | struct hk_tiered + pools[n] | route[] | owner[] | bitmaps |pad| class 0 pages | class 1 ...
 *                                                                    ^ lo                     hi ^
 *
 * Routing by size: all class sizes are multiples of a granule g (the largest
 * power of two dividing every one of them, at most 16), so route[(s+g-1)/g]
 * is the smallest class that holds s -- one table load instead of a search.
 * E.g. classes 16/32/64: g = 16, route = {0,0,1,2,2,3..}: s = 40 -> entry 3
 * -> class 2 (64).
 *
 * Routing by address: the area [lo, hi) is cut into pages of P bytes (a power
 * of two); each class owns a whole run of pages, and owner[(p - lo) / P] is
 * the class of the page holding p. A class's pool covers all of its pages,
 * so it usually gets a few more blocks than asked for instead of leaving the
 * end of its last page unused.
 *
 * Double frees: each class pool has a bitmap (one bit per block, carved
 * from the same memory), so every double free of a class block is reported
 * and the free list is never corrupted by one -- this is a malloc-style API,
 * called from code that makes malloc-style mistakes.
 *
 * Locking: one lock around each call. Pools inside are lock-free (the
 * inline pop/push of src/pool/pool_impl.h), so the fast path is: lock, table
 * load, pop, unlock.
 */
#include "common/hk_internal.h"
#include "common/hk_stats.h"
#include "heapkit/tiered.h"
#include "pool/pool_impl.h"
#include "tiered/tiered_impl.h"


/* Everything init derives from a configuration. */
typedef struct {
    size_t ctl, route_n, npages, bm_off, bm_words, area_off, total;
    size_t pages[HK_TIERED_MAX_CLASSES], align[HK_TIERED_MAX_CLASSES];
    size_t words[HK_TIERED_MAX_CLASSES];
    unsigned gshift, pshift;
} layout_t;

static size_t class_align(size_t size)
{
    size_t a = size & (~size + 1u); /* lowest set bit */
    if (a > HK_ALIGN)
        a = HK_ALIGN;
    return a < sizeof(void *) ? sizeof(void *) : a;
}

static int layout(const hk_tiered_config_t *cfg, layout_t *L, const char **why)
{
    *why = "tiered: NULL config or classes";
    if (!cfg || !cfg->classes)
        return HK_EINVAL;
    *why = "tiered: class count outside 1..HK_TIERED_MAX_CLASSES";
    size_t n = cfg->nclasses;
    if (n == 0 || n > HK_TIERED_MAX_CLASSES)
        return HK_EINVAL;
    size_t page = cfg->page ? cfg->page : 256u;
    *why = "tiered: page must be a power of two >= HK_ALIGN";
    if (!hk__is_pow2(page) || page < HK_ALIGN || page > ((size_t)1 << (sizeof(size_t) * 8 - 2)))
        return HK_EINVAL;
    size_t orall = 0;
    for (size_t i = 0; i < n; i++) {
        const hk_tiered_class_t *c = &cfg->classes[i];
        *why = "tiered: class size below a pointer, above HK_TIERED_MAX_CLASS_SIZE, "
               "or not ascending; or count 0";
        if (c->size < sizeof(void *) || c->size > HK_TIERED_MAX_CLASS_SIZE || c->count == 0
            || (i && c->size <= cfg->classes[i - 1].size))
            return HK_EINVAL;
        orall |= c->size;
    }
    size_t g = orall & (~orall + 1u);
    if (g > 16u)
        g = 16u;
    L->gshift = hk__ffs(g);
    L->pshift = hk__ffs(page);
    L->route_n = (cfg->classes[n - 1].size >> L->gshift) + 1u;
    L->npages = 0;
    *why = "tiered: class count * size overflows";
    for (size_t i = 0; i < n; i++) {
        size_t a = class_align(cfg->classes[i].size);
        size_t stride = hk__align_up(cfg->classes[i].size, a);
        if (cfg->classes[i].count > (SIZE_MAX - page) / stride)
            return HK_ERANGE;
        size_t pg = (cfg->classes[i].count * stride + page - 1u) >> L->pshift;
        if (pg > SIZE_MAX / 2 - L->npages)
            return HK_ERANGE;
        L->align[i] = a;
        L->pages[i] = pg;
        L->npages += pg;
        /* the pool gets every block of its pages: one bit each */
        L->words[i] = HK_POOL_BITMAP_WORDS((pg << L->pshift) / stride);
    }
    L->ctl = sizeof(struct hk_tiered) + n * sizeof(hk_pool_t);
    L->bm_off = hk__align_up(L->ctl + L->route_n + L->npages, sizeof(uint32_t));
    L->bm_words = 0;
    for (size_t i = 0; i < n; i++)
        L->bm_words += L->words[i]; /* <= npages * page / 32: no overflow */
    size_t off = L->bm_off + L->bm_words * sizeof(uint32_t);
    L->area_off = hk__align_up(off, HK_ALIGN);
    if (L->npages > (SIZE_MAX - L->area_off) >> L->pshift)
        return HK_ERANGE;
    L->total = L->area_off + (L->npages << L->pshift);
    return HK_OK;
}

size_t hk_tiered_mem_size(const hk_tiered_config_t *cfg)
{
    layout_t L;
    const char *why;
    return layout(cfg, &L, &why) == HK_OK ? L.total : 0;
}

hk_tiered_t *hk_tiered_init(void *mem, size_t bytes, const hk_tiered_config_t *cfg)
{
    layout_t L;
    const char *why;
    int rc = layout(cfg, &L, &why);
    if (rc == HK_OK && !mem) {
        rc = HK_EINVAL;
        why = "tiered: NULL memory";
    }
    if (rc != HK_OK) {
        hk__report(rc, mem, why);
        return NULL;
    }
    uintptr_t start = hk__align_up_ptr((uintptr_t)mem, HK_ALIGN);
    size_t slack = (size_t)(start - (uintptr_t)mem);
    if (start < (uintptr_t)mem || slack > bytes || bytes - slack < L.total
        || (uintptr_t)mem + bytes < (uintptr_t)mem) {
        hk__report(HK_ENOMEM, mem, "tiered: memory smaller than hk_tiered_mem_size()");
        return NULL;
    }
    unsigned char *base = (unsigned char *)mem + slack;
    hk_tiered_t *t = (hk_tiered_t *)(void *)base;
    hk__memset(t, 0, L.ctl);
    t->nclasses = cfg->nclasses;
    t->route = base + L.ctl;
    t->owner = t->route + L.route_n;
    t->route_n = L.route_n;
    t->npages = L.npages;
    t->gshift = L.gshift;
    t->pshift = L.pshift;
    t->lo = base + L.area_off;
    t->hi = t->lo + (L.npages << L.pshift);
    t->max_small = cfg->classes[cfg->nclasses - 1].size;
    t->fallback = cfg->fallback;
    t->spill = cfg->spill;
    if (cfg->lock)
        t->lock = *cfg->lock;
    size_t page0 = 0, c = 0;
    uint32_t *bm = (uint32_t *)(void *)(base + L.bm_off);
    for (size_t i = 0; i < t->nclasses; i++) {
        size_t pbytes = L.pages[i] << L.pshift;
        hk_pool_config_t pc = { NULL, bm, L.words[i] };
        bm += L.words[i];
        rc = hk_pool_init(&t->pools[i], t->lo + (page0 << L.pshift), pbytes,
                          cfg->classes[i].size, L.align[i], &pc);
        HK_ASSERT(rc == HK_OK && hk_pool_count(&t->pools[i]) >= cfg->classes[i].count);
        (void)rc;
        for (size_t k = 0; k < L.pages[i]; k++)
            t->owner[page0 + k] = (uint8_t)i;
        page0 += L.pages[i];
    }
    for (size_t j = 0; j < L.route_n; j++) {
        size_t s = j << L.gshift;
        while (c < t->nclasses && cfg->classes[c].size < s)
            c++;
        t->route[j] = (uint8_t)c;
    }
    t->magic = TIERED_MAGIC;
    return t;
}

/* ---- the fast paths ---------------------------------------------------- */
static void *tiered_alloc_locked(hk_tiered_t *t, size_t size)
{
    void *p = NULL;
    if (HK_LIKELY(size <= t->max_small)) {
        size_t c = t->route[(size + (((size_t)1 << t->gshift) - 1u)) >> t->gshift];
        p = pool_pop(&t->pools[c]);
        if (HK_UNLIKELY(!p) && t->spill) {
            while (!p && ++c < t->nclasses)
                p = pool_pop(&t->pools[c]);
            t->spilled += p != NULL;
        }
    }
    if (!p && t->fallback) {
        p = hk_heap_alloc(t->fallback, size);
        t->to_heap += p != NULL;
    }
    if (HK_LIKELY(p != NULL))
        t->allocs++;
    else
        t->failed++;
    return p;
}

void *hk_tiered_alloc(hk_tiered_t *t, size_t size)
{
    if (HK_UNLIKELY(!t)) {
        hk__report(HK_EINVAL, NULL, "tiered alloc: NULL allocator");
        return NULL;
    }
    uintptr_t lk_saved = hk__lock(&t->lock);
    void *p = tiered_alloc_locked(t, size);
    hk__unlock(&t->lock, lk_saved);
    return p;
}

/* The pool owning p (in the class area), or NULL after reporting. */
static hk_pool_t *tiered_pool_of(hk_tiered_t *t, const void *p)
{
    size_t c = t->owner[(size_t)((const unsigned char *)p - t->lo) >> t->pshift];
    if (HK_UNLIKELY(c >= t->nclasses)) {
        hk__report(HK_ECORRUPT, p, "tiered: owner table damaged");
        return NULL;
    }
    hk_pool_t *pool = &t->pools[c];
    if (HK_UNLIKELY(!hk_pool_owns(pool, p))) {
        hk__report(HK_EBADPTR, p, "tiered: pointer in a class's unused page tail");
        return NULL;
    }
    return pool;
}

static void tiered_free_locked(hk_tiered_t *t, void *p)
{
    if (HK_LIKELY((unsigned char *)p >= t->lo && (unsigned char *)p < t->hi)) {
        hk_pool_t *pool = tiered_pool_of(t, p);
        if (pool && (HK_LIKELY(pool_free_ok(pool, p)) || hk__pool_check_free(pool, p))) {
            pool_push(pool, p);
            t->frees++;
        }
    } else if (t->fallback) {
        uint64_t errs = hk_error_count();
        hk_heap_free(t->fallback, p);
        t->frees += hk_error_count() == errs;
    } else {
        hk__report(HK_EBADPTR, p, "tiered: pointer outside the classes and no fallback heap");
    }
}

void hk_tiered_free(hk_tiered_t *t, void *p)
{
    if (!p)
        return;
    if (HK_UNLIKELY(!t)) {
        hk__report(HK_EINVAL, p, "tiered free: NULL allocator");
        return;
    }
    uintptr_t lk_saved = hk__lock(&t->lock);
    tiered_free_locked(t, p);
    hk__unlock(&t->lock, lk_saved);
}

static size_t tiered_usable_locked(hk_tiered_t *t, const void *p)
{
    if ((const unsigned char *)p >= t->lo && (const unsigned char *)p < t->hi) {
        hk_pool_t *pool = tiered_pool_of(t, p);
        if (pool && (!pool_on_boundary(pool, p) || (const unsigned char *)p >= pool->bump)) {
            hk__report(HK_EBADPTR, p, "tiered: not the start of a class block (interior pointer?)");
            pool = NULL;
        }
        return pool ? pool->block_size : 0;
    }
    if (t->fallback)
        return hk_heap_usable_size(t->fallback, p);
    hk__report(HK_EBADPTR, p, "tiered: pointer outside the classes and no fallback heap");
    return 0;
}

size_t hk_tiered_usable_size(hk_tiered_t *t, const void *p)
{
    if (!t || !p)
        return 0;
    uintptr_t lk_saved = hk__lock(&t->lock);
    size_t n = tiered_usable_locked(t, p);
    hk__unlock(&t->lock, lk_saved);
    return n;
}

void *hk_tiered_calloc(hk_tiered_t *t, size_t n, size_t size)
{
    if (size && n > SIZE_MAX / size) {
        if (t) {
            uintptr_t lk_saved = hk__lock(&t->lock);
            t->failed++;
            hk__unlock(&t->lock, lk_saved);
        }
        return NULL;
    }
    void *p = hk_tiered_alloc(t, n * size);
    if (p)
        hk__memset(p, 0, n * size);
    return p;
}

void *hk_tiered_realloc(hk_tiered_t *t, void *p, size_t size)
{
    if (!p)
        return hk_tiered_alloc(t, size);
    if (!t) {
        hk__report(HK_EINVAL, p, "tiered realloc: NULL allocator");
        return NULL;
    }
    if (size == 0) {
        hk_tiered_free(t, p);
        return NULL;
    }
    uintptr_t lk_saved = hk__lock(&t->lock);
    void *q = NULL;
    bool in_class = (unsigned char *)p >= t->lo && (unsigned char *)p < t->hi;
    uint64_t errs = hk_error_count();
    size_t old = tiered_usable_locked(t, p);
    if (old == 0 && hk_error_count() != errs) {
        q = NULL; /* reported (0 alone is a 0-byte block of the heap) */
    } else if (!in_class && size > t->max_small) {
        q = hk_heap_realloc(t->fallback, p, size); /* large stays large */
        if (!q) {
            t->failed++;
        } else if (q != p) { /* the heap moved it: one alloc and one free */
            t->allocs++;
            t->frees++;
        }
    } else if (in_class && size <= old) {
        q = p;
    } else {
        q = tiered_alloc_locked(t, size);
        if (q) {
            hk__memcpy(q, p, old < size ? old : size);
            tiered_free_locked(t, p);
        }
    }
    hk__unlock(&t->lock, lk_saved);
    return q;
}

bool hk_tiered_owns(const hk_tiered_t *t, const void *p)
{
    return t && (const unsigned char *)p >= t->lo && (const unsigned char *)p < t->hi;
}

size_t hk_tiered_class_count(const hk_tiered_t *t)
{
    return t ? t->nclasses : 0;
}

void hk_tiered_class_stats(hk_tiered_t *t, size_t i, hk_stats_t *out)
{
    if (!out)
        return;
    if (!t || i >= t->nclasses) {
        hk__memset(out, 0, sizeof *out);
        return;
    }
    uintptr_t lk_saved = hk__lock(&t->lock);
    hk_pool_get_stats(&t->pools[i], out);
    hk__unlock(&t->lock, lk_saved);
}

void hk_tiered_get_stats(hk_tiered_t *t, hk_stats_t *out)
{
    if (!out)
        return;
    hk__memset(out, 0, sizeof *out);
    if (!t)
        return;
    uintptr_t lk_saved = hk__lock(&t->lock);
    hk_stats_t s;
    for (size_t i = 0; i < t->nclasses; i++) {
        hk_pool_get_stats(&t->pools[i], &s);
        s.largest_free = s.smallest_free = s.free_blocks ? t->pools[i].block_size : 0;
        hk__stats_add(out, &s);
    }
    if (t->fallback) {
        hk_heap_get_stats(t->fallback, &s);
        hk__stats_add(out, &s);
    }
    out->allocs = t->allocs;
    out->frees = t->frees;
    out->failed_allocs = t->failed;
    hk__unlock(&t->lock, lk_saved);
}

/* ---- validation -------------------------------------------------------- */
static const char *tiered_check(const hk_tiered_t *t, const void **where)
{
    size_t n = t->nclasses;
    *where = t;
    if (n == 0 || n > HK_TIERED_MAX_CLASSES || t->hi < t->lo
        || (size_t)(t->hi - t->lo) >> t->pshift != t->npages
        || t->max_small != t->pools[n - 1].block_size)
        return "tiered: control structure damaged";
    for (size_t i = 0; i < n; i++) {
        const hk_pool_t *p = &t->pools[i];
        *where = p;
        if (p->base < t->lo || p->end > t->hi || ((size_t)(p->base - t->lo) & (((size_t)1 << t->pshift) - 1u))
            || (i && (p->base < t->pools[i - 1].end || p->block_size <= t->pools[i - 1].block_size)))
            return "tiered: class pools out of place";
    }
    for (size_t k = 0; k < t->npages; k++) {
        size_t c = t->owner[k];
        const unsigned char *a = t->lo + (k << t->pshift);
        *where = a;
        if (c >= n || a < t->pools[c].base || a >= (c + 1 < n ? t->pools[c + 1].base : t->hi))
            return "tiered: owner table names the wrong class";
    }
    *where = t->route;
    for (size_t j = 0; j < t->route_n; j++) {
        size_t c = t->route[j], s = j << t->gshift;
        if (c >= n || t->pools[c].block_size < s || (c && t->pools[c - 1].block_size >= s && s))
            return "tiered: size routing table damaged";
    }
    return NULL;
}

int hk_tiered_validate(hk_tiered_t *t)
{
    if (!t || t->magic != TIERED_MAGIC) {
        hk__report(HK_EINVAL, t, "tiered validate: NULL or not an initialised allocator");
        return HK_EINVAL;
    }
    uintptr_t lk_saved = hk__lock(&t->lock);
    const void *where;
    const char *why = tiered_check(t, &where);
    int rc = HK_OK;
    if (why) {
        hk__report(HK_ECORRUPT, where, why);
        rc = HK_ECORRUPT;
    }
    for (size_t i = 0; rc == HK_OK && i < t->nclasses; i++)
        rc = hk_pool_validate(&t->pools[i]) == HK_OK ? HK_OK : HK_ECORRUPT;
    if (rc == HK_OK && t->fallback)
        rc = hk_heap_validate(t->fallback) == HK_OK ? HK_OK : HK_ECORRUPT;
    hk__unlock(&t->lock, lk_saved);
    return rc;
}
