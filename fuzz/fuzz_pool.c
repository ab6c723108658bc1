/* SPDX-License-Identifier: MIT */
/*
 * fuzz_pool.c - libFuzzer harness: the fixed-size pool. The first bytes
 * choose block size, alignment, buffer offset and size, and whether a
 * double-free bitmap is given (init must accept or refuse cleanly); the
 * rest are operations: alloc, free, misuse (interior, foreign, double
 * free: reported, pool unchanged), validate. Blocks are pattern filled and
 * checked; validate must pass throughout and the counts must agree.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "heapkit/pool.h"
#include "fuzz_util.h"

#define SLOTS 64
static unsigned char buf[64 * 1024] __attribute__((aligned(64)));
static uint32_t bitmap[HK_POOL_BITMAP_WORDS(64 * 1024 / sizeof(void *))];
static unsigned char *slot[SLOTS];



int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 5)
        return 0;
    hk_set_error_hook(hook, NULL);
    size_t bsize = (size_t)data[0] | (size_t)(data[1] & 3) << 8;
    size_t align = (size_t)1 << (data[1] >> 2 & 7);
    size_t off = data[2] & 63, bytes = ((size_t)data[3] << 8 | data[2]) % (sizeof buf - 64);
    hk_pool_config_t cfg;
    memset(&cfg, 0, sizeof cfg);
    if (data[4] & 1) {
        cfg.bitmap = bitmap;
        cfg.bitmap_words = sizeof bitmap / sizeof bitmap[0];
    }
    hk_pool_t pool;
    if (hk_pool_init(&pool, buf + off, bytes, bsize, align, &cfg) != 0)
        return 0;
    size_t bs = hk_pool_block_size(&pool);
    memset(slot, 0, sizeof slot);
    size_t live = 0;
    for (size_t at = 5; at + 2 <= size; at += 2) {
        unsigned op = data[at] % 6, i = data[at + 1] % SLOTS;
        uint64_t r0 = reports;
        if (op <= 1 && !slot[i]) {
            unsigned char *p = hk_pool_alloc(&pool);
            if (p) {
                must(((uintptr_t)p & (align - 1)) == 0 && hk_pool_owns(&pool, p));
                memset(p, (int)i, bs);
                slot[i] = p;
                live++;
            } else {
                must(live == hk_pool_count(&pool));
            }
        } else if (op == 2 && slot[i]) {
            for (size_t k = 0; k < bs; k++)
                must(slot[i][k] == (unsigned char)i);
            hk_pool_free(&pool, slot[i]);
            slot[i] = NULL;
            live--;
        } else if (op == 3 && slot[i] && bs > 1) {
            hk_pool_free(&pool, slot[i] + 1 + data[at + 1] % (bs - 1));
            must(reports == r0 + 1);
        } else if (op == 4 && (data[4] & 1) && !slot[i]) {
            unsigned char *p = hk_pool_alloc(&pool);
            if (p) {
                hk_pool_free(&pool, p);
                hk_pool_free(&pool, p);
                must(reports == r0 + 1);
            }
        } else if (op == 5) {
            must(hk_pool_validate(&pool) == 0);
        }
    }
    hk_stats_t s;
    hk_pool_get_stats(&pool, &s);
    must(s.used_blocks == live && hk_pool_validate(&pool) == 0);
    for (unsigned i = 0; i < SLOTS; i++)
        hk_pool_free(&pool, slot[i]);
    must(hk_pool_validate(&pool) == 0);
    return 0;
}
