/* SPDX-License-Identifier: MIT */
/*
 * mpu.c - the portable part of heapkit's MPU support: argument rules and
 * register encodings of PMSAv7 and PMSAv8, domains, the partition fitting
 * used by the heap, pool and stack helpers, and fault decoding. Nothing here
 * touches a register: the encodings are computed into plain words that
 * mpu_cortexm.c copies into the MPU (and that tests/test_mpu.c checks
 * against hand-computed values on every target).
 *
 * The register layouts (ARM DDI 0403E "ARMv7-M Architecture Reference
 * Manual", B3.5; ARM DDI 0553 "ARMv8-M Architecture Reference Manual",
 * B3.5 / D1.2):
 *
 *   PMSAv7 RBAR  ADDR[31:5] | VALID[4] | REGION[3:0]
 *          RASR  XN[28] AP[26:24] TEX[21:19] S[18] C[17] B[16] SRD[15:8]
 *                SIZE[5:1] (region = 2^(SIZE+1) bytes) ENABLE[0]
 *          AP    000 none/none  001 RW/none  010 RW/RO  011 RW/RW
 *                101 RO/none    110 RO/RO    (privileged/unprivileged)
 *   PMSAv8 RBAR  BASE[31:5] | SH[4:3] | AP[2:1] | XN[0]
 *          RLAR  LIMIT[31:5] (inclusive, low bits read as ones) |
 *                AttrIndx[3:1] | EN[0]
 *          AP    00 RW/none  01 RW/RW  10 RO/none  11 RO/RO
 *
 * Worked PMSAv7 subregion example: a 3 KiB heap at 0x20001400. 3 KiB is no
 * power of two, so we look for a region R >= 4 KiB whose eighths (R/8)
 * divide both base and size and that contains the whole range: R = 4 KiB
 * has 512-byte subregions, 0x1400 and 0xC00 are multiples of 512, and
 * [0x20001400, 0x20002000) lies inside the 4 KiB block at 0x20001000.
 * Subregions 2..7 are used (0x400 / 512 = 2, 3 KiB / 512 = 6 of them), so
 * SRD = 0b00000011 = 0x03 and SIZE = log2(4096) - 1 = 11.
 */
#include "heapkit/mpu.h"

#include "common/hk_internal.h"

#define V7_VALID 0x10u
#define V7_XN (1u << 28)
#define V7_NORMAL ((1u << 19) | (1u << 17) | (1u << 16)) /* TEX=001 C=1 B=1 */
#define V7_DEVICE ((1u << 18) | (1u << 16))              /* TEX=000 C=0 B=1 S=1 */
#define V8_XN 1u
#define V8_ATTR_DEVICE (1u << 1)                         /* AttrIndx 1 */

/* CFSR bits (ARMv7-M B3.2.15; ARMv8-M adds STKOF). */
#define CFSR_IACCVIOL (1u << 0)
#define CFSR_DACCVIOL (1u << 1)
#define CFSR_MUNSTKERR (1u << 3)
#define CFSR_MSTKERR (1u << 4)
#define CFSR_MLSPERR (1u << 5)
#define CFSR_MMARVALID (1u << 7)
#define CFSR_IBUSERR (1u << 8)
#define CFSR_BUNSTKERR (1u << 11)
#define CFSR_BSTKERR (1u << 12)
#define CFSR_BFARVALID (1u << 15)
#define CFSR_STKOF (1u << 20)
#define CFSR_MMFSR 0xffu
#define CFSR_BFSR 0xff00u
#define CFSR_UFSR 0xffff0000u

/* ---- ranges ------------------------------------------------------------- */
static uint64_t part_lo(const hk_mpu_partition_t *p)
{
    return (uint64_t)(uintptr_t)p->base;
}

static uint64_t part_hi(const hk_mpu_partition_t *p)
{
    return part_lo(p) + p->size;
}

static bool ranges_meet(const hk_mpu_partition_t *a, const hk_mpu_partition_t *b)
{
    return part_lo(a) < part_hi(b) && part_lo(b) < part_hi(a);
}

static bool range_inside(const hk_mpu_partition_t *in, const hk_mpu_partition_t *out)
{
    return part_lo(in) >= part_lo(out) && part_hi(in) <= part_hi(out);
}

static bool part_contains(const hk_mpu_partition_t *p, uintptr_t addr)
{
    return (uint64_t)addr >= part_lo(p) && (uint64_t)addr < part_hi(p);
}

static unsigned log2_exact(uint64_t x)
{
    unsigned n = 0;
    while (x > 1u) {
        x >>= 1;
        n++;
    }
    return n;
}

static uint64_t pow2_at_least(uint64_t x)
{
    uint64_t r = 1;
    while (r < x)
        r <<= 1;
    return r;
}

/* ---- access attributes ---------------------------------------------------- */
#define ATTR_KNOWN (HK_MPU_PRIV_R | HK_MPU_PRIV_W | HK_MPU_USER_R | HK_MPU_USER_W | HK_MPU_EXEC \
                    | HK_MPU_DEVICE)

/* Rules both architectures share; NULL when attr is acceptable. */
static const char *attr_problem(uint32_t attr)
{
    if (attr & ~ATTR_KNOWN)
        return "mpu: unknown attribute bits";
    if ((attr & HK_MPU_PRIV_W) && !(attr & HK_MPU_PRIV_R))
        return "mpu: privileged write without privileged read is not encodable";
    if ((attr & HK_MPU_USER_W) && !(attr & HK_MPU_USER_R))
        return "mpu: unprivileged write without unprivileged read is not encodable";
    if (((attr & HK_MPU_USER_R) && !(attr & HK_MPU_PRIV_R))
        || ((attr & HK_MPU_USER_W) && !(attr & HK_MPU_PRIV_W)))
        return "mpu: unprivileged access the privileged lack is not encodable";
    if ((attr & HK_MPU_EXEC) && (attr & HK_MPU_DEVICE))
        return "mpu: device memory cannot be executable";
    if ((attr & HK_MPU_EXEC) && !(attr & HK_MPU_PRIV_R))
        return "mpu: executable memory must be readable";
    return NULL;
}

static int v7_ap(uint32_t attr, uint32_t *ap)
{
    switch (attr & (HK_MPU_PRIV_RW | HK_MPU_USER_R | HK_MPU_USER_W)) {
    case 0: *ap = 0; return 0;
    case HK_MPU_PRIV_RW: *ap = 1; return 0;
    case HK_MPU_PRIV_RW | HK_MPU_USER_R: *ap = 2; return 0;
    case HK_MPU_RW: *ap = 3; return 0;
    case HK_MPU_PRIV_R: *ap = 5; return 0;
    case HK_MPU_RO: *ap = 6; return 0;
    default: return -1; /* unreachable after attr_problem */
    }
}

static int v8_ap(uint32_t attr, uint32_t *ap, const char **why)
{
    switch (attr & (HK_MPU_PRIV_RW | HK_MPU_USER_R | HK_MPU_USER_W)) {
    case HK_MPU_PRIV_RW: *ap = 0; return 0;
    case HK_MPU_RW: *ap = 1; return 0;
    case HK_MPU_PRIV_R: *ap = 2; return 0;
    case HK_MPU_RO: *ap = 3; return 0;
    case 0: *why = "PMSAv8: no access is not encodable (use HK_MPU_PRIV_R for a guard)"; return -1;
    default:
        *why = "PMSAv8: privileged write with unprivileged read-only is not encodable";
        return -1;
    }
}

/* ---- PMSAv7 sizing ---------------------------------------------------------
 * Finds the region (base rb, size 2^n) and subregion-disable mask srd that
 * cover exactly [base, base + size). See the worked example at the top. */
static const char *v7_region(uint64_t base, uint64_t size, uint64_t *rb, unsigned *n, uint32_t *srd)
{
    if (size < 32u)
        return "PMSAv7: size below 32 bytes";
    if (hk__is_pow2((size_t)size) && size == (uint64_t)(size_t)size && base % size == 0) {
        *rb = base;
        *n = log2_exact(size);
        *srd = 0;
        return NULL;
    }
    for (uint64_t r = pow2_at_least(size < 256u ? 256u : size); r <= (1ull << 31); r <<= 1) {
        uint64_t sub = r / 8u;
        if (base % sub || size % sub)
            break; /* larger regions have coarser subregions: no hope */
        uint64_t lo = base & ~(r - 1u);
        if (base + size <= lo + r) {
            unsigned first = (unsigned)((base - lo) / sub), count = (unsigned)(size / sub);
            uint32_t used = ((1u << count) - 1u) << first;
            *rb = lo;
            *n = log2_exact(r);
            *srd = ~used & 0xffu;
            return NULL;
        }
    }
    if (hk__is_pow2((size_t)size) && size < 256u)
        return "PMSAv7: base not aligned to the size (a power of two)";
    return "PMSAv7: not a power of two aligned to its size, nor 1/8 multiples of a 256 B+ region";
}

/* The encoding without the report: returns 0 or the error code, with the
 * reason in *why. */
static int encode(hk_mpu_arch_t arch, const hk_mpu_partition_t *p, unsigned region,
                  hk_mpu_region_t *out, const char **why)
{
    *why = NULL;
    if (region > 15u) {
        *why = "mpu encode: region number above 15";
        return HK_ERANGE;
    }
    uint64_t base = part_lo(p), size = p->size;
    *why = attr_problem(p->attr);
    if (!*why && base + size > (1ull << 32))
        *why = "mpu: partition beyond the 32-bit address space";
    if (!*why && arch != HK_MPU_PMSAV7 && arch != HK_MPU_PMSAV8)
        *why = "mpu: unknown architecture";
    if (*why)
        return HK_EINVAL;
    uint32_t ap = 0;
    if (arch == HK_MPU_PMSAV7) {
        uint64_t rb = 0;
        unsigned n = 1;
        uint32_t srd = 0;
        *why = v7_region(base, size, &rb, &n, &srd);
        if (!*why && v7_ap(p->attr, &ap) != 0)
            *why = "PMSAv7: attributes not encodable";
        if (*why)
            return HK_EINVAL;
        out->rbar = (uint32_t)rb | V7_VALID | region;
        out->rasr = (p->attr & HK_MPU_EXEC ? 0u : V7_XN) | ap << 24
                    | (p->attr & HK_MPU_DEVICE ? V7_DEVICE : V7_NORMAL) | srd << 8
                    | (uint32_t)(n - 1u) << 1 | 1u;
        return HK_OK;
    }
    if (base % 32u || size % 32u || size == 0)
        *why = "PMSAv8: base and size must be non-zero multiples of 32 bytes";
    else
        (void)v8_ap(p->attr, &ap, why);
    if (*why)
        return HK_EINVAL;
    out->rbar = (uint32_t)base | ap << 1 | (p->attr & HK_MPU_EXEC ? 0u : V8_XN);
    out->rasr = ((uint32_t)(base + size - 1u) & ~31u)
                | (p->attr & HK_MPU_DEVICE ? V8_ATTR_DEVICE : 0u) | 1u;
    return HK_OK;
}

int hk_mpu_encode(hk_mpu_arch_t arch, const hk_mpu_partition_t *p, unsigned region,
                  hk_mpu_region_t *out)
{
    if (!p || !out) {
        hk__report(HK_EINVAL, p, "mpu encode: NULL argument");
        return HK_EINVAL;
    }
    const char *why;
    int rc = encode(arch, p, region, out, &why);
    if (rc)
        hk__report(rc, p->base, why);
    return rc;
}

/* ---- fitting a partition into memory --------------------------------------- */
int hk_mpu_fit(hk_mpu_arch_t arch, void *mem, size_t bytes, size_t want, uint32_t attr,
               hk_mpu_partition_t *out)
{
    if (!mem || !out || want == 0 || (arch != HK_MPU_PMSAV7 && arch != HK_MPU_PMSAV8)) {
        hk__report(HK_EINVAL, mem,
                   "mpu fit: NULL memory or result, zero size or unknown architecture");
        return HK_EINVAL;
    }
    uint64_t lo = (uint64_t)(uintptr_t)mem, hi = lo + bytes;
    uint64_t best_base = 0, best_size = 0;
    if (arch == HK_MPU_PMSAV8) {
        best_base = (lo + 31u) & ~(uint64_t)31u;
        best_size = ((uint64_t)want + 31u) & ~(uint64_t)31u;
        if (best_base + best_size > hi)
            best_size = 0;
    } else {
        uint64_t w = want < 32u ? 32u : want;
        for (uint64_t r = pow2_at_least(w); r <= (1ull << 31) && r / 8u <= w; r <<= 1) {
            uint64_t sub = r < 256u ? r : r / 8u;
            uint64_t size = (w + sub - 1u) & ~(sub - 1u);
            uint64_t base = (lo + sub - 1u) & ~(sub - 1u);
            if ((base & ~(r - 1u)) != ((base + size - 1u) & ~(r - 1u)))
                base = (lo + r - 1u) & ~(r - 1u); /* would straddle two regions */
            if (base + size <= hi
                && (!best_size || size < best_size || (size == best_size && base < best_base))) {
                best_base = base;
                best_size = size;
            }
        }
    }
    if (!best_size) {
        hk__report(HK_ENOMEM, mem, "mpu fit: no encodable partition of that size fits");
        return HK_ENOMEM;
    }
    out->base = (void *)(uintptr_t)best_base;
    out->size = (size_t)best_size;
    out->attr = attr;
    out->name = NULL;
    return HK_OK;
}

/* ---- the MPU and domains ------------------------------------------------------ */
int hk_mpu_init(hk_mpu_t *mpu, hk_mpu_arch_t arch, unsigned regions,
                const hk_mpu_partition_t *const *fixed, size_t nfixed)
{
    if (!mpu || (nfixed && !fixed)) {
        hk__report(HK_EINVAL, mpu, "mpu init: NULL argument");
        return HK_EINVAL;
    }
    if (regions == 0 || regions > 16u || nfixed > HK_MPU_FIXED_MAX || nfixed > regions) {
        hk__report(HK_ERANGE, mpu, "mpu init: regions not 1..16 or too many fixed partitions");
        return HK_ERANGE;
    }
    hk_mpu_t m = { arch, (uint8_t)regions, (uint8_t)nfixed, { NULL }, { { 0, 0 } } };
    for (size_t i = 0; i < nfixed; i++) {
        int rc = hk_mpu_encode(arch, fixed[i], (unsigned)i, &m.fixed_regs[i]);
        if (rc)
            return rc;
        for (size_t j = 0; arch == HK_MPU_PMSAV8 && j < i; j++) {
            if (ranges_meet(fixed[i], fixed[j])) {
                hk__report(HK_EOVERLAP, fixed[i]->base, "PMSAv8: fixed partitions overlap");
                return HK_EOVERLAP;
            }
        }
        m.fixed_parts[i] = fixed[i];
    }
    *mpu = m;
    return HK_OK;
}

int hk_mpu_domain_init(hk_mpu_domain_t *d, const hk_mpu_t *mpu, const char *name)
{
    if (!d || !mpu) {
        hk__report(HK_EINVAL, d, "mpu domain init: NULL argument");
        return HK_EINVAL;
    }
    d->mpu = mpu;
    d->name = name;
    d->count = 0;
    for (unsigned i = 0; i < HK_MPU_DOMAIN_MAX; i++) {
        d->parts[i] = NULL;
        d->regs[i].rbar = d->regs[i].rasr = 0;
    }
    return HK_OK;
}

/* NULL when p may join d, else the reason (and *code). */
static const char *domain_conflict(const hk_mpu_domain_t *d, const hk_mpu_partition_t *p, int *code)
{
    const hk_mpu_t *m = d->mpu;
    *code = HK_EOVERLAP;
    for (unsigned i = 0; i < d->count; i++) {
        if (d->parts[i] == p) {
            *code = HK_EINVAL;
            return "mpu domain add: partition already in the domain";
        }
        if (!ranges_meet(p, d->parts[i]))
            continue;
        if (m->arch == HK_MPU_PMSAV8)
            return "PMSAv8: partitions of a domain may not overlap";
        if (!range_inside(p, d->parts[i]))
            return "PMSAv7: overlapping partitions must nest (a later one inside an earlier one)";
    }
    for (unsigned i = 0; m->arch == HK_MPU_PMSAV8 && i < m->fixed; i++)
        if (ranges_meet(p, m->fixed_parts[i]))
            return "PMSAv8: a domain partition may not overlap a fixed partition";
    if (d->count >= HK_MPU_DOMAIN_MAX || m->fixed + d->count + 1u > m->regions) {
        *code = HK_ERANGE;
        return "mpu domain add: too many regions";
    }
    return NULL;
}

int hk_mpu_domain_add(hk_mpu_domain_t *d, const hk_mpu_partition_t *p)
{
    if (!d || !d->mpu || !p) {
        hk__report(HK_EINVAL, p, "mpu domain add: NULL domain or partition");
        return HK_EINVAL;
    }
    int code;
    const char *why = domain_conflict(d, p, &code);
    if (why) {
        hk__report(code, p->base, why);
        return code;
    }
    int rc = hk_mpu_encode(d->mpu->arch, p, d->mpu->fixed + d->count, &d->regs[d->count]);
    if (rc)
        return rc;
    d->parts[d->count++] = p;
    return HK_OK;
}

int hk_mpu_domain_remove(hk_mpu_domain_t *d, const hk_mpu_partition_t *p)
{
    unsigned i = 0;
    while (d && p && i < d->count && d->parts[i] != p)
        i++;
    if (!d || !d->mpu || !p || i == d->count) {
        hk__report(HK_EINVAL, p, "mpu domain remove: partition not in the domain");
        return HK_EINVAL;
    }
    for (; i + 1u < d->count; i++) {
        d->parts[i] = d->parts[i + 1u];
        /* encodable before, so encodable in the region below */
        const char *why;
        (void)encode(d->mpu->arch, d->parts[i], d->mpu->fixed + i, &d->regs[i], &why);
    }
    d->count--;
    d->parts[d->count] = NULL;
    d->regs[d->count].rbar = d->regs[d->count].rasr = 0;
    return HK_OK;
}

const hk_mpu_partition_t *hk_mpu_domain_find(const hk_mpu_domain_t *d, uintptr_t addr)
{
    if (!d)
        return NULL;
    /* later partitions win (PMSAv7 nesting), so search from the top */
    for (unsigned i = d->count; i-- > 0;)
        if (part_contains(d->parts[i], addr))
            return d->parts[i];
    for (unsigned i = d->mpu ? d->mpu->fixed : 0u; i-- > 0;)
        if (part_contains(d->mpu->fixed_parts[i], addr))
            return d->mpu->fixed_parts[i];
    return NULL;
}

/* ---- loading a domain ------------------------------------------------------------ */
unsigned hk_mpu_load(volatile uint32_t *regs, const hk_mpu_t *mpu, const hk_mpu_domain_t *d,
                     unsigned stale)
{
    unsigned n = d ? d->count : 0u, r = mpu->fixed;
    if (stale > mpu->regions)
        stale = mpu->regions;
    if (mpu->arch == HK_MPU_PMSAV7) {
        /* RBAR with VALID selects the region: no RNR write */
        for (unsigned i = 0; i < n; i++, r++) {
            regs[3] = d->regs[i].rbar;
            regs[4] = d->regs[i].rasr;
        }
        for (unsigned k = r; k < stale; k++) {
            regs[3] = V7_VALID | k;
            regs[4] = 0;
        }
        return r;
    }
    for (unsigned i = 0; i < n; i++, r++) {
        regs[2] = r;
        regs[3] = d->regs[i].rbar;
        regs[4] = d->regs[i].rasr;
    }
    for (unsigned k = r; k < stale; k++) {
        regs[2] = k;
        regs[4] = 0;
    }
    return r;
}

/* ---- heaps, pools and stacks -------------------------------------------------------- */
hk_heap_t *hk_mpu_heap_init(hk_mpu_partition_t *part, hk_mpu_arch_t arch, void *mem, size_t avail,
                            size_t bytes, uint32_t attr, const char *name,
                            const hk_heap_config_t *cfg)
{
    if (!part || hk_mpu_fit(arch, mem, avail, bytes, attr, part) != HK_OK)
        return NULL;
    part->name = name;
    return hk_heap_init(part->base, part->size, cfg);
}

hk_pool_t *hk_mpu_pool_init(hk_mpu_partition_t *part, hk_mpu_arch_t arch, void *mem, size_t avail,
                            size_t bytes, size_t block_size, size_t align, uint32_t attr,
                            const char *name)
{
    if (!part || hk_mpu_fit(arch, mem, avail, bytes, attr, part) != HK_OK)
        return NULL;
    part->name = name;
    uintptr_t lo = hk__align_up_ptr((uintptr_t)part->base, _Alignof(hk_pool_t));
    uintptr_t end = (uintptr_t)part->base + part->size;
    if (lo + sizeof(hk_pool_t) > end) {
        hk__report(HK_ENOMEM, mem, "mpu pool init: partition too small for the pool");
        return NULL;
    }
    hk_pool_t *pool = (hk_pool_t *)lo;
    void *buf = (void *)(lo + sizeof(hk_pool_t));
    if (hk_pool_init(pool, buf, (size_t)(end - (uintptr_t)buf), block_size, align, NULL) != HK_OK)
        return NULL;
    return pool;
}

static uint32_t guard_attr(hk_mpu_arch_t arch)
{
    return arch == HK_MPU_PMSAV7 ? HK_MPU_NO_ACCESS : HK_MPU_PRIV_R;
}

int hk_mpu_stacks_init(hk_mpu_stacks_t *s, hk_mpu_arch_t arch, void *mem, size_t bytes,
                       size_t block_size, size_t guard, const hk_lock_t *lock)
{
    if (!s || !mem) {
        hk__report(HK_EINVAL, mem, "mpu stacks: NULL argument");
        return HK_EINVAL;
    }
    /* Trial encodings at an address aligned like every block will be. */
    uintptr_t at = block_size;
    hk_mpu_partition_t g = { (void *)at, guard, guard_attr(arch), NULL };
    hk_mpu_partition_t st = { (void *)(at + guard), block_size - guard, HK_MPU_RW, NULL };
    hk_mpu_region_t r;
    const char *why;
    if (guard == 0 || guard >= block_size || !hk__is_pow2(block_size)
        || encode(arch, &g, 0, &r, &why) || encode(arch, &st, 0, &r, &why)) {
        hk__report(HK_EINVAL, mem, arch == HK_MPU_PMSAV7
                   ? "PMSAv7 stacks: block a power of two >= 256, guard a power of two and a "
                     "multiple of block / 8"
                   : "PMSAv8 stacks: block a power of two, guard a multiple of 32 below it");
        return HK_EINVAL;
    }
    hk_stack_config_t cfg = { block_size - guard, guard,
                              arch == HK_MPU_PMSAV7 ? block_size : 32u, 0, lock };
    int rc = hk_stack_pool_init(&s->pool, mem, bytes, &cfg);
    if (rc)
        return rc;
    s->arch = arch;
    s->block = block_size;
    s->guard = guard;
    return HK_OK;
}

void *hk_mpu_stack_acquire(hk_mpu_stacks_t *s, hk_mpu_partition_t *stack_part,
                           hk_mpu_partition_t *guard_part, const char *name)
{
    if (!s || !stack_part || !guard_part) {
        hk__report(HK_EINVAL, s, "mpu stack acquire: NULL argument");
        return NULL;
    }
    unsigned char *stack = hk_stack_acquire(&s->pool);
    if (!stack)
        return NULL;
    guard_part->base = stack - s->guard;
    guard_part->size = s->guard;
    guard_part->attr = guard_attr(s->arch);
    guard_part->name = name;
    stack_part->base = stack;
    stack_part->size = hk_stack_size(&s->pool);
    stack_part->attr = HK_MPU_RW;
    stack_part->name = name;
    return stack;
}

/* ---- faults ---------------------------------------------------------------------------- */
const char *hk_mpu_cause_name(hk_mpu_cause_t cause)
{
    switch (cause) {
    case HK_MPU_FAULT_NONE: return "no fault";
    case HK_MPU_FAULT_DATA: return "data access violation";
    case HK_MPU_FAULT_EXEC: return "instruction fetch violation";
    case HK_MPU_FAULT_STACKING: return "violation while stacking an exception frame";
    case HK_MPU_FAULT_UNSTACKING: return "violation while unstacking an exception frame";
    case HK_MPU_FAULT_BUS: return "bus fault";
    case HK_MPU_FAULT_USAGE: return "usage fault";
    case HK_MPU_FAULT_STACK_LIMIT: return "stack limit exceeded";
    }
    return "unknown fault";
}

void hk_mpu_fault_decode(uint32_t cfsr, uint32_t mmfar, uint32_t bfar, uintptr_t pc,
                         uintptr_t sp, const hk_mpu_domain_t *current,
                         const hk_mpu_domain_t *const *domains, size_t n, hk_mpu_fault_t *out)
{
    if (!out)
        return;
    hk_mpu_fault_t f = { HK_MPU_FAULT_NONE, cfsr, 0, false, NULL, NULL };
    bool known = true; /* addr means something (even if not the exact address) */
    if (cfsr & CFSR_IACCVIOL) {
        f.cause = HK_MPU_FAULT_EXEC;
        f.addr = pc;
        f.addr_valid = pc != 0;
        known = f.addr_valid;
    } else if ((cfsr & CFSR_DACCVIOL) && (cfsr & CFSR_MMARVALID)) {
        /* also when the stacking that followed failed (a push into a guard
         * sets DACCVIOL, then MSTKERR): the address is the exact one */
        f.cause = HK_MPU_FAULT_DATA;
        f.addr_valid = true;
        f.addr = mmfar;
    } else if (cfsr & (CFSR_MSTKERR | CFSR_MLSPERR)) {
        f.cause = HK_MPU_FAULT_STACKING;
        f.addr = sp;
    } else if (cfsr & CFSR_MUNSTKERR) {
        f.cause = HK_MPU_FAULT_UNSTACKING;
        f.addr = sp;
    } else if (cfsr & CFSR_DACCVIOL) {
        f.cause = HK_MPU_FAULT_DATA;
        f.addr = pc;
        known = pc != 0;
    } else if (cfsr & CFSR_BFSR) {
        f.cause = HK_MPU_FAULT_BUS;
        f.addr_valid = (cfsr & CFSR_BFARVALID) != 0;
        if (f.addr_valid)
            f.addr = bfar;
        else if (cfsr & CFSR_IBUSERR)
            f.addr = pc;
        else if (cfsr & (CFSR_BSTKERR | CFSR_BUNSTKERR))
            f.addr = sp;
        else
            known = false; /* imprecise: the address is lost */
    } else if (cfsr & CFSR_STKOF) {
        f.cause = HK_MPU_FAULT_STACK_LIMIT;
        f.addr = sp;
    } else if (cfsr & CFSR_UFSR) {
        f.cause = HK_MPU_FAULT_USAGE;
        f.addr = pc; /* the instruction that faulted */
        f.addr_valid = pc != 0;
        known = f.addr_valid;
    } else {
        known = false;
    }
    if (known) {
        f.part = hk_mpu_domain_find(current, f.addr);
        if (f.part && current) {
            bool fixed = false;
            for (unsigned i = 0; current->mpu && i < current->mpu->fixed; i++)
                fixed |= current->mpu->fixed_parts[i] == f.part;
            f.domain = fixed ? NULL : current;
        }
        for (size_t i = 0; !f.part && domains && i < n; i++) {
            for (unsigned j = domains[i] ? domains[i]->count : 0u; j-- > 0;) {
                if (part_contains(domains[i]->parts[j], f.addr)) {
                    f.part = domains[i]->parts[j];
                    f.domain = domains[i];
                    break;
                }
            }
        }
    }
    *out = f;
}
