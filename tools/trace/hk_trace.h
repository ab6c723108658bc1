/* SPDX-License-Identifier: MIT */
/*
 * hk_trace.h - heapkit's allocation traces: the text format, its parser and
 * writer, and the replay engine every tool shares (hosted code, uses libc).
 *
 * The format is the CMU malloc-lab `.rep` layout, four header lines
 *     <suggested heap size>  <number of ids>  <number of ops>  <weight>
 * then one operation per line:
 *     a ID SIZE            allocate SIZE bytes as block ID
 *     f ID                 free block ID
 *     r ID SIZE            resize block ID (a dead ID: allocate; SIZE 0: free)
 *     m ID ALIGN SIZE      aligned allocation (heapkit extension)
 *     c ID COUNT SIZE      zeroed allocation of COUNT * SIZE (heapkit extension)
 * Blank lines and lines starting with '#' are ignored. IDs are below the
 * declared number of ids; the number of ops must match the header.
 *
 * The parser never trusts its input: every line is checked and the first
 * problem is reported as "FILE:LINE: reason". It never crashes on any bytes.
 */
#ifndef HK_TRACE_H
#define HK_TRACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    HKT_ALLOC = 'a',
    HKT_FREE = 'f',
    HKT_REALLOC = 'r',
    HKT_MEMALIGN = 'm',
    HKT_CALLOC = 'c'
} hkt_kind_t;

/* One operation. size is the requested size (for calloc the element size);
 * arg is the alignment (m) or the element count (c), 0 otherwise. */
typedef struct {
    uint8_t kind;
    uint32_t id;
    uint64_t size;
    uint64_t arg;
} hkt_op_t;

typedef struct {
    uint64_t heap_hint;  /* header line 1 */
    uint32_t nids;       /* header line 2 */
    uint32_t weight;     /* header line 4 */
    hkt_op_t *ops;
    size_t nops;
    /* Computed by the parser: */
    uint64_t peak_live;  /* highest sum of live requested bytes */
    size_t peak_op;      /* index of the op right after which peak_live holds */
    size_t n_alloc, n_free, n_realloc; /* a+m+c, f, r */
    uint64_t max_size;   /* largest single request */
} hkt_trace_t;

/* Requested bytes of an op that allocates or resizes (count * size for
 * calloc, which the parser has checked does not overflow); 0 for a free. */
uint64_t hkt_op_bytes(const hkt_op_t *op);

/* Parses text[0..len) (need not be NUL-terminated). name labels errors.
 * Returns 0 and fills *t (free with hkt_free), or -1 with "name:line: reason"
 * in err (always NUL-terminated when errlen > 0) and *t empty. */
int hkt_parse(const char *text, size_t len, const char *name, hkt_trace_t *t,
              char *err, size_t errlen);

/* Reads and parses a file; names ending in .xz are decompressed with liblzma
 * when built with HK_TRACE_LZMA=1 (the tools' build does so when it finds
 * liblzma; without it a .xz name is an error that says so).
 * Same results as hkt_parse (errors also for unreadable files). */
int hkt_load(const char *path, hkt_trace_t *t, char *err, size_t errlen);

/* Releases what hkt_parse allocated; *t becomes empty. NULL-safe. */
void hkt_free(hkt_trace_t *t);

/* Keeps only the first n ops (n <= t->nops) and recomputes the peak and
 * the counts. The trace may then end with live blocks. */
void hkt_truncate(hkt_trace_t *t, size_t n);

/* Writes t in the text format (header from t, op count = t->nops).
 * Returns 0, or -1 on a write error. */
int hkt_write(FILE *f, const hkt_trace_t *t);

/* ---- replay ---------------------------------------------------------------
 * An allocator as the replay engine sees it. Every function gets ctx first.
 * A NULL memalign/calloc is emulated (malloc + memset / not supported: the op
 * fails). validate may be NULL. */
typedef struct {
    const char *name;
    void *ctx;
    void *(*malloc_fn)(void *ctx, size_t n);
    void (*free_fn)(void *ctx, void *p);
    void *(*realloc_fn)(void *ctx, void *p, size_t n);
    void *(*calloc_fn)(void *ctx, size_t count, size_t n);
    void *(*memalign_fn)(void *ctx, size_t align, size_t n);
} hkr_alloc_t;

/* Called every `sample_every` ops (and after the last op) with the op index
 * (ops done so far) and the live requested bytes. */
typedef void (*hkr_sample_fn)(void *sctx, size_t done, uint64_t live);

typedef struct {
    bool fill;              /* pattern-fill every block, check it on free/realloc */
    bool free_leftovers;    /* free blocks still live at the end */
    size_t sample_every;    /* 0: no sampling */
    hkr_sample_fn sample;
    void (*at_peak)(void *sctx);  /* called once right after op t->peak_op */
    void (*at_start)(void *sctx); /* called after the engine's own tables are in memory */
    void (*at_end)(void *sctx);   /* called after the last op, before leftovers are freed */
    /* called every validate_every ops; a non-zero return stops the replay */
    int (*validate)(void *sctx);
    size_t validate_every;
    void *sctx;
    uint64_t *cycles_alloc; /* optional: per alloc-type call cycles (n_alloc + n_realloc) */
    uint64_t *cycles_free;  /* optional: per free call cycles (n_free) */
    size_t n_cycles_alloc, n_cycles_free; /* out: how many were stored */
    size_t max_ops;         /* 0: the whole trace; else stop after this many */
} hkr_opts_t;

typedef struct {
    bool ok;
    size_t failed_op;       /* index of the failing op when !ok */
    char why[160];
    size_t ops_done;
    size_t calls;           /* allocator calls made */
} hkr_result_t;

/* Replays t on a. Returns 0 when every op succeeded (and, with fill, every
 * block kept its contents), else -1 with r->why. Never aborts on an allocator
 * failure: a NULL result for a request stops the replay and frees nothing
 * more (the caller discards the allocator). */
int hkr_run(const hkt_trace_t *t, const hkr_alloc_t *a, hkr_opts_t *o, hkr_result_t *r);

/* Makes an allocator for a trial with an arena of `bytes` bytes; returns 0
 * or -1 (arena too small for the allocator to even start). */
typedef int (*hkr_make_fn)(void *mctx, size_t bytes, hkr_alloc_t *out);

/* Runs one trial of t in a forked child with make(bytes): 1 if the whole
 * trace succeeded (with fill), 0 if it did not (or the child crashed). */
int hkr_trial(const hkt_trace_t *t, hkr_make_fn make, void *mctx, size_t bytes);

/* The smallest arena size in [lo, hi], to `res` bytes, with which a trial
 * succeeds, assuming success is monotonic in the size. hi is doubled (up to
 * a limit) until it succeeds. Returns 0 when none was found. */
size_t hkr_min_arena(const hkt_trace_t *t, hkr_make_fn make, void *mctx, size_t lo,
                     size_t hi, size_t res);

/* Cycle counter: rdtsc on x86, a nanosecond clock elsewhere. */
uint64_t hkr_cycles(void);

/* Percentile p (0..1000 = per mille, 999 = p99.9) of v[0..n) after sorting
 * it in place; 0 when n is 0. */
uint64_t hkr_percentile(uint64_t *v, size_t n, unsigned permille);

#ifdef __cplusplus
}
#endif

#endif /* HK_TRACE_H */
