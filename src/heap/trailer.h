/* SPDX-License-Identifier: MIT */
/*
 * trailer.h - how many bytes the heap reserves in every used block for its
 * observer (heap/observe.h), a layout fact the block layer needs.
 *
 * At HK_DEBUG >= 1 every used block carries, right after the caller's bytes,
 * the observer's trailer (src/debug/debug.c: canary, check word, sequence,
 * line, tag, file) and always a slack byte (block.h): the heap sizes blocks
 * for n + HK_DBG_EXTRA bytes, and keeps recording the caller's n as the
 * requested size, so the statistics, hk_heap_usable_size and the walk still
 * speak of the caller's bytes. At HK_DEBUG == 0 nothing is added and the
 * layout is the plain one.
 */
#ifndef HK_HEAP_TRAILER_H
#define HK_HEAP_TRAILER_H

#include "heapkit/config.h"

#if HK_DEBUG >= 1
/* canary 4 + check 4 + seq 4 + line 4 + tag 4 + file pointer */
#define HK_DBG_TRAILER ((size_t)(20u + sizeof(void *)))
/* the trailer and the slack byte, which must never share a byte with it */
#define HK_DBG_EXTRA (HK_DBG_TRAILER + 1u)
#else
#define HK_DBG_TRAILER ((size_t)0)
#define HK_DBG_EXTRA ((size_t)0)
#endif

#endif /* HK_HEAP_TRAILER_H */
