//go:build !wasip1

package evaluator

import (
	"bytes"
	"encoding/json"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"

	"github.com/edgeflag/edgeflag/snapshot"
)

// awkwardFixture has keys, variants, rules and segments whose names need escaping in JSON,
// so the prepared JSON heads are checked against the escaping of Result.AppendJSON.
func awkwardFixture(t testing.TB) *snapshot.Snapshot {
	b := &builder{}
	b.segments = []snapshot.Segment{{Key: "seg \"quoted\"\n", When: *b.clause("plan", snapshot.OpIn, str("pro"))}}
	f := b.boolFlag("flag\twith \\ tab")
	f.Variants = []snapshot.Variant{{Name: "off\x01", JSON: "false"}, {Name: "ön \"x\"", JSON: "true"}}
	f.Rules = []snapshot.Rule{{Name: "rule \"r\"", When: segRef(0), Serve: snapshot.Serve{Kind: snapshot.ServeVariant, Variant: 1, Portion: pct(50)}}}
	f.Rollout = snapshot.Serve{Kind: snapshot.ServeVariant, Variant: 1, Portion: pct(20)}
	ringed := b.boolFlag("ringed \u2028")
	ringed.Variants = f.Variants
	ringed.Rules = []snapshot.Rule{{Name: "", When: b.clause("plan", snapshot.OpIn, str("free")), Serve: snapshot.Serve{Kind: snapshot.ServeVariant, Portion: all()}}}
	ringed.Rings = []snapshot.Ring{{Name: "ring \"in\"", When: segRef(0), Portion: all()}, {Name: "", Portion: pct(50)}}
	ringed.ReleaseRing, ringed.ReleaseVar = 1, 1
	static := b.boolFlag("static \"s\"")
	static.Variants = f.Variants
	static.Rollout.Variant = 1
	// After f in key order, and decided without a name, a segment or a bucket: what f's
	// result had must not show in its own.
	fallback := b.boolFlag("flag\u2029fallback")
	fallback.Rules = []snapshot.Rule{{Name: "never", When: b.clause("plan", snapshot.OpIn, str("none")), Serve: snapshot.Serve{Kind: snapshot.ServeVariant, Portion: all()}}}
	b.flags = append(b.flags, f, fallback, ringed, static)
	return b.build(t)
}

// TestDecidedReasonIndex holds decidedReasonIndex to reasonIndex for every reason of a
// successful result but STALE, which the caller sets.
func TestDecidedReasonIndex(t *testing.T) {
	for _, r := range reasons[:len(reasons)-1] {
		if got, want := decidedReasonIndex(r), reasonIndex(r); got != want {
			t.Errorf("decidedReasonIndex(%s) = %d, want %d", r, got, want)
		}
	}
	if reasons[len(reasons)-1] != ReasonStale {
		t.Error("STALE is not the last reason")
	}
}

// TestAppendResultJSONMatchesResult holds the JSON fast path to Result.AppendJSON, STALE
// included, for every flag and many contexts.
func TestAppendResultJSONMatchesResult(t *testing.T) {
	for _, s := range []*snapshot.Snapshot{rolloutFixture(t), awkwardFixture(t)} {
		e := New(s)
		r := rand.New(rand.NewPCG(3, 4))
		ctx := NewContext()
		keys := []string{"no-such-flag", ""}
		for _, f := range s.Flags {
			keys = append(keys, f.Key)
		}
		var got, want []byte
		for i := range 500 {
			ctx.Reset()
			ctx.SetString("userId", "user-"+strconv.Itoa(r.IntN(1000)))
			if r.IntN(2) == 0 {
				ctx.SetString("plan", "pro")
			}
			if r.IntN(3) == 0 {
				ctx.SetBool("betaProgram", true)
			}
			if r.IntN(4) == 0 {
				ctx.SetString("email", "ann@company.com")
			}
			at := evalTime.UnixMilli() + int64(r.IntN(30))*86_400_000
			stale := i%3 == 0
			for _, key := range keys {
				res := e.EvaluateAt(key, ctx, at)
				if stale && res.Reason != ReasonError {
					res.Reason = ReasonStale
				}
				want = res.AppendJSON(want[:0])
				got = e.AppendResultJSON(got[:0], key, ctx, at, stale)
				if !bytes.Equal(got, want) {
					t.Fatalf("%q:\n got  %s\n want %s", key, got, want)
				}
				if !json.Valid(got) {
					t.Fatalf("%q: invalid JSON %s", key, got)
				}
			}
			want = append(want[:0], `{"flags":[`...)
			for j, res := range e.EvaluateAllAt(ctx, at, nil) {
				if stale && res.Reason != ReasonError {
					res.Reason = ReasonStale
				}
				if j > 0 {
					want = append(want, ',')
				}
				want = res.AppendJSON(want)
			}
			want = append(want, "]}"...)
			if got = e.AppendAllJSON(got[:0], ctx, at, stale); !bytes.Equal(got, want) {
				t.Fatalf("all flags:\n got  %s\n want %s", got, want)
			}
			var batch Batch
			batch.Begin(e, ctx, at, stale)
			got = append(got[:0], `{"flags":[`...)
			for j := range batch.Flags() {
				if j > 0 {
					got = append(got, ',')
				}
				var variant string
				var ok bool
				got, variant, ok = batch.AppendJSON(got, j)
				if res := e.EvaluateAt(batch.Key(j), ctx, at); variant != res.Variant || ok != (res.Reason != ReasonError) {
					t.Fatalf("%s: variant %q, ok %v; result %+v", batch.Key(j), variant, ok, res)
				}
			}
			if got = append(got, "]}"...); !bytes.Equal(got, want) {
				t.Fatalf("batch:\n got  %s\n want %s", got, want)
			}
		}
	}
}

func TestAppendJSONWithoutSnapshot(t *testing.T) {
	e := New(nil)
	if got := string(e.AppendAllJSON(nil, NewContext(), 0, false)); got != `{"errorCode":"GENERAL","errorMessage":"no snapshot loaded"}` {
		t.Errorf("all flags: %s", got)
	}
	if got := string(e.AppendResultJSON(nil, "f", NewContext(), 0, true)); got != `{"key":"f","reason":"ERROR","errorCode":"GENERAL","errorMessage":"no snapshot loaded"}` {
		t.Errorf("one flag: %s", got)
	}
}

func TestAppendResultJSONDoesNotAllocate(t *testing.T) {
	e := New(rolloutFixture(t))
	ctx := NewContext().SetString("userId", "u1").SetString("email", "ann@company.com")
	// An anonymous user: the split's error result ("split needs attribute userId")
	// must not allocate either.
	anonymous := NewContext().SetString("email", "ann@company.com")
	buf := make([]byte, 0, 4096)
	if n := testing.AllocsPerRun(100, func() {
		buf = e.AppendResultJSON(buf[:0], "search", ctx, evalTime.UnixMilli(), false)
		buf = e.AppendAllJSON(buf[:0], ctx, evalTime.UnixMilli(), false)
		buf = e.AppendAllJSON(buf[:0], anonymous, evalTime.UnixMilli(), false)
	}); n != 0 {
		t.Errorf("%v allocations", n)
	}
	if !strings.Contains(string(buf), `"errorMessage":"split needs attribute userId"`) {
		t.Errorf("anonymous user: %s", buf)
	}
}

func TestAppendJSONString(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", `""`},
		{"plain", `"plain"`},
		{`a"b\c`, `"a\"b\\c"`},
		{"tab\tnl\ncr\r", `"tab\tnl\ncr\r"`},
		{"\x00\x1f", `"\u0000\u001f"`},
		{"ünï 日本 \x7f", "\"ünï 日本 \x7f\""},
		{"\xff", `"\ufffd"`}, // invalid UTF-8 becomes U+FFFD: always valid JSON
		{"a\xe2\x82b\xed\xa0\x80", `"a\ufffd\ufffdb\ufffd\ufffd\ufffd"`}, // a cut sequence, an encoded surrogate
	}
	for _, tt := range tests {
		if got := string(AppendJSONString(nil, tt.in)); got != tt.want {
			t.Errorf("AppendJSONString(%q) = %s, want %s", tt.in, got, tt.want)
		}
	}
	for i := range 256 { // every byte: valid UTF-8 round-trips through encoding/json
		s := "x" + string(rune(i)) + "y"
		var back string
		if err := json.Unmarshal(AppendJSONString(nil, s), &back); err != nil || back != s {
			t.Errorf("byte %#x: %q, %v", i, back, err)
		}
	}
}

func TestAppendErrorJSON(t *testing.T) {
	got := string(AppendErrorJSON(nil, ErrParse, `bad "x"`))
	if want := `{"errorCode":"PARSE_ERROR","errorMessage":"bad \"x\""}`; got != want {
		t.Errorf("%s, want %s", got, want)
	}
}

// TestTimeNumbersBeyondInt64 checks that huge time numbers compare the same on every
// architecture: clamped, not converted the way the CPU does.
func TestTimeNumbersBeyondInt64(t *testing.T) {
	tests := []struct {
		num    float64
		before bool // before the literal 0
	}{{1e30, false}, {-1e30, true}, {9.3e18, false}, {-9.3e18, true}}
	for _, tt := range tests {
		v := Number(tt.num)
		ms, ok := timeOf(&v)
		if !ok || (ms < 0) != tt.before {
			t.Errorf("timeOf(%g) = %d, %v", tt.num, ms, ok)
		}
	}
	nan := Number(math.NaN())
	if _, ok := timeOf(&nan); ok {
		t.Error("NaN read as a time")
	}
}

func TestAppendUint(t *testing.T) {
	for _, v := range []uint32{0, 1, 9, 10, 11, 99, 100, 999_999, 1_000_000, 123_456_789, 999_999_999, 1_000_000_000, 4_294_967_295} {
		for _, dst := range [][]byte{nil, []byte("x"), make([]byte, 3, 4), make([]byte, 2, 64)} {
			prefix := string(dst)
			if got, want := string(appendUint(dst, v)), prefix+strconv.FormatUint(uint64(v), 10); got != want {
				t.Errorf("appendUint(%q, %d) = %q, want %q", prefix, v, got, want)
			}
		}
	}
}
