#!/bin/sh
# Install test: `meson install` into a DESTDIR, then build and run a host
# program against the staged install the way a user would.
# usage: install-consumer.sh pkg-config|cmake BUILDDIR SRCDIR SANITIZE CC
set -eu
mode=$1 build=$2 src=$3 sanitize=$4 cc=$5
stage=$(mktemp -d "$build/install-test-$mode.XXXXXX")
trap 'rm -rf "$stage"' EXIT

meson install -C "$build" --no-rebuild --quiet --destdir "$stage/root" > "$stage/install.log"
pcfile=$(find "$stage/root" -name spreaddiv.pc)
[ -n "$pcfile" ] || { echo "FAIL: no spreaddiv.pc installed"; exit 1; }
libdir=$(dirname "$(dirname "$pcfile")")
for f in "$libdir/libspreaddiv.so.0" "$libdir/libspreaddiv.a"; do
  [ -e "$f" ] || { echo "FAIL: $f not installed"; exit 1; }
done
readelf -d "$libdir/libspreaddiv.so.0" | grep -q 'SONAME.*\[libspreaddiv\.so\.0\]' \
  || { echo "FAIL: SONAME is not libspreaddiv.so.0"; exit 1; }

# A sanitized library needs the sanitizer runtime in the host program too.
san=""
[ "$sanitize" = none ] || san="-fsanitize=$sanitize"

case $mode in
pkg-config)
  export PKG_CONFIG_PATH="$libdir/pkgconfig" PKG_CONFIG_SYSROOT_DIR="$stage/root"
  export PKG_CONFIG_LIBDIR="$libdir/pkgconfig"
  cflags=$(pkg-config --cflags spreaddiv)
  libs=$(pkg-config --libs spreaddiv)
  $cc $san $cflags "$src/consumer.c" -o "$stage/consumer" $libs
  LD_LIBRARY_PATH="$libdir" "$stage/consumer"
  # Static: the same flags with --static, libspreaddiv.a instead of the .so.
  slibs=$(pkg-config --static --libs spreaddiv | sed 's/-lspreaddiv/-l:libspreaddiv.a/')
  $cc $san $cflags "$src/consumer.c" -o "$stage/consumer-static" $slibs
  if ldd "$stage/consumer-static" | grep -q libspreaddiv; then
    echo "FAIL: the static consumer still loads libspreaddiv.so"; exit 1
  fi
  "$stage/consumer-static"
  ;;
cmake)
  prefix=$(dirname "$(dirname "$(find "$stage/root" -name spreaddiv.h -path '*/include/*' | head -n 1)")")
  cmake -S "$src/cmake" -B "$stage/cmake" -DCMAKE_PREFIX_PATH="$prefix" \
        -DCMAKE_C_COMPILER="$cc" -DCMAKE_C_FLAGS="$san" > "$stage/cmake.log" \
    || { cat "$stage/cmake.log"; exit 1; }
  cmake --build "$stage/cmake" > "$stage/build.log" || { cat "$stage/build.log"; exit 1; }
  LD_LIBRARY_PATH="$libdir" "$stage/cmake/consumer_shared"
  "$stage/cmake/consumer_static"
  ;;
*)
  echo "unknown mode $mode"; exit 2 ;;
esac
echo "OK: $mode consumer built and ran against the DESTDIR install"
