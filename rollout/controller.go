package rollout

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/edgeflag/edgeflag/publish"
	"github.com/edgeflag/edgeflag/store"
)

// DefaultActor names the controller in audit records and notifications.
const DefaultActor = "edgeflag-rollout-controller"

// Controller moves staged rollouts forward or back on their metrics. One Controller is
// run by the scheduled Lambda, by `edgeflag dev` and by `edgeflag rollout tick`; two
// running at once are safe: every change is a compare-and-swap of the rollout state, and
// the loser decides again on what the winner wrote.
type Controller struct {
	// Publisher reads and writes the store (pointer, plan, rollout state, audit).
	Publisher *publish.Publisher
	// Providers answer metric queries, by provider name (ProviderPrometheus, ...).
	Providers map[string]Provider
	// Notifier is told about every PAUSE and ROLLBACK (nil: nobody).
	Notifier Notifier
	// Now is the clock (nil: time.Now).
	Now func() time.Time
	// Concurrency bounds the metric queries in flight (0: DefaultConcurrency).
	Concurrency int
	// Actor names the controller in records (empty: DefaultActor).
	Actor string
	// Logf, when set, receives one line per problem that does not stop a tick (a failed
	// notification).
	Logf func(format string, args ...any)
}

// FlagDecision is one flag's decision in a tick.
type FlagDecision struct {
	Environment string                  `json:"environment"`
	Flag        string                  `json:"flag"`
	Decision    publish.RolloutDecision `json:"decision"`
}

// TickResult is what a tick decided for one environment.
type TickResult struct {
	Environment string `json:"environment"`
	// Decisions holds one entry per flag with stages, HOLDs included, sorted by flag.
	Decisions []FlagDecision `json:"decisions"`
	// Version is the rollout state version after the tick.
	Version int64 `json:"version"`
	// Republished is set when the served snapshot was made again with the new state.
	Republished bool `json:"republished"`
	// Snapshot is the served snapshot's hash after the tick.
	Snapshot string `json:"snapshot,omitempty"`
}

// Errors of rollout changes.
var (
	// ErrNoRollout: the flag has no stages in that environment's plan.
	ErrNoRollout = errors.New("rollout: no staged rollout")
	// ErrInvalidTransition: the action does not apply to the rollout's status (resume a
	// running rollout, promote a completed one).
	ErrInvalidTransition = errors.New("rollout: action does not apply")
)

const maxAttempts = 8

func (c *Controller) now() time.Time {
	if c.Now != nil {
		return c.Now().UTC()
	}
	return time.Now().UTC()
}

func (c *Controller) actor() string {
	if c.Actor != "" {
		return c.Actor
	}
	return DefaultActor
}

func (c *Controller) logf(format string, args ...any) {
	if c.Logf != nil {
		c.Logf(format, args...)
	}
}

// view is what a tick or an action reads first.
type view struct {
	ptr   *publish.Pointer
	plan  *Plan
	state *publish.RolloutState
	etag  string
}

func (c *Controller) read(ctx context.Context, env string) (*view, error) {
	st := c.Publisher.Store
	ptr, _, err := publish.ReadPointer(ctx, st, env)
	if err != nil {
		return nil, err
	}
	v := &view{ptr: ptr, plan: &Plan{Environment: env}}
	data, err := publish.ReadPlan(ctx, st, ptr)
	if err != nil {
		return nil, err
	}
	if data != nil {
		if v.plan, err = ParsePlan(data); err != nil {
			return nil, fmt.Errorf("%w (plan %s of %q)", err, ptr.Plan, env)
		}
	}
	if v.state, v.etag, err = publish.ReadRolloutState(ctx, st, env); err != nil {
		return nil, err
	}
	return v, nil
}

// Tick checks every staged rollout of an environment once: it starts rollouts new in
// the plan, adapts those whose stages changed, queries the criteria of the running ones
// over their stage so far, decides, writes the state, republishes when what is served
// changed, and records and notifies each decision that changed something. An
// environment nothing was published to has nothing to check.
func (c *Controller) Tick(ctx context.Context, env string) (*TickResult, error) {
	obs := newObserver(c.Providers, c.Concurrency)
	cache := &obsCache{m: map[string]*Observation{}}
	for attempt := 0; ; attempt++ {
		v, err := c.read(ctx, env)
		if errors.Is(err, publish.ErrUnknownEnvironment) {
			return &TickResult{Environment: env, Decisions: []FlagDecision{}}, nil
		}
		if err != nil {
			return nil, err
		}
		if err := c.finish(ctx, env, v.ptr, v.state); err != nil {
			return nil, err
		}
		now := c.now()
		next := cloneState(v.state)
		decisions := c.reconcile(v.plan, v.ptr, next, now)
		c.check(ctx, env, v.plan, next, now, obs, cache, decisions)
		record(next, decisions)
		if len(decisions) == 0 && len(next.Flags) == len(v.state.Flags) && v.etag != "" {
			return &TickResult{Environment: env, Decisions: []FlagDecision{}, Version: next.Version, Snapshot: v.ptr.Snapshot}, nil
		}
		err = publish.WriteRolloutState(ctx, c.Publisher.Store, next, v.etag)
		if errors.Is(err, store.ErrPreconditionFailed) {
			if attempt+1 >= maxAttempts {
				return nil, fmt.Errorf("rollout: tick of %q: the rollout state kept changing under it", env)
			}
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("rollout: write the rollout state of %q: %w", env, err)
		}
		res := &TickResult{Environment: env, Decisions: decisions, Version: next.Version, Snapshot: v.ptr.Snapshot}
		if next.Version > v.ptr.RolloutStateVersion {
			pres, err := c.serve(ctx, env, v.ptr, next)
			if err != nil {
				return res, err
			}
			res.Republished, res.Snapshot = pres.Changed, pres.Pointer.Snapshot
		}
		return res, nil
	}
}

// record adds decisions to next: the ones that change something get the next state
// version and join their flag's history; every one becomes its flag's last check.
func record(next *publish.RolloutState, decisions []FlagDecision) {
	changed := false
	for _, d := range decisions {
		changed = changed || d.Decision.Action != publish.DecisionHold
	}
	if changed {
		next.Version++
	}
	for i := range decisions {
		d := &decisions[i]
		r := next.Flags[d.Flag]
		if r == nil {
			continue
		}
		if d.Decision.Action != publish.DecisionHold {
			d.Decision.Version = next.Version
			r.History = appendHistory(r.History, d.Decision)
		}
		last := d.Decision
		r.LastCheck = &last
	}
}

// finish completes a step that a crash interrupted: a state version newer than the
// pointer's has decisions whose audit records and notifications may be missing and a
// snapshot not yet served. Audit records have keys derived from the version, so writing
// them again writes nothing; notifications may repeat (at least once).
func (c *Controller) finish(ctx context.Context, env string, ptr *publish.Pointer, state *publish.RolloutState) error {
	if state.Version <= ptr.RolloutStateVersion {
		return nil
	}
	_, err := c.serve(ctx, env, ptr, state)
	return err
}

// serve records and notifies the decisions of state newer than the pointer ptr, then
// republishes with state. Records come first: a crash after them leaves the pointer
// behind the state, which the next tick sees and finishes.
func (c *Controller) serve(ctx context.Context, env string, ptr *publish.Pointer, state *publish.RolloutState) (*publish.Result, error) {
	keys := make([]string, 0, len(state.Flags))
	for k := range state.Flags {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, flag := range keys {
		r := state.Flags[flag]
		for i := range r.History {
			d := &r.History[i]
			if d.Version <= ptr.RolloutStateVersion {
				continue
			}
			if err := c.Publisher.WriteRolloutAudit(ctx, env, flag, d.Version, d, ptr); err != nil {
				return nil, err
			}
			if c.Notifier != nil && (d.Action == publish.DecisionPause || d.Action == publish.DecisionRollback) {
				if err := c.Notifier.Notify(ctx, Notification{Environment: env, Flag: flag, Decision: *d}); err != nil {
					c.logf("rollout: notify %s %s of %s: %v", env, flag, d.Action, err)
				}
			}
		}
	}
	res, err := c.Publisher.ServeRollouts(ctx, env, state.Version)
	if err != nil {
		return nil, fmt.Errorf("rollout: republish %q with rollout state version %d: %w", env, state.Version, err)
	}
	return res, nil
}

// reconcile brings the state in line with the plan: it starts new rollouts, adapts
// changed ones, drops those whose stages left git, and pauses running rollouts of killed
// flags. It returns one decision per flag of the plan (HOLD where nothing changed yet).
func (c *Controller) reconcile(plan *Plan, ptr *publish.Pointer, next *publish.RolloutState, now time.Time) []FlagDecision {
	inPlan := map[string]bool{}
	var out []FlagDecision
	for i := range plan.Flags {
		fp := &plan.Flags[i]
		inPlan[fp.Flag] = true
		r := next.Flags[fp.Flag]
		d := publish.RolloutDecision{At: now, Action: publish.DecisionHold, By: c.actor()}
		switch {
		case r == nil:
			r = &publish.FlagRollout{Fingerprint: fp.Fingerprint, Status: publish.RolloutRunning, StageStartedAt: now, ChangedAt: now, By: c.actor()}
			next.Flags[fp.Flag] = r
			c.enter(fp, r, 0, now)
			d.Action, d.Reason = publish.DecisionStart, "the plan has stages: the rollout starts at its first stage"
			if r.Status == publish.RolloutCompleted {
				d.Reason += " (its only stage)"
			}
		case r.Fingerprint != fp.Fingerprint:
			from := r.Stage
			to := adaptStage(fp, r)
			r.Fingerprint = fp.Fingerprint
			if r.Status == publish.RolloutCompleted {
				r.Status = publish.RolloutRunning
			}
			c.enter(fp, r, to, now)
			d.Action, d.From = publish.DecisionRestart, from
			d.Reason = "the stages changed in git: the rollout continues at stage " + strconv.Itoa(to+1) + " (" + r.Serve.String() + "), the highest that does not serve more than before, and its clock restarts"
		}
		if r.Status == publish.RolloutRunning && slices.Contains(ptr.Killed, fp.Flag) {
			r.Status, r.Reason, r.By, r.ChangedAt = publish.RolloutPaused, "the flag is killed", c.actor(), now
			d.Action, d.Reason = publish.DecisionPause, "the flag is killed (kill switch): the rollout is paused until a person resumes it"
		}
		if d.Action != publish.DecisionStart && d.Action != publish.DecisionRestart {
			d.From = r.Stage
		}
		d.To, d.Serve, d.Status = r.Stage, r.Serve, r.Status
		if d.Action != publish.DecisionHold {
			r.Reason, r.By, r.ChangedAt = d.Reason, d.By, now
		}
		out = append(out, FlagDecision{Environment: plan.Environment, Flag: fp.Flag, Decision: d})
	}
	for k := range next.Flags {
		if !inPlan[k] {
			delete(next.Flags, k)
		}
	}
	return out
}

// enter moves r to stage i of fp, now.
func (c *Controller) enter(fp *FlagPlan, r *publish.FlagRollout, i int, now time.Time) {
	r.Stage = i
	r.Serve = serveOf(fp.Stages[i])
	r.StageStartedAt = now
	r.Failures = nil
	if last := len(fp.Stages) - 1; i == last && fp.Stages[i].Infinite && len(fp.Stages[i].Criteria) == 0 && r.Status == publish.RolloutRunning {
		r.Status = publish.RolloutCompleted
	}
}

func serveOf(st Stage) publish.RolloutServe {
	if st.Percentage != nil {
		p := *st.Percentage
		return publish.RolloutServe{Percentage: &p}
	}
	return publish.RolloutServe{Ring: st.Ring}
}

// adaptStage is where a rollout continues when its stages change: the highest new stage
// that serves no more than the rollout served (by percentage, or by ring order), else the
// first stage.
func adaptStage(fp *FlagPlan, r *publish.FlagRollout) int {
	best := 0
	for i, st := range fp.Stages {
		switch {
		case st.Percentage != nil && r.Serve.Percentage != nil:
			if *st.Percentage <= *r.Serve.Percentage {
				best = i
			}
		case st.Ring != "" && r.Serve.Ring != "":
			if st.Ring == r.Serve.Ring {
				best = i
			}
		}
	}
	return best
}

// check queries and decides every running rollout of the plan.
func (c *Controller) check(ctx context.Context, env string, plan *Plan, next *publish.RolloutState, now time.Time, obs *observer, cache *obsCache, decisions []FlagDecision) {
	var wg sync.WaitGroup
	for i := range decisions {
		d := &decisions[i]
		r := next.Flags[d.Flag]
		if r == nil || r.Status != publish.RolloutRunning || d.Decision.Action != publish.DecisionHold {
			continue
		}
		fp := plan.flag(d.Flag)
		wg.Add(1)
		go func() {
			defer wg.Done()
			stage := fp.Stages[r.Stage]
			elapsed := now.Sub(r.StageStartedAt)
			checks := c.judgeStage(ctx, env, plan, fp, r, now, obs, cache)
			v := Decide(stage, checks, elapsed, r.Stage == len(fp.Stages)-1)
			d.Decision.Checks, d.Decision.Reason = v.Checks, v.Reason
			if !stage.Infinite {
				d.Decision.NextCheckAt = r.StageStartedAt.Add(time.Duration(stage.Duration))
			}
			c.apply(fp, r, v.Action, v.Reason, c.actor(), now, &d.Decision)
		}()
	}
	wg.Wait()
}

// apply changes r by action and fills d with the result.
func (c *Controller) apply(fp *FlagPlan, r *publish.FlagRollout, action, reason, who string, now time.Time, d *publish.RolloutDecision) {
	d.Action, d.Reason, d.By, d.At, d.From = action, reason, who, now, r.Stage
	switch action {
	case publish.DecisionProceed, publish.DecisionPromote:
		if r.Stage+1 < len(fp.Stages) {
			r.Status = publish.RolloutRunning
			c.enter(fp, r, r.Stage+1, now)
		} else {
			r.Status = publish.RolloutCompleted
		}
	case publish.DecisionComplete:
		r.Status = publish.RolloutCompleted
	case publish.DecisionPause:
		r.Status = publish.RolloutPaused
	case publish.DecisionRollback:
		r.Status = publish.RolloutRolledBack
	case publish.DecisionResume:
		to := r.Stage
		if r.Status == publish.RolloutRolledBack {
			to = 0
		}
		r.Status = publish.RolloutRunning
		c.enter(fp, r, to, now)
	}
	d.To, d.Serve, d.Status = r.Stage, r.Serve, r.Status
	if action != publish.DecisionHold {
		r.Reason, r.By, r.ChangedAt = reason, who, now
	}
}

func (p *Plan) flag(key string) *FlagPlan {
	for i := range p.Flags {
		if p.Flags[i].Flag == key {
			return &p.Flags[i]
		}
	}
	return nil
}

func appendHistory(h []publish.RolloutDecision, d publish.RolloutDecision) []publish.RolloutDecision {
	h = append(h, d)
	if len(h) > publish.RolloutHistoryLength {
		h = h[len(h)-publish.RolloutHistoryLength:]
	}
	return h
}

func cloneState(s *publish.RolloutState) *publish.RolloutState {
	data, err := json.Marshal(s)
	if err != nil {
		panic(err) // only plain data
	}
	var out publish.RolloutState
	if err := json.Unmarshal(data, &out); err != nil {
		panic(err)
	}
	if out.Flags == nil {
		out.Flags = map[string]*publish.FlagRollout{}
	}
	return &out
}

// obsCache keeps observations across the attempts of one tick, so a lost race does not
// query the providers again for the same window.
type obsCache struct {
	mu sync.Mutex
	m  map[string]*Observation
}

func (oc *obsCache) get(key string, run func() *Observation) *Observation {
	oc.mu.Lock()
	o, ok := oc.m[key]
	oc.mu.Unlock()
	if ok {
		return o
	}
	o = run()
	oc.mu.Lock()
	oc.m[key] = o
	oc.mu.Unlock()
	return o
}
