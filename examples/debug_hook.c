/* SPDX-License-Identifier: MIT */
/*
 * debug_hook.c - where heapkit's misuse reports go. Every allocator reports
 * through one process-wide hook (hk_set_error_hook): here it prints the
 * code and reason and counts, as a firmware would log to a UART or trip a
 * breakpoint. The heap is left unchanged by the bad calls, which
 * hk_heap_validate confirms. Build with -DHK_DEBUG=1 for canaries, poisoning
 * and allocation sites (docs/debug.md); this works at every level.
 */
#include <stdio.h>

#include "heapkit/heap.h"
#include "heapkit/print.h"

static unsigned char ram[16 * 1024];
static unsigned reports;

static void on_error(int code, const void *ptr, const char *reason, void *ctx)
{
    (void)ctx;
    reports++;
    printf("heapkit error %d (%s) at %p: %s\n", code, hk_strerror(code), ptr, reason);
}

static void console_putc(void *ctx, char c)
{
    (void)ctx;
    putchar(c);
}

int main(void)
{
    hk_set_error_hook(on_error, NULL);
    hk_heap_t *h = hk_heap_init(ram, sizeof ram, NULL);
    if (!h)
        return 1;
    char *p = hk_heap_alloc(h, 64);
    static int not_from_heap;
    hk_heap_free(h, p);
    hk_heap_free(h, p);             /* double free: reported, ignored */
    hk_heap_free(h, &not_from_heap); /* foreign pointer: reported, ignored */
    hk_heap_free(h, ram + 3);        /* misaligned: reported, ignored */
    hk_print_heap(h, "after misuse", console_putc, NULL);
    int ok = reports == 3 && hk_error_count() >= 3 && hk_heap_validate(h) == 0;
    printf("debug hook: %u reports, heap valid: %s\n", reports, ok ? "ok" : "FAILED");
    return ok ? 0 : 1;
}
