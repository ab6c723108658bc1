/* SPDX-License-Identifier: MIT */
/*
 * debug_track.c - allocation tracking (HK_DEBUG >= 1): the sequence
 * checkpoint, the leak list and the per-site report.
 *
 * Nothing is kept on the side: every live block carries its site in its
 * trailer (debug.c), so both calls are one bounds-checked walk of the
 * regions. A block is trusted only after its check word verifies; one that
 * fails is reported and left out, and a header that cannot be walked past
 * ends the walk of its region (reported), so a damaged heap cannot send the
 * walk astray. The report groups by (file, line) in a small table on the
 * stack (HK_DEBUG_REPORT_SITES entries), no allocation needed.
 */
#include "debug/debug_impl.h"

#if HK_DEBUG >= 1

typedef void (*block_fn)(const hk_alloc_info_t *info, void *ctx);

/* Calls fn for each live block whose trailer verifies; returns their count. */
static int walk_live(const hk_heap_t *h, uint32_t since, block_fn fn, void *ctx)
{
    int count = 0;
    for (const hk_region_t *r = h->regions; r; r = r->next) {
        for (uintptr_t a = r->first; a < r->end;) {
            const hk_block_t *b = block_at(a);
            size_t size = block_size(b);
            if (size < HK_MIN_BLOCK || (size & (HK_G - 1)) || size > r->end - a) {
                hk__dbg_report_at(HK_ECORRUPT, b, "walk: damaged header, rest of region skipped",
                                  NULL);
                break;
            }
            a += size;
            if (block_is_free(b))
                continue;
            hk_dbg_block_t d;
            const char *why = hk__dbg_decode(h, b, &d);
            if (why) {
                hk__dbg_report_at(HK_ECORRUPT, block_payload(b), why, NULL);
                continue;
            }
            if (d.seq < since)
                continue;
            hk_alloc_info_t info;
            hk__dbg_info(b, &d, &info);
            fn(&info, ctx);
            if (count < INT_MAX)
                count++;
        }
    }
    return count;
}

uint32_t hk_heap_seq(const hk_heap_t *h)
{
    if (!heap_handle_ok(h))
        return 0;
    uintptr_t lk_saved = hk__lock(&h->lock);
    uint32_t s = h->dbg_seq;
    hk__unlock(&h->lock, lk_saved);
    return s;
}

int hk_heap_leaks(const hk_heap_t *h, uint32_t since, hk_alloc_info_fn fn, void *ctx)
{
    if (!heap_handle_ok(h) || !fn) {
        hk__report(HK_EINVAL, h, "hk_heap_leaks: not a heap, or no callback");
        return HK_EINVAL;
    }
    uintptr_t lk_saved = hk__lock(&h->lock);
    int n = walk_live(h, since, fn, ctx);
    hk__unlock(&h->lock, lk_saved);
    return n;
}

typedef struct {
    hk_alloc_info_t site[HK_DEBUG_REPORT_SITES + 1]; /* the last: other sites */
    unsigned used;
} sites_t;

static bool same_site(const hk_alloc_info_t *a, const hk_alloc_info_t *b)
{
    return a->file == b->file && a->line == b->line;
}

static void add_to_site(const hk_alloc_info_t *info, void *ctx)
{
    sites_t *s = ctx;
    hk_alloc_info_t *e = NULL;
    for (unsigned i = 0; i < s->used && !e; i++)
        if (same_site(&s->site[i], info))
            e = &s->site[i];
    if (!e) {
        if (s->used < HK_DEBUG_REPORT_SITES) {
            e = &s->site[s->used++];
        } else {
            e = &s->site[HK_DEBUG_REPORT_SITES];
            e->file = NULL;
            e->line = 0;
        }
        if (e->count == 0) {
            e->file = info->file;
            e->line = info->line;
            e->tag = info->tag;
        }
    }
    e->count++;
    e->size += info->size;
    if (info->seq > e->seq)
        e->seq = info->seq;
}

int hk_heap_report(const hk_heap_t *h, hk_alloc_info_fn fn, void *ctx)
{
    if (!heap_handle_ok(h) || !fn) {
        hk__report(HK_EINVAL, h, "hk_heap_report: not a heap, or no callback");
        return HK_EINVAL;
    }
    sites_t s;
    hk__memset(&s, 0, sizeof s);
    uintptr_t lk_saved = hk__lock(&h->lock);
    int n = walk_live(h, 0, add_to_site, &s);
    /* largest bytes first: a selection sort over at most a few dozen sites */
    for (unsigned i = 0; i < s.used; i++) {
        unsigned best = i;
        for (unsigned j = i + 1; j < s.used; j++)
            if (s.site[j].size > s.site[best].size)
                best = j;
        hk_alloc_info_t t = s.site[i];
        s.site[i] = s.site[best];
        s.site[best] = t;
        fn(&s.site[i], ctx);
    }
    if (s.site[HK_DEBUG_REPORT_SITES].count)
        fn(&s.site[HK_DEBUG_REPORT_SITES], ctx);
    hk__unlock(&h->lock, lk_saved);
    return n;
}

#else /* HK_DEBUG == 0: nothing is tracked */

uint32_t hk_heap_seq(const hk_heap_t *h)
{
    (void)h;
    return 0;
}

int hk_heap_leaks(const hk_heap_t *h, uint32_t since, hk_alloc_info_fn fn, void *ctx)
{
    (void)h, (void)since, (void)fn, (void)ctx;
    return HK_ENOTSUP;
}

int hk_heap_report(const hk_heap_t *h, hk_alloc_info_fn fn, void *ctx)
{
    (void)h, (void)fn, (void)ctx;
    return HK_ENOTSUP;
}

#endif
