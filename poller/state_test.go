package poller_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/edgeflag/edgeflag/poller"
	"github.com/edgeflag/edgeflag/poller/storetest"
	"github.com/edgeflag/edgeflag/signing"
	"github.com/edgeflag/edgeflag/store/layout"
)

// stateHost is a host that records the bytes it was given, and what the poller reported
// of its state.
type stateHost struct {
	recorder
	data   []byte
	writes []error // what OnStateWrite was given
}

func (h *stateHost) apply(data []byte, p poller.Pointer) error {
	if err := h.recorder.apply(data, p); err != nil {
		return err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.data = append([]byte(nil), data...)
	return nil
}

func (h *stateHost) onStateWrite(err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.writes = append(h.writes, err)
}

func (h *stateHost) lastWrite() (int, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.writes) == 0 {
		return 0, nil
	}
	return len(h.writes), h.writes[len(h.writes)-1]
}

// newStatePoller is a poller of production with a state directory.
func newStatePoller(t *testing.T, url, dir string, keys *signing.Keyring, grace time.Duration) (*poller.Poller, *stateHost) {
	t.Helper()
	h := &stateHost{}
	p, err := poller.New(poller.Config{BaseURL: url, Environment: "production", Apply: h.apply, OnStale: h.onStale,
		OnStateWrite: h.onStateWrite, Grace: grace, Timeout: time.Second, Keys: keys, StateDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	return p, h
}

// dirFiles lists the names in dir.
func dirFiles(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

// TestStateRestart: a poller keeps what it serves in its state directory; a poller
// started on the same directory while the store is down serves it at once, as not
// confirmed: stale after the grace period, and fresh once the store answers.
func TestStateRestart(t *testing.T) {
	store := storetest.New()
	defer store.Close()
	dir := filepath.Join(t.TempDir(), "state") // created by the first write
	ctx := context.Background()

	first, h1 := newStatePoller(t, store.URL, dir, nil, time.Minute)
	if err := first.Restore(); err != nil || first.Status().Restored {
		t.Fatalf("Restore of a missing directory: %v, %+v", err, first.Status())
	}
	hashA := store.Publish("production", snap("A"))
	if err := first.Poll(ctx); err != nil {
		t.Fatal(err)
	}
	hashB := store.Publish("production", snap("B"))
	if err := first.Poll(ctx); err != nil {
		t.Fatal(err)
	}
	if err := first.Poll(ctx); err != nil { // 304: nothing new to write
		t.Fatal(err)
	}
	// A pointer move that keeps the snapshot: only the pointer is written again.
	store.Put("production/current.json", bytes.Replace(store.Get("production/current.json"), []byte(`"revision":"test"`), []byte(`"revision":"again"`), 1))
	if err := first.Poll(ctx); err != nil {
		t.Fatal(err)
	}
	if n, err := h1.lastWrite(); n != 3 || err != nil {
		t.Fatalf("OnStateWrite called %d times, last with %v; want 3 times, nil", n, err)
	}
	want := []string{poller.StateSnapshotFile("production", hashB), poller.StatePointerFile("production")}
	if got := dirFiles(t, dir); !slices.Equal(got, want) {
		t.Fatalf("state directory holds %q, want %q (snapshot %s removed)", got, want, hashA[:12])
	}
	if b, _ := os.ReadFile(filepath.Join(dir, want[1])); !bytes.Equal(b, store.Get("production/current.json")) {
		t.Fatalf("pointer file %s differs from the store's pointer", b)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, want[0])); !bytes.Equal(b, snap("B")) {
		t.Fatal("snapshot file differs from the snapshot served")
	}
	if fi, err := os.Stat(filepath.Join(dir, want[0])); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("snapshot file mode: %v %v, want 0600", fi.Mode(), err)
	}

	// Restart with the store gone.
	url := store.URL
	store.Close()
	const grace = 300 * time.Millisecond
	second, h2 := newStatePoller(t, url, dir, nil, grace)
	start := time.Now()
	if err := second.Restore(); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(h2.data, snap("B")) {
		t.Fatal("Restore applied other bytes than the snapshot served before the restart")
	}
	st := second.Status()
	if !st.Loaded || !st.Restored || st.Pointer.Snapshot != hashB || !st.LastSuccess.IsZero() || st.RestoredAt.Before(start) || st.Stale || st.StateError != nil {
		t.Fatalf("status after Restore: %+v", st)
	}
	if err := second.Restore(); err == nil || !strings.Contains(err.Error(), "loaded already") {
		t.Fatalf("a second Restore: %v", err)
	}
	if err := second.Poll(ctx); err == nil || !strings.Contains(err.Error(), "connection refused") {
		t.Fatalf("Poll of a closed store: %v", err)
	}
	if st := second.Status(); st.Stale || !st.Restored {
		t.Fatalf("stale before the grace period: %+v", st)
	}
	time.Sleep(grace + 50*time.Millisecond)
	if st := second.Status(); !st.Stale || !st.Restored || st.Pointer.Snapshot != hashB {
		t.Fatalf("status after the grace period without a successful poll: %+v", st)
	}
	if rev, n := h2.last(); rev != "B" || n != 1 || !slices.Equal(h2.stale, []bool{true}) {
		t.Fatalf("host has %q after %d swaps, OnStale %v", rev, n, h2.stale)
	}

	// Run restores by itself, and the store answering confirms the restored snapshot
	// without fetching it again.
	store2 := storetest.New()
	defer store2.Close()
	store2.Publish("production", snap("B"))
	kept, _ := os.ReadFile(filepath.Join(dir, poller.StatePointerFile("production")))
	store2.Put("production/current.json", kept)
	third, h3 := newStatePoller(t, store2.URL, dir, nil, time.Minute)
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error)
	go func() { done <- third.Run(runCtx) }()
	deadline := time.Now().Add(5 * time.Second)
	for third.Status().Polls == 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	<-done
	st = third.Status()
	if st.Restored || st.RestoredAt.IsZero() || st.LastSuccess.IsZero() || st.Swaps != 0 || st.LastError != nil || st.StateError != nil {
		t.Fatalf("status once the store confirms the restored snapshot: %+v", st)
	}
	if n, _ := h3.lastWrite(); n != 0 {
		t.Fatalf("the state was written %d times, though the store serves what it holds", n)
	}
	if rev, n := h3.last(); rev != "B" || n != 1 {
		t.Fatalf("host has %q after %d swaps, want B applied once, by Restore", rev, n)
	}
	if n := store2.Count("snapshots/"+hashB+".snap", 200); n != 0 {
		t.Fatalf("the restored snapshot was fetched %d times", n)
	}
}

// TestStateReplayAcrossRestart: with signed pointers, the restored pointer is the one
// served, so an older validly signed pointer is refused after a restart as before it.
func TestStateReplayAcrossRestart(t *testing.T) {
	store := storetest.New()
	defer store.Close()
	key, _ := signing.GenerateKey()
	ring, _ := signing.NewKeyring(key.PublicKey())
	dir := t.TempDir()
	ctx := context.Background()

	before, _ := newStatePoller(t, store.URL, dir, ring, time.Minute)
	store.PublishSigned("production", envSnap("production", "v1"), key, 1)
	if err := before.Poll(ctx); err != nil {
		t.Fatal(err)
	}
	v1 := store.Get("production/current.json")
	store.PublishSigned("production", envSnap("production", "v2"), key, 2)
	if err := before.Poll(ctx); err != nil {
		t.Fatal(err)
	}

	// The attacker writes the old pointer back, and the edges restart.
	store.Put("production/current.json", v1)
	tests := []struct {
		name     string
		stateDir string
		want     error  // of the first poll
		serving  string // revision after it
	}{
		{"without state a fresh edge takes the replay", "", nil, "v1"},
		{"with state the replay is refused", dir, poller.ErrOlderVersion, "v2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			after, h := newStatePoller(t, store.URL, tt.stateDir, ring, time.Minute)
			if err := after.Restore(); err != nil {
				t.Fatal(err)
			}
			if err := after.Poll(ctx); !errors.Is(err, tt.want) {
				t.Fatalf("Poll = %v, want %v", err, tt.want)
			}
			if rev, _ := h.last(); rev != tt.serving {
				t.Fatalf("serving %q, want %q", rev, tt.serving)
			}
		})
	}
	if b, _ := os.ReadFile(filepath.Join(dir, poller.StatePointerFile("production"))); bytes.Equal(b, v1) {
		t.Fatal("the refused pointer was written to the state")
	}
}

// TestStateIgnored: state that is incomplete, corrupt, of another environment or not
// signed by an accepted key is ignored with the reason, the poller starts empty, and the
// first successful poll writes valid state over it.
func TestStateIgnored(t *testing.T) {
	key, _ := signing.GenerateKey()
	next, _ := signing.GenerateKey()
	intruder, _ := signing.GenerateKey()
	both, _ := signing.NewKeyring(key.PublicKey(), next.PublicKey())
	nextOnly, _ := signing.NewKeyring(next.PublicKey())

	// Each case gets a state directory written by a poller serving v3 signed by key,
	// and changes it with edit (given the directory, the file names and the store).
	type files struct{ dir, pointer, snap string }
	tests := []struct {
		name    string
		edit    func(t *testing.T, f files, store *storetest.Server)
		keys    *signing.Keyring
		want    string // "" when the state is restored
		wantErr error
	}{
		{"valid", func(*testing.T, files, *storetest.Server) {}, both, "", nil},
		{"a newer snapshot written, its pointer not", func(t *testing.T, f files, store *storetest.Server) {
			data := envSnap("production", "v4")
			h := store.PublishSigned("production", data, key, 4)
			write(t, filepath.Join(f.dir, poller.StateSnapshotFile("production", h)), data)
		}, both, "", nil},
		{"no state", func(t *testing.T, f files, _ *storetest.Server) { remove(t, f.pointer, f.snap) }, both, "", nil},
		{"corrupt snapshot", func(t *testing.T, f files, _ *storetest.Server) {
			b, _ := os.ReadFile(f.snap)
			b[len(b)-1] ^= 0x5a
			write(t, f.snap, b)
		}, both, "content hash mismatch", nil},
		{"another snapshot under the name", func(t *testing.T, f files, _ *storetest.Server) {
			write(t, f.snap, envSnap("production", "other"))
		}, both, "holds snapshot", nil},
		{"snapshot missing", func(t *testing.T, f files, _ *storetest.Server) { remove(t, f.snap) }, both, "the snapshot production.pointer.json names", os.ErrNotExist},
		{"pointer missing", func(t *testing.T, f files, _ *storetest.Server) { remove(t, f.pointer) }, both, "a write was interrupted", nil},
		{"truncated pointer", func(t *testing.T, f files, _ *storetest.Server) {
			b, _ := os.ReadFile(f.pointer)
			write(t, f.pointer, b[:len(b)/2])
		}, both, "unexpected end of JSON", layout.ErrPointer},
		{"pointer of another environment", func(t *testing.T, f files, store *storetest.Server) {
			store.PublishSigned("staging", envSnap("staging", "s1"), key, 3)
			write(t, f.pointer, store.Get("staging/current.json"))
		}, both, `names environment "staging"`, layout.ErrPointer},
		{"signed by an unknown key", func(t *testing.T, f files, store *storetest.Server) {
			store.PublishSigned("production", envSnap("production", "v3"), intruder, 3)
			write(t, f.pointer, store.Get("production/current.json"))
		}, both, "refused", signing.ErrUnknownKey},
		{"signed by a key no longer accepted", func(*testing.T, files, *storetest.Server) {}, nextOnly, "refused", signing.ErrUnknownKey},
		{"unsigned", func(t *testing.T, f files, _ *storetest.Server) {
			b, _ := os.ReadFile(f.pointer)
			write(t, f.pointer, []byte(unsignedCopy(t, string(b))))
		}, both, "refused", signing.ErrUnsigned},
		{"version tampered", func(t *testing.T, f files, _ *storetest.Server) {
			b, _ := os.ReadFile(f.pointer)
			write(t, f.pointer, []byte(strings.Replace(string(b), `"version":3`, `"version":9`, 1)))
		}, both, "refused", signing.ErrBadSignature},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			store := storetest.New()
			defer store.Close()
			dir := t.TempDir()
			writer, _ := newStatePoller(t, store.URL, dir, both, time.Minute)
			hash := store.PublishSigned("production", envSnap("production", "v3"), key, 3)
			if err := writer.Poll(context.Background()); err != nil {
				t.Fatal(err)
			}
			tt.edit(t, files{dir, filepath.Join(dir, poller.StatePointerFile("production")),
				filepath.Join(dir, poller.StateSnapshotFile("production", hash))}, store)

			store.SetFault(storetest.Failing)
			p, h := newStatePoller(t, store.URL, dir, tt.keys, time.Minute)
			err := p.Restore()
			st := p.Status()
			if tt.want == "" {
				restored := !strings.Contains(tt.name, "no state")
				if err != nil || st.StateError != nil || st.Restored != restored || st.Loaded != restored {
					t.Fatalf("Restore = %v, status %+v", err, st)
				}
				if rev, _ := h.last(); restored && rev != "v3" {
					t.Fatalf("restored %q, want v3", rev)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "ignoring the state in "+dir) ||
				(tt.wantErr != nil && !errors.Is(err, tt.wantErr)) {
				t.Fatalf("Restore = %v, want an error containing %q (%v)", err, tt.want, tt.wantErr)
			}
			if st.StateError != err || st.Loaded || st.Restored || st.Stale {
				t.Fatalf("status after ignoring the state: %+v", st)
			}
			if rev, n := h.last(); n != 0 {
				t.Fatalf("host was given %q", rev)
			}

			// The store answers: the edge loads and rewrites the state.
			store.SetFault(storetest.Healthy)
			store.PublishSigned("production", envSnap("production", "v5"), next, 5)
			if err := p.Poll(context.Background()); err != nil {
				t.Fatal(err)
			}
			if st := p.Status(); st.StateError != nil || st.Pointer.Version != 5 {
				t.Fatalf("status after the first poll: %+v", st)
			}
			again, _ := newStatePoller(t, store.URL, dir, tt.keys, time.Minute)
			if err := again.Restore(); err != nil || again.Status().Pointer.Version != 5 {
				t.Fatalf("Restore of the rewritten state: %v %+v", err, again.Status())
			}
		})
	}
}

// TestStateWriteFails: a state directory that cannot be written fails no poll and keeps
// the snapshot served; the error is reported, and the write retried after the next
// successful poll.
func TestStateWriteFails(t *testing.T) {
	tests := []struct {
		name  string
		dir   func(root string) string // the state directory, under a file
		block string                   // the file in the way
	}{
		{"a file in place of the directory", func(root string) string { return filepath.Join(root, "state") }, "state"},
		{"the directory inside a file", func(root string) string { return filepath.Join(root, "file", "state") }, "file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			store := storetest.New()
			defer store.Close()
			root := t.TempDir()
			write(t, filepath.Join(root, tt.block), []byte("in the way"))
			p, h := newStatePoller(t, store.URL, tt.dir(root), nil, time.Minute)
			store.Publish("production", snap("A"))
			if err := p.Poll(context.Background()); err != nil {
				t.Fatalf("Poll = %v, want nil: the state is not the poll's", err)
			}
			st := p.Status()
			n, werr := h.lastWrite()
			if n != 1 || werr == nil || !strings.Contains(werr.Error(), "not a directory") || st.StateError != werr {
				t.Fatalf("OnStateWrite called %d times, last with %v; status %+v", n, werr, st)
			}
			if rev, _ := h.last(); rev != "A" || !st.Loaded || st.LastError != nil || st.Stale {
				t.Fatalf("serving %q, status %+v", rev, st)
			}

			// The way is cleared: the next poll (304) writes the state.
			remove(t, filepath.Join(root, tt.block))
			if err := p.Poll(context.Background()); err != nil {
				t.Fatal(err)
			}
			if n, werr := h.lastWrite(); n != 2 || werr != nil || p.Status().StateError != nil || p.Status().NotModified != 1 {
				t.Fatalf("OnStateWrite called %d times, last with %v; status %+v", n, werr, p.Status())
			}
			again, h2 := newStatePoller(t, store.URL, tt.dir(root), nil, time.Minute)
			if err := again.Restore(); err != nil {
				t.Fatal(err)
			}
			if rev, _ := h2.last(); rev != "A" {
				t.Fatalf("restored %q, want A", rev)
			}
		})
	}
}

func write(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

func remove(t *testing.T, paths ...string) {
	t.Helper()
	for _, p := range paths {
		if err := os.Remove(p); err != nil {
			t.Fatal(err)
		}
	}
}
