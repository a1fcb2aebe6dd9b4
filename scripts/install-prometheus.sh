#!/usr/bin/env bash
# Installs Prometheus and promtool from Debian (bookworm: 2.42). The rollout providers'
# tests run a real Prometheus on 127.0.0.1 (internal/promtest) and backfill it with
# promtool. Idempotent: does nothing when `prometheus --version` and promtool work;
# refreshes the package lists only when the package cannot be found without it.
set -euo pipefail

if prometheus --version >/dev/null 2>&1 && promtool --version >/dev/null 2>&1; then
	echo "prometheus: already installed ($(prometheus --version 2>&1 | head -n1))"
	exit 0
fi

sudo=""
if [ "$(id -u)" -ne 0 ]; then
	sudo="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
echo "prometheus: installing Debian's prometheus package"
if ! $sudo apt-get install -y -qq --no-install-recommends prometheus; then
	$sudo apt-get update -qq
	$sudo apt-get install -y -qq --no-install-recommends prometheus
fi
prometheus --version 2>&1 | head -n1
