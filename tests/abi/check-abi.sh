#!/bin/sh
# ABI test: compare the freshly built library with the committed baseline.
# abidiff's exit status is a bit mask (1 error, 2 usage, 4 change, 8
# incompatible change); with --no-added-syms additions pass, and anything
# else non-zero (a removal, a changed type or signature, a new SONAME) fails.
# usage: check-abi.sh BASELINE.abi LIBRARY.so PUBLIC_HEADER_DIR
set -u
baseline=$1 lib=$2 headers=$3
if ! readelf -S "$lib" | grep -q '\.debug_info'; then
  echo "FAIL: $lib has no debug info: abidiff could not see types (build with -g)"
  exit 1
fi
abidiff --no-added-syms --drop-private-types --headers-dir2 "$headers" \
        "$baseline" "$lib"
rc=$?
if [ $rc -ne 0 ]; then
  echo "FAIL: ABI differs from $baseline (abidiff status $rc)."
  echo "If the change is intended and allowed by doc/abi.md, regenerate the"
  echo "baseline with: ninja -C <builddir> abi-baseline"
  exit 1
fi
echo "OK: ABI compatible with $baseline"
