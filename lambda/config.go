package lambda

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/edgeflag/edgeflag/rollout/rolloutcfg"
	"github.com/edgeflag/edgeflag/signing"
	"github.com/edgeflag/edgeflag/signing/kmssigner"
	"github.com/edgeflag/edgeflag/store"
)

// Environment variables read by ConfigFromEnv (template.yaml sets them).
const (
	EnvStore        = "EDGEFLAG_STORE"        // store location: s3://bucket/prefix or a directory
	EnvEnvironments = "EDGEFLAG_ENVIRONMENTS" // comma-separated environments the API serves
	EnvToken        = "EDGEFLAG_TOKEN"        // optional bearer token (local use)
	// EnvReadOnlyToken is an optional bearer token that may only read (dashboard viewers).
	EnvReadOnlyToken = "EDGEFLAG_READONLY_TOKEN"
	// EnvSigningKeyID names the AWS KMS key (ECC_NIST_P256, SIGN_VERIFY) that signs every
	// pointer the function moves; EnvSigningKeyFile a local key file instead (local use).
	// Neither: pointers are unsigned.
	EnvSigningKeyID   = "EDGEFLAG_SIGNING_KEY_ID"
	EnvSigningKeyFile = "EDGEFLAG_SIGNING_KEY"
)

// ConfigFromEnv reads a Config from environment variables (looked up with getenv), as the
// bootstrap binary does before it adds the release dashboard and calls New. The store is
// opened with store.Open, so EDGEFLAG_STORE may carry the endpoint and path-style
// parameters of an S3-compatible server.
func ConfigFromEnv(ctx context.Context, getenv func(string) string, log *slog.Logger) (Config, error) {
	location := getenv(EnvStore)
	if location == "" {
		return Config{}, fmt.Errorf("lambda: %s is not set (want s3://bucket/prefix or a directory)", EnvStore)
	}
	st, err := store.Open(ctx, location)
	if err != nil {
		return Config{}, fmt.Errorf("lambda: %s: %w", EnvStore, err)
	}
	var envs []string
	for _, e := range strings.Split(getenv(EnvEnvironments), ",") {
		if e = strings.TrimSpace(e); e != "" {
			envs = append(envs, e)
		}
	}
	rc, err := rolloutcfg.FromEnv(ctx, getenv)
	if err != nil {
		return Config{}, fmt.Errorf("lambda: rollout controller: %w", err)
	}
	signer, err := signerFromEnv(ctx, getenv)
	if err != nil {
		return Config{}, err
	}
	return Config{Store: st, Environments: envs, Token: getenv(EnvToken), ReadOnlyToken: getenv(EnvReadOnlyToken), Logger: log,
		Providers: rc.Providers, Notifier: rc.Notifier, Signer: signer}, nil
}

// signerFromEnv returns the KMS signer of EDGEFLAG_SIGNING_KEY_ID (its public key read
// once, at start), the local key of EDGEFLAG_SIGNING_KEY, or nil.
func signerFromEnv(ctx context.Context, getenv func(string) string) (signing.Signer, error) {
	keyID, file := getenv(EnvSigningKeyID), getenv(EnvSigningKeyFile)
	switch {
	case keyID != "" && file != "":
		return nil, fmt.Errorf("lambda: set %s or %s, not both", EnvSigningKeyID, EnvSigningKeyFile)
	case keyID != "":
		cfg, err := config.LoadDefaultConfig(ctx)
		if err != nil {
			return nil, fmt.Errorf("lambda: %s: %w", EnvSigningKeyID, err)
		}
		s, err := kmssigner.NewFromConfig(ctx, cfg, keyID)
		if err != nil {
			return nil, fmt.Errorf("lambda: %s: %w", EnvSigningKeyID, err)
		}
		return s, nil
	case file != "":
		s, err := signing.LoadKeyFile(file)
		if err != nil {
			return nil, fmt.Errorf("lambda: %s: %w", EnvSigningKeyFile, err)
		}
		return s, nil
	}
	return nil, nil
}
