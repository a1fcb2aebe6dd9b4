// Package compiler turns a directory of YAML flag files (docs/flag-language.md) into
// snapshots, one per environment.
//
// Loading validates every document against the JSON Schema of package schema, decodes it
// into the source model (Project, Segment, Flag and the types they hold, with the file and
// position of everything) and runs the semantic checks: duplicate keys and names, unknown
// references, reference cycles, value types, split weights, schedule and stage order, and
// literals (regular expressions, versions, times, durations, percentages). Every problem
// is reported at once as an ErrorList sorted by file and position; nothing is built then.
//
//	project, err := compiler.Load("flags")        // or compiler.LoadFS(fsys)
//	snap, err := project.Build("production", compiler.Options{Revision: commit, BuildTime: commitTime})
//	data := snapshot.Encode(snap)
//
// Building precomputes everything the evaluator needs: references become indexes,
// attribute names are interned and sorted, sets are sorted and deduplicated (lower-cased
// under ignoreCase), percentages become bucket thresholds, schedules absolute times, and
// variant values canonical JSON. The output depends only on the files' contents and the
// options, never on file names, their order or the clock, so builds are reproducible.
//
// The source model is what the CLI's lint, check, diff and explain read: Flag.In gives a
// flag as it is in one environment.
package compiler
