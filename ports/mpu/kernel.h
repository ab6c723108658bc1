/* SPDX-License-Identifier: MIT */
/*
 * kernel.h - the small preemptive kernel of heapkit's MPU test image:
 * round-robin threads switched by PendSV on every SysTick tick, each
 * thread with its own heapkit MPU domain and privilege level, system calls
 * by SVC, and a MemManage/BusFault/UsageFault handler that decodes the
 * fault (hk_mpu_fault_decode), asks a recovery hook what to do and aborts
 * the faulting thread. For ARMv7-M and ARMv8-M mainline; no FPU context.
 */
#ifndef HK_PORT_MPU_KERNEL_H
#define HK_PORT_MPU_KERNEL_H

#include <stdbool.h>
#include <stdint.h>

#include "heapkit/mpu.h"

#define K_MAX_THREADS 12

typedef enum { K_FREE = 0, K_READY, K_DONE, K_ABORTED } k_state_t;

typedef int (*k_entry_t)(void *arg);

typedef struct {
    uint32_t *sp; /* saved PSP: r4-r11 below the hardware frame */
    const hk_mpu_domain_t *domain;
    const char *name;
    k_state_t state;
    bool privileged;
    int exit_code;
    uint32_t runs;      /* times switched in */
    hk_mpu_fault_t fault;
} k_thread_t;

/* Creates a thread that starts entry(arg) on the stack below stack_top with
 * domain loaded (NULL: only the fixed partitions). Returns it or NULL. */
k_thread_t *k_spawn(const char *name, k_entry_t entry, void *arg, void *stack_top,
                    const hk_mpu_domain_t *domain, bool privileged);

/* Makes the caller (on the main stack, privileged) the supervisor thread
 * running on stack_top, starts SysTick every tick_cycles cycles and calls
 * fn(); never returns (fn ends the program). */
_Noreturn void k_start(void (*fn)(void), void *stack_top, uint32_t tick_cycles);

/* Lets another thread run. Any thread. */
void k_yield(void);

/* Threads (user or supervisor) that are neither done nor aborted, not
 * counting the caller. */
unsigned k_others_alive(void);

/* The hook the fault handler calls for a fault in an unprivileged thread;
 * without one, every fault stops the program. The domains are searched to
 * name the partition a faulting address belongs to. */
void k_set_recovery(hk_mpu_recover_fn fn, void *ctx, const hk_mpu_domain_t *const *domains,
                    unsigned n);

/* The thread whose fault is being handled (valid inside the recovery hook). */
k_thread_t *k_current(void);

/* Context switches so far. */
uint32_t k_switches(void);

/* For unprivileged threads: system calls. */
void k_sys_print(const char *s);     /* s must be readable by the caller */
_Noreturn void k_sys_exit(int code);

#endif /* HK_PORT_MPU_KERNEL_H */
