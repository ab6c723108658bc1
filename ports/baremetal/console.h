/* SPDX-License-Identifier: MIT */
/*
 * console.h - output helpers for the bare-metal ports that need no printf,
 * so they still work inside a fault or trap handler: a string, a labelled
 * hex word, a decimal number. All of them go through the port's raw
 * console, hk_port_write (declared again here with the same prototype, so
 * this header needs no port.h of its own).
 */
#ifndef HK_PORT_CONSOLE_H
#define HK_PORT_CONSOLE_H

#include <stddef.h>
#include <stdint.h>

void hk_port_write(const char *s, size_t n);

static inline void put_str(const char *s)
{
    size_t n = 0;
    while (s[n])
        n++;
    hk_port_write(s, n);
}

/* " label=0123abcd" (label cut to 8 characters, all hex digits of a word). */
static inline void put_hex(const char *label, uintptr_t v)
{
    char buf[32];
    size_t n = 0;
    buf[n++] = ' ';
    while (*label && n < 9)
        buf[n++] = *label++;
    buf[n++] = '=';
    for (int shift = (int)(8u * sizeof v) - 4; shift >= 0; shift -= 4)
        buf[n++] = "0123456789abcdef"[(v >> (unsigned)shift) & 0xfu];
    hk_port_write(buf, n);
}

static inline void put_dec(uintptr_t v)
{
    char buf[24];
    size_t i = sizeof buf;
    do {
        buf[--i] = (char)('0' + v % 10u);
        v /= 10u;
    } while (v);
    hk_port_write(buf + i, sizeof buf - i);
}

#endif /* HK_PORT_CONSOLE_H */
