#!/usr/bin/env bash
# Installs (or uninstalls) what `make build` made; never builds, so `sudo make install` works.
#
#   install.sh install   needs DESTDIR PREFIX LIBDIR INCLUDEDIR VERSION RELEASE STATIC_LIBS
#   install.sh uninstall needs DESTDIR PREFIX
#
# LIBDIR and INCLUDEDIR are absolute, or relative to PREFIX. When both lie under PREFIX, the
# pkg-config and CMake files find everything relative to their own location, so the installed tree
# can be moved. Every file and every directory created is recorded (as an absolute path without
# DESTDIR; relative to PREFIX when under it) in PREFIX/share/pcstate/install-manifest.txt;
# uninstall removes exactly those (directories only when empty), so the prefix is left as it was.
set -euo pipefail
action=${1:-}
: "${PREFIX:?PREFIX is not set}"
DESTDIR=${DESTDIR:-}
manifest_path=$PREFIX/share/pcstate/install-manifest.txt
manifest=$DESTDIR$manifest_path

if [ "$action" = uninstall ]; then
  if [ ! -f "$manifest" ]; then
    echo "uninstall: no pcstate install manifest at $manifest" >&2
    exit 1
  fi
  # Reverse order: files before the directories that hold them, deepest directories first.
  tac "$manifest" | while read -r kind path; do
    case $path in /*) ;; *) path=$PREFIX/$path ;; esac
    case $kind in
      file) rm -f "$DESTDIR$path" ;;
      dir) rmdir "$DESTDIR$path" 2>/dev/null || true ;;
    esac
  done
  echo "uninstalled pcstate from $DESTDIR$PREFIX"
  exit 0
fi
[ "$action" = install ] || { echo "usage: install.sh install|uninstall" >&2; exit 2; }

: "${VERSION:?}" "${RELEASE:?}" "${LIBDIR:?}" "${INCLUDEDIR:?}"
STATIC_LIBS=${STATIC_LIBS:-}
case $PREFIX in /*) ;; *) echo "install: PREFIX must be absolute, not '$PREFIX'" >&2; exit 1 ;; esac
case $LIBDIR in /*) ;; *) LIBDIR=$PREFIX/$LIBDIR ;; esac
case $INCLUDEDIR in /*) ;; *) INCLUDEDIR=$PREFIX/$INCLUDEDIR ;; esac

IFS=. read -r major minor _ <<<"$VERSION"
# The ABI policy (docs/packaging.md, "Versions and ABI"): SONAME libpcstate.so.0.MINOR while 0.x, then
# libpcstate.so.MAJOR.
if [ "$major" = 0 ]; then abi=0.$minor; else abi=$major; fi
soname=libpcstate.so.$abi
so=$RELEASE/libpcstate.so
for f in "$so" "$RELEASE/libpcstate.a" include/pcstate.h include/pcstate.hpp; do
  [ -f "$f" ] || { echo "install: $f is missing: run 'make build' first" >&2; exit 1; }
done
built_soname=$(readelf -d "$so" | sed -n 's/.*Library soname: \[\(.*\)\]/\1/p')
if [ "$built_soname" != "$soname" ]; then
  echo "install: $so has SONAME '$built_soname', the policy wants '$soname': run 'make build'" >&2
  exit 1
fi
# Pointer size of the built library (ELF class 1: 32-bit, 2: 64-bit), for the CMake version check.
case $(od -An -t u1 -j4 -N1 "$so" | tr -d ' ') in 1) sizeof_void_p=4 ;; *) sizeof_void_p=8 ;; esac

# Relative paths from PREFIX when LIBDIR and INCLUDEDIR lie under it (relocatable files).
rel() { realpath -m --relative-to="$PREFIX" "$1"; }
libdir_rel=$(rel "$LIBDIR") includedir_rel=$(rel "$INCLUDEDIR")
up() { # "../" once per component of a relative path, without the last slash
  local p=$1 out=..
  while [ "$(dirname "$p")" != . ]; do out=$out/..; p=$(dirname "$p"); done
  echo "$out"
}
case $libdir_rel/$includedir_rel in
  ../*|*/../*)
    echo "install: LIBDIR or INCLUDEDIR is outside PREFIX: the .pc and CMake files use absolute paths"
    pc_prefix=$PREFIX pc_libdir=$LIBDIR pc_includedir=$INCLUDEDIR
    cmake_prefix=$PREFIX cmake_libdir=$LIBDIR cmake_includedir=$INCLUDEDIR
    ;;
  *)
    # pcfiledir is LIBDIR/pkgconfig; the CMake files are in LIBDIR/cmake/pcstate.
    pc_prefix="\${pcfiledir}/$(up "$libdir_rel/pkgconfig")"
    pc_libdir="\${prefix}/$libdir_rel" pc_includedir="\${prefix}/$includedir_rel"
    cmake_prefix="\${CMAKE_CURRENT_LIST_DIR}/$(up "$libdir_rel/cmake/pcstate")"
    cmake_libdir="\${_pcstate_prefix}/$libdir_rel" cmake_includedir="\${_pcstate_prefix}/$includedir_rel"
    ;;
esac

entries=()
mkd() { # makes a directory (absolute, without DESTDIR) with its parents, recording those it creates
  local d=$1 missing=()
  while [ "$d" != / ] && [ ! -d "$DESTDIR$d" ]; do
    missing=("$d" "${missing[@]}")
    d=$(dirname "$d")
  done
  for m in "${missing[@]}"; do
    mkdir "$DESTDIR$m"
    entries+=("dir $m")
  done
}
put() { # src dest mode
  mkd "$(dirname "$2")"
  install -m "$3" "$1" "$DESTDIR$2"
  entries+=("file $2")
}
gen() { # template dest
  local tmp
  tmp=$(mktemp)
  sed -e "s|@VERSION@|$VERSION|g" -e "s|@MAJOR@|$major|g" -e "s|@MINOR@|$minor|g" \
      -e "s|@ABI@|$abi|g" -e "s|@SONAME@|$soname|g" -e "s|@STATIC_LIBS@|$STATIC_LIBS|g" \
      -e "s|@CMAKE_STATIC_LIBS@|$(echo "$STATIC_LIBS" | sed 's/-l//g; s/ /;/g')|g" \
      -e "s|@SIZEOF_VOID_P@|$sizeof_void_p|g" \
      -e "s|@PC_PREFIX@|$pc_prefix|g" -e "s|@PC_LIBDIR@|$pc_libdir|g" \
      -e "s|@PC_INCLUDEDIR@|$pc_includedir|g" -e "s|@CMAKE_PREFIX@|$cmake_prefix|g" \
      -e "s|@CMAKE_LIBDIR@|$cmake_libdir|g" -e "s|@CMAKE_INCLUDEDIR@|$cmake_includedir|g" \
      "$1" > "$tmp"
  put "$tmp" "$2" 644
  rm -f "$tmp"
}
lnk() { # target link
  ln -sfn "$1" "$DESTDIR$2"
  entries+=("file $2")
}

mkdir -p "$DESTDIR$PREFIX"
put "$so" "$LIBDIR/libpcstate.so.$VERSION" 755
lnk "libpcstate.so.$VERSION" "$LIBDIR/$soname"
lnk "$soname" "$LIBDIR/libpcstate.so"
put "$RELEASE/libpcstate.a" "$LIBDIR/libpcstate.a" 644
put include/pcstate.h "$INCLUDEDIR/pcstate.h" 644
put include/pcstate.hpp "$INCLUDEDIR/pcstate.hpp" 644
gen packaging/pcstate.pc.in "$LIBDIR/pkgconfig/pcstate.pc"
gen packaging/pcstateConfig.cmake.in "$LIBDIR/cmake/pcstate/pcstateConfig.cmake"
gen packaging/pcstateConfigVersion.cmake.in "$LIBDIR/cmake/pcstate/pcstateConfigVersion.cmake"
mkd "$(dirname "$manifest_path")"
entries+=("file $manifest_path")
# Paths under PREFIX are recorded relative to it, so a moved tree still uninstalls.
for e in "${entries[@]}"; do
  kind=${e%% *} path=${e#* }
  case $path in "$PREFIX"/*) path=${path#"$PREFIX"/} ;; esac
  echo "$kind $path"
done > "$manifest"
echo "installed pcstate $VERSION (SONAME $soname) into $DESTDIR$PREFIX"
