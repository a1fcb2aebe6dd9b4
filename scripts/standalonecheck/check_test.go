package main

import (
	"fmt"
	"io/fs"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestCheckFiles runs the check over testdata/repo, a small repository with references
// inside and outside of it, and compares the file:line of every hit.
func TestCheckFiles(t *testing.T) {
	root := filepath.Join("testdata", "repo")
	var files []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		files = append(files, filepath.ToSlash(rel))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	hits, checked, err := CheckFiles(root, files)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, h := range hits {
		got = append(got, fmt.Sprintf("%s:%d %s", h.File, h.Line, h.Ref))
	}
	want := []string{
		`Makefile:1 ../outside/specs/ofrep/openapi.yaml`,
		`Makefile:6 /tmp/edgeflag-build`,
		`edge/cloudflare/config.capnp:5 ../../../outside/specs/ofrep/openapi.yaml`,
		`go.mod:5 ../other`,
		`scripts/fetch.sh:3 ../outside/specs/ofrep/openapi.yaml`,
		`tests/helpers_test.go:10 filepath.Join(root, "..", "outside", "specs", "ofrep", "openapi.yaml")`,
		`tests/helpers_test.go:25 "../../outside/specs/ofrep/openapi.yaml"`,
		`tests/helpers_test.go:26 filepath.Join("..", "..", "outside", "x")`,
		`tests/helpers_test.go:27 /home/ana/edgeflag/flags/project.yaml`,
		`tests/helpers_test.go:28 /root/outside`,
	}
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("hits:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if checked != len(files)-1 { // README.md is skipped
		t.Errorf("checked %d files, want %d", checked, len(files)-1)
	}
}

func TestSkip(t *testing.T) {
	tests := []struct {
		name string
		skip bool
	}{
		{"README.md", true},
		{"docs/edge.md", true},
		{"tests/testdata/ofrep/LICENSE", true},
		{"go.sum", true},
		{"scripts/standalonecheck/testdata/repo/Makefile", true},
		{"scripts/standalonecheck/check_test.go", true},
		{"scripts/standalonecheck/check.go", false},
		{"Makefile", false},
		{"go.mod", false},
		{"tests/ofrep_helpers_test.go", false},
		{"edge/cloudflare/config.capnp", false},
		{"tests/testdata/ofrep/openapi.yaml", false},
	}
	for _, tt := range tests {
		if got := Skip(tt.name); got != tt.skip {
			t.Errorf("Skip(%q) = %v, want %v", tt.name, got, tt.skip)
		}
	}
}

func TestEscapes(t *testing.T) {
	tests := []struct {
		dir, rel string
		want     bool
	}{
		{".", "..", true},
		{".", "../outside", true},
		{"tests", "..", false},
		{"tests", "../flags", false},
		{"tests", "../../outside", true},
		{"edge/cloudflare", "../common/a.mjs", false},
		{"edge/cloudflare", "../../bin/x.wasm", false},
		{"edge/cloudflare", "../../../x", true},
		{"a/b", "../c/../../d", false},
		{"a/b", "../c/../../../d", true},
	}
	for _, tt := range tests {
		if got := escapes(tt.dir, tt.rel); got != tt.want {
			t.Errorf("escapes(%q, %q) = %v, want %v", tt.dir, tt.rel, got, tt.want)
		}
	}
}
