/* SPDX-License-Identifier: MIT */
/*
 * test_target_sanity.c - checks that the machine under the tests is the one
 * the build says it is, before any allocator result is trusted on it.
 *
 * Every heapkit target (hosts, Cortex-M, RISC-V, big-endian MIPS and s390x)
 * runs this suite. It checks what the port and the toolchain provide:
 *   - the startup code copied .data and zeroed .bss (volatile, so the
 *     compiler cannot fold the checks away);
 *   - byte order and pointer size match the target's toolchain file
 *     (HK_EXPECT_BIG_ENDIAN, HK_EXPECT_PTR_SIZE when it sets them);
 *   - alignment: HK_ALIGN, _Alignas objects, the test arena;
 *   - 64-bit division and the bit intrinsics heapkit's index uses (on
 *     ARMv6-M and RV32 both come from libgcc);
 *   - the memcpy/memmove/memset behind hk__memcpy and friends (a freestanding
 *     port provides its own) at every small offset, length and overlap;
 *   - floating point works (on Cortex-M4F this needs the FPU enabled).
 */
#include <limits.h>
#include <stdalign.h>
#include <stddef.h>
#include <stdint.h>

#include "common/hk_internal.h"
#include "heapkit/config.h"
#include "hk_test.h"

static volatile uint32_t data_word = 0x1234abcdu;
static volatile uint8_t data_bytes[5] = { 1, 2, 3, 4, 5 };
static volatile uint32_t bss_words[32];

static void test_data_and_bss(void)
{
    HK_CHECK_EQ(data_word, 0x1234abcdu);
    for (unsigned i = 0; i < 5; i++)
        HK_CHECK_EQ(data_bytes[i], i + 1u);
    unsigned nonzero = 0;
    for (unsigned i = 0; i < 32; i++)
        nonzero += bss_words[i] != 0;
    HK_CHECK_EQ(nonzero, 0);
    data_word = 7u; /* and both are writable */
    bss_words[31] = 9u;
    HK_CHECK_EQ(data_word + bss_words[31], 16u);
    data_word = 0x1234abcdu;
    bss_words[31] = 0;
}

static void test_byte_order_and_sizes(void)
{
    volatile union {
        uint32_t word;
        uint8_t bytes[4];
    } u;
    u.word = 0x01020304u;
    int big = u.bytes[0] == 0x01;
    HK_CHECK(big || u.bytes[0] == 0x04);
    HK_CHECK_EQ(big, __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__);
#ifdef HK_EXPECT_BIG_ENDIAN
    HK_CHECK_EQ(big, HK_EXPECT_BIG_ENDIAN);
#endif
#ifdef HK_EXPECT_PTR_SIZE
    HK_CHECK_EQ(sizeof(void *), HK_EXPECT_PTR_SIZE);
#endif
    HK_CHECK_EQ(sizeof(size_t), sizeof(void *));
    HK_CHECK_EQ(sizeof(uintptr_t), sizeof(void *));
    HK_CHECK_EQ(CHAR_BIT, 8);
    hk_test_printf("  target: %s-endian, %u-bit pointers, long %u bytes, "
                   "max_align_t %u, HK_ALIGN %u\n",
                   big ? "big" : "little", (unsigned)(8u * sizeof(void *)),
                   (unsigned)sizeof(long), (unsigned)alignof(max_align_t), (unsigned)HK_ALIGN);
}

static void test_alignment(void)
{
    static alignas(64) volatile unsigned char aligned64[64];
    alignas(16) volatile unsigned char on_stack[16];
    HK_CHECK(hk__is_pow2(HK_ALIGN));
    HK_CHECK(HK_ALIGN >= sizeof(void *));
    HK_CHECK_EQ((uintptr_t)aligned64 & 63u, 0);
    HK_CHECK_EQ((uintptr_t)on_stack & 15u, 0);
    size_t size = 0;
    unsigned char *arena = hk_test_arena(&size);
    HK_REQUIRE(arena != NULL);
    HK_CHECK_EQ((uintptr_t)arena & 63u, 0);
    HK_CHECK_EQ(size, HK_TEST_ARENA_SIZE);
    HK_CHECK(size >= 32u * 1024u);
    HK_CHECK(HK_TEST_SCALE_DIV >= 1);
    /* the arena is usable memory: first, middle and last byte hold a write */
    arena[0] = 0x11;
    arena[size / 2] = 0x22;
    arena[size - 1] = 0x33;
    HK_CHECK_EQ(arena[0] + arena[size / 2] + arena[size - 1], 0x66);
}

static void test_wide_arithmetic(void)
{
    volatile uint64_t a = 0x123456789ull * 1000u, b = 1000u;
    HK_CHECK_EQ(a / b, 0x123456789ull);
    HK_CHECK_EQ(a % 7u, 2u);
    volatile uint64_t big = 0xfedcba9876543210ull;
    HK_CHECK_EQ(big >> 36, 0xfedcba9ull);
    HK_CHECK_EQ((uint32_t)(big * 3u), 0x62fc9630u);
    volatile size_t half = SIZE_MAX / 2u + 1u;
    HK_CHECK_EQ(half * 2u, 0); /* size_t wraps exactly at its width */
}

static void test_bit_intrinsics(void)
{
    unsigned bits = (unsigned)(8u * sizeof(size_t));
    unsigned bad = 0;
    for (unsigned i = 0; i < bits; i++) {
        volatile size_t one = (size_t)1 << i;
        size_t below = one - 1u;
        bad += hk__fls(one) != i;
        bad += hk__ffs(one) != i;
        bad += hk__fls(one | below) != i;     /* all lower bits set */
        bad += hk__ffs(one | ((size_t)1 << (bits - 1u))) != i;
    }
    HK_CHECK_EQ(bad, 0);
    HK_CHECK_EQ(hk__ffs32(0x80000000u), 31);
    HK_CHECK_EQ(hk__align_up(13, 8), 16);
    HK_CHECK_EQ(hk__align_up(16, 8), 16);
}

/* Copies with the port's memcpy/memmove/memset at runtime sizes (so the
 * compiler cannot inline them) and compares with a byte-loop model. */
static unsigned char buf_a[96], buf_b[96], model[96];

static void fill_pattern(unsigned char *p, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (unsigned char)(seed * 31u + i * 7u + 1u);
}

static void test_memory_functions(void)
{
    volatile size_t vn; /* defeats constant folding of the length */
    unsigned bad = 0;
    for (unsigned so = 0; so < 8; so++) {
        for (unsigned d_off = 0; d_off < 8; d_off++) {
            for (size_t n = 0; n <= 40; n += (n < 12 ? 1u : 7u)) {
                vn = n;
                /* memcpy between distinct buffers */
                fill_pattern(buf_a, sizeof buf_a, so);
                hk_test_memset(buf_b, 0xee, sizeof buf_b);
                hk__memcpy(buf_b + d_off, buf_a + so, vn);
                for (size_t i = 0; i < sizeof buf_b; i++) {
                    unsigned char want = (i >= d_off && i < d_off + n) ? buf_a[so + i - d_off] : 0xee;
                    bad += buf_b[i] != want;
                }
                /* memmove within one buffer, both directions */
                for (int dir = 0; dir < 2; dir++) {
                    size_t from = dir ? so : so + d_off, to = dir ? so + d_off : so;
                    fill_pattern(buf_a, sizeof buf_a, d_off);
                    for (size_t i = 0; i < sizeof buf_a; i++)
                        model[i] = buf_a[i];
                    hk__memmove(buf_a + to, buf_a + from, vn);
                    /* model: copy through a temporary */
                    unsigned char tmp[48];
                    for (size_t i = 0; i < n; i++)
                        tmp[i] = model[from + i];
                    for (size_t i = 0; i < n; i++)
                        model[to + i] = tmp[i];
                    bad += hk_test_memcmp(buf_a, model, sizeof buf_a) != 0;
                }
                /* memset */
                hk_test_memset(buf_b, 0x11, sizeof buf_b);
                hk__memset(buf_b + d_off, (int)(0x80u + so), vn);
                for (size_t i = 0; i < sizeof buf_b; i++) {
                    unsigned char want = (i >= d_off && i < d_off + n) ? (unsigned char)(0x80u + so) : 0x11;
                    bad += buf_b[i] != want;
                }
            }
        }
    }
    HK_CHECK_EQ(bad, 0);
}

static void test_floating_point(void)
{
    volatile float f = 1.5f, g = 2.25f;
    volatile double d = 1e10, e = 3.0;
    HK_CHECK(f * g == 3.375f);
    HK_CHECK(f / 0.5f == 3.0f);
    HK_CHECK(d / e > 3333333333.0 && d / e < 3333333334.0);
    HK_CHECK_EQ((unsigned long long)(d * e), 30000000000ull);
}

HK_SUITE(target_sanity)
{
    HK_RUN(test_data_and_bss);
    HK_RUN(test_byte_order_and_sizes);
    HK_RUN(test_alignment);
    HK_RUN(test_wide_arithmetic);
    HK_RUN(test_bit_intrinsics);
    HK_RUN(test_memory_functions);
    HK_RUN(test_floating_point);
}
