#!/usr/bin/env bash
# Lays out the Lambda@Edge viewer-request function in DIR as its deployment package, in the
# repository's layout (handler edge/lambda-edge/index.handler):
#   edge/lambda-edge/index.mjs, edge/lambda-edge/config.json, edge/shared/*.mjs, bin/edgeflag.wasm
# Lambda@Edge has no environment variables: the settings are the bundled config.json, copied
# from EDGEFLAG_EDGE_CONFIG (default edge/lambda-edge/config.json) after checking it. The
# module is EDGEFLAG_WASM (default bin/edgeflag.wasm, built when missing).
#   scripts/build-lambda-edge.sh DIR        (`sam build -t template-edge.yaml` runs it; `make lambda-edge` zips it)
set -euo pipefail
out=${1:?usage: build-lambda-edge.sh DIR}
root=$(cd "$(dirname "$0")/.." && pwd)
config=${EDGEFLAG_EDGE_CONFIG:-$root/edge/lambda-edge/config.json}
wasm=${EDGEFLAG_WASM:-$root/bin/edgeflag.wasm}
[ -f "$wasm" ] || bash "$root/scripts/build-wasm.sh" "$wasm"

node -e '
const c = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
const bad = (m) => { console.error(`${process.argv[1]}: ${m}`); process.exit(1); };
if (typeof c.storeURL !== "string" || !/^https?:\/\/[^/]+/.test(c.storeURL)) bad("storeURL must be the store'"'"'s URL (the main stack'"'"'s SnapshotBaseUrl output)");
if (c.environment !== undefined && !/^[a-z0-9][a-z0-9_-]{0,62}$/.test(c.environment)) bad(`environment ${JSON.stringify(c.environment)} is not an environment name`);
if (c.wasmPath !== undefined) bad("wasmPath must not be set: the package holds the module at bin/edgeflag.wasm");
for (const k of ["pollIntervalMs", "graceMs"]) if (c[k] !== undefined && !(Number.isInteger(c[k]) && c[k] > 0)) bad(`${k} must be a positive whole number of milliseconds`);
' "$config"

mkdir -p "$out/edge/lambda-edge" "$out/edge/shared" "$out/bin"
cp "$root/edge/lambda-edge/index.mjs" "$out/edge/lambda-edge/"
cp "$config" "$out/edge/lambda-edge/config.json"
cp "$root"/edge/shared/*.mjs "$out/edge/shared/"
cp "$wasm" "$out/bin/edgeflag.wasm"
