/* SPDX-License-Identifier: MIT */
/*
 * heapkit_newlib.c - heapkit as newlib's allocator (heapkit/port/libc.h).
 *
 * How newlib is wired (newlib 4.x, libc/stdlib): the public malloc(n) is a
 * one-line wrapper, `_malloc_r(_REENT, n)`, in its own archive member, and
 * so are free, calloc, realloc and memalign. Everything inside the C library
 * (stdio buffers, asprintf, strdup, the locale code) also calls the `_r`
 * forms. Each `_r` function lives in its own member of libc.a / libc_nano.a,
 * so an image that defines them gets the linker's first definition, ours,
 * and newlib's allocator is never linked. (The other way, `-Wl,--wrap=malloc`,
 * misses the library's internal `_malloc_r` calls.) The public aligned_alloc
 * and posix_memalign call _memalign_r, so they come with it.
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

#include "../libc/hk_libc_common.h"

__attribute__((weak)) void hk_newlib_region(void **base, size_t *bytes)
{
    port_default_region(base, bytes);
}

int hk_newlib_init(const hk_libc_heap_config_t *cfg)
{
    return port_init(cfg);
}

hk_heap_t *hk_newlib_heap(void)
{
    uintptr_t s = port_lock();
    hk_heap_t *h = port_heap_locked(hk_newlib_region);
    port_unlock(s);
    return h;
}

static void *out_of_memory(struct _reent *r)
{
    r->_errno = ENOMEM;
    return NULL;
}

void *_malloc_r(struct _reent *r, size_t n)
{
    uintptr_t s = port_lock();
    hk_heap_t *h = port_heap_locked(hk_newlib_region);
    void *p = h ? hk_heap_alloc(h, n) : NULL;
    port_unlock(s);
    return p ? p : out_of_memory(r);
}

void _free_r(struct _reent *r, void *p)
{
    (void)r;
    if (!p)
        return;
    uintptr_t s = port_lock();
    hk_heap_t *h = port_heap_locked(hk_newlib_region);
    if (h)
        hk_heap_free(h, p); /* a foreign or double free is reported there */
    port_unlock(s);
}

void *_calloc_r(struct _reent *r, size_t n, size_t size)
{
    uintptr_t s = port_lock();
    hk_heap_t *h = port_heap_locked(hk_newlib_region);
    void *p = h ? hk_heap_calloc(h, n, size) : NULL; /* checks n * size overflow */
    port_unlock(s);
    return p ? p : out_of_memory(r);
}

void *_realloc_r(struct _reent *r, void *p, size_t n)
{
    uintptr_t s = port_lock();
    hk_heap_t *h = port_heap_locked(hk_newlib_region);
    void *q = h ? hk_heap_realloc(h, p, n) : NULL;
    port_unlock(s);
    /* realloc(p, 0) frees p and returns NULL: that is not a failure */
    if (!q && (n != 0 || p == NULL))
        return out_of_memory(r);
    return q;
}

void *_memalign_r(struct _reent *r, size_t align, size_t n)
{
    uintptr_t s = port_lock();
    hk_heap_t *h = port_heap_locked(hk_newlib_region);
    void *p = h ? hk_heap_aligned_alloc(h, align, n) : NULL;
    port_unlock(s);
    if (!p)
        r->_errno = (align & (align - 1)) ? EINVAL : ENOMEM;
    return p;
}

size_t _malloc_usable_size_r(struct _reent *r, void *p)
{
    (void)r;
    return port_usable_size(hk_newlib_region, p);
}

static hk_stats_t stats_now(void)
{
    return port_stats(hk_newlib_region);
}

struct mallinfo _mallinfo_r(struct _reent *r)
{
    (void)r;
    hk_stats_t st = stats_now();
    struct mallinfo mi = { 0 };
    PORT_MALLINFO(st, mi);
    return mi;
}

/* malloc_stats(), mallinfo() and mallopt() share one archive member with
 * references to all three `_r` functions, so all three are defined here;
 * otherwise newlib's allocator would be pulled in beside heapkit. */
void _malloc_stats_r(struct _reent *r)
{
    (void)r;
    hk_stats_t st = stats_now(); /* printed outside the lock: stdio may allocate */
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
