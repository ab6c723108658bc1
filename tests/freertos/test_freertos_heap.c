/* SPDX-License-Identifier: MIT */
/*
 * test_freertos_heap.c - heapkit's FreeRTOS heap port
 * (ports/freertos/heapkit_freertos.c) against the FreeRTOS test double in
 * tests/freertos/fake/. Built three times with the configurations a
 * FreeRTOSConfig.h would give (CMakeLists.txt):
 *   FAKE_VARIANT_HEAP4   heap_4 style: configTOTAL_HEAP_SIZE, the malloc
 *                        failed hook, clear on free, portBYTE_ALIGNMENT 8
 *   FAKE_VARIANT_HEAP5   heap_5 style: regions only, portBYTE_ALIGNMENT 32
 *                        (above HK_ALIGN: the aligned path)
 *   FAKE_VARIANT_APPHEAP configAPPLICATION_ALLOCATED_HEAP: ucHeap is ours
 */
#include <stdint.h>

#include "FreeRTOS.h"
#include "task.h"

#include "heapkit/heap.h"
#include "heapkit/pool.h"
#include "heapkit/port/freertos.h"
#include "hk_test.h"

#if defined(FAKE_VARIANT_APPHEAP)
uint8_t ucHeap[configTOTAL_HEAP_SIZE];
#endif

#if defined(FAKE_VARIANT_HEAP5)
static _Alignas(64) uint8_t region_a[6000];
static _Alignas(64) uint8_t region_b[3000];
static const HeapRegion_t regions[] = {
    { region_a, sizeof region_a },
    { region_b, sizeof region_b },
    { NULL, 0 },
};
static int in_region(const void *p, const uint8_t *r, size_t n)
{
    return (const uint8_t *)p >= r && (const uint8_t *)p < r + n;
}
#endif

/* Starts every test from a fresh heap. */
static void fresh_heap(void)
{
    vPortHeapResetState();
#if defined(FAKE_VARIANT_HEAP5)
    vPortDefineHeapRegions(regions);
#endif
    fake_assert_failures = 0;
    fake_malloc_failed_calls = 0;
}

/* The event hook sees every heap operation: record the scheduler state. */
static unsigned events, events_unsuspended;
static void on_event(void *ctx, const hk_event_t *ev)
{
    (void)ctx;
    (void)ev;
    events++;
    events_unsuspended += fake_suspend_depth != 1;
}

static void test_first_allocation_makes_the_heap(void)
{
    fresh_heap();
#if !defined(FAKE_VARIANT_HEAP5)
    HK_CHECK(hk_freertos_heap() == NULL); /* made on first use, like heap_4 */
#endif
    void *p = pvPortMalloc(100);
    HK_REQUIRE(p != NULL);
    HK_REQUIRE(hk_freertos_heap() != NULL);
    HK_CHECK_EQ((uintptr_t)p % portBYTE_ALIGNMENT, 0);
#if defined(FAKE_VARIANT_APPHEAP)
    HK_CHECK((uint8_t *)p >= ucHeap && (uint8_t *)p < ucHeap + sizeof ucHeap);
#endif
#if defined(configTOTAL_HEAP_SIZE)
    /* the whole array is the heap: only the control structure, the block
     * and a little alignment slack and end marker are not free */
    size_t free_now = xPortGetFreeHeapSize();
    size_t ctl = hk_heap_overhead(configTOTAL_HEAP_SIZE, NULL);
    HK_CHECK(ctl > 0);
    HK_CHECK(free_now <= configTOTAL_HEAP_SIZE - ctl - 100);
    HK_CHECK(free_now >= configTOTAL_HEAP_SIZE - ctl - 100 - 160);
#endif
    vPortFree(p);
    HK_CHECK_EQ(hk_heap_validate(hk_freertos_heap()), 0);
    HK_CHECK_EQ(fake_assert_failures, 0);
}

static void test_every_call_under_the_scheduler_lock(void)
{
    fresh_heap();
    void *first = pvPortMalloc(8);
    HK_REQUIRE(first != NULL);
    events = events_unsuspended = 0;
    HK_REQUIRE(hk_heap_set_event_hook(hk_freertos_heap(), on_event, NULL) == 0);
    unsigned long s0 = fake_suspend_calls, r0 = fake_resume_calls;
    void *a = pvPortMalloc(40);
    void *b = pvPortCalloc(4, 10);
    vPortFree(a);
    vPortFree(b);
    vPortFree(first);
    void *big = pvPortMalloc(SIZE_MAX / 2); /* fails: a FAIL event */
    HK_CHECK(big == NULL);
    HeapStats_t st;
    vPortGetHeapStats(&st);
    (void)xPortGetFreeHeapSize();
    (void)xPortGetMinimumEverFreeHeapSize();
    xPortResetHeapMinimumEverFreeHeapSize();
    HK_CHECK_EQ(events, 6);             /* 2 allocs, 3 frees, 1 failure */
    HK_CHECK_EQ(events_unsuspended, 0); /* each one inside vTaskSuspendAll */
    HK_CHECK_EQ(fake_suspend_depth, 0);
    HK_CHECK_EQ(fake_suspend_calls - s0, fake_resume_calls - r0);
    HK_CHECK(fake_suspend_calls - s0 >= 10);
    HK_CHECK_EQ(fake_critical_depth, 0); /* the heap never disables interrupts */
    hk_heap_set_event_hook(hk_freertos_heap(), NULL, NULL);
}

static void test_malloc_zero_and_failures(void)
{
    fresh_heap();
    unsigned long hooks = fake_malloc_failed_calls;
    HK_CHECK(pvPortMalloc(0) == NULL); /* heap_4: NULL for 0 */
    HK_CHECK(pvPortMalloc(SIZE_MAX) == NULL);
    HK_CHECK(pvPortCalloc(SIZE_MAX / 2, 4) == NULL); /* overflow: no pvPortMalloc */
#if defined(configUSE_MALLOC_FAILED_HOOK) && configUSE_MALLOC_FAILED_HOOK == 1
    HK_CHECK_EQ(fake_malloc_failed_calls - hooks, 2);
#else
    HK_CHECK_EQ(fake_malloc_failed_calls - hooks, 0);
#endif
    HeapStats_t st;
    vPortGetHeapStats(&st);
    HK_CHECK_EQ(st.xNumberOfSuccessfulAllocations, 0);
    HK_CHECK_EQ(st.xNumberOfSuccessfulFrees, 0);
    vPortFree(NULL); /* nothing */
    vPortGetHeapStats(&st);
    HK_CHECK_EQ(st.xNumberOfSuccessfulFrees, 0);
}

static void test_heap_stats(void)
{
    fresh_heap();
    HeapStats_t st0, st1, st2;
    void *probe = pvPortMalloc(16);
    vPortFree(probe);
    vPortGetHeapStats(&st0);
    HK_CHECK_EQ(st0.xNumberOfFreeBlocks, 
#if defined(FAKE_VARIANT_HEAP5)
                2 /* one per region */
#else
                1
#endif
    );
    HK_CHECK_EQ(st0.xAvailableHeapSpaceInBytes, xPortGetFreeHeapSize());
    void *p[3];
    for (int i = 0; i < 3; i++)
        p[i] = pvPortMalloc(200);
    HK_REQUIRE(p[0] && p[1] && p[2]);
    vPortFree(p[1]); /* a hole between two used blocks */
    vPortGetHeapStats(&st1);
    HK_CHECK_EQ(st1.xNumberOfSuccessfulAllocations, st0.xNumberOfSuccessfulAllocations + 3);
    HK_CHECK_EQ(st1.xNumberOfSuccessfulFrees, st0.xNumberOfSuccessfulFrees + 1);
#if portBYTE_ALIGNMENT <= 16
    HK_CHECK_EQ(st1.xNumberOfFreeBlocks, st0.xNumberOfFreeBlocks + 1);
    /* the hole is the smallest free block and it fits the 200 bytes again */
    HK_CHECK(st1.xSizeOfSmallestFreeBlockInBytes >= 200);
    HK_CHECK(st1.xSizeOfSmallestFreeBlockInBytes < 200 + 64);
#else
    /* over-aligned blocks leave their alignment padding as small free blocks */
    HK_CHECK(st1.xNumberOfFreeBlocks >= st0.xNumberOfFreeBlocks + 1);
    HK_CHECK(st1.xSizeOfSmallestFreeBlockInBytes > 0);
#endif
    HK_CHECK(st1.xSizeOfLargestFreeBlockInBytes > st1.xSizeOfSmallestFreeBlockInBytes);
    HK_CHECK(st1.xAvailableHeapSpaceInBytes < st0.xAvailableHeapSpaceInBytes);
    HK_CHECK_EQ(st1.xMinimumEverFreeBytesRemaining, xPortGetMinimumEverFreeHeapSize());
    /* the stats agree with heapkit's own */
    hk_stats_t hs;
    hk_heap_get_stats(hk_freertos_heap(), &hs);
    HK_CHECK_EQ(st1.xAvailableHeapSpaceInBytes, hs.free);
    HK_CHECK_EQ(st1.xSizeOfLargestFreeBlockInBytes, hs.largest_free);
    HK_CHECK_EQ(st1.xSizeOfSmallestFreeBlockInBytes, hs.smallest_free);
    vPortFree(p[0]);
    vPortFree(p[2]);
    vPortGetHeapStats(&st2);
    HK_CHECK_EQ(st2.xAvailableHeapSpaceInBytes, st0.xAvailableHeapSpaceInBytes);
    HK_CHECK_EQ(st2.xNumberOfFreeBlocks, st0.xNumberOfFreeBlocks);
    HK_CHECK_EQ(st2.xNumberOfSuccessfulFrees, st0.xNumberOfSuccessfulFrees + 3);
}

static void test_minimum_ever_free_and_reset(void)
{
    fresh_heap();
    void *keep = pvPortMalloc(64);
    size_t start = xPortGetFreeHeapSize();
    void *big = pvPortMalloc(1500);
    HK_REQUIRE(big != NULL);
    size_t low = xPortGetFreeHeapSize();
    vPortFree(big);
    HK_CHECK_EQ(xPortGetFreeHeapSize(), start);
#if portBYTE_ALIGNMENT <= 16
    HK_CHECK_EQ(xPortGetMinimumEverFreeHeapSize(), low); /* the mark stays */
#else
    HK_CHECK(xPortGetMinimumEverFreeHeapSize() <= low); /* (padding taken for a moment) */
#endif
    xPortResetHeapMinimumEverFreeHeapSize();
    HK_CHECK_EQ(xPortGetMinimumEverFreeHeapSize(), start); /* now the current */
    vPortFree(keep);
    HK_CHECK(xPortGetMinimumEverFreeHeapSize() <= xPortGetFreeHeapSize());
}

static void test_calloc_and_clear_on_free(void)
{
    fresh_heap();
    unsigned char *p = pvPortMalloc(256);
    HK_REQUIRE(p != NULL);
    for (int i = 0; i < 256; i++)
        p[i] = 0xA5;
    unsigned long frees = fake_trace_free_calls;
    vPortFree(p);
    HK_CHECK_EQ(fake_trace_free_calls, frees + 1);
    HK_CHECK_EQ(fake_trace_free_size, hk_test_reported(256)); /* traceFREE gets the block's size */
#if defined(configHEAP_CLEAR_MEMORY_ON_FREE) && configHEAP_CLEAR_MEMORY_ON_FREE == 1
    /* past the free block's own links (a few words) the payload is zero */
    unsigned left = 0;
    for (int i = 64; i < 256; i++)
        left += p[i] != 0;
    HK_CHECK_EQ(left, 0);
#endif
    unsigned char *z = pvPortCalloc(50, 5); /* reuses that dirty block */
    HK_REQUIRE(z != NULL);
    unsigned nonzero = 0;
    for (int i = 0; i < 250; i++)
        nonzero += z[i] != 0;
    HK_CHECK_EQ(nonzero, 0);
    vPortFree(z);
}

static void test_foreign_free_reported_once(void)
{
    fresh_heap();
    static uint64_t not_heap[8];
    void *p = pvPortMalloc(32);
    HK_REQUIRE(p != NULL);
    hk_test_capture_errors();
    HeapStats_t before, after;
    vPortGetHeapStats(&before);
    vPortFree(&not_heap[2]);
    HK_CHECK_EQ(hk_test_errors.count, 1);
    HK_CHECK_EQ(hk_test_errors.last_code, HK_EBADPTR);
    vPortFree(p);
    vPortFree(p); /* double free */
    HK_CHECK_EQ(hk_test_errors.count, 2);
    vPortGetHeapStats(&after);
    HK_CHECK_EQ(after.xNumberOfSuccessfulFrees, before.xNumberOfSuccessfulFrees + 1);
    HK_CHECK_EQ(hk_heap_validate(hk_freertos_heap()), 0);
    hk_set_error_hook(NULL, NULL);
}

static void test_fill_and_reset_state(void)
{
    fresh_heap();
    enum { N = 400 };
    static void *ps[N];
    int n = 0;
    while (n < N && (ps[n] = pvPortMalloc(48)) != NULL)
        n++;
    HK_CHECK(n > 20);
    HK_CHECK(n < N); /* the heap ran out */
#if defined(FAKE_VARIANT_HEAP5)
    int in_a = 0, in_b = 0;
    for (int i = 0; i < n; i++) {
        in_a += in_region(ps[i], region_a, sizeof region_a);
        in_b += in_region(ps[i], region_b, sizeof region_b);
    }
    HK_CHECK_EQ(in_a + in_b, n); /* every block in a region */
    HK_CHECK(in_a > 0 && in_b > 0); /* both regions used */
#endif
    for (int i = 0; i < n; i++)
        HK_CHECK_EQ((uintptr_t)ps[i] % portBYTE_ALIGNMENT, 0);
    vPortHeapResetState(); /* forget everything, as a test restart does */
#if defined(FAKE_VARIANT_HEAP5)
    unsigned long asserts = fake_assert_failures;
    HK_CHECK(pvPortMalloc(16) == NULL); /* heap_5: no regions defined now */
    HK_CHECK(fake_assert_failures > asserts);
    vPortDefineHeapRegions(regions);
#endif
    void *again = pvPortMalloc(48);
    HK_CHECK(again != NULL);
    HeapStats_t st;
    vPortGetHeapStats(&st);
    HK_CHECK_EQ(st.xNumberOfSuccessfulAllocations, 1); /* a new heap */
    vPortInitialiseBlocks(); /* a no-op, as in heap_4 */
    vPortFree(again);
}

/* The ISR-safe pool recipe: a pool shared by a task and an interrupt. */
static void test_isr_pool_lock(void)
{
    static unsigned char buf[8 * 32];
    static hk_lock_t isr_lock = HK_FREERTOS_ISR_LOCK;
    hk_pool_t pool;
    hk_pool_config_t cfg = { &isr_lock, NULL, 0 };
    HK_REQUIRE(hk_pool_init(&pool, buf, sizeof buf, 32, 8, &cfg) == 0);
    unsigned long asserts = fake_assert_failures;
    fake_mask = 0;
    fake_in_isr = 0;
    void *t = hk_pool_alloc(&pool); /* task: taskENTER_CRITICAL */
    HK_CHECK(t != NULL);
    HK_CHECK_EQ(fake_critical_depth, 0);
    fake_in_isr = 1; /* an interrupt: the FROM_ISR critical section */
    fake_mask = 0x20; /* already masked at some level: must come back */
    void *i = hk_pool_alloc(&pool);
    HK_CHECK(i != NULL);
    HK_CHECK_EQ(fake_mask, 0x20);
    HK_CHECK_EQ(fake_isr_critical_depth, 0);
    hk_pool_free(&pool, i);
    fake_in_isr = 0;
    fake_mask = 0;
    hk_pool_free(&pool, t);
    HK_CHECK_EQ(fake_assert_failures, asserts); /* no wrong-context call */
    /* the saved values: a task gets the marker, an ISR the old mask */
    uintptr_t s = hk_freertos_isr_lock(NULL);
    HK_CHECK_EQ(s, HK_FREERTOS_TASK_CONTEXT);
    HK_CHECK_EQ(fake_critical_depth, 1);
    hk_freertos_isr_unlock(NULL, s);
    HK_CHECK_EQ(fake_critical_depth, 0);
    fake_in_isr = 1;
    fake_mask = 0x30;
    s = hk_freertos_isr_lock(NULL);
    HK_CHECK_EQ(s, 0x30);
    HK_CHECK_EQ(fake_isr_critical_depth, 1);
    hk_freertos_isr_unlock(NULL, s);
    HK_CHECK_EQ(fake_mask, 0x30);
    fake_in_isr = 0;
    fake_mask = 0;
    hk_stats_t ps;
    hk_pool_get_stats(&pool, &ps);
    HK_CHECK_EQ(ps.allocs, 2);
    HK_CHECK_EQ(ps.frees, 2);
}

HK_SUITE(freertos_port)
{
    HK_RUN(test_first_allocation_makes_the_heap);
    HK_RUN(test_every_call_under_the_scheduler_lock);
    HK_RUN(test_malloc_zero_and_failures);
    HK_RUN(test_heap_stats);
    HK_RUN(test_minimum_ever_free_and_reset);
    HK_RUN(test_calloc_and_clear_on_free);
    HK_RUN(test_foreign_free_reported_once);
    HK_RUN(test_fill_and_reset_state);
    HK_RUN(test_isr_pool_lock);
}
