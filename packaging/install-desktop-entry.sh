#!/usr/bin/env sh
# Add a development checkout's Inkling to the application menu (per user). Usage:
#   packaging/install-desktop-entry.sh [path-to-inkling-executable]
# Default: the `inkling` of this checkout's .venv. For the bundle use the tarball's install.sh.
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
exe=${1:-$here/.venv/bin/inkling}
[ -x "$exe" ] || { echo "no inkling executable at $exe (run python3 dev.py first)" >&2; exit 1; }
data=${XDG_DATA_HOME:-$HOME/.local/share}
target="$data/applications/inkling.desktop"
mkdir -p "$(dirname "$target")" "$data/mime/packages"
# Exec is quoted per the Desktop Entry spec, so a path with spaces works (see linux/install.sh)
quoted=$(printf '%s' "$exe" | sed -e 's/[\\"`$]/\\&/g' -e 's/\\/\\\\/g')
sed_safe=$(printf '%s' "\"$quoted\"" | sed -e 's/[&#\\]/\\&/g')
icon=$(printf '%s' "$here/resources/inkling.svg" | sed -e 's/[&#\\]/\\&/g')
sed -e "s#@EXEC@#$sed_safe#" -e "s#@ICON@#$icon#" "$here/packaging/linux/inkling.desktop" > "$target"
cp "$here/packaging/linux/inkling-gguf.xml" "$data/mime/packages/inkling-gguf.xml"
command -v update-mime-database >/dev/null 2>&1 && update-mime-database "$data/mime" >/dev/null 2>&1 || true
command -v update-desktop-database >/dev/null 2>&1 && update-desktop-database -q "$data/applications" || true
echo "installed $target"
