#!/bin/sh
# Header test: the public headers must compile alone, as strict C99 and as
# C++, with every warning an error.
# usage: check-headers.sh CC CXX|none INCLUDEDIR...
set -eu
cc=$1 cxx=$2
shift 2
incs=""
for d in "$@"; do incs="$incs -I$d"; done
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
status=0

headers="spreaddiv.h"
for h in "$1"/spreaddiv/*.h; do headers="$headers spreaddiv/$(basename "$h")"; done

for h in $headers; do
  printf '#include <%s>\nint main(void) { return 0; }\n' "$h" > "$tmp/t.c"
  if ! $cc -std=c99 -pedantic -Wall -Wextra -Werror $incs -c "$tmp/t.c" -o "$tmp/t.o"; then
    echo "FAIL: $h does not compile alone as C99 -pedantic"; status=1
  fi
done

if [ "$cxx" = none ]; then
  echo "SKIP: no C++ compiler"; [ $status -eq 0 ] && exit 77
else
  printf '#include <spreaddiv.h>\nint main() { return spd_version_number() > 0 ? 0 : 1; }\n' > "$tmp/t.cpp"
  if ! $cxx -std=c++11 -pedantic -Wall -Wextra -Werror $incs -c "$tmp/t.cpp" -o "$tmp/t.o"; then
    echo "FAIL: spreaddiv.h does not compile as C++11 -pedantic"; status=1
  fi
fi
[ $status -eq 0 ] && echo "OK: $(echo $headers | wc -w) headers compile alone as C99 and as C++"
exit $status
