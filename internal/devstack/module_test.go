package devstack

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSourceRoot(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "edgeflag/go.mod", "// the sources\nmodule github.com/edgeflag/edgeflag\n\ngo 1.26\n")
	writeFile(t, dir, "edgeflag/flags/project.yaml", "kind: Project\n")
	writeFile(t, dir, "other/go.mod", "module example.com/other\n")
	writeFile(t, dir, "quoted/go.mod", "module \"github.com/edgeflag/edgeflag\"\n")
	os.MkdirAll(filepath.Join(dir, "other/sub"), 0o755)
	os.MkdirAll(filepath.Join(dir, "plain"), 0o755)
	tests := []struct {
		from string
		root string
		ok   bool
	}{
		{"edgeflag", "edgeflag", true},
		{"edgeflag/flags", "edgeflag", true},
		{"quoted", "quoted", true},
		{"other/sub", "other", false}, // the nearest module is another one
	}
	for _, tc := range tests {
		root, ok := sourceRoot(filepath.Join(dir, tc.from))
		if ok != tc.ok || (ok && root != filepath.Join(dir, tc.root)) {
			t.Errorf("sourceRoot(%s) = %s, %v; want %s, %v", tc.from, root, ok, tc.root, tc.ok)
		}
	}
	if _, err := moduleName(filepath.Join(dir, "plain", "go.mod")); err == nil {
		t.Error("moduleName of a missing go.mod: no error")
	}
	writeFile(t, dir, "nomodule/go.mod", "go 1.26\n")
	if _, err := moduleName(filepath.Join(dir, "nomodule", "go.mod")); err == nil || !strings.Contains(err.Error(), "no module line") {
		t.Errorf("moduleName without a module line: %v", err)
	}
}

func TestLoadModuleFromFile(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "m.wasm", "\x00asm")
	m, err := LoadModule(context.Background(), filepath.Join(dir, "m.wasm"))
	if err != nil || string(m.Wasm) != "\x00asm" || m.Origin != filepath.Join(dir, "m.wasm") {
		t.Errorf("LoadModule(file): %+v, %v", m, err)
	}
	writeFile(t, dir, "empty.wasm", "")
	for _, name := range []string{"empty.wasm", "missing.wasm"} {
		if _, err := LoadModule(context.Background(), filepath.Join(dir, name)); err == nil {
			t.Errorf("LoadModule(%s): no error", name)
		}
	}
}

// TestLoadModuleFromSources: inside the edgeflag sources the module is built from them.
func TestLoadModuleFromSources(t *testing.T) {
	m, err := LoadModule(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(m.Origin, "built from ") || len(m.Wasm) < 1<<20 || string(m.Wasm[:4]) != "\x00asm" {
		t.Errorf("module %s: %d bytes", m.Origin, len(m.Wasm))
	}
}
