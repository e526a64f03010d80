#!/usr/bin/env bash
# Builds and runs the libnice example against target/release/libpcstate.so (`make example-libnice`).
# Installs libnice-dev, libssl-dev and pkg-config with scripts/deps.sh when pkg-config cannot find them.
set -euo pipefail
cd "$(dirname "$0")/../.."

scripts/deps.sh integration

mkdir -p target/c
# shellcheck disable=SC2046  # pkg-config output is meant to be word-split
${CC:-gcc} -std=gnu11 -Wall -Wextra -Werror -Iinclude $(pkg-config --cflags nice openssl) \
    examples/libnice/libnice_call.c -o target/c/libnice_call \
    -L target/release -lpcstate -Wl,-rpath,'$ORIGIN/../release' $(pkg-config --libs nice openssl)
timeout 30 target/c/libnice_call
