#!/bin/sh
# Bad-input matrix coverage. Fails if a function exported by the shared
# library has no row BI(name, ...) or BI_OP(name, ...) in the matrix
# sources (tests/test_badinput.c, and any further matrix files given), or
# if a row names a function the library does not export (a stale row).
# usage: check-badinput-coverage.sh LIBRARY.so MATRIX.c...
set -eu
lib=$1
shift
[ $# -ge 1 ] || { echo "usage: $0 LIBRARY.so MATRIX.c..."; exit 2; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

nm -D --defined-only "$lib" | awk '$2 != "A" {print $3}' | sed 's/@.*//' \
  | sort -u > "$tmp/exported"
if [ ! -s "$tmp/exported" ]; then
  echo "FAIL: $lib exports nothing"; exit 1
fi
cat "$@" | sed -n 's/.*\<BI\(_OP\)\?(\(spd_[a-z0-9_]*\),.*/\2/p' | sort -u > "$tmp/rows"

status=0
if comm -23 "$tmp/exported" "$tmp/rows" > "$tmp/missing" && [ -s "$tmp/missing" ]; then
  echo "FAIL: exported functions without a bad-input matrix row:"
  sed 's/^/  /' "$tmp/missing"
  status=1
fi
if comm -13 "$tmp/exported" "$tmp/rows" > "$tmp/stale" && [ -s "$tmp/stale" ]; then
  echo "FAIL: matrix rows naming functions the library does not export:"
  sed 's/^/  /' "$tmp/stale"
  status=1
fi
echo "$(wc -l < "$tmp/exported") exported functions, $(wc -l < "$tmp/rows") matrix rows"
exit $status
