#!/usr/bin/env bash
# Checks that the API reference (make docs) lists every function the shared library exports, and
# nothing the library lacks: each one is a documented function in Doxygen's index and has an entry
# on the header's HTML page.
# usage: check_docs.sh LIBRARY DOCS_DIR
set -euo pipefail
lib=$1 docs=$2
page=$docs/html/pcstate_8h.html index=$docs/xml/index.xml
[ -f "$page" ] && [ -f "$index" ] || { echo "check_docs: no Doxygen output in $docs: run 'make docs'" >&2; exit 1; }
exported=$(nm -D --defined-only "$lib" | awk '$3 ~ /^pcstate_/ {print $3}' | sort -u)
[ -n "$exported" ] || { echo "check_docs: $lib exports no pcstate_ function" >&2; exit 1; }
documented=$(sed -n 's|.*kind="function"><name>\(pcstate_[a-z0-9_]*\)</name>.*|\1|p' "$index" | sort -u)
missing=$(comm -23 <(echo "$exported") <(echo "$documented"))
extra=$(comm -13 <(echo "$exported") <(echo "$documented"))
for f in $exported; do
  grep -q ">$f</a>" "$page" || missing="$missing $f(html)"
done
if [ -n "$missing$extra" ]; then
  [ -z "$missing" ] || echo "check_docs: exported but not in the reference:" $missing >&2
  [ -z "$extra" ] || echo "check_docs: in the reference but not exported:" $extra >&2
  exit 1
fi
echo "docs: the API reference lists all $(echo "$exported" | wc -l) exported functions ($docs/html/index.html)"
