#!/usr/bin/env bash
# The crate is ready for crates.io: `cargo package` carries exactly the crate, its build script, the
# committed headers, README and LICENSE (nothing else of the repository), the manifest has the
# metadata crates.io shows, and `cargo publish --dry-run` packages it and builds the package on its
# own. (The Python sdist and wheel are checked with `twine check --strict` by `make wheel`.)
# Run by `make test-publish`; needs the crates.io index.
set -euo pipefail
cd "$(dirname "$0")/.."
pass=0 fail=0
ok() { echo "ok: $*"; pass=$((pass + 1)); }
die() { echo "FAILED: $*" >&2; fail=$((fail + 1)); echo "publish: $pass passed, $fail failed"; exit 1; }
CARGO=${CARGO:-cargo}

for key in description license readme rust-version keywords categories; do
  grep -q "^$key = " Cargo.toml || die "Cargo.toml [package] has no $key"
done
ok "Cargo.toml: description, license, readme, rust-version, keywords, categories"

# What the package holds: these files, then every file under src/ (and include/pcstate.abi.json
# once it exists); cargo adds .cargo_vcs_info.json (from a git checkout) and Cargo.toml.orig.
want=$( (printf '%s\n' Cargo.lock Cargo.toml Cargo.toml.orig LICENSE README.md build.rs cbindgen.toml \
  include/pcstate.h include/pcstate.hpp
  [ -f include/pcstate.abi.json ] && echo include/pcstate.abi.json
  git ls-files src 2>/dev/null || find src -type f) | sort)
got=$($CARGO package --list --allow-dirty 2>/dev/null | grep -v '^\.cargo_vcs_info\.json$' | sort)
if [ "$got" != "$want" ]; then
  diff <(echo "$want") <(echo "$got") || true
  die "cargo package --list (< wanted, > packaged)"
fi
ok "cargo package carries exactly the crate: $(echo "$got" | wc -l) files"

t0=$SECONDS
$CARGO publish --dry-run --allow-dirty > target/publish-dry-run.log 2>&1 \
  || { cat target/publish-dry-run.log; die "cargo publish --dry-run"; }
grep -q 'aborting upload due to dry run' target/publish-dry-run.log || die "no dry-run upload step"
packaged=$(grep -o 'Packaged .*' target/publish-dry-run.log)
ok "cargo publish --dry-run: $packaged, the package builds on its own ($((SECONDS - t0)) s)"
echo "publish: $pass passed, $fail failed"
