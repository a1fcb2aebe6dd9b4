package cli

import (
	"fmt"
	"strings"
	"time"

	"github.com/edgeflag/edgeflag/compiler"
	"github.com/edgeflag/edgeflag/internal/gitsrc"
	"github.com/edgeflag/edgeflag/internal/lint"
	"github.com/edgeflag/edgeflag/snapshot"
)

var lintCommand = &command{
	name:    "lint",
	summary: "find flags to clean up: expired, or serving one variant to everyone too long",
	usage:   "[flags] [dir]",
	description: `
Reports flag-lifecycle problems (the long-lived feature flag anti-pattern):

  - flags past their expires date;
  - temporary flags that have served one variant to everyone, 100% rolled out or 0%
    (never shipped), in every environment for more than --stale-after (14 days). When
    that started comes from the flag's schedule, or else from the git history of its
    file. Permanent flags (kill switches, configuration) are exempt.

Each finding says what to remove. Exits 1 when there are findings. --now sets the
current time, for reproducible runs.`,
	example: `
edgeflag lint
edgeflag lint flags --now 2027-01-15 --json`,
	run: runLint,
}

func runLint(r *runner, args []string) int {
	fs := r.newFlags()
	nowArg := fs.String("now", "", "the current `time` (RFC 3339, a date, or an offset such as +30d)")
	staleAfter := fs.String("stale-after", "14d", "the grace `period` after a flag serves one variant to everyone")
	noGit := fs.Bool("no-git", false, "do not read the git history of the flag files")
	asJSON := fs.Bool("json", false, "print the findings as JSON")
	pos, code, done := r.parse(fs, args, 0, 1)
	if done {
		return code
	}
	dir := dirArg(pos)
	now, err := parseTime(*nowArg, r.env.Now())
	if err != nil {
		return r.usageFail(fmt.Errorf("--now: %v", err))
	}
	grace, err := parseOffset(*staleAfter)
	if err != nil || grace <= 0 {
		return r.usageFail(usagef("--stale-after %q: want a duration such as 14d or 2w", *staleAfter))
	}
	p, snaps, code, ok := r.loadAll(dir)
	if !ok {
		return code
	}
	opts := lint.Options{Now: now, StaleAfter: grace}
	if !*noGit {
		if repo, err := gitsrc.Open(r.path(dir)); err == nil {
			opts.LastChange = func(file string) (time.Time, bool) {
				c, ok, err := repo.LastChange(file)
				return c.Time, ok && err == nil
			}
		}
	}
	findings := lint.Run(p, snaps, opts)
	if *asJSON {
		if findings == nil {
			findings = []lint.Finding{}
		}
		if c := r.printJSON(findings); c != ExitOK {
			return c
		}
	} else {
		var b strings.Builder
		for _, f := range findings {
			fmt.Fprintf(&b, "%s:%d:%d: %s %s: %s\n    %s %s\n", f.File, f.Line, f.Column,
				r.paint(styleYellow, f.Kind), r.paint(styleBold, f.Flag), f.Message, r.paint(styleCyan, "→"), f.Remove)
		}
		if len(findings) == 0 {
			fmt.Fprintf(&b, "%s: %s checked at %s: no lifecycle problems\n", dir, plural(len(p.Flags), "flag"), now.UTC().Format(time.DateOnly))
		} else {
			fmt.Fprintf(&b, "%s: %s\n", dir, plural(len(findings), "finding"))
		}
		fmt.Fprint(r.env.Stdout, b.String())
	}
	if len(findings) > 0 {
		return ExitFindings
	}
	return ExitOK
}

func dirArg(pos []string) string {
	if len(pos) == 1 {
		return pos[0]
	}
	return "flags"
}

// loadAll loads the flag directory and compiles every environment. On failure it has
// reported the problems and returns the exit code with ok false.
func (r *runner) loadAll(dir string) (*compiler.Project, map[string]*snapshot.Snapshot, int, bool) {
	p, err := r.loadProject(dir)
	if err != nil {
		r.printProblems(dir, problems(err), "")
		return nil, nil, ExitFindings, false
	}
	snaps := map[string]*snapshot.Snapshot{}
	for _, env := range p.Environments {
		s, err := buildSnapshot(p, env, buildInfo{})
		if err != nil {
			return nil, nil, r.fail(fmt.Errorf("environment %s: %v", env, err)), false
		}
		snaps[env] = s
	}
	return p, snaps, ExitOK, true
}
