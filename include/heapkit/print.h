/* SPDX-License-Identifier: MIT */
/*
 * heapkit/print.h - statistics as one line of text through a character
 * output the caller gives (a UART's putc, a log buffer), at any debug level,
 * like ESP-IDF's heap_caps_print_heap_info or umm_malloc's umm_info.
 *
 *     static void uart_putc(void *ctx, char c) { (void)ctx; UART0->DR = c; }
 *     hk_print_heap(heap, "sram", uart_putc, NULL);
 *   prints
 *     sram: total 32768 used 1184 free 31584 largest 31568 smallest 31568
 *     blocks 3/1 peak 2208 min-free 30560 requested 1000 allocs 12 frees 9 failed 0
 *   (on one line, ending in '\n'; blocks is used/free).
 *
 * Uses no printf, no C library and no division (decimal digits by
 * subtraction), so it pulls no libgcc helper on Cortex-M0 or RV32I, and a
 * few hundred bytes of code. The lines go out one character at a time;
 * nothing is buffered, so the printer can run from a fault handler.
 */
#ifndef HEAPKIT_PRINT_H
#define HEAPKIT_PRINT_H

#include <stdint.h>

#include "heapkit/heap.h"
#include "heapkit/types.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The caller's character output. */
typedef void (*hk_putc_fn)(void *ctx, char c);

/* Prints *s as one line: "<name>: total ... failed N\n". name may be NULL
 * (then "heapkit"). Does nothing when s or putc is NULL. Reentrant: keeps
 * no state. */
void hk_print_stats(const char *name, const hk_stats_t *s, hk_putc_fn putc, void *ctx);

/* hk_heap_get_stats(h) printed with hk_print_stats; runs under the heap's
 * lock for the statistics only, not while printing. */
void hk_print_heap(const hk_heap_t *h, const char *name, hk_putc_fn putc, void *ctx);

/* Helpers the printer is built from, for callers' own lines. */
void hk_print_str(const char *s, hk_putc_fn putc, void *ctx);
void hk_print_u64(uint64_t v, hk_putc_fn putc, void *ctx); /* decimal */

#ifdef __cplusplus
}
#endif

#endif /* HEAPKIT_PRINT_H */
