package evaluator_test

import (
	"fmt"

	"github.com/edgeflag/edgeflag/evaluator"
	"github.com/edgeflag/edgeflag/snapshot"
)

// exampleSnapshot is a one-flag snapshot; real ones come from the compiler.
func exampleSnapshot() *snapshot.Snapshot {
	email := snapshot.Condition{Kind: snapshot.CondClause, Clause: snapshot.Clause{
		Attribute: 0, Op: snapshot.OpEndsWith, IgnoreCase: true,
		Values: []snapshot.Literal{{Kind: snapshot.LitString, Str: "@company.com"}}}}
	return &snapshot.Snapshot{Environment: "production", Attributes: []string{"email", "userId"},
		Flags: []snapshot.Flag{{Key: "new-checkout-flow", Type: snapshot.TypeBoolean, Enabled: true,
			Variants:    []snapshot.Variant{{Name: "off", JSON: "false"}, {Name: "on", JSON: "true"}},
			BucketBy:    1,
			ReleaseRing: snapshot.NoIndex,
			Rules: []snapshot.Rule{{Name: "staff", When: &email,
				Serve: snapshot.Serve{Kind: snapshot.ServeVariant, Variant: 1, Portion: snapshot.Portion{BucketBy: snapshot.NoIndex}}}},
			Rollout: snapshot.Serve{Kind: snapshot.ServeVariant, Variant: 0, Portion: snapshot.Portion{BucketBy: snapshot.NoIndex}}}}}
}

func ExampleEvaluator_EvaluateAt() {
	e := evaluator.New(exampleSnapshot())
	ctx := evaluator.NewContext().SetString("userId", "u1").SetString("email", "Ann@Company.com")
	r := e.EvaluateAt("new-checkout-flow", ctx, 1_795_694_400_000) // 2026-11-26T12:00:00Z
	fmt.Println(r.Variant, r.Reason, r.Kind, r.Name)
	// Output: on TARGETING_MATCH rule staff
}

func ExampleEvaluator_AppendResultJSON() {
	e := evaluator.New(exampleSnapshot())
	ctx := evaluator.NewContext().SetString("userId", "u1").SetString("email", "bob@example.org")
	out := e.AppendResultJSON(nil, "new-checkout-flow", ctx, 1_795_694_400_000, false)
	fmt.Println(string(out))
	// Output: {"key":"new-checkout-flow","value":false,"variant":"off","reason":"DEFAULT","decision":{"kind":"default"}}
}
