/* SPDX-License-Identifier: MIT */
/*
 * vm_demo.c - real demand paging in a Linux process with heapkit:
 * a memfd plays physical memory, hk_pages hands out its frames, hk_vm keeps
 * the regions, and a SIGSEGV handler maps each page on first touch.
 */
#include <stdio.h>

#include "heapkit/vm.h"
#include "heapkit/vm_kheap.h"
#include "heapkit/vm_linux.h"

int main(void)
{
    hk_vm_linux_config_t c = {0};
    c.va_bytes = 256u << 20;  /* 256 MiB of address space */
    c.phys_bytes = 64u << 20; /* 64 MiB of "physical" memory */
    c.zero_page = true;
    hk_vm_linux_t *lv = hk_vm_linux_create(&c);
    if (!lv || hk_vm_linux_install() != 0)
        return 1;
    hk_vm_t *vm = hk_vm_linux_vm(lv);

    /* 100 MiB of demand memory costs nothing until it is touched */
    hk_vaddr_t a = 0;
    hk_vm_map(vm, &a, 100u << 20, 0, HK_VM_READ | HK_VM_WRITE, HK_VM_DEMAND, 0);
    char *p = (char *)(uintptr_t)a;
    for (int i = 0; i < 1000; i++)
        p[(size_t)i * 4096u] = (char)i; /* 1000 page faults, handled */
    long zeros = 0;
    for (int i = 1000; i < 2000; i++)
        zeros += p[(size_t)i * 4096u] == 0; /* reads map the one zero frame */

    /* a kernel-style heap that grows by mapping more pages */
    hk_kheap_config_t kc = {0};
    kc.vm = vm;
    kc.kind = HK_VM_DEMAND;
    hk_kheap_t *kh = hk_kheap_create(&kc);
    for (int i = 0; kh && i < 10000; i++)
        hk_heap_alloc(hk_kheap_heap(kh), 100);

    hk_vm_stats_t st;
    hk_vm_get_stats(vm, &st);
    printf("faults %llu: %llu new frames, %llu zero-frame maps; %ld zero pages read\n",
           (unsigned long long)st.faults, (unsigned long long)st.demand_maps,
           (unsigned long long)st.zero_maps, zeros);
    printf("kernel heap: %u regions, %llu KiB mapped; frames in use %llu of %llu\n",
           kh ? hk_kheap_regions(kh) : 0u,
           (unsigned long long)(kh ? hk_kheap_mapped_bytes(kh) >> 10 : 0u),
           (unsigned long long)(hk_pages_total_frames(hk_vm_linux_pages(lv)) -
                                hk_pages_free_frames(hk_vm_linux_pages(lv))),
           (unsigned long long)hk_pages_total_frames(hk_vm_linux_pages(lv)));
    if (kh)
        hk_kheap_destroy(kh);
    return hk_vm_linux_destroy(lv) == 0 ? 0 : 1;
}
