package openfeature

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	of "github.com/open-feature/go-sdk/openfeature"
	"github.com/open-feature/go-sdk/openfeature/isolated"

	"github.com/edgeflag/edgeflag/compiler"
	"github.com/edgeflag/edgeflag/evaluator"
	"github.com/edgeflag/edgeflag/snapshot"
)

// noon is the time of the results written in docs/recipes.md.
var noon = time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)

// exampleSnapshot compiles the example project in flags/ for env and returns the decoded
// snapshot, its hash and its encoding.
func exampleSnapshot(t testing.TB, env string) (*snapshot.Snapshot, string, []byte) {
	t.Helper()
	snaps, err := compiler.Compile("../flags", compiler.Options{Revision: "test", BuildTime: 1764158400})
	if err != nil {
		t.Fatalf("compiling the example flags: %v", err)
	}
	s, ok := snaps[env]
	if !ok {
		t.Fatalf("the example project has no environment %s", env)
	}
	return decoded(t, s)
}

func decoded(t testing.TB, s *snapshot.Snapshot) (*snapshot.Snapshot, string, []byte) {
	t.Helper()
	data := snapshot.Encode(s)
	out, err := snapshot.Decode(data)
	if err != nil {
		t.Fatal(err)
	}
	hash, _ := snapshot.Hash(data)
	return out, hash, data
}

// registered returns a client of an isolated OpenFeature API using p, after
// SetProviderAndWait.
func registered(t *testing.T, p *Provider) (*of.Client, *of.EvaluationAPI, error) {
	t.Helper()
	api := isolated.NewAPI()
	t.Cleanup(func() { _ = api.Shutdown(context.Background()) })
	err := api.SetProviderAndWait(context.Background(), p)
	return api.NewClient(), api, err
}

func readyProvider(t *testing.T, env string) (*Provider, *of.Client, string) {
	t.Helper()
	s, hash, _ := exampleSnapshot(t, env)
	p := New(Options{Now: func() time.Time { return noon }})
	p.Swap(s, hash)
	client, _, err := registered(t, p)
	if err != nil {
		t.Fatal(err)
	}
	return p, client, hash
}

func TestRecipeResults(t *testing.T) {
	_, client, hash := readyProvider(t, "production")
	ctx := context.Background()
	alice := of.NewEvaluationContext("user-1001", map[string]any{
		"email": "alice@company.com", "groups": []string{"engineering@company.com"}})
	tests := []struct {
		name    string
		flag    string
		evalCtx of.EvaluationContext
		value   any
		variant string
		reason  of.Reason
		meta    of.FlagMetadata // entries that must be present
	}{
		{"ring developers", "new-search-algorithm", alice, true, "on", of.TargetingMatchReason,
			of.FlagMetadata{"decision": "ring", "ring": "developers", "snapshot": hash}},
		{"canary by bucket", "new-search-algorithm", of.NewEvaluationContext("user-3003", nil), true, "on", of.TargetingMatchReason,
			of.FlagMetadata{"decision": "ring", "ring": "canary", "bucket": int64(37835)}},
		{"outside the canary", "new-search-algorithm", of.NewEvaluationContext("user-3004", nil), false, "off", of.DefaultReason,
			of.FlagMetadata{"decision": "default"}},
		{"string split", "checkout-button-color", of.NewEvaluationContext("user-3001", nil), "#ff7a1a", "orange", of.SplitReason,
			of.FlagMetadata{"decision": "rollout", "bucket": int64(781703)}},
		{"explicit userId wins over targetingKey", "checkout-button-color",
			of.NewEvaluationContext("anonymous", map[string]any{"userId": "user-3002"}), "#12a150", "green", of.SplitReason, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var value any
			var details of.EvaluationDetails
			var err error
			switch tt.value.(type) {
			case bool:
				var d of.BooleanEvaluationDetails
				d, err = client.BooleanValueDetails(ctx, tt.flag, !tt.value.(bool), tt.evalCtx)
				value, details = d.Value, d.EvaluationDetails
			case string:
				var d of.StringEvaluationDetails
				d, err = client.StringValueDetails(ctx, tt.flag, "", tt.evalCtx)
				value, details = d.Value, d.EvaluationDetails
			}
			if err != nil {
				t.Fatal(err)
			}
			if value != tt.value || details.Variant != tt.variant || details.Reason != tt.reason {
				t.Errorf("got %v %s %s, want %v %s %s", value, details.Variant, details.Reason, tt.value, tt.variant, tt.reason)
			}
			for k, want := range tt.meta {
				if got := details.FlagMetadata[k]; got != want {
					t.Errorf("metadata %s = %v (%T), want %v", k, got, got, want)
				}
			}
		})
	}
}

// TestEveryFlagMatchesTheEvaluator evaluates every example flag through the SDK with its
// typed method and compares with the native evaluator.
func TestEveryFlagMatchesTheEvaluator(t *testing.T) {
	p, client, _ := readyProvider(t, "production")
	s, _ := p.Snapshot()
	ev := evaluator.New(s)
	ctx := context.Background()
	users := []map[string]any{
		{"targetingKey": "user-1002", "email": "maria@company.com"},
		{"targetingKey": "user-2001", "email": "ben@example.org", "betaProgram": true},
		{"targetingKey": "user-2002", "email": "carol@bigcorp.example", "plan": "enterprise", "accountId": "acct-bigcorp"},
		{"targetingKey": "user-3010", "platform": "ios", "appVersion": "2.10.0", "country": "FR"},
	}
	for _, attrs := range users {
		native := evaluator.NewContext()
		for k, v := range attrs {
			switch x := v.(type) {
			case string:
				native.SetString(k, x)
			case bool:
				native.SetBool(k, x)
			}
		}
		native.SetString("userId", attrs["targetingKey"].(string))
		evalCtx := of.NewTargetlessEvaluationContext(attrs)
		for _, f := range s.Flags {
			want := ev.Evaluate(f.Key, native, noon)
			var got of.EvaluationDetails
			var value, wantValue any
			var err error
			switch f.Type {
			case snapshot.TypeBoolean:
				var d of.BooleanEvaluationDetails
				d, err = client.BooleanValueDetails(ctx, f.Key, false, evalCtx)
				got, value = d.EvaluationDetails, d.Value
				wantValue, _ = want.Bool()
			case snapshot.TypeString:
				var d of.StringEvaluationDetails
				d, err = client.StringValueDetails(ctx, f.Key, "", evalCtx)
				got, value = d.EvaluationDetails, d.Value
				wantValue, _ = want.String()
			case snapshot.TypeNumber:
				var d of.FloatEvaluationDetails
				d, err = client.FloatValueDetails(ctx, f.Key, 0, evalCtx)
				got, value = d.EvaluationDetails, d.Value
				wantValue, _ = want.Number()
			case snapshot.TypeJSON:
				var d of.InterfaceEvaluationDetails
				d, err = client.ObjectValueDetails(ctx, f.Key, nil, evalCtx)
				got = d.EvaluationDetails
				if _, ok := d.Value.(map[string]any); !ok {
					t.Errorf("%s: object value is %T", f.Key, d.Value)
				}
				value, wantValue = nil, nil
			}
			if want.Reason == evaluator.ReasonError {
				if err == nil || string(got.ErrorCode) != string(want.Error) {
					t.Errorf("%s for %v: got %v %s, want error %s", f.Key, attrs["targetingKey"], err, got.ErrorCode, want.Error)
				}
				continue
			}
			if err != nil || value != wantValue || got.Variant != want.Variant || string(got.Reason) != string(want.Reason) {
				t.Errorf("%s for %v: got %v %s %s (%v), want %v %s %s", f.Key, attrs["targetingKey"],
					value, got.Variant, got.Reason, err, wantValue, want.Variant, want.Reason)
			}
		}
	}
}

func TestEvaluationErrors(t *testing.T) {
	_, client, _ := readyProvider(t, "production")
	ctx := context.Background()
	user := of.NewEvaluationContext("user-1", nil)

	b, err := client.BooleanValueDetails(ctx, "checkout-button-color", true, user)
	if err == nil || b.ErrorCode != of.TypeMismatchCode || b.Value != true || b.Reason != of.ErrorReason {
		t.Errorf("boolean of a string flag: %v %+v", err, b)
	}
	s, err := client.StringValueDetails(ctx, "no-such-flag", "fallback", user)
	if err == nil || s.ErrorCode != of.FlagNotFoundCode || s.Value != "fallback" {
		t.Errorf("unknown flag: %v %+v", err, s)
	}
	o, err := client.ObjectValueDetails(ctx, "new-search-algorithm", "dflt", user)
	if err == nil || o.ErrorCode != of.TypeMismatchCode || o.Value != "dflt" {
		t.Errorf("object of a boolean flag: %v %+v", err, o)
	}
	bad := of.NewEvaluationContext("user-1", map[string]any{"when": struct{}{}})
	b, err = client.BooleanValueDetails(ctx, "new-search-algorithm", false, bad)
	if err == nil || b.ErrorCode != of.InvalidContextCode {
		t.Errorf("unsupported attribute: %v %+v", err, b)
	}
	i, err := client.IntValueDetails(ctx, "search-results-page-size", -1, user)
	if err != nil || i.Value <= 0 {
		t.Errorf("integer of a whole number flag: %v %+v", err, i)
	}
	// checkout-button-color splits on userId: without a targeting key nobody can be placed.
	c, err := client.StringValueDetails(ctx, "checkout-button-color", "none", of.NewTargetlessEvaluationContext(map[string]any{"plan": "pro"}))
	if err == nil || c.ErrorCode != of.TargetingKeyMissingCode || c.Value != "none" {
		t.Errorf("split without a targeting key: %v %+v", err, c)
	}
}

func TestNotReady(t *testing.T) {
	p := New(Options{})
	d := p.BooleanEvaluation(context.Background(), "any", true, of.FlattenedContext{})
	if d.Value != true || d.ResolutionDetail().ErrorCode != of.ProviderNotReadyCode {
		t.Errorf("before the first snapshot: %+v", d)
	}
}

func TestIntRejectsFractions(t *testing.T) {
	s := &snapshot.Snapshot{Environment: "test", Attributes: []string{"userId"}, Flags: []snapshot.Flag{{
		Key: "ratio", Type: snapshot.TypeNumber, Enabled: true, Seed: snapshot.SeedFor("ratio"),
		Variants: []snapshot.Variant{{Name: "default", JSON: "2.5"}}, ReleaseRing: snapshot.NoIndex,
		Rollout: snapshot.Serve{Portion: snapshot.Portion{BucketBy: snapshot.NoIndex}},
	}}}
	s, hash, _ := decoded(t, s)
	p := New(Options{})
	p.Swap(s, hash)
	d := p.IntEvaluation(context.Background(), "ratio", 7, of.FlattenedContext{})
	if d.Value != 7 || d.ResolutionDetail().ErrorCode != of.TypeMismatchCode || d.Variant != "default" ||
		d.ResolutionDetail().ErrorMessage != `flag "ratio" is 2.5, not an integer` {
		t.Errorf("2.5 as an integer: %+v", d)
	}
	f := p.FloatEvaluation(context.Background(), "ratio", 7, of.FlattenedContext{})
	if f.Value != 2.5 || f.Error() != nil {
		t.Errorf("2.5 as a float: %+v", f)
	}
}

func TestFingerprints(t *testing.T) {
	s, _, _ := exampleSnapshot(t, "production")
	staging, _, _ := exampleSnapshot(t, "staging")
	base := fingerprints(s)
	if len(base) != len(s.Flags) {
		t.Fatalf("%d fingerprints for %d flags", len(base), len(s.Flags))
	}
	if got := changedFlags(base, fingerprints(s)); len(got) != 0 {
		t.Errorf("the same snapshot changed %v", got)
	}
	if got := changedFlags(base, fingerprints(staging)); len(got) == 0 {
		t.Error("production and staging do not differ")
	}
	removed := maps(base)
	delete(removed, "weather-widget")
	removed["brand-new"] = "x"
	if got := changedFlags(base, removed); !slices.Equal(got, []string{"brand-new", "weather-widget"}) {
		t.Errorf("added and removed: %v", got)
	}
}

func maps(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

var errStore = errors.New("store unreachable")
