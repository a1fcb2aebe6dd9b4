package tests

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/edgeflag/edgeflag/publish"
	"github.com/edgeflag/edgeflag/store"
	"github.com/edgeflag/edgeflag/store/layout"
	"github.com/edgeflag/edgeflag/store/s3test"
)

// publishEpoch fixes the build time of the snapshots these tests publish, so that the
// same files publish the same bytes.
const publishEpoch = "SOURCE_DATE_EPOCH=1764547200"

// cliPublishOutput is the JSON of `edgeflag publish --json`.
type cliPublishOutput struct {
	Store        string `json:"store"`
	Revision     string `json:"revision"`
	BuildTime    string `json:"buildTime"`
	Environments []struct {
		Environment      string   `json:"environment"`
		Status           string   `json:"status"`
		Snapshot         string   `json:"snapshot"`
		Base             string   `json:"base"`
		PreviousSnapshot string   `json:"previousSnapshot"`
		Revision         string   `json:"revision"`
		Killed           []string `json:"killed"`
	} `json:"environments"`
}

// cliRollbackOutput is the JSON of `edgeflag rollback --json`.
type cliRollbackOutput struct {
	Environment string `json:"environment"`
	Changed     bool   `json:"changed"`
	Previous    struct {
		Snapshot, Base, Revision string
		Killed                   []string
	} `json:"previous"`
	Current struct {
		Snapshot, Base, Revision string
		Killed                   []string
	} `json:"current"`
	History []string `json:"history"`
}

// TestCLIPublish runs `edgeflag publish` and `edgeflag rollback` as real processes against a
// directory store, and once against an S3-protocol server.
func TestCLIPublish(t *testing.T) {
	bin := cliBuild(t)
	t.Run("publish", func(t *testing.T) { testCLIPublish(t, bin) })
	t.Run("rollback", func(t *testing.T) { testCLIRollback(t, bin) })
	t.Run("s3", func(t *testing.T) { testCLIPublishS3(t, bin) })
	t.Run("help", func(t *testing.T) {
		for _, name := range []string{"publish", "rollback", "dev"} {
			res := bin.run(t, t.TempDir(), name, "--help")
			res.expectCode(t, 0)
			if !strings.Contains(res.stdout, "Usage: edgeflag "+name) || !strings.Contains(res.stdout, "Example:\n  edgeflag "+name) {
				t.Errorf("%s --help:\n%s", name, res.stdout)
			}
		}
	})
}

// cliPointer reads an environment's pointer from a directory store.
func cliPointer(t *testing.T, st store.Store, env string) *publish.Pointer {
	t.Helper()
	p, _, err := publish.ReadPointer(context.Background(), st, env)
	if err != nil {
		t.Fatal(err)
	}
	if p == nil {
		t.Fatalf("no pointer for %s in %s", env, st)
	}
	return p
}

func cliOpenDir(t *testing.T, dir string) store.Store {
	t.Helper()
	st, err := store.NewDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// cliMoveRing rewrites new-search-algorithm's release ring in production.
func cliMoveRing(t *testing.T, work, from, to string) {
	t.Helper()
	path := filepath.Join(work, "flags", "search", "new-search-algorithm.yaml")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	old := "release: { ring: " + from + ", variant: on }"
	if !strings.Contains(string(b), old) {
		t.Fatalf("%s does not say %q", path, old)
	}
	if err := os.WriteFile(path, []byte(strings.Replace(string(b), old, "release: { ring: "+to+", variant: on }", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
}

func testCLIPublish(t *testing.T, bin *cliBinary) {
	ctx := context.Background()
	t.Run("twice", func(t *testing.T) {
		work := cliExampleFlags(t)
		run := cliRun{dir: work, env: []string{publishEpoch, "USER=release-engineer"}}
		res := bin.runWith(t, run, "publish", "--store", "store", "--revision", "v1")
		res.expectCode(t, 0)
		st := cliOpenDir(t, filepath.Join(work, "store"))
		for _, env := range []string{"staging", "production"} {
			p := cliPointer(t, st, env)
			want := regexp.MustCompile(`(?m)^` + env + ` +published +snapshot ` + p.Snapshot[:12] + ` +base ` + p.Base[:12] + `$`)
			if !want.MatchString(res.stdout) || p.Revision != "v1" {
				t.Errorf("%s: pointer %+v; output:\n%s", env, p, res.stdout)
			}
			audit, err := publish.New(st).Audit(ctx, env)
			if err != nil || len(audit) != 1 || audit[0].Action != "publish" || !strings.HasPrefix(audit[0].Who, "release-engineer@") {
				t.Errorf("%s: audit %+v, %v", env, audit, err)
			}
		}
		if !strings.Contains(res.stdout, "store store, revision v1, built 2025-12-01T00:00:00Z\n") {
			t.Errorf("summary line missing:\n%s", res.stdout)
		}
		keys, err := st.List(ctx, "")
		if err != nil {
			t.Fatal(err)
		}

		res = bin.runWith(t, run, "publish", "--store", "store", "--revision", "v1")
		res.expectCode(t, 0)
		if strings.Count(res.stdout, " unchanged ") != 2 || strings.Contains(res.stdout, "published") {
			t.Errorf("second publish:\n%s", res.stdout)
		}
		again, _ := st.List(ctx, "")
		if !slices.Equal(keys, again) {
			t.Errorf("publishing the same flags again wrote objects: %v → %v", keys, again)
		}
	})

	t.Run("json, one environment, kill switches kept", func(t *testing.T) {
		work := cliExampleFlags(t)
		run := cliRun{dir: work, env: []string{publishEpoch, "GITHUB_ACTIONS=true", "GITHUB_REPOSITORY=acme/flags",
			"GITHUB_SHA=0123abc", "GITHUB_ACTOR=octocat"}}
		bin.runWith(t, run, "publish", "--store", "store", "--env", "production", "--revision", "v1").expectCode(t, 0)
		st := cliOpenDir(t, filepath.Join(work, "store"))
		if p, _, _ := publish.ReadPointer(ctx, st, "staging"); p != nil {
			t.Errorf("--env production published staging too: %+v", p)
		}
		if _, err := publish.New(st).Kill(ctx, "production", "weather-widget", "p99 latency doubled", "oncall"); err != nil {
			t.Fatal(err)
		}
		before := cliPointer(t, st, "production")
		cliMoveRing(t, work, "canary", "early-majority")

		res := bin.runWith(t, run, "publish", "--store", "store", "--env", "production", "--revision", "v2", "--json")
		res.expectCode(t, 0)
		var out cliPublishOutput
		res.decodeJSON(t, &out)
		after := cliPointer(t, st, "production")
		if len(out.Environments) != 1 {
			t.Fatalf("--json: %+v", out)
		}
		e := out.Environments[0]
		if e.Environment != "production" || e.Status != "published" || e.Snapshot != after.Snapshot || e.Base != after.Base ||
			e.PreviousSnapshot != before.Snapshot || e.Revision != "v2" || !slices.Equal(e.Killed, []string{"weather-widget"}) ||
			out.Revision != "v2" || out.BuildTime != "2025-12-01T00:00:00Z" || out.Store != "store" {
			t.Errorf("--json: %+v\npointer %+v", out, after)
		}
		if after.Snapshot == after.Base {
			t.Error("the served snapshot is the base: the kill switch was not applied")
		}
		audit, _ := publish.New(st).Audit(ctx, "production")
		if last := audit[len(audit)-1]; last.Who != "github-actions:acme/flags@0123abc by octocat" {
			t.Errorf("audit names %q", last.Who)
		}
		res = bin.runWith(t, run, "publish", "--store", "store", "--env", "production", "--revision", "v2")
		res.expectCode(t, 0)
		if !regexp.MustCompile(`(?m)^production +unchanged +snapshot \w+ +base \w+ +killed weather-widget$`).MatchString(res.stdout) {
			t.Errorf("table with a kill switch:\n%s", res.stdout)
		}
	})

	t.Run("store from EDGEFLAG_STORE", func(t *testing.T) {
		work := cliExampleFlags(t)
		res := bin.runWith(t, cliRun{dir: work, env: []string{publishEpoch, "EDGEFLAG_STORE=" + filepath.Join(work, "env-store")}}, "publish")
		res.expectCode(t, 0)
		cliPointer(t, cliOpenDir(t, filepath.Join(work, "env-store")), "production")
	})

	t.Run("nothing published when a file has a problem", func(t *testing.T) {
		work := cliExampleFlags(t)
		cliWriteFile(t, work, "flags/search/broken.yaml", "kind: Flag\nkey: broken\ntype: boolean\nrelease: { ring: canary, variant: on\n")
		res := bin.runWith(t, cliRun{dir: work, env: []string{publishEpoch}}, "publish", "--store", "store")
		res.expectCode(t, 1)
		if !regexp.MustCompile(`flags/search/broken\.yaml:\d+`).MatchString(res.stderr) || !strings.Contains(res.stderr, "nothing published") {
			t.Errorf("stderr:\n%s", res.stderr)
		}
		if res.stdout != "" {
			t.Errorf("stdout:\n%s", res.stdout)
		}
		keys, _ := cliOpenDir(t, filepath.Join(work, "store")).List(ctx, "")
		if len(keys) != 0 {
			t.Errorf("the store holds %v", keys)
		}
	})

	errs := []struct {
		name   string
		args   []string
		code   int
		stderr string
	}{
		{"no store", []string{"publish"}, 2, "no store: give --store"},
		{"unknown environment", []string{"publish", "--store", "store", "--env", "qa"}, 2, `unknown environment "qa"`},
		{"unknown scheme", []string{"publish", "--store", "ftp://example.com/flags"}, 1, `unknown scheme "ftp"`},
		{"extra argument", []string{"publish", "--store", "store", "flags", "more"}, 2, `unexpected argument "more"`},
		{"missing directory", []string{"publish", "--store", "store", "no-such-dir"}, 1, "no-such-dir"},
	}
	for _, tc := range errs {
		t.Run(tc.name, func(t *testing.T) {
			work := cliExampleFlags(t)
			res := bin.runWith(t, cliRun{dir: work, env: []string{publishEpoch}}, tc.args...)
			res.expectCode(t, tc.code)
			if !strings.Contains(res.stderr, tc.stderr) {
				t.Errorf("stderr lacks %q:\n%s", tc.stderr, res.stderr)
			}
		})
	}
}

func testCLIRollback(t *testing.T, bin *cliBinary) {
	ctx := context.Background()
	work := cliExampleFlags(t)
	run := cliRun{dir: work, env: []string{publishEpoch}}
	bin.runWith(t, run, "publish", "--store", "store", "--revision", "v1").expectCode(t, 0)
	st := cliOpenDir(t, filepath.Join(work, "store"))
	v1 := cliPointer(t, st, "production")
	cliMoveRing(t, work, "canary", "everyone")
	bin.runWith(t, run, "publish", "--store", "store", "--revision", "v2").expectCode(t, 0)
	v2 := cliPointer(t, st, "production")
	if v1.Base == v2.Base {
		t.Fatal("moving the ring did not change the production snapshot")
	}
	if _, err := publish.New(st).Kill(ctx, "production", "weather-widget", "p99 latency doubled", "oncall"); err != nil {
		t.Fatal(err)
	}

	// Undo the last publish: back to v1, the kill switch still in force.
	res := bin.runWith(t, run, "rollback", "--store", "store", "--env", "production")
	res.expectCode(t, 0)
	now := cliPointer(t, st, "production")
	if now.Base != v1.Base || !slices.Equal(now.Killed, []string{"weather-widget"}) {
		t.Errorf("after rollback: %+v, want base %s with weather-widget killed", now, v1.Base)
	}
	for _, want := range []string{
		"production: rolled back\n",
		"base      " + v2.Base[:12] + "  →  " + v1.Base[:12],
		"revision  v2            →  v1",
		"still killed: weather-widget",
	} {
		if !strings.Contains(res.stdout, want) {
			t.Errorf("rollback output lacks %q:\n%s", want, res.stdout)
		}
	}

	// The history is now empty.
	res = bin.runWith(t, run, "rollback", "--store", "store", "--env", "production")
	res.expectCode(t, 1)
	if !strings.Contains(res.stderr, "no earlier snapshot to roll back to") {
		t.Errorf("empty history: %s", res.stderr)
	}

	// Forward again by a short hash, as JSON.
	res = bin.runWith(t, run, "rollback", "--store", "store", "--env", "production", "--to", v2.Base[:9], "--json")
	res.expectCode(t, 0)
	var out cliRollbackOutput
	res.decodeJSON(t, &out)
	now = cliPointer(t, st, "production")
	if !out.Changed || out.Environment != "production" || out.Current.Base != v2.Base || out.Current.Snapshot != now.Snapshot ||
		out.Previous.Base != v1.Base || out.Previous.Revision != "v1" || out.Current.Revision != "v2" ||
		!slices.Equal(out.Current.Killed, []string{"weather-widget"}) || !slices.Equal(out.History, []string{v1.Base}) {
		t.Errorf("--to --json: %+v\npointer %+v", out, now)
	}

	// To what is already served: nothing changes.
	res = bin.runWith(t, run, "rollback", "--store", "store", "--env", "production", "--to", v2.Base)
	res.expectCode(t, 0)
	if !strings.Contains(res.stdout, "production: unchanged, already serving snapshot "+now.Snapshot[:12]) {
		t.Errorf("rollback to the current base:\n%s", res.stdout)
	}

	// Two snapshots sharing a prefix, one of them not a snapshot at all.
	fake := v2.Snapshot[:7] + strings.Repeat("0", 57)
	if fake == v2.Snapshot {
		fake = v2.Snapshot[:7] + strings.Repeat("1", 57)
	}
	if _, err := st.Put(ctx, layout.SnapshotKey(fake), []byte("not a snapshot"), store.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	keys, _ := st.List(ctx, "")
	errs := []struct {
		name   string
		args   []string
		code   int
		stderr string
	}{
		{"unknown environment", []string{"--env", "qa"}, 1, `unknown environment "qa": nothing published to it`},
		{"short prefix", []string{"--env", "production", "--to", "abc"}, 1, "at least 7 hex digits"},
		{"unknown snapshot", []string{"--env", "production", "--to", "fffffff"}, 1, `unknown snapshot "fffffff"`},
		{"ambiguous prefix", []string{"--env", "production", "--to", v2.Snapshot[:7]}, 1, "ambiguous snapshot hash"},
		{"not a snapshot", []string{"--env", "production", "--to", fake}, 1, "invalid snapshot"},
		{"no environment", nil, 2, "--env is required"},
		{"positional argument", []string{"--env", "production", "flags"}, 2, `unexpected argument "flags"`},
	}
	for _, tc := range errs {
		t.Run(tc.name, func(t *testing.T) {
			res := bin.runWith(t, run, append([]string{"rollback", "--store", "store"}, tc.args...)...)
			res.expectCode(t, tc.code)
			if !strings.Contains(res.stderr, tc.stderr) || res.stdout != "" {
				t.Errorf("stderr lacks %q:\n%s\nstdout:\n%s", tc.stderr, res.stderr, res.stdout)
			}
		})
	}
	if after, _ := st.List(ctx, ""); !slices.Equal(keys, after) {
		t.Errorf("refused rollbacks wrote to the store: %v → %v", keys, after)
	}
}

// testCLIPublishS3 publishes to and rolls back in an S3 bucket served by gofakes3 on
// 127.0.0.1, through the AWS SDK, as CI does against the real bucket.
func testCLIPublishS3(t *testing.T, bin *cliBinary) {
	ctx := context.Background()
	srv := s3test.New(t, "edgeflag-test")
	work := cliExampleFlags(t)
	run := cliRun{dir: work, env: append(srv.Env(), publishEpoch)}
	loc := srv.Location("flags")

	res := bin.runWith(t, run, "publish", "--store", loc, "--revision", "v1")
	res.expectCode(t, 0)
	if strings.Count(res.stdout, " published ") != 2 || !strings.Contains(res.stdout, "store s3://edgeflag-test/flags") {
		t.Errorf("first publish to S3:\n%s", res.stdout)
	}
	st := srv.Store(t, "flags")
	v1 := cliPointer(t, st, "production")
	if _, err := st.Get(ctx, layout.SnapshotKey(v1.Snapshot), store.GetOptions{}); err != nil {
		t.Errorf("the pointer names %s: %v", v1.Snapshot, err)
	}
	if put, ok := srv.LastPut("flags/" + layout.PointerKey("production")); !ok || put.Header.Get("If-None-Match") != "*" {
		t.Errorf("the first pointer was not created with If-None-Match: * (%v)", put.Header)
	}

	res = bin.runWith(t, run, "publish", "--store", loc, "--revision", "v1")
	res.expectCode(t, 0)
	if strings.Count(res.stdout, " unchanged ") != 2 {
		t.Errorf("second publish to S3:\n%s", res.stdout)
	}

	cliMoveRing(t, work, "canary", "everyone")
	bin.runWith(t, run, "publish", "--store", loc, "--revision", "v2").expectCode(t, 0)
	if put, ok := srv.LastPut("flags/" + layout.PointerKey("production")); !ok || put.Header.Get("If-Match") == "" {
		t.Errorf("the pointer was replaced without If-Match (%v)", put.Header)
	}
	res = bin.runWith(t, run, "rollback", "--store", loc, "--env", "production")
	res.expectCode(t, 0)
	if p := cliPointer(t, st, "production"); p.Base != v1.Base || p.Revision != "v1" {
		t.Errorf("after rollback in S3: %+v, want base %s", p, v1.Base)
	}
}
