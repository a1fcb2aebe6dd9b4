package cli

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/edgeflag/edgeflag/publish"
	"github.com/edgeflag/edgeflag/store"
)

var rollbackCommand = &command{
	name:    "rollback",
	summary: "point an environment back at an earlier snapshot",
	usage:   "--store <location> --env <environment> [--to <hash>]",
	description: `
Moves the environment's pointer back to an earlier base snapshot; snapshots are never
deleted, so a rollback is one conditional write and edges pick it up on their next poll.
The environment's current kill switches stay in force: a rollback never undoes a kill.

Without --to it undoes the last publish: it serves the newest base of the pointer's
history and drops it from the history, so repeated rollbacks walk further back. --to
names a base or served snapshot by its hash or a unique prefix of at least 7 hex digits
(as 'edgeflag publish' prints them); that snapshot is served as the base and the current
one goes on the history, like a publish.

Exits 1 when the environment was never published, the history is empty, or the hash is
unknown, ambiguous or not a snapshot of the environment; nothing is written then.`,
	example: `
edgeflag rollback --store ./out/store --env production
edgeflag rollback --store s3://edgeflag-123456789012-eu-west-1 --env production --to 3f2a9c1`,
	run: runRollback,
}

// pointerSide is the JSON form of one side of a rollback.
type pointerSide struct {
	Snapshot string   `json:"snapshot"`
	Base     string   `json:"base"`
	Revision string   `json:"revision"`
	Killed   []string `json:"killed"`
}

// rolledBack is the JSON form of a rollback.
type rolledBack struct {
	Environment string      `json:"environment"`
	Changed     bool        `json:"changed"`
	Previous    pointerSide `json:"previous"`
	Current     pointerSide `json:"current"`
	History     []string    `json:"history"`
}

// rollbackErrors are the refusals of publish.Rollback; each is reported with its message
// and exit code 1.
var rollbackErrors = []error{
	publish.ErrUnknownEnvironment, publish.ErrNoEarlierSnapshot, publish.ErrUnknownSnapshot,
	publish.ErrAmbiguousSnapshot, publish.ErrInvalidSnapshot,
}

func runRollback(r *runner, args []string) int {
	fs := r.newFlags()
	loc := fs.String("store", "", "the store `location`: a directory or s3://bucket/prefix (default $"+envStore+")")
	env := fs.String("env", "", "the `environment` to roll back (required)")
	to := fs.String("to", "", "serve this snapshot: a `hash` or a unique prefix of at least 7 hex digits (default: the previous base)")
	asJSON := fs.Bool("json", false, "print the pointer before and after as JSON")
	signingKey := signingKeyFlag(fs)
	if _, code, done := r.parse(fs, args, 0, 0); done {
		return code
	}
	location, err := r.storeLocation(*loc)
	if err != nil {
		return r.usageFail(err)
	}
	if *env == "" {
		return r.usageFail(usagef("--env is required: name the environment to roll back"))
	}
	ctx := context.Background()
	st, err := store.Open(ctx, location)
	if err != nil {
		return r.fail(err)
	}
	pub, err := r.publisher(st, *signingKey)
	if err != nil {
		return r.fail(err)
	}
	res, err := pub.Rollback(ctx, *env, *to, publish.Actor(r.getenv))
	if err != nil {
		for _, known := range rollbackErrors {
			if errors.Is(err, known) {
				fmt.Fprintf(r.env.Stderr, "edgeflag rollback: %v\n", err)
				return ExitFindings
			}
		}
		return r.fail(fmt.Errorf("environment %s: %w", *env, err))
	}
	out := rolledBack{Environment: res.Environment, Changed: res.Changed, History: res.Pointer.History,
		Current: sideOf(&res.Pointer)}
	if res.Previous != nil {
		out.Previous = sideOf(res.Previous)
	}
	if out.History == nil {
		out.History = []string{}
	}
	if *asJSON {
		return r.printJSON(out)
	}
	if !res.Changed {
		fmt.Fprintf(r.env.Stdout, "%s: unchanged, already serving snapshot %s (base %s, revision %s)\n",
			out.Environment, shortSnapshot(out.Current.Snapshot), shortSnapshot(out.Current.Base), revisionText(out.Current.Revision))
		return ExitOK
	}
	fmt.Fprintf(r.env.Stdout, "%s: rolled back\n", out.Environment)
	t := &table{}
	t.add("  snapshot", shortSnapshot(out.Previous.Snapshot), "→", shortSnapshot(out.Current.Snapshot))
	t.add("  base", shortSnapshot(out.Previous.Base), "→", shortSnapshot(out.Current.Base))
	t.add("  revision", revisionText(out.Previous.Revision), "→", revisionText(out.Current.Revision))
	fmt.Fprint(r.env.Stdout, t.string())
	if len(out.Current.Killed) > 0 {
		fmt.Fprintf(r.env.Stdout, "  still killed: %s\n", strings.Join(out.Current.Killed, ", "))
	}
	return ExitOK
}

func sideOf(p *publish.Pointer) pointerSide {
	s := pointerSide{Snapshot: p.Snapshot, Base: p.Base, Revision: p.Revision, Killed: p.Killed}
	if s.Killed == nil {
		s.Killed = []string{}
	}
	return s
}

func revisionText(rev string) string {
	if rev == "" {
		return "(no revision)"
	}
	return rev
}
