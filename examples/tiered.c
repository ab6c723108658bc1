/* SPDX-License-Identifier: MIT */
/*
 * tiered.c - one malloc-style API over size-class pools with a heap behind
 * them: small requests come from O(1) pools with no per-block header, big
 * ones (and overflow) from the heap; free finds the owner by address.
 */
#include <stdio.h>

#include "heapkit/print.h"
#include "heapkit/tiered.h"

static _Alignas(16) unsigned char class_mem[24 * 1024];
static unsigned char heap_mem[32 * 1024];

static void console_putc(void *ctx, char c)
{
    (void)ctx;
    putchar(c);
}

int main(void)
{
    static const hk_tiered_class_t classes[] = { { 16, 128 }, { 32, 128 }, { 64, 64 } };
    hk_heap_t *fallback = hk_heap_init(heap_mem, sizeof heap_mem, NULL);
    hk_tiered_config_t cfg = { classes, 3, fallback, NULL, 0, true };
    size_t need = hk_tiered_mem_size(&cfg);
    if (!fallback || need == 0 || need > sizeof class_mem) {
        printf("tiered: %zu bytes of class memory needed\n", need);
        return 1;
    }
    hk_tiered_t *t = hk_tiered_init(class_mem, sizeof class_mem, &cfg);
    if (!t)
        return 1;
    void *small = hk_tiered_alloc(t, 12);  /* the 16-byte class */
    void *mid = hk_tiered_alloc(t, 40);    /* the 64-byte class */
    void *big = hk_tiered_alloc(t, 3000);  /* the heap */
    int ok = small && mid && big && hk_tiered_owns(t, small) && hk_tiered_owns(t, mid) &&
             !hk_tiered_owns(t, big); /* owns: the class pools only */
    for (size_t i = 0; i < hk_tiered_class_count(t); i++) {
        hk_stats_t cs;
        hk_tiered_class_stats(t, i, &cs);
        printf("class %zu: ", i);
        hk_print_stats(NULL, &cs, console_putc, NULL);
    }
    hk_tiered_free(t, small);
    hk_tiered_free(t, mid);
    hk_tiered_free(t, big);
    ok = ok && hk_tiered_validate(t) == 0;
    printf("tiered: %s\n", ok ? "ok" : "FAILED");
    return ok ? 0 : 1;
}
