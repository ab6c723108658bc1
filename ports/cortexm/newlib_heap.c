/*
 * newlib_heap.c - heapkit as newlib's allocator (see newlib_heap.h).
 *
 * How newlib is wired (newlib 4.x, libc/stdlib): the public malloc(n) is a
 * one-line wrapper, `_malloc_r(_REENT, n)`, in its own archive member, and
 * so are free, calloc, realloc and memalign. Everything inside the C library
 * (stdio buffers, asprintf, strdup, the locale code) also calls the `_r`
 * forms. Each `_r` function lives in its own member of libc.a / libc_nano.a,
 * so an image that defines them gets the linker's first definition, ours,
 * and newlib's allocator is never linked. (The other way, `-Wl,--wrap=malloc`,
 * misses the library's internal `_malloc_r` calls.)
 *
 * struct _reent carries the thread's errno; a failed allocation sets it to
 * ENOMEM there, as newlib's own allocator does.
 */
#include <errno.h>
#include <malloc.h>
#include <reent.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/lock.h>

#include "newlib_heap.h"

/* newlib's lock hooks (libc/stdlib/mlock.c: recursive, no-ops by default). */
void __malloc_lock(struct _reent *r);
void __malloc_unlock(struct _reent *r);

/* The linker script's free RAM (link.ld). */
extern char __heap_start[], __heap_end[];

__attribute__((weak)) void hk_newlib_region(void **base, size_t *bytes)
{
    *base = __heap_start;
    *bytes = (size_t)(__heap_end - __heap_start);
}

static hk_heap_t *heap;

/* Runs under __malloc_lock. */
static hk_heap_t *heap_get(void)
{
    if (!heap) {
        void *base = NULL;
        size_t bytes = 0;
        hk_newlib_region(&base, &bytes);
        heap = hk_heap_init(base, bytes, NULL);
    }
    return heap;
}

hk_heap_t *hk_newlib_heap(void)
{
    __malloc_lock(_REENT);
    hk_heap_t *h = heap_get();
    __malloc_unlock(_REENT);
    return h;
}

static void *out_of_memory(struct _reent *r)
{
    r->_errno = ENOMEM;
    return NULL;
}

void *_malloc_r(struct _reent *r, size_t n)
{
    __malloc_lock(r);
    hk_heap_t *h = heap_get();
    void *p = h ? hk_heap_alloc(h, n) : NULL;
    __malloc_unlock(r);
    return p ? p : out_of_memory(r);
}

void _free_r(struct _reent *r, void *p)
{
    if (!p)
        return;
    __malloc_lock(r);
    hk_heap_t *h = heap_get();
    if (h)
        hk_heap_free(h, p); /* a foreign or double free is reported there */
    __malloc_unlock(r);
}

void *_calloc_r(struct _reent *r, size_t n, size_t size)
{
    __malloc_lock(r);
    hk_heap_t *h = heap_get();
    void *p = h ? hk_heap_calloc(h, n, size) : NULL; /* checks n * size overflow */
    __malloc_unlock(r);
    return p ? p : out_of_memory(r);
}

void *_realloc_r(struct _reent *r, void *p, size_t n)
{
    __malloc_lock(r);
    hk_heap_t *h = heap_get();
    void *q = h ? hk_heap_realloc(h, p, n) : NULL;
    __malloc_unlock(r);
    /* realloc(p, 0) frees p and returns NULL: that is not a failure */
    if (!q && (n != 0 || p == NULL))
        return out_of_memory(r);
    return q;
}

void *_memalign_r(struct _reent *r, size_t align, size_t n)
{
    __malloc_lock(r);
    hk_heap_t *h = heap_get();
    void *p = h ? hk_heap_aligned_alloc(h, align, n) : NULL;
    __malloc_unlock(r);
    if (!p)
        r->_errno = (align & (align - 1)) ? EINVAL : ENOMEM;
    return p;
}

size_t _malloc_usable_size_r(struct _reent *r, void *p)
{
    if (!p)
        return 0;
    __malloc_lock(r);
    hk_heap_t *h = heap_get();
    size_t n = h ? hk_heap_usable_size(h, p) : 0;
    __malloc_unlock(r);
    return n;
}

struct mallinfo _mallinfo_r(struct _reent *r)
{
    struct mallinfo mi = { 0 };
    hk_stats_t st;
    __malloc_lock(r);
    hk_heap_t *h = heap_get();
    if (h) {
        hk_heap_get_stats(h, &st);
        mi.arena = st.total;
        mi.ordblks = st.free_blocks;
        mi.uordblks = st.used;
        mi.fordblks = st.free;
        mi.usmblks = st.peak_used;
        mi.keepcost = st.largest_free;
    }
    __malloc_unlock(r);
    return mi;
}

/* malloc_stats(), mallinfo() and mallopt() share one archive member with
 * references to all three `_r` functions, so all three are defined here;
 * otherwise newlib's allocator would be pulled in beside heapkit. */
void _malloc_stats_r(struct _reent *r)
{
    hk_stats_t st = { 0 };
    __malloc_lock(r);
    hk_heap_t *h = heap_get();
    if (h)
        hk_heap_get_stats(h, &st);
    __malloc_unlock(r);
    fprintf(stderr, "heapkit: total %lu used %lu free %lu largest free %lu peak %lu\n",
             (unsigned long)st.total, (unsigned long)st.used, (unsigned long)st.free,
             (unsigned long)st.largest_free, (unsigned long)st.peak_used);
}

/* heapkit has no run-time tunables of this kind: every option fails. */
int _mallopt_r(struct _reent *r, int param, int value)
{
    (void)r;
    (void)param;
    (void)value;
    return 0;
}
