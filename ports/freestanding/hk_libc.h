/* SPDX-License-Identifier: MIT */
/*
 * hk_libc.h - the four C library memory functions that a freestanding
 * heapkit image must provide (see hk_libc.c). Hosted and newlib builds take
 * them from their C library instead and do not compile hk_libc.c.
 */
#ifndef HK_PORT_LIBC_H
#define HK_PORT_LIBC_H

#include <stddef.h>

void *memcpy(void *restrict dst, const void *restrict src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
void *memset(void *dst, int value, size_t n);
int memcmp(const void *a, const void *b, size_t n);

#endif /* HK_PORT_LIBC_H */
