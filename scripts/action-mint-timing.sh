#!/usr/bin/env bash
# Median wall time of one mint by the built action binary, run as the runner runs it (environment
# only), against `metamint emulator` in another process.
#
# Usage: scripts/action-mint-timing.sh [runs] [base-revision]
#
# With a base revision, the action binary built from that revision runs too, alternating with this
# tree's run by run against the same emulator, so both see the same machine load; the last line is
# the ratio of the medians (this tree ÷ base).
set -euo pipefail
runs=${1:-31}
base=${2:-}
dir=$(mktemp -d)
trap 'kill "${emu:-}" 2>/dev/null || true; git worktree remove --force "$dir/base-tree" 2>/dev/null || true; rm -rf "$dir"' EXIT
build() { (cd "$1" && CGO_ENABLED=0 go build -trimpath -ldflags '-s -w' -o "$2" ./cmd/action); }
build . "$dir/head"
bins=(head)
if [ -n "$base" ]; then
  git worktree add -q --detach "$dir/base-tree" "$base"
  build "$dir/base-tree" "$dir/base"
  bins=(head base)
fi
go build -o "$dir/metamint" ./cmd/metamint
for b in "${bins[@]}"; do echo "$b binary: $(stat -c %s "$dir/$b") bytes"; done
"$dir/metamint" emulator --addr 127.0.0.1:0 >"$dir/emu.env" 2>/dev/null &
emu=$!
for _ in $(seq 50); do grep -q '^export METAMINT_SYSTEM_USER_ID' "$dir/emu.env" 2>/dev/null && break; sleep 0.1; done
# shellcheck disable=SC1090
source <(grep '^export' "$dir/emu.env")
# The runner passes every input action.yml declares, each default evaluated; the given ones go on top.
mapfile -t defaults < <(python3 - action.yml <<'PY'
import sys, yaml
for name, spec in yaml.safe_load(open(sys.argv[1]))["inputs"].items():
    value = str((spec or {}).get("default", ""))
    value = value.replace("${{ github.api_url }}", "https://api.github.com")
    print(f"INPUT_{name.upper()}={value}")
PY
)
mint() {
  env -i "${defaults[@]}" "INPUT_APP-ID=$METAMINT_APP_ID" "INPUT_APP-SECRET=$METAMINT_APP_SECRET" \
    "INPUT_ACCESS-TOKEN=$METAMINT_ACCESS_TOKEN" "INPUT_SYSTEM-USER-ID=$METAMINT_SYSTEM_USER_ID" \
    "INPUT_SCOPES=ads_read,business_management" "INPUT_GRAPH-API-URL=$METAMINT_GRAPH_API_URL" \
    "INPUT_INSTALL-APP=$2" "GITHUB_OUTPUT=$dir/output" "GITHUB_STATE=$dir/state" \
    "$dir/$1" >/dev/null
}
mint head true # installs the app once; the timed runs only mint and inspect
grep -q '^token<<' "$dir/output" || { echo "the first mint wrote no token output" >&2; exit 1; }
for _ in $(seq "$runs"); do
  for b in "${bins[@]}"; do
    start=$(date +%s%N); mint "$b" false; end=$(date +%s%N)
    echo "$b $(((end - start) / 1000))" >>"$dir/times"
  done
done
median() { awk -v b="$1" '$1 == b {print $2}' "$dir/times" | sort -n | awk '{t[NR] = $1} END {print t[int((NR + 1) / 2)]}'; }
for b in "${bins[@]}"; do
  awk -v b="$b" '$1 == b {print $2}' "$dir/times" | sort -n |
    awk -v b="$b" '{t[NR] = $1} END {printf "%s: runs=%d min=%.2fms median=%.2fms max=%.2fms\n", b, NR, t[1] / 1000, t[int((NR + 1) / 2)] / 1000, t[NR] / 1000}'
done
if [ -n "$base" ]; then
  awk -v h="$(median head)" -v b="$(median base)" 'BEGIN {printf "median ratio head/base = %.3f\n", h / b}'
fi
