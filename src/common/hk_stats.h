/* SPDX-License-Identifier: MIT */
/*
 * hk_stats.h - the one usage counter every heapkit allocator keeps: what is
 * in use now, the highest use and the lowest free since the last reset of
 * the marks. Not public API; each allocator fills hk_stats_t from it.
 *
 * The capacity may grow (regions added to a heap, slabs taken by a cache)
 * or shrink, and the low-water mark must not rise when it grows: "free" is
 * capacity minus use, and a new region is free memory that was never low.
 * Either mark can move only when use rises past one of two levels: the peak,
 * or the use at which free reaches a new low (capacity - min_free). The
 * counter keeps the lower of the two as `trip`, so the hot path is one
 * compare, `used > trip`. (While the capacity only grows, the low level is
 * never below the peak and trip is the peak.)
 *
 * Units are the allocator's (bytes for heaps, blocks times stride for
 * pools); one allocator uses one unit for every field.
 */
#ifndef HK_STATS_H
#define HK_STATS_H

#include "common/hk_internal.h"

typedef struct {
    size_t total;    /* capacity under management                     */
    size_t used;     /* in use now                                    */
    size_t peak;     /* highest `used` since start or the last reset  */
    size_t min_free; /* lowest total - used since then                */
    size_t trip;     /* min(peak, total - min_free): a mark may move   */
} hk__usage_t;

HK_INLINE size_t hk__usage_trip(const hk__usage_t *u)
{
    size_t low = u->total - u->min_free;
    return low < u->peak ? low : u->peak;
}

/* A counter over `total` units, none in use. */
HK_INLINE void hk__usage_init(hk__usage_t *u, size_t total)
{
    u->total = total;
    u->used = 0;
    u->peak = 0;
    u->min_free = total;
    u->trip = 0;
}

/* The capacity grows by `more` units (free ones): the low mark stays. */
HK_INLINE void hk__usage_grow(hk__usage_t *u, size_t more)
{
    u->total += more;
    u->trip = hk__usage_trip(u);
}

/* The capacity shrinks by `less` free units (a region or slab given back).
 * The low mark follows when free would otherwise read below it. */
HK_INLINE void hk__usage_shrink(hk__usage_t *u, size_t less)
{
    HK_ASSERT(less <= u->total - u->used);
    u->total -= less;
    if (u->total - u->used < u->min_free)
        u->min_free = u->total - u->used;
    u->trip = hk__usage_trip(u);
}

/* n units become used. */
HK_INLINE void hk__usage_take(hk__usage_t *u, size_t n)
{
    u->used += n;
    HK_ASSERT(u->used <= u->total);
    if (HK_UNLIKELY(u->used > u->trip)) {
        if (u->used > u->peak)
            u->peak = u->used;
        if (u->total - u->used < u->min_free)
            u->min_free = u->total - u->used;
        u->trip = u->used; /* both marks are now at or past this level */
    }
}

/* n units are given back. */
HK_INLINE void hk__usage_give(hk__usage_t *u, size_t n)
{
    HK_ASSERT(n <= u->used);
    u->used -= n;
}

/* Restart the marks from the current levels. */
HK_INLINE void hk__usage_reset(hk__usage_t *u)
{
    u->peak = u->used;
    u->min_free = u->total - u->used;
    u->trip = u->used;
}

/* The marks are consistent (for the validators). */
HK_INLINE bool hk__usage_ok(const hk__usage_t *u)
{
    return u->used <= u->total && u->peak >= u->used && u->min_free <= u->total - u->used &&
           u->trip == hk__usage_trip(u);
}

/* Fills the shared fields of hk_stats_t: total, used, free, peak_used,
 * min_ever_free. */
HK_INLINE void hk__usage_fill(const hk__usage_t *u, hk_stats_t *out)
{
    out->total = u->total;
    out->used = u->used;
    out->free = u->total - u->used;
    out->peak_used = u->peak;
    out->min_ever_free = u->min_free;
}

/* Adds one part's statistics into *sum, for allocators made of others (a
 * tiered allocator's class pools and fallback heap, a chain's heaps): the
 * sizes and counts add up; largest_free is the largest part's, smallest_free
 * the smallest non-zero one's. The parts' marks add up too, which makes
 * peak_used an upper and min_ever_free a lower bound of the whole's (the
 * parts need not peak together). The call counters are the caller's own.
 * Start from a zeroed *sum. */
HK_INLINE void hk__stats_add(hk_stats_t *sum, const hk_stats_t *part)
{
    sum->total += part->total;
    sum->used += part->used;
    sum->free += part->free;
    if (part->largest_free > sum->largest_free)
        sum->largest_free = part->largest_free;
    if (part->smallest_free && (!sum->smallest_free || part->smallest_free < sum->smallest_free))
        sum->smallest_free = part->smallest_free;
    sum->free_blocks += part->free_blocks;
    sum->used_blocks += part->used_blocks;
    sum->peak_used += part->peak_used;
    sum->min_ever_free += part->min_ever_free;
    sum->requested += part->requested;
}

#endif /* HK_STATS_H */
