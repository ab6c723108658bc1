/* SPDX-License-Identifier: MIT */
/*
 * trace.c - HEAPKIT_TRACE=file: every malloc-family call of the process as a
 * trace in the CMU malloc-lab .rep layout that heapkit's replay tools read
 * (shared/traces/README.md):
 *
 *     <peak live requested bytes>      four header lines, written last
 *     <number of ids>
 *     <number of ops>
 *     1
 *     a <id> <size>    malloc, calloc (the product), memalign & co
 *     f <id>           free, realloc(p, 0)
 *     r <id> <size>    realloc (the block keeps its id)
 *
 * Ids are small integers, reused after a free (a stack of free ids), so a
 * replayer can index arrays by them. Pointers map to ids through an
 * open-addressing hash table (linear probing, backward-shift deletion; Knuth,
 * TAOCP vol. 3, 6.4, Algorithm R) in memory mapped straight from the OS - the
 * tracer must not call malloc. Blocks still live at exit get an `f` line
 * after a comment, so the trace is balanced.
 *
 * The header is only known at the end: the file starts with four lines of
 * 20 spaces that hkm_trace_close() overwrites (the parsers skip blanks).
 * Every traced call runs with the trace lock held across the call and its
 * record, so the order in the file is an order in which the calls happened.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "common/hk_internal.h"
#include "hkm_internal.h"

bool hkm_tracing;
static hkm_lock_t trace_lock;
static int trace_fd = -1;

#define HDR_FIELD 20
#define HDR_BYTES (4 * (HDR_FIELD + 1))
#define BUF_SIZE (64u * 1024u)

static char buf[BUF_SIZE];
static size_t buf_len;

typedef struct {
    uintptr_t key; /* 0 = empty */
    size_t size;
    uint32_t id;
} slot_t;

static slot_t *table;
static size_t table_cap, table_used; /* cap: a power of two */
static uint32_t *free_ids;
static size_t free_ids_len, free_ids_cap;
static uint32_t next_id;
static uint64_t n_ops, live_bytes, peak_bytes;

void hkm_trace_lock(void)
{
    hkm_lock(&trace_lock);
}

void hkm_trace_unlock(void)
{
    hkm_unlock(&trace_lock);
}

static void *os_alloc(size_t n)
{
    void *p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

static void flush(void)
{
    size_t off = 0;
    while (off < buf_len) {
        ssize_t w = write(trace_fd, buf + off, buf_len - off);
        if (w <= 0)
            break;
        off += (size_t)w;
    }
    buf_len = 0;
}

static void put_str(const char *s)
{
    while (*s) {
        if (buf_len == BUF_SIZE)
            flush();
        buf[buf_len++] = *s++;
    }
}

static void put_line(char op, uint32_t id, const size_t *size)
{
    char b[24];
    char o[3] = {op, ' ', 0};
    put_str(o);
    put_str(hkm_fmt_u(b, id));
    if (size) {
        put_str(" ");
        put_str(hkm_fmt_u(b, *size));
    }
    put_str("\n");
    n_ops++;
}

static size_t hash(uintptr_t k)
{
    uint64_t x = (uint64_t)k * 0x9e3779b97f4a7c15ull;
    return (size_t)(x >> 17) & (table_cap - 1);
}

static bool table_grow(void)
{
    size_t ncap = table_cap ? table_cap * 2 : 4096;
    slot_t *n = os_alloc(ncap * sizeof *n);
    if (!n)
        return false;
    slot_t *old = table;
    size_t ocap = table_cap;
    table = n;
    table_cap = ncap;
    for (size_t i = 0; i < ocap; i++) {
        if (!old[i].key)
            continue;
        size_t j = hash(old[i].key);
        while (table[j].key)
            j = (j + 1) & (table_cap - 1);
        table[j] = old[i];
    }
    if (old)
        munmap(old, ocap * sizeof *old);
    return true;
}

static slot_t *table_find(uintptr_t k)
{
    if (!table_cap)
        return NULL;
    for (size_t j = hash(k);; j = (j + 1) & (table_cap - 1)) {
        if (table[j].key == k)
            return &table[j];
        if (!table[j].key)
            return NULL;
    }
}

static void table_remove(slot_t *s)
{
    size_t i = (size_t)(s - table);
    table[i].key = 0;
    table_used--;
    /* Backward shift: pull later members of the probe run into the hole. */
    for (size_t j = (i + 1) & (table_cap - 1); table[j].key; j = (j + 1) & (table_cap - 1)) {
        size_t h = hash(table[j].key);
        bool movable = (j > i) ? (h <= i || h > j) : (h <= i && h > j);
        if (movable) {
            table[i] = table[j];
            table[j].key = 0;
            i = j;
        }
    }
}

static bool table_insert(uintptr_t k, uint32_t id, size_t size)
{
    if ((table_used + 1) * 2 > table_cap && !table_grow())
        return false;
    size_t j = hash(k);
    while (table[j].key && table[j].key != k)
        j = (j + 1) & (table_cap - 1);
    if (!table[j].key)
        table_used++;
    table[j].key = k;
    table[j].id = id;
    table[j].size = size;
    return true;
}

static uint32_t id_take(void)
{
    if (free_ids_len)
        return free_ids[--free_ids_len];
    return next_id++;
}

static void id_give(uint32_t id)
{
    if (free_ids_len == free_ids_cap) {
        size_t ncap = free_ids_cap ? free_ids_cap * 2 : 4096;
        uint32_t *n = os_alloc(ncap * sizeof *n);
        if (!n)
            return; /* the id is simply not reused */
        if (free_ids) {
            hk__memcpy(n, free_ids, free_ids_len * sizeof *n);
            munmap(free_ids, free_ids_cap * sizeof *n);
        }
        free_ids = n;
        free_ids_cap = ncap;
    }
    free_ids[free_ids_len++] = id;
}

int hkm_trace_open(const char *path)
{
    trace_fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (trace_fd < 0)
        return HK_EINVAL;
    for (int i = 0; i < 4; i++) {
        for (int j = 0; j < HDR_FIELD; j++)
            buf[buf_len++] = ' ';
        buf[buf_len++] = '\n';
    }
    hkm_tracing = true;
    return HK_OK;
}

void hkm_trace_alloc(const void *p, size_t size)
{
    if (!hkm_tracing)
        return;
    uint32_t id = id_take();
    if (!table_insert((uintptr_t)p, id, size))
        return;
    live_bytes += size;
    if (live_bytes > peak_bytes)
        peak_bytes = live_bytes;
    put_line('a', id, &size);
}

void hkm_trace_free(const void *p)
{
    if (!hkm_tracing)
        return;
    slot_t *s = table_find((uintptr_t)p);
    if (!s)
        return; /* not traced (foreign, or a reported misuse) */
    uint32_t id = s->id;
    live_bytes -= s->size;
    table_remove(s);
    put_line('f', id, NULL);
    id_give(id);
}

void hkm_trace_realloc(const void *oldp, const void *newp, size_t size)
{
    if (!hkm_tracing)
        return;
    if (!oldp) {
        if (newp)
            hkm_trace_alloc(newp, size);
        return;
    }
    if (!newp) { /* realloc(p, 0) freed p */
        hkm_trace_free(oldp);
        return;
    }
    slot_t *s = table_find((uintptr_t)oldp);
    if (!s)
        return;
    uint32_t id = s->id;
    live_bytes -= s->size;
    table_remove(s);
    if (!table_insert((uintptr_t)newp, id, size))
        return;
    live_bytes += size;
    if (live_bytes > peak_bytes)
        peak_bytes = live_bytes;
    put_line('r', id, &size);
}

static void header_field(char *out, uint64_t v)
{
    char b[24];
    hkm_fmt_u(b, v);
    int i = 0;
    for (; b[i]; i++)
        out[i] = b[i];
    for (; i < HDR_FIELD; i++)
        out[i] = ' ';
    out[HDR_FIELD] = '\n';
}

void hkm_trace_close(void)
{
    hkm_trace_lock();
    if (!hkm_tracing) {
        hkm_trace_unlock();
        return;
    }
    if (table_used) {
        put_str("# heapkit: blocks still live at exit, freed here to balance the trace\n");
        for (size_t i = 0; i < table_cap; i++) {
            if (table[i].key) {
                put_line('f', table[i].id, NULL);
                live_bytes -= table[i].size;
            }
        }
    }
    flush();
    char hdr[HDR_BYTES];
    header_field(hdr, peak_bytes);
    header_field(hdr + (HDR_FIELD + 1), next_id);
    header_field(hdr + 2 * (HDR_FIELD + 1), n_ops);
    header_field(hdr + 3 * (HDR_FIELD + 1), 1);
    if (pwrite(trace_fd, hdr, sizeof hdr, 0) != (ssize_t)sizeof hdr)
        hkm_write_str(2, "heapkit: HEAPKIT_TRACE: cannot write the trace header\n");
    close(trace_fd);
    trace_fd = -1;
    hkm_tracing = false;
    hkm_trace_unlock();
}
