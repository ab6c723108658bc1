/* SPDX-License-Identifier: MIT */
/*
 * hk_replay.c - hk-replay: replays allocation traces on heapkit's policies and
 * on the system allocators, and reports memory efficiency, instructions per
 * operation, worst-case instructions per call, cycle percentiles,
 * fragmentation over time and heap maps.
 *
 * How each figure is obtained (see docs/tools.md for the long form):
 *   memory   heapkit: the smallest arena in which the whole trace succeeds
 *            with every block pattern-checked, by bisection over forked
 *            trials, divided by the trace's peak live requested bytes.
 *            System allocators: peak RSS growth during the replay (VmHWM
 *            after /proc/self/clear_refs) divided by the same peak.
 *   instr    callgrind with --toggle-collect on the hkw_* wrappers
 *            (adapters.c): the instructions inside allocator calls divided
 *            by the number of calls.
 *   worst    callgrind dumping after every wrapper (--dump-after), so each
 *            dump holds exactly one call; the maximum per call kind.
 *   cycles   rdtsc around every call in one plain run; noisy on a VM.
 * System allocators run in a worker copy of hk-replay started with
 * LD_PRELOAD (see replay.h); so do all callgrind measurements.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "replay.h"

typedef struct {
    const char *trace;
    const char *alloc;
    bool is_heap;
    bool ok;
    bool skipped;
    char why[200];
    size_t ops, calls;
    uint64_t peak_live;
    /* memory */
    size_t min_arena;      /* heap, --mem */
    size_t overhead;       /* heap: control structure bytes in the run's arena */
    uint64_t rss_delta;    /* system */
    double mem_ratio;      /* min_arena or rss_delta over peak_live; 0 = not measured */
    /* instructions */
    double instr_per_op;   /* 0 = not measured */
    uint64_t worst_malloc, worst_free, worst_realloc;
    bool have_worst;
    /* cycles: p50, p99, p99.9, max */
    uint64_t cm[4], cf[4];
    bool have_cycles;
    /* heap checks */
    int validate_rc;
    bool one_free_block;
    double frag_max, frag_end;
} row_t;

static struct {
    const char *allocs;
    bool mem, instr, worst, cycles, json, csv, quiet, brief;
    size_t mem_res, prefix, validate_every;
    const char *frag_path, *maps_dir;
    const char *worker; /* internal: run one allocator plainly and print key=value */
    bool worker_rss;
    const char *valgrind;
} opt = {"tlsf,first,best,glibc", false, false, false, true, false, false, false, false,
         8, 0, 0, NULL, NULL, NULL, false, "valgrind"};

static FILE *frag_out;
static char self_exe[PATH_MAX];

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "hk-replay: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    exit(2);
}

/* ---- heapkit's error hook: every report is a failed run ----------------- */
static unsigned long n_hk_errors;
static void on_hk_error(int code, const void *ptr, const char *reason, void *ctx)
{
    (void)ctx;
    if (n_hk_errors++ < 5)
        fprintf(stderr, "hk-replay: heapkit reported %s at %p: %s\n", hk_strerror(code), ptr,
                reason ? reason : "");
}

/* ---- one heapkit run: cycles, validate, fragmentation, maps ------------- */
/* One point of the fragmentation curve. */
typedef struct {
    size_t done;
    uint64_t live;
    size_t used, free, largest;
    double frag;
} fragpt_t;

typedef struct {
    const hkt_trace_t *t;
    const char *trace_name;
    rp_heap_t *rh;
    row_t *row;
    rp_blocks_t snaps[3]; /* at peak live bytes, at the end, most fragmented op */
    bool progress;
    /* the curve: every `grid` ops, plus the op right after the peak and the
     * most fragmented op (the heap is looked at after every op) */
    size_t grid;
    fragpt_t *pts;
    size_t npts, cap;
    fragpt_t worst;
} heaprun_t;

static void frag_push(heaprun_t *hr, const fragpt_t *p)
{
    if (hr->npts == hr->cap) {
        size_t nc = hr->cap ? hr->cap * 2 : 256;
        fragpt_t *nv = realloc(hr->pts, nc * sizeof *nv);
        if (!nv)
            return; /* the curve is then thinner; nothing else depends on it */
        hr->pts = nv;
        hr->cap = nc;
    }
    hr->pts[hr->npts++] = *p;
}

static int frag_cmp(const void *a, const void *b)
{
    size_t x = ((const fragpt_t *)a)->done, y = ((const fragpt_t *)b)->done;
    return (x > y) - (x < y);
}

static void heap_sample(void *sctx, size_t done, uint64_t live)
{
    heaprun_t *hr = sctx;
    hk_stats_t st;
    hk_heap_get_stats(hr->rh->h, &st);
    double frag = st.free ? 1.0 - (double)st.largest_free / (double)st.free : 0.0;
    fragpt_t pt = {done, live, st.used, st.free, st.largest_free, frag};
    bool on_grid = done % hr->grid == 0 || done == hr->t->nops;
    if (frag > hr->row->frag_max) {
        hr->row->frag_max = frag;
        hr->worst = pt;
    }
    hr->row->frag_end = frag;
    if (frag_out && (on_grid || done == hr->t->peak_op + 1))
        frag_push(hr, &pt);
    if (hr->progress && on_grid) {
        int pct = (int)(100.0 * (double)done / (double)hr->t->nops);
        int bar = pct / 4;
        fprintf(stderr, "\r  %-18.18s %-8s [%.*s%*s] %3d%%", hr->trace_name, hr->row->alloc,
                bar, "#########################", 25 - bar, "", pct);
        if (done == hr->t->nops)
            fprintf(stderr, "\r%*s\r", 70, "");
    }
}

/* Writes the curve, with the most fragmented point, in op order. */
static void frag_flush(heaprun_t *hr)
{
    if (!frag_out)
        return;
    if (hr->worst.done) {
        bool have = false;
        for (size_t i = 0; i < hr->npts; i++)
            have |= hr->pts[i].done == hr->worst.done;
        if (!have)
            frag_push(hr, &hr->worst);
    }
    qsort(hr->pts, hr->npts, sizeof *hr->pts, frag_cmp);
    for (size_t i = 0; i < hr->npts; i++) {
        const fragpt_t *p = &hr->pts[i];
        fprintf(frag_out, "%s,%s,%zu,%llu,%zu,%zu,%zu,%.5f\n", hr->trace_name, hr->row->alloc,
                p->done, (unsigned long long)p->live, p->used, p->free, p->largest, p->frag);
    }
}

static rp_blocks_t *frag_snap;
static hk_heap_t *frag_snap_heap;
static void heap_at_worst(void *sctx)
{
    (void)sctx;
    rp_blocks_collect(frag_snap_heap, frag_snap);
}

static void heap_at_peak(void *sctx)
{
    heaprun_t *hr = sctx;
    if (opt.maps_dir)
        rp_blocks_collect(hr->rh->h, &hr->snaps[0]);
}

static void heap_at_end(void *sctx)
{
    heaprun_t *hr = sctx;
    if (opt.maps_dir)
        rp_blocks_collect(hr->rh->h, &hr->snaps[1]);
}

static int heap_validate(void *sctx)
{
    heaprun_t *hr = sctx;
    return hk_heap_validate(hr->rh->h);
}

static const char *base_name(const char *path)
{
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

/* "real-sqlite3.rep.xz" -> "real-sqlite3" */
static void trace_label(const char *path, char *out, size_t n)
{
    snprintf(out, n, "%s", base_name(path));
    char *d = strstr(out, ".rep");
    if (d)
        *d = 0;
}

static void fill_cycles(uint64_t out[4], uint64_t *v, size_t n)
{
    static const unsigned pm[3] = {500, 990, 999};
    for (int i = 0; i < 3; i++)
        out[i] = hkr_percentile(v, n, pm[i]);
    out[3] = hkr_percentile(v, n, 1000);
}

static void run_heap(const hkt_trace_t *t, const char *label, const rp_allocdef_t *ad, row_t *row)
{
    hk_fit_t fit = ad->fit;
    if (opt.mem) {
        size_t lo = (size_t)t->peak_live;
        if (lo < hk_heap_min_size())
            lo = hk_heap_min_size();
        size_t hi = lo + lo / 4 + 4096;
        row->min_arena = hkr_min_arena(t, rp_heap_make, &fit, lo, hi, opt.mem_res);
        if (row->min_arena && t->peak_live)
            row->mem_ratio = (double)row->min_arena / (double)t->peak_live;
        if (!row->min_arena) {
            row->ok = false;
            snprintf(row->why, sizeof row->why, "no arena up to 1024x the peak fits the trace");
        }
    }
    /* The main run: the tight arena when it is known (the maps and the
     * fragmentation curve then show the heap under pressure), else ample. */
    size_t arena = row->min_arena ? row->min_arena
                                  : (size_t)t->peak_live * 2 + hk_heap_min_size() + 65536;
    rp_heap_t rh;
    hkr_alloc_t a;
    if (rp_heap_open(&rh, fit, arena, &a) != 0) {
        row->ok = false;
        snprintf(row->why, sizeof row->why, "hk_heap_init failed on %zu bytes", arena);
        return;
    }
    hk_heap_config_t cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.fit = fit;
    row->overhead = hk_heap_overhead(arena, &cfg);
    heaprun_t hr;
    memset(&hr, 0, sizeof hr);
    hr.t = t;
    hr.trace_name = label;
    hr.rh = &rh;
    hr.row = row;
    hr.progress = !opt.quiet && isatty(2) && t->nops >= 200000;
    hkr_opts_t o;
    memset(&o, 0, sizeof o);
    o.free_leftovers = true;
    o.fill = true; /* as the system allocators' runs do */
    o.sample = heap_sample;
    o.sample_every = 1;
    hr.grid = t->nops >= 200 ? t->nops / 200 : 1;
    o.at_peak = heap_at_peak;
    o.at_end = heap_at_end;
    o.sctx = &hr;
    if (opt.validate_every) {
        o.validate = heap_validate;
        o.validate_every = opt.validate_every;
    }
    uint64_t *ca = NULL, *cf = NULL;
    if (opt.cycles) {
        ca = calloc(t->n_alloc + t->n_realloc + 1, sizeof *ca);
        cf = calloc(t->n_free + t->n_realloc + 1, sizeof *cf);
        o.cycles_alloc = ca;
        o.cycles_free = cf;
        if (!ca || !cf)
            o.cycles_alloc = o.cycles_free = NULL;
    }
    unsigned long errs0 = n_hk_errors;
    hkr_result_t r;
    hkr_run(t, &a, &o, &r);
    row->calls = r.calls;
    if (!r.ok) {
        row->ok = false;
        snprintf(row->why, sizeof row->why, "%s (arena %zu bytes)", r.why, arena);
    }
    if (o.cycles_alloc) {
        fill_cycles(row->cm, ca, o.n_cycles_alloc);
        fill_cycles(row->cf, cf, o.n_cycles_free);
        row->have_cycles = true;
    }
    free(ca);
    free(cf);
    row->validate_rc = hk_heap_validate(rh.h);
    hk_stats_t st;
    hk_heap_get_stats(rh.h, &st);
    row->one_free_block = r.ok && st.used_blocks == 0 && st.free_blocks == 1;
    if (row->ok && row->validate_rc != 0) {
        row->ok = false;
        snprintf(row->why, sizeof row->why, "hk_heap_validate failed at the end (%s)",
                 hk_strerror(row->validate_rc));
    } else if (row->ok && !row->one_free_block) {
        row->ok = false;
        snprintf(row->why, sizeof row->why,
                 "after freeing everything: %zu used and %zu free blocks, expected 0 and 1",
                 st.used_blocks, st.free_blocks);
    } else if (row->ok && n_hk_errors != errs0) {
        row->ok = false;
        snprintf(row->why, sizeof row->why, "heapkit reported %lu errors",
                 n_hk_errors - errs0);
    }
    frag_flush(&hr);
    free(hr.pts);
    /* the most fragmented point's map: the same arena, replayed up to it */
    if (opt.maps_dir && r.ok && hr.worst.done) {
        rp_heap_t wh;
        hkr_alloc_t wa;
        if (rp_heap_open(&wh, fit, arena, &wa) == 0) {
            hkr_opts_t wo;
            memset(&wo, 0, sizeof wo);
            wo.max_ops = hr.worst.done;
            wo.at_end = heap_at_worst;
            frag_snap = &hr.snaps[2];
            frag_snap_heap = wh.h;
            hkr_result_t wr;
            hkr_run(t, &wa, &wo, &wr);
            /* rebase the blocks onto the main run's arena for the picture */
            uintptr_t from = (uintptr_t)wh.mem, to = (uintptr_t)rh.mem;
            for (size_t k = 0; k < hr.snaps[2].n; k++)
                hr.snaps[2].v[k].ptr = hr.snaps[2].v[k].ptr - from + to;
            rp_heap_close(&wh);
        }
    }
    if (opt.maps_dir && r.ok) {
        char path[PATH_MAX], title[256];
        snprintf(path, sizeof path, "%s/heapmap-%s-%s.svg", opt.maps_dir, label, ad->name);
        snprintf(title, sizeof title,
                 "heapkit %s policy, trace %s, arena %zu bytes (peak live %llu requested)",
                 ad->name, label, arena, (unsigned long long)t->peak_live);
        char frag_label[96];
        snprintf(frag_label, sizeof frag_label,
                 "most fragmented, after op %zu (1 - largest/free %.2f)", hr.worst.done,
                 row->frag_max);
        const char *labels[3] = {"at peak live bytes", frag_label, "at the end of the trace"};
        rp_blocks_t order[3] = {hr.snaps[0], hr.snaps[2], hr.snaps[1]};
        size_t nsnaps = 3;
        if (hr.snaps[2].n == 0) { /* never fragmented: peak and end only */
            order[1] = hr.snaps[1];
            labels[1] = labels[2];
            nsnaps = 2;
        }
        uintptr_t base = (uintptr_t)rh.mem + (rh.map_bytes - rh.bytes);
        if (rp_svg_write(path, title, base, arena, order, labels, nsnaps) != 0)
            fprintf(stderr, "hk-replay: cannot write %s\n", path);
    }
    for (int k = 0; k < 3; k++)
        rp_blocks_free(&hr.snaps[k]);
    rp_heap_close(&rh);
}

/* ---- workers -------------------------------------------------------------- */
/* Runs argv (NULL-terminated) with an optional LD_PRELOAD, collecting its
 * stdout into buf. Returns the exit status, or -1. */
static int spawn(char *const argv[], const char *preload, char *buf, size_t n)
{
    int fds[2];
    if (pipe(fds) != 0)
        return -1;
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        close(fds[0]);
        dup2(fds[1], 1);
        if (preload)
            setenv("LD_PRELOAD", preload, 1);
        else
            unsetenv("LD_PRELOAD");
        execvp(argv[0], argv);
        fprintf(stderr, "hk-replay: cannot run %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    close(fds[1]);
    size_t len = 0;
    for (;;) {
        ssize_t got = read(fds[0], buf + len, n - 1 - len);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            break;
        len += (size_t)got;
        if (len == n - 1) {
            char sink[256];
            while (read(fds[0], sink, sizeof sink) > 0) {
            }
            break;
        }
    }
    buf[len] = 0;
    close(fds[0]);
    int st;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
    }
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static const char *kv(const char *buf, const char *key)
{
    size_t k = strlen(key);
    for (const char *p = buf; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
        if (strncmp(p, key, k) == 0 && p[k] == '=')
            return p + k + 1;
    return NULL;
}

static uint64_t kv_u64(const char *buf, const char *key)
{
    const char *v = kv(buf, key);
    return v ? strtoull(v, NULL, 10) : 0;
}

static void kv_4(const char *buf, const char *key, uint64_t out[4])
{
    const char *v = kv(buf, key);
    for (int i = 0; i < 4; i++) {
        out[i] = v ? strtoull(v, (char **)&v, 10) : 0;
        if (v && *v == ',')
            v++;
    }
}

/* ---- the pre-parsed trace a worker maps -----------------------------------
 * The parent parses once and writes the ops to a temporary file; a worker
 * maps it, so the worker's process malloc (the allocator under test) serves
 * the replay and nothing else - no parse buffers to recycle or count. */
typedef struct {
    char magic[8];
    uint64_t nids, nops, peak_live, peak_op, n_alloc, n_free, n_realloc, max_size;
} binhdr_t;

static int save_bin(const hkt_trace_t *t, char *path, size_t n)
{
    snprintf(path, n, "/tmp/hk-replay-trace-XXXXXX");
    int fd = mkstemp(path);
    if (fd < 0)
        return -1;
    binhdr_t h = {"HKOPS01", t->nids, t->nops, t->peak_live, t->peak_op, t->n_alloc,
                  t->n_free, t->n_realloc, t->max_size};
    FILE *f = fdopen(fd, "wb");
    if (!f || fwrite(&h, sizeof h, 1, f) != 1 ||
        (t->nops && fwrite(t->ops, sizeof *t->ops, t->nops, f) != t->nops)) {
        if (f)
            fclose(f);
        unlink(path);
        return -1;
    }
    return fclose(f) == 0 ? 0 : -1;
}

static int map_bin(const char *path, hkt_trace_t *t)
{
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return -1;
    struct stat st;
    if (fstat(fd, &st) != 0 || (size_t)st.st_size < sizeof(binhdr_t)) {
        close(fd);
        return -1;
    }
    void *m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
    close(fd);
    if (m == MAP_FAILED)
        return -1;
    const binhdr_t *h = m;
    if (memcmp(h->magic, "HKOPS01", 8) != 0 ||
        sizeof *h + h->nops * sizeof(hkt_op_t) > (size_t)st.st_size)
        return -1;
    memset(t, 0, sizeof *t);
    t->nids = (uint32_t)h->nids;
    t->nops = (size_t)h->nops;
    t->peak_live = h->peak_live;
    t->peak_op = (size_t)h->peak_op;
    t->n_alloc = (size_t)h->n_alloc;
    t->n_free = (size_t)h->n_free;
    t->n_realloc = (size_t)h->n_realloc;
    t->max_size = h->max_size;
    t->ops = (hkt_op_t *)(void *)((char *)m + sizeof *h);
    return 0;
}

static void *map_zeroed(size_t bytes)
{
    void *m = mmap(NULL, bytes ? bytes : 1, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return m == MAP_FAILED ? NULL : m;
}

/* Resets the peak RSS (VmHWM) and notes the current RSS. */
static long rss_base_kb;
static void rss_start(void *sctx)
{
    (void)sctx;
    int fd = open("/proc/self/clear_refs", O_WRONLY);
    if (fd >= 0) {
        if (write(fd, "5", 1) != 1)
            fprintf(stderr, "hk-replay: cannot reset the peak RSS\n");
        close(fd);
    }
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, "VmRSS:", 6) == 0)
            rss_base_kb = strtol(line + 6, NULL, 10);
    if (f)
        fclose(f);
}

/* The worker: one plain replay of one allocator, results as key=value. */
static int worker_main(const char *path)
{
    const rp_allocdef_t *ad = rp_find_alloc(opt.worker);
    if (!ad)
        die("unknown allocator %s", opt.worker);
    hkt_trace_t t;
    if (map_bin(path, &t) != 0)
        die("%s: not a pre-parsed trace", path);
    hkr_alloc_t a;
    rp_heap_t rh;
    if (ad->is_heap) {
        if (rp_heap_open(&rh, ad->fit, (size_t)t.peak_live * 2 + (1u << 20), &a) != 0)
            die("hk_heap_init failed");
    } else {
        rp_sys_alloc(&a, ad->name);
    }
    hkr_opts_t o;
    memset(&o, 0, sizeof o);
    o.free_leftovers = true;
    /* Touch the memory like a program would (RSS counts touched pages only);
     * the fill happens outside the timed and the counted regions. */
    o.fill = opt.worker_rss;
    uint64_t *ca = NULL, *cf = NULL;
    if (opt.cycles) {
        ca = map_zeroed((t.n_alloc + t.n_realloc + 1) * sizeof *ca);
        cf = map_zeroed((t.n_free + t.n_realloc + 1) * sizeof *cf);
        o.cycles_alloc = ca;
        o.cycles_free = cf;
    }
    if (opt.worker_rss)
        o.at_start = rss_start;
    hkr_result_t r;
    hkr_run(&t, &a, &o, &r);
    long hwm_kb = 0;
    if (opt.worker_rss) {
        FILE *f = fopen("/proc/self/status", "r");
        char line[256];
        while (f && fgets(line, sizeof line, f))
            if (strncmp(line, "VmHWM:", 6) == 0)
                hwm_kb = strtol(line + 6, NULL, 10);
        if (f)
            fclose(f);
    }
    printf("ok=%d\ncalls=%zu\nops=%zu\npeak=%llu\n", r.ok ? 1 : 0, r.calls, r.ops_done,
           (unsigned long long)t.peak_live);
    if (!r.ok)
        printf("why=%s\n", r.why);
    if (opt.worker_rss)
        printf("rss=%ld\n", hwm_kb > rss_base_kb ? (hwm_kb - rss_base_kb) * 1024 : 0);
    if (ca && cf) {
        uint64_t c4[4];
        fill_cycles(c4, ca, o.n_cycles_alloc);
        printf("cm=%llu,%llu,%llu,%llu\n", (unsigned long long)c4[0], (unsigned long long)c4[1],
               (unsigned long long)c4[2], (unsigned long long)c4[3]);
        fill_cycles(c4, cf, o.n_cycles_free);
        printf("cf=%llu,%llu,%llu,%llu\n", (unsigned long long)c4[0], (unsigned long long)c4[1],
               (unsigned long long)c4[2], (unsigned long long)c4[3]);
    }
    if (ad->is_heap)
        rp_heap_close(&rh);
    return r.ok ? 0 : 1; /* the mappings go with the process */
}

static void run_system(const char *path, const rp_allocdef_t *ad, row_t *row)
{
    const char *lib = NULL;
#if defined(__SANITIZE_ADDRESS__)
    if (ad->preload) { /* ASan's runtime must come first in the preload list */
        row->skipped = true;
        snprintf(row->why, sizeof row->why, "not available in a sanitizer build");
        return;
    }
#endif
    if (ad->preload) {
        lib = rp_find_library(ad->preload);
        if (!lib) {
            row->skipped = true;
            snprintf(row->why, sizeof row->why, "%s is not installed", ad->preload);
            return;
        }
    }
    char *argv[] = {self_exe, "--worker", (char *)ad->name, "--worker-rss",
                    opt.cycles ? "--cycles" : "--no-cycles", (char *)path, NULL};
    char buf[4096];
    int rc = spawn(argv, lib, buf, sizeof buf);
    row->calls = (size_t)kv_u64(buf, "calls");
    row->rss_delta = kv_u64(buf, "rss");
    if (row->peak_live)
        row->mem_ratio = (double)row->rss_delta / (double)row->peak_live;
    if (opt.cycles) {
        kv_4(buf, "cm", row->cm);
        kv_4(buf, "cf", row->cf);
        row->have_cycles = kv(buf, "cm") != NULL;
    }
    if (rc != 0) {
        row->ok = false;
        const char *w = kv(buf, "why");
        snprintf(row->why, sizeof row->why, "worker failed (status %d)%s%.*s", rc, w ? ": " : "",
                 w ? (int)strcspn(w, "\n") : 0, w ? w : "");
    }
}

/* ---- callgrind ----------------------------------------------------------- */
static bool have_valgrind(void)
{
    char cmd[300];
    snprintf(cmd, sizeof cmd, "%s --version >/dev/null 2>&1", opt.valgrind);
    return system(cmd) == 0;
}

/* Reads the "totals:" or "summary:" figure of a callgrind output file and
 * the first hkw_ wrapper name in it. */
static uint64_t cg_totals(const char *file, char *fn, size_t fnlen)
{
    FILE *f = fopen(file, "r");
    if (!f)
        return 0;
    char line[512];
    uint64_t tot = 0;
    if (fn && fnlen)
        fn[0] = 0;
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "totals:", 7) == 0 || strncmp(line, "summary:", 8) == 0)
            tot = strtoull(strchr(line, ':') + 1, NULL, 10);
        else if (fn && fnlen && !fn[0] && strncmp(line, "fn=", 3) == 0) {
            const char *w = strstr(line, "hkw_");
            if (w) {
                snprintf(fn, fnlen, "%s", w);
                fn[strcspn(fn, "\n")] = 0;
            }
        }
    }
    fclose(f);
    return tot;
}

static int rm_tree(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return -1;
    struct dirent *e;
    char p[PATH_MAX];
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        unlink(p);
    }
    closedir(d);
    return rmdir(dir);
}

static void run_callgrind(const char *path, const rp_allocdef_t *ad, row_t *row, bool worst)
{
    char dir[] = "/tmp/hk-replay-cg-XXXXXX";
    if (!mkdtemp(dir)) {
        snprintf(row->why, sizeof row->why, "mkdtemp: %s", strerror(errno));
        row->ok = false;
        return;
    }
    char out[PATH_MAX];
    snprintf(out, sizeof out, "--callgrind-out-file=%s/cg.out", dir);
    const char *lib = ad->preload ? rp_find_library(ad->preload) : NULL;
    if (ad->preload && !lib) {
        row->skipped = true;
        snprintf(row->why, sizeof row->why, "%s is not installed", ad->preload);
        rm_tree(dir);
        return;
    }
    char *argv[32];
    int n = 0;
    argv[n++] = (char *)opt.valgrind;
    argv[n++] = "--tool=callgrind";
    argv[n++] = "-q";
    argv[n++] = out;
    argv[n++] = "--collect-atstart=no";
    argv[n++] = "--toggle-collect=hkw_*";
    /* One --dump-after per wrapper: a wildcard here together with the
     * wildcard toggle produces no dumps in valgrind 3.19. */
    static const char *const kinds[5] = {"malloc", "free", "realloc", "calloc", "memalign"};
    char dumps[5][64];
    if (worst) {
        for (int k = 0; k < 5; k++) {
            snprintf(dumps[k], sizeof dumps[k], "--dump-after=hkw_%s_%s",
                     ad->is_heap ? "heap" : "sys", kinds[k]);
            argv[n++] = dumps[k];
        }
        argv[n++] = "--compress-strings=no";
        argv[n++] = "--compress-pos=no";
    }
    argv[n++] = self_exe;
    argv[n++] = "--worker";
    argv[n++] = (char *)ad->name;
    argv[n++] = "--no-cycles";
    argv[n++] = (char *)path;
    argv[n] = NULL;
    char buf[4096];
    int rc = spawn(argv, lib, buf, sizeof buf);
    size_t calls = (size_t)kv_u64(buf, "calls");
    if (rc != 0 || calls == 0) {
        row->ok = false;
        snprintf(row->why, sizeof row->why, "callgrind run failed (status %d)", rc);
        rm_tree(dir);
        return;
    }
    if (!worst) {
        char file[PATH_MAX];
        snprintf(file, sizeof file, "%s/cg.out", dir);
        uint64_t tot = cg_totals(file, NULL, 0);
        row->instr_per_op = (double)tot / (double)calls;
    } else {
        DIR *d = opendir(dir);
        struct dirent *e;
        char file[PATH_MAX], fn[128];
        while (d && (e = readdir(d))) {
            if (strncmp(e->d_name, "cg.out.", 7) != 0)
                continue;
            snprintf(file, sizeof file, "%s/%s", dir, e->d_name);
            uint64_t tot = cg_totals(file, fn, sizeof fn);
            uint64_t *slot = strstr(fn, "_free") ? &row->worst_free
                             : strstr(fn, "_realloc") ? &row->worst_realloc
                             : fn[0] ? &row->worst_malloc : NULL;
            if (slot && tot > *slot)
                *slot = tot;
        }
        if (d)
            closedir(d);
        row->have_worst = true;
    }
    rm_tree(dir);
}

/* ---- output ------------------------------------------------------------- */
static void print_table(const row_t *rows, size_t n)
{
    bool has_mem = false, has_instr = false, has_worst = false, has_cyc = false;
    for (size_t i = 0; i < n; i++) {
        has_mem |= rows[i].mem_ratio > 0;
        has_instr |= rows[i].instr_per_op > 0;
        has_worst |= rows[i].have_worst;
        has_cyc |= rows[i].have_cycles;
    }
    const int cw = opt.brief ? 13 : 23; /* width of a cycles column */
    printf("%-18s %-9s %8s %10s", "trace", "alloc", "ops", "peak live");
    if (has_mem)
        printf(" %9s", "memory");
    if (has_instr)
        printf(" %7s", "instr");
    if (has_cyc)
        printf(" %*s %*s", cw, "malloc cycles", cw, "free cycles");
    if (has_worst)
        printf(" %-20s", "worst instr");
    printf(" checks\n%-18s %-9s %8s %10s", "", "", "", "bytes");
    if (has_mem)
        printf(" %9s", "ratio");
    if (has_instr)
        printf(" %7s", "/call");
    if (has_cyc)
        printf(" %*s %*s", cw, opt.brief ? "p50/p99" : "p50/p99/p99.9/max", cw,
               opt.brief ? "p50/p99" : "p50/p99/p99.9/max");
    if (has_worst)
        printf(" %-20s", "malloc/free/realloc");
    printf("\n");
    for (size_t i = 0; i < n; i++) {
        const row_t *r = &rows[i];
        char buf[64], chk[240];
        printf("%-18s %-9s %8zu %10llu", r->trace, r->alloc, r->ops,
               (unsigned long long)r->peak_live);
        if (has_mem) {
            if (r->mem_ratio > 0)
                snprintf(buf, sizeof buf, "%s%.3f", r->is_heap ? "" : "rss ", r->mem_ratio);
            else
                snprintf(buf, sizeof buf, "-");
            printf(" %9s", buf);
        }
        if (has_instr) {
            if (r->instr_per_op > 0)
                snprintf(buf, sizeof buf, "%.1f", r->instr_per_op);
            else
                snprintf(buf, sizeof buf, "-");
            printf(" %7s", buf);
        }
        if (has_cyc) {
            if (r->have_cycles) {
                for (int k = 0; k < 2; k++) {
                    const uint64_t *c = k ? r->cf : r->cm;
                    if (opt.brief)
                        snprintf(buf, sizeof buf, "%llu/%llu", (unsigned long long)c[0],
                                 (unsigned long long)c[1]);
                    else
                        snprintf(buf, sizeof buf, "%llu/%llu/%llu/%llu", (unsigned long long)c[0],
                                 (unsigned long long)c[1], (unsigned long long)c[2],
                                 (unsigned long long)c[3]);
                    printf(" %*s", cw, buf);
                }
            } else {
                printf(" %*s %*s", cw, "-", cw, "-");
            }
        }
        if (has_worst) {
            if (r->have_worst)
                snprintf(buf, sizeof buf, "%llu/%llu/%llu", (unsigned long long)r->worst_malloc,
                         (unsigned long long)r->worst_free, (unsigned long long)r->worst_realloc);
            else
                snprintf(buf, sizeof buf, "-");
            printf(" %-20s", buf);
        }
        if (r->skipped)
            snprintf(chk, sizeof chk, "skipped: %s", r->why);
        else if (!r->ok)
            snprintf(chk, sizeof chk, "FAILED: %s", r->why);
        else if (r->is_heap)
            snprintf(chk, sizeof chk, "%s",
                     opt.brief ? "ok, validated" : "ok: validated, 1 free block at end");
        else
            snprintf(chk, sizeof chk, "ok");
        printf(" %s\n", chk);
    }
    if (has_mem)
        printf("memory: heapkit = smallest arena / peak live requested bytes (1.000 is perfect); "
               "rss = peak RSS growth / the same (page granular)\n");
    if (has_instr || has_worst)
        printf("instr: instructions inside allocator calls, by callgrind (exact, repeatable)\n");
    if (has_cyc)
        printf("cycles: rdtsc per call on this machine: noisy, compare ratios only\n");
}

static void json_str(const char *s)
{
    putchar('"');
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            printf("\\%c", *s);
        else if ((unsigned char)*s < 0x20)
            printf("\\u%04x", *s);
        else
            putchar(*s);
    }
    putchar('"');
}

static void print_json(const row_t *rows, size_t n)
{
    printf("[\n");
    for (size_t i = 0; i < n; i++) {
        const row_t *r = &rows[i];
        printf("  {\"trace\": ");
        json_str(r->trace);
        printf(", \"alloc\": ");
        json_str(r->alloc);
        printf(", \"heapkit\": %s, \"ok\": %s, \"skipped\": %s, \"why\": ", r->is_heap ? "true" : "false",
               r->ok ? "true" : "false", r->skipped ? "true" : "false");
        json_str(r->why);
        printf(", \"ops\": %zu, \"calls\": %zu, \"peak_live\": %llu, \"min_arena\": %zu, "
               "\"overhead\": %zu, \"rss_delta\": %llu, \"mem_ratio\": %.5f, "
               "\"instr_per_op\": %.2f, \"worst_malloc\": %llu, \"worst_free\": %llu, "
               "\"worst_realloc\": %llu, \"cycles_malloc\": [%llu, %llu, %llu, %llu], "
               "\"cycles_free\": [%llu, %llu, %llu, %llu], \"validate\": %d, "
               "\"one_free_block\": %s, \"frag_max\": %.4f, \"frag_end\": %.4f}%s\n",
               r->ops, r->calls, (unsigned long long)r->peak_live, r->min_arena, r->overhead,
               (unsigned long long)r->rss_delta, r->mem_ratio, r->instr_per_op,
               (unsigned long long)r->worst_malloc, (unsigned long long)r->worst_free,
               (unsigned long long)r->worst_realloc, (unsigned long long)r->cm[0],
               (unsigned long long)r->cm[1], (unsigned long long)r->cm[2],
               (unsigned long long)r->cm[3], (unsigned long long)r->cf[0],
               (unsigned long long)r->cf[1], (unsigned long long)r->cf[2],
               (unsigned long long)r->cf[3], r->validate_rc, r->one_free_block ? "true" : "false",
               r->frag_max, r->frag_end, i + 1 < n ? "," : "");
    }
    printf("]\n");
}

static void print_csv(const row_t *rows, size_t n)
{
    printf("trace,alloc,ok,ops,calls,peak_live,min_arena,rss_delta,mem_ratio,instr_per_op,"
           "worst_malloc,worst_free,worst_realloc,malloc_p50,malloc_p99,malloc_p999,malloc_max,"
           "free_p50,free_p99,free_p999,free_max,validate,one_free_block,frag_max\n");
    for (size_t i = 0; i < n; i++) {
        const row_t *r = &rows[i];
        printf("%s,%s,%d,%zu,%zu,%llu,%zu,%llu,%.5f,%.2f,%llu,%llu,%llu,%llu,%llu,%llu,%llu,"
               "%llu,%llu,%llu,%llu,%d,%d,%.4f\n",
               r->trace, r->alloc, r->skipped ? -1 : r->ok ? 1 : 0, r->ops, r->calls,
               (unsigned long long)r->peak_live, r->min_arena, (unsigned long long)r->rss_delta,
               r->mem_ratio, r->instr_per_op, (unsigned long long)r->worst_malloc,
               (unsigned long long)r->worst_free, (unsigned long long)r->worst_realloc,
               (unsigned long long)r->cm[0], (unsigned long long)r->cm[1],
               (unsigned long long)r->cm[2], (unsigned long long)r->cm[3],
               (unsigned long long)r->cf[0], (unsigned long long)r->cf[1],
               (unsigned long long)r->cf[2], (unsigned long long)r->cf[3], r->validate_rc,
               r->one_free_block ? 1 : 0, r->frag_max);
    }
}

static void usage(void)
{
    printf("usage: hk-replay [options] TRACE...\n"
           "Replays allocation traces (.rep, or .rep.xz) on heapkit and system allocators.\n"
           "  --alloc LIST       comma list of: tlsf first best glibc jemalloc mimalloc tcmalloc\n"
           "                     hkmalloc (heapkit's drop-in malloc from this build tree),\n"
           "                     or heapkit (the three policies), system, all\n"
           "                     (default tlsf,first,best,glibc)\n"
           "  --mem              memory efficiency: smallest arena by bisection (heapkit)\n"
           "  --mem-res N        resolution of the search in bytes (default 8)\n"
           "  --instr            instructions per call with callgrind\n"
           "  --worst            exact worst-case instructions per call (one dump per call: use\n"
           "                     small traces or --prefix)\n"
           "  --prefix N         only the first N ops of each trace\n"
           "  --no-cycles        skip the rdtsc percentiles\n"
           "  --validate-every N hk_heap_validate after every N ops (always at the end)\n"
           "  --frag FILE.csv    fragmentation over time (heapkit policies)\n"
           "  --maps DIR         heap maps (SVG) at peak and at the end (heapkit policies)\n"
           "  --json | --csv     machine-readable output instead of the table\n"
           "  --quiet            no progress bar\n"
           "  --brief            a narrower table (cycles p50/p99 only)\n"
           "  --valgrind PATH    the valgrind to use (default: valgrind on PATH)\n"
           "Exit status: 0 when every run succeeded, 1 when one failed, 2 on bad usage/input.\n");
}

static size_t parse_size(const char *s, const char *what)
{
    char *e;
    errno = 0;
    unsigned long long v = strtoull(s, &e, 10);
    if (errno || *e || e == s || v > SIZE_MAX)
        die("bad %s '%s'", what, s);
    return (size_t)v;
}

int main(int argc, char **argv)
{
    ssize_t sl = readlink("/proc/self/exe", self_exe, sizeof self_exe - 1);
    if (sl <= 0)
        snprintf(self_exe, sizeof self_exe, "%s", argv[0]);
    else
        self_exe[sl] = 0;
    const char **paths = calloc((size_t)argc, sizeof *paths);
    size_t npaths = 0;
    enum {
        O_ALLOC = 256, O_MEM, O_MEM_RES, O_INSTR, O_WORST, O_PREFIX, O_CYCLES, O_NO_CYCLES,
        O_VALIDATE, O_FRAG, O_MAPS, O_JSON, O_CSV, O_QUIET, O_BRIEF, O_VALGRIND, O_WORKER,
        O_WORKER_RSS
    };
    static const struct option longs[] = {
        {"alloc", required_argument, NULL, O_ALLOC},
        {"mem", no_argument, NULL, O_MEM},
        {"mem-res", required_argument, NULL, O_MEM_RES},
        {"instr", no_argument, NULL, O_INSTR},
        {"worst", no_argument, NULL, O_WORST},
        {"prefix", required_argument, NULL, O_PREFIX},
        {"cycles", no_argument, NULL, O_CYCLES},
        {"no-cycles", no_argument, NULL, O_NO_CYCLES},
        {"validate-every", required_argument, NULL, O_VALIDATE},
        {"frag", required_argument, NULL, O_FRAG},
        {"maps", required_argument, NULL, O_MAPS},
        {"json", no_argument, NULL, O_JSON},
        {"csv", no_argument, NULL, O_CSV},
        {"quiet", no_argument, NULL, O_QUIET},
        {"brief", no_argument, NULL, O_BRIEF},
        {"valgrind", required_argument, NULL, O_VALGRIND},
        {"worker", required_argument, NULL, O_WORKER},
        {"worker-rss", no_argument, NULL, O_WORKER_RSS},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, "h", longs, NULL)) != -1) {
        switch (c) {
        case O_ALLOC: opt.allocs = optarg; break;
        case O_MEM: opt.mem = true; break;
        case O_MEM_RES: opt.mem_res = parse_size(optarg, "resolution"); break;
        case O_INSTR: opt.instr = true; break;
        case O_WORST: opt.worst = true; break;
        case O_PREFIX: opt.prefix = parse_size(optarg, "prefix"); break;
        case O_CYCLES: opt.cycles = true; break;
        case O_NO_CYCLES: opt.cycles = false; break;
        case O_VALIDATE: opt.validate_every = parse_size(optarg, "count"); break;
        case O_FRAG: opt.frag_path = optarg; break;
        case O_MAPS: opt.maps_dir = optarg; break;
        case O_JSON: opt.json = true; break;
        case O_CSV: opt.csv = true; break;
        case O_QUIET: opt.quiet = true; break;
        case O_BRIEF: opt.brief = true; break;
        case O_VALGRIND: opt.valgrind = optarg; break;
        case O_WORKER: opt.worker = optarg; break;
        case O_WORKER_RSS: opt.worker_rss = true; break;
        case 'h': usage(); free(paths); return 0;
        case ':':
            die("%s needs a value", argv[optind - 1]);
        default:
            if (optopt >= O_ALLOC) /* a long option given without its value */
                die("%s needs a value", argv[optind - 1]);
            die("unknown option %s (see --help)", argv[optind - 1]);
        }
    }
    for (int i = optind; i < argc; i++)
        paths[npaths++] = argv[i];
    if (npaths == 0) {
        usage();
        return 2;
    }
    hk_set_error_hook(on_hk_error, NULL);
    if (opt.worker) {
        const char *p0 = paths[0];
        free(paths);
        return worker_main(p0);
    }

    /* The allocator list. */
    const rp_allocdef_t *list[16];
    size_t nlist = 0;
    char *spec = strdup(opt.allocs);
    for (char *tok = strtok(spec, ","); tok; tok = strtok(NULL, ",")) {
        const char *group = !strcmp(tok, "heapkit") ? "tlsf,first,best"
                            : !strcmp(tok, "system") ? "glibc,jemalloc,mimalloc,tcmalloc"
                            : !strcmp(tok, "all")
                                ? "tlsf,first,best,glibc,jemalloc,mimalloc,tcmalloc,hkmalloc"
                                : tok;
        char *g = strdup(group), *save = NULL;
        for (char *x = strtok_r(g, ",", &save); x; x = strtok_r(NULL, ",", &save)) {
            const rp_allocdef_t *ad = rp_find_alloc(x);
            if (!ad)
                die("unknown allocator '%s' (see --help)", x);
            bool dup = false;
            for (size_t k = 0; k < nlist; k++)
                dup |= list[k] == ad;
            if (!dup && nlist < 16)
                list[nlist++] = ad;
        }
        free(g);
    }
    free(spec);
    if ((opt.instr || opt.worst) && !have_valgrind())
        die("--instr and --worst need valgrind (apt-get install valgrind)");
    if (opt.maps_dir)
        mkdir(opt.maps_dir, 0777);
    if (opt.frag_path) {
        frag_out = fopen(opt.frag_path, "w");
        if (!frag_out)
            die("cannot write %s: %s", opt.frag_path, strerror(errno));
        fprintf(frag_out, "trace,alloc,op,live_requested,used,free,largest_free,frag\n");
    }

    row_t *rows = calloc(npaths * nlist, sizeof *rows);
    char (*labels)[64] = calloc(npaths, sizeof *labels);
    size_t nrows = 0;
    int status = 0;
    for (size_t p = 0; p < npaths; p++) {
        hkt_trace_t t;
        char err[300];
        if (hkt_load(paths[p], &t, err, sizeof err) != 0) {
            fprintf(stderr, "hk-replay: %s\n", err);
            status = 2;
            continue;
        }
        if (opt.prefix)
            hkt_truncate(&t, opt.prefix);
        trace_label(paths[p], labels[p], sizeof labels[p]);
        char bin[64] = "";
        bool need_bin = opt.instr || opt.worst;
        for (size_t k = 0; k < nlist; k++)
            need_bin |= !list[k]->is_heap;
        if (need_bin && save_bin(&t, bin, sizeof bin) != 0)
            die("cannot write a temporary file in /tmp");
        for (size_t k = 0; k < nlist; k++) {
            row_t *r = &rows[nrows++];
            r->trace = labels[p];
            r->alloc = list[k]->name;
            r->is_heap = list[k]->is_heap;
            r->ok = true;
            r->ops = t.nops;
            r->peak_live = t.peak_live;
            if (!opt.quiet && !opt.json && !opt.csv && isatty(2))
                fprintf(stderr, "  %s on %s...\r", labels[p], list[k]->name);
            if (list[k]->is_heap)
                run_heap(&t, labels[p], list[k], r);
            else
                run_system(bin, list[k], r);
            if (opt.instr && r->ok && !r->skipped)
                run_callgrind(bin, list[k], r, false);
            if (opt.worst && r->ok && !r->skipped)
                run_callgrind(bin, list[k], r, true);
            if (!r->ok && !r->skipped)
                status = status ? status : 1;
        }
        if (bin[0])
            unlink(bin);
        hkt_free(&t);
    }
    if (!opt.quiet && !opt.json && !opt.csv && isatty(2))
        fprintf(stderr, "%*s\r", 60, "");
    if (frag_out)
        fclose(frag_out);
    if (opt.json)
        print_json(rows, nrows);
    else if (opt.csv)
        print_csv(rows, nrows);
    else if (nrows)
        print_table(rows, nrows);
    free(rows);
    free(labels);
    free(paths);
    return status;
}
