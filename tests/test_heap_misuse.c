/* SPDX-License-Identifier: MIT */
/*
 * test_heap_misuse.c - bad pointers are caught by the always-on checks: the
 * error hook gets the right code and the heap's bytes are left exactly as
 * they were (compared with a snapshot of the whole heap).
 */
#include "heap/block.h"
#include "heap_test_util.h"

#define MHEAP 4096u
static unsigned char snap[MHEAP];

typedef heap_fixture_t fixture_t;

static fixture_t setup(hk_fit_t fit)
{
    return heap_fixture(fit, MHEAP);
}

static void take_snapshot(const fixture_t *f)
{
    for (size_t i = 0; i < MHEAP; i++)
        snap[i] = f->mem[i];
}

/* Frees p, expects one report with `code`, and the heap byte-for-byte unchanged. */
static void expect_rejected_v(const fixture_t *f, void *p, int code, int valid)
{
    hk_stats_t st; /* blocks parked in the small-object front go back to the */
    hk_heap_get_stats(f->h, &st); /* block layer before the snapshot */
    take_snapshot(f);
    hk_test_capture_errors();
    hk_heap_free(f->h, p);
    HK_CHECK_EQ(hk_test_errors.count, 1);
    HK_CHECK_EQ(hk_test_errors.last_code, code);
    HK_CHECK(hk_test_errors.last_reason != NULL);
    HK_CHECK(hk_test_memcmp(snap, f->mem, MHEAP) == 0);
    if (valid)
        HK_CHECK_EQ(hk_heap_validate(f->h), 0);
    else
        HK_CHECK_EQ(hk_heap_validate(f->h), HK_ECORRUPT); /* the validator sees it too */
    hk_test_errors.count = 1;
    /* realloc and usable_size refuse the same pointer the same way */
    HK_CHECK(hk_heap_realloc(f->h, p, 10) == NULL);
    HK_CHECK_EQ(hk_heap_usable_size(f->h, p), 0);
    HK_CHECK_EQ(hk_test_errors.count, 3);
    HK_CHECK(hk_test_memcmp(snap, f->mem, MHEAP) == 0);
}

static void expect_rejected(const fixture_t *f, void *p, int code)
{
    expect_rejected_v(f, p, code, 1);
}

static void test_double_free(hk_fit_t fit)
{
    fixture_t f = setup(fit);
    HK_REQUIRE(f.h != NULL);
    expect_rejected(&f, f.b, HK_EDOUBLEFREE);
    /* a freed block that coalesced away is still caught */
    hk_heap_free(f.h, f.c);
    expect_rejected(&f, f.c, HK_EDOUBLEFREE);
}

static void test_foreign_pointer(hk_fit_t fit)
{
    fixture_t f = setup(fit);
    HK_REQUIRE(f.h != NULL);
    static uint64_t elsewhere[8];
    expect_rejected(&f, &elsewhere[2], HK_EBADPTR);
    expect_rejected(&f, f.mem + MHEAP + 64, HK_EBADPTR);   /* past the heap */
    expect_rejected(&f, f.h, HK_EBADPTR);                  /* the control block */
}

static void test_interior_and_misaligned(hk_fit_t fit)
{
    fixture_t f = setup(fit);
    HK_REQUIRE(f.h != NULL);
    expect_rejected(&f, (unsigned char *)f.a + 1, HK_EBADPTR);
    expect_rejected(&f, (unsigned char *)f.a + HK_ALIGN, HK_EBADPTR);
    expect_rejected(&f, (unsigned char *)f.a + 2 * HK_ALIGN, HK_EBADPTR);
    HK_CHECK(pat_ok(f.a, 1, 64) && pat_ok(f.c, 3, 64));
}

static void test_smashed_header_refused(hk_fit_t fit)
{
    fixture_t f = setup(fit);
    HK_REQUIRE(f.h != NULL);
    size_t *hdr = (size_t *)(void *)((unsigned char *)f.c - HK_W);
    size_t saved = *hdr;
    *hdr = (size_t)0x7fffff00u; /* an overflow from a wrote a huge size */
    expect_rejected_v(&f, f.c, HK_EBADPTR, 0);
    *hdr = saved;
    hk_heap_free(f.h, f.c); /* repaired: accepted */
    HK_CHECK_EQ(hk_heap_validate(f.h), 0);
    /* the first block of the region claims a free left neighbour: the check
     * must not trust the "footer" it finds below the region */
    size_t *ha = (size_t *)(void *)((unsigned char *)f.a - HK_W);
    *ha |= 2u;
    expect_rejected_v(&f, f.a, HK_EBADPTR, 0);
    *ha &= ~(size_t)2u;
    HK_CHECK_EQ(hk_heap_validate(f.h), 0);
}

static void per_policy(void (*fn)(hk_fit_t))
{
    for (unsigned i = 0; i < TEST_NFITS; i++)
        fn(test_fits[i]);
}

static void test_misuse_all(void)
{
    per_policy(test_double_free);
    per_policy(test_foreign_pointer);
    per_policy(test_interior_and_misaligned);
    per_policy(test_smashed_header_refused);
}

HK_SUITE(heap_misuse)
{
    HK_RUN(test_misuse_all);
}
