package edgeserver

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/edgeflag/edgeflag/evaluator"
	"github.com/edgeflag/edgeflag/ofrep"
	"github.com/edgeflag/edgeflag/protocol"
	"github.com/edgeflag/edgeflag/snapshot"
	"github.com/edgeflag/edgeflag/wasm/host"
)

// TestSourceMatchesNative holds the WASM source to the native one: every example flag,
// for generated contexts at several times along the schedules, gives equal results
// (evaluator.Result field for field) and versions, one flag at a time and all at once.
func TestSourceMatchesNative(t *testing.T) {
	src := NewSource(newHost(t))
	kinds := map[evaluator.DecisionKind]int{}
	reasons := map[evaluator.Reason]int{}
	for name, data := range map[string][]byte{
		"production": exampleSnapshot(t, "production"),
		"staging":    exampleSnapshot(t, "staging"),
		"production with a kill and a prerequisite off": killAndBreak(t, exampleSnapshot(t, "production")),
	} {
		native := nativeFor(t, data)
		v, err := src.Load(data)
		if err != nil {
			t.Fatal(err)
		}
		if want := native.Version(); v != want || src.Version() != want {
			t.Fatalf("%s: version %+v, native %+v", name, v, want)
		}
		s, err := snapshot.Decode(data)
		if err != nil {
			t.Fatal(err)
		}
		if src.Flags() != len(s.Flags) {
			t.Errorf("%s: Flags() = %d, want %d", name, src.Flags(), len(s.Flags))
		}
		keys := []string{"no-such-flag", ""}
		for _, f := range s.Flags {
			keys = append(keys, f.Key)
		}
		var all, nativeAll []evaluator.Result
		for _, js := range contexts(100) {
			ctx := parseContext(t, js)
			for _, at := range times {
				for _, key := range keys {
					got, gv := src.Evaluate(key, ctx, at)
					want, wv := native.Evaluate(key, ctx, at)
					normalize(&want)
					if !reflect.DeepEqual(got, want) || gv != wv {
						t.Fatalf("%s: %s for %s at %s:\n wasm   %+v %+v\n native %+v %+v", name, key, js, at, got, gv, want, wv)
					}
					kinds[got.Kind]++
					reasons[got.Reason]++
				}
				var gv, wv ofrep.Version
				all, gv, err = src.EvaluateAll(ctx, at, all[:0])
				if err != nil {
					t.Fatal(err)
				}
				nativeAll, wv, _ = native.EvaluateAll(ctx, at, nativeAll[:0])
				for i := range nativeAll {
					normalize(&nativeAll[i])
				}
				if !reflect.DeepEqual(all, nativeAll) || gv != wv {
					t.Fatalf("%s: all flags for %s at %s differ:\n wasm   %+v\n native %+v", name, js, at, all, nativeAll)
				}
			}
		}
	}
	// The comparison means something only if every kind of decision came up.
	for k := evaluator.DecidedByError; k <= evaluator.DecidedByDefault; k++ {
		if kinds[k] == 0 {
			t.Errorf("no result decided by %s: the contexts do not cover the example flags", k)
		}
	}
	t.Logf("results by reason: %v", reasons)
}

// killAndBreak returns data with weather-widget killed and orders-dual-write serving off,
// so that orders-read-new-schema's prerequisite fails: the decisions the production
// snapshot as compiled never makes.
func killAndBreak(t testing.TB, data []byte) []byte {
	t.Helper()
	s, err := snapshot.Decode(data)
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"weather-widget", "orders-dual-write"} {
		if s.FlagIndex(key) < 0 {
			t.Fatalf("the example flags have no %s", key)
		}
	}
	s.Flags[s.FlagIndex("weather-widget")].Killed = true
	dual := &s.Flags[s.FlagIndex("orders-dual-write")]
	dual.Rollout.Variant = dual.OffVariant
	return snapshot.Encode(s)
}

// normalize clears what a native result holds beyond its meaning: the bucket and
// threshold of a decision that did not look at the bucket (left from an earlier step), which
// evaluator.Result.AppendJSON, and so the module, does not write.
func normalize(r *evaluator.Result) {
	if !r.Bucketed {
		r.Bucket, r.Threshold = 0, 0
	}
}

func TestSourceBeforeLoad(t *testing.T) {
	src := NewSource(newHost(t))
	ctx := evaluator.NewContext().SetString("userId", "u1")
	got, v := src.Evaluate("new-search-algorithm", ctx, times[0])
	want, wv := ofrep.NewNative().Evaluate("new-search-algorithm", ctx, times[0])
	if !reflect.DeepEqual(got, want) || v != wv {
		t.Errorf("before load: %+v %+v, native %+v %+v", got, v, want, wv)
	}
	if _, _, err := src.EvaluateAll(ctx, times[0], nil); !errors.Is(err, ofrep.ErrNoSnapshot) {
		t.Errorf("EvaluateAll before load: %v, want ofrep.ErrNoSnapshot", err)
	}
}

// TestSourceRefusesBadSnapshots: a snapshot that does not verify leaves the current one
// serving.
func TestSourceRefusesBadSnapshots(t *testing.T) {
	data := exampleSnapshot(t, "production")
	src := NewSource(newHost(t))
	before, err := src.Load(data)
	if err != nil {
		t.Fatal(err)
	}
	corrupt := append([]byte(nil), data...)
	corrupt[len(corrupt)-1] ^= 0x5a
	for name, bad := range map[string][]byte{
		"corrupt":   corrupt,
		"truncated": data[:len(data)/2],
		"empty":     nil,
		"not one":   []byte("edgeflag"),
	} {
		if _, err := src.Load(bad); err == nil {
			t.Errorf("%s snapshot: loaded", name)
		}
		if v := src.Version(); v != before {
			t.Errorf("%s snapshot: version %+v, want %+v", name, v, before)
		}
	}
	r, _ := src.Evaluate("weather-widget", evaluator.NewContext().SetString("userId", "u1"), times[0])
	if r.Reason == evaluator.ReasonError {
		t.Errorf("after refused loads: %+v", r)
	}
}

// TestSourceStaleKeepsReasons: a stale source reports Version.Stale and the real reasons,
// as ofrep.Native does.
func TestSourceStaleKeepsReasons(t *testing.T) {
	data := exampleSnapshot(t, "production")
	native := nativeFor(t, data)
	src := NewSource(newHost(t))
	if _, err := src.Load(data); err != nil {
		t.Fatal(err)
	}
	src.SetStale(true)
	native.SetStale(true)
	ctx := parseContext(t, `{"userId":"user-3","email":"alice@company.com"}`)
	got, v := src.Evaluate("new-search-algorithm", ctx, times[0])
	want, wv := native.Evaluate("new-search-algorithm", ctx, times[0])
	if !v.Stale || !reflect.DeepEqual(got, want) || v != wv {
		t.Errorf("stale: %+v %+v, native %+v %+v", got, v, want, wv)
	}
	src.SetStale(false)
	if src.Version().Stale {
		t.Error("still stale after SetStale(false)")
	}
}

// TestSourceContextOverModuleLimits: a context the module refuses (over a limit of
// package wire) fails one flag with INVALID_CONTEXT, and a bulk evaluation as a whole with
// an *ofconv.ContextError, which the OFREP handler answers with 400 as it does the contexts
// it refuses itself.
func TestSourceContextOverModuleLimits(t *testing.T) {
	data := exampleSnapshot(t, "production")
	src := NewSource(newHost(t))
	if _, err := src.Load(data); err != nil {
		t.Fatal(err)
	}
	items := make([]evaluator.Value, protocol.MaxListItems+1)
	for i := range items {
		items[i] = evaluator.Number(float64(i))
	}
	ctx := evaluator.NewContext().SetString("userId", "u1").Set("groups", evaluator.List(items...))
	r, _ := src.Evaluate("new-search-algorithm", ctx, times[0])
	if r.Error != evaluator.ErrInvalidContext || r.Type != snapshot.TypeBoolean || r.Key != "new-search-algorithm" {
		t.Errorf("one flag: %+v", r)
	}
	all, _, err := src.EvaluateAll(ctx, times[0], nil)
	var ce *protocol.Error
	if !errors.As(err, &ce) || ce.Code != evaluator.ErrInvalidContext || len(all) != 0 ||
		!strings.HasPrefix(ce.Details, "context: more than 4096 list items") {
		t.Fatalf("all flags: %d results, %v", len(all), err)
	}
}

// TestSourceLongKey: a key over the module's limit is not found, and reported under the
// key asked for.
func TestSourceLongKey(t *testing.T) {
	src := NewSource(newHost(t))
	if _, err := src.Load(exampleSnapshot(t, "production")); err != nil {
		t.Fatal(err)
	}
	key := strings.Repeat("k", protocol.MaxKeySize+10)
	r, _ := src.Evaluate(key, evaluator.NewContext(), times[0])
	if r.Key != key || r.Error != evaluator.ErrFlagNotFound {
		t.Errorf("long key: %+v", r)
	}
}

// TestSourceClosedHost: an evaluator that cannot run reports GENERAL errors.
func TestSourceClosedHost(t *testing.T) {
	ev := newHost(t)
	src := NewSource(ev)
	if _, err := src.Load(exampleSnapshot(t, "production")); err != nil {
		t.Fatal(err)
	}
	ev.Close(t.Context())
	ctx := evaluator.NewContext().SetString("userId", "u1")
	if r, _ := src.Evaluate("new-search-algorithm", ctx, times[0]); r.Error != evaluator.ErrGeneral {
		t.Errorf("closed host: %+v", r)
	}
	if _, _, err := src.EvaluateAll(ctx, times[0], nil); !errors.Is(err, host.ErrClosed) {
		t.Errorf("closed host, all flags: %v", err)
	}
}

func TestWireResultRejectsUnknownDecisions(t *testing.T) {
	w := wireResult{Key: "f", Reason: evaluator.ReasonStatic, Value: []byte("true")}
	w.Decision.Kind = "luck"
	if _, err := w.result(nil); err == nil {
		t.Error("a result decided by \"luck\" was accepted")
	}
	w.Decision.Kind, w.Value = "default", nil
	if _, err := w.result(nil); err == nil {
		t.Error("a result without a value was accepted")
	}
}
