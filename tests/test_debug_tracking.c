/* SPDX-License-Identifier: MIT */
/*
 * test_debug_tracking.c - allocation sites, the leak check, the per-site
 * report, the keyed check word, and the policy hook's formatting.
 * HK_DEBUG >= 1 for tracking; the formatter and hook work at every level.
 */
#include "test_debug_util.h"

static int contains(const char *s, const char *w)
{
    for (; *s; s++) {
        const char *p = s, *q = w;
        while (*q && *p == *q)
            p++, q++;
        if (!*q)
            return 1;
    }
    return 0;
}

#if HK_DEBUG >= 1
static int streq(const char *a, const char *b)
{
    while (*a && *a == *b)
        a++, b++;
    return *a == *b;
}

typedef struct {
    unsigned n;
    hk_alloc_info_t got[24];
} collect_t;

static void collect(const hk_alloc_info_t *info, void *ctx)
{
    collect_t *c = ctx;
    if (c->n < 24)
        c->got[c->n] = *info;
    c->n++;
}

static void leaks_and_report(hk_fit_t fit)
{
    dfix_t f = dfix(fit);
    HK_REQUIRE(f.h != NULL);
    uint32_t mark = hk_heap_seq(f.h);
    HK_CHECK(mark > 0);
    void *x[3], *y[2];
    unsigned xline = 0, yline = 0;
    for (unsigned i = 0; i < 3; i++) {
        xline = __LINE__ + 1;
        x[i] = HK_ALLOC(f.h, 100);
    }
    for (unsigned i = 0; i < 2; i++) {
        yline = __LINE__ + 1;
        y[i] = HK_ALLOC_TAG(f.h, 300, 42);
    }
    void *z = hk_heap_alloc(f.h, 7); /* no site */
    hk_heap_free(f.h, x[1]);
    HK_CHECK_EQ(hk_heap_seq(f.h), mark + 6);

    collect_t c = { 0, { { 0 } } };
    HK_CHECK_EQ(hk_heap_leaks(f.h, mark, collect, &c), 5);
    HK_CHECK_EQ(c.n, 5);
    unsigned xs = 0, ys = 0, zs = 0;
    for (unsigned i = 0; i < c.n && i < 24; i++) {
        const hk_alloc_info_t *g = &c.got[i];
        HK_CHECK(g->seq >= mark);
        if (g->ptr == z) {
            zs++;
            HK_CHECK(g->file == NULL && g->size == 7);
        } else if (g->line == xline) {
            xs++;
            HK_CHECK(streq(g->file, __FILE__) && g->size == 100 && g->tag == 0);
            HK_CHECK(g->ptr == x[0] || g->ptr == x[2]);
        } else if (g->line == yline) {
            ys++;
            HK_CHECK(g->size == 300 && g->tag == 42);
        }
    }
    HK_CHECK(xs == 2 && ys == 2 && zs == 1);
    c.n = 0; /* everything since the start: a and c of the fixture too */
    HK_CHECK_EQ(hk_heap_leaks(f.h, 0, collect, &c), 7);

    c.n = 0;
    HK_CHECK_EQ(hk_heap_report(f.h, collect, &c), 7);
    HK_CHECK_EQ(c.n, 3); /* y, x, and no site (z and the fixture's a and c) */
    HK_CHECK(c.got[0].line == yline && c.got[0].count == 2 && c.got[0].size == 600);
    HK_CHECK(c.got[1].line == xline && c.got[1].count == 2 && c.got[1].size == 200);
    for (unsigned i = 1; i < c.n; i++)
        HK_CHECK(c.got[i - 1].size >= c.got[i].size);

    /* more sites than the table: the rest are summed in one last line */
    void *many[20];
    for (unsigned i = 0; i < 20; i++)
        many[i] = hk_heap_alloc_at(f.h, 10, "many.c", 1000 + i, 0);
    c.n = 0;
    HK_CHECK_EQ(hk_heap_report(f.h, collect, &c), 27);
    HK_CHECK_EQ(c.n, HK_DEBUG_REPORT_SITES + 1u);
    size_t total = 0;
    for (unsigned i = 0; i < c.n && i < 24; i++)
        total += c.got[i].count;
    HK_CHECK_EQ(total, 27);
    HK_CHECK(c.got[HK_DEBUG_REPORT_SITES].file == NULL);
    for (unsigned i = 0; i < 20; i++)
        hk_heap_free(f.h, many[i]);

    /* realloc keeps the block's sequence (it is the same allocation) */
    uint32_t mark2 = hk_heap_seq(f.h);
    y[0] = hk_heap_realloc(f.h, y[0], 2000);
    c.n = 0;
    HK_CHECK_EQ(hk_heap_leaks(f.h, mark2, collect, &c), 0);
    c.n = 0;
    hk_heap_leaks(f.h, mark, collect, &c);
    unsigned found = 0;
    for (unsigned i = 0; i < c.n && i < 24; i++)
        found += c.got[i].ptr == y[0] && c.got[i].line == yline && c.got[i].size == 2000;
    HK_CHECK_EQ(found, 1);

    hk_heap_free(f.h, x[0]);
    hk_heap_free(f.h, x[2]);
    hk_heap_free(f.h, y[0]);
    hk_heap_free(f.h, y[1]);
    hk_heap_free(f.h, z);
    c.n = 0;
    HK_CHECK_EQ(hk_heap_leaks(f.h, mark, collect, &c), 0); /* no leaks */
    HK_CHECK_EQ(hk_test_errors.count, 0);
    still_usable(&f, 1);
}

/* The check word is keyed per heap: a block copied from another heap (here
 * the same address, re-initialised with other entropy) does not verify. */
static uint32_t fixed_entropy(void *ctx)
{
    return *(const uint32_t *)ctx;
}

static void keyed_check(void)
{
    size_t sz;
    unsigned char *mem = hk_test_arena(&sz);
    static unsigned char copy[256];
    uint32_t e = 1;
    hk_debug_set_entropy(fixed_entropy, &e);
    hk_heap_t *h = hk_heap_init(mem, DHEAP, NULL);
    HK_REQUIRE(h != NULL);
    unsigned char *p = hk_heap_alloc(h, 100);
    HK_REQUIRE(p != NULL);
    for (unsigned i = 0; i < 256; i++)
        copy[i] = (p - HK_W)[i];
    e = 2;
    h = hk_heap_init(mem, DHEAP, NULL);
    unsigned char *q = hk_heap_alloc(h, 100);
    HK_REQUIRE(q == p);
    for (unsigned i = 0; i < 256; i++)
        (q - HK_W)[i] = copy[i];
    hk_test_capture_errors();
    hk_heap_free(h, q);
    HK_CHECK_EQ(hk_test_errors.count, 1);
    HK_CHECK_EQ(hk_test_errors.last_code, HK_ECORRUPT);
    hk_debug_set_entropy(NULL, NULL);
}
#endif

/* The site-taking calls run the same path as the plain ones: under a lock
 * and an event hook (the path that takes the lock), each is locked and
 * unlocked once, tells the hook once, and at HK_DEBUG >= 1 leaves its site
 * in the block, whichever way the call goes (calloc, aligned above and at
 * the granule, realloc of NULL, realloc in place and moving). */
typedef struct {
    unsigned locks, depth, events;
} path_t;

static uintptr_t path_lock(void *ctx)
{
    path_t *t = ctx;
    t->locks++;
    t->depth++;
    return 7;
}

static void path_unlock(void *ctx, uintptr_t saved)
{
    path_t *t = ctx;
    HK_CHECK_EQ(saved, 7);
    t->depth--;
}

static void path_event(void *ctx, const hk_event_t *ev)
{
    path_t *t = ctx;
    HK_CHECK_EQ(t->depth, 1); /* told under the lock */
    (void)ev;
    t->events++;
}

#if HK_DEBUG >= 1
static unsigned site_line(hk_heap_t *h, const void *p)
{
    collect_t c = { 0, { { 0 } } };
    hk_heap_leaks(h, 0, collect, &c);
    for (unsigned i = 0; i < c.n && i < 24; i++)
        if (c.got[i].ptr == p)
            return c.got[i].file && streq(c.got[i].file, "site.c") ? c.got[i].line : 0;
    return 0;
}
#endif

static void sites_on_every_path(hk_fit_t fit)
{
    size_t sz;
    path_t t = { 0, 0, 0 };
    hk_lock_t lk = { path_lock, path_unlock, &t };
    hk_heap_config_t cfg = { 0 };
    cfg.fit = fit;
    cfg.lock = &lk;
#if HK_EVENTS
    cfg.event = path_event;
    cfg.event_ctx = &t;
    const unsigned ev_on = 1; /* events compiled in: each call tells the hook once */
#else
    const unsigned ev_on = 0;
    (void)path_event;
#endif
    hk_heap_t *h = hk_heap_init(hk_test_arena(&sz), DHEAP, &cfg);
    HK_REQUIRE(h != NULL);
    hk_test_capture_errors();
    void *p[6];
    p[0] = hk_heap_calloc_at(h, 5, 20, "site.c", 1, 0);
    p[1] = hk_heap_aligned_alloc_at(h, 64, 40, "site.c", 2, 0);
    p[2] = hk_heap_aligned_alloc_at(h, HK_ALIGN, 40, "site.c", 3, 0);
    p[3] = hk_heap_realloc_at(h, NULL, 50, "site.c", 4, 0);
    p[4] = hk_heap_alloc_at(h, 30, "site.c", 5, 0);
    p[5] = hk_heap_alloc_at(h, 30, "site.c", 6, 0); /* keeps p[4] from growing in place */
    for (unsigned i = 0; i < 6; i++)
        HK_REQUIRE(p[i] != NULL);
    HK_CHECK_EQ(((const unsigned char *)p[0])[99], 0);
    HK_CHECK_EQ((uintptr_t)p[1] & 63u, 0);
    void *in_place = hk_heap_realloc_at(h, p[3], 20, "site.c", 7, 0); /* shrinks */
    void *moved = hk_heap_realloc_at(h, p[4], 3000, NULL, 0, 0);       /* keeps line 5 */
    HK_REQUIRE(in_place == p[3] && moved != NULL);
    HK_CHECK_EQ(t.locks, 8);
    HK_CHECK_EQ(t.events, 8 * ev_on);
    HK_CHECK_EQ(t.depth, 0);
#if HK_DEBUG >= 1
    HK_CHECK_EQ(site_line(h, p[0]), 1);
    HK_CHECK_EQ(site_line(h, p[1]), 2);
    HK_CHECK_EQ(site_line(h, p[2]), 3);
    HK_CHECK_EQ(site_line(h, in_place), 7);
    HK_CHECK_EQ(site_line(h, moved), 5);
    HK_CHECK_EQ(site_line(h, p[5]), 6);
#endif
    HK_CHECK_EQ(hk_heap_usable_size(h, moved), hk_test_reported(3000));
    hk_heap_free(h, p[0]);
    hk_heap_free(h, p[1]);
    hk_heap_free(h, p[2]);
    hk_heap_free(h, in_place);
    hk_heap_free(h, moved);
    hk_heap_free(h, p[5]);
    HK_CHECK_EQ(t.events, 14 * ev_on);
    HK_CHECK_EQ(t.depth, 0);
    HK_CHECK_EQ(hk_test_errors.count, 0);
    HK_CHECK_EQ(hk_heap_validate(h), 0);
}

static char logged[256];
static unsigned nlogged;
static void log_sink(const char *line, void *ctx)
{
    (void)ctx;
    unsigned i = 0;
    for (; line[i] && i + 1 < sizeof logged; i++)
        logged[i] = line[i];
    logged[i] = 0;
    nlogged++;
}

static void test_policy_hook(void)
{
    char buf[160];
    hk_alloc_info_t site = { NULL, 48, 1, "src/app/net.c", 321, 9, 17 };
    size_t n = hk_debug_format(buf, sizeof buf, HK_EDOUBLEFREE, (void *)(uintptr_t)0x1000,
                               "block is already free: double free?", &site);
    HK_CHECK(n > 40 && n < sizeof buf);
    HK_CHECK(contains(buf, "HK_EDOUBLEFREE"));
    HK_CHECK(contains(buf, "at 0x1000"));
    HK_CHECK(contains(buf, "net.c:321 tag 9 #17"));
    HK_CHECK(!contains(buf, "src/app"));
    HK_CHECK_EQ(hk_debug_format(buf, 12, HK_ECORRUPT, NULL, "x", NULL), 11); /* truncated */

    hk_debug_hook_cfg_t cfg = { HK_POLICY_LOG, log_sink, NULL, NULL };
    hk_set_error_hook(hk_debug_policy_hook, &cfg);
    nlogged = 0;
    size_t sz;
    hk_heap_t *h = hk_heap_init(hk_test_arena(&sz), DHEAP, NULL);
    void *p = hk_heap_alloc(h, 10);
    hk_heap_free(h, p);
    hk_heap_free(h, p); /* double free: one line logged */
    HK_CHECK_EQ(nlogged, 1);
    HK_CHECK(contains(logged, "HK_EDOUBLEFREE"));
    cfg.policy = HK_POLICY_IGNORE;
    hk_heap_free(h, p);
    HK_CHECK_EQ(nlogged, 1);
    hk_test_capture_errors();
}

static void test_tracking(void)
{
#if HK_DEBUG >= 1
    PER_POLICY(leaks_and_report);
    keyed_check();
#else
    size_t sz;
    hk_heap_t *h = hk_heap_init(hk_test_arena(&sz), DHEAP, NULL);
    HK_CHECK_EQ(hk_heap_leaks(h, 0, NULL, NULL), HK_ENOTSUP);
    HK_CHECK_EQ(hk_heap_seq(h), 0);
#endif
}

static void test_sites(void)
{
    PER_POLICY(sites_on_every_path);
}

HK_SUITE(debug_tracking)
{
    HK_RUN(test_tracking);
    HK_RUN(test_policy_hook);
    HK_RUN(test_sites);
}
