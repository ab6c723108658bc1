/* SPDX-License-Identifier: MIT */
/*
 * hk_libc.c - memcpy, memmove, memset and memcmp for targets without a C
 * library (the bare-metal Cortex-M and RISC-V ports).
 *
 * heapkit itself calls only the compiler builtins (hk__memcpy and friends in
 * hk_internal.h). GCC and clang expand those inline when the size is a small
 * constant and otherwise emit a call to the standard symbol, which a freestanding
 * image must define. These four are that definition: short and correct first,
 * with a word-at-a-time path when both pointers share a word alignment, so a
 * 64 KiB block copy under QEMU costs a quarter of the byte loop.
 *
 * Two traps this file avoids:
 *  - GCC recognises a byte-copy loop and turns it back into a call to memcpy,
 *    which here would call itself forever. The loops below are compiled with
 *    that pattern recognition off (the optimize attribute, GCC only; clang
 *    does not rewrite loops inside functions named like the builtin).
 *  - Word accesses go through `void *` casts of addresses already checked to
 *    be word-aligned, so no unaligned word access is ever issued; Cortex-M0
 *    faults on those.
 */
#include <stddef.h>
#include <stdint.h>

#include "hk_libc.h"

#if defined(__GNUC__) && !defined(__clang__)
#define HK_NO_LOOP_IDIOM __attribute__((optimize("no-tree-loop-distribute-patterns")))
#else
#define HK_NO_LOOP_IDIOM
#endif

typedef uintptr_t word_t; /* the machine word: 4 bytes on RV32/ARM, 8 on RV64 */
#define WORD_MASK ((uintptr_t)(sizeof(word_t) - 1))

static int both_word_aligned(const void *a, const void *b)
{
    return (((uintptr_t)a | (uintptr_t)b) & WORD_MASK) == 0;
}

/* Forward copy, words when both pointers allow. Safe for overlapping ranges
 * with dst below src: every word is read before the bytes it overlaps are
 * written. */
HK_NO_LOOP_IDIOM static void copy_forward(unsigned char *d, const unsigned char *s, size_t n)
{
    if (both_word_aligned(d, s)) {
        word_t *dw = (void *)d;
        const word_t *sw = (const void *)s;
        for (; n >= sizeof(word_t); n -= sizeof(word_t))
            *dw++ = *sw++;
        d = (void *)dw;
        s = (const void *)sw;
    }
    while (n--)
        *d++ = *s++;
}

/* Backward copy from the ends, for overlapping ranges with dst above src. */
HK_NO_LOOP_IDIOM static void copy_backward(unsigned char *d, const unsigned char *s, size_t n)
{
    d += n;
    s += n;
    if (both_word_aligned(d, s)) {
        word_t *dw = (void *)d;
        const word_t *sw = (const void *)s;
        for (; n >= sizeof(word_t); n -= sizeof(word_t))
            *--dw = *--sw;
        d = (void *)dw;
        s = (const void *)sw;
    }
    while (n--)
        *--d = *--s;
}

void *memcpy(void *restrict dst, const void *restrict src, size_t n)
{
    copy_forward(dst, src, n);
    return dst;
}

void *memmove(void *dst, const void *src, size_t n)
{
    uintptr_t d = (uintptr_t)dst, s = (uintptr_t)src;
    /* Forward is safe unless dst starts inside [src, src + n). */
    if (d - s >= n)
        copy_forward(dst, src, n);
    else if (d != s)
        copy_backward(dst, src, n);
    return dst;
}

HK_NO_LOOP_IDIOM void *memset(void *dst, int value, size_t n)
{
    unsigned char *d = dst;
    unsigned char v = (unsigned char)value;
    while (n && ((uintptr_t)d & WORD_MASK)) {
        *d++ = v;
        n--;
    }
    word_t w = (word_t)-1 / 0xffu * v; /* v repeated in every byte */
    word_t *dw = (void *)d;
    for (; n >= sizeof(word_t); n -= sizeof(word_t))
        *dw++ = w;
    d = (void *)dw;
    while (n--)
        *d++ = v;
    return dst;
}

int memcmp(const void *a, const void *b, size_t n)
{
    const unsigned char *x = a, *y = b;
    for (; n; n--, x++, y++)
        if (*x != *y)
            return *x < *y ? -1 : 1;
    return 0;
}

/* ---- compiler helpers a libgcc may lack (HK_LIBC_GCC_HELPERS) ----------------
 * GCC turns a division the core cannot do in hardware into a call to
 * __udivsi3 and friends (the libgcc interface, "Integer library routines"
 * in GCC's internals manual). Debian's Xtensa LX106 libgcc leaves out the
 * unsigned and signed 32- and 64-bit division and the 64-bit multiply,
 * because the ESP8266's ROM provides them on the chip; the LX106 toolchain
 * file (cmake/toolchains/xtensa-lx106.cmake) turns these on.
 *
 * heapkit's library needs none of them (its paths divide only by powers of
 * two, as shifts); the test harness does (its PRNG's 64-bit multiply, %
 * in hk_rng_below, decimal printing). Restoring shift-subtract division:
 * one quotient bit per step, 32 or 64 steps, exact for every input; the
 * multiply is schoolbook on 16-bit halves, using only 32-bit multiplies.
 * Division by zero returns an all-ones quotient (no core here traps on it). */
#if defined(HK_LIBC_GCC_HELPERS) && HK_LIBC_GCC_HELPERS
uint32_t __udivsi3(uint32_t n, uint32_t d);
uint32_t __umodsi3(uint32_t n, uint32_t d);
int32_t __divsi3(int32_t n, int32_t d);
uint64_t __udivdi3(uint64_t n, uint64_t d);
uint64_t __umoddi3(uint64_t n, uint64_t d);
int64_t __divdi3(int64_t n, int64_t d);
int64_t __moddi3(int64_t n, int64_t d);
uint64_t __muldi3(uint64_t a, uint64_t b);
uint64_t __umulsidi3(uint32_t a, uint32_t b);

static uint32_t udivmod32(uint32_t n, uint32_t d, uint32_t *rem)
{
    uint32_t q = 0, r = 0;
    if (d == 0) {
        *rem = n;
        return ~(uint32_t)0;
    }
    for (int i = 31; i >= 0; i--) {
        r = (r << 1) | ((n >> i) & 1u);
        if (r >= d) {
            r -= d;
            q |= (uint32_t)1 << i;
        }
    }
    *rem = r;
    return q;
}

static uint64_t udivmod64(uint64_t n, uint64_t d, uint64_t *rem)
{
    uint64_t q = 0, r = 0;
    if (d == 0) {
        *rem = n;
        return ~(uint64_t)0;
    }
    if ((n >> 32) == 0 && (d >> 32) == 0) { /* the common case: 32 steps */
        uint32_t r32, q32 = udivmod32((uint32_t)n, (uint32_t)d, &r32);
        *rem = r32;
        return q32;
    }
    for (int i = 63; i >= 0; i--) {
        uint64_t carry = r >> 63; /* r < d; 2r + 1 can exceed 64 bits when d > 2^63 */
        r = (r << 1) | ((n >> i) & 1u);
        if (carry || r >= d) {
            r -= d;
            q |= (uint64_t)1 << i;
        }
    }
    *rem = r;
    return q;
}

uint32_t __udivsi3(uint32_t n, uint32_t d)
{
    uint32_t r;
    return udivmod32(n, d, &r);
}

uint32_t __umodsi3(uint32_t n, uint32_t d)
{
    uint32_t r;
    udivmod32(n, d, &r);
    return r;
}

int32_t __divsi3(int32_t n, int32_t d)
{
    uint32_t un = n < 0 ? 0u - (uint32_t)n : (uint32_t)n;
    uint32_t ud = d < 0 ? 0u - (uint32_t)d : (uint32_t)d;
    uint32_t r, q = udivmod32(un, ud, &r);
    return (int32_t)((n < 0) != (d < 0) ? 0u - q : q);
}

uint64_t __udivdi3(uint64_t n, uint64_t d)
{
    uint64_t r;
    return udivmod64(n, d, &r);
}

uint64_t __umoddi3(uint64_t n, uint64_t d)
{
    uint64_t r;
    udivmod64(n, d, &r);
    return r;
}

int64_t __divdi3(int64_t n, int64_t d)
{
    uint64_t un = n < 0 ? 0u - (uint64_t)n : (uint64_t)n;
    uint64_t ud = d < 0 ? 0u - (uint64_t)d : (uint64_t)d;
    uint64_t r, q = udivmod64(un, ud, &r);
    return (int64_t)((n < 0) != (d < 0) ? 0u - q : q);
}

/* libgcc's own __moddi3 would call __udivmoddi4, which needs __umulsidi3:
 * also absent from that libgcc. The remainder takes the dividend's sign. */
int64_t __moddi3(int64_t n, int64_t d)
{
    uint64_t un = n < 0 ? 0u - (uint64_t)n : (uint64_t)n;
    uint64_t ud = d < 0 ? 0u - (uint64_t)d : (uint64_t)d;
    uint64_t r;
    udivmod64(un, ud, &r);
    return (int64_t)(n < 0 ? 0u - r : r);
}

/* The low 64 bits of a * b from 16-bit pieces of the low words (each
 * partial product fits 32 bits) plus the two cross terms, which only reach
 * the high word. */
static uint64_t mul32x32(uint32_t a, uint32_t b)
{
    uint32_t al = a & 0xffffu, ah = a >> 16, bl = b & 0xffffu, bh = b >> 16;
    uint32_t ll = al * bl, lh = al * bh, hl = ah * bl, hh = ah * bh;
    uint32_t mid = (ll >> 16) + (lh & 0xffffu) + (hl & 0xffffu);
    uint32_t lo = (ll & 0xffffu) | (mid << 16);
    uint32_t hi = hh + (lh >> 16) + (hl >> 16) + (mid >> 16);
    return ((uint64_t)hi << 32) | lo;
}

uint64_t __umulsidi3(uint32_t a, uint32_t b)
{
    return mul32x32(a, b);
}

uint64_t __muldi3(uint64_t a, uint64_t b)
{
    uint32_t alo = (uint32_t)a, ahi = (uint32_t)(a >> 32);
    uint32_t blo = (uint32_t)b, bhi = (uint32_t)(b >> 32);
    uint64_t p = mul32x32(alo, blo);
    return p + ((uint64_t)(alo * bhi + ahi * blo) << 32);
}
#endif /* HK_LIBC_GCC_HELPERS */
