/* SPDX-License-Identifier: MIT */
/*
 * heapkit/port/lock_riscv.h - lock hooks (hk_lock_t) that mask interrupts on
 * RISC-V in machine mode, header-only.
 *
 *   hk_lock_t lk = HK_LOCK_RISCV_MIE;
 *   hk_heap_config_t cfg = { .lock = &lk };
 *
 * lock clears mstatus.MIE with one `csrrci` (an atomic read-and-clear of the
 * CSR, so no interrupt can slip in between reading and clearing) and returns
 * the old MIE bit; unlock sets it again only if it was set (`csrs`), so
 * nested use restores exactly what it found. M-mode only: in S-mode use
 * sstatus.SIE (HK_LOCK_RISCV_SIE); in U-mode neither CSR is accessible.
 * A single hart: on several harts an interrupt mask does not exclude the
 * others; use a spinlock on the A extension there.
 *
 * The arithmetic on the saved value is plain C (hk_riscv_status_saved,
 * hk_riscv_status_restore_bits), tested on the host; only the two CSR
 * instructions are target code. Without a RISC-V compiler only those
 * helpers are defined.
 */
#ifndef HEAPKIT_PORT_LOCK_RISCV_H
#define HEAPKIT_PORT_LOCK_RISCV_H

#include <stdint.h>

#include "heapkit/types.h"

#ifdef __cplusplus
extern "C" {
#endif

#define HK_RISCV_MSTATUS_MIE 0x8u /* mstatus bit 3 */
#define HK_RISCV_SSTATUS_SIE 0x2u /* sstatus bit 1 */

/* What lock returns for the old status register value: only the enable bit. */
static inline uintptr_t hk_riscv_status_saved(uintptr_t old_status, uintptr_t bit)
{
    return old_status & bit;
}

/* The bits unlock sets again: the saved enable bit, never any other. */
static inline uintptr_t hk_riscv_status_restore_bits(uintptr_t saved, uintptr_t bit)
{
    return saved & bit;
}

#if defined(__riscv) && (defined(__GNUC__) || defined(__clang__))
#define HK_LOCK_RISCV_HAVE_MIE 1

/* The CSR instructions need Zicsr, which binutils 2.40 no longer implies
 * from -march=rv32imac: enable it for these instructions only. */
#define HK_RISCV_ZICSR(insn) ".option push\n\t.option arch, +zicsr\n\t" insn "\n\t.option pop"

static inline uintptr_t hk_lock_riscv_mie(void *ctx)
{
    uintptr_t old;
    (void)ctx;
    __asm__ volatile(HK_RISCV_ZICSR("csrrci %0, mstatus, %1") : "=r"(old) : "i"(HK_RISCV_MSTATUS_MIE) : "memory");
    return hk_riscv_status_saved(old, HK_RISCV_MSTATUS_MIE);
}

static inline void hk_unlock_riscv_mie(void *ctx, uintptr_t saved)
{
    (void)ctx;
    uintptr_t bits = hk_riscv_status_restore_bits(saved, HK_RISCV_MSTATUS_MIE);
    __asm__ volatile(HK_RISCV_ZICSR("csrs mstatus, %0") : : "r"(bits) : "memory");
}

static inline uintptr_t hk_lock_riscv_sie(void *ctx)
{
    uintptr_t old;
    (void)ctx;
    __asm__ volatile(HK_RISCV_ZICSR("csrrci %0, sstatus, %1") : "=r"(old) : "i"(HK_RISCV_SSTATUS_SIE) : "memory");
    return hk_riscv_status_saved(old, HK_RISCV_SSTATUS_SIE);
}

static inline void hk_unlock_riscv_sie(void *ctx, uintptr_t saved)
{
    (void)ctx;
    uintptr_t bits = hk_riscv_status_restore_bits(saved, HK_RISCV_SSTATUS_SIE);
    __asm__ volatile(HK_RISCV_ZICSR("csrs sstatus, %0") : : "r"(bits) : "memory");
}

#define HK_LOCK_RISCV_MIE { hk_lock_riscv_mie, hk_unlock_riscv_mie, 0 }
#define HK_LOCK_RISCV_SIE { hk_lock_riscv_sie, hk_unlock_riscv_sie, 0 }
#endif /* __riscv */

#ifdef __cplusplus
}
#endif

#endif /* HEAPKIT_PORT_LOCK_RISCV_H */
