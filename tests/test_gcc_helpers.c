/* SPDX-License-Identifier: MIT */
/*
 * test_gcc_helpers.c - the compiler's arithmetic helpers, which a
 * freestanding port may have to bring itself (ports/freestanding: the
 * division and 64-bit multiply in hk_libc.c, HK_LIBC_GCC_HELPERS, and the
 * IEEE 754 operations in hk_softfloat.c; the Xtensa LX106 image uses both,
 * because Debian's libgcc for that core leaves them to the chip's ROM).
 *
 *  - Division: whoever provides it (hardware, libgcc, the port), the
 *    quotient and remainder must satisfy n == q * d + r with 0 <= r < d
 *    (and C's truncation for signed operands), for 32- and 64-bit operands
 *    of every magnitude. The identity needs no reference: it is what
 *    division is.
 *  - Soft float: hk_softfloat.c is compiled into this suite under names of
 *    its own and compared, bit for bit, with the target's floating point
 *    (an FPU, libgcc's soft float, or on LX106 the routines themselves,
 *    where the exact cases below are the check) on operands of every class:
 *    normal, subnormal, near overflow, zeros, infinities, NaN. Targets that
 *    evaluate in a wider format (x87: FLT_EVAL_METHOD != 0) round twice and
 *    are compared on the exact cases only.
 */
#include <float.h>
#include <stdint.h>

#include "hk_test.h"

#define HK_SF_NAME(name) hk_sf##name
#include "../ports/freestanding/hk_softfloat.c"

/* ---- division ------------------------------------------------------------ */
static uint64_t rnd_magnitude(hk_rng_t *r, unsigned bits)
{
    uint64_t v = hk_rng_next(r);
    unsigned keep = 1u + (unsigned)(hk_rng_next(r) & 63u) % bits;
    return keep >= 64u ? v : v & (((uint64_t)1 << keep) - 1u);
}

static void test_division_identity(void)
{
    hk_rng_t r;
    hk_rng_seed(&r, 0xd1u);
    unsigned n_ops = 20000u / HK_TEST_SCALE_DIV, bad32 = 0, bad64 = 0, bads = 0;
    for (unsigned i = 0; i < n_ops; i++) {
        volatile uint32_t n32 = (uint32_t)rnd_magnitude(&r, 32), d32 = (uint32_t)rnd_magnitude(&r, 32);
        volatile uint64_t n64 = rnd_magnitude(&r, 64), d64 = rnd_magnitude(&r, 64);
        if (d32 == 0)
            d32 = 7u;
        if (d64 == 0)
            d64 = 0xfffffffffffffffbull;
        uint32_t q32 = n32 / d32, r32 = n32 % d32;
        bad32 += !(r32 < d32 && (uint64_t)q32 * d32 + r32 == n32);
        uint64_t q64 = n64 / d64, r64 = n64 % d64, hi, lo;
        mul64x64(q64, d64, &hi, &lo); /* the full product (hk_softfloat.c), no wrap */
        bad64 += !(r64 < d64 && hi == 0 && lo <= n64 && n64 - lo == r64);
        volatile int32_t sn = (int32_t)n32, sd = (int32_t)(d32 | 1u);
        int32_t sq = sn / sd, sr = sn % sd;
        int64_t back = (int64_t)sq * sd + sr;
        bads += !(back == sn && (sr == 0 || (sr < 0) == (sn < 0)) &&
                  (sr < 0 ? -(int64_t)sr : sr) < (sd < 0 ? -(int64_t)sd : sd));
    }
    HK_CHECK_EQ(bad32, 0);
    HK_CHECK_EQ(bad64, 0);
    HK_CHECK_EQ(bads, 0);
    /* edges */
    volatile uint64_t big = UINT64_MAX, one = 1, top = (uint64_t)1 << 63;
    HK_CHECK_EQ(big / one, UINT64_MAX);
    HK_CHECK_EQ(big / top, 1);
    HK_CHECK_EQ(big % top, top - 1u);
    HK_CHECK_EQ(big / (top + 1u), 1);
    volatile uint32_t b32 = UINT32_MAX, d3 = 3;
    HK_CHECK_EQ(b32 / d3, 0x55555555u);
    volatile int64_t neg = -7, two = 2;
    HK_CHECK_EQ(neg / two, (uint64_t)(int64_t)-3);
    HK_CHECK_EQ(neg % two, (uint64_t)(int64_t)-1);
}

/* ---- soft float ----------------------------------------------------------- */
static uint64_t bits_of(double d)
{
    union { double d; uint64_t u; } v;
    v.d = d;
    return v.u;
}

static double double_of(uint64_t u)
{
    union { double d; uint64_t u; } v;
    v.u = u;
    return v.d;
}

static uint32_t fbits_of(float f)
{
    union { float f; uint32_t u; } v;
    v.f = f;
    return v.u;
}

static float float_of(uint32_t u)
{
    union { float f; uint32_t u; } v;
    v.u = u;
    return v.f;
}

static int same64(uint64_t a, uint64_t b) /* any NaN equals any NaN */
{
    uint64_t inf = (uint64_t)0x7ff << 52, m = ~((uint64_t)1 << 63);
    return a == b || ((a & m) > inf && (b & m) > inf);
}

static int same32(uint32_t a, uint32_t b)
{
    return a == b || ((a & 0x7fffffffu) > 0x7f800000u && (b & 0x7fffffffu) > 0x7f800000u);
}

/* a double of a random class: normal of any exponent, subnormal, near
 * 1.0, near overflow, or a special */
static double any_double(hk_rng_t *r)
{
    uint64_t u = hk_rng_next(r), frac = u & (((uint64_t)1 << 52) - 1u), sign = u & ((uint64_t)1 << 63);
    switch (hk_rng_next(r) & 7u) {
    case 0: return double_of(sign | frac);                                   /* subnormal */
    case 1: return double_of(sign | ((uint64_t)(1020u + (u >> 53) % 8u) << 52) | frac); /* near 1 */
    case 2: return double_of(sign | ((uint64_t)(2040u + (u >> 53) % 6u) << 52) | frac); /* huge */
    case 3: return double_of(sign | ((uint64_t)(1u + (u >> 53) % 4u) << 52) | frac);    /* tiny normal */
    case 4: {
        static const uint64_t special[] = { 0, (uint64_t)0x7ff << 52, ((uint64_t)0x7ff << 52) | 1u,
                                            (uint64_t)1023 << 52, 1u };
        return double_of(sign | special[(u >> 53) % 5u]);
    }
    default: return double_of(u);                                            /* anything */
    }
}

static float any_float(hk_rng_t *r)
{
    uint32_t u = (uint32_t)hk_rng_next(r), frac = u & 0x7fffffu, sign = u & 0x80000000u;
    switch (hk_rng_next(r) & 3u) {
    case 0: return float_of(sign | frac);
    case 1: return float_of(sign | ((120u + (u >> 23) % 16u) << 23) | frac);
    case 2: return float_of(sign | ((250u + (u >> 23) % 5u) << 23) | frac);
    default: return float_of(u);
    }
}

static void test_softfloat_native(void)
{
    if (FLT_EVAL_METHOD != 0) {
        hk_test_skip("floating point evaluates in a wider format here (double rounding)");
        return;
    }
    hk_rng_t r;
    hk_rng_seed(&r, 0x5f1u);
    unsigned n_ops = 20000u / HK_TEST_SCALE_DIV, bad = 0;
    for (unsigned i = 0; i < n_ops; i++) {
        volatile double a = any_double(&r), b = any_double(&r);
        if (i % 4u == 0)
            b = double_of(bits_of(a) ^ (hk_rng_next(&r) & 7u)); /* cancellation */
        bad += !same64(bits_of(hk_sf__adddf3(a, b)), bits_of(a + b));
        bad += !same64(bits_of(hk_sf__subdf3(a, b)), bits_of(a - b));
        bad += !same64(bits_of(hk_sf__muldf3(a, b)), bits_of(a * b));
        bad += !same64(bits_of(hk_sf__divdf3(a, b)), bits_of(a / b));
        bad += !same32(fbits_of(hk_sf__truncdfsf2(a)), fbits_of((float)a));
        volatile float x = any_float(&r), y = any_float(&r);
        bad += !same32(fbits_of(hk_sf__addsf3(x, y)), fbits_of(x + y));
        bad += !same32(fbits_of(hk_sf__subsf3(x, y)), fbits_of(x - y));
        bad += !same32(fbits_of(hk_sf__mulsf3(x, y)), fbits_of(x * y));
        bad += !same64(bits_of(hk_sf__extendsfdf2(x)), bits_of((double)x));
    }
    HK_CHECK_EQ(bad, 0);
}

static unsigned fls64(uint64_t x) /* x > 0 */
{
    unsigned n = 0;
    while (x >>= 1)
        n++;
    return n;
}

/* Results that are exact, or whose rounding is known, in IEEE 754. */
static void test_softfloat_exact(void)
{
    hk_rng_t r;
    hk_rng_seed(&r, 0xe1u);
    unsigned bad = 0;
    for (unsigned i = 0; i < 2000u / HK_TEST_SCALE_DIV; i++) {
        /* integers below 2^26: sums, products and exact quotients are exact */
        uint64_t x = (hk_rng_next(&r) >> 38) + 1u, y = (hk_rng_next(&r) >> 38) + 1u;
        /* build the doubles from bits, so no conversion helper is involved */
        unsigned ex = fls64(x), ey = fls64(y);
        double fx = double_of(((uint64_t)(1023u + ex) << 52) | ((x << (52u - ex)) & (((uint64_t)1 << 52) - 1u)));
        double fy = double_of(((uint64_t)(1023u + ey) << 52) | ((y << (52u - ey)) & (((uint64_t)1 << 52) - 1u)));
        uint64_t p = x * y, s = x + y;
        unsigned ep = fls64(p), es = fls64(s);
        uint64_t want_p = ((uint64_t)(1023u + ep) << 52) | ((p << (52u - ep)) & (((uint64_t)1 << 52) - 1u));
        uint64_t want_s = ((uint64_t)(1023u + es) << 52) | ((s << (52u - es)) & (((uint64_t)1 << 52) - 1u));
        bad += bits_of(hk_sf__muldf3(fx, fy)) != want_p;
        bad += bits_of(hk_sf__adddf3(fx, fy)) != want_s;
        bad += bits_of(hk_sf__divdf3(double_of(want_p), fy)) != bits_of(fx);
        bad += bits_of(hk_sf__subdf3(double_of(want_s), fy)) != bits_of(fx);
    }
    HK_CHECK_EQ(bad, 0);
    const uint64_t one = (uint64_t)1023 << 52;
    /* ties to even: 1 + 2^-53 rounds down to 1, (1 + 2^-52) + 2^-53 up to 1 + 2^-51 */
    HK_CHECK_EQ(bits_of(hk_sf__adddf3(double_of(one), double_of((uint64_t)(1023 - 53) << 52))), one);
    HK_CHECK_EQ(bits_of(hk_sf__adddf3(double_of(one | 1u), double_of((uint64_t)(1023 - 53) << 52))),
                one | 2u);
    /* subnormals: the smallest one halved ties to 0; three of them halved ties up to 2 */
    HK_CHECK_EQ(bits_of(hk_sf__muldf3(double_of(1u), 0.5)), 0);
    HK_CHECK_EQ(bits_of(hk_sf__muldf3(double_of(3u), 0.5)), 2u);
    HK_CHECK_EQ(bits_of(hk_sf__divdf3(double_of((uint64_t)1 << 52), double_of(one + ((uint64_t)1 << 52)))),
                (uint64_t)1 << 51); /* the smallest normal / 2 is the largest power-2 subnormal */
    /* overflow to infinity, 0 / 0 and inf - inf to NaN, 1 / -0 to -inf */
    const uint64_t inf = (uint64_t)0x7ff << 52, maxd = inf - 1u;
    HK_CHECK_EQ(bits_of(hk_sf__muldf3(double_of(maxd), 2.0)), inf);
    HK_CHECK(same64(bits_of(hk_sf__divdf3(0.0, 0.0)), inf | 1u));
    HK_CHECK(same64(bits_of(hk_sf__subdf3(double_of(inf), double_of(inf))), inf | 1u));
    HK_CHECK_EQ(bits_of(hk_sf__divdf3(1.0, double_of((uint64_t)1 << 63))), inf | ((uint64_t)1 << 63));
    HK_CHECK_EQ(bits_of(hk_sf__subdf3(1.0, 1.0)), 0); /* x - x is +0 */
    /* binary32 through binary64: 1.5f * 2.25f, 0.1f + 0.2f (bits from the format) */
    HK_CHECK_EQ(fbits_of(hk_sf__mulsf3(float_of(0x3fc00000u), float_of(0x40100000u))), 0x40580000u);
    HK_CHECK_EQ(fbits_of(hk_sf__addsf3(float_of(0x3dcccccdu), float_of(0x3e4ccccdu))), 0x3e99999au);
    HK_CHECK_EQ(fbits_of(hk_sf__truncdfsf2(double_of(((uint64_t)(1023 - 150) << 52)))), 0); /* 2^-150 ties to 0 */
    HK_CHECK_EQ(fbits_of(hk_sf__truncdfsf2(double_of(((uint64_t)(1023 - 149) << 52)))), 1u);
}

HK_SUITE(gcc_helpers)
{
    HK_RUN(test_division_identity);
    HK_RUN(test_softfloat_native);
    HK_RUN(test_softfloat_exact);
}
