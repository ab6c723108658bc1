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
