/* SPDX-License-Identifier: MIT */
/*
 * heapkit/mpu.h - memory protection on Cortex-M: partitions, domains, MPU
 * stack guards and fault decoding, for the two MPU architectures of ARMv7-M
 * (PMSAv7: Cortex-M3/M4/M7) and ARMv8-M (PMSAv8: Cortex-M23/M33/M55).
 *
 * A partition is a range of memory with access attributes (who may read,
 * write, execute; normal or device memory). A domain is a set of
 * partitions: the memory one or more unprivileged threads may touch. A
 * context switch loads the next thread's domain with one call,
 * hk_mpu_switch(), which writes register values computed when the
 * partition was added, so the switch itself checks nothing and costs a few
 * stores per region.
 *
 *   hk_mpu_t          the MPU: architecture, number of regions, and the
 *                     fixed partitions every domain shares (code in flash,
 *                     read-only tables); they take regions 0..fixed-1
 *   hk_mpu_domain_t   up to HK_MPU_DOMAIN_MAX partitions, in regions
 *                     fixed..regions-1
 *
 * Privileged code (the kernel, the fault handler) runs on the default
 * memory map (MPU_CTRL.PRIVDEFENA); unprivileged code reaches only what the
 * fixed partitions and its domain grant.
 *
 * Argument rules, each checked with a clear error through the error hook:
 *   PMSAv7  a region is a power of two >= 32 bytes aligned to its size; a
 *           partition that is not one is encoded as a power-of-two region
 *           (>= 256 bytes) with some of its eight subregions disabled, so
 *           base and size must be multiples of 1/8 of that region.
 *           Access: write implies read; what the unprivileged may do the
 *           privileged may do too.  Partitions of a domain may overlap only
 *           when the later one lies inside an earlier one (the higher
 *           region number wins: a read-only window or a guard inside a
 *           larger partition); partial overlaps are rejected.
 *   PMSAv8  base and size are multiples of 32 bytes; any size. There is no
 *           "no access" encoding (the privileged may always read), and no
 *           "privileged write, unprivileged read". No two enabled regions
 *           may overlap (an address hit by two regions faults), so a
 *           domain's partitions may overlap neither each other nor the
 *           fixed ones.
 *   both    executable memory must be readable and normal (not device);
 *           at most `regions` regions in all (HK_ERANGE "too many regions").
 *
 * Thread safety: none; change domains with interrupts masked or before the
 * threads that use them run. hk_mpu_switch is meant for the context switch
 * (PendSV) and must not be interrupted by another switch.
 */
#ifndef HEAPKIT_MPU_H
#define HEAPKIT_MPU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "heapkit/heap.h"
#include "heapkit/pool.h"
#include "heapkit/stack.h"
#include "heapkit/types.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Partitions one domain holds at most (each takes one MPU region). */
#ifndef HK_MPU_DOMAIN_MAX
#define HK_MPU_DOMAIN_MAX 8
#endif
/* Fixed partitions at most (shared by all domains). */
#ifndef HK_MPU_FIXED_MAX
#define HK_MPU_FIXED_MAX 4
#endif

typedef enum {
    HK_MPU_PMSAV7 = 7, /* ARMv7-M: Cortex-M3, M4, M7 */
    HK_MPU_PMSAV8 = 8  /* ARMv8-M: Cortex-M23, M33, M55 */
} hk_mpu_arch_t;

/* Access attributes, or-ed together. */
#define HK_MPU_PRIV_R 0x01u  /* privileged code may read               */
#define HK_MPU_PRIV_W 0x02u  /* privileged code may write              */
#define HK_MPU_USER_R 0x04u  /* unprivileged code may read             */
#define HK_MPU_USER_W 0x08u  /* unprivileged code may write            */
#define HK_MPU_EXEC 0x10u    /* instructions may be fetched (else XN)  */
#define HK_MPU_DEVICE 0x20u  /* device memory (peripherals), else normal */
#define HK_MPU_NO_ACCESS 0x00u                      /* PMSAv7 only: a guard */
#define HK_MPU_PRIV_RW (HK_MPU_PRIV_R | HK_MPU_PRIV_W)
#define HK_MPU_RO (HK_MPU_PRIV_R | HK_MPU_USER_R)  /* everybody reads      */
#define HK_MPU_RW (HK_MPU_PRIV_RW | HK_MPU_USER_R | HK_MPU_USER_W)
#define HK_MPU_RX (HK_MPU_RO | HK_MPU_EXEC)        /* code for everybody   */
#define HK_MPU_PRIV_RW_USER_RO (HK_MPU_PRIV_RW | HK_MPU_USER_R) /* PMSAv7 only */

typedef struct {
    void *base;
    size_t size;
    uint32_t attr;    /* HK_MPU_* */
    const char *name; /* for fault reports; may be NULL */
} hk_mpu_partition_t;

/* Defines a partition at file scope: HK_MPU_PARTITION_DEFINE(uart0,
 * (void *)0x40004000, 0x1000, HK_MPU_RW | HK_MPU_DEVICE); its name is the
 * variable's. The checks run when it is added to an MPU or a domain. */
#define HK_MPU_PARTITION_DEFINE(var, base_, size_, attr_) \
    hk_mpu_partition_t var = { (void *)(base_), (size_), (attr_), #var }

/* Defines an empty domain of the MPU at mpu_ptr at file scope, ready for
 * hk_mpu_domain_add without hk_mpu_domain_init:
 * static HK_MPU_DOMAIN_DEFINE(radio, &mpu, "radio"); */
#define HK_MPU_DOMAIN_DEFINE(var, mpu_ptr, name_) \
    hk_mpu_domain_t var = { (mpu_ptr), (name_), 0, { NULL }, { { 0, 0 } } }

/* One MPU region as the registers take it. PMSAv7: rbar = RBAR with VALID
 * and the region number, rasr = RASR. PMSAv8: rbar = RBAR, rasr = RLAR. */
typedef struct {
    uint32_t rbar;
    uint32_t rasr;
} hk_mpu_region_t;

/* Private fields; public so they can live in static storage. */
typedef struct hk_mpu {
    hk_mpu_arch_t arch;
    uint8_t regions; /* hardware regions (MPU_TYPE.DREGION) */
    uint8_t fixed;
    const hk_mpu_partition_t *fixed_parts[HK_MPU_FIXED_MAX];
    hk_mpu_region_t fixed_regs[HK_MPU_FIXED_MAX];
} hk_mpu_t;

typedef struct hk_mpu_domain {
    const hk_mpu_t *mpu;
    const char *name;
    uint8_t count;
    const hk_mpu_partition_t *parts[HK_MPU_DOMAIN_MAX];
    hk_mpu_region_t regs[HK_MPU_DOMAIN_MAX]; /* ready for the registers */
} hk_mpu_domain_t;

/* ---- encoding (pure, testable on any host) ------------------------------- */

/* Computes the register values of partition p in MPU region `region` of an
 * MPU of architecture arch. Returns 0, or HK_EINVAL (NULL argument, size or
 * alignment breaks the architecture's rules, attributes not encodable;
 * reported with the rule that failed) or HK_ERANGE (region > 15). O(1).
 * PMSAv7 encodes normal memory as TEX=001 C=1 B=1 (write-back, read and
 * write allocate), device memory as shareable device (TEX=000 C=0 B=1 S=1).
 * PMSAv8 uses MAIR attribute 0 for normal memory and 1 for device memory:
 * hk_mpu_enable writes MAIR0 = HK_MPU_V8_MAIR0. */
int hk_mpu_encode(hk_mpu_arch_t arch, const hk_mpu_partition_t *p, unsigned region,
                  hk_mpu_region_t *out);

#define HK_MPU_V8_MAIR0 0x000004ffu /* attr0 normal write-back RW-allocate, attr1 Device-nGnRE */

/* The smallest partition at or above mem, inside [mem, mem + bytes), that
 * holds at least `want` bytes and that arch can encode (PMSAv7: a power of
 * two aligned to itself, or a subregion multiple; PMSAv8: 32-byte granules).
 * Fills *out (name NULL) and returns 0, or HK_EINVAL / HK_ENOMEM when none
 * fits. O(log want). */
int hk_mpu_fit(hk_mpu_arch_t arch, void *mem, size_t bytes, size_t want, uint32_t attr,
               hk_mpu_partition_t *out);

/* ---- the MPU and domains ---------------------------------------------------- */

/* Describes an MPU with `regions` regions (8 or 16 on the cores above)
 * whose regions 0..nfixed-1 hold the partitions fixed[] for every domain.
 * Returns 0, HK_EINVAL (NULL, bad partition, fixed partitions overlapping on
 * PMSAv8) or HK_ERANGE (regions 0 or > 16, more fixed partitions than
 * HK_MPU_FIXED_MAX or regions). The partitions are referenced, not copied. */
int hk_mpu_init(hk_mpu_t *mpu, hk_mpu_arch_t arch, unsigned regions,
                const hk_mpu_partition_t *const *fixed, size_t nfixed);

/* An empty domain named name (may be NULL) for mpu. Returns 0 or HK_EINVAL. */
int hk_mpu_domain_init(hk_mpu_domain_t *d, const hk_mpu_t *mpu, const char *name);

/* Adds partition p (referenced, not copied: it must outlive the domain) to
 * d, in the next free region. Returns 0, or HK_EINVAL (NULL, p already in
 * d, p not encodable), HK_EOVERLAP (p overlaps a partition in a way the
 * architecture does not allow, see the rules above) or HK_ERANGE (too many
 * regions: fixed + partitions would exceed the MPU's regions or
 * HK_MPU_DOMAIN_MAX). Nothing changes on error. O(partitions). A domain
 * currently loaded takes the change at the next hk_mpu_switch. */
int hk_mpu_domain_add(hk_mpu_domain_t *d, const hk_mpu_partition_t *p);

/* Removes p from d; the later partitions move down one region. Returns 0 or
 * HK_EINVAL (NULL, p not in d; reported). O(partitions). */
int hk_mpu_domain_remove(hk_mpu_domain_t *d, const hk_mpu_partition_t *p);

/* The partition of d (then of d's MPU's fixed ones) that contains addr, or
 * NULL. O(partitions). */
const hk_mpu_partition_t *hk_mpu_domain_find(const hk_mpu_domain_t *d, uintptr_t addr);

/* ---- programming the MPU (Cortex-M with an MPU; elsewhere HK_ENOTSUP) ---- */

/* Writes the fixed regions and MAIR0 (PMSAv8), disables every other region,
 * enables the MemManage, BusFault and UsageFault exceptions and turns the
 * MPU on with the default map for privileged code. Returns 0, HK_ENOTSUP
 * (not built for an ARMv7-M/ARMv8-M mainline core), or HK_ERANGE when the
 * core has fewer regions than mpu says (MPU_TYPE.DREGION). */
int hk_mpu_enable(const hk_mpu_t *mpu);

/* Loads domain d (NULL: no domain, only the fixed partitions) into the MPU:
 * one call per context switch, no checks, 2 (PMSAv7) or 3 (PMSAv8) stores
 * per domain region and per region the previous domain used beyond this
 * one's, then DSB and ISB. Call from privileged code only, with no other
 * switch in between (from PendSV). */
void hk_mpu_switch(const hk_mpu_domain_t *d);

/* The portable body of hk_mpu_switch: writes the domain's regions through
 * regs, which points at MPU_TYPE (0xE000ED90 on the core; RNR, RBAR and
 * RASR/RLAR are regs[2], regs[3], regs[4]), then disables the regions from
 * the domain's last one up to stale (exclusive): the mark the previous
 * load returned, so a switch touches only the regions either domain uses
 * (pass mpu->regions to disable every other region). Returns the new mark
 * (fixed + partitions of d). For tests on a host with a fake register
 * block. */
unsigned hk_mpu_load(volatile uint32_t *regs, const hk_mpu_t *mpu, const hk_mpu_domain_t *d,
                     unsigned stale);

/* ---- heaps, pools and stacks in partitions ---------------------------------- */

/* Carves the smallest encodable partition of at least `bytes` from
 * [mem, mem + avail) (see hk_mpu_fit), fills *part with attr and name, and
 * creates a heap on exactly that memory: the heap's control block and
 * every block it hands out lie inside the partition, so a thread whose
 * domain holds the partition allocates from it and from no other heap.
 * Returns the heap, or NULL (reported) when nothing fits or the heap cannot
 * be created. */
hk_heap_t *hk_mpu_heap_init(hk_mpu_partition_t *part, hk_mpu_arch_t arch, void *mem, size_t avail,
                            size_t bytes, uint32_t attr, const char *name,
                            const hk_heap_config_t *cfg);

/* The same for a pool: the hk_pool_t itself is placed at the start of the
 * partition (so unprivileged code can use it), its blocks after it. Returns
 * the pool or NULL (reported). */
hk_pool_t *hk_mpu_pool_init(hk_mpu_partition_t *part, hk_mpu_arch_t arch, void *mem, size_t avail,
                            size_t bytes, size_t block_size, size_t align, uint32_t attr,
                            const char *name);

/* A pool of thread stacks (hk_stack) laid out so that each stack and the
 * guard below it are MPU partitions:
 *
 *     block (block_size, aligned to it on PMSAv7, to 32 on PMSAv8):
 *     | guard | stack ............................. |
 *
 * The guard is HK_MPU_NO_ACCESS on PMSAv7 and HK_MPU_PRIV_R (the closest
 * PMSAv8 can encode: every write faults, privileged reads pass) on
 * PMSAv8; with it in the thread's domain a push past the stack faults at
 * once, before anything below is corrupted. */
typedef struct {
    hk_stack_pool_t pool;
    hk_mpu_arch_t arch;
    size_t block;
    size_t guard;
} hk_mpu_stacks_t;

/* Creates the pool over [mem, mem + bytes). PMSAv7: block_size a power of
 * two >= 256, guard a power of two >= 32 and a multiple of block_size / 8,
 * below block_size (so that block - guard is encodable with subregions).
 * PMSAv8: both multiples of 32, guard < block_size. Returns 0, HK_EINVAL
 * (reported with the rule) or what hk_stack_pool_init returns. */
int hk_mpu_stacks_init(hk_mpu_stacks_t *s, hk_mpu_arch_t arch, void *mem, size_t bytes,
                       size_t block_size, size_t guard, const hk_lock_t *lock);

/* Acquires a stack (hk_stack_acquire) and fills *stack_part (HK_MPU_RW,
 * not executable) and *guard_part with its partitions, both named name.
 * Returns the stack's lowest usable address (the initial stack pointer is
 * hk_stack_top(&s->pool, stack)), or NULL when every stack is in use. */
void *hk_mpu_stack_acquire(hk_mpu_stacks_t *s, hk_mpu_partition_t *stack_part,
                           hk_mpu_partition_t *guard_part, const char *name);

/* ---- faults ------------------------------------------------------------------- */

typedef enum {
    HK_MPU_FAULT_NONE = 0,
    HK_MPU_FAULT_DATA,       /* MemManage DACCVIOL: data access to memory not granted */
    HK_MPU_FAULT_EXEC,       /* MemManage IACCVIOL: instruction fetch from XN / ungranted */
    HK_MPU_FAULT_STACKING,   /* MemManage MSTKERR: exception entry pushed into a violation */
    HK_MPU_FAULT_UNSTACKING, /* MemManage MUNSTKERR */
    HK_MPU_FAULT_BUS,        /* BusFault (precise, imprecise, fetch, (un)stacking) */
    HK_MPU_FAULT_USAGE,      /* UsageFault: undefined instruction, state, alignment, ... */
    HK_MPU_FAULT_STACK_LIMIT /* UsageFault STKOF (ARMv8-M stack limit) */
} hk_mpu_cause_t;

typedef struct {
    hk_mpu_cause_t cause;
    uint32_t cfsr;                  /* as read */
    uintptr_t addr;                 /* MMFAR/BFAR when valid, the pc for a fetch fault,
                                     * else the thread's stack pointer for (un)stacking */
    bool addr_valid;                /* addr is the faulting address */
    const hk_mpu_partition_t *part; /* the partition containing addr, or NULL */
    const hk_mpu_domain_t *domain;  /* the domain holding part (NULL: fixed or none) */
} hk_mpu_fault_t;

/* Decodes a fault from the fault status registers: cfsr (0xE000ED28),
 * mmfar (0xE000ED34), bfar (0xE000ED38), the stacked pc (used for a fetch
 * fault; 0 when the frame could not be read) and the thread's stack pointer
 * (for a stacking fault), and looks the address up in `current` (the
 * domain loaded at the fault) and then in domains[0..n) to name the
 * partition and the domain that holds it. Pure: reads no register. */
void hk_mpu_fault_decode(uint32_t cfsr, uint32_t mmfar, uint32_t bfar, uintptr_t pc,
                         uintptr_t sp, const hk_mpu_domain_t *current,
                         const hk_mpu_domain_t *const *domains, size_t n, hk_mpu_fault_t *out);

/* A static name for a cause ("data access violation"). */
const char *hk_mpu_cause_name(hk_mpu_cause_t cause);

/* What the recovery hook asks the fault handler to do. */
typedef enum {
    HK_MPU_ABORT_THREAD = 0, /* end the faulting thread, run another */
    HK_MPU_PANIC = 1         /* unrecoverable: stop the system */
} hk_mpu_action_t;

/* The recovery hook a kernel's fault handler calls with the decoded fault
 * (see ports/mpu/ for a handler that uses it). */
typedef hk_mpu_action_t (*hk_mpu_recover_fn)(void *ctx, const hk_mpu_fault_t *fault);

#ifdef __cplusplus
}
#endif

#endif /* HEAPKIT_MPU_H */
