package publish_test

import (
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

func TestKillAndUnkill(t *testing.T) {
	ctx := context.Background()
	for name, p := range publishers(t) {
		t.Run(name, func(t *testing.T) {
			base := publishtest.Snapshot("production", "r1", 1, "checkout", "search")
			mustPublish(t, p, base)

			res, err := p.Kill(ctx, "production", "checkout", "error rate 12%", "arn:aws:iam::123456789012:user/oncall")
			if err != nil {
				t.Fatal(err)
			}
			ptr, s := served(t, p, "production")
			if ptr.Base != hashOf(t, base) || ptr.Snapshot == ptr.Base {
				t.Errorf("after a kill the pointer serves %s from base %s: want a new snapshot from the same base", ptr.Snapshot, ptr.Base)
			}
			if !slices.Equal(ptr.Killed, []string{"checkout"}) || !s.Flags[s.FlagIndex("checkout")].Killed || s.Flags[s.FlagIndex("search")].Killed {
				t.Errorf("after killing checkout: pointer killed %v", ptr.Killed)
			}
			if res.State.Version != 1 || res.State.Killed["checkout"].Reason != "error rate 12%" {
				t.Errorf("kill state = %+v", res.State)
			}
			rec := res.Audit
			if rec.Action != publish.ActionKill || rec.Flag != "checkout" || rec.Why != "error rate 12%" ||
				rec.Who != "arn:aws:iam::123456789012:user/oncall" || !rec.At.After(clock) ||
				len(rec.Before.Killed) != 0 || !slices.Equal(rec.After.Killed, []string{"checkout"}) ||
				rec.Before.Snapshot != ptr.Base || rec.After.Snapshot != ptr.Snapshot || rec.KillStateVersion != 1 {
				t.Errorf("audit record = %+v", rec)
			}

			res, err = p.Unkill(ctx, "production", "checkout", "fixed in 1.4.2", "oncall")
			if err != nil {
				t.Fatal(err)
			}
			ptr, _ = served(t, p, "production")
			if ptr.Snapshot != hashOf(t, base) || len(ptr.Killed) != 0 || res.Killed {
				t.Errorf("after unkill the pointer serves %s (killed %v), want the base %s", ptr.Snapshot, ptr.Killed, hashOf(t, base))
			}
			records, err := p.Audit(ctx, "production")
			if err != nil {
				t.Fatal(err)
			}
			var actions []string
			for _, r := range records {
				actions = append(actions, r.Action)
			}
			if !slices.Equal(actions, []string{"publish", "kill", "unkill"}) {
				t.Errorf("audit actions = %v", actions)
			}
		})
	}
}

func TestKillRefusesBadRequests(t *testing.T) {
	ctx := context.Background()
	p := publishers(t)["dir"]
	base := publishtest.Build("production", "r1", 1, "checkout", "legacy")
	base.Flags[1].Killed = true
	mustPublish(t, p, snapshot.Encode(base))
	keysBefore, _ := p.Store.List(ctx, "")
	tests := []struct {
		name             string
		kill             bool
		env, flag, why   string
		want             error
		wantMessageMatch string
	}{
		{name: "unknown environment", kill: true, env: "staging", flag: "checkout", why: "x", want: publish.ErrUnknownEnvironment},
		{name: "invalid environment", kill: true, env: "../x", flag: "checkout", why: "x", want: publish.ErrUnknownEnvironment},
		{name: "unknown flag", kill: true, env: "production", flag: "nope", why: "x", want: publish.ErrUnknownFlag},
		{name: "missing reason", kill: true, env: "production", flag: "checkout", why: "", wantMessageMatch: "needs a reason"},
		{name: "unkill killed in source", kill: false, env: "production", flag: "legacy", want: publish.ErrKilledInSource},
	}
	for _, tt := range tests {
		var err error
		if tt.kill {
			_, err = p.Kill(ctx, tt.env, tt.flag, tt.why, "me")
		} else {
			_, err = p.Unkill(ctx, tt.env, tt.flag, tt.why, "me")
		}
		switch {
		case tt.want != nil && !errors.Is(err, tt.want):
			t.Errorf("%s: err = %v, want %v", tt.name, err, tt.want)
		case tt.want == nil && (err == nil || !strings.Contains(err.Error(), tt.wantMessageMatch)):
			t.Errorf("%s: err = %v, want it to mention %q", tt.name, err, tt.wantMessageMatch)
		}
	}
	if keys, _ := p.Store.List(ctx, ""); !slices.Equal(keys, keysBefore) {
		t.Errorf("refused requests wrote: %v -> %v", keysBefore, keys)
	}
}

func TestKillSurvivesPublishAndRollback(t *testing.T) {
	ctx := context.Background()
	p := publishers(t)["s3"]
	mustPublish(t, p, publishtest.Snapshot("production", "r1", 1, "checkout", "search"))
	if _, err := p.Kill(ctx, "production", "search", "slow", "oncall"); err != nil {
		t.Fatal(err)
	}
	mustPublish(t, p, publishtest.Snapshot("production", "r2", 2, "checkout", "search"))
	ptr, s := served(t, p, "production")
	if s.Revision != "r2" || !slices.Equal(ptr.Killed, []string{"search"}) {
		t.Errorf("after publishing r2: revision %s killed %v, want r2 [search]", s.Revision, ptr.Killed)
	}
	if _, err := p.Rollback(ctx, "production", "", "oncall"); err != nil {
		t.Fatal(err)
	}
	ptr, s = served(t, p, "production")
	if s.Revision != "r1" || !slices.Equal(ptr.Killed, []string{"search"}) {
		t.Errorf("after rollback: revision %s killed %v, want r1 [search]", s.Revision, ptr.Killed)
	}
}

// TestConcurrentKills runs 100 kills and unkills at once: none may be lost. The kill
// state ends as the last write left it, every call has its audit record, the versions
// are exactly 1..100, and the pointer serves the final state.
func TestConcurrentKills(t *testing.T) {
	const calls = 100
	ctx := context.Background()
	flags := []string{"checkout", "search", "pricing", "banner"}
	for name, p := range publishers(t) {
		t.Run(name, func(t *testing.T) {
			mustPublish(t, p, publishtest.Snapshot("production", "r1", 1, flags...))
			var wg sync.WaitGroup
			errs := make(chan error, calls)
			for i := range calls {
				wg.Go(func() {
					flag := flags[i%len(flags)]
					var err error
					if (i/len(flags))%2 == 0 {
						_, err = p.Kill(ctx, "production", flag, fmt.Sprintf("call %d", i), fmt.Sprintf("user-%d", i))
					} else {
						_, err = p.Unkill(ctx, "production", flag, fmt.Sprintf("call %d", i), fmt.Sprintf("user-%d", i))
					}
					if err != nil {
						errs <- err
					}
				})
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Fatal(err)
			}
			checkKillHistory(t, p, "production", calls)
		})
	}
}

// checkKillHistory checks the kill state, audit trail and pointer after n kill or
// unkill calls on a fresh environment.
func checkKillHistory(t *testing.T, p *publish.Publisher, env string, n int) {
	t.Helper()
	ctx := context.Background()
	state, _, err := publish.ReadKillState(ctx, p.Store, env)
	if err != nil {
		t.Fatal(err)
	}
	if state.Version != int64(n) {
		t.Errorf("kill state version %d after %d calls", state.Version, n)
	}
	records, err := p.Audit(ctx, env)
	if err != nil {
		t.Fatal(err)
	}
	var kills []publish.AuditRecord
	for _, r := range records {
		if r.Action == publish.ActionKill || r.Action == publish.ActionUnkill {
			kills = append(kills, r)
		}
	}
	if len(kills) != n {
		t.Fatalf("%d kill/unkill audit records, want %d", len(kills), n)
	}
	for i, r := range kills {
		if r.KillStateVersion != int64(i+1) {
			t.Fatalf("audit records are not in write order (versions 1..%d): position %d has %d", n, i, r.KillStateVersion)
		}
		if got := killedIn(t, p, r.After.Snapshot); !slices.Equal(got, r.After.Killed) {
			t.Errorf("version %d: after.snapshot kills %v, the change left %v", r.KillStateVersion, got, r.After.Killed)
		}
		if i > 0 && r.Before.Snapshot != kills[i-1].After.Snapshot {
			t.Errorf("version %d starts from snapshot %s, version %d ended with %s", r.KillStateVersion, r.Before.Snapshot, i, kills[i-1].After.Snapshot)
		}
		if i > 0 && !slices.Equal(r.Before.Killed, kills[i-1].After.Killed) {
			t.Errorf("version %d starts from %v, but version %d ended with %v", r.KillStateVersion, r.Before.Killed, i, kills[i-1].After.Killed)
		}
		if r.Error != "" {
			t.Errorf("version %d: %s", r.KillStateVersion, r.Error)
		}
	}
	last := kills[n-1]
	if !slices.Equal(last.After.Killed, state.KilledFlags()) {
		t.Errorf("final state %v is not the last write's %v", state.KilledFlags(), last.After.Killed)
	}
	ptr, s := served(t, p, env)
	if !slices.Equal(ptr.Killed, state.KilledFlags()) {
		t.Errorf("pointer serves killed %v, kill state has %v", ptr.Killed, state.KilledFlags())
	}
	for _, f := range s.Flags {
		if f.Killed != slices.Contains(state.KilledFlags(), f.Key) {
			t.Errorf("served snapshot: %s Killed = %v", f.Key, f.Killed)
		}
	}
}

// killedIn returns the killed flags of the stored snapshot hash, sorted.
func killedIn(t *testing.T, p *publish.Publisher, hash string) []string {
	t.Helper()
	obj, err := p.Store.Get(context.Background(), layout.SnapshotKey(hash), store.GetOptions{})
	if err != nil {
		t.Fatalf("snapshot %s: %v", hash, err)
	}
	if h := hashOf(t, obj.Data); h != hash {
		t.Fatalf("snapshots/%s.snap holds snapshot %s", hash, h)
	}
	s, err := snapshot.Decode(obj.Data)
	if err != nil {
		t.Fatal(err)
	}
	killed := []string{}
	for _, f := range s.Flags {
		if f.Killed {
			killed = append(killed, f.Key)
		}
	}
	return killed
}

// TestKillAuditInWriteOrderWhateverTheClock makes kills with a clock that stands still
// and then goes back: the audit trail still lists them in write order, with times that
// grow with the kill state version.
func TestKillAuditInWriteOrderWhateverTheClock(t *testing.T) {
	ctx := context.Background()
	for name, p := range publishers(t) {
		t.Run(name, func(t *testing.T) {
			mustPublish(t, p, publishtest.Snapshot("production", "r1", 1, "checkout", "search"))
			for i, at := range []time.Time{clock, clock, clock.Add(-time.Hour), clock.Add(-time.Second)} {
				p.Now = func() time.Time { return at }
				flag := []string{"checkout", "search"}[i%2]
				if _, err := p.Kill(ctx, "production", flag, fmt.Sprintf("call %d", i), "oncall"); err != nil {
					t.Fatal(err)
				}
			}
			records, err := p.Audit(ctx, "production")
			if err != nil {
				t.Fatal(err)
			}
			var last time.Time
			for i, r := range records[1:] {
				if r.KillStateVersion != int64(i+1) || !r.At.After(last) {
					t.Errorf("position %d: version %d at %s, after %s", i, r.KillStateVersion, r.At, last)
				}
				last = r.At
			}
			state, _, err := publish.ReadKillState(ctx, p.Store, "production")
			if err != nil {
				t.Fatal(err)
			}
			if !state.UpdatedAt.Equal(last) {
				t.Errorf("kill state updatedAt %s, last record at %s", state.UpdatedAt, last)
			}
		})
	}
}

// TestConcurrentPublishAndKills races publishes of new bases with kills: the pointer
// must end on the last base with the final kill state applied.
func TestConcurrentPublishAndKills(t *testing.T) {
	ctx := context.Background()
	for name, p := range publishers(t) {
		t.Run(name, func(t *testing.T) {
			mustPublish(t, p, publishtest.Snapshot("production", "r0", 0, "checkout", "search"))
			var wg sync.WaitGroup
			for i := range 20 {
				wg.Go(func() {
					var err error
					switch i % 4 {
					case 0:
						_, err = p.Publish(ctx, publishtest.Snapshot("production", fmt.Sprintf("r%d", i), int64(i), "checkout", "search"), "ci")
					case 1, 3:
						_, err = p.Kill(ctx, "production", "search", "race", "oncall")
					case 2:
						_, err = p.Unkill(ctx, "production", "search", "race", "oncall")
					}
					if err != nil {
						t.Error(err)
					}
				})
			}
			wg.Wait()
			state, _, err := publish.ReadKillState(ctx, p.Store, "production")
			if err != nil {
				t.Fatal(err)
			}
			ptr, s := served(t, p, "production")
			baseData, err := p.Store.Get(ctx, layout.BaseKey("production", ptr.Base), store.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			want, _, err := publish.Merge(baseData.Data, state, nil)
			if err != nil {
				t.Fatal(err)
			}
			if hashOf(t, want) != ptr.Snapshot {
				t.Errorf("pointer serves %s (revision %s, killed %v), but its base merged with the final kill state %v is %s",
					ptr.Snapshot, s.Revision, ptr.Killed, state.KilledFlags(), hashOf(t, want))
			}
		})
	}
}

// BenchmarkKill measures one kill or unkill with its republish and audit record, with
// no contention, on each store (the S3 store talks HTTP to a local S3-protocol server).
func BenchmarkKill(b *testing.B) {
	ctx := context.Background()
	dir, err := store.NewDir(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	srv := s3test.New(b, "edgeflag-bench")
	for _, be := range []struct {
		name string
		st   store.Store
	}{{"dir", dir}, {"s3", srv.Store(b, "")}} {
		b.Run(be.name, func(b *testing.B) {
			p := publish.New(be.st)
			if _, err := p.Publish(ctx, publishtest.Snapshot("production", "r1", 1, "checkout", "search"), "ci"); err != nil {
				b.Fatal(err)
			}
			for i := 0; b.Loop(); i++ {
				if i%2 == 0 {
					_, err = p.Kill(ctx, "production", "checkout", "bench", "bench")
				} else {
					_, err = p.Unkill(ctx, "production", "checkout", "bench", "bench")
				}
				if err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
