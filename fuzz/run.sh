#!/usr/bin/env bash
# Runs one fuzz target for a while on one core: ./run.sh TARGET [SECONDS] [extra libFuzzer flags]
# NO_BUILD=1 runs the binary of the last `cargo +nightly fuzz build -a` without rebuilding.
# The corpus grows in corpus/TARGET (seeded from seeds/TARGET); crashes land in artifacts/TARGET.
set -euo pipefail
cd "$(dirname "$0")"
target=$1
secs=${2:-300}
shift $(( $# < 2 ? $# : 2 ))
mkdir -p "corpus/$target"
dict=()
[[ -f "dict/$target.dict" ]] && dict=("-dict=dict/$target.dict")
flags=(-max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=1024
  -max_len=65536 -print_final_stats=1 "${dict[@]}" "$@")
if [[ -n "${NO_BUILD:-}" ]]; then
  # Reuse the last `cargo +nightly fuzz build -a` (the build takes minutes on two cores).
  mkdir -p "artifacts/$target"
  exec "target/x86_64-unknown-linux-gnu/release/$target" -artifact_prefix="artifacts/$target/" \
    "${flags[@]}" "corpus/$target" "seeds/$target"
fi
exec cargo +nightly fuzz run -a "$target" "corpus/$target" "seeds/$target" -- "${flags[@]}"
