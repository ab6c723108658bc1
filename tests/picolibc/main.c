/* SPDX-License-Identifier: MIT */
/* main.c - the picolibc image: the harness prints through picolibc's stdio
 * (semihosting) and the exit status reaches QEMU's through exit(). */
#include <stdio.h>

#include "hk_test.h"

void hk_test_putc(char c)
{
    putchar(c);
}

int main(void)
{
    int rc = hk_test_main(NULL);
    fflush(stdout);
    return rc ? 1 : 0;
}
