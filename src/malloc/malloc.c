/* SPDX-License-Identifier: MIT */
/*
 * malloc.c - heapkit's drop-in malloc for Linux: the entry points.
 *
 * How it works
 * ------------
 * The allocator is a thin layer over heapkit's own heaps (heapkit/heap.h):
 *
 *   1. Memory comes from the OS in 4 MiB chunks mapped at 4 MiB-aligned
 *      addresses (chunk.c). A heap starts over one chunk and asks for more
 *      through its growth hook; each chunk becomes one region of the heap.
 *   2. Each live thread owns a heap ("exclusive arena", arena.c) and
 *      allocates from it under an uncontended spin lock. Objects of up to
 *      1 KiB come from spans (span.c): 16 KiB heap blocks cut into objects of
 *      one of 20 size classes. A thread cache of such objects in front serves
 *      most malloc/free pairs with no lock and no heap call at all, and is
 *      refilled from the spans (and spilled back) half a list at a time.
 *   3. Requests above the mmap threshold (1 MiB; HEAPKIT_MMAP_THRESHOLD) and
 *      alignments above one page get a mapping of their own, returned to the
 *      OS on free and resized with mremap.
 *
 * Finding the owner of a pointer (free, realloc, malloc_usable_size) never
 * searches: the chunk header sits at (p - 1) rounded down to 4 MiB and names
 * the arena (or says "big block"); a byte map with one entry per 4 MiB of
 * address space first confirms the header is heapkit's, so a foreign pointer
 * is reported instead of dereferenced. Worked example, 64-bit:
 *     p = 0x7f3a_c0412340  ->  p - 1 = 0x7f3a_c041233f
 *     chunk = 0x7f3a_c0400000 (low 22 bits cleared), map index = 0x1fce_b01
 *
 * free(p) on the owning thread: a small object (the 16 KiB floor of p carries
 * a span tag naming the calling thread's arena, hkm_free_fast) -> push on the
 * thread cache, in 30 instructions on x86-64 with every check kept; a heap
 * block -> hk_heap_free under the arena lock. free(p) on another thread: a
 * small object, checked under the owner's lock when that lock is free at
 * that moment, goes into the freeing thread's own cache if its list has
 * room (hkm_cache_adopt), else straight onto its span; anything else is
 * pushed on the owner's remote-free stack (one CAS), which the owner frees into its heap at its next locked call - or,
 * when the owner has exited, p is freed into the arena at once. Blocks of
 * the shared arena are freed under its lock.
 *
 * glibc semantics kept: every pointer aligned to HK_ALIGN (max_align_t);
 * malloc(0) is a unique pointer; realloc(p, 0) frees p and returns NULL;
 * failures set errno to ENOMEM; posix_memalign returns its error; memalign,
 * and aligned_alloc as in glibc 2.36, round a non-power-of-two alignment
 * up; malloc_usable_size(NULL) is 0; pvalloc rounds to whole pages.
 *
 * Memory return: big blocks are unmapped on free; inside the heaps, after
 * every 32 MiB freed into an arena (empty spans count) that then holds
 * 16 MiB or more free, the pages inside free blocks of 64 KiB and more are
 * released with madvise(MADV_DONTNEED), all but an 8 MiB warm cushion; at
 * thread exit and in arenas without an owner, all of them (malloc_trim does
 * it on demand). Chunks themselves stay mapped: heap.h has no call to remove
 * a region, so pages are given back inside them instead.
 *
 * Environment: HEAPKIT_FIT (tlsf|first|best), HEAPKIT_STATS=1,
 * HEAPKIT_TRACE=file, HEAPKIT_DEBUG=N, HEAPKIT_MMAP_THRESHOLD=bytes,
 * HEAPKIT_SPANS=0; see docs/malloc.md. They are read once, at the first
 * call. HEAPKIT_DEBUG >= 1 turns the thread cache and the spans off, so every
 * block is a heap block that the heap's checks (and, in
 * libheapkit_malloc_debug.so, its debug layer) see.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <sys/auxv.h>
#include <unistd.h>

#include "common/hk_internal.h"
#include "hkm_internal.h"

#if HK_DEBUG >= 1
/* libheapkit_malloc_debug.so: the heap's debug layer is compiled in, and
 * every block is a heap block, so that it is checked. */
hkm_config_t hkm_cfg = {.big_threshold = HKM_BIG_DEFAULT, .fit = HK_FIT_TLSF, .debug = HK_DEBUG};
#else
hkm_config_t hkm_cfg = {.big_threshold = HKM_BIG_DEFAULT, .fit = HK_FIT_TLSF, .tcache = true,
                        .trim = true, .spans = true};
#endif
int hkm_ready;
uintptr_t hkm_key;

/* ---- small hosted helpers ------------------------------------------- */

void hkm_write_str(int fd, const char *s)
{
    size_t n = 0;
    while (s[n])
        n++;
    while (n) {
        ssize_t w = write(fd, s, n);
        if (w <= 0)
            return;
        s += w;
        n -= (size_t)w;
    }
}

char *hkm_fmt_u(char *buf, unsigned long long v)
{
    char tmp[24];
    int i = 0;
    do {
        tmp[i++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    int j = 0;
    while (i)
        buf[j++] = tmp[--i];
    buf[j] = 0;
    return buf;
}

char *hkm_fmt_x(char *buf, uintptr_t v)
{
    char tmp[24];
    int i = 0;
    do {
        tmp[i++] = "0123456789abcdef"[v & 15];
        v >>= 4;
    } while (v);
    buf[0] = '0';
    buf[1] = 'x';
    int j = 2;
    while (i)
        buf[j++] = tmp[--i];
    buf[j] = 0;
    return buf;
}

/* ---- init ------------------------------------------------------------ */

static void print_error(int code, const void *ptr, const char *reason, void *ctx)
{
    (void)ctx;
    char x[24];
    hkm_write_str(2, "heapkit: ");
    hkm_write_str(2, hk_strerror(code));
    hkm_write_str(2, ": ");
    hkm_write_str(2, reason ? reason : "?");
    hkm_write_str(2, " (pointer ");
    hkm_write_str(2, hkm_fmt_x(x, (uintptr_t)ptr));
    hkm_write_str(2, ")\n");
}

static size_t parse_size(const char *s, size_t dflt)
{
    if (!s || *s < '0' || *s > '9')
        return dflt;
    size_t v = 0;
    for (; *s >= '0' && *s <= '9'; s++) {
        if (v > (SIZE_MAX - 9) / 10)
            return dflt;
        v = v * 10 + (size_t)(*s - '0');
    }
    if (*s == 'k' || *s == 'K')
        v <<= 10;
    else if (*s == 'm' || *s == 'M')
        v <<= 20;
    return v;
}

/* HEAPKIT_DEBUG was set: the exit summary is printed even when clean. */
static bool debug_asked;

static bool str_eq(const char *a, const char *b)
{
    while (*a && *a == *b) {
        a++;
        b++;
    }
    return *a == *b;
}

static void read_environment(void)
{
    const char *fit = getenv("HEAPKIT_FIT");
    if (fit) {
        if (str_eq(fit, "first"))
            hkm_cfg.fit = HK_FIT_FIRST;
        else if (str_eq(fit, "best"))
            hkm_cfg.fit = HK_FIT_BEST;
        else if (!str_eq(fit, "tlsf") && *fit)
            hkm_write_str(2, "heapkit: HEAPKIT_FIT must be tlsf, first or best; using tlsf\n");
    }
    const char *sp = getenv("HEAPKIT_SPANS");
    if (sp && str_eq(sp, "0"))
        hkm_cfg.spans = false;
    const char *st = getenv("HEAPKIT_STATS");
    hkm_cfg.stats_at_exit = st && *st && !str_eq(st, "0");
    const char *dbg = getenv("HEAPKIT_DEBUG");
    debug_asked = dbg && *dbg;
    hkm_cfg.debug = (int)parse_size(dbg, (size_t)hkm_cfg.debug);
    if (hkm_cfg.debug < HK_DEBUG) /* the compiled-in layer cannot be switched off */
        hkm_cfg.debug = HK_DEBUG;
    if (hkm_cfg.debug >= 1) {
        /* Every free reaches the heap's checks at once; free memory keeps
         * whatever the heap wrote into it. */
        hkm_cfg.tcache = false;
        hkm_cfg.trim = false;
        hkm_cfg.spans = false;
    }
    const char *mt = getenv("HEAPKIT_MMAP_THRESHOLD");
    size_t t = parse_size(mt, HKM_BIG_DEFAULT);
    if (t < HKM_SMALL_MAX)
        t = HKM_SMALL_MAX;
    if (t > HKM_BIG_MAX)
        t = HKM_BIG_MAX;
    __atomic_store_n(&hkm_cfg.big_threshold, t, __ATOMIC_RELAXED);
}

static void at_exit_report(void) __attribute__((destructor));
static void at_exit_report(void)
{
    if (__atomic_load_n(&hkm_ready, __ATOMIC_ACQUIRE) != 2)
        return;
    if (hkm_tracing)
        hkm_trace_close();
    int rc = hkm_cfg.debug >= 1 ? hk_malloc_validate() : HK_OK;
    if (hkm_cfg.debug >= 1 && (debug_asked || rc != HK_OK || hk_error_count() != 0)) {
        char b[24];
        hkm_write_str(2, "heapkit: debug: heaps ");
        hkm_write_str(2, rc == 0 ? "valid" : "CORRUPT");
        hkm_write_str(2, ", errors reported: ");
        hkm_write_str(2, hkm_fmt_u(b, hk_error_count()));
        hkm_write_str(2, "\n");
    }
    if (hkm_cfg.stats_at_exit)
        hk_malloc_print_stats(2);
}

/* hkm_ready: 0 not started, 2 ready, otherwise 16 + the pid of the process
 * whose thread is initialising. A child forked in the middle of that (the
 * atfork handlers are not registered yet) finds a foreign pid there, and
 * since the initialising thread does not exist in it, starts over itself. */
void hkm_init_slow(void)
{
    int me = 16 + (int)getpid();
    int seen = 0;
    while (!__atomic_compare_exchange_n(&hkm_ready, &seen, me, 0, __ATOMIC_ACQ_REL,
                                        __ATOMIC_ACQUIRE)) {
        if (seen == 2)
            return;
        if (seen != me) /* another process began it: we are its fork child */
            continue;   /* retry the exchange from `seen` */
        sched_yield();  /* a thread of ours is at it: wait */
        seen = 0;
    }
    read_environment();
    const unsigned char *rnd = (const unsigned char *)getauxval(AT_RANDOM);
    uintptr_t key = (uintptr_t)&hkm_cfg ^ (uintptr_t)0x9e3779b97f4a7c15ull;
    if (rnd)
        for (unsigned i = 0; i < sizeof key; i++)
            key = (key << 8 | key >> (sizeof key * 8 - 8)) ^ rnd[i];
    hkm_key = key | 1u;
    hk_set_error_hook(print_error, NULL);
    if (hkm_os_init() != HK_OK || hkm_arenas_init() != HK_OK) {
        hkm_write_str(2, "heapkit: cannot map the chunk map; out of memory\n");
        abort();
    }
    const char *tr = getenv("HEAPKIT_TRACE");
    if (tr && *tr && hkm_trace_open(tr) != HK_OK)
        hkm_write_str(2, "heapkit: HEAPKIT_TRACE: cannot open the trace file\n");
    /* Traced: every call must reach the traced path, and the untraced fast
     * paths take only span objects and cached blocks - so there are none. */
    if (hkm_tracing) {
        hkm_cfg.spans = false;
        hkm_cfg.tcache = false;
    }
    __atomic_store_n(&hkm_ready, 2, __ATOMIC_RELEASE);
    pthread_atfork(hkm_fork_prepare, hkm_fork_parent, hkm_fork_child);
}

/* ---- the core operations (untraced) --------------------------------- */

/* The size asked of the heap: with the thread cache on, a whole size
 * class (a cached block must fit any request of its class); without it, the
 * caller's own size, so the debug layer's canary sits right after it. */
static inline size_t round_small(size_t n)
{
    if (!hkm_cfg.tcache)
        return n;
    if (n <= HKM_SMALL_MAX)
        return n ? hkm_class_size(hkm_bin_of(n)) : HKM_GRAIN;
    return (n + HKM_GRAIN - 1) & ~(size_t)(HKM_GRAIN - 1);
}

static void *heap_alloc_locked(hkm_arena_t *a, size_t size, size_t align)
{
    hkm_lock(&a->lock);
    hk_heap_t *h = hkm_arena_heap(a);
    void *p = NULL;
    if (h) {
        if (__atomic_load_n(&a->remote, __ATOMIC_RELAXED))
            hkm_arena_drain(a);
        p = align ? hk_heap_aligned_alloc(h, align, size) : hk_heap_alloc(h, size);
    }
    hkm_unlock(&a->lock);
    return p;
}

/* The thread cache's list for size class rq is empty: take the object
 * asked for and up to half a list more, under one lock - from the arena's
 * spans, or (HEAPKIT_SPANS=0) one heap block at a time. a is the calling
 * thread's exclusive arena. */
static void *cache_refill(hkm_arena_t *a, size_t rq)
{
    hkm_thread_t *t = &hkm_self;
    unsigned b = hkm_bin_of(rq);
    unsigned room = hkm_room_of(t, b);
    /* Half a list, but only 1/16, 1/8, 1/4 of one on a thread's first three
     * refills of a class: a short-lived thread or a rarely used size then
     * does not carve (and make resident) objects it will never use. */
    unsigned extra = (hkm_bin_cap(b) / 2) >> (3u - t->fills[b]);
    if (t->fills[b] < 3)
        t->fills[b]++;
    t->spilled[b] = 0;
    if (extra > room)
        extra = room;
    hkm_lock(&a->lock);
    hk_heap_t *h = hkm_arena_heap(a);
    void *p = NULL;
    if (h) {
        if (__atomic_load_n(&a->remote, __ATOMIC_RELAXED))
            hkm_arena_drain(a);
        if (HKM_UNLIKELY(a->empty_kept))
            hkm_span_release_kept(a);
        if (hkm_cfg.spans && rq <= HKM_SPAN_MAX) {
            p = hkm_span_take(a, b, extra, &t->bin[b], &t->room[b]);
        } else {
            p = hk_heap_alloc(h, rq);
            for (unsigned k = 0; p && k < extra && k < 7; k++) {
                void **q = hk_heap_alloc(h, rq);
                if (!q)
                    break;
                q[0] = t->bin[b];
                ((uintptr_t *)q)[1] = hkm_key;
                t->bin[b] = q;
                t->room[b]--;
            }
        }
    }
    hkm_unlock(&a->lock);
    return p;
}

/* A small object of the shared arena a: from its spans, one at a time,
 * under its lock (its threads have no cache). Spans pack the objects of
 * every thread that shares a, at a few dozen instructions a call rather
 * than a heap block's search and checks. */
static void *shared_span_alloc(hkm_arena_t *a, size_t rq)
{
    void *list = NULL;
    uint16_t room = 0;
    void *p = NULL;
    hkm_lock(&a->lock);
    if (hkm_arena_heap(a))
        p = hkm_span_take(a, hkm_bin_of(rq), 0, &list, &room);
    hkm_unlock(&a->lock);
    return p;
}

static HK_NOINLINE void *malloc_slow(size_t n)
{
    hkm_init();
    void *p;
    if (n > hkm_threshold()) {
        p = n > PTRDIFF_MAX ? NULL : hkm_big_alloc(n, 0);
    } else {
        hkm_arena_t *a = hkm_thread_arena();
        size_t rq = round_small(n);
        if (rq <= HKM_SMALL_MAX && hkm_cfg.tcache && arena_is_mine(a))
            p = cache_refill(a, rq);
        else if (rq <= HKM_SPAN_MAX && hkm_cfg.spans && arena_is_shared(a))
            p = shared_span_alloc(a, rq);
        else
            p = heap_alloc_locked(a, rq, 0);
    }
    if (HKM_UNLIKELY(!p))
        errno = ENOMEM;
    return p;
}


static inline void *do_malloc(size_t n)
{
    void *p = hkm_malloc_fast(n);
    return HKM_LIKELY(p != NULL) ? p : malloc_slow(n);
}

/* Is p (with the cache key set) really on list b of the calling thread? */
static HK_NOINLINE bool in_cache(unsigned b, const void *p)
{
    for (void **q = hkm_self.bin[b]; q; q = q[0])
        if (q == p)
            return true;
    return false;
}

/* The thread cache's list b is full: give p (checked by the caller) and
 * half the list back to the arena under one lock. Every block on the list
 * was checked when it was freed, so none is checked again: a span object
 * goes straight onto its span's free list, a heap block to the heap. */
static HK_NOINLINE void cache_spill(hkm_arena_t *a, unsigned b, void *p)
{
    hkm_thread_t *t = &hkm_self;
    /* A second spill with no refill since the last one: the program is
     * freeing much more of this class than it allocates (a mass free), so the
     * whole list goes back, p staying as the only cached object - with no
     * walk to find a cut. Otherwise half of it, so that a program that
     * alternates keeps half a list to allocate from. */
    if (t->spilled[b] && hkm_cfg.spans && HKM_SPAN_MAX >= HKM_SMALL_MAX) {
        void **rest = t->bin[b];
        ((void **)p)[0] = NULL;
        ((uintptr_t *)p)[1] = hkm_key;
        t->bin[b] = p;
        t->room[b] = (uint16_t)(hkm_bin_cap(b) - 1u);
        bool mixed = (t->foreign >> b) & 1u;
        t->foreign &= ~((uint64_t)1 << b); /* the list is p alone now */
        hkm_lock(&a->lock);
        void *foreign = hkm_span_put_list(a, rest, mixed);
        hkm_unlock(&a->lock);
        if (HKM_UNLIKELY(foreign != NULL))
            hkm_foreign_put(foreign);
        return;
    }
    t->spilled[b] = 1;
    /* The list is already linked: find the cut after half of it. */
    void **head = p, **first = t->bin[b];
    unsigned n = 0;
    if (first) {
        void **last = first;
        unsigned k = hkm_bin_cap(b) / 2;
        for (n = 1; n < k && last[0]; n++)
            last = last[0];
        t->bin[b] = last[0];
        last[0] = NULL;
    }
    head[0] = first;
    ((uintptr_t *)head)[1] = hkm_key;
    t->room[b] = (uint16_t)(t->room[b] + n);
    if (hkm_cfg.spans && HKM_SPAN_MAX >= HKM_SMALL_MAX) { /* only span objects are cached */
        hkm_lock(&a->lock);
        void *foreign = hkm_span_put_list(a, head, (t->foreign >> b) & 1u);
        hkm_unlock(&a->lock);
        if (HKM_UNLIKELY(foreign != NULL))
            hkm_foreign_put(foreign);
        return;
    }
    size_t heap_bytes = 0;
    hkm_lock(&a->lock);
    for (void **q = head; q;) {
        void **next = q[0];
        hkm_span_t *s = hkm_span_at(a, q);
        if (HKM_LIKELY(s != NULL)) {
            hkm_span_put(a, s, q);
        } else {
            q[1] = NULL;
            heap_bytes += hk_heap_usable_size(a->heap, q);
            hk_heap_free(a->heap, q);
        }
        q = next;
    }
    if (heap_bytes)
        hkm_arena_note_free(a, heap_bytes);
    hkm_unlock(&a->lock);
}

/* The calling thread's cache takes p, a checked live object of class b
 * of another thread's live arena (arena.c, remote_put_now, under that
 * arena's lock), when the thread has an arena of its own and list b has
 * room: its next allocations of the class reuse it, as glibc's tcache
 * takes any chunk. p stays counted in its span; the list's bit in
 * `foreign` makes its spills and the thread's exit hand p back. */
bool hkm_cache_adopt(unsigned b, void *p)
{
    hkm_thread_t *t = &hkm_self;
    if (!hkm_cfg.spans || t->state != HKM_T_BOUND || arena_is_shared(t->arena) ||
        hkm_room_of(t, b) == 0)
        return false;
    ((void **)p)[0] = t->bin[b];
    ((uintptr_t *)p)[1] = hkm_key;
    t->bin[b] = p;
    t->room[b]--;
    t->foreign |= (uint64_t)1 << b;
    return true;
}

bool hkm_cache_has(unsigned b, const void *p)
{
    return in_cache(b, p);
}

static HK_NOINLINE void free_heap_block(hkm_chunk_t *c, void *p)
{
    hkm_arena_t *a = c->arena;
    if (HKM_UNLIKELY(!hkm_cfg.tcache)) {
        /* Debug: every free under the owner's lock, straight into the heap.
         * No link is written into the block (a 1-byte block's canary sits
         * right after it), and the owner reads no header unlocked. */
        hkm_lock(&a->lock);
        hkm_arena_put(a, p);
        hkm_unlock(&a->lock);
        return;
    }
    if (arena_is_mine(a)) {
        hkm_span_t *s = hkm_span_of(c, p);
        size_t us;
        if (s && s->tag != 0)
            (void)hkm_room_of(&hkm_self, s->bin); /* the fast path may have borrowed */
        if (s) {
            if (HKM_UNLIKELY(!span_owns(s, p))) {
                hk__report(HK_EBADPTR, p, "free of an interior pointer of a small object");
                return;
            }
            us = s->obj_size;
        } else {
            us = hk_heap_usable_size(a->heap, p);
            if (HKM_UNLIKELY(us == 0))
                return; /* not a live block: the heap reported it */
        }
        /* With spans on, only span objects enter the cache (a small heap
         * block - from memalign, say - goes straight back to the heap). */
        if (us <= HKM_SMALL_MAX && us >= HKM_GRAIN && hkm_cfg.tcache && (s || !hkm_cfg.spans)) {
            unsigned b = hkm_bin_floor(us);
            uintptr_t *w = p;
            if (HKM_UNLIKELY(w[1] == hkm_key) &&
                (in_cache(b, p) || (s && hkm_span_has_free(s, p)))) {
                hk__report(HK_EDOUBLEFREE, p, "double free? (small object already free)");
                return;
            }
            hkm_thread_t *t = &hkm_self;
            if (HKM_LIKELY(hkm_room_of(t, b) != 0)) {
                ((void **)p)[0] = t->bin[b];
                w[1] = hkm_key;
                t->bin[b] = p;
                t->room[b]--;
                return;
            }
            cache_spill(a, b, p);
            return;
        }
        hkm_lock(&a->lock);
        hkm_arena_put(a, p);
        hkm_arena_note_free(a, us);
        hkm_unlock(&a->lock);
        return;
    }
    if (arena_is_shared(a)) {
        hkm_lock(&a->lock);
        hkm_arena_put(a, p);
        hkm_unlock(&a->lock);
        return;
    }
    hkm_remote_free(a, c, p, true);
}

/* free(p) for every case but the fast one (p still unchecked). */
static HK_NOINLINE void free_slow(void *p)
{
    hkm_chunk_t *c = hkm_chunk_of(p);
    if (HKM_UNLIKELY(!c)) {
        hk__report(HK_EBADPTR, p, "free of a pointer heapkit did not allocate");
        return;
    }
    if (HKM_LIKELY(chunk_is_heap(c))) {
        free_heap_block(c, p);
    } else if (chunk_is_big(c)) {
        if (HKM_UNLIKELY(c->user != p)) {
            hk__report(HK_EBADPTR, p, "free of an interior pointer of a big block");
            return;
        }
        hkm_big_free(c);
    } else {
        hk__report(HK_ECORRUPT, p, "chunk header damaged (wild pointer or overflow?)");
    }
}


static inline void do_free(void *p)
{
    if (!hkm_free_fast(p) && p)
        free_slow(p);
}

/* Bytes usable at p (which is valid for c); locks a foreign arena. */
static size_t usable_of(hkm_chunk_t *c, const void *p)
{
    if (chunk_is_big(c)) {
        if (c->user != p) {
            hk__report(HK_EBADPTR, p, "interior pointer of a big block");
            return 0;
        }
        return big_usable(c);
    }
    if (!chunk_is_heap(c)) {
        hk__report(HK_ECORRUPT, p, "chunk header damaged (wild pointer or overflow?)");
        return 0;
    }
    hkm_arena_t *a = c->arena;
    bool mine = arena_is_mine(a) && hkm_cfg.tcache; /* debug: always locked */
    if (!mine)
        hkm_lock(&a->lock);
    size_t us;
    hkm_span_t *s = hkm_span_of(c, p);
    if (s) {
        us = hkm_span_owns(s, p) ? s->obj_size : 0;
        if (!us)
            hk__report(HK_EBADPTR, p, "interior pointer of a small object");
    } else {
        us = hk_heap_usable_size(a->heap, p);
    }
    if (!mine)
        hkm_unlock(&a->lock);
    return us;
}

static void *do_aligned(size_t align, size_t n)
{
    if (align <= HK_ALIGN)
        return do_malloc(n);
    hkm_init();
    void *p;
    if (n > PTRDIFF_MAX)
        p = NULL;
    else if (align <= hkm_page_size() && n <= hkm_threshold())
        p = heap_alloc_locked(hkm_thread_arena(), round_small(n), align);
    else
        p = hkm_big_alloc(n, align);
    if (!p)
        errno = ENOMEM;
    return p;
}

static void *move_block(hkm_chunk_t *c, void *p, size_t n)
{
    size_t old = usable_of(c, p);
    if (old == 0)
        return NULL;
    void *q = do_malloc(n);
    if (!q)
        return NULL;
    hk__memcpy(q, p, old < n ? old : n);
    do_free(p);
    return q;
}

static void *do_realloc(void *p, size_t n)
{
    if (!p)
        return do_malloc(n);
    if (n == 0) {
        do_free(p);
        return NULL;
    }
    if (n > PTRDIFF_MAX) {
        errno = ENOMEM;
        return NULL;
    }
    hkm_chunk_t *c = hkm_chunk_of(p);
    if (!c) {
        hk__report(HK_EBADPTR, p, "realloc of a pointer heapkit did not allocate");
        errno = EINVAL;
        return NULL;
    }
    void *q;
    if (chunk_is_big(c)) {
        if (c->user != p) {
            hk__report(HK_EBADPTR, p, "realloc of an interior pointer of a big block");
            errno = EINVAL;
            return NULL;
        }
        q = hkm_big_realloc(c, n);
        if (!q)
            q = move_block(c, p, n);
    } else if (!chunk_is_heap(c)) {
        hk__report(HK_ECORRUPT, p, "chunk header damaged (wild pointer or overflow?)");
        errno = EINVAL;
        return NULL;
    } else if (hkm_span_of(c, p)) {
        /* A small object: stays when it still fits, else moves. */
        size_t us = usable_of(c, p);
        if (us == 0) {
            errno = EINVAL;
            return NULL;
        }
        q = n <= us ? p : move_block(c, p, n);
    } else if (n > hkm_threshold()) {
        q = move_block(c, p, n);
    } else {
        hkm_arena_t *a = c->arena;
        if (arena_is_mine(a) || arena_is_shared(a)) {
            hkm_lock(&a->lock);
            q = hk_heap_realloc(a->heap, p, round_small(n));
            hkm_unlock(&a->lock);
        } else {
            q = move_block(c, p, n);
        }
    }
    if (!q)
        errno = ENOMEM;
    return q;
}

/* ---- the traced wrappers ------------------------------------------------ */

static HK_NOINLINE void *traced_malloc(size_t n, size_t align)
{
    hkm_trace_lock();
    void *p = align ? do_aligned(align, n) : do_malloc(n);
    if (p)
        hkm_trace_alloc(p, n);
    hkm_trace_unlock();
    return p;
}

static HK_NOINLINE void traced_free(void *p)
{
    hkm_trace_lock();
    do_free(p);
    hkm_trace_free(p);
    hkm_trace_unlock();
}

HK_NOINLINE void hkm_free_entry_slow(void *p)
{
    if (!p)
        return;
    if (HKM_UNLIKELY(hkm_tracing)) {
        traced_free(p);
        return;
    }
    free_slow(p);
}

static HK_NOINLINE void *traced_realloc(void *p, size_t n)
{
    hkm_trace_lock();
    void *q = do_realloc(p, n);
    if (q || n == 0)
        hkm_trace_realloc(p, q, n);
    hkm_trace_unlock();
    return q;
}

/* ---- public entry points ------------------------------------------------ */

HK_NOINLINE void *hkm_malloc_entry_slow(size_t size)
{
    if (HKM_UNLIKELY(hkm_tracing))
        return traced_malloc(size, 0);
    return malloc_slow(size);
}

/* No tracing test on the fast path: while tracing the thread caches are off
 * (their lists stay empty), so every call reaches malloc_entry_slow. */
HKM_API void *hk_malloc(size_t size)
{
    void *p = hkm_malloc_fast(size);
    return HKM_LIKELY(p != NULL) ? p : hkm_malloc_entry_slow(size);
}

HKM_API void hk_free(void *p)
{
    /* No tracing test here: while tracing there are no spans, so the fast
     * path never takes a block, and hkm_free_entry_slow sends it to the trace. */
    if (HKM_LIKELY(hkm_free_fast(p)))
        return;
    hkm_free_entry_slow(p);
}

HKM_API void *hk_calloc(size_t n, size_t size)
{
    size_t total;
    if (__builtin_mul_overflow(n, size, &total)) {
        hkm_init();
        errno = ENOMEM;
        return NULL;
    }
    void *p = hk_malloc(total);
    if (p) {
        hkm_chunk_t *c = hkm_chunk_of(p);
        if (!chunk_is_big(c) || !big_is_zeroed(c)) /* fresh mappings are zero */
            hk__memset(p, 0, total);
    }
    return p;
}

HKM_API void *hk_realloc(void *p, size_t size)
{
    if (HKM_UNLIKELY(hkm_tracing))
        return traced_realloc(p, size);
    return do_realloc(p, size);
}

HKM_API void *hk_reallocarray(void *p, size_t n, size_t size)
{
    size_t total;
    if (__builtin_mul_overflow(n, size, &total)) {
        errno = ENOMEM;
        return NULL;
    }
    return hk_realloc(p, total);
}

static void *aligned_entry(size_t align, size_t size)
{
    if (HKM_UNLIKELY(hkm_tracing))
        return traced_malloc(size, align < HK_ALIGN ? HK_ALIGN : align);
    return do_aligned(align, size);
}

HKM_API void *hk_memalign(size_t align, size_t size)
{
    if (align > SIZE_MAX / 2 + 1) {
        errno = EINVAL;
        return NULL;
    }
    if (!hk__is_pow2(align))
        align = align ? (size_t)1 << (hk__fls(align) + 1) : 1;
    return aligned_entry(align, size);
}

/* glibc 2.36 makes aligned_alloc an alias of memalign: any alignment is
 * accepted (rounded up to a power of two), any size, no multiple required. */
HKM_API void *hk_aligned_alloc(size_t align, size_t size)
{
    return hk_memalign(align, size);
}

HKM_API int hk_posix_memalign(void **out, size_t align, size_t size)
{
    if (!hk__is_pow2(align) || align % sizeof(void *) != 0)
        return EINVAL;
    int saved = errno;
    void *p = aligned_entry(align, size);
    errno = saved;
    if (!p)
        return ENOMEM;
    *out = p;
    return 0;
}

HKM_API void *hk_valloc(size_t size)
{
    hkm_init();
    return aligned_entry(hkm_page_size(), size);
}

HKM_API void *hk_pvalloc(size_t size)
{
    hkm_init();
    size_t ps = hkm_page_size();
    if (size > SIZE_MAX - ps) {
        errno = ENOMEM;
        return NULL;
    }
    size_t rounded = size ? hk__align_up(size, ps) : ps;
    return aligned_entry(ps, rounded);
}

HKM_API size_t hk_malloc_usable_size(const void *p)
{
    if (!p)
        return 0;
    hkm_chunk_t *c = hkm_chunk_of(p);
    if (!c) {
        hk__report(HK_EBADPTR, p, "malloc_usable_size of a pointer heapkit did not allocate");
        return 0;
    }
    return usable_of(c, p);
}

HKM_API int hk_malloc_trim(size_t pad)
{
    (void)pad;
    if (__atomic_load_n(&hkm_ready, __ATOMIC_ACQUIRE) != 2)
        return 0;
    if (hkm_self.state == HKM_T_BOUND)
        hkm_thread_flush();
    bool any = false;
    unsigned n = hkm_arena_count();
    for (unsigned i = 0; i < n; i++) {
        hkm_arena_t *a = &hkm_arenas[i];
        hkm_lock(&a->lock);
        if (a->heap && hkm_arena_trim(a))
            any = true;
        hkm_unlock(&a->lock);
    }
    if (hkm_big_cache_flush())
        any = true;
    return any;
}

HKM_API int hk_malloc_validate(void)
{
    int rc = HK_OK;
    if (__atomic_load_n(&hkm_ready, __ATOMIC_ACQUIRE) != 2)
        return rc;
    unsigned n = hkm_arena_count();
    for (unsigned i = 0; i < n; i++) {
        hkm_arena_t *a = &hkm_arenas[i];
        hkm_lock(&a->lock);
        if (a->heap && (hk_heap_validate(a->heap) != HK_OK || hkm_span_validate(a) != HK_OK))
            rc = HK_ECORRUPT;
        hkm_unlock(&a->lock);
    }
    return rc;
}

/* The lowest free byte count the statistics have seen: each heap keeps its
 * own true low-water mark (hk__usage_t), their sum bounds what was free at
 * any moment from below, and the result never rises between calls. */
static size_t stats_low_free = SIZE_MAX;

HKM_API void hk_malloc_get_stats(hk_stats_t *out)
{
    size_t low = 0;
    hk__memset(out, 0, sizeof *out);
    if (__atomic_load_n(&hkm_ready, __ATOMIC_ACQUIRE) != 2)
        return;
    unsigned n = hkm_arena_count();
    for (unsigned i = 0; i < n; i++) {
        hkm_arena_t *a = &hkm_arenas[i];
        hk_stats_t s;
        hkm_lock(&a->lock);
        bool have = a->heap != NULL;
        if (have)
            hk_heap_get_stats(a->heap, &s);
        hkm_unlock(&a->lock);
        if (!have)
            continue;
        out->used += s.used;
        out->free += s.free;
        out->free_blocks += s.free_blocks;
        out->used_blocks += s.used_blocks;
        out->peak_used += s.peak_used;
        out->requested += s.requested;
        out->failed_allocs += s.failed_allocs;
        out->allocs += s.allocs;
        out->frees += s.frees;
        low += s.min_ever_free;
        if (s.largest_free > out->largest_free)
            out->largest_free = s.largest_free;
    }
    hkm_os_stats_t os;
    hkm_os_stats(&os);
    out->total = os.mapped_bytes;
    out->used += os.big_bytes;
    out->used_blocks += os.big_blocks;
    out->allocs += os.big_allocs;
    out->frees += os.big_frees;
    if (low > out->free)
        low = out->free;
    size_t prev = __atomic_load_n(&stats_low_free, __ATOMIC_RELAXED);
    while (low < prev && !__atomic_compare_exchange_n(&stats_low_free, &prev, low, 1,
                                                      __ATOMIC_RELAXED, __ATOMIC_RELAXED))
        ;
    out->min_ever_free = low < prev ? low : prev;
}

static void stat_line(int fd, const char *name, unsigned long long v)
{
    char b[24];
    hkm_write_str(fd, "heapkit:   ");
    hkm_write_str(fd, name);
    hkm_write_str(fd, " ");
    hkm_write_str(fd, hkm_fmt_u(b, v));
    hkm_write_str(fd, "\n");
}

HKM_API void hk_malloc_print_stats(int fd)
{
    hk_stats_t s;
    hk_malloc_get_stats(&s);
    hkm_os_stats_t os;
    hkm_os_stats(&os);
    hkm_write_str(fd, "heapkit: malloc statistics\n");
    stat_line(fd, "arenas", hkm_arena_count());
    stat_line(fd, "heap chunks (4 MiB)", os.heap_chunks);
    stat_line(fd, "bytes mapped", os.mapped_bytes);
    stat_line(fd, "heap bytes used", s.used - os.big_bytes);
    stat_line(fd, "heap bytes free", s.free);
    stat_line(fd, "heap used blocks", s.used_blocks - os.big_blocks);
    stat_line(fd, "sum of per-heap peaks", s.peak_used);
    stat_line(fd, "big blocks live", os.big_blocks);
    stat_line(fd, "big bytes live", os.big_bytes);
    stat_line(fd, "big allocs", os.big_allocs);
    stat_line(fd, "allocs (heaps + big; thread-cache hits not counted)", s.allocs);
    stat_line(fd, "frees (heaps + big)", s.frees);
    stat_line(fd, "failed heap allocs", s.failed_allocs);
    stat_line(fd, "errors reported", hk_error_count());
}
