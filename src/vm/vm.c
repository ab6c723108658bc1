/* SPDX-License-Identifier: MIT */
/*
 * vm.c - heapkit's address spaces: regions, immediate and demand mapping,
 * the page-fault handler and shared regions.
 *
 * The model (the classic one of Unix VM, e.g. McKusick et al., "The Design
 * and Implementation of the 4.4BSD Operating System", ch. 5, and Linux's
 * vm_area_struct + handle_mm_fault):
 *
 *   An address space is a sorted array of regions ("vm areas"). A region
 *   says what may be there; the page tables (behind the port) say what is
 *   there now. The fault handler reconciles the two, one page at a time:
 *
 *     region = binary search for addr           none -> NO_REGION
 *     access not allowed by region.prot         -> PROTECTION
 *     page mapped to the zero frame, write      -> new zeroed frame, remap
 *     page mapped otherwise                     -> spurious, HANDLED
 *     page unmapped, demand, read, zero page on -> zero frame, read-only
 *     page unmapped, demand                     -> new zeroed frame
 *     page unmapped, shared                     -> source's frame (made
 *                                                  now if the source has
 *                                                  none yet)
 *
 *   The zero frame is the "zero-fill on demand, copy on first write" trick:
 *   a program that reads a big array before writing it costs one frame, not
 *   one per page. A shared region never maps the zero frame: if a sharer saw
 *   zeros from the zero frame while the source wrote its own new frame, the
 *   two would disagree. So a sharer's fault always gives the source page a
 *   frame of its own first; a source page only ever moves from "unmapped" or
 *   "zero frame" to "own frame", never from one own frame to another, which
 *   keeps every sharer's translation valid for the life of the share.
 *
 * Ownership: a region owns the frames its pages map, except the zero frame
 * and (for a shared region) the source's frames. Unmap frees exactly those.
 * A source region cannot be unmapped while it is shared (HK_EBUSY), so a
 * sharer never holds a stale frame.
 *
 * Physical regions (HK_VM_PHYS: a direct map, a kernel image) map a range
 * the caller names and own nothing. Their layout in leaves is a pure
 * function of (base, phys, len, the port's large sizes), phys_leaf below,
 * so populate, clear and validate walk the same leaves without storing them:
 * a 3 GiB direct map is three 1 GiB leaves, not 786432 page walks.
 *
 * Partial unmap and protection change (hk_vm_unmap_range, hk_vm_protect,
 * like munmap and mprotect) cut a region at the range ends into regions of
 * the same kind; then the pieces inside are removed or given the new
 * protection. A cut is sound because frames are owned per page: each piece
 * owns exactly the frames its pages map. The exceptions are refused: a
 * contiguous run is freed as one run, a physical region's large leaves may
 * straddle the cut, and a shared region names its source by base.
 *
 * Memory layout: [hk_vm_t][region_t x cap] in the caller's buffer.
 */
#include "heapkit/vm.h"

#include "common/hk_internal.h"

#define VM_MAGIC 0x766d7370u /* "vmsp" */

typedef struct {
    hk_vaddr_t base;
    uint64_t len;
    hk_vm_t *src;        /* HK_VM_SHARED: the source address space */
    hk_vaddr_t src_base; /* HK_VM_SHARED: the base of the source region */
    hk_paddr_t contig;   /* HK_VM_CONTIG, HK_VM_PHYS: the first frame of the run */
    uint32_t shares;     /* regions elsewhere that share this one */
    uint8_t prot;
    uint8_t kind;
    uint8_t flags;
} region_t;

struct hk_vm {
    uint32_t magic;
    unsigned shift;
    hk_pages_t *pages;
    hk_vm_port_t port;
    hk_vaddr_t lo, hi;
    hk_paddr_t zero;
    hk_lock_t lock;
    uint32_t n, cap;
    region_t *r;
    hk_vm_stats_t st;
};

/* ---- small accessors -------------------------------------------------- */

static uint64_t page_size(const hk_vm_t *as) { return (uint64_t)1 << as->shift; }
static hk_vaddr_t region_end(const region_t *r) { return r->base + r->len; }
static bool region_has(const region_t *r, hk_vaddr_t a) { return a >= r->base && a < region_end(r); }
static uint64_t region_pages(const hk_vm_t *as, const region_t *r) { return r->len >> as->shift; }

static void port_flush(hk_vm_t *as, hk_vaddr_t va, uint64_t len)
{
    if (as->port.flush)
        as->port.flush(as->port.ctx, va, len);
}

static bool port_query(const hk_vm_t *as, hk_vaddr_t va, hk_paddr_t *pa, unsigned *prot)
{
    return as->port.query(as->port.ctx, va, pa, prot);
}

/* Index of the first region whose end is above a (== n if none). */
static uint32_t region_search(const hk_vm_t *as, hk_vaddr_t a)
{
    uint32_t lo = 0, hi = as->n;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2u;
        if (region_end(&as->r[mid]) <= a)
            lo = mid + 1u;
        else
            hi = mid;
    }
    return lo;
}

static region_t *region_find(const hk_vm_t *as, hk_vaddr_t a)
{
    uint32_t i = region_search(as, a);
    return i < as->n && region_has(&as->r[i], a) ? &as->r[i] : NULL;
}

static bool vm_ok(const hk_vm_t *as)
{
    if (!as || as->magic != VM_MAGIC) {
        hk__report(HK_EINVAL, as, "vm: NULL or not an initialised hk_vm_t");
        return false;
    }
    return true;
}

/* ---- frames ----------------------------------------------------------- */

static hk_paddr_t frame_new(hk_vm_t *as)
{
    hk_paddr_t pa = hk_pages_alloc(as->pages, 0);
    if (pa != HK_PADDR_NONE)
        as->port.zero(as->port.ctx, pa, (size_t)page_size(as));
    return pa;
}

/* Maps a fresh zeroed frame at va. Returns its address or NONE. */
static hk_paddr_t map_new_frame(hk_vm_t *as, hk_vaddr_t va, unsigned prot)
{
    hk_paddr_t pa = frame_new(as);
    if (pa == HK_PADDR_NONE)
        return pa;
    if (as->port.map(as->port.ctx, va, pa, prot) != 0) {
        hk_pages_free(as->pages, pa, 0);
        return HK_PADDR_NONE;
    }
    as->st.own_frames++;
    return pa;
}

/* The size of the leaf that maps va in the physical region r: the largest
 * of the port's large sizes that va and its physical address are aligned
 * to and that fits in what is left of r (HK_VM_LARGE), else a page. */
static uint64_t phys_leaf(const hk_vm_t *as, const region_t *r, hk_vaddr_t va)
{
    uint64_t off = va - r->base, left = r->len - off;
    uint64_t pa = r->contig + off;
    if ((r->flags & HK_VM_LARGE) && as->port.map_large) {
        for (unsigned b = 63; b > as->shift; b--) {
            uint64_t s = (uint64_t)1 << b;
            if ((as->port.large_sizes & s) && !((va | pa) & (s - 1u)) && left >= s)
                return s;
        }
    }
    return page_size(as);
}

static int phys_map_leaf(hk_vm_t *as, const region_t *r, hk_vaddr_t va, uint64_t size)
{
    hk_paddr_t pa = r->contig + (va - r->base);
    if (size == page_size(as))
        return as->port.map(as->port.ctx, va, pa, r->prot);
    return as->port.map_large(as->port.ctx, va, pa, r->prot, size);
}

/* Unmaps every leaf of a physical region (nothing is freed). */
static void phys_clear(hk_vm_t *as, const region_t *r)
{
    for (hk_vaddr_t va = r->base; va < region_end(r);) {
        uint64_t size = phys_leaf(as, r, va);
        hk_paddr_t pa;
        unsigned prot;
        if (port_query(as, va, &pa, &prot)) {
            as->port.unmap(as->port.ctx, va);
            as->st.mapped_pages -= size >> as->shift;
        }
        va += size;
    }
    port_flush(as, r->base, r->len);
}

static int phys_populate(hk_vm_t *as, region_t *r)
{
    for (hk_vaddr_t va = r->base; va < region_end(r);) {
        uint64_t size = phys_leaf(as, r, va);
        if (phys_map_leaf(as, r, va, size) != 0) {
            phys_clear(as, r);
            return HK_ENOMEM;
        }
        as->st.mapped_pages += size >> as->shift;
        va += size;
    }
    return 0;
}

/* Unmaps every page of r, freeing what r owns. */
static void region_clear(hk_vm_t *as, const region_t *r)
{
    uint64_t ps = page_size(as);
    if (r->kind == HK_VM_PHYS) {
        phys_clear(as, r);
        return;
    }
    for (hk_vaddr_t va = r->base; va < region_end(r); va += ps) {
        hk_paddr_t pa;
        unsigned prot;
        if (!port_query(as, va, &pa, &prot))
            continue;
        as->port.unmap(as->port.ctx, va);
        as->st.mapped_pages--;
        if (r->kind == HK_VM_SHARED || pa == as->zero || (r->flags & HK_VM_CONTIG))
            continue;
        hk_pages_free(as->pages, pa, 0);
        as->st.own_frames--;
    }
    if (r->flags & HK_VM_CONTIG) {
        hk_pages_free_run(as->pages, r->contig, (size_t)region_pages(as, r));
        as->st.own_frames -= region_pages(as, r);
    }
    port_flush(as, r->base, r->len);
}

/* Maps every page of an immediate region now. Returns 0 or HK_ENOMEM with
 * nothing left mapped. */
static int region_populate(hk_vm_t *as, region_t *r)
{
    uint64_t ps = page_size(as), n = region_pages(as, r);
    if (r->flags & HK_VM_CONTIG) {
        if (n > SIZE_MAX)
            return HK_ENOMEM;
        hk_paddr_t pa = hk_pages_alloc_run(as->pages, (size_t)n);
        if (pa == HK_PADDR_NONE)
            return HK_ENOMEM;
        as->port.zero(as->port.ctx, pa, (size_t)r->len);
        r->contig = pa;
        as->st.own_frames += n;
        for (uint64_t i = 0; i < n; i++) {
            if (as->port.map(as->port.ctx, r->base + i * ps, pa + i * ps, r->prot) != 0) {
                region_clear(as, r);
                return HK_ENOMEM;
            }
            as->st.mapped_pages++;
        }
        return 0;
    }
    for (hk_vaddr_t va = r->base; va < region_end(r); va += ps) {
        if (map_new_frame(as, va, r->prot) == HK_PADDR_NONE) {
            region_clear(as, r);
            return HK_ENOMEM;
        }
        as->st.mapped_pages++;
    }
    return 0;
}

/* ---- the region array --------------------------------------------------- */

/* Finds room for len bytes aligned to align in [lo, hi). */
static bool gap_find(const hk_vm_t *as, uint64_t len, uint64_t align, hk_vaddr_t *out)
{
    hk_vaddr_t cand = as->lo;
    for (uint32_t i = 0;; i++) {
        if (cand & (align - 1u)) {
            if (cand > UINT64_MAX - (align - 1u))
                return false;
            cand = (cand + align - 1u) & ~(align - 1u);
        }
        hk_vaddr_t limit = i < as->n ? as->r[i].base : as->hi;
        if (cand <= limit && limit - cand >= len && cand >= as->lo) {
            *out = cand;
            return cand + len <= as->hi;
        }
        if (i >= as->n)
            return false;
        if (region_end(&as->r[i]) > cand)
            cand = region_end(&as->r[i]);
    }
}

/* Inserts r at its sorted place; the caller checked room and overlap. */
static region_t *region_insert(hk_vm_t *as, const region_t *r)
{
    uint32_t i = region_search(as, r->base);
    hk__memmove(&as->r[i + 1u], &as->r[i], (size_t)(as->n - i) * sizeof(region_t));
    as->r[i] = *r;
    as->n++;
    as->st.regions++;
    return &as->r[i];
}

static void region_erase(hk_vm_t *as, region_t *r)
{
    uint32_t i = (uint32_t)(r - as->r);
    hk__memmove(&as->r[i], &as->r[i + 1u], (size_t)(as->n - i - 1u) * sizeof(region_t));
    as->n--;
    as->st.regions--;
}

/* Checks a request and finds its place. Returns 0 and *base, or an error
 * with *why set. */
static int place(hk_vm_t *as, hk_vaddr_t want, uint64_t *len, uint64_t align, unsigned flags,
                 hk_vaddr_t *base, const char **why)
{
    uint64_t ps = page_size(as);
    if (*len == 0 || (align && !hk__is_pow2((size_t)align)) || (align && align > (uint64_t)SIZE_MAX)) {
        *why = "vm: length 0 or alignment not a power of two";
        return HK_EINVAL;
    }
    if (*len > UINT64_MAX - (ps - 1u)) {
        *why = "vm: length overflows when rounded up to pages";
        return HK_ERANGE;
    }
    *len = (*len + ps - 1u) & ~(ps - 1u);
    if (align < ps)
        align = ps;
    if (as->n >= as->cap) {
        *why = "vm: no free region slot (address space memory too small)";
        return HK_ENOMEM;
    }
    if (flags & HK_VM_FIXED) {
        if (want & (ps - 1u)) {
            *why = "vm: fixed address not page aligned";
            return HK_EINVAL;
        }
        if (want < as->lo || want > as->hi || as->hi - want < *len) {
            *why = "vm: fixed range outside the address space";
            return HK_ERANGE;
        }
        uint32_t i = region_search(as, want);
        if (i < as->n && as->r[i].base < want + *len) {
            *why = "vm: fixed range overlaps an existing region";
            return HK_EOVERLAP;
        }
        *base = want;
        return 0;
    }
    if (*len > as->hi - as->lo) {
        *why = "vm: region larger than the address space";
        return HK_ERANGE;
    }
    if (!gap_find(as, *len, align, base)) {
        *why = "vm: no free range of that size and alignment";
        return HK_ENOMEM;
    }
    return 0;
}

/* ---- init and teardown ---------------------------------------------------- */

size_t hk_vm_size(size_t max_regions)
{
    if (max_regions > (SIZE_MAX - sizeof(hk_vm_t) - 64u) / sizeof(region_t))
        return 0;
    return sizeof(hk_vm_t) + max_regions * sizeof(region_t) + _Alignof(hk_vm_t) - 1u;
}

hk_vm_t *hk_vm_init(void *mem, size_t bytes, const hk_vm_config_t *cfg)
{
    if (!mem || !cfg || !cfg->pages || !cfg->port.map || !cfg->port.unmap || !cfg->port.query ||
        !cfg->port.zero) {
        hk__report(HK_EINVAL, mem, "vm: NULL memory, config, pages or port function");
        return NULL;
    }
    size_t ps = hk_pages_frame_size(cfg->pages);
    if (!ps || (cfg->lo & (ps - 1u)) || (cfg->hi & (ps - 1u)) || cfg->lo >= cfg->hi) {
        hk__report(HK_EINVAL, mem, "vm: lo/hi not page aligned, or lo >= hi");
        return NULL;
    }
    if (bytes < hk_vm_size(1)) {
        hk__report(HK_EINVAL, mem, "vm: memory too small for one region");
        return NULL;
    }
    uintptr_t at = hk__align_up_ptr((uintptr_t)mem, _Alignof(hk_vm_t));
    hk_vm_t *as = (hk_vm_t *)at;
    size_t room = bytes - (size_t)(at - (uintptr_t)mem) - sizeof(hk_vm_t);
    hk__memset(as, 0, sizeof *as);
    as->shift = hk__fls(ps);
    as->pages = cfg->pages;
    as->port = cfg->port;
    as->lo = cfg->lo;
    as->hi = cfg->hi;
    if (cfg->lock)
        as->lock = *cfg->lock;
    as->r = (region_t *)(at + sizeof(hk_vm_t));
    size_t cap = room / sizeof(region_t);
    as->cap = cap > UINT32_MAX ? UINT32_MAX : (uint32_t)cap;
    as->zero = HK_PADDR_NONE;
    if (cfg->zero_page) {
        as->zero = frame_new(as);
        if (as->zero == HK_PADDR_NONE) {
            hk__report(HK_ENOMEM, mem, "vm: no frame for the zero page");
            return NULL;
        }
    }
    as->magic = VM_MAGIC;
    return as;
}

static region_t *source_of(const region_t *r);

int hk_vm_destroy(hk_vm_t *as)
{
    if (!vm_ok(as))
        return HK_EINVAL;
    uintptr_t lk_saved = hk__lock(&as->lock);
    for (uint32_t i = 0; i < as->n; i++) {
        if (as->r[i].shares) {
            hk__unlock(&as->lock, lk_saved);
            hk__report(HK_EBUSY, as, "vm: destroy of an address space whose region is shared");
            return HK_EBUSY;
        }
    }
    while (as->n) {
        region_t *r = &as->r[as->n - 1u];
        region_clear(as, r);
        if (r->kind == HK_VM_SHARED) {
            uintptr_t lk_src = hk__lock(&r->src->lock);
            source_of(r)->shares--;
            hk__unlock(&r->src->lock, lk_src);
        }
        region_erase(as, r);
    }
    if (as->zero != HK_PADDR_NONE)
        hk_pages_free(as->pages, as->zero, 0);
    as->magic = 0;
    hk__unlock(&as->lock, lk_saved);
    return 0;
}

size_t hk_vm_page_size(const hk_vm_t *as)
{
    return vm_ok(as) ? (size_t)page_size(as) : 0;
}

/* ---- making and removing regions ------------------------------------------ */

int hk_vm_map(hk_vm_t *as, hk_vaddr_t *addr, uint64_t len, uint64_t align, unsigned prot,
              hk_vm_kind_t kind, unsigned flags)
{
    if (!vm_ok(as))
        return HK_EINVAL;
    const char *why = NULL;
    int rc = HK_EINVAL;
    if (!addr)
        why = "vm: NULL address pointer";
    else if (prot & ~HK_VM_PROT_MASK)
        why = "vm: unknown protection bits";
    else if (kind != HK_VM_IMMEDIATE && kind != HK_VM_DEMAND && kind != HK_VM_GUARD)
        why = "vm: kind must be immediate, demand or guard (shared regions come from hk_vm_share)";
    else if (flags & ~(HK_VM_FIXED | HK_VM_CONTIG))
        why = "vm: unknown flags";
    else if ((flags & HK_VM_CONTIG) && kind != HK_VM_IMMEDIATE)
        why = "vm: HK_VM_CONTIG needs an immediate region";
    else if (kind != HK_VM_GUARD && !(prot & (HK_VM_READ | HK_VM_WRITE | HK_VM_EXEC)))
        why = "vm: no access bits (use HK_VM_GUARD for an inaccessible range)";
    if (why) {
        hk__report(rc, addr, why);
        return rc;
    }
    uintptr_t lk_saved = hk__lock(&as->lock);
    hk_vaddr_t base = 0;
    rc = place(as, *addr, &len, align, flags, &base, &why);
    if (!rc) {
        region_t nr = {0};
        nr.base = base;
        nr.len = len;
        nr.prot = (uint8_t)(kind == HK_VM_GUARD ? 0u : prot);
        nr.kind = (uint8_t)kind;
        nr.flags = (uint8_t)(flags & HK_VM_CONTIG);
        nr.contig = HK_PADDR_NONE;
        region_t *r = region_insert(as, &nr);
        if (kind == HK_VM_IMMEDIATE && (rc = region_populate(as, r)) != 0) {
            region_erase(as, r);
            why = "vm: out of frames for an immediate region";
        }
        if (!rc)
            *addr = base;
    }
    hk__unlock(&as->lock, lk_saved);
    if (rc)
        hk__report(rc, (const void *)(uintptr_t)*addr, why);
    return rc;
}

int hk_vm_map_phys(hk_vm_t *as, hk_vaddr_t *addr, hk_paddr_t pa, uint64_t len, uint64_t align,
                   unsigned prot, unsigned flags)
{
    if (!vm_ok(as))
        return HK_EINVAL;
    const char *why = NULL;
    int rc = HK_EINVAL;
    if (!addr)
        why = "vm: NULL address pointer";
    else if (prot & ~HK_VM_PROT_MASK)
        why = "vm: unknown protection bits";
    else if (!(prot & (HK_VM_READ | HK_VM_WRITE | HK_VM_EXEC)))
        why = "vm: no access bits for a physical mapping";
    else if (flags & ~(HK_VM_FIXED | HK_VM_LARGE))
        why = "vm: unknown flags for a physical mapping";
    else if ((pa & (page_size(as) - 1u)) || pa == HK_PADDR_NONE)
        why = "vm: physical address not page aligned";
    else if (len > UINT64_MAX - page_size(as) || pa > UINT64_MAX - len - page_size(as))
        why = "vm: physical range wraps";
    if (why) {
        hk__report(rc, addr, why);
        return rc;
    }
    uintptr_t lk_saved = hk__lock(&as->lock);
    hk_vaddr_t base = 0;
    rc = place(as, *addr, &len, align, flags & HK_VM_FIXED, &base, &why);
    if (!rc) {
        region_t nr = {0};
        nr.base = base;
        nr.len = len;
        nr.prot = (uint8_t)prot;
        nr.kind = HK_VM_PHYS;
        nr.flags = (uint8_t)(flags & HK_VM_LARGE);
        nr.contig = pa;
        region_t *r = region_insert(as, &nr);
        if ((rc = phys_populate(as, r)) != 0) {
            region_erase(as, r);
            why = "vm: out of frames for the page tables of a physical mapping";
        } else {
            *addr = base;
        }
    }
    hk__unlock(&as->lock, lk_saved);
    if (rc)
        hk__report(rc, (const void *)(uintptr_t)*addr, why);
    return rc;
}

/* The region a shared region looks at (always exists while shared). */
static region_t *source_of(const region_t *r)
{
    return region_find(r->src, r->src_base);
}

int hk_vm_unmap(hk_vm_t *as, hk_vaddr_t addr)
{
    if (!vm_ok(as))
        return HK_EINVAL;
    uintptr_t lk_saved = hk__lock(&as->lock);
    region_t *r = region_find(as, addr);
    int rc = 0;
    const char *why = NULL;
    if (!r || r->base != addr) {
        rc = HK_EINVAL;
        why = "vm: unmap of an address where no region starts";
    } else if (r->shares) {
        rc = HK_EBUSY;
        why = "vm: unmap of a region still shared into another address space";
    } else {
        region_clear(as, r);
        if (r->kind == HK_VM_SHARED) {
            uintptr_t lk_src = hk__lock(&r->src->lock);
            source_of(r)->shares--;
            hk__unlock(&r->src->lock, lk_src);
        }
        region_erase(as, r);
    }
    hk__unlock(&as->lock, lk_saved);
    if (rc)
        hk__report(rc, (const void *)(uintptr_t)addr, why);
    return rc;
}

/* ---- partial unmap and protection change ------------------------------------ */

/* Splits region i at a (page aligned, strictly inside it): [base, a) stays
 * at i, [a, end) becomes i + 1. The caller checked for a free slot and that
 * the region may be split (its frames are per page, so both halves own
 * exactly the frames of their pages). */
static void region_split(hk_vm_t *as, uint32_t i, hk_vaddr_t a)
{
    region_t second = as->r[i];
    second.base = a;
    second.len = region_end(&as->r[i]) - a;
    as->r[i].len = a - as->r[i].base;
    hk__memmove(&as->r[i + 2u], &as->r[i + 1u], (size_t)(as->n - i - 1u) * sizeof(region_t));
    as->r[i + 1u] = second;
    as->n++;
    as->st.regions++;
}

/* Why r cannot be cut at a boundary inside it, or NULL. A contiguous run
 * is freed as one run, a physical region's large leaves would straddle the
 * cut, and a shared region names its source by the source's base. */
static const char *split_refusal(const region_t *r)
{
    if (r->kind == HK_VM_SHARED)
        return "vm: a shared region can only be unmapped or changed whole";
    if (r->kind == HK_VM_PHYS)
        return "vm: a physical region can only be unmapped or changed whole";
    if (r->flags & HK_VM_CONTIG)
        return "vm: a contiguous region can only be unmapped or changed whole";
    return NULL;
}

/* Checks [a, e) against the regions it touches and cuts them at a and e.
 * covered: the range must have no hole. Returns 0 or an error with *why. */
static int range_cut(hk_vm_t *as, hk_vaddr_t a, hk_vaddr_t e, bool covered, const char **why)
{
    unsigned cuts = 0;
    hk_vaddr_t next = a;
    for (uint32_t i = region_search(as, a); i < as->n && as->r[i].base < e; i++) {
        const region_t *r = &as->r[i];
        if (covered && r->base > next) {
            *why = "vm: range not fully covered by regions";
            return HK_EFAULT;
        }
        next = region_end(r);
        if (r->shares) {
            *why = "vm: region shared into another address space (unmap the sharers first)";
            return HK_EBUSY;
        }
        unsigned c = (r->base < a ? 1u : 0u) + (region_end(r) > e ? 1u : 0u);
        if (c && split_refusal(r)) {
            *why = split_refusal(r);
            return HK_EINVAL;
        }
        cuts += c;
    }
    if (covered && next < e) {
        *why = "vm: range not fully covered by regions";
        return HK_EFAULT;
    }
    if (as->cap - as->n < cuts) {
        *why = "vm: no free region slot to split a region";
        return HK_ENOMEM;
    }
    uint32_t i = region_search(as, a);
    if (i < as->n && as->r[i].base < a && region_end(&as->r[i]) > a)
        region_split(as, i, a);
    i = region_search(as, e);
    if (i < as->n && as->r[i].base < e && region_end(&as->r[i]) > e)
        region_split(as, i, e);
    return 0;
}

static int range_args(const hk_vm_t *as, hk_vaddr_t addr, uint64_t len, hk_vaddr_t *end, const char **why)
{
    uint64_t ps = page_size(as);
    if (!len || (addr & (ps - 1u))) {
        *why = "vm: length 0 or address not page aligned";
        return HK_EINVAL;
    }
    if (len > UINT64_MAX - (ps - 1u) || addr > UINT64_MAX - ((len + ps - 1u) & ~(ps - 1u))) {
        *why = "vm: range wraps";
        return HK_ERANGE;
    }
    *end = addr + ((len + ps - 1u) & ~(ps - 1u));
    return 0;
}

int hk_vm_unmap_range(hk_vm_t *as, hk_vaddr_t addr, uint64_t len)
{
    if (!vm_ok(as))
        return HK_EINVAL;
    const char *why = NULL;
    hk_vaddr_t e = 0;
    int rc = range_args(as, addr, len, &e, &why);
    if (rc) {
        hk__report(rc, (const void *)(uintptr_t)addr, why);
        return rc;
    }
    uintptr_t lk_saved = hk__lock(&as->lock);
    rc = range_cut(as, addr, e, false, &why);
    while (!rc) {
        uint32_t i = region_search(as, addr);
        if (i >= as->n || as->r[i].base >= e)
            break;
        region_t *r = &as->r[i];
        region_clear(as, r);
        if (r->kind == HK_VM_SHARED) {
            uintptr_t lk_src = hk__lock(&r->src->lock);
            source_of(r)->shares--;
            hk__unlock(&r->src->lock, lk_src);
        }
        region_erase(as, r);
    }
    hk__unlock(&as->lock, lk_saved);
    if (rc)
        hk__report(rc, (const void *)(uintptr_t)addr, why);
    return rc;
}

/* Rewrites the translations of r after its protection changed. */
static void region_reprotect(hk_vm_t *as, const region_t *r)
{
    if (r->kind == HK_VM_PHYS) {
        for (hk_vaddr_t va = r->base; va < region_end(r);) {
            uint64_t size = phys_leaf(as, r, va);
            (void)phys_map_leaf(as, r, va, size); /* replaces a leaf: needs no new table */
            va += size;
        }
    } else {
        for (hk_vaddr_t va = r->base; va < region_end(r); va += page_size(as)) {
            hk_paddr_t pa;
            unsigned prot;
            if (!port_query(as, va, &pa, &prot))
                continue;
            (void)as->port.map(as->port.ctx, va, pa, pa == as->zero ? (unsigned)r->prot & ~HK_VM_WRITE : r->prot);
        }
    }
    port_flush(as, r->base, r->len);
}

int hk_vm_protect(hk_vm_t *as, hk_vaddr_t addr, uint64_t len, unsigned prot)
{
    if (!vm_ok(as))
        return HK_EINVAL;
    const char *why = NULL;
    hk_vaddr_t e = 0;
    int rc = range_args(as, addr, len, &e, &why);
    if (!rc && (prot & ~HK_VM_PROT_MASK)) {
        rc = HK_EINVAL;
        why = "vm: unknown protection bits";
    } else if (!rc && !(prot & (HK_VM_READ | HK_VM_WRITE | HK_VM_EXEC))) {
        rc = HK_EINVAL;
        why = "vm: no access bits (unmap the range or map a guard region instead)";
    }
    if (rc) {
        hk__report(rc, (const void *)(uintptr_t)addr, why);
        return rc;
    }
    uintptr_t lk_saved = hk__lock(&as->lock);
    /* regions that cannot take the new protection, before anything is cut */
    for (uint32_t i = region_search(as, addr); !rc && i < as->n && as->r[i].base < e; i++) {
        const region_t *r = &as->r[i];
        if (r->kind == HK_VM_GUARD) {
            rc = HK_EINVAL;
            why = "vm: a guard region allows nothing (unmap it and map a region)";
        } else if (r->kind == HK_VM_SHARED && (prot & ~(unsigned)source_of(r)->prot)) {
            rc = HK_EINVAL;
            why = "vm: a shared region's protection must stay a subset of its source's";
        }
    }
    if (!rc)
        rc = range_cut(as, addr, e, true, &why);
    for (uint32_t i = region_search(as, addr); !rc && i < as->n && as->r[i].base < e; i++) {
        as->r[i].prot = (uint8_t)prot;
        region_reprotect(as, &as->r[i]);
    }
    hk__unlock(&as->lock, lk_saved);
    if (rc)
        hk__report(rc, (const void *)(uintptr_t)addr, why);
    return rc;
}

int hk_vm_share(hk_vm_t *src, hk_vaddr_t src_addr, hk_vm_t *dst, hk_vaddr_t *dst_addr,
                unsigned prot, unsigned flags)
{
    if (!vm_ok(src) || !vm_ok(dst))
        return HK_EINVAL;
    if (src == dst || !dst_addr || (flags & ~HK_VM_FIXED) || src->shift != dst->shift) {
        hk__report(HK_EINVAL, dst_addr, "vm: share into the same space, NULL address, bad flags or page sizes differ");
        return HK_EINVAL;
    }
    uintptr_t lk_saved = hk__lock(&dst->lock);
    uintptr_t lk_src = hk__lock(&src->lock);
    const char *why = NULL;
    int rc = HK_EINVAL;
    region_t *s = region_find(src, src_addr);
    if (!s || s->base != src_addr)
        why = "vm: share of an address where no region starts";
    else if (s->kind == HK_VM_SHARED || s->kind == HK_VM_GUARD || s->kind == HK_VM_PHYS)
        why = "vm: only immediate and demand regions can be shared";
    else if (!prot || (prot & ~(unsigned)s->prot))
        why = "vm: shared protection must be a non-empty subset of the source's";
    else if (s->shares == UINT32_MAX)
        why = "vm: region shared too often";
    hk_vaddr_t base = 0;
    uint64_t len = s ? s->len : 0;
    if (!why)
        rc = place(dst, *dst_addr, &len, 0, flags, &base, &why);
    if (!why) {
        region_t nr = {0};
        nr.base = base;
        nr.len = len;
        nr.prot = (uint8_t)prot;
        nr.kind = HK_VM_SHARED;
        nr.src = src;
        nr.src_base = s->base;
        nr.contig = HK_PADDR_NONE;
        region_insert(dst, &nr);
        s->shares++;
        *dst_addr = base;
        rc = 0;
    }
    hk__unlock(&src->lock, lk_src);
    hk__unlock(&dst->lock, lk_saved);
    if (why)
        hk__report(rc, dst_addr, why);
    return rc;
}

/* ---- faults ---------------------------------------------------------------- */

/* Makes sure the source page at va has a frame of its own and returns it
 * (or NONE). Runs under the source's lock. */
static hk_paddr_t source_frame(hk_vm_t *as, const region_t *r, hk_vaddr_t va)
{
    hk_paddr_t pa;
    unsigned prot;
    if (port_query(as, va, &pa, &prot)) {
        if (pa != as->zero)
            return pa;
        pa = map_new_frame(as, va, r->prot);
        if (pa != HK_PADDR_NONE) {
            port_flush(as, va, page_size(as));
            as->st.cow_breaks++;
        }
        return pa;
    }
    pa = map_new_frame(as, va, r->prot);
    if (pa != HK_PADDR_NONE) {
        as->st.mapped_pages++;
        as->st.demand_maps++;
    }
    return pa;
}

static hk_vm_fault_t fault_locked(hk_vm_t *as, hk_vaddr_t addr, unsigned access)
{
    region_t *r = region_find(as, addr);
    if (!r)
        return HK_VM_FAULT_NO_REGION;
    if (r->kind == HK_VM_GUARD || (access & ~(unsigned)r->prot & HK_VM_PROT_MASK))
        return HK_VM_FAULT_PROTECTION;
    hk_vaddr_t va = addr & ~(page_size(as) - 1u);
    hk_paddr_t pa;
    unsigned prot;
    if (port_query(as, va, &pa, &prot)) {
        if (pa == as->zero && (access & HK_VM_WRITE)) {
            if (map_new_frame(as, va, r->prot) == HK_PADDR_NONE)
                return HK_VM_FAULT_NOMEM;
            port_flush(as, va, page_size(as));
            as->st.cow_breaks++;
            return HK_VM_FAULT_HANDLED;
        }
        as->st.spurious++;
        return HK_VM_FAULT_HANDLED;
    }
    if (r->kind == HK_VM_SHARED) {
        hk_vm_t *src = r->src;
        uintptr_t lk_saved = hk__lock(&src->lock);
        const region_t *s = source_of(r);
        pa = source_frame(src, s, s->base + (va - r->base));
        hk__unlock(&src->lock, lk_saved);
        if (pa == HK_PADDR_NONE || as->port.map(as->port.ctx, va, pa, r->prot) != 0)
            return HK_VM_FAULT_NOMEM;
        as->st.mapped_pages++;
        as->st.shared_maps++;
        return HK_VM_FAULT_HANDLED;
    }
    if (!(access & HK_VM_WRITE) && as->zero != HK_PADDR_NONE && r->kind == HK_VM_DEMAND) {
        if (as->port.map(as->port.ctx, va, as->zero, r->prot & ~HK_VM_WRITE) != 0)
            return HK_VM_FAULT_NOMEM;
        as->st.mapped_pages++;
        as->st.zero_maps++;
        return HK_VM_FAULT_HANDLED;
    }
    if (map_new_frame(as, va, r->prot) == HK_PADDR_NONE)
        return HK_VM_FAULT_NOMEM;
    as->st.mapped_pages++;
    as->st.demand_maps++;
    return HK_VM_FAULT_HANDLED;
}

hk_vm_fault_t hk_vm_fault(hk_vm_t *as, hk_vaddr_t addr, unsigned access)
{
    if (!vm_ok(as))
        return HK_VM_FAULT_NO_REGION;
    uintptr_t lk_saved = hk__lock(&as->lock);
    as->st.faults++;
    hk_vm_fault_t r = fault_locked(as, addr, access);
    if (r != HK_VM_FAULT_HANDLED)
        as->st.violations++;
    hk__unlock(&as->lock, lk_saved);
    return r;
}

const char *hk_vm_fault_name(hk_vm_fault_t r)
{
    switch (r) {
    case HK_VM_FAULT_HANDLED: return "handled";
    case HK_VM_FAULT_NO_REGION: return "no region at the address";
    case HK_VM_FAULT_PROTECTION: return "access not allowed by the region's protection";
    case HK_VM_FAULT_NOMEM: return "out of frames";
    default: return "unknown fault result";
    }
}

/* ---- queries ----------------------------------------------------------------- */

static void region_info(const region_t *r, hk_vm_region_info_t *out)
{
    out->base = r->base;
    out->length = r->len;
    out->prot = r->prot;
    out->kind = (hk_vm_kind_t)r->kind;
    out->flags = r->flags;
    out->phys = (r->kind == HK_VM_PHYS || (r->flags & HK_VM_CONTIG)) ? r->contig : HK_PADDR_NONE;
}

int hk_vm_lookup(const hk_vm_t *as, hk_vaddr_t addr, hk_vm_region_info_t *out)
{
    if (!vm_ok(as) || !out)
        return HK_EINVAL;
    uintptr_t lk_saved = hk__lock(&as->lock);
    const region_t *r = region_find(as, addr);
    if (r)
        region_info(r, out);
    hk__unlock(&as->lock, lk_saved);
    return r ? 0 : HK_EFAULT;
}

void hk_vm_walk(const hk_vm_t *as, hk_vm_walk_fn fn, void *ctx)
{
    if (!vm_ok(as) || !fn)
        return;
    uintptr_t lk_saved = hk__lock(&as->lock);
    for (uint32_t i = 0; i < as->n; i++) {
        hk_vm_region_info_t info;
        region_info(&as->r[i], &info);
        fn(&info, ctx);
    }
    hk__unlock(&as->lock, lk_saved);
}

hk_paddr_t hk_vm_zero_frame(const hk_vm_t *as)
{
    return vm_ok(as) ? as->zero : HK_PADDR_NONE;
}

void hk_vm_get_stats(const hk_vm_t *as, hk_vm_stats_t *out)
{
    if (!out)
        return;
    hk__memset(out, 0, sizeof *out);
    if (!vm_ok(as))
        return;
    uintptr_t lk_saved = hk__lock(&as->lock);
    *out = as->st;
    hk__unlock(&as->lock, lk_saved);
}

/* ---- validation ------------------------------------------------------------ */

static const char *validate_page(const hk_vm_t *as, const region_t *r, hk_vaddr_t va,
                                 uint64_t *mapped, uint64_t *own)
{
    hk_paddr_t pa;
    unsigned prot;
    if (!port_query(as, va, &pa, &prot)) {
        if (r->kind == HK_VM_IMMEDIATE)
            return "vm: page of an immediate region not mapped";
        return NULL;
    }
    (*mapped)++;
    if (r->kind == HK_VM_GUARD)
        return "vm: page of a guard region mapped";
    if ((prot & HK_VM_WRITE) && !(r->prot & HK_VM_WRITE))
        return "vm: page writable in a region that is not";
    if (pa == as->zero) {
        if (r->kind != HK_VM_DEMAND)
            return "vm: zero frame mapped outside a demand region";
        if (prot & HK_VM_WRITE)
            return "vm: zero frame mapped writable";
        return NULL;
    }
    if ((r->prot & HK_VM_WRITE) && !(prot & HK_VM_WRITE))
        return "vm: own frame mapped read-only in a writable region";
    if ((r->flags & HK_VM_CONTIG) && pa != r->contig + (va - r->base))
        return "vm: contiguous region maps a frame outside its run";
    if (r->kind == HK_VM_SHARED) {
        const region_t *s = source_of(r);
        hk_paddr_t spa;
        unsigned sprot;
        if (!port_query(r->src, s->base + (va - r->base), &spa, &sprot) || spa != pa)
            return "vm: shared page disagrees with its source";
        return NULL;
    }
    if (!(r->flags & HK_VM_CONTIG)) {
        (*own)++;
        if (hk_pages_is_free(as->pages, pa))
            return "vm: mapped frame is free in the page allocator";
    }
    return NULL;
}

/* A physical region: every leaf mapped to its place with the region's
 * write permission (first and last page of each leaf are queried). */
static const char *validate_phys(const hk_vm_t *as, const region_t *r, uint64_t *mapped)
{
    for (hk_vaddr_t va = r->base; va < region_end(r);) {
        uint64_t size = phys_leaf(as, r, va);
        hk_vaddr_t probe[2] = {va, va + size - page_size(as)};
        for (unsigned k = 0; k < 2; k++) {
            hk_paddr_t pa;
            unsigned prot;
            if (!port_query(as, probe[k], &pa, &prot))
                return "vm: page of a physical region not mapped";
            if (pa != r->contig + (probe[k] - r->base))
                return "vm: physical region maps the wrong frame";
            if (((prot ^ r->prot) & HK_VM_WRITE) != 0)
                return "vm: physical region page with the wrong write permission";
        }
        *mapped += size >> as->shift;
        va += size;
    }
    return NULL;
}

int hk_vm_validate(const hk_vm_t *as)
{
    if (!vm_ok(as))
        return HK_EINVAL;
    uintptr_t lk_saved = hk__lock(&as->lock);
    const char *why = NULL;
    uint64_t mapped = 0, own = 0;
    if (as->n > as->cap)
        why = "vm: region count above capacity";
    for (uint32_t i = 0; !why && i < as->n; i++) {
        const region_t *r = &as->r[i];
        if (!r->len || ((r->base | r->len) & (page_size(as) - 1u)))
            why = "vm: region empty or not page aligned";
        else if (r->base < as->lo || region_end(r) > as->hi || region_end(r) < r->base)
            why = "vm: region outside the address space";
        else if (i && region_end(&as->r[i - 1u]) > r->base)
            why = "vm: regions out of order or overlapping";
        else if (r->kind > HK_VM_PHYS)
            why = "vm: bad region kind";
        else if (r->kind == HK_VM_SHARED &&
                 (!source_of(r) || source_of(r)->len != r->len || !source_of(r)->shares))
            why = "vm: shared region without a matching source";
        if (!why && r->kind == HK_VM_PHYS) {
            why = validate_phys(as, r, &mapped);
            continue;
        }
        if (r->flags & HK_VM_CONTIG)
            own += region_pages(as, r);
        for (hk_vaddr_t va = r->base; !why && va < region_end(r); va += page_size(as))
            why = validate_page(as, r, va, &mapped, &own);
    }
    if (!why && mapped != as->st.mapped_pages)
        why = "vm: mapped-page counter disagrees with the page tables";
    if (!why && own != as->st.own_frames)
        why = "vm: own-frame counter disagrees with the page tables";
    if (!why && as->st.regions != as->n)
        why = "vm: region counter disagrees";
    hk__unlock(&as->lock, lk_saved);
    if (why) {
        hk__report(HK_ECORRUPT, as, why);
        return HK_ECORRUPT;
    }
    return 0;
}
