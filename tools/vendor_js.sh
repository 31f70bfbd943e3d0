#!/bin/sh
# Refresh the JavaScript the /bi dashboards vendor (server/static/bi/vendor/) from the npm registry.
# The page loads only these files (no CDN at run time); run this to move to another version:
#   sh tools/vendor_js.sh [ECHARTS_VERSION]     (default: the version pinned below)
# then update the version in server/static/bi/vendor/README.md and re-run tests/e2e/test_bi_dashboard.py.
set -eu
version="${1:-6.1.0}"
root="$(cd "$(dirname "$0")/.." && pwd)"
dest="$root/server/static/bi/vendor"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent "echarts@$version" >/dev/null && tar xzf "echarts-$version.tgz")
mkdir -p "$dest"
cp "$work/package/dist/echarts.min.js" "$dest/echarts.min.js"
cp "$work/package/LICENSE" "$dest/echarts.LICENSE"
cp "$work/package/NOTICE" "$dest/echarts.NOTICE"
cp "$work/package/licenses/LICENSE-d3" "$dest/echarts.LICENSE-d3"
echo "vendored echarts $version into $dest"
