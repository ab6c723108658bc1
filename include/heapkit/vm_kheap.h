/* SPDX-License-Identifier: MIT */
/*
 * heapkit/vm_kheap.h - a kernel heap: an hk_heap whose memory comes from an
 * hk_vm address space, a few pages at a time.
 *
 * hk_kheap_create maps a first region (immediate by default) in the address
 * space, keeps its own small record at the start of it and builds an hk_heap
 * in the rest. When the heap runs out, its growth hook maps another region
 * of at least what the failed allocation needs (and at least grow_min) and
 * hands it to the heap, up to max_bytes in all (the number of regions is
 * limited only by max_bytes and the address space's region slots; each
 * later region starts with a two-address link that keeps the list of regions). hk_kheap_destroy unmaps
 * every region, so all frames go back to the page allocator.
 *
 * The heap writes into the memory it gets, so the addresses must be usable
 * by the CPU running the heap: in a kernel the address space is the active
 * one (access may be NULL); in a hosted process with heapkit/vm_linux.h the
 * same holds. To run over a simulated page table, give an access hook that
 * turns a virtual address into a host pointer (and HK_VM_CONTIG so a region
 * is contiguous in simulated physical memory too).
 *
 * Thread safety: as hk_heap (give the heap a lock); growth takes the
 * address space's lock inside the heap's.
 *
 * Interrupts: as hk_heap, except that a growth step maps pages through
 * hk_vm (allocating page tables): not from an ISR unless the heap never
 * needs to grow.
 */
#ifndef HEAPKIT_VM_KHEAP_H
#define HEAPKIT_VM_KHEAP_H

#include <stddef.h>
#include <stdint.h>

#include "heapkit/heap.h"
#include "heapkit/vm.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Turns [va, va + len) of the address space into a pointer the CPU can use;
 * NULL if it cannot. */
typedef void *(*hk_kheap_access_fn)(void *ctx, hk_vaddr_t va, size_t len);

typedef struct {
    hk_vm_t *vm;
    size_t initial;   /* bytes of the first region; 0 means 16 pages */
    size_t grow_min;  /* least bytes per growth step; 0 means 16 pages */
    size_t max_bytes; /* cap on all regions together; 0 means no cap */
    hk_vm_kind_t kind; /* HK_VM_IMMEDIATE (default) or HK_VM_DEMAND */
    unsigned flags;    /* hk_vm_map flags for every region (HK_VM_CONTIG) */
    hk_kheap_access_fn access; /* NULL: the virtual address is the pointer */
    void *access_ctx;
    const hk_heap_config_t *heap; /* fit policy, lock; NULL for defaults */
} hk_kheap_config_t;

typedef struct hk_kheap hk_kheap_t; /* lives at the start of the first region */

/* Creates the kernel heap. Returns NULL (reported) when cfg or vm is NULL,
 * the kind is not immediate or demand, the first region cannot be mapped, or
 * it is too small for the heap. */
hk_kheap_t *hk_kheap_create(const hk_kheap_config_t *cfg);

/* The heap to allocate from (hk_heap_alloc / hk_heap_free ...). */
hk_heap_t *hk_kheap_heap(hk_kheap_t *kh);

/* Regions mapped so far (the first included) and their total bytes. */
unsigned hk_kheap_regions(const hk_kheap_t *kh);
uint64_t hk_kheap_mapped_bytes(const hk_kheap_t *kh);

/* Unmaps every region of the heap (all its blocks die with it). Returns 0
 * or the first hk_vm_unmap error. */
int hk_kheap_destroy(hk_kheap_t *kh);

#ifdef __cplusplus
}
#endif

#endif /* HEAPKIT_VM_KHEAP_H */
