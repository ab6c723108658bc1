/* SPDX-License-Identifier: MIT */
/*
 * heapkit/port/freertos.h - what heapkit's FreeRTOS heap port
 * (ports/freertos/heapkit_freertos.c, CMake target heapkit::freertos) adds
 * beside FreeRTOS's own heap API (pvPortMalloc ... vPortDefineHeapRegions,
 * declared by FreeRTOS's portable.h). Needs no FreeRTOS header itself.
 *
 * The port replaces heap_4.c (one array, ucHeap[configTOTAL_HEAP_SIZE]) or
 * heap_5.c (regions from vPortDefineHeapRegions); see docs/freertos.md.
 */
#ifndef HEAPKIT_PORT_FREERTOS_H
#define HEAPKIT_PORT_FREERTOS_H

#include <stdint.h>

#include "heapkit/heap.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The heap behind pvPortMalloc, or NULL before the first allocation (heap_4
 * style) or before vPortDefineHeapRegions (heap_5 style). For statistics,
 * hk_heap_validate or the event hook; take vTaskSuspendAll() around calls
 * on it while the scheduler runs, as pvPortMalloc does. */
hk_heap_t *hk_freertos_heap(void);

/* Lock hooks for an hk_pool (or any heapkit allocator) shared between tasks
 * and interrupts under FreeRTOS:
 *     static hk_lock_t isr_lock = HK_FREERTOS_ISR_LOCK;
 *     hk_pool_set_lock(&msg_pool, &isr_lock);
 * In an ISR lock takes taskENTER_CRITICAL_FROM_ISR() and returns the saved
 * mask; in a task it takes taskENTER_CRITICAL() and returns
 * HK_FREERTOS_TASK_CONTEXT; unlock undoes whichever it was. The ISR must run
 * at or below configMAX_SYSCALL_INTERRUPT_PRIORITY (the FreeRTOS rule for
 * every FROM_ISR call). Where the port lacks xPortIsInsideInterrupt(),
 * define hkFREERTOS_IN_ISR() when compiling the port. */
uintptr_t hk_freertos_isr_lock(void *ctx);
void hk_freertos_isr_unlock(void *ctx, uintptr_t saved);
#define HK_FREERTOS_TASK_CONTEXT UINTPTR_MAX
#define HK_FREERTOS_ISR_LOCK { hk_freertos_isr_lock, hk_freertos_isr_unlock, 0 }

#ifdef __cplusplus
}
#endif

#endif /* HEAPKIT_PORT_FREERTOS_H */
