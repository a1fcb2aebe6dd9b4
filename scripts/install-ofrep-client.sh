#!/usr/bin/env bash
# Installs the Node.js OFREP client the OFREP tests run (@openfeature/ofrep-provider and
# @openfeature/server-sdk, pinned in ofrep/testdata/node/package-lock.json).
set -euo pipefail
exec bash "$(dirname "$0")/npm-install-locked.sh" ofrep/testdata/node 18
