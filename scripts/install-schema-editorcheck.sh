#!/usr/bin/env bash
# Installs yaml-language-server (pinned in schema/editorcheck/package-lock.json), which the
# schema tests use to check the schema the way editors apply it.
set -euo pipefail
exec bash "$(dirname "$0")/npm-install-locked.sh" schema/editorcheck 20
