/* SPDX-License-Identifier: MIT */
/*
 * vm_fault_cost.c - what a demand page costs in the hosted back end
 * (heapkit/vm_linux.h), as ratios measured in one run:
 *   A  touch N pages already mapped                  (no fault: the floor)
 *   B  touch N pages of a fresh anonymous mmap        (the kernel's own
 *                                                      demand paging)
 *   C  touch N pages of an hk_vm demand region        (SIGSEGV -> handler ->
 *                                                      hk_vm_fault -> mmap)
 * It prints C/B and C/A. For the user-space part of C alone (hk_vm_fault and
 * the port, without the kernel's signal delivery) count instructions:
 *     valgrind --tool=callgrind ./hk_example_vm_fault_cost 2000 direct
 *     callgrind_annotate --inclusive=yes callgrind.out.* | grep hk_vm_fault
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>

#include "heapkit/vm.h"
#include "heapkit/vm_linux.h"

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static double touch(volatile char *p, size_t n, size_t ps)
{
    double t0 = now();
    for (size_t i = 0; i < n; i++)
        p[i * ps] = 1;
    return now() - t0;
}

int main(int argc, char **argv)
{
    size_t n = argc > 1 ? strtoul(argv[1], NULL, 10) : 20000u;
    hk_vm_linux_config_t c = {0};
    c.va_bytes = (n + 16u) * 4096u;
    c.phys_bytes = (n + 16u) * 4096u;
    c.zero_page = true;
    hk_vm_linux_t *lv = hk_vm_linux_create(&c);
    if (!lv || hk_vm_linux_install() != 0)
        return 1;
    hk_vm_t *vm = hk_vm_linux_vm(lv);
    size_t ps = hk_vm_page_size(vm);
    hk_vaddr_t a = 0;
    if (hk_vm_map(vm, &a, n * ps, 0, HK_VM_READ | HK_VM_WRITE, HK_VM_DEMAND, 0) != 0)
        return 1;
    if (argc > 2 && argv[2][0] == 'd') {
        /* "vm_fault_cost N direct": call the fault handler for each page as
         * the SIGSEGV handler would, without the signal (for callgrind, which
         * counts user-space instructions only and whose signal emulation does
         * not cope with pages mapped from inside a handler) */
        for (size_t i = 0; i < n; i++)
            if (hk_vm_fault(vm, a + i * ps, HK_VM_WRITE) != HK_VM_FAULT_HANDLED)
                return 1;
        printf("vm_fault_cost: %zu pages, %zu hk_vm faults (direct)\n", n, n);
        return hk_vm_linux_destroy(lv);
    }
    char *anon = mmap(NULL, n * ps, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (anon == MAP_FAILED)
        return 1;
    double tb = touch(anon, n, ps);
    double tc = touch((volatile char *)(uintptr_t)a, n, ps);
    double ta = touch(anon, n, ps); /* now mapped */
    hk_vm_stats_t st;
    hk_vm_get_stats(vm, &st);
    printf("vm_fault_cost: %zu pages, %llu hk_vm faults\n", n, (unsigned long long)st.faults);
    printf("  hk_vm demand fault / kernel anonymous fault = %.2f\n", tc / tb);
    printf("  hk_vm demand fault / touching a mapped page = %.0f\n", tc / ta);
    munmap(anon, n * ps);
    return hk_vm_linux_destroy(lv);
}
