/* SPDX-License-Identifier: MIT */
/*
 * heapkit/malloc.h - the drop-in malloc for Linux (hosted only).
 *
 * libheapkit_malloc.so (for LD_PRELOAD) and libheapkit_malloc.a (to link in)
 * define the C library's malloc family on top of per-thread heapkit heaps.
 * The same allocator is reachable under hk_* names, declared here, so that a
 * program (or a test built with a sanitizer that owns `malloc`) can use it
 * without replacing the C library's allocator.
 *
 * Every function below has glibc's semantics (x86-64: every pointer aligned
 * to 16) and is thread-safe; memory from any of them may be released through
 * hk_free()/free() and resized through hk_realloc()/realloc() on any thread.
 * Failures return NULL (or an error number) and set errno to ENOMEM or EINVAL
 * as glibc does. Misuse (a foreign pointer, an interior pointer, a double
 * free) is reported through heapkit's error hook (types.h) - by default
 * printed to stderr as one line - and the allocator is left unchanged.
 *
 * Environment (read once, at the first call):
 *   HEAPKIT_FIT=tlsf|first|best   fit policy of every heap (default tlsf)
 *   HEAPKIT_STATS=1               statistics on stderr at exit
 *   HEAPKIT_TRACE=FILE            record every call as a .rep trace in FILE
 *   HEAPKIT_DEBUG=N               debug level, see docs/malloc.md
 *   HEAPKIT_MMAP_THRESHOLD=BYTES  requests above this are mapped on their own
 *   HEAPKIT_SPANS=0               small objects from the heap, not from spans
 *
 * Interrupts and signals: like glibc's malloc it is not async-signal-safe
 * (it takes per-thread and arena locks); do not call it from a signal
 * handler.
 */
#ifndef HEAPKIT_MALLOC_H
#define HEAPKIT_MALLOC_H

#include <stddef.h>

#include "heapkit/types.h"

#ifdef __cplusplus
extern "C" {
#endif

/* malloc(size): size bytes aligned to HK_ALIGN (16 on x86-64 and i386, as
 * glibc). size 0 gives a unique pointer. NULL with errno ENOMEM when out of memory or
 * size > PTRDIFF_MAX. O(1) expected. */
void *hk_malloc(size_t size);

/* free(p): p from any entry point below, on any thread. NULL does nothing.
 * A pointer heapkit did not hand out, or one freed already, is reported
 * (HK_EBADPTR / HK_EDOUBLEFREE) and ignored. O(1). */
void hk_free(void *p);

/* calloc(n, size): n * size zeroed bytes; NULL/ENOMEM when the product
 * overflows or memory runs out. */
void *hk_calloc(size_t n, size_t size);

/* realloc(p, size): glibc's rules: p NULL acts as malloc(size); size 0 with p
 * not NULL frees p and returns NULL; on failure returns NULL (ENOMEM) and p is
 * untouched. Big blocks are resized with mremap, without copying. */
void *hk_realloc(void *p, size_t size);

/* reallocarray(p, n, size): realloc(p, n * size), NULL/ENOMEM on overflow. */
void *hk_reallocarray(void *p, size_t n, size_t size);

/* memalign(align, size): align is rounded up to a power of two (glibc);
 * align above SIZE_MAX/2 gives NULL/EINVAL. */
void *hk_memalign(size_t align, size_t size);

/* aligned_alloc(align, size): align must be a power of two (else NULL/EINVAL,
 * as glibc 2.38 and C17 DR 460); any size. */
void *hk_aligned_alloc(size_t align, size_t size);

/* posix_memalign(out, align, size): align a power of two multiple of
 * sizeof(void *) (else EINVAL); returns 0, EINVAL or ENOMEM; *out is written
 * only on success; errno is not changed. */
int hk_posix_memalign(void **out, size_t align, size_t size);

/* valloc(size) = memalign(page size, size); pvalloc(size) also rounds size up
 * to a whole number of pages (pvalloc(0) gives one page). */
void *hk_valloc(size_t size);
void *hk_pvalloc(size_t size);

/* malloc_usable_size(p): bytes the caller may use at p (at least what was
 * asked for); 0 for NULL; 0 (reported) for a pointer heapkit did not hand out. */
size_t hk_malloc_usable_size(const void *p);

/* malloc_trim(pad): gives the pages of every large free block back to the OS
 * (madvise); returns 1 if any memory was released. pad is ignored. */
int hk_malloc_trim(size_t pad);

/* Runs hk_heap_validate on every heap and checks every chunk header.
 * Returns 0 or HK_ECORRUPT (also reported). Takes every heap's lock in turn. */
int hk_malloc_validate(void);

/* Totals over every heap and every directly mapped block (hk_stats_t shape:
 * total = bytes mapped from the OS, used/free from the heaps plus the mapped
 * blocks; allocs/frees count calls). */
void hk_malloc_get_stats(hk_stats_t *out);

/* Writes the statistics (the same text HEAPKIT_STATS=1 prints at exit) to
 * file descriptor fd. */
void hk_malloc_print_stats(int fd);

#ifdef __cplusplus
}
#endif

#endif /* HEAPKIT_MALLOC_H */
