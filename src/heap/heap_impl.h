/* SPDX-License-Identifier: MIT */
/*
 * heap_impl.h - the heap object and what the heap's files share.
 *
 * The heap object sits at the start of the first region, followed by the
 * TLSF class table: the list heads (heads[]), then one second-level bitmap
 * per first level. Its shape is decided at init from the size the table
 * must cover (hk_heap_config_t.class_span, else the region): for a 32 KiB
 * heap on a 32-bit MCU, 11 first levels x 2 second levels = 22 classes, 20
 * of them with a list head (80 + 22 bytes; the whole control structure is
 * 244 bytes); for a heap that can grow to the whole 64-bit address space,
 * 57 x 2^HK_TLSF_SLI.
 *
 * Regions are kept in an address-ordered singly linked list of small
 * descriptors, each stored at the start of its own region (the first
 * region's is inside the heap object). Pointer checks on free look at the
 * overall bounds [lo, hi) first, then at the regions only when there are
 * several.
 */
#ifndef HK_HEAP_IMPL_H
#define HK_HEAP_IMPL_H

#include "common/hk_stats.h"
#include "heap/block.h"
#include "heapkit/heap.h"

#define HK_HEAP_MAGIC 0x48454150u /* "HEAP" */
#define HK_HEAP_BUSY 0x48454151u  /* a heap with a lock or an event hook */

/* Constant log2 of a power of two up to 128, usable in constant expressions. */
#define HK__LOG2(x) ((x) >= 128 ? 7 : (x) >= 64 ? 6 : (x) >= 32 ? 5 : (x) >= 16 ? 4 : (x) >= 8 ? 3 : 2)

/* The second-level index (log2 of the classes per power of two) is chosen
 * per heap at init, in [HK_TLSF_SLI_LO, HK_TLSF_SLI] (tlsf_sli_for in
 * fit_tlsf.h); HK_TLSF_SLI_LO is HK_TLSF_SLI_MIN raised, if need be, until a
 * minimum block is one of the exact classes. With one value only, every
 * split of a class number is a constant shift, as in classic TLSF. */
#define HK__MINB_LOG2 (HK_MIN_BLOCK / HK_G >= 4 ? 2u : HK_MIN_BLOCK / HK_G >= 2 ? 1u : 0u)
#define HK_TLSF_SLI_LO (HK_TLSF_SLI_MIN >= HK__MINB_LOG2 ? (unsigned)HK_TLSF_SLI_MIN : HK__MINB_LOG2)
/* (a minimum block is at most 4 granules, so the raise never reaches 3) */
#define HK_TLSF_SLI_VAR (HK_TLSF_SLI_MIN < HK_TLSF_SLI)
#define HK_SL_COUNT (1u << HK_TLSF_SLI) /* the most second-level classes */
#define HK_FL_MAX ((unsigned)(sizeof(size_t) * 8u))
/* The classes below a minimum block (sizes 0 .. HK_MIN_BLOCK - G) never
 * hold a block: the table has no list head for them. */
#define HK_TLSF_BIAS ((unsigned)(HK_MIN_BLOCK / HK_G))

/* The small-object front's options (HK_QUICK_*) are in heapkit/config.h. */
#define HK_QUICK_MAX ((size_t)HK_QUICK_CLASSES * HK_ALIGN)
#define HK_QUICK_N (HK_QUICK_CLASSES + 1)

/* A second-level bitmap: the smallest type with HK_SL_COUNT bits. */
#if HK_TLSF_SLI <= 3
typedef uint8_t hk_slmap_t;
#elif HK_TLSF_SLI == 4
typedef uint16_t hk_slmap_t;
#else
typedef uint32_t hk_slmap_t;
#endif

typedef struct hk_region hk_region_t;
struct hk_region {
    hk_region_t *next; /* next region by address                  */
    uintptr_t raw_lo;  /* the memory the caller gave: [raw_lo, raw_hi) */
    uintptr_t raw_hi;
    uintptr_t first;   /* header of the first block                */
    uintptr_t end;     /* header of the end marker                 */
};

/* The fields are ordered by size (64-bit counters first, 8-aligned where the
 * ABI wants it) so that no padding is left between them; the ones an option
 * compiles out are not there. */
struct hk_heap {
    /* statistics kept on the fly; derived: free = total - used,
     * used_blocks = allocs - frees (a moving realloc counts as both).
     * Parked blocks count as free in `usage` and `requested`. */
    uint64_t allocs, frees, failed_allocs;
    uint32_t gate;      /* HK_HEAP_MAGIC iff the plain fast path may run
                         * (no lock, no event hook: heap_gate); HK_HEAP_BUSY
                         * for a heap that has either; anything else: not a
                         * heap (heap_handle_ok) */
    uint8_t fit;        /* hk_fit_t                                 */
    uint8_t fl_count;   /* TLSF first-level classes                 */
    uint16_t nregions;
    uint16_t nclasses;  /* TLSF: fl_count << sli class numbers       */
#if HK_HEAP_TOP_CUT
    uint16_t top_cut;   /* largest block placed at the top of a free
                         * block; 0: none (first fit, cfg bottom_cut) */
#endif
#if HK_TLSF_SLI_VAR
    uint8_t sli;        /* TLSF: log2 of this heap's second-level classes */
#endif
    union {
        size_t fl_bitmap; /* TLSF: bit f set iff tlsf_slmap(f) != 0  */
        hk_block_t *list; /* first/best fit: the one free list       */
    };
    uintptr_t lo, hi;   /* bounds over all regions' blocks          */
    size_t granules;    /* one region: the block starts in [lo, hi - MIN_BLOCK]
                         * (G apart); 0 with several (guard.h heap_in_span) */
    const void *bad;    /* first damage met by this operation (guard.h) */
    const char *bad_why;
    hk_region_t *regions;
    hk_lock_t lock;
#if HK_HEAP_GROW
    hk_grow_fn grow;
    void *grow_ctx;
#endif
#if HK_EVENTS
    hk_event_fn event;  /* optional observer (types.h)                */
    void *event_ctx;
#endif
    hk__usage_t usage;
    size_t free_blocks;
#if HK_HEAP_EXACT
    size_t requested;   /* the bytes asked for, over the used blocks */
#endif
    size_t quick_max;              /* largest block size parked; 0: no front
                                    * (read by the neighbour checks, so kept
                                    * without a front too) */
#if HK_QUICK_CLASSES
    size_t park_limit;             /* park only while usage.used is below this */
    hk_block_t *quick[HK_QUICK_N]; /* parked blocks by size / G */
    uint8_t quick_n[HK_QUICK_N];   /* how many on each LIFO */
#endif
    hk_region_t first_region;
#if HK_DEBUG >= 1
    uint32_t dbg_secret;  /* key of the blocks' check words (debug.c)      */
    uint32_t dbg_seq;     /* sequence number of the next allocation        */
#endif
    /* TLSF: nclasses - HK_TLSF_BIAS list heads, then fl_count second-level
     * bitmaps (hk_slmap_t) */
    hk_block_t *heads[];
};

/* The largest block size an allocation takes from the top of the free
 * block it is cut from (config.h HK_HEAP_TOP_CUT; heap_ops.h). */
HK_STATIC_ASSERT(HK_HEAP_TOP_CUT <= 0xffffu, "HK_HEAP_TOP_CUT is a block size of at most 64 KiB");
HK_INLINE size_t heap_top_cut(const hk_heap_t *h)
{
#if HK_HEAP_TOP_CUT
    return h->top_cut;
#else
    (void)h;
    return 0;
#endif
}

/* ---- the TLSF class table -------------------------------------------------
 * Every access to the list heads and the second-level bitmaps, and every
 * split of a class number into (first level, second level), goes through
 * these: where the tables live and how many second-level classes a heap has
 * is decided here and at init (heap_region.c), nowhere else. Class idx's
 * head is heads[idx - HK_TLSF_BIAS] (the offset folds into the address). */
#if HK_TLSF_SLI_VAR
#define tlsf_sli(h) ((unsigned)(h)->sli)
#else
#define tlsf_sli(h) ((void)(h), (unsigned)HK_TLSF_SLI)
#endif
#define tlsf_head(h, idx) ((h)->heads[(size_t)(idx) - HK_TLSF_BIAS]) /* an lvalue */
#define tlsf_slmap(h, fl) \
    (((hk_slmap_t *)((uintptr_t)(h)->heads +                                      \
                     ((size_t)(h)->nclasses - HK_TLSF_BIAS) * sizeof(hk_block_t *)))[fl]) /* an lvalue */
#define tlsf_sl_count(h) (1u << tlsf_sli(h))
#define tlsf_fl_of(h, idx) ((unsigned)(idx) >> tlsf_sli(h))
#define tlsf_sl_of(h, idx) ((unsigned)(idx) & (tlsf_sl_count(h) - 1u))
#define tlsf_idx_of(h, fl, sl) (((unsigned)(fl) << tlsf_sli(h)) + (unsigned)(sl))
#define tlsf_nclasses(h) ((unsigned)(h)->nclasses)

/* ---- helpers shared by the heap's files -----------------------------------
 * The index operations and the guards (fit_tlsf.h, guard.h) are inlined
 * into every caller when optimising for speed. Under -Os each is compiled
 * once, in heap/shared.c, and called: one copy instead of one per file. */
#if defined(__OPTIMIZE_SIZE__)
#define HK_SHARED_DECL(...) __VA_ARGS__
#define HK_SHARED
#ifdef HK_SHARED_IMPL
#define HK_SHARED_HERE 1
#else
#define HK_SHARED_HERE 0
#endif
#define heap_addr_ok hk__heap_addr_ok
#define heap_free_ok hk__heap_free_ok
#define heap_next_ok hk__heap_next_ok
#define heap_prev_ok hk__heap_prev_ok
#define heap_take_ok hk__heap_take_ok
#define tlsf_index hk__tlsf_index
#define tlsf_insert_at hk__tlsf_insert_at
#define tlsf_insert hk__tlsf_insert
#define tlsf_replace hk__tlsf_replace
#define tlsf_move hk__tlsf_move
#define tlsf_unlink hk__tlsf_unlink
#define tlsf_find hk__tlsf_find
#else
#define HK_SHARED_DECL(...)
#define HK_SHARED HK_INLINE
#define HK_SHARED_HERE 1
#endif

/* ---- cross-file internals of the heap ------------------------------------ */
/* Adds a region to a heap (lock held). */
int hk__heap_add_region(hk_heap_t *h, void *mem, size_t bytes);
/* Finds the block behind a caller's pointer, or reports and returns NULL. */
hk_block_t *hk__heap_checked_block(const hk_heap_t *h, const void *p);
/* The slow path of the pointer checks: reports the likely cause, returns NULL. */
hk_block_t *hk__heap_bad_block(const hk_heap_t *h, const void *p);
/* The free right neighbour of p's block is damaged: reports, returns NULL. */
hk_block_t *hk__heap_bad_neighbour(const hk_heap_t *h, const void *p);
/* The region holding block address ba, or NULL. */
const hk_region_t *hk__heap_region_of(const hk_heap_t *h, uintptr_t ba);
/* Asks the growth hook for a region that can hold a block of `need` bytes. */
bool hk__heap_grow(hk_heap_t *h, size_t need);
/* Allocation and free with the lock held. */
void *hk__heap_alloc(hk_heap_t *h, size_t n);
void hk__heap_free_block(hk_heap_t *h, hk_block_t *b);
/* The carve (heap_ops.h: heap_carve) out of line: the bsize bytes at b
 * become a used block of at least `need` bytes holding n requested bytes;
 * the tail takes the place of `held` (the indexed free block they end with,
 * sitting at `at`; NULL: none) or is inserted. */
void hk__heap_carve(hk_heap_t *h, hk_block_t *b, size_t bsize, size_t need, size_t n,
                    size_t was_used, hk_block_t *held, unsigned at);
/* heap_ops.h's heap_keep_low out of line: b keeps its first `low` bytes,
 * free; the block after them is returned, for a carve to size. */
hk_block_t *hk__heap_keep_low(hk_heap_t *h, hk_block_t *b, unsigned at, size_t low);

/* ---- the requested bytes (hk_stats_t.requested) ---------------------------
 * Kept on the fly with HK_HEAP_EXACT; without it, each used block counts
 * its usable bytes, which the other counters already give: used bytes less
 * one header per used block. */
HK_INLINE void heap_requested_add(hk_heap_t *h, size_t n)
{
#if HK_HEAP_EXACT
    h->requested += n;
#else
    (void)h, (void)n;
#endif
}

HK_INLINE void heap_requested_sub(hk_heap_t *h, size_t n)
{
#if HK_HEAP_EXACT
    h->requested -= n;
#else
    (void)h, (void)n;
#endif
}

HK_INLINE size_t heap_requested(const hk_heap_t *h)
{
#if HK_HEAP_EXACT
    return h->requested;
#else
    return h->usage.used - HK_W * (size_t)(h->allocs - h->frees);
#endif
}

/* Tells the event hook, if one is set, what an operation did. */
#if HK_EVENTS
HK_INLINE void heap_event(const hk_heap_t *h, hk_event_kind_t kind, const void *ptr,
                          const void *old_ptr, size_t size, size_t align)
{
    if (HK_UNLIKELY(h->event != NULL)) {
        hk_event_t ev = { kind, ptr, old_ptr, size, align };
        h->event(h->event_ctx, &ev);
    }
}
#else
#define heap_event(h, kind, ptr, old_ptr, size, align) ((void)0)
#endif

HK_INLINE bool heap_handle_ok(const hk_heap_t *h)
{
    return h && (h->gate == HK_HEAP_MAGIC || h->gate == HK_HEAP_BUSY);
}

/* Recomputes the gate after the lock or the event hook changed. */
HK_INLINE void heap_gate(hk_heap_t *h)
{
    bool plain = !h->lock.lock;
#if HK_EVENTS
    plain = plain && !h->event;
#endif
    h->gate = plain ? HK_HEAP_MAGIC : HK_HEAP_BUSY;
}

/* Returns every parked block to the block layer (heap.c). O(parked). */
void hk__heap_flush(hk_heap_t *h);

#endif /* HK_HEAP_IMPL_H */
