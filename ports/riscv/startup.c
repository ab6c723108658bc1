/* SPDX-License-Identifier: MIT */
/*
 * startup.c - heapkit's RISC-V startup for QEMU virt (-bios none), RV32 and
 * RV64, M-mode, no C library.
 *
 * The entry (_start, assembly below because it runs before there is a stack):
 *  1. parks every hart but hart 0 (virt starts all of them at 0x80000000);
 *  2. sets sp to the top of the stack region and mtvec to the trap vector,
 *     so any exception (illegal instruction from __builtin_trap, a
 *     misaligned or faulting access) reports and exits instead of hanging;
 *  3. zeroes .bss (QEMU's ELF loader placed .data already);
 *  4. paints the stack, runs main(), and passes its result to
 *     hk_port_finish(), which checks the canary and exits.
 * The CSR instructions need Zicsr, which binutils 2.40 no longer implies;
 * `.option arch, +zicsr` enables it here only, so -march stays a plain
 * multilib name (rv32imac, rv64imac) and libgcc's multilib is found.
 */
#include <stddef.h>
#include <stdint.h>

#include "port.h"
#include "../baremetal/console.h"

extern uint32_t __stack_limit[], __stack_top[];

#define STACK_PAINT 0x5aa5c33cu

#if __riscv_xlen == 64
#define REG_S "sd"
#define REG_L "ld"
#else
#define REG_S "sw"
#define REG_L "lw"
#endif

__asm__(".section .text.init, \"ax\"\n"
        ".option push\n"
        ".option arch, +zicsr\n"
        ".globl _start\n"
        "_start:\n"
        "    csrr  t0, mhartid\n"
        "    bnez  t0, 3f\n"
        "    la    sp, __stack_top\n"
        "    la    t0, hk_port_trap_entry\n"
        "    csrw  mtvec, t0\n"
        "    la    t0, __bss_start\n"
        "    la    t1, __bss_end\n"
        "1:  bgeu  t0, t1, 2f\n"
        "    sw    zero, 0(t0)\n"
        "    addi  t0, t0, 4\n"
        "    j     1b\n"
        "2:  call  hk_port_paint_stack\n"
        "    call  main\n"
        "    call  hk_port_finish\n"
        "3:  wfi\n"
        "    j     3b\n"
        "    .align 4\n"
        "hk_port_trap_entry:\n"
        "    csrr  a0, mcause\n"
        "    csrr  a1, mepc\n"
        "    csrr  a2, mtval\n"
        "    call  hk_port_trap\n"
        "    j     3b\n"
        ".option pop\n"
        ".text\n");

#if defined(__GNUC__) && !defined(__clang__)
#define NO_LOOP_IDIOM __attribute__((optimize("no-tree-loop-distribute-patterns")))
#else
#define NO_LOOP_IDIOM
#endif

NO_LOOP_IDIOM void hk_port_paint_stack(void)
{
    volatile uint32_t *p = __stack_limit;
    uintptr_t here = (uintptr_t)__builtin_frame_address(0);
    while ((uintptr_t)p + 128u < here)
        *p++ = STACK_PAINT;
}

_Noreturn void hk_port_finish(int code)
{
    const volatile uint32_t *p = __stack_limit;
    while (p < __stack_top && *p == STACK_PAINT)
        p++;
    put_str("stack: ");
    put_dec((uintptr_t)__stack_top - (uintptr_t)p);
    put_str(" of ");
    put_dec((uintptr_t)__stack_top - (uintptr_t)__stack_limit);
    put_str(" bytes used\n");
    if (*(volatile uint32_t *)__stack_limit != STACK_PAINT) {
        put_str("FAIL stack overflow: the canary at __stack_limit was overwritten\n");
        hk_port_exit(HK_PORT_EXIT_STACK);
    }
    hk_port_exit(code);
}

/* mcause values of the RISC-V privileged spec (v1.12, table 3.6). */
static const char *trap_name(uintptr_t mcause)
{
    if (mcause >> (8u * sizeof mcause - 1u))
        return "interrupt";
    switch (mcause) {
    case 0: return "instruction address misaligned";
    case 1: return "instruction access fault";
    case 2: return "illegal instruction (trap or assert?)";
    case 3: return "breakpoint";
    case 4: return "load address misaligned";
    case 5: return "load access fault";
    case 6: return "store address misaligned";
    case 7: return "store access fault";
    case 11: return "environment call";
    default: return "exception";
    }
}

_Noreturn void hk_port_trap(uintptr_t mcause, uintptr_t mepc, uintptr_t mtval)
{
    put_str("\nTRAP: ");
    put_str(trap_name(mcause));
    put_hex("mcause", mcause);
    put_hex("mepc", mepc);
    put_hex("mtval", mtval);
    put_str("\n");
    hk_port_exit(HK_PORT_EXIT_FAULT);
}
