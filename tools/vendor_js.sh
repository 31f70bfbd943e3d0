#!/bin/sh
# Refresh the JavaScript vendored from the npm registry (no CDN at run time):
#   - echarts for the /bi dashboards  -> server/static/bi/vendor/
#   - three (+ a few examples/jsm addons) for the portal's 3D viewer -> server/static/portal/vendor/three/
#   - swagger-ui-dist for the OpenAPI explorer at /docs -> server/static/portal/vendor/swagger-ui/
# Run this to move to another version:
#   sh tools/vendor_js.sh [ECHARTS_VERSION]     (default: the version pinned below)
#   THREE_VERSION=0.181.0 sh tools/vendor_js.sh  (three's version; default pinned below)
#   SWAGGER_UI_VERSION=5.35.0 sh tools/vendor_js.sh  (swagger-ui-dist's version)
#   ONLY=three sh tools/vendor_js.sh             (one package only: echarts, three or swagger)
# then update the versions in server/static/bi/vendor/README.md and
# server/static/portal/vendor/README.md and re-run tests/e2e/test_bi_dashboard.py and
# tests/e2e/test_portal_designs.py.
set -eu
version="${1:-6.1.0}"
three_version="${THREE_VERSION:-0.181.0}"
swagger_version="${SWAGGER_UI_VERSION:-5.35.0}"
only="${ONLY:-}"
root="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# unpack PACKAGE@VERSION from the npm registry into $work/PACKAGE/package
fetch() {
  mkdir -p "$work/$1"
  (cd "$work/$1" && npm pack --silent "$1@$2" >/dev/null && tar xzf "$1-$2.tgz")
}

vendor_echarts() {
  dest="$root/server/static/bi/vendor"
  fetch echarts "$version"
  mkdir -p "$dest"
  cp "$work/echarts/package/dist/echarts.min.js" "$dest/echarts.min.js"
  cp "$work/echarts/package/LICENSE" "$dest/echarts.LICENSE"
  cp "$work/echarts/package/NOTICE" "$dest/echarts.NOTICE"
  cp "$work/echarts/package/licenses/LICENSE-d3" "$dest/echarts.LICENSE-d3"
  echo "vendored echarts $version into $dest"
}

# three's ES module build and the addons the portal's 3D viewer imports. The addons import the
# bare specifier 'three' (browsers need an import map for that, and the portal's CSP allows no
# inline script), so it is rewritten to a relative path to the vendored module.
vendor_three() {
  dest="$root/server/static/portal/vendor/three"
  fetch three "$three_version"
  src="$work/three/package"
  rm -rf "$dest"
  mkdir -p "$dest/addons/loaders" "$dest/addons/controls" "$dest/addons/utils"
  cp "$src/build/three.module.min.js" "$src/build/three.core.min.js" "$dest/"
  cp "$src/LICENSE" "$dest/LICENSE"
  for addon in loaders/GLTFLoader loaders/STLLoader loaders/OBJLoader loaders/PLYLoader \
    controls/OrbitControls utils/BufferGeometryUtils; do
    sed "s#from 'three'#from '../../three.module.min.js'#" \
      "$src/examples/jsm/$addon.js" >"$dest/addons/$addon.js"
    if grep -q "from 'three'" "$dest/addons/$addon.js"; then
      echo "vendor_js.sh: $addon.js still imports the bare specifier 'three'" >&2
      exit 1
    fi
  done
  echo "$three_version" >"$dest/VERSION"
  echo "vendored three $three_version into $dest"
}

vendor_swagger() {
  dest="$root/server/static/portal/vendor/swagger-ui"
  fetch swagger-ui-dist "$swagger_version"
  src="$work/swagger-ui-dist/package"
  mkdir -p "$dest"
  for name in swagger-ui-bundle.js swagger-ui-bundle.js.LICENSE.txt swagger-ui.css LICENSE NOTICE; do
    cp "$src/$name" "$dest/$name"
  done
  echo "vendored swagger-ui-dist $swagger_version into $dest"
}

case "$only" in
  "") vendor_echarts; vendor_three; vendor_swagger ;;
  echarts) vendor_echarts ;;
  three) vendor_three ;;
  swagger) vendor_swagger ;;
  *) echo "vendor_js.sh: ONLY must be echarts, three or swagger, not $only" >&2; exit 2 ;;
esac
