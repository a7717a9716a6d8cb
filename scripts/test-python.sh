#!/usr/bin/env bash
# The Python SDK's tests (a step of scripts/test.sh; needs `npm run build` first): a fresh virtualenv
# with the pinned test dependencies from PyPI (sdks/python/requirements-test.txt); the SDK built as an
# sdist and the wheel built from that sdist (what pip does to install an sdist, so the sdist is proven
# complete), the wheel installed; then pytest against `metronis dev` from the build, on the installed
# package (tests/test_packaging.py checks that it is not the source tree).
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON="${PYTHON:-python3}"
SDK=sdks/python
VENV="$SDK/.venv"
rm -rf "$VENV" "$SDK/dist"
"$PYTHON" -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r "$SDK/requirements-test.txt"
# --no-isolation: build with the pinned hatchling just installed, instead of fetching one per build.
# No --sdist/--wheel: build makes the sdist, then the wheel from the unpacked sdist.
"$VENV/bin/python" -m build --no-isolation --outdir "$SDK/dist" "$SDK" >/dev/null
ls "$SDK"/dist/metronis-*.tar.gz "$SDK"/dist/metronis-*.whl >/dev/null
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps "$SDK"/dist/metronis-*.whl

cd "$SDK"
exec .venv/bin/python -m pytest -p no:cacheprovider -q tests
