#!/usr/bin/env bash
# Runs every test of the workspace. The real-capture tests read the corpus from
# OTWATCH_CORPUS (default: ../shared/pcaps next to this checkout); without it
# they print that they did not run, and the generated-capture tests still run.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -z "${OTWATCH_CORPUS:-}" ] && [ -d ../shared/pcaps ]; then
  OTWATCH_CORPUS="$(cd ../shared/pcaps && pwd)"
  export OTWATCH_CORPUS
fi
echo "OTWATCH_CORPUS=${OTWATCH_CORPUS:-<unset: corpus tests will not run>}"
cargo test --workspace --locked "$@"
