#!/usr/bin/env bash
# `make bench-mcu`: every shared model built for a board and run under QEMU on N real inputs
# (default 100), checked bit for bit against the host engine; prints a Markdown table with the
# CMSIS-NN figures of ../shared/DESIGN.md beside ours, then each model's per-layer table.
# WEIGHTS=int8|int16|auto: frugal bench --weights (dense conv / FC weights in flash).
set -euo pipefail
build=${1:-build}
board=${BOARD:-nucleo-f446re}
count=${COUNT:-100}
weights=${WEIGHTS:-int8}
frugal="$build/frugal"
source "$(dirname "$0")/data_root.sh"

# model | data set | CMSIS-NN instructions | CMSIS-NN estimated cycles (DESIGN.md; - if none)
rows=(
  "mlperf_tiny/image_classification/pretrainedResnet_quant.tflite|cifar10|29870333|36806310"
  "mlperf_tiny/keyword_spotting/kws_ref_model_int8.tflite|kws01|7844978|9415752"
  "mlperf_tiny/visual_wake_words/vww_96_int8.tflite|vww01|24710567|30109245"
  "seed_ataman/LeNet_Cifar10_INT8.tflite|cifar10|10562496|12825253"
  "mlperf_tiny/anomaly_detection/ad01_int8.tflite|ad01|-|-"
)
echo "| model | inputs | bit-exact | MACs | instructions | instr/MAC | CMSIS-NN instructions | ratio | est. cycles | CMSIS-NN est. cycles | ratio | est. ms | flash B | RAM B (static + stack) |"
echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
details=""
for row in "${rows[@]}"; do
  IFS='|' read -r model set cmsis_instr cmsis_cycles <<<"$row"
  [ -f "$data/$model" ] || { echo "skipping $model (not in $data)" >&2; continue; }
  out=$("$frugal" bench "$data/$model" --board "$board" --data "$set" -n "$count" --weights "$weights" 2>/dev/null) || { echo "skipping $model: $set data not available" >&2; continue; }
  json=$("$frugal" bench "$data/$model" --board "$board" --data "$set" -n 1 --weights "$weights" --json 2>/dev/null | tail -n 1)
  exact=$(grep -o 'bit-exact with the host engine: [a-zA-Z]* ([0-9/]* outputs equal)' <<<"$out" | sed 's/bit-exact with the host engine: //')
  jq -r --arg m "$(basename "$model" .tflite)" --arg exact "$exact" --arg ci "$cmsis_instr" --arg cc "$cmsis_cycles" --arg n "$count" '
    def ratio(a; b): if b == "-" then "-" else ((a / (b|tonumber)) * 100 | round / 100 | tostring) + "x" end;
    "| \($m) | \($n) | \($exact) | \(.total_macs) | \(.total_instructions) | \((.total_instructions / .total_macs * 100 | round) / 100) | \($ci) | \(ratio(.total_instructions; $ci)) | \(.total_cycles_estimate) | \($cc) | \(ratio(.total_cycles_estimate; $cc)) | \((.ms_estimate * 10 | round) / 10) | \(.flash_bytes) | \(.ram_bytes) + \(.stack_bytes) |"' <<<"$json"
  details+=$'\n'"### $(basename "$model" .tflite) on $board"$'\n\n```\n'"$out"$'\n```\n'
done
echo "$details"
