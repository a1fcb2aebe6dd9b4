package rolloutcfg_test

import (
	"context"
	"strings"
	"testing"

	"github.com/edgeflag/edgeflag/rollout"
	"github.com/edgeflag/edgeflag/rollout/rolloutcfg"
)

func TestFromEnv(t *testing.T) {
	tests := []struct {
		name      string
		env       map[string]string
		providers []string
		notifier  bool
		err       string
	}{
		{"nothing", nil, nil, false, ""},
		{"prometheus", map[string]string{"EDGEFLAG_PROMETHEUS_URL": "http://127.0.0.1:9090"}, []string{rollout.ProviderPrometheus}, false, ""},
		{"cloudwatch", map[string]string{"EDGEFLAG_CLOUDWATCH_REGION": "eu-west-1"}, []string{rollout.ProviderCloudWatch}, false, ""},
		{"webhook", map[string]string{"EDGEFLAG_WEBHOOK_URL": "https://hooks.slack.com/services/T/B/X"}, nil, true, ""},
		{"webhook and sns", map[string]string{"EDGEFLAG_WEBHOOK_URL": "https://hooks.example.com/x", "EDGEFLAG_SNS_TOPIC_ARN": "arn:aws:sns:eu-west-1:123456789012:t", "AWS_REGION": "eu-west-1"}, nil, true, ""},
		{"bad prometheus URL", map[string]string{"EDGEFLAG_PROMETHEUS_URL": "prometheus:9090"}, nil, false, "absolute http(s) URL"},
		{"bad webhook", map[string]string{"EDGEFLAG_WEBHOOK_URL": "hooks.slack.com"}, nil, false, "EDGEFLAG_WEBHOOK_URL"},
		{"bad topic", map[string]string{"EDGEFLAG_SNS_TOPIC_ARN": "edgeflag-rollouts"}, nil, false, "not a topic ARN"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			getenv := func(k string) string { return tt.env[k] }
			cfg, err := rolloutcfg.FromEnv(context.Background(), getenv)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(cfg.Providers) != len(tt.providers) {
				t.Errorf("providers %v, want %v", cfg.Providers, tt.providers)
			}
			for _, p := range tt.providers {
				if cfg.Providers[p] == nil {
					t.Errorf("no %s provider", p)
				}
			}
			if (cfg.Notifier != nil) != tt.notifier {
				t.Errorf("notifier %v, want one: %v", cfg.Notifier, tt.notifier)
			}
		})
	}
}
