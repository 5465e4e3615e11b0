#!/usr/bin/env bash
# Brings the recorded drum kits of the docs/results.md, "Real recordings" into DIR and imports them as a
# custom dataset (DIR/annotations_final.csv, DIR/sources.csv; audio under DIR/kits). The kits
# come from Debian's hydrogen-drumkits package at one pinned version, checked by its sha256, so
# every user scores the same recordings. Nothing of it is committed.
#   scripts/get_drumkits.sh [DIR] [TAGBENCH]   (make drums calls it)
set -euo pipefail
DIR=${1:-resources/drumkits}
TAGBENCH=${2:-.venv/bin/tagbench}
VERSION=2017.09.19~dfsg-1
SHA256=6ea3c6df9a67762e2362f946c695e619859126b19fbccf32a2e8f07dfd03b2f4
DEB=hydrogen-drumkits_${VERSION}_all.deb

mkdir -p "$DIR"
if [ ! -f "$DIR/$DEB" ]; then
    (cd "$DIR" && apt-get download "hydrogen-drumkits=$VERSION") || {
        echo "get_drumkits: 'apt-get download hydrogen-drumkits=$VERSION' failed: run" \
             "'apt-get update' first, or put $DEB (any Debian mirror) into $DIR" >&2
        exit 2
    }
fi
if ! echo "$SHA256  $DIR/$DEB" | sha256sum --check --status; then
    echo "get_drumkits: $DIR/$DEB: sha256 differs from $SHA256 (another build of the" \
         "package?): delete it and run again" >&2
    exit 2
fi
if [ ! -f "$DIR/deb/.unpacked" ]; then
    command -v dpkg-deb >/dev/null || {
        echo "get_drumkits: dpkg-deb not found: unpack $DIR/$DEB into $DIR/deb by hand" \
             "(ar x, then tar xf data.tar.xz) and touch $DIR/deb/.unpacked" >&2
        exit 2
    }
    rm -rf "$DIR/deb"
    dpkg-deb -x "$DIR/$DEB" "$DIR/deb"
    touch "$DIR/deb/.unpacked"
fi
ln -sfn deb/usr/share/hydrogen/data/drumkits "$DIR/kits"
"$TAGBENCH" import-drumkits "$DIR/kits" --out "$DIR"
