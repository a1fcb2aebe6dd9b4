#!/usr/bin/env bash
# Installs the AWS Lambda Runtime Interface Emulator, the emulator `sam local invoke` runs
# inside its container, into bin/ (or $BIN). The tests run the real lambda bootstrap under
# it. Pinned; idempotent: does nothing when the pinned version is already installed.
set -euo pipefail
cd "$(dirname "$0")/.."

module=github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie
version=v0.0.0-20261030222936-bef5c4ba774d

bin_dir="${BIN:-bin}"
mkdir -p "$bin_dir"
bin_dir="$(cd "$bin_dir" && pwd)"
stamp="$bin_dir/.aws-lambda-rie.version"

if [ -x "$bin_dir/aws-lambda-rie" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$version" ]; then
	echo "aws-lambda-rie $version: already installed in $bin_dir"
	exit 0
fi

echo "aws-lambda-rie $version: installing into $bin_dir"
GOBIN="$bin_dir" GOFLAGS=-mod=mod go install "$module@$version"
echo "$version" >"$stamp"
