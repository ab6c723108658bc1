/* SPDX-License-Identifier: MIT */
/*
 * ring.c - variable-size log records in a ring: records are written in
 * order and retired mostly in order (the uploader sends the oldest first),
 * so a ring allocator serves them with one granule of overhead and no
 * fragmentation. A record never wraps: it is one contiguous block.
 */
#include <stdio.h>
#include <string.h>

#include "heapkit/ring.h"

static _Alignas(8) unsigned char log_mem[2048];

int main(void)
{
    hk_ring_t ring;
    if (hk_ring_init(&ring, log_mem, sizeof log_mem, 8, NULL) != 0)
        return 1;
    unsigned written = 0, sent = 0, bad = 0;
    char line[64];
    for (int i = 0; i < 500; i++) {
        int n = snprintf(line, sizeof line, "event %d: sensor %d", i, (i * 37) % 1000);
        char *rec = hk_ring_alloc(&ring, (size_t)n + 1);
        while (!rec) { /* full: send (free) the oldest record, retry */
            size_t sz = 0;
            char *old = hk_ring_front(&ring, &sz);
            if (!old)
                return 1;
            bad += strncmp(old, "event ", 6) != 0;
            hk_ring_free(&ring, old);
            sent++;
            rec = hk_ring_alloc(&ring, (size_t)n + 1);
        }
        memcpy(rec, line, (size_t)n + 1);
        written++;
    }
    hk_stats_t st;
    hk_ring_get_stats(&ring, &st);
    int ok = bad == 0 && hk_ring_validate(&ring) == 0 && st.used_blocks == written - sent;
    printf("ring: %u records written, %u sent, %zu held in %zu bytes: %s\n", written, sent,
           st.used_blocks, st.total, ok ? "ok" : "FAILED");
    return ok ? 0 : 1;
}
