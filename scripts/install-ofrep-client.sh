#!/usr/bin/env bash
# Installs the Node.js OFREP client the OFREP tests run (@openfeature/ofrep-provider and
# @openfeature/server-sdk, pinned in ofrep/testdata/node/package-lock.json) into
# ofrep/testdata/node/node_modules. Idempotent: does nothing when the installed versions
# match the lock. Needs Node.js >= 18 and npm (Debian: apt-get install nodejs npm).
set -euo pipefail
cd "$(dirname "$0")/../ofrep/testdata/node"

if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
	echo "install-ofrep-client: node and npm are required (Node.js 18 or later)" >&2
	exit 1
fi
major=$(node -p 'process.versions.node.split(".")[0]')
if [ "$major" -lt 18 ]; then
	echo "install-ofrep-client: Node.js $(node --version) is too old; 18 or later is required" >&2
	exit 1
fi

# npm writes node_modules/.package-lock.json on install; when it matches the lock file's
# packages the tree is current.
if [ -f node_modules/.package-lock.json ] &&
	node -e '
		const a = require("./package-lock.json").packages, b = require("./node_modules/.package-lock.json").packages;
		for (const [k, v] of Object.entries(b)) if (!a[k] || a[k].version !== v.version) process.exit(1);
		for (const [k, v] of Object.entries(a)) if (k && !v.optional && !b[k]) process.exit(1);
	' 2>/dev/null; then
	echo "install-ofrep-client: ofrep/testdata/node/node_modules is current"
	exit 0
fi
npm ci --no-audit --no-fund --loglevel=error
echo "install-ofrep-client: installed $(node -p 'Object.entries(require("./package-lock.json").packages).filter(([k]) => k.startsWith("node_modules/@openfeature/")).map(([k, v]) => k.slice(13) + "@" + v.version).join(" ")')"
