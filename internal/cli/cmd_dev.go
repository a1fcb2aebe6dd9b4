package cli

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/edgeflag/edgeflag/compiler"
	"github.com/edgeflag/edgeflag/internal/devstack"
	"github.com/edgeflag/edgeflag/rollout/rolloutcfg"
)

// envToken is the environment variable --token defaults to (the kill-switch function
// reads the same one).
const envToken = "EDGEFLAG_TOKEN"

// envReadOnlyToken is the read-only token's variable (dashboard viewers; GETs only).
const envReadOnlyToken = "EDGEFLAG_READONLY_TOKEN"

var devCommand = &command{
	name:    "dev",
	summary: "run the whole system locally: compile, publish, kill-switch API and edge",
	usage:   "[flags]",
	description: `
Runs everything on 127.0.0.1, in one process, with no AWS account:

  - compiles the flag directory, and again whenever a YAML file changes, and publishes
    every environment into a local store (as 'edgeflag publish' does). A file with a
    problem is reported as file:line:column and nothing is published: the edge keeps
    serving the last good snapshot;
  - serves on one address the store (as CloudFront serves the bucket), the kill-switch
    API (the same handler as the Lambda, with a bearer token) and the edge: the WASM
    evaluator under wazero, with OFREP, GET /evaluate and GET /healthz, polling the store
    every second;
  - serves the release dashboard under /dashboard/ (log in with the token; a read-only
    token in $EDGEFLAG_READONLY_TOKEN can look but not act).

It prints the address, the token and curl commands to try, then one line per event
(publish, edge swap, kill-switch call, problem). Ctrl-C (or SIGTERM) stops it.

The edge runs the evaluator module: --wasm, else built from the sources when run inside
the edgeflag checkout (as 'make run' does), else bin/edgeflag.wasm ('make wasm').`,
	example: `
edgeflag dev
edgeflag dev --addr 127.0.0.1:0 --dir flags --env staging --store ./out/dev-store`,
	run: runDev,
}

func runDev(r *runner, args []string) int {
	fs := r.newFlags()
	addr := fs.String("addr", devstack.DefaultAddr, "the `address` to listen on (port 0 picks a free port)")
	dir := fs.String("dir", "flags", "the flag `directory` to compile and watch")
	env := fs.String("env", "", "the `environment` the edge serves (default production, or the project's last)")
	loc := fs.String("store", devstack.DefaultStore, "the store `location`: a directory or s3://bucket/prefix")
	token := fs.String("token", "", "the kill-switch API's bearer `token`, at least 16 characters (default $"+envToken+", else a random one)")
	rolloutEvery := fs.Duration("rollout-interval", 0, "how often the rollout controller checks staged rollouts (default 10s when $EDGEFLAG_PROMETHEUS_URL or $EDGEFLAG_CLOUDWATCH_REGION names a metric provider, else off); alerts go to $EDGEFLAG_WEBHOOK_URL")
	signingKey := fs.String("signing-key", "", "sign every pointer with the private key in this `file` (edgeflag keygen) and make the edge require it (default $"+envSigningKey+"; none: unsigned)")
	mod := addModuleFlags(fs)
	if _, code, done := r.parse(fs, args, 0, 0); done {
		return code
	}
	if *token == "" {
		*token = r.getenv(envToken)
	}
	if *token != "" && len(*token) < 16 {
		return r.usageFail(usagef("the token must be at least 16 characters"))
	}
	environment := *env
	if p, err := compiler.Load(r.path(*dir)); err == nil {
		// Pick as every command does; with broken files the edge follows --env or production.
		picked, err := pickEnvironment(p, *env)
		if err != nil {
			return r.usageFail(err)
		}
		environment = picked
	}
	location := *loc // never $EDGEFLAG_STORE: a development loop must not publish to a real store by accident
	if !strings.Contains(location, "://") {
		location = r.path(location)
	}

	signer, err := r.signer(*signingKey)
	if err != nil {
		return r.usageFail(usagef("--signing-key: %v", err))
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	module, err := mod.load(ctx, r)
	if err != nil {
		return r.fail(err)
	}
	fmt.Fprintf(r.env.Stdout, "edgeflag dev: evaluator module %s (%s bytes)\n", module.Origin, thousands(len(module.Wasm)))
	rc, err := rolloutcfg.FromEnv(ctx, r.getenv)
	if err != nil {
		return r.fail(err)
	}
	interval := *rolloutEvery
	if interval == 0 && len(rc.Providers) == 0 {
		fmt.Fprintln(r.env.Stdout, "edgeflag dev: rollout controller off: set EDGEFLAG_PROMETHEUS_URL (or EDGEFLAG_CLOUDWATCH_REGION) to move staged rollouts on their metrics, or --rollout-interval to run it anyway")
		interval = -1
	}
	stack, err := devstack.Start(ctx, devstack.Config{
		Dir: r.path(*dir), Environment: environment, Store: location, Addr: *addr, Token: *token,
		ReadOnlyToken: r.getenv(envReadOnlyToken),
		Module:        module.Wasm, CacheDir: mod.cache(r), Out: r.env.Stdout,
		RolloutInterval: interval, Providers: rc.Providers, Notifier: rc.Notifier, Signer: signer,
	})
	if err != nil {
		return r.fail(err)
	}
	<-ctx.Done()
	fmt.Fprintln(r.env.Stdout, "edgeflag dev: stopping")
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := stack.Close(shutdown); err != nil {
		return r.fail(err)
	}
	return ExitOK
}
