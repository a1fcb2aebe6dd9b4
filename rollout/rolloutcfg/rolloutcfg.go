// Package rolloutcfg builds the rollout controller's metric providers and notifiers from
// environment variables, the same way for the scheduled Lambda, `edgeflag dev` and
// `edgeflag rollout tick`.
package rolloutcfg

import (
	"context"
	"fmt"
	"strings"

	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/sns"

	"github.com/edgeflag/edgeflag/rollout"
	"github.com/edgeflag/edgeflag/rollout/cloudwatch"
	"github.com/edgeflag/edgeflag/rollout/prometheus"
	"github.com/edgeflag/edgeflag/rollout/snsnotify"
)

// Environment variables read by FromEnv, beside the providers' own
// (EDGEFLAG_PROMETHEUS_URL, EDGEFLAG_PROMETHEUS_TOKEN, EDGEFLAG_PROMETHEUS_SIGV4_REGION,
// EDGEFLAG_PROMETHEUS_TIMEOUT, EDGEFLAG_PROMETHEUS_RETRIES, EDGEFLAG_CLOUDWATCH_REGION).
const (
	EnvWebhookURL  = "EDGEFLAG_WEBHOOK_URL"   // a Slack-compatible webhook for PAUSE and ROLLBACK
	EnvSNSTopicARN = "EDGEFLAG_SNS_TOPIC_ARN" // an SNS topic for PAUSE and ROLLBACK
)

// Config is what a controller needs besides the store.
type Config struct {
	Providers map[string]rollout.Provider
	Notifier  rollout.Notifier // nil when none is configured
}

// FromEnv configures a Prometheus provider when EDGEFLAG_PROMETHEUS_URL is set, a
// CloudWatch provider when EDGEFLAG_CLOUDWATCH_REGION (or, inside AWS Lambda,
// AWS_REGION) is set, and notifiers for EDGEFLAG_WEBHOOK_URL and EDGEFLAG_SNS_TOPIC_ARN.
// A metric whose provider is not configured makes its rollouts PAUSE with a message that
// names the variable to set.
func FromEnv(ctx context.Context, getenv func(string) string) (*Config, error) {
	cfg := &Config{Providers: map[string]rollout.Provider{}}
	if strings.TrimSpace(getenv(prometheus.EnvURL)) != "" {
		pc, err := prometheus.ConfigFromEnv(getenv)
		if err != nil {
			return nil, err
		}
		p, err := prometheus.New(ctx, pc)
		if err != nil {
			return nil, err
		}
		cfg.Providers[rollout.ProviderPrometheus] = p
	}
	if strings.TrimSpace(getenv(cloudwatch.EnvRegion)) != "" || (getenv("AWS_LAMBDA_FUNCTION_NAME") != "" && getenv("AWS_REGION") != "") {
		p, err := cloudwatch.NewFromEnv(ctx)
		if err != nil {
			return nil, err
		}
		cfg.Providers[rollout.ProviderCloudWatch] = p
	}
	var notifiers rollout.Notifiers
	if u := strings.TrimSpace(getenv(EnvWebhookURL)); u != "" {
		if !strings.HasPrefix(u, "https://") && !strings.HasPrefix(u, "http://") {
			return nil, fmt.Errorf("rolloutcfg: %s=%q is not an http(s) URL", EnvWebhookURL, u)
		}
		notifiers = append(notifiers, &rollout.Webhook{URL: u})
	}
	if arn := strings.TrimSpace(getenv(EnvSNSTopicARN)); arn != "" {
		if !strings.HasPrefix(arn, "arn:") {
			return nil, fmt.Errorf("rolloutcfg: %s=%q is not a topic ARN (arn:aws:sns:region:account:name)", EnvSNSTopicARN, arn)
		}
		awsCfg, err := awsconfig.LoadDefaultConfig(ctx)
		if err != nil {
			return nil, fmt.Errorf("rolloutcfg: AWS configuration for SNS: %w", err)
		}
		notifiers = append(notifiers, &snsnotify.Notifier{Client: sns.NewFromConfig(awsCfg), TopicARN: arn})
	}
	switch len(notifiers) {
	case 0:
	case 1:
		cfg.Notifier = notifiers[0]
	default:
		cfg.Notifier = notifiers
	}
	return cfg, nil
}
