#!/usr/bin/env bash
# Installs everything the build and the tests need. Idempotent; every version is pinned.
# Safe to run on a fresh machine and on every `make run` / `make test`.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "setup: Go modules"
go mod download

# Node.js runs the edge functions (workerd, node:wasi) and the npm clients the tests use.
# Machines of this project's kind come with Node.js 20; install Debian's when it is missing.
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
	echo "setup: installing Node.js and npm from Debian"
	if [ "$(id -u)" -eq 0 ]; then
		apt-get update -qq && apt-get install -y -qq nodejs npm
	else
		sudo apt-get update -qq && sudo apt-get install -y -qq nodejs npm
	fi
fi

for step in scripts/install-*.sh; do
	[ -e "$step" ] || continue
	echo "setup: $step"
	bash "$step"
done
echo "setup: done"
