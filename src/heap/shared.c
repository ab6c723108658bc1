/* SPDX-License-Identifier: MIT */
/*
 * shared.c - under -Os, the one copy of the helpers every heap file uses
 * (the index operations of fit_tlsf.h and the guards of guard.h); see
 * heap_impl.h. When optimising for speed they are inlined and this file is
 * empty.
 */
#define HK_SHARED_IMPL
#include "heap/index.h"

#if !defined(__OPTIMIZE_SIZE__)
typedef int hk__shared_unused; /* ISO C: a translation unit is not empty */
#endif
