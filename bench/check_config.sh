#!/usr/bin/env bash
# Configuration check time (issue 2): `watchd --check-config` on generated
# files of 10,000 and 20,000 http checks against `monit -t` on equivalent
# Monit control files; median of 10 runs each.
#
#   bench/check_config.sh [--sizes 10000,20000] [--repeat 10] [--help]
#
# Needs python3 and monit; builds build-bench/watchd unless
# WATCHD=/path/to/watchd is set. Prints a Markdown table with PASS/MISS;
# exits non-zero only when it could not run.
source "$(dirname "$0")/common.sh"
bench_require monit
bench_run check_config.py "$@"
