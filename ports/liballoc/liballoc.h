/* SPDX-License-Identifier: MIT */
/*
 * liballoc.h - heapkit behind the interface of liballoc, the allocator
 * many OSDev-wiki kernels start with.
 *
 * A kernel that already implements liballoc's four hooks links
 * ports/liballoc/liballoc.c (and heapkit) instead of liballoc and keeps
 * calling kmalloc, kfree, kcalloc and krealloc. It gets heapkit's TLSF heap
 * with its misuse checks (a bad or double kfree is reported through
 * hk_set_error_hook and ignored), its statistics and its validator.
 *
 * The hooks (the same contract as liballoc 1.1):
 *   int liballoc_lock(void)              disable interrupts / take a lock; 0
 *   int liballoc_unlock(void)            undo it; 0
 *   void *liballoc_alloc(size_t pages)   pages contiguous 4 KiB pages, or NULL
 *   int liballoc_free(void *p, size_t pages)  give back what liballoc_alloc gave
 * Memory comes from liballoc_alloc: the heap starts with one run of
 * HK_LIBALLOC_FIRST_PAGES pages on the first call and grows by runs of at
 * least HK_LIBALLOC_GROW_PAGES. A request of HK_LIBALLOC_BIG_PAGES pages or
 * more gets a page run of its own, and kfree hands that run straight back
 * through liballoc_free. Runs that became part of the heap stay with it
 * (hk_heap cannot give one region back) until kmalloc_release returns all.
 *
 * Names: HK_LIBALLOC_PREFIX(name) makes the public names, k##name by
 * default, like liballoc's PREFIX; define it (the same way for the library
 * and its users) for other names, e.g. -DHK_LIBALLOC_PREFIX(f)=my_##f.
 *
 * Thread safety: every call runs between liballoc_lock and liballoc_unlock.
 */
#ifndef HK_LIBALLOC_H
#define HK_LIBALLOC_H

#include <stddef.h>

#include "heapkit/types.h"

#ifndef HK_LIBALLOC_PREFIX
#define HK_LIBALLOC_PREFIX(name) k##name
#endif
#ifndef HK_LIBALLOC_PAGE_SIZE
#define HK_LIBALLOC_PAGE_SIZE 4096u
#endif
#ifndef HK_LIBALLOC_FIRST_PAGES
#define HK_LIBALLOC_FIRST_PAGES 16u
#endif
#ifndef HK_LIBALLOC_GROW_PAGES
#define HK_LIBALLOC_GROW_PAGES 16u
#endif
#ifndef HK_LIBALLOC_BIG_PAGES
#define HK_LIBALLOC_BIG_PAGES 8u
#endif

/* the kernel's hooks */
int liballoc_lock(void);
int liballoc_unlock(void);
void *liballoc_alloc(size_t pages);
int liballoc_free(void *ptr, size_t pages);

/* malloc, free, calloc, realloc: the C contracts (NULL on failure or for a
 * size of 0 to malloc; free(NULL) does nothing; calloc checks n * size for
 * overflow; realloc(NULL, n) is malloc, realloc(p, 0) frees and returns
 * NULL). Alignment HK_ALIGN. */
void *HK_LIBALLOC_PREFIX(malloc)(size_t size);
void HK_LIBALLOC_PREFIX(free)(void *p);
void *HK_LIBALLOC_PREFIX(calloc)(size_t n, size_t size);
void *HK_LIBALLOC_PREFIX(realloc)(void *p, size_t size);

/* heapkit's additions: the heap's statistics (page runs of big blocks
 * included in used/peak) and its validator (0 or HK_ECORRUPT, the big runs'
 * headers checked too). */
void HK_LIBALLOC_PREFIX(malloc_stats)(hk_stats_t *out);
int HK_LIBALLOC_PREFIX(malloc_validate)(void);

/* Gives every page run back through liballoc_free: all blocks die, and the
 * next kmalloc starts a new heap (for a module unload, or a test). */
void HK_LIBALLOC_PREFIX(malloc_release)(void);

#endif /* HK_LIBALLOC_H */
