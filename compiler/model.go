package compiler

import (
	"strconv"
	"time"

	"github.com/edgeflag/edgeflag/rollout"
	"github.com/edgeflag/edgeflag/snapshot"
)

// Pos is a position in a flag file.
type Pos struct {
	File   string
	Line   int // 1-based
	Column int // 1-based
}

// String formats the position as file:line:column.
func (p Pos) String() string {
	return p.File + ":" + strconv.Itoa(p.Line) + ":" + strconv.Itoa(p.Column)
}

// Project is a loaded and checked flag directory: the Project document's settings and
// every segment and flag. Everything in it has passed the schema and the semantic checks.
type Project struct {
	Pos                                 // the Project document
	Environments    []string            // in the order written
	DefaultBucketBy string              // "userId" unless set
	Rings           []*Ring             // the ring ladder, innermost first
	Checks          map[string]Severity // release-checklist severities as written
	Metrics         []*Metric           // the metrics success criteria name, sorted by name
	Rollouts        rollout.Settings    // the rollout controller's settings, defaults filled in
	Segments        []*Segment          // sorted by key
	Flags           []*Flag             // sorted by key
}

// Severity is how `edgeflag lint` reports a release-checklist item.
type Severity string

// Severities.
const (
	SeverityError   Severity = "error"
	SeverityWarning Severity = "warning"
	SeverityOff     Severity = "off"
)

// Release-checklist items, the keys of Project.Checks.
const (
	CheckOffVariant      = "offVariant"      // every flag names its offVariant explicitly
	CheckOwner           = "owner"           // every flag names an owner
	CheckExpiry          = "expiry"          // temporary flags have an expires date that has not passed
	CheckSuccessCriteria = "successCriteria" // every stage but the last has success criteria
	CheckRolloutPlan     = "rolloutPlan"     // temporary flags have a release, rollout or stages
)

// DefaultChecks are the severities of the checklist items a project does not set.
var DefaultChecks = map[string]Severity{
	CheckOffVariant:      SeverityError,
	CheckOwner:           SeverityError,
	CheckExpiry:          SeverityWarning,
	CheckSuccessCriteria: SeverityWarning,
	CheckRolloutPlan:     SeverityError,
}

// Severity returns the severity of a checklist item: the project's, else the default,
// else SeverityOff for an unknown item.
func (p *Project) Severity(check string) Severity {
	if s, ok := p.Checks[check]; ok {
		return s
	}
	if s, ok := DefaultChecks[check]; ok {
		return s
	}
	return SeverityOff
}

// Flag returns the flag with the given key, or nil.
func (p *Project) Flag(key string) *Flag {
	i, ok := searchKey(p.Flags, key, func(f *Flag) string { return f.Key })
	if !ok {
		return nil
	}
	return p.Flags[i]
}

// Segment returns the segment with the given key, or nil.
func (p *Project) Segment(key string) *Segment {
	i, ok := searchKey(p.Segments, key, func(s *Segment) string { return s.Key })
	if !ok {
		return nil
	}
	return p.Segments[i]
}

// HasEnvironment reports whether the project lists the environment.
func (p *Project) HasEnvironment(env string) bool {
	for _, e := range p.Environments {
		if e == env {
			return true
		}
	}
	return false
}

func searchKey[T any](list []T, key string, keyOf func(T) string) (int, bool) {
	lo, hi := 0, len(list)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if keyOf(list[m]) < key {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo, lo < len(list) && keyOf(list[lo]) == key
}

// Segment is a reusable audience.
type Segment struct {
	Pos         // the key field
	Key         string
	Description string
	When        *Condition
}

// Lifecycle says whether a flag is meant to be removed once released.
type Lifecycle string

// Lifecycles.
const (
	Temporary Lifecycle = "temporary"
	Permanent Lifecycle = "permanent"
)

// Flag is a flag as written, with defaults filled in. Per-environment overrides are in
// Environments; In applies them.
type Flag struct {
	Pos                        // the key field
	Fields      map[string]Pos // where each top-level field is written, by name
	Key         string
	Description string
	Owner       string
	Lifecycle   Lifecycle // "" when not written
	Created     time.Time // midnight UTC; zero when not written
	Expires     time.Time // midnight UTC; zero when not written
	Type        snapshot.ValueType
	Variants    []*Variant // in the order written; on/off for a boolean flag without variants

	OffVariant     string // "off" for a boolean flag that does not name one
	DefaultVariant string // "off" for a boolean flag that does not name one
	Enabled        bool   // true unless written
	Killed         bool
	BucketBy       string // the flag's, else the project's defaultBucketBy
	Salt           string // the flag's, else its key

	Prerequisites []*Prerequisite
	Rules         []*Rule
	Rings         []*Ring  // the flag's own ring ladder; nil when it uses the project's
	Release       *Release // nil without a ring rollout
	Rollout       *Serve   // the fallthrough; nil serves defaultVariant to everyone
	// Stages are all percentage stages (they move Rollout.Percentage) or all ring
	// stages (they move Release.Ring); Rollout or Release starts at the first stage.
	Stages       []*Stage
	Environments []*Override // sorted by environment
}

// Variant returns the variant with the given name, or nil.
func (f *Flag) Variant(name string) *Variant {
	for _, v := range f.Variants {
		if v.Name == name {
			return v
		}
	}
	return nil
}

// Override returns the flag's overrides for an environment, or nil.
func (f *Flag) Override(env string) *Override {
	for _, o := range f.Environments {
		if o.Environment == env {
			return o
		}
	}
	return nil
}

// In returns the flag as it is in an environment: a copy with that environment's
// overrides applied (each overriding field replaces the flag's) and no Environments.
func (f *Flag) In(env string) *Flag {
	g := *f
	g.Environments = nil
	o := f.Override(env)
	if o == nil {
		return &g
	}
	if o.Enabled != nil {
		g.Enabled = *o.Enabled
	}
	if o.Killed != nil {
		g.Killed = *o.Killed
	}
	if o.DefaultVariant != nil {
		g.DefaultVariant = *o.DefaultVariant
	}
	if o.OffVariant != nil {
		g.OffVariant = *o.OffVariant
	}
	if o.Prerequisites != nil {
		g.Prerequisites = o.Prerequisites
	}
	if o.Rules != nil {
		g.Rules = o.Rules
	}
	if o.Release != nil {
		g.Release = o.Release
	}
	if o.Rollout != nil {
		g.Rollout = o.Rollout
	}
	return &g
}

// Variant is a named flag value.
type Variant struct {
	Pos
	Name  string
	Value any    // bool, string, float64, map[string]any or []any
	JSON  string // the value as canonical JSON: sorted keys, no spaces, shortest numbers
}

// Prerequisite requires flag Flag to serve Variant.
type Prerequisite struct {
	Pos
	Flag    string
	Variant string
}

// Rule serves Serve to the users matching When (nil: everyone).
type Rule struct {
	Pos
	Name  string
	When  *Condition
	Serve *Serve
}

// Release is a ring rollout: users in Ring or any inner ring get Variant. With ring
// stages, Ring is the first stage's when not written.
type Release struct {
	Pos
	Ring    string
	Variant string
}

// Ring is one audience of a ring ladder: users matching When (nil: everyone) within
// Percentage or Schedule (neither: all of them).
type Ring struct {
	Pos
	Name       string
	When       *Condition
	Percentage *float64
	Schedule   *Schedule
	BucketBy   string // "" for the flag's
}

// Serve is what a rule or the fallthrough hands out: a variant, to everyone, a percentage
// or a scheduled percentage of users, or a weighted split.
type Serve struct {
	Pos
	Variant    string    // "" for a split
	Percentage *float64  // nil: everyone (or Schedule)
	Schedule   *Schedule // nil: no schedule
	Split      []*Weight // non-nil for a split, in the order written
	BucketBy   string    // "" for the flag's
}

// IsSplit reports whether the serve is a weighted split.
func (s *Serve) IsSplit() bool { return s.Split != nil }

// Weight is one variant of a split and its share in percent.
type Weight struct {
	Pos
	Variant string
	Weight  float64
}

// Schedule is a percentage that changes over time.
type Schedule struct {
	Pos
	Start time.Time // zero when not written
	Steps []*Step   // in increasing At
}

// Step is one point of a schedule: from At on, Percentage applies.
type Step struct {
	Pos
	At         time.Time // written as `at`, or computed from the schedule's start and `after`
	After      string    // the `after` duration as written; "" for an `at` step
	Percentage float64
}

// Stage is a rollout stage: Percentage of the fallthrough rollout, or Ring of the
// ladder, held for Duration while the criteria hold.
type Stage struct {
	Pos
	Percentage      float64       // 0 for a ring stage
	Ring            string        // "" for a percentage stage
	Duration        time.Duration // 0 when Infinite
	Infinite        bool          // duration: infinity
	SuccessCriteria []*Criterion
}

// Criterion is a success criterion: Metric compared with a threshold. The threshold is
// Value in Unit ("%", "ms", "s" or "") as written, or Value times the metric's baseline
// (the old variant's value) when Baseline. Load has checked that Unit fits the metric's.
type Criterion struct {
	Pos
	Metric     string
	Threshold  string // as written, for example "< 0.5%" or ">= baseline * 0.95"
	Comparison string // <, <=, > or >=
	Value      float64
	Unit       string
	Baseline   bool
	OnFail     string // rollout.OnFailRollback (the default) or rollout.OnFailPause
}

// Override holds one environment's replacements; a nil field is not overridden.
type Override struct {
	Pos
	Environment    string
	Enabled        *bool
	Killed         *bool
	DefaultVariant *string
	OffVariant     *string
	Prerequisites  []*Prerequisite // non-nil (possibly empty) when overridden
	Rules          []*Rule         // non-nil (possibly empty) when overridden
	Release        *Release
	Rollout        *Serve
}

// CondKind is the form of a condition.
type CondKind uint8

// Condition forms.
const (
	CondClause     CondKind = iota + 1 // Attribute Op Values
	CondAll                            // every child matches
	CondAny                            // at least one child matches
	CondNot                            // the single child does not match
	CondSegment                        // the user is in Segment
	CondPercentage                     // the user's bucket is below Percentage
)

// Condition is a targeting condition.
type Condition struct {
	Pos
	Kind       CondKind
	Children   []*Condition // CondAll, CondAny; CondNot has one
	Segment    string       // CondSegment
	Percentage float64      // CondPercentage
	BucketBy   string       // CondPercentage; "" for the flag's
	Attribute  string       // CondClause
	Op         string       // CondClause: the operator as written (equals, notIn, semverLt, ...)
	Values     []any        // CondClause: string, float64 or bool; `value: V` is [V]
	IgnoreCase bool         // CondClause
}
