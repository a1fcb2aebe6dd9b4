// Command bootstrap is the kill-switch Lambda function for the provided.al2023 runtime:
// the API Gateway HTTP API routes, the release dashboard under /dashboard/, and the S3
// event of a newly uploaded base snapshot. It is configured by EDGEFLAG_STORE,
// EDGEFLAG_ENVIRONMENTS and EDGEFLAG_TOKEN (see package lambda) and logs JSON lines to
// standard error. When the configuration is incomplete (no store location, no
// credentials for an s3:// store), every invocation fails with the error that names what
// is missing, so whoever invokes the function — the runtime emulator, `sam local invoke`,
// a test event — reads it in the answer.
//
// Build it for Lambda with
//
//	GOOS=linux GOARCH=arm64 CGO_ENABLED=0 go build -tags lambda.norpc -o bootstrap ./lambda/bootstrap
package main

import (
	"context"
	"encoding/json"
	"log/slog"
	"os"

	awslambda "github.com/aws/aws-lambda-go/lambda"

	"github.com/edgeflag/edgeflag/internal/dashboard"
	"github.com/edgeflag/edgeflag/lambda"
)

func main() {
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	h, err := handler(context.Background(), log)
	if err != nil {
		log.Error("configuration", "error", err.Error())
		awslambda.Start(func(context.Context, json.RawMessage) (any, error) { return nil, err })
		return
	}
	awslambda.Start(h.Invoke)
}

// handler builds the function's handler from its environment, with the release dashboard.
func handler(ctx context.Context, log *slog.Logger) (*lambda.Handler, error) {
	cfg, err := lambda.ConfigFromEnv(ctx, os.Getenv, log)
	if err != nil {
		return nil, err
	}
	cfg.Dashboard = dashboard.ForAPI
	return lambda.New(cfg)
}
