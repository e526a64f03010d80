#!/bin/sh
# Compile-time test of pcstate.hpp: it compiles cleanly under warnings stricter than the build's, in C++17 and C++20.
# Usage (from the repository root): CXX=g++ tests/cpp/warnings.sh
# The header included with -I (not as a system header), and one use of each template (on_event),
# under -Wshadow (pcstate_peer_stats names a function and a struct tag), -Wconversion,
# -Wsign-conversion, -Wold-style-cast and -Wnon-virtual-dtor, with -Werror.
set -eu
CXX=${CXX:-g++}
FLAGS="-pedantic -Wall -Wextra -Werror -Wshadow -Wconversion -Wsign-conversion -Wold-style-cast -Wnon-virtual-dtor"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cat > "$tmp/use.cpp" <<'CPP'
#include "pcstate.hpp"
int main() {
    pcstate::Config config;
    config.history = true;
    pcstate::PeerConnection pc(config);
    int n = 0;
    pc.on_event([&n](const pcstate::Event &) { ++n; });
    const pcstate::PeerStats s = pc.stats();
    const pcstate::GlobalStats g = pcstate::global_stats();
    return static_cast<int>(pc.history().size() + s.entered(pcstate::ConnectionState::New) + g.live_peers()) + n;
}
CPP
for std in c++17 c++20; do
  $CXX -std=$std $FLAGS -Iinclude -fsyntax-only "$tmp/use.cpp" || { echo "warnings test: $std failed" >&2; exit 1; }
done
echo "warnings test: pcstate.hpp compiles cleanly under $FLAGS (C++17, C++20)"
