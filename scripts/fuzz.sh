#!/usr/bin/env bash
# Fuzzes every model-file reader with libFuzzer under AddressSanitizer and
# UndefinedBehaviorSanitizer (clang, Debian's libfuzzer-14-dev).
#   bash scripts/fuzz.sh --smoke          each target for a few seconds (CI)
#   bash scripts/fuzz.sh --runs 10000000  each target for N executions
#   bash scripts/fuzz.sh --seconds 1800   each target for N seconds
#   bash scripts/fuzz.sh --build-only     build the targets, run nothing
# Seeds: the committed fixtures of tests/io/fixtures, by format (and
# tests/registry/fixtures for the fingerprint decoder). A crash,
# sanitizer report or leak fails the run and leaves its input in out/fuzz/.
set -euo pipefail
cd "$(dirname "$0")/.."
mode=(-max_total_time=10)
case "${1:-}" in
  --smoke) mode=(-max_total_time="${2:-8}") ;;
  --runs) mode=(-runs="$2") ;;
  --seconds) mode=(-max_total_time="$2") ;;
  --build-only) mode=() ;;
  "") ;;
  *) echo "usage: $0 [--smoke [S] | --runs N | --seconds S | --build-only]" >&2; exit 2 ;;
esac
build=build-fuzz
CC=clang CXX=clang++ cmake -S tests/fuzz -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Debug >/dev/null
cmake --build "$build" >/dev/null
[ "${1:-}" = "--build-only" ] && exit 0
out=out/fuzz
mkdir -p "$out"
fixtures=tests/io/fixtures
seeds_for() {  # reader -> seed files
  case "$1" in
    safetensors) find "$fixtures" -name '*.safetensors' ;;
    pytorch) find "$fixtures" -name '*.pt' -o -name '*.ckpt' ;;
    gguf) find "$fixtures" -name '*.gguf' ;;
    onnx) find "$fixtures" -name '*.onnx' ;;
    tflite) find "$fixtures" -name '*.tflite' ;;
    keras_h5) find "$fixtures" -name '*.h5' ;;
    keras_zip) find "$fixtures" -name '*.keras' ;;
    tfjs) find "$fixtures" -path '*tfjs_graph*' -name 'model.json' ;;  # its shards match the target's file names
    fingerprint) find tests/registry/fixtures -name '*.fingerprint' ;;
    sentencepiece) find tests/compare/fixtures/llama -name 'tokenizer.model' ;;
    model_card) find tests/fuzz/seeds/model_card -type f ;;
  esac
}
status=0
for target in "$build"/fuzz_*; do
  reader=${target##*/fuzz_}
  corpus="$out/corpus-$reader"
  mkdir -p "$corpus"
  seeds_for "$reader" | while read -r f; do cp "$f" "$corpus/seed-$(basename "$f")"; done
  log="$out/$reader.log"
  if ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1 UBSAN_OPTIONS=print_stacktrace=1 \
     "$target" "${mode[@]}" -rss_limit_mb=2048 -max_len=1048576 -timeout=20 \
     -artifact_prefix="$out/$reader-" "$corpus" >"$log" 2>&1; then
    runs=$(grep -Eo '^Done [0-9]+ runs' "$log" | grep -Eo '[0-9]+' || echo "?")
    echo "$reader: $runs executions, no crash"
  else
    echo "$reader: FAILED (see $log)"; tail -20 "$log"; status=1
  fi
done
exit $status
