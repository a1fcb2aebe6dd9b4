package cli

import (
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/edgeflag/edgeflag/compiler"
	"github.com/edgeflag/edgeflag/internal/gitsrc"
	"github.com/edgeflag/edgeflag/internal/snapdiff"
	"github.com/edgeflag/edgeflag/snapview"
)

var diffCommand = &command{
	name:    "diff",
	summary: "summarise what changes between two snapshots or two git revisions",
	usage:   "[flags] <a> [<b>] | --store <location> [<a>]",
	description: `
Compares two compiled snapshot files, or the flag directory at two git revisions
(compiled for every environment), and summarises the changes the way a reviewer reads
them, one line per flag:

  new-search-algorithm (production): ring canary → early-majority, 5% → 25%
  weather-widget: killed

Environments are named when a change does not apply to all of them. With one argument,
the revision is compared with the working tree. An argument that is an existing file is
read as a snapshot; anything else is a git revision of the repository holding --dir.

--store compares with what a store serves now instead (the snapshots its pointers name,
kill switches applied): the one argument, or the working tree without one, against every
environment the store has been published to (or --env). After a kill through the
kill-switch API, 'edgeflag diff --store out/dev-store' says the flag is killed.

--exit-code exits 1 when there are changes, as git diff --exit-code does.`,
	example: `
edgeflag diff HEAD~1 HEAD
edgeflag diff origin/main --json
edgeflag diff --store out/dev-store --env production
edgeflag diff old/production.snap out/production.snap`,
	run: runDiff,
}

// diffSide is one side of a diff: snapshots by environment, with a label.
type diffSide struct {
	Label    string                    `json:"label"`
	Revision string                    `json:"revision,omitempty"`
	Envs     []string                  `json:"environments"` // in project order
	views    map[string]*snapview.View // by environment
}

type diffOutput struct {
	From         *diffSide         `json:"from"`
	To           *diffSide         `json:"to"`
	Environments []string          `json:"environments"`
	Changes      []snapdiff.Change `json:"changes"`
}

func runDiff(r *runner, args []string) int {
	fs := r.newFlags()
	dir := fs.String("dir", "flags", "the flag `directory` (for git revisions)")
	env := fs.String("env", "", "compare only this `environment`")
	asJSON := fs.Bool("json", false, "print the changes as JSON")
	exitCode := fs.Bool("exit-code", false, "exit 1 when there are changes")
	served := fs.String("store", "", "compare with what this store `location` serves now (one argument or the working tree against it)")
	pos, code, done := r.parse(fs, args, 0, 2)
	if done {
		return code
	}
	switch {
	case *served != "" && len(pos) > 1:
		return r.usageFail(usagef("unexpected argument %q: with --store, give at most one revision or snapshot", pos[1]))
	case *served == "" && len(pos) == 0:
		return r.usageFail(usagef("missing argument: usage: edgeflag %s %s", r.cmd.name, r.cmd.usage))
	}
	var sides [2]*diffSide
	for i, arg := range pos {
		side, err := r.diffSide(arg, *dir)
		if err != nil {
			return r.fail(err)
		}
		sides[i] = side
	}
	if len(pos) < 2 && *served == "" || len(pos) == 0 {
		side, err := r.worktreeSide(*dir)
		if err != nil {
			return r.fail(err)
		}
		sides[len(pos)] = side
	}
	if *served != "" {
		side, err := r.servedSide(*served, *env, sides[0].Envs)
		if err != nil {
			return r.fail(err)
		}
		sides[1] = side
	}
	a, b := sides[0], sides[1]
	var envs []string
	perEnv := map[string][]snapdiff.Change{}
	crossEnv := len(a.Envs) == 1 && len(b.Envs) == 1 && a.Envs[0] != b.Envs[0]
	if crossEnv {
		// Two snapshot files of different environments: compare them as they are.
		label := a.Envs[0] + " → " + b.Envs[0]
		envs = []string{label}
		perEnv[label] = snapdiff.Compare(a.views[a.Envs[0]], b.views[b.Envs[0]], label)
	} else {
		for _, e := range b.Envs {
			if !slices.Contains(a.Envs, e) {
				continue
			}
			if *env != "" && e != *env {
				continue
			}
			envs = append(envs, e)
			perEnv[e] = snapdiff.Compare(a.views[e], b.views[e], e)
		}
		if *env != "" && len(envs) == 0 {
			return r.usageFail(usagef("environment %q is not on both sides", *env))
		}
	}
	changes := snapdiff.Merge(envs, perEnv)
	if *asJSON {
		out := diffOutput{From: a, To: b, Environments: envs, Changes: changes}
		if out.Changes == nil {
			out.Changes = []snapdiff.Change{}
		}
		if c := r.printJSON(out); c != ExitOK {
			return c
		}
	} else {
		var sb strings.Builder
		sb.WriteString(r.paint(styleBold, a.Label+" → "+b.Label) + "\n")
		for _, line := range snapdiff.Lines(changes, envs) {
			sb.WriteString(r.colorDiffLine(line) + "\n")
		}
		if onlyA, onlyB := missingEnvs(a.Envs, b.Envs), missingEnvs(b.Envs, a.Envs); !crossEnv && *env == "" {
			for _, e := range onlyA {
				sb.WriteString("environment " + e + ": removed\n")
			}
			for _, e := range onlyB {
				sb.WriteString("environment " + e + ": added\n")
			}
		}
		nf, ns := snapdiff.Count(changes)
		if nf+ns == 0 {
			sb.WriteString("no changes\n")
		} else {
			fmt.Fprintf(&sb, "%s changed\n", joinCounts(nf, ns))
		}
		fmt.Fprint(r.env.Stdout, sb.String())
	}
	if *exitCode && len(changes) > 0 {
		return ExitFindings
	}
	return ExitOK
}

func joinCounts(flags, segments int) string {
	var parts []string
	if flags > 0 {
		parts = append(parts, plural(flags, "flag"))
	}
	if segments > 0 {
		parts = append(parts, plural(segments, "segment"))
	}
	return strings.Join(parts, " and ")
}

func missingEnvs(have, other []string) []string {
	var out []string
	for _, e := range have {
		if !slices.Contains(other, e) {
			out = append(out, e)
		}
	}
	return out
}

// colorDiffLine highlights kills in red and additions in green.
func (r *runner) colorDiffLine(line string) string {
	switch {
	case strings.HasSuffix(line, ": killed") || strings.Contains(line, ": killed;"):
		return r.paint(styleRed, line)
	case strings.Contains(line, ": added"):
		return r.paint(styleGreen, line)
	case strings.Contains(line, ": removed"):
		return r.paint(styleYellow, line)
	}
	return line
}

// diffSide reads a snapshot file, or compiles the flag directory at a git revision.
func (r *runner) diffSide(arg, dir string) (*diffSide, error) {
	if fi, err := os.Stat(r.path(arg)); err == nil && fi.Mode().IsRegular() {
		data, err := os.ReadFile(r.path(arg))
		if err != nil {
			return nil, err
		}
		v, _, err := snapview.Decode(data)
		if err != nil {
			return nil, fmt.Errorf("%s: %v", arg, err)
		}
		e := v.Header.Environment
		return &diffSide{Label: arg, Revision: v.Header.Revision, Envs: []string{e}, views: map[string]*snapview.View{e: v}}, nil
	}
	repo, err := gitsrc.Open(r.path(dir))
	if err != nil {
		return nil, fmt.Errorf("%s is neither a snapshot file nor a git revision (%s: %v)", arg, dir, err)
	}
	commit, err := repo.Resolve(arg)
	if err != nil {
		return nil, fmt.Errorf("%s is neither a snapshot file nor a git revision: %v", arg, err)
	}
	tmp, err := os.MkdirTemp("", "edgeflag-diff-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	exported, err := repo.Export(commit.Hash, tmp)
	if err != nil {
		return nil, err
	}
	p, err := r.loadProject(exported)
	if err != nil {
		// Name the files by their path in the repository, not in the temporary copy.
		return nil, fmt.Errorf("%s at %s:\n%s", dir, arg, strings.ReplaceAll(err.Error(), tmp+string(os.PathSeparator), ""))
	}
	label := dir + " at " + arg
	if short := shortHash(commit.Hash); !strings.HasPrefix(arg, short) {
		label += " (" + short + ")"
	}
	return r.projectSide(p, label, buildInfo{revision: commit.Hash, buildTime: commit.Time.Unix()})
}

// servedSide reads what the store serves to each of envs now (only env when set); an
// environment never published to is left out, and none at all is an error.
func (r *runner) servedSide(location, env string, envs []string) (*diffSide, error) {
	if env != "" {
		envs = []string{env}
	}
	side := &diffSide{Label: "served by " + location, views: map[string]*snapview.View{}}
	var revisions []string
	for _, e := range envs {
		s, found, err := r.readServed(location, e)
		if err != nil {
			return nil, err
		}
		if !found {
			continue
		}
		v, _, err := snapview.Decode(s.data)
		if err != nil {
			return nil, fmt.Errorf("%s: the snapshot %s served to %s: %v", location, s.pointer.Snapshot, e, err)
		}
		side.Envs = append(side.Envs, e)
		side.views[e] = v
		if !slices.Contains(revisions, s.pointer.Revision) {
			revisions = append(revisions, s.pointer.Revision)
		}
	}
	if len(side.Envs) == 0 {
		return nil, fmt.Errorf("%s serves nothing to %s: nothing was published to it", location, strings.Join(envs, " or "))
	}
	side.Revision = strings.Join(revisions, ", ")
	return side, nil
}

// worktreeSide compiles the flag directory as it is on disk.
func (r *runner) worktreeSide(dir string) (*diffSide, error) {
	p, err := r.loadProject(dir)
	if err != nil {
		return nil, err
	}
	info, err := r.resolveBuildInfo(r.path(dir), "")
	if err != nil {
		return nil, err
	}
	return r.projectSide(p, dir+" (working tree)", info)
}

func (r *runner) projectSide(p *compiler.Project, label string, info buildInfo) (*diffSide, error) {
	side := &diffSide{Label: label, Revision: info.revision, views: map[string]*snapview.View{}}
	for _, e := range p.Environments {
		data, err := buildEncoded(p, e, info)
		if err != nil {
			return nil, fmt.Errorf("%s, environment %s: %v", label, e, err)
		}
		v, _, err := snapview.Decode(data)
		if err != nil {
			return nil, err
		}
		side.Envs = append(side.Envs, e)
		side.views[e] = v
	}
	return side, nil
}

func shortHash(h string) string {
	if len(h) > 7 {
		return h[:7]
	}
	return h
}
