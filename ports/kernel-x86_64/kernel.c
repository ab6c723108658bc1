/* SPDX-License-Identifier: MIT */
/*
 * kernel.c - heapkit's x86-64 test kernel, the architecture part: COM1
 * console, isa-debug-exit, the Multiboot memory map, GDT + TSS + IDT, the
 * trap dispatcher (#PF -> kernel_fault with CR2 and the error code, int 0x80
 * -> kernel_syscall), CR3 and invlpg. Everything heapkit does is in
 * ports/kernel-common/ktest.c.
 *
 * Address space (x86-64, 48-bit):
 *   0x0000000000400000 .. 0x0000800000000000  user (one hk_vm per task)
 *   0xffff800000000000 ..                     direct map of physical memory
 *                                             (1 GiB pages where aligned),
 *                                             then the kernel's own regions
 *   0xffffffff80000000 + phys                 the kernel image (-mcmodel=kernel)
 * A user tree shares the kernel half by copying PML4 entries 256..511.
 */
#include <stdint.h>

#include "kernel.h"

#define KERNEL_VMA 0xffffffff80000000ull
#define DIRECT_MAP 0xffff800000000000ull

static inline void outb(uint16_t port, uint8_t v) { __asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port)); }
static inline uint8_t inb(uint16_t port)
{
    uint8_t v;
    __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
    return v;
}

#define COM1 0x3F8
static void serial_init(void)
{
    outb(COM1 + 1, 0x00);
    outb(COM1 + 3, 0x80);
    outb(COM1 + 0, 0x01);
    outb(COM1 + 1, 0x00);
    outb(COM1 + 3, 0x03);
    outb(COM1 + 2, 0xC7);
}

void hk_port_write(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        while (!(inb(COM1 + 5) & 0x20)) {
        }
        outb(COM1, (uint8_t)s[i]);
    }
}

/* isa-debug-exit at 0xf4: QEMU exits with (value << 1) | 1: 33 pass, 35 fail. */
_Noreturn void arch_exit(bool pass)
{
    outb(0xf4, pass ? 0x10 : 0x11);
    for (;;)
        __asm__ volatile("cli; hlt");
}

uint64_t arch_counter(void)
{
    uint32_t lo, hi;
    __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return ((uint64_t)hi << 32) | lo;
}

static uint64_t rdmsr(uint32_t msr)
{
    uint32_t lo, hi;
    __asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
    return ((uint64_t)hi << 32) | lo;
}

bool arch_nx_enabled(void)
{
    return (rdmsr(0xC0000080u) >> 11) & 1u;
}

void arch_set_root(const hk_pt_t *pt)
{
    __asm__ volatile("mov %0, %%cr3" : : "r"(hk_pt_root(pt)) : "memory");
}

void arch_map_devices(hk_vm_t *kvm) { (void)kvm; } /* COM1 and the exit device are I/O ports */

void arch_flush(void *ctx, hk_vaddr_t va, uint64_t len)
{
    (void)ctx;
    if (len > 64u * 4096u) {
        uint64_t cr3;
        __asm__ volatile("mov %%cr3, %0; mov %0, %%cr3" : "=r"(cr3) : : "memory");
        return;
    }
    for (uint64_t off = 0; off < len; off += 4096u)
        __asm__ volatile("invlpg (%0)" : : "r"(va + off) : "memory");
}

/* ---- GDT, TSS, IDT --------------------------------------------------------- */

typedef struct __attribute__((packed)) {
    uint32_t reserved0;
    uint64_t rsp[3];
    uint64_t reserved1;
    uint64_t ist[7];
    uint64_t reserved2;
    uint16_t reserved3;
    uint16_t iomap;
} tss_t;

typedef struct __attribute__((packed)) {
    uint16_t limit;
    uint64_t base;
} dtr_t;

static tss_t tss;
static uint64_t gdt[7];
static uint64_t idt[256 * 2];
static uint8_t trap_stack[16384] __attribute__((aligned(16)));

void arch_load_segments(const dtr_t *gdtr, uint16_t tss_sel);

static void gdt_setup(void)
{
    gdt[0] = 0;
    gdt[1] = 0x00AF9A000000FFFFull; /* 0x08 kernel code, 64-bit */
    gdt[2] = 0x00CF92000000FFFFull; /* 0x10 kernel data */
    gdt[3] = 0x00CFF2000000FFFFull; /* 0x18 user data, DPL 3 */
    gdt[4] = 0x00AFFA000000FFFFull; /* 0x20 user code, 64-bit, DPL 3 */
    uint64_t base = (uint64_t)(uintptr_t)&tss, limit = sizeof tss - 1u;
    tss.rsp[0] = (uint64_t)(uintptr_t)(trap_stack + sizeof trap_stack);
    tss.iomap = sizeof tss;
    gdt[5] = (limit & 0xffffu) | ((base & 0xffffffu) << 16) | (0x89ull << 40) |
             (((limit >> 16) & 0xfu) << 48) | (((base >> 24) & 0xffu) << 56); /* 0x28 TSS */
    gdt[6] = base >> 32;
    dtr_t d = {sizeof gdt - 1u, (uint64_t)(uintptr_t)gdt};
    arch_load_segments(&d, 0x28);
}

#define VECS(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11) X(12) \
    X(13) X(14) X(15) X(16) X(17) X(18) X(19) X(20) X(21) X(128)
#define DECL(n) void vec##n(void);
VECS(DECL)

static void idt_set(unsigned n, void (*fn)(void), unsigned dpl)
{
    uint64_t off = (uint64_t)(uintptr_t)fn;
    idt[2 * n] = (off & 0xffffu) | (0x08ull << 16) | ((uint64_t)(0x8Eu | (dpl << 5)) << 40) |
                 (((off >> 16) & 0xffffu) << 48);
    idt[2 * n + 1] = off >> 32;
}

static void idt_setup(void)
{
#define SET(n) idt_set(n, vec##n, n == 128 ? 3u : 0u);
    VECS(SET)
    dtr_t d = {sizeof idt - 1u, (uint64_t)(uintptr_t)idt};
    __asm__ volatile("lidt %0" : : "m"(d));
}

/* ---- traps -------------------------------------------------------------------- */

typedef struct {
    uint64_t r15, r14, r13, r12, r11, r10, r9, r8, rbp, rdi, rsi, rdx, rcx, rbx, rax;
    uint64_t vec, err, rip, cs, rflags, rsp, ss;
} frame_t;

void trap(frame_t *f);
void trap(frame_t *f)
{
    if (f->vec == 14) {
        uint64_t cr2;
        __asm__ volatile("mov %%cr2, %0" : "=r"(cr2));
        /* error code: P(0) W(1) U(2) RSVD(3) I/D(4) */
        unsigned access = (f->err & 16u) ? HK_VM_EXEC : (f->err & 2u) ? HK_VM_WRITE : HK_VM_READ;
        if (f->err & 4u)
            access |= HK_VM_USER;
        if (f->err & 8u)
            kernel_fatal("page fault with reserved bits set", f->rip, cr2, f->err);
        if (kernel_fault(cr2, access, f->rip))
            return;
    }
    if (f->vec == 128 && (f->cs & 3u) == 3u) {
        f->rax = kernel_syscall(f->rax, f->rdi);
        return;
    }
    kputs("\ntrap: vector ");
    kput_dec(f->vec);
    kputs(" error ");
    kput_hex(f->err);
    kputs(" cs ");
    kput_hex(f->cs);
    kernel_fatal("unexpected trap", f->rip, 0, f->vec);
}

/* ---- boot ------------------------------------------------------------------------ */

typedef struct __attribute__((packed)) {
    uint32_t flags, mem_lower, mem_upper, boot_device, cmdline;
    uint32_t mods_count, mods_addr, syms[4];
    uint32_t mmap_length, mmap_addr;
} mb_info_t;

typedef struct __attribute__((packed)) {
    uint32_t size;
    uint64_t addr, len;
    uint32_t type;
} mb_mmap_t;

extern char __text_start[], __text_end[], __rodata_end[], __kernel_end[], __boot_start[], __boot_end[];

static hk_mem_range_t map[64];
static hk_mem_range_t reserved[3];
static karch_t arch;

static hk_paddr_t v2p(const void *p) { return (hk_paddr_t)((uintptr_t)p - KERNEL_VMA); }

_Noreturn void kmain64(uint64_t mbi_pa, uint64_t magic);
_Noreturn void kmain64(uint64_t mbi_pa, uint64_t magic)
{
    serial_init();
    gdt_setup();
    idt_setup();
    kputs("heapkit x86-64 kernel: Multiboot magic ");
    kput_hex(magic);
    kputs(", info at ");
    kput_hex(mbi_pa);
    kputs("\n");
    const mb_info_t *mbi = (const mb_info_t *)(uintptr_t)(mbi_pa + DIRECT_MAP);
    if (magic != 0x2BADB002u || !(mbi->flags & (1u << 6)))
        kernel_fatal("not booted by Multiboot with a memory map", 0, magic, 0);
    size_t n = 0;
    for (uint64_t p = mbi->mmap_addr; p < (uint64_t)mbi->mmap_addr + mbi->mmap_length && n < 64;) {
        const mb_mmap_t *e = (const mb_mmap_t *)(uintptr_t)(p + DIRECT_MAP);
        map[n].base = e->addr;
        map[n].length = e->len;
        map[n].type = e->type;
        kputs("  map ");
        kput_hex(e->addr);
        kputs(" +");
        kput_hex(e->len);
        kputs(e->type == 1 ? " usable\n" : " reserved\n");
        n++;
        p += e->size + 4u;
    }
    /* never handed out: the real-mode area (BIOS data, EBDA stay firmware's),
     * the boot stub and its tables, and the image */
    reserved[0] = (hk_mem_range_t){0, 0x1000, 0};
    reserved[1] = (hk_mem_range_t){(uintptr_t)__boot_start, (uintptr_t)(__boot_end - __boot_start), 0};
    reserved[2] = (hk_mem_range_t){v2p(__text_start), (uintptr_t)(__kernel_end - __text_start), 0};

    uint32_t a, b, c, d;
    __asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(0x80000001u), "c"(0));

    arch.name = "x86-64";
    arch.format = HK_PT_X86_64;
    arch.map = map;
    arch.map_len = n;
    arch.reserved = reserved;
    arch.reserved_len = 3;
    arch.boot_direct_map = DIRECT_MAP;
    arch.dm_offset = DIRECT_MAP;
    arch.kspace_lo = DIRECT_MAP;
    arch.kspace_hi = 0xfffffffffffff000ull;
    arch.user_lo = 0x400000;
    arch.user_hi = 0x800000000000ull;
    arch.image[0].va = (uintptr_t)__text_start;
    arch.image[0].len = (uint64_t)(__text_end - __text_start);
    arch.image[0].prot = HK_VM_READ | HK_VM_EXEC;
    arch.image[1].va = (uintptr_t)__text_end;
    arch.image[1].len = (uint64_t)(__rodata_end - __text_end);
    arch.image[1].prot = HK_VM_READ;
    arch.image[2].va = (uintptr_t)__rodata_end;
    arch.image[2].len = (uint64_t)(__kernel_end - __rodata_end);
    arch.image[2].prot = HK_VM_READ | HK_VM_WRITE;
    for (unsigned i = 0; i < 3; i++)
        arch.image[i].pa = v2p((const void *)(uintptr_t)arch.image[i].va);
    arch.image_n = 3;
    arch.large_sizes = HK_PT_LARGE_2M | (((d >> 26) & 1u) ? HK_PT_LARGE_1G : 0u);
    arch.share_first = 256;
    arch.share_last = 511;
    kernel_main(&arch);
}
