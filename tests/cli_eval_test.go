package tests

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/edgeflag/edgeflag/snapshot"
)

// cliHandBuiltSnapshot writes a snapshot assembled from Go values, independent of the
// compiler: flag beta-banner serves on to country US (rule us-first) and to 50% of the
// rest; flag theme is a string flag fixed to "dark".
func cliHandBuiltSnapshot(t *testing.T, dir string) string {
	t.Helper()
	all := snapshot.Portion{Kind: snapshot.PortionAll, BucketBy: snapshot.NoIndex}
	s := &snapshot.Snapshot{
		Environment: "production",
		Revision:    "hand-built",
		BuildTime:   1764547200,
		Attributes:  []string{"country", "userId"},
		Segments: []snapshot.Segment{{
			Key: "us",
			When: snapshot.Condition{Kind: snapshot.CondClause, Clause: snapshot.Clause{
				Attribute: 0, Op: snapshot.OpIn, Values: []snapshot.Literal{{Kind: snapshot.LitString, Str: "US"}}}},
		}},
		Flags: []snapshot.Flag{
			{
				Key: "beta-banner", Type: snapshot.TypeBoolean, Enabled: true,
				Variants:   []snapshot.Variant{{Name: "off", JSON: "false"}, {Name: "on", JSON: "true"}},
				OffVariant: 0, DefaultVariant: 0, Seed: snapshot.SeedFor("beta-banner"), BucketBy: 1,
				Rules: []snapshot.Rule{{Name: "us-first", When: &snapshot.Condition{Kind: snapshot.CondSegment, Segment: 0},
					Serve: snapshot.Serve{Kind: snapshot.ServeVariant, Variant: 1, Portion: all}}},
				ReleaseRing: snapshot.NoIndex,
				Rollout: snapshot.Serve{Kind: snapshot.ServeVariant, Variant: 1,
					Portion: snapshot.Portion{Kind: snapshot.PortionPercentage, Threshold: snapshot.ThresholdFor(50), BucketBy: snapshot.NoIndex}},
			},
			{
				Key: "theme", Type: snapshot.TypeString, Enabled: true,
				Variants: []snapshot.Variant{{Name: "dark", JSON: `"dark"`}},
				Seed:     snapshot.SeedFor("theme"), BucketBy: 1,
				ReleaseRing: snapshot.NoIndex,
				Rollout:     snapshot.Serve{Kind: snapshot.ServeVariant, Variant: 0, Portion: all},
			},
		},
	}
	path := filepath.Join(dir, "hand-built.snap")
	if err := os.WriteFile(path, snapshot.Encode(s), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func testCLIEval(t *testing.T, bin *cliBinary) {
	work := cliExampleFlags(t)
	const at = "2026-11-26T12:00:00Z"
	goldens := []struct {
		name string
		args []string
	}{
		{"eval-internal-user", []string{"eval", "new-search-algorithm", "--env", "production",
			"--ctx", `{"userId":"u1","email":"a@company.com"}`, "--at", at}},
		{"eval-all", []string{"eval", "--all", "-a", "userId=u7", "-a", "country=US", "-a", "plan=enterprise", "--at", at}},
		{"eval-staging", []string{"eval", "new-search-algorithm", "new-checkout-flow", "--env", "staging", "-a", "userId=u7", "--at", at}},
		{"explain-rings", []string{"explain", "new-search-algorithm", "--ctx", `{"userId":"u1","email":"a@gmail.com"}`, "--at", at}},
		{"explain-schedule", []string{"eval", "faster-image-cdn", "--explain", "-a", "userId=u3", "--at", "2026-11-30T16:30:00Z"}},
		{"explain-rules", []string{"explain", "search-results-page-size", "-a", "userId=u9", "-a", "platform=ios",
			"-a", "appVersion=2.4.1", "--at", at}},
	}
	for _, g := range goldens {
		t.Run(g.name, func(t *testing.T) {
			res := bin.run(t, work, g.args...)
			res.expectCode(t, 0)
			cliGolden(t, g.name, res.stdout)
		})
	}
	t.Run("json", func(t *testing.T) {
		res := bin.run(t, work, "eval", "new-search-algorithm", "--ctx", `{"userId":"u1","email":"a@company.com"}`, "--at", at, "--json")
		res.expectCode(t, 0)
		var one struct {
			Key, Variant, Reason string
			Value                bool
			Decision             struct{ Kind, Name, Segment string }
		}
		res.decodeJSON(t, &one)
		if one.Key != "new-search-algorithm" || !one.Value || one.Variant != "on" || one.Reason != "TARGETING_MATCH" ||
			one.Decision.Kind != "ring" || one.Decision.Name != "internal" || one.Decision.Segment != "internal-employees" {
			t.Errorf("eval --json: %+v", one)
		}
		res = bin.run(t, work, "eval", "--all", "-a", "userId=u1", "--at", at, "--json")
		res.expectCode(t, 0)
		var all []map[string]any
		res.decodeJSON(t, &all)
		if len(all) < 20 {
			t.Errorf("eval --all --json: %d results", len(all))
		}
		res = bin.run(t, work, "explain", "faster-image-cdn", "-a", "userId=u3", "--at", "2026-11-30T16:30:00Z", "--json")
		res.expectCode(t, 0)
		var ex struct {
			Result   struct{ Variant string }
			Schedule string
			Path     []struct {
				Depth   int
				Subject string
				Matched bool
			}
		}
		res.decodeJSON(t, &ex)
		if ex.Result.Variant != "on" || !strings.HasPrefix(ex.Schedule, "step 3 of 6") || len(ex.Path) == 0 || ex.Path[0].Subject != "rollout" {
			t.Errorf("explain --json: %+v", ex)
		}
	})
	t.Run("time of evaluation", func(t *testing.T) {
		// Before the schedule starts nobody gets the CDN; after its last step everybody does.
		for _, tc := range []struct{ at, want string }{
			{"2026-11-30", "default (schedule not started)"},
			{"2026-11-30T23:00:00Z", "rollout (step 6 of 6"},
		} {
			res := bin.run(t, work, "eval", "faster-image-cdn", "-a", "userId=u3", "--at", tc.at)
			res.expectCode(t, 0)
			if !strings.Contains(res.stdout, tc.want) {
				t.Errorf("--at %s: want %q in\n%s", tc.at, tc.want, res.stdout)
			}
		}
		// Offsets from now parse.
		res := bin.run(t, work, "eval", "faster-image-cdn", "-a", "userId=u3", "--at", "+3d")
		res.expectCode(t, 0)
	})
	t.Run("typed attributes", func(t *testing.T) {
		res := bin.run(t, work, "eval", "search-results-page-size", "-a", "userId=u9", "-a", "requestsPerDay:=500", "--at", at, "--json")
		res.expectCode(t, 0)
		if !strings.Contains(res.stdout, `"variant":"long"`) || !strings.Contains(res.stdout, `"segment":"power-users"`) {
			t.Errorf("a number attribute did not reach the power-users segment:\n%s", res.stdout)
		}
	})
	t.Run("unknown flag", func(t *testing.T) {
		res := bin.run(t, work, "eval", "new-serch-algorithm", "-a", "userId=u1")
		res.expectCode(t, 1)
		if !strings.Contains(res.stderr, `no flag "new-serch-algorithm" in production (did you mean "new-search-algorithm"?)`) {
			t.Errorf("stderr:\n%s", res.stderr)
		}
	})
	t.Run("unknown environment", func(t *testing.T) {
		res := bin.run(t, work, "eval", "new-search-algorithm", "--env", "qa")
		res.expectCode(t, 2)
	})
	t.Run("evaluation error exits 1", func(t *testing.T) {
		// checkout-button-color splits by userId: without one the split cannot bucket.
		res := bin.run(t, work, "eval", "checkout-button-color", "--at", at)
		res.expectCode(t, 1)
		if !strings.Contains(res.stdout, "TARGETING_KEY_MISSING") {
			t.Errorf("stdout:\n%s", res.stdout)
		}
	})
	t.Run("hand-built snapshot", func(t *testing.T) {
		dir := t.TempDir()
		snap := cliHandBuiltSnapshot(t, dir)
		res := bin.run(t, dir, "eval", "beta-banner", "--snapshot", snap, "-a", "userId=u1", "-a", "country=US", "--json")
		res.expectCode(t, 0)
		if !strings.Contains(res.stdout, `"variant":"on","reason":"TARGETING_MATCH","decision":{"kind":"rule","name":"us-first","segment":"us"}`) {
			t.Errorf("stdout:\n%s", res.stdout)
		}
		res = bin.run(t, dir, "explain", "beta-banner", "--snapshot", snap, "-a", "userId=u1", "-a", "country=FR")
		res.expectCode(t, 0)
		for _, want := range []string{"✗ rule us-first: condition did not match", `country equals "US": context has "FR"`, "threshold   500000 (50%)"} {
			if !strings.Contains(res.stdout, want) {
				t.Errorf("explain lacks %q:\n%s", want, res.stdout)
			}
		}
		res = bin.run(t, dir, "eval", "--all", "--snapshot", snap, "-a", "userId=u1")
		res.expectCode(t, 0)
		if !strings.Contains(res.stdout, `theme        "dark"`) {
			t.Errorf("eval --all:\n%s", res.stdout)
		}
		res = bin.run(t, dir, "eval", "beta-banner", "--snapshot", snap, "--env", "staging")
		res.expectCode(t, 2)
	})
}
