/* SPDX-License-Identifier: MIT */
/*
 * heapkit/config.h - every compile-time option of heapkit, in one place.
 *
 * Each option is `#ifndef HK_X / #define HK_X default`, so an integrator may set
 * it on the command line (-DHK_ALIGN=8) or in a header of their own named by
 * HK_CONFIG_FILE (-DHK_CONFIG_FILE='"my_heapkit_config.h"'), which is included
 * first. Derived constants are checked with HK_STATIC_ASSERT at the bottom.
 */
#ifndef HEAPKIT_CONFIG_H
#define HEAPKIT_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#ifdef HK_CONFIG_FILE
#include HK_CONFIG_FILE
#endif

/* ==== code size options (the heap) ==========================================
 * Each trades a feature for flash; docs/size.md measures what each saves.
 * HK_HEAP_MINIMAL 1 is the preset that turns them all on, and also leaves
 * out the list policies, the small-object front and the event hook (their
 * own options below, which an integrator may still set either way). A
 * host build keeps every feature: all of these default to the full heap. */
#ifndef HK_HEAP_MINIMAL
#define HK_HEAP_MINIMAL 0
#endif
#if HK_HEAP_MINIMAL
#ifndef HK_ENABLE_FIRST_FIT
#define HK_ENABLE_FIRST_FIT 0
#endif
#ifndef HK_ENABLE_BEST_FIT
#define HK_ENABLE_BEST_FIT 0
#endif
#ifndef HK_QUICK_CLASSES
#define HK_QUICK_CLASSES 0
#endif
#ifndef HK_EVENTS
#define HK_EVENTS 0
#endif
#endif
/* 1: a heap may have several regions (hk_heap_add_region). 0: one region,
 * the memory given to hk_heap_init; hk_heap_add_region reports and returns
 * HK_ENOTSUP, and the pointer checks never walk a region list. */
#ifndef HK_HEAP_REGIONS
#define HK_HEAP_REGIONS (!HK_HEAP_MINIMAL)
#endif
/* 1: the growth hook (hk_heap_config_t.grow) adds regions when memory runs
 * out. 0: compiled out; a configuration that sets a hook is refused. Needs
 * HK_HEAP_REGIONS. */
#ifndef HK_HEAP_GROW
#define HK_HEAP_GROW HK_HEAP_REGIONS
#endif
/* 1: error reports name the likely cause in a sentence ("free-list link
 * damaged: write after free?"). 0: the error hook still gets the error code
 * and the pointer, with a short fixed reason per kind ("bad pointer",
 * "heap damaged"), which saves the strings (about 0.7 KB on Cortex-M4). */
#ifndef HK_MESSAGES
#define HK_MESSAGES (!HK_HEAP_MINIMAL)
#endif
/* 1: damage met in the heap's own metadata (a free-list link, a free
 * block's header) is reported and the free index is rebuilt from the
 * blocks, so hk_heap_validate passes again. 0: reported and refused: the
 * damaged link or block is never followed or written, the blocks behind it
 * are left out of the index (lost to allocation, not to the caller), the
 * heap stays usable and hk_heap_validate keeps reporting the damage. */
#ifndef HK_HEAP_REPAIR
#define HK_HEAP_REPAIR (!HK_HEAP_MINIMAL)
#endif
/* 1: realloc grows in place into a free left neighbour too (moving the data
 * down). 0: only the simple cases stay in place (shrinking, growing into a
 * free right neighbour); anything else allocates, copies and frees. */
#ifndef HK_HEAP_RESIZE_LEFT
#define HK_HEAP_RESIZE_LEFT (!HK_HEAP_MINIMAL)
#endif
/* HK_MSG(long, short): the reason a report carries, by HK_MESSAGES. */
#if HK_MESSAGES
#define HK_MSG(long_reason, short_reason) long_reason
#else
#define HK_MSG(long_reason, short_reason) short_reason
#endif
/* ==== end of the code size options ========================================= */

/* Alignment of every pointer the heap returns (a power of two, at least
 * sizeof(void *)). Also the block granule: every block size is a multiple of
 * it. 16 on x86-64 and 8 on 32-bit ARM by default; 8 on a 64-bit host saves
 * memory on small blocks at the cost of not meeting max_align_t. */
#ifndef HK_ALIGN
#if defined(__cplusplus)
#define HK_ALIGN alignof(max_align_t)
#elif defined(__STDC_VERSION__) && __STDC_VERSION__ >= 201112L
#define HK_ALIGN _Alignof(max_align_t)
#else
#error "heapkit: C99 has no max_align_t; define HK_ALIGN to the value the library was built with"
#endif
#endif

/* log2 of the number of second-level classes per power of two in the
 * two-level segregated fit index (3, 4 or 5): the most a heap uses. 4 = 16
 * classes: each class spans 1/16 of its power of two, so rounding up wastes
 * at most 6.25%, and the bounded in-class search (below) recovers most of
 * that. 5 doubles the table of the large heaps. */
#ifndef HK_TLSF_SLI
#define HK_TLSF_SLI 4
#endif
/* The fewest: each heap chooses its own second-level index at init, from
 * the span its class table covers, between HK_TLSF_SLI_MIN and HK_TLSF_SLI
 * (one more per doubling from 32 KiB: 1 up to 32 KiB, 2 up to 64 KiB, ...),
 * so the table stays near 1/300 of the heap and a small heap's control
 * structure is small (README: hk_heap_min_size). Equal to HK_TLSF_SLI, every heap has
 * HK_TLSF_SLI and the class arithmetic is constant shifts: the default of
 * 64-bit hosts, whose heaps are large and whose hot path counts every
 * instruction. */
#ifndef HK_TLSF_SLI_MIN
#if SIZE_MAX > 0xffffffffu
#define HK_TLSF_SLI_MIN HK_TLSF_SLI
#else
#define HK_TLSF_SLI_MIN 1
#endif
#endif

/* How many blocks of the request's own class the TLSF policy examines for a
 * fit before it rounds the request up to the next class. A small constant, so
 * the worst case stays O(1); 0 gives the classic TLSF good fit. The first
 * block is where nearly all of the gain is on 64-bit hosts (bench/heap, the
 * 16 traces of ../shared/traces: smallest arena 1.144 times the peak live
 * bytes with 0, 1.088 with 1, 1.090 with 4; real-gcc-cc1 alone 1.497 with 0,
 * 1.044 with 1 or 4), and each block examined and passed over costs about 12
 * instructions in the worst allocation: 1 there. The small heaps of 32-bit
 * targets fail fewer allocations with 4 (bench/heap's MCU queue trace, 17
 * arenas from 29 to 33 KiB: 24 failed allocations with 4, 31 with 1). */
#ifndef HK_TLSF_SCAN
#if SIZE_MAX > 0xffffffffu
#define HK_TLSF_SCAN 1
#else
#define HK_TLSF_SCAN 4
#endif
#endif
/* When TLSF takes a block from a class above the request's (every block
 * there fits), it takes the lowest-addressed of the class's first
 * 1 + HK_TLSF_LOW_SCAN blocks instead of the first: low addresses first
 * keep the top of the heap whole, as address-ordered fits do (they
 * fragment least: Johnstone and Wilson, "The memory fragmentation problem:
 * solved?", ISMM 1998). On by default on 32-bit targets, whose small heaps
 * it saves from failed allocations; 0 (64-bit hosts) takes the first. */
#ifndef HK_TLSF_LOW_SCAN
#if SIZE_MAX > 0xffffffffu
#define HK_TLSF_LOW_SCAN 0
#else
#define HK_TLSF_LOW_SCAN 4
#endif
#endif

/* Compile the fit policies a firmware does not use out of the library. The
 * TLSF policy is always present (it is the default). */
#ifndef HK_ENABLE_FIRST_FIT
#define HK_ENABLE_FIRST_FIT 1
#endif
#ifndef HK_ENABLE_BEST_FIT
#define HK_ENABLE_BEST_FIT 1
#endif

/* The TLSF small-object front (level 0 only): freed blocks of up to
 * HK_QUICK_CLASSES granules (block size) are parked on one LIFO per size,
 * at most HK_QUICK_DEPTH each, and handed straight back to allocations of
 * that size. HK_QUICK_CLASSES 0 turns the front off. */
#ifndef HK_QUICK_CLASSES
#if SIZE_MAX > 0xffffffffu
#define HK_QUICK_CLASSES 64 /* 64-bit hosts: block sizes up to 1 KiB */
#else
/* 32-bit MCUs: off. Their heaps are small and run close to full, where
 * parked blocks cost failed allocations (bench/heap: the queue workload in
 * 32 KiB), and they count every byte of code and control structure. */
#define HK_QUICK_CLASSES 0
#endif
#endif
#ifndef HK_QUICK_DEPTH
#define HK_QUICK_DEPTH 32u
#endif
/* A fresh allocation of a small block (HK_HEAP_TOP_CUT) that finds its
 * front LIFO empty cuts HK_QUICK_REFILL blocks of its size at once from
 * the free block it takes, and parks all but one (2..HK_QUICK_DEPTH). */
#ifndef HK_QUICK_REFILL
#define HK_QUICK_REFILL 4u
#endif

/* Top placement: an allocation of a block of at most HK_HEAP_TOP_CUT bytes
 * that is cut from a larger free block (TLSF and best fit) takes the top
 * end of it, and the free block keeps its place and its start. Small,
 * short-lived blocks then gather at the top of the free blocks they come
 * from instead of pinning their bottom, so large blocks freed next to each
 * other still merge: on the real-program traces of bench/heap it brings
 * the smallest arena that serves a trace from 1.19 to 1.09 times its peak
 * live bytes (geomean), at about 0.3 instructions per allocation. 0 turns
 * it off: the default on 32-bit targets, whose small, nearly full heaps
 * measured no better with it. First fit always cuts from the bottom (its
 * policy is the lowest address). */
#ifndef HK_HEAP_TOP_CUT
#if SIZE_MAX > 0xffffffffu
#define HK_HEAP_TOP_CUT 96u
#else
#define HK_HEAP_TOP_CUT 0u
#endif
#endif
/* The front parks blocks only while less than HK_QUICK_FILL sixteenths of
 * the heap are in use (8: half). Under pressure frees coalesce at once
 * again, and the parked blocks drain into allocations of their sizes (or
 * are flushed when an allocation would fail), so the front costs little
 * memory at the peak (measured in bench/heap/RESULTS.md). */
#ifndef HK_QUICK_SHARE
#define HK_QUICK_SHARE 1 /* the front may hold at most half the heap */
#endif
#ifndef HK_QUICK_FILL
#define HK_QUICK_FILL 8
#endif

/* Debug level: 0 keeps only the cheap always-on misuse checks (invalid and
 * double free, bounds of the pointer); higher levels are described in
 * heapkit/debug.h. */
#ifndef HK_DEBUG
#define HK_DEBUG 0
#endif

/* 1: the heap records the exact size of every request (the slack, the
 * bytes a block holds beyond it, in the block's last byte): the statistics'
 * `requested`, hk_heap_usable_size, the walk and the free event give the
 * bytes the caller asked for, and hk_heap_validate catches an overflow that
 * reached that byte. 0: they give each block's usable bytes (its size less
 * the header), which every allocator may hand out for a request; nothing is
 * written or read for it on the hot paths (about 12 instructions fewer per
 * allocation and free pair on x86-64). The debug levels need the exact size
 * (their trailer sits right after it), so HK_DEBUG >= 1 keeps it. */
#ifndef HK_HEAP_EXACT
#define HK_HEAP_EXACT (HK_DEBUG >= 1)
#endif

/* The per-allocator event hook (types.h: hk_event_fn): 1 compiles it in
 * (one predicted branch per call when no hook is set), 0 leaves it out and
 * the calls that set a hook return HK_ENOTSUP. */
#ifndef HK_EVENTS
#define HK_EVENTS 1
#endif

/* Internal assertions (level 2 of checking). Off by default; the test build
 * turns them on. HK_ASSERT_FAIL may be redefined to a port's panic. */
#ifndef HK_ASSERTS
#define HK_ASSERTS (HK_DEBUG >= 2)
#endif

/* HK_STATIC_ASSERT(cond, msg): a compile-time check usable at file scope
 * from C11 (_Static_assert), C++11 (static_assert) and C99 (a negative array
 * size; msg is then only in the source). */
#ifndef HK_STATIC_ASSERT
#if defined(__cplusplus)
#define HK_STATIC_ASSERT(cond, msg) static_assert(cond, msg)
#elif defined(__STDC_VERSION__) && __STDC_VERSION__ >= 201112L
#define HK_STATIC_ASSERT(cond, msg) _Static_assert(cond, msg)
#else
#define HK_STATIC_ASSERT__(cond, line) typedef char hk_static_assert_##line[(cond) ? 1 : -1]
#define HK_STATIC_ASSERT_(cond, line) HK_STATIC_ASSERT__(cond, line)
#define HK_STATIC_ASSERT(cond, msg) HK_STATIC_ASSERT_(cond, __LINE__)
#endif
#endif

/* HK_ALIGNAS(n): C11 _Alignas / C++11 alignas, for the static definitions in
 * the public headers (HK_POOL_DEFINE). */
#ifndef HK_ALIGNAS
#ifdef __cplusplus
#define HK_ALIGNAS(n) alignas(n)
#else
#define HK_ALIGNAS(n) _Alignas(n)
#endif
#endif

HK_STATIC_ASSERT((HK_ALIGN & (HK_ALIGN - 1)) == 0, "HK_ALIGN must be a power of two");
HK_STATIC_ASSERT(HK_ALIGN >= sizeof(void *), "HK_ALIGN must be at least sizeof(void *)");
HK_STATIC_ASSERT(HK_ALIGN <= 128, "HK_ALIGN above 128 is not supported; use aligned_alloc");
HK_STATIC_ASSERT(HK_TLSF_SLI >= 3 && HK_TLSF_SLI <= 5, "HK_TLSF_SLI must be 3, 4 or 5");
HK_STATIC_ASSERT(HK_TLSF_SLI_MIN >= 1 && HK_TLSF_SLI_MIN <= HK_TLSF_SLI,
                 "HK_TLSF_SLI_MIN must be 1 .. HK_TLSF_SLI");
HK_STATIC_ASSERT(HK_HEAP_EXACT || HK_DEBUG == 0, "the debug levels need HK_HEAP_EXACT 1");
HK_STATIC_ASSERT(HK_HEAP_REGIONS || !HK_HEAP_GROW, "HK_HEAP_GROW needs HK_HEAP_REGIONS");
HK_STATIC_ASSERT(HK_TLSF_SCAN >= 0 && HK_TLSF_SCAN <= 64, "HK_TLSF_SCAN must be 0..64");
HK_STATIC_ASSERT(HK_TLSF_LOW_SCAN >= 0 && HK_TLSF_LOW_SCAN <= 64, "HK_TLSF_LOW_SCAN must be 0..64");

#endif /* HEAPKIT_CONFIG_H */
