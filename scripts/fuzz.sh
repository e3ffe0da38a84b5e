#!/usr/bin/env bash
# Runs every cargo-fuzz target for a bounded time, seeded from the corpus
# (OTWATCH_CORPUS) and the generated scenarios.
#   scripts/fuzz.sh [SECONDS_PER_TARGET]   (default 8; FUZZ_TARGETS="a b" runs only those)
# Needs cargo-fuzz (`cargo install cargo-fuzz --locked`); stable Rust runs it
# with RUSTC_BOOTSTRAP=1. A crash leaves its input in fuzz/artifacts/<target>/
# and fails the script: copy it to fuzz/regressions/<target>/ and fix it.
set -euo pipefail
cd "$(dirname "$0")/.."
secs="${1:-8}"
export RUSTC_BOOTSTRAP=1
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

echo "== building fuzz targets"
(cd fuzz && cargo fuzz build -O)

echo "== seeding from the corpus and the generated scenarios"
mkdir -p "$work/gen"
cargo run -q --release -p otwatch -- simulate --list >/dev/null
for s in $(cargo run -q --release -p otwatch -- simulate --list | awk '{print $1}'); do
  cargo run -q --release -p otwatch -- simulate "$s" -o "$work/gen/$s.pcap" >/dev/null
done
caps=("$work"/gen/*.pcap)
if [[ -n "${OTWATCH_CORPUS:-}" && -d "$OTWATCH_CORPUS" ]]; then
  while IFS= read -r -d '' f; do caps+=("$f"); done < <(find "$OTWATCH_CORPUS" -type f \( -name '*.pcap' -o -name '*.pcapng' -o -name '*.cap' \) -print0)
fi
cargo run -q --release -p otwatch-pipeline --example fuzz_seeds -- "$work/seeds" "${caps[@]}" >/dev/null

targets="${FUZZ_TARGETS:-$(cd fuzz && cargo fuzz list)}"
n=0
for t in $targets; do
  mkdir -p "$work/seeds/$t"
  printf '%-14s ' "$t"
  if ! (cd fuzz && cargo fuzz run -O "$t" "$work/seeds/$t" -- -max_total_time="$secs" -rss_limit_mb=2048 >"$work/$t.log" 2>&1); then
    echo "CRASH"
    tail -40 "$work/$t.log"
    exit 1
  fi
  grep -o 'Done [0-9]* runs' "$work/$t.log" | tail -1
  n=$((n + 1))
done
echo "== $n fuzz targets ran ${secs}s each, no crash"
