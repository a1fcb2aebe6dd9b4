// Package publishtest builds small, valid encoded snapshots for tests of publishing, the
// kill switch and the stores, without the compiler.
package publishtest

import (
	"sort"

	"github.com/edgeflag/edgeflag/snapshot"
)

// Snapshot returns an encoded snapshot of env with a boolean flag (variants off and on)
// for each key, sorted. Each flag is enabled and serves on to 25% of users by
// targetingKey; a flag named "*-ring" instead releases on to a "canary" ring of 5% and
// then "everyone", at canary. revision and buildTime tell snapshots apart.
func Snapshot(env, revision string, buildTime int64, flags ...string) []byte {
	return snapshot.Encode(Build(env, revision, buildTime, flags...))
}

// Build is Snapshot before encoding, for tests that change it further.
func Build(env, revision string, buildTime int64, flags ...string) *snapshot.Snapshot {
	keys := append([]string(nil), flags...)
	sort.Strings(keys)
	s := &snapshot.Snapshot{
		Environment: env,
		Revision:    revision,
		BuildTime:   buildTime,
		Attributes:  []string{"targetingKey"},
	}
	for _, key := range keys {
		f := snapshot.Flag{
			Key:            key,
			Type:           snapshot.TypeBoolean,
			Variants:       []snapshot.Variant{{Name: "off", JSON: "false"}, {Name: "on", JSON: "true"}},
			OffVariant:     0,
			DefaultVariant: 0,
			Enabled:        true,
			Seed:           snapshot.SeedFor(key),
			BucketBy:       0,
			ReleaseRing:    snapshot.NoIndex,
			ReleaseVar:     1,
			Rollout: snapshot.Serve{
				Kind:    snapshot.ServeVariant,
				Variant: 1,
				Portion: snapshot.Portion{Kind: snapshot.PortionPercentage, Threshold: snapshot.ThresholdFor(25), BucketBy: snapshot.NoIndex},
			},
		}
		if len(key) > 5 && key[len(key)-5:] == "-ring" {
			f.Rings = []snapshot.Ring{
				{Name: "canary", Portion: snapshot.Portion{Kind: snapshot.PortionPercentage, Threshold: snapshot.ThresholdFor(5), BucketBy: snapshot.NoIndex}},
				{Name: "everyone", Portion: snapshot.Portion{Kind: snapshot.PortionAll, BucketBy: snapshot.NoIndex}},
			}
			f.ReleaseRing = 0
			f.Rollout = snapshot.Serve{Kind: snapshot.ServeVariant, Variant: 0, Portion: snapshot.Portion{Kind: snapshot.PortionAll, BucketBy: snapshot.NoIndex}}
		}
		s.Flags = append(s.Flags, f)
	}
	return s
}
