/* SPDX-License-Identifier: MIT */
/*
 * main.c - heapkit's test image for RISC-V on QEMU virt: console on the
 * 16550 UART at 0x10000000, exit through the SiFive test device at
 * 0x100000, then every portable suite (hk_test_main(NULL)).
 *
 * The SiFive test device ("sifive_test" in QEMU's virt board) ends QEMU when
 * written: 0x5555 exits with status 0, (code << 16) | 0x3333 with `code`.
 * (0x3333 alone would exit 0: a failure must carry a non-zero code.)
 *
 * Exit statuses: 0 all checks passed, 1 a check failed, 98 stack overflow,
 * 99 trap. HK_PORT_SELFTEST builds this file (console, exit) with
 * ports/baremetal/selftest.c into a tiny image without heapkit that proves
 * those paths (scripts/targets.sh runs it): 1 returns 0, 2 returns 1,
 * 3 executes a trap, 5 overflows the stack (status 98).
 */
#include <stddef.h>
#include <stdint.h>

#include "port.h"

#ifndef HK_PORT_SELFTEST
#include "hk_test.h"
#include "heapkit/config.h"
#endif

#define UART0 ((volatile uint8_t *)0x10000000u)
#define UART_THR 0
#define UART_LSR 5
#define UART_LSR_THRE 0x20u
#define SIFIVE_TEST ((volatile uint32_t *)0x00100000u)

void hk_port_write(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        while (!(UART0[UART_LSR] & UART_LSR_THRE)) {
        }
        UART0[UART_THR] = (uint8_t)s[i];
    }
}

_Noreturn void hk_port_exit(int code)
{
    *SIFIVE_TEST = code ? ((uint32_t)code << 16) | 0x3333u : 0x5555u;
    for (;;) {
    }
}

#ifndef HK_PORT_SELFTEST

void hk_test_putc(char c)
{
    hk_port_write(&c, 1);
}

int main(void)
{
    hk_test_printf("heapkit tests on RV%d, %s-endian, HK_ALIGN %u, test arena %u KiB, "
                   "scale 1/%u\n",
                   (int)__riscv_xlen,
                   __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__ ? "big" : "little",
                   (unsigned)HK_ALIGN, (unsigned)(HK_TEST_ARENA_SIZE / 1024u),
                   (unsigned)HK_TEST_SCALE_DIV);
    hk_test_printf("hosted-only suites (tests/linux): skipped, no operating system\n");
    return hk_test_main(NULL);
}

#endif
