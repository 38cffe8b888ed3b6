#!/bin/sh
# Installs the Debian packages safegrid needs, if any is missing.
# As root it runs apt-get; otherwise it prints the one command to run.
set -e
PKGS="build-essential pkg-config libmicrohttpd-dev libjansson-dev libgeos-dev libsodium-dev
libsqlite3-dev sqlite3 python3 curl"
# The console: npm installs its front-end packages (a newer node may already
# be installed: then Debian's is not needed); its browser tests drive
# Debian's chromium headless, with CJK fonts to render the Chinese labels.
command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 || PKGS="$PKGS nodejs npm"
PKGS="$PKGS chromium fonts-noto-cjk"
missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" = 0 ]; then
	echo "installing:$missing"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq >/dev/null || true
	apt-get install -y -qq $missing >/dev/null
else
	echo "safegrid needs these Debian packages:$missing"
	echo "run:  sudo apt-get install -y$missing"
	exit 1
fi
