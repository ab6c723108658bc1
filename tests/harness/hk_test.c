/* SPDX-License-Identifier: MIT */
/*
 * hk_test.c - the harness behind hk_test.h. Freestanding: only <stdarg.h>,
 * <stddef.h> and <stdint.h>, so it links on boards without a C library.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "hk_test.h"
#include "heapkit/types.h"

unsigned long hk_test_checks, hk_test_failures;
hk_test_errors_t hk_test_errors;
static unsigned long suite_failures;
static const char *current_test = "?";
static int current_skipped;

/* ---- output ---------------------------------------------------------- */
static void put_s(const char *s)
{
    while (*s)
        hk_test_putc(*s++);
}

static void put_u(unsigned long long v, unsigned base)
{
    char buf[24];
    int i = 0;
    do {
        buf[i++] = "0123456789abcdef"[v % base];
        v /= base;
    } while (v);
    while (i)
        hk_test_putc(buf[--i]);
}

void hk_test_printf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    for (; *fmt; fmt++) {
        if (*fmt != '%') {
            hk_test_putc(*fmt);
            continue;
        }
        int len = 0; /* 1 = l, 2 = ll, 3 = z */
        while (*++fmt == 'l')
            len++;
        if (*fmt == 'z') {
            len = 3;
            fmt++;
        }
        unsigned long long u;
        switch (*fmt) {
        case 'd': {
            long long v = len == 2 ? va_arg(ap, long long)
                        : len == 1 ? va_arg(ap, long)
                        : len == 3 ? (long long)va_arg(ap, size_t)
                                   : va_arg(ap, int);
            if (v < 0) {
                hk_test_putc('-');
                u = (unsigned long long)(-(v + 1)) + 1u;
            } else {
                u = (unsigned long long)v;
            }
            put_u(u, 10);
            break;
        }
        case 'u':
        case 'x':
            u = len == 3 ? va_arg(ap, size_t)
              : len == 2 ? va_arg(ap, unsigned long long)
              : len == 1 ? va_arg(ap, unsigned long)
                         : va_arg(ap, unsigned);
            put_u(u, *fmt == 'x' ? 16u : 10u);
            break;
        case 'p':
            put_s("0x");
            put_u((uintptr_t)va_arg(ap, void *), 16);
            break;
        case 's': {
            const char *s = va_arg(ap, const char *);
            put_s(s ? s : "(null)");
            break;
        }
        case 'c':
            hk_test_putc((char)va_arg(ap, int));
            break;
        case '%':
            hk_test_putc('%');
            break;
        default:
            hk_test_putc('?');
            if (!*fmt)
                goto out;
        }
    }
out:
    va_end(ap);
}

/* ---- checks ---------------------------------------------------------- */
int hk_test_quiet;

void hk_test_fail(const char *file, int line, const char *expr)
{
    hk_test_failures++;
    if (hk_test_quiet)
        return;
    hk_test_printf("FAIL %s:%d: [%s] %s\n", file, line, current_test, expr);
    if (hk_test_errors.last_reason)
        hk_test_printf("     last reported error: %d %s at %p\n", hk_test_errors.last_code,
                       hk_test_errors.last_reason, hk_test_errors.last_ptr);
}

void hk_test_fail_eq(const char *file, int line, const char *expr,
                     unsigned long long a, unsigned long long b)
{
    hk_test_failures++;
    if (hk_test_quiet)
        return;
    hk_test_printf("FAIL %s:%d: [%s] %s (%llu != %llu)\n", file, line, current_test, expr,
                   a, b);
    if (hk_test_errors.last_reason)
        hk_test_printf("     last reported error: %d %s at %p\n", hk_test_errors.last_code,
                       hk_test_errors.last_reason, hk_test_errors.last_ptr);
}

unsigned long hk_test_count_failures(void (*fn)(void *ctx), void *ctx)
{
    unsigned long before = hk_test_failures;
    int quiet = hk_test_quiet;
    hk_test_quiet = 1;
    fn(ctx);
    hk_test_quiet = quiet;
    unsigned long n = hk_test_failures - before;
    hk_test_failures = before;
    return n;
}

void hk_test_skip(const char *why)
{
    current_skipped = 1;
    hk_test_printf("SKIP %s: %s\n", current_test, why);
}

void hk_test_run(const char *name, void (*fn)(void))
{
    unsigned long before = hk_test_failures;
    current_test = name;
    current_skipped = 0;
    fn();
    if (hk_test_failures != before)
        hk_test_printf("  test %s FAILED\n", name);
    current_test = "?";
}

/* ---- randomness ------------------------------------------------------ */
static uint64_t splitmix(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

void hk_rng_seed(hk_rng_t *r, uint64_t seed)
{
    r->s[0] = splitmix(&seed);
    r->s[1] = splitmix(&seed) | 1u;
}

/* xorshift128+ (Vigna 2014): fast, good enough for test inputs. */
uint64_t hk_rng_next(hk_rng_t *r)
{
    uint64_t s1 = r->s[0];
    const uint64_t s0 = r->s[1];
    r->s[0] = s0;
    s1 ^= s1 << 23;
    r->s[1] = s1 ^ s0 ^ (s1 >> 17) ^ (s0 >> 26);
    return r->s[1] + s0;
}

uint64_t hk_rng_below(hk_rng_t *r, uint64_t n)
{
    return n ? hk_rng_next(r) % n : 0;
}

/* ---- memory ---------------------------------------------------------- */
static unsigned char arena[HK_TEST_ARENA_SIZE] __attribute__((aligned(64)));
static uint64_t arena_fills;

void *hk_test_arena(size_t *size)
{
    hk_rng_t r;
    hk_rng_seed(&r, 0xa5e11a + arena_fills++);
    for (size_t i = 0; i + 8 <= sizeof arena; i += 8) {
        uint64_t v = hk_rng_next(&r);
        for (int k = 0; k < 8; k++)
            arena[i + (size_t)k] = (unsigned char)(v >> (8 * k));
    }
    *size = sizeof arena;
    return arena;
}

void hk_test_memset(void *p, int v, size_t n)
{
    volatile unsigned char *d = p;
    while (n--)
        *d++ = (unsigned char)v;
}

int hk_test_memcmp(const void *a, const void *b, size_t n)
{
    const unsigned char *x = a, *y = b;
    for (; n; n--, x++, y++)
        if (*x != *y)
            return *x < *y ? -1 : 1;
    return 0;
}

/* ---- error capture --------------------------------------------------- */

static void record_error(int code, const void *ptr, const char *reason, void *ctx)
{
    (void)ctx;
    hk_test_errors.count++;
    hk_test_errors.last_code = code;
    hk_test_errors.last_ptr = ptr;
    hk_test_errors.last_reason = reason;
}

void hk_test_capture_errors(void)
{
    hk_test_errors.count = 0;
    hk_test_errors.last_code = 0;
    hk_test_errors.last_ptr = NULL;
    hk_test_errors.last_reason = NULL;
    hk_set_error_hook(record_error, NULL);
}

/* ---- lock probe ------------------------------------------------------ */
static uintptr_t probe_lock(void *ctx)
{
    hk_test_lock_probe_t *l = ctx;
    l->locks++;
    if (++l->depth > l->max_depth)
        l->max_depth = l->depth;
    uintptr_t t = (uintptr_t)0x5a000000u + l->locks;
    if (l->depth >= 1 && l->depth <= 4)
        l->token[l->depth - 1] = t;
    return t;
}

static void probe_unlock(void *ctx, uintptr_t saved)
{
    hk_test_lock_probe_t *l = ctx;
    if (l->depth < 1 || l->depth > 4 || l->token[l->depth - 1] != saved)
        l->bad_saved++;
    l->depth--;
}

hk_lock_t hk_test_lock_probe(hk_test_lock_probe_t *p)
{
    p->depth = p->max_depth = 0;
    p->locks = 0;
    p->bad_saved = 0;
    hk_lock_t l = { probe_lock, probe_unlock, p };
    return l;
}

/* ---- suites ---------------------------------------------------------- */
#define HK_X(name) void hk_suite_##name(void);
#include "hk_suites.inc"
#undef HK_X

static const struct {
    const char *name;
    void (*fn)(void);
} suites[] = {
#define HK_X(name) { #name, hk_suite_##name },
#include "hk_suites.inc"
#undef HK_X
    { NULL, NULL }
};

static int same(const char *a, const char *b)
{
    while (*a && *a == *b) {
        a++;
        b++;
    }
    return *a == *b;
}

int hk_test_main(const char *suite)
{
    int ran = 0;
    for (int i = 0; suites[i].name; i++) {
        if (suite && !same(suite, suites[i].name))
            continue;
        unsigned long before = hk_test_failures;
        hk_test_capture_errors();
        suites[i].fn();
        hk_set_error_hook(NULL, NULL);
        suite_failures += hk_test_failures != before;
        hk_test_printf("suite %s: %s\n", suites[i].name,
                       hk_test_failures != before ? "FAILED" : "ok");
        ran++;
    }
    if (!ran) {
        hk_test_printf("no suite named %s\n", suite ? suite : "(any)");
        return 1;
    }
    hk_test_printf("%lu passed, %lu failed\n", hk_test_checks - hk_test_failures,
                   hk_test_failures);
    return hk_test_failures ? 1 : 0;
}
