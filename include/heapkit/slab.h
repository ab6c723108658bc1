/* SPDX-License-Identifier: MIT */
/*
 * heapkit/slab.h - object caches that grow and shrink on a backing heap.
 *
 * A slab cache hands out objects of one size. Its memory comes in slabs --
 * power-of-two blocks of slab_size bytes, aligned to their size, taken from
 * an hk_heap with hk_heap_aligned_alloc when no slab has a free object, and
 * given back when more than max_empty slabs are empty. Each slab starts with
 * a small header (links, free list, a bitmap of used objects) followed by
 * its objects, so the slab of any object is found by masking its address:
 * free is O(1) and needs no per-object header.
 *
 * Complexity: alloc and free O(1), plus one heap call when a slab is created
 * or given back. Thread safety: none unless a lock is given; then every call
 * below runs under it (and the heap is called under it too).
 *
 * Cheap checks on free, always on: the slab header's check word must match
 * (pointer foreign or from another cache), the object must be on an object
 * boundary, and its bit in the slab's bitmap must be set (double free).
 * hk_slab_free reads the word at p & ~(slab_size - 1): only pass pointers
 * that are at least inside memory the program may read.
 *
 * The struct is public so caches can be static or embedded; fields private.
 *
 * Interrupts: alloc from a slab with a free object is O(1); taking a new
 * slab or giving an empty one back calls the backing heap, so ISR use
 * needs a lock that masks the interrupt on both the slab cache and that
 * heap, and the heap's time on the slow path.
 */
#ifndef HEAPKIT_SLAB_H
#define HEAPKIT_SLAB_H

#include <stddef.h>
#include <stdint.h>

#include "heapkit/heap.h"
#include "heapkit/types.h"

#ifdef __cplusplus
extern "C" {
#endif

struct hk_slab;

typedef struct {
    size_t obj_size;       /* bytes per object, >= sizeof(void *); required     */
    size_t align;          /* object alignment, power of two; 0: min(HK_ALIGN,
                            * largest power of two dividing obj_size)          */
    size_t slab_size;      /* power of two; 0: the smallest of at least 512
                            * bytes that holds 8 objects                       */
    size_t max_empty;      /* empty slabs kept for reuse before giving back    */
    const hk_lock_t *lock; /* copied; NULL: the caller serialises              */
} hk_slab_config_t;

typedef struct hk_slab_cache {
    hk_heap_t *heap;
    size_t obj_size, stride, slab_size, per_slab, first_off, bitmap_words, max_empty;
    struct hk_slab *partial, *full, *empty; /* doubly linked lists of slabs */
    size_t nslabs, nempty, used;            /* used: live objects               */
    struct {                                /* the shared usage counter, bytes  */
        size_t total, used, peak, min_free, trip;
    } usage;
    uint64_t allocs, frees, failed, grown, shrunk;
    hk_lock_t lock;
} hk_slab_cache_t;

/* Sets up cache over heap (no memory is taken until the first alloc).
 * Returns 0, or HK_EINVAL (NULL cache/heap/cfg, obj_size below a pointer,
 * align or slab_size not a power of two, slab_size too small for the header
 * and one object) or HK_ERANGE (sizes overflow). O(1). */
int hk_slab_init(hk_slab_cache_t *cache, hk_heap_t *heap, const hk_slab_config_t *cfg);

/* Returns an object, or NULL when no slab has room and the heap cannot give
 * a new one (counted in failed_allocs). O(1) plus a heap call to grow. */
void *hk_slab_alloc(hk_slab_cache_t *cache);

/* Returns object p to its slab. NULL does nothing. A pointer whose slab
 * header does not check out (foreign, another cache's, a slab already given
 * back) or that is not on an object boundary is reported as HK_EBADPTR, a
 * second free as HK_EDOUBLEFREE; nothing changes. When the slab becomes empty
 * and more than max_empty slabs are empty, it is given back to the heap.
 * O(1) plus a heap call to shrink. */
void hk_slab_free(hk_slab_cache_t *cache, void *p);

/* Gives every empty slab back to the heap; returns how many. O(empty slabs). */
size_t hk_slab_shrink(hk_slab_cache_t *cache);

/* Gives every slab back and leaves the cache empty but usable. Returns 0, or
 * HK_EBUSY (reported) when objects are still allocated: then nothing is
 * freed. O(slabs). */
int hk_slab_destroy(hk_slab_cache_t *cache);

/* Objects per slab, and the object size given at init. */
size_t hk_slab_per_slab(const hk_slab_cache_t *cache);
size_t hk_slab_obj_size(const hk_slab_cache_t *cache);

/* Fills *out, every size in bytes: total = slabs * slab_size; used = headers
 * and slack of every slab plus live objects' strides; free = free object
 * strides (total - used); peak_used and min_ever_free are the highest `used`
 * and the lowest `free` in that same unit (a new slab counts its header as
 * used at once, so peak_used >= used always; a slab given back lowers total
 * and used, never the marks); requested = live objects * obj_size; blocks
 * are objects; largest_free is the object size when an object is free
 * without growing, else 0. The heap's own statistics are not included. O(1). */
void hk_slab_get_stats(const hk_slab_cache_t *cache, hk_stats_t *out);

/* Restarts peak_used and min_ever_free from the current use. O(1). */
void hk_slab_reset_marks(hk_slab_cache_t *cache);

/* Walks every slab of every list: header check words, list membership
 * agrees with the used count, free list and bitmap agree, counters agree with
 * a recount; then validates the heap. Returns 0, HK_EINVAL (reported) for a
 * NULL cache or one that was never initialised (no heap), or HK_ECORRUPT
 * (reported) for damaged state. O(slabs * objects per slab). */
int hk_slab_validate(const hk_slab_cache_t *cache);

#ifdef __cplusplus
}
#endif

#endif /* HEAPKIT_SLAB_H */
