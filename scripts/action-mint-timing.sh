#!/usr/bin/env bash
# Median wall time of one mint by the built action binary, run as the runner runs it (environment
# only), against `metamint emulator` in another process. Usage: scripts/action-mint-timing.sh [runs]
set -euo pipefail
runs=${1:-31}
dir=$(mktemp -d)
trap 'kill "${emu:-}" 2>/dev/null || true; rm -rf "$dir"' EXIT
CGO_ENABLED=0 go build -trimpath -ldflags '-s -w' -o "$dir/metamint-action" ./cmd/action
go build -o "$dir/metamint" ./cmd/metamint
echo "binary: $(stat -c %s "$dir/metamint-action") bytes"
"$dir/metamint" emulator --addr 127.0.0.1:0 >"$dir/emu.env" 2>/dev/null &
emu=$!
for _ in $(seq 50); do grep -q '^export METAMINT_SYSTEM_USER_ID' "$dir/emu.env" 2>/dev/null && break; sleep 0.1; done
# shellcheck disable=SC1090
source <(grep '^export' "$dir/emu.env")
mint() {
  env -i "INPUT_APP-ID=$METAMINT_APP_ID" "INPUT_APP-SECRET=$METAMINT_APP_SECRET" \
    "INPUT_ACCESS-TOKEN=$METAMINT_ACCESS_TOKEN" "INPUT_SYSTEM-USER-ID=$METAMINT_SYSTEM_USER_ID" \
    "INPUT_SCOPES=ads_read,business_management" "INPUT_GRAPH-API-URL=$METAMINT_GRAPH_API_URL" \
    "INPUT_INSTALL-APP=$1" "GITHUB_OUTPUT=$dir/output" "GITHUB_STATE=$dir/state" \
    "$dir/metamint-action" >/dev/null
}
mint true # installs the app once; the timed runs only mint and inspect
for _ in $(seq "$runs"); do
  start=$(date +%s%N); mint false; end=$(date +%s%N)
  echo $(((end - start) / 1000))
done | sort -n | awk '{t[NR] = $1} END {printf "runs=%d min=%.2fms median=%.2fms max=%.2fms\n", NR, t[1] / 1000, t[int((NR + 1) / 2)] / 1000, t[NR] / 1000}'
