/* SPDX-License-Identifier: MIT */
/*
 * test_print.c - the statistics printer (heapkit/print.h): exact text for
 * known figures (0, one digit, every power of ten's neighbours, the 64-bit
 * maximum), NULL arguments, and a live heap's line agreeing with its stats.
 */
#include <stdint.h>

#include "heapkit/heap.h"
#include "heapkit/print.h"
#include "hk_test.h"

typedef struct {
    char buf[512];
    size_t n;
} sink_t;

static void sink_putc(void *ctx, char c)
{
    sink_t *s = ctx;
    if (s->n < sizeof s->buf - 1)
        s->buf[s->n++] = c;
    s->buf[s->n] = 0;
}

static int str_eq(const char *a, const char *b)
{
    while (*a && *a == *b) {
        a++;
        b++;
    }
    return *a == *b;
}

static const char *u64_text(uint64_t v, sink_t *s)
{
    s->n = 0;
    s->buf[0] = 0;
    hk_print_u64(v, sink_putc, s);
    return s->buf;
}

static void test_decimal(void)
{
    sink_t s;
    HK_CHECK(str_eq(u64_text(0, &s), "0"));
    HK_CHECK(str_eq(u64_text(7, &s), "7"));
    HK_CHECK(str_eq(u64_text(10, &s), "10"));
    HK_CHECK(str_eq(u64_text(99, &s), "99"));
    HK_CHECK(str_eq(u64_text(100, &s), "100"));
    HK_CHECK(str_eq(u64_text(4294967295u, &s), "4294967295"));
    HK_CHECK(str_eq(u64_text(4294967296ull, &s), "4294967296"));
    HK_CHECK(str_eq(u64_text(10000000000000000000ull, &s), "10000000000000000000"));
    HK_CHECK(str_eq(u64_text(UINT64_MAX, &s), "18446744073709551615"));
    /* every 10^k - 1 and 10^k */
    uint64_t p = 1;
    unsigned bad = 0;
    for (int k = 1; k < 20; k++) {
        p *= 10;
        u64_text(p - 1, &s);
        bad += s.n != (size_t)k;
        for (size_t i = 0; i < s.n; i++)
            bad += s.buf[i] != '9';
        u64_text(p, &s);
        bad += s.n != (size_t)k + 1 || s.buf[0] != '1';
        for (size_t i = 1; i < s.n; i++)
            bad += s.buf[i] != '0';
    }
    HK_CHECK_EQ(bad, 0);
}

static void test_stats_line(void)
{
    hk_stats_t st = { 0 };
    st.total = 32768;
    st.used = 1184;
    st.free = 31584;
    st.largest_free = 31568;
    st.smallest_free = 16;
    st.used_blocks = 3;
    st.free_blocks = 2;
    st.peak_used = 2208;
    st.min_ever_free = 30560;
    st.requested = 1000;
    st.allocs = 12;
    st.frees = 9;
    st.failed_allocs = 0;
    sink_t s = { { 0 }, 0 };
    hk_print_stats("sram", &st, sink_putc, &s);
    HK_CHECK(str_eq(s.buf, "sram: total 32768 used 1184 free 31584 largest 31568 smallest 16 "
                           "blocks 3/2 peak 2208 min-free 30560 requested 1000 allocs 12 "
                           "frees 9 failed 0\n"));
    s.n = 0;
    s.buf[0] = 0;
    hk_print_stats(NULL, NULL, sink_putc, &s); /* nothing */
    hk_print_stats(NULL, &st, NULL, &s);
    HK_CHECK_EQ(s.n, 0);
    hk_print_stats(NULL, &st, sink_putc, &s);
    HK_CHECK(s.n > 8 && str_eq(s.buf + s.n - 9, "failed 0\n"));
    HK_CHECK(s.buf[0] == 'h'); /* "heapkit: " */
}

static void test_live_heap(void)
{
    size_t size = 0;
    unsigned char *mem = hk_test_arena(&size);
    if (size > 16384)
        size = 16384;
    hk_heap_t *h = hk_heap_init(mem, size, NULL);
    HK_REQUIRE(h != NULL);
    void *p = hk_heap_alloc(h, 1000);
    HK_REQUIRE(p != NULL);
    hk_stats_t st;
    hk_heap_get_stats(h, &st);
    sink_t s = { { 0 }, 0 }, want = { { 0 }, 0 };
    hk_print_heap(h, "t", sink_putc, &s);
    hk_print_stats("t", &st, sink_putc, &want);
    HK_CHECK(str_eq(s.buf, want.buf));
    /* the used figure is in the line */
    sink_t num = { { 0 }, 0 };
    hk_print_u64(st.used, sink_putc, &num);
    int found = 0;
    for (size_t i = 0; i + num.n <= s.n && !found; i++) {
        size_t j = 0;
        while (j < num.n && s.buf[i + j] == num.buf[j])
            j++;
        found = j == num.n && i >= 5 && s.buf[i - 5] == 'u'; /* "used N" */
    }
    HK_CHECK(found);
    hk_heap_free(h, p);
}

HK_SUITE(print)
{
    HK_RUN(test_decimal);
    HK_RUN(test_stats_line);
    HK_RUN(test_live_heap);
}
