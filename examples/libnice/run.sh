#!/usr/bin/env bash
# Builds and runs the libnice example against target/release/libpcstate.so (`make example-libnice`).
# Installs libnice-dev, libssl-dev and pkg-config with apt-get when pkg-config cannot find them.
set -euo pipefail
cd "$(dirname "$0")/../.."

if ! command -v pkg-config >/dev/null 2>&1 || ! pkg-config --exists nice openssl; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        pkg-config 'libnice-dev=0.1.21*' 'libssl-dev=3.0.*' >/dev/null
fi

mkdir -p target/c
# shellcheck disable=SC2046  # pkg-config output is meant to be word-split
${CC:-gcc} -std=gnu11 -Wall -Wextra -Werror -Iinclude $(pkg-config --cflags nice openssl) \
    examples/libnice/libnice_call.c -o target/c/libnice_call \
    -L target/release -lpcstate -Wl,-rpath,'$ORIGIN/../release' $(pkg-config --libs nice openssl)
timeout 30 target/c/libnice_call
