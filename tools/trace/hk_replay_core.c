/* SPDX-License-Identifier: MIT */
/*
 * hk_replay_core.c - the replay engine: runs a parsed trace against any
 * allocator given as a table of functions, with optional pattern checking,
 * sampling and per-call cycle counts; and the memory search, which finds the
 * smallest arena a trace fits in by bisection over forked trials.
 *
 * Pattern check: every block is filled with a byte derived from its id and
 * the op index that created it, and the whole block is compared on free and
 * on realloc (the kept prefix). A mismatch means two live blocks overlap or
 * the allocator wrote into a live block, and fails the trial.
 *
 * Why trials fork: a too-small arena must fail cleanly (NULL), but if an
 * allocator under test instead corrupts itself or crashes, the search must
 * still get an answer. Each child reports through its exit status only.
 */
#define _GNU_SOURCE
#include "hk_trace.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

uint64_t hkr_cycles(void)
{
#if defined(__x86_64__) || defined(__i386__)
    uint32_t lo, hi;
    __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return ((uint64_t)hi << 32) | lo;
#else
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
#endif
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

uint64_t hkr_percentile(uint64_t *v, size_t n, unsigned permille)
{
    if (n == 0)
        return 0;
    qsort(v, n, sizeof *v, cmp_u64);
    if (permille >= 1000)
        return v[n - 1];
    /* nearest rank: the smallest value with at least permille/1000 of the
     * samples at or below it */
    size_t rank = (size_t)(((uint64_t)n * permille + 999) / 1000);
    if (rank == 0)
        rank = 1;
    return v[rank - 1];
}

static uint8_t pattern_byte(uint32_t id, size_t gen)
{
    return (uint8_t)(0x5a ^ (id * 131u) ^ (uint32_t)(gen * 7u));
}

/* Returns the offset of the first byte that differs, or n. */
static size_t check_pattern(const uint8_t *p, size_t n, uint8_t b)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != b)
            return i;
    return n;
}

typedef struct {
    void *ptr;
    uint64_t size;
    uint8_t pat;
} slot_t;

static void stop(hkr_result_t *r, size_t i, const hkt_op_t *op, const char *what)
{
    r->ok = false;
    r->failed_op = i;
    snprintf(r->why, sizeof r->why, "op %zu (%c %u %llu): %s", i + 1, op->kind, op->id,
             (unsigned long long)hkt_op_bytes(op), what);
}

int hkr_run(const hkt_trace_t *t, const hkr_alloc_t *a, hkr_opts_t *o, hkr_result_t *r)
{
    memset(r, 0, sizeof *r);
    r->ok = true;
    /* The id table comes from mmap, not malloc: when the allocator under
     * test is the process malloc, the engine must not share its heap. */
    size_t slots_bytes = (t->nids ? t->nids : 1) * sizeof(slot_t);
    slot_t *slots = mmap(NULL, slots_bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                         -1, 0);
    if (slots == MAP_FAILED) {
        r->ok = false;
        snprintf(r->why, sizeof r->why, "out of memory for the id table");
        return -1;
    }
    /* Touch the id table now, so that RSS measured from at_start on counts
     * the allocator's memory only. */
    memset(slots, 0, slots_bytes);
    hkr_opts_t none = {0};
    if (!o)
        o = &none;
    if (o->cycles_alloc)
        memset(o->cycles_alloc, 0, (t->n_alloc + t->n_realloc + 1) * sizeof(uint64_t));
    if (o->cycles_free)
        memset(o->cycles_free, 0, (t->n_free + t->n_realloc + 1) * sizeof(uint64_t));
    if (o->at_start)
        o->at_start(o->sctx);
    o->n_cycles_alloc = o->n_cycles_free = 0;
    size_t n = t->nops;
    if (o->max_ops && o->max_ops < n)
        n = o->max_ops;
    uint64_t live = 0;
    for (size_t i = 0; i < n && r->ok; i++) {
        const hkt_op_t *op = &t->ops[i];
        slot_t *s = &slots[op->id];
        uint64_t bytes = hkt_op_bytes(op);
        uint64_t t0 = 0;
        void *p = NULL;
        char msg[96];
        if (op->kind == HKT_FREE || (op->kind == HKT_REALLOC && bytes == 0 && s->ptr)) {
            if (o->fill && s->size) {
                size_t bad = check_pattern(s->ptr, (size_t)s->size, s->pat);
                if (bad != s->size) {
                    snprintf(msg, sizeof msg, "block contents changed at offset %zu", bad);
                    stop(r, i, op, msg);
                    break;
                }
            }
            if (o->cycles_free)
                t0 = hkr_cycles();
            a->free_fn(a->ctx, s->ptr);
            if (o->cycles_free)
                o->cycles_free[o->n_cycles_free++] = hkr_cycles() - t0;
            r->calls++;
            live -= s->size;
            s->ptr = NULL;
            s->size = 0;
        } else if (op->kind == HKT_REALLOC && bytes == 0) {
            /* resize of a dead id to 0: nothing to do */
        } else {
            if (o->cycles_alloc)
                t0 = hkr_cycles();
            switch (op->kind) {
            case HKT_REALLOC:
                if (o->fill && s->ptr) {
                    size_t bad = check_pattern(s->ptr, (size_t)s->size, s->pat);
                    if (bad != s->size) {
                        snprintf(msg, sizeof msg, "block contents changed at offset %zu", bad);
                        stop(r, i, op, msg);
                        continue;
                    }
                    t0 = o->cycles_alloc ? hkr_cycles() : 0;
                }
                p = a->realloc_fn(a->ctx, s->ptr, (size_t)bytes);
                break;
            case HKT_CALLOC:
                if (a->calloc_fn) {
                    p = a->calloc_fn(a->ctx, (size_t)op->arg, (size_t)op->size);
                } else {
                    p = a->malloc_fn(a->ctx, (size_t)bytes);
                    if (p)
                        memset(p, 0, (size_t)bytes);
                }
                break;
            case HKT_MEMALIGN:
                p = a->memalign_fn ? a->memalign_fn(a->ctx, (size_t)op->arg, (size_t)op->size)
                                   : NULL;
                break;
            default:
                p = a->malloc_fn(a->ctx, (size_t)bytes);
                break;
            }
            if (o->cycles_alloc)
                o->cycles_alloc[o->n_cycles_alloc++] = hkr_cycles() - t0;
            r->calls++;
            if (!p) {
                stop(r, i, op, "allocation failed (NULL)");
                break;
            }
            if (op->kind == HKT_MEMALIGN && ((uintptr_t)p & (uintptr_t)(op->arg - 1)) != 0) {
                stop(r, i, op, "pointer not aligned as asked");
                break;
            }
            if (op->kind == HKT_CALLOC && o->fill &&
                check_pattern(p, (size_t)bytes, 0) != bytes) {
                stop(r, i, op, "calloc memory not zeroed");
                break;
            }
            if (op->kind == HKT_REALLOC && o->fill && s->ptr) {
                size_t keep = (size_t)(s->size < bytes ? s->size : bytes);
                size_t bad = check_pattern(p, keep, s->pat);
                if (bad != keep) {
                    snprintf(msg, sizeof msg, "realloc lost contents at offset %zu", bad);
                    stop(r, i, op, msg);
                    break;
                }
            }
            live -= s->size;
            s->ptr = p;
            s->size = bytes;
            s->pat = pattern_byte(op->id, i);
            live += bytes;
            if (o->fill)
                memset(p, s->pat, (size_t)bytes);
        }
        r->ops_done = i + 1;
        if (o->at_peak && i == t->peak_op)
            o->at_peak(o->sctx);
        if (o->sample && o->sample_every && (i + 1) % o->sample_every == 0)
            o->sample(o->sctx, i + 1, live);
        if (o->validate && o->validate_every && (i + 1) % o->validate_every == 0 &&
            o->validate(o->sctx) != 0)
            stop(r, i, op, "validation failed after this op");
    }
    if (r->ok && o->sample && o->sample_every && n % o->sample_every != 0)
        o->sample(o->sctx, n, live);
    if (r->ok && o->at_end)
        o->at_end(o->sctx);
    if (r->ok && o->free_leftovers) {
        for (uint32_t id = 0; id < t->nids; id++) {
            if (slots[id].ptr) {
                a->free_fn(a->ctx, slots[id].ptr);
                slots[id].ptr = NULL;
            }
        }
    }
    munmap(slots, slots_bytes);
    return r->ok ? 0 : -1;
}

int hkr_trial(const hkt_trace_t *t, hkr_make_fn make, void *mctx, size_t bytes)
{
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0)
        return 0;
    if (pid == 0) {
        hkr_alloc_t a;
        if (make(mctx, bytes, &a) != 0)
            _exit(1);
        hkr_opts_t o = {0};
        o.fill = true;
        o.free_leftovers = true;
        hkr_result_t r;
        _exit(hkr_run(t, &a, &o, &r) == 0 ? 0 : 1);
    }
    int st;
    while (waitpid(pid, &st, 0) < 0) {
    }
    return WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

size_t hkr_min_arena(const hkt_trace_t *t, hkr_make_fn make, void *mctx, size_t lo, size_t hi,
                     size_t res)
{
    if (res == 0)
        res = 1;
    if (hi < lo)
        hi = lo;
    /* Grow hi until a trial succeeds: up to 1024x the start, and at least
     * up to 1 GiB (the arenas are mapped with MAP_NORESERVE). */
    size_t limit = hi > SIZE_MAX / 1024 ? SIZE_MAX / 2 : hi * 1024;
    if (limit < ((size_t)1 << 30))
        limit = (size_t)1 << 30;
    bool lo_fails = false;
    while (!hkr_trial(t, make, mctx, hi)) {
        if (hi >= limit)
            return 0;
        lo = hi;
        lo_fails = true;
        hi = hi > limit / 2 ? limit : hi * 2;
    }
    if (!lo_fails && lo < hi && hkr_trial(t, make, mctx, lo))
        return lo;
    /* Invariant: hi succeeds, lo fails. */
    while (hi - lo > res) {
        size_t mid = lo + (hi - lo) / 2;
        mid -= mid % res;
        if (mid <= lo)
            mid = lo + res;
        if (mid >= hi)
            break;
        if (hkr_trial(t, make, mctx, mid))
            hi = mid;
        else
            lo = mid;
    }
    return hi;
}
