/* SPDX-License-Identifier: MIT */
/*
 * kheap.c - a kernel heap over an address space: hk_heap for the blocks,
 * hk_vm for the pages under them.
 *
 * Layout of the first region:
 *     [hk_kheap_t: the vm, the limits, the last region's address][hk_heap ...]
 * and of every later one (given to the heap through the growth hook):
 *     [link: this region's address, the previous region's][heap region ...]
 * The regions form a list threaded through their own first bytes, so the
 * number of growth steps is bounded only by max_bytes and by the address
 * space's region slots, not by a table in the record. (Merging adjacent
 * growth into one heap region would need a heap call that extends a region;
 * hk_heap offers hk_heap_add_region only, so each step stays a region.) The record lives in the heap's own memory, so a kernel needs
 * nothing but the address space to have a heap: the same bootstrapping
 * trick as Linux's early kmalloc caches living in pages they manage.
 *
 * Growth policy: map max(min_bytes + slack, grow_min) rounded up to pages;
 * the slack covers the heap's per-region overhead (a header and an end
 * marker), so the request that triggered growth fits.
 */
#include "heapkit/vm_kheap.h"

#include "common/hk_internal.h"

#define KHEAP_MAGIC 0x6b686561u /* "khea" */
#define KHEAP_SLACK 256u

typedef struct {
    hk_vaddr_t self; /* this region's base */
    hk_vaddr_t prev; /* the region mapped before it (the first: region 0) */
} kheap_link_t;

#define KHEAP_LINK hk__align_up(sizeof(kheap_link_t), HK_ALIGN)

struct hk_kheap {
    uint32_t magic;
    unsigned nregions;
    hk_vm_t *vm;
    hk_heap_t *heap;
    size_t page;
    size_t grow_min;
    size_t max_bytes;
    uint64_t mapped;
    hk_vm_kind_t kind;
    unsigned flags;
    hk_kheap_access_fn access;
    void *access_ctx;
    hk_vaddr_t first; /* region 0 (holds this record) */
    hk_vaddr_t last;  /* the newest region: the head of the link list */
};

static void *kheap_ptr(const hk_kheap_t *kh, hk_vaddr_t va, size_t len)
{
    if (kh->access)
        return kh->access(kh->access_ctx, va, len);
    if (va > (hk_vaddr_t)UINTPTR_MAX)
        return NULL;
    return (void *)(uintptr_t)va;
}

/* Maps a region of bytes for the heap; returns its pointer or NULL. */
static void *kheap_map(hk_kheap_t *kh, size_t bytes, hk_vaddr_t *va_out)
{
    if (kh->max_bytes && (bytes > kh->max_bytes || kh->mapped > kh->max_bytes - bytes))
        return NULL;
    hk_vaddr_t va = 0;
    if (hk_vm_map(kh->vm, &va, bytes, 0, HK_VM_READ | HK_VM_WRITE, kh->kind, kh->flags) != 0)
        return NULL;
    void *p = kheap_ptr(kh, va, bytes);
    if (!p) {
        hk_vm_unmap(kh->vm, va);
        return NULL;
    }
    kh->nregions++;
    kh->mapped += bytes;
    *va_out = va;
    return p;
}

static void *kheap_grow(void *ctx, size_t min_bytes, size_t *got_bytes)
{
    hk_kheap_t *kh = ctx;
    size_t extra = KHEAP_SLACK + KHEAP_LINK;
    size_t want = min_bytes > SIZE_MAX - extra - kh->page ? 0 : min_bytes + extra;
    if (!want)
        return NULL;
    if (want < kh->grow_min)
        want = kh->grow_min;
    want = hk__align_up(want, kh->page);
    hk_vaddr_t va;
    kheap_link_t *link = kheap_map(kh, want, &va);
    if (!link)
        return NULL;
    link->self = va;
    link->prev = kh->last;
    kh->last = va;
    *got_bytes = want - KHEAP_LINK;
    return (char *)link + KHEAP_LINK;
}

hk_kheap_t *hk_kheap_create(const hk_kheap_config_t *cfg)
{
    size_t page = cfg && cfg->vm ? hk_vm_page_size(cfg->vm) : 0;
    if (!page || (cfg->kind != HK_VM_IMMEDIATE && cfg->kind != HK_VM_DEMAND)) {
        hk__report(HK_EINVAL, cfg, "kheap: NULL config or vm, or kind not immediate/demand");
        return NULL;
    }
    size_t initial = cfg->initial ? cfg->initial : 16u * page;
    size_t grow_min = cfg->grow_min ? cfg->grow_min : 16u * page;
    if (initial > SIZE_MAX - page || grow_min > SIZE_MAX - page) {
        hk__report(HK_ERANGE, cfg, "kheap: sizes overflow");
        return NULL;
    }
    initial = hk__align_up(initial, page);
    hk_kheap_t tmp = {0};
    tmp.vm = cfg->vm;
    tmp.page = page;
    tmp.max_bytes = cfg->max_bytes;
    tmp.kind = cfg->kind;
    tmp.flags = cfg->flags;
    tmp.access = cfg->access;
    tmp.access_ctx = cfg->access_ctx;
    hk_vaddr_t first_va;
    void *first = kheap_map(&tmp, initial, &first_va);
    if (!first) {
        hk__report(HK_ENOMEM, cfg, "kheap: cannot map the first region");
        return NULL;
    }
    hk_kheap_t *kh = first; /* page aligned, so aligned for the record */
    *kh = tmp;
    kh->first = kh->last = first_va;
    kh->grow_min = hk__align_up(grow_min, page);
    hk_heap_config_t hc = {0};
    if (cfg->heap)
        hc = *cfg->heap;
    hc.grow = kheap_grow;
    hc.grow_ctx = kh;
    size_t rec = hk__align_up(sizeof *kh, HK_ALIGN);
    kh->heap = hk_heap_init((char *)first + rec, initial - rec, &hc);
    if (!kh->heap) {
        hk_vm_unmap(kh->vm, first_va);
        hk__report(HK_EINVAL, cfg, "kheap: first region too small for the heap");
        return NULL;
    }
    kh->magic = KHEAP_MAGIC;
    return kh;
}

static bool kheap_ok(const hk_kheap_t *kh)
{
    if (!kh || kh->magic != KHEAP_MAGIC) {
        hk__report(HK_EINVAL, kh, "kheap: NULL or not a kernel heap");
        return false;
    }
    return true;
}

hk_heap_t *hk_kheap_heap(hk_kheap_t *kh)
{
    return kheap_ok(kh) ? kh->heap : NULL;
}

unsigned hk_kheap_regions(const hk_kheap_t *kh)
{
    return kheap_ok(kh) ? kh->nregions : 0;
}

uint64_t hk_kheap_mapped_bytes(const hk_kheap_t *kh)
{
    return kheap_ok(kh) ? kh->mapped : 0;
}

int hk_kheap_destroy(hk_kheap_t *kh)
{
    if (!kheap_ok(kh))
        return HK_EINVAL;
    /* Newest first, reading each link before its region goes; the record
     * lives in region 0, which is unmapped last. */
    hk_vm_t *vm = kh->vm;
    hk_vaddr_t first = kh->first, va = kh->last;
    int rc = 0;
    while (va != first) {
        const kheap_link_t *link = kheap_ptr(kh, va, KHEAP_LINK);
        if (!link || link->self != va) {
            hk__report(HK_ECORRUPT, kh, "kheap: region link damaged; regions left mapped");
            return HK_ECORRUPT;
        }
        hk_vaddr_t prev = link->prev;
        int r = hk_vm_unmap(vm, va);
        if (r && !rc)
            rc = r;
        va = prev;
    }
    kh->magic = 0;
    int r = hk_vm_unmap(vm, first);
    return rc ? rc : r;
}
