package lambda

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

	"github.com/edgeflag/edgeflag/internal/rolloutcfg"
	"github.com/edgeflag/edgeflag/store"
)

// Environment variables read by FromEnv (template.yaml sets them).
const (
	EnvStore        = "EDGEFLAG_STORE"        // store location: s3://bucket/prefix or a directory
	EnvEnvironments = "EDGEFLAG_ENVIRONMENTS" // comma-separated environments the API serves
	EnvToken        = "EDGEFLAG_TOKEN"        // optional bearer token (local use)
	// EnvReadOnlyToken is an optional bearer token that may only read (dashboard viewers).
	EnvReadOnlyToken = "EDGEFLAG_READONLY_TOKEN"
)

// FromEnv builds a Handler from environment variables (looked up with getenv), as the
// bootstrap binary does. The store is opened with store.Open, so EDGEFLAG_STORE may carry
// the endpoint and path-style parameters of an S3-compatible server.
func FromEnv(ctx context.Context, getenv func(string) string, log *slog.Logger) (*Handler, error) {
	location := getenv(EnvStore)
	if location == "" {
		return nil, fmt.Errorf("lambda: %s is not set (want s3://bucket/prefix or a directory)", EnvStore)
	}
	st, err := store.Open(ctx, location)
	if err != nil {
		return nil, fmt.Errorf("lambda: %s: %w", EnvStore, err)
	}
	var envs []string
	for _, e := range strings.Split(getenv(EnvEnvironments), ",") {
		if e = strings.TrimSpace(e); e != "" {
			envs = append(envs, e)
		}
	}
	rc, err := rolloutcfg.FromEnv(ctx, getenv)
	if err != nil {
		return nil, fmt.Errorf("lambda: rollout controller: %w", err)
	}
	return New(Config{Store: st, Environments: envs, Token: getenv(EnvToken), ReadOnlyToken: getenv(EnvReadOnlyToken), Logger: log,
		Providers: rc.Providers, Notifier: rc.Notifier})
}
