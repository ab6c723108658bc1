/* SPDX-License-Identifier: MIT */
/*
 * adapters.c - the allocators hk-replay drives, each behind one non-inlined
 * wrapper per call kind.
 *
 * The wrappers are what the instruction counts measure: callgrind runs with
 * --toggle-collect='hkw_*', so exactly the instructions executed inside these
 * functions (the allocator call plus a few instructions of call glue) are
 * counted, the same method as the reference figures in shared/traces/README.
 * The empty asm after each call keeps the compiler from turning the call into
 * a tail jump, which would let the allocator run outside the wrapper's frame.
 */
#define _GNU_SOURCE
#include "replay.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define NOINLINE __attribute__((noinline, used))
#define BARRIER() __asm__ volatile("" ::: "memory")

const rp_allocdef_t rp_allocs[] = {
    {"tlsf", true, HK_FIT_TLSF, NULL},
    {"first", true, HK_FIT_FIRST, NULL},
    {"best", true, HK_FIT_BEST, NULL},
    {"glibc", false, HK_FIT_TLSF, NULL},
    {"jemalloc", false, HK_FIT_TLSF, "libjemalloc.so.2"},
    {"mimalloc", false, HK_FIT_TLSF, "libmimalloc.so.2"},
    {"tcmalloc", false, HK_FIT_TLSF, "libtcmalloc_minimal.so.4"},
    /* heapkit's drop-in malloc (src/malloc), from the same build tree */
    {"hkmalloc", false, HK_FIT_TLSF, "libheapkit_malloc.so"},
};
const size_t rp_nallocs = sizeof rp_allocs / sizeof rp_allocs[0];

const rp_allocdef_t *rp_find_alloc(const char *name)
{
    for (size_t i = 0; i < rp_nallocs; i++)
        if (strcmp(rp_allocs[i].name, name) == 0)
            return &rp_allocs[i];
    return NULL;
}

const char *rp_find_library(const char *file)
{
    static const char *const dirs[] = {"/usr/lib/x86_64-linux-gnu", "/usr/lib/i386-linux-gnu",
                                       "/usr/lib/aarch64-linux-gnu", "/usr/lib64", "/usr/lib",
                                       "/lib/x86_64-linux-gnu"};
    static char buf[PATH_MAX];
    /* the build tree this hk-replay belongs to: <build>/tools/hk-replay */
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
        exe[n] = 0;
        char *slash = strrchr(exe, '/');
        if (slash) {
            *slash = 0;
            snprintf(buf, sizeof buf, "%.3000s/../src/malloc/%s", exe, file);
            if (access(buf, R_OK) == 0)
                return buf;
        }
    }
    for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
        snprintf(buf, sizeof buf, "%s/%s", dirs[i], file);
        if (access(buf, R_OK) == 0)
            return buf;
    }
    return NULL;
}

/* ---- heapkit ------------------------------------------------------------ */
NOINLINE void *hkw_heap_malloc(void *ctx, size_t n)
{
    void *p = hk_heap_alloc(ctx, n);
    BARRIER();
    return p;
}

NOINLINE void hkw_heap_free(void *ctx, void *p)
{
    hk_heap_free(ctx, p);
    BARRIER();
}

NOINLINE void *hkw_heap_realloc(void *ctx, void *p, size_t n)
{
    void *r = hk_heap_realloc(ctx, p, n);
    BARRIER();
    return r;
}

NOINLINE void *hkw_heap_calloc(void *ctx, size_t c, size_t n)
{
    void *p = hk_heap_calloc(ctx, c, n);
    BARRIER();
    return p;
}

NOINLINE void *hkw_heap_memalign(void *ctx, size_t al, size_t n)
{
    void *p = hk_heap_aligned_alloc(ctx, al, n);
    BARRIER();
    return p;
}

int rp_heap_open(rp_heap_t *rh, hk_fit_t fit, size_t bytes, hkr_alloc_t *a)
{
    memset(rh, 0, sizeof *rh);
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    size_t map = (bytes + page - 1) / page * page;
    if (map == 0)
        map = page;
    void *m = mmap(NULL, map, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
                   -1, 0);
    if (m == MAP_FAILED)
        return -1;
    hk_heap_config_t cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.fit = fit;
    /* The arena is placed at the end of the mapping so that a heap writing
     * past its arena hits the guard beyond the mapping. */
    void *mem = (char *)m + (map - bytes);
    hk_heap_t *h = hk_heap_init(mem, bytes, &cfg);
    if (!h) {
        munmap(m, map);
        return -1;
    }
    rh->mem = m;
    rh->map_bytes = map;
    rh->bytes = bytes;
    rh->h = h;
    if (a) {
        memset(a, 0, sizeof *a);
        a->name = fit == HK_FIT_TLSF ? "tlsf" : fit == HK_FIT_FIRST ? "first" : "best";
        a->ctx = h;
        a->malloc_fn = hkw_heap_malloc;
        a->free_fn = hkw_heap_free;
        a->realloc_fn = hkw_heap_realloc;
        a->calloc_fn = hkw_heap_calloc;
        a->memalign_fn = hkw_heap_memalign;
    }
    return 0;
}

void rp_heap_close(rp_heap_t *rh)
{
    if (rh->mem)
        munmap(rh->mem, rh->map_bytes);
    memset(rh, 0, sizeof *rh);
}

int rp_heap_make(void *mctx, size_t bytes, hkr_alloc_t *out)
{
    rp_heap_t rh; /* lives until the trial's child exits */
    return rp_heap_open(&rh, *(const hk_fit_t *)mctx, bytes, out);
}

/* ---- the process malloc ------------------------------------------------- */
NOINLINE void *hkw_sys_malloc(void *ctx, size_t n)
{
    (void)ctx;
    void *p = malloc(n);
    BARRIER();
    return p;
}

NOINLINE void hkw_sys_free(void *ctx, void *p)
{
    (void)ctx;
    free(p);
    BARRIER();
}

NOINLINE void *hkw_sys_realloc(void *ctx, void *p, size_t n)
{
    (void)ctx;
    void *r = realloc(p, n);
    BARRIER();
    return r;
}

NOINLINE void *hkw_sys_calloc(void *ctx, size_t c, size_t n)
{
    (void)ctx;
    void *p = calloc(c, n);
    BARRIER();
    return p;
}

NOINLINE void *hkw_sys_memalign(void *ctx, size_t al, size_t n)
{
    (void)ctx;
    void *p = NULL;
    if (al < sizeof(void *))
        al = sizeof(void *);
    if (posix_memalign(&p, al, n) != 0)
        p = NULL;
    BARRIER();
    return p;
}

void rp_sys_alloc(hkr_alloc_t *a, const char *name)
{
    memset(a, 0, sizeof *a);
    a->name = name;
    a->malloc_fn = hkw_sys_malloc;
    a->free_fn = hkw_sys_free;
    a->realloc_fn = hkw_sys_realloc;
    a->calloc_fn = hkw_sys_calloc;
    a->memalign_fn = hkw_sys_memalign;
}
