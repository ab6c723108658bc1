/* SPDX-License-Identifier: MIT */
/*
 * hk_trace_rec.c - libhk_trace.so, the allocation recorder.
 *
 *     LD_PRELOAD=libhk_trace.so HK_TRACE_OUT=prog.hkrec program args
 *     hk-trace-conv prog.hkrec > prog.rep
 *
 * It defines the malloc family (malloc, free, calloc, realloc, reallocarray,
 * memalign, posix_memalign, aligned_alloc, valloc, pvalloc), so the dynamic
 * linker binds the program's calls here; each one calls glibc's own entry
 * point (__libc_malloc and friends, exported for exactly this purpose), so the
 * recorder needs no dlsym bootstrap and cannot recurse into itself.
 *
 * Ordering and threads: the real call and the append of its record happen
 * under one mutex, so the records are a valid serial history even when a
 * block freed by one thread is immediately handed to another. Records go
 * straight into a shared mapping of the output file (see WINDOW), so the
 * recorder owns no buffer that could need memory, and nothing is lost at
 * _exit, at a crash or at fork.
 *
 * Processes: the process started with HK_TRACE_OUT writes that file. It then
 * sets HK_TRACE_CHILD=1 in its environment, so programs it executes (which
 * inherit LD_PRELOAD) write HK_TRACE_OUT.<pid> instead of overwriting it; a
 * forked child switches to HK_TRACE_OUT.<pid> in the atfork handler. Calls made
 * before the recorder's constructor ran (by the dynamic loader or earlier
 * constructors) are passed through unrecorded; the converter ignores frees of
 * blocks it never saw allocated.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "hk_trace_rec.h"

void *__libc_malloc(size_t n);
void __libc_free(void *p);
void *__libc_calloc(size_t c, size_t n);
void *__libc_realloc(void *p, size_t n);
void *__libc_memalign(size_t al, size_t n);
void *__libc_valloc(size_t n);
void *__libc_pvalloc(size_t n);

#define EXPORT __attribute__((visibility("default")))
/* The file is written through a shared mapping, one window at a time: a
 * record is in the page cache as soon as it is stored, so a program that
 * ends with _exit() or crashes loses nothing. Records are 40 bytes and the
 * header is one record, so a window of a multiple of lcm(40, 65536) = 327680
 * bytes starts on a page (4 KiB to 64 KiB pages) and never splits a record. */
#define WINDOW ((size_t)327680 * 8)

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static int fd = -1;
static char *win;       /* current window of the file, or NULL */
static off_t win_off;   /* its file offset */
static size_t win_pos;  /* bytes used in it */
static char path[4096];
static volatile int active;

static void stop_recording(void)
{
    if (win)
        munmap(win, WINDOW);
    win = NULL;
    if (fd >= 0)
        close(fd);
    fd = -1;
    active = 0;
}

/* Maps the window at file offset off (growing the file). */
static int map_window(off_t off)
{
    if (win)
        munmap(win, WINDOW);
    win = NULL;
    if (ftruncate(fd, off + (off_t)WINDOW) != 0)
        return -1;
    void *m = mmap(NULL, WINDOW, PROT_READ | PROT_WRITE, MAP_SHARED, fd, off);
    if (m == MAP_FAILED)
        return -1;
    win = m;
    win_off = off;
    win_pos = 0;
    return 0;
}

static void put_locked(uint64_t op, const void *ptr, const void *old, size_t size, size_t arg)
{
    if (win_pos + sizeof(hkrec_t) > WINDOW) {
        int saved = errno;
        if (map_window(win_off + (off_t)WINDOW) != 0) { /* disk full: stop quietly */
            stop_recording();
            errno = saved;
            return;
        }
        errno = saved;
    }
    hkrec_t r = {op, (uint64_t)(uintptr_t)ptr, (uint64_t)(uintptr_t)old, size, arg};
    memcpy(win + win_pos, &r, sizeof r);
    win_pos += sizeof r;
}

/* Cuts the file to what was written (a process that skips this, by _exit or
 * a crash, leaves zero records at the end, which the converter ignores). */
static void trim_locked(void)
{
    if (fd >= 0 && win) {
        int saved = errno;
        if (ftruncate(fd, win_off + (off_t)win_pos) != 0)
            errno = saved;
        errno = saved;
    }
}

/* Writes v in decimal to out (at least 21 bytes), without stdio. */
static void utoa(char *out, unsigned long v)
{
    char d[24];
    int k = 0, j = 0;
    do {
        d[k++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (k)
        out[j++] = d[--k];
    out[j] = 0;
}

/* Formats path + "." + pid. */
static void child_path(char *out, size_t n, pid_t pid)
{
    size_t len = strlen(path);
    if (len + 24 > n) {
        out[0] = 0;
        return;
    }
    memcpy(out, path, len);
    out[len++] = '.';
    utoa(out + len, (unsigned long)pid);
}

static void open_out(const char *file)
{
    fd = open(file, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return;
    if (map_window(0) != 0) {
        stop_recording();
        return;
    }
    hkrec_t header;
    memset(&header, 0, sizeof header);
    memcpy(&header, HKREC_MAGIC, 8);
    memcpy(win, &header, sizeof header);
    win_pos = sizeof header;
    active = 1;
}

static void at_prepare(void)
{
    pthread_mutex_lock(&lock);
}

static void at_parent(void)
{
    pthread_mutex_unlock(&lock);
}

/* The child must not write into its parent's file: drop the inherited
 * mapping (without trimming the parent's file) and start its own. */
static void at_child(void)
{
    pthread_mutex_init(&lock, NULL);
    if (fd >= 0) {
        stop_recording();
        char p[sizeof path + 24];
        child_path(p, sizeof p, getpid());
        if (p[0])
            open_out(p);
    }
}

__attribute__((constructor)) static void rec_init(void)
{
    const char *out = getenv("HK_TRACE_OUT");
    if (!out || !out[0] || strlen(out) >= sizeof path)
        return;
    memcpy(path, out, strlen(out) + 1);
    pthread_atfork(at_prepare, at_parent, at_child);
    /* HK_TRACE_CHILD holds the pid of the process that owns HK_TRACE_OUT.
     * The same pid means that process exec'd a new program (a wrapper script
     * starting the real one): the new image starts the trace afresh. */
    static char mark[48] = "HK_TRACE_CHILD=";
    const char *owner = getenv("HK_TRACE_CHILD");
    char me[24];
    utoa(me, (unsigned long)getpid());
    if (owner && strcmp(owner, me) != 0) {
        char p[sizeof path + 24];
        child_path(p, sizeof p, getpid());
        if (p[0])
            open_out(p);
    } else {
        open_out(path);
        if (!owner) {
            memcpy(mark + 15, me, strlen(me) + 1);
            putenv(mark);
        }
    }
}

__attribute__((destructor)) static void rec_fini(void)
{
    pthread_mutex_lock(&lock);
    trim_locked();
    pthread_mutex_unlock(&lock);
}

/* ---- the malloc family ---------------------------------------------------- */
EXPORT void *malloc(size_t n)
{
    if (!active)
        return __libc_malloc(n);
    pthread_mutex_lock(&lock);
    void *p = __libc_malloc(n);
    if (p && active)
        put_locked(HKREC_MALLOC, p, NULL, n, 0);
    pthread_mutex_unlock(&lock);
    return p;
}

EXPORT void free(void *p)
{
    if (!active || !p) {
        __libc_free(p);
        return;
    }
    pthread_mutex_lock(&lock);
    if (active)
        put_locked(HKREC_FREE, NULL, p, 0, 0);
    __libc_free(p);
    pthread_mutex_unlock(&lock);
}

EXPORT void *calloc(size_t c, size_t n)
{
    if (!active)
        return __libc_calloc(c, n);
    pthread_mutex_lock(&lock);
    void *p = __libc_calloc(c, n);
    if (p && active)
        put_locked(HKREC_CALLOC, p, NULL, n, c);
    pthread_mutex_unlock(&lock);
    return p;
}

EXPORT void *realloc(void *old, size_t n)
{
    if (!active)
        return __libc_realloc(old, n);
    pthread_mutex_lock(&lock);
    void *p = __libc_realloc(old, n);
    if (active && (p || (old && n == 0)))
        put_locked(HKREC_REALLOC, p, old, n, 0);
    pthread_mutex_unlock(&lock);
    return p;
}

EXPORT void *reallocarray(void *old, size_t c, size_t n)
{
    if (n && c > SIZE_MAX / n) {
        errno = ENOMEM;
        return NULL;
    }
    return realloc(old, c * n);
}

static void *aligned(size_t al, size_t n, int kind)
{
    if (!active) {
        return kind == 1 ? __libc_valloc(n) : kind == 2 ? __libc_pvalloc(n)
                                                        : __libc_memalign(al, n);
    }
    pthread_mutex_lock(&lock);
    void *p;
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    if (kind == 1) {
        p = __libc_valloc(n);
        al = page;
    } else if (kind == 2) {
        p = __libc_pvalloc(n);
        al = page;
        n = (n + page - 1) / page * page;
    } else {
        p = __libc_memalign(al, n);
    }
    if (p && active)
        put_locked(HKREC_MEMALIGN, p, NULL, n, al);
    pthread_mutex_unlock(&lock);
    return p;
}

EXPORT void *memalign(size_t al, size_t n)
{
    return aligned(al, n, 0);
}

EXPORT void *aligned_alloc(size_t al, size_t n)
{
    return aligned(al, n, 0);
}

EXPORT int posix_memalign(void **out, size_t al, size_t n)
{
    if (al < sizeof(void *) || (al & (al - 1)) != 0)
        return EINVAL;
    int saved = errno;
    void *p = aligned(al, n, 0);
    errno = saved;
    if (!p)
        return ENOMEM;
    *out = p;
    return 0;
}

EXPORT void *valloc(size_t n)
{
    return aligned(0, n, 1);
}

EXPORT void *pvalloc(size_t n)
{
    return aligned(0, n, 2);
}
