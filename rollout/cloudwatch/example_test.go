package cloudwatch_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/aws/aws-sdk-go-v2/config"
	awscw "github.com/aws/aws-sdk-go-v2/service/cloudwatch"

	"github.com/edgeflag/edgeflag/rollout"
	"github.com/edgeflag/edgeflag/rollout/cloudwatch"
)

// The p99 latency of each variant over the last 30 minutes, from a metric with a variant
// dimension: one GetMetricData call with a query per variant, Period 1800 s.
func ExampleProvider_Query() {
	ctx := context.Background()
	awsCfg, err := config.LoadDefaultConfig(ctx, config.WithRegion("eu-west-1"))
	if err != nil {
		log.Fatal(err)
	}
	p, err := cloudwatch.New(cloudwatch.Config{Client: awscw.NewFromConfig(awsCfg), Timeout: 20 * time.Second})
	if err != nil {
		log.Fatal(err)
	}
	values, err := p.Query(ctx, rollout.Request{
		Metric: "latency-p99",
		Query: rollout.Query{CloudWatch: &rollout.CloudWatchQuery{
			Namespace:  "Edgeflag",
			MetricName: "RequestDuration",
			Dimensions: map[string]string{"flag": "{{flag}}", "variant": "{{variant}}"},
			Stat:       "p99",
		}},
		Flag:     "checkout",
		Variants: []string{"on", "off"},
		Window:   30 * time.Minute,
		End:      time.Now(),
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(values)
}
