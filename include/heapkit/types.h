/* SPDX-License-Identifier: MIT */
/*
 * heapkit/types.h - what every heapkit allocator shares: the error codes, the
 * one statistics shape, the lock hooks and the error hook.
 *
 * Every component (heap, pool, ring, chain, pages, ...) reports through the
 * same hk_stats_t and the same error hook, so a firmware can log all of its
 * allocators in one format and route all misuse reports to one place.
 */
#ifndef HEAPKIT_TYPES_H
#define HEAPKIT_TYPES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "heapkit/config.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Error codes: negative, returned by init/configuration calls and passed to
 * the error hook. 0 is success. */
#define HK_OK          0
#define HK_EINVAL      (-1)  /* bad argument: NULL, zero, misaligned, too small   */
#define HK_ENOMEM      (-2)  /* not enough memory                                 */
#define HK_EOVERLAP    (-3)  /* a region overlaps one the allocator already has   */
#define HK_EBADPTR     (-4)  /* pointer not a live block of this allocator        */
#define HK_EDOUBLEFREE (-5)  /* block already free                                */
#define HK_ECORRUPT    (-6)  /* metadata damaged (overflow, stray write)          */
#define HK_ERANGE      (-7)  /* a size or count outside what is supported         */
#define HK_EBUSY       (-8)  /* resource in use (e.g. range already claimed)      */
#define HK_ENOTSUP     (-9)  /* feature compiled out or not offered by the port   */
#define HK_EFAULT      (-10) /* access violation (vm): no region or protection    */

/* Returns a static, human-readable name for an HK_E* code ("HK_EDOUBLEFREE:
 * block already free"); never NULL, "unknown error" for other values. */
const char *hk_strerror(int code);

/* The statistics shape every heapkit allocator fills in.
 *   total          bytes under management (free + used, headers included)
 *   used, free     bytes in used / free blocks, headers included
 *   largest_free   the largest size one allocation call would satisfy now
 *   smallest_free  the largest request the smallest free block alone could
 *                  satisfy (FreeRTOS's xMinimumFreeBlockSizeInBytes); 0 when
 *                  nothing is free. Allocators with one block size report it.
 *   free_blocks, used_blocks   block counts
 *   peak_used      highest `used` since start or the last reset of the marks
 *   min_ever_free  lowest `free` since start or the last reset of the marks
 *                  (monotonic between resets: see each allocator's
 *                  *_reset_marks call, e.g. hk_heap_reset_marks)
 *   requested      sum of the sizes callers asked for, over live blocks;
 *                  used - requested is the internal fragmentation (the
 *                  heap without HK_HEAP_EXACT: the sum of the blocks'
 *                  usable bytes, so used - requested is the headers)
 *   allocs, frees  successful allocations and frees (monotonic); a moving
 *                  realloc counts as one of each, a failed call in neither
 *   failed_allocs  allocation calls that returned NULL (monotonic)        */
typedef struct {
    size_t total;
    size_t used;
    size_t free;
    size_t largest_free;
    size_t smallest_free;
    size_t free_blocks;
    size_t used_blocks;
    size_t peak_used;
    size_t min_ever_free;
    size_t requested;
    uint64_t allocs;
    uint64_t frees;
    uint64_t failed_allocs;
} hk_stats_t;

/* External fragmentation in parts per thousand: 1000 * (1 - largest_free /
 * free); 0 when free is 0. Integer arithmetic only (no FPU needed). */
unsigned hk_stats_frag_permille(const hk_stats_t *s);

/* Lock hooks: with a lock given, every public call of an allocator runs
 * between `saved = lock(ctx)` and `unlock(ctx, saved)`. lock returns whatever
 * unlock needs to restore: the interrupt mask it saved (PRIMASK, BASEPRI,
 * mstatus.MIE), a scheduler state, or 0. The saved value lives on the
 * caller's stack for the length of one call, so the same hooks serve
 * nested users (an ISR that preempts a task between two heap calls).
 * Either both hooks are set or neither ({NULL, NULL, NULL}: no locking).
 * The hooks must not call into the same allocator. A heap used from an
 * interrupt needs hooks that mask that interrupt; a mutex cannot be taken
 * in an ISR, nor guard the heap an RTOS allocates its mutexes from. */
typedef uintptr_t (*hk_lock_fn)(void *ctx);
typedef void (*hk_unlock_fn)(void *ctx, uintptr_t saved);
typedef struct {
    hk_lock_fn lock;
    hk_unlock_fn unlock;
    void *ctx;
} hk_lock_t;

/* The event hook: an optional per-allocator observer of every allocation,
 * free, reallocation and failed allocation, called after the operation with
 * the allocator's lock held (so it must not call into the same allocator;
 * it may append to a ring, count, or trace). Compiled in when HK_EVENTS is 1
 * (config.h); with no hook set it costs one predicted branch per call.
 *   kind     HK_EVENT_ALLOC, HK_EVENT_FREE, HK_EVENT_REALLOC, HK_EVENT_FAIL
 *   ptr      ALLOC/REALLOC: the block returned; FREE: the block freed;
 *            FAIL: NULL
 *   old_ptr  REALLOC: the block resized (may equal ptr); otherwise NULL
 *   size     ALLOC/REALLOC/FAIL: the size asked for; FREE: the size the
 *            block was allocated with (its usable size)
 *   align    the alignment asked for (0: the allocator's default)       */
typedef enum {
    HK_EVENT_ALLOC = 1,
    HK_EVENT_FREE = 2,
    HK_EVENT_REALLOC = 3,
    HK_EVENT_FAIL = 4
} hk_event_kind_t;

typedef struct {
    hk_event_kind_t kind;
    const void *ptr;
    const void *old_ptr;
    size_t size;
    size_t align;
} hk_event_t;

typedef void (*hk_event_fn)(void *ctx, const hk_event_t *ev);

/* The error hook: called on every detected misuse or corruption with the
 * code (HK_E*), the offending pointer (or NULL), a short static reason
 * ("double free?", "pointer outside every region") and the context given at
 * registration. The library itself never prints. */
typedef void (*hk_error_fn)(int code, const void *ptr, const char *reason, void *ctx);

/* Installs the process-wide error hook (NULL: errors are only counted).
 * Not thread-safe with respect to concurrent reports; set it once at start. */
void hk_set_error_hook(hk_error_fn fn, void *ctx);

/* Number of errors reported through the hook since start (monotonic). */
uint64_t hk_error_count(void);

#ifdef __cplusplus
}
#endif

#endif /* HEAPKIT_TYPES_H */
