/* SPDX-License-Identifier: MIT */
/*
 * test_stress_rig.c - the stress rig (harness/hk_stress.h) itself: a sound
 * toy allocator passes it, and each of a toy's deliberate faults -- blocks
 * that overlap, a realloc that loses bytes, calloc memory not zeroed, a
 * misaligned block, a wrong usable size, statistics that drift, a validator
 * that says no -- makes it fail, at the same operation for the same seed.
 *
 * The toy: 48 slots of 128 bytes in a static buffer aligned to 128, a slot
 * per object, realloc in place up to 128 bytes.
 */
#include "hk_stress.h"
#include "hk_test.h"

#define TOY_SLOTS 48u
#define TOY_SLOT 128u

enum { F_NONE, F_OVERLAP, F_REALLOC_LOSES, F_CALLOC_DIRTY, F_MISALIGN, F_USABLE, F_STATS,
       F_VALIDATE, F_NFAULTS };

typedef struct {
    int fault;
    bool struck;         /* a one-off fault has struck */
    unsigned long calls; /* allocating calls so far: faults strike from the 40th */
    unsigned char *ret[TOY_SLOTS]; /* what the slot's allocation returned */
    size_t n[TOY_SLOTS];
    unsigned live;
    size_t requested;
} toy_t;

static _Alignas(TOY_SLOT) unsigned char toy_mem[TOY_SLOTS * TOY_SLOT];

/* A one-off fault strikes at the first chance from the 40th call on. */
static bool strike(toy_t *t, int fault)
{
    if (t->fault != fault || t->calls < 40 || t->struck)
        return false;
    t->struck = true;
    return true;
}

static size_t slot_of(const toy_t *t, const void *p)
{
    for (size_t i = 0; i < TOY_SLOTS; i++)
        if (t->ret[i] && t->ret[i] == p)
            return i;
    return TOY_SLOTS;
}

static void *toy_take(toy_t *t, size_t n, bool plain)
{
    t->calls++;
    if (n > TOY_SLOT)
        return NULL;
    for (size_t i = 0; i < TOY_SLOTS; i++) {
        if (t->ret[i])
            continue;
        unsigned char *p = toy_mem + i * TOY_SLOT;
        if (i > 0 && t->ret[i - 1] && t->n[i - 1] && n && strike(t, F_OVERLAP))
            p = t->ret[i - 1]; /* on top of the neighbour */
        else if (plain && n + 4 <= TOY_SLOT && strike(t, F_MISALIGN))
            p += 4;
        t->ret[i] = p;
        t->n[i] = n;
        t->live++;
        t->requested += n;
        return p;
    }
    return NULL;
}

static void *toy_alloc(hk_stress_t *s, size_t *n)
{
    return toy_take(s->ctx, *n, true);
}

static void toy_give(toy_t *t, const void *p)
{
    size_t i = slot_of(t, p);
    HK_REQUIRE(i < TOY_SLOTS);
    t->ret[i] = NULL;
    t->live--;
    t->requested -= t->n[i];
}

static void toy_free(hk_stress_t *s, hk_stress_obj_t *o)
{
    toy_give(s->ctx, o->p);
}

static void *toy_realloc(hk_stress_t *s, void *p, size_t n)
{
    toy_t *t = s->ctx;
    if (!p)
        return toy_take(t, n, false);
    if (n == 0) {
        toy_give(t, p);
        return NULL;
    }
    t->calls++;
    size_t i = slot_of(t, p);
    if (n > TOY_SLOT || i == TOY_SLOTS)
        return NULL;
    t->requested = t->requested - t->n[i] + n;
    t->n[i] = n;
    if (strike(t, F_REALLOC_LOSES))
        hk_test_memset(p, 0x5a, n);
    return p;
}

static void *toy_calloc(hk_stress_t *s, size_t m, size_t n)
{
    toy_t *t = s->ctx;
    unsigned char *p = toy_take(t, m * n, false);
    if (p)
        hk_test_memset(p, (m * n != 0 && strike(t, F_CALLOC_DIRTY)) ? 0xee : 0, m * n);
    return p;
}

static size_t toy_usable(hk_stress_t *s, const void *p)
{
    toy_t *t = s->ctx;
    size_t i = slot_of(t, p);
    size_t n = i < TOY_SLOTS ? t->n[i] : 0;
    return n && strike(t, F_USABLE) ? n - 1 : n;
}

static int toy_validate(hk_stress_t *s)
{
    toy_t *t = s->ctx;
    return t->fault == F_VALIDATE && t->calls >= 40 ? -1 : 0;
}

static void toy_stats(hk_stress_t *s, hk_stats_t *out)
{
    toy_t *t = s->ctx;
    hk_test_memset(out, 0, sizeof *out);
    out->total = TOY_SLOTS * TOY_SLOT;
    out->used = t->live * TOY_SLOT;
    out->free = out->total - out->used;
    out->used_blocks = t->live + (t->fault == F_STATS && t->calls >= 40);
    out->requested = t->requested;
    out->peak_used = out->total; /* a bound, as a sum of parts would be */
}

static const hk_stress_ops_t toy_ops = {
    .alloc = toy_alloc, .free = toy_free, .realloc = toy_realloc, .calloc = toy_calloc,
    .usable = toy_usable, .validate = toy_validate, .stats = toy_stats,
};

typedef struct {
    toy_t toy;
    hk_stress_t s;
    bool ok;
} toy_run_t;

static void toy_run(void *ctx)
{
    toy_run_t *r = ctx;
    hk_stress_config_t cfg = {
        .name = "toy", .seed = 99, .ops = 3000, .max_live = 40, .realloc_pct = 30,
        .calloc_pct = 20, .realloc_new_pct = 10, .size_max = TOY_SLOT - 1, .align = 16,
        .validate_every = 1, .stats_every = 1,
        .flags = HK_STRESS_USABLE_EXACT | HK_STRESS_BLOCKS | HK_STRESS_REQUESTED |
                 HK_STRESS_EMPTY_ZERO,
    };
    hk_stress_init(&r->s, &toy_ops, &cfg, &r->toy);
    r->ok = hk_stress_run(&r->s);
    hk_stress_drain(&r->s);
}

static unsigned long run_with(int fault, toy_run_t *r)
{
    hk_test_memset(r, 0, sizeof *r);
    r->toy.fault = fault;
    return hk_test_count_failures(toy_run, r);
}

static void test_sound_toy_passes(void)
{
    static toy_run_t r;
    HK_CHECK_EQ(run_with(F_NONE, &r), 0);
    HK_CHECK(r.ok);
    HK_CHECK_EQ(r.s.failing_ops, 0);
    HK_CHECK_EQ(r.s.live, 0);
    HK_CHECK(r.s.allocs > 1000 && r.s.frees == r.s.allocs); /* every kind of op ran */
    HK_CHECK(r.s.peak_live > 20);
    HK_CHECK_EQ(r.toy.live, 0);
}

static void test_every_fault_is_caught(void)
{
    static toy_run_t r;
    for (int f = F_NONE + 1; f < F_NFAULTS; f++) {
        unsigned long n = run_with(f, &r);
        HK_CHECK(n > 0);
        HK_CHECK(!r.ok);
        HK_CHECK(r.s.failing_ops > 0);
        unsigned long first = r.s.first_failing_op;
        /* the same seed fails at the same operation */
        HK_CHECK_EQ(run_with(f, &r), n);
        HK_CHECK_EQ(r.s.first_failing_op, first);
        if (n == 0)
            hk_test_printf("  fault %d went unnoticed\n", f);
    }
}

/* A run stops after five failing operations. */
static void test_stops_after_five(void)
{
    static toy_run_t r;
    run_with(F_STATS, &r); /* wrong from the 40th call on, every op */
    HK_CHECK_EQ(r.s.failing_ops, 5 + 1 + 1); /* five in the run, its end, the drain */
    HK_CHECK(r.s.op < 200);
}

static void test_pattern(void)
{
    static unsigned char a[300], b[300];
    hk_stress_pat_fill(a, 7, sizeof a);
    HK_CHECK_EQ(hk_stress_pat_bad(a, 7, sizeof a), 0);
    HK_CHECK(hk_stress_pat_bad(a, 8, sizeof a) != 0); /* another object's */
    HK_CHECK(hk_stress_pat_bad(a + 1, 7, sizeof a - 1) != 0); /* shifted */
    a[123] ^= 1;
    HK_CHECK_EQ(hk_stress_pat_bad(a, 7, sizeof a), 124);
    /* objects differ: at most a few equal bytes in 300 */
    hk_stress_pat_fill(b, 8, sizeof b);
    unsigned same = 0;
    for (size_t i = 0; i < sizeof a; i++)
        same += a[i] == b[i];
    HK_CHECK(same < 30);
}

HK_SUITE(stress_rig)
{
    HK_RUN(test_sound_toy_passes);
    HK_RUN(test_every_fault_is_caught);
    HK_RUN(test_stops_after_five);
    HK_RUN(test_pattern);
}
