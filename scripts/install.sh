#!/usr/bin/env bash
# install.sh install|uninstall ROOT PREFIX VERSION RELEASE_DIR STATIC_LIBS
# ROOT is $(DESTDIR)$(PREFIX). install records every file and every directory it creates in
# ROOT/share/pcstate/install-manifest.txt; uninstall removes exactly those (directories only when
# empty), so the prefix is left as it was.
set -euo pipefail
action=$1 root=$2 prefix=$3 version=${4:-} rel=${5:-} static_libs=${6:-}
manifest_rel=share/pcstate/install-manifest.txt
manifest="$root/$manifest_rel"

if [ "$action" = uninstall ]; then
  if [ ! -f "$manifest" ]; then
    echo "uninstall: no pcstate install manifest at $manifest" >&2
    exit 1
  fi
  # Reverse order: files before the directories that hold them, deepest directories first.
  tac "$manifest" | while read -r kind path; do
    case $kind in
      file) rm -f "$root/$path" ;;
      dir) rmdir "$root/$path" 2>/dev/null || true ;;
    esac
  done
  echo "uninstalled pcstate from $root"
  exit 0
fi

IFS=. read -r major minor _ <<<"$version"
entries=()
mkd() { # makes a directory under root with its parents, recording those it creates
  local rel=$1 missing=() d
  d=$rel
  while [ -n "$d" ] && [ "$d" != . ] && [ ! -d "$root/$d" ]; do
    missing=("$d" "${missing[@]}")
    d=$(dirname "$d")
  done
  if [ ! -d "$root" ]; then
    echo "install: prefix $root does not exist" >&2
    exit 1
  fi
  for m in "${missing[@]}"; do
    mkdir "$root/$m"
    entries+=("dir $m")
  done
}
put() { # src rel-dest mode
  mkd "$(dirname "$2")"
  install -m "$3" "$1" "$root/$2"
  entries+=("file $2")
}
gen() { # template rel-dest
  local tmp
  tmp=$(mktemp)
  sed -e "s|@PREFIX@|$prefix|g" -e "s|@VERSION@|$version|g" -e "s|@MAJOR@|$major|g" \
      -e "s|@MINOR@|$minor|g" -e "s|@STATIC_LIBS@|$static_libs|g" \
      -e "s|@CMAKE_STATIC_LIBS@|$(echo "$static_libs" | sed 's/-l//g; s/ /;/g')|g" "$1" > "$tmp"
  put "$tmp" "$2" 644
  rm -f "$tmp"
}
lnk() { # target rel-link
  ln -sfn "$1" "$root/$2"
  entries+=("file $2")
}

mkdir -p "$root"
put "$rel/libpcstate.so" "lib/libpcstate.so.$version" 755
lnk "libpcstate.so.$version" "lib/libpcstate.so.$major"
lnk "libpcstate.so.$major" "lib/libpcstate.so"
put "$rel/libpcstate.a" lib/libpcstate.a 644
put include/pcstate.h include/pcstate.h 644
put include/pcstate.hpp include/pcstate.hpp 644
gen packaging/pcstate.pc.in lib/pkgconfig/pcstate.pc
gen packaging/pcstateConfig.cmake.in lib/cmake/pcstate/pcstateConfig.cmake
gen packaging/pcstateConfigVersion.cmake.in lib/cmake/pcstate/pcstateConfigVersion.cmake
mkd "$(dirname "$manifest_rel")"
entries+=("file $manifest_rel")
printf '%s\n' "${entries[@]}" > "$manifest"
echo "installed pcstate $version into $root"
