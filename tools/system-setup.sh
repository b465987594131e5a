#!/usr/bin/env bash
# System parts the grader needs, from Debian's packages: `tools/system-setup.sh sandbox` installs
# bubblewrap and debootstrap and builds the grading environment's root file system when it is missing
# (the local sandbox runs it); `tools/system-setup.sh docker` also installs docker.io, starts dockerd
# without a bridge network, and imports the same root file system as the sandbox image (built once for both);
# `tools/system-setup.sh all` also installs what the service's tests start themselves: redis-server,
# PostgreSQL and docker-compose (the tests run private instances on 127.0.0.1 and random ports), and Chromium
# for the browser tests.
# Idempotent: what is already there is left alone. Installing needs root.
set -euo pipefail
what="${1:-sandbox}"
venv_bin="${VENV_BIN:-.venv/bin}"

need=()
command -v bwrap >/dev/null || need+=(bubblewrap)
command -v debootstrap >/dev/null || need+=(debootstrap)   # the grading environment's root file system
if [ "$what" = all ]; then
  command -v redis-server >/dev/null || need+=(redis-server)
  [ -x /usr/lib/postgresql/15/bin/postgres ] || ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || need+=(postgresql)
  command -v docker-compose >/dev/null || need+=(docker-compose)
  command -v chromium >/dev/null || need+=(chromium)               # the browser tests (Playwright drives it)
  command -v chromedriver >/dev/null || need+=(chromium-driver)
fi
if [ "$what" = docker ] || [ "$what" = all ]; then
  command -v dockerd >/dev/null || need+=(docker.io)
fi
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "error: missing ${need[*]}; install them as root: apt-get install ${need[*]}" >&2
    exit 1
  fi
  echo "installing ${need[*]} from Debian ..."
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi

if [ "$what" = docker ] || [ "$what" = all ]; then
  if ! docker info >/dev/null 2>&1; then
    echo "starting dockerd (no bridge network: sandbox containers run with --network none) ..."
    nohup dockerd --bridge=none --iptables=false --ip6tables=false >/var/log/beras-dockerd.log 2>&1 &
    for _ in $(seq 1 60); do docker info >/dev/null 2>&1 && break; sleep 1; done
    docker info >/dev/null 2>&1 || { echo "error: dockerd did not start; see /var/log/beras-dockerd.log" >&2; exit 1; }
  fi
  "$venv_bin/beras-grader" image build --docker yes
else
  # The demo: the root file system the local sandbox runs (imported into Docker too, if a daemon answers).
  "$venv_bin/beras-grader" image build --docker auto
fi
