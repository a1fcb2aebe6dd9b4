package tests

import (
	"encoding/json"
	"io"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// listedPackage is what `go list -json` says of a package, as far as the surface goes.
type listedPackage struct {
	ImportPath string
	Name       string
	Imports    []string
}

// TestPublicPackagesImportNoInternal holds the module's public surface to what a library
// user can use: a package others may import (not under internal/, not a command, not one
// of these tests) must not import an internal/ package, whose API Go keeps out of reach of
// every other module. Test files may: they are not part of the surface.
func TestPublicPackagesImportNoInternal(t *testing.T) {
	const module = "github.com/edgeflag/edgeflag"
	cmd := exec.Command("go", "list", "-json=ImportPath,Name,Imports", "./...")
	cmd.Dir = edgeRoot(t)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	public := 0
	for {
		var p listedPackage
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatalf("go list output: %v", err)
		}
		if !isPublicPackage(module, p) {
			continue
		}
		public++
		for _, imp := range p.Imports {
			if isInternalPath(module, imp) {
				t.Errorf("public package %s imports %s: a user of %s cannot build what it needs from it; make the API public or inject it", p.ImportPath, imp, p.ImportPath)
			}
		}
	}
	if public < 10 {
		t.Fatalf("go list named %d public packages: the listing went wrong", public)
	}
}

// isPublicPackage reports whether another module may import p.
func isPublicPackage(module string, p listedPackage) bool {
	rel, ok := strings.CutPrefix(p.ImportPath, module+"/")
	if !ok || p.Name == "main" || isInternalPath(module, p.ImportPath) {
		return false
	}
	first, _, _ := strings.Cut(rel, "/")
	return first != "cmd" && first != "tests"
}

// isInternalPath reports whether path is an internal package of module (Go's rule: a path
// element named internal).
func isInternalPath(module, path string) bool {
	rel, ok := strings.CutPrefix(path, module+"/")
	return ok && slices.Contains(strings.Split(rel, "/"), "internal")
}

func TestIsPublicPackage(t *testing.T) {
	const module = "github.com/edgeflag/edgeflag"
	tests := []struct {
		path, name string
		want       bool
	}{
		{module + "/lambda", "lambda", true},
		{module + "/poller/storetest", "storetest", true},
		{module + "/lambda/bootstrap", "main", false},
		{module + "/internal/dashboard", "dashboard", false},
		{module + "/wasm/internal/x", "x", false},
		{module + "/cmd/edgeflag", "main", false},
		{module + "/tests/docs", "docs", false},
		{"github.com/aws/aws-sdk-go-v2/internal/v4a", "v4a", false},
	}
	for _, tt := range tests {
		if got := isPublicPackage(module, listedPackage{ImportPath: tt.path, Name: tt.name}); got != tt.want {
			t.Errorf("isPublicPackage(%s) = %v, want %v", tt.path, got, tt.want)
		}
	}
}
