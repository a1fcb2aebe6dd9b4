package tests

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func testCLIInspect(t *testing.T, bin *cliBinary) {
	work := cliExampleFlags(t)
	res := bin.runWith(t, cliRun{dir: work, env: []string{"SOURCE_DATE_EPOCH=1764547200"}}, "compile", "-o", "out", "--revision", "v1.0.0")
	res.expectCode(t, 0)
	t.Run("one flag", func(t *testing.T) {
		res := bin.run(t, work, "inspect", "out/production.snap", "--flag", "new-search-algorithm")
		res.expectCode(t, 0)
		cliGolden(t, "inspect-new-search-algorithm", res.stdout)
		res = bin.run(t, work, "inspect", "out/production.snap", "--flag", "new-onboarding-flow")
		res.expectCode(t, 0)
		cliGolden(t, "inspect-new-onboarding-flow", res.stdout)
	})
	t.Run("whole snapshot", func(t *testing.T) {
		res := bin.run(t, work, "inspect", "out/production.snap")
		res.expectCode(t, 0)
		var v struct {
			Header struct {
				Magic            string
				FormatVersion    int
				BucketingVersion int
				Hash             string
				Size             int
				Environment      string
				Revision         string
				BuildTime        string
			}
			Attributes []string
			Segments   []struct {
				Key  string
				When map[string]any
			}
			Flags []struct {
				Key      string
				Type     string
				Variants []struct{ Name string }
			}
		}
		res.decodeJSON(t, &v)
		h := v.Header
		data, _ := os.ReadFile(filepath.Join(work, "out", "production.snap"))
		if h.Magic != "EFSN" || h.FormatVersion != 1 || h.BucketingVersion != 1 || len(h.Hash) != 64 || h.Size != len(data) ||
			h.Environment != "production" || h.Revision != "v1.0.0" || h.BuildTime != "2025-12-01T00:00:00Z" {
			t.Errorf("header: %+v", h)
		}
		if len(v.Segments) == 0 || len(v.Flags) == 0 || len(v.Attributes) == 0 {
			t.Fatalf("empty sections: %d segments, %d flags, %d attributes", len(v.Segments), len(v.Flags), len(v.Attributes))
		}
		for _, f := range v.Flags {
			if f.Key == "" || f.Type == "" || len(f.Variants) == 0 {
				t.Errorf("flag without key, type or variants: %+v", f)
			}
		}
	})
	t.Run("corrupted snapshot", func(t *testing.T) {
		data, err := os.ReadFile(filepath.Join(work, "out", "production.snap"))
		if err != nil {
			t.Fatal(err)
		}
		data[len(data)-1] ^= 0xff
		bad := filepath.Join(work, "corrupted.snap")
		if err := os.WriteFile(bad, data, 0o644); err != nil {
			t.Fatal(err)
		}
		res := bin.run(t, work, "inspect", "corrupted.snap")
		res.expectCode(t, 1)
		if !strings.Contains(res.stderr, "content hash mismatch") || res.stdout != "" {
			t.Errorf("stdout %q, stderr %q", res.stdout, res.stderr)
		}
		res = bin.run(t, work, "inspect", "flags/project.yaml")
		res.expectCode(t, 1)
		if !strings.Contains(res.stderr, "not a snapshot") {
			t.Errorf("stderr: %s", res.stderr)
		}
		res = bin.run(t, work, "inspect", "out/production.snap", "--flag", "nope")
		res.expectCode(t, 1)
	})
	t.Run("hand-built snapshot", func(t *testing.T) {
		dir := t.TempDir()
		snap := cliHandBuiltSnapshot(t, dir)
		res := bin.run(t, dir, "inspect", snap, "--flag", "beta-banner")
		res.expectCode(t, 0)
		cliGolden(t, "inspect-hand-built", res.stdout)
	})
}
