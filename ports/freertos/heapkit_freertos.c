/* SPDX-License-Identifier: MIT */
/*
 * heapkit_freertos.c - heapkit as the FreeRTOS heap: a drop-in for heap_4.c
 * and heap_5.c (compile this file instead of portable/MemMang/heap_N.c).
 *
 * Written against the heap API of FreeRTOS V10.4 to V11.1 (portable.h):
 *   pvPortMalloc, vPortFree, pvPortCalloc, xPortGetFreeHeapSize,
 *   xPortGetMinimumEverFreeHeapSize, xPortResetHeapMinimumEverFreeHeapSize,
 *   vPortGetHeapStats (HeapStats_t with its seven fields, V10.2 and later),
 *   vPortInitialiseBlocks, vPortHeapResetState, vPortDefineHeapRegions;
 * and the configuration macros heap_4/heap_5 read:
 *   configTOTAL_HEAP_SIZE        heap_4 style: one array of this size
 *   configAPPLICATION_ALLOCATED_HEAP  1: the application defines
 *                                uint8_t ucHeap[configTOTAL_HEAP_SIZE]
 *   configUSE_MALLOC_FAILED_HOOK 1: vApplicationMallocFailedHook() is
 *                                called when pvPortMalloc returns NULL
 *   configHEAP_CLEAR_MEMORY_ON_FREE  1: vPortFree zeroes the block
 *   portBYTE_ALIGNMENT           every block is aligned to it (checked at
 *                                compile time: a power of two; above
 *                                HK_ALIGN the aligned allocation is used)
 *   traceMALLOC / traceFREE      called as heap_4 calls them
 *
 * Without configTOTAL_HEAP_SIZE the port is heap_5 only: the application
 * calls vPortDefineHeapRegions before the first allocation (heap_5's rule;
 * a pvPortMalloc before it returns NULL after configASSERT). With it, a
 * vPortDefineHeapRegions before the first allocation still takes precedence.
 *
 * Locking is heap_4's: every call runs between vTaskSuspendAll() and
 * xTaskResumeAll(), so the heap is safe between tasks and never disables
 * interrupts; like heap_4 it must not be called from an ISR (use an hk_pool
 * with HK_FREERTOS_ISR_LOCK there, heapkit/port/freertos.h). The malloc
 * failed hook runs after the scheduler is resumed, as in heap_4.
 *
 * Semantics that match heap_4: pvPortMalloc(0) returns NULL (and calls the
 * failed hook); vPortFree(NULL) does nothing; pvPortCalloc checks
 * xNum * xSize for overflow and zeroes; xPortGetFreeHeapSize is the bytes
 * in free blocks; the statistics' counts are of successful calls. Where
 * they differ: xSizeOfLargestFreeBlockInBytes / xSizeOfSmallestFreeBlockInBytes
 * are the largest request those blocks satisfy (heap_4 reports the block
 * size with its header), and misuse (a foreign or double vPortFree) is
 * reported through heapkit's error hook and ignored where heap_4 asserts.
 */
#include <stddef.h>
#include <stdint.h>

#include "FreeRTOS.h"
#include "task.h"

#include "heapkit/heap.h"
#include "heapkit/port/freertos.h"

#if (portBYTE_ALIGNMENT & (portBYTE_ALIGNMENT - 1)) != 0 || portBYTE_ALIGNMENT < 1
#error "heapkit_freertos.c: portBYTE_ALIGNMENT must be a power of two"
#endif
/* portBYTE_ALIGNMENT <= HK_ALIGN: plain allocation meets it */
#define HK_FREERTOS_PLAIN_ALIGN (portBYTE_ALIGNMENT <= HK_ALIGN)

#ifndef configUSE_MALLOC_FAILED_HOOK
#define configUSE_MALLOC_FAILED_HOOK 0
#endif
#ifndef configHEAP_CLEAR_MEMORY_ON_FREE
#define configHEAP_CLEAR_MEMORY_ON_FREE 0
#endif
#ifndef configAPPLICATION_ALLOCATED_HEAP
#define configAPPLICATION_ALLOCATED_HEAP 0
#endif
#ifndef traceMALLOC
#define traceMALLOC(pvAddress, uiSize)
#endif
#ifndef traceFREE
#define traceFREE(pvAddress, uiSize)
#endif
#ifndef configASSERT
#define configASSERT(x)
#endif
#ifndef hkFREERTOS_IN_ISR
#define hkFREERTOS_IN_ISR() (xPortIsInsideInterrupt() != pdFALSE)
#endif

#ifdef configTOTAL_HEAP_SIZE
#if configAPPLICATION_ALLOCATED_HEAP == 1
extern uint8_t ucHeap[configTOTAL_HEAP_SIZE];
#else
PRIVILEGED_DATA static uint8_t ucHeap[configTOTAL_HEAP_SIZE];
#endif
#endif

PRIVILEGED_DATA static hk_heap_t *heap;

/* Under vTaskSuspendAll: the heap, created over ucHeap on first use. */
static hk_heap_t *heap_get(void)
{
#ifdef configTOTAL_HEAP_SIZE
    if (heap == NULL)
        heap = hk_heap_init(ucHeap, sizeof ucHeap, NULL);
#endif
    return heap;
}

hk_heap_t *hk_freertos_heap(void)
{
    return heap;
}

void vPortDefineHeapRegions(const HeapRegion_t *const pxHeapRegions)
{
    /* heap_5: once, before the first allocation; regions end with a zero size */
    configASSERT(heap == NULL);
    configASSERT(pxHeapRegions != NULL);
    if (heap != NULL || pxHeapRegions == NULL)
        return;
    hk_heap_t *h = NULL;
    for (const HeapRegion_t *r = pxHeapRegions; r->xSizeInBytes > 0; r++) {
        if (h == NULL) {
            h = hk_heap_init(r->pucStartAddress, r->xSizeInBytes, NULL);
            configASSERT(h != NULL);
        } else {
            int rc = hk_heap_add_region(h, r->pucStartAddress, r->xSizeInBytes);
            configASSERT(rc == 0);
            (void)rc;
        }
    }
    heap = h;
}

void *pvPortMalloc(size_t xWantedSize)
{
    void *p = NULL;
    vTaskSuspendAll();
    {
        hk_heap_t *h = heap_get();
        configASSERT(h != NULL); /* heap_5 style: vPortDefineHeapRegions first */
        if (h != NULL && xWantedSize > 0) {
            if (HK_FREERTOS_PLAIN_ALIGN) /* a constant: one branch is compiled */
                p = hk_heap_alloc(h, xWantedSize);
            else
                p = hk_heap_aligned_alloc(h, portBYTE_ALIGNMENT, xWantedSize);
        }
        traceMALLOC(p, xWantedSize);
    }
    (void)xTaskResumeAll();
#if configUSE_MALLOC_FAILED_HOOK == 1
    if (p == NULL) {
        extern void vApplicationMallocFailedHook(void);
        vApplicationMallocFailedHook();
    }
#endif
    return p;
}

void vPortFree(void *pv)
{
    if (pv == NULL)
        return;
    vTaskSuspendAll();
    {
        hk_heap_t *h = heap_get();
        if (h != NULL) {
            /* the size for traceFREE and the clearing; a pointer that is no
             * live block is reported once, here, and not freed */
            uint64_t errors = hk_error_count();
            size_t n = hk_heap_usable_size(h, pv);
            if (hk_error_count() == errors) {
                traceFREE(pv, n);
#if configHEAP_CLEAR_MEMORY_ON_FREE == 1
                __builtin_memset(pv, 0, n);
#endif
                hk_heap_free(h, pv);
            }
        }
    }
    (void)xTaskResumeAll();
}

void *pvPortCalloc(size_t xNum, size_t xSize)
{
    /* heap_4: NULL when xNum * xSize overflows (pvPortMalloc is not
     * called); a zero product goes to pvPortMalloc(0), which returns NULL */
    if (xSize != 0 && xNum > SIZE_MAX / xSize)
        return NULL;
    void *p = pvPortMalloc(xNum * xSize);
    if (p != NULL)
        __builtin_memset(p, 0, xNum * xSize);
    return p;
}

static hk_stats_t stats_now(void)
{
    hk_stats_t st = { 0 };
    vTaskSuspendAll();
    {
        hk_heap_t *h = heap_get();
        if (h != NULL)
            hk_heap_get_stats(h, &st);
    }
    (void)xTaskResumeAll();
    return st;
}

size_t xPortGetFreeHeapSize(void)
{
    return stats_now().free;
}

size_t xPortGetMinimumEverFreeHeapSize(void)
{
    return stats_now().min_ever_free;
}

void xPortResetHeapMinimumEverFreeHeapSize(void)
{
    vTaskSuspendAll();
    {
        hk_heap_t *h = heap_get();
        if (h != NULL)
            hk_heap_reset_marks(h);
    }
    (void)xTaskResumeAll();
}

void vPortGetHeapStats(HeapStats_t *pxHeapStats)
{
    hk_stats_t st = stats_now();
    pxHeapStats->xAvailableHeapSpaceInBytes = st.free;
    pxHeapStats->xSizeOfLargestFreeBlockInBytes = st.largest_free;
    pxHeapStats->xSizeOfSmallestFreeBlockInBytes = st.smallest_free;
    pxHeapStats->xNumberOfFreeBlocks = st.free_blocks;
    pxHeapStats->xMinimumEverFreeBytesRemaining = st.min_ever_free;
    pxHeapStats->xNumberOfSuccessfulAllocations = (size_t)st.allocs;
    pxHeapStats->xNumberOfSuccessfulFrees = (size_t)st.frees;
}

void vPortInitialiseBlocks(void)
{
    /* heap_4 keeps this only for the linker; the heap is made on first use */
}

void vPortHeapResetState(void)
{
    /* back to the state before the first allocation (for restarting a
     * scheduler in tests): heap_4 style re-creates the heap over ucHeap on
     * the next call, heap_5 style needs vPortDefineHeapRegions again */
    heap = NULL;
}

/* ---- ISR-safe lock hooks for pools (heapkit/port/freertos.h) ---------- */
uintptr_t hk_freertos_isr_lock(void *ctx)
{
    (void)ctx;
    if (hkFREERTOS_IN_ISR())
        return (uintptr_t)taskENTER_CRITICAL_FROM_ISR();
    taskENTER_CRITICAL();
    return HK_FREERTOS_TASK_CONTEXT;
}

void hk_freertos_isr_unlock(void *ctx, uintptr_t saved)
{
    (void)ctx;
    if (saved == HK_FREERTOS_TASK_CONTEXT)
        taskEXIT_CRITICAL();
    else
        taskEXIT_CRITICAL_FROM_ISR((UBaseType_t)saved);
}
