/*
 * heap_impl.h - the heap object and what the heap's files share.
 *
 * The heap object sits at the start of the first region, followed by the
 * TLSF class table (heads[]), whose length is decided at init from the size
 * the table must cover (hk_heap_config_t.class_span). For an 8 KiB heap on a
 * 32-bit MCU that is 8 first-level classes x 16 = 128 list heads (512 bytes);
 * for a heap that can grow to the whole 64-bit address space it is 57 x 16.
 *
 * Regions are kept in an address-ordered singly linked list of small
 * descriptors, each stored at the start of its own region (the first
 * region's is inside the heap object). Pointer checks on free look at the
 * overall bounds [lo, hi) first, then at the regions only when there are
 * several.
 */
#ifndef HK_HEAP_IMPL_H
#define HK_HEAP_IMPL_H

#include "heap/block.h"
#include "heapkit/heap.h"

#define HK_HEAP_MAGIC 0x48454150u /* "HEAP" */

/* Constant log2 of a power of two up to 128, usable in constant expressions. */
#define HK__LOG2(x) ((x) >= 128 ? 7 : (x) >= 64 ? 6 : (x) >= 32 ? 5 : (x) >= 16 ? 4 : (x) >= 8 ? 3 : 2)

#define HK_SL_COUNT (1u << HK_TLSF_SLI)
/* Sizes below 2^HK_SMALL_SHIFT live in first-level class 0, whose second-level
 * classes are exact: one per granule. */
#define HK_SMALL_SHIFT ((unsigned)HK_TLSF_SLI + (unsigned)HK__LOG2(HK_ALIGN))
#define HK_FL_MAX ((unsigned)(sizeof(size_t) * 8u))

#if HK_TLSF_SLI <= 4
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

struct hk_heap {
    uint32_t magic;
    uint8_t fit;        /* hk_fit_t                                 */
    uint8_t fl_count;   /* TLSF first-level classes in heads[]      */
    uint16_t nregions;
    size_t fl_bitmap;   /* TLSF: bit f set iff sl_bitmap[f] != 0    */
    hk_block_t *list;   /* first/best fit: the one free list        */
    uintptr_t lo, hi;   /* bounds over all regions' blocks          */
    size_t span;        /* hi - lo with one region, 0 with several (guard.h) */
    const void *bad;    /* first damage met by this operation (guard.h) */
    const char *bad_why;
    hk_region_t *regions;
    hk_lock_t lock;
    hk_grow_fn grow;
    void *grow_ctx;
#if HK_EVENTS
    hk_event_fn event;  /* optional observer (types.h)                */
    void *event_ctx;
#endif
    /* statistics kept on the fly; derived: free = total - used,
     * used_blocks = allocs - frees (a moving realloc counts as both) */
    size_t total, used, free_blocks, requested;
    size_t peak_used, min_ever_free, used_floor; /* see heap_account_used */
    uint64_t allocs, frees, failed_allocs;
    hk_region_t first_region;
#if HK_DEBUG >= 1
    uint32_t dbg_secret;  /* key of the blocks' check words (debug.c)      */
    uint32_t dbg_seq;     /* sequence number of the next allocation        */
#endif
    hk_slmap_t sl_bitmap[HK_FL_MAX];
    hk_block_t *heads[]; /* fl_count * HK_SL_COUNT list heads (TLSF) */
};

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
/* Turns the free, unindexed block b (bsize bytes) into a used block of at
 * least `need` bytes holding n requested bytes; the tail goes back to the
 * index (merged with a free right neighbour). `was_used` is the size b
 * counted as used before (0 for a fresh allocation). b keeps its PREV_FREE. */
void hk__heap_carve(hk_heap_t *h, hk_block_t *b, size_t bsize, size_t need, size_t n,
                    size_t was_used);

#if HK_DEBUG >= 1
/* For the debug layer, with the lock held: realloc and aligned allocation
 * (heap_resize.c), the validator (NULL, or the reason and *where). */
void *hk__heap_realloc_locked(hk_heap_t *h, hk_block_t *b, size_t n);
void *hk__heap_aligned_locked(hk_heap_t *h, size_t align, size_t n);
const char *hk__heap_check(const hk_heap_t *h, const void **where);
#endif

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
    return h && h->magic == HK_HEAP_MAGIC;
}

#endif /* HK_HEAP_IMPL_H */
