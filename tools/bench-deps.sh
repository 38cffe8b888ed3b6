#!/bin/sh
# Installs what the nearest-unit benchmark compares against, if missing:
# Redis (GEOSEARCH) with its C client, and PostgreSQL with PostGIS and libpq.
# Only bench/nearest needs these; everything else builds without them.
# As root it runs apt-get; otherwise it prints the one command to run.
set -e
PKGS="redis-server libhiredis-dev postgresql postgresql-15-postgis-3 libpq-dev"
missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" = 0 ]; then
	echo "installing:$missing"
	export DEBIAN_FRONTEND=noninteractive
	apt-get -o DPkg::Lock::Timeout=600 update -qq >/dev/null || true
	apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends $missing >/dev/null
	# The package starts a system Redis on 6379; the benchmark runs its own.
	if command -v systemctl >/dev/null 2>&1; then
		systemctl disable --now redis-server >/dev/null 2>&1 || true
	fi
else
	echo "the nearest-unit benchmark needs these Debian packages:$missing"
	echo "run:  sudo apt-get install -y$missing"
	exit 1
fi
