#!/usr/bin/env bash
# The Python SDK's tests (a step of scripts/test.sh; needs `npm run build` first): a fresh virtualenv
# with the pinned test dependencies from PyPI (sdks/python/requirements-test.txt), the SDK built as a
# wheel and an sdist, the wheel installed into that virtualenv and the sdist into a second, bare one
# (so both artifacts are proven installable), then pytest against `metronis dev` from the build.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON="${PYTHON:-python3}"
SDK=sdks/python
VENV="$SDK/.venv"
rm -rf "$VENV" "$VENV-sdist" "$SDK/dist"
"$PYTHON" -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r "$SDK/requirements-test.txt"
# --no-isolation: build with the pinned hatchling just installed, instead of fetching one per build.
"$VENV/bin/python" -m build --no-isolation --sdist --wheel --outdir "$SDK/dist" "$SDK" >/dev/null
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps "$SDK"/dist/metronis-*.whl
"$PYTHON" -m venv "$VENV-sdist"
"$VENV-sdist/bin/python" -m pip install --quiet --disable-pip-version-check "$SDK"/dist/metronis-*.tar.gz
"$VENV-sdist/bin/python" -c 'import importlib.metadata as m; print("sdist installs: metronis", m.version("metronis"))'

cd "$SDK"
exec .venv/bin/python -m pytest -p no:cacheprovider -q tests
