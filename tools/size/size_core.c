/* SPDX-License-Identifier: MIT */
/*
 * size_core.c - the measuring half of hk-size, built once per configuration
 * (word size, HK_ALIGN, HK_TLSF_SLI) against a heapkit compiled with those
 * settings, because they are compile-time constants of the heap. HK_TLSF_SLI
 * is the largest second-level index of the build; HK_TLSF_SLI_MIN keeps its
 * default, so a 32-bit core's heaps choose their own below it from their
 * size at init (a 32 KiB heap has 2 classes per power of two whatever the
 * setting), exactly as the target's build does. The driver (hk_size.c) runs
 * every core it was built with and merges their reports.
 *
 *     hk-size-core-<config> TRACE.rep
 *
 * For each fit policy it prints, as key=value lines the driver parses:
 *   smallest   the smallest arena (to HK_ALIGN bytes, the heap's granule) in
 *              which the whole trace succeeds with every block pattern-
 *              checked: hk-replay's memory bisection over forked trials,
 *              then, for traces small enough, every size below it tried
 *              (see measure: success is not monotonic in the size);
 *   recommended  smallest + margin rounded up to 256 bytes, proven by a
 *              trial (raised by granules until one succeeds);
 *   control    the control-structure bytes hk_heap_overhead reports for it;
 *   min_free   the fewest free bytes after any op of a replay in that
 *              smallest arena (looked at after every op): what fragmentation
 *              cost the run, from which the driver derives its margin;
 *   stranded   the most free bytes outside the largest free block at any op
 *              of that replay (for the JSON report);
 *   tight_op   the op after which the free bytes were lowest, and the block
 *              list at that point (offsets from the arena's start), for the
 *              heap map.
 * The arenas are placed so that they end on a page boundary, exactly as on
 * the Cortex-M test image, so address-dependent choices (aligned
 * allocations) are the same on both.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "heapkit/config.h"
#include "heapkit/heap.h"
#include "hk_trace.h"

#ifndef HK_SIZE_CONFIG
#define HK_SIZE_CONFIG "native"
#endif

typedef struct {
    void *map;
    size_t map_bytes;
    hk_heap_t *h;
    uintptr_t base;
} arena_t;

static void *w_malloc(void *ctx, size_t n) { return hk_heap_alloc(ctx, n); }
static void w_free(void *ctx, void *p) { hk_heap_free(ctx, p); }
static void *w_realloc(void *ctx, void *p, size_t n) { return hk_heap_realloc(ctx, p, n); }
static void *w_calloc(void *ctx, size_t c, size_t n) { return hk_heap_calloc(ctx, c, n); }
static void *w_memalign(void *ctx, size_t al, size_t n) { return hk_heap_aligned_alloc(ctx, al, n); }

static int arena_open(arena_t *a, hk_fit_t fit, size_t bytes, hkr_alloc_t *out)
{
    memset(a, 0, sizeof *a);
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    size_t map = (bytes + page - 1) / page * page;
    if (map == 0)
        map = page;
    void *m = mmap(NULL, map, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
                   -1, 0);
    if (m == MAP_FAILED)
        return -1;
    hk_heap_config_t cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.fit = fit;
    a->base = (uintptr_t)m + (map - bytes);
    a->h = hk_heap_init((void *)a->base, bytes, &cfg);
    if (!a->h) {
        munmap(m, map);
        return -1;
    }
    a->map = m;
    a->map_bytes = map;
    memset(out, 0, sizeof *out);
    out->ctx = a->h;
    out->malloc_fn = w_malloc;
    out->free_fn = w_free;
    out->realloc_fn = w_realloc;
    out->calloc_fn = w_calloc;
    out->memalign_fn = w_memalign;
    return 0;
}

static void arena_close(arena_t *a)
{
    if (a->map)
        munmap(a->map, a->map_bytes);
    memset(a, 0, sizeof *a);
}

static int make(void *mctx, size_t bytes, hkr_alloc_t *out)
{
    arena_t a; /* lives until the trial's child exits */
    return arena_open(&a, *(const hk_fit_t *)mctx, bytes, out);
}

/* The heap reports nothing during a trial that fails by running out of
 * memory; anything it does report is printed. */
static void on_error(int code, const void *ptr, const char *reason, void *ctx)
{
    (void)ctx;
    fprintf(stderr, "hk-size-core: heapkit reported %s at %p: %s\n", hk_strerror(code), ptr,
            reason ? reason : "");
}

typedef struct {
    hk_heap_t *h;
    size_t stranded, stranded_op;
    size_t min_free, tight_op;
    size_t sample_every;
} watch_t;

static void watch_sample(void *sctx, size_t done, uint64_t live)
{
    (void)live;
    watch_t *w = sctx;
    hk_stats_t st;
    hk_heap_get_stats(w->h, &st);
    size_t s = st.free - st.largest_free;
    if (s > w->stranded) {
        w->stranded = s;
        w->stranded_op = done;
    }
    if (st.free < w->min_free) {
        w->min_free = st.free;
        w->tight_op = done;
    }
}

typedef struct {
    uintptr_t base;
    int n;
} walk_ctx_t;

static void on_block(void *ptr, size_t size, bool used, void *ctx)
{
    walk_ctx_t *w = ctx;
    if (w->n++ < 100000)
        printf("block %zu %zu %d\n", (size_t)((uintptr_t)ptr - w->base), size, used ? 1 : 0);
}

static hk_heap_t *walk_heap;
static uintptr_t walk_base;
static void walk_at_end(void *sctx)
{
    (void)sctx;
    walk_ctx_t w = {walk_base, 0};
    hk_heap_walk(walk_heap, on_block, &w);
}

static const char *const fit_names[3] = {"tlsf", "first", "best"};
#define REC_ROUND 256u

/* Heap success is not monotonic in the heap's size: TLSF's class table
 * grows with the region, and every size places blocks at other addresses,
 * so a heap can fit a trace in N bytes and fail in N + 1000 (seen on real
 * traces). The bisection (hk-replay's) therefore finds *a* size that works
 * with one granule less failing, not always the smallest. When the trace is
 * small enough (scan_budget: trials x ops), every size from a lower bound up
 * is tried, and the first that works is the true minimum. */
static size_t scan_budget = 20000000;

static int measure(const hkt_trace_t *t, hk_fit_t fit)
{
    const size_t g = HK_ALIGN;
    hk_heap_config_t cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.fit = fit;
    /* no heap holds the trace in less than its peak live bytes plus a
     * control structure (which only grows with the size) */
    size_t lo = (size_t)t->peak_live + hk_heap_overhead((size_t)t->peak_live, &cfg);
    if (lo < hk_heap_min_size())
        lo = hk_heap_min_size();
    lo -= lo % g;
    size_t hi = lo + lo / 4 + 4096;
    hi += (g - hi % g) % g;
    size_t smallest = hkr_min_arena(t, make, &fit, lo, hi, g);
    printf("policy %s\n", fit_names[fit]);
    if (!smallest) {
        printf("smallest 0\n");
        return -1;
    }
    size_t bisected = smallest;
    int exact = 0;
    if ((smallest - lo) / g * (t->nops ? t->nops : 1) <= scan_budget) {
        for (size_t s = lo; s < smallest; s += g)
            if (hkr_trial(t, make, &fit, s)) {
                smallest = s;
                break;
            }
        exact = 1;
    }
    /* smallest - g fails: by the scan, or by the bisection; a trial agrees */
    int below_fails = smallest < g + hk_heap_min_size() || !hkr_trial(t, make, &fit, smallest - g);
    printf("smallest %zu\nbisected %zu\nexact %d\nbelow_fails %d\ncontrol %zu\n", smallest,
           bisected, exact, below_fails, hk_heap_overhead(smallest, &cfg));
    /* watch the run in the smallest arena */
    arena_t a;
    hkr_alloc_t al;
    if (arena_open(&a, fit, smallest, &al) != 0)
        return -1;
    watch_t w = {a.h, 0, 0, SIZE_MAX, 0, 1};
    hkr_opts_t o;
    memset(&o, 0, sizeof o);
    o.fill = true;
    o.sample = watch_sample;
    o.sample_every = t->nops > 2000000 ? t->nops / 2000000 : 1;
    o.sctx = &w;
    hkr_result_t r;
    int rc = hkr_run(t, &al, &o, &r);
    arena_close(&a);
    if (rc != 0) {
        printf("error %s\n", r.why);
        return -1;
    }
    printf("stranded %zu\nstranded_op %zu\nmin_free %zu\ntight_op %zu\n", w.stranded,
           w.stranded_op, w.min_free, w.tight_op);
    /* the recommendation: smallest + the slack this run needed, rounded up
     * to 256 bytes; then proven by a trial, and raised granule by granule
     * until one succeeds (success is not monotonic, see above) */
    size_t margin = (w.min_free + g - 1) / g * g;
    size_t rec = (smallest + margin + REC_ROUND - 1) / REC_ROUND * REC_ROUND;
    unsigned raised = 0;
    while (!hkr_trial(t, make, &fit, rec) && raised < 4096) {
        rec += g;
        raised++;
    }
    printf("margin %zu\nrecommended %zu\nraised %u\n", margin, rec, raised);
    /* the heap map at the tightest point: replay up to it and walk */
    if (arena_open(&a, fit, smallest, &al) != 0)
        return -1;
    memset(&o, 0, sizeof o);
    o.max_ops = w.tight_op;
    o.at_end = walk_at_end;
    walk_heap = a.h;
    walk_base = a.base;
    rc = hkr_run(t, &al, &o, &r);
    arena_close(&a);
    printf("end\n");
    return rc;
}

int main(int argc, char **argv)
{
    if (argc != 2 && argc != 3) {
        fprintf(stderr, "usage: hk-size-core-%s TRACE.rep [SCAN-BUDGET] (run by hk-size)\n",
                HK_SIZE_CONFIG);
        return 2;
    }
    if (argc == 3)
        scan_budget = (size_t)strtoull(argv[2], NULL, 10);
    hk_set_error_hook(on_error, NULL);
    hkt_trace_t t;
    char err[300];
    if (hkt_load(argv[1], &t, err, sizeof err) != 0) {
        fprintf(stderr, "hk-size-core: %s\n", err);
        return 2;
    }
    printf("config %s\nword %zu\nalign %u\nsli %u\ngranule %u\nmin_heap %zu\n", HK_SIZE_CONFIG,
           sizeof(void *), (unsigned)HK_ALIGN, (unsigned)HK_TLSF_SLI, (unsigned)HK_ALIGN,
           hk_heap_min_size());
    int status = 0;
    for (int f = 0; f < 3; f++) {
        fflush(stdout);
        if (measure(&t, (hk_fit_t)f) != 0)
            status = 1;
    }
    hkt_free(&t);
    return status;
}
