/* SPDX-License-Identifier: MIT */
/*
 * ring.c - variable-size records in a ring buffer.
 *
 * Layout
 * ------
 * The buffer is cap bytes, a multiple of the granule G. Every record starts
 * on a granule boundary with a header of G bytes whose first two words are
 *
 *     word 0: record length in bytes (a multiple of G, header included)
 *             | FREED (bit 0) | SKIP (bit 1)
 *     word 1: the size the caller asked for
 *
 * and its payload follows the header, so a payload is aligned to G. A record
 * for n bytes is G + round_up(n, G) long; word 1 lets free check the header
 * exactly (length == G + round_up(word1, G)) and answer usable_size.
 *
 * State is three offsets: head (oldest record), tail (where the next one
 * goes) and used (bytes from head to tail, going round). head == tail means
 * either empty or full, and only `used` tells which -- the bug of the design
 * note's sketch, which derived free space from head and tail alone. Here:
 *
 *     used == 0          empty: head and tail are reset to 0, so the whole
 *                        buffer is one contiguous extent again
 *     used == cap        full
 *     tail > head        free extents [tail, cap) and [0, head)
 *     tail < head        one free extent [tail, head)
 *
 *   tail > head:  |..free..|HHH live HHH|....free....|
 *                 0        head         tail         cap
 *   tail < head:  |LL live LL|..free..|HH live HHH|sk|
 *                 0          tail     head           cap
 *
 * A record never wraps. When it does not fit in [tail, cap) but fits in
 * [0, head), the ring writes a SKIP record over [tail, cap) -- cap - tail is
 * a nonzero multiple of G, so there is always room for its header -- counts
 * those bytes in `used`, and places the record at 0. The skip is reclaimed
 * like a freed record when the head reaches it.
 *
 * Free marks the record FREED; if it is the head record, the head advances
 * over every FREED or SKIP record. Each record is passed once, so free is
 * O(1) amortised and exactly O(1) for a FIFO consumer. This is the
 * bip-buffer idea (Simon Cooke, "The Bip Buffer", 2003) with per-record
 * headers, as in Zephyr's and the Linux perf ring buffers.
 *
 * Worked example, cap 64, G 8: alloc 20 -> 32 bytes at 0 (tail 32); alloc 10
 * -> 24 bytes at 32 (tail 56); free the first -> head 32, used 24. alloc 10
 * needs 24: [56, 64) is 8 bytes, too short, [0, 32) fits: a SKIP of 8 bytes
 * at 56, the record at 0, tail 24, used 24 + 8 + 24 = 56, free 8.
 */
#include <stddef.h>

#include "common/hk_internal.h"
#include "common/hk_stats.h"
#include "heapkit/ring.h"

#define REC_FREED ((size_t)1)
#define REC_SKIP ((size_t)2)
#define REC_FLAGS (REC_FREED | REC_SKIP)

/* ---- the usage counter -------------------------------------------------
 * The public struct carries the shared usage counter (hk_stats.h) as a
 * look-alike struct, so ring.h need not include a private header; every
 * access goes through these casts. usage.used is the ring's `used`: the
 * bytes from head to tail, and usage.total its capacity. */
_Static_assert(sizeof(((hk_ring_t *)0)->usage) == sizeof(hk__usage_t), "ring usage layout");
_Static_assert(offsetof(hk_ring_t, usage) % _Alignof(hk__usage_t) == 0, "ring usage align");

static hk__usage_t *ring_usage(hk_ring_t *r)
{
    return (hk__usage_t *)(void *)&r->usage;
}

static const hk__usage_t *ring_usage_c(const hk_ring_t *r)
{
    return (const hk__usage_t *)(const void *)&r->usage;
}

static size_t ring_used(const hk_ring_t *r)
{
    return ring_usage_c(r)->used;
}

/* ---- header accessors -------------------------------------------------- */
/* Headers sit on granule boundaries (G >= 2 words, buf aligned to G), so
 * the words are aligned: plain loads and stores, no memcpy calls. */
static size_t *hdr(const hk_ring_t *r, size_t off)
{
    return (size_t *)(void *)(r->buf + off);
}

static size_t hdr_word(const hk_ring_t *r, size_t off, size_t i)
{
    return hdr(r, off)[i];
}

static void hdr_set(hk_ring_t *r, size_t off, size_t w0, size_t w1)
{
    hdr(r, off)[0] = w0;
    hdr(r, off)[1] = w1;
}

static size_t rec_len(const hk_ring_t *r, size_t off)
{
    return hdr_word(r, off, 0) & ~REC_FLAGS;
}

static size_t rec_flags(const hk_ring_t *r, size_t off)
{
    return hdr_word(r, off, 0) & REC_FLAGS;
}

static size_t rec_req(const hk_ring_t *r, size_t off)
{
    return hdr_word(r, off, 1);
}

/* Bytes a record of n payload bytes takes; n <= cap - G (no overflow). */
static size_t rec_need(const hk_ring_t *r, size_t n)
{
    return r->gran + hk__align_up(n ? n : 1, r->gran);
}

static uintptr_t ring_lock(const hk_ring_t *r)
{
    return hk__lock(&r->lock);
}

static void ring_unlock(const hk_ring_t *r, uintptr_t lk_saved)
{
    hk__unlock(&r->lock, lk_saved);
}

/* Is offset off (on a granule) inside the records between head and tail? */
static bool ring_in_live(const hk_ring_t *r, size_t off)
{
    if (ring_used(r) == 0)
        return false;
    if (r->head < r->tail)
        return off >= r->head && off < r->tail;
    return off >= r->head || off < r->tail; /* wrapped, or full */
}

/* Does the header (w0, req) at off describe a record the caller may hold?
 * Checks the length against the size word and that the record ends inside
 * the live range. */
static bool rec_header_ok(const hk_ring_t *r, size_t off, size_t w0, size_t req)
{
    size_t len = w0 & ~REC_FLAGS;
    if (w0 & REC_SKIP)
        return false;
    if (req > r->cap - r->gran || len != rec_need(r, req) || len > r->cap - off)
        return false;
    size_t end = off + len;
    if (r->head < r->tail)
        return end <= r->tail;
    return off >= r->head ? true : end <= r->tail;
}

/* The largest free extent a record may take, in bytes. */
static size_t ring_room(const hk_ring_t *r)
{
    if (ring_used(r) == 0)
        return r->cap;
    if (ring_used(r) == r->cap)
        return 0;
    if (r->tail > r->head)
        return r->cap - r->tail > r->head ? r->cap - r->tail : r->head;
    return r->head - r->tail;
}

/* ---- public API -------------------------------------------------------- */
int hk_ring_init(hk_ring_t *ring, void *buf, size_t bytes, size_t align, const hk_lock_t *lock)
{
    if (!ring || !buf) {
        hk__report(HK_EINVAL, buf, "ring init: NULL ring or buffer");
        return HK_EINVAL;
    }
    if (align == 0)
        align = 2 * sizeof(size_t);
    if (!hk__is_pow2(align) || align > ((size_t)1 << (sizeof(size_t) * 8 - 2))) {
        hk__report(HK_EINVAL, buf, "ring init: align not a power of two");
        return HK_EINVAL;
    }
    size_t g = align < 2 * sizeof(size_t) ? 2 * sizeof(size_t) : align;
    uintptr_t start = hk__align_up_ptr((uintptr_t)buf, g);
    size_t slack = (size_t)(start - (uintptr_t)buf);
    if (start < (uintptr_t)buf || slack > bytes || (bytes - slack) / g < 2) {
        hk__report(HK_EINVAL, buf, "ring init: buffer smaller than two granules");
        return HK_EINVAL;
    }
    hk__memset(ring, 0, sizeof *ring);
    ring->buf = (unsigned char *)buf + slack;
    ring->gran = g;
    ring->cap = (bytes - slack) & ~(g - 1);
    hk__usage_init(ring_usage(ring), ring->cap);
    if (lock)
        ring->lock = *lock;
    return HK_OK;
}

void *hk_ring_alloc(hk_ring_t *ring, size_t size)
{
    if (HK_UNLIKELY(!ring)) {
        hk__report(HK_EINVAL, NULL, "ring alloc: NULL ring");
        return NULL;
    }
    if (size == 0)
        size = 1; /* a record of 1 byte: usable_size and front say 1, never 0 */
    uintptr_t lk_saved = ring_lock(ring);
    hk_ring_t *r = ring;
    size_t pos;
    if (HK_UNLIKELY(size > r->cap - r->gran))
        goto fail;
    size_t need = rec_need(r, size);
    if (ring_used(r) == 0) {
        r->head = r->tail = 0;
        if (need > r->cap)
            goto fail;
        pos = 0;
    } else if (r->tail > r->head) {
        if (need <= r->cap - r->tail) {
            pos = r->tail;
        } else if (need <= r->head) {
            size_t skip = r->cap - r->tail;
            hdr_set(r, r->tail, skip | REC_SKIP, 0);
            hk__usage_take(ring_usage(r), skip);
            r->skipped += skip;
            pos = 0;
        } else {
            goto fail;
        }
    } else if (ring_used(r) < r->cap && need <= r->head - r->tail) {
        pos = r->tail;
    } else {
        goto fail;
    }
    hdr_set(r, pos, need, size);
    r->tail = pos + need == r->cap ? 0 : pos + need;
    hk__usage_take(ring_usage(r), need);
    r->live++;
    r->live_bytes += need;
    r->requested += size;
    r->allocs++;
    HK_ASSERT(ring_used(r) <= r->cap);
    ring_unlock(ring, lk_saved);
    return r->buf + pos + r->gran;
fail:
    r->failed++;
    ring_unlock(ring, lk_saved);
    return NULL;
}

/* Advances the head over freed and skipped records. */
static void ring_reclaim(hk_ring_t *r)
{
    while (ring_used(r) && (rec_flags(r, r->head) & REC_FLAGS)) {
        size_t len = rec_len(r, r->head);
        if (HK_UNLIKELY(len < r->gran || (len & (r->gran - 1)) || len > ring_used(r)
                        || len > r->cap - r->head)) {
            hk__report(HK_ECORRUPT, r->buf + r->head,
                       "ring: freed record's header damaged (overflow of the record before?)");
            return; /* stop here: never move the head by a bad length */
        }
        hk__usage_give(ring_usage(r), len);
        r->head += len;
        if (r->head == r->cap)
            r->head = 0;
    }
    if (ring_used(r) == 0)
        r->head = r->tail = 0;
}

/* A live record found by ring_find: its offset and header words. */
typedef struct {
    size_t off, w0, req;
} rec_t;

/* Finds the record of p, or reports why p is not a live record. */
static bool ring_find(const hk_ring_t *r, const void *p, rec_t *rec)
{
    const unsigned char *q = p;
    if (q < r->buf + r->gran || q >= r->buf + r->cap) {
        hk__report(HK_EBADPTR, p, "ring: pointer outside the ring (wrong allocator?)");
        return false;
    }
    size_t off = (size_t)(q - r->buf) - r->gran;
    if (off & (r->gran - 1)) {
        hk__report(HK_EBADPTR, p, "ring: pointer not on a record boundary (interior pointer?)");
        return false;
    }
    if (!ring_in_live(r, off)) {
        hk__report(HK_EBADPTR, p, "ring: not a live record (freed and reclaimed: double free?)");
        return false;
    }
    size_t w0 = hdr_word(r, off, 0), req = hdr_word(r, off, 1);
    if (!rec_header_ok(r, off, w0, req)) {
        hk__report(HK_ECORRUPT, p, "ring: record header damaged (overflow of the record before?)");
        return false;
    }
    if (w0 & REC_FREED) {
        hk__report(HK_EDOUBLEFREE, p, "ring: record already freed (double free?)");
        return false;
    }
    rec->off = off;
    rec->w0 = w0;
    rec->req = req;
    return true;
}

void hk_ring_free(hk_ring_t *ring, void *p)
{
    if (!p)
        return;
    if (HK_UNLIKELY(!ring)) {
        hk__report(HK_EINVAL, p, "ring free: NULL ring");
        return;
    }
    uintptr_t lk_saved = ring_lock(ring);
    hk_ring_t *r = ring;
    rec_t rec;
    if (HK_LIKELY(ring_find(r, p, &rec))) {
        r->live--;
        r->live_bytes -= rec.w0;
        r->requested -= rec.req;
        r->frees++;
        if (rec.off == r->head) {
            /* FIFO: the head moves past this record (its length was just
             * checked), then over any marked records behind it. */
            hk__usage_give(ring_usage(r), rec.w0);
            r->head = rec.off + rec.w0 == r->cap ? 0 : rec.off + rec.w0;
            ring_reclaim(r);
        } else {
            hdr(r, rec.off)[0] = rec.w0 | REC_FREED;
        }
    }
    ring_unlock(ring, lk_saved);
}

int hk_ring_shrink(hk_ring_t *ring, void *p, size_t size)
{
    if (!ring || !p) {
        hk__report(HK_EINVAL, p, "ring shrink: NULL ring or record");
        return HK_EINVAL;
    }
    if (size == 0)
        size = 1; /* as in alloc: the record keeps 1 byte */
    uintptr_t lk_saved = ring_lock(ring);
    int rc = HK_OK;
    rec_t rec;
    if (!ring_find(ring, p, &rec)) {
        rc = HK_EBADPTR; /* reported */
    } else {
        size_t off = rec.off, len = rec.w0, req = rec.req;
        size_t end = off + len == ring->cap ? 0 : off + len;
        if (end != ring->tail) {
            hk__report(HK_EBADPTR, p, "ring shrink: not the newest record");
            rc = HK_EBADPTR;
        } else if (size > req) {
            hk__report(HK_EINVAL, p, "ring shrink: size above the record's size");
            rc = HK_EINVAL;
        } else {
            size_t need = rec_need(ring, size), give = len - need;
            hdr_set(ring, off, need, size);
            if (give)
                ring->tail = off + need;
            hk__usage_give(ring_usage(ring), give);
            ring->live_bytes -= give;
            ring->requested -= req - size;
        }
    }
    ring_unlock(ring, lk_saved);
    return rc;
}

void *hk_ring_front(hk_ring_t *ring, size_t *size)
{
    if (!ring)
        return NULL;
    uintptr_t lk_saved = ring_lock(ring);
    void *p = NULL;
    if (ring_used(ring)) {
        HK_ASSERT(!(rec_flags(ring, ring->head) & REC_FLAGS));
        p = ring->buf + ring->head + ring->gran;
        if (size)
            *size = rec_req(ring, ring->head);
    }
    ring_unlock(ring, lk_saved);
    return p;
}

size_t hk_ring_usable_size(const hk_ring_t *ring, const void *p)
{
    if (!ring || !p)
        return 0;
    uintptr_t lk_saved = ring_lock(ring);
    size_t n = 0;
    rec_t rec;
    if (ring_find(ring, p, &rec))
        n = rec.req;
    ring_unlock(ring, lk_saved);
    return n;
}

void hk_ring_reset(hk_ring_t *ring)
{
    if (!ring)
        return;
    uintptr_t lk_saved = ring_lock(ring);
    ring->head = ring->tail = 0;
    hk__usage_give(ring_usage(ring), ring_used(ring));
    ring->live = ring->live_bytes = ring->requested = 0;
    ring_unlock(ring, lk_saved);
}

void hk_ring_reset_marks(hk_ring_t *ring)
{
    if (!ring)
        return;
    uintptr_t lk_saved = ring_lock(ring);
    hk__usage_reset(ring_usage(ring));
    ring_unlock(ring, lk_saved);
}

void hk_ring_get_stats(const hk_ring_t *ring, hk_stats_t *out)
{
    if (!out)
        return;
    hk__memset(out, 0, sizeof *out);
    if (!ring)
        return;
    uintptr_t lk_saved = ring_lock(ring);
    const hk_ring_t *r = ring;
    size_t room = ring_room(r);
    hk__usage_fill(ring_usage_c(r), out);
    out->largest_free = room >= 2 * r->gran ? room - r->gran : 0;
    if (ring_used(r) == 0)
        out->free_blocks = 1;
    else if (ring_used(r) < r->cap)
        out->free_blocks = (r->tail > r->head && r->head > 0) ? 2 : 1;
    out->used_blocks = r->live;
    out->requested = r->requested;
    out->allocs = r->allocs;
    out->frees = r->frees;
    out->failed_allocs = r->failed;
    ring_unlock(ring, lk_saved);
}

/* The checks of hk_ring_validate; the reason for the first failure or NULL. */
static const char *ring_check(const hk_ring_t *r, size_t *where)
{
    size_t g = r->gran;
    *where = 0;
    if (!hk__is_pow2(g) || g < 2 * sizeof(size_t) || r->cap < 2 * g || (r->cap & (g - 1)))
        return "ring: geometry damaged";
    if (r->head >= r->cap || r->tail >= r->cap || ((r->head | r->tail) & (g - 1)))
        return "ring: head or tail out of place";
    if (ring_usage_c(r)->total != r->cap || !hk__usage_ok(ring_usage_c(r)))
        return "ring: usage counter out of range";
    if (ring_used(r) == 0 ? (r->head != 0 || r->tail != 0)
                     : (r->tail == r->head) != (ring_used(r) == r->cap))
        return "ring: head/tail disagree with the used count";
    if (ring_used(r) && (r->tail > r->head ? r->tail - r->head : r->cap - r->head + r->tail) != ring_used(r))
        return "ring: used is not the distance from head to tail";
    size_t pos = r->head, left = ring_used(r), live = 0, bytes = 0, req = 0;
    while (left) {
        *where = pos;
        size_t len = rec_len(r, pos), fl = rec_flags(r, pos);
        if (len < g || (len & (g - 1)) || len > left || len > r->cap - pos)
            return "ring: record length damaged";
        if (fl == REC_FLAGS)
            return "ring: record flags damaged";
        if (fl & REC_SKIP) {
            if (pos + len != r->cap)
                return "ring: skip record does not reach the end";
        } else {
            size_t n = rec_req(r, pos);
            if (n > r->cap - g || len != rec_need(r, n))
                return "ring: record size word damaged";
            if (!fl) {
                live++;
                bytes += len;
                req += n;
            }
        }
        if (pos == r->head && fl)
            return "ring: head record freed but not reclaimed";
        left -= len;
        pos += len;
        if (pos == r->cap)
            pos = 0;
    }
    *where = pos;
    if (pos != r->tail)
        return "ring: records do not end at the tail";
    if (live != r->live || bytes != r->live_bytes || req != r->requested)
        return "ring: live counters disagree with the records";
    return NULL;
}

int hk_ring_validate(const hk_ring_t *ring)
{
    if (!ring || !ring->buf) {
        hk__report(HK_EINVAL, ring, "ring validate: NULL or uninitialised ring");
        return HK_EINVAL;
    }
    uintptr_t lk_saved = ring_lock(ring);
    size_t where;
    const char *why = ring_check(ring, &where);
    ring_unlock(ring, lk_saved);
    if (why) {
        hk__report(HK_ECORRUPT, ring->buf ? ring->buf + where : NULL, why);
        return HK_ECORRUPT;
    }
    return HK_OK;
}
