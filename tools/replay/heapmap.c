/*
 * heapmap.c - heap maps as SVG pictures.
 *
 * The arena is drawn as ROWS rows of COLS cells, read like text: the first
 * byte at the top left, the last at the bottom right. Each cell covers
 * bytes / (ROWS * COLS) bytes and takes the colour of whatever covers most of
 * it: used bytes (what the caller asked for, as hk_heap_walk reports it),
 * free payload, or overhead - heapkit's control structure, block headers and
 * the rounding slack of used blocks (everything between one walked block and
 * the next). Runs of equal
 * cells in a row become one rectangle, so the file stays small however many
 * blocks the heap holds. The exact byte shares are printed in the legend,
 * because a header of 8 bytes in a megabyte arena is far below one cell.
 */
#include "replay.h"

#include <stdlib.h>
#include <string.h>

#define ROWS 48
#define COLS 800
#define CELL_W 1
#define ROW_H 5
#define PANEL_GAP 34

enum { K_META, K_USED, K_FREE, K_NONE, K_COUNT };
static const char *const colours[K_COUNT] = {"#555555", "#3b6fb6", "#9be29b", "#ffffff"};

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
static void cover(double *cov, double cell, double lo, double hi, int k)
{
    if (hi <= lo)
        return;
    size_t c0 = (size_t)(lo / cell), c1 = (size_t)(hi / cell);
    if (c0 >= ROWS * COLS)
        return;
    if (c1 >= ROWS * COLS)
        c1 = ROWS * COLS - 1, hi = (double)(ROWS * COLS) * cell;
    for (size_t c = c0; c <= c1; c++) {
        double a = (double)c * cell, z = a + cell;
        double from = lo > a ? lo : a, to = hi < z ? hi : z;
        if (to > from)
            cov[c * K_COUNT + (size_t)k] += to - from;
    }
}

int rp_svg_write(const char *path, const char *title, uintptr_t base, size_t bytes,
                 const rp_blocks_t *snaps, const char *const *labels, size_t nsnaps)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    double *cov = malloc(sizeof(double) * ROWS * COLS * K_COUNT);
    if (!cov) {
        fclose(f);
        return -1;
    }
    const int panel_h = ROWS * ROW_H + PANEL_GAP;
    const int width = COLS * CELL_W + 20;
    const int height = 30 + (int)nsnaps * panel_h + 20;
    fprintf(f,
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
            "font-family=\"sans-serif\" font-size=\"12\">\n"
            "<rect width=\"100%%\" height=\"100%%\" fill=\"#ffffff\"/>\n"
            "<text x=\"10\" y=\"18\" font-size=\"14\">%s</text>\n",
            width, height, title);
    double cell = (double)bytes / (ROWS * COLS);
    for (size_t s = 0; s < nsnaps; s++) {
        const rp_blocks_t *b = &snaps[s];
        memset(cov, 0, sizeof(double) * ROWS * COLS * K_COUNT);
        double sums[K_COUNT] = {0};
        double prev_end = 0;
        for (size_t i = 0; i < b->n; i++) {
            double lo = (double)(b->v[i].ptr - base), hi = lo + (double)b->v[i].size;
            if (lo > prev_end) {
                cover(cov, cell, prev_end, lo, K_META);
                sums[K_META] += lo - prev_end;
            }
            int k = b->v[i].used ? K_USED : K_FREE;
            cover(cov, cell, lo, hi, k);
            sums[k] += hi - lo;
            prev_end = hi;
        }
        if ((double)bytes > prev_end) {
            cover(cov, cell, prev_end, (double)bytes, K_META);
            sums[K_META] += (double)bytes - prev_end;
        }
        int y0 = 30 + (int)s * panel_h;
        fprintf(f,
                "<text x=\"10\" y=\"%d\">%s: used %.1f%%, free %.1f%%, overhead %.1f%%, "
                "%zu blocks</text>\n",
                y0 + 14, labels[s], 100.0 * sums[K_USED] / (double)bytes,
                100.0 * sums[K_FREE] / (double)bytes, 100.0 * sums[K_META] / (double)bytes, b->n);
        for (int r = 0; r < ROWS; r++) {
            int run_k = -1, run_x = 0;
            for (int c = 0; c <= COLS; c++) {
                int k = K_NONE;
                if (c < COLS) {
                    const double *v = &cov[((size_t)r * COLS + (size_t)c) * K_COUNT];
                    double best = 0;
                    for (int j = 0; j < K_COUNT; j++)
                        if (v[j] > best)
                            best = v[j], k = j;
                }
                if (c == COLS || k != run_k) {
                    if (run_k >= 0 && run_k != K_NONE)
                        fprintf(f,
                                "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" "
                                "fill=\"%s\"/>\n",
                                10 + run_x * CELL_W, y0 + 20 + r * ROW_H, (c - run_x) * CELL_W,
                                ROW_H - 1, colours[run_k]);
                    run_k = k;
                    run_x = c;
                }
            }
        }
    }
    int ly = 30 + (int)nsnaps * panel_h + 4;
    const char *names[3] = {"overhead: control, headers, rounding", "used (requested bytes)",
                            "free"};
    static const int lx[3] = {10, 290, 480};
    for (int k = 0; k < 3; k++)
        fprintf(f,
                "<rect x=\"%d\" y=\"%d\" width=\"12\" height=\"12\" fill=\"%s\" "
                "stroke=\"#000\" stroke-width=\"0.5\"/><text x=\"%d\" y=\"%d\">%s</text>\n",
                lx[k], ly - 10, colours[k], lx[k] + 16, ly, names[k]);
    fprintf(f, "</svg>\n");
    free(cov);
    return fclose(f) == 0 ? 0 : -1;
}
