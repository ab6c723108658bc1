/* SPDX-License-Identifier: MIT */
/*
 * test_error_count.c - the error counter loses no report when several
 * threads report at once (src/common/error.c: an atomic add where the
 * target has one). Four threads each make 100,000 bad frees, started together, on a pool; the
 * count must grow by exactly 400,000.
 */
#define _POSIX_C_SOURCE 200809L /* pthread barriers under -std=c11 */
#include <pthread.h>
#include <stdint.h>

#include "heapkit/pool.h"
#include "hk_test.h"

enum { THREADS = 4, REPORTS = 100000 };

static pthread_barrier_t start;

static hk_pool_t pool;
static unsigned char pool_buf[64 * 16];
static uint64_t not_pool[8];

static void *reporter(void *arg)
{
    (void)arg;
    pthread_barrier_wait(&start); /* all at once */
    for (int i = 0; i < REPORTS; i++)
        hk_pool_free(&pool, &not_pool[1]); /* outside the pool: HK_EBADPTR */
    return NULL;
}

static void test_concurrent_reports_all_counted(void)
{
    HK_REQUIRE(hk_pool_init(&pool, pool_buf, sizeof pool_buf, 64, 16, NULL) == 0);
    hk_set_error_hook(NULL, NULL);
    uint64_t before = hk_error_count();
    pthread_t t[THREADS];
    pthread_barrier_init(&start, NULL, THREADS);
    for (int i = 0; i < THREADS; i++)
        HK_REQUIRE(pthread_create(&t[i], NULL, reporter, NULL) == 0);
    for (int i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);
    pthread_barrier_destroy(&start);
    HK_CHECK_EQ(hk_error_count() - before, (uint64_t)THREADS * REPORTS);
    HK_CHECK_EQ(hk_pool_validate(&pool), 0);
}

HK_SUITE(error_count)
{
    HK_RUN(test_concurrent_reports_all_counted);
}
