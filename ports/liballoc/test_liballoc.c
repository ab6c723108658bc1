/* SPDX-License-Identifier: MIT */
/*
 * test_liballoc.c - host test of ports/liballoc: the four hooks over a
 * simulated page pool that checks every liballoc_free against what
 * liballoc_alloc gave, names made with a custom prefix, the C contracts,
 * misuse reported, big blocks returned at once, release returning all.
 * Built and run by scripts/targets.d/kernel-x86_64.sh (with ASan/UBSan):
 *   cc -DHK_LIBALLOC_PREFIX(f)=my_##f ... test_liballoc.c liballoc.c libheapkit
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "liballoc.h"
#include "heapkit/types.h"

#define POOL_PAGES 512u
static _Alignas(4096) unsigned char pool[POOL_PAGES][4096];
static unsigned char owner[POOL_PAGES]; /* 0 free, else run length at the head, 0xff tail */
static unsigned locked, lock_calls, pages_out, bad_frees, checks, failures;

#define CHECK(c) do { checks++; if (!(c)) { failures++; printf("FAIL %s:%d: %s\n", __FILE__, __LINE__, #c); } } while (0)

int liballoc_lock(void)
{
    if (locked)
        bad_frees++; /* nested: the library must not re-enter */
    locked = 1;
    lock_calls++;
    return 0;
}

int liballoc_unlock(void)
{
    locked = 0;
    return 0;
}

void *liballoc_alloc(size_t n)
{
    CHECK(locked);
    for (size_t i = 0; n && n < 255 && i + n <= POOL_PAGES; i++) {
        size_t k = 0;
        while (k < n && !owner[i + k])
            k++;
        if (k == n) {
            owner[i] = (unsigned char)n;
            for (k = 1; k < n; k++)
                owner[i + k] = 0xff;
            pages_out += (unsigned)n;
            memset(pool[i], 0xa5, n * 4096u); /* not zero: calloc must clear */
            return pool[i];
        }
    }
    return NULL;
}

int liballoc_free(void *p, size_t n)
{
    size_t i = (size_t)((unsigned char (*)[4096])p - pool);
    if (i >= POOL_PAGES || owner[i] != n || (void *)pool[i] != p) {
        bad_frees++;
        return -1;
    }
    for (size_t k = 0; k < n; k++)
        owner[i + k] = 0;
    pages_out -= (unsigned)n;
    return 0;
}

static unsigned errors;
static void on_error(int code, const void *ptr, const char *reason, void *ctx)
{
    (void)code, (void)ptr, (void)reason, (void)ctx;
    errors++;
}

int main(void)
{
    hk_set_error_hook(on_error, NULL);
    CHECK(my_malloc(0) == NULL);
    my_free(NULL);
    char *a = my_malloc(100);
    CHECK(a && ((uintptr_t)a % HK_ALIGN) == 0);
    CHECK(pages_out == HK_LIBALLOC_FIRST_PAGES);
    memset(a, 1, 100);
    uint32_t *z = my_calloc(300, 4);
    int zero = z != NULL;
    for (unsigned i = 0; z && i < 300; i++)
        zero &= z[i] == 0;
    CHECK(zero);
    CHECK(my_calloc(SIZE_MAX / 2, 4) == NULL); /* overflow */
    /* a big block gets its own run and gives it back at once */
    unsigned before = pages_out;
    char *big = my_malloc(HK_LIBALLOC_BIG_PAGES * 4096u);
    CHECK(big && pages_out == before + HK_LIBALLOC_BIG_PAGES + 1u);
    memset(big, 2, HK_LIBALLOC_BIG_PAGES * 4096u);
    my_free(big);
    CHECK(pages_out == before);
    /* growth: many blocks, tagged, freed in a scrambled order */
    static char *blk[2000];
    for (unsigned i = 0; i < 2000; i++) {
        blk[i] = my_malloc(16u + (i * 37u) % 700u);
        if (blk[i])
            blk[i][0] = (char)i;
    }
    CHECK(pages_out > before);
    CHECK(my_malloc_validate() == 0);
    unsigned damaged = 0;
    for (unsigned i = 0; i < 2000; i++) {
        unsigned j = (i * 7919u) % 2000u;
        damaged += blk[j] && blk[j][0] != (char)j;
        my_free(blk[j]);
    }
    CHECK(damaged == 0);
    /* realloc: grow in the heap, into a big block and back, keeping data */
    char *r = my_realloc(NULL, 50);
    memcpy(r, "heapkit", 8);
    r = my_realloc(r, 3000);
    CHECK(r && strcmp(r, "heapkit") == 0);
    r = my_realloc(r, 64u * 1024u);
    CHECK(r && strcmp(r, "heapkit") == 0);
    r = my_realloc(r, 100);
    CHECK(r && strcmp(r, "heapkit") == 0);
    CHECK(my_realloc(r, 0) == NULL);
    /* misuse is reported, nothing breaks */
    unsigned e0 = errors;
    my_free(a);
    my_free(a);
    CHECK(errors > e0);
    my_free(z + 1);
    CHECK(errors > e0 + 1);
    CHECK(my_malloc_validate() == 0);
    my_free(z);
    hk_stats_t st;
    my_malloc_stats(&st);
    CHECK(st.used == 0);
    my_malloc_release();
    CHECK(pages_out == 0);
    CHECK(bad_frees == 0);
    CHECK(lock_calls > 4000);
    CHECK(my_malloc(10) != NULL); /* a new heap after release */
    my_malloc_release();
    CHECK(pages_out == 0);
    printf("liballoc host test: %u checks, %u failed\n", checks, failures);
    return failures != 0;
}
