// Package wasmbuild builds the evaluator module (package wasm/guest) with the Go
// toolchain, the way `make wasm` does, for tests and for commands that host the module
// from a source checkout.
package wasmbuild

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
)

// GuestPackage is the import path of the module's main package.
const GuestPackage = "github.com/edgeflag/edgeflag/wasm/guest"

// Args returns the arguments of `go` that build the module into out: a WASI preview 1
// reactor (-buildmode=c-shared), reproducible (-trimpath, no VCS stamp), without symbol
// tables (-s -w), which the module does not need and which cost about 20 KB gzip, and
// with the Go runtime compiled without inlining (-gcflags=runtime=-l): inlining makes
// the runtime's WebAssembly about 20 KB gzip larger and does not speed evaluation up
// (it allocates nothing once warm; docs/benchmarks.md has the numbers).
//
// Build tags, when given, select optional parts of the guest (edgeflag_bench: exports that
// time the module's own work).
func Args(out string, tags ...string) []string {
	args := []string{"build", "-buildmode=c-shared", "-trimpath", "-buildvcs=false",
		"-gcflags=runtime=-l", "-ldflags=-s -w"}
	if len(tags) > 0 {
		args = append(args, "-tags="+strings.Join(tags, ","))
	}
	return append(args, "-o", out, GuestPackage)
}

// Env returns the environment of the build: the current one with GOOS=wasip1 and
// GOARCH=wasm.
func Env() []string {
	env := []string{"GOOS=wasip1", "GOARCH=wasm"}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "GOOS=") && !strings.HasPrefix(kv, "GOARCH=") {
			env = append(env, kv)
		}
	}
	return env
}

// Build builds the module into out, with the build tags given (none for the module that
// edges run). It runs the go command found on PATH in the current directory, which must
// be inside the edgeflag module.
func Build(ctx context.Context, out string, tags ...string) error {
	cmd := exec.CommandContext(ctx, "go", Args(out, tags...)...)
	cmd.Env = Env()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return errors.New("wasmbuild: go " + strings.Join(Args(out, tags...), " ") + ": " + err.Error() + "\n" + stderr.String())
	}
	return nil
}

var (
	once     sync.Once
	built    []byte
	buildErr error
)

// Module returns the module's bytes, building it on the first call in a process (into a
// temporary directory that is removed again). Tests of several packages share it instead
// of each building and caching the module their own way.
func Module() ([]byte, error) {
	once.Do(func() {
		dir, err := os.MkdirTemp("", "edgeflag-wasm-")
		if err != nil {
			buildErr = err
			return
		}
		defer os.RemoveAll(dir)
		out := filepath.Join(dir, "edgeflag.wasm")
		if buildErr = Build(context.Background(), out); buildErr == nil {
			built, buildErr = os.ReadFile(out)
		}
	})
	return built, buildErr
}
