#!/usr/bin/env bash
# Packaging: the ABI policy (SONAME, links), lean artifacts, install/uninstall without cargo,
# LIBDIR/INCLUDEDIR and relocation, the pkg-config and CMake consumers, cargo-c when present, and a
# fresh copy of the repository pip-installed into a brand-new venv. Run by `make test-packaging`
# after `make build` and `make wheel`.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
MAKE=${MAKE:-make}
CMAKE=${CMAKE:-cmake}
CXX=${CXX:-g++}
PYTHON=${PYTHON:-python3}
VPY=${VPY:-$repo/target/venv/bin/python}              # the venv with the pinned tools
PY_CARGO=${PY_CARGO:-$repo/target/python-cargo}        # cargo's cache for Python builds
REQUIREMENTS=${REQUIREMENTS:-$repo/scripts/requirements.txt}
WHEELS=${WHEELS:-target/wheels}
DEBUGINFO=${DEBUGINFO:-}
unset MAKEFLAGS MFLAGS PCSTATE_LIBRARY
version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)
IFS=. read -r major minor _ <<<"$version"
if [ "$major" = 0 ]; then soname=libpcstate.so.0.$minor; else soname=libpcstate.so.$major; fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0 fail=0 skip=0
ok() { echo "ok: $*"; pass=$((pass + 1)); }
die() { echo "FAILED: $*" >&2; fail=$((fail + 1)); echo "packaging: $pass passed, $fail failed"; exit 1; }
t0=$(date +%s)
lap() { local now; now=$(date +%s); secs="($((now - t0)) s)"; t0=$now; } # secs: since the last lap

soname_of() { readelf -d "$1" | sed -n 's/.*Library soname: \[\(.*\)\]/\1/p'; }
# Stripped: no symbol table and no debug sections (shared library); no debug sections and no
# embedded LLVM bitcode (archive: its symbol tables are what a linker needs).
stripped_so() { ! readelf -S -W "$1" | grep -qE ' \.(symtab|debug_|zdebug)'; }
stripped_a() { ! objdump -h "$1" | grep -qE ' \.(debug_|zdebug|llvmbc)'; }

# ---- the build output ----------------------------------------------------------------------------
so=target/release/libpcstate.so a=target/release/libpcstate.a
[ "$(soname_of $so)" = "$soname" ] || die "$so has SONAME '$(soname_of $so)', the policy wants $soname"
[ "$(readlink target/release/$soname)" = libpcstate.so ] || die "no target/release/$soname -> libpcstate.so"
stale=$(find target/release -maxdepth 1 -type l -name 'libpcstate.so.*' ! -name "$soname")
[ -z "$stale" ] || die "stale links beside the build output: $stale"
ok "build output: SONAME $soname, link target/release/$soname"
if [ "$DEBUGINFO" = 1 ]; then
  echo "skip: stripping checks (DEBUGINFO=1 keeps debug info)"; skip=$((skip + 1))
else
  stripped_so $so || die "$so is not stripped"
  stripped_a $a || die "$a has debug sections or bitcode"
  ok "build output stripped: libpcstate.so $(stat -c %s $so) bytes, libpcstate.a $(stat -c %s $a) bytes"
fi

# ---- install without cargo, consumers, uninstall -----------------------------------------------------
# A PATH without cargo (as root's under sudo): install must only copy what the build made.
nocargo=
IFS=: read -r -a dirs <<<"$PATH"
for d in "${dirs[@]}"; do [ -x "$d/cargo" ] || nocargo=${nocargo:+$nocargo:}$d; done
(PATH=$nocargo; command -v cargo >/dev/null) && die "could not hide cargo from PATH"
prefix=$tmp/prefix
mkdir -p "$prefix/lib" "$prefix/share/doc"
echo keep > "$prefix/lib/other-library.txt"
before=$(cd "$prefix" && find . | sort)
PATH=$nocargo $MAKE -s install PREFIX="$prefix" > /dev/null
want="./include/pcstate.h ./include/pcstate.hpp ./lib/cmake/pcstate/pcstateConfig.cmake
./lib/cmake/pcstate/pcstateConfigVersion.cmake ./lib/libpcstate.a ./lib/libpcstate.so
./lib/libpcstate.so.$version ./lib/$soname ./lib/pkgconfig/pcstate.pc ./share/pcstate/install-manifest.txt"
got=$(cd "$prefix" && find . \( -type f -o -type l \) ! -name other-library.txt | sort | tr '\n' ' ')
[ "$got" = "$(echo $want | tr ' ' '\n' | sort | tr '\n' ' ')" ] || die "installed files: $got"
[ "$(readlink "$prefix/lib/libpcstate.so")" = "$soname" ] \
  && [ "$(readlink "$prefix/lib/$soname")" = "libpcstate.so.$version" ] || die "links"
lib=$prefix/lib/libpcstate.so.$version
[ "$(soname_of "$lib")" = "$soname" ] || die "installed SONAME"
if [ "$DEBUGINFO" != 1 ]; then
  stripped_so "$lib" && stripped_a "$prefix/lib/libpcstate.a" || die "installed libraries not stripped"
fi
ok "install without cargo on PATH: files, links libpcstate.so -> $soname -> libpcstate.so.$version"
others=$(nm -D --defined-only "$lib" | awk '{print $3}' | grep -v '^pcstate_' || true)
[ -z "$others" ] || die "exported symbols other than pcstate_*: $others"
ok "exports only pcstate_* ($(nm -D --defined-only "$lib" | grep -c ' pcstate_') functions)"

export PKG_CONFIG_PATH=$prefix/lib/pkgconfig
[ "$(pkg-config --modversion pcstate)" = "$version" ] || die "pkg-config version"
pkg-config --static --libs pcstate | grep -q -- -lpthread || die "Libs.private"
grep -q '^prefix=${pcfiledir}/../..$' "$prefix/lib/pkgconfig/pcstate.pc" || die ".pc prefix is not relative"
! grep -qi 'url' "$prefix/lib/pkgconfig/pcstate.pc" || die ".pc names a URL"
ok "pkg-config: version $version, Libs.private, prefix from \${pcfiledir}"
cp -r examples/consumers/pkg-config "$tmp/pc"
$MAKE -s -C "$tmp/pc" > /dev/null
"$tmp/pc/consumer_shared" > /dev/null
needed=$(readelf -d "$tmp/pc/consumer_shared" | sed -n 's/.*(NEEDED).*\[\(libpcstate[^]]*\)\]/\1/p')
[ "$needed" = "$soname" ] || die "the shared consumer needs '$needed', not $soname"
"$tmp/pc/consumer_static" > /dev/null
readelf -d "$tmp/pc/consumer_static" | grep -q libpcstate && die "static consumer needs libpcstate.so"
ok "pkg-config consumer: shared (NEEDED $needed) and static"

"$CMAKE" -S examples/consumers/cmake -B "$tmp/cm" -DCMAKE_PREFIX_PATH="$prefix" > "$tmp/cmake.log" \
  || { cat "$tmp/cmake.log"; die "CMake configure"; }
"$CMAKE" --build "$tmp/cm" > "$tmp/cmake-build.log" || { cat "$tmp/cmake-build.log"; die "CMake build"; }
"$tmp/cm/consumer_c" > /dev/null && "$tmp/cm/consumer_cpp" > /dev/null && "$tmp/cm/consumer_static" > /dev/null
needed=$(readelf -d "$tmp/cm/consumer_c" | sed -n 's/.*(NEEDED).*\[\(libpcstate[^]]*\)\]/\1/p')
[ "$needed" = "$soname" ] || die "the CMake consumer needs '$needed', not $soname"
ok "CMake find_package consumer (C, C++, static), NEEDED $needed"
# The version file: same major.minor while 0.x (SameMinorVersion), same major from 1.0.
cmake_accepts() { # request -> 0 when find_package(pcstate <request>) finds this install
  local d=$tmp/cmv-$RANDOM
  mkdir -p "$d"
  printf 'cmake_minimum_required(VERSION 3.19)\nproject(v NONE)\nfind_package(pcstate %s QUIET)\nif(NOT pcstate_FOUND)\n  message(FATAL_ERROR "refused")\nendif()\n' "$1" > "$d/CMakeLists.txt"
  "$CMAKE" -S "$d" -B "$d/b" -DCMAKE_PREFIX_PATH="$prefix" > /dev/null 2>&1
}
if [ "$major" = 0 ]; then
  accept=("" "0.$minor" "$version" "0.$minor...0.$((minor + 5))" "0.$minor...<1.0")
  refuse=("0.$((minor + 1))" "0.$((minor + 8))" "0.$((minor - 1 < 0 ? 9 : minor - 1))" "1.0" "0.$minor.99")
else
  accept=("" "$major" "$major.0" "$version")
  refuse=("$((major + 1))" "$((major - 1))" "$major.$((minor + 1))")
fi
for r in "${accept[@]}"; do cmake_accepts "$r" || die "find_package(pcstate $r) refused $version"; done
for r in "${refuse[@]}"; do cmake_accepts "$r" && die "find_package(pcstate $r) accepted $version"; done
ok "CMake version check: accepts none, ${accept[*]:1}; refuses ${refuse[*]}"

"$CXX" -std=c++17 -Wall -Wextra -Werror -I"$prefix/include" examples/cpp/demo.cpp -o "$tmp/demo_cpp" \
  -L"$prefix/lib" -lpcstate -Wl,-rpath,"$prefix/lib"
"$tmp/demo_cpp" > "$tmp/demo_cpp.out" || die "C++ demo"
ok "C++ demo against the installed library ($(tail -1 "$tmp/demo_cpp.out"))"

PATH=$nocargo $MAKE -s uninstall PREFIX="$prefix" > /dev/null
after=$(cd "$prefix" && find . | sort)
[ "$before" = "$after" ] || { diff <(echo "$before") <(echo "$after"); die "uninstall left changes"; }
lap
ok "uninstall without cargo on PATH left the prefix as it was $secs"

# ---- LIBDIR, INCLUDEDIR, relocation, DESTDIR --------------------------------------------------------
moved=$tmp/moved
$MAKE -s install PREFIX="$tmp/orig" LIBDIR=lib/x86_64-linux-gnu INCLUDEDIR="$tmp/orig/include/pcstate-$major" > /dev/null
test -f "$tmp/orig/lib/x86_64-linux-gnu/$soname" && test -f "$tmp/orig/include/pcstate-$major/pcstate.h" \
  || die "LIBDIR/INCLUDEDIR not honoured"
mv "$tmp/orig" "$moved"
PKG_CONFIG_PATH=$moved/lib/x86_64-linux-gnu/pkgconfig
export PKG_CONFIG_PATH
[ -f "$(pkg-config --variable=includedir pcstate)/pcstate.h" ] || die "moved .pc: includedir"
cp -r examples/consumers/pkg-config "$tmp/pc2"
$MAKE -s -C "$tmp/pc2" > /dev/null && "$tmp/pc2/consumer_shared" > /dev/null && "$tmp/pc2/consumer_static" > /dev/null \
  || die "pkg-config consumer of the moved tree"
"$CMAKE" -S examples/consumers/cmake -B "$tmp/cm2" -DCMAKE_PREFIX_PATH="$moved" > "$tmp/cmake2.log" \
  && "$CMAKE" --build "$tmp/cm2" --target consumer_c > "$tmp/cmake2-build.log" || die "CMake consumer of the moved tree"
LD_LIBRARY_PATH=$moved/lib/x86_64-linux-gnu "$tmp/cm2/consumer_c" > /dev/null || die "CMake consumer of the moved tree runs"
$MAKE -s uninstall PREFIX="$moved" > /dev/null
[ -z "$(find "$moved" -mindepth 1)" ] || die "uninstall of the moved tree left: $(find "$moved" -mindepth 1)"
ok "LIBDIR=lib/x86_64-linux-gnu INCLUDEDIR=.../include/pcstate-$major, moved: pkg-config and CMake consumers build and run, uninstall empties it"

stage=$tmp/stage
$MAKE -s install PREFIX=/opt/pcstate DESTDIR="$stage" > /dev/null
test -f "$stage/opt/pcstate/lib/libpcstate.so.$version" || die "DESTDIR install"
grep -qx 'file lib/libpcstate.a' "$stage/opt/pcstate/share/pcstate/install-manifest.txt" || die "manifest"
$MAKE -s uninstall PREFIX=/opt/pcstate DESTDIR="$stage" > /dev/null
[ -z "$(find "$stage" -mindepth 1 -not -type d)" ] && [ -z "$(find "$stage/opt/pcstate" -mindepth 1)" ] \
  || die "DESTDIR uninstall"
lap
ok "DESTDIR staged install and uninstall $secs"

# ---- cargo-c, when installed ------------------------------------------------------------------------
if cargo cinstall --version > /dev/null 2>&1; then
  cprefix=$tmp/cargo-c
  CARGO_TARGET_DIR=$repo/target/cargo-c cargo cinstall --release --locked --prefix="$cprefix" --libdir=lib \
    > "$tmp/cinstall.log" 2>&1 || { cat "$tmp/cinstall.log"; die "cargo cinstall"; }
  # What cargo-c cannot make: the CMake package files; make install's manifest.
  cwant=$(echo $want | tr ' ' '\n' | grep -v -e /cmake/ -e install-manifest | sort | tr '\n' ' ')
  cgot=$(cd "$cprefix" && find . \( -type f -o -type l \) | sort | tr '\n' ' ')
  [ "$cgot" = "$cwant" ] || die "cargo cinstall files: $cgot; make install: $cwant"
  [ "$(soname_of "$cprefix/lib/libpcstate.so.$version")" = "$soname" ] || die "cargo-c SONAME"
  for l in libpcstate.so "$soname"; do
    [ "$(readlink -f "$cprefix/lib/$l")" = "$cprefix/lib/libpcstate.so.$version" ] || die "cargo-c link $l"
  done
  cmp -s include/pcstate.h "$cprefix/include/pcstate.h" && cmp -s include/pcstate.hpp "$cprefix/include/pcstate.hpp" \
    || die "cargo-c installed other headers"
  PKG_CONFIG_PATH=$cprefix/lib/pkgconfig
  cp -r examples/consumers/pkg-config "$tmp/pc3"
  $MAKE -s -C "$tmp/pc3" consumer_shared > /dev/null && "$tmp/pc3/consumer_shared" > /dev/null \
    || die "a program linked against the cargo-c install"
  lap
  ok "cargo cinstall --libdir=lib: make install's files but the CMake ones, SONAME $soname, the committed headers; a consumer runs $secs"
else
  echo "skip: cargo-c is not installed (cargo install cargo-c), so cargo cinstall is not compared"
  skip=$((skip + 1))
fi
unset PKG_CONFIG_PATH

# ---- Python: a fresh copy of the repository, a brand-new venv ----------------------------------------
copy=$tmp/repo
mkdir "$copy"
if git rev-parse --git-dir > /dev/null 2>&1; then
  git ls-files -z --cached --others --exclude-standard | while IFS= read -r -d '' f; do
    # what a clone has (and files not yet committed), not a library an editable install left
    [ -e "$f" ] && [ "$f" != bindings/python/pcstate/libpcstate.so ] && printf '%s\0' "$f"
  done | tar --null -T - -cf - | tar -xf - -C "$copy"
else # a source tree without git: everything but build output
  tar --exclude=./target --exclude=./.git --exclude=./bindings/python/build --exclude='*.egg-info' \
    --exclude=./bindings/python/pcstate/libpcstate.so --exclude=__pycache__ -cf - . | tar -xf - -C "$copy"
fi
[ ! -e "$copy/target" ] && [ -f "$copy/Cargo.toml" ] || die "fresh copy"
listing() { (cd "$copy" && find . | sort); }
clean_listing=$(listing)
"$PYTHON" -m venv "$tmp/venv"
# Only the crate's own units leave cargo's cache: dependencies stay built, pcstate builds anew.
rm -rf "$PY_CARGO"/release/deps/*pcstate* "$PY_CARGO"/release/.fingerprint/pcstate-* "$PY_CARGO"/release/build/pcstate-*
(cd "$copy" && CARGO_TARGET_DIR=$PY_CARGO PIP_CONSTRAINT=$REQUIREMENTS \
  "$tmp/venv/bin/python" -m pip install -q --disable-pip-version-check ./bindings/python) \
  > "$tmp/pip.log" 2>&1 || { cat "$tmp/pip.log"; die "pip install ./bindings/python in a fresh copy"; }
compute='
import pcstate, sys
pc = pcstate.PeerConnection(profile="w3c")
t = pc.add_transport()
t.ice_state = "connected"
t.dtls_state = "connected"
state = pc.connection_state
maps = [l.split()[-1] for l in open("/proc/self/maps") if "libpcstate" in l]
print(state, maps[0] if maps else "?")
pc.free()
sys.exit(0 if state == "connected" else 1)
'
site=$("$tmp/venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
out=$(cd "$tmp" && env -u PCSTATE_LIBRARY "$tmp/venv/bin/python" -c "$compute") || die "the installed package: $out"
[ "$out" = "connected $site/pcstate/libpcstate.so" ] || die "the installed package computed/loaded: $out"
lap
ok "fresh copy (no target/), new venv: pip install ./bindings/python built the library; import loads $site/pcstate/libpcstate.so and computes 'connected' $secs"
[ -d "$copy/bindings/python/build" ] || die "pip left no build/ (the clean check below would prove nothing)"
(cd "$copy" && PATH=$nocargo $MAKE -s clean)
[ "$(listing)" = "$clean_listing" ] || { diff <(echo "$clean_listing") <(listing); die "make clean left build leftovers"; }
ok "make clean removes every leftover of that build (build/, egg-info, ...)"

wheel=$(ls "$WHEELS"/pcstate-"$version"-*.whl)
case $wheel in *-none-any.whl) die "$wheel is tagged none-any" ;; esac
"$tmp/venv/bin/python" -m pip install -q --disable-pip-version-check --force-reinstall --no-deps "$wheel" \
  || die "pip install $wheel"
out=$(cd "$tmp" && env -u PCSTATE_LIBRARY "$tmp/venv/bin/python" -c "$compute") || die "the wheel: $out"
[ "$out" = "connected $site/pcstate/libpcstate.so" ] || die "the wheel computed/loaded: $out"
ok "the wheel $(basename "$wheel") installs, loads its own library and computes 'connected'"
echo "packaging: $pass passed, $fail failed, $skip skipped"
