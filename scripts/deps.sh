#!/usr/bin/env bash
# Installs the system packages a make target needs, by group, pinned to Debian 12's series, only
# when missing.
#
# usage: scripts/deps.sh GROUP...     (e.g. scripts/deps.sh integration gstreamer)
#        scripts/deps.sh --list       (the groups and what each installs)
#
# Groups (each asked for by the make targets that need it):
#   integration  libnice and OpenSSL headers, pkg-config    (test-integration, example-libnice)
#   gstreamer    GStreamer 1.22: webrtcbin, its libnice ICE  (test-gstreamer, example-gstreamer)
#   docs         doxygen                                   (docs, test-docs)
#   valgrind     valgrind                                  (valgrind)
# A group whose probe passes (pkg-config finds the libraries, the tool is on PATH, the plugin is
# registered) installs nothing: a machine that got them another way is left alone. Otherwise the
# packages of the group that dpkg does not have are installed with apt-get, after `apt-get update`,
# waiting up to 10 minutes for another install's locks instead of failing.
# The Python tools (pytest, cmake, conan, twine...) are not here: the Makefile pip-installs them,
# pinned by scripts/requirements.txt, into target/venv.
# PCSTATE_DEPS_UNPINNED=1 installs the same packages unpinned (a Debian or Ubuntu other than 12).
set -euo pipefail

APT_LOCK=(-o DPkg::Lock::Timeout=600)

# group -> "package=version-pattern ..." (Debian 12 "bookworm" series)
declare -A PACKAGES=(
  [integration]="pkg-config=1.8.* libnice-dev=0.1.21* libssl-dev=3.0.*"
  [gstreamer]="pkg-config=1.8.* libnice-dev=0.1.21* libgstreamer1.0-dev=1.22.* libgstreamer-plugins-base1.0-dev=1.22.*
    libgstreamer-plugins-bad1.0-dev=1.22.* gstreamer1.0-plugins-base=1.22.* gstreamer1.0-plugins-good=1.22.*
    gstreamer1.0-plugins-bad=1.22.* gstreamer1.0-nice=0.1.21* gstreamer1.0-tools=1.22.*"
  [docs]="doxygen=1.9.*"
  [valgrind]="valgrind=1:3.19.*"
  # `make browser-traces` only. Not pinned: Debian ships both browsers as security updates and
  # drops older builds from the archive; each recording saves the browser version it was made with.
  [browsers]="chromium firefox-esr nftables iproute2"
)

# group -> a command that succeeds when what the group provides is already usable
probe() {
  case $1 in
    integration)
      command -v pkg-config >/dev/null && pkg-config --exists 'nice >= 0.1.18' 'nice < 0.2' 'openssl >= 3.0' ;;
    gstreamer)
      command -v pkg-config >/dev/null \
        && pkg-config --exists 'gstreamer-webrtc-1.0 >= 1.20' 'gstreamer-sdp-1.0 >= 1.20' 'nice >= 0.1.18' \
        && command -v gst-inspect-1.0 >/dev/null \
        && for e in webrtcbin rtpbin nicesrc dtlssrtpenc sctpenc; do
          # the nice plugin has libnice's version (0.1.x), not GStreamer's
          gst-inspect-1.0 --exists --atleast-version=0.1 $e || return 1
        done ;;
    docs) command -v doxygen >/dev/null ;;
    valgrind) command -v valgrind >/dev/null ;;
    browsers)
      command -v chromium >/dev/null && command -v firefox-esr >/dev/null && command -v nft >/dev/null \
        && command -v ip >/dev/null ;;
  esac
}

if [ "${1-}" = --list ]; then
  for g in "${!PACKAGES[@]}"; do echo "$g: $(echo ${PACKAGES[$g]})"; done | sort
  exit 0
fi
[ $# -gt 0 ] || { sed -n '5,6p' "$0" | sed 's/^# //' >&2; exit 2; }

# apt-get waiting for the locks of other installs: dpkg's with DPkg::Lock::Timeout, the package
# lists' and the archive cache's (which that option does not cover) by trying again, for up to
# 600 s in all.
apt_get() {
  local waited=0 out
  until out=$(apt-get "${APT_LOCK[@]}" "$@" 2>&1); do
    if ! grep -q -e 'Could not get lock' -e 'Unable to lock' <<<"$out" || [ $waited -ge 600 ]; then
      echo "$out" >&2
      return 1
    fi
    [ $waited -gt 0 ] || echo "deps.sh: waiting for another apt-get to finish"
    sleep 5
    waited=$((waited + 5))
  done
}

installed() { [ "$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null)" = installed ]; }

want=() groups=()
for g in "$@"; do
  [ -n "${PACKAGES[$g]+x}" ] || { echo "deps.sh: unknown group '$g' (groups: ${!PACKAGES[*]})" >&2; exit 2; }
  probe "$g" && continue
  groups+=("$g")
  for p in ${PACKAGES[$g]}; do
    name=${p%%=*}
    installed "$name" && continue
    [ "${PCSTATE_DEPS_UNPINNED:-}" = 1 ] && p=$name
    [[ " ${want[*]} " == *" $p "* ]] || want+=("$p")
  done
done
[ ${#groups[@]} -gt 0 ] || exit 0
if [ ${#want[@]} -eq 0 ]; then
  echo "deps.sh: the packages of ${groups[*]} are installed, but the check still fails:" >&2
  for g in "${groups[@]}"; do echo "  $g: ${PACKAGES[$g]}" >&2; done
  exit 1
fi
command -v apt-get >/dev/null || {
  echo "deps.sh: no apt-get here; install these (or their equivalents) for ${groups[*]}: ${want[*]}" >&2
  exit 1
}
[ "$(id -u)" = 0 ] || { echo "deps.sh: run as root to install ${want[*]} for ${groups[*]}" >&2; exit 1; }

echo "deps.sh: installing for ${groups[*]}: ${want[*]}"
export DEBIAN_FRONTEND=noninteractive
apt_get update -qq
apt_get install -y -qq --no-install-recommends "${want[@]}"
for g in "${groups[@]}"; do
  probe "$g" || { echo "deps.sh: $g: installed ${PACKAGES[$g]}, but the check still fails" >&2; exit 1; }
done
