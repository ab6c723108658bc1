/* SPDX-License-Identifier: MIT */
/*
 * heapkit/debug.h - debug levels, allocation tracking, leak checks and the
 * error-hook policies of the heap.
 *
 * One compile-time setting, HK_DEBUG (heapkit/config.h), chooses how much
 * the heap checks. Each level adds to the one below:
 *
 *   0  the cheap always-on checks: a pointer given to free, realloc or
 *      usable_size must be a live block of this heap (inside a region,
 *      aligned, sane header, not free, neighbours agree): invalid, interior,
 *      foreign and double frees are reported and refused. Free-list links
 *      and free neighbours are checked before they are followed: a damaged
 *      link is reported and the free index rebuilt from the blocks; a free
 *      whose free neighbour's header is damaged is reported and refused.
 *      No extra bytes.
 *   1  + every block carries a trailer after the caller's bytes: a canary
 *      (a one-byte overflow is caught on free and by validate), a keyed
 *      check word over the block's header word, address, size and the
 *      trailer (a damaged header is reported and never followed), and the
 *      allocation site (file, line, user tag, sequence number).
 *      + freed memory is filled with HK_DEBUG_FREE_BYTE and checked when it
 *      is handed out again (writes after free are caught); new memory is
 *      filled with HK_DEBUG_ALLOC_BYTE (uninitialised reads stand out),
 *      including the words a split or a new header is about to overwrite.
 *      + One rule for a block being freed or resized: any damage found on
 *      it (canary, check word, header, its free neighbour) is reported and
 *      the call refused: the block stays allocated, the heap unchanged.
 *      + hk_heap_report and hk_heap_leaks list live blocks by site.
 *   2  + heapkit's internal assertions (HK_ASSERTS).
 *   3  + after every operation, a structural validate of the whole heap and
 *      of every live block's check word and canary (not of every free byte:
 *      that is hk_heap_validate's job).
 * The measured cost of each level (instructions per operation, bytes per
 * block) is in docs/debug.md.
 *
 * All reports go to the one error hook (heapkit/types.h). While the hook
 * runs, hk_debug_error_site() tells where the block concerned was allocated,
 * when that is known. hk_debug_policy_hook is a ready-made hook that logs,
 * panics or ignores, as configured.
 *
 * Interrupts: the checks add work per call (level 1: O(block) canary
 * checks and poisoning; level 3: a full validate, O(blocks)), so the
 * interrupt latency under the heap's lock grows with the level; leak and
 * report walks are O(blocks) and belong in thread context.
 */
#ifndef HEAPKIT_DEBUG_H
#define HEAPKIT_DEBUG_H

#include <stddef.h>
#include <stdint.h>

#include "heapkit/heap.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The fill bytes (the MSVC debug heap's conventions: 0xDD dead, 0xCD clean). */
#ifndef HK_DEBUG_FREE_BYTE
#define HK_DEBUG_FREE_BYTE 0xDDu
#endif
#ifndef HK_DEBUG_ALLOC_BYTE
#define HK_DEBUG_ALLOC_BYTE 0xCDu
#endif
/* Distinct sites hk_heap_report groups by; blocks from further sites are
 * summed in one "other sites" line. Costs sizeof(hk_alloc_info_t) (28
 * bytes on 32-bit targets, 48 on 64-bit) of stack per site. */
#ifndef HK_DEBUG_REPORT_SITES
#define HK_DEBUG_REPORT_SITES 16
#endif

/* A live block (hk_heap_leaks) or a site's total (hk_heap_report). */
typedef struct {
    const void *ptr;  /* the caller's pointer; NULL in a site's total        */
    size_t size;      /* bytes the caller asked for; a site's sum            */
    size_t count;     /* 1 for a block; a site's live blocks                 */
    const char *file; /* NULL when unknown (no HK_ALLOC macro, or damaged)   */
    unsigned line;
    uint32_t tag;     /* the caller's tag (HK_ALLOC_TAG), else 0             */
    uint32_t seq;     /* per-heap allocation number (hk_heap_seq)            */
} hk_alloc_info_t;

typedef void (*hk_alloc_info_fn)(const hk_alloc_info_t *info, void *ctx);

/* ---- allocation with a site --------------------------------------------
 * The same contracts as hk_heap_alloc, _calloc, _realloc, _aligned_alloc;
 * at HK_DEBUG >= 1 the block also records file, line and tag (file must be
 * a string that outlives the block, as __FILE__ is). At HK_DEBUG == 0 the
 * site is ignored. hk_heap_realloc_at with file NULL keeps the old site. */
void *hk_heap_alloc_at(hk_heap_t *h, size_t size, const char *file, unsigned line,
                       uint32_t tag);
void *hk_heap_calloc_at(hk_heap_t *h, size_t n, size_t size, const char *file, unsigned line,
                        uint32_t tag);
void *hk_heap_realloc_at(hk_heap_t *h, void *p, size_t size, const char *file, unsigned line,
                         uint32_t tag);
void *hk_heap_aligned_alloc_at(hk_heap_t *h, size_t align, size_t size, const char *file,
                               unsigned line, uint32_t tag);

#define HK_ALLOC(h, n) hk_heap_alloc_at((h), (n), __FILE__, __LINE__, 0)
#define HK_ALLOC_TAG(h, n, tag) hk_heap_alloc_at((h), (n), __FILE__, __LINE__, (tag))
#define HK_CALLOC(h, n, s) hk_heap_calloc_at((h), (n), (s), __FILE__, __LINE__, 0)
#define HK_REALLOC(h, p, n) hk_heap_realloc_at((h), (p), (n), __FILE__, __LINE__, 0)
#define HK_ALIGNED_ALLOC(h, a, n) hk_heap_aligned_alloc_at((h), (a), (n), __FILE__, __LINE__, 0)
#define HK_FREE(h, p) hk_heap_free((h), (p))

/* ---- tracking ----------------------------------------------------------- */
/* The sequence number the next allocation of h will get: a checkpoint for
 * hk_heap_leaks. 0 at HK_DEBUG == 0 or for a bad handle. O(1). */
uint32_t hk_heap_seq(const hk_heap_t *h);

/* Calls fn for every live block of h allocated at or after sequence number
 * `since` (a value hk_heap_seq returned), in address order. Returns how
 * many, HK_ENOTSUP at HK_DEBUG == 0, HK_EINVAL for a bad handle or NULL fn.
 * Blocks whose check word fails are reported (HK_ECORRUPT) and skipped.
 * fn runs under the heap's lock and must not call into h. O(blocks). */
int hk_heap_leaks(const hk_heap_t *h, uint32_t since, hk_alloc_info_fn fn, void *ctx);

/* Calls fn once per allocation site with the site's live block count and
 * bytes (ptr NULL, seq the site's latest), largest bytes first; sites past
 * HK_DEBUG_REPORT_SITES are summed into one final call with file NULL and
 * line 0. Returns the number of live blocks, or HK_ENOTSUP / HK_EINVAL as
 * hk_heap_leaks. fn runs under the lock. O(blocks x HK_DEBUG_REPORT_SITES). */
int hk_heap_report(const hk_heap_t *h, hk_alloc_info_fn fn, void *ctx);

/* While the error hook runs for a report about a block whose site is known:
 * that site (ptr is the caller's pointer). NULL otherwise. One process-wide
 * slot, like the hook itself: meaningful only inside the hook. */
const hk_alloc_info_t *hk_debug_error_site(void);

/* ---- the per-heap secret -------------------------------------------------
 * The check words are keyed with a per-heap secret taken at hk_heap_init
 * from this hook when the port gives one (a TRNG, an ADC's noise bits, the
 * unique ID mixed with a boot counter); without it the secret is derived
 * from the heap's address and an init counter (unique, not secret).
 * Process-wide; set it before creating heaps. */
void hk_debug_set_entropy(uint32_t (*fn)(void *ctx), void *ctx);

/* ---- the error-hook policy ---------------------------------------------- */
typedef enum {
    HK_POLICY_IGNORE = 0, /* count only (hk_error_count)                     */
    HK_POLICY_LOG,        /* format one line and pass it to `log`            */
    HK_POLICY_PANIC       /* log, then call `panic` (default: trap)          */
} hk_debug_policy_t;

/* The policy of reports made while no hook is installed (hk_set_error_hook),
 * at HK_DEBUG >= 1, from the first hk_heap_init on: hk_debug_policy_hook with
 * ctx NULL. With no log sink there, only HK_POLICY_PANIC shows (a trap). */
#ifndef HK_DEBUG_POLICY
#define HK_DEBUG_POLICY HK_POLICY_LOG
#endif

typedef struct {
    hk_debug_policy_t policy;
    void (*log)(const char *line, void *ctx); /* NULL: nothing is logged */
    void *log_ctx;
    void (*panic)(void); /* NULL: __builtin_trap() */
} hk_debug_hook_cfg_t;

/* An hk_error_fn: install with hk_set_error_hook(hk_debug_policy_hook, &cfg),
 * or with ctx NULL for the compile-time HK_DEBUG_POLICY and no log sink. The
 * logged line reads
 *   "heapkit: HK_ECORRUPT: <reason> at 0x... (block from file.c:42 tag 7 #19)". */
void hk_debug_policy_hook(int code, const void *ptr, const char *reason, void *ctx);

/* Formats that line into buf (always NUL-terminated when len > 0). Returns
 * the length written. Freestanding: no printf. */
size_t hk_debug_format(char *buf, size_t len, int code, const void *ptr, const char *reason,
                       const hk_alloc_info_t *site);

#ifdef __cplusplus
}
#endif

#endif /* HEAPKIT_DEBUG_H */
