/* SPDX-License-Identifier: MIT */
/*
 * fastpath.c - drives the fast paths of hk_pool, hk_tiered and hk_ring (and
 * hk_heap for comparison) a known number of times, so that callgrind's
 * inclusive instruction count of each public function divided by the number
 * of calls gives instructions per operation. Run it through
 * bench/pool/run.sh, which does the division; a wall clock is never used.
 *
 * Workloads (all in steady state, no failures, no fallback):
 *   pool    256 blocks of 32 bytes: allocate all, free all (LIFO), repeat
 *   tiered  classes 16/32/64/128/256: sizes 8,24,40,72,120,200 in turn,
 *           240 live, then all freed, repeat
 *   ring    64 KiB ring, sizes 24,60,100,16 in turn, 32 records in flight,
 *           FIFO consumer (includes the wrap/skip events)
 *   heap    the same sizes and pattern as tiered, through hk_heap (TLSF)
 */
#include <stdio.h>
#include <stdlib.h>

#include "heapkit/heap.h"
#include "heapkit/pool.h"
#include "heapkit/ring.h"
#include "heapkit/tiered.h"

#define ROUNDS 400
#define LIVE 240

static _Alignas(64) unsigned char pool_buf[256 * 32];
static _Alignas(64) unsigned char tiered_mem[1 << 17];
static _Alignas(64) unsigned char heap_mem[1 << 18];
static _Alignas(64) unsigned char ring_buf[1 << 16];
static void *slots[256];

static const size_t sizes[] = { 8, 24, 40, 72, 120, 200 };
#define NSIZES (sizeof sizes / sizeof sizes[0])

int main(void)
{
    unsigned long n_pool = 0, n_tiered = 0, n_ring = 0, n_heap = 0;

    hk_pool_t pool;
    if (hk_pool_init(&pool, pool_buf, sizeof pool_buf, 32, 8, NULL) != HK_OK)
        return 1;
    for (int r = 0; r < ROUNDS; r++) {
        for (int i = 0; i < 256; i++)
            slots[i] = hk_pool_alloc(&pool);
        for (int i = 255; i >= 0; i--)
            hk_pool_free(&pool, slots[i]);
        n_pool += 256;
    }

    static const hk_tiered_class_t classes[] = {
        { 16, 256 }, { 32, 256 }, { 64, 256 }, { 128, 256 }, { 256, 256 },
    };
    hk_heap_t *fb = hk_heap_init(heap_mem, sizeof heap_mem / 2, NULL);
    hk_tiered_config_t cfg = { classes, 5, fb, NULL, 0, false };
    hk_tiered_t *t = hk_tiered_init(tiered_mem, sizeof tiered_mem, &cfg);
    if (!fb || !t)
        return 1;
    for (int r = 0; r < ROUNDS; r++) {
        for (int i = 0; i < LIVE; i++)
            slots[i] = hk_tiered_alloc(t, sizes[(size_t)i % NSIZES]);
        for (int i = 0; i < LIVE; i++)
            hk_tiered_free(t, slots[i]);
        n_tiered += LIVE;
    }

    hk_heap_t *h = hk_heap_init(heap_mem + sizeof heap_mem / 2, sizeof heap_mem / 2, NULL);
    if (!h)
        return 1;
    for (int r = 0; r < ROUNDS; r++) {
        for (int i = 0; i < LIVE; i++)
            slots[i] = hk_heap_alloc(h, sizes[(size_t)i % NSIZES]);
        for (int i = 0; i < LIVE; i++)
            hk_heap_free(h, slots[i]);
        n_heap += LIVE;
    }

    hk_ring_t ring;
    static const size_t rsz[] = { 24, 60, 100, 16 };
    if (hk_ring_init(&ring, ring_buf, sizeof ring_buf, 0, NULL) != HK_OK)
        return 1;
    unsigned head = 0, tail = 0;
    for (unsigned long i = 0; i < (unsigned long)ROUNDS * LIVE; i++) {
        if (tail - head == 32)
            hk_ring_free(&ring, slots[head++ % 256]);
        slots[tail++ % 256] = hk_ring_alloc(&ring, rsz[i % 4]);
        if (!slots[(tail - 1) % 256])
            return 1;
        n_ring++;
    }
    while (head != tail)
        hk_ring_free(&ring, slots[head++ % 256]);

    if (hk_pool_validate(&pool) || hk_tiered_validate(t) || hk_ring_validate(&ring))
        return 1;
    printf("calls hk_pool_alloc %lu hk_pool_free %lu hk_tiered_alloc %lu hk_tiered_free %lu "
           "hk_ring_alloc %lu hk_ring_free %lu hk_heap_alloc %lu hk_heap_free %lu\n",
           n_pool, n_pool, n_tiered, n_tiered, n_ring, n_ring, n_heap, n_heap);
    return 0;
}
