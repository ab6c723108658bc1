/* SPDX-License-Identifier: MIT */
/*
 * heapkit/heap.h - the variable-size heap.
 *
 * A heap manages one or more caller-given memory regions. Its control
 * structure lives at the start of the first region; the library never calls
 * the system malloc. Blocks carry a one-word header (size and two flag bits);
 * free blocks also hold two list links and a footer, so the smallest block is
 * four words (32 bytes on a 64-bit host with HK_ALIGN 16, 16 bytes on 32-bit).
 *
 * Fit policies (chosen per heap at run time):
 *   HK_FIT_TLSF   two-level segregated fit with a bounded in-class search:
 *                 O(1) alloc and free, the default.
 *   HK_FIT_FIRST  address-ordered first fit: O(n) alloc and free, the lowest
 *                 fragmentation on long-running mixed workloads.
 *   HK_FIT_BEST   size-ordered list, best fit: O(n) alloc and free.
 *
 * Thread safety: none unless a lock is given in the configuration; then
 * every function below that takes a heap runs under that lock.
 *
 * Interrupts: every call is O(1) for TLSF (O(free blocks) for first and
 * best fit) and never blocks, so a heap may be used from an ISR when its
 * lock masks that interrupt (heapkit/port/lock_cortexm.h PRIMASK/BASEPRI,
 * lock_riscv.h mstatus.MIE, or FreeRTOS's HK_FREERTOS_ISR_LOCK) and every
 * other user takes the same lock; with an RTOS scheduler lock or a mutex
 * it must not be called from an ISR. The growth hook and the event hook
 * run inside the lock, so in ISR use they must be ISR-safe too.
 */
#ifndef HEAPKIT_HEAP_H
#define HEAPKIT_HEAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "heapkit/types.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct hk_heap hk_heap_t; /* opaque, lives inside the first region */

typedef enum { HK_FIT_TLSF = 0, HK_FIT_FIRST, HK_FIT_BEST } hk_fit_t;

/* The growth hook: asked for at least min_bytes more memory when nothing
 * fits. Returns the memory (any alignment) and its size in *got_bytes, or
 * NULL. The heap adds what it gets as a new region and retries once. */
typedef void *(*hk_grow_fn)(void *ctx, size_t min_bytes, size_t *got_bytes);

typedef struct {
    hk_fit_t fit;          /* default HK_FIT_TLSF */
    const hk_lock_t *lock; /* NULL: the caller serialises; copied at init */
    hk_grow_fn grow;       /* optional: more memory on demand */
    void *grow_ctx;
    /* TLSF only: the largest block size the O(1) class table must cover.
     * 0 derives it: the whole address space when `grow` is set, otherwise the
     * first region's size. Blocks above it (from a larger region added later)
     * still work; they share the top class, which is then searched linearly.
     * A smaller span means a smaller control structure (see hk_heap_min_size). */
    size_t class_span;
    /* Optional event hook (types.h), called after every alloc, free,
     * realloc and failed allocation with the lock held. Needs HK_EVENTS. */
    hk_event_fn event;
    void *event_ctx;
    /* true: every block is cut from the bottom of the free block it comes
     * from, so blocks lie in allocation order (the choice of first fit
     * always). false, the default: blocks of at most HK_HEAP_TOP_CUT bytes
     * (heapkit/config.h; 96 on 64-bit targets, off on 32-bit) are cut from
     * its top, which keeps small and large blocks apart and the heap less
     * fragmented. */
    bool bottom_cut;
} hk_heap_config_t;

/* Called by hk_heap_walk for each block: its user pointer, its size (a used
 * block: what hk_heap_usable_size says; a free one: its payload bytes,
 * header excluded) and whether it is in use. */
typedef void (*hk_walk_fn)(void *ptr, size_t size, bool used, void *ctx);

/* Creates a heap in [mem, mem + bytes). mem may have any alignment; the start
 * is aligned up. cfg may be NULL (all defaults) and is not kept. Returns the
 * heap, whose handle points inside mem, or NULL (and reports HK_EINVAL through
 * the error hook) when mem is NULL, the configuration is invalid, or the
 * region is smaller than hk_heap_min_size() plus alignment slack.
 * O(size of the class table). */
hk_heap_t *hk_heap_init(void *mem, size_t bytes, const hk_heap_config_t *cfg);

/* The smallest region hk_heap_init accepts with the default configuration
 * (control structure + one minimum block + end marker), assuming an aligned
 * start; add HK_ALIGN - 1 for an unaligned one. */
size_t hk_heap_min_size(void);

/* Bytes of control structure (the heap object and its class table) that
 * hk_heap_init takes from a first region of `bytes` bytes under `cfg`.
 * Returns 0 if cfg is invalid. */
size_t hk_heap_overhead(size_t bytes, const hk_heap_config_t *cfg);

/* Adds [mem, mem + bytes) to the heap. Regions may come in any order and need
 * not be contiguous; they are never merged. Returns 0, or HK_EINVAL (NULL heap
 * or mem, region too small to hold one block), HK_EOVERLAP (overlaps a region
 * of this heap). O(number of regions). */
int hk_heap_add_region(hk_heap_t *h, void *mem, size_t bytes);

/* Allocates size bytes aligned to HK_ALIGN. size 0 gives a unique pointer
 * that may be freed. Returns NULL when nothing fits (after asking the growth
 * hook, if any) or when the size cannot be represented; a failure leaves the
 * heap unchanged and counts in failed_allocs. TLSF: O(1). */
void *hk_heap_alloc(hk_heap_t *h, size_t size);

/* Allocates n * size zeroed bytes. Returns NULL if n * size overflows (counted
 * as a failed alloc) or nothing fits. */
void *hk_heap_calloc(hk_heap_t *h, size_t n, size_t size);

/* Resizes the block p to size bytes, keeping min(old, new) bytes of content.
 * realloc(NULL, n) allocates; realloc(p, 0) frees p and returns NULL. Grows in
 * place into a free next neighbour, else into a free previous neighbour
 * (moving the data down), else allocates, copies and frees. Shrinks in place,
 * giving the tail back. Returns NULL on failure with p untouched and still
 * owned by the caller; an invalid p is reported (HK_EBADPTR) and NULL returned. */
void *hk_heap_realloc(hk_heap_t *h, void *p, size_t size);

/* Allocates size bytes aligned to align, any power of two (at least up to
 * 64 KiB; larger ones work when the heap has room). An align below HK_ALIGN
 * is raised to it. Returns NULL if align is not a power of two or nothing
 * fits. The block frees with hk_heap_free. */
void *hk_heap_aligned_alloc(hk_heap_t *h, size_t align, size_t size);

/* Frees p. free(NULL) does nothing. A p that is not a live block of this heap
 * (foreign, misaligned, interior, already freed) is reported through the error
 * hook (HK_EBADPTR or HK_EDOUBLEFREE) and the heap is left unchanged.
 * TLSF: O(1); first and best fit: O(free blocks). */
void hk_heap_free(hk_heap_t *h, void *p);

/* The bytes the caller owns at p; 0 for NULL or a pointer that is not a live
 * block (reported). With HK_HEAP_EXACT (config.h; every debug level), the
 * size asked for when p was allocated or resized; without it (the default
 * at HK_DEBUG 0), the block's usable bytes: that size rounded up to the
 * granule, or a little more where a tail too small to be a block stayed
 * with it. O(1). */
size_t hk_heap_usable_size(const hk_heap_t *h, const void *p);

/* Fills *out with the heap's statistics (see hk_stats_t). largest_free is
 * exact: hk_heap_alloc(h, largest_free) succeeds and largest_free + 1 does
 * not (without growth). O(log size) for TLSF, O(free blocks) otherwise. */
void hk_heap_get_stats(const hk_heap_t *h, hk_stats_t *out);

/* Resets the marks: peak_used becomes the current used and min_ever_free the
 * current free (FreeRTOS's xPortResetHeapMinimumEverFreeHeapSize). O(1). */
void hk_heap_reset_marks(hk_heap_t *h);

/* Sets (fn non-NULL) or clears (fn NULL) the event hook of h; see
 * hk_event_fn in types.h. Returns 0, HK_EINVAL for a bad heap, or HK_ENOTSUP
 * when heapkit was built with HK_EVENTS 0. */
int hk_heap_set_event_hook(hk_heap_t *h, hk_event_fn fn, void *ctx);

/* Checks the whole heap: boundary tags agree, no two free neighbours, every
 * free block indexed exactly once and nothing else indexed, bitmaps agree with
 * the lists, statistics agree with a recount. Returns 0, HK_EINVAL for NULL
 * or a bad handle, or HK_ECORRUPT (damaged state); both are also reported
 * through the error hook with the reason. O(blocks). */
int hk_heap_validate(const hk_heap_t *h);

/* Calls fn for every block of every region, in address order per region.
 * fn must not call into this heap. O(blocks). */
void hk_heap_walk(const hk_heap_t *h, hk_walk_fn fn, void *ctx);

/* The fit policy of h. */
hk_fit_t hk_heap_fit(const hk_heap_t *h);

#ifdef __cplusplus
}
#endif

#endif /* HEAPKIT_HEAP_H */
