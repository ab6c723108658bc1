/* SPDX-License-Identifier: MIT */
/*
 * FreeRTOS.h - a test double of the FreeRTOS kernel headers, just what
 * ports/freertos/heapkit_freertos.c uses, so the port is tested on the host
 * without the kernel (which is not a Debian package). The declarations
 * follow FreeRTOS V10.4-V11.1's portable.h (HeapRegion_t, HeapStats_t with
 * its seven fields in the same order, the heap functions) and task.h; the
 * scheduler calls only count what they are asked to do (fake_freertos.c),
 * so the tests can check that every heap call ran with the scheduler
 * suspended and that the ISR lock took the right critical section.
 *
 * The configuration macros come from the compiler command line, as a
 * FreeRTOSConfig.h would give them (tests/freertos/CMake variants).
 */
#ifndef FAKE_FREERTOS_H
#define FAKE_FREERTOS_H

#include <stddef.h>
#include <stdint.h>

typedef long BaseType_t;
typedef unsigned long UBaseType_t;
#define pdFALSE ((BaseType_t)0)
#define pdTRUE ((BaseType_t)1)
#define PRIVILEGED_DATA

#ifndef portBYTE_ALIGNMENT
#define portBYTE_ALIGNMENT 8
#endif

/* portable.h */
typedef struct HeapRegion {
    uint8_t *pucStartAddress;
    size_t xSizeInBytes;
} HeapRegion_t;

typedef struct xHeapStats {
    size_t xAvailableHeapSpaceInBytes;
    size_t xSizeOfLargestFreeBlockInBytes;
    size_t xSizeOfSmallestFreeBlockInBytes;
    size_t xNumberOfFreeBlocks;
    size_t xMinimumEverFreeBytesRemaining;
    size_t xNumberOfSuccessfulAllocations;
    size_t xNumberOfSuccessfulFrees;
} HeapStats_t;

void vPortDefineHeapRegions(const HeapRegion_t *const pxHeapRegions);
void vPortGetHeapStats(HeapStats_t *pxHeapStats);
void *pvPortMalloc(size_t xWantedSize);
void *pvPortCalloc(size_t xNum, size_t xSize);
void vPortFree(void *pv);
void vPortInitialiseBlocks(void);
size_t xPortGetFreeHeapSize(void);
size_t xPortGetMinimumEverFreeHeapSize(void);
void xPortResetHeapMinimumEverFreeHeapSize(void);
void vPortHeapResetState(void);

/* the test double's state (fake_freertos.c) */
extern int fake_suspend_depth;      /* vTaskSuspendAll nesting now          */
extern unsigned long fake_suspend_calls, fake_resume_calls;
extern int fake_critical_depth;     /* taskENTER_CRITICAL nesting now       */
extern int fake_isr_critical_depth; /* taskENTER_CRITICAL_FROM_ISR nesting  */
extern int fake_in_isr;             /* what xPortIsInsideInterrupt answers  */
extern unsigned long fake_mask;     /* the "interrupt mask" register        */
extern unsigned long fake_assert_failures, fake_malloc_failed_calls;
extern unsigned long fake_trace_malloc_calls, fake_trace_free_calls;
extern size_t fake_trace_free_size;

void fake_assert_failed(const char *expr);
#define configASSERT(x) ((x) ? (void)0 : fake_assert_failed(#x))

BaseType_t xPortIsInsideInterrupt(void);
void fake_enter_critical(void);
void fake_exit_critical(void);
UBaseType_t fake_enter_critical_from_isr(void);
void fake_exit_critical_from_isr(UBaseType_t saved);
#define taskENTER_CRITICAL() fake_enter_critical()
#define taskEXIT_CRITICAL() fake_exit_critical()
#define taskENTER_CRITICAL_FROM_ISR() fake_enter_critical_from_isr()
#define taskEXIT_CRITICAL_FROM_ISR(x) fake_exit_critical_from_isr(x)

#define traceMALLOC(pvAddress, uiSize) ((void)(pvAddress), (void)(uiSize), fake_trace_malloc_calls++)
#define traceFREE(pvAddress, uiSize) ((void)(pvAddress), fake_trace_free_size = (uiSize), \
                                      fake_trace_free_calls++)

#endif /* FAKE_FREERTOS_H */
