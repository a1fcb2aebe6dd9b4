package tests

import (
	"bufio"
	"github.com/edgeflag/edgeflag/internal/syncbuf"
	"io"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// cliProcess is a running edgeflag command: the lines it printed on standard output, and
// its standard error.
type cliProcess struct {
	cmd    *exec.Cmd
	done   chan error
	stderr syncbuf.Buffer

	mu    sync.Mutex
	lines []string
}

// cliStart runs the binary with args in a clean environment plus env, until the test ends.
func cliStart(t *testing.T, bin *cliBinary, env []string, args ...string) *cliProcess {
	t.Helper()
	return cliStartIn(t, bin, t.TempDir(), env, false, args...)
}

// cliStartIn is cliStart in directory dir; with mergeStderr, what the command writes to
// standard error joins the lines of standard output.
func cliStartIn(t *testing.T, bin *cliBinary, dir string, env []string, mergeStderr bool, args ...string) *cliProcess {
	t.Helper()
	p := &cliProcess{cmd: exec.Command(bin.path, args...), done: make(chan error, 1)}
	p.cmd.Dir = dir
	p.cmd.Env = append(cliBaseEnv(), env...)
	pr, pw := io.Pipe()
	p.cmd.Stdout, p.cmd.Stderr = pw, &p.stderr
	if mergeStderr {
		p.cmd.Stderr = pw
	}
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			p.mu.Lock()
			p.lines = append(p.lines, sc.Text())
			p.mu.Unlock()
		}
	}()
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		err := p.cmd.Wait()
		pw.Close()
		p.done <- err
	}()
	t.Cleanup(func() {
		if p.cmd.ProcessState == nil {
			p.cmd.Process.Kill()
			<-p.done
		}
		if t.Failed() {
			t.Logf("edgeflag %s\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), strings.Join(p.output(), "\n"), p.stderr.String())
		}
	})
	return p
}

func (p *cliProcess) output() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.lines...)
}

// waitLine waits up to timeout until a line from index from on matches re, and returns the match and
// the index after the line.
func (p *cliProcess) waitLine(t *testing.T, re *regexp.Regexp, from int, timeout time.Duration) ([]string, int) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		lines := p.output()
		for i := from; i < len(lines); i++ {
			if m := re.FindStringSubmatch(lines[i]); m != nil {
				return m, i + 1
			}
		}
		select {
		case err := <-p.done:
			p.done <- err
			t.Fatalf("the command exited (%v) before printing a line matching %s", err, re)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("no line matching %s within %s", re, timeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// stop sends sig and requires a clean exit within the shutdown time.
func (p *cliProcess) stop(t *testing.T, sig syscall.Signal) {
	t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-p.done:
		if err != nil {
			t.Fatalf("exit after %v: %v", sig, err)
		}
	case <-time.After(15 * time.Second):
		t.Fatalf("still running 15 s after %v", sig)
	}
}
