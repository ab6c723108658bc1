/* SPDX-License-Identifier: MIT */
/*
 * caps.c - ESP-IDF's heap_caps_* API over an hk_chain (heapkit/caps.h).
 *
 * How it works
 * ------------
 * The chain already does the capability routing: hk_chain_alloc(chain,
 * size, caps, INT_MIN) tries, by priority, every heap that has all of caps.
 * This file adds what ESP-IDF's API has beyond that, using only the chain's
 * and the heaps' public calls:
 *
 *  - ESP-IDF's conventions: size 0 allocates nothing; a callback hears of
 *    every failed allocation; calloc checks n * size for overflow;
 *  - figures by capability: a pass over the chain's heaps, keeping those
 *    whose caps include the mask, summing hk_heap_get_stats figures (the
 *    largest free block is a maximum, not a sum);
 *  - the minimum-free monitor: a heap keeps one low-water mark, which
 *    hk_heap_reset_marks restarts from the current free size. A local
 *    window (ESP-IDF 5.3's heap_caps_monitor_local_minimum_free_size_*)
 *    saves each heap's mark before restarting it; afterwards the global
 *    figure is the lower of the saved mark and the heap's own;
 *  - a printed summary and integrity messages through the integrator's
 *    putc: the library never prints by itself. Numbers are printed without
 *    division (subtracting powers of ten), so that cores without a divider
 *    (Cortex-M0, Xtensa LX106) need no division helper for this file.
 *
 * The state is process-wide, as ESP-IDF's registered heaps are.
 */
#include <limits.h>
#include <stdarg.h>

#include "common/hk_internal.h"
#include "heapkit/caps.h"

static struct {
    hk_chain_t *chain;
    hk_caps_putc_fn putc;
    void *putc_ctx;
    hk_caps_failed_fn failed;
    bool monitoring;
    /* per heap: its lowest free size before the last local window */
    struct {
        const hk_heap_t *heap;
        size_t min_free;
    } saved[HK_CHAIN_MAX_HEAPS];
    size_t n_saved;
} caps;

static hk_chain_t *chain_or_report(const char *what)
{
    if (!caps.chain)
        hk__report(HK_EINVAL, NULL, what);
    return caps.chain;
}

static void alloc_failed(size_t size, uint32_t c, const char *fn)
{
    if (caps.failed && size > 0)
        caps.failed(size, c, fn);
}

int hk_caps_init(hk_chain_t *chain, hk_caps_putc_fn putc, void *putc_ctx)
{
    if (!chain) {
        hk__report(HK_EINVAL, NULL, "caps init: NULL chain");
        return HK_EINVAL;
    }
    hk__memset(&caps, 0, sizeof caps);
    caps.chain = chain;
    caps.putc = putc;
    caps.putc_ctx = putc_ctx;
    return HK_OK;
}

/* ---- allocation ------------------------------------------------------ */
void *hk_caps_malloc(size_t size, uint32_t c)
{
    hk_chain_t *ch = chain_or_report("caps malloc: hk_caps_init not called");
    if (!ch || size == 0)
        return NULL;
    void *p = hk_chain_alloc(ch, size, c, INT_MIN);
    if (!p)
        alloc_failed(size, c, "hk_caps_malloc");
    return p;
}

void *hk_caps_calloc(size_t n, size_t size, uint32_t c)
{
    hk_chain_t *ch = chain_or_report("caps calloc: hk_caps_init not called");
    size_t bytes;
    /* the builtin checks without dividing (GCC and clang inline it) */
    if (!ch || __builtin_mul_overflow(n, size, &bytes) || bytes == 0)
        return NULL;
    void *p = hk_chain_alloc(ch, bytes, c, INT_MIN);
    if (!p) {
        alloc_failed(bytes, c, "hk_caps_calloc");
        return NULL;
    }
    hk__memset(p, 0, bytes);
    return p;
}

void *hk_caps_realloc(void *p, size_t size, uint32_t c)
{
    hk_chain_t *ch = chain_or_report("caps realloc: hk_caps_init not called");
    if (!ch)
        return NULL;
    if (!p)
        return hk_caps_malloc(size, c);
    if (size == 0) {
        hk_chain_free(ch, p);
        return NULL;
    }
    void *q = hk_chain_realloc(ch, p, size, c, INT_MIN);
    if (!q && hk_chain_owner(ch, p) >= 0)
        alloc_failed(size, c, "hk_caps_realloc");
    return q;
}

void *hk_caps_aligned_alloc(size_t align, size_t size, uint32_t c)
{
    hk_chain_t *ch = chain_or_report("caps aligned alloc: hk_caps_init not called");
    if (!ch || size == 0)
        return NULL;
    if (!hk__is_pow2(align)) {
        hk__report(HK_EINVAL, NULL, "caps aligned alloc: alignment is not a power of two");
        return NULL;
    }
    void *p = hk_chain_aligned_alloc(ch, align, size, c, INT_MIN);
    if (!p)
        alloc_failed(size, c, "hk_caps_aligned_alloc");
    return p;
}

void *hk_caps_malloc_prefer(size_t size, size_t num, ...)
{
    hk_chain_t *ch = chain_or_report("caps malloc prefer: hk_caps_init not called");
    if (!ch || size == 0)
        return NULL;
    va_list ap;
    va_start(ap, num);
    void *p = NULL;
    uint32_t c = 0;
    while (num-- > 0 && !p) {
        c = va_arg(ap, uint32_t);
        p = hk_chain_alloc(ch, size, c, INT_MIN);
    }
    va_end(ap);
    if (!p)
        alloc_failed(size, c, "hk_caps_malloc_prefer");
    return p;
}

void hk_caps_free(void *p)
{
    if (!p)
        return;
    hk_chain_t *ch = chain_or_report("caps free: hk_caps_init not called");
    if (ch)
        hk_chain_free(ch, p);
}

void hk_caps_aligned_free(void *p)
{
    hk_caps_free(p);
}

size_t hk_caps_get_allocated_size(void *p)
{
    if (!p || !caps.chain)
        return 0;
    int i = hk_chain_owner(caps.chain, p);
    if (i < 0) {
        hk__report(HK_EBADPTR, p, "caps allocated size: pointer in no heap of the chain");
        return 0;
    }
    return hk_heap_usable_size(hk_chain_heap(caps.chain, (size_t)i), p);
}

/* ---- figures by capability ----------------------------------------------- */
static bool heap_has(size_t i, uint32_t c)
{
    return (hk_chain_caps(caps.chain, i) & c) == c;
}

static size_t saved_index(const hk_heap_t *h)
{
    for (size_t k = 0; k < caps.n_saved; k++)
        if (caps.saved[k].heap == h)
            return k;
    return caps.n_saved;
}

/* The heap's low-water mark of free bytes: its own (local while a window
 * runs), else the lower of its own and the one saved at the last window. */
static size_t heap_min_free(const hk_heap_t *h, const hk_stats_t *s)
{
    size_t m = s->min_ever_free;
    size_t k = saved_index(h);
    if (!caps.monitoring && k < caps.n_saved && caps.saved[k].min_free < m)
        m = caps.saved[k].min_free;
    return m;
}

void hk_caps_get_info(hk_caps_info_t *info, uint32_t c)
{
    if (!info)
        return;
    hk__memset(info, 0, sizeof *info);
    if (!caps.chain)
        return;
    size_t n = hk_chain_count(caps.chain);
    for (size_t i = 0; i < n; i++) {
        if (!heap_has(i, c))
            continue;
        hk_stats_t s;
        hk_chain_heap_stats(caps.chain, i, &s);
        info->total_free_bytes += s.free;
        info->total_allocated_bytes += s.used;
        if (s.largest_free > info->largest_free_block)
            info->largest_free_block = s.largest_free;
        info->minimum_free_bytes += heap_min_free(hk_chain_heap(caps.chain, i), &s);
        info->allocated_blocks += s.used_blocks;
        info->free_blocks += s.free_blocks;
        info->total_blocks += s.used_blocks + s.free_blocks;
    }
}

size_t hk_caps_get_total_size(uint32_t c)
{
    hk_caps_info_t info;
    hk_caps_get_info(&info, c);
    return info.total_free_bytes + info.total_allocated_bytes;
}

size_t hk_caps_get_free_size(uint32_t c)
{
    hk_caps_info_t info;
    hk_caps_get_info(&info, c);
    return info.total_free_bytes;
}

size_t hk_caps_get_largest_free_block(uint32_t c)
{
    hk_caps_info_t info;
    hk_caps_get_info(&info, c);
    return info.largest_free_block;
}

size_t hk_caps_get_minimum_free_size(uint32_t c)
{
    hk_caps_info_t info;
    hk_caps_get_info(&info, c);
    return info.minimum_free_bytes;
}

int hk_caps_monitor_local_minimum_free_size_start(void)
{
    if (!caps.chain)
        return HK_EINVAL;
    if (caps.monitoring)
        return HK_EBUSY;
    size_t n = hk_chain_count(caps.chain);
    for (size_t i = 0; i < n; i++) {
        hk_heap_t *h = hk_chain_heap(caps.chain, i);
        hk_stats_t s;
        hk_chain_heap_stats(caps.chain, i, &s);
        size_t m = heap_min_free(h, &s); /* the global mark so far */
        size_t k = saved_index(h);
        if (k == caps.n_saved && k < HK_CHAIN_MAX_HEAPS)
            caps.saved[caps.n_saved++].heap = h;
        if (k < caps.n_saved)
            caps.saved[k].min_free = m;
        hk_heap_reset_marks(h);
    }
    caps.monitoring = true;
    return HK_OK;
}

int hk_caps_monitor_local_minimum_free_size_stop(void)
{
    if (!caps.chain)
        return HK_EINVAL;
    if (!caps.monitoring)
        return HK_EBUSY;
    caps.monitoring = false;
    return HK_OK;
}

int hk_caps_register_failed_alloc_callback(hk_caps_failed_fn cb)
{
    if (!caps.chain)
        return HK_EINVAL;
    caps.failed = cb;
    return HK_OK;
}

/* ---- output ---------------------------------------------------------------- */
static void out_s(const char *s)
{
    if (caps.putc)
        while (*s)
            caps.putc(caps.putc_ctx, *s++);
}

/* 0x and `digits` hex digits (8 for caps, 2 * sizeof(void *) for addresses). */
static void out_hex(uintptr_t v, unsigned digits)
{
    char buf[2 + 2 * sizeof v + 1];
    size_t n = 0;
    buf[n++] = '0';
    buf[n++] = 'x';
    for (int sh = (int)(4u * digits) - 4; sh >= 0; sh -= 4)
        buf[n++] = "0123456789abcdef"[(v >> (unsigned)sh) & 0xfu];
    buf[n] = '\0';
    out_s(buf);
}

/* Decimal by subtracting powers of ten: at most 9 subtractions a digit. */
static void out_dec(size_t v)
{
    static const unsigned long long pow10[] = {
        10000000000000000000ull, 1000000000000000000ull, 100000000000000000ull,
        10000000000000000ull, 1000000000000000ull, 100000000000000ull, 10000000000000ull,
        1000000000000ull, 100000000000ull, 10000000000ull, 1000000000ull, 100000000ull,
        10000000ull, 1000000ull, 100000ull, 10000ull, 1000ull, 100ull, 10ull, 1ull,
    };
    char buf[24];
    size_t n = 0;
    unsigned long long x = v;
    for (size_t i = 0; i < sizeof pow10 / sizeof pow10[0]; i++) {
        char d = '0';
        while (x >= pow10[i]) {
            x -= pow10[i];
            d++;
        }
        if (d != '0' || n > 0 || pow10[i] == 1u)
            buf[n++] = d;
    }
    buf[n] = '\0';
    out_s(buf);
}

static void out_field(const char *label, size_t v)
{
    out_s(label);
    out_dec(v);
}

void hk_caps_print_heap_info(uint32_t c)
{
    if (!caps.chain)
        return;
    out_s("heap summary for caps ");
    out_hex(c, 8);
    out_s(":\n");
    size_t n = hk_chain_count(caps.chain), heaps = 0;
    for (size_t i = 0; i < n; i++) {
        if (!heap_has(i, c))
            continue;
        hk_heap_t *h = hk_chain_heap(caps.chain, i);
        hk_stats_t s;
        hk_chain_heap_stats(caps.chain, i, &s);
        out_s("  heap ");
        out_dec(i);
        out_s(" at ");
        out_hex((uintptr_t)h, 2 * sizeof(void *));
        out_s(" caps ");
        out_hex(hk_chain_caps(caps.chain, i), 8);
        out_field(": size ", s.total);
        out_field(" free ", s.free);
        out_field(" allocated ", s.used);
        out_field(" min_free ", heap_min_free(h, &s));
        out_field("\n    largest_free_block ", s.largest_free);
        out_field(" alloc_blocks ", s.used_blocks);
        out_field(" free_blocks ", s.free_blocks);
        out_field(" total_blocks ", s.used_blocks + s.free_blocks);
        out_s("\n");
        heaps++;
    }
    hk_caps_info_t info;
    hk_caps_get_info(&info, c);
    out_field("  totals over ", heaps);
    out_field(" heaps: free ", info.total_free_bytes);
    out_field(" allocated ", info.total_allocated_bytes);
    out_field(" min_free ", info.minimum_free_bytes);
    out_field(" largest_free_block ", info.largest_free_block);
    out_s("\n");
}

/* ---- integrity ------------------------------------------------------------- */
static bool check_heap(size_t i, bool print_errors)
{
    hk_heap_t *h = hk_chain_heap(caps.chain, i);
    if (hk_heap_validate(h) == HK_OK)
        return true;
    if (print_errors) {
        out_s("CORRUPT HEAP: heap ");
        out_dec(i);
        out_s(" at ");
        out_hex((uintptr_t)h, 2 * sizeof(void *));
        out_s(" caps ");
        out_hex(hk_chain_caps(caps.chain, i), 8);
        out_s(" (the error hook has the reason)\n");
    }
    return false;
}

bool hk_caps_check_integrity(uint32_t c, bool print_errors)
{
    if (!caps.chain)
        return false;
    bool ok = true;
    size_t n = hk_chain_count(caps.chain);
    for (size_t i = 0; i < n; i++)
        if (heap_has(i, c))
            ok = check_heap(i, print_errors) && ok;
    return ok;
}

bool hk_caps_check_integrity_all(bool print_errors)
{
    if (!caps.chain)
        return false;
    if (hk_chain_validate(caps.chain) == HK_OK)
        return true;
    if (print_errors) {
        /* name the damaged heaps; the chain's own structure otherwise */
        if (hk_caps_check_integrity(0, true))
            out_s("CORRUPT CHAIN: heap order or regions damaged (the error hook has the reason)\n");
    }
    return false;
}

bool hk_caps_check_integrity_addr(intptr_t addr, bool print_errors)
{
    if (!caps.chain)
        return false;
    int i = hk_chain_owner(caps.chain, (const void *)addr);
    if (i < 0) {
        if (print_errors) {
            out_s("address ");
            out_hex((uintptr_t)addr, 2 * sizeof(void *));
            out_s(" is in no heap\n");
        }
        return false;
    }
    return check_heap((size_t)i, print_errors);
}
