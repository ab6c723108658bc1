/* SPDX-License-Identifier: MIT */
/*
 * fit_list.c - the two list policies: address-ordered first fit and
 * size-ordered best fit.
 *
 * Both keep every free block on one doubly linked list; they differ only in
 * the order, and the order decides the fit:
 *   - HK_FIT_FIRST keeps the list sorted by address, and takes the first block
 *     that fits: allocations pack towards low addresses and the high end stays
 *     in large pieces (the policy of FreeRTOS heap_4 and of the classic
 *     address-ordered first fit, which Johnstone and Wilson, "The Memory
 *     Fragmentation Problem: Solved?", ISMM 1998, found among the least
 *     fragmenting on real traces).
 *   - HK_FIT_BEST keeps it sorted by size (ties by address, smallest first),
 *     so the first block that fits is the best fit (FreeRTOS heap_2's order,
 *     here with the physical-neighbour merge that heap_2 lacks).
 * Insert walks to the sorted position and find walks to the first fit, so
 * both are O(free blocks); unlink is O(1).
 */
#include "heap/index.h"

#if HK_HAS_LISTS

/* Does a block at `a` of `sa` bytes come before the block b in the heap's
 * order? */
static bool list_before(const hk_heap_t *h, const hk_block_t *a, size_t sa, const hk_block_t *b)
{
    if (h->fit == HK_FIT_BEST) {
        size_t sb = block_size(b);
        if (sa != sb)
            return sa < sb;
    }
    return (uintptr_t)a < (uintptr_t)b;
}

/* b, of `size` bytes (its header may not be written yet), joins the list
 * at its sorted place. */
void hk__list_insert(hk_heap_t *h, hk_block_t *b, size_t size)
{
    hk_block_t *prev = NULL, *cur = h->list;
    if (cur && !heap_next_ok(h, NULL, cur))
        cur = NULL;
    while (cur && !list_before(h, b, size, cur)) {
        hk_block_t *n = cur->next_free;
        if (!heap_next_ok(h, cur, n))
            n = NULL; /* not followed; the index is rebuilt (guard.h) */
        prev = cur;
        cur = n;
    }
    block_link_between(b, prev, cur, &h->list);
    h->free_blocks++;
}

void hk__list_unlink(hk_heap_t *h, hk_block_t *b)
{
    hk_block_t *next = b->next_free, *prev = b->prev_free;
    if (!heap_next_ok(h, b, next))
        next = NULL;
    if (!heap_prev_ok(h, b, prev))
        prev = NULL;
    if (HK_UNLIKELY(!prev && h->list != b)) { /* a damaged prev link said "first" */
        hk__heap_flag(h, b, HK_WHY_LINK);
        h->free_blocks--;
        return;
    }
    if (next)
        next->prev_free = prev;
    if (prev)
        prev->next_free = next;
    else
        h->list = next;
    h->free_blocks--;
}

/* `to`, of `size` bytes, takes the place of `from`. In place when the
 * order holds: always for first fit (index.h: every replace keeps `to`
 * between from's neighbours by address), for best fit when `to` still
 * sorts between them; otherwise from leaves and `to` is inserted. */
void hk__list_replace(hk_heap_t *h, hk_block_t *from, hk_block_t *to, size_t size)
{
    hk_block_t *next = from->next_free, *prev = from->prev_free;
    if (!heap_next_ok(h, from, next))
        next = NULL;
    if (!heap_prev_ok(h, from, prev))
        prev = NULL;
    if (HK_UNLIKELY(!prev && h->list != from)) {
        /* a damaged prev link said "first": from's neighbours are not
         * written through, to is inserted as a new block */
        hk__heap_flag(h, from, HK_WHY_LINK);
        hk__list_insert(h, to, size);
        h->free_blocks--;
        return;
    }
    HK_ASSERT(h->fit == HK_FIT_BEST || ((!prev || prev < to) && (!next || to < next)));
    if (h->fit == HK_FIT_BEST &&
        ((prev && list_before(h, to, size, prev)) || (next && !list_before(h, to, size, next)))) {
        hk__list_unlink(h, from);
        hk__list_insert(h, to, size);
        return;
    }
    block_link_between(to, prev, next, &h->list);
}

hk_block_t *hk__list_find(const hk_heap_t *h, size_t need)
{
    size_t seen = 0;
    for (hk_block_t *b = h->list; b; b = b->next_free, seen++) {
        if (!heap_take_ok(h, b))
            return NULL;
        if (block_size(b) >= need)
            return b;
    }
    /* The whole list was seen: it must hold every free block. A NULL link
     * written over a free block cuts it short, hiding the blocks behind. */
    if (HK_UNLIKELY(seen != h->free_blocks))
        hk__heap_flag(h, h->list, HK_WHY_LINK);
    return NULL;
}

const char *hk__list_check(const hk_heap_t *h, size_t *budget, size_t *count, const void **where)
{
    return hk__index_check_list(h, h->list, 0, budget, count, where);
}

#endif /* HK_HAS_LISTS */
