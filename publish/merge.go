package publish

import (
	"fmt"
	"sort"

	"github.com/edgeflag/edgeflag/snapshot"
)

// Merge applies a kill state to a base snapshot: every flag the state names is killed
// (flags the base does not have are ignored, and flags killed in their source stay
// killed). It returns the encoded snapshot to serve and the keys of its killed flags,
// sorted. When the state kills nothing new, the served snapshot is the base, byte for
// byte, so it keeps the base's hash.
func Merge(base []byte, state *KillState) (served []byte, killed []string, err error) {
	s, err := snapshot.Decode(base)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %w", ErrInvalidSnapshot, err)
	}
	served, killed = merge(base, s, state)
	return served, killed, nil
}

// merge is Merge on a base already decoded into s, which it modifies.
func merge(base []byte, s *snapshot.Snapshot, state *KillState) (served []byte, killed []string) {
	changed := false
	killed = []string{}
	for i := range s.Flags {
		f := &s.Flags[i]
		if _, kill := state.Killed[f.Key]; kill && !f.Killed {
			f.Killed = true
			changed = true
		}
		if f.Killed {
			killed = append(killed, f.Key)
		}
	}
	sort.Strings(killed)
	if !changed {
		return base, killed
	}
	return snapshot.Encode(s), killed
}
