package host

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/edgeflag/edgeflag/evaluator"
	"github.com/edgeflag/edgeflag/protocol"
	"github.com/edgeflag/edgeflag/snapshot"
)

var at = time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)

// randomContext fills ctx with attributes the fixture reads, some of them missing.
func randomContext(r *rand.Rand, ctx *evaluator.Context) {
	ctx.Reset()
	if r.IntN(10) > 0 {
		ctx.SetString("userId", "user-"+strconv.Itoa(r.IntN(1_000_000)))
	}
	countries := []string{"DE", "FR", "US", "NL", "JP"}
	if r.IntN(4) > 0 {
		ctx.SetString("country", countries[r.IntN(len(countries))])
	}
	emails := []string{"ada.lovelace@company.com", "bob@example.org", "Ada@Company.com"}
	if r.IntN(3) == 0 {
		ctx.SetString("email", emails[r.IntN(len(emails))])
	}
	if r.IntN(3) == 0 {
		ctx.Set("groups", evaluator.Strings("staff", []string{"beta", "alpha"}[r.IntN(2)]))
	}
	if r.IntN(5) == 0 {
		ctx.SetNumber("plan", float64(r.IntN(3)))
	}
}

func native(t testing.TB, data []byte) *evaluator.Evaluator {
	t.Helper()
	ev, err := evaluator.Load(data)
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

func nativeAll(ev *evaluator.Evaluator, ctx *evaluator.Context, at time.Time, stale bool) []byte {
	out := []byte(`{"flags":[`)
	for i, r := range ev.EvaluateAll(ctx, at, nil) {
		if i > 0 {
			out = append(out, ',')
		}
		if stale && r.Reason != evaluator.ReasonError {
			r.Reason = evaluator.ReasonStale
		}
		out = r.AppendJSON(out)
	}
	return append(out, "]}"...)
}

func TestEvaluateMatchesNative(t *testing.T) {
	data := fixture(t, "r1", 25)
	e := newEvaluator(t, Config{Instances: 2})
	info, err := e.Load(data)
	if err != nil {
		t.Fatal(err)
	}
	if info.Flags != 5 || info.Environment != "test" || info.Revision != "r1" || len(info.Hash) != 64 {
		t.Fatalf("Load info = %+v", info)
	}
	ev := native(t, data)
	r := rand.New(rand.NewPCG(1, 2))
	ctx := evaluator.NewContext()
	keys := []string{"banner-color", "checkout-v2", "old-header", "page-size", "search-v3", "missing-flag"}
	var got, enc []byte
	for i := range 2000 {
		randomContext(r, ctx)
		when := at.Add(time.Duration(r.IntN(400)) * 24 * time.Hour)
		for _, key := range keys {
			want := ev.Evaluate(key, ctx, when)
			got, err = e.Evaluate(got[:0], key, ctx, when)
			if err != nil {
				t.Fatal(err)
			}
			if w := want.AppendJSON(nil); !bytes.Equal(got, w) {
				t.Fatalf("context %d flag %s:\n wasm   %s\n native %s", i, key, got, w)
			}
		}
		got, err = e.EvaluateAll(got[:0], ctx, when)
		if err != nil {
			t.Fatal(err)
		}
		if w := nativeAll(ev, ctx, when, false); !bytes.Equal(got, w) {
			t.Fatalf("context %d, all flags:\n wasm   %s\n native %s", i, got, w)
		}
		// The same context as JSON gives the same answers.
		enc = appendContextJSON(enc[:0], ctx)
		got, err = e.EvaluateAllEncoded(got[:0], enc, when)
		if err != nil {
			t.Fatal(err)
		}
		if w := nativeAll(ev, ctx, when, false); !bytes.Equal(got, w) {
			t.Fatalf("context %d as JSON %s:\n wasm   %s\n native %s", i, enc, got, w)
		}
	}
}

// appendContextJSON writes a context as JSON with encoding/json (an independent encoder).
func appendContextJSON(dst []byte, ctx *evaluator.Context) []byte {
	m := map[string]any{}
	for _, name := range ctx.Names() {
		m[name] = jsonValue(ctx.Get(name))
	}
	b, _ := json.Marshal(m)
	return append(dst, b...)
}

func jsonValue(v evaluator.Value) any {
	switch v.Kind() {
	case evaluator.StringKind:
		return v.Str()
	case evaluator.NumberKind:
		return v.Num()
	case evaluator.BoolKind:
		return v.Truth()
	case evaluator.ListKind:
		var l []any
		for _, x := range v.Items() {
			l = append(l, jsonValue(x))
		}
		return l
	}
	return nil
}

// TestEncodedContextIsAnOFREPContext: a JSON context means what it means in an OFREP
// request: nested objects flattened with dots, targetingKey also set as userId.
func TestEncodedContextIsAnOFREPContext(t *testing.T) {
	data := fixture(t, "r1", 25)
	e := newEvaluator(t, Config{Instances: 1})
	if _, err := e.Load(data); err != nil {
		t.Fatal(err)
	}
	ev := native(t, data)
	for _, tt := range []struct {
		json string
		flat *evaluator.Context
	}{
		{`{"targetingKey":"u7","geo":{"country":"DE"}}`,
			evaluator.NewContext().SetString("targetingKey", "u7").SetString("userId", "u7").SetString("geo.country", "DE")},
		{`{"userId":"u8","country":"FR","user":{"plan":"pro"}}`,
			evaluator.NewContext().SetString("userId", "u8").SetString("country", "FR").SetString("user.plan", "pro")},
	} {
		got, err := e.EvaluateAllEncoded(nil, []byte(tt.json), at)
		if err != nil {
			t.Fatal(err)
		}
		if w := nativeAll(ev, tt.flat, at, false); !bytes.Equal(got, w) {
			t.Errorf("%s:\n wasm   %s\n native %s", tt.json, got, w)
		}
	}
}

func TestStale(t *testing.T) {
	data := fixture(t, "r1", 25)
	e := newEvaluator(t, Config{Instances: 1})
	if _, err := e.Load(data); err != nil {
		t.Fatal(err)
	}
	ev := native(t, data)
	ctx := evaluator.NewContext().SetString("userId", "u1").SetString("country", "DE")
	e.SetStale(true)
	got, err := e.EvaluateAll(nil, ctx, at)
	if err != nil {
		t.Fatal(err)
	}
	if w := nativeAll(ev, ctx, at, true); !bytes.Equal(got, w) {
		t.Fatalf("stale:\n wasm   %s\n native %s", got, w)
	}
	if !bytes.Contains(got, []byte(`"reason":"STALE"`)) {
		t.Fatalf("no STALE reason in %s", got)
	}
	got, _ = e.Evaluate(nil, "missing", ctx, at)
	if !bytes.Contains(got, []byte(`"errorCode":"FLAG_NOT_FOUND"`)) {
		t.Fatalf("errors stay errors when stale: %s", got)
	}
	e.SetStale(false)
	got, _ = e.EvaluateAll(nil, ctx, at)
	if bytes.Contains(got, []byte("STALE")) {
		t.Fatalf("still stale after SetStale(false): %s", got)
	}
}

func TestBadInput(t *testing.T) {
	good := fixture(t, "good", 25)
	e := newEvaluator(t, Config{Instances: 1})
	ctx := evaluator.NewContext().SetString("userId", "u1")

	out, err := e.Evaluate(nil, "checkout-v2", ctx, at)
	if err != nil || !bytes.Contains(out, []byte(`"errorCode":"GENERAL","errorMessage":"no snapshot loaded"`)) {
		t.Fatalf("before Load: %s, %v", out, err)
	}
	out, err = e.EvaluateAll(nil, ctx, at)
	if err != nil || string(out) != `{"errorCode":"GENERAL","errorMessage":"no snapshot loaded"}` {
		t.Fatalf("all before Load: %s, %v", out, err)
	}
	if _, err := e.Load(good); err != nil {
		t.Fatal(err)
	}
	corrupt := bytes.Clone(good)
	corrupt[len(corrupt)-3] ^= 0xff
	snapshots := []struct {
		name string
		data []byte
		want string
	}{
		{"empty", nil, "truncated header"},
		{"garbage", []byte("this is not a snapshot at all, not even close to one"), "bad magic"},
		{"corrupted payload", corrupt, "content hash mismatch"},
		{"truncated", good[:len(good)/2], "content hash mismatch"},
	}
	for _, tt := range snapshots {
		_, err := e.Load(tt.data)
		var ge *GuestError
		if !errors.As(err, &ge) || ge.Code != evaluator.ErrParse || !strings.Contains(ge.Message, tt.want) {
			t.Errorf("Load(%s) = %v, want PARSE_ERROR containing %q", tt.name, err, tt.want)
		}
	}
	if _, err := e.Load(make([]byte, protocol.MaxSnapshotSize+1)); err == nil {
		t.Error("Load accepted a snapshot over the size limit")
	}
	if info, _ := e.Snapshot(); info.Revision != "good" {
		t.Fatalf("a failed Load replaced the snapshot: %+v", info)
	}

	huge := append([]byte{protocol.Marker, 1, 1, 'a', protocol.TagString}, make([]byte, protocol.MaxContextSize)...)
	contexts := []struct {
		name    string
		context []byte
		code    string
	}{
		{"binary garbage", []byte{protocol.Marker, 7, 1, 2, 3}, "PARSE_ERROR"},
		{"unknown tag", []byte{protocol.Marker, 1, 1, 'a', 9}, "PARSE_ERROR"},
		{"nested list", []byte{protocol.Marker, 1, 1, 'a', protocol.TagList, 1, protocol.TagList, 0}, "INVALID_CONTEXT"},
		{"empty name", []byte{protocol.Marker, 1, 0, protocol.TagTrue}, "INVALID_CONTEXT"},
		{"json garbage", []byte(`{"userId":`), "PARSE_ERROR"},
		{"json not an object", []byte(`[1,2]`), "INVALID_CONTEXT"},
		{"json attribute twice", []byte(`{"a":{"b":1},"a.b":2}`), "INVALID_CONTEXT"},
		{"json nested list", []byte(`{"a":[[1]]}`), "INVALID_CONTEXT"},
		{"oversize", huge, "INVALID_CONTEXT"},
	}
	for _, tt := range contexts {
		out, err := e.EvaluateEncoded(nil, "checkout-v2", tt.context, at)
		if err != nil || !bytes.HasPrefix(out, []byte(`{"key":"checkout-v2","reason":"ERROR","errorCode":"`+tt.code+`"`)) {
			t.Errorf("%s: %s, %v; want %s", tt.name, out, err, tt.code)
		}
		out, err = e.EvaluateAllEncoded(nil, tt.context, at)
		if err != nil || !bytes.HasPrefix(out, []byte(`{"errorCode":"`+tt.code+`"`)) {
			t.Errorf("%s (all flags): %s, %v; want %s", tt.name, out, err, tt.code)
		}
	}
	out, _ = e.Evaluate(nil, strings.Repeat("k", 10_000), ctx, at)
	if !bytes.Contains(out, []byte(`"errorCode":"FLAG_NOT_FOUND"`)) || len(out) > 1000 {
		t.Errorf("oversize key: %.200s", out)
	}
	// After all that, the one instance still answers correctly.
	want := native(t, good).Evaluate("checkout-v2", ctx, at)
	out, err = e.Evaluate(nil, "checkout-v2", ctx, at)
	if err != nil || !bytes.Equal(out, want.AppendJSON(nil)) {
		t.Fatalf("after bad input: %s, %v; want %s", out, err, want.AppendJSON(nil))
	}
	if s := e.Stats(); s.Discarded != 0 || s.Instances != 1 {
		t.Fatalf("bad input cost an instance: %+v", s)
	}
}

// TestEvaluateFlags: the flags listed, in their order, each as Evaluate answers it, with
// the context sent once.
func TestEvaluateFlags(t *testing.T) {
	data := fixture(t, "r1", 25)
	e := newEvaluator(t, Config{Instances: 1})
	if _, err := e.Load(data); err != nil {
		t.Fatal(err)
	}
	keys := []string{"search-v3", "missing", "checkout-v2", strings.Repeat("k", 300), "checkout-v2", ""}
	r := rand.New(rand.NewPCG(5, 6))
	ctx := evaluator.NewContext()
	var got, one []byte
	for range 200 {
		randomContext(r, ctx)
		want := []byte(`{"flags":[`)
		for i, key := range keys {
			if i > 0 {
				want = append(want, ',')
			}
			var err error
			if one, err = e.Evaluate(one[:0], key, ctx, at); err != nil {
				t.Fatal(err)
			}
			want = append(want, one...)
		}
		want = append(want, "]}"...)
		var err error
		if got, err = e.EvaluateFlags(got[:0], keys, ctx, at); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("EvaluateFlags:\n got  %s\n want %s", got, want)
		}
	}
	if got, _ := e.EvaluateFlags(nil, nil, ctx, at); string(got) != `{"flags":[]}` {
		t.Errorf("no keys: %s", got)
	}
	// A refused context gives the module's error object, binary or JSON (encoded contexts
	// reach EvaluateFlags' path only from inside the package).
	for _, bad := range [][]byte{{protocol.Marker, 1, 0, protocol.TagTrue}, []byte(`{"a":[[1]]}`)} {
		got, err := e.call(nil, callFlags, "", keys, nil, bad, at)
		if err != nil || !bytes.HasPrefix(got, []byte(`{"errorCode":"INVALID_CONTEXT"`)) {
			t.Errorf("context %q: %s, %v", bad, got, err)
		}
	}
}

func TestSwapReachesEveryInstance(t *testing.T) {
	e := newEvaluator(t, Config{Instances: 4})
	snaps := [][]byte{fixture(t, "zero", 0), fixture(t, "all", 100)}
	if _, err := e.Load(snaps[0]); err != nil {
		t.Fatal(err)
	}
	// Users outside every rule get checkout-v2 from the rollout: off at 0%, on at 100%.
	var wg sync.WaitGroup
	var gen sync.RWMutex // readers evaluate under RLock; Load happens under Lock
	current := 0
	stop := make(chan struct{})
	errs := make(chan error, 8)
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx := evaluator.NewContext()
			var out []byte
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				ctx.Reset()
				ctx.SetString("userId", "w"+strconv.Itoa(w)+"-"+strconv.Itoa(i))
				gen.RLock()
				want := []string{`"value":false`, `"value":true`}[current]
				var err error
				out, err = e.Evaluate(out[:0], "checkout-v2", ctx, at)
				gen.RUnlock()
				if err != nil || !bytes.Contains(out, []byte(want)) {
					errs <- errors.New("worker " + strconv.Itoa(w) + ": " + string(out) + " want " + want)
					return
				}
			}
		}()
	}
	for i := 1; i <= 20; i++ {
		time.Sleep(5 * time.Millisecond)
		gen.Lock()
		if _, err := e.Load(snaps[i%2]); err != nil {
			gen.Unlock()
			t.Fatal(err)
		}
		current = i % 2
		gen.Unlock()
	}
	close(stop)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if s := e.Stats(); s.Instances > 4 || s.Discarded != 0 {
		t.Fatalf("pool: %+v", s)
	}
}

func TestTrappedInstanceIsReplaced(t *testing.T) {
	// 160 pages (10 MiB) leave room for the Go runtime but not for a 12 MiB input buffer:
	// the guest runs out of memory and exits, which is a trap from the host's side.
	e := newEvaluator(t, Config{Instances: 1, MemoryLimitPages: 160})
	good := fixture(t, "good", 25)
	if _, err := e.Load(good); err != nil {
		t.Fatal(err)
	}
	_, err := e.Load(make([]byte, 12<<20))
	if err == nil {
		t.Fatal("a 12 MiB snapshot loaded into a 10 MiB instance")
	}
	var ge *GuestError
	if errors.As(err, &ge) {
		t.Fatalf("want a trap, got a guest error: %v", err)
	}
	if s := e.Stats(); s.Discarded != 1 || s.Instances != 0 {
		t.Fatalf("after the trap: %+v", s)
	}
	ctx := evaluator.NewContext().SetString("userId", "u1")
	wantRes := native(t, good).Evaluate("checkout-v2", ctx, at)
	want := wantRes.AppendJSON(nil)
	out, err := e.Evaluate(nil, "checkout-v2", ctx, at)
	if err != nil || !bytes.Equal(out, want) {
		t.Fatalf("replacement instance: %s, %v; want %s", out, err, want)
	}
	if s := e.Stats(); s.Instances != 1 {
		t.Fatalf("no replacement instance: %+v", s)
	}
}

func TestEvaluateDoesNotAllocate(t *testing.T) {
	e := newEvaluator(t, Config{Instances: 1})
	if _, err := e.Load(fixture(t, "r1", 25)); err != nil {
		t.Fatal(err)
	}
	ctx := evaluator.NewContext().SetString("userId", "u1").SetString("country", "DE").
		Set("groups", evaluator.Strings("beta"))
	buf := make([]byte, 0, 4096)
	keys := []string{"checkout-v2", "search-v3"}
	allocs := testing.AllocsPerRun(1000, func() {
		buf, _ = e.Evaluate(buf[:0], "checkout-v2", ctx, at)
		buf, _ = e.EvaluateAll(buf[:0], ctx, at)
		buf, _ = e.EvaluateFlags(buf[:0], keys, ctx, at)
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per call", allocs)
	}
}

func TestInstanceMemoryIsFlat(t *testing.T) {
	calls := 1_000_000
	if testing.Short() {
		calls = 100_000
	}
	e := newEvaluator(t, Config{Instances: 1})
	if _, err := e.Load(fixture(t, "r1", 25)); err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(3, 4))
	ctx := evaluator.NewContext()
	buf := make([]byte, 0, 4096)
	call := func() {
		randomContext(r, ctx)
		buf, _ = e.Evaluate(buf[:0], "checkout-v2", ctx, at)
	}
	for range 10_000 {
		call()
	}
	in := <-e.idle
	before := in.mem.Size()
	e.idle <- in
	for range calls {
		call()
	}
	in = <-e.idle
	after := in.mem.Size()
	e.idle <- in
	t.Logf("instance memory %d bytes before and %d bytes after %d calls", before, after, calls)
	if after != before {
		t.Fatalf("instance memory grew from %d to %d bytes over %d calls", before, after, calls)
	}
}

func TestNotAModule(t *testing.T) {
	if _, err := New(context.Background(), []byte("\x00asm\x01\x00\x00\x00"), Config{}); err == nil ||
		!strings.Contains(err.Error(), "not an edgeflag module") {
		t.Fatalf("empty module: %v", err)
	}
	if _, err := New(context.Background(), []byte("garbage"), Config{}); err == nil {
		t.Fatal("garbage compiled")
	}
}

func TestClose(t *testing.T) {
	e := newEvaluator(t, Config{Instances: 1})
	if err := e.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Evaluate(nil, "x", evaluator.NewContext(), at); !errors.Is(err, ErrClosed) {
		t.Fatalf("after Close: %v", err)
	}
}

// TestSnapshotVerifiedOnce: Load has the module hash a snapshot once, in the first
// instance, and the other instances decode it without hashing; LoadVerified, for bytes the
// caller verified, has it hashed nowhere. A forged snapshot (one snapshot's header on
// another's payload) shows where hashing happens: Load refuses it, and once LoadVerified
// has taken it every instance decodes it without refusing it.
func TestSnapshotVerifiedOnce(t *testing.T) {
	const instances = 4
	e := newEvaluator(t, Config{Instances: instances})
	var warm []*instance
	for range instances {
		in, err := e.acquire()
		if err != nil {
			t.Fatal(err)
		}
		warm = append(warm, in)
	}
	for _, in := range warm {
		e.release(in)
	}
	zero, all := fixture(t, "zero", 0), fixture(t, "all", 100)
	forged := append(append([]byte(nil), zero[:40]...), all[40:]...)

	steps := []struct {
		name          string
		load          func([]byte) (SnapshotInfo, error)
		data          []byte
		wantErr       string
		wantRevision  string
		verifications uint64
	}{
		{"Load", e.Load, zero, "", "zero", 1},
		{"Load forged", e.Load, forged, "content hash mismatch", "zero", 2},
		{"LoadVerified", e.LoadVerified, all, "", "all", 2},
		{"LoadVerified forged", e.LoadVerified, forged, "", "all", 2},
		{"Load again", e.Load, zero, "", "zero", 3},
	}
	for _, st := range steps {
		_, err := st.load(st.data)
		if st.wantErr == "" && err != nil || st.wantErr != "" && (err == nil || !strings.Contains(err.Error(), st.wantErr)) {
			t.Fatalf("%s: %v, want error %q", st.name, err, st.wantErr)
		}
		info, _ := e.Snapshot()
		s := e.Stats()
		if info.Revision != st.wantRevision || s.Verifications != st.verifications || s.Instances != instances || s.Discarded != 0 {
			t.Fatalf("%s: serving revision %s, stats %+v; want revision %s, %d verifications, %d instances, none discarded",
				st.name, info.Revision, s, st.wantRevision, st.verifications, instances)
		}
		if hash, _ := snapshot.Hash(st.data); info.Hash != hash && st.wantErr == "" {
			t.Fatalf("%s: hash %s, want the one its header records", st.name, info.Hash)
		}
		// Every instance holds the snapshot: the idle ones were brought up to date by the
		// load, without hashing (an instance that hashed the forged bytes would have
		// refused them and been discarded).
		var held []*instance
		for range instances {
			in, err := e.acquire()
			if err != nil {
				t.Fatal(err)
			}
			if cur := e.snap.Load(); in.gen != cur.gen {
				t.Fatalf("%s: an instance holds generation %d, the current one is %d", st.name, in.gen, cur.gen)
			}
			held = append(held, in)
		}
		for _, in := range held {
			e.release(in)
		}
	}
}
