#!/usr/bin/env bash
# demo.sh: build the metamint CLI, start its bundled Graph API emulator, and
# mint, inspect, refresh and revoke a system user token through it, the way a
# user would. Everything runs locally with emulator-only credentials: nothing
# talks to Meta. Tokens are shown masked (a short prefix), never whole.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
# Interleave metamint's diagnostics (stderr) with its output, as a terminal
# shows them, also when a CI log captures the two streams apart.
exec 2>&1
GO=${GO:-go}
BIN=bin/metamint

if [[ -t 1 ]]; then bold=$'\e[1m' dim=$'\e[2m' reset=$'\e[0m'; else bold='' dim='' reset=''; fi
heading() { printf '\n%s== %s%s\n' "$bold" "$*" "$reset"; }
# show prints a command as the user would type it.
show() { printf '%s$ %s%s\n' "$dim" "$*" "$reset"; }
# mask prints a short prefix of a secret: enough to tell tokens apart, useless
# to anyone reading the terminal or a CI log.
mask() { printf '%s… (%d characters)' "${1:0:6}" "${#1}"; }

workdir=$(mktemp -d)
emulator_pid=''
cleanup() {
	local status=$?
	if [[ -n $emulator_pid ]] && kill -0 "$emulator_pid" 2>/dev/null; then
		kill -TERM "$emulator_pid" 2>/dev/null || true
		wait "$emulator_pid" 2>/dev/null || true
	fi
	rm -rf "$workdir"
	exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

heading "Build the CLI"
show "go build -o $BIN ./cmd/metamint"
"$GO" build -o "$BIN" ./cmd/metamint

heading "Start the Graph API emulator on a free loopback port"
show "metamint emulator --addr 127.0.0.1:0 > emulator.env &"
"$BIN" emulator --addr 127.0.0.1:0 >"$workdir/emulator.env" 2>"$workdir/emulator.log" &
emulator_pid=$!
for _ in $(seq 100); do
	grep -q '^export METAMINT_SYSTEM_USER_ID=' "$workdir/emulator.env" && break
	if ! kill -0 "$emulator_pid" 2>/dev/null; then
		cat "$workdir/emulator.log" >&2
		exit 1
	fi
	sleep 0.1
done
if ! grep -q '^export METAMINT_SYSTEM_USER_ID=' "$workdir/emulator.env"; then
	echo "demo: the emulator printed no credentials within 10 s" >&2
	cat "$workdir/emulator.log" >&2
	exit 1
fi
# What the emulator printed, with its (emulator-only) secrets masked:
while IFS= read -r line; do
	case $line in
	"export METAMINT_APP_SECRET="* | "export METAMINT_ACCESS_TOKEN="*)
		value=${line#*=}
		value=${value//\'/}
		printf '%s=%s\n' "${line%%=*}" "$(mask "$value")"
		;;
	*) printf '%s\n' "$line" ;;
	esac
done <"$workdir/emulator.env"
show 'eval "$(cat emulator.env)"'
eval "$(cat "$workdir/emulator.env")"

heading "Mint a token for system user $METAMINT_SYSTEM_USER_ID, installing the app first"
show 'TOKEN=$(metamint mint --install-app --app-id "$METAMINT_APP_ID" \'
show '    --system-user-id "$METAMINT_SYSTEM_USER_ID" --scopes ads_read,business_management)'
TOKEN=$("$BIN" mint --install-app --app-id "$METAMINT_APP_ID" \
	--system-user-id "$METAMINT_SYSTEM_USER_ID" --scopes ads_read,business_management)
echo "TOKEN is $(mask "$TOKEN")"

heading "Inspect it with debug_token (the token itself is never printed)"
show 'printf '"'"'%s\n'"'"' "$TOKEN" | metamint inspect --app-id "$METAMINT_APP_ID" --token-stdin'
printf '%s\n' "$TOKEN" | "$BIN" inspect --app-id "$METAMINT_APP_ID" --token-stdin

expires_at=$(printf '%s\n' "$TOKEN" | "$BIN" inspect --app-id "$METAMINT_APP_ID" --token-stdin --json |
	sed -n 's/^  "expires_at": "\(.*\)",*$/\1/p')
heading "Refresh it"
if [[ -n $expires_at ]]; then
	# refresh hands over only a renewal, which expires later than the old
	# token; Graph's expiries count whole seconds, so let one pass.
	sleep 1
	show 'NEW_TOKEN=$(printf '"'"'%s\n'"'"' "$TOKEN" | metamint refresh --app-id "$METAMINT_APP_ID" --token-stdin)'
	NEW_TOKEN=$(printf '%s\n' "$TOKEN" | "$BIN" refresh --app-id "$METAMINT_APP_ID" --token-stdin)
	echo "NEW_TOKEN is $(mask "$NEW_TOKEN")"
else
	echo "The token never expires: refreshing would make it expire, so the demo skips it."
	NEW_TOKEN=''
fi

heading "Revoke the tokens"
show 'printf '"'"'%s\n'"'"' "$TOKEN" | metamint revoke --app-id "$METAMINT_APP_ID" --token-stdin'
printf '%s\n' "$TOKEN" | "$BIN" revoke --app-id "$METAMINT_APP_ID" --token-stdin
if [[ -n $NEW_TOKEN ]]; then
	show 'printf '"'"'%s\n'"'"' "$NEW_TOKEN" | metamint revoke --app-id "$METAMINT_APP_ID" --token-stdin'
	printf '%s\n' "$NEW_TOKEN" | "$BIN" revoke --app-id "$METAMINT_APP_ID" --token-stdin
fi

heading "A revoked token no longer inspects as valid"
show 'printf '"'"'%s\n'"'"' "$TOKEN" | metamint inspect --app-id "$METAMINT_APP_ID" --token-stdin'
if printf '%s\n' "$TOKEN" | "$BIN" inspect --app-id "$METAMINT_APP_ID" --token-stdin; then
	echo "demo: the revoked token still inspects as valid" >&2
	exit 1
else
	echo "(exit status $?)"
fi

heading "Mistakes are caught before anything is sent"
show 'metamint mint --app-id "$METAMINT_APP_ID" --system-user-id "$METAMINT_SYSTEM_USER_ID" --scopes manage_pages'
"$BIN" mint --app-id "$METAMINT_APP_ID" --system-user-id "$METAMINT_SYSTEM_USER_ID" --scopes manage_pages || echo "(exit status $?)"
show 'metamint mint --app-secret=... '
"$BIN" mint --app-secret=not-a-real-secret || echo "(exit status $?)"

heading "Stop the emulator"
show "kill %1"
kill -TERM "$emulator_pid"
wait "$emulator_pid" || true
emulator_pid=''
tail -n 1 "$workdir/emulator.log"
