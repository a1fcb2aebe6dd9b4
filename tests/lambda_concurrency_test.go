package tests

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/edgeflag/edgeflag/lambda"
	"github.com/edgeflag/edgeflag/publish"
	"github.com/edgeflag/edgeflag/publish/publishtest"
	"github.com/edgeflag/edgeflag/snapshot"
	"github.com/edgeflag/edgeflag/store"
	"github.com/edgeflag/edgeflag/store/layout"
	"github.com/edgeflag/edgeflag/store/s3test"
)

const lambdaTestToken = "edgeflag-test-token-0123456789"

// lambdaInstances starts n independent kill-switch API instances on one store, each
// with its own S3 client and HTTP server, as n concurrent Lambda instances would be.
func lambdaInstances(t testing.TB, n int, open func() store.Store) []string {
	t.Helper()
	urls := make([]string, n)
	for i := range urls {
		h, err := lambda.New(lambda.Config{Store: open(), Environments: []string{"production"}, Token: lambdaTestToken})
		if err != nil {
			t.Fatal(err)
		}
		srv := httptest.NewServer(h)
		t.Cleanup(srv.Close)
		urls[i] = srv.URL
	}
	return urls
}

// lambdaConcurrentKills sends calls kill and unkill requests at once, spread over the
// instances, fails on any answer but 200, and returns the answers.
func lambdaConcurrentKills(t testing.TB, urls []string, flags []string, calls int) []lambda.KillResponse {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, calls)
	answers := make([]lambda.KillResponse, calls)
	for i := range calls {
		wg.Go(func() {
			flag := flags[i%len(flags)]
			action := "kill"
			if (i/len(flags))%2 == 1 {
				action = "unkill"
			}
			body := fmt.Sprintf(`{"environment":"production","reason":"call %d"}`, i)
			req, err := http.NewRequest("POST", urls[i%len(urls)]+"/flags/"+flag+"/"+action, strings.NewReader(body))
			if err != nil {
				errs <- err
				return
			}
			req.Header.Set("Authorization", "Bearer "+lambdaTestToken)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				errs <- err
				return
			}
			defer resp.Body.Close()
			if resp.StatusCode != 200 {
				errs <- fmt.Errorf("%s %s: %d", action, flag, resp.StatusCode)
				return
			}
			if err := json.NewDecoder(resp.Body).Decode(&answers[i]); err != nil {
				errs <- fmt.Errorf("%s %s: %w", action, flag, err)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	return answers
}

// servedKilled reads snapshots/<hash>.snap from st, checks that it hashes to its name,
// and returns its killed flags, sorted.
func servedKilled(t *testing.T, st store.Store, hash string) []string {
	t.Helper()
	obj, err := st.Get(context.Background(), layout.SnapshotKey(hash), store.GetOptions{})
	if err != nil {
		t.Fatalf("snapshot %s: %v", hash, err)
	}
	if h, err := snapshot.Hash(obj.Data); err != nil || h != hash {
		t.Fatalf("snapshots/%s.snap hashes to %s (%v)", hash, h, err)
	}
	s, err := snapshot.Decode(obj.Data)
	if err != nil {
		t.Fatalf("snapshot %s: %v", hash, err)
	}
	killed := []string{}
	for _, f := range s.Flags {
		if f.Killed {
			killed = append(killed, f.Key)
		}
	}
	return killed
}

// TestConcurrentKillsOverHTTP sends 100 kill and unkill requests at once to ten API
// instances sharing a store, for the S3 store and the directory store: no update may be
// lost. The kill state is the last write, the audit trail has all 100 changes with
// versions 1..100 that chain, in that order, and the pointer serves the final state.
// Every record's before and after snapshots, and every answer's snapshot, carry exactly
// the kill state of their version: no earlier and no later change.
func TestConcurrentKillsOverHTTP(t *testing.T) {
	const calls = 100
	flags := []string{"new-checkout", "search-ring", "pricing", "banner"}
	ctx := context.Background()
	srv := s3test.New(t, "edgeflag-concurrency")
	dir := t.TempDir()
	backends := map[string]func() store.Store{
		"s3": func() store.Store { return srv.Store(t, "flags") },
		"dir": func() store.Store {
			st, err := store.NewDir(dir)
			if err != nil {
				t.Fatal(err)
			}
			return st
		},
	}
	for name, open := range backends {
		t.Run(name, func(t *testing.T) {
			st := open()
			if _, err := publish.New(st).Publish(ctx, publishtest.Snapshot("production", "r1", 1, flags...), "ci"); err != nil {
				t.Fatal(err)
			}
			answers := lambdaConcurrentKills(t, lambdaInstances(t, 10, open), flags, calls)

			state, _, err := publish.ReadKillState(ctx, st, "production")
			if err != nil {
				t.Fatal(err)
			}
			records, err := publish.New(st).Audit(ctx, "production")
			if err != nil {
				t.Fatal(err)
			}
			var changes []publish.AuditRecord
			for _, r := range records {
				if r.Action == publish.ActionKill || r.Action == publish.ActionUnkill {
					changes = append(changes, r)
				}
			}
			if len(changes) != calls || state.Version != calls {
				t.Fatalf("%d audit records, kill state version %d; want %d and %d", len(changes), state.Version, calls, calls)
			}
			// The audit trail lists the changes in write order: by kill state version.
			for i, r := range changes {
				if r.KillStateVersion != int64(i+1) {
					t.Fatalf("audit records out of write order: position %d has version %d", i, r.KillStateVersion)
				}
				if i > 0 && !slices.Equal(r.Before.Killed, changes[i-1].After.Killed) {
					t.Errorf("version %d started from %v, version %d left %v", i+1, r.Before.Killed, i, changes[i-1].After.Killed)
				}
				if i > 0 && r.Before.Snapshot != changes[i-1].After.Snapshot {
					t.Errorf("version %d started from snapshot %s, version %d left %s", i+1, r.Before.Snapshot, i, changes[i-1].After.Snapshot)
				}
				if r.Error != "" {
					t.Errorf("version %d: %s", i+1, r.Error)
				}
				if got := servedKilled(t, st, r.After.Snapshot); !slices.Equal(got, r.After.Killed) {
					t.Errorf("version %d (%s %s): after.snapshot %s kills %v, the change left %v",
						i+1, r.Action, r.Flag, r.After.Snapshot, got, r.After.Killed)
				}
				if got := servedKilled(t, st, r.Before.Snapshot); !slices.Equal(got, r.Before.Killed) {
					t.Errorf("version %d (%s %s): before.snapshot %s kills %v, the change started from %v",
						i+1, r.Action, r.Flag, r.Before.Snapshot, got, r.Before.Killed)
				}
			}
			seen := map[int64]bool{}
			for _, a := range answers {
				v := a.KillStateVersion
				if v < 1 || v > calls || seen[v] {
					t.Errorf("answer for %s names kill state version %d (twice, or out of 1..%d)", a.Flag, v, calls)
					continue
				}
				seen[v] = true
				r := changes[v-1]
				if a.Flag != r.Flag || a.Killed != (r.Action == publish.ActionKill) || a.Snapshot != r.After.Snapshot {
					t.Errorf("answer %+v does not match the audit record of version %d: %s %s snapshot %s", a, v, r.Action, r.Flag, r.After.Snapshot)
				}
				if a.Killed != slices.Contains(servedKilled(t, st, a.Snapshot), a.Flag) {
					t.Errorf("answer for version %d: %s killed=%v, but its snapshot %s says otherwise", v, a.Flag, a.Killed, a.Snapshot)
				}
			}
			if last := changes[calls-1]; !slices.Equal(last.After.Killed, state.KilledFlags()) {
				t.Errorf("final kill state %v is not the last write's %v", state.KilledFlags(), last.After.Killed)
			}
			ptr, _, err := publish.ReadPointer(ctx, st, "production")
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(ptr.Killed, state.KilledFlags()) {
				t.Errorf("the pointer serves killed %v, the kill state has %v", ptr.Killed, state.KilledFlags())
			}
		})
	}
}

// BenchmarkConcurrentKills measures 100 kill/unkill requests sent at once to ten API
// instances sharing one store (S3-protocol server, or directory): the time until the
// last one is answered.
//
//	go test ./tests -run '^$' -bench ConcurrentKills -benchtime 10x
func BenchmarkConcurrentKills(b *testing.B) {
	flags := []string{"new-checkout", "search-ring", "pricing", "banner"}
	srv := s3test.New(b, "edgeflag-concurrency-bench")
	dir := b.TempDir()
	backends := []struct {
		name string
		open func() store.Store
	}{
		{"s3", func() store.Store { return srv.Store(b, "") }},
		{"dir", func() store.Store {
			st, err := store.NewDir(dir)
			if err != nil {
				b.Fatal(err)
			}
			return st
		}},
	}
	for _, be := range backends {
		b.Run(be.name, func(b *testing.B) {
			if _, err := publish.New(be.open()).Publish(context.Background(), publishtest.Snapshot("production", "r1", 1, flags...), "ci"); err != nil {
				b.Fatal(err)
			}
			urls := lambdaInstances(b, 10, be.open)
			for b.Loop() {
				lambdaConcurrentKills(b, urls, flags, 100)
			}
		})
	}
}
