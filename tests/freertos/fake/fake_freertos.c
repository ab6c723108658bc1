/* SPDX-License-Identifier: MIT */
/*
 * fake_freertos.c - the FreeRTOS test double's scheduler and critical
 * sections (FreeRTOS.h): each call is counted and checked for balance, and
 * the FROM_ISR variant saves and restores a fake interrupt mask the way
 * portSET_INTERRUPT_MASK_FROM_ISR does on Cortex-M (returns the old BASEPRI).
 */
#include "FreeRTOS.h"
#include "task.h"

int fake_suspend_depth;
unsigned long fake_suspend_calls, fake_resume_calls;
int fake_critical_depth;
int fake_isr_critical_depth;
int fake_in_isr;
unsigned long fake_mask;
unsigned long fake_assert_failures, fake_malloc_failed_calls;
unsigned long fake_trace_malloc_calls, fake_trace_free_calls;
size_t fake_trace_free_size;

#define FAKE_MAX_SYSCALL_MASK 0x50ul

void fake_assert_failed(const char *expr)
{
    (void)expr;
    fake_assert_failures++;
}

void vTaskSuspendAll(void)
{
    fake_suspend_depth++;
    fake_suspend_calls++;
}

BaseType_t xTaskResumeAll(void)
{
    if (fake_suspend_depth > 0)
        fake_suspend_depth--;
    else
        fake_assert_failures++; /* resume without suspend */
    fake_resume_calls++;
    return pdFALSE;
}

BaseType_t xPortIsInsideInterrupt(void)
{
    return fake_in_isr ? pdTRUE : pdFALSE;
}

void fake_enter_critical(void)
{
    if (fake_in_isr)
        fake_assert_failures++; /* taskENTER_CRITICAL is not for ISRs */
    fake_critical_depth++;
}

void fake_exit_critical(void)
{
    if (fake_critical_depth > 0)
        fake_critical_depth--;
    else
        fake_assert_failures++;
}

UBaseType_t fake_enter_critical_from_isr(void)
{
    UBaseType_t saved = fake_mask;
    fake_mask = FAKE_MAX_SYSCALL_MASK;
    fake_isr_critical_depth++;
    return saved;
}

void fake_exit_critical_from_isr(UBaseType_t saved)
{
    if (fake_isr_critical_depth > 0)
        fake_isr_critical_depth--;
    else
        fake_assert_failures++;
    fake_mask = saved;
}

#if defined(configUSE_MALLOC_FAILED_HOOK) && configUSE_MALLOC_FAILED_HOOK == 1
/* weak: an application (examples/freertos) may define its own */
void vApplicationMallocFailedHook(void);
__attribute__((weak)) void vApplicationMallocFailedHook(void)
{
    fake_malloc_failed_calls++;
}
#endif
