// Package checklist runs the guide's progressive-delivery checklist over every flag that
// is rolling out: an off variant for the kill switch, an owner, a cleanup (expiry) date,
// metrics and success criteria, and a rollout plan. The project's `checks:` section sets
// each item's severity (error, warning or off); CI fails on errors.
package checklist

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/edgeflag/edgeflag/compiler"
	"github.com/edgeflag/edgeflag/internal/serving"
	"github.com/edgeflag/edgeflag/snapshot"
)

// Items, in the order they are reported; the names are the keys of the project's checks.
var Items = []string{
	compiler.CheckOffVariant,
	compiler.CheckOwner,
	compiler.CheckExpiry,
	compiler.CheckSuccessCriteria,
	compiler.CheckRolloutPlan,
}

// Result is one checklist item for one flag.
type Result struct {
	Check    string            `json:"check"`
	Severity compiler.Severity `json:"severity"` // as configured; a passed item keeps it
	OK       bool              `json:"ok"`
	Detail   string            `json:"detail"` // what was found, or what is missing and how to add it
	Line     int               `json:"line,omitempty"`
	Column   int               `json:"column,omitempty"`
}

// Flag is the checklist of one flag that is rolling out.
type Flag struct {
	Key     string   `json:"flag"`
	File    string   `json:"file"`
	Line    int      `json:"line"`
	Column  int      `json:"column"`
	Rollout string   `json:"rollout"` // how it is rolling out: "ring canary", "rollout 25%"...
	Results []Result `json:"results"`
}

// Failed counts the failed items of the flag by severity.
func (f *Flag) Failed(sev compiler.Severity) int {
	n := 0
	for _, r := range f.Results {
		if !r.OK && r.Severity == sev {
			n++
		}
	}
	return n
}

// Run checks every flag that is rolling out at time now in any environment: a temporary
// flag (or one without a lifecycle) that serves more than one variant, or whose schedule
// has steps still to come. It is described as it is in the last environment where it
// rolls out (production, in the usual order). Items whose severity is off are left out. snapshots holds the
// project compiled for each environment.
func Run(p *compiler.Project, snapshots map[string]*snapshot.Snapshot, now time.Time) []Flag {
	var out []Flag
	for _, f := range p.Flags {
		how, rolling := rollingOut(f, p.Environments, snapshots, now)
		if !rolling {
			continue
		}
		cf := Flag{Key: f.Key, File: f.File, Line: f.Line, Column: f.Column, Rollout: how}
		for _, item := range Items {
			sev := p.Severity(item)
			if sev == compiler.SeverityOff {
				continue
			}
			r := check(item, f, p, now)
			r.Check, r.Severity = item, sev
			if r.Line == 0 {
				if pos, ok := f.Fields[fieldOf(item)]; ok {
					r.Line, r.Column = pos.Line, pos.Column
				}
			}
			cf.Results = append(cf.Results, r)
		}
		out = append(out, cf)
	}
	return out
}

func fieldOf(item string) string {
	switch item {
	case compiler.CheckExpiry:
		return "expires"
	case compiler.CheckSuccessCriteria:
		return "stages"
	case compiler.CheckRolloutPlan:
		return "release"
	}
	return item
}

// rollingOut reports whether the flag is rolling out in some environment, and how.
func rollingOut(f *compiler.Flag, envs []string, snapshots map[string]*snapshot.Snapshot, now time.Time) (string, bool) {
	if f.Lifecycle == compiler.Permanent {
		return "", false
	}
	at := now.UnixMilli()
	// The last environment is the one closest to users: describe the rollout there first.
	for i := len(envs) - 1; i >= 0; i-- {
		env := envs[i]
		s := snapshots[env]
		if s == nil {
			continue
		}
		fi := s.FlagIndex(f.Key)
		if fi < 0 {
			continue
		}
		_, _, uniform := serving.Uniform(s, fi, at)
		if !uniform || serving.Pending(s, fi, at) {
			return describe(f.In(env), env), true
		}
	}
	return "", false
}

// describe says how a flag rolls out in an environment: "production: ring canary".
func describe(f *compiler.Flag, env string) string {
	var parts []string
	if f.Release != nil {
		parts = append(parts, "ring "+f.Release.Ring)
	}
	for _, r := range f.Rules {
		if r.Serve != nil && (r.Serve.Percentage != nil || r.Serve.Schedule != nil || r.Serve.IsSplit()) {
			parts = append(parts, "rule "+r.Name+" "+serveShare(r.Serve))
		}
	}
	if f.Rollout != nil && (f.Rollout.Percentage != nil || f.Rollout.Schedule != nil || f.Rollout.IsSplit()) {
		parts = append(parts, "rollout "+serveShare(f.Rollout))
	}
	if len(f.Stages) > 0 {
		parts = append(parts, fmt.Sprintf("%d stages", len(f.Stages)))
	}
	if len(parts) == 0 {
		parts = append(parts, "targeting rules")
	}
	return env + ": " + strings.Join(parts, ", ")
}

func serveShare(s *compiler.Serve) string {
	switch {
	case s.IsSplit():
		return "split"
	case s.Schedule != nil:
		return "schedule"
	case s.Percentage != nil:
		return percent(*s.Percentage)
	}
	return s.Variant
}

func percent(p float64) string {
	return strings.TrimSuffix(strings.TrimRight(fmt.Sprintf("%.4f", p), "0"), ".") + "%"
}

func check(item string, f *compiler.Flag, p *compiler.Project, now time.Time) Result {
	switch item {
	case compiler.CheckOffVariant:
		return checkOffVariant(f)
	case compiler.CheckOwner:
		if strings.TrimSpace(f.Owner) == "" {
			return Result{Detail: "no owner: add owner: <team or person>, who answers for the flag and removes it"}
		}
		return Result{OK: true, Detail: f.Owner}
	case compiler.CheckExpiry:
		switch {
		case f.Expires.IsZero():
			return Result{Detail: "no cleanup date: add expires: <date>, about two weeks after the planned 100%"}
		case !now.Before(f.Expires):
			return Result{Detail: "cleanup date " + f.Expires.Format(time.DateOnly) + " has passed: remove the flag or move expires"}
		}
		left := int(f.Expires.Sub(now).Hours() / 24)
		return Result{OK: true, Detail: fmt.Sprintf("%s (%d days left)", f.Expires.Format(time.DateOnly), left)}
	case compiler.CheckSuccessCriteria:
		return checkSuccessCriteria(f)
	case compiler.CheckRolloutPlan:
		return checkRolloutPlan(f, p)
	}
	return Result{OK: true}
}

func checkOffVariant(f *compiler.Flag) Result {
	if _, written := f.Fields["offVariant"]; !written && f.Type != snapshot.TypeBoolean {
		return Result{Detail: "no offVariant: name the variant the kill switch serves"}
	}
	if f.Variant(f.OffVariant) == nil {
		return Result{Detail: "offVariant " + f.OffVariant + " is not a variant of the flag"}
	}
	rolled := rolledOutVariants(f)
	for _, env := range f.Environments {
		rolled = append(rolled, rolledOutVariants(f.In(env.Environment))...)
	}
	if len(rolled) > 0 && !slices.ContainsFunc(rolled, func(v string) bool { return v != f.OffVariant }) {
		return Result{Detail: "offVariant " + f.OffVariant + " is the variant being rolled out: the kill switch would not turn the feature off"}
	}
	detail := f.OffVariant
	if _, written := f.Fields["offVariant"]; !written {
		detail += " (the boolean default)"
	}
	return Result{OK: true, Detail: detail}
}

// rolledOutVariants lists the variants handed out by the release, the rules and the
// rollout (not the default).
func rolledOutVariants(f *compiler.Flag) []string {
	var out []string
	addServe := func(s *compiler.Serve) {
		if s == nil {
			return
		}
		if s.IsSplit() {
			for _, w := range s.Split {
				out = append(out, w.Variant)
			}
			return
		}
		out = append(out, s.Variant)
	}
	if f.Release != nil {
		out = append(out, f.Release.Variant)
	}
	for _, r := range f.Rules {
		addServe(r.Serve)
	}
	addServe(f.Rollout)
	return out
}

func checkSuccessCriteria(f *compiler.Flag) Result {
	if len(f.Stages) == 0 {
		return Result{Detail: "no metrics or success criteria: add stages: with successCriteria (error_rate, p99_latency, a business metric) for each step"}
	}
	var missing []string
	metrics := map[string]bool{}
	for i, st := range f.Stages {
		for _, c := range st.SuccessCriteria {
			metrics[c.Metric] = true
		}
		if len(st.SuccessCriteria) == 0 && i < len(f.Stages)-1 {
			missing = append(missing, fmt.Sprintf("stage %d (%s)", i+1, stageName(st)))
		}
	}
	if len(metrics) == 0 {
		// A staged rollout that nothing gates: the controller would promote every stage
		// on time alone.
		r := Result{Detail: fmt.Sprintf("%d stages, and no success criterion names a metric: nothing gates this rollout, each stage is promoted when its duration is up; add successCriteria (error_rate, p99_latency, a business metric)", len(f.Stages))}
		if pos, ok := f.Fields["stages"]; ok {
			r.Line, r.Column = pos.Line, pos.Column
		}
		return r
	}
	if len(missing) > 0 {
		r := Result{Detail: strings.Join(missing, ", ") + " has no success criteria: every stage but the last needs them"}
		r.Line, r.Column = f.Stages[0].Line, f.Stages[0].Column
		return r
	}
	names := make([]string, 0, len(metrics))
	for m := range metrics {
		names = append(names, m)
	}
	slices.Sort(names)
	return Result{OK: true, Detail: fmt.Sprintf("%d stages; metrics %s", len(f.Stages), strings.Join(names, ", "))}
}

// stageName is a stage's percentage, or "ring NAME".
func stageName(st *compiler.Stage) string {
	if st.Ring != "" {
		return "ring " + st.Ring
	}
	return percent(st.Percentage)
}

func checkRolloutPlan(f *compiler.Flag, p *compiler.Project) Result {
	switch {
	case f.Release != nil:
		rings := f.Rings
		if rings == nil {
			rings = p.Rings
		}
		names := make([]string, len(rings))
		for i, r := range rings {
			names[i] = r.Name
		}
		return Result{OK: true, Detail: "rings " + strings.Join(names, " → ") + ", now at " + f.Release.Ring}
	case len(f.Stages) > 0:
		return Result{OK: true, Detail: fmt.Sprintf("%d stages", len(f.Stages))}
	}
	if s := scheduleOf(f); s != "" {
		return Result{OK: true, Detail: s}
	}
	if f.Rollout != nil && f.Rollout.Percentage != nil {
		return Result{OK: true, Detail: "percentage rollout at " + percent(*f.Rollout.Percentage)}
	}
	if splitOf(f) {
		return Result{OK: true, Detail: "experiment: a weighted split"}
	}
	return Result{Detail: "no rollout plan: release through the rings (release: { ring: internal, variant: on }), a schedule, stages or a percentage"}
}

// scheduleOf describes the schedules of a flag, or "".
func scheduleOf(f *compiler.Flag) string {
	var parts []string
	for _, r := range f.Rules {
		if r.Serve != nil && r.Serve.Schedule != nil {
			parts = append(parts, "rule "+r.Name+" "+steps(r.Serve.Schedule))
		}
	}
	if f.Rollout != nil && f.Rollout.Schedule != nil {
		parts = append(parts, "rollout "+steps(f.Rollout.Schedule))
	}
	if len(parts) == 0 {
		return ""
	}
	return "scheduled: " + strings.Join(parts, ", ")
}

func steps(s *compiler.Schedule) string {
	last := s.Steps[len(s.Steps)-1]
	if len(s.Steps) == 1 {
		return "at " + percent(last.Percentage) + " from " + last.At.UTC().Format(time.DateOnly)
	}
	return fmt.Sprintf("%d steps to %s by %s", len(s.Steps), percent(last.Percentage), last.At.UTC().Format(time.DateOnly))
}

// splitOf reports whether the flag splits users between variants (an experiment).
func splitOf(f *compiler.Flag) bool {
	if f.Rollout != nil && f.Rollout.IsSplit() {
		return true
	}
	for _, r := range f.Rules {
		if r.Serve != nil && r.Serve.IsSplit() {
			return true
		}
	}
	return false
}
