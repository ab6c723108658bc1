/* SPDX-License-Identifier: MIT */
/*
 * heapkit/port/libc.h - heapkit as the C library's malloc on bare metal:
 * newlib / newlib-nano (ports/newlib/heapkit_newlib.c, CMake target
 * heapkit::newlib) and picolibc (ports/picolibc/heapkit_picolibc.c,
 * heapkit::picolibc).
 *
 * Linking one of the port files replaces the C library's allocator: malloc,
 * free, calloc, realloc, memalign, aligned_alloc, posix_memalign,
 * malloc_usable_size, mallinfo, malloc_stats, mallopt (and for newlib the
 * reentrant _malloc_r family every libc caller goes through) are defined by
 * heapkit, so the library's own allocator and sbrk are never linked.
 *
 * The heap: either hk_<libc>_init() is called before the first allocation,
 * with a region or an existing heap to share; or on the first call the port
 * creates a heap over hk_<libc>_region() (weak: the application may define
 * it), by default the linker symbols __heap_start .. __heap_end if the
 * linker script defines them (weak references: an image whose script has no
 * such symbols links, and malloc returns NULL until init is called).
 *
 * The lock: every call runs under one hk_lock_t, the one given at init, or
 * by default the interrupt mask of the core (PRIMASK on Cortex-M, mstatus.MIE
 * on RISC-V M-mode: heapkit/port/lock_cortexm.h, lock_riscv.h), so malloc
 * is safe between threads of an RTOS and from interrupts on a single core
 * with no further setup. newlib's __malloc_lock hooks are not used. Give
 * {NULL, NULL, NULL} to run without a lock (single-threaded, no ISR use),
 * or an RTOS's scheduler lock to keep interrupts enabled. When an existing
 * heap is shared, its own lock (from hk_heap_init) already serialises it and
 * the port's default lock is not added.
 *
 * Semantics: failures set errno to ENOMEM (EINVAL for a bad alignment);
 * malloc(0) returns a unique pointer (as newlib and picolibc do);
 * realloc(p, 0) frees p and returns NULL without setting errno; misuse (a
 * foreign or double free) is reported through heapkit's error hook and
 * ignored. malloc_stats() prints one line through the C library's stderr;
 * mallopt() accepts no option (returns 0).
 */
#ifndef HEAPKIT_PORT_LIBC_H
#define HEAPKIT_PORT_LIBC_H

#include <stddef.h>

#include "heapkit/heap.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    void *base;            /* a region to create the heap in, or NULL      */
    size_t bytes;
    hk_heap_t *heap;       /* or an existing heap to share (base ignored)  */
    const hk_lock_t *lock; /* copied; NULL: the default lock (see above)   */
} hk_libc_heap_config_t;

/* Sets up the heap behind malloc. Returns 0; HK_EBUSY if malloc already has
 * a heap (init runs once, before the first allocation); HK_EINVAL for a
 * NULL cfg, neither region nor heap given, or a region too small for a
 * heap (also reported through the error hook). */
int hk_newlib_init(const hk_libc_heap_config_t *cfg);
int hk_picolibc_init(const hk_libc_heap_config_t *cfg);

/* The heap behind malloc (created on first use if needed), or NULL if there
 * is none (no init, no __heap_start/__heap_end, or too small). */
hk_heap_t *hk_newlib_heap(void);
hk_heap_t *hk_picolibc_heap(void);

/* Optional, defined by the application: the memory malloc uses when
 * hk_*_init was not called. The weak default is __heap_start .. __heap_end. */
void hk_newlib_region(void **base, size_t *bytes);
void hk_picolibc_region(void **base, size_t *bytes);

#ifdef __cplusplus
}
#endif

#endif /* HEAPKIT_PORT_LIBC_H */
