/* SPDX-License-Identifier: MIT */
/*
 * fit_tlsf.h - the two-level segregated fit index (the default policy).
 *
 * The algorithm
 * -------------
 * TLSF (Masmano, Ripoll, Crespo, Real: "TLSF: a New Dynamic Memory Allocator
 * for Real-Time Systems", ECRTS 2004) keeps one free list per size class and
 * two levels of bitmaps that say which lists are non-empty. The first level
 * splits sizes by powers of two, the second splits each power of two into
 * SL = 2^SLI equal classes (SLI chosen per heap, below). Finding a non-empty class at or above a
 * given one is two find-first-set instructions, so allocation and free take
 * a bounded number of steps whatever the number of blocks.
 *
 * The mapping (sizes are multiples of the granule G):
 *     size <  2^SMALL:  fl = 0, sl = size / G             (exact classes)
 *     size >= 2^SMALL:  f  = fls(size)
 *                       fl = f - SMALL + 1
 *                       sl = (size >> (f - SLI)) - SL
 * with SMALL = SLI + log2(G). Worked example on x86-64 (G = 16, SLI = 4,
 * SMALL = 8): size 240 -> fl 0, sl 15 (a list of 240-byte blocks only);
 * size 1000 -> f = 9, fl = 2, sl = (1000 >> 5) - 16 = 15, the class
 * [992, 1024). Class 0 being exact means small requests, the common case,
 * take the head of their list with no size comparison at all.
 *
 * Where heapkit departs from the paper
 * ------------------------------------
 * 1. Bounded in-class search. Classic TLSF rounds a request up to the next
 *    class boundary so that any block of the class found fits; a request of
 *    993 bytes then never uses a free 1000-byte block of its own class, and
 *    memory is stranded (the complaint behind several TLSF users' reports).
 *    heapkit first looks at up to HK_TLSF_SCAN blocks of the request's own
 *    class (config.h: 1 on 64-bit hosts, 4 on 32-bit targets, whose small
 *    heaps gain from the longer look) for one that fits, and only then
 *    moves to the classes above. The extra work is a constant, so the
 *    worst case stays O(1), and memory use comes close to best fit.
 * 2. A class table sized to the heap. Both levels are chosen at init from
 *    the largest block the heap must serve (config class_span, else the
 *    region): SLI grows by one per doubling of the span from 32 KiB
 *    (tlsf_sli_for: 1 up to 32 KiB, 4 from 256 KiB with HK_TLSF_SLI 4), and
 *    the first levels stop at the span's. So the table stays near 1/300 of
 *    the heap: a 32 KiB MCU heap has 11 x 2 classes (80 bytes of heads),
 *    not 25 x 16; the coarser classes of a small heap lose little to the
 *    in-class search of point 1. Blocks larger than the table covers (half
 *    the region when derived from it, or a bigger region added later) go to
 *    the top class, which is then searched completely: correct, and short,
 *    since a region holds at most two blocks above 3/8 of its size.
 * 3. LIFO lists: a freed block is pushed at the head of its list, so the
 *    memory touched last is reused first (warm in cache).
 */
#ifndef HK_HEAP_FIT_TLSF_H
#define HK_HEAP_FIT_TLSF_H

#include <limits.h>

#include "heap/guard.h"

/* The second-level index of a heap whose table covers blocks up to `span`
 * bytes: one more per doubling from 32 KiB (fls(span) - 13), within
 * [HK_TLSF_SLI_LO, HK_TLSF_SLI]. The table then takes about 1/300 of the
 * heap at every size, and the classes are finest where the heap is large
 * enough to afford them. */
HK_INLINE unsigned tlsf_sli_for(size_t span)
{
    unsigned f = hk__fls(span | 1u);
    unsigned s = f > 13u ? f - 13u : 0u;
    if (s < HK_TLSF_SLI_LO)
        s = HK_TLSF_SLI_LO;
    if (s > HK_TLSF_SLI)
        s = HK_TLSF_SLI;
    return s;
}

/* First-level classes needed for blocks up to `span` bytes with second-level
 * index sli: up to the first level of `span` itself, and at least 2, so
 * that the top (catch-all) class is never one of the exact classes. */
HK_INLINE unsigned tlsf_fl_count_for(size_t span, unsigned sli)
{
    unsigned small = sli + HK_LOG2_G;
    if (span < ((size_t)2 << small))
        return 2;
    return hk__fls(span) - small + 2;
}

/* The class of a block of `size` bytes; oversize blocks go to the top class.
 * Below 2^(sli + log2 G) the classes are exact (size / G); above, with
 * f = fls(size) and t = f - sli, the class is ((t - log2 G) << sli) +
 * (size >> t): first level f - sli - log2 G + 1, second level the sli bits
 * below the top one (fit_tlsf.h's header). */
HK_SHARED_DECL(unsigned tlsf_index(const hk_heap_t *h, size_t size));
#if HK_SHARED_HERE
HK_SHARED unsigned tlsf_index(const hk_heap_t *h, size_t size)
{
    unsigned sli = tlsf_sli(h);
    if (size < ((size_t)1 << (sli + HK_LOG2_G)))
        return (unsigned)(size >> HK_LOG2_G);
    unsigned t = hk__fls(size) - sli;
    unsigned idx = ((t - HK_LOG2_G) << sli) + (unsigned)(size >> t);
    if (HK_UNLIKELY(idx >= tlsf_nclasses(h)))
        return tlsf_nclasses(h) - 1u;
    return idx;
}
#endif

/* Mask of second-level classes >= sl (sl may equal the heap's second-level
 * count: none of its classes). */
HK_INLINE uint32_t tlsf_sl_from(unsigned sl)
{
#if HK_TLSF_SLI < 5
    return (uint32_t)(~(uint32_t)0 << sl);
#else
    return sl >= 32 ? 0 : (uint32_t)(~(uint32_t)0 << sl);
#endif
}

#if defined(__OPTIMIZE_SIZE__) /* compiled once, in heap/shared.c (heap_impl.h) */
#define tlsf_move hk__tlsf_move
#endif

/* Pushes b on the list of class idx (b's class); no count. */
HK_INLINE void tlsf_push(hk_heap_t *h, hk_block_t *b, unsigned idx)
{
    unsigned fl = tlsf_fl_of(h, idx), sl = tlsf_sl_of(h, idx);
    hk_block_t *head = tlsf_head(h, idx);
    HK_ASSERT(idx < tlsf_nclasses(h));
    /* class/bitmap agreement: a list has a head iff its bit is set */
    HK_ASSERT(!head == !(tlsf_slmap(h, fl) & (1u << sl)));
    if (head && !heap_next_ok(h, NULL, head))
        head = NULL; /* a damaged head is not written through (guard.h) */
    b->next_free = head;
    b->prev_free = NULL;
    tlsf_head(h, idx) = b;
    if (head) {
        head->prev_free = b;
    } else {
        tlsf_slmap(h, fl) = (hk_slmap_t)(tlsf_slmap(h, fl) | (1u << sl));
        h->fl_bitmap |= (size_t)1 << fl;
    }
}

/* Takes b off the list of class idx; no count. False if a damaged prev
 * link said "first" (noted; the lists are left as they are). */
HK_INLINE bool tlsf_unhook(hk_heap_t *h, hk_block_t *b, unsigned idx)
{
    hk_block_t *next = b->next_free, *prev = b->prev_free;
    if (!heap_next_ok(h, b, next))
        next = NULL;
    if (!heap_prev_ok(h, b, prev))
        prev = NULL;
    if (next)
        next->prev_free = prev;
    if (prev) {
        prev->next_free = next;
        return true;
    }
    if (HK_UNLIKELY(tlsf_head(h, idx) != b)) { /* a damaged prev link said "first" */
        hk__heap_flag(h, b, HK_WHY_LINK);
        return false;
    }
    tlsf_head(h, idx) = next;
    if (!next) {
        unsigned fl = tlsf_fl_of(h, idx), sl = tlsf_sl_of(h, idx);
        HK_ASSERT((tlsf_slmap(h, fl) & (1u << sl)) && (h->fl_bitmap & ((size_t)1 << fl)));
        tlsf_slmap(h, fl) = (hk_slmap_t)(tlsf_slmap(h, fl) & ~(1u << sl));
        if (!tlsf_slmap(h, fl))
            h->fl_bitmap &= ~((size_t)1 << fl);
    }
    return true;
}

/* Pushes b on the list of class idx (which must be b's class). */
HK_SHARED_DECL(void tlsf_insert_at(hk_heap_t *h, hk_block_t *b, unsigned idx));
#if HK_SHARED_HERE
HK_SHARED void tlsf_insert_at(hk_heap_t *h, hk_block_t *b, unsigned idx)
{
    tlsf_push(h, b, idx);
    h->free_blocks++;
}
#endif

HK_SHARED_DECL(void tlsf_insert(hk_heap_t *h, hk_block_t *b));
#if HK_SHARED_HERE
HK_SHARED void tlsf_insert(hk_heap_t *h, hk_block_t *b)
{
    tlsf_insert_at(h, b, tlsf_index(h, block_size(b)));
}
#endif

/* `to` takes the place of `from` on the list of class idx: the common case
 * when a block grows or shrinks without leaving its class (a split of a big
 * block, or a free next to one), which then costs no bitmap work at all.
 * from's links are read before to's are written, so the two may overlap. */
HK_SHARED_DECL(void tlsf_replace(hk_heap_t *h, hk_block_t *from, hk_block_t *to, unsigned idx));
#if HK_SHARED_HERE
HK_SHARED void tlsf_replace(hk_heap_t *h, hk_block_t *from, hk_block_t *to, unsigned idx)
{
    hk_block_t *next = from->next_free, *prev = from->prev_free;
    if (!heap_next_ok(h, from, next))
        next = NULL;
    if (!heap_prev_ok(h, from, prev))
        prev = NULL;
    if (!prev && HK_UNLIKELY(tlsf_head(h, idx) != from)) {
        /* a damaged prev link said "first": from's neighbours are not
         * written through, to joins its class as a new block */
        hk__heap_flag(h, from, HK_WHY_LINK);
        tlsf_push(h, to, idx);
        return;
    }
    block_link_between(to, prev, next, &tlsf_head(h, idx));
}
#endif

/* `to` takes the place of `from` in another class: from leaves class idx,
 * to is pushed on class to_idx, in one step (the free-block count stays). */
HK_SHARED_DECL(void tlsf_move(hk_heap_t *h, hk_block_t *from, unsigned idx, hk_block_t *to,
                              unsigned to_idx));
#if HK_SHARED_HERE
HK_SHARED void tlsf_move(hk_heap_t *h, hk_block_t *from, unsigned idx, hk_block_t *to,
                         unsigned to_idx)
{
    HK_ASSERT(idx != to_idx);
    (void)tlsf_unhook(h, from, idx); /* on damage, noted: to is indexed all the same */
    tlsf_push(h, to, to_idx);
}
#endif

/* Unlinks b from the list of class idx. */
HK_SHARED_DECL(void tlsf_unlink(hk_heap_t *h, hk_block_t *b, unsigned idx));
#if HK_SHARED_HERE
HK_SHARED void tlsf_unlink(hk_heap_t *h, hk_block_t *b, unsigned idx)
{
    (void)tlsf_unhook(h, b, idx);
    h->free_blocks--;
}
#endif

/* A free block of at least `need` bytes (a block size, multiple of G), or
 * NULL; *idx gets its class. Does not remove it. */
HK_SHARED_DECL(hk_block_t *tlsf_find(const hk_heap_t *h, size_t need, unsigned *idx));
#if HK_SHARED_HERE
HK_SHARED hk_block_t *tlsf_find(const hk_heap_t *h, size_t need, unsigned *idx)
{
    unsigned i = tlsf_index(h, need);
    unsigned fl = tlsf_fl_of(h, i), sl = tlsf_sl_of(h, i);
    if (fl) {
        /* Not an exact class: look at a few blocks of the request's own
         * class (all of the top class), then go strictly above. */
        size_t bound = i == tlsf_nclasses(h) - 1u ? h->free_blocks
                                                                     : HK_TLSF_SCAN;
        hk_block_t *b = tlsf_head(h, i);
        /* The blocks passed over are only read, so an address check
         * bounds them; the one taken gets the full check. */
        for (size_t k = 0; b && k < bound; k++, b = b->next_free) {
            if (HK_UNLIKELY(!heap_addr_ok(h, b)))
                break;
            if (block_size(b) >= need) {
                if (HK_UNLIKELY(!heap_take_ok(h, b)))
                    break;
                *idx = i;
                return b;
            }
        }
        sl++;
    }
    uint32_t slmap = tlsf_slmap(h, fl) & tlsf_sl_from(sl);
    if (!slmap) {
        size_t flmap = fl + 1 < HK_FL_MAX ? h->fl_bitmap & (~(size_t)0 << (fl + 1)) : 0;
        if (!flmap)
            return NULL;
        fl = hk__ffs(flmap);
        slmap = tlsf_slmap(h, fl);
    }
    i = tlsf_idx_of(h, fl, hk__ffs32(slmap));
    *idx = i;
    hk_block_t *b = tlsf_head(h, i);
    HK_ASSERT(b != NULL); /* class/bitmap agreement */
    if (!heap_take_ok(h, b))
        return NULL;
#if HK_TLSF_LOW_SCAN
    /* the lowest-addressed of the class's first blocks (config.h): each
     * link is checked before it is followed, the one taken fully */
    hk_block_t *low = b, *p = b, *c = b->next_free;
    for (unsigned k = 0; c && k < HK_TLSF_LOW_SCAN; k++, p = c, c = c->next_free) {
        if (HK_UNLIKELY(!heap_next_ok(h, p, c)))
            break;
        if ((uintptr_t)c < (uintptr_t)low)
            low = c;
    }
    if (low != b && !heap_take_ok(h, low))
        return NULL;
    b = low;
#endif
    if (HK_UNLIKELY(block_size(b) < need)) { /* a header rewritten with a sane smaller size */
        hk__heap_flag(h, b, HK_WHY_FREE_BLOCK);
        return NULL;
    }
    return b;
}
#endif

/* Empties the index: no list, no bitmap bit (the free-block count is the
 * caller's). */
HK_INLINE void tlsf_reset(hk_heap_t *h)
{
    for (unsigned i = HK_TLSF_BIAS; i < tlsf_nclasses(h); i++)
        tlsf_head(h, i) = NULL;
    for (unsigned fl = 0; fl < h->fl_count; fl++)
        tlsf_slmap(h, fl) = 0;
    h->fl_bitmap = 0;
}

#endif /* HK_HEAP_FIT_TLSF_H */
