#!/bin/sh
# A stand-in for systemctl in watchd's tests (PID 1 is not systemd here).
# Usage: fake_systemctl.sh LOG MODE SYSTEMCTL-ARGS...
# Appends its systemctl arguments to LOG, one line per run, each argument in
# brackets: "[restart][web.service]". `show` takes several units (after
# "-p PROPERTY" options) and prints one block of properties per unit, in
# order, separated by an empty line, as systemctl does. MODE:
#   ok       succeeds; `show` prints LoadState=loaded, MainPID=4242 (N for a
#            unit named pid-N or pid-N.service) and ActiveState=active
#   stopped  succeeds; `show` prints MainPID=0 and ActiveState=inactive
#   fail     prints systemctl-like errors and exits 5
#   hang     writes its pid to LOG.pid, then sleeps (a child in its process
#            group) until killed
#   garbage  succeeds; `show` prints no MainPID
#   mainpid  succeeds; `show` prints the MainPID written in LOG.mainpid (0,
#            inactive, while there is none): a test replaces the process.
#            Without a MainPID and with LOG.result there, the unit is
#            failed with that Result (start-limit-hit: systemd gave up on
#            it); `reset-failed` removes LOG.result, as systemd forgets it
#   giveup   succeeds; `show` prints MainPID=0, ActiveState=failed and
#            Result=start-limit-hit (systemd stopped it for its start limit)
#   failed   the same with Result=exit-code (failed, not given up)
#   autorestart  succeeds; `show` prints MainPID=0, ActiveState=activating
#            and SubState=auto-restart (a restart by Restart= is pending)
# In modes ok and stopped, a unit whose name starts with "nosuch" is shown
# as systemd shows a unit it has no file for: LoadState=not-found.
log=$1
mode=$2
shift 2
line=
verb=
unit=
units=
property=
for arg in "$@"; do
  line="$line[$arg]"
  if [ -n "$property" ]; then
    property=
    continue
  fi
  case $arg in
    -p) property=1 ;;
    -*) ;;
    *)
      if [ -z "$verb" ]; then
        verb=$arg
      else
        unit=$arg
        units="$units $arg"
      fi
      ;;
  esac
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
if [ "$verb" = reset-failed ] && [ "$mode" = mainpid ]; then
  rm -f "$log.result"
fi
[ "$verb" = show ] || exit 0
if [ "$mode" = garbage ]; then
  printf 'hello\n'
  exit 0
fi
first=1
for u in $units; do
  [ -n "$first" ] || printf '\n'
  first=
  case $u in
    nosuch*)
      printf 'MainPID=0\nActiveState=inactive\nLoadState=not-found\n'
      continue
      ;;
  esac
  case $mode in
    ok)
      pid=4242
      case $u in
        pid-*)
          pid=${u#pid-}
          pid=${pid%.service}
          ;;
      esac
      printf 'ActiveState=active\nMainPID=%s\nLoadState=loaded\n' "$pid"
      ;;
    stopped) printf 'MainPID=0\nActiveState=inactive\nLoadState=loaded\n' ;;
    giveup | failed)
      result=start-limit-hit
      [ "$mode" = failed ] && result=exit-code
      printf 'ActiveState=failed\nSubState=failed\nResult=%s\nMainPID=0\n' \
        "$result"
      printf 'LoadState=loaded\n'
      ;;
    autorestart)
      printf 'ActiveState=activating\nSubState=auto-restart\nResult=exit-code\n'
      printf 'MainPID=0\nLoadState=loaded\n'
      ;;
    mainpid)
      pid=$(cat "$log.mainpid" 2>/dev/null)
      result=$(cat "$log.result" 2>/dev/null)
      if [ -n "$pid" ]; then
        printf 'ActiveState=active\nMainPID=%s\nLoadState=loaded\n' "$pid"
      elif [ -n "$result" ]; then
        printf 'ActiveState=failed\nSubState=failed\nResult=%s\n' "$result"
        printf 'MainPID=0\nLoadState=loaded\n'
      else
        printf 'MainPID=0\nActiveState=inactive\nLoadState=loaded\n'
      fi
      ;;
  esac
done
exit 0
