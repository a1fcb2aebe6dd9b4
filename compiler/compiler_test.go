package compiler

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/edgeflag/edgeflag/snapshot"
)

func loadGood(t *testing.T) *Project {
	t.Helper()
	p, err := Load(filepath.Join("testdata", "good"))
	if err != nil {
		t.Fatalf("load testdata/good:\n%v", err)
	}
	return p
}

func TestLoadSourceModel(t *testing.T) {
	p := loadGood(t)
	if want := []string{"staging", "production"}; !slices.Equal(p.Environments, want) {
		t.Errorf("environments %q, want %q", p.Environments, want)
	}
	var rings []string
	for _, r := range p.Rings {
		rings = append(rings, r.Name)
	}
	if want := []string{"developers", "internal", "canary", "early-majority", "everyone"}; !slices.Equal(rings, want) {
		t.Errorf("rings %q, want %q", rings, want)
	}
	if p.Severity(CheckOwner) != SeverityError || p.Severity(CheckExpiry) != SeverityWarning ||
		p.Severity(CheckRolloutPlan) != SeverityError || p.Severity("nonsense") != SeverityOff {
		t.Errorf("severities: %v", p.Checks)
	}
	var keys []string
	for _, f := range p.Flags {
		keys = append(keys, f.Key)
	}
	if want := []string{"checkout-button-color", "checkout-limits", "max-items", "new-search-algorithm", "search-index-v2"}; !slices.Equal(keys, want) {
		t.Errorf("flags %q, want %q", keys, want)
	}
	if s := p.Segment("developers"); s == nil || s.Pos.String() != filepath.Join("testdata", "good", "segments", "people.yaml")+":8:1" {
		t.Errorf("segment developers at %v", s)
	}

	f := p.Flag("new-search-algorithm")
	if f == nil {
		t.Fatal("no flag new-search-algorithm")
	}
	if f.File != filepath.Join("testdata", "good", "flags", "new-search.yaml") || f.Line != 3 || f.Column != 1 {
		t.Errorf("flag position %v", f.Pos)
	}
	if f.Description != "New ranking for search results" || f.Owner != "search-team@company.com" || f.Lifecycle != Temporary {
		t.Errorf("flag metadata %q %q %q", f.Description, f.Owner, f.Lifecycle)
	}
	if !f.Created.Equal(time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)) || !f.Expires.Equal(time.Date(2026, 12, 31, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("dates %v %v", f.Created, f.Expires)
	}
	if pos := f.Fields["expires"]; pos.Line != 8 {
		t.Errorf("expires written at %v, want line 8", pos)
	}
	if f.Type != snapshot.TypeBoolean || f.OffVariant != "off" || f.DefaultVariant != "off" || len(f.Variants) != 2 || !f.Enabled {
		t.Errorf("boolean defaults: %v %q %q %d %v", f.Type, f.OffVariant, f.DefaultVariant, len(f.Variants), f.Enabled)
	}
	if f.BucketBy != "userId" || f.Salt != f.Key {
		t.Errorf("bucketBy %q salt %q", f.BucketBy, f.Salt)
	}
	if f.Release == nil || f.Release.Ring != "canary" || f.Release.Variant != "on" {
		t.Errorf("release %+v", f.Release)
	}
	if f.In("staging").Release.Ring != "everyone" || f.In("production").Release.Ring != "canary" {
		t.Errorf("staging override not applied")
	}
	if len(f.Stages) != 3 {
		t.Fatalf("%d stages", len(f.Stages))
	}
	type crit struct {
		metric, cmp string
		value       float64
		unit        string
		baseline    bool
	}
	var got []crit
	for _, st := range f.Stages {
		for _, c := range st.SuccessCriteria {
			got = append(got, crit{c.Metric, c.Comparison, c.Value, c.Unit, c.Baseline})
		}
	}
	want := []crit{{"error_rate", "<", 0.5, "%", false}, {"p99_latency", "<", 500, "ms", false}, {"revenue_per_user", ">=", 0.95, "", true}}
	if !slices.Equal(got, want) {
		t.Errorf("criteria %+v, want %+v", got, want)
	}
	if f.Stages[0].Duration != 30*time.Minute || f.Stages[1].Duration != 2*time.Hour || !f.Stages[2].Infinite {
		t.Errorf("stage durations %v %v %v", f.Stages[0].Duration, f.Stages[1].Duration, f.Stages[2].Infinite)
	}

	s := p.Flag("search-index-v2").Rollout.Schedule
	start := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	if !s.Steps[0].At.Equal(start.Add(15*time.Minute)) || s.Steps[0].After != "15m" || !s.Steps[2].At.Equal(start.Add(24*time.Hour)) {
		t.Errorf("schedule steps %+v %+v", s.Steps[0], s.Steps[2])
	}
	if v := p.Flag("checkout-limits").Variant("small"); v == nil || v.JSON != `{"currency":"EUR","max":10,"tiers":[1,2.5,1000]}` {
		t.Errorf("json variant %+v", v)
	}
}

// attr returns the index of an attribute name in a snapshot.
func attr(t *testing.T, s *snapshot.Snapshot, name string) int {
	t.Helper()
	i := slices.Index(s.Attributes, name)
	if i < 0 {
		t.Fatalf("attribute %q not interned: %q", name, s.Attributes)
	}
	return i
}

func flagOf(t *testing.T, s *snapshot.Snapshot, key string) *snapshot.Flag {
	t.Helper()
	i := s.FlagIndex(key)
	if i < 0 {
		t.Fatalf("no flag %q", key)
	}
	return &s.Flags[i]
}

func TestBuild(t *testing.T) {
	p := loadGood(t)
	s, err := p.Build("production", Options{Revision: "c0ffee", BuildTime: 1_700_000_000})
	if err != nil {
		t.Fatal(err)
	}
	if s.Environment != "production" || s.Revision != "c0ffee" || s.BuildTime != 1_700_000_000 {
		t.Errorf("header %q %q %d", s.Environment, s.Revision, s.BuildTime)
	}
	if !slices.IsSorted(s.Attributes) {
		t.Errorf("attributes not sorted: %q", s.Attributes)
	}
	wantAttrs := []string{"accountCreated", "accountId", "age", "appVersion", "betaOptIn", "country", "email", "path", "plan", "platform", "sessionId", "team", "tier", "userId"}
	if !slices.Equal(s.Attributes, wantAttrs) {
		t.Errorf("attributes %q, want %q", s.Attributes, wantAttrs)
	}
	var segs []string
	for _, sg := range s.Segments {
		segs = append(segs, sg.Key)
	}
	if want := []string{"beta-opt-in", "developers", "internal-employees"}; !slices.Equal(segs, want) {
		t.Fatalf("segments %q, want %q", segs, want)
	}

	// ignoreCase lower-cases the literals.
	ie := s.Segments[2].When.Clause
	if ie.Op != snapshot.OpEndsWith || !ie.IgnoreCase || ie.Values[0].Str != "@company.com" || ie.Attribute != attr(t, s, "email") {
		t.Errorf("internal-employees clause %+v", ie)
	}
	// in: sorted and deduplicated; semver: canonical; segments by index.
	dev := s.Segments[1].When
	in := dev.Children[0].Clause
	if in.Op != snapshot.OpIn || len(in.Values) != 2 || in.Values[0].Str != "platform" || in.Values[1].Str != "search" {
		t.Errorf("developers in-clause %+v", in.Values)
	}
	all := dev.Children[1]
	if all.Children[0].Kind != snapshot.CondSegment || all.Children[0].Segment != 2 {
		t.Errorf("segment reference %+v", all.Children[0])
	}
	if sv := all.Children[1].Clause; sv.Op != snapshot.OpSemverGte || sv.Values[0].Kind != snapshot.LitSemver || sv.Values[0].Str != "3.0.0-dev.1" {
		t.Errorf("semver clause %+v", sv)
	}

	// A string flag with a split, salt and bucketBy.
	btn := flagOf(t, s, "checkout-button-color")
	if btn.Seed != snapshot.SeedFor("checkout-2026") || btn.BucketBy != attr(t, s, "accountId") || btn.Type != snapshot.TypeString {
		t.Errorf("button seed %d bucketBy %d", btn.Seed, btn.BucketBy)
	}
	if btn.Variants[2].Name != "v1.2" || btn.Variants[2].JSON != `"<b>&"` {
		t.Errorf("variant JSON %+v", btn.Variants[2])
	}
	mobile := btn.Rules[1]
	eq := mobile.When.Children[0].Clause
	if eq.Op != snapshot.OpIn || eq.Negate || len(eq.Values) != 1 || eq.Values[0].Str != "ios" {
		t.Errorf("equals clause %+v", eq)
	}
	if gte := mobile.When.Children[1].Clause; gte.Op != snapshot.OpGte || gte.Values[0] != (snapshot.Literal{Kind: snapshot.LitNumber, Num: 18}) {
		t.Errorf("gte clause %+v", gte)
	}
	if m := mobile.When.Children[2].Clause; m.Op != snapshot.OpMatches || len(m.Regexps) != 1 {
		t.Errorf("matches clause %+v", m)
	}
	if not := mobile.When.Children[3]; not.Kind != snapshot.CondNot || not.Children[0].Clause.Op != snapshot.OpPresent || !not.Children[0].Clause.Negate {
		t.Errorf("not absent %+v", not)
	}
	sp := mobile.Serve
	if sp.Kind != snapshot.ServeSplit || sp.Portion.BucketBy != attr(t, s, "sessionId") ||
		!slices.Equal(sp.Split, []snapshot.Weight{{Variant: 0, Upper: 333_333}, {Variant: 1, Upper: 666_666}, {Variant: 2, Upper: snapshot.BucketCount}}) {
		t.Errorf("split %+v", sp)
	}
	if ro := btn.Rollout; ro.Kind != snapshot.ServeSplit || ro.Portion.BucketBy != snapshot.NoIndex ||
		!slices.Equal(ro.Split, []snapshot.Weight{{Variant: 0, Upper: 500_000}, {Variant: 1, Upper: snapshot.BucketCount}}) {
		t.Errorf("rollout split %+v", ro)
	}

	// A boolean flag with a prerequisite, negated set, relative time, percentage and release.
	ns := flagOf(t, s, "new-search-algorithm")
	if ns.Variants[0] != (snapshot.Variant{Name: "on", JSON: "true"}) || ns.Variants[1] != (snapshot.Variant{Name: "off", JSON: "false"}) ||
		ns.OffVariant != 1 || ns.DefaultVariant != 1 || !ns.Enabled || ns.Killed {
		t.Errorf("boolean defaults %+v", ns)
	}
	if ns.Seed != snapshot.SeedFor("new-search-algorithm") || ns.BucketBy != attr(t, s, "userId") {
		t.Errorf("seed %d bucketBy %d", ns.Seed, ns.BucketBy)
	}
	if want := []snapshot.Prerequisite{{Flag: s.FlagIndex("search-index-v2"), Variant: 0}}; !slices.Equal(ns.Prerequisites, want) {
		t.Errorf("prerequisites %+v, want %+v", ns.Prerequisites, want)
	}
	notIn := ns.Rules[0].When.Clause
	if notIn.Op != snapshot.OpIn || !notIn.Negate || notIn.Values[0].Str != "CU" || notIn.Values[2].Str != "KP" {
		t.Errorf("notIn clause %+v", notIn)
	}
	if pc := ns.Rules[0].Serve.Portion; pc.Kind != snapshot.PortionPercentage || pc.Threshold != 125_000 || pc.BucketBy != snapshot.NoIndex {
		t.Errorf("12.5%% portion %+v", pc)
	}
	if rel := ns.Rules[1].When.Clause; rel.Op != snapshot.OpBefore || !rel.Relative || rel.Values[0] != (snapshot.Literal{Kind: snapshot.LitTime, Num: -365 * 86_400_000}) {
		t.Errorf("relative clause %+v", rel)
	}
	if len(ns.Rings) != 5 || ns.ReleaseRing != 2 || ns.ReleaseVar != 0 {
		t.Errorf("rings %d release ring %d variant %d", len(ns.Rings), ns.ReleaseRing, ns.ReleaseVar)
	}
	canary := ns.Rings[2].When
	if canary.Kind != snapshot.CondAny || canary.Children[1].Kind != snapshot.CondPercentage || canary.Children[1].Portion.Threshold != 50_000 {
		t.Errorf("canary ring %+v", canary)
	}
	if ns.Rings[3].Portion.Threshold != 250_000 || ns.Rings[4].Portion.Kind != snapshot.PortionAll || ns.Rings[4].When != nil {
		t.Errorf("percentage rings %+v %+v", ns.Rings[3], ns.Rings[4])
	}
	// rollout: { variant: on } with stages starts at the first stage's 5%.
	if ro := ns.Rollout; ro.Kind != snapshot.ServeVariant || ns.Variants[ro.Variant].Name != "on" || ro.Portion.Kind != snapshot.PortionPercentage || ro.Portion.Threshold != 50_000 {
		t.Errorf("staged rollout %+v", ro)
	}

	// A schedule with start + after and an absolute step.
	si := flagOf(t, s, "search-index-v2")
	start := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC).UnixMilli()
	wantSteps := []snapshot.Step{{At: start + 15*60_000, Threshold: 10_000}, {At: start + 30*60_000, Threshold: 50_000}, {At: start + 86_400_000, Threshold: snapshot.BucketCount}}
	if !slices.Equal(si.Rollout.Portion.Steps, wantSteps) || si.Rollout.Portion.Kind != snapshot.PortionSchedule {
		t.Errorf("schedule %+v, want %+v", si.Rollout.Portion, wantSteps)
	}
	if si.ReleaseRing != snapshot.NoIndex || len(si.Rings) != 0 {
		t.Errorf("flag without release has rings %+v", si.Rings)
	}

	// A flag's own ring ladder; a number set sorted and deduplicated.
	lim := flagOf(t, s, "checkout-limits")
	if len(lim.Rings) != 2 || lim.Rings[0].Name != "pilot" || lim.ReleaseRing != 0 || lim.ReleaseVar != 1 {
		t.Errorf("own rings %+v", lim)
	}
	tier := flagOf(t, s, "max-items").Rules[0].When.Clause
	if len(tier.Values) != 3 || tier.Values[0].Num != 1 || tier.Values[2].Num != 3 || tier.Values[0].Kind != snapshot.LitNumber {
		t.Errorf("number set %+v", tier.Values)
	}

	// The staging override moves the release to the outermost ring.
	st, err := p.Build("staging", Options{})
	if err != nil {
		t.Fatal(err)
	}
	if r := flagOf(t, st, "new-search-algorithm").ReleaseRing; r != 4 {
		t.Errorf("staging release ring %d, want 4", r)
	}
	if _, err := p.Build("qa", Options{}); err == nil || !strings.Contains(err.Error(), `unknown environment "qa"`) {
		t.Errorf("unknown environment: %v", err)
	}
}

// TestRoundTrip checks that everything the compiler produces decodes, and re-encodes to
// the same bytes.
func TestRoundTrip(t *testing.T) {
	dirs := []string{filepath.Join("testdata", "good"), generateFlags(t, t.TempDir(), 300)}
	for _, dir := range dirs {
		snaps, err := Compile(dir, Options{Revision: "r", BuildTime: 42})
		if err != nil {
			t.Fatal(err)
		}
		for env, s := range snaps {
			enc := snapshot.Encode(s)
			dec, err := snapshot.Decode(enc)
			if err != nil {
				t.Fatalf("%s %s: decode: %v", dir, env, err)
			}
			if !bytes.Equal(snapshot.Encode(dec), enc) {
				t.Errorf("%s %s: re-encoding a decoded snapshot changes it", dir, env)
			}
		}
	}
}

// TestDeterminism compiles the same flags twice, and laid out differently on disk: the
// snapshots must be byte-identical.
func TestDeterminism(t *testing.T) {
	good := filepath.Join("testdata", "good")
	a, err := Compile(good, Options{Revision: "r", BuildTime: 7})
	if err != nil {
		t.Fatal(err)
	}
	b, err := Compile(good, Options{Revision: "r", BuildTime: 7})
	if err != nil {
		t.Fatal(err)
	}
	// Every document of testdata/good in one file, in reverse order.
	var docs []string
	err = filepath.WalkDir(good, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		docs = append(docs, strings.Split(string(data), "\n---\n")...)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Reverse(docs)
	other := t.TempDir()
	if err := os.WriteFile(filepath.Join(other, "all.yml"), []byte(strings.Join(docs, "\n---\n")), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := Compile(other, Options{Revision: "r", BuildTime: 7})
	if err != nil {
		t.Fatal(err)
	}
	for _, env := range []string{"staging", "production"} {
		ea, eb, ec := snapshot.Encode(a[env]), snapshot.Encode(b[env]), snapshot.Encode(c[env])
		if !bytes.Equal(ea, eb) {
			t.Errorf("%s: two compiles differ", env)
		}
		if !bytes.Equal(ea, ec) {
			t.Errorf("%s: the layout of files on disk changes the snapshot", env)
		}
	}
}

// TestBrokenProjects loads each directory of testdata/broken and compares every error with
// the directory's want.txt.
func TestBrokenProjects(t *testing.T) {
	dirs, err := os.ReadDir(filepath.Join("testdata", "broken"))
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range dirs {
		t.Run(d.Name(), func(t *testing.T) {
			dir := filepath.Join("testdata", "broken", d.Name())
			want, err := os.ReadFile(filepath.Join(dir, "want.txt"))
			if err != nil {
				t.Fatal(err)
			}
			_, err = LoadFS(os.DirFS(dir))
			got := errorLines(t, err)
			if w := strings.Split(strings.TrimSpace(string(want)), "\n"); !slices.Equal(got, w) {
				t.Errorf("%s", diffLines(got, w))
			}
		})
	}
}

func TestSyntaxErrorPosition(t *testing.T) {
	tests := []struct {
		name, src    string
		line, column int
		message      string
	}{
		{"scanner error", "kind: Flag\nkey: f\ntype: boolean\ndescription: @home\n", 4, 14,
			"invalid YAML: found character that cannot start any token"},
		// The problem's position, and where the list or mapping it was reading starts.
		{"unclosed flow list", "kind: Flag\nkey: f\ntype: boolean\nrules: [ { name: a, serve: on }\nrollout: on\n", 5, 1,
			"invalid YAML: did not find expected ',' or ']' (while parsing a flow sequence that starts at 4:8)"},
		{"bad indentation", "kind: Flag\nkey: f\ntype: boolean\nrules:\n  - name: a\n    serve: on\n  when: x\n", 7, 3,
			"invalid YAML: did not find expected '-' indicator (while parsing a block collection that starts at 5:3)"},
		{"unterminated string", "kind: Flag\nkey: \"f\ntype: boolean\n", 4, 1,
			"invalid YAML: found unexpected end of stream (while scanning a quoted scalar that starts at 2:6)"},
		{"tab indentation", "kind: Flag\nrules:\n\t- name: a\n", 3, 1,
			"invalid YAML: found character that cannot start any token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := LoadFS(mapFS(map[string]string{"f.yaml": tt.src}))
			var list ErrorList
			if !errors.As(err, &list) || len(list) != 1 {
				t.Fatalf("got %v, want one error", err)
			}
			if e := list[0]; e.File != "f.yaml" || e.Line != tt.line || e.Column != tt.column || e.Message != tt.message {
				t.Errorf("got %q, want %d:%d: %s", e.Error(), tt.line, tt.column, tt.message)
			}
		})
	}
}

func TestErrorFormat(t *testing.T) {
	tests := []struct {
		err  Error
		want string
	}{
		{Error{File: "flags/a.yaml", Line: 12, Column: 7, Path: "rules[0].when.op", Message: "bad"}, "flags/a.yaml:12:7: rules[0].when.op: bad"},
		{Error{File: "flags/a.yaml", Line: 3, Message: "invalid YAML: x"}, "flags/a.yaml:3: invalid YAML: x"},
		{Error{File: "flags", Message: "no Project"}, "flags: no Project"},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("got %q, want %q", got, tt.want)
		}
	}
	list := ErrorList{&tests[0].err, &tests[1].err}
	if got := list.Error(); got != tests[0].want+"\n"+tests[1].want {
		t.Errorf("list: %q", got)
	}
	var e *Error
	if !errors.As(error(list), &e) || e != &tests[0].err {
		t.Errorf("errors.As does not find the first error")
	}
}

func TestLoadErrors(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "nope")
	_, err := Load(missing)
	if got := errorLines(t, err); len(got) != 1 || got[0] != missing+": no such file or directory" {
		t.Errorf("missing dir: %q", got)
	}
	empty := t.TempDir()
	_, err = Compile(empty, Options{})
	if got := errorLines(t, err); len(got) != 1 || got[0] != empty+": no Project document (a file with kind: Project) found" {
		t.Errorf("empty dir: %q", got)
	}
}

// TestIgnoredFiles checks that only YAML files count and hidden directories are skipped.
func TestIgnoredFiles(t *testing.T) {
	p := mustLoadFS(t, map[string]string{
		"README.md":         "kind: Flag\n",
		".hidden/x.yaml":    "not: [valid",
		"nested/deep/f.yml": "kind: Flag\nkey: f\ntype: boolean\n",
		"empty.yaml":        "# nothing here\n",
	})
	if len(p.Flags) != 1 || p.Flags[0].File != "nested/deep/f.yml" {
		t.Errorf("flags %+v", p.Flags)
	}
}

// TestAnchorsAndMerges checks YAML aliases and merge keys, and that alias bombs are refused.
func TestAnchorsAndMerges(t *testing.T) {
	p := mustLoadFS(t, map[string]string{"f.yaml": `kind: Flag
key: f
type: boolean
rules:
  - &staff { name: staff, when: { segment: staff }, serve: on }
  - <<: *staff
    name: staff-again
    serve: off
`})
	r := p.Flag("f").Rules
	if len(r) != 2 || r[1].Name != "staff-again" || r[1].When.Segment != "staff" || r[1].Serve.Variant != "off" {
		t.Errorf("merged rule %+v", r[1])
	}
	bomb := "kind: Flag\nkey: f\ntype: boolean\na: &a [x, x, x, x, x, x, x, x, x, x]\n"
	prev := "a"
	for _, name := range []string{"b", "c", "d", "e", "g", "h"} {
		bomb += name + ": &" + name + " [" + strings.Repeat("*"+prev+", ", 9) + "*" + prev + "]\n"
		prev = name
	}
	_, err := LoadFS(mapFS(map[string]string{"f.yaml": bomb}))
	if got := errorLines(t, err); len(got) != 1 || !strings.Contains(got[0], "document too large") {
		t.Errorf("alias bomb: %q", got)
	}
}
