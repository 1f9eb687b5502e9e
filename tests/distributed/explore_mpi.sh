#!/usr/bin/env bash
# frugal explore on the LeNet with one process and with `mpirun -np 2`: the same Pareto front
# (the JSON front: baseline, points, Top-1, instructions, configs, selected point, evaluations)
# and the same files; only rank 0 writes or prints; a bad argument is one error line.
# Usage: explore_mpi.sh FRUGAL MPIEXEC [MPIEXEC FLAGS...]. Exit 77 (skipped) without the shared
# LeNet and CIFAR-10.
set -euo pipefail
frugal=$1
mpiexec=$2
shift 2
data=${FRUGAL_DATA:-$(dirname "$0")/../../../shared/data}
model=$data/seed_ataman/LeNet_Cifar10_INT8.tflite
if [[ ! -f $model || ! -f $data/cifar10/data_batch_1.bin ]]; then
  echo "skipped: no LeNet or CIFAR-10 under $data"
  exit 77
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# The flags come from CMake (Open MPI: allowed as root, more ranks than cores, no network).
mpi=("$mpiexec" "$@" -n 2)
# Fails the test instead of hanging it if a rank waits forever. FRUGAL_TEST_TIME_SCALE: make
# test-sanitize sets it, for the slower sanitizer build.
scale=${FRUGAL_TEST_TIME_SCALE:-1}
limit=$((300 * scale))
front='{baseline, pareto, selected, layers, levels, latency_source, evaluations: .search.evaluations,
        cost_model_front: .search.cost_model_front}'

# Runs explore with one process into $work/NAME-one and with 2 ranks into $work/NAME-two and
# checks that the fronts and the files are the same.
compare() {
  local name=$1
  shift
  local one=$work/$name-one two=$work/$name-two
  timeout $limit "$frugal" "$@" -o "$one" >"$one.out" 2>"$one.err" || { echo "FAIL: $name, one process"; cat "$one.err"; exit 1; }
  timeout $limit "${mpi[@]}" "$frugal" "$@" -o "$two" >"$two.out" 2>"$two.err" || { echo "FAIL: $name, 2 ranks"; cat "$two.err"; exit 1; }
  tail -n 1 "$one.out" | jq -S "$front" >"$one.front"
  tail -n 1 "$two.out" | jq -S "$front" >"$two.front"
  if ! cmp -s "$one.front" "$two.front"; then
    echo "FAIL: $name: the fronts differ (one process vs 2 ranks)"
    diff "$one.front" "$two.front" | head -40
    exit 1
  fi
  points=$(jq '.pareto | length' "$one.front")
  [[ $points -ge 2 ]] || { echo "FAIL: $name: expected a front of several points, got $points"; exit 1; }
  [[ $(tail -n 1 "$two.out" | jq .search.ranks) == 2 ]] || { echo "FAIL: $name: search.ranks is not 2"; exit 1; }
  # Rank 0 alone prints: one JSON line on stdout, one summary line on stderr.
  [[ $(wc -l <"$two.out") -eq 1 ]] || { echo "FAIL: $name: stdout has more than the JSON line"; cat "$two.out"; exit 1; }
  [[ $(grep -c ' evaluations of ' "$two.err") -eq 1 ]] || { echo "FAIL: $name: summary printed twice"; cat "$two.err"; exit 1; }
  # The same files, byte for byte (pareto.json and pareto.html also hold the timings).
  local f
  for f in pareto.csv $(cd "$one" && ls point_*.json); do
    cmp "$one/$f" "$two/$f" || { echo "FAIL: $name: $f differs"; exit 1; }
  done
  jq -S "$front" "$two/pareto.json" | cmp - "$two.front" || { echo "FAIL: $name: pareto.json is not the printed front"; exit 1; }
  echo "$name: same front of $points points with 1 process and 2 MPI ranks"
  grep ' evaluations of ' "$one.err" | sed 's/^/  1 process: /'
  grep ' evaluations of ' "$two.err" | sed 's/^/  2 ranks:   /'
}

common=(explore "$model" --data cifar10 --board nucleo-f446re --max-accuracy-loss 0.02 --threads 1 --json)
# The search and the test re-measurement: 4 levels, cost-model latencies.
compare search "${common[@]}" --levels 0,0.25,0.5,0.75 --validation 200 --test 400 --no-qemu
# The QEMU re-measurement too, on a small front: the dense firmware on rank 0, the two other
# points one per rank.
compare qemu "${common[@]}" --levels 0,0.3 --validation 100 --test 200 --qemu-inputs 1

# A bad argument: every rank fails alike, one error line, non-zero exit, nobody hangs.
set +e
timeout $((60 * scale)) "${mpi[@]}" "$frugal" explore "$model" --data imagenet --board nucleo-f446re >"$work/bad.out" 2>"$work/bad.err"
code=$?
set -e
[[ $code -ne 0 && $code -ne 124 ]] || { echo "FAIL: bad argument exit code $code"; exit 1; }
[[ $(grep -c '^error: ' "$work/bad.err") -eq 1 ]] || { echo "FAIL: expected one error line"; cat "$work/bad.err"; exit 1; }
grep -q "^error: unknown data set 'imagenet'" "$work/bad.err"
