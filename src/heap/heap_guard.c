/* SPDX-License-Identifier: MIT */
/*
 * heap_guard.c - the cold side of the heap's guards (guard.h): noting
 * damage, the slow checks for heaps of several regions, and the recovery
 * that rebuilds the free index from the blocks themselves.
 *
 * With HK_HEAP_REPAIR 0 the recovery only reports: the operation that met
 * the damage has already refused to follow it (guard.h), the blocks behind
 * it stay out of the index, and hk_heap_validate keeps reporting it. With
 * HK_HEAP_REGIONS 0 the slow checks have no other region to look in.
 */
#include "heap/index.h"

void hk__heap_flag(const hk_heap_t *ch, const void *where, const char *why)
{
    hk_heap_t *h = (hk_heap_t *)(uintptr_t)ch; /* noted from const lookups too */
    if (!h->bad) {
        h->bad = where ? where : (const void *)h;
        h->bad_why = why;
    }
}

bool hk__heap_addr_ok_slow(const hk_heap_t *h, uintptr_t a)
{
#if !HK_HEAP_REGIONS /* the fast check (guard.h) covered the one region */
    (void)h, (void)a;
    return false;
#else
    return !((a + HK_W) & (HK_G - 1)) && hk__heap_region_of(h, a) != NULL;
#endif
}

bool hk__heap_free_ok_slow(const hk_heap_t *h, const hk_block_t *b)
{
#if !HK_HEAP_REGIONS
    (void)h, (void)b;
    return false;
#else
    uintptr_t a = (uintptr_t)b;
    const hk_region_t *r = hk__heap_region_of(h, a);
    size_t size = block_size(b);
    return r && block_is_free(b) && size >= HK_MIN_BLOCK &&
           !(size & (HK_G - 1)) && size <= r->end - a &&
           *(const size_t *)(const void *)(a + size - HK_W) == size;
#endif
}

/* Rebuilds the free index from the blocks: a bounds-checked walk of each
 * region turns every run of free and parked blocks into one free block
 * (boundary tags and PREV_FREE set again) and indexes it; the parked
 * LIFOs start empty. A region whose walk meets a damaged header keeps only
 * the blocks before it (the rest is never followed). O(blocks). */
#if HK_HEAP_REPAIR
static void index_rebuild(hk_heap_t *h)
{
    index_reset(h);
#if HK_QUICK_CLASSES
    hk__memset(h->quick, 0, sizeof h->quick);
#endif
    h->free_blocks = 0;
    for (const hk_region_t *r = h->regions; r; r = r->next) {
        hk_block_t *run = NULL;
        size_t run_size = 0;
        uintptr_t a = r->first;
        while (a < r->end) {
            hk_block_t *b = block_at(a);
            size_t size = block_size(b);
            if (size < HK_MIN_BLOCK || (size & (HK_G - 1)) || size > r->end - a) {
                hk__report(HK_ECORRUPT, b, HK_MSG("damaged block header: the rest of its region is left out",
                                                  "heap damaged"));
                break;
            }
            if (head_is_dead(block_head(b))) { /* free or parked: joins the run */
                if (!run)
                    run = b;
                run_size += size;
            } else {
                if (run) {
                    block_make_free(run, run_size);
                    index_insert(h, run);
                    block_set_prev_free(b);
                } else {
                    block_clear_prev_free(b);
                }
                run = NULL;
                run_size = 0;
            }
            a += size;
        }
        if (a == r->end) {
            hk_block_t *e = block_at(r->end);
            if (run) {
                block_make_free(run, run_size);
                index_insert(h, run);
            }
            block_make_end(e, run != NULL);
        } else if (run) { /* stopped at a damaged header: keep the run before it */
            block_make_free(run, run_size);
            index_insert(h, run);
        }
    }
    h->bad = NULL; /* what the inserts above noted is repaired by them */
}
#endif

void hk__heap_recover(hk_heap_t *h)
{
    const void *where = h->bad;
    const char *why = h->bad_why;
    h->bad = NULL;
    hk__report(HK_ECORRUPT, where, why);
#if HK_HEAP_REPAIR
    index_rebuild(h);
#endif
}
