/* SPDX-License-Identifier: MIT */
/*
 * startup.c - heapkit's Cortex-M startup: the vector table, the reset
 * handler and the fault handler, for ARMv6-M (Cortex-M0) and ARMv7-M/7E-M
 * (Cortex-M3, Cortex-M4F). No C library is needed; a newlib build gets its
 * semihosted stdio set up by initialise_monitor_handles() when linked in.
 *
 * What runs at reset, in order:
 *  1. copy .data from flash, zero .bss (the linker script's symbols);
 *  2. paint the stack below the current frame with a known word, so that
 *     the high-water mark can be measured at exit and an overflow past
 *     __stack_limit is caught (the lowest word is the canary);
 *  3. ARMv7-M: trap integer division by zero (CCR.DIV_0_TRP) and, when the
 *     toolchain file asks for it (HK_PORT_TRAP_UNALIGNED), unaligned word
 *     accesses (CCR.UNALIGN_TRP), so an allocator bug that would silently
 *     work on a Cortex-M3 faults exactly as it would on a Cortex-M0;
 *  4. with an FPU (__ARM_FP): grant CP10/CP11 full access in CPACR;
 *  5. main(), then hk_port_finish() with its result.
 *
 * Every fault and every exception nobody expects goes to one handler that
 * prints the stacked registers (and on ARMv7-M the fault status registers:
 * CFSR, HFSR, MMFAR, BFAR; ARM DDI 0403, B3.2.15 to B3.2.18) and exits with
 * status 99, so a crash is never a hang and never a pass.
 */
#include <stddef.h>
#include <stdint.h>

#include "port.h"
#include "../baremetal/console.h"

extern uint32_t _sidata[], _sdata[], _edata[], _sbss[], _ebss[];
extern uint32_t _estack[], __stack_limit[];

/* newlib's librdimon sets up semihosted stdin/stdout/stderr; weak so that a
 * -nostdlib image links without it. */
extern void initialise_monitor_handles(void) __attribute__((weak));

#define STACK_PAINT 0x5aa5c33cu

#define SCB_CCR (*(volatile uint32_t *)0xE000ED14u)
#define SCB_CPACR (*(volatile uint32_t *)0xE000ED88u)
#define SCB_CFSR (*(volatile uint32_t *)0xE000ED28u)
#define SCB_HFSR (*(volatile uint32_t *)0xE000ED2Cu)
#define SCB_MMFAR (*(volatile uint32_t *)0xE000ED34u)
#define SCB_BFAR (*(volatile uint32_t *)0xE000ED38u)
#define CCR_UNALIGN_TRP (1u << 3)
#define CCR_DIV_0_TRP (1u << 4)

#if defined(__GNUC__) && !defined(__clang__)
#define NO_LOOP_IDIOM __attribute__((optimize("no-tree-loop-distribute-patterns")))
#else
#define NO_LOOP_IDIOM
#endif

void Reset_Handler(void);
void Fault_Entry(void);

/* ---- reset -------------------------------------------------------------- */
NO_LOOP_IDIOM void Reset_Handler(void)
{
    uint32_t *src = _sidata, *dst = _sdata;
    while (dst < _edata)
        *dst++ = *src++;
    for (dst = _sbss; dst < _ebss;)
        *dst++ = 0;

    /* Paint from the stack limit up to a little below this frame. */
    volatile uint32_t *p = __stack_limit;
    uint32_t *here = __builtin_frame_address(0);
    while ((uintptr_t)p + 64u < (uintptr_t)here)
        *p++ = STACK_PAINT;

#if __ARM_ARCH >= 7
    SCB_CCR |= CCR_DIV_0_TRP;
#if defined(HK_PORT_TRAP_UNALIGNED) && HK_PORT_TRAP_UNALIGNED
    SCB_CCR |= CCR_UNALIGN_TRP;
#endif
#endif
#if defined(__ARM_FP)
    SCB_CPACR |= 0xFu << 20;
    __asm volatile("dsb\n\tisb" ::: "memory");
#endif
    if (initialise_monitor_handles)
        initialise_monitor_handles();
    hk_port_finish(main());
}

/* ---- stack check ---------------------------------------------------------- */
size_t hk_port_stack_used(void)
{
    const volatile uint32_t *p = __stack_limit;
    while (p < _estack && *p == STACK_PAINT)
        p++;
    return (size_t)((uintptr_t)_estack - (uintptr_t)p);
}

_Noreturn void hk_port_finish(int code)
{
    size_t size = (size_t)((uintptr_t)_estack - (uintptr_t)__stack_limit);
    size_t used = hk_port_stack_used();
    put_str("stack: ");
    put_dec((uint32_t)used);
    put_str(" of ");
    put_dec((uint32_t)size);
    put_str(" bytes used\n");
    if (*(volatile uint32_t *)__stack_limit != STACK_PAINT) {
        put_str("FAIL stack overflow: the canary at __stack_limit was overwritten\n");
        hk_port_exit(HK_PORT_EXIT_STACK);
    }
    hk_port_exit(code);
}

/* ---- faults ----------------------------------------------------------------- */
static const char *exception_name(uint32_t n)
{
    switch (n) {
    case 2: return "NMI";
    case 3: return "HardFault";
    case 4: return "MemManage";
    case 5: return "BusFault";
    case 6: return "UsageFault";
    case 11: return "SVCall";
    case 14: return "PendSV";
    case 15: return "SysTick";
    default: return n >= 16 ? "IRQ" : "reserved";
    }
}

_Noreturn void hk_port_fault(const uint32_t *frame, uint32_t exc_return)
{
    uint32_t ipsr;
    __asm volatile("mrs %0, ipsr" : "=r"(ipsr));
    ipsr &= 0x1ffu;
    put_str("\nFAULT: ");
    put_str(exception_name(ipsr));
    put_str(" (exception ");
    put_dec(ipsr);
    put_str(")");
    /* The hardware stacked r0-r3, r12, lr, pc, xpsr (ARMv7-M B1.5.6). */
    put_hex("pc", frame[6]);
    put_hex("lr", frame[5]);
    put_hex("xpsr", frame[7]);
    put_hex("sp", (uint32_t)(uintptr_t)frame);
    put_hex("exc", exc_return);
#if __ARM_ARCH >= 7
    uint32_t cfsr = SCB_CFSR;
    put_str("\n      ");
    put_hex("cfsr", cfsr);
    put_hex("hfsr", SCB_HFSR);
    if (cfsr & (1u << 7))
        put_hex("mmfar", SCB_MMFAR);
    if (cfsr & (1u << 15))
        put_hex("bfar", SCB_BFAR);
    if (cfsr & (1u << 24))
        put_str(" (unaligned access)");
    if (cfsr & (1u << 25))
        put_str(" (divide by zero)");
    if (cfsr & (1u << 16))
        put_str(" (undefined instruction: trap or assert?)");
#endif
    put_str("\n");
    hk_port_exit(HK_PORT_EXIT_FAULT);
}

/* Reads the frame pointer before any C code can push onto the stack. Only
 * the main stack is used, so MSP holds the exception frame. BL reaches the
 * whole image on ARMv6-M too. */
__attribute__((naked)) void Fault_Entry(void)
{
    __asm volatile("mrs r0, msp\n\t"
                   "mov r1, lr\n\t"
                   "bl hk_port_fault\n\t");
}

/* ---- the vector table --------------------------------------------------------
 * 16 system entries; no peripheral interrupt is enabled, so none follow. */
typedef void (*vector_t)(void);

__attribute__((section(".isr_vector"), used)) static const vector_t vectors[16] = {
    (vector_t)(uintptr_t)_estack, /*  0: initial main stack pointer */
    Reset_Handler,                /*  1: reset */
    Fault_Entry,                  /*  2: NMI */
    Fault_Entry,                  /*  3: HardFault */
    Fault_Entry,                  /*  4: MemManage (ARMv7-M) */
    Fault_Entry,                  /*  5: BusFault (ARMv7-M) */
    Fault_Entry,                  /*  6: UsageFault (ARMv7-M) */
    0, 0, 0, 0,                   /*  7-10: reserved */
    Fault_Entry,                  /* 11: SVCall */
    Fault_Entry,                  /* 12: debug monitor (ARMv7-M) */
    0,                            /* 13: reserved */
    Fault_Entry,                  /* 14: PendSV */
    Fault_Entry,                  /* 15: SysTick */
};
