#!/usr/bin/env bash
# `make demo`: inspect the MLPerf Tiny ResNet-8, then evaluate every shared model on its data
# set and print one table (ours next to TFLite's reference-kernel Top-1).
set -euo pipefail
frugal=${1:-build/frugal}
source "$(dirname "$0")/data_root.sh"

resnet="$data/mlperf_tiny/image_classification/pretrainedResnet_quant.tflite"
echo "== frugal inspect $(basename "$resnet")"
"$frugal" inspect "$resnet"
echo

# model | data set | TFLite reference-kernel Top-1 (shared/golden/README.md; AUC not published)
rows=(
  "mlperf_tiny/image_classification/pretrainedResnet_quant.tflite|cifar10|87.07%"
  "mlperf_tiny/keyword_spotting/kws_ref_model_int8.tflite|kws01|90.10%"
  "mlperf_tiny/visual_wake_words/vww_96_int8.tflite|vww01|85.40%"
  "seed_ataman/LeNet_Cifar10_INT8.tflite|cifar10|71.69%"
  "mlperf_tiny/anomaly_detection/ad01_int8.tflite|ad01|-"
)
table="model|data|count|frugal|TFLite reference|images/s"
for row in "${rows[@]}"; do
  IFS='|' read -r model set expected <<<"$row"
  if [ ! -f "$data/$model" ]; then
    echo "skipping $model (not in $data)" >&2
    continue
  fi
  echo "== frugal eval $(basename "$model") --data $set" >&2
  if ! json=$("$frugal" eval "$data/$model" --data "$set" --json | tail -n 1); then
    echo "skipping $model: eval failed" >&2
    continue
  fi
  if [ "$(jq -r '.auc != null' <<<"$json")" = true ]; then
    metric=$(printf 'AUC %.4f' "$(jq -r '.auc' <<<"$json")")
  else
    metric=$(printf '%.2f%%' "$(jq -r '.top1 * 100' <<<"$json")")
  fi
  count=$(jq -r '.count' <<<"$json")
  speed=$(jq -r '.images_per_second | round' <<<"$json")
  table+=$'\n'"$(basename "$model" .tflite)|$set|$count|$metric|$expected|$speed"
done
echo
column -t -s '|' <<<"$table"
if $fixtures; then
  echo "(bundled fixtures: 200 records per set, models without bundled data skipped; the TFLite"
  echo " reference figures are for the full sets in ../shared/data)"
fi
