/* SPDX-License-Identifier: MIT */
/*
 * kernel.c - startup, vector table and the small preemptive kernel of
 * heapkit's MPU test image (kernel.h). ARMv7-M (Cortex-M3) and ARMv8-M
 * mainline (Cortex-M33, run Secure); the references are ARM DDI 0403E
 * (ARMv7-M ARM) B1.5 (exceptions) and B3.2 (system control block), and
 * ARM DDI 0553 (ARMv8-M ARM) for the same on ARMv8-M.
 *
 * Threads run in Thread mode on the process stack (PSP); every handler runs
 * on the main stack (MSP), which no thread's domain grants, so a thread can
 * neither read nor damage the kernel, and the fault handler still has a
 * good stack when a thread's stack is exhausted.
 *
 * A context switch (PendSV, lowest priority, pended by SysTick, a yield or
 * an exit): the handler pushes r4-r11 below the hardware frame on the old
 * thread's PSP, k_schedule saves that PSP, picks the next ready thread
 * round robin, sets CONTROL.nPRIV for it, loads its domain with
 * hk_mpu_switch, and the handler pops r4-r11 from the new PSP and returns
 * with EXC_RETURN 0xFFFFFFFD (Thread mode, PSP; on ARMv8-M also Secure,
 * standard frame).
 *
 * A fault (MemManage, BusFault, UsageFault) from an unprivileged thread:
 * k_fault reads CFSR, MMFAR and BFAR, reads the stacked pc only when the
 * frame was stacked (no MSTKERR/STKERR) and lies in the thread's own stack
 * partition, decodes it with hk_mpu_fault_decode, prints it, clears the
 * status bits, calls the recovery hook and, when asked to, aborts the
 * thread and returns into the next one the same way PendSV does. A fault in
 * a handler, in privileged code or with no hook stops the program (exit
 * status 99). Nothing in this path trusts the faulting thread's memory.
 */
#include <stddef.h>
#include <stdint.h>

#include "kernel.h"
#include "port.h"
#include "../baremetal/console.h"

extern uint32_t _sidata[], _sdata[], _edata[], _sbss[], _ebss[], _estack[];

#define REG(a) (*(volatile uint32_t *)(a))
#define SCB_ICSR REG(0xE000ED04u)
#define SCB_CCR REG(0xE000ED14u)
#define SCB_SHPR2 REG(0xE000ED1Cu)
#define SCB_SHPR3 REG(0xE000ED20u)
#define SCB_CFSR REG(0xE000ED28u)
#define SCB_HFSR REG(0xE000ED2Cu)
#define SCB_MMFAR REG(0xE000ED34u)
#define SCB_BFAR REG(0xE000ED38u)
#define SYST_CSR REG(0xE000E010u)
#define SYST_RVR REG(0xE000E014u)
#define SYST_CVR REG(0xE000E018u)
#define ICSR_PENDSVSET (1u << 28)
#define CCR_DIV_0_TRP (1u << 4)
/* CFSR bits after which the exception frame was not (fully) written or read */
#define CFSR_FRAME_BAD ((1u << 3) | (1u << 4) | (1u << 5) | (1u << 11) | (1u << 12) | (1u << 13))

int main(void);
void Reset_Handler(void);
void PendSV_Handler(void);
void SVC_Handler(void);
void SysTick_Handler(void);
void Fault_Handler(void);
void HardFault_Handler(void);
uint32_t *k_schedule(uint32_t *sp);
uint32_t *k_fault(uint32_t *psp, uint32_t exc_return);
void k_svc(uint32_t *frame);
void k_hardfault(const uint32_t *frame, uint32_t exc_return);
void k_user_return(void);

static k_thread_t threads[K_MAX_THREADS];
static k_thread_t *current;
static uint32_t switches;
static hk_mpu_recover_fn recover;
static void *recover_ctx;
static const hk_mpu_domain_t *const *all_domains;
static unsigned n_domains;

/* ---- reset ------------------------------------------------------------ */
#if defined(__GNUC__) && !defined(__clang__)
__attribute__((optimize("no-tree-loop-distribute-patterns")))
#endif
void Reset_Handler(void)
{
    uint32_t *src = _sidata, *dst = _sdata;
    while (dst < _edata)
        *dst++ = *src++;
    for (dst = _sbss; dst < _ebss;)
        *dst++ = 0;
    SCB_CCR |= CCR_DIV_0_TRP;
    /* SVCall priority 0 (highest of the three); PendSV and SysTick lowest,
     * so neither preempts the other and a switch is never interrupted by
     * another switch. */
    SCB_SHPR2 = 0;
    SCB_SHPR3 = 0xffu << 24 | 0xffu << 16;
    hk_port_exit(main());
}

/* ---- threads ------------------------------------------------------------- */
k_thread_t *k_spawn(const char *name, k_entry_t entry, void *arg, void *stack_top,
                    const hk_mpu_domain_t *domain, bool privileged)
{
    k_thread_t *t = NULL;
    for (unsigned i = 0; i < K_MAX_THREADS && !t; i++)
        if (threads[i].state == K_FREE)
            t = &threads[i];
    if (!t)
        return NULL;
    uint32_t *sp = (uint32_t *)((uintptr_t)stack_top & ~(uintptr_t)7u);
    *--sp = 0x01000000u;                                /* xPSR: Thumb */
    *--sp = (uint32_t)(uintptr_t)entry & ~1u;           /* pc */
    *--sp = (uint32_t)(uintptr_t)k_user_return;         /* lr: entry returns here */
    for (int i = 0; i < 4; i++)
        *--sp = 0;                                      /* r12, r3, r2, r1 */
    *--sp = (uint32_t)(uintptr_t)arg;                   /* r0 */
    for (int i = 0; i < 8; i++)
        *--sp = 0;                                      /* r11..r4 */
    t->sp = sp;
    t->domain = domain;
    t->name = name;
    t->privileged = privileged;
    t->exit_code = -1;
    t->runs = 0;
    t->state = K_READY;
    return t;
}

/* A user thread's entry function returns here (in flash, unprivileged):
 * its result is in r0, which k_sys_exit passes on. */
__attribute__((naked)) void k_user_return(void)
{
    __asm volatile("svc 2\n\t"
                   "b .\n\t");
}

void k_yield(void)
{
    __asm volatile("svc 0" ::: "memory");
}

__attribute__((noinline)) void k_sys_print(const char *s)
{
    register const char *r0 __asm__("r0") = s;
    __asm volatile("svc 1" : : "r"(r0) : "memory");
}

_Noreturn void k_sys_exit(int code)
{
    register int r0 __asm__("r0") = code;
    __asm volatile("svc 2" : : "r"(r0) : "memory");
    for (;;) {
    }
}

unsigned k_others_alive(void)
{
    unsigned n = 0;
    for (unsigned i = 0; i < K_MAX_THREADS; i++)
        n += &threads[i] != current && threads[i].state == K_READY;
    return n;
}

k_thread_t *k_current(void)
{
    return current;
}

uint32_t k_switches(void)
{
    return switches;
}

void k_set_recovery(hk_mpu_recover_fn fn, void *ctx, const hk_mpu_domain_t *const *domains,
                    unsigned n)
{
    recover = fn;
    recover_ctx = ctx;
    all_domains = domains;
    n_domains = n;
}

/* ---- scheduling ------------------------------------------------------------ */
static uint32_t *switch_to_next(void)
{
    unsigned at = (unsigned)(current - threads);
    for (unsigned k = 1; k <= K_MAX_THREADS; k++) {
        k_thread_t *t = &threads[(at + k) % K_MAX_THREADS];
        if (t->state == K_READY) {
            current = t;
            break;
        }
    }
    if (current->state != K_READY) {
        put_str("kernel: no thread left to run\n");
        hk_port_exit(HK_PORT_EXIT_FAULT);
    }
    current->runs++;
    switches++;
    /* nPRIV for Thread mode; SPSEL stays 1 (writes to it are ignored in
     * Handler mode) */
    uint32_t control = current->privileged ? 2u : 3u;
    __asm volatile("msr control, %0\n\tisb" : : "r"(control) : "memory");
    hk_mpu_switch(current->domain);
    return current->sp;
}

uint32_t *k_schedule(uint32_t *sp)
{
    current->sp = sp;
    return switch_to_next();
}

__attribute__((naked)) void PendSV_Handler(void)
{
    __asm volatile("mrs r0, psp\n\t"
                   "stmdb r0!, {r4-r11}\n\t"
                   "bl k_schedule\n\t"
                   "ldmia r0!, {r4-r11}\n\t"
                   "msr psp, r0\n\t"
                   "mvn lr, #2\n\t" /* EXC_RETURN 0xFFFFFFFD */
                   "bx lr\n\t");
}

void SysTick_Handler(void)
{
    SCB_ICSR = ICSR_PENDSVSET;
}

_Noreturn void k_start(void (*fn)(void), void *stack_top, uint32_t tick_cycles)
{
    k_thread_t *sup = k_spawn("supervisor", NULL, NULL, stack_top, NULL, true);
    if (!sup)
        hk_port_exit(HK_PORT_EXIT_FAULT);
    current = sup;
    sup->runs = 1;
    SYST_RVR = tick_cycles - 1u;
    SYST_CVR = 0;
    SYST_CSR = 7u; /* processor clock, interrupt, enable */
    /* become the supervisor thread: PSP at its stack, privileged */
    uint32_t top = (uint32_t)((uintptr_t)stack_top & ~(uintptr_t)7u);
    __asm volatile("msr psp, %0\n\t"
                   "msr control, %1\n\t"
                   "isb\n\t"
                   : : "r"(top), "r"(2u) : "memory");
    fn();
    hk_port_exit(HK_PORT_EXIT_FAULT); /* fn must end the program */
}

/* ---- system calls --------------------------------------------------------- */
__attribute__((naked)) void SVC_Handler(void)
{
    __asm volatile("tst lr, #4\n\t"
                   "ite eq\n\t"
                   "mrseq r0, msp\n\t"
                   "mrsne r0, psp\n\t"
                   "b k_svc\n\t");
}

/* A string the current thread may read: inside one of its domain's (or the
 * fixed) partitions readable by it. */
static bool readable_by_current(const char *s)
{
    if (current->privileged)
        return true;
    const hk_mpu_partition_t *p = hk_mpu_domain_find(current->domain, (uintptr_t)s);
    if (!p || !(p->attr & HK_MPU_USER_R))
        return false;
    uintptr_t end = (uintptr_t)p->base + p->size;
    for (uintptr_t a = (uintptr_t)s; a < end; a++)
        if (*(const char *)a == '\0')
            return true;
    return false;
}

void k_svc(uint32_t *frame)
{
    uint8_t number = ((const uint8_t *)(uintptr_t)frame[6])[-2];
    switch (number) {
    case 0:
        break;
    case 1:
        if (readable_by_current((const char *)(uintptr_t)frame[0]))
            put_str((const char *)(uintptr_t)frame[0]);
        else
            put_str("kernel: print from memory the thread may not read, refused\n");
        return;
    case 2:
        current->exit_code = (int)frame[0];
        current->state = K_DONE;
        break;
    default:
        put_str("kernel: unknown system call\n");
        return;
    }
    SCB_ICSR = ICSR_PENDSVSET;
}

/* ---- faults ------------------------------------------------------------------ */
static void print_fault(const hk_mpu_fault_t *f)
{
    put_str("fault: ");
    put_str(current->name);
    put_str(": ");
    put_str(hk_mpu_cause_name(f->cause));
    put_hex(f->addr_valid ? "addr" : "near", f->addr);
    put_str(" partition ");
    put_str(f->part && f->part->name ? f->part->name : "(none)");
    put_str(" of domain ");
    put_str(f->part ? (f->domain ? f->domain->name : "(fixed)") : "(none)");
    put_hex("cfsr", f->cfsr);
    put_str("\n");
}

/* The stacked frame lies in the thread's own stack partition (so the
 * privileged reads below cannot fault). */
static bool frame_in_own_stack(const uint32_t *psp)
{
    const hk_mpu_partition_t *p = hk_mpu_domain_find(current->domain, (uintptr_t)psp);
    return p && (p->attr & HK_MPU_USER_W) && ((uintptr_t)psp & 3u) == 0
           && (uintptr_t)psp + 32u <= (uintptr_t)p->base + p->size;
}

uint32_t *k_fault(uint32_t *psp, uint32_t exc_return)
{
    uint32_t cfsr = SCB_CFSR, mmfar = SCB_MMFAR, bfar = SCB_BFAR;
    bool from_thread = (exc_return & 0xcu) == 0xcu; /* Thread mode, PSP */
    uintptr_t pc = 0;
    if (from_thread && !(cfsr & CFSR_FRAME_BAD) && !current->privileged
        && frame_in_own_stack(psp))
        pc = psp[6];
    hk_mpu_fault_t f;
    hk_mpu_fault_decode(cfsr, mmfar, bfar, pc, (uintptr_t)psp, current->domain, all_domains,
                        n_domains, &f);
    SCB_CFSR = cfsr; /* write-one-to-clear (MMARVALID/BFARVALID too) */
    print_fault(&f);
    hk_mpu_action_t act = HK_MPU_PANIC;
    if (from_thread && !current->privileged && recover)
        act = recover(recover_ctx, &f);
    if (act != HK_MPU_ABORT_THREAD) {
        put_str(from_thread ? "fault: unrecoverable, stopping\n"
                            : "fault: in a handler, stopping\n");
        hk_port_exit(HK_PORT_EXIT_FAULT);
    }
    current->fault = f;
    current->state = K_ABORTED;
    put_str("fault: thread ");
    put_str(current->name);
    put_str(" aborted\n");
    return switch_to_next();
}

__attribute__((naked)) void Fault_Handler(void)
{
    __asm volatile("mrs r0, psp\n\t"
                   "mov r1, lr\n\t"
                   "bl k_fault\n\t"
                   "ldmia r0!, {r4-r11}\n\t"
                   "msr psp, r0\n\t"
                   "mvn lr, #2\n\t"
                   "bx lr\n\t");
}

void k_hardfault(const uint32_t *frame, uint32_t exc_return)
{
    uint32_t ipsr;
    __asm volatile("mrs %0, ipsr" : "=r"(ipsr));
    put_str("\nFAULT: exception ");
    put_dec(ipsr & 0x1ffu);
    put_hex("hfsr", SCB_HFSR);
    put_hex("cfsr", SCB_CFSR);
    put_hex("exc", exc_return);
    put_hex("msp", (uint32_t)(uintptr_t)frame);
    put_str("\n");
    hk_port_exit(HK_PORT_EXIT_FAULT);
}

/* HardFault, NMI and the unexpected ones: report and stop. Does not read
 * the frame (it may be where the fault was). */
__attribute__((naked)) void HardFault_Handler(void)
{
    __asm volatile("mrs r0, msp\n\t"
                   "mov r1, lr\n\t"
                   "bl k_hardfault\n\t");
}

/* ---- the vector table -------------------------------------------------------- */
typedef void (*vector_t)(void);

__attribute__((section(".isr_vector"), used)) static const vector_t vectors[16] = {
    (vector_t)(uintptr_t)_estack, /*  0: initial main stack pointer */
    Reset_Handler,                /*  1 */
    HardFault_Handler,            /*  2: NMI */
    HardFault_Handler,            /*  3: HardFault */
    Fault_Handler,                /*  4: MemManage */
    Fault_Handler,                /*  5: BusFault */
    Fault_Handler,                /*  6: UsageFault */
    HardFault_Handler,            /*  7: SecureFault (ARMv8-M) */
    0, 0, 0,                      /*  8-10: reserved */
    SVC_Handler,                  /* 11: SVCall */
    HardFault_Handler,            /* 12: debug monitor */
    0,                            /* 13: reserved */
    PendSV_Handler,               /* 14: PendSV */
    SysTick_Handler,              /* 15: SysTick */
};
