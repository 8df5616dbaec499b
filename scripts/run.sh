#!/usr/bin/env bash
# Builds watchd and runs it in the foreground on conf/watchd.yaml.
# Extra arguments go to watchd (e.g. -c other.yaml).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DWATCHD_TESTS=OFF -DWATCHD_BENCH=OFF >/dev/null
cmake --build build --target watchd
if [[ $# -eq 0 ]]; then set -- -c conf/watchd.yaml; fi
exec build/watchd "$@"
