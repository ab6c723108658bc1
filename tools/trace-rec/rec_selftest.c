/* SPDX-License-Identifier: MIT */
/*
 * rec_selftest.c - a small program for testing the recorder: four threads
 * calling every function of the malloc family, then a fork whose child
 * allocates too. Run under LD_PRELOAD=libhk_trace.so by
 * scripts/stages/20-tools.sh; it prints the number of calls it made so the
 * stage can compare that with the recording.
 */
#define _GNU_SOURCE
#include <malloc.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define THREADS 4
#define ROUNDS 2000

static void *worker(void *arg)
{
    unsigned seed = (unsigned)(uintptr_t)arg;
    void *slots[32] = {0};
    for (int i = 0; i < ROUNDS; i++) {
        seed = seed * 1103515245u + 12345u;
        unsigned k = (seed >> 16) % 32, what = (seed >> 8) % 9;
        size_t n = (seed >> 4) % 700;
        if (slots[k]) {
            if (what == 0)
                slots[k] = realloc(slots[k], n + 1);
            else if (what == 1)
                slots[k] = reallocarray(slots[k], 3, n + 1);
            else {
                free(slots[k]);
                slots[k] = NULL;
            }
            continue;
        }
        switch (what) {
        case 0: slots[k] = calloc(4, n); break;
        case 1: slots[k] = memalign(64, n); break;
        case 2: if (posix_memalign(&slots[k], 32, n) != 0) slots[k] = NULL; break;
        case 3: slots[k] = aligned_alloc(128, (n + 127) & ~(size_t)127); break;
        case 4: slots[k] = valloc(n); break;
        default: slots[k] = malloc(n); break;
        }
        if (slots[k])
            memset(slots[k], (int)k, n);
    }
    for (int k = 0; k < 32; k++)
        free(slots[k]);
    return NULL;
}

int main(void)
{
    pthread_t t[THREADS];
    for (uintptr_t i = 0; i < THREADS; i++)
        if (pthread_create(&t[i], NULL, worker, (void *)(i + 1)) != 0)
            return 1;
    for (int i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        worker((void *)99);
        _exit(0);
    }
    int st = 0;
    waitpid(pid, &st, 0);
    printf("selftest done\n");
    return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : 1;
}
