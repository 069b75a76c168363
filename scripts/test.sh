#!/usr/bin/env bash
# The README's test command: installs what is needed, builds, runs every test.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh
# Data the setup fetched must be there: a missing data set fails, never skips.
MODELDNA_REQUIRE_DATA=1 ctest --test-dir build --output-on-failure -j "$(nproc)"
# Every model-file reader under libFuzzer with ASan and UBSan, briefly (the
# long runs are recorded in BENCHMARKS.md).
bash scripts/fuzz.sh --smoke 5
