package tests

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/edgeflag/edgeflag/snapshot"
)

func testCLICompile(t *testing.T, bin *cliBinary) {
	epoch := cliRun{env: []string{"SOURCE_DATE_EPOCH=1764547200"}} // 2025-12-01T00:00:00Z
	t.Run("example flags", func(t *testing.T) {
		work := cliExampleFlags(t)
		epoch := epoch
		epoch.dir = work
		res := bin.runWith(t, epoch, "compile", "flags", "-o", "out", "--revision", "v1.0.0")
		res.expectCode(t, 0)
		cliGolden(t, "compile", res.stdout)
		for _, env := range []string{"staging", "production"} {
			data, err := os.ReadFile(filepath.Join(work, "out", env+".snap"))
			if err != nil {
				t.Fatal(err)
			}
			s, err := snapshot.Decode(data)
			if err != nil {
				t.Fatalf("%s.snap: %v", env, err)
			}
			if s.Environment != env || s.Revision != "v1.0.0" || s.BuildTime != 1764547200 {
				t.Errorf("%s.snap header: env %q revision %q build time %d", env, s.Environment, s.Revision, s.BuildTime)
			}
			if s.FlagIndex("new-search-algorithm") < 0 {
				t.Errorf("%s.snap lacks new-search-algorithm", env)
			}
		}
		// The same sources and header give byte-identical files.
		res = bin.runWith(t, epoch, "compile", "-o", "again", "--revision", "v1.0.0")
		res.expectCode(t, 0)
		for _, env := range []string{"staging", "production"} {
			a, _ := os.ReadFile(filepath.Join(work, "out", env+".snap"))
			b, _ := os.ReadFile(filepath.Join(work, "again", env+".snap"))
			if !bytes.Equal(a, b) {
				t.Errorf("%s.snap differs between two compiles", env)
			}
		}
	})
	t.Run("json and one environment", func(t *testing.T) {
		work := cliExampleFlags(t)
		epoch := epoch
		epoch.dir = work
		res := bin.runWith(t, epoch, "compile", "--env", "staging", "-o", "dist", "--json")
		res.expectCode(t, 0)
		var out []struct {
			Environment, File, Hash, Revision, BuildTime string
			Size, Flags                                  int
		}
		res.decodeJSON(t, &out)
		if len(out) != 1 || out[0].Environment != "staging" || out[0].File != filepath.Join("dist", "staging.snap") ||
			out[0].BuildTime != "2025-12-01T00:00:00Z" || out[0].Size == 0 || len(out[0].Hash) != 64 {
			t.Fatalf("compile --json: %+v", out)
		}
		if _, err := os.Stat(filepath.Join(work, "dist", "production.snap")); !os.IsNotExist(err) {
			t.Errorf("--env staging also wrote production.snap")
		}
		if res := bin.run(t, work, "compile", "--env", "qa"); res.code != 2 || !strings.Contains(res.stderr, `unknown environment "qa"`) {
			t.Errorf("unknown environment: exit %d, stderr %s", res.code, res.stderr)
		}
	})
	t.Run("revision and time from git", func(t *testing.T) {
		cliRequireGit(t)
		work := cliExampleFlags(t)
		cliGit(t, work, "2026-11-23T09:00:00Z", "init", "-q")
		cliGit(t, work, "2026-11-23T09:00:00Z", "add", "flags")
		cliGit(t, work, "2026-11-23T09:00:00Z", "commit", "-q", "-m", "flags")
		head := cliGit(t, work, "2026-11-23T09:00:00Z", "rev-parse", "HEAD")
		var first []byte
		for i, out := range []string{"a", "b"} {
			res := bin.run(t, work, "compile", "-o", out)
			res.expectCode(t, 0)
			data, err := os.ReadFile(filepath.Join(work, out, "production.snap"))
			if err != nil {
				t.Fatal(err)
			}
			s, err := snapshot.Decode(data)
			if err != nil {
				t.Fatal(err)
			}
			want := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC).Unix()
			if s.Revision != head || s.BuildTime != want {
				t.Errorf("header: revision %q build time %d, want %q %d", s.Revision, s.BuildTime, head, want)
			}
			if i == 0 {
				first = data
			} else if !bytes.Equal(first, data) {
				t.Errorf("compiling the same commit twice gave different bytes")
			}
		}
		// An uncommitted change marks the revision dirty.
		cliWriteFile(t, work, "flags/search/extra.yaml", "kind: Flag\nkey: extra\ntype: boolean\n")
		res := bin.run(t, work, "compile", "-o", "c", "--json")
		res.expectCode(t, 0)
		if !strings.Contains(res.stdout, head+"-dirty") {
			t.Errorf("a dirty tree is not marked:\n%s", res.stdout)
		}
	})
	t.Run("broken files write nothing", func(t *testing.T) {
		work := cliWorkspace(t, filepath.Join("testdata", "cli", "broken", "flags"))
		res := bin.run(t, work, "compile", "-o", "out")
		res.expectCode(t, 1)
		if !strings.Contains(res.stderr, "nothing written") {
			t.Errorf("stderr:\n%s", res.stderr)
		}
		if _, err := os.Stat(filepath.Join(work, "out")); !os.IsNotExist(err) {
			t.Errorf("compile created the output directory despite errors")
		}
	})
	t.Run("bad SOURCE_DATE_EPOCH", func(t *testing.T) {
		work := cliExampleFlags(t)
		res := bin.runWith(t, cliRun{dir: work, env: []string{"SOURCE_DATE_EPOCH=yesterday"}}, "compile")
		res.expectCode(t, 2)
		if !strings.Contains(res.stderr, "SOURCE_DATE_EPOCH") {
			t.Errorf("stderr:\n%s", res.stderr)
		}
	})
}
