/* SPDX-License-Identifier: MIT */
/*
 * heapkit/pool.h - fixed-size block pools.
 *
 * A pool hands out blocks of one size from a caller-given buffer. Allocation
 * and free are O(1): free blocks form a singly linked list threaded through
 * the blocks themselves (the first word of a free block points at the next
 * one), and blocks that were never handed out are taken from a bump pointer,
 * so hk_pool_init is O(1) too and never writes to the buffer. A block carries
 * no header: `count` blocks take exactly count * stride bytes, where the
 * stride is the block size rounded up to the alignment.
 *
 * Cheap checks are always on: a pointer outside the pool or not on a block
 * boundary is reported through the error hook (HK_EBADPTR) and ignored; freeing
 * the block that was freed last is reported as HK_EDOUBLEFREE. With an optional
 * bitmap (one bit per block, given in hk_pool_config_t) every double free is
 * caught. hk_pool_validate walks the free list.
 *
 * Static definition, like Zephyr's K_MEM_SLAB_DEFINE:
 *     HK_POOL_DEFINE(msg_pool, sizeof(struct msg), 32, _Alignof(struct msg));
 *     struct msg *m = hk_pool_alloc(&msg_pool);
 * needs no init call. The arguments are checked at compile time.
 *
 * Thread safety: none unless a lock is given at init; then every call below
 * that takes a pool runs under it. Statically defined pools have no lock
 * (use hk_pool_set_lock before they are shared).
 *
 * The struct is public only so pools can be defined statically and embedded;
 * its fields are private: use the functions.
 *
 * Interrupts: alloc and free are O(1) with no loop and no growth, so a
 * pool is the allocator for interrupt handlers. Shared between an ISR and
 * tasks it needs a lock that masks that interrupt (heapkit/port/
 * lock_cortexm.h, lock_riscv.h, or HK_FREERTOS_ISR_LOCK under FreeRTOS);
 * used by one ISR alone (or only with that interrupt masked) it needs none.
 */
#ifndef HEAPKIT_POOL_H
#define HEAPKIT_POOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "heapkit/types.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct hk_pool {
    unsigned char *base;  /* first block                                   */
    unsigned char *end;   /* base + count * stride                         */
    unsigned char *bump;  /* blocks at and above bump were never handed out */
    void *free_list;      /* freed blocks, linked through their first word */
    size_t stride;        /* block size rounded up to the alignment        */
    size_t block_size;    /* the size the caller asked for                 */
    size_t count;         /* number of blocks                              */
    struct {              /* the shared usage counter, in bytes (strides): */
        size_t total, used, peak, min_free, trip; /* used = blocks out * stride */
    } usage;
    uint64_t allocs, frees, failed;
    uint32_t *bitmap;     /* optional: bit set = block in use              */
    hk_lock_t lock;       /* {NULL, NULL, NULL}: no locking                */
} hk_pool_t;

/* Optional settings for hk_pool_init; NULL means none of them. */
typedef struct {
    const hk_lock_t *lock; /* copied; NULL: the caller serialises             */
    uint32_t *bitmap;      /* optional double-free bitmap, HK_POOL_BITMAP_WORDS(count)
                            * words; it is cleared by init                     */
    size_t bitmap_words;   /* words available at bitmap                       */
} hk_pool_config_t;

/* The stride for a block size and alignment (align a power of two; align
 * below sizeof(void *) counts as sizeof(void *); align 0 means the default,
 * HK_POOL_DEFAULT_ALIGN, which never changes the stride). */
#define HK_POOL_ALIGN_OF(align) ((align) < sizeof(void *) ? sizeof(void *) : (size_t)(align))
/* The default alignment (align 0, as in ring, slab, stack and tiered): the
 * largest power of two dividing block_size, capped at HK_ALIGN, at least a
 * pointer -- enough for any object of that size. */
#define HK_POOL_LOWBIT__(n) ((size_t)(n) & (~(size_t)(n) + 1u))
#define HK_POOL_DEFAULT_ALIGN(block_size)                                   \
    HK_POOL_ALIGN_OF(HK_POOL_LOWBIT__(block_size) < (size_t)HK_ALIGN        \
                         ? HK_POOL_LOWBIT__(block_size) : (size_t)HK_ALIGN)
/* The alignment a pool of block_size with `align` gets (0: the default). */
#define HK_POOL_ALIGN_FOR(block_size, align) \
    ((align) ? HK_POOL_ALIGN_OF(align) : HK_POOL_DEFAULT_ALIGN(block_size))
#define HK_POOL_STRIDE(block_size, align) \
    (((size_t)(block_size) + HK_POOL_ALIGN_OF(align) - 1u) & ~(HK_POOL_ALIGN_OF(align) - 1u))
/* Buffer bytes for `count` blocks (plus align - 1 if the buffer itself may be
 * unaligned). Wraps silently for absurd arguments: hk_pool_init checks. */
#define HK_POOL_BUF_SIZE(block_size, count, align) (HK_POOL_STRIDE(block_size, align) * (size_t)(count))
/* uint32_t words of a double-free bitmap for `count` blocks. */
#define HK_POOL_BITMAP_WORDS(count) (((size_t)(count) + 31u) / 32u)

/* Defines `hk_pool_t name` over a static buffer of `count` blocks of
 * `block_size` bytes aligned to `align` (0: HK_POOL_DEFAULT_ALIGN), ready to
 * use without init. All three are checked at compile time (block_size >=
 * sizeof(void *), align a power of two or 0, count >= 1, no overflow in
 * count * stride). HK_POOL_DEFINE gives the
 * pool external linkage, HK_POOL_DEFINE_STATIC internal linkage. Statically
 * defined pools have no bitmap and no lock. */
#define HK_POOL_DEFINE(name, block_size, count, align) \
    HK_POOL_DEFINE__(, name, block_size, count, align)
#define HK_POOL_DEFINE_STATIC(name, block_size, count, align) \
    HK_POOL_DEFINE__(static, name, block_size, count, align)
#define HK_POOL_DEFINE__(storage, name, block_size, count, align)                            \
    HK_STATIC_ASSERT((block_size) >= sizeof(void *), "HK_POOL_DEFINE: block_size < pointer");  \
    HK_STATIC_ASSERT(((align) & ((align) - 1)) == 0,                                           \
                     "HK_POOL_DEFINE: align must be a power of two or 0");                     \
    HK_STATIC_ASSERT((count) >= 1, "HK_POOL_DEFINE: count must be at least 1");               \
    HK_STATIC_ASSERT((size_t)(count) <= SIZE_MAX / HK_POOL_STRIDE(block_size, align),          \
                     "HK_POOL_DEFINE: count * stride overflows");                              \
    HK_ALIGNAS(HK_POOL_ALIGN_FOR(block_size, align)) static                                    \
        unsigned char name##_hk_buf[HK_POOL_BUF_SIZE(block_size, count, align)];             \
    storage hk_pool_t name = { name##_hk_buf,                                                \
                               name##_hk_buf + HK_POOL_BUF_SIZE(block_size, count, align),   \
                               name##_hk_buf, NULL, HK_POOL_STRIDE(block_size, align),       \
                               (size_t)(block_size), (size_t)(count),                        \
                               { HK_POOL_BUF_SIZE(block_size, count, align), 0, 0,           \
                                 HK_POOL_BUF_SIZE(block_size, count, align), 0 },            \
                               0, 0, 0, NULL, { NULL, NULL, NULL } }

/* Creates a pool of as many blocks of block_size bytes, aligned to align, as
 * fit in [buf, buf + bytes). align is a power of two, or 0 for the default
 * (HK_POOL_DEFAULT_ALIGN(block_size): the rule of every heapkit allocator,
 * 0 means the default alignment). buf may be unaligned (the start is aligned
 * up). Returns 0, or HK_EINVAL (pool or buf NULL; block_size < sizeof(void
 * *); align neither 0 nor a power of two; fewer than one block fits; bitmap
 * too small) or
 * HK_ERANGE (block_size rounded up to align overflows). Errors are also
 * reported through the error hook. O(1) without a bitmap, O(count / 32) with
 * one; does not write to buf. */
int hk_pool_init(hk_pool_t *pool, void *buf, size_t bytes, size_t block_size, size_t align,
                 const hk_pool_config_t *cfg);

/* Installs (or with NULL removes) the lock hooks of a pool, for pools made
 * with HK_POOL_DEFINE. Call before the pool is shared. */
void hk_pool_set_lock(hk_pool_t *pool, const hk_lock_t *lock);

/* Returns a block of the pool's block size aligned to its alignment, or NULL
 * when all blocks are in use (counted in failed_allocs) or pool is NULL. A
 * free-list link that points outside the pool's used blocks (a freed block
 * overwritten: use after free?) is reported as HK_ECORRUPT, the list is cut
 * there and NULL returned; hk_pool_validate finds subtler damage. O(1). */
void *hk_pool_alloc(hk_pool_t *pool);

/* Returns block p to the pool. NULL does nothing. A p outside the pool or not
 * on a block boundary is reported (HK_EBADPTR), a second free of the same
 * block (always with a bitmap; without one when it is the most recently freed
 * block) as HK_EDOUBLEFREE; in both cases the pool is unchanged. O(1). */
void hk_pool_free(hk_pool_t *pool, void *p);

/* True iff p lies inside the pool's blocks (any offset). O(1), lock-free. */
static inline bool hk_pool_owns(const hk_pool_t *pool, const void *p)
{
    return (const unsigned char *)p >= pool->base && (const unsigned char *)p < pool->end;
}

/* The pool's block size as given at definition/init, its stride (the spacing
 * of blocks) and its block count. O(1). */
size_t hk_pool_block_size(const hk_pool_t *pool);
size_t hk_pool_stride(const hk_pool_t *pool);
size_t hk_pool_count(const hk_pool_t *pool);

/* Fills *out (see hk_stats_t). Sizes count strides; requested counts block
 * sizes; largest_free is the stride when a block is free, else 0; peak_used
 * and min_ever_free are the highest used and lowest free since init or the
 * last hk_pool_reset_marks. O(1). */
void hk_pool_get_stats(const hk_pool_t *pool, hk_stats_t *out);

/* Restarts peak_used and min_ever_free from the current use (for a peak
 * per phase of the program). O(1). */
void hk_pool_reset_marks(hk_pool_t *pool);

/* Checks the pool: geometry, every free-list entry inside the pool, on a block
 * boundary, below the bump pointer and listed once (the bitmap agrees when
 * present), and free + used + never-used == count. Returns 0, HK_EINVAL
 * (reported) for a NULL or never initialised pool (a bad handle: no
 * buffer), or HK_ECORRUPT (also reported with the reason) for damaged
 * state. O(count). */
int hk_pool_validate(const hk_pool_t *pool);

#ifdef __cplusplus
}
#endif

#endif /* HEAPKIT_POOL_H */
