#!/usr/bin/env bash
# Configures and builds modeldna (Release-ish, ccache, Ninja) into build/.
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMODELDNA_WERROR=ON "$@" >/dev/null
cmake --build build
