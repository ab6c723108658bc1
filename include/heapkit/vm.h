/* SPDX-License-Identifier: MIT */
/*
 * heapkit/vm.h - address spaces: regions, immediate and demand mapping,
 * page faults, shared regions.
 *
 * An address space (hk_vm_t) is a set of regions, each a page-aligned range
 * of virtual addresses with a protection and a kind:
 *   HK_VM_IMMEDIATE  frames are allocated and mapped when the region is made;
 *   HK_VM_DEMAND     nothing is mapped until the first fault on each page; a
 *                    read fault may map the shared zero frame read-only, and
 *                    the first write then gives the page a frame of its own;
 *   HK_VM_GUARD      reserved address space that every access faults on (its
 *                    protection is recorded as 0, whatever the map call gave);
 *   HK_VM_SHARED     made by hk_vm_share: the pages of a region of another
 *                    address space, seen through this one;
 *   HK_VM_PHYS       made by hk_vm_map_phys: a given range of physical memory
 *                    (a kernel's direct map, its image, device memory),
 *                    mapped now, never owned: unmapping frees no frame. With
 *                    HK_VM_LARGE it uses 2 MiB / 1 GiB pages (x86-64 PS,
 *                    Sv39 megapages and gigapages) where both addresses are
 *                    aligned and the port offers them.
 * Frames come from an hk_pages allocator; page tables are behind a port
 * (hk_vm_port_t: map, unmap, query, flush, zero) with back ends for x86-64
 * four-level paging and RISC-V Sv39 (heapkit/vm_pt.h) and for the real MMU
 * of a Linux process (heapkit/vm_linux.h).
 *
 * Regions are kept in a sorted array inside the caller's memory: lookup (and
 * so every fault) is O(log regions) by binary search; making or removing a
 * region moves the array tail, O(regions), which for the dozens of regions a
 * hobby kernel has is cheaper than a balanced tree.
 *
 * Virtual addresses are hk_vaddr_t (64-bit on every target), so a 32-bit
 * host can build and check a 64-bit address space.
 *
 * Thread safety: none unless a lock is given; then every call that takes an
 * address space runs under its lock. Calls on a sharing space (hk_vm_share,
 * a fault on or unmap of a shared region) also take the source space's lock,
 * inside their own: so with real locks, do not share regions both ways
 * between two spaces (A into B and B into A), which could deadlock.
 *
 * Interrupts: hk_vm_fault is meant for the page-fault handler (O(log
 * regions + page-table levels), under the lock); the other calls allocate
 * page tables and belong in thread context.
 */
#ifndef HEAPKIT_VM_H
#define HEAPKIT_VM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "heapkit/pages.h"
#include "heapkit/types.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef uint64_t hk_vaddr_t;

/* Protection bits of a region, and access bits of a fault. */
#define HK_VM_READ 1u
#define HK_VM_WRITE 2u
#define HK_VM_EXEC 4u
#define HK_VM_USER 8u /* user mode may access (region) / the access came from user mode (fault) */
#define HK_VM_PROT_MASK 15u

typedef enum {
    HK_VM_IMMEDIATE = 0,
    HK_VM_DEMAND = 1,
    HK_VM_GUARD = 2,
    HK_VM_SHARED = 3, /* only made by hk_vm_share */
    HK_VM_PHYS = 4    /* only made by hk_vm_map_phys */
} hk_vm_kind_t;

/* hk_vm_map flags */
#define HK_VM_FIXED 1u  /* *addr is the exact base, else it is ignored */
#define HK_VM_CONTIG 2u /* HK_VM_IMMEDIATE only: physically contiguous frames */
#define HK_VM_LARGE 4u  /* hk_vm_map_phys only: large pages where alignment allows */

typedef enum {
    HK_VM_FAULT_HANDLED = 0,    /* mapped (or already mapped): retry the access */
    HK_VM_FAULT_NO_REGION = 1,  /* no region holds the address */
    HK_VM_FAULT_PROTECTION = 2, /* the region forbids this access (or is a guard) */
    HK_VM_FAULT_NOMEM = 3       /* no frame (or page-table frame) left */
} hk_vm_fault_t;

/* The page-table port. Every function is called with a page-aligned va.
 *   map    installs va -> pa with prot (replacing any mapping of va);
 *          returns 0 or HK_ENOMEM (no frame for a table) / HK_EINVAL.
 *   unmap  removes the mapping of va (if any).
 *   query  true and *pa, *prot if va is mapped; prot as the hardware can
 *          express it (x86-64 reports READ for every present page).
 *   flush  drops stale translations of [va, va + len) (invlpg, sfence.vma);
 *          may be NULL.
 *   zero   clears len bytes of physical memory at pa (frame aligned).
 *   map_large  optional (NULL: none): installs one leaf of size bytes (one
 *          of large_sizes; va and pa aligned to it); returns 0, HK_ENOMEM,
 *          HK_EINVAL or HK_EBUSY (smaller pages already mapped there). unmap
 *          of any address inside a large leaf removes the whole leaf, and
 *          query of any page inside it answers for that page.
 *   large_sizes  the leaf sizes map_large takes, one bit per size
 *          (e.g. (1 << 21) | (1 << 30)); 0 with map_large NULL. */
typedef struct {
    int (*map)(void *ctx, hk_vaddr_t va, hk_paddr_t pa, unsigned prot);
    void (*unmap)(void *ctx, hk_vaddr_t va);
    bool (*query)(void *ctx, hk_vaddr_t va, hk_paddr_t *pa, unsigned *prot);
    void (*flush)(void *ctx, hk_vaddr_t va, uint64_t len);
    void (*zero)(void *ctx, hk_paddr_t pa, size_t len);
    void *ctx;
    int (*map_large)(void *ctx, hk_vaddr_t va, hk_paddr_t pa, unsigned prot, uint64_t size);
    uint64_t large_sizes;
} hk_vm_port_t;

typedef struct {
    hk_pages_t *pages;  /* frames for regions (page size = its frame size) */
    hk_vm_port_t port;  /* the page tables of this address space */
    hk_vaddr_t lo, hi;  /* regions live in [lo, hi); page aligned, lo < hi */
    bool zero_page;     /* demand read faults map one shared zero frame */
    const hk_lock_t *lock; /* NULL: the caller serialises; copied at init */
} hk_vm_config_t;

typedef struct hk_vm hk_vm_t; /* opaque, lives at the start of the caller's memory */

/* A region as lookup and walk report it. prot is what the region allows:
 * always 0 for a guard region, whatever protection it was mapped with (a
 * guard allows nothing, and reporting the bits it was given would suggest
 * otherwise). phys is the first physical address of an HK_VM_PHYS region
 * and of an HK_VM_CONTIG one, else HK_PADDR_NONE. */
typedef struct {
    hk_vaddr_t base;
    uint64_t length;
    unsigned prot;
    hk_vm_kind_t kind;
    unsigned flags;
    hk_paddr_t phys;
} hk_vm_region_info_t;

typedef struct {
    uint64_t regions;      /* live regions */
    uint64_t mapped_pages; /* pages with a translation, zero-page mappings included */
    uint64_t own_frames;   /* frames this address space owns (freed on unmap) */
    uint64_t faults;       /* hk_vm_fault calls (monotonic) */
    uint64_t demand_maps;  /* faults that mapped a new frame */
    uint64_t zero_maps;    /* read faults that mapped the zero frame */
    uint64_t cow_breaks;   /* writes that replaced the zero frame by a frame */
    uint64_t shared_maps;  /* faults that mapped a frame of another space */
    uint64_t spurious;     /* faults on pages already mapped well enough */
    uint64_t violations;   /* faults that were not handled */
} hk_vm_stats_t;

/* Bytes of memory hk_vm_init needs for an address space that can hold
 * max_regions regions (any alignment of the memory is accepted). */
size_t hk_vm_size(size_t max_regions);

/* Creates an address space in [mem, mem + bytes); the region capacity is
 * whatever fits. With zero_page, one frame is taken from cfg->pages now and
 * zeroed. Returns the handle (inside mem) or NULL, reporting HK_EINVAL (NULL
 * mem, cfg, pages or port function; lo/hi not page aligned or lo >= hi; room
 * for fewer than one region) or HK_ENOMEM (no frame for the zero page). */
hk_vm_t *hk_vm_init(void *mem, size_t bytes, const hk_vm_config_t *cfg);

/* Unmaps every region (frames back to the pages allocator) and releases
 * the zero frame. Returns 0, or HK_EBUSY when a region is still shared into
 * another address space (nothing is released then). */
int hk_vm_destroy(hk_vm_t *as);

/* Page size of the address space (its pages allocator's frame size). */
size_t hk_vm_page_size(const hk_vm_t *as);

/* Makes a region of len bytes (rounded up to pages) with prot and kind.
 * With HK_VM_FIXED, *addr is its page-aligned base; otherwise the lowest free
 * range in [lo, hi) aligned to align (a power of two; 0 means the page size)
 * is used and its base stored in *addr. Immediate regions get zeroed frames
 * now (HK_VM_CONTIG: one contiguous run). Returns 0, HK_EINVAL (NULL, len 0,
 * bad align/prot/kind/flags, misaligned fixed address), HK_ERANGE (outside
 * [lo, hi), or the size overflows), HK_EOVERLAP (fixed range overlaps a
 * region), HK_ENOMEM (no free range, no region slot, or no frames; nothing is
 * left mapped). Errors are also reported. O(regions + pages mapped). */
int hk_vm_map(hk_vm_t *as, hk_vaddr_t *addr, uint64_t len, uint64_t align, unsigned prot,
              hk_vm_kind_t kind, unsigned flags);

/* Maps the physical range [pa, pa + len) at *addr (HK_VM_FIXED) or at the
 * lowest free range aligned to align (0: the page size; give 2 MiB or 1 GiB
 * to make large pages possible), as a region of kind HK_VM_PHYS with prot.
 * len is rounded up to pages; pa must be page aligned. With HK_VM_LARGE
 * every piece of the range whose virtual and physical addresses are both
 * aligned to a size in the port's large_sizes (and long enough) is one large
 * leaf; the rest are normal pages. The frames are the caller's (they need
 * not be managed by the pages allocator): unmap removes the mappings and
 * frees nothing. Returns 0 or an error as for hk_vm_map (HK_EINVAL also for
 * a misaligned pa or a range that wraps). O(regions + leaves mapped). */
int hk_vm_map_phys(hk_vm_t *as, hk_vaddr_t *addr, hk_paddr_t pa, uint64_t len, uint64_t align,
                   unsigned prot, unsigned flags);

/* Removes the region that starts at addr: unmaps its pages, frees the frames
 * it owns, flushes. Returns 0, HK_EINVAL (no region starts at addr) or
 * HK_EBUSY (the region is shared into another address space; unmap the
 * sharers first). O(regions + pages of the region). */
int hk_vm_unmap(hk_vm_t *as, hk_vaddr_t addr);

/* Unmaps every page of [addr, addr + len) (len rounded up to pages), like
 * munmap: regions wholly inside go, regions that straddle an end are cut
 * there and keep their outside part (with its frames and mappings); holes
 * in the range are fine. Returns 0, HK_EINVAL (addr not page aligned, len 0,
 * or the cut would fall inside a shared, physical or contiguous region:
 * those go whole or not at all), HK_ERANGE (the range wraps), HK_EBUSY (a
 * region in the range is shared into another space) or HK_ENOMEM (no free
 * region slot for a cut: unmapping the middle of a region makes two); on
 * error nothing changes. O(regions + pages of the range's regions). */
int hk_vm_unmap_range(hk_vm_t *as, hk_vaddr_t addr, uint64_t len);

/* Changes the protection of [addr, addr + len) to prot, like mprotect:
 * regions that straddle an end are cut there, the mapped pages inside are
 * remapped with prot (the zero frame stays read-only) and flushed. The
 * range must be covered by regions without holes. Returns 0, HK_EINVAL (as
 * for hk_vm_unmap_range; also unknown bits, no access bit, a guard region,
 * or a shared region asking for more than its source allows), HK_EFAULT (a
 * hole in the range), HK_ERANGE, HK_EBUSY (a region of the range is shared
 * out), HK_ENOMEM (no region slot); on error nothing changes.
 * O(regions + pages of the range's regions). */
int hk_vm_protect(hk_vm_t *as, hk_vaddr_t addr, uint64_t len, unsigned prot);

/* Shares the region of src that starts at src_addr into dst, as a region of
 * kind HK_VM_SHARED with prot (a subset of the source's), at *dst_addr
 * (HK_VM_FIXED) or anywhere. Both see the same frames: a fault in dst maps
 * the source's frame, faulting it in first when needed (never the zero
 * frame, so both always agree). Returns 0 or an error as for hk_vm_map;
 * HK_EINVAL also when src == dst, or the source is itself shared or a guard. */
int hk_vm_share(hk_vm_t *src, hk_vaddr_t src_addr, hk_vm_t *dst, hk_vaddr_t *dst_addr,
                unsigned prot, unsigned flags);

/* Handles a page fault at addr for an access (HK_VM_READ, HK_VM_WRITE or
 * HK_VM_EXEC, plus HK_VM_USER for a user-mode access). Returns
 * HK_VM_FAULT_HANDLED when the page is now mapped so that the access can be
 * retried, otherwise the reason; a violation changes nothing and is counted,
 * not reported (it is the program's fault, not heapkit misuse).
 * O(log regions + page-table levels). Async-signal-safe when the port is. */
hk_vm_fault_t hk_vm_fault(hk_vm_t *as, hk_vaddr_t addr, unsigned access);

/* A static name for a fault result ("no region", "protection", ...). */
const char *hk_vm_fault_name(hk_vm_fault_t r);

/* Fills *out with the region holding addr. Returns 0 or HK_EFAULT. */
int hk_vm_lookup(const hk_vm_t *as, hk_vaddr_t addr, hk_vm_region_info_t *out);

/* Calls fn for every region in address order; fn must not call into as. */
typedef void (*hk_vm_walk_fn)(const hk_vm_region_info_t *r, void *ctx);
void hk_vm_walk(const hk_vm_t *as, hk_vm_walk_fn fn, void *ctx);

/* The physical address the zero frame, or HK_PADDR_NONE without one. */
hk_paddr_t hk_vm_zero_frame(const hk_vm_t *as);

void hk_vm_get_stats(const hk_vm_t *as, hk_vm_stats_t *out);

/* Checks the address space against its page tables: regions sorted, inside
 * [lo, hi) and disjoint; every page of an immediate region mapped with the
 * region's write permission; demand pages unmapped, or mapped to a frame, or
 * to the zero frame read-only; guard pages unmapped; the mapped-page and
 * frame counters agree with the walk; every shared region has its source
 * (same length, marked shared) and agrees with it page by page. Returns 0 or
 * HK_ECORRUPT (reported). O(pages spanned by regions). */
int hk_vm_validate(const hk_vm_t *as);

#ifdef __cplusplus
}
#endif

#endif /* HEAPKIT_VM_H */
