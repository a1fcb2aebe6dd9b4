package publish

import (
	"fmt"
	"sort"

	"github.com/edgeflag/edgeflag/snapshot"
)

// Merge applies the runtime state of an environment to a base snapshot: first what each
// rollout serves now (rollouts may be nil), then the kill state, so a kill always wins.
// Every flag the kill state names is killed (flags the base does not have are ignored,
// and flags killed in their source stay killed). It returns the encoded snapshot to
// serve and the keys of its killed flags, sorted. When the states change nothing, the
// served snapshot is the base, byte for byte, so it keeps the base's hash.
func Merge(base []byte, state *KillState, rollouts *RolloutState) (served []byte, killed []string, err error) {
	s, err := snapshot.Decode(base)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %w", ErrInvalidSnapshot, err)
	}
	served, killed = merge(base, s, state, rollouts)
	return served, killed, nil
}

// merge is Merge on a base already decoded into s, which it modifies.
func merge(base []byte, s *snapshot.Snapshot, state *KillState, rollouts *RolloutState) (served []byte, killed []string) {
	changed := applyRollouts(s, rollouts)
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
