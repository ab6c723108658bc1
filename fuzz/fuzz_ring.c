/* SPDX-License-Identifier: MIT */
/*
 * fuzz_ring.c - libFuzzer harness: the ring (FIFO) allocator. The first
 * bytes choose alignment, buffer offset and size; the rest are operations:
 * alloc at the tail, free the front (FIFO), free out of order, shrink the
 * newest, misuse (interior pointer, double free: reported, ring
 * unchanged), validate. Records are pattern filled and checked.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "heapkit/ring.h"
#include "fuzz_util.h"

#define SLOTS 48
static unsigned char buf[32 * 1024] __attribute__((aligned(64)));
static struct {
    unsigned char *p;
    size_t n;
} slot[SLOTS];
static unsigned char *newest;



static void check(unsigned i)
{
    for (size_t k = 0; k < slot[i].n; k++)
        must(slot[i].p[k] == (unsigned char)(i * 7 + k));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 3)
        return 0;
    hk_set_error_hook(hook, NULL);
    size_t align = data[0] & 1 ? (size_t)1 << (data[0] >> 1 & 7) : 0;
    size_t off = data[1] & 63, bytes = (size_t)data[2] * 100u + (data[1] >> 6) * 7u;
    hk_ring_t ring;
    if (hk_ring_init(&ring, buf + off, bytes, align, NULL) != 0)
        return 0;
    memset(slot, 0, sizeof slot);
    newest = NULL;
    size_t live = 0;
    for (size_t at = 3; at + 3 <= size; at += 3) {
        unsigned op = data[at] % 7, i = data[at + 1] % SLOTS;
        size_t n = data[at + 2] * (size_t)(1 + (data[at] >> 4));
        uint64_t r0 = reports;
        if (op <= 1 && !slot[i].p) {
            unsigned char *p = hk_ring_alloc(&ring, n);
            if (!p)
                continue;
            slot[i].p = p;
            slot[i].n = n ? n : 1; /* a 0-byte record is a 1-byte record */
            for (size_t k = 0; k < slot[i].n; k++)
                p[k] = (unsigned char)(i * 7 + k);
            must(hk_ring_usable_size(&ring, p) == slot[i].n);
            newest = p;
            live++;
        } else if (op == 2 && slot[i].p) { /* any order */
            check(i);
            hk_ring_free(&ring, slot[i].p);
            if (newest == slot[i].p)
                newest = NULL;
            slot[i].p = NULL;
            live--;
        } else if (op == 3) { /* FIFO: the front */
            size_t fn;
            unsigned char *f = hk_ring_front(&ring, &fn);
            for (unsigned j = 0; f && j < SLOTS; j++)
                if (slot[j].p == f) {
                    must(fn == slot[j].n);
                    check(j);
                    hk_ring_free(&ring, f);
                    if (newest == f)
                        newest = NULL;
                    slot[j].p = NULL;
                    live--;
                    break;
                }
        } else if (op == 4 && slot[i].p && slot[i].p == newest && n <= slot[i].n) {
            must(hk_ring_shrink(&ring, slot[i].p, n) == 0);
            slot[i].n = n ? n : 1;
            must(hk_ring_usable_size(&ring, slot[i].p) == slot[i].n);
            check(i);
        } else if (op == 5 && slot[i].p && slot[i].n > 1) {
            hk_ring_free(&ring, slot[i].p + 1);
            must(reports == r0 + 1);
        } else if (op == 6) {
            must(hk_ring_validate(&ring) == 0);
        }
    }
    hk_stats_t s;
    hk_ring_get_stats(&ring, &s);
    must(s.used_blocks == live && hk_ring_validate(&ring) == 0);
    for (unsigned i = 0; i < SLOTS; i++)
        if (slot[i].p) {
            check(i);
            hk_ring_free(&ring, slot[i].p);
        }
    hk_ring_get_stats(&ring, &s);
    must(s.used == 0 && hk_ring_validate(&ring) == 0);
    return 0;
}
