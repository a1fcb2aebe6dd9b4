package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/edgeflag/edgeflag/publish"
	"github.com/edgeflag/edgeflag/rollout"
	"github.com/edgeflag/edgeflag/rollout/rolloutcfg"
	"github.com/edgeflag/edgeflag/store"
)

// envAPI names the deployed kill-switch API (its bearer token is $EDGEFLAG_TOKEN).
const envAPI = "EDGEFLAG_API"

var rolloutCommand = &command{
	name:    "rollout",
	summary: "see and steer staged rollouts: status, tick, pause, resume, promote, rollback",
	usage:   "status [flag] | tick | pause|resume|promote|rollback <flag> --reason <text>  [--env <environment>] [--store <location> | --api <url>]",
	description: `
Flags with 'stages' move by themselves: the rollout controller (a scheduled Lambda, and
inside 'edgeflag dev') checks each stage's success criteria on the project's metrics and
decides PROCEED, PAUSE or ROLLBACK; docs/rollouts.md has the rules.

  status [flag]    where each rollout stands: stage, since, next check, last decision and its numbers
  tick             run the controller once on the store (metrics from $EDGEFLAG_PROMETHEUS_URL
                   or CloudWatch with $EDGEFLAG_CLOUDWATCH_REGION; alerts to $EDGEFLAG_WEBHOOK_URL)
  pause <flag>     hold the current stage
  resume <flag>    continue a paused rollout (its stage clock restarts); a rolled-back one
                   starts again at its first stage
  promote <flag>   go to the next stage now, whatever the metrics say
  rollback <flag>  serve the old variant to everyone until resumed

Every change is a conditional write of the rollout state, an audit record and a
republish, the same path as the controller's own decisions. Work on a store directly
(--store, or $EDGEFLAG_STORE), or through the deployed API (--api, or $EDGEFLAG_API, with
the bearer token in $EDGEFLAG_TOKEN), like the kill switch.`,
	example: `
edgeflag rollout status --store ./out/dev-store --env production
edgeflag rollout pause payments-service-v2 --env production --reason "p99 up on the dashboard"
edgeflag rollout resume payments-service-v2 --env production --reason "fixed in 4.2.1" --api https://abc.execute-api.eu-west-1.amazonaws.com
EDGEFLAG_PROMETHEUS_URL=http://127.0.0.1:9090 edgeflag rollout tick --store ./out/dev-store`,
	run: runRollout,
}

func runRollout(r *runner, args []string) int {
	fs := r.newFlags()
	loc := fs.String("store", "", "the store `location`: a directory or s3://bucket/prefix (default $"+envStore+")")
	api := fs.String("api", "", "the deployed kill-switch API's base `url` (default $"+envAPI+"); the token is $"+envToken)
	env := fs.String("env", "production", "the `environment`; for tick, a comma-separated list (default: every environment of flags/project.yaml)")
	reason := fs.String("reason", "", "why (required for pause, resume, promote and rollback)")
	asJSON := fs.Bool("json", false, "print the result as JSON")
	signingKey := signingKeyFlag(fs)
	envSet := false
	for _, a := range args {
		envSet = envSet || a == "--env" || a == "-env" || strings.HasPrefix(a, "--env=") || strings.HasPrefix(a, "-env=")
	}
	pos, code, done := r.parse(fs, args, 1, 2)
	if done {
		return code
	}
	sub := pos[0]
	flagKey := ""
	if len(pos) == 2 {
		flagKey = pos[1]
	}
	switch {
	case sub == "status":
	case sub == "tick":
		if flagKey != "" {
			return r.usageFail(usagef("tick takes no flag: it checks every staged rollout"))
		}
	case rollout.ValidAction(sub):
		if flagKey == "" {
			return r.usageFail(usagef("%s needs the flag: edgeflag rollout %s <flag> --reason <text>", sub, sub))
		}
		if strings.TrimSpace(*reason) == "" {
			return r.usageFail(usagef("%s needs --reason: it is recorded in the audit trail", sub))
		}
	default:
		return r.usageFail(usagef("unknown subcommand %q: want status, tick, pause, resume, promote or rollback", sub))
	}
	ctx := context.Background()
	apiURL := *api
	if apiURL == "" && *loc == "" && r.getenv(envStore) == "" {
		apiURL = r.getenv(envAPI)
	}
	if apiURL != "" {
		if sub == "tick" {
			return r.usageFail(usagef("tick runs on a store (--store); the deployed controller ticks on its schedule"))
		}
		return r.rolloutRemote(ctx, apiURL, sub, *env, flagKey, *reason, *asJSON)
	}
	location, err := r.storeLocation(*loc)
	if err != nil {
		return r.usageFail(err)
	}
	st, err := store.Open(ctx, location)
	if err != nil {
		return r.fail(err)
	}
	pub, err := r.publisher(st, *signingKey)
	if err != nil {
		return r.fail(err)
	}
	ctl := &rollout.Controller{Publisher: pub, Now: r.env.Now}
	switch sub {
	case "status":
		list, err := ctl.Status(ctx, *env, flagKey)
		if err != nil {
			return r.fail(err)
		}
		if *asJSON {
			return r.printJSON(list)
		}
		r.printRolloutStatus(list)
		return ExitOK
	case "tick":
		envs := strings.Split(*env, ",")
		if !envSet {
			if p, err := r.loadProject("flags"); err == nil {
				envs = p.Environments
			}
		}
		cfg, err := rolloutcfg.FromEnv(ctx, r.getenv)
		if err != nil {
			return r.fail(err)
		}
		ctl.Providers, ctl.Notifier = cfg.Providers, cfg.Notifier
		ctl.Logf = func(format string, args ...any) { fmt.Fprintf(r.env.Stderr, format+"\n", args...) }
		var results []*rollout.TickResult
		for _, e := range envs {
			res, err := ctl.Tick(ctx, strings.TrimSpace(e))
			if err != nil {
				return r.fail(err)
			}
			results = append(results, res)
		}
		if *asJSON {
			return r.printJSON(results)
		}
		for _, res := range results {
			r.printTick(res)
		}
		return ExitOK
	}
	d, err := ctl.Act(ctx, *env, flagKey, sub, *reason, publish.Actor(r.getenv))
	if err != nil {
		return r.fail(err)
	}
	if *asJSON {
		return r.printJSON(d)
	}
	r.printDecision(d.Environment, d.Flag, &d.Decision)
	return ExitOK
}

func (r *runner) printRolloutStatus(list []rollout.FlagStatus) {
	if len(list) == 0 {
		fmt.Fprintln(r.env.Stdout, "no staged rollouts")
		return
	}
	t := &table{}
	t.add("FLAG", "STATUS", "STAGE", "SERVES", "SINCE", "NEXT CHECK", "LAST DECISION")
	for _, s := range list {
		status, since, next, last := "not started", "-", "-", "-"
		if s.Started {
			status, since = s.Status, s.Since.Format(time.RFC3339)
		}
		if !s.NextCheckAt.IsZero() && s.Status == publish.RolloutRunning {
			next = s.NextCheckAt.Format(time.RFC3339)
		}
		if s.LastCheck != nil {
			last = s.LastCheck.Action + ": " + s.LastCheck.Reason
		}
		t.add(s.Flag, status, fmt.Sprintf("%d/%d", s.Stage, s.Stages), s.Serve.String(), since, next, last)
	}
	fmt.Fprint(r.env.Stdout, t.string())
	for _, s := range list {
		if s.LastCheck == nil || len(s.LastCheck.Checks) == 0 {
			continue
		}
		fmt.Fprintf(r.env.Stdout, "\n%s, last check %s:\n", s.Flag, s.LastCheck.At.Format(time.RFC3339))
		for _, c := range s.LastCheck.Checks {
			fmt.Fprintf(r.env.Stdout, "  %s\n", rollout.CheckLine(c))
		}
	}
}

func (r *runner) printTick(res *rollout.TickResult) {
	if len(res.Decisions) == 0 {
		fmt.Fprintf(r.env.Stdout, "%s: no staged rollouts\n", res.Environment)
		return
	}
	for i := range res.Decisions {
		d := &res.Decisions[i]
		r.printDecision(d.Environment, d.Flag, &d.Decision)
	}
	if res.Republished {
		fmt.Fprintf(r.env.Stdout, "%s: republished, serving snapshot %s\n", res.Environment, shortSnapshot(res.Snapshot))
	}
}

func (r *runner) printDecision(env, flag string, d *publish.RolloutDecision) {
	fmt.Fprintf(r.env.Stdout, "%s %s: %s — stage %d (%s), %s: %s\n", env, flag, strings.ToUpper(d.Action), d.To+1, d.Serve.String(), d.Status, d.Reason)
	for _, c := range d.Checks {
		fmt.Fprintf(r.env.Stdout, "  %s\n", rollout.CheckLine(c))
	}
}

// rolloutRemote runs status or an action through the deployed API.
func (r *runner) rolloutRemote(ctx context.Context, base, sub, env, flag, reason string, asJSON bool) int {
	base = strings.TrimRight(base, "/")
	var req *http.Request
	var err error
	if sub == "status" {
		q := url.Values{"environment": {env}}
		if flag != "" {
			q.Set("flag", flag)
		}
		req, err = http.NewRequestWithContext(ctx, http.MethodGet, base+"/rollouts?"+q.Encode(), nil)
	} else {
		body, _ := json.Marshal(map[string]string{"environment": env, "reason": reason})
		req, err = http.NewRequestWithContext(ctx, http.MethodPost, base+"/flags/"+url.PathEscape(flag)+"/rollout/"+sub, bytes.NewReader(body))
		if req != nil {
			req.Header.Set("Content-Type", "application/json")
		}
	}
	if err != nil {
		return r.usageFail(usagef("--api %q: %v", base, err))
	}
	if tok := r.getenv(envToken); tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	client := &http.Client{Timeout: 30 * time.Second}
	resp, err := client.Do(req)
	if err != nil {
		return r.fail(fmt.Errorf("the API at %s: %w", base, err))
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return r.fail(fmt.Errorf("the API at %s: %w", base, err))
	}
	if resp.StatusCode/100 != 2 {
		var e struct {
			Error   string `json:"error"`
			Message string `json:"message"`
		}
		if json.Unmarshal(data, &e) == nil && e.Message != "" {
			return r.fail(fmt.Errorf("the API answered %s: %s (%s)", resp.Status, e.Message, e.Error))
		}
		return r.fail(fmt.Errorf("the API answered %s: %s", resp.Status, strings.TrimSpace(string(data))))
	}
	if asJSON {
		_, err := r.env.Stdout.Write(append(bytes.TrimSpace(data), '\n'))
		if err != nil {
			return ExitFindings
		}
		return ExitOK
	}
	if sub == "status" {
		var list []rollout.FlagStatus
		if err := json.Unmarshal(data, &list); err != nil {
			return r.fail(errors.New("the API's answer is not a rollout status list"))
		}
		r.printRolloutStatus(list)
		return ExitOK
	}
	var d rollout.FlagDecision
	if err := json.Unmarshal(data, &d); err != nil {
		return r.fail(errors.New("the API's answer is not a rollout decision"))
	}
	r.printDecision(d.Environment, d.Flag, &d.Decision)
	return ExitOK
}
