#!/usr/bin/env bash
# Checks the API reference (make docs): it lists every function the shared library exports, and
# nothing the library lacks (each one a documented function in Doxygen's index, with an entry on the
# header's HTML page); the C++ wrapper's classes have pages; Doxygen and pdoc gave no warning; the
# Python reference exists and every public Python item has a docstring.
# usage: check_docs.sh LIBRARY DOCS_DIR (run with the venv's python as PYTHON)
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
if [ -s "$docs/warnings.log" ]; then
  echo "check_docs: Doxygen warnings (every public item of pcstate.h and pcstate.hpp needs a doc comment):" >&2
  cat "$docs/warnings.log" >&2
  exit 1
fi
for cls in PeerConnection Transport Event Error PeerStats GlobalStats; do
  [ -f "$docs/html/classpcstate_1_1$cls.html" ] || { echo "check_docs: no page for pcstate::$cls" >&2; exit 1; }
done
[ -f "$docs/python/index.html" ] && grep -q PeerConnection "$docs/python/pcstate.html" \
  || { echo "check_docs: no Python reference in $docs/python" >&2; exit 1; }
[ ! -s "$docs/pdoc.log" ] || { echo "check_docs: pdoc warnings:" >&2; cat "$docs/pdoc.log" >&2; exit 1; }
PCSTATE_LIBRARY=$(realpath "$lib") PYTHONPATH=bindings/python "${PYTHON:-python3}" scripts/check_python_docs.py
echo "docs: the API reference lists all $(echo "$exported" | wc -l) exported functions ($docs/html/index.html)"
