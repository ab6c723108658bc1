/* SPDX-License-Identifier: MIT */
/*
 * hk_trace_rec.h - the binary record libhk_trace.so writes and
 * hk-trace-conv reads.
 *
 * The recorder runs inside malloc, so it only appends fixed-size records to a
 * static buffer and write()s them out; everything that needs memory of its
 * own (mapping pointers to trace ids, peak bytes) happens later, offline, in
 * the converter. A file is one header record (the 8-byte magic, then
 * zeros) followed by records, all in the recording machine's byte order and
 * with 64-bit fields on every host. A record with op 0 ends the data (the
 * zero tail a process leaves when it ends without running destructors).
 */
#ifndef HK_TRACE_REC_H
#define HK_TRACE_REC_H

#include <stdint.h>

#define HKREC_MAGIC "HKTRC01\n"

enum {
    HKREC_MALLOC = 1,   /* size -> ptr */
    HKREC_FREE = 2,     /* old */
    HKREC_CALLOC = 3,   /* arg = count, size -> ptr */
    HKREC_REALLOC = 4,  /* old, size -> ptr (NULL with size 0: freed) */
    HKREC_MEMALIGN = 5  /* arg = alignment, size -> ptr */
};

typedef struct {
    uint64_t op;
    uint64_t ptr;  /* result */
    uint64_t old;  /* argument pointer (free, realloc) */
    uint64_t size;
    uint64_t arg;
} hkrec_t;

#endif /* HK_TRACE_REC_H */
