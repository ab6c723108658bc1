/* SPDX-License-Identifier: MIT */
/*
 * hk_trace.c - the trace parser and writer.
 *
 * The parser is one pass over the bytes with a cursor that can never run past
 * the end: every token is read by a function that takes the end pointer, and
 * numbers are accumulated with an explicit overflow check. It keeps a
 * liveness bit and the live size per id, so it can reject a free of a dead id
 * and compute the peak live requested bytes (the denominator of the memory
 * efficiency figure) in the same pass. The declared op count is only checked,
 * never trusted for allocation: the op array grows as lines are read.
 */
#define _GNU_SOURCE
#include "hk_trace.h"

#include <errno.h>
#if defined(HK_TRACE_LZMA) && HK_TRACE_LZMA
#include <lzma.h>
#endif
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define HKT_MAX_IDS (1u << 25)
#define HKT_MAX_OPS ((size_t)1 << 30)

uint64_t hkt_op_bytes(const hkt_op_t *op)
{
    switch (op->kind) {
    case HKT_CALLOC: return op->arg * op->size; /* checked at parse time */
    case HKT_FREE: return 0;
    default: return op->size;
    }
}

void hkt_free(hkt_trace_t *t)
{
    if (!t)
        return;
    free(t->ops);
    memset(t, 0, sizeof *t);
}

typedef struct {
    const char *p, *end;  /* cursor within the current line */
    const char *name;
    size_t line;
    char *err;
    size_t errlen;
} cursor_t;

static int fail(cursor_t *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(cursor_t *c, const char *fmt, ...)
{
    if (c->errlen == 0)
        return -1;
    int n = snprintf(c->err, c->errlen, "%s:%zu: ", c->name, c->line);
    if (n >= 0 && (size_t)n < c->errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(c->err + n, c->errlen - (size_t)n, fmt, ap);
        va_end(ap);
    }
    return -1;
}

static void skip_blanks(cursor_t *c)
{
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\r'))
        c->p++;
}

static bool at_eol(cursor_t *c)
{
    skip_blanks(c);
    return c->p >= c->end;
}

/* Reads an unsigned decimal number followed by a blank or the end of the
 * line. Returns 0, or -1 (nothing, not a number, overflow). */
static int read_u64(cursor_t *c, uint64_t *out)
{
    skip_blanks(c);
    const char *start = c->p;
    if (c->p >= c->end || *c->p < '0' || *c->p > '9')
        return -1;
    uint64_t v = 0;
    while (c->p < c->end && *c->p >= '0' && *c->p <= '9') {
        unsigned d = (unsigned)(*c->p - '0');
        if (v > (UINT64_MAX - d) / 10) {
            c->p = start; /* so the message quotes the whole token */
            return -1;
        }
        v = v * 10 + d;
        c->p++;
    }
    if (c->p < c->end && *c->p != ' ' && *c->p != '\t' && *c->p != '\r') {
        c->p = start;
        return -1;
    }
    *out = v;
    return 0;
}

/* Copies a short printable excerpt of the current token for a message. */
static const char *token_excerpt(cursor_t *c, char *buf, size_t n)
{
    skip_blanks(c);
    size_t i = 0;
    for (const char *q = c->p; q < c->end && i + 1 < n && *q != ' ' && *q != '\t'; q++)
        buf[i++] = (*q >= 0x20 && *q < 0x7f) ? *q : '?';
    buf[i] = 0;
    return buf;
}

/* The largest request the parser accepts: what a size_t of this host holds,
 * with room for an allocator's rounding. */
#define HKT_MAX_SIZE ((uint64_t)(SIZE_MAX / 2))

int hkt_parse(const char *text, size_t len, const char *name, hkt_trace_t *t,
              char *err, size_t errlen)
{
    memset(t, 0, sizeof *t);
    if (errlen)
        err[0] = 0;
    cursor_t c = {NULL, NULL, name ? name : "<trace>", 0, err, errlen};
    const char *pos = text, *end = text + len;
    uint64_t header[4];
    int nheader = 0;
    static const char *const header_names[4] = {"suggested heap size", "number of ids",
                                                "number of ops", "weight"};
    uint8_t *live = NULL;
    uint64_t *live_size = NULL;
    size_t cap = 0;
    uint64_t live_bytes = 0;
    char tok[24];
    int rc = -1;

    if (!text && len)
        return fail(&c, "no input");
    while (pos < end) {
        const char *nl = memchr(pos, '\n', (size_t)(end - pos));
        const char *eol = nl ? nl : end;
        c.p = pos;
        c.end = eol;
        c.line++;
        pos = nl ? nl + 1 : end;
        if (at_eol(&c) || *c.p == '#')
            continue;
        if (nheader < 4) {
            uint64_t v;
            if (read_u64(&c, &v) != 0 || !at_eol(&c)) {
                fail(&c, "header line %d (%s) is not a number", nheader + 1,
                     header_names[nheader]);
                goto out;
            }
            if (nheader == 1 && v > HKT_MAX_IDS) {
                fail(&c, "number of ids %llu is above the limit %u", (unsigned long long)v,
                     HKT_MAX_IDS);
                goto out;
            }
            if (nheader == 2 && v > HKT_MAX_OPS) {
                fail(&c, "number of ops %llu is above the limit %zu", (unsigned long long)v,
                     HKT_MAX_OPS);
                goto out;
            }
            header[nheader++] = v;
            if (nheader == 4) {
                t->heap_hint = header[0];
                t->nids = (uint32_t)header[1];
                t->weight = header[3] > UINT32_MAX ? UINT32_MAX : (uint32_t)header[3];
                live = calloc(t->nids ? t->nids : 1, 1);
                live_size = calloc(t->nids ? t->nids : 1, sizeof *live_size);
                if (!live || !live_size) {
                    fail(&c, "out of memory for %u ids", t->nids);
                    goto out;
                }
            }
            continue;
        }
        /* An operation line. */
        char k = *c.p++;
        if (k != 'a' && k != 'f' && k != 'r' && k != 'm' && k != 'c') {
            fail(&c, "bad op '%c' (expected a, f, r, m or c)",
                 (k >= 0x20 && k < 0x7f) ? k : '?');
            goto out;
        }
        if (c.p < c.end && *c.p != ' ' && *c.p != '\t') {
            c.p--;
            fail(&c, "bad op '%s' (expected a, f, r, m or c)", token_excerpt(&c, tok, sizeof tok));
            goto out;
        }
        uint64_t id, a1 = 0, a2 = 0;
        if (read_u64(&c, &id) != 0) {
            fail(&c, "id '%s' does not parse", token_excerpt(&c, tok, sizeof tok));
            goto out;
        }
        if (id >= t->nids) {
            fail(&c, "id %llu out of range (the header declares %u ids)",
                 (unsigned long long)id, t->nids);
            goto out;
        }
        int nargs = (k == 'f') ? 0 : (k == 'm' || k == 'c') ? 2 : 1;
        if (nargs >= 1 && read_u64(&c, &a1) != 0) {
            fail(&c, "%s '%s' does not parse", k == 'm' ? "alignment" : k == 'c' ? "count" : "size",
                 token_excerpt(&c, tok, sizeof tok));
            goto out;
        }
        if (nargs == 2 && read_u64(&c, &a2) != 0) {
            fail(&c, "size '%s' does not parse", token_excerpt(&c, tok, sizeof tok));
            goto out;
        }
        if (!at_eol(&c)) {
            fail(&c, "unexpected '%s' after the operation", token_excerpt(&c, tok, sizeof tok));
            goto out;
        }
        hkt_op_t op = {(uint8_t)k, (uint32_t)id, 0, 0};
        if (k == 'a' || k == 'r') {
            op.size = a1;
        } else if (k == 'm') {
            op.arg = a1;
            op.size = a2;
            if (a1 == 0 || (a1 & (a1 - 1)) != 0) {
                fail(&c, "alignment %llu is not a power of two", (unsigned long long)a1);
                goto out;
            }
            if (a1 > HKT_MAX_SIZE) {
                fail(&c, "alignment %llu too large", (unsigned long long)a1);
                goto out;
            }
        } else if (k == 'c') {
            op.arg = a1;
            op.size = a2;
            if (a1 != 0 && a2 > HKT_MAX_SIZE / a1) {
                fail(&c, "calloc count %llu * size %llu overflows", (unsigned long long)a1,
                     (unsigned long long)a2);
                goto out;
            }
        }
        uint64_t bytes = hkt_op_bytes(&op);
        if (bytes > HKT_MAX_SIZE) {
            fail(&c, "size %llu too large for this host", (unsigned long long)bytes);
            goto out;
        }
        /* Liveness. */
        if (k == 'f') {
            if (!live[id]) {
                fail(&c, "free of id %llu, which is not live", (unsigned long long)id);
                goto out;
            }
            live[id] = 0;
            live_bytes -= live_size[id];
            live_size[id] = 0;
            t->n_free++;
        } else if (k == 'r') {
            live_bytes -= live_size[id];
            live[id] = bytes != 0;
            live_size[id] = bytes;
            live_bytes += bytes;
            t->n_realloc++;
        } else {
            if (live[id]) {
                fail(&c, "allocation of id %llu, which is already live", (unsigned long long)id);
                goto out;
            }
            live[id] = 1;
            live_size[id] = bytes;
            live_bytes += bytes;
            t->n_alloc++;
        }
        if (bytes > t->max_size)
            t->max_size = bytes;
        if (t->nops >= header[2]) {
            fail(&c, "more ops than the %llu the header declares", (unsigned long long)header[2]);
            goto out;
        }
        if (t->nops == cap) {
            size_t ncap = cap ? cap * 2 : 1024;
            if (ncap > header[2])
                ncap = (size_t)header[2];
            hkt_op_t *n = realloc(t->ops, ncap * sizeof *n);
            if (!n) {
                fail(&c, "out of memory for %zu ops", ncap);
                goto out;
            }
            t->ops = n;
            cap = ncap;
        }
        t->ops[t->nops++] = op;
        if (live_bytes > t->peak_live) {
            t->peak_live = live_bytes;
            t->peak_op = t->nops - 1;
        }
    }
    if (nheader < 4) {
        fail(&c, "incomplete header: %d of 4 lines (%s missing)", nheader,
             header_names[nheader]);
        goto out;
    }
    if (t->nops != header[2]) {
        fail(&c, "%zu ops, but the header declares %llu", t->nops,
             (unsigned long long)header[2]);
        goto out;
    }
    rc = 0;
out:
    free(live);
    free(live_size);
    if (rc != 0)
        hkt_free(t);
    return rc;
}

/* Appends bytes to a growing buffer; returns 0 or -1 (out of memory). */
typedef struct {
    char *p;
    size_t len, cap;
} buf_t;

static int buf_reserve(buf_t *b, size_t more)
{
    if (b->cap - b->len >= more)
        return 0;
    size_t cap = b->cap ? b->cap : 1 << 20;
    while (cap - b->len < more) {
        if (cap > SIZE_MAX / 2)
            return -1;
        cap *= 2;
    }
    char *np = realloc(b->p, cap);
    if (!np)
        return -1;
    b->p = np;
    b->cap = cap;
    return 0;
}

#if defined(HK_TRACE_LZMA) && HK_TRACE_LZMA
/* .xz through liblzma's stream decoder (no xz binary, no shell). */
static int read_xz(FILE *f, buf_t *b, const char **why)
{
    lzma_stream z = LZMA_STREAM_INIT;
    if (lzma_stream_decoder(&z, UINT64_MAX, LZMA_CONCATENATED) != LZMA_OK) {
        *why = "cannot start the xz decoder";
        return -1;
    }
    uint8_t in[1 << 16];
    lzma_action act = LZMA_RUN;
    int rc = -1;
    for (;;) {
        if (z.avail_in == 0 && act == LZMA_RUN) {
            z.next_in = in;
            z.avail_in = fread(in, 1, sizeof in, f);
            if (ferror(f)) {
                *why = "read error";
                break;
            }
            if (feof(f))
                act = LZMA_FINISH;
        }
        if (buf_reserve(b, 1 << 16) != 0) {
            *why = "out of memory";
            break;
        }
        z.next_out = (uint8_t *)b->p + b->len;
        z.avail_out = b->cap - b->len;
        lzma_ret r = lzma_code(&z, act);
        b->len = b->cap - z.avail_out;
        if (r == LZMA_STREAM_END) {
            rc = 0;
            break;
        }
        if (r != LZMA_OK) {
            *why = r == LZMA_FORMAT_ERROR ? "not an xz file"
                   : r == LZMA_DATA_ERROR ? "corrupt xz data"
                   : r == LZMA_BUF_ERROR  ? "truncated xz file"
                   : r == LZMA_MEM_ERROR  ? "out of memory"
                                          : "xz decoding failed";
            break;
        }
    }
    lzma_end(&z);
    return rc;
}
#endif

int hkt_load(const char *path, hkt_trace_t *t, char *err, size_t errlen)
{
    memset(t, 0, sizeof *t);
    size_t n = strlen(path);
    bool xz = n > 3 && strcmp(path + n - 3, ".xz") == 0;
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "%.400s: %s", path, strerror(errno));
        return -1;
    }
    buf_t b = {NULL, 0, 0};
    const char *why = NULL;
    if (xz) {
#if defined(HK_TRACE_LZMA) && HK_TRACE_LZMA
        if (read_xz(f, &b, &why) != 0 && !why)
            why = "xz decoding failed";
#else
        why = "this build reads no .xz files (built without liblzma): decompress it first";
#endif
    } else {
        for (;;) {
            if (buf_reserve(&b, 1 << 16) != 0) {
                why = "out of memory";
                break;
            }
            size_t got = fread(b.p + b.len, 1, b.cap - b.len, f);
            b.len += got;
            if (got == 0) {
                if (ferror(f))
                    why = "read error";
                break;
            }
        }
    }
    fclose(f);
    if (why) {
        snprintf(err, errlen, "%.400s: %s", path, why);
        free(b.p);
        return -1;
    }
    int rc = hkt_parse(b.p ? b.p : "", b.len, path, t, err, errlen);
    free(b.p);
    return rc;
}

void hkt_truncate(hkt_trace_t *t, size_t n)
{
    if (n > t->nops)
        n = t->nops;
    t->nops = n;
    t->peak_live = 0;
    t->peak_op = 0;
    t->n_alloc = t->n_free = t->n_realloc = 0;
    t->max_size = 0;
    uint64_t *sz = calloc(t->nids ? t->nids : 1, sizeof *sz);
    if (!sz)
        return;
    uint64_t live = 0;
    for (size_t i = 0; i < n; i++) {
        const hkt_op_t *op = &t->ops[i];
        uint64_t b = hkt_op_bytes(op);
        live -= sz[op->id];
        sz[op->id] = b;
        live += b;
        if (op->kind == HKT_FREE)
            t->n_free++;
        else if (op->kind == HKT_REALLOC)
            t->n_realloc++;
        else
            t->n_alloc++;
        if (b > t->max_size)
            t->max_size = b;
        if (live > t->peak_live) {
            t->peak_live = live;
            t->peak_op = i;
        }
    }
    free(sz);
}

int hkt_write(FILE *f, const hkt_trace_t *t)
{
    if (fprintf(f, "%llu\n%u\n%zu\n%u\n", (unsigned long long)t->heap_hint, t->nids, t->nops,
                t->weight) < 0)
        return -1;
    for (size_t i = 0; i < t->nops; i++) {
        const hkt_op_t *op = &t->ops[i];
        int r;
        switch (op->kind) {
        case HKT_FREE: r = fprintf(f, "f %u\n", op->id); break;
        case HKT_MEMALIGN:
        case HKT_CALLOC:
            r = fprintf(f, "%c %u %llu %llu\n", op->kind, op->id, (unsigned long long)op->arg,
                        (unsigned long long)op->size);
            break;
        default:
            r = fprintf(f, "%c %u %llu\n", op->kind, op->id, (unsigned long long)op->size);
            break;
        }
        if (r < 0)
            return -1;
    }
    return fflush(f) == 0 ? 0 : -1;
}
