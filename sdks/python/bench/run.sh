#!/usr/bin/env bash
# The Python SDK's overhead benchmark (overhead.py): a virtualenv with the SDK's wheel, the test
# requirements and the Langfuse SDK pinned below, then one run. Not part of `npm test`.
#   bash sdks/python/bench/run.sh [--calls 2000] [--llm-calls 500]
set -euo pipefail
cd "$(dirname "$0")/../../.."
LANGFUSE_VERSION=5.0.4
VENV=bench-results/python-overhead-venv
mkdir -p bench-results
if [ ! -x "$VENV/bin/python" ]; then
  "${PYTHON:-python3}" -m venv "$VENV"
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r sdks/python/requirements-test.txt "langfuse==$LANGFUSE_VERSION"
fi
rm -rf bench-results/python-overhead-dist
"$VENV/bin/python" -m build --no-isolation --wheel --outdir bench-results/python-overhead-dist sdks/python >/dev/null
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --force-reinstall --no-deps bench-results/python-overhead-dist/metronis-*.whl
exec "$VENV/bin/python" sdks/python/bench/overhead.py --json "bench-results/python-overhead-$(date -u +%Y-%m-%dT%H-%M-%SZ).json" "$@"
