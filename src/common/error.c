/*
 * error.c - the one place heapkit reports errors: a process-wide hook, a
 * counter, and the names of the error codes. The library never prints.
 */
#include "common/hk_internal.h"
#if HK_DEBUG >= 1
#include "heapkit/debug.h"
#endif

static hk_error_fn error_hook;
static void *error_ctx;
static uint64_t error_count;

void hk_set_error_hook(hk_error_fn fn, void *ctx)
{
    error_hook = fn;
    error_ctx = ctx;
}

uint64_t hk_error_count(void)
{
    return error_count;
}

void hk__report(int code, const void *ptr, const char *reason)
{
    error_count++;
    if (error_hook)
        error_hook(code, ptr, reason, error_ctx);
#if HK_DEBUG >= 1
    else /* no hook installed: the compile-time policy (HK_DEBUG_POLICY) */
        hk_debug_policy_hook(code, ptr, reason, NULL);
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
