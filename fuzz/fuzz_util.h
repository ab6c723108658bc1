/* SPDX-License-Identifier: MIT */
/*
 * fuzz_util.h - what every heapkit fuzz harness shares: a counter of the
 * misuse reports the library made (through the one error hook), and
 * `must(x)`, which turns a failed expectation into a crash libFuzzer keeps.
 */
#ifndef HK_FUZZ_UTIL_H
#define HK_FUZZ_UTIL_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

static uint64_t reports __attribute__((unused));

/* The error hook of every harness: count, and let the harness compare. */
__attribute__((unused)) static void hook(int code, const void *ptr, const char *reason, void *ctx)
{
    (void)code, (void)ptr, (void)reason, (void)ctx;
    reports++;
}

/* A failed expectation: print it and abort (a crash for libFuzzer). */
#define must(x)                                                            \
    do {                                                                   \
        if (!(x)) {                                                        \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #x); \
            abort();                                                       \
        }                                                                  \
    } while (0)

#endif /* HK_FUZZ_UTIL_H */
