/* SPDX-License-Identifier: MIT */
/*
 * test_pages.c - the physical page-frame allocator (hk_pages): memory maps,
 * buddy alloc/free, runs, claims, misuse, statistics and the validator.
 * hk_pages never touches the frames it manages, so most tests describe
 * physical memory anywhere in the 64-bit space (above 4 GiB too) and only
 * need the arena for the metadata.
 */
#include "hk_stress.h"
#include "hk_test.h"
#include "heapkit/pages.h"
#include "pages/pages_internal.h"

#define KiB 1024ull
#define MiB (1024ull * 1024ull)
#define GiB (1024ull * 1024ull * 1024ull)

/* Frames the tests may manage so that the metadata (9 bytes a frame) takes
 * at most half of the arena: 1800 on a 32 KiB board, 64 Ki on a host. */
static uint64_t test_frames(void)
{
    size_t sz;
    (void)hk_test_arena(&sz);
    uint64_t f = (uint64_t)(sz / 2u - 1024u) / 9u;
    return f > 65536u ? 65536u : f;
}

static hk_pages_t *make(const hk_mem_range_t *map, size_t n, const hk_mem_range_t *res,
                        size_t nres, size_t frame)
{
    size_t sz;
    void *mem = hk_test_arena(&sz);
    hk_pages_config_t c = {0};
    c.map = map;
    c.map_len = n;
    c.reserved = res;
    c.reserved_len = nres;
    c.frame_size = frame;
    size_t need = hk_pages_meta_size(&c);
    if (!need || need > sz)
        return NULL;
    c.meta = (char *)mem + 1; /* any alignment is accepted */
    c.meta_size = sz - 1u;
    return hk_pages_init(&c);
}

/* A firmware-like map: low memory with the BIOS hole, the kernel image,
 * memory below and above the 4 GiB PCI hole, ACPI and a reserved window
 * above 4 GiB. Sized from the arena. */
static void test_firmware_map(void)
{
    uint64_t f = test_frames();
    uint64_t hi = (f / 2u) * 4u * KiB; /* bytes of the two big usable ranges */
    hk_mem_range_t map[] = {
        {0x0, 0x9fc00, HK_MEM_USABLE},             /* 639 KiB: 159 whole frames */
        {0x9fc00, 0x400, HK_MEM_RESERVED},         /* EBDA */
        {0xf0000, 0x10000, HK_MEM_RESERVED},       /* BIOS ROM */
        {1 * MiB, hi, HK_MEM_USABLE},              /* low RAM */
        {1 * MiB + hi - 64 * KiB, 64 * KiB, HK_MEM_ACPI},
        {0xfec00000, 0x1000, HK_MEM_RESERVED},     /* IOAPIC */
        {4 * GiB, 4 * GiB, HK_MEM_RESERVED},       /* a reserved window above 4 GiB */
        {9 * GiB, hi / 4u, HK_MEM_USABLE},         /* high RAM */
    };
    hk_mem_range_t kernel[] = {{1 * MiB, 256 * KiB, 0}}; /* the kernel image */
    /* the low range loses its partial last frame, the kernel and the ACPI tail */
    uint64_t expect = 159u + (hi - 256 * KiB - 64 * KiB) / (4 * KiB) + hi / 4u / (4 * KiB);
    hk_test_capture_errors();
    if (f < 600u) {
        hk_test_skip("arena too small for this map");
        return;
    }
    hk_pages_t *p = make(map, sizeof map / sizeof map[0], kernel, 1, 0);
    HK_REQUIRE(p != NULL);
    HK_CHECK_EQ(hk_pages_frame_size(p), 4096u);
    HK_CHECK_EQ(hk_pages_total_frames(p), expect);
    HK_CHECK_EQ(hk_pages_free_frames(p), expect);
    HK_CHECK_EQ(hk_pages_validate(p), 0);
    HK_CHECK(hk_pages_is_free(p, 0));
    HK_CHECK(hk_pages_is_free(p, 0x9e000));
    HK_CHECK(!hk_pages_is_free(p, 0x9f000)); /* partial frame below the EBDA */
    HK_CHECK(!hk_pages_is_free(p, 0xa0000));
    HK_CHECK(!hk_pages_is_free(p, 1 * MiB));  /* the kernel */
    HK_CHECK(hk_pages_is_free(p, 1 * MiB + 256 * KiB));
    HK_CHECK(!hk_pages_is_free(p, 1 * MiB + hi - 4 * KiB)); /* ACPI */
    HK_CHECK(!hk_pages_is_free(p, 5 * GiB));
    HK_CHECK(hk_pages_is_free(p, 9 * GiB));
    /* Drain everything with order-0 allocations: every address is usable,
     * frame aligned, unique, and outside the reserved ranges. */
    uint64_t got = 0, above4g = 0;
    hk_paddr_t a, prev_hi = 0;
    while ((a = hk_pages_alloc(p, 0)) != HK_PADDR_NONE) {
        got++;
        HK_CHECK_EQ(a & 0xfff, 0);
        HK_CHECK(!(a >= 0x9f000 && a < 1 * MiB + 256 * KiB));
        HK_CHECK(!(a >= 4 * GiB && a < 9 * GiB));
        if (a >= 9 * GiB) {
            above4g++;
            prev_hi = a;
        }
    }
    (void)prev_hi;
    HK_CHECK_EQ(got, expect);
    HK_CHECK_EQ(above4g, hi / 4u / (4 * KiB));
    HK_CHECK_EQ(hk_pages_free_frames(p), 0);
    HK_CHECK_EQ(hk_pages_validate(p), 0);
    HK_CHECK_EQ(hk_test_errors.count, 0);
}

static void test_buddy_split_merge(void)
{
    hk_mem_range_t map[] = {{64 * MiB, 64 * 4 * KiB, HK_MEM_USABLE}}; /* 64 frames */
    hk_test_capture_errors();
    hk_pages_t *p = make(map, 1, NULL, 0, 0);
    HK_REQUIRE(p != NULL);
    size_t bi[HK_PAGES_ORDERS];
    hk_pages_buddyinfo(p, bi);
    HK_CHECK_EQ(bi[6], 1);
    HK_CHECK_EQ(bi[0], 0);
    hk_paddr_t a = hk_pages_alloc(p, 0);
    HK_CHECK_EQ(a, 64 * MiB);
    hk_pages_buddyinfo(p, bi);
    for (unsigned k = 0; k < 6; k++)
        HK_CHECK_EQ(bi[k], 1); /* one buddy left over at each order */
    HK_CHECK_EQ(bi[6], 0);
    hk_paddr_t b = hk_pages_alloc(p, 3); /* 8 frames, aligned to 32 KiB */
    HK_CHECK_EQ(b & (32 * KiB - 1), 0);
    HK_CHECK_EQ(b, 64 * MiB + 32 * KiB);
    HK_CHECK_EQ(hk_pages_validate(p), 0);
    hk_stats_t s;
    hk_pages_get_stats(p, &s);
    HK_CHECK_EQ(s.total, 64 * 4 * KiB);
    HK_CHECK_EQ(s.used, 9 * 4 * KiB);
    HK_CHECK_EQ(s.used_blocks, 2);
    HK_CHECK_EQ(s.largest_free, 32 * 4 * KiB);
    HK_CHECK_EQ(s.allocs, 2);
    hk_pages_free(p, a, 0);
    hk_pages_free(p, b, 3);
    HK_CHECK_EQ(hk_pages_validate(p), 0);
    hk_pages_buddyinfo(p, bi);
    HK_CHECK_EQ(bi[6], 1); /* merged all the way back */
    hk_pages_get_stats(p, &s);
    HK_CHECK_EQ(s.free, 64 * 4 * KiB);
    HK_CHECK_EQ(s.peak_used, 9 * 4 * KiB);
    HK_CHECK_EQ(s.frees, 2);
    /* too big, and out of range orders */
    HK_CHECK_EQ(hk_pages_alloc(p, 7), HK_PADDR_NONE);
    HK_CHECK_EQ(hk_test_errors.count, 0);
    HK_CHECK_EQ(hk_pages_alloc(p, HK_PAGES_MAX_ORDER + 1u), HK_PADDR_NONE);
    HK_CHECK_EQ(hk_test_errors.last_code, HK_ERANGE);
    hk_pages_get_stats(p, &s);
    HK_CHECK_EQ(s.failed_allocs, 2);
}

/* Blocks never cross an area edge: an area of 7 frames at an odd frame. */
static void test_unaligned_area(void)
{
    hk_mem_range_t map[] = {{0x3000, 7 * 4 * KiB, HK_MEM_USABLE}}; /* pfn 3..9 */
    hk_test_capture_errors();
    hk_pages_t *p = make(map, 1, NULL, 0, 0);
    HK_REQUIRE(p != NULL);
    size_t bi[HK_PAGES_ORDERS];
    hk_pages_buddyinfo(p, bi);
    HK_CHECK_EQ(bi[0], 1); /* pfn 3 */
    HK_CHECK_EQ(bi[2], 1); /* pfn 4..7 */
    HK_CHECK_EQ(bi[1], 1); /* pfn 8..9: 10..11 is outside, so no merge */
    HK_CHECK_EQ(bi[3], 0);
    HK_CHECK_EQ(hk_pages_alloc(p, 3), HK_PADDR_NONE);
    hk_paddr_t b = hk_pages_alloc(p, 1);
    HK_CHECK_EQ(b, 0x8000);
    hk_paddr_t c = hk_pages_alloc(p, 1); /* splits 4..7 */
    HK_CHECK_EQ(c, 0x4000);
    hk_pages_free(p, b, 1);
    hk_pages_free(p, c, 1);
    hk_pages_buddyinfo(p, bi);
    HK_CHECK_EQ(bi[2], 1);
    HK_CHECK_EQ(bi[1], 1);
    HK_CHECK_EQ(hk_pages_validate(p), 0);
    /* a run is exact: 6 frames at 3..8, though no aligned 8-frame block exists */
    hk_paddr_t r = hk_pages_alloc_run(p, 6);
    HK_CHECK_EQ(r, 0x3000);
    HK_CHECK_EQ(hk_pages_free_frames(p), 1);
    HK_CHECK_EQ(hk_pages_validate(p), 0);
    hk_pages_free_run(p, r, 6);
    HK_CHECK_EQ(hk_pages_free_frames(p), 7);
    /* claiming frames 3..8 works too */
    HK_CHECK_EQ(hk_pages_claim(p, 0x3000, 6), 0);
    HK_CHECK_EQ(hk_pages_free_frames(p), 1);
    HK_CHECK_EQ(hk_pages_validate(p), 0);
    hk_pages_free_run(p, 0x3000, 6);
    HK_CHECK_EQ(hk_pages_free_frames(p), 7);
    HK_CHECK_EQ(hk_pages_validate(p), 0);
    HK_CHECK_EQ(hk_test_errors.count, 0);
}

static void test_runs_and_claims(void)
{
    hk_mem_range_t map[] = {{0, 256 * 4 * KiB, HK_MEM_USABLE}};
    hk_test_capture_errors();
    hk_pages_t *p = make(map, 1, NULL, 0, 0);
    HK_REQUIRE(p != NULL);
    hk_paddr_t r = hk_pages_alloc_run(p, 5); /* takes 8, gives 3 back */
    HK_CHECK(r != HK_PADDR_NONE);
    HK_CHECK_EQ(hk_pages_free_frames(p), 251);
    HK_CHECK_EQ(hk_pages_validate(p), 0);
    for (unsigned i = 0; i < 5; i++)
        HK_CHECK(!hk_pages_is_free(p, r + i * 4096u));
    HK_CHECK(hk_pages_is_free(p, r + 5 * 4096u));
    /* claim overlapping the run: busy, nothing changes */
    HK_CHECK_EQ(hk_pages_claim(p, r + 4 * 4096u, 4), HK_EBUSY);
    HK_CHECK_EQ(hk_pages_free_frames(p), 251);
    /* claim a range in the middle of a big free block */
    HK_CHECK_EQ(hk_pages_claim(p, 100 * 4096u, 37), 0);
    HK_CHECK_EQ(hk_pages_free_frames(p), 214);
    HK_CHECK_EQ(hk_pages_validate(p), 0);
    HK_CHECK(!hk_pages_is_free(p, 136 * 4096u));
    HK_CHECK(hk_pages_is_free(p, 137 * 4096u));
    HK_CHECK(hk_pages_is_free(p, 99 * 4096u));
    /* outside, misaligned, zero */
    HK_CHECK_EQ(hk_pages_claim(p, 255 * 4096u, 2), HK_EFAULT);
    HK_CHECK_EQ(hk_pages_claim(p, 200 * 4096u + 1, 1), HK_EINVAL);
    HK_CHECK_EQ(hk_pages_claim(p, 200 * 4096u, 0), HK_EINVAL);
    HK_CHECK_EQ(hk_test_errors.count, 3);
    hk_pages_free_run(p, 100 * 4096u, 37);
    hk_pages_free_run(p, r, 5);
    HK_CHECK_EQ(hk_pages_free_frames(p), 256);
    size_t bi[HK_PAGES_ORDERS];
    hk_pages_buddyinfo(p, bi);
    HK_CHECK_EQ(bi[8], 1);
    HK_CHECK_EQ(hk_pages_validate(p), 0);
    HK_CHECK_EQ(hk_pages_alloc_run(p, 0), HK_PADDR_NONE);
    HK_CHECK_EQ(hk_test_errors.last_code, HK_EINVAL);
}

static void test_misuse(void)
{
    hk_mem_range_t map[] = {{1 * MiB, 64 * 4 * KiB, HK_MEM_USABLE}};
    hk_test_capture_errors();
    hk_pages_t *p = make(map, 1, NULL, 0, 0);
    HK_REQUIRE(p != NULL);
    hk_paddr_t a = hk_pages_alloc(p, 2);
    hk_paddr_t b = hk_pages_alloc(p, 0);
    HK_REQUIRE(a != HK_PADDR_NONE && b != HK_PADDR_NONE);
    hk_pages_free(p, a, 1); /* wrong order */
    HK_CHECK_EQ(hk_test_errors.last_code, HK_EBADPTR);
    hk_pages_free(p, a + 4096u, 0); /* interior */
    HK_CHECK_EQ(hk_test_errors.last_code, HK_EBADPTR);
    hk_pages_free(p, a + 1, 2); /* misaligned */
    HK_CHECK_EQ(hk_test_errors.last_code, HK_EBADPTR);
    hk_pages_free(p, 5 * GiB, 0); /* foreign */
    HK_CHECK_EQ(hk_test_errors.last_code, HK_EBADPTR);
    hk_pages_free(p, b, 0);
    unsigned before = hk_test_errors.count;
    hk_pages_free(p, b, 0); /* double free */
    HK_CHECK_EQ(hk_test_errors.count, before + 1u);
    HK_CHECK_EQ(hk_test_errors.last_code, HK_EDOUBLEFREE);
    hk_pages_free(p, a + 63u * 4096u, 0); /* a never-allocated free frame */
    HK_CHECK_EQ(hk_test_errors.last_code, HK_EDOUBLEFREE);
    hk_pages_free_run(p, a, 5); /* wrong n: runs into free frames */
    HK_CHECK(hk_test_errors.last_code == HK_EDOUBLEFREE || hk_test_errors.last_code == HK_EBADPTR);
    HK_CHECK_EQ(hk_pages_free_frames(p), 60);
    HK_CHECK_EQ(hk_pages_validate(p), 0);
    hk_pages_free(p, a, 2);
    HK_CHECK_EQ(hk_pages_free_frames(p), 64);
    HK_CHECK_EQ(hk_pages_validate(p), 0);
    /* NULL handles and bad configurations */
    HK_CHECK_EQ(hk_pages_alloc(NULL, 0), HK_PADDR_NONE);
    HK_CHECK_EQ(hk_test_errors.last_code, HK_EINVAL);
    HK_CHECK(hk_pages_init(NULL) == NULL);
    hk_pages_config_t c = {0};
    c.map = map;
    c.map_len = 1;
    c.frame_size = 3000; /* not a power of two */
    HK_CHECK(hk_pages_init(&c) == NULL);
    HK_CHECK_EQ(hk_test_errors.last_code, HK_EINVAL);
    c.frame_size = 0;
    static uint64_t small[8];
    c.meta = small;
    c.meta_size = sizeof small;
    HK_CHECK(hk_pages_init(&c) == NULL);
    HK_CHECK_EQ(hk_test_errors.last_code, HK_ENOMEM);
    hk_mem_range_t none[] = {{0x1000, 0x800, HK_MEM_USABLE}, {0, 1 * MiB, HK_MEM_BAD}};
    c.map = none;
    c.map_len = 2;
    HK_CHECK_EQ(hk_pages_meta_size(&c), 0);
    HK_CHECK(hk_pages_init(&c) == NULL);
    HK_CHECK_EQ(hk_test_errors.last_code, HK_EINVAL);
    /* a map entry that wraps the 64-bit space is clamped, not trusted */
    hk_mem_range_t wrap[] = {{UINT64_MAX - 8 * 4096u + 1u, 64 * 4096u, HK_MEM_USABLE}};
    hk_pages_t *w = make(wrap, 1, NULL, 0, 0);
    HK_REQUIRE(w != NULL);
    HK_CHECK_EQ(hk_pages_total_frames(w), 8); /* clamped at 2^64: the top frame is managed */
    HK_CHECK_EQ(hk_pages_validate(w), 0);
    /* NULL or not an initialised allocator: a bad handle, HK_EINVAL */
    hk_pages_t z;
    hk_test_memset(&z, 0, sizeof z);
    HK_CHECK_EQ(hk_pages_validate(NULL), HK_EINVAL);
    HK_CHECK_EQ(hk_pages_validate(&z), HK_EINVAL);
    HK_CHECK_EQ(hk_test_errors.last_code, HK_EINVAL);
}

/* A run or claimed range frees only with its own n, and hk_pages_free and
 * hk_pages_free_run are not interchangeable: each refusal is reported and
 * changes nothing. (A shorter n used to free the first blocks silently and
 * strand the rest.) */
static void test_run_record(void)
{
    hk_mem_range_t map[] = {{0, 256 * 4 * KiB, HK_MEM_USABLE}};
    hk_test_capture_errors();
    hk_pages_t *p = make(map, 1, NULL, 0, 0);
    HK_REQUIRE(p != NULL);
    hk_paddr_t r = hk_pages_alloc_run(p, 5);
    HK_REQUIRE(r != HK_PADDR_NONE);
    hk_pages_free_run(p, r, 4); /* too short */
    HK_CHECK_EQ(hk_test_errors.count, 1);
    HK_CHECK_EQ(hk_test_errors.last_code, HK_EBADPTR);
    HK_CHECK_EQ(hk_pages_free_frames(p), 251);
    hk_pages_free_run(p, r, 6); /* too long */
    HK_CHECK_EQ(hk_test_errors.count, 2);
    hk_pages_free_run(p, r + 4 * 4096u, 1); /* the run's last block alone */
    HK_CHECK_EQ(hk_test_errors.count, 3);
    hk_pages_free(p, r, 2); /* its first block as if from hk_pages_alloc */
    HK_CHECK_EQ(hk_test_errors.count, 4);
    HK_CHECK_EQ(hk_test_errors.last_code, HK_EBADPTR);
    HK_CHECK_EQ(hk_pages_free_frames(p), 251);
    HK_CHECK_EQ(hk_pages_validate(p), 0);
    hk_pages_free_run(p, r, 5);
    HK_CHECK_EQ(hk_pages_free_frames(p), 256);
    /* the same for a claimed range */
    hk_paddr_t a = 100 * 4096u;
    HK_REQUIRE(hk_pages_claim(p, a, 7) == 0);
    hk_pages_free_run(p, a, 4);
    hk_pages_free_run(p, a + 4096u, 6); /* from inside */
    HK_CHECK_EQ(hk_test_errors.count, 6);
    HK_CHECK_EQ(hk_pages_free_frames(p), 249);
    hk_pages_free_run(p, a, 7);
    HK_CHECK_EQ(hk_pages_free_frames(p), 256);
    /* a block from hk_pages_alloc frees only with hk_pages_free */
    hk_paddr_t b = hk_pages_alloc(p, 2);
    HK_REQUIRE(b != HK_PADDR_NONE);
    hk_pages_free_run(p, b, 4);
    HK_CHECK_EQ(hk_test_errors.count, 7);
    HK_CHECK_EQ(hk_test_errors.last_code, HK_EBADPTR);
    HK_CHECK_EQ(hk_pages_free_frames(p), 252);
    hk_pages_free(p, b, 2);
    /* a run of a power of two is still a run */
    r = hk_pages_alloc_run(p, 4);
    hk_pages_free(p, r, 2);
    HK_CHECK_EQ(hk_test_errors.count, 8);
    HK_CHECK_EQ(hk_pages_free_frames(p), 252);
    hk_pages_free_run(p, r, 4);
    HK_CHECK_EQ(hk_pages_free_frames(p), 256);
    HK_CHECK_EQ(hk_pages_validate(p), 0);
    /* the validator checks the record */
    r = hk_pages_alloc_run(p, 3);
    HK_REQUIRE(r != HK_PADDR_NONE);
    uint32_t g = (uint32_t)(r >> 12) + 2u, save = p->prev[g];
    p->prev[g] = save + 1u;
    HK_CHECK_EQ(hk_pages_validate(p), HK_ECORRUPT);
    p->prev[g] = save;
    HK_CHECK_EQ(hk_pages_validate(p), 0);
    hk_pages_free_run(p, r, 3);
    HK_CHECK_EQ(hk_test_errors.count, 9);
}

/* Runs are exact, found across adjacent free blocks, and a run that can
 * never be satisfied is reported the same way whatever its size. */
static void test_exact_runs(void)
{
    uint64_t n = 4096;
    while (n > test_frames())
        n /= 2u;
    hk_mem_range_t map[] = {{4096u, n * 4096u, HK_MEM_USABLE}}; /* pfn 1..n */
    hk_test_capture_errors();
    hk_pages_t *p = make(map, 1, NULL, 0, 0);
    HK_REQUIRE(p != NULL);
    /* every frame in one run, though no block of n frames is aligned here */
    hk_paddr_t r = hk_pages_alloc_run(p, (size_t)n);
    HK_CHECK_EQ(r, 4096u);
    HK_CHECK_EQ(hk_pages_free_frames(p), 0);
    HK_CHECK_EQ(hk_pages_validate(p), 0);
    hk_pages_free_run(p, r, (size_t)n);
    HK_CHECK_EQ(hk_pages_free_frames(p), n);
    /* a used frame at the start: the run is found in the frames after it */
    HK_REQUIRE(hk_pages_claim(p, 4096u, 1) == 0);
    r = hk_pages_alloc_run(p, (size_t)n - 1u);
    HK_CHECK_EQ(r, 2 * 4096u);
    HK_CHECK_EQ(hk_pages_free_frames(p), 0);
    HK_CHECK_EQ(hk_pages_validate(p), 0);
    hk_pages_free_run(p, r, (size_t)n - 1u);
    hk_pages_free_run(p, 4096u, 1);
    HK_CHECK_EQ(hk_test_errors.count, 0);
    /* too long for any area: HK_ERANGE, just above the area and far above */
    hk_stats_t st;
    hk_pages_get_stats(p, &st);
    uint64_t failed = st.failed_allocs;
    HK_CHECK_EQ(hk_pages_alloc_run(p, (size_t)n + 1u), HK_PADDR_NONE);
    HK_CHECK_EQ(hk_test_errors.count, 1);
    HK_CHECK_EQ(hk_test_errors.last_code, HK_ERANGE);
    HK_CHECK_EQ(hk_pages_alloc_run(p, SIZE_MAX), HK_PADDR_NONE);
    HK_CHECK_EQ(hk_test_errors.count, 2);
    HK_CHECK_EQ(hk_test_errors.last_code, HK_ERANGE);
    /* long enough to fit but nothing free that long: not reported */
    hk_paddr_t one = hk_pages_alloc(p, 0);
    HK_CHECK_EQ(hk_pages_alloc_run(p, (size_t)n), HK_PADDR_NONE);
    HK_CHECK_EQ(hk_test_errors.count, 2);
    hk_pages_get_stats(p, &st);
    HK_CHECK_EQ(st.failed_allocs, failed + 3u);
    hk_pages_free(p, one, 0);
    HK_CHECK_EQ(hk_pages_free_frames(p), n);
    HK_CHECK_EQ(hk_pages_validate(p), 0);
}

/* The top of the 64-bit space: a map entry ending at 2^64 manages its last
 * frame, and a range wrapping past 2^64 is HK_EINVAL. */
static void test_top_of_space(void)
{
    hk_mem_range_t map[] = {{0 - 0x10000ull, 0x10000, HK_MEM_USABLE}};
    hk_test_capture_errors();
    hk_pages_t *p = make(map, 1, NULL, 0, 0);
    HK_REQUIRE(p != NULL);
    HK_CHECK_EQ(hk_pages_total_frames(p), 16);
    hk_paddr_t a = hk_pages_alloc(p, 4);
    HK_CHECK_EQ(a, 0 - 0x10000ull);
    hk_pages_free(p, a, 4);
    HK_CHECK_EQ(hk_pages_claim(p, UINT64_MAX - 4095u, 1), 0); /* the top frame */
    HK_CHECK(!hk_pages_is_free(p, UINT64_MAX - 4095u));
    HK_CHECK_EQ(hk_pages_validate(p), 0);
    hk_pages_free_run(p, UINT64_MAX - 4095u, 1);
    HK_CHECK_EQ(hk_pages_free_frames(p), 16);
    HK_CHECK_EQ(hk_test_errors.count, 0);
    HK_CHECK_EQ(hk_pages_claim(p, UINT64_MAX - 4095u, 4), HK_EINVAL);
    HK_CHECK_EQ(hk_test_errors.last_code, HK_EINVAL);
    HK_CHECK_EQ(hk_pages_claim(p, UINT64_MAX - 3u * 4096u + 1u, SIZE_MAX), HK_EINVAL);
    HK_CHECK_EQ(hk_test_errors.count, 2);
    HK_CHECK_EQ(hk_pages_free_frames(p), 16);
    /* an entry ending one byte short of 2^64 leaves the top frame partial */
    hk_mem_range_t shy[] = {{0 - 0x10000ull, 0xffff, HK_MEM_USABLE}};
    p = make(shy, 1, NULL, 0, 0);
    HK_REQUIRE(p != NULL);
    HK_CHECK_EQ(hk_pages_total_frames(p), 15);
    /* the wrap rule holds on an ordinary map too */
    hk_mem_range_t low[] = {{0, 256 * 4 * KiB, HK_MEM_USABLE}};
    p = make(low, 1, NULL, 0, 0);
    HK_REQUIRE(p != NULL);
    HK_CHECK_EQ(hk_pages_claim(p, UINT64_MAX - 4095u, 4), HK_EINVAL);
    HK_CHECK_EQ(hk_pages_claim(p, UINT64_MAX - 4095u, 1), HK_EFAULT);
    HK_CHECK_EQ(hk_test_errors.count, 4);
}

/* The validator notices damage planted in the metadata. */
static void test_validate_detects(void)
{
    hk_mem_range_t map[] = {{0, 32 * 4 * KiB, HK_MEM_USABLE}};
    hk_test_capture_errors();
    hk_pages_t *p = make(map, 1, NULL, 0, 0);
    HK_REQUIRE(p != NULL);
    hk_paddr_t a = hk_pages_alloc(p, 0);
    HK_CHECK_EQ(hk_pages_validate(p), 0);
    uint8_t save = p->state[a >> 12];
    p->state[a >> 12] = 0; /* head wiped */
    HK_CHECK_EQ(hk_pages_validate(p), HK_ECORRUPT);
    HK_CHECK_EQ(hk_test_errors.last_code, HK_ECORRUPT);
    p->state[a >> 12] = save;
    HK_CHECK_EQ(hk_pages_validate(p), 0);
    uint32_t n = p->nfree[1];
    p->nfree[1] = n + 1u; /* counter off */
    HK_CHECK_EQ(hk_pages_validate(p), HK_ECORRUPT);
    p->nfree[1] = n;
    uint32_t h = p->head[2];
    p->next[h] = h; /* a cycle */
    HK_CHECK_EQ(hk_pages_validate(p), HK_ECORRUPT);
    p->next[h] = PG_NIL;
    HK_CHECK_EQ(hk_pages_validate(p), 0);
    p->usage.used--; /* one frame more free than the blocks say */
    HK_CHECK_EQ(hk_pages_validate(p), HK_ECORRUPT);
    p->usage.used++;
    p->usage.peak = 0; /* a peak below the use */
    HK_CHECK_EQ(hk_pages_validate(p), HK_ECORRUPT);
    p->usage.peak = p->usage.used;
    p->usage.trip = hk__usage_trip(&p->usage);
    HK_CHECK_EQ(hk_pages_validate(p), 0);
}

/* Frame size is a run-time choice: 64 KiB frames and 1 KiB frames. */
static void test_frame_sizes(void)
{
    hk_mem_range_t map[] = {{0x12345, 8 * MiB, HK_MEM_USABLE}};
    hk_test_capture_errors();
    hk_pages_t *p = make(map, 1, NULL, 0, 64 * KiB);
    HK_REQUIRE(p != NULL);
    HK_CHECK_EQ(hk_pages_frame_size(p), 64 * KiB);
    HK_CHECK_EQ(hk_pages_total_frames(p), 127); /* start rounded up to 0x20000 */
    hk_paddr_t a = hk_pages_alloc(p, 4);
    HK_CHECK_EQ(a & (1 * MiB - 1), 0);
    hk_pages_free(p, a, 4);
    HK_CHECK_EQ(hk_pages_validate(p), 0);
    hk_mem_range_t small[] = {{0x400, 100 * KiB, HK_MEM_USABLE}};
    p = make(small, 1, NULL, 0, 1 * KiB);
    HK_REQUIRE(p != NULL);
    HK_CHECK_EQ(hk_pages_total_frames(p), 100);
    /* runs are exact: all 100 frames though no aligned 128-frame block exists */
    hk_paddr_t r = hk_pages_alloc_run(p, 100);
    HK_CHECK_EQ(r, 0x400);
    HK_CHECK_EQ(hk_pages_free_frames(p), 0);
    HK_CHECK_EQ(hk_pages_alloc_run(p, 1), HK_PADDR_NONE); /* none free: not reported */
    hk_pages_free_run(p, r, 100);
    HK_CHECK_EQ(hk_pages_free_frames(p), 100);
    hk_paddr_t r60 = hk_pages_alloc_run(p, 60), r30 = hk_pages_alloc_run(p, 30);
    HK_CHECK(r60 != HK_PADDR_NONE && r30 != HK_PADDR_NONE);
    HK_CHECK_EQ(hk_pages_free_frames(p), 10);
    HK_CHECK_EQ(hk_pages_alloc_run(p, 11), HK_PADDR_NONE);
    HK_CHECK_EQ(hk_pages_validate(p), 0);
    hk_pages_free_run(p, r60, 60);
    hk_pages_free_run(p, r30, 30);
    HK_CHECK_EQ(hk_pages_free_frames(p), 100);
    HK_CHECK_EQ(hk_pages_validate(p), 0);
    HK_CHECK_EQ(hk_test_errors.count, 0);
}

/* Metadata carved from the first usable area: the arena plays physical
 * memory at physical address 16 MiB. */
static void test_carved_metadata(void)
{
    size_t sz;
    char *mem = hk_test_arena(&sz);
    uintptr_t base = ((uintptr_t)mem + 4095u) & ~(uintptr_t)4095u;
    uint64_t frames = (uint64_t)(sz - (base - (uintptr_t)mem)) / 4096u;
    hk_mem_range_t map[] = {{16 * MiB, frames * 4096u, HK_MEM_USABLE},
                            {16 * MiB, 4096u, HK_MEM_RESERVED}}; /* first frame reserved */
    hk_pages_config_t c = {0};
    c.map = map;
    c.map_len = 2;
    c.direct_map = base - (uintptr_t)(16 * MiB);
    hk_test_capture_errors();
    hk_pages_t *p = hk_pages_init(&c);
    HK_REQUIRE(p != NULL);
    HK_CHECK((uintptr_t)p >= base + 4096u && (uintptr_t)p < base + 8192u);
    size_t meta = hk_pages_meta_size(&c);
    uint64_t meta_frames = (meta + 4095u) / 4096u;
    HK_CHECK_EQ(hk_pages_total_frames(p), frames - 1u);
    HK_CHECK_EQ(hk_pages_free_frames(p), frames - 1u - meta_frames);
    HK_CHECK(!hk_pages_is_free(p, 16 * MiB + 4096u));
    HK_CHECK(hk_pages_is_free(p, 16 * MiB + 4096u * (1u + meta_frames)));
    hk_stats_t s;
    hk_pages_get_stats(p, &s);
    HK_CHECK_EQ(s.used, meta_frames * 4096u);
    HK_CHECK_EQ(s.allocs, 0);
    HK_CHECK_EQ(hk_pages_validate(p), 0);
    HK_CHECK_EQ(hk_test_errors.count, 0);
}

/* Randomized: allocate blocks, runs and claims, free in random order,
 * validate after every operation, and check with a frame bitmap that no two
 * live allocations overlap. At the end every frame is free again and the
 * free lists are back to their first shape. */
#define RMAX 96
/* Sets the owner marks of [a, a + n frames); returns how many were already
 * set (when setting) or how many were clear (when clearing). */
static unsigned mark(uint8_t *owner, uint64_t f, const hk_mem_range_t *map, hk_paddr_t a,
                     uint32_t n, uint8_t v)
{
    unsigned half = a >= map[1].base;
    uint64_t idx = half * (f / 2u) + ((a - map[half].base) >> 12);
    unsigned clash = 0;
    for (uint32_t i = 0; i < n; i++) {
        if (idx + i >= f) {
            clash++;
            continue;
        }
        if ((owner[idx + i] != 0) == (v != 0))
            clash++;
        owner[idx + i] = v;
    }
    return clash;
}

/* The rig's objects are frame ranges: p is the physical address as a
 * pointer (never dereferenced: the shadow covers 0 bytes), aux holds the
 * frame count << 8 | the kind (0x80: a run or a claim) | the order. */
typedef struct {
    hk_pages_t *p;
    uint64_t f;
    const hk_mem_range_t *map;
    uint8_t *owner;
} pages_ctx_t;

#define PG_RUN 0x80u

static void *m_alloc(hk_stress_t *s, size_t *nbytes)
{
    pages_ctx_t *x = s->ctx;
    hk_rng_t *r = &s->rng;
    const hk_mem_range_t *map = x->map;
    uint64_t f = x->f;
    unsigned what = (unsigned)hk_rng_below(r, 3);
    hk_paddr_t a;
    uint32_t n;
    uint8_t order = 0;
    *nbytes = 0;
    if (what == 0) {
        order = (uint8_t)hk_rng_below(r, 6);
        n = 1u << order;
        a = hk_pages_alloc(x->p, order);
        if (a != HK_PADDR_NONE)
            HK_CHECK_EQ((a >> 12) % n, 0); /* aligned to its size */
    } else if (what == 1) {
        n = 1u + (uint32_t)hk_rng_below(r, 40);
        a = hk_pages_alloc_run(x->p, n);
    } else {
        n = 1u + (uint32_t)hk_rng_below(r, 20);
        unsigned half = (unsigned)hk_rng_below(r, 2);
        uint64_t at = hk_rng_below(r, f / 2u - n);
        a = map[half].base + at * 4096u;
        int rc = hk_pages_claim(x->p, a, n);
        /* refused iff some frame of the range is taken */
        unsigned taken = 0;
        for (uint32_t i = 0; i < n; i++)
            taken += x->owner[half * (f / 2u) + at + i];
        HK_CHECK_EQ(rc == HK_EBUSY, taken != 0);
        HK_CHECK(rc == 0 || rc == HK_EBUSY);
        if (rc != 0)
            a = HK_PADDR_NONE;
    }
    if (a == HK_PADDR_NONE)
        return NULL;
    HK_CHECK_EQ(mark(x->owner, f, map, a, n, 1), 0); /* overlaps no live allocation */
    s->aux_next = n << 8 | (what ? PG_RUN : 0u) | order;
    return (void *)(uintptr_t)a;
}

static void m_free(hk_stress_t *s, hk_stress_obj_t *o)
{
    pages_ctx_t *x = s->ctx;
    hk_paddr_t a = (hk_paddr_t)(uintptr_t)o->p;
    uint32_t n = o->aux >> 8;
    if (o->aux & PG_RUN)
        hk_pages_free_run(x->p, a, n);
    else
        hk_pages_free(x->p, a, (unsigned)(o->aux & 0x7fu));
    mark(x->owner, x->f, x->map, a, n, 0);
}

static int m_validate(hk_stress_t *s)
{
    return hk_pages_validate(((pages_ctx_t *)s->ctx)->p);
}

static void m_stats(hk_stress_t *s, hk_stats_t *out)
{
    hk_pages_get_stats(((pages_ctx_t *)s->ctx)->p, out);
}

/* the owner map agrees with the allocator on a sampled frame */
static void m_check(hk_stress_t *s)
{
    pages_ctx_t *x = s->ctx;
    uint64_t f = x->f;
    uint64_t k = hk_rng_below(&s->rng, f);
    hk_paddr_t sa = k < f / 2u ? x->map[0].base + k * 4096u : x->map[1].base + (k - f / 2u) * 4096u;
    HK_CHECK_EQ(hk_pages_is_free(x->p, sa), x->owner[k] == 0);
}

static const hk_stress_ops_t pages_ops = {
    .alloc = m_alloc, .free = m_free, .validate = m_validate, .stats = m_stats,
    .check = m_check,
};

static void test_random(void)
{
    uint64_t f = test_frames();
    if (f > 4096u)
        f = 4096u;
    f &= ~(uint64_t)63u;
    hk_mem_range_t map[] = {{3 * 4096u, (f / 2u) * 4096u, HK_MEM_USABLE},
                            {2 * GiB + 5 * 4096u, (f / 2u) * 4096u, HK_MEM_USABLE}};
    hk_test_capture_errors();
    hk_pages_t *p = make(map, 2, NULL, 0, 0);
    HK_REQUIRE(p != NULL);
    static uint8_t owner[4096]; /* per frame: 0 free, else 1 */
    hk_test_memset(owner, 0, sizeof owner);
    size_t bi0[HK_PAGES_ORDERS], bi[HK_PAGES_ORDERS];
    hk_pages_buddyinfo(p, bi0);
    pages_ctx_t x = { p, f, map, owner };
    /* allocate blocks, runs and claims, free in random order, validate
     * after every operation */
    hk_stress_config_t cfg = {
        .name = "pages", .seed = 0x5eed8, .ops = 3000u / HK_TEST_SCALE_DIV, .max_live = RMAX,
        .phase_len = 1, .nphases = 1, .phase_pct = { 55 }, .align = 4096,
        .validate_every = 1, .stats_every = 1,
    };
    hk_stress_t s;
    hk_stress_init(&s, &pages_ops, &cfg, &x);
    hk_stress_run(&s);
    hk_stress_drain(&s);
    HK_CHECK_EQ(hk_pages_validate(p), 0);
    HK_CHECK_EQ(hk_pages_free_frames(p), hk_pages_total_frames(p));
    hk_pages_buddyinfo(p, bi);
    for (unsigned k = 0; k < HK_PAGES_ORDERS; k++)
        HK_CHECK_EQ(bi[k], bi0[k]);
    HK_CHECK_EQ(hk_test_errors.count, 0);
}

/* With a lock, every call runs between one lock and one unlock. */
typedef struct {
    int depth, max_depth;
    unsigned calls, bad;
} plock_t;

static uintptr_t pl_lock(void *c)
{
    plock_t *l = c;
    l->calls++;
    if (++l->depth > l->max_depth)
        l->max_depth = l->depth;
    return (uintptr_t)l->depth;
}

static void pl_unlock(void *c, uintptr_t saved)
{
    plock_t *l = c;
    if (saved != (uintptr_t)l->depth)
        l->bad++;
    l->depth--;
}

static void test_lock(void)
{
    static uint64_t meta[128];
    hk_mem_range_t map[] = {{0, 16 * 4096u, HK_MEM_USABLE}};
    plock_t pl = {0, 0, 0, 0};
    hk_lock_t lock = {pl_lock, pl_unlock, &pl};
    hk_pages_config_t c = {0};
    c.map = map;
    c.map_len = 1;
    c.meta = meta;
    c.meta_size = sizeof meta;
    c.lock = &lock;
    hk_test_capture_errors();
    hk_pages_t *p = hk_pages_init(&c);
    HK_REQUIRE(p != NULL);
    hk_paddr_t a = hk_pages_alloc(p, 1);
    hk_paddr_t r = hk_pages_alloc_run(p, 3);
    HK_CHECK_EQ(hk_pages_claim(p, 15 * 4096u, 1), 0);
    HK_CHECK_EQ(hk_pages_claim(p, 15 * 4096u, 1), HK_EBUSY);
    hk_pages_free(p, a, 1);
    hk_pages_free(p, a, 1); /* double free: reported outside the lock */
    hk_pages_free_run(p, r, 3);
    hk_pages_free_run(p, 15 * 4096u, 1);
    hk_stats_t s;
    hk_pages_get_stats(p, &s);
    HK_CHECK_EQ(hk_pages_validate(p), 0);
    HK_CHECK_EQ(s.used, 0);
    HK_CHECK_EQ(s.failed_allocs, 1); /* the busy claim */
    HK_CHECK_EQ(pl.depth, 0);
    HK_CHECK_EQ(pl.max_depth, 1);
    HK_CHECK_EQ(pl.bad, 0);
    HK_CHECK_EQ(pl.calls, 10);
    HK_CHECK_EQ(hk_test_errors.count, 1);
}

HK_SUITE(pages) {
    HK_RUN(test_firmware_map);
    HK_RUN(test_buddy_split_merge);
    HK_RUN(test_unaligned_area);
    HK_RUN(test_runs_and_claims);
    HK_RUN(test_misuse);
    HK_RUN(test_run_record);
    HK_RUN(test_exact_runs);
    HK_RUN(test_top_of_space);
    HK_RUN(test_validate_detects);
    HK_RUN(test_frame_sizes);
    HK_RUN(test_carved_metadata);
    HK_RUN(test_random);
    HK_RUN(test_lock);
}
