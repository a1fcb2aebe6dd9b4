package tests

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// cliUpdate rewrites the golden files of the CLI tests instead of comparing with them:
//
//	go test ./tests -run TestCLI -cli.update
var cliUpdate = flag.Bool("cli.update", false, "rewrite the CLI golden files in testdata/cli")

// TestCLI builds the edgeflag binary once and runs every CLI test against it as a real
// process. Each command's tests live in cli_<command>_test.go.
func TestCLI(t *testing.T) {
	bin := cliBuild(t)
	t.Run("conventions", func(t *testing.T) { testCLIConventions(t, bin) })
	t.Run("validate", func(t *testing.T) { testCLIValidate(t, bin) })
	t.Run("compile", func(t *testing.T) { testCLICompile(t, bin) })
	t.Run("eval", func(t *testing.T) { testCLIEval(t, bin) })
	t.Run("inspect", func(t *testing.T) { testCLIInspect(t, bin) })
	t.Run("diff", func(t *testing.T) { testCLIDiff(t, bin) })
	t.Run("simulate", func(t *testing.T) { testCLISimulate(t, bin) })
	t.Run("lint", func(t *testing.T) { testCLILint(t, bin) })
	t.Run("check", func(t *testing.T) { testCLICheck(t, bin) })
	t.Run("escapes", func(t *testing.T) { testCLIEscapes(t, bin) })
}

// cliBinary is the built edgeflag command.
type cliBinary struct{ path string }

func cliBuild(t *testing.T) *cliBinary {
	t.Helper()
	out := filepath.Join(t.TempDir(), "edgeflag")
	if runtime.GOOS == "windows" {
		out += ".exe"
	}
	cmd := exec.Command("go", "build", "-o", out, "github.com/edgeflag/edgeflag/cmd/edgeflag")
	cmd.Dir = cliRepoRoot(t)
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, msg)
	}
	return &cliBinary{path: out}
}

// cliRepoRoot is the module root, the parent of tests/.
func cliRepoRoot(t *testing.T) string {
	t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Dir(wd)
}

// cliResult is what one run of the binary produced.
type cliResult struct {
	args           []string
	stdout, stderr string
	code           int
}

// cliRun configures one run of the binary.
type cliRun struct {
	dir   string   // working directory
	env   []string // extra environment variables (KEY=value)
	stdin string
}

// run runs the binary with args in dir and a clean, reproducible environment.
func (b *cliBinary) run(t *testing.T, dir string, args ...string) cliResult {
	t.Helper()
	return b.runWith(t, cliRun{dir: dir}, args...)
}

func (b *cliBinary) runWith(t *testing.T, rc cliRun, args ...string) cliResult {
	t.Helper()
	cmd := exec.Command(b.path, args...)
	cmd.Dir = rc.dir
	cmd.Env = append(cliBaseEnv(), rc.env...)
	cmd.Stdin = strings.NewReader(rc.stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	done := make(chan error, 1)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { done <- cmd.Wait() }()
	var err error
	select {
	case err = <-done:
	case <-time.After(2 * time.Minute):
		cmd.Process.Kill()
		t.Fatalf("edgeflag %s: still running after 2 minutes", strings.Join(args, " "))
	}
	res := cliResult{args: args, stdout: stdout.String(), stderr: stderr.String()}
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		res.code = exit.ExitCode()
	case err != nil:
		t.Fatalf("edgeflag %s: %v", strings.Join(args, " "), err)
	}
	return res
}

// cliBaseEnv is the environment every run gets: PATH and HOME for git, nothing that
// changes the output (no SOURCE_DATE_EPOCH, no NO_COLOR, no git identity of the machine).
func cliBaseEnv() []string {
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.TempDir(), "GIT_CONFIG_NOSYSTEM=1", "TZ=UTC", "LANG=C.UTF-8"}
	if v := os.Getenv("GOCOVERDIR"); v != "" {
		env = append(env, "GOCOVERDIR="+v)
	}
	return env
}

// expectCode fails the test when the run did not exit with want.
func (r cliResult) expectCode(t *testing.T, want int) {
	t.Helper()
	if r.code != want {
		t.Fatalf("edgeflag %s: exit code %d, want %d\nstdout:\n%s\nstderr:\n%s", strings.Join(r.args, " "), r.code, want, r.stdout, r.stderr)
	}
}

// decodeJSON decodes the run's standard output into v, failing the test if it is not
// one JSON value.
func (r cliResult) decodeJSON(t *testing.T, v any) {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(r.stdout))
	if err := dec.Decode(v); err != nil {
		t.Fatalf("edgeflag %s: stdout is not JSON: %v\n%s", strings.Join(r.args, " "), err, r.stdout)
	}
	if dec.More() {
		t.Fatalf("edgeflag %s: more than one JSON value on stdout:\n%s", strings.Join(r.args, " "), r.stdout)
	}
}

// cliGolden compares got with testdata/cli/<name>.golden, or rewrites it with -cli.update.
func cliGolden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", "cli", name+".golden")
	if *cliUpdate {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./tests -run TestCLI -cli.update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("output differs from %s (rerun with -cli.update if the change is intended)\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

// cliWorkspace copies a flag directory (relative to the repository root, or under
// testdata/cli) into a new temporary directory as flags/ and returns the directory.
// Commands then run there with relative paths, so outputs do not depend on the machine.
func cliWorkspace(t *testing.T, src string) string {
	t.Helper()
	dir := t.TempDir()
	if err := cliCopyTree(src, filepath.Join(dir, "flags")); err != nil {
		t.Fatal(err)
	}
	return dir
}

// cliExampleFlags returns a workspace holding a copy of the repository's example flags.
func cliExampleFlags(t *testing.T) string {
	t.Helper()
	return cliWorkspace(t, filepath.Join(cliRepoRoot(t), "flags"))
}

func cliCopyTree(src, dst string) error {
	return filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		in, err := os.Open(path)
		if err != nil {
			return err
		}
		defer in.Close()
		out, err := os.Create(target)
		if err != nil {
			return err
		}
		if _, err := io.Copy(out, in); err != nil {
			out.Close()
			return err
		}
		return out.Close()
	})
}

// cliWriteFile writes a file below dir, creating directories.
func cliWriteFile(t *testing.T, dir, name, content string) {
	t.Helper()
	path := filepath.Join(dir, filepath.FromSlash(name))
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// cliGit runs git in dir with a fixed identity and commit date, failing the test on error.
func cliGit(t *testing.T, dir string, date string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(cliBaseEnv(),
		"GIT_AUTHOR_NAME=Release Engineer", "GIT_AUTHOR_EMAIL=release@company.com",
		"GIT_COMMITTER_NAME=Release Engineer", "GIT_COMMITTER_EMAIL=release@company.com",
		"GIT_AUTHOR_DATE="+date, "GIT_COMMITTER_DATE="+date)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// cliRequireGit skips a test when git is not installed.
func cliRequireGit(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not installed")
	}
}
