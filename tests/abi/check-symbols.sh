#!/bin/sh
# Exported-symbol test. Fails unless
#  1. every dynamic symbol the .so defines starts with spd_ and carries a
#     SPREADDIV_ version node,
#  2. the exported names, the names listed in the version script and the
#     SPD_API functions declared in the public headers are the same set.
# usage: check-symbols.sh LIBRARY.so MAPFILE INCLUDEDIR
set -eu
lib=$1 map=$2 incdir=$3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
status=0

# Version node entries (type A) are not symbols.
nm -D --defined-only "$lib" | awk '$2 != "A" {print $3}' | sort > "$tmp/raw"
if [ ! -s "$tmp/raw" ]; then
  echo "FAIL: $lib exports nothing"; exit 1
fi
if grep -v '^spd_' "$tmp/raw" > "$tmp/bad"; then
  echo "FAIL: exported symbols outside the spd_ namespace:"; cat "$tmp/bad"; status=1
fi
if grep -v '@@SPREADDIV_' "$tmp/raw" > "$tmp/bad"; then
  echo "FAIL: exported symbols without a SPREADDIV_ version node:"; cat "$tmp/bad"; status=1
fi
sed 's/@.*//' "$tmp/raw" | sort -u > "$tmp/exported"

# Names between "global:" and "local:" in the map, without comments.
sed 's,/\*.*\*/,,g' "$map" | awk '/global:/ {on=1; next} /local:/ {on=0} on' \
  | tr -d ' \t;' | grep -v '^$' | sort -u > "$tmp/mapped"

# Public functions: the name before the first "(" of every statement that
# carries SPD_API (headers joined and split at ';' so wrapped declarations
# and their doc comments form one statement each).
find "$incdir" -name '*.h' -exec cat {} + | tr '\n' ' ' | tr ';' '\n' \
  | grep 'SPD_API' | sed 's/.*SPD_API//' \
  | sed -n 's/^[^(]*[*[:space:]]\(spd_[a-z0-9_]*\)[[:space:]]*(.*/\1/p' \
  | sort -u > "$tmp/declared"

for pair in "exported mapped" "exported declared"; do
  set -- $pair
  if ! diff -u "$tmp/$1" "$tmp/$2" > "$tmp/diff"; then
    echo "FAIL: $1 and $2 symbol lists differ:"; cat "$tmp/diff"; status=1
  fi
done
[ $status -eq 0 ] && echo "OK: $(wc -l < "$tmp/exported") symbols, all spd_*, all versioned, map and headers agree"
exit $status
