#!/bin/sh
# SPDX-License-Identifier: MIT
# qemu-run.sh - heapkit's CMAKE_CROSSCOMPILING_EMULATOR wrapper for QEMU:
#   qemu-run.sh QEMU-BINARY ARGS... PROGRAM
# Runs QEMU with no display, monitor or serial unless ARGS ask for them,
# stdin from /dev/null (QEMU's stdio chardev fails when CI closes stdin) and
# under `timeout`, so a hung target fails instead of stalling ctest.
# HK_QEMU_TIMEOUT overrides the limit (seconds, default 600).
exec timeout "${HK_QEMU_TIMEOUT:-600}" "$@" </dev/null
