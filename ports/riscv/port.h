/* SPDX-License-Identifier: MIT */
/*
 * port.h - the contract between the RISC-V startup code (startup.c) and the
 * image's main file (main.c): a raw console (the virt board's 16550 UART)
 * and an exit that reaches QEMU's exit status (the SiFive test device).
 */
#ifndef HK_PORT_RISCV_H
#define HK_PORT_RISCV_H

#include <stddef.h>
#include <stdint.h>

/* Writes n bytes to the UART (QEMU's stdout with -serial stdio). */
void hk_port_write(const char *s, size_t n);

/* Ends the program; QEMU exits with `code` (0..65535). */
_Noreturn void hk_port_exit(int code);

#define HK_PORT_EXIT_FAULT 99   /* a trap: illegal instruction, misaligned, access fault */
#define HK_PORT_EXIT_STACK 98   /* the stack ran past its limit */

/* Called from the trap vector with the trap CSRs; prints them and exits. */
_Noreturn void hk_port_trap(uintptr_t mcause, uintptr_t mepc, uintptr_t mtval);

/* Called by the entry code after main returns: checks the stack canary,
 * prints the stack high-water mark and exits. */
_Noreturn void hk_port_finish(int code);

/* Paints the stack below the caller's frame (called once at start). */
void hk_port_paint_stack(void);

int main(void);

/* For ports/baremetal/selftest.c: the linker script's stack symbols. */
#define HK_PORT_STACK_TOP __stack_top
#define HK_PORT_STACK_LIMIT __stack_limit

#endif /* HK_PORT_RISCV_H */
