/* SPDX-License-Identifier: MIT */
/*
 * heapkit/vm_linux.h - the hosted hk_vm back end: real demand paging in a
 * Linux process, using the real MMU (library heapkit_linux).
 *
 *   virtual memory   one range reserved with mmap(PROT_NONE, MAP_NORESERVE);
 *                    hk_vm regions live inside it
 *   physical memory  a memfd of phys_bytes; a "frame" is a page-sized offset
 *                    in it, handed out by an hk_pages allocator
 *   map / unmap      mmap(MAP_SHARED | MAP_FIXED) of the frame's offset at the
 *                    page; unmap puts PROT_NONE reserved memory back
 *   query            a shadow table, one word per page of the range (the
 *                    kernel does not tell a process its page tables)
 *   faults           a SIGSEGV handler (hk_vm_linux_install) that calls
 *                    hk_vm_fault for addresses inside a registered range and
 *                    returns, so the faulting instruction runs again; any
 *                    other fault goes to the handler that was there before
 *                    (or kills the process as SIGSEGV would)
 *
 * The access kind comes from the x86 page-fault error code when there is one
 * (x86-64, i386); elsewhere a fault on a page that is already mapped must
 * have been a write, so a write to an untouched demand page costs two
 * faults there (zero frame, then its own frame) instead of one.
 *
 * All memory (control block, page-allocator metadata, shadow table) comes
 * from mmap; the library never calls malloc. Thread safety: the handler and
 * the calls below assume one thread touches a range at a time (give the
 * address space no lock: a lock taken in a signal handler can deadlock).
 */
#ifndef HEAPKIT_VM_LINUX_H
#define HEAPKIT_VM_LINUX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "heapkit/pages.h"
#include "heapkit/vm.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct hk_vm_linux hk_vm_linux_t;

typedef struct {
    size_t va_bytes;    /* size of the reserved virtual range (rounded up to pages) */
    size_t phys_bytes;  /* size of the memfd "physical memory" (ignored with phys_from) */
    size_t max_regions; /* region capacity of the address space; 0 means 64 */
    bool zero_page;     /* demand read faults map one shared zero frame */
    /* Optional: use the physical memory (memfd and page allocator) of another
     * instance, so hk_vm_share works between the two address spaces. That
     * instance must outlive this one. */
    hk_vm_linux_t *phys_from;
} hk_vm_linux_config_t;

/* Creates the address space. Returns NULL (reported: HK_EINVAL for a NULL or
 * zero-sized config, HK_ENOMEM when a system call fails or more than 8
 * instances exist). */
hk_vm_linux_t *hk_vm_linux_create(const hk_vm_linux_config_t *cfg);

/* Unmaps everything, releases the range, the memfd and the metadata.
 * Returns 0, or HK_EBUSY (a region is still shared, or another instance
 * uses this one's physical memory). */
int hk_vm_linux_destroy(hk_vm_linux_t *lv);

/* Installs the process-wide SIGSEGV handler (idempotent). Returns 0 or
 * HK_ENOTSUP when sigaction fails. */
int hk_vm_linux_install(void);

/* Restores the SIGSEGV handler that was there before hk_vm_linux_install. */
void hk_vm_linux_uninstall(void);

hk_vm_t *hk_vm_linux_vm(hk_vm_linux_t *lv);
hk_pages_t *hk_vm_linux_pages(hk_vm_linux_t *lv);
/* The start of the reserved range (hk_vm's lo) as a pointer. */
void *hk_vm_linux_base(const hk_vm_linux_t *lv);
/* SIGSEGVs this instance's handler resolved (monotonic). */
uint64_t hk_vm_linux_signals(const hk_vm_linux_t *lv);

#ifdef __cplusplus
}
#endif

#endif /* HEAPKIT_VM_LINUX_H */
