/*
 * hk_trace_conv.c - hk-trace-conv: turns a binary recording of libhk_trace.so
 * into a heapkit text trace.
 *
 *     hk-trace-conv [--keep-live] IN.hkrec [OUT.rep]
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

int main(int argc, char **argv)
{
    bool keep_live = false;
    const char *in = NULL, *out = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--keep-live"))
            keep_live = true;
        else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            printf("usage: hk-trace-conv [--keep-live] IN.hkrec [OUT.rep]\n");
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
        fprintf(stderr, "usage: hk-trace-conv [--keep-live] IN.hkrec [OUT.rep]\n");
        return 2;
    }
    FILE *f = fopen(in, "rb");
    if (!f) {
        fprintf(stderr, "hk-trace-conv: %s: %s\n", in, strerror(errno));
        return 2;
    }
    hkrec_t header;
    if (fread(&header, sizeof header, 1, f) != 1 || memcmp(&header, HKREC_MAGIC, 8) != 0) {
        fprintf(stderr, "hk-trace-conv: %s: not a libhk_trace.so recording\n", in);
        fclose(f);
        return 2;
    }
    unsigned long unknown_frees = 0, stale = 0, records = 0;
    hkrec_t r;
    while (fread(&r, sizeof r, 1, f) == 1 && r.op != 0) {
        records++;
        slot_t *s;
        uint32_t id;
        switch (r.op) {
        case HKREC_MALLOC:
            id = new_block(r.ptr, &stale);
            emit('a', id, r.size, 0);
            break;
        case HKREC_CALLOC:
            id = new_block(r.ptr, &stale);
            emit('c', id, r.size, r.arg);
            break;
        case HKREC_MEMALIGN:
            id = new_block(r.ptr, &stale);
            emit('m', id, r.size, pow2_up(r.arg ? r.arg : 1));
            break;
        case HKREC_FREE:
            s = tab_find(r.old);
            if (!s) {
                unknown_frees++;
                break;
            }
            emit('f', s->id, 0, 0);
            id_put(s->id);
            tab_del(s);
            break;
        case HKREC_REALLOC:
            s = r.old ? tab_find(r.old) : NULL;
            if (!s) {
                if (r.old)
                    unknown_frees++; /* a block we never saw: its new self is an alloc */
                if (r.ptr) {
                    id = new_block(r.ptr, &stale);
                    emit('a', id, r.size, 0);
                }
                break;
            }
            id = s->id;
            if (!r.ptr) { /* realloc(p, 0) freed it */
                emit('f', id, 0, 0);
                id_put(id);
                tab_del(s);
                break;
            }
            emit('r', id, r.size, 0);
            if (r.ptr != r.old) {
                tab_del(s);
                slot_t *clash = tab_find(r.ptr);
                if (clash) { /* a missed free */
                    emit('f', clash->id, 0, 0);
                    id_put(clash->id);
                    tab_del(clash);
                    stale++;
                }
                tab_put(r.ptr, id);
            }
            break;
        default:
            fprintf(stderr, "hk-trace-conv: %s: bad record %lu (op %llu)\n", in, records,
                    (unsigned long long)r.op);
            fclose(f);
            return 2;
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
    free(ops);
    free(tab);
    free(free_ids);
    return 0;
}
