/* SPDX-License-Identifier: MIT */
/*
 * debug_policy.c - a ready-made error hook with a configurable policy
 * (ignore, log, panic) and the freestanding formatter it logs with. Works
 * at every debug level; the allocation site is added when the debug layer
 * knows it (HK_DEBUG >= 1).
 */
#include "common/hk_internal.h"
#include "heapkit/debug.h"

typedef struct {
    char *buf;
    size_t len, pos;
} out_t;

static void put_c(out_t *o, char c)
{
    if (o->pos + 1 < o->len)
        o->buf[o->pos++] = c;
}

static void put_s(out_t *o, const char *s)
{
    while (s && *s)
        put_c(o, *s++);
}

static void put_u(out_t *o, uintptr_t v, unsigned base)
{
    char tmp[2 * sizeof(uintptr_t) + 1];
    unsigned n = 0;
    do {
        unsigned d = (unsigned)(v % base);
        tmp[n++] = (char)(d < 10 ? '0' + d : 'a' + d - 10);
        v /= base;
    } while (v);
    while (n)
        put_c(o, tmp[--n]);
}

/* The basename of a path: __FILE__ may be long. */
static const char *base_name(const char *f)
{
    const char *b = f;
    for (; f && *f; f++)
        if (*f == '/' || *f == '\\')
            b = f + 1;
    return b;
}

size_t hk_debug_format(char *buf, size_t len, int code, const void *ptr, const char *reason,
                       const hk_alloc_info_t *site)
{
    out_t o = { buf, len, 0 };
    if (!buf || !len)
        return 0;
    put_s(&o, "heapkit: ");
    put_s(&o, hk_strerror(code));
    put_s(&o, ": ");
    put_s(&o, reason ? reason : "(no reason)");
    put_s(&o, " at 0x");
    put_u(&o, (uintptr_t)ptr, 16);
    if (site) {
        put_s(&o, " (block of ");
        put_u(&o, site->size, 10);
        put_s(&o, " bytes from ");
        put_s(&o, site->file ? base_name(site->file) : "?");
        put_c(&o, ':');
        put_u(&o, site->line, 10);
        if (site->tag) {
            put_s(&o, " tag ");
            put_u(&o, site->tag, 10);
        }
        put_s(&o, " #");
        put_u(&o, site->seq, 10);
        put_c(&o, ')');
    }
    buf[o.pos] = '\0';
    return o.pos;
}

void hk_debug_policy_hook(int code, const void *ptr, const char *reason, void *ctx)
{
    static const hk_debug_hook_cfg_t defaults = { HK_DEBUG_POLICY, NULL, NULL, NULL };
    const hk_debug_hook_cfg_t *cfg = ctx ? ctx : &defaults;
    if (cfg->policy == HK_POLICY_IGNORE)
        return;
    if (cfg->log) {
        char line[192];
        hk_debug_format(line, sizeof line, code, ptr, reason, hk_debug_error_site());
        cfg->log(line, cfg->log_ctx);
    }
    if (cfg->policy == HK_POLICY_PANIC) {
        if (cfg->panic)
            cfg->panic();
        __builtin_trap();
    }
}
