/* SPDX-License-Identifier: MIT */
/*
 * heapbench.c - the heap's own measurement driver (bench/heap/run.sh).
 *
 * Replays one trace (tools/trace's parser) on one heapkit heap through one
 * non-inlined wrapper per call kind (hb_malloc, hb_free, hb_realloc,
 * hb_calloc), and does one of:
 *   --run        plain replay (callgrind --toggle-collect='hb_*' counts the
 *                instructions inside the wrappers; run.sh splits them per
 *                wrapper from the callgrind output)
 *   --worst DIR  under callgrind with --dump-after=<each wrapper> and
 *                --callgrind-out-file=DIR/cg.out: after every call this
 *                program reads the dump that call produced (DIR/cg.out.N,
 *                N counting from 1), keeps the maximum per kind with the
 *                op index, and deletes the file. So every call of the whole
 *                trace is measured exactly, one dump each, with no prefix
 *                and without millions of files on disk.
 *   --mem        the smallest arena (8-byte resolution, bisection over
 *                forked trials that pattern-check every block, the same
 *                method as hk-replay --mem) over the trace's peak live bytes
 * Options: --fit tlsf|first|best, --prefix N.
 * Output: key=value lines.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "heap/block.h" /* block_size_for: the floor of --mem */
#include "heapkit/heap.h"
#include "hk_trace.h"

#define NOINLINE __attribute__((noinline, used))
#define BARRIER() __asm__ volatile("" ::: "memory")

NOINLINE void *hb_malloc(hk_heap_t *h, size_t n)
{
    void *p = hk_heap_alloc(h, n);
    BARRIER();
    return p;
}

NOINLINE void hb_free(hk_heap_t *h, void *p)
{
    hk_heap_free(h, p);
    BARRIER();
}

NOINLINE void *hb_realloc(hk_heap_t *h, void *p, size_t n)
{
    void *q = hk_heap_realloc(h, p, n);
    BARRIER();
    return q;
}

NOINLINE void *hb_calloc(hk_heap_t *h, size_t c, size_t n)
{
    void *p = hk_heap_calloc(h, c, n);
    BARRIER();
    return p;
}

static hk_fit_t fit = HK_FIT_TLSF;
static unsigned long n_errors;

static void on_error(int code, const void *ptr, const char *reason, void *ctx)
{
    (void)ctx;
    if (n_errors++ < 5)
        fprintf(stderr, "heapbench: heapkit reported %s at %p: %s\n", hk_strerror(code), ptr,
                reason ? reason : "");
}

static hk_heap_t *open_heap(size_t bytes)
{
    void *m = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (m == MAP_FAILED)
        return NULL;
    hk_heap_config_t cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.fit = fit;
    return hk_heap_init(m, bytes, &cfg);
}

/* ---- worst case: read the dump each call produced ------------------------ */
static const char *dump_dir;
static unsigned long dump_no;
static uint64_t worst[3];
static size_t worst_op[3];
static size_t cur_op;

static uint64_t read_dump(void)
{
    char path[4096], buf[65536];
    snprintf(path, sizeof path, "%s/cg.out.%lu", dump_dir, ++dump_no);
    int fd = open(path, O_RDONLY);
    if (fd < 0) {
        fprintf(stderr, "heapbench: no dump %s\n", path);
        exit(3);
    }
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    unlink(path);
    if (n <= 0)
        return 0;
    buf[n] = 0;
    const char *t = strstr(buf, "\ntotals:");
    if (!t)
        t = strstr(buf, "\nsummary:");
    return t ? strtoull(strchr(t, ':') + 1, NULL, 10) : 0;
}

static void after_call(int kind)
{
    if (!dump_dir)
        return;
    uint64_t c = read_dump();
    if (c > worst[kind]) {
        worst[kind] = c;
        worst_op[kind] = cur_op;
    }
}

/* ---- the floor of --mem ----------------------------------------------------
 * The bytes of the blocks live right after the trace's peak op, each of
 * block_size_for(n): no arena of this build can be smaller, whatever the
 * placement (the control structure and any fragmentation come on top). */
static uint64_t floor_bytes(const hkt_trace_t *t)
{
    uint64_t *bs = calloc(t->nids + 1u, sizeof *bs), sum = 0;
    if (!bs)
        return 0;
    for (size_t i = 0; i <= t->peak_op && i < t->nops; i++) {
        const hkt_op_t *op = &t->ops[i];
        sum -= bs[op->id];
        bs[op->id] = 0;
        if (op->kind == HKT_FREE || (op->kind == HKT_REALLOC && op->size == 0))
            continue;
        bs[op->id] = block_size_for((size_t)hkt_op_bytes(op));
        sum += bs[op->id];
    }
    free(bs);
    return sum;
}

/* ---- replay --------------------------------------------------------------- */
typedef struct {
    size_t calls[3];
    int ok;
    size_t failed_op;
    size_t fails; /* --fails: failed allocations, the replay goes on */
} result_t;

static int keep_going; /* --fails */

static void fill(unsigned char *p, size_t n, uint32_t id)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (unsigned char)(id * 31u + i);
}

static int check(const unsigned char *p, size_t n, uint32_t id)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != (unsigned char)(id * 31u + i))
            return 0;
    return 1;
}

static result_t replay(const hkt_trace_t *t, hk_heap_t *h, int pattern)
{
    result_t r = { { 0, 0, 0 }, 1, 0, 0 };
    void **ptr = calloc(t->nids + 1u, sizeof *ptr);
    size_t *len = calloc(t->nids + 1u, sizeof *len);
    for (size_t i = 0; i < t->nops; i++) {
        const hkt_op_t *op = &t->ops[i];
        uint32_t id = op->id;
        cur_op = i;
        void *q;
        switch (op->kind) {
        case HKT_ALLOC:
        case HKT_MEMALIGN:
            q = hb_malloc(h, (size_t)op->size);
            after_call(0);
            r.calls[0]++;
            if (!q && op->size) {
                if (keep_going) {
                    r.fails++;
                    ptr[id] = NULL;
                    len[id] = 0;
                    break;
                }
                r.ok = 0;
                r.failed_op = i;
                goto out;
            }
            ptr[id] = q;
            len[id] = (size_t)op->size;
            break;
        case HKT_CALLOC:
            q = hb_calloc(h, (size_t)op->arg, (size_t)op->size);
            after_call(0);
            r.calls[0]++;
            if (!q && op->size * op->arg != 0) {
                r.ok = 0;
                r.failed_op = i;
                goto out;
            }
            ptr[id] = q;
            len[id] = (size_t)(op->size * op->arg);
            break;
        case HKT_FREE:
            if (pattern && ptr[id] && !check(ptr[id], len[id], id)) {
                r.ok = 0;
                r.failed_op = i;
                goto out;
            }
            hb_free(h, ptr[id]);
            after_call(1);
            r.calls[1]++;
            ptr[id] = NULL;
            break;
        case HKT_REALLOC:
            if (pattern && ptr[id] && !check(ptr[id], len[id] < op->size ? len[id] : op->size, id)) {
                r.ok = 0;
                r.failed_op = i;
                goto out;
            }
            q = hb_realloc(h, ptr[id], (size_t)op->size);
            after_call(2);
            r.calls[2]++;
            if (!q && op->size && keep_going) {
                r.fails++;
                break;
            }
            if (!q && op->size) {
                r.ok = 0;
                r.failed_op = i;
                goto out;
            }
            if (pattern && q) {
                size_t keep = len[id] < op->size ? len[id] : (size_t)op->size;
                if (!check(q, keep, id)) {
                    r.ok = 0;
                    r.failed_op = i;
                    goto out;
                }
            }
            ptr[id] = q;
            len[id] = (size_t)op->size;
            break;
        default:
            break;
        }
        if (pattern && ptr[id] && op->kind != HKT_FREE)
            fill(ptr[id], len[id], id);
    }
out:
    free(ptr);
    free(len);
    return r;
}

static int trial(const hkt_trace_t *t, size_t bytes)
{
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        hk_heap_t *h = open_heap(bytes);
        if (!h)
            _exit(1);
        result_t r = replay(t, h, 1);
        _exit(r.ok && hk_heap_validate(h) == 0 && n_errors == 0 ? 0 : 1);
    }
    int st = 0;
    while (waitpid(pid, &st, 0) < 0) {
    }
    return WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

int main(int argc, char **argv)
{
    const char *mode = "--run", *path = NULL;
    size_t prefix = 0, fails_arena = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--run") || !strcmp(argv[i], "--mem")) {
            mode = argv[i];
        } else if ((!strcmp(argv[i], "--fails") || !strcmp(argv[i], "--trial")) && i + 1 < argc) {
            mode = argv[i];
            fails_arena = strtoul(argv[++i], NULL, 10);
        } else if (!strcmp(argv[i], "--worst") && i + 1 < argc) {
            mode = argv[i];
            dump_dir = argv[++i];
        } else if (!strcmp(argv[i], "--fit") && i + 1 < argc) {
            const char *f = argv[++i];
            fit = !strcmp(f, "first") ? HK_FIT_FIRST : !strcmp(f, "best") ? HK_FIT_BEST
                                                                          : HK_FIT_TLSF;
        } else if (!strcmp(argv[i], "--prefix") && i + 1 < argc) {
            prefix = strtoul(argv[++i], NULL, 10);
        } else {
            path = argv[i];
        }
    }
    if (!path) {
        fprintf(stderr, "usage: heapbench [--run|--worst DIR|--mem] [--fit F] [--prefix N] TRACE\n");
        return 2;
    }
    hk_set_error_hook(on_error, NULL);
    hkt_trace_t t;
    char err[256];
    if (hkt_load(path, &t, err, sizeof err) != 0) {
        fprintf(stderr, "heapbench: %s\n", err);
        return 2;
    }
    if (prefix && prefix < t.nops)
        hkt_truncate(&t, prefix);
    printf("ops=%zu\npeak_live=%llu\n", t.nops, (unsigned long long)t.peak_live);
    if (!strcmp(mode, "--mem")) {
        size_t lo = (size_t)t.peak_live, hi = lo * 2 + 65536;
        while (!trial(&t, hi))
            hi *= 2;
        while (hi - lo > 8) {
            size_t mid = lo + ((hi - lo) / 2 & ~(size_t)7);
            if (trial(&t, mid))
                hi = mid;
            else
                lo = mid;
        }
        printf("min_arena=%zu\nmem_ratio=%.4f\nfloor_ratio=%.4f\n", hi,
               (double)hi / (double)t.peak_live, (double)floor_bytes(&t) / (double)t.peak_live);
        return 0;
    }
    if (!strcmp(mode, "--trial")) { /* one pattern-checked trial, in process */
        hk_heap_t *th = open_heap(fails_arena);
        if (!th)
            return 2;
        result_t r = replay(&t, th, 1);
        printf("arena=%zu\nok=%d\nfailed_op=%zu\nerrors=%lu\nvalid=%d\n", fails_arena, r.ok,
               r.failed_op, n_errors, hk_heap_validate(th) == 0);
        return r.ok ? 0 : 1;
    }
    if (!strcmp(mode, "--fails")) {
        /* MCU workloads: how many allocations fail in a fixed arena */
        hk_set_error_hook(NULL, NULL);
        keep_going = 1;
        hk_heap_t *fh = open_heap(fails_arena);
        if (!fh)
            return 2;
        result_t r = replay(&t, fh, 0);
        hk_stats_t st;
        hk_heap_get_stats(fh, &st);
        printf("arena=%zu\nfailed_allocs=%zu\ncalls=%zu\ncontrol=%zu\nvalid=%d\n", fails_arena,
               r.fails, r.calls[0] + r.calls[2], hk_heap_overhead(fails_arena, NULL),
               hk_heap_validate(fh) == 0);
        return 0;
    }
    /* the arena hk-replay gives its callgrind runs: twice the peak, plus 1 MiB */
    size_t bytes = (size_t)t.peak_live * 2 + ((size_t)1 << 20);
    hk_heap_t *h = open_heap(bytes);
    if (!h) {
        fprintf(stderr, "heapbench: no heap\n");
        return 2;
    }
    result_t r = replay(&t, h, 0);
    printf("ok=%d\nmalloc_calls=%zu\nfree_calls=%zu\nrealloc_calls=%zu\n", r.ok, r.calls[0],
           r.calls[1], r.calls[2]);
    if (!r.ok)
        printf("failed_op=%zu\n", r.failed_op);
    if (dump_dir)
        printf("worst_malloc=%llu\nworst_malloc_op=%zu\nworst_free=%llu\nworst_free_op=%zu\n"
               "worst_realloc=%llu\nworst_realloc_op=%zu\n",
               (unsigned long long)worst[0], worst_op[0], (unsigned long long)worst[1],
               worst_op[1], (unsigned long long)worst[2], worst_op[2]);
    printf("errors=%lu\n", n_errors);
    return r.ok && n_errors == 0 ? 0 : 1;
}
