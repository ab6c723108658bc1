/* SPDX-License-Identifier: MIT */
/*
 * test_ring.c - hk_ring: unit, accounting in every head/tail position,
 * misuse, corruption, and a producer/consumer model test.
 */
#include "heapkit/ring.h"
#include "hk_stress.h"
#include "hk_test.h"

#define G (2 * sizeof(size_t)) /* the default granule */

static size_t largest(const hk_ring_t *r)
{
    hk_stats_t s;
    hk_ring_get_stats(r, &s);
    return s.largest_free;
}

static size_t used(const hk_ring_t *r)
{
    hk_stats_t s;
    hk_ring_get_stats(r, &s);
    HK_CHECK_EQ(s.used + s.free, s.total);
    return s.used;
}

/* largest_free is exact: a copy of the ring can take largest_free bytes and
 * not one more. Allocating on a copy writes only into free space. */
static void check_largest_exact(const hk_ring_t *r)
{
    size_t l = largest(r);
    hk_ring_t copy = *r;
    HK_CHECK(hk_ring_alloc(&copy, l + 1) == NULL);
    if (l) {
        copy = *r;
        HK_CHECK(hk_ring_alloc(&copy, l) != NULL);
    }
}

/* ---- unit ------------------------------------------------------------- */
static void test_worked_example(void)
{
    hk_test_capture_errors();
    static _Alignas(16) unsigned char buf[8 * G];
    hk_ring_t r;
    HK_REQUIRE(hk_ring_init(&r, buf, sizeof buf, 0, NULL) == HK_OK);
    HK_CHECK_EQ(largest(&r), 7 * G);
    unsigned char *a = hk_ring_alloc(&r, 3 * G - 2); /* 4 G at 0 */
    unsigned char *b = hk_ring_alloc(&r, G + 1);     /* 3 G at 4 G */
    HK_REQUIRE(a && b);
    HK_CHECK(a == buf + G);
    HK_CHECK(b == buf + 5 * G);
    HK_CHECK_EQ(used(&r), 7 * G);
    HK_CHECK_EQ(hk_ring_usable_size(&r, b), G + 1);
    size_t sz = 0;
    HK_CHECK(hk_ring_front(&r, &sz) == a);
    HK_CHECK_EQ(sz, 3 * G - 2);
    hk_ring_free(&r, a);
    HK_CHECK_EQ(used(&r), 3 * G);
    HK_CHECK(hk_ring_front(&r, NULL) == b);
    /* [7G, 8G) is one granule, too short for 3 G: skip it, go to 0 */
    HK_CHECK_EQ(largest(&r), 3 * G);
    unsigned char *c = hk_ring_alloc(&r, G + 1);
    HK_REQUIRE(c == buf + G);
    HK_CHECK_EQ(used(&r), 3 * G + G + 3 * G);
    hk_stats_t s;
    hk_ring_get_stats(&r, &s);
    HK_CHECK_EQ(s.free, G);
    HK_CHECK_EQ(s.largest_free, 0); /* one granule holds a header, no payload */
    HK_CHECK_EQ(s.used_blocks, 2);
    HK_CHECK_EQ(s.requested, 2 * (G + 1));
    HK_CHECK_EQ(hk_ring_validate(&r), HK_OK);
    hk_ring_free(&r, b); /* reclaims b and the skip: head wraps to c */
    HK_CHECK_EQ(used(&r), 3 * G);
    HK_CHECK(hk_ring_front(&r, NULL) == c);
    hk_ring_free(&r, c);
    HK_CHECK_EQ(used(&r), 0);
    HK_CHECK(hk_ring_front(&r, NULL) == NULL);
    HK_CHECK_EQ(largest(&r), 7 * G); /* empty: reset to one extent */
    HK_CHECK_EQ(hk_ring_validate(&r), HK_OK);
    HK_CHECK_EQ(hk_test_errors.count, 0);
}

static void test_full_and_empty(void)
{
    hk_test_capture_errors();
    static _Alignas(16) unsigned char buf[8 * G];
    hk_ring_t r;
    HK_REQUIRE(hk_ring_init(&r, buf, sizeof buf, 0, NULL) == HK_OK);
    void *p[4];
    for (int i = 0; i < 4; i++)
        HK_REQUIRE((p[i] = hk_ring_alloc(&r, G)) != NULL);
    /* head == tail == 0 and full: not empty */
    HK_CHECK_EQ(used(&r), 8 * G);
    HK_CHECK_EQ(largest(&r), 0);
    HK_CHECK(hk_ring_alloc(&r, 1) == NULL);
    HK_CHECK(hk_ring_front(&r, NULL) == p[0]);
    HK_CHECK_EQ(hk_ring_validate(&r), HK_OK);
    /* free the first: one extent of 2 G at the start */
    hk_ring_free(&r, p[0]);
    HK_CHECK_EQ(largest(&r), G);
    HK_REQUIRE((p[0] = hk_ring_alloc(&r, G)) == buf + G);
    /* full again with head == tail == 2G */
    HK_CHECK_EQ(used(&r), 8 * G);
    HK_CHECK(hk_ring_alloc(&r, 1) == NULL);
    HK_CHECK_EQ(hk_ring_validate(&r), HK_OK);
    for (int i = 1; i < 4; i++)
        hk_ring_free(&r, p[i]);
    hk_ring_free(&r, p[0]);
    HK_CHECK_EQ(used(&r), 0);
    hk_stats_t s;
    hk_ring_get_stats(&r, &s);
    HK_CHECK_EQ(s.peak_used, 8 * G);
    HK_CHECK_EQ(s.min_ever_free, 0);
    HK_CHECK_EQ(s.allocs, 5);
    HK_CHECK_EQ(s.frees, 5);
    HK_CHECK_EQ(s.failed_allocs, 2);
    /* the marks restart from the current use (the ring is empty now) */
    hk_ring_reset_marks(&r);
    HK_REQUIRE((p[0] = hk_ring_alloc(&r, G)) != NULL);
    hk_ring_get_stats(&r, &s);
    HK_CHECK_EQ(s.peak_used, 2 * G);
    HK_CHECK_EQ(s.min_ever_free, 6 * G);
    hk_ring_reset(&r); /* drops the records, keeps the marks */
    hk_ring_get_stats(&r, &s);
    HK_CHECK_EQ(s.used, 0);
    HK_CHECK_EQ(s.peak_used, 2 * G);
    HK_CHECK_EQ(hk_ring_validate(&r), HK_OK);
    HK_CHECK_EQ(hk_test_errors.count, 0);
}

static void test_out_of_order(void)
{
    hk_test_capture_errors();
    static _Alignas(16) unsigned char buf[16 * G];
    hk_ring_t r;
    HK_REQUIRE(hk_ring_init(&r, buf, sizeof buf, 0, NULL) == HK_OK);
    void *p[5];
    for (int i = 0; i < 5; i++)
        HK_REQUIRE((p[i] = hk_ring_alloc(&r, G)) != NULL);
    hk_ring_free(&r, p[2]);
    hk_ring_free(&r, p[1]);
    HK_CHECK_EQ(used(&r), 10 * G); /* marked, not reclaimed */
    hk_stats_t s;
    hk_ring_get_stats(&r, &s);
    HK_CHECK_EQ(s.used_blocks, 3);
    HK_CHECK_EQ(hk_ring_validate(&r), HK_OK);
    hk_ring_free(&r, p[0]); /* reclaims 0, 1, 2 */
    HK_CHECK_EQ(used(&r), 4 * G);
    HK_CHECK(hk_ring_front(&r, NULL) == p[3]);
    hk_ring_free(&r, p[4]);
    HK_CHECK_EQ(used(&r), 4 * G);
    hk_ring_free(&r, p[3]);
    HK_CHECK_EQ(used(&r), 0);
    HK_CHECK_EQ(hk_ring_validate(&r), HK_OK);
    HK_CHECK_EQ(hk_test_errors.count, 0);
}

/* Put the head at every granule offset, fill with 2 G records until full,
 * and check the accounting at each step. */
static void test_every_position(void)
{
    hk_test_capture_errors();
    enum { N = 12 };
    static _Alignas(16) unsigned char buf[N * G];
    void *recs[N];
    hk_ring_t r;
    HK_REQUIRE(hk_ring_init(&r, buf, sizeof buf, 0, NULL) == HK_OK);
    for (size_t off = 2; off < N - 2; off++) {
        void *filler = hk_ring_alloc(&r, (off - 1) * G); /* off granules */
        HK_REQUIRE(filler != NULL);
        size_t n = 0;
        while ((recs[n] = hk_ring_alloc(&r, G)) != NULL) {
            n++;
            if (n == 1)
                hk_ring_free(&r, filler); /* head now at `off` */
            HK_CHECK_EQ(hk_ring_validate(&r), HK_OK);
            check_largest_exact(&r);
            HK_REQUIRE(n < N);
        }
        /* Full: every granule is a record, or a skip shorter than 2 G, or
         * a free granule before the head that cannot hold a record. */
        size_t expect = (N - off) / 2 + off / 2;
        HK_CHECK_EQ(n, expect);
        hk_stats_t s;
        hk_ring_get_stats(&r, &s);
        HK_CHECK(s.free < 2 * G);
        HK_CHECK_EQ(s.largest_free, 0);
        HK_CHECK_EQ(s.used_blocks, n);
        for (size_t i = 0; i < n; i++) {
            HK_CHECK(hk_ring_front(&r, NULL) == recs[i]);
            hk_ring_free(&r, recs[i]);
            check_largest_exact(&r);
        }
        HK_CHECK_EQ(used(&r), 0);
        HK_CHECK_EQ(largest(&r), (N - 1) * G);
    }
    HK_CHECK_EQ(hk_test_errors.count, 0);
}

static void test_shrink(void)
{
    hk_test_capture_errors();
    static _Alignas(16) unsigned char buf[16 * G];
    hk_ring_t r;
    HK_REQUIRE(hk_ring_init(&r, buf, sizeof buf, 0, NULL) == HK_OK);
    unsigned char *a = hk_ring_alloc(&r, 2 * G);
    unsigned char *b = hk_ring_alloc(&r, 8 * G); /* reserve the most */
    HK_REQUIRE(a && b);
    HK_CHECK_EQ(used(&r), 12 * G);
    hk_test_memset(b, 7, G + 3);
    HK_CHECK_EQ(hk_ring_shrink(&r, b, G + 3), HK_OK); /* keep what was written */
    HK_CHECK_EQ(used(&r), 3 * G + 3 * G);
    HK_CHECK_EQ(hk_ring_usable_size(&r, b), G + 3);
    HK_CHECK_EQ(b[G + 2], 7);
    HK_CHECK_EQ(hk_ring_validate(&r), HK_OK);
    check_largest_exact(&r);
    HK_CHECK_EQ(hk_ring_shrink(&r, b, G + 3), HK_OK); /* same size: no-op */
    HK_CHECK_EQ(hk_ring_shrink(&r, b, 0), HK_OK); /* 0 is 1 */
    HK_CHECK_EQ(used(&r), 3 * G + 2 * G);
    HK_CHECK_EQ(hk_ring_usable_size(&r, b), 1);
    HK_CHECK_EQ(hk_ring_shrink(&r, b, 1), HK_OK); /* the record still holds 1 byte */
    HK_CHECK_EQ(hk_ring_usable_size(&r, b), 1);
    HK_CHECK_EQ(hk_ring_validate(&r), HK_OK);
    HK_CHECK_EQ(hk_test_errors.count, 0);
    HK_CHECK_EQ(hk_ring_shrink(&r, a, 1), HK_EBADPTR); /* not the newest */
    HK_CHECK_EQ(hk_ring_shrink(&r, b, 2), HK_EINVAL);  /* grows */
    HK_CHECK_EQ(hk_ring_shrink(&r, b + 1, 1), HK_EBADPTR);
    HK_CHECK_EQ(hk_ring_shrink(NULL, b, 1), HK_EINVAL);
    HK_CHECK_EQ(hk_test_errors.count, 4);
    /* the newest record ending exactly at the end of the buffer */
    hk_ring_free(&r, a);
    unsigned char *c = hk_ring_alloc(&r, 10 * G); /* [5G, 16G): tail wraps to 0 */
    HK_REQUIRE(c == buf + 6 * G);
    HK_CHECK_EQ(used(&r), 2 * G + 11 * G);
    HK_CHECK_EQ(r.tail, 0);
    HK_CHECK_EQ(hk_ring_shrink(&r, c, G), HK_OK);
    HK_CHECK_EQ(r.tail, 7 * G);
    HK_CHECK_EQ(used(&r), 2 * G + 2 * G);
    HK_CHECK_EQ(hk_ring_validate(&r), HK_OK);
    hk_ring_free(&r, b);
    hk_ring_free(&r, c);
    HK_CHECK_EQ(used(&r), 0);
    HK_CHECK_EQ(hk_ring_validate(&r), HK_OK);
}

static void test_alignment(void)
{
    hk_test_capture_errors();
    size_t asz;
    unsigned char *mem = hk_test_arena(&asz);
    hk_ring_t r;
    HK_REQUIRE(hk_ring_init(&r, mem + 3, 4096, 64, NULL) == HK_OK);
    for (int i = 0; i < 20; i++) {
        unsigned char *p = hk_ring_alloc(&r, (size_t)i * 7);
        HK_REQUIRE(p != NULL);
        HK_CHECK(((uintptr_t)p & 63u) == 0);
        HK_CHECK(p >= mem + 3 && p + (size_t)i * 7 <= mem + 3 + 4096);
    }
    HK_CHECK_EQ(hk_ring_validate(&r), HK_OK);
    HK_CHECK_EQ(hk_test_errors.count, 0);
}

static void test_lock_hooks(void)
{
    hk_test_capture_errors();
    static _Alignas(16) unsigned char buf[8 * G];
    hk_test_lock_probe_t probe;
    hk_lock_t lk = hk_test_lock_probe(&probe);
    hk_ring_t r;
    HK_REQUIRE(hk_ring_init(&r, buf, sizeof buf, 0, &lk) == HK_OK);
    void *p = hk_ring_alloc(&r, 10);
    HK_CHECK(hk_ring_alloc(&r, 100 * G) == NULL); /* failure unlocks too */
    hk_ring_free(&r, p);
    HK_CHECK_EQ(hk_ring_validate(&r), HK_OK);
    HK_CHECK_EQ(probe.locks, 4);
    HK_CHECK_EQ(probe.depth, 0);
    HK_CHECK_EQ(probe.bad_saved, 0u);
}

/* ---- misuse and corruption -------------------------------------------- */
static void test_bad_init(void)
{
    hk_test_capture_errors();
    static _Alignas(16) unsigned char buf[8 * G];
    hk_ring_t r;
    HK_CHECK_EQ(hk_ring_init(NULL, buf, sizeof buf, 0, NULL), HK_EINVAL);
    HK_CHECK_EQ(hk_ring_init(&r, NULL, sizeof buf, 0, NULL), HK_EINVAL);
    HK_CHECK_EQ(hk_ring_init(&r, buf, sizeof buf, 24, NULL), HK_EINVAL);
    HK_CHECK_EQ(hk_ring_init(&r, buf, 2 * G - 1, 0, NULL), HK_EINVAL);
    HK_CHECK_EQ(hk_ring_init(&r, buf + 1, 2 * G, 0, NULL), HK_EINVAL);
    HK_CHECK_EQ(hk_ring_init(&r, buf, sizeof buf, (size_t)1 << (sizeof(size_t) * 8 - 1), NULL),
                HK_EINVAL);
    HK_CHECK_EQ(hk_test_errors.count, 6);
    HK_REQUIRE(hk_ring_init(&r, buf, sizeof buf, 0, NULL) == HK_OK);
    HK_CHECK(hk_ring_alloc(&r, SIZE_MAX) == NULL);
    HK_CHECK(hk_ring_alloc(&r, SIZE_MAX - G) == NULL);
    HK_CHECK(hk_ring_alloc(&r, 7 * G + 1) == NULL);
    HK_CHECK(hk_ring_alloc(NULL, 1) == NULL);
    HK_CHECK_EQ(hk_test_errors.count, 7); /* only the NULL ring is misuse */
    void *z = hk_ring_alloc(&r, 0);
    HK_CHECK(z != NULL);
    HK_CHECK_EQ(used(&r), 2 * G);
    HK_CHECK_EQ(hk_ring_validate(&r), HK_OK);
    /* size 0 is 1 in every respect: never the error value 0 */
    HK_CHECK_EQ(hk_ring_usable_size(&r, z), 1);
    size_t fsz = 0;
    HK_CHECK(hk_ring_front(&r, &fsz) == z);
    HK_CHECK_EQ(fsz, 1);
    hk_stats_t st;
    hk_ring_get_stats(&r, &st);
    HK_CHECK_EQ(st.requested, 1);
    HK_CHECK_EQ(hk_ring_shrink(&r, z, 1), HK_OK);
    HK_CHECK_EQ(hk_test_errors.count, 7);
    /* validate: NULL or never initialised is a bad handle (HK_EINVAL) */
    hk_ring_t zr;
    hk_test_memset(&zr, 0, sizeof zr);
    HK_CHECK_EQ(hk_ring_validate(NULL), HK_EINVAL);
    HK_CHECK_EQ(hk_ring_validate(&zr), HK_EINVAL);
    HK_CHECK_EQ(hk_test_errors.last_code, HK_EINVAL);
    HK_CHECK_EQ(hk_test_errors.count, 9);
}

static void test_bad_free(void)
{
    hk_test_capture_errors();
    static _Alignas(16) unsigned char buf[16 * G];
    static unsigned char other[64];
    hk_ring_t r;
    HK_REQUIRE(hk_ring_init(&r, buf, sizeof buf, 0, NULL) == HK_OK);
    unsigned char *a = hk_ring_alloc(&r, 3 * G), *b = hk_ring_alloc(&r, G);
    HK_REQUIRE(a && b);
    hk_ring_free(&r, NULL);
    HK_CHECK_EQ(hk_test_errors.count, 0);
    hk_ring_free(&r, other);
    HK_CHECK_EQ(hk_test_errors.last_code, HK_EBADPTR);
    hk_ring_free(&r, a + 3);
    HK_CHECK_EQ(hk_test_errors.last_code, HK_EBADPTR);
    hk_ring_free(&r, b + 2 * G); /* beyond the tail: not live */
    HK_CHECK_EQ(hk_test_errors.last_code, HK_EBADPTR);
    hk_ring_free(&r, a + G); /* interior, on a granule: payload as header */
    HK_CHECK_EQ(hk_test_errors.last_code, HK_ECORRUPT);
    hk_ring_free(&r, b);
    hk_ring_free(&r, b); /* marked, not reclaimed */
    HK_CHECK_EQ(hk_test_errors.last_code, HK_EDOUBLEFREE);
    hk_ring_free(&r, a);
    hk_ring_free(&r, a); /* reclaimed */
    HK_CHECK_EQ(hk_test_errors.last_code, HK_EBADPTR);
    HK_CHECK_EQ(hk_test_errors.count, 6);
    HK_CHECK_EQ(hk_ring_usable_size(&r, a), 0);
    HK_CHECK_EQ(hk_test_errors.count, 7);
    HK_CHECK_EQ(used(&r), 0);
    HK_CHECK_EQ(hk_ring_validate(&r), HK_OK);
    hk_stats_t s;
    hk_ring_get_stats(&r, &s);
    HK_CHECK_EQ(s.frees, 2);
}

static void test_validate_catches_corruption(void)
{
    hk_test_capture_errors();
    static _Alignas(16) unsigned char buf[16 * G];
    hk_ring_t r;
    HK_REQUIRE(hk_ring_init(&r, buf, sizeof buf, 0, NULL) == HK_OK);
    unsigned char *a = hk_ring_alloc(&r, G), *b = hk_ring_alloc(&r, 2 * G);
    HK_REQUIRE(a && b && hk_ring_alloc(&r, G));
    HK_CHECK_EQ(hk_ring_validate(&r), HK_OK);
    /* overflow of a into b's header */
    size_t saved[2];
    __builtin_memcpy(saved, b - G, sizeof saved);
    hk_test_memset(a, 0x41, 2 * G);
    HK_CHECK_EQ(hk_ring_validate(&r), HK_ECORRUPT);
    HK_CHECK_EQ(hk_test_errors.last_code, HK_ECORRUPT);
    unsigned n = hk_test_errors.count;
    hk_ring_free(&r, b); /* free notices the damaged header too */
    HK_CHECK_EQ(hk_test_errors.count, n + 1);
    HK_CHECK_EQ(hk_test_errors.last_code, HK_ECORRUPT);
    __builtin_memcpy(b - G, saved, sizeof saved);
    HK_CHECK_EQ(hk_ring_validate(&r), HK_OK);
    /* damaged state fields */
    r.usage.used += G;
    HK_CHECK_EQ(hk_ring_validate(&r), HK_ECORRUPT);
    r.usage.used -= G;
    r.usage.peak = 0; /* a peak below the use */
    HK_CHECK_EQ(hk_ring_validate(&r), HK_ECORRUPT);
    hk_ring_reset_marks(&r);
    HK_CHECK_EQ(hk_ring_validate(&r), HK_OK);
    r.tail += 1;
    HK_CHECK_EQ(hk_ring_validate(&r), HK_ECORRUPT);
    r.tail -= 1;
    r.live++;
    HK_CHECK_EQ(hk_ring_validate(&r), HK_ECORRUPT);
    r.live--;
    r.requested--;
    HK_CHECK_EQ(hk_ring_validate(&r), HK_ECORRUPT);
    r.requested++;
    /* the size word of a header */
    size_t w;
    __builtin_memcpy(&w, a - G + sizeof(size_t), sizeof w);
    w += 5 * G;
    __builtin_memcpy(a - G + sizeof(size_t), &w, sizeof w);
    HK_CHECK_EQ(hk_ring_validate(&r), HK_ECORRUPT);
    w -= 5 * G;
    __builtin_memcpy(a - G + sizeof(size_t), &w, sizeof w);
    HK_CHECK_EQ(hk_ring_validate(&r), HK_OK);
    /* a marked record's header damaged before the head reaches it */
    HK_REQUIRE(hk_ring_init(&r, buf, sizeof buf, 0, NULL) == HK_OK);
    a = hk_ring_alloc(&r, G);
    b = hk_ring_alloc(&r, G);
    HK_REQUIRE(a && b);
    hk_ring_free(&r, b); /* not the head: only marked */
    size_t bogus = (100 * G) | 1u;
    __builtin_memcpy(b - G, &bogus, sizeof bogus);
    n = hk_test_errors.count;
    hk_ring_free(&r, a); /* reclaims a, then meets the damaged mark */
    HK_CHECK_EQ(hk_test_errors.count, n + 1);
    HK_CHECK_EQ(hk_test_errors.last_code, HK_ECORRUPT);
    HK_CHECK(hk_test_errors.last_ptr == b - G);
    HK_CHECK_EQ(hk_ring_validate(&r), HK_ECORRUPT);
    hk_stats_t s;
    hk_ring_get_stats(&r, &s);
    HK_CHECK_EQ(s.used, 2 * G); /* the head did not move by the bad length */
}

/* ---- producer/consumer model (the stress rig, harness/hk_stress.h) --- */
#define QMAX 256

static size_t rec_bytes(size_t n, size_t g)
{
    return g + ((n ? n : 1) + g - 1) / g * g;
}

typedef struct {
    hk_ring_t r;
    size_t g, cap;
    size_t live_bytes; /* the records' bytes, headers and padding included */
} ring_ctx_t;

/* Reserve, then commit: a quarter of the records are allocated larger and
 * shrunk to their size. An allocation fits iff largest_free says so. */
static void *m_alloc(hk_stress_t *s, size_t *n)
{
    ring_ctx_t *x = s->ctx;
    size_t sz = *n;
    size_t before = largest(&x->r);
    size_t extra = hk_rng_below(&s->rng, 4) == 0 ? (size_t)hk_rng_below(&s->rng, 64) : 0;
    unsigned char *p = hk_ring_alloc(&x->r, sz + extra);
    HK_CHECK_EQ(p != NULL, (sz + extra ? sz + extra : 1) <= before);
    if (!p)
        return NULL;
    if (extra)
        HK_CHECK_EQ(hk_ring_shrink(&x->r, p, sz), HK_OK);
    *n = sz ? sz : 1; /* size 0 is a record of 1 byte */
    x->live_bytes += rec_bytes(sz, x->g);
    return p;
}

/* The consumer: the oldest record must be the ring's front. */
static void m_free(hk_stress_t *s, hk_stress_obj_t *o)
{
    ring_ctx_t *x = s->ctx;
    if (o == hk_stress_oldest(s)) {
        size_t fsz = 0;
        HK_CHECK(hk_ring_front(&x->r, &fsz) == o->p);
        HK_CHECK_EQ(fsz, o->n);
    }
    HK_CHECK_EQ(hk_ring_usable_size(&x->r, o->p), o->n);
    hk_ring_free(&x->r, o->p);
    x->live_bytes -= rec_bytes(o->n, x->g);
}

static size_t m_usable(hk_stress_t *s, const void *p)
{
    return hk_ring_usable_size(&((ring_ctx_t *)s->ctx)->r, p);
}

static int m_validate(hk_stress_t *s)
{
    return hk_ring_validate(&((ring_ctx_t *)s->ctx)->r);
}

static void m_stats(hk_stress_t *s, hk_stats_t *out)
{
    hk_ring_get_stats(&((ring_ctx_t *)s->ctx)->r, out);
}

static void m_check(hk_stress_t *s)
{
    check_largest_exact(&((ring_ctx_t *)s->ctx)->r);
}

static void m_check_stats(hk_stress_t *s, const hk_stats_t *st)
{
    ring_ctx_t *x = s->ctx;
    HK_CHECK(st->used >= x->live_bytes);
    HK_CHECK_EQ(st->total, x->cap);
}

static const hk_stress_ops_t ring_ops = {
    .alloc = m_alloc, .free = m_free, .usable = m_usable, .validate = m_validate,
    .stats = m_stats, .check = m_check, .check_stats = m_check_stats,
};

static void model_run(size_t align, size_t bytes, size_t maxsz, unsigned ooo_pct, uint64_t seed)
{
    static ring_ctx_t x;
    size_t asz;
    unsigned char *mem = hk_test_arena(&asz);
    if (bytes > asz - 8)
        bytes = asz - 8;
    HK_REQUIRE(hk_ring_init(&x.r, mem + 8, bytes, align, NULL) == HK_OK);
    x.g = align > G ? align : G;
    hk_stats_t st;
    hk_ring_get_stats(&x.r, &st);
    x.cap = st.total;
    x.live_bytes = 0;
    /* produce-heavy, balanced and draining phases; the consumer takes the
     * oldest record, or (ooo_pct%) any live one */
    hk_stress_config_t cfg = {
        .name = "ring", .seed = seed, .ops = 30000ul / HK_TEST_SCALE_DIV, .max_live = QMAX,
        .phase_len = 500, .nphases = 3, .phase_pct = { 70, 50, 25 },
        .random_pct = (unsigned char)ooo_pct, .size_max = maxsz, .align = x.g,
        .lo = mem + 8, .hi = mem + 8 + bytes, .validate_every = 61, .stats_every = 1,
        .flags = HK_STRESS_FIFO | HK_STRESS_USABLE_EXACT | HK_STRESS_REQUESTED |
                 HK_STRESS_EMPTY_ZERO,
    };
    hk_stress_t s;
    hk_stress_init(&s, &ring_ops, &cfg, &x);
    hk_stress_run(&s);
    HK_CHECK(s.failed > 0); /* the produce-heavy phases filled the ring */
    HK_CHECK_EQ(hk_test_errors.count, 0);
    hk_stress_drain(&s);
    HK_CHECK_EQ(used(&x.r), 0);
    HK_CHECK_EQ(hk_ring_validate(&x.r), HK_OK);
}

static void test_model(void)
{
    hk_test_capture_errors();
    model_run(0, 2048, 200, 0, 11);   /* strict FIFO */
    model_run(0, 4096, 300, 20, 12);  /* some out-of-order frees */
    model_run(64, 3000, 500, 10, 13); /* wide alignment */
    model_run(8, 1024, 64, 50, 14);   /* many small records */
}

HK_SUITE(ring)
{
    HK_RUN(test_worked_example);
    HK_RUN(test_full_and_empty);
    HK_RUN(test_out_of_order);
    HK_RUN(test_every_position);
    HK_RUN(test_shrink);
    HK_RUN(test_alignment);
    HK_RUN(test_lock_hooks);
    HK_RUN(test_bad_init);
    HK_RUN(test_bad_free);
    HK_RUN(test_validate_catches_corruption);
    HK_RUN(test_model);
}
