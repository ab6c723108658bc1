/* SPDX-License-Identifier: MIT */
/*
 * tiered_impl.h - the tiered allocator's control structure, private to
 * src/tiered/ and to white-box tests (which corrupt it on purpose). The
 * layout it describes is explained at the top of tiered.c.
 */
#ifndef HK_TIERED_IMPL_H
#define HK_TIERED_IMPL_H

#include "heapkit/pool.h"
#include "heapkit/tiered.h"

#define TIERED_MAGIC 0x74696572u /* "tier": an initialised allocator */

struct hk_tiered {
    uint32_t magic;         /* TIERED_MAGIC once init has finished      */
    unsigned char *lo, *hi; /* the class area                           */
    uint8_t *route;         /* size granule -> class                    */
    uint8_t *owner;         /* page -> class                            */
    size_t max_small;       /* the largest class size                   */
    size_t route_n, npages;
    unsigned gshift, pshift;
    size_t nclasses;
    hk_heap_t *fallback;
    hk_lock_t lock;
    bool spill;
    uint64_t allocs, frees, failed, spilled, to_heap;
    hk_pool_t pools[];
};

#endif /* HK_TIERED_IMPL_H */
