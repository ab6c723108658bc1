/* SPDX-License-Identifier: MIT */
/*
 * fuzz_config.c - libFuzzer harness: region and configuration input of the
 * heap. hk_heap_init gets a fuzzed start offset, size and configuration
 * (fit values in and out of range, class_span, a half-given lock, a growth
 * hook that returns fuzzed regions); hk_heap_add_region gets fuzzed slices
 * of a buffer, overlapping or not, tiny or unaligned, and NULL. Every call
 * must either succeed or fail with an error code and a report; whatever was
 * accepted must then allocate, free and validate cleanly.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "heapkit/heap.h"
#include "fuzz_util.h"

static unsigned char mem[96 * 1024] __attribute__((aligned(64)));
static unsigned char grow_mem[32 * 1024] __attribute__((aligned(64)));
static const uint8_t *g_data;
static size_t g_size, g_at;



static unsigned next_byte(void)
{
    return g_at < g_size ? g_data[g_at++] : 0;
}

static uintptr_t nop_lock(void *ctx)
{
    (void)ctx;
    return 0;
}

static void nop_unlock(void *ctx, uintptr_t saved)
{
    (void)ctx;
    (void)saved;
}

static void *grow(void *ctx, size_t min_bytes, size_t *got)
{
    (void)ctx;
    unsigned b = next_byte();
    size_t n = min_bytes + (b & 0x3f) * 64u;
    if ((b & 0xc0) == 0xc0)
        n = min_bytes / 2; /* too small: must be refused */
    if (b == 0 || n > sizeof grow_mem - 64)
        return NULL;
    *got = n;
    return grow_mem + (b & 7);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 8)
        return 0;
    hk_set_error_hook(hook, NULL);
    g_data = data;
    g_size = size;
    g_at = 8;
    hk_lock_t lk = { nop_lock, (data[6] & 1) ? NULL : nop_unlock, NULL };
    hk_heap_config_t cfg = {
        .fit = (hk_fit_t)(data[0] % 5),             /* 3 and 4 are invalid */
        .lock = (data[6] & 2) ? &lk : NULL,
        .grow = (data[6] & 4) ? grow : NULL,
        .class_span = (data[6] & 8) ? (size_t)1 << (data[7] % 64) : 0,
    };
    size_t off = data[1] & 63;
    size_t bytes = ((size_t)data[2] | (size_t)data[3] << 8) % (32 * 1024);
    int expect_bad = data[0] % 5 > 2 || ((data[6] & 2) && (data[6] & 1));
    uint64_t r0 = reports;
    size_t ovh = hk_heap_overhead(bytes, &cfg);
    must(expect_bad ? ovh == 0 : ovh > 0);
    hk_heap_t *h = hk_heap_init((data[6] & 16) ? NULL : mem + off, bytes, &cfg);
    if (!h) {
        must(reports == r0 + 1);
        return 0;
    }
    must(!expect_bad && bytes >= hk_heap_overhead(bytes, &cfg));
    unsigned nreg = data[4] % 6;
    for (unsigned i = 0; i < nreg; i++) {
        size_t ro = 32 * 1024 + next_byte() * 200u + (next_byte() & 15);
        size_t rb = next_byte() * 64u + next_byte();
        r0 = reports;
        int rc = hk_heap_add_region(h, (next_byte() & 1) ? NULL : mem + ro, rb);
        must(rc == 0 || (rc < 0 && reports == r0 + 1));
        must(hk_heap_validate(h) == 0);
    }
    void *p[16];
    for (unsigned i = 0; i < 16; i++)
        p[i] = hk_heap_alloc(h, next_byte() * (1 + next_byte() % 64));
    must(hk_heap_validate(h) == 0);
    for (unsigned i = 0; i < 16; i++)
        hk_heap_free(h, p[i]);
    hk_stats_t s;
    hk_heap_get_stats(h, &s);
    must(s.used == 0 && hk_heap_validate(h) == 0);
    return 0;
}
