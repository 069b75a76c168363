#!/usr/bin/env bash
# The README's main job, end to end on a fresh machine: install, build, train a
# tiny zoo with recorded lineage, train an MGMP detector on it, measure it, and
# ask it about one pair; then the same on text models.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh
bin=build/tools/modeldna/modeldna
$bin zoo build --preset tiny --out zoo/tiny
$bin train --zoo zoo/tiny --out detectors/tiny-mgmp
$bin eval --zoo zoo/tiny --detector detectors/tiny-mgmp
$bin verify --detector detectors/tiny-mgmp zoo/tiny/models/lenet-s0.safetensors zoo/tiny/models/lenet-s0-ft-mnist.safetensors
$bin verify --detector detectors/tiny-mgmp zoo/tiny/models/lenet-s0.safetensors zoo/tiny/models/lenet-scratch-mnist.safetensors
$bin zoo build --modality text --preset tiny --out zoo/text-tiny
$bin train --zoo zoo/text-tiny --out detectors/text-tiny-mgmp --pair-features relation
$bin eval --zoo zoo/text-tiny --detector detectors/text-tiny-mgmp
$bin verify --detector detectors/text-tiny-mgmp zoo/text-tiny/models/text-transformer-s0.safetensors \
  zoo/text-tiny/models/text-transformer-s0-ft-sotu-era.safetensors
$bin verify --detector detectors/text-tiny-mgmp zoo/text-tiny/models/text-transformer-s0.safetensors \
  zoo/text-tiny/models/text-transformer-scratch-sotu-era.safetensors
