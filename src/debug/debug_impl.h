/* SPDX-License-Identifier: MIT */
/*
 * debug_impl.h - what the debug layer's files share (HK_DEBUG >= 1): the
 * decoded trailer of a used block and the reporter that attaches a site.
 */
#ifndef HK_DEBUG_IMPL_H
#define HK_DEBUG_IMPL_H

#include "heap/index.h" /* and the observer interface, heap/observe.h */
#include "heapkit/debug.h"

#if HK_DEBUG >= 1

/* A used block's trailer, decoded and verified. */
typedef struct {
    size_t n;         /* bytes the caller asked for                      */
    uint32_t seq, line, tag;
    const char *file;
    bool canary_ok;   /* false: the bytes right after n were overwritten */
} hk_dbg_block_t;

/* Decodes the trailer of the used block b (which passed the heap's cheap
 * checks or the validator's walk). Returns NULL, or why b's check word
 * fails; then nothing in *d may be trusted. Never reads outside b. */
const char *hk__dbg_decode(const hk_heap_t *h, const hk_block_t *b, hk_dbg_block_t *d);

/* The site record of a decoded block, for reports and callbacks. */
void hk__dbg_info(const hk_block_t *b, const hk_dbg_block_t *d, hk_alloc_info_t *out);

/* Reports through hk__report with `site` visible to hk_debug_error_site. */
void hk__dbg_report_at(int code, const void *ptr, const char *why, const hk_alloc_info_t *site);

#endif

#endif /* HK_DEBUG_IMPL_H */
