/* SPDX-License-Identifier: MIT */
/*
 * main.c - heapkit's sizing test image for Cortex-M4 (QEMU mps2-an386): a
 * firmware-like workload whose heap is recorded on the target, and then run
 * again in heaps of the sizes hk-size recommends.
 *
 * The workload: five simulated tasks exchange messages of 12 B to 4 KiB
 * through mailboxes (a message is allocated by its sender and freed by its
 * receiver, so lifetimes interleave and the heap fragments); a task now and
 * then grows its state buffer with realloc, and a DMA-style task takes
 * 32-byte-aligned buffers. Everything is driven by a fixed-seed PRNG, so every
 * run makes the same requests in the same order, whatever the heap's size,
 * until a request fails.
 *
 * Modes, from the semihosting command line
 * (-semihosting-config enable=on,target=native,arg=...):
 *   record LOG DUMP     heap of HEAP_MAX bytes (TLSF); two recorders see every
 *                       event (through one hook that calls both): a small
 *                       ring drained to the host file LOG every few steps,
 *                       as a UART or RTT drain would, and a large ring never
 *                       drained and written raw to DUMP at the end, as a
 *                       debugger's `dump binary memory` would;
 *   run POLICY BYTES    the workload in a heap of BYTES bytes with POLICY
 *                       (tlsf, first, best): exits 0 when every request
 *                       succeeded, 3 when one failed.
 * The heap's region always ends on a 4 KiB boundary, as hk-size's arenas do,
 * so aligned requests see the same addresses modulo 4 KiB on both sides.
 */
#include <stddef.h>
#include <stdint.h>

#include "heapkit/heap.h"
#include "heapkit/rec.h"
#include "port.h"
#include "../baremetal/console.h"

#define SYS_OPEN 0x01
#define SYS_CLOSE 0x02
#define SYS_WRITE 0x05
#define SYS_GET_CMDLINE 0x15

#define HEAP_MAX (256u * 1024u)
#define STEPS 4000u
#define TASKS 5u
#define MAILBOX 12u

static uint32_t semihost(uint32_t op, const void *arg)
{
    register uint32_t r0 __asm__("r0") = op;
    register const void *r1 __asm__("r1") = arg;
    __asm__ volatile("bkpt 0xAB" : "+r"(r0) : "r"(r1) : "memory");
    return r0;
}

static size_t str_len(const char *s)
{
    size_t n = 0;
    while (s[n])
        n++;
    return n;
}

static int str_eq(const char *a, const char *b)
{
    while (*a && *a == *b)
        a++, b++;
    return *a == *b;
}

static uint32_t host_open(const char *path)
{
    uint32_t args[3] = {(uint32_t)(uintptr_t)path, 5u /* "wb" */, (uint32_t)str_len(path)};
    return semihost(SYS_OPEN, args);
}

/* The recorder's drain target: a host file. */
static int host_write(void *ctx, const void *data, size_t n)
{
    uint32_t args[3] = {*(uint32_t *)ctx, (uint32_t)(uintptr_t)data, (uint32_t)n};
    return semihost(SYS_WRITE, args) == 0 ? 0 : -1; /* returns the bytes NOT written */
}

static void host_close(uint32_t fd)
{
    uint32_t args[1] = {fd};
    semihost(SYS_CLOSE, args);
}

/* ---- the workload ----------------------------------------------------------- */
static uint32_t rng = 0x2545f491u;
static uint32_t rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 17;
    rng ^= rng << 5;
    return rng;
}

/* Message sizes 12 B .. 4 KiB, mostly small: 60% 12-96, 30% 96-768, 10% 768-4096. */
static size_t msg_size(void)
{
    uint32_t r = rnd(), k = r & 1023u;
    if (k < 614u)
        return 12u + (r >> 10) % 85u;
    if (k < 921u)
        return 96u + (r >> 10) % 673u;
    return 768u + (r >> 10) % 3329u;
}

typedef struct {
    void *box[MAILBOX];
    unsigned head, count;
    void *state;
    size_t state_size;
} task_t;

static task_t tasks[TASKS];
static uint32_t failed_step;

/* One run of the workload on h; returns 0, or -1 at the first failed request
 * (failed_step says which). Frees everything at the end. */
static int workload(hk_heap_t *h)
{
    int rc = 0;
    for (unsigned t = 0; t < TASKS; t++) {
        tasks[t].head = tasks[t].count = 0;
        tasks[t].state_size = 64u + 32u * t;
        tasks[t].state = hk_heap_alloc(h, tasks[t].state_size);
        if (!tasks[t].state) {
            failed_step = 0;
            rc = -1;
            goto out;
        }
    }
    for (uint32_t step = 1; step <= STEPS; step++) {
        unsigned t = rnd() % TASKS;
        task_t *me = &tasks[t];
        uint32_t what = rnd() & 15u;
        if (what < 7u) { /* send a message to another task */
            task_t *to = &tasks[(t + 1u + rnd() % (TASKS - 1u)) % TASKS];
            if (to->count == MAILBOX)
                continue; /* its mailbox is full: drop, as a real queue would */
            void *m = t == 4u && (rnd() & 1u) ? hk_heap_aligned_alloc(h, 32, msg_size())
                                                : hk_heap_alloc(h, msg_size());
            if (!m) {
                failed_step = step;
                rc = -1;
                goto out;
            }
            *(volatile uint32_t *)m = step;
            to->box[(to->head + to->count++) % MAILBOX] = m;
        } else if (what < 14u) { /* receive the oldest message */
            if (!me->count)
                continue;
            hk_heap_free(h, me->box[me->head]);
            me->head = (me->head + 1u) % MAILBOX;
            me->count--;
        } else { /* the task's state grows (and now and then starts over) */
            size_t want = me->state_size > 2048u ? 48u : me->state_size + 16u + rnd() % 200u;
            void *s = hk_heap_realloc(h, me->state, want);
            if (!s) {
                failed_step = step;
                rc = -1;
                goto out;
            }
            me->state = s;
            me->state_size = want;
        }
    }
out:
    for (unsigned t = 0; t < TASKS; t++) {
        while (tasks[t].count) {
            hk_heap_free(h, tasks[t].box[tasks[t].head]);
            tasks[t].head = (tasks[t].head + 1u) % MAILBOX;
            tasks[t].count--;
        }
        hk_heap_free(h, tasks[t].state);
        tasks[t].state = NULL;
    }
    return rc;
}

/* ---- recording -------------------------------------------------------------- */
static uint8_t heap_area[HEAP_MAX] __attribute__((aligned(4096)));
static uint32_t small_ring[1024];  /* 4 KiB: drained to LOG */
static uint32_t big_ring[32768];   /* 128 KiB: 8000 records, dumped raw to DUMP */

typedef struct {
    hk_rec_t *a, *b;
    uint32_t fd;
    unsigned events;
    int drain_failed;
} tee_t;

/* The heap's hook: both recorders see every event. The small ring is drained
 * every 64 events, here under the heap's lock (a firmware would rather drain
 * from a low-priority task; the recorder allows both). */
static void tee_event(void *ctx, const hk_event_t *ev)
{
    tee_t *t = ctx;
    hk_rec_event(t->a, ev);
    hk_rec_event(t->b, ev);
    if (++t->events % 64u == 0 && hk_rec_drain(t->a, host_write, &t->fd) < 0)
        t->drain_failed = 1;
}

static int record(const char *log, const char *dump)
{
    tee_t tee = {hk_rec_init(small_ring, sizeof small_ring, NULL, NULL),
                 hk_rec_init(big_ring, sizeof big_ring, NULL, NULL), host_open(log), 0, 0};
    if (!tee.a || !tee.b || tee.fd == 0xffffffffu) {
        put_str("sizing: cannot set up the recorders or open the log\n");
        return 2;
    }
    hk_heap_config_t cfg = {0};
    cfg.fit = HK_FIT_TLSF;
    cfg.event = tee_event;
    cfg.event_ctx = &tee;
    hk_heap_t *h = hk_heap_init(heap_area, sizeof heap_area, &cfg);
    if (!h) {
        put_str("sizing: hk_heap_init failed\n");
        return 2;
    }
    int rc = workload(h);
    hk_stats_t st;
    hk_heap_get_stats(h, &st);
    hk_heap_set_event_hook(h, NULL, NULL);
    if (hk_rec_drain(tee.a, host_write, &tee.fd) < 0)
        tee.drain_failed = 1;
    host_close(tee.fd);
    uint32_t dfd = host_open(dump);
    const hk_rec_t *b = tee.b;
    /* what a debugger dumps: the control block and every slot */
    size_t bytes = b->hdr_bytes + (size_t)b->slots * HK_REC_RECORD_BYTES;
    if (dfd == 0xffffffffu || host_write(&dfd, big_ring, bytes) != 0) {
        put_str("sizing: cannot write the dump\n");
        return 2;
    }
    host_close(dfd);
    put_str("sizing: recorded ");
    put_dec(tee.events);
    put_str(" events, peak used ");
    put_dec(st.peak_used);
    put_str(" bytes; lost ");
    put_dec(hk_rec_lost(tee.a));
    put_str(" (drained ring) and ");
    put_dec(hk_rec_lost(tee.b));
    put_str(" (dumped ring)\n");
    if (rc != 0 || tee.drain_failed || hk_rec_lost(tee.a) || hk_rec_lost(tee.b)) {
        put_str("sizing: FAILED: the recording is incomplete\n");
        return 1;
    }
    return 0;
}

/* ---- sized runs ----------------------------------------------------------------- */
static int parse_dec(const char *s, uint32_t *out)
{
    uint32_t v = 0;
    if (!*s)
        return -1;
    for (; *s; s++) {
        if (*s < '0' || *s > '9' || v > 400000000u)
            return -1;
        v = v * 10u + (uint32_t)(*s - '0');
    }
    *out = v;
    return 0;
}

static int sized_run(const char *policy, const char *size)
{
    hk_heap_config_t cfg = {0};
    uint32_t bytes;
    if (str_eq(policy, "tlsf"))
        cfg.fit = HK_FIT_TLSF;
    else if (str_eq(policy, "first"))
        cfg.fit = HK_FIT_FIRST;
    else if (str_eq(policy, "best"))
        cfg.fit = HK_FIT_BEST;
    else
        return 2;
    if (parse_dec(size, &bytes) != 0 || bytes > HEAP_MAX)
        return 2;
    hk_heap_t *h = hk_heap_init(heap_area + HEAP_MAX - bytes, bytes, &cfg);
    put_str("sizing: ");
    put_str(policy);
    put_str(" in ");
    put_dec(bytes);
    put_str(" bytes (control ");
    put_dec(hk_heap_overhead(bytes, &cfg));
    put_str(", minimum ");
    put_dec(hk_heap_min_size());
    put_str("): ");
    if (!h) {
        put_str("too small to start\n");
        return 3;
    }
    if (workload(h) != 0) {
        put_str("a request failed at step ");
        put_dec(failed_step);
        put_str("\n");
        return 3;
    }
    if (hk_heap_validate(h) != 0) {
        put_str("hk_heap_validate failed\n");
        return 1;
    }
    put_str("every request succeeded\n");
    return 0;
}

int main(void)
{
    static char cmd[256];
    uint32_t args[2] = {(uint32_t)(uintptr_t)cmd, sizeof cmd - 1u};
    if (semihost(SYS_GET_CMDLINE, args) != 0) {
        put_str("sizing: no command line (semihosting arg=...)\n");
        return 2;
    }
    cmd[sizeof cmd - 1u] = 0;
    char *w[5] = {0};
    unsigned n = 0;
    for (char *p = cmd; *p && n < 5;) {
        while (*p == ' ')
            *p++ = 0;
        if (!*p)
            break;
        w[n++] = p;
        while (*p && *p != ' ')
            p++;
    }
    /* w[0] is the program name */
    if (n == 4 && str_eq(w[1], "record"))
        return record(w[2], w[3]);
    if (n == 4 && str_eq(w[1], "run"))
        return sized_run(w[2], w[3]);
    put_str("usage: sizing record LOG DUMP | sizing run tlsf|first|best BYTES\n");
    return 2;
}
