#!/usr/bin/env bash
# Installs what the tests need, builds watchd twice (plain, and with
# AddressSanitizer + UndefinedBehaviorSanitizer), and runs every test in both.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh --test

jobs=$(nproc)
status=0
for variant in release asan; do
  dir=build-test-$variant
  flags=(-DCMAKE_BUILD_TYPE=RelWithDebInfo -DWATCHD_TESTS=ON -DWATCHD_BENCH=ON)
  [[ $variant == asan ]] && flags+=(-DWATCHD_SANITIZE=ON -DWATCHD_BENCH=OFF)
  echo "=== $variant: build" >&2
  cmake -S . -B "$dir" -G Ninja "${flags[@]}" >/dev/null
  cmake --build "$dir" -j "$jobs"
  echo "=== $variant: test" >&2
  export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
  export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
  (cd "$dir" && ctest --output-on-failure -j "$jobs") || status=1
done

echo "=== format" >&2
if ! git ls-files '*.cc' '*.h' | xargs clang-format --dry-run -Werror; then
  echo "clang-format: files above are not formatted" >&2
  status=1
fi
exit $status
