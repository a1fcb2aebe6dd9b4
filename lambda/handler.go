// Package lambda is the kill-switch API and the republish function. The API is a plain
// http.Handler (so `edgeflag dev` can serve it locally), and Invoke adapts it to AWS
// Lambda: API Gateway HTTP API events (payload format 2.0) and S3 events for newly
// uploaded base snapshots. The bootstrap binary for the provided.al2023 runtime is
// lambda/bootstrap.
//
// Routes (all answers are JSON; errors are {"error": code, "message": text}):
//
//	GET  /flags[?environment=E]   per environment: snapshot version, and per flag killed,
//	                              release ring and current percentage
//	POST /flags/{key}/kill        {"environment": E, "reason": R}   reason required
//	POST /flags/{key}/unkill      {"environment": E, "reason": R}   reason optional
//	POST /publish                 {"environment": E, "base": HASH}  base optional: serve
//	                              that base (or the current one) with the kill state
//	GET  /rollouts?environment=E[&flag=F]   where each staged rollout stands
//	POST /flags/{key}/rollout/{pause|resume|promote|rollback}
//	                              {"environment": E, "reason": R}   reason required
//
// A scheduled (EventBridge) invocation runs the rollout controller once over every
// configured environment.
//
// Every request must be authenticated: by API Gateway's IAM authorizer (the caller's
// ARN arrives in the event and is the audit trail's "who"), or by the bearer token of
// Config.Token. A request with neither is refused with 401 before anything is read. The
// read-only token of Config.ReadOnlyToken may only GET: anything else gets 403.
//
// Under /dashboard/ the handler serves the release dashboard that Config.Dashboard builds
// (the bootstrap binary and `edgeflag dev` mount the project's, which logs browsers in with
// the same tokens and keeps its own session cookie); without one those paths answer 404.
package lambda

import (
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/edgeflag/edgeflag/publish"
	"github.com/edgeflag/edgeflag/rollout"
	"github.com/edgeflag/edgeflag/signing"
	"github.com/edgeflag/edgeflag/store"
	"github.com/edgeflag/edgeflag/store/layout"
)

// MaxBodyBytes is the largest request body accepted; larger ones get 413.
const MaxBodyBytes = 16 << 10

// MaxReasonLength bounds a kill reason.
const MaxReasonLength = 1000

// dashboardPrefix is the path under which the Handler serves Config.Dashboard (the
// dashboard's own prefix; template.yaml routes it as /dashboard/{proxy+}).
const dashboardPrefix = "/dashboard/"

// MinTokenLength is the shortest bearer token Config accepts.
const MinTokenLength = 16

// Config configures a Handler.
type Config struct {
	// Store holds the snapshots, pointers, kill state and audit records. Required.
	Store store.Store
	// Environments the API serves; requests for others get 404. GET /flags without an
	// environment lists these. Empty: any environment that has been published.
	Environments []string
	// Token, if set, is a bearer token accepted in place of an IAM identity (local use).
	// At least MinTokenLength characters.
	Token string
	// ReadOnlyToken, if set, is a bearer token that may only read: GET requests, and the
	// dashboard without its actions. At least MinTokenLength characters, not Token.
	ReadOnlyToken string
	// TokenActor names bearer-token callers in the audit trail (default "bearer-token").
	TokenActor string
	// Dashboard, if set, builds the release dashboard served under /dashboard/. New calls
	// it once, with the Config it has checked and completed (defaults set), so that the
	// dashboard can share the store, signer, tokens, providers, notifier, clock and logger;
	// the dashboard authenticates its requests itself (Caller gives the IAM identity of a
	// request that came through Invoke). Nil: no dashboard, and /dashboard/ answers 404.
	Dashboard func(api Config) (http.Handler, error)
	// Now returns the current time (default time.Now).
	Now func() time.Time
	// Logger receives one line per request and per S3 record (default: discard).
	Logger *slog.Logger
	// Providers answer the rollout controller's metric queries, by provider name; a
	// scheduled tick pauses rollouts whose metrics have no provider.
	Providers map[string]rollout.Provider
	// Notifier is told about each rollout PAUSE and ROLLBACK (nil: nobody).
	Notifier rollout.Notifier
	// Signer, if set, signs every pointer the handler moves (kill, unkill, publish,
	// republish on upload, rollout): the KMS key of template.yaml in the Lambda.
	Signer signing.Signer
}

// Handler serves the kill-switch API. It is safe for concurrent use.
type Handler struct {
	cfg  Config
	pub  *publish.Publisher
	log  *slog.Logger
	dash http.Handler // nil: no dashboard
}

// New checks cfg and returns its Handler.
func New(cfg Config) (*Handler, error) {
	if cfg.Store == nil {
		return nil, errors.New("lambda: Config.Store is required")
	}
	for _, env := range cfg.Environments {
		if !layout.ValidEnvironment(env) {
			return nil, fmt.Errorf("lambda: invalid environment name %q", env)
		}
	}
	if cfg.Token != "" && len(cfg.Token) < MinTokenLength {
		return nil, fmt.Errorf("lambda: the bearer token must be at least %d characters", MinTokenLength)
	}
	if cfg.ReadOnlyToken != "" && len(cfg.ReadOnlyToken) < MinTokenLength {
		return nil, fmt.Errorf("lambda: the read-only token must be at least %d characters", MinTokenLength)
	}
	if cfg.ReadOnlyToken != "" && cfg.ReadOnlyToken == cfg.Token {
		return nil, errors.New("lambda: the read-only token must differ from the full-access token")
	}
	if cfg.TokenActor == "" {
		cfg.TokenActor = "bearer-token"
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	pub := publish.New(cfg.Store)
	pub.Now = cfg.Now
	pub.Signer = cfg.Signer
	h := &Handler{cfg: cfg, pub: pub, log: cfg.Logger}
	if cfg.Dashboard != nil {
		dash, err := cfg.Dashboard(cfg)
		if err != nil {
			return nil, fmt.Errorf("lambda: the release dashboard: %w", err)
		}
		h.dash = dash
	}
	return h, nil
}

// callerKey is the context key of the IAM caller set by the Lambda adapter.
type callerKey struct{}

// withCaller returns ctx carrying an authenticated IAM caller. Only the Lambda adapter
// sets it, from API Gateway's authorizer context: never from request headers.
func withCaller(ctx context.Context, arn string) context.Context {
	return context.WithValue(ctx, callerKey{}, arn)
}

// Caller returns the IAM identity (the caller's ARN) that API Gateway's authorizer
// vouched for when r came through Invoke or HandleHTTPEvent, or "" for any other request:
// it is never read from the request's headers.
func Caller(r *http.Request) string {
	arn, _ := r.Context().Value(callerKey{}).(string)
	return arn
}

// caller returns who made the request, or "" when it is not authenticated, and whether
// the caller may only read (the read-only token).
func (h *Handler) caller(r *http.Request) (who string, readOnly bool) {
	if arn := Caller(r); arn != "" {
		return arn, false
	}
	auth := r.Header.Get("Authorization")
	scheme, token, ok := strings.Cut(auth, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	switch {
	case h.cfg.Token != "" && subtle.ConstantTimeCompare([]byte(token), []byte(h.cfg.Token)) == 1:
		return h.cfg.TokenActor, false
	case h.cfg.ReadOnlyToken != "" && subtle.ConstantTimeCompare([]byte(token), []byte(h.cfg.ReadOnlyToken)) == 1:
		return h.cfg.TokenActor + " (read-only)", true
	}
	return "", false
}

var flagKeyPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]*$`)

// ServeHTTP routes a request.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
	if r.URL.Path == "/dashboard" || strings.HasPrefix(r.URL.Path, dashboardPrefix) {
		// The dashboard authenticates by itself: its login page must be reachable.
		if h.dash == nil {
			writeError(rec, http.StatusNotFound, "not_found", "no release dashboard is served here")
		} else {
			h.dash.ServeHTTP(rec, r)
		}
		h.log.Info("request", "method", r.Method, "path", r.URL.Path, "status", rec.status, "duration", time.Since(start))
		return
	}
	who, readOnly := h.caller(r)
	if readOnly && r.Method != http.MethodGet && r.Method != http.MethodHead {
		writeError(rec, http.StatusForbidden, "read_only", "the read-only token may only read (GET): use the full-access token or IAM to change anything")
	} else {
		h.serve(rec, r, who)
	}
	h.log.Info("request", "method", r.Method, "path", r.URL.Path, "status", rec.status,
		"who", who, "duration", time.Since(start))
}

func (h *Handler) serve(w http.ResponseWriter, r *http.Request, who string) {
	if who == "" {
		w.Header().Set("WWW-Authenticate", `Bearer realm="edgeflag"`)
		writeError(w, http.StatusUnauthorized, "unauthorized",
			"sign the request with AWS SigV4 (IAM) or send Authorization: Bearer <token>")
		return
	}
	path := r.URL.Path
	switch {
	case path == "/flags":
		if !allow(w, r, http.MethodGet) {
			return
		}
		h.flags(w, r)
	case path == "/publish":
		if !allow(w, r, http.MethodPost) {
			return
		}
		h.publish(w, r, who)
	case path == "/rollouts":
		if !allow(w, r, http.MethodGet) {
			return
		}
		h.rollouts(w, r)
	case strings.HasPrefix(path, "/flags/"):
		key, action, ok := strings.Cut(strings.TrimPrefix(path, "/flags/"), "/")
		if sub, found := strings.CutPrefix(action, "rollout/"); found && key != "" && rollout.ValidAction(sub) {
			if !allow(w, r, http.MethodPost) {
				return
			}
			h.rolloutAction(w, r, who, key, sub)
			return
		}
		if !ok || (action != "kill" && action != "unkill") || key == "" {
			writeError(w, http.StatusNotFound, "not_found", "no route "+path)
			return
		}
		if !allow(w, r, http.MethodPost) {
			return
		}
		h.kill(w, r, who, key, action == "kill")
	default:
		writeError(w, http.StatusNotFound, "not_found",
			"no route "+path+" (routes: GET /flags, POST /flags/{key}/kill, POST /flags/{key}/unkill, POST /publish, GET /rollouts, POST /flags/{key}/rollout/{pause|resume|promote|rollback})")
	}
}

func allow(w http.ResponseWriter, r *http.Request, method string) bool {
	if r.Method == method {
		return true
	}
	w.Header().Set("Allow", method)
	writeError(w, http.StatusMethodNotAllowed, "method_not_allowed", r.Method+" "+r.URL.Path+": use "+method)
	return false
}

// killRequest is the body of POST /flags/{key}/kill and /unkill.
type killRequest struct {
	Environment string `json:"environment"`
	Reason      string `json:"reason"`
}

// KillResponse is the answer to a kill or unkill.
type KillResponse struct {
	Environment string `json:"environment"`
	Flag        string `json:"flag"`
	Killed      bool   `json:"killed"`
	// Snapshot is the snapshot version made from exactly the kill state the change
	// wrote (KillStateVersion): the audit record's after.snapshot.
	Snapshot         string `json:"snapshot"`
	KillStateVersion int64  `json:"killStateVersion"`
	// ServedSnapshot is what the environment's pointer names after the change, made
	// from kill state ServedKillStateVersion: Snapshot, or a later one when concurrent
	// changes were served first.
	ServedSnapshot         string `json:"servedSnapshot"`
	ServedKillStateVersion int64  `json:"servedKillStateVersion"`
}

func (h *Handler) kill(w http.ResponseWriter, r *http.Request, who, key string, kill bool) {
	var req killRequest
	if !readJSON(w, r, &req) {
		return
	}
	req.Reason = strings.TrimSpace(req.Reason)
	if !h.checkEnvironment(w, req.Environment) {
		return
	}
	if !checkChange(w, key, req.Reason, kill, "say why the flag is killed") {
		return
	}
	var res *publish.KillResult
	var err error
	if kill {
		res, err = h.pub.Kill(r.Context(), req.Environment, key, req.Reason, who)
	} else {
		res, err = h.pub.Unkill(r.Context(), req.Environment, key, req.Reason, who)
	}
	if err != nil {
		writePublishError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, KillResponse{
		Environment:            res.Environment,
		Flag:                   res.Flag,
		Killed:                 res.Killed,
		Snapshot:               res.Audit.After.Snapshot,
		KillStateVersion:       res.State.Version,
		ServedSnapshot:         res.Pointer.Snapshot,
		ServedKillStateVersion: res.Pointer.KillStateVersion,
	})
}

// checkChange answers 400 for a missing (when required) or overlong reason and 404 for a
// malformed flag key, and reports whether the change may go on.
func checkChange(w http.ResponseWriter, key, reason string, required bool, why string) bool {
	switch {
	case required && reason == "":
		writeError(w, http.StatusBadRequest, "missing_field", `"reason" is required: `+why)
		return false
	case len(reason) > MaxReasonLength:
		writeError(w, http.StatusBadRequest, "invalid_field", fmt.Sprintf(`"reason" is longer than %d characters`, MaxReasonLength))
		return false
	case !flagKeyPattern.MatchString(key):
		writeError(w, http.StatusNotFound, "unknown_flag", fmt.Sprintf("no flag %q: flag keys are lower-case letters, digits, '.', '_' and '-'", key))
		return false
	}
	return true
}

// publishRequest is the body of POST /publish.
type publishRequest struct {
	Environment string `json:"environment"`
	Base        string `json:"base"`
}

// PublishResponse is the answer to POST /publish.
type PublishResponse struct {
	Environment string   `json:"environment"`
	Snapshot    string   `json:"snapshot"`
	Base        string   `json:"base"`
	Revision    string   `json:"revision"`
	Killed      []string `json:"killed"`
	Changed     bool     `json:"changed"`
}

func (h *Handler) publish(w http.ResponseWriter, r *http.Request, who string) {
	var req publishRequest
	if !readJSON(w, r, &req) || !h.checkEnvironment(w, req.Environment) {
		return
	}
	if req.Base != "" && !layout.ValidHash(req.Base) {
		writeError(w, http.StatusBadRequest, "invalid_field", `"base" must be a snapshot hash: 64 lower-case hex digits`)
		return
	}
	res, err := h.pub.Republish(r.Context(), req.Environment, publish.RepublishOptions{Base: req.Base}, who)
	if err != nil {
		writePublishError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, PublishResponse{
		Environment: res.Environment,
		Snapshot:    res.Pointer.Snapshot,
		Base:        res.Pointer.Base,
		Revision:    res.Pointer.Revision,
		Killed:      res.Pointer.Killed,
		Changed:     res.Changed,
	})
}

// FlagsResponse is the answer to GET /flags.
type FlagsResponse struct {
	Environments []publish.Status `json:"environments"`
}

func (h *Handler) flags(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	for name := range q {
		if name != "environment" {
			writeError(w, http.StatusBadRequest, "invalid_query", fmt.Sprintf("unknown query parameter %q (known: environment)", name))
			return
		}
	}
	envs := h.cfg.Environments
	if env := q.Get("environment"); env != "" {
		if !h.checkEnvironment(w, env) {
			return
		}
		envs = []string{env}
	} else if len(envs) == 0 {
		writeError(w, http.StatusBadRequest, "missing_query", "name the environment: GET /flags?environment=<name>")
		return
	}
	out := FlagsResponse{Environments: make([]publish.Status, 0, len(envs))}
	for _, env := range envs {
		st, err := h.pub.Status(r.Context(), env, h.cfg.Now())
		if errors.Is(err, publish.ErrUnknownEnvironment) && len(envs) > 1 {
			// Listed in the configuration but not published yet.
			out.Environments = append(out.Environments, publish.Status{Environment: env, Flags: []publish.FlagStatus{}})
			continue
		}
		if err != nil {
			writePublishError(w, err)
			return
		}
		out.Environments = append(out.Environments, *st)
	}
	writeJSON(w, http.StatusOK, out)
}

// checkEnvironment answers 400 for a missing or malformed environment name and 404 for
// one the API does not serve.
func (h *Handler) checkEnvironment(w http.ResponseWriter, env string) bool {
	switch {
	case env == "":
		writeError(w, http.StatusBadRequest, "missing_field", `"environment" is required`)
		return false
	case !layout.ValidEnvironment(env):
		writeError(w, http.StatusBadRequest, "invalid_field", fmt.Sprintf("%q is not an environment name (lower-case letters, digits, '_' and '-')", env))
		return false
	case len(h.cfg.Environments) > 0 && !slices.Contains(h.cfg.Environments, env):
		writeError(w, http.StatusNotFound, "unknown_environment",
			fmt.Sprintf("unknown environment %q (this API serves %s)", env, strings.Join(h.cfg.Environments, ", ")))
		return false
	}
	return true
}

// readJSON decodes the request body, a single JSON object with only known fields, into
// v. It answers 413 for an oversized body and 400 for anything else wrong.
func readJSON(w http.ResponseWriter, r *http.Request, v any) bool {
	if r.ContentLength > MaxBodyBytes {
		writeError(w, http.StatusRequestEntityTooLarge, "body_too_large", fmt.Sprintf("the request body is larger than %d bytes", MaxBodyBytes))
		return false
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			writeError(w, http.StatusRequestEntityTooLarge, "body_too_large", fmt.Sprintf("the request body is larger than %d bytes", MaxBodyBytes))
		} else {
			writeError(w, http.StatusBadRequest, "invalid_body", "reading the request body: "+err.Error())
		}
		return false
	}
	if len(bytes.TrimSpace(body)) == 0 {
		writeError(w, http.StatusBadRequest, "invalid_json", "the request body is empty: send a JSON object")
		return false
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		writeError(w, http.StatusBadRequest, "invalid_json", "the request body is not the expected JSON object: "+jsonErrorText(err))
		return false
	}
	if _, err := dec.Token(); err != io.EOF {
		writeError(w, http.StatusBadRequest, "invalid_json", "the request body has data after the JSON object")
		return false
	}
	return true
}

// jsonErrorText says what is wrong with a body in terms of its fields.
func jsonErrorText(err error) string {
	var typeErr *json.UnmarshalTypeError
	var syntaxErr *json.SyntaxError
	switch {
	case errors.As(err, &typeErr):
		if typeErr.Field == "" {
			return "want a JSON object, got " + typeErr.Value
		}
		return fmt.Sprintf("field %q must be a %s, got %s", typeErr.Field, typeErr.Type, typeErr.Value)
	case errors.As(err, &syntaxErr):
		return fmt.Sprintf("%v (at byte %d)", syntaxErr, syntaxErr.Offset)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "truncated JSON"
	}
	return err.Error()
}

// writePublishError maps the publish package's errors to HTTP answers.
func writePublishError(w http.ResponseWriter, err error) {
	switch {
	case errors.Is(err, publish.ErrUnknownEnvironment):
		writeError(w, http.StatusNotFound, "unknown_environment", err.Error())
	case errors.Is(err, publish.ErrUnknownFlag):
		writeError(w, http.StatusNotFound, "unknown_flag", err.Error())
	case errors.Is(err, publish.ErrUnknownSnapshot):
		writeError(w, http.StatusNotFound, "unknown_snapshot", err.Error())
	case errors.Is(err, publish.ErrOtherEnvironment):
		writeError(w, http.StatusUnprocessableEntity, "wrong_environment", err.Error())
	case errors.Is(err, publish.ErrTooLarge):
		writeError(w, http.StatusUnprocessableEntity, "snapshot_too_large", err.Error())
	case errors.Is(err, publish.ErrKilledInSource):
		writeError(w, http.StatusConflict, "killed_in_source", err.Error())
	case errors.Is(err, publish.ErrContention), errors.Is(err, context.DeadlineExceeded):
		w.Header().Set("Retry-After", "1")
		writeError(w, http.StatusServiceUnavailable, "busy", err.Error())
	default:
		writeError(w, http.StatusInternalServerError, "internal", err.Error())
	}
}

// ErrorResponse is the body of every error answer.
type ErrorResponse struct {
	Error   string `json:"error"`
	Message string `json:"message"`
}

func writeError(w http.ResponseWriter, status int, code, message string) {
	writeJSON(w, status, ErrorResponse{Error: code, Message: message})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		status = http.StatusInternalServerError
		data = []byte(`{"error":"internal","message":"encoding the answer failed"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(append(data, '\n'))
}

// statusRecorder remembers the status for the request log.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(status int) {
	s.status = status
	s.ResponseWriter.WriteHeader(status)
}
