/* SPDX-License-Identifier: MIT */
/*
 * hk_internal.h - what every heapkit component shares inside the library:
 * bit intrinsics, the three levels of checks, the one error reporter and the
 * lock helpers. Nothing here is public API.
 *
 * Naming: public symbols are hk_*, cross-file internal ones hk__*, and
 * file-local ones are static.
 *
 * Checks come in three levels (see STYLE: cheap / internal / expensive):
 *   - misuse checks on the caller's input are always on and report through
 *     hk__report(), naming the likely cause;
 *   - HK_ASSERT(x) are internal invariants, compiled in with HK_ASSERTS;
 *   - the expensive walks are the public hk_*_validate() functions.
 */
#ifndef HK_INTERNAL_H
#define HK_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "heapkit/types.h"

#if defined(__GNUC__) || defined(__clang__)
#define HK_LIKELY(x) __builtin_expect(!!(x), 1)
#define HK_UNLIKELY(x) __builtin_expect(!!(x), 0)
#if defined(__OPTIMIZE_SIZE__)
#define HK_INLINE static inline /* -Os: the compiler decides, code is not duplicated */
#else
#define HK_INLINE static inline __attribute__((always_inline))
#endif
#define HK_NOINLINE __attribute__((noinline))
#else
#define HK_LIKELY(x) (x)
#define HK_UNLIKELY(x) (x)
#define HK_INLINE static inline
#define HK_NOINLINE
#endif

/* ---- bit intrinsics ----------------------------------------------------
 * hk__fls(x): index of the highest set bit (x > 0); hk__ffs(x): index of the
 * lowest set bit (x > 0). Both map to one instruction where the ISA has it
 * (bsr/lzcnt, clz on ARMv7-M; libgcc on ARMv6-M and RV without Zbb). */
HK_INLINE unsigned hk__fls(size_t x)
{
#if SIZE_MAX > 0xffffffffu
    /* clz ^ 63 is 63 - clz (clz <= 63); GCC turns this form into one bsr,
     * the subtraction it keeps as bsr + xor + sub when more arithmetic
     * follows (the TLSF class computation) */
    return (unsigned)__builtin_clzll((unsigned long long)x) ^ 63u;
#else
    return 31u - (unsigned)__builtin_clzl((unsigned long)x); /* the smaller form on Cortex-M */
#endif
}

HK_INLINE unsigned hk__ffs(size_t x)
{
#if SIZE_MAX > 0xffffffffu
    return (unsigned)__builtin_ctzll((unsigned long long)x);
#else
    return (unsigned)__builtin_ctzl((unsigned long)x);
#endif
}

HK_INLINE unsigned hk__ffs32(uint32_t x)
{
    return (unsigned)__builtin_ctzl((unsigned long)x);
}

/* Round x up to a multiple of a (a power of two); caller guarantees no wrap. */
HK_INLINE size_t hk__align_up(size_t x, size_t a)
{
    return (x + (a - 1)) & ~(a - 1);
}

HK_INLINE uintptr_t hk__align_up_ptr(uintptr_t x, uintptr_t a)
{
    return (x + (a - 1)) & ~(a - 1);
}

HK_INLINE int hk__is_pow2(size_t x)
{
    return x && !(x & (x - 1));
}

/* ---- the one error reporter --------------------------------------------
 * Every detected misuse or corruption goes through here: it counts the
 * error and calls the registered hook (types.h). */
void hk__report(int code, const void *ptr, const char *reason);
#if HK_DEBUG >= 1
/* The hook hk__report calls (with ctx NULL) while none is registered with
 * hk_set_error_hook: a layer above common registers it (the debug layer
 * its compile-time policy, HK_DEBUG_POLICY). NULL: none. */
void hk__set_fallback_error_hook(hk_error_fn fn);
#endif

/* ---- internal assertions ------------------------------------------------ */
#ifndef HK_ASSERT_FAIL
#define HK_ASSERT_FAIL(expr, file, line) hk__assert_fail(expr, file, line)
#endif
void hk__assert_fail(const char *expr, const char *file, int line);
#if HK_ASSERTS
#define HK_ASSERT(x) ((x) ? (void)0 : HK_ASSERT_FAIL(#x, __FILE__, __LINE__))
#else
#define HK_ASSERT(x) ((void)0)
#endif

/* ---- lock helpers ------------------------------------------------------
 * uintptr_t saved = hk__lock(&x->lock); ... hk__unlock(&x->lock, saved);
 * Both hooks are set or neither (checked where a lock is configured). */
HK_INLINE uintptr_t hk__lock(const hk_lock_t *l)
{
    if (HK_UNLIKELY(l->lock != NULL))
        return l->lock(l->ctx);
    return 0;
}

HK_INLINE void hk__unlock(const hk_lock_t *l, uintptr_t saved)
{
    if (HK_UNLIKELY(l->unlock != NULL))
        l->unlock(l->ctx, saved);
}

/* ---- freestanding memory helpers --------------------------------------
 * The library must link without a C library, so it uses the compiler's
 * builtins (which fall back to memcpy/memset symbols the target provides). */
#define hk__memcpy(d, s, n) __builtin_memcpy((d), (s), (n))
#define hk__memmove(d, s, n) __builtin_memmove((d), (s), (n))
#define hk__memset(d, v, n) __builtin_memset((d), (v), (n))

#endif /* HK_INTERNAL_H */
