/* SPDX-License-Identifier: MIT */
/*
 * hkm_internal.h - the private layout of heapkit's drop-in malloc.
 *
 * Five parts, one file each (malloc.c's essay tells the whole story):
 *
 *   chunk.c   the OS layer. Every mapping heapkit makes starts on a
 *             HKM_CHUNK-aligned address (4 MiB) with a 1 KiB chunk header,
 *             and a byte map with one entry per chunk of the address space
 *             says which chunks belong to heapkit and how far back their
 *             header is. A pointer's owner is then two loads away:
 *                 v = map[(p - 1) >> 22]             (0: not heapkit's)
 *                 hdr = ((p - 1) & ~(HKM_CHUNK - 1)) - (v - 1) * HKM_CHUNK
 *             "p - 1" (not p) so that a block whose user pointer sits exactly
 *             on a chunk boundary - a big block aligned to 4 MiB or more -
 *             finds the header placed in the chunk just below it.
 *   arena.c   arenas (a heapkit heap + a lock + a stack of remote frees),
 *             thread binding, the per-thread cache of small blocks, fork.
 *   span.c    spans: 16 KiB heap blocks cut into small objects of one class.
 *   malloc.c  the entry points with glibc's semantics, environment, stats.
 *   trace.c   the HEAPKIT_TRACE writer.
 *
 * Chunk header (1 KiB, at the chunk base; which fields are valid when):
 *
 *     magic    HKM_MAGIC_HEAP or HKM_MAGIC_BIG (a wild pointer that hits a
 *              mapped chunk but a bad header is caught here)
 *     arena    HEAP chunks: the arena whose heap owns the chunk's region
 *     map_len  bytes mapped from the header on (HEAP: 4..64 MiB, a run of
 *              chunks - the map entry of the k-th chunk of a run is k + 1,
 *              so a lookup steps back to the header; BIG: page multiple)
 *     user     BIG: the one user pointer of this mapping (base + offset)
 *     size     BIG: the size the caller asked for (for realloc's copy)
 *     align    BIG: the alignment asked for (kept when mremap moves it)
 *     spans    HEAP: one bit per 16 KiB of the run, set where a span of
 *              small objects starts (span.c)
 *
 * A HEAP chunk's bytes after the header are one region of its arena's heap;
 * a BIG chunk's bytes from `user` on are one block.
 */
#ifndef HKM_INTERNAL_H
#define HKM_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "heapkit/heap.h"
#include "heapkit/malloc.h"

#define HKM_API __attribute__((visibility("default")))
/* On the declarations of data shared between the files of the library: the
 * fast paths then address it PC-relative, not through the GOT. */
#define HKM_HIDDEN __attribute__((visibility("hidden")))

#if defined(__SANITIZE_THREAD__)
#define HKM_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define HKM_TSAN 1
#endif
#endif
#ifndef HKM_TSAN
#define HKM_TSAN 0
#endif
#define HKM_LIKELY(x) __builtin_expect(!!(x), 1)
#define HKM_UNLIKELY(x) __builtin_expect(!!(x), 0)

/* ---- sizes ------------------------------------------------------------ */
#define HKM_CHUNK_SHIFT 22u
#define HKM_CHUNK ((uintptr_t)1 << HKM_CHUNK_SHIFT)        /* 4 MiB */
#define HKM_HDR 1024u /* chunk header (a power of two: big-block offsets) */
#define HKM_ADDR_BITS (UINTPTR_MAX > 0xffffffffu ? 47u : 32u) /* user space */

/* Requests above the mmap threshold (HKM_BIG_DEFAULT, or
 * HEAPKIT_MMAP_THRESHOLD up to HKM_BIG_MAX) go to their own mapping. A heap
 * request never exceeds HKM_BIG_MAX (half the largest heap chunk), so one new
 * chunk always satisfies a growth. (glibc's dynamic threshold - raise it to
 * the size of each big block freed - was tried: with heapkit's trimming it
 * cost more page faults and more memory than the cache of big mappings in
 * chunk.c on the large-object benchmark.) */
#define HKM_BIG_DEFAULT ((size_t)1 << 20)
#define HKM_BIG_MAX ((size_t)32 << 20)

/* Arenas: slot 0 is the shared arena (every call under its lock); slots
 * 1..HKM_MAX_ARENAS-1 are exclusive, each bound to at most one thread (as
 * many of them as hkm_arena_limit() allows). */
#define HKM_MAX_ARENAS 64u

/* Thread cache: sizes up to HKM_SMALL_MAX in HKM_GRAIN steps, one LIFO list
 * per size class, at most hkm_bin_cap(c) blocks per list. */
#define HKM_GRAIN 16u
#define HKM_SMALL_MAX 1024u
#define HKM_BINS (HKM_SMALL_MAX / HKM_GRAIN)

/* ---- a small spin lock (uncontended: one exchange, one store) ---------- */
typedef struct {
    int v;
} hkm_lock_t;

void hkm_lock_slow(hkm_lock_t *l);

static inline void hkm_lock(hkm_lock_t *l)
{
    if (HKM_UNLIKELY(__atomic_exchange_n(&l->v, 1, __ATOMIC_ACQUIRE)))
        hkm_lock_slow(l);
}

static inline void hkm_unlock(hkm_lock_t *l)
{
    __atomic_store_n(&l->v, 0, __ATOMIC_RELEASE);
}

static inline void hkm_lock_reset(hkm_lock_t *l)
{
    __atomic_store_n(&l->v, 0, __ATOMIC_RELAXED);
}

/* ---- chunks ------------------------------------------------------------ */
#define HKM_REGION_MAX_ (16u * 4u * 1024u * 1024u) /* = HKM_REGION_MAX */
#define HKM_WORD_BITS (sizeof(uintptr_t) * 8u)
#define HKM_MAGIC_HEAP 0x484b4d48u /* "HKMH" */
#define HKM_MAGIC_BIG 0x484b4d42u  /* "HKMB" */

struct hkm_arena;

typedef struct hkm_chunk {
    uint32_t magic;
    uint32_t pad_; /* BIG: 1 while the block is known to be all zero */
    struct hkm_arena *arena;
    size_t map_len;
    void *user;
    size_t size;
    size_t align;
    uintptr_t spans[HKM_REGION_MAX_ / 16384u / HKM_WORD_BITS];
} hkm_chunk_t;
_Static_assert(sizeof(hkm_chunk_t) <= HKM_HDR, "chunk header must fit in HKM_HDR");

/* The chunk map: one byte per chunk of the user address space, non-zero
 * where a heapkit chunk header lives. Zero-initialised static storage, so
 * the kernel backs only the pages that cover live chunks (32 MiB of address
 * space on a 64-bit host, 1 KiB on a 32-bit one) and a lookup needs neither
 * a pointer load nor an "initialised yet?" test. */
#define HKM_MAP_LEN ((uintptr_t)1 << (HKM_ADDR_BITS - HKM_CHUNK_SHIFT))
extern HKM_HIDDEN uint8_t hkm_chunk_map[HKM_MAP_LEN];

static inline bool chunk_is_heap(const hkm_chunk_t *c)
{
    return c->magic == HKM_MAGIC_HEAP;
}

static inline bool chunk_is_big(const hkm_chunk_t *c)
{
    return c->magic == HKM_MAGIC_BIG;
}

/* The chunk that owns user pointer p, or NULL when no heapkit chunk header
 * precedes p (a foreign pointer). p != NULL. A map entry v != 0 says the
 * header is v - 1 chunks below (heap regions grow to 64 MiB, 16 chunks). */
static inline hkm_chunk_t *hkm_chunk_of(const void *p)
{
    uintptr_t a = (uintptr_t)p - 1;
    uintptr_t idx = a >> HKM_CHUNK_SHIFT;
    if (HKM_UNLIKELY(idx >= HKM_MAP_LEN))
        return NULL;
    unsigned v = __atomic_load_n(&hkm_chunk_map[idx], __ATOMIC_RELAXED);
    if (HKM_UNLIKELY(!v))
        return NULL;
    return (hkm_chunk_t *)((a & ~(HKM_CHUNK - 1)) - ((uintptr_t)(v - 1) << HKM_CHUNK_SHIFT));
}

/* The chunk map entry of a - 1 for the free fast path, with no bounds test:
 * the address bits above HKM_ADDR_BITS are dropped, so NULL - 1 (all ones)
 * reads the map's last entry, which no chunk ever takes (chunk.c), and so
 * does the top of the address space. A pointer beyond HKM_ADDR_BITS, which
 * no user-space mapping has on the Linux targets (x86-64 maps above 2^47
 * only when asked for by address), would alias a lower entry. */
static inline uintptr_t hkm_map_index(uintptr_t a)
{
#if UINTPTR_MAX > 0xffffffffu
    return (a << (64u - HKM_ADDR_BITS)) >> (64u - HKM_ADDR_BITS + HKM_CHUNK_SHIFT);
#else
    return a >> HKM_CHUNK_SHIFT;
#endif
}
_Static_assert(HKM_MAP_LEN == ((uintptr_t)1 << (HKM_ADDR_BITS - HKM_CHUNK_SHIFT)),
               "hkm_map_index covers the map");

int hkm_os_init(void);
size_t hkm_page_size(void);
/* Largest heap chunk (a run of chunks under one header): 64 MiB. */
#define HKM_REGION_MAX (16u * HKM_CHUNK)
_Static_assert(HKM_REGION_MAX == HKM_REGION_MAX_, "span bitmap size");
/* Maps a new heap chunk of len bytes (a multiple of HKM_CHUNK, at most
 * HKM_REGION_MAX) for arena a; returns its header (NULL: no memory). */
hkm_chunk_t *hkm_chunk_new(struct hkm_arena *a, size_t len);
/* The region of a heap chunk that its heap manages. */
static inline void *chunk_region(hkm_chunk_t *c)
{
    return (char *)c + HKM_HDR;
}
static inline size_t chunk_region_size(const hkm_chunk_t *c)
{
    return c->map_len - HKM_HDR;
}
/* Big blocks: their own mapping, any alignment (a power of two). */
void *hkm_big_alloc(size_t size, size_t align);
void hkm_big_free(hkm_chunk_t *c);
/* Resizes in place or by moving the pages (mremap); NULL: c untouched. */
void *hkm_big_realloc(hkm_chunk_t *c, size_t size);
/* Does a BIG block hold only zeroes (a fresh mapping)? */
static inline bool big_is_zeroed(const hkm_chunk_t *c)
{
    return c->pad_ != 0;
}
/* Unmaps every cached big mapping; true if there was any. */
bool hkm_big_cache_flush(void);
void hkm_os_fork_prepare(void);
void hkm_os_fork_parent(void);
void hkm_os_fork_child(void);
static inline size_t big_usable(const hkm_chunk_t *c)
{
    return c->map_len - (size_t)((const char *)c->user - (const char *)c);
}
/* Counters of the OS layer (bytes currently mapped, big blocks live). */
typedef struct {
    size_t heap_chunks, big_blocks, big_bytes, mapped_bytes;
    uint64_t big_allocs, big_frees;
} hkm_os_stats_t;
void hkm_os_stats(hkm_os_stats_t *out);

/* The per-process random key, set at init: marks blocks sitting in a thread
 * cache or a span's free list (second word), and tags span headers. */
extern HKM_HIDDEN uintptr_t hkm_key;
static inline uintptr_t hkm_cfg_key(void)
{
    return hkm_key;
}

/* ---- spans of small objects (span.c) -------------------------------------
 * A span is a 16 KiB heap block, 16 KiB-aligned, cut into objects of one
 * size class; its header sits at its start. Its first word is its tag:
 * (its own address) XOR (its owner arena) XOR (the per-process random key).
 * The free fast path takes the 16 KiB floor of any pointer of a mapped
 * heapkit chunk and accepts it as a span of the calling thread's own arena
 * with one compare, (tag ^ floor ^ my arena) == key - which neither a heap
 * block's header nor user data can match without knowing the key, and which
 * a span of another arena does not match. */
#define HKM_SPAN_SHIFT 14u
#define HKM_SPAN ((uintptr_t)1 << HKM_SPAN_SHIFT)

typedef struct hkm_span {
    uintptr_t tag;      /* span ^ owner arena ^ key; 0 once freed       */
    uint64_t divm;      /* floor(2^64 / obj_size) + 1 (span_carved)     */
    uint64_t limit;     /* (objects below bump_off) * (divm * obj_size) */
    void *free;         /* objects given back, linked through word 0  */
    struct hkm_span *next, *prev; /* the arena's partial list of bin  */
    uint32_t bump_off;  /* offset (from the first object) of the next
                           never-used object: objects below it exist     */
    uint32_t obj_size;
    uint16_t end_off;   /* offset of the end of the last whole object   */
    uint16_t parked;    /* free objects set aside with their page given
                           back to the OS (an orphan's, span.c): on no
                           list, counted again only as the span empties */
    uint16_t used;      /* objects out of the span (in use or cached)  */
    uint8_t bin;        /* size class: objects of (bin + 1) * 16 bytes */
    uint8_t listed;     /* on the partial list                         */
} hkm_span_t;
#define HKM_SPAN_HDR 64u
/* A span's heap block ends this far short of the next 16 KiB boundary, so
 * that the next span's block header fits there and spans pack densely
 * (without it, every span would leave a 16 KiB hole before the next). */
#define HKM_SPAN_TAIL 128u
/* Classes up to this size come from spans, larger cached ones are heap
 * blocks. All of them by default; a smaller value saves the mostly empty
 * span that each large class can hold per thread, at the cost of a heap
 * call per object of those classes (measured: server benchmark, 256 instead
 * of 1024: -35% RSS at 2 threads, +45% instructions). */
#ifndef HKM_SPAN_MAX
#define HKM_SPAN_MAX 1024u
#endif
_Static_assert(sizeof(hkm_span_t) <= HKM_SPAN_HDR, "span header must fit");

/* The arena that owns s (the tag names it; meaningless once s is freed). */
static inline struct hkm_arena *span_arena(const hkm_span_t *s)
{
    return (struct hkm_arena *)(s->tag ^ (uintptr_t)s ^ hkm_cfg_key());
}

static inline bool span_tag_ok(const hkm_span_t *s, const struct hkm_arena *a)
{
    return (s->tag ^ (uintptr_t)s ^ (uintptr_t)a) == hkm_cfg_key();
}

/* The divisor constant of objects of d bytes: M = floor(2^64 / d) + 1. */
static inline uint64_t span_divm(uint32_t d)
{
    return UINT64_MAX / d + 1u + ((d & (d - 1u)) == 0);
}

/* Is off (any 32-bit value) the offset of an object of s below the bump
 * offset, in one multiply and one compare? With M = floor(2^64 / d) + 1 and
 * e = M * d mod 2^64 (1 <= e <= d), the k-th object's offset k * d gives
 * k * d * M mod 2^64 = k * e, which grows with k; any other n < 2^32, not a
 * multiple of d, gives n * M mod 2^64 >= M (the divisibility test of Lemire,
 * Kaser and Kurz: "Faster remainder by direct computation", Software:
 * Practice and Experience, 2019), far above k * e < 2^20. So with limit =
 * (objects carved) * e, `off * M < limit` says at once "on an object
 * boundary" and "below the bump offset"; an offset below the first object
 * (p < first) wraps to a 32-bit value above 2^31 and fails either way. */
static inline bool span_carved(const hkm_span_t *s, uint32_t off)
{
    return (uint64_t)off * s->divm < s->limit;
}

/* Is p one of s's objects (a span of arena a): carved, on a boundary? */
static inline bool span_owns(const hkm_span_t *s, const void *p)
{
    uint32_t off = (uint32_t)((uintptr_t)p - ((uintptr_t)s + HKM_SPAN_HDR));
    return s->tag != 0 && span_carved(s, off);
}

/* The span whose objects' area holds p, for p a pointer of a mapped heapkit
 * chunk that came from a thread cache of arena a (so is known to be a live
 * object or heap block): the tag and the bump offset decide. */
static inline hkm_span_t *hkm_span_at(const struct hkm_arena *a, const void *p)
{
    hkm_span_t *s = (hkm_span_t *)(((uintptr_t)p - 1) & ~(HKM_SPAN - 1));
    uintptr_t off = (uintptr_t)p - ((uintptr_t)s + HKM_SPAN_HDR);
    return span_tag_ok(s, a) && off < s->bump_off ? s : NULL;
}

/* The span holding p (a heapkit heap chunk c's pointer), or NULL. */
static inline hkm_span_t *hkm_span_of(hkm_chunk_t *c, const void *p)
{
    uintptr_t i = ((uintptr_t)p - (uintptr_t)c) >> HKM_SPAN_SHIFT;
    uintptr_t w = __atomic_load_n(&c->spans[i / HKM_WORD_BITS], __ATOMIC_RELAXED);
    if (HKM_LIKELY(!((w >> (i % HKM_WORD_BITS)) & 1u)))
        return NULL;
    /* The last HKM_SPAN_TAIL bytes of the window are not the span's: the
     * heap may put a small block (or the next span's header) there. */
    if (((uintptr_t)p & (HKM_SPAN - 1)) >= HKM_SPAN - HKM_SPAN_TAIL)
        return NULL;
    return (hkm_span_t *)((uintptr_t)p & ~(HKM_SPAN - 1));
}

/* ---- arenas ------------------------------------------------------------ */
/* At most this many empty span blocks kept per arena for reuse (span.c). */
#ifndef HKM_SPARE_MAX
#define HKM_SPARE_MAX 128u
#endif

typedef struct hkm_arena {
    hkm_lock_t lock;
    unsigned index;          /* 0 = the shared arena */
    hk_heap_t *heap;         /* NULL until the first chunk is mapped */
    void * remote;  /* LIFO of blocks freed by other threads */
    void * owner;   /* exclusive arenas: the bound thread, or NULL */
    size_t freed_since_trim; /* under lock */
    bool empty_kept;         /* a remote free left an empty span listed */
    size_t heap_bytes;       /* bytes of heap chunks mapped (under lock) */
    unsigned n_spare;        /* empty span blocks kept for reuse (span.c) */
    unsigned n_spans;        /* live spans (under lock) */
    hkm_span_t *partial[HKM_BINS]; /* spans with free objects (under lock) */
    hkm_span_t *spare[HKM_SPARE_MAX]; /* those blocks, last kept last */
} __attribute__((aligned(64))) hkm_arena_t;

/* Per-thread state, in initial-exec TLS (no allocation, no __tls_get_addr). */
enum { HKM_T_NEW = 0, HKM_T_BOUND, HKM_T_SHARED, HKM_T_EXITED };
typedef struct hkm_thread {
    void *bin[HKM_BINS];     /* (first: the fast paths index it with no
                                offset to add) */
    uint16_t room[HKM_BINS]; /* list b may take room[b] more blocks */
    uint8_t fills[HKM_BINS]; /* refills of list b so far, up to 3 */
    uint8_t spilled[HKM_BINS]; /* list b's last slow event was a spill */
    uint64_t foreign;        /* bit b: list b may hold another arena's objects */
    hkm_arena_t *arena; /* exclusive arena, or the shared one */
    uint8_t state;
} hkm_thread_t;
_Static_assert(HKM_BINS <= 64, "hkm_thread_t.foreign has a bit per list");

extern __thread HKM_HIDDEN hkm_thread_t hkm_self __attribute__((tls_model("initial-exec")));
extern HKM_HIDDEN hkm_arena_t hkm_arenas[HKM_MAX_ARENAS];

/* Process-wide settings, fixed at init. */
typedef struct {
    size_t big_threshold;
    hk_fit_t fit;
    int debug;
    bool stats_at_exit;
    bool tcache;          /* off at HEAPKIT_DEBUG >= 1 */
    bool trim;            /* off at HEAPKIT_DEBUG >= 1 */
    bool spans;           /* small objects from spans; off with the tcache */
} hkm_config_t;
extern HKM_HIDDEN hkm_config_t hkm_cfg;

static inline size_t hkm_threshold(void)
{
    return __atomic_load_n(&hkm_cfg.big_threshold, __ATOMIC_RELAXED);
}
extern HKM_HIDDEN int hkm_ready; /* 0 no, 2 ready, else initialising (malloc.c) */

void hkm_init_slow(void);
static inline void hkm_init(void)
{
    if (HKM_UNLIKELY(__atomic_load_n(&hkm_ready, __ATOMIC_ACQUIRE) != 2))
        hkm_init_slow();
}

int hkm_arenas_init(void);
/* Arenas created so far (slots 0..n-1 are set up). */
unsigned hkm_arena_count(void);
/* How many exclusive arenas there may be (fixed at init: CPUs, arena.c). */
unsigned hkm_arena_limit(void);
/* The calling thread's arena (binding it on first use). Never NULL after
 * init unless the very first chunk cannot be mapped. */
hkm_arena_t *hkm_thread_arena(void);
/* The heap of arena a, creating it on first use (a locked). NULL: no memory. */
hk_heap_t *hkm_arena_heap(hkm_arena_t *a);
/* Frees p (a live block of a's heap, in chunk c) from a thread that does
 * not own a. adopt: a small object may go into the calling thread's cache
 * (hkm_cache_adopt) - false when that cache is handing it back. */
void hkm_remote_free(hkm_arena_t *a, hkm_chunk_t *c, void *p, bool adopt);
/* malloc.c: the calling thread's cache takes p, a live object of class b
 * of another thread's arena that remote_put_now checked under that arena's
 * lock, if the thread has an arena of its own and list b has room. */
bool hkm_cache_adopt(unsigned b, void *p);
/* malloc.c: is p on the calling thread's cache list b? */
bool hkm_cache_has(unsigned b, const void *p);
/* Frees every block on a's remote stack (a locked). */
void hkm_arena_drain(hkm_arena_t *a);
/* Returns the pages of a's large free blocks to the OS (a locked). */
bool hkm_arena_trim(hkm_arena_t *a);
/* Gives block p of a back (a locked): to its span, or to the heap. */
void hkm_arena_put(hkm_arena_t *a, void *p);
/* Span layer (a locked). hkm_span_take: up to `want` objects of class bin
 * onto the thread cache list *list (count in *n); returns one more object
 * for the caller, or NULL when the heap has no room for a new span. */
void *hkm_span_take(hkm_arena_t *a, unsigned bin, unsigned want, void **list, uint16_t *room);
/* Gives back a NULL-terminated list of objects linked through word 0, each
 * a live span object (thread-cache blocks). Without `mixed` they are all
 * a's. With it, those of a's spans go onto them and the others - another
 * arena's objects that the caller's cache took in (hkm_cache_adopt) - are
 * returned as a list, for the caller to hand to their
 * owners once a is unlocked (hkm_foreign_put); NULL if none. */
void *hkm_span_put_list(hkm_arena_t *a, void *list, bool mixed);
/* Hands each object of a list that hkm_span_put_list returned to its
 * owning arena (hkm_remote_free); no lock held. */
void hkm_foreign_put(void *list);
void hkm_span_put(hkm_arena_t *a, hkm_span_t *s, void *p);
/* The same from a thread that does not own a (a locked): an emptied span is
 * left listed (the owner reads heap headers without the lock, so only the
 * owner frees heap blocks); a->empty_kept tells the owner. */
void hkm_span_put_remote(hkm_arena_t *a, hkm_span_t *s, void *p);
/* Gives back the empty spans that are not the first of their list (a
 * locked; the owner, after remote frees left some). */
void hkm_span_release_kept(hkm_arena_t *a);
/* Gives every empty span of a, and every spare span block, back to the
 * heap (a locked). */
void hkm_span_release_empty(hkm_arena_t *a);
/* Gives back to the OS the pages of a's partly used spans that hold no
 * live object (a locked; a is an orphan whose thread has exited). */
void hkm_span_release_pages(hkm_arena_t *a);
/* Gives a's spare span blocks back to the heap (a locked). */
void hkm_span_release_spares(hkm_arena_t *a);
/* Is p one of s's objects (not interior, not past the bump)? */
bool hkm_span_owns(const hkm_span_t *s, const void *p);
/* Is p on s's free list? (O(objects of s); only when p carries the mark.) */
bool hkm_span_has_free(const hkm_span_t *s, const void *p);
/* Checks every span on a's partial lists (a locked): header, list links,
 * object count against the free list, chunk bit. 0 or HK_ECORRUPT. */
int hkm_span_validate(const hkm_arena_t *a);
/* Counts `bytes` freed into a (a locked) and trims now and then. */
void hkm_arena_note_free(hkm_arena_t *a, size_t bytes);
/* Empties the calling thread's cache into its arena. */
void hkm_thread_flush(void);

static inline bool arena_is_shared(const hkm_arena_t *a)
{
    return a->index == 0;
}

/* Is a bound to the calling thread (so it may use a's heap for reads and
 * the thread cache without the lock)? */
static inline bool arena_is_mine(const hkm_arena_t *a)
{
    return a == hkm_self.arena && hkm_self.state == HKM_T_BOUND;
}

/* Size classes. Lists, spans and partial lists are indexed by b, the class
 * of objects of (b + 1) * 16 bytes, but not every b is a class: 16-byte
 * steps up to 128 bytes, then four classes per doubling (160, 192, 224,
 * 256, 320, ..., 896, 1024) - 20 classes, as jemalloc's spacing, so that a
 * thread touching every size holds 20 partly used spans, not 64; at most
 * 25% of an object is padding. hkm_class_up[(n - 1) / 16] is the class of
 * a request of n (1..1024) bytes. */
extern HKM_HIDDEN const uint8_t hkm_class_up[HKM_BINS];

static inline unsigned hkm_bin_of(size_t n)
{
    return hkm_class_up[(n - 1) / HKM_GRAIN];
}

static inline size_t hkm_class_size(unsigned b)
{
    return (b + 1u) * HKM_GRAIN;
}

/* The largest class whose objects fit in `usable` (>= 16) bytes. */
static inline unsigned hkm_bin_floor(size_t usable)
{
    unsigned j = (unsigned)(usable / HKM_GRAIN) - 1u;
    if (j >= HKM_BINS)
        return HKM_BINS - 1u;
    return hkm_class_up[j] == j ? j : hkm_class_up[j] - (j < 16u ? 2u : j < 32u ? 4u : 8u);
}

/* How many objects list `bin` may hold: about 16 KiB worth, 16 to 512
 * (a table: the free path reads no divide). */
extern HKM_HIDDEN const uint16_t hkm_bin_caps[HKM_BINS];
static inline unsigned hkm_bin_cap(unsigned bin)
{
    return hkm_bin_caps[bin];
}
/* The calling thread's lists are all empty: every room at its cap. */
void hkm_thread_reset_room(hkm_thread_t *t);

/* ---- the fast paths (malloc.c; inlined into override.c's entry points) -- */

/* The fast path: a block from the calling thread's cache list, or NULL.
 * Only a bound thread with the cache on ever has a non-empty list (lists
 * are emptied at thread exit), so no state test; malloc(0) wraps to a huge
 * n - 1 and takes the slow path. */
static inline void *hkm_malloc_fast(size_t n)
{
    if (HKM_LIKELY(n - 1 < HKM_SMALL_MAX)) {
        hkm_thread_t *t = &hkm_self;
        unsigned b = hkm_class_up[(n - 1) / HKM_GRAIN];
        void **p = t->bin[b];
        if (HKM_LIKELY(p != NULL)) {
            t->bin[b] = p[0];
            t->room[b]++;
            p[1] = NULL;
            return p;
        }
    }
    return NULL;
}

/* room-- with the borrow as the result: true when there was no room (the
 * counter then reads HKM_ROOM_BORROWED until the slow path, which always
 * follows, restores it: hkm_room_of). On x86-64 one
 * `sub` on the thread-local counter and its carry flag; GCC and clang do not
 * fuse the C form into that. */
static inline bool hkm_room_take(uint16_t *room)
{
#if defined(__x86_64__) && defined(__GCC_ASM_FLAG_OUTPUTS__)
    bool borrow;
    __asm__("subw $1, %0" : "+m"(*room), "=@ccc"(borrow));
    return borrow;
#else
    return __builtin_sub_overflow(*room, 1, room);
#endif
}

#define HKM_ROOM_BORROWED 0xffffu

/* The room of list b, for the slow paths: a free whose fast path found no
 * room left the counter at HKM_ROOM_BORROWED, which means 0. */
static inline unsigned hkm_room_of(hkm_thread_t *t, unsigned b)
{
    if (HKM_UNLIKELY(t->room[b] == HKM_ROOM_BORROWED))
        t->room[b] = 0;
    return t->room[b];
}

/* The fast path: a small object of one of the calling thread's own spans,
 * with room in its thread-cache list. Every check is kept, each as cheap as
 * it gets: p's chunk is heapkit's (one byte of the chunk map; this also
 * turns NULL away, since NULL - 1 is past the map), the 16 KiB floor of p
 * carries a span tag that only a live span has, naming the calling thread's
 * arena as the owner, p is below the bump offset and on an object boundary
 * (one multiply and one compare, span_carved), p is not marked free already, and its list has
 * room (a per-list counter, no divide). Anything else - including a
 * suspected double free - takes free_slow. */
static inline bool hkm_free_fast(void *p)
{
    uintptr_t a = (uintptr_t)p - 1;
    if (HKM_LIKELY(hkm_chunk_map[hkm_map_index(a)] != 0)) {
        hkm_span_t *s = (hkm_span_t *)(a & ~(HKM_SPAN - 1));
#if HKM_TSAN
        /* The tag read below may race (harmlessly: a mismatch only means
         * "not mine") with another arena's writes to its own heap. For
         * ThreadSanitizer, first ask the chunk's span bitmap (atomic). */
        if (!hkm_span_of(hkm_chunk_of(p), p))
            return false;
#endif
        uintptr_t key = hkm_key;
        hkm_thread_t *t = &hkm_self;
        uint32_t off = (uint32_t)((uintptr_t)p - ((uintptr_t)s + HKM_SPAN_HDR));
        if (HKM_LIKELY((s->tag ^ (uintptr_t)s ^ (uintptr_t)t->arena) == key &&
                       span_carved(s, off))) {
            uintptr_t *w = p;
            uintptr_t b = s->bin;
            if (HKM_LIKELY(w[1] != key)) {
                if (HKM_UNLIKELY(hkm_room_take(&t->room[b])))
                    return false; /* no room: free_slow spills (room reads 0xffff) */
                w[1] = key;
                __asm__ volatile("" ::: "memory"); /* two plain stores, not a vector merge */
                w[0] = (uintptr_t)t->bin[b];
                t->bin[b] = p;
                return true;
            }
        }
    }
    return false;
}

/* Everything else, tracing included (p unchecked; NULL allowed). */
void *hkm_malloc_entry_slow(size_t size);
void hkm_free_entry_slow(void *p);

/* ---- trace (HEAPKIT_TRACE) -------------------------------------------- */
extern HKM_HIDDEN bool hkm_tracing;
int hkm_trace_open(const char *path);
void hkm_trace_lock(void);
void hkm_trace_unlock(void);
/* Record one call (with the trace lock held across the call itself). */
void hkm_trace_alloc(const void *p, size_t size);
void hkm_trace_free(const void *p);
void hkm_trace_realloc(const void *oldp, const void *newp, size_t size);
void hkm_trace_close(void);

/* ---- fork --------------------------------------------------------------- */
void hkm_fork_prepare(void);
void hkm_fork_parent(void);
void hkm_fork_child(void);

/* ---- small hosted helpers (no stdio: may run inside malloc) ------------ */
void hkm_write_str(int fd, const char *s);
/* Formats v in decimal into buf (>= 24 bytes); returns buf. */
char *hkm_fmt_u(char *buf, unsigned long long v);
char *hkm_fmt_x(char *buf, uintptr_t v);

#endif /* HKM_INTERNAL_H */
