/* SPDX-License-Identifier: MIT */
/*
 * heapmap.c - heap maps as SVG pictures.
 *
 * The arena is drawn as rows of COLS cells, read like text: the first byte
 * at the top left, the last at the bottom right. A row covers a round number
 * of bytes (at most MAX_ROWS rows), printed with a byte scale: offsets within
 * a row along the top, each row's start on the left. A cell mixes the colours
 * of what it covers, in proportion: used bytes (what the caller asked for, as
 * hk_heap_walk reports it), free payload, or overhead - heapkit's control
 * structure, block headers and the rounding slack of used blocks (everything
 * between one walked block and the next). So an 8-byte header in a 40-byte
 * cell darkens it by a fifth instead of vanishing under the majority colour.
 * Runs of equal (quantised) cells in a row become one rectangle, so the file
 * stays small however many blocks the heap holds. The exact byte shares are
 * printed in each panel's caption.
 */
#include "replay.h"

#include <stdlib.h>
#include <string.h>

#define MAX_ROWS 64
#define COLS 800
#define CELL_W 1
#define ROW_H 6
#define LEFT 50
#define PANEL_GAP 44

enum { K_META, K_USED, K_FREE, K_NONE, K_COUNT };
static const unsigned rgbs[K_COUNT] = {0x555555, 0x3b6fb6, 0x9be29b, 0xffffff};

static void on_block(void *ptr, size_t size, bool used, void *ctx)
{
    rp_blocks_t *b = ctx;
    if (b->n == b->cap) {
        size_t ncap = b->cap ? b->cap * 2 : 1024;
        rp_block_t *v = realloc(b->v, ncap * sizeof *v);
        if (!v)
            return; /* the map is then partial; the counts say so */
        b->v = v;
        b->cap = ncap;
    }
    b->v[b->n++] = (rp_block_t){(uintptr_t)ptr, size, used};
}

void rp_blocks_collect(const hk_heap_t *h, rp_blocks_t *b)
{
    b->n = 0;
    hk_heap_walk(h, on_block, b);
}

void rp_blocks_free(rp_blocks_t *b)
{
    free(b->v);
    memset(b, 0, sizeof *b);
}

/* Adds [lo, hi) of kind k (arena offsets) to the coverage table. */
static void cover(double *cov, size_t rows, double cell, double lo, double hi, int k)
{
    if (hi <= lo)
        return;
    size_t ncells = rows * COLS;
    size_t c0 = (size_t)(lo / cell), c1 = (size_t)(hi / cell);
    if (c0 >= ncells)
        return;
    if (c1 >= ncells)
        c1 = ncells - 1, hi = (double)ncells * cell;
    for (size_t c = c0; c <= c1; c++) {
        double a = (double)c * cell, z = a + cell;
        double from = lo > a ? lo : a, to = hi < z ? hi : z;
        if (to > from)
            cov[c * K_COUNT + (size_t)k] += to - from;
    }
}

/* A round number of bytes per row, so that the arena takes at most MAX_ROWS
 * rows: a power of two from 256 bytes up, or 1.5 times one (from 3 KiB) when
 * that is enough. */
static size_t row_bytes_for(size_t bytes)
{
    size_t r = 256;
    while ((bytes + r - 1) / r > MAX_ROWS) {
        if ((bytes + r + r / 2 - 1) / (r + r / 2) <= MAX_ROWS && r % 2048 == 0)
            return r + r / 2;
        r *= 2;
    }
    return r;
}

static void fmt_offset(char *b, size_t n, size_t v)
{
    if (v == 0)
        snprintf(b, n, "0");
    else if (v % 1048576 == 0)
        snprintf(b, n, "%zuM", v / 1048576);
    else if (v % 1024 == 0)
        snprintf(b, n, "%zuK", v / 1024);
    else if (v >= 1024)
        snprintf(b, n, "%.1fK", (double)v / 1024.0);
    else
        snprintf(b, n, "%zu", v);
}

static const char *plural(size_t n)
{
    return n == 1 ? "" : "s";
}

int rp_svg_write(const char *path, const char *title, uintptr_t base, size_t bytes,
                 const rp_blocks_t *snaps, const char *const *labels, size_t nsnaps)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    const size_t row_bytes = row_bytes_for(bytes ? bytes : 1);
    const int rows = (int)((bytes + row_bytes - 1) / row_bytes);
    double *cov = malloc(sizeof(double) * (size_t)rows * COLS * K_COUNT);
    if (!cov) {
        fclose(f);
        return -1;
    }
    const int panel_h = rows * ROW_H + PANEL_GAP;
    const int width = LEFT + COLS * CELL_W + 20;
    const int height = 60 + (int)nsnaps * panel_h + 36;
    const double cell = (double)row_bytes / COLS;
    char rb[32];
    fmt_offset(rb, sizeof rb, row_bytes);
    fprintf(f,
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
            "font-family=\"sans-serif\" font-size=\"12\">\n"
            "<rect width=\"100%%\" height=\"100%%\" fill=\"#ffffff\"/>\n"
            "<text x=\"10\" y=\"18\" font-size=\"14\">%s</text>\n"
            "<text x=\"10\" y=\"36\">each row is %s bytes (%zu), one pixel %.1f bytes; a pixel "
            "mixes the colours of the bytes it covers, so headers darken rows of small "
            "blocks</text>\n",
            width, height, title, rb, row_bytes, cell);
    for (size_t s = 0; s < nsnaps; s++) {
        const rp_blocks_t *b = &snaps[s];
        memset(cov, 0, sizeof(double) * (size_t)rows * COLS * K_COUNT);
        double sums[K_COUNT] = {0};
        double prev_end = 0;
        size_t nused = 0, nfree = 0;
        for (size_t i = 0; i < b->n; i++) {
            double lo = (double)(b->v[i].ptr - base), hi = lo + (double)b->v[i].size;
            if (lo > prev_end) {
                cover(cov, (size_t)rows, cell, prev_end, lo, K_META);
                sums[K_META] += lo - prev_end;
            }
            int k = b->v[i].used ? K_USED : K_FREE;
            b->v[i].used ? nused++ : nfree++;
            cover(cov, (size_t)rows, cell, lo, hi, k);
            sums[k] += hi - lo;
            prev_end = hi;
        }
        if ((double)bytes > prev_end) {
            cover(cov, (size_t)rows, cell, prev_end, (double)bytes, K_META);
            sums[K_META] += (double)bytes - prev_end;
        }
        int y0 = 50 + (int)s * panel_h;
        fprintf(f,
                "<text x=\"10\" y=\"%d\">%s: used %.1f%%, free %.1f%%, overhead %.1f%%; %zu used "
                "block%s, %zu free block%s</text>\n",
                y0 + 14, labels[s], 100.0 * sums[K_USED] / (double)bytes,
                100.0 * sums[K_FREE] / (double)bytes, 100.0 * sums[K_META] / (double)bytes, nused,
                plural(nused), nfree, plural(nfree));
        /* the byte scale: offsets within a row along the top, row starts on
         * the left (every row when there are few, else every 4th) */
        for (int k = 0; k <= 4; k++) {
            char lb[32];
            fmt_offset(lb, sizeof lb, row_bytes / 4 * (size_t)k);
            fprintf(f,
                    "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\" font-size=\"10\">+%s</text>\n",
                    LEFT + k * COLS * CELL_W / 4, y0 + 28, lb);
        }
        int every = rows > 16 ? 4 : 1;
        for (int r = 0; r < rows; r += every) {
            char lb[32];
            fmt_offset(lb, sizeof lb, (size_t)r * row_bytes);
            fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\" font-size=\"10\">%s</text>\n",
                    LEFT - 4, y0 + 32 + r * ROW_H + ROW_H, lb);
        }
        for (int r = 0; r < rows; r++) {
            int run_x = 0;
            unsigned run_c = 0xffffffffu;
            for (int c = 0; c <= COLS; c++) {
                unsigned colour = 0xffffffffu; /* past the end: nothing */
                if (c < COLS) {
                    const double *v = &cov[((size_t)r * COLS + (size_t)c) * K_COUNT];
                    double tot = v[K_META] + v[K_USED] + v[K_FREE];
                    if (tot > 0) {
                        double rgb[3] = {0, 0, 0};
                        for (int j = 0; j < K_NONE; j++)
                            for (int ch = 0; ch < 3; ch++)
                                rgb[ch] += v[j] / tot * (double)((rgbs[j] >> (16 - 8 * ch)) & 255u);
                        /* quantised to 4 bits a channel: runs stay long, files small */
                        colour = 0;
                        for (int ch = 0; ch < 3; ch++)
                            colour = colour << 8 | ((unsigned)(rgb[ch] + 0.5) & 0xf0u);
                    }
                }
                if (c == COLS || colour != run_c) {
                    if (run_c != 0xffffffffu)
                        fprintf(f,
                                "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" "
                                "fill=\"#%06x\"/>\n",
                                LEFT + run_x * CELL_W, y0 + 32 + r * ROW_H, (c - run_x) * CELL_W,
                                ROW_H - 1, run_c);
                    run_c = colour;
                    run_x = c;
                }
            }
        }
    }
    int ly = 60 + (int)nsnaps * panel_h + 14;
    const char *names[3] = {"overhead: control, headers, rounding", "used (requested bytes)",
                            "free"};
    static const int lx[3] = {10, 290, 480};
    for (int k = 0; k < 3; k++)
        fprintf(f,
                "<rect x=\"%d\" y=\"%d\" width=\"12\" height=\"12\" fill=\"#%06x\" "
                "stroke=\"#000\" stroke-width=\"0.5\"/><text x=\"%d\" y=\"%d\">%s</text>\n",
                lx[k], ly - 10, rgbs[k], lx[k] + 16, ly, names[k]);
    fprintf(f, "</svg>\n");
    free(cov);
    return fclose(f) == 0 ? 0 : -1;
}
