/* SPDX-License-Identifier: MIT */
/*
 * hk_stress.c - the stress rig behind hk_stress.h. Freestanding, like
 * hk_test.c: only <stddef.h>, <stdint.h> and <stdbool.h>.
 *
 * The table: in random order the live objects are packed in obj[0, live)
 * and a victim is removed by moving the last one into its slot; in FIFO
 * order the table is a circular queue, a victim leaves a hole (p NULL) and
 * the head skips holes, so the queue may be longer than the live count
 * (like a ring's records, which free in order).
 */
#include "hk_stress.h"

static hk_stress_obj_t table[HK_STRESS_MAX_LIVE];

/* ---- the shadow pattern ---------------------------------------------- */
/* Byte i of object id is base ^ (1 + i * step): base and the odd step both
 * come from a multiplicative hash of the id, so two objects share a pattern
 * only when both agree (1 in 32768), and a shifted copy of an object's own
 * bytes does not match either. */
static uint32_t pat_hash(uint32_t id)
{
    return id * 2654435761u; /* Knuth's multiplicative hash */
}

void hk_stress_pat_fill(void *p, uint32_t id, size_t n)
{
    unsigned char *c = p;
    uint32_t h = pat_hash(id);
    unsigned char base = (unsigned char)(h >> 24), step = (unsigned char)((h >> 16) | 1u);
    unsigned char v = 1;
    for (size_t i = 0; i < n; i++) {
        c[i] = (unsigned char)(base ^ v);
        v = (unsigned char)(v + step);
    }
}

size_t hk_stress_pat_bad(const void *p, uint32_t id, size_t n)
{
    const unsigned char *c = p;
    uint32_t h = pat_hash(id);
    unsigned char base = (unsigned char)(h >> 24), step = (unsigned char)((h >> 16) | 1u);
    unsigned char v = 1;
    for (size_t i = 0; i < n; i++) {
        if (c[i] != (unsigned char)(base ^ v))
            return i + 1;
        v = (unsigned char)(v + step);
    }
    return 0;
}

static unsigned char pat_byte(uint32_t id, size_t i)
{
    uint32_t h = pat_hash(id);
    unsigned char v = (unsigned char)(1u + (unsigned char)i * (unsigned char)((h >> 16) | 1u));
    return (unsigned char)((unsigned char)(h >> 24) ^ v);
}

/* Checks that the first n bytes of object o (at p) hold its pattern. */
static void pat_check(hk_stress_t *s, const hk_stress_obj_t *o, const unsigned char *p, size_t n,
                      const char *when)
{
    size_t bad = hk_stress_pat_bad(p, o->id, n);
    HK_CHECK(bad == 0 && "object contents intact");
    if (bad && !hk_test_quiet)
        hk_test_printf("  stress %s: object %u at %p (%zu bytes) %s: byte %zu is 0x%x, want 0x%x\n",
                       s->cfg.name, (unsigned)o->id, (const void *)p, o->n, when, bad - 1,
                       (unsigned)p[bad - 1], (unsigned)pat_byte(o->id, bad - 1));
}

/* ---- set-up ---------------------------------------------------------- */
void hk_stress_init(hk_stress_t *s, const hk_stress_ops_t *ops, const hk_stress_config_t *cfg,
                    void *ctx)
{
    hk_test_memset(s, 0, sizeof *s);
    s->ops = ops;
    s->cfg = *cfg;
    s->ctx = ctx;
    if (!s->cfg.name)
        s->cfg.name = "?";
    if (s->cfg.max_live == 0 || s->cfg.max_live > HK_STRESS_MAX_LIVE)
        s->cfg.max_live = HK_STRESS_MAX_LIVE;
    if (s->cfg.nphases == 0 || s->cfg.nphases > 4)
        s->cfg.nphases = 1;
    if (s->cfg.size_max < s->cfg.size_min)
        s->cfg.size_max = s->cfg.size_min;
    if (s->cfg.align == 0)
        s->cfg.align = 1;
    hk_rng_seed(&s->rng, cfg->seed);
    s->obj = table;
    hk_test_memset(table, 0, sizeof table);
    s->next_id = 1;
    s->min_free = (size_t)-1;
}

const hk_stress_obj_t *hk_stress_oldest(const hk_stress_t *s)
{
    if (!(s->cfg.flags & HK_STRESS_FIFO) || s->qlen == 0)
        return NULL;
    return &s->obj[s->head];
}

/* ---- the table ------------------------------------------------------- */
static bool has_room(const hk_stress_t *s)
{
    return ((s->cfg.flags & HK_STRESS_FIFO) ? s->qlen : s->live) < s->cfg.max_live;
}

static hk_stress_obj_t *slot_new(hk_stress_t *s)
{
    if (s->cfg.flags & HK_STRESS_FIFO)
        return &s->obj[(s->head + s->qlen++) % s->cfg.max_live];
    return &s->obj[s->live];
}

static void slot_remove(hk_stress_t *s, hk_stress_obj_t *o)
{
    s->live--;
    s->live_bytes -= o->n;
    s->live_usable -= o->u;
    if (s->cfg.flags & HK_STRESS_FIFO) {
        o->p = NULL;
        while (s->qlen && !s->obj[s->head].p) {
            s->head = (s->head + 1u) % s->cfg.max_live;
            s->qlen--;
        }
    } else {
        *o = s->obj[s->live];
        s->obj[s->live].p = NULL;
    }
}

/* ---- operations ------------------------------------------------------ */
static size_t rnd(hk_stress_t *s, size_t n)
{
    return (size_t)hk_rng_below(&s->rng, n);
}

static size_t pick_size(hk_stress_t *s)
{
    if (s->ops->pick_size)
        return s->ops->pick_size(s);
    if (s->cfg.small_pct && rnd(s, 100) < s->cfg.small_pct)
        return rnd(s, s->cfg.small_max + 1u);
    return s->cfg.size_min + rnd(s, s->cfg.size_max - s->cfg.size_min + 1u);
}

/* The checks every new or moved object gets: alignment, bounds, usable.
 * Returns usable(p) (n without that callback). */
static size_t check_placed(hk_stress_t *s, const unsigned char *p, size_t n, size_t align)
{
    size_t a = align > s->cfg.align ? align : s->cfg.align;
    HK_CHECK_EQ((uintptr_t)p & (a - 1u), 0);
    if (s->cfg.hi) {
        const unsigned char *lo = s->cfg.lo, *hi = s->cfg.hi;
        HK_CHECK(p >= lo && p < hi && (size_t)(hi - p) >= n);
    }
    if (!s->ops->usable)
        return n;
    size_t u = s->ops->usable(s, p);
    if (s->cfg.flags & HK_STRESS_USABLE_EXACT)
        HK_CHECK_EQ(u, n);
    else
        HK_CHECK(u >= n);
    if (s->cfg.flags & HK_STRESS_USABLE_SUM)
        HK_CHECK(u - n < s->cfg.usable_slop);
    return u;
}

static void op_alloc(hk_stress_t *s, bool room)
{
    const hk_stress_ops_t *ops = s->ops;
    size_t n = pick_size(s), align = 1;
    unsigned k = (unsigned)rnd(s, 100);
    unsigned c = ops->calloc ? s->cfg.calloc_pct : 0u;
    unsigned a = c + (ops->aligned ? s->cfg.aligned_pct : 0u);
    unsigned r = a + (ops->realloc ? s->cfg.realloc_new_pct : 0u);
    bool plain = false, zeroed = false;
    unsigned char *p;
    s->aux_next = 0;
    if (k < c) {
        size_t m = 1u + rnd(s, 8);
        n /= m;
        p = ops->calloc(s, m, n);
        n *= m;
        zeroed = true;
    } else if (k < a) {
        align = (size_t)1 << rnd(s, s->cfg.align_log2_max + 1u);
        p = ops->aligned(s, align, n);
    } else if (k < r) {
        p = ops->realloc(s, NULL, n);
    } else {
        plain = true;
        p = ops->alloc(s, &n);
    }
    if (!p) {
        s->failed++;
        s->nulls++;
        if ((s->cfg.flags & HK_STRESS_FULL_AT_MAX) && room)
            HK_CHECK(p != NULL && "allocation below capacity");
        if (plain && (s->cfg.flags & HK_STRESS_FAIL_NO_ROOM) && ops->stats) {
            hk_stats_t st;
            ops->stats(s, &st);
            HK_CHECK(st.largest_free < n); /* failed only if it had to */
        }
        return;
    }
    s->allocs++;
    if (!room) { /* HK_STRESS_FULL_AT_MAX: this must have failed */
        HK_CHECK(p == NULL && "allocation beyond capacity");
        hk_stress_obj_t tmp = { p, 0, 0, 0, 0 };
        ops->free(s, &tmp);
        s->frees++;
        return;
    }
    if (zeroed) {
        size_t i = 0;
        while (i < n && p[i] == 0)
            i++;
        HK_CHECK(i == n && "calloc memory zeroed");
    }
    size_t u = check_placed(s, p, n, align);
    hk_stress_obj_t *o = slot_new(s);
    o->p = p;
    o->n = n;
    o->u = u;
    s->live_usable += u;
    o->id = s->next_id++;
    o->aux = s->aux_next;
    hk_stress_pat_fill(p, o->id, n);
    s->live++;
    s->live_bytes += n;
    if (s->live > s->peak_live)
        s->peak_live = s->live;
}

static void op_free(hk_stress_t *s, hk_stress_obj_t *o)
{
    pat_check(s, o, o->p, o->n, "before free");
    s->ops->free(s, o);
    s->frees++;
    slot_remove(s, o);
}

static void op_realloc(hk_stress_t *s, hk_stress_obj_t *o)
{
    size_t n = rnd(s, 3) == 0 ? o->n + rnd(s, 64) : pick_size(s);
    pat_check(s, o, o->p, o->n, "before realloc");
    unsigned char *q = s->ops->realloc(s, o->p, n);
    if (n == 0) {
        HK_CHECK(q == NULL); /* realloc(p, 0) frees */
        s->frees++;
        slot_remove(s, o);
        return;
    }
    if (!q) {
        pat_check(s, o, o->p, o->n, "after a failed realloc"); /* untouched */
        if (s->ops->usable && (s->cfg.flags & (HK_STRESS_USABLE_EXACT | HK_STRESS_USABLE_SUM)))
            HK_CHECK_EQ(s->ops->usable(s, o->p), o->u);
        s->failed++;
        s->nulls++;
        return;
    }
    pat_check(s, o, q, n < o->n ? n : o->n, "after realloc (the kept bytes)");
    size_t u = check_placed(s, q, n, 1);
    if (q != o->p) { /* moved: an allocation and a free */
        s->allocs++;
        s->frees++;
    }
    s->live_bytes = s->live_bytes - o->n + n;
    s->live_usable = s->live_usable - o->u + u;
    o->p = q;
    o->n = n;
    o->u = u;
    hk_stress_pat_fill(q, o->id, n);
}

static void op_live(hk_stress_t *s)
{
    hk_stress_obj_t *o;
    if (s->cfg.flags & HK_STRESS_FIFO) {
        size_t k = 0;
        if (s->cfg.random_pct && rnd(s, 100) < s->cfg.random_pct)
            k = rnd(s, s->qlen);
        o = &s->obj[(s->head + k) % s->cfg.max_live];
        if (!o->p)
            return; /* a hole: freed out of order before */
    } else {
        o = &s->obj[rnd(s, s->live)];
    }
    unsigned k = (unsigned)rnd(s, 100);
    unsigned t = s->ops->touch ? s->cfg.touch_pct : 0u;
    unsigned r = t + (s->ops->realloc ? s->cfg.realloc_pct : 0u);
    if (k < t)
        s->ops->touch(s, o);
    else if (k < r)
        op_realloc(s, o);
    else
        op_free(s, o);
}

static void step(hk_stress_t *s)
{
    const hk_stress_config_t *c = &s->cfg;
    bool room = has_room(s), alloc;
    if (c->phase_len == 0) {
        unsigned used = (c->flags & HK_STRESS_FIFO) ? s->qlen : s->live;
        alloc = rnd(s, c->max_live) >= used;
    } else {
        unsigned phase = (unsigned)((s->op / c->phase_len) % c->nphases);
        alloc = rnd(s, 100) < c->phase_pct[phase];
    }
    if (alloc && (room || (c->flags & HK_STRESS_FULL_AT_MAX)))
        op_alloc(s, room);
    else if (s->live)
        op_live(s);
}

/* ---- checks ---------------------------------------------------------- */
void hk_stress_check_stats(hk_stress_t *s)
{
    if (!s->ops->stats)
        return;
    hk_stats_t st;
    s->ops->stats(s, &st);
    unsigned f = s->cfg.flags;
    HK_CHECK_EQ(st.used + st.free, st.total);
    HK_CHECK(st.used >= s->live_bytes); /* used covers the shadow */
    if (st.used > s->max_used)
        s->max_used = st.used;
    if (st.free < s->min_free)
        s->min_free = st.free;
    if (f & HK_STRESS_PEAK_EXACT)
        HK_CHECK_EQ(st.peak_used, s->max_used);
    else
        HK_CHECK(st.peak_used >= s->max_used);
    HK_CHECK(st.min_ever_free <= s->min_free);
    HK_CHECK(st.smallest_free <= st.largest_free);
    if (f & HK_STRESS_BLOCKS)
        HK_CHECK_EQ(st.used_blocks, s->live);
    if (f & HK_STRESS_REQUESTED)
        HK_CHECK_EQ(st.requested, (f & HK_STRESS_USABLE_SUM) ? s->live_usable : s->live_bytes);
    if (s->cfg.used_unit)
        HK_CHECK_EQ(st.used, (size_t)s->live * s->cfg.used_unit);
    if ((f & HK_STRESS_EMPTY_ZERO) && s->live == 0)
        HK_CHECK_EQ(st.used, 0);
    if (f & HK_STRESS_COUNTS) {
        HK_CHECK_EQ(st.allocs, s->allocs);
        HK_CHECK_EQ(st.frees, s->frees);
        HK_CHECK_EQ(st.failed_allocs, s->failed);
    }
    if (s->ops->check_stats)
        s->ops->check_stats(s, &st);
}

void hk_stress_validate(hk_stress_t *s)
{
    if (s->ops->validate)
        HK_CHECK_EQ(s->ops->validate(s), 0);
    if (s->ops->check)
        s->ops->check(s);
}

static void report(hk_stress_t *s, const char *when)
{
    if (s->failing_ops++ == 0)
        s->first_failing_op = s->op;
    if (hk_test_quiet)
        return;
    hk_test_printf("  stress %s: seed %llu, op %lu of %lu %s (live %u)\n", s->cfg.name,
                   (unsigned long long)s->cfg.seed, s->op, s->cfg.ops, when, s->live);
}

bool hk_stress_run(hk_stress_t *s)
{
    unsigned long f0 = hk_test_failures;
    const hk_stress_config_t *c = &s->cfg;
    for (s->op = 0; s->op < c->ops && s->failing_ops < 5; s->op++) {
        unsigned long before = hk_test_failures;
        step(s);
        if (c->stats_every && s->op % c->stats_every == 0)
            hk_stress_check_stats(s);
        if (c->validate_every && s->op % c->validate_every == 0)
            hk_stress_validate(s);
        if (hk_test_failures != before)
            report(s, "failed");
    }
    unsigned long before = hk_test_failures;
    hk_stress_check_stats(s);
    if (hk_test_failures != before)
        report(s, "(end of the run) failed");
    return hk_test_failures == f0;
}

void hk_stress_drain(hk_stress_t *s)
{
    unsigned long before = hk_test_failures;
    if (s->cfg.flags & HK_STRESS_FIFO) {
        while (s->qlen)
            op_free(s, &s->obj[s->head]); /* the head is never a hole */
    } else {
        while (s->live)
            op_free(s, &s->obj[s->live - 1u]);
    }
    hk_stress_check_stats(s);
    hk_stress_validate(s);
    if (hk_test_failures != before)
        report(s, "(draining) failed");
}
