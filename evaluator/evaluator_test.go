//go:build !wasip1

package evaluator

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/edgeflag/edgeflag/snapshot"
)

// rolloutFixture builds one snapshot with a flag for each way a result can be decided.
func rolloutFixture(t testing.TB) *snapshot.Snapshot {
	b := &builder{}
	b.segments = []snapshot.Segment{
		{Key: "beta-opt-in", When: *b.clause("betaProgram", snapshot.OpIn, boolLit(true))},
		{Key: "internal-employees", When: func() snapshot.Condition {
			c := b.clause("email", snapshot.OpEndsWith, str("@company.com"))
			c.Clause.IgnoreCase = true
			return *c
		}()},
	}
	ab := b.boolFlag("ab-test")
	ab.Type = snapshot.TypeString
	ab.Variants = []snapshot.Variant{{Name: "control", JSON: `"control"`}, {Name: "treatment", JSON: `"treatment"`}}
	ab.Rollout = snapshot.Serve{Kind: snapshot.ServeSplit, Portion: snapshot.Portion{BucketBy: snapshot.NoIndex},
		Split: []snapshot.Weight{{Variant: 0, Upper: 500000}, {Variant: 1, Upper: snapshot.BucketCount}}}

	checkout := b.boolFlag("checkout")
	checkout.Rollout = snapshot.Serve{Kind: snapshot.ServeVariant, Variant: 1, Portion: pct(25)}

	disabled := b.boolFlag("disabled")
	disabled.Enabled = false
	disabled.Rollout.Variant = 1

	killed := b.boolFlag("killed")
	killed.Killed = true
	killed.Rollout.Variant = 1

	needsCheckout := b.boolFlag("one-click")
	needsCheckout.Rollout.Variant = 1
	needsCheckout.Prerequisites = []snapshot.Prerequisite{{Flag: 1, Variant: 1}} // checkout = on

	scheduled := b.boolFlag("scheduled")
	start := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC).UnixMilli()
	scheduled.Rollout = snapshot.Serve{Kind: snapshot.ServeVariant, Variant: 1, Portion: snapshot.Portion{
		Kind: snapshot.PortionSchedule, BucketBy: snapshot.NoIndex, Steps: []snapshot.Step{
			{At: start + 15*60000, Threshold: snapshot.ThresholdFor(1)},
			{At: start + 8*3600000, Threshold: snapshot.ThresholdFor(100)},
		}}}

	search := b.boolFlag("search")
	search.Rules = []snapshot.Rule{{Name: "block-bots", When: b.clause("userAgent", snapshot.OpContains, str("bot")),
		Serve: snapshot.Serve{Kind: snapshot.ServeVariant, Variant: 0, Portion: all()}}}
	search.Rings = []snapshot.Ring{
		{Name: "developers", When: b.clause("email", snapshot.OpIn, str("dev@company.com")), Portion: all()},
		{Name: "internal", When: segRef(1), Portion: all()},
		{Name: "canary", When: anyOf(segRef(0), &snapshot.Condition{Kind: snapshot.CondPercentage, Portion: pct(5)}), Portion: all()},
		{Name: "early-majority", Portion: pct(25)},
		{Name: "everyone", Portion: pct(100)},
	}
	search.ReleaseRing, search.ReleaseVar = 2, 1

	static := b.boolFlag("static")
	static.Rollout.Variant = 1

	b.flags = []snapshot.Flag{ab, checkout, disabled, killed, needsCheckout, scheduled, search, static}
	return b.build(t)
}

// userIn finds a user id whose bucket for flag key satisfies pred.
func userIn(t testing.TB, s *snapshot.Snapshot, key string, pred func(bucket uint32) bool) string {
	f := &s.Flags[s.FlagIndex(key)]
	for i := 0; i < 100000; i++ {
		id := "user-" + itoa(i)
		if pred(snapshot.Bucket(f.Seed, id)) {
			return id
		}
	}
	t.Fatalf("no user found for %s", key)
	return ""
}

func TestReasonsAndDecisions(t *testing.T) {
	s := rolloutFixture(t)
	e := New(s)
	in25 := userIn(t, s, "checkout", func(b uint32) bool { return b < 250000 })
	out25 := userIn(t, s, "checkout", func(b uint32) bool { return b >= 250000 })
	searchIn5 := userIn(t, s, "search", func(b uint32) bool { return b < 50000 })
	searchOut25 := userIn(t, s, "search", func(b uint32) bool { return b >= 250000 })
	schedIn1 := userIn(t, s, "scheduled", func(b uint32) bool { return b < 10000 })
	schedOut1 := userIn(t, s, "scheduled", func(b uint32) bool { return b >= 10000 })
	start := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)

	tests := []struct {
		name     string
		flag     string
		attrs    map[string]Value
		at       time.Time
		variant  string
		reason   Reason
		code     ErrorCode
		decision DecisionKind
		by       string // Decision.Name
		segment  string
		step     int
	}{
		{"static flag", "static", nil, evalTime, "on", ReasonStatic, "", DecidedByDefault, "", "", -1},
		{"disabled flag", "disabled", nil, evalTime, "off", ReasonDisabled, "", DecidedByDisabled, "", "", -1},
		{"killed flag", "killed", nil, evalTime, "off", ReasonDisabled, "", DecidedByKill, "", "", -1},
		{"percentage in", "checkout", map[string]Value{"userId": String(in25)}, evalTime, "on", ReasonSplit, "", DecidedByRollout, "", "", -1},
		{"percentage out", "checkout", map[string]Value{"userId": String(out25)}, evalTime, "off", ReasonDefault, "", DecidedByDefault, "", "", -1},
		{"percentage without key", "checkout", nil, evalTime, "off", ReasonDefault, "", DecidedByDefault, "", "", -1},
		{"prerequisite met", "one-click", map[string]Value{"userId": String(in25)}, evalTime, "on", ReasonDefault, "", DecidedByDefault, "", "", -1},
		{"prerequisite failed", "one-click", map[string]Value{"userId": String(out25)}, evalTime, "off", ReasonDisabled, "", DecidedByPrerequisite, "checkout", "", -1},
		{"split", "ab-test", map[string]Value{"userId": String("u1")}, evalTime, "", ReasonSplit, "", DecidedByRollout, "", "", -1},
		{"split without key", "ab-test", nil, evalTime, "", ReasonError, ErrTargetingKeyMissing, DecidedByError, "", "", -1},
		{"rule match", "search", map[string]Value{"userAgent": String("googlebot"), "email": String("dev@company.com")}, evalTime, "off", ReasonTargetingMatch, "", DecidedByRule, "block-bots", "", -1},
		{"ring 0 developers", "search", map[string]Value{"email": String("dev@company.com")}, evalTime, "on", ReasonTargetingMatch, "", DecidedByRing, "developers", "", -1},
		{"ring 1 internal by segment", "search", map[string]Value{"email": String("Ann@Company.com"), "userId": String(searchOut25)}, evalTime, "on", ReasonTargetingMatch, "", DecidedByRing, "internal", "internal-employees", -1},
		{"ring 2 canary beta", "search", map[string]Value{"betaProgram": Bool(true), "userId": String(searchOut25)}, evalTime, "on", ReasonTargetingMatch, "", DecidedByRing, "canary", "beta-opt-in", -1},
		{"ring 2 canary 5%", "search", map[string]Value{"userId": String(searchIn5)}, evalTime, "on", ReasonTargetingMatch, "", DecidedByRing, "canary", "", -1},
		{"outer rings not yet released", "search", map[string]Value{"userId": String(searchOut25)}, evalTime, "off", ReasonDefault, "", DecidedByDefault, "", "", -1},
		{"before the schedule", "scheduled", map[string]Value{"userId": String(schedIn1)}, start, "off", ReasonDefault, "", DecidedByDefault, "", "", -1},
		{"schedule step 0 in", "scheduled", map[string]Value{"userId": String(schedIn1)}, start.Add(20 * time.Minute), "on", ReasonSplit, "", DecidedByRollout, "", "", 0},
		{"schedule step 0 out", "scheduled", map[string]Value{"userId": String(schedOut1)}, start.Add(20 * time.Minute), "off", ReasonDefault, "", DecidedByDefault, "", "", 0},
		{"schedule step 1 everyone", "scheduled", map[string]Value{"userId": String(schedOut1)}, start.Add(8 * time.Hour), "on", ReasonSplit, "", DecidedByRollout, "", "", 1},
		{"schedule at 100% without key", "scheduled", nil, start.Add(9 * time.Hour), "on", ReasonSplit, "", DecidedByRollout, "", "", 1},
		{"unknown flag", "nope", nil, evalTime, "", ReasonError, ErrFlagNotFound, DecidedByError, "", "", -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := NewContext()
			for k, v := range tt.attrs {
				ctx.Set(k, v)
			}
			r := e.Evaluate(tt.flag, ctx, tt.at)
			if tt.variant != "" && r.Variant != tt.variant {
				t.Errorf("variant = %q, want %q", r.Variant, tt.variant)
			}
			if r.Reason != tt.reason || r.Error != tt.code {
				t.Errorf("reason = %s %s, want %s %s (%s)", r.Reason, r.Error, tt.reason, tt.code, r.Message)
			}
			if r.Kind != tt.decision || r.Name != tt.by || r.Segment != tt.segment || r.Step != tt.step {
				t.Errorf("decision = %s %q segment %q step %d, want %s %q segment %q step %d",
					r.Kind, r.Name, r.Segment, r.Step, tt.decision, tt.by, tt.segment, tt.step)
			}
			if r.Key != tt.flag {
				t.Errorf("key = %q", r.Key)
			}
		})
	}
}

func TestEvaluateAsTypeMismatch(t *testing.T) {
	e := New(rolloutFixture(t))
	r := e.EvaluateAs("ab-test", snapshot.TypeBoolean, NewContext().SetString("userId", "u"), evalTime)
	if r.Reason != ReasonError || r.Error != ErrTypeMismatch {
		t.Fatalf("got %s %s, want TYPE_MISMATCH", r.Reason, r.Error)
	}
	r = e.EvaluateAs("ab-test", snapshot.TypeString, NewContext().SetString("userId", "u"), evalTime)
	if r.Reason != ReasonSplit {
		t.Fatalf("matching type: got %s %s", r.Reason, r.Error)
	}
	if s, ok := r.String(); !ok || (s != "control" && s != "treatment") {
		t.Fatalf("String() = %q, %v", s, ok)
	}
}

func TestNoSnapshotIsGeneralError(t *testing.T) {
	e := New(nil)
	r := e.Evaluate("x", NewContext(), evalTime)
	if r.Error != ErrGeneral {
		t.Fatalf("got %s", r.Error)
	}
	if got := e.EvaluateAll(NewContext(), evalTime, nil); len(got) != 0 {
		t.Fatalf("EvaluateAll without snapshot returned %d results", len(got))
	}
}

func TestEvaluateAllInKeyOrder(t *testing.T) {
	s := rolloutFixture(t)
	results := New(s).EvaluateAll(NewContext().SetString("userId", "u1"), evalTime, nil)
	if len(results) != len(s.Flags) {
		t.Fatalf("%d results for %d flags", len(results), len(s.Flags))
	}
	for i, r := range results {
		if r.Key != s.Flags[i].Key {
			t.Errorf("result %d is %s, want %s", i, r.Key, s.Flags[i].Key)
		}
	}
}

func TestExplainShowsDecisionPath(t *testing.T) {
	s := rolloutFixture(t)
	e := New(s)
	out := userIn(t, s, "search", func(b uint32) bool { return b >= 250000 })
	ctx := NewContext().SetString("userId", out).SetBool("betaProgram", true).SetString("email", "x@example.com")
	r, tr := e.Explain("search", ctx, evalTime)
	if r.Name != "canary" {
		t.Fatalf("decided by %s %s", r.Kind, r.Name)
	}
	text := tr.String()
	for _, want := range []string{
		"✗ rule block-bots: condition did not match",
		`✗ userAgent contains "bot": attribute not set`,
		"✗ ring developers",
		`email equals "dev@company.com": context has "x@example.com"`,
		"✗ ring internal",
		"✓ segment beta-opt-in",
		"✓ ring canary: in ring; release is at ring canary",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("trace lacks %q:\n%s", want, text)
		}
	}
	if strings.Index(text, "rule block-bots") > strings.Index(text, "userAgent contains") {
		t.Errorf("a rule must read before its conditions:\n%s", text)
	}
	r2, tr2 := e.Explain("one-click", NewContext().SetString("userId", out), evalTime)
	if r2.Kind != DecidedByPrerequisite || !strings.Contains(tr2.String(), "✗ prerequisite checkout") {
		t.Errorf("prerequisite trace:\n%s", tr2)
	}
	if !strings.Contains(tr2.String(), "  ✗ percentage: bucket ") {
		t.Errorf("prerequisite's own decision should be nested:\n%s", tr2)
	}
}

func TestResultJSON(t *testing.T) {
	e := New(rolloutFixture(t))
	tests := []struct {
		flag string
		ctx  *Context
		want string
	}{
		{"static", NewContext(), `{"key":"static","value":true,"variant":"on","reason":"STATIC","decision":{"kind":"default"}}`},
		{"killed", NewContext(), `{"key":"killed","value":false,"variant":"off","reason":"DISABLED","decision":{"kind":"kill"}}`},
		{"nope", NewContext(), `{"key":"nope","reason":"ERROR","errorCode":"FLAG_NOT_FOUND","errorMessage":"flag not found"}`},
		{"search", NewContext().SetString("email", "dev@company.com"), `{"key":"search","value":true,"variant":"on","reason":"TARGETING_MATCH","decision":{"kind":"ring","name":"developers"}}`},
	}
	for _, tt := range tests {
		r := e.Evaluate(tt.flag, tt.ctx, evalTime)
		if got := string(r.AppendJSON(nil)); got != tt.want {
			t.Errorf("%s:\n got %s\nwant %s", tt.flag, got, tt.want)
		}
	}
}

func TestSwapWhileEvaluating(t *testing.T) {
	a := rolloutFixture(t)
	b := rolloutFixture(t)
	b.Flags[b.FlagIndex("static")].Killed = true
	e := New(a)
	done := make(chan struct{})
	go func() {
		defer close(done)
		ctx := NewContext().SetString("userId", "u")
		for i := 0; i < 20000; i++ {
			r := e.Evaluate("static", ctx, evalTime)
			if r.Reason != ReasonStatic && r.Reason != ReasonDisabled {
				t.Errorf("unexpected reason %s", r.Reason)
				return
			}
		}
	}()
	for i := 0; i < 2000; i++ {
		if i%2 == 0 {
			e.Swap(b)
		} else {
			e.Swap(a)
		}
	}
	<-done
}

// TestVariantAtMatchesEvaluateAt holds VariantAt to EvaluateAt's variant and reason for
// every flag of the fixture and contexts that reach rules, rings, splits and errors, and
// checks that it refuses another snapshot and an index out of range.
func TestVariantAtMatchesEvaluateAt(t *testing.T) {
	s := rolloutFixture(t)
	e := New(s)
	at := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC).UnixMilli()
	contexts := []*Context{
		NewContext(),
		NewContext().SetString("userId", "u1").SetString("email", "a@COMPANY.com"),
		NewContext().SetString("userId", "u2").SetBool("betaProgram", true).SetString("country", "DE"),
		NewContext().SetNumber("userId", 7),
	}
	for u := range 50 {
		contexts = append(contexts, NewContext().SetString("userId", "user-"+strconv.Itoa(u)))
	}
	for _, ctx := range contexts {
		for i := range s.Flags {
			r := e.EvaluateAt(s.Flags[i].Key, ctx, at)
			want := -1
			for v := range s.Flags[i].Variants {
				if r.Reason != ReasonError && s.Flags[i].Variants[v].Name == r.Variant {
					want = v
				}
			}
			wantReason := r.Reason
			if got, reason := e.VariantAt(s, i, ctx, at); got != want || reason != wantReason {
				t.Errorf("flag %s, context %v: VariantAt %d %s, EvaluateAt %d %s", s.Flags[i].Key, ctx.Names(), got, reason, want, wantReason)
			}
		}
	}
	if v, reason := e.VariantAt(rolloutFixture(t), 0, NewContext(), at); v != -1 || reason != ReasonError {
		t.Errorf("another snapshot: %d %s, want -1 ERROR", v, reason)
	}
	if v, reason := e.VariantAt(s, len(s.Flags), NewContext(), at); v != -1 || reason != ReasonError {
		t.Errorf("index out of range: %d %s, want -1 ERROR", v, reason)
	}
}
