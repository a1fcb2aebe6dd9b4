// Package edgeserver is the Go edge server: an http.Handler that evaluates flags with the
// WASM evaluator module under wazero (package wasm/host), kept current by the store poller
// (package poller) reading the store over HTTP, as CloudFront or `edgeflag dev` serve it.
//
//	POST /ofrep/v1/evaluate/flags/{key}   OFREP, one flag (package ofrep)
//	POST /ofrep/v1/evaluate/flags         OFREP, every flag, with ETag and 304
//	GET  /evaluate[?flag=k1&flag=k2]      the request's context (user id, country, user
//	                                      agent), evaluated: JSON, and x-flag-<key>: <variant>
//	                                      response headers, as the Cloudflare Worker does
//	GET  /.edgeflag/flags                 the same as /evaluate (the Worker's path)
//	GET  /healthz                         the snapshot served and how fresh it is
//
// The module is the same bin/edgeflag.wasm the Worker and the Lambda@Edge function run;
// the OFREP answers are those of the native evaluator (ofrep.Native), and the /evaluate
// body is the Worker's /.edgeflag/flags body byte for byte. Config.Backend can put the
// native evaluator (NativeSource) in the module's place, with the same answers: the
// benchmarks compare the two.
package edgeserver

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/edgeflag/edgeflag/evaluator"
	"github.com/edgeflag/edgeflag/ofrep"
	"github.com/edgeflag/edgeflag/poller"
	"github.com/edgeflag/edgeflag/protocol"
	"github.com/edgeflag/edgeflag/signing"
	"github.com/edgeflag/edgeflag/wasm/host"
)

// Paths the Server answers besides OFREP's.
const (
	PathEvaluate    = "/evaluate"
	PathWorkerFlags = "/.edgeflag/flags" // the Cloudflare Worker's and Lambda@Edge function's path
	PathHealth      = "/healthz"
)

// Config configures a Server. StoreURL is required, and Evaluator or Backend.
type Config struct {
	// Evaluator runs the WASM module. The Server loads every snapshot into it: do not
	// call its Load or SetStale elsewhere.
	Evaluator *host.Evaluator
	// Backend, if set, is what the Server evaluates with instead of the module: for
	// example NewNativeSource(), the native evaluator, which answers the same bytes (the
	// benchmarks compare the two). The Server loads every snapshot into it.
	Backend Backend
	// StoreURL is where the store's objects are served over HTTP, without a trailing
	// slash: a CloudFront distribution, or `edgeflag dev`.
	StoreURL string
	// Environment whose pointer the Server follows (default production).
	Environment string
	// PollInterval, Grace and PollTimeout tune the poller (defaults 5 s, 60 s, 5 s):
	// results are reported stale when no poll succeeded within Grace.
	PollInterval, Grace, PollTimeout time.Duration
	// Client fetches from the store (default http.DefaultClient).
	Client *http.Client
	// OFREP configures the OFREP endpoints (authentication, reason style, CORS). Its Now
	// defaults to Config.Now.
	OFREP ofrep.Options
	// Request says how GET /evaluate builds a context from a request.
	Request RequestConfig
	// Now returns the time of evaluation (default time.Now).
	Now func() time.Time
	// OnLoad, if set, is called after each new snapshot is loaded; OnStale when the
	// snapshot becomes stale or fresh again.
	OnLoad  func(ofrep.Version)
	OnStale func(stale bool)
	// OnPoll, if set, is called after every poll of the store with its error (nil when it
	// succeeded).
	OnPoll func(err error)
	// Keys, if set, are the public keys pointers must be signed with (poller.Config.Keys):
	// an unsigned, tampered, cross-environment or replayed pointer is refused, the last
	// good snapshot kept, and the reason shown in /healthz (lastError).
	Keys *signing.Keyring
	// StateDir, if set, is where the Server keeps the pointer it serves and its
	// snapshot (poller.Config.StateDir), so that a restart serves them at once, before
	// the store answers, and keeps refusing older signed pointers. OnStateWrite, if set,
	// is called after each write of it with its error (nil when written).
	StateDir     string
	OnStateWrite func(err error)
}

// Server is the edge server. It is safe for concurrent use.
type Server struct {
	cfg    Config
	src    Backend
	poller *poller.Poller
	ofrep  *ofrep.Handler
	mux    *http.ServeMux
	pool   sync.Pool // *evalWork
	names  headerNames
}

// evalWork is the reusable space of one GET /evaluate.
type evalWork struct {
	ctx   *evaluator.Context
	frame []byte // the module's results frame
	body  []byte
}

// New checks cfg and returns a Server. Nothing is fetched until Run or Poll.
func New(cfg Config) (*Server, error) {
	if cfg.Evaluator == nil && cfg.Backend == nil {
		return nil, errors.New("edgeserver: Config.Evaluator or Config.Backend is required")
	}
	if cfg.Environment == "" {
		cfg.Environment = "production"
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.OFREP.Now == nil {
		cfg.OFREP.Now = cfg.Now
	}
	cfg.Request = cfg.Request.withDefaults()
	s := &Server{cfg: cfg, src: cfg.Backend, mux: http.NewServeMux()}
	if s.src == nil {
		s.src = NewSource(cfg.Evaluator)
	}
	p, err := poller.New(poller.Config{
		BaseURL:      cfg.StoreURL,
		Environment:  cfg.Environment,
		Interval:     cfg.PollInterval,
		Grace:        cfg.Grace,
		Timeout:      cfg.PollTimeout,
		Client:       cfg.Client,
		Apply:        s.apply,
		OnPoll:       cfg.OnPoll,
		Keys:         cfg.Keys,
		StateDir:     cfg.StateDir,
		OnStateWrite: cfg.OnStateWrite,
		OnStale: func(stale bool) {
			s.src.SetStale(stale)
			if cfg.OnStale != nil {
				cfg.OnStale(stale)
			}
		},
	})
	if err != nil {
		return nil, errors.New("edgeserver: " + err.Error())
	}
	s.poller = p
	s.ofrep = ofrep.NewHandler(s.src, cfg.OFREP)
	s.pool.New = func() any { return &evalWork{ctx: evaluator.NewContext()} }
	s.mux.Handle("/ofrep/", s.ofrep)
	s.mux.HandleFunc("GET "+PathEvaluate, s.serveEvaluate)
	s.mux.HandleFunc("GET "+PathWorkerFlags, s.serveEvaluate)
	s.mux.HandleFunc("GET "+PathHealth, s.serveHealth)
	return s, nil
}

// apply installs a snapshot the poller fetched: the poller has verified its content hash
// against the pointer, so the module does not hash it again.
func (s *Server) apply(data []byte, _ poller.Pointer) error {
	v, err := s.src.LoadVerified(data)
	if err != nil {
		return err
	}
	s.names.reset()
	if s.cfg.OnLoad != nil {
		s.cfg.OnLoad(v)
	}
	return nil
}

// Restore serves the snapshot kept in Config.StateDir, when there is a valid one
// (poller.Poller.Restore): call it before Run to learn why state was ignored; Run calls it
// otherwise. It returns nil when there is no state to restore; Health().Restored says
// whether a snapshot was.
func (s *Server) Restore() error { return s.poller.Restore() }

// Run restores the state of Config.StateDir unless Restore was called, then polls the
// store now and every PollInterval until ctx is done, and returns ctx's error.
func (s *Server) Run(ctx context.Context) error { return s.poller.Run(ctx) }

// Poll polls the store once, now.
func (s *Server) Poll(ctx context.Context) error { return s.poller.Poll(ctx) }

// Source returns what the Server evaluates with: a *Source on Config.Evaluator, or
// Config.Backend.
func (s *Server) Source() Backend { return s.src }

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// serveEvaluate answers GET /evaluate: every flag (or the ?flag= ones) for the request's
// context, as {"snapshot","stale","context","results":{"flags":[...]}} with the results
// written as the module writes them, and one x-flag-<key>: <variant> header per result
// that is not an error.
func (s *Server) serveEvaluate(w http.ResponseWriter, r *http.Request) {
	if s.src.Version().Snapshot == "" {
		msg := "no snapshot loaded"
		if err := s.poller.Status().LastError; err != nil {
			msg += ": " + err.Error()
		}
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"errorCode": string(evaluator.ErrGeneral), "errorMessage": msg})
		return
	}
	wk := s.pool.Get().(*evalWork)
	defer s.pool.Put(wk)
	rc := s.cfg.Request.Context(r)
	rc.Fill(wk.ctx)
	keys := flagKeys(r)
	frame, v, err := s.src.Results(wk.frame[:0], keys, wk.ctx, s.cfg.Now())
	wk.frame = frame
	res, ok := protocol.ReadResults(frame)
	if err == nil && !ok {
		err = errors.New("edgeflag module: unreadable results")
	}
	if err != nil {
		writeJSON(w, http.StatusInternalServerError, map[string]string{"errorCode": string(evaluator.ErrGeneral), "errorMessage": err.Error()})
		return
	}
	b := append(wk.body[:0], `{"snapshot":`...)
	b = evaluator.AppendJSONString(b, v.Snapshot)
	b = append(b, `,"stale":`...)
	b = strconv.AppendBool(b, v.Stale)
	b = append(b, `,"context":`...)
	b = rc.AppendJSON(b)
	b = append(b, `,"results":`...)
	if res.Refused {
		// The module's error object (a context over one of its limits), as the Worker
		// sends it.
		b = append(b, res.JSON...)
	} else {
		b = append(b, `{"flags":[`...)
		b = append(b, res.JSON...)
		b = append(b, "]}"...)
	}
	b = append(b, '}')
	wk.body = b
	h := w.Header()
	s.setFlagHeaders(h, &res, keys == nil)
	if !res.Valid() {
		clear(h)
		writeJSON(w, http.StatusInternalServerError, map[string]string{"errorCode": string(evaluator.ErrGeneral), "errorMessage": "edgeflag module: unreadable results"})
		return
	}
	h.Set("X-Edgeflag-Snapshot", v.Snapshot)
	if v.Stale {
		h.Set("X-Edgeflag-Stale", "1")
	}
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "private, no-store")
	h.Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write(b)
	}
}

// setFlagHeaders sets x-flag-<key>: <variant> for each result of res that is not an
// error. Header names and variants, which share the frame's bytes, come from s.names,
// filled as flags are first seen and emptied with every new snapshot, so that a request
// allocates one slice for all the header values. all says res holds every flag, in key
// order: its names are then found by position.
func (s *Server) setFlagHeaders(h http.Header, res *protocol.Results, all bool) {
	var vals []string
	var byPos positionNames
	var missed []positionName // the positions to record, when all
	if all {
		byPos = s.names.positions()
	}
	for i := 0; ; i++ {
		r, ok := res.Next()
		if !ok {
			break
		}
		if !r.OK {
			continue
		}
		name, variant := byPos.get(i, r.Key, r.Variant)
		if name == "" {
			name, variant = s.names.get(r.Key, r.Variant)
			if all {
				missed = append(missed, positionName{key: strings.Clone(r.Key), name: name, variants: []string{variant}, at: i})
			}
		}
		if vals == nil {
			vals = make([]string, 0, s.src.Flags())
		}
		vals = append(vals, variant)
		h[name] = vals[len(vals)-1 : len(vals) : len(vals)]
	}
	if len(missed) > 0 {
		s.names.record(missed)
	}
}

// headerNames keeps the x-flag-<key> header names and the variant names of the snapshot
// served: by key, and by the position of a result among those of every flag, which
// answers the common request for every flag with comparisons instead of lookups.
type headerNames struct {
	mu       sync.RWMutex
	names    map[string]string // flag key → canonical header name
	variants map[string]string // variant name, copied out of a frame
	byPos    atomic.Pointer[positionNames]
}

// positionNames[i] is the header name and the variants seen of the flag whose result is
// at position i among those of every flag. It is never changed once published: record
// publishes a changed copy.
type positionNames []positionName

type positionName struct {
	key, name string
	variants  []string
	at        int // the position, while recorded
}

// positions returns the names by position (nil when none are known).
func (n *headerNames) positions() positionNames {
	if p := n.byPos.Load(); p != nil {
		return *p
	}
	return nil
}

// get returns the header name and the variant of the result at position i when they are
// known there, else "".
func (p positionNames) get(i int, key, variant string) (string, string) {
	if i < len(p) && p[i].key == key {
		for _, v := range p[i].variants {
			if v == variant {
				return p[i].name, v
			}
		}
	}
	return "", ""
}

// get returns the header name of key and variant as strings of their own.
func (n *headerNames) get(key, variant string) (string, string) {
	n.mu.RLock()
	name, ok1 := n.names[key]
	v, ok2 := n.variants[variant]
	n.mu.RUnlock()
	if ok1 && ok2 {
		return name, v
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.names == nil {
		n.names, n.variants = map[string]string{}, map[string]string{}
	}
	if !ok1 {
		name = http.CanonicalHeaderKey("X-Flag-" + key)
		n.names[strings.Clone(key)] = name
	}
	if !ok2 {
		v = strings.Clone(variant)
		n.variants[v] = v
	}
	return name, v
}

// record adds the names of results found at their positions (missed, in position order)
// to those by position.
func (n *headerNames) record(missed []positionName) {
	n.mu.Lock()
	defer n.mu.Unlock()
	p := append(positionNames(nil), n.positions()...)
	for _, m := range missed {
		switch {
		case m.at < len(p) && p[m.at].key == m.key:
			p[m.at].variants = append(p[m.at].variants[:len(p[m.at].variants):len(p[m.at].variants)], m.variants...)
		case m.at < len(p):
			p[m.at] = m
		case m.at == len(p):
			p = append(p, m)
		}
	}
	n.byPos.Store(&p)
}

// reset forgets every name, for a new snapshot.
func (n *headerNames) reset() {
	n.mu.Lock()
	n.names, n.variants = nil, nil
	n.byPos.Store(nil)
	n.mu.Unlock()
}

// flagKeys returns the ?flag= keys, repeated or comma-separated.
func flagKeys(r *http.Request) []string {
	var keys []string
	for _, v := range r.URL.Query()["flag"] {
		for k := range strings.SplitSeq(v, ",") {
			if k = strings.TrimSpace(k); k != "" {
				keys = append(keys, k)
			}
		}
	}
	return keys
}

// Health is the answer of GET /healthz.
type Health struct {
	// Status is "ok", "stale" (serving a snapshot older than the grace period allows)
	// or "starting" (no snapshot loaded yet; the answer is then 503).
	Status      string `json:"status"`
	Environment string `json:"environment"`
	Snapshot    string `json:"snapshot,omitempty"`
	Revision    string `json:"revision,omitempty"`
	Flags       int    `json:"flags"`
	Stale       bool   `json:"stale"`
	// LastSuccess is the time of the last poll that confirmed or installed the snapshot;
	// SecondsSinceSuccess how long ago that was.
	LastSuccess         *time.Time `json:"lastSuccess,omitempty"`
	SecondsSinceSuccess *float64   `json:"secondsSinceSuccess,omitempty"`
	LastError           string     `json:"lastError,omitempty"`
	// Restored is set while the snapshot served is the one kept in Config.StateDir,
	// restored at start, and no poll has confirmed or replaced it; StateError is the
	// error of the last write of that state, or why it was ignored at start.
	Restored   bool   `json:"restored,omitempty"`
	StateError string `json:"stateError,omitempty"`
	// Signatures is "required" when the server verifies pointers (Config.Keys), else
	// "off"; PointerVersion and KeyID are those of the pointer served (when signed).
	Signatures     string `json:"signatures"`
	PointerVersion int64  `json:"pointerVersion,omitempty"`
	KeyID          string `json:"keyId,omitempty"`
	Polls          int    `json:"polls"`
	Failures       int    `json:"failures"`
	Swaps          int    `json:"swaps"`
}

// Health reports the snapshot served and the poller's state.
func (s *Server) Health() Health {
	st := s.poller.Status()
	v := s.src.Version()
	h := Health{Status: "ok", Environment: s.cfg.Environment, Snapshot: v.Snapshot, Revision: v.Revision,
		Flags: s.src.Flags(), Stale: st.Stale, Polls: st.Polls, Failures: st.Failures, Swaps: st.Swaps}
	h.Signatures, h.PointerVersion, h.KeyID = "off", st.Pointer.Version, st.Pointer.KeyID
	if s.cfg.Keys != nil {
		h.Signatures = "required"
	}
	switch {
	case v.Snapshot == "":
		h.Status = "starting"
	case st.Stale:
		h.Status = "stale"
	}
	if !st.LastSuccess.IsZero() {
		t := st.LastSuccess.UTC()
		since := time.Since(st.LastSuccess).Seconds()
		h.LastSuccess, h.SecondsSinceSuccess = &t, &since
	}
	if st.LastError != nil {
		h.LastError = st.LastError.Error()
	}
	h.Restored = st.Restored
	if st.StateError != nil {
		h.StateError = st.StateError.Error()
	}
	return h
}

func (s *Server) serveHealth(w http.ResponseWriter, _ *http.Request) {
	h := s.Health()
	status := http.StatusOK
	if h.Status == "starting" {
		status = http.StatusServiceUnavailable
	}
	writeJSON(w, status, h)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := marshalNoEscape(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	b = append(b, '\n')
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// marshalNoEscape is json.Marshal without HTML escaping, as JSON.stringify writes.
func marshalNoEscape(v any) ([]byte, error) {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return []byte(strings.TrimSuffix(b.String(), "\n")), nil
}
