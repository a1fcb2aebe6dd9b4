package dashboard

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/edgeflag/edgeflag/compiler"
	"github.com/edgeflag/edgeflag/internal/checklist"
	"github.com/edgeflag/edgeflag/internal/lint"
	"github.com/edgeflag/edgeflag/publish"
	"github.com/edgeflag/edgeflag/rollout"
	"github.com/edgeflag/edgeflag/snapshot"
	"github.com/edgeflag/edgeflag/store"
	"github.com/edgeflag/edgeflag/store/layout"
)

// snapCache keeps decoded snapshots by hash (snapshots never change) and the project
// facts of the last project seen.
type snapCache struct {
	st   store.Store
	mu   sync.Mutex
	byID map[string]*snapshot.Snapshot

	proj     *compiler.Project
	projInfo map[string]*projectFlag
}

func newSnapCache(st store.Store) *snapCache {
	return &snapCache{st: st, byID: map[string]*snapshot.Snapshot{}}
}

// maxCachedSnapshots bounds the decoded snapshots kept.
const maxCachedSnapshots = 16

func (c *snapCache) get(ctx context.Context, hash string) (*snapshot.Snapshot, error) {
	c.mu.Lock()
	s := c.byID[hash]
	c.mu.Unlock()
	if s != nil {
		return s, nil
	}
	obj, err := c.st.Get(ctx, layout.SnapshotKey(hash), store.GetOptions{})
	if err != nil {
		return nil, fmt.Errorf("read snapshot %s: %w", hash, err)
	}
	if s, err = snapshot.Decode(obj.Data); err != nil {
		return nil, fmt.Errorf("snapshot %s: %w", hash, err)
	}
	c.mu.Lock()
	if len(c.byID) >= maxCachedSnapshots {
		clear(c.byID)
	}
	c.byID[hash] = s
	c.mu.Unlock()
	return s, nil
}

// projectFlag is what the flag directory says about a flag.
type projectFlag struct {
	File        string
	Line        int
	Owner       string
	Description string
	Lifecycle   string
	Expires     time.Time
	Findings    []lint.Finding  // expired, stale
	Checklist   *checklist.Flag // nil when the flag is not rolling out
}

// project returns the flag directory's facts by flag key (nil without Config.Project).
// They are computed once per build of the project.
func (h *Handler) project() map[string]*projectFlag {
	if h.cfg.Project == nil {
		return nil
	}
	p := h.cfg.Project()
	if p == nil {
		return nil
	}
	c := h.cache
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.proj == p {
		return c.projInfo
	}
	now := h.cfg.Now()
	info := make(map[string]*projectFlag, len(p.Flags))
	for _, f := range p.Flags {
		info[f.Key] = &projectFlag{File: f.File, Line: f.Line, Owner: f.Owner, Description: f.Description,
			Lifecycle: string(f.Lifecycle), Expires: f.Expires}
	}
	snaps, err := p.BuildAll(compiler.Options{})
	if err != nil {
		h.log.Warn("dashboard: building the project for the checklist", "error", err.Error())
	} else {
		for _, fd := range lint.Run(p, snaps, lint.Options{Now: now}) {
			if pf := info[fd.Flag]; pf != nil {
				pf.Findings = append(pf.Findings, fd)
			}
		}
		for _, cf := range checklist.Run(p, snaps, now) {
			if pf := info[cf.Key]; pf != nil {
				cf := cf
				pf.Checklist = &cf
			}
		}
	}
	c.proj, c.projInfo = p, info
	return info
}

// envView is one environment as served: the store's status, its rollouts and plan.
type envView struct {
	Status   *publish.Status
	Snapshot *snapshot.Snapshot
	Rollouts map[string]*rollout.FlagStatus
	Plan     *rollout.Plan
}

// readEnv reads what an environment serves and where its rollouts stand.
func (h *Handler) readEnv(ctx context.Context, env string) (*envView, error) {
	st, err := h.pub.Status(ctx, env, h.cfg.Now())
	if err != nil {
		return nil, err
	}
	s, err := h.cache.get(ctx, st.Snapshot)
	if err != nil {
		return nil, err
	}
	v := &envView{Status: st, Snapshot: s, Rollouts: map[string]*rollout.FlagStatus{}}
	list, err := h.controller().Status(ctx, env, "")
	if err != nil {
		return nil, err
	}
	for i := range list {
		v.Rollouts[list[i].Flag] = &list[i]
	}
	ptr, _, err := publish.ReadPointer(ctx, h.cfg.Store, env)
	if err != nil {
		return nil, err
	}
	data, err := publish.ReadPlan(ctx, h.cfg.Store, ptr)
	if err != nil {
		return nil, err
	}
	if data != nil {
		if v.Plan, err = rollout.ParsePlan(data); err != nil {
			return nil, err
		}
	}
	return v, nil
}

// flagRow is one flag in the list.
type flagRow struct {
	Key            string
	Enabled        bool
	Killed         bool
	KilledInSource bool
	KillPending    bool // killed in the kill state, not yet in the served snapshot
	Kill           *publish.Kill
	Serving        string // what is served now
	Schedule       string // a schedule's position, "" without one
	Rollout        *rollout.FlagStatus
	Last           string // the rollout's last decision
	Owner          string
	Expires        string
	Expired        bool
	Stale          bool
	Findings       []string
	Checklist      string // "ok", "2 failed", "" when not rolling out or unknown
	ChecklistOK    bool
	Location       string // file:line
}

// Attention reports whether the flag needs a look: killed, paused, rolled back, expired,
// stale or failing its checklist.
func (r *flagRow) Attention() bool {
	return r.Killed || r.KillPending || r.Expired || r.Stale || (r.Checklist != "" && !r.ChecklistOK) ||
		(r.Rollout != nil && (r.Rollout.Status == publish.RolloutPaused || r.Rollout.Status == publish.RolloutRolledBack))
}

// RolloutText describes the rollout's position: "stage 2/4 running".
func (r *flagRow) RolloutText() string {
	if r.Rollout == nil {
		return ""
	}
	status := r.Rollout.Status
	if !r.Rollout.Started {
		status = "not started"
	}
	return fmt.Sprintf("stage %d/%d %s", r.Rollout.Stage, r.Rollout.Stages, status)
}

func (h *Handler) rows(v *envView, proj map[string]*projectFlag) []flagRow {
	now := h.cfg.Now()
	rows := make([]flagRow, 0, len(v.Status.Flags))
	for i := range v.Status.Flags {
		fs := &v.Status.Flags[i]
		row := flagRow{Key: fs.Key, Enabled: fs.Enabled, Killed: fs.Killed, KilledInSource: fs.KilledInSource, Kill: fs.Kill,
			KillPending: fs.Kill != nil && !fs.Killed}
		if j := v.Snapshot.FlagIndex(fs.Key); j >= 0 {
			f := &v.Snapshot.Flags[j]
			row.Serving = serving(fs, f)
			row.Schedule = schedule(f, now)
		}
		if ro := v.Rollouts[fs.Key]; ro != nil {
			row.Rollout = ro
			if ro.LastCheck != nil {
				row.Last = decisionText(ro.LastCheck)
			}
		}
		if pf := proj[fs.Key]; pf != nil {
			row.Owner = pf.Owner
			row.Location = pf.File + ":" + strconv.Itoa(pf.Line)
			if !pf.Expires.IsZero() {
				row.Expires = pf.Expires.Format(time.DateOnly)
			}
			for _, fd := range pf.Findings {
				row.Expired = row.Expired || fd.Kind == lint.Expired
				row.Stale = row.Stale || fd.Kind == lint.Stale
				row.Findings = append(row.Findings, fd.Kind+": "+fd.Message)
			}
			if pf.Checklist != nil {
				failed := 0
				for _, r := range pf.Checklist.Results {
					if !r.OK {
						failed++
					}
				}
				row.ChecklistOK = failed == 0
				row.Checklist = "ok"
				if failed > 0 {
					row.Checklist = fmt.Sprintf("%d of %d failed", failed, len(pf.Checklist.Results))
				}
			}
		}
		rows = append(rows, row)
	}
	return rows
}

// serving describes what a flag serves now.
func serving(fs *publish.FlagStatus, f *snapshot.Flag) string {
	switch {
	case fs.Killed:
		return "killed: " + variantName(f, f.OffVariant) + " to everyone"
	case !fs.Enabled:
		return "disabled: " + variantName(f, f.OffVariant) + " to everyone"
	}
	var parts []string
	if fs.Ring != "" {
		s := "ring " + fs.Ring + " → " + fs.RingVariant
		if fs.RingPercentage != nil {
			s += " (" + pct(*fs.RingPercentage) + ")"
		}
		parts = append(parts, s)
	}
	switch {
	case f.Rollout.Kind != snapshot.ServeVariant:
		var split []string
		prev := uint32(0)
		for _, w := range f.Rollout.Split {
			split = append(split, variantName(f, w.Variant)+" "+pct(snapshot.PercentageOf(w.Upper-prev)))
			prev = w.Upper
		}
		parts = append(parts, "split "+strings.Join(split, " / "))
	case fs.Percentage != nil && *fs.Percentage < 100:
		parts = append(parts, fs.Variant+" to "+pct(*fs.Percentage)+", else "+variantName(f, f.DefaultVariant))
	case fs.Variant != "":
		parts = append(parts, fs.Variant)
	}
	if len(f.Rules) > 0 {
		parts = append(parts, fmt.Sprintf("%d rule%s", len(f.Rules), plural(len(f.Rules))))
	}
	return strings.Join(parts, "; ")
}

// schedule describes where a schedule of the rollout or the release ring stands.
func schedule(f *snapshot.Flag, now time.Time) string {
	at := now.UnixMilli()
	pos := func(where string, p *snapshot.Portion) string {
		if p.Kind != snapshot.PortionSchedule || len(p.Steps) == 0 {
			return ""
		}
		done := 0
		for _, st := range p.Steps {
			if st.At <= at {
				done++
			}
		}
		s := fmt.Sprintf("%s: step %d of %d", where, done, len(p.Steps))
		if done < len(p.Steps) {
			next := p.Steps[done]
			s += ", next " + pct(snapshot.PercentageOf(next.Threshold)) + " at " + time.UnixMilli(next.At).UTC().Format("2006-01-02 15:04Z")
		}
		return s
	}
	var out []string
	if f.ReleaseRing != snapshot.NoIndex && f.ReleaseRing < len(f.Rings) {
		if s := pos("ring "+f.Rings[f.ReleaseRing].Name, &f.Rings[f.ReleaseRing].Portion); s != "" {
			out = append(out, s)
		}
	}
	if f.Rollout.Kind == snapshot.ServeVariant {
		if s := pos("rollout", &f.Rollout.Portion); s != "" {
			out = append(out, s)
		}
	}
	return strings.Join(out, "; ")
}

func variantName(f *snapshot.Flag, i int) string {
	if i >= 0 && i < len(f.Variants) {
		return f.Variants[i].Name
	}
	return "?"
}

func pct(p float64) string { return strconv.FormatFloat(p, 'f', -1, 64) + "%" }

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// decisionText is a decision in a few words: "hold: criteria hold so far".
func decisionText(d *publish.RolloutDecision) string {
	s := d.Action
	if d.Reason != "" {
		s += ": " + d.Reason
	}
	return s
}

// filterRows keeps the rows matching a search (substring of key, owner or serving) and a
// filter (all, attention, killed, rollouts).
func filterRows(rows []flagRow, q, filter string) []flagRow {
	q = strings.ToLower(strings.TrimSpace(q))
	out := rows[:0:0]
	for _, r := range rows {
		if q != "" && !strings.Contains(r.Key, q) && !strings.Contains(strings.ToLower(r.Owner), q) &&
			!strings.Contains(strings.ToLower(r.Serving), q) {
			continue
		}
		switch filter {
		case "attention":
			if !r.Attention() {
				continue
			}
		case "killed":
			if !r.Killed && !r.KillPending {
				continue
			}
		case "rollouts":
			if r.Rollout == nil {
				continue
			}
		}
		out = append(out, r)
	}
	return out
}

// Filters are the list page's filters, in order.
var Filters = []struct{ Value, Label string }{
	{"all", "All flags"},
	{"attention", "Needs attention"},
	{"killed", "Killed"},
	{"rollouts", "Staged rollouts"},
}

// auditLookback is how many of an environment's newest audit records the pages read.
const auditLookback = 300

// recentAudit returns an environment's newest audit records (of one flag when flag is
// not ""), newest first, at most limit.
func (h *Handler) recentAudit(ctx context.Context, env, flag string, limit int) ([]publish.AuditRecord, error) {
	keys, err := h.cfg.Store.List(ctx, layout.AuditPrefix(env))
	if err != nil {
		return nil, err
	}
	slices.Sort(keys)
	if len(keys) > auditLookback {
		keys = keys[len(keys)-auditLookback:]
	}
	var out []publish.AuditRecord
	for i := len(keys) - 1; i >= 0 && len(out) < limit; i-- {
		obj, err := h.cfg.Store.Get(ctx, keys[i], store.GetOptions{})
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		var rec publish.AuditRecord
		if err := json.Unmarshal(obj.Data, &rec); err != nil {
			return nil, fmt.Errorf("audit record %s: %w", keys[i], err)
		}
		if flag != "" && rec.Flag != flag {
			continue
		}
		out = append(out, rec)
	}
	return out, nil
}

// edgeView is what an edge serves against what the store publishes.
type edgeView struct {
	Snapshot string
	Stale    bool
	InSync   bool
}

func (h *Handler) edge(env, published string) *edgeView {
	if h.cfg.Edge == nil {
		return nil
	}
	e, ok := h.cfg.Edge(env)
	if !ok {
		return nil
	}
	return &edgeView{Snapshot: e.Snapshot, Stale: e.Stale, InSync: e.Snapshot == published}
}
