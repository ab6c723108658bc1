/* SPDX-License-Identifier: MIT */
/*
 * main.c - heapkit's test image for Xtensa LX106 (the ESP8266's core) on
 * QEMU's `sim` board: console and exit through the simulator calls, then
 * every portable suite (hk_test_main(NULL)).
 *
 * With -semihosting, QEMU's sim board serves SIMCALL (the instruction) with
 * the call number in a2 and the arguments in a3..a5, the calling convention
 * of Tensilica's instruction set simulator (ISS):
 *   1 exit   a3 = status            QEMU exits with that status
 *   4 write  a3 = fd, a4 = buffer, a5 = length
 * Each call leaves the emulated CPU, so the console buffers a line.
 *
 * Exit statuses: 0 all checks passed, 1 a check failed, 98 stack overflow,
 * 99 exception (startup.c). HK_PORT_SELFTEST builds this file (console,
 * exit) with ports/baremetal/selftest.c into a tiny image without heapkit
 * that proves those paths (scripts/targets.d/xtensa-lx106.sh runs it):
 *   1 returns 0, 2 returns 1, 3 executes a trap, 4 loads a word from an odd
 *   address (LX106 faults), 5 overflows the stack (status 98).
 */
#include <stddef.h>
#include <stdint.h>

#include "port.h"

#ifndef HK_PORT_SELFTEST
#include "hk_test.h"
#include "heapkit/config.h"
#endif

#define SIM_EXIT 1
#define SIM_WRITE 4

static long simcall(long n, long a, long b, long c)
{
    register long a2 __asm__("a2") = n;
    register long a3 __asm__("a3") = a;
    register long a4 __asm__("a4") = b;
    register long a5 __asm__("a5") = c;
    __asm__ volatile("simcall" : "+r"(a2) : "r"(a3), "r"(a4), "r"(a5) : "memory");
    return a2;
}

/* ---- console ------------------------------------------------------------ */
static char line[128];
static size_t line_len;

static void console_flush(void)
{
    if (line_len)
        simcall(SIM_WRITE, 1, (long)(uintptr_t)line, (long)line_len);
    line_len = 0;
}

void hk_port_write(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        line[line_len++] = s[i];
        if (s[i] == '\n' || line_len == sizeof line)
            console_flush();
    }
}

_Noreturn void hk_port_exit(int code)
{
    console_flush();
    simcall(SIM_EXIT, code, 0, 0);
    for (;;) {
    }
}

/* ---- the image ------------------------------------------------------------- */
#ifndef HK_PORT_SELFTEST

/* ---- memories for the capability suite --------------------------------------
 * .bss.sysram.* input sections go to sysram0 (link.ld); the rest of .bss
 * is in dataram0. */
static unsigned char dram_block[16u * 1024u] __attribute__((aligned(16)));
static unsigned char sysram_block[256u * 1024u]
    __attribute__((aligned(16), section(".bss.sysram.caps")));

void *hk_port_memory(unsigned i, size_t *size, const char **name)
{
    switch (i) {
    case 0:
        *size = sizeof dram_block;
        *name = "dataram0";
        return dram_block;
    case 1:
        *size = sizeof sysram_block;
        *name = "sysram0";
        return sysram_block;
    default:
        return NULL;
    }
}

void hk_test_putc(char c)
{
    hk_port_write(&c, 1);
}

int main(void)
{
    hk_test_printf("heapkit tests on Xtensa LX106, %s-endian, HK_ALIGN %u, test arena %u KiB, "
                   "scale 1/%u\n",
                   __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__ ? "big" : "little",
                   (unsigned)HK_ALIGN, (unsigned)(HK_TEST_ARENA_SIZE / 1024u),
                   (unsigned)HK_TEST_SCALE_DIV);
    hk_test_printf("hosted-only suites (tests/linux): skipped, no operating system\n");
    return hk_test_main(NULL);
}

#endif
