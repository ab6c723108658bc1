/* SPDX-License-Identifier: MIT */
/*
 * heapkit/rec.h - the on-target allocation recorder: writes every alloc, free,
 * realloc and failed allocation of a heap as a 16-byte record into a RAM ring
 * the caller gives, and drains the ring through the caller's write function
 * (semihosting, a UART, a buffer a debugger reads). The host tool
 * hk-trace-conv turns the drained stream, or a raw debugger dump of the whole
 * ring, into a .rep trace for hk-replay and hk-size.
 *
 * Use:
 *     static uint32_t ring_mem[1024];          // 4 KiB: about 250 records
 *     hk_rec_t *rec = hk_rec_init(ring_mem, sizeof ring_mem, NULL, NULL);
 *     hk_heap_set_event_hook(heap, hk_rec_event, rec);
 *     ...
 *     hk_rec_drain(rec, my_write, my_ctx);     // from time to time, and at the end
 *
 * The ring lives entirely inside the caller's memory: a control block
 * (hk_rec_t, 40 bytes on 32-bit targets, magic first) and then the records.
 * Nothing is allocated, nothing but the caller's write function is called.
 *
 * Record layout (16 bytes, the target's byte order; hk-trace-conv detects
 * the order from the control block's or the stream marker's magic):
 *     u32 stamp     the caller's clock (hk_rec_clock_fn) or, without one, the
 *                   sequence number
 *     u32 ptr       low 32 bits of the block's address (FAIL: 0)
 *     u32 size      bytes asked for (FREE: the block's requested size),
 *                   saturated at 0xffffffff
 *     u8  op        HK_REC_OP_*
 *     u8  align     log2 of the alignment asked for, 0 for the default
 *     u16 seq       low 16 bits of the sequence number: gaps show lost records
 * A realloc is two records, REALLOC (new block, size) then OLD (the block it
 * came from), written together or not at all.
 *
 * When the ring is full the newest record is dropped and counted in `lost`
 * (hk_rec_lost): the records kept are then a prefix of the history, which is
 * still a trace a heap can replay; a ring that overwrote its oldest records
 * would keep frees of blocks it never saw. Size the ring for the whole run
 * when you cannot drain, or drain often enough that lost stays 0.
 *
 * Thread and ISR safety: hk_rec_event writes under the heap's lock (the heap
 * calls its event hook with its lock held), so one recorder per heap needs no
 * lock of its own, even when the heap is used from interrupts. Draining is a
 * single-consumer operation that touches only the tail index: it may run
 * concurrently with recording without taking the heap's lock, on a single
 * core (compiler barriers order the index updates); on a multi-core part call
 * hk_rec_drain under the heap's lock or add the barrier your core needs. One
 * recorder shared by several heaps needs those heaps to share one lock (the
 * same hk_lock_t in every configuration), else two hooks could write the same
 * slot; in practice give each heap its own recorder, because hk-size sizes
 * one heap at a time.
 */
#ifndef HEAPKIT_REC_H
#define HEAPKIT_REC_H

#include <stddef.h>
#include <stdint.h>

#include "heapkit/types.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The control block's and the stream marker's magic: "HKR1" as a
 * little-endian word reads 0x31524b48. */
#define HK_REC_MAGIC 0x31524b48u
#define HK_REC_RECORD_BYTES 16u

enum {
    HK_REC_OP_ALLOC = 1,   /* ptr, size, align */
    HK_REC_OP_FREE = 2,    /* ptr, size the block had */
    HK_REC_OP_REALLOC = 3, /* ptr = the new block, size; an OLD record follows */
    HK_REC_OP_FAIL = 4,    /* size, align: the allocation returned NULL */
    HK_REC_OP_OLD = 5,     /* ptr = the block the preceding REALLOC resized */
    HK_REC_OP_MARK = 6     /* first record of every drain: ptr = HK_REC_MAGIC,
                            * size = lost so far, stamp = records produced */
};

typedef struct {
    uint32_t stamp;
    uint32_t ptr;
    uint32_t size;
    uint8_t op;
    uint8_t align;
    uint16_t seq;
} hk_rec_record_t;

/* An optional timestamp source (a cycle counter, a tick count), called under
 * the heap's lock for every record. */
typedef uint32_t (*hk_rec_clock_fn)(void *ctx);

/* Writes n bytes (a whole number of records) somewhere the host can read
 * them. Returns 0 on success; a non-zero return stops the drain and leaves
 * the records in the ring. */
typedef int (*hk_rec_write_fn)(void *ctx, const void *data, size_t n);

/* The control block at the start of the ring's memory. Opaque to users; the
 * layout is fixed (magic, sizes, then the indices) because hk-trace-conv reads
 * it from a raw memory dump. */
typedef struct hk_rec {
    uint32_t magic;              /* HK_REC_MAGIC */
    uint16_t hdr_bytes;          /* offset of slot 0 from the start */
    uint16_t rec_bytes;          /* HK_REC_RECORD_BYTES */
    uint32_t slots;              /* ring capacity in records; one stays empty */
    volatile uint32_t head;      /* next slot to write (producer) */
    volatile uint32_t tail;      /* next slot to drain (consumer) */
    uint32_t seq;                /* events seen, lost ones included */
    uint32_t lost;               /* events dropped because the ring was full */
    uint32_t reserved;
    hk_rec_clock_fn clock;
    void *clock_ctx;
} hk_rec_t;

/* Makes a recorder in [mem, mem + bytes). mem must be 4-byte aligned (and
 * pointer-aligned). clock may be NULL (stamps are then sequence numbers).
 * Returns the recorder (== mem), or NULL when mem is NULL or misaligned or
 * the memory holds fewer than 2 records after the control block.
 * O(1); nothing else is written until records arrive. */
hk_rec_t *hk_rec_init(void *mem, size_t bytes, hk_rec_clock_fn clock, void *clock_ctx);

/* The event hook (hk_event_fn): pass it with the recorder as ctx to
 * hk_heap_set_event_hook or hk_heap_config_t.event. Records ev, or counts it
 * as lost when the ring is full. ctx NULL: does nothing. O(1). */
void hk_rec_event(void *ctx, const hk_event_t *ev);

/* Sends every record in the ring through write, oldest first, preceded by a
 * MARK record (always, so an empty drain still carries the lost count), in at
 * most three calls, and frees their slots. Returns the number of event
 * records sent (MARK not counted), or -1 when write failed (nothing of
 * that drain counts as sent; the records stay and are sent again next time).
 * rec or write NULL: -1. O(records). */
long hk_rec_drain(hk_rec_t *rec, hk_rec_write_fn write, void *ctx);

/* Events dropped so far because the ring was full. */
uint32_t hk_rec_lost(const hk_rec_t *rec);

#ifdef __cplusplus
}
#endif

#endif /* HEAPKIT_REC_H */
