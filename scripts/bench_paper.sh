#!/usr/bin/env bash
# Reproduces every number of BENCHMARKS.md: the paper zoo, MGMP (both
# schedules and the no-generator ablation), verify timing, and ProvBench.
# About an hour on 2 cores; each step's output goes to out/paper/.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=build/tools/modeldna/modeldna
out=out/paper
mkdir -p "$out"
/usr/bin/time -f "zoo build: %e s" $bin zoo build --preset paper --out zoo/paper > "$out/zoo.txt"
$bin zoo drift --zoo zoo/paper > "$out/drift.md"
for schedule in two-stage joint; do
  $bin train --zoo zoo/paper --out detectors/paper-$schedule --schedule $schedule 2> "$out/train-$schedule.log"
  $bin eval --zoo zoo/paper --detector detectors/paper-$schedule --out "$out/eval-$schedule" > "$out/eval-$schedule.md"
done
$bin train --zoo zoo/paper --out detectors/paper-no-generator --no-generator 2> "$out/train-no-generator.log"
$bin eval --zoo zoo/paper --detector detectors/paper-no-generator --out "$out/eval-no-generator" > "$out/eval-no-generator.md"
# Ours: the relation pair features.
$bin train --zoo zoo/paper --out detectors/paper-relation --pair-features relation 2> "$out/train-relation.log"
$bin eval --zoo zoo/paper --detector detectors/paper-relation --out "$out/eval-relation" > "$out/eval-relation.md"
for i in 1 2 3; do
  $bin verify --json --detector detectors/paper-two-stage zoo/paper/models/resnet18-s0.safetensors \
    zoo/paper/models/resnet18-s0-ft-mnist.safetensors
done > "$out/verify-timing.json"
/usr/bin/time -f "bench: %e s" $bin bench --zoo zoo/paper --detector detectors/paper-two-stage --out "$out/bench" > "$out/bench.md"
