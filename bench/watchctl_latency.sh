#!/usr/bin/env bash
# watchctl latency (issue 9): `watchctl summary` and `watchctl status --json`
# with 1,000 and 10,000 services while their http checks run (every 5s,
# against a local nginx), side by side with Monit 5.33's `monit summary` and
# `monit status` on as many `check host` entries, in turn; and watchd's
# scheduler lateness while `watchctl status --json` runs back to back, against
# idle windows before and after. About 4 minutes.
#
#   bench/watchctl_latency.sh [--sizes 1000,10000] [--repeat 15]
#                             [--interval 5s] [--window 15] [--help]
#
# Needs python3, nginx (nginx-light) and monit; builds build-bench/watchd and
# watchctl unless WATCHD=/path/to/watchd is set (watchctl: $WATCHCTL, else
# the one beside $WATCHD). Prints a Markdown table with PASS/MISS; exits
# non-zero only when it could not run.
source "$(dirname "$0")/common.sh"
bench_require nginx monit
bench_watchd "$@"
bench_watchctl "$@"
bench_run watchctl_latency.py "$@"
