#!/bin/sh
# Remove an Inkling installed by install.sh: the app folder this script sits in and the
# files install.sh listed (launcher, menu entry, icons, .gguf file type). Your chats,
# documents and models (in ~/.local/share/Inkling) are kept.
set -eu
quiet=0
[ "${1:-}" = "--quiet" ] && quiet=1
app=$(cd "$(dirname "$0")" && pwd)
manifest="$app/.installed-files"
[ -f "$manifest" ] || { echo "uninstall.sh: $app was not installed by install.sh (no .installed-files)" >&2; exit 1; }
data=""
[ -f "$app/.installed-data-dir" ] && data=$(sed -n 's/^data=//p' "$app/.installed-data-dir")
while IFS= read -r file; do
  [ -n "$file" ] && rm -f "$file"
done < "$manifest"
if [ -n "$data" ]; then
  command -v update-mime-database >/dev/null 2>&1 && update-mime-database "$data/mime" >/dev/null 2>&1 || true
  command -v update-desktop-database >/dev/null 2>&1 && update-desktop-database -q "$data/applications" || true
fi
case "$app" in
  */lib/inkling) rm -rf "$app" ;;
  *) echo "uninstall.sh: not removing $app (unexpected location)" >&2 ;;
esac
[ "$quiet" = 1 ] || echo "Inkling is uninstalled (your chats and models are kept)."
