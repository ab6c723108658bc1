/* SPDX-License-Identifier: MIT */
/*
 * heapkit/tiered.h - the size-class front end: pools for small sizes in front
 * of a fallback heap, behind one alloc/free API.
 *
 * The caller names a few size classes (say 16, 32, 64, 128, 256 bytes) and
 * how many blocks of each it wants. A request is routed by size, through a
 * lookup table, to the smallest class that holds it, and served by that
 * class's hk_pool in O(1); a request larger than every class, or one whose
 * class (and, with spill, every larger class) is empty, goes to the fallback
 * hk_heap. Free finds the owner by address in O(1): the class pools sit in
 * one contiguous area cut into equal pages, and a byte per page names the
 * class that owns it, so no pool is searched. Each class keeps a bitmap of
 * one bit per block, so every double free of a class block is reported and
 * ignored (the fallback heap has its own checks).
 *
 * Alignment: a block of class size s is aligned to the largest power of two
 * dividing s, capped at HK_ALIGN and at least sizeof(void *) (so the 16-byte
 * class gives 16-aligned blocks, a 24-byte class 8-aligned ones: enough for
 * any object of that size). Fallback blocks have the heap's HK_ALIGN.
 *
 * Thread safety: none unless a lock is given; then every call below that
 * takes a tiered allocator runs under it, including its calls into the
 * fallback heap (which may have a lock of its own, taken inside).
 *
 * Interrupts: the class pools are O(1); a request that falls through to
 * the fallback heap costs a heap call. ISR use needs a lock that masks the
 * interrupt here and, when there is a fallback, on that heap too.
 */
#ifndef HEAPKIT_TIERED_H
#define HEAPKIT_TIERED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "heapkit/heap.h"
#include "heapkit/types.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The most size classes one tiered allocator can have. */
#ifndef HK_TIERED_MAX_CLASSES
#define HK_TIERED_MAX_CLASSES 16
#endif
/* The largest class size (the routing table has one byte per size granule
 * up to it). */
#ifndef HK_TIERED_MAX_CLASS_SIZE
#define HK_TIERED_MAX_CLASS_SIZE 4096
#endif

typedef struct hk_tiered hk_tiered_t; /* opaque, lives at the start of mem */

typedef struct {
    size_t size;  /* block size, >= sizeof(void *), <= HK_TIERED_MAX_CLASS_SIZE */
    size_t count; /* at least this many blocks (rounded up to whole pages)      */
} hk_tiered_class_t;

typedef struct {
    const hk_tiered_class_t *classes; /* strictly ascending sizes; not kept     */
    size_t nclasses;                  /* 1..HK_TIERED_MAX_CLASSES               */
    hk_heap_t *fallback;              /* large sizes and overflow; may be NULL  */
    const hk_lock_t *lock;            /* copied; NULL: the caller serialises    */
    size_t page;                      /* owner-table granule, a power of two;
                                       * 0: 256. Smaller pages waste less at
                                       * each class's end, cost a bigger table. */
    bool spill;                       /* an empty class borrows from the next
                                       * larger classes before the fallback    */
} hk_tiered_config_t;

/* Bytes of memory hk_tiered_init needs for cfg, with an aligned start (add
 * HK_ALIGN - 1 otherwise). 0 if cfg is invalid or the sum overflows. O(classes). */
size_t hk_tiered_mem_size(const hk_tiered_config_t *cfg);

/* Creates a tiered allocator in [mem, mem + bytes): its control structure,
 * routing and owner tables, then each class's pages. Returns the handle
 * (inside mem) or NULL, reporting HK_EINVAL (NULL mem/cfg/classes, sizes not
 * ascending, below a pointer or above HK_TIERED_MAX_CLASS_SIZE, count 0, too
 * many classes, page not a power of two), HK_ERANGE (size arithmetic
 * overflows) or HK_ENOMEM (bytes < hk_tiered_mem_size). Memory left after the
 * classes is not used. O(classes + pages). */
hk_tiered_t *hk_tiered_init(void *mem, size_t bytes, const hk_tiered_config_t *cfg);

/* Allocates size bytes (0 is treated as 1): from the smallest class that
 * holds size, else (spill) a larger class, else the fallback heap. Returns
 * NULL when none can (counted in failed_allocs) or t is NULL. O(1) for the
 * pools (O(classes) when spilling), the heap's complexity otherwise. */
void *hk_tiered_alloc(hk_tiered_t *t, size_t size);

/* Allocates n * size zeroed bytes; NULL if the product overflows. */
void *hk_tiered_calloc(hk_tiered_t *t, size_t n, size_t size);

/* Resizes p: stays in place while size fits p's block, otherwise moves
 * (alloc, copy, free). realloc(NULL, n) allocates; realloc(p, 0) frees and
 * returns NULL. On failure returns NULL and p is untouched.
 * Counting, the shared rule of hk_stats_t: allocs and frees count
 * successful calls; a realloc that moves the block (between classes,
 * between a class and the heap, or inside the fallback heap) counts one
 * alloc and one free; one that keeps p counts neither; one that fails counts
 * one failed_alloc. realloc(NULL, n) counts as an alloc, realloc(p, 0) as a
 * free. */
void *hk_tiered_realloc(hk_tiered_t *t, void *p, size_t size);

/* Frees p, routing it by address: a class block back to its pool, anything
 * else to the fallback heap. NULL does nothing. A pointer in the class area
 * that is not a live block is reported by the pool (HK_EBADPTR,
 * HK_EDOUBLEFREE); outside it with no fallback heap it is reported as
 * HK_EBADPTR. O(1) for class blocks. */
void hk_tiered_free(hk_tiered_t *t, void *p);

/* Bytes the caller may use at p: its class size, or the heap's usable size.
 * 0 for NULL. O(1). */
size_t hk_tiered_usable_size(hk_tiered_t *t, const void *p);

/* True iff p lies in the class area (so a pool, not the heap, owns it). */
bool hk_tiered_owns(const hk_tiered_t *t, const void *p);

/* Number of classes, and the statistics of class i (its pool's, see
 * hk_pool_get_stats); *out is zeroed for a bad i. */
size_t hk_tiered_class_count(const hk_tiered_t *t);
void hk_tiered_class_stats(hk_tiered_t *t, size_t i, hk_stats_t *out);

/* Aggregated statistics: the sums over the class pools plus the fallback
 * heap's (all of it, including blocks others allocated there); largest_free
 * is the larger of the heap's and the biggest class with a free block,
 * smallest_free the smaller of the heap's and the smallest such class;
 * peak_used and min_ever_free are sums of the parts' (bounds); allocs, frees and failed_allocs count this allocator's calls. O(classes)
 * plus the heap's get_stats. */
void hk_tiered_get_stats(hk_tiered_t *t, hk_stats_t *out);

/* Checks the routing table (every size maps to the smallest class holding
 * it), the owner table (every page names the class whose range holds it),
 * every pool, and the fallback heap. Returns 0, HK_EINVAL (reported) when t
 * is NULL or not an allocator hk_tiered_init made (a bad handle), or
 * HK_ECORRUPT (reported) for damaged state. O(pages + blocks). */
int hk_tiered_validate(hk_tiered_t *t);

#ifdef __cplusplus
}
#endif

#endif /* HEAPKIT_TIERED_H */
