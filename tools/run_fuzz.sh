#!/usr/bin/env bash
# Runs every libFuzzer target of a FRUGAL_FUZZ build for the given number of seconds, each with
# its own seeds; new corpus entries, crash artifacts and logs go to fuzz-out/. Prints per target
# the executions, the seconds and the executions per second (docs/hardening.md).
set -euo pipefail
build=${1:-build-fuzz}
seconds=${2:-300}
root=$(cd "$(dirname "$0")/.." && pwd)
out="$root/fuzz-out"
mkdir -p "$out/seeds/fuzz_tflite_import" "$out/seeds/fuzz_bundle_read" "$out/corpus" "$out/crashes"
# FUZZ_TARGETS="fuzz_a fuzz_b" runs only those (e.g. one list per core, in two invocations).
wanted() { [ -z "${FUZZ_TARGETS:-}" ] || [[ " $FUZZ_TARGETS " == *" $1 "* ]]; }
# Models up to 128 KiB (find rounds sizes up to its unit: "-size -1M" would mean empty files).
# The ten models that small cover every operator and tensor type the larger ones use, and
# verifying and copying a 300-866 KB model made each execution 4x slower: in 150 s side by
# side, all models with -max_len=400000 ran 331 exec/s and reached 1,342 edges, these with
# 131,072 ran 1,454 exec/s and reached 1,461 (docs/hardening.md).
if wanted fuzz_tflite_import; then
  rm -f "$out/seeds/fuzz_tflite_import/"*.tflite
  find "$root/fixtures" "$root/../shared/data" -name '*.tflite' -size -129k \
    -exec cp -f {} "$out/seeds/fuzz_tflite_import/" \; 2>/dev/null || true
fi
# Bundle seed: a small bundle written by the regular build's frugal, when there is one.
if wanted fuzz_bundle_read && [ -x "$root/build/frugal" ] && [ ! -s "$out/seeds/fuzz_bundle_read/kws.frugal" ]; then
  FRUGAL_DATA="$root/fixtures/data" "$root/build/frugal" compress \
    "$root/fixtures/data/mlperf_tiny/keyword_spotting/kws_ref_model_int8.tflite" \
    --max-accuracy-loss 1 --no-recovery -o "$out/seeds/fuzz_bundle_read/kws.frugal" >/dev/null 2>&1 || true
fi

# Seeds (read only: libFuzzer adds new inputs to the first directory only, the corpus) and the
# longest input each target is given: 128 KiB for models and bundles (the seeds are up to
# 96 KiB), 64 KiB for the approximation files of the fixture DS-CNN, which are a few KB
# (fuzz/seeds/approx_config: explore point files, a bench cost file, hand-written configs and
# a small report), so that the JSON parser does not spend its time on megabytes of digits.
seeds_of() {
  case "$1" in
    fuzz_approx_config) echo "$root/fuzz/seeds/approx_config" ;;
    *) echo "$out/seeds/$1" ;;
  esac
}
max_len_of() {
  case "$1" in
    fuzz_approx_config) echo 65536 ;;
    *) echo 131072 ;;
  esac
}

status=0
for target in "$build"/fuzz/fuzz_*; do
  [ -x "$target" ] || continue
  name=$(basename "$target")
  wanted "$name" || continue
  echo "== $name for ${seconds}s" >&2
  mkdir -p "$out/corpus/$name"
  start=$(date +%s)
  if ! "$target" -max_len="$(max_len_of "$name")" -max_total_time="$seconds" -print_final_stats=1 \
      -artifact_prefix="$out/crashes/$name-" "$out/corpus/$name" "$(seeds_of "$name")" 2>"$out/$name.log"; then
    echo "$name: FAILED, see $out/$name.log and $out/crashes/" >&2
    status=1
  fi
  elapsed=$(( $(date +%s) - start ))
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$out/$name.log")
  rss=$(sed -n 's/^stat::peak_rss_mb: *//p' "$out/$name.log")
  echo "$name: ${runs:-0} executions in ${elapsed} s, $(( ${runs:-0} / (elapsed > 0 ? elapsed : 1) )) exec/s," \
    "peak RSS ${rss:-?} MB, corpus $(find "$out/corpus/$name" -type f | wc -l) files"
done
exit $status
