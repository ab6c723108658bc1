/* SPDX-License-Identifier: MIT */
/*
 * chain.c - several kinds of RAM behind one allocator: fast on-chip SRAM,
 * DMA-capable SRAM and slow external PSRAM. Each request names the
 * capabilities it needs; the chain tries the matching heaps by priority.
 */
#include <stdio.h>

#include "heapkit/chain.h"

static unsigned char sram_fast[8 * 1024];  /* e.g. DTCM: fast, no DMA */
static unsigned char sram_dma[8 * 1024];   /* e.g. SRAM1: DMA-reachable */
static unsigned char psram[64 * 1024];     /* external: big, slow */

static const char *where(hk_chain_t *c, const void *p)
{
    static const char *names[] = { "fast SRAM", "DMA SRAM", "PSRAM" };
    int i = hk_chain_owner(c, p);
    return i >= 0 && i < 3 ? names[i] : "?";
}

int main(void)
{
    hk_chain_t chain;
    /* add_region returns the heap's index (by priority) or a negative error */
    if (hk_chain_init(&chain, NULL) != 0 ||
        hk_chain_add_region(&chain, sram_fast, sizeof sram_fast, HK_CAP_FAST | HK_CAP_INTERNAL, 30,
                            NULL) < 0 ||
        hk_chain_add_region(&chain, sram_dma, sizeof sram_dma, HK_CAP_DMA | HK_CAP_INTERNAL, 20,
                            NULL) < 0 ||
        hk_chain_add_region(&chain, psram, sizeof psram, HK_CAP_EXTERNAL, 10, NULL) < 0)
        return 1;
    void *any = hk_chain_alloc(&chain, 256, 0, 0);              /* the best there is */
    void *dma = hk_chain_alloc(&chain, 512, HK_CAP_DMA, 0);     /* must be DMA-able */
    void *huge = hk_chain_alloc(&chain, 32 * 1024, 0, 0);       /* only PSRAM fits */
    printf("256 B anywhere: %s\n512 B for DMA: %s\n32 KiB: %s\n", where(&chain, any),
           where(&chain, dma), where(&chain, huge));
    int ok = any && dma && huge && hk_chain_owner(&chain, dma) == 1 &&
             hk_chain_owner(&chain, huge) == 2;
    hk_chain_free(&chain, any);
    hk_chain_free(&chain, dma);
    hk_chain_free(&chain, huge);
    ok = ok && hk_chain_validate(&chain) == 0;
    printf("chain: %s\n", ok ? "ok" : "FAILED");
    return ok ? 0 : 1;
}
