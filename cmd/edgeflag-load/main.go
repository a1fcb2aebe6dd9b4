// Command edgeflag-load puts a bounded load on a local edgeflag server and reports what it
// saw: requests, errors, throughput and latency percentiles.
//
//	edgeflag-load --url http://127.0.0.1:8080/ofrep/v1/evaluate/flags \
//	    --body '{"context":{"targetingKey":"user-1001"}}' --duration 10s --concurrency 16
//
// It is a measuring tool for one's own machine, not a stress tool: it only targets
// loopback addresses (127.0.0.0/8, ::1, localhost), refuses to run longer than a minute and
// never follows redirects. Each of --concurrency workers sends one request at a time on a
// kept-alive connection (a closed loop); with --rate the workers instead start requests on
// a fixed schedule (an open loop) and latency counts from the scheduled start, so a server
// that falls behind shows it in the percentiles.
//
// A request is an error when it fails (connection, timeout) or its status is 400 or more.
// The exit status is 0 when every request succeeded, 1 when some failed, 2 for bad flags.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/edgeflag/edgeflag/internal/termsafe"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// Exit statuses.
const (
	exitOK     = 0
	exitErrors = 1
	exitUsage  = 2
)

// run is the command: it parses args, loads the target and prints the report.
//
// Its output is escaped (package termsafe): an answer or a URL with control characters
// cannot recolour or rewrite the terminal.
func run(args []string, stdout, stderr io.Writer) int {
	safeOut, safeErr := termsafe.NewWriter(stdout), termsafe.NewWriter(stderr)
	defer safeOut.Flush()
	defer safeErr.Flush()
	stdout, stderr = safeOut, safeErr
	cfg, err := parseConfig(args, stderr)
	if err != nil {
		if err != errHelp {
			fmt.Fprintf(stderr, "edgeflag-load: %v\n", err)
		}
		return exitUsage
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	rep, err := load(ctx, cfg)
	if err != nil {
		fmt.Fprintf(stderr, "edgeflag-load: %v\n", err)
		return exitErrors
	}
	if cfg.json {
		err = rep.writeJSON(stdout)
	} else {
		err = rep.writeText(stdout)
	}
	if err != nil {
		fmt.Fprintf(stderr, "edgeflag-load: %v\n", err)
		return exitErrors
	}
	if rep.Errors > 0 {
		return exitErrors
	}
	return exitOK
}
