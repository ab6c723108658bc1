/* SPDX-License-Identifier: MIT */
/*
 * heap.c - the public allocation and free calls, and the out-of-line copies
 * of the hot paths (heap_ops.h) for the rest of the heap's files.
 */
#include "heap/heap_ops.h"

/* ---- out-of-line copies for realloc, aligned allocation and checks ------ */
void hk__heap_carve(hk_heap_t *h, hk_block_t *b, size_t bsize, size_t need, size_t n,
                    size_t was_used, hk_block_t *held, unsigned at)
{
    heap_carve(h, b, bsize, need, n, was_used, held, at);
}

hk_block_t *hk__heap_keep_low(hk_heap_t *h, hk_block_t *b, unsigned at, size_t low)
{
    return heap_keep_low(h, b, at, low);
}

void *hk__heap_alloc(hk_heap_t *h, size_t n)
{
    return heap_alloc_locked(h, n);
}

void hk__heap_free_block(hk_heap_t *h, hk_block_t *b)
{
    heap_free_block(h, b);
}

void hk__heap_release(hk_heap_t *h, hk_block_t *b, size_t size)
{
    heap_release(h, b, size);
    if (HK_UNLIKELY(h->bad != NULL))
        hk__heap_recover(h);
}


hk_block_t *hk__heap_checked_block(const hk_heap_t *h, const void *p)
{
    return heap_checked_block(h, p);
}

/* The region holding block address ba, or NULL. */
const hk_region_t *hk__heap_region_of(const hk_heap_t *h, uintptr_t ba)
{
    for (const hk_region_t *r = h->regions; r; r = r->next)
        if (ba >= r->first && ba < r->end)
            return r;
    return NULL;
}

hk_block_t *hk__heap_bad_neighbour(const hk_heap_t *h, const void *p)
{
    hk__report(HK_ECORRUPT, p, HK_WHY_NEIGHBOUR);
    (void)h;
    return NULL;
}

/* An allocation that met damage: report and repair it, and if the damage
 * hid the block that would have fitted, try once more. */
static HK_NOINLINE void *alloc_after_damage(hk_heap_t *h, void *p, size_t n)
{
    hk__heap_recover(h);
#if !HK_HEAP_REPAIR /* nothing was rebuilt: a second try finds nothing new */
    (void)n;
#else
    if (!p) {
        h->failed_allocs--;
        p = heap_alloc_locked(h, n);
        if (h->bad)
            hk__heap_recover(h);
    }
#endif
    return p;
}

/* Reports why p is not a live block (the slow path of the checks: it works
 * out the most likely cause) and returns NULL. */
hk_block_t *hk__heap_bad_block(const hk_heap_t *h, const void *p)
{
    uintptr_t a = (uintptr_t)p, ba = a - HK_W;
    const hk_region_t *r = hk__heap_region_of(h, ba);
    uintptr_t end = r ? r->end : 0;
    const hk_block_t *b = block_at(ba);
    const char *why;
    int code = HK_EBADPTR;
    if (!end || a < HK_W) {
        why = HK_MSG("pointer outside every region of this heap", "bad pointer");
    } else if (a & (HK_G - 1)) {
        why = HK_MSG("misaligned pointer: not from this heap, or interior", "bad pointer");
    } else {
        size_t size = block_size(b);
        if (size < HK_MIN_BLOCK || (size & (HK_G - 1)) || size > end - ba) {
            why = HK_MSG("bad block size: interior pointer, or header overwritten?", "bad pointer");
        } else if (head_is_dead(block_head(b))) { /* free, or parked in the front */
            code = HK_EDOUBLEFREE;
            why = HK_MSG("block is already free: double free?", "double free");
        } else if (block_prev_is_free(block_at(ba + size))) {
            why = HK_MSG("next block disagrees: interior pointer, or buffer overflow?", "bad pointer");
        } else {
            why = HK_MSG("free neighbour's tags disagree: buffer underflow?", "bad pointer");
        }
    }
    hk__report(code, p, why);
    return NULL;
}

/* The plain allocation when the front had nothing (out of line: the
 * front's few instructions stay free of this path's register saves). */
static HK_NOINLINE void *alloc_from_index(hk_heap_t *h, size_t n)
{
    if (HK_UNLIKELY(n > HK_MAX_REQUEST)) {
        h->failed_allocs++;
        return NULL;
    }
    size_t need = block_size_for(n);
    void *p = quick_alloc(h, n, need);
    if (!p)
        p = heap_alloc_index(h, n, need);
    if (HK_UNLIKELY(h->bad != NULL))
        p = alloc_after_damage(h, p, n);
    return p;
}

#if HK_QUICK_CLASSES
/* The plain allocation of n bytes (a block of `need`) when the front has
 * no block of that size: straight to the index. */
static HK_NOINLINE void *alloc_index(hk_heap_t *h, size_t n, size_t need)
{
    void *p = heap_alloc_index(h, n, need);
    if (HK_UNLIKELY(h->bad != NULL))
        p = alloc_after_damage(h, p, n);
    return p;
}
#endif

/* ---- the small-object front: flush -------------------------------------- */
void hk__heap_flush(hk_heap_t *h)
{
#if HK_QUICK_CLASSES
    for (unsigned i = 0; i < HK_QUICK_N; i++) {
        hk_block_t *b = h->quick[i];
        h->quick[i] = NULL;
        h->quick_n[i] = 0;
        for (unsigned k = 0; b && k < HK_QUICK_DEPTH; k++) {
            hk_block_t *n = b->next_free;
            if (n && !(heap_addr_ok(h, n) && block_is_parked(n))) {
                hk__heap_flag(h, b, HK_WHY_LINK);
                n = NULL;
            }
            /* as careful as a caller's free: a damaged parked block stays put */
            if (block_is_parked_of(b, (size_t)i << HK_LOG2_G)) {
                block_unpark(b);
                if (heap_checked_block(h, block_payload(b)))
                    heap_release(h, b, block_size(b));
                else
                    block_park(b, block_head(b));
            } else {
                hk__heap_flag(h, b, HK_WHY_FREE_BLOCK);
            }
            b = n;
        }
    }
#else
    (void)h;
#endif
}

/* ---- public calls --------------------------------------------------------
 * Each call is one path: the gate (one compare: a heap, no lock, no event
 * hook) sends the plain case straight through; everything else takes the
 * out-of-line path that checks the handle, locks and tells the observer. */
static HK_NOINLINE void *alloc_slow(hk_heap_t *h, size_t size HK_SITE_PARAM)
{
    if (HK_UNLIKELY(!heap_handle_ok(h))) {
        hk__report(HK_EINVAL, h, HK_MSG("hk_heap_alloc: not a heap", "not a heap"));
        return NULL;
    }
    uintptr_t lk_saved = hk__lock(&h->lock);
    void *p = heap_alloc_locked(h, size);
    if (HK_UNLIKELY(h->bad != NULL || HK_DBG_ALLOC_FAILED(h, p)))
        p = alloc_after_damage(h, p, size);
    HK_DBG_HANDED_OUT(h, p, size, site);
    HK_DBG_AFTER_OP(h);
    heap_event(h, p ? HK_EVENT_ALLOC : HK_EVENT_FAIL, p, NULL, size, 0);
    hk__unlock(&h->lock, lk_saved);
    return p;
}

/* The front's allocation, written so that every other case leaves by a
 * tail call: the common case then needs no register saves at all. */
void *hk_heap_alloc(hk_heap_t *h, size_t size)
{
#if defined(__OPTIMIZE_SIZE__) || HK_OBSERVED /* one path: no fast copy, none past the observer */
    return alloc_slow(h, size HK_NO_SITE);
#else
    if (HK_UNLIKELY(!h || h->gate != HK_HEAP_MAGIC))
        return alloc_slow(h, size HK_NO_SITE);
#endif
#if HK_QUICK_CLASSES
    if (HK_UNLIKELY(size > HK_QUICK_MAX - HK_W))
        return alloc_from_index(h, size);
    size_t need = block_size_for(size);
    /* no need to test need against quick_max: the front parks no size
     * above it, so those LIFOs are empty */
    hk_block_t **top = &h->quick[need >> HK_LOG2_G];
    hk_block_t *b = *top;
    if (HK_UNLIKELY(!b))
        return alloc_index(h, size, need);
    hk_block_t *n = b->next_free;
    if (n && HK_UNLIKELY(!(heap_addr_fast(h, n) &&
                           block_is_parked_of(n, need))))
        return alloc_from_index(h, size); /* the full path meets and repairs it */
    *top = n;
    h->quick_n[need >> HK_LOG2_G]--;
    block_unpark(b);
    block_make_used(b, need, size);
    heap_account_used(h, need);
    heap_requested_add(h, size);
    h->allocs++;
    return block_payload(b);
#else
    return alloc_from_index(h, size);
#endif
}

HK_SITED_BODY void *calloc_call(hk_heap_t *h, size_t n, size_t size HK_SITE_PARAM)
{
    if (HK_UNLIKELY(!heap_handle_ok(h))) {
        hk__report(HK_EINVAL, h, HK_MSG("hk_heap_calloc: not a heap", "not a heap"));
        return NULL;
    }
    uintptr_t lk_saved = hk__lock(&h->lock);
    void *p = NULL;
    size_t total_;
    bool wraps = __builtin_mul_overflow(n, size, &total_); /* no divide helper */
    if (wraps)
        h->failed_allocs++;
    else
        p = hk__heap_alloc(h, n * size);
    if (HK_UNLIKELY(h->bad != NULL || (!wraps && HK_DBG_ALLOC_FAILED(h, p))))
        p = alloc_after_damage(h, p, n * size);
    HK_DBG_HANDED_OUT(h, p, n * size, site);
    HK_DBG_AFTER_OP(h);
    heap_event(h, p ? HK_EVENT_ALLOC : HK_EVENT_FAIL, p, NULL, wraps ? SIZE_MAX : n * size, 0);
    hk__unlock(&h->lock, lk_saved);
    if (p)
        hk__memset(p, 0, n * size);
    return p;
}

void *hk_heap_calloc(hk_heap_t *h, size_t n, size_t size)
{
    return calloc_call(h, n, size HK_NO_SITE);
}

static HK_NOINLINE void free_slow(hk_heap_t *h, void *p)
{
    if (HK_UNLIKELY(!heap_handle_ok(h))) {
        hk__report(HK_EINVAL, p, HK_MSG("hk_heap_free: not a heap", "not a heap"));
        return;
    }
    uintptr_t lk_saved = hk__lock(&h->lock);
    hk_block_t *b = HK_DBG_PTR_OK(h, p) ? heap_checked_block(h, p) : NULL;
    if (HK_LIKELY(b != NULL) && HK_DBG_FREEING(h, b)) {
#if HK_EVENTS
        size_t was = h->event ? block_requested(b) : 0;
#endif
        heap_free_block(h, b);
        if (HK_UNLIKELY(h->bad != NULL))
            hk__heap_recover(h);
        HK_DBG_AFTER_OP(h);
        heap_event(h, HK_EVENT_FREE, p, NULL, was, 0);
    }
    hk__unlock(&h->lock, lk_saved);
}

#if !defined(__OPTIMIZE_SIZE__) && !HK_OBSERVED /* -Os or observed: every free takes free_slow */
/* Every free that the front cannot take at once: the full checks, then
 * the front or the block layer. */
static HK_NOINLINE void free_checked(hk_heap_t *h, void *p)
{
    hk_block_t *b = heap_checked_block(h, p);
    if (HK_LIKELY(b != NULL))
        heap_free_block(h, b); /* any damage met is repaired inside */
}

/* A free that passed hk_heap_free's bounds checks (b inside the heap's one
 * region, aligned, live, of a sane size that ends inside the region, its
 * right neighbour not claiming it free) and that the front does not take:
 * a size or a fill it does not park, or a full LIFO. The neighbours are
 * checked before the merge believes them; then b merges with its free
 * neighbours and goes to the index. */
static HK_NOINLINE void free_unparked(hk_heap_t *h, hk_block_t *b, size_t head, size_t size)
{
    if (HK_UNLIKELY(!heap_neighbours_ok(h, b, head, size, h->lo)))
        return; /* reported: the block stays allocated */
    heap_account_free(h, b, size);
    heap_release(h, b, size);
    if (HK_UNLIKELY(h->bad != NULL))
        hk__heap_recover(h);
}

#endif

/* The plain free, tail calls elsewhere (see hk_heap_alloc). The fast case
 * is a block inside the heap's one region, aligned, live, of a sane size
 * ending inside the region, whose right neighbour does not claim it free,
 * of a size the front takes: it is parked at once. Parking touches no
 * neighbour, so it believes none: a parked block's neighbours are checked
 * when it leaves the front (hk__heap_flush takes the full checks of a
 * caller's free). A block the front does not take goes to free_unparked,
 * which checks its free neighbours before the merge. Anything else
 * (several regions, a bad pointer) takes the full checks (free_checked). */
void hk_heap_free(hk_heap_t *h, void *p)
{
    if (!p)
        return;
#if defined(__OPTIMIZE_SIZE__) || HK_OBSERVED /* one path: no fast copy, none past the observer */
    free_slow(h, p);
    return;
#else
    if (HK_UNLIKELY(!h || h->gate != HK_HEAP_MAGIC)) {
        free_slow(h, p);
        return;
    }
    uintptr_t ba = (uintptr_t)p - HK_W;
    if (HK_UNLIKELY(!heap_in_span(h, ba))) { /* several regions, or not a block start */
        free_checked(h, p);
        return;
    }
    hk_block_t *b = block_at(ba);
    size_t head = block_head(b), size = head_size(head);
    if (HK_UNLIKELY(size < HK_MIN_BLOCK || !head_is_live_clean(head) ||
                    size > h->hi - ba || block_prev_is_free(block_at(ba + size)))) {
        free_checked(h, p); /* reports the cause */
        return;
    }
#if HK_QUICK_CLASSES
    if (HK_UNLIKELY(size > h->quick_max || h->usage.used >= h->park_limit)) {
        free_unparked(h, b, head, size);
        return;
    }
    uint8_t *count = &h->quick_n[size >> HK_LOG2_G];
    if (HK_UNLIKELY(*count >= HK_QUICK_DEPTH)) {
        free_unparked(h, b, head, size);
        return;
    }
    heap_account_free(h, b, size);
    hk_block_t **top = &h->quick[size >> HK_LOG2_G];
    ++*count;
    b->next_free = *top;
    block_park(b, head);
    *top = b;
#else
    free_unparked(h, b, head, size);
#endif
#endif
}

/* ---- the site-taking calls: the same paths, the site for the observer ----
 * (at HK_DEBUG 0, where no site is kept, they are the plain calls: heap_site.c) */
#if HK_OBSERVED
void *hk_heap_alloc_at(hk_heap_t *h, size_t size, const char *file, unsigned line, uint32_t tag)
{
    return alloc_slow(h, size HK_SITE(file, line, tag));
}

void *hk_heap_calloc_at(hk_heap_t *h, size_t n, size_t size, const char *file, unsigned line,
                        uint32_t tag)
{
    return calloc_call(h, n, size HK_SITE(file, line, tag));
}
#endif
