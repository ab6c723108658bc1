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
 * 2. Free-list links are followed and written through only when they look
 *    like a free block of this heap whose own link points back
 *    (HK_DBG_LINK_OK, the "safe unlinking" check of glibc's malloc, applied
 *    to both directions). A bad link is not followed; the heap notes it in
 *    h->dbg_bad, finishes the operation without writing through it, and the
 *    debug layer reports it and rebuilds the free index from the blocks
 *    themselves before the lock is released.
 */
#ifndef HK_DBG_HOOKS_H
#define HK_DBG_HOOKS_H

#include "heap/heap_impl.h"

#if HK_DEBUG >= 1

/* Fills [lo, hi) with the free pattern (nothing if hi <= lo). */
void hk__dbg_poison(uintptr_t lo, uintptr_t hi);
/* After an in-place realloc: re-fills what the old block [oldb, oldb +
 * oldsize) left in the free block now following b. */
void hk__dbg_resized(hk_heap_t *h, hk_block_t *b, uintptr_t oldb, size_t oldsize);
/* Sets the per-heap secret and sequence (end of hk_heap_init). */
void hk__dbg_heap_init(hk_heap_t *h);
/* Notes the first damaged link of this operation. */
void hk__dbg_flag(const hk_heap_t *h, const void *where, const char *why);

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

/* Is n (not NULL) a free block inside the heap's bounds, on the header grid? */
HK_INLINE bool hk__dbg_is_free_block(const hk_heap_t *h, const hk_block_t *n)
{
    uintptr_t a = (uintptr_t)n;
    return a - h->lo < h->hi - h->lo && !((a + HK_W) & (HK_G - 1)) && block_is_free(n);
}

/* Link checks: `n` is the neighbour b's link names (may be NULL). */
HK_INLINE bool hk__dbg_next_ok(const hk_heap_t *h, const hk_block_t *b, const hk_block_t *n)
{
    if (HK_LIKELY(!n || (hk__dbg_is_free_block(h, n) && n->prev_free == b)))
        return true;
    hk__dbg_flag(h, b ? (const void *)b : (const void *)n,
                 "free-list next link damaged (use after free, or overflow?)");
    return false;
}

HK_INLINE bool hk__dbg_prev_ok(const hk_heap_t *h, const hk_block_t *b, const hk_block_t *n)
{
    if (HK_LIKELY(!n || (hk__dbg_is_free_block(h, n) && n->next_free == b)))
        return true;
    hk__dbg_flag(h, b, "free-list prev link damaged (use after free, or overflow?)");
    return false;
}

/* A free block about to be taken, followed or merged: in bounds, and its
 * size agrees with its footer (so carving it cannot write outside it). */
HK_INLINE bool hk__dbg_block_sane(const hk_heap_t *h, const hk_block_t *b)
{
    uintptr_t a = (uintptr_t)b;
    if (!hk__dbg_is_free_block(h, b))
        return false;
    size_t size = block_size(b);
    return size >= HK_MIN_BLOCK && size <= h->hi - a && !(size & (HK_G - 1)) &&
           *(const size_t *)(const void *)(a + size - HK_W) == size;
}

HK_INLINE bool hk__dbg_take_ok(const hk_heap_t *h, const hk_block_t *b)
{
    if (HK_LIKELY(hk__dbg_block_sane(h, b)))
        return true;
    hk__dbg_flag(h, b, "free block damaged: header and footer disagree, or not free");
    return false;
}

/* The footer pf below the block at ba names a block inside ba's region, on
 * the grid (the cheap check's single compare wraps for a region's first
 * block and lets a misaligned footer through: a fault on ARMv6-M). */
bool hk__dbg_footer_ok(const hk_heap_t *h, uintptr_t ba, size_t pf);

#define HK_DBG_FOOTER_OK(h, ba, pf) hk__dbg_footer_ok((h), (ba), (pf))
#define HK_DBG_NEXT_OK(h, b, n) hk__dbg_next_ok((h), (b), (n))
#define HK_DBG_PREV_OK(h, b, n) hk__dbg_prev_ok((h), (b), (n))
#define HK_DBG_TAKE_OK(h, b) hk__dbg_take_ok((h), (b))

#else /* HK_DEBUG == 0: nothing */

#define HK_DBG_ROUTE(stmt)
#define HK_DBG_FRESH_FREE(b, size) ((void)0)
#define HK_DBG_MERGED(upper) ((void)0)
#define HK_DBG_RESIZED(h, b, oldb, oldsize) ((void)0)
#define HK_DBG_HEAP_INIT(h) ((void)0)
#define HK_DBG_FOOTER_OK(h, ba, pf) 1
#define HK_DBG_NEXT_OK(h, b, n) 1
#define HK_DBG_PREV_OK(h, b, n) 1
#define HK_DBG_TAKE_OK(h, b) 1

#endif

#endif /* HK_DBG_HOOKS_H */
