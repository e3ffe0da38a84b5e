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
# Live capture (libpcap) is tested when libpcap-dev is installed; its test
# also needs root or CAP_NET_RAW and says so when it cannot run.
features=()
if [ -e /usr/include/pcap.h ] || [ -e /usr/include/pcap/pcap.h ]; then
  features=(--features otwatch/live)
else
  echo "libpcap-dev not installed: live capture is not built or tested (apt-get install libpcap-dev)"
fi
cargo test --workspace --locked "${features[@]}" "$@"
