/* SPDX-License-Identifier: MIT */
/*
 * stack.c - a pool of thread stacks: each stack is painted when acquired,
 * so the high-water mark shows how deep a thread really went, and a guard
 * band below it catches an overflow (hk_stack_check). An RTOS would pass
 * hk_stack_top() to its thread-create call; here the "thread" is a
 * function that writes part of its stack.
 */
#include <stdio.h>
#include <string.h>

#include "heapkit/stack.h"

static _Alignas(64) unsigned char stack_mem[4 * (2048 + 64) + 64];

int main(void)
{
    hk_stack_pool_t sp;
    hk_stack_config_t cfg = { 2048, 64, 64, 0, NULL };
    if (hk_stack_pool_init(&sp, stack_mem, sizeof stack_mem, &cfg) != 0)
        return 1;
    unsigned char *s = hk_stack_acquire(&sp);
    if (!s)
        return 1;
    /* the thread runs: stacks grow down from the top, here 700 bytes deep */
    unsigned char *top = hk_stack_top(&sp, s);
    memset(top - 700, 0x11, 700);
    size_t hw = hk_stack_high_water(&sp, s);
    int ok = hw >= 700 && hw < 700 + 16 && hk_stack_check(&sp, s) == 0;
    printf("stack: %zu of %zu bytes used at most\n", hw, hk_stack_size(&sp));
    hk_stack_release(&sp, s);
    ok = ok && hk_stack_validate(&sp) == 0;
    printf("stack: %s\n", ok ? "ok" : "FAILED");
    return ok ? 0 : 1;
}
