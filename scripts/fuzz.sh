#!/usr/bin/env bash
# Usage: scripts/fuzz.sh [SECONDS [TARGET...]]
# Builds the libFuzzer targets of fuzz/ (docs/fuzzing.md) in build-fuzz and,
# for each (or each TARGET named, e.g. dns), replays every crash reproducer
# of fuzz/regressions/<name>/, then fuzzes it for SECONDS (default 20) on a
# temporary copy of its seed corpus. Exits non-zero if any target crashes,
# naming the reproducer.
# Installs nothing: clang and libclang-rt-14-dev come from
# `scripts/deps.sh --test`.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${1:-20}
if [[ ! $seconds =~ ^[1-9][0-9]*$ ]]; then
  echo "usage: $0 [SECONDS [TARGET...]]   (each target fuzzes SECONDS;" \
       "default 20)" >&2
  exit 2
fi
shift || true
targets=("$@")
if [[ ${#targets[@]} -eq 0 ]]; then
  for src in fuzz/*_fuzz.cc; do targets+=("$(basename "$src" _fuzz.cc)"); done
fi
for name in "${targets[@]}"; do
  if [[ ! -f fuzz/${name}_fuzz.cc ]]; then
    echo "fuzz: no target $name (fuzz/${name}_fuzz.cc)" >&2
    exit 2
  fi
done

if ! command -v clang >/dev/null || ! command -v clang++ >/dev/null; then
  echo "fuzz: clang not found; install it with: apt-get install clang" \
       "libclang-rt-14-dev (or scripts/deps.sh --test)" >&2
  exit 2
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo 'extern "C" int LLVMFuzzerTestOneInput(const char*, unsigned long) { return 0; }' \
  >"$tmp/probe.cc"
if ! clang++ -fsanitize=fuzzer,address,undefined "$tmp/probe.cc" \
       -o "$tmp/probe" 2>"$tmp/log"; then
  cat "$tmp/log" >&2
  echo "fuzz: clang cannot link libFuzzer and the sanitizers; install" \
       "libclang-rt-14-dev (or scripts/deps.sh --test)" >&2
  exit 2
fi

build=build-fuzz
echo "=== fuzz: build" >&2
cmake -S . -B "$build" -G Ninja -DCMAKE_C_COMPILER=clang \
  -DCMAKE_CXX_COMPILER=clang++ -DWATCHD_FUZZ=ON -DWATCHD_TESTS=OFF \
  -DWATCHD_BENCH=OFF >/dev/null
cmake --build "$build" --target fuzzers -j "$(nproc)"

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
# Crash inputs outlive the run (the corpus copies do not): in the build
# tree, never in the repository's files.
crashes=$build/crashes
status=0
for name in "${targets[@]}"; do
  bin=$build/fuzz/${name}_fuzz
  # One input may take at most 10 s and the process 2 GiB; beyond that
  # libFuzzer reports a timeout or an out-of-memory, as crashes.
  opts=(-rss_limit_mb=2048 -timeout=10)
  [[ -f fuzz/$name.dict ]] && opts+=(-dict="fuzz/$name.dict")

  mkdir -p "$crashes/$name"
  regressions=(fuzz/regressions/"$name"/*)
  if [[ -e ${regressions[0]} ]]; then
    echo "=== fuzz: $name: replaying ${#regressions[@]} reproducer(s)" >&2
    if ! "$bin" "${opts[@]}" -artifact_prefix="$crashes/$name/" \
         "${regressions[@]}" >"$tmp/$name.replay" 2>&1; then
      tail -n 40 "$tmp/$name.replay" >&2
      echo "fuzz: $name fails on a reproducer of fuzz/regressions/$name/" >&2
      status=1
      continue
    fi
  fi

  echo "=== fuzz: $name: ${seconds}s" >&2
  mkdir -p "$tmp/corpus"
  cp -r "fuzz/corpus/$name" "$tmp/corpus/$name"
  if "$bin" "${opts[@]}" -max_total_time="$seconds" \
       -artifact_prefix="$crashes/$name/" "$tmp/corpus/$name" \
       >"$tmp/$name.log" 2>&1; then
    grep '^Done' "$tmp/$name.log" >&2 || true
  else
    tail -n 60 "$tmp/$name.log" >&2
    reproducer=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' \
                   "$tmp/$name.log" | tail -n 1)
    echo "fuzz: $name crashed; reproduce with: $bin ${reproducer:-(see above)}" >&2
    status=1
  fi
done
exit $status
