/*
 * start.S - heapkit's RISC-V test kernel: the S-mode entry under OpenSBI,
 * the trap entry, the way into U-mode, and the user programme.
 *
 * OpenSBI (fw_dynamic) enters _start on one hart in S-mode with a0 = hart
 * id, a1 = the device tree, paging off (satp = 0), at the image's physical
 * address 0x80200000. The image is linked at 0xffffffff80200000 (the top
 * 2 GiB, like the x86-64 kernel). The boot stub, running at the physical
 * address (all of it PC-relative), turns on a boot table of three
 * gigapages and jumps up:
 *   root[0]   0x0000000000000000 -> 0x00000000  devices (the test finisher)
 *   root[2]   0x0000000080000000 -> 0x80000000  identity, for the jump
 *   root[256] 0xffffffc000000000 -> 0x80000000  the direct map of 1 GiB of RAM
 *   root[510] 0xffffffff80000000 -> 0x80000000  the image
 * The kernel replaces it with tables built by hk_vm.
 *
 * Traps: sscratch is 0 while in the kernel and the top of trap_stack while
 * a user task runs. The entry swaps sp with sscratch: non-zero means the
 * trap came from U-mode and sp is now the kernel's trap stack; zero means it
 * came from S-mode, and the swap is undone. The frame is x0..x31 (x2 = the
 * interrupted sp), sepc, sstatus: 34 words, 272 bytes (16-byte aligned).
 */
    .option arch, +zicsr
    .section .text.start, "ax"
    .globl _start
_start:
    la    t0, boot_root            /* physical: the PC is */
    li    t1, 0xcf                 /* V R W X A D, PPN 0 */
    sd    t1, 0(t0)
    li    t1, 0x200000cf           /* PPN 0x80000 (0x80000000) */
    sd    t1, 16(t0)
    li    t2, 256 * 8
    add   t3, t0, t2
    sd    t1, 0(t3)
    li    t2, 510 * 8
    add   t3, t0, t2
    sd    t1, 0(t3)
    srli  t0, t0, 12
    li    t1, 8
    slli  t1, t1, 60               /* MODE = Sv39 */
    or    t0, t0, t1
    csrw  satp, t0
    sfence.vma
    li    t0, 0xffffffff00000000   /* virtual - physical of the image */
    lla   t1, 1f
    add   t1, t1, t0
    jr    t1
1:  la    sp, kstack_top           /* now virtual */
    la    t0, __bss_start
    la    t1, __bss_end
2:  bgeu  t0, t1, 3f
    sd    zero, 0(t0)
    addi  t0, t0, 8
    j     2b
3:  la    t0, trap_entry
    csrw  stvec, t0
    csrw  sscratch, zero
    call  kmain_rv
4:  wfi
    j     4b

    .section .data
    .balign 4096
boot_root: .skip 4096

    .text
    .balign 4
    .globl trap_entry
trap_entry:
    csrrw sp, sscratch, sp
    bnez  sp, from_user
    csrrw sp, sscratch, sp
    addi  sp, sp, -272
    sd    t0, 40(sp)
    addi  t0, sp, 272
    sd    t0, 16(sp)
    j     save_rest
from_user:
    addi  sp, sp, -272
    sd    t0, 40(sp)
    csrr  t0, sscratch
    sd    t0, 16(sp)
    csrw  sscratch, zero
save_rest:
    sd    x1, 8(sp)
    sd    x3, 24(sp)
    sd    x4, 32(sp)
    sd    x6, 48(sp)
    sd    x7, 56(sp)
    sd    x8, 64(sp)
    sd    x9, 72(sp)
    sd    x10, 80(sp)
    sd    x11, 88(sp)
    sd    x12, 96(sp)
    sd    x13, 104(sp)
    sd    x14, 112(sp)
    sd    x15, 120(sp)
    sd    x16, 128(sp)
    sd    x17, 136(sp)
    sd    x18, 144(sp)
    sd    x19, 152(sp)
    sd    x20, 160(sp)
    sd    x21, 168(sp)
    sd    x22, 176(sp)
    sd    x23, 184(sp)
    sd    x24, 192(sp)
    sd    x25, 200(sp)
    sd    x26, 208(sp)
    sd    x27, 216(sp)
    sd    x28, 224(sp)
    sd    x29, 232(sp)
    sd    x30, 240(sp)
    sd    x31, 248(sp)
    csrr  t0, sepc
    sd    t0, 256(sp)
    csrr  t0, sstatus
    sd    t0, 264(sp)
    mv    a0, sp
    call  trap_c
    ld    t0, 256(sp)
    csrw  sepc, t0
    ld    t0, 264(sp)
    csrw  sstatus, t0
    andi  t0, t0, 0x100            /* SPP: back to S-mode? */
    bnez  t0, 4f
    la    t0, trap_stack_top       /* back to U-mode: arm sscratch */
    csrw  sscratch, t0
4:  ld    x1, 8(sp)
    ld    x3, 24(sp)
    ld    x4, 32(sp)
    ld    x5, 40(sp)
    ld    x6, 48(sp)
    ld    x7, 56(sp)
    ld    x8, 64(sp)
    ld    x9, 72(sp)
    ld    x10, 80(sp)
    ld    x11, 88(sp)
    ld    x12, 96(sp)
    ld    x13, 104(sp)
    ld    x14, 112(sp)
    ld    x15, 120(sp)
    ld    x16, 128(sp)
    ld    x17, 136(sp)
    ld    x18, 144(sp)
    ld    x19, 152(sp)
    ld    x20, 160(sp)
    ld    x21, 168(sp)
    ld    x22, 176(sp)
    ld    x23, 184(sp)
    ld    x24, 192(sp)
    ld    x25, 200(sp)
    ld    x26, 208(sp)
    ld    x27, 216(sp)
    ld    x28, 224(sp)
    ld    x29, 232(sp)
    ld    x30, 240(sp)
    ld    x31, 248(sp)
    ld    sp, 16(sp)
    sret

/* arch_enter_user(entry, sp, a0, a1): sret to U-mode. */
    .globl arch_enter_user
arch_enter_user:
    csrw  sepc, a0
    li    t0, 0x100
    csrc  sstatus, t0              /* SPP = U */
    la    t0, trap_stack_top
    csrw  sscratch, t0
    mv    sp, a1
    mv    a0, a2
    mv    a1, a3
    sret

    .section .bss
    .balign 16
    .globl kstack_top, trap_stack_top
kstack:      .skip 65536
kstack_top:
trap_stack:  .skip 16384
trap_stack_top:

/* The user programme (position independent, copied to a user page): the
 * same checks as the x86-64 one. Syscalls: ecall, a7 = number, a0 =
 * argument and result; every other register is preserved.
 *   a0 = 0: sbrk(4), read two pages (zero page), write one read page (copy
 *           on first write) and one untouched (fresh frame), sbrk(2) must
 *           follow, push on the demand-paged stack; exit with 0x1f if all.
 *   a0 = 1: store to the kernel address in a1 (must be refused). */
    .section .rodata
    .option push
    .option norelax
    .balign 4
    .globl user_blob, user_blob_end
user_blob:
    li    t0, 1
    beq   a0, t0, 9f
    li    a7, 2
    li    a0, 4
    ecall
    mv    s0, a0
    ld    t1, 0(s0)
    li    t2, 4096
    add   t3, s0, t2
    ld    t4, 0(t3)
    or    t1, t1, t4
    li    t5, 0x1234
    sd    t5, 0(s0)
    li    t2, 8192
    add   t3, s0, t2
    li    t5, 7
    sd    t5, 0(t3)
    li    a7, 2
    li    a0, 2
    ecall
    sub   s1, a0, s0
    li    t5, 1
    sd    t5, 0(a0)
    addi  sp, sp, -16
    li    t6, 5
    sd    t6, 0(sp)
    ld    s2, 0(sp)
    addi  sp, sp, 16
    li    a0, 0
    bnez  t1, 1f
    ori   a0, a0, 16
1:  ld    t5, 0(s0)
    li    t6, 0x1234
    bne   t5, t6, 2f
    ori   a0, a0, 1
2:  li    t6, 16384
    bne   s1, t6, 3f
    ori   a0, a0, 2
3:  li    t2, 8192
    add   t3, s0, t2
    ld    t5, 0(t3)
    li    t6, 7
    bne   t5, t6, 4f
    ori   a0, a0, 4
4:  li    t6, 5
    bne   s2, t6, 5f
    ori   a0, a0, 8
5:  li    a7, 1
    ecall
9:  li    t0, 1
    sd    t0, 0(a1)
    li    a7, 1
    li    a0, 99
    ecall
user_blob_end:
    .option pop
