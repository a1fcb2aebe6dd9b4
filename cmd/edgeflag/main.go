// Command edgeflag is the release engineer's tool for flags as code: it validates and
// compiles the flag files, evaluates and explains flags, inspects and diffs snapshots,
// simulates rollouts, and lints flag lifecycles and the release checklist.
//
//	edgeflag validate
//	edgeflag compile -o out/
//	edgeflag eval new-search-algorithm --ctx '{"userId":"u1","email":"a@company.com"}'
//	edgeflag diff HEAD~1 HEAD
//
// Run 'edgeflag help' for every command.
package main

import (
	"os"

	"github.com/edgeflag/edgeflag/internal/cli"
)

func main() {
	os.Exit(cli.Main())
}
