#!/bin/sh
# System libraries the Python wheels need but do not bundle (Debian package names):
#   libusb-1.0-0  open3d's native module links libusb-1.0.so.0
# and, with the argument `test` (make test), what the test suite needs besides:
#   postgresql    the tests that claim PostgreSQL start their own throw-away cluster
#                 (tests/support/postgres.py); production points IPSIM_DATABASE_URL at one
#   chromium      tests/e2e/test_bi_dashboard.py drives it through Playwright (whose own
#                 browser download cannot run here)
# Installs what is missing with apt-get when we may (root, or sudo without a password);
# otherwise says what to install and fails.
set -eu
missing=""
ldconfig -p 2>/dev/null | grep -q 'libusb-1.0.so.0' || missing="$missing libusb-1.0-0"
if [ "${1:-}" = test ]; then
	ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing="$missing postgresql"
	[ -x /usr/bin/chromium ] || missing="$missing chromium"
fi
[ -z "$missing" ] && exit 0
if [ "$(id -u)" = 0 ]; then sudo=""; elif sudo -n true 2>/dev/null; then sudo="sudo -n"; else
	echo "ipsim needs the system package(s):$missing — install them (apt-get install$missing)" >&2
	exit 1
fi
echo "installing system package(s):$missing"
$sudo apt-get update -qq
# shellcheck disable=SC2086
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq $missing >/dev/null
