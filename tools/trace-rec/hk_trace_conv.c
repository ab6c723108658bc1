/* SPDX-License-Identifier: MIT */
/*
 * hk_trace_conv.c - hk-trace-conv: turns a binary recording into a heapkit
 * text trace. Three inputs, recognised by their magic:
 *   - a libhk_trace.so recording (LD_PRELOAD on Linux, 40-byte records);
 *   - a drained heapkit/rec.h log (what hk_rec_drain wrote: MARK records and
 *     16-byte records, in the target's byte order);
 *   - a raw memory dump of a heapkit/rec.h ring (gdb `dump binary memory`
 *     from the control block to the end of the ring memory).
 *
 *     hk-trace-conv [--keep-live] IN [OUT.rep]
 *
 * Exit status: 0, 1 when the target lost events (the trace is written but
 * incomplete), 2 on bad input.
 *
 * Pointers become ids: a hash table maps each live pointer to its id and
 * requested size; ids are recycled smallest-first so the id space stays as
 * small as the peak number of live blocks. A realloc that moved keeps its id.
 * Frees of pointers never seen allocated (blocks from before the recorder
 * started) are dropped and counted. Blocks still live at the end are freed
 * by appended `f` lines, so the trace is balanced like the CMU ones, unless
 * --keep-live is given. Header line 1 is the peak live requested bytes.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hk_trace.h"
#include "hk_trace_rec.h"
#include "heapkit/rec.h"

typedef struct {
    uint64_t ptr; /* 0 = empty, 1 = deleted */
    uint32_t id;
} slot_t;

static slot_t *tab;
static size_t tab_cap, tab_used, tab_tomb;

static size_t hash(uint64_t p)
{
    p ^= p >> 33;
    p *= 0xff51afd7ed558ccdull;
    p ^= p >> 33;
    return (size_t)p;
}

static void tab_put(uint64_t ptr, uint32_t id);

static void tab_grow(void)
{
    slot_t *old = tab;
    size_t oc = tab_cap;
    tab_cap = oc ? oc * 2 : 1024;
    tab = calloc(tab_cap, sizeof *tab);
    if (!tab) {
        fprintf(stderr, "hk-trace-conv: out of memory\n");
        exit(2);
    }
    tab_used = tab_tomb = 0;
    for (size_t i = 0; i < oc; i++)
        if (old[i].ptr > 1)
            tab_put(old[i].ptr, old[i].id);
    free(old);
}

static slot_t *tab_find(uint64_t ptr)
{
    if (!tab_cap)
        return NULL;
    for (size_t i = hash(ptr) & (tab_cap - 1);; i = (i + 1) & (tab_cap - 1)) {
        if (tab[i].ptr == ptr)
            return &tab[i];
        if (tab[i].ptr == 0)
            return NULL;
    }
}

static void tab_put(uint64_t ptr, uint32_t id)
{
    if ((tab_used + tab_tomb + 1) * 2 > tab_cap)
        tab_grow();
    size_t i = hash(ptr) & (tab_cap - 1);
    while (tab[i].ptr > 1)
        i = (i + 1) & (tab_cap - 1);
    if (tab[i].ptr == 1)
        tab_tomb--;
    tab[i].ptr = ptr;
    tab[i].id = id;
    tab_used++;
}

static void tab_del(slot_t *s)
{
    s->ptr = 1;
    tab_used--;
    tab_tomb++;
}

/* Ids: a stack of free ones; new ones come from next_id. */
static uint32_t *free_ids;
static size_t n_free_ids, cap_free_ids;
static uint32_t next_id;

static uint32_t id_get(void)
{
    if (n_free_ids)
        return free_ids[--n_free_ids];
    return next_id++;
}

static void id_put(uint32_t id)
{
    if (n_free_ids == cap_free_ids) {
        cap_free_ids = cap_free_ids ? cap_free_ids * 2 : 1024;
        free_ids = realloc(free_ids, cap_free_ids * sizeof *free_ids);
        if (!free_ids) {
            fprintf(stderr, "hk-trace-conv: out of memory\n");
            exit(2);
        }
    }
    free_ids[n_free_ids++] = id;
}

static hkt_op_t *ops;
static size_t nops, cap_ops;

static void emit(char kind, uint32_t id, uint64_t size, uint64_t arg)
{
    if (nops == cap_ops) {
        cap_ops = cap_ops ? cap_ops * 2 : 4096;
        ops = realloc(ops, cap_ops * sizeof *ops);
        if (!ops) {
            fprintf(stderr, "hk-trace-conv: out of memory\n");
            exit(2);
        }
    }
    ops[nops++] = (hkt_op_t){(uint8_t)kind, id, size, arg};
}

static uint64_t pow2_up(uint64_t a)
{
    uint64_t p = 1;
    while (p < a && p < (1ull << 62))
        p <<= 1;
    return p;
}

/* A new block at ptr: if the table still holds ptr (a free we missed), that
 * old block is retired first. */
static uint32_t new_block(uint64_t ptr, unsigned long *stale)
{
    slot_t *s = tab_find(ptr);
    if (s) {
        emit('f', s->id, 0, 0);
        id_put(s->id);
        tab_del(s);
        (*stale)++;
    }
    uint32_t id = id_get();
    tab_put(ptr, id);
    return id;
}

static unsigned long unknown_frees, stale, records;
static const char *in_name;

/* One call of the program: updates the id table and appends its ops.
 * Returns 0, or -1 for a record that is not one. */
static int feed(const hkrec_t *r)
{
    records++;
    slot_t *s;
    uint32_t id;
    switch (r->op) {
    case HKREC_MALLOC:
        id = new_block(r->ptr, &stale);
        emit('a', id, r->size, 0);
        break;
    case HKREC_CALLOC:
        id = new_block(r->ptr, &stale);
        emit('c', id, r->size, r->arg);
        break;
    case HKREC_MEMALIGN:
        id = new_block(r->ptr, &stale);
        emit('m', id, r->size, pow2_up(r->arg ? r->arg : 1));
        break;
    case HKREC_FREE:
        s = tab_find(r->old);
        if (!s) {
            unknown_frees++;
            break;
        }
        emit('f', s->id, 0, 0);
        id_put(s->id);
        tab_del(s);
        break;
    case HKREC_REALLOC:
        s = r->old ? tab_find(r->old) : NULL;
        if (!s) {
            if (r->old)
                unknown_frees++; /* a block we never saw: its new self is an alloc */
            if (r->ptr) {
                id = new_block(r->ptr, &stale);
                emit('a', id, r->size, 0);
            }
            break;
        }
        id = s->id;
        if (!r->ptr) { /* realloc(p, 0) freed it */
            emit('f', id, 0, 0);
            id_put(id);
            tab_del(s);
            break;
        }
        emit('r', id, r->size, 0);
        if (r->ptr != r->old) {
            tab_del(s);
            slot_t *clash = tab_find(r->ptr);
            if (clash) { /* a missed free */
                emit('f', clash->id, 0, 0);
                id_put(clash->id);
                tab_del(clash);
                stale++;
            }
            tab_put(r->ptr, id);
        }
        break;
    default:
        fprintf(stderr, "hk-trace-conv: %s: bad record %lu (op %llu)\n", in_name, records,
                (unsigned long long)r->op);
        return -1;
    }
    return 0;
}

/* ---- heapkit/rec.h logs ---------------------------------------------------
 * Two shapes, told apart by where the magic sits: a drained stream starts
 * with a MARK record (magic in its ptr word, op 6), a raw memory dump of the
 * ring starts with the control block (magic in word 0). Either may come from
 * a big-endian target: the magic then reads byte-swapped. */
static bool swap_words;
static unsigned long ring_lost, ring_fails, ring_gaps, ring_marks;
static bool have_seq;
static uint16_t next_seq;

static uint32_t rd32(const unsigned char *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return swap_words ? __builtin_bswap32(v) : v;
}

static uint16_t rd16(const unsigned char *p)
{
    uint16_t v;
    memcpy(&v, p, 2);
    return swap_words ? __builtin_bswap16(v) : v;
}

/* Feeds one 16-byte record; `old` is the record after it (for REALLOC's OLD
 * partner) or NULL. Returns the number of records used (1 or 2), or -1. */
static int feed_ring(const unsigned char *rec, const unsigned char *old)
{
    uint32_t ptr = rd32(rec + 4), size = rd32(rec + 8);
    unsigned op = rec[12], align = rec[13];
    uint16_t seq = rd16(rec + 14);
    hkrec_t r = {0, ptr, 0, size, 0};
    if (op == HK_REC_OP_MARK) {
        if (ptr != HK_REC_MAGIC) {
            fprintf(stderr, "hk-trace-conv: %s: a marker without the magic: not a heapkit log\n",
                    in_name);
            return -1;
        }
        ring_marks++;
        ring_lost = size; /* the running total */
        return 1;
    }
    if (have_seq && seq != next_seq)
        ring_gaps++;
    have_seq = true;
    next_seq = (uint16_t)(seq + 1u);
    switch (op) {
    case HK_REC_OP_ALLOC:
        r.op = align ? HKREC_MEMALIGN : HKREC_MALLOC;
        r.arg = align ? (uint64_t)1 << (align & 63u) : 0;
        break;
    case HK_REC_OP_FREE:
        r.op = HKREC_FREE;
        r.old = ptr;
        r.ptr = 0;
        break;
    case HK_REC_OP_FAIL:
        ring_fails++; /* nothing changed on the target */
        return 1;
    case HK_REC_OP_REALLOC:
        if (!old || old[12] != HK_REC_OP_OLD || rd16(old + 14) != seq) {
            fprintf(stderr, "hk-trace-conv: %s: a realloc record without its old pointer\n",
                    in_name);
            return -1;
        }
        r.op = HKREC_REALLOC;
        r.old = rd32(old + 4);
        return feed(&r) == 0 ? 2 : -1;
    default:
        fprintf(stderr, "hk-trace-conv: %s: bad record op %u\n", in_name, op);
        return -1;
    }
    return feed(&r) == 0 ? 1 : -1;
}

/* Records [0, n) of buf in order (a stream, or a dump straightened out). */
static int feed_ring_run(const unsigned char *buf, size_t n)
{
    for (size_t i = 0; i < n;) {
        int used = feed_ring(buf + 16 * i, i + 1 < n ? buf + 16 * (i + 1) : NULL);
        if (used < 0)
            return -1;
        i += (size_t)used;
    }
    return 0;
}

/* A raw dump: the control block, then the slots; the records not yet
 * drained are tail .. head, wrapping. */
static int feed_ring_dump(const unsigned char *buf, size_t len)
{
    if (len < 32) {
        fprintf(stderr, "hk-trace-conv: %s: too short for a recorder's control block\n", in_name);
        return -1;
    }
    uint32_t hdr = rd16(buf + 4), rec = rd16(buf + 6), slots = rd32(buf + 8);
    uint32_t head = rd32(buf + 12), tail = rd32(buf + 16), seq = rd32(buf + 20);
    ring_lost = rd32(buf + 24);
    if (rec != 16 || hdr < 32 || slots < 2 || head >= slots || tail >= slots) {
        fprintf(stderr,
                "hk-trace-conv: %s: damaged control block (header %u, record %u bytes, %u slots, "
                "head %u, tail %u)\n",
                in_name, hdr, rec, slots, head, tail);
        return -1;
    }
    if ((uint64_t)hdr + (uint64_t)slots * 16u > len) {
        fprintf(stderr,
                "hk-trace-conv: %s: the dump has %zu bytes, the ring %llu: dump the whole ring "
                "memory (from the control block to its end)\n",
                in_name, len, (unsigned long long)hdr + (unsigned long long)slots * 16u);
        return -1;
    }
    const unsigned char *slot0 = buf + hdr;
    size_t n = head >= tail ? head - tail : slots - tail + head;
    unsigned char *lin = malloc(n * 16 + 1);
    if (!lin) {
        fprintf(stderr, "hk-trace-conv: out of memory\n");
        return -1;
    }
    size_t first = head >= tail ? n : slots - tail;
    memcpy(lin, slot0 + (size_t)tail * 16, first * 16);
    memcpy(lin + first * 16, slot0, (n - first) * 16);
    if (tail != 0)
        fprintf(stderr, "hk-trace-conv: %s: the ring was drained before (tail %u): only the "
                        "records after the last drain are in the dump\n", in_name, tail);
    else
        have_seq = true; /* never drained: the first record is event 0 */
    int rc = feed_ring_run(lin, n);
    free(lin);
    (void)seq;
    return rc;
}

static unsigned char *read_all(FILE *f, size_t *len)
{
    size_t cap = 1 << 16, n = 0;
    unsigned char *b = malloc(cap);
    while (b) {
        if (n == cap) {
            unsigned char *nb = realloc(b, cap * 2);
            if (!nb) {
                free(b);
                return NULL;
            }
            b = nb;
            cap *= 2;
        }
        size_t got = fread(b + n, 1, cap - n, f);
        n += got;
        if (got == 0)
            break;
    }
    *len = n;
    return b;
}

/* Returns 1 if the file is a heapkit/rec.h log (and fed it: 0 or -1 in
 * *rc), 0 if it is not one. Sets swap_words for a foreign byte order. */
static int try_ring(FILE *f, int *rc)
{
    unsigned char w[16];
    if (fread(w, 1, 16, f) != 16)
        return 0;
    uint32_t w0, w1;
    memcpy(&w0, w, 4);
    memcpy(&w1, w + 4, 4);
    bool dump = w0 == HK_REC_MAGIC || w0 == __builtin_bswap32(HK_REC_MAGIC);
    bool stream = (w1 == HK_REC_MAGIC || w1 == __builtin_bswap32(HK_REC_MAGIC)) &&
                  w[12] == HK_REC_OP_MARK;
    if (!dump && !stream)
        return 0;
    swap_words = dump ? w0 != HK_REC_MAGIC : w1 != HK_REC_MAGIC;
    rewind(f);
    size_t len;
    unsigned char *buf = read_all(f, &len);
    if (!buf) {
        fprintf(stderr, "hk-trace-conv: out of memory\n");
        *rc = -1;
        return 1;
    }
    if (dump) {
        *rc = feed_ring_dump(buf, len);
    } else {
        have_seq = true; /* a log from the start: its first event is event 0 */
        if (len % 16)
            fprintf(stderr, "hk-trace-conv: %s: %zu trailing bytes ignored (a cut-off record)\n",
                    in_name, len % 16);
        *rc = feed_ring_run(buf, len / 16);
    }
    free(buf);
    return 1;
}

int main(int argc, char **argv)
{
    bool keep_live = false;
    const char *in = NULL, *out = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--keep-live"))
            keep_live = true;
        else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            printf("usage: hk-trace-conv [--keep-live] IN.hkrec|IN.log|IN.dump [OUT.rep]\n");
            return 0;
        } else if (!in)
            in = argv[i];
        else if (!out)
            out = argv[i];
        else {
            fprintf(stderr, "hk-trace-conv: too many arguments\n");
            return 2;
        }
    }
    if (!in) {
        fprintf(stderr, "usage: hk-trace-conv [--keep-live] IN.hkrec|IN.log|IN.dump [OUT.rep]\n");
        return 2;
    }
    FILE *f = fopen(in, "rb");
    if (!f) {
        fprintf(stderr, "hk-trace-conv: %s: %s\n", in, strerror(errno));
        return 2;
    }
    in_name = in;
    int ring_rc = 0;
    bool ring = try_ring(f, &ring_rc) == 1;
    if (ring && ring_rc != 0) {
        fclose(f);
        return 2;
    }
    if (!ring) {
        rewind(f);
        hkrec_t header;
        if (fread(&header, sizeof header, 1, f) != 1 || memcmp(&header, HKREC_MAGIC, 8) != 0) {
            fprintf(stderr,
                    "hk-trace-conv: %s: neither a libhk_trace.so recording nor a heapkit "
                    "recorder log or ring dump\n",
                    in);
            fclose(f);
            return 2;
        }
        hkrec_t r;
        while (fread(&r, sizeof r, 1, f) == 1 && r.op != 0) {
            if (feed(&r) != 0) {
                fclose(f);
                return 2;
            }
        }
    }
    fclose(f);
    if (!keep_live)
        for (size_t i = 0; i < tab_cap; i++)
            if (tab[i].ptr > 1)
                emit('f', tab[i].id, 0, 0);
    hkt_trace_t t;
    memset(&t, 0, sizeof t);
    t.nids = next_id;
    t.weight = 1;
    t.ops = ops;
    t.nops = nops;
    hkt_truncate(&t, nops);
    t.heap_hint = t.peak_live;
    FILE *o = out ? fopen(out, "w") : stdout;
    if (!o || hkt_write(o, &t) != 0) {
        fprintf(stderr, "hk-trace-conv: cannot write %s\n", out ? out : "stdout");
        return 2;
    }
    if (out)
        fclose(o);
    fprintf(stderr,
            "hk-trace-conv: %lu records -> %zu ops, %u ids, peak live %llu bytes; %lu frees of "
            "unknown blocks dropped, %lu missed frees\n",
            records, nops, next_id, (unsigned long long)t.peak_live, unknown_frees, stale);
    if (ring) {
        fprintf(stderr,
                "hk-trace-conv: recorder log: %lu events lost on the target, %lu failed "
                "allocations, %lu sequence gaps, %lu drains%s\n",
                ring_lost, ring_fails, ring_gaps, ring_marks,
                ring_lost || ring_gaps ? " - INCOMPLETE: enlarge the ring or drain more often"
                                       : "");
    }
    free(ops);
    free(tab);
    free(free_ids);
    return ring && (ring_lost || ring_gaps) ? 1 : 0;
}
