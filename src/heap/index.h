/* SPDX-License-Identifier: MIT */
/*
 * index.h - the free index of a heap: one interface, three policies.
 *
 * The block layer (split, coalesce, boundary tags, checks) is shared by all
 * policies; a policy is only the index of free blocks: insert, remove, find.
 * TLSF is inlined into the allocation and free paths; the list policies are
 * O(n) by nature and live out of line in fit_list.c. A firmware that uses
 * only TLSF compiles the others out (HK_ENABLE_FIRST_FIT / _BEST_FIT = 0) and
 * the dispatch below folds away.
 */
#ifndef HK_HEAP_INDEX_H
#define HK_HEAP_INDEX_H

#include "heap/observe.h"
#include "heap/fit_tlsf.h"
#include "heap/heap_impl.h"

#define HK_HAS_LISTS (HK_ENABLE_FIRST_FIT || HK_ENABLE_BEST_FIT)

/* fit_list.c: address-ordered (first fit) and size-ordered (best fit) lists. */
void hk__list_insert(hk_heap_t *h, hk_block_t *b);
void hk__list_unlink(hk_heap_t *h, hk_block_t *b);
hk_block_t *hk__list_find(const hk_heap_t *h, size_t need);

HK_INLINE bool index_is_tlsf(const hk_heap_t *h)
{
#if HK_HAS_LISTS
    return HK_LIKELY(h->fit == HK_FIT_TLSF);
#else
    (void)h;
    return true;
#endif
}

HK_INLINE void index_insert(hk_heap_t *h, hk_block_t *b)
{
    if (index_is_tlsf(h))
        tlsf_insert(h, b);
#if HK_HAS_LISTS
    else
        hk__list_insert(h, b);
#endif
}

HK_INLINE void index_remove(hk_heap_t *h, hk_block_t *b)
{
    if (index_is_tlsf(h))
        tlsf_remove(h, b);
#if HK_HAS_LISTS
    else
        hk__list_unlink(h, b);
#endif
}

/* Finds a free block of at least `need` bytes and takes it out of the index. */
HK_INLINE hk_block_t *index_take(hk_heap_t *h, size_t need)
{
    hk_block_t *b;
    if (index_is_tlsf(h)) {
        unsigned idx;
        b = tlsf_find(h, need, &idx);
        if (b)
            tlsf_unlink(h, b, idx);
        return b;
    }
#if HK_HAS_LISTS
    b = hk__list_find(h, need);
    if (b)
        hk__list_unlink(h, b);
#else
    b = NULL;
#endif
    return b;
}

/* Finds without taking (statistics probes). */
HK_INLINE hk_block_t *index_peek(const hk_heap_t *h, size_t need)
{
    if (index_is_tlsf(h)) {
        unsigned idx;
        return tlsf_find(h, need, &idx);
    }
#if HK_HAS_LISTS
    return hk__list_find(h, need);
#else
    return NULL;
#endif
}

#endif /* HK_HEAP_INDEX_H */
