/* SPDX-License-Identifier: MIT */
/*
 * arena.c - arenas, thread binding, the per-thread cache, remote frees, fork.
 *
 * An arena is a heapkit heap (hk_heap_t over 4 MiB chunks, grown through the
 * heap's growth hook) with a lock and a lock-free stack of remote frees.
 *
 *   arena 0      shared: every call on it takes its lock (small objects
 *                come from its spans, one at a time). Used by threads
 *                that found no free exclusive arena (more live threads than
 *                hkm_arena_limit(): 16 per CPU, 63 at most) and by threads
 *                past their exit destructor.
 *   arena 1..63  exclusive: bound to one thread at a time (`owner`). Only
 *                the owner changes its heap, always under the arena lock (the
 *                lock is what makes fork safe and lets statistics, trimming
 *                and malloc_usable_size from other threads read it). Because
 *                nobody else writes the heap, the owner reads block headers
 *                (hk_heap_usable_size) and uses its cache without the lock.
 *
 * A thread binds on its first allocation: it adopts an exclusive arena whose
 * owner has exited, or creates one. At thread exit (a pthread key destructor)
 * it empties its cache into its heap, drains the remote stack and releases
 * the arena for the next thread - so the number of heaps follows the number
 * of live threads, not the number of threads ever started.
 *
 * With the thread cache off (HEAPKIT_DEBUG >= 1, the debug library) every
 * free - local or remote - takes the owner's lock and goes straight to the
 * heap: no link is ever written into a block (its debug canary may sit right
 * after a 1-byte payload) and nobody reads a header unlocked.
 *
 * Remote frees: a block freed by a thread that does not own its arena is
 * pushed onto the arena's stack with one compare-and-swap (the link is the
 * block's first word; the block is dead, so the word is free to use). The
 * owner swaps the whole stack out with one exchange when it next takes its
 * lock and frees each block into its heap - where the heap's own checks
 * (bad pointer, double free) run. This is the "thread-delayed free" list of
 * mimalloc (Leijen, Zorn, de Moura: "Mimalloc: Free List Sharding in
 * Action", 2019) at arena rather than page granularity. An arena whose owner
 * has exited (an orphan) takes remote frees at once, under its lock: the
 * owner field changes only under that lock, so a freer that sees no owner
 * there may write the heap itself, and a push that raced with the owner's
 * exit is drained by the pusher (hkm_remote_free). And a small object whose
 * owner is not inside a locked call at that moment (its lock is free: one
 * exchange) goes straight back onto its span, reusable at once - the owner
 * lives off its thread cache between locked calls and may not take its lock
 * for a long time (remote_put_now). Only span objects: the owner reads heap
 * block headers without the lock, so only the owner writes its heap. Once
 * checked there, the object goes into the freeing thread's own cache
 * instead when that thread has an arena of its own and the list has room
 * (malloc.c, hkm_cache_adopt), as glibc's tcache takes any chunk: its next allocations of the class reuse
 * the other arena's memory instead of growing its own. Such an object stays
 * counted in its span; spills (hkm_span_put_list) and the thread's exit
 * (hkm_thread_flush) hand it back to its owner (hkm_foreign_put).
 *
 * The thread cache (tcache) keeps up to hkm_bin_cap(c) freed blocks of each
 * size class up to 1 KiB (16 KiB worth, 16..512 blocks) on a LIFO list in
 * thread-local storage, with a per-list room counter,
 * like glibc's tcache and the thread caches of tcmalloc (Ghemawat, Menage,
 * "TCMalloc: Thread-Caching Malloc"). Blocks in it are still "used" for the
 * heap. A cached block carries a per-process random key in its second word;
 * a free that finds the key scans the list and reports a double free.
 *
 * Fork: the prepare handler takes the trace lock, the bind lock, every
 * arena lock and the big-block cache lock (in that order, the order in which
 * calls nest them); the parent releases them; the child resets them
 * and releases every exclusive arena except its own thread's, since the
 * threads that owned them do not exist in the child.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <sys/mman.h>

#include "common/hk_internal.h"
#include "hkm_internal.h"

__thread hkm_thread_t hkm_self __attribute__((tls_model("initial-exec")));
hkm_arena_t hkm_arenas[HKM_MAX_ARENAS];
static unsigned n_arenas;
static unsigned n_exclusive = HKM_MAX_ARENAS - 1u; /* at most; set at init */
static unsigned n_bound; /* exclusive arenas with an owner (bind_lock) */
static hkm_lock_t bind_lock;
static pthread_key_t exit_key;

/* Trim when this many bytes were freed into an arena since the last trim
 * and the heap has at least HKM_TRIM_FREE bytes free, keeping the first
 * HKM_TRIM_KEEP bytes of free blocks (in address order) resident as a warm
 * cushion, so that a program churning through a steady amount of memory
 * does not fault its pages back in after every trim: what a thread keeps
 * resident but unused is bounded by about HKM_TRIM_EVERY + HKM_TRIM_FREE.
 * Small objects count too - an empty span given back to the heap counts its
 * 16 KiB - so a program that frees a gigabyte of small blocks gets its
 * memory back as it goes. An arena whose thread has exited (an orphan) is
 * trimmed at the exit and after every HKM_TRIM_ORPHAN bytes freed into it,
 * with no cushion: nobody may adopt it for a long time. */
#define HKM_TRIM_EVERY ((size_t)32 << 20)
#define HKM_TRIM_FREE ((size_t)16 << 20)
#define HKM_TRIM_KEEP ((size_t)8 << 20)
#define HKM_TRIM_ORPHAN ((size_t)256 << 10)
/* What an arena keeps resident of its free pages when its thread exits (and
 * at its orphan trims), while at most HKM_WARM_ORPHANS arenas are without an
 * owner: a program that keeps starting threads hands the arena to the next
 * one, which would otherwise fault every page in again (measured: mstress
 * with 2 threads, 50 rounds: 141,000 page faults instead of 5,500, 1.5x the
 * time). Past that many orphans - many threads exiting at once - the rest
 * give back every free page: at most HKM_WARM_ORPHANS * HKM_TRIM_EXIT_KEEP
 * stays resident for threads that do not exist. */
#ifndef HKM_TRIM_EXIT_KEEP
#define HKM_TRIM_EXIT_KEEP ((size_t)16 << 20)
#endif
#define HKM_WARM_ORPHANS 4u
#define HKM_TRIM_MIN_BLOCK ((size_t)64 << 10)

void hkm_lock_slow(hkm_lock_t *l)
{
    for (unsigned spins = 0;; spins++) {
        if (__atomic_load_n(&l->v, __ATOMIC_RELAXED) == 0 &&
            !__atomic_exchange_n(&l->v, 1, __ATOMIC_ACQUIRE))
            return;
        if (spins < 64) {
#if defined(__x86_64__) || defined(__i386__)
            __builtin_ia32_pause();
#endif
        } else {
            sched_yield();
        }
    }
}

/* ---- heaps ------------------------------------------------------------- */

/* The size of the next heap chunk of arena a: a quarter of what it has,
 * rounded to whole chunks, between 4 and 64 MiB - O(log n) regions. */
static size_t next_chunk_len(const hkm_arena_t *a, size_t min_bytes)
{
    size_t len = hk__align_up(a->heap_bytes / 4, HKM_CHUNK);
    if (len > HKM_REGION_MAX)
        len = HKM_REGION_MAX;
    if (len < HKM_CHUNK)
        len = HKM_CHUNK;
    while (len - HKM_HDR < min_bytes && len < HKM_REGION_MAX)
        len += HKM_CHUNK;
    return len;
}

/* The heap's growth hook (heap requests never exceed HKM_BIG_MAX, so one
 * chunk is always enough). Runs under the arena lock. */
static void *arena_grow(void *ctx, size_t min_bytes, size_t *got)
{
    hkm_arena_t *a = ctx;
    size_t len = next_chunk_len(a, min_bytes);
    if (min_bytes > len - HKM_HDR)
        return NULL;
    hkm_chunk_t *c = hkm_chunk_new(a, len);
    if (!c)
        return NULL;
    a->heap_bytes += len;
    *got = chunk_region_size(c);
    return chunk_region(c);
}

hk_heap_t *hkm_arena_heap(hkm_arena_t *a)
{
    if (HKM_LIKELY(a->heap != NULL))
        return a->heap;
    hkm_chunk_t *c = hkm_chunk_new(a, HKM_CHUNK);
    if (!c)
        return NULL;
    a->heap_bytes = HKM_CHUNK;
    hk_heap_config_t cfg = {0};
    cfg.fit = hkm_cfg.fit;
    cfg.grow = arena_grow;
    cfg.grow_ctx = a;
    cfg.class_span = HKM_REGION_MAX;
    a->heap = hk_heap_init(chunk_region(c), chunk_region_size(c), &cfg);
    return a->heap;
}

static void arena_setup(hkm_arena_t *a, unsigned index)
{
    hkm_lock_reset(&a->lock);
    a->index = index;
    a->heap = NULL;
    __atomic_store_n(&a->remote, NULL, __ATOMIC_RELAXED);
    __atomic_store_n(&a->owner, NULL, __ATOMIC_RELAXED);
    a->freed_since_trim = 0;
    a->empty_kept = false;
    a->heap_bytes = 0;
    a->n_spare = 0;
    a->n_spans = 0;
    for (unsigned b = 0; b < HKM_BINS; b++)
        a->partial[b] = NULL;
}

/* ---- remote frees ------------------------------------------------------ */

/* Frees everything on the remote stack of a, an orphan arena (no owner):
 * at once, under its lock, instead of waiting for an adopter. */
static void orphan_drain(hkm_arena_t *a)
{
    hkm_lock(&a->lock);
    if (a->heap && !__atomic_load_n(&a->owner, __ATOMIC_RELAXED))
        hkm_arena_drain(a);
    hkm_unlock(&a->lock);
}

/* A small object freed by a thread that does not own its live arena a goes
 * straight back onto its span when a's lock is free at this moment (the
 * owner is not in a locked call): it is reusable at once, instead of
 * waiting on the remote stack for the owner's next locked call - which,
 * while the owner lives off its thread cache, sleeps or waits at a barrier,
 * may be a long time and many blocks away. Only span objects, and no
 * span goes back to the heap: the owner reads heap headers unlocked. The
 * checks are the owner's own (interior pointer, double free). */
static bool remote_put_now(hkm_arena_t *a, hkm_chunk_t *c, void *p, bool adopt)
{
    hkm_span_t *s = c ? hkm_span_of(c, p) : NULL;
    if (!s || __atomic_load_n(&a->lock.v, __ATOMIC_RELAXED) ||
        __atomic_exchange_n(&a->lock.v, 1, __ATOMIC_ACQUIRE))
        return false;
    if (!__atomic_load_n(&a->owner, __ATOMIC_RELAXED)) { /* the owner has just exited */
        hkm_arena_put(a, p);
        hkm_arena_drain(a);
    } else if (!hkm_span_owns(s, p) || span_arena(s) != a)
        hk__report(HK_EBADPTR, p, "interior pointer of a small object?");
    else if (((uintptr_t *)p)[1] == hkm_key &&
             (hkm_span_has_free(s, p) || hkm_cache_has(s->bin, p)))
        hk__report(HK_EDOUBLEFREE, p, "double free? (small object already free)");
    else if (!adopt || !hkm_cache_adopt(s->bin, p))
        hkm_span_put_remote(a, s, p);
    hkm_unlock(&a->lock);
    return true;
}

void hkm_remote_free(hkm_arena_t *a, hkm_chunk_t *c, void *p, bool adopt)
{
    /* The owner field only changes under a's lock (bind_thread,
     * thread_exit): an orphan seen here under the lock stays one. */
    if (!__atomic_load_n(&a->owner, __ATOMIC_ACQUIRE)) {
        hkm_lock(&a->lock);
        bool orphan = !__atomic_load_n(&a->owner, __ATOMIC_RELAXED);
        if (orphan) {
            hkm_arena_put(a, p);
            hkm_arena_drain(a);
        }
        hkm_unlock(&a->lock);
        if (orphan)
            return;
    }
    else if (hkm_cfg.tcache && remote_put_now(a, c, p, adopt))
        return;
    void *old = __atomic_load_n(&a->remote, __ATOMIC_RELAXED);
    do {
        *(void **)p = old;
    } while (!__atomic_compare_exchange_n(&a->remote, &old, p, 1, __ATOMIC_ACQ_REL,
                                          __ATOMIC_RELAXED));
    /* The owner may have exited between the test and the push, after its
     * last drain (it clears `owner` before draining, under the lock, and the
     * drain is an acq_rel exchange on the stack): then nobody would drain p. */
    if (HKM_UNLIKELY(!__atomic_load_n(&a->owner, __ATOMIC_ACQUIRE)))
        orphan_drain(a);
}

void hkm_arena_put(hkm_arena_t *a, void *p)
{
    hkm_chunk_t *c = hkm_chunk_of(p);
    hkm_span_t *s = c ? hkm_span_of(c, p) : NULL;
    if (!s) {
        size_t us = hk_heap_usable_size(a->heap, p);
        if (!us)
            return; /* not a live block: the heap reported it */
        hk_heap_free(a->heap, p);
        hkm_arena_note_free(a, us);
        return;
    }
    if (!hkm_span_owns(s, p) || span_arena(s) != a) {
        hk__report(HK_EBADPTR, p, "interior pointer of a small object?");
        return;
    }
    if (((uintptr_t *)p)[1] == hkm_key && hkm_span_has_free(s, p)) {
        hk__report(HK_EDOUBLEFREE, p, "double free? (small object already free)");
        return;
    }
    hkm_span_put(a, s, p);
}

void hkm_arena_drain(hkm_arena_t *a)
{
    void *p = __atomic_exchange_n(&a->remote, NULL, __ATOMIC_ACQ_REL);
    while (p) {
        void *next = *(void **)p;
        hkm_arena_put(a, p);
        p = next;
    }
}

/* ---- trimming ------------------------------------------------------------ */

typedef struct {
    bool released;
    size_t keep; /* free bytes still to leave resident */
} trim_ctx_t;

static void trim_block(void *ptr, size_t size, bool used, void *ctx)
{
    trim_ctx_t *tc = ctx;
    /* At debug level 1 and above free memory holds the poison pattern that
     * is checked on reuse; pages given back come back zeroed, so keep them. */
    if (used || size < HKM_TRIM_MIN_BLOCK || HK_DEBUG >= 1)
        return;
    if (tc->keep >= size) {
        tc->keep -= size;
        return;
    }
    tc->keep = 0;
    /* Keep the free block's header, links and footer: only whole pages
     * strictly inside the payload, 64 bytes in from either end, go back. */
    size_t ps = hkm_page_size();
    uintptr_t lo = hk__align_up_ptr((uintptr_t)ptr + 64, ps);
    uintptr_t hi = ((uintptr_t)ptr + size - 64) & ~(uintptr_t)(ps - 1);
    if (hi > lo && madvise((void *)lo, hi - lo, MADV_DONTNEED) == 0)
        tc->released = true;
}

static bool arena_trim_keep(hkm_arena_t *a, size_t keep)
{
    trim_ctx_t tc = {false, keep};
    a->freed_since_trim = 0;
    if (a->heap)
        hk_heap_walk(a->heap, trim_block, &tc);
    return tc.released;
}

bool hkm_arena_trim(hkm_arena_t *a)
{
    hkm_span_release_spares(a);
    return arena_trim_keep(a, 0);
}

/* The free bytes an orphan arena keeps resident (HKM_TRIM_EXIT_KEEP). */
static size_t orphan_keep(void)
{
    unsigned orphans = __atomic_load_n(&n_arenas, __ATOMIC_RELAXED) - 1u -
                       __atomic_load_n(&n_bound, __ATOMIC_RELAXED);
    return orphans <= HKM_WARM_ORPHANS ? HKM_TRIM_EXIT_KEEP : 0;
}

void hkm_arena_note_free(hkm_arena_t *a, size_t bytes)
{
    a->freed_since_trim += bytes;
    if (HKM_UNLIKELY(a->freed_since_trim >= HKM_TRIM_ORPHAN) && hkm_cfg.trim &&
        !arena_is_shared(a) && !__atomic_load_n(&a->owner, __ATOMIC_RELAXED)) {
        arena_trim_keep(a, orphan_keep());
        return;
    }
    if (HKM_UNLIKELY(a->freed_since_trim >= HKM_TRIM_EVERY) && hkm_cfg.trim) {
        hk_stats_t st;
        hk_heap_get_stats(a->heap, &st);
        if (st.free >= HKM_TRIM_FREE)
            arena_trim_keep(a, HKM_TRIM_KEEP);
        else
            a->freed_since_trim = 0;
    }
}

/* ---- thread binding ---------------------------------------------------- */

/* 16384 / class size, clamped to 16..HKM_CAP_MAX. */
#ifndef HKM_CAP_MAX
#define HKM_CAP_MAX 512u
#endif
#ifndef HKM_CACHE_BYTES
#define HKM_CACHE_BYTES 16384u
#endif
#define CAPQ_(b) (HKM_CACHE_BYTES / (((b) + 1u) * HKM_GRAIN))
#define CAP_(b) ((uint16_t)(CAPQ_(b) > HKM_CAP_MAX ? HKM_CAP_MAX : CAPQ_(b) < 16u ? 16u : CAPQ_(b)))
#define CAP4_(b) CAP_(b), CAP_((b) + 1u), CAP_((b) + 2u), CAP_((b) + 3u)
#define CAP16_(b) CAP4_(b), CAP4_((b) + 4u), CAP4_((b) + 8u), CAP4_((b) + 12u)
const uint16_t hkm_bin_caps[HKM_BINS] = {CAP16_(0u), CAP16_(16u), CAP16_(32u), CAP16_(48u)};
_Static_assert(HKM_BINS == 64, "hkm_bin_caps has 64 entries");

#define CU_(i) ((uint8_t)((i) < 8u ? (i) : (i) < 16u ? ((i) | 1u) : (i) < 32u ? ((i) | 3u) : ((i) | 7u)))
#define CU4_(b) CU_(b), CU_((b) + 1u), CU_((b) + 2u), CU_((b) + 3u)
#define CU16_(b) CU4_(b), CU4_((b) + 4u), CU4_((b) + 8u), CU4_((b) + 12u)
const uint8_t hkm_class_up[HKM_BINS] = {CU16_(0u), CU16_(16u), CU16_(32u), CU16_(48u)};

void hkm_thread_reset_room(hkm_thread_t *t)
{
    for (unsigned b = 0; b < HKM_BINS; b++) {
        t->room[b] = hkm_bin_caps[b];
        t->fills[b] = 0;
        t->spilled[b] = 0;
    }
    t->foreign = 0;
}

void hkm_thread_flush(void)
{
    hkm_thread_t *t = &hkm_self;
    hkm_arena_t *a = t->arena;
    if (!a)
        return;
    void **foreign = NULL; /* other arenas' objects (hkm_cache_adopt) */
    hkm_lock(&a->lock);
    for (unsigned b = 0; b < HKM_BINS; b++) {
        void *p = t->bin[b];
        while (p) {
            void *next = *(void **)p;
            hkm_chunk_t *c = hkm_chunk_of(p);
            if (HKM_UNLIKELY(c && c->arena != a)) {
                *(void **)p = foreign;
                foreign = p;
            } else {
                ((uintptr_t *)p)[1] = 0;
                hkm_arena_put(a, p);
            }
            p = next;
        }
        t->bin[b] = NULL;
    }
    hkm_thread_reset_room(t);
    if (a->heap)
        hkm_arena_drain(a);
    hkm_unlock(&a->lock);
    if (foreign)
        hkm_foreign_put(foreign);
}

void hkm_foreign_put(void *list)
{
    for (void **q = list; q;) {
        void **next = q[0];
        hkm_chunk_t *c = hkm_chunk_of(q);
        hkm_remote_free(c->arena, c, q, false); /* not back into this cache */
        q = next;
    }
}

/* Thread exit: the cache goes back, the arena becomes an orphan (remote
 * frees into it then happen at once, hkm_remote_free), its empty spans go
 * back to the heap and the heap's free pages to the OS - an exited thread
 * keeps no memory resident that it is not still handing out (and, past
 * HKM_WARM_ORPHANS orphans, neither the pages of its spans that hold no
 * live object: hkm_span_release_pages). */
static void thread_exit(void *arg)
{
    (void)arg;
    hkm_thread_t *t = &hkm_self;
    if (t->state != HKM_T_BOUND)
        return;
    hkm_thread_flush();
    hkm_arena_t *a = t->arena;
    hkm_lock(&bind_lock);
    hkm_lock(&a->lock);
    __atomic_store_n(&a->owner, NULL, __ATOMIC_RELEASE);
    __atomic_store_n(&n_bound, n_bound - 1u, __ATOMIC_RELAXED);
    if (a->heap) {
        hkm_arena_drain(a);
        hkm_span_release_empty(a);
        if (hkm_cfg.trim) {
            size_t keep = orphan_keep();
            arena_trim_keep(a, keep);
            if (!keep) /* not kept warm for the next thread: spans too */
                hkm_span_release_pages(a);
        }
    }
    hkm_unlock(&a->lock);
    hkm_unlock(&bind_lock);
    t->arena = NULL;
    t->state = HKM_T_EXITED;
}

/* Exclusive arenas: at most HKM_ARENAS_PER_CPU per CPU the process may run
 * on (sched_getaffinity: no allocation), and at most HKM_MAX_ARENAS - 1.
 * Each exclusive arena keeps a partly carved span of every class its thread
 * uses - two resident pages at least, the span header's and the last, where
 * the heap keeps the next block's header - and a thread cache; the shared
 * arena packs the small objects of the threads beyond the limit in its own
 * spans (one object per call, under its one lock, no thread cache), and no
 * more threads than CPUs run into it at once. Measured on
 * 2 CPUs, 100 live threads of 512 objects (hkb_bench threads100): 63
 * exclusive arenas 1.45x glibc's peak RSS, 32 of them 1.22x (glibc itself
 * stops at 8 arenas per CPU). */
#ifndef HKM_ARENAS_PER_CPU
#define HKM_ARENAS_PER_CPU 16u
#endif

static unsigned exclusive_limit(void)
{
    cpu_set_t set;
    unsigned cpus = 0;
    if (sched_getaffinity(0, sizeof set, &set) == 0)
        cpus = (unsigned)CPU_COUNT(&set);
    if (cpus == 0 || cpus >= HKM_MAX_ARENAS / HKM_ARENAS_PER_CPU)
        return HKM_MAX_ARENAS - 1u;
    return cpus * HKM_ARENAS_PER_CPU;
}

unsigned hkm_arena_limit(void)
{
    return __atomic_load_n(&n_exclusive, __ATOMIC_RELAXED);
}

int hkm_arenas_init(void)
{
    __atomic_store_n(&n_exclusive, exclusive_limit(), __ATOMIC_RELAXED);
    arena_setup(&hkm_arenas[0], 0);
    __atomic_store_n(&n_arenas, 1, __ATOMIC_RELAXED);
    if (pthread_key_create(&exit_key, thread_exit) != 0)
        return HK_ENOMEM;
    return HK_OK;
}

static void bind_thread(hkm_thread_t *t)
{
    hkm_arena_t *a = NULL;
    hkm_lock(&bind_lock);
    unsigned n = __atomic_load_n(&n_arenas, __ATOMIC_RELAXED);
    for (unsigned i = 1; i < n; i++) {
        if (!__atomic_load_n(&hkm_arenas[i].owner, __ATOMIC_RELAXED)) {
            a = &hkm_arenas[i];
            break;
        }
    }
    if (!a && n <= hkm_arena_limit()) {
        a = &hkm_arenas[n];
        arena_setup(a, n);
        __atomic_store_n(&n_arenas, n + 1, __ATOMIC_RELEASE);
    }
    if (a) {
        hkm_lock(&a->lock); /* orphan frees (hkm_remote_free) test it locked */
        __atomic_store_n(&a->owner, t, __ATOMIC_RELEASE);
        __atomic_store_n(&n_bound, n_bound + 1u, __ATOMIC_RELAXED);
        hkm_unlock(&a->lock);
    }
    hkm_unlock(&bind_lock);
    if (a) {
        hkm_thread_reset_room(t);
        t->arena = a;
        t->state = HKM_T_BOUND;
        pthread_setspecific(exit_key, t); /* non-NULL: run thread_exit */
    } else {
        /* No arena in t->arena: the free fast path then matches no span
         * tag, the shared arena's included (those objects go back under its
         * lock), and the thread's cache lists stay empty. */
        t->arena = NULL;
        t->state = HKM_T_SHARED;
    }
}

hkm_arena_t *hkm_thread_arena(void)
{
    hkm_thread_t *t = &hkm_self;
    if (HKM_LIKELY(t->state == HKM_T_BOUND))
        return t->arena;
    if (t->state == HKM_T_NEW)
        bind_thread(t);
    return t->state == HKM_T_BOUND ? t->arena : &hkm_arenas[0];
}

unsigned hkm_arena_count(void)
{
    return __atomic_load_n(&n_arenas, __ATOMIC_ACQUIRE);
}

/* ---- fork ------------------------------------------------------------- */

void hkm_fork_prepare(void)
{
    if (__atomic_load_n(&hkm_ready, __ATOMIC_ACQUIRE) != 2)
        return;
    hkm_trace_lock(); /* first: a traced call holds it while taking an arena lock */
    hkm_lock(&bind_lock);
    unsigned n = __atomic_load_n(&n_arenas, __ATOMIC_RELAXED);
    for (unsigned i = 0; i < n; i++)
        hkm_lock(&hkm_arenas[i].lock);
    hkm_os_fork_prepare();
}

void hkm_fork_parent(void)
{
    if (__atomic_load_n(&hkm_ready, __ATOMIC_ACQUIRE) != 2)
        return;
    hkm_os_fork_parent();
    unsigned n = __atomic_load_n(&n_arenas, __ATOMIC_RELAXED);
    for (unsigned i = n; i-- > 0;)
        hkm_unlock(&hkm_arenas[i].lock);
    hkm_unlock(&bind_lock);
    hkm_trace_unlock();
}

void hkm_fork_child(void)
{
    if (__atomic_load_n(&hkm_ready, __ATOMIC_ACQUIRE) != 2)
        return;
    hkm_trace_unlock();
    hkm_os_fork_child();
    unsigned n = __atomic_load_n(&n_arenas, __ATOMIC_RELAXED);
    for (unsigned i = 0; i < n; i++) {
        hkm_arena_t *a = &hkm_arenas[i];
        hkm_lock_reset(&a->lock);
        if (i > 0 && a != hkm_self.arena)
            __atomic_store_n(&a->owner, NULL, __ATOMIC_RELAXED);
    }
    n_bound = hkm_self.state == HKM_T_BOUND ? 1u : 0u;
    hkm_lock_reset(&bind_lock);
}
