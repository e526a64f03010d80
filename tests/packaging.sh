#!/usr/bin/env bash
# Installs into a temporary prefix, builds and runs the consumers (pkg-config shared and static,
# CMake C/C++/static, the C++ demo), checks the SONAME and the exported symbols, a DESTDIR staged
# install, and that uninstall leaves the prefix exactly as it was.
set -euo pipefail
cd "$(dirname "$0")/.."
MAKE=${MAKE:-make}
CMAKE=${CMAKE:-cmake}
CXX=${CXX:-g++}
version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0
ok() { echo "ok: $*"; pass=$((pass + 1)); }

prefix=$tmp/prefix
mkdir -p "$prefix/lib" "$prefix/share/doc"
echo keep > "$prefix/lib/other-library.txt"
before=$(cd "$prefix" && find . | sort)

$MAKE -s install PREFIX="$prefix"
lib=$prefix/lib/libpcstate.so.$version
test -f "$lib" && test -L "$prefix/lib/libpcstate.so.0" && test -L "$prefix/lib/libpcstate.so"
test -f "$prefix/lib/libpcstate.a" && test -f "$prefix/include/pcstate.h" && test -f "$prefix/include/pcstate.hpp"
test -f "$prefix/lib/cmake/pcstate/pcstateConfig.cmake" && test -f "$prefix/lib/cmake/pcstate/pcstateConfigVersion.cmake"
ok "installed files"

soname=$(readelf -d "$lib" | sed -n 's/.*Library soname: \[\(.*\)\]/\1/p')
[ "$soname" = libpcstate.so.0 ] || { echo "SONAME is '$soname'"; exit 1; }
ok "SONAME $soname"
others=$(nm -D --defined-only "$lib" | awk '{print $3}' | grep -v '^pcstate_' || true)
[ -z "$others" ] || { echo "exported symbols other than pcstate_*: $others"; exit 1; }
count=$(nm -D --defined-only "$lib" | grep -c ' pcstate_')
ok "exports only pcstate_* ($count symbols)"

export PKG_CONFIG_PATH=$prefix/lib/pkgconfig
[ "$(pkg-config --modversion pcstate)" = "$version" ]
pkg-config --static --libs pcstate | grep -q -- -lpthread
ok "pkg-config version $version, Libs.private"
cp -r examples/consumers/pkg-config "$tmp/pc"
$MAKE -s -C "$tmp/pc"
"$tmp/pc/consumer_shared"
readelf -d "$tmp/pc/consumer_shared" | grep -q 'libpcstate.so.0'
"$tmp/pc/consumer_static"
if readelf -d "$tmp/pc/consumer_static" | grep -q libpcstate; then echo "static consumer needs libpcstate.so"; exit 1; fi
ok "pkg-config consumer, shared and static"

"$CMAKE" -S examples/consumers/cmake -B "$tmp/cm" -DCMAKE_PREFIX_PATH="$prefix" > "$tmp/cmake.log"
"$CMAKE" --build "$tmp/cm" > "$tmp/cmake-build.log"
"$tmp/cm/consumer_c" && "$tmp/cm/consumer_cpp" && "$tmp/cm/consumer_static"
ok "CMake find_package consumer (C, C++, static)"
# A request for a newer or another minor version is refused.
mkdir -p "$tmp/cmv"
printf 'cmake_minimum_required(VERSION 3.14)\nproject(v NONE)\nfind_package(pcstate 0.9 QUIET)\nif(pcstate_FOUND)\n  message(FATAL_ERROR "0.9 accepted")\nendif()\n' > "$tmp/cmv/CMakeLists.txt"
"$CMAKE" -S "$tmp/cmv" -B "$tmp/cmv/b" -DCMAKE_PREFIX_PATH="$prefix" > /dev/null
ok "CMake version check refuses 0.9"

"$CXX" -std=c++17 -Wall -Wextra -Werror -I"$prefix/include" examples/cpp/demo.cpp -o "$tmp/demo_cpp" \
  -L"$prefix/lib" -lpcstate -Wl,-rpath,"$prefix/lib"
"$tmp/demo_cpp" > "$tmp/demo_cpp.out"
ok "C++ demo against the installed library ($(tail -1 "$tmp/demo_cpp.out"))"

stage=$tmp/stage
$MAKE -s install PREFIX=/opt/pcstate DESTDIR="$stage"
grep -q '^prefix=/opt/pcstate$' "$stage/opt/pcstate/lib/pkgconfig/pcstate.pc"
$MAKE -s uninstall PREFIX=/opt/pcstate DESTDIR="$stage"
[ -z "$(find "$stage" -mindepth 1 -not -type d)" ] && [ -z "$(find "$stage/opt/pcstate" -mindepth 1)" ]
ok "DESTDIR staged install and uninstall"

$MAKE -s uninstall PREFIX="$prefix"
after=$(cd "$prefix" && find . | sort)
[ "$before" = "$after" ] || { diff <(echo "$before") <(echo "$after"); exit 1; }
ok "uninstall left the prefix as it was"
echo "packaging: $pass passed, 0 failed"
