#!/usr/bin/env bash
# Restart latency (issue 3): a SIGSTOPped HTTP server under a real
# supervisord, watchd vs Monit 5.33 side by side, each also watching 100
# other HTTP services of which 5 never answer. Median and max of the time
# from SIGSTOP to a new pid answering, over --hangs hangs per tool.
#
#   bench/restart_latency.sh [--hangs 10] [--tool watchd|monit|both]
#                            [--others 100] [--holes 5] [--interval 1]
#                            [--timeout 1] [--failures 3] [--stopwaitsecs 1]
#                            [--stop-timeout 2s] [--start-grace 1s] [--keep]
#                            [--help]
#
# Needs python3, supervisor, nginx (nginx-light) and monit; builds
# build-bench/watchd unless WATCHD=/path/to/watchd is set. Prints a Markdown
# table with PASS/MISS per target; exits non-zero only when it could not run.
source "$(dirname "$0")/common.sh"
bench_require nginx supervisord supervisorctl
bench_run restart_latency.py "$@"
