#!/usr/bin/env bash
# The Python tools the tests need: moto_server (moto[server]), cfn-lint, and PyYAML for
# scripts/check-dependabot.py. Each one found on PATH is used as it is; only the missing ones are installed,
# at the pinned versions, into a virtual environment ($VENV, .tools/venv), whose bin/ the Makefile puts on
# PATH. So a machine with Go and Python 3 is enough, and a machine that has them installs nothing.
#
#   scripts/python-tools.sh plan      print the pip requirements that are missing, one a line (nothing: all there)
#   scripts/python-tools.sh install   install those into $VENV (python3 -m venv, pip from PyPI)
#   scripts/python-tools.sh dry-run   print the commands install would run, and run none
#
# The versions come from the Makefile (MOTO_VERSION, CFN_LINT_VERSION, PYYAML_VERSION).
set -euo pipefail

: "${MOTO_VERSION:?set by the Makefile}" "${CFN_LINT_VERSION:?set by the Makefile}" "${PYYAML_VERSION:?set by the Makefile}"
VENV=${VENV:-"$(cd "$(dirname "$0")/.." && pwd)/.tools/venv"}

plan() {
	command -v moto_server >/dev/null || echo "moto[server]==${MOTO_VERSION}"
	command -v cfn-lint >/dev/null || echo "cfn-lint==${CFN_LINT_VERSION}"
	if ! command -v python3 >/dev/null || ! python3 -c 'import yaml' 2>/dev/null; then
		echo "PyYAML==${PYYAML_VERSION}"
	fi
}

mode=${1:-}
case "$mode" in
plan)
	plan
	;;
install | dry-run)
	mapfile -t need < <(plan)
	if [ "${#need[@]}" -eq 0 ]; then
		exit 0
	fi
	if ! command -v python3 >/dev/null; then
		echo "python-tools: missing ${need[*]}, and python3 to install them with: install Python 3" >&2
		exit 1
	fi
	cmds=()
	[ -x "$VENV/bin/pip" ] || cmds+=("python3 -m venv $VENV")
	cmds+=("$VENV/bin/pip install --disable-pip-version-check --quiet ${need[*]}")
	if [ "$mode" = dry-run ]; then
		printf '%s\n' "${cmds[@]}"
		exit 0
	fi
	echo "python-tools: installing ${need[*]} into $VENV" >&2
	[ -x "$VENV/bin/pip" ] || python3 -m venv "$VENV"
	if ! "$VENV/bin/pip" install --disable-pip-version-check --quiet "${need[@]}"; then
		echo "python-tools: pip could not install ${need[*]} (is PyPI reachable?); install them yourself" >&2
		exit 1
	fi
	# The venv's bin/ is on PATH through the Makefile: check that every tool is found now.
	PATH="$VENV/bin:$PATH"
	mapfile -t still < <(plan)
	if [ "${#still[@]}" -ne 0 ]; then
		echo "python-tools: still missing after the install: ${still[*]}" >&2
		exit 1
	fi
	;;
*)
	echo "usage: $0 plan|install|dry-run" >&2
	exit 2
	;;
esac
