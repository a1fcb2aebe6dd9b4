#!/usr/bin/env bash
# Installs everything the build and the tests need. Idempotent; every version is pinned.
# Safe to run on a fresh machine and on every `make run` / `make test`.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "setup: Go modules"
go mod download

for step in scripts/install-*.sh; do
	[ -e "$step" ] || continue
	echo "setup: $step"
	bash "$step"
done
echo "setup: done"
