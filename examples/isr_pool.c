/* SPDX-License-Identifier: MIT */
/*
 * isr_pool.c - a pool of message buffers shared by an interrupt handler and
 * the main loop. The interrupt allocates a buffer, fills it and queues it;
 * the main loop consumes and frees it. Both take the pool's lock, which
 * masks the interrupt, so neither can see the free list half-updated.
 *
 * On a Cortex-M the lock is heapkit/port/lock_cortexm.h's PRIMASK (or
 * BASEPRI) lock; under FreeRTOS it is HK_FREERTOS_ISR_LOCK
 * (heapkit/port/freertos.h). On a Linux host this example plays the
 * interrupt with SIGALRM and masks it with pthread_sigmask, the host's
 * equivalent of PRIMASK: same pool code, same lock contract.
 */
#define _POSIX_C_SOURCE 200809L
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>

#include "heapkit/pool.h"

typedef struct {
    uint32_t seq;
    char text[28];
} msg_t;

HK_POOL_DEFINE_STATIC(msg_pool, sizeof(msg_t), 16, _Alignof(msg_t));

/* The "interrupt mask": block SIGALRM; saved = was it blocked already. */
static uintptr_t irq_lock(void *ctx)
{
    (void)ctx;
    sigset_t set, old;
    sigemptyset(&set);
    sigaddset(&set, SIGALRM);
    pthread_sigmask(SIG_BLOCK, &set, &old);
    return (uintptr_t)sigismember(&old, SIGALRM);
}

static void irq_unlock(void *ctx, uintptr_t was_blocked)
{
    (void)ctx;
    if (!was_blocked) {
        sigset_t set;
        sigemptyset(&set);
        sigaddset(&set, SIGALRM);
        pthread_sigmask(SIG_UNBLOCK, &set, NULL);
    }
}

/* A single-producer single-consumer queue of message pointers. */
static msg_t *volatile queue[16];
static volatile unsigned q_head, q_tail;
static volatile uint32_t produced, dropped;

static void isr(int sig)
{
    (void)sig;
    msg_t *m = hk_pool_alloc(&msg_pool); /* locks: nested use is fine */
    if (!m || q_head - q_tail == 16) {
        if (m)
            hk_pool_free(&msg_pool, m);
        dropped++;
        return;
    }
    m->seq = produced++;
    memcpy(m->text, "from the interrupt", 19);
    queue[q_head % 16] = m;
    q_head++;
}

int main(void)
{
    static const hk_lock_t lock = { irq_lock, irq_unlock, NULL };
    hk_pool_set_lock(&msg_pool, &lock);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = isr;
    sigaction(SIGALRM, &sa, NULL);
    struct itimerval it = { { 0, 200 }, { 0, 200 } }; /* every 200 us */
    setitimer(ITIMER_REAL, &it, NULL);

    uint32_t consumed = 0, next = 0, bad = 0;
    while (consumed < 2000) {
        while (q_tail != q_head) {
            msg_t *m = queue[q_tail % 16];
            q_tail++;
            bad += m->seq != next || strcmp(m->text, "from the interrupt") != 0;
            next = m->seq + 1;
            hk_pool_free(&msg_pool, m);
            consumed++;
        }
    }
    struct itimerval off = { { 0, 0 }, { 0, 0 } };
    setitimer(ITIMER_REAL, &off, NULL);
    while (q_tail != q_head) /* drain what came in meanwhile */
        hk_pool_free(&msg_pool, queue[q_tail++ % 16]);

    hk_stats_t st;
    hk_pool_get_stats(&msg_pool, &st);
    int ok = bad == 0 && st.used_blocks == 0 && hk_pool_validate(&msg_pool) == 0;
    printf("isr pool: %u messages through the pool (%u dropped), peak %zu of 16 buffers: %s\n",
           (unsigned)consumed, (unsigned)dropped, st.peak_used / hk_pool_stride(&msg_pool),
           ok ? "ok" : "FAILED");
    return ok ? 0 : 1;
}
