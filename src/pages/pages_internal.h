/* SPDX-License-Identifier: MIT */
/*
 * pages_internal.h - the layout of hk_pages_t, shared by pages.c and the
 * white-box tests (which corrupt it on purpose to prove that
 * hk_pages_validate notices). Not public API; the essay is in pages.c.
 */
#ifndef HK_PAGES_INTERNAL_H
#define HK_PAGES_INTERNAL_H

#include "common/hk_stats.h"
#include "heapkit/pages.h"

#define PG_MAGIC 0x70616765u /* "page" */
#define PG_NIL UINT32_MAX
#define PG_TAIL 0x00u
#define PG_USED 0x40u
#define PG_FREE 0x80u
#define PG_ORDER 0x3fu
#define PG_MAX_FRAMES (UINT32_MAX - 1u)

typedef struct {
    uint64_t base_pfn; /* first frame number of the area */
    uint32_t npages;   /* frames in the area */
    uint32_t first;    /* index of its first frame in the per-frame arrays */
} pg_area_t;

struct hk_pages {
    uint32_t magic;
    unsigned shift; /* log2 of the frame size */
    uint32_t nareas;
    uint32_t nonempty; /* bit k set iff list k is non-empty */
    pg_area_t *areas;     /* sorted by base_pfn */
    uint32_t *next;
    uint32_t *prev;
    uint8_t *state;
    uint32_t head[HK_PAGES_ORDERS];
    uint32_t nfree[HK_PAGES_ORDERS];
    uint64_t total;          /* frames managed */
    hk__usage_t usage;       /* the shared usage counter, in frames (at most
                              * 2^32 - 2, so a size_t on every target) */
    uint64_t used_blocks;
    uint64_t requested;      /* frames asked for, live */
    uint64_t allocs, frees, failed;
    hk_lock_t lock;
};

#endif /* HK_PAGES_INTERNAL_H */
