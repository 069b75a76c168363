#!/usr/bin/env bash
# Reproduces the text numbers of BENCHMARKS.md: the tiny and paper text zoos,
# MGMP on the paper text zoo (joint schedule, the default), verify timing, and
# ProvBench with every detector. Each step's output goes to out/text/.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=build/tools/modeldna/modeldna
out=out/text
mkdir -p "$out"
/usr/bin/time -f "tiny text zoo build: %e s" $bin zoo build --modality text --preset tiny --fresh --out zoo/text-tiny > "$out/zoo-tiny.txt"
/usr/bin/time -f "paper text zoo build: %e s" $bin zoo build --modality text --preset paper --out zoo/text-paper > "$out/zoo.txt"
$bin zoo show --summary --zoo zoo/text-paper > "$out/zoo-summary.md"
# The paper's classifier input (concat, the default), both schedules; then ours (relation).
$bin train --zoo zoo/text-paper --out detectors/text-paper-joint 2> "$out/train-joint.log"
$bin eval --zoo zoo/text-paper --detector detectors/text-paper-joint --out "$out/eval-joint" > "$out/eval-joint.md"
$bin train --zoo zoo/text-paper --out detectors/text-paper-two-stage --schedule two-stage 2> "$out/train-two-stage.log"
$bin eval --zoo zoo/text-paper --detector detectors/text-paper-two-stage --out "$out/eval-two-stage" > "$out/eval-two-stage.md"
$bin train --zoo zoo/text-paper --out detectors/text-paper-relation --pair-features relation 2> "$out/train-relation.log"
$bin eval --zoo zoo/text-paper --detector detectors/text-paper-relation --out "$out/eval-relation" > "$out/eval-relation.md"
$bin train --zoo zoo/text-paper --out detectors/text-paper-relation-two-stage --pair-features relation --schedule two-stage 2> "$out/train-relation-two-stage.log"
$bin eval --zoo zoo/text-paper --detector detectors/text-paper-relation-two-stage --out "$out/eval-relation-two-stage" > "$out/eval-relation-two-stage.md"
for i in 1 2 3; do
  $bin verify --json --detector detectors/text-paper-joint zoo/text-paper/models/text-transformer-s0.safetensors \
    zoo/text-paper/models/text-transformer-s0-ft-sotu-party.safetensors
done > "$out/verify-timing.json"
/usr/bin/time -f "bench: %e s" $bin bench --zoo zoo/text-paper --detector detectors/text-paper-joint --out "$out/bench" > "$out/bench.md"
/usr/bin/time -f "bench (relation): %e s" $bin bench --zoo zoo/text-paper --detector detectors/text-paper-relation --detectors mgmp --out "$out/bench-relation" > "$out/bench-relation.md"
