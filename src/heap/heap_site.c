/* SPDX-License-Identifier: MIT */
/*
 * heap_site.c - the site-taking calls (hk_heap_alloc_at and its kin,
 * heapkit/debug.h) at HK_DEBUG == 0, where no observer keeps a site: each
 * is its plain call. With an observer they run the plain call's path with
 * the site, next to it in heap.c and heap_resize.c. These forwards have a
 * file of their own so that the compiler makes each one a jump instead of
 * inlining a second copy of the plain call (which at -O3 also cost realloc
 * its inlined helper).
 */
#include "heap/observe.h"

#if !HK_OBSERVED
void *hk_heap_alloc_at(hk_heap_t *h, size_t size, const char *file, unsigned line, uint32_t tag)
{
    (void)file, (void)line, (void)tag;
    return hk_heap_alloc(h, size);
}

void *hk_heap_calloc_at(hk_heap_t *h, size_t n, size_t size, const char *file, unsigned line,
                        uint32_t tag)
{
    (void)file, (void)line, (void)tag;
    return hk_heap_calloc(h, n, size);
}

void *hk_heap_realloc_at(hk_heap_t *h, void *p, size_t size, const char *file, unsigned line,
                         uint32_t tag)
{
    (void)file, (void)line, (void)tag;
    return hk_heap_realloc(h, p, size);
}

void *hk_heap_aligned_alloc_at(hk_heap_t *h, size_t align, size_t size, const char *file,
                               unsigned line, uint32_t tag)
{
    (void)file, (void)line, (void)tag;
    return hk_heap_aligned_alloc(h, align, size);
}
#endif
