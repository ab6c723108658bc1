/* SPDX-License-Identifier: MIT */
/*
 * test_override.c - heapkit's malloc under the C library's own names, built
 * twice: linked in statically (libheapkit_malloc.a) and run under
 * LD_PRELOAD=libheapkit_malloc.so (HKM_TEST_PRELOADED). Every entry point,
 * glibc's semantics, memory that crosses entry points and that the C library
 * allocates internally (strdup, getline, asprintf, stdio, qsort), threads and
 * fork + exec.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hk_test.h"
#include "malloc/hkm_test_util.h"

/* malloc's promise: every block suits any object type. */
#define MAX_ALIGN _Alignof(max_align_t)

static int aligned_to(const void *p, size_t a)
{
    return ((uintptr_t)p & (a - 1)) == 0;
}

/* The optimiser may not drop a malloc/free pair we test, nor see through
 * the impossible sizes. */
static void *volatile sink;
static volatile size_t huge = SIZE_MAX;

static void test_names_are_heapkit(void)
{
    void *p = malloc(100);
    HK_REQUIRE(p != NULL);
    memset(p, 1, 100);
    sink = p;
    HK_CHECK(hkm_test_usable(p) >= 100);
    HK_CHECK(malloc_usable_size(p) >= 100);
    free(p);
    char *s = strdup("heapkit"); /* allocated inside the C library */
    HK_REQUIRE(s != NULL);
    HK_CHECK(hkm_test_usable(s) >= 8);
    free(s);
}

static void test_every_entry_point(void)
{
    size_t ps = (size_t)sysconf(_SC_PAGESIZE);
    void *a = malloc(10), *b = calloc(4, 25), *c = realloc(NULL, 30);
    void *d = reallocarray(NULL, 8, 9), *e = memalign(64, 70), *f = aligned_alloc(128, 256);
    void *g = NULL;
    int rc = posix_memalign(&g, 256, 1000);
    void *h = valloc(100), *i = pvalloc(100);
    HK_REQUIRE(a && b && c && d && e && f && rc == 0 && g && h && i);
    void *all[] = {a, b, c, d, e, f, g, h, i};
    for (unsigned k = 0; k < 9; k++) {
        HK_CHECK(aligned_to(all[k], MAX_ALIGN));
        HK_CHECK(hkm_test_usable(all[k]) > 0);
    }
    HK_CHECK(aligned_to(e, 64) && aligned_to(f, 128) && aligned_to(g, 256));
    HK_CHECK(aligned_to(h, ps) && aligned_to(i, ps));
    HK_CHECK(malloc_usable_size(i) >= ps);
    const unsigned char *z = b;
    size_t nz = 0;
    for (unsigned k = 0; k < 100; k++)
        nz += z[k] != 0;
    HK_CHECK_EQ(nz, 0);
    /* Mixed: everything freed through free, some after a realloc. */
    e = realloc(e, 5000);
    i = realloc(i, 10);
    HK_REQUIRE(e && i);
    for (unsigned k = 0; k < 9; k++)
        all[k] = k == 4 ? e : k == 8 ? i : all[k];
    for (unsigned k = 0; k < 9; k++)
        free(all[k]);
    /* The pvalloc-then-free trap and the aligned_alloc(256, 512) trap. */
    for (unsigned k = 0; k < 50; k++) {
        void *pv = pvalloc(k * 100u);
        HK_REQUIRE(pv != NULL);
        free(pv);
        void *al = aligned_alloc(256, 512);
        HK_REQUIRE(al != NULL);
        HK_CHECK(aligned_to(al, 256));
        free(al);
    }
}

static void test_errno_semantics(void)
{
    errno = 0;
    sink = malloc(huge);
    HK_CHECK(sink == NULL);
    HK_CHECK_EQ(errno, ENOMEM);
    errno = 0;
    sink = calloc(huge / 8, 16);
    HK_CHECK(sink == NULL);
    HK_CHECK_EQ(errno, ENOMEM);
    void *p = malloc(8);
    HK_REQUIRE(p != NULL);
    errno = 0;
    void *q = realloc(p, 0); /* glibc: frees p, returns NULL */
    HK_CHECK(q == NULL);
    void *r = NULL;
    HK_CHECK_EQ(posix_memalign(&r, 12, 8), EINVAL);
    HK_CHECK(r == NULL);
    /* glibc 2.36's aligned_alloc is memalign: a non-power-of-two alignment
     * is rounded up, one above SIZE_MAX / 2 + 1 is EINVAL. */
    volatile size_t odd = 24;
    void *al = aligned_alloc(odd, 64);
    HK_REQUIRE(al != NULL);
    HK_CHECK((uintptr_t)al % 32 == 0);
    free(al);
    errno = 0;
    odd = SIZE_MAX / 2 + 2;
    sink = aligned_alloc(odd, 8);
    HK_CHECK(sink == NULL);
    HK_CHECK_EQ(errno, EINVAL);
}

static int cmp_int(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

static void test_libc_internal_allocations(void)
{
    char *line = NULL;
    size_t cap = 0;
    FILE *f = tmpfile();
    HK_REQUIRE(f != NULL);
    for (int k = 0; k < 200; k++)
        fprintf(f, "%0*d\n", k * 10, k);
    rewind(f);
    int lines = 0;
    ssize_t n;
    while ((n = getline(&line, &cap, f)) > 0)
        lines++;
    HK_CHECK_EQ(lines, 200);
    HK_CHECK(hkm_test_usable(line) >= cap);
    free(line);
    fclose(f);
    char *s = NULL;
    HK_CHECK(asprintf(&s, "%s-%d-%0500d", "x", 42, 7) > 500);
    HK_REQUIRE(s != NULL);
    HK_CHECK(strncmp(s, "x-42-", 5) == 0);
    free(s);
    /* qsort of a big array takes a temporary buffer from malloc. */
    enum { N = 300000 };
    int *v = malloc(N * sizeof *v);
    HK_REQUIRE(v != NULL);
    for (int k = 0; k < N; k++)
        v[k] = (int)(((long long)k * 7919) % N);
    qsort(v, N, sizeof *v, cmp_int);
    int sorted = 1;
    for (int k = 1; k < N; k++)
        sorted &= v[k - 1] <= v[k];
    HK_CHECK(sorted);
    free(v);
}

static void *pass_around(void *argp)
{
    void **box = argp;
    for (unsigned k = 0; k < 20000; k++) {
        char *p = malloc(1 + k % 900);
        if (p)
            p[0] = 'x';
        void *old = __atomic_exchange_n(box, p, __ATOMIC_ACQ_REL);
        free(old);
    }
    return NULL;
}

static void test_threads_and_fork_exec(void)
{
    static void *box;
    pthread_t th[4];
    for (unsigned k = 0; k < 4; k++)
        HK_REQUIRE(pthread_create(&th[k], NULL, pass_around, &box) == 0);
    /* fork + exec while the threads allocate. */
    int ok = 0;
    for (unsigned k = 0; k < 5; k++) {
        pid_t pid = fork();
        if (pid == 0) {
            execl("/bin/sh", "sh", "-c", "exit 0", (char *)NULL);
            _exit(127);
        }
        int st = 0;
        if (pid > 0 && waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0)
            ok++;
    }
    for (unsigned k = 0; k < 4; k++)
        pthread_join(th[k], NULL);
    free(box);
    HK_CHECK_EQ(ok, 5);
}

HK_SUITE(override) {
    HK_RUN(test_names_are_heapkit);
    HK_RUN(test_every_entry_point);
    HK_RUN(test_errno_semantics);
    HK_RUN(test_libc_internal_allocations);
    HK_RUN(test_threads_and_fork_exec);
}
