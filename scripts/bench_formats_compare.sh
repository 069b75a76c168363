#!/usr/bin/env bash
# Reruns the format and compare numbers of BENCHMARKS.md (issues 9-11):
# inspect and streaming on large generated files against cat, compare's
# speed and scaling, black-box overhead, and ProvBench with compare on both
# paper zoos. Needs the paper zoos (scripts/bench_paper.sh, bench_text.sh)
# and Debian's python3-numpy, python3-onnx, python3-torch for the generated
# files (about 10 GB under $LARGE, default /work/large or out/large).
set -euo pipefail
cd "$(dirname "$0")/.."
bin=build/tools/modeldna/modeldna
large=${LARGE:-out/large}
out=out/compare
mkdir -p "$out" "$large"
# The generator's Python packages (Debian's; never from PyPI).
missing=()
for p in python3-numpy python3-onnx python3-torch; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  sudo_cmd=""; [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
[ -f "$large/parent-1b.safetensors" ] || /usr/bin/python3 scripts/gen_large_models.py "$large"
warm() { cat "$@" > /dev/null; }
json_field() { /usr/bin/python3 -c "import json,sys; d=json.load(sys.stdin); print(' '.join(str(round(d[k], 2)) for k in sys.argv[1:]))" "$@"; }

echo "## inspect (headers only), warm cache" | tee "$out/formats.txt"
for f in parent-1b.safetensors parent-1b-f32.gguf child-1b-q8_0.gguf onnx-1gb/model.onnx; do
  warm "$large/$f"
  for i in 1 2 3; do
    /usr/bin/time -f "$f: CLI wall %e s, max RSS %M KB" $bin inspect --json "$large/$f" 2>>"$out/formats.txt" | json_field open_ms | sed "s|^|$f open_ms |" >> "$out/formats.txt"
  done
done
echo "## streaming every tensor (inspect --stats) against cat, warm cache" | tee -a "$out/formats.txt"
for f in parent-1b.safetensors parent-1b-f32.gguf child-1b-q8_0.gguf onnx-1gb; do
  files="$large/$f"; [ -d "$files" ] && files="$large/$f/model.onnx $large/$f/weights.data"
  warm $files
  for i in 1 2 3; do
    /usr/bin/time -f "$f: cat %e s" cat $files > /dev/null 2>>"$out/formats.txt"
    /usr/bin/time -f "$f: stats CLI wall %e s, max RSS %M KB" $bin inspect --stats --json "$large/$f" 2>>"$out/formats.txt" | json_field stats_ms | sed "s|^|$f stats_ms |" >> "$out/formats.txt"
  done
done
npm=${MODELDNA_DATA_DIR:-data}/npm
for f in "$npm/human/models/faceres.json" "$npm/vad-web/dist/silero_vad_v5.onnx" "$npm/selfie_segmentation/selfie_segmentation.tflite"; do
  warm "$f"
  $bin inspect --stats --json "$f" | json_field open_ms stats_ms | sed "s|^|$(basename "$f") open_ms stats_ms |" >> "$out/formats.txt"
done

echo "## compare: scaling, safetensors parent vs GGUF Q8_0 child" | tee "$out/compare.txt"
for n in 10m 100m 1b; do
  warm "$large/parent-$n.safetensors" "$large/child-$n-q8_0.gguf"
  for i in 1 2 3; do
    /usr/bin/time -f "$n: cat both %e s" cat "$large/parent-$n.safetensors" "$large/child-$n-q8_0.gguf" > /dev/null 2>>"$out/compare.txt"
    /usr/bin/time -f "$n: compare CLI wall %e s, max RSS %M KB" $bin compare --json "$large/parent-$n.safetensors" \
      "$large/child-$n-q8_0.gguf" 2>>"$out/compare.txt" | /usr/bin/python3 -c "import json,sys; d=json.load(sys.stdin); print('$n', d['verdict'], d['relation'], round(d['log10_p']), 'white_box_ms', round(d['timings']['white_box_ms']))" >> "$out/compare.txt"
  done
done
echo "## compare: ResNet-18 (11.5M parameters, torch.save)" | tee -a "$out/compare.txt"
for t in resnet18-ft resnet18-independent; do
  for i in 1 2 3; do
    /usr/bin/time -f "$t: compare CLI wall %e s" $bin compare --json "$large/resnet18.pt" "$large/$t.pt" 2>>"$out/compare.txt" | \
      /usr/bin/python3 -c "import json,sys; d=json.load(sys.stdin); print('$t', d['verdict'], round(d['log10_p'], 1), 'white_box_ms', round(d['timings']['white_box_ms']))" >> "$out/compare.txt"
  done
done
echo "## compare: black-box overhead (paper zoo, 3 references)" | tee -a "$out/compare.txt"
z=zoo/paper/models
for i in 1 2 3; do
  $bin compare --json $z/resnet18-s0.safetensors $z/resnet18-s0-distill-resnet18.safetensors --reference $z/resnet18-s1.safetensors \
    --reference $z/alexnet-s0.safetensors --reference $z/alexnet-s1.safetensors | /usr/bin/python3 -c "import json,sys; d=json.load(sys.stdin); t=d['timings']; f=d['evidence']['black_box']['signals']['forward_ms']; print('black_box_ms', round(t['black_box_ms']), 'forward_ms', round(f), 'ratio', round(t['black_box_ms'] / f, 2))" >> "$out/compare.txt"
done
echo "## ProvBench with compare" | tee -a "$out/compare.txt"
# compare only: the other detectors' ProvBench rows are scripts/bench_paper.sh's and bench_text.sh's.
/usr/bin/time -f "image bench: %e s" $bin bench --zoo zoo/paper --detectors compare --out "$out/bench-image" > "$out/bench-image.md" 2>>"$out/compare.txt"
[ -d zoo/text-paper ] && /usr/bin/time -f "text bench: %e s" $bin bench --zoo zoo/text-paper --detectors compare --out "$out/bench-text" > "$out/bench-text.md" 2>>"$out/compare.txt"
cat "$out/formats.txt" "$out/compare.txt"
