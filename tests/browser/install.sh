#!/usr/bin/env bash
# Installs what `make browser-traces` needs when missing: Debian's chromium and firefox-esr, nftables.
# Not pinned: Debian ships both browsers as security updates and drops older builds from the archive;
# each recording saves the exact browser version it was made with.
set -euo pipefail
missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v firefox-esr >/dev/null 2>&1 || missing+=(firefox-esr)
command -v nft >/dev/null 2>&1 || missing+=(nftables)
command -v ip >/dev/null 2>&1 || missing+=(iproute2)
if ((${#missing[@]})); then
    echo "browser-traces: installing ${missing[*]}"
    apt-get update -q -o DPkg::Lock::Timeout=600 >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q -o DPkg::Lock::Timeout=600 \
        --no-install-recommends "${missing[@]}" >/dev/null
fi
