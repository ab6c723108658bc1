/* SPDX-License-Identifier: MIT */
/*
 * hk_stress.h - the one randomized stress rig of heapkit's tests: every
 * allocator's model test drives its allocator through this instead of a
 * loop of its own.
 *
 * The rig keeps a table of live objects with a shadow of their contents:
 * each object is filled with a pattern derived from its id (so blocks that
 * overlap, move or get scribbled on show up) and checked before it is freed
 * or reallocated. It picks operations from a fixed-seed PRNG -- allocate
 * (plain, calloc, aligned, realloc(NULL, n)), free, realloc, or the test's
 * own operation on a live object -- and drives the allocator through a small
 * table of callbacks, so one rig serves heaps, pools, slabs, rings and
 * stacks alike. Every `validate_every` operations it calls the validator
 * and the test's own check; every `stats_every` operations it compares the
 * statistics with the shadow: used + free = total, used covers the shadow's
 * bytes, the peak and low-water marks are on the right side of every use
 * the rig has seen, and (where the allocator promises them) the live block
 * count, the requested bytes, used = live x unit and the call counters.
 *
 * A run is a function of its seed: the same seed replays the same calls on
 * every target. When an operation fails a check (the rig's or one made in a
 * callback), the rig prints the run's name, its seed and the operation's
 * number, and stops the run after five failing operations.
 *
 * Freestanding like hk_test.c: no C library, no 64-bit division beyond
 * hk_rng_below's, and one static table of HK_STRESS_MAX_LIVE objects shared
 * by every run (runs do not nest).
 *
 *     hk_stress_t s;
 *     hk_stress_init(&s, &ops, &cfg, my_ctx);
 *     hk_stress_run(&s);           cfg.ops operations
 *     ... the test's own checks on s.live, s.allocs, ...
 *     hk_stress_drain(&s);         frees every live object, checks the end
 */
#ifndef HK_STRESS_H
#define HK_STRESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "heapkit/types.h"
#include "hk_test.h"

#ifndef HK_STRESS_MAX_LIVE
#define HK_STRESS_MAX_LIVE 512u
#endif

/* One live object. The rig owns p, n and id; aux is the test's own word
 * (a stack's measured depth, a request's flags). */
typedef struct {
    unsigned char *p; /* NULL: an empty slot (a hole in FIFO order) */
    size_t n;         /* bytes the shadow covers: the request       */
    size_t u;         /* usable(p) when placed (n without that op)  */
    uint32_t id;      /* seeds the pattern; unique within a run     */
    uint32_t aux;
} hk_stress_obj_t;

typedef struct hk_stress hk_stress_t;

/* The allocator under test. alloc and free are required; a NULL entry
 * leaves its operation out of the mix (or its check out of the run). Each
 * callback gets the rig, whose `ctx` is the test's and whose `rng` it may
 * draw from (deterministically), and may HK_CHECK what only it knows. */
typedef struct {
    /* Allocates *n bytes; may change *n to the size the object really has
     * (a ring keeps a 0-byte request as 1 byte). NULL: failed. */
    void *(*alloc)(hk_stress_t *s, size_t *n);
    /* Frees o->p (its pattern has been checked). */
    void (*free)(hk_stress_t *s, hk_stress_obj_t *o);
    /* realloc(p, n) with heapkit's contract: p NULL allocates, n 0 frees
     * and returns NULL, a failure returns NULL and leaves p intact. */
    void *(*realloc)(hk_stress_t *s, void *p, size_t n);
    void *(*calloc)(hk_stress_t *s, size_t m, size_t n);
    void *(*aligned)(hk_stress_t *s, size_t align, size_t n);
    size_t (*usable)(hk_stress_t *s, const void *p);
    int (*validate)(hk_stress_t *s); /* 0: sound */
    void (*stats)(hk_stress_t *s, hk_stats_t *out);
    /* The size of the next request; NULL: cfg's size_max / small_pct mix. */
    size_t (*pick_size)(hk_stress_t *s);
    /* The test's own operation on a live object (cfg.touch_pct). */
    void (*touch)(hk_stress_t *s, hk_stress_obj_t *o);
    /* The test's own invariant check, run with every validation. */
    void (*check)(hk_stress_t *s);
    /* The test's own check of the statistics, run with the rig's. */
    void (*check_stats)(hk_stress_t *s, const hk_stats_t *st);
} hk_stress_ops_t;

/* cfg.flags: what the allocator promises beyond the generic checks. */
enum {
    HK_STRESS_USABLE_EXACT = 1u << 0, /* usable(p) == the request, not just >= */
    HK_STRESS_BLOCKS = 1u << 1,       /* stats.used_blocks == live objects */
    HK_STRESS_REQUESTED = 1u << 2,    /* stats.requested == the shadow's bytes, or with
                                       * USABLE_SUM the sum of usable(p) over live objects */
    HK_STRESS_USABLE_SUM = 1u << 9,   /* usable(p) >= the request and < it + usable_slop;
                                       * it stays until the object moves or resizes */
    HK_STRESS_COUNTS = 1u << 3,       /* stats.allocs/frees/failed_allocs == the rig's */
    HK_STRESS_PEAK_EXACT = 1u << 4,   /* peak_used == the highest used seen (stats_every 1) */
    HK_STRESS_EMPTY_ZERO = 1u << 5,   /* no live object: stats.used == 0 */
    HK_STRESS_FULL_AT_MAX = 1u << 6,  /* capacity is max_live objects: alloc succeeds
                                       * below it, is tried at it and must fail */
    HK_STRESS_FAIL_NO_ROOM = 1u << 7, /* a failed plain alloc had largest_free < n */
    HK_STRESS_FIFO = 1u << 8          /* victims in allocation order (random_pct
                                       * of them anywhere in the queue) */
};

typedef struct {
    const char *name;        /* in failure messages */
    uint64_t seed;
    unsigned long ops;
    unsigned max_live;       /* table size, 1..HK_STRESS_MAX_LIVE */
    /* Which operation: with phase_len 0, allocate with probability (empty
     * slots / max_live), a steady fill; else in phases of phase_len
     * operations allocate phase_pct[i]% of the time, cycling through the
     * nphases phases (fill and drain waves). */
    unsigned phase_len, nphases;
    unsigned char phase_pct[4];
    /* Of the operations on a live object: touch_pct% touch, realloc_pct%
     * realloc (when the callbacks exist), the rest free. */
    unsigned char touch_pct, realloc_pct;
    /* Of the allocations: calloc, aligned and realloc(NULL, n) shares. */
    unsigned char calloc_pct, aligned_pct, realloc_new_pct;
    unsigned char random_pct;  /* HK_STRESS_FIFO: victims anywhere in the queue */
    unsigned char small_pct;   /* default sizes: small_pct% in [0, small_max], */
    size_t small_max;          /* the rest in [size_min, size_max] (fixed when */
    size_t size_min, size_max; /* the two are equal)                           */
    unsigned align_log2_max;   /* aligned allocations: up to 1 << this          */
    size_t align;              /* every object is aligned to this (0: 1)        */
    const void *lo, *hi;       /* hi non-NULL: every object inside [lo, hi)     */
    size_t used_unit;          /* non-zero: stats.used == live x used_unit      */
    size_t usable_slop;        /* HK_STRESS_USABLE_SUM: usable(p) < n + this    */
    unsigned validate_every, stats_every; /* 0: only at the end             */
    unsigned flags;
} hk_stress_config_t;

struct hk_stress {
    const hk_stress_ops_t *ops;
    hk_stress_config_t cfg;
    void *ctx;        /* the test's */
    hk_rng_t rng;
    hk_stress_obj_t *obj; /* the table: cfg.max_live slots */
    /* FIFO: the queue is obj[(head + i) % max_live], i < qlen (with holes);
     * otherwise obj[0 .. live) is packed. */
    unsigned head, qlen;
    unsigned live;          /* live objects */
    unsigned peak_live;
    size_t live_bytes;      /* the shadow's bytes: sum of n over live objects */
    size_t live_usable;     /* sum of u over live objects */
    unsigned long op;       /* the operation being run */
    uint32_t next_id;
    /* what the allocator must have counted (successful calls; a realloc that
     * moved is an alloc and a free, realloc(p, 0) a free) */
    uint64_t allocs, frees, failed;
    unsigned long nulls;    /* allocations and reallocs that returned NULL */
    size_t max_used, min_free; /* the extremes of stats.used / .free seen */
    unsigned long failing_ops; /* operations that failed a check */
    unsigned long first_failing_op;
    uint32_t aux_next;      /* an allocating callback may set it: the new
                             * object's aux (0 otherwise) */
};

/* Prepares a run; the table is cleared. cfg is copied. */
void hk_stress_init(hk_stress_t *s, const hk_stress_ops_t *ops, const hk_stress_config_t *cfg,
                    void *ctx);

/* Runs cfg.ops operations (fewer when five have failed), then the
 * statistics check once more. Returns true when no check failed. */
bool hk_stress_run(hk_stress_t *s);

/* Frees every live object (checking its pattern), then checks that the
 * statistics say empty as far as the flags promise, and validates. */
void hk_stress_drain(hk_stress_t *s);

/* The statistics check and the validation, now (the rig calls them every
 * stats_every / validate_every operations). */
void hk_stress_check_stats(hk_stress_t *s);
void hk_stress_validate(hk_stress_t *s);

/* The oldest live object in FIFO order (NULL: none or not FIFO). */
const hk_stress_obj_t *hk_stress_oldest(const hk_stress_t *s);

/* The shadow pattern of object id over n bytes. hk_stress_pat_bad returns
 * 0 when p holds it, else 1 + the offset of the first wrong byte. */
void hk_stress_pat_fill(void *p, uint32_t id, size_t n);
size_t hk_stress_pat_bad(const void *p, uint32_t id, size_t n);

#endif /* HK_STRESS_H */
