#!/usr/bin/env bash
# Builds and runs the webrtcbin example against target/release/libpcstate.so; its arguments go to the
# program (`make example-gstreamer`; `make test-gstreamer` passes --check, with and without --audio).
# Installs GStreamer's webrtcbin and libnice with scripts/deps.sh when missing.
set -euo pipefail
cd "$(dirname "$0")/../.."
scripts/deps.sh gstreamer

mkdir -p target/c
pkgs="gstreamer-webrtc-1.0 gstreamer-sdp-1.0 nice"
# shellcheck disable=SC2046,SC2086  # pkg-config output is meant to be word-split
${CC:-gcc} -std=gnu11 -g -O1 -Wall -Wextra -Werror -Iinclude $(pkg-config --cflags $pkgs) \
    examples/gstreamer/webrtcbin_call.c -o target/c/webrtcbin_call \
    -L target/release -lpcstate -Wl,-rpath,'$ORIGIN/../release' $(pkg-config --libs $pkgs)
# The program stops itself after 20 s; this is the last resort.
timeout --kill-after=5 40 target/c/webrtcbin_call "$@"
