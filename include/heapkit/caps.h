/* SPDX-License-Identifier: MIT */
/*
 * heapkit/caps.h - ESP-IDF's capability heap API (heap_caps_*) over an
 * hk_chain: code written against heap_caps_malloc, heap_caps_free,
 * heap_caps_get_free_size, heap_caps_check_integrity_all and the rest maps
 * one to one onto hk_caps_* (docs/caps.md has the side-by-side table).
 *
 * ESP-IDF registers the chip's memories at boot and serves every call from
 * that one process-wide set. Here the integrator builds an hk_chain (one
 * hk_chain_add_region per kind of memory, with its capabilities and a
 * priority: the order in which heaps are tried) and hands it to
 * hk_caps_init; every hk_caps_* call then goes to that chain. A request
 * names the capabilities it needs; the first heap, in priority order, that
 * has all of them and room serves it.
 *
 * Sizes: "free" and "total" count bytes in heap blocks, block headers
 * included (hk_stats_t's free and total), as ESP-IDF's multi_heap figures
 * do; "largest free block" is exact: an allocation of that size with the
 * same caps succeeds.
 *
 * Thread safety: the allocation and statistics calls are as safe as the
 * chain (give hk_chain_init a lock to share it between tasks). hk_caps_init,
 * the failed-allocation callback and the minimum-free monitor change
 * process-wide state: call them from one task, not concurrently with others.
 * No call divides: the layer needs no division helper on cores without a
 * divider.
 */
#ifndef HEAPKIT_CAPS_H
#define HEAPKIT_CAPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "heapkit/chain.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ESP-IDF's MALLOC_CAP_* names. Those with a chain capability are that bit;
 * the access-width and default-heap flags, which hk_chain has no name for,
 * take the three top bits of the integrator's range (chain.h: bits 16..31),
 * leaving bits 16..28 free. */
#define HK_MALLOC_CAP_EXEC      HK_CAP_EXEC     /* code may run from it          */
#define HK_MALLOC_CAP_DMA       HK_CAP_DMA      /* reachable by DMA              */
#define HK_MALLOC_CAP_INTERNAL  HK_CAP_INTERNAL /* on-chip RAM                   */
#define HK_MALLOC_CAP_SPIRAM    HK_CAP_EXTERNAL /* external (PSRAM, SDRAM)       */
#define HK_MALLOC_CAP_RETENTION HK_CAP_RETAIN   /* kept across deep sleep        */
#define HK_MALLOC_CAP_32BIT     (1u << 29)      /* 32-bit aligned access only    */
#define HK_MALLOC_CAP_8BIT      (1u << 30)      /* byte-addressable              */
#define HK_MALLOC_CAP_DEFAULT   (1u << 31)      /* what plain malloc may use     */

/* Called with each character of hk_caps_print_heap_info's summary and of
 * the integrity checks' messages. */
typedef void (*hk_caps_putc_fn)(void *ctx, char c);

/* ESP-IDF's esp_alloc_failed_hook_t: called when an allocation of size > 0
 * returns NULL, with the size, the caps and the hk_caps_* function's name. */
typedef void (*hk_caps_failed_fn)(size_t size, uint32_t caps, const char *function_name);

/* ESP-IDF's multi_heap_info_t, summed over the heaps with the caps asked
 * for (largest_free_block: the largest of any one heap). */
typedef struct {
    size_t total_free_bytes;      /* bytes in free blocks                    */
    size_t total_allocated_bytes; /* bytes in used blocks                    */
    size_t largest_free_block;    /* largest single allocation possible now  */
    size_t minimum_free_bytes;    /* low-water mark of total_free_bytes      */
    size_t allocated_blocks;
    size_t free_blocks;
    size_t total_blocks;
} hk_caps_info_t;

/* Makes chain the one every hk_caps_* call uses (its heaps may be added
 * before or after), and putc (may be NULL: nothing is printed) the output of
 * the summaries and integrity messages. Clears the failed-allocation
 * callback and the minimum-free monitor. Returns 0 or HK_EINVAL (chain
 * NULL, reported). Until it succeeds, every call below fails: NULL, 0 or
 * false (or HK_EINVAL), and the allocation and free calls report HK_EINVAL. */
int hk_caps_init(hk_chain_t *chain, hk_caps_putc_fn putc, void *putc_ctx);

/* heap_caps_malloc: size bytes (HK_ALIGN-aligned) from the first heap, in
 * priority order, that has every bit of caps (caps 0: any heap). size 0
 * returns NULL, as in ESP-IDF. NULL when no such heap has room (the
 * failed-allocation callback is called). O(heaps) times the heap's alloc. */
void *hk_caps_malloc(size_t size, uint32_t caps);

/* heap_caps_calloc: n * size zeroed bytes; NULL if n * size overflows or
 * is 0, or nothing fits. */
void *hk_caps_calloc(size_t n, size_t size, uint32_t caps);

/* heap_caps_realloc: resizes p into memory with caps; in place when p's own
 * heap has caps and room, else it allocates from the heaps with caps,
 * copies and frees p. p NULL: hk_caps_malloc; size 0: frees p, returns
 * NULL. On failure NULL, p untouched. A p in no heap is reported
 * (HK_EBADPTR) and NULL returned. */
void *hk_caps_realloc(void *p, size_t size, uint32_t caps);

/* heap_caps_aligned_alloc: size bytes aligned to align (a power of two);
 * NULL if size is 0 or nothing fits, or align is not a power of two
 * (reported: HK_EINVAL, not a failed allocation). Free with hk_caps_free
 * (or hk_caps_aligned_free). */
void *hk_caps_aligned_alloc(size_t align, size_t size, uint32_t caps);

/* heap_caps_malloc_prefer: tries num caps masks (uint32_t arguments) in
 * order and returns the first success; the callback, if any, is called
 * once, with the last mask. */
void *hk_caps_malloc_prefer(size_t size, size_t num, ...);

/* heap_caps_free / heap_caps_aligned_free: frees p in the heap that holds
 * it. NULL does nothing; a p in no heap is reported (HK_EBADPTR), a heap's
 * own misuse checks report the rest (double, interior frees). */
void hk_caps_free(void *p);
void hk_caps_aligned_free(void *p);

/* heap_caps_get_allocated_size: the usable size of the live block p (what
 * was asked for), or 0 (NULL, or not a live block: reported). */
size_t hk_caps_get_allocated_size(void *p);

/* heap_caps_get_total_size, heap_caps_get_free_size,
 * heap_caps_get_largest_free_block, heap_caps_get_minimum_free_size: over
 * every heap that has all of caps. The minimum is the sum of each heap's
 * low-water mark of free bytes (the heaps need not have been at their
 * minimum together), since start or, while a local monitor runs, since it
 * started. O(heaps); the largest free block O(heaps log size). */
size_t hk_caps_get_total_size(uint32_t caps);
size_t hk_caps_get_free_size(uint32_t caps);
size_t hk_caps_get_largest_free_block(uint32_t caps);
size_t hk_caps_get_minimum_free_size(uint32_t caps);

/* heap_caps_get_info: all of the figures above at once. info NULL does
 * nothing. */
void hk_caps_get_info(hk_caps_info_t *info, uint32_t caps);

/* heap_caps_print_heap_info: one line per heap with caps (address, size,
 * caps, free, allocated, minimum free, largest free block, block counts)
 * and a line of totals, through the putc given to hk_caps_init. */
void hk_caps_print_heap_info(uint32_t caps);

/* heap_caps_check_integrity_all, heap_caps_check_integrity,
 * heap_caps_check_integrity_addr: validate the chain (priority order,
 * disjoint regions) and every heap, the heaps with caps, or the heap that
 * holds addr. true when all are intact; damage is reported through the
 * error hook (HK_ECORRUPT, with the reason) and, with print_errors, a line
 * naming the heap goes to putc. O(blocks). The _addr form returns false for
 * an address in no heap. */
bool hk_caps_check_integrity_all(bool print_errors);
bool hk_caps_check_integrity(uint32_t caps, bool print_errors);
bool hk_caps_check_integrity_addr(intptr_t addr, bool print_errors);

/* heap_caps_register_failed_alloc_callback: cb (NULL clears it) is called
 * by every allocation of size > 0 that returns NULL. Returns 0, or HK_EINVAL
 * before hk_caps_init. */
int hk_caps_register_failed_alloc_callback(hk_caps_failed_fn cb);

/* heap_caps_monitor_local_minimum_free_size_start / _stop: start makes the
 * minimum-free figures local (from each heap's current free size on); stop
 * makes them global again: the lowest ever, before or during the local
 * window. Start resets the heaps' marks (hk_heap_reset_marks: their
 * peak_used too). Return 0, or HK_EBUSY (start while running; stop while
 * not) or HK_EINVAL (before hk_caps_init). O(heaps). */
int hk_caps_monitor_local_minimum_free_size_start(void);
int hk_caps_monitor_local_minimum_free_size_stop(void);

#ifdef __cplusplus
}
#endif

#endif /* HEAPKIT_CAPS_H */
