/* SPDX-License-Identifier: MIT */
/*
 * test_malloc_api.c - heapkit's drop-in malloc through its hk_* names, in
 * process (so it also runs under ASan/UBSan and -m32): every entry point,
 * glibc's edge cases, every alignment up to 16 MiB, mixed entry points,
 * misuse reports, big blocks and mremap, statistics and trimming.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "heapkit/malloc.h"
#include "hk_test.h"
#include "malloc/hkm_test_util.h"

/* malloc's promise: every block suits any object type. */
#define MAX_ALIGN _Alignof(max_align_t)

static int aligned_to(const void *p, size_t a)
{
    return ((uintptr_t)p & (a - 1)) == 0;
}

/* ---- malloc / free / calloc ------------------------------------------ */

static void test_malloc_sizes(void)
{
    static const size_t sizes[] = {0, 1, 7, 8, 15, 16, 17, 24, 31, 32, 33, 48, 63, 64, 100,
                                   255, 256, 500, 511, 512, 513, 1000, 4095, 4096, 4097,
                                   65536, 100000, 1u << 20, (1u << 20) + 1, 3u << 20,
                                   (5u << 20) + 12345};
    void *p[sizeof sizes / sizeof sizes[0]];
    for (unsigned i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        p[i] = hk_malloc(sizes[i]);
        HK_REQUIRE(p[i] != NULL);
        HK_CHECK(aligned_to(p[i], MAX_ALIGN));
        HK_CHECK(hk_malloc_usable_size(p[i]) >= sizes[i]);
        hkm_test_fill(p[i], sizes[i], i);
    }
    for (unsigned i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
        for (unsigned j = i + 1; j < sizeof sizes / sizeof sizes[0]; j++)
            HK_CHECK(p[i] != p[j]);
    for (unsigned i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        HK_CHECK(hkm_test_check(p[i], sizes[i], i));
        hk_free(p[i]);
    }
    hk_free(NULL); /* does nothing */
    HK_CHECK_EQ(hk_malloc_usable_size(NULL), 0);
    HK_CHECK_EQ(hk_malloc_validate(), 0);
}

static void test_malloc_huge_fails(void)
{
    errno = 0;
    HK_CHECK(hk_malloc(SIZE_MAX) == NULL);
    HK_CHECK_EQ(errno, ENOMEM);
    errno = 0;
    HK_CHECK(hk_malloc(SIZE_MAX / 2 + 1) == NULL);
    HK_CHECK_EQ(errno, ENOMEM);
    errno = 0;
    HK_CHECK(hk_malloc((size_t)PTRDIFF_MAX + 1) == NULL);
    HK_CHECK_EQ(errno, ENOMEM);
    errno = 0;
    HK_CHECK(hk_calloc(SIZE_MAX / 2, 3) == NULL); /* product overflows */
    HK_CHECK_EQ(errno, ENOMEM);
    errno = 0;
    HK_CHECK(hk_calloc(3, SIZE_MAX / 2) == NULL);
    HK_CHECK_EQ(errno, ENOMEM);
    void *p = hk_malloc(64);
    HK_REQUIRE(p != NULL);
    hkm_test_fill(p, 64, 3);
    errno = 0;
    HK_CHECK(hk_reallocarray(p, SIZE_MAX / 4, 8) == NULL);
    HK_CHECK_EQ(errno, ENOMEM);
    errno = 0;
    HK_CHECK(hk_realloc(p, SIZE_MAX - 8) == NULL);
    HK_CHECK_EQ(errno, ENOMEM);
    HK_CHECK(hkm_test_check(p, 64, 3)); /* failed resizes leave p alone */
    hk_free(p);
    HK_CHECK_EQ(hk_malloc_validate(), 0);
}

static void test_calloc_zeroes(void)
{
    /* Dirty some blocks first, so that calloc must really zero reused ones. */
    for (unsigned round = 0; round < 3; round++) {
        void *d[64];
        for (unsigned i = 0; i < 64; i++) {
            d[i] = hk_malloc(16u * (i + 1));
            HK_REQUIRE(d[i] != NULL);
            memset(d[i], 0xa5, 16u * (i + 1));
        }
        for (unsigned i = 0; i < 64; i++)
            hk_free(d[i]);
        static const size_t sz[] = {1, 16, 100, 512, 1000, 70000, 2u << 20};
        for (unsigned i = 0; i < sizeof sz / sizeof sz[0]; i++) {
            unsigned char *p = hk_calloc(sz[i], 1);
            HK_REQUIRE(p != NULL);
            size_t nz = 0;
            for (size_t k = 0; k < sz[i]; k++)
                nz += p[k] != 0;
            HK_CHECK_EQ(nz, 0);
            hk_free(p);
        }
    }
    void *z = hk_calloc(0, 0);
    HK_CHECK(z != NULL);
    hk_free(z);
}

/* ---- realloc ------------------------------------------------------------- */

static void test_realloc_glibc_rules(void)
{
    void *p = hk_realloc(NULL, 40); /* acts as malloc */
    HK_REQUIRE(p != NULL);
    hkm_test_fill(p, 40, 9);
    void *q = hk_realloc(p, 4000);
    HK_REQUIRE(q != NULL);
    HK_CHECK(hkm_test_check(q, 40, 9));
    hkm_test_fill(q, 4000, 10);
    void *r = hk_realloc(q, 10); /* shrink keeps the prefix */
    HK_REQUIRE(r != NULL);
    HK_CHECK(hkm_test_check(r, 10, 10));
    errno = 0;
    HK_CHECK(hk_realloc(r, 0) == NULL); /* glibc: frees and returns NULL */
    void *z = hk_realloc(NULL, 0);      /* malloc(0): a unique pointer */
    HK_CHECK(z != NULL);
    hk_free(z);
    HK_CHECK_EQ(hk_malloc_validate(), 0);
}

static void test_realloc_across_classes(void)
{
    /* Small -> medium -> big (own mapping, mremap) -> small, content kept. */
    static const size_t steps[] = {1, 17, 200, 513, 5000, 70000, 900000, 1100000,
                                   3u << 20, 9u << 20, 20u << 20, 600000, 300, 8};
    unsigned char *p = NULL;
    size_t have = 0;
    for (unsigned i = 0; i < sizeof steps / sizeof steps[0]; i++) {
        unsigned char *q = hk_realloc(p, steps[i]);
        HK_REQUIRE(q != NULL);
        size_t keep = have < steps[i] ? have : steps[i];
        HK_CHECK(hkm_test_check(q, keep, 77));
        HK_CHECK(hk_malloc_usable_size(q) >= steps[i]);
        HK_CHECK(aligned_to(q, MAX_ALIGN));
        hkm_test_fill(q, steps[i], 77);
        p = q;
        have = steps[i];
    }
    hk_free(p);
    HK_CHECK_EQ(hk_malloc_validate(), 0);
}

static void test_realloc_growing_buffer(void)
{
    /* The pattern of a growing string buffer: doubling far past the
     * threshold; every byte written must survive every move. */
    size_t n = 1;
    unsigned char *p = hk_malloc(n);
    HK_REQUIRE(p != NULL);
    p[0] = 13; /* byte n - 1 of an n-byte buffer holds n * 13 */
    while (n < (64u << 20)) {
        size_t m = n * 2;
        unsigned char *q = hk_realloc(p, m);
        HK_REQUIRE(q != NULL);
        HK_CHECK(q[0] == 13 && q[n - 1] == (unsigned char)(n * 13));
        q[m - 1] = (unsigned char)(m * 13);
        p = q;
        n = m;
    }
    hk_free(p);
}

/* ---- alignment ------------------------------------------------------------ */

static void test_every_alignment(void)
{
    size_t ps = (size_t)sysconf(_SC_PAGESIZE);
    for (size_t a = 1; a <= (16u << 20); a <<= 1) {
        static const size_t sizes[] = {0, 1, 24, 512, 4096, 100000, 1u << 21};
        for (unsigned i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
            size_t n = sizes[i];
            void *p1 = hk_memalign(a, n);
            void *p2 = hk_aligned_alloc(a, n);
            void *p3 = NULL;
            int rc = hk_posix_memalign(&p3, a < sizeof(void *) ? sizeof(void *) : a, n);
            HK_REQUIRE(p1 && p2 && rc == 0 && p3);
            HK_CHECK(aligned_to(p1, a));
            HK_CHECK(aligned_to(p2, a));
            HK_CHECK(aligned_to(p3, a));
            HK_CHECK(aligned_to(p1, MAX_ALIGN) && aligned_to(p2, MAX_ALIGN));
            HK_CHECK(hk_malloc_usable_size(p1) >= n);
            hkm_test_fill(p1, n, 1);
            hkm_test_fill(p2, n, 2);
            hkm_test_fill(p3, n, 3);
            HK_CHECK(hkm_test_check(p1, n, 1) && hkm_test_check(p2, n, 2));
            /* Mixed use: aligned memory resized and freed the plain way. */
            void *r = hk_realloc(p3, n + 100);
            HK_REQUIRE(r != NULL);
            HK_CHECK(hkm_test_check(r, n, 3));
            hk_free(p1);
            hk_free(p2);
            hk_free(r);
        }
    }
    /* Debian's mimalloc 2.0.9 returns 128-aligned memory here. */
    for (unsigned i = 0; i < 100; i++) {
        void *p = hk_aligned_alloc(256, 512);
        HK_REQUIRE(p != NULL);
        HK_CHECK(aligned_to(p, 256));
        hk_free(p);
    }
    void *v = hk_valloc(10);
    HK_REQUIRE(v != NULL);
    HK_CHECK(aligned_to(v, ps));
    void *pv = hk_pvalloc(ps + 1);
    HK_REQUIRE(pv != NULL);
    HK_CHECK(aligned_to(pv, ps));
    HK_CHECK(hk_malloc_usable_size(pv) >= 2 * ps); /* rounded to whole pages */
    void *pv0 = hk_pvalloc(0);
    HK_REQUIRE(pv0 != NULL);
    HK_CHECK(aligned_to(pv0, ps));
    /* The jemalloc 5.3 trap: pvalloc then free. */
    hk_free(pv);
    hk_free(pv0);
    hk_free(v);
    HK_CHECK_EQ(hk_malloc_validate(), 0);
}

static void test_alignment_errors(void)
{
    void *p = (void *)0x1234;
    HK_CHECK_EQ(hk_posix_memalign(&p, 0, 16), EINVAL);
    HK_CHECK_EQ(hk_posix_memalign(&p, 3, 16), EINVAL);
    HK_CHECK_EQ(hk_posix_memalign(&p, sizeof(void *) / 2, 16), EINVAL);
    HK_CHECK_EQ(hk_posix_memalign(&p, 48, 16), EINVAL);
    HK_CHECK(p == (void *)0x1234); /* untouched on error */
    errno = 0;
    HK_CHECK_EQ(hk_posix_memalign(&p, 64, SIZE_MAX - 10), ENOMEM);
    HK_CHECK_EQ(errno, 0); /* posix_memalign returns its error */
    /* aligned_alloc is glibc 2.36's memalign: 24 rounds up to 32. */
    void *a24 = hk_aligned_alloc(24, 64);
    HK_REQUIRE(a24 != NULL);
    HK_CHECK(aligned_to(a24, 32));
    HK_CHECK(hk_malloc_usable_size(a24) >= 64);
    hk_free(a24);
    errno = 0;
    HK_CHECK(hk_aligned_alloc(SIZE_MAX / 2 + 2, 8) == NULL);
    HK_CHECK_EQ(errno, EINVAL);
    errno = 0;
    HK_CHECK(hk_memalign(SIZE_MAX / 2 + 2, 1) == NULL);
    HK_CHECK_EQ(errno, EINVAL);
    /* memalign rounds a non-power-of-two alignment up (glibc). */
    void *m = hk_memalign(48, 100);
    HK_REQUIRE(m != NULL);
    HK_CHECK(aligned_to(m, 64));
    hk_free(m);
    errno = 0;
    HK_CHECK(hk_pvalloc(SIZE_MAX - 5) == NULL);
    HK_CHECK_EQ(errno, ENOMEM);
}

/* ---- misuse ---------------------------------------------------------------- */

static int stack_thing;

static void test_misuse_reported(void)
{
    hk_free(hk_malloc(1)); /* initialise first: init installs its own hook */
    hk_test_capture_errors();
    int local = 0;
    hk_free(&local); /* a stack address */
    HK_CHECK_EQ(hk_test_errors.count, 1);
    HK_CHECK_EQ(hk_test_errors.last_code, HK_EBADPTR);
    hk_free(&stack_thing); /* a static one */
    HK_CHECK_EQ(hk_test_errors.count, 2);
    HK_CHECK(hk_realloc(&local, 10) == NULL);
    HK_CHECK_EQ(hk_test_errors.count, 3);
    HK_CHECK_EQ(hk_malloc_usable_size(&local), 0);
    HK_CHECK_EQ(hk_test_errors.count, 4);

    /* Double free of a small block (caught in the thread cache or heap). */
    char *s = hk_malloc(32);
    HK_REQUIRE(s != NULL);
    hk_free(s);
    hk_free(s);
    HK_CHECK_EQ(hk_test_errors.count, 5);
    HK_CHECK_EQ(hk_test_errors.last_code, HK_EDOUBLEFREE);
    /* The cache is intact: two mallocs give two different blocks. */
    char *a = hk_malloc(32), *b = hk_malloc(32);
    HK_CHECK(a && b && a != b);
    hk_free(a);
    hk_free(b);

    /* Double free of a medium block (the heap's own check). */
    char *m = hk_malloc(5000);
    HK_REQUIRE(m != NULL);
    hk_free(m);
    hk_free(m);
    HK_CHECK_EQ(hk_test_errors.count, 6);

    /* Interior pointers. */
    char *n = hk_malloc(5000);
    HK_REQUIRE(n != NULL);
    hk_free(n + 16);
    HK_CHECK_EQ(hk_test_errors.count, 7);
    char *big = hk_malloc(3u << 20);
    HK_REQUIRE(big != NULL);
    hk_free(big + 4096);
    HK_CHECK_EQ(hk_test_errors.count, 8);
    hk_free(big);
    hk_free(big); /* unmapped: no header any more */
    HK_CHECK_EQ(hk_test_errors.count, 9);
    HK_CHECK_EQ(hk_test_errors.last_code, HK_EBADPTR);
    hk_free(n);
    HK_CHECK_EQ(hk_test_errors.count, 9);

    /* Small objects: an interior pointer, and a double free of an object
     * that has already gone from the thread cache back to its span. */
    char *o = hk_malloc(48);
    HK_REQUIRE(o != NULL);
    hk_free(o + 16);
    HK_CHECK_EQ(hk_test_errors.count, 10);
    HK_CHECK_EQ(hk_test_errors.last_code, HK_EBADPTR);
    enum { MANY = 600 };
    static char *many[MANY];
    for (unsigned i = 0; i < MANY; i++) {
        many[i] = hk_malloc(40);
        HK_REQUIRE(many[i] != NULL);
    }
    for (unsigned i = 0; i < MANY; i++)
        hk_free(many[i]); /* far more than the cache holds: spills to spans */
    hk_free(many[0]);     /* long gone from the cache */
    HK_CHECK_EQ(hk_test_errors.count, 11);
    HK_CHECK_EQ(hk_test_errors.last_code, HK_EDOUBLEFREE);
    hk_free(many[MANY - 1]); /* still in the cache */
    HK_CHECK_EQ(hk_test_errors.count, 12);
    HK_CHECK_EQ(hk_test_errors.last_code, HK_EDOUBLEFREE);
    /* Everything still works: every object comes back exactly once. */
    for (unsigned i = 0; i < MANY; i++) {
        many[i] = hk_malloc(40);
        HK_REQUIRE(many[i] != NULL);
        hkm_test_fill(many[i], 40, i);
    }
    for (unsigned i = 0; i < MANY; i++) {
        HK_CHECK(hkm_test_check(many[i], 40, i));
        hk_free(many[i]);
    }
    hk_free(o);
    HK_CHECK_EQ(hk_test_errors.count, 12);
    HK_CHECK_EQ(hk_malloc_validate(), 0);
}

/* ---- random stress against a model ------------------------------------- */

static void test_random_ops(void)
{
    enum { SLOTS = 512 };
    static void *ptr[SLOTS];
    static size_t len[SLOTS];
    hk_rng_t rng;
    hk_rng_seed(&rng, 0x6b65796d616c6cull);
    unsigned ops = 100000u / HK_TEST_SCALE_DIV;
    for (unsigned i = 0; i < ops; i++) {
        unsigned s = (unsigned)hk_rng_below(&rng, SLOTS);
        if (ptr[s]) {
            HK_CHECK(hkm_test_check(ptr[s], len[s], s));
        }
        unsigned kind = (unsigned)hk_rng_below(&rng, 100);
        size_t n = kind < 70 ? (size_t)hk_rng_below(&rng, 600)
                 : kind < 99 ? (size_t)hk_rng_below(&rng, 70000)
                             : (size_t)hk_rng_below(&rng, 3u << 20);
        if (ptr[s] && hk_rng_below(&rng, 3) == 0) {
            void *q = hk_realloc(ptr[s], n + 1);
            HK_REQUIRE(q != NULL);
            size_t keep = len[s] < n + 1 ? len[s] : n + 1;
            HK_CHECK(hkm_test_check(q, keep, s));
            ptr[s] = q;
            len[s] = n + 1;
        } else if (ptr[s]) {
            hk_free(ptr[s]);
            ptr[s] = NULL;
            continue;
        } else if (kind % 5 == 0) {
            size_t a = (size_t)1 << hk_rng_below(&rng, 14);
            ptr[s] = hk_aligned_alloc(a, n);
            HK_REQUIRE(ptr[s] != NULL);
            HK_CHECK(aligned_to(ptr[s], a));
            len[s] = n;
        } else {
            ptr[s] = kind % 7 == 0 ? hk_calloc(1, n) : hk_malloc(n);
            HK_REQUIRE(ptr[s] != NULL);
            len[s] = n;
        }
        hkm_test_fill(ptr[s], len[s], s);
        if (i % 20000 == 0)
            HK_CHECK_EQ(hk_malloc_validate(), 0);
    }
    for (unsigned s = 0; s < SLOTS; s++) {
        if (ptr[s]) {
            HK_CHECK(hkm_test_check(ptr[s], len[s], s));
            hk_free(ptr[s]);
            ptr[s] = NULL;
        }
    }
    HK_CHECK_EQ(hk_malloc_validate(), 0);
}

/* ---- statistics and trimming ------------------------------------------ */

static void test_stats_and_trim(void)
{
    hk_stats_t before, during, after;
    hk_malloc_get_stats(&before);
    enum { N = 400 };
    static void *p[N];
    for (unsigned i = 0; i < N; i++) {
        p[i] = hk_malloc(100000);
        HK_REQUIRE(p[i] != NULL);
        memset(p[i], 1, 100000);
    }
    hk_malloc_get_stats(&during);
    HK_CHECK(during.used >= before.used + (size_t)N * 100000);
    HK_CHECK(during.total >= during.used);
    for (unsigned i = 0; i < N; i++)
        hk_free(p[i]);
    hk_malloc_get_stats(&after);
    HK_CHECK(after.used + (size_t)N * 100000 <= during.used);
    HK_CHECK(after.frees >= during.frees + N);
    /* The low-water mark of free memory stays where the 40 MB were in use. */
    HK_CHECK(during.min_ever_free <= during.free);
    HK_CHECK(after.min_ever_free <= during.min_ever_free);
    HK_CHECK(after.min_ever_free + (size_t)N * 100000 / 2 <= after.free);
    /* 40 MB of free blocks: trimming has pages to give back. */
    HK_CHECK_EQ(hk_malloc_trim(0), 1);
    HK_CHECK_EQ(hk_malloc_validate(), 0);
    /* And the trimmed memory is usable again. */
    void *q = hk_malloc(200000);
    HK_REQUIRE(q != NULL);
    hkm_test_fill(q, 200000, 5);
    HK_CHECK(hkm_test_check(q, 200000, 5));
    hk_free(q);
}

HK_SUITE(basic) {
    HK_RUN(test_malloc_sizes);
    HK_RUN(test_malloc_huge_fails);
    HK_RUN(test_calloc_zeroes);
}

HK_SUITE(realloc) {
    HK_RUN(test_realloc_glibc_rules);
    HK_RUN(test_realloc_across_classes);
    HK_RUN(test_realloc_growing_buffer);
}

HK_SUITE(align) {
    HK_RUN(test_every_alignment);
    HK_RUN(test_alignment_errors);
}

HK_SUITE(misuse) {
    HK_RUN(test_misuse_reported);
}

HK_SUITE(random) {
    HK_RUN(test_random_ops);
}

HK_SUITE(stats) {
    HK_RUN(test_stats_and_trim);
}
