/* SPDX-License-Identifier: MIT */
/*
 * heapkit_picolibc.c - heapkit as picolibc's allocator (heapkit/port/libc.h).
 *
 * How picolibc is wired (picolibc 1.8, newlib/libc/stdlib/nano-malloc*):
 * malloc, free, calloc, realloc, memalign/aligned_alloc, posix_memalign,
 * valloc, pvalloc, malloc_usable_size, mallinfo, malloc_stats and mallopt
 * are plain functions, each in its own archive member; libc-internal
 * callers (asprintf, strdup, fopen) call them by those names. An image that
 * defines all of them gets ours first and picolibc's allocator and sbrk are
 * never linked (defining only some would pull in picolibc's member for the
 * rest, with its own malloc beside ours: a duplicate definition). Its
 * reallocarray calls realloc, so it comes for free.
 *
 * errno is picolibc's (thread-local where picolibc has TLS).
 */
#define _POSIX_C_SOURCE 200809L /* posix_memalign, under -std=c11 */
#include <errno.h>
#include <malloc.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "../libc/hk_libc_common.h"

__attribute__((weak)) void hk_picolibc_region(void **base, size_t *bytes)
{
    port_default_region(base, bytes);
}

int hk_picolibc_init(const hk_libc_heap_config_t *cfg)
{
    return port_init(cfg);
}

hk_heap_t *hk_picolibc_heap(void)
{
    uintptr_t s = port_lock();
    hk_heap_t *h = port_heap_locked(hk_picolibc_region);
    port_unlock(s);
    return h;
}

static void *aligned(size_t align, size_t n)
{
    uintptr_t s = port_lock();
    hk_heap_t *h = port_heap_locked(hk_picolibc_region);
    void *p = h ? hk_heap_aligned_alloc(h, align, n) : NULL;
    port_unlock(s);
    return p;
}

void *malloc(size_t n)
{
    uintptr_t s = port_lock();
    hk_heap_t *h = port_heap_locked(hk_picolibc_region);
    void *p = h ? hk_heap_alloc(h, n) : NULL;
    port_unlock(s);
    if (!p)
        errno = ENOMEM;
    return p;
}

void free(void *p)
{
    if (!p)
        return;
    uintptr_t s = port_lock();
    hk_heap_t *h = port_heap_locked(hk_picolibc_region);
    if (h)
        hk_heap_free(h, p); /* a foreign or double free is reported there */
    port_unlock(s);
}

void *calloc(size_t n, size_t size)
{
    uintptr_t s = port_lock();
    hk_heap_t *h = port_heap_locked(hk_picolibc_region);
    void *p = h ? hk_heap_calloc(h, n, size) : NULL; /* checks n * size overflow */
    port_unlock(s);
    if (!p)
        errno = ENOMEM;
    return p;
}

void *realloc(void *p, size_t n)
{
    uintptr_t s = port_lock();
    hk_heap_t *h = port_heap_locked(hk_picolibc_region);
    void *q = h ? hk_heap_realloc(h, p, n) : NULL;
    port_unlock(s);
    if (!q && (n != 0 || p == NULL)) /* realloc(p, 0) frees: not a failure */
        errno = ENOMEM;
    return q;
}

void *memalign(size_t align, size_t n)
{
    void *p = aligned(align, n);
    if (!p)
        errno = (align & (align - 1)) ? EINVAL : ENOMEM;
    return p;
}

void *aligned_alloc(size_t align, size_t n)
{
    return memalign(align, n);
}

int posix_memalign(void **out, size_t align, size_t n)
{
    if (align < sizeof(void *) || (align & (align - 1)))
        return EINVAL;
    void *p = aligned(align, n);
    if (!p)
        return ENOMEM;
    *out = p;
    return 0;
}

void *valloc(size_t n)
{
    return memalign(4096, n);
}

void *pvalloc(size_t n)
{
    if (n > SIZE_MAX - 4095) {
        errno = ENOMEM;
        return NULL;
    }
    return memalign(4096, (n + 4095) & ~(size_t)4095);
}

size_t malloc_usable_size(void *p)
{
    return port_usable_size(hk_picolibc_region, p);
}

static hk_stats_t stats_now(void)
{
    return port_stats(hk_picolibc_region);
}

struct mallinfo mallinfo(void)
{
    hk_stats_t st = stats_now();
    struct mallinfo mi = { 0 };
    PORT_MALLINFO(st, mi);
    return mi;
}

void malloc_stats(void)
{
    hk_stats_t st = stats_now(); /* printed outside the lock: stdio may allocate */
    fprintf(stderr, "heapkit: total %lu used %lu free %lu largest free %lu peak %lu\n",
            (unsigned long)st.total, (unsigned long)st.used, (unsigned long)st.free,
            (unsigned long)st.largest_free, (unsigned long)st.peak_used);
}

/* heapkit has no run-time tunables of this kind: every option fails. */
int mallopt(int param, int value)
{
    (void)param;
    (void)value;
    return 0;
}
