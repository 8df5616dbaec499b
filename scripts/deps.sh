#!/usr/bin/env bash
# Installs the Debian packages watchd needs to build (and, with --test, to
# run its tests against real servers; with --bench, to run bench/*.sh:
# nginx, wrk, Monit, supervisord). apt-get only when something is missing.
set -euo pipefail

pkgs=(build-essential cmake ninja-build pkg-config
      libcurl4-openssl-dev libc-ares-dev libyaml-cpp-dev libspdlog-dev
      libsystemd-dev nlohmann-json3-dev)
for arg in "$@"; do
  case $arg in
    --test)
      pkgs+=(libgtest-dev libbenchmark-dev python3 openssl supervisor
             nginx-light dnsmasq-base prometheus clang-format
             python3-aiosmtpd  # the SMTP server mail notifications are tested on
             chromium  # headless, loads the status page at / in its e2e test
             groff-base man-db  # the man pages are rendered and linted
             clang libclang-rt-14-dev  # libFuzzer: scripts/fuzz.sh
             systemd)  # systemd-analyze verifies the unit; PID 1 is not touched
      ;;
    --bench)  # bench/*.sh: the servers and the tools watchd is compared with
      pkgs+=(libbenchmark-dev python3 nginx-light wrk monit supervisor)
      ;;
    *)
      echo "usage: $0 [--test] [--bench]" >&2
      exit 2
      ;;
  esac
done

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
    missing+=("$p")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

sudo=""
[[ $(id -u) -ne 0 ]] && sudo="sudo"
echo "installing: ${missing[*]}" >&2
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
