package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/edgeflag/edgeflag/internal/devstack"
	"github.com/edgeflag/edgeflag/internal/edgeserver"
	"github.com/edgeflag/edgeflag/internal/shortdur"
	"github.com/edgeflag/edgeflag/ofrep"
	"github.com/edgeflag/edgeflag/poller"
	"github.com/edgeflag/edgeflag/signing"
	"github.com/edgeflag/edgeflag/store/layout"
	"github.com/edgeflag/edgeflag/wasm/host"
)

// Environment variables of edgeflag edge: the names of the Cloudflare Worker's bindings
// for the same settings.
const (
	envStoreURL     = "EDGEFLAG_STORE_URL"
	envOFREPAPIKeys = "EDGEFLAG_OFREP_API_KEYS"
)

// Defaults of edgeflag edge.
const (
	defaultEdgeAddr = "127.0.0.1:8081"
	// edgeShutdownTimeout is how long requests in flight may take to finish after
	// SIGINT or SIGTERM.
	edgeShutdownTimeout = 10 * time.Second
)

var edgeCommand = &command{
	name:    "edge",
	summary: "run the Go edge server: follow a store, serve OFREP, /evaluate and /healthz",
	usage:   "--store-url <url> [flags]",
	description: `
Runs the Go edge server on its own, as a production edge: the evaluator module under
wazero, kept current by polling one environment of a store served over HTTP(S) — the
CloudFront distribution of template.yaml (its output SnapshotBaseUrl), or 'edgeflag dev' —
and serving on --addr:

  POST /ofrep/v1/evaluate/flags/{key}  OFREP, one flag
  POST /ofrep/v1/evaluate/flags        OFREP, every flag, with ETag and 304
  GET  /evaluate, /.edgeflag/flags     every flag (or ?flag=a,b) for the request's user id,
                                       country and user agent, also as x-flag-<key> headers
  GET  /healthz                        the snapshot served and how fresh it is: 503
                                       "starting" until the first snapshot loads, 200 "ok"
                                       or "stale" after

The store may be down when it starts: it keeps polling, and until a snapshot loads
evaluations answer an error. A loaded snapshot is kept through store failures; when no
poll has succeeded for --grace its answers are marked stale, until the store answers
again. --store-url defaults to $` + envStoreURL + ` and the OFREP keys to
$` + envOFREPAPIKeys + ` (comma-separated), the Worker's names for them. The user id
header must be set by a trusted layer in front (the load balancer), which drops the
client's own.

With --public-key (or $` + envPublicKeys + `) every pointer must be signed for --env by
one of the keys and be no older than the one served: an unsigned, tampered,
cross-environment or replayed pointer is refused, the last good snapshot kept, the
reason logged and shown in /healthz (lastError), and answers turn stale after --grace.

With --state-dir the edge keeps the pointer it serves and its snapshot in that directory
(<env>.pointer.json and <env>.<hash>.snap, written to a temporary file and renamed), and
on start serves them at once, before the store answers: a restart during a store outage
keeps the flags up (stale after --grace until a poll succeeds, as for any snapshot), and
with --public-key a replayed older pointer is still refused after a restart. State that
is incomplete, corrupt, of another environment or not signed by an accepted key is
ignored, the reason logged, and the edge starts as without it. A failed write is logged
and shown in /healthz (stateError); it fails no poll.

It prints the address it listens on first, then one line per event: snapshot loaded,
poll failures, stale and fresh again. SIGINT or SIGTERM stops it, letting requests in
flight finish for up to 10 s.

The module is found as 'edgeflag dev' finds it: --wasm, else built from the sources when
run inside the edgeflag checkout, else bin/edgeflag.wasm ('make wasm').`,
	example: `
edgeflag edge --store-url https://d111111abcdef8.cloudfront.net --addr :8081 --wasm bin/edgeflag.wasm
edgeflag edge --store-url https://d111111abcdef8.cloudfront.net --public-key edgeflag.pub --state-dir /var/lib/edgeflag
EDGEFLAG_STORE_URL=http://127.0.0.1:8080 edgeflag edge --env staging --poll 1s`,
	run: runEdge,
}

// edgeConfig is a checked edge command line.
type edgeConfig struct {
	storeURL    string
	environment string
	addr        string
	poll        time.Duration
	grace       time.Duration
	pollTimeout time.Duration
	instances   int
	apiKeys     []string
	keys        *signing.Keyring
	stateDir    string
	ofrep       ofrep.Options
	request     edgeserver.RequestConfig
	module      moduleFlags
}

func runEdge(r *runner, args []string) int {
	cfg, code, done := parseEdge(r, args)
	if done {
		return code
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := serveEdge(ctx, r, cfg, stop); err != nil {
		return r.fail(err)
	}
	return ExitOK
}

// parseEdge parses and checks the command line; on --help or a usage error it reports
// and returns done with the exit code.
func parseEdge(r *runner, args []string) (cfg *edgeConfig, code int, done bool) {
	fs := r.newFlags()
	storeURL := fs.String("store-url", "", "the `URL` the store is served at: the CloudFront distribution (output SnapshotBaseUrl), or edgeflag dev's address (default $"+envStoreURL+")")
	env := fs.String("env", devstack.DefaultEnvironment, "the `environment` whose pointer is followed")
	addr := fs.String("addr", defaultEdgeAddr, "the `address` to listen on (:8081 for every interface; port 0 picks a free port)")
	poll := durationFlag(poller.DefaultInterval)
	fs.Var(&poll, "poll", "the `interval` between two polls of the store's pointer")
	grace := durationFlag(poller.DefaultGrace)
	fs.Var(&grace, "grace", "mark answers stale when no poll has succeeded for this `duration`")
	pollTimeout := durationFlag(poller.DefaultTimeout)
	fs.Var(&pollTimeout, "poll-timeout", "the longest one poll may take, a `duration`")
	instances := fs.Int("instances", 0, "the `number` of module instances evaluating at once, at most (default one per CPU: GOMAXPROCS)")
	var apiKeys listFlag
	fs.Var(&apiKeys, "api-key", "a `key` OFREP clients must send as X-API-Key or Authorization: Bearer; repeatable (default $"+envOFREPAPIKeys+", comma-separated; none: OFREP is open)")
	allowOrigin := fs.String("allow-origin", "", "the Access-Control-Allow-Origin of OFREP answers for browser providers: * or an `origin` such as https://app.example.com (default: no CORS)")
	reasons := fs.String("reasons", "spec", "how OFREP reports the reasons DEFAULT and STALE, a `style`: spec (as UNKNOWN, the reason in metadata) or openfeature (as they are)")
	userHeader := fs.String("user-header", "", "the request `header` carrying the user id for /evaluate (default x-user-id)")
	userCookie := fs.String("user-cookie", "", "the `cookie` carrying the user id when the header is absent (default edgeflag_uid)")
	var countryHeaders listFlag
	fs.Var(&countryHeaders, "country-header", "a request `header` carrying the viewer's country, read in order; repeatable (default CF-IPCountry, then CloudFront-Viewer-Country)")
	var publicKeys listFlag
	fs.Var(&publicKeys, "public-key", "require pointers signed by the public key in this `file` (PEM, from edgeflag keygen); repeatable: give two while rotating keys (default $"+envPublicKeys+", PEM text; none: signatures are not checked)")
	stateDir := fs.String("state-dir", "", "keep the pointer served and its snapshot in this `directory` (created if missing), and start from them: the edge answers before the store does, and keeps refusing older signed pointers across restarts (default: nothing kept)")
	mod := addModuleFlags(fs)
	if _, code, done := r.parse(fs, args, 0, 0); done {
		return nil, code, true
	}
	cfg = &edgeConfig{environment: *env, addr: *addr, poll: time.Duration(poll), grace: time.Duration(grace),
		pollTimeout: time.Duration(pollTimeout), instances: *instances, stateDir: *stateDir, module: mod}
	fail := func(err error) (*edgeConfig, int, bool) { return nil, r.usageFail(err), true }

	var err error
	if cfg.storeURL, err = edgeStoreURL(*storeURL, r.getenv(envStoreURL)); err != nil {
		return fail(err)
	}
	if !layout.ValidEnvironment(cfg.environment) {
		return fail(usagef("--env %q: not an environment name (lower-case letters, digits and dashes)", cfg.environment))
	}
	if cfg.grace <= cfg.poll {
		return fail(usagef("--grace %s must be longer than --poll %s: the edge would turn stale between two polls",
			shortdur.Format(cfg.grace), shortdur.Format(cfg.poll)))
	}
	if cfg.instances < 0 {
		return fail(usagef("--instances %d: want 0 (one per CPU) or more", cfg.instances))
	}

	keys := []string(apiKeys)
	if len(keys) == 0 {
		keys = strings.Split(r.getenv(envOFREPAPIKeys), ",")
	}
	if cfg.keys, err = r.publicKeys(publicKeys); err != nil {
		return fail(err)
	}
	for _, k := range keys {
		if k = strings.TrimSpace(k); k != "" {
			cfg.apiKeys = append(cfg.apiKeys, k)
		}
	}
	if len(cfg.apiKeys) > 0 {
		cfg.ofrep.Authenticate = ofrep.APIKeys(cfg.apiKeys...)
	}
	if *allowOrigin != "" {
		if err := checkOrigin(*allowOrigin); err != nil {
			return fail(err)
		}
		cfg.ofrep.AllowOrigin = *allowOrigin
	}
	switch *reasons {
	case "spec":
		cfg.ofrep.Reasons = ofrep.SpecReasons
	case "openfeature":
		cfg.ofrep.Reasons = ofrep.OpenFeatureReasons
	default:
		return fail(usagef("--reasons %q: want spec or openfeature", *reasons))
	}
	for _, h := range append([]string{*userHeader}, countryHeaders...) {
		if h != "" && !isToken(h) {
			return fail(usagef("%q is not a header name", h))
		}
	}
	if *userCookie != "" && !isToken(*userCookie) {
		return fail(usagef("--user-cookie %q: not a cookie name", *userCookie))
	}
	cfg.request = edgeserver.RequestConfig{UserHeader: *userHeader, UserCookie: *userCookie, CountryHeaders: countryHeaders}
	return cfg, ExitOK, false
}

// edgeStoreURL checks the store URL given by --store-url, else by $EDGEFLAG_STORE_URL,
// and returns it without a trailing slash.
func edgeStoreURL(flagValue, envValue string) (string, error) {
	raw, from := flagValue, "--store-url"
	if raw == "" {
		raw, from = envValue, "$"+envStoreURL
	}
	if raw == "" {
		return "", usagef("no store: give --store-url (the CloudFront distribution in front of the bucket, or edgeflag dev's address) or set %s", envStoreURL)
	}
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		return "", usagef("%s %q: not a URL", from, raw)
	case u.Scheme != "http" && u.Scheme != "https":
		return "", usagef("%s %q: want an http:// or https:// URL (edges read the store over HTTP; publish and rollback take s3:// locations)", from, raw)
	case u.Host == "":
		return "", usagef("%s %q: no host", from, raw)
	case u.RawQuery != "" || u.ForceQuery || u.Fragment != "":
		return "", usagef("%s %q: a query or fragment cannot be part of a store URL", from, raw)
	case u.User != nil:
		return "", usagef("%s %q: credentials cannot be part of a store URL", from, raw)
	}
	return strings.TrimRight(raw, "/"), nil
}

// checkOrigin accepts "*" or an origin: scheme://host[:port], nothing after.
func checkOrigin(origin string) error {
	if origin == "*" {
		return nil
	}
	u, err := url.Parse(origin)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Path != "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return usagef("--allow-origin %q: want * or an origin such as https://app.example.com", origin)
	}
	return nil
}

// isToken reports whether s is an HTTP token (RFC 9110): a valid header or cookie name.
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0 {
			continue
		}
		return false
	}
	return true
}

// durationFlag is a positive duration flag whose errors say what is expected.
type durationFlag time.Duration

func (d *durationFlag) String() string { return shortdur.Format(time.Duration(*d)) }

func (d *durationFlag) Set(s string) error {
	v, err := time.ParseDuration(s)
	if err != nil {
		return errors.New("want a duration such as 500ms, 5s or 1m")
	}
	if v <= 0 {
		return errors.New("want a duration above zero")
	}
	*d = durationFlag(v)
	return nil
}

// edge is a running edge server: its configuration, the edgeserver.Server and the event
// log.
type edge struct {
	cfg *edgeConfig
	log *edgeLog
	srv *edgeserver.Server

	// mu guards the fields below: OnStale runs in the polling goroutine and in requests
	// to /healthz alike.
	mu         sync.Mutex
	pollError  string // the poll error last logged ("" when polls succeed)
	recovered  bool   // "fresh again" was logged since the last poll
	stateError string // the state write error last logged ("" when writes succeed)
}

// serveEdge loads the module, listens, serves and polls until ctx is done, then shuts
// down. stop is called once ctx is done, so that a second signal ends the process.
func serveEdge(ctx context.Context, r *runner, cfg *edgeConfig, stop func()) error {
	if cfg.stateDir != "" {
		if err := os.MkdirAll(cfg.stateDir, 0o700); err != nil {
			return fmt.Errorf("--state-dir: %w", err)
		}
	}
	module, err := cfg.module.load(ctx, r)
	if err != nil {
		return err
	}
	ev, err := host.New(ctx, module.Wasm, host.Config{CacheDir: cfg.module.cache(r), Instances: cfg.instances, Stderr: r.env.Stderr})
	if err != nil {
		return fmt.Errorf("the evaluator module %s: %w", module.Origin, err)
	}
	defer ev.Close(context.Background())
	e := &edge{cfg: cfg, log: &edgeLog{w: r.env.Stdout, now: r.env.Now}}
	e.srv, err = edgeserver.New(edgeserver.Config{
		Evaluator: ev, StoreURL: cfg.storeURL, Environment: cfg.environment,
		PollInterval: cfg.poll, Grace: cfg.grace, PollTimeout: cfg.pollTimeout,
		OFREP: cfg.ofrep, Request: cfg.request,
		OnLoad: e.loaded, OnStale: e.stale, OnPoll: e.polled, Keys: cfg.keys,
		StateDir: cfg.stateDir, OnStateWrite: e.stateWritten,
	})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.addr, err)
	}
	hs := &http.Server{
		Handler:           e.srv,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       120 * time.Second, // above the 60 s idle timeout of AWS load balancers
	}
	e.log.printf("listening on http://%s", ln.Addr())
	e.log.printf("following %s/%s/current.json: polled every %s, stale after %s without a successful poll",
		cfg.storeURL, cfg.environment, shortdur.Format(cfg.poll), shortdur.Format(cfg.grace))
	auth := "open"
	if len(cfg.apiKeys) > 0 {
		auth = "with " + plural(len(cfg.apiKeys), "API key")
	}
	if cfg.keys != nil {
		e.log.printf("signatures required: pointers must be signed for %s by key %s", cfg.environment, strings.Join(cfg.keys.KeyIDs(), " or "))
	} else {
		e.log.printf("signatures not checked (no --public-key): any pointer in the store is served")
	}
	e.log.printf("evaluator module %s (%s bytes), %s; OFREP %s", module.Origin, thousands(len(module.Wasm)), instancesText(cfg.instances), auth)
	if cfg.stateDir != "" {
		e.restore()
	}

	served := make(chan error, 1)
	go func() { served <- hs.Serve(ln) }()
	pollCtx, cancelPoll := context.WithCancel(context.WithoutCancel(ctx))
	var polling sync.WaitGroup
	polling.Go(func() { e.srv.Run(pollCtx) })

	var serveErr error
	select {
	case <-ctx.Done():
	case serveErr = <-served:
	}
	stop()
	e.log.printf("stopping")
	cancelPoll()
	polling.Wait()
	shutdown, cancel := context.WithTimeout(context.Background(), edgeShutdownTimeout)
	defer cancel()
	if err := hs.Shutdown(shutdown); err != nil {
		e.log.printf("requests still in flight after %s are cut off", shortdur.Format(edgeShutdownTimeout))
		hs.Close()
	}
	if serveErr != nil && !errors.Is(serveErr, http.ErrServerClosed) {
		return fmt.Errorf("serving on %s: %w", ln.Addr(), serveErr)
	}
	e.log.printf("stopped")
	return nil
}

// polled logs a poll's failure when it differs from the last one logged, and the first
// success after failures.
func (e *edge) polled(err error) {
	if errors.Is(err, context.Canceled) {
		return // stopping
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	recovered := e.recovered
	e.recovered = false
	switch {
	case err == nil && e.pollError != "":
		if !recovered { // else "fresh again" said it
			e.log.printf("polling the store succeeds again")
		}
		e.pollError = ""
	case err != nil && err.Error() != e.pollError:
		e.pollError = err.Error()
		msg := "polling the store failed: " + e.pollError
		if e.srv.Source().Version().Snapshot == "" {
			msg += " (no snapshot yet: /healthz answers 503 and evaluations answer errors until a poll succeeds)"
		}
		e.log.printf("%s", msg)
	}
}

// restore serves the state kept in --state-dir, before the first poll, and logs what it
// found.
func (e *edge) restore() {
	dir := e.cfg.stateDir
	err := e.srv.Restore()
	h := e.srv.Health()
	switch {
	case err != nil:
		e.log.printf("%v; starting without it", err)
	case h.Restored:
		e.log.printf("restored snapshot %s (pointer version %d) from %s: served until a poll confirms or replaces it, stale after %s without one",
			shortSnapshot(h.Snapshot), h.PointerVersion, dir, shortdur.Format(e.cfg.grace))
	default:
		e.log.printf("no state in %s yet: the snapshots loaded are kept there", dir)
	}
}

// stateWritten is the Server's OnStateWrite: it logs a failed write of the state when it
// differs from the last one logged, and the first success after failures.
func (e *edge) stateWritten(err error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	switch {
	case err == nil && e.stateError != "":
		e.log.printf("the state is written again to %s", e.cfg.stateDir)
		e.stateError = ""
	case err != nil && err.Error() != e.stateError:
		e.stateError = err.Error()
		e.log.printf("keeping the state failed: %s (the snapshot served is not affected; retried after the next successful poll)", e.stateError)
	}
}

// loaded is the Server's OnLoad.
func (e *edge) loaded(v ofrep.Version) {
	e.log.printf("loaded %s snapshot %s (revision %s, %s)", v.Environment, shortSnapshot(v.Snapshot), v.Revision, plural(e.srv.Source().Flags(), "flag"))
}

// stale is the Server's OnStale.
func (e *edge) stale(stale bool) {
	if stale {
		e.log.printf("stale: no poll has succeeded for %s; answers are marked stale and keep snapshot %s", shortdur.Format(e.cfg.grace), shortSnapshot(e.srv.Source().Version().Snapshot))
	} else {
		e.mu.Lock()
		e.recovered = true
		e.mu.Unlock()
		e.log.printf("fresh again: the store answers")
	}
}

// instancesText says how many module instances may run at once.
func instancesText(n int) string {
	if n == 0 {
		return fmt.Sprintf("up to %s (one per CPU)", plural(runtime.GOMAXPROCS(0), "instance"))
	}
	return "up to " + plural(n, "instance")
}

// edgeLog prints one line per event, each starting with the time in RFC 3339 (UTC); it
// is safe for concurrent use.
type edgeLog struct {
	mu  sync.Mutex
	w   io.Writer
	now func() time.Time
}

func (l *edgeLog) printf(format string, args ...any) {
	now := time.Now
	if l.now != nil {
		now = l.now
	}
	line := now().UTC().Format(time.RFC3339) + " " + fmt.Sprintf(format, args...) + "\n"
	l.mu.Lock()
	defer l.mu.Unlock()
	_, _ = io.WriteString(l.w, line)
}
