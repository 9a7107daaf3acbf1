#!/usr/bin/env bash
# Install the BSS with its test tools and run the whole test suite.
#
# Runs on SQLite when DATABASE_URL is unset (PostgreSQL-only tests are skipped with
# the reason) and on PostgreSQL when it is set, e.g.
#   DATABASE_URL=postgres://postgres@127.0.0.1:5432/bss bash scripts/test.sh
# Extra arguments go to pytest: bash scripts/test.sh tests/core -x
set -euo pipefail

# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"

# Chromium drives the browser tests (Playwright cannot download its own browser here).
warn_about_dotenv
ensure_system_packages chromium poppler-utils
ensure_venv
install_project "[dev]"
install_frontend
compile_translations

if [ -n "${DATABASE_URL:-}" ]; then database="PostgreSQL"; else database="SQLite"; fi
say "Running the test suite on $database"
exec "$VENV/bin/pytest" "$@"
