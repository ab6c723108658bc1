/* SPDX-License-Identifier: MIT */
/*
 * vm_linux.c - hk_vm on the real MMU of a Linux process (see
 * heapkit/vm_linux.h for the picture).
 *
 * How a demand page comes to life here:
 *   1. The program touches an address in the reserved PROT_NONE range.
 *   2. The kernel delivers SIGSEGV with si_addr = that address.
 *   3. on_segv finds the instance whose range holds it and calls
 *      hk_vm_fault, which (through this port) either mmaps the shared zero
 *      frame read-only, or takes a frame from hk_pages, clears it through
 *      the direct map and mmaps that offset of the memfd at the page with
 *      MAP_FIXED.
 *   4. The handler returns; the CPU re-executes the access, which now hits.
 * This is the same dance a kernel does in its page-fault handler, with
 * mmap standing in for writing a page-table entry (and doing the TLB
 * shootdown for us, so flush is empty).
 *
 * Async-signal safety: the handler calls only hk_vm_fault, the port below
 * (mmap, memset on the direct map) and plain loads; no malloc, no stdio, no
 * locks. The registry is a fixed array read with atomic loads.
 *
 * Shadow table entry (one uint64_t per page of the range):
 *   bit 0 present, bits 1..4 the hk_vm prot bits, bits 12.. the frame offset.
 */
#define _GNU_SOURCE
#include "heapkit/vm_linux.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>

#include "common/hk_internal.h"

#define LV_MAX 8
#define ENT_PRESENT 1u
#define ENT_PROT_SHIFT 1u

struct hk_vm_linux {
    uintptr_t base;    /* reserved range */
    size_t va_bytes;
    int fd;            /* the memfd */
    char *direct;      /* the whole memfd, mapped read/write */
    size_t phys_bytes;
    size_t ps;
    unsigned shift;
    hk_pages_t *pages;
    hk_vm_t *vm;
    uint64_t *shadow;
    hk_vm_linux_t *phys_owner; /* NULL: this instance owns fd, direct, pages */
    unsigned users;            /* instances using this one's physical memory */
    void *ctl;                 /* the mmap'd control block */
    size_t ctl_bytes;
    volatile uint64_t signals;
};

static hk_vm_linux_t *registry[LV_MAX];
static struct sigaction old_action;
static int installed;

/* ---- the port ---------------------------------------------------------- */

static uint64_t *shadow_of(hk_vm_linux_t *lv, hk_vaddr_t va)
{
    return &lv->shadow[((uintptr_t)va - lv->base) >> lv->shift];
}

static int posix_prot(unsigned prot)
{
    return ((prot & HK_VM_READ) ? PROT_READ : 0) | ((prot & HK_VM_WRITE) ? PROT_WRITE : 0) |
           ((prot & HK_VM_EXEC) ? PROT_EXEC : 0);
}

static int lv_map(void *ctx, hk_vaddr_t va, hk_paddr_t pa, unsigned prot)
{
    hk_vm_linux_t *lv = ctx;
    if (va < lv->base || va - lv->base >= lv->va_bytes || pa >= lv->phys_bytes)
        return HK_EINVAL;
    void *p = mmap((void *)(uintptr_t)va, lv->ps, posix_prot(prot), MAP_SHARED | MAP_FIXED, lv->fd,
                   (off_t)pa);
    if (p == MAP_FAILED)
        return HK_ENOMEM;
    *shadow_of(lv, va) = pa | ((uint64_t)(prot & HK_VM_PROT_MASK) << ENT_PROT_SHIFT) | ENT_PRESENT;
    return 0;
}

static void lv_unmap(void *ctx, hk_vaddr_t va)
{
    hk_vm_linux_t *lv = ctx;
    if (va < lv->base || va - lv->base >= lv->va_bytes)
        return;
    /* Put reserved, inaccessible memory back (never leave a hole another
     * mmap could take). */
    mmap((void *)(uintptr_t)va, lv->ps, PROT_NONE,
         MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_NORESERVE, -1, 0);
    *shadow_of(lv, va) = 0;
}

static bool lv_query(void *ctx, hk_vaddr_t va, hk_paddr_t *pa, unsigned *prot)
{
    hk_vm_linux_t *lv = ctx;
    if (va < lv->base || va - lv->base >= lv->va_bytes)
        return false;
    uint64_t e = *shadow_of(lv, va);
    if (!(e & ENT_PRESENT))
        return false;
    *pa = e & ~(uint64_t)(lv->ps - 1u);
    *prot = (unsigned)(e >> ENT_PROT_SHIFT) & HK_VM_PROT_MASK;
    return true;
}

static void lv_zero(void *ctx, hk_paddr_t pa, size_t len)
{
    hk_vm_linux_t *lv = ctx;
    memset(lv->direct + pa, 0, len);
}

/* ---- the SIGSEGV handler ------------------------------------------------ */

/* The access that faulted. The x86 error code says instruction fetch (bit
 * 4) and write (bit 1). Beyond that, and on other architectures, the shadow
 * table decides: a fault on a mapped read-only page must be a write, and on
 * a mapped writable page a fetch (reads and writes of it do not fault). An
 * unmapped page is a write if the error code says so, else a read: without
 * an error code a write to an untouched demand page then faults once more,
 * on the zero frame, and gets its own frame. Never answering "read" for a
 * mapped page keeps a refused access from being retried forever. */
static unsigned fault_access(hk_vm_linux_t *lv, uintptr_t a, void *ucv)
{
    unsigned long err = 0;
#if defined(__x86_64__) || defined(__i386__)
    const ucontext_t *uc = ucv;
    err = (unsigned long)uc->uc_mcontext.gregs[REG_ERR];
#else
    (void)ucv;
#endif
    if (err & 16u)
        return HK_VM_EXEC;
    hk_paddr_t pa;
    unsigned prot;
    if (lv_query(lv, a & ~(uintptr_t)(lv->ps - 1u), &pa, &prot))
        return (prot & HK_VM_WRITE) ? HK_VM_EXEC : HK_VM_WRITE;
    return (err & 2u) ? HK_VM_WRITE : HK_VM_READ;
}

static void chain(int sig, siginfo_t *si, void *uc)
{
    if ((old_action.sa_flags & SA_SIGINFO) && old_action.sa_sigaction) {
        old_action.sa_sigaction(sig, si, uc);
        return;
    }
    if (old_action.sa_handler != SIG_DFL && old_action.sa_handler != SIG_IGN) {
        old_action.sa_handler(sig);
        return;
    }
    /* Default action: restore it and return; the access faults again and
     * the kernel kills the process with SIGSEGV, as without us. */
    signal(sig, SIG_DFL);
}

static void on_segv(int sig, siginfo_t *si, void *uc)
{
    uintptr_t a = (uintptr_t)si->si_addr;
    for (unsigned i = 0; i < LV_MAX; i++) {
        hk_vm_linux_t *lv = __atomic_load_n(&registry[i], __ATOMIC_ACQUIRE);
        if (!lv || a < lv->base || a - lv->base >= lv->va_bytes)
            continue;
        int saved = errno;
        hk_vm_fault_t r = hk_vm_fault(lv->vm, (hk_vaddr_t)a, fault_access(lv, a, uc));
        errno = saved;
        if (r == HK_VM_FAULT_HANDLED) {
            lv->signals++;
            return;
        }
        break;
    }
    chain(sig, si, uc);
}

int hk_vm_linux_install(void)
{
    if (installed)
        return 0;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_segv;
    sa.sa_flags = SA_SIGINFO; /* a fault inside the handler kills: no recursion */
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGSEGV, &sa, &old_action) != 0) {
        hk__report(HK_ENOTSUP, NULL, "vm_linux: sigaction(SIGSEGV) failed");
        return HK_ENOTSUP;
    }
    installed = 1;
    return 0;
}

void hk_vm_linux_uninstall(void)
{
    if (!installed)
        return;
    sigaction(SIGSEGV, &old_action, NULL);
    installed = 0;
}

/* ---- create / destroy --------------------------------------------------- */

static void *map_anon(size_t bytes)
{
    void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

static size_t round_up(size_t x, size_t a)
{
    return x > SIZE_MAX - (a - 1u) ? 0 : (x + a - 1u) & ~(a - 1u);
}

static void release(hk_vm_linux_t *lv)
{
    if (lv->base)
        munmap((void *)lv->base, lv->va_bytes);
    if (!lv->phys_owner) {
        if (lv->direct)
            munmap(lv->direct, lv->phys_bytes);
        if (lv->fd >= 0)
            close(lv->fd);
    } else {
        lv->phys_owner->users--;
    }
    munmap(lv->ctl, lv->ctl_bytes);
}

hk_vm_linux_t *hk_vm_linux_create(const hk_vm_linux_config_t *cfg)
{
    long psl = sysconf(_SC_PAGESIZE);
    size_t ps = psl > 0 ? (size_t)psl : 4096u;
    if (!cfg || !cfg->va_bytes || (!cfg->phys_bytes && !cfg->phys_from)) {
        hk__report(HK_EINVAL, cfg, "vm_linux: NULL config, or zero va_bytes/phys_bytes");
        return NULL;
    }
    hk_vm_linux_t *owner = cfg->phys_from;
    size_t va = round_up(cfg->va_bytes, ps);
    size_t phys = owner ? owner->phys_bytes : round_up(cfg->phys_bytes, ps);
    size_t regions = cfg->max_regions ? cfg->max_regions : 64u;
    if (!va || !phys || !hk_vm_size(regions)) {
        hk__report(HK_ERANGE, cfg, "vm_linux: sizes overflow");
        return NULL;
    }
    hk_mem_range_t map[] = {{0, phys, HK_MEM_USABLE}};
    hk_pages_config_t pc = {0};
    pc.map = map;
    pc.map_len = 1;
    pc.frame_size = ps;
    size_t meta = owner ? 0 : hk_pages_meta_size(&pc);
    size_t ctl = round_up(sizeof(hk_vm_linux_t) + 64u, 64u) + round_up(meta, 64u) +
                 round_up(hk_vm_size(regions), 64u) + (va / ps) * sizeof(uint64_t);
    ctl = round_up(ctl, ps);
    char *c = map_anon(ctl);
    if (!c) {
        hk__report(HK_ENOMEM, cfg, "vm_linux: mmap of the control block failed");
        return NULL;
    }
    hk_vm_linux_t *lv = (hk_vm_linux_t *)(void *)c;
    lv->ctl = c;
    lv->ctl_bytes = ctl;
    lv->fd = -1;
    lv->ps = ps;
    lv->shift = hk__fls(ps);
    lv->va_bytes = va;
    lv->phys_bytes = phys;
    size_t off = round_up(sizeof(hk_vm_linux_t) + 64u, 64u);
    char *meta_mem = c + off;
    off += round_up(meta, 64u);
    char *vm_mem = c + off;
    off += round_up(hk_vm_size(regions), 64u);
    lv->shadow = (uint64_t *)(void *)(c + off);
    const char *why = NULL;
    if (owner) {
        lv->phys_owner = owner;
        lv->fd = owner->fd;
        lv->direct = owner->direct;
        lv->pages = owner->pages;
        owner->users++;
    } else {
        lv->fd = memfd_create("heapkit-vm", MFD_CLOEXEC);
        if (lv->fd < 0 || ftruncate(lv->fd, (off_t)phys) != 0) {
            why = "vm_linux: memfd_create/ftruncate failed";
        } else {
            void *d = mmap(NULL, phys, PROT_READ | PROT_WRITE, MAP_SHARED, lv->fd, 0);
            lv->direct = d == MAP_FAILED ? NULL : d;
            pc.meta = meta_mem;
            pc.meta_size = meta;
            if (!lv->direct)
                why = "vm_linux: mmap of the memfd failed";
            else if (!(lv->pages = hk_pages_init(&pc)))
                why = "vm_linux: page allocator init failed";
        }
    }
    if (!why) {
        void *r = mmap(NULL, va, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (r == MAP_FAILED)
            why = "vm_linux: reserving the virtual range failed";
        else
            lv->base = (uintptr_t)r;
    }
    if (!why) {
        hk_vm_config_t vc = {0};
        vc.pages = lv->pages;
        vc.port.map = lv_map;
        vc.port.unmap = lv_unmap;
        vc.port.query = lv_query;
        vc.port.zero = lv_zero;
        vc.port.ctx = lv;
        vc.lo = lv->base;
        vc.hi = (hk_vaddr_t)lv->base + va;
        vc.zero_page = cfg->zero_page;
        lv->vm = hk_vm_init(vm_mem, hk_vm_size(regions), &vc);
        if (!lv->vm)
            why = "vm_linux: address space init failed";
    }
    unsigned slot = LV_MAX;
    for (unsigned i = 0; !why && i < LV_MAX; i++) {
        hk_vm_linux_t *expect = NULL;
        if (__atomic_compare_exchange_n(&registry[i], &expect, lv, false, __ATOMIC_ACQ_REL,
                                        __ATOMIC_ACQUIRE)) {
            slot = i;
            break;
        }
    }
    if (!why && slot == LV_MAX)
        why = "vm_linux: more than 8 instances";
    if (why) {
        if (lv->vm)
            hk_vm_destroy(lv->vm);
        release(lv);
        hk__report(HK_ENOMEM, NULL, why);
        return NULL;
    }
    return lv;
}

int hk_vm_linux_destroy(hk_vm_linux_t *lv)
{
    if (!lv) {
        hk__report(HK_EINVAL, NULL, "vm_linux: destroy of NULL");
        return HK_EINVAL;
    }
    if (lv->users) {
        hk__report(HK_EBUSY, lv, "vm_linux: another instance still uses this physical memory");
        return HK_EBUSY;
    }
    int rc = hk_vm_destroy(lv->vm);
    if (rc)
        return rc;
    for (unsigned i = 0; i < LV_MAX; i++) {
        hk_vm_linux_t *expect = lv;
        __atomic_compare_exchange_n(&registry[i], &expect, NULL, false, __ATOMIC_ACQ_REL,
                                    __ATOMIC_ACQUIRE);
    }
    release(lv);
    return 0;
}

hk_vm_t *hk_vm_linux_vm(hk_vm_linux_t *lv)
{
    return lv ? lv->vm : NULL;
}

hk_pages_t *hk_vm_linux_pages(hk_vm_linux_t *lv)
{
    return lv ? lv->pages : NULL;
}

void *hk_vm_linux_base(const hk_vm_linux_t *lv)
{
    return lv ? (void *)lv->base : NULL;
}

uint64_t hk_vm_linux_signals(const hk_vm_linux_t *lv)
{
    return lv ? lv->signals : 0;
}
