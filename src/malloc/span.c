/* SPDX-License-Identifier: MIT */
/*
 * span.c - spans: small objects carved out of 16 KiB heap blocks.
 *
 * A general-purpose heap block costs a TLSF search, a split and, on free, a
 * pointer check and up to two merges - about a hundred instructions each
 * way. Objects of up to 1 KiB are the bulk of most programs' calls, and
 * they do not need any of that: like the "pages" of mimalloc (Leijen, Zorn,
 * de Moura, 2019) and the slabs of Bonwick's allocator (USENIX 1994), a span
 * is one heap block of 16 KiB, aligned to 16 KiB and taken from the arena's
 * own heap with hk_heap_aligned_alloc, that holds objects of one size
 * class:
 *
 *     span base (16 KiB aligned)
 *     | header 64 B | obj | obj | obj | ... | obj | (tail < one object) |
 *                     ^ first              bump ^ (never handed out yet)
 *
 * Objects come from the span's free list (objects given back, linked through
 * their first word) or else from the bump pointer, so a new span costs no
 * pass over its memory. The thread cache takes and returns them in batches
 * under the arena lock; the heap sees one used block per span.
 *
 * Finding a span from a pointer: the free fast path trusts the span tag
 * (hkm_internal.h) at the pointer's 16 KiB floor; the slow paths and the
 * validator also use the chunk header's bitmap, one bit per 16 KiB
 * of its run, set while a span starts there (hkm_span_of). A pointer whose
 * 16 KiB-aligned floor is a span start lies inside that span - no other heap
 * block can overlap it - and is checked to be an object boundary before the
 * span accepts it (a divisibility test by one multiply, hkm_internal.h).
 *
 * A span whose last object comes back is freed to the heap, unless it is
 * the only span of its class in the arena (kept to avoid churn at a
 * boundary) or would leave a hole between two spans (kept as a spare block
 * for the next span, below). Refills take objects from the fullest of the
 * first partial spans of their class. Every function here runs under the
 * arena lock.
 */
#define _GNU_SOURCE
#include <sys/mman.h>

#include "common/hk_internal.h"
#include "hkm_internal.h"

/* ---- the chunk's span bitmap -------------------------------------------- */

static void span_mark(hkm_span_t *s, bool on)
{
    hkm_chunk_t *c = hkm_chunk_of(s);
    uintptr_t i = ((uintptr_t)s - (uintptr_t)c) >> HKM_SPAN_SHIFT;
    uintptr_t bit = (uintptr_t)1 << (i % HKM_WORD_BITS);
    if (on)
        __atomic_fetch_or(&c->spans[i / HKM_WORD_BITS], bit, __ATOMIC_RELEASE);
    else
        __atomic_fetch_and(&c->spans[i / HKM_WORD_BITS], ~bit, __ATOMIC_RELEASE);
}

/* ---- the arena's partial lists ------------------------------------------ */

static void partial_push(hkm_arena_t *a, hkm_span_t *s)
{
    s->prev = NULL;
    s->next = a->partial[s->bin];
    if (s->next)
        s->next->prev = s;
    a->partial[s->bin] = s;
    s->listed = 1;
}

static void partial_remove(hkm_arena_t *a, hkm_span_t *s)
{
    if (s->prev)
        s->prev->next = s->next;
    else
        a->partial[s->bin] = s->next;
    if (s->next)
        s->next->prev = s->prev;
    s->next = s->prev = NULL;
    s->listed = 0;
}

/* What limit grows by per object carved: e = M * d mod 2^64. */
static uint64_t span_step(const hkm_span_t *s)
{
    return s->divm * s->obj_size;
}

static bool span_full(const hkm_span_t *s)
{
    return !s->free && s->bump_off >= s->end_off;
}

static unsigned span_capacity(const hkm_span_t *s)
{
    return s->end_off / s->obj_size;
}

/* Spare span blocks. A span block is a 16 KiB-aligned heap block, and the
 * heap looks for size + alignment bytes to place one, so the 16 KiB hole a
 * span leaves when it goes back to the heap between two blocks in use is
 * never taken by a later span: every new span would touch fresh pages at
 * the heap's end while the hole sits resident and unused. So an emptied
 * span of a live arena whose neighbours are both spans (or spares) is kept,
 * still a used heap block, in the arena's array of spares, and the next new
 * span of any class takes it (the last one kept first). Next to free memory
 * it goes back to the heap, where it merges and is reused. At most one spare
 * per 2 live spans of the arena and HKM_SPARE_MAX (2 MiB) in all; a thread's
 * exit and malloc_trim give them all back to the heap. Measured on the
 * 2-thread server benchmark (random frees on both threads): 1.95x glibc's
 * peak RSS without spares, 1.5x with them; 16 producer/consumer threads,
 * whose spans empty in allocation order, are unchanged. */
#ifndef HKM_SPARE_DIV
#define HKM_SPARE_DIV 2u
#endif

static bool spare_keep(const hkm_arena_t *a)
{
    return a->n_spare < 1u + a->n_spans / HKM_SPARE_DIV && a->n_spare < HKM_SPARE_MAX &&
           __atomic_load_n(&a->owner, __ATOMIC_RELAXED) != NULL;
}

static hkm_span_t *span_block(hkm_arena_t *a)
{
    if (a->n_spare)
        return a->spare[--a->n_spare];
    return hk_heap_aligned_alloc(a->heap, HKM_SPAN, HKM_SPAN - HKM_SPAN_TAIL);
}

static hkm_span_t *span_new(hkm_arena_t *a, unsigned bin)
{
    hkm_span_t *s = span_block(a);
    if (!s)
        return NULL;
    a->n_spans++;
    uint32_t size = (bin + 1u) * HKM_GRAIN;
    s->tag = (uintptr_t)s ^ (uintptr_t)a ^ hkm_key;
    s->bin = (uint8_t)bin;
    s->used = 0;
    s->obj_size = size;
    s->divm = span_divm(size);
    s->limit = 0;
    s->free = NULL;
    s->bump_off = 0;
    s->end_off = (uint16_t)(((HKM_SPAN - HKM_SPAN_TAIL - HKM_SPAN_HDR) / size) * size);
    s->parked = 0;
    s->next = s->prev = NULL;
    s->listed = 0;
    span_mark(s, true);
    partial_push(a, s);
    return s;
}

static void *span_pop(hkm_span_t *s)
{
    void **p = s->free;
    if (p) {
        s->free = p[0];
    } else {
        p = (void **)(void *)((char *)s + HKM_SPAN_HDR + s->bump_off);
        s->bump_off += s->obj_size;
        s->limit += span_step(s);
    }
    p[1] = NULL; /* no stale "free" mark (see hkm_span_has_free) */
    s->used++;
    return p;
}

bool hkm_span_has_free(const hkm_span_t *s, const void *p)
{
    unsigned n = 0, cap = span_capacity(s);
    for (void *const *q = s->free; q && n <= cap; q = q[0], n++)
        if (q == p)
            return true;
    return false;
}

int hkm_span_validate(const hkm_arena_t *a)
{
    for (unsigned b = 0; b < HKM_BINS; b++) {
        const hkm_span_t *prev = NULL;
        for (const hkm_span_t *s = a->partial[b]; s; prev = s, s = s->next) {
            const char *why = NULL;
            unsigned cap = span_capacity(s);
            unsigned nfree = 0;
            for (void *const *q = s->free; q && nfree <= cap; q = q[0], nfree++)
                if (!hkm_span_owns(s, q))
                    why = "span free list points outside its objects";
            unsigned fresh = (s->end_off - s->bump_off) / s->obj_size;
            if (!span_tag_ok(s, a))
                why = "span header overwritten";
            else if (s->bin != b || s->obj_size != (b + 1u) * HKM_GRAIN ||
                     span_arena(s) != a)
                why = "span on the wrong list";
            else if (s->prev != prev || !s->listed)
                why = "span list links disagree";
            else if (nfree + fresh + s->used + s->parked != cap)
                why = "span object count disagrees with its free list";
            else if (s->limit != (uint64_t)(s->bump_off / s->obj_size) * span_step(s))
                why = "span bump limit disagrees with its bump offset";
            else if (!hkm_span_of(hkm_chunk_of(s), (const char *)s + HKM_SPAN_HDR))
                why = "span not marked in its chunk";
            if (why) {
                hk__report(HK_ECORRUPT, s, why);
                return HK_ECORRUPT;
            }
        }
    }
    return HK_OK;
}

bool hkm_span_owns(const hkm_span_t *s, const void *p)
{
    return span_owns(s, p);
}

/* The span to take objects from: the fullest of the first HKM_SCAN spans
 * of the partial list. Objects freed at random leave holes in every span;
 * filling the holes of the fullest spans first lets the sparse ones run
 * empty and be reused (allocation from the fullest partial span, as in
 * the "fullness groups" of Hoard: Berger, McKinley, Blumofe, Wilson,
 * ASPLOS 2000). A few headers per refill of half a list. */
#ifndef HKM_SCAN
#define HKM_SCAN 8u
#endif

static hkm_span_t *span_pick(hkm_span_t *s)
{
    hkm_span_t *best = s;
    unsigned n = 1;
    for (s = s->next; s && n < HKM_SCAN; s = s->next, n++)
        if (s->used > best->used)
            best = s;
    return best;
}

void *hkm_span_take(hkm_arena_t *a, unsigned bin, unsigned want, void **list, uint16_t *room)
{
    hkm_span_t *s = a->partial[bin];
    if (!s) {
        if (!hkm_arena_heap(a) || !(s = span_new(a, bin)))
            return NULL;
    } else if (s->next) {
        s = span_pick(s);
    }
    void *p = span_pop(s);
    /* The span's free list is already in the thread cache's format (linked
     * through word 0, the key in word 1): splice up to `want` of it over. */
    void **first = s->free;
    if (want && first) {
        void **last = first;
        unsigned k = 1;
        while (k < want && last[0]) {
            last = last[0];
            k++;
        }
        s->free = last[0];
        last[0] = *list;
        *list = first;
        s->used = (uint16_t)(s->used + k);
        *room = (uint16_t)(*room - k);
        want -= k;
    }
    /* Then never-used objects, from the bump offset: k of them, linked in
     * address order in one pass, then the counters once. */
    unsigned k = (s->end_off - s->bump_off) / s->obj_size;
    if (k > want)
        k = want;
    if (k) {
        uintptr_t key = hkm_key, size = s->obj_size;
        char *q0 = (char *)s + HKM_SPAN_HDR + s->bump_off;
        char *last = q0 + (k - 1u) * size;
        for (char *q = q0; q < last; q += size) {
            ((uintptr_t *)(void *)q)[0] = (uintptr_t)(q + size);
            ((uintptr_t *)(void *)q)[1] = key;
        }
        ((void **)(void *)last)[0] = *list;
        ((uintptr_t *)(void *)last)[1] = key;
        *list = q0;
        s->bump_off += k * s->obj_size;
        s->limit += k * span_step(s);
        s->used = (uint16_t)(s->used + k);
        *room = (uint16_t)(*room - k);
    }
    if (span_full(s))
        partial_remove(a, s);
    return p;
}

/* Is the 16 KiB window at w (in chunk c) a span or a spare - a used heap
 * block that a free block next to it cannot merge with? */
static bool window_busy(const hkm_arena_t *a, const hkm_chunk_t *c, uintptr_t w)
{
    if (w < (uintptr_t)c + HKM_SPAN || w >= (uintptr_t)c + c->map_len)
        return false;
    uintptr_t i = (w - (uintptr_t)c) >> HKM_SPAN_SHIFT;
    uintptr_t bits = __atomic_load_n(&c->spans[i / HKM_WORD_BITS], __ATOMIC_RELAXED);
    if ((bits >> (i % HKM_WORD_BITS)) & 1u)
        return true;
    for (unsigned k = 0; k < a->n_spare; k++)
        if ((uintptr_t)a->spare[k] == w)
            return true;
    return false;
}

/* Would s, given back to the heap, leave a hole no later span can take? */
static bool span_isolated(const hkm_arena_t *a, const hkm_span_t *s)
{
    const hkm_chunk_t *c = hkm_chunk_of(s);
    return window_busy(a, c, (uintptr_t)s - HKM_SPAN) && window_busy(a, c, (uintptr_t)s + HKM_SPAN);
}

static void span_release(hkm_arena_t *a, hkm_span_t *s)
{
    partial_remove(a, s);
    span_mark(s, false);
    s->tag = 0;
    a->n_spans--;
    if (spare_keep(a) && span_isolated(a, s)) {
        a->spare[a->n_spare++] = s;
        return;
    }
    hk_heap_free(a->heap, s);
    hkm_arena_note_free(a, HKM_SPAN); /* may trim: s is a free block now */
}

void hkm_span_release_spares(hkm_arena_t *a)
{
    while (a->n_spare) {
        hkm_span_t *s = a->spare[--a->n_spare];
        hk_heap_free(a->heap, s);
        a->freed_since_trim += HKM_SPAN; /* the caller trims */
    }
}

void hkm_span_release_empty(hkm_arena_t *a)
{
    hkm_span_release_spares(a);
    for (unsigned b = 0; b < HKM_BINS; b++) {
        hkm_span_t *s = a->partial[b];
        while (s) {
            hkm_span_t *next = s->next;
            if (s->used == 0)
                span_release(a, s);
            s = next;
        }
    }
}

/* ---- the pages of an orphan's spans ------------------------------------- */

/* A thread that exits leaves its live objects behind in partly used spans
 * - a few objects of every class it used, each span fully carved - and
 * nothing may allocate in them again for a long time (until a new thread
 * adopts the arena). Every page of such a span that holds no live object
 * goes back to the OS (MADV_DONTNEED): the span's free objects whose first
 * two words (the list link and the free mark) lie on such a page are taken
 * off its free list and only counted (`parked`), since the page reads zero
 * once touched again; they come back when the span empties and goes back
 * to the heap whole. The first page (the span header) and the last (whose
 * tail the heap may use for the next block's header) stay. */
#define SPAN_OBJ_MAX ((HKM_SPAN - HKM_SPAN_TAIL - HKM_SPAN_HDR) / HKM_GRAIN)
#define SPAN_PAGES_MAX 64u

static void span_release_pages(hkm_span_t *s, uintptr_t ps)
{
    uint64_t freed[(SPAN_OBJ_MAX + 63u) / 64u] = {0};
    uintptr_t first = (uintptr_t)s + HKM_SPAN_HDR, size = s->obj_size;
    unsigned carved = s->bump_off / s->obj_size;
    for (void **q = s->free; q; q = q[0]) {
        uintptr_t k = ((uintptr_t)q - first) / size;
        freed[k / 64u] |= (uint64_t)1 << (k % 64u);
    }
    /* Pages 1 .. n-1, all whole pages below the span's tail. */
    uintptr_t n = (HKM_SPAN - HKM_SPAN_TAIL) / ps;
    uint64_t gone = 0;
    for (uintptr_t pg = 1; pg < n && pg < SPAN_PAGES_MAX; pg++) {
        uintptr_t lo = (uintptr_t)s + pg * ps, hi = lo + ps;
        uintptr_t k0 = (lo - first) / size, k1 = (hi - 1u - first) / size;
        bool dead = true;
        for (uintptr_t k = k0; k <= k1 && k < carved && dead; k++)
            dead = (freed[k / 64u] >> (k % 64u)) & 1u;
        if (dead)
            gone |= (uint64_t)1 << pg;
    }
    if (!gone)
        return;
    /* Off the free list: the objects whose link lies on a page that goes. */
    void **keep = NULL, **tail = NULL;
    unsigned parked = 0;
    for (void **q = s->free; q;) {
        void **next = q[0];
        uintptr_t pg = ((uintptr_t)q - (uintptr_t)s) / ps;
        if ((gone >> pg) & 1u) {
            parked++;
        } else {
            if (tail)
                tail[0] = q;
            else
                keep = q;
            tail = q;
        }
        q = next;
    }
    if (tail)
        tail[0] = NULL;
    s->free = keep;
    s->parked = (uint16_t)(s->parked + parked);
    for (uintptr_t pg = 1; pg < n && pg < SPAN_PAGES_MAX; pg++) {
        if (!((gone >> pg) & 1u))
            continue;
        uintptr_t end = pg;
        while (end + 1u < n && end + 1u < SPAN_PAGES_MAX && ((gone >> (end + 1u)) & 1u))
            end++;
        madvise((void *)((uintptr_t)s + pg * ps), (end + 1u - pg) * ps, MADV_DONTNEED);
        pg = end;
    }
}

void hkm_span_release_pages(hkm_arena_t *a)
{
    uintptr_t ps = hkm_page_size();
    if (HK_DEBUG >= 1 || ps > HKM_SPAN / 4u)
        return;
    for (unsigned b = 0; b < HKM_BINS; b++)
        for (hkm_span_t *s = a->partial[b]; s; s = s->next)
            if (s->used && s->free)
                span_release_pages(s, ps);
}

/* An object came back to s: a full span goes back on the partial list, an
 * empty one back to the heap unless it is the last span of its class (and
 * its arena still has an owner). */
static void span_put_fixup(hkm_arena_t *a, hkm_span_t *s)
{
    if (!s->listed)
        partial_push(a, s);
    else if (s->used == 0 && (s->next || s->prev ||
                              (!__atomic_load_n(&a->owner, __ATOMIC_RELAXED) && !arena_is_shared(a))))
        span_release(a, s);
}

static inline void span_put(hkm_arena_t *a, hkm_span_t *s, void *p)
{
    void **q = p;
    q[0] = s->free;
    ((uintptr_t *)q)[1] = hkm_key; /* marks it free: double frees */
    s->free = q;
    s->used--;
    span_put_fixup(a, s);
}

void hkm_span_put(hkm_arena_t *a, hkm_span_t *s, void *p)
{
    span_put(a, s, p);
}

void hkm_span_put_remote(hkm_arena_t *a, hkm_span_t *s, void *p)
{
    void **q = p;
    q[0] = s->free;
    ((uintptr_t *)q)[1] = hkm_key;
    s->free = q;
    s->used--;
    if (!s->listed)
        partial_push(a, s);
    else if (s->used == 0)
        a->empty_kept = true;
}

void hkm_span_release_kept(hkm_arena_t *a)
{
    a->empty_kept = false;
    for (unsigned b = 0; b < HKM_BINS; b++) {
        hkm_span_t *s = a->partial[b];
        while (s) {
            hkm_span_t *next = s->next;
            if (s->used == 0 && s->prev)
                span_release(a, s);
            s = next;
        }
    }
}

/* The thread cache's objects already carry the "free" mark: only the link
 * and the count change, and the list bookkeeping runs only when the span
 * was full or became empty. mixed (a constant in each call below, so the
 * plain loop has no tag test): the list may hold other arenas' objects. */
static inline void *put_list(hkm_arena_t *a, void *list, const bool mixed)
{
    void **foreign = NULL;
    for (void **q = list; q;) {
        void **next = q[0];
        /* An object never starts on a 16 KiB boundary (the header does). */
        hkm_span_t *s = (hkm_span_t *)((uintptr_t)q & ~(HKM_SPAN - 1));
        if (mixed && !span_tag_ok(s, a)) { /* another arena's: its span stays live */
            q[0] = foreign;
            foreign = q;
            q = next;
            continue;
        }
        q[0] = s->free;
        s->free = q;
        if (HKM_UNLIKELY(--s->used == 0) || HKM_UNLIKELY(!s->listed))
            span_put_fixup(a, s);
        q = next;
    }
    return foreign;
}

void *hkm_span_put_list(hkm_arena_t *a, void *list, bool mixed)
{
    return mixed ? put_list(a, list, true) : put_list(a, list, false);
}

