#!/usr/bin/env bash
# Installs the edge functions' Node.js dependencies (workerd, pinned in edge/package-lock.json)
# into edge/node_modules. Idempotent: does nothing when the installed versions match the lock.
# Needs Node.js >= 20 and npm (Debian: apt-get install nodejs npm).
set -euo pipefail
cd "$(dirname "$0")/../edge"

if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
	echo "install-node-deps: node and npm are required (Node.js 20 or later)" >&2
	exit 1
fi
major=$(node -p 'process.versions.node.split(".")[0]')
if [ "$major" -lt 20 ]; then
	echo "install-node-deps: Node.js $(node --version) is too old; 20 or later is required" >&2
	exit 1
fi

# npm writes node_modules/.package-lock.json on install; when it matches the lock file's
# packages the tree is current.
if [ -f node_modules/.package-lock.json ] && [ -x node_modules/.bin/workerd ] &&
	node -e '
		const a = require("./package-lock.json").packages, b = require("./node_modules/.package-lock.json").packages;
		for (const [k, v] of Object.entries(b)) if (!a[k] || a[k].version !== v.version) process.exit(1);
		for (const [k, v] of Object.entries(a)) if (k && !v.optional && !b[k]) process.exit(1);
	' 2>/dev/null; then
	echo "install-node-deps: edge/node_modules is current"
	exit 0
fi
npm ci --no-audit --no-fund --loglevel=error
echo "install-node-deps: $(node_modules/.bin/workerd --version)"
