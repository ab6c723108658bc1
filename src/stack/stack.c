/* SPDX-License-Identifier: MIT */
/*
 * stack.c - pooled thread stacks with painting, guards and high-water marks.
 *
 * How it works
 * ------------
 * The stacks are the blocks of an hk_pool (src/pool/) whose stride is
 * guard + stack_size rounded up to the block alignment; the pool's bitmap,
 * carved from the end of the caller's memory, says which stacks are out, so
 * the validator can visit every acquired stack and double releases are
 * always caught. Because the pool carves lazily, a stack's memory is first
 * written when it is first acquired.
 *
 * Acquire paints the stack with a 32-bit pattern P and the guard with ~P,
 * word by word (blocks are at least 8-aligned). A thread's stack grows down
 * from hk_stack_top(); the words it never reached still hold P. The high
 * water is found by scanning up from the lowest stack word until the first
 * word that is not P:
 *
 *     base                       first non-P           top
 *     | P P P P P P P P P P P P | x x x x x x x x x x |
 *                                <---- high water ---->
 *
 * This is the technique of FreeRTOS's uxTaskGetStackHighWaterMark and
 * Zephyr's CONFIG_INIT_STACKS; it costs nothing while the thread runs and is
 * measured when asked. The guard is the cheap software stand-in for an MPU
 * region: a thread that ran past its stack has written ~P words there (or
 * anything else), which release and check detect.
 */
#include "common/hk_internal.h"
#include "heapkit/stack.h"
#include "pool/pool_impl.h"

static void paint(void *p, size_t bytes, uint32_t pattern)
{
    uint32_t *w = (uint32_t *)p;
    for (size_t i = 0; i < bytes / 4u; i++)
        w[i] = pattern;
}

/* Bytes from the first word at p that holds the pattern... up to the first
 * that does not: the number of untouched bytes. */
static size_t painted_prefix(const void *p, size_t bytes, uint32_t pattern)
{
    const uint32_t *w = (const uint32_t *)p;
    size_t i = 0, n = bytes / 4u;
    while (i < n && w[i] == pattern)
        i++;
    return i * 4u;
}

static uintptr_t sp_lock(const hk_stack_pool_t *sp)
{
    return hk__lock(&sp->lock);
}

static void sp_unlock(const hk_stack_pool_t *sp, uintptr_t lk_saved)
{
    hk__unlock(&sp->lock, lk_saved);
}

static unsigned char *stack_block(const hk_stack_pool_t *sp, const void *stack)
{
    return (unsigned char *)(uintptr_t)stack - sp->guard;
}

/* Is stack an acquired stack of sp? Reports when not. */
static bool stack_is_out(const hk_stack_pool_t *sp, const void *stack, bool release)
{
    const hk_pool_t *p = &sp->pool;
    const unsigned char *blk = (const unsigned char *)stack - sp->guard;
    if ((uintptr_t)stack < sp->guard || !hk_pool_owns(p, blk) || !pool_on_boundary(p, blk)
        || blk >= p->bump) {
        hk__report(HK_EBADPTR, stack, "stack: not a stack of this pool");
        return false;
    }
    if (!pool_bit(p, pool_index(p, blk))) {
        hk__report(release ? HK_EDOUBLEFREE : HK_EBADPTR, stack,
                   "stack: not acquired (released twice?)");
        return false;
    }
    return true;
}

static bool guard_intact(const hk_stack_pool_t *sp, const void *stack)
{
    return painted_prefix(stack_block(sp, stack), sp->guard, sp->guard_paint) == sp->guard;
}

static size_t high_water(hk_stack_pool_t *sp, const void *stack)
{
    size_t hw = sp->stack_size - painted_prefix(stack, sp->stack_size, sp->paint);
    if (hw > sp->deepest)
        sp->deepest = hw;
    return hw;
}

int hk_stack_pool_init(hk_stack_pool_t *sp, void *mem, size_t bytes, const hk_stack_config_t *cfg)
{
    if (!sp || !mem || !cfg || cfg->stack_size == 0) {
        hk__report(HK_EINVAL, mem, "stack pool init: NULL argument or stack_size 0");
        return HK_EINVAL;
    }
    size_t align = cfg->align ? cfg->align : 16u;
    if (!hk__is_pow2(align)) {
        hk__report(HK_EINVAL, mem, "stack pool init: align not a power of two");
        return HK_EINVAL;
    }
    if (align < 8u)
        align = 8u;
    size_t lim = SIZE_MAX / 4u;
    if (cfg->stack_size > lim || cfg->guard > lim || align > lim) {
        hk__report(HK_ERANGE, mem, "stack pool init: sizes overflow");
        return HK_ERANGE;
    }
    size_t ssize = hk__align_up(cfg->stack_size, 8u);
    size_t guard = hk__align_up(cfg->guard, 8u);
    size_t stride = hk__align_up(ssize + guard, align);
    /* Bitmap at the end: room for one bit per block that could fit at all. */
    size_t words = HK_POOL_BITMAP_WORDS(bytes / stride);
    uintptr_t end = (uintptr_t)mem + bytes;
    if (end < (uintptr_t)mem || words * 4u + 4u > bytes) {
        hk__report(HK_EINVAL, mem, "stack pool init: memory too small for one stack");
        return HK_EINVAL;
    }
    uintptr_t bm = (end - words * 4u) & ~(uintptr_t)3u;
    hk_pool_config_t pc = { NULL, (uint32_t *)bm, words };
    int rc = hk_pool_init(&sp->pool, mem, (size_t)(bm - (uintptr_t)mem), stride, align, &pc);
    if (rc != HK_OK)
        return rc; /* reported by the pool */
    sp->stack_size = ssize;
    sp->guard = guard;
    sp->paint = cfg->paint ? cfg->paint : HK_STACK_DEFAULT_PAINT;
    sp->guard_paint = ~sp->paint;
    sp->deepest = 0;
    sp->overflows = 0;
    sp->lock.lock = cfg->lock ? cfg->lock->lock : NULL;
    sp->lock.unlock = cfg->lock ? cfg->lock->unlock : NULL;
    sp->lock.ctx = cfg->lock ? cfg->lock->ctx : NULL;
    return HK_OK;
}

void *hk_stack_acquire(hk_stack_pool_t *sp)
{
    if (!sp) {
        hk__report(HK_EINVAL, NULL, "stack acquire: NULL pool");
        return NULL;
    }
    uintptr_t lk_saved = sp_lock(sp);
    unsigned char *blk = pool_pop(&sp->pool);
    sp_unlock(sp, lk_saved);
    if (!blk)
        return NULL;
    /* Painting outside the lock: the block is ours now. */
    paint(blk, sp->guard, sp->guard_paint);
    paint(blk + sp->guard, sp->stack_size, sp->paint);
    return blk + sp->guard;
}

void hk_stack_release(hk_stack_pool_t *sp, void *stack)
{
    if (!stack)
        return;
    if (!sp) {
        hk__report(HK_EINVAL, stack, "stack release: NULL pool");
        return;
    }
    uintptr_t lk_saved = sp_lock(sp);
    if (stack_is_out(sp, stack, true)) {
        if (!guard_intact(sp, stack)) {
            sp->overflows++;
            hk__report(HK_ECORRUPT, stack, "stack: guard overwritten (stack overflow)");
        }
        high_water(sp, stack);
        pool_push(&sp->pool, stack_block(sp, stack));
    }
    sp_unlock(sp, lk_saved);
}

void *hk_stack_top(const hk_stack_pool_t *sp, void *stack)
{
    return sp && stack ? (unsigned char *)stack + sp->stack_size : NULL;
}

size_t hk_stack_size(const hk_stack_pool_t *sp)
{
    return sp ? sp->stack_size : 0;
}

size_t hk_stack_high_water(hk_stack_pool_t *sp, const void *stack)
{
    if (!sp || !stack) {
        hk__report(HK_EINVAL, stack, "stack high water: NULL argument");
        return 0;
    }
    uintptr_t lk_saved = sp_lock(sp);
    size_t hw = stack_is_out(sp, stack, false) ? high_water(sp, stack) : 0;
    sp_unlock(sp, lk_saved);
    return hw;
}

size_t hk_stack_deepest(const hk_stack_pool_t *sp)
{
    return sp ? sp->deepest : 0;
}

uint64_t hk_stack_overflows(const hk_stack_pool_t *sp)
{
    if (!sp)
        return 0;
    uintptr_t lk_saved = sp_lock(sp);
    uint64_t n = sp->overflows; /* 64 bits: two loads on 32-bit targets */
    sp_unlock(sp, lk_saved);
    return n;
}

size_t hk_stack_block_size(const hk_stack_pool_t *sp)
{
    return sp ? sp->pool.stride : 0;
}

int hk_stack_check(hk_stack_pool_t *sp, const void *stack)
{
    if (!sp || !stack) {
        hk__report(HK_EINVAL, stack, "stack check: NULL argument");
        return HK_EINVAL;
    }
    uintptr_t lk_saved = sp_lock(sp);
    int rc = HK_OK;
    if (!stack_is_out(sp, stack, false)) {
        rc = HK_EBADPTR;
    } else if (!guard_intact(sp, stack)) {
        sp->overflows++;
        hk__report(HK_ECORRUPT, stack, "stack: guard overwritten (stack overflow)");
        rc = HK_ECORRUPT;
    }
    sp_unlock(sp, lk_saved);
    return rc;
}

void hk_stack_get_stats(const hk_stack_pool_t *sp, hk_stats_t *out)
{
    if (!out)
        return;
    if (!sp) {
        hk__memset(out, 0, sizeof *out);
        return;
    }
    uintptr_t lk_saved = sp_lock(sp);
    hk_pool_get_stats(&sp->pool, out);
    sp_unlock(sp, lk_saved);
}

int hk_stack_validate(hk_stack_pool_t *sp)
{
    if (!sp || !sp->pool.base) {
        hk__report(HK_EINVAL, sp, "stack validate: NULL or uninitialised pool of stacks");
        return HK_EINVAL;
    }
    uintptr_t lk_saved = sp_lock(sp);
    int rc = hk_pool_validate(&sp->pool);
    const hk_pool_t *p = &sp->pool;
    if (rc == HK_OK && (sp->stack_size + sp->guard > p->stride || sp->guard_paint != ~sp->paint
                        || sp->deepest > sp->stack_size)) {
        hk__report(HK_ECORRUPT, sp, "stack: pool geometry damaged");
        rc = HK_ECORRUPT;
    }
    for (size_t i = 0; rc == HK_OK && p->base + i * p->stride < p->bump; i++) {
        unsigned char *blk = p->base + i * p->stride;
        if (pool_bit(p, i) && !guard_intact(sp, blk + sp->guard)) {
            hk__report(HK_ECORRUPT, blk + sp->guard, "stack: guard overwritten (stack overflow)");
            rc = HK_ECORRUPT;
        }
    }
    sp_unlock(sp, lk_saved);
    return rc;
}
