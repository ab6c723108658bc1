#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# 50-targets.sh - `make test` stage: the whole portable test suite on every
# target (Cortex-M0/M3/M4F, RV32/RV64, MIPS32 BE, s390x BE, x86-32) through
# scripts/targets.sh. Exit 0 all ran and passed; 77 no target's toolchain is
# installed (the reasons are printed); 1 a target failed. Under CI=true
# targets.sh counts every skipped target as a failure.
cd "$(dirname "$0")/../.."
exec bash scripts/targets.sh
