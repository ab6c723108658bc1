/* SPDX-License-Identifier: MIT */
/*
 * freertos/main.c - heapkit as the FreeRTOS heap. In a FreeRTOS project:
 *
 *   1. Compile ports/freertos/heapkit_freertos.c instead of
 *      portable/MemMang/heap_4.c (or heap_5.c), with heapkit's include/ on
 *      the include path and libheapkit (or its sources) linked; with CMake:
 *          target_link_libraries(freertos_kernel PRIVATE heapkit::freertos)
 *   2. Keep FreeRTOSConfig.h as it is: configTOTAL_HEAP_SIZE (heap_4 style),
 *      configUSE_MALLOC_FAILED_HOOK, configAPPLICATION_ALLOCATED_HEAP work as
 *      with heap_4; for heap_5 style call vPortDefineHeapRegions() first.
 *   3. Nothing else: xTaskCreate, queues and pvPortMalloc use heapkit.
 *
 * This file is what an application's task does with the heap. In heapkit's
 * CI it is built and run on the host against the FreeRTOS test double
 * (tests/freertos/fake), since the kernel is not part of heapkit.
 */
#include <stdio.h>

#include "FreeRTOS.h"
#include "task.h"

#include "heapkit/port/freertos.h"
#include "heapkit/print.h"

void vApplicationMallocFailedHook(void);
void vApplicationMallocFailedHook(void)
{
    printf("malloc failed hook: out of heap\n");
}

static void console_putc(void *ctx, char c)
{
    (void)ctx;
    putchar(c);
}

/* What a task would do: messages of varying size, freed out of order. */
static int app_task_body(void)
{
    void *msgs[32];
    for (int i = 0; i < 32; i++) {
        msgs[i] = pvPortMalloc((size_t)(16 + i * 24));
        if (!msgs[i])
            return 1;
    }
    for (int i = 0; i < 32; i += 2)
        vPortFree(msgs[i]);
    HeapStats_t st;
    vPortGetHeapStats(&st);
    printf("free %zu bytes in %zu blocks, largest %zu, smallest %zu, min ever %zu\n",
           st.xAvailableHeapSpaceInBytes, st.xNumberOfFreeBlocks,
           st.xSizeOfLargestFreeBlockInBytes, st.xSizeOfSmallestFreeBlockInBytes,
           st.xMinimumEverFreeBytesRemaining);
    for (int i = 1; i < 32; i += 2)
        vPortFree(msgs[i]);
    /* heapkit's own one-line summary of the same heap */
    vTaskSuspendAll();
    hk_print_heap(hk_freertos_heap(), "freertos", console_putc, NULL);
    (void)xTaskResumeAll();
    xPortResetHeapMinimumEverFreeHeapSize();
    return xPortGetMinimumEverFreeHeapSize() == xPortGetFreeHeapSize() ? 0 : 1;
}

int main(void)
{
    int rc = app_task_body();
    printf("freertos example: %s\n", rc ? "FAILED" : "ok");
    return rc;
}
