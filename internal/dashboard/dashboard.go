// Package dashboard is the release dashboard: the web page an on-call engineer opens when
// something breaks. It shows every flag of every environment (served state, rollout stage
// and its last decision, owner, expiry, checklist), one flag's rollout timeline with new
// against old side by side and charted, who gets what, its audit trail and where it is
// written in git, and it has the kill switch and the rollout actions (pause, resume,
// promote, roll back).
//
// It is one http.Handler, which the kill-switch API (lambda.Handler) serves under Prefix
// when lambda.Config.Dashboard builds it: ForAPI does, for the Lambda and `edgeflag dev`. Pages are rendered on the server with html/template from
// embedded files, so everything reads without JavaScript; one small hand-written script
// (static/app.js, loaded from the same origin: the Content-Security-Policy allows no
// inline script) polls a tiny state endpoint every second and swaps the parts of the page
// that changed, so the page follows kills and rollout decisions without a reload.
//
// Every action goes through the same code as the kill-switch API: publish.Publisher's
// Kill and Unkill (a conditional write of the kill state, an audit record, a republish)
// and rollout.Controller's Act.
//
// Authentication uses the kill-switch API's tokens: the login form takes the full token
// (Config.Token) or the read-only one (Config.ReadOnlyToken) and sets a session cookie
// (HttpOnly, Secure, SameSite=Strict, signed with an HMAC key derived from that token,
// with an expiry). A GET may also carry `Authorization: Bearer <token>`, or come with an
// IAM identity the host vouches for (Config.Caller). Every POST needs a session with
// write access, the session's CSRF token in the form, and a same-origin Origin and
// Sec-Fetch-Site when the browser sends them.
package dashboard

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/edgeflag/edgeflag/compiler"
	"github.com/edgeflag/edgeflag/publish"
	"github.com/edgeflag/edgeflag/rollout"
	"github.com/edgeflag/edgeflag/signing"
	"github.com/edgeflag/edgeflag/store"
	"github.com/edgeflag/edgeflag/store/layout"
)

// Prefix is the path the dashboard is served under.
const Prefix = "/dashboard/"

// ListPath is the flag list's path.
const ListPath = Prefix + "flags"

// MinTokenLength is the shortest token Config accepts (the kill-switch API's minimum).
const MinTokenLength = 16

// SessionLifetime is how long a login lasts.
const SessionLifetime = 12 * time.Hour

// PollInterval is how often the page asks whether anything changed.
const PollInterval = time.Second

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Config configures a Handler. Store is required.
type Config struct {
	// Store holds the snapshots, pointers, kill and rollout state and audit records.
	Store store.Store
	// Signer, when set, signs every pointer the dashboard's actions move (as the
	// kill-switch API's publisher does).
	Signer signing.Signer
	// Environments lists the environments shown, in order. Nil or empty: every
	// environment published in the store.
	Environments func() []string
	// Token is the full-access token (the kill-switch API's); ReadOnlyToken the one that
	// can only read. Either may be empty; with both empty nobody can log in.
	Token, ReadOnlyToken string
	// TokenActor names token callers in the audit trail ("bearer-token" when empty); a
	// dashboard action is recorded as "<TokenActor> via dashboard" plus the name given
	// at login.
	TokenActor string
	// Caller, if set, returns the IAM identity the host authenticated for a request (the
	// Lambda's API Gateway authorizer), or "". Such a caller has full access.
	Caller func(*http.Request) string
	// Providers answer the rollout criteria's metric queries (the chart, by provider
	// name); Notifier is told about rollbacks and pauses made here.
	Providers map[string]rollout.Provider
	Notifier  rollout.Notifier
	// Project, if set, returns the flag directory's last good build: owners, expiry,
	// stale flags, the release checklist and each flag's file and line. Without it (the
	// Lambda) the dashboard shows what the store knows: the published snapshot and its
	// revision.
	Project func() *compiler.Project
	// Edge, if set, reports what the edge of an environment serves now (`edgeflag dev`
	// runs one); ok is false for an environment no edge here serves.
	Edge func(env string) (edge EdgeState, ok bool)
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Logger receives problems that do not stop a page (default: discard).
	Logger *slog.Logger
	// SimulatedUsers is the population "who gets what" counts (default 10,000).
	SimulatedUsers int
}

// EdgeState is what an edge serves.
type EdgeState struct {
	Snapshot string
	Revision string
	Stale    bool
}

// Handler serves the dashboard. It is safe for concurrent use.
type Handler struct {
	cfg    Config
	pub    *publish.Publisher
	log    *slog.Logger
	tmpl   *template.Template
	static http.Handler
	cache  *snapCache
	sims   sync.Map // simulation results by snapshot+flag
	shares shareCounter
}

// New checks cfg and returns its Handler.
func New(cfg Config) (*Handler, error) {
	if cfg.Store == nil {
		return nil, errors.New("dashboard: Config.Store is required")
	}
	for name, tok := range map[string]string{"Token": cfg.Token, "ReadOnlyToken": cfg.ReadOnlyToken} {
		if tok != "" && len(tok) < MinTokenLength {
			return nil, fmt.Errorf("dashboard: Config.%s must be at least %d characters", name, MinTokenLength)
		}
	}
	if cfg.Token != "" && cfg.Token == cfg.ReadOnlyToken {
		return nil, errors.New("dashboard: the read-only token must differ from the full-access token")
	}
	if cfg.TokenActor == "" {
		cfg.TokenActor = "bearer-token"
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.SimulatedUsers <= 0 {
		cfg.SimulatedUsers = 10000
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	tmpl, err := template.New("").Funcs(funcs).ParseFS(templateFS, "templates/*.html")
	if err != nil {
		return nil, fmt.Errorf("dashboard: templates: %w", err)
	}
	sub, err := fs.Sub(staticFS, "static")
	if err != nil {
		return nil, err
	}
	pub := publish.New(cfg.Store)
	pub.Now = cfg.Now
	pub.Signer = cfg.Signer
	return &Handler{cfg: cfg, pub: pub, log: log, tmpl: tmpl,
		static: http.StripPrefix(Prefix+"static/", http.FileServerFS(sub)), cache: newSnapCache(cfg.Store),
		shares: shareCounter{byEnv: map[string]*shareSet{}, running: map[string]bool{}}}, nil
}

// controller is the rollout controller on the dashboard's store.
func (h *Handler) controller() *rollout.Controller {
	return &rollout.Controller{Publisher: h.pub, Providers: h.cfg.Providers, Notifier: h.cfg.Notifier, Now: h.cfg.Now,
		Logf: func(format string, args ...any) { h.log.Warn("rollout", "message", fmt.Sprintf(format, args...)) }}
}

// environments returns the environments to show.
func (h *Handler) environments(ctx context.Context) ([]string, error) {
	if h.cfg.Environments != nil {
		if envs := h.cfg.Environments(); len(envs) > 0 {
			return envs, nil
		}
	}
	keys, err := h.cfg.Store.List(ctx, "")
	if err != nil {
		return nil, err
	}
	var envs []string
	for _, k := range keys {
		if env, ok := strings.CutSuffix(k, "/current.json"); ok && layout.ValidEnvironment(env) {
			envs = append(envs, env)
		}
	}
	slices.Sort(envs)
	return envs, nil
}

// ServeHTTP routes a request under Prefix.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	securityHeaders(w.Header())
	rest, ok := strings.CutPrefix(r.URL.Path, Prefix)
	if !ok {
		if r.URL.Path != strings.TrimSuffix(Prefix, "/") {
			h.notFound(w, r)
			return
		}
		rest = ""
	}
	if rest == "" {
		// /dashboard and /dashboard/ lead to the list, whose path API Gateway routes
		// without depending on a trailing slash.
		target := ListPath
		if r.URL.RawQuery != "" {
			target += "?" + r.URL.RawQuery
		}
		http.Redirect(w, r, target, http.StatusSeeOther)
		return
	}
	switch {
	case strings.HasPrefix(rest, "static/"):
		if !methods(w, r, http.MethodGet, http.MethodHead) {
			return
		}
		if strings.HasSuffix(rest, "/") {
			h.notFound(w, r) // no directory listings
			return
		}
		w.Header().Set("Cache-Control", "public, max-age=300")
		h.static.ServeHTTP(w, r)
		return
	case rest == "login":
		h.login(w, r)
		return
	case rest == "logout":
		h.logout(w, r)
		return
	}
	sess := h.authenticate(r)
	if sess == nil {
		h.unauthenticated(w, r)
		return
	}
	switch {
	case rest == "flags":
		if methods(w, r, http.MethodGet, http.MethodHead) {
			h.listPage(w, r, sess)
		}
	case rest == "state":
		if methods(w, r, http.MethodGet, http.MethodHead) {
			h.state(w, r)
		}
	case strings.HasPrefix(rest, "flags/"):
		parts := strings.Split(strings.TrimPrefix(rest, "flags/"), "/")
		switch {
		case len(parts) == 1 && parts[0] != "":
			if methods(w, r, http.MethodGet, http.MethodHead) {
				h.flagPage(w, r, sess, parts[0], nil)
			}
		case len(parts) == 2 && parts[1] == "chart.svg":
			if methods(w, r, http.MethodGet, http.MethodHead) {
				h.chart(w, r, parts[0])
			}
		case len(parts) == 2 && isAction(parts[1]):
			if methods(w, r, http.MethodPost) {
				h.action(w, r, sess, parts[0], parts[1])
			}
		default:
			h.notFound(w, r)
		}
	default:
		h.notFound(w, r)
	}
}

// securityHeaders sets the headers every answer carries: no inline script, no framing,
// no sniffing, no referrer leaving the origin.
func securityHeaders(hd http.Header) {
	hd.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "+
		"connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("X-Frame-Options", "DENY")
	hd.Set("Referrer-Policy", "same-origin")
	hd.Set("Cross-Origin-Opener-Policy", "same-origin")
	hd.Set("Cross-Origin-Resource-Policy", "same-origin")
}

func methods(w http.ResponseWriter, r *http.Request, allowed ...string) bool {
	if slices.Contains(allowed, r.Method) {
		return true
	}
	w.Header().Set("Allow", strings.Join(allowed, ", "))
	http.Error(w, r.Method+" "+r.URL.Path+": use "+strings.Join(allowed, " or "), http.StatusMethodNotAllowed)
	return false
}

func (h *Handler) notFound(w http.ResponseWriter, r *http.Request) {
	h.errorPage(w, r, nil, http.StatusNotFound, "Not found", "There is no dashboard page at "+r.URL.Path+".")
}
