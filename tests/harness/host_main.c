/* SPDX-License-Identifier: MIT */
/*
 * host_main.c - runs the test suites in a hosted process:
 *     hk_tests            every suite
 *     hk_tests NAME       one suite (CTest registers one test per suite)
 */
#include <stdio.h>

#include "hk_test.h"

void hk_test_putc(char c)
{
    putchar(c);
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    int rc = hk_test_main(argc > 1 ? argv[1] : NULL);
    fflush(stdout);
    return rc;
}
