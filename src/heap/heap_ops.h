/* SPDX-License-Identifier: MIT */
/*
 * heap_ops.h - the hot paths of the heap, as inline functions: take a block,
 * carve it, check a pointer, free a block.
 *
 * Allocation is four verbs: size the request, find a block in the index,
 * carve it (the tail takes the block's place in the index; a small block
 * is cut from the top instead, and the free block keeps its place and
 * start: heap_keep_low, config.h HK_HEAP_TOP_CUT), mark it used.
 * Free is four too: check the pointer, then one of merge left (the left
 * neighbour grows in its place), merge right (b takes its right
 * neighbour's place) or insert. The carve and the release below are the
 * only ones: fresh allocation, realloc (growth and shrink), aligned
 * allocation, the free, the flush of the small-object front and the
 * repair all go through them, and they speak to the index only through
 * index.h's verbs (find, insert, remove, replace): nothing here depends on
 * the policy.
 *
 * These are forced inline into the public entry points when optimising for
 * speed, so that a call to hk_heap_alloc or hk_heap_free is one function
 * with no internal calls on its common path. Under -Os (__OPTIMIZE_SIZE__)
 * each is emitted once and called (3.7 KB instead of 5 KB of text for the
 * core on Cortex-M4).
 */
#ifndef HK_HEAP_OPS_H
#define HK_HEAP_OPS_H

#include "heap/observe.h"
#include "heap/index.h"

#if defined(__OPTIMIZE_SIZE__)
#define HK_HOT static __attribute__((noinline, unused))
#else
#define HK_HOT HK_INLINE
#endif

/* Statistics of a block of `delta` bytes becoming used (common/hk_stats.h:
 * one compare on the common path). */
HK_HOT void heap_account_used(hk_heap_t *h, size_t delta)
{
    hk__usage_take(&h->usage, delta);
}

/* The carve: a used block of `need` bytes holding n requested bytes is cut
 * from the start of the bsize bytes at b; the rest, the tail, goes back to
 * the index. `held` is the indexed free block those bytes end with, sitting
 * at `at`: b itself for a fresh allocation, b's free right neighbour when a
 * resize takes it in, or NULL. The tail takes held's place (index_replace:
 * for TLSF no list work at all while the class stays) or, with no held
 * block, is inserted; a tail too small to be a block stays with b, and
 * held leaves the index. `was_used` is the size b counted as used before
 * (0 for a fresh allocation). b keeps its PREV_FREE. */
HK_HOT void heap_carve(hk_heap_t *h, hk_block_t *b, size_t bsize, size_t need, size_t n,
                       size_t was_used, hk_block_t *held, unsigned at)
{
    hk_block_t *next = block_at((uintptr_t)b + bsize);
    size_t rest = bsize - need;
    HK_ASSERT(bsize >= need && need >= HK_MIN_BLOCK && !(need & (HK_G - 1)));
    HK_ASSERT(!held || block_at((uintptr_t)held + block_size(held)) == next);
    if (rest >= HK_MIN_BLOCK) {
        hk_block_t *tail = block_at((uintptr_t)b + need);
        if (!was_used)
            HK_DBG_SPLIT(h, tail);
        if (held) {
            /* before the tail's header is written: it may lie inside held */
            index_replace(h, held, at, tail, rest);
            block_make_free(tail, rest); /* the next block's PREV_FREE stays set */
        } else {
            block_make_free(tail, rest);
            block_set_prev_free(next);
            index_insert(h, tail);
        }
        bsize = need;
    } else {
        if (held)
            index_remove(h, held, at);
        block_clear_prev_free(next);
    }
    block_make_used(b, bsize, n);
    heap_account_used(h, bsize - was_used);
}

/* The indexed free block b, sitting at `at`, keeps its first `low` bytes,
 * free and where it lies; the block after them is returned with its header
 * begun (its left neighbour is free) for a carve to size. An aligned
 * allocation's gap and the top placement of small blocks are this cut. */
HK_HOT hk_block_t *heap_keep_low(hk_heap_t *h, hk_block_t *b, unsigned at, size_t low)
{
    hk_block_t *a = block_at((uintptr_t)b + low);
    HK_ASSERT(low >= HK_MIN_BLOCK && low < block_size(b));
    HK_DBG_SPLIT(h, a); /* before b's footer and a's header are written */
    index_resize(h, b, at, low);
    block_make_free(b, low);
    block_start_after_free(a);
    return a;
}

/* ---- the small-object front ------------------------------------------------
 * A freed block of up to HK_QUICK_MAX bytes is parked (FREE | SLACK in its
 * header, block.h) on the LIFO of its exact size instead of being merged
 * and indexed; the next allocation of that size takes it back in a few
 * instructions. Its first payload word links the LIFO; h->quick_n counts
 * each LIFO's blocks (at most HK_QUICK_DEPTH). A fresh allocation of a
 * small size that finds its LIFO empty cuts several blocks at once and
 * parks the others (heap_refill). To the block layer a parked
 * block is used: it is never merged into, and its neighbours treat it as
 * such. To the statistics it is free. Bounded, so O(1) stays; flushed back
 * to the block layer (hk__heap_flush) before an allocation would fail and
 * before statistics, walks and validation, so largest_free stays exact and
 * the validator proves the same invariants. A popped link is checked like
 * any free-list link (guard.h) before it becomes the new top. Parking
 * writes only the block's own first words, so it believes no neighbour and
 * checks none; a parked block's neighbours are checked when it leaves the
 * front (the flush takes the full checks of a caller's free). */
#if HK_QUICK_CLASSES
_Static_assert(HK_QUICK_DEPTH <= UINT8_MAX, "h->quick_n counts in a byte");
_Static_assert(HK_QUICK_REFILL >= 2 && HK_QUICK_REFILL <= HK_QUICK_DEPTH, "HK_QUICK_REFILL: 2..HK_QUICK_DEPTH");

HK_INLINE hk_block_t *quick_pop(hk_heap_t *h, size_t need)
{
    size_t i = need >> HK_LOG2_G;
    hk_block_t *b = h->quick[i];
    if (!b)
        return NULL;
    hk_block_t *n = b->next_free;
    if (HK_UNLIKELY(n && !(heap_addr_ok(h, n) &&
                           block_is_parked_of(n, need)))) {
        hk__heap_flag(h, b, HK_WHY_LINK);
        n = NULL; /* the rest of this LIFO is rebuilt from the blocks */
    }
    h->quick[i] = n;
    h->quick_n[i] = n ? (uint8_t)(h->quick_n[i] - 1u) : 0;
    return b;
}

/* Parks the used block b (header `head`, `size` bytes); false if its LIFO
 * is full or the front is off for that size. */
HK_INLINE bool quick_push(hk_heap_t *h, hk_block_t *b, size_t head, size_t size)
{
    if (size > h->quick_max || h->usage.used >= h->park_limit)
        return false;
    uint8_t *count = &h->quick_n[size >> HK_LOG2_G];
    if (*count >= HK_QUICK_DEPTH)
        return false;
    hk_block_t **top = &h->quick[size >> HK_LOG2_G];
    ++*count;
    b->next_free = *top;
    block_park(b, head);
    *top = b;
    return true;
}

#endif

#if HK_QUICK_CLASSES
/* A front miss for a small size, served from the top of the larger free
 * block b (sitting at `at`, bsize bytes): `cnt` blocks of `need` bytes are
 * cut from its top at once, one index change for all of them. The lowest
 * is returned, its header begun, for the carve; the others are parked on
 * the front's LIFO of that size, which is empty (the miss), as if freed:
 * so a run of allocations of one size costs one index change per cnt. */
HK_HOT hk_block_t *heap_refill(hk_heap_t *h, hk_block_t *b, unsigned at, size_t bsize,
                               size_t need, size_t cnt)
{
    uintptr_t a = (uintptr_t)heap_keep_low(h, b, at, bsize - need * cnt);
    hk_block_t *below = NULL;
    HK_ASSERT(cnt >= 2 && cnt <= HK_QUICK_DEPTH && h->quick[need >> HK_LOG2_G] == NULL);
    for (size_t i = cnt - 1; i > 0; i--) { /* the highest at the LIFO's bottom */
        hk_block_t *q = block_at(a + i * need);
        block_make_parked(q, need);
        q->next_free = below;
        below = q;
    }
    h->quick[need >> HK_LOG2_G] = below;
    h->quick_n[need >> HK_LOG2_G] = (uint8_t)(cnt - 1);
    block_clear_prev_free(block_at(a + need * cnt));
    return block_at(a);
}
#endif

/* The top placement's cut of `need` bytes from the top of the indexed free
 * block b (bsize bytes, sitting at `at`): one block, or a refill of the
 * front when its LIFO of that size is empty and it may park. Returns the
 * block to carve, its header begun. */
HK_HOT hk_block_t *heap_cut_top(hk_heap_t *h, hk_block_t *b, unsigned at, size_t bsize,
                                size_t need)
{
#if HK_QUICK_CLASSES
    if (need <= h->quick_max && bsize >= need * HK_QUICK_REFILL + HK_MIN_BLOCK &&
        h->usage.used < h->park_limit && !h->quick[need >> HK_LOG2_G])
        return heap_refill(h, b, at, bsize, need, HK_QUICK_REFILL);
#endif
    return heap_keep_low(h, b, at, bsize - need);
}

/* The front's allocation: a parked block of exactly `need` bytes made used
 * for n bytes, or NULL. */
HK_INLINE void *quick_alloc(hk_heap_t *h, size_t n, size_t need)
{
#if HK_QUICK_CLASSES
    hk_block_t *b;
    if (need <= h->quick_max && (b = quick_pop(h, need)) != NULL) {
        block_unpark(b);
        block_make_used(b, need, n);
        heap_account_used(h, need);
        heap_requested_add(h, n);
        h->allocs++;
        if (HK_UNLIKELY(h->bad != NULL)) /* a damaged link met: b is used now */
            hk__heap_recover(h);
        return block_payload(b);
    }
#else
    (void)h, (void)n, (void)need;
#endif
    return NULL;
}

/* Allocation from the index (the front had nothing): n <= HK_MAX_REQUEST. */
HK_HOT void *heap_alloc_index(hk_heap_t *h, size_t n, size_t need)
{
    unsigned at;
    hk_block_t *b = index_find(h, need, &at);
    if (HK_UNLIKELY(b == NULL)) {
        hk__heap_flush(h); /* parked blocks may merge into a fit */
        if (!(b = index_find(h, need, &at)) &&
            (!hk__heap_grow(h, need) || !(b = index_find(h, need, &at)))) {
            h->failed_allocs++;
            return NULL;
        }
    }
    size_t bsize = block_size(b);
    if (need <= heap_top_cut(h) && bsize - need >= HK_MIN_BLOCK) {
        /* top placement (config.h): b stays free below the new block */
        b = heap_cut_top(h, b, at, bsize, need);
        heap_carve(h, b, need, need, n, 0, NULL, 0);
    } else {
        heap_carve(h, b, bsize, need, n, 0, b, at);
    }
    heap_requested_add(h, n);
    h->allocs++;
    return block_payload(b);
}

HK_HOT void *heap_alloc_locked(hk_heap_t *h, size_t n)
{
    if (HK_UNLIKELY(n > HK_MAX_REQUEST)) {
        h->failed_allocs++;
        return NULL;
    }
    size_t need = block_size_for(n);
    void *p = quick_alloc(h, n, need);
    return p ? p : heap_alloc_index(h, n, need);
}

/* The neighbour half of the checks of a caller's block b (header `head`,
 * `size` bytes, already known to be live, aligned and to end inside
 * [lo, end)): its right neighbour does not claim a free left neighbour and,
 * if free, is a sane free block (guard.h), or, if parked, has a front
 * size; and (if b claims a free left neighbour) that neighbour's footer and
 * header agree. So neither merge of a free can follow a damaged size.
 * Returns b, or reports and returns NULL. */
HK_HOT hk_block_t *heap_neighbours_ok(const hk_heap_t *h, hk_block_t *b, size_t head,
                                      size_t size, uintptr_t lo)
{
    uintptr_t ba = (uintptr_t)b;
    hk_block_t *next = block_at(ba + size);
    size_t nhead = block_head(next);
    if (HK_UNLIKELY(head_prev_free(nhead) || head_is_dead(nhead))) {
        if (head_prev_free(nhead))
            return hk__heap_bad_block(h, block_payload(b));
        if (block_is_free(next) ? !heap_free_ok(h, next)
                                : (block_size(next) > h->quick_max ||
                                   block_size(next) < HK_MIN_BLOCK))
            return hk__heap_bad_neighbour(h, block_payload(b)); /* not free, not parked */
    }
    if (head_prev_free(head)) {
        size_t pf = block_prev_footer(b); /* at ba - W: inside our own memory */
        if (HK_UNLIKELY(pf < HK_MIN_BLOCK || pf > ba - lo || (pf & (HK_G - 1)) ||
                        block_head(block_prev(b)) != head_free_of(pf)))
            return hk__heap_bad_block(h, block_payload(b));
    }
    return b;
}

/* The cheap, always-on checks of a caller's pointer. Each failure names the
 * likely cause. A block passes when: it is G-aligned inside a region, its
 * size is sane and ends inside the region, it is marked used, and its
 * neighbours pass heap_neighbours_ok. */
HK_HOT hk_block_t *heap_checked_block(const hk_heap_t *h, const void *p)
{
    uintptr_t ba = (uintptr_t)p - HK_W, lo = h->lo, end = h->hi;
    hk_block_t *b = block_at(ba);
    if (HK_UNLIKELY(!heap_in_span(h, ba))) {
        const hk_region_t *r = hk__heap_region_of(h, ba);
        if (!r || ((uintptr_t)p & (HK_G - 1)))
            return hk__heap_bad_block(h, p);
        lo = r->first;
        end = r->end;
    }
    size_t head = block_head(b), size = head_size(head);
    if (HK_UNLIKELY(size < HK_MIN_BLOCK || size > end - ba || !head_is_live_clean(head)))
        return hk__heap_bad_block(h, p);
    return heap_neighbours_ok(h, b, head, size, lo);
}

/* The release: the block b (used to the block layer, `size` bytes) goes
 * back to the index, merged with its free neighbours. A merged block keeps
 * the place of the neighbour it grew from: merge left, the left neighbour
 * grows where it sits (index_resize; the right one, if free too, leaves);
 * merge right, b takes the right neighbour's place (index_replace); no
 * free neighbour, b is inserted. No statistics. */
HK_HOT void heap_release(hk_heap_t *h, hk_block_t *b, size_t size)
{
    /* FREE stays visible if b merges away: double frees are caught */
    block_mark_released(b);
    hk_block_t *next = block_at((uintptr_t)b + size);
    if (block_prev_is_free(b)) {
        hk_block_t *prev = block_prev(b);
        size_t psize = block_size(prev);
        unsigned at = index_at(h, prev, psize);
        size += psize;
        if (block_is_free(next)) {
            size_t nsize = block_size(next);
            index_remove(h, next, index_at(h, next, nsize));
            size += nsize;
            HK_DBG_MERGED(next);
        }
        HK_DBG_MERGED(b);
        index_resize(h, prev, at, size);
        block_make_free(prev, size);
        block_set_prev_free(block_at((uintptr_t)prev + size));
    } else if (block_is_free(next)) {
        size_t nsize = block_size(next);
        unsigned at = index_at(h, next, nsize);
        size += nsize;
        index_replace(h, next, at, b, size);
        HK_DBG_MERGED(next);
        block_make_free(b, size); /* the block after keeps PREV_FREE */
    } else {
        block_make_free(b, size);
        block_set_prev_free(next);
        index_insert(h, b);
    }
}

/* heap.c: heap_release out of line, then any damage it met repaired. */
void hk__heap_release(hk_heap_t *h, hk_block_t *b, size_t size);

/* The statistics of a caller's free of the used block b of `size` bytes. */
HK_HOT void heap_account_free(hk_heap_t *h, const hk_block_t *b, size_t size)
{
    HK_ASSERT(h->usage.used >= size && size == block_size(b));
    heap_requested_sub(h, size - HK_W - block_slack(b));
    hk__usage_give(&h->usage, size);
    h->frees++;
}

/* A caller's free of the checked used block b: parked in the front, or
 * given back to the block layer. */
HK_HOT void heap_free_block(hk_heap_t *h, hk_block_t *b)
{
    size_t head = block_head(b), size = head_size(head);
    heap_account_free(h, b, size);
#if HK_QUICK_CLASSES
    if (quick_push(h, b, head, size))
        return;
#endif
    hk__heap_release(h, b, size);
}

#endif /* HK_HEAP_OPS_H */
