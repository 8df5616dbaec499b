#!/usr/bin/env bash
# Live reload (issue 9): `watchctl reload` of a 10,000-check configuration
# with one check changed between reloads, while the checks run (http, every
# 10s, against a local nginx): its wall time, the scheduler lateness of the
# other checks before, across and after the reloads, their counters kept;
# then `monit reload` of an equivalent 10,000-host control file, side by
# side: the time until Monit is checking again. About 3-4 minutes.
#
#   bench/reload.sh [--checks 10000] [--reloads 6] [--window 20]
#                   [--monit-reloads 4] [--perf] [--help]
#
# Needs python3, nginx (nginx-light) and monit; perf for --perf. Builds
# build-bench/watchd and watchctl unless WATCHD=/path/to/watchd is set
# (watchctl: $WATCHCTL, else the one beside $WATCHD). Prints a Markdown
# table with PASS/MISS; exits non-zero only when it could not run.
source "$(dirname "$0")/common.sh"
bench_require nginx monit
bench_watchd "$@"
bench_watchctl "$@"
bench_run reload.py "$@"
