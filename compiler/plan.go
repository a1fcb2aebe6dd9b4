package compiler

import (
	"fmt"
	"strings"

	"github.com/edgeflag/edgeflag/rollout"
)

// RolloutPlan returns the rollout plan of one environment: a FlagPlan for every flag
// whose stages apply there, sorted by key, the project's rollout settings, and the
// definitions of the metrics those flags' criteria name. The same project always gives
// the same plan, and so the same rollout.Plan.Encode bytes.
//
// The stages of a flag apply in an environment unless, there, the flag is killed or
// disabled, or an override of its rollout (percentage stages) or release (ring stages)
// does not start at the first stage: another percentage, a schedule, a split or another
// ring. Such an environment serves the override as written and has no plan for the flag.
// An override that only changes the rollout's or release's variant, or the offVariant,
// changes the plan's NewVariant or OldVariant in that environment.
//
// The project must come from Load; RolloutPlan fails only for an environment the project
// does not list.
func (p *Project) RolloutPlan(env string) (*rollout.Plan, error) {
	if !p.HasEnvironment(env) {
		return nil, fmt.Errorf("compiler: unknown environment %q (the project has %s)", env, strings.Join(p.Environments, ", "))
	}
	plan := &rollout.Plan{Environment: env, Metrics: map[string]rollout.Metric{}, Defaults: p.Rollouts, Flags: []rollout.FlagPlan{}}
	for _, f := range p.Flags {
		g := f.In(env)
		newVariant, ok := stagedVariant(g)
		if !ok || newVariant == g.OffVariant {
			continue
		}
		fp := rollout.FlagPlan{
			Flag:       f.Key,
			NewVariant: newVariant,
			OldVariant: g.OffVariant,
			Settings:   p.Rollouts,
			Stages:     make([]rollout.Stage, len(f.Stages)),
			File:       f.File,
			Line:       f.Fields["stages"].Line,
		}
		for i, st := range f.Stages {
			fp.Stages[i] = p.planStage(st)
			for _, c := range st.SuccessCriteria {
				if m := p.Metric(c.Metric); m != nil {
					plan.Metrics[m.Name] = m.Metric
				}
			}
		}
		fp.Fingerprint = rollout.Fingerprint(fp.Stages)
		plan.Flags = append(plan.Flags, fp)
	}
	return plan, nil
}

// RolloutPlans returns the rollout plan of every environment of the project, by
// environment.
func (p *Project) RolloutPlans() map[string]*rollout.Plan {
	out := make(map[string]*rollout.Plan, len(p.Environments))
	for _, env := range p.Environments {
		out[env], _ = p.RolloutPlan(env) // every listed environment has a plan
	}
	return out
}

func (p *Project) planStage(st *Stage) rollout.Stage {
	out := rollout.Stage{Ring: st.Ring, Duration: rollout.Duration(st.Duration), Infinite: st.Infinite}
	if st.Ring == "" {
		pct := st.Percentage
		out.Percentage = &pct
	}
	for _, c := range st.SuccessCriteria {
		m := p.Metric(c.Metric)
		if m == nil {
			continue // Load reports unknown metrics; only a project built by hand gets here
		}
		v, err := criterionValue(c, m.Name, m.Unit)
		if err != nil {
			continue // likewise
		}
		out.Criteria = append(out.Criteria, rollout.Criterion{
			Metric:     c.Metric,
			Threshold:  c.Threshold,
			Comparison: c.Comparison,
			Value:      v,
			Baseline:   c.Baseline,
			OnFail:     c.OnFail,
		})
	}
	return out
}
