#!/usr/bin/env bash
# HTTP load (issue 2): 10,000 http checks at 1s against a local nginx, 60s
# window: probes/s, watchd CPU, RSS, scheduler lateness, failures; variant B
# with 100 checks pointed at a port that never answers.
#
#   bench/http_load.sh [--checks 10000] [--duration 60] [--warmup 10]
#                      [--variant A|B|both] [--jitter 10%] [--help]
#
# Needs python3 and nginx (nginx-light); builds build-bench/watchd unless
# WATCHD=/path/to/watchd is set. Prints a Markdown table per variant with
# PASS/MISS per target; exits non-zero only when it could not run.
source "$(dirname "$0")/common.sh"
bench_require nginx
bench_run http_load.py "$@"
