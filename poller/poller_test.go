package poller_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/edgeflag/edgeflag/poller"
	"github.com/edgeflag/edgeflag/poller/storetest"
	"github.com/edgeflag/edgeflag/snapshot"
)

func snap(revision string) []byte {
	return snapshot.Encode(&snapshot.Snapshot{Environment: "production", Revision: revision, BuildTime: 1})
}

// recorder is a host that records what it was given.
type recorder struct {
	mu      sync.Mutex
	applied []string // revisions
	reject  error
	stale   []bool
	polls   []error // what OnPoll was given
}

func (r *recorder) apply(data []byte, p poller.Pointer) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.reject != nil {
		return r.reject
	}
	s, err := snapshot.Decode(data)
	if err != nil {
		return err
	}
	r.applied = append(r.applied, s.Revision)
	return nil
}

func (r *recorder) onStale(stale bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.stale = append(r.stale, stale)
}

func (r *recorder) onPoll(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.polls = append(r.polls, err)
}

// lastPoll returns how many polls OnPoll saw and the error it was last given.
func (r *recorder) lastPoll() (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.polls) == 0 {
		return 0, nil
	}
	return len(r.polls), r.polls[len(r.polls)-1]
}

func (r *recorder) last() (string, int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.applied) == 0 {
		return "", 0
	}
	return r.applied[len(r.applied)-1], len(r.applied)
}

func TestFailCorruptRecover(t *testing.T) {
	store := storetest.New()
	defer store.Close()
	rec := &recorder{}
	const grace = 300 * time.Millisecond
	p, err := poller.New(poller.Config{BaseURL: store.URL + "/", Environment: "production",
		Apply: rec.apply, OnStale: rec.onStale, OnPoll: rec.onPoll, Grace: grace, Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	// poll polls once and checks that OnPoll was told what Poll returns.
	poll := func(step string) error {
		t.Helper()
		before, _ := rec.lastPoll()
		err := p.Poll(ctx)
		if n, got := rec.lastPoll(); got != err || n != before+1 {
			t.Fatalf("%s: OnPoll got %v (call %d), Poll returned %v (call %d)", step, got, n, err, before+1)
		}
		return err
	}
	mustPoll := func(step string) {
		t.Helper()
		if err := poll(step); err != nil {
			t.Fatalf("%s: %v", step, err)
		}
	}
	failPoll := func(step, want string) {
		t.Helper()
		err := poll(step)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("%s: Poll = %v, want an error containing %q", step, err, want)
		}
	}
	expect := func(step, revision string, applied int) {
		t.Helper()
		if got, n := rec.last(); got != revision || n != applied {
			t.Fatalf("%s: host has %q after %d swaps, want %q after %d", step, got, n, revision, applied)
		}
	}

	failPoll("empty store", "status 404")
	if p.Stale() {
		t.Fatal("stale with nothing loaded")
	}
	hashA := store.Publish("production", snap("A"))
	mustPoll("first snapshot")
	expect("first snapshot", "A", 1)
	if st := p.Status(); st.Pointer.Snapshot != hashA || !st.Loaded || st.Swaps != 1 {
		t.Fatalf("status after first poll: %+v", st)
	}

	mustPoll("unchanged")
	expect("unchanged", "A", 1)
	if n := store.Count("production/current.json", http.StatusNotModified); n != 1 {
		t.Fatalf("If-None-Match: %d answers 304, want 1", n)
	}

	store.Publish("production", snap("B"))
	mustPoll("new snapshot")
	expect("new snapshot", "B", 2)

	store.SetFault(storetest.Failing)
	failPoll("store down", "status 503")
	expect("store down", "B", 2)

	store.SetFault(storetest.CorruptSnapshots)
	hashC := store.Publish("production", snap("C"))
	failPoll("corrupt snapshot", "content hash mismatch")
	expect("corrupt snapshot", "B", 2)

	store.SetFault(storetest.Healthy)
	store.Put("snapshots/"+hashC+".snap", snap("B")) // the right bytes under the wrong name
	failPoll("misnamed snapshot", "holds snapshot")
	expect("misnamed snapshot", "B", 2)

	store.Put("production/current.json", []byte(`{"environment":"production","snapshot":"../../etc"}`))
	failPoll("malformed pointer", "not a SHA-256")
	store.Put("production/current.json", []byte(`{"environment":"staging","snapshot":"`+hashA+`"}`))
	failPoll("pointer of another environment", `names environment "staging"`)
	store.Put("production/current.json", []byte(`not json`))
	failPoll("garbage pointer", "not a valid pointer")

	rec.mu.Lock()
	rec.reject = errors.New("host says no")
	rec.mu.Unlock()
	store.Publish("production", snap("D"))
	failPoll("host rejects", "host says no")
	expect("host rejects", "B", 2)

	store.SetFault(storetest.Hanging)
	start := time.Now()
	failPoll("store hangs", "deadline exceeded")
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("a hanging store held the poll for %v", d)
	}

	time.Sleep(grace)
	if !p.Stale() {
		t.Fatalf("not stale %v after the last success", grace)
	}
	if st := p.Status(); st.LastError == nil || !st.Stale {
		t.Fatalf("status while stale: %+v", st)
	}

	store.SetFault(storetest.Healthy)
	rec.mu.Lock()
	rec.reject = nil
	rec.mu.Unlock()
	store.Publish("production", snap("E"))
	mustPoll("recovered")
	expect("recovered", "E", 3)
	if p.Stale() {
		t.Fatal("still stale after recovering")
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if len(rec.stale) != 2 || !rec.stale[0] || rec.stale[1] {
		t.Fatalf("OnStale calls %v, want [true false]", rec.stale)
	}
}

func TestRun(t *testing.T) {
	store := storetest.New()
	defer store.Close()
	store.Publish("staging", snap("one"))
	rec := &recorder{}
	p, err := poller.New(poller.Config{BaseURL: store.URL, Environment: "staging", Apply: rec.apply,
		Interval: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- p.Run(ctx) }()
	waitFor := func(revision string) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for time.Now().Before(deadline) {
			if got, _ := rec.last(); got == revision {
				return
			}
			time.Sleep(5 * time.Millisecond)
		}
		t.Fatalf("snapshot %q never applied", revision)
	}
	waitFor("one")
	store.Publish("staging", snap("two"))
	waitFor("two")
	deadline := time.Now().Add(5 * time.Second)
	for p.Status().NotModified == 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Run returned %v", err)
	}
	if st := p.Status(); st.Polls < 2 || st.NotModified == 0 {
		t.Fatalf("status after Run: %+v", st)
	}
}

func TestConfig(t *testing.T) {
	apply := func([]byte, poller.Pointer) error { return nil }
	tests := []struct {
		name string
		cfg  poller.Config
		want string
	}{
		{"no base", poller.Config{Environment: "production", Apply: apply}, "BaseURL"},
		{"no environment", poller.Config{BaseURL: "http://127.0.0.1:1", Apply: apply}, "environment"},
		{"environment with a slash", poller.Config{BaseURL: "http://127.0.0.1:1", Environment: "a/b", Apply: apply}, "environment"},
		{"no apply", poller.Config{BaseURL: "http://127.0.0.1:1", Environment: "production"}, "Apply"},
	}
	for _, tt := range tests {
		if _, err := poller.New(tt.cfg); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: %v, want an error about %s", tt.name, err, tt.want)
		}
	}
}
