#!/usr/bin/env bash
# The tiny Llama and llama.cpp's own conversions of it
# (tests/compare/fixtures/llama): compare's verdict, relation, how every
# target tensor was paired, and its time (median of 3 wall-clock runs).
set -euo pipefail
cd "$(dirname "$0")/.."
bin=build/tools/modeldna/modeldna
dir=tests/compare/fixtures/llama
printf '| target | verdict | relation | tested | from source / modified / new | paired by name / block alignment | compare time |\n|---|---|---|---:|---|---|---:|\n'
for f in base-f16 base-q8_0 base-q6_k base-q4_k_m finetune-q8_0 depth-pruned-q8_0 vocab-extended-q8_0 scratch-q8_0; do
  times=()
  for i in 1 2 3; do
    start=$(date +%s.%N)
    "$bin" compare "$dir/base/model.safetensors" "$dir/$f.gguf" --json > /tmp/bench_llama.json
    times+=("$(echo "$(date +%s.%N) - $start" | bc)")
  done
  median=$(printf '%s\n' "${times[@]}" | sort -n | sed -n 2p)
  /usr/bin/python3 - "$f" "$median" <<'PY'
import json, sys, collections
r = json.load(open('/tmp/bench_llama.json'))
v = collections.Counter(l['verdict'] for l in r['layers'])
m = collections.Counter(l['matched_by'] for l in r['layers'])
print(f"| {sys.argv[1]}.gguf | {r['verdict']} | {r['relation']} | {len(r['layers'])} | "
      f"{v['from source']} / {v['modified']} / {v['new']} | {m['name']} / {m['block alignment']} | {float(sys.argv[2]):.2f} s |")
PY
done
