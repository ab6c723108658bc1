/* SPDX-License-Identifier: MIT */
/*
 * main.c - heapkit's test image for Cortex-M under QEMU: console and exit
 * through ARM semihosting, then every portable suite (hk_test_main(NULL)).
 *
 * Semihosting (ARM "Semihosting for AArch32 and AArch64", v2): the program
 * executes BKPT 0xAB with an operation number in r0 and a parameter block
 * address in r1; QEMU (-semihosting-config enable=on,target=native) performs
 * the call on the host. Used here:
 *   SYS_OPEN ":tt" mode 4   the host's stdout (SYS_WRITEC/SYS_WRITE0 would
 *                           go to QEMU's stderr)
 *   SYS_WRITE               write a buffer to it
 *   SYS_EXIT_EXTENDED       exit with an exact status: QEMU's exit status
 * Each call traps out of the emulated CPU, so the console buffers a line.
 *
 * Exit statuses: 0 all checks passed, 1 a check failed, 98 stack overflow,
 * 99 fault (startup.c). HK_PORT_SELFTEST builds this file (console, exit) with
 * ports/baremetal/selftest.c into a tiny image without
 * heapkit that proves those paths (scripts/targets.sh runs it):
 *   1 returns 0, 2 returns 1, 3 executes a trap, 4 loads a word from an odd
 *   address (faults on ARMv6-M and with HK_PORT_TRAP_UNALIGNED), 5 overflows
 *   the stack (status 98).
 */
#include <stddef.h>
#include <stdint.h>

#include "port.h"

#ifndef HK_PORT_SELFTEST
#include "hk_test.h"
#include "heapkit/config.h"
#endif

#define SYS_OPEN 0x01
#define SYS_WRITE 0x05
#define SYS_EXIT_EXTENDED 0x20
#define ADP_STOPPED_APPLICATION_EXIT 0x20026u

static uint32_t semihost(uint32_t op, const void *arg)
{
    register uint32_t r0 __asm__("r0") = op;
    register const void *r1 __asm__("r1") = arg;
    __asm__ volatile("bkpt 0xAB" : "+r"(r0) : "r"(r1) : "memory");
    return r0;
}

/* ---- console ------------------------------------------------------------ */
static char line[128];
static size_t line_len;
static uint32_t console = 0xffffffffu;

static void console_flush(void)
{
    if (!line_len)
        return;
    if (console == 0xffffffffu) {
        static const char tt[] = ":tt";
        uint32_t open_args[3] = { (uint32_t)(uintptr_t)tt, 4u, 3u };
        console = semihost(SYS_OPEN, open_args);
    }
    uint32_t write_args[3] = { console, (uint32_t)(uintptr_t)line, (uint32_t)line_len };
    semihost(SYS_WRITE, write_args);
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
    uint32_t block[2] = { ADP_STOPPED_APPLICATION_EXIT, (uint32_t)code };
    semihost(SYS_EXIT_EXTENDED, block);
    for (;;) {
    }
}

/* ---- the image ------------------------------------------------------------- */
#ifndef HK_PORT_SELFTEST

void hk_test_putc(char c)
{
    hk_port_write(&c, 1);
}

int main(void)
{
    hk_test_printf("heapkit tests on ARMv%d-M (%s), %s-endian, HK_ALIGN %u, "
                   "test arena %u KiB, scale 1/%u\n",
                   (int)__ARM_ARCH,
#if defined(__ARM_FP)
                   "FPU",
#else
                   "no FPU",
#endif
                   __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__ ? "big" : "little",
                   (unsigned)HK_ALIGN, (unsigned)(HK_TEST_ARENA_SIZE / 1024u),
                   (unsigned)HK_TEST_SCALE_DIV);
    hk_test_printf("hosted-only suites (tests/linux): skipped, no operating system\n");
    return hk_test_main(NULL);
}

#endif
