package cli

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/edgeflag/edgeflag/compiler"
	"github.com/edgeflag/edgeflag/internal/gitsrc"
	"github.com/edgeflag/edgeflag/snapshot"
)

// buildInfo is the snapshot header data that does not come from the flag files.
type buildInfo struct {
	revision  string
	buildTime int64 // Unix seconds
}

// buildSnapshot compiles the project for env and round-trips the result through the
// binary format, so that what commands evaluate is exactly what the edge would load.
func buildSnapshot(p *compiler.Project, env string, info buildInfo) (*snapshot.Snapshot, error) {
	data, err := buildEncoded(p, env, info)
	if err != nil {
		return nil, err
	}
	return snapshot.Decode(data)
}

// buildEncoded compiles the project for env and encodes the snapshot.
func buildEncoded(p *compiler.Project, env string, info buildInfo) ([]byte, error) {
	s, err := p.Build(env, compiler.Options{Revision: info.revision, BuildTime: info.buildTime})
	if err != nil {
		return nil, err
	}
	return snapshot.Encode(s), nil
}

// resolveBuildInfo decides the revision and build time of a compile:
//
//   - revision: --revision, else the HEAD commit of the git repository holding dir (with
//     "-dirty" when dir has uncommitted changes), else empty;
//   - build time: SOURCE_DATE_EPOCH, else the HEAD commit's time, else now.
//
// So compiling the same commit twice gives byte-identical snapshots.
func (r *runner) resolveBuildInfo(dir, revision string) (buildInfo, error) {
	info := buildInfo{revision: revision, buildTime: -1}
	if epoch := strings.TrimSpace(r.getenv("SOURCE_DATE_EPOCH")); epoch != "" {
		sec, err := strconv.ParseInt(epoch, 10, 64)
		if err != nil {
			return info, fmt.Errorf("SOURCE_DATE_EPOCH=%q: want Unix seconds", epoch)
		}
		info.buildTime = sec
	}
	if info.revision == "" || info.buildTime < 0 {
		if repo, err := gitsrc.Open(dir); err == nil {
			if head, err := repo.Head(); err == nil {
				if info.revision == "" {
					info.revision = head.Hash
					if dirty, err := repo.Dirty(); err == nil && dirty {
						info.revision += "-dirty"
					}
				}
				if info.buildTime < 0 {
					info.buildTime = head.Time.Unix()
				}
			}
		}
	}
	if info.buildTime < 0 {
		info.buildTime = r.env.Now().Unix()
	}
	return info, nil
}

// formatUnix formats Unix seconds as RFC 3339 in UTC.
func formatUnix(sec int64) string {
	return time.Unix(sec, 0).UTC().Format(time.RFC3339)
}

// environments returns the environments a command works on: the one named by --env, which
// must exist, or all of the project's.
func environments(p *compiler.Project, env string) ([]string, error) {
	if env == "" {
		return p.Environments, nil
	}
	if !p.HasEnvironment(env) {
		return nil, usagef("unknown environment %q (the project has %s)", env, strings.Join(p.Environments, ", "))
	}
	return []string{env}, nil
}

// encodePlans encodes every environment's rollout plan (the flags' stages and the
// metrics they name), in the order of envs.
func encodePlans(p *compiler.Project, envs []string) ([][]byte, error) {
	plans := make([][]byte, len(envs))
	for i, e := range envs {
		plan, err := p.RolloutPlan(e)
		if err == nil {
			plans[i], err = plan.Encode()
		}
		if err != nil {
			return nil, fmt.Errorf("environment %s: rollout plan: %v", e, err)
		}
	}
	return plans, nil
}

// encodeAll builds every environment before anything is written, so that a problem in one
// leaves nothing half-done. On error it names the environment that failed.
func encodeAll(p *compiler.Project, envs []string, info buildInfo) ([][]byte, error) {
	encoded := make([][]byte, len(envs))
	for i, e := range envs {
		var err error
		if encoded[i], err = buildEncoded(p, e, info); err != nil {
			return nil, fmt.Errorf("environment %s: %v", e, err)
		}
	}
	return encoded, nil
}
