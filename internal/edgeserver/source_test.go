package edgeserver

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/edgeflag/edgeflag/evaluator"
	"github.com/edgeflag/edgeflag/ofrep"
	"github.com/edgeflag/edgeflag/protocol"
	"github.com/edgeflag/edgeflag/snapshot"
	"github.com/edgeflag/edgeflag/wasm/host"
)

// TestSourceMatchesNative holds the WASM source to the native evaluator: every example
// flag, for generated contexts at several times along the schedules, gives in the
// results frame the JSON evaluator.Result.AppendJSON writes for the native result, with
// its key, variant and success, and the same version, for listed flags and all at once.
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
		var nativeAll []evaluator.Result
		for _, js := range contexts(100) {
			ctx := parseContext(t, js)
			for _, at := range times {
				want := make([]evaluator.Result, 0, len(keys))
				for _, key := range keys {
					r, wv := native.Evaluate(key, ctx, at)
					if wv != v {
						t.Fatalf("native version %+v, want %+v", wv, v)
					}
					want = append(want, r)
					kinds[r.Kind]++
					reasons[r.Reason]++
				}
				got, gv := sourceResults(t, src, keys, ctx, at)
				checkResults(t, name+" "+js+" at "+at.String(), got, want, false)
				nativeAll, _, _ = native.EvaluateAll(ctx, at, nativeAll[:0])
				got, gv2 := sourceResults(t, src, nil, ctx, at)
				checkResults(t, name+" "+js+" at "+at.String()+", every flag", got, nativeAll, false)
				if gv != v || gv2 != v {
					t.Fatalf("%s: versions %+v %+v, want %+v", name, gv, gv2, v)
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

// frameResult is a protocol.Result copied out of its frame.
type frameResult struct {
	Key, Variant string
	OK           bool
	JSON         string
}

// sourceResults returns the results of src.Results, read from the frame, which must be
// well formed and whose JSON must be the results' joined by commas.
func sourceResults(t testing.TB, src *Source, keys []string, ctx *evaluator.Context, at time.Time) ([]frameResult, ofrep.Version) {
	t.Helper()
	frame, v, err := src.Results(nil, keys, ctx, at)
	if err != nil {
		t.Fatal(err)
	}
	res, ok := protocol.ReadResults(frame)
	if !ok || res.Refused {
		t.Fatalf("results frame: ok %v, refused %s", ok, res.JSON)
	}
	var out []frameResult
	var joined []byte
	for r, ok := res.Next(); ok; r, ok = res.Next() {
		if len(out) > 0 {
			joined = append(joined, ',')
		}
		joined = append(joined, r.JSON...)
		out = append(out, frameResult{Key: r.Key, Variant: r.Variant, OK: r.OK, JSON: string(r.JSON)})
	}
	if !res.Valid() || string(joined) != string(res.JSON) {
		t.Fatalf("results frame: index and JSON disagree:\n%s\n%s", joined, res.JSON)
	}
	return out, v
}

// checkResults requires got to be want, as the module writes them (reason STALE for a
// successful result when stale).
func checkResults(t testing.TB, what string, got []frameResult, want []evaluator.Result, stale bool) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d results, want %d", what, len(got), len(want))
	}
	for i, w := range want {
		ok := w.Reason != evaluator.ReasonError
		if stale && ok {
			w.Reason = evaluator.ReasonStale
		}
		if !ok {
			w.Variant = ""
		}
		wf := frameResult{Key: w.Key, Variant: w.Variant, OK: ok, JSON: string(w.AppendJSON(nil))}
		if got[i] != wf {
			t.Fatalf("%s: result %d:\n wasm   %+v\n native %+v", what, i, got[i], wf)
		}
	}
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

func TestSourceBeforeLoad(t *testing.T) {
	src := NewSource(newHost(t))
	ctx := evaluator.NewContext().SetString("userId", "u1")
	if _, v, err := src.Results(nil, nil, ctx, times[0]); !errors.Is(err, ofrep.ErrNoSnapshot) || v != (ofrep.Version{}) {
		t.Errorf("Results before load: %v %+v, want ofrep.ErrNoSnapshot", err, v)
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
	got, _ := sourceResults(t, src, []string{"weather-widget"}, evaluator.NewContext().SetString("userId", "u1"), times[0])
	if !got[0].OK {
		t.Errorf("after refused loads: %+v", got[0])
	}
}

// TestSourceStale: a stale source reports Version.Stale, and its results reason STALE,
// as the Worker's /.edgeflag/flags does.
func TestSourceStale(t *testing.T) {
	data := exampleSnapshot(t, "production")
	native := nativeFor(t, data)
	src := NewSource(newHost(t))
	if _, err := src.Load(data); err != nil {
		t.Fatal(err)
	}
	src.SetStale(true)
	ctx := parseContext(t, `{"userId":"user-3","email":"alice@company.com"}`)
	keys := []string{"new-search-algorithm", "no-such-flag"}
	got, v := sourceResults(t, src, keys, ctx, times[0])
	want, _, _ := native.EvaluateAll(ctx, times[0], nil)
	one, _ := native.Evaluate("no-such-flag", ctx, times[0])
	want = append([]evaluator.Result{want[slicesIndex(want, "new-search-algorithm")]}, one)
	if !v.Stale {
		t.Errorf("stale: version %+v", v)
	}
	checkResults(t, "stale", got, want, true)
	src.SetStale(false)
	if src.Version().Stale {
		t.Error("still stale after SetStale(false)")
	}
}

func slicesIndex(rs []evaluator.Result, key string) int {
	for i := range rs {
		if rs[i].Key == key {
			return i
		}
	}
	return -1
}

// TestSourceContextOverModuleLimits: a context the module refuses (over one of its
// limits) fails each flag listed with INVALID_CONTEXT, and an evaluation of every flag as
// a whole.
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
	got, _ := sourceResults(t, src, []string{"new-search-algorithm"}, ctx, times[0])
	if got[0].OK || got[0].Key != "new-search-algorithm" || !strings.Contains(got[0].JSON, `"errorCode":"INVALID_CONTEXT"`) {
		t.Errorf("one flag: %+v", got[0])
	}
	frame, _, err := src.Results(nil, nil, ctx, times[0])
	if err != nil {
		t.Fatal(err)
	}
	res, ok := protocol.ReadResults(frame)
	if !ok || !res.Refused ||
		!strings.HasPrefix(string(res.JSON), `{"errorCode":"INVALID_CONTEXT","errorMessage":"context: more than 4096 list items`) {
		t.Fatalf("all flags: ok %v, %s", ok, res.JSON)
	}
	if _, more := res.Next(); more {
		t.Error("a refused evaluation has results")
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
	got, _ := sourceResults(t, src, []string{key}, evaluator.NewContext(), times[0])
	if got[0].Key != key || got[0].OK || !strings.Contains(got[0].JSON, `"errorCode":"FLAG_NOT_FOUND"`) {
		t.Errorf("long key: %+v", got[0])
	}
}

// TestSourceClosedHost: an evaluator that cannot run makes Results fail.
func TestSourceClosedHost(t *testing.T) {
	ev := newHost(t)
	src := NewSource(ev)
	if _, err := src.Load(exampleSnapshot(t, "production")); err != nil {
		t.Fatal(err)
	}
	ev.Close(t.Context())
	ctx := evaluator.NewContext().SetString("userId", "u1")
	if _, _, err := src.Results(nil, nil, ctx, times[0]); !errors.Is(err, host.ErrClosed) {
		t.Errorf("closed host, all flags: %v", err)
	}
}
