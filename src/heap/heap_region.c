/* SPDX-License-Identifier: MIT */
/*
 * heap_region.c - creating a heap, sizing its control structure, adding
 * regions (by hand or through the growth hook).
 *
 * With HK_HEAP_REGIONS 0 a heap is the one region given to hk_heap_init:
 * no region list to keep in address order, no overlap checks, and
 * hk_heap_add_region only reports that it is compiled out. With
 * HK_HEAP_GROW 0 the growth hook is compiled out too (config.h).
 */
#include "heap/index.h"

/* ---- sizes of the control structure -------------------------------------- */
static bool config_ok(const hk_heap_config_t *cfg)
{
    if (!cfg)
        return true;
    switch (cfg->fit) {
    case HK_FIT_TLSF: break;
#if HK_ENABLE_FIRST_FIT
    case HK_FIT_FIRST: break;
#endif
#if HK_ENABLE_BEST_FIT
    case HK_FIT_BEST: break;
#endif
    default: return false;
    }
    if (cfg->lock && (!cfg->lock->lock != !cfg->lock->unlock))
        return false;
#if !HK_EVENTS
    if (cfg->event) /* an event hook asked for, but compiled out */
        return false;
#endif
#if !HK_HEAP_GROW
    if (cfg->grow) /* a growth hook asked for, but compiled out */
        return false;
#endif
    return true;
}

/* The shape of a heap's TLSF class table: its second-level index, its
 * first-level count (0: a list policy, no table). */
typedef struct {
    unsigned sli, fl_count;
} table_t;

static table_t table_for(size_t bytes, const hk_heap_config_t *cfg)
{
    table_t t = { 0, 0 };
    if (cfg && cfg->fit != HK_FIT_TLSF)
        return t;
    /* Derived from the region: its blocks are smaller than `bytes`, and at
     * most two of them are above 3/8 of it, so the classes stop at the
     * first level of bytes / 2; the larger blocks share the top class,
     * whose search is then complete but at most two blocks long. */
    size_t span = bytes ? bytes - 1 : 0, cover = span >> 1;
    if (cfg && cfg->class_span)
        span = cover = cfg->class_span;
#if HK_HEAP_GROW
    else if (cfg && cfg->grow)
        span = cover = SIZE_MAX >> 1;
#endif
    t.sli = tlsf_sli_for(span);
    t.fl_count = tlsf_fl_count_for(cover, t.sli);
    return t;
}

/* Bytes of the heap object and its table: the list heads of the classes
 * from HK_TLSF_BIAS on, then one second-level bitmap per first level. */
static size_t heads_size(table_t t)
{
    return t.fl_count ? (((size_t)t.fl_count << t.sli) - HK_TLSF_BIAS) * sizeof(hk_block_t *) : 0;
}

static size_t control_size(table_t t)
{
    size_t s = sizeof(hk_heap_t) + heads_size(t) + (size_t)t.fl_count * sizeof(hk_slmap_t);
    return hk__align_up(s, _Alignof(hk_heap_t));
}

size_t hk_heap_overhead(size_t bytes, const hk_heap_config_t *cfg)
{
    if (!config_ok(cfg))
        return 0;
    return control_size(table_for(bytes, cfg));
}

/* Region bookkeeping around the blocks: up to G bytes to put the first
 * header at -W mod G, plus the end marker's word. */
#define HK_REGION_SLACK (HK_G + HK_W)

size_t hk_heap_min_size(void)
{
    /* The class table grows with the region, so find the fixed point. */
    size_t s = 0, prev;
    do {
        prev = s;
        s = control_size(table_for(s, NULL)) + HK_REGION_SLACK + block_size_for(0);
    } while (s != prev);
    return s;
}

/* ---- regions ------------------------------------------------------------- */
/* Lays out blocks in [lo, hi): one free block and the end marker. Returns the
 * free block, or NULL when the range cannot hold a minimum block. */
static hk_block_t *region_format(hk_region_t *r, uintptr_t lo, uintptr_t hi)
{
    uintptr_t first = hk__align_up_ptr(lo + HK_W, HK_G) - HK_W;
    uintptr_t end = (hi & ~(uintptr_t)(HK_G - 1)) - HK_W;
    if (hi < lo || end < first || end - first < HK_MIN_BLOCK || end + HK_W > hi)
        return NULL;
    r->first = first;
    r->end = end;
    hk_block_t *b = block_at(first);
    block_make_free(b, end - first);
    HK_DBG_FRESH_FREE(b, end - first);
    block_make_end(block_at(end), true);
    return b;
}

static void region_link(hk_heap_t *h, hk_region_t *r)
{
#if !HK_HEAP_REGIONS
    h->regions = r; /* the only one */
    h->lo = r->first;
    h->hi = r->end;
    h->nregions = 1;
    h->granules = ((r->end - r->first - HK_MIN_BLOCK) >> HK_LOG2_G) + 1u;
#else
    hk_region_t **pp = &h->regions;
    while (*pp && (*pp)->raw_lo < r->raw_lo)
        pp = &(*pp)->next;
    r->next = *pp;
    *pp = r;
    if (!h->nregions || r->first < h->lo)
        h->lo = r->first;
    if (!h->nregions || r->end > h->hi)
        h->hi = r->end;
    h->nregions++;
    h->granules = h->nregions == 1 ? ((h->hi - h->lo - HK_MIN_BLOCK) >> HK_LOG2_G) + 1u : 0;
#endif
}

/* The front's largest size for this heap: the sizes up to K granules, at
 * most HK_QUICK_DEPTH blocks each, may hold at most total >> HK_QUICK_SHARE
 * bytes (DEPTH * G * K(K+1)/2), so that a small heap is not fragmented by
 * parked blocks. TLSF at level 0 only: the list policies,
 * and every policy at the debug levels, coalesce at once. */
#if HK_QUICK_CLASSES
static void front_size(hk_heap_t *h)
{
    size_t k = 0;
    if (h->fit == HK_FIT_TLSF && HK_DEBUG == 0) {
        size_t budget = h->usage.total >> HK_QUICK_SHARE, cost = 0;
        while (k < HK_QUICK_CLASSES) {
            cost += (size_t)HK_QUICK_DEPTH * HK_G * (k + 1);
            if (cost > budget)
                break;
            k++;
        }
    }
    h->quick_max = k < HK_MIN_BLOCK / HK_G ? 0 : k * HK_G;
}
#endif

static void account_new_free(hk_heap_t *h, hk_block_t *b)
{
    size_t size = block_size(b);
#if HK_HEAP_REGIONS
    if (h->nregions != 1)
        hk__usage_grow(&h->usage, size); /* a new region never raises the low mark */
    else
#endif
        hk__usage_init(&h->usage, size);
#if HK_QUICK_CLASSES /* without a front, quick_max stays 0 from init */
    h->park_limit = (h->usage.total >> 4) * HK_QUICK_FILL;
    front_size(h);
#endif
    index_insert(h, b);
}

#if HK_HEAP_REGIONS
int hk__heap_add_region(hk_heap_t *h, void *mem, size_t bytes)
{
    uintptr_t lo = (uintptr_t)mem;
    if (!mem || bytes == 0 || lo + bytes < lo)
        return HK_EINVAL;
    uintptr_t hi = lo + bytes;
    for (const hk_region_t *r = h->regions; r; r = r->next)
        if (lo < r->raw_hi && r->raw_lo < hi)
            return HK_EOVERLAP;
    if (h->nregions == UINT16_MAX)
        return HK_ERANGE;
    uintptr_t desc = hk__align_up_ptr(lo, sizeof(void *));
    if (desc + sizeof(hk_region_t) > hi)
        return HK_EINVAL;
    hk_region_t tmp;
    hk_block_t *b = region_format(&tmp, desc + sizeof(hk_region_t), hi);
    if (!b)
        return HK_EINVAL;
    hk_region_t *r = (hk_region_t *)(void *)desc;
    *r = tmp;
    r->raw_lo = lo;
    r->raw_hi = hi;
    region_link(h, r);
    account_new_free(h, b);
    return HK_OK;
}

int hk_heap_add_region(hk_heap_t *h, void *mem, size_t bytes)
{
    if (!heap_handle_ok(h)) {
        hk__report(HK_EINVAL, h, HK_MSG("hk_heap_add_region: not a heap", "not a heap"));
        return HK_EINVAL;
    }
    uintptr_t lk_saved = hk__lock(&h->lock);
    int rc = hk__heap_add_region(h, mem, bytes);
    hk__unlock(&h->lock, lk_saved);
    if (rc)
        hk__report(rc, mem, rc == HK_EOVERLAP ? HK_MSG("region overlaps one of this heap", "bad region")
                                              : HK_MSG("region NULL, too small or wrapping", "bad region"));
    return rc;
}
#else
int hk__heap_add_region(hk_heap_t *h, void *mem, size_t bytes)
{
    (void)h, (void)mem, (void)bytes;
    return HK_ENOTSUP;
}

int hk_heap_add_region(hk_heap_t *h, void *mem, size_t bytes)
{
    (void)h, (void)bytes;
    hk__report(HK_ENOTSUP, mem, HK_MSG("hk_heap_add_region: compiled out (HK_HEAP_REGIONS 0)",
                                       "not supported"));
    return HK_ENOTSUP;
}
#endif

/* ---- init ---------------------------------------------------------------- */
hk_heap_t *hk_heap_init(void *mem, size_t bytes, const hk_heap_config_t *cfg)
{
    uintptr_t lo = (uintptr_t)mem;
    if (!mem || !config_ok(cfg) || lo + bytes < lo) {
        hk__report(HK_EINVAL, mem, HK_MSG("hk_heap_init: NULL memory or bad configuration", "bad argument"));
        return NULL;
    }
    hk_block_t *b;
    uintptr_t hi = lo + bytes;
    table_t t = table_for(bytes, cfg);
    uintptr_t base = hk__align_up_ptr(lo, _Alignof(hk_heap_t));
    size_t ctl = control_size(t);
    if (base > hi || hi - base < ctl + HK_REGION_SLACK + block_size_for(0))
        goto too_small;
    hk_heap_t *h = (hk_heap_t *)(void *)base;
    hk__memset(h, 0, ctl);
    h->fit = (uint8_t)(cfg ? cfg->fit : HK_FIT_TLSF);
#if HK_HEAP_TOP_CUT
    if (h->fit != HK_FIT_FIRST && !(cfg && cfg->bottom_cut))
        h->top_cut = (uint16_t)HK_HEAP_TOP_CUT;
#endif
    h->fl_count = (uint8_t)t.fl_count;
    h->nclasses = (uint16_t)(t.fl_count << t.sli);
#if HK_TLSF_SLI_VAR
    h->sli = (uint8_t)t.sli;
#else
    HK_ASSERT(t.sli == HK_TLSF_SLI || !t.fl_count);
#endif
    if (cfg && cfg->lock)
        h->lock = *cfg->lock;
    if (cfg) {
#if HK_HEAP_GROW
        h->grow = cfg->grow;
        h->grow_ctx = cfg->grow_ctx;
#endif
#if HK_EVENTS
        h->event = cfg->event;
        h->event_ctx = cfg->event_ctx;
#endif
    }
    hk_region_t *r = &h->first_region;
    b = region_format(r, base + ctl, hi);
    if (!b)
        goto too_small;
    r->raw_lo = lo;
    r->raw_hi = hi;
    region_link(h, r);
    account_new_free(h, b);
    HK_DBG_HEAP_INIT(h);
    heap_gate(h); /* a heap from here on */
    return h;
too_small:
    hk__report(HK_EINVAL, mem, HK_MSG("hk_heap_init: region smaller than hk_heap_min_size()", "bad argument"));
    return NULL;
}

hk_fit_t hk_heap_fit(const hk_heap_t *h)
{
    return heap_handle_ok(h) ? (hk_fit_t)h->fit : HK_FIT_TLSF;
}

/* Asks the growth hook for a region that can hold a block of `need` bytes. */
bool hk__heap_grow(hk_heap_t *h, size_t need)
{
#if !HK_HEAP_GROW
    (void)h, (void)need;
    return false;
#else
    size_t want = need + sizeof(hk_region_t) + sizeof(void *) + HK_REGION_SLACK;
    size_t got = 0;
    if (!h->grow || want < need)
        return false;
    void *mem = h->grow(h->grow_ctx, want, &got);
    if (!mem)
        return false;
    if (got < want || hk__heap_add_region(h, mem, got) != HK_OK) {
        hk__report(HK_EINVAL, mem, HK_MSG("grow hook returned an unusable region", "bad region"));
        return false;
    }
    return true;
#endif
}

