/* SPDX-License-Identifier: MIT */
/*
 * hkm_test_util.h - helpers shared by the malloc test suites (hosted).
 */
#ifndef HKM_TEST_UTIL_H
#define HKM_TEST_UTIL_H

#include <stddef.h>

/* heapkit's malloc_usable_size(p): > 0 iff p is a live heapkit block (in the
 * preloaded build, looked up in libheapkit_malloc.so). */
size_t hkm_test_usable(const void *p);
/* Fill n bytes at p with a pattern derived from seed / check it is intact. */
void hkm_test_fill(void *p, size_t n, unsigned seed);
int hkm_test_check(const void *p, size_t n, unsigned seed);

#endif
