/* SPDX-License-Identifier: MIT */
/*
 * index.h - the free index of a heap: one interface, three policies.
 *
 * The block layer (split, coalesce, boundary tags, checks: heap_ops.h) is
 * shared by all policies; a policy is only the index of free blocks. The
 * carve and the free path are each written once, as a chain of the verbs
 * below, and never ask which policy runs:
 *
 *   index_find(h, need, &at)   a free block of at least `need` bytes, left
 *                              in the index; `at` is where it sits
 *   index_at(h, b, size)       where the free block b of `size` bytes sits
 *   index_insert(h, b)         b (a free block, header written) joins
 *   index_remove(h, b, at)     b leaves
 *   index_replace(h, from, at, to, size)
 *                              `to`, a free block of `size` bytes, takes the
 *                              place of `from`, which leaves
 *   index_resize(h, b, at, size)
 *                              b grows or shrinks to `size` bytes where it
 *                              lies (replace with to == from)
 *   index_reset(h)             no block indexed
 *   index_check(h, ...)        what hk_heap_validate asks of the index
 *
 * "Where a block sits" (`at`) is what the policy would otherwise have to
 * recompute from a size the caller already had: the TLSF class; 0 for the
 * lists.
 *
 * Why replace is a verb of its own
 * --------------------------------
 * Nearly every index change the heap makes is one block becoming another
 * over the same memory: a split leaves a tail where a free block was, a
 * free grows a free neighbour (or is grown into by one), a resize gives a
 * tail back next to a free right neighbour. As unlink + insert that is two
 * list updates and up to four bitmap updates; each policy can often do it
 * as one link rewrite, or nothing:
 *   - TLSF: when `to` stays in from's class, `to` takes from's list
 *     position (no bitmap work; nothing at all for index_resize), otherwise
 *     from leaves its class and `to` is pushed on its own, in one step
 *     (tlsf_move: one unhook and one push, the free-block count untouched).
 *   - First fit (address order): always in place. Every replace the heap
 *     makes keeps `to` between from's neighbours by address: a split's
 *     tail and a merged block cover from's memory, and no free block lies
 *     between them (no two free blocks are neighbours).
 *   - Best fit (size order, ties by address): in place when `to` still
 *     sorts between from's list neighbours, else unlink + sorted insert.
 * `to` and `from` may overlap (a resize growing into a free neighbour
 * writes the tail inside it): from's links are read before any of to's
 * words is written, and to's header is written by the caller afterwards,
 * which is why `size` is passed. A damaged link met on the way (guard.h)
 * is never written through: from leaves as an unlink would leave it, and
 * `to` is indexed as a new block; the repair that follows rebuilds the rest.
 *
 * TLSF, the default, is inlined into the allocation and free paths
 * (fit_tlsf.h); the list policies are O(n) by nature and live out of line
 * (fit_list.c). A firmware that uses only TLSF compiles the others out
 * (HK_ENABLE_FIRST_FIT / _BEST_FIT = 0): index_is_tlsf() is then a
 * constant and every dispatch below folds away.
 */
#ifndef HK_HEAP_INDEX_H
#define HK_HEAP_INDEX_H

#include "heap/observe.h"
#include "heap/fit_tlsf.h"
#include "heap/heap_impl.h"

#define HK_HAS_LISTS (HK_ENABLE_FIRST_FIT || HK_ENABLE_BEST_FIT)

/* fit_list.c: address-ordered (first fit) and size-ordered (best fit) lists. */
void hk__list_insert(hk_heap_t *h, hk_block_t *b, size_t size);
void hk__list_unlink(hk_heap_t *h, hk_block_t *b);
void hk__list_replace(hk_heap_t *h, hk_block_t *from, hk_block_t *to, size_t size);
hk_block_t *hk__list_find(const hk_heap_t *h, size_t need);
const char *hk__list_check(const hk_heap_t *h, size_t *budget, size_t *count, const void **where);
/* fit_tlsf.c: the class table's check. */
const char *hk__tlsf_check(const hk_heap_t *h, size_t *budget, size_t *count, const void **where);
/* heap_check.c: the walk of one free list both index checks share. Every
 * node is a free block inside a region whose back link agrees, and
 * index_in_order(h, prev, b, at) holds; at most *budget steps. */
const char *hk__index_check_list(const hk_heap_t *h, const hk_block_t *head, unsigned at,
                                 size_t *budget, size_t *count, const void **where);

HK_INLINE bool index_is_tlsf(const hk_heap_t *h)
{
#if HK_HAS_LISTS
    return HK_LIKELY(h->fit == HK_FIT_TLSF);
#else
    (void)h;
    return true;
#endif
}

/* Where the free block b of `size` bytes sits: its TLSF class, 0 on a list. */
HK_INLINE unsigned index_at(const hk_heap_t *h, const hk_block_t *b, size_t size)
{
    (void)b;
    if (index_is_tlsf(h))
        return tlsf_index(h, size);
    return 0;
}

/* A free block of at least `need` bytes (a block size), left in the index,
 * and where it sits (*at); or NULL. Its header has been checked (guard.h). */
HK_INLINE hk_block_t *index_find(const hk_heap_t *h, size_t need, unsigned *at)
{
    if (index_is_tlsf(h))
        return tlsf_find(h, need, at);
    *at = 0;
#if HK_HAS_LISTS
    return hk__list_find(h, need);
#else
    return NULL;
#endif
}

/* b, a free block whose header and footer are written, joins the index. */
HK_INLINE void index_insert(hk_heap_t *h, hk_block_t *b)
{
    if (index_is_tlsf(h))
        tlsf_insert(h, b);
#if HK_HAS_LISTS
    else
        hk__list_insert(h, b, block_size(b));
#endif
}

/* The indexed free block b, sitting at `at`, leaves the index. */
HK_INLINE void index_remove(hk_heap_t *h, hk_block_t *b, unsigned at)
{
    if (index_is_tlsf(h))
        tlsf_unlink(h, b, at);
#if HK_HAS_LISTS
    else
        hk__list_unlink(h, b);
#endif
}

/* `to`, about to be a free block of `size` bytes (its header is written
 * after this call), takes the place of the indexed block `from`, which
 * sits at `at` and leaves. to is not from but may overlap it. The
 * free-block count is unchanged. */
HK_INLINE void index_replace(hk_heap_t *h, hk_block_t *from, unsigned at, hk_block_t *to,
                             size_t size)
{
    HK_ASSERT(to != from);
    if (index_is_tlsf(h)) {
        unsigned to_at = tlsf_index(h, size);
        if (HK_LIKELY(to_at == at))
            tlsf_replace(h, from, to, at);
        else
            tlsf_move(h, from, at, to, to_at);
    }
#if HK_HAS_LISTS
    else
        hk__list_replace(h, from, to, size);
#endif
}

/* The indexed block b, sitting at `at`, is about to become `size` bytes
 * (grown by a merge, or shrunk by an aligned allocation's cut) where it
 * lies: replace with to == from. TLSF: nothing at all while the class
 * stays. */
HK_INLINE void index_resize(hk_heap_t *h, hk_block_t *b, unsigned at, size_t size)
{
    if (index_is_tlsf(h)) {
        unsigned to_at = tlsf_index(h, size);
        if (to_at != at) /* the usual case of a merge on free, for some programs */
            tlsf_move(h, b, at, b, to_at);
    }
#if HK_HAS_LISTS
    else
        hk__list_replace(h, b, b, size);
#endif
}

/* No block indexed (the free-block count is the caller's). */
HK_INLINE void index_reset(hk_heap_t *h)
{
    if (index_is_tlsf(h))
        tlsf_reset(h);
    else
        h->list = NULL;
}

/* Does the free block b sit rightly at `at`, after prev (NULL: first) on
 * its list? TLSF: b's class is `at`; first fit: by address; best fit: by
 * size, then address. */
HK_INLINE bool index_in_order(const hk_heap_t *h, const hk_block_t *prev, const hk_block_t *b,
                              unsigned at)
{
    if (index_is_tlsf(h))
        return tlsf_index(h, block_size(b)) == at;
    if (!prev)
        return true;
    if (h->fit == HK_FIT_BEST && block_size(prev) != block_size(b))
        return block_size(prev) < block_size(b);
    return prev < b;
}

/* The index's part of hk_heap_validate: its own structure (TLSF: the
 * bitmaps agree with the lists) and every list (hk__index_check_list).
 * *count gets the blocks seen, at most *budget steps. NULL, or a reason and
 * *where. */
HK_INLINE const char *index_check(const hk_heap_t *h, size_t *budget, size_t *count,
                                  const void **where)
{
    if (index_is_tlsf(h))
        return hk__tlsf_check(h, budget, count, where);
#if HK_HAS_LISTS
    return hk__list_check(h, budget, count, where);
#else
    return "fit policy compiled out";
#endif
}

#endif /* HK_HEAP_INDEX_H */
