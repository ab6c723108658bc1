/* SPDX-License-Identifier: MIT */
/*
 * pool_impl.h - the pool's two verbs, pop and push, as inline functions so
 * that the size-class front end (src/tiered/) and the stack pool (src/stack/)
 * run the same code without a call or a second lock. Not public API.
 *
 * Layout of a pool over its buffer (stride S, count N):
 *
 *   base                     bump                              end
 *   | blk 0 | blk 1 | ...    | never handed out ...            |
 *     ^ free blocks anywhere below bump hold, in their first word, the
 *       address of the next free block (NULL ends the list).
 *
 * Blocks below bump are either in use or on the free list; blocks at and
 * above bump are neither and have never been written. So pop takes the free
 * list head if there is one, else the block at bump; push links the block in
 * front of the list. The link is a plain pointer load and store: every
 * block is aligned to at least a pointer (HK_POOL_ALIGN_OF), so this is safe
 * on targets without unaligned access, and it avoids the memcpy call a
 * 4-byte __builtin_memcpy of unknown alignment becomes on Cortex-M0 at -Os.
 *
 * The one check pop makes on the list is that the next link lies inside
 * [base, bump) or is NULL: a freed block that was written to (use after free)
 * most often breaks exactly that, and the check is two compares.
 */
#ifndef HK_POOL_IMPL_H
#define HK_POOL_IMPL_H

#include <stddef.h>

#include "common/hk_internal.h"
#include "common/hk_stats.h"
#include "heapkit/pool.h"

/* The public struct carries the shared usage counter (hk_stats.h) as a
 * look-alike struct, so pool.h need not include a private header; every
 * access goes through these casts. Unit: bytes, a block counting its stride.
 * The blocks in use are usage.used / stride. */
_Static_assert(sizeof(((hk_pool_t *)0)->usage) == sizeof(hk__usage_t), "pool usage layout");
_Static_assert(offsetof(hk_pool_t, usage) % _Alignof(hk__usage_t) == 0, "pool usage align");

HK_INLINE hk__usage_t *pool_usage(hk_pool_t *p)
{
    return (hk__usage_t *)(void *)&p->usage;
}

HK_INLINE const hk__usage_t *pool_usage_c(const hk_pool_t *p)
{
    return (const hk__usage_t *)(const void *)&p->usage;
}

HK_INLINE void *pool_link_get(const void *blk)
{
    return *(void *const *)blk;
}

HK_INLINE void pool_link_set(void *blk, void *next)
{
    *(void **)blk = next;
}

HK_INLINE size_t pool_index(const hk_pool_t *p, const void *blk)
{
    size_t off = (size_t)((const unsigned char *)blk - p->base);
    if ((p->stride & (p->stride - 1)) == 0)
        return off >> hk__ffs(p->stride);
    return off / p->stride;
}

/* Is blk on a block boundary? (Assumes blk is inside the pool.) */
HK_INLINE bool pool_on_boundary(const hk_pool_t *p, const void *blk)
{
    size_t off = (size_t)((const unsigned char *)blk - p->base);
    if ((p->stride & (p->stride - 1)) == 0)
        return (off & (p->stride - 1)) == 0;
    return off % p->stride == 0;
}

HK_INLINE bool pool_bit(const hk_pool_t *p, size_t i)
{
    return (p->bitmap[i / 32u] >> (i % 32u)) & 1u;
}

HK_INLINE void pool_bit_set(hk_pool_t *p, size_t i, bool v)
{
    uint32_t m = (uint32_t)1u << (i % 32u);
    if (v)
        p->bitmap[i / 32u] |= m;
    else
        p->bitmap[i / 32u] &= ~m;
}

/* Reports a damaged free list and cuts it, so no later pop follows it. */
void hk__pool_corrupt_link(hk_pool_t *p, void *blk);

/* Takes one block or returns NULL. Counts the call in the statistics. */
HK_INLINE void *pool_pop(hk_pool_t *p)
{
    unsigned char *blk = p->free_list;
    if (HK_LIKELY(blk != NULL)) {
        unsigned char *next = pool_link_get(blk);
        if (HK_UNLIKELY(next != NULL && (next < p->base || next >= p->bump))) {
            hk__pool_corrupt_link(p, blk);
            p->failed++;
            return NULL;
        }
        p->free_list = next;
    } else if (p->bump < p->end) {
        blk = p->bump;
        p->bump += p->stride;
    } else {
        p->failed++;
        return NULL;
    }
    if (p->bitmap)
        pool_bit_set(p, pool_index(p, blk), true);
    p->allocs++;
    hk__usage_take(pool_usage(p), p->stride);
    return blk;
}

/* Checks blk (inside the pool); reports and returns false on a misaligned
 * pointer, a never-allocated block or a double free. Out of line: the slow,
 * reporting half of pool_free_ok. */
bool hk__pool_check_free(hk_pool_t *p, void *blk);

/* The same checks, inline and silent for the fast path; on failure the
 * caller calls hk__pool_check_free to name the cause. */
HK_INLINE bool pool_free_ok(const hk_pool_t *p, const void *blk)
{
    if (!pool_on_boundary(p, blk) || (const unsigned char *)blk >= p->bump)
        return false;
    if (p->bitmap)
        return pool_bit(p, pool_index(p, blk));
    return blk != p->free_list && pool_usage_c(p)->used != 0;
}

HK_INLINE void pool_push(hk_pool_t *p, void *blk)
{
    pool_link_set(blk, p->free_list);
    p->free_list = blk;
    if (p->bitmap)
        pool_bit_set(p, pool_index(p, blk), false);
    hk__usage_give(pool_usage(p), p->stride);
    p->frees++;
}

#endif /* HK_POOL_IMPL_H */
