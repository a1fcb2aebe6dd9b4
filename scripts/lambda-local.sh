#!/usr/bin/env bash
# Runs the kill-switch Lambda locally without SAM or Docker: builds the real bootstrap for
# this machine, publishes the example flags to a directory store (no AWS account), runs the
# bootstrap under the AWS Lambda Runtime Interface Emulator (scripts/install-lambda-rie.sh)
# on 127.0.0.1, invokes it with one event file and prints the function's answer.
#
#   scripts/lambda-local.sh EVENT        (make lambda-local EVENT=events/flag-kill.json)
#
# Environment: STORE (directory store, default out/store), FLAGS_DIR (default flags),
# LAMBDA_LOCAL_PORT (the emulator's port, default 9090; the runtime API takes the next one). Kills and publishes change STORE,
# as they would change the bucket. An S3 event names a base snapshot by its content hash;
# its keys are pointed at the base just published for their environment.
set -euo pipefail
cd "$(dirname "$0")/.."

event=${1:?usage: scripts/lambda-local.sh EVENT (a file of events/)}
[ -f "$event" ] || { echo "lambda-local: no event file $event" >&2; exit 2; }
store=${STORE:-out/store}
flags=${FLAGS_DIR:-flags}
port=${LAMBDA_LOCAL_PORT:-9090}

bash scripts/install-lambda-rie.sh >/dev/null
mkdir -p bin/lambda-local "$store"
CGO_ENABLED=0 go build -tags lambda.norpc -trimpath -o bin/lambda-local/bootstrap ./lambda/bootstrap
go run ./cmd/edgeflag publish --store "$store" "$flags" >&2
store=$(cd "$store" && pwd)

payload=$(cat "$event")
for key in $(grep -oE 'base/[a-z0-9_-]+/[0-9a-f]{64}\.snap' "$event" | sort -u); do
	env=${key#base/}
	env=${env%%/*}
	base=$(sed -nE 's/^ *"base": *"([0-9a-f]{64})".*/\1/p' "$store/$env/current.json" 2>/dev/null || true)
	[ -n "$base" ] || { echo "lambda-local: $event names environment $env, which $store does not serve" >&2; exit 2; }
	payload=${payload//$key/base/$env/$base.snap}
done

log=$(mktemp)
# The emulator passes its environment to the function: only the store, no AWS settings.
env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY -u AWS_SESSION_TOKEN -u AWS_PROFILE \
	EDGEFLAG_STORE="$store" \
	setsid bin/aws-lambda-rie --runtime-interface-emulator-address "127.0.0.1:$port" \
	--runtime-api-address "127.0.0.1:$((port + 1))" --log-level error bin/lambda-local/bootstrap >"$log" 2>&1 &
rie=$!
cleanup() {
	kill -- "-$rie" 2>/dev/null || true
	wait "$rie" 2>/dev/null || true
	rm -f "$log"
}
trap cleanup EXIT

url="http://127.0.0.1:$port/2015-03-31/functions/function/invocations"
for _ in $(seq 100); do
	if curl -s -o /dev/null "http://127.0.0.1:$port/" 2>/dev/null; then break; fi
	if ! kill -0 "$rie" 2>/dev/null; then
		echo "lambda-local: the emulator exited:" >&2
		cat "$log" >&2
		exit 1
	fi
	sleep 0.1
done
echo "lambda-local: $event -> bootstrap on store $store" >&2
curl -sS --max-time 60 -d "$payload" "$url"
echo
grep -v '^\(START\|END\|REPORT\) RequestId' "$log" >&2 || true
