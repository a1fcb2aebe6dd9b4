// Package snapdiff compares two compiled snapshots and summarises the differences the way
// a reviewer reads a release: "new-search-algorithm (production): ring canary →
// early-majority, 5% → 25%", "weather-widget: killed".
//
// Compare works on one environment; Merge folds the changes of several environments into
// one list, naming the environments only when a change does not apply to all of them.
package snapdiff

import (
	"bytes"
	"encoding/json"
	"slices"
	"strconv"
	"strings"

	"github.com/edgeflag/edgeflag/snapview"
)

// Kinds of change.
const (
	Added         = "added"
	Removed       = "removed"
	Killed        = "killed"
	Revived       = "revived"
	Enabled       = "enabled"
	Disabled      = "disabled"
	Release       = "release"
	Rollout       = "rollout"
	Rule          = "rule"
	Rules         = "rules"
	Rings         = "rings"
	Prerequisites = "prerequisites"
	Variants      = "variants"
	Defaults      = "defaults"
	Bucketing     = "bucketing"
	Type          = "type"
	Condition     = "condition"
)

// Change is one difference between two snapshots.
type Change struct {
	Flag         string   `json:"flag,omitempty"`    // the flag changed, or
	Segment      string   `json:"segment,omitempty"` // the segment changed
	Environments []string `json:"environments"`
	Kind         string   `json:"kind"`
	Summary      string   `json:"summary"`
	From         any      `json:"from,omitempty"` // the old value of what changed, when there is one
	To           any      `json:"to,omitempty"`
}

// Subject returns the flag or segment key (segments prefixed with "segment ").
func (c *Change) Subject() string {
	if c.Segment != "" {
		return "segment " + c.Segment
	}
	return c.Flag
}

// Compare returns the changes from a to b, flags first, then segments, each sorted by key;
// the changes of one flag come in a fixed order (state, release, rollout, rules, the rest).
// Every change names env as its environment.
func Compare(a, b *snapview.View, env string) []Change {
	d := differ{env: env}
	for _, key := range unionKeys(flagKeys(a), flagKeys(b)) {
		fa, fb := a.Flag(key), b.Flag(key)
		switch {
		case fa == nil:
			d.add(key, "", Added, "added: "+fb.Serves(), nil, fb)
		case fb == nil:
			d.add(key, "", Removed, "removed", fa, nil)
		default:
			d.flag(fa, fb)
		}
	}
	for _, key := range unionKeys(segmentKeys(a), segmentKeys(b)) {
		sa, sb := a.Segment(key), b.Segment(key)
		switch {
		case sa == nil:
			d.add("", key, Added, "added", nil, sb.When)
		case sb == nil:
			d.add("", key, Removed, "removed", sa.When, nil)
		case !sameJSON(sa.When, sb.When):
			d.add("", key, Condition, "condition changed", sa.When, sb.When)
		}
	}
	return d.changes
}

type differ struct {
	env     string
	changes []Change
}

func (d *differ) add(flag, segment, kind, summary string, from, to any) {
	d.changes = append(d.changes, Change{Flag: flag, Segment: segment, Environments: []string{d.env},
		Kind: kind, Summary: summary, From: from, To: to})
}

func (d *differ) flag(a, b *snapview.Flag) {
	k := b.Key
	switch {
	case !a.Killed && b.Killed:
		d.add(k, "", Killed, "killed", false, true)
	case a.Killed && !b.Killed:
		d.add(k, "", Revived, "revived (kill switch released)", true, false)
	}
	switch {
	case a.Enabled && !b.Enabled:
		d.add(k, "", Disabled, "disabled", true, false)
	case !a.Enabled && b.Enabled:
		d.add(k, "", Enabled, "enabled", false, true)
	}
	if a.Type != b.Type {
		d.add(k, "", Type, "type "+a.Type+" → "+b.Type, a.Type, b.Type)
	}
	d.release(a, b)
	if !sameJSON(a.Rollout, b.Rollout) {
		d.add(k, "", Rollout, "rollout "+serveChange(&a.Rollout, &b.Rollout), a.Rollout, b.Rollout)
	}
	d.rules(a, b)
	if !sameRings(a.Rings, b.Rings) && len(a.Rings) > 0 && len(b.Rings) > 0 {
		d.add(k, "", Rings, "ring ladder: "+ringLadderChange(a.Rings, b.Rings), a.Rings, b.Rings)
	}
	if !sameJSON(a.Prerequisites, b.Prerequisites) {
		d.add(k, "", Prerequisites, "prerequisites "+prereqs(a.Prerequisites)+" → "+prereqs(b.Prerequisites),
			a.Prerequisites, b.Prerequisites)
	}
	d.variants(a, b)
	if a.DefaultVariant != b.DefaultVariant {
		d.add(k, "", Defaults, "default variant "+a.DefaultVariant+" → "+b.DefaultVariant, a.DefaultVariant, b.DefaultVariant)
	}
	if a.OffVariant != b.OffVariant {
		d.add(k, "", Defaults, "off variant "+a.OffVariant+" → "+b.OffVariant, a.OffVariant, b.OffVariant)
	}
	if a.BucketBy != b.BucketBy {
		d.add(k, "", Bucketing, "bucketBy "+a.BucketBy+" → "+b.BucketBy+" (every user is re-bucketed)", a.BucketBy, b.BucketBy)
	} else if a.Seed != b.Seed {
		d.add(k, "", Bucketing, "salt changed (every user is re-bucketed)", a.Seed, b.Seed)
	}
}

func (d *differ) release(a, b *snapview.Flag) {
	k := b.Key
	ra, rb := a.Release, b.Release
	switch {
	case ra == nil && rb == nil:
		return
	case ra == nil:
		d.add(k, "", Release, "release started at ring "+rb.Ring+reachSuffix(b.ReleaseReach()), nil, rb)
		return
	case rb == nil:
		d.add(k, "", Release, "release at ring "+ra.Ring+" removed", ra, nil)
		return
	}
	var parts []string
	if ra.Ring != rb.Ring {
		parts = append(parts, "ring "+ra.Ring+" → "+rb.Ring)
		if pa, pb := a.ReleaseReach(), b.ReleaseReach(); pa != pb {
			parts = append(parts, snapview.Percent(pa)+" → "+snapview.Percent(pb))
		}
	}
	if ra.Variant != rb.Variant {
		parts = append(parts, "release variant "+ra.Variant+" → "+rb.Variant)
	}
	if len(parts) > 0 {
		d.add(k, "", Release, strings.Join(parts, ", "), ra, rb)
	}
}

func reachSuffix(p float64) string {
	if p == 0 {
		return ""
	}
	return " (" + snapview.Percent(p) + ")"
}

func (d *differ) rules(a, b *snapview.Flag) {
	k := b.Key
	namesA, namesB := ruleNames(a.Rules), ruleNames(b.Rules)
	for _, r := range b.Rules {
		if !slices.Contains(namesA, r.Name) {
			d.add(k, "", Rule, "rule "+r.Name+" added: serves "+r.Serve.String()+whenSuffix(r.When), nil, r)
		}
	}
	for _, r := range a.Rules {
		if !slices.Contains(namesB, r.Name) {
			d.add(k, "", Rule, "rule "+r.Name+" removed", r, nil)
		}
	}
	for _, ra := range a.Rules {
		i := slices.Index(namesB, ra.Name)
		if i < 0 {
			continue
		}
		rb := b.Rules[i]
		if !sameJSON(ra.When, rb.When) {
			d.add(k, "", Rule, "rule "+ra.Name+": condition changed", ra, rb)
		}
		if !sameJSON(ra.Serve, rb.Serve) {
			d.add(k, "", Rule, "rule "+ra.Name+": "+serveChange(&ra.Serve, &rb.Serve), ra.Serve, rb.Serve)
		}
	}
	common := func(names, other []string) []string {
		var out []string
		for _, n := range names {
			if slices.Contains(other, n) {
				out = append(out, n)
			}
		}
		return out
	}
	if ca, cb := common(namesA, namesB), common(namesB, namesA); !slices.Equal(ca, cb) {
		d.add(k, "", Rules, "rules reordered: "+strings.Join(ca, ", ")+" → "+strings.Join(cb, ", "), ca, cb)
	}
}

func whenSuffix(c *snapview.Condition) string {
	if c == nil {
		return " to everyone"
	}
	return ""
}

func (d *differ) variants(a, b *snapview.Flag) {
	k := b.Key
	for _, vb := range b.Variants {
		va := findVariant(a.Variants, vb.Name)
		switch {
		case va == nil:
			d.add(k, "", Variants, "variant "+vb.Name+" added ("+string(vb.Value)+")", nil, vb)
		case !bytes.Equal(va.Value, vb.Value):
			d.add(k, "", Variants, "variant "+vb.Name+": "+string(va.Value)+" → "+string(vb.Value), va.Value, vb.Value)
		}
	}
	for _, va := range a.Variants {
		if findVariant(b.Variants, va.Name) == nil {
			d.add(k, "", Variants, "variant "+va.Name+" removed", va, nil)
		}
	}
}

func findVariant(vs []snapview.Variant, name string) *snapview.Variant {
	for i := range vs {
		if vs[i].Name == name {
			return &vs[i]
		}
	}
	return nil
}

// serveChange describes a serve that changed: "5% → 25%" when only the percentage of the
// same variant moved, "on to 5% → on" otherwise.
func serveChange(a, b *snapview.Serve) string {
	if a.Variant == b.Variant && a.BucketBy == b.BucketBy && a.Percentage != nil && b.Percentage != nil {
		return snapview.Percent(*a.Percentage) + " → " + snapview.Percent(*b.Percentage)
	}
	if a.Variant == b.Variant && a.Schedule != nil && b.Schedule != nil {
		return "schedule changed: " + a.String() + " → " + b.String()
	}
	return a.String() + " → " + b.String()
}

func ringLadderChange(a, b []snapview.Ring) string {
	var parts []string
	for _, rb := range b {
		ra := findRing(a, rb.Name)
		switch {
		case ra == nil:
			parts = append(parts, "ring "+rb.Name+" added")
		case !sameRing(*ra, rb):
			desc := "ring " + rb.Name + " changed"
			if pa, pb := ra.Reach(), rb.Reach(); pa != pb {
				desc = "ring " + rb.Name + " " + snapview.Percent(pa) + " → " + snapview.Percent(pb)
			}
			parts = append(parts, desc)
		}
	}
	for _, ra := range a {
		if findRing(b, ra.Name) == nil {
			parts = append(parts, "ring "+ra.Name+" removed")
		}
	}
	if len(parts) == 0 {
		return "rings reordered"
	}
	return strings.Join(parts, ", ")
}

func findRing(rs []snapview.Ring, name string) *snapview.Ring {
	for i := range rs {
		if rs[i].Name == name {
			return &rs[i]
		}
	}
	return nil
}

// sameRing compares two rings' audiences, not whether they are released (the release
// change is reported on its own).
func sameRing(a, b snapview.Ring) bool {
	a.Released, b.Released = false, false
	return sameJSON(a, b)
}

func sameRings(a, b []snapview.Ring) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !sameRing(a[i], b[i]) {
			return false
		}
	}
	return true
}

func prereqs(ps []snapview.Prerequisite) string {
	if len(ps) == 0 {
		return "none"
	}
	parts := make([]string, len(ps))
	for i, p := range ps {
		parts[i] = p.Flag + "=" + p.Variant
	}
	return strings.Join(parts, ", ")
}

func ruleNames(rs []snapview.Rule) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.Name
	}
	return out
}

func flagKeys(v *snapview.View) []string {
	out := make([]string, len(v.Flags))
	for i := range v.Flags {
		out[i] = v.Flags[i].Key
	}
	return out
}

func segmentKeys(v *snapview.View) []string {
	out := make([]string, len(v.Segments))
	for i := range v.Segments {
		out[i] = v.Segments[i].Key
	}
	return out
}

func unionKeys(a, b []string) []string {
	out := slices.Concat(a, b)
	slices.Sort(out)
	return slices.Compact(out)
}

func sameJSON(a, b any) bool {
	ja, errA := json.Marshal(a)
	jb, errB := json.Marshal(b)
	return errA == nil && errB == nil && bytes.Equal(ja, jb)
}

// Merge folds per-environment change lists into one. A change found with the same flag or
// segment, kind and summary in several environments becomes one change naming all of
// them. The result lists flags, then segments, each by key; the changes of one flag or
// segment keep the order Compare gives them.
func Merge(envs []string, perEnv map[string][]Change) []Change {
	var out []Change
	index := map[string]int{}
	for _, env := range envs {
		for _, c := range perEnv[env] {
			id := c.Flag + "\x00" + c.Segment + "\x00" + c.Kind + "\x00" + c.Summary
			if i, ok := index[id]; ok {
				out[i].Environments = append(out[i].Environments, env)
				continue
			}
			c.Environments = []string{env}
			index[id] = len(out)
			out = append(out, c)
		}
	}
	slices.SortStableFunc(out, func(a, b Change) int {
		if (a.Segment != "") != (b.Segment != "") {
			if a.Segment == "" {
				return -1
			}
			return 1
		}
		return strings.Compare(a.Flag+a.Segment, b.Flag+b.Segment)
	})
	return out
}

// Lines renders changes for people: one line per flag or segment and set of environments,
// the summaries of that subject joined with "; ". The environments are named in
// parentheses unless the change applies to every one of all (and all has more than one).
func Lines(changes []Change, all []string) []string {
	type group struct {
		head      string
		summaries []string
	}
	var groups []*group
	byHead := map[string]*group{}
	for _, c := range changes {
		head := c.Subject()
		if len(all) < 2 || !slices.Equal(c.Environments, all) {
			head += " (" + strings.Join(c.Environments, ", ") + ")"
		}
		g := byHead[head]
		if g == nil {
			g = &group{head: head}
			byHead[head] = g
			groups = append(groups, g)
		}
		g.summaries = append(g.summaries, c.Summary)
	}
	lines := make([]string, len(groups))
	for i, g := range groups {
		lines[i] = g.head + ": " + strings.Join(g.summaries, "; ")
	}
	return lines
}

// Count returns how many flags and segments the changes touch.
func Count(changes []Change) (flags, segments int) {
	seenF, seenS := map[string]bool{}, map[string]bool{}
	for _, c := range changes {
		if c.Segment != "" {
			seenS[c.Segment] = true
		} else {
			seenF[c.Flag] = true
		}
	}
	return len(seenF), len(seenS)
}

// Plural returns "1 flag" or "3 flags".
func Plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return strconv.Itoa(n) + " " + word + "s"
}
