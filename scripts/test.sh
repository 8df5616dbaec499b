#!/usr/bin/env bash
# Installs what the tests need, builds watchd twice (plain, and with
# AddressSanitizer + UndefinedBehaviorSanitizer) and runs every test in
# both, then runs the threaded tests under ThreadSanitizer.
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

# ThreadSanitizer, on the tests that run threads: the metrics server and
# the cells it reads while the loop writes them, the state writer, the
# reload thread and the child-process reaper, and the end-to-end faults
# that drive them in the real watchd. The rest of the suite runs one
# thread and would only cost build time here.
tsan_tests=(scrape_server_test metrics_test cells_test series_collector_test
            text_writer_test state_writer_test child_process_test
            status_page_test metrics_endpoint_test signals_test
            state_storage_test)
dir=build-test-tsan
echo "=== tsan: build" >&2
cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DWATCHD_TESTS=ON -DWATCHD_BENCH=OFF -DWATCHD_TSAN=ON >/dev/null
cmake --build "$dir" -j "$jobs" --target watchd watchctl "${tsan_tests[@]}"
echo "=== tsan: test" >&2
export TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1
for t in "${tsan_tests[@]}"; do
  "$dir/$t" --gtest_brief=1 || { echo "tsan: $t failed" >&2; status=1; }
done

echo "=== fuzz" >&2
# Each target for 20 s after replaying its regressions (docs/fuzzing.md).
scripts/fuzz.sh 20 || status=1

echo "=== format" >&2
if ! git ls-files '*.cc' '*.h' | xargs clang-format --dry-run -Werror; then
  echo "clang-format: files above are not formatted" >&2
  status=1
fi
exit $status
