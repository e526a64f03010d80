#!/usr/bin/env bash
# The libraries a program linked against libpcstate.a needs are typed once, in the Makefile's
# STATIC_LIBS (the .pc, CMake files and tests take them from there); this checks them against what
# rustc says the static library needs (`--print native-static-libs`).
set -euo pipefail
cd "$(dirname "$0")/.."
want=$(sed -n 's/^STATIC_LIBS := //p' Makefile)
got=$(CARGO_TARGET_DIR=target/static-libs-check cargo rustc -q --lib --crate-type staticlib \
        -- --print native-static-libs 2>&1 | sed -n 's/.*native-static-libs: //p' | tail -1)
if [ "$want" != "$got" ]; then
    echo "Makefile STATIC_LIBS: '$want'"
    echo "rustc native-static-libs: '$got'"
    echo "static libraries: MISMATCH (update STATIC_LIBS in the Makefile)"
    exit 1
fi
echo "static libraries: $got (match rustc)"
