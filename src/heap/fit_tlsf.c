/* SPDX-License-Identifier: MIT */
/*
 * fit_tlsf.c - the cold side of the TLSF index (fit_tlsf.h): its part of
 * hk_heap_validate. The bitmaps must agree with each other and with the
 * lists, no bit may be set beyond the class table, and every list must
 * hold only blocks of its own class (hk__index_check_list).
 */
#include "heap/index.h"

const char *hk__tlsf_check(const hk_heap_t *h, size_t *budget, size_t *count, const void **where)
{
    const char *why;
    if (h->fl_count < 2 || h->fl_count > HK_FL_MAX ||
        h->nclasses != (unsigned)h->fl_count << tlsf_sli(h) || h->nclasses <= HK_TLSF_BIAS)
        return "class table shape damaged";
    if (h->fl_count < HK_FL_MAX && (h->fl_bitmap >> h->fl_count))
        return "bitmap bit set beyond the class table";
    for (unsigned fl = 0; fl < h->fl_count; fl++) {
        if (((h->fl_bitmap >> fl) & 1u) != (tlsf_slmap(h, fl) != 0))
            return "first-level bitmap disagrees with second level";
        if (tlsf_sl_count(h) < 8u * sizeof(hk_slmap_t) &&
            ((unsigned)tlsf_slmap(h, fl) >> tlsf_sl_count(h)))
            return "second-level bitmap bit set beyond the heap's classes";
        for (unsigned sl = 0; sl < tlsf_sl_count(h); sl++) {
            unsigned idx = tlsf_idx_of(h, fl, sl);
            if (idx < HK_TLSF_BIAS) { /* below a minimum block: no list */
                if (((unsigned)tlsf_slmap(h, fl) >> sl) & 1u)
                    return "bitmap bit set for a class below the minimum block";
                continue;
            }
            const hk_block_t *head = tlsf_head(h, idx);
            if ((((unsigned)tlsf_slmap(h, fl) >> sl) & 1u) != (head != NULL))
                return "second-level bitmap disagrees with its list";
            if ((why = hk__index_check_list(h, head, idx, budget, count, where)))
                return why;
        }
    }
    return NULL;
}
