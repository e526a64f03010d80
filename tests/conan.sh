#!/usr/bin/env bash
# The Conan recipe (packaging/conan) creates the shared and the static package from this source tree
# in a brand-new CONAN_HOME with no remote at all, and its test_package (CMake, C and C++) links
# pcstate::pcstate to each: the shared one loads libpcstate.so by its SONAME, the static one carries
# the library in the program. Run by `make test-conan` with the pinned Conan and CMake of the venv.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
VENV_BIN=${VENV_BIN:-$repo/target/venv/bin}
export PATH=$VENV_BIN:$PATH                     # conan and cmake, pinned
export CONAN_HOME=$repo/target/conan/home       # brand-new every run
export CARGO_TARGET_DIR=$repo/target/conan/cargo # one cargo build serves both packages, and the next run
tests=$repo/target/conan/test                   # the test_package's CMake builds
version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)
IFS=. read -r major minor _ <<<"$version"
if [ "$major" = 0 ]; then soname=libpcstate.so.0.$minor; else soname=libpcstate.so.$major; fi
pass=0 fail=0
ok() { echo "ok: $*"; pass=$((pass + 1)); }
die() { echo "FAILED: $*" >&2; fail=$((fail + 1)); echo "conan: $pass passed, $fail failed"; exit 1; }

rm -rf "$CONAN_HOME" "$tests"
conan profile detect > /dev/null 2>&1
conan remote remove '*' > /dev/null
[ "$(conan remote list --format=json)" = "[]" ] || die "remotes left: $(conan remote list)"
ok "fresh CONAN_HOME $(conan --version | awk '{print $3}'), no remote"

create() { # label, options... -> the log in $tests/label.log
  local label=$1 t0=$SECONDS
  shift
  conan create packaging/conan --build=missing -c "tools.cmake.cmake_layout:test_folder=$tests/$label" \
    -c tools.cmake.cmaketoolchain:user_presets= "$@" \
    > "$tests.$label.log" 2>&1 || { tail -40 "$tests.$label.log"; die "conan create $*"; }
  secs=$((SECONDS - t0))
}
mkdir -p "$(dirname "$tests")"
create shared
grep -q "pcstate $version (C) from .*/lib/$soname: connectionState connected" "$tests.shared.log" \
  || die "the shared package's C consumer: $(grep 'pcstate .* (C)' "$tests.shared.log")"
grep -q "pcstate $version (C++): connectionState connected" "$tests.shared.log" || die "the C++ consumer"
ok "conan create (shared): pcstate::pcstate, the C consumer loads $soname, the C++ one runs ($secs s)"

create static -o 'pcstate/*:shared=False'
grep -q "pcstate $version (C) from [^ ]*/test_package: connectionState connected" "$tests.static.log" \
  || die "the static package's C consumer: $(grep 'pcstate .* (C)' "$tests.static.log")"
grep -q "pcstate $version (C++): connectionState connected" "$tests.static.log" || die "the C++ consumer"
ok "conan create (static): the library is inside the C consumer, the C++ one runs ($secs s)"

# Each package holds its own library and the headers, nothing else.
packages=$(conan list "pcstate/$version:*" --format=json | python3 -c '
import json, sys
for ref, recipe in json.load(sys.stdin)["Local Cache"].items():
    for revision in recipe["revisions"].values():
        for pid, package in revision["packages"].items():
            print(package["info"]["options"]["shared"], ref + ":" + pid)')
for opt in True False; do
  ref=$(echo "$packages" | awk -v o=$opt '$1 == o {print $2}')
  [ -n "$ref" ] || die "no package with shared=$opt: $packages"
  files=$(cd "$(conan cache path "$ref")" && find . \( -type f -o -type l \) ! -name 'conan*' | sort | tr '\n' ' ')
  if [ $opt = True ]; then
    want="./lib/$soname ./lib/libpcstate.so ./lib/libpcstate.so.$version"
  else
    want="./lib/libpcstate.a ./lib/native-static-libs.txt"
  fi
  want=$(printf '%s\n' ./include/pcstate.h ./include/pcstate.hpp ./licenses/LICENSE $want | sort | tr '\n' ' ')
  [ "$files" = "$want" ] || die "package shared=$opt holds: $files"
done
ok "the packages hold the headers and the one library each (shared: $soname and its links)"
echo "conan: $pass passed, $fail failed"
