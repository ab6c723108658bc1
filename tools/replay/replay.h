/* SPDX-License-Identifier: MIT */
/*
 * replay.h - what the parts of hk-replay share: the allocators it knows, the
 * heap-map writer and the per-run result record.
 *
 * Allocators come in two kinds. heapkit's policies run inside hk-replay on an
 * mmap'd arena of a chosen size (so the memory search can shrink it). The
 * system allocators (glibc, jemalloc, mimalloc, tcmalloc) are whatever malloc
 * the process has: hk-replay runs a worker copy of itself with LD_PRELOAD set
 * to the allocator's shared library, because jemalloc and tcmalloc cannot be
 * dlopen'ed into a running process (static TLS, foreign frees).
 */
#ifndef HK_REPLAY_H
#define HK_REPLAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "heapkit/heap.h"
#include "hk_trace.h"

typedef struct {
    const char *name;     /* as given to --alloc */
    bool is_heap;         /* heapkit policy */
    hk_fit_t fit;
    const char *preload;  /* system: library file name searched in the usual dirs, NULL = glibc */
} rp_allocdef_t;

extern const rp_allocdef_t rp_allocs[];
extern const size_t rp_nallocs;
const rp_allocdef_t *rp_find_alloc(const char *name);

/* A heapkit heap on its own mapping. */
typedef struct {
    void *mem;
    size_t map_bytes;
    size_t bytes;
    hk_heap_t *h;
} rp_heap_t;

/* Maps `bytes` and creates a heap of policy fit in it; fills *a with the
 * non-inlined call wrappers (hkw_heap_*) that callgrind toggles on. */
int rp_heap_open(rp_heap_t *rh, hk_fit_t fit, size_t bytes, hkr_alloc_t *a);
void rp_heap_close(rp_heap_t *rh);

/* The call wrappers (external, non-inlined: callgrind toggles on hkw_*). */
void *hkw_heap_malloc(void *ctx, size_t n);
void hkw_heap_free(void *ctx, void *p);
void *hkw_heap_realloc(void *ctx, void *p, size_t n);
void *hkw_heap_calloc(void *ctx, size_t c, size_t n);
void *hkw_heap_memalign(void *ctx, size_t al, size_t n);
void *hkw_sys_malloc(void *ctx, size_t n);
void hkw_sys_free(void *ctx, void *p);
void *hkw_sys_realloc(void *ctx, void *p, size_t n);
void *hkw_sys_calloc(void *ctx, size_t c, size_t n);
void *hkw_sys_memalign(void *ctx, size_t al, size_t n);

/* The hkr_make_fn for the memory search; mctx points to an hk_fit_t. */
int rp_heap_make(void *mctx, size_t bytes, hkr_alloc_t *out);

/* The process malloc through its wrappers (hkw_sys_*). */
void rp_sys_alloc(hkr_alloc_t *a, const char *name);

/* Full path of a preload library, or NULL if it is not installed. */
const char *rp_find_library(const char *file);

/* ---- heap maps ---------------------------------------------------------- */
typedef struct {
    uintptr_t ptr;
    size_t size;
    bool used;
} rp_block_t;

typedef struct {
    rp_block_t *v;
    size_t n, cap;
} rp_blocks_t;

/* Appends every block of h (hk_heap_walk) to *b, emptied first. */
void rp_blocks_collect(const hk_heap_t *h, rp_blocks_t *b);
void rp_blocks_free(rp_blocks_t *b);

/* Writes an SVG with one panel per snapshot: the arena [base, base + bytes)
 * drawn as rows, used blocks, free blocks and headers in three colours. */
int rp_svg_write(const char *path, const char *title, uintptr_t base, size_t bytes,
                 const rp_blocks_t *snaps, const char *const *labels, size_t nsnaps);

#endif /* HK_REPLAY_H */
