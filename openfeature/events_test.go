package openfeature

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	of "github.com/open-feature/go-sdk/openfeature"

	"github.com/edgeflag/edgeflag/snapshot"
)

// recorder collects the SDK's provider events.
type recorder struct{ events chan of.EventDetails }

func record(api *of.EvaluationAPI) *recorder {
	r := &recorder{events: make(chan of.EventDetails, 32)}
	for _, t := range []of.EventType{of.ProviderReady, of.ProviderConfigChange, of.ProviderStale, of.ProviderError} {
		cb := func(d of.EventDetails) {
			d.EventMetadata = map[string]any{"type": t, "meta": d.EventMetadata}
			r.events <- d
		}
		api.AddHandler(t, &cb)
	}
	return r
}

// next waits for the next event, which must be of type want.
func (r *recorder) next(t *testing.T, want of.EventType) of.EventDetails {
	t.Helper()
	select {
	case d := <-r.events:
		if got := d.EventMetadata["type"]; got != want {
			t.Fatalf("got event %v (%s), want %s", got, d.Message, want)
		}
		return d
	case <-time.After(5 * time.Second):
		t.Fatalf("no %s event", want)
	}
	return of.EventDetails{}
}

// nextTwo waits for two events that the SDK may deliver in either order (it runs each
// handler in its own goroutine): one of type first, one of type second.
func (r *recorder) nextTwo(t *testing.T, first, second of.EventType) (of.EventDetails, of.EventDetails) {
	t.Helper()
	got := map[any]of.EventDetails{}
	for range 2 {
		select {
		case d := <-r.events:
			got[d.EventMetadata["type"]] = d
		case <-time.After(5 * time.Second):
			t.Fatalf("missing events: got %d of %s and %s", len(got), first, second)
		}
	}
	a, okA := got[first]
	b, okB := got[second]
	if !okA || !okB {
		t.Fatalf("got events %v, want %s and %s", got, first, second)
	}
	return a, b
}

// none checks that no event arrives for a short while.
func (r *recorder) none(t *testing.T) {
	t.Helper()
	select {
	case d := <-r.events:
		t.Fatalf("unexpected event %v: %s", d.EventMetadata["type"], d.Message)
	case <-time.After(50 * time.Millisecond):
	}
}

// modified returns a copy of s changed by change, with its hash.
func modified(t *testing.T, s *snapshot.Snapshot, change func(*snapshot.Snapshot)) (*snapshot.Snapshot, string) {
	t.Helper()
	c, _, _ := decoded(t, s)
	change(c)
	out, hash, _ := decoded(t, c)
	return out, hash
}

func flagIndex(t *testing.T, s *snapshot.Snapshot, key string) int {
	t.Helper()
	i := s.FlagIndex(key)
	if i < 0 {
		t.Fatalf("no flag %s", key)
	}
	return i
}

// dependents returns the keys of the flags that have prerequisite key.
func dependents(s *snapshot.Snapshot, key string) []string {
	i := s.FlagIndex(key)
	var out []string
	for _, f := range s.Flags {
		for _, p := range f.Prerequisites {
			if p.Flag == i {
				out = append(out, f.Key)
			}
		}
	}
	return out
}

func TestLifecycleEvents(t *testing.T) {
	s, hash, data := exampleSnapshot(t, "production")
	p := New(Options{Now: func() time.Time { return noon }, InitTimeout: 20 * time.Millisecond})
	p.Fail(errStore) // before Init: reported by Init's error, not as an event
	client, api, err := registered(t, p)
	if err == nil {
		t.Fatal("Init succeeded without a snapshot")
	}
	if client.State() != of.ErrorState || p.State() != of.ErrorState {
		t.Fatalf("state after a failed Init: %s / %s", client.State(), p.State())
	}
	if want := "store unreachable"; !strings.Contains(err.Error(), want) {
		t.Errorf("Init error %q does not give the last failure", err)
	}
	ev := record(api)
	ev.next(t, of.ProviderError) // the SDK tells a new handler the state it registers in

	// The first snapshot after a failed Init: READY.
	p.Swap(s, hash)
	ev.next(t, of.ProviderReady)
	if client.State() != of.ReadyState {
		t.Errorf("state %s after the first snapshot", client.State())
	}
	ctx := context.Background()
	if v, err := client.BooleanValue(ctx, "new-search-algorithm", false, of.NewEvaluationContext("user-3003", nil)); err != nil || !v {
		t.Fatalf("evaluation after READY: %v %v", v, err)
	}

	// Kill one flag: CONFIGURATION_CHANGED names it and the flags that depend on it.
	killed, killedHash := modified(t, s, func(c *snapshot.Snapshot) { c.Flags[flagIndex(t, c, "orders-dual-write")].Killed = true })
	p.Swap(killed, killedHash)
	d := ev.next(t, of.ProviderConfigChange)
	want := append([]string{"orders-dual-write"}, dependents(s, "orders-dual-write")...)
	slices.Sort(want)
	if !slices.Equal(d.FlagChanges, want) || len(want) < 2 {
		t.Errorf("flag changes %v, want %v", d.FlagChanges, want)
	}
	if meta := d.EventMetadata["meta"].(map[string]any); meta["snapshot"] != killedHash || meta["previousSnapshot"] != hash {
		t.Errorf("event metadata %v", meta)
	}

	// Change a segment: every flag using it changes, and no other.
	seg := -1
	for i, sg := range s.Segments {
		if sg.Key == "internal-employees" {
			seg = i
		}
	}
	if seg < 0 {
		t.Fatal("no segment internal-employees")
	}
	reseg, resegHash := modified(t, killed, func(c *snapshot.Snapshot) {
		c.Segments[seg].When = snapshot.Condition{Kind: snapshot.CondClause, Clause: snapshot.Clause{
			Attribute: 0, Op: snapshot.OpPresent}}
	})
	p.Swap(reseg, resegHash)
	d = ev.next(t, of.ProviderConfigChange)
	if len(d.FlagChanges) == 0 || slices.Contains(d.FlagChanges, "orders-dual-write") {
		t.Errorf("segment change: flag changes %v", d.FlagChanges)
	}
	for _, k := range d.FlagChanges {
		if !usesSegment(reseg, k, seg) {
			t.Errorf("%s changed but does not use the segment", k)
		}
	}

	// The same snapshot again: nothing to say.
	p.Swap(reseg, resegHash)
	ev.none(t)

	// Stale: STALE event, reason STALE with the real reason in metadata.
	p.MarkStale(errStore)
	if d := ev.next(t, of.ProviderStale); !strings.Contains(d.Message, "store unreachable") {
		t.Errorf("stale message %q", d.Message)
	}
	p.MarkStale(nil)
	ev.none(t)
	b, err := client.BooleanValueDetails(ctx, "new-search-algorithm", false, of.NewEvaluationContext("user-3003", nil))
	if err != nil || b.Reason != ReasonStale || b.FlagMetadata["reason"] != "TARGETING_MATCH" || b.FlagMetadata["stale"] != true {
		t.Errorf("stale evaluation: %v %+v", err, b)
	}
	if client.State() != of.StaleState {
		t.Errorf("state %s while stale", client.State())
	}

	// The source is fresh again: READY, reasons back to normal.
	p.Fresh()
	ev.next(t, of.ProviderReady)
	p.Fresh()
	ev.none(t)
	if b, _ := client.BooleanValueDetails(ctx, "new-search-algorithm", false, of.NewEvaluationContext("user-3003", nil)); b.Reason != of.TargetingMatchReason {
		t.Errorf("reason %s after Fresh", b.Reason)
	}

	// A snapshot that does not verify: ERROR, the last good one still serves.
	bad := append([]byte(nil), data...)
	bad[len(bad)-1] ^= 0xff
	if err := p.Load(bad); err == nil {
		t.Fatal("a corrupt snapshot loaded")
	}
	ev.next(t, of.ProviderError)
	if client.State() != of.ErrorState {
		t.Errorf("state %s after a failure", client.State())
	}
	if _, h := p.Snapshot(); h != resegHash {
		t.Errorf("serving %s after a failed load, want the last good %s", h, resegHash)
	}

	// The original snapshot through Follow: READY (recovering), then CONFIGURATION_CHANGED.
	updates := make(chan Update)
	followCtx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { p.Follow(followCtx, updates); close(done) }()
	updates <- Update{Data: data}
	_, d = ev.nextTwo(t, of.ProviderReady, of.ProviderConfigChange)
	if !slices.Contains(d.FlagChanges, "orders-dual-write") {
		t.Errorf("reverting changes %v", d.FlagChanges)
	}
	updates <- Update{Stale: true}
	ev.next(t, of.ProviderStale)
	updates <- Update{}
	ev.next(t, of.ProviderReady)
	updates <- Update{Err: errStore}
	ev.next(t, of.ProviderError)
	updates <- Update{Snapshot: s, Hash: hash}
	ev.next(t, of.ProviderReady)
	ev.none(t) // same hash as the one served: no change
	stop()
	<-done
}

func TestInitWaitsForTheFirstSnapshot(t *testing.T) {
	s, hash, _ := exampleSnapshot(t, "production")
	p := New(Options{})
	go func() {
		time.Sleep(20 * time.Millisecond)
		p.Swap(s, hash)
	}()
	client, _, err := registered(t, p)
	if err != nil {
		t.Fatal(err)
	}
	if client.State() != of.ReadyState {
		t.Errorf("state %s", client.State())
	}
}

func TestInitRespectsItsContext(t *testing.T) {
	p := New(Options{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := p.InitWithContext(ctx, of.EvaluationContext{}); err == nil {
		t.Fatal("Init succeeded with a cancelled context and no snapshot")
	}
}

func TestShutdownStopsFollow(t *testing.T) {
	p := New(Options{})
	done := make(chan struct{})
	go func() { p.Follow(context.Background(), make(chan Update)); close(done) }()
	p.Shutdown()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Follow still running after Shutdown")
	}
}

func usesSegment(s *snapshot.Snapshot, key string, seg int) bool {
	f := &s.Flags[s.FlagIndex(key)]
	var uses func(c *snapshot.Condition) bool
	uses = func(c *snapshot.Condition) bool {
		if c == nil {
			return false
		}
		if c.Kind == snapshot.CondSegment && (c.Segment == seg || uses(&s.Segments[c.Segment].When)) {
			return true
		}
		for i := range c.Children {
			if uses(&c.Children[i]) {
				return true
			}
		}
		return false
	}
	for i := range f.Rules {
		if uses(f.Rules[i].When) {
			return true
		}
	}
	for i := range f.Rings {
		if uses(f.Rings[i].When) {
			return true
		}
	}
	for _, pre := range f.Prerequisites {
		if usesSegment(s, s.Flags[pre.Flag].Key, seg) {
			return true
		}
	}
	return false
}
