/* SPDX-License-Identifier: MIT */
/*
 * heap_resize.c - realloc and aligned allocation: the two operations that
 * reshape a block instead of taking a whole one.
 *
 * realloc tries, in order: shrink in place (the tail goes back to the
 * index); grow into a free right neighbour; grow into a free left neighbour,
 * moving the data down with memmove (and taking the right neighbour too if
 * it is free; not with HK_HEAP_RESIZE_LEFT 0); finally allocate, copy and
 * free. Every path that can fail
 * fails before it changes anything, so on NULL the old block is untouched.
 *
 * Aligned allocation first asks the index for a block of the request's own
 * size and takes it if the request fits it at an aligned address (an
 * exactly fitting aligned hole, such as the one an aligned block left, is
 * reused); else it takes a block big enough for any placement: the
 * request, the alignment and a leading gap of at least one minimum block.
 * The gap goes back as a free block, and the rest is carved as usual.
 */
#include "heap/heap_ops.h"

HK_INLINE void *realloc_locked(hk_heap_t *h, hk_block_t *b, size_t n)
{
    size_t bsize = block_size(b), old_req = block_requested(b);
    size_t need = block_size_for(n), have = bsize;
    void *p = block_payload(b);
    hk_block_t *at = b; /* where the block ends up */
    /* b passed the pointer checks, so a free right neighbour is sane */
    hk_block_t *next = block_at((uintptr_t)b + bsize);
    size_t nsize = block_is_free(next) ? block_size(next) : 0;
    hk_block_t *held = NULL; /* the free block the carved bytes end with */

    /* grow into the right neighbour, or give a tail of our own back merged
     * with it (the tail takes its place in the index) */
    if (nsize && (need > bsize ? bsize + nsize >= need : bsize - need >= HK_MIN_BLOCK)) {
        have += nsize;
        held = next;
    }
    if (need > have) {
#if HK_HEAP_RESIZE_LEFT
        /* the checks proved the left neighbour's tags only if it is free */
        hk_block_t *prev = block_prev_is_free(b) ? block_prev(b) : NULL;
        if (prev && block_size(prev) + bsize + nsize >= need) {
            /* grow into the left neighbour (and the right one, if free) */
            size_t psize = block_size(prev);
            index_remove(h, prev, index_at(h, prev, psize));
            have = psize + bsize;
            if (nsize && need != have) { /* the tail merges it, taking its place */
                held = next;
                have += nsize;
            } /* else the block ends where next starts: next stays as it is */
            hk__memmove(block_payload(prev), p, old_req);
            at = prev;
            goto carve;
        }
#endif
        void *q = hk__heap_alloc(h, n); /* move */
        if (!q)
            return NULL;
        hk__memcpy(q, p, old_req);
        HK_DBG_FRESH_FREE(b, bsize); /* the interior a free block must hold */
        hk__heap_free_block(h, b);
        return q;
    }
#if HK_HEAP_RESIZE_LEFT
carve:
#endif
    /* shrink, the same size, or grown in place: the tail goes back */
    hk__heap_carve(h, at, have, need, n, bsize, held, held ? index_at(h, next, nsize) : 0);
    if (held && need < bsize) /* shrunk: the tail swallowed next's header */
        HK_DBG_MERGED(next);
    HK_DBG_RESIZED(h, at, (uintptr_t)b, bsize);
    heap_requested_sub(h, old_req);
    heap_requested_add(h, n);
    return block_payload(at);
}

HK_SITED_BODY void *realloc_call(hk_heap_t *h, void *p, size_t size HK_SITE_PARAM)
{
    if (!p)
        return HK_ALLOC_SITE(h, size);
    if (size == 0) {
        hk_heap_free(h, p);
        return NULL;
    }
    if (HK_UNLIKELY(!heap_handle_ok(h))) {
        hk__report(HK_EINVAL, p, HK_MSG("hk_heap_realloc: not a heap", "not a heap"));
        return NULL;
    }
    uintptr_t lk_saved = hk__lock(&h->lock);
    void *q = NULL;
    HK_OBS_STATE(ob);
    hk_block_t *b = HK_DBG_PTR_OK(h, p) ? hk__heap_checked_block(h, p) : NULL;
    if (b && HK_DBG_RESIZING(h, b, &ob)) {
        if (size > HK_MAX_REQUEST)
            h->failed_allocs++;
        else
            q = realloc_locked(h, b, size);
        HK_DBG_REALLOCATED(h, q, size, &ob, site);
        if (HK_UNLIKELY(h->bad != NULL))
            hk__heap_recover(h);
        HK_DBG_AFTER_OP(h);
        heap_event(h, q ? HK_EVENT_REALLOC : HK_EVENT_FAIL, q, p, size, 0);
    }
    hk__unlock(&h->lock, lk_saved);
    return q;
}

/* The plain case (a heap at the gate: no lock, no event hook; a block; a
 * size neither zero nor too large) takes the pointer checks and the resize
 * with no handle check and no lock call; everything else, and every call
 * under -Os or with an observer, takes realloc_call. Both fail the same
 * way: a bad pointer is reported and NULL returned, the block untouched. */
void *hk_heap_realloc(hk_heap_t *h, void *p, size_t size)
{
#if !defined(__OPTIMIZE_SIZE__) && !HK_OBSERVED
    if (HK_LIKELY(h && h->gate == HK_HEAP_MAGIC && p && size - 1u < HK_MAX_REQUEST)) {
        hk_block_t *b = heap_checked_block(h, p);
        if (HK_UNLIKELY(b == NULL))
            return NULL; /* reported */
        void *q = realloc_locked(h, b, size);
        if (HK_UNLIKELY(h->bad != NULL))
            hk__heap_recover(h);
        return q;
    }
#endif
    return realloc_call(h, p, size HK_NO_SITE);
}

/* The aligned payload address in the free block b: b's own, or past a gap
 * of at least a minimum block (the gap becomes a free block). */
static uintptr_t aligned_user(const hk_block_t *b, size_t align)
{
    uintptr_t ba = (uintptr_t)b;
    uintptr_t user = hk__align_up_ptr(ba + HK_W, align);
    if (user != ba + HK_W && user - HK_W - ba < HK_MIN_BLOCK)
        user = hk__align_up_ptr(ba + HK_W + HK_MIN_BLOCK, align);
    return user;
}

static void *aligned_locked(hk_heap_t *h, size_t align, size_t n)
{
    size_t need = block_size_for(n);
    size_t want = need + align + HK_MIN_BLOCK;
    if (want < need || want > HK_MAX_REQUEST)
        return NULL;
    unsigned at;
    hk_block_t *b = index_find(h, need, &at); /* one that fits as it lies? */
    if (b && aligned_user(b, align) - HK_W - (uintptr_t)b > block_size(b) - need)
        b = index_find(h, want, &at);
    if (!b) {
        hk__heap_flush(h); /* parked blocks may merge into a fit */
        b = index_find(h, want, &at);
    }
    if (!b && (!hk__heap_grow(h, want) || !(b = index_find(h, want, &at))))
        return NULL;
    size_t bsize = block_size(b);
    hk_block_t *held = b; /* the free block the carved bytes end with */
    uintptr_t ba = (uintptr_t)b;
    uintptr_t user = aligned_user(b, align);
    if (user != ba + HK_W) {
        /* The gap below the aligned payload becomes a free block of its own,
         * in b's place. */
        size_t gap = user - HK_W - ba;
        b = hk__heap_keep_low(h, b, at, gap); /* size set by the carve */
        bsize -= gap;
        held = NULL; /* the tail is inserted */
    }
    hk__heap_carve(h, b, bsize, need, n, 0, held, at);
    heap_requested_add(h, n);
    h->allocs++;
    return block_payload(b);
}

HK_SITED_BODY void *aligned_call(hk_heap_t *h, size_t align, size_t size HK_SITE_PARAM)
{
    if (HK_UNLIKELY(!heap_handle_ok(h))) {
        hk__report(HK_EINVAL, h, HK_MSG("hk_heap_aligned_alloc: not a heap", "not a heap"));
        return NULL;
    }
    if (!hk__is_pow2(align)) {
        uintptr_t lk_saved = hk__lock(&h->lock);
        h->failed_allocs++;
        HK_DBG_AFTER_OP(h);
        heap_event(h, HK_EVENT_FAIL, NULL, NULL, size, align);
        hk__unlock(&h->lock, lk_saved);
        return NULL;
    }
    if (align <= HK_G)
        return HK_ALLOC_SITE(h, size);
    uintptr_t lk_saved = hk__lock(&h->lock);
    void *p = size > HK_MAX_REQUEST ? NULL : aligned_locked(h, align, size);
    if (HK_UNLIKELY(h->bad != NULL)) {
        hk__heap_recover(h);
        if (!p && size <= HK_MAX_REQUEST)
            p = aligned_locked(h, align, size);
        if (h->bad)
            hk__heap_recover(h);
    }
    if (!p)
        h->failed_allocs++;
    HK_DBG_HANDED_OUT(h, p, size, site);
    HK_DBG_AFTER_OP(h);
    heap_event(h, p ? HK_EVENT_ALLOC : HK_EVENT_FAIL, p, NULL, size, align);
    hk__unlock(&h->lock, lk_saved);
    return p;
}

void *hk_heap_aligned_alloc(hk_heap_t *h, size_t align, size_t size)
{
    return aligned_call(h, align, size HK_NO_SITE);
}

/* ---- the site-taking calls: the same paths, the site for the observer ----
 * (at HK_DEBUG 0, where no site is kept, they are the plain calls: heap_site.c) */
#if HK_OBSERVED
void *hk_heap_realloc_at(hk_heap_t *h, void *p, size_t size, const char *file, unsigned line,
                         uint32_t tag)
{
    return realloc_call(h, p, size HK_SITE(file, line, tag));
}

void *hk_heap_aligned_alloc_at(hk_heap_t *h, size_t align, size_t size, const char *file,
                               unsigned line, uint32_t tag)
{
    return aligned_call(h, align, size HK_SITE(file, line, tag));
}
#endif
