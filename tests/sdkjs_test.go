package tests

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"
)

// sdkExampleBlocks finds the ```js example of docs/edge.md's section on sdk/js and the
// ```text block of its output that follows it.
var sdkExampleBlocks = regexp.MustCompile("(?s)## In process, in JavaScript \\(`sdk/js`\\).*?```js\n(.*?)```\n\n```text\n(.*?)```\n")

// TestSDKExampleNode runs the JavaScript example of docs/edge.md as a reader would, from
// a tree laid out as the repository (sdk/, edge/, bin/edgeflag.wasm, and out/production.snap
// as `edgeflag compile -o out/` writes it), and requires the output the page shows.
func TestSDKExampleNode(t *testing.T) {
	edgeRequireJS(t)
	root := edgeRoot(t)
	doc, err := os.ReadFile(filepath.Join(root, "docs/edge.md"))
	if err != nil {
		t.Fatal(err)
	}
	m := sdkExampleBlocks.FindSubmatch(doc)
	if m == nil {
		t.Fatal("docs/edge.md has no ```js example followed by a ```text block in its section on sdk/js")
	}
	tree := t.TempDir()
	for _, dir := range []string{"sdk", "edge"} {
		if err := os.Symlink(filepath.Join(root, dir), filepath.Join(tree, dir)); err != nil {
			t.Fatal(err)
		}
	}
	_, snap := edgeExampleSnapshot(t, "production")
	for rel, data := range map[string][]byte{"out/production.snap": snap, "example.mjs": m[1]} {
		os.MkdirAll(filepath.Dir(filepath.Join(tree, rel)), 0o755)
		if err := os.WriteFile(filepath.Join(tree, rel), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	os.MkdirAll(filepath.Join(tree, "bin"), 0o755)
	if err := os.Symlink(edgeWasm(t), filepath.Join(tree, "bin/edgeflag.wasm")); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("node", "example.mjs")
	cmd.Dir = tree
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node example.mjs: %v\n%s", err, stderr.Bytes())
	}
	if !bytes.Equal(out, m[2]) {
		t.Errorf("the example prints\n%s\ndocs/edge.md shows\n%s", out, m[2])
	}
	if stderr.Len() > 0 {
		t.Errorf("the example writes to standard error:\n%s", stderr.Bytes())
	}
}
