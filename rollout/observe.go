package rollout

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// Observation is what the queries of one metric returned for the two variants of a
// rollout over one window: per query role, the value of each variant found.
type Observation struct {
	Metric Metric
	// Values maps a query role (QueryNumerator, ...) to the values by variant.
	Values map[string]map[string]float64
	// Err is set when a query failed (the provider is unreachable, the query is bad).
	Err error
}

// value returns one role's value for a variant.
func (o *Observation) value(role, variant string) (float64, bool) {
	v, ok := o.Values[role][variant]
	return v, ok
}

// observer runs queries with bounded concurrency.
type observer struct {
	providers map[string]Provider
	sem       chan struct{}
}

func newObserver(providers map[string]Provider, concurrency int) *observer {
	if concurrency <= 0 {
		concurrency = DefaultConcurrency
	}
	return &observer{providers: providers, sem: make(chan struct{}, concurrency)}
}

// DefaultConcurrency bounds the queries a controller runs at once.
const DefaultConcurrency = 16

// observe runs every query of metric m for the flag's two variants over window ending
// at end. The queries of one metric run in parallel, each holding a slot.
func (o *observer) observe(ctx context.Context, m Metric, env string, fp *FlagPlan, window time.Duration, end time.Time) *Observation {
	obs := &Observation{Metric: m, Values: map[string]map[string]float64{}}
	p, ok := o.providers[m.Provider]
	if !ok || p == nil {
		obs.Err = noProviderError{m.Provider}
		return obs
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for role, q := range m.Queries {
		wg.Add(1)
		go func() {
			defer wg.Done()
			select {
			case o.sem <- struct{}{}:
			case <-ctx.Done():
				mu.Lock()
				obs.Err = ctx.Err()
				mu.Unlock()
				return
			}
			defer func() { <-o.sem }()
			vals, err := p.Query(ctx, Request{
				Metric: m.Name, Query: q, Flag: fp.Flag, Environment: env,
				Variants: []string{fp.NewVariant, fp.OldVariant}, Window: window, End: end,
			})
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				if obs.Err == nil {
					obs.Err = fmt.Errorf("metric %s, %s query: %w", m.Name, role, err)
				}
				return
			}
			obs.Values[role] = vals
		}()
	}
	wg.Wait()
	return obs
}
