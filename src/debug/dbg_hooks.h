/* SPDX-License-Identifier: MIT */
/*
 * dbg_hooks.h - the places where the heap (src/heap/) calls into the debug
 * layer (src/debug/debug.c). At HK_DEBUG == 0 every hook below is an empty
 * macro or the constant 1, so the heap's code is exactly the plain one.
 *
 * At HK_DEBUG >= 1 the hooks keep two promises the debug layer relies on:
 *
 * 1. The free-interior invariant. Every free block B of size S holds its
 *    header, two links and a footer; every other byte, [B + 3W, B + S - W),
 *    holds the free pattern. The debug layer fills a used block's interior
 *    before the heap frees it; the heap re-fills the words it abandons when
 *    two free blocks merge (the lower one's footer, the upper one's header
 *    and links: HK_DBG_MERGED) and the bytes a realloc gives back
 *    (HK_DBG_RESIZED). A new region is filled once (HK_DBG_FRESH_FREE).
 *    Allocation then checks the interior of the block it hands out: any byte
 *    that differs was written after its free.
 *
 * 2. Free-list links and free neighbours are checked by the heap itself at
 *    every level (heap/guard.h); the debug layer adds the fill patterns,
 *    the trailers and the walks.
 */
#ifndef HK_DBG_HOOKS_H
#define HK_DBG_HOOKS_H

#include "heap/guard.h"

#if HK_DEBUG >= 1

/* Fills [lo, hi) with the free pattern (nothing if hi <= lo). */
void hk__dbg_poison(uintptr_t lo, uintptr_t hi);
/* After an in-place realloc: re-fills what the old block [oldb, oldb +
 * oldsize) left in the free block now following b. */
void hk__dbg_resized(hk_heap_t *h, hk_block_t *b, uintptr_t oldb, size_t oldsize);
/* Before a split of a free block writes the tail's header and links at t
 * (or a new header at t): the words [t - W, t + 3W) were the free block's
 * interior and must still hold the free pattern; reports if not. */
void hk__dbg_split(hk_heap_t *h, uintptr_t t);
/* Sets the per-heap secret and sequence (end of hk_heap_init). */
void hk__dbg_heap_init(hk_heap_t *h);
/* The public entry points at HK_DEBUG >= 1 (debug.c). */
void *hk__dbg_alloc(hk_heap_t *h, size_t n, const char *file, unsigned line, uint32_t tag);
void *hk__dbg_calloc(hk_heap_t *h, size_t n, size_t size, const char *file, unsigned line,
                     uint32_t tag);
void *hk__dbg_realloc(hk_heap_t *h, void *p, size_t n, const char *file, unsigned line,
                      uint32_t tag);
void *hk__dbg_aligned_alloc(hk_heap_t *h, size_t align, size_t n, const char *file,
                            unsigned line, uint32_t tag);
void hk__dbg_free(hk_heap_t *h, void *p);
size_t hk__dbg_usable_size(const hk_heap_t *h, const void *p);
int hk__dbg_validate(const hk_heap_t *h);

#define HK_DBG_ROUTE(stmt) stmt
#define HK_DBG_FRESH_FREE(b, size) \
    hk__dbg_poison((uintptr_t)(b) + 3 * HK_W, (uintptr_t)(b) + (size) - HK_W)
#define HK_DBG_MERGED(upper) \
    hk__dbg_poison((uintptr_t)(upper) - HK_W, (uintptr_t)(upper) + 3 * HK_W)
#define HK_DBG_RESIZED(h, b, oldb, oldsize) hk__dbg_resized((h), (b), (oldb), (oldsize))
#define HK_DBG_HEAP_INIT(h) hk__dbg_heap_init(h)
#define HK_DBG_SPLIT(h, t) hk__dbg_split((h), (uintptr_t)(t))

#else /* HK_DEBUG == 0: nothing */

#define HK_DBG_ROUTE(stmt)
#define HK_DBG_FRESH_FREE(b, size) ((void)0)
#define HK_DBG_MERGED(upper) ((void)0)
#define HK_DBG_RESIZED(h, b, oldb, oldsize) ((void)0)
#define HK_DBG_HEAP_INIT(h) ((void)0)
#define HK_DBG_SPLIT(h, t) ((void)0)

#endif

#endif /* HK_DBG_HOOKS_H */
