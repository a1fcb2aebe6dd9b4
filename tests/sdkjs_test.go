package tests

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/edgeflag/edgeflag/poller/storetest"
)

// sdkSection is docs/edge.md's section on sdk/js, up to the next heading.
var sdkSection = regexp.MustCompile("(?s)## In process, in JavaScript \\(`sdk/js`\\)\n(.*?)\n## ")

// sdkExampleBlocks finds each ```js example of a section and the ```text block of its
// output that follows it.
var sdkExampleBlocks = regexp.MustCompile("(?s)```js\n(.*?)```\n\n```text\n(.*?)```\n")

// TestSDKExampleNode runs the JavaScript examples of docs/edge.md's section on sdk/js as a
// reader would, from a tree laid out as the repository (sdk/, edge/, bin/edgeflag.wasm, and
// out/production.snap as `edgeflag compile -o out/` writes it), with EDGEFLAG_STORE_URL
// naming a store that serves the same snapshot, and requires the output the page shows.
func TestSDKExampleNode(t *testing.T) {
	edgeRequireJS(t)
	root := edgeRoot(t)
	doc, err := os.ReadFile(filepath.Join(root, "docs/edge.md"))
	if err != nil {
		t.Fatal(err)
	}
	section := sdkSection.FindSubmatch(doc)
	if section == nil {
		t.Fatal("docs/edge.md has no section on sdk/js")
	}
	examples := sdkExampleBlocks.FindAllSubmatch(section[1], -1)
	if len(examples) < 2 {
		t.Fatalf("docs/edge.md's section on sdk/js has %d ```js examples followed by ```text blocks, want 2", len(examples))
	}
	tree := t.TempDir()
	for _, dir := range []string{"sdk", "edge"} {
		if err := os.Symlink(filepath.Join(root, dir), filepath.Join(tree, dir)); err != nil {
			t.Fatal(err)
		}
	}
	_, snap := edgeExampleSnapshot(t, "production")
	os.MkdirAll(filepath.Join(tree, "out"), 0o755)
	if err := os.WriteFile(filepath.Join(tree, "out/production.snap"), snap, 0o644); err != nil {
		t.Fatal(err)
	}
	os.MkdirAll(filepath.Join(tree, "bin"), 0o755)
	if err := os.Symlink(edgeWasm(t), filepath.Join(tree, "bin/edgeflag.wasm")); err != nil {
		t.Fatal(err)
	}
	store := storetest.New()
	defer store.Close()
	store.Publish("production", snap)

	for i, ex := range examples {
		script, want := ex[1], ex[2]
		name := "example" + string(rune('1'+i)) + ".mjs"
		if err := os.WriteFile(filepath.Join(tree, name), script, 0o644); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command("node", name)
		cmd.Dir = tree
		cmd.Env = append(os.Environ(), "EDGEFLAG_STORE_URL="+store.URL)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("example %d: node: %v\n%s", i+1, err, stderr.Bytes())
		}
		if !bytes.Equal(out, want) {
			t.Errorf("example %d prints\n%s\ndocs/edge.md shows\n%s", i+1, out, want)
		}
		if s := strings.TrimSpace(stderr.String()); s != "" {
			t.Errorf("example %d writes to standard error:\n%s", i+1, s)
		}
	}
}
