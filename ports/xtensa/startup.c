/* SPDX-License-Identifier: MIT */
/*
 * startup.c - heapkit's Xtensa LX106 startup for QEMU's `sim` board, and
 * its exception report. No C library.
 *
 * What runs, in order (from vectors.c's entry, on the initial stack):
 *  1. zero .bss in dataram0 and the .bss-like arrays in sysram0 (QEMU's
 *     ELF loader placed .data already);
 *  2. point VECBASE at hk_port_vectors and set PS to user-vector mode with
 *     interrupt level 0 (PS.UM = 1, PS.EXCM = 0, PS.INTLEVEL = 0). The
 *     level matters: the core takes the debug exception of `break` (what
 *     __builtin_trap and so HK_ASSERT compile to) only while PS.INTLEVEL is
 *     below its debug level, 2; at the reset value, 15, a trap would be
 *     skipped and execution would run on. INTENABLE is 0 at reset, so no
 *     interrupt can arrive;
 *  3. paint the stack below the current frame, so that the high-water mark
 *     can be measured at exit and an overflow past __stack_limit is caught
 *     (the lowest word is the canary);
 *  4. main(), then hk_port_finish() with its result.
 *
 * Every exception goes to hk_port_exception (vectors.c), which prints the
 * vector, the cause by name (EXCCAUSE; Xtensa ISA reference manual, table
 * "Exception Causes"), the pc of the faulting instruction (EPC1, EPC2 or
 * DEPC, by vector) and EXCVADDR, and exits with status 99: a crash is never
 * a hang and never a pass. LX106 faults on an unaligned 16- or 32-bit load
 * or store (cause 9, LoadStoreAlignment), as Cortex-M0 does.
 */
#include <stddef.h>
#include <stdint.h>

#include "port.h"
#include "../baremetal/console.h"

extern uint32_t __bss_start[], __bss_end[], __sysram_bss_start[], __sysram_bss_end[];
extern uint32_t __stack_top[], __stack_limit[];
extern char hk_port_vectors[];

#define STACK_PAINT 0x5aa5c33cu
#define PS_UM (1u << 5)

#if defined(__GNUC__) && !defined(__clang__)
#define NO_LOOP_IDIOM __attribute__((optimize("no-tree-loop-distribute-patterns")))
#else
#define NO_LOOP_IDIOM
#endif

NO_LOOP_IDIOM static void zero_words(uint32_t *p, const uint32_t *end)
{
    while (p < end)
        *p++ = 0;
}

NO_LOOP_IDIOM _Noreturn void hk_port_start(void)
{
    zero_words(__bss_start, __bss_end);
    zero_words(__sysram_bss_start, __sysram_bss_end);
    __asm__ volatile("wsr %0, vecbase\n\t"
                     "wsr %1, ps\n\t"
                     "rsync" ::"r"(hk_port_vectors), "r"(PS_UM) : "memory");
    volatile uint32_t *p = __stack_limit;
    uintptr_t here = (uintptr_t)__builtin_frame_address(0);
    while ((uintptr_t)p + 128u < here)
        *p++ = STACK_PAINT;
    hk_port_finish(main());
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

/* ---- exceptions --------------------------------------------------------- */
static const char *vector_name(uint32_t v)
{
    switch (v) {
    case 1: return "user exception";
    case 2: return "kernel exception";
    case 3: return "double exception";
    case 4: return "debug exception";
    case 5: return "NMI";
    default: return "exception";
    }
}

/* EXCCAUSE values (Xtensa ISA: Exception Causes). */
static const char *cause_name(uint32_t c)
{
    switch (c) {
    case 0: return "IllegalInstruction";
    case 1: return "Syscall";
    case 2: return "InstructionFetchError";
    case 3: return "LoadStoreError";
    case 4: return "Level1Interrupt";
    case 6: return "IntegerDivideByZero";
    case 8: return "Privileged";
    case 9: return "LoadStoreAlignment (unaligned access)";
    case 12: return "InstrPIFDataError";
    case 13: return "LoadStorePIFDataError";
    case 14: return "InstrPIFAddrError";
    case 15: return "LoadStorePIFAddrError";
    case 20: return "InstFetchProhibited";
    case 28: return "LoadProhibited";
    case 29: return "StoreProhibited";
    default: return "cause";
    }
}

_Noreturn void hk_port_exception(uint32_t vector, uint32_t cause, uint32_t pc, uint32_t vaddr)
{
    put_str("\nFAULT: ");
    put_str(vector_name(vector));
    put_str(": ");
    if (vector == 4) {
        /* DEBUGCAUSE bit 3 (BI): a BREAK instruction */
        put_str(cause & (1u << 3) ? "break instruction (trap or assert?)" : "debug event");
        put_hex("dbgcause", cause);
    } else if (vector == 5) {
        put_str("non-maskable interrupt");
    } else {
        put_str(cause_name(cause));
        put_hex("exccause", cause);
    }
    put_hex("pc", pc);
    if (vector <= 3)
        put_hex("excvaddr", vaddr);
    put_str("\n");
    hk_port_exit(HK_PORT_EXIT_FAULT);
}
