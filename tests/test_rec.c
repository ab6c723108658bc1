/* SPDX-License-Identifier: MIT */
/*
 * test_rec.c - the on-target recorder (heapkit/rec.h): records of a real heap's
 * events, the lost counter when the ring is full (a realloc's two records
 * never split), wrapping drains, failed writes that keep the records, the
 * caller's clock, and bad arguments. Runs on every target.
 */
#include "heapkit/heap.h"
#include "heapkit/rec.h"
#include "hk_test.h"

#define MAXOUT 64

/* The drain sink: collects records, can be told to fail. */
typedef struct {
    hk_rec_record_t v[MAXOUT];
    size_t n;
    int calls;
    int fail_at; /* the call (1-based) that fails; 0 never */
    int bad_len; /* a write that was not a whole number of records */
} sink_t;

static int sink_write(void *ctx, const void *data, size_t n)
{
    sink_t *s = ctx;
    s->calls++;
    if (s->fail_at && s->calls == s->fail_at)
        return -1;
    if (n % sizeof(hk_rec_record_t))
        s->bad_len++;
    const hk_rec_record_t *r = data;
    for (size_t i = 0; i < n / sizeof *r && s->n < MAXOUT; i++)
        s->v[s->n++] = r[i];
    return 0;
}

static void sink_reset(sink_t *s)
{
    hk_test_memset(s, 0, sizeof *s);
}

static hk_event_t ev(hk_event_kind_t kind, uintptr_t ptr, uintptr_t old, size_t size,
                     size_t align)
{
    hk_event_t e;
    e.kind = kind;
    e.ptr = (const void *)ptr;
    e.old_ptr = (const void *)old;
    e.size = size;
    e.align = align;
    return e;
}

static uint64_t ring_mem[64]; /* 512 bytes: the control block and ~29 records */

static void test_rec_init_rejects(void)
{
    HK_CHECK(hk_rec_init(NULL, 512, NULL, NULL) == NULL);
    HK_CHECK(hk_rec_init((char *)ring_mem + 1, 256, NULL, NULL) == NULL);
    HK_CHECK(hk_rec_init(ring_mem, sizeof(hk_rec_t), NULL, NULL) == NULL);
    hk_rec_t *r = hk_rec_init(ring_mem, sizeof ring_mem, NULL, NULL);
    HK_REQUIRE(r != NULL);
    HK_CHECK(r == (hk_rec_t *)(void *)ring_mem);
    HK_CHECK_EQ(r->magic, HK_REC_MAGIC);
    HK_CHECK_EQ(r->rec_bytes, 16);
    HK_CHECK(r->hdr_bytes >= sizeof(hk_rec_t) && r->hdr_bytes % 8 == 0);
    HK_CHECK_EQ(r->slots, (sizeof ring_mem - r->hdr_bytes) / 16);
    /* NULL arguments are harmless */
    hk_event_t e = ev(HK_EVENT_ALLOC, 0x100, 0, 8, 0);
    hk_rec_event(NULL, &e);
    sink_t s;
    sink_reset(&s);
    HK_CHECK_EQ(hk_rec_drain(NULL, sink_write, &s), -1);
    HK_CHECK_EQ(hk_rec_drain(r, NULL, &s), -1);
    HK_CHECK_EQ(s.calls, 0);
    HK_CHECK_EQ(hk_rec_lost(NULL), 0);
    /* an empty drain still sends the marker */
    HK_CHECK_EQ(hk_rec_drain(r, sink_write, &s), 0);
    HK_REQUIRE(s.n == 1);
    HK_CHECK_EQ(s.v[0].op, HK_REC_OP_MARK);
    HK_CHECK_EQ(s.v[0].ptr, HK_REC_MAGIC);
    HK_CHECK_EQ(s.v[0].size, 0);
}

/* A heap's own events, through the hook, in order, with the right fields. */
static void test_rec_heap_events(void)
{
    static uint64_t heap_mem[2048]; /* 16 KiB */
    hk_rec_t *r = hk_rec_init(ring_mem, sizeof ring_mem, NULL, NULL);
    HK_REQUIRE(r != NULL);
    hk_heap_t *h = hk_heap_init(heap_mem, sizeof heap_mem, NULL);
    HK_REQUIRE(h != NULL);
    int rc = hk_heap_set_event_hook(h, hk_rec_event, r);
    if (rc == HK_ENOTSUP) {
        hk_test_skip("built with HK_EVENTS 0");
        return;
    }
    HK_REQUIRE(rc == 0);
    void *a = hk_heap_alloc(h, 24);
    void *b = hk_heap_aligned_alloc(h, 64, 100);
    void *c = hk_heap_realloc(h, a, 300);
    void *fail = hk_heap_alloc(h, sizeof heap_mem * 2);
    hk_heap_free(h, b);
    HK_REQUIRE(a && b && c && !fail);
    sink_t s;
    sink_reset(&s);
    HK_CHECK_EQ(hk_rec_drain(r, sink_write, &s), 6);
    HK_CHECK_EQ(s.bad_len, 0);
    HK_REQUIRE(s.n == 7);
    HK_CHECK_EQ(s.v[0].op, HK_REC_OP_MARK);
    HK_CHECK_EQ(s.v[0].stamp, 5); /* five events produced */
    static const uint8_t ops[6] = {HK_REC_OP_ALLOC, HK_REC_OP_ALLOC, HK_REC_OP_REALLOC,
                                   HK_REC_OP_OLD, HK_REC_OP_FAIL, HK_REC_OP_FREE};
    for (int i = 0; i < 6; i++)
        HK_CHECK_EQ(s.v[1 + i].op, ops[i]);
    HK_CHECK_EQ(s.v[1].ptr, (uint32_t)(uintptr_t)a);
    HK_CHECK_EQ(s.v[1].size, 24);
    HK_CHECK_EQ(s.v[1].align, 0);
    HK_CHECK_EQ(s.v[2].ptr, (uint32_t)(uintptr_t)b);
    HK_CHECK_EQ(s.v[2].align, 6); /* log2(64) */
    HK_CHECK_EQ(s.v[3].ptr, (uint32_t)(uintptr_t)c);
    HK_CHECK_EQ(s.v[3].size, 300);
    HK_CHECK_EQ(s.v[4].ptr, (uint32_t)(uintptr_t)a); /* where the realloc came from */
    HK_CHECK_EQ(s.v[3].seq, s.v[4].seq);               /* one event, two records */
    HK_CHECK_EQ(s.v[5].ptr, 0);
    HK_CHECK_EQ(s.v[5].size, (uint32_t)(sizeof heap_mem * 2));
    HK_CHECK_EQ(s.v[6].ptr, (uint32_t)(uintptr_t)b);
    HK_CHECK_EQ(s.v[6].size, hk_test_reported(100)); /* the freed block's requested size */
    /* stamps without a clock are the sequence numbers */
    HK_CHECK_EQ(s.v[1].stamp, 0);
    HK_CHECK_EQ(s.v[2].stamp, 1);
    HK_CHECK_EQ(s.v[6].stamp, 4);
    HK_CHECK_EQ(s.v[6].seq, 4);
    /* a later event goes out alone in the next drain */
    hk_heap_free(h, c);
    sink_reset(&s);
    HK_CHECK_EQ(hk_rec_drain(r, sink_write, &s), 1);
    HK_REQUIRE(s.n == 2);
    HK_CHECK_EQ(s.v[1].op, HK_REC_OP_FREE);
    HK_CHECK_EQ(s.v[1].ptr, (uint32_t)(uintptr_t)c);
    HK_CHECK_EQ(hk_rec_lost(r), 0);
    HK_CHECK_EQ(hk_heap_set_event_hook(h, NULL, NULL), 0);
}

/* A full ring drops the newest events and counts them; a realloc that does
 * not fit whole is dropped whole. */
static void test_rec_overflow(void)
{
    hk_rec_t *r = hk_rec_init(ring_mem, sizeof ring_mem, NULL, NULL);
    HK_REQUIRE(r != NULL);
    uint32_t cap = r->slots - 1; /* records the ring holds */
    for (uint32_t i = 0; i + 1 < cap; i++) {
        hk_event_t e = ev(HK_EVENT_ALLOC, 0x1000 + 16 * i, 0, i + 1, 0);
        hk_rec_event(r, &e);
    }
    HK_CHECK_EQ(hk_rec_lost(r), 0);
    hk_event_t re = ev(HK_EVENT_REALLOC, 0x9000, 0x1000, 50, 0); /* needs 2, 1 left */
    hk_rec_event(r, &re);
    HK_CHECK_EQ(hk_rec_lost(r), 1);
    hk_event_t fr = ev(HK_EVENT_FREE, 0x1000, 0, 1, 0); /* fits in the last slot */
    hk_rec_event(r, &fr);
    HK_CHECK_EQ(hk_rec_lost(r), 1);
    hk_rec_event(r, &fr);
    HK_CHECK_EQ(hk_rec_lost(r), 2);
    sink_t s;
    sink_reset(&s);
    long sent = hk_rec_drain(r, sink_write, &s);
    HK_CHECK_EQ(sent, (long)cap);
    HK_CHECK_EQ(s.v[0].size, 2);              /* the marker carries the lost count */
    HK_CHECK_EQ(s.v[0].stamp, cap + 2);       /* events produced, lost included */
    HK_CHECK_EQ(s.v[cap].op, HK_REC_OP_FREE); /* the prefix, then the free that fit */
    HK_CHECK_EQ(s.v[cap].seq, cap);           /* the gap left by the dropped realloc */
    for (uint32_t i = 1; i < cap; i++)
        HK_CHECK_EQ(s.v[i].size, i);
}

/* Records that wrap around the end of the ring come out in order, in two
 * writes after the marker; a failed write keeps them for the next drain. */
static void test_rec_wrap_and_retry(void)
{
    hk_rec_t *r = hk_rec_init(ring_mem, sizeof ring_mem, NULL, NULL);
    HK_REQUIRE(r != NULL);
    uint32_t cap = r->slots - 1, next = 0;
    sink_t s;
    for (int round = 0; round < 5; round++) {
        for (uint32_t i = 0; i < cap - 3; i++) {
            hk_event_t e = ev(HK_EVENT_ALLOC, 0x2000 + 8 * next, 0, next, 0);
            hk_rec_event(r, &e);
            next++;
        }
        sink_reset(&s);
        s.fail_at = round == 2 ? 2 : 0; /* the first data write fails once */
        long got = hk_rec_drain(r, sink_write, &s);
        if (round == 2) {
            HK_CHECK_EQ(got, -1);
            sink_reset(&s);
            got = hk_rec_drain(r, sink_write, &s);
        }
        HK_CHECK_EQ(got, (long)(cap - 3));
        HK_CHECK(s.calls >= 2 && s.calls <= 3);
        HK_CHECK_EQ(s.bad_len, 0);
        for (uint32_t i = 1; i < s.n; i++)
            HK_CHECK_EQ(s.v[i].size, next - (cap - 3) + i - 1);
    }
    HK_CHECK_EQ(hk_rec_lost(r), 0);
}

static uint32_t fake_clock(void *ctx)
{
    uint32_t *t = ctx;
    return *t += 10;
}

static void test_rec_clock(void)
{
    uint32_t now = 1000;
    hk_rec_t *r = hk_rec_init(ring_mem, sizeof ring_mem, fake_clock, &now);
    HK_REQUIRE(r != NULL);
    hk_event_t a = ev(HK_EVENT_ALLOC, 0x40, 0, 8, 0);
    hk_event_t re = ev(HK_EVENT_REALLOC, 0x80, 0x40, 16, 0);
    hk_rec_event(r, &a);
    hk_rec_event(r, &re);
    sink_t s;
    sink_reset(&s);
    HK_CHECK_EQ(hk_rec_drain(r, sink_write, &s), 3);
    HK_REQUIRE(s.n == 4);
    HK_CHECK_EQ(s.v[1].stamp, 1010);
    HK_CHECK_EQ(s.v[2].stamp, 1020);
    HK_CHECK_EQ(s.v[3].stamp, 1020); /* the realloc's two records share a stamp */
    HK_CHECK_EQ(s.v[3].op, HK_REC_OP_OLD);
    HK_CHECK_EQ(s.v[3].ptr, 0x40);
}

HK_SUITE(rec)
{
    HK_RUN(test_rec_init_rejects);
    HK_RUN(test_rec_heap_events);
    HK_RUN(test_rec_overflow);
    HK_RUN(test_rec_wrap_and_retry);
    HK_RUN(test_rec_clock);
}
