/* SPDX-License-Identifier: MIT */
/*
 * fuzz_heap.c - libFuzzer harness: operation sequences on a heap, every fit
 * policy, built at HK_DEBUG 0 and 1 (scripts/stages/40-fuzz.sh).
 *
 * Input: byte 0 picks the policy and the heap size (2 KiB to 66 KiB: small
 * heaps fill up, so the fuzzer reaches exhaustion, splits and merges within
 * a few operations), then each 4-byte group is one operation (opcode, slot,
 * size bytes). Live blocks carry a pattern, checked before they are freed
 * or resized, so any overlap or lost byte shows; misuse operations (double
 * free, interior free, foreign pointer) must be reported and change nothing.
 * Opcode 9 compares the statistics with the harness's own count (cheap);
 * hk_heap_validate, which walks the whole heap, runs after every 64th
 * operation and at the end. Any failure aborts (a crash for libFuzzer).
 *
 * The pattern is copied in and compared with memcpy/memcmp from one table
 * (byte k of a block is pattern[seed + k]), not written byte by byte: the
 * per-byte loop, with the fuzzer's comparison tracing on every iteration,
 * was what made this harness slow.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "heapkit/debug.h"
#include "heapkit/heap.h"
#include "fuzz_util.h"

#define SLOTS 32
#define ARENA (68u * 1024u)
#define VALIDATE_EVERY 64u

static unsigned char arena[ARENA] __attribute__((aligned(64)));
static struct {
    unsigned char *p;
    size_t n, u; /* the request, and the usable size the heap reported for it */
    unsigned char seed;
} slot[SLOTS];

/* What the heap may report as the usable size of a fresh block of n bytes:
 * n itself with HK_HEAP_EXACT, else n rounded up to the granule, plus at
 * most a tail too small to split. Returns the size, or SIZE_MAX if u is off. */
static size_t reported_ok(size_t u, size_t n)
{
#if HK_HEAP_EXACT
    return u == n ? u : SIZE_MAX;
#else
    return u >= n && u - n < HK_ALIGN + 8 * sizeof(size_t) ? u : SIZE_MAX;
#endif
}


static unsigned char pattern[256 + ARENA]; /* pattern[k] = k * 31 */
static const unsigned char zeros[ARENA];

static void fill(unsigned i)
{
    memcpy(slot[i].p, pattern + slot[i].seed, slot[i].n);
}

/* Checks the first n bytes (the part a realloc keeps). */
static void check(unsigned i, size_t n)
{
    if (n > slot[i].n)
        n = slot[i].n;
    if (memcmp(slot[i].p, pattern + slot[i].seed, n) != 0)
        abort();
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    for (size_t k = 0; k < sizeof pattern; k++)
        pattern[k] = (unsigned char)(k * 31u);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    hk_set_error_hook(hook, NULL);
    hk_fit_t fit = (hk_fit_t)(data[0] % 3);
    size_t bytes = 2048u + (size_t)(data[0] >> 2) * 1024u;
    hk_heap_config_t cfg = { .fit = fit };
    hk_heap_t *h = hk_heap_init(arena + (data[0] & 7), bytes, &cfg);
    must(h != NULL);
    memset(slot, 0, sizeof slot);
    size_t live = 0, requested = 0;
    unsigned ops = 0;
    for (size_t at = 1; at + 4 <= size; at += 4, ops++) {
        unsigned op = data[at] % 10, i = data[at + 1] % SLOTS;
        /* mostly small sizes (0..255) so a small heap holds many blocks;
         * bit 4 of the last byte adds up to 4 KiB, bit 5 multiplies by 4 */
        size_t n = (size_t)data[at + 2];
        if (data[at + 3] & 0x10)
            n |= (size_t)(data[at + 3] & 0x0f) << 8;
        if (data[at + 3] & 0x20)
            n = n * 4u; /* larger ones too */
        uint64_t r0 = reports;
        switch (op) {
        case 0: case 1: case 2: { /* alloc / calloc / aligned into an empty slot */
            if (slot[i].p)
                break;
            size_t align = (size_t)1 << (data[at + 3] >> 5 << 1);
            unsigned char *p = op == 0 ? hk_heap_alloc(h, n)
                             : op == 1 ? hk_heap_calloc(h, 1 + n % 7, n / 7)
                                       : hk_heap_aligned_alloc(h, align, n);
            if (op == 1)
                n = (1 + n % 7) * (n / 7);
            if (!p)
                break;
            if (op == 1)
                must(n <= ARENA && memcmp(p, zeros, n) == 0);
            if (op == 2)
                must(((uintptr_t)p & (align - 1)) == 0);
            size_t u = reported_ok(hk_heap_usable_size(h, p), n);
            must(u != SIZE_MAX);
            slot[i].p = p;
            slot[i].n = n;
            slot[i].u = u;
            slot[i].seed = data[at + 2];
            fill(i);
            live++;
            requested += u;
            break;
        }
        case 3: case 4: /* free */
            if (!slot[i].p)
                break;
            check(i, slot[i].n);
            hk_heap_free(h, slot[i].p);
            live--;
            requested -= slot[i].u;
            slot[i].p = NULL;
            break;
        case 5: case 6: { /* realloc */
            if (!slot[i].p)
                break;
            unsigned char *q = hk_heap_realloc(h, slot[i].p, n ? n : 1);
            if (!q) {
                check(i, slot[i].n);
                must(hk_heap_usable_size(h, slot[i].p) == slot[i].u); /* untouched */
                break;
            }
            slot[i].p = q;
            size_t keep = slot[i].n < (n ? n : 1) ? slot[i].n : (n ? n : 1);
            check(i, keep);
            size_t u = reported_ok(hk_heap_usable_size(h, q), n ? n : 1);
            must(u != SIZE_MAX);
            requested = requested - slot[i].u + u;
            slot[i].n = n ? n : 1;
            slot[i].u = u;
            fill(i);
            break;
        }
        case 7: /* misuse: interior or misaligned pointer of a live block */
            if (!slot[i].p || slot[i].n < 2)
                break;
            hk_heap_free(h, slot[i].p + 1 + n % (slot[i].n - 1));
            must(reports == r0 + 1);
            break;
        case 8: /* misuse: double free, foreign pointer */
            if (slot[i].p) {
                hk_heap_free(h, arena + ARENA - 64 + (n & 31));
                must(reports == r0 + 1);
            } else if (slot[(i + 1) % SLOTS].p == NULL && ops) {
                unsigned char *p = hk_heap_alloc(h, n);
                if (p) {
                    hk_heap_free(h, p);
                    hk_heap_free(h, p);
                    must(reports == r0 + 1);
                }
            }
            break;
        default: { /* the statistics agree with the harness */
            hk_stats_t st;
            hk_heap_get_stats(h, &st);
            must(st.used_blocks == live && st.requested == requested);
            must(st.used + st.free == st.total && st.largest_free <= st.free);
        }
        }
        if (ops % VALIDATE_EVERY == VALIDATE_EVERY - 1)
            must(hk_heap_validate(h) == 0);
    }
    hk_stats_t s;
    hk_heap_get_stats(h, &s);
    must(s.used_blocks == live && s.requested == requested);
    must(hk_heap_validate(h) == 0);
    for (unsigned i = 0; i < SLOTS; i++)
        if (slot[i].p) {
            check(i, slot[i].n);
            hk_heap_free(h, slot[i].p);
        }
    hk_heap_get_stats(h, &s);
    must(s.used == 0 && s.free_blocks == 1 && hk_heap_validate(h) == 0);
    must(hk_heap_alloc(h, s.largest_free) != NULL);
    return 0;
}
