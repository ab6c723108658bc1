/* SPDX-License-Identifier: MIT */
/*
 * fuzz_trace.c - libFuzzer harness: the .rep trace parser of the replay
 * tools (tools/trace/hk_trace.c). Any input must parse or be refused with
 * a message, never crash or leak; a parsed trace must be self-consistent
 * (op counts add up, ids below the id count, sizes within max_size) and
 * survive a write/re-parse round trip with the same ops.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hk_trace.h"
#include "fuzz_util.h"


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    hkt_trace_t t;
    char err[256];
    err[0] = 0;
    if (hkt_parse((const char *)data, size, "fuzz", &t, err, sizeof err) != 0) {
        must(err[0] != 0); /* refused with a reason */
        return 0;
    }
    must(t.n_alloc + t.n_free + t.n_realloc == t.nops);
    for (size_t i = 0; i < t.nops; i++) {
        must(t.ops[i].id < t.nids);
        must(hkt_op_bytes(&t.ops[i]) <= t.max_size);
    }
    char *out = NULL;
    size_t outlen = 0;
    FILE *f = open_memstream(&out, &outlen);
    must(f != NULL);
    must(hkt_write(f, &t) == 0);
    fclose(f);
    hkt_trace_t u;
    must(hkt_parse(out, outlen, "again", &u, err, sizeof err) == 0);
    must(u.nops == t.nops);
    for (size_t i = 0; i < t.nops; i++)
        must(u.ops[i].kind == t.ops[i].kind && u.ops[i].id == t.ops[i].id &&
             u.ops[i].size == t.ops[i].size);
    hkt_free(&u);
    free(out);
    hkt_free(&t);
    return 0;
}
