package compiler

import (
	"strconv"
	"strings"
	"testing"

	"github.com/edgeflag/edgeflag/snapshot"
)

// A project whose snapshot is larger than edges load does not build: the error names the
// limit and the flag with the largest variants.
func TestBuildRefusesSnapshotOverEdgeLimit(t *testing.T) {
	big := strings.Repeat("x", 3<<20)
	files := map[string]string{}
	for i := range 12 { // 12 × 3 MiB, each file within the per-file limit
		key := "big-" + strconv.Itoa(i)
		files["flags/"+key+".yaml"] = "kind: Flag\nkey: " + key + "\ntype: string\nvariants:\n  a: \"" + big + "\"\n  b: \"" + big[:i+1] + "\"\noffVariant: b\ndefaultVariant: b\n"
	}
	p := mustLoadFS(t, files)
	_, err := p.Build("production", Options{})
	if err == nil {
		t.Fatal("a snapshot over 32 MiB builds")
	}
	for _, want := range []string{"environment production", "over the limit of " + strconv.Itoa(snapshot.MaxSize) + " bytes", "flag big-11 has the largest variants"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
}
