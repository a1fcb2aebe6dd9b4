package docs

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/edgeflag/edgeflag/internal/cli"
	"github.com/rogpeppe/go-internal/testscript"
)

// nowVar is the variable through which the doc test fixes the time the edgeflag command
// sees ("doc-test: now"); only this test's edgeflag reads it.
const nowVar = "EDGEFLAG_DOCTEST_NOW"

// defaultNow is the time every example runs at unless a "doc-test: now" directive says
// otherwise: the day the example project's canary release is under way.
const defaultNow = "2026-11-26T12:00:00Z"

// commitDate is the date of the commit holding flags/ in each example's repository.
const commitDate = "2026-11-23T09:00:00Z"

func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){"edgeflag": edgeflagMain})
}

// edgeflagMain is the edgeflag command as cmd/edgeflag runs it, with the clock fixed by
// nowVar so that output that depends on the date (days left, schedules) is reproducible.
func edgeflagMain() {
	now := time.Now
	if v := os.Getenv(nowVar); v != "" {
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			fmt.Fprintf(os.Stderr, "%s=%q: %v\n", nowVar, v, err)
			os.Exit(2)
		}
		now = func() time.Time { return t }
	}
	os.Exit(cli.Run(&cli.Env{
		Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr, Getenv: os.Getenv, Now: now,
	}, os.Args[1:]))
}

// repoRoot is the module root, two levels above this package.
func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("no go.mod at %s: %v", root, err)
	}
	return root
}

// markdownFiles are the documents whose examples are checked: README.md and docs/*.md.
func markdownFiles(t *testing.T, root string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(files)
	files = append([]string{filepath.Join(root, "README.md")}, files...)
	for i, f := range files {
		files[i], _ = filepath.Rel(root, f)
	}
	return files
}

// TestDocs runs every ```sh example of README.md and docs/*.md that runs offline, in a
// git repository holding a copy of flags/, and compares its output with the ```text block
// shown after it. Each Markdown file is one testscript script: its examples run in order
// in the same directory, as a reader following the page would run them. Examples marked
// "doc-test: skip" are reported as skipped subtests with their reason.
func TestDocs(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Fatalf("the examples run in a git repository: %v (scripts/setup.sh installs git)", err)
	}
	root := repoRoot(t)
	scripts := t.TempDir()
	ran := 0
	for _, md := range markdownFiles(t, root) {
		data, err := os.ReadFile(filepath.Join(root, md))
		if err != nil {
			t.Fatal(err)
		}
		examples, err := Parse(filepath.ToSlash(md), data)
		if err != nil {
			t.Fatal(err)
		}
		script, n := buildScript(t, examples)
		ran += n
		if n == 0 {
			continue
		}
		name := strings.NewReplacer("/", "_", ".md", "").Replace(filepath.ToSlash(md)) + ".txtar"
		if err := os.WriteFile(filepath.Join(scripts, name), []byte(script), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if ran == 0 {
		t.Fatal("no example to run in README.md or docs/*.md")
	}
	testscript.Run(t, testscript.Params{
		Dir:                 scripts,
		RequireExplicitExec: true,
		Setup:               func(env *testscript.Env) error { return setupRepo(root, env) },
		Cmds:                map[string]func(*testscript.TestScript, bool, []string){"doc": cmdDoc},
	})
}

// buildScript turns a file's examples into a testscript script (one "doc" command and its
// files per example) and reports the skipped ones as skipped subtests. n is the number of
// examples the script runs.
func buildScript(t *testing.T, examples []*Example) (script string, n int) {
	var cmds, files strings.Builder
	fmt.Fprintf(&cmds, "env %s=%s\n", nowVar, defaultNow)
	for i, ex := range examples {
		if ex.Skip != "" {
			t.Run(ex.Name(), func(t *testing.T) { t.Skipf("doc-test: skip (%s)", ex.Skip) })
			continue
		}
		n++
		id := ".doctest/" + strconv.Itoa(i+1)
		fmt.Fprintf(&cmds, "\n# %s\n", ex.Name())
		if ex.Now != "" {
			fmt.Fprintf(&cmds, "env %s=%s\n", nowVar, ex.Now)
		}
		fmt.Fprintf(&cmds, "doc %s %d %s\n", ex.Name(), ex.Exit, id)
		fmt.Fprintf(&files, "-- %s.sh --\nexec 2>&1\nset -e\n%s", id, ex.Script)
		if len(ex.Setup) > 0 {
			fmt.Fprintf(&files, "-- %s.setup.sh --\nset -e\n%s\n", id, strings.Join(ex.Setup, "\n"))
		}
		if ex.HasWant {
			fmt.Fprintf(&files, "-- %s.want --\n%s", id, ex.Want)
			var vary []string
			for _, v := range ex.Vary {
				vary = append(vary, v.String())
			}
			fmt.Fprintf(&files, "-- %s.vary --\n%s\n", id, strings.Join(vary, "\n"))
		}
	}
	return cmds.String() + files.String(), n
}

// setupRepo copies flags/ into the script's directory and commits it in a new git
// repository at commitDate, with origin/main naming that commit, so that the examples'
// git revisions (HEAD, origin/main) exist.
func setupRepo(root string, env *testscript.Env) error {
	if err := copyTree(filepath.Join(root, "flags"), filepath.Join(env.WorkDir, "flags")); err != nil {
		return err
	}
	gitEnv := []string{
		"GIT_AUTHOR_NAME=Doc Test", "GIT_AUTHOR_EMAIL=doctest@company.com",
		"GIT_COMMITTER_NAME=Doc Test", "GIT_COMMITTER_EMAIL=doctest@company.com",
		"GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=" + os.DevNull,
	}
	env.Vars = append(env.Vars, gitEnv...)
	for _, args := range [][]string{
		{"init", "-q", "-b", "main"},
		{"add", "flags"},
		{"commit", "-q", "-m", "flags"},
		{"update-ref", "refs/remotes/origin/main", "HEAD"},
	} {
		cmd := exec.Command("git", args...)
		cmd.Dir = env.WorkDir
		cmd.Env = append(os.Environ(), gitEnv...)
		cmd.Env = append(cmd.Env, "GIT_AUTHOR_DATE="+commitDate, "GIT_COMMITTER_DATE="+commitDate)
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("git %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	return nil
}

func copyTree(src, dst string) error {
	return filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(target, data, 0o644)
	})
}

// cmdDoc runs one example: "doc NAME EXIT ID" runs ID.setup.sh if there is one, then
// ID.sh (standard error merged into standard output, stopping at the first failing
// command), checks that it exits EXIT, and compares its output with ID.want, if there is
// one, using the patterns of ID.vary.
func cmdDoc(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 3 {
		ts.Fatalf("usage: doc NAME EXIT ID")
	}
	name, id := args[0], args[2]
	want, err := strconv.Atoi(args[1])
	if err != nil {
		ts.Fatalf("doc: exit status %q", args[1])
	}
	if _, err := os.Stat(ts.MkAbs(id + ".setup.sh")); err == nil {
		if err := ts.Exec("sh", id+".setup.sh"); err != nil {
			ts.Fatalf("%s: the doc-test setup failed: %v", name, err)
		}
	}
	code := 0
	if err := ts.Exec("sh", id+".sh"); err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			ts.Fatalf("%s: %v", name, err)
		}
		code = ee.ExitCode()
	}
	got := ts.ReadFile("stdout")
	if code != want {
		ts.Fatalf("%s: exit status %d, want %d (mark an intended failure with <!-- doc-test: exit N -->); output:\n%s", name, code, want, got)
	}
	if _, err := os.Stat(ts.MkAbs(id + ".want")); err != nil {
		return
	}
	var vary []*regexp.Regexp
	for _, line := range splitLines(ts.ReadFile(id + ".vary")) {
		if line != "" {
			vary = append(vary, regexp.MustCompile(line))
		}
	}
	if err := Match(ts.ReadFile(id+".want"), got, vary); err != nil {
		ts.Fatalf("%s: the output is not what the Markdown shows: %v", name, err)
	}
}
