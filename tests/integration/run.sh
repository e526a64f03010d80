#!/usr/bin/env bash
# Builds and runs the libnice + OpenSSL DTLS integration test against target/release/libpcstate.so.
# Installs libnice-dev, libssl-dev and pkg-config with apt-get (pinned to Debian 12's series) only
# when pkg-config cannot find them. Called by `make test-integration` after `make build`.
set -euo pipefail
cd "$(dirname "$0")/../.."

missing=()
command -v pkg-config >/dev/null 2>&1 || missing+=(pkg-config)
if ! command -v pkg-config >/dev/null 2>&1 || ! pkg-config --exists 'nice >= 0.1.18' 'nice < 0.2'; then
    missing+=('libnice-dev=0.1.21*')
fi
if ! command -v pkg-config >/dev/null 2>&1 || ! pkg-config --exists 'openssl >= 3.0'; then
    missing+=('libssl-dev=3.0.*')
fi
if ((${#missing[@]})); then
    echo "integration: installing ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
echo "integration: libnice $(pkg-config --modversion nice), OpenSSL $(pkg-config --modversion openssl)"

mkdir -p target/c
CC=${CC:-gcc}
# shellcheck disable=SC2046  # pkg-config output is meant to be word-split
"$CC" -std=gnu11 -g -O1 -Wall -Wextra -Werror -Iinclude $(pkg-config --cflags nice openssl) \
    tests/integration/libnice_dtls.c tests/integration/harness.c \
    tests/integration/dtls.c -o target/c/integration_libnice \
    -L target/release -lpcstate -Wl,-rpath,'$ORIGIN/../release' $(pkg-config --libs nice openssl)

# The program bounds each scenario and itself (50 s); this is the last resort.
timeout --kill-after=5 80 target/c/integration_libnice
