#!/usr/bin/env bash
# Installs the feature-flag SDKs that `make bench-peers` compares edgeflag's edge module with
# (LaunchDarkly's server SDK, flagd-core, the Unleash client; pinned in
# bench/peers/package-lock.json). The cross-check test in tests/ runs it too.
set -euo pipefail
exec bash "$(dirname "$0")/npm-install-locked.sh" bench/peers 20
