/*
 * heap.c - the public allocation and free calls, and the out-of-line copies
 * of the hot paths (heap_ops.h) for the rest of the heap's files.
 */
#include "heap/heap_ops.h"

/* ---- out-of-line copies for realloc, aligned allocation and checks ------ */
void hk__heap_carve(hk_heap_t *h, hk_block_t *b, size_t bsize, size_t need, size_t n,
                    size_t was_used)
{
    heap_carve(h, b, bsize, need, n, was_used);
}

void *hk__heap_alloc(hk_heap_t *h, size_t n)
{
    return heap_alloc_locked(h, n);
}

void hk__heap_free_block(hk_heap_t *h, hk_block_t *b)
{
    heap_free_block(h, b);
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
    if (!p) {
        h->failed_allocs--;
        p = heap_alloc_locked(h, n);
        if (h->bad)
            hk__heap_recover(h);
    }
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
        why = "pointer outside every region of this heap";
    } else if (a & (HK_G - 1)) {
        why = "misaligned pointer: not from this heap, or interior";
    } else {
        size_t size = block_size(b);
        if (size < HK_MIN_BLOCK || (size & (HK_G - 1)) || size > end - ba) {
            why = "bad block size: interior pointer, or header overwritten?";
        } else if (block_is_free(b)) {
            code = HK_EDOUBLEFREE;
            why = "block is already free: double free?";
        } else if (block_prev_is_free(block_at(ba + size))) {
            why = "next block disagrees: interior pointer, or buffer overflow?";
        } else {
            why = "free neighbour's tags disagree: buffer underflow?";
        }
    }
    hk__report(code, p, why);
    return NULL;
}

/* ---- public calls -------------------------------------------------------- */
void *hk_heap_alloc(hk_heap_t *h, size_t size)
{
    HK_DBG_ROUTE(return hk__dbg_alloc(h, size, NULL, 0, 0);)
    if (HK_UNLIKELY(!heap_handle_ok(h))) {
        hk__report(HK_EINVAL, h, "hk_heap_alloc: not a heap");
        return NULL;
    }
    uintptr_t lk_saved = hk__lock(&h->lock);
    void *p = heap_alloc_locked(h, size);
    if (HK_UNLIKELY(h->bad != NULL))
        p = alloc_after_damage(h, p, size);
    heap_event(h, p ? HK_EVENT_ALLOC : HK_EVENT_FAIL, p, NULL, size, 0);
    hk__unlock(&h->lock, lk_saved);
    return p;
}

void *hk_heap_calloc(hk_heap_t *h, size_t n, size_t size)
{
    HK_DBG_ROUTE(return hk__dbg_calloc(h, n, size, NULL, 0, 0);)
    if (HK_UNLIKELY(!heap_handle_ok(h))) {
        hk__report(HK_EINVAL, h, "hk_heap_calloc: not a heap");
        return NULL;
    }
    uintptr_t lk_saved = hk__lock(&h->lock);
    void *p = NULL;
    bool wraps = size && n > SIZE_MAX / size;
    if (wraps)
        h->failed_allocs++;
    else
        p = hk__heap_alloc(h, n * size);
    if (HK_UNLIKELY(h->bad != NULL))
        p = alloc_after_damage(h, p, n * size);
    heap_event(h, p ? HK_EVENT_ALLOC : HK_EVENT_FAIL, p, NULL, wraps ? SIZE_MAX : n * size, 0);
    hk__unlock(&h->lock, lk_saved);
    if (p)
        hk__memset(p, 0, n * size);
    return p;
}

void hk_heap_free(hk_heap_t *h, void *p)
{
    if (!p)
        return;
    HK_DBG_ROUTE(hk__dbg_free(h, p); return;)
    if (HK_UNLIKELY(!heap_handle_ok(h))) {
        hk__report(HK_EINVAL, p, "hk_heap_free: not a heap");
        return;
    }
    uintptr_t lk_saved = hk__lock(&h->lock);
    hk_block_t *b = heap_checked_block(h, p);
    if (HK_LIKELY(b != NULL)) {
#if HK_EVENTS
        size_t was = h->event ? block_requested(b) : 0;
#endif
        heap_free_block(h, b);
        if (HK_UNLIKELY(h->bad != NULL))
            hk__heap_recover(h);
        heap_event(h, HK_EVENT_FREE, p, NULL, was, 0);
    }
    hk__unlock(&h->lock, lk_saved);
}
