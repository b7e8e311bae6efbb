#!/usr/bin/env bash
# Installs the system packages the test suite drives for real: redis-server, PostgreSQL 15
# binaries, Debian's Chromium (for Playwright), and wrk for bench/booking_load.py. Idempotent:
# apt runs only when something is missing, and `apt-get update` at most once.
set -euo pipefail

need=()
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
[ -x /usr/lib/postgresql/15/bin/initdb ] || need+=(postgresql-15)
[ -x /usr/bin/chromium ] || need+=(chromium)
command -v wrk >/dev/null 2>&1 || need+=(wrk)  # bench/booking_load.py drives the HTTP load with it

if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "missing system packages: ${need[*]} (run as root, or install them)" >&2
    exit 1
  fi
  echo "installing: ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
# A package install may start a system redis or postgres; the tests start their own on free ports.
systemctl disable --now redis-server >/dev/null 2>&1 || true
echo "system dependencies present"
