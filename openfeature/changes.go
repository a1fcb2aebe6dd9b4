package openfeature

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"slices"

	"github.com/edgeflag/edgeflag/snapshot"
	"github.com/edgeflag/edgeflag/snapview"
)

// fingerprints returns, for every flag of s, a hash of everything its evaluation depends
// on: its own definition in flag-language terms (names, not indexes, so adding an
// attribute or a segment elsewhere changes nothing), the segments its conditions use,
// directly or through other segments, and the fingerprints of its prerequisites.
func fingerprints(s *snapshot.Snapshot) map[string]string {
	v := snapview.Of(s)
	segments := make(map[string]*snapview.Segment, len(v.Segments))
	for i := range v.Segments {
		segments[v.Segments[i].Key] = &v.Segments[i]
	}
	flags := make(map[string]*snapview.Flag, len(v.Flags))
	for i := range v.Flags {
		flags[v.Flags[i].Key] = &v.Flags[i]
	}
	out := make(map[string]string, len(v.Flags))
	var print func(key string) string
	print = func(key string) string {
		if fp, ok := out[key]; ok {
			return fp
		}
		f := flags[key]
		h := sha256.New()
		writeJSON(h, f)
		used := map[string]bool{}
		for i := range f.Rules {
			segmentsOf(f.Rules[i].When, segments, used)
		}
		for i := range f.Rings {
			segmentsOf(f.Rings[i].When, segments, used)
		}
		keys := make([]string, 0, len(used))
		for k := range used {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			writeJSON(h, segments[k])
		}
		for _, pre := range f.Prerequisites {
			h.Write([]byte(print(pre.Flag))) // prerequisites form no cycles (snapshot.Decode checks)
		}
		fp := hex.EncodeToString(h.Sum(nil))
		out[key] = fp
		return fp
	}
	for key := range flags {
		print(key)
	}
	return out
}

// segmentsOf adds to used the segments c refers to, and the ones those refer to.
func segmentsOf(c *snapview.Condition, segments map[string]*snapview.Segment, used map[string]bool) {
	if c == nil {
		return
	}
	if c.Segment != "" && !used[c.Segment] {
		used[c.Segment] = true
		if s := segments[c.Segment]; s != nil {
			segmentsOf(&s.When, segments, used)
		}
	}
	for i := range c.All {
		segmentsOf(&c.All[i], segments, used)
	}
	for i := range c.Any {
		segmentsOf(&c.Any[i], segments, used)
	}
	segmentsOf(c.Not, segments, used)
}

func writeJSON(h interface{ Write([]byte) (int, error) }, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		b = []byte(err.Error()) // views are plain data; this does not happen
	}
	h.Write(b)
	h.Write([]byte{0})
}

// changedFlags returns the sorted keys of the flags added, removed or changed between two
// sets of fingerprints.
func changedFlags(before, after map[string]string) []string {
	var changed []string
	for k, fp := range after {
		if before[k] != fp {
			changed = append(changed, k)
		}
	}
	for k := range before {
		if _, ok := after[k]; !ok {
			changed = append(changed, k)
		}
	}
	slices.Sort(changed)
	return changed
}
