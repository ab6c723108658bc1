/* SPDX-License-Identifier: MIT */
/*
 * test_newlib.c - proves that newlib's allocator is heapkit on the Cortex-M4F
 * image (ports/newlib/heapkit_newlib.c): the C library's own printf, asprintf, strdup,
 * calloc, realloc and memalign run, and heapkit's statistics move by exactly
 * what they allocated and freed. Target-only suite (needs newlib), listed in
 * the toolchain file's HK_TARGET_SOURCES.
 */
#define _GNU_SOURCE 1 /* strdup, asprintf: newlib hides them under -std=c11 */
#include <errno.h>
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "heapkit/heap.h"
#include "hk_test.h"
#include "heapkit/port/libc.h"

extern char __heap_start[], __heap_end[];

static hk_stats_t stats_now(void)
{
    hk_stats_t s;
    hk_heap_get_stats(hk_newlib_heap(), &s);
    return s;
}

static int in_heap_region(const void *p)
{
    return (uintptr_t)p >= (uintptr_t)__heap_start && (uintptr_t)p < (uintptr_t)__heap_end;
}

static void test_malloc_is_heapkit(void)
{
    hk_heap_t *h = hk_newlib_heap();
    HK_REQUIRE(h != NULL);
    hk_stats_t before = stats_now();
    char *p = malloc(100);
    HK_REQUIRE(p != NULL);
    HK_CHECK(in_heap_region(p));
    HK_CHECK_EQ(hk_heap_usable_size(h, p), hk_test_reported(100));
    HK_CHECK_EQ(malloc_usable_size(p), hk_test_reported(100));
    hk_stats_t mid = stats_now();
    HK_CHECK_EQ(mid.allocs, before.allocs + 1u);
    HK_CHECK_EQ(mid.used_blocks, before.used_blocks + 1u);
    memset(p, 0x5a, 100);
    free(p);
    hk_stats_t after = stats_now();
    HK_CHECK_EQ(after.frees, before.frees + 1u);
    HK_CHECK_EQ(after.used, before.used);
    struct mallinfo mi = mallinfo();
    HK_CHECK_EQ(mi.uordblks, after.used);
    HK_CHECK_EQ(mi.arena, after.total);
    HK_CHECK_EQ(hk_heap_validate(h), 0);
}

static void test_printf_heavy(void)
{
    hk_stats_t before = stats_now();
    /* stdout's buffer comes from malloc the first time stdio is used */
    for (int i = 0; i < 20; i++)
        printf("  newlib printf %d: %s %x %.2f\n", i, "through heapkit", (unsigned)i * 77u,
               (double)i * 0.25);
    fflush(stdout);
    /* asprintf grows its buffer with _realloc_r as it formats */
    char *strs[40];
    unsigned bad = 0;
    for (int i = 0; i < 40; i++) {
        strs[i] = NULL;
        int n = asprintf(&strs[i], "line %d of %d: %s %.3f", i, 40,
                         "a string long enough to need a bigger buffer than it starts with",
                         (double)((float)i * 1.5f));
        bad += n <= 0 || strs[i] == NULL || !in_heap_region(strs[i]);
    }
    HK_CHECK_EQ(bad, 0);
    HK_REQUIRE(strs[39] != NULL && strs[2] != NULL);
    HK_CHECK(strcmp(strs[2], "line 2 of 40: a string long enough to need a bigger buffer than "
                             "it starts with 3.000") == 0);
    HK_CHECK(strncmp(strs[39], "line 39 of 40: ", 15) == 0);
    hk_stats_t mid = stats_now();
    HK_CHECK(mid.allocs >= before.allocs + 40u);
    HK_CHECK(mid.used_blocks >= before.used_blocks + 40u);
    for (int i = 0; i < 40; i++)
        free(strs[i]);
    hk_stats_t after = stats_now();
    HK_CHECK_EQ(after.used_blocks, mid.used_blocks - 40u);
    HK_CHECK(after.frees >= before.frees + 40u);
    HK_CHECK_EQ(hk_heap_validate(hk_newlib_heap()), 0);
}

static void test_strdup_heavy(void)
{
    enum { N = 200 };
    static char *dups[N];
    char src[64];
    hk_stats_t before = stats_now();
    unsigned bad = 0;
    for (int i = 0; i < N; i++) {
        int len = snprintf(src, sizeof src, "string %d %.*s", i, i % 40,
                           "0123456789012345678901234567890123456789");
        dups[i] = strdup(src);
        bad += dups[i] == NULL || strcmp(dups[i], src) != 0 || (int)strlen(dups[i]) != len;
    }
    HK_CHECK_EQ(bad, 0);
    hk_stats_t mid = stats_now();
    HK_CHECK_EQ(mid.allocs, before.allocs + N);
    HK_CHECK_EQ(mid.used_blocks, before.used_blocks + N);
    HK_CHECK(mid.requested > before.requested + N * 8u);
    /* free every other one, then the rest: exercises coalescing */
    for (int i = 0; i < N; i += 2)
        free(dups[i]);
    HK_CHECK_EQ(hk_heap_validate(hk_newlib_heap()), 0);
    for (int i = 1; i < N; i += 2)
        free(dups[i]);
    hk_stats_t after = stats_now();
    HK_CHECK_EQ(after.frees, before.frees + N);
    HK_CHECK_EQ(after.used, before.used);
    HK_CHECK_EQ(after.used_blocks, before.used_blocks);
}

static void test_calloc_realloc_memalign(void)
{
    unsigned char *z = calloc(64, 4);
    HK_REQUIRE(z != NULL);
    unsigned nonzero = 0;
    for (int i = 0; i < 256; i++)
        nonzero += z[i] != 0;
    HK_CHECK_EQ(nonzero, 0);
    for (int i = 0; i < 256; i++)
        z[i] = (unsigned char)i;
    unsigned char *g = realloc(z, 4000);
    HK_REQUIRE(g != NULL);
    unsigned lost = 0;
    for (int i = 0; i < 256; i++)
        lost += g[i] != (unsigned char)i;
    HK_CHECK_EQ(lost, 0);
    free(g);

    void *a = memalign(64, 100);
    HK_REQUIRE(a != NULL);
    HK_CHECK_EQ((uintptr_t)a & 63u, 0);
    free(a);

    hk_stats_t before = stats_now();
    volatile size_t half = SIZE_MAX / 2u, huge = SIZE_MAX - 8u; /* not folded */
    errno = 0;
    HK_CHECK(calloc(half, 4) == NULL); /* n * size overflows */
    HK_CHECK_EQ(errno, ENOMEM);
    errno = 0;
    HK_CHECK(malloc(huge) == NULL);
    HK_CHECK_EQ(errno, ENOMEM);
    hk_stats_t after = stats_now();
    HK_CHECK_EQ(after.failed_allocs, before.failed_allocs + 2u);
    HK_CHECK_EQ(after.used, before.used);

    errno = 0;
    void *r = malloc(16);
    HK_REQUIRE(r != NULL);
    HK_CHECK(realloc(r, 0) == NULL); /* frees: not an error */
    HK_CHECK_EQ(errno, 0);
    HK_CHECK_EQ(stats_now().used, before.used);
    HK_CHECK_EQ(hk_heap_validate(hk_newlib_heap()), 0);
}

/* The port's own lock: by default every call runs with PRIMASK set (an
 * event hook on the heap sees the mask from inside the allocation), and it
 * is restored afterwards. */
static unsigned masked_events, unmasked_events;
static void on_event(void *ctx, const hk_event_t *ev)
{
    (void)ctx;
    (void)ev;
    uint32_t primask;
    __asm__ volatile("mrs %0, primask" : "=r"(primask));
    if (primask & 1u)
        masked_events++;
    else
        unmasked_events++;
}

static void test_own_lock_and_init_once(void)
{
    hk_heap_t *h = hk_newlib_heap();
    HK_REQUIRE(h != NULL);
    masked_events = unmasked_events = 0;
    HK_REQUIRE(hk_heap_set_event_hook(h, on_event, NULL) == 0);
    void *p = malloc(40);
    p = realloc(p, 400);
    free(p);
    hk_heap_set_event_hook(h, NULL, NULL);
    HK_CHECK_EQ(masked_events, 3);
    HK_CHECK_EQ(unmasked_events, 0);
    uint32_t primask;
    __asm__ volatile("mrs %0, primask" : "=r"(primask));
    HK_CHECK_EQ(primask & 1u, 0); /* interrupts enabled again */
    /* the heap exists, so a late init is refused and changes nothing */
    static unsigned char other[4096];
    hk_libc_heap_config_t cfg = { other, sizeof other, NULL, NULL };
    HK_CHECK_EQ(hk_newlib_init(&cfg), HK_EBUSY);
    HK_CHECK(hk_newlib_heap() == h);
    HK_CHECK_EQ(hk_newlib_init(NULL), HK_EINVAL);
}

static void test_float_formatting(void)
{
    char buf[32];
    volatile float x = 3.14159f;
    snprintf(buf, sizeof buf, "%.3f", (double)(x * 2.0f));
    HK_CHECK(strcmp(buf, "6.283") == 0);
}

HK_SUITE(newlib_heap)
{
    HK_RUN(test_malloc_is_heapkit);
    HK_RUN(test_printf_heavy);
    HK_RUN(test_strdup_heavy);
    HK_RUN(test_calloc_realloc_memalign);
    HK_RUN(test_float_formatting);
    HK_RUN(test_own_lock_and_init_once);
}
