/* SPDX-License-Identifier: MIT */
/*
 * test_heap_validate.c - the validator notices damage: each test breaks one
 * thing in a healthy heap on purpose, checks that hk_heap_validate reports
 * HK_ECORRUPT, repairs it, and checks that the heap validates again.
 */
#include "heap/heap_impl.h" /* white box: the control structure and blocks */
#include "heap_test_util.h"

typedef struct {
    hk_heap_t *h;
    unsigned char *a, *b, *c, *d;
} fix_t;

static fix_t healthy(hk_fit_t fit)
{
    fix_t f;
    size_t sz;
    unsigned char *mem = hk_test_arena(&sz);
    hk_heap_config_t c = test_cfg(fit);
    c.bottom_cut = false; /* the default placement: no layout is named here */
    f.h = hk_heap_init(mem, 16384, &c);
    f.a = hk_heap_alloc(f.h, 100);
    f.b = hk_heap_alloc(f.h, 200);
    f.c = hk_heap_alloc(f.h, 300);
    f.d = hk_heap_alloc(f.h, 40);
    hk_heap_free(f.h, f.b); /* free block between used ones */
    /* validate empties the small-object front (the blocks cut with d
     * among them), so the damage done below meets no parked block */
    HK_CHECK_EQ(hk_heap_validate(f.h), 0);
    return f;
}

static size_t *hdr(void *p)
{
    return (size_t *)p - 1;
}

/* Applies `bits` XOR to the word at w, checks validate fails, restores. */
static void expect_caught(const fix_t *f, size_t *w, size_t bits)
{
    hk_test_capture_errors();
    HK_CHECK_EQ(hk_heap_validate(f->h), 0);
    *w ^= bits;
    HK_CHECK_EQ(hk_heap_validate(f->h), HK_ECORRUPT);
    HK_CHECK_EQ(hk_test_errors.last_code, HK_ECORRUPT);
    HK_CHECK(hk_test_errors.last_reason != NULL);
    *w ^= bits;
    HK_CHECK_EQ(hk_heap_validate(f->h), 0);
}

static void test_corruptions(hk_fit_t fit)
{
    fix_t f = healthy(fit);
    HK_REQUIRE(f.h != NULL);
    size_t bsz = *hdr(f.b) & ~(size_t)7;
    /* used header: size grows, size shrinks, flag bits */
    expect_caught(&f, hdr(f.c), (size_t)HK_ALIGN);
    expect_caught(&f, hdr(f.c), (size_t)1 << 20);
    expect_caught(&f, hdr(f.c), 1);         /* used block marked free  */
    expect_caught(&f, hdr(f.c), 2);         /* PREV_FREE cleared       */
    expect_caught(&f, hdr(f.a), 2);         /* PREV_FREE set wrongly   */
    expect_caught(&f, hdr(f.b), 1);         /* free block marked used  */
    /* free block's footer, its links */
    expect_caught(&f, (size_t *)(void *)(f.b - sizeof(size_t) + bsz - sizeof(size_t)), 64);
    expect_caught(&f, (size_t *)(void *)f.b, sizeof(void *));         /* next_free */
    expect_caught(&f, (size_t *)(void *)f.b + 1, (size_t)f.b);        /* prev_free */
    /* slack byte of a used block: 100 bytes asked in a 112-byte payload */
#if !HK_HEAP_EXACT
    expect_caught(&f, hdr(f.c), 4); /* SLACK on a used block: none is recorded */
#endif
    if (HK_HEAP_EXACT && HK_ALIGN == 16 && sizeof(size_t) == 8) {
        unsigned char *slack = f.a - sizeof(size_t) + (*hdr(f.a) & ~(size_t)7) - 1;
        HK_CHECK(*slack != 0);
        unsigned char keep = *slack;
        *slack = 0;
        HK_CHECK_EQ(hk_heap_validate(f.h), HK_ECORRUPT);
        *slack = keep;
        HK_CHECK_EQ(hk_heap_validate(f.h), 0);
    }
    /* statistics out of step with the blocks */
    f.h->usage.used += HK_ALIGN;
    HK_CHECK_EQ(hk_heap_validate(f.h), HK_ECORRUPT);
    f.h->usage.used -= HK_ALIGN;
    f.h->free_blocks++;
    HK_CHECK_EQ(hk_heap_validate(f.h), HK_ECORRUPT);
    f.h->free_blocks--;
#if HK_HEAP_EXACT /* else requested is derived from the counters above */
    f.h->requested--;
    HK_CHECK_EQ(hk_heap_validate(f.h), HK_ECORRUPT);
    f.h->requested++;
#endif
    /* the handle itself */
    f.h->gate ^= 0x100u; /* a bad handle is a bad argument */
    HK_CHECK_EQ(hk_heap_validate(f.h), HK_EINVAL);
    f.h->gate ^= 0x100u;
    HK_CHECK_EQ(hk_heap_validate(f.h), 0);
}

static void test_index_corruptions(void)
{
    fix_t f = healthy(HK_FIT_TLSF);
    HK_REQUIRE(f.h != NULL);
    /* a bitmap bit without a list, and a list without its bit */
    tlsf_slmap(f.h, 0) ^= 1u << 3;
    HK_CHECK_EQ(hk_heap_validate(f.h), HK_ECORRUPT);
    tlsf_slmap(f.h, 0) ^= 1u << 3;
    f.h->fl_bitmap ^= (size_t)1 << 1;
    HK_CHECK_EQ(hk_heap_validate(f.h), HK_ECORRUPT);
    f.h->fl_bitmap ^= (size_t)1 << 1;
    /* a free block on the wrong list */
    hk_block_t *fb = (hk_block_t *)(void *)(f.b - sizeof(size_t));
    unsigned idx = 0;
    for (unsigned i = HK_TLSF_BIAS; i < tlsf_nclasses(f.h); i++)
        if (tlsf_head(f.h, i) == fb)
            idx = i;
    HK_REQUIRE(idx != 0);
    hk_block_t *save_next = fb->next_free;
    tlsf_head(f.h, idx) = save_next; /* dropped from its list: not indexed */
    if (save_next)
        save_next->prev_free = NULL;
    HK_CHECK_EQ(hk_heap_validate(f.h), HK_ECORRUPT);
    if (save_next)
        save_next->prev_free = fb;
    tlsf_head(f.h, idx) = fb;
    /* a cycle in a list must not hang the validator */
    hk_block_t *old = fb->next_free;
    fb->next_free = fb;
    HK_CHECK_EQ(hk_heap_validate(f.h), HK_ECORRUPT);
    fb->next_free = old;
    HK_CHECK_EQ(hk_heap_validate(f.h), 0);
}

static void test_validate_all(void)
{
    for (unsigned i = 0; i < TEST_NFITS; i++)
        test_corruptions(test_fits[i]);
}

HK_SUITE(heap_validate)
{
    HK_RUN(test_validate_all);
    HK_RUN(test_index_corruptions);
}
