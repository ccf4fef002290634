#!/bin/sh
# Copies the client's sources into the dashboard's assets (the server embeds that folder and
# the dashboard imports /client/index.js). Run after every change to src/; the test
# test/assets-copy.test.mjs fails while the two copies differ.
set -eu
here="$(cd "$(dirname "$0")" && pwd)"
dest="$here/../../crates/assent-server/assets/client"
mkdir -p "$dest"
rm -f "$dest"/*.js
cp "$here"/src/*.js "$dest"/
echo "synced $(ls "$here"/src/*.js | wc -l) files to $dest"
