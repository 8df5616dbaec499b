#!/usr/bin/env bash
# Supervision CPU (issue 3): 1,000 pidfile-based services, each with a
# `process` and a `memory` check at 1s (pidfiles naming 10 `sleep`
# processes), 60s window after warm-up: watchd's CPU as % of one core.
#
#   bench/supervision_cpu.sh [--services 1000] [--sleeps 10] [--interval 1s]
#                            [--duration 60] [--warmup 10] [--target 10]
#                            [--keep] [--help]
#
# Needs python3; builds build-bench/watchd unless WATCHD=/path/to/watchd is
# set. Prints a Markdown table with PASS/MISS; exits non-zero only when it
# could not run.
source "$(dirname "$0")/common.sh"
bench_require sleep
bench_run supervision_cpu.py "$@"
