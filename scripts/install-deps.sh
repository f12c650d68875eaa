#!/usr/bin/env bash
# Installs every Debian 12 package backflow needs to build, test and run its demo.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
packages=(
  build-essential cmake pkg-config git ca-certificates
  libpqxx-dev libpq-dev libcurl4-openssl-dev nlohmann-json3-dev libspdlog-dev libyaml-cpp-dev
  libgtest-dev libgmock-dev libcpp-httplib-dev libcli11-dev libssl-dev libsystemd-dev libjemalloc-dev
  postgresql postgresql-contrib curl python3 systemd time
  chromium  # tests/browser: the dashboard in a real headless browser
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "Installing: ${missing[*]}"
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# The Debian package starts a default cluster we do not use; backflow's tests and demo
# start their own throwaway clusters.
