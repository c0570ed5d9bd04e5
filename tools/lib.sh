# Shared by the tools/ scripts: paths and error reporting.  Source it.
set -euo pipefail

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
. "$TOP/source.conf"
if [ -z "${CPYTHON_SHA256:-}" ]; then
    printf '%s: error: CPython %s is not a release this series supports (source.conf: %s)\n' \
        "$(basename "$0")" "$CPYTHON_VERSION" \
        "$(sed -n 's/^\([0-9][0-9.]*\))$/\1/p' "$TOP/source.conf" | tr '\n' ' ')" >&2
    exit 1
fi
CPYTHON_SERIES=${CPYTHON_VERSION%.*}          # 3.13.5 -> 3.13
BUILD=${BUILD:-$TOP/build}
DOWNLOADS=$TOP/build/downloads                 # shared by every release
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

# The file of patch $1 for this release: patches/3.13/VERSION/NAME where a
# release needs its own copy (its context differs), else patches/3.13/NAME.
# An empty copy: the release has the change already (a fix backported to
# the older releases): nothing to apply.
patch_file() {
    if [ -f "$PATCHES/$CPYTHON_VERSION/$1" ]; then
        echo "$PATCHES/$CPYTHON_VERSION/$1"
    else
        echo "$PATCHES/$1"
    fi
}

sha256_of() {
    sha256sum "$1" | cut -d' ' -f1
}

# Download the files of Debian source package $1 in suite $2 (`apt-get
# source --download-only`) into $3/download, through a private apt
# configuration in $3 so that the machine's own sources stay untouched: one
# deb-src entry for the suite, on the same Debian archive the machine already
# uses (tools/debian-archive-entry; no host name is written in the
# repository).  On failure print what failed (and where its log is) and
# return 1: the caller adds its own advice.  The caller removes $3.  A
# fourth argument pins the Debian version of the package.
debian_source_download() {
    local package=$1 suite=$2 apt_dir=$3 version=${4:-}
    local wanted=$package/$suite
    [ -z "$version" ] || wanted=$package=$version
    rm -rf "$apt_dir"
    mkdir -p "$apt_dir/sources" "$apt_dir/lists/partial" \
             "$apt_dir/cache/archives/partial" "$apt_dir/download"
    "$TOP/tools/debian-archive-entry" "$suite" > "$apt_dir/sources/debian-src.sources" || {
        note "cannot derive a deb-src entry for $suite from /etc/apt"
        return 1
    }
    touch "$apt_dir/empty.list"
    local opts=(-q -o Dir::Etc::SourceList="$apt_dir/empty.list"
                -o Dir::Etc::SourceParts="$apt_dir/sources"
                -o Dir::State::Lists="$apt_dir/lists"
                -o Dir::Cache="$apt_dir/cache"
                -o APT::Sandbox::User=root)
    note "fetching $package from Debian $suite"
    apt-get "${opts[@]}" update >"$apt_dir/update.log" 2>&1 || {
        note "apt-get update failed (log: $apt_dir/update.log)"
        return 1
    }
    (cd "$apt_dir/download" && apt-get "${opts[@]}" source --download-only \
            "$wanted") >"$apt_dir/source.log" 2>&1 || {
        note "apt-get source $wanted failed (log: $apt_dir/source.log)"
        return 1
    }
}
