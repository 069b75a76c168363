#!/usr/bin/env bash
# MGMP in the reference code's setting (issue 13; docs/zoo.md "reference"):
# the reference zoo, then one detector per source (two-stage, and the
# no-generator ablation), each evaluated on the held-out
# blocks; BatchNorm drift; verify timing. Outputs go to out/reference/.
#   bash scripts/bench_reference.sh [TRAIN-FLAGS...]   extra flags for every `train`
set -euo pipefail
cd "$(dirname "$0")/.."
bin=build/tools/modeldna/modeldna
out=out/reference
mkdir -p "$out"
/usr/bin/time -f "zoo build: %e s" $bin zoo build --preset reference --out zoo/reference > "$out/zoo.txt"
$bin zoo show --summary --zoo zoo/reference > "$out/zoo-summary.md"
# Three seeds for the training source, one for the held-out one (2 cores:
# a two-stage detector takes about 4 minutes here).
for run in "resnet18-s0 0" "resnet18-s0 1" "resnet18-s0 2" "resnet18-s1 0"; do
  read -r source seed <<< "$run"
  for variant in two-stage no-generator; do
    name=$source-$variant-seed$seed
    flags=(--schedule two-stage)
    [ "$variant" = no-generator ] && flags+=(--no-generator)
    /usr/bin/time -f "train $name: %e s" $bin train --zoo zoo/reference --out detectors/reference-$name \
      --sources $source --seed $seed "${flags[@]}" "$@" 2> "$out/train-$name.log"
    $bin eval --zoo zoo/reference --detector detectors/reference-$name --out "$out/eval-$name" > "$out/eval-$name.md"
  done
done
python3 scripts/summarize_reference.py "$out" > "$out/summary.md"
$bin zoo drift --zoo zoo/reference --json > "$out/drift.json"
for i in 1 2 3; do
  $bin verify --json --detector detectors/reference-resnet18-s0-two-stage-seed0 \
    zoo/reference/models/resnet18-s0.safetensors zoo/reference/models/resnet18-s0-ft-fashion-block-3.safetensors
done > "$out/verify-timing.json"
