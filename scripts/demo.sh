#!/usr/bin/env bash
# scripts/demo.sh - behind `make demo`: builds and runs the basic example.
set -eu
cd "$(dirname "$0")/.."
cmake -S . -B build/release -DCMAKE_BUILD_TYPE=RelWithDebInfo -DHK_BUILD_TESTS=OFF >/dev/null
cmake --build build/release -j --target hk_example_basic >/dev/null
./build/release/examples/hk_example_basic
