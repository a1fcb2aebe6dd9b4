// Package golden pins the compiled form of the example flags: compiling flags/ must give
// byte-identical snapshots, run after run, so that a change in the output is always a
// deliberate one (regenerate with `go test ./tests/golden -update`).
package golden_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/edgeflag/edgeflag/compiler"
	"github.com/edgeflag/edgeflag/snapshot"
	"github.com/edgeflag/edgeflag/snapview"
)

var update = flag.Bool("update", false, "rewrite the golden snapshots")

// goldenOptions fixes the header so the bytes depend on the flags alone.
var goldenOptions = compiler.Options{Revision: "golden", BuildTime: 1764115200}

func TestCompiledExampleFlagsAreByteIdentical(t *testing.T) {
	snaps, err := compiler.Compile("../../flags", goldenOptions)
	if err != nil {
		t.Fatal(err)
	}
	for env, s := range snaps {
		data := snapshot.Encode(s)
		again, err := compiler.Compile("../../flags", goldenOptions)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(data, snapshot.Encode(again[env])) {
			t.Fatalf("%s: two compilations of the same flags differ", env)
		}
		view, err := json.MarshalIndent(snapview.Of(s), "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		compare(t, filepath.Join("testdata", env+".snap"), data)
		compare(t, filepath.Join("testdata", env+".json"), append(view, '\n'))
	}
}

func compare(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run `go test ./tests/golden -update` to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the compiled flags (%d bytes, want %d); if the change is intended, run `go test ./tests/golden -update` and review the .json diff", path, len(got), len(want))
	}
}
