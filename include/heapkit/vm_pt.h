/* SPDX-License-Identifier: MIT */
/*
 * heapkit/vm_pt.h - page tables in the real hardware formats, as hk_vm port
 * back ends:
 *   HK_PT_X86_64  x86-64 four-level paging (PML4, PDPT, PD, PT; 48-bit
 *                 canonical virtual addresses; Intel SDM vol. 3A, 4.5)
 *   HK_PT_SV39    RISC-V Sv39 (three levels, 39-bit virtual addresses;
 *                 RISC-V privileged spec, 4.4)
 * Both map 4 KiB pages, and 2 MiB and 1 GiB large pages through the port's
 * map_large (x86-64 PS bit in the PD and PDPT; Sv39 megapages and
 * gigapages). 1 GiB pages on x86-64 need CPUID pdpe1gb: clear
 * HK_PT_LARGE_1G from large_sizes before hk_pt_port when it is missing. Table frames come from an hk_pages allocator and are
 * read and written at phys + direct_map: in a kernel that is its direct map
 * of physical memory; in host tests it points at an array that plays
 * physical memory. Entries are stored as native 64-bit words (on a
 * big-endian host the simulated tables are big-endian; on the real little-
 * endian machines they are exactly what the MMU reads).
 *
 * Entry bits written (x86-64): leaf P | RW if writable | US if user | NX if
 * not executable (needs EFER.NXE); tables P | RW | US (the leaf decides).
 * Sv39: leaf V | R | W | X | U as asked (W implies R, the spec reserves W
 * without R) | A | D (set up front so no A/D fault is ever taken); tables V.
 *
 * Empty tables are freed as soon as their last entry is removed, so after
 * unmapping everything only the root table is left; hk_pt_destroy frees it.
 *
 * Thread safety: none; hk_vm serialises calls through its lock.
 */
#ifndef HEAPKIT_VM_PT_H
#define HEAPKIT_VM_PT_H

#include <stdint.h>

#include "heapkit/pages.h"
#include "heapkit/vm.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum { HK_PT_X86_64 = 0, HK_PT_SV39 = 1 } hk_pt_format_t;

#define HK_PT_LARGE_2M ((uint64_t)1 << 21)
#define HK_PT_LARGE_1G ((uint64_t)1 << 30)

/* A page-table tree. Fill it with hk_pt_init; the fields are private. */
typedef struct {
    hk_pt_format_t format;
    hk_pages_t *pages;
    uintptr_t direct_map;
    hk_paddr_t root;
    uint64_t tables; /* table frames in use, root included */
    uint64_t leaves; /* leaf entries present */
    /* Optional: invalidates the TLB for [va, va + len) (invlpg; sfence.vma);
     * NULL in host tests. */
    void (*flush_hook)(void *ctx, hk_vaddr_t va, uint64_t len);
    void *flush_ctx;
    uint64_t flushes; /* flush calls (monotonic) */
    /* Large leaf sizes offered through the port (HK_PT_LARGE_2M | _1G after
     * hk_pt_init); a kernel may clear bits before calling hk_pt_port. */
    uint64_t large_sizes;
} hk_pt_t;

/* Creates an empty tree (a zeroed root table). pages must have 4 KiB
 * frames. Returns 0, HK_EINVAL (NULL, bad format, frame size not 4096) or
 * HK_ENOMEM (no frame for the root). */
int hk_pt_init(hk_pt_t *pt, hk_pt_format_t format, hk_pages_t *pages, uintptr_t direct_map);

/* Fills *out with the port functions for hk_vm_config_t.port (map_large
 * and large_sizes from pt->large_sizes). */
void hk_pt_port(hk_pt_t *pt, hk_vm_port_t *out);

/* The physical address of the root table (CR3 without flags on x86-64). */
hk_paddr_t hk_pt_root(const hk_pt_t *pt);

/* The satp value that enables this tree on RISC-V: MODE = 8 (Sv39), the
 * ASID, and the root's PPN. 0 for an x86-64 tree. */
uint64_t hk_pt_satp(const hk_pt_t *pt, uint16_t asid);

/* True when va is a canonical address the format can map (x86-64: bits 63..47
 * equal; Sv39: bits 63..38 equal). */
bool hk_pt_canonical(const hk_pt_t *pt, hk_vaddr_t va);

/* Frees every table frame (leaf frames belong to hk_vm and are not freed).
 * Returns 0 or HK_EBUSY when leaves are still mapped (nothing is freed). */
int hk_pt_destroy(hk_pt_t *pt);

#ifdef __cplusplus
}
#endif

#endif /* HEAPKIT_VM_PT_H */
