/* SPDX-License-Identifier: MIT */
/*
 * observe.h - the heap's observer interface: the points in the heap's one
 * path per call where an observer (the debug layer, src/debug/) watches, and
 * where it may refuse a call on a damaged block. The heap owns this
 * interface and calls it; the observer implements the hk__obs_* functions.
 * Nothing in src/heap or src/common includes a debug header or names a
 * debug function (scripts/check-layers.sh keeps it so).
 *
 * At HK_DEBUG == 0 every hook below is an empty macro or a constant, and a
 * site parameter is no parameter at all: the heap's code is exactly the
 * plain one, with no observer to link.
 *
 * One call, as the heap runs it with an observer (HK_DEBUG >= 1)
 * ---------------------------------------------------------------
 *   alloc     handle check, lock; take and carve a block; on failure
 *             HK_DBG_ALLOC_FAILED may find damage that hid a fit (the heap
 *             repairs it and tries once more); HK_DBG_HANDED_OUT(p, n, site)
 *             marks the block; HK_DBG_AFTER_OP; event; unlock.
 *   free      handle check, lock; HK_DBG_PTR_OK (before the heap's own
 *             pointer checks), the heap's checks, HK_DBG_FREEING (may
 *             refuse: the block stays allocated); free; HK_DBG_AFTER_OP.
 *   realloc   the same checks, HK_DBG_RESIZING (may refuse, notes the
 *             block's site), resize, HK_DBG_REALLOCATED, HK_DBG_AFTER_OP.
 *   validate  the heap's check, then HK_DBG_VALIDATE's own walk.
 * The site-taking calls (hk_heap_alloc_at, ...) run the same path with a
 * site; the plain calls pass HK_NO_SITE.
 *
 * The free-interior invariant the fill points keep
 * -------------------------------------------------
 * Every free block B of size S holds its header, two links and a footer;
 * at HK_DEBUG >= 1 every other byte, [B + 3W, B + S - W), holds the
 * observer's free pattern. The observer fills a used block's interior
 * before the heap frees it (HK_DBG_FREEING); the heap tells it of the words
 * it abandons when two free blocks merge (the lower one's footer, the upper
 * one's header and links: HK_DBG_MERGED), of the bytes a realloc gives back
 * (HK_DBG_RESIZED), of a new region (HK_DBG_FRESH_FREE) and of a split
 * about to write a header into a free block's interior (HK_DBG_SPLIT).
 * Allocation then checks the interior of the block it hands out: any byte
 * that differs was written after its free. Free-list links and free
 * neighbours are checked by the heap itself at every level (heap/guard.h).
 */
#ifndef HK_HEAP_OBSERVE_H
#define HK_HEAP_OBSERVE_H

#include "heap/guard.h"
#include "heapkit/debug.h" /* the site-taking calls (public) */

#if HK_DEBUG >= 1

/* Where a block was asked for (the *_at calls), or all zero. */
typedef struct {
    const char *file;
    unsigned line;
    uint32_t tag;
} hk_site_t;

/* What the observer notes about one block during one call, on the caller's
 * stack (so that heaps in several threads never share it): the block's
 * record as hk_heap_leaks gives it (heapkit/debug.h); ptr NULL: none. */
typedef hk_alloc_info_t hk_obs_t;

/* A site parameter, argument and "no site" that vanish at HK_DEBUG == 0:
 *   static void *alloc_slow(hk_heap_t *h, size_t n HK_SITE_PARAM);
 *   alloc_slow(h, n HK_NO_SITE);  alloc_slow(h, n HK_SITE(file, line, tag)); */
#define HK_SITE_PARAM , const hk_site_t *site
#define HK_SITE(file, line, tag) , &(const hk_site_t){ (file), (line), (tag) }
#define HK_NO_SITE , &(const hk_site_t){ NULL, 0u, 0u }
/* An allocation for the caller of a function declared with HK_SITE_PARAM. */
#define HK_ALLOC_SITE(h, n) hk_heap_alloc_at((h), (n), site->file, site->line, site->tag)
/* The observer's note for this call (hk_obs_t), a local variable. */
#define HK_OBS_STATE(ob) hk_obs_t ob = { NULL, 0, 0, NULL, 0, 0, 0 }

/* ---- implemented by the observer (src/debug/) ----------------------------
 * All run with the heap's lock held and report through hk__report. */
/* End of hk_heap_init: the observer's per-heap state (key, sequence). */
void hk__obs_heap_init(hk_heap_t *h);
/* Fills [lo, hi) with the free pattern (nothing if hi <= lo). */
void hk__obs_poison(uintptr_t lo, uintptr_t hi);
/* Before a split writes a header and links at t into a free block: the
 * words [t - W, t + 3W) must still hold the free pattern (reports if not). */
void hk__obs_split(hk_heap_t *h, uintptr_t t);
/* After an in-place realloc: re-fills what the old block [oldb, oldb +
 * oldsize) left in the free block now following b. */
void hk__obs_resized(hk_heap_t *h, hk_block_t *b, uintptr_t oldb, size_t oldsize);
/* An allocation failed with no damage met: true if the observer's full
 * check found damage (noted with hk__heap_flag), so that the heap repairs
 * the index and tries once more. */
bool hk__obs_alloc_failed(hk_heap_t *h);
/* The block p (or NULL: the call failed) is about to be handed out for n
 * bytes asked for at site: checks its freed interior, fills, marks it. */
void hk__obs_handed_out(hk_heap_t *h, void *p, size_t n, const hk_site_t *site);
/* Before the heap's own checks of a caller's pointer: false if p points
 * into freed memory (reported; the call is refused). */
bool hk__obs_ptr_ok(const hk_heap_t *h, const void *p);
/* The checked used block b: false if the observer's marks on it are
 * damaged (reported; the call is refused). */
bool hk__obs_live(const hk_heap_t *h, const hk_block_t *b);
/* b is about to be freed: false refuses (reported, b stays allocated);
 * true: b's interior now holds the free pattern. */
bool hk__obs_freeing(hk_heap_t *h, hk_block_t *b);
/* b is about to be resized: false refuses (reported); true notes b's
 * site in *ob. */
bool hk__obs_resizing(hk_heap_t *h, hk_block_t *b, hk_obs_t *ob);
/* After a realloc: q (or NULL: failed) now holds n bytes; *ob is the old
 * block's note, site the new site (file NULL: keep the old one). */
void hk__obs_reallocated(hk_heap_t *h, void *q, size_t n, const hk_obs_t *ob,
                         const hk_site_t *site);
/* The observer's part of hk_heap_validate, after the heap's check passed:
 * NULL, or why, *where and the block's site in *ob. */
const char *hk__obs_validate(const hk_heap_t *h, const void **where, hk_obs_t *ob);
/* Reports like hk__report, with ob's site visible to the error hook. */
void hk__obs_report(int code, const void *where, const char *why, const hk_obs_t *ob);
#if HK_DEBUG >= 3
/* After every operation: the full check of the heap and of every block. */
void hk__obs_after_op(hk_heap_t *h);
#endif

/* ---- asked of the heap by the observer ------------------------------------ */
/* The heap's white-box check with the lock held (heap_check.c): NULL, or
 * the reason and *where. */
const char *hk__heap_check(const hk_heap_t *h, const void **where);

/* The body of a public call that has a site-taking twin: shared by both. */
#define HK_SITED_BODY static
#define HK_OBSERVED 1
#define HK_DBG_HEAP_INIT(h) hk__obs_heap_init(h)
#define HK_DBG_FRESH_FREE(b, size) \
    hk__obs_poison((uintptr_t)(b) + 3 * HK_W, (uintptr_t)(b) + (size) - HK_W)
#define HK_DBG_MERGED(upper) \
    hk__obs_poison((uintptr_t)(upper) - HK_W, (uintptr_t)(upper) + 3 * HK_W)
#define HK_DBG_RESIZED(h, b, oldb, oldsize) hk__obs_resized((h), (b), (oldb), (oldsize))
#define HK_DBG_SPLIT(h, t) hk__obs_split((h), (uintptr_t)(t))
#define HK_DBG_ALLOC_FAILED(h, p) (!(p) && hk__obs_alloc_failed(h))
#define HK_DBG_HANDED_OUT(h, p, n, site) hk__obs_handed_out((h), (p), (n), (site))
#define HK_DBG_PTR_OK(h, p) hk__obs_ptr_ok((h), (p))
#define HK_DBG_LIVE(h, b) hk__obs_live((h), (b))
#define HK_DBG_FREEING(h, b) hk__obs_freeing((h), (b))
#define HK_DBG_RESIZING(h, b, ob) hk__obs_resizing((h), (b), (ob))
#define HK_DBG_REALLOCATED(h, q, n, ob, site) hk__obs_reallocated((h), (q), (n), (ob), (site))
#define HK_DBG_VALIDATE(h, where, ob) hk__obs_validate((h), (where), (ob))
#define HK_DBG_REPORT(code, where, why, ob) hk__obs_report((code), (where), (why), (ob))
#if HK_DEBUG >= 3
#define HK_DBG_AFTER_OP(h) hk__obs_after_op(h)
#else
#define HK_DBG_AFTER_OP(h) ((void)0)
#endif

#else /* HK_DEBUG == 0: no observer, nothing at all */

#define HK_SITE_PARAM
#define HK_SITE(file, line, tag)
#define HK_NO_SITE
#define HK_ALLOC_SITE(h, n) hk_heap_alloc((h), (n))
#define HK_OBS_STATE(ob) ((void)0)

/* The body of a public call that has a site-taking twin: its one caller is
 * the plain call (the twin calls that), so it is inlined there: no jump. */
#define HK_SITED_BODY static inline __attribute__((always_inline))
#define HK_OBSERVED 0
#define HK_DBG_HEAP_INIT(h) ((void)0)
#define HK_DBG_FRESH_FREE(b, size) ((void)0)
#define HK_DBG_MERGED(upper) ((void)0)
#define HK_DBG_RESIZED(h, b, oldb, oldsize) ((void)0)
#define HK_DBG_SPLIT(h, t) ((void)0)
#define HK_DBG_ALLOC_FAILED(h, p) 0
#define HK_DBG_HANDED_OUT(h, p, n, site) ((void)0)
#define HK_DBG_PTR_OK(h, p) 1
#define HK_DBG_LIVE(h, b) 1
#define HK_DBG_FREEING(h, b) 1
#define HK_DBG_RESIZING(h, b, ob) 1
#define HK_DBG_REALLOCATED(h, q, n, ob, site) ((void)0)
#define HK_DBG_VALIDATE(h, where, ob) ((const char *)NULL)
#define HK_DBG_REPORT(code, where, why, ob) hk__report((code), (where), (why))
#define HK_DBG_AFTER_OP(h) ((void)0)

#endif

#endif /* HK_HEAP_OBSERVE_H */
