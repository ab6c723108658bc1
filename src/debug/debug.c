/* SPDX-License-Identifier: MIT */
/*
 * debug.c - the heap's observer (HK_DEBUG >= 1): block trailers and their
 * keyed check words, fill patterns and the debug validator, behind the
 * hooks the heap declares in heap/observe.h. The heap runs every call on its
 * one path and calls these hooks on the way; this file never changes the
 * heap's index or counters: where damage needs repair, it notes it
 * (hk__heap_flag) and the heap repairs it.
 *
 * How a used block looks at HK_DEBUG >= 1
 * ---------------------------------------
 *     B        header word: size | SLACK | PREV_FREE   (the heap's own)
 *     B + W    p: the caller's n bytes, filled with HK_DEBUG_ALLOC_BYTE
 *     p + n    trailer, at any byte alignment (read with memcpy, so ARMv6-M
 *              and big-endian targets are fine):
 *                 +0 canary   4 bytes, never 0x00 or 0xFF, keyed per block
 *                 +4 check    4 bytes, keyed hash (below)
 *                 +8 seq, +12 line, +16 tag, +20 file pointer
 *     ...      unused slack
 *     B+S-1    slack byte (always present at this level; block.h)
 * The heap sizes every block for n + HK_DBG_EXTRA bytes and still records n
 * as the requested size, so the trailer is found from the header alone:
 * p + size - W - slack. Putting it after the payload rather than before
 * keeps p == B + W, so aligned allocation, in-place realloc and every
 * white-box check of the heap work unchanged, and a one-byte overflow lands
 * on the canary first. An underflow lands on the heap's header, which the
 * check word covers.
 *
 * The check word
 * --------------
 * check = fmix(step(...step(secret, w1)..., wk)) over the words: header
 * (size and FREE/SLACK; PREV_FREE is left out because a neighbour's free
 * changes it legitimately), block address, n, seq, line, tag, file.
 * step(h, w) = rotl32((h ^ w) * 0x9E3779B1, 15) is a bijection in h for
 * each w and in w for each h, and fmix (Wellons' "lowbias32" finaliser,
 * also bijective) spreads the result; so a corruption confined to any one
 * covered word, or to the stored check, changes the result for certain, not
 * with probability 1 - 2^-32. That is why a keyed multiply-rotate chain was
 * chosen over a CRC (MutekH's choice): the same single-word guarantee that
 * matters for stray writes, at a fraction of the cost of a table-less CRC
 * on a Cortex-M0 (about 4 instructions per word instead of 8 per byte), and
 * keyed by a per-heap secret (hk_debug_set_entropy) so that a forged or
 * copied header from another heap or address does not verify.
 *
 * Freed memory
 * ------------
 * The free-interior invariant (heap/observe.h): every byte of a free block
 * except its header, links and footer holds HK_DEBUG_FREE_BYTE. Free fills
 * the payload before handing the block to the heap; the heap re-fills the
 * words it abandons on merges and the tails realloc gives back; allocation
 * checks the interior of the block it hands out. A difference is reported
 * as a write after free, and the block is handed out anyway: the heap's
 * structure was not touched (the links and tags are checked separately).
 */
#include "debug/debug_impl.h"

#if HK_DEBUG >= 1

#define W HK_W
#define FREE_WORD ((SIZE_MAX / 0xFFu) * (size_t)HK_DEBUG_FREE_BYTE)

enum { T_CANARY = 0, T_CHECK = 4, T_SEQ = 8, T_LINE = 12, T_TAG = 16, T_FILE = 20 };
_Static_assert(T_FILE + sizeof(void *) == HK_DBG_TRAILER, "trailer layout");

/* ---- the keyed hash ------------------------------------------------------ */
static uint32_t step(uint32_t h, uint32_t w)
{
    uint32_t x = (h ^ w) * 0x9E3779B1u;
    return (x << 15) | (x >> 17);
}

static uint32_t step_word(uint32_t h, size_t w)
{
    h = step(h, (uint32_t)w);
#if SIZE_MAX > 0xffffffffu
    h = step(h, (uint32_t)(w >> 32));
#endif
    return h;
}

static uint32_t fmix(uint32_t x)
{
    x ^= x >> 16;
    x *= 0x7feb352du;
    x ^= x >> 15;
    x *= 0x846ca68bu;
    x ^= x >> 16;
    return x;
}

static uint32_t check_of(const hk_heap_t *h, const hk_block_t *b, size_t n, uint32_t seq,
                         uint32_t line, uint32_t tag, const char *file)
{
    uint32_t x = step_word(h->dbg_secret, block_own_head(b));
    x = step_word(x, (size_t)(uintptr_t)b);
    x = step_word(x, n);
    x = step(x, seq);
    x = step(x, line);
    x = step(x, tag);
    x = step_word(x, (size_t)(uintptr_t)file);
    return fmix(x);
}

static uint32_t canary_of(const hk_heap_t *h, const hk_block_t *b)
{
    uint32_t x = fmix(step_word(h->dbg_secret ^ 0xC3A5C85Cu, (size_t)(uintptr_t)b));
    return (x & 0x7F7F7F7Fu) | 0x01010101u;
}

/* ---- trailer ------------------------------------------------------------- */
static uint32_t ld32(const unsigned char *p)
{
    uint32_t v;
    hk__memcpy(&v, p, sizeof v);
    return v;
}

static void st32(unsigned char *p, uint32_t v)
{
    hk__memcpy(p, &v, sizeof v);
}

static void trailer_write(const hk_heap_t *h, hk_block_t *b, size_t n, uint32_t seq,
                          const char *file, uint32_t line, uint32_t tag)
{
    unsigned char *t = (unsigned char *)block_payload(b) + n;
    HK_ASSERT(n + HK_DBG_EXTRA <= block_size(b) - W);
    st32(t + T_CANARY, canary_of(h, b));
    st32(t + T_SEQ, seq);
    st32(t + T_LINE, line);
    st32(t + T_TAG, tag);
    hk__memcpy(t + T_FILE, &file, sizeof file);
    st32(t + T_CHECK, check_of(h, b, n, seq, line, tag, file));
}

const char *hk__dbg_decode(const hk_heap_t *h, const hk_block_t *b, hk_dbg_block_t *d)
{
    size_t size = block_size(b), slack = block_slack(b);
    if (!block_has_slack(b))
        return "block header overwritten: slack flag cleared (underflow?)";
    if (slack < HK_DBG_EXTRA || slack > size - W)
        return "slack byte overwritten (overflow past the trailer?)";
    d->n = size - W - slack;
    const unsigned char *t = (const unsigned char *)block_payload(b) + d->n;
    d->seq = ld32(t + T_SEQ);
    d->line = ld32(t + T_LINE);
    d->tag = ld32(t + T_TAG);
    hk__memcpy(&d->file, t + T_FILE, sizeof d->file);
    if (ld32(t + T_CHECK) != check_of(h, b, d->n, d->seq, d->line, d->tag, d->file))
        return "check word mismatch: block header or trailer overwritten (overflow from "
               "below, underflow, or a stray write?)";
    d->canary_ok = ld32(t + T_CANARY) == canary_of(h, b);
    return NULL;
}

void hk__dbg_info(const hk_block_t *b, const hk_dbg_block_t *d, hk_alloc_info_t *out)
{
    out->ptr = block_payload(b);
    out->size = d->n;
    out->count = 1;
    out->file = d->file;
    out->line = d->line;
    out->tag = d->tag;
    out->seq = d->seq;
}

/* ---- reporting ------------------------------------------------------------ */
static const hk_alloc_info_t *error_site;

const hk_alloc_info_t *hk_debug_error_site(void)
{
    return error_site;
}

void hk__dbg_report_at(int code, const void *ptr, const char *why, const hk_alloc_info_t *site)
{
    error_site = site;
    hk__report(code, ptr, why);
    error_site = NULL;
}

static void report_block(int code, const hk_block_t *b, const hk_dbg_block_t *d,
                         const char *why)
{
    hk_alloc_info_t site;
    hk__dbg_info(b, d, &site);
    hk__dbg_report_at(code, block_payload(b), why, &site);
}

/* ---- fill patterns ------------------------------------------------------ */
#define ALLOC_WORD ((SIZE_MAX / 0xFFu) * (size_t)HK_DEBUG_ALLOC_BYTE)

/* Fills [lo, hi) with `word`: bytes up to a word boundary, four words per
 * step, then the tail bytes. Written out rather than memset so that the cost is the
 * same word loop on every target (and callgrind counts it as such: a
 * library memset may use rep stosb, which it counts per byte). */
static void fill(uintptr_t lo, uintptr_t hi, size_t word)
{
    uintptr_t a = lo;
    for (; (a & (W - 1)) && a < hi; a++)
        *(unsigned char *)a = (unsigned char)word;
    for (; hi - a >= 4 * W; a += 4 * W) {
        size_t *w = (size_t *)(void *)a;
        w[0] = word;
        w[1] = word;
        w[2] = word;
        w[3] = word;
    }
    for (; hi - a >= W; a += W)
        *(size_t *)(void *)a = word;
    for (; a < hi; a++)
        *(unsigned char *)a = (unsigned char)word;
}

void hk__obs_poison(uintptr_t lo, uintptr_t hi)
{
    if (lo < hi)
        fill(lo, hi, FREE_WORD);
}

/* The first byte of the word-aligned [lo, hi) that lost the free pattern, or
 * 0. Four words per step (one test of the OR of their differences), since
 * this check is most of what level 1 costs on large blocks. */
static uintptr_t poison_diff(uintptr_t lo, uintptr_t hi)
{
    uintptr_t a = lo;
    for (; hi - a >= 4 * W; a += 4 * W) {
        const size_t *w = (const size_t *)(const void *)a;
        if (HK_UNLIKELY(((w[0] ^ FREE_WORD) | (w[1] ^ FREE_WORD) | (w[2] ^ FREE_WORD) |
                         (w[3] ^ FREE_WORD)) != 0))
            break;
    }
    for (; a < hi; a += W) {
        if (HK_LIKELY(*(const size_t *)(const void *)a == FREE_WORD))
            continue;
        while (*(const unsigned char *)a == HK_DEBUG_FREE_BYTE)
            a++;
        return a;
    }
    return 0;
}

static uintptr_t free_interior_diff(const hk_block_t *b)
{
    uintptr_t a = (uintptr_t)b;
    return poison_diff(a + 3 * W, a + block_size(b) - W);
}

void hk__obs_split(hk_heap_t *h, uintptr_t t)
{
    (void)h;
    uintptr_t bad = poison_diff(t - W, t + 3 * W);
    if (HK_UNLIKELY(bad))
        hk__dbg_report_at(HK_ECORRUPT, (const void *)bad,
                          "freed memory was written after its free (use after free?)", NULL);
}

void hk__obs_resized(hk_heap_t *h, hk_block_t *b, uintptr_t oldb, size_t oldsize)
{
    (void)h;
    hk_block_t *t = block_next(b);
    if (!block_is_free(t))
        return;
    uintptr_t lo = (uintptr_t)t + 3 * W, hi = (uintptr_t)t + block_size(t) - W;
    if (lo < oldb - W)
        lo = oldb - W;
    if (hi > oldb + oldsize + 3 * W)
        hi = oldb + oldsize + 3 * W;
    hk__obs_poison(lo, hi);
}

/* ---- the per-heap secret ------------------------------------------------- */
static uint32_t (*entropy_fn)(void *ctx);
static void *entropy_ctx;
static uint32_t heaps_made;

void hk__obs_heap_init(hk_heap_t *h)
{
    uint32_t s = step_word(0x6B656170u + ++heaps_made, (size_t)(uintptr_t)h);
    if (entropy_fn)
        s = step(step(s, entropy_fn(entropy_ctx)), entropy_fn(entropy_ctx));
    h->dbg_secret = fmix(s);
    h->dbg_seq = 1;
    /* with no hook installed, reports follow HK_DEBUG_POLICY (common owns
     * the slot; the policy registers itself, common names nothing above) */
    hk__set_fallback_error_hook(hk_debug_policy_hook);
}

void hk_debug_set_entropy(uint32_t (*fn)(void *ctx), void *ctx)
{
    entropy_fn = fn;
    entropy_ctx = ctx;
}

/* Checks every live block's trailer and, with free_bytes, every free
 * block's interior. Only after the heap's own check passed (sizes sane). */
static const char *debug_walk(const hk_heap_t *h, bool free_bytes, const void **where,
                              hk_alloc_info_t *site, bool *has_site)
{
    for (const hk_region_t *r = h->regions; r; r = r->next) {
        for (uintptr_t a = r->first; a < r->end; a += block_size(block_at(a))) {
            const hk_block_t *b = block_at(a);
            if (block_is_free(b)) {
                uintptr_t bad = free_bytes ? free_interior_diff(b) : 0;
                if (bad) {
                    *where = (const void *)bad;
                    return "freed memory was written after its free (use after free?)";
                }
                continue;
            }
            hk_dbg_block_t d;
            const char *why = hk__dbg_decode(h, b, &d);
            *where = block_payload(b);
            if (why)
                return why;
            if (!d.canary_ok) {
                hk__dbg_info(b, &d, site);
                *has_site = true;
                return "canary after the block overwritten: buffer overflow";
            }
        }
    }
    return NULL;
}

#if HK_DEBUG >= 3
/* After each operation, lock held (the heap has repaired any damage it met
 * on the way): check the whole heap and every live block's marks. */
void hk__obs_after_op(hk_heap_t *h)
{
    const void *where = h;
    hk_alloc_info_t site;
    bool has_site = false;
    const char *why = hk__heap_check(h, &where);
    if (!why)
        why = debug_walk(h, false, &where, &site, &has_site);
    if (why)
        hk__dbg_report_at(HK_ECORRUPT, where, why, has_site ? &site : NULL);
}
#endif

/* ---- the checked pointer -------------------------------------------------- */
bool hk__obs_ptr_ok(const hk_heap_t *h, const void *p)
{
    uintptr_t a = (uintptr_t)p;
    if (!(a & (HK_G - 1)) && a >= W && hk__heap_region_of(h, a - W) &&
        *(const size_t *)(const void *)(a - W) == FREE_WORD) {
        hk__dbg_report_at(HK_EDOUBLEFREE, p,
                          "pointer into freed memory: double free of a block that merged "
                          "with its neighbour?",
                          NULL);
        return false;
    }
    return true;
}

/* Decodes the trailer of b, which passed the heap's checks; false (and
 * reported) if its check word fails. */
static bool decoded(const hk_heap_t *h, const hk_block_t *b, hk_dbg_block_t *d)
{
    const char *why = hk__dbg_decode(h, b, d);
    if (HK_UNLIKELY(why != NULL)) {
        hk__dbg_report_at(HK_ECORRUPT, b, why, NULL);
        return false;
    }
    return true;
}

bool hk__obs_live(const hk_heap_t *h, const hk_block_t *b)
{
    hk_dbg_block_t d;
    return decoded(h, b, &d);
}

/* One rule for every damage found on a block being freed or resized (a
 * failed check word is refused by decoded() already): report it and
 * refuse the call, leaving the block allocated and the heap valid. */
static bool refuse_if_damaged(const hk_block_t *b, const hk_dbg_block_t *d)
{
    if (HK_LIKELY(d->canary_ok))
        return false;
    report_block(HK_ECORRUPT, b, d,
                 "canary after the block overwritten: buffer overflow (block not freed)");
    return true;
}

bool hk__obs_freeing(hk_heap_t *h, hk_block_t *b)
{
    hk_dbg_block_t d;
    if (!decoded(h, b, &d) || refuse_if_damaged(b, &d))
        return false;
    uintptr_t a = (uintptr_t)b;
    hk__obs_poison(a + 3 * W, a + block_size(b) - W);
    return true;
}

bool hk__obs_resizing(hk_heap_t *h, hk_block_t *b, hk_obs_t *ob)
{
    hk_dbg_block_t d;
    if (!decoded(h, b, &d) || refuse_if_damaged(b, &d))
        return false;
    hk__dbg_info(b, &d, ob);
    return true;
}

/* ---- allocation ------------------------------------------------------------ */
void hk__obs_handed_out(hk_heap_t *h, void *p, size_t n, const hk_site_t *site)
{
    if (!p)
        return;
    hk_block_t *b = block_from_payload(p);
    uintptr_t bad = free_interior_diff(b);
    if (HK_UNLIKELY(bad))
        hk__dbg_report_at(HK_ECORRUPT, (const void *)bad,
                          "freed memory was written after its free (use after free?)", NULL);
    fill((uintptr_t)p, (uintptr_t)p + n, ALLOC_WORD);
    trailer_write(h, b, n, h->dbg_seq++, site ? site->file : NULL, site ? site->line : 0,
                  site ? site->tag : 0);
}

/* After a failed allocation: a cut free list (a NULL link where a block
 * should follow) looks like a normal end of list, and hides free blocks.
 * Failing is the rare path, so check the whole heap there; on damage, note
 * it: the heap reports it, rebuilds its index and tries once more. */
bool hk__obs_alloc_failed(hk_heap_t *h)
{
    const void *where = h;
    const char *why = hk__heap_check(h, &where);
    if (!why)
        return false;
    hk__heap_flag(h, where, why);
    return true;
}

void hk__obs_reallocated(hk_heap_t *h, void *q, size_t n, const hk_obs_t *ob,
                         const hk_site_t *site)
{
    if (!q)
        return;
    if (n > ob->size) /* the new bytes get the alloc pattern */
        fill((uintptr_t)q + ob->size, (uintptr_t)q + n, ALLOC_WORD);
    bool new_site = site && site->file;
    trailer_write(h, block_from_payload(q), n, ob->seq, new_site ? site->file : ob->file,
                  new_site ? site->line : ob->line, new_site ? site->tag : ob->tag);
}

/* ---- validate ---------------------------------------------------------------- */
const char *hk__obs_validate(const hk_heap_t *h, const void **where, hk_obs_t *ob)
{
    bool has_site = false;
    const char *why = debug_walk(h, true, where, ob, &has_site);
    if (!has_site)
        ob->ptr = NULL;
    return why;
}

void hk__obs_report(int code, const void *where, const char *why, const hk_obs_t *ob)
{
    hk__dbg_report_at(code, where, why, ob && ob->ptr ? ob : NULL);
}

#else /* HK_DEBUG == 0: no observer; the site is not recorded */

const hk_alloc_info_t *hk_debug_error_site(void)
{
    return NULL;
}

void hk_debug_set_entropy(uint32_t (*fn)(void *ctx), void *ctx)
{
    (void)fn, (void)ctx;
}

#endif
