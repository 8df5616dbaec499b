#!/usr/bin/env bash
# CPU time per HTTP probe (issue 2): watchd and Monit 5.33 side by side,
# 1,000 checks each against the same local nginx (Monit: `set daemon 1`,
# run in the foreground; watchd: 1s interval). About 2 minutes.
#
#   bench/cpu_per_probe.sh [--checks 1000] [--duration 40] [--help]
#
# Needs python3, nginx (nginx-light) and monit; builds build-bench/watchd
# unless WATCHD=/path/to/watchd is set. Prints a Markdown table; exits
# non-zero only when it could not run.
source "$(dirname "$0")/common.sh"
bench_require nginx monit
bench_run cpu_per_probe.py "$@"
