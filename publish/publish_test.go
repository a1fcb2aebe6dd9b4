package publish_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/edgeflag/edgeflag/publish"
	"github.com/edgeflag/edgeflag/publish/publishtest"
	"github.com/edgeflag/edgeflag/snapshot"
	"github.com/edgeflag/edgeflag/store"
	"github.com/edgeflag/edgeflag/store/layout"
	"github.com/edgeflag/edgeflag/store/s3test"
)

var clock = time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)

// publishers returns a Publisher on each backend, fresh and empty.
func publishers(t *testing.T) map[string]*publish.Publisher {
	t.Helper()
	dir, err := store.NewDir(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	srv := s3test.New(t, "edgeflag-publish")
	out := map[string]*publish.Publisher{}
	for name, st := range map[string]store.Store{"dir": dir, "s3": srv.Store(t, "flags")} {
		p := publish.New(st)
		p.Now = ticking(clock)
		out[name] = p
	}
	return out
}

// ticking returns a clock that starts at start and moves on by a millisecond at each
// reading, so audit records sort in the order they were made.
func ticking(start time.Time) func() time.Time {
	var mu sync.Mutex
	next := start
	return func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		t := next
		next = next.Add(time.Millisecond)
		return t
	}
}

func hashOf(t *testing.T, data []byte) string {
	t.Helper()
	h, err := snapshot.Hash(data)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func mustPublish(t *testing.T, p *publish.Publisher, data []byte) *publish.Result {
	t.Helper()
	res, err := p.Publish(context.Background(), data, "ci")
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// served returns the snapshot the environment's pointer names, decoded.
func served(t *testing.T, p *publish.Publisher, env string) (*publish.Pointer, *snapshot.Snapshot) {
	t.Helper()
	ctx := context.Background()
	ptr, _, err := publish.ReadPointer(ctx, p.Store, env)
	if err != nil {
		t.Fatal(err)
	}
	obj, err := p.Store.Get(ctx, layout.SnapshotKey(ptr.Snapshot), store.GetOptions{})
	if err != nil {
		t.Fatalf("the pointer names a snapshot the store does not have: %v", err)
	}
	if h := hashOf(t, obj.Data); h != ptr.Snapshot {
		t.Fatalf("snapshots/%s.snap holds snapshot %s", ptr.Snapshot, h)
	}
	s, err := snapshot.Decode(obj.Data)
	if err != nil {
		t.Fatal(err)
	}
	return ptr, s
}

func TestPublishThenPublishAgainChangesNothing(t *testing.T) {
	ctx := context.Background()
	for name, p := range publishers(t) {
		t.Run(name, func(t *testing.T) {
			base := publishtest.Snapshot("production", "r1", 100, "checkout", "search")
			h := hashOf(t, base)
			res := mustPublish(t, p, base)
			if !res.Changed || res.Previous != nil {
				t.Fatalf("first publish: Changed %v, Previous %v", res.Changed, res.Previous)
			}
			want := publish.Pointer{Environment: "production", Snapshot: h, Base: h, Revision: "r1", Killed: []string{}, PublishedAt: clock, Version: 1}
			if fmt.Sprintf("%+v", res.Pointer) != fmt.Sprintf("%+v", want) {
				t.Errorf("pointer = %+v\nwant      %+v", res.Pointer, want)
			}
			ptr, _ := served(t, p, "production")
			if ptr.Snapshot != h {
				t.Errorf("stored pointer names %s, want %s", ptr.Snapshot, h)
			}
			if _, err := p.Store.Get(ctx, layout.BaseKey("production", h), store.GetOptions{}); err != nil {
				t.Errorf("base snapshot not stored: %v", err)
			}

			keys, _ := p.Store.List(ctx, "")
			pointerBefore, _ := p.Store.Get(ctx, layout.PointerKey("production"), store.GetOptions{})
			res = mustPublish(t, p, base)
			if res.Changed {
				t.Error("publishing the same bytes again changed the pointer")
			}
			keysAfter, _ := p.Store.List(ctx, "")
			pointerAfter, _ := p.Store.Get(ctx, layout.PointerKey("production"), store.GetOptions{})
			if !slices.Equal(keys, keysAfter) || pointerBefore.ETag != pointerAfter.ETag {
				t.Errorf("second publish wrote: keys %v -> %v, pointer %s -> %s", keys, keysAfter, pointerBefore.ETag, pointerAfter.ETag)
			}
			records, err := p.Audit(ctx, "production")
			if err != nil {
				t.Fatal(err)
			}
			if len(records) != 1 || records[0].Action != publish.ActionPublish || records[0].After.Snapshot != h || records[0].Who != "ci" {
				t.Errorf("audit = %+v, want one publish record", records)
			}
		})
	}
}

func TestPublishRejectsBadInput(t *testing.T) {
	p := publishers(t)["dir"]
	good := publishtest.Snapshot("production", "r1", 1, "a")
	corrupt := bytes.Clone(good)
	corrupt[len(corrupt)-1] ^= 0xff
	tests := map[string][]byte{
		"empty":               nil,
		"not a snapshot":      []byte("flags: {}"),
		"corrupt payload":     corrupt,
		"invalid environment": publishtest.Snapshot("Prod/../x", "r1", 1, "a"),
	}
	for name, data := range tests {
		_, err := p.Publish(context.Background(), data, "ci")
		if !errors.Is(err, publish.ErrInvalidSnapshot) {
			t.Errorf("%s: err = %v, want ErrInvalidSnapshot", name, err)
		}
	}
	if keys, _ := p.Store.List(context.Background(), ""); len(keys) != 0 {
		t.Errorf("bad input wrote %v", keys)
	}
}

func TestRollbackWalksHistoryBack(t *testing.T) {
	ctx := context.Background()
	for name, p := range publishers(t) {
		t.Run(name, func(t *testing.T) {
			var h []string
			for i := 1; i <= 3; i++ {
				data := publishtest.Snapshot("production", fmt.Sprintf("r%d", i), int64(i), "checkout")
				mustPublish(t, p, data)
				h = append(h, hashOf(t, data))
			}
			ptr, _ := served(t, p, "production")
			if ptr.Base != h[2] || !slices.Equal(ptr.History, []string{h[1], h[0]}) {
				t.Fatalf("after three publishes: base %s history %v", ptr.Base, ptr.History)
			}
			steps := []struct {
				base    string
				history []string
			}{
				{h[1], []string{h[0]}},
				{h[0], nil},
			}
			for i, step := range steps {
				res, err := p.Rollback(ctx, "production", "", "oncall")
				if err != nil {
					t.Fatalf("rollback %d: %v", i+1, err)
				}
				if res.Pointer.Base != step.base || !slices.Equal(res.Pointer.History, step.history) {
					t.Errorf("rollback %d: base %s history %v, want %s %v", i+1, res.Pointer.Base, res.Pointer.History, step.base, step.history)
				}
				_, s := served(t, p, "production")
				if s.Revision != fmt.Sprintf("r%d", 2-i) {
					t.Errorf("rollback %d serves revision %s", i+1, s.Revision)
				}
			}
			if _, err := p.Rollback(ctx, "production", "", "oncall"); !errors.Is(err, publish.ErrNoEarlierSnapshot) {
				t.Errorf("rollback past the first publish: err = %v, want ErrNoEarlierSnapshot", err)
			}
			// A target by short hash jumps forward again, like a publish.
			res, err := p.Rollback(ctx, "production", h[2][:10], "oncall")
			if err != nil {
				t.Fatal(err)
			}
			if res.Pointer.Base != h[2] || !slices.Equal(res.Pointer.History, []string{h[0]}) {
				t.Errorf("rollback --to %s: base %s history %v", h[2][:10], res.Pointer.Base, res.Pointer.History)
			}
			records, _ := p.Audit(ctx, "production")
			rollbacks := 0
			for _, r := range records {
				if r.Action == publish.ActionRollback {
					rollbacks++
				}
			}
			if rollbacks != 3 {
				t.Errorf("%d rollback audit records, want 3", rollbacks)
			}
		})
	}
}

func TestRollbackErrors(t *testing.T) {
	ctx := context.Background()
	p := publishers(t)["dir"]
	mustPublish(t, p, publishtest.Snapshot("production", "r1", 1, "checkout"))
	staging := publishtest.Snapshot("staging", "r1", 1, "checkout")
	mustPublish(t, p, staging)
	tests := []struct {
		env, to string
		want    error
	}{
		{"qa", "", publish.ErrUnknownEnvironment},
		{"production", "", publish.ErrNoEarlierSnapshot},
		{"production", strings.Repeat("0", 64), publish.ErrUnknownSnapshot},
		{"production", "abc", publish.ErrUnknownSnapshot},
		{"production", "not-hex-at-all", publish.ErrUnknownSnapshot},
		{"production", hashOf(t, staging), publish.ErrInvalidSnapshot}, // another environment's
	}
	for _, tt := range tests {
		_, err := p.Rollback(ctx, tt.env, tt.to, "oncall")
		if !errors.Is(err, tt.want) {
			t.Errorf("Rollback(%q, %q): err = %v, want %v", tt.env, tt.to, err, tt.want)
		}
	}
}

func TestRollbackAmbiguousPrefix(t *testing.T) {
	ctx := context.Background()
	p := publishers(t)["dir"]
	// Prefixes shorter than 7 hex digits are never accepted.
	mustPublish(t, p, publishtest.Snapshot("production", "r1", 1, "checkout"))
	if _, err := p.Rollback(ctx, "production", "a1b2c3", "oncall"); !errors.Is(err, publish.ErrUnknownSnapshot) {
		t.Errorf("6-digit prefix: err = %v, want ErrUnknownSnapshot", err)
	}
	// Two objects with the same 7-digit prefix (written directly) make it ambiguous.
	for _, h := range []string{"abcdef0" + strings.Repeat("1", 57), "abcdef0" + strings.Repeat("2", 57)} {
		if _, err := p.Store.Put(ctx, layout.SnapshotKey(h), []byte("x"), store.PutOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := p.Rollback(ctx, "production", "abcdef0", "oncall"); !errors.Is(err, publish.ErrAmbiguousSnapshot) {
		t.Errorf("shared prefix: err = %v, want ErrAmbiguousSnapshot", err)
	}
}

func TestRepublishIfNewer(t *testing.T) {
	ctx := context.Background()
	p := publishers(t)["s3"]
	old := publishtest.Snapshot("production", "r1", 100, "checkout")
	cur := publishtest.Snapshot("production", "r2", 200, "checkout")
	mustPublish(t, p, old)
	mustPublish(t, p, cur)
	res, err := p.Republish(ctx, "production", publish.RepublishOptions{Base: hashOf(t, old), IfNewer: true}, "s3-event")
	if err != nil {
		t.Fatal(err)
	}
	if res.Changed || res.Skipped == "" || res.Pointer.Base != hashOf(t, cur) {
		t.Errorf("republish of an older base with IfNewer: Changed %v, Skipped %q, base %s", res.Changed, res.Skipped, res.Pointer.Base)
	}
	res, err = p.Republish(ctx, "production", publish.RepublishOptions{Base: hashOf(t, old)}, "api")
	if err != nil {
		t.Fatal(err)
	}
	if !res.Changed || res.Pointer.Base != hashOf(t, old) {
		t.Errorf("republish of an older base: Changed %v, base %s", res.Changed, res.Pointer.Base)
	}
	tests := []struct {
		env  string
		opts publish.RepublishOptions
		want error
	}{
		{"staging", publish.RepublishOptions{}, publish.ErrUnknownEnvironment},
		{"production", publish.RepublishOptions{Base: strings.Repeat("f", 64)}, publish.ErrUnknownSnapshot},
		{"production", publish.RepublishOptions{Base: "xyz"}, publish.ErrUnknownSnapshot},
	}
	for _, tt := range tests {
		if _, err := p.Republish(ctx, tt.env, tt.opts, "api"); !errors.Is(err, tt.want) {
			t.Errorf("Republish(%q, %+v): err = %v, want %v", tt.env, tt.opts, err, tt.want)
		}
	}
}

func TestReadPointerRejectsMalformed(t *testing.T) {
	ctx := context.Background()
	p := publishers(t)["dir"]
	for _, body := range []string{`not json`, `{"environment":"production","snapshot":"x","base":"y"}`, `{"environment":"staging"}`} {
		if _, err := p.Store.Put(ctx, layout.PointerKey("production"), []byte(body), store.PutOptions{}); err != nil {
			t.Fatal(err)
		}
		if _, _, err := publish.ReadPointer(ctx, p.Store, "production"); err == nil || errors.Is(err, publish.ErrUnknownEnvironment) {
			t.Errorf("pointer %s: err = %v, want a malformed-pointer error", body, err)
		}
	}
}

func TestMerge(t *testing.T) {
	base := publishtest.Build("production", "r1", 1, "a", "b", "c")
	base.Flags[2].Killed = true // killed in its source
	data := snapshot.Encode(base)
	tests := []struct {
		kill       []string
		wantKilled []string
		same       bool // served bytes are the base's
	}{
		{nil, []string{"c"}, true},
		{[]string{"c"}, []string{"c"}, true},
		{[]string{"gone"}, []string{"c"}, true},
		{[]string{"a"}, []string{"a", "c"}, false},
		{[]string{"b", "a", "gone"}, []string{"a", "b", "c"}, false},
	}
	for _, tt := range tests {
		state := &publish.KillState{Killed: map[string]publish.Kill{}}
		for _, k := range tt.kill {
			state.Killed[k] = publish.Kill{Reason: "test"}
		}
		out, killed, err := publish.Merge(data, state, nil)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(killed, tt.wantKilled) {
			t.Errorf("Merge kill %v: killed %v, want %v", tt.kill, killed, tt.wantKilled)
		}
		if bytes.Equal(out, data) != tt.same {
			t.Errorf("Merge kill %v: served bytes equal to base = %v, want %v", tt.kill, !tt.same, tt.same)
		}
		s, err := snapshot.Decode(out)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range s.Flags {
			if f.Killed != slices.Contains(tt.wantKilled, f.Key) {
				t.Errorf("Merge kill %v: flag %s Killed = %v", tt.kill, f.Key, f.Killed)
			}
		}
	}
	if _, _, err := publish.Merge([]byte("junk"), &publish.KillState{}, nil); !errors.Is(err, publish.ErrInvalidSnapshot) {
		t.Errorf("Merge of junk: err = %v", err)
	}
}

// A base snapshot larger than edges load is refused before anything is written.
func TestPublishRefusesSnapshotOverEdgeLimit(t *testing.T) {
	st, err := store.NewDir(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	s := publishtest.Build("production", "big", 1000, "big-flag")
	s.Flags[0].Type = snapshot.TypeString
	s.Flags[0].Variants = []snapshot.Variant{{Name: "off", JSON: `"x"`}, {Name: "on", JSON: `"` + strings.Repeat("x", snapshot.MaxSize) + `"`}}
	_, err = publish.New(st).Publish(context.Background(), snapshot.Encode(s), "ci")
	if !errors.Is(err, publish.ErrTooLarge) || !errors.Is(err, publish.ErrInvalidSnapshot) || !strings.Contains(err.Error(), "over the limit of 33554432 bytes") {
		t.Fatalf("err = %v, want ErrTooLarge", err)
	}
	if keys, _ := st.List(context.Background(), ""); len(keys) != 0 {
		t.Errorf("the refused publish wrote %v", keys)
	}
}
