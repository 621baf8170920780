#!/usr/bin/env bash
# Tests of scripts/python-tools.sh's detection, run by make lint. PyPI is not reachable where the tests run,
# so the install itself is exercised through dry-run: with PATH lacking the tools, the script must plan to
# install exactly the missing ones at the pinned versions; with them present, nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
: "${MOTO_VERSION:?run through make}" "${CFN_LINT_VERSION:?run through make}" "${PYYAML_VERSION:?run through make}"

BASH_BIN=$(command -v bash)
PYTHON_BIN=$(command -v python3) || { echo "python-tools_test: python3 not found" >&2; exit 1; }
script="$PWD/scripts/python-tools.sh"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0

expect() { # name, want, got
	if [ "$2" != "$3" ]; then
		printf 'FAIL %s\n--- want\n%s\n--- got\n%s\n' "$1" "$2" "$3" >&2
		failures=$((failures + 1))
	else
		echo "ok   $1"
	fi
}

# A python3 without site-packages: no PyYAML, whatever this machine has installed.
mkdir -p "$tmp/bare" "$tmp/tools"
printf '#!/bin/sh\nexec "%s" -S "$@"\n' "$PYTHON_BIN" > "$tmp/bare/python3"
chmod +x "$tmp/bare/python3"
for t in moto_server cfn-lint; do printf '#!/bin/sh\nexit 0\n' > "$tmp/tools/$t"; chmod +x "$tmp/tools/$t"; done

run() { # PATH, mode
	PATH="$1" VENV="$tmp/venv" "$BASH_BIN" "$script" "$2"
}

# 1. The real PATH (make's, with .tools/venv/bin): after make tools nothing is missing, so nothing is installed.
expect "plan with the tools on PATH" "" "$(VENV="$tmp/venv" "$BASH_BIN" "$script" plan)"
expect "dry-run with the tools on PATH" "" "$(VENV="$tmp/venv" "$BASH_BIN" "$script" dry-run)"

# 2. Only Python 3: every tool is planned, pinned, into a new venv.
expect "plan with python3 only" "moto[server]==${MOTO_VERSION}
cfn-lint==${CFN_LINT_VERSION}
PyYAML==${PYYAML_VERSION}" "$(run "$tmp/bare" plan)"
expect "dry-run with python3 only" "python3 -m venv $tmp/venv
$tmp/venv/bin/pip install --disable-pip-version-check --quiet moto[server]==${MOTO_VERSION} cfn-lint==${CFN_LINT_VERSION} PyYAML==${PYYAML_VERSION}" \
	"$(run "$tmp/bare" dry-run)"

# 3. moto_server and cfn-lint present, PyYAML missing: only PyYAML.
expect "plan without PyYAML" "PyYAML==${PYYAML_VERSION}" "$(run "$tmp/tools:$tmp/bare" plan)"

# 4. A venv already there: no second venv, pip only.
mkdir -p "$tmp/venv/bin"
printf '#!/bin/sh\nexit 0\n' > "$tmp/venv/bin/pip"
chmod +x "$tmp/venv/bin/pip"
expect "dry-run with an existing venv" "$tmp/venv/bin/pip install --disable-pip-version-check --quiet PyYAML==${PYYAML_VERSION}" \
	"$(run "$tmp/tools:$tmp/bare" dry-run)"

# 5. No python3 at all: install fails, naming python3, and installs nothing.
set +e
out=$(run "$tmp/tools" install 2>&1)
code=$?
set -e
expect "install without python3: exit status" 1 "$code"
expect "install without python3: message" "python-tools: missing PyYAML==${PYYAML_VERSION}, and python3 to install them with: install Python 3" "$out"

if [ "$failures" -ne 0 ]; then
	echo "python-tools_test: $failures failed" >&2
	exit 1
fi
