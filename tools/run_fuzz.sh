#!/usr/bin/env bash
# Runs every libFuzzer target of a FRUGAL_FUZZ build for the given number of seconds, seeded
# with the bundled and shared models; new corpus entries and crash artifacts go to fuzz-out/.
set -euo pipefail
build=${1:-build-fuzz}
seconds=${2:-300}
root=$(cd "$(dirname "$0")/.." && pwd)
out="$root/fuzz-out"
mkdir -p "$out/seeds" "$out/corpus" "$out/crashes"
find "$root/fixtures" "$root/../shared/data" -name '*.tflite' -size -1M -exec cp {} "$out/seeds/" \; 2>/dev/null || true
# Bundle seed: a small bundle written by the regular build's frugal, when there is one.
if [ -x "$root/build/frugal" ]; then
  FRUGAL_DATA="$root/fixtures/data" "$root/build/frugal" compress \
    "$root/fixtures/data/mlperf_tiny/keyword_spotting/kws_ref_model_int8.tflite" \
    --max-accuracy-loss 1 --no-recovery -o "$out/seeds/kws.frugal" >/dev/null 2>&1 || true
fi
status=0
for target in "$build"/fuzz/fuzz_*; do
  [ -x "$target" ] || continue
  name=$(basename "$target")
  echo "== $name for ${seconds}s" >&2
  mkdir -p "$out/corpus/$name"
  if ! "$target" -max_len=400000 -max_total_time="$seconds" -print_final_stats=1 \
      -artifact_prefix="$out/crashes/$name-" "$out/corpus/$name" "$out/seeds" 2>"$out/$name.log"; then
    echo "$name: FAILED, see $out/$name.log and $out/crashes/" >&2
    status=1
  fi
  grep -E 'stat::number_of_executed_units|stat::peak_rss_mb' "$out/$name.log" | sed "s/^/$name: /"
done
exit $status
