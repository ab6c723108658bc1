/* SPDX-License-Identifier: MIT */
/*
 * heapkit/stack.h - a pool of thread stacks whose real use can be measured.
 *
 * All stacks of a pool have one size. A stack is taken with
 * hk_stack_acquire and given back with hk_stack_release; nothing is set up
 * until a stack is first acquired (lazy allocation). On acquire the stack is
 * painted with a 32-bit pattern, and an optional guard region below it with
 * a second pattern. Stacks grow down (every target heapkit supports: Arm,
 * RISC-V, x86), so:
 *
 *     block:  | guard | stack ......................... |
 *                     ^ hk_stack_acquire()              ^ hk_stack_top()
 *
 * hk_stack_high_water scans the paint from the low end up: the first word
 * that no longer holds the pattern marks the deepest point the stack ever
 * reached. A word the thread wrote with exactly the paint value reads as
 * unused, so the figure can be low by the words at the deepest point that
 * happen to equal the pattern (the same caveat as every painted-stack
 * measure; pick a pattern unlikely to be stored, the default is 0xA5C35A3C).
 * A damaged guard means the thread ran past its stack; it is reported on
 * release and by hk_stack_check / hk_stack_validate.
 *
 * Thread safety: none unless a lock is given; then every call below that
 * takes the pool runs under it (painting on acquire excepted: the stack is
 * the caller's by then). high_water may be called while the stack's thread
 * runs; it then reads memory that thread writes, which gives a lower bound.
 *
 * Interrupts: acquire paints the whole stack (O(stack size)) and the
 * high-water scan reads it; acquire and release belong in thread context,
 * not in an ISR. hk_stack_check reads only the guard and may run from a
 * fault handler with interrupts masked.
 */
#ifndef HEAPKIT_STACK_H
#define HEAPKIT_STACK_H

#include <stddef.h>
#include <stdint.h>

#include "heapkit/pool.h"
#include "heapkit/types.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    size_t stack_size;     /* usable bytes per stack, rounded up to 8; required */
    size_t guard;          /* guard bytes below each stack, rounded up to 8; 0: none */
    size_t align;          /* alignment of each block (guard start); power of two,
                            * 0: 16. An MPU-protected guard wants the region size. */
    uint32_t paint;        /* stack pattern; 0 means the default 0xA5C35A3C     */
    const hk_lock_t *lock; /* copied; NULL: the caller serialises              */
} hk_stack_config_t;

/* Private fields; the struct is public so it can live in static storage. */
typedef struct hk_stack_pool {
    hk_pool_t pool;       /* the blocks; its bitmap tells which are acquired */
    size_t stack_size;
    size_t guard;
    uint32_t paint;
    uint32_t guard_paint; /* ~paint */
    size_t deepest;       /* largest high water measured, bytes */
    uint64_t overflows;   /* damaged guards seen */
    hk_lock_t lock;
} hk_stack_pool_t;

#define HK_STACK_DEFAULT_PAINT 0xA5C35A3Cu

/* Creates a stack pool over [mem, mem + bytes): as many stacks as fit, plus a
 * bitmap of one bit per stack kept at the end of mem. Returns 0, or
 * HK_EINVAL (NULL sp/mem/cfg, stack_size 0, align not a power of two, not
 * even one stack fits) or HK_ERANGE (sizes overflow). O(1). */
int hk_stack_pool_init(hk_stack_pool_t *sp, void *mem, size_t bytes, const hk_stack_config_t *cfg);

/* Takes a free stack, paints it (and its guard) and returns its lowest
 * usable address, aligned to 8; the thread's initial stack pointer is
 * hk_stack_top(). NULL when every stack is in use (counted in failed_allocs).
 * O(stack size) for the painting. */
void *hk_stack_acquire(hk_stack_pool_t *sp);

/* Gives stack back. A damaged guard is reported (HK_ECORRUPT, "stack
 * overflow") and counted, and the stack is still released; its high water is
 * folded into hk_stack_deepest. Not a stack of this pool, or not acquired:
 * reported (HK_EBADPTR / HK_EDOUBLEFREE), nothing changes. NULL does nothing.
 * O(stack size). */
void hk_stack_release(hk_stack_pool_t *sp, void *stack);

/* One past the highest byte of stack: the initial stack pointer. */
void *hk_stack_top(const hk_stack_pool_t *sp, void *stack);

/* Usable bytes of every stack of sp. */
size_t hk_stack_size(const hk_stack_pool_t *sp);

/* The deepest use of stack so far, in bytes from the top (0: never touched,
 * hk_stack_size: the whole stack). Folds the figure into hk_stack_deepest.
 * O(untouched bytes). Returns 0 for a pointer that is not an acquired stack
 * of sp (reported). */
size_t hk_stack_high_water(hk_stack_pool_t *sp, const void *stack);

/* The largest high water measured on any stack of sp (by high_water or on
 * release): what a stack of this pool needed at most. */
size_t hk_stack_deepest(const hk_stack_pool_t *sp);

/* 0 if the guard of stack is intact (or there is none), HK_ECORRUPT if it
 * is damaged (reported: stack overflow), HK_EBADPTR if stack is not an
 * acquired stack of sp. O(guard). */
int hk_stack_check(hk_stack_pool_t *sp, const void *stack);

/* The number of damaged guards reported so far (each hk_stack_release or
 * hk_stack_check that found its stack's guard overwritten counts one;
 * hk_stack_validate reports but does not count). Monotonic. O(1). */
uint64_t hk_stack_overflows(const hk_stack_pool_t *sp);

/* Bytes of one block: the stack (stack_size rounded up to 8) plus its guard
 * (rounded up to 8), rounded up to the block alignment (cfg.align, 0: 16).
 * The unit of every size in hk_stack_get_stats. 0 for NULL. O(1). */
size_t hk_stack_block_size(const hk_stack_pool_t *sp);

/* Statistics of the pool of stacks: blocks are stacks, and every size
 * (total, used, free, largest_free, peak_used, min_ever_free) is a number of
 * blocks times hk_stack_block_size -- guard and alignment padding included,
 * so used is more than stacks in use * hk_stack_size whenever there is a
 * guard or the alignment pads; requested counts the same block size per
 * stack in use. peak_used is the most stacks in use at once, times the
 * block size. O(1). */
void hk_stack_get_stats(const hk_stack_pool_t *sp, hk_stats_t *out);

/* Validates the underlying pool and checks the guard of every acquired
 * stack. Returns 0, HK_EINVAL (reported) for a NULL or never initialised
 * pool of stacks (a bad handle), or HK_ECORRUPT (reported) for damaged state
 * or a damaged guard. O(stacks * guard). */
int hk_stack_validate(hk_stack_pool_t *sp);

#ifdef __cplusplus
}
#endif

#endif /* HEAPKIT_STACK_H */
