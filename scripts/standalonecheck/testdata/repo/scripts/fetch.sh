#!/usr/bin/env bash
cd "$(dirname "$0")/.."
cp ../outside/specs/ofrep/openapi.yaml tests/testdata/
bash scripts/other.sh
