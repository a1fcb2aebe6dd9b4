#!/usr/bin/env bash
cd "$(dirname "$0")/.."
cp ../shared/specs/ofrep/openapi.yaml tests/testdata/
bash scripts/other.sh
