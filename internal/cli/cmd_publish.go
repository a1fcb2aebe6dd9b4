package cli

import (
	"context"
	"fmt"
	"strings"

	"github.com/edgeflag/edgeflag/publish"
	"github.com/edgeflag/edgeflag/store"
)

// envStore is the environment variable --store defaults to (the kill-switch function
// reads the same one).
const envStore = "EDGEFLAG_STORE"

var publishCommand = &command{
	name:    "publish",
	summary: "compile every environment and publish it to a store",
	usage:   "--store <location> [flags] [dir]",
	description: `
Compiles the flag directory (default: flags) like 'edgeflag compile', then publishes each
environment to the store: uploads the base snapshot, writes the served snapshot (the base
with the environment's kill switches applied) and moves the environment's pointer with a
conditional write, so concurrent publishers and kill switches never lose each other's
update. Every environment is compiled before anything is written: nothing is published
when any file has a problem.

Publishing the same flags again changes nothing ("unchanged"). The store is a directory
(created if missing) or s3://bucket/prefix, with AWS credentials from the SDK's default
chain; see docs/store-layout.md. The audit trail names the publisher: in GitHub Actions
the repository, commit and actor, else user@host.`,
	example: `
edgeflag publish --store ./out/store flags
edgeflag publish --store s3://edgeflag-123456789012-eu-west-1 --env production
EDGEFLAG_STORE=s3://edgeflag-123456789012-eu-west-1 edgeflag publish --json`,
	run: runPublish,
}

// published is the JSON form of one environment's publish.
type published struct {
	Environment      string   `json:"environment"`
	Status           string   `json:"status"` // "published" or "unchanged"
	Snapshot         string   `json:"snapshot"`
	Base             string   `json:"base"`
	PreviousSnapshot string   `json:"previousSnapshot,omitempty"`
	Revision         string   `json:"revision"`
	Killed           []string `json:"killed"`
	KillStateVersion int64    `json:"killStateVersion"`
}

// publishOutput is the JSON form of a publish run.
type publishOutput struct {
	Store        string      `json:"store"`
	Revision     string      `json:"revision"`
	BuildTime    string      `json:"buildTime"`
	Environments []published `json:"environments"`
}

func runPublish(r *runner, args []string) int {
	fs := r.newFlags()
	loc := fs.String("store", "", "the store `location`: a directory or s3://bucket/prefix (default $"+envStore+")")
	env := fs.String("env", "", "publish only this `environment`")
	revision := fs.String("revision", "", "the source `revision` recorded in the snapshots (default: the git HEAD commit)")
	asJSON := fs.Bool("json", false, "print what was published as JSON")
	signingKey := signingKeyFlag(fs)
	pos, code, done := r.parse(fs, args, 0, 1)
	if done {
		return code
	}
	location, err := r.storeLocation(*loc)
	if err != nil {
		return r.usageFail(err)
	}
	dir := "flags"
	if len(pos) == 1 {
		dir = pos[0]
	}
	p, err := r.loadProject(dir)
	if err != nil {
		r.printProblems(dir, problems(err), "; nothing published")
		return ExitFindings
	}
	envs, err := environments(p, *env)
	if err != nil {
		return r.usageFail(err)
	}
	info, err := r.resolveBuildInfo(r.path(dir), *revision)
	if err != nil {
		return r.usageFail(err)
	}
	encoded, err := encodeAll(p, envs, info)
	if err != nil {
		return r.fail(fmt.Errorf("%v; nothing published", err))
	}
	plans, err := encodePlans(p, envs)
	if err != nil {
		return r.fail(fmt.Errorf("%v; nothing published", err))
	}

	ctx := context.Background()
	st, err := store.Open(ctx, location)
	if err != nil {
		return r.fail(err)
	}
	pub, err := r.publisher(st, *signingKey)
	if err != nil {
		return r.fail(fmt.Errorf("%v; nothing published", err))
	}
	who := publish.Actor(r.getenv)
	out := publishOutput{Store: storeName(*loc, st), Revision: info.revision, BuildTime: formatUnix(info.buildTime)}
	for i, e := range envs {
		res, err := pub.PublishWithPlan(ctx, encoded[i], plans[i], who)
		if err != nil {
			r.printPublished(out, *asJSON)
			return r.fail(fmt.Errorf("environment %s: %w", e, err))
		}
		out.Environments = append(out.Environments, publishedFrom(res))
	}
	r.printPublished(out, *asJSON)
	return ExitOK
}

// storeLocation returns the --store location, else $EDGEFLAG_STORE, with a directory
// resolved against the Env's directory.
func (r *runner) storeLocation(flagValue string) (string, error) {
	loc := flagValue
	if loc == "" {
		loc = r.getenv(envStore)
	}
	if loc == "" {
		return "", usagef("no store: give --store (a directory or s3://bucket/prefix) or set %s", envStore)
	}
	if !strings.Contains(loc, "://") {
		loc = r.path(loc)
	}
	return loc, nil
}

// storeName names a store in output: a directory as given on the command line, an S3
// store as s3://bucket/prefix (without the endpoint parameters).
func storeName(given string, st store.Store) string {
	if given != "" && !strings.Contains(given, "://") {
		return given
	}
	return st.String()
}

func publishedFrom(res *publish.Result) published {
	p := published{
		Environment:      res.Environment,
		Status:           "unchanged",
		Snapshot:         res.Pointer.Snapshot,
		Base:             res.Pointer.Base,
		Revision:         res.Pointer.Revision,
		Killed:           res.Pointer.Killed,
		KillStateVersion: res.Pointer.KillStateVersion,
	}
	if res.Changed {
		p.Status = "published"
	}
	if res.Previous != nil && res.Previous.Snapshot != res.Pointer.Snapshot {
		p.PreviousSnapshot = res.Previous.Snapshot
	}
	if p.Killed == nil {
		p.Killed = []string{}
	}
	return p
}

// printPublished prints what was published so far, as a table or JSON.
func (r *runner) printPublished(out publishOutput, asJSON bool) {
	if asJSON {
		if out.Environments == nil {
			out.Environments = []published{}
		}
		_ = writeJSON(r.env.Stdout, out)
		return
	}
	if len(out.Environments) == 0 {
		return
	}
	t := &table{}
	for _, p := range out.Environments {
		row := []string{p.Environment, p.Status, "snapshot " + shortSnapshot(p.Snapshot), "base " + shortSnapshot(p.Base)}
		if len(p.Killed) > 0 {
			row = append(row, "killed "+strings.Join(p.Killed, ", "))
		}
		t.add(row...)
	}
	rev := out.Revision
	if rev == "" {
		rev = "(no revision)"
	}
	fmt.Fprintf(r.env.Stdout, "%sstore %s, revision %s, built %s\n", t.string(), out.Store, rev, out.BuildTime)
}

// shortSnapshot abbreviates a snapshot hash to the 12 hex digits the CLI prints.
func shortSnapshot(h string) string {
	if len(h) > 12 {
		return h[:12]
	}
	if h == "" {
		return "-"
	}
	return h
}
