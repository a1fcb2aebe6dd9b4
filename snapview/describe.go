package snapview

import (
	"strconv"
	"strings"
)

// Percent formats a percentage the way people write it: 5%, 12.5%, 0.1%.
func Percent(p float64) string {
	return strconv.FormatFloat(p, 'f', -1, 64) + "%"
}

// Reach returns the nominal share of all users that a ring's percentage covers: its
// percentage or the last step of its schedule, or the largest percentage condition inside
// its condition (the canary's "beta users or 5%"). It is 0 for a ring chosen by segments
// or attributes only, whose size the snapshot cannot know.
func (r *Ring) Reach() float64 {
	switch {
	case r.Percentage != nil && r.When == nil:
		return *r.Percentage
	case r.Schedule != nil && r.When == nil && len(r.Schedule.Steps) > 0:
		return r.Schedule.Steps[len(r.Schedule.Steps)-1].Percentage
	case r.When != nil:
		return r.When.maxPercentage()
	}
	return 0
}

func (c *Condition) maxPercentage() float64 {
	var m float64
	if c.Percentage != nil {
		m = *c.Percentage
	}
	for i := range c.Any {
		m = max(m, c.Any[i].maxPercentage())
	}
	// In an all, a percentage bounds the audience from above too; the largest is still
	// the best nominal figure the snapshot can give.
	for i := range c.All {
		m = max(m, c.All[i].maxPercentage())
	}
	return m
}

// ReleaseReach returns the nominal share of users that the flag's release covers: the
// largest Reach of the rings at or inside the release ring (0 without a release).
func (f *Flag) ReleaseReach() float64 {
	var m float64
	for i := range f.Rings {
		if f.Rings[i].Released {
			m = max(m, f.Rings[i].Reach())
		}
	}
	return m
}

// String describes what a serve hands out in a few words: "on", "on to 5%",
// "on on a schedule of 7 steps (5% → 100%)", "split control 50% / treatment 50%".
func (s *Serve) String() string {
	var b strings.Builder
	switch {
	case len(s.Split) > 0:
		b.WriteString("split ")
		for i, w := range s.Split {
			if i > 0 {
				b.WriteString(" / ")
			}
			b.WriteString(w.Variant + " " + Percent(w.Percentage))
		}
	case s.Percentage != nil:
		b.WriteString(s.Variant + " to " + Percent(*s.Percentage))
	case s.Schedule != nil:
		b.WriteString(s.Variant + " on a schedule")
		if n := len(s.Schedule.Steps); n > 0 {
			b.WriteString(" of " + strconv.Itoa(n) + " step")
			if n > 1 {
				b.WriteString("s")
			}
			b.WriteString(" (" + Percent(s.Schedule.Steps[0].Percentage))
			if n > 1 {
				b.WriteString(" → " + Percent(s.Schedule.Steps[n-1].Percentage))
			}
			b.WriteString(" from " + s.Schedule.Steps[0].At + ")")
		}
	default:
		b.WriteString(s.Variant)
	}
	if s.BucketBy != "" {
		b.WriteString(" by " + s.BucketBy)
	}
	return b.String()
}

// Serves summarises what a flag hands out: "killed: serves off", "2 rules; release at
// ring canary (5%) serves on; rollout off".
func (f *Flag) Serves() string {
	switch {
	case f.Killed:
		return "killed: serves " + f.OffVariant
	case !f.Enabled:
		return "disabled: serves " + f.OffVariant
	}
	var parts []string
	if n := len(f.Prerequisites); n > 0 {
		parts = append(parts, plural(n, "prerequisite"))
	}
	if n := len(f.Rules); n > 0 {
		parts = append(parts, plural(n, "rule"))
	}
	if f.Release != nil {
		s := "release at ring " + f.Release.Ring
		if p := f.ReleaseReach(); p > 0 {
			s += " (" + Percent(p) + ")"
		}
		parts = append(parts, s+" serves "+f.Release.Variant)
	}
	parts = append(parts, "rollout "+f.Rollout.String())
	return strings.Join(parts, "; ")
}

func plural(n int, word string) string {
	s := strconv.Itoa(n) + " " + word
	if n != 1 {
		s += "s"
	}
	return s
}
