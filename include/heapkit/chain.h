/* SPDX-License-Identifier: MIT */
/*
 * heapkit/chain.h - priority and capability heaps: several kinds of RAM
 * behind one API.
 *
 * A chain is an ordered list of heaps, each over one memory region, each
 * with a priority and a capability mask (fast, DMA-capable, executable, ...).
 * hk_chain_alloc(chain, size, caps, min_priority) tries, from the highest
 * priority down, every heap that has all of `caps` and a priority of at least
 * min_priority, and returns the first block it gets: ask for HK_CAP_DMA and
 * get internal SRAM if it has room, else DMA-capable external RAM. Free
 * routes the pointer to the heap whose region holds it. This is the model of
 * ESP-IDF's heap_caps_malloc, over heapkit heaps.
 *
 * Complexity: alloc O(heaps) times the heap's alloc; free O(heaps) to find
 * the owner (at most HK_CHAIN_MAX_HEAPS compares) plus the heap's free.
 * Thread safety: none unless a lock is given at init; then every call below
 * runs under it. Heaps may have locks of their own (taken inside).
 *
 * The struct is public so a chain can be static; its fields are private.
 *
 * Interrupts: an allocation tries up to HK_CHAIN_MAX_HEAPS heaps, each a
 * heap call; ISR use needs a lock that masks the interrupt (on the chain
 * and on heaps reachable directly), and the cost is the sum of the tries.
 */
#ifndef HEAPKIT_CHAIN_H
#define HEAPKIT_CHAIN_H

#include <stddef.h>
#include <stdint.h>

#include "heapkit/heap.h"
#include "heapkit/types.h"

#ifdef __cplusplus
extern "C" {
#endif

#ifndef HK_CHAIN_MAX_HEAPS
#define HK_CHAIN_MAX_HEAPS 8
#endif

/* Capability bits. Bits 16..31 are free for the integrator's own. */
#define HK_CAP_FAST     (1u << 0) /* single-cycle / tightly coupled RAM   */
#define HK_CAP_DMA      (1u << 1) /* reachable by the DMA engines         */
#define HK_CAP_EXEC     (1u << 2) /* code may run from it                 */
#define HK_CAP_INTERNAL (1u << 3) /* on-chip                              */
#define HK_CAP_EXTERNAL (1u << 4) /* off-chip (SDRAM, PSRAM)              */
#define HK_CAP_RETAIN   (1u << 5) /* kept across deep sleep               */
#define HK_CAP_USER0    (1u << 16)

typedef struct {
    hk_heap_t *heap;
    uintptr_t lo, hi;   /* the region the heap was made over */
    uint32_t caps;
    int priority;
    uint64_t served;    /* allocations this heap satisfied through the chain */
} hk_chain_entry_t;

typedef struct hk_chain {
    hk_chain_entry_t e[HK_CHAIN_MAX_HEAPS]; /* by priority, highest first */
    size_t n;
    hk_lock_t lock;
    uint64_t allocs, frees, failed, fallbacks;
} hk_chain_t;

/* Makes an empty chain. lock may be NULL and is copied. Returns 0 or
 * HK_EINVAL (chain NULL). O(1). */
int hk_chain_init(hk_chain_t *chain, const hk_lock_t *lock);

/* Creates a heap over [mem, mem + bytes) with cfg (may be NULL; a grow hook
 * is refused, because memory outside the region could not be routed on free)
 * and adds it to the chain with caps and priority; among equal priorities,
 * heaps added earlier are tried first. Returns the heap's index (>= 0) for
 * hk_chain_heap_stats, or HK_EINVAL (NULL chain or mem, a grow hook, the heap
 * could not be made), HK_ERANGE (HK_CHAIN_MAX_HEAPS reached) or HK_EOVERLAP
 * (the region overlaps one in the chain); errors are reported. Indices of
 * lower-priority heaps shift up by one. O(heaps). */
int hk_chain_add_region(hk_chain_t *chain, void *mem, size_t bytes, uint32_t caps, int priority,
                        const hk_heap_config_t *cfg);

/* Allocates size bytes (HK_ALIGN-aligned) from the first heap, in priority
 * order, that has every bit of caps and priority >= min_priority and can
 * satisfy it. Returns NULL when none can (counted in failed_allocs) or chain
 * is NULL. */
void *hk_chain_alloc(hk_chain_t *chain, size_t size, uint32_t caps, int min_priority);

/* As hk_chain_alloc, with alignment align (see hk_heap_aligned_alloc). */
void *hk_chain_aligned_alloc(hk_chain_t *chain, size_t align, size_t size, uint32_t caps,
                             int min_priority);

/* Resizes p, keeping it in memory with caps: in place in its own heap when
 * that heap has caps, else (or when that fails) by allocating from the chain
 * with caps and min_priority, copying and freeing. realloc(NULL) allocates,
 * realloc(p, 0) frees and returns NULL; on failure returns NULL, p untouched
 * (counted in failed_allocs). A p that no heap owns is reported
 * (HK_EBADPTR). Counting (the shared rule): a realloc that moves the block,
 * inside its heap or to another, counts one alloc and one free; one that
 * stays in place counts neither. */
void *hk_chain_realloc(hk_chain_t *chain, void *p, size_t size, uint32_t caps, int min_priority);

/* Frees p in the heap whose region holds it. NULL does nothing; a pointer in
 * no region is reported (HK_EBADPTR); the heap reports its own misuse. */
void hk_chain_free(hk_chain_t *chain, void *p);

/* The index of the heap whose region holds p, or -1. O(heaps). */
int hk_chain_owner(hk_chain_t *chain, const void *p);

/* Fallbacks: successful allocations (hk_chain_alloc, hk_chain_aligned_alloc
 * and the allocating path of hk_chain_realloc) that a heap other than the
 * first eligible one satisfied, because every eligible heap before it could
 * not. Monotonic; 0 for NULL. A rising count means the preferred memory is
 * full. O(1). */
uint64_t hk_chain_fallbacks(const hk_chain_t *chain);

/* The number of heaps, heap i (NULL if out of range), and heap i's caps. */
size_t hk_chain_count(const hk_chain_t *chain);
hk_heap_t *hk_chain_heap(const hk_chain_t *chain, size_t i);
uint32_t hk_chain_caps(const hk_chain_t *chain, size_t i);

/* Statistics of heap i (the heap's own: hk_heap_get_stats); zeroed if out of
 * range. */
void hk_chain_heap_stats(hk_chain_t *chain, size_t i, hk_stats_t *out);

/* Aggregated statistics over every heap that has all of caps (0: every
 * heap): sizes and block counts are sums, largest_free the largest of any
 * one heap, smallest_free the smallest non-zero one; peak_used and min_ever_free are sums of the per-heap figures (a
 * bound: the heaps need not have peaked together); allocs, frees and
 * failed_allocs count this chain's calls (with caps 0) or the `served`
 * allocations of the matching heaps (allocs only, otherwise). O(heaps). */
void hk_chain_get_stats(hk_chain_t *chain, uint32_t caps, hk_stats_t *out);

/* Checks the chain (count, priority order, regions disjoint and each heap
 * inside its region) and validates every heap. Returns 0, HK_EINVAL
 * (reported) for a NULL chain (a bad handle; an all-zero chain is a valid
 * empty one), or HK_ECORRUPT (reported) for damaged state. O(heaps +
 * blocks). */
int hk_chain_validate(hk_chain_t *chain);

#ifdef __cplusplus
}
#endif

#endif /* HEAPKIT_CHAIN_H */
