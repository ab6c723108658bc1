/* SPDX-License-Identifier: MIT */
/*
 * port.h - the contract between heapkit's Xtensa LX106 startup code
 * (vectors.c, startup.c) and the image's main file (main.c): a raw console
 * and an exit that reaches QEMU's exit status, both through the simulator
 * calls of QEMU's `sim` board (-semihosting), plus the two kinds of memory
 * the capability suite puts heaps in.
 */
#ifndef HK_PORT_XTENSA_H
#define HK_PORT_XTENSA_H

#include <stddef.h>
#include <stdint.h>

/* Writes n bytes to the host's stdout (SIMCALL write, line-buffered). */
void hk_port_write(const char *s, size_t n);

/* Flushes the console and ends the program; QEMU exits with `code`. */
_Noreturn void hk_port_exit(int code);

/* Exit codes the port itself produces (tests produce 0 or 1). */
#define HK_PORT_EXIT_FAULT 99   /* an exception: trap, unaligned access, illegal instruction */
#define HK_PORT_EXIT_STACK 98   /* the stack ran past its limit */

/* Called by the vectors (vectors.c) with the vector that was taken, the
 * exception cause (EXCCAUSE, or DEBUGCAUSE for the debug vector), the pc of
 * the faulting instruction and EXCVADDR; prints them and exits with
 * HK_PORT_EXIT_FAULT. */
_Noreturn void hk_port_exception(uint32_t vector, uint32_t cause, uint32_t pc, uint32_t vaddr);

/* Called by the entry code (vectors.c) on the initial stack. */
_Noreturn void hk_port_start(void);

/* Called after main returns: checks the stack canary, prints the stack
 * high-water mark and exits with code. */
_Noreturn void hk_port_finish(int code);

int main(void);

/* The memories the capability suite (tests/test_caps.c) puts its heaps in:
 * 0 a block of dataram0 (the chip's DRAM: internal, byte-addressable),
 * 1 a block of sysram0 (a second, larger kind of memory). Returns the base
 * and sets *size and *name, or NULL for any other index. */
void *hk_port_memory(unsigned i, size_t *size, const char **name);

/* For ports/baremetal/selftest.c: the linker script's stack symbols. */
#define HK_PORT_STACK_TOP __stack_top
#define HK_PORT_STACK_LIMIT __stack_limit

#endif /* HK_PORT_XTENSA_H */
