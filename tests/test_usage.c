/* SPDX-License-Identifier: MIT */
/*
 * test_usage.c - the shared usage counter (src/common/hk_stats.h): marks
 * across growth, shrinking and resets, against a brute-force model.
 */
#include "common/hk_stats.h"
#include "hk_test.h"

static void test_usage_marks(void)
{
    hk__usage_t u;
    hk__usage_init(&u, 1000);
    HK_CHECK(hk__usage_ok(&u));
    hk__usage_take(&u, 600);
    hk__usage_give(&u, 500);
    HK_CHECK_EQ(u.peak, 600);
    HK_CHECK_EQ(u.min_free, 400);
    hk__usage_grow(&u, 1000); /* a new region never raises the low mark */
    HK_CHECK_EQ(u.min_free, 400);
    HK_CHECK(hk__usage_ok(&u));
    hk__usage_take(&u, 1000); /* used 1100 of 2000: free 900, not a new low */
    HK_CHECK_EQ(u.peak, 1100);
    HK_CHECK_EQ(u.min_free, 400);
    hk__usage_take(&u, 550); /* used 1650: free 350, a new low */
    HK_CHECK_EQ(u.min_free, 350);
    hk_stats_t s;
    hk_test_memset(&s, 0, sizeof s);
    hk__usage_fill(&u, &s);
    HK_CHECK_EQ(s.total, 2000);
    HK_CHECK_EQ(s.free, 350);
    HK_CHECK_EQ(s.peak_used, 1650);
    HK_CHECK_EQ(s.min_ever_free, 350);
    hk__usage_give(&u, 1650);
    hk__usage_reset(&u);
    HK_CHECK_EQ(u.peak, 0);
    HK_CHECK_EQ(u.min_free, 2000);
    hk__usage_shrink(&u, 500);
    HK_CHECK_EQ(u.total, 1500);
    HK_CHECK_EQ(u.min_free, 1500);
    HK_CHECK(hk__usage_ok(&u));
}

/* Random take/give/grow/shrink/reset against the definition of the marks. */
static void test_usage_model(void)
{
    hk__usage_t u;
    size_t total = 4096, used = 0, peak = 0, min_free = 4096;
    hk__usage_init(&u, total);
    uint32_t x = 12345;
    for (int i = 0; i < 20000; i++) {
        x = x * 1664525u + 1013904223u;
        size_t n = (x >> 8) % 512;
        switch ((x >> 28) % 8) {
        case 0: case 1: case 2:
            if (n <= total - used) { hk__usage_take(&u, n); used += n; }
            break;
        case 3: case 4: case 5:
            if (n <= used) { hk__usage_give(&u, n); used -= n; }
            break;
        case 6:
            if (x & 1) { hk__usage_grow(&u, n); total += n; }
            else if (n <= total - used) {
                hk__usage_shrink(&u, n); total -= n;
                if (total - used < min_free) min_free = total - used;
            }
            break;
        default:
            if ((x & 63) == 0) { hk__usage_reset(&u); peak = used; min_free = total - used; }
        }
        if (used > peak) peak = used;
        if (total - used < min_free) min_free = total - used;
        if (u.used != used || u.peak != peak || u.min_free != min_free || !hk__usage_ok(&u)) {
            HK_CHECK(0 && "usage counter disagrees with the model");
            return;
        }
    }
    HK_CHECK_EQ(u.total, total);
}

HK_SUITE(usage)
{
    HK_RUN(test_usage_marks);
    HK_RUN(test_usage_model);
}
