/* SPDX-License-Identifier: MIT */
/*
 * test_debug_campaign.c - the corruption campaign: thousands of random
 * single-byte and single-bit corruptions of a live heap, one at a time,
 * each followed by validate, freeing every live block, a few allocations
 * and validate again. It counts, per kind of corruption, how often a report
 * came out, prints the table, and asserts:
 *   - nothing crashes or hangs (the run completes; the sanitizer build and
 *     the debug stage run it too);
 *   - HK_DEBUG >= 1: at least 99.9% of header corruptions are reported, and
 *     every corruption of a canary, a free-list link or a freed payload;
 *   - HK_DEBUG == 0: only validate runs after a corruption (the cheap
 *     checks do not promise to survive arbitrary damage), and it must see at
 *     least 99% of header and link corruptions.
 * The heap is restored from a snapshot between trials, so each trial starts
 * from the same healthy state. Fixed seeds.
 */
#include "heap/heap_impl.h" /* white box: walk blocks to pick targets */
#include "test_debug_util.h"

#define CHEAP 8192u
#define MAXLIVE 64

enum { K_USED_HDR, K_FREE_HDR, K_CANARY, K_LINK, K_FREED, K_COUNT };
static const char *const kind_name[K_COUNT] = {
    "used block header", "free block header/footer", "canary (overflow)",
    "free-list link", "freed payload (UAF write)",
};

typedef struct {
    hk_heap_t *h;
    unsigned char *mem, *snap;
    void *live[MAXLIVE];
    unsigned nlive;
    unsigned long tried[K_COUNT], caught[K_COUNT];
} camp_t;

static void copy_bytes(unsigned char *d, const unsigned char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        d[i] = s[i];
}

static void build(camp_t *c, hk_fit_t fit, hk_rng_t *r)
{
    hk_heap_config_t cfg = test_cfg(fit);
    cfg.bottom_cut = false; /* the default placement: no layout is named here */
    c->h = hk_heap_init(c->mem, CHEAP, &cfg);
    void *all[MAXLIVE];
    unsigned n = 0;
    while (n < MAXLIVE) {
        void *p = hk_heap_alloc(c->h, 1 + (size_t)hk_rng_below(r, 120));
        if (!p)
            break;
        all[n++] = p;
    }
    c->nlive = 0;
    for (unsigned i = 0; i < n; i++) {
        if (hk_rng_below(r, 3) == 0 || i + 8 >= n)
            hk_heap_free(c->h, all[i]); /* free blocks scattered, and a free tail */
        else
            c->live[c->nlive++] = all[i];
    }
    copy_bytes(c->snap, c->mem, CHEAP);
}

/* Picks the n-th (mod count) block matching `want_free`, with room for the
 * kind's bytes. Returns its header address or 0. */
static uintptr_t pick_block(const hk_heap_t *h, int want_free, size_t min_size, uint64_t n)
{
    unsigned count = 0;
    for (int pass = 0; pass < 2; pass++) {
        unsigned i = 0;
        for (uintptr_t a = h->first_region.first; a < h->first_region.end;) {
            const hk_block_t *b = (const hk_block_t *)(const void *)a;
            size_t size = b->head & ~(size_t)7;
            if ((int)block_is_free(b) == want_free && size >= min_size) {
                if (pass == 1 && i == n % count)
                    return a;
                i++;
            }
            a += size;
        }
        count = i;
        if (!count)
            return 0;
    }
    return 0;
}

/* The byte to corrupt for `kind`, or NULL if this heap has no such target. */
static unsigned char *pick_target(const camp_t *c, unsigned kind, hk_rng_t *r)
{
    uint64_t n = hk_rng_next(r);
    uintptr_t b;
    switch (kind) {
    case K_USED_HDR:
        b = pick_block(c->h, 0, 0, n);
        return b ? (unsigned char *)b + hk_rng_below(r, HK_W) : NULL;
    case K_FREE_HDR: {
        b = pick_block(c->h, 1, 0, n);
        if (!b)
            return NULL;
        size_t size = *(size_t *)b & ~(size_t)7;
        size_t off = (size_t)hk_rng_below(r, 2 * HK_W);
        return (unsigned char *)b + (off < HK_W ? off : size - 2 * HK_W + off);
    }
    case K_CANARY:
        b = pick_block(c->h, 0, 0, n);
        if (!b)
            return NULL;
        return (unsigned char *)b + HK_W + hk_heap_usable_size(c->h, (void *)(b + HK_W)) +
               hk_rng_below(r, 4);
    case K_LINK:
        b = pick_block(c->h, 1, 0, n);
        return b ? (unsigned char *)b + HK_W + hk_rng_below(r, 2 * HK_W) : NULL;
    default:
        b = pick_block(c->h, 1, 5 * HK_W, n);
        if (!b)
            return NULL;
        size_t size = *(size_t *)b & ~(size_t)7;
        return (unsigned char *)b + 3 * HK_W + hk_rng_below(r, size - 4 * HK_W);
    }
}

static void trial(camp_t *c, unsigned kind, hk_rng_t *r)
{
    copy_bytes(c->mem, c->snap, CHEAP);
    unsigned char *t = pick_target(c, kind, r);
    if (!t)
        return;
    if (hk_rng_below(r, 2))
        *t ^= (unsigned char)(1u << hk_rng_below(r, 8)); /* one bit */
    else
        *t ^= (unsigned char)(1 + hk_rng_below(r, 255)); /* one byte, changed */
    uint64_t before = hk_error_count();
    hk_heap_validate(c->h);
#if HK_DEBUG >= 1
    for (unsigned i = 0; i < c->nlive; i++)
        hk_heap_free(c->h, c->live[i]);
    for (size_t n = 16; n < 2000; n = n * 3 + 5)
        hk_heap_free(c->h, hk_heap_alloc(c->h, n));
    hk_heap_validate(c->h);
#endif
    c->tried[kind]++;
    c->caught[kind] += hk_error_count() != before;
}

static camp_t camp;

static void test_campaign(void)
{
    size_t sz;
    unsigned char *arena = hk_test_arena(&sz);
    HK_REQUIRE(sz >= 2 * CHEAP + 64);
    camp.mem = arena;
    camp.snap = arena + CHEAP + 64;
    unsigned per_kind = 400u / HK_TEST_SCALE_DIV + 10u;
    hk_test_capture_errors();
    for (unsigned f = 0; f < TEST_NFITS; f++) {
        hk_rng_t r;
        hk_rng_seed(&r, 0xC0FFEE + f);
        build(&camp, test_fits[f], &r);
        HK_REQUIRE(camp.h != NULL && camp.nlive > 8);
        HK_REQUIRE(hk_heap_validate(camp.h) == 0);
        for (unsigned k = 0; k < K_COUNT; k++) {
            if (HK_DEBUG == 0 && (k == K_CANARY || k == K_FREED))
                continue; /* nothing to find at level 0 */
            for (unsigned i = 0; i < per_kind; i++)
                trial(&camp, k, &r);
        }
    }
    hk_test_printf("  corruption campaign, HK_DEBUG=%d (%s):\n", HK_DEBUG,
                   HK_DEBUG ? "validate + free all + allocs + validate" : "validate only");
    for (unsigned k = 0; k < K_COUNT; k++) {
        if (!camp.tried[k])
            continue;
        unsigned long permille = camp.caught[k] * 1000ul / camp.tried[k];
        hk_test_printf("    %s: %lu tried, %lu caught, %lu.%lu%%\n", kind_name[k],
                       camp.tried[k], camp.caught[k], permille / 10, permille % 10);
    }
    unsigned long t = camp.tried[K_USED_HDR] + camp.tried[K_FREE_HDR];
    unsigned long d = camp.caught[K_USED_HDR] + camp.caught[K_FREE_HDR];
    HK_CHECK(t > 100);
#if HK_DEBUG >= 1
    HK_CHECK(d * 1000 >= t * 999);
    HK_CHECK_EQ(camp.caught[K_CANARY], camp.tried[K_CANARY]);
    HK_CHECK_EQ(camp.caught[K_LINK], camp.tried[K_LINK]);
    HK_CHECK_EQ(camp.caught[K_FREED], camp.tried[K_FREED]);
#else
    HK_CHECK(d * 100 >= t * 99);
    HK_CHECK(camp.caught[K_LINK] * 100 >= camp.tried[K_LINK] * 99);
#endif
}

HK_SUITE(debug_campaign)
{
    HK_RUN(test_campaign);
}
