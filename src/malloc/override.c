/* SPDX-License-Identifier: MIT */
/*
 * override.c - the C library's names for heapkit's malloc. Built only into
 * libheapkit_malloc.so (LD_PRELOAD) and libheapkit_malloc.a (link it before
 * the C library); the hk_* functions in malloc.c hold the semantics, see
 * heapkit/malloc.h.
 *
 * Every name glibc's malloc exports that a program may call on memory from
 * another one is here, so memory never crosses allocators: the C11/POSIX
 * family, the obsolete valloc/pvalloc/memalign (pvalloc then free is the
 * trap Debian's jemalloc 5.3 falls into), malloc_usable_size and malloc_trim.
 * mallopt, mallinfo and malloc_stats stay glibc's: they only describe glibc's
 * own (unused) arena and are harmless.
 */
#define _GNU_SOURCE
#include <stddef.h>

#include "hkm_internal.h"

/* Declarations (the C library's headers are not included, so that no
 * attribute of theirs conflicts with these definitions). */
HKM_API void *malloc(size_t size);
HKM_API void free(void *p);
HKM_API void cfree(void *p);
HKM_API void *calloc(size_t n, size_t size);
HKM_API void *realloc(void *p, size_t size);
HKM_API void *reallocarray(void *p, size_t n, size_t size);
HKM_API void *memalign(size_t align, size_t size);
HKM_API void *aligned_alloc(size_t align, size_t size);
HKM_API int posix_memalign(void **out, size_t align, size_t size);
HKM_API void *valloc(size_t size);
HKM_API void *pvalloc(size_t size);
HKM_API size_t malloc_usable_size(void *p);
HKM_API int malloc_trim(size_t pad);

void *malloc(size_t size)
{
    void *p = hkm_malloc_fast(size);
    return HKM_LIKELY(p != NULL) ? p : hkm_malloc_entry_slow(size);
}

void free(void *p)
{
    if (HKM_LIKELY(hkm_free_fast(p)))
        return;
    hkm_free_entry_slow(p);
}

void cfree(void *p) { hk_free(p); }
void *calloc(size_t n, size_t size) { return hk_calloc(n, size); }
void *realloc(void *p, size_t size) { return hk_realloc(p, size); }
void *reallocarray(void *p, size_t n, size_t size) { return hk_reallocarray(p, n, size); }
void *memalign(size_t align, size_t size) { return hk_memalign(align, size); }
void *aligned_alloc(size_t align, size_t size) { return hk_aligned_alloc(align, size); }
int posix_memalign(void **out, size_t align, size_t size) { return hk_posix_memalign(out, align, size); }
void *valloc(size_t size) { return hk_valloc(size); }
void *pvalloc(size_t size) { return hk_pvalloc(size); }
size_t malloc_usable_size(void *p) { return hk_malloc_usable_size(p); }
int malloc_trim(size_t pad) { return hk_malloc_trim(pad); }
