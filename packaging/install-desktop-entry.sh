#!/usr/bin/env sh
# Add Inkling to the Linux application menu (per user). Usage:
#   packaging/install-desktop-entry.sh [path-to-inkling-executable]
# Default: the `inkling` of this checkout's .venv, or of a PyInstaller bundle in dist/.
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
exe=${1:-}
[ -n "$exe" ] || { [ -x "$here/dist/inkling/inkling" ] && exe="$here/dist/inkling/inkling"; } || true
[ -n "$exe" ] || exe="$here/.venv/bin/inkling"
[ -x "$exe" ] || { echo "no inkling executable at $exe (run python3 dev.py first)" >&2; exit 1; }
target="${XDG_DATA_HOME:-$HOME/.local/share}/applications/inkling.desktop"
mkdir -p "$(dirname "$target")"
sed -e "s#@EXEC@#$exe#" -e "s#@ICON@#$here/resources/inkling.svg#" "$here/packaging/inkling.desktop" > "$target"
echo "installed $target"
