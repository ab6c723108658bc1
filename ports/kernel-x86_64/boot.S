/*
 * boot.S - heapkit's x86-64 test kernel: the Multiboot 1 entry and the way
 * to long mode, then a jump to the higher half.
 *
 * QEMU -kernel loads the image as a flat binary at 1 MiB, described by the
 * header's address fields (flag 16, the "a.out kludge"): the ELF is linked
 * higher-half (0xffffffff80000000 + physical) and 64-bit, which QEMU's
 * Multiboot ELF loader refuses, so the build turns it into a flat binary.
 *
 * Boot page tables (in .boot.bss, zero in the image):
 *   PML4[0]   -> pdpt_low: 512 x 1 GiB pages, identity (the code below)
 *   PML4[256] -> pdpt_low: the same, at 0xffff800000000000 (the direct map
 *                the C code uses from the first instruction)
 *   PML4[511] -> pdpt_high: entry 510 = 1 GiB page at physical 0, so
 *                0xffffffff80000000 + p = p (the kernel image)
 * 1 GiB pages need CPUID pdpe1gb (QEMU -cpu max). EFER.NXE is set here so
 * heapkit's tables can use NX; CR0.WP so a kernel write to a read-only page
 * faults (the zero page's copy on first write depends on it).
 * The kernel replaces all of this with tables built by hk_vm.
 */
    .set MB_MAGIC,    0x1BADB002
    .set MB_FLAGS,    (1 << 1) | (1 << 16)   /* memory map; load addresses */
    .set MB_CHECKSUM, -(MB_MAGIC + MB_FLAGS)

    .section .multiboot, "a"
    .align 4
mb_header:
    .long MB_MAGIC, MB_FLAGS, MB_CHECKSUM
    .long mb_header         /* header_addr */
    .long __load_start      /* load_addr */
    .long __load_end        /* load_end_addr */
    .long __bss_end_phys    /* bss_end_addr */
    .long _start            /* entry_addr */

    .section .boot.bss, "aw", @nobits
    .align 4096
pml4:      .skip 4096
pdpt_low:  .skip 4096
pdpt_high: .skip 4096

    .section .bss
    .align 16
    .globl kstack_top
kstack:    .skip 65536
kstack_top:

    .section .boot.data, "a"
    .align 8
gdt_boot:
    .quad 0
    .quad 0x00AF9A000000FFFF       /* 0x08: 64-bit code */
    .quad 0x00CF92000000FFFF       /* 0x10: data */
gdt_boot_ptr:
    .word gdt_boot_ptr - gdt_boot - 1
    .long gdt_boot

    .section .boot.text, "ax"
    .code32
    .globl _start
_start:
    mov   %eax, %esi               /* Multiboot magic */
    mov   %ebx, %edi               /* Multiboot info (physical) */

    mov   $pdpt_low, %edx
    xor   %ecx, %ecx
1:  mov   %ecx, %eax               /* pdpt_low[i] = i GiB | P | RW | PS */
    shl   $30, %eax
    or    $0x83, %eax
    mov   %eax, (%edx, %ecx, 8)
    mov   %ecx, %eax
    shr   $2, %eax
    mov   %eax, 4(%edx, %ecx, 8)
    inc   %ecx
    cmp   $512, %ecx
    jne   1b
    mov   $pdpt_low + 3, %eax
    mov   %eax, pml4
    mov   %eax, pml4 + 256 * 8
    mov   $pdpt_high + 3, %eax
    mov   %eax, pml4 + 511 * 8
    movl  $0x83, pdpt_high + 510 * 8

    mov   $pml4, %eax
    mov   %eax, %cr3
    mov   %cr4, %eax
    or    $(1 << 5), %eax          /* CR4.PAE */
    mov   %eax, %cr4
    mov   $0xC0000080, %ecx        /* EFER: LME | NXE */
    rdmsr
    or    $((1 << 8) | (1 << 11)), %eax
    wrmsr
    mov   %cr0, %eax
    or    $((1 << 31) | (1 << 16)), %eax /* PG | WP */
    mov   %eax, %cr0
    lgdt  gdt_boot_ptr
    ljmp  $0x08, $long_mode

    .code64
long_mode:
    mov   $0x10, %ax
    mov   %ax, %ds
    mov   %ax, %es
    mov   %ax, %ss
    xor   %ax, %ax
    mov   %ax, %fs
    mov   %ax, %gs
    movabs $kstack_top, %rsp
    xor   %ebp, %ebp
    mov   %esi, %esi
    mov   %edi, %edi
    movabs $kmain64, %rax          /* kmain64(magic, mbi): the higher half */
    call  *%rax
2:  cli
    hlt
    jmp   2b

    .section .note.GNU-stack, "", @progbits
