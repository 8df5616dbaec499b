#!/bin/sh
# A stand-in for systemctl in watchd's tests (PID 1 is not systemd here).
# Usage: fake_systemctl.sh LOG MODE SYSTEMCTL-ARGS...
# Appends its systemctl arguments to LOG, one line per run, each argument in
# brackets: "[restart][web.service]". MODE:
#   ok       succeeds; `show` prints MainPID=4242 and ActiveState=active
#   stopped  succeeds; `show` prints MainPID=0 and ActiveState=inactive
#   fail     prints systemctl-like errors and exits 5
#   hang     writes its pid to LOG.pid, then sleeps (a child in its process
#            group) until killed
#   garbage  succeeds; `show` prints no MainPID
log=$1
mode=$2
shift 2
line=
verb=
unit=
for arg in "$@"; do
  line="$line[$arg]"
  case $arg in
    -*) ;;
    *) [ -z "$verb" ] && verb=$arg ;;
  esac
  unit=$arg
done
printf '%s\n' "$line" >> "$log"
case $mode in
  fail)
    echo "Failed to $verb $unit: Unit $unit not found." >&2
    echo "See system logs for details." >&2
    exit 5
    ;;
  hang)
    echo $$ > "$log.pid.tmp"
    mv "$log.pid.tmp" "$log.pid"
    sleep 1000
    exit 0
    ;;
esac
if [ "$verb" = show ]; then
  case $mode in
    ok) printf 'ActiveState=active\nMainPID=4242\n' ;;
    stopped) printf 'MainPID=0\nActiveState=inactive\n' ;;
    garbage) printf 'hello\n' ;;
  esac
fi
exit 0
