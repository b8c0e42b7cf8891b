#!/usr/bin/env bash
# The whole test suite, as README.md gives it: services, Rust tests (unit and integration
# against MariaDB, Redis and SQLite), the browser tests in headless Chromium, then the
# deployment tests (systemd unit, nginx, OpenVPN in network namespaces, DB host grants,
# rolling restart). Needs root for apt-get and network namespaces.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/test-services.sh
cargo test --locked
REBUILD=1 bash tests/browser/run.sh
# The end-to-end part runs `pesquisa migrate`/`serve` as the least-privilege DB users.
DEPLOY_TESTS_E2E=1 bash tests/deploy/run_all.sh
