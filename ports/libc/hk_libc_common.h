/* SPDX-License-Identifier: MIT */
/*
 * hk_libc_common.h - the part the newlib and picolibc ports share: which
 * heap serves malloc and which lock guards it (heapkit/port/libc.h).
 * Included by exactly one port file per image; everything is static.
 *
 * State: `port.heap` is NULL until init or the first call; `port.lock` is
 * the lock held around every call. Before init the default lock is the
 * core's interrupt mask, so the first-call set-up is serialised too.
 */
#ifndef HK_PORT_LIBC_COMMON_H
#define HK_PORT_LIBC_COMMON_H

#include <stddef.h>
#include <stdint.h>

#include "heapkit/port/libc.h"
#include "heapkit/port/lock_cortexm.h"
#include "heapkit/port/lock_riscv.h"

#if defined(HK_LOCK_CORTEXM_HAVE_PRIMASK)
#define HK_LIBC_DEFAULT_LOCK HK_LOCK_CORTEXM_PRIMASK
#elif defined(HK_LOCK_RISCV_HAVE_MIE)
#define HK_LIBC_DEFAULT_LOCK HK_LOCK_RISCV_MIE
#else
#define HK_LIBC_DEFAULT_LOCK { NULL, NULL, NULL } /* no interrupt mask known here */
#endif

/* The linker script's free RAM, if it names it (weak: may be absent). */
extern char __heap_start[] __attribute__((weak));
extern char __heap_end[] __attribute__((weak));

static struct {
    hk_heap_t *heap;
    hk_lock_t lock;
} port = { NULL, HK_LIBC_DEFAULT_LOCK };

static void port_default_region(void **base, size_t *bytes)
{
    uintptr_t lo = (uintptr_t)__heap_start, hi = (uintptr_t)__heap_end;
    if (lo != 0 && hi > lo) {
        *base = __heap_start;
        *bytes = (size_t)(hi - lo);
    } else {
        *base = NULL;
        *bytes = 0;
    }
}

static uintptr_t port_lock(void)
{
    return port.lock.lock ? port.lock.lock(port.lock.ctx) : 0;
}

static void port_unlock(uintptr_t saved)
{
    if (port.lock.unlock)
        port.lock.unlock(port.lock.ctx, saved);
}

/* Under the lock: the heap, created from the region hook on first use. */
static hk_heap_t *port_heap_locked(void (*region)(void **, size_t *))
{
    if (!port.heap) {
        void *base = NULL;
        size_t bytes = 0;
        region(&base, &bytes);
        if (base && bytes)
            port.heap = hk_heap_init(base, bytes, NULL);
    }
    return port.heap;
}

/* malloc_usable_size: the bytes asked for, 0 for NULL or a foreign block. */
static size_t port_usable_size(void (*region)(void **, size_t *), const void *p)
{
    if (!p)
        return 0;
    uintptr_t s = port_lock();
    hk_heap_t *h = port_heap_locked(region);
    size_t n = h ? hk_heap_usable_size(h, p) : 0;
    port_unlock(s);
    return n;
}

/* The heap's statistics, taken under the lock (zeros before the heap). */
static hk_stats_t port_stats(void (*region)(void **, size_t *))
{
    hk_stats_t st = { 0 };
    uintptr_t s = port_lock();
    hk_heap_t *h = port_heap_locked(region);
    if (h)
        hk_heap_get_stats(h, &st);
    port_unlock(s);
    return st;
}

/* mallinfo's fields from the statistics (both C libraries' struct mallinfo
 * has these members). */
#define PORT_MALLINFO(st, mi)              \
    do {                                   \
        (mi).arena = (st).total;           \
        (mi).ordblks = (st).free_blocks;   \
        (mi).uordblks = (st).used;         \
        (mi).fordblks = (st).free;         \
        (mi).usmblks = (st).peak_used;     \
        (mi).keepcost = (st).largest_free; \
    } while (0)

static int port_init(const hk_libc_heap_config_t *cfg)
{
    if (!cfg || (!cfg->heap && (!cfg->base || !cfg->bytes)))
        return HK_EINVAL;
    uintptr_t s = port_lock();
    if (port.heap) {
        port_unlock(s);
        return HK_EBUSY;
    }
    hk_heap_t *h = cfg->heap ? cfg->heap : hk_heap_init(cfg->base, cfg->bytes, NULL);
    if (h)
        port.heap = h;
    port_unlock(s);
    if (!h)
        return HK_EINVAL; /* hk_heap_init reported why */
    /* the new lock takes effect once the heap is published; a shared heap
     * has its own lock, so no default one is added on top */
    if (cfg->lock)
        port.lock = *cfg->lock;
    else if (cfg->heap)
        port.lock = (hk_lock_t){ NULL, NULL, NULL };
    return HK_OK;
}

#endif /* HK_PORT_LIBC_COMMON_H */
