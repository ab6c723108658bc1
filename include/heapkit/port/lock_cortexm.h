/* SPDX-License-Identifier: MIT */
/*
 * heapkit/port/lock_cortexm.h - lock hooks (hk_lock_t) that mask interrupts
 * on Arm Cortex-M, header-only.
 *
 *   hk_lock_t lk = HK_LOCK_CORTEXM_PRIMASK;            every interrupt but NMI/HardFault
 *   hk_lock_t lk = HK_LOCK_CORTEXM_BASEPRI(0x50);      priorities 0x50..0xff (v7-M and up)
 *   hk_heap_config_t cfg = { .lock = &lk };
 *
 * PRIMASK (every Cortex-M): lock saves PRIMASK and executes `cpsid i`;
 * unlock writes the saved value back, so nested use (an ISR taking the lock
 * a task already holds) restores exactly what it found. Masking every
 * interrupt makes the allocator usable from any ISR; the cost is interrupt
 * latency for the length of one call (TLSF and pools are O(1)).
 *
 * BASEPRI (ARMv7-M/ARMv8-M Mainline: Cortex-M3/M4/M7/M33, not M0/M0+/M23):
 * lock saves BASEPRI and raises it to the priority in ctx (with
 * BASEPRI_MAX, which never lowers it), masking only the interrupts at that
 * priority and below; more urgent ones keep running but must not call into
 * the allocator. This is what FreeRTOS does with
 * configMAX_SYSCALL_INTERRUPT_PRIORITY. The priority is the 8-bit register
 * value (already shifted by the implemented priority bits), not 0.
 *
 * The saved value is what unlock needs and lives on the caller's stack
 * (types.h). The register accesses are `asm volatile` with a "memory"
 * clobber, so the compiler moves no heap access across them; on cores with
 * a write buffer an `isb` after the mask write makes it take effect before
 * the next instruction (Arm's guidance for CPSID is that it is
 * self-synchronising; for MSR BASEPRI an ISB is needed).
 *
 * On other compilers/targets the functions are not defined (the header is
 * empty), so a portable file may include it unconditionally.
 */
#ifndef HEAPKIT_PORT_LOCK_CORTEXM_H
#define HEAPKIT_PORT_LOCK_CORTEXM_H

#include <stdint.h>

#include "heapkit/types.h"

#if defined(__arm__) && defined(__ARM_ARCH_PROFILE) && __ARM_ARCH_PROFILE == 'M' && \
    (defined(__GNUC__) || defined(__clang__))

#ifdef __cplusplus
extern "C" {
#endif

#define HK_LOCK_CORTEXM_HAVE_PRIMASK 1

static inline uintptr_t hk_lock_cortexm_primask(void *ctx)
{
    uint32_t saved;
    (void)ctx;
    __asm__ volatile("mrs %0, primask\n\tcpsid i" : "=r"(saved) : : "memory");
    return saved;
}

static inline void hk_unlock_cortexm_primask(void *ctx, uintptr_t saved)
{
    (void)ctx;
    __asm__ volatile("msr primask, %0" : : "r"((uint32_t)saved) : "memory");
}

#define HK_LOCK_CORTEXM_PRIMASK { hk_lock_cortexm_primask, hk_unlock_cortexm_primask, 0 }

#if defined(__ARM_ARCH_7M__) || defined(__ARM_ARCH_7EM__) || defined(__ARM_ARCH_8M_MAIN__) || \
    defined(__ARM_ARCH_8_1M_MAIN__)
#define HK_LOCK_CORTEXM_HAVE_BASEPRI 1

/* ctx: the BASEPRI value to raise to, as (void *)(uintptr_t)priority. */
static inline uintptr_t hk_lock_cortexm_basepri(void *ctx)
{
    uint32_t saved, prio = (uint32_t)(uintptr_t)ctx;
    __asm__ volatile("mrs %0, basepri\n\tmsr basepri_max, %1\n\tisb"
                     : "=&r"(saved) : "r"(prio) : "memory");
    return saved;
}

static inline void hk_unlock_cortexm_basepri(void *ctx, uintptr_t saved)
{
    (void)ctx;
    __asm__ volatile("msr basepri, %0\n\tisb" : : "r"((uint32_t)saved) : "memory");
}

#define HK_LOCK_CORTEXM_BASEPRI(prio) \
    { hk_lock_cortexm_basepri, hk_unlock_cortexm_basepri, (void *)(uintptr_t)(prio) }
#endif /* BASEPRI */

#ifdef __cplusplus
}
#endif

#endif /* Cortex-M */
#endif /* HEAPKIT_PORT_LOCK_CORTEXM_H */
