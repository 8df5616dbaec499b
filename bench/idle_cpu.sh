#!/usr/bin/env bash
# Idle CPU (issue 2): 100 http checks at 10s against a local nginx for 60s;
# watchd must use <= 0.5% of a core.
#
#   bench/idle_cpu.sh [--checks 100] [--interval 10s] [--duration 60] [--help]
#
# Needs python3 and nginx (nginx-light); builds build-bench/watchd unless
# WATCHD=/path/to/watchd is set. Prints a Markdown table with PASS/MISS;
# exits non-zero only when it could not run.
source "$(dirname "$0")/common.sh"
bench_require nginx
bench_run idle_cpu.py "$@"
