/* SPDX-License-Identifier: MIT */
/*
 * kernel.h - the contract between heapkit's two test kernels (x86-64 and
 * RISC-V Sv39) and the programme they share (ktest.c).
 *
 * The architecture part boots, finds physical memory, takes traps and
 * enters user mode; the shared part does everything heapkit does in a
 * kernel: hk_pages from the firmware's map, the kernel address space on
 * hk_vm + hk_pt, the page-fault policy (hk_vm_fault, oops with recovery,
 * killing a user task), the kernel heaps, the user task with its syscalls,
 * and the checks, each printed as "ok" or "FAIL" with the figures.
 *
 * Recovery from a fault that is not handled uses GCC's __builtin_setjmp /
 * __builtin_longjmp (five words, no C library): the trap handler jumps out
 * of the trap frame back to the test or the task launcher that armed it.
 * That is sound here because both kernels run with interrupts off on one
 * hart, and no lock is held across a faulting access.
 */
#ifndef HK_KERNEL_H
#define HK_KERNEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "heapkit/pages.h"
#include "heapkit/vm.h"
#include "heapkit/vm_pt.h"

/* ---- provided by the architecture ------------------------------------- */

typedef struct {
    const char *name;            /* "x86-64", "riscv64 Sv39" */
    hk_pt_format_t format;
    const hk_mem_range_t *map;   /* the firmware memory map */
    size_t map_len;
    const hk_mem_range_t *reserved; /* kernel image, boot tables, FDT ... */
    size_t reserved_len;
    uintptr_t boot_direct_map;   /* virt - phys while still on the boot tables
                                  * (hk_pages carves its metadata through it) */
    uint64_t dm_offset;          /* virt - phys in the kernel's direct map */
    hk_vaddr_t kspace_lo, kspace_hi; /* the kernel hk_vm */
    hk_vaddr_t user_lo, user_hi;     /* every user hk_vm */
    /* the image's sections (inside [kspace_lo, kspace_hi)): virtual start,
     * physical start, bytes, prot */
    struct { hk_vaddr_t va; hk_paddr_t pa; uint64_t len; unsigned prot; } image[4];
    unsigned image_n;
    uint64_t large_sizes;        /* large leaves the CPU offers */
    /* top-level entries a user tree shares with the kernel tree */
    unsigned share_first, share_last;
} karch_t;

void hk_port_write(const char *s, size_t n);
_Noreturn void arch_exit(bool pass);
void arch_set_root(const hk_pt_t *pt);             /* CR3 / satp + sfence */
void arch_map_devices(hk_vm_t *kvm);               /* MMIO the kernel needs, before the switch */
void arch_flush(void *ctx, hk_vaddr_t va, uint64_t len); /* invlpg / sfence.vma */
uint64_t arch_counter(void);                       /* rdtsc / rdinstret */
bool arch_nx_enabled(void);                        /* EFER.NXE (x86); true on Sv39 */
/* Enters user mode at entry with the stack sp and two arguments; returns
 * only through kernel_task_return (an exit syscall or a kill). */
void arch_enter_user(hk_vaddr_t entry, hk_vaddr_t sp, uint64_t a0, uint64_t a1);
/* the user programme (position-independent code) */
extern const unsigned char user_blob[], user_blob_end[];

/* ---- provided by ktest.c ------------------------------------------------- */

#define SYS_EXIT 1
#define SYS_SBRK 2 /* a0 pages: maps them at the heap end, returns the old end */
#define SYS_PUTS 3 /* a0 string (user address), unused by the blob */

/* The architecture's trap handler calls these. kernel_fault returns true
 * when the access may be retried; otherwise it does not return (oops
 * recovery, task kill, or a fatal stop with the address and instruction). */
bool kernel_fault(hk_vaddr_t addr, unsigned access, uintptr_t ip);
uint64_t kernel_syscall(uint64_t nr, uint64_t a0);
_Noreturn void kernel_fatal(const char *what, uintptr_t ip, uint64_t addr, uint64_t code);

_Noreturn void kernel_main(const karch_t *a);

/* printing (no printf: usable in a trap handler) */
void kputs(const char *s);
void kput_hex(uint64_t v);
void kput_dec(uint64_t v);

#endif /* HK_KERNEL_H */
