/* SPDX-License-Identifier: MIT */
/*
 * main.c - heapkit's MPU test image: proves on the emulated core that the
 * partitions and domains of heapkit/mpu.h isolate threads, that MPU stack
 * guards stop an overflow, and that the fault handler names the cause, the
 * partition and the domain and recovers by aborting the thread.
 *
 *  1. the portable suite (tests/test_mpu.c) on this core;
 *  2. the cost of a domain switch: hk_mpu_switch between two domains, in
 *     instructions, counted with SysTick while QEMU runs with -icount
 *     (one virtual nanosecond per instruction; the run script passes it)
 *     and calibrated against a loop of known length;
 *  3. five unprivileged threads in five domains, each with its own heap
 *     (hk_mpu_heap_init) and an MPU-guarded stack (hk_mpu_stacks), and the
 *     privileged supervisor. alpha allocates and checks its blocks until
 *     the end; bravo writes into alpha's heap, charlie into a read-only
 *     partition, delta recurses past its stack into the guard, echo jumps
 *     into its (never executable) heap. Each of those four must fault with
 *     the right cause, address, partition and domain, be aborted, and the
 *     others keep running: alpha finishes, every heap validates, every
 *     stack guard is intact (the MPU stopped the overflow before it wrote);
 *  4. then foxtrot (undefined instruction: UsageFault), golf (a device
 *     partition with no device: BusFault), hotel (a frame that cannot be
 *     stacked: MSTKERR) and india (tries to clear CONTROL.nPRIV), each in a
 *     domain and on a stack that an ended thread left.
 * The last line is "N passed, N failed"; the exit status is 0 only when
 * every check passed.
 */
#include <stddef.h>
#include <stdint.h>

#include "heapkit/mpu.h"
#include "hk_test.h"
#include "kernel.h"
#include "port.h"

#if defined(__ARM_ARCH_8M_MAIN__)
#define ARCH HK_MPU_PMSAV8
#define ARCH_NAME "ARMv8-M, PMSAv8, Secure MPU"
#else
#define ARCH HK_MPU_PMSAV7
#define ARCH_NAME "ARMv7-M, PMSAv7"
#endif

extern uint32_t __flash_origin[], __flash_size[];

#define SYST_CSR (*(volatile uint32_t *)0xE000E010u)
#define SYST_RVR (*(volatile uint32_t *)0xE000E014u)
#define SYST_CVR (*(volatile uint32_t *)0xE000E018u)
#define MPU_TYPE (*(volatile uint32_t *)0xE000ED90u)
#define MPU_CTRL (*(volatile uint32_t *)0xE000ED94u)

void hk_test_putc(char c)
{
    hk_port_write(&c, 1);
}

/* ---- memory ----------------------------------------------------------------
 * Thread memory: one arena, carved into stacks and heaps by the MPU
 * helpers; the kernel's own data (.data/.bss) is in no domain. */
#define NTHREADS 5
#define STACK_BLOCK 2048u
#define STACK_GUARD 256u
#define HEAP_BYTES 3000u
static _Alignas(4096) unsigned char arena[48 * 1024];
/* A table the threads may read but nobody may write once the MPU is on. */
static _Alignas(256) uint32_t shared_table[64];

static hk_mpu_partition_t flash_part = { 0, 0, HK_MPU_RX, "flash" };
static hk_mpu_partition_t table_part = { shared_table, sizeof shared_table, HK_MPU_RO,
                                         "shared_table" };

static hk_mpu_t mpu;
static hk_mpu_stacks_t stacks;

typedef struct {
    const char *name;
    hk_mpu_domain_t domain;
    hk_mpu_partition_t heap_part, stack_part, guard_part;
    hk_heap_t *heap;
    void *stack;
    k_thread_t *thread;
} cell_t;
static cell_t cells[NTHREADS];
static const hk_mpu_domain_t *domains[NTHREADS];

/* ---- checks -------------------------------------------------------------- */
static unsigned checks, failures;

static void check(int ok, const char *what)
{
    checks++;
    if (!ok) {
        failures++;
        hk_test_printf("FAIL %s\n", what);
    } else {
        hk_test_printf("ok   %s\n", what);
    }
}

/* ---- the threads (unprivileged; they touch only their domain) --------------- */
typedef struct {
    hk_heap_t *heap;
    uintptr_t target; /* what the thread attacks */
    uint32_t result;
} job_t;

static uint32_t next_rand(uint32_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 17;
    *s ^= *s << 5;
    return *s;
}

/* alpha: allocate, fill, check and free blocks of its heap for a while,
 * without ever yielding: the others run because SysTick preempts it. */
static int alpha(void *arg)
{
    job_t *job = arg;
    uint32_t seed = 0x2545f491u, bad = 0;
    unsigned char *live[8] = { 0 };
    uint32_t size[8] = { 0 };
    for (unsigned i = 0; i < 6000; i++) {
        unsigned k = next_rand(&seed) % 8u;
        if (live[k]) {
            for (uint32_t j = 0; j < size[k]; j++)
                bad += live[k][j] != (unsigned char)(k + size[k] + j);
            hk_heap_free(job->heap, live[k]);
            live[k] = NULL;
        } else {
            size[k] = 8u + next_rand(&seed) % 200u;
            live[k] = hk_heap_alloc(job->heap, size[k]);
            if (!live[k]) {
                bad++;
                continue;
            }
            for (uint32_t j = 0; j < size[k]; j++)
                live[k][j] = (unsigned char)(k + size[k] + j);
        }
    }
    for (unsigned k = 0; k < 8; k++)
        hk_heap_free(job->heap, live[k]);
    job->result = bad;
    k_sys_print("alpha: done\n");
    return bad ? 1 : 0;
}

/* bravo: allocates from its own heap, then writes into alpha's heap. */
static int bravo(void *arg)
{
    job_t *job = arg;
    uint32_t *mine = hk_heap_alloc(job->heap, 64);
    if (!mine)
        return 2;
    mine[0] = 1;
    k_sys_print("bravo: own heap ok, writing into alpha's heap\n");
    k_yield();
    *(volatile uint32_t *)job->target = 0xbadc0de1u;
    return 3; /* not reached */
}

/* charlie: reads the shared table, then writes to it. */
static int charlie(void *arg)
{
    job_t *job = arg;
    volatile uint32_t *t = (volatile uint32_t *)job->target;
    if (!hk_heap_alloc(job->heap, 100) || t[0] != 0x7ab1e000u)
        return 2;
    k_sys_print("charlie: read the shared table, writing to it\n");
    t[3] = 0;
    return 3;
}

/* delta: recursion with a frame of 96 bytes until the stack runs out. */
__attribute__((noinline)) static uint32_t dive(volatile uint32_t *depth)
{
    volatile uint32_t frame[24];
    for (unsigned i = 0; i < 24; i++)
        frame[i] = *depth + i;
    (*depth)++;
    if (*depth > 100000u) /* never: the stack is far smaller */
        return frame[5];
    return dive(depth) + frame[5];
}

static int delta(void *arg)
{
    job_t *job = arg;
    if (!hk_heap_alloc(job->heap, 32))
        return 2;
    k_sys_print("delta: recursing past the stack\n");
    return (int)dive(&job->result);
}

/* echo: copies "bx lr" into a heap block and calls it. */
static int echo(void *arg)
{
    job_t *job = arg;
    uint16_t *code = hk_heap_alloc(job->heap, 16);
    if (!code)
        return 2;
    code[0] = 0x4770u; /* bx lr */
    job->target = (uintptr_t)code;
    k_sys_print("echo: calling into its heap\n");
    void (*fn)(void) = (void (*)(void))((uintptr_t)code | 1u);
    fn();
    return 3;
}

/* foxtrot: an undefined instruction (UsageFault). */
static int foxtrot(void *arg)
{
    (void)arg;
    __asm volatile("udf #7");
    return 3;
}

/* golf: reads a device partition its domain holds, at an address with no
 * device behind it (BusFault, precise, BFAR). */
#define NO_DEVICE 0x60000000u
static hk_mpu_partition_t nothing_part = { (void *)NO_DEVICE, 4096, HK_MPU_RW | HK_MPU_DEVICE,
                                           "no_device" };

static int golf(void *arg)
{
    (void)arg;
    return (int)*(volatile uint32_t *)NO_DEVICE;
}

/* hotel: moves its stack pointer into its guard and waits there for the
 * next SysTick, whose exception entry cannot stack the frame (MSTKERR, no
 * MMFAR). The handler must not read that frame: on PMSAv7 the guard is
 * no-access even for privileged code. */
static int hotel(void *arg)
{
    uintptr_t into_guard = ((job_t *)arg)->target;
    __asm volatile("mov sp, %0\n\t"
                   "1: b 1b\n\t"
                   : : "r"(into_guard) : "memory");
    return 3;
}

/* india: tries to make itself privileged (CONTROL.nPRIV is read-only in
 * unprivileged code), then reads kernel memory. */
static uint32_t kernel_word2 = 0x6b77u;

static int india(void *arg)
{
    (void)arg;
    __asm volatile("msr control, %0\n\tisb" : : "r"(0u) : "memory");
    return (int)*(volatile uint32_t *)&kernel_word2;
}

/* ---- the recovery hook --------------------------------------------------------- */
static unsigned recovered;

static hk_mpu_action_t on_fault(void *ctx, const hk_mpu_fault_t *f)
{
    (void)ctx;
    (void)f;
    recovered++;
    return HK_MPU_ABORT_THREAD;
}

/* ---- the domain switch cost ----------------------------------------------------- */
static uint32_t ticks_since(uint32_t start)
{
    return (start - SYST_CVR) & 0xffffffu;
}

/* SysTick ticks for n/2 round trips between domains a and b. */
static uint32_t time_switches(const hk_mpu_domain_t *a, const hk_mpu_domain_t *b, unsigned n)
{
    uint32_t t0 = SYST_CVR;
    for (unsigned i = 0; i < n / 2; i++) {
        hk_mpu_switch(a);
        hk_mpu_switch(b);
    }
    return ticks_since(t0);
}

static void measure_switch(void)
{
    SYST_RVR = 0xffffffu;
    SYST_CVR = 0;
    SYST_CSR = 5u; /* processor clock, no interrupt */
    const unsigned n = 400;
    /* calibration: 2 instructions (subs, bne) per iteration, 80n in all */
    uint32_t t0 = SYST_CVR;
    uint32_t count = 40u * n;
    __asm volatile("1: subs %0, %0, #1\n\tbne 1b" : "+r"(count));
    uint32_t t_loop = ticks_since(t0);
    uint32_t t_ab = time_switches(&cells[0].domain, &cells[1].domain, n);
    uint32_t t_an = time_switches(&cells[0].domain, NULL, n);
    hk_mpu_switch(NULL);
    SYST_CSR = 0;
    if (t_loop == 0) {
        hk_test_printf("domain switch: SysTick did not count (run QEMU with -icount)\n");
        check(0, "domain switch measured");
        return;
    }
    /* instructions per call = (80n instructions / t_loop ticks) * t / n, in tenths */
    uint32_t ab = (uint32_t)((800ull * t_ab) / t_loop), an = (uint32_t)((800ull * t_an) / t_loop);
    hk_test_printf("domain switch: %u.%u instructions per hk_mpu_switch call between two domains "
                   "of %u regions, %u.%u between one and none (call and loop included; SysTick "
                   "under -icount: %u ticks for %u calibration instructions)\n",
                   (unsigned)(ab / 10u), (unsigned)(ab % 10u), (unsigned)cells[0].domain.count,
                   (unsigned)(an / 10u), (unsigned)(an % 10u), (unsigned)t_loop, 80u * n);
    check(ab > 0 && ab < 1000u, "a domain switch takes under 100 instructions");
}

/* The deliberate violation before anything is built on it: unprivileged
 * code reads the kernel's memory and must fault (the handler takes it as a
 * thread fault, so it runs as a thread of its own). */
static k_thread_t *probe_thread;
static uint32_t kernel_word = 0x6b65726eu; /* in .data: no domain holds it */

static int probe(void *arg)
{
    (void)arg;
    return (int)*(volatile uint32_t *)&kernel_word;
}

/* ---- the supervisor ------------------------------------------------------------- */
static job_t *job_of(cell_t *c)
{
    /* each thread's argument lives in its own heap */
    return (job_t *)hk_heap_alloc(c->heap, sizeof(job_t));
}

static void expect_fault(const char *name, hk_mpu_cause_t cause, const hk_mpu_partition_t *part,
                         const hk_mpu_domain_t *domain, uintptr_t addr)
{
    cell_t *c = NULL;
    for (unsigned i = 0; i < NTHREADS; i++)
        if (cells[i].name == name)
            c = &cells[i];
    const hk_mpu_fault_t *f = &c->thread->fault;
    char what[96];
    const char *parts[5] = { "aborted", "cause", "partition", "domain", "address" };
    /* a push into a guard may also be reported as a stacking fault */
    bool cause_ok = f->cause == cause
                    || (cause == HK_MPU_FAULT_DATA && f->cause == HK_MPU_FAULT_STACKING);
    int ok[5] = { c->thread->state == K_ABORTED, cause_ok, f->part == part, f->domain == domain,
                  !addr || (f->addr_valid && f->addr == addr) };
    for (unsigned i = 0; i < 5; i++) {
        unsigned n = 0;
        for (const char *s = name; *s && n < 40; s++)
            what[n++] = *s;
        for (const char *s = ": fault "; *s; s++)
            what[n++] = *s;
        for (const char *s = parts[i]; *s; s++)
            what[n++] = *s;
        what[n] = '\0';
        check(ok[i], what);
    }
}

static void supervisor(void)
{
    static job_t *jobs[NTHREADS];
    /* first the probe alone: a deliberate violation must fault */
    while (k_others_alive())
        k_yield();
    check(probe_thread->state == K_ABORTED && probe_thread->fault.cause == HK_MPU_FAULT_DATA
              && probe_thread->fault.addr_valid
              && probe_thread->fault.addr == (uintptr_t)&kernel_word && !probe_thread->fault.part,
          "the MPU enforces: an unprivileged read of kernel memory faults (MemManage)");
    static const k_entry_t entry[NTHREADS] = { alpha, bravo, charlie, delta, echo };
    for (unsigned i = 0; i < NTHREADS; i++) {
        cell_t *c = &cells[i];
        jobs[i] = job_of(c);
        jobs[i]->heap = c->heap;
        jobs[i]->result = 0;
    }
    /* bravo attacks alpha's heap (its control block), charlie the table */
    jobs[1]->target = (uintptr_t)cells[0].heap_part.base + 16u;
    jobs[2]->target = (uintptr_t)shared_table;
    uint32_t alpha_word = *(volatile uint32_t *)jobs[1]->target;
    for (unsigned i = 0; i < NTHREADS; i++) {
        cell_t *c = &cells[i];
        c->thread = k_spawn(c->name, entry[i], jobs[i], hk_stack_top(&stacks.pool, c->stack),
                            &c->domain, false);
    }
    while (k_others_alive())
        k_yield();

    hk_test_printf("supervisor: all threads ended after %u context switches\n",
                   (unsigned)k_switches());
    check(cells[0].thread->state == K_DONE && cells[0].thread->exit_code == 0,
          "alpha ran to the end with every block intact");
    check(cells[0].thread->runs >= 10, "alpha was preempted by SysTick (>= 10 time slices)");
    check(*(volatile uint32_t *)jobs[1]->target == alpha_word,
          "bravo's write did not reach alpha's heap");
    check(shared_table[3] == 0x7ab1e003u, "charlie's write did not reach the read-only table");
    expect_fault("bravo", HK_MPU_FAULT_DATA, &cells[0].heap_part, &cells[0].domain,
                 jobs[1]->target);
    expect_fault("charlie", HK_MPU_FAULT_DATA, &table_part, NULL, (uintptr_t)&shared_table[3]);
    expect_fault("delta", HK_MPU_FAULT_DATA, &cells[3].guard_part, &cells[3].domain, 0);
    expect_fault("echo", HK_MPU_FAULT_EXEC, &cells[4].heap_part, &cells[4].domain,
                 jobs[4]->target);
    check(jobs[3]->result > 10, "delta went deep before the guard stopped it");

    /* then the other two fault kinds, in threads reusing alpha's and
     * bravo's domains and stacks; bravo's domain gains a partition while
     * the system runs */
    check(hk_mpu_domain_add(&cells[1].domain, &nothing_part) == HK_OK,
          "a partition added to a domain at run time");
    cells[0].thread = k_spawn("foxtrot", foxtrot, NULL, hk_stack_top(&stacks.pool, cells[0].stack),
                              &cells[0].domain, false);
    cells[0].name = "foxtrot";
    cells[1].thread = k_spawn("golf", golf, NULL, hk_stack_top(&stacks.pool, cells[1].stack),
                              &cells[1].domain, false);
    cells[1].name = "golf";
    check(cells[0].thread && cells[1].thread, "two more threads spawned");
    if (!cells[0].thread || !cells[1].thread)
        hk_port_exit(1);
    while (k_others_alive())
        k_yield();
    expect_fault("foxtrot", HK_MPU_FAULT_USAGE, &flash_part, NULL, 0);
    expect_fault("golf", HK_MPU_FAULT_BUS, &nothing_part, &cells[1].domain, NO_DEVICE);
    check(hk_mpu_domain_remove(&cells[1].domain, &nothing_part) == HK_OK,
          "and removed again");

    /* a stacking fault (the frame cannot be written), and no way up */
    jobs[2]->target = (uintptr_t)cells[2].guard_part.base + cells[2].guard_part.size / 2u;
    cells[2].thread = k_spawn("hotel", hotel, jobs[2], hk_stack_top(&stacks.pool, cells[2].stack),
                              &cells[2].domain, false);
    cells[2].name = "hotel";
    cells[4].thread = k_spawn("india", india, NULL, hk_stack_top(&stacks.pool, cells[4].stack),
                              &cells[4].domain, false);
    cells[4].name = "india";
    check(cells[2].thread && cells[4].thread, "two more threads spawned");
    if (!cells[2].thread || !cells[4].thread)
        hk_port_exit(1);
    while (k_others_alive())
        k_yield();
    expect_fault("hotel", HK_MPU_FAULT_STACKING, &cells[2].guard_part, &cells[2].domain, 0);
    expect_fault("india", HK_MPU_FAULT_DATA, NULL, NULL, (uintptr_t)&kernel_word2);
    check(recovered == 9, "the recovery hook ran once per faulting thread");
    for (unsigned i = 0; i < NTHREADS; i++) {
        check(hk_heap_validate(cells[i].heap) == HK_OK, "heap validates");
        check(hk_stack_check(&stacks.pool, cells[i].stack) == HK_OK, "stack guard intact");
        hk_stack_release(&stacks.pool, cells[i].stack);
    }
    check(hk_stack_validate(&stacks.pool) == HK_OK, "stack pool validates");
    hk_test_printf("%u passed, %u failed\n", checks - failures, failures);
    hk_port_exit(failures ? 1 : 0);
}

/* ---- setup ------------------------------------------------------------------------ */
static int setup(void)
{
    static const char *const names[NTHREADS] = { "alpha", "bravo", "charlie", "delta", "echo" };
    static const char *const heaps[NTHREADS] = { "alpha.heap", "bravo.heap", "charlie.heap",
                                                 "delta.heap", "echo.heap" };
    static const char *const guards[NTHREADS] = { "alpha.guard", "bravo.guard", "charlie.guard",
                                                  "delta.guard", "echo.guard" };
    for (unsigned i = 0; i < 64; i++)
        shared_table[i] = 0x7ab1e000u + i;
    flash_part.base = __flash_origin;
    flash_part.size = (size_t)(uintptr_t)__flash_size;
    const hk_mpu_partition_t *fixed[] = { &flash_part, &table_part };
    if (hk_mpu_init(&mpu, ARCH, (MPU_TYPE >> 8) & 0xffu, fixed, 2) != HK_OK)
        return 0;
    hk_test_printf("MPU: %u regions, 2 fixed (flash rx, shared table ro)\n", (unsigned)mpu.regions);
    size_t stack_bytes = (NTHREADS + 1) * STACK_BLOCK;
    if (hk_mpu_stacks_init(&stacks, ARCH, arena, stack_bytes, STACK_BLOCK, STACK_GUARD, NULL))
        return 0;
    unsigned char *free_mem = arena + stack_bytes;
    size_t free_bytes = sizeof arena - stack_bytes;
    for (unsigned i = 0; i < NTHREADS; i++) {
        cell_t *c = &cells[i];
        c->name = names[i];
        c->heap = hk_mpu_heap_init(&c->heap_part, ARCH, free_mem, free_bytes, HEAP_BYTES, HK_MPU_RW,
                                   heaps[i], NULL);
        c->stack = hk_mpu_stack_acquire(&stacks, &c->stack_part, &c->guard_part, names[i]);
        if (!c->heap || !c->stack || hk_mpu_domain_init(&c->domain, &mpu, names[i])
            || hk_mpu_domain_add(&c->domain, &c->heap_part)
            || hk_mpu_domain_add(&c->domain, &c->stack_part)
            || hk_mpu_domain_add(&c->domain, &c->guard_part))
            return 0;
        c->guard_part.name = guards[i];
        unsigned char *end = (unsigned char *)c->heap_part.base + c->heap_part.size;
        free_bytes -= (size_t)(end - free_mem);
        free_mem = end;
        domains[i] = &c->domain;
    }
    hk_test_printf("domains: 5 x (heap %u B, stack %u B, guard %u B); arena %u B\n",
                   (unsigned)cells[0].heap_part.size, (unsigned)cells[0].stack_part.size,
                   (unsigned)cells[0].guard_part.size, (unsigned)sizeof arena);
    return 1;
}

int main(void)
{
    hk_test_printf("heapkit MPU test image on %s\n", ARCH_NAME);
    int rc = hk_test_main("mpu");
    if (rc)
        return 1;
    if (!setup()) {
        hk_test_printf("FAIL setting up the MPU, the domains, stacks and heaps\n");
        return 1;
    }
    check(hk_mpu_enable(&mpu) == HK_OK && (MPU_CTRL & 5u) == 5u, "MPU enabled (PRIVDEFENA)");
    measure_switch();
    k_set_recovery(on_fault, NULL, domains, NTHREADS);
    static _Alignas(8) unsigned char sup_stack[2048];
    /* the probe thread runs first, in bravo's domain, on bravo's stack */
    probe_thread = k_spawn("probe", probe, NULL, hk_stack_top(&stacks.pool, cells[1].stack),
                           &cells[1].domain, false);
    k_start(supervisor, sup_stack + sizeof sup_stack, 1000u);
}
