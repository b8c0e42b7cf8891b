#!/usr/bin/env bash
# The whole test suite, as README.md gives it: services, Rust tests (unit and integration
# against MariaDB, Redis and SQLite), then the browser tests in headless Chromium.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/test-services.sh
cargo test --locked
REBUILD=1 bash tests/browser/run.sh
