/* SPDX-License-Identifier: MIT */
/*
 * selftest.c - the hosted targets' (x86-32, MIPS and s390x under qemu-user)
 * proof that results reach the exit status: built with -DHK_PORT_SELFTEST=N
 * by ports/selftest. 1 returns 0, 2 returns 1, 3 executes a trap (the
 * process dies of a signal: non-zero status), 4 calls abort().
 * The hosted test programs themselves use tests/harness/host_main.c.
 */
#include <stdio.h>
#include <stdlib.h>

int main(void)
{
    switch (HK_PORT_SELFTEST) {
    case 1:
        puts("selftest: pass");
        return 0;
    case 2:
        puts("selftest: a failing check");
        return 1;
    case 3:
        puts("selftest: trap");
        fflush(stdout);
        __builtin_trap();
    case 4:
        puts("selftest: abort");
        fflush(stdout);
        abort();
    default:
        return 3;
    }
}
