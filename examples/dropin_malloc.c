/* SPDX-License-Identifier: MIT */
/*
 * dropin_malloc.c - a plain C program whose malloc is heapkit's: linked with
 * libheapkit_malloc.a (CMake: heapkit_malloc_static), nothing in the code
 * changes. The same binary without it uses glibc's. heapkit/malloc.h adds
 * the statistics. (Or without relinking:
 *   LD_PRELOAD=build/release/src/malloc/libheapkit_malloc.so ./program)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "heapkit/malloc.h"

int main(void)
{
    char **words = malloc(1000 * sizeof *words);
    if (!words)
        return 1;
    for (int i = 0; i < 1000; i++) {
        words[i] = malloc((size_t)(8 + i % 100));
        if (!words[i])
            return 1;
        snprintf(words[i], 8, "w%d", i);
    }
    words = realloc(words, 2000 * sizeof *words);
    hk_stats_t st;
    hk_malloc_get_stats(&st);
    /* small blocks live in per-class spans inside heapkit's heaps: about
     * 57 KB were requested, so at least that much is in use */
    int ok = words && st.used >= 1000 * 57 && strcmp(words[999], "w999") == 0;
    for (int i = 0; i < 1000; i++)
        free(words[i]);
    free(words);
    printf("drop-in malloc: %zu bytes were in use in heapkit's heaps: %s\n", st.used,
           ok ? "ok" : "FAILED");
    return ok ? 0 : 1;
}
