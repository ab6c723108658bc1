/* SPDX-License-Identifier: MIT */
/*
 * test_picolibc.c - proves that picolibc's allocator is heapkit on a
 * Cortex-M4F image (ports/picolibc/heapkit_picolibc.c): picolibc's own
 * strdup and asprintf allocate from heapkit's heap over the linker
 * script's __heap_start .. __heap_end, heapkit's statistics move by what was
 * allocated, the errno and alignment contracts hold, and every call runs
 * under the port's own lock (PRIMASK set inside the heap).
 */
#define _GNU_SOURCE 1 /* asprintf, strdup, posix_memalign under -std=c11 */
#include <errno.h>
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "heapkit/heap.h"
#include "heapkit/port/libc.h"
#include "hk_test.h"

extern char __heap_start[], __heap_end[];

static hk_stats_t stats_now(void)
{
    hk_stats_t s;
    hk_heap_get_stats(hk_picolibc_heap(), &s);
    return s;
}

static int in_heap_region(const void *p)
{
    return (uintptr_t)p >= (uintptr_t)__heap_start && (uintptr_t)p < (uintptr_t)__heap_end;
}

static void test_malloc_is_heapkit(void)
{
    hk_heap_t *h = hk_picolibc_heap();
    HK_REQUIRE(h != NULL);
    hk_stats_t before = stats_now();
    HK_CHECK(before.total > (size_t)(__heap_end - __heap_start) / 2);
    char *p = malloc(100);
    HK_REQUIRE(p != NULL);
    HK_CHECK(in_heap_region(p));
    HK_CHECK_EQ(malloc_usable_size(p), hk_test_reported(100));
    HK_CHECK_EQ(stats_now().allocs, before.allocs + 1u);
    free(p);
    hk_stats_t after = stats_now();
    HK_CHECK_EQ(after.frees, before.frees + 1u);
    HK_CHECK_EQ(after.used, before.used);
    struct mallinfo mi = mallinfo();
    HK_CHECK_EQ(mi.uordblks, after.used);
    HK_CHECK_EQ(mi.arena, after.total);
}

static void test_libc_callers_use_it(void)
{
    hk_stats_t before = stats_now();
    char *d = strdup("picolibc through heapkit");
    HK_REQUIRE(d != NULL);
    HK_CHECK(in_heap_region(d));
    char *s = NULL;
    int n = asprintf(&s, "%s %d %x", d, 42, 0xbeefu);
    HK_REQUIRE(n > 0 && s != NULL);
    HK_CHECK(in_heap_region(s));
    HK_CHECK(strcmp(s, "picolibc through heapkit 42 beef") == 0);
    HK_CHECK(stats_now().used_blocks >= before.used_blocks + 2u);
    free(s);
    free(d);
    HK_CHECK_EQ(stats_now().used, before.used);
    HK_CHECK_EQ(hk_heap_validate(hk_picolibc_heap()), 0);
}

static void test_contracts(void)
{
    hk_stats_t before = stats_now();
    unsigned char *z = calloc(64, 4);
    HK_REQUIRE(z != NULL);
    unsigned nonzero = 0;
    for (int i = 0; i < 256; i++)
        nonzero += z[i] != 0;
    HK_CHECK_EQ(nonzero, 0);
    free(z);
    void *a = aligned_alloc(64, 100);
    HK_REQUIRE(a != NULL);
    HK_CHECK_EQ((uintptr_t)a & 63u, 0);
    free(a);
    void *m = NULL;
    HK_CHECK_EQ(posix_memalign(&m, 128, 10), 0);
    HK_CHECK_EQ((uintptr_t)m & 127u, 0);
    free(m);
    HK_CHECK_EQ(posix_memalign(&m, 24, 10), EINVAL);
    volatile size_t half = SIZE_MAX / 2u, huge = SIZE_MAX - 8u; /* not folded */
    errno = 0;
    HK_CHECK(calloc(half, 4) == NULL);
    HK_CHECK_EQ(errno, ENOMEM);
    errno = 0;
    HK_CHECK(malloc(huge) == NULL);
    HK_CHECK_EQ(errno, ENOMEM);
    errno = 0;
    void *r = malloc(16);
    HK_REQUIRE(r != NULL);
    HK_CHECK(realloc(r, 0) == NULL); /* frees: not an error */
    HK_CHECK_EQ(errno, 0);
    hk_stats_t after = stats_now();
    HK_CHECK_EQ(after.used, before.used);
    HK_CHECK_EQ(after.failed_allocs, before.failed_allocs + 2u);
}

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
    hk_heap_t *h = hk_picolibc_heap();
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
    HK_CHECK_EQ(primask & 1u, 0);
    static unsigned char other[4096];
    hk_libc_heap_config_t cfg = { other, sizeof other, NULL, NULL };
    HK_CHECK_EQ(hk_picolibc_init(&cfg), HK_EBUSY);
    HK_CHECK(hk_picolibc_heap() == h);
}

HK_SUITE(picolibc_heap)
{
    HK_RUN(test_malloc_is_heapkit);
    HK_RUN(test_libc_callers_use_it);
    HK_RUN(test_contracts);
    HK_RUN(test_own_lock_and_init_once);
}
