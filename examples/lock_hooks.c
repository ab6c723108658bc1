/* SPDX-License-Identifier: MIT */
/*
 * lock_hooks.c - one heap shared by several threads through lock hooks.
 * With a lock in hk_heap_config_t every heap call runs between lock() and
 * unlock(); lock returns a value unlock gets back (an interrupt mask on a
 * microcontroller: heapkit/port/lock_cortexm.h, lock_riscv.h). On Linux a
 * mutex is the lock and the saved value is unused.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>

#include "heapkit/heap.h"

static unsigned char ram[256 * 1024];
static pthread_mutex_t mutex = PTHREAD_MUTEX_INITIALIZER;

static uintptr_t mutex_lock(void *ctx)
{
    pthread_mutex_lock(ctx);
    return 0;
}

static void mutex_unlock(void *ctx, uintptr_t saved)
{
    (void)saved;
    pthread_mutex_unlock(ctx);
}

static hk_heap_t *heap;

static void *worker(void *arg)
{
    uintptr_t id = (uintptr_t)arg;
    void *mine[64] = { 0 };
    for (int round = 0; round < 2000; round++) {
        int i = (int)((round * 7 + (int)id) % 64);
        if (mine[i])
            hk_heap_free(heap, mine[i]);
        mine[i] = hk_heap_alloc(heap, (size_t)(16 + (round * 13 + (int)id * 5) % 500));
    }
    for (int i = 0; i < 64; i++)
        hk_heap_free(heap, mine[i]);
    return NULL;
}

int main(void)
{
    hk_lock_t lock = { mutex_lock, mutex_unlock, &mutex };
    hk_heap_config_t cfg = { 0 };
    cfg.lock = &lock;
    heap = hk_heap_init(ram, sizeof ram, &cfg);
    if (!heap)
        return 1;
    pthread_t t[4];
    for (uintptr_t i = 0; i < 4; i++)
        pthread_create(&t[i], NULL, worker, (void *)i);
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    hk_stats_t st;
    hk_heap_get_stats(heap, &st);
    int ok = st.used_blocks == 0 && st.allocs == st.frees && hk_heap_validate(heap) == 0;
    printf("lock hooks: 4 threads, %llu allocations, heap valid and empty: %s\n",
           (unsigned long long)st.allocs, ok ? "ok" : "FAILED");
    return ok ? 0 : 1;
}
