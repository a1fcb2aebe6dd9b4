// Package devstack runs everything edgeflag needs on one machine, in one process, on
// 127.0.0.1: what `edgeflag dev` starts.
//
//   - It compiles the flag directory, and again whenever a YAML file changes (polling
//     modification times, no file-system notification library), and publishes every
//     environment into a local store, as `edgeflag publish` does. A file with a problem is
//     reported with file:line:column and nothing is published: the edge keeps serving the
//     last good snapshot.
//   - It serves, on one address: the store as CloudFront serves the bucket
//     (store.Handler), the kill-switch API (the same lambda.Handler the Lambda runs, with a
//     bearer token), and the Go edge server (package edgeserver: the WASM evaluator under
//     wazero with OFREP, /evaluate and /healthz), which polls that store over HTTP every
//     second like a production edge polls CloudFront.
//
// A kill through the API, or an edit of a flag file, reaches the edge's answers on its
// next poll.
package devstack

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/edgeflag/edgeflag/compiler"
	"github.com/edgeflag/edgeflag/internal/dashboard"
	"github.com/edgeflag/edgeflag/internal/edgeserver"
	"github.com/edgeflag/edgeflag/internal/termsafe"
	"github.com/edgeflag/edgeflag/lambda"
	"github.com/edgeflag/edgeflag/ofrep"
	"github.com/edgeflag/edgeflag/poller"
	"github.com/edgeflag/edgeflag/publish"
	"github.com/edgeflag/edgeflag/rollout"
	"github.com/edgeflag/edgeflag/signing"
	"github.com/edgeflag/edgeflag/store"
	"github.com/edgeflag/edgeflag/store/layout"
	"github.com/edgeflag/edgeflag/wasm/host"
)

// Defaults of Config.
const (
	DefaultAddr             = "127.0.0.1:8080"
	DefaultStore            = "out/dev-store"
	DefaultEnvironment      = "production"
	DefaultWatchInterval    = 300 * time.Millisecond
	DefaultEdgePollInterval = time.Second
	DefaultRevision         = "dev"
	DefaultActor            = "edgeflag dev"
	DefaultRolloutInterval  = 10 * time.Second
)

// Config configures a Stack. Dir and Module are required.
type Config struct {
	// Dir is the flag directory to compile and watch.
	Dir string
	// Environment is the one the edge serves (default production). Every environment of
	// the project is published.
	Environment string
	// Store is the store location: a directory (default out/dev-store) or s3://...
	Store string
	// Addr is the address to listen on (default 127.0.0.1:8080; port 0 picks a free one).
	Addr string
	// Token is the kill-switch API's bearer token, at least lambda.MinTokenLength
	// characters; empty generates one.
	Token string
	// ReadOnlyToken, if set, is a token that may only read (the API's GETs and the
	// dashboard without its actions).
	ReadOnlyToken string
	// Module is the WASM evaluator module (see LoadModule).
	Module []byte
	// CacheDir keeps wazero's compiled machine code between runs ("" compiles every time).
	CacheDir string
	// WatchInterval is how often the flag directory is checked for changes (default
	// 300 ms); EdgePollInterval how often the edge polls the store (default 1 s).
	WatchInterval, EdgePollInterval time.Duration
	// Revision is recorded in the snapshots (default "dev"). Their build time is the
	// newest modification time of the flag files, so an unchanged directory compiles to
	// the same bytes and restarting publishes nothing new.
	Revision string
	// Actor names the publisher and the bearer-token caller in the audit trail
	// (default "edgeflag dev").
	Actor string
	// Out receives the banner and one line per event (nil: discarded).
	Out io.Writer
	// RolloutInterval is how often the rollout controller checks every environment's
	// staged rollouts. Zero: DefaultRolloutInterval when a metric provider is configured,
	// else never (without metrics every gated rollout would only pause); negative: never.
	RolloutInterval time.Duration
	// Providers answer the rollout controller's metric queries, by provider name; a
	// rollout whose metrics have no provider pauses and says so.
	Providers map[string]rollout.Provider
	// Notifier is told about each rollout PAUSE and ROLLBACK (nil: only the event log).
	Notifier rollout.Notifier
	// Signer, if set, signs every pointer the stack moves (publish, kill API, rollouts),
	// and the edge then requires pointers signed by its key: the production setup, with a
	// local key file (edgeflag keygen) in place of KMS.
	Signer signing.Signer
}

// Stack is a running development stack.
type Stack struct {
	cfg    Config
	url    string
	st     store.Store
	pub    *publish.Publisher
	ev     *host.Evaluator
	edge   *edgeserver.Server
	api    http.Handler
	files  http.Handler // the store, as CloudFront serves it
	srv    *http.Server
	log    *eventLog
	cancel context.CancelFunc
	wg     sync.WaitGroup

	envMu sync.Mutex
	envs  []string // the environments of the last good build (the rollout loop reads them)

	// Written by Start, then only by the watcher goroutine.
	last  fingerprint
	flags []string // flag keys of the last good build
	// project is the last good build, for the dashboard (read by its requests).
	project   atomic.Pointer[compiler.Project]
	edgeError string // the edge's poll error last printed
}

// Start opens the store, listens, compiles and publishes the flag directory, starts the
// edge and waits for its first poll, prints the banner, and keeps watching the directory
// until Close. Problems in the flag files do not stop it; they are reported on Out.
func Start(ctx context.Context, cfg Config) (*Stack, error) {
	if err := cfg.fill(); err != nil {
		return nil, err
	}
	st, err := store.Open(ctx, cfg.Store)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", cfg.Addr, err)
	}
	s := &Stack{cfg: cfg, url: "http://" + ln.Addr().String(), st: st, pub: publish.New(st),
		files: store.Handler(st), log: &eventLog{w: termsafe.NewWriter(cfg.Out)}}
	fail := func(err error) (*Stack, error) {
		ln.Close()
		if s.ev != nil {
			s.ev.Close(context.Background())
		}
		return nil, err
	}
	s.pub.Signer = cfg.Signer
	var keys *signing.Keyring
	if cfg.Signer != nil {
		if keys, err = signing.NewKeyring(cfg.Signer.PublicKey()); err != nil {
			return fail(err)
		}
	}
	if s.ev, err = host.New(ctx, cfg.Module, host.Config{CacheDir: cfg.CacheDir}); err != nil {
		return fail(fmt.Errorf("the evaluator module: %w", err))
	}
	s.edge, err = edgeserver.New(edgeserver.Config{
		Evaluator: s.ev, StoreURL: s.url, Environment: cfg.Environment, PollInterval: cfg.EdgePollInterval,
		Grace: poller.DefaultGrace, Keys: keys,
		OnLoad: func(v ofrep.Version) {
			s.log.printf("edge: serving %s snapshot %s (revision %s)", v.Environment, short(v.Snapshot), v.Revision)
		},
		OnStale: func(stale bool) {
			if stale {
				s.log.printf("edge: stale: the store has not answered for %s; its answers are marked stale", poller.DefaultGrace)
			} else {
				s.log.printf("edge: the store answers again")
			}
		},
	})
	if err != nil {
		return fail(err)
	}
	api, err := lambda.New(lambda.Config{Store: st, Signer: cfg.Signer, Token: cfg.Token, ReadOnlyToken: cfg.ReadOnlyToken,
		TokenActor: cfg.Actor + " (bearer token)", Dashboard: s.dashboard,
		Providers: cfg.Providers, Notifier: cfg.Notifier})
	if err != nil {
		return fail(err)
	}
	s.api = logRequests(api, s.log)
	s.srv = &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.printf("server: %v", err)
		}
	}()

	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	s.cancel = cancel
	s.last = scan(cfg.Dir)
	s.rebuild(runCtx, s.last)
	if err := s.edge.Poll(runCtx); err != nil {
		s.log.printf("edge: nothing to serve yet: %v", err)
		s.edgeError = err.Error()
	}
	s.printBanner()
	if cfg.RolloutInterval > 0 {
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.runRollouts(runCtx)
		}()
	}
	s.wg.Add(2)
	go func() {
		defer s.wg.Done()
		s.edge.Run(runCtx)
	}()
	go func() {
		defer s.wg.Done()
		s.watch(runCtx)
	}()
	return s, nil
}

// fill checks the configuration and applies the defaults.
func (c *Config) fill() error {
	if c.Dir == "" {
		return errors.New("devstack: no flag directory")
	}
	if len(c.Module) == 0 {
		return errors.New("devstack: no evaluator module")
	}
	if c.Environment == "" {
		c.Environment = DefaultEnvironment
	}
	if !layout.ValidEnvironment(c.Environment) {
		return fmt.Errorf("devstack: invalid environment name %q", c.Environment)
	}
	if c.Store == "" {
		c.Store = DefaultStore
	}
	if c.Addr == "" {
		c.Addr = DefaultAddr
	}
	if c.Token == "" {
		c.Token = NewToken()
	} else if len(c.Token) < lambda.MinTokenLength {
		return fmt.Errorf("the bearer token must be at least %d characters", lambda.MinTokenLength)
	}
	if c.WatchInterval <= 0 {
		c.WatchInterval = DefaultWatchInterval
	}
	if c.RolloutInterval == 0 && len(c.Providers) > 0 {
		c.RolloutInterval = DefaultRolloutInterval
	}
	if c.EdgePollInterval <= 0 {
		c.EdgePollInterval = DefaultEdgePollInterval
	}
	if c.Revision == "" {
		c.Revision = DefaultRevision
	}
	if c.Actor == "" {
		c.Actor = DefaultActor
	}
	if c.Out == nil {
		c.Out = io.Discard
	}
	return nil
}

// NewToken returns a random bearer token: 32 hex digits.
func NewToken() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand)
	return hex.EncodeToString(b[:])
}

// URL returns the base URL everything is served under: http://127.0.0.1:<port>.
func (s *Stack) URL() string { return s.url }

// Token returns the kill-switch API's bearer token.
func (s *Stack) Token() string { return s.cfg.Token }

// Store returns the store the stack publishes to.
func (s *Stack) Store() store.Store { return s.st }

// Close stops watching and polling and shuts the server down, waiting for requests in
// flight until ctx is done.
func (s *Stack) Close(ctx context.Context) error {
	s.cancel()
	err := s.srv.Shutdown(ctx)
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		// Connections still open at the deadline — such as the edge's own keep-alive
		// connection to the store, dialed just before the shutdown and so still "new" to
		// the server — are closed rather than waited for.
		err = s.srv.Close()
	}
	s.wg.Wait()
	if cerr := s.ev.Close(context.Background()); err == nil {
		err = cerr
	}
	return err
}

// ServeHTTP routes a request: the store's objects, the kill-switch API, the edge.
func (s *Stack) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	switch {
	case p == "/":
		s.serveIndex(w, r)
	case strings.HasPrefix(p, "/snapshots/") || strings.HasSuffix(p, "/current.json"):
		s.files.ServeHTTP(w, r)
	case p == "/flags" || strings.HasPrefix(p, "/flags/") || p == "/publish" ||
		p == "/dashboard" || strings.HasPrefix(p, dashboard.Prefix):
		s.api.ServeHTTP(w, r)
	default:
		s.edge.ServeHTTP(w, r)
	}
}

// watch recompiles and republishes whenever the flag directory changes.
func (s *Stack) watch(ctx context.Context) {
	t := time.NewTicker(s.cfg.WatchInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		s.reportEdgeErrors()
		fp := scan(s.cfg.Dir)
		if fp.equal(s.last) {
			continue
		}
		// Remember what was read before compiling: a write that lands during the compile
		// changes the fingerprint again and is picked up on the next tick.
		s.last = fp
		s.rebuild(ctx, fp)
	}
}

// reportEdgeErrors prints the edge's poll error when it changes, and when polls succeed
// again: a snapshot the module refuses, or a store that does not answer, shows at once.
func (s *Stack) reportEdgeErrors() {
	h := s.edge.Health()
	if h.LastError == s.edgeError {
		return
	}
	if h.LastError == "" {
		s.log.printf("edge: polling the store succeeds again")
	} else {
		s.log.printf("edge: %s", h.LastError)
	}
	s.edgeError = h.LastError
}

// rebuild compiles the directory as fingerprinted and publishes every environment, or
// reports the problems and publishes nothing.
func (s *Stack) rebuild(ctx context.Context, fp fingerprint) {
	b := compile(s.cfg.Dir, s.cfg.Revision, fp.newest)
	if len(b.problems) > 0 {
		for _, p := range b.problems {
			s.log.printf("%s", p.Error())
		}
		msg := fmt.Sprintf("%d problem%s: nothing published", len(b.problems), plural(len(b.problems)))
		if v := s.edge.Source().Version(); v.Snapshot != "" {
			msg += "; the edge keeps serving snapshot " + short(v.Snapshot)
		}
		s.log.printf("%s", msg)
		return
	}
	s.flags = b.flags
	s.envMu.Lock()
	s.envs = b.environments
	s.envMu.Unlock()
	s.project.Store(b.project)
	has := false
	for i, env := range b.environments {
		has = has || env == s.cfg.Environment
		res, err := s.pub.PublishWithPlan(ctx, b.snapshots[i], b.plans[i], s.cfg.Actor)
		if err != nil {
			s.log.printf("publish %s: %v", env, err)
			continue
		}
		switch {
		case !res.Changed:
			s.log.printf("unchanged  %s snapshot %s", env, short(res.Pointer.Snapshot))
		case res.Previous != nil:
			s.log.printf("published  %s snapshot %s (was %s)%s", env, short(res.Pointer.Snapshot), short(res.Previous.Snapshot), killedNote(res.Pointer.Killed))
		default:
			s.log.printf("published  %s snapshot %s%s", env, short(res.Pointer.Snapshot), killedNote(res.Pointer.Killed))
		}
	}
	if !has {
		s.log.printf("the project has no environment %q (it has %s): the edge has nothing to serve",
			s.cfg.Environment, strings.Join(b.environments, ", "))
	}
}

func killedNote(killed []string) string {
	if len(killed) == 0 {
		return ""
	}
	return ", killed: " + strings.Join(killed, ", ")
}

func short(hash string) string {
	if len(hash) > 12 {
		return hash[:12]
	}
	return hash
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// eventLog prints timestamped lines; safe for concurrent use.
// eventLog writes dev's events, one line each. Its writer escapes control characters
// (file names, flag keys, API reasons and store values end up in events), so that an
// event cannot recolour or rewrite the terminal.
type eventLog struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *eventLog) printf(format string, args ...any) {
	line := time.Now().Format("15:04:05") + " " + fmt.Sprintf(format, args...) + "\n"
	l.mu.Lock()
	defer l.mu.Unlock()
	_, _ = io.WriteString(l.w, line)
}

func (l *eventLog) write(text string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	_, _ = io.WriteString(l.w, text)
}

// logRequests logs each kill-switch API request with its answer, and the dashboard's
// changes (not its pages, files and once-a-second state polls).
func logRequests(h http.Handler, log *eventLog) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, dashboard.Prefix) && (r.Method == http.MethodGet || r.Method == http.MethodHead) {
			h.ServeHTTP(w, r)
			return
		}
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		h.ServeHTTP(rec, r)
		log.printf("api: %s %s → %d", r.Method, r.URL.RequestURI(), rec.status)
	})
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(status int) {
	s.status = status
	s.ResponseWriter.WriteHeader(status)
}
