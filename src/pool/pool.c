/* SPDX-License-Identifier: MIT */
/*
 * pool.c - fixed-size block pools: O(1) alloc and free, no per-block header.
 *
 * How it works
 * ------------
 * This is the classic segregated-storage pool (Knuth, TAOCP vol. 1, 2.5;
 * the same idea as Zephyr's k_mem_slab and FreeRTOS-era partition managers):
 * every block of the buffer has the same size, so any free block satisfies
 * any request and there is nothing to search, split or merge. Free blocks are
 * kept on a LIFO list whose links live inside the free blocks themselves, so
 * the pool needs no memory besides the buffer and this struct.
 *
 * Two refinements over the textbook version:
 *   - Lazy carving. Instead of linking all N blocks at init (O(N), and it
 *     touches every cache line and page of the buffer), a bump pointer marks
 *     the first block never handed out. alloc prefers the free list and only
 *     then advances the bump pointer. init is O(1), and memory that is never
 *     needed is never written (which also keeps a stack pool's paint intact).
 *   - Cheap checks that name the cause. free checks bounds and the block
 *     boundary (a mask when the stride is a power of two, else one division),
 *     and the free-list head, so the common bugs -- foreign pointer, interior
 *     pointer, immediate double free -- are reported, never absorbed into the
 *     list. An optional bitmap (one bit per block) makes every double free
 *     detectable at the cost of count/8 bytes.
 *
 * Worked example: block_size 20, align 8 -> stride 24. A buffer at 0x1004 of
 * 100 bytes is aligned up to 0x1008, leaving 96 bytes: 4 blocks at 0x1008,
 * 0x1020, 0x1038, 0x1050. Freeing 0x1024 is reported ("not on a block
 * boundary") because (0x1024 - 0x1008) % 24 = 4.
 */
#include "pool/pool_impl.h"

static uintptr_t pool_lock(const hk_pool_t *p)
{
    return hk__lock(&p->lock);
}

static void pool_unlock(const hk_pool_t *p, uintptr_t lk_saved)
{
    hk__unlock(&p->lock, lk_saved);
}

void hk__pool_corrupt_link(hk_pool_t *p, void *blk)
{
    hk__report(HK_ECORRUPT, blk, "pool: free block overwritten (use after free?)");
    p->free_list = NULL; /* never follow the damaged link */
}

HK_NOINLINE bool hk__pool_check_free(hk_pool_t *p, void *blk)
{
    if (HK_UNLIKELY(!pool_on_boundary(p, blk))) {
        hk__report(HK_EBADPTR, blk, "pool: pointer not on a block boundary (interior pointer?)");
        return false;
    }
    if (HK_UNLIKELY((unsigned char *)blk >= p->bump)) {
        hk__report(HK_EBADPTR, blk, "pool: block was never allocated");
        return false;
    }
    if (p->bitmap ? !pool_bit(p, pool_index(p, blk)) : (blk == p->free_list || pool_usage(p)->used == 0)) {
        hk__report(HK_EDOUBLEFREE, blk, "pool: block already free (double free?)");
        return false;
    }
    return true;
}

int hk_pool_init(hk_pool_t *pool, void *buf, size_t bytes, size_t block_size, size_t align,
                 const hk_pool_config_t *cfg)
{
    if (!pool || !buf) {
        hk__report(HK_EINVAL, buf, "pool init: NULL pool or buffer");
        return HK_EINVAL;
    }
    if (block_size < sizeof(void *) || (align && !hk__is_pow2(align))) {
        hk__report(HK_EINVAL, buf, "pool init: block size below a pointer or align not a power of two");
        return HK_EINVAL;
    }
    if (align == 0)
        align = HK_POOL_DEFAULT_ALIGN(block_size);
    if ((uintptr_t)buf + bytes < (uintptr_t)buf) {
        hk__report(HK_EINVAL, buf, "pool init: buffer wraps around the address space");
        return HK_EINVAL;
    }
    size_t a = HK_POOL_ALIGN_OF(align);
    if (block_size > SIZE_MAX - (a - 1)) {
        hk__report(HK_ERANGE, buf, "pool init: block size overflows when aligned");
        return HK_ERANGE;
    }
    size_t stride = hk__align_up(block_size, a);
    uintptr_t start = hk__align_up_ptr((uintptr_t)buf, a);
    size_t slack = (size_t)(start - (uintptr_t)buf);
    if (start < (uintptr_t)buf || slack > bytes || (bytes - slack) / stride == 0) {
        hk__report(HK_EINVAL, buf, "pool init: buffer too small for one block");
        return HK_EINVAL;
    }
    size_t count = (bytes - slack) / stride;
    if (cfg && cfg->bitmap && cfg->bitmap_words < HK_POOL_BITMAP_WORDS(count)) {
        hk__report(HK_EINVAL, cfg->bitmap, "pool init: bitmap too small for the block count");
        return HK_EINVAL;
    }
    unsigned char *base = (unsigned char *)buf + slack;
    pool->base = base;
    pool->end = base + count * stride;
    pool->bump = base;
    pool->free_list = NULL;
    pool->stride = stride;
    pool->block_size = block_size;
    pool->count = count;
    hk__usage_init(pool_usage(pool), count * stride);
    pool->allocs = pool->frees = pool->failed = 0;
    pool->bitmap = cfg ? cfg->bitmap : NULL;
    if (pool->bitmap)
        hk__memset(pool->bitmap, 0, HK_POOL_BITMAP_WORDS(count) * sizeof(uint32_t));
    hk_pool_set_lock(pool, cfg ? cfg->lock : NULL);
    return HK_OK;
}

void hk_pool_set_lock(hk_pool_t *pool, const hk_lock_t *lock)
{
    if (!pool)
        return;
    pool->lock.lock = lock ? lock->lock : NULL;
    pool->lock.unlock = lock ? lock->unlock : NULL;
    pool->lock.ctx = lock ? lock->ctx : NULL;
}

void *hk_pool_alloc(hk_pool_t *pool)
{
    if (HK_UNLIKELY(!pool)) {
        hk__report(HK_EINVAL, NULL, "pool alloc: NULL pool");
        return NULL;
    }
    uintptr_t lk_saved = pool_lock(pool);
    void *p = pool_pop(pool);
    pool_unlock(pool, lk_saved);
    return p;
}

void hk_pool_free(hk_pool_t *pool, void *p)
{
    if (!p)
        return;
    if (HK_UNLIKELY(!pool)) {
        hk__report(HK_EINVAL, p, "pool free: NULL pool");
        return;
    }
    if (HK_UNLIKELY(!hk_pool_owns(pool, p))) {
        hk__report(HK_EBADPTR, p, "pool free: pointer outside the pool (wrong pool?)");
        return;
    }
    uintptr_t lk_saved = pool_lock(pool);
    if (HK_LIKELY(pool_free_ok(pool, p)) || hk__pool_check_free(pool, p))
        pool_push(pool, p);
    pool_unlock(pool, lk_saved);
}

size_t hk_pool_block_size(const hk_pool_t *pool)
{
    return pool ? pool->block_size : 0;
}

size_t hk_pool_stride(const hk_pool_t *pool)
{
    return pool ? pool->stride : 0;
}

size_t hk_pool_count(const hk_pool_t *pool)
{
    return pool ? pool->count : 0;
}

void hk_pool_get_stats(const hk_pool_t *pool, hk_stats_t *out)
{
    if (!out)
        return;
    hk__memset(out, 0, sizeof *out);
    if (!pool)
        return;
    uintptr_t lk_saved = pool_lock(pool);
    size_t used = pool_usage_c(pool)->used / pool->stride, nfree = pool->count - used;
    hk__usage_fill(pool_usage_c(pool), out);
    out->largest_free = out->smallest_free = nfree ? pool->stride : 0; /* one block size */
    out->free_blocks = nfree;
    out->used_blocks = used;
    out->requested = used * pool->block_size;
    out->allocs = pool->allocs;
    out->frees = pool->frees;
    out->failed_allocs = pool->failed;
    pool_unlock(pool, lk_saved);
}

void hk_pool_reset_marks(hk_pool_t *pool)
{
    if (!pool)
        return;
    uintptr_t lk_saved = pool_lock(pool);
    hk__usage_reset(pool_usage(pool));
    pool_unlock(pool, lk_saved);
}

/* The checks of hk_pool_validate; returns the reason for the first failure,
 * or NULL. Never follows a link before checking it, so it terminates on any
 * damage (at most count steps). */
static const char *pool_check(const hk_pool_t *p, const void **where)
{
    *where = p;
    if (!p->base || p->end < p->base || p->stride < sizeof(void *) || p->block_size > p->stride)
        return "pool: geometry damaged";
    if ((size_t)(p->end - p->base) / p->stride != p->count
        || (size_t)(p->end - p->base) % p->stride != 0)
        return "pool: count * stride does not match the buffer";
    if (p->bump < p->base || p->bump > p->end || !pool_on_boundary(p, p->bump))
        return "pool: bump pointer out of place";
    size_t carved = pool_index(p, p->bump);
    const hk__usage_t *u = pool_usage_c(p);
    size_t used = u->used / p->stride;
    if (u->total != p->count * p->stride || u->used % p->stride || used > carved || !hk__usage_ok(u))
        return "pool: usage counter disagrees with the pool";
    size_t nfree = 0;
    for (const unsigned char *b = p->free_list; b; b = pool_link_get(b)) {
        *where = b;
        if (b < p->base || b >= p->bump || !pool_on_boundary(p, b))
            return "pool: free-list link outside the carved blocks (use after free?)";
        if (++nfree > carved - used)
            return "pool: free list longer than the free count (cycle or double free)";
        if (p->bitmap && pool_bit(p, pool_index(p, b)))
            return "pool: block on the free list is marked in use";
    }
    *where = p;
    if (nfree != carved - used)
        return "pool: free list shorter than the free count (lost block)";
    if (p->bitmap) {
        size_t set = 0;
        for (size_t i = 0; i < p->count; i++)
            set += pool_bit(p, i);
        if (set != used)
            return "pool: bitmap disagrees with the used count";
    }
    return NULL;
}

int hk_pool_validate(const hk_pool_t *pool)
{
    if (!pool || !pool->base) {
        hk__report(HK_EINVAL, pool, "pool validate: NULL or uninitialised pool");
        return HK_EINVAL;
    }
    uintptr_t lk_saved = pool_lock(pool);
    const void *where;
    const char *why = pool_check(pool, &where);
    pool_unlock(pool, lk_saved);
    if (why) {
        hk__report(HK_ECORRUPT, where, why);
        return HK_ECORRUPT;
    }
    return HK_OK;
}
