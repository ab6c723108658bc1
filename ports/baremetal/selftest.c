/* SPDX-License-Identifier: MIT */
/*
 * selftest.c - the bare-metal ports' self-test image (HK_PORT_SELFTEST=N):
 * proves, before any suite runs, that each way a run can end reaches QEMU's
 * exit status. Built with the port's main.c (console and exit) and startup
 * code; the port's port.h names the stack symbols and whether unaligned word
 * loads fault.
 *   1 returns 0                 -> 0
 *   2 returns 1 (a failed check) -> 1
 *   3 executes a trap            -> HK_PORT_EXIT_FAULT
 *   4 loads an unaligned word    -> HK_PORT_EXIT_FAULT (strict-alignment cores)
 *   5 overflows the stack        -> HK_PORT_EXIT_STACK
 */
#include <stddef.h>
#include <stdint.h>

#include "port.h"
#include "console.h"

/* Uses about 1.5 times the whole stack, writing every byte of each frame,
 * so the canary at the stack limit must be overwritten. */
extern uint32_t HK_PORT_STACK_LIMIT[], HK_PORT_STACK_TOP[];
static unsigned recurse(unsigned depth)
{
    volatile unsigned char frame[256];
    for (unsigned i = 0; i < sizeof frame; i++)
        frame[i] = (unsigned char)(depth + i);
    return depth ? recurse(depth - 1u) + frame[depth % sizeof frame] : 0u;
}

int main(void)
{
    static volatile uint32_t words[2] = { 0x01020304u, 0x05060708u };
    switch (HK_PORT_SELFTEST) {
    case 1:
        put_str("selftest: pass\n");
        return 0;
    case 2:
        put_str("selftest: a failing check\n");
        return 1;
    case 3:
        put_str("selftest: trap\n");
        __builtin_trap();
    case 4: {
        put_str("selftest: unaligned word load\n");
        uintptr_t odd = (uintptr_t)&words[0] + 1u;
        __asm__ volatile("" : "+r"(odd)); /* hide the oddness from the compiler */
        uint32_t v = *(volatile uint32_t *)odd;
        return v == 0 ? 2 : 0;
    }
    case 5: {
        put_str("selftest: stack overflow\n");
        uintptr_t size = (uintptr_t)HK_PORT_STACK_TOP - (uintptr_t)HK_PORT_STACK_LIMIT;
        return recurse((unsigned)(size * 3u / 2u / 256u)) == 1u ? 2 : 0;
    }
    default:
        return 3;
    }
}
