/* SPDX-License-Identifier: MIT */
/*
 * pages.c - heapkit's physical page-frame allocator: a binary buddy system.
 *
 * The algorithm (Knowlton, "A fast storage allocator", CACM 1965; Knuth,
 * TAOCP vol. 1, 2.5; the shape of Linux's mm/page_alloc.c with one free_area
 * list per order):
 *
 *   Memory is handed out in blocks of 2^k frames ("order k"), and a block of
 *   order k always starts at a frame number that is a multiple of 2^k. Every
 *   such block has exactly one "buddy": the other half of the order k+1
 *   block that contains it. Because of the alignment the buddy's frame number
 *   is one XOR away:
 *
 *       buddy(pfn, k) = pfn ^ (1 << k)
 *
 *   Worked example, order 2 (4 frames): the block at pfn 0x104 has its buddy
 *   at 0x104 ^ 0x4 = 0x100, and the block at 0x100 has its buddy at 0x104.
 *   Together they form the order 3 block at 0x100 (= min of the two).
 *
 *   alloc(k): take a block from the smallest non-empty list j >= k (a bitmap
 *   of non-empty orders finds j with one ffs), then split it j - k times,
 *   putting the upper half of each split on the list one order down.
 *   free(pfn, k): while the buddy is a free block of the same order, take it
 *   off its list and double the block (pfn &= ~(1 << k), k++); then put the
 *   result on list k. Both are O(orders). Invariant: no two free buddies of
 *   the same order exist (they would have been merged).
 *
 * Physical memory is not one range: a firmware map has holes (below 1 MiB,
 * the PCI hole below 4 GiB) and the kernel image is reserved. Init turns the
 * map into "areas", maximal runs of usable frames. A block never crosses an
 * area boundary: a buddy outside its area's [base, end) counts as "not free",
 * so blocks at the edges of an area simply stop merging there. Frame numbers
 * stay absolute (physical address / frame size), so alignment in the buddy
 * sense is alignment in physical memory: an order 9 block is a 2 MiB aligned
 * 2 MiB frame on x86-64, usable as a large page.
 *
 * Metadata, per frame (index g = area.first + pfn - area.base):
 *   state[g]  one byte: PG_FREE|k  the first frame of a free block of order k
 *                       PG_USED|k  the first frame of an allocated block
 *                       PG_TAIL    any other frame of a block
 *   next[g], prev[g]  the free list links (frame indices; PG_NIL ends a list),
 *                       only meaningful while state[g] is PG_FREE|k.
 * The links are kept out of the frames themselves so that hk_pages never
 * touches the memory it manages (the frames need not even be mapped).
 * The state byte of a used head records its order, which is what lets free
 * catch a wrong order, an interior address and a double free.
 *
 * Runs and claims (any number of frames) are made of aligned blocks: the
 * range [pfn, pfn + n) is cut greedily into the largest aligned blocks that
 * fit ("decompose"). Allocating and freeing a run decompose the same way, so
 * a run frees block by block with the ordinary merging free.
 *
 * A run is exact: alloc_run(n) first tries the cheap way, a free block of
 * the next power of two whose tail is given back at once (what Linux's
 * alloc_pages_exact does); when no block that large is free, it looks for
 * the lowest n contiguous free frames by walking the blocks of each area
 * (free buddies are adjacent blocks, so a run may span several), and claims
 * them. Either way exactly n frames are taken.
 *
 * The run record. The links of a used head are otherwise unused, so they
 * say what the block belongs to:
 *   prev[g] == PG_NIL   a block from hk_pages_alloc (next[g] unused)
 *   prev[g] == r        a block of the run or claimed range whose first
 *                       frame index is r; next[g] is the run's frame count.
 * That is what lets free_run refuse a wrong n (a shorter n would otherwise
 * free the run's first blocks and strand the rest), an address inside a
 * run, and a block from hk_pages_alloc, and lets hk_pages_free refuse a
 * piece of a run: the two calls are not interchangeable.
 */
#include "pages/pages_internal.h"

#include "common/hk_internal.h"

/* ---- small accessors -------------------------------------------------- */

static bool state_is_free(uint8_t s) { return (s & PG_FREE) != 0; }
static bool state_is_used(uint8_t s) { return (s & PG_USED) != 0; }
static unsigned state_order(uint8_t s) { return s & PG_ORDER; }
static uint8_t state_free(unsigned k) { return (uint8_t)(PG_FREE | k); }
static uint8_t state_used(unsigned k) { return (uint8_t)(PG_USED | k); }

static uint64_t area_end(const pg_area_t *a) { return a->base_pfn + a->npages; }

static uint32_t area_index(const pg_area_t *a, uint64_t pfn)
{
    return a->first + (uint32_t)(pfn - a->base_pfn);
}

static uint64_t area_pfn(const pg_area_t *a, uint32_t g)
{
    return a->base_pfn + (g - a->first);
}

/* The area holding frame pfn, or NULL. O(log areas). */
static const pg_area_t *area_of_pfn(const hk_pages_t *p, uint64_t pfn)
{
    uint32_t lo = 0, hi = p->nareas;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2u;
        const pg_area_t *a = &p->areas[mid];
        if (pfn < a->base_pfn)
            hi = mid;
        else if (pfn >= area_end(a))
            lo = mid + 1u;
        else
            return a;
    }
    return NULL;
}

/* The area holding frame index g (always exists for a valid g). */
static const pg_area_t *area_of_index(const hk_pages_t *p, uint32_t g)
{
    uint32_t lo = 0, hi = p->nareas;
    while (hi - lo > 1u) {
        uint32_t mid = lo + (hi - lo) / 2u;
        if (p->areas[mid].first <= g)
            lo = mid;
        else
            hi = mid;
    }
    return &p->areas[lo];
}

/* Is [pfn, pfn + 2^k) inside area a? */
static bool area_holds(const pg_area_t *a, uint64_t pfn, unsigned k)
{
    return pfn >= a->base_pfn && pfn + ((uint64_t)1 << k) <= area_end(a);
}

/* Order of the largest aligned block at pfn that fits in n frames. */
static unsigned decompose_order(uint64_t pfn, uint64_t n)
{
    unsigned k = HK_PAGES_MAX_ORDER;
    if (pfn) {
        unsigned tz = (unsigned)__builtin_ctzll((unsigned long long)pfn);
        if (tz < k)
            k = tz;
    }
    unsigned fl = 63u - (unsigned)__builtin_clzll((unsigned long long)n);
    return fl < k ? fl : k;
}

static uint64_t sat_bytes(const hk_pages_t *p, uint64_t frames)
{
    if (frames > ((uint64_t)SIZE_MAX >> p->shift))
        return SIZE_MAX;
    return frames << p->shift;
}

/* ---- free lists ------------------------------------------------------- */

HK_INLINE void list_push(hk_pages_t *p, uint32_t g, unsigned k)
{
    uint32_t h = p->head[k];
    p->next[g] = h;
    p->prev[g] = PG_NIL;
    if (h != PG_NIL)
        p->prev[h] = g;
    p->head[k] = g;
    p->nfree[k]++;
    p->nonempty |= 1u << k;
    p->state[g] = state_free(k);
}

HK_INLINE void list_remove(hk_pages_t *p, uint32_t g, unsigned k)
{
    uint32_t n = p->next[g], pr = p->prev[g];
    if (pr != PG_NIL)
        p->next[pr] = n;
    else
        p->head[k] = n;
    if (n != PG_NIL)
        p->prev[n] = pr;
    p->nfree[k]--;
    if (p->head[k] == PG_NIL)
        p->nonempty &= ~(1u << k);
    p->state[g] = PG_TAIL;
}

/* ---- the run record ------------------------------------------------------ */

/* Marks the block at index g used, as a block of its own (hk_pages_alloc). */
static void mark_single(hk_pages_t *p, uint32_t g, unsigned k)
{
    p->state[g] = state_used(k);
    p->prev[g] = PG_NIL;
    p->next[g] = PG_NIL;
}

/* Marks the blocks of the run [pfn, pfn + n) used and records the run in
 * each head: its first frame's index and its length. */
static void mark_run(hk_pages_t *p, const pg_area_t *a, uint64_t pfn, uint64_t n)
{
    uint32_t first = area_index(a, pfn);
    uint64_t at = pfn, left = n;
    while (left) {
        unsigned k = decompose_order(at, left);
        uint32_t g = area_index(a, at);
        p->state[g] = state_used(k);
        p->prev[g] = first;
        p->next[g] = (uint32_t)n;
        at += (uint64_t)1 << k;
        left -= (uint64_t)1 << k;
    }
}

/* ---- the buddy core ---------------------------------------------------- */

/* Puts the block (pfn, k) of area a back, merging with free buddies. */
static void buddy_release(hk_pages_t *p, const pg_area_t *a, uint64_t pfn, unsigned k)
{
    p->state[area_index(a, pfn)] = PG_TAIL;
    while (k < HK_PAGES_MAX_ORDER) {
        uint64_t buddy = pfn ^ ((uint64_t)1 << k);
        if (!area_holds(a, buddy, k))
            break;
        uint32_t bg = area_index(a, buddy);
        if (p->state[bg] != state_free(k))
            break;
        list_remove(p, bg, k);
        pfn &= ~((uint64_t)1 << k);
        k++;
    }
    list_push(p, area_index(a, pfn), k);
}

/* Takes a block of order k off the lists, splitting a larger one.
 * Returns its frame number and area, or false. */
static bool buddy_take(hk_pages_t *p, unsigned k, const pg_area_t **out_a, uint64_t *out_pfn)
{
    uint32_t avail = p->nonempty & ~((1u << k) - 1u);
    if (!avail)
        return false;
    unsigned j = hk__ffs32(avail);
    uint32_t g = p->head[j];
    list_remove(p, g, j);
    const pg_area_t *a = area_of_index(p, g);
    uint64_t pfn = area_pfn(a, g);
    while (j > k) {
        j--;
        list_push(p, area_index(a, pfn + ((uint64_t)1 << j)), j);
    }
    mark_single(p, g, k);
    *out_a = a;
    *out_pfn = pfn;
    return true;
}

/* The free block containing the aligned block (pfn, k), with its order, or
 * false. By the buddy invariant, an aligned block inside one area is wholly
 * free iff one free block of order >= k contains it. */
static bool buddy_containing(const hk_pages_t *p, const pg_area_t *a, uint64_t pfn, unsigned k,
                             uint64_t *head, unsigned *order)
{
    for (unsigned j = k; j <= HK_PAGES_MAX_ORDER; j++) {
        uint64_t h = pfn & ~(((uint64_t)1 << j) - 1u);
        if (!area_holds(a, h, j))
            return false;
        if (p->state[area_index(a, h)] == state_free(j)) {
            *head = h;
            *order = j;
            return true;
        }
    }
    return false;
}

/* Splits the free block (h, j) down until (pfn, k) is a block of its own,
 * freeing the other halves, and marks (pfn, k) used. */
static void buddy_carve(hk_pages_t *p, const pg_area_t *a, uint64_t h, unsigned j, uint64_t pfn,
                        unsigned k)
{
    list_remove(p, area_index(a, h), j);
    while (j > k) {
        j--;
        uint64_t half = (uint64_t)1 << j;
        if (pfn & half) {
            list_push(p, area_index(a, h), j);
            h += half;
        } else {
            list_push(p, area_index(a, h + half), j);
        }
    }
    p->state[area_index(a, pfn)] = state_used(k);
}

/* ---- accounting --------------------------------------------------------- */

static void account_alloc(hk_pages_t *p, uint64_t frames, uint64_t blocks)
{
    hk__usage_take(&p->usage, (size_t)frames);
    p->used_blocks += blocks;
    p->requested += frames;
    p->allocs++;
}

static void account_free(hk_pages_t *p, uint64_t frames, uint64_t blocks)
{
    hk__usage_give(&p->usage, (size_t)frames);
    p->used_blocks -= blocks;
    p->requested -= frames;
    p->frees++;
}

static void account_fail(hk_pages_t *p)
{
    p->failed++;
}

/* ---- the memory map ------------------------------------------------------
 * The usable set U = (union of usable map entries) minus (union of the other
 * entries and the reserved list). next_piece finds the lowest maximal
 * interval of U at or above `from` by testing only the candidate boundaries
 * (entry starts and ends): O(m^2) per piece, with m small. */

static uint64_t range_end(const hk_mem_range_t *r)
{
    uint64_t e = r->base + r->length;
    return e < r->base ? UINT64_MAX : e;
}

/* Exact even for an entry that ends at (or wraps past) 2^64. */
static bool in_range(const hk_mem_range_t *r, uint64_t x)
{
    return r->length && x >= r->base && x - r->base < r->length;
}

static bool in_usable(const hk_pages_config_t *c, uint64_t x)
{
    bool usable = false;
    for (size_t i = 0; i < c->map_len; i++) {
        if (!in_range(&c->map[i], x))
            continue;
        if (c->map[i].type != HK_MEM_USABLE)
            return false;
        usable = true;
    }
    if (!usable)
        return false;
    for (size_t i = 0; i < c->reserved_len; i++)
        if (in_range(&c->reserved[i], x))
            return false;
    return true;
}

static void consider_start(const hk_pages_config_t *c, uint64_t cand, uint64_t from, bool *found,
                           uint64_t *best)
{
    if (cand >= from && (!*found || cand < *best) && in_usable(c, cand)) {
        *found = true;
        *best = cand;
    }
}

static void consider_end(const hk_pages_config_t *c, uint64_t cand, uint64_t start, uint64_t *best)
{
    if (cand > start && cand < *best && !in_usable(c, cand))
        *best = cand;
}

static bool next_piece(const hk_pages_config_t *c, uint64_t from, uint64_t *s, uint64_t *e)
{
    bool found = false;
    uint64_t a = 0;
    consider_start(c, from, from, &found, &a);
    for (size_t i = 0; i < c->map_len; i++) {
        consider_start(c, c->map[i].base, from, &found, &a);
        if (c->map[i].type != HK_MEM_USABLE)
            consider_start(c, range_end(&c->map[i]), from, &found, &a);
    }
    for (size_t i = 0; i < c->reserved_len; i++)
        consider_start(c, range_end(&c->reserved[i]), from, &found, &a);
    if (!found)
        return false;
    uint64_t b = UINT64_MAX;
    for (size_t i = 0; i < c->map_len; i++) {
        consider_end(c, range_end(&c->map[i]), a, &b);
        consider_end(c, c->map[i].base, a, &b);
    }
    for (size_t i = 0; i < c->reserved_len; i++)
        consider_end(c, c->reserved[i].base, a, &b);
    *s = a;
    *e = b;
    return true;
}

/* Walks the usable areas in address order, trimmed to whole frames. Calls
 * visit for each (if non-NULL); returns the number of areas and adds the
 * frames to *frames. */
typedef void (*area_visit_fn)(void *ctx, uint64_t base_pfn, uint64_t npages);

static uint64_t walk_areas(const hk_pages_config_t *c, unsigned shift, area_visit_fn visit,
                           void *ctx, uint64_t *frames)
{
    uint64_t count = 0, from = 0, s, e;
    uint64_t fs = (uint64_t)1 << shift;
    *frames = 0;
    while (next_piece(c, from, &s, &e)) {
        uint64_t fs_pfn = (s >> shift) + ((s & (fs - 1u)) ? 1u : 0u);
        uint64_t fe_pfn = e >> shift;
        /* e == UINT64_MAX is either an end there (the top frame is partial)
         * or "no end below 2^64": then the last byte is usable too and the
         * top frame is whole. Frame numbers reach 2^64 >> shift, which fits. */
        if (e == UINT64_MAX && in_usable(c, UINT64_MAX))
            fe_pfn = (UINT64_MAX >> shift) + 1u;
        if (fe_pfn > fs_pfn) {
            uint64_t n = fe_pfn - fs_pfn;
            /* an area's frame count must fit 32 bits: split huge ones */
            while (n) {
                uint64_t chunk = n > PG_MAX_FRAMES ? ((uint64_t)1 << 31) : n;
                if (visit)
                    visit(ctx, fs_pfn, chunk);
                count++;
                *frames += chunk;
                fs_pfn += chunk;
                n -= chunk;
                if (*frames > PG_MAX_FRAMES)
                    return count; /* caller rejects */
            }
        }
        if (e == UINT64_MAX)
            break;
        from = e;
    }
    return count;
}

static bool frame_shift_of(const hk_pages_config_t *c, unsigned *shift)
{
    size_t fs = c->frame_size ? c->frame_size : 4096u;
    if (!hk__is_pow2(fs) || fs < 64u)
        return false;
    *shift = hk__fls(fs);
    return true;
}

/* Bytes of metadata for n areas and f frames, with slack for alignment. */
static uint64_t meta_bytes(uint64_t nareas, uint64_t frames)
{
    return sizeof(hk_pages_t) + nareas * sizeof(pg_area_t) + frames * (2u * sizeof(uint32_t) + 1u) +
           (_Alignof(hk_pages_t) - 1u);
}

static bool config_ok(const hk_pages_config_t *c)
{
    return c && c->map && c->map_len && (c->reserved || !c->reserved_len);
}

size_t hk_pages_meta_size(const hk_pages_config_t *cfg)
{
    unsigned shift;
    uint64_t frames;
    if (!config_ok(cfg) || !frame_shift_of(cfg, &shift))
        return 0;
    uint64_t n = walk_areas(cfg, shift, NULL, NULL, &frames);
    if (!n || frames > PG_MAX_FRAMES)
        return 0;
    uint64_t b = meta_bytes(n, frames);
    return b > SIZE_MAX ? 0 : (size_t)b;
}

typedef struct {
    hk_pages_t *p;
    uint32_t i;
    uint32_t first;
} fill_ctx_t;

static void fill_area(void *ctx, uint64_t base_pfn, uint64_t npages)
{
    fill_ctx_t *f = ctx;
    pg_area_t *a = &f->p->areas[f->i++];
    a->base_pfn = base_pfn;
    a->npages = (uint32_t)npages;
    a->first = f->first;
    f->first += (uint32_t)npages;
}

/* Lays the metadata out in [mem, mem + bytes) and builds the free lists. */
static hk_pages_t *build(const hk_pages_config_t *c, unsigned shift, uint64_t nareas,
                         uint64_t frames, void *mem)
{
    uintptr_t at = hk__align_up_ptr((uintptr_t)mem, _Alignof(hk_pages_t));
    hk_pages_t *p = (hk_pages_t *)at;
    hk__memset(p, 0, sizeof *p);
    p->shift = shift;
    p->nareas = (uint32_t)nareas;
    at += sizeof *p;
    p->areas = (pg_area_t *)at;
    at += (size_t)nareas * sizeof(pg_area_t);
    p->next = (uint32_t *)at;
    at += (size_t)frames * sizeof(uint32_t);
    p->prev = (uint32_t *)at;
    at += (size_t)frames * sizeof(uint32_t);
    p->state = (uint8_t *)at;
    hk__memset(p->state, 0, (size_t)frames); /* PG_TAIL */
    for (unsigned k = 0; k < HK_PAGES_ORDERS; k++)
        p->head[k] = PG_NIL;
    fill_ctx_t f = {p, 0, 0};
    uint64_t dummy;
    walk_areas(c, shift, fill_area, &f, &dummy);
    for (uint32_t i = 0; i < p->nareas; i++) {
        const pg_area_t *a = &p->areas[i];
        uint64_t pfn = a->base_pfn, left = a->npages;
        while (left) {
            unsigned k = decompose_order(pfn, left);
            list_push(p, area_index(a, pfn), k);
            pfn += (uint64_t)1 << k;
            left -= (uint64_t)1 << k;
        }
    }
    p->total = frames;
    hk__usage_init(&p->usage, (size_t)frames);
    if (c->lock)
        p->lock = *c->lock;
    p->magic = PG_MAGIC;
    return p;
}

static int claim_locked(hk_pages_t *p, hk_paddr_t addr, size_t n);

hk_pages_t *hk_pages_init(const hk_pages_config_t *cfg)
{
    unsigned shift;
    uint64_t frames;
    if (!config_ok(cfg) || !frame_shift_of(cfg, &shift)) {
        hk__report(HK_EINVAL, cfg, "pages: NULL config or map, or frame size not a power of two >= 64");
        return NULL;
    }
    uint64_t nareas = walk_areas(cfg, shift, NULL, NULL, &frames);
    if (!nareas) {
        hk__report(HK_EINVAL, cfg, "pages: the memory map has no whole usable frame");
        return NULL;
    }
    if (frames > PG_MAX_FRAMES) {
        hk__report(HK_ERANGE, cfg, "pages: more than 2^32 - 2 frames; use a larger frame size");
        return NULL;
    }
    uint64_t need = meta_bytes(nareas, frames);
    if (need > SIZE_MAX) {
        hk__report(HK_ERANGE, cfg, "pages: metadata larger than the address space");
        return NULL;
    }
    if (cfg->meta) {
        if (cfg->meta_size < need) {
            hk__report(HK_ENOMEM, cfg->meta, "pages: meta_size below hk_pages_meta_size()");
            return NULL;
        }
        return build(cfg, shift, nareas, frames, cfg->meta);
    }
    /* Carve: find the first area that holds the metadata. */
    uint64_t meta_frames = (need + ((uint64_t)1 << shift) - 1u) >> shift;
    uint64_t from = 0, s, e, fs = (uint64_t)1 << shift;
    hk_paddr_t at = HK_PADDR_NONE;
    while (next_piece(cfg, from, &s, &e)) {
        uint64_t a = ((s + fs - 1u) & ~(fs - 1u));
        if (a >= s && (e >> shift) > (a >> shift) && (e >> shift) - (a >> shift) >= meta_frames) {
            at = a;
            break;
        }
        if (e == UINT64_MAX)
            break;
        from = e;
    }
    if (at == HK_PADDR_NONE) {
        hk__report(HK_ENOMEM, cfg, "pages: no usable area holds the metadata");
        return NULL;
    }
    void *mem = (void *)((uintptr_t)at + cfg->direct_map);
    hk_pages_t *p = build(cfg, shift, nareas, frames, mem);
    int rc = claim_locked(p, at, (size_t)meta_frames);
    HK_ASSERT(rc == 0);
    (void)rc;
    p->allocs = 0; /* the metadata is not a caller's allocation */
    return p;
}

/* ---- checks on the caller's input ------------------------------------- */

static bool pages_ok(const hk_pages_t *p)
{
    if (!p || p->magic != PG_MAGIC) {
        hk__report(HK_EINVAL, p, "pages: NULL or not an initialised hk_pages_t");
        return false;
    }
    return true;
}

/* Checks that [addr, addr + n frames) is frame aligned, does not wrap
 * (HK_EINVAL) and is inside one area (HK_EFAULT). */
static int range_check(const hk_pages_t *p, hk_paddr_t addr, uint64_t n, const pg_area_t **out)
{
    if (addr & (((uint64_t)1 << p->shift) - 1u))
        return HK_EINVAL;
    uint64_t pfn = addr >> p->shift;
    if (n > (UINT64_MAX >> p->shift) - pfn + 1u)
        return HK_EINVAL; /* the range wraps past 2^64 */
    const pg_area_t *a = area_of_pfn(p, pfn);
    if (!a || n > area_end(a) - pfn)
        return HK_EFAULT;
    *out = a;
    return 0;
}

/* ---- public API --------------------------------------------------------- */

size_t hk_pages_frame_size(const hk_pages_t *p)
{
    return pages_ok(p) ? (size_t)1 << p->shift : 0;
}

hk_paddr_t hk_pages_alloc(hk_pages_t *p, unsigned order)
{
    if (!pages_ok(p))
        return HK_PADDR_NONE;
    if (order > HK_PAGES_MAX_ORDER) {
        hk__report(HK_ERANGE, NULL, "pages: order above HK_PAGES_MAX_ORDER");
        uintptr_t lk_saved = hk__lock(&p->lock);
        account_fail(p);
        hk__unlock(&p->lock, lk_saved);
        return HK_PADDR_NONE;
    }
    uintptr_t lk_saved = hk__lock(&p->lock);
    const pg_area_t *a;
    uint64_t pfn;
    hk_paddr_t r = HK_PADDR_NONE;
    if (buddy_take(p, order, &a, &pfn)) {
        account_alloc(p, (uint64_t)1 << order, 1);
        r = pfn << p->shift;
    } else {
        account_fail(p);
    }
    hk__unlock(&p->lock, lk_saved);
    return r;
}

/* Why (pfn, k) of area a cannot be freed, or NULL if it can. */
static const char *free_problem(const hk_pages_t *p, const pg_area_t *a, uint64_t pfn, unsigned k,
                                int *code)
{
    *code = HK_EBADPTR;
    if (k > HK_PAGES_MAX_ORDER)
        return "pages: free with an order above HK_PAGES_MAX_ORDER";
    if (pfn & (((uint64_t)1 << k) - 1u))
        return "pages: free of an address not aligned to its order (wrong order?)";
    if (!area_holds(a, pfn, k))
        return "pages: free of a block that runs past its area (wrong order?)";
    uint8_t s = p->state[area_index(a, pfn)];
    if (state_is_free(s)) {
        *code = HK_EDOUBLEFREE;
        return "pages: block already free (double free?)";
    }
    if (!state_is_used(s)) {
        uint64_t h;
        unsigned j;
        if (buddy_containing(p, a, pfn, 0, &h, &j)) {
            *code = HK_EDOUBLEFREE;
            return "pages: frame inside a free block (double free?)";
        }
        return "pages: address inside an allocated block (interior pointer?)";
    }
    if (state_order(s) != k)
        return "pages: free with a different order than the allocation (wrong order?)";
    return NULL;
}

void hk_pages_free(hk_pages_t *p, hk_paddr_t addr, unsigned order)
{
    if (!pages_ok(p))
        return;
    uintptr_t lk_saved = hk__lock(&p->lock);
    const pg_area_t *a;
    int code = range_check(p, addr, 1, &a);
    const char *why = NULL;
    if (code == HK_EINVAL)
        why = "pages: free of an address that is not frame aligned";
    else if (code)
        why = "pages: free of an address this allocator does not manage (foreign?)";
    if (why)
        code = HK_EBADPTR;
    else
        why = free_problem(p, a, addr >> p->shift, order, &code);
    if (!why && p->prev[area_index(a, addr >> p->shift)] != PG_NIL) {
        code = HK_EBADPTR;
        why = "pages: free of a block of a run or claimed range (use hk_pages_free_run)";
    }
    if (why) {
        hk__unlock(&p->lock, lk_saved);
        hk__report(code, (const void *)(uintptr_t)addr, why);
        return;
    }
    buddy_release(p, a, addr >> p->shift, order);
    account_free(p, (uint64_t)1 << order, 1);
    hk__unlock(&p->lock, lk_saved);
}

static uint64_t run_blocks(uint64_t pfn, uint64_t n)
{
    uint64_t blocks = 0;
    while (n) {
        unsigned k = decompose_order(pfn, n);
        pfn += (uint64_t)1 << k;
        n -= (uint64_t)1 << k;
        blocks++;
    }
    return blocks;
}

/* The cheap way to a run: a free block of the next power of two, with the
 * tail given back at once. */
static bool run_by_block(hk_pages_t *p, uint64_t n, uint64_t *out_pfn)
{
    unsigned order = n > 1 ? (unsigned)(64u - (unsigned)__builtin_clzll((unsigned long long)(n - 1u))) : 0u;
    const pg_area_t *a;
    uint64_t pfn;
    if (order > HK_PAGES_MAX_ORDER || !buddy_take(p, order, &a, &pfn))
        return false;
    mark_run(p, a, pfn, n);
    uint64_t at = pfn + n, left = ((uint64_t)1 << order) - n;
    while (left) {
        unsigned k = decompose_order(at, left);
        buddy_release(p, a, at, k);
        at += (uint64_t)1 << k;
        left -= (uint64_t)1 << k;
    }
    account_alloc(p, n, run_blocks(pfn, n));
    *out_pfn = pfn;
    return true;
}

/* The lowest n contiguous free frames of one area, walking its blocks (each
 * step lands on a block head), then claimed. O(blocks). */
static bool run_by_search(hk_pages_t *p, uint64_t n, uint64_t *out_pfn)
{
    for (uint32_t i = 0; i < p->nareas; i++) {
        const pg_area_t *a = &p->areas[i];
        if (a->npages < n)
            continue;
        uint64_t pfn = a->base_pfn, start = pfn, len = 0;
        while (pfn < area_end(a)) {
            uint8_t s = p->state[area_index(a, pfn)];
            uint64_t size = (uint64_t)1 << state_order(s);
            if (state_is_free(s)) {
                if (!len)
                    start = pfn;
                len += size;
                if (len >= n) {
                    int rc = claim_locked(p, start << p->shift, (size_t)n);
                    HK_ASSERT(rc == 0);
                    (void)rc;
                    *out_pfn = start;
                    return true;
                }
            } else {
                len = 0;
            }
            pfn += size;
        }
    }
    return false;
}

hk_paddr_t hk_pages_alloc_run(hk_pages_t *p, size_t n)
{
    if (!pages_ok(p))
        return HK_PADDR_NONE;
    uintptr_t lk_saved = hk__lock(&p->lock);
    uint64_t longest = 0;
    for (uint32_t i = 0; i < p->nareas; i++)
        if (p->areas[i].npages > longest)
            longest = p->areas[i].npages;
    uint64_t pfn;
    hk_paddr_t r = HK_PADDR_NONE;
    const char *why = NULL;
    int code = HK_ERANGE;
    if (n == 0) {
        code = HK_EINVAL;
        why = "pages: run of 0 frames";
    } else if ((uint64_t)n > longest) {
        why = "pages: run longer than every usable area (it can never succeed)";
    } else if (run_by_block(p, n, &pfn) || run_by_search(p, n, &pfn)) {
        r = pfn << p->shift;
    }
    if (r == HK_PADDR_NONE)
        account_fail(p);
    hk__unlock(&p->lock, lk_saved);
    if (why)
        hk__report(code, NULL, why);
    return r;
}

/* Why [pfn, pfn + n) of area a is not a live run or claimed range, or NULL.
 * Checks the run record first, so a wrong n is named as such. */
static const char *run_problem(const hk_pages_t *p, const pg_area_t *a, uint64_t pfn, uint64_t n,
                               int *code)
{
    uint32_t g = area_index(a, pfn);
    if (!state_is_used(p->state[g]))
        return free_problem(p, a, pfn, 0, code); /* free already, or interior */
    *code = HK_EBADPTR;
    if (p->prev[g] == PG_NIL)
        return "pages: free_run of a block from hk_pages_alloc (use hk_pages_free)";
    if (p->prev[g] != g)
        return "pages: free_run from inside a run or claimed range (interior pointer?)";
    if (p->next[g] != n)
        return "pages: free_run with an n other than the run's (wrong n?)";
    if (n > area_end(a) - pfn) {
        *code = HK_ECORRUPT;
        return "pages: run record runs past its area (stray write?)";
    }
    uint64_t at = pfn, left = n;
    while (left) {
        unsigned k = decompose_order(at, left);
        uint32_t h = area_index(a, at);
        if (p->state[h] != state_used(k) || p->prev[h] != g || p->next[h] != n) {
            *code = HK_ECORRUPT;
            return "pages: a block of the run does not record the run (stray write?)";
        }
        at += (uint64_t)1 << k;
        left -= (uint64_t)1 << k;
    }
    return NULL;
}

void hk_pages_free_run(hk_pages_t *p, hk_paddr_t addr, size_t n)
{
    if (!pages_ok(p))
        return;
    uintptr_t lk_saved = hk__lock(&p->lock);
    const pg_area_t *a;
    int code = range_check(p, addr, 1, &a);
    const char *why = NULL;
    if (code == HK_EINVAL)
        why = "pages: free_run of an address that is not frame aligned";
    else if (code)
        why = "pages: free_run of a range this allocator does not manage (foreign?)";
    else if (n == 0)
        why = "pages: free_run of 0 frames (wrong n?)";
    if (why)
        code = HK_EBADPTR;
    else
        why = run_problem(p, a, addr >> p->shift, n, &code);
    if (why) {
        hk__unlock(&p->lock, lk_saved);
        hk__report(code, (const void *)(uintptr_t)addr, why);
        return;
    }
    uint64_t pfn = addr >> p->shift, at = pfn, left = n;
    while (left) {
        unsigned k = decompose_order(at, left);
        buddy_release(p, a, at, k);
        at += (uint64_t)1 << k;
        left -= (uint64_t)1 << k;
    }
    account_free(p, n, run_blocks(pfn, n));
    hk__unlock(&p->lock, lk_saved);
}

static int claim_locked(hk_pages_t *p, hk_paddr_t addr, size_t n)
{
    const pg_area_t *a;
    int rc = n ? range_check(p, addr, n, &a) : HK_EINVAL;
    if (rc)
        return rc;
    uint64_t pfn = addr >> p->shift, at = pfn, left = n, h;
    unsigned j;
    while (left) { /* all free? */
        unsigned k = decompose_order(at, left);
        if (!buddy_containing(p, a, at, k, &h, &j))
            return HK_EBUSY;
        at += (uint64_t)1 << k;
        left -= (uint64_t)1 << k;
    }
    at = pfn;
    left = n;
    while (left) {
        unsigned k = decompose_order(at, left);
        buddy_containing(p, a, at, k, &h, &j);
        buddy_carve(p, a, h, j, at, k);
        at += (uint64_t)1 << k;
        left -= (uint64_t)1 << k;
    }
    mark_run(p, a, pfn, n);
    account_alloc(p, n, run_blocks(pfn, n));
    return 0;
}

int hk_pages_claim(hk_pages_t *p, hk_paddr_t addr, size_t n)
{
    if (!pages_ok(p))
        return HK_EINVAL;
    uintptr_t lk_saved = hk__lock(&p->lock);
    int rc = claim_locked(p, addr, n);
    if (rc)
        account_fail(p);
    hk__unlock(&p->lock, lk_saved);
    if (rc == HK_EINVAL)
        hk__report(rc, (const void *)(uintptr_t)addr,
                   "pages: claim of 0 frames, misaligned, or wrapping past 2^64");
    else if (rc == HK_EFAULT)
        hk__report(rc, (const void *)(uintptr_t)addr, "pages: claim outside every usable area");
    return rc;
}

bool hk_pages_is_free(const hk_pages_t *p, hk_paddr_t addr)
{
    if (!pages_ok(p))
        return false;
    uintptr_t lk_saved = hk__lock(&p->lock);
    const pg_area_t *a = area_of_pfn(p, addr >> p->shift);
    uint64_t h;
    unsigned j;
    bool r = a && buddy_containing(p, a, addr >> p->shift, 0, &h, &j);
    hk__unlock(&p->lock, lk_saved);
    return r;
}

void hk_pages_buddyinfo(const hk_pages_t *p, size_t counts[HK_PAGES_ORDERS])
{
    if (!counts || !pages_ok(p))
        return;
    uintptr_t lk_saved = hk__lock(&p->lock);
    for (unsigned k = 0; k < HK_PAGES_ORDERS; k++)
        counts[k] = p->nfree[k];
    hk__unlock(&p->lock, lk_saved);
}

uint64_t hk_pages_total_frames(const hk_pages_t *p)
{
    return pages_ok(p) ? p->total : 0;
}

uint64_t hk_pages_free_frames(const hk_pages_t *p)
{
    return pages_ok(p) ? (uint64_t)(p->usage.total - p->usage.used) : 0;
}

void hk_pages_get_stats(const hk_pages_t *p, hk_stats_t *out)
{
    if (!out)
        return;
    hk__memset(out, 0, sizeof *out);
    if (!pages_ok(p))
        return;
    uintptr_t lk_saved = hk__lock(&p->lock);
    uint64_t fb = 0;
    for (unsigned k = 0; k < HK_PAGES_ORDERS; k++)
        fb += p->nfree[k];
    out->total = (size_t)sat_bytes(p, p->total);
    const hk__usage_t *u = &p->usage;
    out->free = (size_t)sat_bytes(p, u->total - u->used);
    out->used = (size_t)sat_bytes(p, u->used);
    out->largest_free = p->nonempty ? (size_t)sat_bytes(p, (uint64_t)1 << hk__fls(p->nonempty)) : 0;
    out->free_blocks = (size_t)fb;
    out->used_blocks = (size_t)p->used_blocks;
    out->peak_used = (size_t)sat_bytes(p, u->peak);
    out->min_ever_free = (size_t)sat_bytes(p, u->min_free);
    out->requested = (size_t)sat_bytes(p, p->requested);
    out->allocs = p->allocs;
    out->frees = p->frees;
    out->failed_allocs = p->failed;
    hk__unlock(&p->lock, lk_saved);
}

/* ---- validation ----------------------------------------------------------- */

static const char *validate_blocks(const hk_pages_t *p, uint64_t per_order[HK_PAGES_ORDERS],
                                   uint64_t *free_frames, uint64_t *used_blocks)
{
    uint64_t seen = 0;
    for (uint32_t i = 0; i < p->nareas; i++) {
        const pg_area_t *a = &p->areas[i];
        if (a->first != seen)
            return "pages: area index table damaged";
        if (i && p->areas[i - 1].base_pfn + p->areas[i - 1].npages > a->base_pfn)
            return "pages: areas out of order or overlapping";
        seen += a->npages;
        uint64_t pfn = a->base_pfn;
        while (pfn < area_end(a)) {
            uint8_t s = p->state[area_index(a, pfn)];
            if (!state_is_free(s) && !state_is_used(s))
                return "pages: frame without a block head (stray write?)";
            if (state_is_free(s) && state_is_used(s))
                return "pages: state byte both free and used (stray write?)";
            unsigned k = state_order(s);
            if (k > HK_PAGES_MAX_ORDER)
                return "pages: block order out of range (stray write?)";
            if (pfn & (((uint64_t)1 << k) - 1u))
                return "pages: block not aligned to its order";
            if (!area_holds(a, pfn, k))
                return "pages: block runs past its area";
            for (uint64_t t = 1; t < ((uint64_t)1 << k); t++)
                if (p->state[area_index(a, pfn + t)] != PG_TAIL)
                    return "pages: block head inside another block";
            if (state_is_free(s)) {
                per_order[k]++;
                *free_frames += (uint64_t)1 << k;
                uint64_t buddy = pfn ^ ((uint64_t)1 << k);
                if (k < HK_PAGES_MAX_ORDER && area_holds(a, buddy, k) &&
                    p->state[area_index(a, buddy)] == state_free(k))
                    return "pages: two free buddies not merged";
            } else {
                (*used_blocks)++;
                uint32_t g = area_index(a, pfn), r = p->prev[g];
                if (r != PG_NIL && (r >= p->total || !state_is_used(p->state[r]) ||
                                    p->prev[r] != r || p->next[r] != p->next[g]))
                    return "pages: run record damaged (stray write?)";
            }
            pfn += (uint64_t)1 << k;
        }
    }
    if (seen != p->total)
        return "pages: areas do not add up to the frame total";
    return NULL;
}

static const char *validate_lists(const hk_pages_t *p, const uint64_t per_order[HK_PAGES_ORDERS])
{
    for (unsigned k = 0; k < HK_PAGES_ORDERS; k++) {
        uint64_t n = 0;
        uint32_t prev = PG_NIL;
        for (uint32_t g = p->head[k]; g != PG_NIL; g = p->next[g]) {
            if (g >= p->total)
                return "pages: free list link out of range";
            if (p->state[g] != state_free(k))
                return "pages: free list holds a block that is not free of its order";
            if (p->prev[g] != prev)
                return "pages: free list back link broken";
            if (++n > per_order[k])
                return "pages: free list longer than its free blocks (cycle?)";
            prev = g;
        }
        if (n != per_order[k])
            return "pages: a free block is missing from its list";
        if (n != p->nfree[k])
            return "pages: per-order count disagrees with its list";
        if (((p->nonempty >> k) & 1u) != (n != 0))
            return "pages: non-empty bitmap disagrees with the lists";
    }
    return NULL;
}

int hk_pages_validate(const hk_pages_t *p)
{
    if (!pages_ok(p))
        return HK_EINVAL;
    uintptr_t lk_saved = hk__lock(&p->lock);
    uint64_t per_order[HK_PAGES_ORDERS] = {0};
    uint64_t free_frames = 0, used_blocks = 0;
    const char *why = validate_blocks(p, per_order, &free_frames, &used_blocks);
    if (!why)
        why = validate_lists(p, per_order);
    if (!why && (p->usage.total != p->total || free_frames != p->usage.total - p->usage.used))
        why = "pages: free frame count disagrees with a recount";
    if (!why && used_blocks != p->used_blocks)
        why = "pages: used block count disagrees with a recount";
    if (!why && !hk__usage_ok(&p->usage))
        why = "pages: usage marks disagree with the current use";
    hk__unlock(&p->lock, lk_saved);
    if (why) {
        hk__report(HK_ECORRUPT, p, why);
        return HK_ECORRUPT;
    }
    return 0;
}
