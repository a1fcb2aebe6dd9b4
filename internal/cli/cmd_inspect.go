package cli

import (
	"fmt"
	"os"

	"github.com/edgeflag/edgeflag/snapview"
)

var inspectCommand = &command{
	name:    "inspect",
	summary: "print a compiled snapshot as readable JSON",
	usage:   "[flags] <snapshot>",
	description: `
Decodes and verifies a snapshot file (as written by 'edgeflag compile') and prints it as
JSON: the header (format and bucketing versions, content hash, size, environment,
revision, build time), the attributes the flags read, the segments and the flags, with
names instead of indexes and percentages instead of bucket thresholds.

A snapshot that fails to verify (truncated, corrupted, wrong version) is an error.`,
	example: `
edgeflag inspect out/production.snap
edgeflag inspect out/production.snap --flag new-search-algorithm`,
	run: runInspect,
}

func runInspect(r *runner, args []string) int {
	fs := r.newFlags()
	flagKey := fs.String("flag", "", "print only this flag")
	fs.Bool("json", false, "print JSON (inspect always does; accepted like on every command)")
	pos, code, done := r.parse(fs, args, 1, 1)
	if done {
		return code
	}
	data, err := os.ReadFile(r.path(pos[0]))
	if err != nil {
		return r.fail(err)
	}
	view, _, err := snapview.Decode(data)
	if err != nil {
		return r.fail(fmt.Errorf("%s: %v", pos[0], err))
	}
	if *flagKey != "" {
		f := view.Flag(*flagKey)
		if f == nil {
			return r.fail(fmt.Errorf("%s: no flag %q in the snapshot", pos[0], *flagKey))
		}
		return r.printJSON(f)
	}
	return r.printJSON(view)
}

// printJSON writes v as JSON to stdout and returns the exit code.
func (r *runner) printJSON(v any) int {
	if err := writeJSON(r.env.Stdout, v); err != nil {
		return r.fail(err)
	}
	return ExitOK
}
