/* SPDX-License-Identifier: MIT */
/*
 * heapkit/ring.h - the streaming allocator: variable-size records in a ring.
 *
 * A producer allocates records at the tail; a consumer frees them, normally
 * oldest first. Every record is one contiguous piece of memory: when the
 * space left before the end of the buffer is too short, the ring skips to the
 * start (the skipped bytes count as used until the head passes them). A
 * record freed out of order is marked and reclaimed when everything older
 * has been freed. Each record carries a two-word header (the granule, see
 * hk_ring_init), which also makes every cheap check on free possible.
 *
 * Complexity: alloc O(1); free O(1) amortised (a FIFO free is O(1); a free
 * that reaches the head also reclaims the marked records behind it, each
 * once).
 *
 * Thread safety: none unless a lock is given; then every call below runs
 * under it. A single producer and single consumer still need the lock: the
 * ring keeps one `used` count that both sides update.
 *
 * The struct is public so rings can be embedded and defined statically; its
 * fields are private.
 *
 * Interrupts: every call is O(1), so a ring suits a producer in an ISR and
 * a consumer in a task, each call under a lock that masks that interrupt
 * (heapkit/port/lock_cortexm.h, lock_riscv.h, HK_FREERTOS_ISR_LOCK).
 */
#ifndef HEAPKIT_RING_H
#define HEAPKIT_RING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "heapkit/types.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct hk_ring {
    unsigned char *buf;  /* aligned to gran                                  */
    size_t cap;          /* usable bytes, a multiple of gran                 */
    size_t gran;         /* header size and payload alignment                */
    size_t head;         /* offset of the oldest record (when used > 0)      */
    size_t tail;         /* offset where the next record goes                */
    struct {             /* the shared usage counter, bytes: usage.used is   */
        size_t total, used, peak, min_free, trip; /* head to tail: records, */
    } usage;             /* marks, skips                                     */
    size_t live;         /* records allocated and not yet freed              */
    size_t live_bytes;   /* their bytes, headers included                    */
    size_t requested;    /* sum of their requested sizes                     */
    uint64_t allocs, frees, failed, skipped; /* skipped: bytes ever skipped  */
    hk_lock_t lock;
} hk_ring_t;

/* Creates a ring over [buf, buf + bytes). Payloads are aligned to `align`
 * (a power of two; 0 means the default). The granule G = max(align,
 * 2 * sizeof(size_t)) is the record header size and the unit of every
 * record's length: a record of n bytes takes G + round_up(n, G) bytes. buf
 * may be unaligned. lock may be NULL and is copied. Returns 0, or HK_EINVAL
 * (ring or buf NULL, align not a power of two, fewer than 2 G usable bytes).
 * O(1); does not write to buf. */
int hk_ring_init(hk_ring_t *ring, void *buf, size_t bytes, size_t align, const hk_lock_t *lock);

/* Allocates a contiguous record of size bytes at the tail, aligned to the
 * ring's alignment. size 0 is treated as 1 in every respect: the record
 * holds 1 byte, and hk_ring_usable_size, hk_ring_front and `requested` say
 * 1 (0 is only ever the error value). Returns NULL when it does not fit
 * (counted in failed_allocs; the ring is unchanged) or ring is NULL. O(1). */
void *hk_ring_alloc(hk_ring_t *ring, size_t size);

/* Frees record p. NULL does nothing. In FIFO order the space is reclaimed at
 * once; out of order the record is marked and reclaimed when it reaches the
 * head. A pointer that is not the start of a live record is reported:
 * HK_EBADPTR (outside the ring, misaligned, outside the live records),
 * HK_EDOUBLEFREE (marked already) or HK_ECORRUPT (its header was
 * overwritten); the ring is unchanged. O(1) amortised. */
void hk_ring_free(hk_ring_t *ring, void *p);

/* Shrinks the newest record p to size bytes (at most its current size; 0 is
 * treated as 1, as in hk_ring_alloc: the record keeps 1 byte, so a later
 * shrink to 1 is a no-op that succeeds) and gives the rest back at the
 * tail: a producer can reserve the most it may write, then keep what it
 * wrote. Returns 0, HK_EINVAL (size above the record's size, ring NULL) or
 * HK_EBADPTR (p is not the newest live record); errors are reported. O(1). */
int hk_ring_shrink(hk_ring_t *ring, void *p, size_t size);

/* The oldest live record (the one a FIFO consumer frees next) and, when
 * size is not NULL, its requested size in *size. NULL when the ring is empty.
 * O(1). */
void *hk_ring_front(hk_ring_t *ring, size_t *size);

/* The requested size of live record p; 0 (reported) if p is not one. O(1). */
size_t hk_ring_usable_size(const hk_ring_t *ring, const void *p);

/* Drops every record at once (peak_used and min_ever_free are kept). O(1). */
void hk_ring_reset(hk_ring_t *ring);

/* Restarts peak_used and min_ever_free from the current use. O(1). */
void hk_ring_reset_marks(hk_ring_t *ring);

/* Fills *out. used counts every byte between head and tail (live records,
 * marked records, skipped ends); free = total - used; largest_free is exact:
 * hk_ring_alloc(ring, largest_free) succeeds and largest_free + 1 fails (0:
 * nothing fits). free_blocks is the number of free extents (0..2),
 * used_blocks the live records. O(1). */
void hk_ring_get_stats(const hk_ring_t *ring, hk_stats_t *out);

/* Walks the records from head to tail checking every header, that they add
 * up to `used` and end at the tail, and the live/requested counters. Returns
 * 0, HK_EINVAL (reported) for a NULL or never initialised ring (a bad
 * handle: no buffer), or HK_ECORRUPT (reported with the reason) for damaged
 * state. O(records). */
int hk_ring_validate(const hk_ring_t *ring);

#ifdef __cplusplus
}
#endif

#endif /* HEAPKIT_RING_H */
