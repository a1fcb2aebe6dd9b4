package tests

import (
	"encoding/json"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestEdgeLayoutVectors checks the JavaScript poller against the store layout's test
// vectors (store/layout/testdata/vectors.json), which the Go package store/layout is
// tested with: the two sides agree on hashes, environment names, keys and pointers.
func TestEdgeLayoutVectors(t *testing.T) {
	edgeRequireJS(t)
	root := edgeRoot(t)
	out, err := exec.Command("node", filepath.Join(root, "tests/testdata/edge/layout-vectors.mjs"),
		filepath.Join(root, "store/layout/testdata/vectors.json")).CombinedOutput()
	if err != nil {
		t.Fatalf("node: %v\n%s", err, out)
	}
	var got struct {
		Checks   int      `json:"checks"`
		Failures []string `json:"failures"`
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("%s: %v", out, err)
	}
	if got.Checks < 50 {
		t.Errorf("only %d checks ran", got.Checks)
	}
	for _, f := range got.Failures {
		t.Error(f)
	}
}
