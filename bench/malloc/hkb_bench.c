/* SPDX-License-Identifier: MIT */
/*
 * hkb_bench.c - heapkit's malloc benchmarks, in the spirit of the classic
 * allocator workloads (the allocator under test is chosen with LD_PRELOAD,
 * see run.sh):
 *
 *   loop      glibc's bench-malloc-simple: allocate a batch of same-size
 *             blocks, free them, repeat, for sizes 16..1024
 *   server    larson-style (Larson & Krishnan, "Memory allocation for
 *             long-running server applications", ISMM 1998): each thread
 *             replaces random slots of its own table with new blocks of
 *             random size; every round the tables rotate between threads, so
 *             most blocks die on a thread other than their birth thread
 *   prodcons  producer/consumer: threads in pairs, one allocates messages,
 *             the other frees them (with 1 thread: batches alloc'd then freed)
 *   bignum    a cfrac-like bignum workload: multi-precision numbers as
 *             limb arrays, every operation allocates its result and frees
 *             its temporaries, numbers grow with realloc
 *   large     large-object churn: 16 live blocks of 64 KiB..4 MiB replaced
 *             at random, each touched
 *   freeall   1 GiB (SCALE GiB) of 16..256-byte blocks allocated, then all
 *             freed; prints the resident set right after the frees
 *             (rss_after_free_kb) - with no malloc_trim call
 *   threads100  100 threads at once, each churning ~300 KB of small blocks;
 *             half of each thread's blocks outlive it and are freed by the
 *             main thread after the thread exited (THREADS is ignored)
 *
 * usage: hkb_bench WORKLOAD THREADS [SCALE]   (SCALE 1 = about 0.3 s glibc)
 * Prints "WORKLOAD threads=T checksum=X maxrss_kb=K". The checksum depends
 * only on the workload, so every allocator must print the same one.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

static unsigned scale = 1;

typedef struct {
    uint64_t s;
} rng_t;

static uint64_t rnd(rng_t *r)
{
    /* splitmix64 (Steele, Lea, Flood: "Fast splittable pseudorandom number
     * generators", OOPSLA 2014) */
    uint64_t z = (r->s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static void *xmalloc(size_t n)
{
    void *p = malloc(n);
    if (!p) {
        fprintf(stderr, "out of memory (%zu)\n", n);
        exit(2);
    }
    return p;
}

/* ---- loop ------------------------------------------------------------------ */
static uint64_t w_loop(unsigned tid)
{
    (void)tid;
    enum { BATCH = 100 };
    void *p[BATCH];
    uint64_t sum = 0;
    for (unsigned rep = 0; rep < 400 * scale; rep++) {
        for (size_t size = 16; size <= 1024; size *= 2) {
            for (unsigned i = 0; i < BATCH; i++) {
                p[i] = xmalloc(size);
                *(volatile char *)p[i] = (char)i;
            }
            for (unsigned i = 0; i < BATCH; i++)
                free(p[i]);
            sum += size;
        }
    }
    return sum;
}

/* ---- server (larson) ---------------------------------------------------- */
enum { SLOTS = 2000, MAXT = 16 };
static void **tables[MAXT];
static unsigned n_threads = 1;
static pthread_barrier_t barrier;

static uint64_t w_server(unsigned tid)
{
    rng_t r = {1234u + tid};
    uint64_t sum = 0;
    void **mine = tables[tid];
    for (unsigned i = 0; i < SLOTS; i++) {
        size_t n = 16 + rnd(&r) % 1009;
        mine[i] = xmalloc(n);
        memset(mine[i], 1, 16);
    }
    unsigned rounds = 20 * scale;
    for (unsigned round = 0; round < rounds; round++) {
        void **t = tables[(tid + round) % n_threads];
        for (unsigned k = 0; k < 5000; k++) {
            unsigned s = (unsigned)(rnd(&r) % SLOTS);
            size_t n = 16 + rnd(&r) % 1009;
            sum += ((unsigned char *)t[s])[0];
            free(t[s]);
            t[s] = xmalloc(n);
            memset(t[s], 1, 16);
        }
        if (n_threads > 1)
            pthread_barrier_wait(&barrier);
    }
    if (n_threads > 1)
        pthread_barrier_wait(&barrier);
    for (unsigned i = 0; i < SLOTS; i++)
        free(mine[i]);
    return sum;
}

/* ---- producer/consumer ------------------------------------------------- */
enum { QN = 4096 };
typedef struct {
    void *_Atomic slot[QN];
} ring_t;
static ring_t rings[MAXT / 2];

static uint64_t w_prodcons(unsigned tid)
{
    unsigned msgs = 100000 * scale;
    rng_t r = {99u + tid};
    uint64_t sum = 0;
    if (n_threads == 1) {
        void **b = xmalloc(1000 * sizeof *b);
        for (unsigned done = 0; done < msgs; done += 1000) {
            for (unsigned i = 0; i < 1000; i++) {
                size_t n = 16 + rnd(&r) % 240;
                b[i] = xmalloc(n);
                ((unsigned char *)b[i])[0] = (unsigned char)n;
            }
            for (unsigned i = 0; i < 1000; i++) {
                sum += ((unsigned char *)b[i])[0];
                free(b[i]);
            }
        }
        free(b);
        return sum;
    }
    ring_t *q = &rings[tid / 2];
    if (tid % 2 == 0) { /* producer */
        for (unsigned i = 0; i < msgs; i++) {
            size_t n = 16 + rnd(&r) % 240;
            unsigned char *m = xmalloc(n);
            m[0] = (unsigned char)n;
            void *_Atomic *s = &q->slot[i % QN];
            while (atomic_load_explicit(s, memory_order_acquire))
                sched_yield();
            atomic_store_explicit(s, m, memory_order_release);
        }
    } else { /* consumer */
        for (unsigned i = 0; i < msgs; i++) {
            void *_Atomic *s = &q->slot[i % QN];
            unsigned char *m;
            while (!(m = atomic_load_explicit(s, memory_order_acquire)))
                sched_yield();
            atomic_store_explicit(s, NULL, memory_order_release);
            sum += m[0];
            free(m);
        }
    }
    return sum;
}

/* ---- bignum --------------------------------------------------------------- */
typedef struct {
    size_t n;
    uint32_t *d;
} big_t;

static big_t *big_new(size_t n)
{
    big_t *b = xmalloc(sizeof *b);
    b->n = n;
    b->d = calloc(n ? n : 1, sizeof *b->d);
    if (!b->d)
        exit(2);
    return b;
}

static void big_free(big_t *b)
{
    free(b->d);
    free(b);
}

static big_t *big_mul_add(const big_t *a, const big_t *b, uint32_t add)
{
    big_t *r = big_new(a->n + b->n);
    for (size_t i = 0; i < a->n; i++) {
        uint64_t carry = 0;
        for (size_t j = 0; j < b->n; j++) {
            uint64_t t = (uint64_t)a->d[i] * b->d[j] + r->d[i + j] + carry;
            r->d[i + j] = (uint32_t)t;
            carry = t >> 32;
        }
        r->d[i + b->n] = (uint32_t)carry;
    }
    uint64_t c = add;
    for (size_t i = 0; i < r->n && c; i++) {
        uint64_t t = (uint64_t)r->d[i] + c;
        r->d[i] = (uint32_t)t;
        c = t >> 32;
    }
    while (r->n > 1 && r->d[r->n - 1] == 0)
        r->n--;
    /* Trim the result as a bignum library would (realloc down). */
    uint32_t *d = realloc(r->d, r->n * sizeof *d);
    if (d)
        r->d = d;
    return r;
}

static uint64_t w_bignum(unsigned tid)
{
    rng_t r = {7u + tid};
    uint64_t sum = 0;
    for (unsigned rep = 0; rep < 1500 * scale; rep++) {
        big_t *x = big_new(1);
        x->d[0] = (uint32_t)rnd(&r) | 1u;
        unsigned steps = 2 + (unsigned)(rnd(&r) % 24);
        for (unsigned s = 0; s < steps; s++) {
            big_t *m = big_new(1 + rnd(&r) % 3);
            for (size_t i = 0; i < m->n; i++)
                m->d[i] = (uint32_t)rnd(&r);
            big_t *y = big_mul_add(x, m, (uint32_t)s);
            big_free(m);
            big_free(x);
            x = y;
        }
        sum += x->d[0] + x->n;
        big_free(x);
    }
    return sum;
}

/* ---- large ---------------------------------------------------------------- */
static uint64_t w_large(unsigned tid)
{
    enum { LIVE = 16 };
    rng_t r = {555u + tid};
    char *p[LIVE] = {0};
    size_t len[LIVE] = {0};
    uint64_t sum = 0;
    for (unsigned i = 0; i < 1500 * scale; i++) {
        unsigned s = (unsigned)(rnd(&r) % LIVE);
        if (p[s])
            sum += (unsigned char)p[s][len[s] - 1];
        free(p[s]);
        len[s] = ((size_t)64 << 10) + rnd(&r) % ((size_t)4 << 20);
        p[s] = xmalloc(len[s]);
        for (size_t k = 0; k < len[s]; k += 4096) /* touch every page */
            p[s][k] = (char)k;
        p[s][len[s] - 1] = (char)i;
    }
    for (unsigned s = 0; s < LIVE; s++)
        free(p[s]);
    return sum;
}

/* ---- freeall ------------------------------------------------------------- */
static long rss_kb(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    long pages = 0, res = 0;
    if (f) {
        if (fscanf(f, "%ld %ld", &pages, &res) != 2)
            res = 0;
        fclose(f);
    }
    return res * 4;
}

static long rss_after_free;

static uint64_t w_freeall(unsigned tid)
{
    rng_t r = {777u + tid};
    uint64_t sum = 0;
    void **head = NULL; /* the blocks are linked through their first word */
    size_t total = 0, goal = ((size_t)1 << 30) * scale / n_threads;
    while (total < goal) {
        size_t n = 16 + rnd(&r) % 241;
        void **p = xmalloc(n);
        p[0] = head;
        head = p;
        total += n;
    }
    while (head) {
        void **next = head[0];
        sum++;
        free(head);
        head = next;
    }
    if (tid == 0)
        rss_after_free = rss_kb();
    return sum;
}

/* ---- threads100 ------------------------------------------------------------ */
enum { T100 = 100, T100_KEEP = 256 };
static void *t100_left[T100][T100_KEEP];

static void *t100_thread(void *arg)
{
    unsigned tid = (unsigned)(uintptr_t)arg;
    rng_t r = {4242u + tid};
    enum { LIVE = 512 };
    void *p[LIVE];
    for (unsigned i = 0; i < LIVE; i++)
        p[i] = xmalloc(16 + rnd(&r) % 1009);
    pthread_barrier_wait(&barrier); /* all 100 alive at once */
    for (unsigned k = 0; k < 20000; k++) {
        unsigned s = (unsigned)(rnd(&r) % LIVE);
        free(p[s]);
        p[s] = xmalloc(16 + rnd(&r) % 1009);
        memset(p[s], 1, 16);
    }
    for (unsigned i = 0; i < LIVE; i++) {
        if (i < T100_KEEP)
            t100_left[tid][i] = p[i]; /* freed by main after this thread exits */
        else
            free(p[i]);
    }
    return NULL;
}

static uint64_t w_threads100(unsigned tid)
{
    (void)tid;
    pthread_t th[T100];
    pthread_barrier_destroy(&barrier);
    pthread_barrier_init(&barrier, NULL, T100);
    for (unsigned t = 0; t < T100; t++)
        pthread_create(&th[t], NULL, t100_thread, (void *)(uintptr_t)t);
    for (unsigned t = 0; t < T100; t++)
        pthread_join(th[t], NULL);
    uint64_t sum = 0;
    for (unsigned t = 0; t < T100; t++)
        for (unsigned i = 0; i < T100_KEEP; i++) {
            sum += ((unsigned char *)t100_left[t][i])[0] != 0;
            free(t100_left[t][i]);
        }
    rss_after_free = rss_kb();
    return sum;
}

/* ---- driver -------------------------------------------------------------- */
typedef uint64_t (*work_fn)(unsigned);
static work_fn work;
static uint64_t results[MAXT];

static void *runner(void *arg)
{
    unsigned tid = (unsigned)(uintptr_t)arg;
    results[tid] = work(tid);
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: %s loop|server|prodcons|bignum|large|freeall|threads100 THREADS [SCALE]\n", argv[0]);
        return 2;
    }
    const char *w = argv[1];
    n_threads = (unsigned)atoi(argv[2]);
    if (argc > 3)
        scale = (unsigned)atoi(argv[3]);
    if (n_threads < 1 || n_threads > MAXT || scale < 1)
        return 2;
    if (!strcmp(w, "loop")) work = w_loop;
    else if (!strcmp(w, "server")) work = w_server;
    else if (!strcmp(w, "prodcons")) work = w_prodcons;
    else if (!strcmp(w, "bignum")) work = w_bignum;
    else if (!strcmp(w, "large")) work = w_large;
    else if (!strcmp(w, "freeall")) work = w_freeall;
    else if (!strcmp(w, "threads100")) { work = w_threads100; n_threads = 1; }
    else return 2;
    if (work == w_prodcons && n_threads > 1 && n_threads % 2)
        return 2;
    for (unsigned t = 0; t < n_threads; t++)
        tables[t] = xmalloc(SLOTS * sizeof(void *));
    pthread_barrier_init(&barrier, NULL, n_threads);
    pthread_t th[MAXT];
    for (unsigned t = 0; t < n_threads; t++)
        pthread_create(&th[t], NULL, runner, (void *)(uintptr_t)t);
    uint64_t sum = 0;
    for (unsigned t = 0; t < n_threads; t++) {
        pthread_join(th[t], NULL);
        sum += results[t];
    }
    for (unsigned t = 0; t < n_threads; t++)
        free(tables[t]);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("%s threads=%u checksum=%llu maxrss_kb=%ld", w, n_threads, (unsigned long long)sum,
           ru.ru_maxrss);
    if (rss_after_free)
        printf(" rss_after_free_kb=%ld", rss_after_free);
    printf("\n");
    return 0;
}
