package snapview

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/edgeflag/edgeflag/snapshot"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

func all() snapshot.Portion {
	return snapshot.Portion{Kind: snapshot.PortionAll, BucketBy: snapshot.NoIndex}
}

func pct(p float64) snapshot.Portion {
	return snapshot.Portion{Kind: snapshot.PortionPercentage, Threshold: snapshot.ThresholdFor(p), BucketBy: snapshot.NoIndex}
}

func clause(attr int, op snapshot.Op, negate bool, values ...snapshot.Literal) snapshot.Condition {
	return snapshot.Condition{Kind: snapshot.CondClause, Clause: snapshot.Clause{Attribute: attr, Op: op, Negate: negate, Values: values}}
}

func str(s string) snapshot.Literal { return snapshot.Literal{Kind: snapshot.LitString, Str: s} }

// sample is a snapshot using every part of the format: conditions of each kind, rules,
// a ring ladder with a release, a schedule, a split and a prerequisite.
func sample() *snapshot.Snapshot {
	// Attributes: 0 accountId, 1 appVersion, 2 country, 3 email, 4 signup, 5 userId.
	internal := clause(3, snapshot.OpEndsWith, false, str("@company.com"))
	internal.Clause.IgnoreCase = true
	boolFlag := func(key string) snapshot.Flag {
		return snapshot.Flag{Key: key, Type: snapshot.TypeBoolean, Enabled: true,
			Variants: []snapshot.Variant{{Name: "off", JSON: "false"}, {Name: "on", JSON: "true"}},
			Seed:     snapshot.SeedFor(key), BucketBy: 5, ReleaseRing: snapshot.NoIndex,
			Rollout: snapshot.Serve{Kind: snapshot.ServeVariant, Variant: 0, Portion: all()}}
	}
	index := boolFlag("search-index-v2")
	index.Rollout.Variant = 1
	search := boolFlag("new-search")
	search.Prerequisites = []snapshot.Prerequisite{{Flag: 1, Variant: 1}}
	search.Rules = []snapshot.Rule{
		{Name: "old-app", When: &snapshot.Condition{Kind: snapshot.CondAll, Children: []snapshot.Condition{
			clause(1, snapshot.OpSemverLt, false, snapshot.Literal{Kind: snapshot.LitSemver, Str: "2.3.0"}),
			clause(2, snapshot.OpIn, true, str("CN"), str("RU")),
			{Kind: snapshot.CondNot, Children: []snapshot.Condition{clause(4, snapshot.OpBefore, false,
				snapshot.Literal{Kind: snapshot.LitTime, Num: -365 * 24 * 3600_000})}},
		}}, Serve: snapshot.Serve{Kind: snapshot.ServeVariant, Variant: 0, Portion: all()}},
		{Name: "teams", Serve: snapshot.Serve{Kind: snapshot.ServeSplit, Portion: snapshot.Portion{BucketBy: 0},
			Split: []snapshot.Weight{{Variant: 0, Upper: 250_000}, {Variant: 1, Upper: 1_000_000}}}},
	}
	search.Rules[0].When.Children[2].Children[0].Clause.Relative = true
	search.Rings = []snapshot.Ring{
		{Name: "internal", When: &snapshot.Condition{Kind: snapshot.CondSegment, Segment: 0}, Portion: all()},
		{Name: "canary", When: &snapshot.Condition{Kind: snapshot.CondAny, Children: []snapshot.Condition{
			{Kind: snapshot.CondSegment, Segment: 0}, {Kind: snapshot.CondPercentage, Portion: pct(5)}}}, Portion: all()},
		{Name: "everyone", Portion: pct(100)},
	}
	search.ReleaseRing, search.ReleaseVar = 1, 1
	search.Rollout = snapshot.Serve{Kind: snapshot.ServeVariant, Variant: 1, Portion: snapshot.Portion{
		Kind: snapshot.PortionSchedule, BucketBy: snapshot.NoIndex, Steps: []snapshot.Step{
			{At: 1764579600000, Threshold: 10_000}, {At: 1764666000000, Threshold: 1_000_000}}}}
	return &snapshot.Snapshot{
		Environment: "production", Revision: "abc123", BuildTime: 1764547200,
		Attributes: []string{"accountId", "appVersion", "country", "email", "signup", "userId"},
		Segments:   []snapshot.Segment{{Key: "internal", When: internal}},
		Flags:      []snapshot.Flag{search, index},
	}
}

func TestDecodeGolden(t *testing.T) {
	data := snapshot.Encode(sample())
	v, s, err := Decode(data)
	if err != nil {
		t.Fatal(err)
	}
	if s.FlagIndex("new-search") < 0 {
		t.Fatal("decoded snapshot lacks its flag")
	}
	hash, _ := snapshot.Hash(data)
	if v.Header.Hash != hash || v.Header.Size != len(data) {
		t.Errorf("header hash %s size %d, want %s %d", v.Header.Hash, v.Header.Size, hash, len(data))
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "sample.golden.json")
	if *update {
		if err := os.WriteFile(golden, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(buf.Bytes(), want) {
		t.Errorf("view differs from %s (go test -update to rewrite):\n%s", golden, buf.String())
	}
}

func TestDecodeRejectsCorruption(t *testing.T) {
	data := snapshot.Encode(sample())
	data[len(data)-1] ^= 1
	if _, _, err := Decode(data); err == nil {
		t.Fatal("a corrupted snapshot decoded")
	}
}

func TestLookups(t *testing.T) {
	v := Of(sample())
	if v.Flag("new-search") == nil || v.Flag("nope") != nil || v.Segment("internal") == nil || v.Segment("nope") != nil {
		t.Error("Flag/Segment lookups")
	}
	f := v.Flag("new-search")
	if got := f.ReleaseReach(); got != 5 {
		t.Errorf("ReleaseReach = %v, want 5 (the canary's percentage)", got)
	}
	if got := f.Serves(); got != "1 prerequisite; 2 rules; release at ring canary (5%) serves on; rollout on on a schedule of 2 steps (1% → 100% from 2025-12-01T09:00:00Z)" {
		t.Errorf("Serves = %q", got)
	}
}

func TestRelativeTime(t *testing.T) {
	tests := []struct {
		ms   int64
		want string
	}{
		{-365 * 24 * 3600_000, "now-365d"},
		{14 * 24 * 3600_000, "now+2w"},
		{2 * 3600_000, "now+2h"},
		{-90_000, "now-90s"},
		{1500, "now+1500ms"},
		{0, "now+0ms"},
	}
	for _, tc := range tests {
		if got := RelativeTime(tc.ms); got != tc.want {
			t.Errorf("RelativeTime(%d) = %s, want %s", tc.ms, got, tc.want)
		}
	}
}

func TestServeString(t *testing.T) {
	p := 12.5
	tests := []struct {
		s    Serve
		want string
	}{
		{Serve{Variant: "on"}, "on"},
		{Serve{Variant: "on", Percentage: &p}, "on to 12.5%"},
		{Serve{Variant: "v2", BucketBy: "accountId", Percentage: &p}, "v2 to 12.5% by accountId"},
		{Serve{Split: []Weight{{"a", 50}, {"b", 50}}}, "split a 50% / b 50%"},
		{Serve{Variant: "on", Schedule: &Schedule{Steps: []Step{{At: "2026-12-01T00:00:00Z", Percentage: 100}}}},
			"on on a schedule of 1 step (100% from 2026-12-01T00:00:00Z)"},
	}
	for _, tc := range tests {
		if got := tc.s.String(); got != tc.want {
			t.Errorf("%+v: %q, want %q", tc.s, got, tc.want)
		}
	}
}
