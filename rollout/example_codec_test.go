package rollout_test

import (
	"fmt"
	"strings"
	"time"

	"github.com/edgeflag/edgeflag/rollout"
)

// Read a plan the compiler wrote and walk its stages.
func ExampleDecodePlan() {
	data := []byte(`{
  "environment": "production",
  "metrics": {"error_rate": {"name": "error_rate", "provider": "prometheus", "kind": "ratio", "unit": "%",
    "direction": "lowerIsBetter", "queries": {"numerator": {"promql": "errors"}, "denominator": {"promql": "requests"}}}},
  "defaults": {"minSamples": 500, "confidence": 0.95},
  "flags": [{"flag": "checkout", "fingerprint": "FINGERPRINT", "newVariant": "on", "oldVariant": "off",
    "settings": {"minSamples": 500, "confidence": 0.95},
    "stages": [
      {"percentage": 5, "duration": 1800000, "criteria": [
        {"metric": "error_rate", "threshold": "< 0.5%", "comparison": "<", "value": 0.005, "onFail": "rollback"}]},
      {"percentage": 100, "duration": 0, "infinite": true}]}]
}`)
	_, err := rollout.DecodePlan(data)
	fmt.Println(err)

	// The fingerprint is derived from the stages; a plan with the right one decodes.
	stages := []rollout.Stage{
		{Percentage: ptr(5), Duration: rollout.Duration(30 * time.Minute), Criteria: []rollout.Criterion{
			{Metric: "error_rate", Threshold: "< 0.5%", Comparison: "<", Value: 0.005, OnFail: rollout.OnFailRollback}}},
		{Percentage: ptr(100), Infinite: true},
	}
	plan, err := rollout.DecodePlan([]byte(strings.Replace(string(data), "FINGERPRINT", rollout.Fingerprint(stages), 1)))
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, st := range plan.Flags[0].Stages {
		for _, c := range st.Criteria {
			fmt.Printf("%v%%: %s %s %v, on fail %s\n", *st.Percentage, c.Metric, c.Comparison, c.Value, c.OnFail)
		}
	}
	// Output:
	// rollout: invalid plan for "production": flag "checkout": fingerprint "FINGERPRINT" does not match the stages ("d2ccebc505af340d")
	// 5%: error_rate < 0.005, on fail rollback
}

func ptr(f float64) *float64 { return &f }
