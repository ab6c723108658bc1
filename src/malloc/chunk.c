/* SPDX-License-Identifier: MIT */
/*
 * chunk.c - heapkit malloc's OS layer: chunk-aligned mappings, the chunk map,
 * and big blocks that live in a mapping of their own.
 *
 * Why chunk-aligned: free(p) must find p's owner without searching. Every
 * mapping starts on a 4 MiB boundary with a header, so the owner of p is the
 * header at (p - 1) rounded down to 4 MiB, or a known number of chunks below
 * it (hkm_internal.h). The chunk map - one byte per 4 MiB of address space,
 * zero-initialised static storage, so only the pages that cover live chunks are
 * ever touched - says whether a heapkit header is there at all and how far
 * back; a foreign pointer therefore costs one load and is reported, instead
 * of faulting.
 *
 * Heap chunks grow with their heap (4 MiB, then a quarter of what the arena
 * has, up to 64 MiB), so a heap of N bytes has O(log N) regions: the heap's
 * pointer check walks its region list when it has several.
 *
 * An aligned mapping is made the usual way: map len + alignment bytes, keep
 * the aligned part, unmap the head and the tail (so the kernel never backs
 * more than len bytes).
 *
 * Big blocks (above the mmap threshold, or with an alignment the heaps do not
 * serve) get their own mapping: header at the chunk base H, the user pointer
 * at H + off where off = max(HKM_HDR, align) for align <= 4 MiB (both powers
 * of two, so the user pointer keeps the alignment), and off = 4 MiB
 * for larger alignments (the header then sits in the chunk just below an
 * aligned user pointer; that is why lookups start from p - 1). They go back to
 * the OS on free. realloc grows them in place with mremap when the pages
 * after them are free, and otherwise moves the pages with
 * mremap(MREMAP_FIXED) into a fresh aligned reservation - no byte is copied,
 * so a growing buffer costs O(pages touched), not O(n^2).
 *
 * Freed big mappings of up to 32 MiB are kept in a small FIFO cache (at most
 * 16 mappings, 32 MiB in all) and handed out again to a big request that
 * fits in them with at most 50% to spare: a program that churns through
 * large buffers then reuses warm pages instead of faulting in fresh zeroed
 * ones for every allocation (on a virtual machine a fault costs microseconds).
 * A cached mapping has no map entry, so a double free of its block is still
 * reported. malloc_trim empties the cache; so does anything past the caps.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "common/hk_internal.h"
#include "hkm_internal.h"

uint8_t hkm_chunk_map[HKM_MAP_LEN];
static size_t page_size = 4096;

static size_t n_heap_chunks, n_big, big_bytes, mapped_bytes;

#define CACHE_SLOTS 16u
#define CACHE_MAX_LEN ((size_t)32 << 20)
#define CACHE_MAX_BYTES ((size_t)32 << 20)
static hkm_lock_t cache_lock;
static hkm_chunk_t *cache[CACHE_SLOTS]; /* FIFO: oldest at cache_head */
static unsigned cache_head, cache_n;
static size_t cache_bytes;
static size_t n_big_allocs, n_big_frees;

size_t hkm_page_size(void)
{
    return page_size;
}

int hkm_os_init(void)
{
    long ps = sysconf(_SC_PAGESIZE);
    if (ps > 0)
        page_size = (size_t)ps;
    return HK_OK;
}

static void map_set(uintptr_t base, uint8_t kind)
{
    __atomic_store_n(&hkm_chunk_map[base >> HKM_CHUNK_SHIFT], kind, __ATOMIC_RELEASE);
}

/* Maps len bytes at an address H with (H + phase) % align == 0; align is a
 * power of two >= the page size, len and phase page multiples. */
static void *map_aligned(size_t len, size_t align, size_t phase)
{
    if (len > SIZE_MAX - align)
        return NULL;
    size_t span = len + align;
    char *m = mmap(NULL, span, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED)
        return NULL;
    uintptr_t h = hk__align_up_ptr((uintptr_t)m + phase, align) - phase;
    size_t head = (size_t)(h - (uintptr_t)m);
    size_t tail = span - head - len;
    if (head)
        munmap(m, head);
    if (tail)
        munmap((char *)h + len, tail);
    /* The top of the user address space: refuse what the map cannot index,
     * and its last entry, which the free fast path reads for NULL and for
     * any pointer it wraps (hkm_map_index). */
    if (((h + len - 1) >> HKM_CHUNK_SHIFT) >= HKM_MAP_LEN - 1u) {
        munmap((void *)h, len);
        return NULL;
    }
    __atomic_fetch_add(&mapped_bytes, len, __ATOMIC_RELAXED);
    return (void *)h;
}

static void unmap(void *p, size_t len)
{
    munmap(p, len);
    __atomic_fetch_sub(&mapped_bytes, len, __ATOMIC_RELAXED);
}

hkm_chunk_t *hkm_chunk_new(struct hkm_arena *a, size_t len)
{
    hkm_chunk_t *c = map_aligned(len, HKM_CHUNK, 0);
    if (!c)
        return NULL;
    c->magic = HKM_MAGIC_HEAP;
    c->arena = a;
    c->map_len = len;
    c->user = NULL;
    c->size = 0;
    c->align = 0;
    for (uintptr_t i = 0; i < len / HKM_CHUNK; i++)
        map_set((uintptr_t)c + i * HKM_CHUNK, (uint8_t)(i + 1));
    __atomic_fetch_add(&n_heap_chunks, 1, __ATOMIC_RELAXED);
    return c;
}

static size_t page_round(size_t n)
{
    return hk__align_up(n, page_size);
}

/* Where a big block of alignment `align` starts relative to its header, and
 * the alignment/phase its mapping needs. */
static size_t big_offset(size_t align)
{
    return align <= HKM_CHUNK ? (align > HKM_HDR ? align : HKM_HDR) : HKM_CHUNK;
}

static void *big_map(size_t len, size_t align)
{
    if (align <= HKM_CHUNK)
        return map_aligned(len, HKM_CHUNK, 0);
    return map_aligned(len, align, HKM_CHUNK);
}

/* A cached mapping of at least len bytes (and at most 1.5 len), or NULL. */
static hkm_chunk_t *cache_take(size_t len)
{
    hkm_chunk_t *got = NULL;
    hkm_lock(&cache_lock);
    for (unsigned k = 0; k < cache_n; k++) {
        unsigned i = (cache_head + k) % CACHE_SLOTS;
        hkm_chunk_t *c = cache[i];
        if (c->map_len >= len && c->map_len - len <= len / 2) {
            got = c;
            /* Fill the hole with the oldest entry and drop the oldest slot. */
            cache[i] = cache[cache_head];
            cache_head = (cache_head + 1) % CACHE_SLOTS;
            cache_n--;
            cache_bytes -= c->map_len;
            break;
        }
    }
    hkm_unlock(&cache_lock);
    return got;
}

/* Keeps c for reuse; returns false when it does not fit the caps. */
static bool cache_put(hkm_chunk_t *c)
{
    if (c->map_len > CACHE_MAX_LEN)
        return false;
    hkm_chunk_t *evict[CACHE_SLOTS];
    unsigned ne = 0;
    hkm_lock(&cache_lock);
    while (cache_n && (cache_n == CACHE_SLOTS || cache_bytes + c->map_len > CACHE_MAX_BYTES)) {
        evict[ne++] = cache[cache_head];
        cache_bytes -= cache[cache_head]->map_len;
        cache_head = (cache_head + 1) % CACHE_SLOTS;
        cache_n--;
    }
    cache[(cache_head + cache_n) % CACHE_SLOTS] = c;
    cache_n++;
    cache_bytes += c->map_len;
    hkm_unlock(&cache_lock);
    for (unsigned k = 0; k < ne; k++)
        unmap(evict[k], evict[k]->map_len);
    return true;
}

bool hkm_big_cache_flush(void)
{
    bool any = false;
    for (;;) {
        hkm_lock(&cache_lock);
        hkm_chunk_t *c = NULL;
        if (cache_n) {
            c = cache[cache_head];
            cache_head = (cache_head + 1) % CACHE_SLOTS;
            cache_n--;
            cache_bytes -= c->map_len;
        }
        hkm_unlock(&cache_lock);
        if (!c)
            return any;
        unmap(c, c->map_len);
        any = true;
    }
}

void hkm_os_fork_prepare(void)
{
    hkm_lock(&cache_lock);
}

void hkm_os_fork_parent(void)
{
    hkm_unlock(&cache_lock);
}

void hkm_os_fork_child(void)
{
    hkm_lock_reset(&cache_lock);
}

void *hkm_big_alloc(size_t size, size_t align)
{
    if (align < HK_ALIGN)
        align = HK_ALIGN;
    size_t off = big_offset(align);
    if (size > PTRDIFF_MAX - off - page_size)
        return NULL;
    size_t len = page_round(off + size);
    uint32_t zeroed = 1;
    hkm_chunk_t *c = align <= HKM_CHUNK ? cache_take(len) : NULL;
    if (c) {
        len = c->map_len;
        zeroed = 0;
    } else {
        c = big_map(len, align);
        if (!c)
            return NULL;
    }
    c->pad_ = zeroed;
    c->magic = HKM_MAGIC_BIG;
    c->arena = NULL;
    c->map_len = len;
    c->user = (char *)c + off;
    c->size = size;
    c->align = align;
    map_set((uintptr_t)c, 1);
    __atomic_fetch_add(&n_big, 1, __ATOMIC_RELAXED);
    __atomic_fetch_add(&big_bytes, len, __ATOMIC_RELAXED);
    __atomic_fetch_add(&n_big_allocs, 1, __ATOMIC_RELAXED);
    return c->user;
}

void hkm_big_free(hkm_chunk_t *c)
{
    /* Clear the map entry first, then the magic. */
    size_t len = c->map_len;
    map_set((uintptr_t)c, 0); /* a second free of the block finds no header */
    c->magic = 0;
    __atomic_fetch_sub(&n_big, 1, __ATOMIC_RELAXED);
    __atomic_fetch_sub(&big_bytes, len, __ATOMIC_RELAXED);
    __atomic_fetch_add(&n_big_frees, 1, __ATOMIC_RELAXED);
    if (c->align > HKM_CHUNK || !cache_put(c))
        unmap(c, len);
}

void *hkm_big_realloc(hkm_chunk_t *c, size_t size)
{
    size_t off = (size_t)((char *)c->user - (char *)c);
    if (size > PTRDIFF_MAX - off - page_size)
        return NULL;
    size_t len = page_round(off + size), old = c->map_len;
    if (len <= old) { /* shrink in place, giving whole pages back */
        if (len < old) {
            munmap((char *)c + len, old - len);
            __atomic_fetch_sub(&mapped_bytes, old - len, __ATOMIC_RELAXED);
            __atomic_fetch_sub(&big_bytes, old - len, __ATOMIC_RELAXED);
            c->map_len = len;
        }
        c->size = size;
        return c->user;
    }
    /* Grow in place when the pages after the block are free. */
    void *r = mremap(c, old, len, 0);
    if (r != MAP_FAILED) {
        __atomic_fetch_add(&mapped_bytes, len - old, __ATOMIC_RELAXED);
        __atomic_fetch_add(&big_bytes, len - old, __ATOMIC_RELAXED);
        c->map_len = len;
        c->size = size;
        return c->user;
    }
    /* Move the pages into a fresh aligned reservation (no copy). */
    hkm_chunk_t *n = big_map(len, c->align);
    if (!n)
        return NULL;
    r = mremap(c, old, len, MREMAP_MAYMOVE | MREMAP_FIXED, n);
    if (r == MAP_FAILED) {
        unmap(n, len);
        return NULL;
    }
    /* The old range is gone now, the new one holds the header. */
    __atomic_fetch_sub(&mapped_bytes, old, __ATOMIC_RELAXED);
    __atomic_fetch_add(&big_bytes, len - old, __ATOMIC_RELAXED);
    map_set((uintptr_t)n, 1);
    map_set((uintptr_t)c, 0);
    n->map_len = len;
    n->user = (char *)n + off;
    n->size = size;
    return n->user;
}

void hkm_os_stats(hkm_os_stats_t *out)
{
    out->heap_chunks = __atomic_load_n(&n_heap_chunks, __ATOMIC_RELAXED);
    out->big_blocks = __atomic_load_n(&n_big, __ATOMIC_RELAXED);
    out->big_bytes = __atomic_load_n(&big_bytes, __ATOMIC_RELAXED);
    out->mapped_bytes = __atomic_load_n(&mapped_bytes, __ATOMIC_RELAXED);
    out->big_allocs = __atomic_load_n(&n_big_allocs, __ATOMIC_RELAXED);
    out->big_frees = __atomic_load_n(&n_big_frees, __ATOMIC_RELAXED);
}
