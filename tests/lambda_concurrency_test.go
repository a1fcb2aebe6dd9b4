package tests

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/edgeflag/edgeflag/lambda"
	"github.com/edgeflag/edgeflag/publish"
	"github.com/edgeflag/edgeflag/publish/publishtest"
	"github.com/edgeflag/edgeflag/store"
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
// instances, and fails on any answer but 200.
func lambdaConcurrentKills(t testing.TB, urls []string, flags []string, calls int) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, calls)
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
			resp.Body.Close()
			if resp.StatusCode != 200 {
				errs <- fmt.Errorf("%s %s: %d", action, flag, resp.StatusCode)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

// TestConcurrentKillsOverHTTP sends 100 kill and unkill requests at once to ten API
// instances sharing a store, for the S3 store and the directory store: no update may be
// lost. The kill state is the last write, the audit trail has all 100 changes with
// versions 1..100 that chain, and the pointer serves the final state.
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
			lambdaConcurrentKills(t, lambdaInstances(t, 10, open), flags, calls)

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
			sort.Slice(changes, func(i, j int) bool { return changes[i].KillStateVersion < changes[j].KillStateVersion })
			for i, r := range changes {
				if r.KillStateVersion != int64(i+1) {
					t.Fatalf("audit versions are not 1..%d: position %d has version %d", calls, i, r.KillStateVersion)
				}
				if i > 0 && !slices.Equal(r.Before.Killed, changes[i-1].After.Killed) {
					t.Errorf("version %d started from %v, version %d left %v", i+1, r.Before.Killed, i, changes[i-1].After.Killed)
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
