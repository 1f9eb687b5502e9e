#!/usr/bin/env bash
# `make bench`: host speed of `frugal eval` on the ResNet-8 with the fast kernels (2 threads,
# all 10,000 CIFAR-10 test images) next to the reference kernels measured in the same run
# (1 thread, first 300 images: they are ~100x slower), and the ratio between the two.
set -euo pipefail
build=${1:-build}
frugal="$build/frugal"
source "$(dirname "$0")/data_root.sh"
model="$data/mlperf_tiny/image_classification/pretrainedResnet_quant.tflite"
fast=$("$frugal" eval "$model" --data cifar10 --threads 2 --kernels fast --json | tail -n 1)
ref=$("$frugal" eval "$model" --data cifar10 --threads 1 --kernels reference --limit 300 --json | tail -n 1)
fast_ips=$(jq -r '.images_per_second' <<<"$fast")
ref_ips=$(jq -r '.images_per_second' <<<"$ref")
echo "ResNet-8 on CIFAR-10, $(nproc) cores: $(jq -r '.model' <<<"$fast")"
printf 'fast kernels      2 threads  %6d images  top1 %.4f  %9.1f images/s\n' \
  "$(jq -r .count <<<"$fast")" "$(jq -r .top1 <<<"$fast")" "$fast_ips"
printf 'reference kernels 1 thread   %6d images  top1 %.4f  %9.1f images/s\n' \
  "$(jq -r .count <<<"$ref")" "$(jq -r .top1 <<<"$ref")" "$ref_ips"
printf 'ratio fast(2 threads) / reference(1 thread): %.1fx\n' "$(jq -n "$fast_ips / $ref_ips")"
