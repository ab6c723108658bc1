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
    for (unsigned fl = 0; fl < HK_FL_MAX; fl++) {
        if (fl >= h->fl_count) {
            if (h->fl_bitmap >> fl)
                return "bitmap bit set beyond the class table";
            break;
        }
        if (((h->fl_bitmap >> fl) & 1u) != (tlsf_slmap(h, fl) != 0))
            return "first-level bitmap disagrees with second level";
        for (unsigned sl = 0; sl < tlsf_sl_count(h); sl++) {
            unsigned idx = tlsf_idx_of(h, fl, sl);
            const hk_block_t *head = tlsf_head(h, idx);
            if (((tlsf_slmap(h, fl) >> sl) & 1u) != (head != NULL))
                return "second-level bitmap disagrees with its list";
            if ((why = hk__index_check_list(h, head, idx, budget, count, where)))
                return why;
        }
    }
    return NULL;
}
