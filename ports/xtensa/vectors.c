/* SPDX-License-Identifier: MIT */
/*
 * vectors.c - heapkit's Xtensa LX106 entry and exception vectors for
 * QEMU's `sim` board (-cpu lx106). call0 ABI: a0 return address, a1 stack
 * pointer, a2.. arguments.
 *
 * The entry: QEMU starts the CPU at the first reset vector of the LX106
 * configuration, 0x50000000 (the start of sysrom0), whatever the ELF entry
 * says, so `.entry` is placed there by link.ld. It loads the stack pointer
 * and calls hk_port_start in instruction RAM (too far for a call0).
 *
 * The vectors: LX106 has relocatable vectors (VECBASE, 0x40000000 at
 * reset, set again by startup.c). Offsets from VECBASE in this core
 * configuration: 0x10 debug (level 2: the `break` that __builtin_trap
 * compiles to), 0x20 NMI (level 3), 0x30 kernel exception (PS.UM = 0),
 * 0x50 user exception (PS.UM = 1), 0x70 double exception (an exception
 * while PS.EXCM is set). Each slot jumps to a stub that loads the cause and
 * the faulting pc from the special registers of that vector, moves the
 * stack pointer back to the top of the stack (the fault may be a broken
 * stack) and calls hk_port_exception(vector, cause, pc, vaddr), which
 * prints them and exits. Nothing returns: heapkit's images only need a
 * fault to end the run with a report.
 */
#include "port.h"

/* Top-level assembly in a C file, so the build needs no assembler language
 * of its own (heapkit's CMake projects are C only). */
__asm__(
        "    .section .entry, \"ax\"\n"
        "    .global _entry\n"
        "    .align 4\n"
        "_entry:\n"
        "    j     1f\n"
        "    .align 4\n"
        "2:  .word __stack_top\n"
        "    .word hk_port_start\n"
        "1:  l32r  a1, 2b\n"
        "    l32r  a0, 2b + 4\n"
        "    callx0 a0\n"
        "3:  j     3b\n"
        "\n"
        "    .section .vectors, \"ax\"\n"
        "    .global hk_port_vectors\n"
        "    .align 4\n"
        "hk_port_vectors:\n"
        "    .org  0x10\n"
        "    j     debug_stub\n"
        "    .org  0x20\n"
        "    j     nmi_stub\n"
        "    .org  0x30\n"
        "    j     kernel_stub\n"
        "    .org  0x50\n"
        "    j     user_stub\n"
        "    .org  0x70\n"
        "    j     double_stub\n"
        "    .org  0x80\n"
        "    .align 4\n"
        "4:  .word __stack_top\n"
        "    .word hk_port_exception\n"
        "user_stub:\n"
        "    movi  a2, 1\n"
        "    rsr   a3, exccause\n"
        "    rsr   a4, epc1\n"
        "    j     report\n"
        "kernel_stub:\n"
        "    movi  a2, 2\n"
        "    rsr   a3, exccause\n"
        "    rsr   a4, epc1\n"
        "    j     report\n"
        "double_stub:\n"
        "    movi  a2, 3\n"
        "    rsr   a3, exccause\n"
        "    rsr   a4, depc\n"
        "    j     report\n"
        "debug_stub:\n"
        "    movi  a2, 4\n"
        "    rsr   a3, debugcause\n"
        "    rsr   a4, epc2\n"
        "    j     report\n"
        "nmi_stub:\n"
        "    movi  a2, 5\n"
        "    movi  a3, 0\n"
        "    rsr   a4, epc3\n"
        "report:\n"
        "    rsr   a5, excvaddr\n"
        "    l32r  a1, 4b\n"
        "    l32r  a0, 4b + 4\n"
        "    callx0 a0\n"
        "5:  j     5b\n"
        "    .text\n");
