/* SPDX-License-Identifier: MIT */
/*
 * test_malloc_threads.c - heapkit's malloc under threads and fork, through
 * its hk_* names: private churn on several threads, producer/consumer with
 * every block freed on another thread, thread churn (arenas are reused),
 * more threads than exclusive arenas, objects freed on another thread
 * feeding that thread's cache, fork while another thread allocates,
 * and the HEAPKIT_TRACE writer.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "heapkit/malloc.h"
#include "hk_test.h"
#include "malloc/hkm_internal.h"
#include "malloc/hkm_test_util.h"

/* ---- private churn ------------------------------------------------------- */

typedef struct {
    unsigned seed;
    unsigned bad;
} churn_arg_t;

static void *churn_thread(void *argp)
{
    churn_arg_t *arg = argp;
    enum { SLOTS = 256 };
    void *ptr[SLOTS] = {0};
    size_t len[SLOTS] = {0};
    hk_rng_t rng;
    hk_rng_seed(&rng, arg->seed);
    for (unsigned i = 0; i < 60000u; i++) {
        unsigned s = (unsigned)hk_rng_below(&rng, SLOTS);
        if (ptr[s]) {
            if (!hkm_test_check(ptr[s], len[s], s + arg->seed))
                arg->bad++;
            if (hk_rng_below(&rng, 4) == 0) {
                size_t n = (size_t)hk_rng_below(&rng, 3000) + 1;
                void *q = hk_realloc(ptr[s], n);
                if (!q) {
                    arg->bad++;
                    continue;
                }
                size_t keep = len[s] < n ? len[s] : n;
                if (!hkm_test_check(q, keep, s + arg->seed))
                    arg->bad++;
                ptr[s] = q;
                len[s] = n;
                hkm_test_fill(q, n, s + arg->seed);
            } else {
                hk_free(ptr[s]);
                ptr[s] = NULL;
            }
        } else {
            size_t n = hk_rng_below(&rng, 10) == 0 ? (size_t)hk_rng_below(&rng, 200000)
                                                   : (size_t)hk_rng_below(&rng, 700);
            ptr[s] = hk_malloc(n);
            if (!ptr[s]) {
                arg->bad++;
                continue;
            }
            len[s] = n;
            hkm_test_fill(ptr[s], n, s + arg->seed);
        }
    }
    for (unsigned s = 0; s < SLOTS; s++)
        hk_free(ptr[s]);
    return NULL;
}

static void test_private_churn(void)
{
    enum { T = 4 };
    pthread_t th[T];
    churn_arg_t arg[T];
    for (unsigned i = 0; i < T; i++) {
        arg[i].seed = 1000u + i;
        arg[i].bad = 0;
        HK_REQUIRE(pthread_create(&th[i], NULL, churn_thread, &arg[i]) == 0);
    }
    for (unsigned i = 0; i < T; i++) {
        pthread_join(th[i], NULL);
        HK_CHECK_EQ(arg[i].bad, 0);
    }
    HK_CHECK_EQ(hk_malloc_validate(), 0);
}

/* ---- producer / consumer ------------------------------------------------ */

enum { QCAP = 1024 };
typedef struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    void *item[QCAP];
    size_t size[QCAP];
    unsigned head, tail, done_producers;
    unsigned bad, consumed;
} queue_t;

static queue_t q = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, {0}, {0}, 0, 0, 0, 0, 0};

static void *producer(void *argp)
{
    unsigned id = (unsigned)(uintptr_t)argp;
    hk_rng_t rng;
    hk_rng_seed(&rng, 77u + id);
    for (unsigned i = 0; i < 50000u; i++) {
        size_t n = (size_t)hk_rng_below(&rng, i % 50 == 0 ? 100000 : 400) + 1;
        void *p = hk_malloc(n);
        if (!p)
            continue;
        hkm_test_fill(p, n, (unsigned)n);
        pthread_mutex_lock(&q.mu);
        while (q.tail - q.head == QCAP)
            pthread_cond_wait(&q.cv, &q.mu);
        q.item[q.tail % QCAP] = p;
        q.size[q.tail % QCAP] = n;
        q.tail++;
        pthread_cond_broadcast(&q.cv);
        pthread_mutex_unlock(&q.mu);
    }
    pthread_mutex_lock(&q.mu);
    q.done_producers++;
    pthread_cond_broadcast(&q.cv);
    pthread_mutex_unlock(&q.mu);
    return NULL;
}

static void *consumer(void *argp)
{
    (void)argp;
    for (;;) {
        pthread_mutex_lock(&q.mu);
        while (q.tail == q.head && q.done_producers < 2)
            pthread_cond_wait(&q.cv, &q.mu);
        if (q.tail == q.head) {
            pthread_mutex_unlock(&q.mu);
            return NULL;
        }
        void *p = q.item[q.head % QCAP];
        size_t n = q.size[q.head % QCAP];
        q.head++;
        q.consumed++;
        pthread_cond_broadcast(&q.cv);
        pthread_mutex_unlock(&q.mu);
        if (!hkm_test_check(p, n, (unsigned)n))
            __atomic_fetch_add(&q.bad, 1, __ATOMIC_RELAXED);
        hk_free(p); /* a remote free: p belongs to the producer's heap */
    }
}

static void test_producer_consumer(void)
{
    pthread_t p[2], c[2];
    for (uintptr_t i = 0; i < 2; i++) {
        HK_REQUIRE(pthread_create(&p[i], NULL, producer, (void *)i) == 0);
        HK_REQUIRE(pthread_create(&c[i], NULL, consumer, NULL) == 0);
    }
    for (unsigned i = 0; i < 2; i++) {
        pthread_join(p[i], NULL);
        pthread_join(c[i], NULL);
    }
    HK_CHECK_EQ(q.bad, 0);
    HK_CHECK_EQ(q.consumed, 100000);
    HK_CHECK_EQ(hk_malloc_validate(), 0);
}

/* ---- thread churn: arenas are reused ------------------------------------ */

static void *leaver(void *argp)
{
    void **out = argp;
    void *keep[8];
    for (unsigned i = 0; i < 8; i++)
        keep[i] = hk_malloc(100 + i * 1000);
    for (unsigned i = 0; i < 100; i++)
        hk_free(hk_malloc(i * 37u));
    for (unsigned i = 0; i < 8; i++)
        out[i] = keep[i]; /* freed later by the main thread */
    return NULL;
}

static void test_thread_churn(void)
{
    hk_free(hk_malloc(8));
    hk_stats_t before, after;
    hk_malloc_get_stats(&before);
    static void *left[300][8];
    for (unsigned t = 0; t < 300; t++) {
        pthread_t th;
        HK_REQUIRE(pthread_create(&th, NULL, leaver, left[t]) == 0);
        pthread_join(th, NULL);
        for (unsigned i = 0; i < 8; i++) {
            HK_CHECK(left[t][i] != NULL);
            hk_free(left[t][i]);
        }
    }
    hk_malloc_get_stats(&after);
    /* One arena is adopted again and again: a few chunks at most. */
    HK_CHECK(after.total <= before.total + (16u << 20));
    HK_CHECK_EQ(hk_malloc_validate(), 0);
}

/* ---- more threads than exclusive arenas --------------------------------- */

static void *crowd_thread(void *argp)
{
    void **slot = argp;
    for (unsigned i = 0; i < 2000; i++) {
        void *p = hk_malloc(16 + (i % 300));
        if (p)
            memset(p, (int)i, 16);
        void *old = __atomic_exchange_n(slot, p, __ATOMIC_ACQ_REL);
        hk_free(old); /* often a block of a neighbour thread */
    }
    return NULL;
}

static void test_crowd(void)
{
    enum { T = 80 }; /* > 63 exclusive arenas: some threads share arena 0 */
    pthread_t th[T];
    static void *slots[8];
    unsigned started = 0;
    for (unsigned i = 0; i < T; i++)
        if (pthread_create(&th[i], NULL, crowd_thread, &slots[i % 8]) == 0)
            started++;
    for (unsigned i = 0; i < started; i++)
        pthread_join(th[i], NULL);
    HK_CHECK_EQ(started, T);
    for (unsigned i = 0; i < 8; i++) {
        hk_free(slots[i]);
        slots[i] = NULL;
    }
    HK_CHECK_EQ(hk_malloc_validate(), 0);
}

/* ---- at most hkm_arena_limit() exclusive arenas ------------------------- */

static pthread_barrier_t limit_barrier;

static unsigned limit_shared_spans; /* threads of arena 0 served from its spans */

static void *limit_thread(void *argp)
{
    void **slot = argp;
    *slot = hk_malloc(200);
    if (*slot && hkm_self.state == HKM_T_SHARED) {
        hkm_span_t *s = hkm_span_of(hkm_chunk_of(*slot), *slot);
        if (s && span_arena(s) == &hkm_arenas[0])
            __atomic_fetch_add(&limit_shared_spans, 1u, __ATOMIC_RELAXED);
    }
    pthread_barrier_wait(&limit_barrier); /* all alive at once */
    hk_free(*slot);
    *slot = NULL;
    return NULL;
}

/* More live threads than exclusive arenas may exist: the arenas stop at the
 * limit (the rest share arena 0, whose small objects come from its own
 * spans), and a second generation of as many threads reuses the first
 * one's arenas - none is added. */
static void test_arena_limit(void)
{
    unsigned lim = hkm_arena_limit();
    HK_REQUIRE(lim >= 1 && lim < HKM_MAX_ARENAS);
    enum { T = 72 };
    static void *slot[T];
    unsigned count[2] = {0, 0};
    for (unsigned gen = 0; gen < 2; gen++) {
        pthread_t th[T];
        HK_REQUIRE(pthread_barrier_init(&limit_barrier, NULL, T) == 0);
        unsigned started = 0;
        for (unsigned i = 0; i < T; i++)
            if (pthread_create(&th[i], NULL, limit_thread, &slot[i]) == 0)
                started++;
        HK_REQUIRE(started == T);
        for (unsigned i = 0; i < T; i++)
            pthread_join(th[i], NULL);
        pthread_barrier_destroy(&limit_barrier);
        count[gen] = hkm_arena_count();
    }
    HK_CHECK(count[0] <= lim + 1u); /* + arena 0 */
    HK_CHECK_EQ(count[1], count[0]);
    if (hkm_cfg.spans && lim + 1u < T) /* two generations, each with lim + 1 .. T shared */
        HK_CHECK(limit_shared_spans >= 2u * (T - lim - 1u));
    HK_CHECK_EQ(hk_malloc_validate(), 0);
}

/* ---- fork while another thread allocates -------------------------------- */

static int stop_spinner;

static void *spinner(void *argp)
{
    (void)argp;
    unsigned i = 0;
    while (!__atomic_load_n(&stop_spinner, __ATOMIC_RELAXED)) {
        void *p = hk_malloc(1 + (i++ % 5000));
        hk_free(p);
    }
    return NULL;
}

static void test_fork_with_threads(void)
{
    pthread_t th;
    __atomic_store_n(&stop_spinner, 0, __ATOMIC_RELAXED);
    HK_REQUIRE(pthread_create(&th, NULL, spinner, NULL) == 0);
    unsigned good = 0;
    for (unsigned k = 0; k < 20; k++) {
        pid_t pid = fork();
        if (pid == 0) {
            /* The child: the spinner does not exist here; its arena must be
             * consistent and adoptable, and every lock free. */
            int bad = 0;
            for (unsigned i = 0; i < 2000; i++) {
                void *p = hk_malloc(i * 3u);
                if (!p)
                    bad = 1;
                hk_free(p);
            }
            if (hk_malloc_validate() != 0)
                bad = 1;
            _exit(bad ? 3 : 0);
        }
        HK_REQUIRE(pid > 0);
        int st = 0;
        waitpid(pid, &st, 0);
        if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
            good++;
    }
    __atomic_store_n(&stop_spinner, 1, __ATOMIC_RELAXED);
    pthread_join(th, NULL);
    HK_CHECK_EQ(good, 20);
}

/* ---- the trace writer ---------------------------------------------------- */

static void test_trace_file(void)
{
    char path[] = "/tmp/hkm_trace_XXXXXX";
    int fd = mkstemp(path);
    HK_REQUIRE(fd >= 0);
    close(fd);
    pid_t pid = fork();
    if (pid == 0) {
        /* In a child, so that tracing does not outlive the test. */
        if (hkm_trace_open(path) != 0)
            _exit(2);
        void *a = hk_malloc(100);  /* a 0 100 */
        void *b = hk_calloc(3, 5); /* a 1 15 */
        a = hk_realloc(a, 300);    /* r 0 300 */
        hk_free(b);                /* f 1 */
        void *c = hk_malloc(7);    /* a 1 7 (id reused) */
        (void)c;                   /* live at exit: f 1 */
        hk_free(a);                /* f 0 */
        hkm_trace_close();
        _exit(0);
    }
    HK_REQUIRE(pid > 0);
    int st = 0;
    waitpid(pid, &st, 0);
    HK_REQUIRE(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    FILE *f = fopen(path, "r");
    HK_REQUIRE(f != NULL);
    char text[1024];
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    unlink(path);
    text[n] = 0;
    unsigned long v[4];
    char *s = text;
    for (int i = 0; i < 4; i++)
        v[i] = strtoul(s, &s, 10);
    HK_CHECK_EQ(v[0], 315); /* peak live requested bytes: 300 + 15 */
    HK_CHECK_EQ(v[1], 2);   /* ids 0 and 1 */
    HK_CHECK_EQ(v[2], 7);   /* ops, the balancing free included */
    HK_CHECK_EQ(v[3], 1);
    HK_CHECK(strstr(s, "a 0 100\na 1 15\nr 0 300\nf 1\na 1 7\nf 0\n") != NULL);
    const char *tail = strrchr(text, '#');
    HK_CHECK(tail != NULL && strstr(tail, "\nf 1\n") != NULL);
}

/* ---- the span validator notices damage ---------------------------------- */

static void test_span_validator(void)
{
    void *p = hk_malloc(64);
    HK_REQUIRE(p != NULL);
    void *other = hk_malloc(64); /* keeps the span partly used */
    HK_REQUIRE(other != NULL);
    hkm_chunk_t *c = hkm_chunk_of(p);
    HK_REQUIRE(c != NULL);
    hkm_span_t *s = hkm_span_of(c, p);
    HK_REQUIRE(s != NULL); /* small objects live in spans */
    HK_CHECK_EQ(s->obj_size, 64);
    HK_CHECK_EQ(hk_malloc_usable_size(p), 64);
    HK_CHECK_EQ(hk_malloc_validate(), 0);
    hk_test_capture_errors();
    s->used++; /* the object count no longer matches the free list */
    HK_CHECK_EQ(hk_malloc_validate(), HK_ECORRUPT);
    HK_CHECK(hk_test_errors.count >= 1);
    HK_CHECK_EQ(hk_test_errors.last_code, HK_ECORRUPT);
    s->used--;
    uintptr_t m = s->tag;
    s->tag = 0; /* a stray write over the span header */
    HK_CHECK_EQ(hk_malloc_validate(), HK_ECORRUPT);
    s->tag = m;
    HK_CHECK_EQ(hk_malloc_validate(), 0);
    hk_free(p);
    hk_free(other);
    HK_CHECK_EQ(hk_malloc_validate(), 0);
}

/* ---- span_carved: one multiply, one compare ------------------------------ */

/* A free of a span address that is not a carved object - inside the span
 * header, between objects, past the bump offset, in the span's tail - is
 * reported and changes nothing; so is damage to the bump limit. Runs on a
 * thread of its own, whose first refill of the 1 KiB class carves only a
 * few of the span's 15 objects. */
static void carved_body(void)
{
    char *p = hk_malloc(1000);
    HK_REQUIRE(p != NULL);
    hkm_chunk_t *c = hkm_chunk_of(p);
    HK_REQUIRE(c != NULL);
    hkm_span_t *s = hkm_span_of(c, p);
    HK_REQUIRE(s != NULL);
    HK_REQUIRE(s->obj_size == 1024);
    char *first = (char *)s + HKM_SPAN_HDR;
    unsigned carved = s->bump_off / s->obj_size;
    HK_REQUIRE(carved >= 1 && carved < 8);
    /* The decision itself, offset by offset: exactly the carved objects. */
    for (uint32_t off = 0; off < HKM_SPAN - HKM_SPAN_HDR; off += 16)
        HK_CHECK_EQ(span_carved(s, off), off % 1024 == 0 && off / 1024 < carved);
    for (uint32_t j = 1; j <= HKM_SPAN_HDR; j++) /* below the first object */
        HK_CHECK(!span_carved(s, (uint32_t)0 - j));
    hk_test_capture_errors();
    char *bad[] = {(char *)s + 16, (char *)s + 32, first + 512, first + 1024 * 8,
                   first + 1024 * 14, first + 1024 * 15};
    for (unsigned i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        unsigned before = hk_test_errors.count;
        hk_free(bad[i]);
        HK_CHECK_EQ(hk_test_errors.count, before + 1);
    }
    HK_CHECK_EQ(s->bump_off / s->obj_size, carved); /* nothing was taken in */
    HK_CHECK_EQ(hk_malloc_validate(), 0);
    uint64_t lim = s->limit;
    s->limit += s->divm * s->obj_size; /* one more object "carved" than exists */
    HK_CHECK_EQ(hk_malloc_validate(), HK_ECORRUPT);
    s->limit = lim;
    HK_CHECK_EQ(hk_malloc_validate(), 0);
    hk_free(p);
    HK_CHECK_EQ(hk_malloc_validate(), 0);
}

static void *carved_thread(void *arg)
{
    (void)arg;
    carved_body();
    return NULL;
}

static void test_span_carved(void)
{
    pthread_t t;
    HK_REQUIRE(pthread_create(&t, NULL, carved_thread, NULL) == 0);
    int rc = pthread_join(t, NULL); /* before the check counter is touched again */
    HK_REQUIRE(rc == 0);
}

/* ---- spare span blocks ----------------------------------------------------- */

/* A span emptied on a live thread between two spans in use would leave a
 * hole no later span can take: it is kept as a spare block, and the next
 * new span - of any class - takes it: no new heap block, the same address
 * (not fresh pages at the heap's end). At thread exit the spare goes back
 * to the heap. Runs on a thread of its own (a fresh arena, or an adopted
 * one whose exit gave back every spare). */
static hkm_arena_t *spare_arena;

static hkm_span_t *span_at(void *p)
{
    return hkm_span_of(hkm_chunk_of(p), p);
}

static void spare_body(void)
{
    enum { N = 52 }; /* 15 objects of 1 KiB per span: three full ones, one not */
    void *p[N];
    for (unsigned i = 0; i < N; i++) {
        p[i] = hk_malloc(1000);
        HK_REQUIRE(p[i] != NULL);
    }
    hkm_arena_t *a = hkm_self.arena;
    spare_arena = a;
    HK_CHECK_EQ(a->n_spare, 0);
    /* A span of ours with a span of ours on either side. */
    hkm_span_t *mid = NULL;
    for (unsigned i = 0; i < N && !mid; i++) {
        hkm_span_t *s = span_at(p[i]);
        bool lo = false, hi = false;
        for (unsigned k = 0; k < N; k++) {
            lo |= span_at(p[k]) == (hkm_span_t *)((uintptr_t)s - HKM_SPAN);
            hi |= span_at(p[k]) == (hkm_span_t *)((uintptr_t)s + HKM_SPAN);
        }
        if (lo && hi)
            mid = s;
    }
    HK_REQUIRE(mid != NULL);
    for (unsigned i = 0; i < N; i++)
        if (span_at(p[i]) == mid) {
            hk_free(p[i]);
            p[i] = NULL;
        }
    hkm_thread_flush(); /* the cached objects back to their span: it is empty */
    HK_CHECK_EQ(a->n_spare, 1);
    HK_CHECK(a->spare[0] == mid);
    HK_CHECK(span_at((char *)mid + HKM_SPAN_HDR) == NULL); /* no longer a span */
    unsigned bin = hkm_bin_of(880);
    HK_REQUIRE(a->partial[bin] == NULL); /* the next 880-byte object needs a new span */
    hk_stats_t before, after;
    hk_malloc_get_stats(&before);
    void *obj = hk_malloc(880);
    HK_REQUIRE(obj != NULL);
    hk_malloc_get_stats(&after);
    HK_CHECK(span_at(obj) == mid);
    HK_CHECK_EQ(after.used_blocks, before.used_blocks); /* no new heap block */
    HK_CHECK_EQ(a->n_spare, 0);
    HK_CHECK_EQ(hk_malloc_validate(), 0);
    /* The highest span of ours has free heap memory after it: emptied, it
     * goes back to the heap (where it merges), not to the spares. */
    hkm_span_t *last = NULL, *other = NULL;
    for (unsigned i = 0; i < N; i++)
        if (p[i] && (!last || span_at(p[i]) > last))
            last = span_at(p[i]);
    HK_REQUIRE(last != NULL);
    HK_REQUIRE(span_at((char *)last + HKM_SPAN + HKM_SPAN_HDR) == NULL);
    for (unsigned i = 0; i < N && !other; i++)
        if (p[i] && span_at(p[i]) != last) {
            other = span_at(p[i]);
            hk_free(p[i]); /* another span of the class stays listed */
            p[i] = NULL;
        }
    HK_REQUIRE(other != NULL);
    hkm_thread_flush(); /* that object back to its span, first */
    for (unsigned i = 0; i < N; i++)
        if (p[i] && span_at(p[i]) == last) {
            hk_free(p[i]);
            p[i] = NULL;
        }
    hkm_thread_flush();
    HK_CHECK(span_at((char *)last + HKM_SPAN_HDR) == NULL); /* given back */
    HK_CHECK_EQ(a->n_spare, 0);
    HK_CHECK_EQ(hk_malloc_validate(), 0);
    hk_free(obj);
    for (unsigned i = 0; i < N; i++)
        hk_free(p[i]);
    HK_CHECK_EQ(hk_malloc_validate(), 0);
}

static void *spare_thread(void *arg)
{
    (void)arg;
    spare_body();
    return NULL;
}

static void test_span_spares(void)
{
    pthread_t t;
    /* No check in this thread until the join: the check counter is shared. */
    int rc = pthread_create(&t, NULL, spare_thread, NULL);
    if (rc == 0)
        rc = pthread_join(t, NULL);
    HK_REQUIRE(rc == 0);
    HK_REQUIRE(spare_arena != NULL);
    hkm_lock(&spare_arena->lock);
    unsigned left = spare_arena->n_spare;
    hkm_unlock(&spare_arena->lock);
    HK_CHECK_EQ(left, 0); /* the exit gave the spare back to the heap */
    HK_CHECK_EQ(hk_malloc_validate(), 0);
}

/* ---- blocks that outlive their thread ------------------------------------ */

enum { ORPHAN_SMALL = 2000, ORPHAN_BIG = 16 };
static void *orphan_small[ORPHAN_SMALL], *orphan_big[ORPHAN_BIG];

static void *orphan_maker(void *argp)
{
    (void)argp;
    for (unsigned i = 0; i < ORPHAN_SMALL; i++) {
        orphan_small[i] = hk_malloc(96);
        if (orphan_small[i])
            memset(orphan_small[i], 7, 96);
    }
    for (unsigned i = 0; i < ORPHAN_BIG; i++)
        orphan_big[i] = hk_malloc(20000);
    return NULL;
}

/* A thread exits leaving blocks behind; another thread frees them. Nobody
 * adopts the exited thread's arena meanwhile, yet its heap gets the blocks
 * back at once (not on a stack waiting for an adopter): its use falls by
 * what was freed, and the emptied spans go back to the heap. */
static void test_orphan_frees(void)
{
    pthread_t th;
    HK_REQUIRE(pthread_create(&th, NULL, orphan_maker, NULL) == 0);
    HK_REQUIRE(pthread_join(th, NULL) == 0);
    for (unsigned i = 0; i < ORPHAN_SMALL; i++)
        HK_REQUIRE(orphan_small[i] != NULL);
    for (unsigned i = 0; i < ORPHAN_BIG; i++)
        HK_REQUIRE(orphan_big[i] != NULL);
    hk_stats_t before, after;
    hk_malloc_get_stats(&before);
    for (unsigned i = 0; i < ORPHAN_BIG; i++)
        hk_free(orphan_big[i]);
    for (unsigned i = 0; i < ORPHAN_SMALL; i++) {
        HK_CHECK(((unsigned char *)orphan_small[i])[95] == 7);
        hk_free(orphan_small[i]);
    }
    hk_malloc_get_stats(&after);
    /* 320 KB of heap blocks and ~190 KB of 96-byte objects (12 spans). */
    HK_CHECK(after.used + (size_t)ORPHAN_BIG * 20000 + (size_t)ORPHAN_SMALL * 96 / 2 <= before.used);
    HK_CHECK_EQ(hk_malloc_validate(), 0);
}

/* ---- an orphan's spans give their empty pages back ------------------------ */

enum { ORPHAN_PAGE_N = 30, ORPHAN_PAGE_FILLERS = 6 };
static void *orphan_page_obj[ORPHAN_PAGE_N];
static hkm_span_t *orphan_page_span;
static pthread_barrier_t orphan_page_barrier, orphan_page_last;

static void *orphan_page_filler(void *argp)
{
    (void)argp;
    hk_free(hk_malloc(64)); /* an arena of its own */
    pthread_barrier_wait(&orphan_page_barrier); /* the page thread has one too */
    return NULL;
}

/* Objects of 1 KiB (15 per span, at offsets 64 + 1024 k): those of the
 * first span whose bytes meet the span's pages 1 and 2 (k = 3..11) are
 * freed, the others stay live past the thread's exit. */
static void *orphan_page_thread(void *argp)
{
    (void)argp;
    for (unsigned i = 0; i < ORPHAN_PAGE_N; i++) {
        orphan_page_obj[i] = hk_malloc(1000);
        if (orphan_page_obj[i])
            memset(orphan_page_obj[i], 0x5a, 1000);
    }
    pthread_barrier_wait(&orphan_page_barrier); /* every filler is bound */
    hkm_span_t *s = orphan_page_obj[0] ? span_at(orphan_page_obj[0]) : NULL;
    orphan_page_span = s;
    for (unsigned i = 0; s && i < ORPHAN_PAGE_N; i++) {
        uintptr_t off = (uintptr_t)orphan_page_obj[i] - (uintptr_t)s;
        if (span_at(orphan_page_obj[i]) == s && off >= 64u + 3u * 1024u &&
            off < 64u + 12u * 1024u) {
            hk_free(orphan_page_obj[i]);
            orphan_page_obj[i] = NULL;
        }
    }
    pthread_barrier_wait(&orphan_page_last); /* the fillers have exited */
    return NULL;
}

/* A thread exits while more than a few arenas are without an owner: the
 * pages of its spans that hold no live object go back to the OS at once
 * (not resident any more), the objects left there stay intact, and the
 * span's count still adds up (validator) as the leftovers are freed. */
static void test_orphan_span_pages(void)
{
    if (sysconf(_SC_PAGESIZE) != 4096 || !hkm_cfg.trim || !hkm_cfg.spans)
        return;
    pthread_t f[ORPHAN_PAGE_FILLERS], t;
    HK_REQUIRE(pthread_barrier_init(&orphan_page_barrier, NULL, ORPHAN_PAGE_FILLERS + 1) == 0);
    HK_REQUIRE(pthread_barrier_init(&orphan_page_last, NULL, 2) == 0);
    HK_REQUIRE(pthread_create(&t, NULL, orphan_page_thread, NULL) == 0);
    for (unsigned i = 0; i < ORPHAN_PAGE_FILLERS; i++)
        HK_REQUIRE(pthread_create(&f[i], NULL, orphan_page_filler, NULL) == 0);
    for (unsigned i = 0; i < ORPHAN_PAGE_FILLERS; i++)
        pthread_join(f[i], NULL);
    pthread_barrier_wait(&orphan_page_last); /* t exits last: many orphans */
    pthread_join(t, NULL);
    pthread_barrier_destroy(&orphan_page_barrier);
    pthread_barrier_destroy(&orphan_page_last);
    hkm_span_t *s = orphan_page_span;
    HK_REQUIRE(s != NULL);
    unsigned char vec[4] = {1, 1, 1, 1};
    HK_REQUIRE(mincore(s, HKM_SPAN, vec) == 0);
    HK_CHECK(vec[0] & 1u);       /* the header's page stays */
    HK_CHECK_EQ(vec[1] & 1u, 0); /* no live object there: given back */
    HK_CHECK_EQ(vec[2] & 1u, 0);
    HK_CHECK_EQ(hk_malloc_validate(), 0);
    unsigned live = 0;
    for (unsigned i = 0; i < ORPHAN_PAGE_N; i++) {
        unsigned char *p = orphan_page_obj[i];
        if (!p)
            continue;
        live++;
        HK_CHECK(p[0] == 0x5a && p[999] == 0x5a);
        hk_free(p);
        orphan_page_obj[i] = NULL;
    }
    HK_CHECK(live >= ORPHAN_PAGE_N - 9u);
    HK_CHECK_EQ(hk_malloc_validate(), 0);
}

/* ---- another thread's objects feed the freeing thread's cache ----------- */

enum { FOREIGN_N = 64, FOREIGN_SIZE = 200 };
static void *foreign_obj[FOREIGN_N];
static pthread_barrier_t foreign_made, foreign_done;
static unsigned foreign_reused, foreign_bad;

static void *foreign_owner(void *argp)
{
    (void)argp;
    for (unsigned i = 0; i < FOREIGN_N; i++) {
        foreign_obj[i] = hk_malloc(FOREIGN_SIZE);
        if (foreign_obj[i])
            memset(foreign_obj[i], 0x3c, FOREIGN_SIZE);
    }
    pthread_barrier_wait(&foreign_made);
    pthread_barrier_wait(&foreign_done); /* alive until the freer has exited */
    return NULL;
}

static void *foreign_freer(void *argp)
{
    (void)argp;
    hk_free(hk_malloc(64)); /* an arena of its own */
    for (unsigned i = 0; i < FOREIGN_N; i++)
        hk_free(foreign_obj[i]);
    hk_free(foreign_obj[0]); /* a double free of an object in this cache */
    void *mine[FOREIGN_N];
    for (unsigned i = 0; i < FOREIGN_N; i++) {
        mine[i] = hk_malloc(FOREIGN_SIZE);
        if (!mine[i]) {
            foreign_bad++;
            continue;
        }
        for (unsigned k = 0; k < FOREIGN_N; k++)
            if (mine[i] == foreign_obj[k])
                foreign_reused++;
        memset(mine[i], 0x11, FOREIGN_SIZE);
    }
    for (unsigned i = 0; i < FOREIGN_N; i++)
        hk_free(mine[i]);
    return NULL; /* the exit hands the other arena's objects back to it */
}

/* Thread A allocates, thread B frees: B's cache takes A's objects in, so
 * that B's next allocations of that class reuse A's memory instead of
 * growing B's arena (the larson/server pattern, where every arena would
 * otherwise hold both tables at its peak). A double free of such an object
 * is still caught; B's exit hands every object back to A's spans, whose
 * counts then add up again. */
static void test_foreign_cache(void)
{
    if (!hkm_cfg.tcache || !hkm_cfg.spans)
        return;
    pthread_t a, b;
    HK_REQUIRE(pthread_barrier_init(&foreign_made, NULL, 2) == 0);
    HK_REQUIRE(pthread_barrier_init(&foreign_done, NULL, 2) == 0);
    HK_REQUIRE(pthread_create(&a, NULL, foreign_owner, NULL) == 0);
    pthread_barrier_wait(&foreign_made);
    unsigned used = 0;
    hkm_span_t *spans[FOREIGN_N];
    unsigned n_spans = 0;
    for (unsigned i = 0; i < FOREIGN_N; i++) {
        HK_REQUIRE(foreign_obj[i] != NULL);
        hkm_span_t *s = span_at(foreign_obj[i]);
        HK_REQUIRE(s != NULL);
        bool seen = false;
        for (unsigned k = 0; k < n_spans; k++)
            seen |= spans[k] == s;
        if (!seen) {
            spans[n_spans++] = s;
            used += s->used;
        }
    }
    hk_test_capture_errors();
    HK_REQUIRE(pthread_create(&b, NULL, foreign_freer, NULL) == 0);
    HK_REQUIRE(pthread_join(b, NULL) == 0);
    HK_CHECK_EQ(foreign_bad, 0u);
    HK_CHECK_EQ(foreign_reused, (unsigned)FOREIGN_N); /* every one came back from the cache */
    HK_CHECK_EQ(hk_test_errors.count, 1u);
    HK_CHECK_EQ(hk_test_errors.last_code, HK_EDOUBLEFREE);
    HK_CHECK(hk_test_errors.last_ptr == foreign_obj[0]);
    unsigned after = 0;
    for (unsigned k = 0; k < n_spans; k++)
        after += spans[k]->used;
    HK_CHECK_EQ(after + FOREIGN_N, used); /* all back on A's spans */
    HK_CHECK_EQ(hk_malloc_validate(), 0);
    pthread_barrier_wait(&foreign_done);
    HK_REQUIRE(pthread_join(a, NULL) == 0);
    pthread_barrier_destroy(&foreign_made);
    pthread_barrier_destroy(&foreign_done);
    HK_CHECK_EQ(hk_malloc_validate(), 0);
}

HK_SUITE(threads) {
    HK_RUN(test_private_churn);
    HK_RUN(test_producer_consumer);
    HK_RUN(test_thread_churn);
    HK_RUN(test_crowd);
    HK_RUN(test_arena_limit);
    HK_RUN(test_orphan_frees);
    HK_RUN(test_foreign_cache);
}

HK_SUITE(spans) {
    HK_RUN(test_span_validator);
    HK_RUN(test_span_carved);
    HK_RUN(test_span_spares);
    HK_RUN(test_orphan_span_pages);
}

HK_SUITE(fork) {
    HK_RUN(test_fork_with_threads);
}

HK_SUITE(trace) {
    HK_RUN(test_trace_file);
}
