#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# mpu-cortex-m33 - heapkit's MPU test image (ports/mpu/, docs/mpu.md) for
# scripts/targets.sh: ARMv8-M PMSAv8 MPU (Secure), qemu-system-arm -M mps2-an505: 5 unprivileged threads in MPU domains.
set -u
here=$(cd "$(dirname "$0")" && pwd)
case ${1:-} in
describe) echo "ARMv8-M PMSAv8 MPU (Secure), qemu-system-arm -M mps2-an505: 5 unprivileged threads in MPU domains, stack guards, fault recovery" ;;
packages) echo "gcc-arm-none-eabi qemu-system-arm" ;;
missing)
    for cmd in arm-none-eabi-gcc arm-none-eabi-nm arm-none-eabi-size qemu-system-arm; do
        command -v "$cmd" >/dev/null 2>&1 || { echo "$cmd not found"; exit 0; }
    done ;;
run) exec bash "$here/../../ports/mpu/run.sh" m33 "$2" "$3" ;;
*) echo "usage: $0 describe|packages|missing|run DIR LOG" >&2; exit 2 ;;
esac
