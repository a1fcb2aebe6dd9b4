package cli

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/edgeflag/edgeflag/snapshot"
)

var compileCommand = &command{
	name:    "compile",
	summary: "compile the flags into one snapshot per environment",
	usage:   "[flags] [dir]",
	description: `
Validates the flag directory (default: flags) and writes one snapshot per environment,
<out>/<environment>.snap, then prints each file with its size and content hash.
Nothing is written when there is any problem.

The snapshot header records the source revision and build time: --revision, else the
HEAD commit of the git repository holding the directory (with "-dirty" when the
directory has uncommitted changes); SOURCE_DATE_EPOCH, else that commit's time. Compiling
the same commit twice gives byte-identical files.`,
	example: `
edgeflag compile flags -o out/
SOURCE_DATE_EPOCH=1764547200 edgeflag compile --revision v1.4.0 --env production -o dist`,
	run: runCompile,
}

// compiled is the JSON form of one written snapshot.
type compiled struct {
	Environment string `json:"environment"`
	File        string `json:"file"`
	Size        int    `json:"size"`
	Hash        string `json:"hash"`
	Flags       int    `json:"flags"`
	Segments    int    `json:"segments"`
	Revision    string `json:"revision"`
	BuildTime   string `json:"buildTime"`
}

func runCompile(r *runner, args []string) int {
	fs := r.newFlags()
	out := fs.String("o", "out", "the output `directory`")
	env := fs.String("env", "", "compile only this `environment`")
	revision := fs.String("revision", "", "the source `revision` recorded in the snapshots (default: the git HEAD commit)")
	asJSON := fs.Bool("json", false, "print what was written as JSON")
	pos, code, done := r.parse(fs, args, 0, 1)
	if done {
		return code
	}
	dir := "flags"
	if len(pos) == 1 {
		dir = pos[0]
	}
	p, err := r.loadProject(dir)
	if err != nil {
		return r.reportProblems(dir, err)
	}
	envs, err := environments(p, *env)
	if err != nil {
		return r.usageFail(err)
	}
	info, err := r.resolveBuildInfo(r.path(dir), *revision)
	if err != nil {
		return r.usageFail(err)
	}
	encoded, err := encodeAll(p, envs, info)
	if err != nil {
		return r.fail(err)
	}
	if err := os.MkdirAll(r.path(*out), 0o755); err != nil {
		return r.fail(err)
	}
	var written []compiled
	for i, e := range envs {
		file := filepath.Join(*out, e+".snap")
		if err := writeFileAtomic(r.path(file), encoded[i]); err != nil {
			return r.fail(err)
		}
		hash, _ := snapshot.Hash(encoded[i])
		written = append(written, compiled{Environment: e, File: file, Size: len(encoded[i]), Hash: hash,
			Flags: len(p.Flags), Segments: len(p.Segments), Revision: info.revision, BuildTime: formatUnix(info.buildTime)})
	}
	if *asJSON {
		return r.printJSON(written)
	}
	t := &table{}
	for _, c := range written {
		t.add("wrote", c.File, thousands(c.Size)+" bytes", "sha256:"+c.Hash[:12], plural(c.Flags, "flag"), plural(c.Segments, "segment"))
	}
	rev := info.revision
	if rev == "" {
		rev = "(no revision)"
	}
	fmt.Fprintf(r.env.Stdout, "%srevision %s, built %s\n", t.string(), rev, formatUnix(info.buildTime))
	return ExitOK
}

// reportProblems prints flag-file problems (as validate does) and returns ExitFindings.
func (r *runner) reportProblems(dir string, err error) int {
	r.printProblems(dir, problems(err), "; nothing written")
	return ExitFindings
}

// printProblems writes one problem per line and a count on standard error.
func (r *runner) printProblems(dir string, list []problem, suffix string) {
	var b strings.Builder
	for _, pr := range list {
		b.WriteString(formatProblem(pr, r) + "\n")
	}
	fmt.Fprintf(&b, "%s: %s%s\n", dir, r.paint(styleRed, plural(len(list), "error")), suffix)
	fmt.Fprint(r.env.Stderr, b.String())
}

// writeFileAtomic writes data to a temporary file beside name and renames it into place,
// so a reader never sees a half-written snapshot.
func writeFileAtomic(name string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(name), "."+filepath.Base(name)+".*")
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(f.Name(), 0o644)
	}
	if err == nil {
		err = os.Rename(f.Name(), name)
	}
	if err != nil {
		os.Remove(f.Name())
	}
	return err
}
