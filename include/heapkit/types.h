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
 *   free_blocks, used_blocks   block counts
 *   peak_used      highest `used` ever seen (monotonic)
 *   min_ever_free  lowest `free` ever seen (monotonic)
 *   requested      sum of the sizes callers asked for, over live blocks;
 *                  used - requested is the internal fragmentation
 *   allocs, frees, failed_allocs   call counters (monotonic)              */
typedef struct {
    size_t total;
    size_t used;
    size_t free;
    size_t largest_free;
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
 * between lock(ctx) and unlock(ctx). On an RTOS these can take a mutex; in an
 * ISR-shared heap they can mask interrupts. Must not be recursive into the
 * same allocator. */
typedef struct {
    void (*lock)(void *ctx);
    void (*unlock)(void *ctx);
    void *ctx;
} hk_lock_t;

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
