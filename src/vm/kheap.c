/*
 * kheap.c - a kernel heap over an address space: hk_heap for the blocks,
 * hk_vm for the pages under them.
 *
 * Layout of the first region:
 *     [hk_kheap_t: the vm, the limits, the list of regions][hk_heap ...]
 * Later regions belong wholly to the heap (hk_heap_add_region via the
 * growth hook). The record lives in the heap's own memory, so a kernel needs
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
    hk_vaddr_t base[HK_KHEAP_MAX_REGIONS];
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
static void *kheap_map(hk_kheap_t *kh, size_t bytes)
{
    if (kh->nregions >= HK_KHEAP_MAX_REGIONS)
        return NULL;
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
    kh->base[kh->nregions++] = va;
    kh->mapped += bytes;
    return p;
}

static void *kheap_grow(void *ctx, size_t min_bytes, size_t *got_bytes)
{
    hk_kheap_t *kh = ctx;
    size_t want = min_bytes > SIZE_MAX - KHEAP_SLACK - kh->page ? 0 : min_bytes + KHEAP_SLACK;
    if (!want)
        return NULL;
    if (want < kh->grow_min)
        want = kh->grow_min;
    want = hk__align_up(want, kh->page);
    void *p = kheap_map(kh, want);
    if (p)
        *got_bytes = want;
    return p;
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
    void *first = kheap_map(&tmp, initial);
    if (!first) {
        hk__report(HK_ENOMEM, cfg, "kheap: cannot map the first region");
        return NULL;
    }
    hk_kheap_t *kh = first; /* page aligned, so aligned for the record */
    *kh = tmp;
    kh->grow_min = hk__align_up(grow_min, page);
    hk_heap_config_t hc = {0};
    if (cfg->heap)
        hc = *cfg->heap;
    hc.grow = kheap_grow;
    hc.grow_ctx = kh;
    size_t rec = hk__align_up(sizeof *kh, HK_ALIGN);
    kh->heap = hk_heap_init((char *)first + rec, initial - rec, &hc);
    if (!kh->heap) {
        hk_vm_unmap(kh->vm, kh->base[0]);
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
    /* The record lives in region 0: copy what we need, unmap it last. */
    hk_vm_t *vm = kh->vm;
    unsigned n = kh->nregions;
    hk_vaddr_t first = kh->base[0];
    int rc = 0;
    for (unsigned i = n; i-- > 1;) {
        int r = hk_vm_unmap(vm, kh->base[i]);
        if (r && !rc)
            rc = r;
    }
    kh->magic = 0;
    int r = hk_vm_unmap(vm, first);
    return rc ? rc : r;
}
