/* SPDX-License-Identifier: MIT */
/*
 * test_vm.c - address spaces on the x86-64 and Sv39 page-table back ends,
 * over simulated physical memory: the test arena plays RAM at physical
 * address 6 GiB (above 4 GiB on purpose, so 32-bit hosts exercise 64-bit
 * physical addresses), managed by an hk_pages whose metadata sits in a
 * static buffer. Every translation the library makes is checked by
 * reference page walkers written straight from the architecture manuals,
 * independent of src/vm/pt.c.
 */
#include "hk_test.h"
#include "heapkit/pages.h"
#include "heapkit/vm.h"
#include "heapkit/vm_pt.h"
#include "heapkit/vm_kheap.h"

#define SIM_PHYS_BASE 0x180000000ull /* 6 GiB */
#define SIM_MAX_FRAMES 1024u
#define PG 4096u

typedef struct {
    hk_pages_t *pages;
    uintptr_t dm; /* host address = (uintptr_t)phys + dm */
    uint64_t frames;
} sim_mem_t;

typedef struct {
    hk_pt_t pt;
    hk_vm_t *vm;
    uint64_t mem[320]; /* room for the hk_vm_t and its regions */
} sim_as_t;

/* Builds the simulated RAM over the test arena; false if the arena holds
 * fewer than min_frames frames. */
static bool sim_mem_init(sim_mem_t *m, uint64_t min_frames)
{
    static uint64_t meta[1400];
    size_t sz;
    char *a = hk_test_arena(&sz);
    uintptr_t base = ((uintptr_t)a + 4095u) & ~(uintptr_t)4095u;
    uint64_t frames = (uint64_t)(sz - (base - (uintptr_t)a)) / PG;
    if (frames > SIM_MAX_FRAMES)
        frames = SIM_MAX_FRAMES;
    if (frames < min_frames)
        return false;
    hk_mem_range_t map[] = {{SIM_PHYS_BASE, frames * PG, HK_MEM_USABLE}};
    hk_pages_config_t c = {0};
    c.map = map;
    c.map_len = 1;
    c.meta = meta;
    c.meta_size = sizeof meta;
    m->pages = hk_pages_init(&c);
    m->dm = base - (uintptr_t)SIM_PHYS_BASE;
    m->frames = frames;
    return m->pages != NULL;
}

static void *sim_ptr(const sim_mem_t *m, hk_paddr_t pa)
{
    return (void *)((uintptr_t)pa + m->dm);
}

static bool sim_as_init(sim_as_t *s, sim_mem_t *m, hk_pt_format_t fmt, hk_vaddr_t lo,
                        hk_vaddr_t hi, bool zero_page)
{
    if (hk_pt_init(&s->pt, fmt, m->pages, m->dm) != 0)
        return false;
    hk_vm_config_t c = {0};
    c.pages = m->pages;
    hk_pt_port(&s->pt, &c.port);
    c.lo = lo;
    c.hi = hi;
    c.zero_page = zero_page;
    s->vm = hk_vm_init(s->mem, sizeof s->mem, &c);
    return s->vm != NULL;
}

static uint64_t sim_entry(const sim_mem_t *m, hk_paddr_t table, unsigned idx)
{
    const uint64_t *t = sim_ptr(m, table);
    return t[idx];
}

/* x86-64 4-level walk (Intel SDM vol. 3A, 4.5): present bits, R/W, U/S and
 * XD combined over all levels, PS pages at the PDPT and PD levels. */
static bool ref_walk_x86(const sim_mem_t *m, hk_paddr_t root, hk_vaddr_t va, hk_paddr_t *pa,
                         unsigned *prot)
{
    uint64_t high = va >> 47;
    if (high != 0 && high != 0x1ffffu)
        return false; /* non-canonical: #GP */
    hk_paddr_t t = root;
    bool rw = true, us = true, xd = false;
    for (int level = 4; level >= 1; level--) {
        unsigned idx = (unsigned)(va >> (12 + 9 * (level - 1))) & 511u;
        uint64_t e = sim_entry(m, t, idx);
        if (!(e & 1u))
            return false;
        rw = rw && (e & 2u);
        us = us && (e & 4u);
        xd = xd || (e >> 63);
        hk_paddr_t next = e & 0x000ffffffffff000ull;
        if (level == 1 || ((level == 2 || level == 3) && (e & 0x80u))) {
            uint64_t span = 1ull << (12 + 9 * (level - 1));
            *pa = (next & ~(span - 1u)) | (va & (span - 1u) & ~0xfffull);
            *prot = HK_VM_READ | (rw ? HK_VM_WRITE : 0u) | (us ? HK_VM_USER : 0u) |
                    (xd ? 0u : HK_VM_EXEC);
            return true;
        }
        t = next;
    }
    return false;
}

/* Sv39 walk (RISC-V privileged spec 4.3.2): V clear or W without R is a
 * fault; R or X set is a leaf; a leaf above level 0 must be aligned. */
static bool ref_walk_sv39(const sim_mem_t *m, hk_paddr_t root, hk_vaddr_t va, hk_paddr_t *pa,
                          unsigned *prot)
{
    uint64_t high = va >> 38;
    if (high != 0 && high != 0x3ffffffu)
        return false;
    hk_paddr_t a = root;
    for (int i = 2; i >= 0; i--) {
        unsigned vpn = (unsigned)(va >> (12 + 9 * i)) & 511u;
        uint64_t pte = sim_entry(m, a, vpn);
        bool v = pte & 1u, r = pte & 2u, w = pte & 4u, x = pte & 8u, u = pte & 16u;
        if (!v || (!r && w))
            return false;
        uint64_t ppn = (pte >> 10) & ((1ull << 44) - 1u);
        if (r || x) {
            if (i > 0 && (ppn & ((1ull << (9 * i)) - 1u)))
                return false; /* misaligned superpage */
            if (!(pte & 0x40u) || (w && !(pte & 0x80u)))
                return false; /* A (and D when writable) must be set: no A/D faults */
            uint64_t span = 1ull << (12 + 9 * i);
            *pa = ((ppn << 12) & ~(span - 1u)) | (va & (span - 1u) & ~0xfffull);
            *prot = (r ? HK_VM_READ : 0u) | (w ? HK_VM_WRITE : 0u) | (x ? HK_VM_EXEC : 0u) |
                    (u ? HK_VM_USER : 0u);
            return true;
        }
        a = ppn << 12;
    }
    return false;
}

static bool ref_walk(const sim_mem_t *m, const hk_pt_t *pt, hk_vaddr_t va, hk_paddr_t *pa,
                     unsigned *prot)
{
    if (pt->format == HK_PT_X86_64)
        return ref_walk_x86(m, hk_pt_root(pt), va, pa, prot);
    return ref_walk_sv39(m, hk_pt_root(pt), va, pa, prot);
}

/* Is the frame all zero? */
static bool frame_zero(const sim_mem_t *m, hk_paddr_t pa)
{
    const uint64_t *w = sim_ptr(m, pa);
    for (unsigned i = 0; i < PG / 8u; i++)
        if (w[i])
            return false;
    return true;
}

static const hk_pt_format_t fmts[2] = {HK_PT_X86_64, HK_PT_SV39};
/* A kernel (upper-half) address and a top-level table boundary per format. */
static const hk_vaddr_t kernel_va[2] = {0xffff800000000000ull, 0xffffffc000000000ull};
static const hk_vaddr_t boundary[2] = {0x8000000000ull, 0x40000000ull};

/* The port alone: exact entry bits, walks, canonical checks, pruning. */
static void test_pt_formats(void)
{
    for (unsigned f = 0; f < 2; f++) {
        sim_mem_t m;
        hk_test_capture_errors();
        if (!sim_mem_init(&m, 6)) {
            hk_test_skip("arena too small for page tables");
            return;
        }
        uint64_t free0 = hk_pages_free_frames(m.pages);
        hk_pt_t pt;
        HK_REQUIRE(hk_pt_init(&pt, fmts[f], m.pages, m.dm) == 0);
        HK_CHECK(frame_zero(&m, hk_pt_root(&pt)));
        hk_vm_port_t port;
        hk_pt_port(&pt, &port);
        hk_paddr_t data = hk_pages_alloc(m.pages, 0);
        hk_vaddr_t vas[3] = {0x1000, kernel_va[f] + 0x5000, boundary[f] - PG};
        unsigned prots[3] = {HK_VM_READ | HK_VM_WRITE, HK_VM_READ | HK_VM_EXEC,
                             HK_VM_READ | HK_VM_WRITE | HK_VM_USER};
        /* three far-apart pages need up to 10 table frames; a 32 KiB board
         * arena has room for one */
        unsigned nva = m.frames >= 16u ? 3u : 1u;
        for (unsigned i = 0; i < nva; i++)
            HK_CHECK_EQ(port.map(port.ctx, vas[i], data, prots[i]), 0);
        for (unsigned i = 0; i < nva; i++) {
            hk_paddr_t pa = 0;
            unsigned prot = 0, qprot = 0;
            HK_CHECK(ref_walk(&m, &pt, vas[i] + 0x123, &pa, &prot));
            HK_CHECK_EQ(pa, data);
            HK_CHECK(port.query(port.ctx, vas[i], &pa, &qprot));
            HK_CHECK_EQ(qprot, prot);
            HK_CHECK_EQ(prot & (HK_VM_WRITE | HK_VM_USER | HK_VM_EXEC),
                        prots[i] & (HK_VM_WRITE | HK_VM_USER | HK_VM_EXEC));
        }
        /* exact leaf bits for va 0x1000: x86 P|RW|NX, Sv39 V|R|W|A|D */
        hk_paddr_t t = hk_pt_root(&pt);
        unsigned levels = f == 0 ? 4u : 3u;
        for (unsigned l = levels; l > 1; l--) {
            uint64_t e = sim_entry(&m, t, 0);
            t = f == 0 ? (e & 0x000ffffffffff000ull) : ((e >> 10) << 12);
            HK_CHECK_EQ(f == 0 ? (e & 0xfffu) : (e & 0x3ffu), f == 0 ? 7u : 1u);
        }
        uint64_t leaf = sim_entry(&m, t, 1);
        if (f == 0)
            HK_CHECK_EQ(leaf, 0x8000000000000003ull | data);
        else
            HK_CHECK_EQ(leaf, ((data >> 12) << 10) | 0xc7u);
        /* non-canonical addresses and misaligned ones are refused */
        hk_vaddr_t bad = f == 0 ? 0x0000800000000000ull : 0x0000004000000000ull;
        HK_CHECK_EQ(port.map(port.ctx, bad, data, HK_VM_READ), HK_EINVAL);
        HK_CHECK(!hk_pt_canonical(&pt, bad));
        HK_CHECK(hk_pt_canonical(&pt, kernel_va[f]));
        HK_CHECK_EQ(port.map(port.ctx, 0x1001, data, HK_VM_READ), HK_EINVAL);
        HK_CHECK_EQ(port.map(port.ctx, 0x2000, 1ull << 60, HK_VM_READ), HK_EINVAL); /* pa too wide */
        HK_CHECK(pt.tables >= levels);
        HK_CHECK_EQ(hk_pt_destroy(&pt), HK_EBUSY);
        for (unsigned i = 0; i < nva; i++)
            port.unmap(port.ctx, vas[i]);
        HK_CHECK_EQ(pt.tables, 1); /* pruned back to the root */
        if (f == 1)
            HK_CHECK_EQ(hk_pt_satp(&pt, 7), (8ull << 60) | (7ull << 44) | (hk_pt_root(&pt) >> 12));
        HK_CHECK_EQ(hk_pt_destroy(&pt), 0);
        hk_pages_free(m.pages, data, 0);
        HK_CHECK_EQ(hk_pages_free_frames(m.pages), free0);
        HK_CHECK_EQ(hk_pages_validate(m.pages), 0);
    }
}

/* The smallest useful address space, sized for a 32 KiB board arena: Sv39
 * (three levels), one immediate page, one demand page, the zero frame,
 * under a lock whose calls must balance. */
typedef struct {
    int depth, max_depth;
    unsigned calls, bad;
} test_lock_t;

static uintptr_t tl_lock(void *c)
{
    test_lock_t *l = c;
    l->calls++;
    if (++l->depth > l->max_depth)
        l->max_depth = l->depth;
    return (uintptr_t)l->depth;
}

static void tl_unlock(void *c, uintptr_t saved)
{
    test_lock_t *l = c;
    if (saved != (uintptr_t)l->depth)
        l->bad++;
    l->depth--;
}

static void test_vm_tiny(void)
{
    sim_mem_t m;
    static sim_as_t s;
    hk_test_capture_errors();
    if (!sim_mem_init(&m, 6)) {
        hk_test_skip("arena below 6 frames");
        return;
    }
    uint64_t free0 = hk_pages_free_frames(m.pages);
    HK_REQUIRE(hk_pt_init(&s.pt, HK_PT_SV39, m.pages, m.dm) == 0);
    test_lock_t tl = {0, 0, 0, 0};
    hk_lock_t lock = {tl_lock, tl_unlock, &tl};
    hk_vm_config_t c = {0};
    c.pages = m.pages;
    hk_pt_port(&s.pt, &c.port);
    c.lo = 0x80000000ull;
    c.hi = 0x80200000ull;
    c.zero_page = true;
    c.lock = &lock;
    s.vm = hk_vm_init(s.mem, sizeof s.mem, &c);
    HK_REQUIRE(s.vm != NULL);
    hk_vaddr_t a = 0, d = 0;
    HK_CHECK_EQ(hk_vm_map(s.vm, &a, PG, 0, HK_VM_READ | HK_VM_WRITE | HK_VM_USER, HK_VM_IMMEDIATE, 0), 0);
    HK_CHECK_EQ(hk_vm_map(s.vm, &d, PG, 0, HK_VM_READ | HK_VM_WRITE, HK_VM_DEMAND, 0), 0);
    HK_CHECK_EQ(d, a + PG);
    hk_paddr_t pa;
    unsigned prot;
    HK_CHECK(ref_walk(&m, &s.pt, a, &pa, &prot));
    HK_CHECK_EQ(prot, HK_VM_READ | HK_VM_WRITE | HK_VM_USER);
    HK_CHECK(!ref_walk(&m, &s.pt, d, &pa, &prot));
    HK_CHECK_EQ(hk_vm_fault(s.vm, d, HK_VM_READ), HK_VM_FAULT_HANDLED);
    HK_CHECK(ref_walk(&m, &s.pt, d, &pa, &prot));
    HK_CHECK_EQ(pa, hk_vm_zero_frame(s.vm));
    HK_CHECK_EQ(prot, HK_VM_READ);
    HK_CHECK_EQ(hk_vm_fault(s.vm, d, HK_VM_WRITE), HK_VM_FAULT_HANDLED);
    HK_CHECK(ref_walk(&m, &s.pt, d, &pa, &prot));
    HK_CHECK(pa != hk_vm_zero_frame(s.vm));
    HK_CHECK_EQ(prot, HK_VM_READ | HK_VM_WRITE);
    HK_CHECK_EQ(hk_vm_fault(s.vm, d, HK_VM_EXEC), HK_VM_FAULT_PROTECTION);
    HK_CHECK_EQ(hk_vm_validate(s.vm), 0);
    HK_CHECK_EQ(hk_vm_destroy(s.vm), 0);
    HK_CHECK_EQ(hk_pt_destroy(&s.pt), 0);
    HK_CHECK_EQ(hk_pages_free_frames(m.pages), free0);
    HK_CHECK(tl.calls >= 6u);
    HK_CHECK_EQ(tl.depth, 0);
    HK_CHECK_EQ(tl.max_depth, 1);
    HK_CHECK_EQ(tl.bad, 0);
    HK_CHECK_EQ(hk_test_errors.count, 0);
}

/* Immediate, demand, zero page, copy on first write, contiguous, alignment. */
static void test_vm_kinds(void)
{
    for (unsigned f = 0; f < 2; f++) {
        sim_mem_t m;
        sim_as_t s;
        hk_test_capture_errors();
        if (!sim_mem_init(&m, 40)) {
            hk_test_skip("arena too small");
            return;
        }
        uint64_t free0 = hk_pages_free_frames(m.pages);
        hk_vaddr_t lo = kernel_va[f], hi = kernel_va[f] + 0x40000000ull;
        HK_REQUIRE(sim_as_init(&s, &m, fmts[f], lo, hi, true));
        hk_paddr_t zero = hk_vm_zero_frame(s.vm);
        HK_CHECK(zero != HK_PADDR_NONE && frame_zero(&m, zero));
        /* immediate: mapped now, zeroed (the arena was random) */
        hk_vaddr_t a = 0, pa;
        unsigned prot;
        HK_CHECK_EQ(hk_vm_map(s.vm, &a, 3 * PG, 0, HK_VM_READ | HK_VM_WRITE, HK_VM_IMMEDIATE, 0), 0);
        HK_CHECK_EQ(a, lo);
        for (unsigned i = 0; i < 3; i++) {
            HK_REQUIRE(ref_walk(&m, &s.pt, a + i * PG, &pa, &prot));
            HK_CHECK(frame_zero(&m, pa));
            HK_CHECK(prot & HK_VM_WRITE);
        }
        /* demand: nothing mapped; a read maps the zero frame read-only */
        hk_vaddr_t d = 0;
        HK_CHECK_EQ(hk_vm_map(s.vm, &d, 4 * PG, 0x200000, HK_VM_READ | HK_VM_WRITE, HK_VM_DEMAND, 0), 0);
        HK_CHECK_EQ(d & 0x1fffffu, 0); /* 2 MiB aligned */
        HK_CHECK(!ref_walk(&m, &s.pt, d, &pa, &prot));
        HK_CHECK_EQ(hk_vm_fault(s.vm, d + 8, HK_VM_READ), HK_VM_FAULT_HANDLED);
        HK_REQUIRE(ref_walk(&m, &s.pt, d, &pa, &prot));
        HK_CHECK_EQ(pa, zero);
        HK_CHECK(!(prot & HK_VM_WRITE));
        /* the write then gives the page its own zeroed frame */
        HK_CHECK_EQ(hk_vm_fault(s.vm, d + 16, HK_VM_WRITE), HK_VM_FAULT_HANDLED);
        HK_REQUIRE(ref_walk(&m, &s.pt, d, &pa, &prot));
        HK_CHECK(pa != zero);
        HK_CHECK(prot & HK_VM_WRITE);
        HK_CHECK(frame_zero(&m, pa));
        /* a write fault on an unmapped page maps a frame directly */
        HK_CHECK_EQ(hk_vm_fault(s.vm, d + 3 * PG, HK_VM_WRITE), HK_VM_FAULT_HANDLED);
        HK_CHECK_EQ(hk_vm_fault(s.vm, d + 3 * PG, HK_VM_WRITE), HK_VM_FAULT_HANDLED); /* spurious */
        hk_vm_stats_t st;
        hk_vm_get_stats(s.vm, &st);
        HK_CHECK_EQ(st.regions, 2);
        HK_CHECK_EQ(st.faults, 4);
        HK_CHECK_EQ(st.zero_maps, 1);
        HK_CHECK_EQ(st.cow_breaks, 1);
        HK_CHECK_EQ(st.demand_maps, 1);
        HK_CHECK_EQ(st.spurious, 1);
        HK_CHECK_EQ(st.mapped_pages, 5);
        HK_CHECK_EQ(st.own_frames, 5);
        HK_CHECK_EQ(st.violations, 0);
        HK_CHECK_EQ(hk_vm_validate(s.vm), 0);
        /* damage behind hk_vm's back is noticed: a page of the immediate
         * region unmapped, then the zero frame made writable */
        hk_vm_port_t port;
        hk_pt_port(&s.pt, &port);
        hk_paddr_t keep;
        unsigned keep_prot;
        HK_REQUIRE(port.query(port.ctx, a + PG, &keep, &keep_prot));
        port.unmap(port.ctx, a + PG);
        HK_CHECK_EQ(hk_vm_validate(s.vm), HK_ECORRUPT);
        HK_CHECK_EQ(hk_test_errors.last_code, HK_ECORRUPT);
        HK_CHECK_EQ(port.map(port.ctx, a + PG, keep, keep_prot), 0);
        HK_CHECK_EQ(hk_vm_validate(s.vm), 0);
        HK_CHECK_EQ(hk_vm_fault(s.vm, d + PG, HK_VM_READ), HK_VM_FAULT_HANDLED); /* zero frame */
        HK_CHECK_EQ(port.map(port.ctx, d + PG, zero, HK_VM_READ | HK_VM_WRITE), 0);
        HK_CHECK_EQ(hk_vm_validate(s.vm), HK_ECORRUPT);
        HK_CHECK_EQ(port.map(port.ctx, d + PG, zero, HK_VM_READ), 0);
        HK_CHECK_EQ(hk_vm_validate(s.vm), 0);
        hk_test_capture_errors();
        /* contiguous immediate region */
        hk_vaddr_t c = 0;
        HK_CHECK_EQ(hk_vm_map(s.vm, &c, 5 * PG, 0, HK_VM_READ, HK_VM_IMMEDIATE, HK_VM_CONTIG), 0);
        hk_paddr_t c0;
        HK_REQUIRE(ref_walk(&m, &s.pt, c, &c0, &prot));
        for (unsigned i = 1; i < 5; i++) {
            HK_CHECK(ref_walk(&m, &s.pt, c + i * PG, &pa, &prot));
            HK_CHECK_EQ(pa, c0 + i * PG);
        }
        HK_CHECK(!(prot & HK_VM_WRITE));
        /* lookup and walk */
        hk_vm_region_info_t info;
        HK_CHECK_EQ(hk_vm_lookup(s.vm, d + 5, &info), 0);
        HK_CHECK_EQ(info.base, d);
        HK_CHECK_EQ(info.length, 4 * PG);
        HK_CHECK_EQ(info.kind, HK_VM_DEMAND);
        HK_CHECK_EQ(hk_vm_lookup(s.vm, hi - 1, &info), HK_EFAULT);
        HK_CHECK_EQ(hk_vm_validate(s.vm), 0);
        HK_CHECK_EQ(hk_pages_validate(m.pages), 0);
        HK_CHECK_EQ(hk_test_errors.count, 0);
        /* teardown gives every frame back */
        HK_CHECK_EQ(hk_vm_unmap(s.vm, d), 0);
        HK_CHECK_EQ(hk_vm_validate(s.vm), 0);
        HK_CHECK_EQ(hk_vm_destroy(s.vm), 0);
        HK_CHECK_EQ(hk_pt_destroy(&s.pt), 0);
        HK_CHECK_EQ(hk_pages_free_frames(m.pages), free0);
        HK_CHECK_EQ(hk_pages_validate(m.pages), 0);
    }
}

/* Misuse and violations: each a clear code, nothing changed. */
static void test_vm_errors(void)
{
    sim_mem_t m;
    sim_as_t s;
    hk_test_capture_errors();
    if (!sim_mem_init(&m, 24)) {
        hk_test_skip("arena too small");
        return;
    }
    uint64_t free0 = hk_pages_free_frames(m.pages);
    /* an address space larger than every frame there is, so that asking
     * for one frame more than exist is short of frames, not of space */
    hk_vaddr_t lo = 0x400000, hi = 0xc00000;
    _Static_assert((SIM_MAX_FRAMES + 1u) * PG < 0xc00000 - 0x400000, "space for frames + 1");
    HK_REQUIRE(sim_as_init(&s, &m, HK_PT_X86_64, lo, hi, false));
    hk_vaddr_t a = lo + 0x10000;
    HK_CHECK_EQ(hk_vm_map(s.vm, &a, 4 * PG, 0, HK_VM_READ | HK_VM_WRITE, HK_VM_DEMAND, HK_VM_FIXED), 0);
    HK_CHECK_EQ(a, lo + 0x10000);
    hk_vaddr_t b = lo + 0x12000; /* overlaps */
    HK_CHECK_EQ(hk_vm_map(s.vm, &b, PG, 0, HK_VM_READ, HK_VM_DEMAND, HK_VM_FIXED), HK_EOVERLAP);
    HK_CHECK_EQ(hk_test_errors.last_code, HK_EOVERLAP);
    b = lo + 0xf000; /* its tail overlaps */
    HK_CHECK_EQ(hk_vm_map(s.vm, &b, 2 * PG, 0, HK_VM_READ, HK_VM_DEMAND, HK_VM_FIXED), HK_EOVERLAP);
    b = lo + 0x123;
    HK_CHECK_EQ(hk_vm_map(s.vm, &b, PG, 0, HK_VM_READ, HK_VM_DEMAND, HK_VM_FIXED), HK_EINVAL);
    b = hi - PG;
    HK_CHECK_EQ(hk_vm_map(s.vm, &b, 2 * PG, 0, HK_VM_READ, HK_VM_DEMAND, HK_VM_FIXED), HK_ERANGE);
    b = 0;
    HK_CHECK_EQ(hk_vm_map(s.vm, &b, 0, 0, HK_VM_READ, HK_VM_DEMAND, 0), HK_EINVAL);
    HK_CHECK_EQ(hk_vm_map(s.vm, &b, UINT64_MAX, 0, HK_VM_READ, HK_VM_DEMAND, 0), HK_ERANGE);
    HK_CHECK_EQ(hk_vm_map(s.vm, &b, PG, 3, HK_VM_READ, HK_VM_DEMAND, 0), HK_EINVAL);
    HK_CHECK_EQ(hk_vm_map(s.vm, &b, PG, 0, 0x40, HK_VM_DEMAND, 0), HK_EINVAL);
    HK_CHECK_EQ(hk_vm_map(s.vm, &b, PG, 0, 0, HK_VM_DEMAND, 0), HK_EINVAL);
    HK_CHECK_EQ(hk_vm_map(s.vm, &b, PG, 0, HK_VM_READ, HK_VM_SHARED, 0), HK_EINVAL);
    HK_CHECK_EQ(hk_vm_map(s.vm, &b, PG, 0, HK_VM_READ, HK_VM_DEMAND, HK_VM_CONTIG), HK_EINVAL);
    HK_CHECK_EQ(hk_vm_map(s.vm, NULL, PG, 0, HK_VM_READ, HK_VM_DEMAND, 0), HK_EINVAL);
    HK_CHECK_EQ(hk_vm_map(NULL, &b, PG, 0, HK_VM_READ, HK_VM_DEMAND, 0), HK_EINVAL);
    HK_CHECK_EQ(hk_vm_map(s.vm, &b, hi - lo, 0, HK_VM_READ, HK_VM_DEMAND, 0), HK_ENOMEM); /* no gap */
    /* more frames than exist: ENOMEM and nothing left behind */
    uint64_t before = hk_pages_free_frames(m.pages);
    HK_CHECK_EQ(hk_vm_map(s.vm, &b, (m.frames + 1u) * PG, 0, HK_VM_READ, HK_VM_IMMEDIATE, 0), HK_ENOMEM);
    HK_CHECK_EQ(hk_pages_free_frames(m.pages), before);
    HK_CHECK_EQ(hk_vm_validate(s.vm), 0);
    /* a guard, and faults of every kind of violation */
    hk_vaddr_t g = 0;
    HK_CHECK_EQ(hk_vm_map(s.vm, &g, PG, 0, 0, HK_VM_GUARD, 0), 0);
    hk_vaddr_t k = 0;
    HK_CHECK_EQ(hk_vm_map(s.vm, &k, PG, 0, HK_VM_READ, HK_VM_DEMAND, 0), 0);
    HK_CHECK_EQ(hk_vm_fault(s.vm, g, HK_VM_READ), HK_VM_FAULT_PROTECTION);
    HK_CHECK_EQ(hk_vm_fault(s.vm, hi - 8, HK_VM_READ), HK_VM_FAULT_NO_REGION);
    HK_CHECK_EQ(hk_vm_fault(s.vm, 0x10, HK_VM_READ), HK_VM_FAULT_NO_REGION);
    HK_CHECK_EQ(hk_vm_fault(s.vm, k, HK_VM_WRITE), HK_VM_FAULT_PROTECTION);
    HK_CHECK_EQ(hk_vm_fault(s.vm, k, HK_VM_EXEC), HK_VM_FAULT_PROTECTION);
    HK_CHECK_EQ(hk_vm_fault(s.vm, k, HK_VM_READ | HK_VM_USER), HK_VM_FAULT_PROTECTION);
    HK_CHECK_EQ(hk_vm_fault(s.vm, k, HK_VM_READ), HK_VM_FAULT_HANDLED);
    hk_vm_stats_t st;
    hk_vm_get_stats(s.vm, &st);
    HK_CHECK_EQ(st.violations, 6);
    HK_CHECK_EQ(st.mapped_pages, 1);
    HK_CHECK(hk_vm_fault_name(HK_VM_FAULT_PROTECTION)[0] == 'a');
    /* unmap must name a region's start */
    HK_CHECK_EQ(hk_vm_unmap(s.vm, a + PG), HK_EINVAL);
    HK_CHECK_EQ(hk_vm_unmap(s.vm, hi), HK_EINVAL);
    HK_CHECK_EQ(hk_vm_validate(s.vm), 0);
    /* bad configurations */
    hk_vm_config_t c = {0};
    static uint64_t mem2[64];
    HK_CHECK(hk_vm_init(mem2, sizeof mem2, &c) == NULL);
    c.pages = m.pages;
    hk_pt_port(&s.pt, &c.port);
    c.lo = 0x1001;
    c.hi = 0x10000;
    HK_CHECK(hk_vm_init(mem2, sizeof mem2, &c) == NULL);
    c.lo = 0x10000;
    HK_CHECK(hk_vm_init(mem2, sizeof mem2, &c) == NULL);
    c.lo = 0;
    HK_CHECK(hk_vm_init(mem2, 8, &c) == NULL);
    HK_CHECK_EQ(hk_test_errors.last_code, HK_EINVAL);
    HK_CHECK_EQ(hk_vm_destroy(s.vm), 0);
    HK_CHECK_EQ(hk_vm_destroy(s.vm), HK_EINVAL); /* destroyed handle */
    HK_CHECK_EQ(hk_pt_destroy(&s.pt), 0);
    HK_CHECK_EQ(hk_pages_free_frames(m.pages), free0);
}

/* Two address spaces share one region; both see the same frames. */
static void test_vm_share(void)
{
    for (unsigned f = 0; f < 2; f++) {
        sim_mem_t m;
        static sim_as_t s1, s2;
        hk_test_capture_errors();
        if (!sim_mem_init(&m, 40)) {
            hk_test_skip("arena too small");
            return;
        }
        uint64_t free0 = hk_pages_free_frames(m.pages);
        HK_REQUIRE(sim_as_init(&s1, &m, fmts[f], 0x10000000, 0x20000000, true));
        HK_REQUIRE(sim_as_init(&s2, &m, fmts[f], 0x10000000, 0x20000000, true));
        hk_vaddr_t a = 0, b = 0x18000000;
        HK_REQUIRE(hk_vm_map(s1.vm, &a, 4 * PG, 0, HK_VM_READ | HK_VM_WRITE, HK_VM_DEMAND, 0) == 0);
        HK_CHECK_EQ(hk_vm_fault(s1.vm, a, HK_VM_READ), HK_VM_FAULT_HANDLED); /* zero frame */
        HK_CHECK_EQ(hk_vm_share(s1.vm, a, s2.vm, &b, HK_VM_READ | HK_VM_WRITE | HK_VM_EXEC, HK_VM_FIXED),
                    HK_EINVAL); /* more rights than the source */
        HK_CHECK_EQ(hk_vm_share(s1.vm, a, s2.vm, &b, HK_VM_READ, HK_VM_FIXED), 0);
        HK_CHECK_EQ(b, 0x18000000);
        HK_CHECK_EQ(hk_vm_share(s1.vm, a, s1.vm, &b, HK_VM_READ, 0), HK_EINVAL);
        /* a read in the sharer gives the source page a frame of its own */
        HK_CHECK_EQ(hk_vm_fault(s2.vm, b + 10, HK_VM_READ), HK_VM_FAULT_HANDLED);
        HK_CHECK_EQ(hk_vm_fault(s2.vm, b + 2 * PG, HK_VM_READ), HK_VM_FAULT_HANDLED);
        HK_CHECK_EQ(hk_vm_fault(s2.vm, b, HK_VM_WRITE), HK_VM_FAULT_PROTECTION);
        hk_paddr_t p1, p2;
        unsigned pr1, pr2;
        HK_REQUIRE(ref_walk(&m, &s1.pt, a, &p1, &pr1));
        HK_REQUIRE(ref_walk(&m, &s2.pt, b, &p2, &pr2));
        HK_CHECK_EQ(p1, p2);
        HK_CHECK(p1 != hk_vm_zero_frame(s1.vm));
        HK_CHECK(pr1 & HK_VM_WRITE);
        HK_CHECK(!(pr2 & HK_VM_WRITE));
        HK_REQUIRE(ref_walk(&m, &s1.pt, a + 2 * PG, &p1, &pr1));
        HK_REQUIRE(ref_walk(&m, &s2.pt, b + 2 * PG, &p2, &pr2));
        HK_CHECK_EQ(p1, p2);
        /* a write through the source is seen through the sharer */
        *(volatile uint32_t *)sim_ptr(&m, p1) = 0xfeedu;
        HK_CHECK_EQ(*(volatile uint32_t *)sim_ptr(&m, p2), 0xfeedu);
        /* the source page touched later by the source is seen by the sharer */
        HK_CHECK_EQ(hk_vm_fault(s1.vm, a + 3 * PG, HK_VM_WRITE), HK_VM_FAULT_HANDLED);
        HK_CHECK_EQ(hk_vm_fault(s2.vm, b + 3 * PG, HK_VM_READ), HK_VM_FAULT_HANDLED);
        HK_REQUIRE(ref_walk(&m, &s1.pt, a + 3 * PG, &p1, &pr1));
        HK_REQUIRE(ref_walk(&m, &s2.pt, b + 3 * PG, &p2, &pr2));
        HK_CHECK_EQ(p1, p2);
        HK_CHECK_EQ(hk_vm_validate(s1.vm), 0);
        HK_CHECK_EQ(hk_vm_validate(s2.vm), 0);
        /* the source cannot go while shared */
        HK_CHECK_EQ(hk_vm_unmap(s1.vm, a), HK_EBUSY);
        HK_CHECK_EQ(hk_vm_destroy(s1.vm), HK_EBUSY);
        HK_CHECK_EQ(hk_test_errors.last_code, HK_EBUSY);
        hk_vm_stats_t st;
        hk_vm_get_stats(s2.vm, &st);
        HK_CHECK_EQ(st.shared_maps, 3);
        HK_CHECK_EQ(st.own_frames, 0);
        HK_CHECK_EQ(hk_vm_destroy(s2.vm), 0); /* drops the share */
        HK_CHECK(!hk_pages_is_free(m.pages, p1)); /* still the source's */
        HK_CHECK_EQ(hk_vm_unmap(s1.vm, a), 0);
        HK_CHECK(hk_pages_is_free(m.pages, p1));
        HK_CHECK_EQ(hk_vm_destroy(s1.vm), 0);
        HK_CHECK_EQ(hk_pt_destroy(&s1.pt), 0);
        HK_CHECK_EQ(hk_pt_destroy(&s2.pt), 0);
        HK_CHECK_EQ(hk_pages_free_frames(m.pages), free0);
        HK_CHECK_EQ(hk_pages_validate(m.pages), 0);
    }
}

/* ---- the randomized model test ------------------------------------------
 * map / unmap / fault sequences on a window of W pages that straddles a
 * top-level table boundary, against a simple per-page model; after every
 * step every page of the window is walked with the reference walker, and a
 * signature word in each owned frame proves no frame is shared or reused
 * by mistake. */
#define MW 64
#define MREGS 12

typedef struct {
    bool live;
    unsigned first, n, kind, prot;
} mreg_t;

typedef struct {
    int8_t owner[MW];   /* region slot or -1 */
    uint8_t st[MW];     /* 0 unmapped, 1 zero frame, 2 own frame */
    hk_paddr_t pa[MW];
    uint32_t sig[MW];
    mreg_t r[MREGS];
} model_t;

static const unsigned mprots[6] = {
    HK_VM_READ, HK_VM_READ | HK_VM_WRITE, HK_VM_READ | HK_VM_EXEC,
    HK_VM_READ | HK_VM_WRITE | HK_VM_EXEC, HK_VM_READ | HK_VM_WRITE | HK_VM_USER,
    HK_VM_READ | HK_VM_USER};

static unsigned expected_prot(hk_pt_format_t f, unsigned prot)
{
    if (f == HK_PT_X86_64)
        return HK_VM_READ | (prot & (HK_VM_WRITE | HK_VM_USER | HK_VM_EXEC));
    return prot | ((prot & HK_VM_WRITE) ? HK_VM_READ : 0u);
}

/* Takes ownership of page i's frame in the model after a walk. */
static unsigned model_own(model_t *md, const sim_mem_t *m, const sim_as_t *s, hk_vaddr_t va,
                          unsigned i, uint32_t tag)
{
    hk_paddr_t pa;
    unsigned prot;
    if (!ref_walk(m, &s->pt, va, &pa, &prot))
        return 1;
    unsigned bad = frame_zero(m, pa) ? 0u : 1u;
    md->st[i] = 2;
    md->pa[i] = pa;
    md->sig[i] = tag;
    *(uint32_t *)sim_ptr(m, pa) = tag;
    return bad;
}

static unsigned model_check(const model_t *md, const sim_mem_t *m, const sim_as_t *s,
                            hk_vaddr_t wbase, hk_paddr_t zero)
{
    unsigned bad = 0;
    for (unsigned i = 0; i < MW; i++) {
        hk_paddr_t pa;
        unsigned prot;
        bool mapped = ref_walk(m, &s->pt, wbase + i * PG, &pa, &prot);
        if (md->st[i] == 0) {
            bad += mapped;
            continue;
        }
        if (!mapped) {
            bad++;
            continue;
        }
        unsigned rp = md->r[md->owner[i]].prot;
        if (md->st[i] == 1) {
            bad += pa != zero || (prot & HK_VM_WRITE);
            continue;
        }
        bad += pa != md->pa[i] || pa == zero;
        bad += prot != expected_prot(s->pt.format, rp);
        bad += *(const uint32_t *)sim_ptr(m, pa) != md->sig[i];
        bad += hk_pages_is_free(m->pages, pa);
        for (unsigned j = 0; j < i; j++)
            bad += md->st[j] == 2 && md->pa[j] == pa;
    }
    return bad;
}

/* Puts pages [first, end) of the model in a region slot of their own. */
static void model_place(model_t *md, unsigned first, unsigned end, unsigned kind, unsigned prot)
{
    for (unsigned s = 0; s < MREGS; s++) {
        if (md->r[s].live)
            continue;
        md->r[s] = (mreg_t){true, first, end - first, kind, prot};
        for (unsigned i = first; i < end; i++)
            md->owner[i] = (int8_t)s;
        return;
    }
}

/* Region slots a cut of [lo, hi) needs beyond the ones it frees (<= 0: fits). */
static int model_cut_slots(const model_t *md, unsigned lo, unsigned hi, bool protect)
{
    int need = 0, free_slots = 0;
    for (unsigned s = 0; s < MREGS; s++) {
        const mreg_t *r = &md->r[s];
        if (!r->live) {
            free_slots++;
            continue;
        }
        if (r->first >= hi || r->first + r->n <= lo)
            continue;
        int pieces = (r->first < lo) + (r->first + r->n > hi) + (protect ? 1 : 0);
        need += pieces - 1;
    }
    return need - free_slots;
}

/* The model of hk_vm_unmap_range (protect false) and hk_vm_protect over
 * pages [lo, hi): every region touched is cut into its parts outside the
 * range and (protect) the part inside with the new protection. */
static unsigned model_cut(model_t *md, const sim_mem_t *m, unsigned lo, unsigned hi, bool protect,
                          unsigned prot)
{
    unsigned bad = 0;
    mreg_t touched[MREGS];
    unsigned nt = 0;
    for (unsigned s = 0; s < MREGS; s++) {
        mreg_t *r = &md->r[s];
        if (r->live && r->first < hi && r->first + r->n > lo) {
            touched[nt++] = *r;
            r->live = false;
        }
    }
    if (!protect) {
        for (unsigned i = lo; i < hi; i++) {
            if (md->st[i] == 2)
                bad += !hk_pages_is_free(m->pages, md->pa[i]);
            md->owner[i] = -1;
            md->st[i] = 0;
        }
    }
    for (unsigned t = 0; t < nt; t++) {
        unsigned a = touched[t].first, e = touched[t].first + touched[t].n;
        if (a < lo)
            model_place(md, a, lo, touched[t].kind, touched[t].prot);
        if (protect)
            model_place(md, a > lo ? a : lo, e < hi ? e : hi, touched[t].kind, prot);
        if (e > hi)
            model_place(md, hi, e, touched[t].kind, touched[t].prot);
    }
    return bad;
}

static void model_run(unsigned f, uint64_t seed)
{
    sim_mem_t m;
    static sim_as_t s;
    static model_t md;
    hk_test_capture_errors();
    if (!sim_mem_init(&m, MW + 24u)) {
        hk_test_skip("arena too small for the model window");
        return;
    }
    uint64_t free0 = hk_pages_free_frames(m.pages);
    hk_vaddr_t wbase = boundary[f] - (MW / 2u) * PG;
    HK_REQUIRE(sim_as_init(&s, &m, fmts[f], wbase, wbase + MW * PG, true));
    hk_paddr_t zero = hk_vm_zero_frame(s.vm);
    for (unsigned i = 0; i < MW; i++) {
        md.owner[i] = -1;
        md.st[i] = 0;
    }
    for (unsigned i = 0; i < MREGS; i++)
        md.r[i].live = false;
    hk_rng_t r;
    hk_rng_seed(&r, seed);
    unsigned bad = 0, errors = 0, ops = 4000u / HK_TEST_SCALE_DIV;
    uint64_t counts[4] = {0, 0, 0, 0};
    for (unsigned op = 0; op < ops && !bad; op++) {
        unsigned what = (unsigned)hk_rng_below(&r, 11);
        if (what == 10) {
            /* munmap / mprotect of a few pages anywhere in the window */
            unsigned lo = (unsigned)hk_rng_below(&r, MW);
            unsigned hi = lo + 1u + (unsigned)hk_rng_below(&r, 4);
            if (hi > MW)
                hi = MW;
            bool protect = hk_rng_below(&r, 2);
            unsigned prot = mprots[hk_rng_below(&r, 6)];
            if (model_cut_slots(&md, lo, hi, protect) > 0)
                continue; /* the model has no slot for the pieces */
            int expect = 0;
            for (unsigned i = lo; protect && i < hi; i++) {
                if (md.owner[i] < 0)
                    expect = HK_EFAULT;
                else if (!expect && md.r[md.owner[i]].kind == HK_VM_GUARD)
                    expect = HK_EINVAL;
            }
            /* the library checks guards before holes */
            for (unsigned i = lo; protect && i < hi; i++)
                if (md.owner[i] >= 0 && md.r[md.owner[i]].kind == HK_VM_GUARD)
                    expect = HK_EINVAL;
            hk_vaddr_t a = wbase + lo * PG;
            int rc = protect ? hk_vm_protect(s.vm, a, (hi - lo) * PG, prot)
                             : hk_vm_unmap_range(s.vm, a, (hi - lo) * PG);
            bad += rc != expect;
            if (rc) {
                errors++;
                continue;
            }
            bad += model_cut(&md, &m, lo, hi, protect, prot);
            counts[3]++;
        } else if (what < 3) {
            unsigned slot = MREGS;
            for (unsigned i = 0; i < MREGS; i++)
                if (!md.r[i].live)
                    slot = i;
            if (slot == MREGS)
                continue;
            unsigned kind = (unsigned)hk_rng_below(&r, 3);
            unsigned n = 1u + (unsigned)hk_rng_below(&r, 6);
            unsigned prot = kind == HK_VM_GUARD ? 0u : mprots[hk_rng_below(&r, 6)];
            bool fixed = hk_rng_below(&r, 2);
            unsigned start = (unsigned)hk_rng_below(&r, MW);
            int expect = 0;
            if (fixed) {
                if (start + n > MW)
                    expect = HK_ERANGE;
                for (unsigned i = start; !expect && i < start + n; i++)
                    if (md.owner[i] >= 0)
                        expect = HK_EOVERLAP;
            } else {
                unsigned run = 0;
                expect = HK_ENOMEM;
                for (unsigned i = 0; i < MW; i++) {
                    run = md.owner[i] >= 0 ? 0u : run + 1u;
                    if (run == n) {
                        start = i + 1u - n;
                        expect = 0;
                        break;
                    }
                }
            }
            hk_vaddr_t a = wbase + start * PG;
            int rc = hk_vm_map(s.vm, &a, n * PG, 0, prot, (hk_vm_kind_t)kind, fixed ? HK_VM_FIXED : 0u);
            bad += rc != expect;
            if (rc) {
                errors++;
                continue;
            }
            bad += a != wbase + start * PG;
            md.r[slot] = (mreg_t){true, start, n, kind, prot};
            for (unsigned i = start; i < start + n; i++) {
                md.owner[i] = (int8_t)slot;
                if (kind == HK_VM_IMMEDIATE)
                    bad += model_own(&md, &m, &s, wbase + i * PG, i, (op << 8) | i);
            }
            counts[0]++;
        } else if (what < 5) {
            unsigned slot = (unsigned)hk_rng_below(&r, MREGS);
            if (!md.r[slot].live)
                continue;
            unsigned off = hk_rng_below(&r, 4) == 0 ? 1u : 0u; /* sometimes not the start */
            if (off && md.r[slot].n < 2)
                off = 0;
            int rc = hk_vm_unmap(s.vm, wbase + (md.r[slot].first + off) * PG);
            bad += rc != (off ? HK_EINVAL : 0);
            if (off) {
                errors++;
                continue;
            }
            for (unsigned i = md.r[slot].first; i < md.r[slot].first + md.r[slot].n; i++) {
                if (md.st[i] == 2)
                    bad += !hk_pages_is_free(m.pages, md.pa[i]); /* the frame went back */
                md.owner[i] = -1;
                md.st[i] = 0;
            }
            md.r[slot].live = false;
            counts[1]++;
        } else {
            static const unsigned acc[5] = {HK_VM_READ, HK_VM_WRITE, HK_VM_EXEC,
                                            HK_VM_READ | HK_VM_USER, HK_VM_WRITE | HK_VM_USER};
            unsigned i = (unsigned)hk_rng_below(&r, MW);
            unsigned access = acc[hk_rng_below(&r, 5)];
            hk_vaddr_t va = wbase + i * PG + hk_rng_below(&r, PG);
            hk_vm_fault_t expect = HK_VM_FAULT_HANDLED;
            const mreg_t *reg = md.owner[i] >= 0 ? &md.r[md.owner[i]] : NULL;
            if (!reg)
                expect = HK_VM_FAULT_NO_REGION;
            else if (reg->kind == HK_VM_GUARD || (access & ~reg->prot))
                expect = HK_VM_FAULT_PROTECTION;
            hk_vm_fault_t got = hk_vm_fault(s.vm, va, access);
            bad += got != expect;
            if (got == HK_VM_FAULT_HANDLED) {
                if (md.st[i] == 0 && !(access & HK_VM_WRITE))
                    md.st[i] = 1;
                else if (md.st[i] != 2 && (access & HK_VM_WRITE))
                    bad += model_own(&md, &m, &s, wbase + i * PG, i, (op << 8) | i);
                else if (md.st[i] == 0)
                    bad++;
            }
            counts[2]++;
        }
        bad += model_check(&md, &m, &s, wbase, zero);
        bad += hk_vm_validate(s.vm) != 0;
        bad += hk_pages_validate(m.pages) != 0;
        if (bad)
            hk_test_printf("  model diverged at op %u\n", op);
    }
    HK_CHECK_EQ(bad, 0);
    HK_CHECK_EQ(hk_test_errors.count, errors);
    HK_CHECK(counts[0] > 10 && counts[1] > 5 && counts[2] > 50 && counts[3] > 3);
    for (unsigned i = 0; i < MREGS; i++)
        if (md.r[i].live)
            HK_CHECK_EQ(hk_vm_unmap(s.vm, wbase + md.r[i].first * PG), 0);
    hk_vm_stats_t st;
    hk_vm_get_stats(s.vm, &st);
    HK_CHECK_EQ(st.mapped_pages, 0);
    HK_CHECK_EQ(st.own_frames, 0);
    HK_CHECK_EQ(s.pt.tables, 1); /* every table pruned but the root */
    HK_CHECK_EQ(hk_vm_destroy(s.vm), 0);
    HK_CHECK_EQ(hk_pt_destroy(&s.pt), 0);
    HK_CHECK_EQ(hk_pages_free_frames(m.pages), free0); /* every frame free again */
    HK_CHECK_EQ(hk_pages_validate(m.pages), 0);
}

static void test_vm_model_x86_64(void)
{
    model_run(0, 0x86);
    model_run(0, 0x8664);
}

static void test_vm_model_sv39(void)
{
    model_run(1, 0x39);
    model_run(1, 0x5339);
}

/* Physical regions with large pages: a 1 GiB + 2 MiB + 8 KiB range at a
 * 1 GiB-aligned address becomes one 1 GiB leaf, one 2 MiB leaf and two
 * pages (x86-64 PS in the PDPT and PD; Sv39 gigapage and megapage), each
 * translated by the reference walkers; a range whose physical address is
 * only page aligned gets pages only; unmap prunes every table. */
static void test_vm_phys_large(void)
{
    for (unsigned f = 0; f < 2; f++) {
        sim_mem_t m;
        static sim_as_t s;
        hk_test_capture_errors();
        if (!sim_mem_init(&m, 16)) {
            hk_test_skip("arena too small");
            return;
        }
        uint64_t free0 = hk_pages_free_frames(m.pages);
        const uint64_t G = 1ull << 30, M2 = 2ull << 20;
        HK_REQUIRE(sim_as_init(&s, &m, fmts[f], kernel_va[f], kernel_va[f] + 8 * G, false));
        hk_paddr_t pa = SIM_PHYS_BASE; /* 6 GiB: 1 GiB aligned */
        hk_vaddr_t va = kernel_va[f];
        HK_CHECK_EQ(hk_vm_map_phys(s.vm, &va, pa, G + M2 + 2 * PG, 0, HK_VM_READ | HK_VM_WRITE,
                                   HK_VM_FIXED | HK_VM_LARGE), 0);
        HK_CHECK_EQ(s.pt.leaves, 4);
        hk_vaddr_t probes[5] = {va, va + G - PG, va + G + 0x12345, va + G + M2, va + G + M2 + PG + 8};
        for (unsigned i = 0; i < 5; i++) {
            hk_paddr_t got = 0;
            unsigned prot = 0;
            HK_CHECK(ref_walk(&m, &s.pt, probes[i], &got, &prot));
            HK_CHECK_EQ(got, pa + ((probes[i] - va) & ~(uint64_t)(PG - 1u)));
            HK_CHECK_EQ(prot & (HK_VM_WRITE | HK_VM_EXEC | HK_VM_USER), HK_VM_WRITE);
        }
        /* the 1 GiB leaf sits in the top-level table's child: entry 0 there */
        uint64_t top = sim_entry(&m, hk_pt_root(&s.pt), (unsigned)(va >> (f == 0 ? 39 : 30)) & 511u);
        if (f == 0) {
            hk_paddr_t pdpt = top & 0x000ffffffffff000ull;
            HK_CHECK(sim_entry(&m, pdpt, 0) & 0x80u); /* PS */
        } else {
            HK_CHECK(top & 0xeu); /* R/W/X in a root entry: a gigapage */
        }
        hk_vm_region_info_t ri;
        HK_CHECK_EQ(hk_vm_lookup(s.vm, va + G, &ri), 0);
        HK_CHECK_EQ(ri.kind, HK_VM_PHYS);
        HK_CHECK_EQ(ri.phys, pa);
        hk_vm_stats_t st;
        hk_vm_get_stats(s.vm, &st);
        HK_CHECK_EQ(st.mapped_pages, (G + M2) / PG + 2u);
        HK_CHECK_EQ(st.own_frames, 0);
        HK_CHECK_EQ(hk_vm_validate(s.vm), 0);
        /* a fault on a physical page is spurious; a forbidden access is refused */
        HK_CHECK_EQ(hk_vm_fault(s.vm, va + 5 * PG, HK_VM_WRITE), HK_VM_FAULT_HANDLED);
        HK_CHECK_EQ(hk_vm_fault(s.vm, va + 5 * PG, HK_VM_EXEC), HK_VM_FAULT_PROTECTION);
        /* co-alignment: va 2 MiB aligned, pa not: pages only */
        hk_vaddr_t vb = kernel_va[f] + 4 * G;
        HK_CHECK_EQ(hk_vm_map_phys(s.vm, &vb, pa + PG, M2, 0, HK_VM_READ, HK_VM_FIXED | HK_VM_LARGE), 0);
        HK_CHECK_EQ(s.pt.leaves, 4u + 512u);
        HK_CHECK_EQ(hk_vm_validate(s.vm), 0);
        /* misuse */
        hk_vaddr_t vc = 0;
        HK_CHECK_EQ(hk_vm_map_phys(s.vm, &vc, pa + 1, PG, 0, HK_VM_READ, 0), HK_EINVAL);
        HK_CHECK_EQ(hk_vm_map_phys(s.vm, &vc, pa, PG, 0, 0, 0), HK_EINVAL);
        HK_CHECK_EQ(hk_vm_map_phys(s.vm, &vc, pa, PG, 0, HK_VM_READ, HK_VM_CONTIG), HK_EINVAL);
        vc = va + PG;
        HK_CHECK_EQ(hk_vm_map_phys(s.vm, &vc, pa, PG, 0, HK_VM_READ, HK_VM_FIXED), HK_EOVERLAP);
        HK_CHECK_EQ(hk_vm_share(s.vm, va, s.vm, &vc, HK_VM_READ, 0), HK_EINVAL);
        HK_CHECK_EQ(hk_vm_unmap(s.vm, vb), 0);
        HK_CHECK_EQ(hk_vm_unmap(s.vm, va), 0);
        HK_CHECK_EQ(s.pt.leaves, 0);
        HK_CHECK_EQ(s.pt.tables, 1);
        HK_CHECK(!ref_walk(&m, &s.pt, va, &pa, &ri.prot));
        HK_CHECK_EQ(hk_vm_destroy(s.vm), 0);
        HK_CHECK_EQ(hk_pt_destroy(&s.pt), 0);
        HK_CHECK_EQ(hk_pages_free_frames(m.pages), free0);
        HK_CHECK_EQ(hk_pages_validate(m.pages), 0);
    }
}

/* Partial unmap and protection change: regions cut at the range ends, pages
 * inside remapped or unmapped (checked by the reference walkers), frames
 * freed exactly for the pages removed, the zero frame kept read-only. */
static void test_vm_split(void)
{
    for (unsigned f = 0; f < 2; f++) {
        sim_mem_t m;
        static sim_as_t s, t;
        hk_test_capture_errors();
        if (!sim_mem_init(&m, 40)) {
            hk_test_skip("arena too small");
            return;
        }
        uint64_t free0 = hk_pages_free_frames(m.pages);
        HK_REQUIRE(sim_as_init(&s, &m, fmts[f], kernel_va[f], kernel_va[f] + 0x1000000ull, true));
        const unsigned RW = HK_VM_READ | HK_VM_WRITE;
        hk_vaddr_t d = 0;
        HK_CHECK_EQ(hk_vm_map(s.vm, &d, 8 * PG, 0, RW, HK_VM_DEMAND, 0), 0);
        for (unsigned i = 0; i < 8; i++)
            if (i != 6)
                HK_CHECK_EQ(hk_vm_fault(s.vm, d + i * PG, HK_VM_WRITE), HK_VM_FAULT_HANDLED);
        HK_CHECK_EQ(hk_vm_fault(s.vm, d + 6 * PG, HK_VM_READ), HK_VM_FAULT_HANDLED); /* zero frame */
        uint64_t free1 = hk_pages_free_frames(m.pages);
        /* mprotect the middle read-only: three regions */
        HK_CHECK_EQ(hk_vm_protect(s.vm, d + 2 * PG, 3 * PG, HK_VM_READ), 0);
        hk_vm_stats_t st;
        hk_vm_get_stats(s.vm, &st);
        HK_CHECK_EQ(st.regions, 3);
        for (unsigned i = 0; i < 8; i++) {
            hk_paddr_t pa;
            unsigned prot;
            HK_CHECK(ref_walk(&m, &s.pt, d + i * PG, &pa, &prot));
            bool ro = (i >= 2 && i < 5) || i == 6;
            HK_CHECK_EQ((prot & HK_VM_WRITE) != 0, !ro);
        }
        HK_CHECK_EQ(hk_vm_fault(s.vm, d + 3 * PG, HK_VM_WRITE), HK_VM_FAULT_PROTECTION);
        hk_vm_region_info_t ri;
        HK_CHECK_EQ(hk_vm_lookup(s.vm, d + 4 * PG, &ri), 0);
        HK_CHECK_EQ(ri.base, d + 2 * PG);
        HK_CHECK_EQ(ri.length, 3 * PG);
        HK_CHECK_EQ(ri.prot, HK_VM_READ);
        HK_CHECK_EQ(hk_vm_validate(s.vm), 0);
        /* back to read-write across all three; the zero frame stays read-only */
        HK_CHECK_EQ(hk_vm_protect(s.vm, d, 8 * PG, RW | HK_VM_EXEC), 0);
        hk_paddr_t zpa;
        unsigned zprot;
        HK_CHECK(ref_walk(&m, &s.pt, d + 6 * PG, &zpa, &zprot));
        HK_CHECK_EQ(zpa, hk_vm_zero_frame(s.vm));
        HK_CHECK_EQ(zprot & HK_VM_WRITE, 0);
        HK_CHECK(ref_walk(&m, &s.pt, d + 3 * PG, &zpa, &zprot));
        HK_CHECK_EQ(zprot & (HK_VM_WRITE | HK_VM_EXEC), HK_VM_WRITE | HK_VM_EXEC);
        HK_CHECK_EQ(hk_vm_validate(s.vm), 0);
        /* munmap two pages across a region boundary: both frames freed */
        HK_CHECK_EQ(hk_vm_unmap_range(s.vm, d + PG, 2 * PG), 0);
        HK_CHECK_EQ(hk_pages_free_frames(m.pages), free1 + 2u);
        HK_CHECK(!ref_walk(&m, &s.pt, d + PG, &zpa, &zprot));
        HK_CHECK(!ref_walk(&m, &s.pt, d + 2 * PG, &zpa, &zprot));
        HK_CHECK(ref_walk(&m, &s.pt, d, &zpa, &zprot));
        HK_CHECK(ref_walk(&m, &s.pt, d + 3 * PG, &zpa, &zprot));
        HK_CHECK_EQ(hk_vm_fault(s.vm, d + PG, HK_VM_READ), HK_VM_FAULT_NO_REGION);
        HK_CHECK_EQ(hk_vm_validate(s.vm), 0);
        /* protect over the hole: refused, nothing changes */
        HK_CHECK_EQ(hk_vm_protect(s.vm, d, 4 * PG, HK_VM_READ), HK_EFAULT);
        HK_CHECK(ref_walk(&m, &s.pt, d, &zpa, &zprot) && (zprot & HK_VM_WRITE));
        HK_CHECK_EQ(hk_vm_protect(s.vm, d, PG, 0), HK_EINVAL);
        HK_CHECK_EQ(hk_vm_protect(s.vm, d + 1, PG, HK_VM_READ), HK_EINVAL);
        HK_CHECK_EQ(hk_vm_unmap_range(s.vm, d, 0), HK_EINVAL);
        /* contiguous and shared-out regions are cut whole or not at all */
        hk_vaddr_t c = 0;
        HK_CHECK_EQ(hk_vm_map(s.vm, &c, 4 * PG, 0, RW, HK_VM_IMMEDIATE, HK_VM_CONTIG), 0);
        HK_CHECK_EQ(hk_vm_unmap_range(s.vm, c + PG, PG), HK_EINVAL);
        HK_CHECK_EQ(hk_vm_protect(s.vm, c, PG, HK_VM_READ), HK_EINVAL);
        HK_CHECK_EQ(hk_vm_protect(s.vm, c, 4 * PG, HK_VM_READ), 0);
        HK_REQUIRE(sim_as_init(&t, &m, fmts[f], 0x10000000ull, 0x20000000ull, false));
        hk_vaddr_t sh = 0;
        HK_CHECK_EQ(hk_vm_share(s.vm, d + 3 * PG, t.vm, &sh, HK_VM_READ, 0), 0);
        HK_CHECK_EQ(hk_vm_unmap_range(s.vm, d + 3 * PG, PG), HK_EBUSY);
        HK_CHECK_EQ(hk_vm_protect(t.vm, sh, PG, HK_VM_READ), HK_EINVAL); /* would cut a sharer */
        HK_CHECK_EQ(hk_vm_unmap_range(t.vm, sh, 16 * PG), 0);
        HK_CHECK_EQ(hk_vm_validate(s.vm), 0);
        /* everything: the range covers regions and holes */
        HK_CHECK_EQ(hk_vm_unmap_range(s.vm, d, 0x100000), 0);
        hk_vm_get_stats(s.vm, &st);
        HK_CHECK_EQ(st.regions, 0);
        HK_CHECK_EQ(st.own_frames, 0);
        HK_CHECK_EQ(hk_vm_destroy(t.vm), 0);
        HK_CHECK_EQ(hk_pt_destroy(&t.pt), 0);
        HK_CHECK_EQ(hk_vm_destroy(s.vm), 0);
        HK_CHECK_EQ(hk_pt_destroy(&s.pt), 0);
        HK_CHECK_EQ(hk_pages_free_frames(m.pages), free0);
        HK_CHECK_EQ(hk_pages_validate(m.pages), 0);
    }
}

/* A guard region allows nothing, and says so: mapped with READ, lookup and
 * walk report prot 0. */
static void guard_walk(const hk_vm_region_info_t *r, void *ctx)
{
    unsigned *p = ctx;
    if (r->kind == HK_VM_GUARD)
        *p = r->prot;
}

static void test_vm_guard_prot(void)
{
    sim_mem_t m;
    static sim_as_t s;
    hk_test_capture_errors();
    if (!sim_mem_init(&m, 8)) {
        hk_test_skip("arena too small");
        return;
    }
    HK_REQUIRE(sim_as_init(&s, &m, HK_PT_X86_64, kernel_va[0], kernel_va[0] + 0x100000ull, false));
    hk_vaddr_t g = 0;
    HK_CHECK_EQ(hk_vm_map(s.vm, &g, 2 * PG, 0, HK_VM_READ, HK_VM_GUARD, 0), 0);
    hk_vm_region_info_t ri;
    HK_CHECK_EQ(hk_vm_lookup(s.vm, g + PG, &ri), 0);
    HK_CHECK_EQ(ri.kind, HK_VM_GUARD);
    HK_CHECK_EQ(ri.prot, 0);
    HK_CHECK_EQ(ri.phys, HK_PADDR_NONE);
    unsigned wp = 99;
    hk_vm_walk(s.vm, guard_walk, &wp);
    HK_CHECK_EQ(wp, 0);
    HK_CHECK_EQ(hk_vm_fault(s.vm, g, HK_VM_READ), HK_VM_FAULT_PROTECTION);
    HK_CHECK_EQ(hk_vm_destroy(s.vm), 0);
    HK_CHECK_EQ(hk_pt_destroy(&s.pt), 0);
}

/* ---- the kernel heap over the simulated x86-64 tables -------------------- */

typedef struct {
    const sim_mem_t *m;
    sim_as_t *s;
} kh_access_t;

/* A virtual address of a contiguous region as a host pointer: translate the
 * first page through the reference walker, then the direct map. */
static void *kh_access(void *ctx, hk_vaddr_t va, size_t len)
{
    kh_access_t *k = ctx;
    hk_paddr_t pa, pb;
    unsigned prot;
    hk_vaddr_t last = va + len - 1u;
    if (!ref_walk(k->m, &k->s->pt, va, &pa, &prot) || !ref_walk(k->m, &k->s->pt, last, &pb, &prot) ||
        pb - pa != (last & ~(hk_vaddr_t)(PG - 1u)) - (va & ~(hk_vaddr_t)(PG - 1u)))
        return NULL; /* not mapped, or not contiguous */
    return sim_ptr(k->m, pa + (va & (PG - 1u)));
}

static void test_vm_kheap(void)
{
    sim_mem_t m;
    static sim_as_t s;
    hk_test_capture_errors();
    if (!sim_mem_init(&m, 64)) {
        hk_test_skip("arena too small");
        return;
    }
    uint64_t free0 = hk_pages_free_frames(m.pages);
    HK_REQUIRE(sim_as_init(&s, &m, HK_PT_X86_64, kernel_va[0], kernel_va[0] + 0x10000000ull, false));
    kh_access_t acc = {&m, &s};
    hk_kheap_config_t c = {0};
    c.vm = s.vm;
    c.initial = 4u * PG;
    c.grow_min = 4u * PG;
    c.max_bytes = 40u * PG;
    c.flags = HK_VM_CONTIG;
    c.access = kh_access;
    c.access_ctx = &acc;
    hk_kheap_t *kh = hk_kheap_create(&c);
    HK_REQUIRE(kh != NULL);
    hk_heap_t *h = hk_kheap_heap(kh);
    HK_REQUIRE(h != NULL);
    HK_CHECK_EQ(hk_kheap_regions(kh), 1);
    static uint32_t *blk[200];
    unsigned n = 0, bad = 0;
    hk_rng_t r;
    hk_rng_seed(&r, 0x4ea9);
    /* allocate until the cap stops growth */
    for (n = 0; n < 200u; n++) {
        size_t sz = 64u + (size_t)hk_rng_below(&r, 1500);
        blk[n] = hk_heap_alloc(h, sz);
        if (!blk[n])
            break;
        blk[n][0] = n;
        blk[n][sz / 4u - 1u] = ~n;
    }
    HK_CHECK(n > 20u);
    HK_CHECK(hk_kheap_regions(kh) > 2u);
    HK_CHECK(hk_kheap_mapped_bytes(kh) <= 40u * PG);
    for (unsigned i = 0; i < n; i++)
        bad += blk[i][0] != i;
    HK_CHECK_EQ(bad, 0);
    HK_CHECK_EQ(hk_heap_validate(h), 0);
    HK_CHECK_EQ(hk_vm_validate(s.vm), 0);
    hk_vm_stats_t st;
    hk_vm_get_stats(s.vm, &st);
    HK_CHECK_EQ(st.regions, hk_kheap_regions(kh));
    HK_CHECK_EQ(st.own_frames * PG, hk_kheap_mapped_bytes(kh));
    for (unsigned i = 0; i < n; i++)
        hk_heap_free(h, blk[i]);
    HK_CHECK_EQ(hk_heap_validate(h), 0);
    HK_CHECK_EQ(hk_kheap_destroy(kh), 0);
    hk_vm_get_stats(s.vm, &st);
    HK_CHECK_EQ(st.regions, 0);
    HK_CHECK_EQ(hk_vm_destroy(s.vm), 0);
    HK_CHECK_EQ(hk_pt_destroy(&s.pt), 0);
    HK_CHECK_EQ(hk_pages_free_frames(m.pages), free0);
    /* bad configurations */
    HK_CHECK(hk_kheap_create(NULL) == NULL);
    HK_CHECK_EQ(hk_test_errors.last_code, HK_EINVAL);
}

HK_SUITE(vm_kheap) {
    HK_RUN(test_vm_kheap);
}

HK_SUITE(vm_pt) {
    HK_RUN(test_pt_formats);
    HK_RUN(test_vm_phys_large);
    HK_RUN(test_vm_guard_prot);
}

HK_SUITE(vm) {
    HK_RUN(test_vm_tiny);
    HK_RUN(test_vm_kinds);
    HK_RUN(test_vm_errors);
    HK_RUN(test_vm_share);
    HK_RUN(test_vm_split);
}

HK_SUITE(vm_model) {
    HK_RUN(test_vm_model_x86_64);
    HK_RUN(test_vm_model_sv39);
}
