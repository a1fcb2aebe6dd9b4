#!/usr/bin/env bash
# Installs the npm packages pinned in DIR/package-lock.json into DIR/node_modules.
# Idempotent: does nothing when the installed tree matches the lock file.
#   scripts/npm-install-locked.sh DIR [MIN_NODE_MAJOR]
# Needs Node.js and npm (Debian: apt-get install nodejs npm).
set -euo pipefail
dir=${1:?usage: npm-install-locked.sh DIR [MIN_NODE_MAJOR]}
min_major=${2:-20}
cd "$(dirname "$0")/../$dir"

if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
	echo "$dir: node and npm are required (Node.js $min_major or later)" >&2
	exit 1
fi
major=$(node -p 'process.versions.node.split(".")[0]')
if [ "$major" -lt "$min_major" ]; then
	echo "$dir: Node.js $(node --version) is too old; $min_major or later is required" >&2
	exit 1
fi

# npm writes node_modules/.package-lock.json on install; when it lists exactly the lock
# file's packages at the same versions, the tree is current.
if [ -f node_modules/.package-lock.json ] &&
	node -e '
		const a = require("./package-lock.json").packages, b = require("./node_modules/.package-lock.json").packages;
		for (const [k, v] of Object.entries(b)) if (!a[k] || a[k].version !== v.version) process.exit(1);
		for (const [k, v] of Object.entries(a)) if (k && !v.optional && !b[k]) process.exit(1);
	' 2>/dev/null; then
	echo "$dir: node_modules is current"
	exit 0
fi
npm ci --no-audit --no-fund --loglevel=error
echo "$dir: installed $(node -p 'Object.keys(Object.assign({}, require("./package.json").dependencies, require("./package.json").devDependencies)).map(n => n + "@" + require("./node_modules/" + n + "/package.json").version).join(" ")')"
