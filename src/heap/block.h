/* SPDX-License-Identifier: MIT */
/*
 * block.h - the block layer of the heap: the only code that touches header bits.
 *
 * Memory layout
 * -------------
 * A region is cut into blocks laid end to end and closed by an end marker.
 * Every block starts with one machine word, the header, holding the block's
 * size and three flag bits; the caller's pointer (the payload) follows it:
 *
 *     used block                         free block
 *     +---------------------------+      +---------------------------+
 *     | size | SLACK | PREV_FREE  | <-B  | size | FREE  | 0          |
 *     +---------------------------+      +---------------------------+
 *     | payload ...               | <-p  | next_free                 |
 *     |                           |      | prev_free                 |
 *     |                  [slack]  |      | ...                       |
 *     +---------------------------+      | footer = size             |
 *     | next block's header       |      +---------------------------+
 *
 * `size` is the distance from this header to the next one, so it counts the
 * header, and it is a multiple of the granule G = HK_ALIGN. Headers sit at
 * addresses congruent to -W modulo G (W = sizeof(size_t)), so that payloads
 * are G-aligned; the next block is at B + size, always.
 *
 * Boundary tags (Knuth, TAOCP vol. 1, 2.5): a free block repeats its size in
 * its last word (the footer), and the block after it carries PREV_FREE. When
 * freeing B, the previous block is found as B - footer only if PREV_FREE is
 * set; a used block needs no footer, so its whole tail is payload. That is
 * why a used block costs exactly one word of overhead while the previous-block
 * link lives in free blocks only.
 *
 * Why the fields sit where they do:
 *   - size and flags share one word so that one load answers "how big, is it
 *     free, is my left neighbour free" on the free path;
 *   - next_free and prev_free come first in the payload so that a minimum
 *     block (4 words: header, two links, footer) holds them all;
 *   - the footer is the last word, directly below the next header, so the
 *     next block reaches it with a fixed offset (B - W).
 *
 * SLACK: the heap keeps the exact size each caller asked for (for
 * `requested` statistics and hk_heap_usable_size) without a second word. The
 * unused tail of a used block, slack = size - W - requested, is below
 * 2 * MIN_BLOCK - W <= 255 bytes (a request rounded up to the minimum
 * block, plus a tail too small to split off); when it is not zero, its last byte (directly
 * below the next header) stores it and the SLACK flag says so. When slack is
 * zero the flag is clear and the caller owns every byte. At HK_DEBUG >= 1
 * the debug trailer sits in the slack, right after the caller's bytes, and
 * the slack byte is always present (see heap/trailer.h).
 *
 * End marker: each region ends with a header of size 0 that is never free;
 * its PREV_FREE bit tracks the region's last block. Walks stop at it and
 * coalescing never crosses it. The first block of a region never has
 * PREV_FREE set, so nothing ever looks below a region's start.
 *
 * Invariants (hk_heap_validate checks them all): no two free blocks are
 * physical neighbours; a block's PREV_FREE equals its left neighbour's FREE;
 * every free block's footer equals its size; every free block is in the free
 * index of the heap's fit policy exactly once.
 */
#ifndef HK_HEAP_BLOCK_H
#define HK_HEAP_BLOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/hk_internal.h"
#include "heap/trailer.h"

typedef struct hk_block hk_block_t;
struct hk_block {
    size_t head;           /* size | flags; valid always                 */
    hk_block_t *next_free; /* free blocks only: links of the free index  */
    hk_block_t *prev_free;
};

#define HK_W ((size_t)sizeof(size_t))
#define HK_G ((size_t)HK_ALIGN)
#define HK_LOG2_G ((unsigned)HK__LOG2(HK_ALIGN))

/* The smallest block: header, two links and a footer, rounded to G. */
#define HK_MIN_BLOCK (((4 * sizeof(size_t)) + HK_ALIGN - 1) & ~((size_t)HK_ALIGN - 1))

#define HK_BF_FREE ((size_t)1)      /* this block is free                       */
#define HK_BF_PREV_FREE ((size_t)2) /* the block below this one is free         */
#define HK_BF_SLACK ((size_t)4)     /* used: last byte holds the slack          */
#define HK_BF_MASK ((size_t)7)

_Static_assert(HK_ALIGN >= 8, "the block header needs three flag bits: HK_ALIGN >= 8");
_Static_assert(2 * HK_MIN_BLOCK - sizeof(size_t) + HK_DBG_EXTRA <= 256, "slack must fit in one byte");

/* Requests above this are refused before any arithmetic can wrap. */
#define HK_MAX_REQUEST (SIZE_MAX >> 1)

/* ---- header accessors ---------------------------------------------------- */
HK_INLINE hk_block_t *block_at(uintptr_t addr)
{
    return (hk_block_t *)(void *)addr;
}

HK_INLINE size_t block_size(const hk_block_t *b)
{
    return b->head & ~HK_BF_MASK;
}

/* Free: FREE without SLACK. FREE with SLACK is a block parked in the
 * heap's small-object front (heap_ops.h): freed by the caller, still used
 * to the block layer (never merged, not indexed). */
HK_INLINE bool block_is_free(const hk_block_t *b)
{
    return (b->head & (HK_BF_FREE | HK_BF_SLACK)) == HK_BF_FREE;
}

HK_INLINE bool block_is_parked(const hk_block_t *b)
{
    return (b->head & (HK_BF_FREE | HK_BF_SLACK)) == (HK_BF_FREE | HK_BF_SLACK);
}

/* Free or parked: not a live block (what a caller's free must not meet). */
HK_INLINE bool block_is_dead(size_t head)
{
    return (head & HK_BF_FREE) != 0;
}

/* Parks the used block b of `size` bytes: FREE | SLACK, PREV_FREE kept. */
HK_INLINE void block_park(hk_block_t *b, size_t head)
{
    b->head = head | HK_BF_FREE | HK_BF_SLACK;
}

/* Makes b, a fresh block of `size` bytes whose left neighbour is used, a
 * parked one (its slack byte is written when it is handed out). */
HK_INLINE void block_make_parked(hk_block_t *b, size_t size)
{
    b->head = size | HK_BF_FREE | HK_BF_SLACK;
}

/* The header a parked block of `size` bytes has, PREV_FREE aside. */
HK_INLINE size_t block_parked_head(size_t size)
{
    return size | HK_BF_FREE | HK_BF_SLACK;
}

/* Unparks b: a plain used block again, of the same size (slack rewritten
 * by block_make_used). */
HK_INLINE void block_unpark(hk_block_t *b)
{
    b->head &= ~(HK_BF_FREE | HK_BF_SLACK);
}

HK_INLINE bool block_prev_is_free(const hk_block_t *b)
{
    return (b->head & HK_BF_PREV_FREE) != 0;
}

HK_INLINE bool block_is_end(const hk_block_t *b)
{
    return block_size(b) == 0;
}

HK_INLINE hk_block_t *block_next(const hk_block_t *b)
{
    return block_at((uintptr_t)b + block_size(b));
}

/* The footer of the block below b: valid only when b's PREV_FREE is set. */
HK_INLINE size_t block_prev_footer(const hk_block_t *b)
{
    return ((const size_t *)(const void *)b)[-1];
}

HK_INLINE hk_block_t *block_prev(const hk_block_t *b)
{
    return block_at((uintptr_t)b - block_prev_footer(b));
}

HK_INLINE void *block_payload(const hk_block_t *b)
{
    return (void *)((uintptr_t)b + HK_W);
}

HK_INLINE hk_block_t *block_from_payload(const void *p)
{
    return block_at((uintptr_t)p - HK_W);
}

HK_INLINE void block_set_prev_free(hk_block_t *b)
{
    b->head |= HK_BF_PREV_FREE;
}

HK_INLINE void block_clear_prev_free(hk_block_t *b)
{
    b->head &= ~HK_BF_PREV_FREE;
}

/* Makes b a free block of `size` bytes: header (its left neighbour is used,
 * by the no-two-free-neighbours invariant) and footer. Does not touch the
 * next block's PREV_FREE; callers do. */
HK_INLINE void block_make_free(hk_block_t *b, size_t size)
{
    HK_ASSERT(size >= HK_MIN_BLOCK && !(size & (HK_G - 1)));
    b->head = size | HK_BF_FREE;
    *(size_t *)(void *)((uintptr_t)b + size - HK_W) = size;
}

/* Makes b a used block of `size` bytes that holds `req` requested bytes
 * (req <= size - W), keeping its PREV_FREE flag. With HK_HEAP_EXACT,
 * records the slack in the last byte when non-zero (SLACK set). */
HK_INLINE void block_make_used(hk_block_t *b, size_t size, size_t req)
{
    size_t slack = size - HK_W - req;
    size_t keep = b->head & HK_BF_PREV_FREE;
    HK_ASSERT(req + HK_W <= size && slack < 256 && !(size & (HK_G - 1)));
#if HK_HEAP_EXACT
    if (slack) {
        b->head = size | keep | HK_BF_SLACK;
        *(unsigned char *)((uintptr_t)b + size - 1) = (unsigned char)slack;
        return;
    }
#endif
    (void)slack;
    b->head = size | keep;
}

/* The slack of a used block: payload bytes the caller did not ask for. */
HK_INLINE size_t block_slack(const hk_block_t *b)
{
#if HK_HEAP_EXACT
    /* a parked block keeps its slack byte: FREE | SLACK */
    if (!(b->head & HK_BF_SLACK))
        return 0;
    return *(const unsigned char *)((uintptr_t)b + block_size(b) - 1);
#else
    (void)b; /* no slack recorded: the whole payload counts as asked for */
    return 0;
#endif
}

/* Bytes the caller asked for (used blocks; without HK_HEAP_EXACT, the
 * bytes it may use) or could use (free blocks). */
HK_INLINE size_t block_requested(const hk_block_t *b)
{
    return block_size(b) - HK_W - (block_is_free(b) ? 0 : block_slack(b));
}

/* Writes an end marker at e; prev_free tells whether the last block is free. */
HK_INLINE void block_make_end(hk_block_t *e, bool prev_free)
{
    e->head = prev_free ? HK_BF_PREV_FREE : 0;
}

/* Block size that serves a request of n bytes (n <= HK_MAX_REQUEST); at
 * HK_DEBUG >= 1 it includes the debug trailer (heap/trailer.h). */
HK_INLINE size_t block_size_for(size_t n)
{
    size_t s = (n + HK_W + HK_DBG_EXTRA + HK_G - 1) & ~(HK_G - 1);
    return s < HK_MIN_BLOCK ? HK_MIN_BLOCK : s;
}

/* ---- header words --------------------------------------------------------
 * The hot paths load a header once and test the loaded word: these name
 * what each test means, so that no file but this one spells a flag bit. */
HK_INLINE size_t block_head(const hk_block_t *b)
{
    return b->head;
}

HK_INLINE size_t head_size(size_t head)
{
    return head & ~HK_BF_MASK;
}

HK_INLINE bool head_prev_free(size_t head)
{
    return (head & HK_BF_PREV_FREE) != 0;
}

/* Free or parked (FREE set, whatever SLACK says). */
HK_INLINE bool head_is_dead(size_t head)
{
    return (head & HK_BF_FREE) != 0;
}

/* A live header whose size has no bits below the granule: what a caller's
 * block must look like before its size is believed. */
HK_INLINE bool head_is_live_clean(size_t head)
{
    return !(head & (HK_BF_FREE | ((HK_G - 1) & ~HK_BF_MASK)));
}

/* The header of a free block (FREE without SLACK), the PREV_FREE bit aside. */
HK_INLINE size_t head_free_of(size_t size)
{
    return size | HK_BF_FREE;
}

/* Is b parked, with exactly `size` bytes (its PREV_FREE aside)? */
HK_INLINE bool block_is_parked_of(const hk_block_t *b, size_t size)
{
    return (b->head & ~HK_BF_PREV_FREE) == (size | HK_BF_FREE | HK_BF_SLACK);
}

/* A header that says "parked" (FREE and SLACK): its size is a front size? */
HK_INLINE bool head_is_parked(size_t head)
{
    return (head & (HK_BF_FREE | HK_BF_SLACK)) == (HK_BF_FREE | HK_BF_SLACK);
}

/* b, used or parked, becomes free to the block layer (FREE without SLACK,
 * PREV_FREE kept) before it merges: FREE stays visible if b merges away,
 * so a double free is caught. */
HK_INLINE void block_mark_released(hk_block_t *b)
{
    b->head = (b->head & ~HK_BF_SLACK) | HK_BF_FREE;
}

/* Does the used (or parked) block b record a slack byte? */
HK_INLINE bool block_has_slack(const hk_block_t *b)
{
    return (b->head & HK_BF_SLACK) != 0;
}

/* b's header without PREV_FREE: the part b itself owns (a neighbour's free
 * changes PREV_FREE legitimately). */
HK_INLINE size_t block_own_head(const hk_block_t *b)
{
    return b->head & ~HK_BF_PREV_FREE;
}

/* The free block b takes a place on a doubly linked free list between
 * prev and next (either NULL at an end; NULL prev: *head is the list's
 * first). The links given have been checked by the caller (guard.h). */
HK_INLINE void block_link_between(hk_block_t *b, hk_block_t *prev, hk_block_t *next,
                                  hk_block_t **head)
{
    b->next_free = next;
    b->prev_free = prev;
    if (next)
        next->prev_free = b;
    if (prev)
        prev->next_free = b;
    else
        *head = b;
}

/* Starts a header at b whose left neighbour is free; its size is written
 * later by the carve (block_make_used keeps PREV_FREE). */
HK_INLINE void block_start_after_free(hk_block_t *b)
{
    b->head = HK_BF_PREV_FREE;
}

#endif /* HK_HEAP_BLOCK_H */
