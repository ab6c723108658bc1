/* SPDX-License-Identifier: MIT */
/*
 * hk_softfloat.c - IEEE 754 binary32/binary64 add, subtract, multiply and
 * divide for a libgcc that lacks them, in the libgcc interface (__adddf3,
 * __mulsf3, ...; "Soft float library routines" in GCC's internals manual).
 *
 * Debian's Xtensa LX106 libgcc leaves these out, because the ESP8266's ROM
 * provides them on the chip. heapkit's library uses no floating point;
 * the target-sanity suite checks that the toolchain's floating point works,
 * and on that target these routines are what it checks. Only the LX106
 * toolchain file links this file under the libgcc names; the gcc_helpers
 * suite (tests/test_gcc_helpers.c) compiles it on every target under names
 * of its own and compares it with the target's floating point.
 *
 * Results are correctly rounded (round to nearest, ties to even) for every
 * finite input, subnormals included; infinities, zeros and NaNs follow IEEE
 * 754 (a NaN result is the default quiet NaN). No exception flags.
 *
 * binary64: unpack each operand to a 53-bit significand m (the hidden bit
 * made explicit; a subnormal is normalized, its exponent going below 1),
 * compute the exact result to 56 bits, three below the last place
 * (guard, round and a sticky bit that ORs everything further right), and
 * round_pack() rounds and packs it. binary32 converts both operands to
 * binary64 exactly, computes there and rounds once to binary32: with 53 >=
 * 2 * 24 + 2 bits, the double rounding is innocuous for +, -, * and /
 * (S. A. Figueroa, "When is double rounding innocuous?", SIGNUM 1995).
 */
#include <stddef.h>
#include <stdint.h>

/* The symbol names; tests/test_gcc_helpers.c includes this file with its
 * own names to compare the routines with the target's floating point. */
#ifndef HK_SF_NAME
#define HK_SF_NAME(name) name
#endif

float HK_SF_NAME(__addsf3)(float a, float b);
float HK_SF_NAME(__subsf3)(float a, float b);
float HK_SF_NAME(__mulsf3)(float a, float b);
double HK_SF_NAME(__adddf3)(double a, double b);
double HK_SF_NAME(__subdf3)(double a, double b);
double HK_SF_NAME(__muldf3)(double a, double b);
double HK_SF_NAME(__divdf3)(double a, double b);
double HK_SF_NAME(__extendsfdf2)(float a);
float HK_SF_NAME(__truncdfsf2)(double a);

#define D_FRAC 52
#define D_EMAX 0x7ff
#define D_SIGN ((uint64_t)1 << 63)
#define D_INF ((uint64_t)D_EMAX << D_FRAC)
#define D_QNAN (D_INF | ((uint64_t)1 << (D_FRAC - 1)))
#define D_HIDDEN ((uint64_t)1 << D_FRAC)

/* Bit patterns, through unions: no floating-point operation here may be
 * left to the compiler, which would call these same routines. */
static uint64_t dbits(double d)
{
    union { double d; uint64_t u; } v;
    v.d = d;
    return v.u;
}

static double dval(uint64_t u)
{
    union { double d; uint64_t u; } v;
    v.u = u;
    return v.d;
}

static uint32_t fbits(float f)
{
    union { float f; uint32_t u; } v;
    v.f = f;
    return v.u;
}

static float fval(uint32_t u)
{
    union { float f; uint32_t u; } v;
    v.u = u;
    return v.f;
}

/* x >> n with every shifted-out bit ORed into bit 0 (n >= 0). */
static uint64_t shr_sticky(uint64_t x, int n)
{
    if (n <= 0)
        return x;
    if (n >= 64)
        return x != 0;
    return (x >> n) | ((x & (((uint64_t)1 << n) - 1u)) != 0);
}

/* Rounds m * 2^(e - bias - fbits - 3), with m in [2^(fbits+3), 2^(fbits+4))
 * (three bits below the last place), to the format with fbits fraction
 * bits and all-ones exponent emax, and packs it with the sign bit sign. */
static uint64_t round_pack(uint64_t sign, int e, uint64_t m, int fbits, int emax)
{
    if (e >= emax)
        return sign | ((uint64_t)emax << fbits);
    if (e <= 0) { /* subnormal: denormalize first, so rounding happens once */
        m = shr_sticky(m, 1 - e);
        e = 0;
    }
    uint64_t low = m & 7u;
    m >>= 3;
    if (low > 4u || (low == 4u && (m & 1u)))
        m++;
    if (e == 0) /* a carry into the hidden bit makes it the smallest normal */
        return sign | m;
    if (m >> (fbits + 1)) {
        m >>= 1;
        if (++e >= emax)
            return sign | ((uint64_t)emax << fbits);
    }
    return sign | ((uint64_t)e << fbits) | (m & ((((uint64_t)1) << fbits) - 1u));
}

/* Finite non-zero x: its biased exponent (below 1 for a subnormal) and
 * its significand in [2^52, 2^53). */
static int unpack(uint64_t x, uint64_t *m)
{
    int e = (int)((x >> D_FRAC) & D_EMAX);
    uint64_t f = x & (D_HIDDEN - 1u);
    if (e == 0) {
        e = 1;
        while (!(f & D_HIDDEN)) {
            f <<= 1;
            e--;
        }
    } else {
        f |= D_HIDDEN;
    }
    *m = f;
    return e;
}

static int is_nan(uint64_t x)
{
    return (x & ~D_SIGN) > D_INF;
}

static int is_inf(uint64_t x)
{
    return (x & ~D_SIGN) == D_INF;
}

static int is_zero(uint64_t x)
{
    return (x & ~D_SIGN) == 0;
}

static uint64_t add64(uint64_t a, uint64_t b)
{
    if (is_nan(a) || is_nan(b))
        return D_QNAN;
    if (is_inf(a))
        return is_inf(b) && (a ^ b) & D_SIGN ? D_QNAN : a;
    if (is_inf(b))
        return b;
    if (is_zero(a))
        return is_zero(b) ? a & b : b; /* -0 + -0 = -0, else +0 */
    if (is_zero(b))
        return a;
    uint64_t ma, mb;
    int ea = unpack(a, &ma), eb = unpack(b, &mb);
    if (ea < eb || (ea == eb && ma < mb)) { /* |a| >= |b| from here */
        uint64_t t = a; a = b; b = t;
        t = ma; ma = mb; mb = t;
        int te = ea; ea = eb; eb = te;
    }
    uint64_t sign = a & D_SIGN;
    ma <<= 3;
    mb = shr_sticky(mb << 3, ea - eb);
    uint64_t s;
    if ((a ^ b) & D_SIGN) {
        s = ma - mb;
        if (s == 0)
            return 0; /* x - x = +0 when rounding to nearest */
        while (!(s >> (D_FRAC + 3))) {
            s <<= 1;
            ea--;
        }
    } else {
        s = ma + mb;
        if (s >> (D_FRAC + 4)) {
            s = shr_sticky(s, 1);
            ea++;
        }
    }
    return round_pack(sign, ea, s, D_FRAC, D_EMAX);
}

/* The 128-bit product of two 64-bit values, from 32-bit halves. */
static void mul64x64(uint64_t a, uint64_t b, uint64_t *hi, uint64_t *lo)
{
    uint64_t al = (uint32_t)a, ah = a >> 32, bl = (uint32_t)b, bh = b >> 32;
    uint64_t ll = al * bl, lh = al * bh, hl = ah * bl, hh = ah * bh;
    uint64_t mid = (ll >> 32) + (uint32_t)lh + (uint32_t)hl;
    *lo = (ll & 0xffffffffu) | (mid << 32);
    *hi = hh + (lh >> 32) + (hl >> 32) + (mid >> 32);
}

static uint64_t mul64(uint64_t a, uint64_t b)
{
    uint64_t sign = (a ^ b) & D_SIGN;
    if (is_nan(a) || is_nan(b))
        return D_QNAN;
    if (is_inf(a) || is_inf(b))
        return is_zero(a) || is_zero(b) ? D_QNAN : sign | D_INF;
    if (is_zero(a) || is_zero(b))
        return sign;
    uint64_t ma, mb, hi, lo;
    int e = unpack(a, &ma) + unpack(b, &mb) - 1023;
    mul64x64(ma, mb, &hi, &lo); /* in [2^104, 2^106) */
    int shift = 49;
    if (hi >> (105 - 64)) {
        shift = 50;
        e++;
    }
    /* (hi:lo) >> shift, keeping a sticky bit */
    uint64_t m = (hi << (64 - shift)) | (lo >> shift);
    m |= (lo & (((uint64_t)1 << shift) - 1u)) != 0;
    return round_pack(sign, e, m, D_FRAC, D_EMAX);
}

static uint64_t div64(uint64_t a, uint64_t b)
{
    uint64_t sign = (a ^ b) & D_SIGN;
    if (is_nan(a) || is_nan(b))
        return D_QNAN;
    if (is_inf(a))
        return is_inf(b) ? D_QNAN : sign | D_INF;
    if (is_inf(b))
        return sign;
    if (is_zero(b))
        return is_zero(a) ? D_QNAN : sign | D_INF;
    if (is_zero(a))
        return sign;
    uint64_t ma, mb;
    int e = unpack(a, &ma) - unpack(b, &mb) + 1023;
    if (ma < mb) {
        ma <<= 1;
        e--;
    }
    /* restoring division: 56 quotient bits, the first one 1 */
    uint64_t q = 0, r = ma;
    for (int i = 0; i < D_FRAC + 4; i++) {
        q <<= 1;
        if (r >= mb) {
            r -= mb;
            q |= 1u;
        }
        r <<= 1;
    }
    return round_pack(sign, e, q | (r != 0), D_FRAC, D_EMAX);
}

/* binary32 <-> binary64 */
static uint64_t widen(uint32_t f)
{
    uint64_t sign = (uint64_t)(f >> 31) << 63;
    int e = (int)((f >> 23) & 0xffu);
    uint64_t m = f & 0x7fffffu;
    if (e == 0xff)
        return sign | D_INF | (m << 29);
    if (e == 0) {
        if (m == 0)
            return sign;
        e = 1;
        while (!(m & 0x800000u)) {
            m <<= 1;
            e--;
        }
        m &= 0x7fffffu;
    }
    return sign | ((uint64_t)(e - 127 + 1023) << D_FRAC) | (m << 29);
}

static uint32_t narrow(uint64_t d)
{
    uint64_t sign = (d >> 63) << 31;
    if (is_nan(d))
        return 0x7fc00000u;
    if (is_inf(d))
        return (uint32_t)sign | 0x7f800000u;
    if (is_zero(d))
        return (uint32_t)sign;
    uint64_t m;
    int e = unpack(d, &m) - 1023 + 127;
    return (uint32_t)round_pack(sign, e, shr_sticky(m, D_FRAC - 23 - 3), 23, 0xff);
}

double HK_SF_NAME(__adddf3)(double a, double b) { return dval(add64(dbits(a), dbits(b))); }
double HK_SF_NAME(__subdf3)(double a, double b) { return dval(add64(dbits(a), dbits(b) ^ D_SIGN)); }
double HK_SF_NAME(__muldf3)(double a, double b) { return dval(mul64(dbits(a), dbits(b))); }
double HK_SF_NAME(__divdf3)(double a, double b) { return dval(div64(dbits(a), dbits(b))); }
double HK_SF_NAME(__extendsfdf2)(float a) { return dval(widen(fbits(a))); }
float HK_SF_NAME(__truncdfsf2)(double a) { return fval(narrow(dbits(a))); }

float HK_SF_NAME(__addsf3)(float a, float b)
{
    return fval(narrow(add64(widen(fbits(a)), widen(fbits(b)))));
}

float HK_SF_NAME(__subsf3)(float a, float b)
{
    return fval(narrow(add64(widen(fbits(a)), widen(fbits(b) ^ 0x80000000u))));
}

float HK_SF_NAME(__mulsf3)(float a, float b)
{
    return fval(narrow(mul64(widen(fbits(a)), widen(fbits(b)))));
}
