/*
 * newlib_heap.h - newlib's malloc family served by heapkit (Cortex-M builds
 * linked with newlib or newlib-nano).
 *
 * Linking newlib_heap.c into an image replaces newlib's allocator: it defines
 * the reentrant entry points that malloc(), free(), calloc(), realloc(),
 * memalign(), strdup(), printf's buffers and every other libc caller go
 * through (_malloc_r, _free_r, _calloc_r, _realloc_r, _memalign_r,
 * _malloc_usable_size_r, _mallinfo_r, _malloc_stats_r, _mallopt_r). newlib's
 * own allocator objects are
 * then never pulled from libc.a, and _sbrk is never called.
 *
 * The heap is created on first use over the free RAM the linker script
 * leaves between .bss and the stack (__heap_start .. __heap_end), or over
 * the region hk_newlib_region() returns if the application defines it.
 * Each call runs between newlib's __malloc_lock() and __malloc_unlock(),
 * which an RTOS port overrides to make malloc thread-safe (newlib's
 * defaults do nothing). Failures set errno to ENOMEM.
 * malloc_stats() prints heapkit's statistics to stderr; mallopt() accepts
 * no option (returns 0). hk_heap_get_stats(hk_newlib_heap(), ...) gives all.
 */
#ifndef HK_PORT_NEWLIB_HEAP_H
#define HK_PORT_NEWLIB_HEAP_H

#include <stddef.h>

#include "heapkit/heap.h"

/* The heap behind malloc, created on first call (NULL only if the region
 * is too small for hk_heap_init). */
hk_heap_t *hk_newlib_heap(void);

/* Optional, defined by the application: the memory malloc may use. The
 * default (a weak definition) is the linker script's free RAM. */
void hk_newlib_region(void **base, size_t *bytes);

#endif /* HK_PORT_NEWLIB_HEAP_H */
