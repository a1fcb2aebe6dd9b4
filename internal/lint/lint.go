// Package lint finds flag-lifecycle problems, the "long-lived feature flags" anti-pattern:
// flags past their expiry date, and temporary flags that have served one variant to
// everyone (100% rolled out, or 0%: never shipped) for longer than a grace period. Each
// finding says what to remove. Permanent flags (kill switches, configuration) are exempt
// from the second check.
package lint

import (
	"fmt"
	"strings"
	"time"

	"github.com/edgeflag/edgeflag/compiler"
	"github.com/edgeflag/edgeflag/internal/serving"
	"github.com/edgeflag/edgeflag/snapshot"
)

// Kinds of finding.
const (
	Expired = "expired" // the flag's expires date has passed
	Stale   = "stale"   // a temporary flag has served one variant to everyone for too long
)

// Finding is one lifecycle problem.
type Finding struct {
	Flag    string `json:"flag"`
	File    string `json:"file"`
	Line    int    `json:"line"`
	Column  int    `json:"column"`
	Kind    string `json:"kind"`
	Message string `json:"message"` // what is wrong
	Remove  string `json:"remove"`  // what to remove
	// Variant is the variant served to everyone, for stale flags and expired flags that
	// serve one variant; Since is when that started ("" when not known).
	Variant string `json:"variant,omitempty"`
	Since   string `json:"since,omitempty"`
}

// String formats the finding as file:line:column: flag: message; remove.
func (f *Finding) String() string {
	return fmt.Sprintf("%s:%d:%d: %s: %s; %s", f.File, f.Line, f.Column, f.Flag, f.Message, f.Remove)
}

// Options configure the checks.
type Options struct {
	Now        time.Time
	StaleAfter time.Duration // the grace period after a full rollout; 14 days when 0
	// LastChange returns when a flag file was last changed in version control; nil, or
	// false, when that is not known.
	LastChange func(file string) (time.Time, bool)
}

// DefaultStaleAfter is the grace period the guide recommends: remove the flag two weeks
// after it reached 100%.
const DefaultStaleAfter = 14 * 24 * time.Hour

// Run checks every flag of the project. snapshots holds the project compiled for each of
// its environments; a flag counts as serving one variant only when it serves the same one
// in every environment. Findings come sorted by flag key.
func Run(p *compiler.Project, snapshots map[string]*snapshot.Snapshot, opts Options) []Finding {
	if opts.StaleAfter == 0 {
		opts.StaleAfter = DefaultStaleAfter
	}
	var out []Finding
	for _, f := range p.Flags {
		variant, since, uniform := servesOne(f.Key, p.Environments, snapshots, opts.Now)
		if uniform && since == serving.Forever && opts.LastChange != nil {
			if t, ok := opts.LastChange(f.File); ok {
				since = t.UnixMilli()
			}
		} else if uniform && opts.LastChange != nil {
			// A later edit of the file may have changed what it serves.
			if t, ok := opts.LastChange(f.File); ok && t.UnixMilli() > since {
				since = t.UnixMilli()
			}
		}
		base := Finding{Flag: f.Key, File: f.File, Line: f.Line, Column: f.Column}
		if !f.Expires.IsZero() && !opts.Now.Before(f.Expires) {
			fd := base
			fd.Kind = Expired
			pos := f.Fields["expires"]
			if pos.Line > 0 {
				fd.Line, fd.Column = pos.Line, pos.Column
			}
			fd.Message = "expired on " + f.Expires.Format(time.DateOnly) + " (" + ago(opts.Now.Sub(f.Expires)) + ")"
			if uniform {
				fd.Variant = variant
				fd.Since = formatSince(since)
				fd.Remove = removal(f, variant)
			} else {
				fd.Remove = "finish the rollout (or roll it back) and remove the flag, or move expires to a new cleanup date"
			}
			out = append(out, fd)
		}
		if f.Lifecycle == compiler.Permanent || !uniform || since == serving.Forever {
			continue
		}
		age := opts.Now.Sub(time.UnixMilli(since))
		if age <= opts.StaleAfter {
			continue
		}
		fd := base
		fd.Kind = Stale
		fd.Variant = variant
		fd.Since = formatSince(since)
		share := "100%"
		if isOff(f, variant) {
			share = "0%"
		}
		fd.Message = fmt.Sprintf("has served %s to everyone (%s rolled out) since %s, %s, more than %s",
			variant, share, time.UnixMilli(since).UTC().Format(time.DateOnly), days(age), days(opts.StaleAfter))
		fd.Remove = removal(f, variant)
		out = append(out, fd)
	}
	return out
}

// servesOne reports whether the flag serves the same single variant in every
// environment, and since when (the latest of the environments).
func servesOne(key string, envs []string, snapshots map[string]*snapshot.Snapshot, now time.Time) (string, int64, bool) {
	name, since := "", serving.Forever
	for _, env := range envs {
		s := snapshots[env]
		if s == nil {
			return "", 0, false
		}
		fi := s.FlagIndex(key)
		if fi < 0 {
			return "", 0, false
		}
		v, t, ok := serving.Uniform(s, fi, now.UnixMilli())
		if !ok {
			return "", 0, false
		}
		vn := s.Flags[fi].Variants[v].Name
		if name != "" && vn != name {
			return "", 0, false
		}
		name, since = vn, max(since, t)
	}
	return name, since, name != ""
}

// isOff reports whether the variant is the flag's off or default variant: serving it to
// everyone means the feature never shipped.
func isOff(f *compiler.Flag, variant string) bool {
	return variant == f.OffVariant || (variant == f.DefaultVariant && f.DefaultVariant == f.OffVariant)
}

// removal says what to remove for a flag that serves variant to everyone.
func removal(f *compiler.Flag, variant string) string {
	var others []string
	for _, v := range f.Variants {
		if v.Name != variant {
			others = append(others, v.Name)
		}
	}
	what := "remove " + f.File + " and every check of " + f.Key + " in the code"
	if len(others) == 0 {
		return what
	}
	return what + ", keeping the code path for " + variant + " and deleting the path for " + strings.Join(others, ", ")
}

func formatSince(ms int64) string {
	if ms == serving.Forever {
		return ""
	}
	return time.UnixMilli(ms).UTC().Format(time.RFC3339)
}

// days formats a duration in whole days: "1 day", "26 days".
func days(d time.Duration) string {
	n := int(d / (24 * time.Hour))
	if n == 1 {
		return "1 day"
	}
	return fmt.Sprintf("%d days", n)
}

func ago(d time.Duration) string {
	if d < 24*time.Hour {
		return "today"
	}
	return days(d) + " ago"
}
