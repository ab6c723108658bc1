/* SPDX-License-Identifier: MIT */
/*
 * port.h - the contract between the Cortex-M startup code (startup.c) and
 * the image's main file (main.c): a raw console and an exit that reaches
 * QEMU's exit status. Both work before and without any C library.
 */
#ifndef HK_PORT_CORTEXM_H
#define HK_PORT_CORTEXM_H

#include <stddef.h>
#include <stdint.h>

/* Writes n bytes to the host's stdout (semihosting). */
void hk_port_write(const char *s, size_t n);

/* Flushes the console and ends the program; QEMU exits with `code`. */
_Noreturn void hk_port_exit(int code);

/* Exit codes the port itself produces (tests produce 0 or 1). */
#define HK_PORT_EXIT_FAULT 99   /* a CPU fault or an unexpected exception */
#define HK_PORT_EXIT_STACK 98   /* the stack ran past its limit */

/* Called by startup.c with the exception frame and EXC_RETURN; prints the
 * fault and exits with HK_PORT_EXIT_FAULT. */
_Noreturn void hk_port_fault(const uint32_t *frame, uint32_t exc_return);

/* Called by startup.c after main returns: checks the stack canary, prints
 * the stack high-water mark and exits. */
_Noreturn void hk_port_finish(int code);

/* Bytes of stack used so far (high-water mark of the painted stack). */
size_t hk_port_stack_used(void);

int main(void);

/* For ports/baremetal/selftest.c: the linker script's stack symbols. */
#define HK_PORT_STACK_TOP _estack
#define HK_PORT_STACK_LIMIT __stack_limit

#endif /* HK_PORT_CORTEXM_H */
