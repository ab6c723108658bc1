/* SPDX-License-Identifier: MIT */
/*
 * mpu_cortexm.c - the two calls of heapkit/mpu.h that touch the MPU:
 * hk_mpu_enable and hk_mpu_switch. Built into the library for every target;
 * the register code is compiled only for ARMv7-M and ARMv8-M mainline cores
 * (Cortex-M3/M4/M7/M33/M55, which have the MPU heapkit programs); elsewhere
 * hk_mpu_enable returns HK_ENOTSUP and hk_mpu_switch does nothing.
 *
 * The System Control Space addresses (ARMv7-M B3.2, B3.5; ARMv8-M D1.2):
 *   0xE000ED24 SHCSR  MEMFAULTENA[16] BUSFAULTENA[17] USGFAULTENA[18]
 *   0xE000ED90 MPU_TYPE (DREGION[15:8]), then CTRL, RNR, RBAR, RASR/RLAR
 *   0xE000EDC0 MPU_MAIR0 (ARMv8-M)
 * A program running Secure on an ARMv8-M core with the Security Extension
 * reaches the Secure MPU at these addresses, a Non-secure one its own MPU.
 */
#include "heapkit/mpu.h"

#include "common/hk_internal.h"

#if defined(__ARM_ARCH_7M__) || defined(__ARM_ARCH_7EM__) || defined(__ARM_ARCH_8M_MAIN__)
#define HK_MPU_HW 1
#else
#define HK_MPU_HW 0
#endif

#if HK_MPU_HW
#define SCB_SHCSR (*(volatile uint32_t *)0xE000ED24u)
#define MPU_REGS ((volatile uint32_t *)0xE000ED90u)
#define MPU_MAIR0 (*(volatile uint32_t *)0xE000EDC0u)
#define MPU_CTRL_ENABLE 1u
#define MPU_CTRL_PRIVDEFENA 4u

static const hk_mpu_t *enabled;
static unsigned loaded; /* regions fixed..loaded-1 may be enabled */

static void barrier(void)
{
    __asm volatile("dsb\n\tisb" ::: "memory");
}

int hk_mpu_enable(const hk_mpu_t *mpu)
{
    if (!mpu) {
        hk__report(HK_EINVAL, mpu, "mpu enable: NULL");
        return HK_EINVAL;
    }
    volatile uint32_t *regs = MPU_REGS;
    unsigned have = (regs[0] >> 8) & 0xffu;
    if (have < mpu->regions) {
        hk__report(HK_ERANGE, mpu, "mpu enable: the core has fewer MPU regions");
        return HK_ERANGE;
    }
    regs[1] = 0; /* off while the regions change */
    barrier();
#if defined(__ARM_ARCH_8M_MAIN__)
    MPU_MAIR0 = HK_MPU_V8_MAIR0;
#endif
    for (unsigned i = 0; i < mpu->fixed; i++) {
        regs[2] = i;
        regs[3] = mpu->fixed_regs[i].rbar;
        regs[4] = mpu->fixed_regs[i].rasr;
    }
    for (unsigned i = mpu->fixed; i < have; i++) {
        regs[2] = i;
        regs[4] = 0;
    }
    enabled = mpu;
    loaded = mpu->fixed;
    SCB_SHCSR |= (1u << 16) | (1u << 17) | (1u << 18);
    regs[1] = MPU_CTRL_ENABLE | MPU_CTRL_PRIVDEFENA;
    barrier();
    return HK_OK;
}

void hk_mpu_switch(const hk_mpu_domain_t *d)
{
    const hk_mpu_t *mpu = d ? d->mpu : enabled;
    if (!mpu)
        return;
    loaded = hk_mpu_load(MPU_REGS, mpu, d, loaded);
    barrier();
}

#else /* no MPU heapkit can program on this target */

int hk_mpu_enable(const hk_mpu_t *mpu)
{
    (void)mpu;
    return HK_ENOTSUP;
}

void hk_mpu_switch(const hk_mpu_domain_t *d)
{
    (void)d;
}

#endif
