#!/usr/bin/env bash
# State file writes under a restart storm (issue 9): 100 services, each a
# `sleep` behind a pidfile restarted by the command supervisor, whose tcp
# checks fail at once; watchd with daemon.state_file and without (`""`, or
# a state file in a missing directory where watchd refuses `""`),
# alternately (2 runs each), 3 storms per run; then one run under perf to
# attribute watchd's CPU to the state code. About 4 minutes.
#
#   bench/state_storm.sh [--services 100] [--storms 3] [--rounds 2]
#                        [--no-perf] [--help]
#
# Needs python3 and /bin/sh; perf (optional, for the attribution); builds
# build-bench/watchd unless WATCHD=/path/to/watchd is set. Prints a Markdown
# table with PASS/MISS; exits non-zero only when it could not run.
source "$(dirname "$0")/common.sh"
bench_run state_storm.py "$@"
