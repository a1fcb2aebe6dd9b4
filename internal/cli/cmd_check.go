package cli

import (
	"fmt"
	"strings"
	"time"

	"github.com/edgeflag/edgeflag/compiler"
	"github.com/edgeflag/edgeflag/internal/checklist"
)

var checkCommand = &command{
	name:    "check",
	summary: "run the release checklist on every flag that is rolling out",
	usage:   "[flags] [dir]",
	description: `
Runs the progressive-delivery checklist on every flag that is rolling out (a temporary
flag that serves more than one variant, or whose schedule has steps to come):

  offVariant       an off variant for the kill switch, different from what rolls out
  owner            someone who answers for the flag
  expiry           a cleanup date that has not passed
  successCriteria  metrics and success criteria for every stage but the last
  rolloutPlan      a rollout plan: release rings, a schedule, stages or a percentage

The severity of each item (error, warning or off) comes from the checks section of the
project file. Exits 1 when an item of severity error fails, so CI blocks the merge.
--now sets the current time, for reproducible runs.`,
	example: `
edgeflag check
edgeflag check flags --json --now 2026-12-01`,
	run: runCheck,
}

type checkOutput struct {
	Flags    []checklist.Flag `json:"flags"`
	Errors   int              `json:"errors"`
	Warnings int              `json:"warnings"`
}

func runCheck(r *runner, args []string) int {
	fs := r.newFlags()
	nowArg := fs.String("now", "", "the current `time` (RFC 3339, a date, or an offset such as +30d)")
	asJSON := fs.Bool("json", false, "print the checklist as JSON")
	pos, code, done := r.parse(fs, args, 0, 1)
	if done {
		return code
	}
	dir := dirArg(pos)
	now, err := parseTime(*nowArg, r.env.Now())
	if err != nil {
		return r.usageFail(fmt.Errorf("--now: %v", err))
	}
	p, snaps, code, ok := r.loadAll(dir)
	if !ok {
		return code
	}
	out := checkOutput{Flags: checklist.Run(p, snaps, now)}
	if out.Flags == nil {
		out.Flags = []checklist.Flag{}
	}
	for i := range out.Flags {
		out.Flags[i].Results = nonNil(out.Flags[i].Results)
		out.Errors += out.Flags[i].Failed(compiler.SeverityError)
		out.Warnings += out.Flags[i].Failed(compiler.SeverityWarning)
	}
	if *asJSON {
		if c := r.printJSON(out); c != ExitOK {
			return c
		}
	} else {
		fmt.Fprint(r.env.Stdout, r.renderChecklist(dir, &out, now))
	}
	if out.Errors > 0 {
		return ExitFindings
	}
	return ExitOK
}

func nonNil(rs []checklist.Result) []checklist.Result {
	if rs == nil {
		return []checklist.Result{}
	}
	return rs
}

func (r *runner) renderChecklist(dir string, out *checkOutput, now time.Time) string {
	var b strings.Builder
	for _, f := range out.Flags {
		fmt.Fprintf(&b, "%s  %s:%d:%d  rolling out in %s\n", r.paint(styleBold, f.Key), f.File, f.Line, f.Column, f.Rollout)
		t := &table{}
		var marks []string
		for _, res := range f.Results {
			mark, label := "✓", ""
			switch {
			case res.OK:
			case res.Severity == compiler.SeverityError:
				mark, label = "✗", "error: "
			default:
				mark, label = "!", "warning: "
			}
			marks = append(marks, mark)
			t.add("  "+mark, res.Check, label+res.Detail)
		}
		// Colour the marks after alignment (colour codes would count as width).
		for i, line := range strings.Split(strings.TrimSuffix(t.string(), "\n"), "\n") {
			if i < len(marks) {
				style := styleGreen
				switch marks[i] {
				case "✗":
					style = styleRed
				case "!":
					style = styleYellow
				}
				line = "  " + r.paint(style, marks[i]) + line[len("  ")+len(marks[i]):]
			}
			b.WriteString(line + "\n")
		}
		b.WriteString("\n")
	}
	summary := fmt.Sprintf("%s: %s rolling out at %s: %s, %s", dir, plural(len(out.Flags), "flag"), now.UTC().Format(time.DateOnly),
		plural(out.Errors, "error"), plural(out.Warnings, "warning"))
	if out.Errors > 0 {
		summary = r.paint(styleRed, summary)
	}
	b.WriteString(summary + "\n")
	return b.String()
}
