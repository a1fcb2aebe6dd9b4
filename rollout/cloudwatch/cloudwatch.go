// Package cloudwatch is the rollout controller's metric provider for Amazon CloudWatch:
// one GetMetricData call per query, with one MetricDataQuery per variant.
//
// The query's dimension values (or its metric math / Metrics Insights expression) must
// contain {{variant}}: CloudWatch has no group-by the provider could read variants from.
// Each variant's query asks for a single datapoint covering the whole window: Period is
// the window rounded up to a multiple of 60 seconds, StartTime is End minus that period and
// EndTime is End. When CloudWatch returns several datapoints for a query anyway (pages,
// or a period it split), they are combined by the statistic: Sum and SampleCount add up,
// Minimum and Maximum take the extreme, any other statistic or expression takes the
// latest datapoint. A variant without datapoints is absent from the result.
package cloudwatch

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	"github.com/aws/smithy-go"

	"github.com/edgeflag/edgeflag/rollout"
)

// Environment variables NewFromEnv reads.
const (
	// EnvRegion is the AWS region of the metrics; empty means the AWS configuration's
	// (AWS_REGION, the shared config file).
	EnvRegion = "EDGEFLAG_CLOUDWATCH_REGION"
	// EnvEndpoint overrides the CloudWatch endpoint URL (an interface endpoint, or an
	// emulator); empty means the region's.
	EnvEndpoint = "EDGEFLAG_CLOUDWATCH_ENDPOINT"
)

// DefaultTimeout bounds one Query when Config.Timeout is zero.
const DefaultTimeout = 30 * time.Second

// maxPages bounds the NextToken pages of one query.
const maxPages = 100

// API is the part of the CloudWatch client the provider uses; *cloudwatch.Client
// implements it.
type API interface {
	GetMetricData(ctx context.Context, in *cloudwatch.GetMetricDataInput, optFns ...func(*cloudwatch.Options)) (*cloudwatch.GetMetricDataOutput, error)
}

// Config configures a Provider.
type Config struct {
	// Client calls CloudWatch (required): cloudwatch.NewFromConfig(awsConfig).
	Client API
	// Timeout bounds each Query, all pages and retries included; zero means DefaultTimeout.
	Timeout time.Duration
}

// Provider queries CloudWatch. It is safe for concurrent use.
type Provider struct {
	client  API
	timeout time.Duration
}

var _ rollout.Provider = (*Provider)(nil)

// New returns a Provider for cfg.
func New(cfg Config) (*Provider, error) {
	if cfg.Client == nil {
		return nil, errors.New("cloudwatch: no client configured")
	}
	if cfg.Timeout < 0 {
		return nil, fmt.Errorf("cloudwatch: timeout %v is negative", cfg.Timeout)
	}
	p := &Provider{client: cfg.Client, timeout: cfg.Timeout}
	if p.timeout == 0 {
		p.timeout = DefaultTimeout
	}
	return p, nil
}

// NewFromEnv returns a Provider with a client from the default AWS configuration chain
// (credentials from the environment, shared files, web identity, ECS or EC2), in the
// region EDGEFLAG_CLOUDWATCH_REGION (or the configuration's), at the endpoint
// EDGEFLAG_CLOUDWATCH_ENDPOINT when set.
func NewFromEnv(ctx context.Context) (*Provider, error) {
	var opts []func(*config.LoadOptions) error
	if region := strings.TrimSpace(os.Getenv(EnvRegion)); region != "" {
		opts = append(opts, config.WithRegion(region))
	}
	awsCfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("cloudwatch: loading the AWS configuration: %w", err)
	}
	if awsCfg.Region == "" {
		return nil, fmt.Errorf("cloudwatch: no AWS region: set %s or AWS_REGION", EnvRegion)
	}
	endpoint := strings.TrimSpace(os.Getenv(EnvEndpoint))
	client := cloudwatch.NewFromConfig(awsCfg, func(o *cloudwatch.Options) {
		if endpoint != "" {
			o.BaseEndpoint = aws.String(endpoint)
		}
	})
	return New(Config{Client: client})
}

// QueryError is the error of a query: which metric, which query, and what happened.
type QueryError struct {
	Metric string
	Query  string // a description of the CloudWatch query
	Err    error
}

// Error describes the failure.
func (e *QueryError) Error() string {
	return fmt.Sprintf("cloudwatch: metric %q: query %s: %v", e.Metric, e.Query, e.Err)
}

// Unwrap returns what happened.
func (e *QueryError) Unwrap() error { return e.Err }

// Period returns the GetMetricData period for a window: the window rounded up to a
// multiple of 60 seconds, at least 60 seconds.
func Period(window time.Duration) int32 {
	s := int64(math.Ceil(window.Seconds()/60)) * 60
	if s < 60 {
		s = 60
	}
	if s > math.MaxInt32 {
		s = math.MaxInt32 / 60 * 60
	}
	return int32(s)
}

// Query runs r's CloudWatch query for each requested variant over the window ending at
// r.End and returns the value of each variant with data.
func (p *Provider) Query(ctx context.Context, r rollout.Request) (map[string]float64, error) {
	q := r.Query.CloudWatch
	if q == nil {
		return nil, &QueryError{Metric: r.Metric, Query: "(none)", Err: errors.New("the metric has no CloudWatch query for this provider")}
	}
	desc := describe(q, r)
	fail := func(err error) error { return &QueryError{Metric: r.Metric, Query: desc, Err: err} }
	if err := validate(q); err != nil {
		return nil, fail(err)
	}
	if len(r.Variants) == 0 {
		return map[string]float64{}, nil
	}
	period := Period(r.Window)
	end := r.End
	if end.IsZero() {
		end = time.Now()
	}
	end = end.Truncate(time.Second)
	start := end.Add(-time.Duration(period) * time.Second)

	queries := make([]types.MetricDataQuery, len(r.Variants))
	byID := make(map[string]string, len(r.Variants))
	for i, variant := range r.Variants {
		id := fmt.Sprintf("v%d", i)
		byID[id] = variant
		queries[i] = buildQuery(q, r, variant, id, period)
	}
	in := &cloudwatch.GetMetricDataInput{
		MetricDataQueries: queries,
		StartTime:         aws.Time(start),
		EndTime:           aws.Time(end),
		ScanBy:            types.ScanByTimestampDescending,
	}

	ctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	points := make(map[string][]point, len(queries))
	for page := 0; ; page++ {
		if page == maxPages {
			return nil, fail(fmt.Errorf("more than %d pages of results (NextToken)", maxPages))
		}
		out, err := p.client.GetMetricData(ctx, in)
		if err != nil {
			return nil, fail(callError(ctx, err, p.timeout))
		}
		for _, res := range out.MetricDataResults {
			id := aws.ToString(res.Id)
			variant, ok := byID[id]
			if !ok {
				return nil, fail(fmt.Errorf("result for unknown query id %q", id))
			}
			switch res.StatusCode {
			case types.StatusCodeComplete, types.StatusCodePartialData, "":
			default: // InternalError, Forbidden
				return nil, fail(fmt.Errorf("variant %q: status %s%s", variant, res.StatusCode, messages(res.Messages, out.Messages)))
			}
			if len(res.Timestamps) != len(res.Values) {
				return nil, fail(fmt.Errorf("variant %q: %d timestamps for %d values", variant, len(res.Timestamps), len(res.Values)))
			}
			for i, v := range res.Values {
				points[id] = append(points[id], point{t: res.Timestamps[i], v: v})
			}
			if res.StatusCode == types.StatusCodePartialData && out.NextToken == nil {
				return nil, fail(fmt.Errorf("variant %q: status PartialData and no NextToken to read the rest%s", variant, messages(res.Messages, out.Messages)))
			}
		}
		if out.NextToken == nil || *out.NextToken == "" {
			break
		}
		in.NextToken = out.NextToken
	}

	values := make(map[string]float64, len(r.Variants))
	for id, variant := range byID {
		if v, ok := combine(q, points[id]); ok {
			values[variant] = v
		}
	}
	return values, nil
}

type point struct {
	t time.Time
	v float64
}

// combine reduces a query's datapoints to one value, by its statistic.
func combine(q *rollout.CloudWatchQuery, pts []point) (float64, bool) {
	pts = slices.DeleteFunc(pts, func(p point) bool { return math.IsNaN(p.v) || math.IsInf(p.v, 0) })
	if len(pts) == 0 {
		return 0, false
	}
	stat := ""
	if q.Expression == "" {
		stat = q.Stat
	}
	switch stat {
	case "Sum", "SampleCount":
		var s float64
		for _, p := range pts {
			s += p.v
		}
		return s, true
	case "Minimum", "Maximum":
		v := pts[0].v
		for _, p := range pts[1:] {
			if (stat == "Minimum") == (p.v < v) {
				v = p.v
			}
		}
		return v, true
	}
	latest := pts[0]
	for _, p := range pts[1:] {
		if p.t.After(latest.t) {
			latest = p
		}
	}
	return latest.v, true
}

func validate(q *rollout.CloudWatchQuery) error {
	if !rollout.HasVariantPlaceholder(q.Expression) && !slices.ContainsFunc(mapValues(q.Dimensions), rollout.HasVariantPlaceholder) {
		return errors.New("no {{variant}} in a dimension value or the expression, so CloudWatch cannot tell the variants apart: add a dimension such as variant: \"{{variant}}\"")
	}
	if q.Expression != "" {
		if q.MetricName != "" || q.Namespace != "" || len(q.Dimensions) > 0 || q.Stat != "" {
			return errors.New("an expression and a metric (namespace, metricName, dimensions, stat) are exclusive")
		}
		return nil
	}
	switch {
	case q.Namespace == "" || q.MetricName == "":
		return errors.New("a metric needs a namespace and a metricName (or an expression)")
	case q.Stat == "":
		return errors.New("a metric needs a stat (Sum, Average, SampleCount, Minimum, Maximum, p99 and so on)")
	}
	return nil
}

func buildQuery(q *rollout.CloudWatchQuery, r rollout.Request, variant, id string, period int32) types.MetricDataQuery {
	mdq := types.MetricDataQuery{
		Id:         aws.String(id),
		Label:      aws.String(variant),
		ReturnData: aws.Bool(true),
	}
	if q.Expression != "" {
		mdq.Expression = aws.String(rollout.Expand(q.Expression, r, variant))
		mdq.Period = aws.Int32(period)
		return mdq
	}
	names := make([]string, 0, len(q.Dimensions))
	for name := range q.Dimensions {
		names = append(names, name)
	}
	slices.Sort(names)
	dims := make([]types.Dimension, len(names))
	for i, name := range names {
		dims[i] = types.Dimension{Name: aws.String(name), Value: aws.String(rollout.Expand(q.Dimensions[name], r, variant))}
	}
	mdq.MetricStat = &types.MetricStat{
		Metric: &types.Metric{
			Namespace:  aws.String(q.Namespace),
			MetricName: aws.String(q.MetricName),
			Dimensions: dims,
		},
		Period: aws.Int32(period),
		Stat:   aws.String(q.Stat),
	}
	return mdq
}

// describe names a query for messages, with the flag and environment expanded.
func describe(q *rollout.CloudWatchQuery, r rollout.Request) string {
	if q.Expression != "" {
		e := strings.Join(strings.Fields(rollout.Expand(q.Expression, r, "{{variant}}")), " ")
		if rs := []rune(e); len(rs) > 120 {
			e = string(rs[:119]) + "…"
		}
		return "expression `" + e + "`"
	}
	names := make([]string, 0, len(q.Dimensions))
	for name := range q.Dimensions {
		names = append(names, name)
	}
	slices.Sort(names)
	var dims []string
	for _, name := range names {
		dims = append(dims, name+"="+rollout.Expand(q.Dimensions[name], r, "{{variant}}"))
	}
	return fmt.Sprintf("%s %s %s {%s}", q.Namespace, q.MetricName, q.Stat, strings.Join(dims, ", "))
}

// callError says why a GetMetricData call failed.
func callError(ctx context.Context, err error, timeout time.Duration) error {
	var apiErr smithy.APIError
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return fmt.Errorf("cannot reach CloudWatch: connection refused: %w", err)
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		return fmt.Errorf("no answer from CloudWatch within %v (timeout): %w", timeout, err)
	case errors.As(err, &apiErr):
		return fmt.Errorf("GetMetricData failed: %s: %s: %w", apiErr.ErrorCode(), apiErr.ErrorMessage(), err)
	}
	return fmt.Errorf("GetMetricData: %w", err)
}

func messages(lists ...[]types.MessageData) string {
	var parts []string
	for _, list := range lists {
		for _, m := range list {
			parts = append(parts, aws.ToString(m.Code)+": "+aws.ToString(m.Value))
		}
	}
	if len(parts) == 0 {
		return ""
	}
	return " (" + strings.Join(parts, "; ") + ")"
}

func mapValues(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for _, v := range m {
		out = append(out, v)
	}
	return out
}
