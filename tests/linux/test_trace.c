/* SPDX-License-Identifier: MIT */
/*
 * test_trace.c - the trace parser, writer and replay engine (tools/trace/),
 * hosted: good traces, every error path of the parser, a random-input run
 * that must never crash, a writer round trip, and golden checks of the
 * metrics (peak live bytes, sampled live bytes, percentiles, the memory
 * search) on hand-made traces whose answers are known.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "heapkit/heap.h"
#include "hk_test.h"
#include "hk_trace.h"

static int parse(const char *text, hkt_trace_t *t, char *err, size_t n)
{
    return hkt_parse(text, strlen(text), "t.rep", t, err, n);
}

/* ---- good input ----------------------------------------------------------- */
static void test_parse_cmu(void)
{
    /* short1-bal.rep from the CMU set, verbatim */
    const char *s = "8144\n6\n12\n1\na 0 2040\na 1 2040\nf 1\na 2 48\na 3 4072\nf 3\n"
                    "a 4 4072\nf 0\nf 2\na 5 4072\nf 4\nf 5\n";
    hkt_trace_t t;
    char err[200];
    HK_REQUIRE(parse(s, &t, err, sizeof err) == 0);
    HK_CHECK_EQ(t.heap_hint, 8144);
    HK_CHECK_EQ(t.nids, 6);
    HK_CHECK_EQ(t.nops, 12);
    HK_CHECK_EQ(t.weight, 1);
    HK_CHECK_EQ(t.n_alloc, 6);
    HK_CHECK_EQ(t.n_free, 6);
    HK_CHECK_EQ(t.n_realloc, 0);
    /* live: 2040, 4080, 2040, 2088, 6160, 2088, 6160, 4120, 4072, 8144 */
    HK_CHECK_EQ(t.peak_live, 8144);
    HK_CHECK_EQ(t.peak_op, 9);
    HK_CHECK_EQ(t.max_size, 4072);
    HK_CHECK_EQ(t.ops[3].kind, 'a');
    HK_CHECK_EQ(t.ops[3].id, 2);
    HK_CHECK_EQ(t.ops[3].size, 48);
    hkt_free(&t);
}

static void test_parse_extensions(void)
{
    /* comments, blank lines, CRLF, tabs, the m and c ops, realloc of a dead
     * id (allocates) and realloc to 0 (frees), id reuse after free */
    const char *s = "# a trace\r\n100\r\n3\n\n8\n1\n"
                    "m 0 64 100\n"
                    "c\t1 10 30\n"
                    "r 2 50   \n"
                    "r 2 0\n"
                    "f 0\n"
                    "a 0 7\n"
                    "f 1\n"
                    "f 0\n";
    hkt_trace_t t;
    char err[200];
    HK_REQUIRE(parse(s, &t, err, sizeof err) == 0);
    HK_CHECK_EQ(t.nops, 8);
    HK_CHECK_EQ(t.ops[0].kind, 'm');
    HK_CHECK_EQ(t.ops[0].arg, 64);
    HK_CHECK_EQ(t.ops[0].size, 100);
    HK_CHECK_EQ(t.ops[1].kind, 'c');
    HK_CHECK_EQ(t.ops[1].arg, 10);
    HK_CHECK_EQ(hkt_op_bytes(&t.ops[1]), 300);
    HK_CHECK_EQ(t.peak_live, 450); /* 100 + 300 + 50 */
    HK_CHECK_EQ(t.peak_op, 2);
    HK_CHECK_EQ(t.n_alloc, 3);
    HK_CHECK_EQ(t.n_realloc, 2);
    HK_CHECK_EQ(t.n_free, 3);
    hkt_free(&t);
}

/* ---- every error path ------------------------------------------------------ */
typedef struct {
    const char *text;
    const char *want; /* substring of the message, including the line */
} bad_t;

static void test_parse_errors(void)
{
    static const bad_t cases[] = {
        {"", "t.rep:0: incomplete header: 0 of 4"},
        {"10\n2\n", "incomplete header: 2 of 4 lines (number of ops missing)"},
        {"10\nx\n1\n1\n", "t.rep:2: header line 2 (number of ids) is not a number"},
        {"10\n2 3\n1\n1\n", "t.rep:2: header line 2"},
        {"99999999999999999999999\n2\n1\n1\n", "t.rep:1: header line 1"},
        {"10\n99999999\n1\n1\n", "t.rep:2: number of ids 99999999 is above the limit"},
        {"10\n2\n1\n1\nx 0 5\n", "t.rep:5: bad op 'x'"},
        {"10\n2\n1\n1\nalloc 0 5\n", "t.rep:5: bad op 'alloc'"},
        {"10\n2\n1\n1\na\n", "t.rep:5: id '' does not parse"},
        {"10\n2\n1\n1\na -1 5\n", "t.rep:5: id '-1' does not parse"},
        {"10\n2\n1\n1\na 2 5\n", "t.rep:5: id 2 out of range (the header declares 2 ids)"},
        {"10\n2\n1\n1\na 0\n", "t.rep:5: size '' does not parse"},
        {"10\n2\n1\n1\na 0 12k\n", "t.rep:5: size '12k' does not parse"},
        {"10\n2\n1\n1\na 0 99999999999999999999\n", "t.rep:5: size '99999999999999999999'"},
        {"10\n2\n1\n1\na 0 5 6\n", "t.rep:5: unexpected '6' after the operation"},
        {"10\n2\n1\n1\nf 1\n", "t.rep:5: free of id 1, which is not live"},
        {"10\n2\n2\n1\na 1 8\na 1 8\n", "t.rep:6: allocation of id 1, which is already live"},
        {"10\n2\n2\n1\na 1 8\nf 1 8\n", "t.rep:6: unexpected '8'"},
        {"10\n2\n1\n1\nm 0 48 8\n", "t.rep:5: alignment 48 is not a power of two"},
        {"10\n2\n1\n1\nm 0 0 8\n", "t.rep:5: alignment 0 is not a power of two"},
        {"10\n2\n1\n1\nm 0 x 8\n", "t.rep:5: alignment 'x' does not parse"},
        {"10\n2\n1\n1\nc 0 y 8\n", "t.rep:5: count 'y' does not parse"},
        {"10\n2\n1\n1\nc 0 4294967296 4294967296\n", "t.rep:5: calloc count 4294967296 * size"},
        {"10\n2\n1\n1\na 0 18446744073709551615\n", "t.rep:5: size 18446744073709551615 too large"},
        {"10\n2\n1\n1\na 0 8\na 1 8\n", "t.rep:6: more ops than the 1 the header declares"},
        {"10\n2\n3\n1\na 0 8\nf 0\n", "2 ops, but the header declares 3"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        hkt_trace_t t;
        char err[200];
        memset(err, 'z', sizeof err);
        int rc = parse(cases[i].text, &t, err, sizeof err);
        HK_CHECK(rc == -1);
        HK_CHECK(t.ops == NULL && t.nops == 0);
        if (!strstr(err, cases[i].want)) {
            hk_test_printf("  case %u: got \"%s\"\n  want \"%s\"\n", (unsigned)i, err,
                           cases[i].want);
            HK_CHECK(0);
        }
        hkt_free(&t);
    }
    /* a message that does not fit is cut, still terminated */
    hkt_trace_t t;
    char small[12];
    HK_CHECK(parse("10\n2\n1\n1\nq\n", &t, small, sizeof small) == -1);
    HK_CHECK(strlen(small) < sizeof small);
    /* text with NUL bytes */
    const char nul[] = "10\n2\n1\n1\na 0\0 8\n";
    char err[200];
    HK_CHECK(hkt_parse(nul, sizeof nul - 1, "n.rep", &t, err, sizeof err) == -1);
    HK_CHECK(strstr(err, "n.rep:5:") != NULL);
    /* a file that does not exist */
    HK_CHECK(hkt_load("/nonexistent/x.rep", &t, err, sizeof err) == -1);
    HK_CHECK(strstr(err, "/nonexistent/x.rep") != NULL);
    HK_CHECK(hkt_load("/nonexistent/x.rep.xz", &t, err, sizeof err) == -1);
}

/* Random bytes and random mutations of a good trace: the parser returns 0 or
 * -1 with a message, never crashes (the sanitizer build checks the bounds). */
static void test_parse_never_crashes(void)
{
    static const char good[] = "100\n4\n9\n1\na 0 10\nm 1 16 20\nc 2 3 4\nr 0 30\nf 1\n"
                               "r 3 5\nf 0\nf 2\nf 3\n";
    static const char alphabet[] = "afrmc 0123456789\n\t\r#-x";
    hk_rng_t rng;
    hk_rng_seed(&rng, 0x7ace);
    char buf[sizeof good + 16];
    unsigned ok = 0, bad = 0;
    for (int iter = 0; iter < 4000; iter++) {
        size_t n;
        if (iter % 4 == 0) {
            n = (size_t)hk_rng_below(&rng, sizeof buf);
            for (size_t i = 0; i < n; i++)
                buf[i] = (char)hk_rng_below(&rng, 256);
        } else {
            n = sizeof good - 1;
            memcpy(buf, good, n);
            int muts = 1 + (int)hk_rng_below(&rng, 3);
            for (int m = 0; m < muts; m++) {
                size_t at = (size_t)hk_rng_below(&rng, n);
                buf[at] = alphabet[hk_rng_below(&rng, sizeof alphabet - 1)];
            }
            if (iter % 7 == 0)
                n = (size_t)hk_rng_below(&rng, n + 1); /* truncated */
        }
        hkt_trace_t t;
        char err[200];
        err[0] = 0;
        int rc = hkt_parse(buf, n, "fuzz", &t, err, sizeof err);
        if (rc == 0) {
            ok++;
            HK_CHECK(t.nops <= 9);
        } else {
            bad++;
            HK_CHECK(strncmp(err, "fuzz:", 5) == 0);
        }
        hkt_free(&t);
    }
    HK_CHECK(ok > 0);
    HK_CHECK(bad > 0);
}

/* ---- writer ---------------------------------------------------------------- */
static void test_write_roundtrip(void)
{
    const char *s = "450\n3\n8\n1\nm 0 64 100\nc 1 10 30\nr 2 50\nr 2 0\nf 0\na 0 7\nf 1\nf 0\n";
    hkt_trace_t t, u;
    char err[200];
    HK_REQUIRE(parse(s, &t, err, sizeof err) == 0);
    char *out = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&out, &len);
    HK_REQUIRE(f != NULL);
    HK_CHECK(hkt_write(f, &t) == 0);
    fclose(f);
    HK_CHECK(strcmp(out, s) == 0);
    HK_REQUIRE(hkt_parse(out, len, "w", &u, err, sizeof err) == 0);
    HK_CHECK_EQ(u.nops, t.nops);
    HK_CHECK_EQ(u.peak_live, t.peak_live);
    for (size_t i = 0; i < t.nops; i++)
        HK_CHECK(t.ops[i].kind == u.ops[i].kind && t.ops[i].id == u.ops[i].id &&
                 t.ops[i].size == u.ops[i].size && t.ops[i].arg == u.ops[i].arg);
    /* truncation recomputes the figures */
    hkt_truncate(&u, 2);
    HK_CHECK_EQ(u.nops, 2);
    HK_CHECK_EQ(u.peak_live, 400);
    HK_CHECK_EQ(u.n_alloc, 2);
    free(out);
    hkt_free(&t);
    hkt_free(&u);
}

/* Files: plain and xz-compressed (liblzma; the xz program only makes the
 * test file), also under a name with a quote and a space in it. */
static void test_load_files(void)
{
    char dir[] = "/tmp/hk-test-trace-XXXXXX";
    HK_REQUIRE(mkdtemp(dir) != NULL);
    char path[128], cmd[300];
    snprintf(path, sizeof path, "%s/t.rep", dir);
    FILE *f = fopen(path, "w");
    HK_REQUIRE(f != NULL);
    fputs("300\n2\n4\n1\na 0 100\na 1 200\nf 0\nf 1\n", f);
    fclose(f);
    hkt_trace_t t;
    char err[300];
    HK_CHECK(hkt_load(path, &t, err, sizeof err) == 0);
    HK_CHECK_EQ(t.nops, 4);
    HK_CHECK_EQ(t.peak_live, 300);
    hkt_free(&t);
    snprintf(cmd, sizeof cmd, "xz -c '%s' >'%s/it'\\''s a.rep.xz' 2>/dev/null", path, dir);
    if (system(cmd) == 0) {
        snprintf(path, sizeof path, "%s/it's a.rep.xz", dir);
#if defined(HK_TRACE_LZMA) && HK_TRACE_LZMA
        HK_CHECK(hkt_load(path, &t, err, sizeof err) == 0);
        HK_CHECK_EQ(t.nops, 4);
        HK_CHECK_EQ(t.peak_live, 300);
        hkt_free(&t);
#else /* a build without liblzma says so */
        HK_CHECK(hkt_load(path, &t, err, sizeof err) == -1);
        HK_CHECK(strstr(err, "liblzma") != NULL);
#endif
        /* a corrupt .xz is a read error, not a crash or an empty trace */
        f = fopen(path, "r+");
        HK_REQUIRE(f != NULL);
        fseek(f, 20, SEEK_SET);
        fputs("garbage", f);
        fclose(f);
        HK_CHECK(hkt_load(path, &t, err, sizeof err) == -1);
        HK_CHECK(strstr(err, "a.rep.xz") != NULL);
        unlink(path);
    } else {
        hk_test_skip("xz is not installed");
    }
    snprintf(path, sizeof path, "%s/t.rep", dir);
    unlink(path);
    rmdir(dir);
}

/* ---- golden metrics --------------------------------------------------------
 * The hand-made trace: live bytes after each op are 100, 300, 200, 250, 350,
 * 50, 0, so the peak is 350 after op 5 (index 4). */
static const char golden[] = "350\n3\n7\n1\na 0 100\na 1 200\nf 0\na 2 50\nr 1 300\nf 1\nf 2\n";

static uint64_t samples[16];
static size_t sample_at[16], nsamples;
static void record_sample(void *ctx, size_t done, uint64_t live)
{
    (void)ctx;
    if (nsamples < 16) {
        sample_at[nsamples] = done;
        samples[nsamples++] = live;
    }
}

/* A bump allocator in a fixed arena: never reuses memory, so the trace needs
 * exactly the sum of its requests rounded up to 8. */
typedef struct {
    unsigned char *base;
    size_t cap, used;
} bump_t;
static unsigned char bump_mem[1 << 16];

typedef struct {
    void *p;
    size_t n;
} bump_size_t;
static bump_size_t bump_sizes[16]; /* the requested size of each block handed out, for realloc */
static size_t bump_nsizes;

static void *bump_malloc(void *ctx, size_t n)
{
    bump_t *b = ctx;
    size_t need = (n + 7) & ~(size_t)7;
    if (need > b->cap - b->used)
        return NULL;
    void *p = b->base + b->used;
    b->used += need;
    if (bump_nsizes < 16)
        bump_sizes[bump_nsizes++] = (bump_size_t){p, n};
    return p;
}
static void bump_free(void *ctx, void *p)
{
    (void)ctx;
    (void)p;
}
static void *bump_realloc(void *ctx, void *p, size_t n)
{
    void *q = bump_malloc(ctx, n);
    size_t old = 0;
    for (size_t i = 0; i < bump_nsizes; i++)
        if (bump_sizes[i].p == p)
            old = bump_sizes[i].n;
    if (q && p)
        memcpy(q, p, old < n ? old : n);
    return q;
}
static bump_t bump;
static int bump_make(void *mctx, size_t bytes, hkr_alloc_t *out)
{
    (void)mctx;
    if (bytes > sizeof bump_mem)
        return -1;
    bump = (bump_t){bump_mem, bytes, 0};
    bump_nsizes = 0;
    memset(out, 0, sizeof *out);
    out->ctx = &bump;
    out->malloc_fn = bump_malloc;
    out->free_fn = bump_free;
    out->realloc_fn = bump_realloc;
    return 0;
}

static void test_golden_metrics(void)
{
    hkt_trace_t t;
    char err[200];
    HK_REQUIRE(parse(golden, &t, err, sizeof err) == 0);
    HK_CHECK_EQ(t.peak_live, 350);
    HK_CHECK_EQ(t.peak_op, 4);
    /* sampled live bytes, every op and every 3 ops (+ the end) */
    hkr_alloc_t a;
    HK_REQUIRE(bump_make(NULL, 4096, &a) == 0);
    hkr_opts_t o;
    memset(&o, 0, sizeof o);
    o.fill = true;
    o.sample = record_sample;
    o.sample_every = 1;
    hkr_result_t r;
    nsamples = 0;
    HK_CHECK(hkr_run(&t, &a, &o, &r) == 0);
    static const uint64_t want[7] = {100, 300, 200, 250, 350, 50, 0};
    HK_CHECK_EQ(nsamples, 7);
    for (size_t i = 0; i < 7 && i < nsamples; i++) {
        HK_CHECK_EQ(samples[i], want[i]);
        HK_CHECK_EQ(sample_at[i], i + 1);
    }
    HK_CHECK_EQ(r.calls, 7);
    HK_CHECK_EQ(r.ops_done, 7);
    HK_CHECK_EQ(bump.used, 104 + 200 + 56 + 304);
    HK_REQUIRE(bump_make(NULL, 4096, &a) == 0);
    o.sample_every = 3;
    nsamples = 0;
    HK_CHECK(hkr_run(&t, &a, &o, &r) == 0);
    HK_CHECK_EQ(nsamples, 3);
    HK_CHECK_EQ(sample_at[0], 3);
    HK_CHECK_EQ(samples[0], 200);
    HK_CHECK_EQ(sample_at[1], 6);
    HK_CHECK_EQ(samples[1], 50);
    HK_CHECK_EQ(sample_at[2], 7);
    HK_CHECK_EQ(samples[2], 0);
    /* the memory search finds exactly what the bump allocator needs: the
     * sum of the requests rounded to 8 = 664, so the ratio is 664/350 */
    size_t m = hkr_min_arena(&t, bump_make, NULL, (size_t)t.peak_live, 400, 8);
    HK_CHECK_EQ(m, 664);
    HK_CHECK(hkr_trial(&t, bump_make, NULL, m) == 1);
    HK_CHECK(hkr_trial(&t, bump_make, NULL, m - 8) == 0);
    /* with resolution 1 it is still exact */
    HK_CHECK_EQ(hkr_min_arena(&t, bump_make, NULL, 1, 2, 1), 664);
    /* a prefix of 2 ops needs 104 + 200 */
    hkt_truncate(&t, 2);
    HK_CHECK_EQ(hkr_min_arena(&t, bump_make, NULL, 8, 64, 8), 304);
    hkt_free(&t);
}

static void test_golden_percentiles(void)
{
    uint64_t v[1000];
    for (int i = 0; i < 1000; i++)
        v[i] = (uint64_t)(1000 - i); /* 1000..1, sorted by the call */
    HK_CHECK_EQ(hkr_percentile(v, 1000, 500), 500);
    HK_CHECK_EQ(hkr_percentile(v, 1000, 990), 990);
    HK_CHECK_EQ(hkr_percentile(v, 1000, 999), 999);
    HK_CHECK_EQ(hkr_percentile(v, 1000, 1000), 1000);
    uint64_t one = 42;
    HK_CHECK_EQ(hkr_percentile(&one, 1, 500), 42);
    HK_CHECK_EQ(hkr_percentile(&one, 0, 500), 0);
    uint64_t t0 = hkr_cycles(), t1 = hkr_cycles();
    HK_CHECK(t1 >= t0);
}

/* An allocator that hands out overlapping blocks: the pattern check must
 * catch it. */
static unsigned char shared_block[256];
static void *overlap_malloc(void *ctx, size_t n)
{
    (void)ctx;
    return n <= sizeof shared_block ? shared_block : NULL;
}

static void test_replay_detects_overlap(void)
{
    hkt_trace_t t;
    char err[200];
    HK_REQUIRE(parse("0\n2\n4\n1\na 0 64\na 1 64\nf 0\nf 1\n", &t, err, sizeof err) == 0);
    hkr_alloc_t a;
    memset(&a, 0, sizeof a);
    a.malloc_fn = overlap_malloc;
    a.free_fn = bump_free;
    hkr_opts_t o;
    memset(&o, 0, sizeof o);
    o.fill = true;
    hkr_result_t r;
    HK_CHECK(hkr_run(&t, &a, &o, &r) == -1);
    HK_CHECK(!r.ok);
    HK_CHECK_EQ(r.failed_op, 2);
    HK_CHECK(strstr(r.why, "contents changed") != NULL);
    /* without the check it goes through */
    o.fill = false;
    HK_CHECK(hkr_run(&t, &a, &o, &r) == 0);
    hkt_free(&t);
}

/* ---- replay on heapkit, every policy, validate after every op -------------- */
typedef struct {
    hk_heap_t *h;
} hctx_t;
static void *h_malloc(void *c, size_t n) { return hk_heap_alloc(((hctx_t *)c)->h, n); }
static void h_free(void *c, void *p) { hk_heap_free(((hctx_t *)c)->h, p); }
static void *h_realloc(void *c, void *p, size_t n) { return hk_heap_realloc(((hctx_t *)c)->h, p, n); }
static void *h_calloc(void *c, size_t k, size_t n) { return hk_heap_calloc(((hctx_t *)c)->h, k, n); }
static void *h_memalign(void *c, size_t al, size_t n)
{
    return hk_heap_aligned_alloc(((hctx_t *)c)->h, al, n);
}
static int h_validate(void *c) { return hk_heap_validate(((hctx_t *)c)->h); }

/* A generated trace with every op kind, written as text and parsed, so the
 * parser and the replay engine are exercised together. */
static char *make_trace(unsigned seed, size_t nops, size_t nids)
{
    size_t cap = 64 + nops * 40, len = 0;
    char *s = malloc(cap);
    unsigned char *live = calloc(nids, 1);
    hk_rng_t rng;
    hk_rng_seed(&rng, seed);
    len += (size_t)snprintf(s + len, cap - len, "0\n%zu\n%zu\n1\n", nids, nops);
    size_t done = 0, nlive = 0;
    while (done < nops) {
        size_t id = (size_t)hk_rng_below(&rng, nids);
        size_t left = nops - done;
        if (live[id] && (left <= nlive || hk_rng_below(&rng, 3) == 0)) {
            if (left > nlive && hk_rng_below(&rng, 3) == 0) {
                len += (size_t)snprintf(s + len, cap - len, "r %zu %u\n", id,
                                        (unsigned)hk_rng_below(&rng, 3000) + 1);
            } else {
                len += (size_t)snprintf(s + len, cap - len, "f %zu\n", id);
                live[id] = 0;
                nlive--;
            }
            done++;
        } else if (!live[id] && left > nlive + 1) {
            unsigned k = (unsigned)hk_rng_below(&rng, 4), sz = (unsigned)hk_rng_below(&rng, 2000);
            if (k == 0)
                len += (size_t)snprintf(s + len, cap - len, "m %zu %u %u\n", id,
                                        1u << (3 + hk_rng_below(&rng, 8)), sz);
            else if (k == 1)
                len += (size_t)snprintf(s + len, cap - len, "c %zu %u %u\n", id,
                                        1 + (unsigned)hk_rng_below(&rng, 8), sz / 8);
            else
                len += (size_t)snprintf(s + len, cap - len, "a %zu %u\n", id, sz);
            live[id] = 1;
            nlive++;
            done++;
        }
    }
    free(live);
    return s;
}

static void test_replay_heapkit_policies(void)
{
    char *text = make_trace(1234, 3000, 200);
    hkt_trace_t t;
    char err[200];
    int prc = hkt_parse(text, strlen(text), "gen", &t, err, sizeof err);
    if (prc != 0)
        hk_test_printf("  %s\n", err);
    HK_REQUIRE(prc == 0);
    HK_CHECK(t.n_realloc > 0);
    static unsigned char arena[1 << 20] __attribute__((aligned(64)));
    const hk_fit_t fits[3] = {HK_FIT_TLSF, HK_FIT_FIRST, HK_FIT_BEST};
    hk_test_capture_errors();
    for (int f = 0; f < 3; f++) {
        hk_heap_config_t cfg;
        memset(&cfg, 0, sizeof cfg);
        cfg.fit = fits[f];
        hctx_t c = {hk_heap_init(arena, sizeof arena, &cfg)};
        HK_REQUIRE(c.h != NULL);
        hkr_alloc_t a = {"heap", &c, h_malloc, h_free, h_realloc, h_calloc, h_memalign};
        hkr_opts_t o;
        memset(&o, 0, sizeof o);
        o.fill = true;
        o.free_leftovers = true;
        o.validate = h_validate;
        o.validate_every = 1;
        o.sctx = &c;
        hkr_result_t r;
        int rc = hkr_run(&t, &a, &o, &r);
        if (rc != 0)
            hk_test_printf("  policy %d: %s\n", f, r.why);
        HK_CHECK(rc == 0);
        HK_CHECK(hk_heap_validate(c.h) == 0);
        hk_stats_t st;
        hk_heap_get_stats(c.h, &st);
        HK_CHECK_EQ(st.used_blocks, 0);
        HK_CHECK_EQ(st.free_blocks, 1);
    }
    HK_CHECK_EQ(hk_test_errors.count, 0);
    hkt_free(&t);
    free(text);
}

HK_SUITE(trace_parse)
{
    HK_RUN(test_parse_cmu);
    HK_RUN(test_parse_extensions);
    HK_RUN(test_parse_errors);
    HK_RUN(test_parse_never_crashes);
    HK_RUN(test_write_roundtrip);
    HK_RUN(test_load_files);
}

HK_SUITE(trace_metrics)
{
    HK_RUN(test_golden_metrics);
    HK_RUN(test_golden_percentiles);
    HK_RUN(test_replay_detects_overlap);
    HK_RUN(test_replay_heapkit_policies);
}
