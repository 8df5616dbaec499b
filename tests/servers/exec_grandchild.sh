#!/bin/sh
# Test helper for child_process_test: forks a grandchild (in the same
# process group) that ignores SIGTERM, writes its pid to $1 atomically, and
# waits for it, so only a SIGKILL of the whole group ends both.
trap '' TERM
sleep 1000 &
echo $! > "$1.tmp"
mv "$1.tmp" "$1"
wait
