#!/usr/bin/env bash
# Installs the edge functions' Node.js dependencies (workerd, pinned in edge/package-lock.json).
set -euo pipefail
exec bash "$(dirname "$0")/npm-install-locked.sh" edge 20
