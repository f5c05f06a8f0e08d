#!/bin/sh
# Install Inkling from this unpacked folder; no network, no root needed for yourself.
#
#   ./install.sh                  for you: the app in ~/.local/lib/inkling, `inkling` in ~/.local/bin,
#                                 menu entry, icons and the .gguf file type in ~/.local/share
#   sudo ./install.sh --system    for everyone: /usr/local/lib/inkling, /usr/local/bin, /usr/local/share
#   ./install.sh --prefix DIR     the app in DIR/lib/inkling and DIR/bin (menu data as above)
#
# A per-user install honours XDG_DATA_HOME. Undo with DIR/lib/inkling/uninstall.sh.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
system=0
prefix=""
while [ $# -gt 0 ]; do
  case "$1" in
    --system) system=1 ;;
    --prefix) [ $# -ge 2 ] || { echo "install.sh: --prefix needs a folder" >&2; exit 2; }; prefix=$2; shift ;;
    --prefix=*) prefix=${1#--prefix=} ;;
    -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
    *) echo "install.sh: unknown option $1 (try --help)" >&2; exit 2 ;;
  esac
  shift
done
if [ "$system" = 1 ]; then
  prefix=${prefix:-/usr/local}
  data="$prefix/share"
else
  prefix=${prefix:-$HOME/.local}
  data=${XDG_DATA_HOME:-$HOME/.local/share}
fi
[ -x "$here/inkling/inkling" ] || { echo "install.sh: no inkling/inkling next to this script" >&2; exit 1; }
app="$prefix/lib/inkling"
manifest="$app/.installed-files"

if [ -f "$manifest" ] && [ -x "$app/uninstall.sh" ]; then
  "$app/uninstall.sh" --quiet   # an older version: replace it
fi
mkdir -p "$app" "$prefix/bin" "$data/applications" "$data/mime/packages"
cp -R "$here/inkling/." "$app/"
cp "$here/uninstall.sh" "$app/uninstall.sh"
chmod 755 "$app/uninstall.sh"
: > "$manifest"
note() { printf '%s\n' "$1" >> "$manifest"; }

ln -sf "$app/inkling" "$prefix/bin/inkling"
note "$prefix/bin/inkling"

# Exec= quoting per the Desktop Entry spec: inside "…", escape \ " ` $ with a backslash,
# then double every backslash (the value itself is an escaped string). A path with spaces just works.
exec_quoted=$(printf '%s' "$app/inkling" | sed -e 's/[\\"`$]/\\&/g' -e 's/\\/\\\\/g')
sed_safe=$(printf '%s' "\"$exec_quoted\"" | sed -e 's/[&#\\]/\\&/g')
desktop="$data/applications/inkling.desktop"
sed -e "s#@EXEC@#$sed_safe#" -e "s#@ICON@#inkling#" "$here/share/applications/inkling.desktop.in" > "$desktop"
note "$desktop"

for icon in "$here"/share/icons/hicolor/*/apps/inkling.*; do
  size=$(basename "$(dirname "$(dirname "$icon")")")
  mkdir -p "$data/icons/hicolor/$size/apps"
  cp "$icon" "$data/icons/hicolor/$size/apps/"
  note "$data/icons/hicolor/$size/apps/$(basename "$icon")"
done

cp "$here/share/mime/packages/inkling-gguf.xml" "$data/mime/packages/inkling-gguf.xml"
note "$data/mime/packages/inkling-gguf.xml"
printf 'data=%s\n' "$data" > "$app/.installed-data-dir"

# refresh the desktop's caches where the tools exist (all optional)
command -v update-mime-database >/dev/null 2>&1 && update-mime-database "$data/mime" >/dev/null 2>&1 || true
command -v update-desktop-database >/dev/null 2>&1 && update-desktop-database -q "$data/applications" || true
command -v gtk-update-icon-cache >/dev/null 2>&1 && gtk-update-icon-cache -q -t -f "$data/icons/hicolor" 2>/dev/null || true
if [ "$system" = 0 ] && command -v xdg-mime >/dev/null 2>&1; then
  xdg-mime default inkling.desktop application/x-gguf 2>/dev/null || true   # "Open with" for .gguf files
fi

echo "Inkling is installed in $app"
echo "  menu entry: $desktop"
echo "  command:    $prefix/bin/inkling   (check this computer: inkling selftest)"
echo "  uninstall:  $app/uninstall.sh"
