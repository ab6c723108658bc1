/* SPDX-License-Identifier: MIT */
/*
 * guard.h - the checks the heap makes, at every debug level, before it
 * follows a pointer it did not just compute itself: a free block's list
 * links, a neighbour's header, a block about to be split.
 *
 * Why at level 0 too
 * ------------------
 * A write after free over a free block's first two words (its list links),
 * or an overflow from a used block into its free right neighbour's header,
 * would otherwise make the next unlink or merge write through a wild
 * pointer: a fault far from the bug, or silent damage elsewhere. So every
 * link is checked before it is followed (inside the heap, on the header
 * grid, a free block whose own link points back: glibc's "safe unlinking",
 * in both directions), and every free block before its size is believed
 * (inside the heap, FREE without SLACK, a sane size that ends inside the
 * heap, a footer that agrees). Each check is a few compares on data the
 * operation loads anyway.
 *
 * On damage
 * ---------
 * A bad link is not followed: the operation goes on as if it were NULL and
 * notes the damage (hk__heap_flag). Before the lock is released the call
 * reports it through the error hook and rebuilds the free index from the
 * blocks themselves (hk__heap_recover), so the heap is whole again and
 * hk_heap_validate passes. A damaged header cannot be rebuilt from: a free
 * whose right neighbour's header is damaged is refused (the block stays
 * allocated), a damaged block met on a list is left out of the index, and
 * hk_heap_validate keeps reporting the damage.
 *
 * Fast bounds: while the heap has one region, h->granules counts the
 * places a block can start (every G bytes from lo to hi - MIN_BLOCK), 0
 * with several; then every address check takes the out-of-line region
 * walk. One compare tests both range and grid (heap_in_span): a - lo,
 * rotated right by log2(G), is below granules only when it is a multiple
 * of G (else the rotated-in low bits make it huge) and in range. A block
 * start that passes leaves at least MIN_BLOCK bytes to hi, so a size check
 * against hi - a cannot wrap.
 */
#ifndef HK_HEAP_GUARD_H
#define HK_HEAP_GUARD_H

#include "heap/heap_impl.h"

#define HK_WHY_LINK HK_MSG("free-list link damaged: write after free?", "heap damaged")
#define HK_WHY_NEIGHBOUR HK_MSG("free neighbour's header damaged: overflow from the block before?", "heap damaged")
#define HK_WHY_FREE_BLOCK HK_MSG("free block's header damaged: overflow or write after free?", "heap damaged")

/* Notes the first damage met by this operation (cold, out of line). */
void hk__heap_flag(const hk_heap_t *h, const void *where, const char *why);
/* The slow address check: a block address inside some region. */
bool hk__heap_addr_ok_slow(const hk_heap_t *h, uintptr_t a);
/* The slow free-block check, for heaps with several regions. */
bool hk__heap_free_ok_slow(const hk_heap_t *h, const hk_block_t *b);
/* Reports the damage noted by this operation, rebuilds the free index. */
void hk__heap_recover(hk_heap_t *h);

/* True when a is a place a block can start in the heap's one region. */
HK_INLINE bool heap_in_span(const hk_heap_t *h, uintptr_t a)
{
    uintptr_t x = a - h->lo;
    x = (x >> HK_LOG2_G) | (x << (sizeof x * 8u - HK_LOG2_G));
    return x < h->granules;
}

/* The fast half of heap_addr_ok: true means a block address of this heap;
 * false means "look closer" (several regions, or bad). */
HK_INLINE bool heap_addr_fast(const hk_heap_t *h, const void *p)
{
    return heap_in_span(h, (uintptr_t)p);
}

/* Is a a block address of this heap (inside a region, on the header grid)? */
HK_SHARED_DECL(bool heap_addr_ok(const hk_heap_t *h, const void *p));
#if HK_SHARED_HERE
HK_SHARED bool heap_addr_ok(const hk_heap_t *h, const void *p)
{
    uintptr_t a = (uintptr_t)p;
    if (HK_LIKELY(heap_in_span(h, a)))
        return true;
    return hk__heap_addr_ok_slow(h, a);
}
#endif

/* Is b, an address that passed heap_addr_ok, a sane free block: FREE
 * without SLACK, a size that ends inside the heap, a footer that agrees? */
HK_SHARED_DECL(bool heap_free_ok(const hk_heap_t *h, const hk_block_t *b));
#if HK_SHARED_HERE
HK_SHARED bool heap_free_ok(const hk_heap_t *h, const hk_block_t *b)
{
    size_t size = block_size(b);
    uintptr_t a = (uintptr_t)b;
    if (HK_LIKELY(block_is_free(b) && size >= HK_MIN_BLOCK && !(size & (HK_G - 1)) &&
                  size <= h->hi - a && h->granules &&
                  *(const size_t *)(const void *)(a + size - HK_W) == size))
        return true;
    return h->granules == 0 && hk__heap_free_ok_slow(h, b);
}
#endif

/* A link n (may be NULL) of free block b, in the next direction: n is a
 * free block of this heap whose prev link is b. */
HK_SHARED_DECL(bool heap_next_ok(const hk_heap_t *h, const hk_block_t *b, const hk_block_t *n));
#if HK_SHARED_HERE
HK_SHARED bool heap_next_ok(const hk_heap_t *h, const hk_block_t *b, const hk_block_t *n)
{
    if (HK_LIKELY(!n || (heap_addr_ok(h, n) && block_is_free(n) && n->prev_free == b)))
        return true;
    hk__heap_flag(h, b ? (const void *)b : (const void *)n, HK_WHY_LINK);
    return false;
}
#endif

HK_SHARED_DECL(bool heap_prev_ok(const hk_heap_t *h, const hk_block_t *b, const hk_block_t *n));
#if HK_SHARED_HERE
HK_SHARED bool heap_prev_ok(const hk_heap_t *h, const hk_block_t *b, const hk_block_t *n)
{
    if (HK_LIKELY(!n || (heap_addr_ok(h, n) && block_is_free(n) && n->next_free == b)))
        return true;
    hk__heap_flag(h, b, HK_WHY_LINK);
    return false;
}
#endif

/* A block the index hands out, before its size is believed. */
HK_SHARED_DECL(bool heap_take_ok(const hk_heap_t *h, const hk_block_t *b));
#if HK_SHARED_HERE
HK_SHARED bool heap_take_ok(const hk_heap_t *h, const hk_block_t *b)
{
    if (HK_LIKELY(heap_addr_ok(h, b) && heap_free_ok(h, b)))
        return true;
    hk__heap_flag(h, b, HK_WHY_FREE_BLOCK);
    return false;
}
#endif

#endif /* HK_HEAP_GUARD_H */
