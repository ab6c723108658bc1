/* SPDX-License-Identifier: MIT */
/*
 * hk_size.c - hk-size: how big must the heap be for this trace, and which
 * policy and configuration need the least?
 *
 *     hk-size [options] TRACE.rep
 *
 * For every fit policy and every build configuration it was built with
 * (HK_ALIGN 8/16 x HK_TLSF_SLI 3/4/5, for a 32-bit and a 64-bit target; on
 * 32-bit HK_TLSF_SLI is the most a heap uses, each heap choosing its own
 * from its size, so heaps under 128 KiB get the same classes in all three), it
 * finds the smallest heap in which the trace runs, the control-structure
 * bytes in it, and the fragmentation the run showed; it then recommends a
 * size. The measuring is done by the cores (size_core.c), one executable per
 * configuration next to this one; this file runs them and reports.
 *
 * The numbers:
 *   smallest     exact, to the heap's granule (HK_ALIGN): smallest works and
 *                smallest - granule does not, for this sequence of requests;
 *   margin       the slack the smallest heap needed: its fewest free bytes at
 *                any point of the run (at the peak of use), rounded up to the
 *                granule. Those bytes were never in use at once, yet one
 *                granule less fails: they are what fragmentation cost this
 *                run, and a run that interleaves a little differently can
 *                cost about as much again;
 *   recommended  smallest + margin, rounded up to 256 bytes.
 * Plain output starts with one line per policy for the chosen configuration,
 * "<policy> smallest=<bytes> recommended=<bytes>", for scripts.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hk_trace.h"

#define NPOL 3
#define MAXCFG 16

static const char *const pol_names[NPOL] = {"tlsf", "first", "best"};
static const char *const pol_long[NPOL] = {"TLSF", "first fit", "best fit"};

typedef struct {
    size_t off, size;
    bool used;
} blk_t;

typedef struct {
    bool ok, below_fails;
    size_t smallest, bisected, control, stranded, min_free, tight_op, margin, recommended;
    unsigned raised;
    bool exact;
    blk_t *blocks;
    size_t nblocks;
} pol_t;

typedef struct {
    char name[32];
    unsigned word, align, sli, granule;
    size_t min_heap;
    bool ok;
    pol_t pol[NPOL];
} cfg_t;

static cfg_t cfgs[MAXCFG];
static size_t ncfg;

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "hk-size: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    exit(2);
}

static size_t round_up(size_t x, size_t a)
{
    return (x + a - 1) / a * a;
}

/* ---- running the cores --------------------------------------------------- */
static char self_dir[PATH_MAX];

/* Starts `core trace` with its stdout on a pipe; returns the read end. */
static char budget_arg[32] = "20000000";

static FILE *core_start(const char *core, const char *trace, pid_t *pid)
{
    int fds[2];
    if (pipe(fds) != 0)
        return NULL;
    fflush(NULL);
    *pid = fork();
    if (*pid < 0)
        return NULL;
    if (*pid == 0) {
        close(fds[0]);
        dup2(fds[1], 1);
        close(fds[1]);
        execl(core, core, trace, budget_arg, (char *)NULL);
        fprintf(stderr, "hk-size: cannot run %s: %s\n", core, strerror(errno));
        _exit(127);
    }
    close(fds[1]);
    return fdopen(fds[0], "r");
}

static void core_read(FILE *f, cfg_t *c)
{
    char line[256];
    pol_t *p = NULL;
    size_t cap = 0;
    while (fgets(line, sizeof line, f)) {
        char key[32];
        unsigned long long v = 0;
        if (sscanf(line, "%31s", key) != 1)
            continue;
        const char *val = line + strlen(key);
        if (!strcmp(key, "policy")) {
            char nm[16] = "";
            sscanf(val, "%15s", nm);
            p = NULL;
            for (int k = 0; k < NPOL; k++)
                if (!strcmp(nm, pol_names[k]))
                    p = &c->pol[k];
            cap = 0;
            continue;
        }
        if (!strcmp(key, "block") && p) {
            unsigned long long off, size;
            int used;
            if (sscanf(val, "%llu %llu %d", &off, &size, &used) != 3)
                continue;
            if (p->nblocks == cap) {
                cap = cap ? cap * 2 : 256;
                blk_t *nb = realloc(p->blocks, cap * sizeof *nb);
                if (!nb)
                    die("out of memory");
                p->blocks = nb;
            }
            p->blocks[p->nblocks++] = (blk_t){(size_t)off, (size_t)size, used != 0};
            continue;
        }
        if (!strcmp(key, "config")) {
            sscanf(val, "%31s", c->name);
            continue;
        }
        if (!strcmp(key, "error")) {
            fprintf(stderr, "hk-size: %s:%s", c->name, val);
            continue;
        }
        if (sscanf(val, "%llu", &v) != 1)
            continue;
        if (!strcmp(key, "word")) c->word = (unsigned)v;
        else if (!strcmp(key, "align")) c->align = (unsigned)v;
        else if (!strcmp(key, "sli")) c->sli = (unsigned)v;
        else if (!strcmp(key, "granule")) c->granule = (unsigned)v;
        else if (!strcmp(key, "min_heap")) c->min_heap = (size_t)v;
        else if (p && !strcmp(key, "smallest")) p->smallest = (size_t)v;
        else if (p && !strcmp(key, "below_fails")) p->below_fails = v != 0;
        else if (p && !strcmp(key, "bisected")) p->bisected = (size_t)v;
        else if (p && !strcmp(key, "exact")) p->exact = v != 0;
        else if (p && !strcmp(key, "margin")) p->margin = (size_t)v;
        else if (p && !strcmp(key, "recommended")) p->recommended = (size_t)v;
        else if (p && !strcmp(key, "raised")) p->raised = (unsigned)v;
        else if (p && !strcmp(key, "control")) p->control = (size_t)v;
        else if (p && !strcmp(key, "stranded")) p->stranded = (size_t)v;
        else if (p && !strcmp(key, "min_free")) p->min_free = (size_t)v;
        else if (p && !strcmp(key, "tight_op")) p->tight_op = (size_t)v;
    }
}

/* Runs the cores for the word size, `jobs` at a time. */
static void run_cores(const char *trace, unsigned word, unsigned jobs)
{
    static const unsigned aligns[2] = {8, 16}, slis[3] = {3, 4, 5};
    char paths[MAXCFG][PATH_MAX + 64];
    size_t n = 0;
    for (int a = 0; a < 2; a++)
        for (int s = 0; s < 3; s++) {
            if (word == 8 && aligns[a] < 8)
                continue;
            snprintf(paths[n], sizeof paths[n], "%s/hk-size-core-w%u-a%u-s%u", self_dir, word,
                     aligns[a], slis[s]);
            if (access(paths[n], X_OK) == 0)
                n++;
        }
    if (n == 0)
        die("no measuring cores for %u-byte words next to hk-size in %s (built without %s?)",
            word, self_dir, word == 4 ? "gcc -m32 support: apt-get install gcc-multilib" : "them");
    for (size_t i = 0; i < n; i += jobs) {
        FILE *f[MAXCFG];
        pid_t pid[MAXCFG];
        size_t m = i + jobs < n ? jobs : n - i;
        for (size_t k = 0; k < m; k++) {
            f[k] = core_start(paths[i + k], trace, &pid[k]);
            if (!f[k])
                die("cannot start %s", paths[i + k]);
        }
        /* each core's output is small until its blocks; read them in turn
         * (a pipe's buffer holds what the others write meanwhile, and they
         * block only once it is full, so none waits on another) */
        for (size_t k = 0; k < m; k++) {
            cfg_t *c = &cfgs[ncfg++];
            memset(c, 0, sizeof *c);
            core_read(f[k], c);
            fclose(f[k]);
            int st;
            while (waitpid(pid[k], &st, 0) < 0 && errno == EINTR) {
            }
            c->ok = WIFEXITED(st) && WEXITSTATUS(st) == 0;
            if (!c->ok)
                fprintf(stderr, "hk-size: %s failed (status %d)\n", paths[i + k],
                        WIFEXITED(st) ? WEXITSTATUS(st) : -1);
            for (int p = 0; p < NPOL; p++) {
                pol_t *q = &c->pol[p];
                q->ok = q->smallest > 0 && q->recommended >= q->smallest;
            }
        }
    }
}

/* ---- output --------------------------------------------------------------- */
static const cfg_t *find_cfg(unsigned word, unsigned align, unsigned sli)
{
    for (size_t i = 0; i < ncfg; i++)
        if (cfgs[i].word == word && cfgs[i].align == align && cfgs[i].sli == sli && cfgs[i].ok)
            return &cfgs[i];
    return NULL;
}

static int best_pol(const cfg_t *c)
{
    int b = -1;
    for (int p = 0; p < NPOL; p++)
        if (c->pol[p].ok && (b < 0 || c->pol[p].recommended < c->pol[b].recommended ||
                             (c->pol[p].recommended == c->pol[b].recommended &&
                              c->pol[p].smallest < c->pol[b].smallest)))
            b = p;
    return b;
}

static void kib(char *buf, size_t n, size_t bytes)
{
    if (bytes % 1024 == 0)
        snprintf(buf, n, "%zu KiB", bytes / 1024);
    else
        snprintf(buf, n, "%.2f KiB", (double)bytes / 1024.0);
    /* 23.50 -> 23.5 */
    char *dot = strchr(buf, '.');
    if (dot && dot[2] == '0')
        memmove(dot + 2, dot + 3, strlen(dot + 3) + 1);
}

static void print_plain(const cfg_t *sel)
{
    for (int p = 0; p < NPOL; p++)
        if (sel->pol[p].ok)
            printf("%s smallest=%zu recommended=%zu\n", pol_names[p], sel->pol[p].smallest,
                   sel->pol[p].recommended);
}

static void print_table(const hkt_trace_t *t, const char *name, const cfg_t *sel)
{
    printf("\ntrace %s: %zu ops, peak live %llu bytes requested, largest request %llu bytes; "
           "%u-bit target\n",
           name, t->nops, (unsigned long long)t->peak_live, (unsigned long long)t->max_size,
           sel->word * 8);
    printf("%-28s %-6s %9s %8s %7s %7s %11s %8s\n", "configuration", "policy", "smallest",
           "control", "frag", "margin", "recommended", "vs peak");
    for (size_t i = 0; i < ncfg; i++) {
        const cfg_t *c = &cfgs[i];
        if (c->word != sel->word)
            continue;
        char cname[48];
        snprintf(cname, sizeof cname, "HK_ALIGN %u, HK_TLSF_SLI %u%s", c->align, c->sli,
                 c == sel ? " *" : "");
        for (int p = 0; p < NPOL; p++) {
            const pol_t *q = &c->pol[p];
            if (!q->ok) {
                printf("%-28s %-6s %9s\n", p ? "" : cname, pol_names[p], "FAILED");
                continue;
            }
            double frag = q->smallest ? 100.0 * (double)q->min_free / (double)q->smallest : 0;
            printf("%-28s %-6s %9zu %8zu %6.1f%% %7zu %11zu %7.3fx\n", p ? "" : cname,
                   pol_names[p], q->smallest, q->control, frag, q->margin, q->recommended,
                   t->peak_live ? (double)q->smallest / (double)t->peak_live : 0.0);
        }
    }
    bool inexact = false, raised = false;
    for (size_t i = 0; i < ncfg; i++)
        for (int p = 0; p < NPOL; p++)
            if (cfgs[i].word == sel->word && cfgs[i].pol[p].ok) {
                inexact |= !cfgs[i].pol[p].exact;
                raised |= cfgs[i].pol[p].raised > 0;
            }
    if (inexact)
        printf("(some smallest sizes are from the bisection only, which can miss a smaller size "
               "that works: the trace is too long to try every size; raise --scan-budget)\n");
    if (raised)
        printf("(some recommendations were raised above smallest + margin: the rounded size "
               "itself failed, as heap sizes do not fail monotonically)\n");
    printf("(* the configuration of the plain lines above; control: the heap's own structure; "
           "frag: the fewest free bytes during the run, as a share of the smallest heap - what "
           "fragmentation cost; vs peak: smallest / peak live requested bytes)\n");
    int b = best_pol(sel);
    if (b < 0)
        return;
    char k[32];
    kib(k, sizeof k, sel->pol[b].recommended);
    printf("\nrecommendation: use a %s heap (%zu bytes) with %s (HK_ALIGN %u, HK_TLSF_SLI %u): "
           "the trace needs %zu, plus %zu of margin\n",
           k, sel->pol[b].recommended, pol_long[b], sel->align, sel->sli, sel->pol[b].smallest,
           sel->pol[b].recommended - sel->pol[b].smallest);
    /* a knob that saves more */
    const cfg_t *bc = sel;
    int bp = b;
    for (size_t i = 0; i < ncfg; i++) {
        const cfg_t *c = &cfgs[i];
        int p = c->word == sel->word && c->ok ? best_pol(c) : -1;
        /* strictly smaller; among equals, the one that changes fewer knobs */
        if (p >= 0 && (c->pol[p].recommended < bc->pol[bp].recommended ||
                       (bc != sel && c->pol[p].recommended == bc->pol[bp].recommended &&
                        (c->align == sel->align) + (c->sli == sel->sli) >
                            (bc->align == sel->align) + (bc->sli == sel->sli))))
            bc = c, bp = p;
    }
    if (bc != sel)
        printf("  smaller still: %zu bytes with %s when built with HK_ALIGN %u, HK_TLSF_SLI %u\n",
               bc->pol[bp].recommended, pol_long[bp], bc->align, bc->sli);
}

static void print_json(FILE *o, const hkt_trace_t *t, const char *name, const cfg_t *sel)
{
    fprintf(o, "{\n  \"trace\": \"");
    for (const char *s = name; *s; s++)
        fprintf(o, (*s == '"' || *s == '\\') ? "\\%c" : "%c", *s);
    fprintf(o, "\",\n  \"ops\": %zu, \"peak_live\": %llu, \"max_request\": %llu, \"word\": %u,\n",
           t->nops, (unsigned long long)t->peak_live, (unsigned long long)t->max_size,
           sel->word);
    int b = best_pol(sel);
    fprintf(o, "  \"selected\": {\"align\": %u, \"sli\": %u},\n", sel->align, sel->sli);
    if (b >= 0)
        fprintf(o, "  \"recommendation\": {\"policy\": \"%s\", \"bytes\": %zu, \"smallest\": %zu},\n",
               pol_names[b], sel->pol[b].recommended, sel->pol[b].smallest);
    fprintf(o, "  \"results\": [\n");
    bool first = true;
    for (size_t i = 0; i < ncfg; i++) {
        const cfg_t *c = &cfgs[i];
        for (int p = 0; p < NPOL; p++) {
            const pol_t *q = &c->pol[p];
            fprintf(o, "%s    {\"align\": %u, \"sli\": %u, \"policy\": \"%s\", \"ok\": %s, "
                   "\"smallest\": %zu, \"exact\": %s, \"bisected\": %zu, "
                   "\"smallest_minus_granule_fails\": %s, \"granule\": %u, \"raised\": %u, "
                   "\"control\": %zu, \"stranded\": %zu, \"margin\": %zu, \"recommended\": %zu, "
                   "\"min_free\": %zu, \"tight_op\": %zu}",
                   first ? "" : ",\n", c->align, c->sli, pol_names[p], q->ok ? "true" : "false",
                   q->smallest, q->exact ? "true" : "false", q->bisected,
                   q->below_fails ? "true" : "false", c->granule, q->raised, q->control,
                   q->stranded, q->margin, q->recommended, q->min_free, q->tight_op);
            first = false;
        }
    }
    fprintf(o, "\n  ]\n}\n");
}

/* ---- the picture ------------------------------------------------------------
 * Top: the heap size each policy needs, one bar per configuration: the
 * control structure, the rest of the smallest heap, the margin. Bottom: the
 * recommended policy's heap at its tightest point, drawn as rows of a round
 * number of bytes with a byte scale, so that headers are visible. */
static size_t nice_row(size_t bytes)
{
    static const size_t steps[] = {256, 512, 1024, 2048, 4096, 8192, 16384, 32768, 65536,
                                   131072, 262144, 524288, 1048576};
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++)
        if (bytes / steps[i] <= 24)
            return steps[i];
    return round_up(bytes / 24, 1048576);
}

static void fmt_bytes(char *b, size_t n, size_t v)
{
    if (v >= 1048576 && v % 1048576 == 0)
        snprintf(b, n, "%zu MiB", v / 1048576);
    else if (v >= 1024 && v % 1024 == 0)
        snprintf(b, n, "%zu KiB", v / 1024);
    else
        snprintf(b, n, "%zu", v);
}

static int write_svg(const char *path, const char *name, const hkt_trace_t *t, const cfg_t *sel)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    const int W = 900, left = 200, barw = W - left - 120;
    size_t nbars = 0, maxrec = 0;
    for (size_t i = 0; i < ncfg; i++)
        if (cfgs[i].word == sel->word)
            for (int p = 0; p < NPOL; p++)
                if (cfgs[i].pol[p].ok) {
                    nbars++;
                    if (cfgs[i].pol[p].recommended > maxrec)
                        maxrec = cfgs[i].pol[p].recommended;
                }
    int b = best_pol(sel);
    const pol_t *mp = b >= 0 ? &sel->pol[b] : NULL;
    size_t heap = mp ? mp->smallest : 0;
    size_t row = nice_row(heap ? heap : 1);
    size_t rows = heap ? (heap + row - 1) / row : 0;
    const int bar_h = 12, chart_top = 60;
    int chart_h = (int)nbars * (bar_h + 3) + NPOL * 10 + 40;
    int map_top = chart_top + chart_h + 50, row_h = 14;
    int H = map_top + 40 + (int)rows * (row_h + 4) + 60;
    fprintf(f,
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
            "font-family=\"sans-serif\" font-size=\"11\">\n"
            "<rect width=\"100%%\" height=\"100%%\" fill=\"#fff\"/>\n"
            "<text x=\"10\" y=\"20\" font-size=\"15\">Heap size needed for %s (%zu ops, peak "
            "live %llu bytes, %u-bit target)</text>\n"
            "<text x=\"10\" y=\"38\">bars: control structure (dark grey), the rest of the "
            "smallest heap (blue), safety margin from fragmentation (light blue); * = the "
            "chosen configuration</text>\n",
            W, H, name, t->nops, (unsigned long long)t->peak_live, sel->word * 8);
    double sx = maxrec ? (double)barw / (double)maxrec : 0;
    int y = chart_top;
    for (int p = 0; p < NPOL; p++) {
        fprintf(f, "<text x=\"10\" y=\"%d\" font-weight=\"bold\">%s</text>\n", y + 10,
                pol_long[p]);
        for (size_t i = 0; i < ncfg; i++) {
            const cfg_t *c = &cfgs[i];
            const pol_t *q = &c->pol[p];
            if (c->word != sel->word || !q->ok)
                continue;
            fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">align %u, sli %u%s</text>\n",
                    left - 6, y + 10, c->align, c->sli, c == sel ? " *" : "");
            double wc = sx * (double)q->control, ws = sx * (double)q->smallest,
                   wr = sx * (double)q->recommended;
            fprintf(f,
                    "<rect x=\"%d\" y=\"%d\" width=\"%.1f\" height=\"%d\" fill=\"#3b6fb6\"/>\n"
                    "<rect x=\"%d\" y=\"%d\" width=\"%.1f\" height=\"%d\" fill=\"#555\"/>\n"
                    "<rect x=\"%.1f\" y=\"%d\" width=\"%.1f\" height=\"%d\" fill=\"#a9c7ee\"/>\n"
                    "<text x=\"%.1f\" y=\"%d\">%zu (+%zu)</text>\n",
                    left, y, ws, bar_h, left, y, wc < 1 ? 1.0 : wc, bar_h, left + ws, y,
                    wr - ws, bar_h, left + wr + 4, y + 10, q->smallest,
                    q->recommended - q->smallest);
            y += bar_h + 3;
        }
        y += 10;
    }
    /* axis */
    fprintf(f, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#000\"/>\n", left, y,
            left + barw, y);
    for (int k = 0; k <= 4; k++) {
        size_t v = maxrec / 4 * (size_t)k;
        char lb[32];
        fmt_bytes(lb, sizeof lb, v);
        fprintf(f,
                "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#000\"/>"
                "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%s</text>\n",
                left + sx * (double)v, y, left + sx * (double)v, y + 4, left + sx * (double)v,
                y + 16, lb);
    }
    if (mp) {
        size_t nused = 0, nfree = 0;
        for (size_t i = 0; i < mp->nblocks; i++)
            mp->blocks[i].used ? nused++ : nfree++;
        char rl[32];
        fmt_bytes(rl, sizeof rl, row);
        fprintf(f,
                "<text x=\"10\" y=\"%d\" font-size=\"13\">Heap map: %s, %zu-byte heap (the "
                "smallest) at its tightest point (after op %zu, %zu bytes free): %zu used "
                "block%s, %zu free block%s</text>\n"
                "<text x=\"10\" y=\"%d\">each row is %s bytes; used (requested bytes) blue, free "
                "green, control structure, headers and rounding grey</text>\n",
                map_top, pol_long[b], heap, mp->tight_op, mp->min_free, nused,
                nused == 1 ? "" : "s", nfree, nfree == 1 ? "" : "s", map_top + 16, rl);
        const int mx = 80, mw = W - mx - 20;
        double bx = (double)mw / (double)row;
        int y0 = map_top + 30;
        /* byte scale along the top */
        for (int k = 0; k <= 4; k++) {
            size_t v = row / 4 * (size_t)k;
            char lb[32];
            fmt_bytes(lb, sizeof lb, v);
            fprintf(f, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">+%s</text>\n",
                    mx + bx * (double)v, y0 + 8, lb);
        }
        y0 += 14;
        for (size_t r = 0; r < rows; r++) {
            char lb[32];
            fmt_bytes(lb, sizeof lb, r * row);
            size_t len = r + 1 < rows ? row : heap - r * row;
            fprintf(f,
                    "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">%s</text>\n"
                    "<rect x=\"%d\" y=\"%d\" width=\"%.1f\" height=\"%d\" fill=\"#555\"/>\n",
                    mx - 6, y0 + (int)r * (row_h + 4) + 11, lb, mx, y0 + (int)r * (row_h + 4),
                    bx * (double)len, row_h);
        }
        for (size_t i = 0; i < mp->nblocks; i++) {
            const blk_t *k = &mp->blocks[i];
            size_t lo = k->off, hi = k->off + k->size;
            while (lo < hi) {
                size_t r = lo / row, end = (r + 1) * row < hi ? (r + 1) * row : hi;
                fprintf(f,
                        "<rect x=\"%.2f\" y=\"%d\" width=\"%.2f\" height=\"%d\" "
                        "fill=\"%s\"/>\n",
                        mx + bx * (double)(lo - r * row), y0 + (int)r * (row_h + 4),
                        bx * (double)(end - lo), row_h, k->used ? "#3b6fb6" : "#9be29b");
                lo = end;
            }
        }
    }
    fprintf(f, "</svg>\n");
    return fclose(f) == 0 ? 0 : -1;
}

/* ---- main ------------------------------------------------------------------ */
static void usage(FILE *o)
{
    fprintf(o,
            "usage: hk-size [options] TRACE.rep\n"
            "The smallest heap for the trace per fit policy and build configuration, a safety\n"
            "margin from the fragmentation seen, and a recommendation.\n"
            "  --word N      the target's pointer size in bytes: 4 (default) or 8\n"
            "  --align N     HK_ALIGN of your build (default: 8)\n"
            "  --sli N       HK_TLSF_SLI of your build (default: 4)\n"
            "  --plain       only the lines '<policy> smallest=<bytes> recommended=<bytes>'\n"
            "  --json        JSON instead of the table\n"
            "  --svg FILE    the picture: size needed per policy, heap map at the tightest point\n"
            "  --json-file F also write the JSON to F\n"
            "  --scan-budget N  try every size below the bisection's when sizes x ops <= N\n"
            "                (default 20000000; 0: bisection only, faster, may miss smaller)\n"
            "  --jobs N      cores run at once (default 2)\n"
            "Exit status: 0, 1 when a measurement failed, 2 on bad usage or input.\n");
}

static unsigned parse_uint(const char *s, const char *what)
{
    char *e;
    errno = 0;
    unsigned long v = strtoul(s, &e, 10);
    if (errno || *e || e == s || v > 1u << 20)
        die("bad %s '%s'", what, s);
    return (unsigned)v;
}

int main(int argc, char **argv)
{
    unsigned word = 4, align = 8, sli = 4, jobs = 2;
    bool plain = false, json = false;
    const char *svg = NULL, *json_file = NULL;
    static const struct option longs[] = {
        {"word", required_argument, NULL, 'w'}, {"align", required_argument, NULL, 'a'},
        {"sli", required_argument, NULL, 's'},  {"plain", no_argument, NULL, 'p'},
        {"json", no_argument, NULL, 'j'},       {"svg", required_argument, NULL, 'g'},
        {"jobs", required_argument, NULL, 'J'}, {"help", no_argument, NULL, 'h'},
        {"json-file", required_argument, NULL, 'F'}, {"scan-budget", required_argument, NULL, 'B'},
        {NULL, 0, NULL, 0}};
    int c;
    while ((c = getopt_long(argc, argv, "h", longs, NULL)) != -1) {
        switch (c) {
        case 'w': word = parse_uint(optarg, "word size"); break;
        case 'a': align = parse_uint(optarg, "alignment"); break;
        case 's': sli = parse_uint(optarg, "SLI"); break;
        case 'p': plain = true; break;
        case 'j': json = true; break;
        case 'g': svg = optarg; break;
        case 'J': jobs = parse_uint(optarg, "job count"); break;
        case 'F': json_file = optarg; break;
        case 'B': {
            char *e;
            errno = 0;
            unsigned long long v = strtoull(optarg, &e, 10);
            if (errno || *e || e == optarg)
                die("bad scan budget '%s'", optarg);
            snprintf(budget_arg, sizeof budget_arg, "%llu", v);
            break;
        }
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind + 1 != argc) {
        usage(stderr);
        return 2;
    }
    if (word != 4 && word != 8)
        die("--word must be 4 or 8");
    if (align != 8 && align != 16)
        die("--align must be 8 or 16 (the configurations hk-size measures)");
    if (sli < 3 || sli > 5)
        die("--sli must be 3, 4 or 5");
    if (jobs < 1 || jobs > MAXCFG)
        jobs = 2;
    const char *path = argv[optind];
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0)
        die("cannot find my own directory");
    exe[n] = 0;
    char *slash = strrchr(exe, '/');
    *slash = 0;
    snprintf(self_dir, sizeof self_dir, "%s", exe);

    hkt_trace_t t;
    char err[400];
    if (hkt_load(path, &t, err, sizeof err) != 0)
        die("%s", err);
    if (t.nops == 0)
        die("%s: an empty trace needs no heap", path);
    /* the cores read a plain copy (they are built without liblzma) */
    char tmp[] = "/tmp/hk-size-XXXXXX";
    int fd = mkstemp(tmp);
    FILE *tf = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (!tf || hkt_write(tf, &t) != 0 || fclose(tf) != 0)
        die("cannot write a temporary trace in /tmp");
    run_cores(tmp, word, jobs);
    unlink(tmp);
    const cfg_t *sel = find_cfg(word, align, sli);
    if (!sel)
        die("no result for HK_ALIGN %u, HK_TLSF_SLI %u on a %u-byte-word target", align, sli,
            word);
    const char *name = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
    int status = 0;
    for (size_t i = 0; i < ncfg; i++)
        for (int p = 0; p < NPOL; p++)
            if (!cfgs[i].ok || !cfgs[i].pol[p].ok)
                status = 1;
    if (json_file) {
        FILE *jf = fopen(json_file, "w");
        if (!jf)
            die("cannot write %s: %s", json_file, strerror(errno));
        print_json(jf, &t, name, sel);
        if (fclose(jf) != 0)
            status = 1;
    }
    if (json) {
        print_json(stdout, &t, name, sel);
    } else {
        print_plain(sel);
        if (!plain)
            print_table(&t, name, sel);
    }
    if (svg && write_svg(svg, name, &t, sel) != 0) {
        fprintf(stderr, "hk-size: cannot write %s\n", svg);
        status = 1;
    }
    for (size_t i = 0; i < ncfg; i++)
        for (int p = 0; p < NPOL; p++)
            free(cfgs[i].pol[p].blocks);
    hkt_free(&t);
    return status;
}
