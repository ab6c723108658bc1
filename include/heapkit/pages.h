/* SPDX-License-Identifier: MIT */
/*
 * heapkit/pages.h - the physical page-frame allocator (a binary buddy system).
 *
 * A kernel hands hk_pages its firmware memory map (a list of {base, length,
 * type} with 64-bit addresses: holes below 1 MiB, reserved ranges above
 * 4 GiB) and a list of ranges it must never give out (the kernel image, the
 * initrd, the boot page tables). hk_pages then manages the usable frames left
 * over: it allocates naturally aligned blocks of 2^order frames, contiguous
 * runs of any number of frames, and specific ranges on request (claim).
 *
 * hk_pages never reads or writes the frames it manages; all of its state sits
 * in a separate metadata block: a control structure, one descriptor per
 * usable area and 9 bytes per frame (two 32-bit free-list links and one
 * state byte). With 4 KiB frames that is 2.25 MiB per GiB of usable memory
 * (0.22 %). The metadata lives either in a buffer the caller gives
 * (hk_pages_config_t.meta) or, when meta is NULL, in frames carved from the
 * start of the first usable area big enough, which the caller must be able to
 * address at phys + direct_map (the kernel's direct map of physical memory).
 *
 * Addresses are hk_paddr_t (64-bit on every target, so a 32-bit kernel with
 * PAE or a 32-bit simulator can describe memory above 4 GiB). A failed
 * allocation returns HK_PADDR_NONE, never 0: physical address 0 is a valid
 * frame on most machines.
 *
 * Complexity: alloc, free and claim of one block are O(HK_PAGES_ORDERS +
 * log areas) (an area is a run of usable frames between holes: a handful on
 * real machines); a run of n frames is O(HK_PAGES_ORDERS * log n) when a
 * block of the next power of two is free, else O(blocks); init is
 * O(frames) (it builds the free lists) plus O(m^3) in the number of map
 * entries m (m is small). Measured: about 120 instructions per alloc and 190
 * per free (x86-64, scripts/stages/60-vm-costs.sh).
 *
 * Thread safety: none unless a lock is given in the configuration; then
 * every function below that takes a hk_pages_t runs under that lock.
 *
 * Interrupts: alloc and free walk at most HK_PAGES_ORDERS orders and never
 * block; from an interrupt handler only with a lock that masks it (a page
 * fault handler in a kernel usually runs with interrupts masked already).
 */
#ifndef HEAPKIT_PAGES_H
#define HEAPKIT_PAGES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "heapkit/types.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The largest block order: blocks of up to 2^HK_PAGES_MAX_ORDER frames (1 GiB
 * with 4 KiB frames at the default 18, so 1 GiB huge pages can be backed).
 * Each order costs one list head and one counter; a smaller value shortens the
 * worst case of alloc/free (which walk the orders). */
#ifndef HK_PAGES_MAX_ORDER
#define HK_PAGES_MAX_ORDER 18
#endif
#define HK_PAGES_ORDERS (HK_PAGES_MAX_ORDER + 1)
HK_STATIC_ASSERT(HK_PAGES_MAX_ORDER >= 0 && HK_PAGES_MAX_ORDER <= 30,
                 "HK_PAGES_MAX_ORDER must be 0..30");

typedef uint64_t hk_paddr_t;
#define HK_PADDR_NONE ((hk_paddr_t)UINT64_MAX)

/* Memory map entry types (the multiboot / e820 numbering). Only
 * HK_MEM_USABLE memory is ever handed out; every other type is treated as
 * reserved and wins where it overlaps a usable entry. */
#define HK_MEM_USABLE 1u
#define HK_MEM_RESERVED 2u
#define HK_MEM_ACPI 3u
#define HK_MEM_NVS 4u
#define HK_MEM_BAD 5u

typedef struct {
    uint64_t base;
    uint64_t length;
    uint32_t type;
} hk_mem_range_t;

typedef struct hk_pages hk_pages_t; /* opaque, lives at the start of the metadata */

typedef struct {
    const hk_mem_range_t *map; /* the firmware map, any order, may overlap */
    size_t map_len;
    const hk_mem_range_t *reserved; /* never handed out (type ignored); may be NULL */
    size_t reserved_len;
    size_t frame_size; /* a power of two >= 64; 0 means 4096 */
    void *meta;        /* metadata buffer, any alignment; NULL: carve (below) */
    size_t meta_size;
    /* Only when meta is NULL: the metadata is carved from the first usable
     * area that holds it and accessed at (uintptr_t)phys + direct_map. */
    uintptr_t direct_map;
    const hk_lock_t *lock; /* NULL: the caller serialises; copied at init */
} hk_pages_config_t;

/* Bytes of metadata hk_pages_init needs for cfg (its map, reserved list and
 * frame size; meta is ignored), including alignment slack for a buffer of any
 * alignment. Returns 0 if the configuration is invalid or nothing is usable.
 * O(m^3) in the number of map entries. */
size_t hk_pages_meta_size(const hk_pages_config_t *cfg);

/* Builds the allocator. Every usable frame (usable in the map, not covered by
 * a non-usable entry or a reserved range, trimmed to whole frames) starts
 * free, except the frames that hold the metadata when it is carved. An entry
 * whose end reaches or wraps past 2^64 ends at 2^64, and its last frame is
 * managed (frame 0xfffff of a 4 KiB map is usable); an entry ending at
 * UINT64_MAX leaves that top frame partial, so not managed. Returns
 * the allocator (inside the metadata) or NULL, reporting through the error
 * hook: HK_EINVAL (NULL cfg or map, bad frame size, nothing usable),
 * HK_ENOMEM (meta_size too small, or no usable area can hold the carved
 * metadata), HK_ERANGE (more than 2^32 - 2 frames). O(frames). */
hk_pages_t *hk_pages_init(const hk_pages_config_t *cfg);

/* The frame size in bytes. */
size_t hk_pages_frame_size(const hk_pages_t *p);

/* Allocates a block of 2^order frames aligned to its own size (in physical
 * address space). Returns its address or HK_PADDR_NONE (no block that large
 * is free; order above HK_PAGES_MAX_ORDER is reported as HK_ERANGE).
 * O(HK_PAGES_ORDERS). */
hk_paddr_t hk_pages_alloc(hk_pages_t *p, unsigned order);

/* Frees a block from hk_pages_alloc with the same order. An address that is
 * not the start of a live block of that order (foreign, misaligned, interior,
 * wrong order, already free) is reported (HK_EBADPTR, HK_EDOUBLEFREE) and
 * nothing changes; so is a block of a run or claimed range (HK_EBADPTR: free
 * those with hk_pages_free_run, even when n is a power of two). Merges with
 * free buddies. O(HK_PAGES_ORDERS). */
void hk_pages_free(hk_pages_t *p, hk_paddr_t addr, unsigned order);

/* Allocates exactly n contiguous frames (n >= 1), aligned to the frame size
 * only. First the cheap way: a free block of the next power of two whose tail
 * is given back at once (like Linux's alloc_pages_exact), O(HK_PAGES_ORDERS *
 * log n). When no such block is free, the lowest n contiguous free frames of
 * any area, which may span several free blocks (O(blocks) walk). So a run
 * succeeds whenever n contiguous frames are free, aligned or not, and n may
 * exceed 2^HK_PAGES_MAX_ORDER. Returns the first frame's address or
 * HK_PADDR_NONE, counted in failed_allocs. Reported: n 0 (HK_EINVAL), n
 * longer than every usable area, so it can never succeed (HK_ERANGE, for
 * every such n alike); not reported: no run that long is free now (like an
 * hk_pages_alloc that finds no block). Free with hk_pages_free_run and the
 * same n. */
hk_paddr_t hk_pages_alloc_run(hk_pages_t *p, size_t n);

/* Frees the n frames at addr of one run from hk_pages_alloc_run or one range
 * from hk_pages_claim, with the n it was made with: every run records its
 * start and length. Reported, and nothing changes: an n other than the run's,
 * smaller or larger (HK_EBADPTR, "wrong n?"), an address inside a run, a
 * block from hk_pages_alloc (HK_EBADPTR: free it with hk_pages_free),
 * frames already free (HK_EDOUBLEFREE), a foreign or misaligned address
 * (HK_EBADPTR), a damaged run record (HK_ECORRUPT). O(HK_PAGES_ORDERS *
 * log n). */
void hk_pages_free_run(hk_pages_t *p, hk_paddr_t addr, size_t n);

/* Takes the specific frames [addr, addr + n * frame_size) out of the free
 * pool (for a DMA window, a framebuffer found late, a page table the boot
 * loader built). Returns 0, HK_EINVAL (misaligned, n 0, or the range wraps
 * past 2^64: checked before anything else), HK_EFAULT (some frame is not
 * managed by this allocator) or HK_EBUSY (some frame is already allocated);
 * on error nothing changes. HK_EINVAL and HK_EFAULT are reported, HK_EBUSY
 * is not. Free with hk_pages_free_run and the same n.
 * O(n_blocks * HK_PAGES_ORDERS). */
int hk_pages_claim(hk_pages_t *p, hk_paddr_t addr, size_t n);

/* True when addr is a managed frame that is currently free. */
bool hk_pages_is_free(const hk_pages_t *p, hk_paddr_t addr);

/* Free blocks per order, like Linux's /proc/buddyinfo: counts[k] is the
 * number of free blocks of 2^k frames. counts has HK_PAGES_ORDERS entries. */
void hk_pages_buddyinfo(const hk_pages_t *p, size_t counts[HK_PAGES_ORDERS]);

/* Frame counts: managed, free (exact on every target, unlike the byte
 * figures of hk_stats_t, which saturate at SIZE_MAX on 32-bit targets). */
uint64_t hk_pages_total_frames(const hk_pages_t *p);
uint64_t hk_pages_free_frames(const hk_pages_t *p);

/* Statistics in bytes in the shared shape: a "block" is one allocation
 * (a buddy block, a run or a claimed range counts as the aligned blocks it is
 * made of); largest_free is the largest block one hk_pages_alloc would get;
 * requested counts frames asked for. The carved metadata counts as used.
 * O(HK_PAGES_ORDERS). */
void hk_pages_get_stats(const hk_pages_t *p, hk_stats_t *out);

/* Walks every frame: block heads and tails agree, blocks are aligned and
 * inside their area, every free block is on the list of its order exactly
 * once and nothing else is, no two free buddies are left unmerged, every
 * run record names a live run head, the counters agree with a recount.
 * Returns 0, HK_EINVAL (reported) when p is NULL or not an initialised
 * allocator (a bad handle), or HK_ECORRUPT (reported with the reason) for
 * damaged state. O(frames). */
int hk_pages_validate(const hk_pages_t *p);

#ifdef __cplusplus
}
#endif

#endif /* HEAPKIT_PAGES_H */
