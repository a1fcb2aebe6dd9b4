// Package snapview turns a compiled snapshot back into a readable form: the header, the
// segments and the flags written the way the flag language writes them (variant, segment
// and attribute names instead of indexes, percentages instead of bucket thresholds, times
// in RFC 3339). `edgeflag inspect` prints it as JSON and `edgeflag diff` compares two of
// them.
package snapview

import (
	"encoding/json"
	"strconv"
	"time"

	"github.com/edgeflag/edgeflag/snapshot"
)

// View is a whole snapshot.
type View struct {
	Header     Header    `json:"header"`
	Attributes []string  `json:"attributes"`
	Segments   []Segment `json:"segments"`
	Flags      []Flag    `json:"flags"`
}

// Header describes the encoded snapshot and where it came from.
type Header struct {
	Magic            string `json:"magic"`
	FormatVersion    int    `json:"formatVersion"`
	BucketingVersion int    `json:"bucketingVersion"`
	Hash             string `json:"hash,omitempty"` // content address (sha256 of the payload)
	Size             int    `json:"size,omitempty"` // encoded size in bytes
	Environment      string `json:"environment"`
	Revision         string `json:"revision"`
	BuildTime        string `json:"buildTime"` // RFC 3339, UTC
}

// Segment is a named audience.
type Segment struct {
	Key  string    `json:"key"`
	When Condition `json:"when"`
}

// Flag is a compiled flag in flag-language terms.
type Flag struct {
	Key            string         `json:"key"`
	Type           string         `json:"type"`
	Variants       []Variant      `json:"variants"`
	OffVariant     string         `json:"offVariant"`
	DefaultVariant string         `json:"defaultVariant"`
	Enabled        bool           `json:"enabled"`
	Killed         bool           `json:"killed"`
	BucketBy       string         `json:"bucketBy"`
	Seed           uint32         `json:"seed"` // murmur3 of the salt: changes re-bucket every user
	Prerequisites  []Prerequisite `json:"prerequisites,omitempty"`
	Rules          []Rule         `json:"rules,omitempty"`
	Rings          []Ring         `json:"rings,omitempty"`
	Release        *Release       `json:"release,omitempty"`
	Rollout        Serve          `json:"rollout"`
}

// Variant is a named value; Value is its JSON text.
type Variant struct {
	Name  string          `json:"name"`
	Value json.RawMessage `json:"value"`
}

// Prerequisite requires Flag to serve Variant.
type Prerequisite struct {
	Flag    string `json:"flag"`
	Variant string `json:"variant"`
}

// Rule serves Serve to the users matching When (nil: everyone).
type Rule struct {
	Name  string     `json:"name"`
	When  *Condition `json:"when,omitempty"`
	Serve Serve      `json:"serve"`
}

// Ring is one step of the flag's ring ladder.
type Ring struct {
	Name       string     `json:"name"`
	When       *Condition `json:"when,omitempty"`
	Percentage *float64   `json:"percentage,omitempty"`
	Schedule   *Schedule  `json:"schedule,omitempty"`
	BucketBy   string     `json:"bucketBy,omitempty"`
	Released   bool       `json:"released"` // at or inside the release ring
}

// Release says which ring of the ladder the flag has reached and what it serves there.
type Release struct {
	Ring    string `json:"ring"`
	Variant string `json:"variant"`
}

// Serve is a variant (to everyone, a percentage or a schedule) or a weighted split.
type Serve struct {
	Variant    string    `json:"variant,omitempty"`
	Percentage *float64  `json:"percentage,omitempty"`
	Schedule   *Schedule `json:"schedule,omitempty"`
	Split      []Weight  `json:"split,omitempty"`
	BucketBy   string    `json:"bucketBy,omitempty"`
}

// Weight is one variant's share of a split, in percent.
type Weight struct {
	Variant    string  `json:"variant"`
	Percentage float64 `json:"percentage"`
}

// Schedule is a list of steps; the last step whose time has passed is in force.
type Schedule struct {
	Steps []Step `json:"steps"`
}

// Step is one point of a schedule.
type Step struct {
	At         string  `json:"at"` // RFC 3339, UTC
	Percentage float64 `json:"percentage"`
}

// Condition is one node of a condition tree, written as in the flag language: exactly one
// of All, Any, Not, Segment, Percentage or Attribute is set.
type Condition struct {
	All        []Condition `json:"all,omitempty"`
	Any        []Condition `json:"any,omitempty"`
	Not        *Condition  `json:"not,omitempty"`
	Segment    string      `json:"segment,omitempty"`
	Percentage *float64    `json:"percentage,omitempty"`
	Attribute  string      `json:"attribute,omitempty"`
	Op         string      `json:"op,omitempty"`
	Value      any         `json:"value,omitempty"`
	Values     []any       `json:"values,omitempty"`
	IgnoreCase bool        `json:"ignoreCase,omitempty"`
	BucketBy   string      `json:"bucketBy,omitempty"`
}

// Of returns the view of a decoded snapshot. The header's Hash and Size are left empty:
// use Decode to read them from the encoded bytes.
func Of(s *snapshot.Snapshot) *View {
	c := converter{s: s}
	v := &View{
		Header: Header{
			Magic:            snapshot.Magic,
			FormatVersion:    snapshot.FormatVersion,
			BucketingVersion: snapshot.BucketingVersion,
			Environment:      s.Environment,
			Revision:         s.Revision,
			BuildTime:        time.Unix(s.BuildTime, 0).UTC().Format(time.RFC3339),
		},
		Attributes: append([]string{}, s.Attributes...),
		Segments:   make([]Segment, len(s.Segments)),
		Flags:      make([]Flag, len(s.Flags)),
	}
	for i := range s.Segments {
		v.Segments[i] = Segment{Key: s.Segments[i].Key, When: c.condition(&s.Segments[i].When)}
	}
	for i := range s.Flags {
		v.Flags[i] = c.flag(&s.Flags[i])
	}
	return v
}

// Decode verifies and decodes an encoded snapshot and returns its view with the content
// hash and size filled in, together with the decoded snapshot.
func Decode(data []byte) (*View, *snapshot.Snapshot, error) {
	s, err := snapshot.Decode(data)
	if err != nil {
		return nil, nil, err
	}
	v := Of(s)
	v.Header.Hash, _ = snapshot.Hash(data)
	v.Header.Size = len(data)
	return v, s, nil
}

// Flag returns the view of the flag with the given key, or nil.
func (v *View) Flag(key string) *Flag {
	for i := range v.Flags {
		if v.Flags[i].Key == key {
			return &v.Flags[i]
		}
	}
	return nil
}

// Segment returns the view of the segment with the given key, or nil.
func (v *View) Segment(key string) *Segment {
	for i := range v.Segments {
		if v.Segments[i].Key == key {
			return &v.Segments[i]
		}
	}
	return nil
}

type converter struct{ s *snapshot.Snapshot }

func (c converter) attr(i int) string {
	if i < 0 || i >= len(c.s.Attributes) {
		return ""
	}
	return c.s.Attributes[i]
}

func variantName(f *snapshot.Flag, i int) string {
	if i < 0 || i >= len(f.Variants) {
		return ""
	}
	return f.Variants[i].Name
}

func (c converter) flag(f *snapshot.Flag) Flag {
	out := Flag{
		Key:            f.Key,
		Type:           f.Type.String(),
		OffVariant:     variantName(f, f.OffVariant),
		DefaultVariant: variantName(f, f.DefaultVariant),
		Enabled:        f.Enabled,
		Killed:         f.Killed,
		BucketBy:       c.attr(f.BucketBy),
		Seed:           f.Seed,
		Rollout:        c.serve(f, &f.Rollout),
	}
	for _, v := range f.Variants {
		out.Variants = append(out.Variants, Variant{Name: v.Name, Value: json.RawMessage(v.JSON)})
	}
	for _, p := range f.Prerequisites {
		pf := &c.s.Flags[p.Flag]
		out.Prerequisites = append(out.Prerequisites, Prerequisite{Flag: pf.Key, Variant: variantName(pf, p.Variant)})
	}
	for i := range f.Rules {
		r := &f.Rules[i]
		out.Rules = append(out.Rules, Rule{Name: r.Name, When: c.optCondition(r.When), Serve: c.serve(f, &r.Serve)})
	}
	for i := range f.Rings {
		r := &f.Rings[i]
		ring := Ring{Name: r.Name, When: c.optCondition(r.When), Released: i <= f.ReleaseRing}
		switch r.Portion.Kind {
		case snapshot.PortionPercentage:
			p := snapshot.PercentageOf(r.Portion.Threshold)
			ring.Percentage = &p
		case snapshot.PortionSchedule:
			ring.Schedule = schedule(&r.Portion)
		}
		if r.Portion.BucketBy >= 0 {
			ring.BucketBy = c.attr(r.Portion.BucketBy)
		}
		out.Rings = append(out.Rings, ring)
	}
	if f.ReleaseRing >= 0 && f.ReleaseRing < len(f.Rings) {
		out.Release = &Release{Ring: f.Rings[f.ReleaseRing].Name, Variant: variantName(f, f.ReleaseVar)}
	}
	return out
}

func (c converter) serve(f *snapshot.Flag, s *snapshot.Serve) Serve {
	var out Serve
	if s.Portion.BucketBy >= 0 {
		out.BucketBy = c.attr(s.Portion.BucketBy)
	}
	if s.Kind == snapshot.ServeSplit {
		var lower uint32
		for _, w := range s.Split {
			out.Split = append(out.Split, Weight{Variant: variantName(f, w.Variant), Percentage: snapshot.PercentageOf(w.Upper - lower)})
			lower = w.Upper
		}
		return out
	}
	out.Variant = variantName(f, s.Variant)
	switch s.Portion.Kind {
	case snapshot.PortionPercentage:
		p := snapshot.PercentageOf(s.Portion.Threshold)
		out.Percentage = &p
	case snapshot.PortionSchedule:
		out.Schedule = schedule(&s.Portion)
	}
	return out
}

func schedule(p *snapshot.Portion) *Schedule {
	sc := &Schedule{Steps: make([]Step, len(p.Steps))}
	for i, st := range p.Steps {
		sc.Steps[i] = Step{At: FormatMillis(st.At), Percentage: snapshot.PercentageOf(st.Threshold)}
	}
	return sc
}

// FormatMillis formats Unix milliseconds as RFC 3339 in UTC (with fractional seconds only
// when there are any).
func FormatMillis(ms int64) string {
	return time.UnixMilli(ms).UTC().Format(time.RFC3339Nano)
}

func (c converter) optCondition(cond *snapshot.Condition) *Condition {
	if cond == nil {
		return nil
	}
	out := c.condition(cond)
	return &out
}

func (c converter) condition(cond *snapshot.Condition) Condition {
	switch cond.Kind {
	case snapshot.CondAll, snapshot.CondAny:
		children := make([]Condition, len(cond.Children))
		for i := range cond.Children {
			children[i] = c.condition(&cond.Children[i])
		}
		if cond.Kind == snapshot.CondAll {
			return Condition{All: children}
		}
		return Condition{Any: children}
	case snapshot.CondNot:
		if len(cond.Children) == 1 {
			inner := c.condition(&cond.Children[0])
			return Condition{Not: &inner}
		}
	case snapshot.CondSegment:
		if cond.Segment >= 0 && cond.Segment < len(c.s.Segments) {
			return Condition{Segment: c.s.Segments[cond.Segment].Key}
		}
	case snapshot.CondPercentage:
		p := snapshot.PercentageOf(cond.Portion.Threshold)
		out := Condition{Percentage: &p}
		if cond.Portion.BucketBy >= 0 {
			out.BucketBy = c.attr(cond.Portion.BucketBy)
		}
		return out
	case snapshot.CondClause:
		return c.clause(&cond.Clause)
	}
	return Condition{}
}

func (c converter) clause(cl *snapshot.Clause) Condition {
	out := Condition{Attribute: c.attr(cl.Attribute), Op: opName(cl), IgnoreCase: cl.IgnoreCase}
	values := make([]any, len(cl.Values))
	for i, l := range cl.Values {
		values[i] = literal(l, cl.Relative)
	}
	switch {
	case len(values) == 0:
	case len(values) == 1 && !takesList(out.Op):
		out.Value = values[0]
	default:
		out.Values = values
	}
	return out
}

// opName returns the operator as the flag language writes it. Clause.OpName spells a
// negated operator without a language name as "not <op>"; the language has none of those,
// but a snapshot could, so they stay readable.
func opName(cl *snapshot.Clause) string {
	return cl.OpName()
}

// takesList reports whether the operator named name writes its values as a list (in, notIn).
func takesList(name string) bool {
	o, ok := snapshot.LookupOperator(name)
	return ok && o.Arity == snapshot.ArityMany
}

func literal(l snapshot.Literal, relative bool) any {
	switch l.Kind {
	case snapshot.LitString, snapshot.LitSemver:
		return l.Str
	case snapshot.LitBool:
		return l.Num != 0
	case snapshot.LitTime:
		if relative {
			return RelativeTime(int64(l.Num))
		}
		return FormatMillis(int64(l.Num))
	}
	return l.Num
}

// RelativeTime writes an offset from the time of evaluation (milliseconds) the way the
// flag language does: now-365d, now+2h, with the largest unit that divides it exactly.
func RelativeTime(ms int64) string {
	sign := "+"
	if ms < 0 {
		sign, ms = "-", -ms
	}
	units := []struct {
		suffix string
		ms     int64
	}{{"w", 7 * 24 * 3600_000}, {"d", 24 * 3600_000}, {"h", 3600_000}, {"m", 60_000}, {"s", 1000}}
	for _, u := range units {
		if ms != 0 && ms%u.ms == 0 {
			return "now" + sign + strconv.FormatInt(ms/u.ms, 10) + u.suffix
		}
	}
	return "now" + sign + strconv.FormatInt(ms, 10) + "ms"
}
