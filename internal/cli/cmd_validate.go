package cli

import (
	"errors"
	"fmt"

	"github.com/edgeflag/edgeflag/compiler"
)

var validateCommand = &command{
	name:    "validate",
	summary: "check the flag files: schema and semantic checks",
	usage:   "[flags] [dir]",
	description: `
Checks every YAML file under the flag directory (default: flags) against the JSON Schema
and the semantic checks of the flag language (unknown references, duplicate keys, cycles,
split weights, schedules, literals...), then compiles every environment. Each problem is
reported on standard error as file:line:column: field: message. Exits 1 when there is
any problem.`,
	example: `
edgeflag validate
edgeflag validate flags --json`,
	run: runValidate,
}

// problem is the JSON form of one validation error.
type problem struct {
	File    string `json:"file"`
	Line    int    `json:"line,omitempty"`
	Column  int    `json:"column,omitempty"`
	Path    string `json:"path,omitempty"`
	Message string `json:"message"`
}

type validateOutput struct {
	Valid        bool      `json:"valid"`
	Dir          string    `json:"dir"`
	Environments []string  `json:"environments,omitempty"`
	Flags        int       `json:"flags"`
	Segments     int       `json:"segments"`
	Errors       []problem `json:"errors"`
}

func runValidate(r *runner, args []string) int {
	fs := r.newFlags()
	asJSON := fs.Bool("json", false, "print the result as JSON on standard output")
	pos, code, done := r.parse(fs, args, 0, 1)
	if done {
		return code
	}
	dir := "flags"
	if len(pos) == 1 {
		dir = pos[0]
	}
	out := validateOutput{Dir: dir, Errors: []problem{}}
	p, err := r.loadProject(dir)
	if err == nil {
		for _, env := range p.Environments {
			if _, berr := buildEncoded(p, env, buildInfo{}); berr != nil {
				err = fmt.Errorf("environment %s: %v", env, berr)
				break
			}
		}
	}
	if err != nil {
		out.Errors = problems(err)
	} else {
		out.Valid = true
		out.Environments = p.Environments
		out.Flags, out.Segments = len(p.Flags), len(p.Segments)
	}
	if *asJSON {
		if c := r.printJSON(out); c != ExitOK {
			return c
		}
		if !out.Valid {
			return ExitFindings
		}
		return ExitOK
	}
	if !out.Valid {
		r.printProblems(dir, out.Errors, "")
		return ExitFindings
	}
	fmt.Fprintf(r.env.Stdout, "%s: %s and %s, %s: %s\n", dir, plural(out.Flags, "flag"), plural(out.Segments, "segment"),
		plural(len(out.Environments), "environment"), r.paint(styleGreen, "valid"))
	return ExitOK
}

// problems flattens a compiler error (an ErrorList) into problems.
func problems(err error) []problem {
	var list compiler.ErrorList
	if errors.As(err, &list) {
		out := make([]problem, len(list))
		for i, e := range list {
			out[i] = problem{File: e.File, Line: e.Line, Column: e.Column, Path: e.Path, Message: e.Message}
		}
		return out
	}
	var one *compiler.Error
	if errors.As(err, &one) {
		return []problem{{File: one.File, Line: one.Line, Column: one.Column, Path: one.Path, Message: one.Message}}
	}
	return []problem{{Message: err.Error()}}
}

func formatProblem(p problem, r *runner) string {
	e := compiler.Error{File: p.File, Line: p.Line, Column: p.Column, Path: p.Path, Message: p.Message}
	if p.File == "" {
		return r.paint(styleRed, "error") + ": " + p.Message
	}
	return e.Error()
}

// plural returns "1 flag" or "3 flags".
func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}
