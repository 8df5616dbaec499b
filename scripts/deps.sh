#!/usr/bin/env bash
# Installs the Debian packages watchd needs to build (and, with --test, to
# run its tests against real servers). apt-get only when something is missing.
set -euo pipefail

pkgs=(build-essential cmake ninja-build pkg-config
      libcurl4-openssl-dev libc-ares-dev libyaml-cpp-dev libspdlog-dev
      libsystemd-dev nlohmann-json3-dev)
if [[ "${1:-}" == "--test" ]]; then
  pkgs+=(libgtest-dev libbenchmark-dev python3 openssl supervisor
         nginx-light dnsmasq-base prometheus clang-format
         python3-aiosmtpd  # the SMTP server mail notifications are tested on
         systemd)  # systemd-analyze verifies the unit; PID 1 is not touched
fi

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
