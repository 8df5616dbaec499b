#!/usr/bin/env bash
# Pid lookups through supervisord: 1,000 services under a real supervisord
# (`sleep 100000` programs), each with a `process` and a `memory` check at
# 10s, their pids asked of supervisord, against the same services found
# through pidfiles: watchd's CPU with supervisord <= 2x with pidfiles.
#
#   bench/supervision_lookup.sh [--services 1000] [--interval 10s]
#                               [--duration 60] [--warmup 15] [--rounds 2]
#                               [--target 2] [--keep] [--help]
#
# Needs python3 and supervisord; builds build-bench/watchd unless
# WATCHD=/path/to/watchd is set. Prints a Markdown table with PASS/MISS;
# exits non-zero only when it could not run.
source "$(dirname "$0")/common.sh"
bench_require supervisord
bench_run supervision_lookup.py "$@"
