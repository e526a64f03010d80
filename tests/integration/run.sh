#!/usr/bin/env bash
# Builds and runs the libnice + OpenSSL DTLS integration test against target/release/libpcstate.so.
# Installs libnice-dev, libssl-dev and pkg-config with scripts/deps.sh when pkg-config cannot find
# them. Called by `make test-integration` after `make build`.
set -euo pipefail
cd "$(dirname "$0")/../.."

scripts/deps.sh integration
echo "integration: libnice $(pkg-config --modversion nice), OpenSSL $(pkg-config --modversion openssl)"

mkdir -p target/c
CC=${CC:-gcc}
# shellcheck disable=SC2046  # pkg-config output is meant to be word-split
"$CC" -std=gnu11 -g -O1 -Wall -Wextra -Werror -Iinclude $(pkg-config --cflags nice openssl) \
    tests/integration/libnice_dtls.c tests/integration/libnice_restart.c tests/integration/harness.c \
    tests/integration/dtls.c -o target/c/integration_libnice \
    -L target/release -lpcstate -Wl,-rpath,'$ORIGIN/../release' $(pkg-config --libs nice openssl)

# The program bounds each scenario and itself (60 s); this is the last resort.
timeout --kill-after=5 80 target/c/integration_libnice
