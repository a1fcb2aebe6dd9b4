package devstack

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/edgeflag/edgeflag/internal/wasmbuild"
)

// modulePath is the module path of the edgeflag sources.
const modulePath = "github.com/edgeflag/edgeflag"

// DefaultModuleFile is where `make wasm` writes the evaluator module.
const DefaultModuleFile = "bin/edgeflag.wasm"

// Module is the WASM evaluator module the edge runs, and where it came from.
type Module struct {
	Wasm   []byte
	Origin string // "bin/edgeflag.wasm", or "built from <dir>"
}

// LoadModule finds the evaluator module for the edge:
//
//   - file, when given;
//   - else, when the working directory is inside the edgeflag sources and the go command
//     is on PATH, the module built from those sources (what `make run` does: the Go build
//     cache makes it quick after the first time), so the edge always runs the evaluator of
//     the checkout;
//   - else DefaultModuleFile in the working directory (`make wasm` writes it).
func LoadModule(ctx context.Context, file string) (*Module, error) {
	if file != "" {
		return readModule(file)
	}
	wd, err := os.Getwd()
	if err != nil {
		return nil, err
	}
	if root, ok := sourceRoot(wd); ok {
		if _, err := exec.LookPath("go"); err == nil {
			return buildModule(ctx, root)
		}
	}
	if _, err := os.Stat(DefaultModuleFile); err == nil {
		return readModule(DefaultModuleFile)
	}
	return nil, fmt.Errorf("no evaluator module: run 'make wasm' and pass --wasm %s, or run from the edgeflag sources with the go command on PATH", DefaultModuleFile)
}

func readModule(file string) (*Module, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("evaluator module: %w", err)
	}
	if len(b) == 0 {
		return nil, fmt.Errorf("evaluator module %s is empty", file)
	}
	return &Module{Wasm: b, Origin: file}, nil
}

func buildModule(ctx context.Context, root string) (*Module, error) {
	tmp, err := os.MkdirTemp("", "edgeflag-dev-wasm-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	out := filepath.Join(tmp, "edgeflag.wasm")
	if err := wasmbuild.Build(ctx, out); err != nil {
		return nil, fmt.Errorf("building the evaluator module from %s: %w", root, err)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		return nil, err
	}
	return &Module{Wasm: b, Origin: "built from " + root}, nil
}

// sourceRoot returns the directory of the edgeflag go.mod holding dir, if any.
func sourceRoot(dir string) (string, bool) {
	for {
		if name, err := moduleName(filepath.Join(dir, "go.mod")); err == nil {
			return dir, name == modulePath
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", false
		}
		dir = parent
	}
}

// moduleName reads the module path of a go.mod file.
func moduleName(gomod string) (string, error) {
	f, err := os.Open(gomod)
	if err != nil {
		return "", err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(strings.TrimSpace(sc.Text()), "module "); ok {
			return strings.Trim(strings.TrimSpace(rest), `"`), nil
		}
	}
	if err := sc.Err(); err != nil {
		return "", err
	}
	return "", errors.New(gomod + ": no module line")
}
