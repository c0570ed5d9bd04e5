# Shared by the tools/ scripts: paths and error reporting.  Source it.
set -euo pipefail

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
. "$TOP/source.conf"
CPYTHON_SERIES=${CPYTHON_VERSION%.*}          # 3.13.5 -> 3.13
BUILD=${BUILD:-$TOP/build}
DOWNLOADS=$BUILD/downloads
SRC=$BUILD/src                                  # prepared source tree
OBJ=$BUILD/obj                                  # out-of-tree build
PATCHES=$TOP/patches/$CPYTHON_SERIES
OVERLAY=$TOP/overlay
CACHED_TARBALL=$DOWNLOADS/${DEBIAN_SOURCE_PACKAGE}_${CPYTHON_VERSION}.orig.tar.xz

die() {
    printf '%s: error: %s\n' "$(basename "$0")" "$*" >&2
    exit 1
}

note() {
    printf '%s: %s\n' "$(basename "$0")" "$*" >&2
}

# Print the patch names of the series, in order, skipping comments.
series_patches() {
    sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$PATCHES/series"
}

sha256_of() {
    sha256sum "$1" | cut -d' ' -f1
}
