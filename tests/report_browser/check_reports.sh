#!/usr/bin/env bash
# Makes every kind of HTML report and opens each in headless Chromium: the page's <body> must
# end up with data-charts-done="true", data-charts-rendered equal to data-charts-total (more than
# 0) and an empty data-chart-errors. A screenshot of each page is kept in OUT for people to look
# at (the reports themselves too).
#
# usage: check_reports.sh FRUGAL RENDER_EXPLORE_REPORT SOURCE_DIR OUT
# Exit status 77 (ctest: skipped) when Chromium, QEMU or the Arm toolchain is missing.
set -euo pipefail

frugal=$1
render_explore=$2
source_dir=$3
out=$4

for tool in chromium qemu-system-arm arm-none-eabi-g++ timeout; do
  if ! command -v "$tool" >/dev/null; then
    echo "skipped: $tool is not installed (make deps installs it)"
    exit 77
  fi
done

fixtures=$source_dir/fixtures/data
resnet=$fixtures/mlperf_tiny/image_classification/pretrainedResnet_quant.tflite
kws=$fixtures/mlperf_tiny/keyword_spotting/kws_ref_model_int8.tflite
# Exploring needs the full CIFAR-10 set (its calibration images come from the training batches);
# where it is missing, the explore page is rendered from a saved `frugal explore --json` instead.
shared=${FRUGAL_DATA:-$source_dir/../shared/data}
lenet=$shared/seed_ataman/LeNet_Cifar10_INT8.tflite
# Everything else from the fixtures, so the test is the same with or without ../shared.
export FRUGAL_DATA=$fixtures

rm -rf "$out"
mkdir -p "$out"
work=$(mktemp -d)
# On a failure, the browsers and the other bench still running go too.
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
started=$SECONDS

step() {  # step NAME COMMAND...: runs it quietly; on failure shows its stderr and stops
  local name=$1 t=$SECONDS status=0
  shift
  "$@" >"$work/$name.out" 2>"$work/$name.err" || status=$?
  if ((status != 0)); then
    echo "FAIL: $name: $* (exit status $status)"
    tail -20 "$work/$name.err"
    exit 1
  fi
  echo "$name: $((SECONDS - t)) s"
}

# Every file a report promises, and nothing half-written beside them.
check_files() {  # check_files KIND NAME
  local extension
  for extension in html json csv; do
    if [[ ! -s $out/$1/$2.$extension ]]; then
      echo "FAIL: $1: $out/$1/$2.$extension is missing or empty"
      exit 1
    fi
  done
  if [[ $(ls -A "$out/$1" | wc -l) -ne 3 ]]; then
    echo "FAIL: $1: more than the three report files in $out/$1: $(ls -A "$out/$1")"
    exit 1
  fi
}

# One Chromium per page, started as soon as the page is there (a browser mostly waits, so it
# overlaps the next report's QEMU run), each with a fresh profile and a hard time limit so that
# a stuck browser fails the test instead of hanging ctest. Chromium's own stderr (D-Bus and the
# like) is kept aside and judged by nothing: the DOM decides.
kinds=()
pids=()
open_page() {  # open_page KIND
  local page profile
  page=$(ls "$out/$1"/*.html)
  profile=$(mktemp -d "$work/profile.XXXXXX")
  timeout --kill-after=5 90 chromium --headless --no-sandbox --disable-gpu --disable-background-networking \
    --disable-component-update --disable-sync --no-first-run --user-data-dir="$profile" \
    --virtual-time-budget=20000 --hide-scrollbars --window-size=1280,1600 --screenshot="$out/$1.png" \
    --dump-dom "file://$page" >"$work/$1.dom" 2>"$work/$1.chromium" &
  kinds+=("$1")
  pids+=($!)
}

# Small, fast settings: one inference under QEMU, one joint round of one epoch for the kws (its
# course is a chart) and no other fine-tuning, a two-level exploration of 100
# validation records on the cost model. The model's bench runs beside compress and the bundle's
# bench (each builds and runs its own firmware).
step inspect "$frugal" inspect "$resnet" --report "$out/inspect"
check_files inspect inspect
open_page inspect
step bench "$frugal" bench "$kws" --board nucleo-f446re -n 1 --report "$out/bench" &
bench_pid=$!
step compress "$frugal" compress "$kws" "$resnet" --names kws resnet8 --max-accuracy-loss 1 --recovery-attempts 0 \
  --joint-rounds 1 --epochs 1 --joint-models kws --statistics 64 -o "$work/two.frugal" --report "$out/compress"
check_files compress compress
open_page compress
step bench_bundle "$frugal" bench "$work/two.frugal" --board nucleo-f446re -n 1 --report "$out/bench_bundle"
check_files bench_bundle bench
open_page bench_bundle
wait "$bench_pid" || exit 1
check_files bench bench
open_page bench
if [[ -f $lenet && -f $shared/cifar10/data_batch_1.bin ]]; then
  step explore env FRUGAL_DATA="$shared" "$frugal" explore "$lenet" --data cifar10 --board nucleo-f446re \
    --levels 0,0.5 --validation 100 --test 200 --no-qemu --max-accuracy-loss 0.05 --report "$out/explore"
else
  echo "explore: the full CIFAR-10 set is not there; rendering the saved explore_lenet.json"
  mkdir -p "$out/explore"
  step explore "$render_explore" "$source_dir/tests/report_browser/explore_lenet.json" "$out/explore/explore.html"
fi
open_page explore

# A report directory that cannot be one, and a command that fails: a one-line error, exit status
# 1, and no report.
refused() {  # refused WHAT COMMAND...
  local what=$1 status=0
  shift
  "$@" >"$work/refused.out" 2>"$work/refused.err" || status=$?
  # Progress lines on stderr may come first (compress names its data root); the error is one line.
  if ((status != 1)) || [[ $(grep -c '^error: ' "$work/refused.err") -ne 1 ]] ||
    ! tail -n 1 "$work/refused.err" | grep -q '^error: ' || [[ -s $work/refused.out ]]; then
    echo "FAIL: $what: expected exit status 1, nothing on stdout and one 'error:' line last on stderr; got $status:"
    cat "$work/refused.err"
    exit 1
  fi
}
touch "$work/taken"
refused "--report FILE" "$frugal" inspect "$resnet" --report "$work/taken"
refused "bench of a missing model" "$frugal" bench "$work/missing.tflite" --board nucleo-f446re --report "$work/none"
refused "compress of a missing model" "$frugal" compress "$work/missing.tflite" -o "$work/none.frugal" \
  --report "$work/none"
if [[ -e $work/none || ! -f $work/taken || -s $work/taken ]]; then
  echo "FAIL: a failed command left a report behind, or touched the file in the way"
  exit 1
fi

t=$SECONDS
statuses=()
for pid in "${pids[@]}"; do
  status=0
  wait "$pid" || status=$?
  statuses+=("$status")
done
echo "chromium: $((SECONDS - t)) s after the last report"

attribute() {  # attribute NAME TAG: the value of NAME in the start tag TAG
  sed -n "s/.* $1=\"\\([^\"]*\\)\".*/\\1/p" <<<"$2"
}

failed=0
for i in "${!kinds[@]}"; do
  kind=${kinds[$i]}
  if [[ ${statuses[$i]} -ne 0 ]]; then
    echo "FAIL: $kind: chromium exited with status ${statuses[$i]} (124: timed out)"
    tail -5 "$work/$kind.chromium"
    failed=1
    continue
  fi
  # Chromium serializes the live DOM: <body> carries the data-* attributes the page's script set.
  body=$(grep -o '<body [^>]*data-charts-total[^>]*>' "$work/$kind.dom" | head -n 1 || true)
  total=$(attribute data-charts-total "$body")
  rendered=$(attribute data-charts-rendered "$body")
  done=$(attribute data-charts-done "$body")
  errors=$(attribute data-chart-errors "$body")
  if [[ -z $total || $total -eq 0 || $rendered != "$total" || $done != true || -n $errors ]]; then
    echo "FAIL: $kind: total='$total' rendered='$rendered' done='$done' errors='$errors'"
    failed=1
  elif [[ ! -s $out/$kind.png ]]; then
    echo "FAIL: $kind: no screenshot"
    failed=1
  else
    echo "ok: $kind: $rendered of $total charts rendered, screenshot $out/$kind.png"
  fi
done
echo "total: $((SECONDS - started)) s"
exit $failed
