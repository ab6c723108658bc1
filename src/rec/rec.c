/* SPDX-License-Identifier: MIT */
/*
 * rec.c - the on-target allocation recorder (heapkit/rec.h).
 *
 * A single-producer, single-consumer ring of fixed 16-byte records behind a
 * control block, all in the caller's memory. The producer is the heap's event
 * hook (serialised by the heap's lock); the consumer is hk_rec_drain. The
 * indices run 0 .. slots-1 and wrap by comparison, never by division (no
 * libgcc division helpers on cores without a divider); one slot stays empty
 * so that head == tail means empty and head + 1 == tail means full.
 *
 * Ordering: the producer fills a slot, then publishes head; the consumer
 * reads head, copies out, then publishes tail. On one core a compiler
 * barrier between the two steps is enough (an interrupt sees program order).
 *
 * Size: hk_rec_event is the only code on the allocation path; it is written
 * so that -Os keeps it to a few dozen instructions (no calls but the optional
 * clock, one store per record word).
 */
#include "heapkit/rec.h"

#if defined(__GNUC__) || defined(__clang__)
#define REC_BARRIER() __asm__ volatile("" ::: "memory")
#else
#define REC_BARRIER() ((void)0)
#endif

_Static_assert(sizeof(hk_rec_record_t) == HK_REC_RECORD_BYTES, "records are 16 bytes");
_Static_assert(HK_REC_OP_ALLOC == (int)HK_EVENT_ALLOC && HK_REC_OP_FREE == (int)HK_EVENT_FREE &&
                   HK_REC_OP_REALLOC == (int)HK_EVENT_REALLOC && HK_REC_OP_FAIL == (int)HK_EVENT_FAIL,
               "record ops are the event kinds");

/* The record slots follow the control block. */
static hk_rec_record_t *rec_slot(hk_rec_t *r, uint32_t i)
{
    return (hk_rec_record_t *)(void *)((char *)r + r->hdr_bytes) + i;
}

hk_rec_t *hk_rec_init(void *mem, size_t bytes, hk_rec_clock_fn clock, void *clock_ctx)
{
    const size_t hdr = (sizeof(hk_rec_t) + 7u) & ~(size_t)7u;
    if (!mem || ((uintptr_t)mem & (sizeof(void *) - 1u)) || bytes < hdr + 2u * HK_REC_RECORD_BYTES)
        return NULL;
    size_t n = (bytes - hdr) >> 4; /* HK_REC_RECORD_BYTES == 16 */
    hk_rec_t *r = mem;
    r->magic = HK_REC_MAGIC;
    r->hdr_bytes = (uint16_t)hdr;
    r->rec_bytes = (uint16_t)HK_REC_RECORD_BYTES;
    r->slots = n > 0x7fffffffu ? 0x7fffffffu : (uint32_t)n; /* t + slots cannot wrap */
    r->head = 0;
    r->tail = 0;
    r->seq = 0;
    r->lost = 0;
    r->reserved = 0;
    r->clock = clock;
    r->clock_ctx = clock_ctx;
    return r;
}

void hk_rec_event(void *ctx, const hk_event_t *ev)
{
    hk_rec_t *r = ctx;
    if (!r)
        return;
    uint32_t h = r->head, t = r->tail, slots = r->slots;
    uint32_t room = (t > h ? t : t + slots) - h - 1u; /* free slots, one kept empty */
    uint32_t op = (uint32_t)ev->kind, n = op == HK_REC_OP_REALLOC ? 2u : 1u;
    const void *ptr = ev->ptr;
    size_t size = ev->size, align = ev->align;
    uint32_t seq = r->seq++;
    if (room < n) { /* a realloc's two records go in together or not at all */
        r->lost++;
        return;
    }
    uint32_t stamp = r->clock ? r->clock(r->clock_ctx) : seq;
    uint8_t lg = 0; /* log2(align), without a count-trailing-zeros helper (ARMv6-M) */
    while (align > 1u) {
        align >>= 1;
        lg++;
    }
    for (;;) {
        hk_rec_record_t *s = rec_slot(r, h);
        s->stamp = stamp;
        s->ptr = (uint32_t)(uintptr_t)ptr;
        s->size = size > 0xffffffffu ? 0xffffffffu : (uint32_t)size;
        s->op = (uint8_t)op;
        s->align = lg;
        s->seq = (uint16_t)seq;
        if (++h == slots)
            h = 0;
        if (--n == 0)
            break;
        op = HK_REC_OP_OLD; /* the realloc's second record: where it came from */
        ptr = ev->old_ptr;
        size = 0;
        lg = 0;
    }
    REC_BARRIER();
    r->head = h;
}

long hk_rec_drain(hk_rec_t *r, hk_rec_write_fn write, void *ctx)
{
    if (!r || !write)
        return -1;
    uint32_t t = r->tail, h = r->head;
    REC_BARRIER();
    hk_rec_record_t mark;
    mark.stamp = r->seq;
    mark.ptr = HK_REC_MAGIC;
    mark.size = r->lost;
    mark.op = HK_REC_OP_MARK;
    mark.align = 0;
    mark.seq = 0;
    if (write(ctx, &mark, sizeof mark) != 0)
        return -1;
    /* up to two runs: t .. end of the ring, then 0 .. h */
    uint32_t first = h >= t ? h - t : r->slots - t;
    uint32_t second = h >= t ? 0u : h;
    if (first && write(ctx, rec_slot(r, t), (size_t)first * HK_REC_RECORD_BYTES) != 0)
        return -1;
    if (second && write(ctx, rec_slot(r, 0), (size_t)second * HK_REC_RECORD_BYTES) != 0)
        return -1;
    REC_BARRIER();
    r->tail = h;
    return (long)first + (long)second;
}

uint32_t hk_rec_lost(const hk_rec_t *r)
{
    return r ? r->lost : 0u;
}
