# shellcheck shell=bash
# Sourced by the load benchmarks (bench/*.sh): checks the tools, raises the
# file descriptor limit, and finds watchd: $WATCHD, --watchd PATH, or
# build-bench/watchd, built (or brought up to date) here.
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_DIR=$(dirname "$BENCH_DIR")

bench_die() {
  echo "$(basename "$0"): $*" >&2
  exit 2
}

# bench_require TOOL...: every tool must be on PATH.
bench_require() {
  local tool missing=()
  for tool in "$@"; do
    command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
  done
  if ((${#missing[@]})); then
    bench_die "missing tool(s): ${missing[*]}" \
      "(Debian: apt-get install python3 nginx-light wrk monit)"
  fi
}

# bench_nofile N: raise the open-file limit to N (or as far as allowed).
bench_nofile() {
  ulimit -n "$1" 2>/dev/null || ulimit -n "$(ulimit -Hn)"
}

# bench_watchd ARGS...: sets WATCHD unless it is set or ARGS hold --watchd
# or --help.
bench_watchd() {
  local arg
  for arg in "$@"; do
    case $arg in
      --watchd | --watchd=* | -h | --help) return 0 ;;
    esac
  done
  if [[ -n ${WATCHD:-} ]]; then
    [[ -x $WATCHD ]] || bench_die "WATCHD=$WATCHD is not an executable"
    return 0
  fi
  local build=$REPO_DIR/build-bench
  bench_require cmake ninja
  if [[ ! -f $build/build.ninja ]]; then
    cmake -S "$REPO_DIR" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
      -DWATCHD_TESTS=OFF >&2 || bench_die "cmake configure failed"
  fi
  cmake --build "$build" --target watchd >&2 ||
    bench_die "building watchd failed (or set WATCHD=/path/to/watchd)"
  export WATCHD=$build/watchd
}

# bench_watchctl ARGS...: sets WATCHCTL unless it is set or ARGS hold
# --watchctl or --help: the watchctl beside $WATCHD, else build-bench's,
# built (or brought up to date) here. Call it after bench_watchd.
bench_watchctl() {
  local arg
  for arg in "$@"; do
    case $arg in
      --watchctl | --watchctl=* | -h | --help) return 0 ;;
    esac
  done
  if [[ -n ${WATCHCTL:-} ]]; then
    [[ -x $WATCHCTL ]] || bench_die "WATCHCTL=$WATCHCTL is not an executable"
    return 0
  fi
  local build=$REPO_DIR/build-bench
  local beside
  beside=$(dirname "${WATCHD:-$build/watchd}")/watchctl
  if [[ ${WATCHD:-} != "$build/watchd" && -x $beside ]]; then
    export WATCHCTL=$beside
    return 0
  fi
  bench_require cmake ninja
  if [[ ! -f $build/build.ninja ]]; then
    cmake -S "$REPO_DIR" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
      -DWATCHD_TESTS=OFF >&2 || bench_die "cmake configure failed"
  fi
  cmake --build "$build" --target watchctl >&2 ||
    bench_die "building watchctl failed (or set WATCHCTL=/path/to/watchctl)"
  export WATCHCTL=$build/watchctl
}

# bench_run SCRIPT.py ARGS...: the common set-up, then the Python side.
bench_run() {
  local script=$1
  shift
  bench_require python3
  bench_nofile 65536
  bench_watchd "$@"
  export PYTHONDONTWRITEBYTECODE=1
  BENCH_COMMAND="bench/$(basename "$0")${*:+ $*}"
  export BENCH_COMMAND
  exec python3 "$BENCH_DIR/$script" "$@"
}
