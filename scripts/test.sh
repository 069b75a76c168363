#!/usr/bin/env bash
# The README's test command: installs what is needed, builds, runs every test.
#   bash scripts/test.sh             the suite and a fuzz smoke run (CI)
#   bash scripts/test.sh --sanitize  the whole suite built with AddressSanitizer
#                                    and UndefinedBehaviorSanitizer (build-sanitize/)
set -euo pipefail
cd "$(dirname "$0")/.."
case "${1:-}" in
  "" | --sanitize) ;;
  *) echo "usage: $0 [--sanitize]" >&2; exit 2 ;;
esac
bash scripts/setup.sh
if [ "${1:-}" = "--sanitize" ]; then
  cmake -S . -B build-sanitize -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMODELDNA_SANITIZE=ON >/dev/null
  cmake --build build-sanitize
  # Every report fails its test: ASan aborts, UBSan halts on the first
  # finding, leaks are checked. The tokenizer module is loaded uninstrumented
  # into a namespace of its own (src/data/sentencepiece_module.h).
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1:detect_stack_use_after_return=1 \
  UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
  MODELDNA_REQUIRE_DATA=1 ctest --test-dir build-sanitize --output-on-failure -j "$(nproc)"
  exit 0
fi
bash scripts/build.sh
# The fuzz targets (clang, ASan) build beside the suite, whose last minutes
# leave a core idle while one long test finishes (BENCHMARKS.md, "The
# README's test command on a fresh clone").
mkdir -p out
bash scripts/fuzz.sh --build-only > out/fuzz-build.log 2>&1 &
fuzz_build=$!
trap 'kill "$fuzz_build" 2>/dev/null || true' EXIT
# Data the setup fetched must be there: a missing data set fails, never skips.
MODELDNA_REQUIRE_DATA=1 ctest --test-dir build --output-on-failure -j "$(nproc)"
wait "$fuzz_build" || { cat out/fuzz-build.log; echo "the fuzz targets did not build" >&2; exit 1; }
trap - EXIT
# Every model-file reader under libFuzzer with ASan and UBSan, briefly (the
# long runs are recorded in BENCHMARKS.md).
bash scripts/fuzz.sh --smoke 1
