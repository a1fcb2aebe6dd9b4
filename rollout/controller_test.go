package rollout_test

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/edgeflag/edgeflag/compiler"
	"github.com/edgeflag/edgeflag/internal/promtest"
	"github.com/edgeflag/edgeflag/publish"
	"github.com/edgeflag/edgeflag/rollout"
	"github.com/edgeflag/edgeflag/rollout/prometheus"
	"github.com/edgeflag/edgeflag/snapshot"
	"github.com/edgeflag/edgeflag/store"
	"github.com/edgeflag/edgeflag/store/layout"
)

// The backfilled traffic of each test flag, per variant: requests per second, the share
// answered 500, and the latency histogram (observations per second per bucket).
var (
	latencyBounds = []float64{0.05, 0.1, 0.25, 0.5, 1}
	fastLatency   = []float64{10, 8, 1.8, 0.2, 0, 0}
	slowLatency   = []float64{1, 3, 6, 6, 4, 0}
)

type traffic struct {
	perSecond, errorShare float64
	latency               []float64
}

var testTraffic = map[string]map[string]traffic{
	"healthy": {"on": {20, 0.005, fastLatency}, "off": {20, 0.005, fastLatency}},
	"broken":  {"on": {20, 0.03, fastLatency}, "off": {20, 0.005, fastLatency}},
	"slow":    {"on": {20, 0.005, slowLatency}, "off": {20, 0.005, fastLatency}},
	"timed":   {"on": {20, 0.005, fastLatency}, "off": {20, 0.005, fastLatency}},
	// "silent" has no series at all: the application is not instrumented.
}

// startPrometheus starts a real Prometheus holding an hour of testTraffic up to now.
func startPrometheus(t *testing.T, now time.Time) *promtest.Server {
	t.Helper()
	b := promtest.NewBackfill(now, time.Hour, 15*time.Second)
	for flag, variants := range testTraffic {
		for variant, tr := range variants {
			ok := map[string]string{"flag": flag, "variant": variant, "code": "200"}
			failed := map[string]string{"flag": flag, "variant": variant, "code": "500"}
			b.Counter("edgeflag_http_requests_total", ok, tr.perSecond*(1-tr.errorShare))
			b.Counter("edgeflag_http_requests_total", failed, tr.perSecond*tr.errorShare)
			b.Histogram("edgeflag_http_request_duration_seconds", map[string]string{"flag": flag, "variant": variant}, latencyBounds, tr.latency)
		}
	}
	return promtest.Start(t, promtest.Options{Backfill: b})
}

// clock is a settable time.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

// webhook records the notifications posted to it.
type webhook struct {
	mu    sync.Mutex
	notes []map[string]any
	srv   *httptest.Server
}

func newWebhook(t *testing.T) *webhook {
	w := &webhook{}
	w.srv = httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		var body map[string]any
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			http.Error(rw, err.Error(), http.StatusBadRequest)
			return
		}
		w.mu.Lock()
		w.notes = append(w.notes, body)
		w.mu.Unlock()
	}))
	t.Cleanup(w.srv.Close)
	return w
}

func (w *webhook) texts() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []string
	for _, n := range w.notes {
		s, _ := n["text"].(string)
		out = append(out, s)
	}
	return out
}

// fixture is a store with the test flags published, and a controller on it.
type fixture struct {
	st    store.Store
	pub   *publish.Publisher
	ctl   *rollout.Controller
	clock *clock
	hook  *webhook
}

func newFixture(t *testing.T, promURL string, start time.Time) *fixture {
	t.Helper()
	ctx := context.Background()
	st, err := store.NewDir(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	p, err := compiler.Load(filepath.Join("testdata", "flags"))
	if err != nil {
		t.Fatal(err)
	}
	s, err := p.Build("production", compiler.Options{Revision: "test", BuildTime: start.Add(-time.Hour).Unix()})
	if err != nil {
		t.Fatal(err)
	}
	plan, err := p.RolloutPlan("production")
	if err != nil {
		t.Fatal(err)
	}
	planData, err := plan.Encode()
	if err != nil {
		t.Fatal(err)
	}
	pub := publish.New(st)
	if _, err := pub.PublishWithPlan(ctx, snapshot.Encode(s), planData, "ci"); err != nil {
		t.Fatal(err)
	}
	prov, err := prometheus.New(ctx, prometheus.Config{URL: promURL})
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{st: st, pub: pub, clock: &clock{t: start}, hook: newWebhook(t)}
	f.ctl = &rollout.Controller{
		Publisher: pub,
		Providers: map[string]rollout.Provider{rollout.ProviderPrometheus: prov},
		Notifier:  &rollout.Webhook{URL: f.hook.srv.URL},
		Now:       f.clock.Now,
	}
	return f
}

func (f *fixture) tick(t *testing.T, at time.Time) map[string]publish.RolloutDecision {
	t.Helper()
	f.clock.Set(at)
	res, err := f.ctl.Tick(context.Background(), "production")
	if err != nil {
		t.Fatalf("tick at %s: %v", at.Format(time.TimeOnly), err)
	}
	out := map[string]publish.RolloutDecision{}
	for _, d := range res.Decisions {
		out[d.Flag] = d.Decision
	}
	return out
}

// servedFlag returns the served snapshot's flag.
func (f *fixture) servedFlag(t *testing.T, flag string) snapshot.Flag {
	t.Helper()
	ptr, _, err := publish.ReadPointer(context.Background(), f.st, "production")
	if err != nil {
		t.Fatal(err)
	}
	obj, err := f.st.Get(context.Background(), layout.SnapshotKey(ptr.Snapshot), store.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	s, err := snapshot.Decode(obj.Data)
	if err != nil {
		t.Fatal(err)
	}
	i := s.FlagIndex(flag)
	if i == snapshot.NoIndex {
		t.Fatalf("the served snapshot has no flag %q", flag)
	}
	return s.Flags[i]
}

// served returns what the served snapshot serves for a flag: its rollout percentage (-1
// when not a percentage) and whether it is enabled and killed.
func (f *fixture) served(t *testing.T, flag string) (percentage float64, enabled, killed bool) {
	t.Helper()
	fl := f.servedFlag(t, flag)
	percentage = -1
	if fl.Rollout.Portion.Kind == snapshot.PortionPercentage {
		percentage = float64(fl.Rollout.Portion.Threshold) * 100 / snapshot.BucketCount
	}
	return percentage, fl.Enabled, fl.Killed
}

func (f *fixture) state(t *testing.T) *publish.RolloutState {
	t.Helper()
	s, _, err := publish.ReadRolloutState(context.Background(), f.st, "production")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func (f *fixture) audit(t *testing.T, flag string) []string {
	t.Helper()
	recs, err := f.pub.Audit(context.Background(), "production")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, r := range recs {
		if r.Action == publish.ActionRollout && r.Flag == flag {
			out = append(out, r.Rollout.Action)
		}
	}
	return out
}

// TestController runs the controller on real Prometheus data: each subtest has its own
// store, and the clock walks through the backfilled hour.
func TestController(t *testing.T) {
	now := time.Now().UTC().Truncate(time.Second)
	prom := startPrometheus(t, now)
	start := now.Add(-45 * time.Minute)
	at := func(minutes float64) time.Time { return start.Add(time.Duration(minutes * float64(time.Minute))) }

	t.Run("healthy walks every stage to 100%", func(t *testing.T) {
		f := newFixture(t, prom.URL, start)
		if d := f.tick(t, at(0))["healthy"]; d.Action != publish.DecisionStart || d.Serve.String() != "10%" {
			t.Fatalf("first tick: %+v, want start at 10%%", d)
		}
		if p, _, _ := f.served(t, "healthy"); p != 10 {
			t.Fatalf("serves %v%%, want 10%%", p)
		}
		d := f.tick(t, at(5))["healthy"]
		if d.Action != publish.DecisionHold || len(d.Checks) != 3 {
			t.Fatalf("5 minutes in: %+v, want a hold with three checks", d)
		}
		for _, c := range d.Checks {
			if c.Result != publish.CheckHolds || c.NewSamples < 5000 {
				t.Errorf("check %s: %s", c.Metric, rollout.CheckLine(c))
			}
		}
		d = f.tick(t, at(30.5))["healthy"]
		if d.Action != publish.DecisionProceed || d.Serve.String() != "50%" {
			t.Fatalf("after the stage: %+v, want proceed to 50%%", d)
		}
		if p, _, _ := f.served(t, "healthy"); p != 50 {
			t.Fatalf("serves %v%%, want 50%%", p)
		}
		d = f.tick(t, at(61))["healthy"]
		if d.Action != publish.DecisionProceed || d.Serve.String() != "100%" || d.Status != publish.RolloutCompleted {
			t.Fatalf("after the second stage: %+v, want proceed to 100%%, completed", d)
		}
		if p, _, _ := f.served(t, "healthy"); p != 100 {
			t.Fatalf("serves %v%%, want 100%%", p)
		}
		if got := strings.Join(f.audit(t, "healthy"), ","); got != "start,proceed,proceed" {
			t.Errorf("audit %s, want start,proceed,proceed", got)
		}
	})

	t.Run("an error regression rolls back and alerts", func(t *testing.T) {
		f := newFixture(t, prom.URL, start)
		f.tick(t, at(0))
		d := f.tick(t, at(2))["broken"]
		if d.Action != publish.DecisionRollback || d.Status != publish.RolloutRolledBack {
			t.Fatalf("%+v, want rollback", d)
		}
		if !strings.Contains(d.Reason, "error_rate <= baseline * 1.1 fails") {
			t.Errorf("reason %q does not name the failed criterion", d.Reason)
		}
		if _, enabled, _ := f.served(t, "broken"); enabled {
			t.Error("a rolled-back flag must serve its offVariant to everyone (disabled)")
		}
		texts := f.hook.texts()
		if len(texts) != 1 || !strings.Contains(texts[0], "broken ROLLED BACK in production") {
			t.Errorf("webhook got %q", texts)
		}
		// It stays rolled back: later ticks change nothing.
		if d := f.tick(t, at(40))["broken"]; d.Action != publish.DecisionHold || d.Status != publish.RolloutRolledBack {
			t.Errorf("later: %+v, want it to stay rolled back", d)
		}
	})

	t.Run("a latency regression pauses on the second failed check", func(t *testing.T) {
		f := newFixture(t, prom.URL, start)
		f.tick(t, at(0))
		d := f.tick(t, at(3))["slow"]
		if d.Action != publish.DecisionHold {
			t.Fatalf("first failed check: %+v, want hold", d)
		}
		d = f.tick(t, at(4))["slow"]
		if d.Action != publish.DecisionPause || d.Status != publish.RolloutPaused {
			t.Fatalf("second failed check: %+v, want pause", d)
		}
		if p, enabled, _ := f.served(t, "slow"); p != 10 || !enabled {
			t.Errorf("a paused rollout holds its stage: serves %v%% (enabled %v)", p, enabled)
		}
		var slow []string
		for _, text := range f.hook.texts() {
			if strings.Contains(text, " slow ") {
				slow = append(slow, text)
			}
		}
		if len(slow) != 1 || !strings.Contains(slow[0], "slow PAUSED") {
			t.Errorf("webhook got %q, want one PAUSE of slow", slow)
		}
	})

	t.Run("no data never proceeds", func(t *testing.T) {
		f := newFixture(t, prom.URL, start)
		f.tick(t, at(0))
		if d := f.tick(t, at(10))["silent"]; d.Action != publish.DecisionHold {
			t.Fatalf("during the stage: %+v, want hold", d)
		}
		d := f.tick(t, at(31))["silent"]
		if d.Action != publish.DecisionPause || !strings.Contains(d.Reason, "no data") {
			t.Fatalf("%+v, want a pause that says no data", d)
		}
	})

	t.Run("stages without criteria move on time", func(t *testing.T) {
		f := newFixture(t, prom.URL, start)
		f.tick(t, at(0))
		if d := f.tick(t, at(9))["timed"]; d.Action != publish.DecisionHold {
			t.Fatalf("%+v, want hold", d)
		}
		if d := f.tick(t, at(10))["timed"]; d.Action != publish.DecisionProceed || d.Serve.String() != "25%" {
			t.Fatalf("%+v, want proceed to 25%%", d)
		}
	})

	t.Run("an unreachable provider pauses and says why", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		down := "http://" + ln.Addr().String()
		ln.Close()
		f := newFixture(t, down, start)
		f.tick(t, at(0))
		d := f.tick(t, at(5))["healthy"]
		if d.Action != publish.DecisionPause || !strings.Contains(d.Reason, "metrics unavailable") || !strings.Contains(d.Reason, "error_rate") {
			t.Fatalf("%+v, want a pause naming the unavailable metric", d)
		}
	})

	t.Run("a kill during a rollout pauses it and wins", func(t *testing.T) {
		f := newFixture(t, prom.URL, start)
		f.tick(t, at(0))
		if _, err := f.pub.Kill(context.Background(), "production", "healthy", "incident", "oncall"); err != nil {
			t.Fatal(err)
		}
		d := f.tick(t, at(1))["healthy"]
		if d.Action != publish.DecisionPause || !strings.Contains(d.Reason, "killed") {
			t.Fatalf("%+v, want pause because killed", d)
		}
		if _, _, killed := f.served(t, "healthy"); !killed {
			t.Error("the kill must stay in force")
		}
		// Promoting a killed flag's rollout moves the stage but the kill still wins.
		if _, err := f.ctl.Act(context.Background(), "production", "healthy", publish.DecisionPromote, "testing", "ana"); err != nil {
			t.Fatal(err)
		}
		if p, _, killed := f.served(t, "healthy"); p != 50 || !killed {
			t.Errorf("after promote: %v%%, killed %v; want 50%% and still killed", p, killed)
		}
	})

	t.Run("people pause, resume, promote and roll back", func(t *testing.T) {
		f := newFixture(t, prom.URL, start)
		f.tick(t, at(0))
		ctx := context.Background()
		steps := []struct {
			action, status string
			percentage     float64 // what the edge serves after it
			enabled        bool
		}{
			{publish.DecisionPause, publish.RolloutPaused, 5, true},
			{publish.DecisionResume, publish.RolloutRunning, 5, true},
			{publish.DecisionPromote, publish.RolloutRunning, 25, true},
			{publish.DecisionRollback, publish.RolloutRolledBack, 25, false},
			// A rolled-back rollout starts again at its first stage.
			{publish.DecisionResume, publish.RolloutRunning, 5, true},
		}
		for i, s := range steps {
			f.clock.Set(at(1 + float64(i)))
			d, err := f.ctl.Act(ctx, "production", "timed", s.action, "step "+s.action, "ana")
			if err != nil {
				t.Fatalf("%s: %v", s.action, err)
			}
			if d.Decision.Status != s.status {
				t.Errorf("%s: status %s, want %s", s.action, d.Decision.Status, s.status)
			}
			if p, enabled, _ := f.served(t, "timed"); p != s.percentage || enabled != s.enabled {
				t.Errorf("%s: serves %v%% enabled %v, want %v%% enabled %v", s.action, p, enabled, s.percentage, s.enabled)
			}
		}
		if got := strings.Join(f.audit(t, "timed"), ","); got != "start,pause,resume,promote,rollback,resume" {
			t.Errorf("audit %s", got)
		}
		if _, err := f.ctl.Act(ctx, "production", "timed", publish.DecisionResume, "again", "ana"); err == nil {
			t.Error("resuming a running rollout must fail")
		}
		if _, err := f.ctl.Act(ctx, "production", "nope", publish.DecisionPause, "x", "ana"); err == nil {
			t.Error("a flag without stages must fail")
		}
		if _, err := f.ctl.Act(ctx, "production", "timed", publish.DecisionPause, " ", "ana"); err == nil {
			t.Error("an action without a reason must fail")
		}
	})

	t.Run("two ticks at once apply each decision once", func(t *testing.T) {
		f := newFixture(t, prom.URL, start)
		f.tick(t, at(0))
		f.clock.Set(at(10))
		other := *f.ctl
		var wg sync.WaitGroup
		errs := make(chan error, 2)
		for _, c := range []*rollout.Controller{f.ctl, &other} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := c.Tick(context.Background(), "production")
				errs <- err
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		if got := strings.Join(f.audit(t, "timed"), ","); got != "start,proceed" {
			t.Errorf("audit %s, want start,proceed (one proceed)", got)
		}
		if got := strings.Join(f.audit(t, "broken"), ","); got != "start,rollback" {
			t.Errorf("audit %s, want start,rollback", got)
		}
		if p, _, _ := f.served(t, "timed"); p != 25 {
			t.Errorf("serves %v%%, want 25%%", p)
		}
	})

	t.Run("a crash between the state and the republish is finished by the next tick", func(t *testing.T) {
		f := newFixture(t, prom.URL, start)
		f.tick(t, at(0))
		ctx := context.Background()
		// The step a crashed controller left: the state moved "timed" to 25%, nothing else.
		s, etag, err := publish.ReadRolloutState(ctx, f.st, "production")
		if err != nil {
			t.Fatal(err)
		}
		r := s.Flags["timed"]
		p := 25.0
		s.Version++
		r.Stage, r.Serve, r.StageStartedAt = 1, publish.RolloutServe{Percentage: &p}, at(10)
		r.History = append(r.History, publish.RolloutDecision{At: at(10), Action: publish.DecisionProceed, From: 0, To: 1,
			Serve: r.Serve, Status: publish.RolloutRunning, Reason: "crashed before the republish", By: "test", Version: s.Version})
		if err := publish.WriteRolloutState(ctx, f.st, s, etag); err != nil {
			t.Fatal(err)
		}
		if got, _, _ := f.served(t, "timed"); got != 5 {
			t.Fatalf("before the next tick the edge still serves %v%%, want 5%%", got)
		}
		f.tick(t, at(11))
		if got, _, _ := f.served(t, "timed"); got != 25 {
			t.Errorf("after the next tick: %v%%, want 25%%", got)
		}
		if got := strings.Join(f.audit(t, "timed"), ","); got != "start,proceed" {
			t.Errorf("audit %s, want the crashed step recorded once", got)
		}
		ptr, _, _ := publish.ReadPointer(ctx, f.st, "production")
		if ptr.RolloutStateVersion != f.state(t).Version {
			t.Errorf("pointer made from version %d, state at %d", ptr.RolloutStateVersion, f.state(t).Version)
		}
	})

	t.Run("changed stages in git adapt the rollout", func(t *testing.T) {
		f := newFixture(t, prom.URL, start)
		ctx := context.Background()
		f.tick(t, at(0))
		f.tick(t, at(10)) // timed: 5% -> 25%
		ptr, _, err := publish.ReadPointer(ctx, f.st, "production")
		if err != nil {
			t.Fatal(err)
		}
		data, err := publish.ReadPlan(ctx, f.st, ptr)
		if err != nil {
			t.Fatal(err)
		}
		plan, err := rollout.DecodePlan(data)
		if err != nil {
			t.Fatal(err)
		}
		// The new plan inserts 10% and 50% stages: the rollout continues at the highest new
		// stage that serves no more than 25%, with a fresh clock.
		for i := range plan.Flags {
			fp := &plan.Flags[i]
			if fp.Flag != "timed" {
				continue
			}
			pct := func(p float64) *float64 { return &p }
			d := rollout.Duration(10 * time.Minute)
			fp.Stages = []rollout.Stage{{Percentage: pct(5), Duration: d}, {Percentage: pct(10), Duration: d},
				{Percentage: pct(25), Duration: d}, {Percentage: pct(50), Duration: d}, {Percentage: pct(100), Infinite: true}}
			fp.Fingerprint = rollout.Fingerprint(fp.Stages)
		}
		newPlan, err := plan.Encode()
		if err != nil {
			t.Fatal(err)
		}
		obj, err := f.st.Get(ctx, layout.BaseKey("production", ptr.Base), store.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.pub.PublishWithPlan(ctx, obj.Data, newPlan, "ci"); err != nil {
			t.Fatal(err)
		}
		d := f.tick(t, at(12))["timed"]
		if d.Action != publish.DecisionRestart || d.To != 2 || d.Serve.String() != "25%" {
			t.Fatalf("%+v, want a restart at stage 3 (25%%)", d)
		}
		if d := f.tick(t, at(21))["timed"]; d.Action != publish.DecisionHold {
			t.Errorf("9 minutes after the restart: %+v, want hold (the clock restarted)", d)
		}
		if d := f.tick(t, at(22.5))["timed"]; d.Action != publish.DecisionProceed || d.Serve.String() != "50%" {
			t.Errorf("after the restarted stage: %+v, want proceed to 50%%", d)
		}
	})

	t.Run("ring stages walk the ladder", func(t *testing.T) {
		f := newFixture(t, prom.URL, start)
		ring := func() string {
			fl := f.servedFlag(t, "ringed")
			return fl.Rings[fl.ReleaseRing].Name
		}
		if d := f.tick(t, at(0))["ringed"]; d.Serve.String() != "ring canary" || ring() != "canary" {
			t.Fatalf("start: %+v, serving ring %s", d, ring())
		}
		if d := f.tick(t, at(10))["ringed"]; d.Action != publish.DecisionProceed || ring() != "early-majority" {
			t.Fatalf("after the first stage: %+v, serving ring %s", d, ring())
		}
		if d := f.tick(t, at(20))["ringed"]; d.Status != publish.RolloutCompleted || ring() != "everyone" {
			t.Fatalf("after the second stage: %+v, serving ring %s", d, ring())
		}
	})
}
