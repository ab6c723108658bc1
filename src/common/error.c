/* SPDX-License-Identifier: MIT */
/*
 * error.c - the one place heapkit reports errors: a process-wide hook, a
 * counter, and the names of the error codes. The library never prints.
 */
#include "common/hk_internal.h"

static hk_error_fn error_hook;
static void *error_ctx;
#if HK_DEBUG >= 1
/* Registered from above (hk__set_fallback_error_hook): common calls up
 * into nothing it knows by name. Written and read atomically, as a heap's
 * init may register it while another thread reports. */
static hk_error_fn fallback_hook;

void hk__set_fallback_error_hook(hk_error_fn fn)
{
    __atomic_store_n(&fallback_hook, fn, __ATOMIC_RELAXED);
}
#endif

/* ---- the error counter -------------------------------------------------
 * Reports may come from several threads and from interrupts at once, so the
 * increment must not lose counts. It is an unsigned long (32 bits on every
 * ILP32 target, 64 on LP64 hosts), read through a uint64_t. 64-bit atomics
 * do not exist on ARMv6-M, RV32 or Xtensa LX106, and a torn 64-bit read
 * would be wrong too, so the counter is the machine's natural word:
 *   - where that word has lock-free atomic add (__GCC_ATOMIC_LONG_LOCK_FREE
 *     == 2: x86, ARMv7-M and up with LDREX/STREX, RISC-V with A, ...): a
 *     relaxed atomic fetch-add, safe between threads, cores and interrupts;
 *   - on cores without one: the increment runs with interrupts masked
 *     (ARMv6-M PRIMASK, RISC-V M-mode mstatus.MIE, Xtensa PS.INTLEVEL 15),
 *     which is exact on these single-core parts;
 *   - anywhere else the integrator defines HK_ERROR_COUNT_INC(p) (e.g. with
 *     an OS's atomic), or gets a plain increment (documented as not
 *     interrupt-safe there).
 * A 32-bit count wraps after 4,294,967,295 reports. */
static unsigned long error_count;

#if !defined(HK_ERROR_COUNT_INC)
#if defined(__GCC_ATOMIC_LONG_LOCK_FREE) && __GCC_ATOMIC_LONG_LOCK_FREE == 2
#define HK_ERROR_COUNT_INC(p) ((void)__atomic_fetch_add((p), 1ul, __ATOMIC_RELAXED))
#elif defined(__arm__) && defined(__ARM_ARCH_PROFILE) && __ARM_ARCH_PROFILE == 'M'
#include "heapkit/port/lock_cortexm.h"
#define HK_ERROR_COUNT_INC(p) do { uintptr_t s_ = hk_lock_cortexm_primask(NULL); \
    (*(volatile unsigned long *)(p))++; hk_unlock_cortexm_primask(NULL, s_); } while (0)
#elif defined(__riscv)
#include "heapkit/port/lock_riscv.h"
#define HK_ERROR_COUNT_INC(p) do { uintptr_t s_ = hk_lock_riscv_mie(NULL); \
    (*(volatile unsigned long *)(p))++; hk_unlock_riscv_mie(NULL, s_); } while (0)
#elif defined(__XTENSA__)
#define HK_ERROR_COUNT_INC(p) do { unsigned s_; \
    __asm__ volatile("rsil %0, 15" : "=a"(s_) : : "memory"); \
    (*(volatile unsigned long *)(p))++; \
    __asm__ volatile("wsr %0, ps\n\trsync" : : "a"(s_) : "memory"); } while (0)
#else
#define HK_ERROR_COUNT_INC(p) ((void)(*(volatile unsigned long *)(p))++)
#endif
#endif

void hk_set_error_hook(hk_error_fn fn, void *ctx)
{
    error_hook = fn;
    error_ctx = ctx;
}

uint64_t hk_error_count(void)
{
    /* one aligned word: a single load on every target, never torn */
    return (uint64_t)*(volatile const unsigned long *)&error_count;
}

void hk__report(int code, const void *ptr, const char *reason)
{
    HK_ERROR_COUNT_INC(&error_count);
    if (error_hook)
        error_hook(code, ptr, reason, error_ctx);
#if HK_DEBUG >= 1
    else { /* no hook installed: the fallback, if a layer above set one */
        hk_error_fn fb = __atomic_load_n(&fallback_hook, __ATOMIC_RELAXED);
        if (fb)
            fb(code, ptr, reason, NULL);
    }
#endif
}

void hk__assert_fail(const char *expr, const char *file, int line)
{
    (void)file;
    (void)line;
    hk__report(HK_ECORRUPT, NULL, expr);
    __builtin_trap();
}

const char *hk_strerror(int code)
{
    switch (code) {
    case HK_OK: return "HK_OK: success";
    case HK_EINVAL: return "HK_EINVAL: invalid argument";
    case HK_ENOMEM: return "HK_ENOMEM: out of memory";
    case HK_EOVERLAP: return "HK_EOVERLAP: region overlaps an existing one";
    case HK_EBADPTR: return "HK_EBADPTR: pointer is not a live block of this allocator";
    case HK_EDOUBLEFREE: return "HK_EDOUBLEFREE: block already free";
    case HK_ECORRUPT: return "HK_ECORRUPT: allocator metadata is damaged";
    case HK_ERANGE: return "HK_ERANGE: size or count out of range";
    case HK_EBUSY: return "HK_EBUSY: resource in use";
    case HK_ENOTSUP: return "HK_ENOTSUP: not supported";
    case HK_EFAULT: return "HK_EFAULT: access violation";
    default: return "unknown error";
    }
}

unsigned hk_stats_frag_permille(const hk_stats_t *s)
{
    if (!s || s->free == 0 || s->largest_free >= s->free)
        return 0;
    /* 1000 * (free - largest) / free without overflow on 32-bit: scale down
     * both operands until free fits in 22 bits. */
    size_t f = s->free, l = s->largest_free;
    while (f > (1u << 22)) {
        f >>= 1;
        l >>= 1;
    }
    return (unsigned)((1000u * (f - l)) / f);
}
