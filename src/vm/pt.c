/* SPDX-License-Identifier: MIT */
/*
 * pt.c - radix page tables in the x86-64 and RISC-V Sv39 formats, as an
 * hk_vm port.
 *
 * Both formats are the same machine with different labels: a tree of 4 KiB
 * tables of 512 eight-byte entries, each level translating 9 bits of the
 * virtual address, the last 12 bits being the offset in the page.
 *
 *     x86-64 (4 levels, 48 bits)        Sv39 (3 levels, 39 bits)
 *     47..39 PML4 index   level 4
 *     38..30 PDPT index   level 3        38..30 VPN[2]   level 3
 *     29..21 PD index     level 2        29..21 VPN[1]   level 2
 *     20..12 PT index     level 1        20..12 VPN[0]   level 1
 *
 *   index(va, level) = (va >> (12 + 9 * (level - 1))) & 511
 *
 * Worked example: va 0x0000 7fff ffff f000 on x86-64 has PML4 index 255,
 * PDPT 511, PD 511, PT 511. Addresses must be canonical: the bits above the
 * top translated bit are copies of it (x86-64: 63..47, Sv39: 63..38).
 *
 * The formats differ only in the entry encoding, so each is a small table
 * of entry functions (fmt_t) and the walk is shared. Entry layouts:
 *   x86-64: P(0) RW(1) US(2) PWT(3) PCD(4) A(5) D(6) PS(7) G(8),
 *           physical address in 51..12, NX(63)           (Intel SDM 3A, 4.5)
 *   Sv39:   V(0) R(1) W(2) X(3) U(4) G(5) A(6) D(7), RSW 9..8,
 *           PPN in 53..10 (= pa >> 12 << 10); R=W=X=0 means "next level"
 *                                          (RISC-V privileged spec, 4.3-4.4)
 *
 * Large leaves: an entry at level 2 (2 MiB) or 3 (1 GiB) that maps instead
 * of pointing further: x86-64 sets PS (bit 7); Sv39 just sets R/W/X there
 * (and the PPN must be aligned to the leaf, else the MMU faults). A walk
 * stops at the first leaf, so query, unmap and prune work at any level.
 *
 * Table pages are freed when they become empty (prune), so a tree whose
 * leaves were all removed is back to a single root table.
 */
#include "heapkit/vm_pt.h"

#include "common/hk_internal.h"

#define PT_ENTRIES 512u
#define PT_SHIFT 12u

typedef struct {
    uint64_t (*large)(uint64_t leaf); /* a leaf entry made a large leaf */
    unsigned levels;
    unsigned va_bits;
    unsigned pa_bits; /* physical addresses the entry format can hold */
    uint64_t (*leaf)(hk_paddr_t pa, unsigned prot);
    uint64_t (*table)(hk_paddr_t pa);
    bool (*present)(uint64_t e);
    bool (*is_leaf)(uint64_t e, unsigned level);
    hk_paddr_t (*addr)(uint64_t e);
    unsigned (*prot)(uint64_t e);
} fmt_t;

/* ---- x86-64 entries ------------------------------------------------------ */
#define X86_P (1ull << 0)
#define X86_RW (1ull << 1)
#define X86_US (1ull << 2)
#define X86_PS (1ull << 7)
#define X86_NX (1ull << 63)
#define X86_ADDR 0x000ffffffffff000ull

static uint64_t x86_leaf(hk_paddr_t pa, unsigned prot)
{
    return X86_P | (pa & X86_ADDR) | ((prot & HK_VM_WRITE) ? X86_RW : 0u) |
           ((prot & HK_VM_USER) ? X86_US : 0u) | ((prot & HK_VM_EXEC) ? 0u : X86_NX);
}
static uint64_t x86_table(hk_paddr_t pa) { return X86_P | X86_RW | X86_US | (pa & X86_ADDR); }
static uint64_t x86_large(uint64_t leaf) { return leaf | X86_PS; }
static bool x86_present(uint64_t e) { return (e & X86_P) != 0; }
static bool x86_is_leaf(uint64_t e, unsigned level) { return level == 1 || (e & X86_PS); }
static hk_paddr_t x86_addr(uint64_t e) { return e & X86_ADDR; }
static unsigned x86_prot(uint64_t e)
{
    return HK_VM_READ | ((e & X86_RW) ? HK_VM_WRITE : 0u) | ((e & X86_US) ? HK_VM_USER : 0u) |
           ((e & X86_NX) ? 0u : HK_VM_EXEC);
}

/* ---- Sv39 entries -------------------------------------------------------- */
#define SV_V (1ull << 0)
#define SV_R (1ull << 1)
#define SV_W (1ull << 2)
#define SV_X (1ull << 3)
#define SV_U (1ull << 4)
#define SV_A (1ull << 6)
#define SV_D (1ull << 7)
#define SV_PPN_MASK ((1ull << 44) - 1u)

static uint64_t sv_ppn(hk_paddr_t pa) { return ((pa >> PT_SHIFT) & SV_PPN_MASK) << 10; }
static uint64_t sv_leaf(hk_paddr_t pa, unsigned prot)
{
    return SV_V | SV_A | SV_D | sv_ppn(pa) | ((prot & (HK_VM_READ | HK_VM_WRITE)) ? SV_R : 0u) |
           ((prot & HK_VM_WRITE) ? SV_W : 0u) | ((prot & HK_VM_EXEC) ? SV_X : 0u) |
           ((prot & HK_VM_USER) ? SV_U : 0u);
}
static uint64_t sv_large(uint64_t leaf) { return leaf; } /* R/W/X at any level is a leaf */
static uint64_t sv_table(hk_paddr_t pa) { return SV_V | sv_ppn(pa); }
static bool sv_present(uint64_t e) { return (e & SV_V) != 0; }
static bool sv_is_leaf(uint64_t e, unsigned level) { (void)level; return (e & (SV_R | SV_X)) != 0; }
static hk_paddr_t sv_addr(uint64_t e) { return ((e >> 10) & SV_PPN_MASK) << PT_SHIFT; }
static unsigned sv_prot(uint64_t e)
{
    return ((e & SV_R) ? HK_VM_READ : 0u) | ((e & SV_W) ? HK_VM_WRITE : 0u) |
           ((e & SV_X) ? HK_VM_EXEC : 0u) | ((e & SV_U) ? HK_VM_USER : 0u);
}

static const fmt_t formats[2] = {
    {x86_large, 4, 48, 52, x86_leaf, x86_table, x86_present, x86_is_leaf, x86_addr, x86_prot},
    {sv_large, 3, 39, 56, sv_leaf, sv_table, sv_present, sv_is_leaf, sv_addr, sv_prot},
};

/* ---- small accessors -------------------------------------------------------- */

static const fmt_t *pt_fmt(const hk_pt_t *pt) { return &formats[pt->format]; }

static uint64_t *table_at(const hk_pt_t *pt, hk_paddr_t pa)
{
    return (uint64_t *)((uintptr_t)pa + pt->direct_map);
}

static unsigned va_index(hk_vaddr_t va, unsigned level)
{
    return (unsigned)(va >> (PT_SHIFT + 9u * (level - 1u))) & (PT_ENTRIES - 1u);
}

bool hk_pt_canonical(const hk_pt_t *pt, hk_vaddr_t va)
{
    if (!pt)
        return false;
    unsigned top = pt_fmt(pt)->va_bits - 1u;
    uint64_t high = va >> top; /* bit top and everything above it */
    return high == 0 || high == (UINT64_MAX >> top);
}

static bool table_empty(const uint64_t *t)
{
    for (unsigned i = 0; i < PT_ENTRIES; i++)
        if (t[i])
            return false;
    return true;
}

static hk_paddr_t table_new(hk_pt_t *pt)
{
    hk_paddr_t pa = hk_pages_alloc(pt->pages, 0);
    if (pa != HK_PADDR_NONE) {
        hk__memset(table_at(pt, pa), 0, PT_ENTRIES * sizeof(uint64_t));
        pt->tables++;
    }
    return pa;
}

/* Walks from the root toward va's leaf, recording the table of each level
 * (path[level]). Stops at the first entry that is not present or is a leaf;
 * returns the level of that entry (1 for a normal leaf). */
static unsigned walk(const hk_pt_t *pt, hk_vaddr_t va, hk_paddr_t path[5])
{
    const fmt_t *f = pt_fmt(pt);
    hk_paddr_t t = pt->root;
    unsigned level = f->levels;
    for (;;) {
        path[level] = t;
        uint64_t e = table_at(pt, t)[va_index(va, level)];
        if (level == 1 || !f->present(e) || f->is_leaf(e, level))
            return level;
        t = f->addr(e);
        level--;
    }
}

/* Frees the empty tables on va's path, bottom up (never the root). */
static void prune(hk_pt_t *pt, hk_vaddr_t va)
{
    const fmt_t *f = pt_fmt(pt);
    hk_paddr_t path[5];
    unsigned stop = walk(pt, va, path);
    for (unsigned level = stop; level < f->levels; level++) {
        if (!table_empty(table_at(pt, path[level])))
            return;
        table_at(pt, path[level + 1u])[va_index(va, level + 1u)] = 0;
        hk_pages_free(pt->pages, path[level], 0);
        pt->tables--;
    }
}

/* ---- the port ------------------------------------------------------------- */

/* Installs a leaf for va at level (1: a 4 KiB page, 2: 2 MiB, 3: 1 GiB),
 * making the tables above it. */
static int pt_map_at(hk_pt_t *pt, hk_vaddr_t va, hk_paddr_t pa, unsigned prot, unsigned level)
{
    const fmt_t *f = pt_fmt(pt);
    uint64_t span = (uint64_t)1 << (PT_SHIFT + 9u * (level - 1u));
    if (!hk_pt_canonical(pt, va) || ((va | pa) & (span - 1u)) || (pa >> f->pa_bits))
        return HK_EINVAL;
    hk_paddr_t t = pt->root;
    for (unsigned l = f->levels; l > level; l--) {
        uint64_t *e = &table_at(pt, t)[va_index(va, l)];
        if (!f->present(*e)) {
            hk_paddr_t nt = table_new(pt);
            if (nt == HK_PADDR_NONE) {
                prune(pt, va);
                return HK_ENOMEM;
            }
            *e = f->table(nt);
        } else if (f->is_leaf(*e, l)) {
            return HK_EBUSY; /* inside a large page */
        }
        t = f->addr(*e);
    }
    uint64_t *leaf = &table_at(pt, t)[va_index(va, level)];
    if (f->present(*leaf) && !f->is_leaf(*leaf, level))
        return HK_EBUSY; /* a table of smaller pages is there */
    if (!f->present(*leaf))
        pt->leaves++;
    *leaf = level > 1 ? f->large(f->leaf(pa, prot)) : f->leaf(pa, prot);
    return 0;
}

static int pt_map(void *ctx, hk_vaddr_t va, hk_paddr_t pa, unsigned prot)
{
    return pt_map_at(ctx, va, pa, prot, 1);
}

static int pt_map_large(void *ctx, hk_vaddr_t va, hk_paddr_t pa, unsigned prot, uint64_t size)
{
    hk_pt_t *pt = ctx;
    for (unsigned level = 2; level <= 3; level++)
        if (size == (uint64_t)1 << (PT_SHIFT + 9u * (level - 1u)) && (pt->large_sizes & size))
            return pt_map_at(pt, va, pa, prot, level);
    return HK_EINVAL;
}

static void pt_unmap(void *ctx, hk_vaddr_t va)
{
    hk_pt_t *pt = ctx;
    if (!hk_pt_canonical(pt, va))
        return;
    const fmt_t *f = pt_fmt(pt);
    hk_paddr_t path[5];
    unsigned level = walk(pt, va, path);
    uint64_t *leaf = &table_at(pt, path[level])[va_index(va, level)];
    if (!f->present(*leaf) || !f->is_leaf(*leaf, level))
        return; /* not mapped (a large leaf is removed whole) */
    *leaf = 0;
    pt->leaves--;
    prune(pt, va);
}

static bool pt_query(void *ctx, hk_vaddr_t va, hk_paddr_t *pa, unsigned *prot)
{
    const hk_pt_t *pt = ctx;
    const fmt_t *f = pt_fmt(pt);
    if (!hk_pt_canonical(pt, va))
        return false;
    hk_paddr_t path[5];
    unsigned level = walk(pt, va, path);
    uint64_t e = table_at(pt, path[level])[va_index(va, level)];
    if (!f->present(e) || !f->is_leaf(e, level))
        return false;
    uint64_t span = (uint64_t)1 << (PT_SHIFT + 9u * (level - 1u));
    *pa = f->addr(e) + (va & (span - 1u) & ~(uint64_t)((1u << PT_SHIFT) - 1u));
    *prot = f->prot(e);
    return true;
}

static void pt_flush(void *ctx, hk_vaddr_t va, uint64_t len)
{
    hk_pt_t *pt = ctx;
    pt->flushes++;
    if (pt->flush_hook)
        pt->flush_hook(pt->flush_ctx, va, len);
}

static void pt_zero(void *ctx, hk_paddr_t pa, size_t len)
{
    const hk_pt_t *pt = ctx;
    hk__memset(table_at(pt, pa), 0, len);
}

/* ---- public ------------------------------------------------------------------ */

int hk_pt_init(hk_pt_t *pt, hk_pt_format_t format, hk_pages_t *pages, uintptr_t direct_map)
{
    if (!pt || !pages || (format != HK_PT_X86_64 && format != HK_PT_SV39) ||
        hk_pages_frame_size(pages) != (1u << PT_SHIFT)) {
        hk__report(HK_EINVAL, pt, "pt: NULL, unknown format, or frames are not 4 KiB");
        return HK_EINVAL;
    }
    hk__memset(pt, 0, sizeof *pt);
    pt->format = format;
    pt->pages = pages;
    pt->direct_map = direct_map;
    pt->large_sizes = HK_PT_LARGE_2M | HK_PT_LARGE_1G;
    pt->root = table_new(pt);
    if (pt->root == HK_PADDR_NONE) {
        hk__report(HK_ENOMEM, pt, "pt: no frame for the root table");
        return HK_ENOMEM;
    }
    return 0;
}

void hk_pt_port(hk_pt_t *pt, hk_vm_port_t *out)
{
    if (!out)
        return;
    out->map = pt_map;
    out->unmap = pt_unmap;
    out->query = pt_query;
    out->flush = pt_flush;
    out->zero = pt_zero;
    out->ctx = pt;
    out->map_large = pt->large_sizes ? pt_map_large : NULL;
    out->large_sizes = pt->large_sizes;
}

hk_paddr_t hk_pt_root(const hk_pt_t *pt)
{
    return pt ? pt->root : HK_PADDR_NONE;
}

uint64_t hk_pt_satp(const hk_pt_t *pt, uint16_t asid)
{
    if (!pt || pt->format != HK_PT_SV39)
        return 0;
    return (8ull << 60) | ((uint64_t)asid << 44) | (pt->root >> PT_SHIFT);
}

int hk_pt_destroy(hk_pt_t *pt)
{
    if (!pt || pt->root == HK_PADDR_NONE)
        return HK_EINVAL;
    if (pt->leaves) {
        hk__report(HK_EBUSY, pt, "pt: destroy with pages still mapped (unmap the regions first)");
        return HK_EBUSY;
    }
    /* With no leaves, prune has left only the root. */
    HK_ASSERT(pt->tables == 1);
    hk_pages_free(pt->pages, pt->root, 0);
    pt->root = HK_PADDR_NONE;
    pt->tables = 0;
    return 0;
}
