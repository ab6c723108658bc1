/* SPDX-License-Identifier: MIT */
/*
 * test_port_locks.c - the interrupt-mask lock helpers (heapkit/port/
 * lock_cortexm.h, lock_riscv.h). Everywhere: the saved-state arithmetic of
 * the RISC-V lock. On a Cortex-M target: PRIMASK (and on ARMv7-M BASEPRI)
 * is set inside the lock, nested locks restore what they found, and a heap
 * configured with the lock runs its calls masked. On a RISC-V M-mode
 * target: mstatus.MIE likewise.
 */
#include <stdint.h>

#include "heapkit/heap.h"
#include "heapkit/port/lock_cortexm.h"
#include "heapkit/port/lock_riscv.h"
#include "hk_test.h"

static void test_riscv_saved_state_arithmetic(void)
{
    /* only the enable bit is saved and only it is ever set again */
    HK_CHECK_EQ(hk_riscv_status_saved(0x1888u, HK_RISCV_MSTATUS_MIE), HK_RISCV_MSTATUS_MIE);
    HK_CHECK_EQ(hk_riscv_status_saved(0x1880u, HK_RISCV_MSTATUS_MIE), 0);
    HK_CHECK_EQ(hk_riscv_status_restore_bits(HK_RISCV_MSTATUS_MIE, HK_RISCV_MSTATUS_MIE),
                HK_RISCV_MSTATUS_MIE);
    HK_CHECK_EQ(hk_riscv_status_restore_bits(0, HK_RISCV_MSTATUS_MIE), 0);
    HK_CHECK_EQ(hk_riscv_status_restore_bits(~(uintptr_t)0, HK_RISCV_MSTATUS_MIE),
                HK_RISCV_MSTATUS_MIE);
    HK_CHECK_EQ(hk_riscv_status_saved(0x2u, HK_RISCV_SSTATUS_SIE), HK_RISCV_SSTATUS_SIE);
}

#if defined(HK_LOCK_CORTEXM_HAVE_PRIMASK) || defined(HK_LOCK_RISCV_HAVE_MIE)
#if defined(HK_LOCK_CORTEXM_HAVE_PRIMASK)
static unsigned masked_now(void)
{
    uint32_t v;
    __asm__ volatile("mrs %0, primask" : "=r"(v));
    return v & 1u;
}
static hk_lock_t irq_lock = HK_LOCK_CORTEXM_PRIMASK;
#else
static unsigned masked_now(void)
{
    uintptr_t v;
    __asm__ volatile(HK_RISCV_ZICSR("csrr %0, mstatus") : "=r"(v));
    return (v & HK_RISCV_MSTATUS_MIE) ? 0u : 1u;
}
static hk_lock_t irq_lock = HK_LOCK_RISCV_MIE;
#endif

/* The heap's lock, wrapped: after taking the mask lock and before giving it
 * back, sample the mask, so every heap call is seen running masked. */
static unsigned calls_masked, calls_unmasked;
static uintptr_t probe_lock(void *ctx)
{
    (void)ctx;
    uintptr_t s = irq_lock.lock(irq_lock.ctx);
    if (masked_now())
        calls_masked++;
    else
        calls_unmasked++;
    return s;
}

static void probe_unlock(void *ctx, uintptr_t saved)
{
    (void)ctx;
    if (!masked_now())
        calls_unmasked++;
    irq_lock.unlock(irq_lock.ctx, saved);
}

static void test_mask_lock_nests_and_restores(void)
{
    unsigned before = masked_now();
    uintptr_t outer = irq_lock.lock(irq_lock.ctx);
    HK_CHECK_EQ(masked_now(), 1);
    uintptr_t inner = irq_lock.lock(irq_lock.ctx); /* an ISR inside the section */
    HK_CHECK_EQ(masked_now(), 1);
    irq_lock.unlock(irq_lock.ctx, inner);
    HK_CHECK_EQ(masked_now(), 1); /* the inner unlock keeps the outer mask */
    irq_lock.unlock(irq_lock.ctx, outer);
    HK_CHECK_EQ(masked_now(), before);
}

static void test_heap_runs_masked(void)
{
    size_t size = 0;
    unsigned char *mem = hk_test_arena(&size);
    if (size > 16384)
        size = 16384;
    static const hk_lock_t probe = { probe_lock, probe_unlock, NULL };
    hk_heap_config_t cfg = { 0 };
    cfg.lock = &probe;
    hk_heap_t *h = hk_heap_init(mem, size, &cfg);
    HK_REQUIRE(h != NULL);
    calls_masked = calls_unmasked = 0;
    unsigned before = masked_now();
    void *p = hk_heap_alloc(h, 64);
    HK_CHECK(p != NULL);
    hk_heap_free(h, p);
    HK_CHECK(calls_masked >= 2); /* alloc and free each took the lock */
    HK_CHECK_EQ(calls_unmasked, 0);
    HK_CHECK_EQ(masked_now(), before);
}

#if defined(HK_LOCK_CORTEXM_HAVE_BASEPRI)
static void test_basepri_lock(void)
{
    hk_lock_t lk = HK_LOCK_CORTEXM_BASEPRI(0x40);
    uint32_t v0, v1, v2;
    __asm__ volatile("mrs %0, basepri" : "=r"(v0));
    uintptr_t s = lk.lock(lk.ctx);
    __asm__ volatile("mrs %0, basepri" : "=r"(v1));
    hk_lock_t lk2 = HK_LOCK_CORTEXM_BASEPRI(0x80); /* less urgent: never lowers */
    uintptr_t s2 = lk2.lock(lk2.ctx);
    __asm__ volatile("mrs %0, basepri" : "=r"(v2));
    lk2.unlock(lk2.ctx, s2);
    lk.unlock(lk.ctx, s);
    uint32_t v3;
    __asm__ volatile("mrs %0, basepri" : "=r"(v3));
    /* QEMU implements the top bits of the 8-bit field: compare masked */
    HK_CHECK(v1 != 0);
    HK_CHECK_EQ(v2, v1);
    HK_CHECK_EQ(v3, v0);
}
#endif
#endif

HK_SUITE(port_locks)
{
    HK_RUN(test_riscv_saved_state_arithmetic);
#if defined(HK_LOCK_CORTEXM_HAVE_PRIMASK) || defined(HK_LOCK_RISCV_HAVE_MIE)
    HK_RUN(test_mask_lock_nests_and_restores);
    HK_RUN(test_heap_runs_masked);
#if defined(HK_LOCK_CORTEXM_HAVE_BASEPRI)
    HK_RUN(test_basepri_lock);
#endif
#endif
}
