#!/bin/sh
# Checks deploy/backflow.service: `systemd-analyze verify` passes and the settings the
# deployment relies on are present. The unit names /usr/local/bin/backflow, which a CI
# machine does not have, so verify runs on a copy whose ExecStart points at a stand-in
# executable; everything else is verified as written.
#   usage: verify_unit.sh [path/to/backflow.service]
set -eu

unit="${1:-$(dirname "$0")/../../deploy/backflow.service}"
[ -f "$unit" ] || { echo "no such unit: $unit" >&2; exit 1; }

fail=0
require() {
  if ! grep -qxF -- "$1" "$unit"; then
    echo "missing: $1" >&2
    fail=1
  fi
}
require "Type=notify"
require "ExecStart=/usr/local/bin/backflow --config /etc/backflow/backflow.yaml run"
require 'ExecReload=/bin/kill -HUP $MAINPID'
require "WatchdogSec=60"
require "Restart=on-failure"
require "RestartSec=5"
require "TimeoutStopSec=90"
require "EnvironmentFile=-/etc/backflow/backflow.env"
require "User=backflow"
require "Group=backflow"
for d in NoNewPrivileges ProtectHome PrivateTmp PrivateDevices ProtectKernelTunables \
         ProtectKernelModules ProtectControlGroups LockPersonality MemoryDenyWriteExecute \
         RestrictRealtime; do
  require "$d=yes"
done
require "ProtectSystem=strict"
require "RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX"
require "SystemCallArchitectures=native"
require "CapabilityBoundingSet="
[ "$fail" = 0 ] || exit 1

command -v systemd-analyze >/dev/null || { echo "systemd-analyze not installed" >&2; exit 1; }
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
printf '#!/bin/sh\nexit 0\n' >"$tmp/backflow"
chmod +x "$tmp/backflow"
sed "s|^ExecStart=/usr/local/bin/backflow |ExecStart=$tmp/backflow |" "$unit" >"$tmp/backflow.service"
out="$(systemd-analyze verify "$tmp/backflow.service" 2>&1)" || {
  echo "$out" >&2
  exit 1
}
# verify exits 0 on some warnings; treat any line about our unit as a failure.
if printf '%s\n' "$out" | grep -q "backflow.service"; then
  echo "$out" >&2
  exit 1
fi
echo "deploy/backflow.service: OK"
