/* SPDX-License-Identifier: MIT */
/*
 * ktest.c - the programme both heapkit test kernels run once their
 * architecture part has booted (kernel.h): heapkit as the memory manager of
 * a real kernel on a real MMU.
 *
 *   1. physical memory: hk_pages from the firmware's map, minus the image
 *   2. the kernel address space: hk_pt + hk_vm, a direct map of RAM (large
 *      pages), the image with one protection per section; switch to it
 *   3. the page-fault policy (kernel_fault): hk_vm_fault; what it cannot
 *      handle is an oops (test aborted, kernel goes on), a killed user task,
 *      or, outside a test, a fatal stop with the address and instruction
 *   4. checks: NX, read-only, guard, demand paging (zero page, copy on first
 *      write, fresh frames), fault costs, the kernel heap (hk_kheap) under a
 *      stress with validate, a second heap through ports/liballoc, and user
 *      tasks (sbrk, user demand faults, a refused write to the kernel)
 *   5. frames in use at the end equal the start; exit status pass/fail.
 */
#include "kernel.h"

#include "heapkit/heap.h"
#include "heapkit/vm_kheap.h"
#include "liballoc.h"

#define PG 4096u

/* ---- printing ----------------------------------------------------------- */

void kputs(const char *s)
{
    size_t n = 0;
    while (s[n])
        n++;
    hk_port_write(s, n);
}

void kput_hex(uint64_t v)
{
    char b[19];
    b[0] = '0';
    b[1] = 'x';
    unsigned n = 2;
    int shift = 60;
    while (shift > 0 && !((v >> shift) & 0xfu))
        shift -= 4;
    for (; shift >= 0; shift -= 4)
        b[n++] = "0123456789abcdef"[(v >> shift) & 0xfu];
    hk_port_write(b, n);
}

void kput_dec(uint64_t v)
{
    char b[24];
    unsigned i = sizeof b;
    do {
        b[--i] = (char)('0' + v % 10u);
        v /= 10u;
    } while (v);
    hk_port_write(b + i, sizeof b - i);
}

static void kv(const char *label, uint64_t v)
{
    kputs(label);
    kput_dec(v);
}

/* ---- state ------------------------------------------------------------------ */

static const karch_t *A;
static hk_pages_t *pages;
static hk_pt_t kpt;
static hk_vm_t *kvm;
static uint64_t kvm_mem[1024];
static unsigned checks, failures;

static struct {
    void *jb[5];
    bool armed;
    hk_vaddr_t addr;
    uintptr_t ip;
    unsigned access;
} oops;

static struct {
    void *jb[5];
    bool running, killed;
    hk_pt_t pt;
    hk_vm_t *vm;
    uint64_t mem[256];
    hk_vaddr_t brk;
    uint64_t exit_code;
    hk_vaddr_t kill_addr;
    uintptr_t kill_ip;
} task;

static struct {
    uint64_t read, write, exec, user;
    uint64_t zero, fresh, cow, spurious, refused, oopses, kills;
    uint64_t cost_zero, n_zero;
} fc;

static void check(const char *what, bool ok)
{
    checks++;
    if (ok) {
        kputs("ok   ");
    } else {
        failures++;
        kput_dec(checks); /* "N: FAIL": the form scripts/targets.sh shows */
        kputs(": FAIL ");
    }
    kputs(what);
    kputs("\n");
}

static void on_error(int code, const void *ptr, const char *reason, void *ctx)
{
    (void)ctx;
    kputs("heapkit error ");
    kput_dec((uint64_t)(code < 0 ? -code : code));
    kputs(" at ");
    kput_hex((uint64_t)(uintptr_t)ptr);
    kputs(": ");
    kputs(reason);
    kputs("\n");
}

_Noreturn void kernel_fatal(const char *what, uintptr_t ip, uint64_t addr, uint64_t code)
{
    kputs("\n0: FAULT ");
    kputs(what);
    kputs(" at instruction ");
    kput_hex(ip);
    kputs(", address ");
    kput_hex(addr);
    kputs(", code ");
    kput_hex(code);
    kputs("\n");
    arch_exit(false);
}

/* ---- faults and syscalls ------------------------------------------------------ */

static hk_vm_t *space_of(hk_vaddr_t addr, unsigned access)
{
    if (task.running && ((access & HK_VM_USER) || (addr >= A->user_lo && addr < A->user_hi)))
        return task.vm;
    return kvm;
}

bool kernel_fault(hk_vaddr_t addr, unsigned access, uintptr_t ip)
{
    hk_vm_t *as = space_of(addr, access);
    hk_vm_stats_t s0, s1;
    hk_vm_get_stats(as, &s0);
    uint64_t t0 = arch_counter();
    hk_vm_fault_t r = hk_vm_fault(as, addr, access);
    uint64_t t1 = arch_counter();
    hk_vm_get_stats(as, &s1);
    fc.read += (access & (HK_VM_WRITE | HK_VM_EXEC)) == 0;
    fc.write += (access & HK_VM_WRITE) != 0;
    fc.exec += (access & HK_VM_EXEC) != 0;
    fc.user += (access & HK_VM_USER) != 0;
    if (r == HK_VM_FAULT_HANDLED) {
        if (s1.zero_maps != s0.zero_maps) {
            fc.cost_zero += t1 - t0;
            fc.n_zero++;
        }
        fc.zero += s1.zero_maps - s0.zero_maps;
        fc.fresh += s1.demand_maps - s0.demand_maps;
        fc.cow += s1.cow_breaks - s0.cow_breaks;
        fc.spurious += s1.spurious - s0.spurious;
        return true;
    }
    fc.refused++;
    if (task.running && (access & HK_VM_USER)) {
        task.killed = true;
        task.kill_addr = addr;
        task.kill_ip = ip;
        fc.kills++;
        kputs("  user task killed: ");
        kputs(hk_vm_fault_name(r));
        kputs(", address ");
        kput_hex(addr);
        kputs(", instruction ");
        kput_hex(ip);
        kputs("\n");
        __builtin_longjmp(task.jb, 1);
    }
    if (oops.armed) {
        oops.armed = false;
        oops.addr = addr;
        oops.ip = ip;
        oops.access = access;
        fc.oopses++;
        kputs("  oops: ");
        kputs(access & HK_VM_EXEC ? "exec" : access & HK_VM_WRITE ? "write" : "read");
        kputs(" at ");
        kput_hex(addr);
        kputs(" from instruction ");
        kput_hex(ip);
        kputs(": ");
        kputs(hk_vm_fault_name(r));
        kputs("; test aborted, kernel goes on\n");
        __builtin_longjmp(oops.jb, 1);
    }
    kernel_fatal(hk_vm_fault_name(r), ip, addr, access);
}

uint64_t kernel_syscall(uint64_t nr, uint64_t a0)
{
    if (!task.running)
        kernel_fatal("syscall outside a task", 0, 0, nr);
    if (nr == SYS_EXIT) {
        task.exit_code = a0;
        __builtin_longjmp(task.jb, 1);
    }
    if (nr == SYS_SBRK) {
        hk_vaddr_t old = task.brk, at = old;
        if (a0 == 0 || a0 > 1024 ||
            hk_vm_map(task.vm, &at, a0 * PG, 0, HK_VM_READ | HK_VM_WRITE | HK_VM_USER, HK_VM_DEMAND,
                      HK_VM_FIXED) != 0)
            return (uint64_t)-1;
        task.brk = old + a0 * PG;
        return old;
    }
    return (uint64_t)-1;
}

/* Runs fn(arg) so that an unhandled fault in it aborts it (an oops) and
 * returns false; true when it ran to the end. */
static __attribute__((noinline)) bool ktry(void (*fn)(uintptr_t), uintptr_t arg)
{
    if (__builtin_setjmp(oops.jb))
        return false;
    oops.armed = true;
    fn(arg);
    oops.armed = false;
    return true;
}

static void touch_read(uintptr_t a) { (void)*(volatile uint64_t *)a; }
static void touch_write(uintptr_t a) { *(volatile uint64_t *)a = 0x5a5a; }
static void touch_exec(uintptr_t a) { ((void (*)(void))a)(); }

/* ---- boot: memory and the kernel address space ------------------------------------ */

static void *dm(hk_paddr_t pa) { return (void *)(uintptr_t)(pa + kpt.direct_map); }

static void setup_memory(void)
{
    hk_set_error_hook(on_error, NULL);
    hk_pages_config_t pc = {0};
    pc.map = A->map;
    pc.map_len = A->map_len;
    pc.reserved = A->reserved;
    pc.reserved_len = A->reserved_len;
    pc.direct_map = A->boot_direct_map;
    pages = hk_pages_init(&pc);
    if (!pages)
        kernel_fatal("hk_pages_init failed", 0, 0, 0);
    uint64_t usable = 0, top = 0, bottom = UINT64_MAX;
    for (size_t i = 0; i < A->map_len; i++) {
        if (A->map[i].type != HK_MEM_USABLE)
            continue;
        usable += A->map[i].length;
        if (A->map[i].base + A->map[i].length > top)
            top = A->map[i].base + A->map[i].length;
        if (A->map[i].base < bottom)
            bottom = A->map[i].base;
    }
    kv("memory: usable ", usable >> 10);
    kv(" KiB, top of RAM ", top >> 20);
    kv(" MiB; hk_pages manages ", hk_pages_total_frames(pages));
    kv(" frames, free ", hk_pages_free_frames(pages));
    kputs("\n");
    check("hk_pages built from the firmware map validates", hk_pages_validate(pages) == 0);
    if (top > 0x100000000ull) {
        /* the frame at 4 GiB is RAM in this map: it must be managed and free */
        bool got = hk_pages_claim(pages, 0x100000000ull, 1) == 0;
        if (got)
            hk_pages_free_run(pages, 0x100000000ull, 1);
        check("the frame at 4 GiB (RAM above 4 GiB) is managed and free", got);
    }
    for (unsigned i = 0; i < A->image_n; i++) {
        bool free_in_image = hk_pages_is_free(pages, A->image[i].pa);
        if (free_in_image)
            check("kernel image frames are reserved", false);
    }

    /* the kernel tree and address space */
    if (hk_pt_init(&kpt, A->format, pages, A->boot_direct_map) != 0)
        kernel_fatal("hk_pt_init failed", 0, 0, 0);
    kpt.large_sizes = A->large_sizes;
    kpt.flush_hook = arch_flush;
    hk_vm_config_t vc = {0};
    vc.pages = pages;
    hk_pt_port(&kpt, &vc.port);
    vc.lo = A->kspace_lo;
    vc.hi = A->kspace_hi;
    vc.zero_page = true;
    kvm = hk_vm_init(kvm_mem, sizeof kvm_mem, &vc);
    if (!kvm)
        kernel_fatal("hk_vm_init failed", 0, 0, 0);
    /* the direct map: RAM from its lowest 1 GiB boundary up to the top */
    hk_paddr_t lo = bottom & ~(uint64_t)0x3fffffff;
    hk_vaddr_t dva = lo + A->dm_offset;
    uint64_t dlen = ((top + 0x1fffffu) & ~(uint64_t)0x1fffff) - lo;
    if (hk_vm_map_phys(kvm, &dva, lo, dlen, 0, HK_VM_READ | HK_VM_WRITE, HK_VM_FIXED | HK_VM_LARGE) != 0)
        kernel_fatal("direct map failed", 0, dva, dlen);
    for (unsigned i = 0; i < A->image_n; i++) {
        hk_vaddr_t va = A->image[i].va;
        if (!A->image[i].len)
            continue;
        if (hk_vm_map_phys(kvm, &va, A->image[i].pa, A->image[i].len, 0, A->image[i].prot,
                           HK_VM_FIXED | HK_VM_LARGE) != 0)
            kernel_fatal("image mapping failed", 0, va, i);
    }
    arch_map_devices(kvm);
    arch_set_root(&kpt);
    kpt.direct_map = (uintptr_t)A->dm_offset; /* tables are reached through the new direct map */
    kputs("switched to the heapkit-built tables: root ");
    kput_hex(hk_pt_root(&kpt));
    kv(", ", kpt.tables);
    kv(" table frames, ", kpt.leaves);
    kputs(" leaves (direct map of ");
    kput_dec(dlen >> 20);
    kputs(" MiB in large pages)\n");
}

/* ---- the checks ------------------------------------------------------------------------- */

static volatile uint64_t probe_word = 0x6865617070616765ull;

static void test_space(void)
{
    check("kernel address space validates", hk_vm_validate(kvm) == 0);
    /* the same word through the image mapping and through the direct map */
    hk_paddr_t pa = HK_PADDR_NONE;
    for (unsigned i = 0; i < A->image_n; i++)
        if ((uintptr_t)&probe_word >= A->image[i].va && (uintptr_t)&probe_word < A->image[i].va + A->image[i].len)
            pa = A->image[i].pa + ((uintptr_t)&probe_word - A->image[i].va);
    check("image and direct map show the same memory",
          pa != HK_PADDR_NONE && *(volatile uint64_t *)dm(pa) == probe_word);
    hk_vm_region_info_t ri;
    check("the direct map is one HK_VM_PHYS region",
          hk_vm_lookup(kvm, (hk_vaddr_t)(uintptr_t)dm(pa), &ri) == 0 && ri.kind == HK_VM_PHYS &&
              ri.phys == ri.base - A->dm_offset);
    check("NX (no-execute) enabled", arch_nx_enabled());
}

static hk_vaddr_t kmap(uint64_t len, unsigned prot, hk_vm_kind_t kind)
{
    hk_vaddr_t va = 0;
    if (hk_vm_map(kvm, &va, len, 0, prot, kind, 0) != 0)
        kernel_fatal("hk_vm_map failed in a test", 0, len, kind);
    return va;
}

static void test_protection(void)
{
    uint64_t free0 = hk_pages_free_frames(pages);
    /* NX: a ret instruction in a page without EXEC must not run */
    hk_vaddr_t x = kmap(PG, HK_VM_READ | HK_VM_WRITE | HK_VM_EXEC, HK_VM_IMMEDIATE);
    hk_vaddr_t nx = kmap(PG, HK_VM_READ | HK_VM_WRITE, HK_VM_IMMEDIATE);
#if defined(__x86_64__)
    *(volatile uint8_t *)x = 0xc3;
    *(volatile uint8_t *)nx = 0xc3;
#else
    *(volatile uint32_t *)x = 0x00008067u; /* ret */
    *(volatile uint32_t *)nx = 0x00008067u;
    __asm__ volatile("fence.i");
#endif
    check("code in an executable page runs", ktry(touch_exec, x));
    uint64_t oo = fc.oopses;
    check("code in a no-execute page faults (oops recovered)", !ktry(touch_exec, nx) && fc.oopses == oo + 1);
    check("the oops was an exec fault at the page", (oops.access & HK_VM_EXEC) && oops.addr == nx);
    /* read-only */
    hk_vaddr_t ro = kmap(PG, HK_VM_READ, HK_VM_IMMEDIATE);
    check("read-only page reads", ktry(touch_read, ro));
    check("write to a read-only page faults (oops recovered)", !ktry(touch_write, ro) && oops.addr == ro);
    /* guard */
    hk_vaddr_t g = kmap(4 * PG, HK_VM_READ, HK_VM_GUARD);
    check("read of a guard page is an oops, recovered", !ktry(touch_read, g + PG + 8) && oops.addr == g + PG + 8);
    check("write of a guard page is an oops, recovered", !ktry(touch_write, g) && oops.addr == g);
    hk_vm_region_info_t ri;
    check("a guard region reports prot 0 (mapped with READ)", hk_vm_lookup(kvm, g, &ri) == 0 && ri.prot == 0);
    /* no region */
    check("access where no region is: oops, recovered", !ktry(touch_read, A->kspace_hi - 2 * PG));
    hk_vm_unmap(kvm, x);
    hk_vm_unmap(kvm, nx);
    hk_vm_unmap(kvm, ro);
    hk_vm_unmap(kvm, g);
    check("kernel space validates after the oopses", hk_vm_validate(kvm) == 0);
    check("frames back after the protection tests", hk_pages_free_frames(pages) == free0);
}

static void test_demand(void)
{
    const unsigned n = 256;
    uint64_t free0 = hk_pages_free_frames(pages);
    hk_vaddr_t d = kmap(n * PG, HK_VM_READ | HK_VM_WRITE, HK_VM_DEMAND);
    uint64_t z0 = fc.zero, c0 = fc.cow, f0 = fc.fresh;
    uint64_t sum = 0;
    for (unsigned i = 0; i < n; i++)
        sum += *(volatile uint64_t *)(d + i * PG + 8u * i);
    check("demand: reads see zeros", sum == 0);
    check("demand: every first read mapped the zero page", fc.zero - z0 == n);
    uint64_t after_reads = hk_pages_free_frames(pages);
    check("demand: reads cost no frames but page tables", free0 - after_reads <= 2);
    for (unsigned i = 0; i < n; i++)
        *(volatile uint64_t *)(d + i * PG) = i * 3u + 1u;
    check("demand: every first write after a read broke the zero page", fc.cow - c0 == n);
    bool ok = true;
    for (unsigned i = 0; i < n; i++)
        ok = ok && *(volatile uint64_t *)(d + i * PG) == i * 3u + 1u &&
             *(volatile uint64_t *)(d + i * PG + 8) == 0;
    check("demand: written pages keep their data, the rest of each page is zero", ok);
    check("demand: the zero frame is still all zero",
          *(volatile uint64_t *)dm(hk_vm_zero_frame(kvm)) == 0);
    hk_vaddr_t w = kmap(64 * PG, HK_VM_READ | HK_VM_WRITE, HK_VM_DEMAND);
    for (unsigned i = 0; i < 64; i++)
        *(volatile uint32_t *)(w + i * PG + 100) = i;
    check("demand: first writes map fresh frames", fc.fresh - f0 == 64);
    check("demand: frames used = pages written (+ page tables)",
          free0 - hk_pages_free_frames(pages) >= n + 64 && free0 - hk_pages_free_frames(pages) <= n + 64 + 3);
    check("demand: space validates", hk_vm_validate(kvm) == 0);
    hk_vm_unmap(kvm, d);
    hk_vm_unmap(kvm, w);
    check("demand: unmap gives every frame back", hk_pages_free_frames(pages) == free0);
}

/* mprotect / munmap on the live MMU: the TLB entries of pages written just
 * before must go (the flush hook), or the stale ones would let the writes
 * and reads below through. */
static void test_split(void)
{
    uint64_t free0 = hk_pages_free_frames(pages);
    hk_vaddr_t d = kmap(8 * PG, HK_VM_READ | HK_VM_WRITE, HK_VM_DEMAND);
    for (unsigned i = 0; i < 8; i++)
        *(volatile uint64_t *)(d + i * PG) = i;
    check("protect: middle of a region made read-only", hk_vm_protect(kvm, d + 2 * PG, 3 * PG, HK_VM_READ) == 0);
    check("protect: a write there now faults (oops recovered)", !ktry(touch_write, d + 3 * PG) && oops.addr == d + 3 * PG);
    check("protect: the pages still read their data", *(volatile uint64_t *)(d + 4 * PG) == 4);
    check("protect: pages outside the range stay writable", ktry(touch_write, d + 5 * PG) && ktry(touch_write, d + PG));
    uint64_t f1 = hk_pages_free_frames(pages);
    check("unmap_range: one page out of the middle", hk_vm_unmap_range(kvm, d + 6 * PG, PG) == 0);
    check("unmap_range: its frame is free again", hk_pages_free_frames(pages) == f1 + 1);
    check("unmap_range: a read there now faults (oops recovered)", !ktry(touch_read, d + 6 * PG));
    check("unmap_range: the neighbours keep their data", *(volatile uint64_t *)(d + 7 * PG) == 7);
    hk_vm_stats_t st;
    hk_vm_get_stats(kvm, &st);
    check("split: kernel space validates", hk_vm_validate(kvm) == 0);
    check("split: unmap of the whole range gives every frame back",
          hk_vm_unmap_range(kvm, d, 8 * PG) == 0 && hk_pages_free_frames(pages) == free0);
}

/* Fault cost: counter cycles of a faulting access minus a mapped one, in
 * the units of arch_counter (instructions under QEMU -icount shift=0). */
static void test_costs(void)
{
    const unsigned n = 32;
    hk_vaddr_t d = kmap(n * PG, HK_VM_READ | HK_VM_WRITE, HK_VM_DEMAND);
    hk_vaddr_t w = kmap(n * PG, HK_VM_READ | HK_VM_WRITE, HK_VM_DEMAND);
    uint64_t base = 0, zero = 0, cow = 0, fresh = 0, t;
    for (unsigned i = 0; i < n; i++) {
        volatile uint64_t *p = (volatile uint64_t *)(d + i * PG);
        t = arch_counter();
        (void)*p;
        zero += arch_counter() - t;
        t = arch_counter();
        (void)*p;
        base += arch_counter() - t;
        t = arch_counter();
        *p = 1;
        cow += arch_counter() - t;
        t = arch_counter();
        *(volatile uint64_t *)(w + i * PG) = 1;
        fresh += arch_counter() - t;
    }
    base /= n;
    kputs("fault cost (arch_counter per fault, a mapped access subtracted; instructions under "
          "QEMU -icount shift=0): zero-page read ");
    kput_dec(zero / n - base);
    kv(", copy on first write ", cow / n - base);
    kv(", fresh frame on write ", fresh / n - base);
    kv("; mapped access ", base);
    kv("; hk_vm_fault alone, zero-page read ", fc.n_zero ? fc.cost_zero / fc.n_zero : 0);
    kputs("\n");
    hk_vm_unmap(kvm, d);
    hk_vm_unmap(kvm, w);
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint64_t rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

#define SLOTS 512
static struct {
    uint32_t *p;
    size_t n;
} slot[SLOTS];

typedef struct {
    void *(*alloc)(void *ctx, size_t n);
    void (*free)(void *ctx, void *p);
    int (*validate)(void *ctx);
    void *ctx;
} rig_t;

/* The stress rig: random sizes (mostly small, some of several pages),
 * a tag at both ends of every block, validate every 256 steps. Returns the
 * number of damaged blocks or failed validations. */
static unsigned stress(const rig_t *r, unsigned steps, unsigned *allocs)
{
    unsigned bad = 0;
    for (unsigned s = 0; s < steps; s++) {
        unsigned i = (unsigned)(rng() % SLOTS);
        if (slot[i].p) {
            bad += slot[i].p[0] != i || slot[i].p[slot[i].n - 1] != ~i;
            r->free(r->ctx, slot[i].p);
            slot[i].p = NULL;
        } else {
            uint64_t k = rng();
            size_t bytes = (k & 15u) == 0 ? 4096u + (size_t)(k >> 40) % 20000u : 16u + (size_t)(k >> 40) % 600u;
            slot[i].n = bytes / 4u;
            slot[i].p = r->alloc(r->ctx, bytes);
            if (slot[i].p) {
                slot[i].p[0] = i;
                slot[i].p[slot[i].n - 1] = ~i;
                (*allocs)++;
            }
        }
        if ((s & 255u) == 0)
            bad += r->validate(r->ctx) != 0;
    }
    for (unsigned i = 0; i < SLOTS; i++) {
        if (slot[i].p) {
            bad += slot[i].p[0] != i || slot[i].p[slot[i].n - 1] != ~i;
            r->free(r->ctx, slot[i].p);
            slot[i].p = NULL;
        }
    }
    bad += r->validate(r->ctx) != 0;
    return bad;
}

static void *kh_alloc(void *c, size_t n) { return hk_heap_alloc(c, n); }
static void kh_free(void *c, void *p) { hk_heap_free(c, p); }
static int kh_validate(void *c) { return hk_heap_validate(c); }

static void test_kheap(void)
{
    uint64_t free0 = hk_pages_free_frames(pages);
    uint64_t fresh0 = fc.fresh;
    hk_kheap_config_t kc = {0};
    kc.vm = kvm;
    kc.initial = 8u * PG;
    kc.grow_min = 4u * PG;
    kc.max_bytes = 16u << 20;
    kc.kind = HK_VM_DEMAND;
    hk_kheap_t *kh = hk_kheap_create(&kc);
    check("kheap: created on demand pages of the kernel space", kh != NULL);
    if (!kh)
        return;
    hk_heap_t *h = hk_kheap_heap(kh);
    rig_t r = {kh_alloc, kh_free, kh_validate, h};
    unsigned allocs = 0;
    unsigned bad = stress(&r, 6000, &allocs);
    check("kheap: stress of kmalloc/kfree with validate, no damage", bad == 0);
    /* steady growth in small steps: more regions than the old fixed table */
    for (unsigned i = 0; i < SLOTS && hk_kheap_regions(kh) <= 40; i++)
        slot[i].p = hk_heap_alloc(h, 3000);
    for (unsigned i = 0; i < SLOTS; i++) {
        hk_heap_free(h, slot[i].p);
        slot[i].p = NULL;
    }
    kv("  kheap: ", allocs);
    kv(" allocations, ", hk_kheap_regions(kh));
    kv(" regions, ", hk_kheap_mapped_bytes(kh) >> 10);
    kv(" KiB mapped, ", fc.fresh - fresh0);
    kputs(" pages faulted in\n");
    check("kheap: grew past 32 regions (the old limit)", hk_kheap_regions(kh) > 32);
    check("kheap: pages were faulted in on first use", fc.fresh > fresh0);
    check("kheap: space validates", hk_vm_validate(kvm) == 0);
    check("kheap: destroy", hk_kheap_destroy(kh) == 0);
    check("kheap: every frame back", hk_pages_free_frames(pages) == free0);
}

/* ---- a second heap through the liballoc hooks --------------------------------------------- */

static unsigned la_locks, la_pages_out;

int liballoc_lock(void)
{
    la_locks++;
    return 0;
}
int liballoc_unlock(void) { return 0; }

void *liballoc_alloc(size_t n)
{
    hk_vaddr_t va = 0;
    if (hk_vm_map(kvm, &va, n * PG, 0, HK_VM_READ | HK_VM_WRITE, HK_VM_IMMEDIATE, 0) != 0)
        return NULL;
    la_pages_out += (unsigned)n;
    return (void *)(uintptr_t)va;
}

int liballoc_free(void *p, size_t n)
{
    la_pages_out -= (unsigned)n;
    return hk_vm_unmap(kvm, (hk_vaddr_t)(uintptr_t)p);
}

static void *la_alloc(void *c, size_t n) { (void)c; return kmalloc(n); }
static void la_free(void *c, void *p) { (void)c; kfree(p); }
static int la_validate(void *c) { (void)c; return kmalloc_validate(); }

static void test_liballoc(void)
{
    uint64_t free0 = hk_pages_free_frames(pages);
    rig_t r = {la_alloc, la_free, la_validate, NULL};
    unsigned allocs = 0;
    unsigned bad = stress(&r, 3000, &allocs);
    check("liballoc: kmalloc/kfree stress over liballoc_alloc pages, no damage", bad == 0);
    uint32_t *c = kcalloc(100, 4);
    bool zero = c != NULL;
    for (unsigned i = 0; c && i < 100; i++)
        zero = zero && c[i] == 0;
    check("liballoc: kcalloc zeroes", zero);
    for (unsigned i = 0; c && i < 100; i++)
        c[i] = i;
    uint32_t *g = krealloc(c, 40000);
    bool kept = g != NULL;
    for (unsigned i = 0; g && i < 100; i++)
        kept = kept && g[i] == i;
    check("liballoc: krealloc keeps the data", kept);
    kfree(g);
    hk_stats_t st;
    kmalloc_stats(&st);
    kv("  liballoc: ", allocs);
    kv(" allocations, ", la_locks);
    kv(" lock calls, pages still held ", la_pages_out);
    kputs("\n");
    check("liballoc: heap validates", kmalloc_validate() == 0);
    check("liballoc: lock hook used", la_locks > 0);
    check("liballoc: every big block's page run went back at kfree (used 0)", st.used == 0);
    kmalloc_release();
    check("liballoc: release gives every page run back", la_pages_out == 0 &&
          hk_pages_free_frames(pages) == free0);
    check("liballoc: a new heap starts after release", (c = kmalloc(100)) != NULL && kmalloc_validate() == 0);
    kmalloc_release();
}

/* ---- user tasks ------------------------------------------------------------------------- */

static void share_kernel_half(hk_pt_t *upt, bool link)
{
    uint64_t *ur = dm(hk_pt_root(upt));
    const uint64_t *kr = dm(hk_pt_root(&kpt));
    for (unsigned i = A->share_first; i <= A->share_last; i++)
        ur[i] = link ? kr[i] : 0;
}

/* Runs the user programme in a fresh address space; returns its exit
 * code (or ~0 when killed). Every frame must come back. */
static __attribute__((noinline)) uint64_t run_task(uint64_t mode, uint64_t arg, bool *frames_back)
{
    uint64_t free0 = hk_pages_free_frames(pages);
    task.killed = false;
    task.exit_code = ~0ull;
    if (hk_pt_init(&task.pt, A->format, pages, kpt.direct_map) != 0)
        kernel_fatal("user hk_pt_init failed", 0, 0, 0);
    task.pt.flush_hook = arch_flush;
    hk_vm_config_t vc = {0};
    vc.pages = pages;
    hk_pt_port(&task.pt, &vc.port);
    vc.lo = A->user_lo;
    vc.hi = A->user_hi;
    vc.zero_page = true;
    task.vm = hk_vm_init(task.mem, sizeof task.mem, &vc);
    share_kernel_half(&task.pt, true);
    hk_vaddr_t code = A->user_lo, stack = A->user_lo + 0x100000;
    size_t blob = (size_t)(user_blob_end - user_blob);
    if (hk_vm_map(task.vm, &code, blob, 0, HK_VM_READ | HK_VM_EXEC | HK_VM_USER, HK_VM_IMMEDIATE, HK_VM_FIXED) ||
        hk_vm_map(task.vm, &stack, 16 * PG, 0, HK_VM_READ | HK_VM_WRITE | HK_VM_USER, HK_VM_DEMAND, HK_VM_FIXED))
        kernel_fatal("user mapping failed", 0, code, 0);
    hk_paddr_t pa;
    unsigned prot;
    vc.port.query(vc.port.ctx, code, &pa, &prot);
    for (size_t i = 0; i < blob; i++)
        ((volatile uint8_t *)dm(pa))[i] = user_blob[i];
#if defined(__riscv)
    __asm__ volatile("fence.i");
#endif
    task.brk = A->user_lo + 0x40000000ull;
    arch_set_root(&task.pt);
    task.running = true;
    if (!__builtin_setjmp(task.jb))
        arch_enter_user(code, stack + 16 * PG, mode, arg);
    task.running = false;
    arch_set_root(&kpt);
    hk_vm_stats_t st;
    hk_vm_get_stats(task.vm, &st);
    kv("  task: faults ", st.faults);
    kv(", zero-page maps ", st.zero_maps);
    kv(", fresh frames ", st.demand_maps);
    kv(", copies on write ", st.cow_breaks);
    kv(", refused ", st.violations);
    kv(", regions ", st.regions);
    kputs("\n");
    check("task: its address space validates", hk_vm_validate(task.vm) == 0);
    share_kernel_half(&task.pt, false);
    bool ok = hk_vm_destroy(task.vm) == 0 && hk_pt_destroy(&task.pt) == 0;
    *frames_back = ok && hk_pages_free_frames(pages) == free0;
    return task.killed ? ~0ull : task.exit_code;
}

static void test_user(void)
{
    uint64_t user0 = fc.user;
    bool back = false;
    uint64_t rc = run_task(0, 0, &back);
    kputs("  user task exit status ");
    kput_hex(rc);
    kputs(" (0x1f: all five checks of the user programme)\n");
    check("user: sbrk grew the heap by pages, demand faults from user mode served", rc == 0x1f);
    check("user: faults came from user mode", fc.user - user0 >= 5);
    check("user: every frame returned at exit", back);
    hk_vaddr_t target = (hk_vaddr_t)(uintptr_t)&probe_word;
    uint64_t before = probe_word;
    rc = run_task(1, target, &back);
    check("user: write to a kernel page faulted and was refused (task killed)",
          rc == ~0ull && task.kill_addr == target && probe_word == before);
    check("user: every frame returned after the kill", back);
}

/* ---- main --------------------------------------------------------------------------------- */

_Noreturn void kernel_main(const karch_t *a)
{
    A = a;
    setup_memory();
    uint64_t used0 = hk_pages_total_frames(pages) - hk_pages_free_frames(pages);
    kv("frames in use at start (metadata, zero page, page tables): ", used0);
    kputs("\n");
    test_space();
#ifdef KTEST_FORCE_FAULT /* proves that a fault outside a test stops the kernel with a failure */
    touch_write(A->kspace_hi - 3 * PG);
#endif
    test_protection();
    test_demand();
    test_split();
    test_costs();
    test_kheap();
    test_liballoc();
    test_user();
    check("hk_pages validates at the end", hk_pages_validate(pages) == 0);
    check("kernel space validates at the end", hk_vm_validate(kvm) == 0);
    uint64_t used1 = hk_pages_total_frames(pages) - hk_pages_free_frames(pages);
    kv("frames in use at end: ", used1);
    kputs("\n");
    check("frames in use at the end equal the start", used1 == used0);
    kv("page faults: read ", fc.read);
    kv(", write ", fc.write);
    kv(", exec ", fc.exec);
    kv(", from user mode ", fc.user);
    kv("; zero page ", fc.zero);
    kv(", fresh frame ", fc.fresh);
    kv(", copy on write ", fc.cow);
    kv(", spurious ", fc.spurious);
    kv(", refused ", fc.refused);
    kv(" (oops ", fc.oopses);
    kv(", task kills ", fc.kills);
    kputs(")\n");
    kputs(failures ? "FAILED: " : "PASSED: ");
    kput_dec(checks - failures);
    kv(" checks passed, ", failures);
    kputs(" failed\n");
    arch_exit(failures == 0);
}
