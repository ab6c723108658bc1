/* SPDX-License-Identifier: MIT */
/*
 * heap_check.c - looking at a heap without changing it: statistics, the
 * usable size of a block, the walk, and the white-box validator.
 *
 * The validator trusts nothing: it walks every region block by block with
 * bounds checks before every dereference, then walks the free index with a
 * step limit (so a corrupted link cannot loop it forever), and compares both
 * walks and the running statistics. It reports the first problem found with
 * its address and a reason, and returns HK_ECORRUPT.
 */
#include "heap/index.h"

/* ---- statistics ---------------------------------------------------------- */
/* Largest block size the index would hand out now. find() is monotone in the
 * size asked for, so a binary search over sizes finds the exact answer. */
static size_t largest_block(const hk_heap_t *h)
{
    if (!h->free_blocks)
        return 0;
    if (!index_is_tlsf(h)) {
        size_t best = 0;
        size_t n = 0; /* followed only to free blocks of this heap, as below */
        for (const hk_block_t *b = h->list;
             b && n <= h->free_blocks && heap_addr_ok(h, b) && block_is_free(b);
             b = b->next_free, n++)
            if (block_size(b) > best)
                best = block_size(b);
        return best;
    }
    size_t lo = HK_MIN_BLOCK / HK_G, hi = (h->usage.total - h->usage.used) >> HK_LOG2_G; /* in granules */
    unsigned at;
    if (!index_find(h, lo * HK_G, &at))
        return 0;
    while (lo < hi) {
        size_t mid = lo + ((hi - lo + 1) >> 1);
        if (index_find(h, mid * HK_G, &at))
            lo = mid;
        else
            hi = mid - 1;
    }
    return lo * HK_G;
}

/* Smallest free block: the lowest non-empty TLSF class holds it (classes
 * are ordered by size), so only that list is scanned; the list policies scan
 * their one list. */
static size_t smallest_block(const hk_heap_t *h)
{
    const hk_block_t *b = NULL;
    if (!h->free_blocks)
        return 0;
    if (index_is_tlsf(h)) {
        if (!h->fl_bitmap)
            return 0;
        unsigned fl = hk__ffs(h->fl_bitmap);
        unsigned sl = hk__ffs32(tlsf_slmap(h, fl));
        b = tlsf_head(h, tlsf_idx_of(h, fl, sl));
    } else {
        b = h->list;
    }
    size_t best = SIZE_MAX;
    /* a link is followed only to a free block of this heap: a damaged one
     * (write after free) ends the walk instead of a read through it */
    for (size_t n = 0; b && n <= h->free_blocks && heap_addr_ok(h, b) && block_is_free(b);
         b = b->next_free, n++)
        if (block_size(b) < best)
            best = block_size(b);
    return best == SIZE_MAX ? 0 : best;
}

void hk_heap_reset_marks(hk_heap_t *h)
{
    if (!heap_handle_ok(h)) {
        hk__report(HK_EINVAL, h, "hk_heap_reset_marks: not a heap");
        return;
    }
    uintptr_t lk_saved = hk__lock(&h->lock);
    hk__usage_reset(&h->usage);
    hk__unlock(&h->lock, lk_saved);
}

int hk_heap_set_event_hook(hk_heap_t *h, hk_event_fn fn, void *ctx)
{
    if (!heap_handle_ok(h)) {
        hk__report(HK_EINVAL, h, "hk_heap_set_event_hook: not a heap");
        return HK_EINVAL;
    }
#if HK_EVENTS
    uintptr_t lk_saved = hk__lock(&h->lock);
    h->event = fn;
    h->event_ctx = fn ? ctx : NULL;
    heap_gate(h);
    hk__unlock(&h->lock, lk_saved);
    return HK_OK;
#else
    (void)fn;
    (void)ctx;
    return HK_ENOTSUP;
#endif
}

void hk_heap_get_stats(const hk_heap_t *h, hk_stats_t *out)
{
    if (!out)
        return;
    hk__memset(out, 0, sizeof *out);
    if (!heap_handle_ok(h)) {
        hk__report(HK_EINVAL, h, "hk_heap_get_stats: not a heap");
        return;
    }
    uintptr_t lk_saved = hk__lock(&h->lock);
    hk__heap_flush((hk_heap_t *)(uintptr_t)h); /* largest_free stays exact */
    if (h->bad)
        hk__heap_recover((hk_heap_t *)(uintptr_t)h);
    size_t big = largest_block(h), small = smallest_block(h);
    hk__usage_fill(&h->usage, out);
#if HK_DEBUG >= 1
    out->largest_free = big > HK_W + HK_DBG_EXTRA ? big - HK_W - HK_DBG_EXTRA : 0;
    out->smallest_free = small > HK_W + HK_DBG_EXTRA ? small - HK_W - HK_DBG_EXTRA : 0;
#else
    out->largest_free = big ? big - HK_W : 0;
    out->smallest_free = small ? small - HK_W : 0;
#endif
    out->free_blocks = h->free_blocks;
    out->used_blocks = (size_t)(h->allocs - h->frees);
    out->requested = heap_requested(h);
    out->allocs = h->allocs;
    out->frees = h->frees;
    out->failed_allocs = h->failed_allocs;
    hk__unlock(&h->lock, lk_saved);
}

size_t hk_heap_usable_size(const hk_heap_t *h, const void *p)
{
    if (!p)
        return 0;
    if (!heap_handle_ok(h)) {
        hk__report(HK_EINVAL, p, "hk_heap_usable_size: not a heap");
        return 0;
    }
    uintptr_t lk_saved = hk__lock(&h->lock);
    const hk_block_t *b = HK_DBG_PTR_OK(h, p) ? hk__heap_checked_block(h, p) : NULL;
    size_t n = b && HK_DBG_LIVE(h, b) ? block_requested(b) : 0;
    hk__unlock(&h->lock, lk_saved);
    return n;
}

/* ---- walk ---------------------------------------------------------------- */
void hk_heap_walk(const hk_heap_t *h, hk_walk_fn fn, void *ctx)
{
    if (!heap_handle_ok(h) || !fn) {
        hk__report(HK_EINVAL, h, "hk_heap_walk: not a heap, or no callback");
        return;
    }
    uintptr_t lk_saved = hk__lock(&h->lock);
    hk__heap_flush((hk_heap_t *)(uintptr_t)h); /* parked blocks show as free */
    if (h->bad)
        hk__heap_recover((hk_heap_t *)(uintptr_t)h);
    for (const hk_region_t *r = h->regions; r; r = r->next) {
        const hk_block_t *b = block_at(r->first);
        while (!block_is_end(b) && (uintptr_t)b < r->end) {
            fn(block_payload(b), block_requested(b), !block_is_free(b), ctx);
            b = block_next(b);
        }
    }
    hk__unlock(&h->lock, lk_saved);
}

/* ---- validate ------------------------------------------------------------ */
typedef struct {
    size_t free_blocks, used_blocks, used, free, requested;
} tally_t;

static const char *check_region(const hk_region_t *r, tally_t *t, const void **where)
{
    uintptr_t a = r->first;
    bool prev_free = false;
    if (r->first > r->end || ((r->first + HK_W) & (HK_G - 1)) || ((r->end + HK_W) & (HK_G - 1)))
        return *where = r, "region descriptor damaged";
    while (a < r->end) {
        const hk_block_t *b = block_at(a);
        size_t size = block_size(b);
        *where = b;
        if (size < HK_MIN_BLOCK || (size & (HK_G - 1)) || size > r->end - a)
            return "block size out of range (header overwritten?)";
        if (block_prev_is_free(b) != prev_free)
            return "PREV_FREE flag disagrees with the block below";
        if (block_is_parked(b)) /* the front was flushed before the walk */
            return "block marked parked outside the front (header overwritten?)";
        if (block_is_free(b)) {
            if (prev_free)
                return "two free blocks side by side (missed coalesce)";
            if (*(const size_t *)(const void *)(a + size - HK_W) != size)
                return "free block footer disagrees with its header";
            if (block_has_slack(b))
                return "free block header has a stray SLACK flag (header overwritten?)";
            t->free_blocks++;
            t->free += size;
        } else {
#if !HK_HEAP_EXACT
            if (block_has_slack(b)) /* no slack is recorded */
                return "used block header has a stray SLACK flag (header overwritten?)";
#endif
            if (block_has_slack(b)) {
                size_t slack = block_slack(b);
                if (slack == 0 || slack >= 2 * HK_MIN_BLOCK - HK_W + HK_DBG_EXTRA ||
                    slack > size - HK_W)
                    return "slack byte damaged (overflow past the requested size?)";
            }
#if HK_DEBUG >= 1
            if (!block_has_slack(b) || block_slack(b) < HK_DBG_EXTRA)
                return "slack byte damaged: no room for the debug trailer";
#endif
            t->used_blocks++;
            t->used += size;
            t->requested += block_requested(b);
        }
        prev_free = block_is_free(b);
        a += size;
    }
    const hk_block_t *e = block_at(r->end);
    *where = e;
    if (a != r->end || !block_is_end(e) || block_is_free(e))
        return "end marker damaged";
    if (block_prev_is_free(e) != prev_free)
        return "end marker's PREV_FREE disagrees with the last block";
    return NULL;
}

static bool in_some_region(const hk_heap_t *h, uintptr_t a)
{
    for (const hk_region_t *r = h->regions; r; r = r->next)
        if (a >= r->first && a < r->end && ((a + HK_W) & (HK_G - 1)) == 0)
            return true;
    return false;
}

/* Walks one free list of the index (index.h): every node is a free block
 * inside a region, links agree both ways, and the node sits rightly (its
 * class, or the list's order). At most *budget steps. */
const char *hk__index_check_list(const hk_heap_t *h, const hk_block_t *head, unsigned at,
                                 size_t *budget, size_t *count, const void **where)
{
    const hk_block_t *prev = NULL;
    for (const hk_block_t *b = head; b; prev = b, b = b->next_free) {
        *where = b;
        if (!*budget)
            return "free list longer than the free blocks (cycle or stray block)";
        --*budget;
        if (!in_some_region(h, (uintptr_t)b))
            return "free list points outside the heap";
        if (!block_is_free(b))
            return "used block on a free list";
        if (b->prev_free != prev)
            return "free list back link broken";
        if (!index_in_order(h, prev, b, at))
            return index_is_tlsf(h) ? "free block on the wrong class list" : "free list out of order";
        ++*count;
    }
    return NULL;
}

static const char *check_index(const hk_heap_t *h, size_t free_count, const void **where)
{
    size_t budget = free_count, count = 0;
    const char *why;
    *where = h;
    if ((why = index_check(h, &budget, &count, where)))
        return why;
    *where = h;
    if (count != free_count)
        return "free index holds fewer blocks than the heap has free";
    return NULL;
}

/* The whole check with the lock held: NULL, or the reason and *where. */
static const char *check_locked(const hk_heap_t *h, const void **where_out)
{
    tally_t t = { 0, 0, 0, 0, 0 };
    const void *where = h;
    const char *why = NULL;
    unsigned n = 0;
    for (const hk_region_t *r = h->regions; r && !why; r = r->next) {
        if (++n > h->nregions)
            why = "region list longer than the region count";
        else
            why = check_region(r, &t, &where);
    }
    if (!why && n != h->nregions)
        why = "region list shorter than the region count";
    if (!why)
        why = check_index(h, t.free_blocks, &where);
    if (!why) {
        where = h;
        if (t.used != h->usage.used || t.used + t.free != h->usage.total)
            why = "byte counts disagree with a recount";
        else if (t.used_blocks != (size_t)(h->allocs - h->frees) || t.free_blocks != h->free_blocks)
            why = "block counts disagree with a recount";
        else if (t.requested != heap_requested(h))
            why = "requested bytes disagree with a recount";
        else if (!hk__usage_ok(&h->usage))
            why = "peak or low-water mark behind the current value";
    }
    *where_out = where;
    return why;
}

int hk_heap_validate(const hk_heap_t *h)
{
    if (!heap_handle_ok(h)) {
        hk__report(HK_EINVAL, h, "hk_heap_validate: not a heap (NULL or a bad handle)");
        return HK_EINVAL;
    }
    uintptr_t lk_saved = hk__lock(&h->lock);
    hk_heap_t *mh = (hk_heap_t *)(uintptr_t)h;
    hk__heap_flush(mh); /* the parked blocks rejoin the index */
    const void *where = h;
    HK_OBS_STATE(ob);
    const char *why = mh->bad ? mh->bad_why : check_locked(h, &where);
    if (mh->bad) { /* damage met while flushing: reported and repaired */
        hk__heap_recover(mh);
        hk__unlock(&h->lock, lk_saved);
        return HK_ECORRUPT;
    }
    if (!why) /* the observer's own walk: its marks on every block */
        why = HK_DBG_VALIDATE(h, &where, &ob);
    hk__unlock(&h->lock, lk_saved);
    if (why) {
        HK_DBG_REPORT(HK_ECORRUPT, where, why, &ob);
        return HK_ECORRUPT;
    }
    return HK_OK;
}

#if HK_OBSERVED
/* For the observer (heap/observe.h), which runs with the lock held. */
const char *hk__heap_check(const hk_heap_t *h, const void **where)
{
    return check_locked(h, where);
}
#endif
