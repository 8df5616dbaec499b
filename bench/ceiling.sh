#!/usr/bin/env bash
# Probe-rate ceiling (issue 2): steps of more http checks at 100ms (2,000
# probes/s, 4,000, ...) until watchd completes < 95% of them or its lateness
# p99 passes 5 ms; then wrk -t1 -c50 'Connection: close' against the same
# nginx. Goal: watchd's highest sustained rate >= half of wrk's. About
# 25s per step: under 6 minutes in all.
#
#   bench/ceiling.sh [--steps 200,400,...] [--interval 100ms] [--help]
#
# Needs python3, nginx (nginx-light) and wrk; builds build-bench/watchd
# unless WATCHD=/path/to/watchd is set. Prints a Markdown table with
# PASS/MISS; exits non-zero only when it could not run.
source "$(dirname "$0")/common.sh"
bench_require nginx wrk
bench_run ceiling.py "$@"
