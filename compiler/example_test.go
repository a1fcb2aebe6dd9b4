package compiler_test

import (
	"errors"
	"fmt"
	"testing/fstest"

	"github.com/edgeflag/edgeflag/compiler"
	"github.com/edgeflag/edgeflag/snapshot"
)

// Load a flag directory, look at the source model, and build one environment's snapshot.
func Example() {
	project, err := compiler.Load("testdata/good")
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, f := range project.Flags {
		fmt.Printf("%s (%s) at %s:%d\n", f.Key, f.Type, f.File, f.Line)
	}
	f := project.Flag("new-search-algorithm")
	fmt.Println("release ring in production:", f.In("production").Release.Ring)
	fmt.Println("release ring in staging:", f.In("staging").Release.Ring)

	snap, err := project.Build("production", compiler.Options{Revision: "4aea3a5", BuildTime: 1764115200})
	if err != nil {
		fmt.Println(err)
		return
	}
	data := snapshot.Encode(snap)
	if _, err := snapshot.Decode(data); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(len(snap.Flags), "flags,", len(snap.Segments), "segments,", len(snap.Attributes), "attributes")
	// Output:
	// checkout-button-color (string) at testdata/good/flags/checkout/button.yml:2
	// checkout-limits (json) at testdata/good/flags/checkout/limits.yaml:2
	// max-items (number) at testdata/good/flags/checkout/limits.yaml:17
	// new-search-algorithm (boolean) at testdata/good/flags/new-search.yaml:3
	// search-index-v2 (boolean) at testdata/good/flags/search-index.yaml:2
	// release ring in production: canary
	// release ring in staging: everyone
	// 5 flags, 3 segments, 14 attributes
}

// Compile builds every environment at once.
func ExampleCompile() {
	snaps, err := compiler.Compile("testdata/good", compiler.Options{Revision: "4aea3a5", BuildTime: 1764115200})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, env := range []string{"staging", "production"} {
		s := snaps[env]
		f := s.Flags[s.FlagIndex("new-search-algorithm")]
		fmt.Printf("%s: release ring %s\n", env, f.Rings[f.ReleaseRing].Name)
	}
	// Output:
	// staging: release ring everyone
	// production: release ring canary
}

// Every problem is reported at once, with its file, line, column and field path.
func ExampleErrorList() {
	files := fstest.MapFS{
		"project.yaml": {Data: []byte("kind: Project\nenvironments: [production]\n")},
		"checkout.yaml": {Data: []byte(`kind: Flag
key: checkout
type: boolean
rules:
  - name: staff
    when: { attribute: email, op: endWith, value: "@company.com" }
    serve: on
`)},
		"search.yaml": {Data: []byte(`kind: Flag
key: search
type: boolean
prerequisites: [ { flag: checkout, variant: on } ]
rollout: { variant: onn, percentage: 10.00001 }
`)},
	}
	_, err := compiler.LoadFS(files)
	var list compiler.ErrorList
	if errors.As(err, &list) {
		for _, e := range list {
			fmt.Println(e)
		}
	}
	// Output:
	// checkout.yaml:6:35: rules[0].when.op: unknown value "endWith" (did you mean "endsWith"?)
	// search.yaml:5:21: rollout.variant: unknown variant "onn" (did you mean "on"?)
	// search.yaml:5:38: rollout.percentage: percentage 10.00001 is finer than 0.0001%
}

// The rollout plan of one environment: what the rollout controller executes.
func ExampleProject_RolloutPlan() {
	project, err := compiler.Load("testdata/good")
	if err != nil {
		fmt.Println(err)
		return
	}
	plan, err := project.RolloutPlan("production")
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, f := range plan.Flags {
		fmt.Printf("%s: %s against %s, %d stages (%s:%d)\n", f.Flag, f.NewVariant, f.OldVariant, len(f.Stages), f.File, f.Line)
		for _, st := range f.Stages {
			for _, c := range st.Criteria {
				m := plan.Metrics[c.Metric]
				fmt.Printf("  %v%%: %s %s → %s %v (%s, unit %q), on fail %s\n", *st.Percentage, c.Metric, c.Threshold, c.Comparison, c.Value, m.Kind, m.Unit, c.OnFail)
			}
		}
	}
	data, err := plan.Encode() // canonical JSON, for the store
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(len(data) > 0)
	// Output:
	// new-search-algorithm: on against off, 3 stages (testdata/good/flags/new-search.yaml:21)
	//   5%: error_rate < 0.5% → < 0.005 (ratio, unit "%"), on fail rollback
	//   5%: p99_latency < 500ms → < 500 (value, unit "ms"), on fail rollback
	//   25%: revenue_per_user >= baseline * 0.95 → >= 0.95 (mean, unit ""), on fail rollback
	// true
}
