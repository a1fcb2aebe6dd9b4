// Command bootstrap is the kill-switch Lambda function for the provided.al2023 runtime:
// the API Gateway HTTP API routes and the S3 event of a newly uploaded base snapshot.
// It is configured by EDGEFLAG_STORE, EDGEFLAG_ENVIRONMENTS and EDGEFLAG_TOKEN (see
// package lambda) and logs JSON lines to standard error.
//
// Build it for Lambda with
//
//	GOOS=linux GOARCH=arm64 CGO_ENABLED=0 go build -tags lambda.norpc -o bootstrap ./lambda/bootstrap
package main

import (
	"context"
	"log/slog"
	"os"

	awslambda "github.com/aws/aws-lambda-go/lambda"

	"github.com/edgeflag/edgeflag/lambda"
)

func main() {
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	h, err := lambda.FromEnv(context.Background(), os.Getenv, log)
	if err != nil {
		log.Error("configuration", "error", err.Error())
		os.Exit(1)
	}
	awslambda.Start(h.Invoke)
}
