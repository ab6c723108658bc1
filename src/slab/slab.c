/* SPDX-License-Identifier: MIT */
/*
 * slab.c - object caches on a backing heap (Bonwick's slab allocator, small).
 *
 * How it works
 * ------------
 * Jeff Bonwick, "The Slab Allocator: An Object-Caching Kernel Memory
 * Allocator" (USENIX 1994): objects of one size live in slabs; a cache keeps
 * its slabs on three lists -- partial, full, empty -- and allocates from a
 * partial slab first so that objects pack into few slabs and whole slabs
 * empty out and can be given back. Like the paper's small-object slabs (and
 * Linux SLUB), the slab header sits inside the slab and the slab is aligned
 * to its own power-of-two size, so free finds an object's slab by masking:
 *
 *     slab = p & ~(slab_size - 1)
 *
 *   slab (aligned to slab_size)
 *   | check | next prev | bump free_list inuse list | bitmap... |pad| obj 0 | obj 1 | ... |
 *                                                                   ^ first_off
 *
 * The check word is slab ^ cache ^ a constant, so a pointer from another
 * cache, from outside any slab, or into a slab that was given back (its
 * check word is cleared then) fails it. The bitmap has one bit per object,
 * set while the object is allocated: every double free is caught, and the
 * validator can cross-check it against the free list. Objects are carved
 * lazily from a bump pointer, as in hk_pool, so a new slab costs one heap
 * call and a header write, not a pass over its objects.
 *
 * Slabs move between lists only at the edges: full when the last object is
 * taken, partial when one comes back to a full slab, empty when the last
 * object comes back. An empty slab is kept (up to max_empty of them) so a
 * cache that oscillates around a slab boundary does not call the heap on
 * every operation.
 */
#include "common/hk_internal.h"
#include "common/hk_stats.h"
#include "heapkit/slab.h"

#include <stddef.h>

#define SLAB_CHECK ((uintptr_t)0x51ab51abu)

enum { LIST_PARTIAL = 1, LIST_FULL = 2, LIST_EMPTY = 3 };

struct hk_slab {
    uintptr_t check;
    struct hk_slab *next, *prev;
    unsigned char *bump;
    void *free_list;
    size_t inuse;
    size_t list;
    uint32_t bitmap[];
};
typedef struct hk_slab slab_t;

/* ---- accessors ---------------------------------------------------------- */
/* The public struct carries the shared usage counter (hk_stats.h) as a
 * look-alike struct, so slab.h need not include a private header; every
 * access goes through this one cast. Unit: bytes. A slab's header and slack
 * (slab_size - per_slab * stride) count as used from the moment the slab is
 * taken, so used and peak_used are the same kind of figure. */
_Static_assert(sizeof(((hk_slab_cache_t *)0)->usage) == sizeof(hk__usage_t), "usage layout");
_Static_assert(offsetof(hk_slab_cache_t, usage) % _Alignof(hk__usage_t) == 0, "usage align");

static hk__usage_t *cache_usage(hk_slab_cache_t *c)
{
    return (hk__usage_t *)(void *)&c->usage;
}

static const hk__usage_t *cache_usage_c(const hk_slab_cache_t *c)
{
    return (const hk__usage_t *)(const void *)&c->usage;
}

static size_t slab_overhead(const hk_slab_cache_t *c)
{
    return c->slab_size - c->per_slab * c->stride;
}

static uintptr_t slab_check_word(const hk_slab_cache_t *c, const slab_t *s)
{
    return (uintptr_t)s ^ (uintptr_t)c ^ SLAB_CHECK;
}

static slab_t *slab_of(const hk_slab_cache_t *c, const void *p)
{
    return (slab_t *)(uintptr_t)((uintptr_t)p & ~(uintptr_t)(c->slab_size - 1u));
}

static unsigned char *slab_objs(const hk_slab_cache_t *c, const slab_t *s)
{
    return (unsigned char *)(uintptr_t)s + c->first_off;
}

static size_t slab_index(const hk_slab_cache_t *c, const slab_t *s, const void *p)
{
    return (size_t)((const unsigned char *)p - slab_objs(c, s)) / c->stride;
}

static bool slab_bit(const slab_t *s, size_t i)
{
    return (s->bitmap[i / 32u] >> (i % 32u)) & 1u;
}

static void slab_bit_flip(slab_t *s, size_t i)
{
    s->bitmap[i / 32u] ^= (uint32_t)1u << (i % 32u);
}

/* Objects are aligned to at least a pointer: plain loads and stores. */
static void *link_get(const void *p)
{
    return *(void *const *)p;
}

static void link_set(void *p, void *n)
{
    *(void **)p = n;
}

static slab_t **cache_list(hk_slab_cache_t *c, size_t which)
{
    return which == LIST_PARTIAL ? &c->partial : which == LIST_FULL ? &c->full : &c->empty;
}

static void list_remove(hk_slab_cache_t *c, slab_t *s)
{
    if (s->prev)
        s->prev->next = s->next;
    else
        *cache_list(c, s->list) = s->next;
    if (s->next)
        s->next->prev = s->prev;
    s->next = s->prev = NULL;
}

static void list_push(hk_slab_cache_t *c, slab_t *s, size_t which)
{
    slab_t **head = cache_list(c, which);
    s->list = which;
    s->prev = NULL;
    s->next = *head;
    if (*head)
        (*head)->prev = s;
    *head = s;
}

static void list_move(hk_slab_cache_t *c, slab_t *s, size_t which)
{
    list_remove(c, s);
    list_push(c, s, which);
}

/* ---- slabs in and out --------------------------------------------------- */
static slab_t *slab_grow(hk_slab_cache_t *c)
{
    slab_t *s = hk_heap_aligned_alloc(c->heap, c->slab_size, c->slab_size);
    if (!s)
        return NULL;
    s->check = slab_check_word(c, s);
    s->bump = slab_objs(c, s);
    s->free_list = NULL;
    s->inuse = 0;
    hk__memset(s->bitmap, 0, c->bitmap_words * sizeof(uint32_t));
    list_push(c, s, LIST_PARTIAL);
    c->nslabs++;
    c->grown++;
    hk__usage_grow(cache_usage(c), c->slab_size);
    hk__usage_take(cache_usage(c), slab_overhead(c));
    return s;
}

static void slab_release(hk_slab_cache_t *c, slab_t *s)
{
    HK_ASSERT(s->inuse == 0 && s->list == LIST_EMPTY);
    list_remove(c, s);
    c->nempty--;
    c->nslabs--;
    c->shrunk++;
    hk__usage_give(cache_usage(c), slab_overhead(c));
    hk__usage_shrink(cache_usage(c), c->slab_size);
    s->check = 0;
    hk_heap_free(c->heap, s);
}

static uintptr_t cache_lock(const hk_slab_cache_t *c)
{
    return hk__lock(&c->lock);
}

static void cache_unlock(const hk_slab_cache_t *c, uintptr_t lk_saved)
{
    hk__unlock(&c->lock, lk_saved);
}

/* ---- public API ------------------------------------------------------- */
int hk_slab_init(hk_slab_cache_t *cache, hk_heap_t *heap, const hk_slab_config_t *cfg)
{
    if (!cache || !heap || !cfg || cfg->obj_size < sizeof(void *)) {
        hk__report(HK_EINVAL, cache, "slab init: NULL argument or object below a pointer");
        return HK_EINVAL;
    }
    size_t align = cfg->align;
    if (align == 0) {
        align = cfg->obj_size & (~cfg->obj_size + 1u);
        if (align > HK_ALIGN)
            align = HK_ALIGN;
    }
    if (!hk__is_pow2(align) || (cfg->slab_size && !hk__is_pow2(cfg->slab_size))) {
        hk__report(HK_EINVAL, cache, "slab init: align or slab_size not a power of two");
        return HK_EINVAL;
    }
    if (align < sizeof(void *))
        align = sizeof(void *);
    size_t lim = (SIZE_MAX >> 4) / 8u;
    if (cfg->obj_size > lim || align > lim || cfg->slab_size > lim) {
        hk__report(HK_ERANGE, cache, "slab init: sizes overflow");
        return HK_ERANGE;
    }
    size_t stride = hk__align_up(cfg->obj_size, align);
    size_t size = cfg->slab_size ? cfg->slab_size : 512u;
    size_t per = 0, words = 0, first = 0;
    for (;;) {
        size_t per0 = size > sizeof(slab_t) ? (size - sizeof(slab_t)) / stride : 0;
        words = (per0 + 31u) / 32u;
        first = hk__align_up(sizeof(slab_t) + words * sizeof(uint32_t), align);
        per = size > first ? (size - first) / stride : 0;
        if (cfg->slab_size || per >= 8u || size > lim)
            break;
        size <<= 1;
    }
    if (per == 0) {
        hk__report(HK_EINVAL, cache, "slab init: slab_size too small for the header and one object");
        return HK_EINVAL;
    }
    hk__memset(cache, 0, sizeof *cache);
    cache->heap = heap;
    cache->obj_size = cfg->obj_size;
    cache->stride = stride;
    cache->slab_size = size;
    cache->per_slab = per;
    cache->first_off = first;
    cache->bitmap_words = words;
    cache->max_empty = cfg->max_empty;
    hk__usage_init(cache_usage(cache), 0);
    if (cfg->lock)
        cache->lock = *cfg->lock;
    return HK_OK;
}

void *hk_slab_alloc(hk_slab_cache_t *cache)
{
    if (HK_UNLIKELY(!cache)) {
        hk__report(HK_EINVAL, NULL, "slab alloc: NULL cache");
        return NULL;
    }
    hk_slab_cache_t *c = cache;
    uintptr_t lk_saved = cache_lock(c);
    slab_t *s = c->partial;
    if (HK_UNLIKELY(!s)) {
        s = c->empty;
        if (s) {
            list_move(c, s, LIST_PARTIAL);
            c->nempty--;
        } else if (!(s = slab_grow(c))) {
            c->failed++;
            cache_unlock(c, lk_saved);
            return NULL;
        }
    }
    unsigned char *p = s->free_list;
    if (p) {
        unsigned char *next = link_get(p);
        if (HK_UNLIKELY(next && (next < slab_objs(c, s) || next >= s->bump))) {
            hk__report(HK_ECORRUPT, p, "slab: free object overwritten (use after free?)");
            c->failed++;
            cache_unlock(c, lk_saved);
            return NULL;
        }
        s->free_list = next;
    } else {
        p = s->bump;
        s->bump += c->stride;
    }
    slab_bit_flip(s, slab_index(c, s, p));
    if (++s->inuse == c->per_slab)
        list_move(c, s, LIST_FULL);
    c->allocs++;
    c->used++;
    hk__usage_take(cache_usage(c), c->stride);
    cache_unlock(c, lk_saved);
    return p;
}

void hk_slab_free(hk_slab_cache_t *cache, void *p)
{
    if (!p)
        return;
    if (HK_UNLIKELY(!cache)) {
        hk__report(HK_EINVAL, p, "slab free: NULL cache");
        return;
    }
    hk_slab_cache_t *c = cache;
    uintptr_t lk_saved = cache_lock(c);
    slab_t *s = slab_of(c, p);
    unsigned char *q = p;
    if (HK_UNLIKELY(s->check != slab_check_word(c, s))) {
        hk__report(HK_EBADPTR, p, "slab: not an object of this cache (foreign pointer?)");
    } else if (HK_UNLIKELY(q < slab_objs(c, s) || q >= s->bump
                           || (size_t)(q - slab_objs(c, s)) % c->stride)) {
        hk__report(HK_EBADPTR, p, "slab: not on an object boundary (interior pointer?)");
    } else if (HK_UNLIKELY(!slab_bit(s, slab_index(c, s, p)))) {
        hk__report(HK_EDOUBLEFREE, p, "slab: object already free (double free?)");
    } else {
        slab_bit_flip(s, slab_index(c, s, p));
        link_set(p, s->free_list);
        s->free_list = p;
        bool was_full = s->inuse-- == c->per_slab;
        c->used--;
        c->frees++;
        hk__usage_give(cache_usage(c), c->stride);
        if (s->inuse == 0) {
            list_move(c, s, LIST_EMPTY);
            if (++c->nempty > c->max_empty)
                slab_release(c, s);
        } else if (was_full) {
            list_move(c, s, LIST_PARTIAL);
        }
    }
    cache_unlock(c, lk_saved);
}

size_t hk_slab_shrink(hk_slab_cache_t *cache)
{
    if (!cache)
        return 0;
    uintptr_t lk_saved = cache_lock(cache);
    size_t n = 0;
    while (cache->empty) {
        slab_release(cache, cache->empty);
        n++;
    }
    cache_unlock(cache, lk_saved);
    return n;
}

int hk_slab_destroy(hk_slab_cache_t *cache)
{
    if (!cache) {
        hk__report(HK_EINVAL, NULL, "slab destroy: NULL cache");
        return HK_EINVAL;
    }
    uintptr_t lk_saved = cache_lock(cache);
    int rc = HK_OK;
    if (cache->used) {
        hk__report(HK_EBUSY, cache, "slab destroy: objects still allocated (leak?)");
        rc = HK_EBUSY;
    } else {
        while (cache->partial) {
            list_move(cache, cache->partial, LIST_EMPTY);
            cache->nempty++;
        }
        while (cache->empty)
            slab_release(cache, cache->empty);
    }
    cache_unlock(cache, lk_saved);
    return rc;
}

size_t hk_slab_per_slab(const hk_slab_cache_t *cache)
{
    return cache ? cache->per_slab : 0;
}

size_t hk_slab_obj_size(const hk_slab_cache_t *cache)
{
    return cache ? cache->obj_size : 0;
}

void hk_slab_get_stats(const hk_slab_cache_t *cache, hk_stats_t *out)
{
    if (!out)
        return;
    hk__memset(out, 0, sizeof *out);
    if (!cache)
        return;
    uintptr_t lk_saved = cache_lock(cache);
    const hk_slab_cache_t *c = cache;
    size_t slots = c->nslabs * c->per_slab, nfree = slots - c->used;
    hk__usage_fill(cache_usage_c(c), out);
    out->largest_free = nfree ? c->obj_size : 0;
    out->free_blocks = nfree;
    out->used_blocks = c->used;
    out->requested = c->used * c->obj_size;
    out->allocs = c->allocs;
    out->frees = c->frees;
    out->failed_allocs = c->failed;
    cache_unlock(cache, lk_saved);
}

void hk_slab_reset_marks(hk_slab_cache_t *cache)
{
    if (!cache)
        return;
    uintptr_t lk_saved = cache_lock(cache);
    hk__usage_reset(cache_usage(cache));
    cache_unlock(cache, lk_saved);
}

/* ---- validation -------------------------------------------------------- */
static const char *slab_check_one(const hk_slab_cache_t *c, const slab_t *s, size_t which,
                                  const void **where)
{
    *where = s;
    if ((uintptr_t)s & (c->slab_size - 1u) || s->check != slab_check_word(c, s))
        return "slab: header check word damaged";
    if (s->list != which)
        return "slab: on the wrong list";
    const unsigned char *objs = slab_objs(c, s);
    if (s->bump < objs || s->bump > objs + c->per_slab * c->stride
        || (size_t)(s->bump - objs) % c->stride)
        return "slab: bump pointer out of place";
    size_t carved = (size_t)(s->bump - objs) / c->stride;
    if (s->inuse > carved)
        return "slab: used count above the carved objects";
    if ((which == LIST_FULL) != (s->inuse == c->per_slab) || (which == LIST_EMPTY) != (s->inuse == 0))
        return "slab: list disagrees with the used count";
    size_t nfree = 0;
    for (const unsigned char *p = s->free_list; p; p = link_get(p)) {
        *where = p;
        if (p < objs || p >= s->bump || (size_t)(p - objs) % c->stride)
            return "slab: free-list link out of place (use after free?)";
        if (slab_bit(s, slab_index(c, s, p)))
            return "slab: free object marked in use";
        if (++nfree > carved - s->inuse)
            return "slab: free list too long (cycle?)";
    }
    *where = s;
    if (nfree != carved - s->inuse)
        return "slab: free list disagrees with the used count";
    size_t bits = 0;
    for (size_t i = 0; i < c->per_slab; i++)
        bits += slab_bit(s, i);
    if (bits != s->inuse)
        return "slab: bitmap disagrees with the used count";
    return NULL;
}

int hk_slab_validate(const hk_slab_cache_t *cache)
{
    if (!cache || !cache->heap) {
        hk__report(HK_EINVAL, cache, "slab validate: NULL or uninitialised cache");
        return HK_EINVAL;
    }
    uintptr_t lk_saved = cache_lock(cache);
    const hk_slab_cache_t *c = cache;
    const void *where = c;
    const char *why = NULL;
    if (!hk__is_pow2(c->slab_size) || c->per_slab == 0
        || c->first_off + c->per_slab * c->stride > c->slab_size || c->stride < c->obj_size)
        why = "slab: cache geometry damaged";
    size_t nslabs = 0, nempty = 0, used = 0;
    const slab_t *const heads[3] = { c->partial, c->full, c->empty };
    for (size_t l = 0; !why && l < 3; l++) {
        const slab_t *prev = NULL;
        for (const slab_t *s = heads[l]; s && !why; prev = s, s = s->next) {
            if (++nslabs > c->nslabs) {
                why = "slab: more slabs on the lists than counted (cycle?)";
                break;
            }
            why = slab_check_one(c, s, l + 1, &where);
            if (!why && s->prev != prev)
                why = "slab: list back link damaged";
            if (!why) {
                used += s->inuse;
                nempty += l == 2;
            }
        }
    }
    if (!why && (nslabs != c->nslabs || nempty != c->nempty || used != c->used)) {
        where = c;
        why = "slab: counters disagree with the slabs";
    }
    const hk__usage_t *u = cache_usage_c(c);
    if (!why && (!hk__usage_ok(u) || u->total != c->nslabs * c->slab_size
                 || u->used != u->total - (c->nslabs * c->per_slab - c->used) * c->stride)) {
        where = c;
        why = "slab: usage counter disagrees with the slabs";
    }
    cache_unlock(cache, lk_saved);
    if (why) {
        hk__report(HK_ECORRUPT, where, why);
        return HK_ECORRUPT;
    }
    return hk_heap_validate(c->heap) == HK_OK ? HK_OK : HK_ECORRUPT;
}
